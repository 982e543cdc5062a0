// Issue #12 items 7 and 8 against the real `magcds serve` process:
// - SIGTERM under continuous load (keep-alive clients, clients that open a
//   new connection per request, slow fetch-mode calls in flight): every
//   answer a client starts to receive is complete, every answer is 200 with
//   cards or 503 with an error body (never a 404 because routes are gone),
//   the calls the service evaluated (its audit trail) are exactly the 200s
//   the clients received (nothing accepted was reset or cut off), and once
//   the listener is gone a connection is refused;
// - the accept loop backs off when accept(2) fails for lack of descriptors
//   (RLIMIT_NOFILE): the process does not spin, and it answers again once
//   descriptors are free.
// Loopback only; every wait is bounded; servers are killed if a test fails.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/magcds_serve.h"
#include "tests/support/node_server.h"

namespace cds::service {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using cds::testing::MagcdsServe;
using cds::testing::NodeServer;

long long MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Prefetch-complete: answered without any FHIR call, with cards.
std::string CompleteRequest() {
  return cds::testing::ReadFile(std::string(CDS_TEST_DATA_DIR) +
                                "/requests/patient-view-ppi-cramps.json");
}

// Fetch mode: only the Patient is prefetched; the rest comes from `fhir_server`
// (the fault server's delay-N mode), so the call is in flight for a while.
std::string FetchRequest(const std::string& fhir_server) {
  return std::string(
             R"({"hook":"patient-view","hookInstance":"0b6e2f43-5d1c-4a8e-9f31-7c2d9e4b1a66",)") +
         R"("context":{"patientId":"pt-load-1","userId":"Practitioner/u1"},)" +
         R"("fhirServer":")" + fhir_server + R"(",)" +
         R"("fhirAuthorization":{"access_token":"tok-load","token_type":"Bearer",)" +
         R"("expires_in":300,"scope":"patient/*.read","subject":"magcds"},)" +
         R"("prefetch":{"patient":{"resourceType":"Patient","id":"pt-load-1",)" +
         R"("birthDate":"1958-04-12"}}})";
}

std::string PostText(const std::string& body, bool keep_alive) {
  return "POST /cds-services/magnesium-advisor HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Content-Type: application/json\r\nConnection: " +
         std::string(keep_alive ? "keep-alive" : "close") +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// What became of one request, seen from the client.
enum class Outcome {
  kAnswered,      // a complete response (status line, head, Content-Length bytes)
  kRefused,       // connect(2) refused: no listener
  kClosedUnread,  // the connection ended before any response byte
  kTruncated,     // some response bytes, then the connection ended
  kTimeout,       // nothing (or not all) within the deadline
};

struct Exchange {
  Outcome outcome = Outcome::kTimeout;
  int status = 0;
  bool keep_alive = false;  // the server left the connection open
  std::string body;
};

// One client connection, reused while the server keeps it alive.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : port_(port) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open() const { return fd_ >= 0; }
  // Connects and sends `partial` (a request head not yet complete), leaving
  // the connection open; false if the connection could not be made.
  bool OpenIdle(const std::string& partial) {
    Exchange result;
    if (!Connect(result)) return false;
    return ::send(fd_, partial.data(), partial.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(partial.size());
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends `raw` (on the open connection, or a new one) and reads one response.
  Exchange Send(const std::string& raw, std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    Exchange result;
    if (fd_ < 0 && !Connect(result)) return result;
    std::size_t sent = 0;
    while (sent < raw.size()) {
      const ssize_t n = ::send(fd_, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        // The server closed before taking the whole request: nothing was answered.
        result.outcome = Outcome::kClosedUnread;
        Close();
        return result;
      }
      sent += static_cast<std::size_t>(n);
    }
    std::string received;
    std::size_t head_end = std::string::npos;
    std::size_t want = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = received.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          ParseHead(received.substr(0, head_end), result, want);
          head_end += 4;
        }
      }
      if (head_end != std::string::npos && received.size() >= head_end + want) {
        result.outcome = Outcome::kAnswered;
        result.body = received.substr(head_end, want);
        if (!result.keep_alive) Close();
        return result;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
        result.outcome = Outcome::kTimeout;
        Close();
        return result;
      }
      char buffer[16384];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        result.outcome = received.empty() ? Outcome::kClosedUnread : Outcome::kTruncated;
        Close();
        return result;
      }
      received.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  bool Connect(Exchange& result) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      result.outcome = errno == ECONNREFUSED ? Outcome::kRefused : Outcome::kClosedUnread;
      Close();
      return false;
    }
    return true;
  }

  static void ParseHead(const std::string& head, Exchange& result, std::size_t& length) {
    result.status = head.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(head.c_str() + 9) : -1;
    result.keep_alive = true;
    std::istringstream lines(head);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string lower = line;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.rfind("content-length:", 0) == 0) {
        length = static_cast<std::size_t>(std::strtoull(lower.c_str() + 15, nullptr, 10));
      } else if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos) {
        result.keep_alive = false;
      }
    }
  }

  std::uint16_t port_;
  int fd_ = -1;
};

bool HasCardsArray(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  return !doc.HasParseError() && doc.IsObject() && doc.HasMember("cards") && doc["cards"].IsArray();
}

bool IsErrorBody(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  return !doc.HasParseError() && doc.IsObject() && doc.HasMember("error");
}

// Per client: what its requests came to, split at the moment SIGTERM was sent.
struct Tally {
  std::map<int, int> statuses;  // answered requests by status
  int with_cards = 0;           // 200s whose body is a CDS response with "cards"
  int error_bodies = 0;         // 503s whose body is a JSON error
  int refused = 0, closed_unread = 0, closed_unread_before_term = 0;
  int closed_unread_reused = 0;  // of those, on a kept-alive connection
  int truncated = 0, timeouts = 0;
  std::string first_problem;
};

void Add(Tally& total, const Tally& t) {
  for (const auto& [status, n] : t.statuses) total.statuses[status] += n;
  total.with_cards += t.with_cards;
  total.error_bodies += t.error_bodies;
  total.refused += t.refused;
  total.closed_unread += t.closed_unread;
  total.closed_unread_before_term += t.closed_unread_before_term;
  total.closed_unread_reused += t.closed_unread_reused;
  total.truncated += t.truncated;
  total.timeouts += t.timeouts;
  if (total.first_problem.empty()) total.first_problem = t.first_problem;
}

std::string Describe(const Tally& t) {
  std::ostringstream out;
  for (const auto& [status, n] : t.statuses) out << n << "x" << status << " ";
  out << "refused " << t.refused << ", closed unread " << t.closed_unread << " ("
      << t.closed_unread_before_term << " before SIGTERM, " << t.closed_unread_reused
      << " on a kept-alive connection), truncated " << t.truncated << ", timeouts " << t.timeouts;
  return out.str();
}

// Calls with status 200 in the audit trail (one JSON line per evaluated call).
int AuditedOk(const std::string& audit) {
  int ok = 0;
  std::istringstream lines(audit);
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("status") &&
        doc["status"].IsInt() && doc["status"].GetInt() == 200) {
      ++ok;
    }
  }
  return ok;
}

BOOST_AUTO_TEST_SUITE(ServeLoad)

BOOST_AUTO_TEST_CASE(sigterm_under_load_loses_no_accepted_request_and_then_refuses) {
  NodeServer faults("fault_server.mjs");
  const std::string fhir = faults.Url("/delay-150");
  MagcdsServe serve(
      CDS_MAGCDS_BINARY,
      R"("rules":")" + std::string(CDS_RULES_DIR) + R"(/magnesium/1.0.0",)" +
          R"("audit":{"path":"@DIR@/audit.jsonl","hashKeyFile":"@DIR@/hash.key"},)" +
          R"("fhir":{"allowHttpLoopback":true,"deadlineMs":4000,"allowedServers":[")" + fhir +
          R"("]},"shutdownGraceSeconds":6)");
  const std::string complete = CompleteRequest();
  const std::string fetch = FetchRequest(fhir);

  std::atomic<bool> term_sent{false};
  const Clock::time_point start = Clock::now();
  // Each client sends until its connection is refused (the listener is gone)
  // or 20 s have passed.
  auto client = [&](const std::string& body, bool keep_alive) {
    Tally tally;
    Connection connection(serve.port());
    while (MsSince(start) < 20000) {
      const bool after_term = term_sent.load();
      const bool reused = connection.open();
      const Exchange e = connection.Send(PostText(body, keep_alive), 10s);
      auto problem = [&](const std::string& what) {
        if (tally.first_problem.empty()) tally.first_problem = what;
      };
      switch (e.outcome) {
        case Outcome::kAnswered:
          ++tally.statuses[e.status];
          if (e.status == 200 && HasCardsArray(e.body)) ++tally.with_cards;
          if (e.status == 503 && IsErrorBody(e.body)) ++tally.error_bodies;
          if (e.status != 200 && e.status != 503) {
            problem(std::to_string(e.status) + ": " + e.body.substr(0, 200));
          }
          break;
        case Outcome::kRefused:
          ++tally.refused;
          return tally;
        case Outcome::kClosedUnread:
          ++tally.closed_unread;
          if (reused) ++tally.closed_unread_reused;
          if (!after_term) {
            ++tally.closed_unread_before_term;
            problem("closed before SIGTERM");
          }
          break;
        case Outcome::kTruncated:
          ++tally.truncated;
          problem("truncated answer");
          break;
        case Outcome::kTimeout:
          ++tally.timeouts;
          problem("no answer in 10 s");
          break;
      }
      if (!keep_alive) connection.Close();
    }
    return tally;
  };
  std::vector<std::future<Tally>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::async(std::launch::async, client, complete, true));
    clients.push_back(std::async(std::launch::async, client, complete, false));
    clients.push_back(std::async(std::launch::async, client, fetch, true));
  }
  // Load first, then SIGTERM with calls in flight.
  std::this_thread::sleep_for(800ms);
  term_sent = true;
  serve.process().Signal(SIGTERM);
  const std::optional<int> exit_code = serve.process().WaitExit(10s);

  Tally total;
  for (auto& c : clients) {
    BOOST_REQUIRE(c.wait_for(30s) == std::future_status::ready);
    Add(total, c.get());
  }
  const int audited = AuditedOk(serve.ReadInDir("audit.jsonl"));
  BOOST_TEST_MESSAGE("SIGTERM under load (12 clients): " << Describe(total) << "; audit has "
                                                         << audited << " calls with 200");
  BOOST_TEST(exit_code.value_or(-999) == 0);
  // Load really ran, and the service answered during the drain.
  BOOST_TEST(total.statuses[200] >= 24, Describe(total));
  // Only 200 (with a CDS response body) and 503 (with an error body): no 404
  // because routes were torn down, no other error.
  BOOST_TEST(
      total.statuses[200] + total.statuses[503] ==
          [&] {
            int all = 0;
            for (const auto& [status, n] : total.statuses) all += n;
            return all;
          }(),
      Describe(total) << "; first problem: " << total.first_problem);
  BOOST_TEST(total.with_cards == total.statuses[200]);
  BOOST_TEST(total.error_bodies == total.statuses[503]);
  // Nothing started and cut off, nothing left hanging.
  BOOST_TEST(total.truncated == 0, total.first_problem);
  BOOST_TEST(total.timeouts == 0, total.first_problem);
  // After SIGTERM a connection may end before any answer byte: one the
  // kernel had queued when the listener closed (reset), or a kept-alive one
  // whose next request crossed the close (RFC 9112 9.3.1: clients retry).
  // Such a request was never evaluated, which the audit check below proves.
  BOOST_TEST(total.closed_unread_before_term == 0, total.first_problem);
  // Every call the service evaluated reached its client complete: a 200
  // produced and then lost (reset, cut) would be in the audit trail only.
  BOOST_TEST(audited == total.statuses[200]);
  // Each client ended on a refused connection: the listener was closed.
  BOOST_TEST(total.refused == 12, Describe(total));
}

// CPU time (user + system) of `pid` in clock ticks, from /proc/<pid>/stat.
long long CpuTicks(pid_t pid) {
  std::string stat = cds::testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t after_name = stat.rfind(')');
  if (after_name == std::string::npos) return -1;
  std::istringstream fields(stat.substr(after_name + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // Fields 3.. (state is 3); utime is 14, stime 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::atoll(field.c_str());
    if (index == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

int CountOf(const std::string& text, const std::string& what, std::size_t from = 0) {
  int n = 0;
  for (std::size_t at = text.find(what, from); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

BOOST_AUTO_TEST_CASE(accept_without_descriptors_backs_off_and_recovers) {
  // 48 descriptors: the service's own (log, epoll, listener, ...) and a few
  // dozen connections. The connection cap (1024) is far above, so accept(2)
  // itself fails with EMFILE; the header timeout is long so the idle
  // connections are not closed for us.
  constexpr int kNoFile = 48;
  MagcdsServe serve(
      CDS_MAGCDS_BINARY, R"("limits":{"headerTimeoutMs":60000})",
      {"/bin/sh", "-c", "ulimit -n " + std::to_string(kNoFile) + " && exec \"$@\"", "sh"});
  std::vector<std::unique_ptr<Connection>> held;
  // Idle connections until the service logs that accept failed (the kernel
  // still completes the handshakes: they wait in the listen backlog).
  const Clock::time_point start = Clock::now();
  while (MsSince(start) < 15000 && serve.Log().find("accept_failed") == std::string::npos) {
    for (int i = 0; i < 4; ++i) {
      auto connection = std::make_unique<Connection>(serve.port());
      // A partial request head: the connection stays open and idle.
      if (!connection->OpenIdle("GET /healthz HTTP/1.1\r\n")) break;
      held.push_back(std::move(connection));
    }
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST_REQUIRE(serve.Log().find("accept_failed") != std::string::npos,
                     "accept never failed with " << held.size() << " connections open");

  // With connections pending and no descriptor to take them, a loop that
  // retried at once would burn a whole core. Measure 3 s of CPU time: the
  // bound (15 % of one core) is generous for a process that sleeps between
  // retries and far below one that spins, even on a busy machine.
  const long long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const std::size_t log_from = serve.Log().size();
  const long long before = CpuTicks(serve.process().pid());
  std::this_thread::sleep_for(3s);
  const long long used = CpuTicks(serve.process().pid()) - before;
  const int failures = CountOf(serve.Log(), "accept_failed", log_from);
  BOOST_TEST_MESSAGE("accept failing: " << held.size() << " connections, " << used
                                        << " CPU ticks in 3 s (" << ticks_per_second << "/s), "
                                        << failures << " accept_failed lines");
  BOOST_TEST(before >= 0);
  BOOST_TEST(used * 100 < 15 * 3 * ticks_per_second);
  // Backed off (up to 1 s between tries): a handful of failures, not thousands.
  BOOST_TEST(failures <= 20);

  // Descriptors free again: the service answers.
  held.clear();
  bool answered = false;
  const Clock::time_point recovery = Clock::now();
  while (!answered && MsSince(recovery) < 10000) {
    answered = serve.Send("GET", "/cds-services", "", {}, 2s).status == 200;
    if (!answered) std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(answered, "no answer after the connections were closed");
  BOOST_TEST_MESSAGE("answering again " << MsSince(recovery)
                                        << " ms after the descriptors were freed");
  BOOST_TEST(serve.process().Running());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
