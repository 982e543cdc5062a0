#include "cards/id_source.h"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace cds::cards {
namespace {

// 128 bits from OpenSSL's CSPRNG. RFC 9562 section 6.9: the random bits of
// a uuid SHOULD come from a cryptographically secure generator, so that ids
// seen by one client do not tell it the ids issued to others (a seeded
// mt19937_64, used before, gives its whole state away after 312 outputs).
struct RandomBits {
  unsigned long long sequence_start = 0;
  unsigned long long tail = 0;
};

RandomBits SecureRandomBits() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Not a weaker id: the request fails (500 with a correlation id).
    throw std::runtime_error("no random bytes for a card uuid (OpenSSL RAND_bytes failed)");
  }
  RandomBits bits;
  std::memcpy(&bits.sequence_start, bytes, 8);
  std::memcpy(&bits.tail, bytes + 8, 8);
  return bits;
}

}  // namespace

std::string RandomIdSource::NewUuid() {
  static std::mutex mutex;
  // The last timestamp and the 12-bit sequence in rand_a (RFC 9562 section
  // 6.2, method 1): within one millisecond, or when the clock steps back, the
  // sequence counts up; when it runs out, the timestamp moves on by one.
  static unsigned long long last_ms = 0;
  static unsigned long long sequence = 0;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto now_ms = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  // Drawn before the lock: RAND_bytes may throw, and the state below is
  // then left as it was.
  const RandomBits bits = SecureRandomBits();
  unsigned long long ms, seq;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (now_ms > last_ms) {
      last_ms = now_ms;
      sequence = (bits.sequence_start >> 52) & 0x7FFULL;  // a random start, leaving room to count
    } else if (++sequence > 0xFFFULL) {
      ++last_ms;
      sequence = 0;
    }
    ms = last_ms;
    seq = sequence;
  }
  const unsigned long long hi = ((ms & 0xFFFFFFFFFFFFULL) << 16) | 0x7000ULL | seq;  // version 7
  const unsigned long long lo =
      (bits.tail & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant
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
