// SpillVector: fixed-size records in bounded memory, read back and updated
// in place once they are in the temporary file.
#include "core/spill_vector.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mt {
namespace {

struct Rec {
  int64_t a;
  uint32_t b, c;
};

Rec Make(size_t i) {
  return Rec{static_cast<int64_t>(i) * -7 - 1, static_cast<uint32_t>(i * 3), 0xabc00000u + static_cast<uint32_t>(i)};
}

void ExpectRec(const Rec& got, const Rec& want, size_t i) {
  EXPECT_EQ(got.a, want.a) << i;
  EXPECT_EQ(got.b, want.b) << i;
  EXPECT_EQ(got.c, want.c) << i;
}

size_t OpenDescriptors() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += e.exists() ? 1 : 0;
  return n;
}

// The temporary file's descriptor (unnamed: "(deleted)" or O_TMPFILE's
// "/#NNN (deleted)"), or -1.
int TempFileDescriptor() {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.find("(deleted)") != std::string::npos) return std::stoi(e.path().filename().string());
  }
  return -1;
}

// A budget of 100 records: 10,000 go to the file in flushes of 100 (none
// before the first 100), one more stays in memory; every record reads back,
// in order, backwards and at random, and an update in the file or in memory
// reads back too, also when it falls in the read window already loaded.
TEST(SpillVector, RecordsPastTheBudgetGoToAFileAndReadBackAndUpdateInPlace) {
  const size_t before = OpenDescriptors();
  SpillVector<Rec> v(100 * sizeof(Rec));
  constexpr size_t kN = 10000;
  for (size_t i = 0; i < kN; i++) {
    v.push_back(Make(i));
    if (i == 50) {
      EXPECT_EQ(OpenDescriptors(), before);  // within the budget: no file yet
    }
  }
  EXPECT_EQ(OpenDescriptors(), before + 1);
  ASSERT_EQ(v.size(), kN);
  EXPECT_EQ(v.spilled(), 10000u);  // the 100th record of each batch flushes it
  for (size_t i = 0; i < kN; i++) ExpectRec(v.Get(i), Make(i), i);
  for (size_t i = kN; i-- > 0;) ExpectRec(v.Get(i), Make(i), i);
  for (size_t k = 0; k < 1000; k++) {
    const size_t i = (k * 7919) % kN;
    ExpectRec(v.Get(i), Make(i), i);
  }
  // Updates: one in the loaded read window, one outside it, one in memory.
  v.push_back(Make(kN));
  ASSERT_EQ(v.spilled(), kN);
  ExpectRec(v.Get(5), Make(5), 5);  // loads the window of record 5
  v.Set(6, Make(600006));
  v.Set(9000, Make(900009));
  v.Set(kN, Make(1));
  ExpectRec(v.Get(6), Make(600006), 6);
  ExpectRec(v.Get(9000), Make(900009), 9000);
  ExpectRec(v.Get(kN), Make(1), kN);
  ExpectRec(v.Get(7), Make(7), 7);
  // A range across the file's end and memory, over the loaded window.
  ExpectRec(v.Get(kN - 2), Make(kN - 2), kN - 2);
  const Rec range[3] = {Make(71), Make(72), Make(73)};
  v.SetRange(kN - 2, range, 3);
  ExpectRec(v.Get(kN - 2), Make(71), kN - 2);
  ExpectRec(v.Get(kN - 1), Make(72), kN - 1);
  ExpectRec(v.Get(kN), Make(73), kN);
  ExpectRec(v.Get(kN - 3), Make(kN - 3), kN - 3);
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.note(), "");

  SpillVector<Rec> moved = std::move(v);
  ExpectRec(moved.Get(9000), Make(900009), 9000);
  moved.clear();
  EXPECT_EQ(moved.size(), 0u);
  EXPECT_EQ(OpenDescriptors(), before);  // the file went with clear()
}

// A TMPDIR where no file can be created: the records stay in memory, all
// of them readable, and note() says why.
TEST(SpillVector, WithoutATemporaryFileTheRecordsStayInMemory) {
  testing::ScopedTmpdir tmpdir("/nonexistent-market-tick-dir");
  SpillVector<Rec> v(10 * sizeof(Rec));
  for (size_t i = 0; i < 1000; i++) v.push_back(Make(i));
  tmpdir.Restore();
  EXPECT_EQ(v.spilled(), 0u);
  ASSERT_EQ(v.size(), 1000u);
  for (size_t i = 0; i < 1000; i++) ExpectRec(v.Get(i), Make(i), i);
  EXPECT_TRUE(v.status().ok());
  EXPECT_NE(v.note().find("cannot create a temporary file in /nonexistent-market-tick-dir"), std::string::npos)
      << v.note();
}

// A read of the file that fails (its descriptor made write-only here, as an
// I/O error would) is an error, and the record reads as zeros.
TEST(SpillVector, AFailedReadIsAnError) {
  SpillVector<Rec> v(10 * sizeof(Rec));
  for (size_t i = 0; i < 100; i++) v.push_back(Make(i));
  const int fd = TempFileDescriptor();
  ASSERT_GE(fd, 0);
  const int wronly = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(wronly, 0);
  ASSERT_EQ(::dup2(wronly, fd), fd);
  ::close(wronly);
  ExpectRec(v.Get(3), Rec{0, 0, 0}, 3);
  EXPECT_FALSE(v.status().ok());
  EXPECT_EQ(v.status().code(), Status::Code::kIOError);
  EXPECT_NE(v.status().message().find("cannot read back a temporary file"), std::string::npos) << v.status().message();
}

}  // namespace
}  // namespace mt
