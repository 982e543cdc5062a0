#pragma once

// HttpServer: the cpprestsdk http_listener in front of a RequestHandler (the
// InstrumentedHandler, or a HookHandler directly in tests; style §4.3).
// It is the only code that sees web::http types; this header exposes none.
//
// Per request it: refuses a Content-Length over max_body_bytes with 413 and
// makes the listener stop reading the body (at most ~64 KiB of it is taken in;
// see StopReadingBody in http_adapter.cc); reads the body asynchronously in
// counted chunks (continuations only, never a blocking .get()/.wait() on a pool
// thread: that deadlocks the listener, stack notes §2) and cuts off a body
// (chunked) as soon as it passes the limit (413, connection closed; one chunk
// of a chunked body is still read whole by cpprestsdk, so production runs
// behind nginx, deploy/nginx/); hands an
// HttpRequestView to the handler and replies from its callback. Any exception
// becomes a 500 JSON body with a correlation id that is also logged.
//
// cpprestsdk runs handlers on one process-wide thread pool, sized once by the
// first Start() (ServerOptions::threads); later servers in the same process
// share it.
//
// Thread-safety: Start and Stop are for one controlling thread; requests are
// served concurrently on the pool.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fhir/result.h"
#include "service/http_types.h"
#include "service/request_handler.h"

namespace cds::service {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t threads = 4;  // cpprestsdk pool size (2-4 is best on 2 cores, stack notes §2)
  // close() is known to hang in some cpprestsdk builds (#1485): give up after this.
  std::chrono::milliseconds stop_timeout{5000};
  // Issue #6: HTTPS when both are set (PEM certificate chain, leaf first, and
  // its private key). Read and checked once by Start; TLS 1.2 and 1.3 only,
  // forward-secret AEAD cipher suites only.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Issue #6: applied to the responses the adapter makes itself (413, 400 on
  // an unreadable body, 500), e.g. to add the CORS headers. Optional.
  std::function<void(const HttpRequestView&, HttpResponseView&)> decorate;
  // Issue #13: told of each response the adapter makes before the handler
  // sees the request (413, 400 on an unreadable body), with the request head
  // (no body) and the seconds since it arrived, so that it is counted and
  // logged like the rest (InstrumentedHandler::RecordRefused). Optional.
  std::function<void(const HttpRequestView&, int status, double seconds)> on_refused;
};

class HttpServer {
 public:
  // `handler` is not owned and must outlive the server.
  HttpServer(const RequestHandler& handler, ServerOptions options);
  ~HttpServer();  // Stop()s if still running

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Opens the listener on http(s)://host:port/. kInternal (with the address) if
  // it cannot listen, e.g. the port is in use; kRuleConfig when the TLS
  // certificate or key cannot be loaded or do not match.
  Status Start();

  // Stops accepting and closes connections. Returns false if close() did not
  // finish within stop_timeout; the listener is then abandoned (leaked) so the
  // caller can still exit.
  bool Stop();

  // "http://127.0.0.1:8080/"
  std::string Url() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cds::service
