// SpillWriter: a file assembled from the spill is byte for byte the file a
// FileWriter writes from the same row groups, however the row groups of
// several files interleave in the spill.
#include "parquet/spill_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "parquet/file_writer.h"

namespace mt::parquet {
namespace {

using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::MakeRowGroup;
using columnar::RowGroupData;

class StringSink final : public storage::WritableObject {
 public:
  Status Append(std::string_view d) override {
    bytes.append(d);
    return Status::OK();
  }
  Status Commit() override { return Status::OK(); }
  void Abort() override {}
  uint64_t bytes_written() const override { return bytes.size(); }
  std::string bytes;
};

std::vector<ColumnSpec> Schema() {
  return {{"ts", ColumnKind::kTimestampMicros, false},
          {"px", ColumnKind::kDouble, true},
          {"sym", ColumnKind::kString, false},
          {"flag", ColumnKind::kBool, true}};
}

// Row group `g` of file `f`: values differ per file and group; some nulls.
RowGroupData Group(int f, int g, size_t rows) {
  RowGroupData rg = MakeRowGroup(Schema());
  for (size_t r = 0; r < rows; r++) {
    rg.columns[0].i64.push_back(1'600'000'000'000'000 + f * 1'000'000 + g * 1000 + static_cast<int64_t>(r));
    if (r % 7 == 3) {
      rg.columns[1].AddNull(r);
    } else {
      rg.columns[1].AddDefined();
      rg.columns[1].f64.push_back(100.0 + f + 0.5 * static_cast<double>(r % 13));
    }
    rg.columns[2].str.Append("SYM-" + std::to_string(f) + "-" + std::to_string(r % 3));
    if (r % 5 == 0) {
      rg.columns[3].AddNull(r);
    } else {
      rg.columns[3].AddDefined();
      rg.columns[3].b.push_back(r % 2);
    }
    rg.num_rows++;
  }
  return rg;
}

void CheckSameBytes(ThreadPool* pool) {
  WriterOptions opts;
  opts.pool = pool;
  const std::vector<std::pair<std::string, std::string>> kv = {{"k", "v"}};
  SpillWriter spill(Schema(), opts, /*max_queued=*/3);
  ASSERT_TRUE(spill.Open("").ok());
  constexpr int kFiles = 4;
  for (int f = 0; f < kFiles; f++) EXPECT_EQ(spill.AddFile(), static_cast<uint32_t>(f));
  // Interleaved, uneven row groups: file f gets f + 1 groups; file 3 none of some rounds.
  for (int g = 0; g < kFiles; g++) {
    for (int f = g; f < kFiles; f++) ASSERT_TRUE(spill.WriteRowGroup(f, Group(f, g, 1 + 37 * (f + g))).ok());
  }
  ASSERT_TRUE(spill.Drain().ok());
  EXPECT_GT(spill.spill_bytes(), 0u);
  for (int f = 0; f < kFiles; f++) {
    StringSink want, got;
    FileWriter w(&want, Schema(), opts);
    for (int g = 0; g <= f; g++) ASSERT_TRUE(w.WriteRowGroup(Group(f, g, 1 + 37 * (f + g))).ok());
    ASSERT_TRUE(w.Finish(kv).ok());
    ASSERT_TRUE(spill.WriteFile(f, &got, kv).ok());
    EXPECT_EQ(spill.num_rows(f), w.num_rows());
    EXPECT_EQ(got.bytes, want.bytes) << "file " << f;
  }
}

TEST(SpillWriterTest, AssembledFilesEqualFileWriterOutput) { CheckSameBytes(nullptr); }

TEST(SpillWriterTest, AssembledFilesEqualFileWriterOutputOnAPool) {
  ThreadPool pool(2);
  CheckSameBytes(&pool);
}

TEST(SpillWriterTest, AFileWithoutRowGroupsIsAValidEmptyFile) {
  WriterOptions opts;
  SpillWriter spill(Schema(), opts);
  ASSERT_TRUE(spill.Open("").ok());
  const uint32_t f = spill.AddFile();
  ASSERT_TRUE(spill.Drain().ok());
  StringSink want, got;
  FileWriter w(&want, Schema(), opts);
  ASSERT_TRUE(w.Finish({}).ok());
  ASSERT_TRUE(spill.WriteFile(f, &got, {}).ok());
  EXPECT_EQ(got.bytes, want.bytes);
}

TEST(SpillWriterTest, AnUnwritableDirectoryIsAClearError) {
  SpillWriter spill(Schema(), WriterOptions{});
  const Status st = spill.Open("/nonexistent-dir-for-spill");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("TMPDIR"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace mt::parquet
