/* A sample of signed envelopes and what checking them one by one costs:
 * the raw Ed25519 verify rate (libsodium, on what each envelope signs),
 * hls_env_decode of the stub and of the whole envelope, and decode +
 * hls_env_verify. The benchmarks that measure hlsd's catch-up
 * (bench_gossip, bench_partner) measure these next to it, in the same run,
 * since the machines are shared and their speed varies. */
#ifndef HLS_BENCH_SAMPLE_H
#define HLS_BENCH_SAMPLE_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

enum { BENCH_SAMPLE_MAX = 30000 };

struct bench_sample {
  uint8_t *bytes; /* envelopes back to back */
  size_t off[BENCH_SAMPLE_MAX], len[BENCH_SAMPLE_MAX];
  size_t n, used, cap;
  uint8_t *msgs; /* per envelope, 256 bytes apart: tag + header, sig at +160, key at +224 */
  size_t *msg_len;
  msgpack_sbuffer stubs; /* the same envelopes without their bodies */
  size_t *stub_off, *stub_len;
};

/* Allocate an empty sample (dies if out of memory); free with
 * bench_sample_free (NULL is a no-op). */
struct bench_sample *bench_sample_new(void);
void bench_sample_free(struct bench_sample *sm);
/* Copy one envelope in; ignored once BENCH_SAMPLE_MAX are held. */
void bench_sample_add(struct bench_sample *sm, const uint8_t *env, size_t len);
/* After the last add: what each envelope signs, and its stub. */
void bench_sample_prepare(struct bench_sample *sm);

enum { BENCH_M_RAW, BENCH_M_STUB, BENCH_M_DECODE, BENCH_M_BOTH, BENCH_M__COUNT };
extern const char *const bench_measure_names[BENCH_M__COUNT];

/* One pass of each measure over the whole prepared sample, one by one:
 * rates per second of the clock (wall) and of this process's CPU time. */
void bench_sample_rates(const struct bench_sample *sm, double wall[BENCH_M__COUNT], double cpu[BENCH_M__COUNT]);

/* This process's CPU time, seconds. */
double bench_cpu_now(void);

#endif
