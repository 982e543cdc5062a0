#pragma once

// HttpServer: the cpprestsdk http_listener in front of HookHandler (style §4.3).
// It is the only code that sees web::http types; this header exposes none.
//
// Per request it: refuses a Content-Length over max_body_bytes with 413 without
// extracting the body (but note: cpprestsdk itself still drains and buffers the
// whole body before it sends any response, so this bounds our copies, not the
// listener's; a front proxy or a different listener is needed for a hard
// limit, see TODO(#6) in http_adapter.cc); reads the body asynchronously (continuations only, never a blocking
// .get()/.wait() on a pool thread: that deadlocks the listener, stack notes §2);
// cuts off bodies that turn out larger than the limit (413); hands an
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
#include <memory>
#include <string>

#include "fhir/result.h"
#include "service/hook_handler.h"

namespace cds::service {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t threads = 4;  // cpprestsdk pool size (2-4 is best on 2 cores, stack notes §2)
  // close() is known to hang in some cpprestsdk builds (#1485): give up after this.
  std::chrono::milliseconds stop_timeout{5000};
};

class HttpServer {
 public:
  // `handler` is not owned and must outlive the server.
  HttpServer(const HookHandler& handler, ServerOptions options);
  ~HttpServer();  // Stop()s if still running

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Opens the listener on http://host:port/. kInternal (with the address) if it
  // cannot listen, e.g. the port is in use.
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
