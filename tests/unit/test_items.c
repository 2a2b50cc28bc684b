/* Unit tests for protocol/items.c: splitting .items files, the
 * items.import request, runs, and the import order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "items.h"

#define TS0 1771232400000ull

struct chain {
  uint8_t pk[32], sk[64];
  size_t n;
  msgpack_sbuffer env[8];
  uint8_t id[8][32];
};

static void chain_init(struct chain *c, uint8_t seed_byte) {
  memset(c, 0, sizeof *c);
  uint8_t seed[crypto_sign_SEEDBYTES];
  memset(seed, seed_byte, sizeof seed);
  assert_int_equal(crypto_sign_seed_keypair(c->pk, c->sk, seed), 0);
}

/* Add a story (variant changes its title: a different item at that seq);
 * prev_index: the item it links to (seq - 2 normally). */
static void chain_add(struct chain *c, int variant, size_t prev_index) {
  assert_true(c->n < 8);
  uint64_t seq = c->n + 1;
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = 2026;
  s.iso_week = 8;
  snprintf(s.title, sizeof s.title, "Story %llu.%d", (unsigned long long)seq, variant);
  s.n_themes = 1;
  strcpy(s.themes[0].slug, "housing");
  s.themes[0].kind = HLS_KIND_PROBLEM;
  s.scale = HLS_SCALE_PLACE;
  s.stage = HLS_STAGE_REFLECT;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_story_pack(&body, &s), 0);
  msgpack_sbuffer_init(&c->env[c->n]);
  assert_int_equal(hls_env_build(&c->env[c->n], HLS_ENV_STORY, c->sk, seq, seq > 1 ? c->id[prev_index] : NULL,
                                 TS0 + seq, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size),
                   0);
  msgpack_sbuffer_destroy(&body);
  struct hls_envelope e;
  assert_int_equal(hls_env_decode(&e, (const uint8_t *)c->env[c->n].data, c->env[c->n].size, NULL), 0);
  memcpy(c->id[c->n], e.id, 32);
  c->n++;
}

static void chain_free(struct chain *c) {
  for (size_t i = 0; i < c->n; i++) msgpack_sbuffer_destroy(&c->env[i]);
}

static void chain_make(struct chain *c, uint8_t seed, size_t n) {
  chain_init(c, seed);
  for (size_t i = 0; i < n; i++) chain_add(c, 0, i > 0 ? i - 1 : 0);
}

/* --- hls_items_next --------------------------------------------------------- */

static void test_split(void **state) {
  (void)state;
  struct chain c;
  chain_make(&c, 1, 3);
  msgpack_sbuffer file;
  msgpack_sbuffer_init(&file);
  for (size_t i = 0; i < 3; i++) msgpack_sbuffer_write(&file, c.env[i].data, c.env[i].size);
  /* a stub too */
  struct hls_envelope e;
  assert_int_equal(hls_env_decode(&e, (const uint8_t *)c.env[0].data, c.env[0].size, NULL), 0);
  assert_int_equal(hls_env_encode_stub(&file, &e), 0);
  const uint8_t *p = (const uint8_t *)file.data;
  size_t at = 0, used, k = 0;
  struct hls_why why;
  while (at < file.size) {
    assert_int_equal(hls_items_next(p + at, file.size - at, &e, &used, &why), 0);
    assert_int_equal(e.h.seq, k < 3 ? k + 1 : 1);
    assert_true(k < 3 ? e.body != NULL : e.body == NULL);
    if (k < 3) assert_int_equal(used, c.env[k].size);
    at += used;
    k++;
  }
  assert_int_equal(k, 4);
  /* every cut inside an envelope: truncated, nothing used */
  for (size_t cut = 1; cut < c.env[0].size; cut++) {
    assert_int_equal(hls_items_next(p, cut, &e, &used, &why), HLS_ETRUNCATED);
    assert_int_equal(used, 0);
  }
  assert_int_equal(hls_items_next(p, 0, &e, &used, &why), HLS_ETRUNCATED);
  msgpack_sbuffer_destroy(&file);
  chain_free(&c);
}

static void test_split_errors(void **state) {
  (void)state;
  struct hls_envelope e;
  struct hls_why why;
  size_t used = 99;
  const uint8_t text[] = "hello";
  assert_int_equal(hls_items_next(text, 5, &e, &used, &why), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "not 0x68"));
  assert_int_equal(used, 0);
  const uint8_t nils[] = {0x93, 0xc0, 0xc0, 0xc0, 0x01};
  assert_int_equal(hls_items_next(nils, sizeof nils, &e, &used, &why), HLS_EMALFORMED);
  const uint8_t ext[] = {0x93, 0xd4, 0x01, 0x00, 0xc0, 0xc0};
  assert_int_not_equal(hls_items_next(ext, sizeof ext, &e, &used, &why), 0);
  /* a bin longer than any envelope, with the bytes there: too big */
  size_t big = HLS_ENV_MAX_BYTES + 64;
  uint8_t *b = calloc(1, big);
  assert_non_null(b);
  b[0] = 0x93;
  b[1] = 0xc6; /* bin 32 of HLS_ENV_MAX_BYTES bytes */
  uint32_t l = HLS_ENV_MAX_BYTES;
  b[2] = (uint8_t)(l >> 24), b[3] = (uint8_t)(l >> 16), b[4] = (uint8_t)(l >> 8), b[5] = (uint8_t)l;
  assert_int_equal(hls_items_next(b, big, &e, &used, &why), HLS_ETOOBIG);
  assert_int_equal(hls_items_next(b, 4096, &e, &used, &why), HLS_ETRUNCATED); /* more may come */
  free(b);
}

/* --- the request ---------------------------------------------------------------- */

/* Decode a request {"envelopes": [...]} built by pack; the code. */
static int decode_args(void (*pack)(msgpack_packer *, const struct chain *), const struct chain *c,
                       struct hls_envelope *envs, size_t max, size_t *n, struct hls_why *why) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  pack(&pk, c);
  struct hls_mp_tree t;
  assert_int_equal(hls_mp_tree_decode(&t, sb.data, sb.size, false, 100000, NULL), 0);
  int rc = hls_items_request_decode(&t.root, envs, max, n, why);
  hls_mp_tree_free(&t);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static void pack_three(msgpack_packer *pk, const struct chain *c) {
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "envelopes");
  msgpack_pack_array(pk, 3);
  for (size_t i = 0; i < 3; i++) {
    msgpack_pack_bin(pk, c->env[i].size);
    msgpack_pack_bin_body(pk, c->env[i].data, c->env[i].size);
  }
}
static void pack_none(msgpack_packer *pk, const struct chain *c) {
  (void)c;
  msgpack_pack_map(pk, 0);
}
static void pack_empty(msgpack_packer *pk, const struct chain *c) {
  (void)c;
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "envelopes");
  msgpack_pack_array(pk, 0);
}
static void pack_str(msgpack_packer *pk, const struct chain *c) {
  (void)c;
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "envelopes");
  msgpack_pack_array(pk, 1);
  hls_mp_pack_cstr(pk, "x");
}
static void pack_bad(msgpack_packer *pk, const struct chain *c) {
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "envelopes");
  msgpack_pack_array(pk, 2);
  msgpack_pack_bin(pk, c->env[0].size);
  msgpack_pack_bin_body(pk, c->env[0].data, c->env[0].size);
  msgpack_pack_bin(pk, c->env[1].size - 1); /* cut short */
  msgpack_pack_bin_body(pk, c->env[1].data, c->env[1].size - 1);
}
static void pack_many(msgpack_packer *pk, const struct chain *c) {
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "envelopes");
  msgpack_pack_array(pk, HLS_IMPORT_ITEMS_MAX + 1);
  for (size_t i = 0; i <= HLS_IMPORT_ITEMS_MAX; i++) {
    msgpack_pack_bin(pk, c->env[0].size);
    msgpack_pack_bin_body(pk, c->env[0].data, c->env[0].size);
  }
}

static void test_request(void **state) {
  (void)state;
  struct chain c;
  chain_make(&c, 2, 3);
  struct hls_envelope envs[4];
  size_t n = 99;
  struct hls_why why;
  assert_int_equal(decode_args(pack_three, &c, envs, 4, &n, &why), 0);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < 3; i++) assert_memory_equal(envs[i].id, c.id[i], 32);
  assert_int_equal(decode_args(pack_three, &c, envs, 2, &n, &why), HLS_ETOOBIG);
  assert_int_equal(decode_args(pack_none, &c, envs, 4, &n, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "envelopes: expected a list"));
  assert_int_equal(decode_args(pack_empty, &c, envs, 4, &n, &why), HLS_EINVAL);
  assert_int_equal(decode_args(pack_str, &c, envs, 4, &n, &why), HLS_EINVAL);
  assert_string_equal(why.text, "envelopes: item 0 is not bytes");
  assert_int_not_equal(decode_args(pack_bad, &c, envs, 4, &n, &why), 0);
  assert_non_null(strstr(why.text, "envelopes: item 1: "));
  assert_int_equal(n, 0);
  assert_int_equal(decode_args(pack_many, &c, envs, 4, &n, &why), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "at most 4096"));
  chain_free(&c);
}

/* --- runs ------------------------------------------------------------------------- */

static void test_run_length(void **state) {
  (void)state;
  struct chain c, d;
  chain_make(&c, 3, 5);
  chain_make(&d, 4, 2);
  struct hls_envelope e[6];
  size_t order[6] = {0, 1, 2, 4, 3, 4}; /* 1 2 3 5 | 4 5 */
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(hls_env_decode(&e[i], (const uint8_t *)c.env[order[i]].data, c.env[order[i]].size, NULL), 0);
  assert_int_equal(hls_items_run_length(e, 6), 3);
  assert_int_equal(hls_items_run_length(e + 3, 3), 1);
  assert_int_equal(hls_items_run_length(e + 4, 2), 2);
  assert_int_equal(hls_items_run_length(e, 1), 1);
  /* another origin ends a run */
  assert_int_equal(hls_env_decode(&e[2], (const uint8_t *)d.env[1].data, d.env[1].size, NULL), 0);
  assert_int_equal(hls_items_run_length(e, 6), 2);
  chain_free(&c);
  chain_free(&d);
}

/* --- order -------------------------------------------------------------------------- */

static void entry_of(struct hls_items_entry *x, const msgpack_sbuffer *env, uint64_t order) {
  struct hls_envelope e;
  assert_int_equal(hls_env_decode(&e, (const uint8_t *)env->data, env->size, NULL), 0);
  memset(x, 0, sizeof *x);
  memcpy(x->origin, e.h.origin, 32);
  x->seq = e.h.seq;
  memcpy(x->id, e.id, 32);
  if (e.h.has_prev) memcpy(x->prev, e.h.prev, 32);
  x->order = order;
  x->offset = order * 1000;
}

static void test_order(void **state) {
  (void)state;
  struct chain a, b;
  chain_make(&a, 5, 4);
  chain_make(&b, 6, 3);
  struct hls_items_entry e[10];
  /* newest first, across origins, a duplicate of a's 2 and b's 3 */
  const struct {
    struct chain *c;
    size_t i;
  } in[] = {{&a, 3}, {&b, 2}, {&a, 1}, {&a, 2}, {&b, 0}, {&a, 1}, {&a, 0}, {&b, 1}, {&b, 2}};
  size_t n = sizeof in / sizeof in[0];
  for (size_t i = 0; i < n; i++) entry_of(&e[i], &in[i].c->env[in[i].i], i);
  size_t runs, dups;
  assert_int_equal(hls_items_order(e, &n, &runs, &dups), 0);
  assert_int_equal(n, 7);
  assert_int_equal(runs, 7);
  assert_int_equal(dups, 2);
  for (size_t i = 0; i < n; i++) {
    bool first = i == 0 || memcmp(e[i].origin, e[i - 1].origin, 32) != 0;
    if (!first) {
      assert_int_equal(e[i].seq, e[i - 1].seq + 1);
      assert_memory_equal(e[i].prev, e[i - 1].id, 32);
    } else {
      assert_int_equal(e[i].seq, 1);
    }
  }
  /* the duplicate kept is the first in input order */
  for (size_t i = 0; i < n; i++)
    if (memcmp(e[i].origin, a.pk, 32) == 0 && e[i].seq == 2) assert_int_equal(e[i].order, 2);
  /* a stub first, then the full envelope of the same item: the full one stays */
  entry_of(&e[0], &a.env[0], 0);
  entry_of(&e[1], &a.env[0], 1);
  e[1].body = true;
  n = 2;
  assert_int_equal(hls_items_order(e, &n, &runs, &dups), 0);
  assert_int_equal(n, 1);
  assert_int_equal(dups, 1);
  assert_true(e[0].body);
  assert_int_equal(e[0].order, 1);
  n = 0;
  assert_int_equal(hls_items_order(e, &n, &runs, &dups), 0);
  assert_int_equal(runs + dups, 0);
  chain_free(&a);
  chain_free(&b);
}

/* A fork in the input: two items at seq 3. The one seq 4 links to stays
 * in the run, whatever the input order; the other goes last. Without a
 * seq 4, the first given stays. */
static void test_order_fork(void **state) {
  (void)state;
  struct chain z;
  chain_init(&z, 8);
  chain_add(&z, 0, 0);
  chain_add(&z, 0, 0);
  chain_add(&z, 1, 1); /* 3a */
  msgpack_sbuffer three_a = z.env[2];
  uint8_t id_3a[32];
  memcpy(id_3a, z.id[2], 32);
  z.n = 2; /* rebuild seq 3 differently */
  chain_add(&z, 2, 1); /* 3b */
  chain_add(&z, 0, 2); /* 4 -> 3b */
  struct hls_items_entry e[5];
  entry_of(&e[0], &three_a, 0); /* 3a first in input */
  entry_of(&e[1], &z.env[0], 1);
  entry_of(&e[2], &z.env[3], 2); /* 4 */
  entry_of(&e[3], &z.env[2], 3); /* 3b */
  entry_of(&e[4], &z.env[1], 4);
  size_t n = 5, runs, dups;
  assert_int_equal(hls_items_order(e, &n, &runs, &dups), 0);
  assert_int_equal(n, 5);
  assert_int_equal(runs, 4);
  assert_int_equal(dups, 0);
  for (size_t i = 0; i < 4; i++) assert_int_equal(e[i].seq, i + 1);
  assert_memory_equal(e[2].id, z.id[2], 32); /* 3b: the one 4 links to */
  assert_memory_equal(e[4].id, id_3a, 32);   /* 3a last */
  /* without seq 4: the first given (3a) stays */
  entry_of(&e[0], &three_a, 0);
  entry_of(&e[1], &z.env[0], 1);
  entry_of(&e[2], &z.env[2], 2);
  entry_of(&e[3], &z.env[1], 3);
  n = 4;
  assert_int_equal(hls_items_order(e, &n, &runs, &dups), 0);
  assert_int_equal(runs, 3);
  assert_memory_equal(e[2].id, id_3a, 32);
  assert_memory_equal(e[3].id, z.id[2], 32);
  msgpack_sbuffer_destroy(&three_a);
  chain_free(&z);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split),        cmocka_unit_test(test_split_errors), cmocka_unit_test(test_request),
      cmocka_unit_test(test_run_length),   cmocka_unit_test(test_order),        cmocka_unit_test(test_order_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
