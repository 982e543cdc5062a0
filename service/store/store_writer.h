#pragma once

// StoreWriter: puts the governance store off the CDS request path. Service
// calls hand their issued cards to a bounded queue and return at once; one
// thread of the writer's own writes them in batches. The store is never on
// the response path of a CDS service call (issue #16).
//
// - Issued cards: SubmitIssued never blocks. When the queue is full the cards
//   are dropped and counted (stats().dropped_cards) and a warning is logged
//   (at most every few seconds).
// - Feedback: SubmitFeedback answers through `done` once the items are
//   committed (so a 200 to the EHR means stored), or with kUnavailable at once
//   when the store is known to be down or the queue is full, or after
//   feedback_deadline when the store has not answered by then (a hung
//   database), so the EHR can send it again later (feedback is idempotent).
// - A failed write (database down, statement timeout) marks the store down,
//   is logged, and is retried with backoff until it succeeds; meanwhile the
//   queue fills and then drops. The first success logs "store_recovered".
// - Retention: every purge interval, rows older than retention_days are
//   deleted (0 = kept forever); expired replay entries are always deleted.
// - Stop flushes what is queued within a deadline; whatever is left is
//   counted as dropped.
//
// Thread-safety: Submit*, stats and Stop may be called from any thread.
// `done` and `on_feedback_stored` run on the writer's thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "service/store/feedback_store.h"

namespace cds::service::store {

struct StoreWriterOptions {
  std::size_t queue_capacity = 10000;  // cards and feedback items waiting, at most
  std::size_t batch_size = 256;        // cards per transaction
  // How long the writer waits for more cards before committing a partial
  // batch (group commit). Cards reach the store this much later at most.
  std::chrono::milliseconds flush_interval{50};
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
  std::int64_t retention_days = 0;  // 0 = keep forever
  std::chrono::seconds purge_interval{3600};
  std::chrono::milliseconds feedback_deadline{3000};
  std::function<std::int64_t()> clock;  // epoch seconds; required
  // Each newly stored feedback item (not duplicates): the issuing rule id
  // ("" when the card is unknown) and the outcome. For metrics.
  std::function<void(const std::string& rule_id, const std::string& outcome)> on_feedback_stored;
  // Structured log hook (event, fields); null = silent. Never gets secrets.
  std::function<void(const char* level, const char* event,
                     const std::vector<std::pair<std::string, std::string>>& fields)>
      log;
};

struct StoreWriterStats {
  std::size_t queued = 0;  // items waiting or being written now
  std::size_t capacity = 0;
  std::uint64_t written_cards = 0;
  std::uint64_t written_feedback = 0;  // items committed (duplicates included)
  std::uint64_t dropped_cards = 0;
  std::uint64_t refused_feedback = 0;  // items answered kUnavailable
  std::uint64_t write_failures = 0;    // failed store calls (each retry counts)
  std::uint64_t purged_rows = 0;
  bool up = true;
};

class StoreWriter {
 public:
  StoreWriter(std::shared_ptr<FeedbackStore> store, StoreWriterOptions options);
  ~StoreWriter();  // Stop(0) if still running
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void Start();
  // Flushes for up to `deadline`, then stops the thread.
  void Stop(std::chrono::milliseconds deadline);

  // Never blocks. False when the cards were dropped (queue full or stopped).
  bool SubmitIssued(std::vector<IssuedCard> cards);

  // Never blocks; `done` is called exactly once (maybe before returning).
  void SubmitFeedback(std::vector<FeedbackRecord> items,
                      std::function<void(Result<std::vector<FeedbackStored>>)> done);

  StoreWriterStats stats() const;
  FeedbackStore& store() const { return *store_; }

 private:
  // The answer to one SubmitFeedback: given once, by the writer or the watchdog.
  struct Answer {
    std::atomic<bool> given{false};
    std::size_t items = 0;
    std::function<void(Result<std::vector<FeedbackStored>>)> done;
  };
  struct FeedbackJob {
    std::vector<FeedbackRecord> items;
    std::shared_ptr<Answer> answer;
  };

  void Run();
  void Watch();
  void Give(Answer& answer, Result<std::vector<FeedbackStored>> result);
  void WriteCards(std::vector<IssuedCard>& batch, std::unique_lock<std::mutex>& lock);
  void WriteFeedback(FeedbackJob& job);
  void MaybePurge();
  void Failed(const Error& error);
  void Succeeded();
  void Log(const char* level, const char* event,
           const std::vector<std::pair<std::string, std::string>>& fields) const;

  std::shared_ptr<FeedbackStore> store_;
  StoreWriterOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable watch_wake_;
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<Answer>> deadlines_;
  std::thread watchdog_;
  std::deque<IssuedCard> cards_;
  std::deque<FeedbackJob> feedback_;
  std::size_t feedback_items_ = 0;
  std::size_t in_flight_ = 0;  // items taken off the queue, being written
  bool stopping_ = false;
  bool thread_running_ = true;  // until Stop joined the writer (then the watchdog ends)
  std::chrono::steady_clock::time_point stop_deadline_{};
  std::thread thread_;

  std::atomic<bool> up_{true};
  std::atomic<std::uint64_t> written_cards_{0};
  std::atomic<std::uint64_t> written_feedback_{0};
  std::atomic<std::uint64_t> dropped_cards_{0};
  std::atomic<std::uint64_t> refused_feedback_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<std::uint64_t> purged_rows_{0};
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::uint64_t dropped_at_last_log_ = 0;
  std::chrono::steady_clock::time_point next_purge_{};
};

}  // namespace cds::service::store
