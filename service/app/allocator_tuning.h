#pragma once

// glibc malloc settings for a long-running service that reads bodies of a few
// megabytes (issue #18). Called first thing in main.

namespace cds::service {

// With glibc's defaults a magcds serving big patients (0.3-3 MB bodies) grew
// from 37 to 46 MB resident over five passes over the same 60 bodies and kept
// creeping: a freed multi-megabyte body raises glibc's dynamic mmap threshold,
// so later bodies come from the heap instead of mmap and the heap fragments,
// and every pool thread gets an arena of its own that keeps what it freed.
// This fixes the mmap threshold at 256 KiB (big bodies and DOM stacks are
// mapped and returned at free) and caps the arenas at 2, unless the
// environment sets MALLOC_MMAP_THRESHOLD_ or MALLOC_ARENA_MAX (glibc's own
// tunables, which then win). Measured: peak 28 MB, flat over the passes.
void TuneAllocator();

}  // namespace cds::service
