#include "core/spilled_blobs.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace mt {
namespace {

std::string Blob(size_t i) { return std::string(i % 97, static_cast<char>('a' + i % 26)) + std::to_string(i); }

// Blobs past the memory share go to the temporary file; every one reads
// back as appended, those in the file and those still in memory, from
// several threads at once.
TEST(SpilledBlobs, EveryBlobReadsBackFromTheFileAndFromMemory) {
  SpilledBlobs blobs(4096);
  std::vector<uint64_t> at;
  for (size_t i = 0; i < 5000; i++) at.push_back(blobs.Append(Blob(i)));
  EXPECT_GT(blobs.spilled(), 0u);
  EXPECT_LT(blobs.spilled(), blobs.size());  // the tail is in memory
  EXPECT_EQ(blobs.note(), "");
  std::vector<std::thread> readers;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; t++) {
    readers.emplace_back([&, t] {
      std::string out;
      for (size_t i = t; i < at.size(); i += 4) {
        if (!blobs.Read(at[i], Blob(i).size(), &out) || out != Blob(i)) bad[t]++;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
  EXPECT_TRUE(blobs.status().ok());
}

// Without a temporary file (TMPDIR missing) the blobs stay in memory, and
// the note says why.
TEST(SpilledBlobs, WithoutATemporaryFileTheBlobsStayInMemoryAndSayWhy) {
  testing::ScopedTmpdir tmpdir("/nonexistent-mt-spilled-blobs");
  SpilledBlobs blobs(1024);
  std::vector<uint64_t> at;
  for (size_t i = 0; i < 500; i++) at.push_back(blobs.Append(Blob(i)));
  EXPECT_EQ(blobs.spilled(), 0u);
  EXPECT_EQ(blobs.note(),
            "cannot create a temporary file in /nonexistent-mt-spilled-blobs (No such file or directory; set TMPDIR to "
            "a writable directory with room): kept in memory");
  std::string out;
  for (size_t i = 0; i < at.size(); i++) {
    ASSERT_TRUE(blobs.Read(at[i], Blob(i).size(), &out));
    EXPECT_EQ(out, Blob(i));
  }
}

}  // namespace
}  // namespace mt
