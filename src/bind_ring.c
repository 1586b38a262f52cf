/*
 * bind_ring.c - N-API glue for the MPMC ring (ring.h). Translation only: every function
 * reads and checks its arguments (the ring's Int32Array is validated against the header on
 * every call, before the core touches it), calls the core, and maps the result.
 * See lib/native.ts for the JS-side contract.
 */
#include <stdio.h>

#include "errors.h"
#include "napi_util.h"
#include "ring.h"

#define MAX_ARGS 3

/* Reads up to MAX_ARGS arguments; missing ones read as undefined (and then fail their
 * type check). */
static napi_status get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = MAX_ARGS;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
}

/* argv[0] must be an Int32Array over a whole, valid ring. */
static bool get_ring(napi_env env, napi_value v, const char *what, void **base, uint32_t *capacity) {
  void *data = NULL;
  size_t n = 0;
  if (!rp__get_i32_aligned(env, v, "i32", &data, &n)) return false;
  int rc = rp_ring_check(data, n * sizeof(int32_t), capacity);
  if (rc != 0) {
    rp__throw_code(env, rc, what);
    return false;
  }
  *base = data;
  return true;
}

static bool get_capacity(napi_env env, napi_value v, const char *what, uint32_t *out) {
  int64_t c;
  if (!rp__get_int(env, v, "capacity", 1, RP_RING_MAX_CAPACITY, &c)) return false;
  size_t bytes;
  if (rp_ring_bytes((uint32_t)c, &bytes) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: capacity must be a power of two from 1 to %u", what, RP_RING_MAX_CAPACITY);
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (uint32_t)c;
  return true;
}

static bool get_value(napi_env env, napi_value v, uint32_t *out) {
  int64_t x;
  if (!rp__get_int(env, v, "value", 0, UINT32_MAX, &x)) return false;
  *out = (uint32_t)x;
  return true;
}

static napi_value ring_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  uint32_t cap;
  size_t bytes = 0;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_capacity(env, argv[0], "ringBytes", &cap)) return NULL;
  int rc = rp_ring_bytes(cap, &bytes);
  if (rc != 0) RP_THROW_RC(env, rc, "ringBytes");
  return rp__int(env, (int64_t)bytes);
}

static napi_value ring_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t n = 0, need = 0;
  uint32_t cap;
  RP_CALL(env, get_args(env, info, argv));
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &n)) return NULL;
  if (!get_capacity(env, argv[1], "ringInit", &cap)) return NULL;
  if (rp_ring_bytes(cap, &need) != 0 || n * sizeof(int32_t) < need) {
    char msg[160];
    snprintf(msg, sizeof msg, "ringInit: a ring of capacity %u needs %zu bytes, the view has %zu", cap, need,
             n * sizeof(int32_t));
    RP_THROW_RANGE(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
  }
  int rc = rp_ring_init(data, n * sizeof(int32_t), cap);
  if (rc != 0) RP_THROW_RC(env, rc, "ringInit");
  return rp__undefined(env);
}

static napi_value ring_check(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringCheck", &base, &cap)) return NULL;
  return rp__int(env, cap);
}

static bool set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x = rp__int(env, v);
  return x != NULL && napi_set_named_property(env, obj, name, x) == napi_ok;
}

static napi_value ring_layout(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj;
  RP_CALL(env, napi_create_object(env, &obj));
  bool ok = set_int(env, obj, "headerBytes", RP_RING_HEADER_BYTES) &&
            set_int(env, obj, "notEmptySeq", RP_RING_OFF_NOT_EMPTY_SEQ / 4) &&
            set_int(env, obj, "notEmptyWaiters", RP_RING_OFF_NOT_EMPTY_WAITERS / 4) &&
            set_int(env, obj, "notFullSeq", RP_RING_OFF_NOT_FULL_SEQ / 4) &&
            set_int(env, obj, "notFullWaiters", RP_RING_OFF_NOT_FULL_WAITERS / 4);
  if (!ok) {
    rp__throw_last(env);
    return NULL;
  }
  return obj;
}

static napi_value ring_push(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap, value;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringPush", &base, &cap)) return NULL;
  if (!get_value(env, argv[1], &value)) return NULL;
  int rc = rp_ring_try_push(base, value);
  if (rc == 0 || rc == RP_EFULL) return rp__bool(env, rc == 0);
  RP_THROW_RC(env, rc, "ringPush");
}

static napi_value ring_pop(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap, value = 0;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringPop", &base, &cap)) return NULL;
  int rc = rp_ring_try_pop(base, &value);
  if (rc == 0) return rp__int(env, value);
  if (rc == RP_RING_EMPTY) return rp__int(env, -1);
  RP_THROW_RC(env, rc, "ringPop");
}

static napi_value ring_size(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringSize", &base, &cap)) return NULL;
  return rp__int(env, rp_ring_size(base));
}

static napi_value ring_push_wait(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap, value;
  double ms;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringPushWait", &base, &cap)) return NULL;
  if (!get_value(env, argv[1], &value)) return NULL;
  if (!rp__get_double(env, argv[2], "timeoutMs", &ms)) return NULL;
  int rc = rp_ring_push_wait(base, value, rp__timeout_ns(ms), rp__stop_check, (void *)env);
  if (rc == 0 || rc == RP_RING_TIMED_OUT) return rp__bool(env, rc == 0);
  RP_THROW_RC(env, rc, "ringPushWait");
}

static napi_value ring_pop_wait(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  uint32_t cap, value = 0;
  double ms;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_ring(env, argv[0], "ringPopWait", &base, &cap)) return NULL;
  if (!rp__get_double(env, argv[1], "timeoutMs", &ms)) return NULL;
  int rc = rp_ring_pop_wait(base, &value, rp__timeout_ns(ms), rp__stop_check, (void *)env);
  if (rc == 0) return rp__int(env, value);
  if (rc == RP_RING_TIMED_OUT) return rp__int(env, -1);
  RP_THROW_RC(env, rc, "ringPopWait");
}

bool rp_bind_ring(napi_env env, napi_value exports) {
  static const rp_fn_entry fns[] = {
      {"ringBytes", ring_bytes},       {"ringInit", ring_init},     {"ringCheck", ring_check},
      {"ringLayout", ring_layout},     {"ringPush", ring_push},     {"ringPop", ring_pop},
      {"ringSize", ring_size},         {"ringPushWait", ring_push_wait}, {"ringPopWait", ring_pop_wait},
  };
  return rp__define_fns(env, exports, fns, sizeof fns / sizeof fns[0]);
}
