/* Unit tests for the summaries daemon/store_items.c keeps of the items
 * table (migration 11, docs/data-model.md "The read side"): origins (per
 * origin: items, stubs, erased, last stored, head, the latest profile held
 * and its place's sort key) and story_themes (each held story by theme).
 * After any mix of writes, each must equal what a scan of items gives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#include "store.h"

#define ASSERT_OK(expr)                                                           \
  do {                                                                            \
    int rc_ = (expr);                                                             \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text); \
  } while (0)

#define N_ORIGINS 6
#define MAX_SEQ 400

/* One origin's chain as built so far: every envelope's bytes by seq. */
struct chain {
  uint8_t pk[32], sk[64];
  uint64_t n;
  uint8_t head[32];
  msgpack_sbuffer env[MAX_SEQ + 1]; /* env[seq], full (with body) */
};

struct fixture {
  char dir[64], path[128];
  struct hls_store *store;
  struct chain chains[N_ORIGINS];
  uint64_t rng;
  int64_t now_ms;
};

static uint32_t rnd(struct fixture *fx, uint32_t n) {
  fx->rng = fx->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(fx->rng >> 33) % n;
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  struct hls_why why = {{0}};
  if (fx == NULL || sodium_init() < 0) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-items-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  snprintf(fx->path, sizeof fx->path, "%s/hlsd.db", fx->dir);
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->path, &opt, &why) != 0) {
    fprintf(stderr, "open: %s\n", why.text);
    return -1;
  }
  for (int o = 0; o < N_ORIGINS; o++) {
    uint8_t seed[crypto_sign_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(o * 13 + i);
    crypto_sign_seed_keypair(fx->chains[o].pk, fx->chains[o].sk, seed);
    for (int s = 0; s <= MAX_SEQ; s++) msgpack_sbuffer_init(&fx->chains[o].env[s]);
  }
  fx->rng = 20261204;
  fx->now_ms = 1000;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_store_free(fx->store);
  for (int o = 0; o < N_ORIGINS; o++)
    for (int s = 0; s <= MAX_SEQ; s++) msgpack_sbuffer_destroy(&fx->chains[o].env[s]);
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

/* --- making items ------------------------------------------------------------ */

/* Names that sort differently with and without case folding and
 * normalisation, shared by several origins. */
static const char *const names[] = {"Anytown", "anytown", "ÅLBORG", "Ålborg", "Zedtown", "Barford", "A\xcc\x8alborg"};
static const char *const slugs[] = {"housing", "loneliness", "peer-support", "food", "damp", "transport"};

static void body_of(struct fixture *fx, int type, uint64_t seq, msgpack_sbuffer *body) {
  if (type == HLS_ENV_PROFILE) {
    struct hls_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.place, sizeof p.place, "%s", names[rnd(fx, sizeof names / sizeof names[0])]);
    snprintf(p.region, sizeof p.region, "Region");
    p.role = HLS_PROFILE_PLACE;
    assert_int_equal(hls_profile_pack(body, &p), 0);
  } else if (type == HLS_ENV_STORY) {
    struct hls_story s;
    memset(&s, 0, sizeof s);
    s.iso_year = 2026;
    s.iso_week = 1 + (int)rnd(fx, 50);
    snprintf(s.title, sizeof s.title, "Story %llu", (unsigned long long)seq);
    s.n_themes = 1 + rnd(fx, 3);
    uint32_t first = rnd(fx, 6);
    for (size_t i = 0; i < s.n_themes; i++) snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", slugs[(first + i) % 6]);
    s.scale = HLS_SCALE_PLACE;
    s.stage = HLS_STAGE_REFLECT;
    assert_int_equal(hls_story_pack(body, &s), 0);
  } else if (type == HLS_ENV_DIGEST) {
    struct hls_digest_cell cell = {.theme = "housing", .kind = 0, .scale = 1, .stage = 3, .count = 5};
    struct hls_digest d = {.iso_year = 2026, .iso_week = 3, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
    assert_int_equal(hls_digest_pack(body, &d), 0);
  } else {
    struct hls_tombstone t = {.target_seq = seq > 1 ? 1 + rnd(fx, (uint32_t)(seq - 1)) : 1, .reason = 0};
    assert_int_equal(hls_tombstone_pack(body, &t), 0);
  }
}

/* Sign origin o's next item (a random type, and a timestamp that is not
 * in seq order: several origins' stories share times, one goes back). */
static uint64_t next_item(struct fixture *fx, int o) {
  struct chain *ch = &fx->chains[o];
  assert_true(ch->n < MAX_SEQ);
  uint64_t seq = ch->n + 1;
  static const int types[] = {HLS_ENV_PROFILE, HLS_ENV_STORY, HLS_ENV_STORY, HLS_ENV_STORY, HLS_ENV_DIGEST,
                              HLS_ENV_TOMBSTONE};
  int type = seq == 1 ? HLS_ENV_PROFILE : types[rnd(fx, 6)];
  if (type == HLS_ENV_TOMBSTONE && seq == 1) type = HLS_ENV_DIGEST;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  body_of(fx, type, seq, &body);
  uint64_t ts = 1772400000000ull + 1000ull * rnd(fx, 40);

  int rc = hls_env_build(&ch->env[seq], type, ch->sk, seq, seq > 1 ? ch->head : NULL, ts,
                         type == HLS_ENV_STORY && rnd(fx, 4) == 0 ? HLS_AUD_PEERS : HLS_AUD_NETWORK,
                         (const uint8_t *)body.data, body.size);
  assert_int_equal(rc, 0);
  struct hls_envelope env;
  assert_int_equal(hls_env_decode(&env, (const uint8_t *)ch->env[seq].data, ch->env[seq].size, NULL), 0);
  memcpy(ch->head, env.id, 32);
  ch->n = seq;
  msgpack_sbuffer_destroy(&body);
  return seq;
}

static void decode_env(const struct chain *ch, uint64_t seq, bool with_body, struct hls_envelope *env) {
  assert_int_equal(hls_env_decode(env, (const uint8_t *)ch->env[seq].data, ch->env[seq].size, NULL), 0);
  if (!with_body) {
    env->body = NULL;
    env->body_len = 0;
  }
}

/* --- the scan every summary must equal ------------------------------------------- */

static int64_t q_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* origins as a GROUP BY over items gives it, both ways. */
#define SCAN                                                                                                        \
  "SELECT a.origin, a.n, a.stubs, a.erased, a.heard, a.head, h.item_id FROM (SELECT origin, count(*) AS n,"         \
  " sum(body_state = 1) AS stubs, sum(body_state = 2) AS erased, max(stored_ms) AS heard, max(seq) AS head"         \
  " FROM items GROUP BY origin) a JOIN items h ON h.origin = a.origin AND h.seq = a.head"
#define SUMMARY "SELECT origin, items, stubs, erased, last_stored_ms, head_seq, head_id FROM origins"

static void expect_key(const uint8_t *key, size_t key_len, const char *name) {
  uint8_t buf[512];
  size_t len = sizeof buf;
  uint8_t *folded = u8_casefold((const uint8_t *)name, strlen(name), NULL, UNINORM_NFC, buf, &len);
  assert_non_null(folded);
  assert_int_equal(key_len, len);
  assert_memory_equal(key, folded, len);
  if (folded != buf) free(folded);
}

static void check_summaries(struct fixture *fx) {
  sqlite3 *db = hls_store_db(fx->store);
  assert_int_equal(q_int(db, "SELECT count(*) FROM (" SUMMARY " EXCEPT " SCAN ")"), 0);
  assert_int_equal(q_int(db, "SELECT count(*) FROM (" SCAN " EXCEPT " SUMMARY ")"), 0);
  /* The profile: the latest held, and its place's key (every profile body
   * here decodes). */
  assert_int_equal(q_int(db, "SELECT count(*) FROM origins o WHERE o.profile_seq IS NOT (SELECT max(seq) FROM items"
                             " WHERE origin = o.origin AND type = 1 AND body_state = 0)"),
                   0);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT o.place_key, p.body, o.profile IS p.body FROM origins o LEFT JOIN items p"
                                      " ON p.origin = o.origin AND p.seq = o.profile_seq",
                                      -1, &st, NULL),
                   SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const uint8_t *key = sqlite3_column_blob(st, 0);
    size_t key_len = (size_t)sqlite3_column_bytes(st, 0);
    assert_int_equal(sqlite3_column_int(st, 2), 1); /* the copy of the profile is its body */
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
      assert_int_equal(key_len, 1);
      assert_int_equal(key[0], 0xff);
      continue;
    }
    struct hls_profile p;
    assert_int_equal(hls_profile_decode(&p, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), NULL), 0);
    expect_key(key, key_len, p.place);
  }
  sqlite3_finalize(st);
  /* story_themes: exactly one row per theme of each held story. */
  int64_t rows = 0;
  sqlite3_stmt *has;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM story_themes WHERE theme = ?1 AND timestamp_ms = ?2"
                                      " AND origin = ?3 AND seq = ?4",
                                      -1, &has, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT origin, seq, timestamp_ms, body FROM items WHERE type = 3"
                                          " AND body_state = 0",
                                      -1, &st, NULL),
                   SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    struct hls_story s;
    assert_int_equal(hls_story_decode(&s, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), NULL), 0);
    for (size_t i = 0; i < s.n_themes; i++) {
      sqlite3_bind_text(has, 1, s.themes[i].slug, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(has, 2, sqlite3_column_int64(st, 2));
      sqlite3_bind_blob(has, 3, sqlite3_column_blob(st, 0), 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(has, 4, sqlite3_column_int64(st, 1));
      assert_int_equal(sqlite3_step(has), SQLITE_ROW);
      assert_int_equal(sqlite3_column_int64(has, 0), 1);
      sqlite3_reset(has);
      rows++;
    }
    hls_story_free(&s);
  }
  sqlite3_finalize(st);
  sqlite3_finalize(has);
  assert_int_equal(q_int(db, "SELECT count(*) FROM story_themes"), rows);
}

/* --- a random mix of writes --------------------------------------------------------- */

/* A random held item of origin o in state (-1: any), 0 if none. */
static uint64_t pick(struct fixture *fx, int o, int state) {
  struct chain *ch = &fx->chains[o];
  if (ch->n == 0) return 0;
  uint64_t start = 1 + rnd(fx, (uint32_t)ch->n);
  for (uint64_t k = 0; k < ch->n; k++) {
    uint64_t seq = 1 + (start - 1 + k) % ch->n;
    struct hls_item it;
    struct hls_why why = {{0}};
    if (hls_store_item_get(fx->store, ch->pk, seq, &it, &why) != 0) continue;
    int st = it.body_state;
    hls_item_clear(&it);
    if (state < 0 || st == state) return seq;
  }
  return 0;
}

static void one_write(struct fixture *fx) {
  struct hls_why why = {{0}};
  int o = (int)rnd(fx, N_ORIGINS);
  struct chain *ch = &fx->chains[o];
  fx->now_ms += 1 + rnd(fx, 5);
  switch (rnd(fx, 10)) {
    case 0:
    case 1:
    case 2: { /* one item, held or a stub */
      if (ch->n >= MAX_SEQ) break;
      uint64_t seq = next_item(fx, o);
      struct hls_envelope env;
      bool held = rnd(fx, 3) != 0;
      decode_env(ch, seq, held, &env);
      ASSERT_OK(hls_store_item_put(fx->store, &env, held ? HLS_BODY_HELD : HLS_BODY_STUB, fx->now_ms, &why));
      break;
    }
    case 3:
    case 4: { /* a run, in a transaction (as gossip stores them) */
      size_t n = 1 + rnd(fx, 6);
      if (ch->n + n > MAX_SEQ) break;
      struct hls_envelope envs[6];
      int states[6];
      for (size_t i = 0; i < n; i++) {
        uint64_t seq = next_item(fx, o);
        bool held = rnd(fx, 4) != 0;
        decode_env(ch, seq, held, &envs[i]);
        states[i] = held ? HLS_BODY_HELD : rnd(fx, 5) == 0 ? HLS_BODY_ERASED : HLS_BODY_STUB;
      }
      ASSERT_OK(hls_store_begin(fx->store, &why));
      ASSERT_OK(hls_store_item_put_run(fx->store, envs, states, n, fx->now_ms, &why));
      ASSERT_OK(hls_store_commit(fx->store, &why));
      break;
    }
    case 5:
    case 6: { /* a stub gets its body */
      uint64_t seq = pick(fx, o, HLS_BODY_STUB);
      if (seq == 0) break;
      struct hls_envelope env;
      decode_env(ch, seq, true, &env);
      bool changed = false;
      ASSERT_OK(hls_store_item_fill_body(fx->store, ch->pk, seq, env.body, env.body_len, &changed, &why));
      assert_true(changed);
      /* Again: nothing changes. */
      ASSERT_OK(hls_store_item_fill_body(fx->store, ch->pk, seq, env.body, env.body_len, &changed, &why));
      assert_false(changed);
      break;
    }
    case 7:
    case 8: { /* an erasure: of a held body, a stub, or one erased already */
      uint64_t seq = pick(fx, o, -1);
      if (seq == 0) break;
      if (rnd(fx, 2)) {
        ASSERT_OK(hls_store_item_erase(fx->store, ch->pk, seq, &why));
      } else { /* in a transaction */
        ASSERT_OK(hls_store_begin(fx->store, &why));
        ASSERT_OK(hls_store_item_erase(fx->store, ch->pk, seq, &why));
        ASSERT_OK(hls_store_commit(fx->store, &why));
      }
      break;
    }
    default: { /* an item held already: refused, nothing changes */
      if (ch->n == 0) break;
      struct hls_envelope env;
      decode_env(ch, 1 + rnd(fx, (uint32_t)ch->n), true, &env);
      assert_int_equal(hls_store_item_put(fx->store, &env, HLS_BODY_HELD, fx->now_ms, &why), HLS_EEXISTS);
      /* And a run ending in one: all or none, rolled back by its caller. */
      if (ch->n < MAX_SEQ) {
        struct hls_envelope run[2];
        int states[2] = {HLS_BODY_HELD, HLS_BODY_HELD};
        uint64_t seq = next_item(fx, o);
        decode_env(ch, seq, true, &run[0]);
        run[1] = env;
        ASSERT_OK(hls_store_begin(fx->store, &why));
        assert_int_equal(hls_store_item_put_run(fx->store, run, states, 2, fx->now_ms, &why), HLS_EEXISTS);
        hls_store_rollback(fx->store);
        /* That seq is free again: store it for the chain to go on. */
        ASSERT_OK(hls_store_item_put(fx->store, &run[0], HLS_BODY_HELD, fx->now_ms, &why));
      }
      break;
    }
  }
}

static void test_random_mix(void **state) {
  struct fixture *fx = *state;
  for (int i = 1; i <= 1500; i++) {
    one_write(fx);
    if (i % 100 == 0) check_summaries(fx);
  }
  /* The mix reached every kind of row. */
  sqlite3 *db = hls_store_db(fx->store);
  assert_true(q_int(db, "SELECT count(*) FROM items WHERE body_state = 2 AND type = 1") > 0);
  assert_true(q_int(db, "SELECT count(*) FROM items WHERE body_state = 2 AND type = 3") > 0);
  assert_true(q_int(db, "SELECT count(*) FROM items WHERE body_state = 1") > 0);
  assert_true(q_int(db, "SELECT count(*) FROM origins WHERE profile_seq > 1") > 0);
  assert_true(q_int(db, "SELECT count(*) FROM story_themes") > 100);
  check_summaries(fx);
}

/* An erased profile gives its place back to the one before; with none
 * held, the origin has no place and sorts last. */
static void test_profile_erased(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain *ch = &fx->chains[0];
  struct hls_envelope env;
  uint64_t seq = next_item(fx, 0); /* a profile, seq 1 */
  decode_env(ch, seq, true, &env);
  ASSERT_OK(hls_store_item_put(fx->store, &env, HLS_BODY_HELD, 5, &why));
  while (fx->chains[0].n < 40) {
    seq = next_item(fx, 0);
    decode_env(ch, seq, true, &env);
    ASSERT_OK(hls_store_item_put(fx->store, &env, HLS_BODY_HELD, 6, &why));
  }
  sqlite3 *db = hls_store_db(fx->store);
  int64_t latest = q_int(db, "SELECT max(seq) FROM items WHERE type = 1");
  check_summaries(fx);
  while (latest > 0) {
    ASSERT_OK(hls_store_item_erase(fx->store, ch->pk, (uint64_t)latest, &why));
    check_summaries(fx);
    latest = q_int(db, "SELECT ifnull(max(seq), 0) FROM items WHERE type = 1 AND body_state = 0");
  }
  assert_int_equal(q_int(db, "SELECT profile_seq IS NULL AND place_key = x'ff' FROM origins"), 1);
  uint64_t head = 0;
  uint8_t id[32];
  ASSERT_OK(hls_store_chain_head(fx->store, ch->pk, &head, id, &why));
  assert_int_equal(head, 40);
}

/* A store from before migration 11 gets its summaries from the items it
 * holds when it is opened. */
static void test_migration_fills(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  for (int i = 0; i < 600; i++) one_write(fx);
  hls_store_free(fx->store);
  fx->store = NULL;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "DROP TABLE pattern_tests;"
                                " DROP TABLE feed_withheld; ALTER TABLE pattern_events DROP COLUMN origins;"
                                " DROP TABLE published_retired; DROP TABLE successions;"
                                " DROP TABLE vouches_asked; DROP INDEX vouches_by_subject; DROP TABLE vouches;"
                                " ALTER TABLE forks DROP COLUMN published_seq; ALTER TABLE forks DROP COLUMN report_seq;"
                                " ALTER TABLE forks DROP COLUMN reporter;"
                                " DROP TABLE invite_redemptions; DROP TABLE invites; DROP TABLE join_invite;"
                                " DROP TABLE receipts; DROP INDEX receipts_owed_pending; DROP TABLE receipts_owed;"
                                " DROP INDEX records_retain_until; DROP INDEX records_scale_day; ALTER TABLE records DROP COLUMN retain_until;"
                                " DROP TRIGGER records_fts_insert; DROP TRIGGER records_fts_update; DROP TRIGGER records_fts_delete;"
                                " DROP TABLE records_fts; DROP TABLE audit; ALTER TABLE records DROP COLUMN created_by; DROP TABLE users; ALTER TABLE feeds DROP COLUMN token_hash;"
                                " DROP TABLE story_themes; DROP INDEX items_stories; DROP INDEX items_profiles; DROP INDEX items_story_ids;"
                                " DROP TABLE origins; PRAGMA user_version=10;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  ASSERT_OK(hls_store_open(&fx->store, fx->path, NULL, &why));
  check_summaries(fx);
  assert_true(q_int(hls_store_db(fx->store), "SELECT count(*) FROM origins") == N_ORIGINS);
  /* and keeps them from then on. */
  for (int i = 0; i < 300; i++) one_write(fx);
  check_summaries(fx);
}

/* A write that fails part-way outside a transaction leaves nothing: the
 * item and its summaries go together. */
static void test_failed_write_leaves_nothing(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  for (int i = 0; i < 200; i++) one_write(fx);
  check_summaries(fx);
  sqlite3 *db = hls_store_db(fx->store);
  int64_t items = q_int(db, "SELECT count(*) FROM items");
  /* story_themes refuses rows: a held story's put fails after its item
   * and its origin's row were written. */
  assert_int_equal(sqlite3_exec(db,
                                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON story_themes"
                                " BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  struct chain *ch = &fx->chains[1];
  for (int tries = 0; tries < 50; tries++) {
    uint64_t seq = next_item(fx, 1);
    struct hls_envelope env;
    decode_env(ch, seq, true, &env);
    int rc = hls_store_item_put(fx->store, &env, HLS_BODY_HELD, 9, &why);
    if (env.h.type == HLS_ENV_STORY) {
      assert_int_equal(rc, HLS_ESTORE);
      break;
    }
    ASSERT_OK(rc);
    items++;
  }
  assert_int_equal(q_int(db, "SELECT count(*) FROM items"), items);
  check_summaries(fx);
  assert_int_equal(sqlite3_exec(db, "DROP TRIGGER temp.refuse", NULL, NULL, NULL), SQLITE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_random_mix, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_erased, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_fills, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup, teardown),
  };
  return cmocka_run_group_tests_name("store_items", tests, NULL, NULL);
}
