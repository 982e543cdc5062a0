#pragma once

// A program under test as a child process (e.g. `magcds serve`): started with
// fork/exec, its stdout and stderr sent to a file, killed with SIGKILL if the
// test process dies (PR_SET_PDEATHSIG) or the ChildProcess goes away while it
// still runs. Every wait is bounded.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cds::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the arguments; output (stdout and stderr)
  // goes to `output_file` (truncated). Extra environment entries "NAME=value".
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_file,
               const std::vector<std::string>& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int signal_number);
  // The exit status if the child exited within `timeout` (-signal if killed
  // by a signal); nullopt if it is still running.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The whole file as text ("" if it cannot be read).
std::string ReadFile(const std::string& path);
// A fresh directory under $TMPDIR (or /tmp), removed by RemoveTree.
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

}  // namespace cds::testing
