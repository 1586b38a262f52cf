/*
 * bind_wait.c - N-API glue for wait / notify / waitAsync over the waiter table (wait.h).
 *
 * Per-environment state (one per JS thread that loaded the addon, kept as instance data):
 *   tsfn      a thread-safe function; notifiers on other threads call it to get the env's
 *             thread to settle the async waiters they woke. Referenced (keeps the loop
 *             alive) exactly while this env has async waiters outstanding.
 *   ready     woken-but-not-yet-settled waiters: a lock-free stack that rp_notify's on_wake
 *             pushes onto (any thread, bucket lock held) and the env's thread takes whole
 *             (drain), settling the batch in wake order. The push that finds it empty asks
 *             for a drain (tsfn call); later ones only push, so many wake-ups cost one
 *             event-loop wake-up.
 * Lifetime: an async waiter is malloc'd by waitAsync, linked in the table, and freed on the
 * env's thread when it settles (drain or cancel) or at env teardown. The cleanup hook first
 * unlinks every waiter of the env (rp_wait_remove_owner), after which no notifier can reach
 * this state, then releases the tsfn and frees everything.
 */
#include <math.h>
#include <stdlib.h>

#include "errors.h"
#include "napi_util.h"
#include "wait.h"

/* A SharedArrayBuffer kept alive while this env has async waiters on it: one reference
 * per buffer (not per waiter), counted by its waiters. Env thread only. */
typedef struct {
  void *base; /* the buffer's first byte: identifies it */
  napi_ref ref;
  uint32_t waiters;
} rp_pin_t;

typedef struct rp_env {
  napi_env env;
  rp_pin_t *pins;                               /* env thread only */
  uint32_t npins, cap_pins;
  napi_threadsafe_function tsfn;
  _Atomic(rp_waiter_t *) ready; /* newest first, linked through ready_next */
  uint32_t outstanding;                 /* env thread only: async waiters not yet settled */
  bool closing;                         /* env thread only: teardown started */
} rp_env_t;

/* Set while this thread runs rp_notify from JS, so that waiters of this very thread are
 * settled synchronously after the notify instead of through an event-loop round trip. */
static _Thread_local rp_env_t *rp_notifying_env;

static rp_env_t *get_state(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (rp_env_t *)data;
}

/* ---- settling (env thread) ---- */

/* Takes one waiter's hold on the buffer starting at base; creates the reference on first use. */
static bool pin_acquire(rp_env_t *st, napi_value view, void *base) {
  for (uint32_t i = 0; i < st->npins; i++) {
    if (st->pins[i].base == base) {
      st->pins[i].waiters++;
      return true;
    }
  }
  if (st->npins == st->cap_pins) {
    uint32_t cap = st->cap_pins ? st->cap_pins * 2 : 8;
    rp_pin_t *p = realloc(st->pins, cap * sizeof *p);
    if (!p) return false;
    st->pins = p;
    st->cap_pins = cap;
  }
  napi_ref ref;
  if (napi_create_reference(st->env, view, 1, &ref) != napi_ok) return false;
  st->pins[st->npins++] = (rp_pin_t){base, ref, 1};
  return true;
}

static void pin_release(rp_env_t *st, void *base) {
  for (uint32_t i = 0; i < st->npins; i++) {
    if (st->pins[i].base != base) continue;
    if (--st->pins[i].waiters == 0) {
      if (!st->closing) napi_delete_reference(st->env, st->pins[i].ref);
      st->pins[i] = st->pins[--st->npins];
    }
    return;
  }
}

static void release_waiter(rp_env_t *st, rp_waiter_t *w) {
  if (w->pin) pin_release(st, w->pin);
  free(w);
  if (--st->outstanding == 0 && !st->closing) napi_unref_threadsafe_function(st->env, st->tsfn);
}

/* Resolves w's promise with the string for `result` (created once per batch through
 * `cache`, which must start zeroed and live no longer than the current handle scope). */
static void settle_cached(rp_env_t *st, rp_waiter_t *w, int result, napi_value cache[3]) {
  static const char *const names[3] = {"ok", "not-equal", "timed-out"}; /* by RP_WAIT_* */
  int i = result == RP_WAIT_OK ? 0 : (result == RP_WAIT_NOT_EQUAL ? 1 : 2);
  if (!cache[i] && napi_create_string_latin1(st->env, names[i], NAPI_AUTO_LENGTH, &cache[i]) != napi_ok) cache[i] = NULL;
  if (cache[i]) napi_resolve_deferred(st->env, (napi_deferred)w->data, cache[i]);
  release_waiter(st, w);
}

static void settle(rp_env_t *st, rp_waiter_t *w, int result) {
  napi_value cache[3] = {NULL, NULL, NULL};
  settle_cached(st, w, result, cache);
}

/* Takes the whole ready stack; returns it oldest first. */
static rp_waiter_t *take_ready(rp_env_t *st) {
  /* acquire: pairs with the release push in on_wake (the waiters' fields and links). */
  rp_waiter_t *w = atomic_exchange_explicit(&st->ready, NULL, memory_order_acquire);
  rp_waiter_t *fifo = NULL;
  while (w) {
    rp_waiter_t *next = w->ready_next;
    w->ready_next = fifo;
    fifo = w;
    w = next;
  }
  return fifo;
}

static void drain(rp_env_t *st) {
  rp_waiter_t *w = take_ready(st);
  napi_value cache[3] = {NULL, NULL, NULL};
  while (w) {
    rp_waiter_t *next = w->ready_next;
    settle_cached(st, w, w->result, cache);
    w = next;
  }
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)data;
  if (env == NULL) return; /* teardown: the cleanup hook frees everything */
  drain((rp_env_t *)context);
}

/* rp_wake_fn: any thread, bucket lock held. */
static void on_wake(rp_waiter_t *w) {
  rp_env_t *st = (rp_env_t *)w->owner;
  /* The waiter's registration in a waiter count (waitAsync's countIndex) ends here, on the
   * notifying thread, so that notifiers stop seeing it at once rather than when the woken
   * thread's event loop gets to it. seq_cst: pairs with the notifiers' seq_cst loads of the
   * count after their change (SLEEPING in ring.h / squeue.h). */
  if (w->count) atomic_fetch_sub_explicit(w->count, 1, memory_order_seq_cst);
  w->result = RP_WAIT_OK;
  /* relaxed load: the CAS below checks it. release CAS: publishes result and ready_next;
   * pairs with the acquire exchange in take_ready. */
  rp_waiter_t *top = atomic_load_explicit(&st->ready, memory_order_relaxed);
  do w->ready_next = top;
  while (!atomic_compare_exchange_weak_explicit(&st->ready, &top, w, memory_order_release, memory_order_relaxed));
  /* The stack was empty: nobody has asked for a drain of what is on it now. A notify made
   * on the env's own thread drains right after it returns (js_notify); otherwise the drain
   * is requested when this walk ends. */
  if (top == NULL && rp_notifying_env != st) rp__call_at_walk_end(st->tsfn);
}

/* ---- argument reading ---- */

/* argv[0] an Int32Array over shared memory, argv[1] an index into it: *cell that element;
 * also (each may be NULL) the buffer's first byte and the view's data and length. */
static bool read_cell_base(napi_env env, napi_value *argv, _Atomic int32_t **cell, void **base, int32_t **view,
                           size_t *view_len) {
  void *data;
  size_t len, offset = 0;
  int64_t index;
  bool is = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, argv[0], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[0], &t, &len, &data, NULL, &offset) != napi_ok || t != napi_int32_array) {
    napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "i32 must be an Int32Array over a SharedArrayBuffer");
    return false;
  }
  if (!rp__get_int(env, argv[1], "index", 0, (int64_t)len - 1, &index)) return false;
  if (!rp__check_align(env, data, 4, "i32")) return false;
  if (base) *base = (char *)data - offset;
  if (view) *view = data;
  if (view_len) *view_len = len;
  *cell = RP_A32((int32_t *)data + index);
  return true;
}

static bool read_cell(napi_env env, napi_value *argv, _Atomic int32_t **cell) {
  return read_cell_base(env, argv, cell, NULL, NULL, NULL);
}

static napi_value str(napi_env env, const char *s) {
  napi_value v = NULL;
  RP_CALL(env, napi_create_string_latin1(env, s, NAPI_AUTO_LENGTH, &v));
  return v;
}

/* waitAsync(i32, index, value, token[, countIndex]) -> 'not-equal' | Promise<'ok'|'timed-out'>
 * countIndex: a cell of the same i32 holding a count of registered waiters that the caller
 * incremented for this wait; a wake-up by notify decrements it (on_wake), so the promise
 * settling 'ok' means the count no longer includes this waiter. Other outcomes leave it. */
static napi_value js_wait_async(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  _Atomic int32_t *cell;
  _Atomic int32_t *count = NULL;
  void *base;
  int32_t value;
  int64_t token;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "waitAsync expects (i32, index, value, token)");
  int32_t *view;
  size_t view_len;
  if (!read_cell_base(env, argv, &cell, &base, &view, &view_len)) return NULL;
  RP_CALL(env, napi_get_value_int32(env, argv[2], &value));
  RP_CALL(env, napi_get_value_int64(env, argv[3], &token));
  if (argc >= 5) {
    napi_valuetype t;
    RP_CALL(env, napi_typeof(env, argv[4], &t));
    if (t != napi_undefined) {
      int64_t ci;
      if (!rp__get_int(env, argv[4], "countIndex", 0, (int64_t)view_len - 1, &ci)) return NULL;
      count = RP_A32(view + ci);
    }
  }
  rp_env_t *st = get_state(env);
  if (!st || st->closing) RP_THROW(env, "ERR_RINGPOOL_INTERRUPTED", "waitAsync: this thread is shutting down");
  if (rp_load32(cell) != value) return str(env, "not-equal");

  rp_waiter_t *w = calloc(1, sizeof *w);
  if (!w) RP_THROW_RC(env, RP_ENOMEM, "waitAsync");
  napi_value promise;
  napi_deferred deferred;
  /* Keep the SharedArrayBuffer alive while the waiter is linked: its address is the key. */
  if (!pin_acquire(st, argv[0], base)) {
    free(w);
    rp__throw_last(env);
    return NULL;
  }
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    pin_release(st, base);
    free(w);
    rp__throw_last(env);
    return NULL;
  }
  w->on_wake = on_wake;
  w->owner = st;
  w->token = (uint64_t)token;
  w->data = deferred;
  w->pin = base;
  w->count = count;
  if (st->outstanding++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
  if (rp_wait_async_add(w, cell, value) != RP_WAIT_OK) {
    /* Changed between the check above and the add: settle the unused promise, report. */
    settle(st, w, RP_WAIT_NOT_EQUAL);
    return str(env, "not-equal");
  }
  return promise;
}

/* waitCancel(i32, index, token) -> boolean: times out the waiter if still queued. */
static napi_value js_wait_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  _Atomic int32_t *cell;
  int64_t token;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "waitCancel expects (i32, index, token)");
  if (!read_cell(env, argv, &cell)) return NULL;
  RP_CALL(env, napi_get_value_int64(env, argv[2], &token));
  rp_env_t *st = get_state(env);
  if (!st) return rp__bool(env, false);
  rp_waiter_t *w = rp_wait_async_cancel(cell, st, (uint64_t)token);
  if (!w) return rp__bool(env, false);
  settle(st, w, RP_WAIT_TIMED_OUT);
  return rp__bool(env, true);
}

/* wait(i32, index, value, timeoutMs) -> 'ok' | 'not-equal' | 'timed-out' (blocks) */
static napi_value js_wait(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  _Atomic int32_t *cell;
  int32_t value;
  double ms;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "wait expects (i32, index, value, timeoutMs)");
  if (!read_cell(env, argv, &cell)) return NULL;
  RP_CALL(env, napi_get_value_int32(env, argv[2], &value));
  if (!rp__get_double(env, argv[3], "timeoutMs", &ms)) return NULL;
  int rc = rp_wait_block(cell, value, rp__timeout_ns(ms), rp__stop_check, env);
  switch (rc) {
  case RP_WAIT_OK: return str(env, "ok");
  case RP_WAIT_NOT_EQUAL: return str(env, "not-equal");
  case RP_WAIT_TIMED_OUT: return str(env, "timed-out");
  default: RP_THROW_RC(env, rc, "wait");
  }
}

/* notify(i32, index, count) -> number woken */
static napi_value js_notify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  _Atomic int32_t *cell;
  double c;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "notify expects (i32, index, count)");
  if (!read_cell(env, argv, &cell)) return NULL;
  if (!rp__get_double(env, argv[2], "count", &c)) return NULL;
  uint32_t count = (c != c || c <= 0) ? 0 : (c >= 4294967295.0 ? UINT32_MAX : (uint32_t)c);
  rp_env_t *st = get_state(env);
  rp_notifying_env = st;
  uint32_t n = rp_notify(cell, count);
  rp_notifying_env = NULL;
  if (st && n > 0) drain(st); /* settles this thread's own woken waiters now */
  napi_value r = NULL;
  RP_CALL(env, napi_create_uint32(env, n, &r));
  return r;
}

/* waitCount(i32, index) -> number of waiters queued on the cell (diagnostics, tests) */
static napi_value js_wait_count(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  _Atomic int32_t *cell;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "waitCount expects (i32, index)");
  if (!read_cell(env, argv, &cell)) return NULL;
  napi_value r = NULL;
  RP_CALL(env, napi_create_uint32(env, rp_wait_count(cell), &r));
  return r;
}

/* ---- lifetime ---- */

static void cleanup(void *arg) {
  rp_env_t *st = (rp_env_t *)arg;
  st->closing = true;
  rp_waiter_t *w = rp_wait_remove_owner(st);
  /* From here no notifier can reach st. Free what was still linked and what was woken but
   * never drained. Their promises are dropped with the environment. */
  while (w) {
    rp_waiter_t *next = w->ready_next;
    free(w); /* references die with the env; deleting them here is not allowed */
    w = next;
  }
  w = take_ready(st);
  while (w) {
    rp_waiter_t *next = w->ready_next;
    free(w);
    w = next;
  }
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
}

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rp_env_t *st = (rp_env_t *)data;
  free(st->pins); /* the references themselves die with the env */
  free(st);
}


int rp__stop_check(void *ctx) {
  napi_env env = (napi_env)ctx;
  rp_env_t *st = get_state(env);
  if (st && st->closing) return 1;
  /* Setting a property goes through Node-API's "can this env still run JS" check, which
   * turns false as soon as worker.terminate() (or process exit) starts stopping the env. */
  napi_value obj, undef;
  if (napi_create_object(env, &obj) != napi_ok || napi_get_undefined(env, &undef) != napi_ok) return 1;
  napi_status s = napi_set_named_property(env, obj, "p", undef);
  if (s == napi_ok) return 0;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
  }
  return 1;
}

bool rp_bind_wait(napi_env env, napi_value exports) {
  rp_env_t *st = calloc(1, sizeof *st);
  if (!st) {
    napi_throw_error(env, "ERR_RINGPOOL_NO_MEMORY", "ringpool: out of memory at load");
    return false;
  }
  st->env = env;
  napi_value name;
  if (napi_create_string_latin1(env, "ringpool.wake", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, st, call_js, &st->tsfn) != napi_ok) {
    free(st);
    rp__throw_last(env);
    return false;
  }
  napi_unref_threadsafe_function(env, st->tsfn);
  /* Registered after the tsfn so that it runs before Node's own teardown of the tsfn
   * (cleanup hooks run in reverse order of registration). */
  if (napi_set_instance_data(env, st, finalize_state, NULL) != napi_ok ||
      napi_add_env_cleanup_hook(env, cleanup, st) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  static const rp_fn_entry fns[] = {
      {"waitAsync", js_wait_async}, {"waitCancel", js_wait_cancel}, {"wait", js_wait},
      {"notify", js_notify},        {"waitCount", js_wait_count},
  };
  return rp__define_fns(env, exports, fns, sizeof fns / sizeof fns[0]);
}
