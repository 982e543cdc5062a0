#include "tests/support/streaming_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cds::testing {
namespace {

// A whole response: the head and Content-Length bytes of body.
bool ResponseComplete(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = response.substr(0, end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t at = head.find("\r\ncontent-length:");
  if (at == std::string::npos) return false;
  const std::size_t length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
  return response.size() >= end + 4 + length;
}

}  // namespace

StreamingResult SendStreaming(std::uint16_t port, const std::string& head, std::size_t body_bytes,
                              bool chunked, std::size_t chunk_bytes,
                              std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  StreamingResult result;
  const Clock::time_point deadline = Clock::now() + timeout;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = "socket() failed";
    return result;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    result.error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return result;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  // The wire bytes are produced lazily: head, then body (with chunk framing).
  std::string pending = head;
  std::size_t body_left = body_bytes;
  bool finished_sending = false;
  const std::string filler(chunk_bytes, ' ');
  auto refill = [&] {
    if (!pending.empty() || finished_sending) return;
    if (body_left == 0) {
      if (chunked) pending = "0\r\n\r\n";
      finished_sending = true;
      return;
    }
    const std::size_t n = body_left < chunk_bytes ? body_left : chunk_bytes;
    body_left -= n;
    if (chunked) {
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", n);
      pending = size + filler.substr(0, n) + "\r\n";
    } else {
      pending = filler.substr(0, n);
    }
  };

  std::size_t head_left = head.size();
  bool sending = true;
  char buffer[16384];
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) {
      result.error = "timed out";
      break;
    }
    refill();
    if (pending.empty()) sending = false;
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    if (::poll(&p, 1, wait_ms) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        result.response.append(buffer, static_cast<std::size_t>(n));
        sending = false;  // the server has answered: stop sending, as curl does
        if (ResponseComplete(result.response)) break;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) break;  // closed or reset
    }
    if (sending && (p.revents & POLLOUT)) {
      const ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
        result.send_failed = true;
        sending = false;
        continue;  // read whatever answer is still there
      }
      const std::size_t sent = static_cast<std::size_t>(n);
      const std::size_t from_head = sent < head_left ? sent : head_left;
      head_left -= from_head;
      result.body_sent += sent - from_head;  // chunk framing included when chunked
      pending.erase(0, sent);
    }
  }
  ::close(fd);
  if (result.response.rfind("HTTP/1.", 0) == 0 && result.response.size() > 12) {
    result.status = std::atoi(result.response.c_str() + 9);
  }
  return result;
}

}  // namespace cds::testing
