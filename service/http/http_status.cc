#include "service/http/http_status.h"

#include <array>

namespace cds::service {
namespace {

using Key = std::variant<ErrorCode, HttpErrorCode>;

struct Row {
  Key key;
  int status;
  const char* name;
};

// The table. A code missing here answers 500 "internal" (and fails
// tests/service/http_status_test.cc, which checks every code).
const std::array<Row, 15> kTable = {{
    {ErrorCode::kInvalidRequest, 400, "invalid_request"},
    {ErrorCode::kUnauthorized, 401, "unauthorized"},
    {ErrorCode::kUnknownService, 404, "unknown_service"},
    // CDS Hooks 2.0 §Prefetch: 412 when the service cannot obtain required data.
    {ErrorCode::kPrefetchUnavailable, 412, "prefetch_unavailable"},
    {ErrorCode::kUpstreamFailure, 412, "upstream_failure"},
    {ErrorCode::kUnavailable, 503, "unavailable"},
    {ErrorCode::kRuleConfig, 500, "rule_config"},
    {ErrorCode::kInternal, 500, "internal"},
    {HttpErrorCode::kMethodNotAllowed, 405, "method_not_allowed"},
    {HttpErrorCode::kRequestTimeout, 408, "request_timeout"},
    {HttpErrorCode::kPayloadTooLarge, 413, "payload_too_large"},
    {HttpErrorCode::kUnsupportedMedia, 415, "unsupported_media_type"},
    {HttpErrorCode::kHeaderFieldsTooLarge, 431, "request_header_fields_too_large"},
    {HttpErrorCode::kNotImplemented, 501, "not_implemented"},
    {HttpErrorCode::kHttpVersionNotSupported, 505, "http_version_not_supported"},
}};

const Row& RowFor(const Key& key) {
  for (const Row& row : kTable) {
    if (row.key == key) return row;
  }
  static const Row kFallback{ErrorCode::kInternal, 500, "internal"};
  return kFallback;
}

}  // namespace

int HttpStatusFor(ErrorCode code) { return RowFor(code).status; }
int HttpStatusFor(HttpErrorCode code) { return RowFor(code).status; }
int HttpStatusFor(const HttpError& error) { return RowFor(error.code).status; }

const char* ErrorCodeName(ErrorCode code) { return RowFor(code).name; }
const char* ErrorCodeName(HttpErrorCode code) { return RowFor(code).name; }
const char* ErrorCodeName(const HttpError& error) { return RowFor(error.code).name; }

}  // namespace cds::service
