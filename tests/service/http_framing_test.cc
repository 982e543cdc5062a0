// Issue #12 items 1, 7 and 9 (framing) over real sockets: the HttpServer with
// a small handler behind it, fed byte sequences that crashed, starved or
// confused cpprestsdk's listener. After every hostile input the server must
// still answer a normal request.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "service/http/http_adapter.h"
#include "service/http/http_request_parser.h"
#include "tests/support/http_test_client.h"

namespace cds::service {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Answers 200 with "<method> <path> <body size>".
class EchoHandler : public RequestHandler {
 public:
  void Handle(HttpRequestView request, Respond respond) const override {
    ++requests;
    HttpResponseView response;
    response.content_type = "text/plain";
    response.body = request.method + " " + request.path + " " + std::to_string(request.body.size());
    respond(response);
  }
  mutable std::atomic<int> requests{0};
};

// A connected loopback socket with bounded reads and writes.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }

  // False if the server stopped reading (closed or reset) before all was sent.
  bool Send(std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes or nothing arrives for `quiet`.
  std::string ReadAll(std::chrono::milliseconds quiet = 1000ms) {
    std::string data;
    char buffer[16384];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return data;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = true;
        return data;
      }
      data.append(buffer, static_cast<std::size_t>(n));
    }
  }

  // True once the server closed the connection (EOF or reset within `wait`).
  bool ClosedWithin(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    char buffer[4096];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        if (::recv(fd_, buffer, sizeof(buffer), 0) <= 0) return true;
      }
    }
    return false;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct Server {
  explicit Server(ServerOptions options = {}) {
    for (int attempt = 0; attempt < 5 && !server; ++attempt) {
      options.port = cds::testing::FindFreePort();
      auto candidate = std::make_unique<HttpServer>(handler, options);
      if (candidate->Start()) {
        port = options.port;
        server = std::move(candidate);
      }
    }
    BOOST_REQUIRE(server);
  }
  // A normal request still works.
  void ExpectHealthy() {
    Connection c(port);
    BOOST_REQUIRE(c.connected());
    c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string response = c.ReadAll();
    BOOST_TEST(StatusOf(response) == 200, response);
  }
  EchoHandler handler;
  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
};

#if !defined(__SANITIZE_ADDRESS__)
// A field of /proc/self/status in kB ("VmRSS", or "VmHWM": the peak RSS).
long StatusKb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}
#else
// GCC 12 ships no <sanitizer/allocator_interface.h>; libasan has these.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*));
extern "C" std::size_t __sanitizer_get_allocated_size(const volatile void* pointer);

std::atomic<long long> live_heap{0};
std::atomic<long long> peak_heap{0};

void OnMalloc(const volatile void* /*pointer*/, std::size_t size) {
  const long long now = live_heap += static_cast<long long>(size);
  long long peak = peak_heap.load();
  while (now > peak && !peak_heap.compare_exchange_weak(peak, now)) {
  }
}
void OnFree(const volatile void* pointer) {
  live_heap -= static_cast<long long>(__sanitizer_get_allocated_size(pointer));
}
#endif

// The most memory this process (client and server) took on since it was
// constructed, in kB. Release: the peak RSS (VmHWM reset to the current RSS, Linux >= 4.0).
// ASan: the peak of the heap in use, through the allocator's hooks. Under
// ASan the RSS also holds the fake stack frames that
// detect_stack_use_after_return gives each thread — they fill up as a thread
// makes calls (+7-9 MB over this test's 2,000 socket reads, measured; +2 MB
// without the option) — and the quarantine of freed blocks: neither says
// whether the server held a request line.
class PeakMemory {
 public:
  PeakMemory() {
#if defined(__SANITIZE_ADDRESS__)
    static const bool installed = __sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree) != 0;
    BOOST_REQUIRE(installed);
    live_heap = 0;
    peak_heap = 0;
#else
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5";
    clear_refs.flush();
    BOOST_REQUIRE(clear_refs);  // else VmHWM would hold an earlier peak
    before_kb_ = StatusKb("VmRSS");
#endif
  }
  long GrowthKb() const {
#if defined(__SANITIZE_ADDRESS__)
    return static_cast<long>(peak_heap.load() / 1024);
#else
    return StatusKb("VmHWM") - before_kb_;
#endif
  }

 private:
#if !defined(__SANITIZE_ADDRESS__)
  long before_kb_ = 0;
#endif
};

// Sends `total` bytes made of `piece` repeated, from one small buffer (the
// client itself never holds the whole), until done or the server stops
// reading; true if all was sent.
bool SendRepeated(Connection& c, const std::string& piece, std::size_t total) {
  // No allocation per block: the memory tests measure this process, client
  // and server together, and under ASan every freed block would stay in its
  // quarantine (the server drains refused uploads, so all of it is sent).
  std::string block;
  while (block.size() + piece.size() <= 64 * 1024) block += piece;
  const std::string_view whole = block;
  for (std::size_t sent = 0; sent < total; sent += block.size()) {
    if (!c.Send(whole.substr(0, std::min(block.size(), total - sent)))) return false;
  }
  return true;
}

BOOST_AUTO_TEST_SUITE(HttpFraming)

// Item 1: a chunk-size line of -1 (or one no process can hold) made
// cpprestsdk allocate ~2^64 bytes and abort.
BOOST_AUTO_TEST_CASE(absurd_chunk_sizes_are_refused_and_the_server_lives) {
  Server s;
  const std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  struct Case {
    std::string chunks;
    int status;
  };
  const std::vector<Case> cases = {
      {"-1\r\nabc\r\n0\r\n\r\n", 400},
      {"ffffffffffffffff\r\nabc\r\n", 413},
      {"fffffffffffffffff\r\nabc\r\n", 400},  // 17 hex digits
      {"0x10\r\n", 400},
      {" 5\r\nhello\r\n0\r\n\r\n", 400},
      {"5\nhello\r\n0\r\n\r\n", 400},  // bare LF
      {"5\r\nhelloXX\r\n0\r\n\r\n", 400},
      {"200000\r\n", 413},  // 2 MiB over the 1 MiB default
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.chunks.substr(0, 20)) {
      Connection connection(s.port);
      connection.Send(head + c.chunks);
      const std::string response = connection.ReadAll();
      BOOST_TEST(StatusOf(response) == c.status, response);
      BOOST_TEST(response.find("Connection: close") != std::string::npos);
      s.ExpectHealthy();
    }
  }
  // A well-formed chunked body with extensions and trailers is read whole.
  Connection ok(s.port);
  ok.Send(head + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n");
  const std::string response = ok.ReadAll(300ms);
  BOOST_TEST(StatusOf(response) == 200, response);
  BOOST_TEST(response.find("POST /x 11") != std::string::npos, response);
}

// Item 7: head size and count limits, without the memory. The memory is the
// peak RSS of this process (server and client) from just before the two
// requests: the client streams them from one 64 KiB buffer, so a server that
// buffered the 16 MB line (or the 1 MB of headers) raises the peak by that
// much. The peak, unlike the RSS after, is not hidden by memory returned to
// the system, nor inflated by what ASan keeps in its quarantine from earlier
// tests; it holds for the Release and the ASan builds alike.
// A refused upload the client goes on sending: the server answers 413 at the
// head, then reads and drops the rest until the client has finished (a
// lingering close). Closing at once left the client's bytes unread, and the
// reset that followed could destroy the 413 before the client read it (seen
// with curl's 50 MB chunked upload under load: it reported its "100").
BOOST_AUTO_TEST_CASE(refused_upload_is_drained_so_the_answer_survives) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Server server(options);
  Connection c(server.port);
  BOOST_REQUIRE(c.connected());
  BOOST_REQUIRE(c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n"));
  // 8 MB, more than the socket buffers hold: still being sent after the 413.
  BOOST_TEST(SendRepeated(c, std::string(1024, 'a'), 8 * 1024 * 1024));
  const std::string response = c.ReadAll();
  BOOST_TEST(StatusOf(response) == 413, response);
  BOOST_TEST(c.closed());
  server.ExpectHealthy();
}

BOOST_AUTO_TEST_CASE(huge_and_numerous_headers_are_431_without_the_memory) {
  Server s;
  const PeakMemory memory;
  {
    Connection c(s.port);
    c.Send("GET / HTTP/1.1\r\nX-Big: ");
    const bool all_sent = SendRepeated(c, "a", 16 * 1024 * 1024);
    const std::string response = c.ReadAll();
    BOOST_TEST(StatusOf(response) == 431, response.substr(0, 200));
    BOOST_TEST_MESSAGE("16 MB header line: server stopped reading early: " << !all_sent);
  }
  {
    Connection c(s.port);
    c.Send("GET / HTTP/1.1\r\nHost: x\r\n");
    SendRepeated(c, "a:b\r\n", 200000 * 5);
    c.Send("\r\n");
    const std::string response = c.ReadAll();
    BOOST_TEST(StatusOf(response) == 431, response.substr(0, 200));
  }
  const long growth = memory.GrowthKb();
  BOOST_TEST_MESSAGE("peak memory growth " << growth << " kB");
  BOOST_TEST(growth < 8 * 1024);  // the 16 MB line was never held
  s.ExpectHealthy();
}

// Item 9: framing that a proxy in front might read differently.
BOOST_AUTO_TEST_CASE(ambiguous_framing_is_400) {
  Server s;
  const std::vector<std::string> requests = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
      "GET / HTTP/1.1\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
      "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
      "GARBAGE\r\n\r\n",
  };
  for (const std::string& request : requests) {
    BOOST_TEST_CONTEXT(request.substr(0, 60)) {
      Connection c(s.port);
      c.Send(request);
      const std::string response = c.ReadAll(500ms);
      BOOST_TEST(StatusOf(response) == 400, response);
    }
  }
  Connection gzip(s.port);
  gzip.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  BOOST_TEST(StatusOf(gzip.ReadAll(500ms)) == 501);
  Connection http2(s.port);
  http2.Send("GET / HTTP/2.0\r\nHost: x\r\n\r\n");
  BOOST_TEST(StatusOf(http2.ReadAll(500ms)) == 505);
  BOOST_TEST(s.handler.requests.load() == 0);
  s.ExpectHealthy();
}

// Item 9: pipelined requests in one write are all answered, in order.
BOOST_AUTO_TEST_CASE(pipelined_requests_are_all_answered_in_order) {
  Server s;
  Connection c(s.port);
  std::string pipeline;
  for (int i = 0; i < 5; ++i) {
    pipeline += "POST /r" + std::to_string(i) +
                " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(i) + "\r\n\r\n" +
                std::string(static_cast<std::size_t>(i), 'z');
  }
  pipeline += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  c.Send(pipeline);
  const std::string responses = c.ReadAll();
  BOOST_TEST(Count(responses, "HTTP/1.1 200") == 6, responses);
  std::size_t at = 0;
  for (int i = 0; i < 5; ++i) {
    const std::size_t next =
        responses.find("POST /r" + std::to_string(i) + " " + std::to_string(i), at);
    BOOST_TEST_REQUIRE(next != std::string::npos, "response " << i << " missing or out of order");
    at = next;
  }
  BOOST_TEST(responses.find("GET /last 0", at) != std::string::npos);
}

// Item 7: slowloris and idle connections time out; the connection cap holds.
BOOST_AUTO_TEST_CASE(slow_and_idle_connections_time_out_and_the_cap_holds) {
  ServerOptions options;
  options.header_timeout = 300ms;
  options.idle_timeout = 300ms;
  options.body_timeout = 300ms;
  options.max_connections = 4;
  Server s(options);
  {
    Connection slow(s.port);
    slow.Send("GET / HTTP/1.1\r\nHost: x\r\n");  // and never the end of the head
    const auto start = Clock::now();
    const std::string response = slow.ReadAll(3000ms);
    BOOST_TEST(StatusOf(response) == 408, response);
    BOOST_TEST(slow.closed());
    BOOST_TEST((Clock::now() - start < 2s));
  }
  {
    // Dribbling one byte at a time does not extend the head's deadline.
    Connection drip(s.port);
    const std::string head =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    for (std::size_t i = 0; i < head.size() && !closed; ++i) {
      closed = !drip.Send(head.substr(i, 1)) || drip.ClosedWithin(50ms);
    }
    BOOST_TEST(closed);
  }
  {
    Connection body(s.port);
    body.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    BOOST_TEST(StatusOf(body.ReadAll(3000ms)) == 408);
  }
  {
    Connection idle(s.port);
    BOOST_TEST(idle.ClosedWithin(2000ms));
  }
  // Four idle connections fill the cap: a fifth waits in the backlog ...
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<Connection>(s.port));
  std::this_thread::sleep_for(50ms);
  Connection fifth(s.port);
  fifth.Send("GET /fifth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto start = Clock::now();
  // ... until the idle ones time out (300 ms) and free their slots.
  const std::string response = fifth.ReadAll(3000ms);
  BOOST_TEST(StatusOf(response) == 200, response);
  BOOST_TEST((Clock::now() - start >= 150ms));
  s.ExpectHealthy();
}

BOOST_AUTO_TEST_CASE(expect_continue_and_keep_alive) {
  Server s;
  Connection c(s.port);
  c.Send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const std::string interim = c.ReadAll(300ms);
  BOOST_TEST(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0, interim);
  c.Send("hello");
  BOOST_TEST(c.ReadAll(300ms).find("POST /e 5") != std::string::npos);
  c.Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");  // same connection
  BOOST_TEST(c.ReadAll(300ms).find("GET /again 0") != std::string::npos);
  // Over the limit: 413 at once, no 100 Continue, connection closed.
  Connection big(s.port);
  big.Send(
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
  const std::string refused = big.ReadAll(500ms);
  BOOST_TEST(StatusOf(refused) == 413, refused);
  BOOST_TEST(big.closed());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
