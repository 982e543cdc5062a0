#include "tests/support/node_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <boost/test/unit_test.hpp>

namespace cds::testing {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string FhirServerDir() { return std::string(CDS_SOURCE_ROOT) + "/tests/fhir_server"; }

NodeServer::NodeServer(const std::string& script, const std::vector<std::string>& args) {
  const std::string dir = FhirServerDir();
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(dir + "/node_modules/@medplum/fhir-router"),
                        "test FHIR server dependencies are missing: run "
                        "`npm ci --prefix tests/fhir_server` (tests/run-all.sh does)");
  std::vector<std::string> argv_text{CDS_NODE_EXECUTABLE,
                                     "--experimental-websocket",
                                     "--no-warnings",
                                     dir + "/" + script,
                                     "--port",
                                     "0",
                                     "--max-seconds",
                                     "240"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());

  std::vector<char*> argv;  // built before fork: the child may not allocate
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  int in_pipe[2];
  int out_pipe[2];
  BOOST_REQUIRE(::pipe2(in_pipe, O_CLOEXEC) == 0);
  BOOST_REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  BOOST_REQUIRE_MESSAGE(pid_ >= 0, "fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  stdin_fd_ = in_pipe[1];

  // Read "LISTENING <port>\n", bounded.
  std::string line;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos) {
    pollfd p{out_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, RemainingMs(deadline)) != 1) break;
    char buffer[256];
    const ssize_t n = ::read(out_pipe[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    line.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);  // later output (none expected) goes nowhere
  const std::string prefix = "LISTENING ";
  if (line.rfind(prefix, 0) == 0) {
    port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + prefix.size()));
  }
  BOOST_REQUIRE_MESSAGE(port_ != 0, script << " did not start (output: '" << line << "')");
}

NodeServer::~NodeServer() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);  // the server exits on end of input
  if (pid_ <= 0) return;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::string NodeServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd_ >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  BOOST_REQUIRE(::listen(fd_, 16) == 0);
  socklen_t length = sizeof(address);
  BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) ::close(fd_);
}

bool SilentListener::HadConnection(std::chrono::milliseconds wait) const {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
}

}  // namespace cds::testing
