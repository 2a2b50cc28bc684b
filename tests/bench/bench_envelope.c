/* Benchmark: envelope encode+sign and decode+verify rates next to the raw
 * libsodium Ed25519 sign and verify rates, measured in the same run.
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage: bench_envelope [SECONDS_PER_MEASURE] */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "bench.h"

enum { ROUNDS = 7 };

struct fixture {
  uint8_t sk[64], pk[32];
  msgpack_sbuffer story, digest;     /* bodies */
  msgpack_sbuffer story_env, digest_env; /* whole envelopes */
  uint8_t header[160];
  size_t header_len;
  uint8_t sig[64];
};

/* Run fn repeatedly for about secs; return operations per second. */
typedef int (*op_fn)(struct fixture *f);
static double rate(struct fixture *f, op_fn fn, double secs) {
  long n = 0;
  double start = now_s(), t;
  do {
    for (int i = 0; i < 64; i++)
      if (fn(f) != 0) {
        fprintf(stderr, "operation failed\n");
        exit(1);
      }
    n += 64;
    t = now_s() - start;
  } while (t < secs);
  return (double)n / t;
}

static int raw_sign(struct fixture *f) {
  return crypto_sign_detached(f->sig, NULL, f->header, f->header_len, f->sk);
}
static int raw_verify(struct fixture *f) {
  return crypto_sign_verify_detached(f->sig, f->header, f->header_len, f->pk);
}

static uint8_t prev[32];

static int build(struct fixture *f, const msgpack_sbuffer *body, int type, int audience) {
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  int rc = hls_env_build(&out, type, f->sk, 42, prev, 1795253400000ull, audience, (const uint8_t *)body->data, body->size);
  msgpack_sbuffer_destroy(&out);
  return rc;
}
static int build_story(struct fixture *f) { return build(f, &f->story, HLS_ENV_STORY, HLS_AUD_NETWORK); }
static int build_digest(struct fixture *f) { return build(f, &f->digest, HLS_ENV_DIGEST, HLS_AUD_NETWORK); }

static int open_env(const msgpack_sbuffer *env) {
  struct hls_envelope e;
  int rc = hls_env_decode(&e, (const uint8_t *)env->data, env->size, NULL);
  if (rc == 0) rc = hls_env_verify(&e);
  return rc;
}
static int open_story(struct fixture *f) { return open_env(&f->story_env); }
static int open_digest(struct fixture *f) { return open_env(&f->digest_env); }

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.5;
  if (sodium_init() < 0 || secs <= 0) return 1;
  struct fixture f;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i + 1);
  crypto_sign_seed_keypair(f.pk, f.sk, seed);
  msgpack_sbuffer_init(&f.story);
  msgpack_sbuffer_init(&f.digest);
  msgpack_sbuffer_init(&f.story_env);
  msgpack_sbuffer_init(&f.digest_env);

  /* A typical story (~500 bytes) and a typical week's digest (60 cells). */
  struct hls_story s = {.iso_year = 2026, .iso_week = 10, .n_themes = 3, .scale = HLS_SCALE_PLACE,
                        .stage = HLS_STAGE_REFLECT};
  snprintf(s.title, sizeof s.title, "Weekly drop-in at the library, run with residents");
  s.tried = strdup("We opened the library meeting room on Tuesday mornings, with a practitioner and two "
                   "volunteers who live nearby, and no booking or referral needed.");
  s.learnt = strdup("People came back when they were welcomed by name. Housing questions came up first, "
                    "then loneliness; the volunteers heard more than the practitioner did.");
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "housing");
  snprintf(s.themes[1].slug, sizeof s.themes[1].slug, "loneliness");
  snprintf(s.themes[2].slug, sizeof s.themes[2].slug, "peer-support");
  s.themes[2].kind = HLS_KIND_STRENGTH;
  struct hls_digest d = {.iso_year = 2026, .iso_week = 10, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 60};
  d.cells = calloc(60, sizeof *d.cells);
  for (int i = 0; i < 60; i++) {
    snprintf(d.cells[i].theme, sizeof d.cells[i].theme, "theme-%02d", i / 4);
    d.cells[i].kind = i % 2;
    d.cells[i].scale = i % 4;
    d.cells[i].stage = (i / 2) % 6;
    d.cells[i].count = 3 + (uint32_t)i;
    d.cells[i].withheld = d.cells[i].scale == 0 && i % 3 == 0;
  }
  if (hls_story_pack(&f.story, &s) != 0 || hls_digest_pack(&f.digest, &d) != 0) return 1;
  for (int i = 0; i < 32; i++) prev[i] = (uint8_t)(0xa0 + i);
  if (hls_env_build(&f.story_env, HLS_ENV_STORY, f.sk, 42, prev, 1795253400000ull, HLS_AUD_NETWORK,
                    (const uint8_t *)f.story.data, f.story.size) != 0 ||
      hls_env_build(&f.digest_env, HLS_ENV_DIGEST, f.sk, 42, prev, 1795253400000ull, HLS_AUD_NETWORK,
                    (const uint8_t *)f.digest.data, f.digest.size) != 0)
    return 1;
  /* The raw primitives sign what an envelope signs: tag + header. */
  struct hls_envelope e;
  if (hls_env_decode(&e, (const uint8_t *)f.story_env.data, f.story_env.size, NULL) != 0) return 1;
  memcpy(f.header, HLS_ENV_SIG_TAG, 16);
  memcpy(f.header + 16, e.header_bytes, e.header_len);
  f.header_len = 16 + e.header_len;
  raw_sign(&f);

  static const struct {
    const char *name;
    op_fn fn;
  } ops[] = {
      {"raw Ed25519 sign (libsodium)", raw_sign},
      {"envelope encode+sign, story", build_story},
      {"envelope encode+sign, digest", build_digest},
      {"raw Ed25519 verify (libsodium)", raw_verify},
      {"envelope decode+verify, story", open_story},
      {"envelope decode+verify, digest", open_digest},
  };
  enum { N_OPS = sizeof ops / sizeof ops[0] };
  double rates[N_OPS][ROUNDS];
  /* Interleave the measures round by round, so load on the machine
   * affects all of them alike. */
  for (int r = 0; r < ROUNDS; r++)
    for (int i = 0; i < N_OPS; i++) rates[i][r] = rate(&f, ops[i].fn, secs);
  printf("sizes: signed message %zu bytes; story body %zu, envelope %zu; digest body %zu (60 cells), envelope %zu\n",
         f.header_len, f.story.size, f.story_env.size, f.digest.size, f.digest_env.size);
  double med[N_OPS];
  for (int i = 0; i < N_OPS; i++) {
    qsort(rates[i], ROUNDS, sizeof rates[i][0], cmp_double);
    med[i] = rates[i][ROUNDS / 2];
  }
  for (int i = 0; i < N_OPS; i++) {
    double base = i < 3 ? med[0] : med[3];
    printf("%-34s median %9.0f /s  (min %9.0f, max %9.0f)  %5.1f%% of raw %s\n", ops[i].name, med[i], rates[i][0],
           rates[i][ROUNDS - 1], 100.0 * med[i] / base, i < 3 ? "sign" : "verify");
  }
  hls_digest_free(&d);
  hls_story_free(&s);
  msgpack_sbuffer_destroy(&f.story);
  msgpack_sbuffer_destroy(&f.digest);
  msgpack_sbuffer_destroy(&f.story_env);
  msgpack_sbuffer_destroy(&f.digest_env);
  return 0;
}
