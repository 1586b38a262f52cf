/* test_squeue.c - the SharedQueue core: layout checks, slot sizes, exact capacity,
 * all-or-nothing enqueue of many, records inline and in blocks, memory growth and the full
 * error, peek, close, clear, and a sweep of producers x consumers x capacity (wide and
 * narrow slots) where every record carries (producer, seq): no loss, no duplicate,
 * per-producer order as seen by each consumer. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "squeue.h"
#include "test_util.h"

#define QMAX (4u << 20)

typedef struct {
  uint8_t *base;
  _Atomic size_t len;
} qregion_t;

static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static void grow_to(qregion_t *q, uint64_t need) {
  pthread_mutex_lock(&grow_lock);
  size_t cur = atomic_load(&q->len);
  if (need > cur) {
    size_t next = cur * 2 > need ? cur * 2 : (size_t)need;
    if (next > QMAX) next = QMAX;
    memset(q->base + cur, 0, next - cur);
    atomic_store(&q->len, next);
  }
  pthread_mutex_unlock(&grow_lock);
}

static qregion_t *q_new(uint32_t capacity, uint64_t max) {
  qregion_t *q = calloc(1, sizeof *q);
  q->base = aligned_alloc(64, QMAX);
  CHECK(q->base && q, "alloc");
  uint64_t hb = rp_squeue_header_bytes(capacity, max);
  CHECK(hb != 0, "header bytes");
  memset(q->base, 0, (size_t)hb + 256);
  atomic_store(&q->len, (size_t)hb + 256);
  CHECK(rp_squeue_init(q->base, (size_t)hb + 256, capacity, max) == 0, "init");
  return q;
}

static int enq(qregion_t *q, const void *p, uint32_t n) {
  const uint8_t *recs[1] = {p};
  for (;;) {
    uint64_t need = 0;
    int rc = rp_squeue_enqueue(q->base, atomic_load(&q->len), 1, recs, &n, &need);
    if (rc == RP_ARENA_GROW) {
      grow_to(q, need);
      continue;
    }
    return rc;
  }
}

static int deq(qregion_t *q, void *out, size_t cap, uint32_t *n) {
  uint32_t pos;
  int rc = rp_squeue_pop(q->base, &pos);
  if (rc != 0) return rc;
  uint64_t need;
  while ((rc = rp_squeue_read(q->base, atomic_load(&q->len), pos, out, cap, n, &need)) == RP_ARENA_GROW) {
  }
  CHECK(rc == 0, "read %d", rc);
  CHECK(rp_squeue_release(q->base, atomic_load(&q->len), pos) == 0, "release");
  return 0;
}

static void test_slots(void) {
  CHECK(rp_squeue_slot_bytes(0, 1 << 20) == 0 && rp_squeue_header_bytes(RP_SQUEUE_MAX_CAPACITY + 1, 1 << 20) == 0,
        "bad capacity");
  CHECK(rp_squeue_slot_bytes(4096, 64u << 20) == RP_SQUEUE_WIDE_SLOT, "wide by default");
  CHECK(rp_squeue_slot_bytes(4096, 512u << 10) == RP_SQUEUE_NARROW_SLOT, "narrow when max is small");
  CHECK(rp_squeue_slot_bytes(RP_SQUEUE_INLINE_MAX_RING + 1, 1u << 31) == RP_SQUEUE_NARROW_SLOT, "narrow when long");
  CHECK(rp_squeue_header_bytes(4096, 64u << 20) > rp_squeue_header_bytes(4096, 512u << 10), "wide costs more");
  /* 56 bytes stay in the slot, 57 go to a block; both come back intact, peek sees both. */
  qregion_t *q = q_new(4, 1 << 16);
  uint8_t a[56], b[57], out[64];
  for (int i = 0; i < 57; i++) b[i] = (uint8_t)(i + 1);
  memcpy(a, b, 56);
  uint32_t n;
  uint64_t need;
  size_t top0 = 0;
  {
    uint64_t live, used, top;
    rp_arena_stats(q->base, RP_SQUEUE_SLOTS_AT + 4 * RP_SQUEUE_WIDE_SLOT, &live, &used, &top);
    top0 = (size_t)used;
  }
  CHECK(enq(q, a, 56) == 0, "inline");
  {
    uint64_t live, used, top;
    rp_arena_stats(q->base, RP_SQUEUE_SLOTS_AT + 4 * RP_SQUEUE_WIDE_SLOT, &live, &used, &top);
    CHECK(used == top0 && live == 0, "an inline record takes no block");
  }
  CHECK(enq(q, b, 57) == 0, "block");
  CHECK(rp_squeue_peek(q->base, atomic_load(&q->len), out, sizeof out, &n, &need) == 0 && n == 56 &&
            memcmp(out, a, 56) == 0,
        "peek inline");
  CHECK(deq(q, out, sizeof out, &n) == 0 && n == 56 && memcmp(out, a, 56) == 0, "inline back");
  CHECK(rp_squeue_peek(q->base, atomic_load(&q->len), out, sizeof out, &n, &need) == 0 && n == 57 &&
            memcmp(out, b, 57) == 0,
        "peek block");
  CHECK(deq(q, out, 8, &n) == 0 && n == 57, "block length without room");
  CHECK(rp_squeue_size(q->base) == 0, "empty");
  {
    uint64_t live, used, top;
    rp_arena_stats(q->base, RP_SQUEUE_SLOTS_AT + 4 * RP_SQUEUE_WIDE_SLOT, &live, &used, &top);
    CHECK(live == 0, "block freed");
  }
  /* Laps: positions wrap the ring many times; the count comes back to 0. */
  for (uint32_t i = 0; i < 1000; i++) {
    CHECK(enq(q, &i, 4) == 0, "lap push");
    uint32_t v = 0;
    CHECK(deq(q, &v, 4, &n) == 0 && n == 4 && v == i, "lap pop");
  }
  free(q->base);
  free(q);
}

static void test_basic(void) {
  qregion_t *q = q_new(3, 1 << 16);
  rp_squeue_info_t info;
  CHECK(rp_squeue_check(q->base, atomic_load(&q->len), &info) == 0 && info.capacity == 3 && info.ring_capacity == 4 &&
            info.slot_bytes == RP_SQUEUE_WIDE_SLOT,
        "check");
  q->base[0] ^= 1;
  CHECK(rp_squeue_check(q->base, atomic_load(&q->len), &info) == RP_ELAYOUT, "magic");
  q->base[0] ^= 1;
  uint8_t out[64];
  uint32_t n;
  CHECK(deq(q, out, sizeof out, &n) == RP_SQUEUE_EMPTY, "empty");
  uint64_t need;
  CHECK(rp_squeue_peek(q->base, atomic_load(&q->len), out, sizeof out, &n, &need) == RP_SQUEUE_EMPTY, "peek empty");
  CHECK(enq(q, "a", 1) == 0 && enq(q, "bb", 2) == 0 && enq(q, "ccc", 3) == 0, "three");
  CHECK(enq(q, "d", 1) == RP_SQUEUE_FULL, "capacity is exact (ring has 4 slots)");
  CHECK(rp_squeue_size(q->base) == 3, "size");
  CHECK(rp_squeue_peek(q->base, atomic_load(&q->len), out, sizeof out, &n, &need) == 0 && n == 1 && out[0] == 'a', "peek");
  CHECK(deq(q, out, sizeof out, &n) == 0 && n == 1 && out[0] == 'a', "fifo 1");
  const uint8_t *two[2] = {(const uint8_t *)"x", (const uint8_t *)"y"};
  uint32_t lens[2] = {1, 1};
  CHECK(rp_squeue_enqueue(q->base, atomic_load(&q->len), 2, two, lens, &need) == RP_SQUEUE_FULL, "many: none");
  CHECK(rp_squeue_size(q->base) == 2, "nothing added");
  CHECK(deq(q, out, sizeof out, &n) == 0 && n == 2 && memcmp(out, "bb", 2) == 0, "fifo 2");
  CHECK(rp_squeue_enqueue(q->base, atomic_load(&q->len), 2, two, lens, &need) == 0, "many");
  /* A record claimed but not yet released still holds its place: size counts it, so
   * capacity - size is never more room than an enqueue finds. */
  uint32_t held;
  CHECK(rp_squeue_pop(q->base, &held) == 0, "claim");
  CHECK(rp_squeue_size(q->base) == 3, "a claimed record is still in use");
  CHECK(enq(q, "e", 1) == RP_SQUEUE_FULL, "no room before the release");
  CHECK(rp_squeue_release(q->base, atomic_load(&q->len), held) == 0, "release");
  CHECK(rp_squeue_size(q->base) == 2, "released");
  CHECK(enq(q, "e", 1) == 0, "room after the release");
  CHECK(rp_squeue_clear(q->base, atomic_load(&q->len)) == 3, "clear");
  CHECK(rp_squeue_size(q->base) == 0, "cleared");
  /* large record: length reported, caller's buffer untouched beyond cap */
  static uint8_t big[5000];
  memset(big, 7, sizeof big);
  CHECK(enq(q, big, sizeof big) == 0, "big");
  CHECK(deq(q, out, sizeof out, &n) == 0 && n == sizeof big, "big length");
  /* memory full: nothing queued, count restored */
  int k = 0, rc;
  while ((rc = enq(q, big, sizeof big)) == 0) {
    k++;
    CHECK(deq(q, out, 0, &n) == 0, "drain"); /* the freed block serves the next record */
    if (k > 50) break;
  }
  CHECK(rc == 0, "freed blocks are reused");
  CHECK(enq(q, big, 70000) == RP_ETOOBIG, "larger than max_bytes");
  rp_squeue_close(q->base);
  CHECK(rp_squeue_closed(q->base), "closed");
  CHECK(enq(q, "z", 1) == RP_ESTATE, "enqueue after close");
  free(q->base);
  free(q);

  /* growth up to max, then RP_EFULL with the item budget restored */
  q = q_new(1000, 64 * 1024);
  int queued = 0;
  uint8_t rec[1000] = {0};
  while ((rc = enq(q, rec, sizeof rec)) == 0) queued++;
  CHECK(rc == RP_EFULL && queued > 30 && queued < 64, "memory full after %d (%d)", queued, rc);
  CHECK(rp_squeue_size(q->base) == (uint32_t)queued, "size after full");
  CHECK(deq(q, out, 0, &n) == 0, "one out");
  CHECK(enq(q, rec, sizeof rec) == 0, "fits again");
  free(q->base);
  free(q);
}

typedef struct {
  qregion_t *q;
  int id, n, producers;
  _Atomic int *done_producers;
  uint32_t *got; /* consumer: counts per (producer, seq) */
  _Atomic uint64_t *consumed;
  uint64_t total;
} qarg_t;

static void *producer(void *p) {
  qarg_t *a = p;
  uint64_t rng = rp_test_seed + (uint64_t)a->id;
  for (int i = 0; i < a->n;) {
    uint8_t rec[64];
    uint32_t v[2] = {(uint32_t)a->id, (uint32_t)i};
    memcpy(rec, v, 8);
    uint32_t len = 8 + (uint32_t)(rp_rand(&rng) % 56);
    int rc = enq(a->q, rec, len);
    if (rc == RP_SQUEUE_FULL) {
      sched_yield();
      continue;
    }
    CHECK(rc == 0, "enqueue %d", rc);
    i++;
  }
  atomic_fetch_add(a->done_producers, 1);
  return NULL;
}

static void *consumer(void *p) {
  qarg_t *a = p;
  int32_t last[16];
  for (int i = 0; i < 16; i++) last[i] = -1;
  for (;;) {
    uint8_t out[64];
    uint32_t n;
    int rc = deq(a->q, out, sizeof out, &n);
    if (rc == RP_SQUEUE_EMPTY) {
      if (atomic_load(a->consumed) >= a->total) break;
      sched_yield();
      continue;
    }
    uint32_t v[2];
    memcpy(v, out, 8);
    CHECK(n >= 8 && v[0] < (uint32_t)a->producers, "record");
    CHECK((int32_t)v[1] > last[v[0]], "per-producer order: %u after %d", v[1], last[v[0]]);
    last[v[0]] = (int32_t)v[1];
    a->got[(size_t)v[0] * (size_t)a->n + v[1]]++;
    atomic_fetch_add(a->consumed, 1);
  }
  return NULL;
}

static void sweep(int producers, int consumers, uint32_t capacity, uint64_t max) {
  qregion_t *q = q_new(capacity, max);
  int n = 20000 / (int)rp_test_scale / producers;
  _Atomic int done = 0;
  _Atomic uint64_t consumed = 0;
  uint32_t *got[8];
  pthread_t t[16];
  qarg_t a[16];
  for (int c = 0; c < consumers; c++) {
    got[c] = calloc((size_t)producers * (size_t)n, sizeof(uint32_t));
    a[c] = (qarg_t){q, c, n, producers, &done, got[c], &consumed, (uint64_t)producers * (uint64_t)n};
    pthread_create(&t[c], NULL, consumer, &a[c]);
  }
  for (int p = 0; p < producers; p++) {
    a[consumers + p] = (qarg_t){q, p, n, producers, &done, NULL, &consumed, 0};
    pthread_create(&t[consumers + p], NULL, producer, &a[consumers + p]);
  }
  for (int i = 0; i < producers + consumers; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < (size_t)producers * (size_t)n; i++) {
    uint32_t sum = 0;
    for (int c = 0; c < consumers; c++) sum += got[c][i];
    CHECK(sum == 1, "record %zu seen %u times (P%d C%d cap %u)", i, sum, producers, consumers, capacity);
  }
  for (int c = 0; c < consumers; c++) free(got[c]);
  CHECK(rp_squeue_size(q->base) == 0, "empty at the end");
  free(q->base);
  free(q);
}

int main(void) {
  rp_test_init("test_squeue");
  test_slots();
  test_basic();
  const int pc[][2] = {{1, 1}, {2, 2}, {4, 1}, {1, 4}, {3, 3}};
  const uint32_t caps[] = {1, 2, 7, 64};
  for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++)
    for (size_t j = 0; j < sizeof caps / sizeof caps[0]; j++) {
      sweep(pc[i][0], pc[i][1], caps[j], QMAX);  /* wide slots: inline and block records */
      sweep(pc[i][0], pc[i][1], caps[j], 12288); /* narrow slots: every record in a block */
    }
  printf("test_squeue: ok\n");
  return 0;
}
