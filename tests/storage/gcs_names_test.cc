#include <gtest/gtest.h>

#include "storage/gcs_store.h"
#include "support/gcs_fake_http.h"

namespace mt::storage {
namespace {

TEST(GcsNames, ObjectNamesArePercentEncodedAsOnePathSegment) {
  // Instrument keys carry ':'; '/' separates the layout but must be %2F in
  // the JSON API path; spaces, '+', '%' and UTF-8 bytes are encoded.
  EXPECT_EQ(GcsEncodeName("raw_tick_data/by_date/day-2024-01-01/data_type-trades/deribit:BTC-PERPETUAL.parquet"),
            "raw_tick_data%2Fby_date%2Fday-2024-01-01%2Fdata_type-trades%2Fderibit%3ABTC-PERPETUAL.parquet");
  EXPECT_EQ(GcsEncodeName("a b+c%d"), "a%20b%2Bc%25d");
  EXPECT_EQ(GcsEncodeName("\xC3\xBC\xE2\x82\xAC"), "%C3%BC%E2%82%AC");  // ü€
  EXPECT_EQ(GcsEncodeName("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(GcsEncodeName("?#&=;,[]@!$'()*"), "%3F%23%26%3D%3B%2C%5B%5D%40%21%24%27%28%29%2A");
}

TEST(GcsNames, ParseGsUri) {
  auto a = ParseGsUri("gs://market-data-tick");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bucket, "market-data-tick");
  EXPECT_EQ(a->prefix, "");
  auto b = ParseGsUri("gs://bkt/some/prefix/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bucket, "bkt");
  EXPECT_EQ(b->prefix, "some/prefix");
  EXPECT_EQ(ParseGsUri("gs:///x").status().code(), Status::Code::kUsage);
  EXPECT_EQ(ParseGsUri("s3://x").status().code(), Status::Code::kUsage);
  EXPECT_EQ(ParseGsUri("gs://Upper").status().code(), Status::Code::kUsage);
}

TEST(GcsNames, StoreJoinsPrefixAndDescribes) {
  GcsOptions o;
  o.bucket = "bkt";
  o.prefix = "p/q";
  o.auth = std::make_shared<testing::NoToken>();
  GcsStore s(o);
  EXPECT_EQ(s.FullName("a:b.parquet"), "p/q/a:b.parquet");
  EXPECT_EQ(s.Describe("x"), "gs://bkt/p/q/x");
  EXPECT_EQ(s.ObjectUrl("p/q/a b"), "https://storage.googleapis.com/storage/v1/b/bkt/o/p%2Fq%2Fa%20b");
}

TEST(GcsNames, GoogHashAndObjectResource) {
  EXPECT_EQ(Crc32cFromGoogHash("crc32c=rth90Q==, md5=jdnQ+6ZfA5uHq2yBLOQf/w=="), 0xAED87DD1u);
  EXPECT_EQ(Crc32cFromGoogHash("md5=jdnQ+6ZfA5uHq2yBLOQf/w==,crc32c=rth90Q=="), 0xAED87DD1u);
  EXPECT_FALSE(Crc32cFromGoogHash("md5=abc").has_value());
  auto o = ParseGcsObject(
      R"({"kind":"storage#object","name":"d/x y","size":"12345678901","generation":"1700000000123456",)"
      R"("crc32c":"rth90Q==","md5Hash":"xx","contentType":"application/vnd.apache.parquet"})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->name, "d/x y");
  EXPECT_EQ(o->size, 12345678901u);
  EXPECT_EQ(o->generation, 1700000000123456);
  EXPECT_TRUE(o->has_crc32c);
  EXPECT_EQ(o->crc32c, 0xAED87DD1u);
  EXPECT_FALSE(ParseGcsObject("<html>").ok());
}

}  // namespace
}  // namespace mt::storage
