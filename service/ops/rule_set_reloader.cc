#include "service/ops/rule_set_reloader.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>

#include "service/log/log.h"
#include "service/ops/audit_log.h"
#include "service/ops/metrics.h"

namespace cds::service {
namespace {

constexpr std::size_t kMaxStatusErrors = 50;
constexpr std::size_t kMaxLoggedIssues = 20;

bool IsDirectory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xf];
  }
  return out;
}

// CPU time of the calling thread, in ms: a reload's own cost, apart from the
// time it waits for a core while requests keep every core busy (its wall time
// is logged beside it).
double ThreadCpuMs() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

}  // namespace

const char* OutcomeName(ReloadStatus::Outcome outcome) {
  switch (outcome) {
    case ReloadStatus::Outcome::kNone:
      return "none";
    case ReloadStatus::Outcome::kSuccess:
      return "success";
    case ReloadStatus::Outcome::kFailure:
      return "failure";
  }
  return "none";
}

RuleSetReloader::RuleSetReloader(RuleSetHolder& holder, ReloaderOptions options)
    : holder_(holder), options_(std::move(options)) {
  identities_ = Identities();
  loaded_hash_ = ContentHash();
  if (const auto current = holder_.Get()) status_.ruleset = current->Label();
}

RuleSetReloader::~RuleSetReloader() { Stop(); }

void RuleSetReloader::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void RuleSetReloader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RuleSetReloader::RequestReload() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = true;
  }
  wake_.notify_all();
}

ReloadStatus RuleSetReloader::Status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

std::vector<std::string> RuleSetReloader::WatchedFiles() const {
  // Same resolution as rules::LoadRuleSetReport: a directory, or its ruleset.json.
  std::string dir = options_.path;
  if (!IsDirectory(dir)) {
    const std::size_t slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : dir.substr(0, slash);
  }
  return {dir + "/ruleset.json", dir + "/valuesets.json"};
}

std::vector<RuleSetReloader::FileIdentity> RuleSetReloader::Identities() const {
  std::vector<FileIdentity> out;
  for (const std::string& file : WatchedFiles()) {
    FileIdentity identity;
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0) {  // stat, not lstat: follows symlinks
      identity.exists = true;
      identity.device = static_cast<unsigned long long>(info.st_dev);
      identity.inode = static_cast<unsigned long long>(info.st_ino);
      identity.size = static_cast<unsigned long long>(info.st_size);
      identity.mtime_ns = static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL +
                          static_cast<long long>(info.st_mtim.tv_nsec);
    }
    out.push_back(identity);
  }
  return out;
}

std::string RuleSetReloader::ContentHash() const {
  std::string all;
  for (const std::string& file : WatchedFiles()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "";
    std::ostringstream text;
    text << in.rdbuf();
    all += Sha256Hex(text.str());
  }
  return all;
}

bool RuleSetReloader::ReloadNow(const std::string& trigger) {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = ThreadCpuMs();
  // Record what is being loaded first: a change made during the load is seen
  // by the next poll.
  identities_ = Identities();
  loaded_hash_ = ContentHash();
  candidate_hash_.clear();

  rules::LoadReport report;
  try {
    report = rules::LoadRuleSetReport(options_.path);
  } catch (const std::exception& e) {
    // The loader reports problems rather than throwing; should it throw
    // anyway (a bug, like the one the fuzz_rule_loader campaign found, or
    // memory running out), this reload fails and the running rules stay.
    report = {};
    report.errors.push_back({options_.path, 0, "", "", std::string("loader failed: ") + e.what()});
  }
  const std::string time = NowIsoMillis();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  const double cpu_ms = ThreadCpuMs() - cpu_started;
  const std::shared_ptr<const rules::RuleSet> previous = holder_.Get();
  const std::string previous_label = previous ? previous->Label() : "";

  if (report.rule_set) {
    const std::string label = report.rule_set->Label();
    // Metrics first: whoever sees this reload in Status() (/readyz) then
    // finds it counted in /metrics too.
    if (options_.metrics != nullptr) {
      options_.metrics->SetActiveRuleSet(report.rule_set->id, report.rule_set->version);
      options_.metrics->CountReload(true);
    }
    {
      // The new set and its status change together: whoever sees the new set
      // and then asks Status() sees this reload (its lock is held until then).
      std::lock_guard<std::mutex> lock(mutex_);
      holder_.Set(report.rule_set);
      status_.outcome = ReloadStatus::Outcome::kSuccess;
      status_.time = time;
      status_.trigger = trigger;
      status_.ruleset = label;
      status_.errors.clear();
      ++status_.successes;
    }
    // Warnings (e.g. unverified codes) are the same as `magcds rules validate`
    // shows; counted at info, listed at debug.
    for (const std::string& warning : report.warnings) {
      LogEvent("debug", "rules_reload_warning", {{"message", warning}});
    }
    LogEvent("info", "rules_reloaded",
             {{"trigger", trigger},
              {"ruleset", label},
              {"previous", previous_label},
              {"warnings", std::to_string(report.warnings.size())},
              {"ms", LogMs(ms)},
              {"cpuMs", LogMs(cpu_ms)}});
    return true;
  }

  LogEvent("error", "rules_reload_failed",
           {{"trigger", trigger},
            {"path", options_.path},
            {"errors", std::to_string(report.errors.size())},
            {"kept", previous_label},
            {"ms", LogMs(ms)},
            {"cpuMs", LogMs(cpu_ms)}});
  for (std::size_t i = 0; i < report.errors.size() && i < kMaxLoggedIssues; ++i) {
    const rules::RuleIssue& issue = report.errors[i];
    LogEvent("error", "rules_reload_issue",
             {{"file", issue.file},
              {"line", std::to_string(issue.line)},
              {"rule", issue.rule_id},
              {"field", issue.field},
              {"message", issue.message}});
  }
  if (options_.metrics != nullptr) options_.metrics->CountReload(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.outcome = ReloadStatus::Outcome::kFailure;
    status_.time = time;
    status_.trigger = trigger;
    status_.errors.assign(report.errors.begin(),
                          report.errors.begin() +
                              static_cast<long>(std::min(report.errors.size(), kMaxStatusErrors)));
    ++status_.failures;
  }
  return false;
}

void RuleSetReloader::Poll() {
  std::vector<FileIdentity> identities = Identities();
  std::string hash;
  {
    std::lock_guard<std::mutex> reload_lock(reload_mutex_);
    if (identities == identities_ && candidate_hash_.empty()) return;
    identities_ = identities;
    hash = ContentHash();
    if (hash.empty() || hash == loaded_hash_) {
      candidate_hash_.clear();  // unreadable (mid-swap) or back to what is loaded
      return;
    }
    if (hash != candidate_hash_) {
      candidate_hash_ = hash;  // first sighting: load when it holds still
      return;
    }
  }
  ReloadNow("watch");
}

void RuleSetReloader::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (options_.poll_interval.count() > 0) {
      wake_.wait_for(lock, options_.poll_interval, [this] { return stop_ || requested_; });
    } else {
      wake_.wait(lock, [this] { return stop_ || requested_; });
    }
    if (stop_) break;
    const bool requested = requested_;
    requested_ = false;
    lock.unlock();
    if (requested) {
      ReloadNow("signal");
    } else {
      Poll();
    }
    lock.lock();
  }
}

}  // namespace cds::service
