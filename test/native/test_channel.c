/* test_channel.c - the channel core: unit tests (layout checks, empty, exact fit, wrap with
 * a skip marker, too large, too-small destination, the zero invariant) and a stress sweep
 * of writers {1,2,3} x one reader x capacity {64, 256, 4096} in which every record carries
 * (writer id, sequence) and a payload derived from them that the reader checks byte by byte
 * (no loss, no duplicate, per-writer order). Some runs use the blocking receive. */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "channel.h"
#include "errors.h"
#include "test_util.h"

static void *alloc_channel(size_t capacity, rp_channel_t *ch) {
  size_t bytes;
  CHECK(rp_channel_bytes(capacity, &bytes) == 0, "bytes(%zu)", capacity);
  void *mem = aligned_alloc(64, bytes);
  CHECK(mem != NULL, "alloc");
  memset(mem, 0xA5, bytes); /* garbage: init must establish everything itself */
  CHECK(rp_channel_init(mem, bytes, capacity) == 0, "init");
  CHECK(rp_channel_open(ch, mem, bytes) == 0, "open");
  return mem;
}

static int data_all_zero(const rp_channel_t *ch) {
  for (uint32_t i = 0; i < ch->capacity; i++)
    if (ch->data[i] != 0) return 0;
  return 1;
}

static uint64_t load_u64(const void *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void test_bytes_and_layout(void) {
  size_t n;
  CHECK(rp_channel_bytes(64, &n) == 0 && n == RP_CHANNEL_HEADER_BYTES + 64, "bytes(64)");
  CHECK(rp_channel_bytes(1u << 30, &n) == 0, "bytes(1 GiB)");
  CHECK(rp_channel_bytes(32, &n) == RP_ERANGE, "too small");
  CHECK(rp_channel_bytes(96, &n) == RP_ERANGE, "not a power of two");
  CHECK(rp_channel_bytes((size_t)1 << 31, &n) == RP_ERANGE, "too big");
  CHECK(rp_channel_bytes(0, &n) == RP_ERANGE, "zero");

  rp_channel_t ch;
  unsigned char *mem = alloc_channel(256, &ch);
  size_t bytes = RP_CHANNEL_HEADER_BYTES + 256;
  CHECK(ch.capacity == 256 && rp_channel_max_record(&ch) == 120, "capacity %u max %u", ch.capacity,
        rp_channel_max_record(&ch));
  CHECK(rp_channel_init(mem, bytes - 1, 256) == RP_ERANGE, "init into a short region");
  CHECK(rp_channel_init(mem + 4, bytes, 256) == RP_EALIGN, "init misaligned");
  CHECK(rp_channel_init(mem, bytes, 100) == RP_ERANGE, "init bad capacity");
  CHECK(rp_channel_open(&ch, mem + 4, bytes - 4) == RP_EALIGN, "open misaligned");
  CHECK(rp_channel_open(&ch, mem, bytes - 1) == RP_ELAYOUT, "open short for the capacity");
  CHECK(rp_channel_open(&ch, mem, 16) == RP_ELAYOUT, "open shorter than the header");
  CHECK(rp_channel_open(&ch, NULL, 0) == RP_ELAYOUT, "open NULL");
  CHECK(rp_channel_open(&ch, mem, bytes + 100) == RP_ELAYOUT, "a larger region is not this channel");

  static const size_t fields[] = {RP_CHANNEL_OFF_MAGIC, RP_CHANNEL_OFF_VERSION, RP_CHANNEL_OFF_CAPACITY,
                                  RP_CHANNEL_OFF_MAX_RECORD, RP_CHANNEL_OFF_HEADER_BYTES};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    mem[fields[i]] ^= 0x10;
    CHECK(rp_channel_open(&ch, mem, bytes) == RP_ELAYOUT, "corrupted field at %zu accepted", fields[i]);
    mem[fields[i]] ^= 0x10;
  }
  CHECK(rp_channel_open(&ch, mem, bytes) == 0, "restored");
  free(mem);
}

static void test_empty_and_basic(void) {
  rp_channel_t ch;
  void *mem = alloc_channel(256, &ch);
  const void *p;
  size_t n = 99;
  unsigned char buf[256];
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_CHANNEL_EMPTY, "fresh channel not empty");
  CHECK(rp_channel_peek_size(&ch, &n) == RP_CHANNEL_EMPTY, "peek_size on empty");
  CHECK(rp_channel_receive_into(&ch, buf, sizeof buf, &n) == RP_CHANNEL_EMPTY, "receive on empty");
  CHECK(rp_channel_consume(&ch) == RP_CHANNEL_EMPTY, "consume on empty");
  CHECK(rp_channel_receive_wait(&ch, buf, sizeof buf, &n, 0, NULL, NULL) == RP_CHANNEL_EMPTY, "wait 0");
  int64_t t0 = rp_now_ns();
  CHECK(rp_channel_receive_wait(&ch, buf, sizeof buf, &n, 20 * 1000000LL, NULL, NULL) == RP_CHANNEL_EMPTY,
        "wait 20ms");
  CHECK(rp_now_ns() - t0 >= 19 * 1000000LL, "returned before the timeout");

  CHECK(rp_channel_send(&ch, NULL, 0) == 0, "empty record");
  CHECK(rp_channel_send(&ch, "hello", 5) == 0, "hello");
  CHECK(rp_channel_peek_size(&ch, &n) == 0 && n == 0, "size of empty record");
  CHECK(rp_channel_receive_into(&ch, NULL, 0, &n) == 0 && n == 0, "receive empty record");
  CHECK(rp_channel_peek(&ch, &p, &n) == 0 && n == 5 && memcmp(p, "hello", 5) == 0, "peek hello");
  CHECK(rp_channel_peek(&ch, &p, &n) == 0 && n == 5, "peek is idempotent");
  CHECK(rp_channel_consume(&ch) == 0, "consume");
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_CHANNEL_EMPTY, "empty again");
  CHECK(data_all_zero(&ch), "zero invariant after draining");
  free(mem);
}

/* Fills a channel with records whose total size is exactly the capacity. */
static void test_exact_fit(void) {
  rp_channel_t ch;
  void *mem = alloc_channel(256, &ch);
  unsigned char buf[128];
  size_t n;
  /* 4 records of 56 payload bytes = 4 * 64 = 256 bytes. */
  for (int i = 0; i < 4; i++) {
    memset(buf, i + 1, 56);
    CHECK(rp_channel_send(&ch, buf, 56) == 0, "send %d", i);
  }
  CHECK(rp_channel_send(&ch, NULL, 0) == RP_EFULL, "full channel accepted an empty record");
  CHECK(rp_channel_send(&ch, buf, 1) == RP_EFULL, "full channel accepted a record");
  CHECK(rp_channel_receive_into(&ch, buf, sizeof buf, &n) == 0 && n == 56 && buf[0] == 1 && buf[55] == 1, "r0");
  /* 64 bytes free now: exactly one 56-byte record fits, at offset 0 of the next lap. */
  CHECK(rp_channel_send(&ch, buf, 57) == RP_EFULL, "57 bytes need 72");
  memset(buf, 9, 56);
  CHECK(rp_channel_send(&ch, buf, 56) == 0, "exact refill");
  CHECK(rp_channel_send(&ch, NULL, 0) == RP_EFULL, "full again");
  for (int i = 2; i <= 4; i++)
    CHECK(rp_channel_receive_into(&ch, buf, sizeof buf, &n) == 0 && n == 56 && buf[0] == i, "r%d", i);
  CHECK(rp_channel_receive_into(&ch, buf, sizeof buf, &n) == 0 && n == 56 && buf[0] == 9, "refilled record");
  CHECK(rp_channel_receive_into(&ch, buf, sizeof buf, &n) == RP_CHANNEL_EMPTY, "drained");
  CHECK(data_all_zero(&ch), "zero invariant");
  free(mem);
}

static void test_wrap_with_skip(void) {
  rp_channel_t ch;
  unsigned char *mem = alloc_channel(256, &ch);
  unsigned char buf[128], out[128];
  size_t n;
  /* Move to offset 200: 25 empty records of 8 bytes. */
  for (int i = 0; i < 25; i++) CHECK(rp_channel_send(&ch, NULL, 0) == 0, "pad send");
  for (int i = 0; i < 25; i++) CHECK(rp_channel_receive_into(&ch, out, 0, &n) == 0 && n == 0, "pad recv");
  /* 56 bytes left before the end; a 60-byte record needs 72: skip + record at 0. */
  for (int i = 0; i < 60; i++) buf[i] = (unsigned char)(i * 3 + 1);
  CHECK(rp_channel_send(&ch, buf, 60) == 0, "wrapping send");
  uint32_t tag200, tag0;
  memcpy(&tag200, ch.data + 200, 4);
  memcpy(&tag0, ch.data, 4);
  CHECK(tag200 == RP_CHANNEL_TAG_SKIP, "skip marker at 200: %08x", tag200);
  CHECK(tag0 == 61, "record tag at 0: %u", tag0);
  CHECK(load_u64(mem + RP_CHANNEL_OFF_TAIL) == 256 + 72, "tail covers skip and record");
  /* Free space now: 256 - 56 - 72 = 128. A 120-byte record (128 bytes) fits exactly. */
  CHECK(rp_channel_send(&ch, buf, 121) == RP_ETOOBIG, "121 > max_record");
  CHECK(rp_channel_send(&ch, buf, 120) == 0, "exact fit after wrap");
  CHECK(rp_channel_send(&ch, NULL, 0) == RP_EFULL, "full");
  CHECK(rp_channel_receive_into(&ch, out, sizeof out, &n) == 0 && n == 60 && memcmp(out, buf, 60) == 0,
        "wrapped record intact");
  CHECK(load_u64(mem + RP_CHANNEL_OFF_HEAD) == 256 + 72, "head passed skip and record");
  CHECK(rp_channel_receive_into(&ch, out, sizeof out, &n) == 0 && n == 120 && memcmp(out, buf, 120) == 0, "120");
  CHECK(data_all_zero(&ch), "zero invariant after skip");

  /* A max-size record fits into an empty channel at every offset. */
  uint32_t max = rp_channel_max_record(&ch);
  for (int step = 0; step < 64; step++) {
    CHECK(rp_channel_send(&ch, NULL, 0) == 0, "step");
    CHECK(rp_channel_receive_into(&ch, out, 0, &n) == 0, "step recv");
    CHECK(rp_channel_send(&ch, buf, max) == 0, "max record at step %d", step);
    CHECK(rp_channel_receive_into(&ch, out, sizeof out, &n) == 0 && n == max, "max recv");
  }
  CHECK(data_all_zero(&ch), "zero invariant");
  free(mem);
}

static void test_too_large_and_small_dst(void) {
  rp_channel_t ch;
  void *mem = alloc_channel(64, &ch);
  unsigned char buf[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
  unsigned char out[64];
  size_t n = 0;
  CHECK(rp_channel_max_record(&ch) == 24, "max record of 64 is 24");
  CHECK(rp_channel_send(&ch, buf, 25) == RP_ETOOBIG, "25 never fits");
  CHECK(rp_channel_send(&ch, buf, SIZE_MAX) == RP_ETOOBIG, "SIZE_MAX never fits");
  CHECK(rp_channel_send(&ch, buf, 24) == 0, "24 fits");
  CHECK(rp_channel_receive_into(&ch, out, 23, &n) == RP_ETOOBIG && n == 24, "small destination");
  CHECK(rp_channel_receive_into(&ch, out, 0, &n) == RP_ETOOBIG && n == 24, "zero destination");
  CHECK(rp_channel_receive_wait(&ch, out, 10, &n, -1, NULL, NULL) == RP_ETOOBIG && n == 24, "wait small dst");
  CHECK(rp_channel_peek_size(&ch, &n) == 0 && n == 24, "record kept");
  CHECK(rp_channel_receive_into(&ch, out, 24, &n) == 0 && n == 24 && memcmp(out, buf, 24) == 0, "then received");
  CHECK(data_all_zero(&ch), "zero invariant");
  free(mem);
}

static void test_corruption(void) {
  rp_channel_t ch;
  unsigned char *mem = alloc_channel(64, &ch);
  const void *p;
  size_t n;
  uint32_t bad = 200; /* length 199 > max_record */
  memcpy(ch.data, &bad, 4);
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_ELAYOUT, "oversized tag");
  bad = 24 + 1; /* fits max_record but not before the end at offset 48 */
  memset(ch.data, 0, 4);
  uint64_t pos = 48;
  memcpy(mem + RP_CHANNEL_OFF_HEAD, &pos, 8);
  memcpy(ch.data + 48, &bad, 4);
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_ELAYOUT, "record across the end");
  bad = RP_CHANNEL_TAG_SKIP;
  pos = 64;
  memcpy(mem + RP_CHANNEL_OFF_HEAD, &pos, 8);
  memcpy(ch.data, &bad, 4);
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_ELAYOUT, "skip at offset 0");
  pos = 3;
  memcpy(mem + RP_CHANNEL_OFF_HEAD, &pos, 8);
  CHECK(rp_channel_peek(&ch, &p, &n) == RP_ELAYOUT, "misaligned head");
  /* head beyond tail: writers must report it, not loop or overwrite */
  pos = 1000;
  memcpy(mem + RP_CHANNEL_OFF_HEAD, &pos, 8);
  uint64_t hc = 1000;
  memcpy(mem + RP_CHANNEL_OFF_HEAD_CACHE, &hc, 8);
  CHECK(rp_channel_send(&ch, NULL, 0) == RP_ELAYOUT, "head beyond tail");
  free(mem);
}

static int stop_now(void *ctx) { return *(int *)ctx; }

static void test_stop(void) {
  rp_channel_t ch;
  void *mem = alloc_channel(64, &ch);
  unsigned char out[64];
  size_t n;
  int flag = 1;
  CHECK(rp_channel_receive_wait(&ch, out, sizeof out, &n, -1, stop_now, &flag) == RP_EINTR, "stop -> EINTR");
  CHECK(atomic_load(RP_A32((unsigned char *)mem + RP_CHANNEL_OFF_READER_WAITERS)) == 0, "waiter count restored");
  free(mem);
}

/* ---- stress ---------------------------------------------------------------------------- */

#define MAX_WRITERS 3

static uint64_t writer_stream(uint64_t seed, int id) {
  const uint64_t golden = 0x9E3779B97F4A7C15ULL;
  return seed ^ (golden * (uint64_t)(id + 1));
}

typedef struct {
  rp_channel_t ch;
  int64_t t0;
  int writers;
  uint32_t per_writer;
  uint32_t min_len, max_len;
  int blocking; /* 0: reader polls; 1: rp_channel_receive_wait (10 s); 2: the same, 200 us timeouts */
  uint64_t seed;
  _Atomic uint64_t full_count; /* sends that found the channel full (diagnostics) */
} stress_t;

typedef struct {
  stress_t *s;
  int id;
} writer_arg_t;

static uint32_t record_len(uint64_t *rng, const stress_t *s) {
  return s->min_len + (uint32_t)(rp_rand(rng) % (s->max_len - s->min_len + 1u));
}

static unsigned char payload_byte(int id, uint32_t seq, uint32_t i) {
  return (unsigned char)((seq * 2654435761u) ^ (i * 40503u) ^ ((uint32_t)id << 5) ^ (seq >> 11));
}

/* Record: byte 0 = writer id, bytes 1..4 = seq (as many as fit), then derived payload. */
static void fill_record(unsigned char *b, uint32_t len, int id, uint32_t seq) {
  unsigned char head[5] = {(unsigned char)id, (unsigned char)seq, (unsigned char)(seq >> 8),
                           (unsigned char)(seq >> 16), (unsigned char)(seq >> 24)};
  for (uint32_t i = 0; i < len; i++) b[i] = i < 5 ? head[i] : payload_byte(id, seq, i);
}

static void *writer_main(void *arg) {
  writer_arg_t *wa = arg;
  stress_t *s = wa->s;
  uint64_t rng = writer_stream(s->seed, wa->id);
  unsigned char buf[4096];
  uint64_t fulls = 0;
  for (uint32_t seq = 0; seq < s->per_writer; seq++) {
    uint32_t len = record_len(&rng, s);
    fill_record(buf, len, wa->id, seq);
    int rc;
    while ((rc = rp_channel_send(&s->ch, buf, len)) == RP_EFULL) {
      fulls++;
      if ((fulls & 7u) == 0) sched_yield();
      else rp_cpu_relax();
    }
    CHECK(rc == 0, "writer %d seq %u: send returned %d", wa->id, seq, rc);
  }
  /* relaxed: a statistic, read after pthread_join */
  atomic_fetch_add_explicit(&s->full_count, fulls, memory_order_relaxed);
  return NULL;
}

static void run_stress(int writers, uint32_t capacity, int blocking, uint32_t per_writer, uint64_t seed) {
  stress_t s;
  memset(&s, 0, sizeof s);
  void *mem = alloc_channel(capacity, &s.ch);
  s.writers = writers;
  s.per_writer = per_writer;
  s.max_len = rp_channel_max_record(&s.ch);
  if (s.max_len > 1000) s.max_len = 1000; /* keep copies small so the run stays short */
  s.min_len = writers == 1 ? 0 : 1;         /* a 0-byte record cannot name its writer */
  s.blocking = blocking;
  s.seed = seed;
  atomic_init(&s.full_count, 0);
  s.t0 = rp_now_ns();

  pthread_t th[MAX_WRITERS];
  writer_arg_t wa[MAX_WRITERS];
  for (int i = 0; i < writers; i++) {
    wa[i].s = &s;
    wa[i].id = i;
    CHECK(pthread_create(&th[i], NULL, writer_main, &wa[i]) == 0, "pthread_create");
  }

  /* The reader replays each writer's random stream to know the exact next record. */
  uint64_t rng[MAX_WRITERS];
  uint32_t next[MAX_WRITERS] = {0};
  for (int i = 0; i < writers; i++) rng[i] = writer_stream(seed, i);
  unsigned char buf[4096];
  uint64_t total = (uint64_t)writers * per_writer, got = 0, empties = 0;
  /* blocking == 2: short timeouts, so that waits also end by timing out mid-stream. */
  const int64_t timeout_ns = blocking == 2 ? 200 * 1000LL : 10LL * 1000000000LL;
  while (got < total) {
    size_t n = 0;
    int rc = blocking ? rp_channel_receive_wait(&s.ch, buf, sizeof buf, &n, timeout_ns, NULL, NULL)
                      : rp_channel_receive_into(&s.ch, buf, sizeof buf, &n);
    if (rc == RP_CHANNEL_EMPTY) {
      CHECK(!blocking || timeout_ns < 1000000000LL, "blocking receive timed out after %llu of %llu records (lost wake-up?)",
            (unsigned long long)got, (unsigned long long)total);
      if ((++empties & 15u) == 0) sched_yield();
      continue;
    }
    CHECK(rc == 0, "receive returned %d", rc);
    int id;
    if (writers == 1) {
      id = 0;
    } else {
      CHECK(n >= 1, "record of %zu bytes in a multi-writer run", n);
      id = buf[0];
      CHECK(id < writers, "bad writer id %d (len %zu, record %llu)", id, n, (unsigned long long)got);
    }
    CHECK(next[id] < per_writer, "writer %d: extra record (duplicate?)", id);
    uint32_t want_len = record_len(&rng[id], &s);
    CHECK(n == want_len, "writer %d seq %u: length %zu, want %u (loss, duplicate or reorder)", id, next[id], n,
          want_len);
    unsigned char want[4096];
    fill_record(want, want_len, id, next[id]);
    for (uint32_t i = 0; i < want_len; i++)
      CHECK(buf[i] == want[i], "writer %d seq %u len %u: byte %u is %u, want %u", id, next[id], want_len, i, buf[i],
            want[i]);
    next[id]++;
    got++;
  }
  for (int i = 0; i < writers; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < writers; i++) CHECK(next[i] == per_writer, "writer %d: %u records", i, next[i]);
  size_t n;
  CHECK(rp_channel_receive_into(&s.ch, buf, sizeof buf, &n) == RP_CHANNEL_EMPTY, "extra record at the end");
  CHECK(data_all_zero(&s.ch), "zero invariant after the run");
  uint64_t head = load_u64(s.ch.base + RP_CHANNEL_OFF_HEAD), tail = load_u64(s.ch.base + RP_CHANNEL_OFF_TAIL);
  CHECK(head == tail, "head %llu != tail %llu", (unsigned long long)head, (unsigned long long)tail);
  CHECK(atomic_load(RP_A32(s.ch.base + RP_CHANNEL_OFF_READER_WAITERS)) == 0, "reader waiters left");
  printf("  writers=%d cap=%-5u %s records=%-6llu laps=%-6llu full=%-8llu %5.0f ms\n", writers, capacity,
         blocking == 2 ? "short-wt" : blocking ? "blocking" : "polling ", (unsigned long long)total, (unsigned long long)(tail / capacity),
         (unsigned long long)atomic_load_explicit(&s.full_count, memory_order_relaxed), (double)(rp_now_ns() - s.t0) / 1e6);
  free(mem);
}

int main(void) {
  rp_test_init("test_channel");
  test_bytes_and_layout();
  test_empty_and_basic();
  test_exact_fit();
  test_wrap_with_skip();
  test_too_large_and_small_dst();
  test_corruption();
  test_stop();
  printf("  unit tests ok\n");

  static const uint32_t caps[] = {64, 256, 4096};
  uint64_t seed = rp_test_seed;
  for (int writers = 1; writers <= MAX_WRITERS; writers++) {
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
      for (int mode = 0; mode <= 1; mode++) {
        /* polling, or blocking; the 256-byte runs block with short timeouts */
        int blocking = mode == 0 ? 0 : caps[c] == 256 ? 2 : 1;
        /* Fewer records for big ones: about the same bytes per run. */
        uint32_t per = (caps[c] == 4096 ? 20000u : 40000u) / (uint32_t)writers / rp_test_scale;
        run_stress(writers, caps[c], blocking, per, seed++);
      }
    }
  }
  printf("test_channel: ok\n");
  return 0;
}
