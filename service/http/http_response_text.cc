// HTTP/1.1 response text (service/http/http_response_text.h).
#include "service/http/http_response_text.h"

#include "service/http/http_status.h"
#include "service/http/response_json.h"

namespace cds::service {
namespace {

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

HttpResponseView ErrorViewFor(const Error& error) {
  HttpResponseView view;
  view.status = HttpStatusFor(error.code);
  view.body = WriteErrorBody(error);
  view.headers.emplace_back("Cache-Control", "no-store");
  return view;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

// An answer about the framing itself (before any request exists for the
// handler): 400 and 413 use the service's error codes; 408, 431, 501 and 505
// are transport statuses that no handler produces.
HttpResponseView FramingErrorResponse(int status, const std::string& message) {
  if (status == 400) return ErrorViewFor(Error{ErrorCode::kInvalidRequest, message});
  if (status == 413) return ErrorViewFor(Error{ErrorCode::kPayloadTooLarge, message});
  HttpResponseView view;
  view.status = status;
  const char* code = status == 408   ? "request_timeout"
                     : status == 431 ? "request_header_fields_too_large"
                     : status == 501 ? "not_implemented"
                                     : "http_version_not_supported";
  view.body = WriteStringObject({{"error", code}, {"message", message}});
  view.headers.emplace_back("Cache-Control", "no-store");
  return view;
}

std::string SerializeResponse(const HttpResponseView& view, bool keep_alive, bool head) {
  std::string out =
      "HTTP/1.1 " + std::to_string(view.status) + " " + ReasonPhrase(view.status) + "\r\n";
  for (const auto& [name, value] : view.headers) {
    // Framing is ours; a line break would split the response.
    if (EqualsLower(name, "content-length") || EqualsLower(name, "transfer-encoding") ||
        EqualsLower(name, "connection") || HasLineBreak(name) || HasLineBreak(value)) {
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  if (!view.content_type.empty() && !HasLineBreak(view.content_type)) {
    out += "Content-Type: " + view.content_type + "\r\n";
  }
  out += "Content-Length: " + std::to_string(view.body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head && view.status != 204 && view.status != 304) out += view.body;
  return out;
}

bool ResponseAsksToClose(const HttpResponseView& view) {
  for (const auto& [name, value] : view.headers) {
    if (EqualsLower(name, "connection") && EqualsLower(value, "close")) return true;
  }
  return false;
}

}  // namespace cds::service
