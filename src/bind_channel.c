/* bind_channel.c - N-API glue for the channel (channel.h): reads and checks arguments,
 * calls the core, turns results and RP_E* codes into JS values or thrown errors.
 * No atomics here. Every function takes, first, an Int32Array over the channel's whole
 * SharedArrayBuffer (see lib/native.ts for the typed contract). */
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "errors.h"
#include "napi_util.h"

#define MAX_ARGS 2

/* Reads up to MAX_ARGS arguments; missing ones are `undefined`, which every reader below
 * rejects with a TypeError. */
static bool get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    rp__throw_last(env);
    return false;
  }
  return true;
}

/* Maps argument v (an Int32Array) to a validated channel view. */
static bool get_channel(napi_env env, napi_value v, rp_channel_t *ch) {
  void *data = NULL;
  size_t length = 0;
  if (!rp__get_i32_aligned(env, v, "channel", &data, &length)) return false;
  int rc = rp_channel_open(ch, data, length * sizeof(int32_t));
  if (rc != 0) {
    rp__throw_code(env, rc, "Channel");
    return false;
  }
  return true;
}

static bool get_capacity(napi_env env, napi_value v, size_t *out) {
  int64_t cap;
  if (!rp__get_int(env, v, "dataBytes", RP_CHANNEL_MIN_CAPACITY, RP_CHANNEL_MAX_CAPACITY, &cap)) return false;
  size_t bytes;
  if (rp_channel_bytes((size_t)cap, &bytes) != 0) {
    napi_throw_range_error(env, "ERR_RINGPOOL_OUT_OF_RANGE", "dataBytes must be a power of two from 64 to 2^30");
    return false;
  }
  *out = (size_t)cap;
  return true;
}

/* A fresh Uint8Array holding a copy of [src, src + len). */
static napi_value new_bytes(napi_env env, const void *src, size_t len) {
  void *dst = NULL;
  napi_value ab, u8;
  RP_CALL(env, napi_create_arraybuffer(env, len, &dst, &ab));
  RP_CALL(env, napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &u8));
  if (len != 0) memcpy(dst, src, len);
  return u8;
}

/* channelBytes(dataBytes) -> total bytes of the SharedArrayBuffer */
static napi_value channel_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv)) return NULL;
  size_t cap, bytes;
  if (!get_capacity(env, argv[0], &cap)) return NULL;
  int rc = rp_channel_bytes(cap, &bytes);
  if (rc != 0) RP_THROW_RC(env, rc, "channelBytes");
  return rp__int(env, (int64_t)bytes);
}

/* channelInit(i32, dataBytes) */
static napi_value channel_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, argv)) return NULL;
  void *data = NULL;
  size_t length = 0, cap;
  if (!rp__get_i32_aligned(env, argv[0], "channel", &data, &length)) return NULL;
  if (!get_capacity(env, argv[1], &cap)) return NULL;
  int rc = rp_channel_init(data, length * sizeof(int32_t), cap);
  if (rc != 0) RP_THROW_RC(env, rc, "channelInit");
  return rp__undefined(env);
}

/* channelCheck(i32) -> data capacity in bytes */
static napi_value channel_check(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  return rp__int(env, ch.capacity);
}

/* channelLayout() -> { headerBytes, dataSeq, readerWaiters } */
static napi_value channel_layout(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj;
  RP_CALL(env, napi_create_object(env, &obj));
  static const struct {
    const char *name;
    int64_t value;
  } fields[] = {
      {"headerBytes", RP_CHANNEL_HEADER_BYTES},
      {"dataSeq", RP_CHANNEL_OFF_DATA_SEQ / 4},
      {"readerWaiters", RP_CHANNEL_OFF_READER_WAITERS / 4},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    napi_value v = rp__int(env, fields[i].value);
    if (v == NULL) return NULL;
    RP_CALL(env, napi_set_named_property(env, obj, fields[i].name, v));
  }
  return obj;
}

/* channelMaxRecord(i32) -> largest payload */
static napi_value channel_max_record(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  return rp__int(env, rp_channel_max_record(&ch));
}

/* channelSend(i32, bytes) -> false when full; RangeError ERR_RINGPOOL_TOO_LARGE if it can never fit */
static napi_value channel_send(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  void *src = NULL;
  size_t len = 0;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  if (!rp__get_bytes(env, argv[1], "bytes", &src, &len)) return NULL;
  int rc = rp_channel_send(&ch, src, len);
  if (rc == RP_EFULL) return rp__bool(env, false);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.send");
  return rp__bool(env, true);
}

/* channelReceive(i32) -> Uint8Array | undefined */
static napi_value channel_receive(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  const void *p;
  size_t len;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  int rc = rp_channel_peek(&ch, &p, &len);
  if (rc == RP_CHANNEL_EMPTY) return rp__undefined(env);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.receive");
  napi_value out = new_bytes(env, p, len);
  if (out == NULL) return NULL; /* the record stays in the channel */
  rc = rp_channel_consume(&ch);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.receive");
  return out;
}

/* channelReceiveInto(i32, into) -> length, -1 when empty */
static napi_value channel_receive_into(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  void *dst = NULL;
  size_t cap = 0, len = 0;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  if (!rp__get_bytes(env, argv[1], "into", &dst, &cap)) return NULL;
  int rc = rp_channel_receive_into(&ch, dst, cap, &len);
  if (rc == RP_CHANNEL_EMPTY) return rp__int(env, -1);
  if (rc == RP_ETOOBIG) {
    char msg[160];
    snprintf(msg, sizeof msg, "Channel.receiveInto: the next record has %zu bytes but the destination holds %zu",
             len, cap);
    RP_THROW_RANGE(env, "ERR_RINGPOOL_TOO_LARGE", msg);
  }
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.receiveInto");
  return rp__int(env, (int64_t)len);
}

/* channelPeekSize(i32) -> size of the next record, -1 when empty */
static napi_value channel_peek_size(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  size_t len = 0;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  int rc = rp_channel_peek_size(&ch, &len);
  if (rc == RP_CHANNEL_EMPTY) return rp__int(env, -1);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.peekSize");
  return rp__int(env, (int64_t)len);
}

/* channelReceiveWait(i32, timeoutMs) -> Uint8Array | undefined (timed out). Blocks. */
static napi_value channel_receive_wait(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  rp_channel_t ch;
  double ms;
  const void *p;
  size_t len;
  if (!get_args(env, info, argv) || !get_channel(env, argv[0], &ch)) return NULL;
  if (!rp__get_double(env, argv[1], "timeoutMs", &ms)) return NULL;
  int rc = rp_channel_wait_readable(&ch, &p, &len, rp__timeout_ns(ms), rp__stop_check, env);
  if (rc == RP_CHANNEL_EMPTY) return rp__undefined(env);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.receiveWait");
  napi_value out = new_bytes(env, p, len);
  if (out == NULL) return NULL; /* the record stays in the channel */
  rc = rp_channel_consume(&ch);
  if (rc != 0) RP_THROW_RC(env, rc, "Channel.receiveWait");
  return out;
}

bool rp_bind_channel(napi_env env, napi_value exports) {
  static const rp_fn_entry fns[] = {
      {"channelBytes", channel_bytes},
      {"channelInit", channel_init},
      {"channelCheck", channel_check},
      {"channelLayout", channel_layout},
      {"channelMaxRecord", channel_max_record},
      {"channelSend", channel_send},
      {"channelReceive", channel_receive},
      {"channelReceiveInto", channel_receive_into},
      {"channelPeekSize", channel_peek_size},
      {"channelReceiveWait", channel_receive_wait},
  };
  return rp__define_fns(env, exports, fns, sizeof fns / sizeof fns[0]);
}
