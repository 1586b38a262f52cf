/*
 * vyukov.h - the claim step of the bounded MPMC rings in ring.c and squeue.c (Vyukov's
 * algorithm with half-step sequence numbers, as ring.h RING describes: seq == 2p, the slot
 * is free for position p; seq == 2p + 1, it holds the record pushed at p). Producers claim
 * on the tail with half 0, consumers on the head with half 1; what they do with the slot
 * afterwards, and the release store of its seq that ends it, stays with the caller.
 * No N-API here.
 */
#ifndef RP_VYUKOV_H
#define RP_VYUKOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "platform.h"

/* What rp_vy_claim does when the slot at the cursor is a lap behind: for a producer, the
 * previous lap's consumer has not freed it (full); for a consumer, nothing was pushed there
 * yet (empty). */
typedef enum {
  RP_VY_REPORT,       /* return RP_VY_BEHIND */
  RP_VY_FENCE_REPORT, /* run the seq_cst fence F_c of the sleeping protocol, look once more,
                         then return RP_VY_BEHIND */
  RP_VY_WAIT,         /* spin until it is not (the caller knows that happens soon) */
} rp_vy_behind_t;

#define RP_VY_BEHIND 1

/* Claims the next position of *cursor whose slot's seq reads 2 pos + half. Slot i of the ring
 * (mask + 1 slots, a power of two) is at slots + i * stride, seq its first u32. Returns 0 with
 * *pos_out and *slot_out set (the slot is the caller's until its release store of seq),
 * RP_VY_BEHIND (see rp_vy_behind_t), or RP_ELAYOUT when memory is corrupt. */
static inline int rp_vy_claim(_Atomic uint32_t *cursor, uint8_t *slots, uint32_t mask, size_t stride, uint32_t half,
                              rp_vy_behind_t behind, uint32_t *pos_out, uint8_t **slot_out) {
  /* relaxed: the position is only a guess; the slot's sequence number decides. */
  uint32_t pos = atomic_load_explicit(cursor, memory_order_relaxed);
  bool fenced = behind != RP_VY_FENCE_REPORT;
  for (;;) {
    uint8_t *s = slots + (size_t)(pos & mask) * stride;
    /* A1 / A2 acquire: a producer sees the R2 that freed the slot (the consumer's reads of
     * the old record are done before our writes); a consumer sees the record R1 published.
     * Pairs with the other side's release store of seq. */
    uint32_t seq = atomic_load_explicit(RP_AU32(s), memory_order_acquire);
    int32_t dif = (int32_t)(seq - (2u * pos + half));
    if (dif == 0) {
      /* C1 / C2 relaxed: the claim publishes nothing (the release store of seq does); on
       * failure pos is refreshed and the acquire load re-validates it. Weak: a spurious
       * failure just loops. */
      if (atomic_compare_exchange_weak_explicit(cursor, &pos, pos + 1, memory_order_relaxed, memory_order_relaxed)) {
        *pos_out = pos;
        *slot_out = s;
        return 0;
      }
    } else if (dif < 0) {
      if (behind == RP_VY_WAIT) {
        rp_cpu_relax();
        pos = atomic_load_explicit(cursor, memory_order_relaxed); /* relaxed: as the first load */
      } else {
        if (fenced) return RP_VY_BEHIND;
        atomic_thread_fence(memory_order_seq_cst); /* F_c */
        fenced = true;
      }
    } else {
      /* Another thread claimed pos: its claim precedes its release store, which the acquire
       * load read (or something later), so a fresh cursor differs from pos unless memory is
       * corrupt. relaxed: as the first load. */
      uint32_t now = atomic_load_explicit(cursor, memory_order_relaxed);
      if (now == pos) return RP_ELAYOUT;
      pos = now;
    }
  }
}

#endif
