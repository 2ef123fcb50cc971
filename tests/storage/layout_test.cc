// Object names (storage/layout.h): every instrument key the rules build is
// kept as is; anything else taken from input is escaped or hashed, never a
// path separator, "..", a control character or an over-long component.
#include "storage/layout.h"

#include <gtest/gtest.h>

#include <string>

#include "pipeline/item_record.h"

namespace mt::storage {
namespace {

TEST(LayoutTest, KeysOfTheRulesAreKeptAsTheyAre) {
  const Date d{2020, 6, 8};
  for (const char* key : {"DERIBIT:OPTION:BTC-USD-200609-9875-PUT", "OKX-FUTURES:FUTURE:BTC-USD-310404",
                          "BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT", "DERIBIT:OPTION:XRP-USDC-250228-0.625-CALL",
                          "OKX-OPTIONS:OPTION:BTC-USD_UM-260626-100000-CALL", "DERIBIT:OPTIONS:BTC-USD"}) {
    EXPECT_EQ(SafeNameComponent(key), key);
    const std::string name = TickObjectName(d, "trades", key);
    EXPECT_EQ(name, std::string("raw_tick_data/by_date/day-2020-06-08/data_type-trades/") + key + ".parquet");
    const auto back = ParseTickObjectName(name);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->instrument_key, key);
    EXPECT_TRUE(IsSafeObjectName(name)) << name;
  }
}

TEST(LayoutTest, HostileKeysAreEscapedAndRoundTrip) {
  const Date d{2020, 6, 8};
  const std::string hostile[] = {
      "DERIBIT:OPTION:BTC-USD-200609-../../../a/b/c/ESC-CALL",
      "../../ESCX:SPOT_PAIR:A-B",
      "DERIBIT:UNKEYED:BTC-9JUN20-1/2-C",
      std::string("DERIBIT:UNKEYED:BTC\r\n\t-9JUN20-1-C"),
      "DERIBIT:UNKEYED:a\\b",
      std::string("DERIBIT:UNKEYED:\xff\xfe-bad-utf8"),
      "..", ".", "", "x.", ".hidden", "100%",
  };
  for (const std::string& key : hostile) {
    const std::string c = SafeNameComponent(key);
    EXPECT_EQ(c.find('/'), std::string::npos) << c;
    EXPECT_EQ(c.find(".."), std::string::npos) << c;
    EXPECT_EQ(c.find('\\'), std::string::npos) << c;
    for (char ch : c) EXPECT_TRUE(ch >= 0x21 && ch <= 0x7E) << c;
    const std::string name = TickObjectName(d, "trades", key);
    EXPECT_TRUE(IsSafeObjectName(name)) << name;
    const auto back = ParseTickObjectName(name);
    ASSERT_TRUE(back) << name;
    EXPECT_EQ(back->instrument_key, key) << name;
  }
  EXPECT_EQ(SafeNameComponent("a/b"), "a%2Fb");
  EXPECT_EQ(SafeNameComponent("a..b"), "a.%2Eb");
  EXPECT_NE(SafeNameComponent("a%2Fb"), SafeNameComponent("a/b"));  // '%' is escaped too: no two inputs meet
}

TEST(LayoutTest, LongNamesAreCutWithAHash) {
  const std::string a = "DERIBIT:UNKEYED:" + std::string(300, 'A');
  const std::string b = "DERIBIT:UNKEYED:" + std::string(299, 'A') + "B";
  const std::string ca = SafeNameComponent(a), cb = SafeNameComponent(b);
  EXPECT_LE(ca.size(), kMaxComponentBytes);
  EXPECT_LE(cb.size(), kMaxComponentBytes);
  EXPECT_NE(ca, cb);
  EXPECT_EQ(SafeNameComponent(a), ca);  // deterministic
  EXPECT_FALSE(UnescapeNameComponent(ca));  // the original is not in the name
  // Escapes are never cut in half.
  const std::string slashes = SafeNameComponent(std::string(250, '/'));
  EXPECT_LE(slashes.size(), kMaxComponentBytes);
  EXPECT_EQ(slashes.find('/'), std::string::npos);
  const size_t tilde = slashes.find('~');
  ASSERT_NE(tilde, std::string::npos);
  EXPECT_EQ(tilde % 3, 0u) << slashes;
}

TEST(LayoutTest, UnsafeNamesAreRecognised) {
  for (const char* bad : {"", "/abs", "a//b", "a/../b", "../a", "a/./b", "a/b\\c", "a/b\x01", "a/..b", "a/ b"}) {
    EXPECT_FALSE(IsSafeObjectName(bad)) << bad;
  }
  EXPECT_FALSE(IsSafeObjectName(std::string(201, 'a')));
  EXPECT_TRUE(IsSafeObjectName("instrument_availability/by_date/day-2024-01-01/instruments.parquet"));
}


TEST(Layout, ItemRecordNames) {
  const Date day{2020, 6, 8};
  EXPECT_EQ(ItemRecordName(day, "options_chain", "deribit", "OPTIONS"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json");
  EXPECT_EQ(ItemRecordName(day, "trades", "okex", "BTC-USD_UM-260626"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/okex/BTC-USD_UM-260626.json");
  // Never a tick object, so validate does not count it as unexpected.
  EXPECT_FALSE(ParseTickObjectName(ItemRecordName(day, "trades", "deribit", "BTC-PERPETUAL")).has_value());
}

TEST(Layout, ItemRecordNamesCannotEscapeOrHideBytes) {
  const std::string name = ItemRecordName(Date{2020, 6, 8}, "trades", "../../x", "../../../etc/passwd");
  EXPECT_EQ(name.rfind("raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/", 0), 0u) << name;
  EXPECT_TRUE(IsSafeObjectName(name)) << name;
  for (const char* raw : {"..", ".", "", "a/../b", "a\\b\r\t", "\xff\xfe"}) {
    const std::string n = ItemRecordName(Date{2020, 6, 8}, "trades", raw, raw);
    EXPECT_TRUE(IsSafeObjectName(n)) << n;
  }
  // Long components are cut and hashed: bounded, and still distinct.
  const std::string a = ItemRecordName(Date{2020, 6, 8}, "trades", "x", std::string(300, 'A'));
  const std::string b = ItemRecordName(Date{2020, 6, 8}, "trades", "x", std::string(299, 'A') + "B");
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsSafeObjectName(a)) << a;
}

TEST(ItemRecord, RoundTripsAndRejectsWhatIsNotARecord) {
  pipeline::ItemRecord r;
  r.item = "2020-06-08/options_chain/deribit/OPTIONS";
  r.outcome = "done";
  r.rows = 7;
  r.source = "http://127.0.0.1:1/v1/deribit/options_chain/2020/06/08/OPTIONS.csv.gz";
  r.objects.push_back({"raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/DERIBIT:OPTIONS:BTC-USD.parquet",
                       "DERIBIT:OPTIONS:BTC-USD", 7, 4321, "2020-06-08T00:00:00.196008Z",
                       "2020-06-08T00:01:00.473112Z"});
  r.first_timestamp = "2020-06-08T00:00:00.196008Z";
  r.last_timestamp = "2020-06-08T00:01:00.473112Z";
  r.tool_version = "9.9";
  r.created_at = "2023-11-14T22:13:20Z";
  auto back = pipeline::DecodeItemRecord(pipeline::EncodeItemRecord(r), "rec");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->item, r.item);
  EXPECT_EQ(back->outcome, "done");
  EXPECT_EQ(back->rows, 7u);
  EXPECT_EQ(back->source, r.source);
  ASSERT_EQ(back->objects.size(), 1u);
  EXPECT_EQ(back->objects[0].name, r.objects[0].name);
  EXPECT_EQ(back->objects[0].instrument_key, "DERIBIT:OPTIONS:BTC-USD");
  EXPECT_EQ(back->objects[0].rows, 7u);
  EXPECT_EQ(back->objects[0].bytes, 4321u);
  EXPECT_EQ(back->created_at, r.created_at);
  EXPECT_EQ(back->first_timestamp, r.first_timestamp);
  EXPECT_EQ(back->last_timestamp, r.last_timestamp);
  EXPECT_EQ(back->objects[0].first_timestamp, "2020-06-08T00:00:00.196008Z");
  EXPECT_EQ(back->objects[0].last_timestamp, "2020-06-08T00:01:00.473112Z");
  for (const char* bad : {"", "[]", "{\"outcome\":\"maybe\"}", "{\"outcome\":\"done\",\"objects\":{}}",
                          "{\"outcome\":\"done\",\"objects\":[{}]}"}) {
    auto d = pipeline::DecodeItemRecord(bad, "gs://b/rec.json");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(d.status().message().find("gs://b/rec.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace mt::storage
