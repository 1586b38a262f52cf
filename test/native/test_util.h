/* test_util.h - tiny assertion and seeding helpers for the plain-C core tests. */
#ifndef RP_TEST_UTIL_H
#define RP_TEST_UTIL_H
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seed: RP_TEST_SEED from the environment, else time-based; always printed on failure. */
static uint64_t rp_test_seed;
/* Work multiplier divisor for slow (sanitizer) runs: RP_TEST_SCALE=4 does a quarter. */
static unsigned rp_test_scale = 1;

static inline void rp_test_init(const char *name) {
  const char *s = getenv("RP_TEST_SEED");
  rp_test_seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s;
  const char *sc = getenv("RP_TEST_SCALE");
  if (sc && atoi(sc) > 0) rp_test_scale = (unsigned)atoi(sc);
  printf("%s: seed=0x%" PRIx64 "\n", name, rp_test_seed);
}

#define CHECK(cond, ...)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: check failed: %s (seed=0x%" PRIx64 ") ", __FILE__, __LINE__, #cond,    \
              rp_test_seed);                                                                    \
      fprintf(stderr, __VA_ARGS__);                                                             \
      fprintf(stderr, "\n");                                                                    \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)

/* splitmix64: a small, seedable generator for per-thread random streams. */
static inline uint64_t rp_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
#endif
