#pragma once

// The text of an HTTP/1.1 response as the server (service/http/http_adapter.cc)
// writes it, and the answers it makes about framing itself (issue #12). Pure
// functions; no I/O.

#include <string>

#include "common/result.h"
#include "service/http/http_status.h"
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

// The JSON error answer for `error`: status and name from the one table
// (service/http/http_status.h), Cache-Control: no-store. Every error body the
// service sends is made here; callers add headers (Allow, WWW-Authenticate,
// Retry-After, Connection) to the view.
HttpResponseView ErrorViewFor(const HttpError& error);

// An answer about the framing (before any request exists for the handler),
// for the status HttpRequestParser chose (400, 408, 413, 431, 501, 505; any
// other answers 500 "internal").
HttpResponseView FramingErrorResponse(int status, const std::string& message);

}  // namespace cds::service
