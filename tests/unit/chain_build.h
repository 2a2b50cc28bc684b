/* Test helper: signed chains of real envelopes (protocol/envelope.c), for
 * the tests of the code that gossips and stores them. Include after
 * <cmocka.h>; every helper fails the test on an error.
 *
 * A chain is one origin's items, signed with a key made from a seed byte:
 * env[i] is seq i+1, the full envelope (with its body), linked to the item
 * before it and timestamped CHAIN_TS0 + seq seconds. The same seed byte
 * and the same calls give the same bytes. */
#ifndef HLS_TEST_CHAIN_BUILD_H
#define HLS_TEST_CHAIN_BUILD_H

#include <msgpack.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define CHAIN_TS0 1771232400000ull /* 2026-02-16T09:00:00Z */

struct key {
  uint8_t pk[HLS_KEY_BYTES];
  uint8_t sk[64];
};

/* A signing key pair, the same for the same seed byte. */
static inline void key_make(struct key *k, uint8_t seed_byte) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(seed_byte * 7 + i);
  assert_int_equal(crypto_sign_seed_keypair(k->pk, k->sk, seed), 0);
}

struct blob {
  uint8_t *p; /* owned */
  size_t len;
};

static inline struct blob blob_copy(const void *p, size_t len) {
  struct blob b = {malloc(len ? len : 1), len};
  assert_non_null(b.p);
  if (len) memcpy(b.p, p, len);
  return b;
}

static inline void decode_ok(struct hls_envelope *env, const uint8_t *bytes, size_t len) {
  struct hls_why why = {{0}};
  int rc = hls_env_decode(env, bytes, len, &why);
  if (rc != 0) fail_msg("decode: %s (%s)", hls_err_name(rc), why.text);
}

static inline void blob_decode(struct hls_envelope *env, const struct blob *b) { decode_ok(env, b->p, b->len); }

/* The stub (the envelope with a nil body) of a full envelope. */
static inline struct blob stub_of(const struct blob *full) {
  struct hls_envelope env;
  blob_decode(&env, full);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_env_encode_stub(&sb, &env), 0);
  struct blob b = blob_copy(sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return b;
}

/* --- chains ------------------------------------------------------------------- */

struct chain {
  struct key k;
  struct blob *env; /* owned: env[i] is seq i+1 */
  size_t n, cap;
  uint8_t prev[HLS_HASH_BYTES]; /* the id of the last item */
};

static inline void chain_init(struct chain *c, uint8_t seed_byte) {
  memset(c, 0, sizeof *c);
  key_make(&c->k, seed_byte);
}

static inline void chain_free(struct chain *c) {
  for (size_t i = 0; i < c->n; i++) free(c->env[i].p);
  free(c->env);
  memset(c, 0, sizeof *c);
}

/* Append b (owned by c from now on) as the next item. */
static inline void chain_push(struct chain *c, struct blob b) {
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 16;
    c->env = realloc(c->env, c->cap * sizeof *c->env);
    assert_non_null(c->env);
  }
  struct hls_envelope e;
  blob_decode(&e, &b);
  memcpy(c->prev, e.id, HLS_HASH_BYTES);
  c->env[c->n++] = b;
}

/* A copy of src's first n items (same key), to grow differently: a fork. */
static inline void chain_fork(struct chain *dst, const struct chain *src, size_t n) {
  memset(dst, 0, sizeof *dst);
  dst->k = src->k;
  for (size_t i = 0; i < n; i++) chain_push(dst, blob_copy(src->env[i].p, src->env[i].len));
}

static inline const struct blob *chain_at(const struct chain *c, uint64_t seq) {
  assert_true(seq >= 1 && seq <= c->n);
  return &c->env[seq - 1];
}

/* Sign body (borrowed) as the next item, of type and audience. */
static inline void chain_add(struct chain *c, int type, int audience, const msgpack_sbuffer *body) {
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  uint64_t seq = c->n + 1;
  int rc = hls_env_build(&out, type, c->k.sk, seq, seq > 1 ? c->prev : NULL, CHAIN_TS0 + seq * 1000, audience,
                         (const uint8_t *)body->data, body->size);
  assert_int_equal(rc, 0);
  chain_push(c, blob_copy(out.data, out.size));
  msgpack_sbuffer_destroy(&out);
}

/* A place profile of place in "Region", with no address yet. */
static inline void profile_of_place(struct hls_profile *p, const char *place) {
  memset(p, 0, sizeof *p);
  snprintf(p->place, sizeof p->place, "%s", place);
  snprintf(p->region, sizeof p->region, "Region");
  p->role = HLS_PROFILE_PLACE;
}

static inline void chain_add_profile_of(struct chain *c, const struct hls_profile *p) {
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_profile_pack(&body, p), 0);
  chain_add(c, HLS_ENV_PROFILE, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

/* A story whose title names its seq and variant (forks differ by it);
 * learnt_len bytes of text make its body as large as a test needs. */
static inline void chain_add_story_sized(struct chain *c, int audience, int variant, size_t learnt_len) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = 2026;
  s.iso_week = 7;
  snprintf(s.title, sizeof s.title, "Story %zu/%d", c->n + 1, variant);
  char *learnt = NULL;
  if (learnt_len > 0) {
    learnt = malloc(learnt_len + 1);
    assert_non_null(learnt);
    memset(learnt, 'l', learnt_len);
    learnt[learnt_len] = '\0';
    s.learnt = learnt;
  }
  s.n_themes = 1;
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "loneliness");
  s.themes[0].kind = HLS_KIND_PROBLEM;
  s.scale = HLS_SCALE_PLACE;
  s.stage = HLS_STAGE_EXPERIMENT;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_story_pack(&body, &s), 0);
  chain_add(c, HLS_ENV_STORY, audience, &body);
  msgpack_sbuffer_destroy(&body);
  free(learnt);
}

/* A short story: no learnt text. */
static inline void chain_add_story(struct chain *c, int audience, int variant) {
  chain_add_story_sized(c, audience, variant, 0);
}

/* A digest of one cell (loneliness, a problem, place scale, reflect)
 * holding count stories. */
static inline void chain_add_digest(struct chain *c, uint32_t count) {
  struct hls_digest_cell cell;
  memset(&cell, 0, sizeof cell);
  snprintf(cell.theme, sizeof cell.theme, "loneliness");
  cell.kind = HLS_KIND_PROBLEM;
  cell.scale = HLS_SCALE_PLACE;
  cell.stage = HLS_STAGE_REFLECT;
  cell.count = count;
  struct hls_digest d = {.iso_year = 2026, .iso_week = 7, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_digest_pack(&body, &d), 0);
  chain_add(c, HLS_ENV_DIGEST, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

/* A tombstone erasing item target (consent withdrawn). */
static inline void chain_add_tombstone(struct chain *c, uint64_t target) {
  struct hls_tombstone t = {.target_seq = target, .reason = HLS_TOMB_CONSENT_WITHDRAWN};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_tombstone_pack(&body, &t), 0);
  chain_add(c, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

#endif
