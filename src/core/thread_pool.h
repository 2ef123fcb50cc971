// A fixed pool of worker threads running queued tasks in FIFO order.
// Thread-safe. The destructor finishes queued tasks, then joins.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace mt {

class ThreadPool {
 public:
  // `nice` > 0 lowers the workers' scheduling priority below the threads
  // that feed them: with more runnable threads than cores, the feeding
  // thread (which inflates, the one serial step) then runs first and the
  // workers are not left waiting for it.
  explicit ThreadPool(int threads, int nice = 0) {
    for (int i = 0; i < threads; i++) {
      workers_.emplace_back([this, nice] {
        if (nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice);
        Loop();
      });
    }
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  template <typename F>
  auto Submit(F&& f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    auto fut = task->get_future();
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.emplace_back([task] { (*task)(); });
      queued_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_one();
    NotifyWaiters();
    return fut;
  }
  // Queues `job` ahead of every queued task: work a thread is waiting for
  // right now, which tasks queued earlier (read-ahead) must not hold up.
  void SubmitFirst(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_front(std::move(job));
      queued_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_one();
    NotifyWaiters();
  }
  int size() const { return static_cast<int>(workers_.size()); }

  // A thread outside the pool that runs queued tasks while it waits for
  // something (RunPendingTask) and sleeps on a condition variable of its
  // own when it finds none registers that variable and its mutex here:
  // every task queued then wakes it (notified under `mu`; with queued(), no
  // wake-up is lost), and the task need not wait for a busy pool thread.
  // REQUIRES: no task is submitted by a thread that holds `mu`.
  void AddWaiter(std::mutex* mu, std::condition_variable* cv) {
    std::lock_guard<std::mutex> l(waiters_mu_);
    waiters_.push_back({mu, cv});
  }
  void RemoveWaiter(std::condition_variable* cv) {
    std::lock_guard<std::mutex> l(waiters_mu_);
    for (size_t i = 0; i < waiters_.size(); i++) {
      if (waiters_[i].cv == cv) {
        waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }

  // How many tasks were ever queued. A waiter reads it before it looks for a
  // task (RunPendingTask) and sleeps only if it has not changed since, under
  // its mutex: a task queued between the two would otherwise notify before
  // the waiter sleeps, and be left to the pool's busy threads.
  uint64_t queued() const { return queued_.load(std::memory_order_acquire); }

  // Runs the oldest queued task on the calling thread; false when none is
  // queued. A thread that waits for tasks to finish calls this to help
  // instead of idling (and cannot deadlock a pool whose threads all wait).
  bool RunPendingTask() {
    std::function<void()> job;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (queue_.empty()) return false;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
    return true;
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  void NotifyWaiters() {
    std::lock_guard<std::mutex> l(waiters_mu_);
    for (const Waiter& w : waiters_) {
      std::lock_guard<std::mutex> g(*w.mu);
      w.cv->notify_all();
    }
  }

  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
  };
  std::mutex waiters_mu_;  // before a waiter's mutex, never after it
  std::vector<Waiter> waiters_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<uint64_t> queued_{0};
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mt
