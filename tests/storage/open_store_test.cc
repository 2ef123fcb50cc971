// storage::OpenStore: which URI opens which store, and that an unknown
// scheme is refused (it once became a local folder "./s3:/b").
#include "storage/open_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace mt::storage {
namespace {

TEST(ResolveStoreUri, PathsFileAndGs) {
  const struct {
    const char* uri;
    StoreKind kind;
    const char* location;
  } cases[] = {
      {"./data", StoreKind::kLocal, "./data"},
      {"file:///srv/ticks", StoreKind::kLocal, "/srv/ticks"},
      {"gs://bucket/prefix", StoreKind::kGcs, "gs://bucket/prefix"},
      // A colon without "://" is part of a path, not a scheme.
      {"out/BINANCE:SPOT_PAIR", StoreKind::kLocal, "out/BINANCE:SPOT_PAIR"},
  };
  for (const auto& c : cases) {
    auto r = ResolveStoreUri(c.uri);
    ASSERT_TRUE(r.ok()) << c.uri << ": " << r.status().message();
    EXPECT_EQ(r->kind, c.kind) << c.uri;
    EXPECT_EQ(r->location, c.location) << c.uri;
  }
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
  testing::TempDir tmp_{"mt_open_store_"};
  const std::string dir_ = tmp_.path();
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
