// Runs a check in a forked child whose open-file limit (RLIMIT_NOFILE) is
// lowered and whose every descriptor below it is taken, so the next open
// fails with EMFILE exactly there while the test process keeps its own.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>

namespace mt::testing {

// Codes the child exits with when the limit cannot be set up; a check
// returns its own codes above them (0: passed).
inline constexpr int kNoLimit = 10, kLimitRefused = 11, kNotExhausted = 12;

// `check`'s return value as the child's exit code, or -1 when the child did
// not exit normally.
inline int ExitCodeWithoutDescriptors(const std::function<int()>& check) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct rlimit lim;
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(kNoLimit);
    lim.rlim_cur = 256;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(kLimitRefused);
    while (::dup(0) >= 0) {
    }
    if (errno != EMFILE) ::_exit(kNotExhausted);
    ::_exit(check());
  }
  int wstatus = 0;
  if (::waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus)) return -1;
  return WEXITSTATUS(wstatus);
}

}  // namespace mt::testing
