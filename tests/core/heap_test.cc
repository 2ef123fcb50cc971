#include "core/heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace mt {
namespace {

// Under ASan the sanitizer's allocator serves malloc, not glibc's heap.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedMalloc = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitizedMalloc = true;
#else
constexpr bool kSanitizedMalloc = false;
#endif
#else
constexpr bool kSanitizedMalloc = false;
#endif

std::string ThpMode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  return line;
}

// The /proc/self/maps line of the mapping that holds address p.
std::string MapsLineOf(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi) return line;
  }
  return "";
}

// The VmFlags of the mapping that holds address p, from /proc/self/smaps.
std::string VmFlagsOf(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') != std::string::npos &&
        line.find('-') < line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(HeapTest, RowGroupSizedBlocksLandOnHugePageMemory) {
  if (kSanitizedMalloc) GTEST_SKIP() << "malloc is the sanitizer's here";
  const std::string mode = ThpMode();
  if (mode.empty() || mode.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off on this machine: '" << mode << "'";
  }
  SetUpHeap();
  ASSERT_TRUE(HeapUsesHugePages());
  // A column buffer of a row group: 8 MB, below the mmap threshold, so from
  // the heap range that SetUpHeap() marked.
  const size_t n = 8u << 20;
  char* p = static_cast<char*>(std::malloc(n));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, n);
  const std::string flags = VmFlagsOf(p + n / 2);
  EXPECT_NE(flags.find(" hg"), std::string::npos) << "mapping of the block: " << flags;
  std::free(p);
}

TEST(HeapTest, LargeBlocksComeFromTheHeapNotFromTheirOwnMapping) {
  if (kSanitizedMalloc) GTEST_SKIP() << "malloc is the sanitizer's here";
  SetUpHeap();
  // glibc maps blocks of 128 KiB and more on their own by default and unmaps
  // them on free, so every row group would fault its buffers in afresh.
  // After SetUpHeap() they are carved from the heap, which keeps them.
  const size_t n = 16u << 20;
  void* a = std::malloc(n);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(MapsLineOf(a).find("[heap]"), std::string::npos) << MapsLineOf(a);
  std::free(a);
}

}  // namespace
}  // namespace mt
