#include "core/exit_code.h"

namespace mt {

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kUsage: return kExitUsage;
    case Status::Code::kCancelled: return kExitInterrupted;
    default: return st.retryable() ? kExitRetryable : kExitFailed;
  }
}

int WorseExitCode(int a, int b) {
  auto rank = [](int c) {
    switch (c) {
      case kExitOk: return 0;
      case kExitRetryable: return 1;
      case kExitFailed: return 2;
      case kExitUsage: return 3;
      default: return 4;  // interrupted
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

Status WorseStatus(const Status& a, const Status& b) {
  return WorseExitCode(ExitCodeFor(a), ExitCodeFor(b)) == ExitCodeFor(a) ? a : b;
}

}  // namespace mt
