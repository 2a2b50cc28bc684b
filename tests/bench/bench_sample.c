/* A sample of envelopes, checked one by one (bench_sample.h). */
#include "bench_sample.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_hlsd.h"
#include "envelope.h"

const char *const bench_measure_names[BENCH_M__COUNT] = {
    "raw Ed25519 verify (libsodium)", "hls_env_decode, stub (no body)", "hls_env_decode, whole envelope",
    "hls_env_decode + hls_env_verify"};

struct bench_sample *bench_sample_new(void) {
  struct bench_sample *sm = calloc(1, sizeof *sm);
  if (sm == NULL) bench_die("out of memory");
  msgpack_sbuffer_init(&sm->stubs);
  return sm;
}

void bench_sample_free(struct bench_sample *sm) {
  if (sm == NULL) return;
  free(sm->bytes), free(sm->msgs), free(sm->msg_len), free(sm->stub_off), free(sm->stub_len);
  msgpack_sbuffer_destroy(&sm->stubs);
  free(sm);
}

void bench_sample_add(struct bench_sample *sm, const uint8_t *env, size_t len) {
  if (sm->n == BENCH_SAMPLE_MAX) return;
  if (sm->used + len > sm->cap) {
    sm->cap = (sm->used + len) * 2;
    if ((sm->bytes = realloc(sm->bytes, sm->cap)) == NULL) bench_die("out of memory");
  }
  memcpy(sm->bytes + sm->used, env, len);
  sm->off[sm->n] = sm->used;
  sm->len[sm->n++] = len;
  sm->used += len;
}

void bench_sample_prepare(struct bench_sample *sm) {
  size_t n = sm->n ? sm->n : 1;
  sm->msgs = malloc(256 * n);
  sm->msg_len = malloc(n * sizeof *sm->msg_len);
  sm->stub_off = malloc(n * sizeof *sm->stub_off);
  sm->stub_len = malloc(n * sizeof *sm->stub_len);
  if (sm->msgs == NULL || sm->msg_len == NULL || sm->stub_off == NULL || sm->stub_len == NULL)
    bench_die("out of memory");
  for (size_t i = 0; i < sm->n; i++) {
    struct hls_envelope e;
    if (hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL) != 0) bench_die("sample %zu", i);
    if (16 + e.header_len > 160) bench_die("header of %zu bytes", e.header_len);
    uint8_t *m = sm->msgs + 256 * i;
    memcpy(m, HLS_ENV_SIG_TAG, 16);
    memcpy(m + 16, e.header_bytes, e.header_len);
    sm->msg_len[i] = 16 + e.header_len;
    memcpy(m + 160, e.sig, 64);
    memcpy(m + 224, e.h.origin, 32);
    sm->stub_off[i] = sm->stubs.size;
    if (hls_env_encode_stub(&sm->stubs, &e) != 0) bench_die("stub");
    sm->stub_len[i] = sm->stubs.size - sm->stub_off[i];
  }
}

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sample_rates(const struct bench_sample *sm, double wall[BENCH_M__COUNT], double cpu[BENCH_M__COUNT]) {
  struct hls_envelope e;
  for (int m = 0; m < BENCH_M__COUNT; m++) {
    double t = now_s(), c = bench_cpu_now();
    for (size_t i = 0; i < sm->n; i++) {
      const uint8_t *msg = sm->msgs + 256 * i;
      int rc = 0;
      switch (m) {
      case BENCH_M_RAW: rc = crypto_sign_verify_detached(msg + 160, msg, sm->msg_len[i], msg + 224); break;
      case BENCH_M_STUB:
        rc = hls_env_decode(&e, (const uint8_t *)sm->stubs.data + sm->stub_off[i], sm->stub_len[i], NULL);
        break;
      case BENCH_M_DECODE: rc = hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL); break;
      default:
        rc = hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL);
        if (rc == 0) rc = hls_env_verify(&e);
      }
      if (rc != 0) bench_die("%s failed on sample %zu", bench_measure_names[m], i);
    }
    wall[m] = (double)sm->n / (now_s() - t);
    cpu[m] = (double)sm->n / (bench_cpu_now() - c);
  }
}
