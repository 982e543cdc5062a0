#pragma once

// HttpServer: the service's HTTP/1.1 server (plain or TLS) in front of a
// RequestHandler (the InstrumentedHandler, or a HookHandler directly in
// tests). Issue #12: it owns the public socket on Boost.Asio, and every byte a
// client sends goes through the strict HttpRequestParser
// (service/http/http_request_parser.h) before anything else sees it. cpprestsdk's
// listener is no longer used: it aborted the process on a chunk-size line
// such as "-1" and had no limits or timeouts (README "Security").
//
// Per connection it enforces: a head of at most max_header_bytes and
// max_headers fields (431), a body of at most max_body_bytes (413, decided
// from Content-Length before reading, or as chunks arrive), strict framing
// (400; duplicate Content-Length, Content-Length with Transfer-Encoding, bad
// chunk sizes, bare CR/LF), header_timeout from the request's first byte to
// the end of its head and body_timeout for the body and for writing the answer
// (408 and close), idle_timeout between requests on a keep-alive connection,
// at most max_connections open connections (more wait in the kernel's
// backlog), and a growing back-off when accept fails (EMFILE). Pipelined
// requests are answered in order. "Expect: 100-continue" is answered before
// the body is read. Any exception from the handler becomes a 500 JSON body
// with a correlation id that is also logged. Framing errors and 413 close the
// connection.
//
// Thread-safety: Start and Stop are for one controlling thread; requests are
// served concurrently on `threads` I/O threads (the handler must not block).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "service/http/http_types.h"
#include "service/http/request_handler.h"

namespace cds::service {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t threads = 4;  // I/O threads, and cpprestsdk's pool for the FHIR client
  // Issue #12: framing limits and timeouts (README "Security", config "limits").
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_connections = 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  // How long Stop waits for open connections to close.
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

  // Stops accepting, closes every connection and joins the I/O threads. A
  // handler that answers later finds its connection closed. Returns true.
  bool Stop();

  // "http://127.0.0.1:8080/"
  std::string Url() const;

  struct State;  // shared with the connections (http_adapter.cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cds::service
