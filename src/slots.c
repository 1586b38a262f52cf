/* slots.c - slot allocator with a lock-free, ABA-tagged free list (see slots.h). */
#include "slots.h"

#include <string.h>

#include "errors.h"

/* The header as a struct, only to let the compiler prove the documented offsets. */
typedef struct {
  uint32_t magic, version, slot_size, slots, meta_offset, data_offset;
  uint64_t total_bytes;
  uint8_t pad_r[RP_CACHELINE - 32];
  uint64_t head;
  uint32_t avail;
  uint8_t pad_m[RP_CACHELINE - 12];
} rp_slots_layout_t;

typedef struct {
  uint32_t next;
  uint32_t state;
} rp_slots_meta_t;

static_assert(offsetof(rp_slots_layout_t, magic) == RP_SLOTS_OFF_MAGIC, "magic offset");
static_assert(offsetof(rp_slots_layout_t, version) == RP_SLOTS_OFF_VERSION, "version offset");
static_assert(offsetof(rp_slots_layout_t, slot_size) == RP_SLOTS_OFF_SLOT_SIZE, "slot_size offset");
static_assert(offsetof(rp_slots_layout_t, slots) == RP_SLOTS_OFF_SLOTS, "slots offset");
static_assert(offsetof(rp_slots_layout_t, meta_offset) == RP_SLOTS_OFF_META, "meta offset");
static_assert(offsetof(rp_slots_layout_t, data_offset) == RP_SLOTS_OFF_DATA, "data offset");
static_assert(offsetof(rp_slots_layout_t, total_bytes) == RP_SLOTS_OFF_TOTAL_BYTES, "total_bytes offset");
static_assert(offsetof(rp_slots_layout_t, head) == RP_SLOTS_OFF_HEAD, "head offset");
static_assert(offsetof(rp_slots_layout_t, avail) == RP_SLOTS_OFF_AVAIL, "avail offset");
static_assert(sizeof(rp_slots_layout_t) == RP_SLOTS_META_OFFSET, "meta follows the header");
static_assert(RP_SLOTS_OFF_HEAD % 8 == 0, "64-bit head is naturally aligned");
static_assert(sizeof(rp_slots_meta_t) == RP_SLOTS_META_BYTES && offsetof(rp_slots_meta_t, state) == 4,
              "meta entry layout");
static_assert(RP_SLOTS_MAX_SLOTS < RP_SLOTS_NIL, "NIL is never an index");

#define U32_AT(b, off) (*(const uint32_t *)(const void *)((const uint8_t *)(b) + (off)))
#define HEAD_OF(b) RP_A64((uint8_t *)(b) + RP_SLOTS_OFF_HEAD)
#define AVAIL_OF(b) RP_AU32((uint8_t *)(uintptr_t)(b) + RP_SLOTS_OFF_AVAIL)
#define NEXT_OF(b, i) RP_AU32((uint8_t *)(b) + RP_SLOTS_META_OFFSET + (size_t)(i) * RP_SLOTS_META_BYTES)
#define STATE_OF(b, i) RP_AU32((uint8_t *)(b) + RP_SLOTS_META_OFFSET + (size_t)(i) * RP_SLOTS_META_BYTES + 4)

static inline uint64_t pack(uint32_t tag, uint32_t index) { return ((uint64_t)tag << 32) | index; }
static inline uint32_t index_of(uint64_t h) { return (uint32_t)h; }
static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32); }

int rp_slots_bytes(uint32_t slot_size, uint32_t slots, size_t *out, uint32_t *data_offset) {
  if (slot_size < 8 || slot_size > RP_SLOTS_MAX_SLOT_SIZE || slot_size % 8 != 0) return RP_ERANGE;
  if (slots < 1 || slots > RP_SLOTS_MAX_SLOTS) return RP_ERANGE;
  uint64_t meta_end = (uint64_t)RP_SLOTS_META_OFFSET + (uint64_t)slots * RP_SLOTS_META_BYTES;
  uint64_t data = (meta_end + RP_SLOTS_DATA_ALIGN - 1) & ~(uint64_t)(RP_SLOTS_DATA_ALIGN - 1);
  /* slot_size <= 2^30 and slots <= 2^24: the product fits easily in 64 bits. */
  uint64_t total = data + (uint64_t)slot_size * slots;
  if (total > ((uint64_t)1 << 53) - 1 || total > (uint64_t)SIZE_MAX) return RP_ERANGE;
  *out = (size_t)total;
  if (data_offset) *data_offset = (uint32_t)data;
  return 0;
}

int rp_slots_init(void *base, size_t len, uint32_t slot_size, uint32_t slots) {
  size_t need;
  uint32_t data;
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (rp_slots_bytes(slot_size, slots, &need, &data) != 0 || len < need) return RP_ERANGE;
  uint8_t *b = base;
  memset(b, 0, RP_SLOTS_META_OFFSET);
  rp_slots_layout_t *h = base;
  h->version = RP_SLOTS_VERSION;
  h->slot_size = slot_size;
  h->slots = slots;
  h->meta_offset = RP_SLOTS_META_OFFSET;
  h->data_offset = data;
  h->total_bytes = need;
  /* relaxed (all below): initial state, published by I1 and by whatever hands the buffer
   * to other threads. */
  for (uint32_t i = 0; i < slots; i++) {
    atomic_store_explicit(NEXT_OF(b, i), i + 1 < slots ? i + 1 : RP_SLOTS_NIL, memory_order_relaxed);
    atomic_store_explicit(STATE_OF(b, i), 0, memory_order_relaxed);
  }
  atomic_store_explicit(HEAD_OF(b), pack(0, 0), memory_order_relaxed);
  atomic_store_explicit(AVAIL_OF(b), slots, memory_order_relaxed);
  /* I1 release: magic last; pairs with I2 in rp_slots_check. */
  atomic_store_explicit(RP_AU32(b + RP_SLOTS_OFF_MAGIC), RP_SLOTS_MAGIC, memory_order_release);
  return 0;
}

int rp_slots_check(const void *base, size_t len, rp_slots_info_t *info) {
  size_t need;
  uint32_t data;
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (len < RP_SLOTS_META_OFFSET) return RP_ELAYOUT;
  const uint8_t *b = base;
  /* I2 acquire: pairs with I1 in rp_slots_init. */
  uint32_t magic = atomic_load_explicit(RP_AU32((uint8_t *)(uintptr_t)b + RP_SLOTS_OFF_MAGIC), memory_order_acquire);
  if (magic != RP_SLOTS_MAGIC || U32_AT(b, RP_SLOTS_OFF_VERSION) != RP_SLOTS_VERSION ||
      U32_AT(b, RP_SLOTS_OFF_META) != RP_SLOTS_META_OFFSET)
    return RP_ELAYOUT;
  uint32_t slot_size = U32_AT(b, RP_SLOTS_OFF_SLOT_SIZE), slots = U32_AT(b, RP_SLOTS_OFF_SLOTS);
  if (rp_slots_bytes(slot_size, slots, &need, &data) != 0 || len != need || U32_AT(b, RP_SLOTS_OFF_DATA) != data)
    return RP_ELAYOUT;
  if (info) {
    info->slot_size = slot_size;
    info->slots = slots;
    info->data_offset = data;
    info->total_bytes = need;
  }
  return 0;
}

int rp_slots_alloc(void *base, uint32_t *index) {
  uint8_t *b = base;
  const uint32_t slots = U32_AT(b, RP_SLOTS_OFF_SLOTS);
  _Atomic uint64_t *head = HEAD_OF(b);
  /* S1 acquire: synchronizes with the S5 release of the free that pushed the top slot
   * (every later change of head is a CAS, so it continues that release sequence): we see
   * its next link, and its last accesses to the slot's data happen before ours. */
  uint64_t h = atomic_load_explicit(head, memory_order_acquire);
  uint32_t i;
  for (;;) {
    i = index_of(h);
    if (i == RP_SLOTS_NIL) return RP_EFULL;
    if (i >= slots) return RP_ELAYOUT;
    /* relaxed: S1 ordered the link we need; if a concurrent alloc/free rewrote it since,
     * the tag moved too and the CAS below fails. */
    uint32_t next = atomic_load_explicit(NEXT_OF(b, i), memory_order_relaxed);
    /* S2 acquire on success and failure: the value we act on must be acquired, like S1.
     * Our own CAS publishes nothing. */
    if (atomic_compare_exchange_weak_explicit(head, &h, pack(tag_of(h) + 1u, next), memory_order_acquire,
                                              memory_order_acquire))
      break;
  }
  /* relaxed: a counter; the fetch_sub happens-before any free of this slot (S3 -> S4). */
  atomic_fetch_sub_explicit(AVAIL_OF(b), 1, memory_order_relaxed);
  /* S3 release: marks the slot allocated after the counter moved; pairs with S4 in
   * rp_slots_free so that a free's increment can never precede this alloc's decrement. */
  atomic_store_explicit(STATE_OF(b, i), 1, memory_order_release);
  *index = i;
  return 0;
}

int rp_slots_free(void *base, uint32_t index) {
  uint8_t *b = base;
  if (index >= U32_AT(b, RP_SLOTS_OFF_SLOTS)) return RP_ERANGE;
  uint32_t one = 1;
  /* S4 acquire on success: pairs with S3 (see there). Failure relaxed: the slot is not
   * allocated, we change nothing and report it. Exactly one of two racing frees wins. */
  if (!atomic_compare_exchange_strong_explicit(STATE_OF(b, index), &one, 0, memory_order_acquire,
                                               memory_order_relaxed))
    return RP_ESTATE;
  /* relaxed: a counter; incrementing before the push keeps avail >= 0 (slots.h). */
  atomic_fetch_add_explicit(AVAIL_OF(b), 1, memory_order_relaxed);
  _Atomic uint64_t *head = HEAD_OF(b);
  /* relaxed: only the expected value for the CAS, which re-validates it. */
  uint64_t h = atomic_load_explicit(head, memory_order_relaxed);
  for (;;) {
    /* relaxed: published by the S5 release below. */
    atomic_store_explicit(NEXT_OF(b, index), index_of(h), memory_order_relaxed);
    /* S5 release: publishes the link and our last use of the slot's data; pairs with
     * S1/S2 in rp_slots_alloc. Failure relaxed: we only retry with the fresh value. */
    if (atomic_compare_exchange_weak_explicit(head, &h, pack(tag_of(h) + 1u, index), memory_order_release,
                                              memory_order_relaxed))
      return 0;
  }
}

uint32_t rp_slots_available(const void *base) {
  /* relaxed: a snapshot for reporting. */
  return atomic_load_explicit(AVAIL_OF(base), memory_order_relaxed);
}

void *rp_slots_data(void *base, uint32_t index) {
  uint8_t *b = base;
  return b + U32_AT(b, RP_SLOTS_OFF_DATA) + (size_t)index * U32_AT(b, RP_SLOTS_OFF_SLOT_SIZE);
}
