#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/base64.h"
#include "core/crc32c.h"

namespace mt {
namespace {

TEST(GcsCrc32c, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC catalogue's check value
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; i++) {
    up += static_cast<char>(i);
    down += static_cast<char>(31 - i);
  }
  EXPECT_EQ(Crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(down), 0x113FDB5Cu);
}

TEST(GcsCrc32c, GoogleBase64Form) {
  // The examples of @google-cloud/storage's CRC32C validator docs.
  EXPECT_EQ(Crc32cToBase64(Crc32c("data")), "rth90Q==");
  EXPECT_EQ(Crc32cToBase64(Crc32c("some text\n")), "DkjKuA==");
  EXPECT_EQ(Crc32cToBase64(0), "AAAAAA==");
  EXPECT_EQ(Crc32cFromBase64("rth90Q=="), Crc32c("data"));
  EXPECT_FALSE(Crc32cFromBase64("rth9").has_value());  // 3 bytes
  EXPECT_FALSE(Crc32cFromBase64("r!h90Q==").has_value());
}

TEST(GcsCrc32c, StreamingEqualsOneShotAndReference) {
  std::mt19937 rng(7);
  std::string data(1 << 20, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint32_t whole = Crc32c(data);
  EXPECT_EQ(whole, Crc32cExtendReference(0, data.data(), data.size()));
  // Any split, including empty pieces and odd sizes.
  for (size_t piece : {1u, 7u, 8u, 9u, 4096u, 65537u, 262144u}) {
    uint32_t c = 0;
    for (size_t off = 0; off < data.size(); off += piece) {
      c = Crc32cExtend(c, data.data() + off, std::min(piece, data.size() - off));
      c = Crc32cExtend(c, data.data(), 0);
    }
    EXPECT_EQ(c, whole) << "piece " << piece;
  }
}

// CRC-32 of gzip, the checksum of a Parquet page: the catalogue's check
// value, and the fast path against the table over any split.
TEST(Crc32Gzip, KnownVectorsAndStreaming) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(Crc32(std::string(32, '\0')), 0x190A55ADu);
  std::mt19937 rng(11);
  std::string data((1 << 20) + 13, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint32_t whole = Crc32(data);
  EXPECT_EQ(whole, Crc32ExtendReference(0, data.data(), data.size()));
  for (size_t piece : {1u, 3u, 64u, 4097u, 300000u}) {
    uint32_t c = 0;
    for (size_t off = 0; off < data.size(); off += piece) {
      c = Crc32Extend(c, data.data() + off, std::min(piece, data.size() - off));
      c = Crc32Extend(c, data.data(), 0);
    }
    EXPECT_EQ(c, whole) << "piece " << piece;
  }
}

TEST(GcsBase64, RoundTripsAndUrlForm) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");  // RFC 4648 §10
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(Base64Decode("+/8="), std::string("\xfb\xff"));
  for (size_t n = 0; n < 70; n++) {
    std::string s;
    for (size_t i = 0; i < n; i++) s += static_cast<char>(i * 37 + n);
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
    EXPECT_EQ(Base64Decode(Base64UrlEncode(s)), s);
  }
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

}  // namespace
}  // namespace mt
