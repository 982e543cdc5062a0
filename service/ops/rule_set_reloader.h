#pragma once

// RuleSetReloader: hot reload of the active rule set (issue #5). It re-reads
// the configured rules path (a directory holding ruleset.json and
// valuesets.json, or the ruleset.json itself), validates it completely with
// rules::LoadRuleSetReport, and only if that succeeds swaps it into the
// RuleSetHolder. Requests already running keep the snapshot they took; new
// requests see the new set. A set with any problem is rejected: the old set
// stays in force, every issue is logged (file, line, rule, field, message;
// rule files hold no PHI) and the status (Status()) shows it, for /readyz.
//
// Triggers, all handled on the reloader's own thread (never a request or
// signal-handler thread):
// - RequestReload(): e.g. from the SIGHUP loop in cli_serve.cc;
// - watching: every poll_interval the files are stat()ed *through* symlinks
//   (so a Kubernetes ConfigMap's `..data` symlink swap is seen) and, when
//   their identity (inode, size, mtime) changed, hashed (SHA-256 of the
//   content). A new content is loaded once two consecutive polls agree on it,
//   so a copy caught half way is not loaded; content that failed to load is
//   not retried until it changes again (or a SIGHUP asks).
//
// Thread-safety: every public method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rules/loader.h"
#include "service/hooks/rule_set_holder.h"

namespace cds::service {

class Metrics;

struct ReloadStatus {
  enum class Outcome { kNone, kSuccess, kFailure };
  Outcome outcome = Outcome::kNone;      // of the last reload attempt
  std::string time;                      // of the last attempt, ISO-8601 UTC ("" if none)
  std::string trigger;                   // "signal", "watch" or "request"
  std::string ruleset;                   // the set that the last success loaded
  std::vector<rules::RuleIssue> errors;  // of the last attempt, if it failed (at most 50)
  std::size_t successes = 0;
  std::size_t failures = 0;
};

const char* OutcomeName(ReloadStatus::Outcome outcome);  // "none", "success", "failure"

struct ReloaderOptions {
  std::string path;                               // the rules path given at startup
  std::chrono::milliseconds poll_interval{2000};  // 0: no watching (signals only)
  Metrics* metrics = nullptr;                     // optional; not owned
};

class RuleSetReloader {
 public:
  // `holder` must already hold the set loaded from options.path at startup;
  // it is not owned and must outlive the reloader.
  RuleSetReloader(RuleSetHolder& holder, ReloaderOptions options);
  ~RuleSetReloader();  // Stop()
  RuleSetReloader(const RuleSetReloader&) = delete;
  RuleSetReloader& operator=(const RuleSetReloader&) = delete;

  // Starts the reloader's thread.
  void Start();
  // Stops and joins the thread (a reload in progress finishes first).
  void Stop();

  // Asks the thread to reload as soon as it can; several requests before it
  // gets to them make one reload. Returns at once.
  void RequestReload();

  // Loads, validates and swaps on the calling thread; true on success.
  bool ReloadNow(const std::string& trigger);

  ReloadStatus Status() const;

 private:
  struct FileIdentity {
    bool exists = false;
    unsigned long long device = 0, inode = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

  std::vector<std::string> WatchedFiles() const;
  std::vector<FileIdentity> Identities() const;
  std::string ContentHash() const;  // "" if a file cannot be read
  void Run();
  void Poll();

  RuleSetHolder& holder_;
  const ReloaderOptions options_;

  // Serialises reloads (ReloadNow from a test and the thread).
  std::mutex reload_mutex_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool requested_ = false;
  ReloadStatus status_;
  std::thread thread_;

  // Watching state (reloader thread and ReloadNow under reload_mutex_).
  std::vector<FileIdentity> identities_;
  std::string loaded_hash_;     // content of the last load attempt
  std::string candidate_hash_;  // a change seen once, loaded when seen again
};

}  // namespace cds::service
