// libFuzzer target (issue #12): the raw HTTP request path. The bytes are fed
// to the HttpRequestParser (service/http/http_request_parser.h) the way the server
// does, split at a point taken from the input (framing split across reads),
// with small limits so the limit paths are reached; pipelined requests are
// parsed one after the other. Any crash, leak, UB, exception escaping, or a
// request that breaks the parser's own invariants is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "service/http/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t split = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  cds::service::HttpParserLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_headers = 20;
  limits.max_body_bytes = 4096;
  cds::service::HttpRequestParser parser(limits);
  for (int request = 0; request < 64 && !input.empty(); ++request) {
    std::size_t used = 0;
    // Two reads: up to `split` bytes, then the rest.
    for (const std::string_view part :
         {input.substr(0, split), input.substr(std::min(split, input.size()))}) {
      if (parser.state() == cds::service::HttpRequestParser::State::kComplete ||
          parser.state() == cds::service::HttpRequestParser::State::kError) {
        break;
      }
      const std::size_t n = parser.Feed(part);
      if (n > part.size()) std::abort();
      used += n;
      if (n < part.size()) break;
    }
    using State = cds::service::HttpRequestParser::State;
    if (parser.state() == State::kError) {
      const int status = parser.error_status();
      if (status != 400 && status != 413 && status != 431 && status != 501 && status != 505) {
        std::abort();
      }
      return 0;  // the server closes the connection here
    }
    if (parser.state() != State::kComplete) return 0;  // waits for more bytes
    if (parser.request().body.size() > limits.max_body_bytes) std::abort();
    if (parser.request().path.empty() || parser.request().path[0] != '/') std::abort();
    if (used == 0) std::abort();  // a complete request consumed bytes
    input.remove_prefix(used);
    parser.Reset();
  }
  return 0;
}
