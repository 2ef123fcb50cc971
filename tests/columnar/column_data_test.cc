#include "columnar/column_data.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mt::columnar {
namespace {

TEST(StringColumn, ConstantRunThenOtherValues) {
  StringColumn c;
  c.Reserve(100);
  for (int i = 0; i < 5; i++) c.Append("binance-futures");
  EXPECT_TRUE(c.constant());
  EXPECT_EQ(c.size(), 5u);
  EXPECT_TRUE(c.CanRepeatLast());
  c.RepeatLast();
  EXPECT_EQ(c.Get(5), "binance-futures");
  c.Append("deribit");
  EXPECT_FALSE(c.constant());
  ASSERT_EQ(c.size(), 7u);
  EXPECT_EQ(c.indices(), (PodVector<uint32_t>{0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(c.Get(0), "binance-futures");
  EXPECT_EQ(c.Get(6), "deribit");
}

// AppendKeyed (values of 1 to 7 bytes, found among the first four
// dictionary entries without a branch) gives the column Append gives: the
// same dictionary, the same value in every row, in and out of the first four
// entries, for values that differ only in length or case, after Clear, and
// once the column has gone plain.
TEST(StringColumn, AppendKeyedMatchesAppend) {
  const std::vector<std::string> values = {"buy", "sell", "bid", "ask", "a", "ab", "abcdefg", "abcdefgh",
                                           std::string("a\0", 2), "BUY", "unknown-side"};
  std::mt19937 rng(7);
  auto append = [](StringColumn* c, const std::string& v) {
    if (!v.empty() && v.size() <= 7) {
      c->AppendKeyed(v, StringColumn::ShortKey(v));
    } else {
      c->Append(v);
    }
  };
  auto expect_same = [](const StringColumn& a, const StringColumn& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    EXPECT_EQ(a.dict_mode(), b.dict_mode()) << what;
    EXPECT_EQ(a.dict(), b.dict()) << what;
    for (size_t i = 0; i < a.size(); i++) ASSERT_EQ(a.Get(i), b.Get(i)) << what << " row " << i;
  };
  StringColumn a, b;
  for (int round = 0; round < 3; round++) {
    // Round 0 starts with a run of one value (the constant mode), the others
    // with whatever the generator gives.
    for (int i = 0; i < 5000; i++) {
      const std::string& v = values[round == 0 && i < 50 ? 2 : rng() % values.size()];
      a.Append(v);
      append(&b, v);
    }
    expect_same(a, b, "dictionary");
    EXPECT_TRUE(b.dict_mode());
    EXPECT_EQ(b.dict().size(), values.size());
    a.Clear(true);
    b.Clear(true);
  }
  // Short distinct values: the probe turns both columns plain.
  for (size_t i = 0; i < StringColumn::kDistinctProbe + 100; i++) {
    const std::string v = "v" + std::to_string(i);
    a.Append(v);
    append(&b, v);
  }
  for (const char* v : {"buy", "sell", "v7"}) {
    a.Append(v);
    append(&b, v);
  }
  EXPECT_FALSE(b.dict_mode());
  expect_same(a, b, "plain");
}

TEST(StringColumn, FallsBackToPlainFromConstantMode) {
  StringColumn c;
  for (int i = 0; i < 3; i++) c.Append("x");
  for (size_t i = 0; i < StringColumn::kMaxDictEntries + 10; i++) c.Append(std::to_string(i));
  EXPECT_FALSE(c.dict_mode());
  ASSERT_EQ(c.size(), 3 + StringColumn::kMaxDictEntries + 10);
  EXPECT_EQ(c.Get(0), "x");
  EXPECT_EQ(c.Get(2), "x");
  EXPECT_EQ(c.Get(3), "0");
  EXPECT_EQ(c.Get(c.size() - 1), std::to_string(StringColumn::kMaxDictEntries + 9));
}

TEST(StringColumn, AllDistinctValuesGoPlainAfterTheProbe) {
  StringColumn c;
  const size_t probe = StringColumn::kDistinctProbe;
  for (size_t i = 0; i < probe; i++) c.Append("id" + std::to_string(i));
  ASSERT_TRUE(c.dict_mode());
  EXPECT_EQ(c.dict().size(), probe);
  c.Append("id" + std::to_string(probe));  // one more distinct value: no dictionary
  EXPECT_FALSE(c.dict_mode());
  ASSERT_EQ(c.size(), probe + 1);
  EXPECT_EQ(c.Get(0), "id0");
  EXPECT_EQ(c.Get(probe - 1), "id" + std::to_string(probe - 1));
  EXPECT_EQ(c.Get(probe), "id" + std::to_string(probe));
}

TEST(StringColumn, RecurringValuesKeepTheDictionaryPastTheProbe) {
  // An options chain: thousands of instruments, each recurring.
  StringColumn c;
  const size_t probe = StringColumn::kDistinctProbe;
  for (size_t i = 0; i < probe; i++) c.Append("BTC-" + std::to_string(i));
  c.Append("BTC-7");  // a repeat before the next new value
  for (size_t i = probe; i < probe + 100; i++) c.Append("BTC-" + std::to_string(i));
  ASSERT_TRUE(c.dict_mode());
  EXPECT_EQ(c.dict().size(), probe + 100);
  ASSERT_EQ(c.size(), probe + 101);
  EXPECT_EQ(c.indices()[probe], 7u);
  EXPECT_EQ(c.Get(probe + 100), "BTC-" + std::to_string(probe + 99));
}

// Definition levels stay empty until a null arrives, then hold one byte per
// row; joining row ranges keeps that form whichever side had the nulls.
TEST(ColumnData, DefinitionLevelsAreKeptOnlyOnceANullArrives) {
  auto make = [](std::vector<int> values) {  // -1: null
    RowGroupData rg = MakeRowGroup({{"x", ColumnKind::kDouble, true}});
    ColumnData& c = rg.columns[0];
    for (int v : values) {
      if (v < 0) {
        c.AddNull(rg.num_rows);
      } else {
        c.AddDefined();
        c.f64.push_back(v);
      }
      rg.num_rows++;
    }
    return rg;
  };
  const RowGroupData none = make({1, 2, 3});
  EXPECT_TRUE(none.columns[0].defined.empty());
  const RowGroupData late = make({1, 2, -1, 4});
  EXPECT_EQ(late.columns[0].defined, (PodVector<uint8_t>{1, 1, 0, 1}));
  EXPECT_EQ(late.columns[0].null_count, 1u);

  // Rows without a null from a source with nulls: still no levels.
  RowGroupData dst = make({7});
  std::vector<size_t> cursor(1, 0);
  AppendRows(late, 0, 2, &cursor, &dst);
  EXPECT_TRUE(dst.columns[0].defined.empty());
  // Then the null: levels for every row so far.
  AppendRows(late, 2, 4, &cursor, &dst);
  EXPECT_EQ(dst.columns[0].defined, (PodVector<uint8_t>{1, 1, 1, 0, 1}));
  // Then rows of a source without levels: ones.
  cursor.assign(1, 0);
  AppendRows(none, 0, 2, &cursor, &dst);
  EXPECT_EQ(dst.columns[0].defined, (PodVector<uint8_t>{1, 1, 1, 0, 1, 1, 1}));
  EXPECT_EQ(dst.columns[0].null_count, 1u);
  EXPECT_EQ(dst.num_rows, 7u);
  EXPECT_EQ(dst.columns[0].f64, (PodVector<double>{7, 1, 2, 4, 1, 2}));
  EXPECT_FALSE(dst.columns[0].IsDefined(3));
  EXPECT_TRUE(dst.columns[0].IsDefined(6));
}

// An encoded column gives its memory back: no values, no capacity, the same
// kind and nullability, and it can be filled again.
TEST(ColumnData, ReleaseFreesValuesAndKeepsTheColumnsType) {
  RowGroupData rg = MakeRowGroup({{"ts", ColumnKind::kTimestampMicros, false},
                                  {"id", ColumnKind::kString, true},
                                  {"amount", ColumnKind::kDouble, true}});
  for (int i = 0; i < 1000; i++) {
    rg.columns[0].i64.push_back(i);
    rg.columns[1].str.Append(std::to_string(1000000 + i));  // all distinct
    if (i == 3) {
      rg.columns[2].AddNull(static_cast<size_t>(i));
    } else {
      rg.columns[2].AddDefined();
      rg.columns[2].f64.push_back(i * 0.5);
    }
    rg.num_rows++;
  }
  ASSERT_GT(rg.columns[2].defined.capacity(), 0u);
  for (ColumnData& c : rg.columns) c.Release();
  EXPECT_EQ(rg.columns[0].kind, ColumnKind::kTimestampMicros);
  EXPECT_FALSE(rg.columns[0].nullable);
  EXPECT_EQ(rg.columns[1].kind, ColumnKind::kString);
  EXPECT_TRUE(rg.columns[2].nullable);
  for (const ColumnData& c : rg.columns) {
    EXPECT_EQ(c.num_values(), 0u);
    EXPECT_EQ(c.MemoryBytes(), 0u);
    EXPECT_EQ(c.null_count, 0u);
    EXPECT_EQ(c.i64.capacity() + c.f64.capacity() + c.defined.capacity(), 0u);
  }
  rg.columns[1].str.Append("again");
  EXPECT_EQ(rg.columns[1].str.Get(0), "again");
}

TEST(StringColumn, EmptyStringIsAValue) {
  StringColumn c;
  c.Append("");
  c.Append("");
  EXPECT_TRUE(c.constant());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.Get(1), "");
}

// Thousands of option symbols in random order (a grouped file): past 64
// entries lookups go through Intern's direct-mapped cache, whose slots
// collide. Symbols that differ in one byte only, at every position of 9 to 30
// byte values, check that the word-wise compare sees every byte.
TEST(StringColumn, ManyRecurringSymbolsKeepTheirIndicesAfterClear) {
  std::vector<std::string> symbols;
  for (int i = 0; i < 3000; i++) {
    symbols.push_back(std::string(i % 2 ? "BTC" : "ETH") + "-" + std::to_string(1 + i % 28) + "DEC24-" +
                      std::to_string(20000 + 25 * i) + (i % 4 < 2 ? "-C" : "-P"));
  }
  for (size_t n = 9; n <= 30; n++) {
    for (size_t at = 0; at < n; at++) {
      std::string s(n, 'a');
      s[at] = 'b';
      symbols.push_back(s);
    }
    symbols.push_back(std::string(n, 'a'));
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, symbols.size() - 1);
  StringColumn c;
  for (int round = 0; round < 2; round++) {
    c.Clear(true);
    std::vector<size_t> rows;
    for (int r = 0; r < 50000; r++) {
      rows.push_back(pick(rng));
      c.Append(symbols[rows.back()]);
    }
    ASSERT_TRUE(c.dict_mode());
    EXPECT_EQ(c.dict().size(), symbols.size());
    for (size_t r = 0; r < rows.size(); r++) ASSERT_EQ(c.Get(r), symbols[rows[r]]) << "row " << r;
  }
}

// Clear(.., keep_dict) keeps a small dictionary for the next rows (a parsed
// block): the values read back are the new rows' only, the dictionary keeps
// its order and grows; a plain restart, or a dictionary past the bound,
// starts empty.
TEST(StringColumn, ClearKeepsASmallDictionaryOnRequest) {
  StringColumn c;
  for (const char* v : {"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "a"}) c.Append(v);
  ASSERT_EQ(c.dict().size(), 6u);
  c.Clear(true, /*keep_dict=*/true);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.CanRepeatLast());
  for (const char* v : {"ffffff", "g", "a", "ffffff"}) c.Append(v);
  EXPECT_EQ(c.dict(), (std::vector<std::string>{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"}));
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c.indices(), (PodVector<uint32_t>{5, 6, 0, 5}));
  EXPECT_EQ(c.Get(1), "g");
  EXPECT_EQ(c.ValueBytes(), 14u);  // the rows' values, not the dictionary's
  c.Clear(true);  // not kept
  c.Append("g");
  EXPECT_EQ(c.dict(), (std::vector<std::string>{"g"}));
  EXPECT_TRUE(c.constant());
  c.Clear(false, true);  // plain from now: nothing to keep
  c.Append("g");
  EXPECT_FALSE(c.dict_mode());
  c.Clear(true, true);
  for (size_t i = 0; i <= StringColumn::kKeepDictEntries; i++) c.Append("s" + std::to_string(i % 7000) + "-" + std::to_string(i));
  c.Append("s0-0");  // a repeat: still a dictionary
  ASSERT_TRUE(c.dict_mode());
  c.Clear(true, true);  // too big to keep
  c.Append("x");
  EXPECT_EQ(c.dict().size(), 1u);
}

// AppendRange (the join of parsed blocks) gives what appending the values
// one by one gives, dictionary order included, while it reuses its index map
// across calls: the source's dictionary kept and grown across Clear, the
// destination replaced (a new batch), copied, or turned plain.
TEST(StringColumn, AppendRangeMatchesAppendWithKeptDictionaries) {
  std::vector<std::string> symbols;
  for (int i = 0; i < 400; i++) symbols.push_back("BTC-" + std::to_string(i) + "NOV23-" + std::to_string(30000 + i) + "-C");
  std::mt19937 rng(3);
  StringColumn src;
  StringColumn dst, want;
  std::vector<std::string> rows;
  for (int block = 0; block < 40; block++) {
    src.Clear(true, /*keep_dict=*/true);
    rows.clear();
    // Later blocks use later symbols: the kept dictionary grows, and holds
    // entries the block does not use.
    for (int r = 0; r < 300; r++) rows.push_back(symbols[(block * 8 + rng() % 80) % symbols.size()]);
    for (const std::string& v : rows) src.Append(v);
    if (block % 10 == 9) {
      dst = StringColumn();  // a new batch
      want = StringColumn();
    } else if (block == 14) {
      // A copy grows apart from its original: a map made for the one must
      // not serve the other.
      StringColumn copy = dst;
      copy.Append("only-in-the-copy");
      copy.AppendRange(src, 0, src.size());
      EXPECT_EQ(copy.Get(copy.size() - 1), rows.back());
    }
    const size_t mid = rows.size() / 3;
    dst.AppendRange(src, 0, mid);
    dst.AppendRange(src, mid, rows.size());
    for (const std::string& v : rows) want.Append(v);
    ASSERT_EQ(dst.dict(), want.dict()) << "block " << block;
    ASSERT_EQ(dst.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) ASSERT_EQ(dst.Get(i), want.Get(i)) << "block " << block << " row " << i;
  }
  EXPECT_GT(src.dict().size(), 300u);  // kept across the blocks
  // A destination whose dictionary fills part way through a range goes
  // plain there; the values stay right, and the next call (the map now of a
  // dictionary that is gone) too.
  StringColumn big;
  big.Append("v0x");
  for (size_t i = 0; i < StringColumn::kMaxDictEntries - 6; i++) big.Append("v" + std::to_string(i) + "x");
  ASSERT_TRUE(big.dict_mode());
  StringColumn full;
  for (int i = 0; i < 10; i++) full.Append("other" + std::to_string(i));
  full.AppendRange(big, 0, big.size());
  EXPECT_FALSE(full.dict_mode());
  full.AppendRange(big, 5, 7);
  ASSERT_EQ(full.size(), 10 + big.size() + 2);
  EXPECT_EQ(full.Get(9), "other9");
  EXPECT_EQ(full.Get(10), "v0x");
  EXPECT_EQ(full.Get(10 + big.size() - 1), "v" + std::to_string(StringColumn::kMaxDictEntries - 7) + "x");
  EXPECT_EQ(full.Get(10 + big.size() + 1), "v5x");
}

}  // namespace
}  // namespace mt::columnar
