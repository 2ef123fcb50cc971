#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mt {

Status ParallelForWorkers(size_t n, const ParallelOptions& opts,
                          const std::function<Status(size_t index, size_t worker)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto work = [&](size_t worker) {
    while (!failed.load(std::memory_order_relaxed)) {
      if (opts.cancel && opts.cancel->load(std::memory_order_relaxed)) return;
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status st = fn(i, worker);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(mu);
        if (first_error.ok()) first_error = std::move(st);
        failed = true;
      }
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(std::max(1, opts.threads)), n);
  std::vector<std::thread> pool;
  for (size_t w = 1; w < threads; w++) pool.emplace_back(work, w);
  if (threads > 0) work(0);
  for (auto& t : pool) t.join();
  if (!first_error.ok()) return first_error;
  if (opts.cancel && opts.cancel->load() && next.load() < n) return Status::Cancelled("interrupted");
  return Status::OK();
}

void HelpedFor(ThreadPool* pool, size_t n, size_t helpers,
               const std::function<void(size_t index, size_t worker)>& fn) {
  helpers = pool ? std::min(helpers, n > 0 ? n - 1 : 0) : 0;
  if (helpers == 0) {
    for (size_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  // Shared with the helper tasks, which may start after this call returned
  // (they then find no index left and never call fn).
  struct State {
    std::atomic<size_t> next{0};
    size_t n = 0;
    std::function<void(size_t, size_t)> fn;
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;  // indexes run, guarded by mu
  };
  auto state = std::make_shared<State>();
  state->n = n;
  state->fn = fn;
  auto work = [](State& s, size_t worker) {
    size_t ran = 0;
    for (size_t i; (i = s.next.fetch_add(1)) < s.n; ran++) s.fn(i, worker);
    if (ran == 0) return;
    std::lock_guard<std::mutex> l(s.mu);
    s.done += ran;
    s.cv.notify_all();
  };
  for (size_t h = 1; h <= helpers; h++) pool->SubmitFirst([state, work, h] { work(*state, h); });
  work(*state, 0);
  std::unique_lock<std::mutex> l(state->mu);
  state->cv.wait(l, [&] { return state->done == n; });
}

}  // namespace mt
