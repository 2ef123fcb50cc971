#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
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

// HelpedFor: the pool's threads take indexes beside the caller; each index
// runs once, one at a time per worker, and the values it writes are all there
// when the call returns.
TEST(HelpedFor, EveryIndexOnceOnDistinctWorkers) {
  ThreadPool pool(3);
  for (size_t helpers : {size_t{0}, size_t{1}, size_t{3}, size_t{8}}) {
    std::vector<uint64_t> out(2000, 0);
    std::vector<std::atomic<int>> busy(helpers + 1);
    std::atomic<bool> overlap{false}, out_of_range{false};
    HelpedFor(&pool, out.size(), helpers, [&](size_t i, size_t w) {
      if (w > helpers) {
        out_of_range = true;
        return;
      }
      if (busy[w]++ != 0) overlap = true;
      out[i] += i * i + 1;
      busy[w]--;
    });
    EXPECT_FALSE(overlap.load());
    EXPECT_FALSE(out_of_range.load());
    for (size_t i = 0; i < out.size(); i++) ASSERT_EQ(out[i], i * i + 1) << "index " << i << ", " << helpers << " helpers";
  }
  std::vector<size_t> order;
  HelpedFor(nullptr, 5, 3, [&](size_t i, size_t w) { order.push_back(i * 10 + w); });
  EXPECT_EQ(order, (std::vector<size_t>{0, 10, 20, 30, 40}));  // no pool: in order, on the caller
}

// Holds a pool's one thread busy from construction until Release() (or
// destruction), so tasks queued meanwhile stay queued. The blocking task is
// waited for before its state goes.
class BusyPool {
 public:
  explicit BusyPool(ThreadPool* pool) {
    done_ = pool->Submit([this] {
      started_ = true;
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return release_; });
    });
    while (!started_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~BusyPool() {
    Release();
    done_.wait();
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      release_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool release_ = false;
  std::atomic<bool> started_{false};
  std::future<void> done_;
};

// A pool whose thread is busy elsewhere: the caller runs every index itself
// and returns; the helper task, run later, finds nothing left and calls
// nothing (the caller's fn is gone by then).
TEST(HelpedFor, DoesNotWaitForABusyPool) {
  ThreadPool pool(1);
  BusyPool busy(&pool);
  std::atomic<int> calls{0};
  std::vector<size_t> workers;
  HelpedFor(&pool, 10, 1, [&](size_t, size_t w) {
    calls++;
    workers.push_back(w);
  });
  EXPECT_EQ(calls.load(), 10);
  EXPECT_EQ(workers, std::vector<size_t>(10, 0));
  busy.Release();
  while (pool.RunPendingTask()) {
  }
  pool.Submit([] {}).wait();  // the helper ran before this task (FIFO after it)
  EXPECT_EQ(calls.load(), 10);
}

// A thread that runs queued tasks while it waits, asleep on a condition
// variable of its own registered with the pool, is woken by a task queued
// while the pool's one thread is busy, and runs it.
TEST(ThreadPoolWaiter, AQueuedTaskWakesARegisteredWaiter) {
  ThreadPool pool(1);
  BusyPool busy(&pool);
  std::mutex mu;
  std::condition_variable cv;
  pool.AddWaiter(&mu, &cv);
  std::atomic<bool> ran{false}, asleep{false};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> l(mu);
    while (!ran) {
      l.unlock();
      const bool any = pool.RunPendingTask();
      l.lock();
      if (!any && !ran) {
        asleep = true;
        cv.wait_for(l, std::chrono::seconds(30));
      }
    }
  });
  while (!asleep) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  pool.SubmitFirst([&] { ran = true; });
  waiter.join();
  EXPECT_TRUE(ran.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));  // woken, not timed out
  pool.RemoveWaiter(&cv);
}

// The window a waiter must not sleep through: it found no task, and one is
// queued (and its wake-up sent) before it sleeps. queued() tells it: the
// count it read before looking has changed, so it looks again.
TEST(ThreadPoolWaiter, ATaskQueuedBeforeTheWaiterSleepsIsSeenByTheCount) {
  ThreadPool pool(1);
  BusyPool busy(&pool);  // the pool's one thread is busy: queued tasks stay queued
  std::mutex mu;
  std::condition_variable cv;
  pool.AddWaiter(&mu, &cv);
  const uint64_t seen = pool.queued();
  EXPECT_FALSE(pool.RunPendingTask());  // nothing queued yet
  bool ran = false;
  pool.SubmitFirst([&] { ran = true; });  // notifies now, while nobody waits
  EXPECT_EQ(pool.queued(), seen + 1);
  EXPECT_TRUE(pool.RunPendingTask());  // so the waiter looks again and runs it
  EXPECT_TRUE(ran);
  EXPECT_EQ(pool.queued(), seen + 1);  // running a task does not count
  pool.RemoveWaiter(&cv);
}

}  // namespace
}  // namespace mt
