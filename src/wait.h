/*
 * wait.h - the process-wide waiter table: futex-style wait / notify on any int32 cell of
 * shared memory, for blocking waiters (any thread) and async waiters (settled on the event
 * loop of the JS environment that made them, by the N-API glue).
 *
 * LAYOUT
 *   A fixed array of RP_WAIT_BUCKETS buckets, each on its own cache line(s):
 *     lock    0/1/2 futex lock word (0 free, 1 held, 2 held with sleepers)
 *     count   number of waiters queued in this bucket (any address)
 *     head, tail   doubly linked FIFO list of rp_waiter_t, all addresses hashed here
 *   The table is the only mutable global of the core; it is zero-initialised static
 *   storage, so it needs no constructor and works before any other call.
 *
 * INVARIANTS
 *   - A waiter is linked in exactly the bucket hash(addr) from rp_wait_*_add until it is
 *     unlinked by rp_notify (woken), by a timeout/cancel, or by rp_wait_remove_owner.
 *     Unlinking happens only under the bucket lock, so each waiter leaves exactly once.
 *   - count == number of linked waiters, changed only under the lock (seq_cst, because
 *     rp_notify reads it without the lock; see below).
 *   - FIFO per address: a waiter is appended at the tail; rp_notify scans from the head and
 *     wakes the first `count` waiters whose addr matches.
 *
 * NO LOST WAKE-UPS (why notify may skip the lock when count == 0)
 *   waiter:   count++ (seq_cst, under lock) ; then load *addr (seq_cst) and compare
 *   notifier: store *addr (seq_cst, done by the caller, e.g. JS Atomics.store) ; then
 *             load count (seq_cst)
 *   In the single total order of seq_cst operations, either the waiter's load sees the new
 *   value (and it does not sleep), or the notifier's load of count sees the waiter.
 *
 * CONCURRENCY
 *   operation            may run concurrently with
 *   rp_wait_block        everything (each blocking waiter parks on its own `state` word)
 *   rp_wait_async_add    everything
 *   rp_notify            everything; wakes FIFO, returns exactly min(count, waiters on addr)
 *   rp_wait_async_cancel everything; exactly one of cancel / notify / remove_owner wins
 *   rp_wait_remove_owner everything; after it returns, no notify can reach the owner's
 *                        on_wake again (every path to it goes through a linked waiter)
 */
#ifndef RP_WAIT_H
#define RP_WAIT_H

#include <stdint.h>

#include "platform.h"

#define RP_WAIT_BUCKETS 256

/* Outcomes of a wait (not errors). */
#define RP_WAIT_OK 0
#define RP_WAIT_NOT_EQUAL 1
#define RP_WAIT_TIMED_OUT 2

/* A blocking wait sleeps in slices of at most this long and calls its stop function
 * between slices, so a thread that is being terminated leaves the wait promptly. */
#define RP_WAIT_SLICE_NS (20 * 1000 * 1000LL)

/* Returns nonzero when the waiting thread must give up (e.g. its JS environment is being
 * torn down). Called on the waiting thread, without any lock held. */
typedef int (*rp_stop_fn)(void *ctx);

typedef struct rp_waiter rp_waiter_t;

/* Called by rp_notify on the notifying thread, with the bucket lock held, for an async
 * waiter that has just been unlinked. It must not call back into the table. */
typedef void (*rp_wake_fn)(rp_waiter_t *w);

#define RP_WAITER_BLOCKING 0
#define RP_WAITER_ASYNC 1

struct rp_waiter {
  rp_waiter_t *prev, *next;     /* bucket list links; guarded by the bucket lock */
  _Atomic int32_t *addr;        /* the cell waited on */
  int kind;                     /* RP_WAITER_BLOCKING or RP_WAITER_ASYNC */
  _Atomic uint32_t state;       /* blocking: 0 waiting, 1 woken (futex word) */
  /* async only: owned by the glue */
  rp_wake_fn on_wake;
  void *owner;                  /* e.g. the per-env state; matched by cancel/remove_owner */
  uint64_t token;               /* owner-unique id, matched by cancel */
  rp_waiter_t *ready_next;      /* free for the owner's use once the waiter is unlinked */
  void *data;                   /* free for the owner's use (e.g. a napi_deferred) */
  int result;                   /* set by the owner: RP_WAIT_OK / RP_WAIT_TIMED_OUT */
  void *pin;                    /* free for the owner's use (e.g. a reference keeping the buffer alive) */
  _Atomic int32_t *count;       /* free for the owner's use (e.g. a waiter count its on_wake decrements) */
};

/* Blocks the calling thread while *addr == expected, until notified or timed out.
 * timeout_ns < 0 waits without limit. Returns RP_WAIT_OK, RP_WAIT_NOT_EQUAL,
 * RP_WAIT_TIMED_OUT, or RP_EINTR when `stop` (may be NULL) asked to give up. */
int rp_wait_block(_Atomic int32_t *addr, int32_t expected, int64_t timeout_ns, rp_stop_fn stop, void *ctx);

/* Queues an async waiter on addr if *addr == expected. The caller has filled on_wake, owner,
 * token and data. Returns RP_WAIT_OK when queued, RP_WAIT_NOT_EQUAL when not. */
int rp_wait_async_add(rp_waiter_t *w, _Atomic int32_t *addr, int32_t expected);

/* Unlinks the async waiter of (owner, token) on addr if it is still queued: returns it
 * (the caller settles it as timed out), or NULL if notify or remove_owner got it first. */
rp_waiter_t *rp_wait_async_cancel(_Atomic int32_t *addr, void *owner, uint64_t token);

/* Installs fn (may be NULL) to be called on the notifying thread after each walk of
 * rp_notify / rp_notify_handoff that woke at least one async waiter, with the bucket lock
 * still held, so that the on_wake calls of one walk can defer shared work to its end (the
 * glue requests one event-loop wake-up per woken thread there). It must not call into the
 * table. Meant to be set once, before any waiting; later calls replace it. */
void rp_wait_set_after_walk(void (*fn)(void));

/* Wakes up to `count` waiters on addr in FIFO order and returns how many it woke.
 * With nobody waiting in addr's bucket this is one atomic load. */
uint32_t rp_notify(_Atomic int32_t *addr, uint32_t count);

/* Serves a hand-off under one hold of addr's bucket lock: before each wake it asks
 * go_on(ctx) whether the hand-off continues (it reads what earlier on_wakes did); it wakes
 * the next waiter on addr in FIFO order while go_on says so; when no waiter on addr is left
 * it calls drained(ctx), still under the lock, and stops. Waiters link only under this lock
 * after re-checking their word (add_if_equal), so a state change made by drained cannot
 * race with a waiter that decided to link on the old value: that link fails and the waiter
 * looks again. Returns the number woken. go_on and drained must not call into the table. */
typedef int (*rp_handoff_go_fn)(void *ctx);
typedef void (*rp_handoff_drained_fn)(void *ctx);
uint32_t rp_notify_handoff(_Atomic int32_t *addr, rp_handoff_go_fn go_on, rp_handoff_drained_fn drained, void *ctx);

/* Unlinks every async waiter belonging to owner, chaining them through ready_next;
 * returns the chain (the caller frees them). For environment teardown. */
rp_waiter_t *rp_wait_remove_owner(void *owner);

/* Reads a shared cell (seq_cst), for glue code that must not do atomics itself. */
int32_t rp_load32(_Atomic int32_t *addr);

/* A small futex lock (Drepper's 0/1/2 protocol) for the glue's own short critical sections,
 * e.g. a per-thread list of woken async waiters. Zero-initialised means unlocked. */
typedef struct {
  _Atomic uint32_t word;
} rp_lock_t;
void rp_lock_acquire(rp_lock_t *l);
void rp_lock_release(rp_lock_t *l);

/* Number of waiters currently queued on addr (for tests and diagnostics; takes the lock). */
uint32_t rp_wait_count(_Atomic int32_t *addr);

#endif
