/* test_wait.c - the waiter table: outcomes, exact counts, FIFO order, async waiters,
 * cancel and owner removal, and a ping-pong stress that would hang on a lost wake-up
 * (every wait has a generous timeout, so a lost wake-up fails instead of hanging). */
#include <pthread.h>
#include <string.h>

#include "errors.h"
#include "test_util.h"
#include "wait.h"

static _Atomic int32_t cell;
static _Atomic int32_t order_next;
static _Atomic int32_t other; /* nobody waits on it */
static int32_t wake_order[64];

typedef struct {
  int id;
  int rc;
} blocker_t;

static void *blocker(void *arg) {
  blocker_t *b = arg;
  b->rc = rp_wait_block(&cell, 0, 10LL * 1000000000LL, NULL, NULL);
  int32_t pos = atomic_fetch_add(&order_next, 1);
  wake_order[pos] = b->id;
  return NULL;
}

static void wait_until_count(_Atomic int32_t *c, uint32_t n) {
  int64_t deadline = rp_now_ns() + 10LL * 1000000000LL;
  while (rp_wait_count(c) != n) {
    CHECK(rp_now_ns() < deadline, "waiter count stuck at %u, want %u", rp_wait_count(c), n);
    rp_cpu_relax();
  }
}

static void test_outcomes(void) {
  atomic_store(&cell, 5);
  CHECK(rp_wait_block(&cell, 4, -1, NULL, NULL) == RP_WAIT_NOT_EQUAL, "not-equal");
  CHECK(rp_wait_block(&cell, 5, 0, NULL, NULL) == RP_WAIT_TIMED_OUT, "zero timeout");
  int64_t t0 = rp_now_ns();
  CHECK(rp_wait_block(&cell, 5, 20 * 1000000LL, NULL, NULL) == RP_WAIT_TIMED_OUT, "timeout");
  CHECK(rp_now_ns() - t0 >= 19 * 1000000LL, "returned before the timeout");
  CHECK(rp_wait_count(&cell) == 0, "timed-out waiter left behind");
  CHECK(rp_notify(&cell, UINT32_MAX) == 0, "notify with nobody waiting");
  atomic_store(&cell, 0);
}

/* Threads queue one by one (each enters only after the previous is linked), then are
 * woken one at a time: the wake order must be the arrival order, counts exact. */
static void test_fifo_and_counts(void) {
  enum { N = 8 };
  pthread_t th[N];
  blocker_t b[N];
  atomic_store(&order_next, 0);
  for (int i = 0; i < N; i++) {
    b[i].id = i;
    pthread_create(&th[i], NULL, blocker, &b[i]);
    wait_until_count(&cell, (uint32_t)i + 1);
  }
  CHECK(rp_notify(&cell, 0) == 0, "count 0 wakes none");
  for (int i = 0; i < 3; i++) {
    CHECK(rp_notify(&cell, 1) == 1, "notify 1");
    while (atomic_load(&order_next) != i + 1) rp_cpu_relax();
  }
  CHECK(rp_notify(&cell, 2) == 2, "notify 2");
  CHECK(rp_notify(&cell, 100) == 3, "notify 100 with 3 waiting woke a different number");
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 3; i++) CHECK(wake_order[i] == i, "FIFO: position %d woke thread %d", i, wake_order[i]);
  for (int i = 0; i < N; i++) CHECK(b[i].rc == RP_WAIT_OK, "thread %d rc %d", i, b[i].rc);
  CHECK(rp_wait_count(&cell) == 0, "table not empty");
}

/* ---- async waiters ---- */
static int woke_ids[16];
static int woke_n;
static void record_wake(rp_waiter_t *w) { woke_ids[woke_n++] = (int)w->token; }
/* rp_wait_set_after_walk: calls, and how many wakes each one saw (woke_n at the call). */
static int walks_n;
static int walk_saw[8];
static void record_walk(void) {
  if (walks_n < 8) walk_saw[walks_n] = woke_n;
  walks_n++;
}

static void test_async(void) {
  rp_waiter_t w[6];
  int owner_a, owner_b;
  memset(w, 0, sizeof w);
  woke_n = 0;
  atomic_store(&cell, 7);
  for (int i = 0; i < 6; i++) {
    w[i].on_wake = record_wake;
    w[i].owner = i < 4 ? (void *)&owner_a : (void *)&owner_b;
    w[i].token = (uint64_t)i;
  }
  walks_n = 0;
  rp_wait_set_after_walk(record_walk);
  CHECK(rp_wait_async_add(&w[0], &cell, 8) == RP_WAIT_NOT_EQUAL, "async not-equal");
  for (int i = 0; i < 6; i++) CHECK(rp_wait_async_add(&w[i], &cell, 7) == RP_WAIT_OK, "async add %d", i);
  CHECK(rp_wait_count(&cell) == 6, "6 queued");
  CHECK(rp_wait_async_cancel(&cell, &owner_a, 1) == &w[1], "cancel finds its waiter");
  CHECK(rp_wait_async_cancel(&cell, &owner_a, 1) == NULL, "cancel twice");
  CHECK(rp_wait_async_cancel(&cell, &owner_b, 0) == NULL, "cancel matches owner too");
  CHECK(rp_notify(&other, 1) == 0 && walks_n == 0, "a walk that wakes nobody: no after-walk call");
  CHECK(rp_notify(&cell, 2) == 2, "notify 2 async");
  CHECK(woke_n == 2 && woke_ids[0] == 0 && woke_ids[1] == 2, "FIFO async wake: %d %d", woke_ids[0], woke_ids[1]);
  CHECK(walks_n == 1 && walk_saw[0] == 2, "one after-walk call, after both wakes (%d calls)", walks_n);
  rp_waiter_t *chain = rp_wait_remove_owner(&owner_a);
  int n = 0;
  for (rp_waiter_t *x = chain; x; x = x->ready_next) n++;
  CHECK(n == 1 && chain == &w[3], "remove_owner took %d", n);
  CHECK(rp_notify(&cell, UINT32_MAX) == 2, "owner b's two remain");
  CHECK(woke_n == 4 && woke_ids[2] == 4 && woke_ids[3] == 5, "owner b woken in order");
  CHECK(walks_n == 2 && walk_saw[1] == 4, "one after-walk call per walk (%d calls)", walks_n);
  rp_wait_set_after_walk(NULL);
  CHECK(rp_wait_count(&cell) == 0, "table empty");
  atomic_store(&cell, 0);
}

/* ---- ping-pong: two threads alternate a turn word; any lost wake-up times out ---- */
static _Atomic int32_t turn;
static int rounds;

static void *pong(void *arg) {
  int me = (int)(intptr_t)arg;
  for (int r = 0; r < rounds; r++) {
    for (;;) {
      int32_t t = atomic_load(&turn);
      if ((t & 1) == me) break;
      int rc = rp_wait_block(&turn, t, 5LL * 1000000000LL, NULL, NULL);
      CHECK(rc != RP_WAIT_TIMED_OUT, "lost wake-up at round %d (thread %d)", r, me);
    }
    atomic_fetch_add(&turn, 1);
    rp_notify(&turn, 1);
  }
  return NULL;
}

static void test_ping_pong(void) {
  pthread_t a, b;
  rounds = 100000 / (int)rp_test_scale;
  atomic_store(&turn, 0);
  pthread_create(&a, NULL, pong, (void *)0);
  pthread_create(&b, NULL, pong, (void *)1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  CHECK(atomic_load(&turn) == 2 * rounds, "turns %d", atomic_load(&turn));
}

/* ---- many waiters, many notifiers: every waiter is woken exactly once ---- */
static _Atomic int32_t gate;
static _Atomic int32_t released;
static void *gate_waiter(void *arg) {
  (void)arg;
  while (atomic_load(&gate) == 0) {
    int rc = rp_wait_block(&gate, 0, 5LL * 1000000000LL, NULL, NULL);
    CHECK(rc != RP_WAIT_TIMED_OUT, "gate waiter never woken");
  }
  atomic_fetch_add(&released, 1);
  return NULL;
}

static void test_broadcast(void) {
  enum { N = 16 };
  pthread_t th[N];
  for (int round = 0; round < 20; round++) {
    atomic_store(&gate, 0);
    atomic_store(&released, 0);
    for (int i = 0; i < N; i++) pthread_create(&th[i], NULL, gate_waiter, NULL);
    atomic_store(&gate, 1);
    rp_notify(&gate, UINT32_MAX);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    CHECK(atomic_load(&released) == N, "released %d", atomic_load(&released));
    CHECK(rp_wait_count(&gate) == 0, "left behind");
  }
}

/* stop function: gives up once the flag is set */
static _Atomic int stop_flag;
static int stop_fn(void *ctx) {
  (void)ctx;
  return atomic_load(&stop_flag);
}
static void *stoppable(void *arg) {
  int *rc = arg;
  *rc = rp_wait_block(&cell, 0, -1, stop_fn, NULL);
  return NULL;
}
static void test_stop(void) {
  pthread_t t;
  int rc = 123;
  atomic_store(&cell, 0);
  pthread_create(&t, NULL, stoppable, &rc);
  wait_until_count(&cell, 1);
  atomic_store(&stop_flag, 1);
  pthread_join(t, NULL);
  CHECK(rc == RP_EINTR, "stop gives RP_EINTR, got %d", rc);
  CHECK(rp_wait_count(&cell) == 0, "stopped waiter left behind");
}

int main(void) {
  rp_test_init("test_wait");
  test_outcomes();
  test_fifo_and_counts();
  test_async();
  test_ping_pong();
  test_broadcast();
  test_stop();
  printf("test_wait: ok\n");
  return 0;
}
