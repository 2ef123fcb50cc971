// A test double of net::RetryClock: time stands still unless a wait moves
// it, and a wait returns at once, so retry tests never sleep. It records
// every wait; `during_sleep` runs inside each one (a test sets a cancel flag
// there, as a signal arriving during the wait would).
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "net/retry.h"

namespace mt::testing {

class FakeRetryClock : public net::RetryClock {
 public:
  double Now() override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  bool Sleep(double seconds, StopFlags stop) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> l(mu_);
      sleeps_.push_back(seconds);
      hook = during_sleep;
    }
    if (hook) hook();
    if (stop.Set()) return false;
    std::lock_guard<std::mutex> l(mu_);
    now_ += seconds;
    return true;
  }
  void Advance(double seconds) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += seconds;
  }
  std::vector<double> sleeps() {
    std::lock_guard<std::mutex> l(mu_);
    return sleeps_;
  }

  std::function<void()> during_sleep;  // set before the code under test runs

 private:
  std::mutex mu_;
  double now_ = 1000;
  std::vector<double> sleeps_;
};

}  // namespace mt::testing
