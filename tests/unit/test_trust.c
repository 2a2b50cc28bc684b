/* Vouches in the store (store_vouches.c) and who is vouched (trust.c),
 * and what hls places shows of them (api_places_trust): a name claimed
 * twice, an impostor's keys vouching for each other, a partner role that
 * counts after trust.partner_vouches vouches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_handlers.h"
#include "chain_build.h"
#include "patfilter.h"
#include "store.h"
#include "trust.h"

#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    int rc_ = (expr);                                                                  \
    if (rc_ != 0) fail_msg("%s: %s (%s)", #expr, hls_err_name(rc_), why.text);         \
  } while (0)

struct fixture {
  char dir[64], path[96];
  struct hls_store *store;
};

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-trust-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  snprintf(fx->path, sizeof fx->path, "%s/hlsd.db", fx->dir);
  struct hls_why why = {{0}};
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->path, &opt, &why) != 0) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_store_free(fx->store);
  char wal[128];
  unlink(fx->path);
  snprintf(wal, sizeof wal, "%s-wal", fx->path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", fx->path);
  unlink(wal);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void put_last(struct fixture *fx, const struct chain *c) {
  struct hls_envelope env;
  struct hls_why why = {{0}};
  blob_decode(&env, &c->env[c->n - 1]);
  ASSERT_OK(hls_store_item_put(fx->store, &env, HLS_BODY_HELD, 1, &why));
}

static void add_profile(struct fixture *fx, struct chain *c, const char *place, int role) {
  struct hls_profile p;
  profile_of_place(&p, place);
  p.role = role;
  chain_add_profile_of(c, &p);
  put_last(fx, c);
}

/* c vouches for subject as what its profile p says (withdrawn: takes it back). */
static void add_vouch(struct fixture *fx, struct chain *c, const struct chain *subject, const char *place, int role,
                      bool withdrawn) {
  struct hls_vouch v;
  memset(&v, 0, sizeof v);
  memcpy(v.subject, subject->k.pk, 32);
  v.withdrawn = withdrawn;
  if (!withdrawn) {
    snprintf(v.place, sizeof v.place, "%s", place);
    snprintf(v.region, sizeof v.region, "Region");
    v.role = role;
  }
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_vouch_pack(&body, &v), 0);
  chain_add(c, HLS_ENV_VOUCH, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
  put_last(fx, c);
}

struct count_ctx {
  int rows, withdrawn;
};

static int count_vouch(void *ctx, const struct hls_vouch_row *r) {
  struct count_ctx *c = ctx;
  c->rows++;
  c->withdrawn += r->vouch.withdrawn;
  return 0;
}

static const struct hls_trust_node *node(const struct hls_trust *t, const struct chain *c) {
  const struct hls_trust_node *n = hls_trust_find(t, c->k.pk);
  assert_non_null(n);
  return n;
}

/* The keys api_places_trust packs for c, decoded (the tree borrows sb:
 * places_keys_free frees both). */
static void places_keys(const struct hls_trust *t, const struct chain *c, struct hls_mp_tree *tree,
                        msgpack_sbuffer *sb) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_map(&pk, API_PLACES_TRUST_KEYS), 0);
  assert_int_equal(api_places_trust(&pk, t, c->k.pk), 0);
  struct hls_why why = {{0}};
  ASSERT_OK(hls_mp_tree_decode(tree, sb->data, sb->size, false, 1000, &why));
}

static void places_keys_free(struct hls_mp_tree *tree, msgpack_sbuffer *sb) {
  hls_mp_tree_free(tree);
  msgpack_sbuffer_destroy(sb);
}

static void test_vouches(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain self, gateshead, impostor, leeds, sybil;
  chain_init(&self, 1);
  chain_init(&gateshead, 2);
  chain_init(&impostor, 3);
  chain_init(&leeds, 4);
  chain_init(&sybil, 5);
  add_profile(fx, &self, "York", HLS_PROFILE_PLACE);
  add_profile(fx, &gateshead, "Gateshead Council", HLS_PROFILE_PLACE);
  add_profile(fx, &impostor, "gateshead council", HLS_PROFILE_PARTNER); /* the same name, another case */
  add_profile(fx, &leeds, "Leeds", HLS_PROFILE_PARTNER);
  add_profile(fx, &sybil, "Sybil", HLS_PROFILE_PLACE);

  /* Nothing vouched yet: only this node is; partners do not count. */
  struct hls_trust t;
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 2, &why));
  assert_int_equal(t.n_nodes, 5);
  assert_true(node(&t, &self)->vouched);
  assert_false(node(&t, &gateshead)->vouched);
  assert_true(node(&t, &gateshead)->role_counts); /* a place role always counts */
  assert_false(node(&t, &leeds)->role_counts);
  hls_trust_free(&t);
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 0, &why)); /* 0: self-declared partner roles count */
  assert_true(node(&t, &leeds)->role_counts);
  hls_trust_free(&t);

  /* This node vouches for Gateshead and Leeds; Gateshead for Leeds as a
   * partner; the impostor and its second key vouch for each other. */
  add_vouch(fx, &self, &gateshead, "Gateshead Council", HLS_PROFILE_PLACE, false);
  add_vouch(fx, &self, &leeds, "Leeds", HLS_PROFILE_PARTNER, false);
  add_vouch(fx, &gateshead, &leeds, "Leeds", HLS_PROFILE_PARTNER, false);
  add_vouch(fx, &sybil, &impostor, "gateshead council", HLS_PROFILE_PARTNER, false);
  add_vouch(fx, &impostor, &sybil, "Sybil", HLS_PROFILE_PLACE, false);
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 2, &why));
  assert_int_equal(t.n_vouches, 5);
  assert_true(node(&t, &gateshead)->vouched);
  assert_true(node(&t, &leeds)->vouched);
  assert_int_equal(node(&t, &leeds)->partner_vouches, 2);
  assert_true(node(&t, &leeds)->role_counts);
  assert_false(node(&t, &impostor)->vouched);
  assert_false(node(&t, &sybil)->vouched);
  assert_int_equal(node(&t, &impostor)->partner_vouches, 0); /* its voucher is not vouched */
  assert_false(node(&t, &impostor)->role_counts);

  /* hls places: the name is flagged on both nodes claiming it. */
  struct hls_mp_tree tree;
  msgpack_sbuffer sb;
  places_keys(&t, &gateshead, &tree, &sb);
  const struct hls_mp_value *claims = hls_mp_get(&tree.root, "name_also_claimed_by");
  assert_non_null(claims);
  assert_int_equal(claims->len, 1);
  assert_int_equal(hls_mp_get(&claims->v.items[0], "vouched")->v.b, false);
  const struct hls_mp_value *by = hls_mp_get(&tree.root, "vouched_by");
  assert_int_equal(by->len, 1);
  assert_true(hls_mp_get(&by->v.items[0], "counts")->v.b);
  assert_true(hls_mp_get(&tree.root, "vouched")->v.b);
  places_keys_free(&tree, &sb);
  places_keys(&t, &impostor, &tree, &sb);
  assert_int_equal(hls_mp_get(&tree.root, "name_also_claimed_by")->len, 1);
  assert_false(hls_mp_get(&tree.root, "role_counts")->v.b);
  by = hls_mp_get(&tree.root, "vouched_by");
  assert_int_equal(by->len, 1);
  assert_false(hls_mp_get(&by->v.items[0], "counts")->v.b);
  places_keys_free(&tree, &sb);
  places_keys(&t, &leeds, &tree, &sb);
  assert_int_equal(hls_mp_get(&tree.root, "name_also_claimed_by")->len, 0);
  assert_int_equal(hls_mp_get(&tree.root, "partner_vouches")->v.i, 2);
  places_keys_free(&tree, &sb);
  hls_trust_free(&t);

  /* A vouched place vouching for the impostor's second key brings both in
   * (each vouch matches its subject's profile). */
  add_vouch(fx, &gateshead, &sybil, "Sybil", HLS_PROFILE_PLACE, false);
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 2, &why));
  assert_true(node(&t, &sybil)->vouched);
  assert_true(node(&t, &impostor)->vouched);
  assert_int_equal(node(&t, &impostor)->partner_vouches, 1);
  assert_false(node(&t, &impostor)->role_counts); /* one of two */
  hls_trust_free(&t);

  /* A later vouch supersedes: Gateshead withdraws; Leeds renames itself,
   * so the vouches stating "Leeds" no longer count. */
  add_vouch(fx, &gateshead, &sybil, NULL, 0, true);
  add_profile(fx, &leeds, "Leeds City", HLS_PROFILE_PARTNER);
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 2, &why));
  assert_false(node(&t, &sybil)->vouched);
  assert_false(node(&t, &impostor)->vouched);
  assert_false(node(&t, &leeds)->vouched);
  assert_int_equal(node(&t, &leeds)->partner_vouches, 0);
  hls_trust_free(&t);
  struct count_ctx cc = {0};
  ASSERT_OK(hls_store_vouches(fx->store, count_vouch, &cc, &why));
  assert_int_equal(cc.rows, 6); /* one per voucher and subject */
  assert_int_equal(cc.withdrawn, 1);

  chain_free(&self);
  chain_free(&gateshead);
  chain_free(&impostor);
  chain_free(&leeds);
  chain_free(&sybil);
}

/* What hls vouch asks for waits in vouches_asked until it is signed. */
/* hls places finds a node's namesakes and vouchers through indexes built
 * once (trust.c), not by comparing every pair of nodes (1 s a listing at
 * 2,000 places): the groups must be exactly hls_patfilter_name_eq's,
 * whatever the case, normalisation or spelling, and a place's vouchers
 * those of the vouches held, in their order. */
static void test_names_as_read(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  static const char *const names[] = {
      "Caf\xc3\xa9 Nord",        /* NFC e-acute */
      "Cafe\xcc\x81 Nord",       /* NFD: e and a combining acute */
      "CAF\xc3\x89 NORD",        /* upper case */
      "caf\xc3\xa9 nord",
      "Cafe Nord",               /* another name */
      "Stra\303\237e",          /* sharp s folds to ss */
      "STRASSE",
      "Gateshead",
      "gateshead",
      "Gates head",
      "Leeds",
      "Leeds ",                  /* a trailing space is another name */
  };
  enum { N = sizeof names / sizeof names[0] };
  struct chain self, c[N];
  chain_init(&self, 100);
  add_profile(fx, &self, "This Node", HLS_PROFILE_PLACE);
  for (int i = 0; i < N; i++) {
    chain_init(&c[i], (uint64_t)(101 + i));
    add_profile(fx, &c[i], names[i], HLS_PROFILE_PLACE);
  }
  /* Gateshead is vouched for by this node, both Leeds and "gateshead"
   * (in that order of the vouches held: by voucher, then subject). */
  add_vouch(fx, &self, &c[7], "Gateshead", HLS_PROFILE_PLACE, false);
  add_vouch(fx, &c[10], &c[7], "Gateshead", HLS_PROFILE_PLACE, false);
  add_vouch(fx, &c[11], &c[7], "Gateshead", HLS_PROFILE_PLACE, false);
  add_vouch(fx, &c[8], &c[7], "Gateshead", HLS_PROFILE_PLACE, false);
  add_vouch(fx, &c[8], &c[7], "Gateshead", HLS_PROFILE_PLACE, true); /* withdrawn: its later vouch replaces it */

  struct hls_trust t;
  ASSERT_OK(hls_trust_load(&t, fx->store, self.k.pk, 0, &why));
  assert_int_equal(t.n_nodes, N + 1);
  size_t pairs = 0;
  for (size_t i = 0; i < t.n_nodes; i++) {
    const struct hls_trust_node *a = &t.nodes[i];
    const uint32_t *same;
    size_t ns = hls_trust_same_name(&t, a, &same);
    assert_true(ns >= 1);
    for (size_t k = 1; k < ns; k++) assert_true(same[k - 1] < same[k]); /* in node order */
    for (size_t j = 0; j < t.n_nodes; j++) {
      const struct hls_trust_node *b = &t.nodes[j];
      bool eq = hls_patfilter_name_eq(b->profile.place, strlen(b->profile.place), a->profile.place), in = false;
      for (size_t k = 0; k < ns; k++) in |= same[k] == j;
      if (eq != in) fail_msg("\"%s\" and \"%s\": name_eq %d, same group %d", a->profile.place, b->profile.place, eq, in);
      pairs += eq && i != j;
    }
  }
  /* Cafe-acute 4 ways (12 ordered pairs), Strasse (2), Gateshead (2) */
  assert_int_equal(pairs, 16);

  struct hls_mp_tree tree;
  msgpack_sbuffer sb;
  places_keys(&t, &c[1], &tree, &sb);
  assert_int_equal(hls_mp_get(&tree.root, "name_also_claimed_by")->len, 3);
  places_keys_free(&tree, &sb);
  places_keys(&t, &c[4], &tree, &sb);
  assert_int_equal(hls_mp_get(&tree.root, "name_also_claimed_by")->len, 0);
  places_keys_free(&tree, &sb);
  places_keys(&t, &c[7], &tree, &sb);
  const struct hls_mp_value *claims = hls_mp_get(&tree.root, "name_also_claimed_by");
  assert_int_equal(claims->len, 1);
  const struct hls_mp_value *by = hls_mp_get(&tree.root, "vouched_by");
  assert_int_equal(by->len, 3); /* the withdrawn one left out */
  places_keys_free(&tree, &sb);
  const uint32_t *idx;
  size_t nv = hls_trust_vouches_for(&t, c[7].k.pk, &idx);
  assert_int_equal(nv, 4); /* held: three, and the withdrawn one in place of c[8]'s first */
  for (size_t k = 0; k < nv; k++) {
    assert_memory_equal(t.vouches[idx[k]].vouch.subject, c[7].k.pk, 32);
    if (k > 0) assert_true(idx[k - 1] < idx[k]);
  }
  assert_int_equal(hls_trust_vouches_for(&t, c[0].k.pk, &idx), 0);
  assert_null(hls_trust_successor(&t, c[0].k.pk));
  assert_null(hls_trust_predecessor(&t, c[0].k.pk));
  hls_trust_free(&t);
  chain_free(&self);
  for (int i = 0; i < N; i++) chain_free(&c[i]);
}

static void test_asked(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_vouch v[3], out[4];
  memset(v, 0, sizeof v);
  for (int i = 0; i < 3; i++) {
    memset(v[i].subject, 0x10 + i, 32);
    snprintf(v[i].place, sizeof v[i].place, "Place %d", i);
    snprintf(v[i].region, sizeof v[i].region, "Region");
    ASSERT_OK(hls_store_vouch_ask(fx->store, &v[i], 100 + i, &why));
  }
  v[1].withdrawn = true; /* asked again: replaces */
  memset(v[1].place, 0, sizeof v[1].place);
  memset(v[1].region, 0, sizeof v[1].region);
  ASSERT_OK(hls_store_vouch_ask(fx->store, &v[1], 200, &why));
  size_t n = 0;
  ASSERT_OK(hls_store_vouches_asked(fx->store, out, 4, &n, &why));
  assert_int_equal(n, 3);
  assert_memory_equal(&out[0], &v[0], sizeof v[0]);
  assert_memory_equal(&out[1], &v[2], sizeof v[2]);
  assert_memory_equal(&out[2], &v[1], sizeof v[1]); /* the oldest ask first */
  ASSERT_OK(hls_store_vouch_asked_done(fx->store, v[0].subject, &why));
  ASSERT_OK(hls_store_vouches_asked(fx->store, out, 1, &n, &why));
  assert_int_equal(n, 1);
  assert_memory_equal(&out[0], &v[2], sizeof v[2]);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_vouches, setup, teardown),
      cmocka_unit_test_setup_teardown(test_asked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names_as_read, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
