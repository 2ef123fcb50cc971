// Object names (storage/layout.h): every instrument key the rules build is
// kept as is; anything else taken from input is escaped or hashed, never a
// path separator, "..", a control character or an over-long component.
#include "storage/layout.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "pipeline/item_record.h"
#include "storage/layout_record.h"
#include "storage/object_store.h"
#include "support/memory_store_double.h"
#include "support/temp_dir.h"

namespace mt::storage {
namespace {

// A grouped item's record of `n` options' objects (generated names, row
// counts 1..n, sizes from `first_bytes`), as a big OPTIONS day gives.
pipeline::ItemRecord OptionsRecord(int n, uint64_t first_bytes = 1000) {
  pipeline::ItemRecord r;
  r.item = "2023-11-01/trades/deribit/OPTIONS";
  r.outcome = "done";
  r.tool_version = "1.2";
  r.created_at = "2023-11-14T22:13:20Z";  // after the objects in the text
  for (int i = 0; i < n; i++) {
    const std::string key = "DERIBIT:OPTION:BTC-USD-231229-" + std::to_string(10000 + i) + "-CALL";
    r.objects.push_back({"raw_tick_data/by_date/day-2023-11-01/data_type-trades/" + key + ".parquet", key,
                         static_cast<uint64_t>(i + 1), first_bytes + static_cast<uint64_t>(i), "a", "b"});
    r.rows += static_cast<uint64_t>(i + 1);
  }
  return r;
}


TEST(LayoutTest, KeysOfTheRulesAreKeptAsTheyAre) {
  const Date d{2020, 6, 8};
  for (const char* key : {"DERIBIT:OPTION:BTC-USD-200609-9875-PUT", "OKX-FUTURES:FUTURE:BTC-USD-310404",
                          "BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT", "DERIBIT:OPTION:XRP-USDC-250228-0.625-CALL",
                          "OKX-OPTIONS:OPTION:BTC-USD_UM-260626-100000-CALL", "DERIBIT:OPTIONS:BTC-USD"}) {
    EXPECT_EQ(SafeNameComponent(key), key);
    const std::string name = Layout().TickObjectName(d, "trades", "deribit", key);
    EXPECT_EQ(name, std::string("raw_tick_data/by_date/day-2020-06-08/data_type-trades/") + key + ".parquet");
    const auto back = Layout().ParseTickObjectName(name);
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
    const std::string name = Layout().TickObjectName(d, "trades", "deribit", key);
    EXPECT_TRUE(IsSafeObjectName(name)) << name;
    const auto back = Layout().ParseTickObjectName(name);
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
  EXPECT_EQ(Layout().ItemRecordName(day, "options_chain", "deribit", "OPTIONS"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json");
  EXPECT_EQ(Layout().ItemRecordName(day, "trades", "okex", "BTC-USD_UM-260626"),
            "raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/okex/BTC-USD_UM-260626.json");
  // Never a tick object, so validate does not count it as unexpected.
  EXPECT_FALSE(Layout().ParseTickObjectName(Layout().ItemRecordName(day, "trades", "deribit", "BTC-PERPETUAL")).has_value());
}

TEST(Layout, ItemRecordNamesCannotEscapeOrHideBytes) {
  const std::string name = Layout().ItemRecordName(Date{2020, 6, 8}, "trades", "../../x", "../../../etc/passwd");
  EXPECT_EQ(name.rfind("raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/", 0), 0u) << name;
  EXPECT_TRUE(IsSafeObjectName(name)) << name;
  for (const char* raw : {"..", ".", "", "a/../b", "a\\b\r\t", "\xff\xfe"}) {
    const std::string n = Layout().ItemRecordName(Date{2020, 6, 8}, "trades", raw, raw);
    EXPECT_TRUE(IsSafeObjectName(n)) << n;
  }
  // Long components are cut and hashed: bounded, and still distinct.
  const std::string a = Layout().ItemRecordName(Date{2020, 6, 8}, "trades", "x", std::string(300, 'A'));
  const std::string b = Layout().ItemRecordName(Date{2020, 6, 8}, "trades", "x", std::string(299, 'A') + "B");
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsSafeObjectName(a)) << a;
}

// The record is written as text (no JSON tree: a grouped item lists tens of
// thousands of objects): for ordinary values it is the one-space indented
// dump of the same document, and hostile strings (quotes, controls, invalid
// UTF-8 from a damaged symbol) still give JSON that reads back.
TEST(ItemRecord, TextIsTheIndentedDumpAndHostileStringsStayJson) {
  pipeline::ItemRecord r;
  r.item = "2023-11-01/trades/deribit/OPTIONS";
  r.outcome = "done";
  r.rows = 30;
  r.source = "/data/deribit_trades_2023-11-01_OPTIONS.csv.gz";
  r.tool_version = "1.2";
  r.created_at = "2023-11-14T22:13:20Z";
  r.first_timestamp = "2023-11-01T00:00:00.000001Z";
  r.last_timestamp = "2023-11-01T23:59:59.999999Z";
  nlohmann::ordered_json objects = nlohmann::ordered_json::array();
  for (int i = 0; i < 3; i++) {
    pipeline::RecordedObject o{"raw/x-" + std::to_string(i) + ".parquet", "DERIBIT:OPTIONS:BTC-" + std::to_string(i),
                               static_cast<uint64_t>(10 + i), static_cast<uint64_t>(1000 * i), "a" + std::to_string(i),
                               "b" + std::to_string(i)};
    objects.push_back({{"name", o.name}, {"instrument_key", o.instrument_key}, {"rows", o.rows},
                       {"bytes", o.bytes}, {"first_timestamp", o.first_timestamp},
                       {"last_timestamp", o.last_timestamp}});
    r.objects.push_back(o);
  }
  auto doc = [&](nlohmann::ordered_json objs) {
    return nlohmann::ordered_json{{"item", r.item}, {"outcome", r.outcome}, {"rows", r.rows},
                                  {"first_timestamp", r.first_timestamp}, {"last_timestamp", r.last_timestamp},
                                  {"source", r.source}, {"reason", r.reason}, {"objects", std::move(objs)},
                                  {"tool_version", r.tool_version}, {"created_at", r.created_at}}
               .dump(1) + "\n";
  };
  EXPECT_EQ(pipeline::EncodeItemRecord(r), doc(objects));
  pipeline::ItemRecord none = r;
  none.objects.clear();
  r.objects.swap(none.objects);
  EXPECT_EQ(pipeline::EncodeItemRecord(r), doc(nlohmann::ordered_json::array()));
  r.objects.swap(none.objects);

  const std::string hostile = std::string("q\"b\\s\n\t\x01\xff\xc3(") + "\u00e9";
  r.objects[1].instrument_key = hostile;
  r.reason = hostile;
  const std::string text = pipeline::EncodeItemRecord(r);
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << text;
  EXPECT_EQ(parsed["objects"][1]["instrument_key"], "q\"b\\s\n\t\x01\xef\xbf\xbd\xef\xbf\xbd(\u00e9");
  auto back = pipeline::DecodeItemRecord(text, "rec");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->objects.size(), 3u);
  EXPECT_EQ(back->objects[2].rows, 12u);
  EXPECT_EQ(back->objects[2].bytes, 2000u);
}

// A record of many objects (a big grouped item) goes to its object in
// pieces of about 1 MiB: the object is the whole text, in order, and reads
// back entry for entry (local store, create-only as the downloader writes).
TEST(ItemRecord, ARecordOfManyPiecesIsWrittenWhole) {
  testing::TempDir root("mt-record-pieces-");
  auto store = NewLocalStore(root.path());
  pipeline::ItemRecord r = OptionsRecord(12000);
  const std::string text = pipeline::EncodeItemRecord(r);
  ASSERT_GT(text.size(), 3u << 20);  // several pieces
  const pipeline::WorkItem item{Date{2023, 11, 1}, "trades", "deribit", "OPTIONS", {}};
  ASSERT_TRUE(pipeline::WriteItemRecord(store.get(), item, r, false).ok());
  const std::string name = pipeline::ItemRecordObjectName(store->layout(), item);
  auto stored = store->Read(name);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(*stored == text) << stored->size() << " bytes stored, " << text.size() << " encoded";
  auto back = pipeline::ReadItemRecord(store.get(), name);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->objects.size(), r.objects.size());
  EXPECT_EQ(back->rows, r.rows);
  for (size_t i = 0; i < r.objects.size(); i += 997) {
    EXPECT_EQ(back->objects[i].name, r.objects[i].name);
    EXPECT_EQ(back->objects[i].bytes, r.objects[i].bytes);
  }
}

// A grouped item's record written straight from the converter's outputs is
// byte for byte the record GroupedItemRecord builds (names without the
// store's root, timestamps of the outputs with rows, none for an empty one,
// a hostile key escaped), and create-only keeps a record that is there.
TEST(ItemRecord, AGroupedRecordStreamedFromOutputsIsTheBuiltOne) {
  testing::TempDir root("mt-record-stream-");
  auto store = NewLocalStore(root.path());
  pipeline::OutputList outputs;
  for (int i = 0; i < 5; i++) {
    pipeline::OutputFile o;
    const std::string key = i == 3 ? std::string("DERIBIT:OPTIONS:q\"\xff\n") : "DERIBIT:OPTIONS:BTC-" + std::to_string(i);
    o.name = store->Describe("raw_tick_data/by_date/day-2023-11-01/data_type-trades/x" + std::to_string(i) + ".parquet");
    o.instrument_key = key;
    o.rows = i == 2 ? 0 : static_cast<uint64_t>(10 * i + 1);
    o.bytes = static_cast<uint64_t>(1000 + i);
    o.first_local_ts = 1698796800000000 + i;
    o.last_local_ts = 1698883199000000 - i * 1000001;
    ASSERT_TRUE(outputs.Add(o).ok());
  }
  const pipeline::WorkItem item{Date{2023, 11, 1}, "trades", "deribit", "OPTIONS", {}};
  const std::string built = pipeline::EncodeItemRecord(
      pipeline::GroupedItemRecord(store.get(), item, outputs, 132, "/in/f.csv", "1.2", "2023-11-14T22:13:20Z"));
  ASSERT_TRUE(
      pipeline::WriteGroupedItemRecord(store.get(), item, outputs, 132, "/in/f.csv", "1.2", "2023-11-14T22:13:20Z", false)
          .ok());
  const std::string name = pipeline::ItemRecordObjectName(store->layout(), item);
  auto stored = store->Read(name);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, built);
  auto back = pipeline::DecodeItemRecord(*stored, "rec");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->objects.size(), 5u);
  EXPECT_EQ(back->objects[1].name, "raw_tick_data/by_date/day-2023-11-01/data_type-trades/x1.parquet");
  EXPECT_EQ(back->objects[1].first_timestamp, "2023-11-01T00:00:00.000001Z");
  EXPECT_EQ(back->objects[2].first_timestamp, "");  // no rows
  EXPECT_EQ(back->first_timestamp, "2023-11-01T00:00:00.000000Z");
  EXPECT_EQ(back->last_timestamp, "2023-11-01T23:59:59.000000Z");
  // Create-only over a record that is there: kept, and said.
  const Status again =
      pipeline::WriteGroupedItemRecord(store.get(), item, outputs, 1, "/in/f.csv", "1.2", "2023-11-14T22:13:21Z", false);
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.ToString();
  EXPECT_EQ(*store->Read(name), built);
}

// A store that says how much one read gave at most.
class LargestReadStore : public testing::MemoryStoreDouble {
 public:
  size_t largest = 0;
  Result<std::string> Read(const std::string& name) override {
    auto all = MemoryStoreDouble::Read(name);
    if (all.ok()) largest = std::max(largest, all->size());
    return all;
  }
  Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length) override {
    MT_ASSIGN_OR_RETURN(std::string all, MemoryStoreDouble::Read(name));
    const std::string out = offset >= all.size() ? "" : all.substr(offset, length < 0 ? std::string::npos : length);
    largest = std::max(largest, out.size());
    return out;
  }
};

// A grouped item's record of many objects is read piece by piece, each
// object handed over as it is parsed: never the whole text at once. What
// it says is what the whole text says; a record cut short is no record.
TEST(ItemRecord, ABigRecordIsReadInPiecesNeverWhole) {
  LargestReadStore store;
  pipeline::ItemRecord r = OptionsRecord(20000);
  const std::string text = pipeline::EncodeItemRecord(r);
  ASSERT_GT(text.size(), 5u << 20);  // more than one piece
  const pipeline::WorkItem item{Date{2023, 11, 1}, "trades", "deribit", "OPTIONS", {}};
  ASSERT_TRUE(pipeline::WriteItemRecord(&store, item, r, false).ok());
  const std::string name = pipeline::ItemRecordObjectName(store.layout(), item);
  std::vector<std::string> keys;
  uint64_t bytes = 0;
  auto back = pipeline::ReadItemRecord(&store, name, [&](pipeline::RecordedObject&& o) {
    keys.push_back(o.instrument_key);
    bytes += o.bytes;
  });
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->objects.empty());
  EXPECT_EQ(back->created_at, r.created_at);
  EXPECT_EQ(back->outcome, "done");
  ASSERT_EQ(keys.size(), r.objects.size());
  for (size_t i = 0; i < keys.size(); i += 1999) EXPECT_EQ(keys[i], r.objects[i].instrument_key);
  EXPECT_EQ(bytes, 20000u * 1000 + 19999u * 20000 / 2);
  EXPECT_LE(store.largest, size_t{4} << 20);
  EXPECT_LT(store.largest, text.size());
  // Without a callback the objects are kept, as before.
  auto whole = pipeline::ReadItemRecord(&store, name);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->objects.size(), r.objects.size());
  EXPECT_EQ(whole->objects[12345].name, r.objects[12345].name);
  EXPECT_EQ(pipeline::EncodeItemRecord(*whole), text);
  // Cut in its second piece: not a record.
  auto cut = store.Create(name, true);
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE((*cut)->Append(text.substr(0, (5u << 20) + 17)).ok());
  ASSERT_TRUE((*cut)->Commit().ok());
  auto bad = pipeline::ReadItemRecord(&store, name);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(bad.status().message().find("not a market-tick item record"), std::string::npos) << bad.status().message();
  EXPECT_EQ(pipeline::ReadItemRecord(&store, name + ".none").status().code(), Status::Code::kNotFound);
}

// A record replaced while it is read in pieces is read as one version or
// not at all (a retryable error): never the first version's head joined
// to the second's tail, which can be valid JSON that neither version says.
TEST(ItemRecord, ARecordReplacedBetweenPiecesIsNeverAMixOfBoth) {
  testing::TempDir root("mt-record-replaced-");
  auto store = NewLocalStore(root.path());
  auto make = [](uint64_t first_bytes, uint64_t last_bytes) {
    pipeline::ItemRecord r = OptionsRecord(20000, 10000);
    r.objects.front().bytes = first_bytes;
    r.objects.back().bytes = last_bytes;
    return r;
  };
  // The same length of text: the second version's bytes from any offset
  // continue the first's as JSON.
  const pipeline::ItemRecord a = make(11111, 22222), b = make(33333, 44444);
  ASSERT_EQ(pipeline::EncodeItemRecord(a).size(), pipeline::EncodeItemRecord(b).size());
  ASSERT_GT(pipeline::EncodeItemRecord(a).size(), 5u << 20);  // more than one piece
  const pipeline::WorkItem item{Date{2023, 11, 1}, "trades", "deribit", "OPTIONS", {}};
  ASSERT_TRUE(pipeline::WriteItemRecord(store.get(), item, a, false).ok());
  const std::string name = pipeline::ItemRecordObjectName(store->layout(), item);
  std::vector<uint64_t> bytes;
  auto back = pipeline::ReadItemRecord(store.get(), name, [&](pipeline::RecordedObject&& o) {
    if (bytes.empty()) {
      EXPECT_TRUE(pipeline::WriteItemRecord(store.get(), item, b, true).ok());
    }
    bytes.push_back(o.bytes);
  });
  if (back.ok()) {
    ASSERT_EQ(bytes.size(), 20000u);
    const bool is_a = bytes.front() == 11111 && bytes.back() == 22222;
    const bool is_b = bytes.front() == 33333 && bytes.back() == 44444;
    EXPECT_TRUE(is_a || is_b) << "a mix: first object " << bytes.front() << " bytes, last " << bytes.back();
  } else {
    EXPECT_TRUE(back.status().retryable()) << back.status().ToString();
  }
  // Read again, it is the second version.
  bytes.clear();
  back = pipeline::ReadItemRecord(store.get(), name, [&](pipeline::RecordedObject&& o) { bytes.push_back(o.bytes); });
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(bytes.size(), 20000u);
  EXPECT_EQ(bytes.front(), 33333u);
  EXPECT_EQ(bytes.back(), 44444u);
}

// A record a whole number of pieces long ends with an empty read past its
// end: the same record, on the local store as in memory.
TEST(ItemRecord, ARecordOfExactlyTwoPiecesReadsWhole) {
  testing::TempDir root("mt-record-exact-");
  auto local = NewLocalStore(root.path());
  testing::MemoryStoreDouble memory;
  pipeline::ItemRecord r = OptionsRecord(20000);
  r.tool_version.clear();  // padded below to make the text two pieces exactly
  const size_t two_pieces = size_t{8} << 20;
  const size_t size = pipeline::EncodeItemRecord(r).size();
  ASSERT_LT(size, two_pieces);
  r.tool_version = std::string(two_pieces - size, '1');
  ASSERT_EQ(pipeline::EncodeItemRecord(r).size(), two_pieces);
  const pipeline::WorkItem item{Date{2023, 11, 1}, "trades", "deribit", "OPTIONS", {}};
  for (ObjectStore* store : {local.get(), static_cast<ObjectStore*>(&memory)}) {
    ASSERT_TRUE(pipeline::WriteItemRecord(store, item, r, false).ok());
    auto back = pipeline::ReadItemRecord(store, pipeline::ItemRecordObjectName(store->layout(), item));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->tool_version, r.tool_version);
    ASSERT_EQ(back->objects.size(), r.objects.size());
    EXPECT_EQ(back->objects.back().name, r.objects.back().name);
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

// A grouped item of some 200,000 objects has a record of more than 64 MB
// (about 350 bytes an object): it is read like a small one, not called "not
// a market-tick item record" (which made every rerun download the file
// again and validate call the item missing). Padded with spaces to that
// size here; its objects are decoded one at a time, not held as a JSON tree.
TEST(ItemRecord, ARecordOfMoreThan64MBIsRead) {
  pipeline::ItemRecord r;
  r.item = "2023-11-01/trades/deribit/OPTIONS";
  r.outcome = "done";
  r.rows = 30;
  for (int i = 0; i < 3; i++) {
    const std::string key = "DERIBIT:OPTION:BTC-USD-231102-" + std::to_string(20000 + i) + "-CALL";
    r.objects.push_back({"raw_tick_data/by_date/day-2023-11-01/data_type-trades/" + key + ".parquet", key, 10,
                         static_cast<uint64_t>(1700 + i), "2023-11-01T00:00:00.000000Z", "2023-11-01T00:00:00.027000Z"});
  }
  std::string text = pipeline::EncodeItemRecord(r);
  const size_t brace = text.rfind('}');
  text.insert(brace, (size_t{65} << 20) - text.size() + 1, ' ');
  ASSERT_GT(text.size(), size_t{64} << 20);
  auto back = pipeline::DecodeItemRecord(text, "rec");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->outcome, "done");
  EXPECT_EQ(back->rows, 30u);
  ASSERT_EQ(back->objects.size(), 3u);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(back->objects[i].name, r.objects[i].name);
    EXPECT_EQ(back->objects[i].instrument_key, r.objects[i].instrument_key);
    EXPECT_EQ(back->objects[i].rows, 10u);
    EXPECT_EQ(back->objects[i].bytes, 1700u + i);
    EXPECT_EQ(back->objects[i].last_timestamp, "2023-11-01T00:00:00.027000Z");
  }
}

const Layout kHive(LayoutKind::kHive);

TEST(HiveLayout, NamesHaveThePartitionsAndOnlyPortableBytes) {
  const Date d{2024, 1, 1};
  EXPECT_EQ(kHive.TickObjectName(d, "trades", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"),
            "raw_tick_data/data_type=trades/date=2024-01-01/exchange_id=binance-futures/"
            "BINANCE-FUTURES.PERPETUAL.BTC-USDT.parquet");
  EXPECT_EQ(kHive.DerivedObjectName(d, "trade_bar_1m", "bitmex", "BITMEX:PERPETUAL:BTC-USD"),
            "derived_data/data_type=trade_bar_1m/date=2024-01-01/exchange_id=bitmex/BITMEX.PERPETUAL.BTC-USD.parquet");
  EXPECT_EQ(kHive.InstrumentsObjectName(d), "instrument_availability/date=2024-01-01/instruments.parquet");
  EXPECT_EQ(kHive.InstrumentsAggregateName(d, Date{2024, 1, 31}),
            "instrument_availability_aggregate/instruments_20240101_20240131.parquet");
  EXPECT_EQ(kHive.MissingReportObjectName(d), "missing_data_reports/date=2024-01-01/missing_data.parquet");
  EXPECT_EQ(kHive.ItemRecordName(d, "options_chain", "deribit", "OPTIONS"),
            "raw_tick_data/data_type=options_chain/date=2024-01-01/exchange_id=deribit/_items/OPTIONS.json");
  EXPECT_FALSE(kHive.ParseTickObjectName(kHive.ItemRecordName(d, "trades", "deribit", "BTC-PERPETUAL")));
  EXPECT_EQ(kHive.DayListPrefix(d, "trades", false), "raw_tick_data/data_type=trades/date=2024-01-01/");
  EXPECT_EQ(kHive.DataTypeGlob("trades", false), "raw_tick_data/data_type=trades/*/*/*.parquet");
  EXPECT_EQ(Layout().DataTypeGlob("trades", false), "raw_tick_data/by_date/day-*/data_type-trades/*.parquet");
  // Every name of a hive store: A-Z a-z 0-9 . _ = - and '/', '=' only in partition folders.
  const std::string key = "BITFINEX-DERIVATIVES:PERPETUAL:BTCF0:USTF0";
  const std::string name = kHive.TickObjectName(d, "trades", "bitfinex-derivatives", key);
  for (char c : name) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '=' || c == '-' ||
                c == '/')
        << name;
  }
  EXPECT_EQ(name.substr(name.rfind('/')).find('='), std::string::npos) << name;
  auto back = kHive.ParseTickObjectName(name);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->instrument_key, key);
  EXPECT_EQ(back->data_type, "trades");
  EXPECT_EQ(back->day, d);
}

TEST(HiveLayout, PartitionValuesAreTheNamesThemselves) {
  const Date d{2024, 1, 1};
  // '_' before two hex digits stays in a partition value (the file-name rule
  // would write book_snapshot_5F25, and query engines would show that).
  EXPECT_EQ(kHive.TickObjectName(d, "book_snapshot_25", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"),
            "raw_tick_data/data_type=book_snapshot_25/date=2024-01-01/exchange_id=binance-futures/"
            "BINANCE-FUTURES.PERPETUAL.BTC-USDT.parquet");
  EXPECT_EQ(kHive.DerivedObjectName(d, "trade_bar_100ticks", "bitmex", "BITMEX:PERPETUAL:XBT-USD"),
            "derived_data/data_type=trade_bar_100ticks/date=2024-01-01/exchange_id=bitmex/BITMEX.PERPETUAL.XBT-USD.parquet");
  EXPECT_EQ(kHive.DataTypePrefix("incremental_book_L2", false), "raw_tick_data/data_type=incremental_book_L2/");
  EXPECT_EQ(kHive.DayListPrefix(d, "book_snapshot_25", false), "raw_tick_data/data_type=book_snapshot_25/date=2024-01-01/");
  EXPECT_EQ(kHive.ItemRecordName(d, "book_snapshot_25", "deribit", "OPTIONS"),
            "raw_tick_data/data_type=book_snapshot_25/date=2024-01-01/exchange_id=deribit/_items/OPTIONS.json");
  const auto back = kHive.ParseTickObjectName(
      kHive.TickObjectName(d, "book_snapshot_25", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->data_type, "book_snapshot_25");
  EXPECT_EQ(back->exchange, "binance-futures");
  EXPECT_EQ(back->instrument_key, "BINANCE-FUTURES:PERPETUAL:BTC-USDT");
  bool derived = false;
  EXPECT_EQ(kHive.DataTypeOfName(kHive.DerivedObjectName(d, "trade_bar_100ticks", "bitmex", "BITMEX:PERPETUAL:XBT-USD"),
                                 &derived),
            "trade_bar_100ticks");
  EXPECT_TRUE(derived);
  // Values outside the grammars' bytes are escaped, never a '/', '=', ".." or hidden folder.
  for (const char* v : {"a/b", "a=b", ".", "..", ".x", "a..b", "", "a:b"}) {
    const std::string p = HivePartitionValue(v);
    EXPECT_EQ(p, HiveNameComponent(v)) << v;
    EXPECT_TRUE(IsSafeObjectName("x=" + p)) << p;
  }
  EXPECT_EQ(HivePartitionValue("a.b_5F-c"), "a.b_5F-c");
  const std::string long_value(kMaxComponentBytes, 'a');
  EXPECT_EQ(HivePartitionValue(long_value).size(), kMaxComponentBytes - 8);
}

TEST(HiveLayout, AVersion1StoreKeepsItsExchangePartitionName) {
  // Hive stores recorded before the exchange partition became exchange_id
  // (BigQuery refuses a partition key that is also a column of the files)
  // keep `exchange`; a layout reads its own names only, so one store never
  // holds both.
  const Date d{2024, 1, 1};
  const Layout v1(LayoutKind::kHive, Layout::kHiveExchangeV1);
  const std::string old_name = v1.TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD");
  EXPECT_EQ(old_name,
            "raw_tick_data/data_type=trades/date=2024-01-01/exchange=bitmex/BITMEX.PERPETUAL.XBT-USD.parquet");
  EXPECT_EQ(v1.DerivedObjectName(d, "trade_bar_1m", "bitmex", "BITMEX:PERPETUAL:XBT-USD"),
            "derived_data/data_type=trade_bar_1m/date=2024-01-01/exchange=bitmex/BITMEX.PERPETUAL.XBT-USD.parquet");
  EXPECT_EQ(v1.ItemRecordName(d, "trades", "deribit", "OPTIONS"),
            "raw_tick_data/data_type=trades/date=2024-01-01/exchange=deribit/_items/OPTIONS.json");
  const auto back = v1.ParseTickObjectName(old_name);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->exchange, "bitmex");
  EXPECT_EQ(back->instrument_key, "BITMEX:PERPETUAL:XBT-USD");
  EXPECT_FALSE(kHive.ParseTickObjectName(old_name));
  EXPECT_FALSE(v1.ParseTickObjectName(kHive.TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD")));
  EXPECT_FALSE(v1 == kHive);
  EXPECT_TRUE(Layout(LayoutKind::kByDate, Layout::kHiveExchangeV1) == Layout());
}

TEST(HiveLayout, TheColonRuleIsReversibleForEveryInput) {
  EXPECT_EQ(HiveNameComponent("BINANCE:SPOT_PAIR:BTC-USDT"), "BINANCE.SPOT_PAIR.BTC-USDT");
  EXPECT_EQ(HiveNameComponent("A:B.C"), "A.B_2EC");        // a '.' of the key is escaped
  EXPECT_EQ(HiveNameComponent("X:A_BC"), "X.A_5FBC");      // '_' before two hex digits is escaped
  EXPECT_EQ(HiveNameComponent("X:A_B."), "X.A_B_2E");      // ... elsewhere it stays
  EXPECT_EQ(HiveNameComponent(":A::B:"), "_3AA._3AB_3A");  // never a leading, doubled or trailing '.'
  const std::string cases[] = {"", "_", "__", ".", "..", ":", "::", "_3A", "A_3A", "A.B", "A:B", "_5F", "a=b",
                               "DERIBIT:UNKEYED:a/b\\c", std::string("\x00\xff", 2), "x_", "_x", "%", "~",
                               "DERIBIT:OPTION:XRP-USDC-250228-0.625-CALL", "OKX-OPTIONS:OPTION:BTC-USD_UM-260626"};
  std::set<std::string> seen;
  for (const std::string& s : cases) {
    const std::string c = HiveNameComponent(s);
    EXPECT_FALSE(c.empty());
    EXPECT_NE(c.front(), '.') << c;
    EXPECT_NE(c.back(), '.') << c;
    EXPECT_EQ(c.find(".."), std::string::npos) << c;
    for (char ch : c) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-') << c;
    const auto back = UnescapeHiveNameComponent(c);
    ASSERT_TRUE(back) << c;
    EXPECT_EQ(*back, s) << c;
    EXPECT_TRUE(seen.insert(c).second) << "two inputs give " << c;
  }
  // Random strings over the bytes that matter: encode, decode, compare.
  const char alphabet[] = {':', '_', '.', 'A', 'F', '3', '5', 'x', '-', '/', '='};
  uint64_t state = 12345;
  for (int n = 0; n < 20000; n++) {
    std::string s;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t len = (state >> 60) & 7;
    for (size_t i = 0; i < len; i++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      s.push_back(alphabet[(state >> 33) % sizeof alphabet]);
    }
    const auto back = UnescapeHiveNameComponent(HiveNameComponent(s));
    ASSERT_TRUE(back) << s;
    ASSERT_EQ(*back, s) << HiveNameComponent(s);
  }
}

TEST(HiveLayout, LongNamesAreCutWithAHashAndNotMistakenForNames) {
  const std::string a = "DERIBIT:UNKEYED:" + std::string(300, 'A');
  const std::string b = "DERIBIT:UNKEYED:" + std::string(299, 'A') + "B";
  const std::string ca = HiveNameComponent(a), cb = HiveNameComponent(b);
  EXPECT_EQ(ca.size(), kMaxComponentBytes - 8);
  EXPECT_NE(ca, cb);
  EXPECT_FALSE(UnescapeHiveNameComponent(ca));
  const std::string longest = std::string(kMaxComponentBytes - 9, 'A');  // one byte short: kept whole
  EXPECT_EQ(HiveNameComponent(longest), longest);
  EXPECT_EQ(UnescapeHiveNameComponent(longest), longest);
  const std::string dots = HiveNameComponent(std::string(250, '.'));
  EXPECT_EQ(dots.size(), kMaxComponentBytes - 8);
  EXPECT_TRUE(IsSafeObjectName("x/" + dots + ".parquet")) << dots;
}

TEST(LayoutRecord, ParsesWhatItWritesAndRejectsAnythingElse) {
  for (LayoutKind k : {LayoutKind::kByDate, LayoutKind::kHive}) {
    auto back = ParseStoreRecord(StoreRecordJson(k), "r");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->kind(), k);
    EXPECT_EQ(back->hive_version(), Layout::kHiveCurrent);
  }
  // Hive stores are recorded as version 2 (the exchange partition is
  // exchange_id); by_date stays version 1, which older binaries read.
  EXPECT_EQ(StoreRecordJson(LayoutKind::kHive), "{\"format_version\":2,\"layout\":\"hive\"}\n");
  EXPECT_EQ(StoreRecordJson(LayoutKind::kByDate), "{\"format_version\":1,\"layout\":\"by_date\"}\n");
  // A hive store recorded as version 1 keeps its `exchange` partition, and
  // its record is written back as it was.
  auto v1 = ParseStoreRecord("{\"format_version\":1,\"layout\":\"hive\"}", "r");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->hive_version(), Layout::kHiveExchangeV1);
  EXPECT_STREQ(v1->ExchangeKey(), "exchange");
  EXPECT_EQ(StoreRecordJson(*v1), "{\"format_version\":1,\"layout\":\"hive\"}\n");
  for (const char* bad : {"", "[]", "{\"format_version\":1}", "{\"format_version\":1,\"layout\":\"flat\"}",
                          "{\"layout\":\"hive\"}", "{\"format_version\":3,\"layout\":\"hive\"}",
                          "{\"format_version\":0,\"layout\":\"hive\"}"}) {
    auto r = ParseStoreRecord(bad, "gs://b/market-tick-store.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kUsage) << bad;
    EXPECT_NE(r.status().message().find("gs://b/market-tick-store.json"), std::string::npos);
  }
}

TEST(LayoutRecord, AStoreKeepsTheLayoutItWasFirstWrittenWith) {
  testing::MemoryStoreDouble store;
  // Empty store, hive asked for: decided, but nothing written until a job records it.
  ASSERT_TRUE(ResolveStoreLayout(&store, LayoutKind::kHive).ok());
  EXPECT_EQ(store.layout().kind(), LayoutKind::kHive);
  EXPECT_TRUE(store.Names().empty());
  ASSERT_TRUE(RecordStoreLayout(&store).ok());
  EXPECT_EQ(*store.Read(kStoreRecordName), StoreRecordJson(LayoutKind::kHive));
  ASSERT_TRUE(RecordStoreLayout(&store).ok());  // again: the same record, nothing changes
  // Later commands without --layout get it; one asking for by_date is refused.
  store.set_layout(Layout());
  ASSERT_TRUE(ResolveStoreLayout(&store, std::nullopt).ok());
  EXPECT_EQ(store.layout().kind(), LayoutKind::kHive);
  const Status st = ResolveStoreLayout(&store, LayoutKind::kByDate);
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_NE(st.message().find("is a hive store"), std::string::npos) << st.message();
}

// A hive store written before the exchange partition became exchange_id: by
// its version 1 record, or, without a record, by its objects' names, it stays
// a version 1 store (new objects are named as its old ones), and its record
// is written as version 1. A hive store whose tick objects use exchange_id,
// or that holds none yet (a stray file of another tool aside), is a current one.
TEST(LayoutRecord, AVersion1HiveStoreKeepsNamingItsExchangePartitionExchange) {
  const Date d{2024, 1, 1};
  const Layout v1(LayoutKind::kHive, Layout::kHiveExchangeV1);
  {
    testing::MemoryStoreDouble store;
    store.Put(kStoreRecordName, "{\"format_version\":1,\"layout\":\"hive\"}\n");
    ASSERT_TRUE(ResolveStoreLayout(&store, LayoutKind::kHive).ok());
    EXPECT_TRUE(store.layout() == v1);
    EXPECT_EQ(store.layout().TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD"),
              "raw_tick_data/data_type=trades/date=2024-01-01/exchange=bitmex/BITMEX.PERPETUAL.XBT-USD.parquet");
    ASSERT_TRUE(RecordStoreLayout(&store).ok());  // the record agrees: nothing to write
  }
  {
    testing::MemoryStoreDouble store;  // no record: its objects decide
    store.Put("instrument_availability/date=2024-01-01/instruments.parquet", "x");
    store.Put(v1.TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD"), "x");
    ASSERT_TRUE(ResolveStoreLayout(&store, std::nullopt).ok());
    EXPECT_TRUE(store.layout() == v1);
    ASSERT_TRUE(RecordStoreLayout(&store).ok());
    EXPECT_EQ(*store.Read(kStoreRecordName), "{\"format_version\":1,\"layout\":\"hive\"}\n");
  }
  {
    // Files of other tools and folder placeholders, which sort before the
    // date= folders, name no exchange partition and are passed over: the
    // first object that names one decides (it read as a current store, and
    // new objects went to exchange_id= beside the old exchange= ones).
    testing::MemoryStoreDouble store;
    store.Put("raw_tick_data/data_type=trades/.DS_Store", "x");
    store.Put("raw_tick_data/data_type=trades/", "");
    store.Put("raw_tick_data/data_type=trades/_SUCCESS", "");
    store.Put(v1.TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD"), "x");
    ASSERT_TRUE(ResolveStoreLayout(&store, std::nullopt).ok());
    EXPECT_TRUE(store.layout() == v1);
  }
  for (bool with_ticks : {false, true}) {
    testing::MemoryStoreDouble store;
    store.Put("instrument_availability/date=2024-01-01/instruments.parquet", "x");
    const Layout current(LayoutKind::kHive);
    store.Put("raw_tick_data/data_type=trades/.DS_Store", "x");  // no exchange partition: tells nothing
    if (with_ticks) store.Put(current.TickObjectName(d, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD"), "x");
    ASSERT_TRUE(ResolveStoreLayout(&store, std::nullopt).ok());
    EXPECT_EQ(store.layout().hive_version(), Layout::kHiveCurrent) << with_ticks;
    EXPECT_STREQ(store.layout().ExchangeKey(), "exchange_id");
  }
}

TEST(LayoutRecord, ByDateObjectsWithoutARecordAreByDate) {
  testing::MemoryStoreDouble store;
  store.Put(Layout().TickObjectName(Date{2024, 1, 1}, "trades", "bitmex", "BITMEX:PERPETUAL:XBT-USD"), "PAR1");
  const Status st = ResolveStoreLayout(&store, LayoutKind::kHive);
  EXPECT_EQ(st.code(), Status::Code::kUsage) << st.message();
  EXPECT_NE(st.message().find("holds by_date objects"), std::string::npos) << st.message();
  ASSERT_TRUE(ResolveStoreLayout(&store, std::nullopt).ok());
  EXPECT_EQ(store.layout().kind(), LayoutKind::kByDate);
  EXPECT_FALSE(store.Exists(kStoreRecordName).value());
  ASSERT_TRUE(RecordStoreLayout(&store).ok());
  EXPECT_EQ(*store.Read(kStoreRecordName), StoreRecordJson(LayoutKind::kByDate));
}

TEST(LayoutRecord, OfTwoFirstWritersRacingOneLayoutIsRecordedAndTheOtherWritesNothing) {
  // Another run's record appears between this run's read and its create-only
  // write (the double's first read of the record does not see it).
  class RacingStore : public testing::MemoryStoreDouble {
   public:
    explicit RacingStore(Layout other) : other_(other) {}
    Result<std::string> Read(const std::string& name) override {
      if (name == kStoreRecordName && !raced_) {
        raced_ = true;
        Put(kStoreRecordName, StoreRecordJson(other_));
        return Status::NotFound(name);
      }
      return MemoryStoreDouble::Read(name);
    }
    Layout other_;
    bool raced_ = false;
  };
  RacingStore same{Layout(LayoutKind::kHive)};
  same.set_layout(Layout(LayoutKind::kHive));
  EXPECT_TRUE(RecordStoreLayout(&same).ok());
  RacingStore other{Layout(LayoutKind::kHive)};  // this run writes by_date
  const Status st = RecordStoreLayout(&other);
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_NE(st.message().find("recorded as a hive store by another run"), std::string::npos) << st.message();
  EXPECT_EQ(*other.Read(kStoreRecordName), StoreRecordJson(LayoutKind::kHive));
  EXPECT_EQ(other.Names().size(), 1u);
  // An older binary won with a version 1 hive record: this run (version 2)
  // writes nothing, and is told the two partition names and what to do.
  const Layout v1(LayoutKind::kHive, Layout::kHiveExchangeV1);
  RacingStore older(v1);
  older.set_layout(Layout(LayoutKind::kHive));
  const Status vs = RecordStoreLayout(&older);
  EXPECT_EQ(vs.code(), Status::Code::kUsage);
  EXPECT_NE(vs.message().find("format version 1 (exchange partition exchange=)"), std::string::npos)
      << vs.message();
  EXPECT_NE(vs.message().find("names it exchange_id="), std::string::npos) << vs.message();
  EXPECT_NE(vs.message().find("run it again"), std::string::npos) << vs.message();
  EXPECT_EQ(*older.Read(kStoreRecordName), StoreRecordJson(v1));
  EXPECT_EQ(older.Names().size(), 1u);
}

}  // namespace
}  // namespace mt::storage
