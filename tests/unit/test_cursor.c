/* Unit tests for protocol/cursor.c: the cursors of the read side's pages,
 * which come back from clients and so are parsed as untrusted input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
}

static struct hls_cursor make(int kind, uint32_t seed) {
  struct hls_cursor c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  fill(c.origin, 32, seed);
  if (kind != HLS_CURSOR_PLACES) c.seq = 1 + (uint64_t)seed * 7919u;
  if (kind == HLS_CURSOR_STORIES) c.timestamp_ms = (int64_t)seed * 1000003;
  if (kind == HLS_CURSOR_PLACES) {
    c.key_len = 1 + seed % HLS_CURSOR_KEY_MAX;
    fill(c.key, c.key_len, seed + 1);
  }
  return c;
}

static void assert_same(const struct hls_cursor *a, const struct hls_cursor *b) {
  assert_int_equal(a->kind, b->kind);
  assert_memory_equal(a->origin, b->origin, 32);
  assert_int_equal(a->seq, b->seq);
  assert_int_equal(a->timestamp_ms, b->timestamp_ms);
  assert_int_equal(a->key_len, b->key_len);
  if (a->key_len) assert_memory_equal(a->key, b->key, a->key_len);
}

static void test_round_trip(void **state) {
  (void)state;
  for (int kind = HLS_CURSOR_ITEMS; kind <= HLS_CURSOR_PLACES; kind++)
    for (uint32_t seed = 0; seed < 500; seed++) {
      struct hls_cursor c = make(kind, seed), back;
      char text[HLS_CURSOR_TEXT_SIZE];
      struct hls_why why = {{0}};
      assert_int_equal(hls_cursor_format(&c, text), 0);
      assert_true(strlen(text) < HLS_CURSOR_TEXT_SIZE);
      /* base64url: safe in any JSON string, URL or shell word. */
      assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), strlen(text));
      assert_int_equal(hls_cursor_parse(text, strlen(text), kind, &back, &why), 0);
      assert_same(&c, &back);
      /* A cursor of one listing is refused by the others. */
      for (int other = HLS_CURSOR_ITEMS; other <= HLS_CURSOR_PLACES; other++)
        if (other != kind) assert_int_equal(hls_cursor_parse(text, strlen(text), other, &back, &why), HLS_EINVAL);
    }
  /* The longest key fits the text size. */
  struct hls_cursor c = make(HLS_CURSOR_PLACES, 1);
  c.key_len = HLS_CURSOR_KEY_MAX;
  char text[HLS_CURSOR_TEXT_SIZE];
  assert_int_equal(hls_cursor_format(&c, text), 0);
  assert_true(strlen(text) <= 600); /* methods.def: after is at most 600 bytes */
}

/* Parse bin (kind byte and key) encoded as base64url. */
static int parse_bin(const uint8_t *bin, size_t n, int kind) {
  char text[2048];
  struct hls_cursor out;
  struct hls_why why = {{0}};
  sodium_bin2base64(text, sizeof text, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  int rc = hls_cursor_parse(text, strlen(text), kind, &out, &why);
  if (rc != 0) {
    assert_int_equal(rc, HLS_EINVAL);
    assert_non_null(strstr(why.text, "not a cursor of this listing"));
  }
  return rc;
}

static void test_refused(void **state) {
  (void)state;
  struct hls_cursor out;
  struct hls_why why = {{0}};
  struct hls_cursor c = make(HLS_CURSOR_ITEMS, 3);
  char good[HLS_CURSOR_TEXT_SIZE];
  assert_int_equal(hls_cursor_format(&c, good), 0);
  size_t len = strlen(good);

  /* Text that is not base64url, or not all of it. */
  static const char *const junk[] = {"", "x", "====", "abc=", "a b", "!!!!", "..", "\xff\xfe"};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    assert_int_equal(hls_cursor_parse(junk[i], strlen(junk[i]), HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  char text[4096];
  snprintf(text, sizeof text, "%s=", good); /* padding */
  assert_int_equal(hls_cursor_parse(text, strlen(text), HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  snprintf(text, sizeof text, "%s", good);
  text[3] = '+'; /* standard base64, not the URL alphabet */
  assert_int_equal(hls_cursor_parse(text, len, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  /* Shorter or longer by a character. */
  assert_int_equal(hls_cursor_parse(good, len - 1, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  snprintf(text, sizeof text, "%sA", good);
  assert_int_equal(hls_cursor_parse(text, len + 1, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  /* A NUL inside: the length given counts, not the C string. */
  memcpy(text, good, len);
  text[5] = '\0';
  assert_int_equal(hls_cursor_parse(text, len, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  /* Far too long (never decoded). */
  memset(text, 'A', sizeof text);
  assert_int_equal(hls_cursor_parse(text, sizeof text, HLS_CURSOR_PLACES, &out, &why), HLS_EINVAL);
  /* Leftover bits that are not zero: one key, one text. 41 bytes leave 4
   * bits in the last character. */
  snprintf(text, sizeof text, "%s", good);
  text[len - 1] = text[len - 1] == 'B' ? 'C' : 'B';
  assert_int_equal(hls_cursor_parse(text, len, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);

  /* Binary forms out of range. */
  uint8_t bin[1 + 8 + 32 + HLS_CURSOR_KEY_MAX + 8];
  memset(bin, 0, sizeof bin);
  bin[0] = HLS_CURSOR_ITEMS;
  assert_int_equal(parse_bin(bin, 41, HLS_CURSOR_ITEMS), HLS_EINVAL); /* seq 0 */
  bin[40] = 1;
  assert_int_equal(parse_bin(bin, 41, HLS_CURSOR_ITEMS), 0);
  assert_int_equal(parse_bin(bin, 40, HLS_CURSOR_ITEMS), HLS_EINVAL);
  assert_int_equal(parse_bin(bin, 42, HLS_CURSOR_ITEMS), HLS_EINVAL);
  bin[33] = 0x80; /* seq 2^63 + 1 */
  assert_int_equal(parse_bin(bin, 41, HLS_CURSOR_ITEMS), HLS_EINVAL);
  bin[33] = 0x7f;
  assert_int_equal(parse_bin(bin, 41, HLS_CURSOR_ITEMS), 0);

  memset(bin, 0, sizeof bin);
  bin[0] = HLS_CURSOR_STORIES;
  bin[48] = 1;
  assert_int_equal(parse_bin(bin, 49, HLS_CURSOR_STORIES), 0); /* timestamp 0 is a time */
  bin[1] = 0x80;                                                 /* timestamp beyond INT64_MAX */
  assert_int_equal(parse_bin(bin, 49, HLS_CURSOR_STORIES), HLS_EINVAL);
  bin[1] = 0;
  bin[48] = 0; /* seq 0 */
  assert_int_equal(parse_bin(bin, 49, HLS_CURSOR_STORIES), HLS_EINVAL);

  memset(bin, 0, sizeof bin);
  bin[0] = HLS_CURSOR_PLACES;
  assert_int_equal(parse_bin(bin, 33, HLS_CURSOR_PLACES), HLS_EINVAL); /* no key */
  assert_int_equal(parse_bin(bin, 34, HLS_CURSOR_PLACES), 0);
  assert_int_equal(parse_bin(bin, 33 + HLS_CURSOR_KEY_MAX, HLS_CURSOR_PLACES), 0);
  assert_int_equal(parse_bin(bin, 34 + HLS_CURSOR_KEY_MAX, HLS_CURSOR_PLACES), HLS_EINVAL);

  /* Kinds that do not exist. */
  for (int kind = 0; kind < 256; kind++) {
    if (kind >= HLS_CURSOR_ITEMS && kind <= HLS_CURSOR_PLACES) continue;
    bin[0] = (uint8_t)kind;
    assert_int_equal(parse_bin(bin, 41, HLS_CURSOR_ITEMS), HLS_EINVAL);
    assert_int_equal(parse_bin(bin, 41, kind), HLS_EINVAL);
  }
  /* A refused parse leaves nothing behind. */
  memset(&out, 0x5a, sizeof out);
  assert_int_equal(hls_cursor_parse("x", 1, HLS_CURSOR_ITEMS, &out, &why), HLS_EINVAL);
  assert_int_equal(out.kind, 0);
  assert_int_equal(out.seq, 0);
}

static void test_format_refuses(void **state) {
  (void)state;
  char text[HLS_CURSOR_TEXT_SIZE];
  struct hls_cursor c = make(HLS_CURSOR_ITEMS, 1);
  c.seq = 0;
  assert_int_equal(hls_cursor_format(&c, text), HLS_EINVAL);
  assert_string_equal(text, "");
  c = make(HLS_CURSOR_PLACES, 1);
  c.key_len = 0;
  assert_int_equal(hls_cursor_format(&c, text), HLS_EINVAL);
  c.key_len = HLS_CURSOR_KEY_MAX + 1;
  assert_int_equal(hls_cursor_format(&c, text), HLS_EINVAL);
  c = make(HLS_CURSOR_STORIES, 1);
  c.timestamp_ms = -1;
  assert_int_equal(hls_cursor_format(&c, text), HLS_EINVAL);
  c.kind = 9;
  assert_int_equal(hls_cursor_format(&c, text), HLS_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_format_refuses),
  };
  return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
