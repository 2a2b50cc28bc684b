/* A fresh store in a temporary directory, for the unit tests of modules
 * that keep their tables in it (users, audit). cmocka setup/teardown. */
#ifndef HLS_STORE_FIXTURE_H
#define HLS_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"
#include "test_util.h"

/* expr must return 0; otherwise fail with its code and why.text. */
#define ASSERT_OK(expr)                                                            \
  do {                                                                             \
    int rc_ = (expr);                                                              \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text); \
  } while (0)

struct store_fixture {
  char dir[64], path[96];
  struct hls_store *store;
  sqlite3 *db; /* the store's connection */
};

static inline int store_fixture_setup(void **state) {
  struct store_fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-store-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/hlsd.db", fx->dir);
  struct hls_why why = {{0}};
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->path, &opt, &why) != 0) {
    fprintf(stderr, "open: %s\n", why.text);
    test_remove_tree(fx->dir);
    free(fx);
    return -1;
  }
  fx->db = hls_store_db(fx->store);
  *state = fx;
  return 0;
}

static inline int store_fixture_teardown(void **state) {
  struct store_fixture *fx = *state;
  hls_store_free(fx->store);
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

#endif
