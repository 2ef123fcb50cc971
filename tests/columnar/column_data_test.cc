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

}  // namespace
}  // namespace mt::columnar
