/*
 * sync.h - locks and other synchronisation objects over a small shared region: Mutex,
 * RwLock, Semaphore, Barrier, Latch, Condition. Every object is RP_SYNC_BYTES of caller
 * memory (a SharedArrayBuffer); waiting goes through the process-wide waiter table (wait.h)
 * with waiters of our own (rp_sync_waiter_t, an "async" waiter of the table whose on_wake is
 * ours). Pure C: no N-API; the glue (bind_sync.c) supplies the delivery of async outcomes.
 *
 * LAYOUT (int32 words; every object has the same header)
 *   [0] MAGIC  RP_SYNC_MAGIC                                  read-only after init
 *   [1] KIND   kind | RP_SYNC_VERSION << 8                    read-only after init
 *   [2] STATE  the object's state word, bits per kind below   all threads, seq_cst
 *   [3] OWNER  RwLock: id of the writer holding or designated all threads, seq_cst
 *   [4] GATE   RwLock/Semaphore: sequence the designated waiter waits on
 *   [5] NEED   Semaphore: permits the designated waiter needs (a hint, see below)
 *   [6] PARAM  Semaphore: max permits; Barrier: parties; Latch: initial count (read-only)
 *   [7..31]    zero padding: the region is one RP_CACHELINE, so two objects never share a
 *              line with each other's hot words
 *
 * IDS. A thread (JS environment) is identified by an id from 1 to RP_SYNC_ID_MAX (the glue
 *   uses worker threadId + 1, unique for the life of the process). A lock word records the
 *   id of its holder, which is how unlock checks ownership and how a dead holder's locks are
 *   found (the glue keeps per-thread lists and releases them from an env cleanup hook).
 *
 * STATE WORDS (uint32 views of the int32 cell)
 *   Mutex      owner << 2 | D << 1 | W       owner 0 free, RP_MX_HANDOFF "being handed over"
 *   RwLock     readers << 5 | H | P | WR | D | W
 *   Semaphore  permits << 3 | H | P | W
 *   Barrier    generation << 16 | arrived   (generation wraps at 2^16)
 *   Latch      count
 *   Condition  sequence (bumped by every notify)
 *   Flags: W   waiters may be linked on STATE (sticky hint; cleared only by a handoff that
 *              found nobody)
 *          D   the last holder died holding the lock; the next acquirer clears it and
 *              reports RP_SYNC_DIED
 *          H   a handoff is running: one releaser is granting queued waiters in FIFO order;
 *              newcomers must queue behind them
 *          P   the waiter at the head of the queue could not be served yet (a writer while
 *              readers hold, or a semaphore request larger than the free permits). It left
 *              the queue as the "designated" waiter and waits on GATE; nobody is admitted
 *              ahead of it
 *          WR  a writer holds the RwLock
 *
 * FAIRNESS. Waiters queue FIFO on &STATE in the waiter table. A newcomer is admitted only if
 *   nobody is queued (W clear) and no handoff or designated waiter exists; otherwise it
 *   queues. A release never frees the object for everyone: it hands it over. It sets H (or, for
 *   the mutex, the HANDOFF owner) and wakes waiters one at a time with rp_notify_handoff on
 *   &STATE; each waiter's on_wake (run under the bucket lock) grants it in place with a CAS,
 *   so the waiter owns the lock before its thread even runs. The loop stops at the first
 *   waiter that cannot be served (it becomes designated) or when the queue is empty. So a
 *   release wakes exactly the waiters that proceed, plus at most one designated head.
 *
 * INVARIANTS
 *   I1 Only the holder changes a mutex word's owner bits, except: on_wake grants from
 *      HANDOFF, and newcomers CAS from owner 0. Others only set W.
 *   I2 If a waiter is linked on STATE then W is set and somebody will wake it: the mutex is
 *      held or HANDOFF; the RwLock has WR, P or H; the Semaphore has P or H or no permits
 *      (the next release kicks). The one window, a waiter that decided to queue on a value
 *      the hand-off is about to clear, is closed by the bucket lock (see HAND-OFF END).
 *   I3 At most one designated waiter per object (P); for the RwLock OWNER names it. Only it
 *      takes P away: by taking the lock/permits (own thread or its gate on_wake) or by
 *      giving up (undesignate, then kick).
 *   I4 A waiter leaves the table exactly once (wait.h); its on_wake computes an outcome and
 *      calls deliver exactly once per link. Outcomes: RP_SYNC_OK[|DIED] (granted: it holds),
 *      RP_SYNC_W_DESIGNATED (continue on GATE), RP_SYNC_W_RETRY (not granted: look again),
 *      RP_SYNC_W_WOKEN (plain wait woken).
 *   I5 OWNER (RwLock) is cleared by the writer before the CAS that clears WR, and set by the
 *      new writer/designated after the CAS that sets WR/P, so a late store never erases a
 *      newer owner.
 *
 * HAND-OFF END. rp_notify_handoff walks the queue under the bucket lock. Before each wake it
 *   asks whether the hand-off goes on: a thread-local flag, set by the on_wake that ended it
 *   (mutex or writer granted, a waiter designated), says no; the semaphore also stops when
 *   no permit is left. When the queue runs out, the hand-off clears H and W (mutex: HANDOFF
 *   -> 0) still under that lock. A waiter links only under the same lock and only if its
 *   word still holds the value it decided on, so it either is in the queue the hand-off
 *   walks, or sees the cleared word and runs admission again. No waiter is ever woken to
 *   "look again", so nobody loses their place in the queue. (The flag, not a re-read of the
 *   word, decides: a new holder may release and store the same HANDOFF value again.)
 *
 * NO LOST WAKE-UPS. Every link is rp_wait_async_add(&word, expected): linked only if the word
 *   still holds the value the decision was based on, checked under the bucket lock. Every
 *   change that may unblock a linked waiter is a seq_cst RMW of that same word followed by an
 *   rp_notify of it (wait.h "NO LOST WAKE-UPS"). GATE: the designated waiter reads GATE, then
 *   STATE, then links expecting GATE; releasers change STATE, then bump GATE, then notify it.
 *
 * MEMORY ORDER. Every access to a shared word is seq_cst: the words take part in Dekker-style
 *   handshakes (store one word, load another) with each other and with the waiter table's
 *   count, and JS touches some with Atomics (seq_cst): lib/sync does exactly the uncontended
 *   first branches in JS, Mutex lock (CAS 0 -> id << 2) and unlock (CAS id << 2 -> 0), and
 *   Semaphore acquire/release when no flag is set (CAS on the permit count, max checked);
 *   every other case goes through this file. Waiter-private fields (outcome, phase) are written
 *   by on_wake before deliver and read by the waiter's thread after deliver; the deliver
 *   function provides the ordering (release/acquire on a flag or a lock).
 *
 * BLOCKING WAITS (rp_sync_block) try admission RP_SYNC_SPIN times before queueing, and spin
 *   on their own delivery flag as long again before parking on it, so hand-offs between
 *   running threads cost no syscall. Spinning never takes the lock out of turn: admission
 *   honours W, P and H. Async waiters never spin (their thread must keep running its loop).
 *
 * CONCURRENCY
 *   operation                      may run concurrently with
 *   rp_sync_try / rp_sync_step     everything on the same object
 *   rp_sync_release_*              everything; ownership checked against the word
 *   rp_sync_cancel                 everything; exactly one of cancel / on_wake wins (wait.h)
 *   rp_sync_abandon                everything, but only by the waiter's owner after delivery
 *   rp_sync_block                  everything (blocks the calling thread)
 */
#ifndef RP_SYNC_H
#define RP_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "wait.h"

#define RP_SYNC_MAGIC 0x59535052 /* "RPSY" little-endian */
#define RP_SYNC_VERSION 1
#define RP_SYNC_BYTES RP_CACHELINE
#define RP_SYNC_WORDS (RP_SYNC_BYTES / 4)

#define RP_SYNC_I_MAGIC 0
#define RP_SYNC_I_KIND 1
#define RP_SYNC_I_STATE 2
#define RP_SYNC_I_OWNER 3
#define RP_SYNC_I_GATE 4
#define RP_SYNC_I_NEED 5
#define RP_SYNC_I_PARAM 6

#define RP_SYNC_MUTEX 1
#define RP_SYNC_RWLOCK 2
#define RP_SYNC_SEMAPHORE 3
#define RP_SYNC_BARRIER 4
#define RP_SYNC_LATCH 5
#define RP_SYNC_CONDITION 6

/* Thread ids: 1 .. RP_SYNC_ID_MAX. */
#define RP_SYNC_ID_MAX ((1u << 29) - 2)

/* Mutex word */
#define RP_MX_W 1u
#define RP_MX_D 2u
#define RP_MX_SHIFT 2
#define RP_MX_HANDOFF ((1u << 29) - 1)

/* RwLock word */
#define RP_RW_W 1u
#define RP_RW_D 2u
#define RP_RW_WR 4u
#define RP_RW_P 8u
#define RP_RW_H 16u
#define RP_RW_SHIFT 5
#define RP_RW_MAX_READERS ((1u << 26) - 1)

/* Semaphore word */
#define RP_SEM_W 1u
#define RP_SEM_P 2u
#define RP_SEM_H 4u
#define RP_SEM_SHIFT 3
#define RP_SEM_MAX ((1u << 28) - 1)

/* Barrier word */
#define RP_BAR_MAX_PARTIES 65535u
/* Latch */
#define RP_LATCH_MAX 0x7fffffffu

/* Operations a waiter asks for. */
#define RP_SYNC_OP_LOCK 1    /* Mutex */
#define RP_SYNC_OP_READ 2    /* RwLock shared */
#define RP_SYNC_OP_WRITE 3   /* RwLock exclusive */
#define RP_SYNC_OP_ACQUIRE 4 /* Semaphore, k permits */
#define RP_SYNC_OP_BARRIER 5 /* arrive, then wait for the generation to trip */
#define RP_SYNC_OP_LATCH 6   /* wait for zero */
#define RP_SYNC_OP_COND 7    /* wait for a notify: k = the sequence read before unlocking */

/* Results: 0 (busy / not done) or a set of these bits. */
#define RP_SYNC_OK 1
#define RP_SYNC_DIED 2   /* granted, and the previous holder died holding it */
#define RP_SYNC_LEADER 4 /* Barrier: this arrival tripped the generation */
/* rp_sync_step: the waiter is linked; one delivery follows (unless cancelled). */
#define RP_SYNC_QUEUED 8

/* Outcomes set by on_wake (besides RP_SYNC_OK[|RP_SYNC_DIED]). */
#define RP_SYNC_W_RETRY 16
#define RP_SYNC_W_DESIGNATED 32
#define RP_SYNC_W_WOKEN 64

/* Phases of a waiter's state machine. */
#define RP_SYNC_PH_START 0 /* nothing done yet */
#define RP_SYNC_PH_STATE 1 /* waits on STATE (queued) */
#define RP_SYNC_PH_GATE 2  /* designated: waits on GATE */
#define RP_SYNC_PH_DONE 3

/* Errors besides errors.h: mapped by the glue. */
#define RP_SYNC_ENOTOWNER (-20) /* releasing what this thread does not hold */

typedef struct rp_sync_waiter rp_sync_waiter_t;
/* Called by on_wake (any thread, bucket lock held) after it set sw->outcome; hands the
 * waiter to its owner. Must not call into the waiter table. */
typedef void (*rp_sync_deliver_fn)(rp_sync_waiter_t *sw);

struct rp_sync_waiter {
  rp_waiter_t w;           /* first member. Caller sets w.owner and w.token (for cancel) */
  _Atomic int32_t *base;   /* the object's first word */
  int op;                  /* RP_SYNC_OP_* */
  uint32_t id;             /* requesting thread's id (locks) */
  uint32_t k;              /* Semaphore permits; Condition: expected sequence */
  uint32_t gen;            /* Barrier: generation this waiter arrived in */
  int phase;               /* RP_SYNC_PH_*: where rp_sync_step continues */
  int outcome;             /* written by on_wake before deliver; consumed by rp_sync_step */
  rp_sync_deliver_fn deliver;
  void *ctx;               /* free for the deliver function's owner */
};

/* ---- setup ---- */
/* Writes a fresh object. param: Semaphore max, Barrier parties, Latch count; initial:
 * Semaphore initial permits. Returns 0 or RP_ERANGE / RP_EINVAL (nothing written). */
int rp_sync_init(int32_t *base, size_t bytes, int kind, uint32_t param, uint32_t initial);
/* 0 when base/bytes hold an object of `kind` (magic, version, size), else RP_ELAYOUT. */
int rp_sync_check(const int32_t *base, size_t bytes, int kind);
int32_t rp_sync_load(_Atomic int32_t *base, int index);

/* ---- non-blocking ---- */
/* One admission attempt without waiting (tryLock, tryRead, tryWrite, tryAcquire, Latch
 * "is open"). Returns RP_SYNC_OK[|DIED] or 0. May run a handoff for queued waiters first
 * (never waits). RP_ERANGE for k > max on a Semaphore. */
int rp_sync_try(_Atomic int32_t *base, int op, uint32_t id, uint32_t k);

/* ---- waiting ---- */
/* Prepares sw for an operation (does not link it). */
void rp_sync_waiter_init(rp_sync_waiter_t *sw, _Atomic int32_t *base, int op, uint32_t id, uint32_t k);
/* Runs sw's state machine from where it is: consumes a delivered outcome, then tries, links.
 * Returns RP_SYNC_OK[|flags] when done (sw not linked, phase DONE), or RP_SYNC_QUEUED when sw is
 * linked: then deliver(sw) is called exactly once (unless rp_sync_cancel removes it first)
 * and the owner calls rp_sync_step again. RP_ERANGE for impossible requests. */
int rp_sync_step(rp_sync_waiter_t *sw);
/* Removes a linked sw. Returns 1 when removed (and undoes what its queueing implied: a
 * Barrier arrival is withdrawn, a designated waiter steps down); sw is then idle. Returns 0 when
 * it was no longer linked: a delivery has happened or is happening; the owner must wait for it
 * and then call rp_sync_abandon. */
int rp_sync_cancel(rp_sync_waiter_t *sw);
/* For a waiter whose owner gave up after its delivery (timeout, abort, thread exit).
 * keep != 0: a grant is kept and returned (RP_SYNC_OK[|flags]); a Barrier that tripped or a
 * Latch that opened also counts as done. keep == 0: a grant is released again (as if
 * the holder released it normally). Anything else is undone (designated steps down, Barrier
 * arrival withdrawn). Returns the kept result or 0. */
int rp_sync_abandon(rp_sync_waiter_t *sw, int keep);
/* Undoes what a waiter removed from the table by rp_wait_remove_owner implied (the glue's
 * thread teardown); same as the part of rp_sync_cancel after a successful unlink. */
void rp_sync_removed(rp_sync_waiter_t *sw);

/* Blocking wait for (op, id, k) on the calling thread. timeout_ns < 0: no limit; 0: one
 * try. stop (may be NULL) is polled every RP_WAIT_SLICE_NS. Returns RP_SYNC_OK[|flags], 0 on
 * timeout, RP_EINTR when stop asked to give up (nothing kept), RP_ENOMEM, RP_ERANGE. */
int rp_sync_block(_Atomic int32_t *base, int op, uint32_t id, uint32_t k, int64_t timeout_ns, rp_stop_fn stop,
                  void *ctx);

/* ---- releasing and signalling ---- */
/* Mutex: releases the lock held by id. died != 0 marks it (the holder's thread is gone).
 * 0 or RP_SYNC_ENOTOWNER. */
int rp_sync_mutex_unlock(_Atomic int32_t *base, uint32_t id, int died);
/* RwLock writer release; same contract. */
int rp_sync_write_unlock(_Atomic int32_t *base, uint32_t id, int died);
/* RwLock reader release (the glue tracks which thread holds reads). 0 or RP_SYNC_ENOTOWNER
 * when no reader holds it. */
int rp_sync_read_unlock(_Atomic int32_t *base);
/* Semaphore: returns k permits. 0, or RP_ERANGE (nothing changed) when that would exceed max. */
int rp_sync_sem_release(_Atomic int32_t *base, uint32_t k);
/* Latch: counts down by k (saturating at zero); returns the remaining count. */
uint32_t rp_sync_latch_count_down(_Atomic int32_t *base, uint32_t k);
/* Condition: bumps the sequence and wakes up to count waiters; returns how many woke. */
uint32_t rp_sync_cond_notify(_Atomic int32_t *base, uint32_t count);

/* Holder of a Mutex, or writer (holding or designated) of a RwLock; 0 if none. */
uint32_t rp_sync_holder(_Atomic int32_t *base, int kind);

#endif
