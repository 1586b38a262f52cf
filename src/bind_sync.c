/*
 * bind_sync.c - N-API glue for the sync objects (sync.h): Mutex, RwLock, Semaphore, Barrier,
 * Latch, Condition. Translates only; the protocols live in sync.c.
 *
 * Per-environment state (rp_senv_t), one per JS thread that loaded the addon. bind_wait.c owns
 * the env's instance data, so ours travels as the `data` pointer of each function and of the
 * cleanup hook:
 *   id        this thread's identity in lock words (worker threadId + 1, set by syncSetup)
 *   tsfn      wakes this env's event loop to settle async waiters that another thread
 *             granted; referenced exactly while async waiters are outstanding
 *   ready     async waiters whose outcome was delivered (any thread, bucket lock held),
 *             guarded by ready_lock; drained on the env thread
 *   pending   every async waiter not yet settled (env thread): for cancel-by-token, for the
 *             deadlock checks, and for teardown
 *   recs      the table of records (below); holds: the robust list (below)
 *
 * Records (rp_srec_t), one per JS object per thread, live in the env's table and reach JS as
 * their index (validated by bounds, so no pointer from JS is ever dereferenced). A record
 * keeps a strong reference to its object's Int32Array, and is freed by a finalizer of the JS
 * object (napi_add_finalizer) unless it still holds a lock or has a pending waiter: then it
 * lingers as an orphan until released. So the shared memory outlives everything that may
 * still write to it, including the teardown below.
 *
 * The holds table (the robust list). holds[idx] is this thread's hold count on record idx:
 * bit 0 = Mutex / RwLock write held, bits 1.. = RwLock read holds. It lives in an ordinary
 * (non-shared) Int32Array that JS allocates and passes in (syncSetup / syncSetHolds), because
 * the JS Mutex fast path writes it too: lock = set bit 0, then Atomics.compareExchange(STATE,
 * 0, id << 2); unlock = compareExchange(id << 2, 0), then clear bit 0. Teardown releases a
 * mutex only if the word still names this thread, so a thread stopped between the two steps
 * of either sequence is handled correctly. Only this env's thread reads or writes the table.
 *
 * Thread death (worker exit or terminate(), process exit): the cleanup hook runs on the env's
 * thread after its JS stopped. It unlinks every waiter of the env (rp_wait_remove_owner: after
 * that no delivery can reach this env), undoes what each pending waiter implied (a designated
 * head steps down, a barrier arrival is withdrawn, a grant that JS never saw is given back),
 * then releases every lock the thread still holds with the "owner died" mark: the next
 * acquirer is told (RP_SYNC_DIED) instead of waiting forever.
 *
 * Lifetime of rp_senv_t: counted by the cleanup hook and by every live record (finalizers of
 * records may run after the hook, during the env's own teardown). Env thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "napi_util.h"
#include "sync.h"

typedef struct rp_senv rp_senv_t;
typedef struct rp_srec rp_srec_t;
typedef struct rp_saw rp_saw_t;

struct rp_srec {
  int kind;
  uint32_t idx;          /* slot in st->recs and st->holds */
  rp_senv_t *st;
  _Atomic int32_t *base; /* the object's words; touched only through sync.h */
  napi_ref ref;          /* strong, to the Int32Array: keeps the memory alive */
  uint32_t waiters;      /* pending async waiters through this record */
  bool orphan;           /* the JS object is gone while held / waited on: freed when idle */
};

struct rp_saw {
  rp_sync_waiter_t sw; /* first member: deliver receives &sw */
  rp_senv_t *st;
  rp_srec_t *rec;
  napi_deferred deferred;
  bool cancel_requested; /* env thread: give up at delivery instead of continuing */
  rp_saw_t *ready_next;  /* guarded by st->ready_lock */
  rp_saw_t *prev, *next; /* st->pending (env thread) */
};

struct rp_senv {
  napi_env env;
  uint32_t id;
  uint32_t refs; /* cleanup hook + live records */
  napi_threadsafe_function tsfn;
  rp_lock_t ready_lock;
  rp_saw_t *ready_head, *ready_tail; /* guarded by ready_lock */
  bool scheduled;                    /* guarded by ready_lock: a tsfn call is queued */
  bool local_ready;                  /* env thread: it delivered to itself (tl_env == st) */
  rp_saw_t *pending;                 /* env thread */
  uint32_t outstanding;              /* env thread: pending waiters (tsfn is ref'd while > 0) */
  rp_srec_t **recs;                  /* env thread: table of records, NULL = free slot */
  uint32_t cap;                      /* slots in recs and holds */
  uint32_t free_hint;                /* lowest slot that may be free */
  int32_t *holds;                    /* env thread: JS-allocated Int32Array data (see above) */
  napi_ref holds_ref;
  bool closing;                      /* env thread: teardown started */
};

/* Set while this thread runs a core call on behalf of its env: deliveries to that env only
 * append to `ready`, and the caller drains right after, without an event-loop round trip. */
static _Thread_local rp_senv_t *tl_env;

/* ------------------------------------------------------------------ env & records */

static void env_release(rp_senv_t *st) {
  if (--st->refs > 0) return;
  free(st->recs); /* the holds reference dies with the env */
  free(st);
}

#define HOLD_EXCL 1
#define HOLD_READ 2

static void rec_free(rp_srec_t *r) {
  rp_senv_t *st = r->st;
  if (!st->closing) napi_delete_reference(st->env, r->ref);
  st->recs[r->idx] = NULL;
  if (r->idx < st->free_hint) st->free_hint = r->idx;
  free(r);
  env_release(st);
}

static bool rec_busy(rp_srec_t *r) { return r->st->holds[r->idx] != 0 || r->waiters > 0; }

/* An orphan is freed as soon as it neither holds nor waits. */
static void rec_maybe_free(rp_srec_t *r) {
  if (r->orphan && !rec_busy(r)) rec_free(r);
}

static void rec_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rp_srec_t *r = (rp_srec_t *)data;
  if (r->st->closing || !rec_busy(r)) rec_free(r);
  else r->orphan = true; /* still holds a lock or waits: freed when idle, or at teardown */
}

/* Records that a grant of `op` now belongs to this thread. */
static void hold(rp_srec_t *r, int op) {
  if (op == RP_SYNC_OP_LOCK || op == RP_SYNC_OP_WRITE) r->st->holds[r->idx] |= HOLD_EXCL;
  else if (op == RP_SYNC_OP_READ) r->st->holds[r->idx] += HOLD_READ;
}

/* The record of this thread that holds `op` on the same object: r itself if it does, else
 * another record of the same buffer (another JS object over it). NULL when none. */
static rp_srec_t *holder_rec(rp_srec_t *r, int op) {
  rp_senv_t *st = r->st;
  int32_t mask = op == RP_SYNC_OP_READ ? ~HOLD_EXCL : HOLD_EXCL;
  if (st->holds[r->idx] & mask) return r;
  for (uint32_t i = 0; i < st->cap; i++) {
    rp_srec_t *x = st->recs[i];
    if (x && x->base == r->base && (st->holds[i] & mask)) return x;
  }
  return NULL;
}

static void unhold(rp_srec_t *r, int op) {
  rp_srec_t *x = holder_rec(r, op);
  if (!x) return;
  if (op == RP_SYNC_OP_READ) x->st->holds[x->idx] -= HOLD_READ;
  else x->st->holds[x->idx] &= ~HOLD_EXCL;
  rec_maybe_free(x);
}

/* ------------------------------------------------------------------ async waiters */

static void deliver(rp_sync_waiter_t *sw) {
  rp_saw_t *aw = (rp_saw_t *)(void *)sw;
  rp_senv_t *st = aw->st;
  bool call = false;
  aw->ready_next = NULL;
  rp_lock_acquire(&st->ready_lock); /* orders sw->outcome before the drain that reads it */
  if (st->ready_tail) st->ready_tail->ready_next = aw;
  else st->ready_head = aw;
  st->ready_tail = aw;
  if (tl_env == st) {
    st->local_ready = true; /* we are on the env's own thread: it drains after the core call */
  } else if (!st->scheduled) {
    st->scheduled = true;
    call = true;
  }
  rp_lock_release(&st->ready_lock);
  if (call) rp__call_at_walk_end(st->tsfn); /* deliver runs inside a notify walk (on_wake) */
}

static void pending_unlink(rp_senv_t *st, rp_saw_t *aw) {
  if (aw->prev) aw->prev->next = aw->next;
  else st->pending = aw->next;
  if (aw->next) aw->next->prev = aw->prev;
}

/* Resolves aw's promise with r (RP_SYNC_* bits, 0 = cancelled, < 0 = error code) and frees it. */
static void settle(rp_senv_t *st, rp_saw_t *aw, int r) {
  napi_value v;
  if (r > 0 && (r & RP_SYNC_OK)) hold(aw->rec, aw->sw.op);
  if (napi_create_int32(st->env, r, &v) == napi_ok) napi_resolve_deferred(st->env, aw->deferred, v);
  pending_unlink(st, aw);
  aw->rec->waiters--;
  rec_maybe_free(aw->rec);
  free(aw);
  if (--st->outstanding == 0) napi_unref_threadsafe_function(st->env, st->tsfn);
}

static void drain(rp_senv_t *st) {
  rp_senv_t *saved = tl_env;
  tl_env = st; /* steps below may grant our own waiters: collect, loop, no tsfn call */
  for (;;) {
    rp_lock_acquire(&st->ready_lock);
    rp_saw_t *aw = st->ready_head;
    st->ready_head = st->ready_tail = NULL;
    st->scheduled = false;
    st->local_ready = false;
    rp_lock_release(&st->ready_lock);
    if (!aw) break;
    while (aw) {
      rp_saw_t *next = aw->ready_next;
      if (aw->cancel_requested) {
        settle(st, aw, rp_sync_abandon(&aw->sw, 1)); /* a grant that won the race is kept */
      } else {
        int r = rp_sync_step(&aw->sw);
        if (r != RP_SYNC_QUEUED) settle(st, aw, r);
      }
      aw = next;
    }
  }
  tl_env = saved;
}

/* Ends a core call made with tl_env = st. */
static void end_core(rp_senv_t *st) {
  tl_env = NULL;
  if (st->local_ready) drain(st);
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)data;
  if (env == NULL) return; /* teardown: the cleanup hook handles everything */
  drain((rp_senv_t *)context);
}

/* ------------------------------------------------------------------ argument reading */

static rp_senv_t *get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) {
    rp__throw_last(env);
    return NULL;
  }
  if (argc < want) {
    napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  rp_senv_t *st = (rp_senv_t *)data;
  if (st->closing) {
    napi_throw_error(env, "ERR_RINGPOOL_INTERRUPTED", "ringpool sync: this thread is shutting down");
    return NULL;
  }
  return st;
}

/* A record index from syncOpen, of this thread. */
static rp_srec_t *get_rec(napi_env env, rp_senv_t *st, napi_value v) {
  uint32_t idx;
  if (napi_get_value_uint32(env, v, &idx) != napi_ok || idx >= st->cap || !st->recs[idx]) {
    napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "expected a ringpool sync record index");
    return NULL;
  }
  return st->recs[idx];
}

/* The arguments of a call whose first one is a record index: the thread's state in *st and
 * the record, or NULL with an exception pending. */
static rp_srec_t *get_rec_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage,
                               rp_senv_t **st) {
  *st = get_args(env, info, n, argv, usage);
  return *st ? get_rec(env, *st, argv[0]) : NULL;
}

static bool get_u32(napi_env env, napi_value v, const char *name, uint32_t lo, uint32_t hi, uint32_t *out) {
  int64_t x;
  if (!rp__get_int(env, v, name, lo, hi, &x)) return false;
  *out = (uint32_t)x;
  return true;
}

/* An Int32Array of exactly RP_SYNC_BYTES, aligned. */
static bool get_view(napi_env env, napi_value v, int32_t **base) {
  void *data;
  size_t len;
  if (!rp__get_typed(env, v, napi_int32_array, "i32", &data, &len)) return false;
  if (len * 4 != RP_SYNC_BYTES) {
    rp__throw_code(env, RP_ELAYOUT, "sync object");
    return false;
  }
  if (!rp__check_align(env, data, 4, "i32")) return false;
  *base = (int32_t *)data;
  return true;
}

static napi_value num(napi_env env, int64_t v) { return rp__int(env, v); }

/* ------------------------------------------------------------------ functions */

/* Installs the holds table: an Int32Array over an ordinary ArrayBuffer, at least as long as
 * the current one, whose first st->cap entries are a copy of the current table (JS copies). */
static bool set_holds(napi_env env, rp_senv_t *st, napi_value v) {
  void *data;
  size_t len;
  napi_ref ref;
  if (!rp__get_typed(env, v, napi_int32_array, "holds", &data, &len)) return false;
  if (len < st->cap || len > (1u << 24)) {
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", "holds table must not shrink");
    return false;
  }
  rp_srec_t **recs = realloc(st->recs, len * sizeof *recs);
  if (!recs) {
    rp__throw_code(env, RP_ENOMEM, "syncSetHolds");
    return false;
  }
  memset(recs + st->cap, 0, (len - st->cap) * sizeof *recs);
  st->recs = recs;
  if (napi_create_reference(env, v, 1, &ref) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  if (st->holds_ref) napi_delete_reference(env, st->holds_ref);
  st->holds_ref = ref;
  st->holds = (int32_t *)data;
  st->cap = (uint32_t)len;
  return true;
}

/* syncSetup(id, holds): this thread's identity (worker threadId + 1) and its holds table. */
static napi_value js_setup(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t id;
  rp_senv_t *st = get_args(env, info, 2, argv, "syncSetup expects (id, holds)");
  if (!st || !get_u32(env, argv[0], "id", 1, RP_SYNC_ID_MAX, &id)) return NULL;
  if (st->id != 0 && st->id != id) RP_THROW(env, "ERR_RINGPOOL_INVALID_STATE", "syncSetup: id already set");
  if (st->holds) return rp__undefined(env); /* already set up (a second copy of the JS layer) */
  if (!set_holds(env, st, argv[1])) return NULL;
  st->id = id;
  return rp__undefined(env);
}

/* syncSetHolds(holds): a bigger holds table (JS copied the old entries into it). */
static napi_value js_set_holds(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  rp_senv_t *st = get_args(env, info, 1, argv, "syncSetHolds expects (holds)");
  if (!st || !set_holds(env, st, argv[0])) return NULL;
  return rp__undefined(env);
}

/* syncInit(i32, kind, param, initial): writes a fresh object into i32. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t *base;
  uint32_t kind, param, initial;
  rp_senv_t *st = get_args(env, info, 4, argv, "syncInit expects (i32, kind, param, initial)");
  if (!st || !get_view(env, argv[0], &base) || !get_u32(env, argv[1], "kind", 1, 6, &kind) ||
      !get_u32(env, argv[2], "param", 0, UINT32_MAX, &param) ||
      !get_u32(env, argv[3], "initial", 0, UINT32_MAX, &initial))
    return NULL;
  int rc = rp_sync_init(base, RP_SYNC_BYTES, (int)kind, param, initial);
  if (rc < 0) RP_THROW_RC(env, rc, "syncInit");
  return rp__undefined(env);
}

/* syncOpen(owner, i32, kind) -> record index, or -1 when the holds table is full (JS grows it
 * with syncSetHolds and asks again). Validates the layout (RP_ELAYOUT -> BAD_LAYOUT). The record
 * lives until `owner` (the JS object) is collected. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t *base;
  uint32_t kind, idx;
  napi_valuetype t;
  rp_senv_t *st = get_args(env, info, 3, argv, "syncOpen expects (owner, i32, kind)");
  if (!st) return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
    RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "syncOpen: owner must be an object");
  if (!get_view(env, argv[1], &base) || !get_u32(env, argv[2], "kind", 1, 6, &kind)) return NULL;
  if (st->id == 0) RP_THROW(env, "ERR_RINGPOOL_INVALID_STATE", "syncOpen before syncSetup");
  int rc = rp_sync_check(base, RP_SYNC_BYTES, (int)kind);
  if (rc < 0) RP_THROW_RC(env, rc, "syncOpen");
  for (idx = st->free_hint; idx < st->cap && st->recs[idx]; idx++) {
  }
  st->free_hint = idx;
  if (idx == st->cap) return num(env, -1);
  rp_srec_t *r = calloc(1, sizeof *r);
  if (!r) RP_THROW_RC(env, RP_ENOMEM, "syncOpen");
  r->kind = (int)kind;
  r->idx = idx;
  r->st = st;
  r->base = RP_A32(base);
  if (napi_create_reference(env, argv[1], 1, &r->ref) != napi_ok) {
    free(r);
    rp__throw_last(env);
    return NULL;
  }
  if (napi_add_finalizer(env, argv[0], r, rec_finalize, NULL, NULL) != napi_ok) {
    napi_delete_reference(env, r->ref);
    free(r);
    rp__throw_last(env);
    return NULL;
  }
  st->holds[idx] = 0;
  st->recs[idx] = r;
  st->refs++; /* released by rec_free */
  return num(env, idx);
}

static bool get_op(napi_env env, rp_srec_t *r, napi_value v, uint32_t *op) {
  static const int kinds[8] = {0, RP_SYNC_MUTEX, RP_SYNC_RWLOCK, RP_SYNC_RWLOCK, RP_SYNC_SEMAPHORE,
                               RP_SYNC_BARRIER, RP_SYNC_LATCH, RP_SYNC_CONDITION};
  if (!get_u32(env, v, "op", 1, 7, op)) return false;
  if (kinds[*op] != r->kind) {
    napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "operation does not apply to this sync object");
    return false;
  }
  return true;
}

/* syncTry(rec, op, k) -> RP_SYNC_* bits, 0 when it would have to wait. */
static napi_value js_try(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t op, k;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 3, argv, "syncTry expects (rec, op, k)", &st);
  if (!r || !get_op(env, r, argv[1], &op) || !get_u32(env, argv[2], "k", 0, UINT32_MAX, &k)) return NULL;
  tl_env = st;
  int res = rp_sync_try(r->base, (int)op, st->id, k);
  if (res > 0) hold(r, (int)op);
  end_core(st);
  if (res < 0) RP_THROW_RC(env, res, "try");
  return num(env, res);
}

/* syncAcquire(rec, op, k, token) -> Promise<RP_SYNC_* bits, 0 when cancelled>. The promise
 * settles on this thread's event loop; syncCancel(rec, token) gives up. */
static napi_value js_acquire(napi_env env, napi_callback_info info) {
  napi_value argv[4], promise;
  uint32_t op, k;
  int64_t token;
  napi_deferred deferred;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 4, argv, "syncAcquire expects (rec, op, k, token)", &st);
  if (!r || !get_op(env, r, argv[1], &op) || !get_u32(env, argv[2], "k", 0, UINT32_MAX, &k) ||
      !rp__get_int(env, argv[3], "token", 0, (int64_t)1 << 52, &token))
    return NULL;
  rp_saw_t *aw = calloc(1, sizeof *aw);
  if (!aw) RP_THROW_RC(env, RP_ENOMEM, "acquire");
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    free(aw);
    rp__throw_last(env);
    return NULL;
  }
  rp_sync_waiter_init(&aw->sw, r->base, (int)op, st->id, k);
  aw->sw.deliver = deliver;
  aw->sw.w.owner = st;
  aw->sw.w.token = (uint64_t)token;
  aw->st = st;
  aw->rec = r;
  aw->deferred = deferred;
  aw->next = st->pending;
  if (st->pending) st->pending->prev = aw;
  st->pending = aw;
  r->waiters++;
  if (st->outstanding++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
  tl_env = st;
  int res = rp_sync_step(&aw->sw);
  if (res != RP_SYNC_QUEUED) settle(st, aw, res);
  end_core(st);
  return promise;
}

static rp_saw_t *find_pending(rp_senv_t *st, uint64_t token) {
  for (rp_saw_t *aw = st->pending; aw; aw = aw->next)
    if (aw->sw.w.token == token) return aw;
  return NULL;
}

/* syncCancel(rec, token) -> true when the waiter was removed now (its promise settles with 0,
 * or with the result if it completed anyway); false when it already settled or its outcome is
 * on the way (it then settles with that outcome; a grant is kept). */
static napi_value js_cancel(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t token;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 2, argv, "syncCancel expects (rec, token)", &st);
  if (!r || !rp__get_int(env, argv[1], "token", 0, (int64_t)1 << 52, &token)) return NULL;
  rp_saw_t *aw = find_pending(st, (uint64_t)token);
  if (!aw || aw->cancel_requested) return rp__bool(env, false);
  aw->cancel_requested = true;
  tl_env = st;
  int c = rp_sync_cancel(&aw->sw);
  if (c >= 0) settle(st, aw, c);
  end_core(st);
  return rp__bool(env, c >= 0);
}

/* Would a blocking wait for op on r deadlock this very thread? (It holds the lock, or one of
 * its own async waiters is queued for it and could only be served by this blocked thread.) */
static bool would_deadlock(rp_senv_t *st, rp_srec_t *r, int op) {
  if (op == RP_SYNC_OP_LOCK || op == RP_SYNC_OP_READ || op == RP_SYNC_OP_WRITE) {
    if (rp_sync_holder(r->base, r->kind) == st->id) return true;
    for (rp_saw_t *aw = st->pending; aw; aw = aw->next)
      if (aw->rec->base == r->base) return true;
    /* Its own read hold: a writer queued meanwhile would wait for it, and we for the writer. */
    if (holder_rec(r, RP_SYNC_OP_READ)) return true;
  }
  return false;
}

/* syncAcquireSync(rec, op, k, timeoutMs) -> RP_SYNC_* bits, 0 on timeout. Blocks the thread. */
static napi_value js_acquire_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t op, k;
  double ms;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 4, argv, "syncAcquireSync expects (rec, op, k, timeoutMs)", &st);
  if (!r || !get_op(env, r, argv[1], &op) || !get_u32(env, argv[2], "k", 0, UINT32_MAX, &k) ||
      !rp__get_double(env, argv[3], "timeoutMs", &ms))
    return NULL;
  if (would_deadlock(st, r, (int)op)) {
    tl_env = st;
    int t = rp_sync_try(r->base, (int)op, st->id, k); /* e.g. a second read that is admitted */
    if (t > 0) hold(r, (int)op);
    end_core(st);
    if (t > 0) return num(env, t);
    RP_THROW(env, "ERR_RINGPOOL_WOULD_DEADLOCK",
             "blocking here would deadlock: this thread holds the lock, or waits for it asynchronously");
  }
  int res = rp_sync_block(r->base, (int)op, st->id, k, rp__timeout_ns(ms), rp__stop_check, env);
  if (res > 0) hold(r, (int)op);
  if (res < 0) RP_THROW_RC(env, res, "blocking wait");
  return num(env, res);
}

/* syncRelease(rec, op, k) -> 0, -1 not held by this thread, -2 more than the maximum. */
static napi_value js_release(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t op, k;
  int rc = 0;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 3, argv, "syncRelease expects (rec, op, k)", &st);
  if (!r || !get_op(env, r, argv[1], &op) || !get_u32(env, argv[2], "k", 0, UINT32_MAX, &k)) return NULL;
  tl_env = st;
  switch (op) {
  case RP_SYNC_OP_LOCK:
    rc = rp_sync_mutex_unlock(r->base, st->id, 0);
    if (rc == 0) unhold(r, RP_SYNC_OP_LOCK);
    break;
  case RP_SYNC_OP_WRITE:
    rc = rp_sync_write_unlock(r->base, st->id, 0);
    if (rc == 0) unhold(r, RP_SYNC_OP_WRITE);
    break;
  case RP_SYNC_OP_READ:
    if (!holder_rec(r, RP_SYNC_OP_READ)) rc = RP_SYNC_ENOTOWNER;
    else if ((rc = rp_sync_read_unlock(r->base)) == 0) unhold(r, RP_SYNC_OP_READ);
    break;
  case RP_SYNC_OP_ACQUIRE: rc = rp_sync_sem_release(r->base, k); break;
  default: rc = RP_EINVAL;
  }
  end_core(st);
  if (rc == RP_SYNC_ENOTOWNER) return num(env, -1);
  if (rc == RP_ERANGE) return num(env, -2);
  if (rc < 0) RP_THROW_RC(env, rc, "release");
  return num(env, 0);
}

/* syncCountDown(rec, k) -> remaining (Latch). */
static napi_value js_count_down(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t k;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 2, argv, "syncCountDown expects (rec, k)", &st);
  if (!r || !get_u32(env, argv[1], "k", 0, UINT32_MAX, &k)) return NULL;
  if (r->kind != RP_SYNC_LATCH) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "not a latch");
  tl_env = st;
  uint32_t left = rp_sync_latch_count_down(r->base, k);
  end_core(st);
  return num(env, left);
}

/* syncNotify(rec, count) -> number woken (Condition). */
static napi_value js_notify(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double c;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 2, argv, "syncNotify expects (rec, count)", &st);
  if (!r || !rp__get_double(env, argv[1], "count", &c)) return NULL;
  if (r->kind != RP_SYNC_CONDITION) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "not a condition");
  uint32_t count = (c != c || c <= 0) ? 0 : (c >= 4294967295.0 ? UINT32_MAX : (uint32_t)c);
  tl_env = st;
  uint32_t n = rp_sync_cond_notify(r->base, count);
  end_core(st);
  return num(env, n);
}

/* syncLoad(rec, index) -> the int32 word (snapshots for getters and tests). */
static napi_value js_load(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t index;
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 2, argv, "syncLoad expects (rec, index)", &st);
  if (!r || !get_u32(env, argv[1], "index", 0, RP_SYNC_WORDS - 1, &index)) return NULL;
  return num(env, rp_sync_load(r->base, (int)index));
}

/* syncHolder(rec) -> id of the mutex holder / rwlock writer, 0 if none; syncHeld(rec) -> how
 * many holds this thread has on the object (any of its records). */
static napi_value js_holder(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 1, argv, "syncHolder expects (rec)", &st);
  if (!r) return NULL;
  return num(env, rp_sync_holder(r->base, r->kind));
}

static napi_value js_held(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  rp_senv_t *st;
  rp_srec_t *r = get_rec_args(env, info, 1, argv, "syncHeld expects (rec)", &st);
  if (!r) return NULL;
  int64_t n = 0;
  for (uint32_t i = 0; i < st->cap; i++)
    if (st->recs[i] && st->recs[i]->base == r->base) n += (st->holds[i] & HOLD_EXCL) + (st->holds[i] >> 1);
  return num(env, n);
}

/* syncCondWaitSync(cv, mu, timeoutMs) -> -1 when mu is not held by this thread, else bit 0:
 * woken (1) or timed out (0), plus RP_SYNC_DIED from re-locking mu. mu is held again on return
 * (unless the thread is being terminated: ERR_RINGPOOL_INTERRUPTED). */
static napi_value js_cond_wait_sync(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double ms;
  rp_senv_t *st;
  rp_srec_t *cv = get_rec_args(env, info, 3, argv, "syncCondWaitSync expects (cv, mu, timeoutMs)", &st);
  if (!cv) return NULL;
  rp_srec_t *mu = get_rec(env, st, argv[1]);
  if (!mu || !rp__get_double(env, argv[2], "timeoutMs", &ms)) return NULL;
  if (cv->kind != RP_SYNC_CONDITION || mu->kind != RP_SYNC_MUTEX)
    RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "expected (condition, mutex)");
  uint32_t seq = (uint32_t)rp_sync_load(cv->base, RP_SYNC_I_STATE);
  tl_env = st;
  int rc = rp_sync_mutex_unlock(mu->base, st->id, 0);
  if (rc == 0) unhold(mu, RP_SYNC_OP_LOCK);
  end_core(st);
  if (rc != 0) return num(env, -1);
  int w = rp_sync_block(cv->base, RP_SYNC_OP_COND, st->id, seq, rp__timeout_ns(ms), rp__stop_check, env);
  if (w == RP_EINTR) RP_THROW_RC(env, w, "Condition.waitSync");
  int l = rp_sync_block(mu->base, RP_SYNC_OP_LOCK, st->id, 0, -1, rp__stop_check, env);
  if (l > 0) hold(mu, RP_SYNC_OP_LOCK);
  if (l < 0) RP_THROW_RC(env, l, "Condition.waitSync");
  return num(env, (w > 0 ? 1 : 0) | (l & RP_SYNC_DIED));
}

/* ------------------------------------------------------------------ lifetime */

static void cleanup(void *arg) {
  rp_senv_t *st = (rp_senv_t *)arg;
  st->closing = true;
  /* 1. No delivery can reach this env after this (wait.h: rp_wait_remove_owner). */
  rp_waiter_t *chain = rp_wait_remove_owner(st);
  for (rp_waiter_t *w = chain; w; w = w->ready_next) rp_sync_removed((rp_sync_waiter_t *)(void *)w);
  /* 2. Delivered, never seen by JS: undo (a grant is given back as an ordinary release). */
  rp_saw_t *ready = st->ready_head;
  st->ready_head = st->ready_tail = NULL;
  for (rp_saw_t *aw = ready; aw; aw = aw->ready_next) rp_sync_abandon(&aw->sw, 0);
  /* 3. Every pending waiter is in 1 or 2; their promises die with the env. */
  for (rp_saw_t *aw = st->pending, *next; aw; aw = next) {
    next = aw->next;
    aw->rec->waiters--;
    free(aw);
  }
  st->pending = NULL;
  /* 4. The robust list: what this thread still holds is released with the owner-died mark.
   * The core checks the word's owner, so a stale excl bit (see the holds table) is harmless. */
  for (uint32_t i = 0; i < st->cap; i++) {
    rp_srec_t *r = st->recs[i];
    if (!r) continue;
    int32_t h = st->holds[i];
    if (h & HOLD_EXCL) {
      if (r->kind == RP_SYNC_MUTEX) rp_sync_mutex_unlock(r->base, st->id, 1);
      else if (r->kind == RP_SYNC_RWLOCK) rp_sync_write_unlock(r->base, st->id, 1);
    }
    if (r->kind == RP_SYNC_RWLOCK)
      for (int32_t n = h >> 1; n > 0; n--) rp_sync_read_unlock(r->base);
    st->holds[i] = 0;
    if (r->orphan) rec_free(r);
  }
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
  env_release(st);
}

bool rp_bind_sync(napi_env env, napi_value exports) {
  rp_senv_t *st = calloc(1, sizeof *st);
  if (!st) {
    napi_throw_error(env, "ERR_RINGPOOL_NO_MEMORY", "ringpool: out of memory at load");
    return false;
  }
  st->env = env;
  st->refs = 1;
  napi_value name;
  if (napi_create_string_latin1(env, "ringpool.sync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, st, call_js, &st->tsfn) != napi_ok) {
    free(st);
    rp__throw_last(env);
    return false;
  }
  napi_unref_threadsafe_function(env, st->tsfn);
  /* Registered after the tsfn: cleanup hooks run in reverse order, so ours runs before
   * Node's own teardown of the tsfn. */
  if (napi_add_env_cleanup_hook(env, cleanup, st) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  static const rp_fn_entry fns[] = {
      {"syncSetup", js_setup},     {"syncSetHolds", js_set_holds}, {"syncInit", js_init},
      {"syncOpen", js_open},       {"syncTry", js_try},
      {"syncAcquire", js_acquire}, {"syncCancel", js_cancel},
      {"syncAcquireSync", js_acquire_sync}, {"syncRelease", js_release},
      {"syncCountDown", js_count_down},     {"syncNotify", js_notify},
      {"syncLoad", js_load},       {"syncHolder", js_holder},
      {"syncHeld", js_held},       {"syncCondWaitSync", js_cond_wait_sync},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, st, &fn) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) {
      rp__throw_last(env);
      return false;
    }
  }
  return true;
}
