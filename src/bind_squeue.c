/*
 * bind_squeue.c - N-API glue for SharedQueue's core (squeue.h). Translation only. The region
 * is a growable SharedArrayBuffer seen through a length-tracking Int32Array: when the core
 * says the caller's length is stale we measure again; when it needs more memory JS grows the
 * buffer and calls again. See lib/shared/native-shared.ts for the JS contract.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "napi_util.h"
#include "squeue.h"

#define MAX_ARGS 4

static bool get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  return rp__args(env, info, argv, MAX_ARGS, NULL);
}

static int check_whole(const void *base, size_t bytes) { return rp_squeue_check(base, bytes, NULL); }

/* argv must be an Int32Array over a whole structure of this kind. */
static bool get_queue(napi_env env, napi_value v, const char *what, void **base, size_t *len) {
  return rp__get_structure(env, v, what, check_whole, base, len);
}


static napi_value num(napi_env env, double d) {
  napi_value r = NULL;
  RP_CALL(env, napi_create_double(env, d, &r));
  return r;
}

static bool set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x = rp__int(env, v);
  return x != NULL && napi_set_named_property(env, obj, name, x) == napi_ok;
}

static napi_value js_layout(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  RP_CALL(env, napi_create_object(env, &o));
  bool ok = set_int(env, o, "notEmptySeq", RP_SQUEUE_OFF_NOT_EMPTY_SEQ / 4) &&
            set_int(env, o, "notEmptyWaiters", RP_SQUEUE_OFF_NOT_EMPTY_WAITERS / 4) &&
            set_int(env, o, "roomSeq", RP_SQUEUE_OFF_ROOM_SEQ / 4) &&
            set_int(env, o, "roomWaiters", RP_SQUEUE_OFF_ROOM_WAITERS / 4) &&
            set_int(env, o, "closed", RP_SQUEUE_OFF_CLOSED / 4) &&
            set_int(env, o, "reserved", RP_SQUEUE_OFF_RESERVED / 4) &&
            set_int(env, o, "released", RP_SQUEUE_OFF_RELEASED / 4) &&
            set_int(env, o, "tail", RP_SQUEUE_OFF_TAIL / 4) &&
            set_int(env, o, "head", RP_SQUEUE_OFF_HEAD / 4) &&
            set_int(env, o, "slots", RP_SQUEUE_SLOTS_AT / 4) &&
            set_int(env, o, "slotHead", RP_SQUEUE_SLOT_HEAD) &&
            set_int(env, o, "infoRef", RP_SQUEUE_INFO_REF) &&
            set_int(env, o, "maxCapacity", RP_SQUEUE_MAX_CAPACITY) &&
            set_int(env, o, "maxBytes", (int64_t)RP_ARENA_MAX_LIMIT);
  if (!ok) {
    rp__throw_last(env);
    return NULL;
  }
  return o;
}

static napi_value js_header_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int64_t c, max;
  if (!get_args(env, info, argv) || !rp__get_int(env, argv[0], "capacity", 0, UINT32_MAX, &c) ||
      !rp__get_int(env, argv[1], "maxBytes", 0, (int64_t)RP_ARENA_MAX_LIMIT, &max))
    return NULL;
  return rp__int(env, (int64_t)rp_squeue_header_bytes((uint32_t)c, (uint64_t)max));
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t n = 0;
  int64_t c, max;
  if (!get_args(env, info, argv)) return NULL;
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &n)) return NULL;
  if (!rp__get_int(env, argv[1], "capacity", 0, UINT32_MAX, &c) ||
      !rp__get_int(env, argv[2], "maxBytes", 0, (int64_t)RP_ARENA_MAX_LIMIT, &max))
    return NULL;
  int rc = rp_squeue_init(data, n * sizeof(int32_t), (uint32_t)c, (uint64_t)max);
  if (rc != 0) RP_THROW_RC(env, rc, "squeueInit");
  return rp__undefined(env);
}

static napi_value js_check(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t n = 0;
  if (!get_args(env, info, argv)) return NULL;
  if (!rp__get_i32_aligned(env, argv[0], "i32", &data, &n)) return NULL;
  rp_squeue_info_t qi;
  int rc = rp_squeue_check(data, n * sizeof(int32_t), &qi);
  if (rc != 0) RP_THROW_RC(env, rc, "squeueCheck");
  napi_value arr;
  RP_CALL(env, napi_create_array_with_length(env, 6, &arr));
  RP_CALL(env, napi_set_element(env, arr, 0, rp__int(env, qi.capacity)));
  RP_CALL(env, napi_set_element(env, arr, 1, rp__int(env, (int64_t)qi.max_bytes)));
  RP_CALL(env, napi_set_element(env, arr, 2, rp__int(env, qi.header_bytes)));
  RP_CALL(env, napi_set_element(env, arr, 3, rp__int(env, qi.ring_capacity)));
  RP_CALL(env, napi_set_element(env, arr, 4, rp__int(env, qi.slot_bytes)));
  RP_CALL(env, napi_set_element(env, arr, 5, rp__int(env, qi.arena_off)));
  return arr;
}

/* squeueEnqueue(i32, bytes, lens: Uint32Array, n) -> 0 | need (> 0: grow, call again) |
 * -1 no room for n items | -2 memory full (max bytes) | -3 a record can never fit | -4 closed.
 * The n records lie back to back in bytes, lens[i] bytes each. */
static napi_value js_enqueue(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base, *bytes = NULL, *ld = NULL;
  size_t len, blen = 0, ln = 0;
  int64_t n;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.enqueue", &base, &len)) return NULL;
  if (!rp__get_bytes(env, argv[1], "bytes", &bytes, &blen)) return NULL;
  if (!rp__get_typed(env, argv[2], napi_uint32_array, "lens", &ld, &ln)) return NULL;
  if (!rp__get_int(env, argv[3], "n", 0, (int64_t)ln, &n)) return NULL;
  const uint32_t *lens = ld;
  const uint8_t *local[16];
  const uint8_t **recs = n <= 16 ? local : malloc((size_t)n * sizeof *recs);
  if (recs == NULL) RP_THROW(env, "ERR_RINGPOOL_NO_MEMORY", "SharedQueue.enqueue: out of memory");
  size_t off = 0;
  napi_value ret = NULL;
  for (int64_t i = 0; i < n; i++) {
    if (lens[i] > blen - off) {
      napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", "SharedQueue.enqueue: lens exceed bytes");
      goto done;
    }
    recs[i] = (const uint8_t *)bytes + off;
    off += lens[i];
  }
  for (;;) {
    uint64_t need = 0;
    int rc = rp_squeue_enqueue(base, len, (size_t)n, recs, lens, &need);
    if (rc == RP_ARENA_GROW) {
      if (!rp__view_bytes(env, argv[0], &len)) goto done;
      if (len >= need) continue;
      ret = num(env, (double)need);
    } else if (rc == 0) {
      ret = rp__int(env, 0);
    } else if (rc == RP_SQUEUE_FULL) {
      ret = rp__int(env, -1);
    } else if (rc == RP_EFULL) {
      ret = rp__int(env, -2);
    } else if (rc == RP_ETOOBIG) {
      ret = rp__int(env, -3);
    } else if (rc == RP_ESTATE) {
      ret = rp__int(env, -4);
    } else {
      rp__throw_code(env, rc, "SharedQueue.enqueue");
    }
    break;
  }
done:
  if (recs != local) free(recs);
  return ret;
}

/* Copies the record at claimed position pos out (into out, or a fresh Uint8Array when
 * longer) and releases it. The slot is released on every path, errors included: a claimed
 * slot that is never released would stall the queue. */
static napi_value take(napi_env env, napi_value view, void *base, size_t len, uint32_t pos, uint8_t *out, size_t cap) {
  uint32_t n = 0;
  uint64_t need = 0;
  int rc;
  napi_value result = NULL;
  while ((rc = rp_squeue_read(base, len, pos, out, cap, &n, &need)) == RP_ARENA_GROW)
    if (!rp__view_bytes(env, view, &len)) goto release;
  if (rc != 0) {
    rp__throw_code(env, rc, "SharedQueue.dequeue");
    goto release;
  }
  if (n <= cap) {
    result = rp__int(env, n);
  } else {
    void *big = NULL;
    napi_value ab;
    if (napi_create_arraybuffer(env, n, &big, &ab) != napi_ok) {
      rp__throw_last(env);
      goto release;
    }
    rc = rp_squeue_read(base, len, pos, big, n, &n, &need);
    if (rc != 0) {
      rp__throw_code(env, rc, "SharedQueue.dequeue");
      goto release;
    }
    if (napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &result) != napi_ok) {
      rp__throw_last(env);
      result = NULL;
    }
  }
release:
  rc = rp_squeue_release(base, len, pos);
  if (rc != 0 && result != NULL) {
    rp__throw_code(env, rc, "SharedQueue.dequeue");
    return NULL;
  }
  return result;
}

/* squeueDequeue(i32, out) -> -1 empty | length (copied into out) | Uint8Array (longer than out). */
static napi_value js_dequeue(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base, *out = NULL;
  size_t len, cap = 0;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.dequeue", &base, &len)) return NULL;
  if (!rp__get_bytes(env, argv[1], "out", &out, &cap)) return NULL;
  uint32_t pos;
  int rc = rp_squeue_pop(base, &pos);
  if (rc == RP_SQUEUE_EMPTY) return rp__int(env, -1);
  if (rc != 0) RP_THROW_RC(env, rc, "SharedQueue.dequeue");
  return take(env, argv[0], base, len, pos, out, cap);
}

/* squeueFinish(i32, pos, out): the rest of a dequeue whose claim (C2) JS made at position
 * pos: copies the record out like squeueDequeue and releases it. */
static napi_value js_finish(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base, *out = NULL;
  size_t len, cap = 0;
  int64_t pos;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.dequeue", &base, &len)) return NULL;
  if (!rp__get_int(env, argv[1], "pos", 0, UINT32_MAX, &pos)) return NULL;
  if (!rp__get_bytes(env, argv[2], "out", &out, &cap)) {
    rp_squeue_release(base, len, (uint32_t)pos); /* the record is lost with the error, the slot is not */
    return NULL;
  }
  return take(env, argv[0], base, len, (uint32_t)pos, out, cap);
}

/* squeueDequeueMany(i32, out, max) -> n: up to max records taken, stored back to back in out
 * as { u32 length; bytes; pad to 4 } (0 when empty); or [n, Uint8Array] when the record
 * after the first n did not fit in what was left of out: it was taken too and comes last,
 * as a copy. */
static napi_value js_dequeue_many(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base, *out = NULL;
  size_t len, cap = 0;
  int64_t max;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.dequeueMany", &base, &len)) return NULL;
  if (!rp__get_bytes(env, argv[1], "out", &out, &cap)) return NULL;
  if (!rp__get_int(env, argv[2], "max", 0, UINT32_MAX, &max)) return NULL;
  uint8_t *o = out;
  size_t pos = 0;
  int64_t n = 0;
  while (n < max) {
    uint32_t at, l = 0;
    uint64_t need = 0;
    int rc = rp_squeue_pop(base, &at);
    if (rc == RP_SQUEUE_EMPTY) break;
    if (rc != 0) RP_THROW_RC(env, rc, "SharedQueue.dequeueMany");
    size_t room = cap - pos >= 4 ? cap - pos - 4 : 0;
    while ((rc = rp_squeue_read(base, len, at, o + pos + 4, room, &l, &need)) == RP_ARENA_GROW)
      if (!rp__view_bytes(env, argv[0], &len)) {
        rp_squeue_release(base, len, at);
        return NULL;
      }
    if (rc != 0) {
      rp_squeue_release(base, len, at);
      RP_THROW_RC(env, rc, "SharedQueue.dequeueMany");
    }
    if (cap - pos < 4 || l > room) {
      napi_value last = take(env, argv[0], base, len, at, NULL, 0); /* copies and releases */
      if (last == NULL) return NULL;
      napi_value arr;
      RP_CALL(env, napi_create_array_with_length(env, 2, &arr));
      RP_CALL(env, napi_set_element(env, arr, 0, rp__int(env, n)));
      RP_CALL(env, napi_set_element(env, arr, 1, last));
      return arr;
    }
    memcpy(o + pos, &l, 4);
    pos += 4 + ((l + 3u) & ~(size_t)3u);
    n++;
    rc = rp_squeue_release(base, len, at);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedQueue.dequeueMany");
  }
  return rp__int(env, n);
}

static napi_value js_peek(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base, *out = NULL;
  size_t len, cap = 0;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.peek", &base, &len)) return NULL;
  if (!rp__get_bytes(env, argv[1], "out", &out, &cap)) return NULL;
  for (;;) {
    uint32_t n = 0;
    uint64_t need = 0;
    int rc = rp_squeue_peek(base, len, out, cap, &n, &need);
    if (rc == RP_ARENA_GROW) {
      if (!rp__view_bytes(env, argv[0], &len)) return NULL;
      continue;
    }
    if (rc == RP_SQUEUE_EMPTY) return rp__int(env, -1);
    if (rc != 0) RP_THROW_RC(env, rc, "SharedQueue.peek");
    if (n <= cap) return rp__int(env, n);
    void *big = NULL;
    napi_value ab, u8;
    RP_CALL(env, napi_create_arraybuffer(env, n, &big, &ab));
    uint32_t m = 0;
    rc = rp_squeue_peek(base, len, big, n, &m, &need);
    if (rc == RP_SQUEUE_EMPTY) return rp__int(env, -1);
    if (rc != 0 || m > n) continue; /* changed meanwhile: look again */
    RP_CALL(env, napi_create_typedarray(env, napi_uint8_array, m, ab, 0, &u8));
    return u8;
  }
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.close", &base, &len)) return NULL;
  rp_squeue_close(base);
  return rp__undefined(env);
}

static napi_value js_closed(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.closed", &base, &len)) return NULL;
  return rp__bool(env, rp_squeue_closed(base) != 0);
}

static napi_value js_clear(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.clear", &base, &len)) return NULL;
  return rp__int(env, rp_squeue_clear(base, len));
}

static napi_value js_size(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *base;
  size_t len;
  if (!get_args(env, info, argv) || !get_queue(env, argv[0], "SharedQueue.size", &base, &len)) return NULL;
  return rp__int(env, rp_squeue_size(base));
}

bool rp_bind_squeue(napi_env env, napi_value exports) {
  static const rp_fn_entry fns[] = {
      {"squeueLayout", js_layout},   {"squeueHeaderBytes", js_header_bytes},
      {"squeueInit", js_init},       {"squeueCheck", js_check},
      {"squeueEnqueue", js_enqueue}, {"squeueDequeue", js_dequeue},
      {"squeuePeek", js_peek},       {"squeueDequeueMany", js_dequeue_many},
      {"squeueClose", js_close},     {"squeueFinish", js_finish},
      {"squeueClosed", js_closed},   {"squeueClear", js_clear},
      {"squeueSize", js_size},
  };
  return rp__define_fns(env, exports, fns, sizeof fns / sizeof fns[0]);
}
