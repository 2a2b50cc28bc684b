/* Unit tests for protocol/text.c: text checks, sanitising, theme slugs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistr.h>

#include "hls_limits.h"
#include "text.h"

/* --- hls_text_check ------------------------------------------------------ */

static int check(const char *s, size_t max, bool multiline) {
  return hls_text_check(s, strlen(s), max, multiline, "field", NULL);
}

static void test_check_accepts_ordinary_text(void **state) {
  (void)state;
  assert_int_equal(check("", 10, false), 0);
  assert_int_equal(check("Hello, world!", 100, false), 0);
  assert_int_equal(check("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 100, false), 0);
  assert_int_equal(check("no\xc2\xa0" "break", 100, false), 0); /* U+00A0 is not a control */
  assert_int_equal(check("line one\nline two\r\n\tindented", 100, true), 0);
}

static void test_check_length_in_bytes(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  assert_int_equal(check("abcde", 5, false), 0);
  assert_int_equal(hls_text_check("abcdef", 6, 5, false, "title", &why), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "title"));
  assert_non_null(strstr(why.text, "6"));
  assert_non_null(strstr(why.text, "5"));
  /* Two characters, four bytes. */
  assert_int_equal(check("\xc3\xa9\xc3\xa9", 4, false), 0);
  assert_int_equal(check("\xc3\xa9\xc3\xa9", 3, false), HLS_ETOOBIG);
  /* Only len bytes are looked at. */
  assert_int_equal(hls_text_check("ab\ncd", 2, 2, false, "f", NULL), 0);
}

static void test_check_refuses_invalid_utf8(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  assert_int_equal(hls_text_check("abc\xff", 4, 100, true, "context", &why), HLS_EUTF8);
  assert_non_null(strstr(why.text, "context"));
  assert_non_null(strstr(why.text, "3"));
  const char *bad[] = {"\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80", "\xfe"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(check(bad[i], 100, false), HLS_EUTF8);
    assert_int_equal(check(bad[i], 100, true), HLS_EUTF8);
  }
}

static void test_check_refuses_c0_controls(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  for (int c = 0; c < 0x20; c++) {
    char s[4] = {'a', (char)c, 'b', '\0'};
    bool allowed_multiline = c == '\n' || c == '\r' || c == '\t';
    assert_int_equal(hls_text_check(s, 3, 100, false, "title", &why), HLS_EINVAL);
    assert_non_null(strstr(why.text, "title"));
    assert_int_equal(hls_text_check(s, 3, 100, true, "title", NULL), allowed_multiline ? 0 : HLS_EINVAL);
  }
  assert_int_equal(check("a\x7f" "b", 100, false), HLS_EINVAL); /* DEL */
  assert_int_equal(check("a\x7f" "b", 100, true), HLS_EINVAL);
  assert_int_equal(hls_text_check("a\nb", 3, 100, false, "title", &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "line break"));
  assert_int_equal(hls_text_check("a\rb", 3, 100, false, "title", &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "line break"));
  /* A tab is named as a tab, not as a line break. */
  assert_int_equal(hls_text_check("a\tb", 3, 100, false, "title", &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "a tab; no tabs here"));
  assert_null(strstr(why.text, "line break"));
  assert_int_equal(hls_text_check("a\x01" "b", 3, 100, false, "title", &why), HLS_EINVAL);
  assert_null(strstr(why.text, "line break"));
}

static void test_check_refuses_c1_controls(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  for (int c = 0x80; c <= 0x9f; c++) {
    char s[5] = {'x', (char)0xc2, (char)c, 'y', '\0'};
    assert_int_equal(hls_text_check(s, 4, 100, false, "role", &why), HLS_EINVAL);
    assert_non_null(strstr(why.text, "role"));
    assert_int_equal(hls_text_check(s, 4, 100, true, "role", NULL), HLS_EINVAL);
  }
  /* Just outside the C1 block. */
  assert_int_equal(check("\xc2\xa0\xc2\xbf", 100, false), 0);
  /* The byte 0x85 inside another character is not NEL. */
  assert_int_equal(check("\xe2\x80\x85", 100, false), 0); /* U+2005 */
}

/* --- hls_text_sanitize --------------------------------------------------- */

/* After sanitising, text must pass the strictest check. */
static void assert_clean(const char *s) {
  assert_int_equal(hls_text_check(s, strlen(s), 1u << 20, false, "s", NULL), 0);
}

static void test_sanitize_examples(void **state) {
  (void)state;
  char a[] = "plain text caf\xc3\xa9 \xe6\x97\xa5";
  hls_text_sanitize(a);
  assert_string_equal(a, "plain text caf\xc3\xa9 \xe6\x97\xa5");
  char b[] = "a\x01" "b\nc\td\x7f";
  hls_text_sanitize(b);
  assert_string_equal(b, "a?b?c?d?");
  char c[] = "bad \xff byte";
  hls_text_sanitize(c);
  assert_string_equal(c, "bad ? byte");
  char d[] = "cut \xe2\x9c";
  hls_text_sanitize(d);
  assert_int_equal(strlen(d), 6); /* in place, never longer */
  assert_memory_equal(d, "cut ", 4);
  assert_clean(d);
  char e[] = "nel\xc2\x85!";
  hls_text_sanitize(e);
  assert_memory_equal(e, "nel", 3);
  assert_int_equal(e[strlen(e) - 1], '!');
  assert_clean(e);
  /* An overlong '/' must not turn into a real '/'. */
  char f[] = "x\xc0\xafy";
  hls_text_sanitize(f);
  assert_null(strchr(f, '/'));
  assert_clean(f);
  char g[] = "\xed\xa0\x80";
  hls_text_sanitize(g);
  assert_clean(g);
  char empty[] = "";
  hls_text_sanitize(empty);
  assert_string_equal(empty, "");
}

static void test_sanitize_all_short_byte_strings(void **state) {
  (void)state;
  /* Every one- and two-byte string, then deterministic pseudo-random
   * longer ones: the result always passes hls_text_check. */
  for (int x = 1; x < 256; x++) {
    for (int y = 0; y < 256; y++) {
      char s[3] = {(char)x, (char)y, '\0'};
      hls_text_sanitize(s);
      assert_int_equal(s[0] == '\0', 0);
      assert_clean(s);
    }
  }
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++) {
    char s[9];
    for (int i = 0; i < 8; i++) {
      seed = seed * 1103515245u + 12345u;
      uint8_t byte = (uint8_t)(seed >> 16);
      s[i] = (char)(byte == 0 ? 0xc2 : byte);
    }
    s[8] = '\0';
    hls_text_sanitize(s);
    assert_int_equal(strlen(s), 8);
    assert_clean(s);
  }
}

/* --- hls_theme_normalise ------------------------------------------------- */

static void expect_slug(const char *in, const char *want) {
  char out[HLS_THEME_MAX + 1];
  struct hls_why why = {{0}};
  int rc = hls_theme_normalise(in, strlen(in), out, sizeof out, &why);
  if (rc != 0) fail_msg("\"%s\": %s (%s)", in, hls_err_name(rc), why.text);
  assert_string_equal(out, want);
  /* Normalising a slug changes nothing. */
  char again[HLS_THEME_MAX + 1];
  assert_int_equal(hls_theme_normalise(out, strlen(out), again, sizeof again, NULL), 0);
  assert_string_equal(again, out);
  assert_true(hls_theme_is_slug(out));
}

static void expect_slug_error(const char *in, size_t len, int code) {
  char out[HLS_THEME_MAX + 1];
  struct hls_why why = {{0}};
  assert_int_equal(hls_theme_normalise(in, len, out, sizeof out, &why), code);
  assert_true(why.text[0] != '\0');
}

static void test_normalise_examples(void **state) {
  (void)state;
  expect_slug("  Mental Health (Adults) ", "mental-health-adults");
  expect_slug("Children's services", "childrens-services");
  expect_slug("Children\xe2\x80\x99s services", "childrens-services"); /* U+2019 */
  expect_slug("Children\xca\xbcs services", "childrens-services");     /* U+02BC */
  expect_slug("mental_health", "mental-health");
  expect_slug("a--b", "a-b");
  expect_slug("a - _ / b", "a-b");
  expect_slug("--a--", "a");
  expect_slug("__Housing__First__", "housing-first");
  expect_slug("Covid 19", "covid-19");
  expect_slug("loneliness", "loneliness");
  expect_slug("x", "x");
}

static void test_normalise_unicode(void **state) {
  (void)state;
  expect_slug("\xc3\x89" "COLE", "\xc3\xa9" "cole");                   /* ÉCOLE -> école */
  expect_slug("E\xcc\x81" "COLE", "\xc3\xa9" "cole");                  /* decomposed É */
  expect_slug("e\xcc\x81" "cole", "\xc3\xa9" "cole");                  /* decomposed é */
  expect_slug("\xe5\xbf\x83\xe7\x90\x86\xe5\x81\xa5\xe5\xba\xb7",      /* 心理健康 */
              "\xe5\xbf\x83\xe7\x90\x86\xe5\x81\xa5\xe5\xba\xb7");
  expect_slug("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 \xd0\xbc\xd0\xb8\xd1\x80", /* ПРИВЕТ мир */
              "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82-\xd0\xbc\xd0\xb8\xd1\x80");
  /* Devanagari: vowel signs and virama are combining marks and stay. */
  expect_slug("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
              "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80");

  char pre[HLS_THEME_MAX + 1], dec[HLS_THEME_MAX + 1];
  const char *precomposed = "Caf\xc3\xa9 Culture";
  const char *decomposed = "Cafe\xcc\x81 Culture";
  assert_int_equal(hls_theme_normalise(precomposed, strlen(precomposed), pre, sizeof pre, NULL), 0);
  assert_int_equal(hls_theme_normalise(decomposed, strlen(decomposed), dec, sizeof dec, NULL), 0);
  assert_string_equal(pre, dec);
  assert_string_equal(pre, "caf\xc3\xa9-culture");
}

static void test_normalise_nothing_left(void **state) {
  (void)state;
  expect_slug_error("", 0, HLS_EINVAL);
  expect_slug_error("   ", 3, HLS_EINVAL);
  expect_slug_error("!!!", 3, HLS_EINVAL);
  expect_slug_error("'''", 3, HLS_EINVAL);
  expect_slug_error("- _ -", 5, HLS_EINVAL);
  expect_slug_error("\xe2\x80\x99", 3, HLS_EINVAL);
}

static void test_normalise_refuses_controls_and_bad_utf8(void **state) {
  (void)state;
  expect_slug_error("a\tb", 3, HLS_EINVAL);
  expect_slug_error("a\nb", 3, HLS_EINVAL);
  expect_slug_error("a\0b", 3, HLS_EINVAL);
  expect_slug_error("a\xc2\x85" "b", 4, HLS_EINVAL);
  expect_slug_error("caf\xc3", 4, HLS_EUTF8);
  expect_slug_error("\xff" "abc", 4, HLS_EUTF8);
  expect_slug_error("\xc0\xaf", 2, HLS_EUTF8);
}

static void test_normalise_length_limits(void **state) {
  (void)state;
  char in[600], out[HLS_THEME_MAX + 1];
  memset(in, 'a', HLS_THEME_MAX);
  assert_int_equal(hls_theme_normalise(in, HLS_THEME_MAX, out, sizeof out, NULL), 0);
  assert_int_equal(strlen(out), HLS_THEME_MAX);
  memset(in, 'a', HLS_THEME_MAX + 1);
  expect_slug_error(in, HLS_THEME_MAX + 1, HLS_ETOOBIG);
  /* 63 ASCII letters and a two-byte letter: 65 bytes, never cut mid-character. */
  memset(in, 'a', HLS_THEME_MAX - 1);
  memcpy(in + HLS_THEME_MAX - 1, "\xc3\xa9", 2);
  expect_slug_error(in, HLS_THEME_MAX + 1, HLS_ETOOBIG);
  /* Hyphens count: 32 "ab" words make 95 bytes of slug. */
  size_t n = 0;
  for (int i = 0; i < 32; i++) {
    memcpy(in + n, "ab ", 3);
    n += 3;
  }
  expect_slug_error(in, n, HLS_ETOOBIG);
  /* Separators at the ends do not count. */
  memset(in, ' ', 100);
  memset(in + 100, 'b', HLS_THEME_MAX);
  memset(in + 100 + HLS_THEME_MAX, '-', 50);
  assert_int_equal(hls_theme_normalise(in, 100 + HLS_THEME_MAX + 50, out, sizeof out, NULL), 0);
  assert_int_equal(strlen(out), HLS_THEME_MAX);
  /* Very long input is refused whatever it would normalise to. */
  memset(in, ' ', sizeof in);
  in[0] = 'a';
  expect_slug_error(in, sizeof in, HLS_ETOOBIG);
  /* A bigger output buffer does not raise the limit. */
  char roomy[4 * HLS_THEME_MAX];
  memset(in, 'a', HLS_THEME_MAX + 1);
  assert_int_equal(hls_theme_normalise(in, HLS_THEME_MAX + 1, roomy, sizeof roomy, NULL), HLS_ETOOBIG);
  assert_int_equal(hls_theme_normalise(in, HLS_THEME_MAX, roomy, sizeof roomy, NULL), 0);
  assert_int_equal(strlen(roomy), HLS_THEME_MAX);
  /* A small output buffer is respected. */
  char small[4];
  assert_int_equal(hls_theme_normalise("abc", 3, small, sizeof small, NULL), 0);
  assert_string_equal(small, "abc");
  assert_int_equal(hls_theme_normalise("abcd", 4, small, sizeof small, NULL), HLS_ETOOBIG);
}

static void test_is_slug(void **state) {
  (void)state;
  assert_true(hls_theme_is_slug("mental-health"));
  assert_true(hls_theme_is_slug("childrens"));
  assert_true(hls_theme_is_slug("\xc3\xa9" "cole"));
  assert_true(hls_theme_is_slug("covid-19"));
  assert_false(hls_theme_is_slug("Mental-Health"));
  assert_false(hls_theme_is_slug("-a"));
  assert_false(hls_theme_is_slug("a-"));
  assert_false(hls_theme_is_slug("a--b"));
  assert_false(hls_theme_is_slug("a b"));
  assert_false(hls_theme_is_slug("a_b"));
  assert_false(hls_theme_is_slug("children's"));
  assert_false(hls_theme_is_slug("e\xcc\x81" "cole")); /* not NFC */
  assert_false(hls_theme_is_slug(""));
  assert_false(hls_theme_is_slug("\xff"));
  char long_slug[HLS_THEME_MAX + 2];
  memset(long_slug, 'a', HLS_THEME_MAX + 1);
  long_slug[HLS_THEME_MAX + 1] = '\0';
  assert_false(hls_theme_is_slug(long_slug));
  long_slug[HLS_THEME_MAX] = '\0';
  assert_true(hls_theme_is_slug(long_slug));
}

/* hls_theme_is_slug's fast path agrees with "normalising gives it back"
 * on random strings of slug-like characters (and some that are not). */
static void test_is_slug_fast_path_agrees(void **state) {
  (void)state;
  static const char alphabet[] = "ab9--A' _";
  uint32_t seed = 11;
  int yes = 0;
  for (int n = 0; n < 20000; n++) {
    char s[12], norm[HLS_THEME_MAX + 1];
    seed = seed * 1103515245u + 12345u;
    size_t len = (seed >> 16) % 10;
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      s[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    s[len] = '\0';
    bool want = hls_theme_normalise(s, len, norm, sizeof norm, NULL) == 0 && strcmp(norm, s) == 0;
    assert_int_equal(hls_theme_is_slug(s), want);
    yes += want;
  }
  assert_true(yes > 1000); /* both answers were exercised */
}

/* ASCII themes take a fast path; it must agree with the Unicode path.
 * A leading no-break space (not ASCII, dropped as a separator) forces the
 * Unicode path for the same text. */
static void test_theme_ascii_fast_path_agrees(void **state) {
  (void)state;
  static const char alphabet[] = "aZ9 -_'.,()&:/Mq";
  uint32_t seed = 7;
  for (int n = 0; n < 5000; n++) {
    char ascii[40], forced[48], a[HLS_THEME_MAX + 1], b[HLS_THEME_MAX + 1];
    size_t len = 1 + n % 30;
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      ascii[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    ascii[len] = '\0';
    snprintf(forced, sizeof forced, "\xc2\xa0%s", ascii);
    int ra = hls_theme_normalise(ascii, len, a, sizeof a, NULL);
    int rb = hls_theme_normalise(forced, strlen(forced), b, sizeof b, NULL);
    assert_int_equal(ra, rb);
    if (ra == 0) assert_string_equal(a, b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_accepts_ordinary_text),
      cmocka_unit_test(test_check_length_in_bytes),
      cmocka_unit_test(test_check_refuses_invalid_utf8),
      cmocka_unit_test(test_check_refuses_c0_controls),
      cmocka_unit_test(test_check_refuses_c1_controls),
      cmocka_unit_test(test_sanitize_examples),
      cmocka_unit_test(test_sanitize_all_short_byte_strings),
      cmocka_unit_test(test_normalise_examples),
      cmocka_unit_test(test_normalise_unicode),
      cmocka_unit_test(test_normalise_nothing_left),
      cmocka_unit_test(test_normalise_refuses_controls_and_bad_utf8),
      cmocka_unit_test(test_normalise_length_limits),
      cmocka_unit_test(test_is_slug),
      cmocka_unit_test(test_is_slug_fast_path_agrees),
      cmocka_unit_test(test_theme_ascii_fast_path_agrees),
  };
  return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
