// Process-wide heap set-up for the data commands: one malloc arena that
// keeps what it frees, on transparent huge pages.
#pragma once

#include <cstddef>

namespace mt {

// Call once, early in main(), before threads start. Sets malloc up so that
//  - row-group buffers (a few MB each, freed and allocated again for every
//    batch) stay in the heap instead of going back to the kernel, so the
//    next batch does not page-fault them in again;
//  - every thread allocates from one arena: row groups are filled on one
//    pool thread and freed on another, and an arena per thread would keep
//    freed buffers per thread (trades, 2 threads: 290 MB peak RSS with two
//    arenas, 207 MB with one); we allocate per block and per row group, not
//    per row, so the shared lock costs nothing measurable;
//  - the heap grows in steps of `reserve_bytes` of address space, and that
//    range is marked for transparent huge pages (madvise MADV_HUGEPAGE).
//    A convert touches 100-200 MB of fresh memory; with 4 KiB pages that is
//    tens of thousands of page faults, and on virtual machines where each
//    kernel entry flushes the TLB they cost a third of the run (measured in
//    bench/README.md). A huge page is one fault per 2 MiB. Only the pages
//    touched become resident, as before.
// Where the kernel offers no huge pages (THP "never"), or the heap cannot
// grow in place, this is advice that changes nothing. Where the address
// space cannot hold the reservation (ulimit -v), malloc keeps its default
// growth and a debug line says so.
void SetUpHeap(size_t reserve_bytes = size_t{512} << 20);

// Gives the heap's free pages back to the kernel (malloc_trim): for a
// command past a phase whose memory it will not allocate again.
void ReturnFreeHeap();

// Whether the heap's range from SetUpHeap() is marked for huge pages (for
// tests and --version-style diagnostics).
bool HeapUsesHugePages();

}  // namespace mt
