#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace mt {
namespace {

TEST(ParallelFor, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 4, 16}) {
    std::vector<std::atomic<int>> hits(1000);
    const Status st = ParallelFor(hits.size(), ParallelOptions{threads, nullptr}, [&](size_t i) {
      hits[i]++;
      return Status::OK();
    });
    EXPECT_TRUE(st.ok());
    for (size_t i = 0; i < hits.size(); i++) ASSERT_EQ(hits[i].load(), 1) << "index " << i << ", " << threads << " threads";
  }
}

TEST(ParallelFor, NoIndexesNoCalls) {
  int calls = 0;
  EXPECT_TRUE(ParallelFor(0, ParallelOptions{4, nullptr}, [&](size_t) {
                calls++;
                return Status::OK();
              }).ok());
  EXPECT_EQ(calls, 0);
}

TEST(ParallelFor, OneThreadRunsInOrderOnTheCaller) {
  const auto caller = std::this_thread::get_id();
  std::vector<size_t> order;
  bool on_caller = true;
  ParallelFor(50, ParallelOptions{1, nullptr}, [&](size_t i) {
    order.push_back(i);
    on_caller &= std::this_thread::get_id() == caller;
    return Status::OK();
  });
  ASSERT_EQ(order.size(), 50u);
  for (size_t i = 0; i < order.size(); i++) EXPECT_EQ(order[i], i);
  EXPECT_TRUE(on_caller);
}

TEST(ParallelFor, WorkersAreDistinctAndBounded) {
  // No two indexes run at once on one worker, and no more than `threads` run at once.
  constexpr int kThreads = 3;
  std::vector<std::atomic<int>> busy(kThreads);
  std::atomic<int> running{0}, most{0};
  std::atomic<bool> overlap{false}, out_of_range{false};
  ParallelForWorkers(60, ParallelOptions{kThreads, nullptr}, [&](size_t, size_t w) {
    if (w >= kThreads) {
      out_of_range = true;
      return Status::OK();
    }
    if (busy[w]++ != 0) overlap = true;
    const int now = ++running;
    for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    running--;
    busy[w]--;
    return Status::OK();
  });
  EXPECT_FALSE(out_of_range);
  EXPECT_FALSE(overlap);
  EXPECT_LE(most.load(), kThreads);
}

TEST(ParallelFor, TheFirstErrorStopsHandingOutIndexes) {
  std::vector<size_t> ran;
  const Status st = ParallelFor(100, ParallelOptions{1, nullptr}, [&](size_t i) {
    ran.push_back(i);
    return i == 10 ? Status::InvalidInput("item 10 is bad") : Status::OK();
  });
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(st.message(), "item 10 is bad");
  EXPECT_EQ(ran.size(), 11u);

  // With several threads: the indexes in flight finish, no new ones start.
  std::atomic<int> count{0};
  const Status many = ParallelFor(100000, ParallelOptions{4, nullptr}, [&](size_t i) {
    count++;
    return i == 5 ? Status::IOError("disk") : Status::OK();
  });
  EXPECT_EQ(many.code(), Status::Code::kIOError);
  EXPECT_LT(count.load(), 100000);
}

TEST(ParallelFor, CancelStopsHandingOutIndexes) {
  std::atomic<bool> cancel{false};
  std::vector<size_t> ran;
  const Status st = ParallelFor(100, ParallelOptions{1, &cancel}, [&](size_t i) {
    ran.push_back(i);
    if (i == 5) cancel = true;
    return Status::OK();
  });
  EXPECT_EQ(st.code(), Status::Code::kCancelled);
  EXPECT_EQ(ran.size(), 6u);
  // A flag set after the last index was handed out cancels nothing.
  std::atomic<bool> late{false};
  const Status done = ParallelFor(3, ParallelOptions{1, &late}, [&](size_t i) {
    if (i == 2) late = true;
    return Status::OK();
  });
  EXPECT_TRUE(done.ok());
}

}  // namespace
}  // namespace mt
