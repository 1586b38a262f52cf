/* arena.c - lock-free size-class allocator over a growable region (see arena.h). */
#include "arena.h"

#include "errors.h"

#define AT64(b, off) RP_A64((uint8_t *)(uintptr_t)(b) + (off))
#define AT32(b, off) RP_AU32((uint8_t *)(uintptr_t)(b) + (off))

static inline uint64_t class_size(uint32_t c) { return (uint64_t)(4u + (c & 3u)) << ((c >> 2) + 3u); }

static inline int highest_bit(uint64_t x) {
  int p = 0;
  while (x >>= 1) p++;
  return p;
}

/* Smallest class whose size is >= total (total <= 2^31), see arena.h for the sizes. */
static uint32_t class_for(uint64_t total) {
  if (total <= 32) return 0;
  uint64_t t = total - 1;
  int p = highest_bit(t); /* 2^p <= t < 2^(p+1), p >= 5 */
  uint64_t m = (t >> (p - 2)) - 3; /* 1..4 */
  return (uint32_t)(((uint64_t)(p - 5) << 2) + m);
}

uint64_t rp_arena_block_size(uint64_t payload) {
  if (payload > RP_ARENA_MAX_LIMIT) return 0;
  uint64_t total = (payload + RP_ARENA_BLOCK_HEAD + 7) & ~(uint64_t)7;
  uint32_t c = class_for(total);
  if (c >= RP_ARENA_CLASSES) return 0;
  return class_size(c);
}

int rp_arena_init(void *base, size_t hdr, uint64_t start, uint64_t limit) {
  if (hdr % 8 != 0 || start % 8 != 0 || start < hdr + RP_ARENA_HEADER_BYTES || limit > RP_ARENA_MAX_LIMIT ||
      limit < start)
    return RP_ERANGE;
  /* relaxed (all): initial state, published by whatever hands the buffer to other threads. */
  atomic_store_explicit(AT64(base, hdr + RP_ARENA_OFF_TOP), start, memory_order_relaxed);
  atomic_store_explicit(AT64(base, hdr + RP_ARENA_OFF_LIVE), 0, memory_order_relaxed);
  atomic_store_explicit(AT64(base, hdr + RP_ARENA_OFF_LIMIT), limit, memory_order_relaxed);
  atomic_store_explicit(AT64(base, hdr + RP_ARENA_OFF_START), start, memory_order_relaxed);
  for (uint32_t c = 0; c < RP_ARENA_CLASSES; c++)
    atomic_store_explicit(AT64(base, hdr + RP_ARENA_OFF_HEADS + (size_t)c * 8), RP_ARENA_NIL, memory_order_relaxed);
  return 0;
}

/* Is [ref*8, ref*8 + size) a plausible block inside [start, len)? */
static int block_in_range(const void *base, size_t len, size_t hdr, uint32_t ref, uint64_t size) {
  uint64_t off = (uint64_t)ref * 8;
  /* relaxed: start is read-only after init. */
  uint64_t start = atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_START), memory_order_relaxed);
  return off >= start && off + size <= len && off + size >= off;
}

int rp_arena_alloc(void *base, size_t len, size_t hdr, uint64_t payload, uint32_t *ref, uint64_t *need) {
  uint64_t size = rp_arena_block_size(payload);
  /* relaxed: limit is read-only after init. */
  uint64_t limit = atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_LIMIT), memory_order_relaxed);
  if (size == 0 || size > limit) return RP_ETOOBIG;
  uint32_t c = class_for(size);
  _Atomic uint64_t *head = AT64(base, hdr + RP_ARENA_OFF_HEADS + (size_t)c * 8);
  /* A1 acquire: pairs with R1 in rp_arena_free, so the block's next link (and everything
   * its freer wrote) is visible before we follow it. */
  uint64_t h = atomic_load_explicit(head, memory_order_acquire);
  while ((uint32_t)h != RP_ARENA_NIL) {
    uint32_t r = (uint32_t)h;
    if (!block_in_range(base, len, hdr, r, size)) {
      /* Another thread may have grown the region after our caller read len: a block past
       * len but inside limit means "look again with the current length". */
      uint64_t end = (uint64_t)r * 8 + size;
      if ((uint64_t)r * 8 >= atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_START), memory_order_relaxed) &&
          end <= limit && end > len) {
        *need = end;
        return RP_ARENA_GROW;
      }
      return RP_ELAYOUT;
    }
    /* relaxed: the block may be popped and reused concurrently, so this may read garbage;
     * then the tag has moved and the CAS below fails. */
    uint32_t next = atomic_load_explicit(AT32(base, (size_t)r * 8 + 4), memory_order_relaxed);
    uint64_t nh = ((uint64_t)((uint32_t)(h >> 32) + 1u) << 32) | next;
    /* A1 again on success (acquire), and on failure (it reloads the head we follow). */
    if (atomic_compare_exchange_weak_explicit(head, &h, nh, memory_order_acquire, memory_order_acquire)) {
      /* relaxed: the block is ours now; whoever reads its head later synchronises through
       * the structure that publishes the block. */
      atomic_store_explicit(AT32(base, (size_t)r * 8), RP_ARENA_ALLOCATED | c, memory_order_relaxed);
      atomic_fetch_add_explicit(AT64(base, hdr + RP_ARENA_OFF_LIVE), size, memory_order_relaxed); /* relaxed: statistics */
      *ref = r;
      return 0;
    }
  }
  _Atomic uint64_t *top = AT64(base, hdr + RP_ARENA_OFF_TOP);
  /* relaxed: top only orders itself; the memory it hands out is fresh (zero) or our own. */
  uint64_t t = atomic_load_explicit(top, memory_order_relaxed);
  for (;;) {
    if (t + size > limit) return RP_EFULL;
    if (t + size > len) {
      *need = t + size;
      return RP_ARENA_GROW;
    }
    if (atomic_compare_exchange_weak_explicit(top, &t, t + size, memory_order_relaxed, memory_order_relaxed)) break;
  }
  uint32_t r = (uint32_t)(t / 8);
  atomic_store_explicit(AT32(base, t), RP_ARENA_ALLOCATED | c, memory_order_relaxed); /* relaxed: as above */
  atomic_store_explicit(AT32(base, t + 4), RP_ARENA_NIL, memory_order_relaxed);
  atomic_fetch_add_explicit(AT64(base, hdr + RP_ARENA_OFF_LIVE), size, memory_order_relaxed); /* relaxed: statistics */
  *ref = r;
  return 0;
}

int rp_arena_is_allocated(const void *base, size_t len, size_t hdr, uint32_t ref) {
  if (!block_in_range(base, len, hdr, ref, RP_ARENA_BLOCK_HEAD)) return 0;
  /* relaxed: repair code runs with the structure's lock held; see map.c. */
  uint32_t head = atomic_load_explicit(AT32(base, (size_t)ref * 8), memory_order_relaxed);
  return (head & RP_ARENA_ALLOCATED) != 0;
}

int rp_arena_free(void *base, size_t len, size_t hdr, uint32_t ref) {
  if (!block_in_range(base, len, hdr, ref, RP_ARENA_BLOCK_HEAD)) return RP_ELAYOUT;
  _Atomic uint32_t *bh = AT32(base, (size_t)ref * 8);
  /* relaxed: the CAS below decides. */
  uint32_t head = atomic_load_explicit(bh, memory_order_relaxed);
  for (;;) {
    if ((head & RP_ARENA_ALLOCATED) == 0) return RP_ESTATE;
    uint32_t c = head & 0xFFu;
    if (c >= RP_ARENA_CLASSES || !block_in_range(base, len, hdr, ref, class_size(c))) return RP_ELAYOUT;
    /* relaxed: only the allocated -> free transition is decided here; the push (R1) publishes. */
    if (atomic_compare_exchange_weak_explicit(bh, &head, c, memory_order_relaxed, memory_order_relaxed)) break;
  }
  uint32_t c = head & 0xFFu;
  uint64_t size = class_size(c);
  atomic_fetch_sub_explicit(AT64(base, hdr + RP_ARENA_OFF_LIVE), size, memory_order_relaxed); /* relaxed: statistics */
  _Atomic uint64_t *lh = AT64(base, hdr + RP_ARENA_OFF_HEADS + (size_t)c * 8);
  uint64_t h = atomic_load_explicit(lh, memory_order_relaxed); /* relaxed: the CAS decides */
  for (;;) {
    /* relaxed: published by R1. */
    atomic_store_explicit(AT32(base, (size_t)ref * 8 + 4), (uint32_t)h, memory_order_relaxed);
    uint64_t nh = ((uint64_t)((uint32_t)(h >> 32) + 1u) << 32) | ref;
    /* R1 release: publishes the link and the block's contents; pairs with A1. */
    if (atomic_compare_exchange_weak_explicit(lh, &h, nh, memory_order_release, memory_order_relaxed)) return 0;
  }
}

void rp_arena_stats(const void *base, size_t hdr, uint64_t *live, uint64_t *used, uint64_t *top) {
  /* relaxed (all): statistics snapshot. */
  uint64_t t = atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_TOP), memory_order_relaxed);
  uint64_t s = atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_START), memory_order_relaxed);
  if (live) *live = atomic_load_explicit(AT64(base, hdr + RP_ARENA_OFF_LIVE), memory_order_relaxed);
  if (used) *used = t - s;
  if (top) *top = t;
}
