/* Unit tests for daemon/patternsd.c on a real store in a temporary
 * directory, with a node of its own (loop, default configuration): what
 * the pattern store's own SQL does when the store fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mp_build.h"
#include "patfilter.h"
#include "patstore.h"
#include "chain_build.h"
#include "patterns.h"
#include "patternsd.h"
#include "patternsd_internal.h"
#include "store.h"

struct fixture {
  char dir[64];
  char db_path[128];
  struct hls_config config;
  uv_loop_t loop;
  struct hls_store *store;
  struct hls_patternsd *pd;
};

/* patternsd's clock: a fixed Monday, 2026-03-02 10:00 UTC. */
static int64_t fixed_now_ms(void *clock) {
  (void)clock;
  return 1772445600000LL;
}
static hls_day fixed_today(void *clock) {
  (void)clock;
  return hls_date_from_ymd(2026, 3, 2);
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-patternsd-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) return -1;
  snprintf(fx->db_path, sizeof fx->db_path, "%s/hlsd.db", fx->dir);
  hls_config_defaults(&fx->config);
  struct hls_why why = {{0}};
  struct hls_store_options opt = {.synchronous_full = false};
  if (uv_loop_init(&fx->loop) != 0 || hls_store_open(&fx->store, fx->db_path, &opt, &why) != 0) {
    fprintf(stderr, "setup: %s\n", why.text);
    return -1;
  }
  struct hls_patternsd_env env = {.loop = &fx->loop,
                                  .store = fx->store,
                                  .params = &fx->config.patterns,
                                  .now_ms = fixed_now_ms,
                                  .today = fixed_today};
  if (hls_patternsd_start(&fx->pd, &env, &why) != 0) {
    fprintf(stderr, "setup: %s\n", why.text);
    return -1;
  }
  /* The start-up load runs on a worker thread: the loop takes its result. */
  uint64_t deadline = uv_hrtime() + 30 * 1000000000ull;
  while (!hls_patternsd_ready(fx->pd) && uv_hrtime() < deadline) uv_run(&fx->loop, UV_RUN_ONCE);
  if (!hls_patternsd_ready(fx->pd)) {
    fprintf(stderr, "setup: the patterns were not ready in 30 s\n");
    return -1;
  }
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_patternsd_close(fx->pd);
  uv_run(&fx->loop, UV_RUN_DEFAULT); /* the timers' close callbacks */
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  hls_store_free(fx->store);
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

/* feed.subscribe {name}, as the control server calls it. */
static int subscribe(struct hls_patternsd *pd, const char *name, struct hls_why *why) {
  struct mpb args;
  struct hls_ctl_request req = {.id = 1, .cmd = "feed.subscribe"};
  req.args = mpb_build(&args, "M s s", 1, "name", name);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  struct hls_control_call call = {.req = &req, .pk = &pk};
  int rc = hls_patternsd_api_subscribe(pd, &call);
  *why = call.why;
  msgpack_sbuffer_destroy(&sb);
  mpb_free(&args);
  return rc;
}

/* A full disk while the pattern store writes (a new feed's row) is
 * disk_full, as everywhere else in the store, not store_error. The disk
 * is "full" at the pages the database has now (PRAGMA max_page_count). */
static void test_full_disk_is_disk_full(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  sqlite3 *db = hls_store_db(fx->store);
  assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1; SELECT 1", NULL, NULL, NULL), SQLITE_OK);
  int rc = 0;
  for (int i = 0; rc == 0 && i < 10000; i++) {
    char name[65];
    snprintf(name, sizeof name, "feed-%05d-%053d", i, 0);
    rc = subscribe(fx->pd, name, &why);
  }
  if (rc != HLS_EDISKFULL) fail_msg("feed.subscribe on a full disk: %s (%s)", hls_err_name(rc), why.text);
  assert_non_null(strstr(why.text, "full"));
}

/* --- the start-up load ---------------------------------------------------------------- */

/* A digest of one cell of theme, for week 2026-Wweek (a week number above
 * 100: (week / 100)-W(week % 100)). */
static void add_digest(struct chain *c, const char *theme, int week) {
  int year = week > 100 ? week / 100 : 2026;
  week = week > 100 ? week % 100 : week;
  struct hls_digest_cell cell;
  memset(&cell, 0, sizeof cell);
  snprintf(cell.theme, sizeof cell.theme, "%s", theme);
  cell.kind = HLS_KIND_PROBLEM;
  cell.scale = HLS_SCALE_PLACE;
  cell.stage = HLS_STAGE_REFLECT;
  cell.count = 4;
  struct hls_digest d = {.iso_year = year, .iso_week = week, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_digest_pack(&body, &d), 0);
  chain_add(c, HLS_ENV_DIGEST, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

/* Store item seq of c with its body; tell pd (if not NULL) as gossip does. */
static void put(struct fixture *fx, const struct chain *c, uint64_t seq) {
  struct hls_envelope env;
  struct hls_why why = {{0}};
  blob_decode(&env, chain_at(c, seq));
  if (hls_store_item_put(fx->store, &env, HLS_BODY_HELD, 1, &why) != 0) fail_msg("put: %s", why.text);
  if (fx->pd != NULL) hls_patternsd_item(fx->pd, &env);
}

static void restart_env(struct fixture *fx, struct hls_patternsd_env env) {
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  env.loop = &fx->loop;
  env.store = fx->store;
  env.params = &fx->config.patterns;
  env.now_ms = fixed_now_ms;
  env.today = fixed_today;
  struct hls_why why = {{0}};
  if (hls_patternsd_start(&fx->pd, &env, &why) != 0) fail_msg("start: %s", why.text);
}

static void restart_with(struct fixture *fx, size_t max_changes_while_loading) {
  restart_env(fx, (struct hls_patternsd_env){.max_changes_while_loading = max_changes_while_loading});
}

static void restart(struct fixture *fx) { restart_with(fx, 0); }

static void run_until_ready(struct fixture *fx) {
  uint64_t deadline = uv_hrtime() + 30 * 1000000000ull;
  while (!hls_patternsd_ready(fx->pd) && uv_hrtime() < deadline) uv_run(&fx->loop, UV_RUN_ONCE);
  assert_true(hls_patternsd_ready(fx->pd));
}

/* Places reporting theme (problem) in the engine, and the latest week one did. */
static uint32_t theme_places(struct hls_patternsd *pd, const char *theme, int *last_iso_week) {
  struct hls_pat_stats st;
  hls_patterns_stats(pd->pt, &st);
  for (uint32_t t = 0; t < st.themes; t++) {
    const char *name;
    int kind;
    uint32_t places;
    int32_t last;
    assert_int_equal(hls_patterns_theme_info(pd->pt, t, &name, &kind), 0);
    if (strcmp(name, theme) != 0 || kind != HLS_KIND_PROBLEM) continue;
    assert_int_equal(hls_patterns_theme_usage(pd->pt, t, &places, &last), 0);
    int y = 0, w = 0;
    if (places > 0) hls_patterns_iso_week(last, &y, &w);
    *last_iso_week = w;
    return places;
  }
  *last_iso_week = 0;
  return 0;
}

/* hlsd answers at once after a start: the items held are read on a worker
 * thread, from a snapshot. What is stored or erased meanwhile (a peer goes
 * on sending) must still reach the engine, whether the worker had read the
 * item or not: new items by the catch-up after the snapshot's last rowid,
 * changes to items it may have read by being applied again. */
static void test_start_load_misses_nothing_stored_meanwhile(void **state) {
  struct fixture *fx = *state;
  struct chain a, b, c;
  chain_init(&a, 1);
  chain_init(&b, 2);
  chain_init(&c, 3);
  struct hls_profile p;
  profile_of_place(&p, "Alpha");
  chain_add_profile_of(&a, &p);
  profile_of_place(&p, "Beta");
  chain_add_profile_of(&b, &p);
  profile_of_place(&p, "Gamma");
  chain_add_profile_of(&c, &p);
  for (int w = 1; w <= 4; w++) add_digest(&a, "loneliness", w);
  add_digest(&b, "loneliness", 2);
  for (int w = 1; w <= 4; w++) add_digest(&c, "housing", w);
  add_digest(&c, "loneliness", 5);
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  /* Held before the start: a, b, and c but for its last digest. */
  for (uint64_t s = 1; s <= a.n; s++) put(fx, &a, s);
  for (uint64_t s = 1; s <= b.n; s++) put(fx, &b, s);
  for (uint64_t s = 1; s < c.n; s++) put(fx, &c, s);

  restart(fx);
  /* The worker's result reaches the loop only when the loop runs. */
  assert_false(hls_patternsd_ready(fx->pd));
  struct hls_why why = {{0}};
  assert_int_equal(hls_patternsd__need_engine(fx->pd, &why), HLS_EBUSY);
  assert_non_null(strstr(why.text, "still being computed"));
  /* Meanwhile: c's new digest arrives, and b's digest is erased. */
  put(fx, &c, c.n);
  assert_int_equal(hls_store_item_erase(fx->store, b.k.pk, 2, &why), 0);
  hls_patternsd_erased(fx->pd, b.k.pk, 2);
  run_until_ready(fx);

  int week = 0;
  assert_int_equal(theme_places(fx->pd, "loneliness", &week), 2); /* a and c; b's was erased */
  assert_int_equal(week, 5);                                       /* c's, stored during the load */
  assert_int_equal(theme_places(fx->pd, "housing", &week), 1);
  assert_int_equal(week, 4);
  assert_int_equal(hls_patternsd__need_engine(fx->pd, &why), 0);

  /* A second start reads the same from the store alone. */
  restart(fx);
  run_until_ready(fx);
  assert_int_equal(theme_places(fx->pd, "loneliness", &week), 2);
  assert_int_equal(week, 5);
  chain_free(&a);
  chain_free(&b);
  chain_free(&c);
}

/* More changes to items the worker may have read than the load keeps
 * (here 2): the load is dropped and starts again, reading them all from
 * the store; none is lost. */
static void test_too_many_changes_restart_the_load(void **state) {
  struct fixture *fx = *state;
  struct chain a, b;
  chain_init(&a, 5);
  chain_init(&b, 6);
  struct hls_profile p;
  profile_of_place(&p, "Alpha");
  chain_add_profile_of(&a, &p);
  profile_of_place(&p, "Beta");
  chain_add_profile_of(&b, &p);
  for (int w = 1; w <= 4; w++) add_digest(&a, "loneliness", w);
  for (int w = 1; w <= 4; w++) add_digest(&b, "loneliness", w);
  add_digest(&b, "housing", 5);
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  for (uint64_t s = 1; s <= a.n; s++) put(fx, &a, s);
  for (uint64_t s = 1; s <= b.n; s++) put(fx, &b, s);
  restart_with(fx, 2);
  assert_false(hls_patternsd_ready(fx->pd));
  /* Every loneliness digest of a erased while the worker reads: four
   * changes, two more than kept. */
  struct hls_why why = {{0}};
  for (uint64_t s = 2; s <= 5; s++) {
    assert_int_equal(hls_store_item_erase(fx->store, a.k.pk, s, &why), 0);
    hls_patternsd_erased(fx->pd, a.k.pk, s);
  }
  run_until_ready(fx);
  assert_true(fx->pd->load_restarts >= 1);
  int week = 0;
  assert_int_equal(theme_places(fx->pd, "loneliness", &week), 1); /* b alone */
  assert_int_equal(theme_places(fx->pd, "housing", &week), 1);
  assert_int_equal(week, 5);
  chain_free(&a);
  chain_free(&b);
}

/* 113 consecutive ISO weeks, 2024-W01 to 2026-W09 (2024 and 2025 have 52). */
static int nth_week(int i) { return i < 52 ? 202401 + i : i < 104 ? 202501 + (i - 52) : 202601 + (i - 104); }

/* Chains c[0..places] (keys key, key + 1, ...), each with a profile
 * "Place N"; c[0..places-1] with a digest of weeks nth_week(0..weeks-1)
 * (housing or loneliness, alternately), all stored while patternsd is
 * stopped (fx->pd NULL: restart it); c[places] is left for the test. */
static void weekly_places(struct fixture *fx, struct chain *c, int places, int weeks, uint8_t key) {
  struct hls_profile p;
  char name[32];
  for (int o = 0; o <= places; o++) {
    chain_init(&c[o], (uint8_t)(key + o));
    snprintf(name, sizeof name, "Place %d", o);
    profile_of_place(&p, name);
    chain_add_profile_of(&c[o], &p);
  }
  for (int o = 0; o < places; o++)
    for (int i = 0; i < weeks; i++) add_digest(&c[o], o % 2 ? "loneliness" : "housing", nth_week(i));
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  for (int o = 0; o < places; o++)
    for (uint64_t s = 1; s <= c[o].n; s++) put(fx, &c[o], s);
}

/* An update that would recompute much of the engine (a new place whose
 * first digest is far back: every theme's tests from that week on) is not
 * run on the loop: the engine is built again on the worker. A digest of
 * the latest week, which recomputes a few weeks of one theme, is computed
 * on the loop. */
static void test_heavy_update_goes_to_the_worker(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 10, WEEKS = 113 };
  struct chain c[PLACES + 1];
  weekly_places(fx, c, PLACES, WEEKS, 20);
  restart(fx);
  run_until_ready(fx);
  uint64_t rebuilds = fx->pd->rebuilds;
  assert_true(fx->pd->full_compute_ms > 0);
  /* Heavy: over half of a computation from scratch. */
  fx->pd->env.max_update_ms = fx->pd->full_compute_ms / 2;

  /* Place 0 publishes its latest week again: computed on the loop. */
  add_digest(&c[0], "housing", nth_week(WEEKS - 1));
  double share_before = hls_patterns_pending_share(fx->pd->pt);
  put(fx, &c[0], c[0].n);
  assert_true(hls_patterns_pending_share(fx->pd->pt) > share_before);
  assert_true(hls_patterns_pending_share(fx->pd->pt) < 0.5);
  assert_int_equal(fx->pd->heavy_updates, 0);
  assert_true(hls_patternsd_ready(fx->pd));
  uint64_t deadline = uv_hrtime() + 30 * 1000000000ull;
  while (hls_patterns_dirty(fx->pd->pt) && uv_hrtime() < deadline) uv_run(&fx->loop, UV_RUN_ONCE);
  assert_false(hls_patterns_dirty(fx->pd->pt));
  assert_int_equal(fx->pd->rebuilds, rebuilds);

  /* A new place whose first digest is the first week held: every theme
   * from there on. The engine of before answers meanwhile. */
  add_digest(&c[PLACES], "loneliness", nth_week(0));
  put(fx, &c[PLACES], 1);
  put(fx, &c[PLACES], 2);
  assert_int_equal(fx->pd->heavy_updates, 1);
  assert_false(hls_patternsd_ready(fx->pd));
  struct hls_why why = {{0}};
  assert_int_equal(hls_patternsd__need_engine(fx->pd, &why), 0);
  run_until_ready(fx);
  assert_int_equal(fx->pd->rebuilds, rebuilds + 1);
  int week = 0;
  assert_int_equal(theme_places(fx->pd, "loneliness", &week), PLACES / 2 + 1);
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

static int32_t week_of(int yyyyww) {
  int32_t w;
  assert_int_equal(hls_patterns_week(yyyyww / 100, yyyyww % 100, &w), 0);
  return w;
}

/* With limits.patterns_late_weeks (here 8), the engine loaded at start
 * freezes the weeks before the latest digest's less 8, and freezes on
 * as new weeks come; a fact of a frozen week (a new place's history) is
 * refused by the engine and the engine is built again from the store, on
 * the worker (here at once: the least time between loads is 1 ms), and
 * then holds it. A fact of a week not frozen is computed on the loop.
 * The engine keeps the cells of the last 8 + 43 (the weeks its tests
 * read back) + 1 weeks: 52 of the 112, under half (the fixture's clock
 * leaves out digests of weeks after 2026-W11, week 114). */
static void test_late_fact_is_built_again(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 6, WEEKS = 112, LATE = 8 };
  struct chain c[PLACES + 1];
  weekly_places(fx, c, PLACES, WEEKS, 40);
  restart_env(fx, (struct hls_patternsd_env){.late_weeks = LATE, .late_rebuild_min_ms = 1});
  run_until_ready(fx);
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), week_of(nth_week(WEEKS - 1)) - LATE);
  struct hls_pat_stats st;
  hls_patterns_stats(fx->pd->pt, &st);
  assert_int_equal(st.digests, PLACES * WEEKS);
  assert_true(st.cells < st.digests / 2); /* one cell a digest: most given up */

  /* A new week: computed on the loop, and one more week frozen. */
  add_digest(&c[0], "housing", nth_week(WEEKS));
  put(fx, &c[0], c[0].n);
  uint64_t deadline = uv_hrtime() + 30 * 1000000000ull;
  while (hls_patterns_dirty(fx->pd->pt) && uv_hrtime() < deadline) uv_run(&fx->loop, UV_RUN_ONCE);
  assert_false(hls_patterns_dirty(fx->pd->pt));
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), week_of(nth_week(WEEKS)) - LATE);
  assert_int_equal(fx->pd->late_rebuilds, 0);

  /* A new place's history from a frozen week on: refused by the engine,
   * then built again. */
  add_digest(&c[PLACES], "transport", nth_week(10));
  add_digest(&c[PLACES], "transport", nth_week(WEEKS));
  put(fx, &c[PLACES], 1);
  put(fx, &c[PLACES], 2);
  int week = 0;
  assert_int_equal(fx->pd->stale_facts, 1);
  assert_int_equal(theme_places(fx->pd, "transport", &week), 0); /* not yet */
  deadline = uv_hrtime() + 30 * 1000000000ull;
  while ((fx->pd->late_rebuilds == 0 || !hls_patternsd_ready(fx->pd)) && uv_hrtime() < deadline)
    uv_run(&fx->loop, UV_RUN_ONCE);
  assert_int_equal(fx->pd->late_rebuilds, 1);
  assert_true(hls_patternsd_ready(fx->pd));
  assert_int_equal(theme_places(fx->pd, "transport", &week), 1);
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), week_of(nth_week(WEEKS)) - LATE);

  /* Its next week is taken on the loop. */
  add_digest(&c[PLACES], "transport", nth_week(WEEKS + 1));
  put(fx, &c[PLACES], 4);
  while (hls_patterns_dirty(fx->pd->pt) && uv_hrtime() < deadline) uv_run(&fx->loop, UV_RUN_ONCE);
  assert_int_equal(fx->pd->stale_facts, 1);
  assert_int_equal(theme_places(fx->pd, "transport", &week), 1);
  int y = 0, w = 0;
  hls_patterns_iso_week(week_of(nth_week(WEEKS + 1)), &y, &w);
  assert_int_equal(week, w);
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

/* weekly_places, and a theme taken up late by half the places, and a
 * jump, so that tests find something. */
static void weekly_places_taking_up(struct fixture *fx, struct chain *c, int places, int weeks, uint8_t key) {
  weekly_places(fx, c, places, weeks, key);
  for (int o = 0; o < places; o += 2) {
    add_digest(&c[o], "transport", nth_week(weeks - 20 + o));
    put(fx, &c[o], c[o].n);
  }
}

/* With weeks frozen the start-up load reads digests week by week and
 * freezes as it goes: the engine it ends with computed what the load of
 * every item at once computes (every test's result alike), and holds
 * fewer cells. */
static void test_week_ordered_load_is_the_same(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 8, WEEKS = 112, LATE = 8 };
  struct chain c[PLACES + 1];
  weekly_places_taking_up(fx, c, PLACES, WEEKS, 60);
  uint8_t whole[32], by_week[32];
  struct hls_pat_stats sw, sb;
  restart_env(fx, (struct hls_patternsd_env){0});
  run_until_ready(fx);
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), INT32_MIN);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, whole), 0);
  hls_patterns_stats(fx->pd->pt, &sw);
  restart_env(fx, (struct hls_patternsd_env){.late_weeks = LATE});
  run_until_ready(fx);
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), week_of(nth_week(WEEKS - 1)) - LATE);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, by_week), 0);
  hls_patterns_stats(fx->pd->pt, &sb);
  assert_memory_equal(whole, by_week, sizeof whole);
  assert_int_equal(sb.digests, sw.digests);
  assert_int_equal(sb.patterns, sw.patterns);
  assert_true(sb.cells < sw.cells / 2);
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

static int64_t saved_tests_bytes(struct fixture *fx) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(fx->db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT ifnull(sum(length(body)), 0) FROM pattern_tests", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void store_sql(struct fixture *fx, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(fx->db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* The load saves the tests of the weeks it froze (pattern_tests), and the
 * next start takes them instead of computing them: the same tests to the
 * bit. A copy damaged in the store is refused, logged and written again;
 * a correction of a frozen week stored while hlsd was down is taken from
 * its week on, and the tests are those of a load without a copy. */
static void test_saved_tests_at_restart(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 8, WEEKS = 112, LATE = 8 };
  struct chain c[PLACES + 1];
  weekly_places_taking_up(fx, c, PLACES, WEEKS, 110);
  struct hls_patternsd_env env = {.late_weeks = LATE};
  int32_t frozen = week_of(nth_week(WEEKS - 1)) - LATE;
  uint8_t first[32], again[32];
  restart_env(fx, env);
  run_until_ready(fx);
  assert_int_equal(fx->pd->taken_before, INT32_MIN);
  assert_int_equal(hls_patterns_frozen_before(fx->pd->pt), frozen);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, first), 0);
  int64_t bytes = saved_tests_bytes(fx);
  assert_true(bytes > 0);
  restart_env(fx, env);
  run_until_ready(fx);
  assert_int_equal(fx->pd->taken_before, frozen);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, again), 0);
  assert_memory_equal(first, again, sizeof first);

  /* damaged in the store: refused, computed, saved again */
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  store_sql(fx, "UPDATE pattern_tests SET body = substr(body, 1, 1000)");
  char *logged = NULL;
  size_t logged_len = 0;
  FILE *log = open_memstream(&logged, &logged_len);
  assert_non_null(log);
  hls_log_set_stream(log);
  restart_env(fx, env);
  run_until_ready(fx);
  hls_log_flush(true);
  hls_log_set_stream(NULL);
  fclose(log);
  assert_non_null(strstr(logged, "event=patterns_saved_tests_refused detail=\"patterns: saved tests: "));
  free(logged);
  assert_int_equal(fx->pd->taken_before, INT32_MIN);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, again), 0);
  assert_memory_equal(first, again, sizeof first);
  assert_int_equal(saved_tests_bytes(fx), bytes);

  /* a correction of week 30, stored while stopped */
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  add_digest(&c[3], "transport", nth_week(30));
  put(fx, &c[3], c[3].n);
  restart_env(fx, env);
  run_until_ready(fx);
  assert_int_equal(fx->pd->taken_before, week_of(nth_week(30)));
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, first), 0);
  store_sql(fx, "DELETE FROM pattern_tests");
  restart_env(fx, env);
  run_until_ready(fx);
  assert_int_equal(fx->pd->taken_before, INT32_MIN);
  assert_int_equal(hls_patterns_tests_hash(fx->pd->pt, again), 0);
  assert_memory_equal(first, again, sizeof first);
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

/* The week-ordered load's digests are read and decoded on a thread of
 * their own: a digest whose body was damaged in the store (cut short: its
 * head, which the first pass reads, is whole) is left out and logged once,
 * and the load gives every other digest to the engine; the digests cross
 * several of the reader's batches. */
static void test_week_ordered_load_leaves_out_a_damaged_digest(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 6, WEEKS = 100, LATE = 8 };
  struct chain c[PLACES + 1];
  weekly_places(fx, c, PLACES, WEEKS, 70);
  restart_env(fx, (struct hls_patternsd_env){.late_weeks = LATE});
  run_until_ready(fx);
  struct hls_pat_stats whole;
  hls_patterns_stats(fx->pd->pt, &whole);
  assert_int_equal(whole.digests, PLACES * WEEKS);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(fx->db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "UPDATE items SET body = substr(body, 1, length(body) - 1) WHERE rowid ="
                                " (SELECT rowid FROM items WHERE type = 2 ORDER BY rowid LIMIT 1 OFFSET 250)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_close(db);
  char *logged = NULL;
  size_t logged_len = 0;
  FILE *log = open_memstream(&logged, &logged_len);
  assert_non_null(log);
  hls_log_set_stream(log);
  restart_env(fx, (struct hls_patternsd_env){.late_weeks = LATE});
  run_until_ready(fx);
  hls_log_flush(true);
  hls_log_set_stream(NULL);
  fclose(log);
  struct hls_pat_stats got;
  hls_patterns_stats(fx->pd->pt, &got);
  assert_int_equal(got.digests, PLACES * WEEKS - 1);
  assert_true(hls_patterns_frozen_before(fx->pd->pt) != INT32_MIN);
  assert_non_null(strstr(logged, "event=patterns_input_failed count=1 "));
  free(logged);
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

/* Closed while a week-ordered load reads more digests than the reader's
 * batches hold: the close waits for the load to stop, and nothing is
 * left running or allocated (the sanitizers' build checks the latter). */
static void test_close_during_week_ordered_load(void **state) {
  struct fixture *fx = *state;
  enum { PLACES = 12, WEEKS = 104 };
  struct chain c[PLACES + 1];
  weekly_places(fx, c, PLACES, WEEKS, 90);
  for (int round = 0; round < 3; round++) {
    restart_env(fx, (struct hls_patternsd_env){.late_weeks = 8});
    assert_false(hls_patternsd_ready(fx->pd));
    /* later each round: during the first pass, the second, an update */
    for (int k = 0; k < round * 20; k++) uv_run(&fx->loop, UV_RUN_NOWAIT);
    hls_patternsd_close(fx->pd);
    fx->pd = NULL;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_alive(&fx->loop), 0);
  }
  for (int o = 0; o <= PLACES; o++) chain_free(&c[o]);
}

/* A burst of items (a catch-up) is not fed one by one: once more than
 * BULK_MIN_ITEMS (1,000) come within 10 s, hlsd waits for the burst to
 * end and builds the engine again from the store, answering from the
 * previous engine meanwhile; the result holds every item. */
static void test_burst_is_computed_once_it_ends(void **state) {
  struct fixture *fx = *state;
  enum { ORIGINS = 22, WEEKS = 50 };
  struct chain *c = calloc(ORIGINS, sizeof *c);
  assert_non_null(c);
  for (int o = 0; o < ORIGINS; o++) {
    chain_init(&c[o], 0);
    /* a key of its own (chain_init's seed byte would repeat) */
    uint8_t seed[crypto_sign_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(o * 13 + i * 7 + 1);
    seed[0] = (uint8_t)o;
    seed[1] = (uint8_t)(o >> 8);
    assert_int_equal(crypto_sign_seed_keypair(c[o].k.pk, c[o].k.sk, seed), 0);
    for (int w = 1; w <= WEEKS; w++) add_digest(&c[o], o % 2 ? "loneliness" : "housing", 202500 + w);
  }
  struct hls_why why = {{0}};
  assert_int_equal(hls_patternsd__need_engine(fx->pd, &why), 0);
  for (int o = 0; o < ORIGINS; o++)
    for (uint64_t s = 1; s <= c[o].n; s++) put(fx, &c[o], s);
  /* 1,100 items in well under 10 s: a burst. The engine of before still
   * answers. */
  assert_false(hls_patternsd_ready(fx->pd));
  assert_int_equal(hls_patternsd__need_engine(fx->pd, &why), 0);
  run_until_ready(fx);
  assert_int_equal(fx->pd->rebuilds, 1);
  struct hls_pat_stats st;
  hls_patterns_stats(fx->pd->pt, &st);
  assert_int_equal(st.digests, ORIGINS * WEEKS);
  int week = 0;
  assert_int_equal(theme_places(fx->pd, "loneliness", &week), ORIGINS / 2);
  assert_int_equal(week, WEEKS); /* 2025-W50 */
  assert_int_equal(theme_places(fx->pd, "housing", &week), ORIGINS / 2);
  for (int o = 0; o < ORIGINS; o++) chain_free(&c[o]);
  free(c);
}

/* Closing while the worker still reads stops it and frees everything
 * (ASan checks the leaks); nothing is left for the loop but the close. */
static void test_close_during_load(void **state) {
  struct fixture *fx = *state;
  struct chain a;
  chain_init(&a, 4);
  struct hls_profile p;
  profile_of_place(&p, "Delta");
  chain_add_profile_of(&a, &p);
  for (int w = 1; w <= 30; w++) add_digest(&a, "loneliness", w % 52 + 1);
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  for (uint64_t s = 1; s <= a.n; s++) put(fx, &a, s);
  restart(fx);
  assert_false(hls_patternsd_ready(fx->pd));
  hls_patternsd_close(fx->pd);
  fx->pd = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_alive(&fx->loop), 0);
  chain_free(&a);
}

/* --- feeds --vouched (docs/patterns.md "Feeds of vouched places") ----------------------- */

struct got_event {
  int64_t seq;
  uint8_t id[HLS_PAT_ID_BYTES];
  uint8_t origins[3 * HLS_KEY_BYTES];
  size_t n_origins;
  enum hls_patfilter_verdict verdict;
  const struct hls_patfilter *f;
};

static int take_event(void *ctx, const struct hls_patstore_event *e) {
  struct got_event *g = ctx;
  g->seq = e->seq;
  assert_non_null(e->id);
  memcpy(g->id, e->id, HLS_PAT_ID_BYTES);
  g->n_origins = e->row.origins != NULL ? e->row.n_origins : 0;
  assert_true(g->n_origins <= 3);
  if (g->n_origins) memcpy(g->origins, e->row.origins, g->n_origins * HLS_KEY_BYTES);
  g->verdict = hls_patfilter_judge(g->f, &e->row);
  return 0;
}

/* An event keeps its places' node ids; a stored --vouched filter judges
 * them with the places vouched at the time (one rule with hls patterns:
 * the signal's minimum counts vouched places only); a feed keeps the
 * latest event of a pattern it held back, until one up to it is sent. */
static void test_feed_vouched_rule_and_withheld(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_patstore *ps;
  assert_int_equal(hls_patstore_open(&ps, hls_store_db(fx->store), &why), 0);
  uint8_t origins[3 * HLS_KEY_BYTES];
  for (int i = 0; i < 3; i++) memset(origins + i * HLS_KEY_BYTES, 0x10 * (i + 1), HLS_KEY_BYTES);
  const uint8_t id[HLS_PAT_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
  struct hls_patrow row = {.signal = HLS_PAT_SPREAD, .theme = "housing", .week_from = 2900, .week_to = 2907,
                           .n_places = 3, .scales = 1, .regions = "North\n", .strength = 3, .live = true,
                           .region = "", .places = "A\nB\nC\n", .summary = "\x80", .summary_len = 1,
                           .origins = origins, .n_origins = 3};
  int64_t seq_with = 0, seq_without = 0;
  assert_int_equal(hls_patstore_add_event(ps, id, HLS_PAT_NEW, &row, NULL, 1, &why), 0);
  assert_int_equal(hls_patstore_last_event(ps, &seq_with, &why), 0);
  row.origins = NULL; /* none kept */
  assert_int_equal(hls_patstore_add_event(ps, id, HLS_PAT_NEW, &row, NULL, 2, &why), 0);
  assert_int_equal(hls_patstore_last_event(ps, &seq_without, &why), 0);

  /* The filter as a feed stores it (the flag only), then judged. */
  struct mpb args;
  struct hls_patfilter f;
  assert_int_equal(hls_patfilter_parse(mpb_build(&args, "M s s s t", 2, "theme", "housing", "vouched"), &f, &why), 0);
  mpb_free(&args);
  assert_true(f.vouched);
  f.include_ended = true;
  struct got_event g = {.f = &f};
  /* Not yet judged (no places set): nothing passes. */
  assert_int_equal(hls_patstore_event_get(ps, seq_with, take_event, &g, &why), 0);
  assert_int_equal(g.n_origins, 3);
  assert_memory_equal(g.origins, origins, sizeof origins);
  assert_memory_equal(g.id, id, sizeof id);
  assert_int_equal(g.verdict, HLS_PATFILTER_UNVOUCHED);
  /* Two of three vouched: below the spread's minimum (3). */
  hls_patfilter_set_vouched(&f, origins, 2, &fx->config.patterns);
  assert_int_equal(hls_patstore_event_get(ps, seq_with, take_event, &g, &why), 0);
  assert_int_equal(g.verdict, HLS_PATFILTER_UNVOUCHED);
  hls_patfilter_set_vouched(&f, origins, 3, &fx->config.patterns);
  assert_int_equal(hls_patstore_event_get(ps, seq_with, take_event, &g, &why), 0);
  assert_int_equal(g.verdict, HLS_PATFILTER_YES);
  /* An event whose places were not kept never passes --vouched. */
  assert_int_equal(hls_patstore_event_get(ps, seq_without, take_event, &g, &why), 0);
  assert_int_equal(g.n_origins, 0);
  assert_int_equal(g.verdict, HLS_PATFILTER_UNVOUCHED);
  /* Another theme: not selected, whoever is vouched. */
  assert_int_equal(hls_patfilter_parse(mpb_build(&args, "M s s s t", 2, "theme", "damp", "vouched"), &f, &why), 0);
  mpb_free(&args);
  hls_patfilter_set_vouched(&f, origins, 3, &fx->config.patterns);
  assert_int_equal(hls_patstore_event_get(ps, seq_with, take_event, &g, &why), 0);
  assert_int_equal(g.verdict, HLS_PATFILTER_NO);
  assert_int_equal(hls_patstore_event_get(ps, seq_without + 1, take_event, &g, &why), HLS_ENOTFOUND);

  /* Held back: the latest of a pattern; sending one up to it clears it. */
  int64_t *seqs;
  size_t n;
  assert_int_equal(hls_patstore_feed_withhold(ps, "trusted", id, seq_without, &why), 0);
  assert_int_equal(hls_patstore_feed_withhold(ps, "trusted", id, seq_with, &why), 0); /* older: kept the later */
  assert_int_equal(hls_patstore_feed_withheld(ps, "trusted", &seqs, &n, &why), 0);
  assert_int_equal(n, 1);
  assert_int_equal(seqs[0], seq_without);
  free(seqs);
  assert_int_equal(hls_patstore_feed_unwithhold(ps, "trusted", id, seq_with, &why), 0); /* before it: stays */
  assert_int_equal(hls_patstore_feed_withheld(ps, "trusted", &seqs, &n, &why), 0);
  assert_int_equal(n, 1);
  free(seqs);
  assert_int_equal(hls_patstore_feed_unwithhold(ps, "trusted", id, seq_without, &why), 0);
  assert_int_equal(hls_patstore_feed_withheld(ps, "trusted", &seqs, &n, &why), 0);
  assert_int_equal(n, 0);
  assert_null(seqs);
  /* Unsubscribing forgets what the feed held back. */
  assert_int_equal(subscribe(fx->pd, "trusted", &why), 0);
  assert_int_equal(hls_patstore_feed_withhold(ps, "trusted", id, seq_with, &why), 0);
  bool deleted = false;
  assert_int_equal(hls_patstore_feed_delete(ps, "trusted", &deleted, &why), 0);
  assert_true(deleted);
  assert_int_equal(hls_patstore_feed_withheld(ps, "trusted", &seqs, &n, &why), 0);
  assert_int_equal(n, 0);
  hls_patstore_free(ps);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_full_disk_is_disk_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_feed_vouched_rule_and_withheld, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_load_misses_nothing_stored_meanwhile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_during_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_too_many_changes_restart_the_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_heavy_update_goes_to_the_worker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_burst_is_computed_once_it_ends, setup, teardown),
      cmocka_unit_test_setup_teardown(test_late_fact_is_built_again, setup, teardown),
      cmocka_unit_test_setup_teardown(test_week_ordered_load_is_the_same, setup, teardown),
      cmocka_unit_test_setup_teardown(test_saved_tests_at_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_week_ordered_load_leaves_out_a_damaged_digest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_during_week_ordered_load, setup, teardown),
  };
  return cmocka_run_group_tests_name("patternsd", tests, NULL, NULL);
}
