// ObjectStore::ListEach of both stores: every object under a prefix, in name
// order (bytes), handed over as the store reads them: on GCS a page at a time,
// each page's objects before the next page is asked for; locally a directory
// at a time, its entries ordered so that the names come out sorted although
// a directory walk meets "a/x" before "a-b". validate merges these listings
// with its sorted names, so the order is part of the contract.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/gcs_store.h"
#include "storage/object_store.h"
#include "support/gcs_fake_http.h"

namespace mt::storage {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Names(ObjectStore* store, const std::string& prefix, Status* st) {
  std::vector<std::string> out;
  *st = store->ListEach(prefix, [&out](ObjectInfo&& o) {
    out.push_back(o.name + " " + std::to_string(o.size));
    return Status::OK();
  });
  return out;
}

class LocalListing : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mt-list-each-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = NewLocalStore(root_.string());
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& name, size_t size) {
    fs::create_directories((root_ / name).parent_path());
    std::ofstream(root_ / name, std::ios::binary) << std::string(size, 'x');
  }
  fs::path root_;
  std::unique_ptr<ObjectStore> store_;
};

// Names whose order is not the order of a walk: '-' and '.' sort before the
// '/' after a directory's name, '0' after it.
TEST_F(LocalListing, NamesComeInByteOrderAcrossDirectories) {
  for (const char* name : {"d/a0", "d/a/x", "d/a-b", "d/a.c", "d/a/b/c", "d/a/b-c", "d/a/b0", "d/b", "e/z"}) {
    Write(name, std::string(name).size());
  }
  Write("d/a/y.parquet.tmp-0123456789abcdef", 3);  // a writer's temporary file: no object
  fs::create_directories(root_ / "d/empty");
  Status st;
  EXPECT_EQ(Names(store_.get(), "d/", &st), (std::vector<std::string>{"d/a-b 5", "d/a.c 5", "d/a/b-c 7", "d/a/b/c 7",
                                                                      "d/a/b0 6", "d/a/x 5", "d/a0 4", "d/b 3"}));
  EXPECT_TRUE(st.ok()) << st.ToString();
  // A prefix that ends inside a name: only the names that start with it.
  EXPECT_EQ(Names(store_.get(), "d/a/b", &st), (std::vector<std::string>{"d/a/b-c 7", "d/a/b/c 7", "d/a/b0 6"}));
  EXPECT_EQ(Names(store_.get(), "", &st).size(), 9u);
  EXPECT_TRUE(Names(store_.get(), "nothing/here/", &st).empty());
  EXPECT_TRUE(st.ok()) << st.ToString();
  // The gathered listing is the same.
  auto all = store_->List("d/a/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].name, "d/a/b-c");
  EXPECT_EQ((*all)[3].name, "d/a/x");
}

TEST_F(LocalListing, AnErrorOfTheCallerStopsTheListing) {
  for (int i = 0; i < 5; i++) Write("p/o" + std::to_string(i), 1);
  int seen = 0;
  const Status st = store_->ListEach(
      "p/", [&seen](ObjectInfo&&) { return ++seen == 2 ? Status::Cancelled("enough") : Status::OK(); });
  EXPECT_EQ(st.code(), Status::Code::kCancelled);
  EXPECT_EQ(seen, 2);
}

struct Gcs {
  testing::FakeGcs fake;
  std::unique_ptr<GcsStore> store;
  explicit Gcs(int page_size) {
    GcsOptions o;
    o.endpoint = "http://fake";
    o.bucket = "bkt";
    o.prefix = "pre";
    o.auth = std::make_shared<testing::NoToken>();
    o.http_factory = [this] { return fake.Client(); };
    o.list_page_size = page_size;
    auto s = NewGcsStore(o);
    EXPECT_TRUE(s.ok());
    store = std::move(*s);
  }
  int Lists() {
    int n = 0;
    for (const auto& s : fake.seen) n += s.method == "GET" && s.url.find("/o?prefix=") != std::string::npos;
    return n;
  }
};

// Seven objects in pages of two: four requests, each page's objects handed
// over before the next page is asked for, the names relative to the store's
// prefix and in order.
TEST(GcsListing, PagesAreHandedOverOneAtATimeInNameOrder) {
  Gcs g(2);
  for (int i = 6; i >= 0; i--) g.fake.objects["pre/d/o" + std::to_string(i)] = {std::string(i, 'x'), 1};
  g.fake.objects["pre/e/o"] = {"x", 1};
  g.fake.objects["other/d/o"] = {"x", 1};
  std::vector<std::string> names;
  std::vector<int> requests;  // made when each object came
  const Status st = g.store->ListEach("d/", [&](ObjectInfo&& o) {
    names.push_back(o.name + " " + std::to_string(o.size));
    requests.push_back(g.Lists());
    return Status::OK();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(names, (std::vector<std::string>{"d/o0 0", "d/o1 1", "d/o2 2", "d/o3 3", "d/o4 4", "d/o5 5", "d/o6 6"}));
  EXPECT_EQ(requests, (std::vector<int>{1, 1, 2, 2, 3, 3, 4}));
  EXPECT_EQ(g.Lists(), 4);
  // Stopped by the caller: no further page is asked for.
  Gcs h(2);
  h.fake.objects = g.fake.objects;
  int seen = 0;
  EXPECT_EQ(
      h.store
          ->ListEach("d/", [&seen](ObjectInfo&&) { return ++seen == 3 ? Status::Cancelled("enough") : Status::OK(); })
          .code(),
      Status::Code::kCancelled);
  EXPECT_EQ(h.Lists(), 2);
  auto all = g.store->List("d/");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 7u);
}

// A server that lists out of name order would make validate's merge miss
// objects: the listing fails instead, naming both.
TEST(GcsListing, ANameOutOfOrderFailsTheListing) {
  Gcs g(3);
  for (int i = 0; i < 5; i++) g.fake.objects["pre/d/o" + std::to_string(i)] = {"x", 1};
  g.fake.list_out_of_order = true;
  Status st;
  Names(g.store.get(), "d/", &st);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("d/o0 after gs://bkt/pre/d/o1, out of name order"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace mt::storage
