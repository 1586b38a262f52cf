/*
 * platform.h - the only place (with futex_*.c) that knows which OS it is on.
 *
 * Provides:
 *   RP_CACHELINE          false-sharing distance used by every shared layout (128: two
 *                         64-byte lines, because adjacent-line prefetch pairs them on x86)
 *   rp_cpu_relax()        pause/yield hint for bounded spin loops
 *   rp_prefetch_w(p)      hint: fetch p's cache line for writing soon (nothing where unknown)
 *   RP_A32(p), RP_AU32(p), RP_A64(p)
 *                         the one way plain SharedArrayBuffer memory becomes atomic: a cast of
 *                         an aligned pointer to the matching _Atomic type. The static_asserts
 *                         below prove that the atomic types have the plain layout and are
 *                         lock-free, which is what lets JS Atomics and C atomics share a word.
 *   rp_futex_wait/wake    park on / wake a 32-bit word private to this process
 *   rp_now_ns()           monotonic clock
 *
 * Futex contract (every platform):
 *   rp_futex_wait(w, expected, timeout_ns) blocks while *w == expected, until woken, until
 *   timeout_ns elapses (timeout_ns < 0: no limit), or spuriously. It returns 0 when it may
 *   have been woken, RP_FUTEX_TIMEDOUT when the time ran out, RP_FUTEX_AGAIN when *w already
 *   differed. Callers always re-check their predicate in a loop: every return means only
 *   "look again".
 *   rp_futex_wake(w, n) wakes up to n threads parked on w (n = INT32_MAX: all).
 */
#ifndef RP_PLATFORM_H
#define RP_PLATFORM_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RP_CACHELINE 128

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#if defined(_MSC_VER)
#include <immintrin.h>
#define rp_cpu_relax() _mm_pause()
#else
#define rp_cpu_relax() __builtin_ia32_pause()
#endif
#elif defined(__aarch64__) || defined(__arm__)
#define rp_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define rp_cpu_relax() ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define rp_prefetch_w(p) __builtin_prefetch((p), 1)
#else
#define rp_prefetch_w(p) ((void)(p))
#endif

static_assert(sizeof(_Atomic int32_t) == sizeof(int32_t), "atomic int32 must have plain layout");
static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic uint32 must have plain layout");
static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic uint64 must have plain layout");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* Casts of shared (SharedArrayBuffer) memory to atomics. Callers guarantee natural
 * alignment; the N-API glue checks it at run time before any pointer reaches the core. */
#define RP_A32(p) ((_Atomic int32_t *)(void *)(p))
#define RP_AU32(p) ((_Atomic uint32_t *)(void *)(p))
#define RP_A64(p) ((_Atomic uint64_t *)(void *)(p))

#define RP_FUTEX_TIMEDOUT 1
#define RP_FUTEX_AGAIN 2

int rp_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
void rp_futex_wake(_Atomic uint32_t *word, int32_t count);
int64_t rp_now_ns(void);

#endif
