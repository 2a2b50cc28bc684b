/* Unit tests for daemon/store_query.c: places, stories and items held.
 * Three fake origins publish signed chains into a fresh store: A with an
 * erased story, B whose profile changes (and whose latest profile is only
 * a stub), C with no profile body at all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "nodeid.h"
#include "store.h"

#define ASSERT_OK(expr)                                                           \
  do {                                                                            \
    int rc_ = (expr);                                                             \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text); \
  } while (0)

#define T0 1772400000000ll /* 2026-03-01T21:20:00Z */
#define N_ITEMS 13

struct chain {
  uint8_t pk[32], sk[64];
  uint64_t seq;
  uint8_t head[32];        /* item id of seq */
  uint8_t ids[8][32];      /* item id by seq (1..7) */
};

struct fixture {
  char dir[64];
  struct hls_store *store;
  struct chain a, b, c;
};

/* --- building chains ------------------------------------------------------ */

static void chain_init(struct chain *ch, uint8_t seed_byte) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  memset(ch, 0, sizeof *ch);
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(seed_byte * 31 + i);
  assert_int_equal(crypto_sign_seed_keypair(ch->pk, ch->sk, seed), 0);
}

/* Sign the next item of ch with body and store it: with its body when
 * state is held, else as a stub in that state. */
static void publish(struct fixture *fx, struct chain *ch, int type, int audience, const msgpack_sbuffer *body,
                    int64_t timestamp_ms, int state, int64_t stored_ms) {
  struct hls_why why = {{0}};
  msgpack_sbuffer env_bytes;
  msgpack_sbuffer_init(&env_bytes);
  uint64_t seq = ch->seq + 1;
  ASSERT_OK(hls_env_build(&env_bytes, type, ch->sk, seq, seq > 1 ? ch->head : NULL, (uint64_t)timestamp_ms, audience,
                          (const uint8_t *)body->data, body->size));
  struct hls_envelope env;
  ASSERT_OK(hls_env_decode(&env, (const uint8_t *)env_bytes.data, env_bytes.size, &why));
  ASSERT_OK(hls_env_verify(&env));
  if (state != HLS_BODY_HELD) {
    env.body = NULL;
    env.body_len = 0;
  }
  ASSERT_OK(hls_store_item_put(fx->store, &env, state, stored_ms, &why));
  memcpy(ch->head, env.id, 32);
  memcpy(ch->ids[seq], env.id, 32);
  ch->seq = seq;
  msgpack_sbuffer_destroy(&env_bytes);
}

static void publish_profile(struct fixture *fx, struct chain *ch, const char *place, const char *region, int role,
                            int64_t ts, int state, int64_t stored_ms) {
  struct hls_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.place, sizeof p.place, "%s", place);
  snprintf(p.region, sizeof p.region, "%s", region);
  p.role = role;
  p.n_addresses = 1;
  snprintf(p.addresses[0], sizeof p.addresses[0], "192.0.2.%d:7420", (int)(ch->pk[0] % 200) + 1);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_profile_pack(&body, &p), 0);
  publish(fx, ch, HLS_ENV_PROFILE, HLS_AUD_NETWORK, &body, ts, state, stored_ms);
  msgpack_sbuffer_destroy(&body);
}

/* themes: "kind:slug,kind:slug" with kinds as digits, e.g. "0:housing". */
static void publish_story(struct fixture *fx, struct chain *ch, const char *title, int iso_year, int iso_week,
                          const char *themes, int audience, int64_t ts, int state, int64_t stored_ms) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = iso_year;
  s.iso_week = iso_week;
  snprintf(s.title, sizeof s.title, "%s", title);
  s.tried = strdup("We tried it\non two days");
  s.learnt = strdup("People came back");
  for (const char *p = themes; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    struct hls_theme *t = &s.themes[s.n_themes++];
    t->kind = (enum hls_kind)(p[0] - '0');
    snprintf(t->slug, sizeof t->slug, "%.*s", (int)len - 2, p + 2);
    p = end ? end + 1 : NULL;
  }
  s.scale = 2;
  s.stage = 4;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_story_pack(&body, &s), 0);
  publish(fx, ch, HLS_ENV_STORY, audience, &body, ts, state, stored_ms);
  msgpack_sbuffer_destroy(&body);
  hls_story_free(&s);
}

static void publish_digest(struct fixture *fx, struct chain *ch, int64_t ts, int64_t stored_ms) {
  struct hls_digest_cell cell = {.theme = "housing", .kind = 0, .scale = 1, .stage = 3, .count = 4};
  struct hls_digest d = {.iso_year = 2026, .iso_week = 10, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_digest_pack(&body, &d), 0);
  publish(fx, ch, HLS_ENV_DIGEST, HLS_AUD_NETWORK, &body, ts, HLS_BODY_HELD, stored_ms);
  msgpack_sbuffer_destroy(&body);
}

static void publish_tombstone(struct fixture *fx, struct chain *ch, uint64_t target, int reason, int64_t ts,
                              int64_t stored_ms) {
  struct hls_tombstone t = {.target_seq = target, .reason = reason};
  struct hls_why why = {{0}};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_tombstone_pack(&body, &t), 0);
  publish(fx, ch, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, &body, ts, HLS_BODY_HELD, stored_ms);
  msgpack_sbuffer_destroy(&body);
  ASSERT_OK(hls_store_item_erase(fx->store, ch->pk, target, &why));
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  struct hls_why why = {{0}};
  if (fx == NULL || sodium_init() < 0) {
    free(fx);
    return -1;
  }
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-query-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  char path[128];
  snprintf(path, sizeof path, "%s/hlsd.db", fx->dir);
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, path, &opt, &why) != 0) {
    fprintf(stderr, "open: %s\n", why.text);
    test_remove_tree(fx->dir);
    free(fx);
    return -1;
  }
  chain_init(&fx->a, 1);
  chain_init(&fx->b, 2);
  chain_init(&fx->c, 3);
  *state = fx;
  return 0;
}

/* The data set every test but the empty-store one reads. */
static int setup_filled(void **state) {
  if (setup(state) != 0) return -1;
  struct fixture *fx = *state;
  /* A: Anytown. Seq 5 is a story erased by the tombstone at seq 6. */
  publish_profile(fx, &fx->a, "Anytown", "North", HLS_PROFILE_PLACE, T0 + 1, HLS_BODY_HELD, 101);
  publish_story(fx, &fx->a, "A story one", 2026, 10, "0:housing,2:peer-support", HLS_AUD_NETWORK, T0 + 10,
                HLS_BODY_HELD, 102);
  publish_digest(fx, &fx->a, T0 + 11, 103);
  publish_story(fx, &fx->a, "A story for peers", 2026, 12, "0:loneliness", HLS_AUD_PEERS, T0 + 40, HLS_BODY_HELD, 104);
  publish_story(fx, &fx->a, "A erased", 2026, 11, "0:housing", HLS_AUD_NETWORK, T0 + 20, HLS_BODY_HELD, 105);
  publish_tombstone(fx, &fx->a, 5, HLS_TOMB_CONSENT_WITHDRAWN, T0 + 21, 106);
  /* B: renamed at seq 3; the profile at seq 4 is held as a stub only, so
   * seq 3 is the latest that says anything. */
  publish_profile(fx, &fx->b, "barford", "South", HLS_PROFILE_PARTNER, T0 + 2, HLS_BODY_HELD, 201);
  publish_story(fx, &fx->b, "B story", 2026, 9, "0:housing", HLS_AUD_NETWORK, T0 + 30, HLS_BODY_HELD, 202);
  publish_profile(fx, &fx->b, "Bårford Borough", "South", HLS_PROFILE_PARTNER, T0 + 50, HLS_BODY_HELD, 203);
  publish_profile(fx, &fx->b, "Barford Ghost", "Nowhere", HLS_PROFILE_PLACE, T0 + 60, HLS_BODY_STUB, 204);
  publish_story(fx, &fx->b, "B stub story", 2026, 12, "0:housing", HLS_AUD_PEERS, T0 + 70, HLS_BODY_STUB, 205);
  /* C: its profile is a stub. */
  publish_profile(fx, &fx->c, "Ceeville", "West", HLS_PROFILE_PLACE, T0 + 3, HLS_BODY_STUB, 301);
  publish_story(fx, &fx->c, "C story", 2026, 11, "2:peer-support", HLS_AUD_NETWORK, T0 + 35, HLS_BODY_HELD, 302);
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_store_free(fx->store);
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

/* --- collecting results ------------------------------------------------------ */

#define MAX_ROWS 16

struct places {
  size_t n;
  struct hls_place_row rows[MAX_ROWS];
  size_t stop_after; /* 0: never */
};

static int place_cb(void *ctx, const struct hls_place_row *p) {
  struct places *out = ctx;
  assert_true(out->n < MAX_ROWS);
  out->rows[out->n++] = *p;
  return out->stop_after && out->n == out->stop_after ? 42 : 0;
}

struct stories {
  size_t n;
  char titles[MAX_ROWS][HLS_TITLE_MAX + 1];
  char places[MAX_ROWS][HLS_PLACE_MAX + 1]; /* "" when no profile */
  uint64_t seqs[MAX_ROWS];
  uint8_t origins[MAX_ROWS][32];
  uint8_t ids[MAX_ROWS][32];
};

static int story_cb(void *ctx, const struct hls_story_row *r) {
  struct stories *out = ctx;
  assert_true(out->n < MAX_ROWS);
  assert_non_null(r->story);
  assert_non_null(r->place);
  snprintf(out->titles[out->n], sizeof out->titles[0], "%s", r->story->title);
  snprintf(out->places[out->n], sizeof out->places[0], "%s", r->place->has_profile ? r->place->profile.place : "");
  out->seqs[out->n] = r->seq;
  memcpy(out->origins[out->n], r->origin, 32);
  memcpy(out->ids[out->n], r->item_id, 32);
  out->n++;
  return 0;
}

/* The titles, joined with "|", for one readable comparison. */
static const char *titles(const struct stories *s, char *buf, size_t size) {
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < s->n && o < size; i++) o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "|" : "", s->titles[i]);
  return buf;
}

static int list_stories(struct fixture *fx, const struct hls_story_filter *f, struct stories *out, struct hls_why *why) {
  memset(out, 0, sizeof *out);
  return hls_store_stories(fx->store, f, NULL, story_cb, out, why);
}

/* The first page of at most limit stories (0: all of them). */
static void expect_stories_limit(struct fixture *fx, const struct hls_story_filter *f, int64_t limit, const char *want) {
  struct stories s;
  struct hls_why why = {{0}};
  struct hls_page page = {.limit = limit};
  char got[1024];
  memset(&s, 0, sizeof s);
  ASSERT_OK(hls_store_stories(fx->store, f, &page, story_cb, &s, &why));
  assert_string_equal(titles(&s, got, sizeof got), want);
}

static void expect_stories(struct fixture *fx, const struct hls_story_filter *f, const char *want) {
  expect_stories_limit(fx, f, 0, want);
}

struct items {
  size_t n;
  struct hls_item_row rows[MAX_ROWS];
  char places[MAX_ROWS][HLS_PLACE_MAX + 1];
};

static int item_cb(void *ctx, const struct hls_item_row *r) {
  struct items *out = ctx;
  assert_true(out->n < MAX_ROWS);
  assert_non_null(r->place);
  snprintf(out->places[out->n], sizeof out->places[0], "%s", r->place->has_profile ? r->place->profile.place : "");
  out->rows[out->n] = *r;
  out->rows[out->n].place = NULL; /* borrowed: gone after the call */
  out->n++;
  return 0;
}

static int list_items(struct fixture *fx, const struct hls_item_filter *f, struct items *out, struct hls_why *why) {
  memset(out, 0, sizeof *out);
  return hls_store_items(fx->store, f, NULL, item_cb, out, why);
}

/* --- places ---------------------------------------------------------------------- */

static void test_places(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct places p = {0};
  ASSERT_OK(hls_store_places(fx->store, NULL, place_cb, &p, &why));
  assert_int_equal(p.n, 3);
  /* By name (Anytown, Bårford Borough), the origin with no profile last. */
  const struct hls_place_row *a = &p.rows[0], *b = &p.rows[1], *c = &p.rows[2];
  assert_memory_equal(a->node_id, fx->a.pk, 32);
  assert_memory_equal(b->node_id, fx->b.pk, 32);
  assert_memory_equal(c->node_id, fx->c.pk, 32);

  assert_true(a->has_profile);
  assert_string_equal(a->profile.place, "Anytown");
  assert_string_equal(a->profile.region, "North");
  assert_int_equal(a->profile.role, HLS_PROFILE_PLACE);
  assert_int_equal(a->profile.n_addresses, 1);
  assert_int_equal(a->profile_seq, 1);
  assert_int_equal(a->items, 6);
  assert_int_equal(a->stubs, 0);
  assert_int_equal(a->erased, 1);
  assert_int_equal(a->chain_seq, 6);
  assert_memory_equal(a->head_id, fx->a.ids[6], 32);
  assert_int_equal(a->last_heard_ms, 106);

  /* The latest profile whose body is held wins: seq 3, not 1, not the stub 4. */
  assert_true(b->has_profile);
  assert_string_equal(b->profile.place, "Bårford Borough");
  assert_int_equal(b->profile.role, HLS_PROFILE_PARTNER);
  assert_int_equal(b->profile_seq, 3);
  assert_int_equal(b->items, 5);
  assert_int_equal(b->stubs, 2);
  assert_int_equal(b->erased, 0);
  assert_int_equal(b->chain_seq, 5);
  assert_memory_equal(b->head_id, fx->b.ids[5], 32);
  assert_int_equal(b->last_heard_ms, 205);

  assert_false(c->has_profile);
  assert_int_equal(c->items, 2);
  assert_int_equal(c->stubs, 1);
  assert_int_equal(c->chain_seq, 2);
  assert_int_equal(c->last_heard_ms, 302);

  /* A callback's non-zero return stops the walk and is returned. */
  struct places first = {.stop_after = 1};
  assert_int_equal(hls_store_places(fx->store, NULL, place_cb, &first, &why), 42);
  assert_int_equal(first.n, 1);
}

static void test_places_profile_update(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  /* A new profile of A renames it; it now sorts after Bårford. */
  publish_profile(fx, &fx->a, "Zedtown", "North", HLS_PROFILE_PARTNER, T0 + 80, HLS_BODY_HELD, 107);
  struct places p = {0};
  ASSERT_OK(hls_store_places(fx->store, NULL, place_cb, &p, &why));
  assert_int_equal(p.n, 3);
  assert_string_equal(p.rows[0].profile.place, "Bårford Borough");
  assert_string_equal(p.rows[1].profile.place, "Zedtown");
  assert_int_equal(p.rows[1].profile.role, HLS_PROFILE_PARTNER);
  assert_int_equal(p.rows[1].profile_seq, 7);
  assert_int_equal(p.rows[1].items, 7);
  /* Its stories carry the new name, and the old name finds nothing. */
  struct hls_story_filter f = {.place = "zedtown"};
  expect_stories(fx, &f, "A story for peers|A story one");
  struct stories s;
  f.place = "Anytown";
  assert_int_equal(list_stories(fx, &f, &s, &why), HLS_ENOTFOUND);
  /* Its profile body erased: the one before speaks again. */
  ASSERT_OK(hls_store_item_erase(fx->store, fx->a.pk, 7, &why));
  memset(&p, 0, sizeof p);
  ASSERT_OK(hls_store_places(fx->store, NULL, place_cb, &p, &why));
  assert_string_equal(p.rows[0].profile.place, "Anytown");
  assert_int_equal(p.rows[0].profile_seq, 1);
  assert_int_equal(p.rows[0].erased, 2);
}

static void test_empty_store(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct places p = {0};
  struct stories s;
  struct items it;
  ASSERT_OK(hls_store_places(fx->store, NULL, place_cb, &p, &why));
  assert_int_equal(p.n, 0);
  struct hls_story_filter f = {0};
  ASSERT_OK(list_stories(fx, &f, &s, &why));
  assert_int_equal(s.n, 0);
  struct hls_item_filter itf = {0};
  ASSERT_OK(list_items(fx, &itf, &it, &why));
  assert_int_equal(it.n, 0);
  f.place = "Anytown";
  assert_int_equal(list_stories(fx, &f, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no known place is named \"Anytown\""));
}

/* --- stories ------------------------------------------------------------------------ */

static void test_stories_all(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct stories s;
  struct hls_story_filter f = {0};
  /* Newest published first; the erased story (A5) and the stub (B5) are
   * not stories one can read. A story for peers held here is. */
  ASSERT_OK(list_stories(fx, &f, &s, &why));
  char got[1024];
  assert_string_equal(titles(&s, got, sizeof got), "A story for peers|C story|B story|A story one");
  assert_string_equal(s.places[0], "Anytown");
  assert_string_equal(s.places[1], ""); /* C: no profile held */
  assert_string_equal(s.places[2], "Bårford Borough");
  assert_int_equal(s.seqs[2], 2);
  assert_memory_equal(s.origins[2], fx->b.pk, 32);
  assert_memory_equal(s.ids[3], fx->a.ids[2], 32);
}

static void test_stories_filters(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct stories s;
  char id[HLS_NODEID_TEXT_SIZE];

  /* place: a name in any case (Unicode too), or a node id. */
  struct hls_story_filter f = {.place = "ANYTOWN"};
  expect_stories(fx, &f, "A story for peers|A story one");
  f.place = "BÅRFORD BOROUGH";
  expect_stories(fx, &f, "B story");
  hls_nodeid_format(fx->c.pk, id);
  f.place = id;
  expect_stories(fx, &f, "C story");
  hls_nodeid_format(fx->b.pk, id);
  expect_stories(fx, &f, "B story");
  /* An earlier name of a place, a name never seen, an unknown node. */
  f.place = "barford";
  assert_int_equal(list_stories(fx, &f, &s, &why), HLS_ENOTFOUND);
  f.place = "Ceeville"; /* only C's stub says so */
  assert_int_equal(list_stories(fx, &f, &s, &why), HLS_ENOTFOUND);
  uint8_t stranger[32];
  memset(stranger, 9, sizeof stranger);
  hls_nodeid_format(stranger, id);
  f.place = id;
  assert_int_equal(list_stories(fx, &f, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no items held from @"));

  /* theme (a slug): the erased A5 about housing stays hidden. */
  f = (struct hls_story_filter){.theme = "housing"};
  expect_stories(fx, &f, "B story|A story one");
  f.theme = "peer-support";
  expect_stories(fx, &f, "C story|A story one");
  f.theme = "nothing-like-it";
  expect_stories(fx, &f, "");

  /* since: the story's week ends on or after the day. 2026-W10 is
   * 2026-03-02..08, W09 ends 03-01, W11 starts 03-09. */
  f = (struct hls_story_filter){.has_since = true, .since = hls_date_from_ymd(2026, 3, 9)};
  expect_stories(fx, &f, "A story for peers|C story");
  f.since = hls_date_from_ymd(2026, 3, 8);
  expect_stories(fx, &f, "A story for peers|C story|A story one");
  f.since = hls_date_from_ymd(2026, 3, 1);
  expect_stories(fx, &f, "A story for peers|C story|B story|A story one");
  f.since = hls_date_from_ymd(2026, 3, 23);
  expect_stories(fx, &f, "");

  /* limit counts stories shown, after the other filters. */
  f = (struct hls_story_filter){0};
  expect_stories_limit(fx, &f, 2, "A story for peers|C story");
  f = (struct hls_story_filter){.theme = "housing"};
  expect_stories_limit(fx, &f, 1, "B story");
  f = (struct hls_story_filter){.place = "anytown", .theme = "housing", .has_since = true,
                                .since = hls_date_from_ymd(2026, 3, 2)};
  expect_stories_limit(fx, &f, 5, "A story one");
}

/* --- stories show ------------------------------------------------------------------------ */

static int find(struct fixture *fx, const char *text, struct stories *out, struct hls_why *why) {
  struct hls_item_ref ref;
  assert_int_equal(hls_item_ref_parse(text, &ref), 0);
  memset(out, 0, sizeof *out);
  return hls_store_story_find(fx->store, &ref, story_cb, out, why);
}

static void test_story_find(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct stories s;
  char hex[HLS_ITEM_ID_HEX_SIZE], text[128], node[HLS_NODEID_TEXT_SIZE];

  /* The whole item id, in either case. */
  hls_item_id_format(fx->a.ids[2], hex);
  ASSERT_OK(find(fx, hex, &s, &why));
  assert_int_equal(s.n, 1);
  assert_string_equal(s.titles[0], "A story one");
  assert_string_equal(s.places[0], "Anytown");
  for (char *p = hex; *p; p++) *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
  ASSERT_OK(find(fx, hex, &s, &why));
  assert_string_equal(s.titles[0], "A story one");
  /* Eight digits of it, and nine (an odd prefix). */
  hls_item_id_format(fx->b.ids[2], hex);
  snprintf(text, sizeof text, "%.8s", hex);
  ASSERT_OK(find(fx, text, &s, &why));
  assert_string_equal(s.titles[0], "B story");
  assert_string_equal(s.places[0], "Bårford Borough");
  snprintf(text, sizeof text, "%.9s", hex);
  ASSERT_OK(find(fx, text, &s, &why));
  assert_int_equal(s.seqs[0], 2);
  /* ORIGIN:SEQ, a story of a place with no profile held. */
  hls_nodeid_format(fx->c.pk, node);
  snprintf(text, sizeof text, "%s:2", node);
  ASSERT_OK(find(fx, text, &s, &why));
  assert_string_equal(s.titles[0], "C story");
  assert_string_equal(s.places[0], "");
}

static void test_story_find_refusals(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct stories s;
  char text[128], node[HLS_NODEID_TEXT_SIZE];

  hls_nodeid_format(fx->a.pk, node);
  /* Erased: the tombstone and its reason are named. */
  snprintf(text, sizeof text, "%s:5", node);
  assert_int_equal(find(fx, text, &s, &why), HLS_EERASED);
  assert_non_null(strstr(why.text, "was erased by its place (consent_withdrawn, tombstone item 6)"));
  assert_int_equal(s.n, 0);
  /* Not a story. */
  snprintf(text, sizeof text, "%s:3", node);
  assert_int_equal(find(fx, text, &s, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "is a digest, not a story"));
  /* Not held at all. */
  snprintf(text, sizeof text, "%s:99", node);
  assert_int_equal(find(fx, text, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no item @"));
  assert_int_equal(find(fx, "00000000", &s, &why), HLS_ENOTFOUND);
  assert_string_equal(why.text, "no story 00000000 is held ('hls items' lists every item)");
  /* A stub: only its header is here. */
  hls_nodeid_format(fx->b.pk, node);
  snprintf(text, sizeof text, "%s:5", node);
  assert_int_equal(find(fx, text, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "only the header of story"));
  assert_non_null(strstr(why.text, "direct peers"));
  /* Found through its item id, too. */
  char hex[HLS_ITEM_ID_HEX_SIZE];
  hls_item_id_format(fx->b.ids[5], hex);
  assert_int_equal(find(fx, hex, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "only the header"));
  /* An item id that is not a story's is not looked for among the rest
   * (only stories are indexed by item id). */
  hls_item_id_format(fx->a.ids[3], hex);
  assert_int_equal(find(fx, hex, &s, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no story "));
  /* A prefix matching several stories is refused, not guessed. */
  struct hls_item_ref all;
  memset(&all, 0, sizeof all);
  memset(all.high, 0xff, sizeof all.high);
  assert_int_equal(hls_store_story_find(fx->store, &all, story_cb, &s, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, " stories; give more of its characters"));
  assert_int_equal(s.n, 0);
}

/* --- items ----------------------------------------------------------------------------- */

static void test_items(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct items it;
  struct hls_item_filter f = {0};
  ASSERT_OK(list_items(fx, &f, &it, &why));
  assert_int_equal(it.n, N_ITEMS);
  /* By origin (bytes), then seq. */
  for (size_t i = 1; i < it.n; i++) {
    int c = memcmp(it.rows[i - 1].origin, it.rows[i].origin, 32);
    assert_true(c < 0 || (c == 0 && it.rows[i - 1].seq < it.rows[i].seq));
  }
  size_t held = 0, stubs = 0, erased = 0;
  for (size_t i = 0; i < it.n; i++) {
    const struct hls_item_row *r = &it.rows[i];
    held += r->body_state == HLS_BODY_HELD;
    stubs += r->body_state == HLS_BODY_STUB;
    erased += r->body_state == HLS_BODY_ERASED;
    assert_true(r->body_state == HLS_BODY_HELD ? r->body_bytes > 0 : r->body_bytes == 0);
    const struct chain *ch = memcmp(r->origin, fx->a.pk, 32) == 0   ? &fx->a
                             : memcmp(r->origin, fx->b.pk, 32) == 0 ? &fx->b
                                                                    : &fx->c;
    assert_memory_equal(r->item_id, ch->ids[r->seq], 32);
  }
  assert_int_equal(held, 9);
  assert_int_equal(stubs, 3);
  assert_int_equal(erased, 1);

  /* One origin: its chain in order, with the place it is now. */
  f.has_origin = true;
  memcpy(f.origin, fx->b.pk, 32);
  ASSERT_OK(list_items(fx, &f, &it, &why));
  assert_int_equal(it.n, 5);
  static const int b_types[] = {HLS_ENV_PROFILE, HLS_ENV_STORY, HLS_ENV_PROFILE, HLS_ENV_PROFILE, HLS_ENV_STORY};
  static const int b_states[] = {HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_STUB};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(it.rows[i].seq, i + 1);
    assert_int_equal(it.rows[i].type, b_types[i]);
    assert_int_equal(it.rows[i].body_state, b_states[i]);
    assert_string_equal(it.places[i], "Bårford Borough");
  }
  assert_int_equal(it.rows[4].audience, HLS_AUD_PEERS);
  assert_int_equal(it.rows[1].timestamp_ms, T0 + 30);
  assert_int_equal(it.rows[1].stored_ms, 202);

  /* One type, across origins: every story, whatever its body. */
  f = (struct hls_item_filter){.type = HLS_ENV_STORY};
  ASSERT_OK(list_items(fx, &f, &it, &why));
  assert_int_equal(it.n, 6);
  for (size_t i = 0; i < it.n; i++) assert_int_equal(it.rows[i].type, HLS_ENV_STORY);
  /* Both. */
  f.type = HLS_ENV_PROFILE;
  f.has_origin = true;
  memcpy(f.origin, fx->c.pk, 32);
  ASSERT_OK(list_items(fx, &f, &it, &why));
  assert_int_equal(it.n, 1);
  assert_int_equal(it.rows[0].body_state, HLS_BODY_STUB);
  assert_string_equal(it.places[0], "");
  f.type = HLS_ENV_TOMBSTONE;
  ASSERT_OK(list_items(fx, &f, &it, &why));
  assert_int_equal(it.n, 0);
  /* limit */
  f = (struct hls_item_filter){0};
  struct hls_page page = {.limit = 3};
  memset(&it, 0, sizeof it);
  ASSERT_OK(hls_store_items(fx->store, &f, &page, item_cb, &it, &why));
  assert_int_equal(it.n, 3);
  assert_true(page.more);
  /* An origin nothing is held from. */
  f = (struct hls_item_filter){.has_origin = true};
  memset(f.origin, 9, 32);
  assert_int_equal(list_items(fx, &f, &it, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no items held from @"));
}

/* --- pages ------------------------------------------------------------------------------ */

/* A row's key, as a listing orders it: items (origin, seq); stories
 * (timestamp down, origin, seq down); places by name key then origin. */
struct key {
  uint8_t origin[32];
  uint64_t seq;
  int64_t ts;
};

#define MAX_KEYS 64

struct keys {
  size_t n;
  struct key k[MAX_KEYS];
  int full_at; /* return HLS_PAGE_FULL on this row of a page (1-based; 0: never) */
  int in_page;
};

static int key_item(void *ctx, const struct hls_item_row *r) {
  struct keys *out = ctx;
  if (++out->in_page == out->full_at) return HLS_PAGE_FULL;
  assert_true(out->n < MAX_KEYS);
  memcpy(out->k[out->n].origin, r->origin, 32);
  out->k[out->n++].seq = r->seq;
  return 0;
}

static int key_story(void *ctx, const struct hls_story_row *r) {
  struct keys *out = ctx;
  if (++out->in_page == out->full_at) return HLS_PAGE_FULL;
  assert_true(out->n < MAX_KEYS);
  memcpy(out->k[out->n].origin, r->origin, 32);
  out->k[out->n].ts = r->timestamp_ms;
  out->k[out->n++].seq = r->seq;
  return 0;
}

static int key_place(void *ctx, const struct hls_place_row *p) {
  struct keys *out = ctx;
  if (++out->in_page == out->full_at) return HLS_PAGE_FULL;
  assert_true(out->n < MAX_KEYS);
  memcpy(out->k[out->n++].origin, p->node_id, 32);
  return 0;
}

enum listing { L_ITEMS, L_STORIES, L_PLACES };

/* One page of a listing after *after (NULL: the first), into out. */
static int one_page(struct fixture *fx, enum listing l, const void *filter, struct hls_page *page, struct keys *out,
                    struct hls_why *why) {
  out->in_page = 0;
  switch (l) {
    case L_ITEMS: return hls_store_items(fx->store, filter, page, key_item, out, why);
    case L_STORIES: return hls_store_stories(fx->store, filter, page, key_story, out, why);
    default: return hls_store_places(fx->store, page, key_place, out, why);
  }
}

/* Every page of at most limit rows (and budget reads), each after the
 * cursor of the one before, into out; *pages gets how many. */
static void all_pages(struct fixture *fx, enum listing l, const void *filter, int64_t limit, int64_t budget,
                      struct keys *out, int *pages) {
  struct hls_why why = {{0}};
  struct hls_cursor cursor;
  bool have = false;
  *pages = 0;
  for (;;) {
    struct hls_page page = {.after = have ? &cursor : NULL, .limit = limit, .budget = budget};
    size_t before = out->n;
    ASSERT_OK(one_page(fx, l, filter, &page, out, &why));
    assert_true(out->n - before <= (size_t)(limit ? limit : MAX_KEYS));
    (*pages)++;
    assert_true(*pages < 100);
    if (!page.more) break;
    /* The cursor goes through its text, as a client hands it back. */
    char text[HLS_CURSOR_TEXT_SIZE];
    ASSERT_OK(hls_cursor_format(&page.next, text));
    ASSERT_OK(hls_cursor_parse(text, strlen(text), page.next.kind, &cursor, &why));
    have = true;
  }
}

static void assert_keys_equal(const struct keys *a, const struct keys *b) {
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_memory_equal(a->k[i].origin, b->k[i].origin, 32);
    assert_int_equal(a->k[i].seq, b->k[i].seq);
    assert_int_equal(a->k[i].ts, b->k[i].ts);
  }
}

/* Pages of any size list every row once, in the order of the whole
 * listing, and the last page says so. */
static void test_pages_cover_each_row_once(void **state) {
  struct fixture *fx = *state;
  struct hls_item_filter all_items = {0}, stories_only = {.type = HLS_ENV_STORY}, b_items = {.has_origin = true};
  memcpy(b_items.origin, fx->b.pk, 32);
  struct hls_story_filter all_stories = {0}, housing = {.theme = "housing"}, anytown = {.place = "anytown"},
                          since = {.has_since = true, .since = hls_date_from_ymd(2026, 3, 8)},
                          place_theme = {.place = "anytown", .theme = "peer-support"};
  struct {
    enum listing l;
    const void *filter;
    size_t rows;
  } cases[] = {
      {L_ITEMS, &all_items, N_ITEMS}, {L_ITEMS, &stories_only, 6}, {L_ITEMS, &b_items, 5},
      {L_STORIES, &all_stories, 4},  {L_STORIES, &housing, 2},    {L_STORIES, &anytown, 2},
      {L_STORIES, &since, 3},        {L_STORIES, &place_theme, 1}, {L_PLACES, NULL, 3},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct keys whole = {0};
    int pages;
    all_pages(fx, cases[c].l, cases[c].filter, 0, 0, &whole, &pages);
    assert_int_equal(whole.n, cases[c].rows);
    assert_int_equal(pages, 1);
    for (int64_t limit = 1; limit <= (int64_t)cases[c].rows + 1; limit++)
      for (int64_t budget = 0; budget <= 3; budget++) {
        struct keys paged = {0};
        all_pages(fx, cases[c].l, cases[c].filter, limit, budget, &paged, &pages);
        assert_keys_equal(&paged, &whole);
        /* The page that reaches its limit looks one row further: the
         * last page is never an empty one. */
        if (budget == 0) assert_int_equal(pages, (int)((cases[c].rows + (size_t)limit - 1) / (size_t)limit));
      }
  }
}

/* A callback's HLS_PAGE_FULL ends the page before that row, which the
 * next page starts with. */
static void test_page_full(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_item_filter f = {0};
  struct keys whole = {0}, paged = {.full_at = 3};
  int pages;
  all_pages(fx, L_ITEMS, &f, 0, 0, &whole, &pages);
  all_pages(fx, L_ITEMS, &f, 0, 0, &paged, &pages);
  assert_keys_equal(&paged, &whole);
  assert_int_equal(pages, (N_ITEMS + 1) / 2);
  struct hls_story_filter sf = {0};
  memset(&whole, 0, sizeof whole);
  memset(&paged, 0, sizeof paged);
  paged.full_at = 2;
  all_pages(fx, L_STORIES, &sf, 0, 0, &whole, &pages);
  all_pages(fx, L_STORIES, &sf, 0, 0, &paged, &pages);
  assert_keys_equal(&paged, &whole);
  memset(&whole, 0, sizeof whole);
  memset(&paged, 0, sizeof paged);
  paged.full_at = 2;
  all_pages(fx, L_PLACES, NULL, 0, 0, &whole, &pages);
  all_pages(fx, L_PLACES, NULL, 0, 0, &paged, &pages);
  assert_keys_equal(&paged, &whole);
  /* A page refused before its first row with no cursor to go back to
   * is the walk's error, never a page that repeats itself. */
  struct keys first = {.full_at = 1};
  struct hls_page page = {0};
  assert_int_equal(one_page(fx, L_ITEMS, &f, &page, &first, &why), HLS_EINTERNAL);
}

static int key_cmp_items(const struct key *a, const struct key *b) {
  int c = memcmp(a->origin, b->origin, 32);
  return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int key_cmp_stories(const struct key *a, const struct key *b) {
  if (a->ts != b->ts) return a->ts > b->ts ? -1 : 1;
  int c = memcmp(a->origin, b->origin, 32);
  return c != 0 ? c : (a->seq < b->seq) - (a->seq > b->seq);
}

/* Rows added between pages: every row held at the start is listed once,
 * in order; a row added after the cursor is listed, one before it not. */
static void test_pages_while_rows_are_added(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain d;
  chain_init(&d, 4);
  struct keys at_start = {0};
  struct hls_item_filter f = {0};
  int pages;
  all_pages(fx, L_ITEMS, &f, 0, 0, &at_start, &pages);

  /* Items: three pages of 4, an item of A and of a new origin D added
   * before each page after the first. */
  struct keys got = {0};
  struct hls_cursor cursor;
  struct hls_page page = {.limit = 4};
  ASSERT_OK(one_page(fx, L_ITEMS, &f, &page, &got, &why));
  struct key added[4];
  size_t n_added = 0;
  for (int round = 0; page.more; round++) {
    cursor = page.next;
    struct key c = {.seq = cursor.seq};
    memcpy(c.origin, cursor.origin, 32);
    if (round < 2) {
      struct chain *ch = round == 0 ? &fx->a : &d;
      if (round == 0) publish_digest(fx, ch, T0 + 90, 500);
      else publish_profile(fx, ch, "Dee", "East", HLS_PROFILE_PLACE, T0 + 91, HLS_BODY_HELD, 501);
      struct key k = {.seq = ch->seq};
      memcpy(k.origin, ch->pk, 32);
      if (key_cmp_items(&k, &c) > 0) added[n_added++] = k;
    }
    page = (struct hls_page){.after = &cursor, .limit = 4};
    ASSERT_OK(one_page(fx, L_ITEMS, &f, &page, &got, &why));
  }
  for (size_t i = 1; i < got.n; i++) assert_true(key_cmp_items(&got.k[i - 1], &got.k[i]) < 0);
  for (size_t i = 0; i < at_start.n; i++) {
    bool found = false;
    for (size_t j = 0; j < got.n && !found; j++) found = key_cmp_items(&at_start.k[i], &got.k[j]) == 0;
    assert_true(found);
  }
  for (size_t i = 0; i < n_added; i++) {
    bool found = false;
    for (size_t j = 0; j < got.n && !found; j++) found = key_cmp_items(&added[i], &got.k[j]) == 0;
    assert_true(found);
  }
  assert_int_equal(got.n, at_start.n + n_added);

  /* Stories: after the first page of one, a newer story (before the
   * cursor: not listed) and an older one (listed). */
  struct hls_story_filter sf = {0};
  memset(&got, 0, sizeof got);
  page = (struct hls_page){.limit = 1};
  ASSERT_OK(one_page(fx, L_STORIES, &sf, &page, &got, &why));
  assert_true(page.more);
  cursor = page.next;
  publish_story(fx, &fx->c, "C newest", 2026, 12, "0:housing", HLS_AUD_NETWORK, T0 + 100, HLS_BODY_HELD, 502);
  publish_story(fx, &fx->c, "C oldest", 2026, 12, "0:housing", HLS_AUD_NETWORK, T0 + 5, HLS_BODY_HELD, 503);
  for (;;) {
    page = (struct hls_page){.after = &cursor, .limit = 1};
    ASSERT_OK(one_page(fx, L_STORIES, &sf, &page, &got, &why));
    if (!page.more) break;
    cursor = page.next;
  }
  assert_int_equal(got.n, 5); /* the 4 of the start and "C oldest" */
  for (size_t i = 1; i < got.n; i++) assert_true(key_cmp_stories(&got.k[i - 1], &got.k[i]) < 0);
  assert_int_equal(got.k[4].ts, T0 + 5);
}

/* A cursor of another listing is refused, not misread. */
static void test_page_cursor_kind(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_cursor c = {.kind = HLS_CURSOR_STORIES, .seq = 1};
  struct hls_page page = {.after = &c};
  struct keys k = {0};
  struct hls_item_filter f = {0};
  assert_int_equal(one_page(fx, L_ITEMS, &f, &page, &k, &why), HLS_EINVAL);
  c.kind = HLS_CURSOR_ITEMS;
  struct hls_story_filter sf = {0};
  assert_int_equal(one_page(fx, L_STORIES, &sf, &page, &k, &why), HLS_EINVAL);
  assert_int_equal(one_page(fx, L_PLACES, NULL, &page, &k, &why), HLS_EINVAL);
  assert_int_equal(k.n, 0);
  /* A cursor past every row: an empty last page. */
  c = (struct hls_cursor){.kind = HLS_CURSOR_ITEMS, .seq = INT64_MAX};
  memset(c.origin, 0xff, 32);
  ASSERT_OK(one_page(fx, L_ITEMS, &f, &page, &k, &why));
  assert_int_equal(k.n, 0);
  assert_false(page.more);
}

/* --since reads stories published at most HLS_STORY_SINCE_REACH_DAYS
 * before the day: older ones end the walk. */
static void test_stories_since_bound(void **state) {
  struct fixture *fx = *state;
  struct hls_story_filter f = {.has_since = true, .since = hls_date_from_ymd(2026, 3, 2)};
  /* Published long before its week (a year and a half): past the reach. */
  publish_story(fx, &fx->c, "From long ago", 2026, 10, "0:housing", HLS_AUD_NETWORK, T0 - 550ll * 86400000,
                HLS_BODY_HELD, 600);
  /* A year before: within it. */
  publish_story(fx, &fx->c, "Planned ahead", 2026, 10, "0:housing", HLS_AUD_NETWORK, T0 - 360ll * 86400000,
                HLS_BODY_HELD, 601);
  expect_stories(fx, &f, "A story for peers|C story|A story one|Planned ahead");
  f.has_since = false;
  expect_stories(fx, &f, "A story for peers|C story|B story|A story one|Planned ahead|From long ago");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_places, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_places_profile_update, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stories_all, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_stories_filters, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_story_find, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_story_find_refusals, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_items, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_pages_cover_each_row_once, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_page_full, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_pages_while_rows_are_added, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_page_cursor_kind, setup_filled, teardown),
      cmocka_unit_test_setup_teardown(test_stories_since_bound, setup_filled, teardown),
  };
  return cmocka_run_group_tests_name("store_query", tests, NULL, NULL);
}
