/*
 * napi_util.h - helpers shared by the N-API glue files (addon.c, bind_*.c).
 * Glue files translate only: they read and check JS arguments, call the core, and turn
 * results and RP_E* codes into JS values or thrown errors. They never do atomics.
 *
 * RP_CALL(env, expr)       evaluate a napi_status expression; on failure throw (unless an
 *                          exception is already pending) and `return NULL` from the caller.
 * RP_CALL_RET(env, expr, r) same, returning r.
 * RP_THROW_*(env, code, msg) throw a TypeError / RangeError / Error carrying `code`, then
 *                          `return NULL`.
 */
#ifndef RP_NAPI_UTIL_H
#define RP_NAPI_UTIL_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void rp__throw_last(napi_env env);
/* Throws the JS error that matches a negative RP_E* code, with `what` naming the operation. */
void rp__throw_code(napi_env env, int rc, const char *what);

#define RP_CALL_RET(env, expr, ret)                                                             \
  do {                                                                                          \
    if ((expr) != napi_ok) {                                                                    \
      rp__throw_last(env);                                                                      \
      return ret;                                                                               \
    }                                                                                           \
  } while (0)
#define RP_CALL(env, expr) RP_CALL_RET(env, expr, NULL)

#define RP_THROW_TYPE(env, code, msg)                                                           \
  do {                                                                                          \
    napi_throw_type_error((env), (code), (msg));                                                \
    return NULL;                                                                                \
  } while (0)
#define RP_THROW_RANGE(env, code, msg)                                                          \
  do {                                                                                          \
    napi_throw_range_error((env), (code), (msg));                                               \
    return NULL;                                                                                \
  } while (0)
#define RP_THROW(env, code, msg)                                                                \
  do {                                                                                          \
    napi_throw_error((env), (code), (msg));                                                     \
    return NULL;                                                                                \
  } while (0)
#define RP_THROW_RC(env, rc, what)                                                              \
  do {                                                                                          \
    rp__throw_code((env), (rc), (what));                                                        \
    return NULL;                                                                                \
  } while (0)

/* Reads argument `i` as a typed array of the given type and returns its data pointer and
 * length in elements. Throws (TypeError ERR_RINGPOOL_INVALID_ARG_TYPE) and returns false
 * when the argument is not such a typed array. `name` is used in the message. */
bool rp__get_typed(napi_env env, napi_value v, napi_typedarray_type type, const char *name, void **data,
                   size_t *length);
/* Reads any typed array / DataView-free byte view (Uint8Array, Buffer, Int8Array,
 * Uint8ClampedArray ...) as raw bytes. */
bool rp__get_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *bytes);
/* Reads a number argument that must be an integer within [lo, hi]. */
bool rp__get_int(napi_env env, napi_value v, const char *name, int64_t lo, int64_t hi, int64_t *out);
/* Reads a number argument (any double, NaN allowed). */
bool rp__get_double(napi_env env, napi_value v, const char *name, double *out);

napi_value rp__int(napi_env env, int64_t v);
napi_value rp__bool(napi_env env, bool v);
napi_value rp__undefined(napi_env env);

/* Converts a timeout in milliseconds, already normalised by the TS layer (>= 0, or
 * Infinity for no limit), to nanoseconds for the core (-1 = no limit). */
int64_t rp__timeout_ns(double ms);
/* rp_stop_fn for blocking waits made on a JS thread: nonzero once that thread's
 * environment is being torn down (worker.terminate(), process exit). ctx is the napi_env. */
int rp__stop_check(void *env);
/* Checks that p is aligned to `align` bytes; throws RangeError ERR_RINGPOOL_MISALIGNED. */
bool rp__check_align(napi_env env, const void *p, size_t align, const char *name);

/* Reads an Int32Array whose data is 8-byte aligned (every shared structure's view):
 * TypeError / RangeError ERR_RINGPOOL_MISALIGNED otherwise. *length is in elements. */
bool rp__get_i32_aligned(napi_env env, napi_value v, const char *name, void **data, size_t *length);

/* Reads up to `max` arguments into argv, padding the missing ones with undefined; `data`
 * (may be NULL) receives the function's data pointer. */
bool rp__args(napi_env env, napi_callback_info info, napi_value *argv, size_t max, void **data);
/* Reads an Int32Array over a whole structure, 8-byte aligned, that `check(base, bytes)`
 * accepts (throwing its code, named by `what`, if not). */
typedef int (*rp_check_fn)(const void *base, size_t bytes);
bool rp__get_structure(napi_env env, napi_value v, const char *what, rp_check_fn check, void **base, size_t *bytes);
/* Byte length of a typed-array view now (a view over a growable buffer may have grown). */
bool rp__view_bytes(napi_env env, napi_value v, size_t *bytes);

/* For a glue's on_wake (notifying thread, bucket lock held): calls tsfn once the current
 * notify walk has woken everyone it wakes, still under the bucket lock (so the env behind
 * tsfn cannot finish tearing down before the call: its cleanup takes every bucket lock).
 * Woken now, the env's thread would start settling and freeing waiters while the walk
 * still reads their neighbours. addon.c installs the hook (rp__defer_calls_to_walk_end). */
void rp__call_at_walk_end(napi_threadsafe_function tsfn);
void rp__defer_calls_to_walk_end(void);

/* Property-table helper used by each bind_*.c to register its functions. */
typedef struct {
  const char *name;
  napi_callback fn;
} rp_fn_entry;
bool rp__define_fns(napi_env env, napi_value exports, const rp_fn_entry *fns, size_t n);

/* Each glue file exposes one registration function, called from addon.c. */
bool rp_bind_wait(napi_env env, napi_value exports);
bool rp_bind_ring(napi_env env, napi_value exports);
bool rp_bind_channel(napi_env env, napi_value exports);
bool rp_bind_slots(napi_env env, napi_value exports);
bool rp_bind_sync(napi_env env, napi_value exports);
bool rp_bind_map(napi_env env, napi_value exports);
bool rp_bind_squeue(napi_env env, napi_value exports);

#endif
