/* wait.c - the process-wide waiter table (see wait.h for layout, invariants, concurrency). */
#include "wait.h"

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

typedef struct {
  _Alignas(RP_CACHELINE) rp_lock_t lock;
  /* Linked waiters in this bucket. Written under `lock` with seq_cst RMWs; read without the
   * lock by rp_notify (seq_cst), see "NO LOST WAKE-UPS" in wait.h. */
  _Atomic uint32_t count;
  rp_waiter_t *head, *tail; /* guarded by lock */
} rp_bucket_t;

static_assert(sizeof(rp_bucket_t) == RP_CACHELINE, "one bucket per cache-line block");

/* The table: the core's one mutable global (zero-initialised: every lock free, every list
 * empty). Buckets are selected by a hash of the cell's address. */
static rp_bucket_t rp_table[RP_WAIT_BUCKETS];

static rp_bucket_t *bucket_of(const void *addr) {
  uint64_t h = (uint64_t)(uintptr_t)addr >> 2;
  h *= 0x9E3779B97F4A7C15ULL;
  return &rp_table[h >> (64 - 8)];
}
static_assert(RP_WAIT_BUCKETS == 256, "bucket_of takes the top 8 bits of the hash");

/* ---- lock: 0 free, 1 held, 2 held and someone may sleep on it ---- */

void rp_lock_acquire(rp_lock_t *l) {
  uint32_t c = 0;
  /* L1 acquire: takes the lock; pairs with L2 in rp_lock_release. Failure is relaxed: we
   * learned only that it is held, and retry. */
  if (atomic_compare_exchange_strong_explicit(&l->word, &c, 1, memory_order_acquire, memory_order_relaxed)) return;
  for (int spin = 0; spin < 64; spin++) {
    rp_cpu_relax();
    c = 0;
    /* L1 again, same pairing. */
    if (atomic_load_explicit(&l->word, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit(&l->word, &c, 1, memory_order_acquire, memory_order_relaxed))
      return;
  }
  /* L1' acquire exchange: mark contended; pairs with L2. */
  c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
  while (c != 0) {
    rp_futex_wait(&l->word, 2, -1);
    c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire); /* L1' again */
  }
}

void rp_lock_release(rp_lock_t *l) {
  /* L2 release: publishes the critical section; pairs with L1/L1'. The lock word lives as
   * long as its owner structure (the static table, or per-thread state freed only by its
   * own thread), so touching it for the wake after the release is safe. */
  if (atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2) rp_futex_wake(&l->word, 1);
}

/* ---- list helpers (bucket lock held) ---- */

/* The caller has already counted w (see add_if_equal). */
static void link_tail(rp_bucket_t *b, rp_waiter_t *w) {
  w->next = NULL;
  w->prev = b->tail;
  if (b->tail) b->tail->next = w;
  else b->head = w;
  b->tail = w;
}

/* Unlinks w; the caller lowers b->count (still under the lock: count may only be too
 * high while the lock is held, never too low). */
static void unlink_links(rp_bucket_t *b, rp_waiter_t *w) {
  if (w->prev) w->prev->next = w->next;
  else b->head = w->next;
  if (w->next) w->next->prev = w->prev;
  else b->tail = w->prev;
  w->prev = w->next = NULL;
}

static void unlink_waiter(rp_bucket_t *b, rp_waiter_t *w) {
  unlink_links(b, w);
  atomic_fetch_sub_explicit(&b->count, 1, memory_order_seq_cst);
}

int32_t rp_load32(_Atomic int32_t *addr) { return atomic_load_explicit(addr, memory_order_seq_cst); }

/* Links w if *addr == expected. Count is raised before the value is read so that a
 * notifier that stored a new value and then read count == 0 is impossible while we
 * go on to sleep (see wait.h). */
static int add_if_equal(rp_bucket_t *b, rp_waiter_t *w, _Atomic int32_t *addr, int32_t expected) {
  w->addr = addr;
  rp_lock_acquire(&b->lock);
  atomic_fetch_add_explicit(&b->count, 1, memory_order_seq_cst);
  if (atomic_load_explicit(addr, memory_order_seq_cst) != expected) {
    atomic_fetch_sub_explicit(&b->count, 1, memory_order_seq_cst);
    rp_lock_release(&b->lock);
    return RP_WAIT_NOT_EQUAL;
  }
  link_tail(b, w);
  rp_lock_release(&b->lock);
  return RP_WAIT_OK;
}

int rp_wait_block(_Atomic int32_t *addr, int32_t expected, int64_t timeout_ns, rp_stop_fn stop, void *ctx) {
  rp_bucket_t *b = bucket_of(addr);
  rp_waiter_t w = {0};
  w.kind = RP_WAITER_BLOCKING;
  atomic_init(&w.state, 0);
  if (timeout_ns == 0) {
    return atomic_load_explicit(addr, memory_order_seq_cst) == expected ? RP_WAIT_TIMED_OUT : RP_WAIT_NOT_EQUAL;
  }
  if (add_if_equal(b, &w, addr, expected) != RP_WAIT_OK) return RP_WAIT_NOT_EQUAL;

  int64_t deadline = timeout_ns < 0 ? -1 : rp_now_ns() + timeout_ns;
  int outcome = RP_WAIT_OK;
  for (;;) {
    /* W1 acquire: sees the notifier's N1 store of 1. The bucket lock taken below orders
     * everything anyway; this load only decides whether to park again. */
    if (atomic_load_explicit(&w.state, memory_order_acquire) != 0) break;
    int64_t slice = stop ? RP_WAIT_SLICE_NS : -1;
    if (deadline >= 0) {
      int64_t left = deadline - rp_now_ns();
      if (left <= 0) {
        outcome = RP_WAIT_TIMED_OUT;
        break;
      }
      if (slice < 0 || left < slice) slice = left;
    }
    rp_futex_wait(&w.state, 0, slice);
    if (stop && atomic_load_explicit(&w.state, memory_order_acquire) == 0 && stop(ctx)) { /* W1 again */
      outcome = RP_EINTR;
      break;
    }
  }
  /* Leave under the lock: if a notifier unlinked us, it did so (and made its futex wake on
   * w.state) while holding this lock, so once we hold it nobody touches `w` any more and
   * the stack frame may go. If we are still linked, we time out / give up. */
  rp_lock_acquire(&b->lock);
  if (atomic_load_explicit(&w.state, memory_order_relaxed) == 0) { /* relaxed: written only under this lock */
    unlink_waiter(b, &w);
  } else {
    outcome = RP_WAIT_OK;
  }
  rp_lock_release(&b->lock);
  return outcome;
}

int rp_wait_async_add(rp_waiter_t *w, _Atomic int32_t *addr, int32_t expected) {
  w->kind = RP_WAITER_ASYNC;
  atomic_init(&w->state, 0);
  return add_if_equal(bucket_of(addr), w, addr, expected);
}

rp_waiter_t *rp_wait_async_cancel(_Atomic int32_t *addr, void *owner, uint64_t token) {
  rp_bucket_t *b = bucket_of(addr);
  rp_waiter_t *found = NULL;
  if (atomic_load_explicit(&b->count, memory_order_seq_cst) == 0) return NULL;
  rp_lock_acquire(&b->lock);
  /* Timeouts usually fire in arrival order, so the waiter is normally near the head. */
  for (rp_waiter_t *w = b->head; w; w = w->next) {
    if (w->addr == addr && w->kind == RP_WAITER_ASYNC && w->owner == owner && w->token == token) {
      unlink_waiter(b, w);
      found = w;
      break;
    }
  }
  rp_lock_release(&b->lock);
  return found;
}

/* rp_wait_set_after_walk. relaxed (store and loads): the pointer is the only thing it
 * hands over (code, no data), and every value it ever holds is valid to call or NULL. */
static _Atomic(void (*)(void)) after_walk;

void rp_wait_set_after_walk(void (*fn)(void)) { atomic_store_explicit(&after_walk, fn, memory_order_relaxed); }

/* Wakes one linked waiter (bucket lock held, w already unlinked). */
static void wake_one(rp_waiter_t *w) {
  if (w->kind == RP_WAITER_BLOCKING) {
    /* N1 release: tells the waiter it was woken; pairs with W1. The wake is made under the
     * lock: the waiter cannot return (and free w) before we unlock. */
    atomic_store_explicit(&w->state, 1, memory_order_release);
    rp_futex_wake(&w->state, 1);
  } else {
    w->on_wake(w);
  }
}

/* Bucket lock held: wakes waiters on addr in FIFO order, at most `count` of them, and only
 * while go_on (when given) says so; calls drained (when given) once none is left. */
static uint32_t wake_walk(rp_bucket_t *b, _Atomic int32_t *addr, uint32_t count, rp_handoff_go_fn go_on,
                          rp_handoff_drained_fn drained, void *ctx) {
  uint32_t woken = 0;
  bool async_woken = false;
  rp_waiter_t *w = b->head;
  while (woken < count && (go_on == NULL || go_on(ctx))) {
    while (w && w->addr != addr) w = w->next;
    if (!w) {
      if (drained) drained(ctx);
      break;
    }
    rp_waiter_t *next = w->next;
    /* Waiters were written by their own threads: start fetching the next one while this
     * one is woken (a long notify walks one cache miss per waiter otherwise). */
    if (next) rp_prefetch_w(next);
    unlink_links(b, w);
    woken++;
    if (w->kind == RP_WAITER_ASYNC) async_woken = true;
    wake_one(w);
    w = next;
  }
  /* One update for the whole walk, made before the caller unlocks (see unlink_links). */
  if (woken) atomic_fetch_sub_explicit(&b->count, woken, memory_order_seq_cst);
  if (async_woken) {
    void (*fn)(void) = atomic_load_explicit(&after_walk, memory_order_relaxed);
    if (fn) fn();
  }
  return woken;
}

uint32_t rp_notify(_Atomic int32_t *addr, uint32_t count) {
  rp_bucket_t *b = bucket_of(addr);
  if (count == 0 || atomic_load_explicit(&b->count, memory_order_seq_cst) == 0) return 0;
  rp_lock_acquire(&b->lock);
  uint32_t woken = wake_walk(b, addr, count, NULL, NULL, NULL);
  rp_lock_release(&b->lock);
  return woken;
}

uint32_t rp_notify_handoff(_Atomic int32_t *addr, rp_handoff_go_fn go_on, rp_handoff_drained_fn drained, void *ctx) {
  rp_bucket_t *b = bucket_of(addr);
  /* Always under the lock, even when count reads 0: drained must be atomic with respect to
   * links (see wait.h). */
  rp_lock_acquire(&b->lock);
  uint32_t woken = wake_walk(b, addr, UINT32_MAX, go_on, drained, ctx);
  rp_lock_release(&b->lock);
  return woken;
}

rp_waiter_t *rp_wait_remove_owner(void *owner) {
  rp_waiter_t *chain = NULL;
  for (size_t i = 0; i < RP_WAIT_BUCKETS; i++) {
    rp_bucket_t *b = &rp_table[i];
    /* Taking every lock (not skipping empty buckets) also waits out any notifier that is
     * inside owner's on_wake right now. */
    rp_lock_acquire(&b->lock);
    rp_waiter_t *w = b->head;
    while (w) {
      rp_waiter_t *next = w->next;
      if (w->kind == RP_WAITER_ASYNC && w->owner == owner) {
        unlink_waiter(b, w);
        w->ready_next = chain;
        chain = w;
      }
      w = next;
    }
    rp_lock_release(&b->lock);
  }
  return chain;
}

uint32_t rp_wait_count(_Atomic int32_t *addr) {
  rp_bucket_t *b = bucket_of(addr);
  uint32_t n = 0;
  rp_lock_acquire(&b->lock);
  for (rp_waiter_t *w = b->head; w; w = w->next)
    if (w->addr == addr) n++;
  rp_lock_release(&b->lock);
  return n;
}
