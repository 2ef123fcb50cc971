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

}  // namespace mt
