#pragma once

// Logging policy (style §4.2): one JSON object per line on stdout, with time,
// level and event. Log ids, codes and counts only: never patient data (names,
// dates of birth, values, patient ids) and never tokens.
//
// Lines are queued and written to stdout by one background thread (issue
// #12): a stalled or closed log reader never blocks the caller; when the
// bounded queue (4096 lines / 1 MiB) is full, lines are dropped and counted.
//
// Thread-safety: LogEvent may be called from any thread; lines never interleave.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cds::service {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// {"time":"2026-11-22T15:04:05Z","level":"info","event":"listening",<fields>}
// Lines below the minimum level (SetLogLevel) are dropped.
void LogEvent(std::string_view level, std::string_view event, const LogFields& fields = {});

// Minimum level written: "debug", "info" (the default), "warn" or "error".
// False (and no change) for any other name. Call before serving starts.
bool SetLogLevel(std::string_view level);
// True if a line at `level` would be written.
bool LogEnabled(std::string_view level);

// Log lines dropped so far because the queue was full (the reader stalled).
std::uint64_t LogLinesDropped();

// Waits up to `timeout` for the queued lines to be written (before exit).
void FlushLogs(std::chrono::milliseconds timeout);

// A duration for a log field: milliseconds with one decimal ("12.3"), the
// form every "...Ms" field takes.
std::string LogMs(double ms);

// A short id that ties an error response to its log line, e.g. "c-5f3a9e01-000007".
std::string NewCorrelationId();

}  // namespace cds::service
