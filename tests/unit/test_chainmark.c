/* Unit tests for daemon/chainmark.c: the highest seq a node has signed,
 * kept in DIR/chain.head. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "chainmark.h"
#include "home.h"

struct fixture {
  char dir[64];
  uint8_t pk[32], other[32];
};

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-chainmark-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  randombytes_buf(fx->pk, sizeof fx->pk);
  randombytes_buf(fx->other, sizeof fx->other);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

static void write_text(const char *dir, const char *text) {
  char path[HLS_PATH_MAX];
  assert_int_equal(hls_home_path(dir, HLS_CHAINMARK_FILE, path), 0);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_absent_is_not_an_error(void **state) {
  struct fixture *fx = *state;
  struct hls_chainmark m;
  struct hls_why why = {{0}};
  bool present = true;
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &m, &present, &why), 0);
  assert_false(present);
  assert_int_equal(m.seq, 0);
}

static void test_save_load_round_trip_and_replace(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_chainmark m = {.seq = 7}, back;
  randombytes_buf(m.item_id, sizeof m.item_id);
  assert_int_equal(hls_chainmark_save(fx->dir, fx->pk, &m, &why), 0);
  bool present = false;
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), 0);
  assert_true(present);
  assert_int_equal(back.seq, 7);
  assert_memory_equal(back.item_id, m.item_id, 32);
  /* Replaced whole; no temporary file left; private. */
  m.seq = 123456789012ull;
  assert_int_equal(hls_chainmark_save(fx->dir, fx->pk, &m, &why), 0);
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), 0);
  assert_int_equal(back.seq, 123456789012ull);
  char path[HLS_PATH_MAX];
  struct stat st;
  assert_int_equal(hls_home_path(fx->dir, HLS_CHAINMARK_FILE ".tmp", path), 0);
  assert_int_not_equal(stat(path, &st), 0);
  assert_int_equal(hls_home_path(fx->dir, HLS_CHAINMARK_FILE, path), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_another_nodes_mark_is_refused(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_chainmark m = {.seq = 3}, back;
  assert_int_equal(hls_chainmark_save(fx->dir, fx->other, &m, &why), 0);
  bool present = false;
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "belongs to another node"));
}

static void test_malformed_marks_are_refused(void **state) {
  struct fixture *fx = *state;
  char good[512];
  struct hls_chainmark m = {.seq = 5};
  hls_chainmark_format(fx->pk, &m, good, sizeof good);
  char *seq_line = strstr(good, "seq 5");
  assert_non_null(seq_line);
  const char *bad_seqs[] = {"seq -5", "seq 5x", "seq ", "seq 99999999999999999999", "seq 9223372036854775808"};
  for (size_t i = 0; i < sizeof bad_seqs / sizeof bad_seqs[0]; i++) {
    char text[600];
    snprintf(text, sizeof text, "%.*s%s%s", (int)(seq_line - good), good, bad_seqs[i], seq_line + 5);
    write_text(fx->dir, text);
    struct hls_chainmark back;
    struct hls_why why = {{0}};
    bool present = false;
    assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), HLS_EMALFORMED);
    assert_false(present);
  }
  const char *others[] = {"", "node_id x\nseq 1\n", "garbage\n", "node_id\nseq\nitem_id\n"};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    write_text(fx->dir, others[i]);
    struct hls_chainmark back;
    struct hls_why why = {{0}};
    bool present = false;
    assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), HLS_EMALFORMED);
  }
  /* A huge file is not read whole. */
  char *big = malloc(10000);
  assert_non_null(big);
  memset(big, 'a', 9999);
  big[9999] = '\0';
  write_text(fx->dir, big);
  free(big);
  struct hls_chainmark back;
  struct hls_why why = {{0}};
  bool present = false;
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), HLS_EMALFORMED);
  /* The good text loads. */
  write_text(fx->dir, good);
  assert_int_equal(hls_chainmark_load(fx->dir, fx->pk, &back, &present, &why), 0);
  assert_int_equal(back.seq, 5);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_absent_is_not_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_load_round_trip_and_replace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_another_nodes_mark_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_marks_are_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
