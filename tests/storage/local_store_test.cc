// The local store's conditional writes (ReadVersioned + CreateIfGeneration)
// and its temporary files, on a real directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/exit_code.h"
#include "storage/object_store.h"
#include "support/without_descriptors.h"

namespace mt::storage {
namespace {

namespace fs = std::filesystem;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mt-local-store-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    store_ = NewLocalStore(root_.string());
  }
  void TearDown() override { fs::remove_all(root_); }

  Status WriteIf(const std::string& name, const std::string& data, int64_t generation) {
    auto w = store_->CreateIfGeneration(name, generation);
    if (!w.ok()) return w.status();
    MT_RETURN_IF_ERROR((*w)->Append(data));
    return (*w)->Commit();
  }
  std::string Slurp(const std::string& name) {
    std::ifstream in(root_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_;
  std::unique_ptr<ObjectStore> store_;
};

// A store that cannot open its temporary file because the process has used
// up its open-file limit (EMFILE) fails the same way on every rerun: exit 2,
// saying to raise `ulimit -n`. Run in a forked child with a lowered
// RLIMIT_NOFILE, every descriptor below it taken, so the limit is exact and
// the test process keeps its own.
TEST_F(LocalStoreTest, OutOfFileDescriptorsIsAConfigurationError) {
  // One object first: whatever the first write sets up (the random source of
  // temporary names) is in place before descriptors run out.
  auto warm = store_->Create("warm.bin", true);
  ASSERT_TRUE(warm.ok()) << warm.status().message();
  (*warm)->Abort();
  const int code = testing::ExitCodeWithoutDescriptors([&] {
    auto w = store_->Create("day/obj.bin", true);
    if (w.ok()) return 13;
    if (w.status().code() != Status::Code::kUsage) return 14;
    if (ExitCodeFor(w.status()) != 2) return 15;
    if (w.status().message().find("ulimit -n") == std::string::npos) return 16;
    return 0;
  });
  EXPECT_EQ(code, 0) << "10-12: setting up the limit; 13: created; 14: not kUsage; 15: not exit 2; "
                        "16: no 'ulimit -n' in the message";
  // Nothing was left behind: the child created no file.
  EXPECT_FALSE(fs::exists(root_ / "day" / "obj.bin"));
}

TEST_F(LocalStoreTest, ConditionalWriteReplacesOnlyTheVersionRead) {
  auto none = store_->ReadVersioned("d/x.parquet");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->generation, 0);
  ASSERT_TRUE(WriteIf("d/x.parquet", "one", 0).ok());
  EXPECT_EQ(WriteIf("d/x.parquet", "not created twice", 0).code(), Status::Code::kAlreadyExists);
  auto v1 = store_->ReadVersioned("d/x.parquet");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->bytes, "one");
  EXPECT_NE(v1->generation, 0);
  ASSERT_TRUE(WriteIf("d/x.parquet", "two", v1->generation).ok());
  auto v2 = store_->ReadVersioned("d/x.parquet");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->bytes, "two");
  EXPECT_NE(v2->generation, v1->generation);
  // A writer still holding the first version loses, and changes nothing.
  const Status stale = WriteIf("d/x.parquet", "lost update", v1->generation);
  EXPECT_EQ(stale.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(stale.message().find("changed by another writer"), std::string::npos) << stale.message();
  EXPECT_EQ(Slurp("d/x.parquet"), "two");
  // Same size, same content, written again: still a new version.
  ASSERT_TRUE(WriteIf("d/x.parquet", "two", v2->generation).ok());
  EXPECT_EQ(WriteIf("d/x.parquet", "three", v2->generation).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Files(), std::vector<std::string>{"d/x.parquet"});  // no temporary file left
}

// Many writers doing read-append-write on one object at once: every
// append survives (a lost update would drop lines).
TEST_F(LocalStoreTest, ConcurrentReadModifyWriteLosesNothing) {
  constexpr int kThreads = 6, kEach = 25;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kEach; i++) {
        while (true) {
          auto v = store_->ReadVersioned("log");
          ASSERT_TRUE(v.ok()) << v.status().message();
          const Status st = WriteIf("log", v->bytes + std::to_string(t) + ":" + std::to_string(i) + "\n", v->generation);
          if (st.ok()) break;
          ASSERT_EQ(st.code(), Status::Code::kAlreadyExists) << st.message();
          conflicts++;
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> lines;
  std::istringstream in(Slurp("log"));
  for (std::string l; std::getline(in, l);) lines.insert(l);
  EXPECT_EQ(lines.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(Files(), std::vector<std::string>{"log"});
  ::testing::Test::RecordProperty("conflicts", conflicts.load());
}

// A second writer of the same object no longer removes the first one's
// temporary file (that made the first commit fail with a rename error).
TEST_F(LocalStoreTest, SecondWriterKeepsTheFirstWritersTemporaryFile) {
  auto w1 = store_->Create("o", /*overwrite=*/true);
  ASSERT_TRUE(w1.ok());
  ASSERT_TRUE((*w1)->Append("first").ok());
  auto w2 = store_->Create("o", /*overwrite=*/true);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Append("second").ok());
  ASSERT_TRUE((*w1)->Commit().ok());
  EXPECT_EQ(Slurp("o"), "first");
  ASSERT_TRUE((*w2)->Commit().ok());
  EXPECT_EQ(Slurp("o"), "second");
  EXPECT_EQ(Files(), std::vector<std::string>{"o"});
}

// A temporary file nobody holds (a writer killed mid-write) is removed by
// the next writer of that object.
TEST_F(LocalStoreTest, OrphanedTemporaryFileIsRemoved) {
  fs::create_directories(root_ / "d");
  { std::ofstream(root_ / "d" / "o.parquet.tmp-00000000deadbeef") << "partial"; }
  auto w = store_->Create("d/o.parquet", false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("whole").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Files(), std::vector<std::string>{"d/o.parquet"});
}

}  // namespace
}  // namespace mt::storage
