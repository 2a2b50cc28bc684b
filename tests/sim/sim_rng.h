/* The simulator's only source of randomness: xoshiro256** (Blackman and
 * Vigna) seeded through splitmix64, so one 64-bit seed reproduces a run
 * bit for bit. Independent streams (world building, the run itself) are
 * derived from the seed and a stream number, so adding a draw to one does
 * not shift the other. */
#ifndef HLS_SIM_RNG_H
#define HLS_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

static inline uint64_t sim_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
  for (int i = 0; i < 4; i++) r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t sim_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = sim_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = sim_rotl(s[3], 45);
  return result;
}

/* Uniform in [0, n) (n > 0), without modulo bias (Lemire's method). */
static inline uint64_t sim_rng_below(struct sim_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = sim_rng_next(r);
    unsigned __int128 m = (unsigned __int128)x * n;
    if ((uint64_t)m >= threshold) return (uint64_t)(m >> 64);
  }
}

/* Uniform in [lo, hi] (lo <= hi). */
static inline uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi) {
  return lo + sim_rng_below(r, hi - lo + 1);
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(struct sim_rng *r) { return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53; }

static inline bool sim_rng_chance(struct sim_rng *r, double p) { return p > 0 && sim_rng_unit(r) < p; }

#endif
