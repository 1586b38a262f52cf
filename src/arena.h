/*
 * arena.h - variable-size block allocator over a region of caller memory (a growable
 * SharedArrayBuffer), used by SharedMap (map.c) and SharedQueue (squeue.c). Lock-free:
 * one Treiber free list per size class (index + ABA tag in one 64-bit word, as slots.h) and
 * a bump pointer for memory never used yet. No N-API here.
 *
 * The region grows (JS calls SharedArrayBuffer.prototype.grow; the base address stays the
 * same), so every function takes `len`, the byte length the caller currently sees. The
 * allocator never touches memory at or past `len`; when the bump pointer needs more it
 * answers RP_ARENA_GROW with the length it needs, and the caller grows the buffer (up to
 * the arena's `limit`) and tries again. Beyond `limit` it answers RP_EFULL.
 *
 * LAYOUT (byte offsets from the arena header `hdr`, which the owner structure places at a
 * multiple of RP_CACHELINE; every offset below is from base)
 *   hdr +   0  top    u64  bump pointer: next never-used byte, a multiple of 8
 *   hdr +   8  live   u64  bytes held by allocated blocks (statistics; may lag)
 *   hdr +  16  limit  u64  the region never grows past this (read-only after init)
 *   hdr +  24  start  u64  first byte of the data area (read-only after init)
 *   hdr + 128  heads  RP_ARENA_CLASSES x u64: free-list top of each class, low 32 bits the
 *                     block's ref (RP_ARENA_NIL = empty), high 32 bits a tag bumped by
 *                     every successful CAS
 *   Blocks live in [start, top). A block at byte offset o (a multiple of 8) has a ref
 *   o / 8 and is { u32 head; u32 next; payload }: head = RP_ARENA_ALLOCATED | class while
 *   allocated, class while free; next links the free list. Block size is class_size(class):
 *   (4 + (c & 3)) << ((c >> 2) + 3), i.e. 32, 40, 48, 56, 64, 80, ... (four sizes per power
 *   of two, at most 25% slack). Payload = size - 8 bytes, 8-byte aligned.
 *
 * INVARIANTS
 *   Writers: top: alloc (CAS, only upward). heads[c]: alloc and free (CAS). block head: the
 *     allocating thread (after its pop or bump), the freeing thread (CAS allocated -> free,
 *     which is what makes a double free detectable). block next: the freeing thread before
 *     its push. Payload: the thread that holds the block allocated (readers that may look
 *     at a freed block, e.g. seqlock readers of map.c, use relaxed atomics and validate).
 *   Index domain: refs are u32; every ref read from shared memory is range-checked against
 *     len before use, so corrupted memory yields RP_ELAYOUT, never an access past len.
 *   Full: a class's list is empty and top + size > limit => RP_EFULL.
 *   Linearization: alloc at its successful CAS of heads[c] (pop) or of top (bump); free at
 *     its CAS of the block head (double-free detection) and its push CAS (availability).
 *   Memory in [start, top) only grows; freed blocks return to their class list (no
 *   coalescing): a workload whose value sizes keep changing can exhaust `limit` although
 *   `live` is smaller. SharedMap.memory reports `used` (live) beside `allocated` (the length).
 *
 * CONCURRENCY
 *   rp_arena_init       nothing (before the region is shared)
 *   rp_arena_alloc      any allocs and frees on any threads
 *   rp_arena_free       any allocs and frees; two frees of one block: one gets RP_ESTATE
 *   Orderings: a pop's CAS is acquire and a push's CAS is release (A1/R1 below), so a block
 *   handed from a freeing thread to an allocating one carries the freer's writes with it.
 */
#ifndef RP_ARENA_H
#define RP_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define RP_ARENA_CLASSES 112
#define RP_ARENA_HEADER_BYTES (RP_CACHELINE + RP_ARENA_CLASSES * 8)
#define RP_ARENA_NIL 0xFFFFFFFFu
#define RP_ARENA_ALLOCATED 0x80000000u
#define RP_ARENA_BLOCK_HEAD 8
/* Largest region an arena can span: refs are u32 units of 8 bytes, and JS lengths stay exact. */
#define RP_ARENA_MAX_LIMIT ((uint64_t)1 << 31)

#define RP_ARENA_OFF_TOP 0
#define RP_ARENA_OFF_LIVE 8
#define RP_ARENA_OFF_LIMIT 16
#define RP_ARENA_OFF_START 24
#define RP_ARENA_OFF_HEADS RP_CACHELINE

/* Positive outcome of rp_arena_alloc: the region must first grow to *need bytes. */
#define RP_ARENA_GROW 1

/* Formats the arena header at base + hdr; blocks start at `start` (a multiple of 8, past the
 * header), the region may grow up to `limit` (<= RP_ARENA_MAX_LIMIT). RP_ERANGE otherwise. */
int rp_arena_init(void *base, size_t hdr, uint64_t start, uint64_t limit);

/* Block size (header included) that serves a payload of n bytes, or 0 if none can. */
uint64_t rp_arena_block_size(uint64_t payload);

/* Allocates a block with at least `payload` bytes: 0 and *ref; RP_ARENA_GROW and *need
 * (the byte length the region needs; nothing was allocated); RP_EFULL when even a region
 * grown to limit has no room; RP_ETOOBIG when the payload can never fit; RP_ELAYOUT on
 * detected corruption. */
int rp_arena_alloc(void *base, size_t len, size_t hdr, uint64_t payload, uint32_t *ref, uint64_t *need);

/* Frees block ref: 0; RP_ESTATE if it is not allocated; RP_ELAYOUT if ref is not a block. */
int rp_arena_free(void *base, size_t len, size_t hdr, uint32_t ref);

/* Nonzero if ref is the start of a block that is currently allocated (for repair code). */
int rp_arena_is_allocated(const void *base, size_t len, size_t hdr, uint32_t ref);

/* Payload address and payload capacity of block ref (no checks beyond the caller's). */
static inline uint8_t *rp_arena_payload(void *base, uint32_t ref) {
  return (uint8_t *)base + (size_t)ref * 8 + RP_ARENA_BLOCK_HEAD;
}

/* Snapshot statistics: bytes in allocated blocks, bytes ever bump-allocated (top - start). */
void rp_arena_stats(const void *base, size_t hdr, uint64_t *live, uint64_t *used, uint64_t *top);

#endif
