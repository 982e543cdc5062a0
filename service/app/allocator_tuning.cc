#include "service/app/allocator_tuning.h"

#include <malloc.h>

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

}  // namespace cds::service
