/* napi_util.c - argument readers and error helpers for the glue (see napi_util.h). */
#include "napi_util.h"

#include <math.h>
#include <stdio.h>

#include "errors.h"
#include "wait.h"

void rp__throw_last(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *msg = (info && info->error_message) ? info->error_message : "N-API call failed";
  napi_throw_error(env, "ERR_RINGPOOL_NAPI", msg);
}

void rp__throw_code(napi_env env, int rc, const char *what) {
  char msg[256];
  switch (rc) {
  case RP_EINVAL:
    snprintf(msg, sizeof msg, "%s: invalid argument", what);
    napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", msg);
    break;
  case RP_ERANGE:
    snprintf(msg, sizeof msg, "%s: value out of range", what);
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
    break;
  case RP_ELAYOUT:
    snprintf(msg, sizeof msg, "%s: expected a buffer created by ringpool for this structure (bad magic, version or size)",
             what);
    napi_throw_type_error(env, "ERR_RINGPOOL_BAD_LAYOUT", msg);
    break;
  case RP_EALIGN:
    snprintf(msg, sizeof msg, "%s: expected memory aligned to 8 bytes", what);
    napi_throw_range_error(env, "ERR_RINGPOOL_MISALIGNED", msg);
    break;
  case RP_EFULL:
    snprintf(msg, sizeof msg, "%s: structure is full", what);
    napi_throw_range_error(env, "ERR_RINGPOOL_FULL", msg);
    break;
  case RP_ETOOBIG:
    snprintf(msg, sizeof msg, "%s: record is larger than the structure can ever hold", what);
    napi_throw_range_error(env, "ERR_RINGPOOL_TOO_LARGE", msg);
    break;
  case RP_ESTATE:
    snprintf(msg, sizeof msg, "%s: operation not valid in the current state", what);
    napi_throw_error(env, "ERR_RINGPOOL_INVALID_STATE", msg);
    break;
  case RP_ENOMEM:
    snprintf(msg, sizeof msg, "%s: out of memory", what);
    napi_throw_error(env, "ERR_RINGPOOL_NO_MEMORY", msg);
    break;
  case RP_EINTR:
    snprintf(msg, sizeof msg, "%s: interrupted because the thread is terminating", what);
    napi_throw_error(env, "ERR_RINGPOOL_INTERRUPTED", msg);
    break;
  default:
    snprintf(msg, sizeof msg, "%s: failed with code %d", what, rc);
    napi_throw_error(env, "ERR_RINGPOOL_INTERNAL", msg);
  }
}

static const char *type_name(napi_typedarray_type t) {
  switch (t) {
  case napi_int8_array: return "Int8Array";
  case napi_uint8_array: return "Uint8Array";
  case napi_uint8_clamped_array: return "Uint8ClampedArray";
  case napi_int16_array: return "Int16Array";
  case napi_uint16_array: return "Uint16Array";
  case napi_int32_array: return "Int32Array";
  case napi_uint32_array: return "Uint32Array";
  case napi_float32_array: return "Float32Array";
  case napi_float64_array: return "Float64Array";
  case napi_bigint64_array: return "BigInt64Array";
  case napi_biguint64_array: return "BigUint64Array";
  }
  return "typed array";
}

bool rp__get_typed(napi_env env, napi_value v, napi_typedarray_type type, const char *name, void **data,
                   size_t *length) {
  bool is = false;
  char msg[160];
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) goto bad;
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, length, data, NULL, NULL) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  if (t != type) goto bad;
  return true;
bad:
  snprintf(msg, sizeof msg, "%s must be an %s over a SharedArrayBuffer", name, type_name(type));
  napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", msg);
  return false;
}

bool rp__get_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *bytes) {
  bool is = false;
  char msg[160];
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t len;
    if (napi_get_typedarray_info(env, v, &t, &len, data, NULL, NULL) != napi_ok) {
      rp__throw_last(env);
      return false;
    }
    if (t == napi_uint8_array || t == napi_int8_array || t == napi_uint8_clamped_array) {
      *bytes = len;
      return true;
    }
  }
  snprintf(msg, sizeof msg, "%s must be a Uint8Array or Buffer", name);
  napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", msg);
  return false;
}

bool rp__get_double(napi_env env, napi_value v, const char *name, double *out) {
  char msg[160];
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  snprintf(msg, sizeof msg, "%s must be a number", name);
  napi_throw_type_error(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", msg);
  return false;
}

bool rp__get_int(napi_env env, napi_value v, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  char msg[200];
  double d;
  if (!rp__get_double(env, v, name, &d)) return false;
  if (!(d == floor(d)) || d < (double)lo || d > (double)hi) {
    snprintf(msg, sizeof msg, "%s must be an integer from %lld to %lld", name, (long long)lo, (long long)hi);
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

napi_value rp__int(napi_env env, int64_t v) {
  napi_value r = NULL;
  RP_CALL(env, napi_create_int64(env, v, &r));
  return r;
}

napi_value rp__bool(napi_env env, bool v) {
  napi_value r = NULL;
  RP_CALL(env, napi_get_boolean(env, v, &r));
  return r;
}

napi_value rp__undefined(napi_env env) {
  napi_value r = NULL;
  RP_CALL(env, napi_get_undefined(env, &r));
  return r;
}

bool rp__define_fns(napi_env env, napi_value exports, const rp_fn_entry *fns, size_t n) {
  for (size_t i = 0; i < n; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) {
      rp__throw_last(env);
      return false;
    }
  }
  return true;
}

int64_t rp__timeout_ns(double ms) {
  if (!(ms >= 0)) return 0;          /* negative or NaN here would be a TS bug: treat as 0 */
  if (ms >= 9.2e12) return -1;       /* Infinity, or beyond ~290 years: no limit */
  return (int64_t)(ms * 1e6);
}

bool rp__check_align(napi_env env, const void *p, size_t align, const char *name) {
  if (((uintptr_t)p & (align - 1)) == 0) return true;
  char msg[160];
  snprintf(msg, sizeof msg, "%s must start at a byte offset that is a multiple of %zu", name, align);
  napi_throw_range_error(env, "ERR_RINGPOOL_MISALIGNED", msg);
  return false;
}

bool rp__args(napi_env env, napi_callback_info info, napi_value *argv, size_t max, void **data) {
  size_t argc = max;
  for (size_t i = 0; i < max; i++) argv[i] = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, data) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  napi_value undef;
  if (napi_get_undefined(env, &undef) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  for (size_t i = argc; i < max; i++) argv[i] = undef;
  return true;
}

bool rp__get_i32_aligned(napi_env env, napi_value v, const char *name, void **data, size_t *length) {
  return rp__get_typed(env, v, napi_int32_array, name, data, length) && rp__check_align(env, *data, 8, name);
}

bool rp__get_structure(napi_env env, napi_value v, const char *what, rp_check_fn check, void **base, size_t *bytes) {
  void *data = NULL;
  size_t n = 0;
  if (!rp__get_i32_aligned(env, v, "i32", &data, &n)) return false;
  int rc = check(data, n * sizeof(int32_t));
  if (rc != 0) {
    rp__throw_code(env, rc, what);
    return false;
  }
  *base = data;
  *bytes = n * sizeof(int32_t);
  return true;
}

bool rp__view_bytes(napi_env env, napi_value v, size_t *bytes) {
  napi_typedarray_type t;
  size_t n = 0;
  if (napi_get_typedarray_info(env, v, &t, &n, NULL, NULL, NULL) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  *bytes = n * sizeof(int32_t);
  return true;
}

/* ---- tsfn calls deferred to the end of a notify walk ---- */

enum { kMaxWalkCalls = 8 };
static _Thread_local napi_threadsafe_function walk_calls[kMaxWalkCalls];
static _Thread_local uint32_t walk_ncalls;

/* rp_wait_set_after_walk's hook: the notifying thread, bucket lock held. */
static void call_deferred(void) {
  for (uint32_t i = 0; i < walk_ncalls; i++) napi_call_threadsafe_function(walk_calls[i], NULL, napi_tsfn_nonblocking);
  walk_ncalls = 0;
}

void rp__call_at_walk_end(napi_threadsafe_function tsfn) {
  if (walk_ncalls < kMaxWalkCalls) walk_calls[walk_ncalls++] = tsfn;
  else napi_call_threadsafe_function(tsfn, NULL, napi_tsfn_nonblocking); /* many envs in one walk: now */
}

void rp__defer_calls_to_walk_end(void) { rp_wait_set_after_walk(call_deferred); }
