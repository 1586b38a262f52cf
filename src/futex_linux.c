/* futex_linux.c - rp_futex_* on Linux: private futex operations (see platform.h). */
#if defined(__linux__)
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t rp_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    perror("ringpool: clock_gettime(CLOCK_MONOTONIC)");
    abort();
  }
  return (int64_t)ts.tv_sec * 1000000000LL + (int64_t)ts.tv_nsec;
}

int rp_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  struct timespec rel, *relp = NULL;
  if (timeout_ns >= 0) {
    rel.tv_sec = (time_t)(timeout_ns / 1000000000LL);
    rel.tv_nsec = (long)(timeout_ns % 1000000000LL);
    relp = &rel;
  }
  /* FUTEX_WAIT compares *word with expected atomically with respect to FUTEX_WAKE, so a
   * wake that follows a store of a new value can never be lost. */
  long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, relp, NULL, 0);
  if (rc == 0) return 0;
  switch (errno) {
  case EAGAIN: return RP_FUTEX_AGAIN;
  case ETIMEDOUT: return RP_FUTEX_TIMEDOUT;
  case EINTR: return 0; /* a signal: the caller re-checks */
  default:
    perror("ringpool: futex wait");
    abort();
  }
}

void rp_futex_wake(_Atomic uint32_t *word, int32_t count) {
  long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
  if (rc < 0 && errno != EFAULT) {
    perror("ringpool: futex wake");
    abort();
  }
}
#else
typedef int rp_futex_linux_unused;
#endif
