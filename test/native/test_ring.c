/* test_ring.c - the MPMC ring: sizes and layout checks, FIFO and full/empty at
 * capacities 1, 2 and more, index wrap-around at 2^32, timeouts and stop, corruption
 * detection, and a producers x consumers x capacity stress in which every value carries
 * (producer, sequence): no loss, no duplicate, per-producer order seen by each consumer.
 * Blocking waits in the stress use a generous timeout, so a lost wake-up fails instead of
 * hanging. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "ring.h"
#include "test_util.h"

#define SEC (1000000000LL)

static void *alloc_ring(uint32_t cap, size_t *len) {
  CHECK(rp_ring_bytes(cap, len) == 0, "bytes(%u)", cap);
  void *p = aligned_alloc(64, (*len + 63) & ~(size_t)63);
  CHECK(p != NULL, "alloc");
  memset(p, 0xA5, *len); /* init must not depend on zeroed memory */
  CHECK(rp_ring_init(p, *len, cap) == 0, "init(%u)", cap);
  return p;
}

static void test_bytes_and_check(void) {
  size_t n;
  CHECK(rp_ring_bytes(0, &n) == RP_ERANGE, "capacity 0");
  CHECK(rp_ring_bytes(3, &n) == RP_ERANGE, "capacity 3");
  CHECK(rp_ring_bytes(96, &n) == RP_ERANGE, "capacity 96");
  CHECK(rp_ring_bytes(1u << 25, &n) == RP_ERANGE, "capacity 2^25");
  CHECK(rp_ring_bytes(1, &n) == 0 && n == RP_RING_HEADER_BYTES + 8, "capacity 1: %zu", n);
  CHECK(rp_ring_bytes(1u << 24, &n) == 0 && n == RP_RING_HEADER_BYTES + 8 * ((size_t)1 << 24), "max");

  size_t len;
  uint8_t *r = alloc_ring(8, &len);
  uint32_t cap = 0;
  CHECK(rp_ring_check(r, len, &cap) == 0 && cap == 8, "check ok");
  CHECK(rp_ring_check(r, len + 64, &cap) == RP_ELAYOUT, "a larger region is not this ring");
  CHECK(rp_ring_check(r, len - 1, &cap) == RP_ELAYOUT, "short region");
  CHECK(rp_ring_check(r, 16, &cap) == RP_ELAYOUT, "tiny region");
  CHECK(rp_ring_check(r + 4, len - 4, &cap) == RP_EALIGN, "misaligned check");
  CHECK(rp_ring_init(r + 4, len - 4, 8) == RP_EALIGN, "misaligned init");
  CHECK(rp_ring_init(r, len - 1, 8) == RP_ERANGE, "init short");
  CHECK(rp_ring_init(r, len, 6) == RP_ERANGE, "init non power of two");
  r[0] ^= 1;
  CHECK(rp_ring_check(r, len, &cap) == RP_ELAYOUT, "bad magic");
  r[0] ^= 1;
  r[RP_RING_OFF_VERSION] = 9;
  CHECK(rp_ring_check(r, len, &cap) == RP_ELAYOUT, "bad version");
  r[RP_RING_OFF_VERSION] = RP_RING_VERSION;
  *(uint32_t *)(void *)(r + RP_RING_OFF_CAPACITY) = 16;
  CHECK(rp_ring_check(r, len, &cap) == RP_ELAYOUT, "capacity larger than region");
  *(uint32_t *)(void *)(r + RP_RING_OFF_CAPACITY) = 7;
  CHECK(rp_ring_check(r, len, &cap) == RP_ELAYOUT, "capacity not a power of two");
  *(uint32_t *)(void *)(r + RP_RING_OFF_CAPACITY) = 8;
  CHECK(rp_ring_check(r, len, &cap) == 0, "restored");
  free(r);
}

/* Fill, overflow, drain, underflow, many laps; checks FIFO order and size throughout. */
static void fifo_at(uint32_t cap) {
  size_t len;
  void *r = alloc_ring(cap, &len);
  uint32_t v, next_in = 0, next_out = 0;
  for (int lap = 0; lap < 50; lap++) {
    CHECK(rp_ring_size(r) == 0, "cap %u empty size", cap);
    CHECK(rp_ring_try_pop(r, &v) == RP_RING_EMPTY, "cap %u pop on empty", cap);
    for (uint32_t i = 0; i < cap; i++) {
      CHECK(rp_ring_try_push(r, next_in * 2654435761u) == 0, "cap %u push %u", cap, i);
      next_in++;
      CHECK(rp_ring_size(r) == i + 1, "cap %u size %u", cap, rp_ring_size(r));
    }
    CHECK(rp_ring_try_push(r, 1) == RP_EFULL, "cap %u push on full", cap);
    CHECK(rp_ring_size(r) == cap, "cap %u full size", cap);
    /* drain half (at least one), refill, then drain all: exercises partial laps */
    uint32_t half = cap / 2 ? cap / 2 : 1;
    for (uint32_t i = 0; i < half; i++) {
      CHECK(rp_ring_try_pop(r, &v) == 0 && v == next_out * 2654435761u, "cap %u order", cap);
      next_out++;
    }
    for (uint32_t i = 0; i < half; i++) CHECK(rp_ring_try_push(r, next_in++ * 2654435761u) == 0, "refill");
    CHECK(rp_ring_try_push(r, 1) == RP_EFULL, "cap %u full again", cap);
    while (rp_ring_try_pop(r, &v) == 0) {
      CHECK(v == next_out * 2654435761u, "cap %u order after refill", cap);
      next_out++;
    }
    CHECK(next_in == next_out, "cap %u count", cap);
  }
  /* extreme values survive */
  CHECK(rp_ring_try_push(r, 0xFFFFFFFFu) == 0 && rp_ring_try_pop(r, &v) == 0 && v == 0xFFFFFFFFu, "max value");
  CHECK(rp_ring_try_push(r, 0) == 0 && rp_ring_try_pop(r, &v) == 0 && v == 0, "zero");
  free(r);
}

/* Moves an empty ring's positions to `p` (as if 'p' values had passed through). */
static void rebase(uint8_t *r, uint32_t cap, uint32_t p) {
  *(uint32_t *)(void *)(r + RP_RING_OFF_HEAD) = p;
  *(uint32_t *)(void *)(r + RP_RING_OFF_TAIL) = p;
  for (uint32_t k = 0; k < cap; k++) {
    uint32_t pos = p + k;
    *(uint32_t *)(void *)(r + RP_RING_HEADER_BYTES + (size_t)(pos & (cap - 1)) * 8) = 2u * pos;
  }
}

static void test_wraparound(void) {
  uint32_t caps[] = {1, 2, 4, 64};
  for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
    uint32_t cap = caps[c];
    size_t len;
    uint8_t *r = alloc_ring(cap, &len);
    rebase(r, cap, 0xFFFFFFFFu - 3 * cap);
    uint32_t v, in = 0, out = 0;
    for (int round = 0; round < 16; round++) {
      while (rp_ring_try_push(r, in) == 0) in++;
      CHECK(rp_ring_size(r) == cap, "cap %u size across wrap = %u", cap, rp_ring_size(r));
      while (rp_ring_try_pop(r, &v) == 0) CHECK(v == out++, "cap %u wrap order", cap);
      CHECK(in == out && rp_ring_size(r) == 0, "cap %u wrap count", cap);
    }
    CHECK(in == 16 * cap, "cap %u: %u pushed", cap, in);
    free(r);
  }
}

static int stop_now(void *ctx) { return atomic_load((_Atomic int *)ctx); }

static void test_waits_single_thread(void) {
  size_t len;
  void *r = alloc_ring(2, &len);
  uint32_t v;
  CHECK(rp_ring_pop_wait(r, &v, 0, NULL, NULL) == RP_RING_TIMED_OUT, "pop_wait 0 on empty");
  int64_t t0 = rp_now_ns();
  CHECK(rp_ring_pop_wait(r, &v, 30 * 1000000LL, NULL, NULL) == RP_RING_TIMED_OUT, "pop_wait 30ms");
  CHECK(rp_now_ns() - t0 >= 29 * 1000000LL, "pop_wait returned early");
  CHECK(rp_ring_push_wait(r, 7, 0, NULL, NULL) == 0, "push_wait 0 with room");
  CHECK(rp_ring_push_wait(r, 8, -1, NULL, NULL) == 0, "push_wait forever with room");
  CHECK(rp_ring_push_wait(r, 9, 0, NULL, NULL) == RP_RING_TIMED_OUT, "push_wait 0 on full");
  t0 = rp_now_ns();
  CHECK(rp_ring_push_wait(r, 9, 30 * 1000000LL, NULL, NULL) == RP_RING_TIMED_OUT, "push_wait 30ms");
  CHECK(rp_now_ns() - t0 >= 29 * 1000000LL, "push_wait returned early");
  _Atomic int stop = 1;
  t0 = rp_now_ns();
  CHECK(rp_ring_push_wait(r, 9, -1, stop_now, &stop) == RP_EINTR, "stop interrupts push_wait");
  CHECK(rp_now_ns() - t0 < 5 * SEC, "stop took too long");
  CHECK(rp_ring_pop_wait(r, &v, -1, NULL, NULL) == 0 && v == 7, "pop_wait got %u", v);
  CHECK(rp_ring_pop_wait(r, &v, -1, stop_now, &stop) == 0 && v == 8, "pop_wait with stop but data");
  CHECK(rp_ring_pop_wait(r, &v, -1, stop_now, &stop) == RP_EINTR, "stop interrupts pop_wait");
  uint8_t *b = r;
  CHECK(*(int32_t *)(void *)(b + RP_RING_OFF_NOT_EMPTY_WAITERS) == 0, "consumer waiter count left behind");
  CHECK(*(int32_t *)(void *)(b + RP_RING_OFF_NOT_FULL_WAITERS) == 0, "producer waiter count left behind");
  free(r);
}

/* A consumer blocked on empty is woken by a push; a producer blocked on full by a pop. */
typedef struct {
  void *r;
  uint32_t v;
  int rc;
} waiter_arg_t;

static void *pop_waiter(void *p) {
  waiter_arg_t *a = p;
  a->rc = rp_ring_pop_wait(a->r, &a->v, 3 * SEC, NULL, NULL);
  return NULL;
}

static void *push_waiter(void *p) {
  waiter_arg_t *a = p;
  a->rc = rp_ring_push_wait(a->r, a->v, 3 * SEC, NULL, NULL);
  return NULL;
}

static void wait_for_sleeper(uint8_t *b, size_t off_waiters, _Atomic int32_t *seq) {
  int64_t deadline = rp_now_ns() + 10 * SEC;
  while (atomic_load(RP_A32(b + off_waiters)) == 0 || rp_wait_count(seq) == 0) {
    CHECK(rp_now_ns() < deadline, "waiter never went to sleep");
    sched_yield();
  }
}

static void test_wakeups(void) {
  size_t len;
  uint8_t *r = alloc_ring(1, &len);
  pthread_t th;
  waiter_arg_t a = {r, 0, -100};
  pthread_create(&th, NULL, pop_waiter, &a);
  wait_for_sleeper(r, RP_RING_OFF_NOT_EMPTY_WAITERS, RP_A32(r + RP_RING_OFF_NOT_EMPTY_SEQ));
  CHECK(rp_ring_try_push(r, 42) == 0, "push");
  pthread_join(th, NULL);
  CHECK(a.rc == 0 && a.v == 42, "woken consumer rc %d v %u", a.rc, a.v);

  CHECK(rp_ring_try_push(r, 1) == 0, "fill");
  waiter_arg_t b = {r, 2, -100};
  pthread_create(&th, NULL, push_waiter, &b);
  wait_for_sleeper(r, RP_RING_OFF_NOT_FULL_WAITERS, RP_A32(r + RP_RING_OFF_NOT_FULL_SEQ));
  uint32_t v;
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 1, "pop");
  pthread_join(th, NULL);
  CHECK(b.rc == 0, "woken producer rc %d", b.rc);
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 2, "producer's value");
  free(r);
}

static void wait_for_sleepers(uint8_t *b, size_t off_waiters, size_t off_seq, int32_t n) {
  int64_t deadline = rp_now_ns() + 10 * SEC;
  while (atomic_load(RP_A32(b + off_waiters)) != n || rp_wait_count(RP_A32(b + off_seq)) != (uint32_t)n) {
    CHECK(rp_now_ns() < deadline, "%d waiters never went to sleep", n);
    sched_yield();
  }
}

/* The chain rule of ring.h ("Out-of-order publication"), made deterministic by playing a
 * stalled thread by hand: a push that claimed position 0 but has not published it. */
static void test_chain_wakeups(void) {
  size_t len;
  uint8_t *r = alloc_ring(4, &len);
  uint32_t *seq0 = (uint32_t *)(void *)(r + RP_RING_HEADER_BYTES), *val0 = seq0 + 1;
  pthread_t t1, t2;
  /* consumers: push at 0 stalled, push at 1 published (nobody waits yet) */
  *(uint32_t *)(void *)(r + RP_RING_OFF_TAIL) = 1;
  CHECK(rp_ring_try_push(r, 11) == 0, "push at 1");
  waiter_arg_t c1 = {r, 0, -100}, c2 = {r, 0, -100};
  pthread_create(&t1, NULL, pop_waiter, &c1);
  pthread_create(&t2, NULL, pop_waiter, &c2);
  wait_for_sleepers(r, RP_RING_OFF_NOT_EMPTY_WAITERS, RP_RING_OFF_NOT_EMPTY_SEQ, 2);
  *val0 = 10;
  atomic_store(RP_AU32(seq0), 1u); /* the stalled push publishes position 0 */
  int64_t t0 = rp_now_ns();
  CHECK(rp_ring_try_push(r, 12) == 0, "push at 2 wakes one consumer");
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  /* the waits time out after 3 s and then take what is there: only speed shows the chain */
  CHECK(rp_now_ns() - t0 < 3 * SEC / 2, "second consumer was not woken by the chain rule");
  CHECK(c1.rc == 0 && c2.rc == 0, "consumers: rc %d %d (the second was never woken?)", c1.rc, c2.rc);
  CHECK((c1.v == 10 && c2.v == 11) || (c1.v == 11 && c2.v == 10), "consumers got %u %u", c1.v, c2.v);
  uint32_t v;
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 12 && rp_ring_size(r) == 0, "last value");
  free(r);

  /* producers: full ring, pop at 0 stalled (claimed, slot not released), pop at 1 done */
  r = alloc_ring(4, &len);
  seq0 = (uint32_t *)(void *)(r + RP_RING_HEADER_BYTES);
  for (uint32_t i = 0; i < 4; i++) CHECK(rp_ring_try_push(r, i) == 0, "fill");
  *(uint32_t *)(void *)(r + RP_RING_OFF_HEAD) = 1;
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 1, "pop at 1");
  waiter_arg_t p1 = {r, 100, -100}, p2 = {r, 101, -100};
  pthread_create(&t1, NULL, push_waiter, &p1);
  pthread_create(&t2, NULL, push_waiter, &p2);
  wait_for_sleepers(r, RP_RING_OFF_NOT_FULL_WAITERS, RP_RING_OFF_NOT_FULL_SEQ, 2);
  atomic_store(RP_AU32(seq0), 2u * 4u); /* the stalled pop releases slot 0 */
  t0 = rp_now_ns();
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 2, "pop at 2 wakes one producer");
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  CHECK(rp_now_ns() - t0 < 3 * SEC / 2, "second producer was not woken by the chain rule");
  CHECK(p1.rc == 0 && p2.rc == 0, "producers: rc %d %d (the second was never woken?)", p1.rc, p2.rc);
  CHECK(rp_ring_try_pop(r, &v) == 0 && v == 3, "order 3");
  uint32_t a, b;
  CHECK(rp_ring_try_pop(r, &a) == 0 && rp_ring_try_pop(r, &b) == 0 && a + b == 201, "producers' values");
  free(r);
}

/* Garbage in a slot's sequence number must give RP_ELAYOUT, not an endless spin. */
static void test_corruption(void) {
  size_t len;
  uint8_t *r = alloc_ring(4, &len);
  uint32_t *seq0 = (uint32_t *)(void *)(r + RP_RING_HEADER_BYTES);
  *seq0 = 1000; /* "someone already pushed far ahead" while tail stays at 0 */
  CHECK(rp_ring_try_push(r, 1) == RP_ELAYOUT, "push on corrupt ring");
  *seq0 = 1001;
  uint32_t v;
  CHECK(rp_ring_try_pop(r, &v) == RP_ELAYOUT, "pop on corrupt ring");
  free(r);
}

/* ---- stress ---- */
#define SENTINEL 0xFFFFFFFFu
#define TAG(p, s) (((uint32_t)(p) << 24) | (uint32_t)(s))

typedef struct {
  void *r;
  int id;
  int nprod;
  uint32_t items;
  int blocking;
  uint8_t *seen; /* consumer: [nprod][items] */
  uint32_t got;
  uint64_t rng;
} stress_arg_t;

static void *producer(void *p) {
  stress_arg_t *a = p;
  for (uint32_t s = 0; s < a->items; s++) {
    uint32_t v = TAG(a->id, s);
    int blocking = a->blocking == 2 ? (int)(rp_rand(&a->rng) & 1) : a->blocking;
    if (blocking) {
      int rc = rp_ring_push_wait(a->r, v, 20 * SEC, NULL, NULL);
      CHECK(rc == 0, "producer %d push_wait rc %d at %u (lost wake-up?)", a->id, rc, s);
    } else {
      int spins = 0;
      int rc;
      while ((rc = rp_ring_try_push(a->r, v)) == RP_EFULL)
        if (++spins % 16 == 0) sched_yield();
      CHECK(rc == 0, "producer try_push rc %d", rc);
    }
  }
  return NULL;
}

static void *consumer(void *p) {
  stress_arg_t *a = p;
  uint32_t last[16];
  for (int i = 0; i < 16; i++) last[i] = UINT32_MAX;
  for (;;) {
    uint32_t v;
    int blocking = a->blocking == 2 ? (int)(rp_rand(&a->rng) & 1) : a->blocking;
    if (blocking) {
      int rc = rp_ring_pop_wait(a->r, &v, 20 * SEC, NULL, NULL);
      CHECK(rc == 0, "consumer %d pop_wait rc %d after %u items (lost wake-up?)", a->id, rc, a->got);
    } else {
      int spins = 0;
      int rc;
      while ((rc = rp_ring_try_pop(a->r, &v)) == RP_RING_EMPTY)
        if (++spins % 16 == 0) sched_yield();
      CHECK(rc == 0, "consumer try_pop rc %d", rc);
    }
    if (v == SENTINEL) break;
    uint32_t prod = v >> 24, seq = v & 0xFFFFFFu;
    CHECK((int)prod < a->nprod && seq < a->items, "consumer %d: garbage value 0x%08x", a->id, v);
    CHECK(last[prod] == UINT32_MAX || seq > last[prod], "consumer %d: producer %u order %u after %u", a->id, prod,
          seq, last[prod]);
    last[prod] = seq;
    CHECK(a->seen[(size_t)prod * a->items + seq]++ == 0, "consumer %d: duplicate p%u s%u", a->id, prod, seq);
    a->got++;
  }
  return NULL;
}

static void stress_one(int np, int nc, uint32_t cap, uint32_t items, int mode) {
  size_t len;
  void *r = alloc_ring(cap, &len);
  pthread_t pt[4], ct[4];
  stress_arg_t pa[4], ca[4];
  for (int i = 0; i < np; i++) {
    pa[i] = (stress_arg_t){r, i, np, items, mode, NULL, 0, rp_test_seed ^ (uint64_t)(i * 7919 + 1)};
    pthread_create(&pt[i], NULL, producer, &pa[i]);
  }
  for (int i = 0; i < nc; i++) {
    ca[i] = (stress_arg_t){r, i, np, items, mode, calloc((size_t)np * items, 1), 0,
                           rp_test_seed ^ (uint64_t)(i * 104729 + 3)};
    CHECK(ca[i].seen, "alloc");
    pthread_create(&ct[i], NULL, consumer, &ca[i]);
  }
  for (int i = 0; i < np; i++) pthread_join(pt[i], NULL);
  for (int i = 0; i < nc; i++) CHECK(rp_ring_push_wait(r, SENTINEL, 20 * SEC, NULL, NULL) == 0, "sentinel");
  for (int i = 0; i < nc; i++) pthread_join(ct[i], NULL);
  uint64_t total = 0;
  for (size_t k = 0; k < (size_t)np * items; k++) {
    unsigned n = 0;
    for (int i = 0; i < nc; i++) n += ca[i].seen[k];
    CHECK(n == 1, "P%d C%d cap %u: item p%zu s%zu seen %u times", np, nc, cap, k / items, k % items, n);
    total += n;
  }
  CHECK(total == (uint64_t)np * items, "total");
  uint32_t v;
  CHECK(rp_ring_try_pop(r, &v) == RP_RING_EMPTY && rp_ring_size(r) == 0, "ring not empty at the end");
  uint8_t *b = r;
  CHECK(*(int32_t *)(void *)(b + RP_RING_OFF_NOT_EMPTY_WAITERS) == 0 &&
            *(int32_t *)(void *)(b + RP_RING_OFF_NOT_FULL_WAITERS) == 0,
        "waiter counts not back to 0");
  for (int i = 0; i < nc; i++) free(ca[i].seen);
  free(r);
}

static void test_stress(void) {
  const int counts[] = {1, 2, 4};
  const uint32_t caps[] = {1, 2, 64, 1024};
  /* Capacities 1 and 2 hand over (nearly) every value through a wake-up: fewer items. */
  uint32_t items = 20000 / rp_test_scale, items_small = items / 4;
  int64_t t0 = rp_now_ns();
  unsigned configs = 0;
  for (int pi = 0; pi < 3; pi++)
    for (int ci = 0; ci < 3; ci++)
      for (int k = 0; k < 4; k++) {
        int np = counts[pi], nc = counts[ci];
        /* mode: 0 try-only, 1 blocking-only, 2 random mix per operation */
        int mode = (pi + ci + k) % 3;
        stress_one(np, nc, caps[k], caps[k] <= 2 ? items_small : items, mode);
        configs++;
      }
  /* blocking only, at the capacities where nearly every value goes through a wake-up */
  stress_one(4, 4, 1, items_small, 1);
  stress_one(2, 2, 2, items_small, 1);
  printf("  stress: %u configurations, %u (capacity <= 2: %u) items per producer, %.2f s\n", configs + 2, items,
         items_small, (double)(rp_now_ns() - t0) / 1e9);
}

int main(void) {
  rp_test_init("test_ring");
  test_bytes_and_check();
  fifo_at(1);
  fifo_at(2);
  fifo_at(4);
  fifo_at(64);
  test_wraparound();
  test_waits_single_thread();
  test_wakeups();
  test_chain_wakeups();
  test_corruption();
  test_stress();
  printf("test_ring: ok\n");
  return 0;
}
