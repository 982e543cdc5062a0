#include "service/app/allocator_tuning.h"

#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>

namespace cds::service {

void TuneAllocator() {
#if defined(__GLIBC__)
  constexpr int kMmapThresholdBytes = 256 * 1024;
  constexpr int kMaxArenas = 2;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  }
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, kMaxArenas);
#endif
}

void TuneAllocatorForThreads(std::size_t busy_threads) {
#if defined(__GLIBC__)
  constexpr std::size_t kMaxArenas = 64;  // the config allows 256 threads
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::min(busy_threads + 2, kMaxArenas)));
  }
#else
  static_cast<void>(busy_threads);
#endif
}

}  // namespace cds::service
