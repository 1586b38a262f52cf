/* channel.c - variable-length byte records in a ring, many writers, one reader.
 * Layout, invariants, memory orderings and the sleeping protocol: see channel.h. */
#include "channel.h"

#include <string.h>

#include "errors.h"

static_assert(RP_CHANNEL_OFF_TAIL % RP_CACHELINE == 0, "tail starts block P");
static_assert(RP_CHANNEL_OFF_HEAD_CACHE % 8 == 0 && RP_CHANNEL_OFF_HEAD_CACHE + 8 <= 2 * RP_CACHELINE,
              "head_cache is an aligned u64 inside block P");
static_assert(RP_CHANNEL_OFF_HEAD == 2 * RP_CACHELINE, "head alone in block C");
static_assert(RP_CHANNEL_OFF_DATA_SEQ == 3 * RP_CACHELINE && RP_CHANNEL_OFF_DATA_SEQ / 4 == 96,
              "dataSeq is Int32 index 96, start of block W");
static_assert(RP_CHANNEL_OFF_READER_WAITERS == RP_CHANNEL_OFF_DATA_SEQ + 4 && RP_CHANNEL_OFF_READER_WAITERS / 4 == 97,
              "readerWaiters is Int32 index 97");
static_assert(RP_CHANNEL_OFF_HEADER_BYTES + 4 <= RP_CACHELINE, "block R fits one block");
static_assert(RP_CHANNEL_HEADER_BYTES == 4 * RP_CACHELINE && RP_CHANNEL_HEADER_BYTES % 8 == 0,
              "data area starts 8-aligned after four blocks");
static_assert(RP_CHANNEL_MAX_CAPACITY <= (1u << 31), "offsets and lengths fit uint32 arithmetic");
static_assert(RP_CHANNEL_MIN_CAPACITY / 2 > RP_CHANNEL_RECORD_HEADER, "smallest channel takes a payload");

/* Spin iterations of rp_channel_wait_readable before it registers as a sleeper: a few
 * microseconds, enough to ride out a writer that is in the middle of a send. */
#define RP_CHANNEL_SPIN 256

static inline uint32_t pad8(uint32_t n) { return (n + 7u) & ~7u; }

static inline uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, sizeof v); }

static inline _Atomic uint64_t *tail_of(const rp_channel_t *ch) { return RP_A64(ch->base + RP_CHANNEL_OFF_TAIL); }
static inline _Atomic uint64_t *head_cache_of(const rp_channel_t *ch) {
  return RP_A64(ch->base + RP_CHANNEL_OFF_HEAD_CACHE);
}
static inline _Atomic uint64_t *head_of(const rp_channel_t *ch) { return RP_A64(ch->base + RP_CHANNEL_OFF_HEAD); }
static inline _Atomic int32_t *data_seq_of(const rp_channel_t *ch) {
  return RP_A32(ch->base + RP_CHANNEL_OFF_DATA_SEQ);
}
static inline _Atomic int32_t *waiters_of(const rp_channel_t *ch) {
  return RP_A32(ch->base + RP_CHANNEL_OFF_READER_WAITERS);
}

uint32_t rp_channel_max_record_for(uint32_t capacity) { return capacity / 2u - RP_CHANNEL_RECORD_HEADER; }

int rp_channel_bytes(size_t capacity, size_t *out) {
  if (capacity < RP_CHANNEL_MIN_CAPACITY || capacity > RP_CHANNEL_MAX_CAPACITY || (capacity & (capacity - 1)) != 0)
    return RP_ERANGE;
  *out = RP_CHANNEL_HEADER_BYTES + capacity;
  return 0;
}

int rp_channel_init(void *base, size_t len, size_t capacity) {
  size_t need;
  int rc = rp_channel_bytes(capacity, &need);
  if (rc != 0) return rc;
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (base == NULL || len < need) return RP_ERANGE;
  unsigned char *b = base;
  /* Plain stores: the buffer is not shared yet (init runs before anyone else sees it). The
   * zeroed data area establishes the zero invariant; zeroed blocks P, C, W mean
   * head = tail = head_cache = 0, dataSeq = readerWaiters = 0. */
  memset(b, 0, need);
  put32(b + RP_CHANNEL_OFF_MAGIC, RP_CHANNEL_MAGIC);
  put32(b + RP_CHANNEL_OFF_VERSION, RP_CHANNEL_VERSION);
  put32(b + RP_CHANNEL_OFF_CAPACITY, (uint32_t)capacity);
  put32(b + RP_CHANNEL_OFF_MAX_RECORD, rp_channel_max_record_for((uint32_t)capacity));
  put32(b + RP_CHANNEL_OFF_HEADER_BYTES, RP_CHANNEL_HEADER_BYTES);
  return 0;
}

int rp_channel_open(rp_channel_t *ch, void *base, size_t len) {
  if (((uintptr_t)base & 7u) != 0) return RP_EALIGN;
  if (base == NULL || len < RP_CHANNEL_HEADER_BYTES) return RP_ELAYOUT;
  const unsigned char *b = base;
  /* Block R is read-only after init; read each field once, so that nothing below depends
   * on shared memory that somebody could rewrite afterwards. */
  uint32_t magic = get32(b + RP_CHANNEL_OFF_MAGIC);
  uint32_t version = get32(b + RP_CHANNEL_OFF_VERSION);
  uint32_t cap = get32(b + RP_CHANNEL_OFF_CAPACITY);
  uint32_t max_record = get32(b + RP_CHANNEL_OFF_MAX_RECORD);
  uint32_t header_bytes = get32(b + RP_CHANNEL_OFF_HEADER_BYTES);
  if (magic != RP_CHANNEL_MAGIC || version != RP_CHANNEL_VERSION || header_bytes != RP_CHANNEL_HEADER_BYTES)
    return RP_ELAYOUT;
  if (cap < RP_CHANNEL_MIN_CAPACITY || cap > RP_CHANNEL_MAX_CAPACITY || (cap & (cap - 1)) != 0) return RP_ELAYOUT;
  if (len - RP_CHANNEL_HEADER_BYTES != cap) return RP_ELAYOUT; /* exact size, as channelBytes() gives */
  if (max_record != rp_channel_max_record_for(cap)) return RP_ELAYOUT;
  ch->base = base;
  ch->data = (unsigned char *)base + RP_CHANNEL_HEADER_BYTES;
  ch->capacity = cap;
  ch->max_record = max_record;
  return 0;
}

int rp_channel_send(const rp_channel_t *ch, const void *src, size_t len) {
  if (len > ch->max_record) return RP_ETOOBIG;
  const uint32_t cap = ch->capacity;
  const uint32_t mask = cap - 1u;
  const uint32_t need = RP_CHANNEL_RECORD_HEADER + pad8((uint32_t)len); /* <= cap / 2 */
  _Atomic uint64_t *tailp = tail_of(ch);
  _Atomic uint64_t *cachep = head_cache_of(ch);

  /* C1c acquire: pairs with C1s (release store of head_cache) below in another send, which
   * stored a value that send loaded from head with C1; happens-before is transitive, so the
   * reader's zeroing of everything below h happens before our writes (see Zero invariant).
   * Loaded before tail, so that t >= h whenever memory is not corrupted (the tail that
   * covered position h was stored before the reader could consume up to h). */
  uint64_t h = atomic_load_explicit(cachep, memory_order_acquire);
  /* relaxed: a guess, validated by the CAS; no data is reached through tail. */
  uint64_t t = atomic_load_explicit(tailp, memory_order_relaxed);
  uint32_t off, skip;
  for (;;) {
    off = (uint32_t)t & mask;
    if ((off & 7u) != 0) return RP_ELAYOUT;
    skip = need <= cap - off ? 0u : cap - off; /* skip < need, so skip + need < cap */
    const uint64_t total = (uint64_t)skip + need;
    /* Room iff t + total - h <= cap. Written so that a corrupted h > t cannot wrap. */
    if (t - h > cap - total) {
      /* C1 acquire: pairs with C5 (release store of head) in consume_rec: everything below
       * h2 has been zeroed before we write there. */
      uint64_t h2 = atomic_load_explicit(head_of(ch), memory_order_acquire);
      /* relaxed: as above; it is only compared with t. */
      uint64_t t2 = atomic_load_explicit(tailp, memory_order_relaxed);
      h = h2;
      if (t2 != t) { /* tail moved: our t was stale, recompute with the fresh pair */
        t = t2;
        continue;
      }
      /* tail was t both before and after C1, so (t, h) is the exact state at C1: this is
       * where "full" linearizes. */
      if (t - h > cap) return RP_ELAYOUT; /* head beyond tail, or too far behind */
      if (t - h > cap - total) return RP_EFULL;
      /* C1s release: pairs with C1c in later sends (passes on what C1 acquired). A stale
       * value stored late by a slower writer only makes the cache more conservative. */
      atomic_store_explicit(cachep, h, memory_order_release);
    }
    /* relaxed (success and failure): the CAS only claims positions; ordering with the
     * reader's zeroing comes from C1/C1c above (sequenced before it), publication of the
     * bytes from C2 below. */
    if (atomic_compare_exchange_weak_explicit(tailp, &t, t + total, memory_order_relaxed, memory_order_relaxed))
      break;
  }

  unsigned char *d = ch->data;
  if (skip != 0) {
    /* C2s release: publishes the skip marker; pairs with C3 in peek_rec. Release rather
     * than relaxed so that the reader's plain zeroing of this word is ordered after it. */
    atomic_store_explicit(RP_AU32(d + off), RP_CHANNEL_TAG_SKIP, memory_order_release);
    off = 0;
  }
  if (len != 0) memcpy(d + off + RP_CHANNEL_RECORD_HEADER, src, len);
  /* C2 release: publishes the record (its payload copied above); pairs with C3 in peek_rec. */
  atomic_store_explicit(RP_AU32(d + off), (uint32_t)len + 1u, memory_order_release);

  /* F_w: see SLEEPING in channel.h. */
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(waiters_of(ch), memory_order_seq_cst) != 0) { /* L_w; JS writes it too */
    atomic_fetch_add_explicit(data_seq_of(ch), 1, memory_order_seq_cst); /* I_w */
    rp_notify(data_seq_of(ch), 1);
  }
  return 0;
}

/* The record at head, as the reader sees it. */
typedef struct {
  uint64_t head; /* position of its header */
  uint32_t off;  /* head & mask */
  uint32_t len;  /* payload bytes */
} rec_t;

static int peek_rec(const rp_channel_t *ch, rec_t *r) {
  const uint32_t cap = ch->capacity;
  unsigned char *d = ch->data;
  _Atomic uint64_t *headp = head_of(ch);
  /* relaxed: head is written only by the reader, i.e. by this thread. */
  uint64_t h = atomic_load_explicit(headp, memory_order_relaxed);
  for (;;) {
    const uint32_t off = (uint32_t)h & (cap - 1u);
    if ((off & 7u) != 0) return RP_ELAYOUT;
    /* C3 seq_cst: pairs with C2 / C2s (release) in rp_channel_send, so the payload copied
     * before C2 is visible below. seq_cst rather than acquire for SLEEPING (channel.h): it
     * lets a fence-less JS reader re-check after its Atomics.add of readerWaiters. */
    const uint32_t tag = atomic_load_explicit(RP_AU32(d + off), memory_order_seq_cst);
    if (tag == RP_CHANNEL_TAG_EMPTY) return RP_CHANNEL_EMPTY;
    if (tag == RP_CHANNEL_TAG_SKIP) {
      if (off == 0) return RP_ELAYOUT; /* a writer never skips a whole lap */
      /* Zero the marker (the rest of the span was never written), then release the span. */
      memset(d + off, 0, RP_CHANNEL_RECORD_HEADER);
      h += cap - off;
      /* C5 release (skip): pairs with C1 in rp_channel_send; orders the zeroing above
       * before any writer's reuse of these bytes. */
      atomic_store_explicit(headp, h, memory_order_release);
      continue;
    }
    const uint32_t n = tag - 1u;
    if (n > ch->max_record || RP_CHANNEL_RECORD_HEADER + pad8(n) > cap - off) return RP_ELAYOUT;
    r->head = h;
    r->off = off;
    r->len = n;
    return 0;
  }
}

static void consume_rec(const rp_channel_t *ch, const rec_t *r) {
  const uint32_t bytes = RP_CHANNEL_RECORD_HEADER + pad8(r->len);
  memset(ch->data + r->off, 0, bytes);
  /* C5 release: pairs with C1 in rp_channel_send; the zeroing above happens before any
   * writer reserves these bytes again (the zero invariant). */
  atomic_store_explicit(head_of(ch), r->head + bytes, memory_order_release);
}

int rp_channel_peek(const rp_channel_t *ch, const void **data, size_t *len) {
  rec_t r;
  int rc = peek_rec(ch, &r);
  if (rc != 0) return rc;
  *data = ch->data + r.off + RP_CHANNEL_RECORD_HEADER;
  *len = r.len;
  return 0;
}

int rp_channel_consume(const rp_channel_t *ch) {
  rec_t r;
  int rc = peek_rec(ch, &r);
  if (rc != 0) return rc;
  consume_rec(ch, &r);
  return 0;
}

int rp_channel_peek_size(const rp_channel_t *ch, size_t *len) {
  rec_t r;
  int rc = peek_rec(ch, &r);
  if (rc != 0) return rc;
  *len = r.len;
  return 0;
}

int rp_channel_receive_into(const rp_channel_t *ch, void *dst, size_t dst_cap, size_t *len) {
  rec_t r;
  int rc = peek_rec(ch, &r);
  if (rc != 0) return rc;
  *len = r.len;
  if (r.len > dst_cap) return RP_ETOOBIG; /* left in place: nothing is lost */
  if (r.len != 0) memcpy(dst, ch->data + r.off + RP_CHANNEL_RECORD_HEADER, r.len);
  consume_rec(ch, &r);
  return 0;
}

int rp_channel_wait_readable(const rp_channel_t *ch, const void **data, size_t *len, int64_t timeout_ns,
                             rp_stop_fn stop, void *ctx) {
  int rc = rp_channel_peek(ch, data, len);
  if (rc != RP_CHANNEL_EMPTY || timeout_ns == 0) return rc;
  const int64_t deadline = timeout_ns < 0 ? -1 : rp_now_ns() + timeout_ns;
  /* Bounded spin first: a record that is being published right now is much cheaper to
   * wait for here than through a futex round trip. */
  for (int i = 0; i < RP_CHANNEL_SPIN; i++) {
    rp_cpu_relax();
    rc = rp_channel_peek(ch, data, len);
    if (rc != RP_CHANNEL_EMPTY) return rc;
  }
  _Atomic int32_t *seqp = data_seq_of(ch);
  _Atomic int32_t *waiters = waiters_of(ch);
  for (;;) {
    rc = rp_channel_peek(ch, data, len);
    if (rc != RP_CHANNEL_EMPTY) return rc;
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - rp_now_ns();
      if (left <= 0) return RP_CHANNEL_EMPTY;
    }
    atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);                 /* A_r */
    const int32_t seq = atomic_load_explicit(seqp, memory_order_seq_cst);     /* L_s */
    atomic_thread_fence(memory_order_seq_cst);                                /* F_r */
    rc = rp_channel_peek(ch, data, len);
    if (rc != RP_CHANNEL_EMPTY) {
      atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
      return rc;
    }
    const int w = rp_wait_block(seqp, seq, left, stop, ctx);
    atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
    if (w == RP_EINTR) return RP_EINTR;
    /* woken, not-equal or timed out: look again (the top of the loop decides the timeout) */
  }
}

int rp_channel_receive_wait(const rp_channel_t *ch, void *dst, size_t dst_cap, size_t *len, int64_t timeout_ns,
                            rp_stop_fn stop, void *ctx) {
  const void *p;
  int rc = rp_channel_wait_readable(ch, &p, len, timeout_ns, stop, ctx);
  if (rc != 0) return rc;
  return rp_channel_receive_into(ch, dst, dst_cap, len);
}
