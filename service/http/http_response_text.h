#pragma once

// The text of an HTTP/1.1 response as the server (service/http/http_adapter.cc)
// writes it, and the answers it makes about framing itself (issue #12). Pure
// functions; no I/O.

#include <string>

#include "common/result.h"
#include "service/http/http_types.h"

namespace cds::service {

// "OK", "Not Found", ... ("Status" for codes it does not know).
const char* ReasonPhrase(int status);

// Status line, the view's headers, Content-Type, Content-Length and, unless
// `keep_alive`, "Connection: close"; then the body (not for HEAD, 204, 304).
// The view may not set the framing headers (Content-Length,
// Transfer-Encoding, Connection: they are dropped) nor put a line break in a
// header (that header is dropped).
std::string SerializeResponse(const HttpResponseView& view, bool keep_alive, bool head);

// True when the view carries "Connection: close".
bool ResponseAsksToClose(const HttpResponseView& view);

// The JSON error answer for `error` (status from HttpStatusFor), no-store.
HttpResponseView ErrorViewFor(const Error& error);

// An answer about the framing (before any request exists for the handler):
// 400 and 413 use the service's error codes; 408, 431, 501 and 505 are
// transport statuses no handler produces. JSON {"error","message"}.
HttpResponseView FramingErrorResponse(int status, const std::string& message);

}  // namespace cds::service
