#include "tests/support/http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace cds::testing {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, RemainingMs(deadline)) == 1;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool ParseHead(const std::string& head, HttpTestResponse& response) {
  const std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return false;
  response.status = std::atoi(status_line.substr(9, 3).c_str());
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(pos, end - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  return true;
}

}  // namespace

std::uint16_t FindFreePort() {
  Socket socket;
  sockaddr_in address = Loopback(0);
  if (::bind(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return 0;
  socklen_t length = sizeof(address);
  if (::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return ntohs(address.sin_port);
}

std::string FormatRequest(const std::string& method, const std::string& path,
                          const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    raw += name + ": " + value + "\r\n";
    if (Lower(name) == "content-length") has_length = true;
  }
  if (!has_length && (method == "POST" || !body.empty())) {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  return raw;
}

HttpTestResponse SendRaw(std::uint16_t port, const std::string& raw,
                         std::chrono::milliseconds timeout) {
  HttpTestResponse response;
  const Clock::time_point deadline = Clock::now() + timeout;
  Socket socket;
  if (socket.fd() < 0) {
    response.error = "socket() failed";
    return response;
  }
  sockaddr_in address = Loopback(port);
  if (::connect(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    response.error = std::string("connect: ") + std::strerror(errno);
    return response;
  }
  std::size_t sent = 0;
  while (sent < raw.size()) {
    if (!WaitFor(socket.fd(), POLLOUT, deadline)) {
      response.error = "timed out sending";
      return response;
    }
    const ssize_t n = ::send(socket.fd(), raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading everything
    sent += static_cast<std::size_t>(n);
  }

  std::string data;
  std::size_t header_end = std::string::npos;
  std::size_t content_length = std::string::npos;
  char buffer[16384];
  for (;;) {
    if (header_end != std::string::npos && content_length != std::string::npos &&
        data.size() >= header_end + 4 + content_length) {
      break;
    }
    if (!WaitFor(socket.fd(), POLLIN, deadline)) {
      response.error = "timed out reading";
      break;
    }
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;  // EOF (Connection: close) or reset
    data.append(buffer, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        HttpTestResponse head;
        if (ParseHead(data.substr(0, header_end), head)) {
          const auto it = head.headers.find("content-length");
          if (it != head.headers.end()) {
            content_length =
                static_cast<std::size_t>(std::strtoull(it->second.c_str(), nullptr, 10));
          }
        }
      }
    }
  }
  if (header_end == std::string::npos) {
    if (response.error.empty()) response.error = "no complete response head";
    return response;
  }
  if (!ParseHead(data.substr(0, header_end), response)) {
    response.error = "malformed status line";
    return response;
  }
  response.body = data.substr(header_end + 4);
  if (content_length != std::string::npos && response.body.size() > content_length) {
    response.body.resize(content_length);
  }
  return response;
}

}  // namespace cds::testing
