// HttpRequestParser (service/http/http_request_parser.h).
#include "service/http/http_request_parser.h"

#include <algorithm>
#include <utility>

namespace cds::service {
namespace {

constexpr std::string_view kCrlfCrlf = "\r\n\r\n";
// A chunk-size line: up to 16 hex digits plus chunk extensions.
constexpr std::size_t kMaxChunkLine = 4096;
constexpr std::size_t kMaxChunkDigits = 16;

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTchar);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool HttpRequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  keep_alive_ = false;
  return false;
}

void HttpRequestParser::Reset() {
  const HttpParserLimits limits = limits_;
  *this = HttpRequestParser(limits);
}

std::size_t HttpRequestParser::Feed(std::string_view data) {
  std::size_t consumed = 0;
  while (consumed < data.size() && (state_ == State::kHead || state_ == State::kBody)) {
    const std::string_view rest = data.substr(consumed);
    const std::size_t n = state_ == State::kHead ? FeedHead(rest) : FeedBody(rest);
    if (n == 0) break;
    consumed += n;
  }
  return consumed;
}

std::size_t HttpRequestParser::FeedHead(std::string_view data) {
  std::size_t skipped = 0;
  // RFC 9112 §2.2: empty lines before the request line are ignored.
  while (head_.empty() && data.size() >= 2 && data.substr(0, 2) == "\r\n") {
    data.remove_prefix(2);
    skipped += 2;
  }
  if (data.empty()) return skipped;
  started_ = true;
  const std::size_t before = head_.size();
  const std::size_t room = limits_.max_header_bytes + kCrlfCrlf.size() - before;
  const std::size_t take = std::min(room, data.size());
  head_.append(data.substr(0, take));
  const std::size_t from = before >= 3 ? before - 3 : 0;
  const std::size_t end = head_.find(kCrlfCrlf, from);
  if (end == std::string::npos) {
    if (head_.size() >= limits_.max_header_bytes + kCrlfCrlf.size()) {
      Fail(431,
           "request head is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
    }
    return skipped + take;
  }
  const std::size_t used = end + kCrlfCrlf.size() - before;
  head_.resize(end);
  if (ParseHead()) FinishHead();
  return skipped + used;
}

bool HttpRequestParser::ParseHead() {
  std::string_view rest = head_;
  bool first = true;
  while (true) {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    if (line.find_first_of("\r\n") != std::string_view::npos) {
      return Fail(400, "bare CR or LF in the request head");
    }
    if (first ? !ParseRequestLine(line) : !ParseField(line)) return false;
    first = false;
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }
  return true;
}

bool HttpRequestParser::ParseRequestLine(std::string_view line) {
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed request method");
  if (target.empty() || target.front() != '/') {
    return Fail(400, "the request target must be a path (origin-form)");
  }
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return Fail(400, "invalid character in the request target");
  }
  if (version == "HTTP/1.1") {
    http10_ = false;
  } else if (version == "HTTP/1.0") {
    http10_ = true;
    keep_alive_ = false;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') {
    return Fail(505, "only HTTP/1.1 and HTTP/1.0 are supported");
  } else {
    return Fail(400, "malformed HTTP version");
  }
  request_.method = std::string(method);
  const std::size_t question = target.find('?');
  request_.path = std::string(target.substr(0, question));
  request_.query =
      question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  return true;
}

bool HttpRequestParser::ParseField(std::string_view line) {
  if (++fields_ > limits_.max_headers) {
    return Fail(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
  }
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    return Fail(400, "obsolete header line folding");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Fail(400, "malformed header field");
  }
  const std::string_view value = TrimOws(line.substr(colon + 1));
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return Fail(400, "control character in a header value");
    }
  }
  std::string name = Lower(line.substr(0, colon));
  auto& headers = request_.headers;
  const auto existing = headers.find(name);
  if (existing != headers.end()) {
    // Two framing or routing fields may be read differently by a proxy in
    // front (request smuggling): refuse rather than pick one.
    if (name == "content-length" || name == "transfer-encoding" || name == "host") {
      return Fail(400, "more than one '" + name + "' header field");
    }
    existing->second += ", ";
    existing->second += value;
  } else {
    headers.emplace(std::move(name), std::string(value));
  }
  return true;
}

bool HttpRequestParser::FinishHead() {
  const auto& headers = request_.headers;
  const auto length = headers.find("content-length");
  const auto coding = headers.find("transfer-encoding");
  if (coding != headers.end()) {
    if (length != headers.end()) {
      return Fail(400, "both Content-Length and Transfer-Encoding");
    }
    if (http10_) return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (Lower(coding->second) != "chunked") {
      return Fail(501, "only the chunked transfer coding is supported");
    }
    body_mode_ = BodyMode::kChunked;
  } else if (length != headers.end()) {
    const std::string& text = length->second;
    if (text.empty() || text.size() > 19 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(400, "malformed Content-Length");
    }
    remaining_ = std::stoull(text);
    if (remaining_ > limits_.max_body_bytes) {
      return Fail(
          413, "request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
    }
    body_mode_ = remaining_ == 0 ? BodyMode::kNone : BodyMode::kLength;
  }
  if (const auto connection = headers.find("connection"); connection != headers.end()) {
    std::string_view options = connection->second;
    while (!options.empty()) {
      const std::size_t comma = options.find(',');
      const std::string option = Lower(TrimOws(options.substr(0, comma)));
      if (option == "close") keep_alive_ = false;
      if (option == "keep-alive" && http10_) keep_alive_ = true;
      options = comma == std::string_view::npos ? "" : options.substr(comma + 1);
    }
  }
  if (const auto expect = headers.find("expect"); expect != headers.end()) {
    expects_continue_ = body_mode_ != BodyMode::kNone && Lower(expect->second) == "100-continue";
  }
  state_ = body_mode_ == BodyMode::kNone ? State::kComplete : State::kBody;
  if (body_mode_ == BodyMode::kLength) {
    request_.body.reserve(static_cast<std::size_t>(remaining_) + kBodySlack);
  }
  return true;
}

std::size_t HttpRequestParser::FeedLine(std::string_view data, std::size_t limit) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (!line_.empty() && line_.back() == '\r') {
      if (c != '\n') {
        Fail(400, "bare CR in the chunked framing");
        return i + 1;
      }
      line_.pop_back();
      line_done_ = true;
      return i + 1;
    }
    if (c == '\n') {
      Fail(400, "bare LF in the chunked framing");
      return i + 1;
    }
    line_.push_back(c);
    if (line_.size() > limit + 1) {  // + 1: the CR
      Fail(chunk_phase_ == ChunkPhase::kTrailer ? 431 : 400, "chunked framing line too long");
      return i + 1;
    }
  }
  return data.size();
}

bool HttpRequestParser::ParseChunkSize(std::string_view line) {
  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line.size() && HexValue(line[digits]) >= 0) {
    if (digits == kMaxChunkDigits) return Fail(400, "chunk size too long");
    size = size * 16 + static_cast<std::uint64_t>(HexValue(line[digits]));
    ++digits;
  }
  if (digits == 0) return Fail(400, "malformed chunk size");
  const std::string_view rest = TrimOws(line.substr(digits));
  if (!rest.empty() && rest.front() != ';') return Fail(400, "malformed chunk size");
  if (size > limits_.max_body_bytes - request_.body.size()) {
    return Fail(413,
                "request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  remaining_ = size;
  return true;
}

std::size_t HttpRequestParser::FeedBody(std::string_view data) {
  if (body_mode_ == BodyMode::kLength) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
    request_.body.append(data.substr(0, n));
    remaining_ -= n;
    if (remaining_ == 0) state_ = State::kComplete;
    return n;
  }
  std::size_t consumed = 0;
  while (consumed < data.size() && state_ == State::kBody) {
    const std::string_view rest = data.substr(consumed);
    switch (chunk_phase_) {
      case ChunkPhase::kSize: {
        consumed += FeedLine(rest, kMaxChunkLine);
        if (state_ != State::kBody || !line_done_) break;
        line_done_ = false;
        const bool ok = ParseChunkSize(line_);
        line_.clear();
        if (!ok) break;
        chunk_phase_ = remaining_ == 0 ? ChunkPhase::kTrailer : ChunkPhase::kData;
        break;
      }
      case ChunkPhase::kData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        request_.body.append(rest.substr(0, n));
        remaining_ -= n;
        consumed += n;
        if (remaining_ == 0) chunk_phase_ = ChunkPhase::kDataEnd;
        break;
      }
      case ChunkPhase::kDataEnd: {
        consumed += FeedLine(rest, 0);
        if (state_ != State::kBody || !line_done_) break;
        line_done_ = false;
        if (!line_.empty()) {
          Fail(400, "chunk data longer than its size");
          break;
        }
        chunk_phase_ = ChunkPhase::kSize;
        break;
      }
      case ChunkPhase::kTrailer: {
        const std::size_t room = limits_.max_header_bytes > trailer_bytes_
                                     ? limits_.max_header_bytes - trailer_bytes_
                                     : 0;
        consumed += FeedLine(rest, room);
        if (state_ != State::kBody || !line_done_) break;
        line_done_ = false;
        if (line_.empty()) {
          state_ = State::kComplete;  // trailer fields are read and dropped
          break;
        }
        trailer_bytes_ += line_.size() + 2;
        if (++fields_ > limits_.max_headers) {
          Fail(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
          break;
        }
        const std::size_t colon = line_.find(':');
        if (colon == std::string::npos || !IsToken(std::string_view(line_).substr(0, colon))) {
          Fail(400, "malformed trailer field");
          break;
        }
        line_.clear();
        break;
      }
    }
  }
  return consumed;
}

}  // namespace cds::service
