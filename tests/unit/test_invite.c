/* Unit tests for protocol/invite.c: the invite code and the REDEEM /
 * REDEEMED frames (docs/protocol.md 7.1, whose vector is asserted here). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "invite.h"
#include "wire.h"

/* docs/protocol.md 7.1: network key 00..1f, inviter 20..3f, secret 40..5f,
 * address 192.0.2.10:7420. */
static const char VECTOR_CODE[] =
    "hls1-AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktM"
    "TU5PUFFSU1RVVldYWVpbXF1eXw8xOTIuMC4yLjEwOjc0MjByepG2";
static const char VECTOR_REDEEM[] = "00000036 93 08 c420 404142434445464748494a4b4c4d4e4f"
                                    "505152535455565758595a5b5c5d5e5f b1 3139382e35312e3130302e373a37343230";
static const char VECTOR_REDEEMED[] = "000000039209 02";

static void vector_invite(struct hls_invite *inv) {
  memset(inv, 0, sizeof *inv);
  for (int i = 0; i < 32; i++) inv->network_key[i] = (uint8_t)i, inv->inviter[i] = (uint8_t)(32 + i),
                               inv->secret[i] = (uint8_t)(64 + i);
  snprintf(inv->address, sizeof inv->address, "192.0.2.10:7420");
}

static void hex_of(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static void strip_spaces(const char *in, char *out) {
  for (; *in; in++)
    if (*in != ' ') *out++ = *in;
  *out = '\0';
}

static void test_round_trip(void **state) {
  (void)state;
  struct hls_invite inv, back;
  struct hls_why why = {{0}};
  char text[HLS_INVITE_TEXT_MAX];
  vector_invite(&inv);
  assert_int_equal(hls_invite_encode(&inv, text, &why), 0);
  if (strcmp(text, VECTOR_CODE) != 0) fail_msg("code %s\nwant %s", text, VECTOR_CODE);
  assert_int_equal(hls_invite_decode(text, &back, &why), 0);
  assert_memory_equal(&inv, &back, sizeof inv);
  /* White space around a pasted code is fine. */
  char padded[HLS_INVITE_TEXT_MAX + 8];
  snprintf(padded, sizeof padded, "  %s\n", text);
  assert_int_equal(hls_invite_decode(padded, &back, &why), 0);
  assert_memory_equal(&inv, &back, sizeof inv);
  /* IPv6 and DNS names, and the longest address. */
  const char *addrs[] = {"[2001:db8::1]:7420", "council.example.org:1", NULL};
  for (int i = 0; addrs[i]; i++) {
    snprintf(inv.address, sizeof inv.address, "%s", addrs[i]);
    assert_int_equal(hls_invite_encode(&inv, text, &why), 0);
    assert_int_equal(hls_invite_decode(text, &back, &why), 0);
    assert_string_equal(back.address, addrs[i]);
  }
  char longname[260];
  memset(longname, 'a', 249);
  memcpy(longname + 249, ".org:9", 7);
  for (int i = 60; i < 249; i += 61) longname[i] = '.';
  snprintf(inv.address, sizeof inv.address, "%s", longname);
  assert_int_equal(hls_invite_encode(&inv, text, &why), 0);
  assert_true(strlen(text) < HLS_INVITE_TEXT_MAX);
  assert_int_equal(hls_invite_decode(text, &back, &why), 0);
  assert_string_equal(back.address, longname);
  /* Not an address: refused when encoding. */
  snprintf(inv.address, sizeof inv.address, "nowhere");
  assert_int_equal(hls_invite_encode(&inv, text, &why), HLS_EINVAL);
}

static void expect_malformed(const char *text, const char *why_part) {
  struct hls_invite out;
  struct hls_why why = {{0}};
  int rc = hls_invite_decode(text, &out, &why);
  if (rc != HLS_EMALFORMED) fail_msg("\"%.40s\": got %s, want malformed", text, hls_err_name(rc));
  if (strstr(why.text, why_part) == NULL) fail_msg("\"%.40s\": detail \"%s\" lacks \"%s\"", text, why.text, why_part);
  static const struct hls_invite zero;
  assert_memory_equal(&out, &zero, sizeof out);
}

/* A binary form as a code (with a fresh check if fix_check), into out of
 * HLS_INVITE_TEXT_MAX + 64 bytes. */
static void code_of(uint8_t *bin, size_t n, bool fix_check, char *out) {
  if (fix_check) {
    uint8_t h[32];
    crypto_generichash(h, sizeof h, bin, n - 4, NULL, 0);
    memcpy(bin + n - 4, h, 4);
  }
  memcpy(out, "hls1-", 5);
  sodium_bin2base64(out + 5, HLS_INVITE_TEXT_MAX + 64 - 5, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void test_malformed(void **state) {
  (void)state;
  char text[HLS_INVITE_TEXT_MAX + 64];
  expect_malformed("", "does not start with 'hls1-'");
  expect_malformed("q3rm0Yw6AAAA=", "does not start with 'hls1-'");
  expect_malformed("hls2-AQAB", "version 2 is newer");
  expect_malformed("hls1-", "too short");
  /* Each truncation, and a changed character, fail the check or the length. */
  for (size_t cut = 6; cut < strlen(VECTOR_CODE); cut += 7) {
    snprintf(text, sizeof text, "%.*s", (int)cut, VECTOR_CODE);
    struct hls_invite out;
    struct hls_why why = {{0}};
    assert_int_equal(hls_invite_decode(text, &out, &why), HLS_EMALFORMED);
    assert_true(why.text[0] != '\0');
  }
  snprintf(text, sizeof text, "%s", VECTOR_CODE);
  text[40] = text[40] == 'A' ? 'B' : 'A';
  expect_malformed(text, "check does not match");
  snprintf(text, sizeof text, "%s", VECTOR_CODE);
  text[40] = '+';
  expect_malformed(text, "character 41 is not part of a code");
  snprintf(text, sizeof text, "%s%s", VECTOR_CODE, VECTOR_CODE + 5);
  expect_malformed(text, "check does not match"); /* two codes pasted */
  char huge[2048];
  memset(huge, 'A', sizeof huge - 1);
  memcpy(huge, "hls1-", 5);
  huge[sizeof huge - 1] = '\0';
  expect_malformed(huge, "too long");
  /* Valid check over a bad inside. */
  struct hls_invite inv;
  vector_invite(&inv);
  uint8_t bin[HLS_INVITE_MAX_BYTES];
  size_t n = 0;
  bin[n++] = 1;
  memcpy(bin + n, inv.network_key, 32), n += 32;
  memcpy(bin + n, inv.inviter, 32), n += 32;
  memcpy(bin + n, inv.secret, 32), n += 32;
  size_t alen_at = n;
  bin[n++] = 15;
  memcpy(bin + n, "192.0.2.10:7420", 15), n += 15;
  n += 4;
  bin[0] = 7;
  code_of(bin, n, true, text);
  expect_malformed(text, "version 7");
  bin[0] = 1;
  bin[alen_at] = 14;
  code_of(bin, n, true, text);
  expect_malformed(text, "address length does not match");
  bin[alen_at] = 15;
  memcpy(bin + alen_at + 1, "192.0.2.10:0000", 15);
  code_of(bin, n, true, text);
  expect_malformed(text, "not HOST:PORT");
  memcpy(bin + alen_at + 1, "192.0.2.10\0:742", 15);
  code_of(bin, n, true, text);
  expect_malformed(text, "not HOST:PORT");
}

static void test_frames(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  char hex[512], want[512];
  uint8_t secret[32];
  for (int i = 0; i < 32; i++) secret[i] = (uint8_t)(64 + i);
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_redeem(&sb, secret, "198.51.100.7:7420"), 0);
  uint8_t got_secret[32];
  char addr[HLS_HOSTPORT_MAX + 3];
  struct hls_why why = {{0}};
  int type;
  assert_int_equal(hls_frame_type((const uint8_t *)sb.data + 4, sb.size - 4, &type), 0);
  assert_int_equal(type, HLS_FRAME_REDEEM);
  assert_int_equal(hls_frame_redeem_decode((const uint8_t *)sb.data + 4, sb.size - 4, got_secret, addr, &why), 0);
  assert_memory_equal(got_secret, secret, 32);
  assert_string_equal(addr, "198.51.100.7:7420");
  hex_of((const uint8_t *)sb.data, sb.size, hex);
  strip_spaces(VECTOR_REDEEM, want);
  if (strcmp(hex, want) != 0) fail_msg("redeem %s\nwant   %s", hex, want);
  /* Refused shapes. */
  assert_int_equal(hls_frame_redeem_decode((const uint8_t *)sb.data + 4, sb.size - 5, got_secret, addr, &why),
                   HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_redeem(&sb, secret, ""), 0);
  assert_int_equal(hls_frame_redeem_decode((const uint8_t *)sb.data + 4, sb.size - 4, got_secret, addr, &why), 0);
  assert_string_equal(addr, "");
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_redeem(&sb, secret, "nowhere"), 0);
  assert_int_equal(hls_frame_redeem_decode((const uint8_t *)sb.data + 4, sb.size - 4, got_secret, addr, &why),
                   HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);

  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_redeemed(&sb, HLS_INVITE_SPENT), 0);
  hex_of((const uint8_t *)sb.data, sb.size, hex);
  strip_spaces(VECTOR_REDEEMED, want);
  assert_string_equal(hex, want);
  int outcome;
  assert_int_equal(hls_frame_redeemed_decode((const uint8_t *)sb.data + 4, sb.size - 4, &outcome, &why), 0);
  assert_int_equal(outcome, HLS_INVITE_SPENT);
  assert_string_equal(hls_invite_outcome_name(outcome), "spent");
  assert_null(hls_invite_outcome_name(99));
  assert_int_equal(hls_frame_redeemed(&sb, 99), HLS_EINVAL);
  msgpack_sbuffer_destroy(&sb);
  static const uint8_t bad[] = {0x93, 0x09, 0x00, 0x00};
  assert_int_equal(hls_frame_redeemed_decode(bad, sizeof bad, &outcome, &why), HLS_EMALFORMED);
  /* Version 2: the inviter's stewards after the outcome; the two-element
   * form decodes as "none told" (-1), the three-element one as the list. */
  uint8_t stewards[HLS_STEWARDS_MAX][32], got[HLS_STEWARDS_MAX][32];
  memset(stewards, 0, sizeof stewards);
  stewards[0][0] = 0x11;
  stewards[1][0] = 0x22;
  ptrdiff_t n = 0;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_redeemed_stewards(&sb, HLS_INVITE_OK, (const uint8_t(*)[32])stewards, 2), 0);
  assert_int_equal(hls_frame_redeemed_decode_stewards((const uint8_t *)sb.data + 4, sb.size - 4, &outcome, got, &n,
                                                      &why), 0);
  assert_int_equal(outcome, HLS_INVITE_OK);
  assert_int_equal(n, 2);
  assert_memory_equal(got, stewards, 2 * 32);
  /* A receiver that does not ask for them still reads the frame. */
  assert_int_equal(hls_frame_redeemed_decode((const uint8_t *)sb.data + 4, sb.size - 4, &outcome, &why), 0);
  assert_int_equal(hls_frame_redeemed_stewards(&sb, HLS_INVITE_OK, (const uint8_t(*)[32])stewards, HLS_STEWARDS_MAX + 1),
                   HLS_EINVAL);
  msgpack_sbuffer_destroy(&sb);
  static const uint8_t two[] = {0x92, 0x09, 0x00};
  assert_int_equal(hls_frame_redeemed_decode_stewards(two, sizeof two, &outcome, got, &n, &why), 0);
  assert_int_equal(n, -1);
  static const uint8_t none[] = {0x93, 0x09, 0x00, 0x90};
  assert_int_equal(hls_frame_redeemed_decode_stewards(none, sizeof none, &outcome, got, &n, &why), 0);
  assert_int_equal(n, 0);
  static const uint8_t short_id[] = {0x93, 0x09, 0x00, 0x91, 0xc4, 0x01, 0x00};
  assert_int_equal(hls_frame_redeemed_decode_stewards(short_id, sizeof short_id, &outcome, got, &n, &why),
                   HLS_EMALFORMED);
  static const uint8_t four[] = {0x94, 0x09, 0x00, 0x90, 0x00};
  assert_int_equal(hls_frame_redeemed_decode_stewards(four, sizeof four, &outcome, got, &n, &why), HLS_EMALFORMED);
}

static void test_secret_hash(void **state) {
  (void)state;
  uint8_t s[32] = {0}, h1[32], h2[32];
  hls_invite_secret_hash(s, h1);
  s[31] = 1;
  hls_invite_secret_hash(s, h2);
  assert_memory_not_equal(h1, h2, 32);
  assert_memory_not_equal(h1, s, 32);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_frames),
      cmocka_unit_test(test_secret_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
