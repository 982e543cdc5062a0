#pragma once

// Graceful shutdown (issue #8) for `magcds serve`, after SIGTERM or SIGINT:
//   1. a watchdog thread is armed: at grace + kWatchdogSlack it logs
//      "shutdown_timeout" and ends the process with _exit(0), whatever is
//      still hanging (cpprestsdk's close() is known to, #1485);
//   2. the DrainGate starts draining: new CDS requests get 503 with
//      Connection: close, /readyz turns 503 (a load balancer stops sending);
//   3. it waits until the requests in flight have answered, or the grace
//      period is over; then those still running are answered 503 at once
//      (DrainGate::AbortAll; "grace_period_expired" says how many); either
//      way the queued replies get kReplyFlush to reach their clients;
//   4. each listener is closed (HttpServer::Stop, itself bounded); if one
//      will not close, the process leaves at once with _exit(0).
// The process therefore exits 0 within grace + kWatchdogSlack at the latest.

#include <chrono>
#include <functional>
#include <vector>

#include "service/ops/drain_gate.h"

namespace cds::service {

inline constexpr std::chrono::milliseconds kWatchdogSlack{800};
// Time given to replies already queued to reach their clients before the
// listeners close (cpprestsdk writes them asynchronously).
inline constexpr std::chrono::milliseconds kReplyFlush{150};

// Closes one listener; false if it did not close in time (HttpServer::Stop).
using StopListener = std::function<bool()>;

// Returns when every listener is closed; the caller then returns 0 from main.
// May instead end the process with _exit(0) (steps 1 and 4).
void GracefulShutdown(DrainGate& gate, const std::vector<StopListener>& listeners,
                      std::chrono::milliseconds grace);

}  // namespace cds::service
