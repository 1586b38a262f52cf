/* squeue.c - SharedQueue core: ring of arena refs with an exact item budget (see squeue.h). */
#include "squeue.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "wait.h"

#define P8(b, off) ((uint8_t *)(uintptr_t)(b) + (off))
#define A32(b, off) RP_AU32(P8(b, off))

static_assert(RP_SQUEUE_OFF_HEADER_BYTES + 4 <= RP_CACHELINE, "block R fits");
static_assert(RP_SQUEUE_OFF_MAX_BYTES % 8 == 0, "max_bytes aligned");
static_assert(RP_SQUEUE_RING_AT % 8 == 0, "ring aligned");

/* relaxed accessors for fields that are read-only after init. */
static inline uint32_t ro32(const void *b, size_t off) { return atomic_load_explicit(A32(b, off), memory_order_relaxed); }
static inline uint64_t ro64(const void *b, size_t off) {
  return atomic_load_explicit(RP_A64(P8(b, off)), memory_order_relaxed);
}
static inline void *ring_of(const void *b) { return P8(b, RP_SQUEUE_RING_AT); }
static inline size_t arena_of(const void *b) { return ro32(b, RP_SQUEUE_OFF_ARENA); }

static uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

static uint64_t arena_at(uint32_t ring_cap) {
  size_t rb = 0;
  if (rp_ring_bytes(ring_cap, &rb) != 0) return 0;
  uint64_t end = RP_SQUEUE_RING_AT + (uint64_t)rb;
  return (end + RP_CACHELINE - 1) & ~(uint64_t)(RP_CACHELINE - 1);
}

uint64_t rp_squeue_header_bytes(uint32_t capacity) {
  if (capacity < 1 || capacity > RP_SQUEUE_MAX_CAPACITY) return 0;
  uint64_t a = arena_at(pow2_at_least(capacity));
  return a == 0 ? 0 : a + RP_ARENA_HEADER_BYTES;
}

int rp_squeue_init(void *base, size_t len, uint32_t capacity, uint64_t max_bytes) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  uint64_t hb = rp_squeue_header_bytes(capacity);
  if (hb == 0 || len < hb || max_bytes < len || max_bytes > RP_ARENA_MAX_LIMIT) return RP_ERANGE;
  uint32_t rc_ = pow2_at_least(capacity);
  uint64_t ao = arena_at(rc_);
  memset(base, 0, RP_SQUEUE_RING_AT);
  uint8_t *b = base;
  uint32_t u;
  u = RP_SQUEUE_MAGIC; memcpy(b + 0, &u, 4);
  u = RP_SQUEUE_VERSION; memcpy(b + 4, &u, 4);
  memcpy(b + RP_SQUEUE_OFF_CAPACITY, &capacity, 4);
  memcpy(b + RP_SQUEUE_OFF_RING_CAPACITY, &rc_, 4);
  memcpy(b + RP_SQUEUE_OFF_MAX_BYTES, &max_bytes, 8);
  u = RP_SQUEUE_RING_AT; memcpy(b + RP_SQUEUE_OFF_RING, &u, 4);
  u = (uint32_t)ao; memcpy(b + RP_SQUEUE_OFF_ARENA, &u, 4);
  u = (uint32_t)hb; memcpy(b + RP_SQUEUE_OFF_HEADER_BYTES, &u, 4);
  int rc = rp_ring_init(b + RP_SQUEUE_RING_AT, (size_t)(ao - RP_SQUEUE_RING_AT), rc_);
  if (rc != 0) return rc;
  return rp_arena_init(base, (size_t)ao, hb, max_bytes);
}

int rp_squeue_check(const void *base, size_t len, rp_squeue_info_t *info) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (len < RP_SQUEUE_RING_AT) return RP_ELAYOUT;
  const uint8_t *b = base;
  uint32_t magic, version, cap, rcap, hb;
  uint64_t max;
  memcpy(&magic, b, 4);
  memcpy(&version, b + 4, 4);
  memcpy(&cap, b + RP_SQUEUE_OFF_CAPACITY, 4);
  memcpy(&rcap, b + RP_SQUEUE_OFF_RING_CAPACITY, 4);
  memcpy(&max, b + RP_SQUEUE_OFF_MAX_BYTES, 8);
  memcpy(&hb, b + RP_SQUEUE_OFF_HEADER_BYTES, 4);
  if (magic != RP_SQUEUE_MAGIC || version != RP_SQUEUE_VERSION) return RP_ELAYOUT;
  if (cap < 1 || cap > RP_SQUEUE_MAX_CAPACITY || rcap != pow2_at_least(cap)) return RP_ELAYOUT;
  if (hb != rp_squeue_header_bytes(cap) || hb > len || max < len || max > RP_ARENA_MAX_LIMIT) return RP_ELAYOUT;
  uint32_t ring_cap = 0;
  size_t rb = 0;
  if (rp_ring_bytes(rcap, &rb) != 0 || rp_ring_check(b + RP_SQUEUE_RING_AT, rb, &ring_cap) != 0 || ring_cap != rcap)
    return RP_ELAYOUT;
  if (info) {
    info->capacity = cap;
    info->ring_capacity = rcap;
    info->max_bytes = max;
    info->header_bytes = hb;
  }
  return 0;
}

static inline uint64_t pad8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* Gives back k reserved places and wakes producers waiting for room. */
static void unreserve(void *b, uint32_t k) {
  atomic_fetch_sub_explicit(A32(b, RP_SQUEUE_OFF_COUNT), k, memory_order_seq_cst);
  /* Same protocol as ring.h SLEEPING: decrement, fence, then look for registered waiters. */
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(RP_A32(P8(b, RP_SQUEUE_OFF_ROOM_WAITERS)), memory_order_seq_cst) != 0) {
    _Atomic int32_t *cell = RP_A32(P8(b, RP_SQUEUE_OFF_ROOM_SEQ));
    atomic_fetch_add_explicit(cell, 1, memory_order_seq_cst);
    rp_notify(cell, UINT32_MAX);
  }
}

int rp_squeue_enqueue(void *base, size_t len, size_t n, const uint8_t *const *recs, const uint32_t *lens,
                      uint64_t *need) {
  if (n == 0) return 0;
  uint32_t cap = ro32(base, RP_SQUEUE_OFF_CAPACITY);
  if (n > cap) return RP_SQUEUE_FULL;
  if (atomic_load_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), memory_order_seq_cst) != 0) return RP_ESTATE;
  _Atomic uint32_t *count = A32(base, RP_SQUEUE_OFF_COUNT);
  uint32_t c = atomic_load_explicit(count, memory_order_seq_cst);
  do {
    if (c > cap || cap - c < n) return RP_SQUEUE_FULL;
  } while (!atomic_compare_exchange_weak_explicit(count, &c, c + (uint32_t)n, memory_order_seq_cst,
                                                  memory_order_seq_cst));
  size_t hdr = arena_of(base);
  uint32_t local[64];
  uint32_t *refs = n <= 64 ? local : malloc(n * sizeof *refs);
  if (refs == NULL) {
    unreserve(base, (uint32_t)n);
    return RP_ENOMEM;
  }
  size_t got = 0;
  int rc = 0;
  for (; got < n; got++) {
    const uint8_t *src = recs[got];
    uint32_t l = lens[got];
    rc = rp_arena_alloc(base, len, hdr, 8 + (uint64_t)l, &refs[got], need);
    if (rc != 0) break;
    uint8_t *p = P8(base, (size_t)refs[got] * 8 + RP_ARENA_BLOCK_HEAD);
    /* relaxed (all): the block is ours; the ring push (R1 release in ring.c) publishes it. */
    atomic_store_explicit(RP_AU32(p), l, memory_order_relaxed);
    atomic_store_explicit(RP_AU32(p + 4), 0, memory_order_relaxed);
    for (uint32_t i = 0; i < l; i += 8) {
      uint64_t w = 0;
      memcpy(&w, src + i, l - i < 8 ? l - i : 8);
      atomic_store_explicit(RP_A64(p + 8 + i), w, memory_order_relaxed);
    }
  }
  if (rc != 0) {
    for (size_t i = 0; i < got; i++) rp_arena_free(base, len, hdr, refs[i]);
    unreserve(base, (uint32_t)n);
  } else {
    for (size_t i = 0; i < n && rc == 0; i++) {
      while ((rc = rp_ring_try_push(ring_of(base), refs[i])) == RP_EFULL) rp_cpu_relax(); /* see INVARIANTS */
    }
  }
  if (refs != local) free(refs);
  return rc;
}

int rp_squeue_pop(void *base, uint32_t *ref) {
  int rc = rp_ring_try_pop(ring_of(base), ref);
  return rc == RP_RING_EMPTY ? RP_SQUEUE_EMPTY : rc;
}

static int read_block(const void *base, size_t len, uint32_t ref, uint8_t *out, size_t cap, uint32_t *n,
                      uint64_t *need) {
  uint64_t off = (uint64_t)ref * 8 + RP_ARENA_BLOCK_HEAD;
  uint64_t max = ro64(base, RP_SQUEUE_OFF_MAX_BYTES);
  if ((uint64_t)ref * 8 < ro32(base, RP_SQUEUE_OFF_HEADER_BYTES) || off + 8 > max) return RP_ELAYOUT;
  if (off + 8 > len) {
    *need = off + 8;
    return RP_ARENA_GROW;
  }
  /* relaxed (all): peek validates afterwards; a consumer owns the popped block. */
  uint32_t l = atomic_load_explicit(RP_AU32(P8(base, off)), memory_order_relaxed);
  if (off + 8 + pad8(l) > max) return RP_ELAYOUT;
  if (off + 8 + pad8(l) > len) {
    *need = off + 8 + pad8(l);
    return RP_ARENA_GROW;
  }
  *n = l;
  if (l <= cap) {
    for (uint32_t i = 0; i < l; i += 8) {
      uint64_t w = atomic_load_explicit(RP_A64(P8(base, off + 8 + i)), memory_order_relaxed);
      memcpy(out + i, &w, l - i < 8 ? l - i : 8);
    }
  }
  return 0;
}

int rp_squeue_read(const void *base, size_t len, uint32_t ref, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need) {
  return read_block(base, len, ref, out, cap, n, need);
}

int rp_squeue_release(void *base, size_t len, uint32_t ref) {
  int rc = rp_arena_free(base, len, arena_of(base), ref);
  unreserve(base, 1);
  return rc;
}

int rp_squeue_peek(const void *base, size_t len, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need) {
  uint8_t *r = ring_of(base);
  uint32_t rcap = ro32(r, RP_RING_OFF_CAPACITY);
  _Atomic uint32_t *head = RP_AU32(r + RP_RING_OFF_HEAD);
  for (;;) {
    /* A acquire: pairs with the ring's publishing store, so the block's bytes are visible. */
    uint32_t h = atomic_load_explicit(head, memory_order_acquire);
    _Atomic uint32_t *seq = RP_AU32(r + RP_RING_HEADER_BYTES + (size_t)(h & (rcap - 1)) * RP_RING_SLOT_BYTES);
    uint32_t s = atomic_load_explicit(seq, memory_order_acquire); /* A: pairs with the ring's R1 */
    if (s != 2u * h + 1u) {
      /* Not published yet, or already taken: if head moved, look again; else empty. */
      if (atomic_load_explicit(head, memory_order_acquire) != h) continue;
      return RP_SQUEUE_EMPTY;
    }
    uint32_t ref = atomic_load_explicit(RP_AU32(r + RP_RING_HEADER_BYTES + (size_t)(h & (rcap - 1)) * RP_RING_SLOT_BYTES + 4),
                                        memory_order_relaxed); /* relaxed: ordered by the seq load */
    int rc = read_block(base, len, ref, out, cap, n, need);
    /* F acquire fence, then relaxed reloads: the copy is good only if nobody claimed the
     * record meanwhile (the block is freed only after its claim moves head). */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(head, memory_order_relaxed) != h || atomic_load_explicit(seq, memory_order_relaxed) != s)
      continue;
    return rc;
  }
}

void rp_squeue_close(void *base) {
  atomic_store_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), 1, memory_order_seq_cst);
  uint8_t *r = ring_of(base);
  _Atomic int32_t *ne = RP_A32(r + RP_RING_OFF_NOT_EMPTY_SEQ);
  atomic_fetch_add_explicit(ne, 1, memory_order_seq_cst);
  rp_notify(ne, UINT32_MAX);
  _Atomic int32_t *room = RP_A32(P8(base, RP_SQUEUE_OFF_ROOM_SEQ));
  atomic_fetch_add_explicit(room, 1, memory_order_seq_cst);
  rp_notify(room, UINT32_MAX);
}

int rp_squeue_closed(const void *base) {
  return atomic_load_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), memory_order_seq_cst) != 0;
}

uint32_t rp_squeue_clear(void *base, size_t len) {
  uint32_t n = 0, ref;
  while (rp_squeue_pop(base, &ref) == 0) {
    rp_squeue_release(base, len, ref);
    n++;
  }
  return n;
}

uint32_t rp_squeue_size(const void *base) { return rp_ring_size(ring_of(base)); }
