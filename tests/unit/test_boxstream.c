/* Box stream edge cases (protocol/boxstream.h): tampering, truncation,
 * message sizes, the goodbye, nonce arithmetic. The known-answer test
 * against the reference implementation is in test_shs.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "boxstream.h"

static const uint8_t key[32] = {0x2e, 0x41, 0xc6, 0x43, 0xee, 0x8f, 0xb0, 0xbf, 0x9d, 0x48, 0xb1,
                                0x11, 0x94, 0x00, 0x40, 0x4c, 0x1b, 0x94, 0xde, 0x7c, 0xed, 0xe8,
                                0x8b, 0x8a, 0xd0, 0x98, 0xaf, 0xc1, 0xf8, 0x4c, 0xc3, 0x5b};
static const uint8_t nonce[24] = {0x87, 0x41, 0x5e, 0xb3, 0x75, 0x60, 0xff, 0x1e, 0x87, 0x4a, 0x71, 0x9a,
                                  0x09, 0x36, 0x59, 0x0a, 0xa5, 0x49, 0x42, 0xfc, 0x2f, 0xe9, 0x5e, 0x5d};

#define MAX_BODIES 8

struct collected {
  uint8_t data[4 * HLS_BOX_MAX_BODY];
  size_t len;
  int bodies;
  size_t body_len[MAX_BODIES];
  int stop_at; /* return 7 from this body (1-based; 0: never) */
};

static int collect(void *ctx, const uint8_t *plain, size_t len) {
  struct collected *c = ctx;
  assert_true(c->len + len <= sizeof c->data);
  assert_true(c->bodies < MAX_BODIES);
  memcpy(c->data + c->len, plain, len);
  c->len += len;
  c->body_len[c->bodies++] = len;
  return c->bodies == c->stop_at ? 7 : 0;
}

/* i * 7 + 1 mod 256: no zero runs, easy to check. */
static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + 1);
}

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return false;
  return true;
}

/* A stream of messages with the given body lengths (bodies from fill(),
 * one after the other), then the goodbye. Returns its length; off[i] is
 * where message i starts, off[n] the goodbye, off[n + 1] the end. */
static size_t build(uint8_t *out, const uint8_t start_nonce[24], const size_t *lens, int n, size_t *off) {
  static uint8_t plain[4 * HLS_BOX_MAX_BODY];
  struct hls_box box;
  size_t o = 0, p = 0;
  fill(plain, sizeof plain);
  hls_box_init(&box, key, start_nonce);
  for (int i = 0; i < n; i++) {
    off[i] = o;
    assert_int_equal(hls_box_seal(&box, plain + p, lens[i], out + o), 0);
    o += HLS_BOX_HEADER + lens[i];
    p += lens[i];
  }
  off[n] = o;
  hls_box_goodbye(&box, out + o);
  o += HLS_BOX_HEADER;
  off[n + 1] = o;
  hls_box_wipe(&box);
  return o;
}

/* A header box as a sender would write it, claiming body_len, under n. */
static void forge_header(uint8_t out[HLS_BOX_HEADER], const uint8_t n[24], unsigned body_len, uint8_t mac_byte) {
  uint8_t header[2 + HLS_BOX_MAC];
  header[0] = (uint8_t)(body_len >> 8);
  header[1] = (uint8_t)body_len;
  memset(header + 2, mac_byte, HLS_BOX_MAC);
  crypto_secretbox_easy(out, header, sizeof header, n, key);
}

static int feed_all(const uint8_t *in, size_t len, size_t *consumed, struct collected *got,
                    struct hls_box_reader *r) {
  hls_box_reader_init(r, key, nonce);
  return hls_box_reader_feed(r, in, len, consumed, collect, got);
}

static void test_round_trip(void **state) {
  (void)state;
  uint8_t stream[256];
  size_t off[3], lens[1] = {20}, used;
  size_t len = build(stream, nonce, lens, 1, off);
  assert_int_equal(len, 2 * HLS_BOX_HEADER + 20);
  struct collected got = {0};
  struct hls_box_reader r;
  assert_int_equal(feed_all(stream, len, &used, &got, &r), 0);
  assert_int_equal(used, len);
  assert_true(r.ended);
  uint8_t expected[20];
  fill(expected, sizeof expected);
  assert_int_equal(got.bodies, 1);
  assert_int_equal(got.len, 20);
  assert_memory_equal(got.data, expected, 20);
}

/* Every single-bit change in a header or a body is refused, and nothing
 * of the message is delivered. */
static void test_any_bit_flip_rejected(void **state) {
  (void)state;
  uint8_t stream[256], copy[256];
  size_t off[4], lens[2] = {20, 3}, used;
  size_t len = build(stream, nonce, lens, 2, off);
  for (size_t bit = 0; bit < off[2] * 8; bit++) {
    memcpy(copy, stream, len);
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    struct collected got = {0};
    struct hls_box_reader r;
    int rc = feed_all(copy, len, &used, &got, &r);
    if (rc != HLS_EBADSIG) fail_msg("bit %zu: %d, not HLS_EBADSIG", bit, rc);
    assert_false(r.ended);
    /* Messages before the flipped one still arrive; never the flipped one. */
    int flipped = bit / 8 < off[1] ? 0 : 1;
    assert_int_equal(got.bodies, flipped);
  }
}

/* A flipped goodbye is not a goodbye. */
static void test_goodbye_bit_flip_rejected(void **state) {
  (void)state;
  uint8_t stream[256];
  size_t off[3], lens[1] = {5}, used;
  size_t len = build(stream, nonce, lens, 1, off);
  for (size_t bit = off[1] * 8; bit < len * 8; bit++) {
    stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    struct collected got = {0};
    struct hls_box_reader r;
    assert_int_equal(feed_all(stream, len, &used, &got, &r), HLS_EBADSIG);
    assert_false(r.ended);
    assert_int_equal(got.bodies, 1);
    stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
}

/* Cut anywhere, the reader waits: no error, no partial body, not ended;
 * the rest then completes the stream. */
static void test_truncated_waits_at_every_split(void **state) {
  (void)state;
  static uint8_t stream[2048];
  size_t off[5], lens[3] = {5, 300, 1}, used;
  size_t len = build(stream, nonce, lens, 3, off);
  uint8_t expected[306];
  fill(expected, sizeof expected);
  for (size_t split = 0; split <= len; split++) {
    struct collected got = {0};
    struct hls_box_reader r;
    assert_int_equal(feed_all(stream, split, &used, &got, &r), 0);
    assert_int_equal(used, split);
    int complete = 0;
    while (complete < 3 && off[complete + 1] <= split) complete++;
    assert_int_equal(got.bodies, complete);
    assert_int_equal(r.ended, split == len);
    assert_int_equal(hls_box_reader_feed(&r, stream + split, len - split, &used, collect, &got), 0);
    assert_int_equal(used, len - split);
    assert_true(r.ended);
    assert_int_equal(got.bodies, 3);
    assert_int_equal(got.len, sizeof expected);
    assert_memory_equal(got.data, expected, sizeof expected);
  }
}

/* Fed one byte at a time, the same bodies arrive. */
static void test_byte_at_a_time(void **state) {
  (void)state;
  static uint8_t stream[2048];
  size_t off[4], lens[2] = {HLS_BOX_MAX_BODY / 4, 17}, used;
  size_t len = build(stream, nonce, lens, 2, off);
  struct collected got = {0};
  struct hls_box_reader r;
  hls_box_reader_init(&r, key, nonce);
  for (size_t i = 0; i < len; i++) {
    assert_int_equal(hls_box_reader_feed(&r, stream + i, 1, &used, collect, &got), 0);
    assert_int_equal(used, 1);
  }
  assert_true(r.ended);
  assert_int_equal(got.bodies, 2);
  assert_int_equal(got.body_len[0], HLS_BOX_MAX_BODY / 4);
  assert_int_equal(got.body_len[1], 17);
}

/* Bodies are 1..4096 bytes: seal refuses 0 and 4097 without using a
 * nonce; 4096 seals and reads back. */
static void test_body_sizes_on_seal(void **state) {
  (void)state;
  static uint8_t plain[HLS_BOX_MAX_BODY + 1], out[HLS_BOX_HEADER + HLS_BOX_MAX_BODY + 1 + HLS_BOX_HEADER];
  fill(plain, sizeof plain);
  struct hls_box box;
  hls_box_init(&box, key, nonce);
  assert_int_equal(hls_box_seal(&box, plain, 0, out), HLS_EINVAL);
  assert_int_equal(hls_box_seal(&box, plain, HLS_BOX_MAX_BODY + 1, out), HLS_EINVAL);
  assert_memory_equal(box.nonce, nonce, 24);
  assert_int_equal(hls_box_seal(&box, plain, HLS_BOX_MAX_BODY, out), 0);
  hls_box_goodbye(&box, out + HLS_BOX_HEADER + HLS_BOX_MAX_BODY);
  static struct collected got;
  memset(&got, 0, sizeof got);
  struct hls_box_reader r;
  size_t used, len = 2 * HLS_BOX_HEADER + HLS_BOX_MAX_BODY;
  assert_int_equal(feed_all(out, len, &used, &got, &r), 0);
  assert_int_equal(used, len);
  assert_true(r.ended);
  assert_int_equal(got.bodies, 1);
  assert_int_equal(got.len, HLS_BOX_MAX_BODY);
  assert_memory_equal(got.data, plain, HLS_BOX_MAX_BODY);
}

/* The goodbye is a header of 18 zero bytes: length 0 and a zero MAC. A
 * length of 0 with any other MAC is no body and no goodbye: malformed. */
static void test_zero_length_header(void **state) {
  (void)state;
  uint8_t header[HLS_BOX_HEADER], goodbye[HLS_BOX_HEADER];
  struct hls_box box;
  hls_box_init(&box, key, nonce);
  hls_box_goodbye(&box, goodbye);
  forge_header(header, nonce, 0, 0);
  assert_memory_equal(header, goodbye, HLS_BOX_HEADER);
  struct collected got = {0};
  struct hls_box_reader r;
  size_t used;
  assert_int_equal(feed_all(header, sizeof header, &used, &got, &r), 0);
  assert_true(r.ended);
  forge_header(header, nonce, 0, 0x01);
  assert_int_equal(feed_all(header, sizeof header, &used, &got, &r), HLS_EMALFORMED);
  assert_false(r.ended);
  assert_int_equal(got.bodies, 0);
}

/* An authentic header claiming more than 4096 bytes is refused before
 * any body byte is awaited. */
static void test_header_length_over_max(void **state) {
  (void)state;
  static const unsigned claims[] = {HLS_BOX_MAX_BODY + 1, 0x8000, 0xffff};
  uint8_t header[HLS_BOX_HEADER];
  for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
    forge_header(header, nonce, claims[i], 0xab);
    struct collected got = {0};
    struct hls_box_reader r;
    size_t used;
    assert_int_equal(feed_all(header, sizeof header, &used, &got, &r), HLS_EMALFORMED);
    assert_int_equal(used, HLS_BOX_HEADER);
  }
  /* 4096 itself is a header like any other: the reader waits for its body. */
  forge_header(header, nonce, HLS_BOX_MAX_BODY, 0xab);
  struct collected got = {0};
  struct hls_box_reader r;
  size_t used;
  assert_int_equal(feed_all(header, sizeof header, &used, &got, &r), 0);
  assert_true(r.in_body);
  assert_int_equal(r.body_len, HLS_BOX_MAX_BODY);
}

/* More than 4096 bytes of data go in several messages: sealed_size counts
 * a header per 4096 bytes, and the reader delivers them in order. */
static void test_large_input_splits(void **state) {
  (void)state;
  assert_int_equal(hls_box_sealed_size(0), 0);
  assert_int_equal(hls_box_sealed_size(1), 1 + HLS_BOX_HEADER);
  assert_int_equal(hls_box_sealed_size(HLS_BOX_MAX_BODY), HLS_BOX_MAX_BODY + HLS_BOX_HEADER);
  assert_int_equal(hls_box_sealed_size(HLS_BOX_MAX_BODY + 1), HLS_BOX_MAX_BODY + 1 + 2 * HLS_BOX_HEADER);
  assert_int_equal(hls_box_sealed_size(10000), 10000 + 3 * HLS_BOX_HEADER);

  enum { TOTAL = 10000 };
  static uint8_t plain[TOTAL], out[TOTAL + 4 * HLS_BOX_HEADER];
  fill(plain, sizeof plain);
  struct hls_box box;
  hls_box_init(&box, key, nonce);
  size_t o = 0;
  for (size_t p = 0; p < TOTAL; p += HLS_BOX_MAX_BODY) {
    size_t n = TOTAL - p < HLS_BOX_MAX_BODY ? TOTAL - p : HLS_BOX_MAX_BODY;
    assert_int_equal(hls_box_seal(&box, plain + p, n, out + o), 0);
    o += HLS_BOX_HEADER + n;
  }
  assert_int_equal(o, hls_box_sealed_size(TOTAL));
  hls_box_goodbye(&box, out + o);
  o += HLS_BOX_HEADER;
  static struct collected got;
  memset(&got, 0, sizeof got);
  struct hls_box_reader r;
  size_t used;
  assert_int_equal(feed_all(out, o, &used, &got, &r), 0);
  assert_true(r.ended);
  assert_int_equal(got.bodies, 3);
  assert_int_equal(got.body_len[0], HLS_BOX_MAX_BODY);
  assert_int_equal(got.body_len[1], HLS_BOX_MAX_BODY);
  assert_int_equal(got.body_len[2], TOTAL - 2 * HLS_BOX_MAX_BODY);
  assert_memory_equal(got.data, plain, TOTAL);
}

/* The goodbye ends the stream: bytes after it in the same call are not
 * consumed, and any later bytes are HLS_ECLOSED. */
static void test_goodbye_then_nothing(void **state) {
  (void)state;
  uint8_t stream[256];
  size_t off[3], lens[1] = {9}, used = 0;
  size_t len = build(stream, nonce, lens, 1, off);
  memcpy(stream + len, "more", 4);
  struct collected got = {0};
  struct hls_box_reader r;
  assert_int_equal(feed_all(stream, len + 4, &used, &got, &r), 0);
  assert_true(r.ended);
  assert_int_equal(used, len);
  assert_int_equal(got.bodies, 1);
  assert_int_equal(hls_box_reader_feed(&r, stream + len, 4, &used, collect, &got), HLS_ECLOSED);
  assert_int_equal(used, 0);
  /* Another whole message after the goodbye is refused too, unread. */
  assert_int_equal(hls_box_reader_feed(&r, stream, len, &used, collect, &got), HLS_ECLOSED);
  assert_int_equal(got.bodies, 1);
  assert_int_equal(hls_box_reader_feed(&r, stream, 0, &used, collect, &got), 0);
}

/* Nonces are 24-byte big-endian counters: each message takes two, and
 * a carry runs across bytes (npm increment-buffer). */
static void test_nonce_carry(void **state) {
  (void)state;
  uint8_t start[24], after[24], body_nonce[24];
  memset(start, 0x11, sizeof start);
  start[21] = 0x00;
  start[22] = 0xff;
  start[23] = 0xff;
  uint8_t plain[3] = {1, 2, 3}, out[HLS_BOX_HEADER + 3];
  struct hls_box box;
  hls_box_init(&box, key, start);
  assert_int_equal(hls_box_seal(&box, plain, sizeof plain, out), 0);
  memcpy(after, start, 24);
  after[21] = 0x01, after[22] = 0x00, after[23] = 0x01;
  assert_memory_equal(box.nonce, after, 24);

  /* The header opens under the start nonce, the body under start + 1
   * (..01 00 00), with the MAC the header carries. */
  uint8_t header[2 + HLS_BOX_MAC], opened[3];
  assert_int_equal(crypto_secretbox_open_easy(header, out, HLS_BOX_HEADER, start, key), 0);
  assert_int_equal(header[0], 0);
  assert_int_equal(header[1], 3);
  memcpy(body_nonce, start, 24);
  body_nonce[21] = 0x01, body_nonce[22] = 0x00, body_nonce[23] = 0x00;
  assert_int_equal(crypto_secretbox_open_detached(opened, out + HLS_BOX_HEADER, header + 2, 3, body_nonce, key), 0);
  assert_memory_equal(opened, plain, 3);

  /* All ones wraps to zero. */
  memset(start, 0xff, sizeof start);
  hls_box_init(&box, key, start);
  assert_int_equal(hls_box_seal(&box, plain, sizeof plain, out), 0);
  memset(after, 0, sizeof after);
  after[23] = 0x01;
  assert_memory_equal(box.nonce, after, 24);

  /* A reader follows the same counter across the carry. */
  static uint8_t stream[512];
  size_t off[6], lens[4] = {1, 2, 3, 4}, used;
  uint8_t carry[24];
  memset(carry, 0, sizeof carry);
  carry[22] = 0xff;
  carry[23] = 0xfd;
  size_t len = build(stream, carry, lens, 4, off);
  struct collected got = {0};
  struct hls_box_reader r;
  hls_box_reader_init(&r, key, carry);
  assert_int_equal(hls_box_reader_feed(&r, stream, len, &used, collect, &got), 0);
  assert_true(r.ended);
  assert_int_equal(got.bodies, 4);
  uint8_t end[24] = {0};
  end[21] = 0x01, end[23] = 0x05; /* ..00 ff fd + 8 */
  assert_memory_equal(r.box.nonce, end, 24);
}

/* Messages are bound to their place: reordered, replayed, dropped or
 * under another key, they do not open. */
static void test_reorder_replay_drop_rejected(void **state) {
  (void)state;
  static uint8_t stream[1024], edited[1024];
  size_t off[5], lens[3] = {10, 20, 30}, used;
  size_t len = build(stream, nonce, lens, 3, off);
  size_t m0 = off[1] - off[0], m1 = off[2] - off[1], m2 = off[3] - off[2];
  struct collected got;
  struct hls_box_reader r;

  /* Swap messages 1 and 2. */
  memcpy(edited, stream, off[1]);
  memcpy(edited + off[1], stream + off[2], m2);
  memcpy(edited + off[1] + m2, stream + off[1], m1);
  memcpy(edited + off[3], stream + off[3], len - off[3]);
  memset(&got, 0, sizeof got);
  assert_int_equal(feed_all(edited, len, &used, &got, &r), HLS_EBADSIG);
  assert_int_equal(got.bodies, 1);

  /* Replay message 0 in place of message 1. */
  memcpy(edited, stream, off[1]);
  memcpy(edited + off[1], stream, m0);
  memset(&got, 0, sizeof got);
  assert_int_equal(feed_all(edited, off[1] + m0, &used, &got, &r), HLS_EBADSIG);
  assert_int_equal(got.bodies, 1);

  /* Drop message 1. */
  memcpy(edited, stream, off[1]);
  memcpy(edited + off[1], stream + off[2], len - off[2]);
  memset(&got, 0, sizeof got);
  assert_int_equal(feed_all(edited, len - m1, &used, &got, &r), HLS_EBADSIG);
  assert_int_equal(got.bodies, 1);

  /* Drop the goodbye: all bodies, but the stream has not ended. */
  memset(&got, 0, sizeof got);
  assert_int_equal(feed_all(stream, off[3], &used, &got, &r), 0);
  assert_int_equal(got.bodies, 3);
  assert_false(r.ended);

  /* Another key. */
  uint8_t other[32];
  memcpy(other, key, 32);
  other[0] ^= 1;
  memset(&got, 0, sizeof got);
  hls_box_reader_init(&r, other, nonce);
  assert_int_equal(hls_box_reader_feed(&r, stream, len, &used, collect, &got), HLS_EBADSIG);
  assert_int_equal(got.bodies, 0);
}

/* A callback's non-zero return stops the reader and is returned. */
static void test_callback_stops(void **state) {
  (void)state;
  uint8_t stream[256];
  size_t off[4], lens[2] = {4, 5}, used;
  size_t len = build(stream, nonce, lens, 2, off);
  struct collected got = {0};
  got.stop_at = 1;
  struct hls_box_reader r;
  assert_int_equal(feed_all(stream, len, &used, &got, &r), 7);
  assert_int_equal(got.bodies, 1);
  assert_int_equal(used, off[1]);
  assert_false(r.ended);
}

static void test_wipe(void **state) {
  (void)state;
  uint8_t stream[256];
  size_t off[3], lens[1] = {5}, used;
  build(stream, nonce, lens, 1, off);
  struct hls_box box;
  hls_box_init(&box, key, nonce);
  assert_false(all_zero(&box, sizeof box));
  hls_box_wipe(&box);
  assert_true(all_zero(&box, sizeof box));
  struct collected got = {0};
  struct hls_box_reader r;
  /* Stop mid-body, with plaintext-bound state buffered. */
  assert_int_equal(feed_all(stream, off[1] - 1, &used, &got, &r), 0);
  assert_true(r.in_body);
  hls_box_reader_wipe(&r);
  assert_true(all_zero(&r, sizeof r));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_any_bit_flip_rejected),
      cmocka_unit_test(test_goodbye_bit_flip_rejected),
      cmocka_unit_test(test_truncated_waits_at_every_split),
      cmocka_unit_test(test_byte_at_a_time),
      cmocka_unit_test(test_body_sizes_on_seal),
      cmocka_unit_test(test_zero_length_header),
      cmocka_unit_test(test_header_length_over_max),
      cmocka_unit_test(test_large_input_splits),
      cmocka_unit_test(test_goodbye_then_nothing),
      cmocka_unit_test(test_nonce_carry),
      cmocka_unit_test(test_reorder_replay_drop_rejected),
      cmocka_unit_test(test_callback_stops),
      cmocka_unit_test(test_wipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
