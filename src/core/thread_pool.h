// A fixed pool of worker threads running queued tasks in FIFO order.
// Thread-safe. The destructor finishes queued tasks, then joins.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
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
    }
    cv_.notify_one();
    return fut;
  }
  int size() const { return static_cast<int>(workers_.size()); }

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

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mt
