#include "service/ops/graceful_shutdown.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "service/log/log.h"

namespace cds::service {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string MsSince(SteadyClock::time_point start) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count());
}

}  // namespace

void GracefulShutdown(DrainGate& gate, const std::vector<StopListener>& listeners,
                      std::chrono::milliseconds grace) {
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point deadline = start + grace;

  std::thread([start, limit = deadline + kWatchdogSlack] {
    std::this_thread::sleep_until(limit);
    LogEvent("error", "shutdown_timeout", {{"ms", MsSince(start)}});
    std::fflush(stdout);
    ::_exit(0);
  }).detach();

  gate.StartDraining();
  LogEvent(
      "info", "draining",
      {{"inFlight", std::to_string(gate.in_flight())}, {"graceMs", std::to_string(grace.count())}});
  if (gate.WaitIdle(deadline)) {
    LogEvent("info", "drained", {{"ms", MsSince(start)}});
    // The last replies are queued, not necessarily written: closing the
    // listener now would cut them off.
    std::this_thread::sleep_for(kReplyFlush);
  } else {
    // Answer the stragglers with 503 rather than cutting their connections,
    // and give those answers a moment to leave before the listener closes.
    const std::size_t aborted = gate.AbortAll();
    LogEvent("warn", "grace_period_expired",
             {{"aborted", std::to_string(aborted)}, {"ms", MsSince(start)}});
    std::this_thread::sleep_for(kReplyFlush);
  }
  for (const StopListener& stop : listeners) {
    if (!stop()) {
      // Stop logged listener_close_timeout; do not run destructors that may
      // wait on the abandoned listener.
      LogEvent("warn", "exit_without_cleanup", {{"ms", MsSince(start)}});
      std::fflush(stdout);
      ::_exit(0);
    }
  }
  LogEvent("info", "stopped", {{"ms", MsSince(start)}});
}

}  // namespace cds::service
