#pragma once

// The real `magcds serve` as a child process on a free loopback port, for
// tests that look at a deployment from outside: responses over HTTP, the JSON
// log (stdout and stderr go to a file in a private temp directory), /metrics
// and the audit trail. Every wait is bounded; the process is killed when the
// MagcdsServe goes away or the test process dies.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/http_test_client.h"

namespace cds::testing {

class MagcdsServe {
 public:
  // With `config_members` (JSON object members without the braces, e.g.
  // "\"auth\":{...}"), runs `magcds serve --config` on a file that also sets
  // "listen" and "log":{"level":"debug"}; "@DIR@" in the text is replaced by
  // the private temp directory (which holds "hash.key", 32 bytes, for an
  // audit trail) and "@PORT@" by the port. Without it, runs on the embedded defaults (`--listen`
  // only). Fails the test (REQUIRE) if the service does not come up in 10 s.
  // `launcher` is put in front of the command line (e.g. a shell that lowers
  // a resource limit and then execs the rest); the process keeps its pid.
  MagcdsServe(const std::string& binary, std::optional<std::string> config_members,
              std::vector<std::string> launcher = {});
  ~MagcdsServe();
  MagcdsServe(const MagcdsServe&) = delete;
  MagcdsServe& operator=(const MagcdsServe&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string Base() const;
  const std::string& dir() const { return dir_; }

  HttpTestResponse Send(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // The log so far. magcds writes its log in batches, a few milliseconds
  // after the lines happen: WaitForLog waits (bounded) until `text` appears
  // at or after byte `from` of the log; wait for the last line a check needs.
  std::string Log() const;
  bool WaitForLog(const std::string& text, std::size_t from = 0,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  std::string ReadInDir(const std::string& name) const;

  ChildProcess& process() { return *child_; }

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// The lines of `text`, empty ones left out.
std::vector<std::string> NonEmptyLines(const std::string& text);

// The value of one Prometheus series in `metrics`, or -1 if it is absent.
double MetricValue(const std::string& metrics, const std::string& series);

}  // namespace cds::testing
