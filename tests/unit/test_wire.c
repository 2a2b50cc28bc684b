/* Session frames (protocol/wire.h): building and decoding hello and ping
 * frames, and the frame reader that cuts a box stream's plaintext into
 * frames whatever the chunking. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* --- building and decoding ------------------------------------------------------------ */

/* NETKEY (docs/protocol.md 7.2): [10, epoch, key], exact. */
static void test_netkey_frame(void **state) {
  (void)state;
  uint8_t key[32], got[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_netkey(&sb, 2, key), 0);
  static const uint8_t head[] = {0, 0, 0, 0x25, 0x93, 0x0a, 0x02, 0xc4, 0x20};
  assert_int_equal(sb.size, sizeof head + 32);
  assert_memory_equal(sb.data, head, sizeof head);
  uint64_t epoch = 0;
  struct hls_why why = {{0}};
  int type = -1;
  assert_int_equal(hls_frame_type((const uint8_t *)sb.data + 4, sb.size - 4, &type), 0);
  assert_int_equal(type, HLS_FRAME_NETKEY);
  assert_int_equal(hls_frame_netkey_decode((const uint8_t *)sb.data + 4, sb.size - 4, &epoch, got, &why), 0);
  assert_int_equal(epoch, 2);
  assert_memory_equal(got, key, 32);
  assert_int_equal(hls_frame_netkey(&sb, 0, key), HLS_EINVAL);
  msgpack_sbuffer_destroy(&sb);
  static const uint8_t epoch0[] = {0x93, 0x0a, 0x00, 0xc4, 0x01, 0x00};
  assert_int_equal(hls_frame_netkey_decode(epoch0, sizeof epoch0, &epoch, got, &why), HLS_EMALFORMED);
  static const uint8_t short_key[] = {0x93, 0x0a, 0x01, 0xc4, 0x01, 0x00};
  assert_int_equal(hls_frame_netkey_decode(short_key, sizeof short_key, &epoch, got, &why), HLS_EMALFORMED);
  static const uint8_t two[] = {0x92, 0x0a, 0x01};
  assert_int_equal(hls_frame_netkey_decode(two, sizeof two, &epoch, got, &why), HLS_EMALFORMED);
}

static void test_hello_round_trip(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_hello(&sb), 0);
  static const uint8_t expected[] = {0, 0, 0, 3, 0x92, 0x00, 0x02}; /* length 3, [0, 2] */
  assert_int_equal(sb.size, sizeof expected);
  assert_memory_equal(sb.data, expected, sizeof expected);
  int type = -1;
  uint32_t version = 0;
  struct hls_why why;
  assert_int_equal(hls_frame_type((const uint8_t *)sb.data + 4, 3, &type), 0);
  assert_int_equal(type, HLS_FRAME_HELLO);
  assert_int_equal(hls_frame_hello_decode((const uint8_t *)sb.data + 4, 3, &version, &why), 0);
  assert_int_equal(version, HLS_WIRE_VERSION);
  msgpack_sbuffer_destroy(&sb);
}

static void test_hello_versions(void **state) {
  (void)state;
  uint32_t version = 0;
  struct hls_why why;
  static const uint8_t v0[] = {0x92, 0x00, 0x00};
  assert_int_equal(hls_frame_hello_decode(v0, sizeof v0, &version, &why), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "version >= 1"));
  /* A later version's hello with more elements: they are skipped. */
  static const uint8_t later[] = {0x94, 0x00, 0x07, 0xa1, 'x', 0xc0};
  assert_int_equal(hls_frame_hello_decode(later, sizeof later, &version, &why), 0);
  assert_int_equal(version, 7);
  static const uint8_t trailing[] = {0x92, 0x00, 0x01, 0x00};
  assert_int_equal(hls_frame_hello_decode(trailing, sizeof trailing, &version, &why), HLS_ETRAILING);
  static const uint8_t noncanonical[] = {0x92, 0x00, 0xcc, 0x01}; /* 1 as uint8 */
  assert_int_not_equal(hls_frame_hello_decode(noncanonical, sizeof noncanonical, &version, &why), 0);
  static const uint8_t short_hello[] = {0x91, 0x00};
  assert_int_equal(hls_frame_hello_decode(short_hello, sizeof short_hello, &version, &why), HLS_EMALFORMED);
}

static void test_ping_limits(void **state) {
  (void)state;
  uint8_t *data = malloc(HLS_WIRE_MAX_PING + 1);
  assert_non_null(data);
  memset(data, 0xab, HLS_WIRE_MAX_PING + 1);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  const uint8_t *view;
  size_t view_len;
  struct hls_why why;
  /* The largest ping decodes to a view of its bytes. */
  assert_int_equal(hls_frame_ping(&sb, HLS_FRAME_PING, data, HLS_WIRE_MAX_PING), 0);
  const uint8_t *payload = (const uint8_t *)sb.data + HLS_WIRE_HEADER;
  size_t len = sb.size - HLS_WIRE_HEADER;
  assert_int_equal(hls_frame_ping_decode(payload, len, &view, &view_len, &why), 0);
  assert_int_equal(view_len, HLS_WIRE_MAX_PING);
  assert_ptr_equal(view + view_len, payload + len);
  /* One byte more is refused by the decoder (a pong would echo it). */
  msgpack_sbuffer_clear(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_array(&pk, 2) | msgpack_pack_uint32(&pk, HLS_FRAME_PING) |
                       msgpack_pack_bin_with_body(&pk, data, HLS_WIRE_MAX_PING + 1),
                   0);
  assert_int_equal(hls_frame_ping_decode((const uint8_t *)sb.data, sb.size, &view, &view_len, &why), HLS_ETOOBIG);
  /* A hello is not a ping, and a ping is not a hello. */
  static const uint8_t hello[] = {0x92, 0x00, 0x01};
  assert_int_equal(hls_frame_ping_decode(hello, sizeof hello, &view, &view_len, &why), HLS_EMALFORMED);
  static const uint8_t ping[] = {0x92, 0x01, 0xc4, 0x00};
  uint32_t version;
  assert_int_equal(hls_frame_hello_decode(ping, sizeof ping, &version, &why), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  free(data);
}

static void test_frame_end_limits(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  size_t at = hls_frame_begin(&sb);
  assert_int_equal(hls_frame_end(&sb, at, 100), HLS_ETOOBIG); /* empty */
  msgpack_sbuffer_write(&sb, "0123456789", 10);
  assert_int_equal(hls_frame_end(&sb, at, 9), HLS_ETOOBIG);
  assert_int_equal(hls_frame_end(&sb, at, 10), 0);
  assert_memory_equal(sb.data, "\0\0\0\x0a", 4);
  msgpack_sbuffer_destroy(&sb);
}

/* --- the frame reader ------------------------------------------------------------------ */

struct got {
  uint8_t data[1 << 16];
  size_t len;
  int frames;
  size_t sizes[64];
  int stop_at; /* return 9 at this frame (1-based; 0: never) */
};

static int collect(void *ctx, const uint8_t *payload, size_t len) {
  struct got *g = ctx;
  assert_true(g->len + len <= sizeof g->data && g->frames < 64);
  memcpy(g->data + g->len, payload, len);
  g->len += len;
  g->sizes[g->frames++] = len;
  return g->frames == g->stop_at ? 9 : 0;
}

static int count(void *ctx, const uint8_t *payload, size_t len) {
  (void)payload;
  assert_int_equal(len, 70000);
  ++*(int *)ctx;
  return 0;
}

/* hello, ping of 8, pong of 300, laid end to end. */
static void session_stream(msgpack_sbuffer *sb, uint8_t data[300]) {
  for (int i = 0; i < 300; i++) data[i] = (uint8_t)(i * 7);
  msgpack_sbuffer_init(sb);
  assert_int_equal(hls_frame_hello(sb), 0);
  assert_int_equal(hls_frame_ping(sb, HLS_FRAME_PING, data, 8), 0);
  assert_int_equal(hls_frame_ping(sb, HLS_FRAME_PONG, data, 300), 0);
}

static void check_session(const struct got *g, const msgpack_sbuffer *sb) {
  assert_int_equal(g->frames, 3);
  assert_int_equal(g->sizes[0], 3);
  assert_int_equal(g->len, sb->size - 3 * HLS_WIRE_HEADER);
  /* Each payload is the stream's bytes after its length header. */
  const uint8_t *s = (const uint8_t *)sb->data;
  size_t in = 0, out = 0;
  for (int i = 0; i < g->frames; i++) {
    size_t n = (size_t)s[in] << 24 | (size_t)s[in + 1] << 16 | (size_t)s[in + 2] << 8 | s[in + 3];
    assert_int_equal(n, g->sizes[i]);
    assert_memory_equal(g->data + out, s + in + HLS_WIRE_HEADER, n);
    in += HLS_WIRE_HEADER + n;
    out += n;
  }
}

static void test_reader_every_split(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  uint8_t data[300];
  session_stream(&sb, data);
  struct hls_why why;
  /* Two chunks, cut at every position. */
  for (size_t cut = 0; cut <= sb.size; cut++) {
    struct hls_frame_reader r;
    struct got *g = calloc(1, sizeof *g);
    assert_non_null(g);
    hls_frame_reader_init(&r, 1024);
    assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data, cut, collect, g, &why), 0);
    assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data + cut, sb.size - cut, collect, g, &why), 0);
    check_session(g, &sb);
    hls_frame_reader_free(&r);
    free(g);
  }
  /* One byte at a time. */
  struct hls_frame_reader r;
  struct got *g = calloc(1, sizeof *g);
  assert_non_null(g);
  hls_frame_reader_init(&r, 1024);
  for (size_t i = 0; i < sb.size; i++)
    assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data + i, 1, collect, g, &why), 0);
  check_session(g, &sb);
  hls_frame_reader_free(&r);
  free(g);
  msgpack_sbuffer_destroy(&sb);
}

static void test_reader_limits(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  uint8_t data[300];
  session_stream(&sb, data);
  /* The pong's payload length: what its frame is after the hello (3) and the ping ([1, bin 8]: 12). */
  size_t pong = sb.size - (HLS_WIRE_HEADER + 3) - (HLS_WIRE_HEADER + 12) - HLS_WIRE_HEADER;
  assert_int_equal(pong, 305); /* [2, bin16 300] */
  struct hls_why why;
  struct hls_frame_reader r;
  struct got *g = calloc(1, sizeof *g);
  assert_non_null(g);
  /* A limit of exactly the largest frame: all three. */
  hls_frame_reader_init(&r, pong);
  assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data, sb.size, collect, g, &why), 0);
  assert_int_equal(g->frames, 3);
  hls_frame_reader_free(&r);
  /* One byte less: the two small frames, then a refusal naming both sizes. */
  memset(g, 0, sizeof *g);
  hls_frame_reader_init(&r, pong - 1);
  assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data, sb.size, collect, g, &why), HLS_ETOOBIG);
  assert_int_equal(g->frames, 2);
  char expect[80];
  snprintf(expect, sizeof expect, "frame of %zu bytes, over the limit of %zu", pong, pong - 1);
  assert_string_equal(why.text, expect);
  hls_frame_reader_free(&r);
  /* A zero length is malformed; 4 GiB is refused before any allocation. */
  static const uint8_t zero[] = {0, 0, 0, 0, 0x91, 0x00};
  memset(g, 0, sizeof *g);
  hls_frame_reader_init(&r, 1 << 20);
  assert_int_equal(hls_frame_reader_feed(&r, zero, sizeof zero, collect, g, &why), HLS_EMALFORMED);
  hls_frame_reader_free(&r);
  static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
  hls_frame_reader_init(&r, 1 << 20);
  assert_int_equal(hls_frame_reader_feed(&r, huge, sizeof huge, collect, g, &why), HLS_ETOOBIG);
  assert_null(r.buf);
  assert_int_equal(g->frames, 0);
  hls_frame_reader_free(&r);
  free(g);
  msgpack_sbuffer_destroy(&sb);
}

static void test_reader_stop_and_release(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  uint8_t data[300];
  session_stream(&sb, data);
  struct hls_why why;
  struct hls_frame_reader r;
  struct got *g = calloc(1, sizeof *g);
  assert_non_null(g);
  /* The callback's non-zero return stops the feed and comes back. */
  g->stop_at = 2;
  hls_frame_reader_init(&r, 1024);
  assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data, sb.size, collect, g, &why), 9);
  assert_int_equal(g->frames, 2);
  hls_frame_reader_free(&r);
  /* After a small frame the buffer is kept for the next; after one over
   * 64 KiB it is released. */
  memset(g, 0, sizeof *g);
  hls_frame_reader_init(&r, 1 << 20);
  assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)sb.data, sb.size, collect, g, &why), 0);
  assert_non_null(r.buf);
  msgpack_sbuffer big;
  msgpack_sbuffer_init(&big);
  size_t at = hls_frame_begin(&big);
  uint8_t *filler = calloc(1, 70000);
  assert_non_null(filler);
  msgpack_sbuffer_write(&big, (const char *)filler, 70000);
  assert_int_equal(hls_frame_end(&big, at, 1 << 20), 0);
  int frames = 0;
  assert_int_equal(hls_frame_reader_feed(&r, (const uint8_t *)big.data, big.size, count, &frames, &why), 0);
  assert_int_equal(frames, 1);
  assert_null(r.buf);
  hls_frame_reader_free(&r);
  free(filler);
  free(g);
  msgpack_sbuffer_destroy(&big);
  msgpack_sbuffer_destroy(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello_round_trip),     cmocka_unit_test(test_hello_versions),
      cmocka_unit_test(test_netkey_frame),
      cmocka_unit_test(test_ping_limits),          cmocka_unit_test(test_frame_end_limits),
      cmocka_unit_test(test_reader_every_split),   cmocka_unit_test(test_reader_limits),
      cmocka_unit_test(test_reader_stop_and_release),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
