#include "core/cancel.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

namespace mt {

namespace {

// A lock-free atomic store is async-signal-safe; the handler does nothing else.
std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

void OnSignal(int) { g_cancel.store(true, std::memory_order_relaxed); }

}  // namespace

const std::atomic<bool>* ProcessCancelFlag() { return &g_cancel; }
bool CancelRequested() { return g_cancel.load(std::memory_order_relaxed); }
void RequestCancel() { g_cancel.store(true, std::memory_order_relaxed); }
void ResetCancelForTesting() { g_cancel.store(false, std::memory_order_relaxed); }

void InstallCancelHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void IgnoreBrokenPipes() {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);
}

bool SleepUnlessStopped(double seconds, StopFlags flags) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                        std::clamp(seconds, 0.0, 1e7)));
  while (true) {
    if (flags.Set()) return false;
    const auto now = Clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(20)));
  }
}

}  // namespace mt
