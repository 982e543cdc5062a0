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

HttpResponseView ErrorViewFor(const HttpError& error) {
  HttpResponseView view;
  view.status = HttpStatusFor(error);
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

// The parser speaks in statuses (it decides framing by RFC 9112); each maps
// to its code so the body comes from the table like every other error.
HttpResponseView FramingErrorResponse(int status, const std::string& message) {
  switch (status) {
    case 400:
      return ErrorViewFor(Error{ErrorCode::kInvalidRequest, message});
    case 408:
      return ErrorViewFor(HttpError(HttpErrorCode::kRequestTimeout, message));
    case 413:
      return ErrorViewFor(HttpError(HttpErrorCode::kPayloadTooLarge, message));
    case 431:
      return ErrorViewFor(HttpError(HttpErrorCode::kHeaderFieldsTooLarge, message));
    case 501:
      return ErrorViewFor(HttpError(HttpErrorCode::kNotImplemented, message));
    case 505:
      return ErrorViewFor(HttpError(HttpErrorCode::kHttpVersionNotSupported, message));
    default:
      return ErrorViewFor(Error{ErrorCode::kInternal, message});
  }
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
