/*
 * bind_slots.c - N-API glue for the slot allocator (slots.h). Translation only: every
 * function reads and checks its arguments (the arena's Int32Array is validated against the
 * header on every call, before the core touches it), calls the core, and maps the result.
 * See lib/native.ts for the JS-side contract.
 */
#include <stdio.h>

#include "errors.h"
#include "napi_util.h"
#include "slots.h"

#define MAX_ARGS 3

/* Missing arguments read as undefined (and then fail their type check). */
static napi_status get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = MAX_ARGS;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
}

static bool get_arena(napi_env env, napi_value v, const char *what, void **base, rp_slots_info_t *geo) {
  void *data = NULL;
  size_t n = 0;
  if (!rp__get_i32_aligned(env, v, "i32", &data, &n)) return false;
  int rc = rp_slots_check(data, n * sizeof(int32_t), geo);
  if (rc != 0) {
    rp__throw_code(env, rc, what);
    return false;
  }
  *base = data;
  return true;
}

/* slotSize (multiple of 8 in [8, 2^30]) and slots ([1, 2^24]); bytes gets the total. */
static bool get_geometry(napi_env env, napi_value vsize, napi_value vslots, const char *what, uint32_t *slot_size,
                         uint32_t *slots, size_t *bytes) {
  int64_t sz, n;
  char msg[160];
  if (!rp__get_int(env, vsize, "slotSize", 8, RP_SLOTS_MAX_SLOT_SIZE, &sz)) return false;
  if (sz % 8 != 0) {
    snprintf(msg, sizeof msg, "%s: slotSize must be a multiple of 8, got %lld", what, (long long)sz);
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
    return false;
  }
  if (!rp__get_int(env, vslots, "slots", 1, RP_SLOTS_MAX_SLOTS, &n)) return false;
  if (rp_slots_bytes((uint32_t)sz, (uint32_t)n, bytes, NULL) != 0) {
    snprintf(msg, sizeof msg, "%s: %lld slots of %lld bytes are more than a buffer can hold", what, (long long)n,
             (long long)sz);
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
    return false;
  }
  *slot_size = (uint32_t)sz;
  *slots = (uint32_t)n;
  return true;
}

static napi_value slots_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  uint32_t sz, n;
  size_t bytes;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_geometry(env, argv[0], argv[1], "slotsBytes", &sz, &n, &bytes)) return NULL;
  return rp__int(env, (int64_t)bytes);
}

static napi_value slots_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t len = 0, bytes;
  uint32_t sz, n;
  RP_CALL(env, get_args(env, info, argv));
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &len)) return NULL;
  if (!get_geometry(env, argv[1], argv[2], "slotsInit", &sz, &n, &bytes)) return NULL;
  len *= sizeof(int32_t);
  if (len < bytes) {
    char msg[160];
    snprintf(msg, sizeof msg, "slotsInit: %u slots of %u bytes need %zu bytes, the view has %zu", n, sz, bytes, len);
    RP_THROW_RANGE(env, "ERR_RINGPOOL_OUT_OF_RANGE", msg);
  }
  int rc = rp_slots_init(data, len, sz, n);
  if (rc != 0) RP_THROW_RC(env, rc, "slotsInit");
  return rp__undefined(env);
}

static napi_value slots_check(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  rp_slots_info_t geo;
  napi_value arr;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_arena(env, argv[0], "slotsCheck", &base, &geo)) return NULL;
  RP_CALL(env, napi_create_array_with_length(env, 3, &arr));
  const int64_t vals[3] = {geo.slot_size, geo.slots, geo.data_offset};
  for (uint32_t i = 0; i < 3; i++) {
    napi_value x = rp__int(env, vals[i]);
    if (x == NULL) return NULL;
    RP_CALL(env, napi_set_element(env, arr, i, x));
  }
  return arr;
}

static napi_value slots_alloc(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  rp_slots_info_t geo;
  uint32_t index = 0;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_arena(env, argv[0], "slotsAlloc", &base, &geo)) return NULL;
  int rc = rp_slots_alloc(base, &index);
  if (rc == 0) return rp__int(env, index);
  if (rc == RP_EFULL) return rp__int(env, -1);
  RP_THROW_RC(env, rc, "slotsAlloc");
}

static napi_value slots_free(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  rp_slots_info_t geo;
  int64_t index;
  char msg[160];
  RP_CALL(env, get_args(env, info, argv));
  if (!get_arena(env, argv[0], "slotsFree", &base, &geo)) return NULL;
  if (!rp__get_int(env, argv[1], "index", 0, (int64_t)geo.slots - 1, &index)) return NULL;
  int rc = rp_slots_free(base, (uint32_t)index);
  if (rc == 0) return rp__undefined(env);
  if (rc == RP_ESTATE) {
    snprintf(msg, sizeof msg, "slotsFree: slot %lld is not allocated (double free?)", (long long)index);
    RP_THROW(env, "ERR_RINGPOOL_INVALID_STATE", msg);
  }
  RP_THROW_RC(env, rc, "slotsFree");
}

static napi_value slots_available(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  rp_slots_info_t geo;
  RP_CALL(env, get_args(env, info, argv));
  if (!get_arena(env, argv[0], "slotsAvailable", &base, &geo)) return NULL;
  return rp__int(env, rp_slots_available(base));
}

bool rp_bind_slots(napi_env env, napi_value exports) {
  static const rp_fn_entry fns[] = {
      {"slotsBytes", slots_bytes}, {"slotsInit", slots_init},   {"slotsCheck", slots_check},
      {"slotsAlloc", slots_alloc}, {"slotsFree", slots_free},   {"slotsAvailable", slots_available},
  };
  return rp__define_fns(env, exports, fns, sizeof fns / sizeof fns[0]);
}
