/* Unit tests for protocol/envelope.c: building, decoding, verifying and
 * linking envelopes, stubs, tampering, canonical form, limits, the body
 * schemas and packers, and the known-answer vectors in
 * docs/test-vectors/envelopes.json (path from argv[1], else the
 * HLS_ENVELOPE_VECTORS compile definition). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"
#include "envelope.h"
#include "mp_build.h"

#ifndef HLS_ENVELOPE_VECTORS
#define HLS_ENVELOPE_VECTORS "docs/test-vectors/envelopes.json"
#endif

#define N_TYPES 4
#define TS0 1771232400000ull /* 2026-02-16T09:00:00Z */

/* --- keys, bodies and chains ---------------------------------------------- */

struct key {
  uint8_t pk[HLS_KEY_BYTES];
  uint8_t sk[64];
};

static void key_make(struct key *k, uint8_t seed_byte) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(seed_byte + i);
  assert_int_equal(crypto_sign_seed_keypair(k->pk, k->sk, seed), 0);
}

static const uint8_t *sb_bytes(const msgpack_sbuffer *sb) { return (const uint8_t *)sb->data; }

static void sample_profile(struct hls_profile *p) {
  memset(p, 0, sizeof *p);
  strcpy(p->place, "Leeds");
  strcpy(p->region, "Yorkshire and the Humber");
  p->role = HLS_PROFILE_PARTNER;
  p->n_addresses = 2;
  strcpy(p->addresses[0], "203.0.113.7:7420");
  strcpy(p->addresses[1], "hlsd.example.org:7420");
}

/* Cells in no particular order, some withheld. cells must hold 5. */
static void sample_digest(struct hls_digest *d, struct hls_digest_cell *cells) {
  static const struct {
    const char *theme;
    int kind, scale, stage;
    bool withheld;
    uint32_t count;
  } rows[] = {
      {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_REFLECT, false, 15},
      {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_PLACE, HLS_STAGE_EXPERIMENT, false, 3},
      {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_UNDERSTAND, true, 0},
      {"caf\xc3\xa9-culture", HLS_KIND_STRENGTH, HLS_SCALE_PERSON, HLS_STAGE_EMBED, false, 10},
      {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, true, 0},
  };
  memset(d, 0, sizeof *d);
  memset(cells, 0, 5 * sizeof *cells);
  for (size_t i = 0; i < 5; i++) {
    strcpy(cells[i].theme, rows[i].theme);
    cells[i].kind = rows[i].kind;
    cells[i].scale = rows[i].scale;
    cells[i].stage = rows[i].stage;
    cells[i].withheld = rows[i].withheld;
    cells[i].count = rows[i].count;
  }
  d->iso_year = 2026;
  d->iso_week = 7;
  d->method.threshold = HLS_DISCLOSURE_DEFAULT_THRESHOLD;
  d->method.rounding = HLS_DISCLOSURE_DEFAULT_ROUNDING;
  d->n_cells = 5;
  d->cells = cells;
}

/* tried and learnt point into the caller's arrays: never hls_story_free. */
static void sample_story(struct hls_story *s, char *tried, char *learnt) {
  memset(s, 0, sizeof *s);
  s->iso_year = 2026;
  s->iso_week = 7;
  strcpy(s->title, "Community caf\xc3\xa9 pilot");
  s->tried = tried;
  s->learnt = learnt;
  s->n_themes = 2;
  strcpy(s->themes[0].slug, "loneliness");
  s->themes[0].kind = HLS_KIND_PROBLEM;
  strcpy(s->themes[1].slug, "community-cafe");
  s->themes[1].kind = HLS_KIND_ASPIRATION;
  s->scale = HLS_SCALE_PLACE;
  s->stage = HLS_STAGE_EXPERIMENT;
}

#define STORY_TRIED "A weekly caf\xc3\xa9.\nZo\xc3\xab came \xe2\x98\x95\r\n\tAnd stayed \xf0\x9f\x8c\xb1"
#define STORY_LEARNT "Start small."

/* The body of the sample of a type (tombstone: target seq 1). */
static void sample_body(msgpack_sbuffer *out, int type) {
  switch (type) {
    case HLS_ENV_PROFILE: {
      struct hls_profile p;
      sample_profile(&p);
      assert_int_equal(hls_profile_pack(out, &p), 0);
      break;
    }
    case HLS_ENV_DIGEST: {
      struct hls_digest d;
      struct hls_digest_cell cells[5];
      sample_digest(&d, cells);
      assert_int_equal(hls_digest_pack(out, &d), 0);
      break;
    }
    case HLS_ENV_STORY: {
      char tried[] = STORY_TRIED, learnt[] = STORY_LEARNT;
      struct hls_story s;
      sample_story(&s, tried, learnt);
      assert_int_equal(hls_story_pack(out, &s), 0);
      break;
    }
    default: {
      struct hls_tombstone t = {.target_seq = 1, .reason = HLS_TOMB_CORRECTED};
      assert_int_equal(hls_tombstone_pack(out, &t), 0);
      break;
    }
  }
}

/* Decoders answer with the codes envelope.h lists (invalid UTF-8 is
 * malformed input, not invalid_utf8). */
static void assert_decode_code(int rc) {
  if (rc != 0 && rc != HLS_ENONCANON && rc != HLS_ETRAILING && rc != HLS_ETRUNCATED && rc != HLS_ETOOBIG &&
      rc != HLS_EUNSUPPORTED && rc != HLS_EMALFORMED && rc != HLS_EBADSIG /* a fork's stubs */)
    fail_msg("decode gave %s, not one of envelope.h's codes", hls_err_name(rc));
}

static void decode_ok(struct hls_envelope *env, const uint8_t *bytes, size_t len) {
  struct hls_why why = {{0}};
  int rc = hls_env_decode(env, bytes, len, &why);
  if (rc != 0) fail_msg("decode: %s (%s)", hls_err_name(rc), why.text);
}

static int decode_rc(const uint8_t *bytes, size_t len) {
  struct hls_envelope env;
  struct hls_why why = {{0}};
  int rc = hls_env_decode(&env, bytes, len, &why);
  assert_non_null(memchr(why.text, '\0', sizeof why.text));
  assert_decode_code(rc);
  return rc;
}

/* One node's chain: profile (seq 1), digest, story (peers), tombstone of
 * seq 1. The decoded envelopes borrow env[]. */
struct chain {
  struct key key;
  msgpack_sbuffer body[N_TYPES], env[N_TYPES];
  struct hls_envelope item[N_TYPES];
};

static void chain_build(struct chain *c, uint8_t seed_byte) {
  key_make(&c->key, seed_byte);
  for (int i = 0; i < N_TYPES; i++) {
    int type = i + 1;
    msgpack_sbuffer_init(&c->body[i]);
    msgpack_sbuffer_init(&c->env[i]);
    sample_body(&c->body[i], type);
    int rc = hls_env_build(&c->env[i], type, c->key.sk, (uint64_t)i + 1, i > 0 ? c->item[i - 1].id : NULL,
                           TS0 + (uint64_t)i * 60000, type == HLS_ENV_STORY ? HLS_AUD_PEERS : HLS_AUD_NETWORK,
                           sb_bytes(&c->body[i]), c->body[i].size);
    assert_int_equal(rc, 0);
    decode_ok(&c->item[i], sb_bytes(&c->env[i]), c->env[i].size);
  }
}

static void chain_free(struct chain *c) {
  for (int i = 0; i < N_TYPES; i++) {
    msgpack_sbuffer_destroy(&c->body[i]);
    msgpack_sbuffer_destroy(&c->env[i]);
  }
}

/* --- hand-made envelopes ---------------------------------------------------- */

struct hdr {
  uint64_t version, type;
  const uint8_t *origin; /* HLS_KEY_BYTES */
  uint64_t seq;
  const uint8_t *prev; /* NULL: nil */
  uint64_t timestamp_ms, audience;
};

/* A well-formed header for type at seq (prev of all 0x11 when seq > 1). */
static struct hdr hdr_default(const struct key *k, int type, uint64_t seq) {
  static const uint8_t some_prev[HLS_HASH_BYTES] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                                     0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                                     0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                                     0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
  struct hdr h = {HLS_ENV_VERSION, (uint64_t)type, k->pk, seq, seq > 1 ? some_prev : NULL, TS0, HLS_AUD_NETWORK};
  return h;
}

static void pack_hdr(msgpack_sbuffer *out, const struct hdr *h, const uint8_t body_hash[HLS_HASH_BYTES]) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u b u", 8, (unsigned long long)h->version, (unsigned long long)h->type, h->origin,
           (size_t)HLS_KEY_BYTES, (unsigned long long)h->seq);
  if (h->prev != NULL) mpb_pack(&pk, "b", h->prev, (size_t)HLS_HASH_BYTES);
  else mpb_pack(&pk, "n");
  mpb_pack(&pk, "u u b", (unsigned long long)h->timestamp_ms, (unsigned long long)h->audience, body_hash,
           (size_t)HLS_HASH_BYTES);
}

/* Replace remove bytes at off in sb with ins. */
static void splice(msgpack_sbuffer *sb, size_t off, size_t remove, const void *ins, size_t ins_len) {
  assert_true(off + remove <= sb->size);
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  /* No empty writes: msgpack-c would add 0 to the NULL data of an empty buffer. */
  if (off > 0) msgpack_sbuffer_write(&out, sb->data, off);
  if (ins_len > 0) msgpack_sbuffer_write(&out, ins, ins_len);
  if (sb->size > off + remove) msgpack_sbuffer_write(&out, sb->data + off + remove, sb->size - off - remove);
  msgpack_sbuffer_destroy(sb);
  *sb = out;
}

/* [header, Ed25519(sk, tag || header), body | nil], whatever the header
 * holds: the signature is valid, so decode errors are about form. */
static void assemble(msgpack_sbuffer *out, const struct key *k, const msgpack_sbuffer *header, const uint8_t *body,
                     size_t body_len) {
  size_t tag_len = strlen(HLS_ENV_SIG_TAG);
  uint8_t *msg = malloc(tag_len + header->size);
  uint8_t sig[HLS_SIG_BYTES];
  assert_non_null(msg);
  memcpy(msg, HLS_ENV_SIG_TAG, tag_len);
  memcpy(msg + tag_len, header->data, header->size);
  crypto_sign_detached(sig, NULL, msg, tag_len + header->size, k->sk);
  free(msg);
  msgpack_sbuffer_write(out, "\x93", 1);
  msgpack_sbuffer_write(out, header->data, header->size);
  msgpack_sbuffer_write(out, "\xc4\x40", 2);
  msgpack_sbuffer_write(out, (const char *)sig, sizeof sig);
  if (body != NULL) msgpack_sbuffer_write(out, (const char *)body, body_len);
  else msgpack_sbuffer_write(out, "\xc0", 1);
}

/* An optional edit of the packed header bytes. */
struct edit {
  size_t off, remove;
  const char *ins;
  size_t ins_len;
};

/* Build a signed envelope from h and body (body_hash = its hash; the
 * header edited by e if non-NULL) and decode it. A decoded envelope must
 * also verify. */
static int craft_rc(const struct key *k, const struct hdr *h, const uint8_t *body, size_t body_len,
                    const struct edit *e, struct hls_why *why) {
  uint8_t body_hash[HLS_HASH_BYTES];
  msgpack_sbuffer header, env_bytes;
  msgpack_sbuffer_init(&header);
  msgpack_sbuffer_init(&env_bytes);
  hls_env_hash(body, body != NULL ? body_len : 0, body_hash);
  pack_hdr(&header, h, body_hash);
  if (e != NULL) splice(&header, e->off, e->remove, e->ins, e->ins_len);
  assemble(&env_bytes, k, &header, body, body_len);
  struct hls_envelope env;
  int rc = hls_env_decode(&env, sb_bytes(&env_bytes), env_bytes.size, why);
  assert_decode_code(rc);
  if (rc == 0) assert_int_equal(hls_env_verify(&env), 0);
  msgpack_sbuffer_destroy(&header);
  msgpack_sbuffer_destroy(&env_bytes);
  return rc;
}

static void expect_craft(int want, const struct key *k, const struct hdr *h, const msgpack_sbuffer *body,
                         const struct edit *e, const char *what) {
  struct hls_why why = {{0}};
  int rc = craft_rc(k, h, body != NULL ? sb_bytes(body) : NULL, body != NULL ? body->size : 0, e, &why);
  if (rc != want) fail_msg("%s: got %s (%s), want %s", what, hls_err_name(rc), why.text, hls_err_name(want));
}

/* Check a body with every applicable decoder: the typed one and, inside a
 * signed envelope, hls_env_decode (whose body check must agree). */
static void expect_body(int want, int type, const msgpack_sbuffer *body, const char *what) {
  struct hls_why why = {{0}};
  int rc = hls_env_body_check(type, sb_bytes(body), body->size, &why);
  assert_decode_code(rc);
  if (rc != want) fail_msg("%s: body check gave %s (%s), want %s", what, hls_err_name(rc), why.text, hls_err_name(want));
  struct key k;
  key_make(&k, 0x40);
  uint64_t seq = type == HLS_ENV_TOMBSTONE ? 1000 : 1;
  struct hdr h = hdr_default(&k, type, seq);
  expect_craft(want, &k, &h, body, NULL, what);
}

/* --- fork ----------------------------------------------------------------------- */

/* A stub of k's chain at seq (prev as given, NULL at seq 1), its body a
 * receipt told apart by variant, appended to out. */
static void fork_stub(msgpack_sbuffer *out, const struct key *k, uint64_t seq, const uint8_t *prev, uint8_t variant) {
  struct hls_receipt_entry en = {.origin = {variant, 1}, .target_seq = 1, .state = HLS_RECEIPT_ERASED};
  struct hls_receipt r = {.n_entries = 1, .entries = &en};
  msgpack_sbuffer body, env;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_receipt_pack(&body, &r), 0);
  assert_int_equal(hls_env_build(&env, HLS_ENV_RECEIPT, k->sk, seq, prev, TS0 + variant, HLS_AUD_NETWORK,
                                 sb_bytes(&body), body.size), 0);
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(&env), env.size);
  assert_int_equal(hls_env_encode_stub(out, &e), 0);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&body);
}

static void stub_id(const msgpack_sbuffer *stub, uint8_t id[HLS_HASH_BYTES]) {
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(stub), stub->size);
  memcpy(id, e.id, HLS_HASH_BYTES);
}

/* A fork body as given, in this order, not checked. */
static void fork_raw(msgpack_sbuffer *out, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_array(&pk, 2), 0);
  assert_int_equal(msgpack_pack_bin(&pk, a_len), 0);
  assert_int_equal(msgpack_pack_bin_body(&pk, a, a_len), 0);
  assert_int_equal(msgpack_pack_bin(&pk, b_len), 0);
  assert_int_equal(msgpack_pack_bin_body(&pk, b, b_len), 0);
}

static void expect_fork(int want, const msgpack_sbuffer *a, const msgpack_sbuffer *b, const char *what) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  fork_raw(&sb, sb_bytes(a), a->size, sb_bytes(b), b->size);
  struct hls_fork f;
  struct hls_why why = {{0}};
  int rc = hls_fork_decode(&f, sb_bytes(&sb), sb.size, &why);
  if (rc != want) fail_msg("%s: fork decode gave %s (%s), want %s", what, hls_err_name(rc), why.text, hls_err_name(want));
  expect_body(want, HLS_ENV_FORK, &sb, what);
  msgpack_sbuffer_destroy(&sb);
}

/* Two stubs of one seq, the one of the lower item id first. */
static void fork_pair(const struct key *k, uint64_t seq, msgpack_sbuffer *lo, msgpack_sbuffer *hi) {
  uint8_t prev[HLS_HASH_BYTES] = {9}, id1[HLS_HASH_BYTES], id2[HLS_HASH_BYTES];
  msgpack_sbuffer s1, s2;
  msgpack_sbuffer_init(&s1);
  msgpack_sbuffer_init(&s2);
  fork_stub(&s1, k, seq, seq > 1 ? prev : NULL, 1);
  fork_stub(&s2, k, seq, seq > 1 ? prev : NULL, 2);
  stub_id(&s1, id1);
  stub_id(&s2, id2);
  bool first = memcmp(id1, id2, HLS_HASH_BYTES) < 0;
  *lo = first ? s1 : s2;
  *hi = first ? s2 : s1;
}

static void test_fork_round_trip(void **state) {
  (void)state;
  struct key x, reporter;
  key_make(&x, 0x70);
  key_make(&reporter, 0x71);
  msgpack_sbuffer lo, hi, body, body2, env;
  fork_pair(&x, 5, &lo, &hi);
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&body2);
  /* Either order in, the one canonical body out. */
  assert_int_equal(hls_fork_pack(&body, sb_bytes(&hi), hi.size, sb_bytes(&lo), lo.size), 0);
  assert_int_equal(hls_fork_pack(&body2, sb_bytes(&lo), lo.size, sb_bytes(&hi), hi.size), 0);
  assert_int_equal(body.size, body2.size);
  assert_memory_equal(body.data, body2.data, body.size);
  struct hls_fork f;
  struct hls_why why = {{0}};
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&body), body.size, &why), 0);
  assert_memory_equal(f.origin, x.pk, HLS_KEY_BYTES);
  assert_int_equal(f.seq, 5);
  assert_int_equal(f.a_len, lo.size);
  assert_memory_equal(f.a, lo.data, lo.size);
  assert_memory_equal(f.b, hi.data, hi.size);
  assert_true(body.size <= 2 * HLS_FORK_STUB_MAX + 8);
  expect_body(0, HLS_ENV_FORK, &body, "a fork");
  /* Signed by the reporter: an item like any other. */
  uint8_t prev[HLS_HASH_BYTES] = {7};
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_env_build(&env, HLS_ENV_FORK, reporter.sk, 3, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&body),
                                 body.size), 0);
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(&env), env.size);
  assert_int_equal(e.h.type, HLS_ENV_FORK);
  assert_int_equal(hls_env_verify(&e), 0);
  msgpack_sbuffer_destroy(&env);
  /* Signed by the forked origin itself: refused. */
  struct hdr own = hdr_default(&x, HLS_ENV_FORK, 3);
  expect_craft(HLS_EMALFORMED, &x, &own, &body, NULL, "a node reporting its own fork");
  msgpack_sbuffer_init(&env);
  assert_int_not_equal(hls_env_build(&env, HLS_ENV_FORK, x.sk, 3, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&body),
                                     body.size), 0);
  msgpack_sbuffer_destroy(&env);
  /* Peers only: refused. */
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_env_build(&env, HLS_ENV_FORK, reporter.sk, 3, prev, TS0, HLS_AUD_PEERS, sb_bytes(&body),
                                 body.size), HLS_EINVAL);
  msgpack_sbuffer_destroy(&env);
  /* A pair that is not a fork is not packed. */
  msgpack_sbuffer_destroy(&body2);
  msgpack_sbuffer_init(&body2);
  assert_int_equal(hls_fork_pack(&body2, sb_bytes(&lo), lo.size, sb_bytes(&lo), lo.size), HLS_EINVAL);
  assert_int_equal(body2.size, 0);
  msgpack_sbuffer_destroy(&body2);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&lo);
  msgpack_sbuffer_destroy(&hi);
}

static void test_fork_next_seq(void **state) {
  (void)state;
  struct key x;
  key_make(&x, 0x72);
  uint8_t prev[HLS_HASH_BYTES] = {9}, id_a[HLS_HASH_BYTES], other[HLS_HASH_BYTES] = {3};
  msgpack_sbuffer a, b, c;
  msgpack_sbuffer_init(&a);
  msgpack_sbuffer_init(&b);
  msgpack_sbuffer_init(&c);
  fork_stub(&a, &x, 5, prev, 1);
  stub_id(&a, id_a);
  fork_stub(&b, &x, 6, other, 2); /* seq 6 names another seq 5 than a */
  fork_stub(&c, &x, 6, id_a, 3);  /* seq 6 follows a: a chain */
  expect_fork(0, &a, &b, "seq + 1 naming another item");
  expect_fork(HLS_ENONCANON, &b, &a, "the higher seq first");
  expect_fork(HLS_EMALFORMED, &a, &c, "seq + 1 following the first");
  msgpack_sbuffer_destroy(&a);
  msgpack_sbuffer_destroy(&b);
  msgpack_sbuffer_destroy(&c);
}

static void test_fork_refused(void **state) {
  (void)state;
  struct key x, y;
  key_make(&x, 0x73);
  key_make(&y, 0x74);
  uint8_t prev[HLS_HASH_BYTES] = {9};
  msgpack_sbuffer lo, hi, other, far, bad, sb;
  fork_pair(&x, 5, &lo, &hi);
  expect_fork(0, &lo, &hi, "a fork");
  expect_fork(HLS_ENONCANON, &hi, &lo, "not in item id order");
  expect_fork(HLS_EMALFORMED, &lo, &lo, "the same header twice");
  msgpack_sbuffer_init(&other);
  fork_stub(&other, &y, 5, prev, 2);
  expect_fork(HLS_EMALFORMED, &lo, &other, "two origins");
  msgpack_sbuffer_init(&far);
  fork_stub(&far, &x, 7, prev, 2);
  expect_fork(HLS_EMALFORMED, &lo, &far, "seqs 5 and 7");
  msgpack_sbuffer_init(&bad);
  msgpack_sbuffer_write(&bad, hi.data, hi.size);
  bad.data[bad.size - 10] ^= 1; /* in the signature */
  expect_fork(HLS_EBADSIG, &lo, &bad, "a bad signature");
  /* A full envelope in place of a stub. */
  bad.size = 0;
  {
    struct hls_receipt_entry en = {.origin = {1, 1}, .target_seq = 1, .state = 0};
    struct hls_receipt r = {.n_entries = 1, .entries = &en};
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    assert_int_equal(hls_receipt_pack(&body, &r), 0);
    assert_int_equal(hls_env_build(&bad, HLS_ENV_RECEIPT, x.sk, 5, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&body),
                                   body.size), 0);
    msgpack_sbuffer_destroy(&body);
  }
  expect_fork(HLS_EMALFORMED, &lo, &bad, "a full envelope, not a stub");
  /* A stub over the cap. */
  bad.size = 0;
  for (int i = 0; i < HLS_FORK_STUB_MAX + 1; i++) msgpack_sbuffer_write(&bad, "\xc0", 1);
  expect_fork(HLS_ETOOBIG, &lo, &bad, "a stub over the cap");
  /* Truncated, trailing bytes, one stub, three. */
  msgpack_sbuffer_init(&sb);
  fork_raw(&sb, sb_bytes(&lo), lo.size, sb_bytes(&hi), hi.size);
  struct hls_fork f;
  for (size_t cut = 1; cut < sb.size; cut++) {
    int rc = hls_fork_decode(&f, sb_bytes(&sb), sb.size - cut, NULL);
    if (rc != HLS_ETRUNCATED && rc != HLS_EMALFORMED) fail_msg("cut %zu: %s", cut, hls_err_name(rc));
  }
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&sb), 3, NULL), HLS_ETRUNCATED);
  msgpack_sbuffer_write(&sb, "\xc0", 1);
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&sb), sb.size, NULL), HLS_ETRAILING);
  expect_body(HLS_ETRAILING, HLS_ENV_FORK, &sb, "trailing bytes");
  sb.data[0] = (char)0x91;
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&sb), sb.size, NULL), HLS_EMALFORMED);
  sb.data[0] = (char)0x93;
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&sb), sb.size, NULL), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&bad);
  msgpack_sbuffer_destroy(&far);
  msgpack_sbuffer_destroy(&other);
  msgpack_sbuffer_destroy(&lo);
  msgpack_sbuffer_destroy(&hi);
}

/* --- successor ------------------------------------------------------------------ */

static void successor_body(msgpack_sbuffer *out, const struct hls_successor *su) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_array(&pk, 2), 0);
  assert_int_equal(msgpack_pack_bin(&pk, HLS_KEY_BYTES), 0);
  assert_int_equal(msgpack_pack_bin_body(&pk, su->new_id, HLS_KEY_BYTES), 0);
  assert_int_equal(msgpack_pack_bin(&pk, HLS_SIG_BYTES), 0);
  assert_int_equal(msgpack_pack_bin_body(&pk, su->new_sig, HLS_SIG_BYTES), 0);
}

static void test_successor(void **state) {
  (void)state;
  struct key old, fresh, other;
  key_make(&old, 0x90);
  key_make(&fresh, 0x91);
  key_make(&other, 0x92);
  struct hls_successor su, back;
  hls_successor_sign(&su, old.pk, fresh.sk);
  assert_memory_equal(su.new_id, fresh.pk, HLS_KEY_BYTES);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_successor_pack(&body, &su), 0);
  assert_int_equal(body.size, 3 + 2 + HLS_KEY_BYTES + 2 + HLS_SIG_BYTES - 2);
  struct hls_why why = {{0}};
  assert_int_equal(hls_successor_decode(&back, sb_bytes(&body), body.size, &why), 0);
  assert_memory_equal(&back, &su, sizeof su);
  assert_int_equal(hls_successor_verify(&su, old.pk, &why), 0);
  /* Signed by the old key, in its chain: an item like any other. */
  struct hdr h = hdr_default(&old, HLS_ENV_SUCCESSOR, 4);
  expect_craft(0, &old, &h, &body, NULL, "a successor");
  expect_craft(0, &old, &h, NULL, NULL, "a successor's stub");
  /* In another origin's chain, the new key's signature does not hold:
   * nobody can claim someone else's successor. */
  h = hdr_default(&other, HLS_ENV_SUCCESSOR, 4);
  expect_craft(HLS_EBADSIG, &other, &h, &body, NULL, "another key claiming the successor");
  /* A successor the new key did not sign (signed by the old key). */
  struct hls_successor forged = su;
  hls_successor_sign(&forged, old.pk, other.sk);
  memcpy(forged.new_id, fresh.pk, HLS_KEY_BYTES);
  assert_int_equal(hls_successor_verify(&forged, old.pk, NULL), HLS_EBADSIG);
  msgpack_sbuffer bad;
  msgpack_sbuffer_init(&bad);
  successor_body(&bad, &forged);
  h = hdr_default(&old, HLS_ENV_SUCCESSOR, 4);
  expect_craft(HLS_EBADSIG, &old, &h, &bad, NULL, "new_sig by another key");
  /* A flipped bit of new_sig. */
  forged = su;
  forged.new_sig[7] ^= 1;
  bad.size = 0;
  successor_body(&bad, &forged);
  expect_craft(HLS_EBADSIG, &old, &h, &bad, NULL, "a flipped bit of new_sig");
  /* Naming itself: refused, whatever signs it. */
  struct hls_successor self;
  hls_successor_sign(&self, old.pk, old.sk);
  assert_int_equal(hls_successor_verify(&self, old.pk, NULL), HLS_EMALFORMED);
  bad.size = 0;
  successor_body(&bad, &self);
  expect_craft(HLS_EMALFORMED, &old, &h, &bad, NULL, "a key succeeding itself");
  /* Peers only: refused. */
  h.audience = HLS_AUD_PEERS;
  expect_craft(HLS_EMALFORMED, &old, &h, &body, NULL, "a successor to peers only");
  /* Schema: short keys, a third element, a bad type. */
  static const uint8_t short_id[] = {0x92, 0xc4, 0x01, 0x00, 0xc4, 0x01, 0x00};
  assert_int_equal(hls_successor_decode(&back, short_id, sizeof short_id, NULL), HLS_EMALFORMED);
  msgpack_sbuffer three;
  msgpack_sbuffer_init(&three);
  msgpack_sbuffer_write(&three, "\x93", 1);
  msgpack_sbuffer_write(&three, body.data + 1, body.size - 1);
  msgpack_sbuffer_write(&three, "\xc0", 1);
  assert_int_equal(hls_successor_decode(&back, sb_bytes(&three), three.size, NULL), HLS_EMALFORMED);
  assert_int_equal(hls_env_body_check(HLS_ENV_SUCCESSOR, sb_bytes(&three), three.size, NULL), HLS_EMALFORMED);
  msgpack_sbuffer_write(&body, "\xc0", 1);
  assert_int_equal(hls_successor_decode(&back, sb_bytes(&body), body.size, NULL), HLS_ETRAILING);
  assert_string_equal(hls_env_type_name(HLS_ENV_SUCCESSOR), "successor");
  int parsed = 0;
  assert_int_equal(hls_env_type_parse("successor", &parsed), 0);
  assert_int_equal(parsed, HLS_ENV_SUCCESSOR);
  assert_true(hls_env_type_known(HLS_ENV_REKEY));
  assert_false(hls_env_type_known(HLS_ENV_TYPE_MAX + 1));
  msgpack_sbuffer_destroy(&three);
  msgpack_sbuffer_destroy(&bad);
  msgpack_sbuffer_destroy(&body);
}

/* A successor's stub at seq 5 of k's chain, appended to out. */
static void successor_stub(msgpack_sbuffer *out, const struct key *k, const struct key *fresh, uint64_t seq,
                           const uint8_t *prev) {
  struct hls_successor su;
  hls_successor_sign(&su, k->pk, fresh->sk);
  msgpack_sbuffer body, env;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_successor_pack(&body, &su), 0);
  assert_int_equal(hls_env_build(&env, HLS_ENV_SUCCESSOR, k->sk, seq, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&body),
                                 body.size), 0);
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(&env), env.size);
  assert_int_equal(hls_env_encode_stub(out, &e), 0);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&body);
}

/* Fork evidence of a closed chain: a successor and a later item that is
 * not a tombstone, linked or not. */
static void test_fork_after_successor(void **state) {
  (void)state;
  struct key x, fresh;
  key_make(&x, 0x93);
  key_make(&fresh, 0x94);
  uint8_t prev[HLS_HASH_BYTES] = {9}, id_s[HLS_HASH_BYTES], other[HLS_HASH_BYTES] = {3};
  msgpack_sbuffer s, next, far, tomb, body;
  msgpack_sbuffer_init(&s);
  msgpack_sbuffer_init(&next);
  msgpack_sbuffer_init(&far);
  msgpack_sbuffer_init(&tomb);
  successor_stub(&s, &x, &fresh, 5, prev);
  stub_id(&s, id_s);
  fork_stub(&next, &x, 6, id_s, 1); /* follows the successor: a chain, but a closed one */
  fork_stub(&far, &x, 9, other, 2);
  expect_fork(0, &s, &next, "an item linked after a successor");
  expect_fork(0, &s, &far, "an item later than a successor");
  expect_fork(HLS_ENONCANON, &next, &s, "the successor second");
  /* A tombstone after a successor is allowed: not a fork. */
  struct hls_tombstone t = {.target_seq = 2, .reason = HLS_TOMB_CONSENT_WITHDRAWN};
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_tombstone_pack(&body, &t), 0);
  msgpack_sbuffer env;
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_env_build(&env, HLS_ENV_TOMBSTONE, x.sk, 6, id_s, TS0, HLS_AUD_NETWORK, sb_bytes(&body),
                                 body.size), 0);
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(&env), env.size);
  assert_int_equal(hls_env_encode_stub(&tomb, &e), 0);
  expect_fork(HLS_EMALFORMED, &s, &tomb, "a tombstone after a successor");
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  assert_int_equal(hls_fork_pack(&out, sb_bytes(&next), next.size, sb_bytes(&s), s.size), 0);
  struct hls_fork f;
  assert_int_equal(hls_fork_decode(&f, sb_bytes(&out), out.size, NULL), 0);
  assert_int_equal(f.seq, 5);
  msgpack_sbuffer_destroy(&out);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&tomb);
  msgpack_sbuffer_destroy(&far);
  msgpack_sbuffer_destroy(&next);
  msgpack_sbuffer_destroy(&s);
}

/* --- names ---------------------------------------------------------------- */

static void test_names(void **state) {
  (void)state;
  static const char *const names[] = {"profile", "digest", "story", "tombstone", "receipt", "vouch", "fork", "rekey"};
  for (int t = HLS_ENV_PROFILE; t <= HLS_ENV_REKEY; t++) {
    int parsed = 0;
    assert_string_equal(hls_env_type_name(t), names[t - 1]);
    assert_int_equal(hls_env_type_parse(names[t - 1], &parsed), 0);
    assert_int_equal(parsed, t);
  }
  int parsed = 0;
  assert_int_equal(hls_env_type_parse("Story", &parsed), HLS_EINVAL);
  assert_string_equal(hls_env_type_name(0), "unknown");
  assert_string_equal(hls_env_type_name(HLS_ENV_TYPE_MAX + 1), "unknown");
  assert_int_equal(hls_env_type_parse("unknown", &parsed), HLS_EINVAL);
  assert_string_equal(hls_receipt_state_name(HLS_RECEIPT_ERASED), "erased");
  assert_string_equal(hls_receipt_state_name(HLS_RECEIPT_NEVER_HELD), "never_held");
  assert_string_equal(hls_receipt_state_name(2), "unknown");
  assert_string_equal(hls_env_audience_name(HLS_AUD_NETWORK), "network");
  assert_string_equal(hls_env_audience_name(HLS_AUD_PEERS), "peers");
  assert_string_equal(hls_env_audience_name(2), "unknown");
  assert_string_equal(hls_tomb_reason_name(HLS_TOMB_CONSENT_WITHDRAWN), "consent_withdrawn");
  assert_string_equal(hls_tomb_reason_name(HLS_TOMB_RECORD_DELETED), "record_deleted");
  assert_string_equal(hls_tomb_reason_name(4), "unknown");
  assert_string_equal(hls_tomb_reason_name(-1), "unknown");
}

/* --- round trips -------------------------------------------------------------- */

static void check_header_fields(const struct hls_envelope *env, const struct chain *c, int i) {
  const struct hls_env_header *h = &env->h;
  assert_int_equal(h->version, HLS_ENV_VERSION);
  assert_int_equal(h->type, i + 1);
  assert_memory_equal(h->origin, c->key.pk, HLS_KEY_BYTES);
  assert_int_equal(h->seq, (uint64_t)i + 1);
  assert_int_equal(h->has_prev, i > 0);
  if (i > 0) assert_memory_equal(h->prev, c->item[i - 1].id, HLS_HASH_BYTES);
  assert_int_equal(h->timestamp_ms, TS0 + (uint64_t)i * 60000);
  assert_int_equal(h->audience, i + 1 == HLS_ENV_STORY ? HLS_AUD_PEERS : HLS_AUD_NETWORK);
  uint8_t hash[HLS_HASH_BYTES];
  hls_env_hash(sb_bytes(&c->body[i]), c->body[i].size, hash);
  assert_memory_equal(h->body_hash, hash, HLS_HASH_BYTES);
}

static void test_round_trip(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  for (int i = 0; i < N_TYPES; i++) {
    const struct hls_envelope *env = &c.item[i];
    check_header_fields(env, &c, i);
    /* The views point into the input: header after the array byte, body at the end. */
    assert_ptr_equal(env->header_bytes, sb_bytes(&c.env[i]) + 1);
    assert_int_equal(env->body_len, c.body[i].size);
    assert_ptr_equal(env->body, sb_bytes(&c.env[i]) + c.env[i].size - c.body[i].size);
    assert_memory_equal(env->body, c.body[i].data, c.body[i].size);
    assert_int_equal(c.env[i].size, 1 + env->header_len + 2 + HLS_SIG_BYTES + env->body_len);
    /* item id = BLAKE2b-256(header || signature), computed independently. */
    uint8_t id[HLS_HASH_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof id);
    crypto_generichash_update(&st, env->header_bytes, env->header_len);
    crypto_generichash_update(&st, env->sig, HLS_SIG_BYTES);
    crypto_generichash_final(&st, id, sizeof id);
    assert_memory_equal(env->id, id, sizeof id);
    hls_env_item_id(env->header_bytes, env->header_len, env->sig, id);
    assert_memory_equal(env->id, id, sizeof id);
    /* The signature covers the tag and the header, and nothing else. */
    size_t tag_len = strlen(HLS_ENV_SIG_TAG);
    uint8_t msg[512];
    assert_true(tag_len + env->header_len <= sizeof msg);
    memcpy(msg, HLS_ENV_SIG_TAG, tag_len);
    memcpy(msg + tag_len, env->header_bytes, env->header_len);
    assert_int_equal(crypto_sign_verify_detached(env->sig, msg, tag_len + env->header_len, c.key.pk), 0);
    assert_int_equal(hls_env_verify(env), 0);
  }

  struct hls_why why = {{0}};
  /* profile */
  struct hls_profile p, p_want;
  sample_profile(&p_want);
  assert_int_equal(hls_profile_decode(&p, c.item[0].body, c.item[0].body_len, &why), 0);
  assert_string_equal(p.place, p_want.place);
  assert_string_equal(p.region, p_want.region);
  assert_int_equal(p.role, p_want.role);
  assert_int_equal(p.n_addresses, p_want.n_addresses);
  for (size_t i = 0; i < p.n_addresses; i++) assert_string_equal(p.addresses[i], p_want.addresses[i]);

  /* digest: cells come back in canonical order */
  struct hls_digest d, d_want;
  struct hls_digest_cell cells[5];
  sample_digest(&d_want, cells);
  msgpack_sbuffer scratch;
  msgpack_sbuffer_init(&scratch);
  assert_int_equal(hls_digest_pack(&scratch, &d_want), 0); /* sorts cells[] */
  msgpack_sbuffer_destroy(&scratch);
  assert_int_equal(hls_digest_decode(&d, c.item[1].body, c.item[1].body_len, &why), 0);
  assert_int_equal(d.iso_year, 2026);
  assert_int_equal(d.iso_week, 7);
  assert_int_equal(d.method.threshold, 10);
  assert_int_equal(d.method.rounding, 5);
  assert_int_equal(d.n_cells, 5);
  static const char *const order[] = {"caf\xc3\xa9-culture", "community-cafe", "community-cafe", "loneliness",
                                      "loneliness"};
  for (size_t i = 0; i < d.n_cells; i++) {
    assert_string_equal(d.cells[i].theme, order[i]);
    assert_string_equal(d.cells[i].theme, d_want.cells[i].theme);
    assert_int_equal(d.cells[i].kind, d_want.cells[i].kind);
    assert_int_equal(d.cells[i].scale, d_want.cells[i].scale);
    assert_int_equal(d.cells[i].stage, d_want.cells[i].stage);
    assert_int_equal(d.cells[i].withheld, d_want.cells[i].withheld);
    assert_int_equal(d.cells[i].count, d_want.cells[i].count);
  }
  assert_true(d.cells[1].withheld); /* community-cafe, person scale */
  assert_int_equal(d.cells[2].count, 3);
  hls_digest_free(&d);
  assert_null(d.cells);
  hls_digest_free(NULL);

  /* story */
  struct hls_story s;
  assert_int_equal(hls_story_decode(&s, c.item[2].body, c.item[2].body_len, &why), 0);
  assert_int_equal(s.iso_year, 2026);
  assert_int_equal(s.iso_week, 7);
  assert_string_equal(s.title, "Community caf\xc3\xa9 pilot");
  assert_string_equal(s.tried, STORY_TRIED);
  assert_string_equal(s.learnt, STORY_LEARNT);
  assert_int_equal(s.n_themes, 2);
  assert_string_equal(s.themes[0].slug, "loneliness");
  assert_int_equal(s.themes[0].kind, HLS_KIND_PROBLEM);
  assert_string_equal(s.themes[1].slug, "community-cafe");
  assert_int_equal(s.themes[1].kind, HLS_KIND_ASPIRATION);
  assert_int_equal(s.scale, HLS_SCALE_PLACE);
  assert_int_equal(s.stage, HLS_STAGE_EXPERIMENT);
  hls_story_free(&s);
  assert_null(s.tried);
  hls_story_free(NULL);

  /* tombstone */
  struct hls_tombstone t;
  assert_int_equal(hls_tombstone_decode(&t, c.item[3].body, c.item[3].body_len, &why), 0);
  assert_int_equal(t.target_seq, 1);
  assert_int_equal(t.reason, HLS_TOMB_CORRECTED);
  chain_free(&c);
}

/* Empty optional texts travel as nil and come back NULL. */
static void test_story_without_texts(void **state) {
  (void)state;
  char empty[] = "";
  struct hls_story s, back;
  sample_story(&s, NULL, empty);
  s.n_themes = 0;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_story_pack(&body, &s), 0);
  struct hls_why why = {{0}};
  assert_int_equal(hls_story_decode(&back, sb_bytes(&body), body.size, &why), 0);
  assert_null(back.tried);
  assert_null(back.learnt);
  assert_int_equal(back.n_themes, 0);
  hls_story_free(&back);
  msgpack_sbuffer_destroy(&body);
}

static void test_check_link(void **state) {
  (void)state;
  struct chain c, other;
  chain_build(&c, 0x01);
  chain_build(&other, 0x50);
  for (int i = 0; i + 1 < N_TYPES; i++) assert_int_equal(hls_env_check_link(&c.item[i], &c.item[i + 1]), 0);
  /* Not the next item: backwards, itself, two ahead. */
  assert_int_equal(hls_env_check_link(&c.item[1], &c.item[0]), HLS_ECHAIN);
  assert_int_equal(hls_env_check_link(&c.item[1], &c.item[1]), HLS_ECHAIN);
  assert_int_equal(hls_env_check_link(&c.item[0], &c.item[2]), HLS_ECHAIN);
  /* Another node's seq 2 is not a successor of ours. */
  assert_int_equal(hls_env_check_link(&c.item[0], &other.item[1]), HLS_ECHAIN);

  msgpack_sbuffer body, wrong_origin, gap, wrong_prev;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&wrong_origin);
  msgpack_sbuffer_init(&gap);
  msgpack_sbuffer_init(&wrong_prev);
  sample_body(&body, HLS_ENV_DIGEST);
  /* Linked to our seq 1 by id, but signed (and so originated) by another key. */
  assert_int_equal(hls_env_build(&wrong_origin, HLS_ENV_DIGEST, other.key.sk, 2, c.item[0].id, TS0, 0,
                                 sb_bytes(&body), body.size),
                   0);
  /* seq 3 whose prev is seq 1: a gap. */
  assert_int_equal(hls_env_build(&gap, HLS_ENV_DIGEST, c.key.sk, 3, c.item[0].id, TS0, 0, sb_bytes(&body), body.size),
                   0);
  /* seq 2 pointing at something else. */
  uint8_t not_it[HLS_HASH_BYTES];
  memcpy(not_it, c.item[0].id, sizeof not_it);
  not_it[HLS_HASH_BYTES - 1] ^= 0x01;
  assert_int_equal(hls_env_build(&wrong_prev, HLS_ENV_DIGEST, c.key.sk, 2, not_it, TS0, 0, sb_bytes(&body), body.size),
                   0);
  struct hls_envelope e_origin, e_gap, e_prev;
  decode_ok(&e_origin, sb_bytes(&wrong_origin), wrong_origin.size);
  decode_ok(&e_gap, sb_bytes(&gap), gap.size);
  decode_ok(&e_prev, sb_bytes(&wrong_prev), wrong_prev.size);
  /* Each is a valid, signed envelope on its own... */
  assert_int_equal(hls_env_verify(&e_origin), 0);
  assert_int_equal(hls_env_verify(&e_gap), 0);
  assert_int_equal(hls_env_verify(&e_prev), 0);
  /* ...that does not follow our seq 1. */
  assert_int_equal(hls_env_check_link(&c.item[0], &e_origin), HLS_ECHAIN);
  assert_int_equal(hls_env_check_link(&c.item[0], &e_gap), HLS_ECHAIN);
  assert_int_equal(hls_env_check_link(&c.item[1], &e_gap), HLS_ECHAIN); /* right seq, wrong prev */
  assert_int_equal(hls_env_check_link(&c.item[0], &e_prev), HLS_ECHAIN);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&wrong_origin);
  msgpack_sbuffer_destroy(&gap);
  msgpack_sbuffer_destroy(&wrong_prev);
  chain_free(&c);
  chain_free(&other);
}

static void test_build_refuses(void **state) {
  (void)state;
  struct key k;
  key_make(&k, 0x01);
  uint8_t prev[HLS_HASH_BYTES] = {0};
  msgpack_sbuffer body, out;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&out);
  sample_body(&body, HLS_ENV_DIGEST);
  const uint8_t *b = sb_bytes(&body);
  assert_int_equal(hls_env_build(&out, 0, k.sk, 1, NULL, TS0, 0, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, 5, k.sk, 1, NULL, TS0, 0, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 0, NULL, TS0, 0, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 1, prev, TS0, 0, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 2, NULL, TS0, 0, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 1, NULL, TS0, HLS_AUD_PEERS, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_STORY, k.sk, 1, NULL, TS0, 2, b, body.size), HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 1, NULL, TS0, 0, NULL, 0), HLS_EINVAL);
  /* Values the decoder would refuse are never signed. */
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, (uint64_t)INT64_MAX + 1, prev, TS0, 0, b, body.size),
                   HLS_EINVAL);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 1, NULL, (uint64_t)INT64_MAX + 1, 0, b, body.size),
                   HLS_EINVAL);
  uint8_t *big = calloc(1, HLS_ENV_MAX_BODY + 1);
  assert_non_null(big);
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, 1, NULL, TS0, 0, big, HLS_ENV_MAX_BODY + 1), HLS_EINVAL);
  free(big);
  assert_int_equal(out.size, 0); /* nothing appended on refusal */
  /* The largest values the decoder takes are fine. */
  assert_int_equal(hls_env_build(&out, HLS_ENV_DIGEST, k.sk, (uint64_t)INT64_MAX, prev, (uint64_t)INT64_MAX, 0, b,
                                 body.size),
                   0);
  struct hls_envelope env;
  decode_ok(&env, sb_bytes(&out), out.size);
  assert_int_equal(env.h.seq, (uint64_t)INT64_MAX);
  assert_int_equal(env.h.timestamp_ms, (uint64_t)INT64_MAX);
  assert_int_equal(hls_env_verify(&env), 0);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&out);
}

/* --- stubs ---------------------------------------------------------------------- */

static void test_stubs(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  struct hls_envelope stub_env[N_TYPES];
  msgpack_sbuffer stub[N_TYPES];
  for (int i = 0; i < N_TYPES; i++) {
    const struct hls_envelope *env = &c.item[i];
    msgpack_sbuffer_init(&stub[i]);
    assert_int_equal(hls_env_encode_stub(&stub[i], env), 0);
    /* The same header and signature, with nil for the body. */
    assert_int_equal(stub[i].size, c.env[i].size - env->body_len + 1);
    assert_memory_equal(stub[i].data, c.env[i].data, c.env[i].size - env->body_len);
    assert_int_equal((uint8_t)stub[i].data[stub[i].size - 1], 0xc0);
    struct hls_envelope *s = &stub_env[i];
    decode_ok(s, sb_bytes(&stub[i]), stub[i].size);
    assert_null(s->body);
    assert_int_equal(s->body_len, 0);
    assert_int_equal(hls_env_verify(s), 0);
    assert_memory_equal(s->id, env->id, HLS_HASH_BYTES);
    assert_memory_equal(&s->h, &env->h, sizeof s->h);
    assert_int_equal(s->header_len, env->header_len);
    assert_memory_equal(s->sig, env->sig, HLS_SIG_BYTES);
    /* A stub of a stub is the stub. */
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    assert_int_equal(hls_env_encode_stub(&again, s), 0);
    assert_int_equal(again.size, stub[i].size);
    assert_memory_equal(again.data, stub[i].data, again.size);
    msgpack_sbuffer_destroy(&again);
    /* Re-attaching the body gives back the envelope byte for byte. */
    msgpack_sbuffer full;
    msgpack_sbuffer_init(&full);
    assert_int_equal(hls_env_encode(&full, s, c.item[i].body, c.item[i].body_len), 0);
    assert_int_equal(full.size, c.env[i].size);
    assert_memory_equal(full.data, c.env[i].data, full.size);
    /* ...and no other body. */
    msgpack_sbuffer_destroy(&full);
    msgpack_sbuffer_init(&full);
    uint8_t *wrong = malloc(c.item[i].body_len);
    assert_non_null(wrong);
    memcpy(wrong, c.item[i].body, c.item[i].body_len);
    wrong[c.item[i].body_len - 1] ^= 0x01;
    assert_int_equal(hls_env_encode(&full, s, wrong, c.item[i].body_len), HLS_EINVAL);
    assert_int_equal(hls_env_encode(&full, s, c.item[i].body, c.item[i].body_len - 1), HLS_EINVAL);
    int other = (i + 1) % N_TYPES;
    assert_int_equal(hls_env_encode(&full, s, c.item[other].body, c.item[other].body_len), HLS_EINVAL);
    assert_int_equal(full.size, 0);
    free(wrong);
    /* Without a body, hls_env_encode writes the stub. */
    assert_int_equal(hls_env_encode(&full, env, NULL, 0), 0);
    assert_int_equal(full.size, stub[i].size);
    assert_memory_equal(full.data, stub[i].data, full.size);
    msgpack_sbuffer_destroy(&full);
  }
  /* Stubs link like the full items. */
  for (int i = 0; i + 1 < N_TYPES; i++) {
    assert_int_equal(hls_env_check_link(&stub_env[i], &stub_env[i + 1]), 0);
    assert_int_equal(hls_env_check_link(&stub_env[i], &c.item[i + 1]), 0);
  }
  for (int i = 0; i < N_TYPES; i++) msgpack_sbuffer_destroy(&stub[i]);
  chain_free(&c);
}

/* --- tampering ------------------------------------------------------------------ */

enum region { R_FRAME, R_HEADER, R_SIG_FRAME, R_SIG, R_BODY, R_COUNT };
static const char *const region_names[R_COUNT] = {"envelope array", "header", "signature bin header",
                                                  "signature bytes", "body"};
#define N_CODES (HLS__ELAST - HLS__EFIRST)

struct tally {
  size_t flips[R_COUNT];
  size_t decode_err[R_COUNT][N_CODES]; /* by code - HLS__EFIRST */
  size_t bad_sig[R_COUNT];             /* decoded, then refused by verify */
};

static enum region region_of(const struct hls_envelope *env, const uint8_t *base, size_t i) {
  size_t header_start = (size_t)(env->header_bytes - base), header_end = header_start + env->header_len;
  if (i < header_start) return R_FRAME;
  if (i < header_end) return R_HEADER;
  if (i < header_end + 2) return R_SIG_FRAME;
  if (i < header_end + 2 + HLS_SIG_BYTES) return R_SIG;
  return R_BODY;
}

/* Flip every byte of an envelope, one at a time, with each single-bit
 * mask and with 0xff: nothing may be accepted, and each region must fail
 * the way its contents say. */
static void tamper_all(const msgpack_sbuffer *env_bytes, const char *name) {
  const uint8_t *orig = sb_bytes(env_bytes);
  size_t len = env_bytes->size;
  struct hls_envelope good;
  decode_ok(&good, orig, len);
  assert_int_equal(hls_env_verify(&good), 0);
  assert_non_null(good.body);
  static const uint8_t masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
  struct tally *t = calloc(1, sizeof *t);
  assert_non_null(t);
  uint8_t *copy = malloc(len);
  assert_non_null(copy);
  for (size_t i = 0; i < len; i++) {
    enum region reg = region_of(&good, orig, i);
    for (size_t m = 0; m < sizeof masks; m++) {
      memcpy(copy, orig, len);
      copy[i] ^= masks[m];
      struct hls_envelope env;
      struct hls_why why = {{0}};
      int rc = hls_env_decode(&env, copy, len, &why);
      int vrc = rc == 0 ? hls_env_verify(&env) : rc;
      t->flips[reg]++;
      if (rc == 0 && vrc == 0)
        fail_msg("%s: byte %zu (%s) ^ 0x%02x was accepted", name, i, region_names[reg], masks[m]);
      if (rc == 0) {
        assert_int_equal(vrc, HLS_EBADSIG);
        t->bad_sig[reg]++;
      } else {
        assert_decode_code(rc);
        t->decode_err[reg][rc - HLS__EFIRST]++;
      }
      switch (reg) {
        case R_SIG: /* any 64 bytes decode; only verify can tell */
          if (rc != 0) fail_msg("%s: signature byte %zu: decode said %s (%s)", name, i, hls_err_name(rc), why.text);
          break;
        case R_BODY: /* never reaches verify: the header commits to the body */
          if (rc == 0) fail_msg("%s: body byte %zu ^ 0x%02x decoded", name, i, masks[m]);
          assert_int_not_equal(rc, HLS_EBADSIG);
          break;
        case R_HEADER: /* a decode error, or the signature no longer matches */
          assert_true(rc != 0 || vrc == HLS_EBADSIG);
          break;
        default: /* framing: the envelope no longer parses */
          if (rc == 0) fail_msg("%s: framing byte %zu ^ 0x%02x decoded", name, i, masks[m]);
          break;
      }
    }
  }
  /* The body region is where a wrong body_hash shows. */
  assert_true(t->decode_err[R_BODY][HLS_EMALFORMED - HLS__EFIRST] > 0);
  assert_int_equal(t->bad_sig[R_SIG], t->flips[R_SIG]);
  assert_true(t->bad_sig[R_HEADER] > 0);
  print_message("tampering %s (%zu bytes, %zu masks per byte):\n", name, len, sizeof masks);
  for (int r = 0; r < R_COUNT; r++) {
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof line, "  %-22s %5zu flips:", region_names[r], t->flips[r]);
    if (t->bad_sig[r] > 0)
      n += (size_t)snprintf(line + n, sizeof line - n, " bad_signature(verify) %zu", t->bad_sig[r]);
    for (int code = 0; code < N_CODES && n < sizeof line; code++)
      if (t->decode_err[r][code] > 0)
        n += (size_t)snprintf(line + n, sizeof line - n, " %s %zu", hls_err_name(code + HLS__EFIRST),
                              t->decode_err[r][code]);
    print_message("%s; accepted 0\n", line);
  }
  free(copy);
  free(t);
}

static void test_tamper_story(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  tamper_all(&c.env[HLS_ENV_STORY - 1], "story");
  chain_free(&c);
}

static void test_tamper_digest(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  tamper_all(&c.env[HLS_ENV_DIGEST - 1], "digest");
  chain_free(&c);
}

/* A header signed by one key naming another as origin. */
static void test_signature_by_another_key(void **state) {
  (void)state;
  struct key a, b;
  key_make(&a, 0x01);
  key_make(&b, 0x02);
  msgpack_sbuffer body, header, bytes;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&header);
  msgpack_sbuffer_init(&bytes);
  sample_body(&body, HLS_ENV_PROFILE);
  uint8_t hash[HLS_HASH_BYTES];
  hls_env_hash(sb_bytes(&body), body.size, hash);
  struct hdr h = hdr_default(&b, HLS_ENV_PROFILE, 1);
  pack_hdr(&header, &h, hash);
  assemble(&bytes, &a, &header, sb_bytes(&body), body.size);
  struct hls_envelope env;
  decode_ok(&env, sb_bytes(&bytes), bytes.size);
  assert_int_equal(hls_env_verify(&env), HLS_EBADSIG);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&header);
  msgpack_sbuffer_destroy(&bytes);
}

/* --- canonical form, trailing bytes, truncation -------------------------------- */

static void test_noncanonical(void **state) {
  (void)state;
  struct key k;
  key_make(&k, 0x01);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  sample_body(&body, HLS_ENV_DIGEST);
  struct hdr h = hdr_default(&k, HLS_ENV_DIGEST, 5);
  expect_craft(0, &k, &h, &body, NULL, "well-formed control");
  /* Header offsets: 0 array, 1 version, 2 type, 3-4 bin8 header of the
   * origin, 5-36 origin, 37 seq (fixint 5), 38-71 prev, 72 timestamp. */
  const struct edit seq_uint8 = {37, 1, "\xcc\x05", 2};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &seq_uint8, "seq 5 as uint8");
  const struct edit seq_uint64 = {37, 1, "\xcf\0\0\0\0\0\0\0\x05", 9};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &seq_uint64, "seq 5 as uint64");
  const struct edit seq_int8 = {37, 1, "\xd0\x05", 2};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &seq_int8, "seq 5 as int8");
  const struct edit version_uint16 = {1, 1, "\xcd\x00\x01", 3};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &version_uint16, "version as uint16");
  const struct edit header_array16 = {0, 1, "\xdc\x00\x08", 3};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &header_array16, "header as array16");
  const struct edit origin_bin16 = {3, 2, "\xc5\x00\x20", 3};
  expect_craft(HLS_ENONCANON, &k, &h, &body, &origin_bin16, "origin as bin16");
  /* timestamp TS0 is a uint64; a float in its place is not an integer at all */
  const struct edit ts_float = {72, 9, "\xcb\x42\x79\xc6\x4a\x9e\x10\x00\x00", 9};
  expect_craft(HLS_EMALFORMED, &k, &h, &body, &ts_float, "timestamp as float64");

  /* The envelope array as array16 (and array32) with 3 elements. */
  msgpack_sbuffer env;
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_env_build(&env, HLS_ENV_DIGEST, k.sk, 1, NULL, TS0, 0, sb_bytes(&body), body.size), 0);
  assert_int_equal(decode_rc(sb_bytes(&env), env.size), 0);
  splice(&env, 0, 1, "\xdc\x00\x03", 3);
  assert_int_equal(decode_rc(sb_bytes(&env), env.size), HLS_ENONCANON);
  splice(&env, 0, 3, "\xdd\x00\x00\x00\x03", 5);
  assert_int_equal(decode_rc(sb_bytes(&env), env.size), HLS_ENONCANON);
  msgpack_sbuffer_destroy(&env);

  /* A body string in str8 form though it fits a fixstr: the story title.
   * Body offsets: 0 array, 1-3 year (uint16), 4 week, 5 title. */
  msgpack_sbuffer story;
  msgpack_sbuffer_init(&story);
  sample_body(&story, HLS_ENV_STORY);
  assert_int_equal((uint8_t)story.data[5], 0xa0 | strlen("Community caf\xc3\xa9 pilot"));
  splice(&story, 5, 1, "\xd9\x15", 2);
  expect_body(HLS_ENONCANON, HLS_ENV_STORY, &story, "title as str8");
  /* A body int in a longer form: the year as uint32. */
  msgpack_sbuffer_destroy(&story);
  msgpack_sbuffer_init(&story);
  sample_body(&story, HLS_ENV_STORY);
  splice(&story, 1, 3, "\xce\x00\x00\x07\xea", 5);
  expect_body(HLS_ENONCANON, HLS_ENV_STORY, &story, "year as uint32");
  msgpack_sbuffer_destroy(&story);

  /* Digest cells out of order, and repeated. */
  msgpack_sbuffer d;
  msgpack_packer pk;
  const char *const method = HLS_DIGEST_METHOD_NEAREST;
  msgpack_sbuffer_init(&d);
  msgpack_packer_init(&pk, &d, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 2);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u n", 5, "community-cafe", 0ull, 0ull, 1ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "cells out of theme order");
  msgpack_sbuffer_clear(&d);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 2);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 3ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 1ull, 20ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "cells out of stage order");
  msgpack_sbuffer_clear(&d);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 2);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 1ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 2ull, 1ull, 20ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "cells out of kind order");
  msgpack_sbuffer_clear(&d);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 2);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 1ull, 20ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "repeated cell");
  msgpack_sbuffer_clear(&d);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 2);
  mpb_pack(&pk, "A s u u u u", 5, "loneliness", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u n", 5, "loneliness", 0ull, 0ull, 1ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "repeated cell, once withheld");
  msgpack_sbuffer_clear(&d);
  /* Control: the same cells in order are fine, byte order deciding "é". */
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 3);
  mpb_pack(&pk, "A s u u u u", 5, "cafe", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "caf\xc3\xa9", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "cafz", 0ull, 0ull, 1ull, 20ull);
  expect_body(HLS_ENONCANON, HLS_ENV_DIGEST, &d, "\"caf\xc3\xa9\" before \"cafz\"");
  msgpack_sbuffer_clear(&d);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, method, 10ull, 5ull, 3);
  mpb_pack(&pk, "A s u u u u", 5, "cafe", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "cafz", 0ull, 0ull, 1ull, 20ull);
  mpb_pack(&pk, "A s u u u u", 5, "caf\xc3\xa9", 0ull, 0ull, 1ull, 20ull);
  expect_body(0, HLS_ENV_DIGEST, &d, "cells in byte order");
  msgpack_sbuffer_destroy(&d);
  msgpack_sbuffer_destroy(&body);
}

static void test_trailing_bytes(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  for (int i = 0; i < N_TYPES; i++) {
    msgpack_sbuffer longer, stub;
    msgpack_sbuffer_init(&longer);
    msgpack_sbuffer_init(&stub);
    msgpack_sbuffer_write(&longer, c.env[i].data, c.env[i].size);
    msgpack_sbuffer_write(&longer, "\x00", 1);
    assert_int_equal(decode_rc(sb_bytes(&longer), longer.size), HLS_ETRAILING);
    msgpack_sbuffer_write(&longer, c.env[i].data, c.env[i].size); /* two envelopes back to back */
    assert_int_equal(decode_rc(sb_bytes(&longer), longer.size), HLS_ETRAILING);
    assert_int_equal(hls_env_encode_stub(&stub, &c.item[i]), 0);
    msgpack_sbuffer_write(&stub, "\xc0", 1);
    assert_int_equal(decode_rc(sb_bytes(&stub), stub.size), HLS_ETRAILING);
    /* A body with a byte after it, re-signed so only that is wrong. */
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_write(&body, c.body[i].data, c.body[i].size);
    msgpack_sbuffer_write(&body, "\x01", 1);
    struct hls_why why = {{0}};
    assert_int_equal(hls_env_body_check(i + 1, sb_bytes(&body), body.size, &why), HLS_ETRAILING);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&longer);
    msgpack_sbuffer_destroy(&stub);
  }
  chain_free(&c);
}

/* Every prefix is refused as truncated; each is decoded from an exact-size
 * copy so the sanitizers catch a read past the end. */
static void truncate_all(const uint8_t *bytes, size_t len, int type, const char *name) {
  for (size_t n = 0; n < len; n++) {
    uint8_t *copy = malloc(n > 0 ? n : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    struct hls_why why = {{0}};
    int rc = type == 0 ? decode_rc(copy, n) : hls_env_body_check(type, copy, n, &why);
    if (rc != HLS_ETRUNCATED) fail_msg("%s cut to %zu of %zu bytes: %s (%s)", name, n, len, hls_err_name(rc), why.text);
    free(copy);
  }
}

static void test_truncation(void **state) {
  (void)state;
  struct chain c;
  chain_build(&c, 0x01);
  for (int i = 0; i < N_TYPES; i++) {
    const char *name = hls_env_type_name(i + 1);
    truncate_all(sb_bytes(&c.env[i]), c.env[i].size, 0, name);
    truncate_all(sb_bytes(&c.body[i]), c.body[i].size, i + 1, name);
    msgpack_sbuffer stub;
    msgpack_sbuffer_init(&stub);
    assert_int_equal(hls_env_encode_stub(&stub, &c.item[i]), 0);
    truncate_all(sb_bytes(&stub), stub.size, 0, name);
    msgpack_sbuffer_destroy(&stub);
  }
  chain_free(&c);
}

/* --- size limits ------------------------------------------------------------------ */

/* A digest body of n cells with themes t00000, t00001, ... (in order). */
static void digest_of_n_cells(msgpack_sbuffer *sb, uint32_t n) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u A s u u A", 4, 2026ull, 7ull, 3, HLS_DIGEST_METHOD_NEAREST, 10ull, 5ull, (int)n);
  for (uint32_t i = 0; i < n; i++) {
    char theme[16];
    snprintf(theme, sizeof theme, "t%05u", i);
    mpb_pack(&pk, "A s u u u u", 5, theme, 0ull, 2ull, 1ull, 3ull);
  }
}

static void test_size_limits(void **state) {
  (void)state;
  struct key k;
  key_make(&k, 0x01);
  /* Too big to look at: refused from the length alone. */
  uint8_t *big = calloc(1, HLS_ENV_MAX_BYTES + 1);
  assert_non_null(big);
  struct chain c;
  chain_build(&c, 0x01);
  memcpy(big, c.env[0].data, c.env[0].size);
  assert_int_equal(decode_rc(big, HLS_ENV_MAX_BYTES + 1), HLS_ETOOBIG);
  assert_int_equal(decode_rc(big, SIZE_MAX), HLS_ETOOBIG); /* len is checked before any byte is read */
  free(big);
  chain_free(&c);

  /* Digest cells: the limit itself is fine, one more is refused. */
  msgpack_sbuffer d;
  msgpack_sbuffer_init(&d);
  digest_of_n_cells(&d, HLS_DIGEST_MAX_CELLS);
  expect_body(0, HLS_ENV_DIGEST, &d, "HLS_DIGEST_MAX_CELLS cells");
  msgpack_sbuffer_clear(&d);
  digest_of_n_cells(&d, HLS_DIGEST_MAX_CELLS + 1);
  expect_body(HLS_ETOOBIG, HLS_ENV_DIGEST, &d, "HLS_DIGEST_MAX_CELLS + 1 cells");
  /* A count the input cannot hold is refused before anything is sized
   * from it (an allocation of 2^32 cells would fail or abort under ASan). */
  msgpack_sbuffer_clear(&d);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &d, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u A s u u", 4, 2026ull, 7ull, 3, HLS_DIGEST_METHOD_NEAREST, 10ull, 5ull);
  msgpack_sbuffer_write(&d, "\xdd\xff\xff\xff\xff\x95", 6);
  expect_body(HLS_ETRUNCATED, HLS_ENV_DIGEST, &d, "2^32-1 cells claimed");
  msgpack_sbuffer_destroy(&d);

  /* Profile addresses: at most HLS_PROFILE_MAX_ADDRESSES. */
  msgpack_sbuffer p;
  msgpack_sbuffer_init(&p);
  msgpack_packer_init(&pk, &p, msgpack_sbuffer_write);
  mpb_pack(&pk, "A s s u A", 4, "Leeds", "Yorkshire", 0ull, HLS_PROFILE_MAX_ADDRESSES);
  for (int i = 0; i < HLS_PROFILE_MAX_ADDRESSES; i++) mpb_pack(&pk, "s", "192.0.2.1:7420");
  expect_body(0, HLS_ENV_PROFILE, &p, "HLS_PROFILE_MAX_ADDRESSES addresses");
  msgpack_sbuffer_clear(&p);
  mpb_pack(&pk, "A s s u A", 4, "Leeds", "Yorkshire", 0ull, HLS_PROFILE_MAX_ADDRESSES + 1);
  for (int i = 0; i < HLS_PROFILE_MAX_ADDRESSES + 1; i++) mpb_pack(&pk, "s", "192.0.2.1:7420");
  expect_body(HLS_ETOOBIG, HLS_ENV_PROFILE, &p, "one address too many");
  struct hls_profile prof;
  sample_profile(&prof);
  prof.n_addresses = HLS_PROFILE_MAX_ADDRESSES + 1;
  msgpack_sbuffer_clear(&p);
  assert_int_equal(hls_profile_pack(&p, &prof), HLS_EINVAL);
  assert_int_equal(p.size, 0);
  msgpack_sbuffer_destroy(&p);

  /* Story themes and texts. */
  msgpack_sbuffer s;
  msgpack_sbuffer_init(&s);
  msgpack_packer_init(&pk, &s, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u s n n A", 8, 2026ull, 7ull, "Title", HLS_THEMES_PER_RECORD + 1);
  for (int i = 0; i < HLS_THEMES_PER_RECORD + 1; i++) {
    char slug[16];
    snprintf(slug, sizeof slug, "theme-%d", i);
    mpb_pack(&pk, "A s u", 2, slug, 0ull);
  }
  mpb_pack(&pk, "u u", 0ull, 0ull);
  expect_body(HLS_ETOOBIG, HLS_ENV_STORY, &s, "33 themes");
  char *text = malloc(HLS_TEXT_HARD_MAX + 2);
  assert_non_null(text);
  memset(text, 'a', HLS_TEXT_HARD_MAX + 1);
  text[HLS_TEXT_HARD_MAX + 1] = '\0';
  msgpack_sbuffer_clear(&s);
  mpb_pack(&pk, "A u u s S n A u u", 8, 2026ull, 7ull, "Title", text, (size_t)HLS_TEXT_HARD_MAX, 0, 0ull, 0ull);
  expect_body(0, HLS_ENV_STORY, &s, "tried of HLS_TEXT_HARD_MAX bytes");
  msgpack_sbuffer_clear(&s);
  mpb_pack(&pk, "A u u s n S A u u", 8, 2026ull, 7ull, "Title", text, (size_t)HLS_TEXT_HARD_MAX + 1, 0, 0ull, 0ull);
  expect_body(HLS_EMALFORMED, HLS_ENV_STORY, &s, "learnt of HLS_TEXT_HARD_MAX + 1 bytes");
  msgpack_sbuffer_clear(&s);
  mpb_pack(&pk, "A u u S n n A u u", 8, 2026ull, 7ull, text, (size_t)HLS_TITLE_MAX, 0, 0ull, 0ull);
  expect_body(0, HLS_ENV_STORY, &s, "title of HLS_TITLE_MAX bytes");
  msgpack_sbuffer_clear(&s);
  mpb_pack(&pk, "A u u S n n A u u", 8, 2026ull, 7ull, text, (size_t)HLS_TITLE_MAX + 1, 0, 0ull, 0ull);
  expect_body(HLS_EMALFORMED, HLS_ENV_STORY, &s, "title of HLS_TITLE_MAX + 1 bytes");
  free(text);
  msgpack_sbuffer_destroy(&s);
}

/* --- schema ---------------------------------------------------------------------- */

static void test_header_schema(void **state) {
  (void)state;
  struct key k;
  key_make(&k, 0x01);
  msgpack_sbuffer digest, story, tomb;
  msgpack_sbuffer_init(&digest);
  msgpack_sbuffer_init(&story);
  msgpack_sbuffer_init(&tomb);
  sample_body(&digest, HLS_ENV_DIGEST);
  sample_body(&story, HLS_ENV_STORY);
  sample_body(&tomb, HLS_ENV_TOMBSTONE);
  uint8_t prev[HLS_HASH_BYTES] = {1};
  struct hdr h;

  h = hdr_default(&k, HLS_ENV_DIGEST, 1);
  expect_craft(0, &k, &h, &digest, NULL, "control");
  h.version = 2;
  expect_craft(HLS_EUNSUPPORTED, &k, &h, &digest, NULL, "version 2");
  h.version = 0;
  expect_craft(HLS_EUNSUPPORTED, &k, &h, &digest, NULL, "version 0");
  h.version = 0x100000000ull;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "version 2^32");
  h = hdr_default(&k, 0, 1);
  expect_craft(HLS_EUNSUPPORTED, &k, &h, &digest, NULL, "type 0");
  h.type = HLS_ENV_TYPE_MAX + 1; /* the first type this build does not know */
  expect_craft(HLS_EUNSUPPORTED, &k, &h, &digest, NULL, "first unknown type");
  expect_craft(HLS_EUNSUPPORTED, &k, &h, NULL, NULL, "first unknown type, stub");
  h.type = HLS_ENV_RECEIPT;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "a digest's body as a receipt");
  expect_craft(0, &k, &h, NULL, NULL, "a receipt's stub");
  h.audience = HLS_AUD_PEERS;
  expect_craft(HLS_EMALFORMED, &k, &h, NULL, NULL, "a receipt to peers only");

  h = hdr_default(&k, HLS_ENV_DIGEST, 0);
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "seq 0");
  h.seq = (uint64_t)INT64_MAX + 1;
  h.prev = prev;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "seq 2^63");
  h = hdr_default(&k, HLS_ENV_DIGEST, 1);
  h.prev = prev;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "prev at seq 1");
  h = hdr_default(&k, HLS_ENV_DIGEST, 2);
  h.prev = NULL;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "no prev at seq 2");
  expect_craft(HLS_EMALFORMED, &k, &h, NULL, NULL, "no prev at seq 2 (stub)");
  h = hdr_default(&k, HLS_ENV_DIGEST, 1);
  h.timestamp_ms = (uint64_t)INT64_MAX + 1;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "timestamp 2^63");

  /* Only stories may go to peers only. */
  h = hdr_default(&k, HLS_ENV_STORY, 1);
  h.audience = HLS_AUD_PEERS;
  expect_craft(0, &k, &h, &story, NULL, "story to peers");
  expect_craft(0, &k, &h, NULL, NULL, "story to peers (stub)");
  h.audience = 2;
  expect_craft(HLS_EMALFORMED, &k, &h, &story, NULL, "audience 2");
  for (int type = HLS_ENV_PROFILE; type <= HLS_ENV_TOMBSTONE; type++) {
    if (type == HLS_ENV_STORY) continue;
    h = hdr_default(&k, type, type == HLS_ENV_TOMBSTONE ? 2 : 1);
    h.audience = HLS_AUD_PEERS;
    expect_craft(HLS_EMALFORMED, &k, &h, NULL, NULL, "peers audience on a non-story");
  }
  h = hdr_default(&k, HLS_ENV_DIGEST, 1);
  h.audience = HLS_AUD_PEERS;
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "digest to peers");

  /* Byte strings of the wrong size or type (header offsets as above). */
  h = hdr_default(&k, HLS_ENV_DIGEST, 1);
  const struct edit origin_31 = {3, 3, "\xc4\x1f", 2}; /* bin8 of 31: drops the first origin byte */
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, &origin_31, "origin of 31 bytes");
  const struct edit origin_str = {3, 2, "\xd9\x20", 2};
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, &origin_str, "origin as str8");

  /* A body that does not belong to its header. */
  h = hdr_default(&k, HLS_ENV_STORY, 1);
  expect_craft(HLS_EMALFORMED, &k, &h, &digest, NULL, "digest body in a story");

  /* Tombstones point back: target < own seq. The sample targets seq 1. */
  h = hdr_default(&k, HLS_ENV_TOMBSTONE, 2);
  expect_craft(0, &k, &h, &tomb, NULL, "tombstone of seq 1 at seq 2");
  h = hdr_default(&k, HLS_ENV_TOMBSTONE, 1);
  expect_craft(HLS_EMALFORMED, &k, &h, &tomb, NULL, "tombstone of itself");
  msgpack_sbuffer_clear(&tomb);
  struct hls_tombstone t = {.target_seq = 9, .reason = 0};
  assert_int_equal(hls_tombstone_pack(&tomb, &t), 0);
  h = hdr_default(&k, HLS_ENV_TOMBSTONE, 5);
  expect_craft(HLS_EMALFORMED, &k, &h, &tomb, NULL, "tombstone of a later item");
  expect_craft(0, &k, &h, NULL, NULL, "its stub (the body is what is wrong)");

  msgpack_sbuffer_destroy(&digest);
  msgpack_sbuffer_destroy(&story);
  msgpack_sbuffer_destroy(&tomb);
}

/* Pack fmt (mp_build letters) into a fresh body and expect want from the
 * body decoders. */
static void expect_body_fmt(int want, int type, const char *what, const char *fmt, ...) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&pk, fmt, ap);
  va_end(ap);
  expect_body(want, type, &sb, what);
  msgpack_sbuffer_destroy(&sb);
}

static void test_body_schema(void **state) {
  (void)state;
  const char *m = HLS_DIGEST_METHOD_NEAREST;
  /* digest */
  expect_body_fmt(0, HLS_ENV_DIGEST, "empty digest", "A u u A s u u A", 4, 2026ull, 7ull, 3, m, 10ull, 5ull, 0);
  expect_body_fmt(0, HLS_ENV_DIGEST, "keyed method", "A u u A s u u A", 4, 2026ull, 7ull, 3, HLS_DIGEST_METHOD_KEYED,
                  10ull, 5ull, 0);
  expect_body_fmt(HLS_EUNSUPPORTED, HLS_ENV_DIGEST, "unknown method", "A u u A s u u A", 4, 2026ull, 7ull, 3,
                  "hls-sdc-3", 10ull, 5ull, 0);
  expect_body_fmt(HLS_EUNSUPPORTED, HLS_ENV_DIGEST, "method name prefix", "A u u A s u u A", 4, 2026ull, 7ull, 3,
                  "hls-sdc-", 10ull, 5ull, 0);
  expect_body_fmt(0, HLS_ENV_DIGEST, "2020 has 53 weeks", "A u u A s u u A", 4, 2020ull, 53ull, 3, m, 10ull, 5ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "2021 has 52 weeks", "A u u A s u u A", 4, 2021ull, 53ull, 3, m,
                  10ull, 5ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "week 0", "A u u A s u u A", 4, 2026ull, 0ull, 3, m, 10ull, 5ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "week 54", "A u u A s u u A", 4, 2026ull, 54ull, 3, m, 10ull, 5ull,
                  0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "year 1899", "A u u A s u u A", 4, 1899ull, 7ull, 3, m, 10ull, 5ull,
                  0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "rounding 0", "A u u A s u u A", 4, 2026ull, 7ull, 3, m, 10ull, 0ull,
                  0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "non-slug theme", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3,
                  m, 10ull, 5ull, 1, 5, "Loneliness", 0ull, 0ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "theme with a space", "A u u A s u u A A s u u u u", 4, 2026ull,
                  7ull, 3, m, 10ull, 5ull, 1, 5, "mental health", 0ull, 0ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "empty theme", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3,
                  m, 10ull, 5ull, 1, 5, "", 0ull, 0ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "kind 4", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3, m,
                  10ull, 5ull, 1, 5, "loneliness", 4ull, 0ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "scale 4", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3, m,
                  10ull, 5ull, 1, 5, "loneliness", 0ull, 4ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "stage 6", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3, m,
                  10ull, 5ull, 1, 5, "loneliness", 0ull, 0ull, 6ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "count too big", "A u u A s u u A A s u u u u", 4, 2026ull, 7ull, 3,
                  m, 10ull, 5ull, 1, 5, "loneliness", 0ull, 0ull, 1ull, (unsigned long long)HLS_DIGEST_MAX_COUNT + 1);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "negative count", "A u u A s u u A A s u u u i", 4, 2026ull, 7ull,
                  3, m, 10ull, 5ull, 1, 5, "loneliness", 0ull, 0ull, 1ull, -1ll);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "cell of 4", "A u u A s u u A A s u u u", 4, 2026ull, 7ull, 3, m,
                  10ull, 5ull, 1, 4, "loneliness", 0ull, 0ull, 1ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "theme not UTF-8", "A u u A s u u A A S u u u u", 4, 2026ull, 7ull, 3, m,
                  10ull, 5ull, 1, 5, "caf\xe9", (size_t)4, 0ull, 0ull, 1ull, 20ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_DIGEST, "digest as a map", "M", 0);

  /* story */
  expect_body_fmt(0, HLS_ENV_STORY, "minimal story", "A u u s n n A u u", 8, 2026ull, 7ull, "T", 0, 0ull, 0ull);
  expect_body_fmt(0, HLS_ENV_STORY, "story in 2020-W53", "A u u s n n A u u", 8, 2020ull, 53ull, "T", 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "story in 2021-W53", "A u u s n n A u u", 8, 2021ull, 53ull, "T", 0,
                  0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "title not UTF-8", "A u u S n n A u u", 8, 2026ull, 7ull, "caf\xe9",
                  (size_t)4, 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "title overlong UTF-8", "A u u S n n A u u", 8, 2026ull, 7ull, "a\xc0\xaf",
                  (size_t)3, 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "tried with a surrogate", "A u u s S n A u u", 8, 2026ull, 7ull, "T",
                  "\xed\xa0\x80", (size_t)3, 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "learnt cut mid-character", "A u u s n S A u u", 8, 2026ull, 7ull, "T",
                  "ok \xe2\x98", (size_t)5, 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "line break in the title", "A u u s n n A u u", 8, 2026ull, 7ull,
                  "two\nlines", 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "NUL in tried", "A u u s S n A u u", 8, 2026ull, 7ull, "T", "a\0b",
                  (size_t)3, 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "C1 control in learnt", "A u u s n s A u u", 8, 2026ull, 7ull, "T",
                  "a\xc2\x85z", 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "empty title", "A u u s n n A u u", 8, 2026ull, 7ull, "", 0, 0ull,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "empty tried (nil, not \"\")", "A u u s s n A u u", 8, 2026ull, 7ull,
                  "T", "", 0, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "non-slug story theme", "A u u s n n A A s u u u", 8, 2026ull, 7ull,
                  "T", 1, 2, "Community Cafe", 0ull, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "repeated story theme", "A u u s n n A A s u A s u u u", 8, 2026ull,
                  7ull, "T", 2, 2, "cafe", 0ull, 2, "cafe", 1ull, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "scale 4", "A u u s n n A u u", 8, 2026ull, 7ull, "T", 0, 4ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "stage 6", "A u u s n n A u u", 8, 2026ull, 7ull, "T", 0, 0ull, 6ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "story of 7", "A u u s n n A u", 7, 2026ull, 7ull, "T", 0, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_STORY, "tried as bin", "A u u s b n A u u", 8, 2026ull, 7ull, "T", "x",
                  (size_t)1, 0, 0ull, 0ull);

  /* profile */
  expect_body_fmt(0, HLS_ENV_PROFILE, "minimal profile", "A s s u A", 4, "Leeds", "Yorkshire", 0ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_PROFILE, "empty place", "A s s u A", 4, "", "Yorkshire", 0ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_PROFILE, "place not UTF-8", "A S s u A", 4, "\xff", (size_t)1, "Yorkshire", 0ull,
                  0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_PROFILE, "role 2", "A s s u A", 4, "Leeds", "Yorkshire", 2ull, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_PROFILE, "address without port", "A s s u A s", 4, "Leeds", "Yorkshire",
                  0ull, 1, "192.0.2.1");
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_PROFILE, "address port 0", "A s s u A s", 4, "Leeds", "Yorkshire", 0ull, 1,
                  "192.0.2.1:0");

  /* tombstone */
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_TOMBSTONE, "target 0", "A u u", 2, 0ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_TOMBSTONE, "reason 4", "A u u", 2, 1ull, 4ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_TOMBSTONE, "negative target", "A i u", 2, -1ll, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_TOMBSTONE, "tombstone of 3", "A u u u", 3, 1ull, 0ull, 0ull);
  for (unsigned long long reason = 0; reason <= HLS_TOMB_RECORD_DELETED; reason++)
    expect_body_fmt(0, HLS_ENV_TOMBSTONE, "every reason", "A u u", 2, 1ull, reason);

  /* The detail names the field and the reason. */
  struct hls_why why = {{0}};
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u u S n n A u u", 8, 2026ull, 7ull, "caf\xe9", (size_t)4, 0, 0ull, 0ull);
  assert_int_equal(hls_env_body_check(HLS_ENV_STORY, sb_bytes(&sb), sb.size, &why), HLS_EMALFORMED);
  assert_string_equal(why.text, "title: invalid UTF-8");
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(hls_env_body_check(0, (const uint8_t *)"\x90", 1, &why), HLS_EUNSUPPORTED);
  assert_int_equal(hls_env_body_check(HLS_ENV_TYPE_MAX + 1, (const uint8_t *)"\x90", 1, &why), HLS_EUNSUPPORTED);
}

/* --- rekey (docs/protocol.md 4.8) ---------------------------------------------------- */

static void test_rekey_round_trip(void **state) {
  (void)state;
  struct hls_rekey r, back;
  struct hls_why why = {{0}};
  memset(&r, 0, sizeof r);
  r.epoch = 3;
  uint8_t key[32];
  memset(key, 0x5a, sizeof key);
  hls_rekey_key_hash(key, r.key_hash);
  /* The hash is keyed: not the plain BLAKE2b of the key. */
  uint8_t plain[32];
  hls_env_hash(key, sizeof key, plain);
  assert_memory_not_equal(plain, r.key_hash, 32);
  r.n_expelled = 3; /* out of order, one twice: the packer sorts and drops the repeat */
  memset(r.expelled[0], 0x30, 32);
  memset(r.expelled[1], 0x10, 32);
  memset(r.expelled[2], 0x30, 32);
  r.overlap_until_ms = TS0 + 14 * 86400000ull;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_rekey_pack(&sb, &r), 0);
  assert_int_equal(r.n_expelled, 2);
  assert_int_equal(r.expelled[0][0], 0x10);
  assert_int_equal(hls_rekey_decode(&back, sb_bytes(&sb), sb.size, &why), 0);
  assert_int_equal(back.epoch, 3);
  assert_int_equal(back.n_expelled, 2);
  assert_memory_equal(back.key_hash, r.key_hash, 32);
  assert_memory_equal(back.expelled, r.expelled, 2 * 32);
  assert_int_equal(back.overlap_until_ms, r.overlap_until_ms);
  assert_true(hls_rekey_expels(&back, r.expelled[1]));
  assert_false(hls_rekey_expels(&back, key));
  expect_body(0, HLS_ENV_REKEY, &sb, "a rekey");
  /* In a network envelope it decodes; to peers only, or expelling its own
   * signer, it does not. */
  struct key k;
  key_make(&k, 0x51);
  uint8_t prev[HLS_HASH_BYTES] = {7};
  msgpack_sbuffer env;
  msgpack_sbuffer_init(&env);
  assert_int_equal(hls_env_build(&env, HLS_ENV_REKEY, k.sk, 4, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&sb), sb.size), 0);
  struct hls_envelope e;
  decode_ok(&e, sb_bytes(&env), env.size);
  assert_int_equal(e.h.type, HLS_ENV_REKEY);
  assert_string_equal(hls_env_type_name(HLS_ENV_REKEY), "rekey");
  env.size = 0;
  assert_int_equal(hls_env_build(&env, HLS_ENV_REKEY, k.sk, 4, prev, TS0, HLS_AUD_PEERS, sb_bytes(&sb), sb.size),
                   HLS_EINVAL);
  memcpy(r.expelled[1], k.pk, 32);
  msgpack_sbuffer self;
  msgpack_sbuffer_init(&self);
  assert_int_equal(hls_rekey_pack(&self, &r), 0);
  struct hdr h = hdr_default(&k, HLS_ENV_REKEY, 4);
  expect_craft(HLS_EMALFORMED, &k, &h, &self, NULL, "a steward expelling itself");
  /* Epoch 0 is the network's first key; more than 64 expelled. */
  r.epoch = 0;
  env.size = 0;
  assert_int_equal(hls_rekey_pack(&env, &r), HLS_EINVAL);
  r.epoch = 1;
  r.n_expelled = HLS_REKEY_MAX_EXPELLED + 1;
  assert_int_equal(hls_rekey_pack(&env, &r), HLS_EINVAL);
  msgpack_sbuffer_destroy(&self);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&sb);
}

static void test_rekey_malformed(void **state) {
  (void)state;
  uint8_t a[33], b[32], hash[32];
  memset(a, 0x11, sizeof a);
  memset(b, 0x22, sizeof b);
  memset(hash, 0x33, sizeof hash);
  unsigned long long until = TS0;
  expect_body_fmt(0, HLS_ENV_REKEY, "a rekey", "A u b A b b u", 4, 1ull, hash, (size_t)32, 2, a, (size_t)32, b,
                  (size_t)32, until);
  expect_body_fmt(0, HLS_ENV_REKEY, "none expelled", "A u b A u", 4, 7ull, hash, (size_t)32, 0, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "epoch 0", "A u b A u", 4, 0ull, hash, (size_t)32, 0, until);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "negative epoch", "A i b A u", 4, -1ll, hash, (size_t)32, 0, until);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "hash of 31 bytes", "A u b A u", 4, 1ull, hash, (size_t)31, 0, until);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "hash nil", "A u n A u", 4, 1ull, 0, until);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "expelled of 33 bytes", "A u b A b u", 4, 1ull, hash, (size_t)32, 1,
                  a, (size_t)33, until);
  expect_body_fmt(HLS_ENONCANON, HLS_ENV_REKEY, "expelled out of order", "A u b A b b u", 4, 1ull, hash, (size_t)32,
                  2, b, (size_t)32, a, (size_t)32, until);
  expect_body_fmt(HLS_ENONCANON, HLS_ENV_REKEY, "expelled twice", "A u b A b b u", 4, 1ull, hash, (size_t)32, 2, b,
                  (size_t)32, b, (size_t)32, until);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "expelled not a list", "A u b n u", 4, 1ull, hash, (size_t)32, until);
  msgpack_sbuffer many;
  msgpack_packer pk;
  msgpack_sbuffer_init(&many);
  msgpack_packer_init(&pk, &many, msgpack_sbuffer_write);
  mpb_pack(&pk, "A u b A", 4, 1ull, hash, (size_t)32, HLS_REKEY_MAX_EXPELLED + 1);
  for (int i = 0; i <= HLS_REKEY_MAX_EXPELLED; i++) {
    uint8_t id[32] = {(uint8_t)(i >> 8), (uint8_t)i};
    mpb_pack(&pk, "b", id, (size_t)32);
  }
  mpb_pack(&pk, "u", until);
  expect_body(HLS_ETOOBIG, HLS_ENV_REKEY, &many, "65 expelled");
  msgpack_sbuffer_destroy(&many);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "no overlap", "A u b A", 3, 1ull, hash, (size_t)32, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "five elements", "A u b A u u", 5, 1ull, hash, (size_t)32, 0, until,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "overlap as a string", "A u b A s", 4, 1ull, hash, (size_t)32, 0,
                  "soon");
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_REKEY, "a map", "M", 0);
}

/* --- vouches ----------------------------------------------------------------------- */

static void sample_vouch(struct hls_vouch *v) {
  memset(v, 0, sizeof *v);
  memset(v->subject, 0x11, sizeof v->subject);
  snprintf(v->place, sizeof v->place, "Gateshead Council");
  snprintf(v->region, sizeof v->region, "North East");
  v->role = HLS_PROFILE_PARTNER;
}

static void test_vouch_round_trip(void **state) {
  (void)state;
  struct hls_vouch v, back;
  struct hls_why why = {{0}};
  for (int withdrawn = 0; withdrawn <= 1; withdrawn++) {
    sample_vouch(&v);
    if (withdrawn) {
      v.withdrawn = true;
      memset(v.place, 0, sizeof v.place);
      memset(v.region, 0, sizeof v.region);
      v.role = 0;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(hls_vouch_pack(&sb, &v), 0);
    assert_int_equal(hls_vouch_decode(&back, sb_bytes(&sb), sb.size, &why), 0);
    assert_memory_equal(&back, &v, sizeof v);
    expect_body(0, HLS_ENV_VOUCH, &sb, withdrawn ? "a withdrawal" : "a vouch");
    /* In an envelope of another node it decodes; to peers only it does not. */
    struct key key;
    key_make(&key, 0x50);
    uint8_t prev[HLS_HASH_BYTES] = {7};
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    assert_int_equal(hls_env_build(&env, HLS_ENV_VOUCH, key.sk, 9, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&sb), sb.size),
                     0);
    struct hls_envelope e;
    decode_ok(&e, sb_bytes(&env), env.size);
    assert_int_equal(e.h.type, HLS_ENV_VOUCH);
    env.size = 0;
    assert_int_equal(hls_env_build(&env, HLS_ENV_VOUCH, key.sk, 9, prev, TS0, HLS_AUD_PEERS, sb_bytes(&sb), sb.size),
                     HLS_EINVAL);
    /* A vouch for its own signer is refused, by the builder and by every
     * receiver (a violation in gossip). */
    memcpy(v.subject, key.pk, HLS_KEY_BYTES);
    msgpack_sbuffer self;
    msgpack_sbuffer_init(&self);
    assert_int_equal(hls_vouch_pack(&self, &v), 0); /* the body alone is well formed */
    assert_int_equal(hls_env_build(&env, HLS_ENV_VOUCH, key.sk, 9, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&self),
                                   self.size),
                     HLS_EINVAL);
    struct hdr h = hdr_default(&key, HLS_ENV_VOUCH, 9);
    expect_craft(HLS_EMALFORMED, &key, &h, &self, NULL, "a self-vouch");
    msgpack_sbuffer_destroy(&self);
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&sb);
  }
}

static void test_vouch_malformed(void **state) {
  (void)state;
  uint8_t subject[33];
  memset(subject, 0x11, sizeof subject);
  const char *place = "Gateshead Council", *region = "North East";
  expect_body_fmt(0, HLS_ENV_VOUCH, "a vouch", "A b A s s u", 2, subject, (size_t)32, 3, place, region, 1ull);
  expect_body_fmt(0, HLS_ENV_VOUCH, "a withdrawal", "A b n", 2, subject, (size_t)32);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "subject of 31 bytes", "A b n", 2, subject, (size_t)31);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "subject of 33 bytes", "A b n", 2, subject, (size_t)33);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "subject as a string", "A S n", 2, (const char *)subject, (size_t)32);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "subject nil", "A n n", 2);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "no claim", "A b", 1, subject, (size_t)32);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "three elements", "A b n n", 3, subject, (size_t)32);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "flat claim", "A b s s u", 4, subject, (size_t)32, place, region,
                  1ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "claim of 2", "A b A s s", 2, subject, (size_t)32, 2, place, region);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "claim of 4", "A b A s s u u", 2, subject, (size_t)32, 4, place,
                  region, 1ull, 1ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "role 2", "A b A s s u", 2, subject, (size_t)32, 3, place, region,
                  2ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "role -1", "A b A s s i", 2, subject, (size_t)32, 3, place, region,
                  -1ll);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "empty place", "A b A s s u", 2, subject, (size_t)32, 3, "", region,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "empty region", "A b A s s u", 2, subject, (size_t)32, 3, place, "",
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "place with a line break", "A b A s s u", 2, subject, (size_t)32, 3,
                  "Gates\nhead", region, 0ull);
  char long_place[HLS_PLACE_MAX + 2];
  memset(long_place, 'x', sizeof long_place - 1);
  long_place[sizeof long_place - 1] = '\0';
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "place of 121 bytes", "A b A s s u", 2, subject, (size_t)32, 3,
                  long_place, region, 0ull);
  long_place[HLS_PLACE_MAX] = '\0';
  expect_body_fmt(0, HLS_ENV_VOUCH, "place of 120 bytes", "A b A s s u", 2, subject, (size_t)32, 3, long_place, region,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "claim as a map", "A b M", 2, subject, (size_t)32, 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "vouch as a map", "M", 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_VOUCH, "a profile's body", "A s s u A", 4, place, region, 1ull, 0);
  /* Canonical form: a role in a wider integer than it needs; trailing
   * bytes; every truncation. */
  struct hls_vouch v;
  sample_vouch(&v);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_vouch_pack(&sb, &v), 0);
  struct hls_why why = {{0}};
  uint8_t wide[256];
  assert_true(sb.size + 2 < sizeof wide);
  memcpy(wide, sb.data, sb.size - 1);
  wide[sb.size - 1] = 0xcd; /* uint16 1 */
  wide[sb.size] = 0x00;
  wide[sb.size + 1] = 0x01;
  assert_int_equal(hls_env_body_check(HLS_ENV_VOUCH, wide, sb.size + 2, &why), HLS_ENONCANON);
  memcpy(wide, sb.data, sb.size);
  wide[sb.size] = 0xc0;
  assert_int_equal(hls_env_body_check(HLS_ENV_VOUCH, wide, sb.size + 1, &why), HLS_ETRAILING);
  for (size_t cut = 0; cut < sb.size; cut++) {
    int rc = hls_env_body_check(HLS_ENV_VOUCH, wide, cut, &why);
    assert_true(rc == HLS_ETRUNCATED || rc == HLS_EMALFORMED);
  }
  /* The packer refuses what peers refuse. */
  size_t before = sb.size;
  v.role = 2;
  assert_int_equal(hls_vouch_pack(&sb, &v), HLS_EINVAL);
  v.role = 0;
  v.place[0] = '\0';
  assert_int_equal(hls_vouch_pack(&sb, &v), HLS_EINVAL);
  assert_int_equal(sb.size, before);
  msgpack_sbuffer_destroy(&sb);
}

/* --- receipts ---------------------------------------------------------------------- */

/* n entries, entry i naming origin {i / per_origin + 1, 0, ...} seq i % per_origin + 1 (state i % 2): in
 * canonical order. */
static void receipt_make(struct hls_receipt *r, size_t n, size_t per_origin) {
  r->n_entries = n;
  r->entries = calloc(n > 0 ? n : 1, sizeof *r->entries);
  assert_non_null(r->entries);
  for (size_t i = 0; i < n; i++) {
    r->entries[i].origin[0] = (uint8_t)(i / per_origin / 256 + 1);
    r->entries[i].origin[1] = (uint8_t)(i / per_origin % 256);
    r->entries[i].target_seq = i % per_origin + 1;
    r->entries[i].state = (int)(i % 2);
  }
}

/* Pack r's entries as they are, without the packer's checks. */
static void receipt_raw(msgpack_sbuffer *sb, const struct hls_receipt *r) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_array(&pk, r->n_entries), 0);
  for (size_t i = 0; i < r->n_entries; i++) {
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    assert_int_equal(msgpack_pack_bin(&pk, HLS_KEY_BYTES), 0);
    assert_int_equal(msgpack_pack_bin_body(&pk, r->entries[i].origin, HLS_KEY_BYTES), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, r->entries[i].target_seq), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, (uint64_t)r->entries[i].state), 0);
  }
}

static void expect_receipt_raw(int want, const struct hls_receipt *r, const char *what) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  receipt_raw(&sb, r);
  expect_body(want, HLS_ENV_RECEIPT, &sb, what);
  msgpack_sbuffer_destroy(&sb);
}

static void test_receipt_round_trip(void **state) {
  (void)state;
  size_t sizes[] = {1, 2, 3, 500, HLS_RECEIPT_MAX_ENTRIES};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    struct hls_receipt r, back;
    receipt_make(&r, sizes[k], 300);
    r.entries[0].target_seq = (uint64_t)INT64_MAX; /* the largest seq, in the shortest form */
    if (sizes[k] > 1 && r.entries[1].origin[1] == r.entries[0].origin[1]) r.entries[0].target_seq = 1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(hls_receipt_pack(&sb, &r), 0);
    struct hls_why why = {{0}};
    assert_int_equal(hls_receipt_decode(&back, sb_bytes(&sb), sb.size, &why), 0);
    assert_int_equal(back.n_entries, r.n_entries);
    for (size_t i = 0; i < r.n_entries; i++) {
      assert_memory_equal(back.entries[i].origin, r.entries[i].origin, HLS_KEY_BYTES);
      assert_int_equal(back.entries[i].target_seq, r.entries[i].target_seq);
      assert_int_equal(back.entries[i].state, r.entries[i].state);
    }
    /* The largest receipt fits the smallest frame a node may use. */
    assert_true(sb.size <= 46083);
    expect_body(0, HLS_ENV_RECEIPT, &sb, "a receipt");
    /* Signed, stubbed and whole again. */
    struct key key;
    key_make(&key, 0x50);
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    uint8_t prev[HLS_HASH_BYTES] = {7};
    assert_int_equal(hls_env_build(&env, HLS_ENV_RECEIPT, key.sk, 9, prev, TS0, HLS_AUD_NETWORK, sb_bytes(&sb),
                                   sb.size), 0);
    struct hls_envelope e;
    decode_ok(&e, sb_bytes(&env), env.size);
    assert_int_equal(e.h.type, HLS_ENV_RECEIPT);
    assert_int_equal(hls_env_verify(&e), 0);
    assert_true(env.size <= 64u * 1024u);
    msgpack_sbuffer_destroy(&env);
    /* Peers only: refused. */
    msgpack_sbuffer_init(&env);
    assert_int_equal(hls_env_build(&env, HLS_ENV_RECEIPT, key.sk, 9, prev, TS0, HLS_AUD_PEERS, sb_bytes(&sb), sb.size),
                     HLS_EINVAL);
    assert_int_equal(env.size, 0);
    msgpack_sbuffer_destroy(&env);
    hls_receipt_free(&back);
    hls_receipt_free(&r);
    hls_receipt_free(&r); /* twice: a no-op */
    msgpack_sbuffer_destroy(&sb);
  }
  hls_receipt_free(NULL);
}

static void test_receipt_malformed(void **state) {
  (void)state;
  struct hls_receipt r;
  receipt_make(&r, 4, 2); /* two origins, seqs 1 and 2 each */
  expect_receipt_raw(0, &r, "four entries");
  /* unsorted: seqs of one origin, then the origins */
  struct hls_receipt_entry t = r.entries[0];
  r.entries[0] = r.entries[1];
  r.entries[1] = t;
  expect_receipt_raw(HLS_ENONCANON, &r, "seqs out of order");
  r.entries[1] = r.entries[0];
  r.entries[0] = t;
  t = r.entries[0];
  r.entries[0] = r.entries[2];
  r.entries[2] = t;
  expect_receipt_raw(HLS_ENONCANON, &r, "origins out of order");
  r.entries[2] = r.entries[0];
  r.entries[0] = t;
  /* repeated */
  r.entries[1] = r.entries[0];
  expect_receipt_raw(HLS_ENONCANON, &r, "an entry twice");
  r.entries[1].state = 1 - r.entries[0].state;
  expect_receipt_raw(HLS_ENONCANON, &r, "an item twice with two states");
  hls_receipt_free(&r);
  receipt_make(&r, 4, 2);
  /* bad state, seq 0, seq too large */
  r.entries[3].state = 2;
  expect_receipt_raw(HLS_EMALFORMED, &r, "state 2");
  r.entries[3].state = 0;
  r.entries[0].target_seq = 0;
  expect_receipt_raw(HLS_EMALFORMED, &r, "target 0");
  r.entries[0].target_seq = (uint64_t)INT64_MAX + 1;
  r.entries[1].target_seq = UINT64_MAX;
  expect_receipt_raw(HLS_EMALFORMED, &r, "target 2^63");
  hls_receipt_free(&r);
  /* empty, too many */
  receipt_make(&r, 0, 1);
  expect_receipt_raw(HLS_EMALFORMED, &r, "no entries");
  hls_receipt_free(&r);
  receipt_make(&r, HLS_RECEIPT_MAX_ENTRIES + 1, 1000);
  expect_receipt_raw(HLS_ETOOBIG, &r, "1025 entries");
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  assert_int_equal(hls_receipt_pack(&out, &r), HLS_EINVAL);
  assert_int_equal(out.size, 0);
  r.n_entries = 0;
  assert_int_equal(hls_receipt_pack(&out, &r), HLS_EINVAL);
  r.n_entries = 2;
  r.entries[1] = r.entries[0];
  assert_int_equal(hls_receipt_pack(&out, &r), HLS_EINVAL); /* repeated: the packer refuses what peers refuse */
  r.entries[1].target_seq = 2;
  r.entries[1].state = 5;
  assert_int_equal(hls_receipt_pack(&out, &r), HLS_EINVAL);
  assert_int_equal(out.size, 0);
  msgpack_sbuffer_destroy(&out);
  hls_receipt_free(&r);
  /* wrong lengths and types */
  uint8_t origin[HLS_KEY_BYTES + 1] = {1}; /* one byte more: the 33-byte case */
  expect_body_fmt(0, HLS_ENV_RECEIPT, "one entry", "A A b u u", 1, 3, origin, (size_t)32, 1ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "origin of 31 bytes", "A A b u u", 1, 3, origin, (size_t)31, 1ull,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "origin of 33 bytes", "A A b u u", 1, 3, origin, (size_t)33, 1ull,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "origin as a string", "A A S u u", 1, 3, (const char *)origin,
                  (size_t)32, 1ull, 0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "entry of 2", "A A b u", 1, 2, origin, (size_t)32, 1ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "entry of 4", "A A b u u u", 1, 4, origin, (size_t)32, 1ull, 0ull,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "negative target", "A A b i u", 1, 3, origin, (size_t)32, -1ll,
                  0ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "state nil", "A A b u n", 1, 3, origin, (size_t)32, 1ull);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "receipt as a map", "M", 0);
  expect_body_fmt(HLS_EMALFORMED, HLS_ENV_RECEIPT, "entries as a number", "u", 1ull);
  /* non-canonical and trailing bytes */
  static const uint8_t wide_seq[] = {0x91, 0x93, 0xc4, 0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcc, 0x03, 0x00};
  struct hls_why why = {{0}};
  assert_int_equal(hls_env_body_check(HLS_ENV_RECEIPT, wide_seq, sizeof wide_seq, &why), HLS_ENONCANON);
  uint8_t ok[sizeof wide_seq];
  memcpy(ok, wide_seq, sizeof ok);
  ok[36] = 0x03; /* seq 3 in one byte, then state 0, then one byte too many */
  ok[37] = 0x00;
  ok[38] = 0x00;
  assert_int_equal(hls_env_body_check(HLS_ENV_RECEIPT, ok, sizeof ok - 1, &why), 0);
  assert_int_equal(hls_env_body_check(HLS_ENV_RECEIPT, ok, sizeof ok, &why), HLS_ETRAILING);
  for (size_t cut = 0; cut < sizeof ok - 1; cut++) {
    int rc = hls_env_body_check(HLS_ENV_RECEIPT, ok, cut, &why);
    assert_true(rc == HLS_ETRUNCATED || rc == HLS_EMALFORMED);
  }
}

/* --- packers ---------------------------------------------------------------------- */

static void test_packers_refuse(void **state) {
  (void)state;
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
#define REFUSED(call)                           \
  do {                                          \
    assert_int_equal((call), HLS_EINVAL);       \
    assert_int_equal(out.size, 0);              \
  } while (0)

  struct hls_profile p;
  sample_profile(&p);
  p.role = 2;
  REFUSED(hls_profile_pack(&out, &p));
  p.role = -1;
  REFUSED(hls_profile_pack(&out, &p));
  sample_profile(&p);
  p.n_addresses = HLS_PROFILE_MAX_ADDRESSES + 1;
  REFUSED(hls_profile_pack(&out, &p));
  sample_profile(&p);
  p.place[0] = '\0';
  REFUSED(hls_profile_pack(&out, &p));
  sample_profile(&p);
  strcpy(p.region, "two\nlines");
  REFUSED(hls_profile_pack(&out, &p));
  sample_profile(&p);
  strcpy(p.addresses[1], "not an address");
  REFUSED(hls_profile_pack(&out, &p));

  struct hls_digest d;
  struct hls_digest_cell cells[5];
  sample_digest(&d, cells);
  d.iso_week = 0;
  REFUSED(hls_digest_pack(&out, &d));
  d.iso_week = 54;
  REFUSED(hls_digest_pack(&out, &d));
  d.iso_year = 2021;
  d.iso_week = 53; /* 2021 has 52 weeks */
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  d.iso_year = HLS_DATE_MIN_YEAR - 1;
  REFUSED(hls_digest_pack(&out, &d));
  d.iso_year = HLS_DATE_MAX_YEAR + 1;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  d.method.rounding = 0;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  d.method.kind = HLS_SDC_KEYED + 1;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  d.method.threshold = HLS_DIGEST_MAX_COUNT + 1;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  d.n_cells = HLS_DIGEST_MAX_CELLS + 1; /* refused before cells[] is looked at */
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[2].kind = HLS_KIND_COUNT;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[2].kind = -1;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[0].scale = HLS_SCALE_COUNT;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[4].stage = HLS_STAGE_COUNT;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[0].count = HLS_DIGEST_MAX_COUNT + 1;
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[3] = cells[0]; /* a repeated cell */
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  strcpy(cells[1].theme, "Community Cafe");
  REFUSED(hls_digest_pack(&out, &d));
  sample_digest(&d, cells);
  cells[1].theme[0] = '\0';
  REFUSED(hls_digest_pack(&out, &d));

  char tried[] = STORY_TRIED, learnt[] = STORY_LEARNT, bad[] = "caf\xe9";
  struct hls_story s;
  sample_story(&s, tried, learnt);
  s.scale = HLS_SCALE_COUNT;
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.stage = -1;
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.title[0] = '\0';
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.n_themes = HLS_THEMES_PER_RECORD + 1;
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.iso_week = 54;
  REFUSED(hls_story_pack(&out, &s));
  s.iso_year = 2021;
  s.iso_week = 53;
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.iso_year = -1;
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, bad);
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  strcpy(s.themes[1].slug, "Community Cafe");
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  strcpy(s.themes[1].slug, s.themes[0].slug);
  REFUSED(hls_story_pack(&out, &s));
  sample_story(&s, tried, learnt);
  s.themes[0].kind = HLS_KIND_COUNT;
  REFUSED(hls_story_pack(&out, &s));

  struct hls_tombstone t = {.target_seq = 0, .reason = 0};
  REFUSED(hls_tombstone_pack(&out, &t));
  t.target_seq = (uint64_t)INT64_MAX + 1;
  REFUSED(hls_tombstone_pack(&out, &t));
  t.target_seq = 1;
  t.reason = HLS_TOMB_RECORD_DELETED + 1;
  REFUSED(hls_tombstone_pack(&out, &t));
  t.reason = -1;
  REFUSED(hls_tombstone_pack(&out, &t));
#undef REFUSED
  msgpack_sbuffer_destroy(&out);
}

/* The digest packer sorts cells into canonical order, whatever order they
 * come in: the same bytes as from sorted input. */
/* hls-sdc-2 travels by name and comes back as the keyed kind. */
static void test_digest_keyed_round_trip(void **state) {
  (void)state;
  struct hls_digest d, back;
  struct hls_digest_cell cells[5];
  sample_digest(&d, cells);
  d.method.kind = HLS_SDC_KEYED;
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  assert_int_equal(hls_digest_pack(&out, &d), 0);
  const char *name = HLS_DIGEST_METHOD_KEYED;
  bool found = false;
  for (size_t i = 0; i + strlen(name) <= out.size && !found; i++) found = memcmp(out.data + i, name, strlen(name)) == 0;
  assert_true(found);
  struct hls_why why = {{0}};
  assert_int_equal(hls_digest_decode(&back, sb_bytes(&out), out.size, &why), 0);
  assert_int_equal(back.method.kind, HLS_SDC_KEYED);
  assert_int_equal(back.method.threshold, d.method.threshold);
  assert_int_equal(back.method.rounding, d.method.rounding);
  hls_digest_free(&back);
  msgpack_sbuffer_destroy(&out);
}

/* hls_digest_week reads the week of a digest's head alone: the week the
 * whole decode gives; a week that does not exist is refused; a body
 * whose cells are damaged still gives its week (the whole decode refuses
 * it); a body cut inside its head gives none. */
static void test_digest_week_alone(void **state) {
  (void)state;
  struct hls_digest d;
  struct hls_digest_cell cells[5];
  sample_digest(&d, cells);
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  assert_int_equal(hls_digest_pack(&out, &d), 0);
  struct hls_why why = {{0}};
  int y = 0, w = 0;
  assert_int_equal(hls_digest_week(sb_bytes(&out), out.size, &y, &w, &why), 0);
  assert_int_equal(y, d.iso_year);
  assert_int_equal(w, d.iso_week);
  struct hls_digest back;
  assert_int_equal(hls_digest_decode(&back, sb_bytes(&out), out.size, &why), 0);
  hls_digest_free(&back);
  /* the last byte gone: the cells are damaged, the head is whole */
  assert_int_not_equal(hls_digest_decode(&back, sb_bytes(&out), out.size - 1, &why), 0);
  assert_int_equal(hls_digest_week(sb_bytes(&out), out.size - 1, &y, &w, &why), 0);
  assert_int_equal(w, d.iso_week);
  /* cut inside the head (array, year, week: a few bytes): truncated */
  assert_int_equal(hls_digest_week(sb_bytes(&out), 2, &y, &w, &why), HLS_ETRUNCATED);
  assert_int_equal(hls_digest_week(sb_bytes(&out), 0, &y, &w, &why), HLS_ETRUNCATED);
  msgpack_sbuffer_destroy(&out);
  /* 2021 has 52 weeks */
  d.iso_year = 2021;
  d.iso_week = 53;
  msgpack_sbuffer_init(&out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint64(&pk, 2021);
  msgpack_pack_uint64(&pk, 53);
  assert_int_equal(hls_digest_week(sb_bytes(&out), out.size, &y, &w, &why), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "2021-W53"));
  msgpack_sbuffer_destroy(&out);
}

static void test_digest_pack_sorts(void **state) {
  (void)state;
  struct hls_digest d;
  struct hls_digest_cell cells[5], reversed[5];
  sample_digest(&d, cells);
  msgpack_sbuffer first, second;
  msgpack_sbuffer_init(&first);
  msgpack_sbuffer_init(&second);
  assert_int_equal(hls_digest_pack(&first, &d), 0);
  for (size_t i = 1; i < d.n_cells; i++) {
    int c = strcmp(cells[i - 1].theme, cells[i].theme);
    assert_true(c < 0 || (c == 0 && (cells[i - 1].kind < cells[i].kind ||
                                     (cells[i - 1].kind == cells[i].kind &&
                                      (cells[i - 1].scale < cells[i].scale ||
                                       (cells[i - 1].scale == cells[i].scale && cells[i - 1].stage < cells[i].stage))))));
  }
  for (size_t i = 0; i < 5; i++) reversed[i] = cells[4 - i];
  d.cells = reversed;
  assert_int_equal(hls_digest_pack(&second, &d), 0);
  assert_int_equal(first.size, second.size);
  assert_memory_equal(first.data, second.data, first.size);
  struct hls_why why = {{0}};
  struct hls_digest back;
  assert_int_equal(hls_digest_decode(&back, sb_bytes(&second), second.size, &why), 0);
  assert_int_equal(back.n_cells, 5);
  for (size_t i = 0; i < 5; i++) assert_string_equal(back.cells[i].theme, cells[i].theme);
  hls_digest_free(&back);
  msgpack_sbuffer_destroy(&first);
  msgpack_sbuffer_destroy(&second);
}

/* --- known-answer vectors ------------------------------------------------------------ */

static const char *jstr(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) fail_msg("vectors: %s is not a string", key);
  return json_string_value(v);
}

static long long jint(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v)) fail_msg("vectors: %s is not an integer", key);
  return json_integer_value(v);
}

static const json_t *jget(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (v == NULL) fail_msg("vectors: no %s", key);
  return v;
}

/* Decode a hex member into a fresh buffer. */
static uint8_t *jhex(const json_t *obj, const char *key, size_t *len) {
  const char *text = jstr(obj, key);
  size_t cap = strlen(text) / 2 + 1, n = 0;
  uint8_t *out = malloc(cap);
  assert_non_null(out);
  if (sodium_hex2bin(out, cap, text, strlen(text), NULL, &n, NULL) != 0 || n * 2 != strlen(text))
    fail_msg("vectors: %s is not hex", key);
  *len = n;
  return out;
}

static void expect_hex(const json_t *v, const char *key, const void *bytes, size_t len) {
  size_t want_len;
  uint8_t *want = jhex(v, key, &want_len);
  if (want_len != len || memcmp(want, bytes, len) != 0) {
    char *got = malloc(2 * len + 1);
    assert_non_null(got);
    sodium_bin2hex(got, 2 * len + 1, bytes, len);
    fprintf(stderr, "vector %s, %s:\n  want %s\n  got  %s\n", jstr(v, "name"), key, jstr(v, key), got);
    free(got);
    free(want);
    fail_msg("vector %s: %s differs", jstr(v, "name"), key);
  }
  free(want);
}

static void vector_profile(const json_t *f, msgpack_sbuffer *body) {
  struct hls_profile p = {0};
  snprintf(p.place, sizeof p.place, "%s", jstr(f, "place"));
  snprintf(p.region, sizeof p.region, "%s", jstr(f, "region"));
  p.role = (int)jint(f, "role");
  const json_t *addrs = jget(f, "addresses");
  p.n_addresses = json_array_size(addrs);
  assert_true(p.n_addresses <= HLS_PROFILE_MAX_ADDRESSES);
  for (size_t i = 0; i < p.n_addresses; i++)
    snprintf(p.addresses[i], sizeof p.addresses[i], "%s", json_string_value(json_array_get(addrs, i)));
  assert_int_equal(hls_profile_pack(body, &p), 0);
  /* And back. */
  struct hls_profile back;
  struct hls_why why = {{0}};
  assert_int_equal(hls_profile_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_memory_equal(&back, &p, sizeof p);
}

static void vector_digest(const json_t *f, msgpack_sbuffer *body) {
  const json_t *method = jget(f, "method"), *jcells = jget(f, "cells");
  assert_string_equal(jstr(method, "name"), HLS_DIGEST_METHOD_NEAREST);
  size_t n = json_array_size(jcells);
  struct hls_digest_cell *cells = calloc(n > 0 ? n : 1, sizeof *cells);
  assert_non_null(cells);
  struct hls_digest d = {.iso_year = (int)jint(f, "iso_year"),
                         .iso_week = (int)jint(f, "iso_week"),
                         .method = {(uint32_t)jint(method, "threshold"), (uint32_t)jint(method, "rounding"), HLS_SDC_NEAREST},
                         .n_cells = n,
                         .cells = cells};
  /* Given in canonical order; packed from the reverse order. */
  for (size_t i = 0; i < n; i++) {
    const json_t *jc = json_array_get(jcells, i);
    struct hls_digest_cell *c = &cells[n - 1 - i];
    snprintf(c->theme, sizeof c->theme, "%s", jstr(jc, "theme"));
    c->kind = (int)jint(jc, "kind");
    c->scale = (int)jint(jc, "scale");
    c->stage = (int)jint(jc, "stage");
    c->withheld = json_is_null(jget(jc, "count"));
    c->count = c->withheld ? 0 : (uint32_t)jint(jc, "count");
    /* The published count is disclosure control applied to the raw one. */
    bool withheld;
    uint32_t published;
    hls_disclose(&d.method, c->scale, (uint32_t)jint(jc, "raw"), 0, &withheld, &published);
    assert_int_equal(withheld, c->withheld);
    assert_int_equal(published, c->count);
  }
  assert_int_equal(hls_digest_pack(body, &d), 0);
  struct hls_digest back;
  struct hls_why why = {{0}};
  assert_int_equal(hls_digest_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_int_equal(back.iso_year, d.iso_year);
  assert_int_equal(back.iso_week, d.iso_week);
  assert_int_equal(back.method.threshold, d.method.threshold);
  assert_int_equal(back.method.rounding, d.method.rounding);
  assert_int_equal(back.n_cells, n);
  for (size_t i = 0; i < n; i++) {
    const json_t *jc = json_array_get(jcells, i);
    const struct hls_digest_cell *c = &back.cells[i];
    assert_string_equal(c->theme, jstr(jc, "theme"));
    assert_int_equal(c->kind, jint(jc, "kind"));
    assert_int_equal(c->scale, jint(jc, "scale"));
    assert_int_equal(c->stage, jint(jc, "stage"));
    assert_int_equal(c->withheld, json_is_null(jget(jc, "count")));
    if (!c->withheld) assert_int_equal(c->count, jint(jc, "count"));
  }
  hls_digest_free(&back);
  free(cells);
}

static char *jopt_dup(const json_t *f, const char *key) {
  const json_t *v = jget(f, key);
  if (json_is_null(v)) return NULL;
  char *s = strdup(jstr(f, key));
  assert_non_null(s);
  return s;
}

static void expect_opt_str(const char *got, const json_t *f, const char *key) {
  if (json_is_null(jget(f, key))) assert_null(got);
  else assert_string_equal(got, jstr(f, key));
}

static void vector_story(const json_t *f, msgpack_sbuffer *body) {
  struct hls_story s = {.iso_year = (int)jint(f, "iso_year"),
                        .iso_week = (int)jint(f, "iso_week"),
                        .tried = jopt_dup(f, "tried"),
                        .learnt = jopt_dup(f, "learnt"),
                        .scale = (int)jint(f, "scale"),
                        .stage = (int)jint(f, "stage")};
  snprintf(s.title, sizeof s.title, "%s", jstr(f, "title"));
  const json_t *themes = jget(f, "themes");
  s.n_themes = json_array_size(themes);
  assert_true(s.n_themes <= HLS_THEMES_PER_RECORD);
  for (size_t i = 0; i < s.n_themes; i++) {
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", jstr(json_array_get(themes, i), "slug"));
    s.themes[i].kind = (enum hls_kind)jint(json_array_get(themes, i), "kind");
  }
  assert_int_equal(hls_story_pack(body, &s), 0);
  struct hls_story back;
  struct hls_why why = {{0}};
  assert_int_equal(hls_story_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_int_equal(back.iso_year, s.iso_year);
  assert_int_equal(back.iso_week, s.iso_week);
  assert_string_equal(back.title, s.title);
  expect_opt_str(back.tried, f, "tried");
  expect_opt_str(back.learnt, f, "learnt");
  assert_int_equal(back.n_themes, s.n_themes);
  for (size_t i = 0; i < s.n_themes; i++) {
    assert_string_equal(back.themes[i].slug, s.themes[i].slug);
    assert_int_equal(back.themes[i].kind, s.themes[i].kind);
  }
  assert_int_equal(back.scale, s.scale);
  assert_int_equal(back.stage, s.stage);
  hls_story_free(&back);
  hls_story_free(&s);
}

static void vector_tombstone(const json_t *f, msgpack_sbuffer *body) {
  struct hls_tombstone t = {.target_seq = (uint64_t)jint(f, "target_seq"), .reason = (int)jint(f, "reason")};
  assert_int_equal(hls_tombstone_pack(body, &t), 0);
  struct hls_tombstone back;
  struct hls_why why = {{0}};
  assert_int_equal(hls_tombstone_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_int_equal(back.target_seq, t.target_seq);
  assert_int_equal(back.reason, t.reason);
}

/* The fork body from the vector's two stubs (either order in: the one
 * canonical body out), each X's (the key of origin_seed), with its item id. */
static void vector_fork(const json_t *fields, msgpack_sbuffer *body) {
  size_t seed_len, origin_len;
  uint8_t *seed = jhex(fields, "origin_seed", &seed_len), *origin = jhex(fields, "origin", &origin_len);
  uint8_t pk[HLS_KEY_BYTES], sk[64];
  assert_int_equal(seed_len, 32);
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
  assert_int_equal(origin_len, HLS_KEY_BYTES);
  assert_memory_equal(pk, origin, HLS_KEY_BYTES);
  const json_t *stubs = jget(fields, "stubs");
  assert_int_equal(json_array_size(stubs), 2);
  uint8_t *b[2];
  size_t len[2];
  for (size_t i = 0; i < 2; i++) {
    const json_t *st = json_array_get(stubs, i);
    b[i] = jhex(st, "stub", &len[i]);
    struct hls_envelope e;
    decode_ok(&e, b[i], len[i]);
    assert_null(e.body);
    assert_int_equal(hls_env_verify(&e), 0);
    assert_memory_equal(e.h.origin, pk, HLS_KEY_BYTES);
    assert_int_equal(e.h.seq, (uint64_t)jint(fields, "seq"));
    expect_hex(st, "item_id", e.id, HLS_HASH_BYTES);
  }
  assert_int_equal(hls_fork_pack(body, b[1], len[1], b[0], len[0]), 0);
  struct hls_fork f;
  assert_int_equal(hls_fork_decode(&f, sb_bytes(body), body->size, NULL), 0);
  assert_memory_equal(f.origin, pk, HLS_KEY_BYTES);
  assert_int_equal(f.a_len, len[0]);
  assert_memory_equal(f.a, b[0], len[0]);
  free(b[0]);
  free(b[1]);
  free(seed);
  free(origin);
  sodium_memzero(sk, sizeof sk);
}

static void vector_vouch(const json_t *f, msgpack_sbuffer *body) {
  struct hls_vouch v, back;
  memset(&v, 0, sizeof v);
  size_t len;
  uint8_t *subject = jhex(f, "subject", &len);
  assert_int_equal(len, HLS_KEY_BYTES);
  memcpy(v.subject, subject, HLS_KEY_BYTES);
  free(subject);
  v.withdrawn = json_is_true(jget(f, "withdrawn"));
  if (!v.withdrawn) {
    snprintf(v.place, sizeof v.place, "%s", jstr(f, "place"));
    snprintf(v.region, sizeof v.region, "%s", jstr(f, "region"));
    v.role = (int)jint(f, "role");
    assert_string_equal(jstr(f, "role_name"), v.role == HLS_PROFILE_PARTNER ? "partner" : "place");
  }
  assert_int_equal(hls_vouch_pack(body, &v), 0);
  struct hls_why why = {{0}};
  assert_int_equal(hls_vouch_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_memory_equal(&back, &v, sizeof v);
}

/* The rekey's fields: the body re-packed from them, and key_hash from the
 * key (hls_rekey_key_hash: BLAKE2b-256 keyed with key_hash_key). */
static void vector_rekey(const json_t *f, msgpack_sbuffer *body) {
  struct hls_rekey r;
  memset(&r, 0, sizeof r);
  r.epoch = (uint64_t)jint(f, "epoch");
  size_t len;
  uint8_t *key = jhex(f, "key", &len);
  assert_int_equal(len, 32);
  uint8_t *hash = jhex(f, "key_hash", &len);
  assert_int_equal(len, HLS_HASH_BYTES);
  hls_rekey_key_hash(key, r.key_hash);
  assert_memory_equal(r.key_hash, hash, HLS_HASH_BYTES);
  assert_string_equal(jstr(f, "key_hash_key"), "hlsd rekey key v1");
  free(key);
  free(hash);
  const json_t *ex = jget(f, "expelled");
  assert_true(json_is_array(ex) && json_array_size(ex) <= HLS_REKEY_MAX_EXPELLED);
  for (size_t i = 0; i < json_array_size(ex); i++) {
    size_t n = 0;
    uint8_t *id = NULL;
    const char *text = json_string_value(json_array_get(ex, i));
    assert_non_null(text);
    n = strlen(text) / 2;
    id = malloc(n);
    assert_non_null(id);
    assert_int_equal(sodium_hex2bin(id, n, text, strlen(text), NULL, &len, NULL), 0);
    assert_int_equal(len, HLS_KEY_BYTES);
    memcpy(r.expelled[r.n_expelled++], id, HLS_KEY_BYTES);
    free(id);
  }
  r.overlap_until_ms = (uint64_t)jint(f, "overlap_until_ms");
  assert_int_equal(hls_rekey_pack(body, &r), 0);
}

/* The successor's new key from its seed; new_sig re-made and checked
 * against the chain's key (the vector's origin: seed 01 02 .. 20). */
static void vector_successor(const json_t *f, msgpack_sbuffer *body) {
  size_t len;
  uint8_t *seed = jhex(f, "new_seed", &len), *new_id = jhex(f, "new_id", &len), *new_sig = jhex(f, "new_sig", &len);
  uint8_t pk[HLS_KEY_BYTES], sk[64], old_seed[32], old_pk[HLS_KEY_BYTES], old_sk[64];
  for (size_t i = 0; i < sizeof old_seed; i++) old_seed[i] = (uint8_t)(i + 1);
  assert_int_equal(crypto_sign_seed_keypair(old_pk, old_sk, old_seed), 0);
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
  assert_memory_equal(pk, new_id, HLS_KEY_BYTES);
  assert_string_equal(jstr(f, "signed_tag"), HLS_SUCCESSOR_TAG);
  struct hls_successor su, back;
  hls_successor_sign(&su, old_pk, sk);
  assert_memory_equal(su.new_sig, new_sig, HLS_SIG_BYTES); /* Ed25519 is deterministic */
  assert_int_equal(hls_successor_verify(&su, old_pk, NULL), 0);
  assert_int_equal(hls_successor_pack(body, &su), 0);
  assert_int_equal(hls_successor_decode(&back, sb_bytes(body), body->size, NULL), 0);
  assert_memory_equal(&back, &su, sizeof su);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(old_sk, sizeof old_sk);
  free(seed);
  free(new_id);
  free(new_sig);
}

static void vector_receipt(const json_t *f, msgpack_sbuffer *body) {
  const json_t *jentries = jget(f, "entries");
  size_t n = json_array_size(jentries);
  assert_true(n >= 1 && n <= 8);
  struct hls_receipt_entry entries[8];
  memset(entries, 0, sizeof entries);
  for (size_t i = 0; i < n; i++) {
    const json_t *je = json_array_get(jentries, i);
    size_t len;
    uint8_t *origin = jhex(je, "origin", &len);
    assert_int_equal(len, HLS_KEY_BYTES);
    memcpy(entries[i].origin, origin, HLS_KEY_BYTES);
    free(origin);
    entries[i].target_seq = (uint64_t)jint(je, "target_seq");
    entries[i].state = (int)jint(je, "state");
    assert_string_equal(jstr(je, "state_name"), hls_receipt_state_name(entries[i].state));
  }
  struct hls_receipt r = {.n_entries = n, .entries = entries}, back;
  assert_int_equal(hls_receipt_pack(body, &r), 0);
  struct hls_why why = {{0}};
  assert_int_equal(hls_receipt_decode(&back, sb_bytes(body), body->size, &why), 0);
  assert_int_equal(back.n_entries, n);
  for (size_t i = 0; i < n; i++) assert_int_equal(hls_receipt_entry_cmp(&back.entries[i], &entries[i]), 0);
  for (size_t i = 0; i < n; i++) assert_int_equal(back.entries[i].state, entries[i].state);
  hls_receipt_free(&back);
}

/* Rebuild every vector of the file at path: n_expected items from seq
 * first_seq, the first linking to first_prev (NULL: seq 1). *types_seen
 * gets a bit per type; last_id the last item's id. */
static void check_vector_file(const char *path, size_t n_expected, uint64_t first_seq, const uint8_t *first_prev,
                              int *types_seen, uint8_t last_id[HLS_HASH_BYTES]) {
  json_error_t err;
  json_t *doc = json_load_file(path, 0, &err);
  if (doc == NULL) fail_msg("%s:%d: %s", path, err.line, err.text);
  assert_int_equal(jint(doc, "version"), HLS_ENV_VERSION);
  assert_string_equal(jstr(doc, "signature_tag"), HLS_ENV_SIG_TAG);
  size_t seed_len;
  uint8_t *seed = jhex(doc, "seed", &seed_len);
  assert_int_equal(seed_len, crypto_sign_SEEDBYTES);
  struct key k;
  assert_int_equal(crypto_sign_seed_keypair(k.pk, k.sk, seed), 0);
  free(seed);
  size_t pk_len;
  uint8_t *pk = jhex(doc, "public_key", &pk_len);
  assert_int_equal(pk_len, HLS_KEY_BYTES);
  assert_memory_equal(pk, k.pk, HLS_KEY_BYTES);
  free(pk);

  const json_t *vectors = jget(doc, "vectors");
  size_t n = json_array_size(vectors);
  assert_int_equal(n, n_expected);
  msgpack_sbuffer prev_bytes;
  struct hls_envelope prev_env;
  msgpack_sbuffer_init(&prev_bytes);
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(vectors, i), *in = jget(v, "input"), *fields = jget(in, "body");
    int type = (int)jint(in, "type");
    uint64_t seq = (uint64_t)jint(in, "seq");
    assert_string_equal(jstr(in, "type_name"), hls_env_type_name(type));
    assert_string_equal(jstr(v, "name"), hls_env_type_name(type));
    assert_int_equal(seq, first_seq + i);
    *types_seen |= 1 << type;
    msgpack_sbuffer body, out, stub;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    msgpack_sbuffer_init(&stub);
    switch (type) {
      case HLS_ENV_PROFILE: vector_profile(fields, &body); break;
      case HLS_ENV_DIGEST: vector_digest(fields, &body); break;
      case HLS_ENV_STORY: vector_story(fields, &body); break;
      case HLS_ENV_TOMBSTONE: vector_tombstone(fields, &body); break;
      case HLS_ENV_RECEIPT: vector_receipt(fields, &body); break;
      case HLS_ENV_FORK: vector_fork(fields, &body); break;
      case HLS_ENV_VOUCH: vector_vouch(fields, &body); break;
      case HLS_ENV_REKEY: vector_rekey(fields, &body); break;
      case HLS_ENV_SUCCESSOR: vector_successor(fields, &body); break;
      default: fail_msg("vector %zu: type %d", i, type);
    }
    expect_hex(v, "body", body.data, body.size);
    uint8_t hash[HLS_HASH_BYTES];
    hls_env_hash(sb_bytes(&body), body.size, hash);
    expect_hex(v, "body_hash", hash, sizeof hash);

    uint8_t *prev = NULL;
    if (!json_is_null(jget(in, "prev"))) {
      size_t prev_len;
      prev = jhex(in, "prev", &prev_len);
      assert_int_equal(prev_len, HLS_HASH_BYTES);
      if (i == 0) {
        assert_non_null(first_prev);
        assert_memory_equal(prev, first_prev, HLS_HASH_BYTES); /* links to the file before */
      } else {
        assert_memory_equal(prev, prev_env.id, HLS_HASH_BYTES); /* the chain links */
      }
    } else {
      assert_int_equal(seq, 1);
      assert_null(first_prev);
    }
    int rc = hls_env_build(&out, type, k.sk, seq, prev, (uint64_t)jint(in, "timestamp_ms"), (int)jint(in, "audience"),
                           sb_bytes(&body), body.size);
    free(prev);
    assert_int_equal(rc, 0);
    expect_hex(v, "envelope", out.data, out.size);

    struct hls_envelope env;
    decode_ok(&env, sb_bytes(&out), out.size);
    assert_int_equal(hls_env_verify(&env), 0);
    expect_hex(v, "header", env.header_bytes, env.header_len);
    expect_hex(v, "signature", env.sig, HLS_SIG_BYTES);
    expect_hex(v, "item_id", env.id, HLS_HASH_BYTES);
    expect_hex(v, "body_hash", env.h.body_hash, HLS_HASH_BYTES);
    assert_int_equal(env.h.type, type);
    assert_int_equal(env.h.seq, seq);
    assert_int_equal(env.h.timestamp_ms, (uint64_t)jint(in, "timestamp_ms"));
    assert_int_equal(env.h.audience, jint(in, "audience"));
    assert_string_equal(jstr(in, "audience_name"), hls_env_audience_name(env.h.audience));
    assert_memory_equal(env.h.origin, k.pk, HLS_KEY_BYTES);
    assert_int_equal(hls_env_encode_stub(&stub, &env), 0);
    expect_hex(v, "stub", stub.data, stub.size);
    struct hls_envelope stub_env;
    decode_ok(&stub_env, sb_bytes(&stub), stub.size);
    assert_null(stub_env.body);
    assert_memory_equal(stub_env.id, env.id, HLS_HASH_BYTES);
    assert_int_equal(hls_env_verify(&stub_env), 0);
    if (i > 0) assert_int_equal(hls_env_check_link(&prev_env, &env), 0);

    msgpack_sbuffer_destroy(&prev_bytes);
    prev_bytes = out; /* prev_env borrows it */
    decode_ok(&prev_env, sb_bytes(&prev_bytes), prev_bytes.size);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&stub);
  }
  if (n > 0) memcpy(last_id, prev_env.id, HLS_HASH_BYTES);
  msgpack_sbuffer_destroy(&prev_bytes);
  json_decref(doc);
}

/* docs/test-vectors/sdc.json (beside envelopes.json): the disclosure key
 * from the seed, each cell's offset and published count, and the digest
 * body, rebuilt with hlsd's code. */
static void test_sdc_vectors(void **state) {
  const char *path = *state;
  json_error_t err;
  json_t *doc = json_load_file(path, 0, &err);
  if (doc == NULL) fail_msg("%s: %s", path, err.text);
  size_t seed_len, key_len;
  uint8_t *seed = jhex(doc, "seed", &seed_len), *want_key = jhex(doc, "key", &key_len);
  assert_int_equal(seed_len, 32);
  uint8_t key[HLS_DISCLOSURE_KEY_BYTES];
  hls_disclosure_key(seed, key);
  assert_int_equal(key_len, sizeof key);
  assert_memory_equal(key, want_key, sizeof key);
  const json_t *method = jget(doc, "method"), *jcells = jget(doc, "cells");
  assert_string_equal(jstr(method, "name"), HLS_DIGEST_METHOD_KEYED);
  struct hls_digest d = {.iso_year = (int)jint(doc, "iso_year"),
                         .iso_week = (int)jint(doc, "iso_week"),
                         .method = {(uint32_t)jint(method, "threshold"), (uint32_t)jint(method, "rounding"),
                                    HLS_SDC_KEYED},
                         .n_cells = json_array_size(jcells)};
  assert_true(d.n_cells > 0 && d.n_cells <= 64);
  struct hls_digest_cell cells[64];
  memset(cells, 0, sizeof cells);
  d.cells = cells;
  size_t person = 0, withheld = 0;
  for (size_t i = 0; i < d.n_cells; i++) {
    const json_t *jc = json_array_get(jcells, i);
    struct hls_digest_cell *c = &cells[i];
    snprintf(c->theme, sizeof c->theme, "%s", jstr(jc, "theme"));
    c->kind = (int)jint(jc, "kind");
    c->scale = (int)jint(jc, "scale");
    c->stage = (int)jint(jc, "stage");
    uint32_t offset = 0;
    if (c->scale == HLS_SCALE_PERSON) {
      offset = hls_disclosure_offset(key, d.iso_year, d.iso_week, c->theme, c->kind, c->scale, c->stage,
                                     d.method.rounding);
      assert_int_equal(offset, jint(jc, "offset"));
      person++;
    } else {
      assert_true(json_is_null(jget(jc, "offset")));
    }
    hls_disclose(&d.method, c->scale, (uint32_t)jint(jc, "raw"), offset, &c->withheld, &c->count);
    const json_t *count = jget(jc, "count");
    if (c->withheld) {
      assert_true(json_is_null(count));
      withheld++;
    } else {
      assert_int_equal(c->count, jint(jc, "count"));
    }
  }
  assert_true(person > 0 && withheld > 0 && withheld < person); /* the vector shows both */
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_digest_pack(&body, &d), 0);
  size_t want_len;
  uint8_t *want_body = jhex(doc, "body", &want_len);
  assert_int_equal(body.size, want_len);
  assert_memory_equal(body.data, want_body, want_len);
  struct hls_digest back;
  struct hls_why why = {{0}};
  assert_int_equal(hls_digest_decode(&back, want_body, want_len, &why), 0);
  assert_int_equal(back.method.kind, HLS_SDC_KEYED);
  assert_int_equal(back.n_cells, d.n_cells);
  hls_digest_free(&back);
  free(want_body);
  msgpack_sbuffer_destroy(&body);
  free(seed);
  free(want_key);
  json_decref(doc);
}

/* envelopes.json (profile, digest, story, tombstone), then receipt.json,
 * the same node's item 5, vouch.json, its items 6 and 7, fork.json, its
 * item 8, and successor.json, its item 9 (beside envelopes.json): one chain. */
static void test_vectors(void **state) {
  const char *path = *state;
  int types_seen = 0;
  uint8_t last_id[HLS_HASH_BYTES];
  check_vector_file(path, 4, 1, NULL, &types_seen, last_id);
  assert_int_equal(types_seen, 0x1e);
  char receipt_path[4096];
  const char *slash = strrchr(path, '/');
  snprintf(receipt_path, sizeof receipt_path, "%.*sreceipt.json", slash ? (int)(slash - path + 1) : 0, path);
  check_vector_file(receipt_path, 1, 5, last_id, &types_seen, last_id);
  assert_int_equal(types_seen, 0x3e);
  char vouch_path[4096], fork_path[4096];
  snprintf(vouch_path, sizeof vouch_path, "%.*svouch.json", slash ? (int)(slash - path + 1) : 0, path);
  check_vector_file(vouch_path, 2, 6, last_id, &types_seen, last_id);
  assert_int_equal(types_seen, 0x7e);
  snprintf(fork_path, sizeof fork_path, "%.*sfork.json", slash ? (int)(slash - path + 1) : 0, path);
  check_vector_file(fork_path, 1, 8, last_id, &types_seen, last_id);
  assert_int_equal(types_seen, 0xfe);
  char rekey_path[4096];
  snprintf(rekey_path, sizeof rekey_path, "%.*srekey.json", slash ? (int)(slash - path + 1) : 0, path);
  check_vector_file(rekey_path, 1, 9, last_id, &types_seen, last_id);
  assert_int_equal(types_seen, 0x1fe);
  char succ_path[4096];
  snprintf(succ_path, sizeof succ_path, "%.*ssuccessor.json", slash ? (int)(slash - path + 1) : 0, path);
  check_vector_file(succ_path, 1, 10, last_id, &types_seen, last_id);
  assert_int_equal(types_seen, 0x3fe);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  const char *vectors = argc > 1 ? argv[1] : HLS_ENVELOPE_VECTORS;
  static char sdc_path[4096];
  const char *slash = strrchr(vectors, '/');
  snprintf(sdc_path, sizeof sdc_path, "%.*ssdc.json", slash != NULL ? (int)(slash - vectors + 1) : 0, vectors);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_story_without_texts),
      cmocka_unit_test(test_check_link),
      cmocka_unit_test(test_build_refuses),
      cmocka_unit_test(test_stubs),
      cmocka_unit_test(test_tamper_story),
      cmocka_unit_test(test_tamper_digest),
      cmocka_unit_test(test_signature_by_another_key),
      cmocka_unit_test(test_noncanonical),
      cmocka_unit_test(test_trailing_bytes),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_size_limits),
      cmocka_unit_test(test_header_schema),
      cmocka_unit_test(test_body_schema),
      cmocka_unit_test(test_rekey_round_trip),
      cmocka_unit_test(test_rekey_malformed),
      cmocka_unit_test(test_vouch_round_trip),
      cmocka_unit_test(test_vouch_malformed),
      cmocka_unit_test(test_packers_refuse),
      cmocka_unit_test(test_digest_week_alone),
      cmocka_unit_test(test_digest_pack_sorts),
      cmocka_unit_test(test_digest_keyed_round_trip),
      cmocka_unit_test(test_receipt_round_trip),
      cmocka_unit_test(test_fork_round_trip),
      cmocka_unit_test(test_fork_next_seq),
      cmocka_unit_test(test_fork_refused),
      cmocka_unit_test(test_successor),
      cmocka_unit_test(test_fork_after_successor),
      cmocka_unit_test(test_receipt_malformed),
      cmocka_unit_test_prestate(test_vectors, (void *)(uintptr_t)vectors),
      cmocka_unit_test_prestate(test_sdc_vectors, sdc_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
