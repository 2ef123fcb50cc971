// Object names of the storage layout: item records stay inside their day's
// prefix under printable names, whatever the exchange or symbol holds.
#include "storage/layout.h"

#include <gtest/gtest.h>

#include "pipeline/item_record.h"

namespace mt::storage {
namespace {

TEST(Layout, ItemRecordNames) {
  const Date day{2020, 6, 8};
  EXPECT_EQ(ItemRecordName(day, "options_chain", "deribit", "OPTIONS"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json");
  EXPECT_EQ(ItemRecordName(day, "trades", "okex", "BTC-USD_UM-260626"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/okex/BTC-USD_UM-260626.json");
  // Never a tick object, so validate does not count it as unexpected.
  EXPECT_FALSE(ParseTickObjectName(ItemRecordName(day, "trades", "deribit", "BTC-PERPETUAL")).has_value());
}

TEST(Layout, RecordNameComponentsCannotEscapeOrHideBytes) {
  EXPECT_EQ(RecordNameComponent(".."), "%2E.");
  EXPECT_EQ(RecordNameComponent("."), "%2E");
  EXPECT_EQ(RecordNameComponent(""), "%");
  EXPECT_EQ(RecordNameComponent("a/../b"), "a%2F..%2Fb");
  EXPECT_EQ(RecordNameComponent("a\\b\r\t"), "a%5Cb%0D%09");
  EXPECT_EQ(RecordNameComponent("\xff\xfe"), "%FF%FE");
  const std::string name = ItemRecordName(Date{2020, 6, 8}, "trades", "../../x", "../../../etc/passwd");
  EXPECT_EQ(name.find("/../"), std::string::npos) << name;
  EXPECT_EQ(name.rfind("raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/", 0), 0u);
  // Long components are cut and hashed: bounded, and still distinct.
  const std::string a = RecordNameComponent(std::string(300, 'A'));
  const std::string b = RecordNameComponent(std::string(299, 'A') + "B");
  const std::string c = RecordNameComponent(std::string(300, '/'));
  EXPECT_LE(a.size(), 120u);
  EXPECT_LE(c.size(), 120u);
  EXPECT_NE(a, b);
  for (const std::string& s : {a, b, c}) {
    for (char ch : s) EXPECT_TRUE(ch > 0x20 && ch < 0x7f && ch != '/' && ch != '\\') << s;
  }
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
