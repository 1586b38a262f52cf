/* test_map.c - the SharedMap core: layout checks, a seeded random model test with growth
 * and resizes, scans, commit (all-or-nothing, conflicts), a writer killed at every step of
 * set/delete and repaired by the next writer (and by a reader), many threads incrementing
 * through lock/get/set/unlock with lock-free readers checking torn values, and concurrent
 * transfers through rp_map_commit that keep a total. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "map.h"
#include "test_util.h"

#define MAX_BYTES (8u << 20)

typedef struct {
  uint8_t *base;
  _Atomic size_t len; /* the "buffer length" every thread sees; grows like a growable SAB */
} region_t;

static region_t *region_new(uint32_t stripes, uint32_t buckets, size_t initial) {
  region_t *r = calloc(1, sizeof *r);
  CHECK(r != NULL, "alloc");
  r->base = aligned_alloc(64, MAX_BYTES);
  CHECK(r->base != NULL, "alloc");
  memset(r->base, 0xA5, MAX_BYTES);
  memset(r->base, 0, initial); /* grown memory is zero in a SAB; simulate by zeroing on grow */
  atomic_store(&r->len, initial);
  CHECK(rp_map_init(r->base, initial, stripes, buckets, MAX_BYTES) == 0, "init");
  return r;
}

static void region_free(region_t *r) {
  free(r->base);
  free(r);
}

static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static void grow_to(region_t *r, uint64_t need) {
  pthread_mutex_lock(&grow_lock);
  size_t cur = atomic_load(&r->len);
  if (need > cur) {
    size_t next = cur * 2 > need ? cur * 2 : (size_t)need;
    if (next > MAX_BYTES) next = MAX_BYTES;
    memset(r->base + cur, 0, next - cur);
    atomic_store(&r->len, next);
  }
  pthread_mutex_unlock(&grow_lock);
}

static int do_set(region_t *r, const rp_map_ctx_t *cx, const char *k, const void *v, uint32_t vlen) {
  for (;;) {
    uint64_t need = 0;
    int rc = rp_map_set(r->base, atomic_load(&r->len), cx, (const uint8_t *)k, (uint32_t)strlen(k), v, vlen, &need);
    if (rc == RP_ARENA_GROW) {
      grow_to(r, need);
      continue;
    }
    if (rc == RP_MAP_STALE) continue;
    return rc;
  }
}

static int do_get(region_t *r, const rp_map_ctx_t *cx, const char *k, void *out, size_t cap, rp_map_found_t *f) {
  for (;;) {
    int rc = rp_map_get(r->base, atomic_load(&r->len), cx, (const uint8_t *)k, (uint32_t)strlen(k), out, cap, f);
    if (rc != RP_MAP_STALE) return rc;
  }
}

static int do_del(region_t *r, const rp_map_ctx_t *cx, const char *k) {
  for (;;) {
    int rc = rp_map_delete(r->base, atomic_load(&r->len), cx, (const uint8_t *)k, (uint32_t)strlen(k));
    if (rc != RP_MAP_STALE) return rc;
  }
}

/* Owner ids, like the glue's threadId + 1: unique per thread. */
static _Atomic uint32_t next_id = 1;
static rp_map_ctx_t ctx_new(void) {
  rp_map_ctx_t cx = {atomic_fetch_add(&next_id, 1), NULL, NULL, 0};
  return cx;
}

/* Sum of the block sizes of all entries reachable, compared with the arena's live bytes:
 * every block is either reachable or free (no leak, no double use). */
static void check_consistent_leak(region_t *r, const rp_map_ctx_t *cx, uint32_t expect_count, uint64_t leak) {
  size_t len = atomic_load(&r->len);
  CHECK(rp_map_size(r->base) == expect_count, "size %u, expected %u", rp_map_size(r->base), expect_count);
  uint32_t cursor = 0, seen = 0;
  static uint8_t out[1 << 16];
  uint64_t blocks = 0;
  for (;;) {
    size_t used = 0;
    int rc = rp_map_scan(r->base, len, cx, &cursor, out, sizeof out, &used, 1);
    CHECK(rc == 0 || rc == RP_MAP_MORE, "scan rc %d", rc);
    for (size_t p = 0; p < used;) {
      uint32_t k, v;
      memcpy(&k, out + p, 4);
      memcpy(&v, out + p + 4, 4);
      blocks += rp_arena_block_size(RP_MAP_ENTRY_HEAD + ((k + 7u) & ~7u) + ((v + 7u) & ~7u));
      p += 16 + ((k + 7u) & ~7u) + ((v + 7u) & ~7u);
      seen++;
    }
    if (rc == 0) break;
  }
  CHECK(seen == expect_count, "scan saw %u, expected %u", seen, expect_count);
  uint64_t live, used, top;
  rp_map_memory(r->base, &live, &used, &top);
  uint32_t mask = atomic_load((_Atomic uint32_t *)(void *)(r->base + RP_MAP_OFF_TABLE_MASK));
  uint32_t tblock = atomic_load((_Atomic uint32_t *)(void *)(r->base + RP_MAP_OFF_TABLE_BLOCK));
  if (tblock) blocks += rp_arena_block_size(((uint64_t)mask + 1) * 4);
  CHECK(live == blocks + leak, "arena live %llu != reachable blocks %llu + leak %llu", (unsigned long long)live,
        (unsigned long long)blocks, (unsigned long long)leak);
}

static void check_consistent(region_t *r, const rp_map_ctx_t *cx, uint32_t expect_count) {
  check_consistent_leak(r, cx, expect_count, 0);
}

static void test_layout(void) {
  CHECK(rp_map_header_bytes(0, 64) == 0, "0 stripes");
  CHECK(rp_map_header_bytes(3, 64) == 0, "3 stripes");
  CHECK(rp_map_header_bytes(64, 32) == 0, "buckets < stripes");
  CHECK(rp_map_header_bytes(64, 100) == 0, "buckets not pow2");
  uint64_t hb = rp_map_header_bytes(16, 64);
  CHECK(hb == RP_MAP_OFF_STRIPES_ARRAY + 16 * 128 + 256, "header bytes %llu", (unsigned long long)hb);
  uint8_t *b = aligned_alloc(64, 65536);
  CHECK(rp_map_init(b + 4, 65532, 16, 64, 65536) == RP_EALIGN, "misaligned");
  CHECK(rp_map_init(b, 100, 16, 64, 65536) == RP_ERANGE, "too short");
  CHECK(rp_map_init(b, 65536, 16, 64, 1024) == RP_ERANGE, "max < len");
  CHECK(rp_map_init(b, 65536, 16, 64, 65536) == 0, "init");
  rp_map_info_t info;
  CHECK(rp_map_check(b, 65536, &info) == 0 && info.stripes == 16 && info.max_bytes == 65536, "check");
  CHECK(rp_map_check(b, 100, &info) == RP_ELAYOUT, "short");
  b[0] ^= 1;
  CHECK(rp_map_check(b, 65536, &info) == RP_ELAYOUT, "magic");
  b[0] ^= 1;
  b[RP_MAP_OFF_STRIPES] = 3;
  CHECK(rp_map_check(b, 65536, &info) == RP_ELAYOUT, "stripes");
  free(b);
}

/* ---------------------------------------------------------------- model test */

#define MODEL_KEYS 300
static void test_model(void) {
  region_t *r = region_new(8, 8, 4096 + rp_map_header_bytes(8, 8));
  rp_map_ctx_t cx = ctx_new();
  static uint8_t vals[MODEL_KEYS][600];
  static uint32_t vlens[MODEL_KEYS];
  static int present[MODEL_KEYS];
  uint64_t rng = rp_test_seed;
  uint32_t count = 0;
  static uint8_t out[1024];
  int ops = 20000 / (int)rp_test_scale;
  for (int i = 0; i < ops; i++) {
    uint32_t k = (uint32_t)(rp_rand(&rng) % MODEL_KEYS);
    char key[32];
    snprintf(key, sizeof key, "key-%u", k);
    uint64_t dice = rp_rand(&rng) % 100;
    if (dice < 50) {
      uint32_t vl = (uint32_t)(rp_rand(&rng) % 600);
      for (uint32_t j = 0; j < vl; j++) vals[k][j] = (uint8_t)rp_rand(&rng);
      vlens[k] = vl;
      CHECK(do_set(r, &cx, key, vals[k], vl) == 0, "set %s", key);
      if (!present[k]) count++;
      present[k] = 1;
    } else if (dice < 70) {
      int rc = do_del(r, &cx, key);
      CHECK(rc == (present[k] ? 0 : RP_MAP_ABSENT), "delete %s: %d", key, rc);
      if (present[k]) count--;
      present[k] = 0;
    } else if (dice < 99) {
      rp_map_found_t f;
      int rc = do_get(r, &cx, key, out, sizeof out, &f);
      if (present[k]) {
        CHECK(rc == 0 && f.vlen == vlens[k] && memcmp(out, vals[k], vlens[k]) == 0, "get %s", key);
      } else {
        CHECK(rc == RP_MAP_ABSENT, "get absent %s", key);
      }
    } else {
      CHECK(rp_map_clear(r->base, atomic_load(&r->len), &cx) == 0, "clear");
      memset(present, 0, sizeof present);
      count = 0;
    }
    CHECK(rp_map_size(r->base) == count, "size at op %d", i);
    if (getenv("RP_DEBUG_EACH")) { fprintf(stderr, "op %d dice %d k %u\n", i, (int)dice, k); check_consistent(r, &cx, count); }
  }
  check_consistent(r, &cx, count);
  uint32_t mask = atomic_load((_Atomic uint32_t *)(void *)(r->base + RP_MAP_OFF_TABLE_MASK));
  CHECK(mask + 1 > 8, "the table grew (buckets %u)", mask + 1);
  /* small get buffer: length reported, nothing copied past cap */
  do_set(r, &cx, "big", vals[0], 500);
  rp_map_found_t f;
  uint8_t small[8] = {0};
  CHECK(do_get(r, &cx, "big", small, sizeof small, &f) == 0 && f.vlen == 500, "short out");
  /* version grows */
  uint64_t v1 = f.version;
  do_set(r, &cx, "big", vals[0], 10);
  CHECK(do_get(r, &cx, "big", small, sizeof small, &f) == 0 && f.version > v1 && f.vlen == 10, "version grows");
  region_free(r);
}

static void test_full(void) {
  uint8_t *b = aligned_alloc(64, 65536);
  uint64_t hb = rp_map_header_bytes(4, 4);
  size_t len = (size_t)hb + 1024;
  CHECK(rp_map_init(b, len, 4, 4, 8192) == 0, "init");
  rp_map_ctx_t cx = ctx_new();
  uint8_t v[200] = {1};
  uint64_t need = 0;
  int rc, sets = 0;
  char key[16];
  for (;;) {
    snprintf(key, sizeof key, "k%d", sets);
    rc = rp_map_set(b, len, &cx, (const uint8_t *)key, (uint32_t)strlen(key), v, sizeof v, &need);
    if (rc == RP_ARENA_GROW) {
      CHECK(need <= 8192 && need > len, "need %llu", (unsigned long long)need);
      len = (size_t)need;
      continue;
    }
    if (rc != 0) break;
    sets++;
  }
  CHECK(rc == RP_EFULL && sets > 10, "full after %d sets: %d", sets, rc);
  CHECK(rp_map_size(b) == (uint32_t)sets, "nothing changed by the failed set");
  uint8_t huge[1] = {0};
  CHECK(rp_map_set(b, len, &cx, (const uint8_t *)"x", 1, huge, 9000, &need) == RP_ETOOBIG, "too big");
  /* a delete frees room: the same set then fits */
  snprintf(key, sizeof key, "k%d", 0);
  CHECK(rp_map_delete(b, len, &cx, (const uint8_t *)key, (uint32_t)strlen(key)) == 0, "delete");
  snprintf(key, sizeof key, "k%d", sets);
  CHECK(rp_map_set(b, len, &cx, (const uint8_t *)key, (uint32_t)strlen(key), v, sizeof v, &need) == 0, "reuse");
  free(b);
}

/* ---------------------------------------------------------------- crash + repair */

typedef struct {
  region_t *r;
  int step, op; /* op 0 insert, 1 replace, 2 delete */
  _Atomic int crashed, go;
} crash_arg_t;

typedef struct {
  region_t *r;
  const char *key;
} set_arg_t;
static int do_set(region_t *r, const rp_map_ctx_t *cx, const char *k, const void *v, uint32_t vlen);
static void *set_thread(void *p) {
  set_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  CHECK(do_set(a->r, &cx, a->key, "12345678", 8) == 0, "set by waiter");
  return NULL;
}

static void *crash_thread(void *p) {
  crash_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  cx.crash_step = a->step;
  uint8_t v[40];
  memset(v, 0xEE, sizeof v);
  int rc = a->op == 2 ? rp_map_delete(a->r->base, atomic_load(&a->r->len), &cx, (const uint8_t *)"victim", 6)
                      : do_set(a->r, &cx, "victim", v, sizeof v);
  CHECK(rc == RP_EINTR, "crashed op returns RP_EINTR here");
  atomic_store(&a->crashed, 1);
  while (!atomic_load(&a->go)) sched_yield();
  /* The thread "dies" holding the stripe; its teardown (the glue's env cleanup hook)
   * repairs and releases what it held. */
  CHECK(rp_map_release_dead(a->r->base, atomic_load(&a->r->len), cx.token + 1, 0) == RP_ESTATE, "not the holder");
  CHECK(rp_map_release_dead(a->r->base, atomic_load(&a->r->len), cx.token, 0) == 0, "release dead");
  CHECK(rp_map_release_dead(a->r->base, atomic_load(&a->r->len), cx.token, 0) == RP_ESTATE, "released once");
  return NULL;
}

static void test_crash_repair(void) {
  for (int op = 0; op < 3; op++) {
    for (int step = 1; step <= 3; step++) {
      for (int by_reader = 0; by_reader < 2; by_reader++) {
        region_t *r = region_new(1, 4, 1 << 16); /* one stripe: every key shares the lock */
        rp_map_ctx_t cx = ctx_new();
        uint8_t old[24];
        memset(old, 0x11, sizeof old);
        if (op != 0) CHECK(do_set(r, &cx, "victim", old, sizeof old) == 0, "pre-set");
        CHECK(do_set(r, &cx, "other", old, 8) == 0, "pre-set other");
        crash_arg_t a = {r, step, op, 0, 0};
        pthread_t t, wt;
        pthread_create(&t, NULL, crash_thread, &a);
        while (!atomic_load(&a.crashed)) sched_yield();
        set_arg_t sa = {r, "waiter"};
        if (by_reader) pthread_create(&wt, NULL, set_thread, &sa); /* blocks on the dead holder's stripe */
        for (int i = 0; i < 100; i++) sched_yield();
        atomic_store(&a.go, 1);
        pthread_join(t, NULL);
        if (by_reader) pthread_join(wt, NULL);
        rp_map_found_t f;
        uint8_t out[64];
        if (by_reader) CHECK(do_get(r, &cx, "waiter", out, sizeof out, &f) == 0 && f.vlen == 8, "waiter got through");
        /* and the map works on */
        CHECK(do_set(r, &cx, "after", old, 8) == 0, "set after crash op %d step %d", op, step);
        int rc = do_get(r, &cx, "victim", out, sizeof out, &f);
        uint32_t victims = rc == 0 ? 1 : 0;
        if (op == 2) {
          CHECK(rc == RP_MAP_ABSENT || (rc == 0 && f.vlen == 24), "delete crash: old or gone (%d)", rc);
        } else if (op == 1) {
          CHECK(rc == 0 && (f.vlen == 24 || f.vlen == 40), "replace crash: old or new");
        } else {
          CHECK(rc == RP_MAP_ABSENT || (rc == 0 && f.vlen == 40), "insert crash: absent or new");
        }
        /* A death between clearing intent.old and freeing old (step 3) leaks that one block:
         * the price of never freeing a block twice (map.h DEAD OWNERS). */
        uint64_t leak = step == 3 && op != 0 ? rp_arena_block_size(RP_MAP_ENTRY_HEAD + 8 + 24) : 0;
        check_consistent_leak(r, &cx, 2 + victims + (uint32_t)by_reader, leak);
        CHECK(atomic_load((_Atomic uint32_t *)(void *)(r->base + RP_MAP_OFF_STRIPES_ARRAY + RP_MAP_ST_REPAIRS)) == 1,
              "one repair");
        region_free(r);
      }
    }
  }
}

/* ---------------------------------------------------------------- threads */

#define COUNTERS 8
typedef struct {
  region_t *r;
  int iters;
  int id;
  _Atomic int *stop;
} worker_arg_t;

/* Value: 8-byte counter then 56 bytes each equal to the counter's low byte (torn-read check). */
static void make_val(uint8_t *v, uint64_t n) {
  memcpy(v, &n, 8);
  memset(v + 8, (int)(n & 0xFF), 56);
}
static uint64_t check_val(const uint8_t *v, uint32_t vlen) {
  uint64_t n;
  CHECK(vlen == 64, "value length %u", vlen);
  memcpy(&n, v, 8);
  for (int i = 8; i < 64; i++) CHECK(v[i] == (uint8_t)(n & 0xFF), "torn value");
  return n;
}

static void *incr_thread(void *p) {
  worker_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  uint64_t rng = rp_test_seed + (uint64_t)a->id;
  uint8_t v[128] = {0};
  for (int i = 0; i < a->iters; i++) {
    char key[16];
    snprintf(key, sizeof key, "c%u", (unsigned)(rp_rand(&rng) % COUNTERS));
    uint32_t s;
    int re;
    CHECK(rp_map_lock(a->r->base, atomic_load(&a->r->len), &cx, (const uint8_t *)key, (uint32_t)strlen(key), &s, &re) ==
              0 &&
              re == 0,
          "lock");
    rp_map_found_t f;
    uint64_t n = 0;
    if (do_get(a->r, &cx, key, v, sizeof v, &f) == 0) n = check_val(v, f.vlen);
    make_val(v, n + 1);
    CHECK(do_set(a->r, &cx, key, v, 64) == 0, "set under lock");
    CHECK(rp_map_unlock(a->r->base, &cx, s) == 0, "unlock");
    /* churn: other keys come and go, forcing allocation, frees and resizes */
    char junk[24];
    snprintf(junk, sizeof junk, "j%d-%d", a->id, i % 64);
    if (i & 1) do_set(a->r, &cx, junk, v, 24 + (uint32_t)(i % 100));
    else do_del(a->r, &cx, junk);
  }
  CHECK(rp_map_unlock(a->r->base, &cx, 0) == RP_ESTATE, "unlock of a stripe not held");
  return NULL;
}

static void *reader_thread(void *p) {
  worker_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  uint8_t v[64];
  uint64_t last[COUNTERS] = {0};
  while (!atomic_load(a->stop)) {
    for (int c = 0; c < COUNTERS; c++) {
      char key[16];
      snprintf(key, sizeof key, "c%d", c);
      rp_map_found_t f;
      if (do_get(a->r, &cx, key, v, sizeof v, &f) == 0) {
        uint64_t n = check_val(v, f.vlen);
        CHECK(n >= last[c], "counter went back %llu < %llu", (unsigned long long)n, (unsigned long long)last[c]);
        last[c] = n;
      }
    }
  }
  return NULL;
}

static void test_threads(void) {
  region_t *r = region_new(16, 16, 1 << 14);
  enum { W = 4, R = 2 };
  pthread_t t[W + R];
  worker_arg_t a[W + R];
  _Atomic int stop = 0;
  int iters = 20000 / (int)rp_test_scale;
  for (int i = 0; i < W + R; i++) {
    a[i] = (worker_arg_t){r, iters, i, &stop};
    pthread_create(&t[i], NULL, i < W ? incr_thread : reader_thread, &a[i]);
  }
  for (int i = 0; i < W; i++) pthread_join(t[i], NULL);
  atomic_store(&stop, 1);
  for (int i = W; i < W + R; i++) pthread_join(t[i], NULL);
  rp_map_ctx_t cx = ctx_new();
  uint64_t total = 0;
  for (int c = 0; c < COUNTERS; c++) {
    char key[16];
    snprintf(key, sizeof key, "c%d", c);
    uint8_t v[64];
    rp_map_found_t f;
    if (do_get(r, &cx, key, v, sizeof v, &f) == 0) total += check_val(v, f.vlen);
  }
  CHECK(total == (uint64_t)W * (uint64_t)iters, "increments: %llu, expected %llu", (unsigned long long)total,
        (unsigned long long)((uint64_t)W * (uint64_t)iters));
  check_consistent(r, &cx, rp_map_size(r->base));
  region_free(r);
}

/* ---------------------------------------------------------------- commit */

#define ACCOUNTS 10
typedef struct {
  region_t *m[2];
  int iters, id;
} xfer_arg_t;

static int64_t read_i64(region_t *r, const rp_map_ctx_t *cx, const char *k, uint64_t *version) {
  int64_t v = 0;
  rp_map_found_t f;
  int rc = do_get(r, cx, k, &v, sizeof v, &f);
  *version = rc == 0 ? f.version : 0;
  return v;
}

static void *xfer_thread(void *p) {
  xfer_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  uint64_t rng = rp_test_seed * 31 + (uint64_t)a->id;
  int done = 0, conflicts = 0;
  while (done < a->iters) {
    int fm = (int)(rp_rand(&rng) % 2), tm = (int)(rp_rand(&rng) % 2);
    char fk[16], tk[16];
    snprintf(fk, sizeof fk, "a%u", (unsigned)(rp_rand(&rng) % ACCOUNTS));
    snprintf(tk, sizeof tk, "a%u", (unsigned)(rp_rand(&rng) % ACCOUNTS));
    if (fm == tm && strcmp(fk, tk) == 0) continue;
    uint64_t fv, tv;
    int64_t fb = read_i64(a->m[fm], &cx, fk, &fv), tb = read_i64(a->m[tm], &cx, tk, &tv);
    int64_t amt = (int64_t)(rp_rand(&rng) % 10);
    fb -= amt;
    tb += amt;
    rp_map_op_t ops[4] = {
        {a->m[fm]->base, atomic_load(&a->m[fm]->len), RP_MAP_OP_READ, (const uint8_t *)fk, (uint32_t)strlen(fk), NULL, 0, fv, 0, 0, 0, 0},
        {a->m[tm]->base, atomic_load(&a->m[tm]->len), RP_MAP_OP_READ, (const uint8_t *)tk, (uint32_t)strlen(tk), NULL, 0, tv, 0, 0, 0, 0},
        {a->m[fm]->base, atomic_load(&a->m[fm]->len), RP_MAP_OP_SET, (const uint8_t *)fk, (uint32_t)strlen(fk), (const uint8_t *)&fb, 8, 0, 0, 0, 0, 0},
        {a->m[tm]->base, atomic_load(&a->m[tm]->len), RP_MAP_OP_SET, (const uint8_t *)tk, (uint32_t)strlen(tk), (const uint8_t *)&tb, 8, 0, 0, 0, 0, 0},
    };
    size_t fail = 0;
    uint64_t need = 0;
    int rc = rp_map_commit(ops, 4, &cx, &fail, &need);
    if (rc == RP_ARENA_GROW) {
      grow_to(fail % 2 == 0 ? a->m[fm] : a->m[tm], need);
      continue;
    }
    if (rc == RP_MAP_STALE) continue;
    if (rc == RP_MAP_CONFLICT) {
      conflicts++;
      continue;
    }
    CHECK(rc == 0, "commit %d", rc);
    done++;
  }
  (void)conflicts;
  return NULL;
}

static void test_commit(void) {
  region_t *m[2] = {region_new(4, 4, 1 << 12), region_new(8, 8, 1 << 12)};
  rp_map_ctx_t cx = ctx_new();
  for (int i = 0; i < ACCOUNTS; i++) {
    char k[16];
    snprintf(k, sizeof k, "a%d", i);
    int64_t v = 1000;
    do_set(m[0], &cx, k, &v, 8);
    do_set(m[1], &cx, k, &v, 8);
  }
  /* conflict: a stale read version changes nothing */
  uint64_t ver;
  read_i64(m[0], &cx, "a0", &ver);
  int64_t nv = 5;
  rp_map_op_t bad[2] = {
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_READ, (const uint8_t *)"a0", 2, NULL, 0, ver + 1, 0, 0, 0, 0},
      {m[1]->base, atomic_load(&m[1]->len), RP_MAP_OP_SET, (const uint8_t *)"a1", 2, (const uint8_t *)&nv, 8, 0, 0, 0, 0, 0},
  };
  size_t fail;
  uint64_t need;
  CHECK(rp_map_commit(bad, 2, &cx, &fail, &need) == RP_MAP_CONFLICT, "conflict");
  CHECK(read_i64(m[1], &cx, "a1", &ver) == 1000, "nothing written on conflict");
  /* delete + set + absent read in one commit */
  rp_map_op_t mix[3] = {
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_READ, (const uint8_t *)"nope", 4, NULL, 0, 0, 0, 0, 0, 0},
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_DELETE, (const uint8_t *)"a9", 2, NULL, 0, 0, 0, 0, 0, 0},
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_SET, (const uint8_t *)"z", 1, (const uint8_t *)&nv, 8, 0, 0, 0, 0, 0},
  };
  CHECK(rp_map_commit(mix, 3, &cx, &fail, &need) == 0, "mixed commit");
  CHECK(read_i64(m[0], &cx, "a9", &ver) == 0 && ver == 0, "deleted");
  CHECK(read_i64(m[0], &cx, "z", &ver) == 5, "set");
  rp_map_op_t undo[2] = {
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_DELETE, (const uint8_t *)"z", 1, NULL, 0, 0, 0, 0, 0, 0},
      {m[0]->base, atomic_load(&m[0]->len), RP_MAP_OP_SET, (const uint8_t *)"a9", 2, (const uint8_t *)&(int64_t){1000}, 8, 0, 0, 0, 0, 0},
  };
  CHECK(rp_map_commit(undo, 2, &cx, &fail, &need) == 0, "undo commit");

  enum { T = 4 };
  pthread_t t[T];
  xfer_arg_t a[T];
  for (int i = 0; i < T; i++) {
    a[i] = (xfer_arg_t){{m[0], m[1]}, 4000 / (int)rp_test_scale, i};
    pthread_create(&t[i], NULL, xfer_thread, &a[i]);
  }
  for (int i = 0; i < T; i++) pthread_join(t[i], NULL);
  int64_t total = 0;
  for (int j = 0; j < 2; j++)
    for (int i = 0; i < ACCOUNTS; i++) {
      char k[16];
      snprintf(k, sizeof k, "a%d", i);
      total += read_i64(m[j], &cx, k, &ver);
    }
  CHECK(total == 2 * ACCOUNTS * 1000, "total %lld", (long long)total);
  check_consistent(m[0], &cx, ACCOUNTS);
  check_consistent(m[1], &cx, ACCOUNTS);
  region_free(m[0]);
  region_free(m[1]);
}

/* scan while another thread inserts (and the table grows): keys present throughout are
 * seen exactly once */
typedef struct {
  region_t *r;
  int n;
} ins_arg_t;
static void *insert_thread(void *p) {
  ins_arg_t *a = p;
  rp_map_ctx_t cx = ctx_new();
  for (int i = 0; i < a->n; i++) {
    char k[24];
    snprintf(k, sizeof k, "new-%d", i);
    CHECK(do_set(a->r, &cx, k, k, 8) == 0, "insert");
  }
  return NULL;
}

static void test_scan_growth(void) {
  region_t *r = region_new(4, 4, 1 << 12);
  rp_map_ctx_t cx = ctx_new();
  enum { BASE = 500 };
  for (int i = 0; i < BASE; i++) {
    char k[24];
    snprintf(k, sizeof k, "base-%d", i);
    do_set(r, &cx, k, k, 8);
  }
  ins_arg_t a = {r, 3000 / (int)rp_test_scale};
  pthread_t t;
  pthread_create(&t, NULL, insert_thread, &a);
  static uint8_t seen[BASE];
  memset(seen, 0, sizeof seen);
  uint32_t cursor = 0;
  uint8_t out[512];
  for (;;) {
    size_t used = 0;
    int rc = rp_map_scan(r->base, atomic_load(&r->len), &cx, &cursor, out, sizeof out, &used, 0);
    if (rc == RP_MAP_STALE) continue;
    CHECK(rc == 0 || rc == RP_MAP_MORE, "scan %d", rc);
    for (size_t p = 0; p < used;) {
      uint32_t k;
      memcpy(&k, out + p, 4);
      if (k > 5 && memcmp(out + p + 16, "base-", 5) == 0) {
        int idx = atoi((const char *)out + p + 21);
        CHECK(idx >= 0 && idx < BASE && seen[idx] == 0, "base key %d seen twice", idx);
        seen[idx] = 1;
      }
      p += 16 + ((k + 7u) & ~7u);
    }
    if (rc == 0) break;
  }
  pthread_join(t, NULL);
  for (int i = 0; i < BASE; i++) CHECK(seen[i] == 1, "base key %d missed", i);
  region_free(r);
}

int main(void) {
  rp_test_init("test_map");
  test_layout();
  test_model();
  test_full();
  test_crash_repair();
  test_threads();
  test_commit();
  test_scan_growth();
  printf("test_map: ok\n");
  return 0;
}
