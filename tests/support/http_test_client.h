#pragma once

// A minimal blocking HTTP/1.1 client over raw loopback sockets for the
// listener tests. Every connect, send and receive is bounded by a deadline,
// so a misbehaving server fails the test instead of hanging it.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cds::testing {

struct HttpTestResponse {
  int status = 0;                              // 0 if no response was read
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // what went wrong on the client side, "" if nothing
};

// A free TCP port on 127.0.0.1 (bound to port 0 and released).
std::uint16_t FindFreePort();

// "POST /path HTTP/1.1" with Host, Connection: close, Content-Length (when a
// body is given or `send_length`) and the extra headers.
std::string FormatRequest(const std::string& method, const std::string& path,
                          const std::string& body = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

// Sends `raw` to 127.0.0.1:port and reads one response.
HttpTestResponse SendRaw(std::uint16_t port, const std::string& raw,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace cds::testing
