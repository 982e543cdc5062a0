#pragma once

// glibc malloc settings for a long-running service that reads bodies of a few
// megabytes (issue #18). Called first thing in main.

#include <cstddef>

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

// Raises the arena cap for a server with `busy_threads` threads allocating
// at once (serve: its I/O threads), before they start. Two arenas shared by
// four I/O threads made their malloc and free wait for each other: 6 futex
// calls per 34 KB request under load, against 1.4 with one arena each
// (issue #18). Arenas: one per busy thread plus two (the main thread and the
// log and store writers). MALLOC_ARENA_MAX in the environment still wins.
void TuneAllocatorForThreads(std::size_t busy_threads);

}  // namespace cds::service
