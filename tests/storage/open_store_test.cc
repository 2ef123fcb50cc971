// storage::OpenStore: which URI opens which store, and that an unknown
// scheme is refused (it once became a local folder "./s3:/b").
#include "storage/open_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mt::storage {
namespace {

TEST(ResolveStoreUri, PathsFileAndGs) {
  auto p = ResolveStoreUri("./data");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, StoreKind::kLocal);
  EXPECT_EQ(p->location, "./data");
  auto f = ResolveStoreUri("file:///srv/ticks");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, StoreKind::kLocal);
  EXPECT_EQ(f->location, "/srv/ticks");
  auto g = ResolveStoreUri("gs://bucket/prefix");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->kind, StoreKind::kGcs);
  EXPECT_EQ(g->location, "gs://bucket/prefix");
  // A colon without "://" is part of a path, not a scheme.
  auto c = ResolveStoreUri("out/BINANCE:SPOT_PAIR");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, StoreKind::kLocal);
  EXPECT_EQ(c->location, "out/BINANCE:SPOT_PAIR");
}

TEST(ResolveStoreUri, UnknownSchemeIsAUsageErrorNamingUriAndSchemes) {
  for (const char* uri : {"s3://b", "s3://bucket/prefix", "az://c/d", "http://example/x", "GS+X://y"}) {
    auto r = ResolveStoreUri(uri);
    ASSERT_FALSE(r.ok()) << uri;
    EXPECT_EQ(r.status().code(), Status::Code::kUsage) << uri;
    EXPECT_NE(r.status().message().find(uri), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("gs://"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("file://"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ResolveStoreUri("").status().code(), Status::Code::kUsage);
  EXPECT_EQ(ResolveStoreUri("file://").status().code(), Status::Code::kUsage);
}

class OpenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mt_open_store_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(OpenStoreTest, S3IsRefusedAndCreatesNothing) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  auto r = OpenStore("s3://b", StoreConfig{});
  std::filesystem::current_path(cwd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUsage);
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "no ./s3:/b folder";
}

TEST_F(OpenStoreTest, PlainPathAndFileUriOpenTheSameLocalStore) {
  auto plain = OpenStore(dir_ + "/out", StoreConfig{});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  auto obj = (*plain)->Create("a/b.txt", false);
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  ASSERT_TRUE((*obj)->Append("hello").ok());
  ASSERT_TRUE((*obj)->Commit().ok());
  auto uri = OpenStore("file://" + dir_ + "/out", StoreConfig{});
  ASSERT_TRUE(uri.ok()) << uri.status().message();
  auto back = (*uri)->Read("a/b.txt");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, "hello");
  std::ifstream f(dir_ + "/out/a/b.txt");
  std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(text, "hello");
}

TEST_F(OpenStoreTest, GsOpensAGcsStoreWithTheSettingsGiven) {
  StoreConfig config;
  config.gcs.emulator_host = "127.0.0.1:9";  // no credentials needed; nothing is requested on open
  auto gcs = OpenStore("gs://bkt/some/prefix", config);
  ASSERT_TRUE(gcs.ok()) << gcs.status().message();
  EXPECT_EQ((*gcs)->Describe("x.parquet"), "gs://bkt/some/prefix/x.parquet");
  config.gcs.chunk_size = 1000;  // not a multiple of 256 KiB
  auto bad = OpenStore("gs://bkt", config);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kUsage);
  EXPECT_NE(bad.status().message().find("GCS_CHUNK_SIZE"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace mt::storage
