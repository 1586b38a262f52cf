/*
 * squeue.h - bounded MPMC queue of byte records (SharedQueue) in one growable region: a
 * ring (ring.h) of arena block refs (arena.h) plus an item counter that enforces the exact
 * capacity, a close flag, and a "room" word producers sleep on. No N-API here.
 *
 * LAYOUT (byte offsets from base; blocks of RP_CACHELINE; static_asserted in squeue.c)
 *     0  block R  read-only after init: magic 'RPSQ', version, capacity, ring_capacity (the
 *                 power of two >= capacity), max_bytes u64, ring_off, arena_off, header_bytes
 *   128  block C  count u32: items enqueued or being enqueued, not yet released by a consumer
 *   256  block P  room_seq i32 (bumped when count drops while room_waiters != 0; producers
 *                 wait here), room_waiters i32 (JS Atomics.add)
 *   384  block X  closed u32 (0 -> 1 once)
 *   512  ring     a ring.h ring of ring_capacity u32 values: the refs of the records' blocks
 *   arena_off     arena header (arena.h), then blocks up to the region's current length.
 *   Record block payload: u32 length, u32 0, bytes (zero-padded to 8).
 *
 * INVARIANTS
 *   count: +k by an enqueue of k records before it allocates (CAS, never past capacity),
 *     -k when it gives up, -1 by rp_squeue_release. So ring size <= count <= capacity <=
 *     ring_capacity: a push never meets a full ring except for the instant a consumer is
 *     between its claim and its slot release (ring.h), and then it spins.
 *   Order: records are popped in ring position order; one producer's records get increasing
 *     positions, so every consumer sees each producer's records in the order they were sent.
 *   A record's block is freed by rp_squeue_release, after the consumer copied it out.
 *   closed: set once by rp_squeue_close; enqueues that start after it fail with RP_ESTATE.
 *     Consumers drain what is left; a consumer that finds the ring empty and closed set
 *     stops. Close bumps the ring's notEmptySeq and room_seq and wakes every waiter of both.
 *
 * CONCURRENCY
 *   rp_squeue_init                   nothing
 *   check, size, count, closed       everything (snapshots)
 *   enqueue(_many), pop, read,       everything, on any threads
 *   release, peek, close, clear
 *   Waiting (JS): consumers follow ring.h SLEEPING on the ring's notEmpty words, plus a
 *   closed check after every miss; producers the same on room_seq / room_waiters, which
 *   rp_squeue_release bumps after its decrement and a seq_cst fence.
 */
#ifndef RP_SQUEUE_H
#define RP_SQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "platform.h"
#include "ring.h"

#define RP_SQUEUE_MAGIC 0x51535052u /* "RPSQ" */
#define RP_SQUEUE_VERSION 1u
#define RP_SQUEUE_MAX_CAPACITY (1u << 24)

#define RP_SQUEUE_OFF_CAPACITY 8
#define RP_SQUEUE_OFF_RING_CAPACITY 12
#define RP_SQUEUE_OFF_MAX_BYTES 16
#define RP_SQUEUE_OFF_RING 24
#define RP_SQUEUE_OFF_ARENA 28
#define RP_SQUEUE_OFF_HEADER_BYTES 32
#define RP_SQUEUE_OFF_COUNT (1 * RP_CACHELINE)
#define RP_SQUEUE_OFF_ROOM_SEQ (2 * RP_CACHELINE)
#define RP_SQUEUE_OFF_ROOM_WAITERS (2 * RP_CACHELINE + 4)
#define RP_SQUEUE_OFF_CLOSED (3 * RP_CACHELINE)
#define RP_SQUEUE_RING_AT (4 * RP_CACHELINE)

/* Positive outcomes. */
#define RP_SQUEUE_EMPTY 7 /* pop / peek: nothing there now */
#define RP_SQUEUE_FULL 6  /* enqueue: capacity items already queued */
/* Both differ from RP_ARENA_GROW (1), which enqueue, read and peek may also return. */

typedef struct {
  uint32_t capacity;
  uint32_t ring_capacity;
  uint64_t max_bytes;
  uint32_t header_bytes;
} rp_squeue_info_t;

/* Bytes before the arena's blocks for a queue of `capacity` items (0 if out of range). */
uint64_t rp_squeue_header_bytes(uint32_t capacity);

/* Formats an empty queue. RP_EALIGN, RP_ERANGE. */
int rp_squeue_init(void *base, size_t len, uint32_t capacity, uint64_t max_bytes);
int rp_squeue_check(const void *base, size_t len, rp_squeue_info_t *info);

/* Appends n records (all or none): 0; RP_SQUEUE_FULL (fewer than n free places);
 * RP_ESTATE (closed); RP_ARENA_GROW (*need); RP_EFULL (memory at max_bytes); RP_ETOOBIG;
 * RP_ELAYOUT. recs[i] / lens[i] are the records. */
int rp_squeue_enqueue(void *base, size_t len, size_t n, const uint8_t *const *recs, const uint32_t *lens,
                      uint64_t *need);

/* Takes the oldest record: 0 and *ref, or RP_SQUEUE_EMPTY. The caller copies it with
 * rp_squeue_read and must then call rp_squeue_release(ref). */
int rp_squeue_pop(void *base, uint32_t *ref);
/* Length of record ref, and its bytes copied into out when they fit in cap. 0, RP_MAP-like
 * RP_ELAYOUT on a bad ref, RP_ARENA_GROW (*need: the caller's len is stale). */
int rp_squeue_read(const void *base, size_t len, uint32_t ref, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need);
/* Frees record ref and makes its place available (wakes producers waiting for room). */
int rp_squeue_release(void *base, size_t len, uint32_t ref);

/* Copies the oldest record without taking it: 0 (*n; bytes if they fit), RP_SQUEUE_EMPTY,
 * RP_ARENA_GROW (*need), RP_ELAYOUT. A snapshot: another consumer may take it meanwhile. */
int rp_squeue_peek(const void *base, size_t len, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need);

/* Sets closed and wakes every waiting consumer and producer. Idempotent. */
void rp_squeue_close(void *base);
int rp_squeue_closed(const void *base);

/* Pops and releases everything there now; returns how many. */
uint32_t rp_squeue_clear(void *base, size_t len);

uint32_t rp_squeue_size(const void *base);

#endif
