#include "service/http/http_status.h"

namespace cds::service {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidRequest:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kUnknownService:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMedia:
      return 415;
    // CDS Hooks 2.0 §Prefetch: 412 when the service cannot obtain required data.
    case ErrorCode::kPrefetchUnavailable:
    case ErrorCode::kUpstreamFailure:
      return 412;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kRuleConfig:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kUnknownService:
      return "unknown_service";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMedia:
      return "unsupported_media_type";
    case ErrorCode::kPrefetchUnavailable:
      return "prefetch_unavailable";
    case ErrorCode::kUpstreamFailure:
      return "upstream_failure";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRuleConfig:
      return "rule_config";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace cds::service
