#pragma once

// SharedReplayCache: the JWT replay cache shared by every replica through the
// PostgreSQL store (issue #16): a jti seen by one replica is refused by all.
// The Authenticator keeps its in-memory cache as well; this one adds the
// cross-replica check (service/auth/auth.h, AuthenticatorOptions::shared_replay).
//
// The store call blocks, so it runs on this class's own threads, never on a
// request thread. An answer that has not come within `deadline` (database
// slow or down, queue full) is "unknown" (nullopt): authentication then rests
// on the replica's own cache, the event is counted (unavailable()) and the
// request goes on. After such a miss the cache stays out of the way for
// `backoff` (answers unknown at once), then tries the store again: a hung
// database costs one request `deadline`, not every request.
//
// Keys are SHA-256(iss "\n" jti) in hex: the store never holds a token.
//
// Thread-safety: Check may be called from any thread; `done` is called exactly
// once, on one of this class's threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/store/feedback_store.h"

namespace cds::service {

struct SharedReplayCacheOptions {
  std::size_t threads = 2;
  std::size_t queue_capacity = 1024;
  std::chrono::milliseconds deadline{300};
  std::chrono::milliseconds backoff{2000};
};

class SharedReplayCache {
 public:
  // `store` is not owned and must outlive this object.
  SharedReplayCache(store::FeedbackStore& store, SharedReplayCacheOptions options);
  ~SharedReplayCache();
  SharedReplayCache(const SharedReplayCache&) = delete;
  SharedReplayCache& operator=(const SharedReplayCache&) = delete;

  // done(true): (iss, jti) was already used on some replica; done(false):
  // first use, now remembered until `expires_at`; done(nullopt): no answer.
  void Check(const std::string& iss, const std::string& jti, std::int64_t expires_at,
             std::int64_t now, std::function<void(std::optional<bool>)> done);

  std::uint64_t unavailable() const { return unavailable_.load(); }

 private:
  struct Job;
  void Work();
  void Watch();

  store::FeedbackStore& store_;
  const SharedReplayCacheOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable watch_wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<Job>> deadlines_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread watchdog_;
  std::atomic<std::uint64_t> unavailable_{0};
  std::chrono::steady_clock::time_point last_log_{};        // guarded by mutex_
  std::chrono::steady_clock::time_point degraded_until_{};  // guarded by mutex_
};

// SHA-256(iss "\n" jti), lower-case hex.
std::string ReplayKey(const std::string& iss, const std::string& jti);

}  // namespace cds::service
