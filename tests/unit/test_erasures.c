/* Unit tests for daemon/erasures.c: DIR/erased, the records a node
 * deleted, kept outside the store so that a restore does not bring them
 * back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erasures.h"

static int setup(void **state) {
  char *dir = malloc(64);
  if (dir == NULL) return -1;
  snprintf(dir, 64, "/tmp/hls-test-erasures-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    free(dir);
    return -1;
  }
  *state = dir;
  return 0;
}

static int teardown(void **state) {
  char *dir = *state, path[128];
  snprintf(path, sizeof path, "%s/%s", dir, HLS_ERASURES_FILE);
  unlink(path);
  rmdir(dir);
  free(dir);
  return 0;
}

static void load(const char *dir, int64_t from, struct hls_erasure **e, size_t *n, int64_t *end, bool *shorter) {
  struct hls_why why = {{0}};
  int rc = hls_erasures_load(dir, from, e, n, end, shorter, &why);
  if (rc != 0) fail_msg("load: %s (%s)", hls_err_name(rc), why.text);
}

static void test_append_then_load(void **state) {
  const char *dir = *state;
  struct hls_erasure *e;
  size_t n;
  int64_t end, end1;
  bool shorter;
  struct hls_why why = {{0}};
  /* No file: nothing, and nothing is shorter than 0. */
  load(dir, 0, &e, &n, &end, &shorter);
  assert_int_equal(n, 0);
  assert_int_equal(end, 0);
  assert_false(shorter);
  const struct hls_erasure first[] = {{1, 1796570199340}, {5, -3}};
  assert_int_equal(hls_erasures_append(dir, first, 2, &why), 0);
  load(dir, 0, &e, &n, &end1, &shorter);
  assert_int_equal(n, 2);
  assert_int_equal(e[0].record_id, 1);
  assert_int_equal(e[0].created_ms, 1796570199340);
  assert_int_equal(e[1].record_id, 5);
  assert_int_equal(e[1].created_ms, -3);
  free(e);
  /* The file is private, and starts with what it is. */
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, HLS_ERASURES_FILE);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(end1, st.st_size);
  /* From where a load ended, only what came after. */
  const struct hls_erasure second = {9, 42};
  assert_int_equal(hls_erasures_append(dir, &second, 1, &why), 0);
  load(dir, end1, &e, &n, &end, &shorter);
  assert_int_equal(n, 1);
  assert_int_equal(e[0].record_id, 9);
  assert_false(shorter);
  free(e);
  /* A place past the end (the list was replaced by a shorter one): all of
   * it, and said. */
  load(dir, end + 1000, &e, &n, &end, &shorter);
  assert_int_equal(n, 3);
  assert_true(shorter);
  free(e);
}

static void test_torn_line(void **state) {
  const char *dir = *state;
  struct hls_erasure *e;
  size_t n;
  int64_t end, before;
  bool shorter;
  struct hls_why why = {{0}};
  const struct hls_erasure one = {3, 17};
  assert_int_equal(hls_erasures_append(dir, &one, 1, &why), 0);
  load(dir, 0, &e, &n, &before, &shorter);
  free(e);
  /* A crash cut the next line short. */
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, HLS_ERASURES_FILE);
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "4 18", 4), 4);
  close(fd);
  /* The cut line is not read, and the load ends before it. */
  load(dir, 0, &e, &n, &end, &shorter);
  assert_int_equal(n, 1);
  assert_int_equal(end, before);
  free(e);
  /* The next append ends it first: the cut line stays a line of its own
   * (not "4 185 20"), and the new one is read. A cut line that parses names
   * a creation time no record has (a cut "4 1796570199340"), so it deletes
   * nothing. */
  const struct hls_erasure next = {5, 20};
  assert_int_equal(hls_erasures_append(dir, &next, 1, &why), 0);
  load(dir, before, &e, &n, &end, &shorter);
  assert_int_equal(n, 2);
  assert_int_equal(e[0].record_id, 4);
  assert_int_equal(e[0].created_ms, 18);
  assert_int_equal(e[1].record_id, 5);
  assert_int_equal(e[1].created_ms, 20);
  free(e);
}

static void test_parse_skips_bad_lines(void **state) {
  (void)state;
  const char text[] = "# comment\n0 5\n-1 2\n7 x\n 8 9\n10 9 \n99999999999999999999 1\n11 -4\n12 3";
  struct hls_erasure *e;
  size_t n, whole;
  struct hls_why why = {{0}};
  assert_int_equal(hls_erasures_parse(text, sizeof text - 1, &e, &n, &whole, &why), 0);
  assert_int_equal(n, 1);
  assert_int_equal(e[0].record_id, 11);
  assert_int_equal(e[0].created_ms, -4);
  assert_int_equal(whole, sizeof text - 1 - strlen("12 3"));
  free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_append_then_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
      cmocka_unit_test(test_parse_skips_bad_lines),
  };
  return cmocka_run_group_tests_name("erasures", tests, NULL, NULL);
}
