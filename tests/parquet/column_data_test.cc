#include "parquet/column_data.h"

#include <gtest/gtest.h>

namespace mt::parquet {
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
  EXPECT_EQ(c.indices(), (std::vector<uint32_t>{0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(c.Get(0), "binance-futures");
  EXPECT_EQ(c.Get(6), "deribit");
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

TEST(StringColumn, EmptyStringIsAValue) {
  StringColumn c;
  c.Append("");
  c.Append("");
  EXPECT_TRUE(c.constant());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.Get(1), "");
}

}  // namespace
}  // namespace mt::parquet
