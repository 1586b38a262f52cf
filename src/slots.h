/*
 * slots.h - slot allocator: an arena of `slots` equal blocks of `slot_size` bytes in
 * caller-provided memory (normally a SharedArrayBuffer), with a lock-free free list
 * (Treiber stack) whose head is one 64-bit word holding an index and an ABA tag.
 * No N-API here: the glue (bind_slots.c) validates views and calls these functions.
 *
 * LAYOUT (byte offsets from base; offsets and sizes static_asserted in slots.c)
 *     0  block R  read-only after init: magic 'RPSL', version, slot_size, slots,
 *                 meta_offset, data_offset, total_bytes (u64)
 *   128  block M  head  u64  free-list top: low 32 bits index (RP_SLOTS_NIL = empty),
 *                            high 32 bits tag, +1 on every successful change
 *                 avail u32  number of free slots (see INVARIANTS for its bounds)
 *                 Both are written by every alloc and free, so they share one block:
 *                 one line moves per operation instead of two.
 *   256  meta     slots x { u32 next; u32 state }: free-list link, and 1 while the slot
 *                 is allocated, 0 while free
 *   data_offset   slots x slot_size bytes of user data; data_offset is a multiple of 64
 *                 and slot_size a multiple of 8, so every slot is 8-byte aligned relative to
 *                 base (64-byte aligned when slot_size is a multiple of 64)
 *
 * INVARIANTS
 *   Writers: block R: rp_slots_init only. head: alloc and free (CAS only). avail: alloc
 *     (fetch_sub) and free (fetch_add). meta[i].next: the free that pushes i, before its
 *     CAS. meta[i].state: alloc of i (0 -> 1 after popping it), free of i (CAS 1 -> 0
 *     before pushing it). Data of slot i: only the thread that holds it allocated.
 *   Index domain: 0 <= index < slots <= 2^24; RP_SLOTS_NIL = 0xFFFFFFFF ends the list.
 *     Every index read from shared memory is range-checked before use, so corrupted
 *     memory yields RP_ELAYOUT, never an access outside the region.
 *   Free list: head.index -> meta[].next -> ... -> NIL visits every free slot whose push
 *     has completed exactly once; state == 0 for each of them.
 *   Tag: changes on every successful CAS of head, so a CAS that read (tag, i) fails if the
 *     stack changed in between (ABA would need exactly 2^32 changes during one attempt).
 *   avail: incremented before a free's push and decremented after an alloc's pop, so
 *     0 <= avail <= slots always, and avail >= number of slots on the list (a free in
 *     progress is counted slightly early).
 *   Full / empty: alloc finds head.index == NIL => exhausted (RP_EFULL).
 *   Linearization points: alloc at its successful CAS of head (S2); free at its CAS of
 *     meta[i].state 1 -> 0 (S4) as far as double-free detection goes, and at its CAS of
 *     head (S5) as far as availability goes.
 *
 * CONCURRENCY
 *   operation              may run concurrently with
 *   rp_slots_init          nothing (the buffer is not shared yet)
 *   rp_slots_check         everything (read-only)
 *   rp_slots_alloc         any allocs and frees, on any threads
 *   rp_slots_free          any allocs and frees; two frees of the same index: exactly one
 *                          succeeds, the other gets RP_ESTATE and changes nothing
 *   rp_slots_available     everything (a snapshot)
 *   Handing an allocated index (and its data) to another thread needs the caller's own
 *   release/acquire (a ring push/pop, postMessage, Atomics): the allocator orders the
 *   free -> alloc hand-over of a slot, not the user's later traffic.
 */
#ifndef RP_SLOTS_H
#define RP_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define RP_SLOTS_MAGIC 0x4c535052u /* "RPSL" little-endian */
#define RP_SLOTS_VERSION 1u
#define RP_SLOTS_MAX_SLOTS (1u << 24)
#define RP_SLOTS_MAX_SLOT_SIZE (1u << 30)
#define RP_SLOTS_NIL 0xFFFFFFFFu
#define RP_SLOTS_DATA_ALIGN 64

#define RP_SLOTS_OFF_MAGIC 0
#define RP_SLOTS_OFF_VERSION 4
#define RP_SLOTS_OFF_SLOT_SIZE 8
#define RP_SLOTS_OFF_SLOTS 12
#define RP_SLOTS_OFF_META 16
#define RP_SLOTS_OFF_DATA 20
#define RP_SLOTS_OFF_TOTAL_BYTES 24
#define RP_SLOTS_OFF_HEAD (1 * RP_CACHELINE)
#define RP_SLOTS_OFF_AVAIL (1 * RP_CACHELINE + 8)
#define RP_SLOTS_META_OFFSET (2 * RP_CACHELINE)
#define RP_SLOTS_META_BYTES 8

/* Geometry of a validated arena. */
typedef struct {
  uint32_t slot_size;
  uint32_t slots;
  uint32_t data_offset;
  uint64_t total_bytes;
} rp_slots_info_t;

/* Bytes needed, and where the data starts. RP_ERANGE unless slot_size is a multiple of 8
 * in [8, RP_SLOTS_MAX_SLOT_SIZE], slots in [1, RP_SLOTS_MAX_SLOTS], and the total is at
 * most 2^53 - 1 (exact as a JS number) and fits in size_t. data_offset may be NULL. */
int rp_slots_bytes(uint32_t slot_size, uint32_t slots, size_t *out, uint32_t *data_offset);

/* Formats the region with every slot free. RP_EALIGN unless base is 8-byte aligned;
 * RP_ERANGE for bad sizes or len too small. Must not run concurrently with anything. */
int rp_slots_init(void *base, size_t len, uint32_t slot_size, uint32_t slots);

/* RP_EALIGN / RP_ELAYOUT (wrong magic, version, geometry or len too small); on success
 * fills *info (may be NULL). */
int rp_slots_check(const void *base, size_t len, rp_slots_info_t *info);

/* Takes a free slot: 0 and *index, or RP_EFULL when none is free. Never blocks.
 * RP_ELAYOUT if corrupted memory is detected. */
int rp_slots_alloc(void *base, uint32_t *index);

/* Returns slot `index`: 0; RP_ERANGE when index >= slots; RP_ESTATE when the slot is not
 * allocated (nothing is changed). */
int rp_slots_free(void *base, uint32_t index);

/* Free slots right now (a snapshot, see INVARIANTS). */
uint32_t rp_slots_available(const void *base);

/* Address of slot `index`'s data (no check beyond the caller's). */
void *rp_slots_data(void *base, uint32_t index);

#endif
