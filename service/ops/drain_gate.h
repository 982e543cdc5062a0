#pragma once

// DrainGate: counts CDS requests in flight and, once draining (graceful
// shutdown), turns new ones away so the ones running can finish. Each
// admitted request registers how to cut it short (answer it now with an
// error); AbortAll does that for all still running when the grace period is
// over, so that every client gets an answer before the listener closes.
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace cds::service {

class DrainGate {
 public:
  using Ticket = std::uint64_t;

  // Admits a request unless draining; an admitted request must Leave(ticket).
  // `abort` must answer the request at once (it may be called on any thread,
  // at most once, and not after Leave).
  std::optional<Ticket> Enter(std::function<void()> abort) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_) return std::nullopt;
    const Ticket ticket = ++last_ticket_;
    aborts_.emplace(ticket, std::move(abort));
    return ticket;
  }

  void Leave(Ticket ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    aborts_.erase(ticket);
    if (aborts_.empty()) idle_.notify_all();
  }

  // Cuts short every request still in flight (their abort callbacks run on
  // the calling thread, outside the lock). Returns how many there were.
  std::size_t AbortAll() {
    std::vector<std::function<void()>> aborts;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [ticket, abort] : aborts_) aborts.push_back(abort);
    }
    for (auto& abort : aborts) abort();
    return aborts.size();
  }

  void StartDraining() {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }

  bool draining() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return draining_;
  }

  std::size_t in_flight() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return aborts_.size();
  }

  // Waits until no request is in flight or `deadline` passes; true if idle.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return idle_.wait_until(lock, deadline, [this] { return aborts_.empty(); });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  bool draining_ = false;
  Ticket last_ticket_ = 0;
  std::map<Ticket, std::function<void()>> aborts_;
};

}  // namespace cds::service
