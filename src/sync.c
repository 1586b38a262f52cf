/* sync.c - Mutex, RwLock, Semaphore, Barrier, Latch, Condition over the waiter table.
 * Layout, invariants, fairness and orderings: see sync.h. Every access to a shared word
 * below is seq_cst (sync.h "MEMORY ORDER"); the helpers ld/st32/cas/fadd say so once. */
#include "sync.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* Internal admission verdicts (results > 0 are RP_SYNC_OK flags). */
#define ADMIT_BUSY 0
#define ADMIT_KICK (-1)      /* W is set but nobody is serving the queue: run a handoff first */
#define ADMIT_DESIGNATE (-2) /* nobody queued, but this request cannot be served yet */

#define MASK16 0xFFFFu

static _Atomic int32_t *at(_Atomic int32_t *base, int i) { return base + i; }
#define STATE(b) at((b), RP_SYNC_I_STATE)
#define OWNER(b) at((b), RP_SYNC_I_OWNER)
#define GATE(b) at((b), RP_SYNC_I_GATE)
#define NEED(b) at((b), RP_SYNC_I_NEED)
#define PARAM(b) at((b), RP_SYNC_I_PARAM)

/* seq_cst: see sync.h MEMORY ORDER. */
static uint32_t ld(_Atomic int32_t *p) { return (uint32_t)atomic_load_explicit(p, memory_order_seq_cst); }
static void st32(_Atomic int32_t *p, uint32_t v) { atomic_store_explicit(p, (int32_t)v, memory_order_seq_cst); }
/* seq_cst on success and failure: a failed CAS is also a load the protocol reasons about. */
static bool cas(_Atomic int32_t *p, uint32_t *expected, uint32_t desired) {
  int32_t e = (int32_t)*expected;
  bool ok = atomic_compare_exchange_strong_explicit(p, &e, (int32_t)desired, memory_order_seq_cst,
                                                    memory_order_seq_cst);
  *expected = (uint32_t)e;
  return ok;
}
/* seq_cst; wraps (C11 atomic arithmetic on signed types is two's complement). */
static void fadd(_Atomic int32_t *p, int32_t d) { atomic_fetch_add_explicit(p, d, memory_order_seq_cst); }

static int died_if(uint32_t v, uint32_t dbit) { return (v & dbit) ? RP_SYNC_DIED : 0; }

static void on_wake(rp_waiter_t *w);

/* Links sw on addr if *addr still equals expected (checked under the bucket lock). */
static bool link_on(rp_sync_waiter_t *sw, _Atomic int32_t *addr, uint32_t expected) {
  sw->outcome = 0;
  sw->w.on_wake = on_wake;
  return rp_wait_async_add(&sw->w, addr, (int32_t)expected) == RP_WAIT_OK;
}

/* ======================================================================== Mutex */

static int mx_admit(_Atomic int32_t *base, uint32_t id) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  while ((v >> RP_MX_SHIFT) == 0) {
    /* A newcomer never sets W: the word is free, so nobody is queued (I2: W with owner 0
     * exists only inside a handoff's final CAS, which clears both). */
    if (cas(s, &v, id << RP_MX_SHIFT)) return RP_SYNC_OK | died_if(v, RP_MX_D);
  }
  return ADMIT_BUSY;
}

static int mx_step(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  sw->phase = RP_SYNC_PH_STATE;
  for (;;) {
    int r = mx_admit(sw->base, sw->id);
    if (r > 0) return r;
    uint32_t v = ld(s);
    if ((v >> RP_MX_SHIFT) == 0) continue;
    if (!(v & RP_MX_W)) {
      if (!cas(s, &v, v | RP_MX_W)) continue;
      v |= RP_MX_W;
    }
    /* Held or HANDOFF with W set: the holder's unlock (or the running handoff) will notify. */
    if (link_on(sw, s, v)) return RP_SYNC_QUEUED;
  }
}

/* on_wake, bucket lock held: grant in place if the word is being handed over. */
static int mx_wake(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  uint32_t v = ld(s);
  while ((v >> RP_MX_SHIFT) == RP_MX_HANDOFF) {
    /* Keeps W: others may still be queued behind us. */
    if (cas(s, &v, (sw->id << RP_MX_SHIFT) | RP_MX_W)) return RP_SYNC_OK | died_if(v, RP_MX_D);
  }
  return RP_SYNC_W_RETRY;
}

/* Set by an on_wake that ends the running hand-off (a mutex grant; a writer granted or
 * designated; a semaphore waiter designated). on_wake runs synchronously on the notifying
 * thread inside rp_notify_handoff, so a thread-local flag reaches the hand-off's go_on
 * without touching the waiter (which its own thread may already have freed). Comparing the
 * word instead would be ABA-prone: the new holder may release and store the same HANDOFF
 * value again before the notifier looks. */
static _Thread_local int tl_passed;

static int go_until_passed(void *ctx) {
  (void)ctx;
  return !tl_passed;
}

/* What a hand-off's go_on / drained work on: the state word, and the hand-off's value (mutex:
 * the word h it stored) or bit (RwLock, Semaphore: their H). */
typedef struct {
  _Atomic int32_t *s;
  uint32_t h;
} handoff_ctx_t;

/* Runs a hand-off on c->s (see rp_notify_handoff). */
static void handoff(handoff_ctx_t *c, rp_handoff_go_fn go_on, rp_handoff_drained_fn drained) {
  tl_passed = 0;
  rp_notify_handoff(c->s, go_on, drained, c);
}

static_assert(RP_RW_W == 1u && RP_SEM_W == 1u, "W is bit 0 of both words (hw_drained)");

/* Queue empty (bucket lock held) in a RwLock or Semaphore hand-off: it ends, clearing its H
 * bit c->h and W. */
static void hw_drained(void *ctx) {
  handoff_ctx_t *c = ctx;
  uint32_t v = ld(c->s);
  while ((v & c->h) && !cas(c->s, &v, v & ~(c->h | 1u))) {
  }
}

/* Queue empty (bucket lock held): free the word, keeping D for the next acquirer. Nobody
 * else changes h (I1), so the CAS succeeds; a waiter that read h links only under the lock
 * we hold, sees 0 and looks again. */
static void mx_drained(void *ctx) {
  handoff_ctx_t *m = ctx;
  uint32_t v = m->h;
  (void)cas(m->s, &v, m->h & RP_MX_D);
}

/* The word is h = HANDOFF | W [| D], stored by the releaser. Wakes queued waiters in FIFO
 * order until one is granted (its on_wake CASes h away), or frees the word if none is left. */
static void mx_handoff(_Atomic int32_t *base, uint32_t h) {
  handoff_ctx_t m = {STATE(base), h};
  handoff(&m, go_until_passed, mx_drained);
}

int rp_sync_mutex_unlock(_Atomic int32_t *base, uint32_t id, int died) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if ((v >> RP_MX_SHIFT) != id) return RP_SYNC_ENOTOWNER;
    if (v & RP_MX_W) break;
    if (cas(s, &v, died ? RP_MX_D : 0)) return 0;
  }
  /* W is set. By I1 nobody else changes the word now (W is already set), so a store. */
  uint32_t h = (RP_MX_HANDOFF << RP_MX_SHIFT) | RP_MX_W | (died ? RP_MX_D : 0);
  st32(s, h);
  mx_handoff(base, h);
  return 0;
}

/* ======================================================================== RwLock */

#define RW_R (1u << RP_RW_SHIFT)

static int rw_admit_read(_Atomic int32_t *base) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (v & (RP_RW_WR | RP_RW_P | RP_RW_H)) return ADMIT_BUSY;
    if (v & RP_RW_W) return ADMIT_KICK;
    if ((v >> RP_RW_SHIFT) >= RP_RW_MAX_READERS) return ADMIT_BUSY;
    if (cas(s, &v, (v + RW_R) & ~RP_RW_D)) return RP_SYNC_OK | died_if(v, RP_RW_D);
  }
}

static int rw_admit_write(_Atomic int32_t *base, uint32_t id) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (v & (RP_RW_WR | RP_RW_P | RP_RW_H)) return ADMIT_BUSY;
    if (v & RP_RW_W) return ADMIT_KICK;
    if (v >> RP_RW_SHIFT) return ADMIT_DESIGNATE;
    if (cas(s, &v, RP_RW_WR)) {
      st32(OWNER(base), id); /* I5: after the CAS that sets WR */
      return RP_SYNC_OK | died_if(v, RP_RW_D);
    }
  }
}

static void rw_handoff(_Atomic int32_t *base);

/* Starts a handoff if waiters are queued and nobody serves them (no WR, P, H). */
static void rw_kick(_Atomic int32_t *base) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (!(v & RP_RW_W) || (v & (RP_RW_WR | RP_RW_P | RP_RW_H))) return;
    if (cas(s, &v, v | RP_RW_H)) break;
  }
  rw_handoff(base);
}

/* H is set by us. Grants queued readers one by one (each keeps H); stops at the first
 * writer (granted or designated: its on_wake clears H) or when the queue is empty. */
static void rw_handoff(_Atomic int32_t *base) {
  handoff_ctx_t c = {STATE(base), RP_RW_H};
  handoff(&c, go_until_passed, hw_drained);
}

/* The designated writer gives up (abort, timeout, thread exit): P goes; if waiters are
 * queued the same CAS starts a handoff for them (readers may proceed now). */
static void rw_undesignate(_Atomic int32_t *base, uint32_t id) {
  _Atomic int32_t *s = STATE(base);
  if (ld(OWNER(base)) != id) return;
  st32(OWNER(base), 0); /* I5: before the CAS that clears P */
  uint32_t v = ld(s), nv;
  for (;;) {
    if (!(v & RP_RW_P)) return;
    nv = v & ~RP_RW_P;
    if (nv & RP_RW_W) nv |= RP_RW_H;
    if (cas(s, &v, nv)) break;
  }
  if (nv & RP_RW_H) rw_handoff(base);
}

/* Designated writer: waits on GATE until the readers are gone, then takes WR. */
static int rw_gate(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  sw->phase = RP_SYNC_PH_GATE;
  for (;;) {
    uint32_t g = ld(GATE(sw->base)); /* before STATE: see sync.h NO LOST WAKE-UPS */
    uint32_t v = ld(s);
    if ((v >> RP_RW_SHIFT) == 0) {
      if (cas(s, &v, (v & ~(RP_RW_P | RP_RW_D)) | RP_RW_WR)) return RP_SYNC_OK | died_if(v, RP_RW_D);
      continue;
    }
    if (link_on(sw, GATE(sw->base), g)) return RP_SYNC_QUEUED;
  }
}

static int rw_step(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  if (sw->phase == RP_SYNC_PH_GATE) return rw_gate(sw);
  sw->phase = RP_SYNC_PH_STATE;
  for (;;) {
    int r = sw->op == RP_SYNC_OP_READ ? rw_admit_read(sw->base) : rw_admit_write(sw->base, sw->id);
    if (r > 0) return r;
    if (r == ADMIT_KICK) {
      rw_kick(sw->base);
      continue;
    }
    uint32_t v = ld(s);
    if (r == ADMIT_DESIGNATE) {
      /* Readers hold and nobody is queued: this writer is the head; it waits on GATE. */
      if (!(v & (RP_RW_W | RP_RW_WR | RP_RW_P | RP_RW_H)) && (v >> RP_RW_SHIFT) != 0 && cas(s, &v, v | RP_RW_P)) {
        st32(OWNER(sw->base), sw->id); /* I5 */
        return rw_gate(sw);
      }
      continue;
    }
    if (!(v & (RP_RW_WR | RP_RW_P | RP_RW_H))) continue; /* changed: admission again */
    if (!(v & RP_RW_W)) {
      if (!cas(s, &v, v | RP_RW_W)) continue;
      v |= RP_RW_W;
    }
    if (link_on(sw, s, v)) return RP_SYNC_QUEUED; /* I2: WR, P or H is set */
  }
}

static int rw_wake(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  uint32_t v = ld(s);
  if (sw->phase == RP_SYNC_PH_GATE) {
    for (;;) {
      if (v >> RP_RW_SHIFT) return RP_SYNC_W_RETRY; /* stays designated, waits on GATE again */
      if (cas(s, &v, (v & ~(RP_RW_P | RP_RW_D)) | RP_RW_WR)) return RP_SYNC_OK | died_if(v, RP_RW_D);
    }
  }
  for (;;) {
    if (!(v & RP_RW_H)) return RP_SYNC_W_RETRY;
    if (sw->op == RP_SYNC_OP_READ) {
      if (cas(s, &v, (v + RW_R) & ~RP_RW_D)) return RP_SYNC_OK | died_if(v, RP_RW_D); /* keeps H */
    } else if ((v >> RP_RW_SHIFT) == 0) {
      if (cas(s, &v, (v & ~(RP_RW_H | RP_RW_D)) | RP_RW_WR)) {
        st32(OWNER(sw->base), sw->id); /* I5 */
        return RP_SYNC_OK | died_if(v, RP_RW_D);
      }
    } else if (cas(s, &v, (v & ~RP_RW_H) | RP_RW_P)) {
      st32(OWNER(sw->base), sw->id); /* I5 */
      sw->phase = RP_SYNC_PH_GATE;
      return RP_SYNC_W_DESIGNATED;
    }
  }
}

int rp_sync_write_unlock(_Atomic int32_t *base, uint32_t id, int died) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s), nv;
  if (!(v & RP_RW_WR) || ld(OWNER(base)) != id) return RP_SYNC_ENOTOWNER;
  st32(OWNER(base), 0); /* I5: before the CAS that clears WR */
  for (;;) {
    nv = (v & ~RP_RW_WR) | (died ? RP_RW_D : 0);
    if (nv & RP_RW_W) nv |= RP_RW_H;
    if (cas(s, &v, nv)) break;
  }
  if (nv & RP_RW_H) rw_handoff(base);
  return 0;
}

int rp_sync_read_unlock(_Atomic int32_t *base) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s), nv;
  for (;;) {
    if ((v >> RP_RW_SHIFT) == 0) return RP_SYNC_ENOTOWNER;
    nv = v - RW_R;
    if (cas(s, &v, nv)) break;
  }
  if ((nv >> RP_RW_SHIFT) == 0) {
    if (nv & RP_RW_P) {
      /* The designated writer may take it now: STATE changed above, GATE now, then notify. */
      fadd(GATE(base), 1);
      rp_notify(GATE(base), 1);
    } else if ((nv & RP_RW_W) && !(nv & (RP_RW_WR | RP_RW_H))) {
      rw_kick(base); /* defensive: I2 says this does not happen, but a kick is harmless */
    }
  }
  return 0;
}

/* ======================================================================== Semaphore */

#define SEM_N(v) ((v) >> RP_SEM_SHIFT)

static int sem_admit(_Atomic int32_t *base, uint32_t k) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (v & (RP_SEM_P | RP_SEM_H)) return ADMIT_BUSY;
    if (v & RP_SEM_W) return SEM_N(v) > 0 ? ADMIT_KICK : ADMIT_BUSY;
    if (SEM_N(v) < k) return ADMIT_DESIGNATE;
    if (cas(s, &v, v - (k << RP_SEM_SHIFT))) return RP_SYNC_OK;
  }
}

static void sem_handoff(_Atomic int32_t *base);

static void sem_kick(_Atomic int32_t *base) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (!(v & RP_SEM_W) || (v & (RP_SEM_P | RP_SEM_H)) || SEM_N(v) == 0) return;
    if (cas(s, &v, v | RP_SEM_H)) break;
  }
  sem_handoff(base);
}

/* Before each wake (bucket lock held): go on while H is ours and a permit is free. With no
 * permit left it clears H with a CAS on the exact value, so a release that added permits
 * meanwhile makes the CAS fail and we go on serving instead of leaving them unused; a
 * release after the CAS finds H clear and kicks a new hand-off itself. */
static int sem_go(void *ctx) {
  _Atomic int32_t *s = ((handoff_ctx_t *)ctx)->s;
  if (tl_passed) return 0;
  uint32_t v = ld(s);
  for (;;) {
    if (!(v & RP_SEM_H)) return 0;
    if (SEM_N(v) > 0) return 1;
    if (cas(s, &v, v & ~RP_SEM_H)) return 0;
  }
}

/* H is set by us. Grants queued requests in FIFO order while permits last; the first one
 * that does not fit becomes designated (its on_wake clears H). Never wakes anybody while
 * no permit is free: it stops and leaves W for the next release (I2). */
static void sem_handoff(_Atomic int32_t *base) {
  handoff_ctx_t c = {STATE(base), RP_SEM_H};
  handoff(&c, sem_go, hw_drained);
}

static void sem_undesignate(_Atomic int32_t *base) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s);
  for (;;) {
    if (!(v & RP_SEM_P)) return;
    if (cas(s, &v, v & ~RP_SEM_P)) break;
  }
  sem_kick(base);
}

static int sem_gate(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  sw->phase = RP_SYNC_PH_GATE;
  for (;;) {
    uint32_t g = ld(GATE(sw->base)); /* before STATE: see sync.h NO LOST WAKE-UPS */
    uint32_t v = ld(s);
    if (SEM_N(v) >= sw->k) {
      if (cas(s, &v, (v - (sw->k << RP_SEM_SHIFT)) & ~RP_SEM_P)) {
        sem_kick(sw->base); /* permits left over go to the queue */
        return RP_SYNC_OK;
      }
      continue;
    }
    if (link_on(sw, GATE(sw->base), g)) return RP_SYNC_QUEUED;
  }
}

static int sem_step(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  if (sw->k == 0 || sw->k > ld(PARAM(sw->base))) return RP_ERANGE;
  if (sw->phase == RP_SYNC_PH_GATE) return sem_gate(sw);
  sw->phase = RP_SYNC_PH_STATE;
  for (;;) {
    int r = sem_admit(sw->base, sw->k);
    if (r > 0) return r;
    if (r == ADMIT_KICK) {
      sem_kick(sw->base);
      continue;
    }
    uint32_t v = ld(s);
    if (r == ADMIT_DESIGNATE) {
      if (!(v & (RP_SEM_W | RP_SEM_P | RP_SEM_H)) && SEM_N(v) < sw->k && cas(s, &v, v | RP_SEM_P)) {
        /* NEED is a hint for releasers, written after P is ours (sync.h); correctness comes
         * from the GATE handshake in sem_gate. */
        st32(NEED(sw->base), sw->k);
        return sem_gate(sw);
      }
      continue;
    }
    /* Queue only where I2 holds: P or H set, or W set with no free permit. */
    if (!(v & (RP_SEM_P | RP_SEM_H)) && (!(v & RP_SEM_W) || SEM_N(v) > 0)) continue;
    if (!(v & RP_SEM_W)) {
      if (!cas(s, &v, v | RP_SEM_W)) continue;
      v |= RP_SEM_W;
    }
    if (link_on(sw, s, v)) return RP_SYNC_QUEUED;
  }
}

static int sem_wake(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  uint32_t v = ld(s);
  if (sw->phase == RP_SYNC_PH_GATE) {
    for (;;) {
      if (SEM_N(v) < sw->k) return RP_SYNC_W_RETRY;
      /* The releaser that notified GATE kicks the queue after its notify returns. */
      if (cas(s, &v, (v - (sw->k << RP_SEM_SHIFT)) & ~RP_SEM_P)) return RP_SYNC_OK;
    }
  }
  for (;;) {
    if (!(v & RP_SEM_H)) return RP_SYNC_W_RETRY;
    if (SEM_N(v) >= sw->k) {
      if (cas(s, &v, v - (sw->k << RP_SEM_SHIFT))) return RP_SYNC_OK; /* keeps H */
    } else if (cas(s, &v, (v & ~RP_SEM_H) | RP_SEM_P)) {
      st32(NEED(sw->base), sw->k);
      sw->phase = RP_SYNC_PH_GATE;
      return RP_SYNC_W_DESIGNATED;
    }
  }
}

int rp_sync_sem_release(_Atomic int32_t *base, uint32_t k) {
  _Atomic int32_t *s = STATE(base);
  uint64_t max = ld(PARAM(base));
  uint32_t v = ld(s);
  if (k == 0) return RP_ERANGE;
  for (;;) {
    if ((uint64_t)SEM_N(v) + k > max) return RP_ERANGE;
    if (cas(s, &v, v + (k << RP_SEM_SHIFT))) break;
  }
  v += k << RP_SEM_SHIFT;
  if (v & RP_SEM_P) {
    uint32_t need = ld(NEED(base));
    if (need == 0 || SEM_N(v) >= need) {
      fadd(GATE(base), 1);
      rp_notify(GATE(base), 1);
    }
  }
  sem_kick(base);
  return 0;
}

/* ======================================================================== Barrier, Latch, Condition */

static int bar_arrive(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  uint32_t parties = ld(PARAM(sw->base));
  uint32_t v = ld(s);
  for (;;) {
    uint32_t arrived = v & MASK16, gen = v >> 16;
    if (arrived + 1 >= parties) {
      if (cas(s, &v, ((gen + 1) & MASK16) << 16)) {
        rp_notify(s, UINT32_MAX); /* every party proceeds: waking all is exact */
        return RP_SYNC_OK | RP_SYNC_LEADER;
      }
    } else if (cas(s, &v, v + 1)) {
      sw->gen = gen;
      return 0;
    }
  }
}

/* Takes back this waiter's arrival unless its generation already tripped (then: done). */
static int bar_withdraw(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  uint32_t v = ld(s);
  for (;;) {
    if ((v >> 16) != sw->gen) return RP_SYNC_OK;
    if (cas(s, &v, v - 1)) return 0;
  }
}

static int bar_step(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  if (sw->phase == RP_SYNC_PH_START) {
    int r = bar_arrive(sw);
    if (r) return r;
    sw->phase = RP_SYNC_PH_STATE;
  }
  for (;;) {
    uint32_t v = ld(s);
    if ((v >> 16) != sw->gen) return RP_SYNC_OK;
    if (link_on(sw, s, v)) return RP_SYNC_QUEUED;
  }
}

static int latch_step(rp_sync_waiter_t *sw) {
  _Atomic int32_t *s = STATE(sw->base);
  sw->phase = RP_SYNC_PH_STATE;
  for (;;) {
    uint32_t v = ld(s);
    if (v == 0) return RP_SYNC_OK;
    if (link_on(sw, s, v)) return RP_SYNC_QUEUED;
  }
}

uint32_t rp_sync_latch_count_down(_Atomic int32_t *base, uint32_t k) {
  _Atomic int32_t *s = STATE(base);
  uint32_t v = ld(s), nv;
  for (;;) {
    if (v == 0) return 0;
    nv = v > k ? v - k : 0;
    if (cas(s, &v, nv)) break;
  }
  if (nv == 0) rp_notify(s, UINT32_MAX);
  return nv;
}

/* Condition: one wait per call; any wake-up (or a notify that came before the link) ends it.
 * Spurious returns are allowed, as with every condition variable. */
static int cond_step(rp_sync_waiter_t *sw) {
  if (sw->phase != RP_SYNC_PH_START) return RP_SYNC_OK;
  sw->phase = RP_SYNC_PH_STATE;
  if (link_on(sw, STATE(sw->base), sw->k)) return RP_SYNC_QUEUED;
  return RP_SYNC_OK; /* the sequence moved since the caller read it: a notify happened */
}

uint32_t rp_sync_cond_notify(_Atomic int32_t *base, uint32_t count) {
  fadd(STATE(base), 1); /* before the notify: a waiter not yet linked sees the new sequence */
  return rp_notify(STATE(base), count);
}

/* ======================================================================== dispatch */

static void on_wake(rp_waiter_t *w) {
  rp_sync_waiter_t *sw = (rp_sync_waiter_t *)(void *)w; /* w is sw's first member */
  int o;
  switch (sw->op) {
  case RP_SYNC_OP_LOCK: o = mx_wake(sw); break;
  case RP_SYNC_OP_READ:
  case RP_SYNC_OP_WRITE: o = rw_wake(sw); break;
  case RP_SYNC_OP_ACQUIRE: o = sem_wake(sw); break;
  default: o = RP_SYNC_W_WOKEN; break;
  }
  /* Ends the running hand-off: a mutex or writer granted, a waiter designated. (A reader or
   * semaphore grant keeps H: the hand-off serves the next one.) Only hand-offs read it. */
  if (o == RP_SYNC_W_DESIGNATED || ((o & RP_SYNC_OK) && (sw->op == RP_SYNC_OP_LOCK || sw->op == RP_SYNC_OP_WRITE)))
    tl_passed = 1;
  sw->outcome = o; /* ordered before the owner's read by deliver (sync.h MEMORY ORDER) */
  sw->deliver(sw);
}

void rp_sync_waiter_init(rp_sync_waiter_t *sw, _Atomic int32_t *base, int op, uint32_t id, uint32_t k) {
  memset(sw, 0, sizeof *sw);
  sw->base = base;
  sw->op = op;
  sw->id = id;
  sw->k = k;
  sw->phase = RP_SYNC_PH_START;
}

int rp_sync_step(rp_sync_waiter_t *sw) {
  int o = sw->outcome;
  sw->outcome = 0;
  if (o & RP_SYNC_OK) {
    sw->phase = RP_SYNC_PH_DONE;
    return o;
  }
  int r;
  switch (sw->op) {
  case RP_SYNC_OP_LOCK: r = mx_step(sw); break;
  case RP_SYNC_OP_READ:
  case RP_SYNC_OP_WRITE: r = rw_step(sw); break;
  case RP_SYNC_OP_ACQUIRE: r = sem_step(sw); break;
  case RP_SYNC_OP_BARRIER: r = bar_step(sw); break;
  case RP_SYNC_OP_LATCH: r = latch_step(sw); break;
  case RP_SYNC_OP_COND: r = cond_step(sw); break;
  default: return RP_EINVAL;
  }
  if (r > 0 && (r & RP_SYNC_OK)) sw->phase = RP_SYNC_PH_DONE;
  return r;
}

int rp_sync_try(_Atomic int32_t *base, int op, uint32_t id, uint32_t k) {
  for (;;) {
    int r;
    switch (op) {
    case RP_SYNC_OP_LOCK: return mx_admit(base, id);
    case RP_SYNC_OP_READ: r = rw_admit_read(base); break;
    case RP_SYNC_OP_WRITE: r = rw_admit_write(base, id); break;
    case RP_SYNC_OP_ACQUIRE:
      if (k == 0 || k > ld(PARAM(base))) return RP_ERANGE;
      r = sem_admit(base, k);
      break;
    case RP_SYNC_OP_LATCH: return ld(STATE(base)) == 0 ? RP_SYNC_OK : 0;
    default: return RP_EINVAL;
    }
    if (r != ADMIT_KICK) return r > 0 ? r : 0;
    if (op == RP_SYNC_OP_ACQUIRE) sem_kick(base);
    else rw_kick(base);
  }
}

/* What leaving implies for a waiter that is neither linked nor holding anything. */
static int leave_idle(rp_sync_waiter_t *sw) {
  int r = 0;
  if (sw->phase == RP_SYNC_PH_GATE) {
    if (sw->op == RP_SYNC_OP_WRITE) rw_undesignate(sw->base, sw->id);
    else if (sw->op == RP_SYNC_OP_ACQUIRE) sem_undesignate(sw->base);
  } else if (sw->op == RP_SYNC_OP_BARRIER && sw->phase == RP_SYNC_PH_STATE) {
    r = bar_withdraw(sw);
  } else if (sw->op == RP_SYNC_OP_LATCH) {
    r = ld(STATE(sw->base)) == 0 ? RP_SYNC_OK : 0;
  }
  sw->phase = RP_SYNC_PH_DONE;
  return r;
}

void rp_sync_removed(rp_sync_waiter_t *sw) { (void)leave_idle(sw); }

int rp_sync_cancel(rp_sync_waiter_t *sw) {
  if (!rp_wait_async_cancel(sw->w.addr, sw->w.owner, sw->w.token)) return -1;
  return leave_idle(sw);
}

int rp_sync_abandon(rp_sync_waiter_t *sw, int keep) {
  int o = sw->outcome;
  sw->outcome = 0;
  if (o & RP_SYNC_OK) {
    sw->phase = RP_SYNC_PH_DONE;
    if (keep) return o;
    switch (sw->op) {
    case RP_SYNC_OP_LOCK: rp_sync_mutex_unlock(sw->base, sw->id, 0); break;
    case RP_SYNC_OP_WRITE: rp_sync_write_unlock(sw->base, sw->id, 0); break;
    case RP_SYNC_OP_READ: rp_sync_read_unlock(sw->base); break;
    case RP_SYNC_OP_ACQUIRE: rp_sync_sem_release(sw->base, sw->k); break;
    default: break;
    }
    return 0;
  }
  if (o == RP_SYNC_W_WOKEN && sw->op == RP_SYNC_OP_COND) {
    sw->phase = RP_SYNC_PH_DONE;
    return keep ? RP_SYNC_OK : 0; /* the notify was consumed by this waiter */
  }
  /* RETRY, DESIGNATED, or WOKEN of a Barrier/Latch: like leaving while idle. A RETRY owes
   * nothing to others: it was not granted anything. */
  int r = leave_idle(sw);
  return keep ? r : 0;
}

/* ======================================================================== blocking */

/* One link of a blocking wait. Heap-allocated because the notifier touches it after setting
 * `done` (the futex wake) while the waiter may already have returned: each side drops one
 * of two references, the last frees it (no access after the store that lets the other free).
 * done: 0 waiting (spinning), 2 waiting (parked on the futex), 1 delivered. A waiter spins a
 * little before parking, so a hand-off to a thread that is still spinning costs no syscall. */
typedef struct {
  rp_sync_waiter_t sw; /* first member */
  _Atomic uint32_t done;
  _Atomic uint32_t refs;
} rp_blk_t;

#define BLK_SPIN 0u
#define BLK_DELIVERED 1u
#define BLK_PARKED 2u

static void blk_drop(rp_blk_t *b) {
  /* K1 acq_rel: the side that drops last sees all of the other's accesses before freeing. */
  if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) free(b);
}

static void blk_deliver(rp_sync_waiter_t *sw) {
  rp_blk_t *b = (rp_blk_t *)(void *)sw;
  /* B1 release: publishes sw->outcome/phase; pairs with B2 in rp_sync_block. The exchange
   * also tells whether the waiter parked (B3 made it 2 first) and so needs a futex wake. */
  if (atomic_exchange_explicit(&b->done, BLK_DELIVERED, memory_order_acq_rel) == BLK_PARKED)
    rp_futex_wake(&b->done, 1);
  blk_drop(b);
}

/* Admission attempts before a blocking wait parks for the first time. A lock held briefly by
 * a thread that runs on another core is often free within a few hundred cycles, and taking it
 * then saves the park and the wake (two futex calls and a context switch on each side).
 * rp_sync_try never passes queued waiters (it honours W, P and H), so FIFO order is kept. */
#define RP_SYNC_SPIN 100

int rp_sync_block(_Atomic int32_t *base, int op, uint32_t id, uint32_t k, int64_t timeout_ns, rp_stop_fn stop,
                  void *ctx) {
  if (timeout_ns != 0 && op >= RP_SYNC_OP_LOCK && op <= RP_SYNC_OP_ACQUIRE) {
    for (int i = 0; i < RP_SYNC_SPIN; i++) {
      int r = rp_sync_try(base, op, id, k);
      if (r != 0) return r;
      rp_cpu_relax();
    }
  }
  rp_sync_waiter_t cur; /* the state machine between links */
  rp_sync_waiter_init(&cur, base, op, id, k);
  int64_t deadline = timeout_ns < 0 ? -1 : rp_now_ns() + timeout_ns;
  for (;;) {
    rp_blk_t *b = malloc(sizeof *b);
    if (!b) {
      leave_idle(&cur);
      return RP_ENOMEM;
    }
    b->sw = cur;
    b->sw.deliver = blk_deliver;
    b->sw.w.owner = b;
    b->sw.w.token = 0;
    atomic_init(&b->done, 0);
    atomic_init(&b->refs, 2);
    int r = rp_sync_step(&b->sw);
    if (r != RP_SYNC_QUEUED) {
      free(b);
      return r;
    }
    int give_up = 0; /* 1 timeout, 2 stop */
    int spins = 0;
    for (;;) {
      /* B2 acquire: sees the outcome written before B1. */
      uint32_t d = atomic_load_explicit(&b->done, memory_order_acquire);
      if (d == BLK_DELIVERED) break;
      if (spins < RP_SYNC_SPIN) {
        spins++;
        rp_cpu_relax();
        continue;
      }
      if (d == BLK_SPIN) {
        /* B3 acquire on failure (it then read BLK_DELIVERED: same role as B2); success needs
         * no ordering, the futex wait below re-reads the word. */
        if (!atomic_compare_exchange_strong_explicit(&b->done, &d, BLK_PARKED, memory_order_acquire,
                                                     memory_order_acquire))
          break;
      }
      int64_t slice = stop ? RP_WAIT_SLICE_NS : -1;
      if (deadline >= 0) {
        int64_t left = deadline - rp_now_ns();
        if (left <= 0) {
          give_up = 1;
          break;
        }
        if (slice < 0 || left < slice) slice = left;
      }
      rp_futex_wait(&b->done, BLK_PARKED, slice);
      if (stop && atomic_load_explicit(&b->done, memory_order_acquire) != BLK_DELIVERED && stop(ctx)) { /* B2 again */
        give_up = 2;
        break;
      }
    }
    if (give_up) {
      int c = rp_sync_cancel(&b->sw);
      if (c >= 0) {
        free(b); /* unlinked by us: the notifier never saw it */
        return give_up == 2 ? RP_EINTR : c;
      }
      /* A delivery is under way (its on_wake runs or ran): wait for it, then undo or keep. */
      for (;;) {
        uint32_t d = atomic_load_explicit(&b->done, memory_order_acquire); /* B2 */
        if (d == BLK_DELIVERED) break;
        if (d == BLK_SPIN && !atomic_compare_exchange_strong_explicit(&b->done, &d, BLK_PARKED, memory_order_acquire,
                                                                      memory_order_acquire)) /* B3 */
          break;
        rp_futex_wait(&b->done, BLK_PARKED, -1);
      }
      cur = b->sw;
      blk_drop(b);
      int res = rp_sync_abandon(&cur, give_up == 1);
      return give_up == 2 ? RP_EINTR : res;
    }
    cur = b->sw;
    blk_drop(b);
  }
}

/* ======================================================================== setup */

int rp_sync_init(int32_t *base, size_t bytes, int kind, uint32_t param, uint32_t initial) {
  uint32_t state = 0;
  if (bytes != RP_SYNC_BYTES) return RP_ELAYOUT;
  switch (kind) {
  case RP_SYNC_MUTEX:
  case RP_SYNC_RWLOCK:
  case RP_SYNC_CONDITION: param = 0; break;
  case RP_SYNC_SEMAPHORE:
    if (param == 0 || param > RP_SEM_MAX || initial > param) return RP_ERANGE;
    state = initial << RP_SEM_SHIFT;
    break;
  case RP_SYNC_BARRIER:
    if (param == 0 || param > RP_BAR_MAX_PARTIES) return RP_ERANGE;
    break;
  case RP_SYNC_LATCH:
    if (param > RP_LATCH_MAX) return RP_ERANGE;
    state = param;
    break;
  default: return RP_EINVAL;
  }
  /* A fresh buffer no other thread can see yet: plain stores; the buffer reaches other
   * threads only through postMessage/workerData, which orders everything before it. */
  memset(base, 0, bytes);
  base[RP_SYNC_I_MAGIC] = RP_SYNC_MAGIC;
  base[RP_SYNC_I_KIND] = kind | (RP_SYNC_VERSION << 8);
  base[RP_SYNC_I_STATE] = (int32_t)state;
  base[RP_SYNC_I_PARAM] = (int32_t)param;
  return 0;
}

int rp_sync_check(const int32_t *base, size_t bytes, int kind) {
  if (bytes != RP_SYNC_BYTES) return RP_ELAYOUT;
  /* Read-only words, written before the buffer was shared (see rp_sync_init). */
  if (base[RP_SYNC_I_MAGIC] != RP_SYNC_MAGIC || base[RP_SYNC_I_KIND] != (kind | (RP_SYNC_VERSION << 8)))
    return RP_ELAYOUT;
  uint32_t p = (uint32_t)base[RP_SYNC_I_PARAM];
  if (kind == RP_SYNC_SEMAPHORE && (p == 0 || p > RP_SEM_MAX)) return RP_ELAYOUT;
  if (kind == RP_SYNC_BARRIER && (p == 0 || p > RP_BAR_MAX_PARTIES)) return RP_ELAYOUT;
  return 0;
}

int32_t rp_sync_load(_Atomic int32_t *base, int index) { return (int32_t)ld(at(base, index)); }

uint32_t rp_sync_holder(_Atomic int32_t *base, int kind) {
  uint32_t v = ld(STATE(base));
  if (kind == RP_SYNC_MUTEX) {
    uint32_t o = v >> RP_MX_SHIFT;
    return o == RP_MX_HANDOFF ? 0 : o;
  }
  if (kind == RP_SYNC_RWLOCK && (v & (RP_RW_WR | RP_RW_P))) return ld(OWNER(base));
  return 0;
}
