/* live.c - process-wide registry of live lock owners (see live.h). */
#include "live.h"

#include "platform.h"

/* The registry (live.h LAYOUT). Mutable global by design: owners of every thread of the
 * process meet here. Zero-initialised, so usable before any call. */
static _Atomic uint32_t live_slots[RP_LIVE_SLOTS];
static _Atomic uint32_t live_gen;

uint32_t rp_live_register(void) {
  /* relaxed: the counter only makes tokens differ; the slot CAS below publishes. */
  uint32_t gen = atomic_fetch_add_explicit(&live_gen, 1, memory_order_relaxed);
  uint32_t start = (gen % (RP_LIVE_SLOTS - 1)) + 1;
  for (uint32_t k = 0; k < RP_LIVE_SLOTS - 1; k++) {
    uint32_t slot = ((start - 1 + k) % (RP_LIVE_SLOTS - 1)) + 1;
    uint32_t token = ((gen & 0x7FFFFu) << 12) | slot;
    uint32_t expected = 0;
    if (atomic_load_explicit(&live_slots[slot], memory_order_relaxed) != 0) continue; /* relaxed: a hint; the CAS decides */
    if (atomic_compare_exchange_strong_explicit(&live_slots[slot], &expected, token, memory_order_seq_cst,
                                                memory_order_relaxed))
      return token;
  }
  return 0;
}

void rp_live_unregister(uint32_t token) {
  if (token == 0) return;
  uint32_t expected = token;
  atomic_compare_exchange_strong_explicit(&live_slots[token & (RP_LIVE_SLOTS - 1)], &expected, 0, memory_order_seq_cst,
                                          memory_order_relaxed);
}

int rp_live_alive(uint32_t token) {
  if (token == 0) return 0;
  return atomic_load_explicit(&live_slots[token & (RP_LIVE_SLOTS - 1)], memory_order_seq_cst) == token;
}
