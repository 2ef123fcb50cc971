#include "core/open_files.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <string>

#include "core/exit_code.h"

namespace mt {
namespace {

// The soft open-file limit lowered for one test and put back after it (the
// soft limit may go back up to the hard one).
class SoftLimit {
 public:
  explicit SoftLimit(rlim_t soft) {
    ok_ = getrlimit(RLIMIT_NOFILE, &saved_) == 0 && saved_.rlim_max >= soft;
    if (!ok_) return;
    struct rlimit rl = saved_;
    rl.rlim_cur = soft;
    ok_ = setrlimit(RLIMIT_NOFILE, &rl) == 0;
  }
  ~SoftLimit() {
    if (ok_) setrlimit(RLIMIT_NOFILE, &saved_);
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit saved_ {};
  bool ok_ = false;
};

TEST(OpenFiles, LowersWhatDoesNotFitBesideTheReserveAndSaysSoOnce) {
  SoftLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ::testing::internal::CaptureStderr();
  // (256 - 48) / 4 = 52 fit.
  EXPECT_EQ(CapToOpenFileLimit(64, 4, "--concurrency", "files in flight"), 52);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--concurrency 64: the open-file limit (ulimit -n) of 256 leaves room for 52 files in flight; "
                     "running that many (raise the limit for more)"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line: " << err;
}

TEST(OpenFiles, WhatFitsIsKeptSilently) {
  SoftLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(CapToOpenFileLimit(52, 4, "--concurrency", "files in flight"), 52);
  EXPECT_EQ(CapToOpenFileLimit(20, 9, "--concurrency", "items at once"), 20);  // 23 fit
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(OpenFiles, AtLeastOneWhenNothingFitsBesideTheReserve) {
  SoftLimit limit(32);
  ASSERT_TRUE(limit.ok());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(CapToOpenFileLimit(16, 4, "--jobs", "transfers at once"), 1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--jobs 16: the open-file limit (ulimit -n) of 32 leaves room for 1 transfers at once"),
            std::string::npos)
      << err;
}

// A job's own reserve (download's grouped file) is kept beside the process's.
TEST(OpenFiles, AJobsReserveIsKeptBesideTheProcesss) {
  SoftLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ::testing::internal::CaptureStderr();
  // (256 - 48 - 16) / 6 = 32 fit.
  EXPECT_EQ(CapToOpenFileLimit(64, 6, "--concurrency", "files in flight", 16), 32);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--concurrency 64: the open-file limit (ulimit -n) of 256 leaves room for 32 files in flight"),
            std::string::npos)
      << err;
}

// EMFILE: the process's limit, the same on every rerun with the same work
// (exit 2); ENFILE: the system's table, which clears up (retryable). Both
// say which limit and what to do, and neither speaks of TMPDIR.
TEST(OpenFiles, AnOpenFileLimitErrorNamesTheLimitAndWhatToDo) {
  const Status emfile = OpenFileLimitError("cannot create a temporary file in /scratch", EMFILE);
  EXPECT_EQ(emfile.code(), Status::Code::kUsage);
  EXPECT_EQ(ExitCodeFor(emfile), 2);
  EXPECT_EQ(emfile.message(), "cannot create a temporary file in /scratch: " + std::string(std::strerror(EMFILE)) +
                                  " (the limit of open files per process is reached: raise it with 'ulimit -n', "
                                  "or run fewer jobs at once)");
  const Status enfile = OpenFileLimitError("cannot create a temporary file in /scratch", ENFILE);
  EXPECT_EQ(enfile.code(), Status::Code::kIOError);
  EXPECT_TRUE(enfile.retryable());
  EXPECT_EQ(ExitCodeFor(enfile), 3);
  EXPECT_NE(enfile.message().find(std::strerror(ENFILE)), std::string::npos) << enfile.message();
  EXPECT_NE(enfile.message().find("the system's table of open files is full"), std::string::npos) << enfile.message();
  EXPECT_TRUE(IsOpenFileLimit(EMFILE));
  EXPECT_TRUE(IsOpenFileLimit(ENFILE));
  EXPECT_FALSE(IsOpenFileLimit(ENOSPC));
  EXPECT_FALSE(IsOpenFileLimit(EACCES));
}

}  // namespace
}  // namespace mt
