// Cancellation: one flag per process. SIGINT and SIGTERM set it (once
// InstallCancelHandlers ran); every long loop, retry wait and HTTP transfer
// polls it, so an interrupted run stops within a poll interval (tens of
// milliseconds) with no thread watching for the signal. Components take a
// `const std::atomic<bool>*` (their options default to ProcessCancelFlag()),
// so a test can hand one its own flag.
#pragma once

#include <atomic>

namespace mt {

// The process's flag. Never null; lives as long as the process.
const std::atomic<bool>* ProcessCancelFlag();
// Whether the process flag is set.
bool CancelRequested();
// Sets the process flag: what the signal handler does.
void RequestCancel();
// Clears the process flag (tests only: a real run never resumes after a signal).
void ResetCancelForTesting();
// Makes SIGINT and SIGTERM set the process flag (and nothing else).
void InstallCancelHandlers();
// A write to a pipe or socket whose reader is gone fails with EPIPE instead
// of killing the process with SIGPIPE (exit 141, temporaries left): for the
// commands whose work outlives their result lines (cli FlushResultLines).
void IgnoreBrokenPipes();

// Up to two flags, either of which stops a wait: the process's and, say, a
// downloader's own stop after a refused key. Null entries are ignored.
struct StopFlags {
  const std::atomic<bool>* first = nullptr;
  const std::atomic<bool>* second = nullptr;
  bool Set() const {
    return (first && first->load(std::memory_order_relaxed)) || (second && second->load(std::memory_order_relaxed));
  }
};

// Sleeps `seconds`, waking every 20 ms at most to look at `flags`: true when
// the time passed, false as soon as a flag is set (also when one is set on
// entry).
bool SleepUnlessStopped(double seconds, StopFlags flags);

}  // namespace mt
