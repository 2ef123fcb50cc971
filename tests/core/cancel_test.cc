#include "core/cancel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

namespace mt {
namespace {

// Installs the cancel handlers for one test and puts the previous ones back.
class CancelHandlers {
 public:
  CancelHandlers() {
    sigaction(SIGINT, nullptr, &old_int_);
    sigaction(SIGTERM, nullptr, &old_term_);
    ResetCancelForTesting();
    InstallCancelHandlers();
  }
  ~CancelHandlers() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    ResetCancelForTesting();
  }

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
};

TEST(Cancel, OneFlagForTheProcess) {
  ResetCancelForTesting();
  EXPECT_FALSE(CancelRequested());
  EXPECT_FALSE(ProcessCancelFlag()->load());
  RequestCancel();
  EXPECT_TRUE(CancelRequested());
  EXPECT_TRUE(ProcessCancelFlag()->load());
  EXPECT_EQ(ProcessCancelFlag(), ProcessCancelFlag());
  ResetCancelForTesting();
  EXPECT_FALSE(CancelRequested());
}

TEST(Cancel, SigtermAndSigintSetTheFlag) {
  for (int sig : {SIGTERM, SIGINT}) {
    CancelHandlers handlers;
    ASSERT_FALSE(CancelRequested());
    ASSERT_EQ(std::raise(sig), 0);  // the handler runs before raise returns
    EXPECT_TRUE(CancelRequested()) << "signal " << sig;
  }
}

TEST(Cancel, StopFlagsIgnoreNullEntries) {
  std::atomic<bool> a{false}, b{false};
  EXPECT_FALSE(StopFlags{}.Set());
  EXPECT_FALSE((StopFlags{&a, nullptr}.Set()));
  b = true;
  EXPECT_TRUE((StopFlags{nullptr, &b}.Set()));
  EXPECT_TRUE((StopFlags{&a, &b}.Set()));
}

TEST(Cancel, SleepReturnsAtOnceWhenAlreadyStopped) {
  std::atomic<bool> stop{true};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepUnlessStopped(60, StopFlags{&stop}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  std::atomic<bool> never{false};
  EXPECT_TRUE(SleepUnlessStopped(0.01, StopFlags{&never}));
  EXPECT_TRUE(SleepUnlessStopped(-1, StopFlags{}));  // nothing to wait for
}

}  // namespace
}  // namespace mt
