/* ring.c - bounded MPMC queue of uint32 values (see ring.h for layout, invariants,
 * concurrency and the sleeping protocol). */
#include "ring.h"

#include <stdbool.h>
#include <string.h>

#include "errors.h"
#include "vyukov.h"

/* The header as a struct, only to let the compiler prove the documented offsets. The code
 * itself addresses fields by offset (RP_RING_OFF_*) on the caller's memory. */
typedef struct {
  uint32_t magic, version, capacity, header_bytes;
  uint64_t total_bytes;
  uint8_t pad_r[RP_CACHELINE - 24];
  uint32_t tail;
  uint8_t pad_p[RP_CACHELINE - 4];
  uint32_t head;
  uint8_t pad_c[RP_CACHELINE - 4];
  int32_t not_empty_seq;
  uint8_t pad_1[RP_CACHELINE - 4];
  int32_t not_empty_waiters;
  uint8_t pad_2[RP_CACHELINE - 4];
  int32_t not_full_seq;
  uint8_t pad_3[RP_CACHELINE - 4];
  int32_t not_full_waiters;
  uint8_t pad_4[RP_CACHELINE - 4];
} rp_ring_layout_t;

typedef struct {
  uint32_t seq;
  uint32_t value;
} rp_ring_slot_t;

static_assert(offsetof(rp_ring_layout_t, magic) == RP_RING_OFF_MAGIC, "magic offset");
static_assert(offsetof(rp_ring_layout_t, version) == RP_RING_OFF_VERSION, "version offset");
static_assert(offsetof(rp_ring_layout_t, capacity) == RP_RING_OFF_CAPACITY, "capacity offset");
static_assert(offsetof(rp_ring_layout_t, header_bytes) == RP_RING_OFF_HEADER_BYTES, "header_bytes offset");
static_assert(offsetof(rp_ring_layout_t, total_bytes) == RP_RING_OFF_TOTAL_BYTES, "total_bytes offset");
static_assert(offsetof(rp_ring_layout_t, tail) == RP_RING_OFF_TAIL, "tail offset");
static_assert(offsetof(rp_ring_layout_t, head) == RP_RING_OFF_HEAD, "head offset");
static_assert(offsetof(rp_ring_layout_t, not_empty_seq) == RP_RING_OFF_NOT_EMPTY_SEQ, "notEmptySeq offset");
static_assert(offsetof(rp_ring_layout_t, not_empty_waiters) == RP_RING_OFF_NOT_EMPTY_WAITERS, "notEmptyWaiters offset");
static_assert(offsetof(rp_ring_layout_t, not_full_seq) == RP_RING_OFF_NOT_FULL_SEQ, "notFullSeq offset");
static_assert(offsetof(rp_ring_layout_t, not_full_waiters) == RP_RING_OFF_NOT_FULL_WAITERS, "notFullWaiters offset");
static_assert(sizeof(rp_ring_layout_t) == RP_RING_HEADER_BYTES, "header size");
static_assert(RP_RING_HEADER_BYTES % RP_CACHELINE == 0, "slots start on a block boundary");
static_assert(sizeof(rp_ring_slot_t) == RP_RING_SLOT_BYTES && offsetof(rp_ring_slot_t, value) == 4, "slot layout");
/* Differences of positions (and of half-step sequence numbers) must stay far from 2^31. */
static_assert(RP_RING_MAX_CAPACITY <= (1u << 24), "capacity bound keeps differences small");

/* Spin attempts before a waiter registers and parks. Short: a parked waiter costs the
 * other side one notify syscall, a long spin costs a whole core. */
#define RP_RING_SPIN 64

#define U32_AT(b, off) (*(const uint32_t *)(const void *)((const uint8_t *)(b) + (off)))

static inline uint32_t cap_of(const uint8_t *b) { return U32_AT(b, RP_RING_OFF_CAPACITY); }
static inline _Atomic uint32_t *tail_of(uint8_t *b) { return RP_AU32(b + RP_RING_OFF_TAIL); }
static inline _Atomic uint32_t *head_of(uint8_t *b) { return RP_AU32(b + RP_RING_OFF_HEAD); }
static inline uint8_t *slot_of(uint8_t *b, uint32_t pos, uint32_t mask) {
  return b + RP_RING_HEADER_BYTES + (size_t)(pos & mask) * RP_RING_SLOT_BYTES;
}

int rp_ring_bytes(uint32_t capacity, size_t *out) {
  if (capacity == 0 || capacity > RP_RING_MAX_CAPACITY || (capacity & (capacity - 1)) != 0) return RP_ERANGE;
  *out = (size_t)RP_RING_HEADER_BYTES + (size_t)capacity * RP_RING_SLOT_BYTES;
  return 0;
}

int rp_ring_init(void *base, size_t len, uint32_t capacity) {
  size_t need;
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (rp_ring_bytes(capacity, &need) != 0 || len < need) return RP_ERANGE;
  uint8_t *b = base;
  memset(b, 0, RP_RING_HEADER_BYTES);
  rp_ring_layout_t *h = base;
  h->version = RP_RING_VERSION;
  h->capacity = capacity;
  h->header_bytes = RP_RING_HEADER_BYTES;
  h->total_bytes = need;
  for (uint32_t i = 0; i < capacity; i++) {
    uint8_t *s = slot_of(b, i, capacity - 1);
    /* relaxed: initial state, published by I1 (and, across threads, by whatever hands the
     * buffer over: postMessage, thread creation). */
    atomic_store_explicit(RP_AU32(s), 2u * i, memory_order_relaxed);
    *(uint32_t *)(void *)(s + 4) = 0;
  }
  /* I1 release: magic last, so a check that sees it sees a complete header; pairs with
   * I2 in rp_ring_check. */
  atomic_store_explicit(RP_AU32(b + RP_RING_OFF_MAGIC), RP_RING_MAGIC, memory_order_release);
  return 0;
}

int rp_ring_check(const void *base, size_t len, uint32_t *capacity) {
  size_t need;
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (len < RP_RING_HEADER_BYTES) return RP_ELAYOUT;
  const uint8_t *b = base;
  /* I2 acquire: pairs with I1 in rp_ring_init. */
  uint32_t magic = atomic_load_explicit(RP_AU32((uint8_t *)(uintptr_t)b + RP_RING_OFF_MAGIC), memory_order_acquire);
  if (magic != RP_RING_MAGIC || U32_AT(b, RP_RING_OFF_VERSION) != RP_RING_VERSION ||
      U32_AT(b, RP_RING_OFF_HEADER_BYTES) != RP_RING_HEADER_BYTES)
    return RP_ELAYOUT;
  uint32_t cap = cap_of(b);
  if (rp_ring_bytes(cap, &need) != 0 || len != need) return RP_ELAYOUT; /* exact: a copy in a bigger buffer is not this ring */
  *capacity = cap;
  return 0;
}

/* Wakes one sleeper of a side: bump its seq word, then notify (see SLEEPING in ring.h). */
static void wake_one(uint8_t *b, size_t off_seq) {
  _Atomic int32_t *seq = RP_A32(b + off_seq);
  atomic_fetch_add_explicit(seq, 1, memory_order_seq_cst);
  rp_notify(seq, 1);
}

/* Runs after every successful push or pop (see SLEEPING and "Out-of-order publication" in
 * ring.h). own_*: the side this operation made progress for (consumers after a push,
 * producers after a pop). chain_*: the operation's own side, woken when somebody of it
 * sleeps although the next position of that side is ready. */
static void after_op(uint8_t *b, bool pushed) {
  atomic_thread_fence(memory_order_seq_cst); /* F_p */
  const size_t own_waiters = pushed ? RP_RING_OFF_NOT_EMPTY_WAITERS : RP_RING_OFF_NOT_FULL_WAITERS;
  const size_t own_seq = pushed ? RP_RING_OFF_NOT_EMPTY_SEQ : RP_RING_OFF_NOT_FULL_SEQ;
  const size_t chain_waiters = pushed ? RP_RING_OFF_NOT_FULL_WAITERS : RP_RING_OFF_NOT_EMPTY_WAITERS;
  const size_t chain_seq = pushed ? RP_RING_OFF_NOT_FULL_SEQ : RP_RING_OFF_NOT_EMPTY_SEQ;
  if (atomic_load_explicit(RP_A32(b + own_waiters), memory_order_seq_cst) != 0) wake_one(b, own_seq);
  if (atomic_load_explicit(RP_A32(b + chain_waiters), memory_order_seq_cst) != 0) {
    const uint32_t mask = cap_of(b) - 1;
    /* relaxed (both): a hint read after F_p; the fence argument in ring.h is what makes a
     * ready slot visible here, and a wrong guess costs only a spurious wake-up. */
    uint32_t pos = atomic_load_explicit(pushed ? tail_of(b) : head_of(b), memory_order_relaxed);
    uint32_t seq = atomic_load_explicit(RP_AU32(slot_of(b, pos, mask)), memory_order_relaxed);
    if (seq == 2u * pos + (pushed ? 0u : 1u)) wake_one(b, chain_seq);
  }
}

/* One push attempt. With fence_on_full, runs the seq_cst fence F_c before reporting full
 * (see ring.h); the spin loop of push_wait passes false to keep its probes cheap. */
static int push_impl(uint8_t *b, uint32_t value, bool fence_on_full) {
  uint32_t pos;
  uint8_t *s;
  int rc = rp_vy_claim(tail_of(b), b + RP_RING_HEADER_BYTES, cap_of(b) - 1, RP_RING_SLOT_BYTES, 0,
                       fence_on_full ? RP_VY_FENCE_REPORT : RP_VY_REPORT, &pos, &s);
  if (rc != 0) return rc == RP_VY_BEHIND ? RP_EFULL : rc;
  *(uint32_t *)(void *)(s + 4) = value;
  /* R1 release: publishes the value (and the claim); pairs with A2 in pop_impl. */
  atomic_store_explicit(RP_AU32(s), 2u * pos + 1u, memory_order_release);
  after_op(b, true);
  return 0;
}

static int pop_impl(uint8_t *b, uint32_t *out, bool fence_on_empty) {
  const uint32_t cap = cap_of(b);
  uint32_t pos;
  uint8_t *s;
  int rc = rp_vy_claim(head_of(b), b + RP_RING_HEADER_BYTES, cap - 1, RP_RING_SLOT_BYTES, 1,
                       fence_on_empty ? RP_VY_FENCE_REPORT : RP_VY_REPORT, &pos, &s);
  if (rc != 0) return rc == RP_VY_BEHIND ? RP_RING_EMPTY : rc;
  *out = *(const uint32_t *)(const void *)(s + 4);
  /* R2 release: our read of the value is done; the slot is empty for position pos + cap.
   * Pairs with A1 in push_impl. */
  atomic_store_explicit(RP_AU32(s), 2u * (pos + cap), memory_order_release);
  after_op(b, false);
  return 0;
}

int rp_ring_try_push(void *base, uint32_t value) { return push_impl(base, value, true); }

int rp_ring_try_pop(void *base, uint32_t *out) { return pop_impl(base, out, true); }

uint32_t rp_ring_size(const void *base) {
  uint8_t *b = (uint8_t *)(uintptr_t)base;
  /* relaxed (both): a snapshot for reporting; the two loads are not atomic together, so the
   * difference is clamped to the invariant 0 <= tail - head <= capacity. */
  uint32_t h = atomic_load_explicit(head_of(b), memory_order_relaxed);
  uint32_t t = atomic_load_explicit(tail_of(b), memory_order_relaxed);
  int32_t n = (int32_t)(t - h);
  uint32_t cap = cap_of(b);
  if (n < 0) return 0;
  return (uint32_t)n > cap ? cap : (uint32_t)n;
}

/* The waiting side of SLEEPING (ring.h), shared by push_wait and pop_wait. */
static int wait_loop(uint8_t *b, bool is_pop, uint32_t value, uint32_t *out, int64_t timeout_ns, rp_stop_fn stop,
                     void *ctx) {
  _Atomic int32_t *waiters = RP_A32(b + (is_pop ? RP_RING_OFF_NOT_EMPTY_WAITERS : RP_RING_OFF_NOT_FULL_WAITERS));
  _Atomic int32_t *seqw = RP_A32(b + (is_pop ? RP_RING_OFF_NOT_EMPTY_SEQ : RP_RING_OFF_NOT_FULL_SEQ));
  const int miss = is_pop ? RP_RING_EMPTY : RP_EFULL;
  int rc;
#define RP_ATTEMPT(fence) (is_pop ? pop_impl(b, out, (fence)) : push_impl(b, value, (fence)))

  rc = RP_ATTEMPT(false);
  if (rc != miss) return rc;
  if (timeout_ns == 0) {
    rc = RP_ATTEMPT(true);
    return rc == miss ? RP_RING_TIMED_OUT : rc;
  }
  const int64_t deadline = timeout_ns < 0 ? -1 : rp_now_ns() + timeout_ns;
  for (int i = 0; i < RP_RING_SPIN; i++) {
    rp_cpu_relax();
    rc = RP_ATTEMPT(false);
    if (rc != miss) return rc;
  }
  for (;;) {
    atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
    int32_t s = atomic_load_explicit(seqw, memory_order_seq_cst);
    /* F_c is the fence inside RP_ATTEMPT(true), run before it can report a miss. */
    rc = RP_ATTEMPT(true);
    if (rc != miss) {
      atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
      return rc;
    }
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - rp_now_ns();
      if (left <= 0) {
        atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
        return RP_RING_TIMED_OUT;
      }
    }
    int r = rp_wait_block(seqw, s, left, stop, ctx);
    atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
    if (r == RP_EINTR) return RP_EINTR;
    if (r == RP_WAIT_TIMED_OUT) {
      rc = RP_ATTEMPT(true);
      return rc == miss ? RP_RING_TIMED_OUT : rc;
    }
    /* woken or the word moved: look again */
    rc = RP_ATTEMPT(false);
    if (rc != miss) return rc;
  }
#undef RP_ATTEMPT
}

int rp_ring_push_wait(void *base, uint32_t value, int64_t timeout_ns, rp_stop_fn stop, void *ctx) {
  return wait_loop(base, false, value, NULL, timeout_ns, stop, ctx);
}

int rp_ring_pop_wait(void *base, uint32_t *out, int64_t timeout_ns, rp_stop_fn stop, void *ctx) {
  return wait_loop(base, true, 0, out, timeout_ns, stop, ctx);
}
