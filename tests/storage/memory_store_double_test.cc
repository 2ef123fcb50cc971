// The in-memory store double keeps the ObjectStore contract the tests that
// use it rely on: visible only after Commit, create-only refuses an existing
// object, Abort leaves nothing, conditional writes lose to a newer version,
// List by prefix in name order.
#include "support/memory_store_double.h"

#include <gtest/gtest.h>

namespace mt::testing {
namespace {

Status Write(storage::ObjectStore& store, const std::string& name, const std::string& bytes, bool overwrite) {
  auto w = store.Create(name, overwrite);
  if (!w.ok()) return w.status();
  MT_RETURN_IF_ERROR((*w)->Append(bytes));
  return (*w)->Commit();
}

TEST(MemoryStoreDouble, KeepsTheObjectStoreContract) {
  MemoryStoreDouble store;
  auto w = store.Create("a/x", false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("hello").ok());
  EXPECT_FALSE(*store.Exists("a/x"));  // not before Commit
  EXPECT_EQ((*w)->bytes_written(), 5u);
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(*store.Read("a/x"), "hello");
  EXPECT_EQ(Write(store, "a/x", "other", false).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*store.Read("a/x"), "hello");
  ASSERT_TRUE(Write(store, "a/x", "again", true).ok());
  EXPECT_EQ(*store.ReadRange("a/x", 1, 3), "gai");
  auto aborted = store.Create("a/y", true);
  ASSERT_TRUE((*aborted)->Append("lost").ok());
  (*aborted)->Abort();
  EXPECT_FALSE(*store.Exists("a/y"));
  EXPECT_EQ(store.Read("a/y").status().code(), Status::Code::kNotFound);
  store.Put("b/z", "planted");
  store.Put("a/w", "w");
  auto list = store.List("a/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a/w");
  EXPECT_EQ((*list)[1].name, "a/x");
  EXPECT_EQ((*list)[1].size, 5u);
  // Read-modify-write: the writer of an older generation loses, nothing changes.
  auto v = store.ReadVersioned("a/x");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->bytes, "again");
  EXPECT_GT(v->generation, 0);
  auto stale = store.CreateIfGeneration("a/x", v->generation);
  ASSERT_TRUE(Write(store, "a/x", "newer", true).ok());
  ASSERT_TRUE((*stale)->Append("stale").ok());
  EXPECT_EQ((*stale)->Commit().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*store.Read("a/x"), "newer");
  EXPECT_EQ(store.ReadVersioned("a/none")->generation, 0);
}

}  // namespace
}  // namespace mt::testing
