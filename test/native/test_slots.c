/* test_slots.c - the slot allocator: size checks and layout validation, exhaustion,
 * available counts, double free and out-of-range free, corruption detection, racing frees
 * of one slot, and a many-thread alloc/free stress with ownership checks (each owner
 * stamps its slot and verifies the stamp is untouched before freeing it). */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "slots.h"
#include "test_util.h"

static void *alloc_arena(uint32_t slot_size, uint32_t slots, size_t *len) {
  CHECK(rp_slots_bytes(slot_size, slots, len, NULL) == 0, "bytes(%u, %u)", slot_size, slots);
  void *p = aligned_alloc(64, (*len + 63) & ~(size_t)63);
  CHECK(p != NULL, "alloc");
  memset(p, 0x5A, *len); /* init must not rely on zeroed memory */
  CHECK(rp_slots_init(p, *len, slot_size, slots) == 0, "init");
  return p;
}

static void test_bytes_and_check(void) {
  size_t n;
  uint32_t data;
  CHECK(rp_slots_bytes(0, 1, &n, NULL) == RP_ERANGE, "slot size 0");
  CHECK(rp_slots_bytes(4, 1, &n, NULL) == RP_ERANGE, "slot size 4");
  CHECK(rp_slots_bytes(12, 1, &n, NULL) == RP_ERANGE, "slot size 12");
  CHECK(rp_slots_bytes(8, 0, &n, NULL) == RP_ERANGE, "0 slots");
  CHECK(rp_slots_bytes(8, (1u << 24) + 1, &n, NULL) == RP_ERANGE, "too many slots");
  CHECK(rp_slots_bytes((1u << 30) + 8, 1, &n, NULL) == RP_ERANGE, "slot too large");
  CHECK(rp_slots_bytes(1u << 30, 1u << 24, &n, NULL) == RP_ERANGE, "2^54 bytes is beyond 2^53");
  CHECK(rp_slots_bytes(8, 1, &n, &data) == 0 && data % 64 == 0 && n == data + 8, "one slot: %zu %u", n, data);
  CHECK(rp_slots_bytes(24, 100, &n, &data) == 0 && data >= RP_SLOTS_META_OFFSET + 800 && data % 64 == 0 &&
            n == data + 2400,
        "100 slots");

  size_t len;
  uint8_t *a = alloc_arena(16, 10, &len);
  rp_slots_info_t info;
  CHECK(rp_slots_check(a, len, &info) == 0 && info.slot_size == 16 && info.slots == 10 && info.total_bytes == len,
        "check ok");
  CHECK((uint8_t *)rp_slots_data(a, 0) == a + info.data_offset, "data of slot 0");
  CHECK((uint8_t *)rp_slots_data(a, 9) == a + info.data_offset + 9 * 16, "data of slot 9");
  CHECK(rp_slots_check(a, len - 1, &info) == RP_ELAYOUT, "short");
  CHECK(rp_slots_check(a, 100, &info) == RP_ELAYOUT, "tiny");
  CHECK(rp_slots_check(a + 4, len - 4, &info) == RP_EALIGN, "misaligned check");
  CHECK(rp_slots_init(a + 4, len - 4, 16, 10) == RP_EALIGN, "misaligned init");
  CHECK(rp_slots_init(a, len - 1, 16, 10) == RP_ERANGE, "init short");
  a[1] ^= 0x40;
  CHECK(rp_slots_check(a, len, &info) == RP_ELAYOUT, "bad magic");
  a[1] ^= 0x40;
  a[RP_SLOTS_OFF_VERSION] = 2;
  CHECK(rp_slots_check(a, len, &info) == RP_ELAYOUT, "bad version");
  a[RP_SLOTS_OFF_VERSION] = RP_SLOTS_VERSION;
  *(uint32_t *)(void *)(a + RP_SLOTS_OFF_SLOTS) = 11;
  CHECK(rp_slots_check(a, len, &info) == RP_ELAYOUT, "more slots than the region holds");
  *(uint32_t *)(void *)(a + RP_SLOTS_OFF_SLOTS) = 10;
  *(uint32_t *)(void *)(a + RP_SLOTS_OFF_SLOT_SIZE) = 12;
  CHECK(rp_slots_check(a, len, &info) == RP_ELAYOUT, "slot size not a multiple of 8");
  *(uint32_t *)(void *)(a + RP_SLOTS_OFF_SLOT_SIZE) = 16;
  CHECK(rp_slots_check(a, len, NULL) == 0, "restored");
  free(a);
}

static void test_exhaustion_and_free(void) {
  enum { N = 37 };
  size_t len;
  void *a = alloc_arena(8, N, &len);
  uint8_t taken[N] = {0};
  uint32_t idx[N];
  CHECK(rp_slots_available(a) == N, "all free");
  for (uint32_t k = 0; k < N; k++) {
    CHECK(rp_slots_alloc(a, &idx[k]) == 0, "alloc %u", k);
    CHECK(idx[k] < N && !taken[idx[k]], "index %u twice or out of range", idx[k]);
    taken[idx[k]] = 1;
    CHECK(rp_slots_available(a) == N - k - 1, "available after %u allocs", k + 1);
  }
  uint32_t x = 12345;
  CHECK(rp_slots_alloc(a, &x) == RP_EFULL && x == 12345, "exhaustion");
  CHECK(rp_slots_available(a) == 0, "none available");
  CHECK(rp_slots_free(a, N) == RP_ERANGE, "free out of range");
  CHECK(rp_slots_free(a, UINT32_MAX) == RP_ERANGE, "free NIL");
  CHECK(rp_slots_free(a, idx[3]) == 0, "free");
  CHECK(rp_slots_available(a) == 1, "one available");
  CHECK(rp_slots_free(a, idx[3]) == RP_ESTATE, "double free");
  CHECK(rp_slots_available(a) == 1, "double free changed the count");
  CHECK(rp_slots_alloc(a, &x) == 0 && x == idx[3], "LIFO reuse: got %u", x);
  CHECK(rp_slots_alloc(a, &x) == RP_EFULL, "exhausted again");
  for (uint32_t k = 0; k < N; k++) CHECK(rp_slots_free(a, idx[k]) == 0, "free all %u", k);
  CHECK(rp_slots_available(a) == N, "all back");
  for (uint32_t k = 0; k < N; k++) CHECK(rp_slots_free(a, k) == RP_ESTATE, "free of a free slot %u", k);
  CHECK(rp_slots_available(a) == N, "still all");
  free(a);

  /* a single slot */
  a = alloc_arena(64, 1, &len);
  for (int i = 0; i < 100; i++) {
    CHECK(rp_slots_alloc(a, &x) == 0 && x == 0, "single alloc");
    CHECK(rp_slots_alloc(a, &x) == RP_EFULL, "single exhausted");
    CHECK(rp_slots_free(a, 0) == 0 && rp_slots_free(a, 0) == RP_ESTATE, "single free");
  }
  free(a);
}

static void test_corruption(void) {
  size_t len;
  uint8_t *a = alloc_arena(8, 4, &len);
  uint32_t x;
  /* a link pointing outside the arena must be reported, not followed */
  *(uint32_t *)(void *)(a + RP_SLOTS_META_OFFSET) = 77; /* next of slot 0 */
  CHECK(rp_slots_alloc(a, &x) == 0 && x == 0, "first alloc");
  CHECK(rp_slots_alloc(a, &x) == RP_ELAYOUT, "corrupt link detected");
  free(a);
}

/* Two threads free the same allocated slot at once: exactly one wins. */
typedef struct {
  void *a;
  _Atomic int *go;
  uint32_t index;
  int rc;
} racer_t;

static void *racer(void *p) {
  racer_t *r = p;
  while (!atomic_load(r->go)) sched_yield();
  r->rc = rp_slots_free(r->a, r->index);
  return NULL;
}

static void test_racing_frees(void) {
  size_t len;
  void *a = alloc_arena(8, 4, &len);
  int rounds = 400 / (int)rp_test_scale;
  for (int i = 0; i < rounds; i++) {
    uint32_t x;
    CHECK(rp_slots_alloc(a, &x) == 0, "alloc");
    _Atomic int go = 0;
    racer_t r1 = {a, &go, x, -100}, r2 = {a, &go, x, -100};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, racer, &r1);
    pthread_create(&t2, NULL, racer, &r2);
    atomic_store(&go, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK((r1.rc == 0 && r2.rc == RP_ESTATE) || (r1.rc == RP_ESTATE && r2.rc == 0), "racing frees: %d %d", r1.rc,
          r2.rc);
    CHECK(rp_slots_available(a) == 4, "count after racing frees");
  }
  free(a);
}

/* ---- stress ---- */
#define SLOT_SIZE 64
#define HOLD 6

typedef struct {
  void *a;
  uint32_t slots;
  _Atomic uint32_t *owner; /* [slots]: 0 free, else thread id + 1 */
  int id;
  uint32_t iters;
  uint64_t rng;
  uint64_t allocs, exhausted;
} worker_t;

static void stamp(void *p, uint64_t v) {
  uint64_t *w = p;
  for (size_t k = 0; k < SLOT_SIZE / 8; k++) w[k] = v + k;
}

static int stamped(const void *p, uint64_t v) {
  const uint64_t *w = p;
  for (size_t k = 0; k < SLOT_SIZE / 8; k++)
    if (w[k] != v + k) return 0;
  return 1;
}

static void *worker(void *p) {
  worker_t *w = p;
  uint32_t held[HOLD];
  uint64_t mark[HOLD];
  int n = 0;
  for (uint32_t it = 0; it < w->iters; it++) {
    int want_alloc = n == 0 || (n < HOLD && (rp_rand(&w->rng) & 1));
    if (want_alloc) {
      uint32_t x;
      int rc = rp_slots_alloc(w->a, &x);
      if (rc == RP_EFULL) {
        w->exhausted++;
        sched_yield();
        continue;
      }
      CHECK(rc == 0 && x < w->slots, "thread %d alloc rc %d index %u", w->id, rc, x);
      uint32_t prev = atomic_exchange(&w->owner[x], (uint32_t)w->id + 1);
      CHECK(prev == 0, "thread %d got slot %u that thread %u holds", w->id, x, prev - 1);
      mark[n] = ((uint64_t)w->id << 48) ^ rp_rand(&w->rng);
      stamp(rp_slots_data(w->a, x), mark[n]);
      held[n++] = x;
      w->allocs++;
    } else {
      int k = (int)(rp_rand(&w->rng) % (uint64_t)n);
      uint32_t x = held[k];
      CHECK(stamped(rp_slots_data(w->a, x), mark[k]), "thread %d: slot %u was written by someone else", w->id, x);
      CHECK(atomic_exchange(&w->owner[x], 0) == (uint32_t)w->id + 1, "owner table");
      CHECK(rp_slots_free(w->a, x) == 0, "thread %d free %u", w->id, x);
      held[k] = held[--n];
      mark[k] = mark[n];
    }
  }
  while (n > 0) {
    uint32_t x = held[--n];
    CHECK(stamped(rp_slots_data(w->a, x), mark[n]), "final check of slot %u", x);
    CHECK(atomic_exchange(&w->owner[x], 0) == (uint32_t)w->id + 1, "owner table at end");
    CHECK(rp_slots_free(w->a, x) == 0, "final free");
  }
  return NULL;
}

static void stress_one(int threads, uint32_t slots, uint32_t iters) {
  size_t len;
  void *a = alloc_arena(SLOT_SIZE, slots, &len);
  _Atomic uint32_t *owner = calloc(slots, sizeof *owner);
  CHECK(owner, "alloc");
  pthread_t th[8];
  worker_t w[8];
  for (int i = 0; i < threads; i++) {
    w[i] = (worker_t){a, slots, owner, i, iters, rp_test_seed * 31 + (uint64_t)i, 0, 0};
    pthread_create(&th[i], NULL, worker, &w[i]);
  }
  uint64_t allocs = 0, exhausted = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    allocs += w[i].allocs;
    exhausted += w[i].exhausted;
  }
  CHECK(rp_slots_available(a) == slots, "T%d S%u: %u available at the end", threads, slots, rp_slots_available(a));
  /* the free list is intact: exactly `slots` distinct allocations, then exhaustion */
  uint8_t *seen = calloc(slots, 1);
  CHECK(seen, "alloc");
  for (uint32_t k = 0; k < slots; k++) {
    uint32_t x;
    CHECK(rp_slots_alloc(a, &x) == 0 && x < slots && !seen[x], "T%d S%u: re-alloc %u", threads, slots, k);
    seen[x] = 1;
  }
  uint32_t x;
  CHECK(rp_slots_alloc(a, &x) == RP_EFULL, "exhausted after re-allocating all");
  if (slots < HOLD) CHECK(exhausted > 0, "T%d S%u never exhausted", threads, slots);
  printf("  T%d slots %u: %llu allocs, %llu exhausted\n", threads, slots, (unsigned long long)allocs,
         (unsigned long long)exhausted);
  free(seen);
  free(owner);
  free(a);
}

int main(void) {
  rp_test_init("test_slots");
  test_bytes_and_check();
  test_exhaustion_and_free();
  test_corruption();
  test_racing_frees();
  int64_t t0 = rp_now_ns();
  uint32_t iters = 120000 / rp_test_scale;
  stress_one(2, 1, iters);
  stress_one(4, 3, iters);
  stress_one(4, 8, iters);
  stress_one(8, 16, iters);
  stress_one(4, 1024, iters);
  printf("  stress: %.2f s\n", (double)(rp_now_ns() - t0) / 1e9);
  printf("test_slots: ok\n");
  return 0;
}
