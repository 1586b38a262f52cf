/* addon.c - module entry: per-environment setup and the property table. Nothing else. */
#include "napi_util.h"

NAPI_MODULE_INIT() {
  if (!rp_bind_wait(env, exports)) return NULL;
  if (!rp_bind_ring(env, exports)) return NULL;
  if (!rp_bind_channel(env, exports)) return NULL;
  if (!rp_bind_slots(env, exports)) return NULL;
  if (!rp_bind_sync(env, exports)) return NULL;
  if (!rp_bind_map(env, exports)) return NULL;
  if (!rp_bind_squeue(env, exports)) return NULL;
  return exports;
}
