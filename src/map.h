/*
 * map.h - hash map of byte keys to byte values in one region of caller memory (a growable
 * SharedArrayBuffer), for SharedMap, SharedArray and SharedRecord. Keys and values are
 * opaque bytes here (the JS layer encodes them). Writers take striped locks; readers take
 * none: every stripe is also a seqlock, and a reader copies what it found and keeps it only
 * if the stripe (and the table) did not change meanwhile. No N-API here.
 *
 * LAYOUT (byte offsets from base; blocks are RP_CACHELINE = 128 bytes; static_asserted in map.c)
 *     0  block R  read-only after init: magic 'RPMP', version, stripes (power of two),
 *                 header_bytes (where the arena's blocks start), max_bytes (u64)
 *   128  block T  table_seq  u32  odd while the bucket table is being replaced (resize)
 *                 table_off  u32  byte offset of the bucket array / 8
 *                 table_mask u32  buckets - 1 (buckets a power of two >= stripes)
 *                 table_block u32 1 when the array is an arena block (freed on the next resize)
 *   256  block W  all_cell   i32  bumped on every change while all_watchers != 0 (JS waits here)
 *                 all_watchers i32  watchers of the whole map (JS Atomics.add)
 *                 clear_epoch u32  bumped by every clear
 *   384  arena    allocator header (arena.h), RP_ARENA_HEADER_BYTES
 *  1408  stripes  stripes x 128 bytes, stripe s at RP_MAP_OFF_STRIPES + 128 s:
 *                 +0 lock u32   0 free, else the holder's owner id | RP_MAP_LOCK_WAITERS
 *                 +4 seq u32    seqlock: odd while a writer changes this stripe's chains
 *                 +8 count u32  entries in this stripe
 *                 +12 cell i32  bumped on every change while watchers != 0 (JS waits here)
 *                 +16 watchers i32  JS watchers of keys of this stripe
 *                 +20 intent_op, +24 intent_new, +28 intent_old  u32 write-ahead record
 *                 +32 writes u64  versions handed out (entry versions come from here)
 *                 +40 last_ms f64  wall-clock ms of the last change (for delete events)
 *                 +48 repairs u32  times a dead holder's stripe was repaired and released
 *   then the initial bucket array (buckets x u32), then the arena's blocks up to the
 *   region's current length (the region grows up to max_bytes).
 *   Bucket: u32 ref (arena block, see arena.h) of the first entry of its chain, 0 = empty.
 *   Entry (payload of an arena block): +0 next u32 (ref) | +4 hash u32 | +8 version u64 |
 *     +16 ms f64 | +24 klen u32 | +28 vlen u32 | +32 key, zero-padded to 8 | value.
 *   Key k hashes to h = rp_map_hash(k); its stripe is h & (stripes - 1) and its bucket
 *   h & table_mask, so a bucket's chain belongs to exactly one stripe, whatever the table size.
 *
 * INVARIANTS
 *   Writers: block R: init only. table_*: resize, with every stripe lock held and table_seq
 *     odd. A stripe's chains, count, intent and writes: the holder of that stripe's lock,
 *     with seq odd while chains change. Entries are immutable once linked except `next`
 *     (changed under the stripe lock, or by resize): a set links a new entry in place of the
 *     old one (copy-on-write) and frees the old one after seq is even again.
 *   Versions: every entry gets writes + 1 of its stripe when written, so versions of one key
 *     only grow, and (key, version) names exactly one value. Absent = version 0.
 *   Index domain: every ref and length read from shared memory is range-checked before use;
 *     a reader that meets an out-of-range ref whose stripe did not change reports
 *     RP_MAP_STALE (the region grew after the caller measured it) or RP_ELAYOUT.
 *   Linearization: set/delete/clear/commit at the seqlock release that ends the change
 *     (S2 below); a get at its first seqlock read (S3) of a validated attempt.
 *
 * SEQLOCK (per stripe; the table seq is the same pattern for resize)
 *   writer: seq = s + 1 (relaxed); fence(release) F1; stores (relaxed atomics);
 *           seq = s + 2 (release) S2
 *   reader: s1 = seq (acquire) S3; if odd retry; loads (relaxed atomics); fence(acquire) F2;
 *           s2 = seq (relaxed); keep the copy only if s1 == s2
 *   Every access to entry or bucket memory is a relaxed atomic, so racing with a writer is a
 *   stale read, never undefined behaviour; validation throws stale copies away.
 *
 * DEAD OWNERS (write-ahead intent)
 *   Owner ids are those of sync.h ("IDS"): the glue uses worker threadId + 1, and the lock
 *   word holds the holder's id. As for sync.h's robust locks, the glue keeps a per-thread
 *   list of the stripes its JS holds across calls (SharedMap.update() holds one while its
 *   callback runs), and the env cleanup hook of a thread that dies (worker exit, terminate())
 *   calls rp_map_release_dead for each: it repairs the stripe on the dead holder's behalf
 *   and releases it, waking the writers that wait for it.
 *   The repair uses the write-ahead record: a set or delete records {op, new, old} before
 *   touching the chains and clears `old` before freeing it, so the repair frees `new` if it
 *   was never linked, frees `old` if it was unlinked but not freed, recounts the stripe,
 *   makes seq even, and clears the record. Reachability decides, so the repair is right at
 *   every step of the dead writer, except that a death between clearing `old` and freeing it
 *   leaks that one block (the price of never freeing a block twice). In ringpool's JS use every change is one native call,
 *   which JS termination cannot interrupt, so in practice the dead holder is one terminated
 *   inside update()'s callback with nothing half-done and the repair only frees the lock;
 *   the C tests kill writers at every step to exercise the rest. Multi-stripe operations
 *   (clear, resize, commit) record no intent: they never leave a stripe locked across calls.
 *
 * CONCURRENCY
 *   operation              may run concurrently with
 *   rp_map_init            nothing
 *   rp_map_check, _size    everything
 *   rp_map_get, _scan      everything (lock-free; retries while its stripe changes)
 *   rp_map_set, _delete    everything; serialised per stripe by the stripe lock
 *   rp_map_lock/_unlock    everything; a thread may hold several stripes (re-entrant per token)
 *   rp_map_clear, _commit  everything; they take several stripe locks in (map address,
 *                          stripe) order and back off completely when one is busy, so they
 *                          never deadlock with each other or with single-stripe writers
 *   A thread that holds a stripe through rp_map_lock and then writes a key of another stripe
 *   can deadlock with another thread doing the reverse (like any two mutexes). The JS layer
 *   documents this for update().
 */
#ifndef RP_MAP_H
#define RP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "platform.h"
#include "wait.h"

#define RP_MAP_MAGIC 0x504d5052u /* "RPMP" little-endian */
#define RP_MAP_VERSION 1u
#define RP_MAP_MAX_STRIPES 1024u
#define RP_MAP_MAX_BUCKETS (1u << 26)
#define RP_MAP_MAX_KEY (1u << 20)
#define RP_MAP_LOCK_WAITERS 0x80000000u

#define RP_MAP_OFF_MAGIC 0
#define RP_MAP_OFF_VERSION 4
#define RP_MAP_OFF_STRIPES 8
#define RP_MAP_OFF_HEADER_BYTES 12
#define RP_MAP_OFF_MAX_BYTES 16
#define RP_MAP_OFF_TABLE_SEQ (1 * RP_CACHELINE)
#define RP_MAP_OFF_TABLE_OFF (1 * RP_CACHELINE + 4)
#define RP_MAP_OFF_TABLE_MASK (1 * RP_CACHELINE + 8)
#define RP_MAP_OFF_TABLE_BLOCK (1 * RP_CACHELINE + 12)
#define RP_MAP_OFF_ALL_CELL (2 * RP_CACHELINE)
#define RP_MAP_OFF_ALL_WATCHERS (2 * RP_CACHELINE + 4)
#define RP_MAP_OFF_CLEAR_EPOCH (2 * RP_CACHELINE + 8)
#define RP_MAP_OFF_ARENA (3 * RP_CACHELINE)
#define RP_MAP_OFF_STRIPES_ARRAY (RP_MAP_OFF_ARENA + RP_ARENA_HEADER_BYTES)
#define RP_MAP_STRIPE_BYTES RP_CACHELINE

#define RP_MAP_ST_LOCK 0
#define RP_MAP_ST_SEQ 4
#define RP_MAP_ST_COUNT 8
#define RP_MAP_ST_CELL 12
#define RP_MAP_ST_WATCHERS 16
#define RP_MAP_ST_INTENT_OP 20
#define RP_MAP_ST_INTENT_NEW 24
#define RP_MAP_ST_INTENT_OLD 28
#define RP_MAP_ST_WRITES 32
#define RP_MAP_ST_LAST_MS 40
#define RP_MAP_ST_REPAIRS 48

#define RP_MAP_ENTRY_HEAD 32

/* Positive, non-error outcomes. */
#define RP_MAP_ABSENT 2   /* get/delete: no such key */
#define RP_MAP_STALE 3    /* the region is longer than the caller's len: measure again, retry */
#define RP_MAP_CONFLICT 4 /* commit: a read's version changed; nothing was written */
#define RP_MAP_MORE 5     /* scan: more to come (cursor updated) */
/* RP_ARENA_GROW (1): grow the region to *need bytes, then retry; nothing was written. */

/* Who is calling: the owner id (sync.h IDS: 1 .. 2^29 - 2; locks record it), and how a
 * blocking wait for a lock learns that its thread must give up (stop may be NULL). */
typedef struct {
  uint32_t token;
  rp_stop_fn stop;
  void *stop_ctx;
  /* Test hook (plain C tests only; 0 otherwise): set/delete stop dead after step n (1..3)
   * as if their thread died there, leaving the lock held and the intent recorded; the test
   * then plays the thread's teardown with rp_map_release_dead. */
  int crash_step;
} rp_map_ctx_t;

typedef struct {
  uint32_t stripes;
  uint32_t header_bytes;
  uint64_t max_bytes;
} rp_map_info_t;

/* What a get found besides the value. */
typedef struct {
  uint32_t vlen;    /* value length (copied only if it fit) */
  uint64_t version; /* entry version */
  double ms;        /* wall-clock ms when it was written */
} rp_map_found_t;

/* Bytes before the arena (header, stripes, initial buckets) for the given geometry, or 0
 * unless stripes is a power of two in [1, RP_MAP_MAX_STRIPES] and buckets a power of two in
 * [stripes, RP_MAP_MAX_BUCKETS]. */
uint64_t rp_map_header_bytes(uint32_t stripes, uint32_t buckets);

/* Formats an empty map. len is the region's current length (>= header_bytes), max_bytes
 * what it may grow to (<= RP_ARENA_MAX_LIMIT). RP_EALIGN unless base is 8-aligned;
 * RP_ERANGE for bad geometry or sizes. */
int rp_map_init(void *base, size_t len, uint32_t stripes, uint32_t buckets, uint64_t max_bytes);

/* RP_EALIGN, RP_ELAYOUT (magic, version, geometry, len) or 0 (info may be NULL). */
int rp_map_check(const void *base, size_t len, rp_map_info_t *info);

uint32_t rp_map_hash(const uint8_t *key, uint32_t klen);

/* Looks key up. 0: found, *f filled, value copied into out if f->vlen <= out_cap.
 * RP_MAP_ABSENT, RP_MAP_STALE, RP_ELAYOUT, RP_EINTR. */
int rp_map_get(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, uint8_t *out,
               size_t out_cap, rp_map_found_t *f);

/* Inserts or replaces. 0 (and *version), RP_ARENA_GROW (*need), RP_MAP_STALE, RP_EFULL,
 * RP_ETOOBIG, RP_EINTR, RP_ELAYOUT. Nothing changes unless it returns 0. */
int rp_map_set(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, const uint8_t *val,
               uint32_t vlen, uint64_t *need);

/* Removes key: 0, or RP_MAP_ABSENT (nothing changed); RP_EINTR, RP_ELAYOUT, RP_MAP_STALE. */
int rp_map_delete(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen);

/* Removes every entry. 0, RP_EINTR, RP_ELAYOUT. */
int rp_map_clear(void *base, size_t len, const rp_map_ctx_t *cx);

/* Number of entries (a snapshot). */
uint32_t rp_map_size(const void *base);

/* Takes the lock of key's stripe for the caller (blocking; repairs a dead holder's stripe).
 * *stripe receives the stripe, *reentrant 1 if the caller already held it (then the
 * matching unlock must be skipped). 0, RP_EINTR. */
int rp_map_lock(void *base, size_t len, const rp_map_ctx_t *cx, const uint8_t *key, uint32_t klen, uint32_t *stripe,
                int *reentrant);
/* Releases a stripe taken by rp_map_lock: 0, RP_ERANGE (no such stripe), RP_ESTATE (the
 * caller does not hold it). */
int rp_map_unlock(void *base, const rp_map_ctx_t *cx, uint32_t stripe);
/* Teardown of a dead holder: if stripe is held by token, repairs it (DEAD OWNERS) and
 * releases it. 0, RP_ERANGE, RP_ESTATE (not held by token). */
int rp_map_release_dead(void *base, size_t len, uint32_t token, uint32_t stripe);

/*
 * Copies entries into out as records { u32 klen; u32 vlen; u64 version; key; pad to 8;
 * value (only if with_values); pad to 8 } and advances *cursor (start with 0). Buckets are
 * visited in reverse-binary order, so an entry present for the whole iteration is returned
 * exactly once even if the table grows meanwhile; entries added or removed meanwhile may or
 * may not be. Each bucket is copied whole and consistent. Returns RP_MAP_MORE (call again
 * with the new cursor), 0 (done), RP_ETOOBIG with *used = bytes one bucket needs (call again
 * with a larger out), RP_MAP_STALE, RP_ELAYOUT, RP_EINTR. *used = bytes written.
 */
int rp_map_scan(void *base, size_t len, const rp_map_ctx_t *cx, uint32_t *cursor, uint8_t *out, size_t cap,
                size_t *used, int with_values);

/* Ops of rp_map_commit. */
#define RP_MAP_OP_READ 0   /* expect key's current version to be `version` (0 = absent) */
#define RP_MAP_OP_SET 1    /* set key to val */
#define RP_MAP_OP_DELETE 2 /* delete key (absent is fine) */
typedef struct {
  void *base;
  size_t len;
  uint32_t kind;
  const uint8_t *key;
  uint32_t klen;
  const uint8_t *val;
  uint32_t vlen;
  uint64_t version;
  /* filled in by rp_map_commit */
  uint32_t hash, stripe, new_ref, old_ref;
} rp_map_op_t;

/*
 * All-or-nothing over any number of maps: takes every stripe lock the ops need (ordered,
 * backing off when one is busy), checks every READ, allocates every SET's entry, then makes
 * all changes visible together (every involved stripe goes odd before any change and even
 * after all of them). 0 committed; RP_MAP_CONFLICT; RP_ARENA_GROW (*need, *fail = op index);
 * RP_EFULL / RP_ETOOBIG (*fail); RP_MAP_STALE (*fail); RP_ENOMEM; RP_EINTR. Nothing changes
 * unless it returns 0. A key must appear at most once per map among SET/DELETE ops.
 */
int rp_map_commit(rp_map_op_t *ops, size_t n, const rp_map_ctx_t *cx, size_t *fail, uint64_t *need);

/* Statistics: bytes in live blocks, bytes ever carved from the region, region bytes in use. */
void rp_map_memory(const void *base, uint64_t *live, uint64_t *used, uint64_t *top);

/* Byte offsets (from base) of the JS-waitable words: a stripe's cell / watchers, the map's. */
size_t rp_map_stripe_offset(uint32_t stripe);
uint32_t rp_map_stripe_of(const void *base, const uint8_t *key, uint32_t klen);

#endif
