// The process exit codes and the one mapping from a Status to them, used by
// every command, so a batch engine (Cloud Batch, a Kubernetes Job) can
// decide from the code alone whether to run the task again:
//   0  done;
//   1  something failed for good (bad data, refused credentials, a missing
//      input): running again gives the same result;
//   2  usage or configuration error a rerun cannot fix (bad flags, an
//      unreadable key file, an output that cannot be written);
//   3  only transient failures remain (HTTP 429/5xx, timeouts, a metadata
//      server or token endpoint that did not answer): run again;
//   130 interrupted (SIGINT/SIGTERM); nothing partial left behind.
#pragma once

#include "core/status.h"

namespace mt {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,
  kExitUsage = 2,
  kExitRetryable = 3,
  kExitInterrupted = 130,
};

// kOk 0; kUsage 2; kCancelled 130; retryable codes (kUnavailable, kIOError)
// 3; everything else (kInvalidInput, kNotFound, kPermission, kAlreadyExists,
// kInternal) 1.
int ExitCodeFor(const Status& status);

// The more serious of two exit codes, for a run with several failures:
// interrupted > usage > failed > retryable > ok. A permanent failure wins
// over a transient one because rerunning cannot fix it.
int WorseExitCode(int a, int b);

// Of two outcomes of one run, the one whose exit code is worse (a when
// equal): a run that also failed to write its summary or report reports
// the more serious of the two.
Status WorseStatus(const Status& a, const Status& b);

}  // namespace mt
