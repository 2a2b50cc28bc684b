/* Unit tests for cli/patfmt.c: the text of hls patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfmt.h"

static void test_width(void **state) {
  (void)state;
  assert_int_equal(hls_patfmt_width(""), 0);
  assert_int_equal(hls_patfmt_width("Place 02"), 8);
  assert_int_equal(hls_patfmt_width("Ynys M\xc3\xb4n"), 8); /* ô is two bytes, one column */
  assert_int_equal(hls_patfmt_width("\xe5\xa4\xa7\xe9\x98\xaa 00"), 7); /* 大阪 00: two wide characters */
  assert_int_equal(hls_patfmt_width("e\xcc\x81"), 1);                /* e and a combining acute */
}

/* Cut to columns on screen, never inside a character, "…" at the end. */
static void test_cut(void **state) {
  (void)state;
  char *c = hls_patfmt_cut("Place 02", 8);
  assert_string_equal(c, "Place 02");
  free(c);
  c = hls_patfmt_cut("Place 02", 6);
  assert_string_equal(c, "Place\xe2\x80\xa6");
  free(c);
  /* 大阪市: 6 columns; in 4, one wide character and the ellipsis (3) */
  c = hls_patfmt_cut("\xe5\xa4\xa7\xe9\x98\xaa\xe5\xb8\x82", 4);
  assert_string_equal(c, "\xe5\xa4\xa7\xe2\x80\xa6");
  assert_true(hls_patfmt_width(c) <= 4);
  free(c);
}

static void test_weeks(void **state) {
  (void)state;
  char b[32];
  hls_patfmt_weeks("2024-W07", "2024-W07", b, sizeof b);
  assert_string_equal(b, "2024-W07");
  hls_patfmt_weeks("2024-W07", "2024-W14", b, sizeof b);
  assert_string_equal(b, "2024-W07..W14");
  hls_patfmt_weeks("2024-W50", "2025-W02", b, sizeof b);
  assert_string_equal(b, "2024-W50..2025-W02");
  hls_patfmt_weeks("?", "2025-W02", b, sizeof b); /* not weeks: as they are */
  assert_string_equal(b, "?..2025-W02");
  hls_patfmt_weeks("2024-W07", "2024-W14", b, 8); /* cut, terminated */
  assert_string_equal(b, "2024-W0");
}

static void test_strength_and_p(void **state) {
  (void)state;
  char b[32];
  hls_patfmt_strength(4.249, b, sizeof b);
  assert_string_equal(b, "4.2");
  hls_patfmt_strength(2, b, sizeof b);
  assert_string_equal(b, "2.0");
  hls_patfmt_strength(300, b, sizeof b);
  assert_string_equal(b, ">=300");
  hls_patfmt_strength(-0.0001, b, sizeof b);
  assert_string_equal(b, "0.0");
  hls_patfmt_p(0.032, b, sizeof b);
  assert_string_equal(b, "0.032");
  hls_patfmt_p(0.0041, b, sizeof b);
  assert_string_equal(b, "0.0041");
  hls_patfmt_p(6.3e-05, b, sizeof b);
  assert_string_equal(b, "6.3e-05");
  hls_patfmt_p(1, b, sizeof b);
  assert_string_equal(b, "1");
  hls_patfmt_p(1e-300, b, sizeof b);
  assert_string_equal(b, "<1e-300");
}

static void test_bar(void **state) {
  (void)state;
  char b[64];
  hls_patfmt_bar(10, 10, 20, 10, b, sizeof b);
  assert_string_equal(b, "#####");
  hls_patfmt_bar(10, 20, 20, 10, b, sizeof b); /* the uncertain part */
  assert_string_equal(b, "#####+++++");
  hls_patfmt_bar(0, 0, 20, 10, b, sizeof b);
  assert_string_equal(b, "");
  hls_patfmt_bar(0.1, 0.1, 1000, 10, b, sizeof b); /* present: at least one character */
  assert_string_equal(b, "#");
  hls_patfmt_bar(0, 3, 1000, 10, b, sizeof b);
  assert_string_equal(b, "+");
  hls_patfmt_bar(50, 60, 20, 10, b, sizeof b); /* beyond the scale: capped */
  assert_string_equal(b, "##########");
  hls_patfmt_bar(5, 5, 0, 10, b, sizeof b);
  assert_string_equal(b, "");
  hls_patfmt_bar(20, 20, 20, 10, b, 4); /* cut to the buffer */
  assert_string_equal(b, "###");
}

static void test_by_signal(void **state) {
  (void)state;
  static const char *const names[] = {"spread", "emerging", "rising", "together", "cross-scale"};
  int64_t counts[] = {3, 2, 0, 7, 0};
  char b[128];
  hls_patfmt_by_signal(names, counts, 5, b, sizeof b);
  assert_string_equal(b, "spread 3, emerging 2, together 7");
  int64_t none[] = {0, 0, 0, 0, 0};
  hls_patfmt_by_signal(names, none, 5, b, sizeof b);
  assert_string_equal(b, "none");
}

static void test_wrap(void **state) {
  (void)state;
  char b[256];
  size_t n = hls_patfmt_wrap("Spread counts the places that began to report", "  ", 20, b, sizeof b);
  assert_string_equal(b, "  Spread counts the\n  places that began\n  to report\n");
  assert_int_equal(n, strlen(b));
  hls_patfmt_wrap("a  b", "", 0, b, sizeof b); /* width 0: one line */
  assert_string_equal(b, "a b\n");
  hls_patfmt_wrap("x averyveryverylongword y", "> ", 8, b, sizeof b);
  assert_string_equal(b, "> x\n> averyveryverylongword\n> y\n");
  hls_patfmt_wrap("", "  ", 20, b, sizeof b);
  assert_string_equal(b, "");
  hls_patfmt_wrap("one two three", "", 20, b, 6); /* truncated, terminated */
  assert_string_equal(b, "one t");
}

static void test_fit(void **state) {
  (void)state;
  size_t natural[] = {8, 8, 11, 40, 10, 13, 5}, min[] = {8, 8, 11, 12, 6, 13, 5}, out[7];
  /* Fits: as it is. */
  size_t w = hls_patfmt_fit(natural, min, 7, 2, 200, out);
  assert_int_equal(w, 95 + 12);
  assert_memory_equal(out, natural, sizeof natural);
  /* 80 columns: the widest column that can give is cut first. */
  w = hls_patfmt_fit(natural, min, 7, 2, 80, out);
  assert_int_equal(w, 80);
  assert_int_equal(out[3], 13);
  assert_int_equal(out[4], 10);
  assert_int_equal(out[0], 8);
  /* Narrower still: the next column gives too, down to the least. */
  w = hls_patfmt_fit(natural, min, 7, 2, 60, out);
  assert_int_equal(out[3], 12);
  assert_int_equal(out[4], 6);
  assert_int_equal(w, 8 + 8 + 11 + 12 + 6 + 13 + 5 + 12);
  /* No limit. */
  w = hls_patfmt_fit(natural, min, 7, 2, 0, out);
  assert_memory_equal(out, natural, sizeof natural);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_width),
      cmocka_unit_test(test_cut), cmocka_unit_test(test_weeks), cmocka_unit_test(test_strength_and_p),
      cmocka_unit_test(test_bar),        cmocka_unit_test(test_by_signal), cmocka_unit_test(test_wrap),
      cmocka_unit_test(test_fit),
  };
  return cmocka_run_group_tests_name("patfmt", tests, NULL, NULL);
}
