#pragma once

// LogText: makes a request-supplied string safe to put in a log line or an
// audit record (issue #12). Logs and the audit trail are JSON lines read by
// log agents and SIEMs: a value must be valid UTF-8 (an invalid byte would
// make the whole line unparseable for a strict reader) and short (a 900 KB
// hookInstance copied into every line is a disk and memory attack). JSON
// escaping itself (quotes, control characters) is the JSON writer's job.

#include <cstddef>
#include <string>
#include <string_view>

namespace cds::service {

// Default cap for one logged value, in bytes.
inline constexpr std::size_t kMaxLoggedValueBytes = 256;

// `text` with each invalid UTF-8 sequence replaced by U+FFFD and, when longer
// than `max_bytes`, cut at a character boundary at or below `max_bytes` and
// followed by "...(<original size> bytes)".
std::string LogText(std::string_view text, std::size_t max_bytes = kMaxLoggedValueBytes);

}  // namespace cds::service
