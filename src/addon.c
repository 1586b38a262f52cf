/* addon.c - module entry: per-environment setup and the property table. Nothing else. */
#include "napi_util.h"

NAPI_MODULE_INIT() {
  rp__defer_calls_to_walk_end(); /* for bind_wait's and bind_sync's on_wake; before any waiter */
  if (!rp_bind_wait(env, exports)) return NULL;
  if (!rp_bind_ring(env, exports)) return NULL;
  if (!rp_bind_channel(env, exports)) return NULL;
  if (!rp_bind_slots(env, exports)) return NULL;
  if (!rp_bind_sync(env, exports)) return NULL;
  if (!rp_bind_map(env, exports)) return NULL;
  if (!rp_bind_squeue(env, exports)) return NULL;
  return exports;
}
