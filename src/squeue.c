/* squeue.c - SharedQueue core: a ring of wide slots with an exact item budget (see squeue.h). */
#include "squeue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "vyukov.h"
#include "wait.h"

#define P8(b, off) ((uint8_t *)(uintptr_t)(b) + (off))
#define A32(b, off) RP_AU32(P8(b, off))

static_assert(RP_SQUEUE_OFF_HEADER_BYTES + 4 <= RP_CACHELINE, "block R fits");
static_assert(RP_SQUEUE_OFF_MAX_BYTES % 8 == 0, "max_bytes aligned");
static_assert(RP_SQUEUE_SLOTS_AT % RP_CACHELINE == 0, "slots start on a block");
static_assert(RP_SQUEUE_OFF_NOT_EMPTY_WAITERS + RP_CACHELINE == RP_SQUEUE_SLOTS_AT, "blocks before the slots");
static_assert(RP_SQUEUE_WIDE_SLOT % 8 == 0 && RP_SQUEUE_NARROW_SLOT == RP_SQUEUE_SLOT_HEAD, "slot sizes");
/* Refs are byte offsets / 8 below RP_ARENA_MAX_LIMIT / 8 = 2^28: the REF bit is free. */
static_assert(RP_ARENA_MAX_LIMIT / 8 <= RP_SQUEUE_INFO_REF, "refs fit beside the REF bit");
/* Differences of positions (and of half-step sequence numbers) stay far from 2^31. */
static_assert(RP_SQUEUE_MAX_CAPACITY <= (1u << 24), "capacity bound keeps differences small");

/* relaxed accessors for fields that are read-only after init (published to other threads by
 * whatever handed them the buffer). */
static inline uint32_t ro32(const void *b, size_t off) { return atomic_load_explicit(A32(b, off), memory_order_relaxed); }
static inline uint64_t ro64(const void *b, size_t off) {
  return atomic_load_explicit(RP_A64(P8(b, off)), memory_order_relaxed);
}
static inline size_t arena_of(const void *b) { return ro32(b, RP_SQUEUE_OFF_ARENA); }
static inline uint8_t *slot_at(const void *b, uint32_t pos) {
  uint32_t mask = ro32(b, RP_SQUEUE_OFF_RING_CAPACITY) - 1;
  return P8(b, RP_SQUEUE_SLOTS_AT + (size_t)(pos & mask) * ro32(b, RP_SQUEUE_OFF_SLOT_BYTES));
}

static uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

static uint64_t arena_at(uint32_t ring_cap, uint32_t slot_bytes) {
  uint64_t end = RP_SQUEUE_SLOTS_AT + (uint64_t)ring_cap * slot_bytes;
  return (end + RP_CACHELINE - 1) & ~(uint64_t)(RP_CACHELINE - 1);
}

uint32_t rp_squeue_slot_bytes(uint32_t capacity, uint64_t max_bytes) {
  if (capacity < 1 || capacity > RP_SQUEUE_MAX_CAPACITY) return 0;
  uint32_t rc = pow2_at_least(capacity);
  if (rc <= RP_SQUEUE_INLINE_MAX_RING && (uint64_t)rc * RP_SQUEUE_WIDE_SLOT <= max_bytes / 4) return RP_SQUEUE_WIDE_SLOT;
  return RP_SQUEUE_NARROW_SLOT;
}

uint64_t rp_squeue_header_bytes(uint32_t capacity, uint64_t max_bytes) {
  uint32_t sb = rp_squeue_slot_bytes(capacity, max_bytes);
  if (sb == 0) return 0;
  return arena_at(pow2_at_least(capacity), sb) + RP_ARENA_HEADER_BYTES;
}

int rp_squeue_init(void *base, size_t len, uint32_t capacity, uint64_t max_bytes) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  uint64_t hb = rp_squeue_header_bytes(capacity, max_bytes);
  if (hb == 0 || len < hb || max_bytes < len || max_bytes > RP_ARENA_MAX_LIMIT) return RP_ERANGE;
  uint32_t rcap = pow2_at_least(capacity), sb = rp_squeue_slot_bytes(capacity, max_bytes);
  uint64_t ao = arena_at(rcap, sb);
  memset(base, 0, (size_t)ao);
  uint8_t *b = base;
  uint32_t u;
  u = RP_SQUEUE_MAGIC; memcpy(b + 0, &u, 4);
  u = RP_SQUEUE_VERSION; memcpy(b + 4, &u, 4);
  memcpy(b + RP_SQUEUE_OFF_CAPACITY, &capacity, 4);
  memcpy(b + RP_SQUEUE_OFF_RING_CAPACITY, &rcap, 4);
  memcpy(b + RP_SQUEUE_OFF_MAX_BYTES, &max_bytes, 8);
  memcpy(b + RP_SQUEUE_OFF_SLOT_BYTES, &sb, 4);
  u = (uint32_t)ao; memcpy(b + RP_SQUEUE_OFF_ARENA, &u, 4);
  u = (uint32_t)hb; memcpy(b + RP_SQUEUE_OFF_HEADER_BYTES, &u, 4);
  for (uint32_t i = 0; i < rcap; i++) {
    /* relaxed: initial state, published by whatever hands the buffer to other threads. */
    atomic_store_explicit(RP_AU32(b + RP_SQUEUE_SLOTS_AT + (size_t)i * sb), 2u * i, memory_order_relaxed);
  }
  return rp_arena_init(base, (size_t)ao, hb, max_bytes);
}

int rp_squeue_check(const void *base, size_t len, rp_squeue_info_t *info) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (len < RP_SQUEUE_SLOTS_AT) return RP_ELAYOUT;
  const uint8_t *b = base;
  uint32_t magic, version, cap, rcap, hb, sb, ao;
  uint64_t max;
  memcpy(&magic, b, 4);
  memcpy(&version, b + 4, 4);
  memcpy(&cap, b + RP_SQUEUE_OFF_CAPACITY, 4);
  memcpy(&rcap, b + RP_SQUEUE_OFF_RING_CAPACITY, 4);
  memcpy(&max, b + RP_SQUEUE_OFF_MAX_BYTES, 8);
  memcpy(&sb, b + RP_SQUEUE_OFF_SLOT_BYTES, 4);
  memcpy(&ao, b + RP_SQUEUE_OFF_ARENA, 4);
  memcpy(&hb, b + RP_SQUEUE_OFF_HEADER_BYTES, 4);
  if (magic != RP_SQUEUE_MAGIC || version != RP_SQUEUE_VERSION) return RP_ELAYOUT;
  if (cap < 1 || cap > RP_SQUEUE_MAX_CAPACITY || rcap != pow2_at_least(cap)) return RP_ELAYOUT;
  if (max > RP_ARENA_MAX_LIMIT || sb != rp_squeue_slot_bytes(cap, max) || ao != arena_at(rcap, sb)) return RP_ELAYOUT;
  if (hb != rp_squeue_header_bytes(cap, max) || hb > len || max < len) return RP_ELAYOUT;
  if (info) {
    info->capacity = cap;
    info->ring_capacity = rcap;
    info->max_bytes = max;
    info->header_bytes = hb;
    info->slot_bytes = sb;
    info->arena_off = ao;
  }
  return 0;
}

static inline uint64_t pad8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* Wakes sleepers of one side: bump its seq word, then notify (SLEEPING in squeue.h). */
static void wake(void *b, size_t off_seq, uint32_t count) {
  _Atomic int32_t *cell = RP_A32(P8(b, off_seq));
  atomic_fetch_add_explicit(cell, 1, memory_order_seq_cst);
  rp_notify(cell, count);
}

/* After count dropped (reserved down or released up, seq_cst): wakes producers waiting for
 * room. Same protocol as ring.h SLEEPING: change, fence, then look for registered waiters. */
static void room_changed(void *b) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(RP_A32(P8(b, RP_SQUEUE_OFF_ROOM_WAITERS)), memory_order_seq_cst) != 0)
    wake(b, RP_SQUEUE_OFF_ROOM_SEQ, UINT32_MAX);
}

/* An enqueue gives back k places it reserved. */
static void unreserve(void *b, uint32_t k) {
  atomic_fetch_sub_explicit(A32(b, RP_SQUEUE_OFF_RESERVED), k, memory_order_seq_cst);
  room_changed(b);
}

/* Copies n bytes of caller memory into shared memory at p (8-aligned, room for pad8(n)). */
static void put_bytes(uint8_t *p, const uint8_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    memcpy(&w, src + i, n - i < 8 ? n - i : 8);
    /* relaxed: the memory is the writer's alone; the publishing store (R1) orders it. */
    atomic_store_explicit(RP_A64(p + i), w, memory_order_relaxed);
  }
}

/* Copies n bytes of shared memory at p (8-aligned, readable up to pad8(n)) out. */
static void get_bytes(uint8_t *out, const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i += 8) {
    /* relaxed: the reader owns the record (A2 acquired it) or validates afterwards (peek). */
    uint64_t w = atomic_load_explicit(RP_A64((uint8_t *)(uintptr_t)p + i), memory_order_relaxed);
    memcpy(out + i, &w, n - i < 8 ? n - i : 8);
  }
}

/* rp_vy_claim on this queue's ring: cursor_off is the tail (producers, half 0) or the head
 * (consumers, half 1). */
static int claim(void *b, size_t cursor_off, uint32_t half, rp_vy_behind_t behind, uint32_t *pos, uint8_t **s) {
  return rp_vy_claim(A32(b, cursor_off), P8(b, RP_SQUEUE_SLOTS_AT), ro32(b, RP_SQUEUE_OFF_RING_CAPACITY) - 1,
                     ro32(b, RP_SQUEUE_OFF_SLOT_BYTES), half, behind, pos, s);
}

/* Claims the next position and stores one record (info, and inline bytes when src != NULL).
 * The caller holds a reservation, so a slot still in use is left by its consumer soon. */
static int push_one(void *b, uint32_t info, const uint8_t *src, uint32_t l) {
  uint32_t pos;
  uint8_t *s;
  /* A slot a lap behind is still held by the previous lap's consumer (see INVARIANTS),
   * which frees it within a few instructions: wait for its R2. */
  int rc = claim(b, RP_SQUEUE_OFF_TAIL, 0, RP_VY_WAIT, &pos, &s);
  if (rc != 0) return rc;
  /* relaxed: the slot is ours between C1 and R1. */
  atomic_store_explicit(RP_AU32(s + 4), info, memory_order_relaxed);
  if (src != NULL) put_bytes(s + RP_SQUEUE_SLOT_HEAD, src, l);
  /* R1 release: publishes info and bytes; pairs with A2 in rp_squeue_pop and peek. */
  atomic_store_explicit(RP_AU32(s), 2u * pos + 1u, memory_order_release);
  atomic_thread_fence(memory_order_seq_cst); /* F_p */
  if (atomic_load_explicit(RP_A32(P8(b, RP_SQUEUE_OFF_NOT_EMPTY_WAITERS)), memory_order_seq_cst) != 0)
    wake(b, RP_SQUEUE_OFF_NOT_EMPTY_SEQ, 1);
  return 0;
}

int rp_squeue_enqueue(void *base, size_t len, size_t n, const uint8_t *const *recs, const uint32_t *lens,
                      uint64_t *need) {
  if (n == 0) return 0;
  uint32_t cap = ro32(base, RP_SQUEUE_OFF_CAPACITY);
  if (n > cap) return RP_SQUEUE_FULL;
  if (atomic_load_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), memory_order_seq_cst) != 0) return RP_ESTATE;
  _Atomic uint32_t *reserved = A32(base, RP_SQUEUE_OFF_RESERVED);
  _Atomic uint32_t *released = A32(base, RP_SQUEUE_OFF_RELEASED);
  uint32_t r = atomic_load_explicit(reserved, memory_order_seq_cst);
  for (;;) {
    /* seq_cst (both loads, reserved first): "full" is decided on these (INVARIANTS count). */
    int32_t c = (int32_t)(r - atomic_load_explicit(released, memory_order_seq_cst));
    if (c < 0) { /* reserved moved on since r was read (see INVARIANTS): read it again */
      r = atomic_load_explicit(reserved, memory_order_seq_cst);
      continue;
    }
    if ((uint32_t)c > cap || cap - (uint32_t)c < n) return RP_SQUEUE_FULL;
    if (atomic_compare_exchange_weak_explicit(reserved, &r, r + (uint32_t)n, memory_order_seq_cst,
                                              memory_order_seq_cst))
      break;
  }
  size_t hdr = arena_of(base);
  uint32_t inline_max = ro32(base, RP_SQUEUE_OFF_SLOT_BYTES) - RP_SQUEUE_SLOT_HEAD;
  uint32_t local[64];
  uint32_t *refs = n <= 64 ? local : malloc(n * sizeof *refs);
  if (refs == NULL) {
    unreserve(base, (uint32_t)n);
    return RP_ENOMEM;
  }
  /* Blocks first (all records or none), then the ring. */
  size_t got = 0;
  int rc = 0;
  for (; got < n; got++) {
    uint32_t l = lens[got];
    if (l <= inline_max) {
      refs[got] = 0;
      continue;
    }
    rc = rp_arena_alloc(base, len, hdr, 8 + (uint64_t)l, &refs[got], need);
    if (rc != 0) break;
    uint8_t *p = P8(base, (size_t)refs[got] * 8 + RP_ARENA_BLOCK_HEAD);
    /* relaxed (all): the block is ours; the ring's R1 publishes it. */
    atomic_store_explicit(RP_AU32(p), l, memory_order_relaxed);
    atomic_store_explicit(RP_AU32(p + 4), 0, memory_order_relaxed);
    put_bytes(p + 8, recs[got], l);
  }
  if (rc != 0) {
    for (size_t i = 0; i < got; i++)
      if (refs[i] != 0) rp_arena_free(base, len, hdr, refs[i]);
    unreserve(base, (uint32_t)n);
  } else {
    for (size_t i = 0; i < n && rc == 0; i++) {
      if (refs[i] != 0) rc = push_one(base, RP_SQUEUE_INFO_REF | refs[i], NULL, 0);
      else rc = push_one(base, lens[i], recs[i], lens[i]);
    }
  }
  if (refs != local) free(refs);
  return rc;
}

int rp_squeue_pop(void *base, uint32_t *out) {
  uint8_t *s;
  /* A2 (in rp_vy_claim) pairs with R1 in push_one; C2 is the linearization point of a pop. */
  int rc = claim(base, RP_SQUEUE_OFF_HEAD, 1, RP_VY_FENCE_REPORT, out, &s);
  return rc == RP_VY_BEHIND ? RP_SQUEUE_EMPTY : rc;
}

/* The record of block ref: length, bytes copied if they fit. */
static int read_block(const void *base, size_t len, uint32_t ref, uint8_t *out, size_t cap, uint32_t *n,
                      uint64_t *need) {
  uint64_t off = (uint64_t)ref * 8 + RP_ARENA_BLOCK_HEAD;
  uint64_t max = ro64(base, RP_SQUEUE_OFF_MAX_BYTES);
  if ((uint64_t)ref * 8 < ro32(base, RP_SQUEUE_OFF_HEADER_BYTES) || off + 8 > max) return RP_ELAYOUT;
  if (off + 8 > len) {
    *need = off + 8;
    return RP_ARENA_GROW;
  }
  /* relaxed: peek validates afterwards; a consumer owns the popped block (A2). */
  uint32_t l = atomic_load_explicit(RP_AU32(P8(base, off)), memory_order_relaxed);
  if (off + 8 + pad8(l) > max) return RP_ELAYOUT;
  if (off + 8 + pad8(l) > len) {
    *need = off + 8 + pad8(l);
    return RP_ARENA_GROW;
  }
  *n = l;
  if (l <= cap) get_bytes(out, P8(base, off + 8), l);
  return 0;
}

/* The record in slot s whose info word is info. */
static int read_slot(const void *base, size_t len, const uint8_t *s, uint32_t info, uint8_t *out, size_t cap,
                     uint32_t *n, uint64_t *need) {
  if (info & RP_SQUEUE_INFO_REF) return read_block(base, len, info & ~RP_SQUEUE_INFO_REF, out, cap, n, need);
  if (info > ro32(base, RP_SQUEUE_OFF_SLOT_BYTES) - RP_SQUEUE_SLOT_HEAD) return RP_ELAYOUT;
  *n = info;
  if (info <= cap) get_bytes(out, s + RP_SQUEUE_SLOT_HEAD, info);
  return 0;
}

int rp_squeue_read(const void *base, size_t len, uint32_t pos, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need) {
  const uint8_t *s = slot_at(base, pos);
  /* relaxed: the slot is the caller's between its C2 and its R2 (A2 acquired it). */
  uint32_t info = atomic_load_explicit(RP_AU32((uint8_t *)(uintptr_t)s + 4), memory_order_relaxed);
  return read_slot(base, len, s, info, out, cap, n, need);
}

int rp_squeue_release(void *base, size_t len, uint32_t pos) {
  uint8_t *s = slot_at(base, pos);
  uint32_t rcap = ro32(base, RP_SQUEUE_OFF_RING_CAPACITY);
  /* relaxed: the slot is ours (see rp_squeue_read). */
  uint32_t info = atomic_load_explicit(RP_AU32(s + 4), memory_order_relaxed);
  int rc = 0;
  if (info & RP_SQUEUE_INFO_REF) rc = rp_arena_free(base, len, arena_of(base), info & ~RP_SQUEUE_INFO_REF);
  /* R2 release: our reads of the slot are done; it is free for position pos + ring_capacity.
   * Pairs with A1 in push_one. */
  atomic_store_explicit(RP_AU32(s), 2u * (pos + rcap), memory_order_release);
  /* Chain rule (SLEEPING): a consumer may sleep although the next position is ready. */
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(RP_A32(P8(base, RP_SQUEUE_OFF_NOT_EMPTY_WAITERS)), memory_order_seq_cst) != 0) {
    /* relaxed (both): a hint read after the fence; a wrong guess costs a spurious wake-up. */
    uint32_t h = atomic_load_explicit(A32(base, RP_SQUEUE_OFF_HEAD), memory_order_relaxed);
    uint32_t seq = atomic_load_explicit(RP_AU32(slot_at(base, h)), memory_order_relaxed);
    if (seq == 2u * h + 1u) wake(base, RP_SQUEUE_OFF_NOT_EMPTY_SEQ, 1);
  }
  atomic_fetch_add_explicit(A32(base, RP_SQUEUE_OFF_RELEASED), 1, memory_order_seq_cst);
  room_changed(base);
  return rc;
}

int rp_squeue_peek(const void *base, size_t len, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need) {
  _Atomic uint32_t *head = A32(base, RP_SQUEUE_OFF_HEAD);
  for (;;) {
    /* relaxed: only a guess; the seq load below decides, the reloads after F validate. */
    uint32_t h = atomic_load_explicit(head, memory_order_relaxed);
    const uint8_t *s = slot_at(base, h);
    _Atomic uint32_t *seq = RP_AU32((uint8_t *)(uintptr_t)s);
    uint32_t sq = atomic_load_explicit(seq, memory_order_acquire); /* A: pairs with R1 in push_one */
    if (sq != 2u * h + 1u) {
      /* Not published yet, or already taken: if head moved, look again; else empty. */
      /* relaxed: a hint; either way the next round's seq load decides. */
      if (atomic_load_explicit(head, memory_order_relaxed) != h) continue;
      return RP_SQUEUE_EMPTY;
    }
    /* relaxed: ordered by the seq load; validated below. */
    uint32_t info = atomic_load_explicit(RP_AU32((uint8_t *)(uintptr_t)s + 4), memory_order_relaxed);
    int rc = read_slot(base, len, s, info, out, cap, n, need);
    /* F acquire fence, then relaxed reloads: the copy is good only if nobody claimed the
     * record meanwhile (its slot and block are reused only after a claim moves head). */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(head, memory_order_relaxed) != h || atomic_load_explicit(seq, memory_order_relaxed) != sq)
      continue;
    return rc;
  }
}

void rp_squeue_close(void *base) {
  atomic_store_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), 1, memory_order_seq_cst);
  wake(base, RP_SQUEUE_OFF_NOT_EMPTY_SEQ, UINT32_MAX);
  wake(base, RP_SQUEUE_OFF_ROOM_SEQ, UINT32_MAX);
}

int rp_squeue_closed(const void *base) {
  return atomic_load_explicit(A32(base, RP_SQUEUE_OFF_CLOSED), memory_order_seq_cst) != 0;
}

uint32_t rp_squeue_clear(void *base, size_t len) {
  uint32_t n = 0, pos;
  while (rp_squeue_pop(base, &pos) == 0) {
    rp_squeue_release(base, len, pos);
    n++;
  }
  return n;
}

uint32_t rp_squeue_size(const void *base) {
  /* count = reserved - released (INVARIANTS): places in use, so capacity - size never
   * overstates a lone producer's room. seq_cst, released first: every release it counts
   * belongs to a reservation the later load of reserved counts too (not negative). */
  uint32_t rel = atomic_load(A32(base, RP_SQUEUE_OFF_RELEASED));
  uint32_t r = atomic_load(A32(base, RP_SQUEUE_OFF_RESERVED));
  int32_t n = (int32_t)(r - rel);
  uint32_t cap = ro32(base, RP_SQUEUE_OFF_CAPACITY);
  if (n < 0) return 0;
  return (uint32_t)n > cap ? cap : (uint32_t)n;
}
