/*
 * bind_map.c - N-API glue for the shared map (map.h). Translation only: read and check the
 * arguments (the map's Int32Array is validated against the header on every call), call the
 * core, map outcomes to return values (see lib/shared/native-shared.ts for the JS contract).
 *
 * The region is a growable SharedArrayBuffer and JS passes a length-tracking Int32Array
 * over it, so the length read here is the buffer's current length. When the core answers
 * RP_MAP_STALE (another thread grew the buffer after we measured it) we measure again and
 * retry; RP_ARENA_GROW goes back to JS, which grows the buffer and calls again.
 *
 * Per-environment state (rp_menv_t) travels as the `data` pointer of each function and of
 * the cleanup hook (bind_wait.c owns the instance data):
 *   id    this thread's owner id in lock words: worker threadId + 1, as sync.h IDS (set by
 *         mapSetup from JS)
 *   held  the robust list: stripes this thread's JS holds across calls (mapLock, i.e.
 *         SharedMap.update() while its callback runs), each with a strong reference to the
 *         map's Int32Array so the memory outlives the hold. The env cleanup hook (worker
 *         exit, terminate(), process exit) repairs and releases each with
 *         rp_map_release_dead, exactly like bind_sync.c releases a dead thread's mutexes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "map.h"
#include "napi_util.h"

#define MAX_ARGS 6

typedef struct rp_mheld {
  napi_ref ref;
  void *base;
  size_t len;
  uint32_t stripe;
  struct rp_mheld *next;
} rp_mheld_t;

typedef struct {
  uint32_t id;
  bool closing;
  rp_mheld_t *held;
  /* mapBind: this thread's key buffer and read scratch for mapGetBound, each held by a
   * strong reference (so the pointers stay valid until the next mapBind or env teardown). */
  napi_ref key_ref, out_ref;
  uint8_t *key, *out;
  size_t key_cap, out_cap;
} rp_menv_t;

static rp_menv_t *get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  void *data = NULL;
  return rp__args(env, info, argv, MAX_ARGS, &data) ? (rp_menv_t *)data : NULL;
}

static rp_map_ctx_t ctx_of(napi_env env, rp_menv_t *st) {
  rp_map_ctx_t cx = {st->id, rp__stop_check, (void *)env, 0};
  return cx;
}

/* argv must be an Int32Array over a whole map. */
static int check_whole(const void *base, size_t bytes) { return rp_map_check(base, bytes, NULL); }

/* argv must be an Int32Array over a whole structure of this kind. */
static bool get_map(napi_env env, napi_value v, const char *what, void **base, size_t *len) {
  return rp__get_structure(env, v, what, check_whole, base, len);
}

/* After RP_MAP_STALE: measures the view again into *len. When it is no longer than before,
 * the data points past the end of the buffer although no thread grew it (a grower's new
 * length is visible to whoever reads what it wrote there): the memory is corrupt, and
 * measuring again would spin. Then it throws and returns false. */
static bool remeasure(napi_env env, napi_value view, size_t *len, const char *what) {
  size_t now;
  if (!rp__view_bytes(env, view, &now)) return false;
  if (now > *len) {
    *len = now;
    return true;
  }
  char msg[160];
  snprintf(msg, sizeof msg, "%s: an entry lies past the end of the map's memory (corrupt)", what);
  napi_throw_type_error(env, "ERR_RINGPOOL_BAD_LAYOUT", msg);
  return false;
}

static bool get_key(napi_env env, napi_value bytes, napi_value n, const uint8_t **key, uint32_t *klen) {
  void *data = NULL;
  size_t cap = 0;
  int64_t l;
  if (!rp__get_bytes(env, bytes, "key", &data, &cap)) return false;
  if (!rp__get_int(env, n, "keyLength", 0, (int64_t)(cap < RP_MAP_MAX_KEY ? cap : RP_MAP_MAX_KEY), &l)) return false;
  *key = data;
  *klen = (uint32_t)l;
  return true;
}

static bool get_val(napi_env env, napi_value bytes, napi_value n, const uint8_t **val, uint32_t *vlen) {
  void *data = NULL;
  size_t cap = 0;
  int64_t l;
  if (!rp__get_bytes(env, bytes, "value", &data, &cap)) return false;
  if (!rp__get_int(env, n, "valueLength", 0, (int64_t)(cap < UINT32_MAX ? cap : UINT32_MAX), &l)) return false;
  *val = data;
  *vlen = (uint32_t)l;
  return true;
}

static napi_value num(napi_env env, double d) {
  napi_value r = NULL;
  RP_CALL(env, napi_create_double(env, d, &r));
  return r;
}

static napi_value js_setup(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  int64_t id;
  if (!st || !rp__get_int(env, argv[0], "id", 1, (1 << 29) - 2, &id)) return NULL;
  st->id = (uint32_t)id;
  return rp__undefined(env);
}

static bool set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x = rp__int(env, v);
  return x != NULL && napi_set_named_property(env, obj, name, x) == napi_ok;
}

/* Int32 indices of the JS-visible words (see map.h LAYOUT). */
static napi_value js_layout(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  RP_CALL(env, napi_create_object(env, &o));
  bool ok = set_int(env, o, "stripes", RP_MAP_OFF_STRIPES_ARRAY / 4) && set_int(env, o, "stripeInts", RP_MAP_STRIPE_BYTES / 4) &&
            set_int(env, o, "stCell", RP_MAP_ST_CELL / 4) && set_int(env, o, "stWatchers", RP_MAP_ST_WATCHERS / 4) &&
            set_int(env, o, "stRepairs", RP_MAP_ST_REPAIRS / 4) && set_int(env, o, "allCell", RP_MAP_OFF_ALL_CELL / 4) &&
            set_int(env, o, "allWatchers", RP_MAP_OFF_ALL_WATCHERS / 4) &&
            set_int(env, o, "clearEpoch", RP_MAP_OFF_CLEAR_EPOCH / 4) && set_int(env, o, "maxStripes", RP_MAP_MAX_STRIPES) &&
            set_int(env, o, "maxBuckets", RP_MAP_MAX_BUCKETS) && set_int(env, o, "maxKey", RP_MAP_MAX_KEY) &&
            set_int(env, o, "maxBytes", (int64_t)RP_ARENA_MAX_LIMIT);
  if (!ok) {
    rp__throw_last(env);
    return NULL;
  }
  return o;
}

static napi_value js_header_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int64_t s, b;
  if (!get_args(env, info, argv)) return NULL;
  if (!rp__get_int(env, argv[0], "stripes", 0, UINT32_MAX, &s) || !rp__get_int(env, argv[1], "buckets", 0, UINT32_MAX, &b))
    return NULL;
  return rp__int(env, (int64_t)rp_map_header_bytes((uint32_t)s, (uint32_t)b));
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t n = 0;
  int64_t s, b, max;
  if (!get_args(env, info, argv)) return NULL;
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &n)) return NULL;
  if (!rp__get_int(env, argv[1], "stripes", 0, UINT32_MAX, &s) || !rp__get_int(env, argv[2], "buckets", 0, UINT32_MAX, &b) ||
      !rp__get_int(env, argv[3], "maxBytes", 0, (int64_t)RP_ARENA_MAX_LIMIT, &max))
    return NULL;
  int rc = rp_map_init(data, n * sizeof(int32_t), (uint32_t)s, (uint32_t)b, (uint64_t)max);
  if (rc != 0) RP_THROW_RC(env, rc, "mapInit");
  return rp__undefined(env);
}

static napi_value js_check(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t n = 0;
  if (!get_args(env, info, argv)) return NULL;
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &n)) return NULL;
  rp_map_info_t mi;
  int rc = rp_map_check(data, n * sizeof(int32_t), &mi);
  if (rc != 0) RP_THROW_RC(env, rc, "mapCheck");
  napi_value arr;
  RP_CALL(env, napi_create_array_with_length(env, 3, &arr));
  RP_CALL(env, napi_set_element(env, arr, 0, rp__int(env, mi.stripes)));
  RP_CALL(env, napi_set_element(env, arr, 1, rp__int(env, mi.header_bytes)));
  RP_CALL(env, napi_set_element(env, arr, 2, rp__int(env, (int64_t)mi.max_bytes)));
  return arr;
}

/* mapGet(i32, key, klen, out, meta?) -> -1 absent | length (copied into out) | Uint8Array
 * (a copy, when the value is longer than out). An empty out only probes (has): the length,
 * nothing copied. meta (Float64Array >= 2): version, ms. */
static napi_value js_get(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base, *out = NULL;
  size_t len, cap = 0;
  const uint8_t *key;
  uint32_t klen;
  if (!st || !get_map(env, argv[0], "mapGet", &base, &len) || !get_key(env, argv[1], argv[2], &key, &klen)) return NULL;
  if (!rp__get_bytes(env, argv[3], "out", &out, &cap)) return NULL;
  double *meta = NULL;
  napi_valuetype mt;
  RP_CALL(env, napi_typeof(env, argv[4], &mt));
  if (mt != napi_undefined) {
    size_t mn = 0;
    void *md = NULL;
    if (!rp__get_typed(env, argv[4], napi_float64_array, "meta", &md, &mn)) return NULL;
    if (mn < 2) RP_THROW_RANGE(env, "ERR_RINGPOOL_OUT_OF_RANGE", "meta must hold 2 numbers");
    meta = md;
  }
  rp_map_ctx_t cx = ctx_of(env, st);
  rp_map_found_t f;
  for (;;) {
    int rc = rp_map_get(base, len, &cx, key, klen, out, cap, &f);
    if (rc == RP_MAP_STALE) {
      if (!remeasure(env, argv[0], &len, "SharedMap.get")) return NULL;
      continue;
    }
    if (rc == RP_MAP_ABSENT) {
      if (meta) meta[0] = meta[1] = 0;
      return rp__int(env, -1);
    }
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.get");
    if (meta) {
      meta[0] = (double)f.version;
      meta[1] = f.ms;
    }
    if (f.vlen <= cap || cap == 0) return rp__int(env, f.vlen); /* an empty out only probes */
    /* Too long for out: copy into a fresh buffer (the value may change meanwhile: loop). */
    void *big = NULL;
    napi_value ab, u8;
    RP_CALL(env, napi_create_arraybuffer(env, f.vlen, &big, &ab));
    rp_map_found_t g;
    for (;;) {
      rc = rp_map_get(base, len, &cx, key, klen, big, f.vlen, &g);
      if (rc != RP_MAP_STALE) break;
      if (!remeasure(env, argv[0], &len, "SharedMap.get")) return NULL;
    }
    if (rc == RP_MAP_ABSENT) return rp__int(env, -1);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.get");
    if (g.vlen > f.vlen) continue; /* grew again: start over */
    if (meta) {
      meta[0] = (double)g.version;
      meta[1] = g.ms;
    }
    RP_CALL(env, napi_create_typedarray(env, napi_uint8_array, g.vlen, ab, 0, &u8));
    return u8;
  }
}

/* mapBind(key, out): the buffers mapGetBound uses from now on in this thread (JS calls it
 * again whenever it replaces either one). */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *key = NULL, *out = NULL;
  size_t kc = 0, oc = 0;
  if (!st || !rp__get_bytes(env, argv[0], "key", &key, &kc) || !rp__get_bytes(env, argv[1], "out", &out, &oc)) return NULL;
  napi_ref kr, orf;
  RP_CALL(env, napi_create_reference(env, argv[0], 1, &kr));
  if (napi_create_reference(env, argv[1], 1, &orf) != napi_ok) {
    napi_delete_reference(env, kr);
    rp__throw_last(env);
    return NULL;
  }
  if (st->key_ref) napi_delete_reference(env, st->key_ref);
  if (st->out_ref) napi_delete_reference(env, st->out_ref);
  st->key_ref = kr;
  st->out_ref = orf;
  st->key = key;
  st->key_cap = kc;
  st->out = out;
  st->out_cap = oc;
  return rp__undefined(env);
}

/* mapGetBound(i32, klen) -> like mapGet(i32, key, klen, out) with the buffers of mapBind:
 * the key is key[0, klen), a value that fits is copied into out. The common read path of
 * SharedMap.get: two arguments, so the glue costs a third of mapGet's. SharedMap passes a
 * fixed-length view (cheaper to measure than a length-tracking one): -3 when the data
 * reaches past its end (the buffer grew after the view was made, or the memory is corrupt:
 * the caller tells them apart by the buffer's length). */
static napi_value js_get_bound(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  void *data = NULL;
  RP_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, &data));
  rp_menv_t *st = data;
  if (argc < 2) RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "mapGetBound: expected (map, keyLength)");
  void *base;
  size_t len;
  if (!get_map(env, argv[0], "SharedMap.get", &base, &len)) return NULL;
  if (st->key == NULL) RP_THROW(env, "ERR_RINGPOOL_INVALID_STATE", "mapGetBound: call mapBind first");
  int64_t kl;
  if (!rp__get_int(env, argv[1], "keyLength", 0, (int64_t)(st->key_cap < RP_MAP_MAX_KEY ? st->key_cap : RP_MAP_MAX_KEY), &kl))
    return NULL;
  uint32_t klen = (uint32_t)kl;
  rp_map_ctx_t cx = ctx_of(env, st);
  rp_map_found_t f;
  int rc = rp_map_get(base, len, &cx, st->key, klen, st->out, st->out_cap, &f);
  if (rc == RP_MAP_STALE) return rp__int(env, -3); /* the caller measures the buffer again */
  if (rc == RP_MAP_ABSENT) return rp__int(env, -1);
  if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.get");
  if (f.vlen <= st->out_cap) return rp__int(env, f.vlen);
  return rp__int(env, -2); /* longer than out: JS asks mapGet for a copy */
}

/* mapSet(i32, key, klen, val, vlen) -> 0 | need (> 0: grow the buffer to need bytes and call
 * again) | -1 full (max bytes reached) | -2 too large for max bytes. */
static napi_value js_set(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base;
  size_t len;
  const uint8_t *key, *val;
  uint32_t klen, vlen;
  if (!st || !get_map(env, argv[0], "mapSet", &base, &len) || !get_key(env, argv[1], argv[2], &key, &klen) ||
      !get_val(env, argv[3], argv[4], &val, &vlen))
    return NULL;
  rp_map_ctx_t cx = ctx_of(env, st);
  for (;;) {
    uint64_t need = 0;
    int rc = rp_map_set(base, len, &cx, key, klen, val, vlen, &need);
    if (rc == RP_MAP_STALE) {
      if (!remeasure(env, argv[0], &len, "SharedMap.set")) return NULL;
      continue;
    }
    if (rc == RP_ARENA_GROW) {
      if (!rp__view_bytes(env, argv[0], &len)) return NULL;
      if (len >= need) continue; /* someone else grew it meanwhile */
      return num(env, (double)need);
    }
    if (rc == RP_EFULL) return rp__int(env, -1);
    if (rc == RP_ETOOBIG) return rp__int(env, -2);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.set");
    return rp__int(env, 0);
  }
}

static napi_value js_delete(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base;
  size_t len;
  const uint8_t *key;
  uint32_t klen;
  if (!st || !get_map(env, argv[0], "mapDelete", &base, &len) || !get_key(env, argv[1], argv[2], &key, &klen)) return NULL;
  rp_map_ctx_t cx = ctx_of(env, st);
  for (;;) {
    int rc = rp_map_delete(base, len, &cx, key, klen);
    if (rc == RP_MAP_STALE) {
      if (!remeasure(env, argv[0], &len, "SharedMap.delete")) return NULL;
      continue;
    }
    if (rc == RP_MAP_ABSENT) return rp__bool(env, false);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.delete");
    return rp__bool(env, true);
  }
}

static napi_value js_clear(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base;
  size_t len;
  if (!st || !get_map(env, argv[0], "mapClear", &base, &len)) return NULL;
  rp_map_ctx_t cx = ctx_of(env, st);
  for (;;) {
    int rc = rp_map_clear(base, len, &cx);
    if (rc == RP_MAP_STALE) {
      if (!remeasure(env, argv[0], &len, "SharedMap.clear")) return NULL;
      continue;
    }
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.clear");
    return rp__undefined(env);
  }
}

static napi_value js_size(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_map(env, argv[0], "mapSize", &base, &len)) return NULL;
  return rp__int(env, rp_map_size(base));
}

static napi_value js_memory(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_map(env, argv[0], "mapMemory", &base, &len)) return NULL;
  uint64_t live, used, top;
  rp_map_memory(base, &live, &used, &top);
  napi_value arr;
  RP_CALL(env, napi_create_array_with_length(env, 3, &arr));
  RP_CALL(env, napi_set_element(env, arr, 0, num(env, (double)live)));
  RP_CALL(env, napi_set_element(env, arr, 1, num(env, (double)used)));
  RP_CALL(env, napi_set_element(env, arr, 2, num(env, (double)top)));
  return arr;
}

static napi_value js_stripe_of(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  const uint8_t *key;
  uint32_t klen;
  if (!get_args(env, info, argv) || !get_map(env, argv[0], "mapStripeOf", &base, &len) ||
      !get_key(env, argv[1], argv[2], &key, &klen))
    return NULL;
  return rp__int(env, rp_map_stripe_of(base, key, klen));
}

/* mapLock(i32, key, klen) -> stripe, or -1 - stripe when this thread already held it (then
 * the matching mapUnlock must be skipped). */
static napi_value js_lock(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base;
  size_t len;
  const uint8_t *key;
  uint32_t klen, s;
  int re = 0;
  if (!st || !get_map(env, argv[0], "mapLock", &base, &len) || !get_key(env, argv[1], argv[2], &key, &klen)) return NULL;
  rp_mheld_t *h = calloc(1, sizeof *h);
  if (h == NULL) RP_THROW(env, "ERR_RINGPOOL_NO_MEMORY", "SharedMap.update: out of memory");
  if (napi_create_reference(env, argv[0], 1, &h->ref) != napi_ok) {
    free(h);
    rp__throw_last(env);
    return NULL;
  }
  rp_map_ctx_t cx = ctx_of(env, st);
  int rc = rp_map_lock(base, len, &cx, key, klen, &s, &re);
  if (rc != 0 || re) {
    napi_delete_reference(env, h->ref);
    free(h);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedMap.update");
    return rp__int(env, -1 - (int64_t)s);
  }
  h->base = base;
  h->len = len;
  h->stripe = s;
  h->next = st->held;
  st->held = h;
  return rp__int(env, s);
}

static napi_value js_unlock(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base;
  size_t len;
  int64_t s;
  if (!st || !get_map(env, argv[0], "mapUnlock", &base, &len) ||
      !rp__get_int(env, argv[1], "stripe", 0, RP_MAP_MAX_STRIPES - 1, &s))
    return NULL;
  rp_map_ctx_t cx = ctx_of(env, st);
  int rc = rp_map_unlock(base, &cx, (uint32_t)s);
  if (rc != 0) RP_THROW_RC(env, rc, "SharedMap unlock");
  for (rp_mheld_t **p = &st->held; *p; p = &(*p)->next) {
    rp_mheld_t *h = *p;
    if (h->base == base && h->stripe == (uint32_t)s) {
      *p = h->next;
      napi_delete_reference(env, h->ref);
      free(h);
      break;
    }
  }
  return rp__undefined(env);
}

/* mapScan(i32, state: Uint32Array [cursor], out, withValues) -> bytes written, or -needed
 * when one bucket does not fit in out. state[0] == 0 afterwards means done. */
static napi_value js_scan(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  void *base, *out = NULL, *sd = NULL;
  size_t len, cap = 0, sn = 0;
  bool with_values = false;
  if (!st || !get_map(env, argv[0], "mapScan", &base, &len)) return NULL;
  if (!rp__get_typed(env, argv[1], napi_uint32_array, "state", &sd, &sn)) return NULL;
  if (sn < 1) RP_THROW_RANGE(env, "ERR_RINGPOOL_OUT_OF_RANGE", "state must hold the cursor");
  if (!rp__get_bytes(env, argv[2], "out", &out, &cap)) return NULL;
  if (napi_get_value_bool(env, argv[3], &with_values) != napi_ok)
    RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "withValues must be a boolean");
  if (((uintptr_t)out & 7u) != 0) RP_THROW_RANGE(env, "ERR_RINGPOOL_MISALIGNED", "out must be 8-byte aligned");
  rp_map_ctx_t cx = ctx_of(env, st);
  uint32_t *cursor = sd;
  for (;;) {
    size_t used = 0;
    uint32_t c = *cursor;
    int rc = rp_map_scan(base, len, &cx, &c, out, cap, &used, with_values);
    if (rc == RP_MAP_STALE) {
      if (!remeasure(env, argv[0], &len, "SharedMap iteration")) return NULL;
      continue;
    }
    if (rc == RP_ETOOBIG) return num(env, -(double)used);
    if (rc != 0 && rc != RP_MAP_MORE) RP_THROW_RC(env, rc, "SharedMap iteration");
    *cursor = c;
    return num(env, (double)used);
  }
}

/*
 * mapCommit(views: Int32Array[], ops: Uint8Array, count, result: Float64Array[2])
 *   ops: count records { u32 view; u32 kind; u32 klen; u32 vlen; f64 version; key, pad 8;
 *   value, pad 8 } (kind: 0 read, 1 set, 2 delete).
 *   -> 0 committed | 1 conflict | 2 grow views[result[0]] to result[1] bytes, call again
 *      | 3 full (views[result[0]] reached max bytes) | 4 too large (op result[0]).
 */
static napi_value js_commit(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_menv_t *st = get_args(env, info, argv);
  if (!st) return NULL;
  bool is_arr = false;
  uint32_t nviews = 0;
  if (napi_is_array(env, argv[0], &is_arr) != napi_ok || !is_arr)
    RP_THROW_TYPE(env, "ERR_RINGPOOL_INVALID_ARG_TYPE", "views must be an array of Int32Array");
  RP_CALL(env, napi_get_array_length(env, argv[0], &nviews));
  void *obuf = NULL, *rd = NULL;
  size_t olen = 0, rn = 0;
  int64_t count;
  if (!rp__get_bytes(env, argv[1], "ops", &obuf, &olen)) return NULL;
  if (!rp__get_int(env, argv[2], "count", 0, 1 << 24, &count)) return NULL;
  if (!rp__get_typed(env, argv[3], napi_float64_array, "result", &rd, &rn)) return NULL;
  if (rn < 2) RP_THROW_RANGE(env, "ERR_RINGPOOL_OUT_OF_RANGE", "result must hold 2 numbers");
  if (((uintptr_t)obuf & 7u) != 0) RP_THROW_RANGE(env, "ERR_RINGPOOL_MISALIGNED", "ops must be 8-byte aligned");
  double *res = rd;
  void **bases = calloc(nviews ? nviews : 1, sizeof *bases);
  size_t *lens = calloc(nviews ? nviews : 1, sizeof *lens);
  napi_value *vals = calloc(nviews ? nviews : 1, sizeof *vals);
  rp_map_op_t *ops = calloc(count ? (size_t)count : 1, sizeof *ops);
  napi_value ret = NULL;
  if (!bases || !lens || !vals || !ops) {
    napi_throw_error(env, "ERR_RINGPOOL_NO_MEMORY", "transaction: out of memory");
    goto done;
  }
  for (uint32_t i = 0; i < nviews; i++) {
    if (napi_get_element(env, argv[0], i, &vals[i]) != napi_ok) {
      rp__throw_last(env);
      goto done;
    }
    if (!get_map(env, vals[i], "transaction", &bases[i], &lens[i])) goto done;
  }
  const uint8_t *p = obuf, *end = p + olen;
  for (int64_t i = 0; i < count; i++) {
    uint32_t hdr[4];
    double ver;
    if ((size_t)(end - p) < 24) goto bad;
    memcpy(hdr, p, 16);
    memcpy(&ver, p + 16, 8);
    p += 24;
    if (hdr[0] >= nviews || hdr[1] > RP_MAP_OP_DELETE || hdr[2] > RP_MAP_MAX_KEY) goto bad;
    uint64_t kp = ((uint64_t)hdr[2] + 7) & ~(uint64_t)7, vp = ((uint64_t)hdr[3] + 7) & ~(uint64_t)7;
    if ((uint64_t)(end - p) < kp + vp) goto bad;
    rp_map_op_t *o = &ops[i];
    o->base = bases[hdr[0]];
    o->len = lens[hdr[0]];
    o->kind = hdr[1];
    o->key = p;
    o->klen = hdr[2];
    o->val = p + kp;
    o->vlen = hdr[3];
    o->version = ver >= 0 && ver < 9007199254740992.0 ? (uint64_t)ver : 0;
    p += kp + vp;
  }
  rp_map_ctx_t cx = ctx_of(env, st);
  for (;;) {
    size_t fail = 0;
    uint64_t need = 0;
    int rc = rp_map_commit(ops, (size_t)count, &cx, &fail, &need);
    int code = -1;
    if (rc == 0) code = 0;
    else if (rc == RP_MAP_CONFLICT) code = 1;
    else if (rc == RP_MAP_STALE || rc == RP_ARENA_GROW) {
      uint32_t vi = 0;
      for (; vi < nviews; vi++)
        if (bases[vi] == ops[fail].base) break;
      if (vi == nviews) goto done;
      size_t nl = lens[vi];
      if (rc == RP_MAP_STALE ? !remeasure(env, vals[vi], &nl, "transaction commit") : !rp__view_bytes(env, vals[vi], &nl))
        goto done;
      for (int64_t i = 0; i < count; i++)
        if (ops[i].base == bases[vi]) ops[i].len = nl;
      lens[vi] = nl;
      if (rc == RP_MAP_STALE || nl >= need) continue;
      res[0] = vi;
      res[1] = (double)need;
      code = 2;
    } else if (rc == RP_EFULL || rc == RP_ETOOBIG) {
      uint32_t vi = 0;
      for (; vi < nviews; vi++)
        if (bases[vi] == ops[fail].base) break;
      res[0] = rc == RP_EFULL ? vi : (double)fail;
      res[1] = 0;
      code = rc == RP_EFULL ? 3 : 4;
    } else {
      rp__throw_code(env, rc, "transaction");
      goto done;
    }
    ret = rp__int(env, code);
    break;
  }
  goto done;
bad:
  napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", "transaction: malformed op records");
done:
  free(bases);
  free(lens);
  free(vals);
  free(ops);
  return ret;
}

/* The robust list at thread death (see the file comment). */
static void cleanup(void *arg) {
  rp_menv_t *st = (rp_menv_t *)arg;
  st->closing = true;
  for (rp_mheld_t *h = st->held, *next; h; h = next) {
    next = h->next;
    rp_map_release_dead(h->base, h->len, st->id, h->stripe);
    free(h); /* the reference dies with the env */
  }
  st->held = NULL;
  /* key_ref / out_ref die with the env too. */
  free(st);
}

bool rp_bind_map(napi_env env, napi_value exports) {
  rp_menv_t *st = calloc(1, sizeof *st);
  if (!st) {
    napi_throw_error(env, "ERR_RINGPOOL_NO_MEMORY", "ringpool: out of memory at load");
    return false;
  }
  st->id = 1; /* main thread until mapSetup says otherwise */
  if (napi_add_env_cleanup_hook(env, cleanup, st) != napi_ok) {
    free(st);
    rp__throw_last(env);
    return false;
  }
  static const rp_fn_entry fns[] = {
      {"mapSetup", js_setup},   {"mapLayout", js_layout}, {"mapHeaderBytes", js_header_bytes},
      {"mapInit", js_init},     {"mapCheck", js_check},   {"mapGet", js_get},
      {"mapSet", js_set},       {"mapDelete", js_delete}, {"mapClear", js_clear},
      {"mapSize", js_size},     {"mapMemory", js_memory}, {"mapStripeOf", js_stripe_of},
      {"mapLock", js_lock},     {"mapUnlock", js_unlock}, {"mapScan", js_scan},
      {"mapCommit", js_commit}, {"mapBind", js_bind},     {"mapGetBound", js_get_bound},
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
