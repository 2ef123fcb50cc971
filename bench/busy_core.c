/* A stand-in for a busy neighbour on a shared host: pinned to one core, at a
 * real-time priority (so it takes that core whatever our threads' nice
 * level), it spins for BUSY_US microseconds, sleeps for IDLE_US, and stops
 * after TOTAL_MS milliseconds. The core is then busy BUSY/(BUSY+IDLE) of the
 * time, in slices the guest's scheduler cannot move our threads away from.
 *
 *   busy_core CORE BUSY_US IDLE_US TOTAL_MS
 *
 * Exit code 2 when it cannot pin itself or get SCHED_FIFO (needs root or
 * CAP_SYS_NICE).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: busy_core CORE BUSY_US IDLE_US TOTAL_MS\n");
    return 2;
  }
  const int core = atoi(argv[1]);
  const long long busy = atoll(argv[2]), idle = atoll(argv[3]), total = atoll(argv[4]);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    perror("busy_core: sched_setaffinity");
    return 2;
  }
  struct sched_param prio = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &prio) != 0) {
    perror("busy_core: sched_setscheduler(SCHED_FIFO) (run as root)");
    return 2;
  }
  const long long end = now_us() + total * 1000;
  while (now_us() < end) {
    const long long until = now_us() + busy;
    while (now_us() < until) {
    }
    usleep((useconds_t)idle);
  }
  return 0;
}
