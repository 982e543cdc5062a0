#pragma once

// The one error -> HTTP status table (style §4.4), and the stable snake_case
// name each error has in error bodies ({"error": "<name>", "message": ...}).
// Nothing else in the project picks a status for an error, and nothing picks
// one by matching message text: every error body the service sends, the 503
// of a draining instance and the adapter's framing answers included, is
// built from this table (ErrorViewFor, service/http/http_response_text.h).
//
// The table's keys are the project's ErrorCode (common/result.h) and the
// errors only the HTTP exchange has (HttpErrorCode), which stay out of
// common/: no layer below service/http/ can produce them.

#include <string>
#include <utility>
#include <variant>

#include "common/result.h"

namespace cds::service {

// Errors of the exchange itself, not of what it carries.
enum class HttpErrorCode {
  kMethodNotAllowed,         // 405 (with Allow)
  kRequestTimeout,           // 408: the request was not received in time
  kPayloadTooLarge,          // 413
  kUnsupportedMedia,         // 415
  kHeaderFieldsTooLarge,     // 431
  kNotImplemented,           // 501: a transfer coding other than chunked
  kHttpVersionNotSupported,  // 505
};

// An error as the HTTP layer answers it: either kind of code, and a message
// that names what failed (no patient data).
struct [[nodiscard]] HttpError {
  std::variant<ErrorCode, HttpErrorCode> code;
  std::string message;

  HttpError(Error error)  // NOLINT(google-explicit-constructor): every Error is one
      : code(error.code), message(std::move(error.message)) {}
  HttpError(HttpErrorCode http_code, std::string text)
      : code(http_code), message(std::move(text)) {}
};

// kInvalidRequest 400, kUnauthorized 401, kUnknownService 404,
// kPrefetchUnavailable / kUpstreamFailure 412 (CDS Hooks 2.0 §Prefetch),
// kUnavailable 503, kRuleConfig / kInternal 500; HttpErrorCode as listed.
int HttpStatusFor(ErrorCode code);
int HttpStatusFor(HttpErrorCode code);
int HttpStatusFor(const HttpError& error);

// "invalid_request", "unauthorized", "unknown_service", "prefetch_unavailable",
// "upstream_failure", "unavailable", "rule_config", "internal";
// "method_not_allowed", "request_timeout", "payload_too_large",
// "unsupported_media_type", "request_header_fields_too_large",
// "not_implemented", "http_version_not_supported".
const char* ErrorCodeName(ErrorCode code);
const char* ErrorCodeName(HttpErrorCode code);
const char* ErrorCodeName(const HttpError& error);

}  // namespace cds::service
