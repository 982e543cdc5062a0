#pragma once

// HttpRequestParser: a strict, incremental HTTP/1.1 request parser with size
// limits (issue #12). It is the only code that decides where a request starts
// and ends on the public socket, so that no byte sequence a client sends can
// make the process allocate without bound, abort, or read two requests where
// a proxy in front read one (request smuggling). It does no I/O: the server
// (service/http/http_adapter.cc) feeds it bytes as they arrive, and the fuzz target
// tests/fuzz/fuzz_http_request.cc feeds it anything.
//
// What it accepts (RFC 9110/9112, strict where the RFC allows a choice):
// - request line "METHOD SP origin-form SP HTTP/1.1|HTTP/1.0" CRLF; the method
//   a token, the target starting with '/' and holding only visible ASCII;
// - header fields "name: value" CRLF with a token name (no space before the
//   colon), no obsolete line folding, no control characters but HTAB in the
//   value; lines end in CRLF (a bare CR or LF is an error);
// - a body by Content-Length (digits only, one header) or by
//   "Transfer-Encoding: chunked" (alone; both together is an error), chunk
//   sizes of at most 16 hex digits, chunk extensions and trailers skipped
//   within the header limits.
// Errors carry the status to answer with before closing the connection:
// 400 malformed, 413 body over the limit, 431 head over the limits, 501 a
// transfer coding other than chunked, 505 another HTTP version.
//
// Thread-safety: none (one parser per connection).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "service/http/http_types.h"

namespace cds::service {

struct HttpParserLimits {
  std::size_t max_header_bytes = 32 * 1024;  // request line + header fields (+ trailers)
  std::size_t max_headers = 100;             // header fields (+ trailer fields)
  std::size_t max_body_bytes = 1024 * 1024;  // decoded body
};

class HttpRequestParser {
 public:
  enum class State { kHead, kBody, kComplete, kError };

  explicit HttpRequestParser(HttpParserLimits limits) : limits_(limits) {}

  // Spare capacity reserved after a Content-Length body: room for an
  // in-place JSON parse's padding (JsonDocument::kInsituPadding), so the hook
  // handler parses the body where it was read instead of in a copy.
  static constexpr std::size_t kBodySlack = 16;

  // Consumes bytes of `data` (all of it, or up to the end of one request once
  // it completes, or up to the error); returns how many. Bytes after a
  // complete request belong to the next one (pipelining): feed them to the
  // parser after Reset().
  std::size_t Feed(std::string_view data);

  // Starts the next request on the same connection.
  void Reset();

  State state() const { return state_; }
  bool started() const { return started_; }  // a byte of this request was seen
  bool head_complete() const { return state_ == State::kBody || state_ == State::kComplete; }

  // Valid once the head is complete: method, path, query and headers (lower-
  // case names; repeated fields joined with ", "). `body` once complete.
  const HttpRequestView& request() const { return request_; }
  HttpRequestView TakeRequest() { return std::move(request_); }

  // The connection stays open after the response (HTTP/1.1 without
  // "Connection: close", or HTTP/1.0 with "Connection: keep-alive").
  bool keep_alive() const { return keep_alive_; }
  // "Expect: 100-continue" with a body still to come.
  bool expects_continue() const { return expects_continue_; }

  // For kError: the status to answer with and why (no request data in it).
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  enum class BodyMode { kNone, kLength, kChunked };
  enum class ChunkPhase { kSize, kData, kDataEnd, kTrailer };

  std::size_t FeedHead(std::string_view data);
  std::size_t FeedBody(std::string_view data);
  bool ParseHead();  // head_ holds request line + fields, without the final CRLF CRLF
  bool ParseRequestLine(std::string_view line);
  bool ParseField(std::string_view line);
  bool FinishHead();
  bool ParseChunkSize(std::string_view line);
  // Reads one CRLF-terminated line of the chunked framing into line_;
  // returns bytes consumed; sets line_done_ when the line is complete.
  std::size_t FeedLine(std::string_view data, std::size_t limit);
  bool Fail(int status, std::string message);

  HttpParserLimits limits_;
  State state_ = State::kHead;
  bool started_ = false;
  std::string head_;
  HttpRequestView request_;
  std::size_t fields_ = 0;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  bool http10_ = false;
  BodyMode body_mode_ = BodyMode::kNone;
  std::uint64_t remaining_ = 0;  // bytes of the body (or chunk) still to read
  ChunkPhase chunk_phase_ = ChunkPhase::kSize;
  std::string line_;
  bool line_done_ = false;
  std::size_t trailer_bytes_ = 0;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace cds::service
