/* Unit tests for protocol/nodeid.c: node id and key text forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>

#include <stdio.h>
#include <string.h>

#include "nodeid.h"

#define EXAMPLE_ID "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519"
#define ZERO_ID "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519"

static void fill_pattern(uint8_t key[32], uint32_t seed) {
  for (int i = 0; i < 32; i++) {
    seed = seed * 1103515245u + 12345u;
    key[i] = (uint8_t)(seed >> 16);
  }
}

static void test_nodeid_round_trip(void **state) {
  (void)state;
  for (uint32_t seed = 0; seed < 2000; seed++) {
    uint8_t pk[32], back[32];
    char text[HLS_NODEID_TEXT_SIZE];
    if (seed == 0) memset(pk, 0, sizeof pk);
    else if (seed == 1) memset(pk, 0xff, sizeof pk);
    else fill_pattern(pk, seed);
    memset(text, 'x', sizeof text);
    hls_nodeid_format(pk, text);
    assert_int_equal(strlen(text), HLS_NODEID_TEXT_SIZE - 1);
    assert_int_equal(text[0], '@');
    assert_string_equal(text + HLS_NODEID_TEXT_SIZE - 1 - 8, ".ed25519");
    assert_int_equal(text[44], '=');
    assert_int_equal(hls_nodeid_parse(text, back), 0);
    assert_memory_equal(back, pk, 32);
  }
}

static void test_nodeid_known_answers(void **state) {
  (void)state;
  uint8_t pk[32], zero[32] = {0};
  char text[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(zero, text);
  assert_string_equal(text, ZERO_ID);
  assert_int_equal(hls_nodeid_parse(EXAMPLE_ID, pk), 0);
  assert_int_equal(pk[0], 0x14); /* "FCX/" = 14 25 ff */
  assert_int_equal(pk[1], 0x25);
  assert_int_equal(pk[2], 0xff);
  hls_nodeid_format(pk, text);
  assert_string_equal(text, EXAMPLE_ID);
  /* docs/protocol.md section 2's vector: the node id of seed 01 02 .. 20 */
  uint8_t seed[32], sk[64];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i + 1);
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
  hls_nodeid_format(pk, text);
  assert_string_equal(text, "@ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=.ed25519");
}

static void test_nodeid_parse_refusals(void **state) {
  (void)state;
  uint8_t pk[32];
  const char *bad[] = {
      "",
      "@",
      ".ed25519",
      "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519",    /* no @ */
      "#FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519",   /* wrong prefix */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25518",   /* wrong suffix */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ED25519",
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.sha256",
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=",          /* no suffix */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519 ", /* too long */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed255190",
      " @FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519",
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziW=.ed25519",   /* too short */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWYA.ed25519",  /* no padding */
      "@FCX_tsDLpubCPKKfIrw4gc-SQkHcaD17s7GI6i_ziWY=.ed25519",  /* URL-safe alphabet */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWZ=.ed25519",  /* stray low bits */
      "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=.ed25519",  /* stray low bits */
      "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/zi==.ed25519",   /* padding in the wrong place */
      "@FCX/tsDLpubCPKKfIrw4gc SQkHcaD17s7GI6i/ziWY=.ed25519",  /* space */
      "@FCX/tsDLpubCPKKfIrw4gc\nSQkHcaD17s7GI6i/ziWY=.ed25519",
      "@FCX/tsDLpubCPKKfIrw4gc*SQkHcaD17s7GI6i/ziWY=.ed25519",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (hls_nodeid_parse(bad[i], pk) != HLS_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
  assert_int_equal(hls_nodeid_parse(NULL, pk), HLS_EINVAL);
}

static void test_key32_round_trip(void **state) {
  (void)state;
  for (uint32_t seed = 0; seed < 500; seed++) {
    uint8_t key[32], back[32];
    char text[HLS_KEY32_TEXT_SIZE];
    fill_pattern(key, seed);
    hls_key32_format(key, text);
    assert_int_equal(strlen(text), HLS_KEY32_TEXT_SIZE - 1);
    assert_int_equal(hls_key32_parse(text, strlen(text), back), 0);
    assert_memory_equal(back, key, 32);
  }
  uint8_t zero[32] = {0}, back[32];
  char text[HLS_KEY32_TEXT_SIZE];
  hls_key32_format(zero, text);
  assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  /* Only len bytes are read. */
  assert_int_equal(hls_key32_parse("FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519", 44, back), 0);
  assert_int_equal(back[0], 0x14);
}

static void test_key32_parse_refusals(void **state) {
  (void)state;
  uint8_t key[32];
  const char *good = "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=";
  assert_int_equal(hls_key32_parse(good, 44, key), 0);
  assert_int_equal(hls_key32_parse(good, 43, key), HLS_EINVAL);
  assert_int_equal(hls_key32_parse("FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY==", 45, key), HLS_EINVAL);
  assert_int_equal(hls_key32_parse("", 0, key), HLS_EINVAL);
  const char *bad[] = {
      "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWZ=", /* non-canonical */
      "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWYA", /* no padding, 33 bytes */
      "FCX_tsDLpubCPKKfIrw4gc-SQkHcaD17s7GI6i_ziWY=", /* URL-safe */
      "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziW==", /* 31 bytes + padding */
      "FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY\n",
      "=CX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=",
      "FCX/tsDLpubCPKKfIrw4gc SQkHcaD17s7GI6i/ziWY=",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(strlen(bad[i]), 44);
    if (hls_key32_parse(bad[i], 44, key) != HLS_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
  }
  /* Every variant of the last data character but the canonical one. */
  char text[HLS_KEY32_TEXT_SIZE];
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int accepted = 0;
  for (size_t i = 0; i < 64; i++) {
    memcpy(text, good, sizeof text);
    text[42] = alphabet[i];
    if (hls_key32_parse(text, 44, key) == 0) accepted++;
  }
  assert_int_equal(accepted, 16); /* 4 data bits, 2 must-be-zero bits */
}

static void test_item_ref(void **state) {
  (void)state;
  struct hls_item_ref ref;
  uint8_t id[32];
  for (int i = 0; i < 32; i++) id[i] = (uint8_t)(0xa0 + i);
  char hex[HLS_ITEM_ID_HEX_SIZE];
  hls_item_id_format(id, hex);
  assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
  /* The whole id: low == high == id. */
  assert_int_equal(hls_item_ref_parse(hex, &ref), 0);
  assert_false(ref.by_origin);
  assert_int_equal(ref.hex_digits, 64);
  assert_memory_equal(ref.low, id, 32);
  assert_memory_equal(ref.high, id, 32);
  /* An odd prefix, in upper case: the range covers the last nibble. */
  assert_int_equal(hls_item_ref_parse("A0A1A2A3A", &ref), 0);
  assert_int_equal(ref.hex_digits, 9);
  static const uint8_t low[6] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa0, 0x00}, high[6] = {0xa0, 0xa1, 0xa2, 0xa3, 0xaf, 0xff};
  assert_memory_equal(ref.low, low, 6);
  assert_memory_equal(ref.high, high, 6);
  assert_int_equal(ref.low[31], 0x00);
  assert_int_equal(ref.high[31], 0xff);
  assert_true(memcmp(ref.low, id, 32) <= 0 && memcmp(id, ref.high, 32) <= 0);
  /* ORIGIN:SEQ */
  uint8_t pk[32];
  char node_id[HLS_NODEID_TEXT_SIZE], text[96];
  memset(pk, 7, sizeof pk);
  hls_nodeid_format(pk, node_id);
  snprintf(text, sizeof text, "%s:42", node_id);
  assert_int_equal(hls_item_ref_parse(text, &ref), 0);
  assert_true(ref.by_origin);
  assert_memory_equal(ref.origin, pk, 32);
  assert_int_equal(ref.seq, 42);
  snprintf(text, sizeof text, "%s:9223372036854775807", node_id);
  assert_int_equal(hls_item_ref_parse(text, &ref), 0);
  assert_int_equal(ref.seq, INT64_MAX);
  static const char *const bad_seqs[] = {"0", "", "-1", "+1", " 1", "1 ", "9223372036854775808", "01", "1x"};
  for (size_t i = 0; i < sizeof bad_seqs / sizeof bad_seqs[0]; i++) {
    snprintf(text, sizeof text, "%s:%s", node_id, bad_seqs[i]);
    if (hls_item_ref_parse(text, &ref) != HLS_EINVAL) fail_msg("accepted \"%s\"", text);
  }
  static const char *const bad[] = {"", "a0a1a2a", "a0a1a2a3-", "g0a1a2a3", "@abc:1", "0x a0a1a2a3",
                                    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf0"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (hls_item_ref_parse(bad[i], &ref) != HLS_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
  assert_int_equal(hls_item_ref_parse(NULL, &ref), HLS_EINVAL);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nodeid_round_trip),
      cmocka_unit_test(test_nodeid_known_answers),
      cmocka_unit_test(test_nodeid_parse_refusals),
      cmocka_unit_test(test_key32_round_trip),
      cmocka_unit_test(test_key32_parse_refusals),
      cmocka_unit_test(test_item_ref),
  };
  return cmocka_run_group_tests_name("nodeid", tests, NULL, NULL);
}
