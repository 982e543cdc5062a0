#include "cards/id_source.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

namespace cds::cards {

std::string RandomIdSource::NewUuid() {
  static std::mutex mutex;
  static std::mt19937_64 engine{[] {
    std::random_device device;
    return (static_cast<unsigned long long>(device()) << 32) ^ device();
  }()};
  // The last timestamp and the 12-bit sequence in rand_a (RFC 9562 section
  // 6.2, method 1): within one millisecond, or when the clock steps back, the
  // sequence counts up; when it runs out, the timestamp moves on by one.
  static unsigned long long last_ms = 0;
  static unsigned long long sequence = 0;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto now_ms = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  unsigned long long ms, seq, random;
  {
    std::lock_guard<std::mutex> lock(mutex);
    random = engine();
    if (now_ms > last_ms) {
      last_ms = now_ms;
      sequence = (random >> 52) & 0x7FFULL;  // a random start, leaving room to count
    } else if (++sequence > 0xFFFULL) {
      ++last_ms;
      sequence = 0;
    }
    ms = last_ms;
    seq = sequence;
    random = engine();
  }
  const unsigned long long hi = ((ms & 0xFFFFFFFFFFFFULL) << 16) | 0x7000ULL | seq;  // version 7
  const unsigned long long lo =
      (random & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", hi >> 32,
                (hi >> 16) & 0xFFFFULL, hi & 0xFFFFULL, lo >> 48, lo & 0xFFFFFFFFFFFFULL);
  return buf;
}

std::string SequentialIdSource::NewUuid() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx", next_++);
  return buf;
}

}  // namespace cds::cards
