/* Unit tests for cli/out.c's tables: fitting a width, cutting free text
 * with "…" by columns on screen (never inside a UTF-8 character), never
 * cutting other columns, and whole values with no width; tables and JSON
 * arrays printed a page at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp.h"
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

/* A cell is one line: a line break, tab or CR in it is a space (a CR
 * would move the cursor back over the row). */
static void test_cells_are_one_line(void **state) {
  (void)state;
  static const char *const headers[] = {"ID", "TITLE"};
  struct hls_table *t = hls_table_new(2, headers);
  assert_non_null(t);
  const char *const r1[] = {"1", "hidden\rshown\nnext\tcol"};
  assert_int_equal(hls_table_add(t, r1), 0);
  char *s = print(t);
  assert_string_equal(s, "ID  TITLE\n"
                         "1   hidden shown next col\n");
  free(s);
}

/* hls_out_paragraph's lines, as printed to stdout. */
static char *paragraph(const char *text) {
  struct hls_mp_kv kv = {.key = {.type = HLS_MP_STR, .len = 4, .v.str = "text"},
                         .val = {.type = HLS_MP_STR, .len = (uint32_t)strlen(text), .v.str = text}};
  struct hls_mp_value m = {.type = HLS_MP_MAP, .len = 1, .v.kv = &kv};
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stdout);
  int saved = dup(1);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(tmp), 1) >= 0);
  hls_out_paragraph(&m, "text", "T\n", "  ");
  fflush(stdout);
  assert_true(dup2(saved, 1) >= 0);
  close(saved);
  fseek(tmp, 0, SEEK_END);
  long n = ftell(tmp);
  rewind(tmp);
  char *buf = calloc((size_t)n + 1, 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, tmp), (size_t)n);
  fclose(tmp);
  return buf;
}

/* Free text: a line ends at LF, CR LF or a lone CR (text from another
 * node may hold one: printed as it is, it would hide the line's start). */
static void test_paragraph_line_ends(void **state) {
  (void)state;
  char *s = paragraph("Jane Doe, 12 Acacia Road\rIt worked well.\r\nNext\n\tindented");
  assert_string_equal(s, "T\n  Jane Doe, 12 Acacia Road\n  It worked well.\n  Next\n  \tindented\n");
  free(s);
  s = paragraph("one\r");
  assert_string_equal(s, "T\n  one\n");
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

/* A table printed in pages: the first flush prints the headers and fixes
 * the widths; later rows keep them. */
static void test_flush_in_pages(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  struct hls_table *t = records(30);
  hls_table_flush(t, f);
  const char *const r3[] = {"8", "2026-03-05", "A title much longer than the column"};
  const char *const r4[] = {"12345", "2026-03-06", "Short"};
  assert_int_equal(hls_table_add(t, r3), 0);
  assert_int_equal(hls_table_add(t, r4), 0);
  hls_table_flush(t, f);
  hls_table_flush(t, f); /* nothing new: prints nothing */
  assert_int_equal(fclose(f), 0);
  hls_table_free(t);
  /* Free text is cut to the first page's width; a wider id is whole. */
  assert_string_equal(buf, "ID  DATE        TITLE\n"
                           " 7  2026-03-04  Library drop-\xe2\x80\xa6\n"
                           "12  2026-03-02  Ynys M\xc3\xb4n\n"
                           " 8  2026-03-05  A title much \xe2\x80\xa6\n"
                           "12345  2026-03-06  Short\n");
  free(buf);
  /* With no width (a pipe), nothing is cut, later pages included. */
  buf = NULL;
  f = open_memstream(&buf, &len);
  t = records(0);
  hls_table_flush(t, f);
  assert_int_equal(hls_table_add(t, r3), 0);
  hls_table_flush(t, f);
  assert_int_equal(fclose(f), 0);
  hls_table_free(t);
  assert_non_null(strstr(buf, " 8  2026-03-05  A title much longer than the column\n"));
  free(buf);
}

/* The expanded form, in pages: blocks apart, as in one print. */
static void test_flush_blocks(void **state) {
  (void)state;
  static const char *const headers[] = {"PLACE", "NODE"};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct hls_table *t = hls_table_new(2, headers);
  assert_non_null(t);
  hls_table_set_shrink(t, 0, 4);
  hls_table_set_width(t, 20);
  const char *const r1[] = {"Leeds", "@0123456789abcdefghij.ed25519"};
  assert_int_equal(hls_table_add(t, r1), 0);
  hls_table_flush(t, f);
  assert_int_equal(hls_table_add(t, r1), 0);
  hls_table_flush(t, f);
  assert_int_equal(fclose(f), 0);
  hls_table_free(t);
  assert_string_equal(buf, "PLACE  Leeds\nNODE   @0123456789abcdefghij.ed25519\n\n"
                           "PLACE  Leeds\nNODE   @0123456789abcdefghij.ed25519\n");
  free(buf);
}

/* A JSON array printed an item at a time is the text of the whole array
 * printed at once. */
static void test_json_list(void **state) {
  (void)state;
  /* [{"a": 1, "b": [true, null], "c": "x\n"}, {}, 2.5] as msgpack */
  static const uint8_t packed[] = {0x93, 0x83, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0xc3, 0xc0, 0xa1, 'c', 0xa2, 'x', '\n',
                                   0x80, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0};
  struct hls_mp_tree tree;
  assert_int_equal(hls_mp_tree_decode(&tree, packed, sizeof packed, false, 1000, NULL), 0);
  char *whole = NULL, *paged = NULL;
  size_t len = 0;
  json_t *j = hls_mpjson_from_mp(&tree.root);
  whole = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  json_decref(j);
  FILE *f = open_memstream(&paged, &len);
  struct hls_out_json_list l;
  hls_out_json_list_begin(&l, f);
  for (uint32_t i = 0; i < tree.root.len; i++) assert_int_equal(hls_out_json_list_add(&l, &tree.root.v.items[i]), 0);
  assert_int_equal(hls_out_json_list_end(&l), 0);
  assert_int_equal(fclose(f), 0);
  size_t n = strlen(whole);
  assert_int_equal(strlen(paged), n + 1);
  assert_memory_equal(paged, whole, n);
  assert_int_equal(paged[n], '\n');
  free(whole);
  free(paged);
  hls_mp_tree_free(&tree);
  /* No item: [] */
  paged = NULL;
  f = open_memstream(&paged, &len);
  hls_out_json_list_begin(&l, f);
  assert_int_equal(hls_out_json_list_end(&l), 0);
  assert_int_equal(fclose(f), 0);
  assert_string_equal(paged, "[]\n");
  free(paged);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_without_width),
      cmocka_unit_test(test_free_text_cut_to_fit),
      cmocka_unit_test(test_cells_are_one_line),
      cmocka_unit_test(test_paragraph_line_ends),
      cmocka_unit_test(test_wide_and_combining_characters),
      cmocka_unit_test(test_header_and_uncut_columns_stay_whole),
      cmocka_unit_test(test_blocks_when_ids_do_not_fit),
      cmocka_unit_test(test_term_width_into_a_pipe),
      cmocka_unit_test(test_flush_in_pages),
      cmocka_unit_test(test_flush_blocks),
      cmocka_unit_test(test_json_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
