/* map.c - striped-lock, seqlock-read hash map over a growable region (see map.h). */
#include "map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"

/* The fixed header as a struct, only to let the compiler prove the documented offsets. */
typedef struct {
  uint32_t magic, version, stripes, header_bytes;
  uint64_t max_bytes;
  uint8_t pad_r[RP_CACHELINE - 24];
  uint32_t table_seq, table_off, table_mask, table_block;
  uint8_t pad_t[RP_CACHELINE - 16];
  int32_t all_cell, all_watchers;
  uint32_t clear_epoch;
  uint8_t pad_w[RP_CACHELINE - 12];
} rp_map_layout_t;

static_assert(offsetof(rp_map_layout_t, stripes) == RP_MAP_OFF_STRIPES, "stripes offset");
static_assert(offsetof(rp_map_layout_t, header_bytes) == RP_MAP_OFF_HEADER_BYTES, "header_bytes offset");
static_assert(offsetof(rp_map_layout_t, max_bytes) == RP_MAP_OFF_MAX_BYTES, "max_bytes offset");
static_assert(offsetof(rp_map_layout_t, table_seq) == RP_MAP_OFF_TABLE_SEQ, "table_seq offset");
static_assert(offsetof(rp_map_layout_t, table_off) == RP_MAP_OFF_TABLE_OFF, "table_off offset");
static_assert(offsetof(rp_map_layout_t, table_mask) == RP_MAP_OFF_TABLE_MASK, "table_mask offset");
static_assert(offsetof(rp_map_layout_t, table_block) == RP_MAP_OFF_TABLE_BLOCK, "table_block offset");
static_assert(offsetof(rp_map_layout_t, all_cell) == RP_MAP_OFF_ALL_CELL, "all_cell offset");
static_assert(offsetof(rp_map_layout_t, all_watchers) == RP_MAP_OFF_ALL_WATCHERS, "all_watchers offset");
static_assert(offsetof(rp_map_layout_t, clear_epoch) == RP_MAP_OFF_CLEAR_EPOCH, "clear_epoch offset");
static_assert(sizeof(rp_map_layout_t) == RP_MAP_OFF_ARENA, "arena follows the header");
static_assert(RP_MAP_OFF_STRIPES_ARRAY % RP_CACHELINE == 0, "stripes start on a block");
static_assert(RP_MAP_ST_WRITES % 8 == 0 && RP_MAP_ST_LAST_MS % 8 == 0, "64-bit stripe fields aligned");
static_assert(RP_MAP_ST_LAST_MS + 8 <= RP_MAP_STRIPE_BYTES, "stripe fits its block");

#define P8(b, off) ((uint8_t *)(uintptr_t)(b) + (off))
#define A32(b, off) RP_AU32(P8(b, off))
#define A64(b, off) RP_A64(P8(b, off))

/* relaxed loads/stores of shared words: see each caller for why relaxed suffices (mostly:
 * data under a stripe lock, or seqlock data validated afterwards). */
static inline uint32_t ld32(const void *b, size_t off) {
  return atomic_load_explicit(A32(b, off), memory_order_relaxed);
}
static inline void st32(void *b, size_t off, uint32_t v) {
  atomic_store_explicit(A32(b, off), v, memory_order_relaxed);
}
static inline uint64_t ld64(const void *b, size_t off) {
  return atomic_load_explicit(A64(b, off), memory_order_relaxed);
}
static inline void st64(void *b, size_t off, uint64_t v) {
  atomic_store_explicit(A64(b, off), v, memory_order_relaxed);
}

static inline uint64_t pad8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }
static inline size_t stripe_off(uint32_t s) { return RP_MAP_OFF_STRIPES_ARRAY + (size_t)s * RP_MAP_STRIPE_BYTES; }
static inline uint32_t stripes_of(const void *b) { return ld32(b, RP_MAP_OFF_STRIPES); /* relaxed: read-only */ }
static inline size_t entry_off(uint32_t ref) { return (size_t)ref * 8 + RP_ARENA_BLOCK_HEAD; }

size_t rp_map_stripe_offset(uint32_t stripe) { return stripe_off(stripe); }

static double now_ms(void) {
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 0;
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

static inline uint64_t dbl_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
static inline double bits_dbl(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

/* Little-endian load of up to 8 bytes of caller memory, zero-extended. */
static inline uint64_t tail_word(const uint8_t *p, size_t n) {
  uint64_t w = 0;
  memcpy(&w, p, n < 8 ? n : 8);
  return w;
}

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

/* MurmurHash3 (x86, 32-bit) over little-endian 4-byte words, the last one zero-padded. The
 * word form (not the reference tail) keeps it simple to compute in JS with Math.imul. */
uint32_t rp_map_hash(const uint8_t *key, uint32_t klen) {
  uint32_t h = 0x9747b28cu ^ klen;
  for (uint32_t i = 0; i < klen; i += 4) {
    uint32_t w = 0;
    memcpy(&w, key + i, klen - i < 4 ? klen - i : 4);
    w *= 0xcc9e2d51u;
    w = rotl32(w, 15);
    w *= 0x1b873593u;
    h ^= w;
    h = rotl32(h, 13);
    h = h * 5u + 0xe6546b64u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

uint64_t rp_map_header_bytes(uint32_t stripes, uint32_t buckets) {
  if (stripes < 1 || stripes > RP_MAP_MAX_STRIPES || (stripes & (stripes - 1)) != 0) return 0;
  if (buckets < stripes || buckets > RP_MAP_MAX_BUCKETS || (buckets & (buckets - 1)) != 0) return 0;
  return pad8(stripe_off(stripes) + (uint64_t)buckets * 4);
}

int rp_map_init(void *base, size_t len, uint32_t stripes, uint32_t buckets, uint64_t max_bytes) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  uint64_t hb = rp_map_header_bytes(stripes, buckets);
  if (hb == 0 || len < hb || max_bytes < len || max_bytes > RP_ARENA_MAX_LIMIT) return RP_ERANGE;
  memset(base, 0, (size_t)hb);
  rp_map_layout_t *h = base;
  h->magic = RP_MAP_MAGIC;
  h->version = RP_MAP_VERSION;
  h->stripes = stripes;
  h->header_bytes = (uint32_t)hb;
  h->max_bytes = max_bytes;
  h->table_off = (uint32_t)(stripe_off(stripes) / 8);
  h->table_mask = buckets - 1;
  h->table_block = 0;
  return rp_arena_init(base, RP_MAP_OFF_ARENA, hb, max_bytes);
}

int rp_map_check(const void *base, size_t len, rp_map_info_t *info) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (len < RP_MAP_OFF_STRIPES_ARRAY) return RP_ELAYOUT;
  const rp_map_layout_t *h = base;
  if (h->magic != RP_MAP_MAGIC || h->version != RP_MAP_VERSION) return RP_ELAYOUT;
  uint32_t s = h->stripes;
  if (s < 1 || s > RP_MAP_MAX_STRIPES || (s & (s - 1)) != 0) return RP_ELAYOUT;
  if (h->header_bytes < stripe_off(s) || h->header_bytes > len || h->max_bytes < len ||
      h->max_bytes > RP_ARENA_MAX_LIMIT)
    return RP_ELAYOUT;
  if (info) {
    info->stripes = s;
    info->header_bytes = h->header_bytes;
    info->max_bytes = h->max_bytes;
  }
  return 0;
}

uint32_t rp_map_stripe_of(const void *base, const uint8_t *key, uint32_t klen) {
  return rp_map_hash(key, klen) & (stripes_of(base) - 1);
}

uint32_t rp_map_size(const void *base) {
  uint32_t s = stripes_of(base), n = 0;
  /* relaxed: a snapshot of independent counters. */
  for (uint32_t i = 0; i < s; i++) n += ld32(base, stripe_off(i) + RP_MAP_ST_COUNT);
  return n;
}

void rp_map_memory(const void *base, uint64_t *live, uint64_t *used, uint64_t *top) {
  rp_arena_stats(base, RP_MAP_OFF_ARENA, live, used, top);
}

/* ------------------------------------------------------------------ entries */

/* Range check of an entry: 0 ok, RP_MAP_STALE (past len but within max), RP_ELAYOUT. */
static int entry_check(const void *b, size_t len, uint32_t ref, uint32_t *klen, uint32_t *vlen) {
  uint64_t off = entry_off(ref);
  uint64_t lo = ld32(b, RP_MAP_OFF_HEADER_BYTES); /* relaxed: read-only */
  uint64_t max = ld64(b, RP_MAP_OFF_MAX_BYTES);   /* relaxed: read-only */
  if (ref == 0 || (uint64_t)ref * 8 < lo || off + RP_MAP_ENTRY_HEAD > max) return RP_ELAYOUT;
  if (off + RP_MAP_ENTRY_HEAD > len) return RP_MAP_STALE;
  uint32_t k = ld32(b, off + 24), v = ld32(b, off + 28);
  uint64_t end = off + RP_MAP_ENTRY_HEAD + pad8(k) + pad8(v);
  if (k > RP_MAP_MAX_KEY || end > max) return RP_ELAYOUT;
  if (end > len) return RP_MAP_STALE;
  *klen = k;
  *vlen = v;
  return 0;
}

static int key_equals(const void *b, size_t off, const uint8_t *key, uint32_t klen) {
  for (uint32_t i = 0; i < klen; i += 8)
    if (ld64(b, off + RP_MAP_ENTRY_HEAD + i) != tail_word(key + i, klen - i)) return 0;
  return 1;
}

/* Copies n bytes of shared memory at off (8-aligned, readable up to pad8(n)) to out. */
static void copy_out(const void *b, size_t off, uint8_t *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = ld64(b, off + i);
    memcpy(out + i, &w, 8);
  }
  if (i < n) {
    uint64_t w = ld64(b, off + i);
    memcpy(out + i, &w, n - i);
  }
}

/* Copies n bytes of caller memory into shared memory at off (8-aligned), zero-padding to 8. */
static void copy_in(void *b, size_t off, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i += 8) st64(b, off + i, tail_word(src + i, n - i));
}

static int fill_entry(void *b, uint32_t ref, uint32_t hash, uint64_t version, double ms, const uint8_t *key,
                      uint32_t klen, const uint8_t *val, uint32_t vlen) {
  size_t off = entry_off(ref);
  st32(b, off, 0);
  st32(b, off + 4, hash);
  st64(b, off + 8, version);
  st64(b, off + 16, dbl_bits(ms));
  st32(b, off + 24, klen);
  st32(b, off + 28, vlen);
  copy_in(b, off + RP_MAP_ENTRY_HEAD, key, klen);
  copy_in(b, off + RP_MAP_ENTRY_HEAD + pad8(klen), val, vlen);
  return 0;
}

static inline uint64_t entry_payload(uint32_t klen, uint32_t vlen) {
  return RP_MAP_ENTRY_HEAD + pad8(klen) + pad8(vlen);
}

/* Bucket array: byte offset and mask (relaxed: stable under a stripe lock, or validated by
 * the table seq for readers). */
static inline size_t table_at(const void *b) { return (size_t)ld32(b, RP_MAP_OFF_TABLE_OFF) * 8; }
static inline uint32_t table_mask(const void *b) { return ld32(b, RP_MAP_OFF_TABLE_MASK); }

static int table_check(const void *b, size_t len, size_t tab, uint32_t mask) {
  uint64_t end = (uint64_t)tab + ((uint64_t)mask + 1) * 4;
  if (end > ld64(b, RP_MAP_OFF_MAX_BYTES) || tab < RP_MAP_OFF_STRIPES_ARRAY) return RP_ELAYOUT;
  return end > len ? RP_MAP_STALE : 0;
}

/*
 * Finds key in its chain (caller holds the stripe lock, or validates afterwards). *link:
 * byte offset of the u32 that points at the entry (or at the chain end); *ref the entry or 0.
 * 0, RP_MAP_STALE, RP_ELAYOUT.
 */
static int find(const void *b, size_t len, uint32_t hash, const uint8_t *key, uint32_t klen, size_t *link,
                uint32_t *ref) {
  size_t tab = table_at(b);
  uint32_t mask = table_mask(b);
  int rc = table_check(b, len, tab, mask);
  if (rc != 0) return rc;
  size_t l = tab + (size_t)(hash & mask) * 4;
  uint32_t r = ld32(b, l);
  uint64_t limit = len / 40 + 1; /* no chain is longer than the entries that fit */
  while (r != 0) {
    uint32_t k, v;
    rc = entry_check(b, len, r, &k, &v);
    if (rc != 0) return rc;
    size_t off = entry_off(r);
    if (ld32(b, off + 4) == hash && k == klen && key_equals(b, off, key, klen)) break;
    l = off;
    r = ld32(b, off);
    if (--limit == 0) return RP_ELAYOUT;
  }
  *link = l;
  *ref = r;
  return 0;
}

/* ------------------------------------------------------------------ locks */

/* 1 acquired, 2 already held by me, 0 busy. */
static int lock_try(_Atomic uint32_t *w, uint32_t me) {
  uint32_t c = 0;
  /* L1 acquire: takes the stripe; pairs with L2 in lock_release. */
  if (atomic_compare_exchange_strong_explicit(w, &c, me, memory_order_acquire, memory_order_relaxed)) return 1;
  return (c & ~RP_MAP_LOCK_WAITERS) == me ? 2 : 0;
}

static void lock_release(_Atomic uint32_t *w) {
  /* L2 release: publishes the critical section; pairs with L1. The word is shared memory
   * that lives as long as any thread holds the buffer, so the wake after it is safe. */
  if (atomic_exchange_explicit(w, 0, memory_order_release) & RP_MAP_LOCK_WAITERS) rp_futex_wake(w, 1);
}

static int reachable(const void *b, size_t len, uint32_t s, uint32_t target) {
  size_t tab = table_at(b);
  uint32_t mask = table_mask(b), stripes = stripes_of(b);
  if (table_check(b, len, tab, mask) != 0) return 0;
  for (uint64_t bk = s; bk <= mask; bk += stripes) {
    uint32_t r = ld32(b, tab + (size_t)bk * 4);
    uint64_t limit = len / 40 + 1;
    while (r != 0 && limit-- > 0) {
      uint32_t k, v;
      if (entry_check(b, len, r, &k, &v) != 0) break;
      if (r == target) return 1;
      r = ld32(b, entry_off(r));
    }
  }
  return 0;
}

static uint32_t recount(const void *b, size_t len, uint32_t s) {
  size_t tab = table_at(b);
  uint32_t mask = table_mask(b), stripes = stripes_of(b), n = 0;
  if (table_check(b, len, tab, mask) != 0) return 0;
  for (uint64_t bk = s; bk <= mask; bk += stripes) {
    uint32_t r = ld32(b, tab + (size_t)bk * 4);
    uint64_t limit = len / 40 + 1;
    while (r != 0 && limit-- > 0) {
      uint32_t k, v;
      if (entry_check(b, len, r, &k, &v) != 0) break;
      n++;
      r = ld32(b, entry_off(r));
    }
  }
  return n;
}

/* Runs with the stripe lock still held by a dead holder, on its behalf (map.h DEAD OWNERS). */
static void repair(void *b, size_t len, uint32_t s) {
  size_t so = stripe_off(s);
  uint32_t op = ld32(b, so + RP_MAP_ST_INTENT_OP);
  uint32_t nw = ld32(b, so + RP_MAP_ST_INTENT_NEW), old = ld32(b, so + RP_MAP_ST_INTENT_OLD);
  _Atomic uint32_t *seq = A32(b, so + RP_MAP_ST_SEQ);
  uint32_t q = atomic_load_explicit(seq, memory_order_relaxed); /* relaxed: we hold the lock */
  /* Nothing half-done (the holder died between calls, the only case JS can produce): the
   * chains and count are intact, and len may be older than the region, so touch nothing. */
  if (op == 0 && (q & 1u) == 0) return;
  if (op != 0) {
    if (nw != 0 && !reachable(b, len, s, nw) && rp_arena_is_allocated(b, len, RP_MAP_OFF_ARENA, nw))
      rp_arena_free(b, len, RP_MAP_OFF_ARENA, nw);
    if (old != 0 && !reachable(b, len, s, old) && rp_arena_is_allocated(b, len, RP_MAP_OFF_ARENA, old))
      rp_arena_free(b, len, RP_MAP_OFF_ARENA, old);
  }
  st32(b, so + RP_MAP_ST_COUNT, recount(b, len, s));
  st32(b, so + RP_MAP_ST_INTENT_OLD, 0);
  st32(b, so + RP_MAP_ST_INTENT_NEW, 0);
  st32(b, so + RP_MAP_ST_INTENT_OP, 0);
  /* S2 release: readers see the repaired chains once seq is even. */
  if (q & 1u) atomic_store_explicit(seq, q + 1, memory_order_release);
}

#define LOCK_SPINS 128
#define LOCK_SLICE_NS (2 * 1000 * 1000LL)

/* Blocking acquire of stripe s: spin, then sleep on the word in slices (a thread being
 * terminated gives up). 0 (and *re = 1 if the caller already held it), RP_EINTR. */
static int lock_stripe(void *b, size_t len, const rp_map_ctx_t *cx, uint32_t s, int *re) {
  (void)len;
  _Atomic uint32_t *w = A32(b, stripe_off(s) + RP_MAP_ST_LOCK);
  uint32_t me = cx->token;
  *re = 0;
  for (int i = 0; i < LOCK_SPINS; i++) {
    int r = lock_try(w, me);
    if (r == 1) return 0;
    if (r == 2) {
      *re = 1;
      return 0;
    }
    rp_cpu_relax();
  }
  for (;;) {
    /* relaxed: only a hint for the CASes below, which carry the ordering (L1). */
    uint32_t c = atomic_load_explicit(w, memory_order_relaxed);
    if (c == 0) {
      /* L1 (with the waiters flag: others may sleep on the word too). */
      if (atomic_compare_exchange_strong_explicit(w, &c, me | RP_MAP_LOCK_WAITERS, memory_order_acquire,
                                                  memory_order_relaxed))
        return 0;
      continue;
    }
    if ((c & ~RP_MAP_LOCK_WAITERS) == me) {
      *re = 1;
      return 0;
    }
    if (!(c & RP_MAP_LOCK_WAITERS) &&
        !atomic_compare_exchange_strong_explicit(w, &c, c | RP_MAP_LOCK_WAITERS, memory_order_relaxed,
                                                 memory_order_relaxed)) /* relaxed: a flag for the releaser */
      continue;
    rp_futex_wait(w, c | RP_MAP_LOCK_WAITERS, LOCK_SLICE_NS);
    if (cx->stop != NULL && cx->stop(cx->stop_ctx)) return RP_EINTR;
  }
}

static inline void unlock_stripe(void *b, uint32_t s) { lock_release(A32(b, stripe_off(s) + RP_MAP_ST_LOCK)); }

int rp_map_lock(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, uint32_t *stripe,
                int *reentrant) {
  uint32_t s = rp_map_stripe_of(base, key, klen);
  int rc = lock_stripe(base, len, cx, s, reentrant);
  if (rc == 0) *stripe = s;
  return rc;
}

int rp_map_unlock(void *base, const rp_map_ctx_t *cx, uint32_t stripe) {
  if (stripe >= stripes_of(base)) return RP_ERANGE;
  _Atomic uint32_t *w = A32(base, stripe_off(stripe) + RP_MAP_ST_LOCK);
  /* relaxed: we only compare with our own token, which only we store. */
  if ((atomic_load_explicit(w, memory_order_relaxed) & ~RP_MAP_LOCK_WAITERS) != cx->token) return RP_ESTATE;
  lock_release(w);
  return 0;
}

int rp_map_release_dead(void *base, size_t len, uint32_t token, uint32_t stripe) {
  if (stripe >= stripes_of(base)) return RP_ERANGE;
  _Atomic uint32_t *w = A32(base, stripe_off(stripe) + RP_MAP_ST_LOCK);
  /* relaxed: only the holder (whose teardown this is) stores its own token. */
  if ((atomic_load_explicit(w, memory_order_relaxed) & ~RP_MAP_LOCK_WAITERS) != token) return RP_ESTATE;
  repair(base, len, stripe);
  st32(base, stripe_off(stripe) + RP_MAP_ST_REPAIRS, ld32(base, stripe_off(stripe) + RP_MAP_ST_REPAIRS) + 1);
  lock_release(w);
  return 0;
}

/* Multi-stripe acquisition (clear, commit): in order, backing off completely when busy. */
typedef struct {
  void *base;
  size_t len;
  uint32_t s;
  int mine; /* 1 if this call took it (and must release it) */
} lk_t;

static void release_all(lk_t *l, size_t n) {
  for (size_t i = n; i-- > 0;)
    if (l[i].mine) {
      unlock_stripe(l[i].base, l[i].s);
      l[i].mine = 0;
    }
}

static int lock_all(lk_t *l, size_t n, const rp_map_ctx_t *cx) {
  for (;;) {
    size_t i = 0;
    for (; i < n; i++) {
      int r = 0;
      for (int spin = 0; spin < LOCK_SPINS && r == 0; spin++) {
        r = lock_try(A32(l[i].base, stripe_off(l[i].s) + RP_MAP_ST_LOCK), cx->token);
        if (r == 0) rp_cpu_relax();
      }
      if (r == 0) break;
      l[i].mine = r == 1;
    }
    if (i == n) return 0;
    release_all(l, i);
    int re;
    int rc = lock_stripe(l[i].base, l[i].len, cx, l[i].s, &re); /* waits, repairs a dead holder */
    if (rc != 0) return rc;
    if (!re) unlock_stripe(l[i].base, l[i].s);
  }
}

/* ------------------------------------------------------------------ seqlock helpers */

static inline void write_begin(void *b, uint32_t s) {
  _Atomic uint32_t *seq = A32(b, stripe_off(s) + RP_MAP_ST_SEQ);
  uint32_t q = atomic_load_explicit(seq, memory_order_relaxed); /* relaxed: we hold the lock */
  atomic_store_explicit(seq, q + 1, memory_order_relaxed);      /* relaxed: ordered by F1 */
  /* F1 release fence: the odd seq is visible before any change below; pairs with F2. */
  atomic_thread_fence(memory_order_release);
}

static inline void write_end(void *b, uint32_t s, double ms) {
  size_t so = stripe_off(s);
  st64(b, so + RP_MAP_ST_LAST_MS, dbl_bits(ms));
  _Atomic uint32_t *seq = A32(b, so + RP_MAP_ST_SEQ);
  uint32_t q = atomic_load_explicit(seq, memory_order_relaxed); /* relaxed: we hold the lock */
  /* S2 release: the changes are visible before the even seq; pairs with S3. */
  atomic_store_explicit(seq, q + 1, memory_order_release);
}

/* Wakes JS watchers of stripe s and of the whole map, if any are registered. Same protocol
 * as ring.h SLEEPING: the watcher increments its count, reads the cell, re-reads the state,
 * then waits on the cell; the seq_cst fence here orders our change before the count loads. */
static void notify_change(void *b, uint32_t s) {
  size_t so = stripe_off(s);
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(RP_A32(P8(b, so + RP_MAP_ST_WATCHERS)), memory_order_seq_cst) != 0) {
    _Atomic int32_t *cell = RP_A32(P8(b, so + RP_MAP_ST_CELL));
    atomic_fetch_add_explicit(cell, 1, memory_order_seq_cst);
    rp_notify(cell, UINT32_MAX);
  }
  if (atomic_load_explicit(RP_A32(P8(b, RP_MAP_OFF_ALL_WATCHERS)), memory_order_seq_cst) != 0) {
    _Atomic int32_t *cell = RP_A32(P8(b, RP_MAP_OFF_ALL_CELL));
    atomic_fetch_add_explicit(cell, 1, memory_order_seq_cst);
    rp_notify(cell, UINT32_MAX);
  }
}

#define READ_SPINS 256
#define READ_NAP_NS (100 * 1000LL)

/* Backoff of a reader that found a seq odd: spin, then nap on the word (writers hold a seq
 * odd only inside one call; a holder that died is repaired by its thread's teardown, see
 * map.h DEAD OWNERS). */
static int reader_backoff(void *b, size_t len, const rp_map_ctx_t *cx, _Atomic uint32_t *word, uint32_t seen,
                          uint32_t s, unsigned *spins) {
  (void)b;
  (void)len;
  (void)s;
  (*spins)++;
  if (*spins < READ_SPINS) {
    rp_cpu_relax();
    return 0;
  }
  if (cx->stop != NULL && cx->stop(cx->stop_ctx)) return RP_EINTR;
  rp_futex_wait(word, seen, READ_NAP_NS);
  return 0;
}

/* Starts a validated read of stripe s: table seq and stripe seq both even. */
static int read_begin(void *b, size_t len, const rp_map_ctx_t *cx, uint32_t hash, uint32_t *s, uint32_t *ts,
                      uint32_t *ss, unsigned *spins) {
  _Atomic uint32_t *tseq = A32(b, RP_MAP_OFF_TABLE_SEQ);
  *s = hash & (stripes_of(b) - 1);
  _Atomic uint32_t *sseq = A32(b, stripe_off(*s) + RP_MAP_ST_SEQ);
  for (;;) {
    /* S3 acquire (table): pairs with S2 of resize. */
    *ts = atomic_load_explicit(tseq, memory_order_acquire);
    if (*ts & 1u) {
      int rc = reader_backoff(b, len, cx, tseq, *ts, 0, spins);
      if (rc != 0) return rc;
      continue;
    }
    /* S3 acquire (stripe): pairs with S2 of the writers. */
    *ss = atomic_load_explicit(sseq, memory_order_acquire);
    if (*ss & 1u) {
      int rc = reader_backoff(b, len, cx, sseq, *ss, *s, spins);
      if (rc != 0) return rc;
      continue;
    }
    return 0;
  }
}

static inline int read_valid(const void *b, uint32_t s, uint32_t ts, uint32_t ss) {
  /* F2 acquire fence: every load above happens before the seq reloads; pairs with F1. */
  atomic_thread_fence(memory_order_acquire);
  /* relaxed (both): ordered by F2. */
  return atomic_load_explicit(A32(b, stripe_off(s) + RP_MAP_ST_SEQ), memory_order_relaxed) == ss &&
         atomic_load_explicit(A32(b, RP_MAP_OFF_TABLE_SEQ), memory_order_relaxed) == ts;
}

/* ------------------------------------------------------------------ operations */

int rp_map_get(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, uint8_t *out,
               size_t out_cap, rp_map_found_t *f) {
  if (klen > RP_MAP_MAX_KEY) return RP_MAP_ABSENT;
  uint32_t hash = rp_map_hash(key, klen), s, ts, ss;
  unsigned spins = 0;
  for (;;) {
    int rc = read_begin(base, len, cx, hash, &s, &ts, &ss, &spins);
    if (rc != 0) return rc;
    size_t link;
    uint32_t ref = 0;
    rc = find(base, len, hash, key, klen, &link, &ref);
    if (rc == 0 && ref != 0) {
      size_t off = entry_off(ref);
      uint32_t k, v;
      rc = entry_check(base, len, ref, &k, &v);
      if (rc == 0) {
        f->vlen = v;
        f->version = ld64(base, off + 8);
        f->ms = bits_dbl(ld64(base, off + 16));
        if (v <= out_cap) copy_out(base, off + RP_MAP_ENTRY_HEAD + pad8(k), out, v);
      }
    }
    if (!read_valid(base, s, ts, ss)) continue;
    if (rc != 0) return rc;
    return ref != 0 ? 0 : RP_MAP_ABSENT;
  }
}

static void maybe_resize(void *b, size_t len, const rp_map_ctx_t *cx, uint32_t s);

int rp_map_set(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, const uint8_t *val,
               uint32_t vlen, uint64_t *need) {
  if (klen > RP_MAP_MAX_KEY) return RP_ETOOBIG;
  uint32_t hash = rp_map_hash(key, klen), s = hash & (stripes_of(base) - 1);
  size_t so = stripe_off(s);
  int re;
  int rc = lock_stripe(base, len, cx, s, &re);
  if (rc != 0) return rc;
  size_t link;
  uint32_t old = 0, nw = 0;
  rc = find(base, len, hash, key, klen, &link, &old);
  if (rc == 0) rc = rp_arena_alloc(base, len, RP_MAP_OFF_ARENA, entry_payload(klen, vlen), &nw, need);
  if (rc != 0) goto out;
  uint64_t version = ld64(base, so + RP_MAP_ST_WRITES) + 1;
  st64(base, so + RP_MAP_ST_WRITES, version);
  double ms = now_ms();
  fill_entry(base, nw, hash, version, ms, key, klen, val, vlen);
  st32(base, entry_off(nw), old != 0 ? ld32(base, entry_off(old)) : ld32(base, link));
  st32(base, so + RP_MAP_ST_INTENT_NEW, nw);
  st32(base, so + RP_MAP_ST_INTENT_OLD, old);
  st32(base, so + RP_MAP_ST_INTENT_OP, RP_MAP_OP_SET);
  if (cx->crash_step == 1) return RP_EINTR;
  write_begin(base, s);
  st32(base, link, nw);
  if (old == 0) st32(base, so + RP_MAP_ST_COUNT, ld32(base, so + RP_MAP_ST_COUNT) + 1);
  if (cx->crash_step == 2) return RP_EINTR;
  write_end(base, s, ms);
  st32(base, so + RP_MAP_ST_INTENT_OLD, 0);
  if (cx->crash_step == 3) return RP_EINTR;
  if (old != 0) rp_arena_free(base, len, RP_MAP_OFF_ARENA, old);
  st32(base, so + RP_MAP_ST_INTENT_OP, 0);
  st32(base, so + RP_MAP_ST_INTENT_NEW, 0);
out:
  if (!re) unlock_stripe(base, s);
  if (rc == 0) {
    notify_change(base, s);
    if (!re && old == 0) maybe_resize(base, len, cx, s);
  }
  return rc;
}

int rp_map_delete(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen) {
  if (klen > RP_MAP_MAX_KEY) return RP_MAP_ABSENT;
  uint32_t hash = rp_map_hash(key, klen), s = hash & (stripes_of(base) - 1);
  size_t so = stripe_off(s);
  int re;
  int rc = lock_stripe(base, len, cx, s, &re);
  if (rc != 0) return rc;
  size_t link;
  uint32_t old = 0;
  rc = find(base, len, hash, key, klen, &link, &old);
  if (rc == 0 && old == 0) rc = RP_MAP_ABSENT;
  if (rc != 0) goto out;
  st32(base, so + RP_MAP_ST_INTENT_NEW, 0);
  st32(base, so + RP_MAP_ST_INTENT_OLD, old);
  st32(base, so + RP_MAP_ST_INTENT_OP, RP_MAP_OP_DELETE);
  if (cx->crash_step == 1) return RP_EINTR;
  double ms = now_ms();
  write_begin(base, s);
  st32(base, link, ld32(base, entry_off(old)));
  st32(base, so + RP_MAP_ST_COUNT, ld32(base, so + RP_MAP_ST_COUNT) - 1);
  st64(base, so + RP_MAP_ST_WRITES, ld64(base, so + RP_MAP_ST_WRITES) + 1);
  if (cx->crash_step == 2) return RP_EINTR;
  write_end(base, s, ms);
  st32(base, so + RP_MAP_ST_INTENT_OLD, 0);
  if (cx->crash_step == 3) return RP_EINTR;
  rp_arena_free(base, len, RP_MAP_OFF_ARENA, old);
  st32(base, so + RP_MAP_ST_INTENT_OP, 0);
out:
  if (!re) unlock_stripe(base, s);
  if (rc == 0) notify_change(base, s);
  return rc;
}

int rp_map_clear(void *base, size_t len, const rp_map_ctx_t *cx) {
  uint32_t stripes = stripes_of(base);
  lk_t l[RP_MAP_MAX_STRIPES];
  for (uint32_t i = 0; i < stripes; i++) l[i] = (lk_t){base, len, i, 0};
  int rc = lock_all(l, stripes, cx);
  if (rc != 0) return rc;
  size_t tab = table_at(base);
  uint32_t mask = table_mask(base);
  rc = table_check(base, len, tab, mask);
  if (rc == 0) {
    double ms = now_ms();
    for (uint32_t s = 0; s < stripes; s++) write_begin(base, s);
    uint32_t chains_head = 0; /* freed after the seqlocks close, linked through `next` */
    for (uint64_t bk = 0; bk <= mask; bk++) {
      size_t slot = tab + (size_t)bk * 4;
      uint32_t r = ld32(base, slot);
      st32(base, slot, 0);
      uint64_t limit = len / 40 + 1;
      while (r != 0 && limit-- > 0) {
        uint32_t k, v;
        if (entry_check(base, len, r, &k, &v) != 0) break;
        uint32_t next = ld32(base, entry_off(r));
        st32(base, entry_off(r), chains_head);
        chains_head = r;
        r = next;
      }
    }
    for (uint32_t s = 0; s < stripes; s++) {
      size_t so = stripe_off(s);
      st32(base, so + RP_MAP_ST_COUNT, 0);
      st64(base, so + RP_MAP_ST_WRITES, ld64(base, so + RP_MAP_ST_WRITES) + 1);
    }
    st32(base, RP_MAP_OFF_CLEAR_EPOCH, ld32(base, RP_MAP_OFF_CLEAR_EPOCH) + 1);
    for (uint32_t s = 0; s < stripes; s++) write_end(base, s, ms);
    while (chains_head != 0) {
      uint32_t next = ld32(base, entry_off(chains_head));
      rp_arena_free(base, len, RP_MAP_OFF_ARENA, chains_head);
      chains_head = next;
    }
  }
  release_all(l, stripes);
  if (rc == 0)
    for (uint32_t s = 0; s < stripes; s++) notify_change(base, s);
  return rc;
}

/* Doubles the bucket table when the stripe that just grew suggests a load factor over 2.
 * Best effort: skipped when any stripe is busy or memory is short. */
static void maybe_resize(void *b, size_t len, const rp_map_ctx_t *cx, uint32_t s) {
  uint32_t stripes = stripes_of(b), mask = table_mask(b);
  uint64_t est = (uint64_t)ld32(b, stripe_off(s) + RP_MAP_ST_COUNT) * stripes;
  if (est <= 2 * ((uint64_t)mask + 1) || (uint64_t)mask + 1 >= RP_MAP_MAX_BUCKETS) return;
  lk_t l[RP_MAP_MAX_STRIPES];
  uint32_t got = 0;
  for (; got < stripes; got++) {
    int r = lock_try(A32(b, stripe_off(got) + RP_MAP_ST_LOCK), cx->token);
    if (r != 1) break; /* busy, or held by us (an update() callback): not now */
    l[got] = (lk_t){b, len, got, 1};
  }
  if (got == stripes) {
    mask = table_mask(b); /* relaxed: stable while we hold every stripe */
    size_t tab = table_at(b);
    uint32_t nb = (mask + 1) * 2, nref = 0;
    uint64_t need;
    if (table_check(b, len, tab, mask) == 0 &&
        rp_arena_alloc(b, len, RP_MAP_OFF_ARENA, (uint64_t)nb * 4, &nref, &need) == 0) {
      size_t ntab = entry_off(nref);
      for (uint32_t i = 0; i < nb; i += 2) st64(b, ntab + (size_t)i * 4, 0);
      _Atomic uint32_t *tseq = A32(b, RP_MAP_OFF_TABLE_SEQ);
      uint32_t q = atomic_load_explicit(tseq, memory_order_relaxed); /* relaxed: we own every stripe */
      atomic_store_explicit(tseq, q + 1, memory_order_relaxed);      /* relaxed: ordered by F1 */
      atomic_thread_fence(memory_order_release);                      /* F1 (table) */
      for (uint64_t bk = 0; bk <= mask; bk++) {
        uint32_t r = ld32(b, tab + (size_t)bk * 4);
        uint64_t limit = len / 40 + 1;
        while (r != 0 && limit-- > 0) {
          size_t off = entry_off(r);
          uint32_t next = ld32(b, off);
          size_t slot = ntab + (size_t)(ld32(b, off + 4) & (nb - 1)) * 4;
          st32(b, off, ld32(b, slot));
          st32(b, slot, r);
          r = next;
        }
      }
      uint32_t old_block = ld32(b, RP_MAP_OFF_TABLE_BLOCK);
      st32(b, RP_MAP_OFF_TABLE_OFF, (uint32_t)(ntab / 8));
      st32(b, RP_MAP_OFF_TABLE_MASK, nb - 1);
      st32(b, RP_MAP_OFF_TABLE_BLOCK, 1);
      /* S2 release (table): pairs with S3 (table) in read_begin. */
      atomic_store_explicit(tseq, q + 2, memory_order_release);
      if (old_block) rp_arena_free(b, len, RP_MAP_OFF_ARENA, (uint32_t)((tab - RP_ARENA_BLOCK_HEAD) / 8));
    }
  }
  release_all(l, got);
}

/* ------------------------------------------------------------------ scan */

static uint32_t rev32(uint32_t v) {
  v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
  v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
  v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
  v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
  return (v >> 16) | (v << 16);
}

int rp_map_scan(void *base, size_t len, const rp_map_ctx_t *cx, uint32_t *cursor, uint8_t *out, size_t cap,
                size_t *used, int with_values) {
  uint32_t v = *cursor;
  size_t pos = 0;
  unsigned spins = 0;
  _Atomic uint32_t *tseq = A32(base, RP_MAP_OFF_TABLE_SEQ);
  for (;;) {
    /* one bucket, consistent */
    uint32_t ts, ss, s, mask;
    size_t p;
    int rc;
    for (;;) {
      /* S3 acquire (table): pairs with S2 of resize. */
      ts = atomic_load_explicit(tseq, memory_order_acquire);
      if (ts & 1u) {
        rc = reader_backoff(base, len, cx, tseq, ts, 0, &spins);
        if (rc != 0) return rc;
        continue;
      }
      mask = table_mask(base);
      uint32_t bk = v & mask;
      rc = read_begin(base, len, cx, bk, &s, &ts, &ss, &spins);
      if (rc != 0) return rc;
      size_t tab = table_at(base);
      mask = table_mask(base);
      bk = v & mask;
      rc = table_check(base, len, tab, mask);
      p = pos;
      size_t needed = 0;
      if (rc == 0 && (bk & (stripes_of(base) - 1)) == s) {
        uint32_t r = ld32(base, tab + (size_t)bk * 4);
        uint64_t limit = len / 40 + 1;
        while (r != 0) {
          uint32_t k, vl;
          rc = entry_check(base, len, r, &k, &vl);
          if (rc != 0 || limit-- == 0) {
            if (rc == 0) rc = RP_ELAYOUT;
            break;
          }
          size_t off = entry_off(r);
          size_t rec = 16 + (size_t)pad8(k) + (with_values ? (size_t)pad8(vl) : 0);
          needed += rec;
          if (p + rec <= cap) {
            memcpy(out + p, &k, 4);
            memcpy(out + p + 4, &vl, 4);
            uint64_t ver = ld64(base, off + 8);
            memcpy(out + p + 8, &ver, 8);
            copy_out(base, off + RP_MAP_ENTRY_HEAD, out + p + 16, (size_t)pad8(k));
            if (with_values) copy_out(base, off + RP_MAP_ENTRY_HEAD + pad8(k), out + p + 16 + pad8(k), (size_t)pad8(vl));
          }
          p += rec;
          r = ld32(base, off);
        }
      } else if (rc == 0) {
        continue; /* the table changed between the two loads: look again */
      }
      if (!read_valid(base, s, ts, ss)) continue;
      if (rc != 0) return rc;
      if (p > cap) {
        *used = pos;
        *cursor = v;
        if (pos == 0) {
          *used = needed;
          return RP_ETOOBIG;
        }
        return RP_MAP_MORE;
      }
      break;
    }
    pos = p;
    /* next cursor, reverse-binary (see rp_map_scan in map.h) */
    v |= ~mask;
    v = rev32(v);
    v++;
    v = rev32(v);
    if (v == 0) {
      *cursor = 0;
      *used = pos;
      return 0;
    }
    if (pos >= cap - cap / 4) {
      *cursor = v;
      *used = pos;
      return RP_MAP_MORE;
    }
  }
}

/* ------------------------------------------------------------------ commit */

static int cmp_lk(const void *a, const void *b) {
  const lk_t *x = a, *y = b;
  if ((uintptr_t)x->base != (uintptr_t)y->base) return (uintptr_t)x->base < (uintptr_t)y->base ? -1 : 1;
  return x->s < y->s ? -1 : x->s > y->s ? 1 : 0;
}

int rp_map_commit(rp_map_op_t *ops, size_t n, const rp_map_ctx_t *cx, size_t *fail, uint64_t *need) {
  if (n == 0) return 0;
  lk_t *l = malloc(n * sizeof *l);
  if (l == NULL) return RP_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    rp_map_op_t *o = &ops[i];
    if (o->klen > RP_MAP_MAX_KEY) {
      free(l);
      *fail = i;
      return RP_ETOOBIG;
    }
    o->hash = rp_map_hash(o->key, o->klen);
    o->stripe = o->hash & (stripes_of(o->base) - 1);
    o->new_ref = o->old_ref = 0;
    l[i] = (lk_t){o->base, o->len, o->stripe, 0};
  }
  qsort(l, n, sizeof *l, cmp_lk);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || cmp_lk(&l[m - 1], &l[i]) != 0) l[m++] = l[i];
  int rc = lock_all(l, m, cx);
  if (rc != 0) {
    free(l);
    return rc;
  }
  /* reads */
  for (size_t i = 0; i < n && rc == 0; i++) {
    rp_map_op_t *o = &ops[i];
    size_t link;
    uint32_t ref = 0;
    rc = find(o->base, o->len, o->hash, o->key, o->klen, &link, &ref);
    if (rc != 0) {
      *fail = i;
      break;
    }
    o->old_ref = ref;
    if (o->kind == RP_MAP_OP_READ) {
      uint64_t cur = ref != 0 ? ld64(o->base, entry_off(ref) + 8) : 0;
      if (cur != o->version) rc = RP_MAP_CONFLICT;
    }
  }
  /* allocations */
  for (size_t i = 0; i < n && rc == 0; i++) {
    rp_map_op_t *o = &ops[i];
    if (o->kind != RP_MAP_OP_SET) continue;
    rc = rp_arena_alloc(o->base, o->len, RP_MAP_OFF_ARENA, entry_payload(o->klen, o->vlen), &o->new_ref, need);
    if (rc != 0) *fail = i;
  }
  if (rc != 0) {
    for (size_t i = 0; i < n; i++)
      if (ops[i].new_ref != 0) {
        rp_arena_free(ops[i].base, ops[i].len, RP_MAP_OFF_ARENA, ops[i].new_ref);
        ops[i].new_ref = 0;
      }
    release_all(l, m);
    free(l);
    return rc;
  }
  double ms = now_ms();
  for (size_t i = 0; i < n; i++) {
    rp_map_op_t *o = &ops[i];
    if (o->kind != RP_MAP_OP_SET) continue;
    size_t so = stripe_off(o->stripe);
    uint64_t version = ld64(o->base, so + RP_MAP_ST_WRITES) + 1;
    st64(o->base, so + RP_MAP_ST_WRITES, version);
    fill_entry(o->base, o->new_ref, o->hash, version, ms, o->key, o->klen, o->val, o->vlen);
  }
  for (size_t j = 0; j < m; j++) write_begin(l[j].base, l[j].s);
  for (size_t i = 0; i < n; i++) {
    rp_map_op_t *o = &ops[i];
    if (o->kind == RP_MAP_OP_READ) continue;
    size_t link, so = stripe_off(o->stripe);
    uint32_t old = 0;
    /* Found again: earlier ops of this commit may have changed the chain. */
    if (find(o->base, o->len, o->hash, o->key, o->klen, &link, &old) != 0) continue; /* checked above */
    o->old_ref = old;
    if (o->kind == RP_MAP_OP_SET) {
      st32(o->base, entry_off(o->new_ref), old != 0 ? ld32(o->base, entry_off(old)) : ld32(o->base, link));
      st32(o->base, link, o->new_ref);
      if (old == 0) st32(o->base, so + RP_MAP_ST_COUNT, ld32(o->base, so + RP_MAP_ST_COUNT) + 1);
    } else if (old != 0) {
      st32(o->base, link, ld32(o->base, entry_off(old)));
      st32(o->base, so + RP_MAP_ST_COUNT, ld32(o->base, so + RP_MAP_ST_COUNT) - 1);
      st64(o->base, so + RP_MAP_ST_WRITES, ld64(o->base, so + RP_MAP_ST_WRITES) + 1);
    }
  }
  for (size_t j = 0; j < m; j++) write_end(l[j].base, l[j].s, ms);
  for (size_t i = 0; i < n; i++)
    if (ops[i].kind != RP_MAP_OP_READ && ops[i].old_ref != 0)
      rp_arena_free(ops[i].base, ops[i].len, RP_MAP_OFF_ARENA, ops[i].old_ref);
  release_all(l, m);
  for (size_t j = 0; j < m; j++) notify_change(l[j].base, l[j].s);
  free(l);
  return 0;
}
