#include "cards/id_source.h"

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
  unsigned long long hi, lo;
  {
    std::lock_guard<std::mutex> lock(mutex);
    hi = engine();
    lo = engine();
  }
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
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
