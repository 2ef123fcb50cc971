#include "core/parallel.h"

#include <algorithm>
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

}  // namespace mt
