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
#include "mp_build.h"
#include "patternsd.h"
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_full_disk_is_disk_full, setup, teardown),
  };
  return cmocka_run_group_tests_name("patternsd", tests, NULL, NULL);
}
