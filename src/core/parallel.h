// One parallel-for: fn(i) for every index of [0, n) on up to `threads`
// threads, the caller's among them. Indexes are handed out one at a time in
// increasing order, so items of uneven cost balance and the first items
// start first. Each index runs at most once.
// Stops handing out indexes after the first error fn returns (the indexes in
// flight finish) and returns that error; or, when `cancel` is set, returns
// kCancelled. Indexes not handed out then never run: a caller that must
// account for every item (a result per item) reports those itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "core/status.h"
#include "core/thread_pool.h"

namespace mt {

struct ParallelOptions {
  int threads = 1;                            // at most this many run at once (< 1: 1); never more than n
  const std::atomic<bool>* cancel = nullptr;  // polled before each index
};

// fn(index, worker): worker is in [0, threads) and runs one index at a time,
// for per-thread state (an HTTP client each).
Status ParallelForWorkers(size_t n, const ParallelOptions& opts,
                          const std::function<Status(size_t index, size_t worker)>& fn);

inline Status ParallelFor(size_t n, const ParallelOptions& opts, const std::function<Status(size_t index)>& fn) {
  return ParallelForWorkers(n, opts, [&fn](size_t i, size_t) { return fn(i); });
}

// fn(i, worker) for every index of [0, n), each once, on the calling thread
// (worker 0) and on up to `helpers` tasks of `pool` (workers 1..helpers),
// queued ahead of its other tasks: work that one thread would otherwise do
// alone while others wait for it, shared with whichever threads are free
// now (pool threads, threads that run queued tasks while they wait). A
// worker runs one index at a time, so per-worker scratch needs no lock.
// Indexes are handed out in increasing order. Returns once every index has
// run; a helper task that starts after all indexes were taken does nothing
// (so the caller never waits for a pool thread busy elsewhere). fn must not
// wait for other pool tasks. Without a pool or helpers: a plain loop.
void HelpedFor(ThreadPool* pool, size_t n, size_t helpers,
               const std::function<void(size_t index, size_t worker)>& fn);

}  // namespace mt
