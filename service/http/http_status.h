#pragma once

// The one ErrorCode -> HTTP status table (style §4.4), and the stable snake_case
// name each code has in error bodies. Nothing else in the project picks a
// status for an error, and nothing picks one by matching message text.

#include "common/result.h"

namespace cds::service {

// kInvalidRequest 400, kUnauthorized 401, kUnknownService 404,
// kMethodNotAllowed 405, kPayloadTooLarge 413, kUnsupportedMedia 415,
// kPrefetchUnavailable / kUpstreamFailure 412 (CDS Hooks 2.0 §Prefetch),
// kRuleConfig / kInternal 500.
int HttpStatusFor(ErrorCode code);

// "invalid_request", "unauthorized", "unknown_service", "method_not_allowed",
// "payload_too_large", "unsupported_media_type", "prefetch_unavailable",
// "upstream_failure", "rule_config", "internal".
const char* ErrorCodeName(ErrorCode code);

}  // namespace cds::service
