/*
 * channel.h - one-direction channel of variable-length byte records in a byte ring inside
 * caller memory (normally a SharedArrayBuffer): any number of writers, one reader.
 * No N-API here: the glue (bind_channel.c) validates views and calls these functions.
 *
 * LAYOUT (byte offsets from base; blocks are RP_CACHELINE = 128 bytes; every offset is
 * static_asserted in channel.c)
 *     0  block R  read-only after init: magic 'RPCH' u32, version u32, capacity u32 (data
 *                 bytes), max_record u32, header_bytes u32
 *   128  block P  producer-written: tail u64 (next byte position to reserve, free-running),
 *                 head_cache u64 (a recent value of head, so writers rarely read block C)
 *   256  block C  consumer-written: head u64 (next byte position to read, free-running)
 *   384  block W  wait words, each an int32 that JS touches too:
 *                   dataSeq        (Int32 index 96) bumped by writers, the reader sleeps on it
 *                   readerWaiters  (Int32 index 97) readers (about to be) asleep; reader writes
 *                 Both change only on the sleeping path, so on the fast path this line stays
 *                 shared (read-only) in every cache. They share a line because when they do
 *                 change, they change together (a sleeping reader and its waking writer).
 *   512  data     capacity bytes of records
 *
 * RECORDS
 *   A record starts at an 8-byte-aligned position p: an 8-byte header (u32 tag, u32 unused,
 *   always 0), then the payload, padded with zero bytes to a multiple of 8. Tag:
 *     0           nothing published at p (yet)
 *     0xFFFFFFFF  skip marker: the record did not fit before the end of the data area; the
 *                 bytes from p to the end are padding and the record is at offset 0
 *     n + 1       a record with an n-byte payload
 *   A record of n bytes occupies need(n) = 8 + round_up(n, 8) bytes and never wraps. A writer
 *   whose record does not fit before the end reserves skip + record in one CAS.
 *   Maximum payload: capacity / 2 - 8 (so need(n) <= capacity / 2). That bound is what
 *   guarantees that a record fits into an empty channel whatever the offset of tail is: at
 *   offset o either capacity - o >= capacity / 2 (fits before the end) or o >= capacity / 2
 *   (fits at 0 after the skip). A bigger record is RP_ETOOBIG (it can never fit); a record
 *   that does not fit now is RP_EFULL.
 *
 * INVARIANTS
 *   Writers of each field: block R: rp_channel_init only, before the buffer is shared.
 *     tail: writers (CAS). head_cache: writers (store of a value they loaded from head).
 *     head: the reader. A record's header word: the writer that reserved it (publish, C2),
 *     then the reader (zeroing, after it consumed the record). Payload bytes: the writer that
 *     reserved them, then the reader (zeroing). dataSeq: writers (and nobody else).
 *     readerWaiters: the reader (C or JS, Atomics.add), +1 before sleeping, -1 after.
 *   Index domain: head and tail are free-running uint64 byte positions (they never wrap in
 *     practice: 2^64 bytes); the data offset of position p is p & (capacity - 1). Positions
 *     are always multiples of 8. 0 <= tail - head <= capacity at every instant.
 *   Full / empty: a writer at tail t with a record needing `total` bytes (need, or
 *     capacity - (t mod capacity) + need when it must skip) has room iff
 *     t + total - head <= capacity. The reader finds the channel empty iff the header at head
 *     reads 0: either nothing is reserved there, or the writer that reserved it has not
 *     published yet. Records are consumed strictly in reservation order, so one slow writer
 *     holds back records that later writers already published (lock-free for writers,
 *     blocking for the reader with respect to the slowest publishing writer).
 *   Zero invariant: every byte of the data area at positions [tail, head + capacity) (space
 *     not reserved by anyone) reads as 0, and so does every not-yet-written byte of a
 *     reserved record (its padding, and its header until the publish store).
 *     The reader keeps it by zeroing each consumed record (header + padded payload, or the
 *     skip marker; the rest of a skipped span was never written) BEFORE it advances head
 *     with a release store (C5). A writer reads head (or head_cache) with an acquire load
 *     (C1) before it reserves, so everything it then writes into its reservation happens
 *     after the reader's zeroing of those bytes: the zeroes can neither overwrite the new
 *     bytes late nor be seen after them. Why it matters: the reader decides "published or
 *     not" from the header word alone. Without the zeroing, the word at a future header
 *     position would still hold whatever the previous lap left there (payload bytes of an old
 *     record) while the writer that reserved it has not yet published; the reader would take
 *     those stale bytes for a header and read a record that does not exist. With it, a header
 *     position holds 0 until its writer's release store (C2) puts the tag there.
 *   Linearization points: a send takes effect at its publishing store C2 (reservation order
 *     and publication order may differ; the reader sees records in reservation order).
 *     "Full" is decided at the acquire load of head (C1) when a re-read of tail shows that
 *     tail did not move around it. A receive takes effect at the header load C3 that finds
 *     the tag; "empty" at the C3 that reads 0.
 *   Corrupted memory (JS can write anything into the buffer): every header read is checked
 *     (length <= max_record, record inside the data area, skip not at offset 0) and every
 *     index is masked, so garbage yields RP_ELAYOUT, never an access outside the region.
 *     Capacity is read once by rp_channel_open into the caller's rp_channel_t; later
 *     changes to block R in shared memory cannot widen the accessed range.
 *
 * CONCURRENCY
 *   operation                       may run concurrently with
 *   rp_channel_init                 nothing (the buffer is not shared yet)
 *   rp_channel_open / max_record    everything (reads block R only)
 *   rp_channel_send                 any number of sends, and the one reader
 *   rp_channel_peek / consume /     sends only: these are the reader. Two threads reading the
 *     peek_size / receive_into /    same channel at once is a usage error; it cannot corrupt
 *     receive_wait / wait_readable  process memory but can return garbage or RP_ELAYOUT.
 *   JS reader (receiveAsync)        follows SLEEPING below with Atomics.add / Atomics.load
 *
 * SLEEPING (no lost wake-ups)
 *   Who waits on dataSeq: the reader only, through the process-wide waiter table (natively
 *   rp_wait_block, in JS ringpool's waitAsync). Never Atomics.wait: Atomics waiters are not in
 *   the table and rp_notify does not wake them.
 *   reader:  loop { if receive ok -> done
 *                   fetch_add(readerWaiters, 1)               seq_cst  (A_r)
 *                   s = load(dataSeq)                         seq_cst  (L_s)
 *                   fence(seq_cst)                                      (F_r)
 *                   if receive ok -> { fetch_sub(readerWaiters, 1); done }   (header load C3)
 *                   r = rp_wait_block(&dataSeq, s, remaining, stop, ctx)
 *                   fetch_sub(readerWaiters, 1)
 *                   timed out -> one more receive, else "empty"; RP_EINTR -> RP_EINTR }
 *   writer, after publishing (C2, inside rp_channel_send):
 *            fence(seq_cst) (F_w); if load(readerWaiters) != 0 (L_w)
 *              { fetch_add(dataSeq, 1) (I_w); rp_notify(&dataSeq, 1) }
 *   Why nothing is lost: F_r and F_w are both in the single total order S of seq_cst ops.
 *   - F_w before F_r: the publication C2 is sequenced before F_w, and the reader's second
 *     header load is sequenced after F_r, so it sees the tag (C11 7.17.4: a load after a
 *     seq_cst fence that follows, in S, a fence that follows the store, sees the store).
 *   - F_r before F_w: the reader's increment A_r (before F_r) is visible to the writer's
 *     L_w (after F_w), so the writer bumps dataSeq and notifies. The reader's L_s was before
 *     F_r, so it cannot have seen that bump; rp_wait_block therefore either finds dataSeq
 *     changed (RP_WAIT_NOT_EQUAL: loop and look again) or is queued before rp_notify looks
 *     (wait.h, NO LOST WAKE-UPS) and is woken.
 *   The header load C3 is seq_cst, not just acquire. That lets a JS reader, which has no
 *   fence, follow the same protocol with Atomics.add / Atomics.load and a native receive:
 *   if C3 (after A_r in S) misses the tag, then C3 precedes F_w in S (a seq_cst load cannot
 *   read a value older than a store that precedes, through a fence, its position in S), so
 *   A_r precedes F_w and L_w sees it. A seq_cst load costs the same as an acquire load on
 *   x86 (mov) and arm64 (ldar). The C reader's F_r is then redundant but states the intent.
 *   The writer's no-waiter path is one CAS, the copy, one release store, one fence and one
 *   load. dataSeq only changes by +1; a reader could miss a change only if exactly 2^32
 *   bumps happened between its load and its wait. A JS reader whose thread dies while it is
 *   counted in readerWaiters leaves the count high: writers then notify needlessly (slower,
 *   still correct).
 */
#ifndef RP_CHANNEL_H
#define RP_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "wait.h"

#define RP_CHANNEL_MAGIC 0x48435052u /* "RPCH" little-endian */
#define RP_CHANNEL_VERSION 1u
#define RP_CHANNEL_MIN_CAPACITY 64u
#define RP_CHANNEL_MAX_CAPACITY (1u << 30)

/* Byte offsets of the header fields (see LAYOUT). */
#define RP_CHANNEL_OFF_MAGIC 0
#define RP_CHANNEL_OFF_VERSION 4
#define RP_CHANNEL_OFF_CAPACITY 8
#define RP_CHANNEL_OFF_MAX_RECORD 12
#define RP_CHANNEL_OFF_HEADER_BYTES 16
#define RP_CHANNEL_OFF_TAIL (1 * RP_CACHELINE)
#define RP_CHANNEL_OFF_HEAD_CACHE (1 * RP_CACHELINE + 8)
#define RP_CHANNEL_OFF_HEAD (2 * RP_CACHELINE)
#define RP_CHANNEL_OFF_DATA_SEQ (3 * RP_CACHELINE)
#define RP_CHANNEL_OFF_READER_WAITERS (3 * RP_CACHELINE + 4)
#define RP_CHANNEL_HEADER_BYTES (4 * RP_CACHELINE)

/* Record header tags and sizes. */
#define RP_CHANNEL_TAG_EMPTY 0u
#define RP_CHANNEL_TAG_SKIP 0xFFFFFFFFu
#define RP_CHANNEL_RECORD_HEADER 8u

/* Non-error outcome (positive). Errors are the negative RP_E* of errors.h. */
#define RP_CHANNEL_EMPTY 1 /* nothing to read (for the waiting forms: the time ran out) */

/* A validated view of a channel: filled by rp_channel_open. Plain local data; each thread
 * (each call, in the glue) has its own. */
typedef struct {
  unsigned char *base; /* the header (block R) */
  unsigned char *data; /* base + RP_CHANNEL_HEADER_BYTES */
  uint32_t capacity;   /* data bytes, power of two */
  uint32_t max_record; /* capacity / 2 - 8 */
} rp_channel_t;

/* Bytes needed for a channel with `capacity` data bytes: RP_ERANGE unless capacity is a
 * power of two in [RP_CHANNEL_MIN_CAPACITY, RP_CHANNEL_MAX_CAPACITY]. */
int rp_channel_bytes(size_t capacity, size_t *out);

/* Largest record payload a channel of `capacity` data bytes accepts. */
uint32_t rp_channel_max_record_for(uint32_t capacity);

/* Formats [base, base + len) as an empty channel: writes block R, zeroes the other blocks
 * and the data area (O(capacity)). RP_EALIGN unless base is 8-byte aligned; RP_ERANGE for a
 * bad capacity or len < rp_channel_bytes(capacity). Must not run concurrently with anything
 * on the same memory. */
int rp_channel_init(void *base, size_t len, size_t capacity);

/* Checks that [base, base + len) holds a channel and fills *ch: RP_EALIGN for a misaligned
 * base, RP_ELAYOUT for a wrong magic, version, capacity, max_record, header size or a len
 * too small for the capacity. Every other function takes an rp_channel_t filled by this. */
int rp_channel_open(rp_channel_t *ch, void *base, size_t len);

/* Largest record payload this channel accepts (capacity / 2 - 8). */
static inline uint32_t rp_channel_max_record(const rp_channel_t *ch) { return ch->max_record; }

/* Appends a record of len bytes copied from src (src may be NULL when len is 0): 0,
 * RP_EFULL when there is no room now, RP_ETOOBIG when len > max_record (it can never fit),
 * RP_ELAYOUT when it detects corrupted indices. Wakes the reader if it sleeps. */
int rp_channel_send(const rp_channel_t *ch, const void *src, size_t len);

/* Reader, zero-copy: points *data at the next record's payload (inside the channel) and
 * stores its length: 0, RP_CHANNEL_EMPTY, or RP_ELAYOUT on a corrupted header. Consumes
 * skip markers on the way (that is reader-side state only). The record stays in place
 * until rp_channel_consume; the payload may be read until then. */
int rp_channel_peek(const rp_channel_t *ch, const void **data, size_t *len);

/* Reader: removes the record the last successful rp_channel_peek returned (zeroes it and
 * advances head). 0, RP_CHANNEL_EMPTY if there is none, RP_ELAYOUT on corruption. */
int rp_channel_consume(const rp_channel_t *ch);

/* Reader: length of the next record: 0 with *len set, or RP_CHANNEL_EMPTY / RP_ELAYOUT. */
int rp_channel_peek_size(const rp_channel_t *ch, size_t *len);

/* Reader: copies the next record into dst (capacity dst_cap bytes), stores its length and
 * removes it. RP_CHANNEL_EMPTY when there is none; RP_ETOOBIG when the record is larger
 * than dst_cap: *len gets its size and the record stays in the channel (nothing is lost). */
int rp_channel_receive_into(const rp_channel_t *ch, void *dst, size_t dst_cap, size_t *len);

/* Reader, blocking (see SLEEPING): waits until a record is available and then behaves as
 * rp_channel_peek. timeout_ns < 0 waits without limit, 0 only tries. Returns 0,
 * RP_CHANNEL_EMPTY when the time ran out, RP_EINTR when stop(ctx) asked to give up (stop
 * may be NULL), RP_ELAYOUT on corruption. */
int rp_channel_wait_readable(const rp_channel_t *ch, const void **data, size_t *len, int64_t timeout_ns,
                             rp_stop_fn stop, void *ctx);

/* Reader, blocking: rp_channel_wait_readable, then as rp_channel_receive_into. */
int rp_channel_receive_wait(const rp_channel_t *ch, void *dst, size_t dst_cap, size_t *len, int64_t timeout_ns,
                            rp_stop_fn stop, void *ctx);

#endif
