/*
 * ring.h - bounded lock-free MPMC queue of uint32 values in caller-provided memory
 * (normally a SharedArrayBuffer), after Dmitry Vyukov's per-slot sequence-number design.
 * No N-API here: the glue (bind_ring.c) validates views and calls these functions.
 *
 * LAYOUT (byte offsets from base; every block is RP_CACHELINE = 128 bytes; all offsets and
 * sizes are static_asserted in ring.c)
 *     0  block R  read-only after init: magic 'RPRG', version, capacity, header_bytes,
 *                 total_bytes (u64)
 *   128  block P  tail      u32  next position a producer claims     (producers write)
 *   256  block C  head      u32  next position a consumer claims     (consumers write)
 *   384  block    notEmptySeq      i32  bumped by producers; consumers sleep on it
 *   512  block    notEmptyWaiters  i32  consumers (about to be) asleep; consumers write
 *   640  block    notFullSeq       i32  bumped by consumers; producers sleep on it
 *   768  block    notFullWaiters   i32  producers (about to be) asleep; producers write
 *   896  slots    capacity x { u32 seq; u32 value }, 8 bytes each
 *   The four wait words are each alone on a block: the push/pop fast paths read the
 *   opposite side's waiter count on every operation, and a word that is written only when
 *   somebody sleeps stays shared in every cache instead of bouncing with head or tail.
 *
 * INVARIANTS
 *   Writers: magic..total_bytes: rp_ring_init only (before the buffer is shared).
 *     tail: producers (CAS). head: consumers (CAS). slot seq: the producer that claimed the
 *     slot's position (publish) and the consumer that claimed it (release). slot value: the
 *     producer that claimed the position, before publishing. notEmptySeq / notFullWaiters:
 *     producers; notFullSeq / notEmptyWaiters: consumers. JS (Atomics.add/load) also writes
 *     the waiter counts and reads the seq words when it waits asynchronously.
 *   Index domain: head and tail are free-running uint32 positions (they wrap at 2^32); the
 *     slot of position p is p & (capacity - 1). Positions are compared only by unsigned
 *     difference, read as int32: capacity <= 2^24 keeps every live difference far below 2^31.
 *   Slot sequence numbers count in half-steps so that capacity 1 works (with plain Vyukov
 *     numbering, "full at p" and "empty for p + 1" are the same number when capacity is 1):
 *       seq == 2p        slot is empty and is the slot for position p (a push at p may claim)
 *       seq == 2p + 1    slot holds the value pushed at position p (a pop at p may claim)
 *     After the pop at p the slot becomes 2(p + capacity): empty for the next lap. Numbers
 *     are taken mod 2^32; again only differences (as int32, within +-2^25) are used.
 *   Full / empty: a push at p finds seq - 2p < 0 (the previous lap's value is still there)
 *     => full; a pop at p finds seq - (2p + 1) < 0 (nothing published at p yet) => empty.
 *     0 <= tail - head <= capacity at every instant (a pop claims p only after the push at
 *     p claimed it; a push claims p only after the pop at p - capacity released the slot).
 *   Linearization points: a push takes effect at its slot's publishing store (R1); a pop
 *     at its successful CAS on head (C2). "Full" is decided at the acquire load (A1) that
 *     sees the previous lap; "empty" at the acquire load (A2) that sees no publication.
 *
 * CONCURRENCY
 *   operation                  may run concurrently with
 *   rp_ring_init               nothing (the buffer is not shared yet)
 *   rp_ring_check, _size       everything (read-only; _size is a clamped snapshot)
 *   rp_ring_try_push/_wait     any number of pushes and pops, on any threads
 *   rp_ring_try_pop/_wait      any number of pushes and pops, on any threads
 *   JS waitAsync protocol      everything (it uses only try_pop/try_push, the seq words
 *                              and the waiter counts, exactly as below)
 *   Slots whose position is claimed but not yet published stall later pops at that slot
 *   (the queue is lock-free but a claimed-yet-unpublished push blocks its slot; progress
 *   for everybody else resumes as soon as that one store lands).
 *
 * SLEEPING (no lost wake-ups)
 *   consumer (producer symmetric with notFull*, rp_ring_try_push):
 *     loop { if try_pop ok -> done
 *            fetch_add(notEmptyWaiters, 1)          seq_cst
 *            s = load(notEmptySeq)                  seq_cst
 *            fence(seq_cst)                          F_c
 *            if try_pop ok -> { fetch_sub(notEmptyWaiters, 1); done }
 *            r = rp_wait_block(&notEmptySeq, s, remaining, stop, ctx)
 *            fetch_sub(notEmptyWaiters, 1)
 *            timed out -> one last try_pop, else "timed out";  RP_EINTR -> RP_EINTR }
 *   producer, after every successful push (inside rp_ring_try_push):
 *     publish slot (R1, release); fence(seq_cst) F_p;
 *     if load(notEmptyWaiters) != 0 { fetch_add(notEmptySeq, 1); rp_notify(&notEmptySeq, 1) }
 *     (plus the chain rule for producers, see "Out-of-order publication")
 *   Why nothing is lost: F_c and F_p are both in the single total order S of seq_cst
 *   operations.
 *   - If F_p precedes F_c: the publication (sequenced before F_p) is visible to every load
 *     of that slot sequenced after F_c, so the consumer's second try_pop sees the value (or
 *     sees that another consumer already took it, in which case no wake-up is owed).
 *   - If F_c precedes F_p: the consumer's waiter increment (sequenced before F_c) is visible
 *     to the producer's waiter load (after F_p), so the producer bumps notEmptySeq and
 *     notifies. The consumer's read of the seq word happened before F_c, so it cannot have
 *     seen that bump (that would put F_p before F_c); its rp_wait_block therefore either
 *     finds the word changed (RP_WAIT_NOT_EQUAL: it loops and tries again) or is linked
 *     before the notifier looks (wait.h "NO LOST WAKE-UPS") and is woken.
 *   Out-of-order publication: positions are claimed in order but published by different
 *   threads, so the push at p + 1 (B) can publish, and find nobody waiting, while the push
 *   at p is between its claim and its publish. A consumer C2 arriving then sees p empty and
 *   sleeps although p + 1 holds a value. Whoever later pops p (X) must wake C2, because
 *   p + 1 is ready. Hence the chain rule: after every successful pop, if consumers are
 *   registered and the slot at the new head is ready, wake one more consumer (symmetrically
 *   after every push, for producers and a free slot at the new tail). X's loads after its
 *   F_p see both facts: B saw no waiter, so F_B precedes F_c2; and F_c2 precedes X's F_p,
 *   for otherwise C2's second try would have seen p already taken, moved on to p + 1, found
 *   B's value and not slept. So B's publication and C2's registration are both visible.
 *   A notify that wakes a consumer whose try_pop then finds the ring empty is harmless: the
 *   value went to another consumer. rp_wait_block returns timed-out or RP_EINTR only for a
 *   waiter nobody woke (wait.c decides under the bucket lock), so a wake-up is never
 *   swallowed by a waiter that then gives up.
 *   try_pop (try_push) also runs a seq_cst fence before it reports "empty" ("full"). That
 *   makes the fence F_c part of the second try itself, so a JS thread that follows the same
 *   protocol with Atomics.add / Atomics.load and the native pop needs no fence of its own.
 *   The seq words only ever change by +1; a waiter could miss a change only if exactly 2^32
 *   bumps happened between its load and its wait, which is not a practical concern.
 */
#ifndef RP_RING_H
#define RP_RING_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "wait.h"

#define RP_RING_MAGIC 0x47525052u /* "RPRG" little-endian */
#define RP_RING_VERSION 1u
#define RP_RING_MAX_CAPACITY (1u << 24)

/* Byte offsets of the header fields (see LAYOUT). */
#define RP_RING_OFF_MAGIC 0
#define RP_RING_OFF_VERSION 4
#define RP_RING_OFF_CAPACITY 8
#define RP_RING_OFF_HEADER_BYTES 12
#define RP_RING_OFF_TOTAL_BYTES 16
#define RP_RING_OFF_TAIL (1 * RP_CACHELINE)
#define RP_RING_OFF_HEAD (2 * RP_CACHELINE)
#define RP_RING_OFF_NOT_EMPTY_SEQ (3 * RP_CACHELINE)
#define RP_RING_OFF_NOT_EMPTY_WAITERS (4 * RP_CACHELINE)
#define RP_RING_OFF_NOT_FULL_SEQ (5 * RP_CACHELINE)
#define RP_RING_OFF_NOT_FULL_WAITERS (6 * RP_CACHELINE)
#define RP_RING_HEADER_BYTES (7 * RP_CACHELINE)
#define RP_RING_SLOT_BYTES 8

/* Non-error outcomes (positive). Errors are the negative RP_E* of errors.h. */
#define RP_RING_EMPTY 1     /* try_pop: nothing to take */
#define RP_RING_TIMED_OUT 2 /* push_wait / pop_wait: the time ran out */

/* Bytes needed for a ring of `capacity` values. RP_ERANGE unless capacity is a power of
 * two in [1, RP_RING_MAX_CAPACITY]. */
int rp_ring_bytes(uint32_t capacity, size_t *out);

/* Formats [base, base + len) as an empty ring. base must be 8-byte aligned (RP_EALIGN);
 * capacity as for rp_ring_bytes and len >= rp_ring_bytes(capacity) (RP_ERANGE). Must not
 * run concurrently with anything else on the same memory. */
int rp_ring_init(void *base, size_t len, uint32_t capacity);

/* Checks that [base, base + len) holds a ring: RP_EALIGN for a misaligned base,
 * RP_ELAYOUT for a wrong magic, version, capacity or a len too small for it. On success
 * stores the capacity. Every other function assumes a region that passed this check. */
int rp_ring_check(const void *base, size_t len, uint32_t *capacity);

/* Appends value: 0, or RP_EFULL when the ring is full. Wakes one sleeping consumer if any
 * is registered. RP_ELAYOUT if it detects that the shared memory was corrupted. */
int rp_ring_try_push(void *base, uint32_t value);

/* Removes the oldest value into *out: 0, or RP_RING_EMPTY when there is none. Wakes one
 * sleeping producer if any is registered. RP_ELAYOUT on detected corruption. */
int rp_ring_try_pop(void *base, uint32_t *out);

/* Number of values in the ring: a snapshot, clamped to [0, capacity]. */
uint32_t rp_ring_size(const void *base);

/* Blocking forms (see SLEEPING). timeout_ns < 0 waits without limit, 0 only tries.
 * Return 0 on success, RP_RING_TIMED_OUT, RP_EINTR when stop(ctx) asked to give up,
 * or RP_ELAYOUT on detected corruption. stop may be NULL. */
int rp_ring_push_wait(void *base, uint32_t value, int64_t timeout_ns, rp_stop_fn stop, void *ctx);
int rp_ring_pop_wait(void *base, uint32_t *out, int64_t timeout_ns, rp_stop_fn stop, void *ctx);

#endif
