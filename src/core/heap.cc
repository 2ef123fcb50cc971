#include "core/heap.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/log.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#endif

namespace mt {

namespace {

bool g_huge = false;

// glibc's documented default M_TOP_PAD (mallopt(3)).
constexpr int kDefaultTopPad = 128 * 1024;

#if defined(__GLIBC__)
// The brk heap's address range, from /proc/self/maps.
bool HeapRange(uintptr_t* lo, uintptr_t* hi) {
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (!found && std::fgets(line, sizeof line, f)) {
    if (!std::strstr(line, "[heap]")) continue;
    unsigned long a = 0, b = 0;
    found = std::sscanf(line, "%lx-%lx", &a, &b) == 2 && b > a;
    *lo = a;
    *hi = b;
  }
  std::fclose(f);
  return found;
}
#endif

}  // namespace

void SetUpHeap(size_t reserve_bytes) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_ARENA_MAX, 1);
#if defined(MADV_HUGEPAGE)
  // Grow the heap (brk) once by reserve_bytes: malloc extends it by the
  // request plus M_TOP_PAD and, on free, trims it back to M_TOP_PAD at most,
  // so the range stays part of the heap. Then mark that range; the part of
  // it never touched costs address space only.
  mallopt(M_TOP_PAD, static_cast<int>(reserve_bytes));
  // More than the heap's free top at start-up; volatile, or the pair is elided.
  void* volatile probe = std::malloc(4 << 20);
  if (!probe) {
    // No room for the reservation (an address-space limit, ulimit -v): with
    // the pad in place every later growth of the heap would ask for it again
    // and fail, so go back to malloc's default pad and its normal growth.
    mallopt(M_TOP_PAD, kDefaultTopPad);
    log::Debug("heap: cannot reserve " + std::to_string(reserve_bytes >> 20) +
               " MiB of address space (ulimit -v?); using the normal heap, without huge pages");
    return;
  }
  std::free(probe);
  uintptr_t lo = 0, hi = 0;
  if (!HeapRange(&lo, &hi)) return;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t start = (lo + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = hi & ~(kHuge - 1);
  if (end > start) g_huge = madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE) == 0;
#endif
#else
  (void)reserve_bytes;
#endif
}

void ReturnFreeHeap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

bool HeapUsesHugePages() { return g_huge; }

}  // namespace mt
