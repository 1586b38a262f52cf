/*
 * squeue.h - bounded MPMC queue of byte records (SharedQueue) in one growable region: a
 * Vyukov ring of wide slots (a record of up to slot_bytes - 8 bytes lives in its slot; a
 * longer one in an arena block, arena.h, whose ref the slot holds), plus two item counters
 * (reserved, released) that enforce the exact capacity, a close flag, and a "room" word
 * producers sleep on.
 * No N-API here. lib/shared/shared-queue.ts runs the same protocol on the same words with
 * Atomics for records that fit in a slot (see "JS FAST PATH"); this file is the reference.
 *
 * LAYOUT (byte offsets from base; blocks of RP_CACHELINE; static_asserted in squeue.c)
 *     0  block R  read-only after init: magic 'RPSQ', version 2, capacity, ring_capacity (the
 *                 power of two >= capacity), max_bytes u64, slot_bytes, arena_off,
 *                 header_bytes
 *   128  block C  unused (was the single item count of version 2)
 *   256  block P  room_seq i32 (bumped when count drops while room_waiters != 0; producers
 *                 wait here), room_waiters i32 (JS Atomics.add; as not_empty_waiters)
 *   384  block X  closed u32 (0 -> 1 once)
 *   512  block T  tail u32: next position a producer claims; reserved u32 (producers write both)
 *   640  block H  head u32: next position a consumer claims; released u32 (consumers write both)
 *   768  block E  not_empty_seq i32: bumped by producers; consumers sleep on it
 *   896  block W  not_empty_waiters i32: consumers (about to be) asleep (JS Atomics.add; a
 *                 notify that wakes one takes it off at once, bind_wait.c on_wake)
 *  1024  slots    ring_capacity x slot_bytes: { u32 seq; u32 info; inline bytes }
 *   arena_off     arena header (arena.h) at a multiple of RP_CACHELINE past the slots, then
 *                 blocks up to the region's current length. header_bytes = where blocks start.
 *   slot_bytes is 64 (56 inline bytes) when the ring is at most RP_SQUEUE_INLINE_MAX_RING
 *   slots and takes at most a quarter of max_bytes, else 8 (every record in a block).
 *   info: RP_SQUEUE_INFO_REF | ref for a record in an arena block (block payload: u32 length,
 *   u32 0, bytes zero-padded to 8), else the length of the record stored inline (the bytes
 *   after the last one up to the next multiple of 4 are unspecified).
 *
 * RING (Vyukov, half-step sequence numbers as ring.h, so that capacity 1 works)
 *   seq == 2p: the slot is free for position p; seq == 2p + 1: it holds the record pushed at
 *   p. Positions are free-running u32, compared by difference as int32.
 *   push at p: A1 acquire load of seq == 2p; C1 CAS tail p -> p + 1 (relaxed); write info
 *     and bytes (relaxed atomics); R1 store seq = 2p + 1 (release, pairs with A2).
 *   pop at p: A2 acquire load of seq == 2p + 1; C2 CAS head p -> p + 1 (relaxed). The slot is
 *     now the consumer's: it reads info and bytes, then R2 stores seq = 2(p + ring_capacity)
 *     (release, pairs with A1), which frees the slot for the next lap.
 *   Unlike ring.h, a consumer owns its slot between C2 and R2 (rp_squeue_pop ..
 *   rp_squeue_release), because the record is read out of the slot itself.
 *
 * INVARIANTS
 *   count = reserved - released (u32, wrapping). reserved: +k by an enqueue of k records
 *     before it claims anything (CAS, never taking count past capacity), -k when it gives up.
 *     released: +1 by rp_squeue_release after the slot is free again; it only grows. So slots
 *     in use (claimed by a producer, published, or held by a consumer) <= count <= capacity
 *     <= ring_capacity. Two words on two lines, each next to the cursor its side already
 *     writes, so that in steady state a producer and a consumer do not write a common line
 *     per item (the single count word of version 2 moved between the cores twice per item).
 *     A producer may compare with an old value of released (it only grows, so the count it
 *     computes is too high, never too low); "full" is decided only on fresh seq_cst loads
 *     (reserved, then released). A count that comes out negative means reserved was read
 *     before releases of later reservations: read both again.
 *     A producer holding a reservation can still meet the slot of its position in use by a
 *     consumer of the previous lap (MPMC: later positions may have been consumed first); it
 *     then spins until that consumer's R2 (a few instructions).
 *   Order: records are popped in position order; one producer's records get increasing
 *     positions, so every consumer sees each producer's records in the order they were sent.
 *   A record's block is freed by rp_squeue_release, after the consumer copied it out.
 *   closed: set once by rp_squeue_close; enqueues that start after it fail with RP_ESTATE.
 *     Consumers drain what is left; a consumer that finds the ring empty and closed set
 *     stops. Close bumps not_empty_seq and room_seq and wakes every waiter of both.
 *
 * SLEEPING (no lost wake-ups; the argument of ring.h SLEEPING, on these words)
 *   consumers: waiters = not_empty_waiters, seq word = not_empty_seq; a failed pop runs a
 *     seq_cst fence before it reports empty (F_c). A push, after R1: fence seq_cst (F_p),
 *     then if not_empty_waiters != 0 bump not_empty_seq and wake one. Chain rule: after R2,
 *     fence seq_cst; if not_empty_waiters != 0 and the slot at the new head is ready, wake
 *     one more consumer (out-of-order publication by several producers, ring.h).
 *   producers: waiters = room_waiters, seq word = room_seq; rp_squeue_release increments
 *     released (seq_cst; a giving-up enqueue decrements reserved), fences, and if
 *     room_waiters != 0 bumps room_seq and wakes them all.
 *
 * JS FAST PATH (lib/shared/shared-queue.ts, same words, every access an Atomics operation
 *   or a plain typed-array access ordered by one, as the C orderings above; JS Atomics are
 *   seq_cst, which subsumes the release/acquire/fence steps)
 *   A JS producer handles a record that fits inline: closed check, reserved CAS, A1/C1, write,
 *   R1, waiter check. A JS consumer does A2/C2, copies an inline record out (or calls
 *   rp_squeue_read/rp_squeue_release through the glue with the claimed position for a
 *   block), R2, chain check, released increment, room waiter check. Between C1 and R1 (C2 and
 *   R2) the JS code has no loop and no call into JS, so V8 cannot terminate the thread
 *   there; a terminated thread cannot leave a slot claimed. (It can be terminated in the claim
 *   loop, after its reservation: that leaks one place of capacity, never an item.)
 *
 * CONCURRENCY
 *   rp_squeue_init                   nothing
 *   check, size, count, closed       everything (snapshots)
 *   enqueue, pop + read + release,   everything, on any threads (a pop must be followed by
 *   peek, close, clear               its release on the same thread, soon: it holds a slot)
 */
#ifndef RP_SQUEUE_H
#define RP_SQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "platform.h"

#define RP_SQUEUE_MAGIC 0x51535052u /* "RPSQ" */
#define RP_SQUEUE_VERSION 3u
#define RP_SQUEUE_MAX_CAPACITY (1u << 24)
/* Rings longer than this get 8-byte slots (no inline records). */
#define RP_SQUEUE_INLINE_MAX_RING (1u << 16)
#define RP_SQUEUE_WIDE_SLOT 64u
#define RP_SQUEUE_NARROW_SLOT 8u
#define RP_SQUEUE_SLOT_HEAD 8u
#define RP_SQUEUE_INFO_REF 0x80000000u

#define RP_SQUEUE_OFF_CAPACITY 8
#define RP_SQUEUE_OFF_RING_CAPACITY 12
#define RP_SQUEUE_OFF_MAX_BYTES 16
#define RP_SQUEUE_OFF_SLOT_BYTES 24
#define RP_SQUEUE_OFF_ARENA 28
#define RP_SQUEUE_OFF_HEADER_BYTES 32
#define RP_SQUEUE_OFF_ROOM_SEQ (2 * RP_CACHELINE)
#define RP_SQUEUE_OFF_ROOM_WAITERS (2 * RP_CACHELINE + 4)
#define RP_SQUEUE_OFF_CLOSED (3 * RP_CACHELINE)
#define RP_SQUEUE_OFF_TAIL (4 * RP_CACHELINE)
#define RP_SQUEUE_OFF_RESERVED (4 * RP_CACHELINE + 4)
#define RP_SQUEUE_OFF_HEAD (5 * RP_CACHELINE)
#define RP_SQUEUE_OFF_RELEASED (5 * RP_CACHELINE + 4)
#define RP_SQUEUE_OFF_NOT_EMPTY_SEQ (6 * RP_CACHELINE)
#define RP_SQUEUE_OFF_NOT_EMPTY_WAITERS (7 * RP_CACHELINE)
#define RP_SQUEUE_SLOTS_AT (8 * RP_CACHELINE)

/* Positive outcomes. */
#define RP_SQUEUE_EMPTY 7 /* pop / peek: nothing there now */
#define RP_SQUEUE_FULL 6  /* enqueue: capacity items already queued */
/* Both differ from RP_ARENA_GROW (1), which enqueue, read and peek may also return. */

typedef struct {
  uint32_t capacity;
  uint32_t ring_capacity;
  uint64_t max_bytes;
  uint32_t header_bytes;
  uint32_t slot_bytes;
  uint32_t arena_off;
} rp_squeue_info_t;

/* Slot size rp_squeue_init picks for this capacity and max_bytes (0 if capacity is out of range). */
uint32_t rp_squeue_slot_bytes(uint32_t capacity, uint64_t max_bytes);
/* Bytes before the arena's blocks for a queue of `capacity` items that rp_squeue_init would
 * make with this max_bytes (0 if out of range). */
uint64_t rp_squeue_header_bytes(uint32_t capacity, uint64_t max_bytes);

/* Formats an empty queue. RP_EALIGN, RP_ERANGE. */
int rp_squeue_init(void *base, size_t len, uint32_t capacity, uint64_t max_bytes);
int rp_squeue_check(const void *base, size_t len, rp_squeue_info_t *info);

/* Appends n records (all or none): 0; RP_SQUEUE_FULL (fewer than n free places);
 * RP_ESTATE (closed); RP_ARENA_GROW (*need); RP_EFULL (memory at max_bytes); RP_ETOOBIG;
 * RP_ENOMEM; RP_ELAYOUT. recs[i] / lens[i] are the records. */
int rp_squeue_enqueue(void *base, size_t len, size_t n, const uint8_t *const *recs, const uint32_t *lens,
                      uint64_t *need);

/* Claims the oldest record: 0 and *pos (its position), or RP_SQUEUE_EMPTY; RP_ELAYOUT. The
 * caller copies it with rp_squeue_read and must then call rp_squeue_release(pos). */
int rp_squeue_pop(void *base, uint32_t *pos);
/* Length of the record at claimed position pos, and its bytes copied into out when they
 * fit in cap. 0, RP_ELAYOUT on a bad ref, RP_ARENA_GROW (*need: the caller's len is stale). */
int rp_squeue_read(const void *base, size_t len, uint32_t pos, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need);
/* Frees the record at claimed position pos (its block, if any, then its slot) and makes its
 * place available (wakes producers waiting for room). 0 or the arena's error for the block
 * (the slot and the place are released anyway). */
int rp_squeue_release(void *base, size_t len, uint32_t pos);

/* Copies the oldest record without taking it: 0 (*n; bytes if they fit), RP_SQUEUE_EMPTY,
 * RP_ARENA_GROW (*need), RP_ELAYOUT. A snapshot: another consumer may take it meanwhile. */
int rp_squeue_peek(const void *base, size_t len, uint8_t *out, size_t cap, uint32_t *n, uint64_t *need);

/* Sets closed and wakes every waiting consumer and producer. Idempotent. */
void rp_squeue_close(void *base);
int rp_squeue_closed(const void *base);

/* Pops and releases everything there now; returns how many. */
uint32_t rp_squeue_clear(void *base, size_t len);

/* Places in use, reserved - released (INVARIANTS): records queued, being added or being taken; a snapshot in [0, capacity]. */
uint32_t rp_squeue_size(const void *base);

#endif
