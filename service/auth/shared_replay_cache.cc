#include "service/auth/shared_replay_cache.h"

#include <openssl/evp.h>

#include <utility>

#include "service/log/log.h"

namespace cds::service {

struct SharedReplayCache::Job {
  std::string key;
  std::int64_t expires_at = 0;
  std::int64_t now = 0;
  std::function<void(std::optional<bool>)> done;
  std::atomic<bool> answered{false};

  // First answer wins: the store's or the watchdog's.
  void Answer(std::optional<bool> replayed) {
    if (!answered.exchange(true)) done(replayed);
  }
};

std::string ReplayKey(const std::string& iss, const std::string& jti) {
  const std::string input = iss + '\n' + jti;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

SharedReplayCache::SharedReplayCache(store::FeedbackStore& store, SharedReplayCacheOptions options)
    : store_(store), options_(options) {
  for (std::size_t i = 0; i < (options_.threads == 0 ? 1 : options_.threads); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
  watchdog_ = std::thread([this] { Watch(); });
}

SharedReplayCache::~SharedReplayCache() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  watch_wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  watchdog_.join();
  for (auto& job : queue_) job->Answer(std::nullopt);
  for (auto& [when, job] : deadlines_) job->Answer(std::nullopt);
}

void SharedReplayCache::Check(const std::string& iss, const std::string& jti,
                              std::int64_t expires_at, std::int64_t now,
                              std::function<void(std::optional<bool>)> done) {
  auto job = std::make_shared<Job>();
  job->key = ReplayKey(iss, jti);
  job->expires_at = expires_at;
  job->now = now;
  job->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool degraded = std::chrono::steady_clock::now() < degraded_until_;
    if (!stopping_ && !degraded && queue_.size() < options_.queue_capacity) {
      queue_.push_back(job);
      deadlines_.emplace(std::chrono::steady_clock::now() + options_.deadline, job);
      wake_.notify_one();
      watch_wake_.notify_one();
      return;
    }
  }
  ++unavailable_;
  job->Answer(std::nullopt);
}

void SharedReplayCache::Work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (job->answered.load()) continue;  // the watchdog already gave up on it
    Result<store::ReplayVerdict> verdict = store_.RememberOnce(job->key, job->expires_at, job->now);
    if (!verdict) {
      ++unavailable_;
      bool log = false;
      {
        // At most one line every 5 s: under an outage every token would log.
        std::lock_guard<std::mutex> lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        degraded_until_ = now + options_.backoff;
        if (now - last_log_ >= std::chrono::seconds(5)) {
          last_log_ = now;
          log = true;
        }
      }
      if (log) {
        LogEvent("warn", "replay_cache_unavailable",
                 {{"error", verdict.error().message},
                  {"unavailableTotal", std::to_string(unavailable_.load())}});
      }
      job->Answer(std::nullopt);
    } else {
      job->Answer(*verdict == store::ReplayVerdict::kReplayed);
    }
  }
}

void SharedReplayCache::Watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopping_) return;
    if (deadlines_.empty()) {
      watch_wake_.wait(lock);
      continue;
    }
    const auto first = deadlines_.begin()->first;
    if (std::chrono::steady_clock::now() < first) {
      watch_wake_.wait_until(lock, first);
      continue;
    }
    std::shared_ptr<Job> job = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    if (job->answered.load()) continue;
    degraded_until_ = std::chrono::steady_clock::now() + options_.backoff;
    lock.unlock();
    if (!job->answered.load()) {
      ++unavailable_;
      job->Answer(std::nullopt);
    }
    lock.lock();
  }
}

}  // namespace cds::service
