#include "service/store/store_writer.h"

#include <algorithm>
#include <utility>

namespace cds::service::store {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::chrono::seconds kDropLogInterval{5};

}  // namespace

StoreWriter::StoreWriter(std::shared_ptr<FeedbackStore> store, StoreWriterOptions options)
    : store_(std::move(store)), options_(std::move(options)) {
  if (options_.batch_size == 0) options_.batch_size = 1;
}

StoreWriter::~StoreWriter() { Stop(std::chrono::milliseconds(0)); }

void StoreWriter::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { Watch(); });
}

void StoreWriter::Give(Answer& answer, Result<std::vector<FeedbackStored>> result) {
  if (answer.given.exchange(true)) return;
  if (!result) refused_feedback_ += answer.items;
  answer.done(std::move(result));
}

// Answers feedback the store has not answered by its deadline (a hung
// database holds the writer thread; the EHR must not wait on it).
void StoreWriter::Watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // The writer has ended, and answered every job it held.
    if (stopping_ && !thread_running_) return;
    if (deadlines_.empty()) {
      watch_wake_.wait(lock);
      continue;
    }
    const auto first = deadlines_.begin()->first;
    if (SteadyClock::now() < first) {
      watch_wake_.wait_until(lock, first);
      continue;
    }
    std::shared_ptr<Answer> answer = std::move(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
    if (answer->given.load()) continue;
    lock.unlock();
    Give(*answer, Error{ErrorCode::kUnavailable, "the feedback store did not answer in time"});
    lock.lock();
  }
}

void StoreWriter::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = SteadyClock::now() + deadline;
    }
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    thread_running_ = false;
  }
  watch_wake_.notify_all();
  if (watchdog_.joinable() && watchdog_.get_id() != std::this_thread::get_id()) watchdog_.join();
}

bool StoreWriter::SubmitIssued(std::vector<IssuedCard> cards) {
  if (cards.empty()) return true;
  std::uint64_t dropped_since_log = 0;
  std::uint64_t dropped_total = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && cards_.size() + feedback_items_ + cards.size() <= options_.queue_capacity) {
      const bool was_empty = cards_.empty();
      for (IssuedCard& card : cards) cards_.push_back(std::move(card));
      // Group commit: the writer is woken by the first card (it then lingers
      // for flush_interval) or a full batch, not once per call.
      if (was_empty || cards_.size() >= options_.batch_size) wake_.notify_one();
      return true;
    }
    dropped_cards_ += cards.size();
    // Rate-limited: under a dead database this would otherwise be a line per call.
    const auto now = SteadyClock::now();
    if (now - last_drop_log_ < kDropLogInterval) return false;
    last_drop_log_ = now;
    dropped_total = dropped_cards_.load();
    dropped_since_log = dropped_total - dropped_at_last_log_;
    dropped_at_last_log_ = dropped_total;
  }
  Log("warn", "store_queue_full",
      {{"droppedCards", std::to_string(dropped_since_log)},
       {"droppedCardsTotal", std::to_string(dropped_total)},
       {"capacity", std::to_string(options_.queue_capacity)}});
  return false;
}

void StoreWriter::SubmitFeedback(std::vector<FeedbackRecord> items,
                                 std::function<void(Result<std::vector<FeedbackStored>>)> done) {
  const std::size_t count = items.size();
  auto answer = std::make_shared<Answer>();
  answer->items = count;
  answer->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && up_.load() &&
        cards_.size() + feedback_items_ + count <= options_.queue_capacity) {
      feedback_items_ += count;
      feedback_.push_back(FeedbackJob{std::move(items), answer});
      if (watchdog_.joinable()) {
        deadlines_.emplace(SteadyClock::now() + options_.feedback_deadline, answer);
        watch_wake_.notify_one();
      }
      wake_.notify_one();
      return;
    }
  }
  Give(*answer, Error{ErrorCode::kUnavailable, up_.load() ? "the feedback store queue is full"
                                                          : "the feedback store is unavailable"});
}

StoreWriterStats StoreWriter::stats() const {
  StoreWriterStats stats;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats.queued = cards_.size() + feedback_items_ + in_flight_;
  }
  stats.capacity = options_.queue_capacity;
  stats.written_cards = written_cards_.load();
  stats.written_feedback = written_feedback_.load();
  stats.dropped_cards = dropped_cards_.load();
  stats.refused_feedback = refused_feedback_.load();
  stats.write_failures = write_failures_.load();
  stats.purged_rows = purged_rows_.load();
  stats.up = up_.load();
  return stats;
}

void StoreWriter::Log(const char* level, const char* event,
                      const std::vector<std::pair<std::string, std::string>>& fields) const {
  if (options_.log) options_.log(level, event, fields);
}

void StoreWriter::Failed(const Error& error) {
  ++write_failures_;
  if (up_.exchange(false)) {
    Log("error", "store_unavailable", {{"engine", store_->engine()}, {"error", error.message}});
  }
}

void StoreWriter::Succeeded() {
  if (!up_.exchange(true)) {
    Log("info", "store_recovered",
        {{"engine", store_->engine()},
         {"droppedCardsTotal", std::to_string(dropped_cards_.load())},
         {"refusedFeedbackTotal", std::to_string(refused_feedback_.load())}});
  }
}

void StoreWriter::WriteFeedback(FeedbackJob& job) {
  Result<std::vector<FeedbackStored>> stored = store_->RecordFeedback(job.items);
  if (!stored) {
    Failed(stored.error());
    Give(*job.answer, Error{ErrorCode::kUnavailable, "the feedback store is unavailable"});
    return;
  }
  Succeeded();
  written_feedback_ += job.items.size();
  if (options_.on_feedback_stored) {
    for (std::size_t i = 0; i < stored->size() && i < job.items.size(); ++i) {
      if ((*stored)[i].inserted)
        options_.on_feedback_stored((*stored)[i].rule_id, job.items[i].outcome);
    }
  }
  Give(*job.answer, std::move(stored));
}

void StoreWriter::MaybePurge() {
  const auto now = SteadyClock::now();
  if (now < next_purge_) return;
  next_purge_ = now + options_.purge_interval;
  const std::int64_t epoch = options_.clock();
  const std::int64_t before =
      options_.retention_days > 0 ? epoch - options_.retention_days * 86400 : 0;
  Result<std::int64_t> purged = store_->Purge(before, epoch);
  if (!purged) {
    Failed(purged.error());
    next_purge_ = now + std::chrono::seconds(10);
    return;
  }
  Succeeded();
  purged_rows_ += static_cast<std::uint64_t>(*purged);
  if (*purged > 0) {
    Log("info", "store_purged",
        {{"rows", std::to_string(*purged)},
         {"retentionDays", std::to_string(options_.retention_days)}});
  }
}

void StoreWriter::Run() {
  std::chrono::milliseconds backoff = options_.retry_min;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const bool down = !up_.load();
    wake_.wait_for(lock, down ? backoff : std::chrono::milliseconds(1000), [this] {
      return stopping_ || !feedback_.empty() || (up_.load() && !cards_.empty());
    });
    if (up_.load() && !stopping_ && feedback_.empty() && !cards_.empty() &&
        cards_.size() < options_.batch_size) {
      // Linger so that the cards of many calls share one transaction (and one
      // fsync): a commit per service call would cost more than the call.
      wake_.wait_for(lock, options_.flush_interval, [this] {
        return stopping_ || !feedback_.empty() || cards_.size() >= options_.batch_size;
      });
    }
    if (stopping_ &&
        ((cards_.empty() && feedback_.empty()) || SteadyClock::now() >= stop_deadline_)) {
      break;
    }
    // Feedback first: an EHR is waiting for its answer. Unless a single batch
    // of cards is pending: those go first, so feedback for a card this replica
    // just issued is joined to its rule (in the metrics too).
    const bool cards_first = up_.load() && !cards_.empty() && cards_.size() <= options_.batch_size;
    if (!feedback_.empty() && !cards_first) {
      FeedbackJob job = std::move(feedback_.front());
      feedback_.pop_front();
      feedback_items_ -= job.items.size();
      in_flight_ = job.items.size();
      lock.unlock();
      WriteFeedback(job);
      lock.lock();
      in_flight_ = 0;
      continue;
    }
    if (!cards_.empty()) {
      const std::size_t take = std::min(cards_.size(), options_.batch_size);
      std::vector<IssuedCard> batch(
          std::make_move_iterator(cards_.begin()),
          std::make_move_iterator(cards_.begin() + static_cast<std::ptrdiff_t>(take)));
      cards_.erase(cards_.begin(), cards_.begin() + static_cast<std::ptrdiff_t>(take));
      in_flight_ = take;
      lock.unlock();
      const Status written = store_->RecordIssued(batch);
      lock.lock();
      in_flight_ = 0;
      if (written) {
        written_cards_ += batch.size();
        lock.unlock();
        Succeeded();
        backoff = options_.retry_min;
        lock.lock();
        continue;
      }
      // Back to the front, in order, to be retried after the backoff.
      cards_.insert(cards_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
      lock.unlock();
      Failed(written.error());
      lock.lock();
      if (stopping_) break;  // no retrying a dead store on the way out
      backoff = std::min(backoff * 2, options_.retry_max);
      continue;
    }
    if (down) {
      // Nothing queued but the store is down: probe it (a purge of expired
      // replay entries is cheap), so feedback is accepted again once it is back.
      lock.unlock();
      next_purge_ = {};
      MaybePurge();
      if (!up_.load()) backoff = std::min(backoff * 2, options_.retry_max);
      lock.lock();
      continue;
    }
    lock.unlock();
    MaybePurge();
    lock.lock();
  }
  // Whatever could not be written in time is lost: count it.
  const std::size_t left = cards_.size();
  dropped_cards_ += left;
  std::deque<FeedbackJob> jobs = std::move(feedback_);
  feedback_.clear();
  feedback_items_ = 0;
  cards_.clear();
  lock.unlock();
  if (left > 0) Log("warn", "store_dropped_at_stop", {{"droppedCards", std::to_string(left)}});
  for (FeedbackJob& job : jobs) {
    Give(*job.answer, Error{ErrorCode::kUnavailable, "the service is stopping"});
  }
}

}  // namespace cds::service::store
