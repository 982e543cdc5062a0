#pragma once

// Test FHIR servers (tests/fhir_server/*.mjs) as child processes of the test.
//
// A NodeServer forks and execs `node <script> --port 0 ...` on 127.0.0.1 and
// waits (bounded) for its "LISTENING <port>" line. The child's stdin is a pipe
// held by the test: when the NodeServer is destroyed, or the test process
// dies, the pipe closes and the server exits; PR_SET_PDEATHSIG (SIGKILL)
// and the server's own --max-seconds are further backstops, and the
// destructor reaps the child (SIGKILL after 3 s). No server outlives its test.
//
// SilentListener is a loopback socket that listens but never accepts: a test
// can ask whether anyone tried to connect to it.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cds::testing {

class NodeServer {
 public:
  // `script` is a file name under tests/fhir_server/. Fails the test (Boost
  // REQUIRE) if node or the npm dependencies are missing or the server does
  // not report its port within 20 s.
  explicit NodeServer(const std::string& script, const std::vector<std::string>& args = {});
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>" + path
  std::string Url(const std::string& path = "") const;

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::uint16_t port_ = 0;
};

class SilentListener {
 public:
  SilentListener();  // binds 127.0.0.1:0 and listens
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::uint16_t port() const { return port_; }
  // True if a connection is waiting to be accepted (checked for up to `wait`).
  bool HadConnection(std::chrono::milliseconds wait = std::chrono::milliseconds(100)) const;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// The directory of the test servers (tests/fhir_server in the source tree).
std::string FhirServerDir();

}  // namespace cds::testing
