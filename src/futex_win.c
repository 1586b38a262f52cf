/* futex_win.c - rp_futex_* on Windows: WaitOnAddress / WakeByAddress* (Synchronization.lib). */
#if defined(_WIN32)
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

int64_t rp_now_ns(void) {
  static LARGE_INTEGER freq; /* run-once probe: QueryPerformanceFrequency never changes */
  LARGE_INTEGER now;
  if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (int64_t)((double)now.QuadPart * 1e9 / (double)freq.QuadPart);
}

int rp_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  DWORD ms = INFINITE;
  if (timeout_ns >= 0) {
    int64_t t = (timeout_ns + 999999) / 1000000;
    ms = t >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)t;
  }
  if (WaitOnAddress((volatile VOID *)word, &expected, sizeof expected, ms)) return 0;
  if (GetLastError() == ERROR_TIMEOUT) return RP_FUTEX_TIMEDOUT;
  return 0;
}

void rp_futex_wake(_Atomic uint32_t *word, int32_t count) {
  if (count == 1) WakeByAddressSingle((PVOID)word);
  else WakeByAddressAll((PVOID)word);
}
#else
typedef int rp_futex_win_unused;
#endif
