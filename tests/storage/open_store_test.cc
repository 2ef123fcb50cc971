// storage::OpenStore: which URI opens which store, and that an unknown
// scheme is refused (it once became a local folder "./s3:/b").
#include "storage/open_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "storage/layout_record.h"
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

namespace mt::storage {
namespace {

// Two first writers of different layouts start together on one empty
// directory: each store records its layout just before its first data
// object, so exactly one layout is recorded, the other run's Create fails
// with kUsage, and nothing of the other layout exists.
TEST(RecordLayoutOnFirstWrite, OfTwoRacingFirstWritersTheLoserWritesNothing) {
  for (int round = 0; round < 20; round++) {
    testing::TempDir dir("mt-layout-race-");
    StoreConfig hive_config, by_date_config;
    hive_config.layout = LayoutKind::kHive;
    by_date_config.layout = LayoutKind::kByDate;
    // Both resolve the empty store before either writes.
    auto hive = OpenDataStore(dir.path(), hive_config);
    auto by_date = OpenDataStore(dir.path(), by_date_config);
    ASSERT_TRUE(hive.ok() && by_date.ok());
    ASSERT_EQ((*hive)->layout().kind(), LayoutKind::kHive);
    ASSERT_EQ((*by_date)->layout().kind(), LayoutKind::kByDate);
    EXPECT_FALSE((*hive)->Exists(kStoreRecordName).value());  // opening writes nothing
    const Date day{2024, 1, 1};
    Status results[2];
    std::vector<std::thread> threads;
    ObjectStore* stores[2] = {hive->get(), by_date->get()};
    for (int i = 0; i < 2; i++) {
      threads.emplace_back([&, i] {
        ObjectStore* s = stores[i];
        // Several writers per run, as a job's items are.
        for (const char* key : {"BITMEX:PERPETUAL:BTC-USD", "BITMEX:PERPETUAL:ETH-USD"}) {
          auto obj = s->Create(s->layout().TickObjectName(day, "trades", "bitmex", key), false);
          if (!obj.ok()) {
            results[i] = obj.status();
            return;
          }
          Status st = (*obj)->Append("PAR1");
          if (st.ok()) st = (*obj)->Commit();
          if (!st.ok()) {
            results[i] = st;
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    auto record = (*hive)->Read(kStoreRecordName);
    ASSERT_TRUE(record.ok());
    const int winner = *record == StoreRecordJson(LayoutKind::kHive) ? 0 : 1;
    ASSERT_EQ(*record, StoreRecordJson(winner == 0 ? LayoutKind::kHive : LayoutKind::kByDate));
    EXPECT_TRUE(results[winner].ok()) << results[winner].ToString();
    const Status& lost = results[1 - winner];
    EXPECT_EQ(lost.code(), Status::Code::kUsage) << lost.ToString();
    EXPECT_NE(lost.message().find("nothing was written by this run"), std::string::npos) << lost.message();
    EXPECT_EQ(stores[1 - winner]->WriteRefusal().code(), Status::Code::kUsage);
    EXPECT_TRUE(stores[winner]->WriteRefusal().ok());
    // Nothing of the loser's layout, and both of the winner's objects.
    const Layout loser = stores[1 - winner]->layout();
    for (const std::string& prefix : loser.ProbePrefixes()) {
      EXPECT_TRUE((*hive)->List(prefix).value().empty()) << prefix;
    }
    EXPECT_EQ((*hive)->List(winner == 0 ? "raw_tick_data/data_type=trades/" : "raw_tick_data/by_date/").value().size(),
              2u);
  }
}

TEST(RecordLayoutOnFirstWrite, OpeningWritesNothingTheFirstCreateRecordsFirst) {
  testing::TempDir dir("mt-layout-none-");
  StoreConfig config;
  config.layout = LayoutKind::kHive;
  auto store = OpenDataStore(dir.path(), config);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->List("").value().empty());
  EXPECT_FALSE((*store)->Exists(kStoreRecordName).value());
  auto obj = (*store)->Create("raw_tick_data/data_type=trades/date=2024-01-01/exchange_id=bitmex/X.parquet", false);
  ASSERT_TRUE(obj.ok());
  (*obj)->Abort();
  // The record came first, before the object's first byte.
  EXPECT_EQ((*store)->Read(kStoreRecordName).value(), StoreRecordJson(LayoutKind::kHive));
}

}  // namespace
}  // namespace mt::storage
