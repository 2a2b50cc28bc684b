/* Unit tests for cli/out.c's tables: fitting a width, cutting free text
 * with "…" by columns on screen (never inside a UTF-8 character), never
 * cutting other columns, and whole values with no width. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

/* t printed to a string (the caller frees it); t is freed. */
static char *print(struct hls_table *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  hls_table_print(t, f);
  assert_int_equal(fclose(f), 0);
  hls_table_free(t);
  return buf;
}

static struct hls_table *records(size_t width) {
  static const char *const headers[] = {"ID", "DATE", "TITLE"};
  struct hls_table *t = hls_table_new(3, headers);
  assert_non_null(t);
  hls_table_set_right(t, 0);
  hls_table_set_shrink(t, 2, 8);
  hls_table_set_width(t, width);
  const char *const r1[] = {"7", "2026-03-04", "Library drop-in on Tuesdays"};
  const char *const r2[] = {"12", "2026-03-02", "Ynys M\xc3\xb4n"}; /* ô: two bytes, one column */
  assert_int_equal(hls_table_add(t, r1), 0);
  assert_int_equal(hls_table_add(t, r2), 0);
  return t;
}

static void test_whole_without_width(void **state) {
  (void)state;
  char *s = print(records(0));
  assert_string_equal(s, "ID  DATE        TITLE\n"
                         " 7  2026-03-04  Library drop-in on Tuesdays\n"
                         "12  2026-03-02  Ynys M\xc3\xb4n\n");
  free(s);
  s = print(records(43)); /* exactly as wide as the table */
  assert_null(strstr(s, "\xe2\x80\xa6"));
  free(s);
}

static void test_free_text_cut_to_fit(void **state) {
  (void)state;
  char *s = print(records(30)); /* 2 + 2 + 10 + 2: the title gets 14 columns */
  assert_string_equal(s, "ID  DATE        TITLE\n"
                         " 7  2026-03-04  Library drop-\xe2\x80\xa6\n"
                         "12  2026-03-02  Ynys M\xc3\xb4n\n");
  free(s);
}

static void test_wide_and_combining_characters(void **state) {
  (void)state;
  static const char *const headers[] = {"N", "TITLE"};
  struct hls_table *t = hls_table_new(2, headers);
  assert_non_null(t);
  hls_table_set_shrink(t, 1, 4);
  hls_table_set_width(t, 3 + 8);
  /* Each of these takes two columns: 7 columns are 3 of them and "…". */
  const char *const r1[] = {"1", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe8\xa8\x98\xe9\x8c\xb2"};
  /* "cafe" + U+0301 (combining acute): the accent stays on its letter. */
  const char *const r2[] = {"2", "cafe\xcc\x81 au lait"};
  assert_int_equal(hls_table_add(t, r1), 0);
  assert_int_equal(hls_table_add(t, r2), 0);
  char *s = print(t);
  assert_string_equal(s, "N  TITLE\n"
                         "1  \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe2\x80\xa6\n"
                         "2  cafe\xcc\x81 au\xe2\x80\xa6\n");
  free(s);
}

static void test_header_and_uncut_columns_stay_whole(void **state) {
  (void)state;
  static const char *const headers[] = {"NODE", "LONG HEADER"};
  struct hls_table *t = hls_table_new(2, headers);
  assert_non_null(t);
  hls_table_set_shrink(t, 1, 2); /* never below its header's 11 */
  hls_table_set_width(t, 6 + 2 + 11);
  const char *const r[] = {"@node1", "a value much longer than the header"};
  assert_int_equal(hls_table_add(t, r), 0);
  char *s = print(t);
  assert_string_equal(s, "NODE    LONG HEADER\n"
                         "@node1  a value mu\xe2\x80\xa6\n");
  free(s);
}

static void test_blocks_when_ids_do_not_fit(void **state) {
  (void)state;
  static const char *const headers[] = {"PLACE", "NODE"};
  struct hls_table *t = hls_table_new(2, headers);
  assert_non_null(t);
  hls_table_set_shrink(t, 0, 4);
  hls_table_set_width(t, 20);
  const char *const r1[] = {"Gateshead Council (this node)", "@0123456789abcdefghij.ed25519"};
  const char *const r2[] = {"Leeds", "@zyxwvutsrqponmlkjihg.ed25519"};
  assert_int_equal(hls_table_add(t, r1), 0);
  assert_int_equal(hls_table_add(t, r2), 0);
  char *s = print(t);
  /* The node id is never cut, even past the width; the place is. */
  assert_string_equal(s, "PLACE  Gateshead Co\xe2\x80\xa6\n"
                         "NODE   @0123456789abcdefghij.ed25519\n"
                         "\n"
                         "PLACE  Leeds\n"
                         "NODE   @zyxwvutsrqponmlkjihg.ed25519\n");
  free(s);
}

static void test_term_width_into_a_pipe(void **state) {
  (void)state;
  /* stdout is not a terminal under ctest: no limit, whatever COLUMNS says. */
  if (isatty(STDOUT_FILENO)) skip();
  setenv("COLUMNS", "40", 1);
  assert_int_equal(hls_out_term_width(), 0);
  unsetenv("COLUMNS");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_without_width),
      cmocka_unit_test(test_free_text_cut_to_fit),
      cmocka_unit_test(test_wide_and_combining_characters),
      cmocka_unit_test(test_header_and_uncut_columns_stay_whole),
      cmocka_unit_test(test_blocks_when_ids_do_not_fit),
      cmocka_unit_test(test_term_width_into_a_pipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
