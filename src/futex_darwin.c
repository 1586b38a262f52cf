/* futex_darwin.c - rp_futex_* on macOS (see platform.h).
 * Uses os_sync_wait_on_address (macOS 14.4+) when the SDK declares it, else the __ulock
 * calls that libc++ also relies on for std::atomic::wait. */
#if defined(__APPLE__)
#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if __has_include(<os/os_sync_wait_on_address.h>)
#include <os/os_sync_wait_on_address.h>
#define RP_HAVE_OS_SYNC 1
#else
#define RP_HAVE_OS_SYNC 0
#define UL_COMPARE_AND_WAIT 1
#define ULF_WAKE_ALL 0x00000100
#define ULF_NO_ERRNO 0x01000000
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#endif

int64_t rp_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    perror("ringpool: clock_gettime");
    abort();
  }
  return (int64_t)ts.tv_sec * 1000000000LL + (int64_t)ts.tv_nsec;
}

int rp_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  if (atomic_load_explicit(word, memory_order_seq_cst) != expected) return RP_FUTEX_AGAIN;
#if RP_HAVE_OS_SYNC
  int rc;
  if (timeout_ns < 0) {
    rc = os_sync_wait_on_address((void *)word, expected, 4, OS_SYNC_WAIT_ON_ADDRESS_NONE);
  } else {
    rc = os_sync_wait_on_address_with_timeout((void *)word, expected, 4, OS_SYNC_WAIT_ON_ADDRESS_NONE,
                                              OS_CLOCK_MACH_ABSOLUTE_TIME, (uint64_t)timeout_ns);
  }
  if (rc >= 0) return 0;
  if (errno == ETIMEDOUT) return RP_FUTEX_TIMEDOUT;
  return 0;
#else
  uint32_t us = 0; /* 0 means no limit for __ulock_wait */
  if (timeout_ns >= 0) {
    int64_t t = timeout_ns / 1000;
    us = t < 1 ? 1 : (t > UINT32_MAX ? UINT32_MAX : (uint32_t)t);
  }
  int rc = __ulock_wait(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, (void *)word, expected, us);
  if (rc == -ETIMEDOUT) return RP_FUTEX_TIMEDOUT;
  return 0;
#endif
}

void rp_futex_wake(_Atomic uint32_t *word, int32_t count) {
#if RP_HAVE_OS_SYNC
  if (count == 1) os_sync_wake_by_address_any((void *)word, 4, OS_SYNC_WAKE_BY_ADDRESS_NONE);
  else os_sync_wake_by_address_all((void *)word, 4, OS_SYNC_WAKE_BY_ADDRESS_NONE);
#else
  __ulock_wake(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO | (count == 1 ? 0 : ULF_WAKE_ALL), (void *)word, 0);
#endif
}
#else
typedef int rp_futex_darwin_unused;
#endif
