#pragma once

// A client that streams a large request body to 127.0.0.1 while reading the
// response, the way curl does: it stops sending as soon as a response arrives
// or the server closes, so a server that answers 413 early is seen doing so.
// Every wait has a deadline (no test can hang).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cds::testing {

struct StreamingResult {
  int status = 0;             // 0 if no status line was read
  std::string response;       // what was read (head and any body)
  std::size_t body_sent = 0;  // body bytes the kernel accepted from us
  bool send_failed = false;   // the server reset or closed while we were sending
  std::string error;          // client-side problem, "" if none
};

// Sends `head` (request line and headers, ending in "\r\n\r\n"), then
// `body_bytes` bytes of ' ' — as is, or with `chunked` as chunks of
// `chunk_bytes` followed by the last-chunk — and reads the response.
StreamingResult SendStreaming(std::uint16_t port, const std::string& head, std::size_t body_bytes,
                              bool chunked = false, std::size_t chunk_bytes = 64 * 1024,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace cds::testing
