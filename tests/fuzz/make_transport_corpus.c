/* Writes the seed corpora of fuzz_shs, fuzz_boxstream, fuzz_wire and
 * fuzz_frames (corpus/shs/, boxstream/, wire/, frames/), or checks them:
 *
 *   make_transport_corpus SHS_JSON CORPUS_DIR          write the seeds
 *   make_transport_corpus SHS_JSON CORPUS_DIR --check  compare, write nothing
 *
 * SHS_JSON is docs/test-vectors/shs.json, the reference implementation's
 * transcript. The fixture the targets use (transport_fixture.h) must
 * reproduce it byte for byte, or this fails: then the "genuine" seeds are
 * the reference's own bytes. Seeds are named for what they exercise;
 * repro-* files (fuzzer finds) are left alone. Built by CMake; ctest runs
 * the --check form (fuzz.transport_corpus). */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport_fixture.h"
#include "wire.h"

#define MAX_SEED 16384

struct corpus {
  const char *root;
  bool check;
  int files, mismatches;
  size_t bytes;
};

/* The seed being built. */
struct seed {
  uint8_t data[MAX_SEED];
  size_t len;
};

static void die(const char *what) {
  fprintf(stderr, "make_transport_corpus: %s\n", what);
  exit(1);
}

static void add(struct seed *s, const void *p, size_t n) {
  if (n > sizeof s->data - s->len) die("seed too large");
  memcpy(s->data + s->len, p, n);
  s->len += n;
}

static void add_byte(struct seed *s, uint8_t b) { add(s, &b, 1); }

static struct seed *begin(struct seed *s, int mode, uint8_t split) {
  s->len = 0;
  add_byte(s, (uint8_t)mode);
  add_byte(s, split);
  return s;
}

static void put(struct corpus *c, const char *dir, const char *name, const struct seed *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", c->root, dir, name);
  c->files++;
  c->bytes += s->len;
  if (c->check) {
    static uint8_t old[MAX_SEED + 1];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(old, 1, sizeof old, f) : 0;
    if (f == NULL || n != s->len || memcmp(old, s->data, n) != 0) {
      fprintf(stderr, "%s: %s\n", path, f == NULL ? strerror(errno) : "differs from what the generator writes");
      c->mismatches++;
    }
    if (f) fclose(f);
    return;
  }
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(s->data, 1, s->len, f) != s->len || fclose(f) != 0) die(path);
}

/* --- the reference transcript ------------------------------------------ */

static json_t *doc;

/* Hex at a path of keys ("a.b") into out: exactly n bytes. */
static void hex_at(const char *path, uint8_t *out, size_t n) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *j = doc;
  for (char *key = strtok(buf, "."); key != NULL && j != NULL; key = strtok(NULL, ".")) j = json_object_get(j, key);
  const char *h = json_string_value(j);
  size_t got = 0;
  if (h == NULL || sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL) != 0 || got != n) die(path);
}

static size_t hex_len(const char *path) {
  const char *h = json_string_value(json_object_get(doc, path));
  if (h == NULL) die(path);
  return strlen(h) / 2;
}

static void expect_same(const void *a, const void *b, size_t n, const char *what) {
  if (memcmp(a, b, n) != 0) {
    fprintf(stderr, "make_transport_corpus: the fixture's %s is not the reference's\n", what);
    exit(1);
  }
}

static void check_fixture(const struct shs_fixture *f, const struct box_fixture *b, uint8_t *s2c, size_t *s2c_len) {
  uint8_t buf[sizeof b->stream];
  hex_at("network_key", buf, 32);
  expect_same(buf, f->net, 32, "network key");
  hex_at("client.public_key", buf, 32);
  expect_same(buf, f->client_pk, 32, "client key");
  hex_at("server.public_key", buf, 32);
  expect_same(buf, f->server_pk, 32, "server key");
  hex_at("client.ephemeral_random", buf, 32);
  expect_same(buf, f->client_random, 32, "client ephemeral random");
  hex_at("server.ephemeral_random", buf, 32);
  expect_same(buf, f->server_random, 32, "server ephemeral random");
  hex_at("messages.client_hello", buf, 64);
  expect_same(buf, f->msg1, 64, "msg1");
  hex_at("messages.server_hello", buf, 64);
  expect_same(buf, f->msg2, 64, "msg2");
  hex_at("messages.client_auth", buf, 112);
  expect_same(buf, f->msg3, 112, "msg3");
  hex_at("messages.server_accept", buf, 80);
  expect_same(buf, f->msg4, 80, "msg4");
  hex_at("box_stream.client_to_server.key", buf, 32);
  expect_same(buf, box_fixture_key, 32, "box key");
  expect_same(buf, f->client_result.enc_key, 32, "session key");
  hex_at("box_stream.client_to_server.nonce", buf, 24);
  expect_same(buf, box_fixture_nonce, 24, "box nonce");
  if (hex_len("client_to_server_stream") != b->stream_len) die("client_to_server_stream: not the fixture's length");
  hex_at("client_to_server_stream", buf, b->stream_len);
  expect_same(buf, b->stream, b->stream_len, "box stream");
  *s2c_len = hex_len("server_to_client_stream");
  if (*s2c_len > MAX_SEED - 2) die("server_to_client_stream too long");
  hex_at("server_to_client_stream", s2c, *s2c_len);
}

/* --- seeds ------------------------------------------------------------- */

static void flip(uint8_t *p, size_t i) { p[i] ^= 0x01; }

/* A seed [mode][split] | a | b (b may be NULL). */
static void seed2(struct corpus *c, const char *dir, const char *name, int mode, uint8_t split, const void *a,
                  size_t a_len, const void *b, size_t b_len) {
  struct seed s;
  begin(&s, mode, split);
  add(&s, a, a_len);
  if (b != NULL) add(&s, b, b_len);
  put(c, dir, name, &s);
}

static void shs_seeds(struct corpus *c, const struct shs_fixture *f) {
  uint8_t m[HLS_SHS_AUTH_BYTES], key[32], plain[96];
  /* X25519 points of small order (all-zero shared secrets) and p itself. */
  static const uint8_t order8[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
                                     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
                                     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  uint8_t zero[32] = {0}, one[32] = {1}, p[32];
  memset(p, 0xff, 32);
  p[0] = 0xed;
  p[31] = 0x7f;

  /* Server role: the client's bytes. */
  seed2(c, "shs", "server-transcript", SHS_SERVER_RAW, 0, f->msg1, 64, f->msg3, 112);
  seed2(c, "shs", "server-transcript-bytewise", SHS_SERVER_RAW, 1, f->msg1, 64, f->msg3, 112);
  seed2(c, "shs", "server-transcript-chunks-50", SHS_SERVER_RAW, 50, f->msg1, 64, f->msg3, 112);
  uint8_t more[64 + 112 + 40];
  memcpy(more, f->msg1, 64);
  memcpy(more + 64, f->msg3, 112);
  memcpy(more + 176, f->msg4, 40);
  seed2(c, "shs", "server-transcript-then-more", SHS_SERVER_RAW, 0, more, sizeof more, NULL, 0);
  memcpy(m, f->msg1, 64);
  flip(m, 0);
  seed2(c, "shs", "server-bad-hello-mac", SHS_SERVER_RAW, 0, m, 64, f->msg3, 112);
  seed2(c, "shs", "server-hello-truncated", SHS_SERVER_RAW, 0, f->msg1, 40, NULL, 0);
  seed2(c, "shs", "server-msg3", SHS_SERVER_AFTER_HELLO, 0, f->msg3, 112, NULL, 0);
  seed2(c, "shs", "server-msg3-chunks-7", SHS_SERVER_AFTER_HELLO, 7, f->msg3, 112, NULL, 0);
  memcpy(m, f->msg3, 112);
  flip(m, 50);
  seed2(c, "shs", "server-msg3-flipped", SHS_SERVER_AFTER_HELLO, 0, m, 112, NULL, 0);
  seed2(c, "shs", "server-msg3-truncated", SHS_SERVER_AFTER_HELLO, 0, f->msg3, 111, NULL, 0);
  seed2(c, "shs", "server-key-genuine", SHS_SERVER_HELLO_KEY, 0, f->msg1 + 32, 32, f->msg3, 112);
  /* The same point with bit 255 set: X25519 ignores that bit, so this
   * reaches the decision with another hello (see fuzz_shs.c). */
  memcpy(key, f->msg1 + 32, 32);
  key[31] ^= 0x80;
  seed2(c, "shs", "server-key-top-bit", SHS_SERVER_HELLO_KEY, 0, key, 32, f->msg3, 112);
  seed2(c, "shs", "server-key-zero", SHS_SERVER_HELLO_KEY, 0, zero, 32, NULL, 0);
  seed2(c, "shs", "server-key-one", SHS_SERVER_HELLO_KEY, 0, one, 32, NULL, 0);
  seed2(c, "shs", "server-key-order-8", SHS_SERVER_HELLO_KEY, 0, order8, 32, NULL, 0);
  seed2(c, "shs", "server-key-p", SHS_SERVER_HELLO_KEY, 0, p, 32, NULL, 0);
  seed2(c, "shs", "server-auth-genuine", SHS_SERVER_AUTH_PLAIN, 0, f->auth_plain, 96, NULL, 0);
  memcpy(plain, f->auth_plain, 96);
  flip(plain, 5);
  seed2(c, "shs", "server-auth-bad-signature", SHS_SERVER_AUTH_PLAIN, 0, plain, 96, NULL, 0);
  seed2(c, "shs", "server-auth-other-client-key", SHS_SERVER_AUTH_PLAIN, 0, f->auth_plain, 64, f->server_pk, 32);
  memset(key, 0xff, 32);
  seed2(c, "shs", "server-auth-client-key-not-a-point", SHS_SERVER_AUTH_PLAIN, 0, f->auth_plain, 64, key, 32);

  /* Client role: the server's bytes. */
  seed2(c, "shs", "client-transcript", SHS_CLIENT_RAW, 0, f->msg2, 64, f->msg4, 80);
  seed2(c, "shs", "client-transcript-chunks-3", SHS_CLIENT_RAW, 3, f->msg2, 64, f->msg4, 80);
  memcpy(m, f->msg2, 64);
  flip(m, 40);
  seed2(c, "shs", "client-bad-hello-key", SHS_CLIENT_RAW, 0, m, 64, f->msg4, 80);
  seed2(c, "shs", "client-msg4", SHS_CLIENT_AFTER_HELLO, 0, f->msg4, 80, NULL, 0);
  memcpy(m, f->msg4, 80);
  flip(m, 79);
  seed2(c, "shs", "client-msg4-flipped", SHS_CLIENT_AFTER_HELLO, 0, m, 80, NULL, 0);
  seed2(c, "shs", "client-key-genuine", SHS_CLIENT_HELLO_KEY, 0, f->msg2 + 32, 32, f->msg4, 80);
  memcpy(key, f->msg2 + 32, 32);
  key[31] ^= 0x80;
  seed2(c, "shs", "client-key-top-bit", SHS_CLIENT_HELLO_KEY, 0, key, 32, f->msg4, 80);
  seed2(c, "shs", "client-key-zero", SHS_CLIENT_HELLO_KEY, 0, zero, 32, NULL, 0);
  seed2(c, "shs", "client-accept-genuine", SHS_CLIENT_ACCEPT_PLAIN, 0, f->accept_plain, 64, NULL, 0);
  memcpy(plain, f->accept_plain, 64);
  flip(plain, 63);
  seed2(c, "shs", "client-accept-bad-signature", SHS_CLIENT_ACCEPT_PLAIN, 0, plain, 64, NULL, 0);

  /* Inputs shorter than the target's header or the mode's payload. */
  struct seed s = {.len = 0};
  add_byte(&s, SHS_SERVER_RAW);
  put(c, "shs", "too-short", &s);
  seed2(c, "shs", "server-key-short", SHS_SERVER_HELLO_KEY, 0, "\x01\x02\x03", 3, NULL, 0);
  seed2(c, "shs", "server-auth-plain-short", SHS_SERVER_AUTH_PLAIN, 0, "\x01\x02\x03", 3, NULL, 0);
}

/* A BOX_MUTATE seed: [stop_after][n_msg_ops][msg op][byte op], where a
 * msg_op or byte_op of NULL is left out. */
static void mutate_seed(struct corpus *c, const char *name, uint8_t split, uint8_t stop_after,
                        const uint8_t msg_op[2], const uint8_t byte_op[4]) {
  struct seed s;
  begin(&s, BOX_MUTATE, split);
  add_byte(&s, stop_after);
  add_byte(&s, msg_op != NULL ? 1 : 0);
  if (msg_op != NULL) add(&s, msg_op, 2);
  if (byte_op != NULL) add(&s, byte_op, 4);
  put(c, "boxstream", name, &s);
}

static const uint8_t *msg_op(uint8_t out[2], int op, size_t other, uint8_t arg) {
  out[0] = (uint8_t)(op + 3 * other);
  out[1] = arg;
  return out;
}

static const uint8_t *byte_op(uint8_t out[4], int op, size_t pos, uint8_t value) {
  out[0] = (uint8_t)op;
  out[1] = (uint8_t)(pos >> 8);
  out[2] = (uint8_t)pos;
  out[3] = value;
  return out;
}

static void box_seeds(struct corpus *c, const struct box_fixture *b, const uint8_t *s2c, size_t s2c_len) {
  uint8_t op[4];
  seed2(c, "boxstream", "raw-reference", BOX_RAW, 0, b->stream, b->stream_len, NULL, 0);
  seed2(c, "boxstream", "raw-reference-chunks-5", BOX_RAW, 5, b->stream, b->stream_len, NULL, 0);
  seed2(c, "boxstream", "raw-reference-chunks-200", BOX_RAW, 200, b->stream, b->stream_len, NULL, 0);
  seed2(c, "boxstream", "raw-reference-then-more", BOX_RAW, 0, b->stream, b->stream_len, "after the goodbye", 17);
  seed2(c, "boxstream", "raw-reference-truncated", BOX_RAW, 0, b->stream, b->msg_off[1] + 10, NULL, 0);
  seed2(c, "boxstream", "raw-header-only", BOX_RAW, 0, b->stream, HLS_BOX_HEADER, NULL, 0);
  /* The other direction's stream: another key, refused at its first header. */
  seed2(c, "boxstream", "raw-other-direction", BOX_RAW, 0, s2c, s2c_len, NULL, 0);

  mutate_seed(c, "mutate-none", 0, 0, NULL, NULL);
  mutate_seed(c, "mutate-none-chunks-9", 9, 0, NULL, NULL);
  mutate_seed(c, "mutate-stop-after-2", 0, 2, NULL, NULL);
  mutate_seed(c, "mutate-drop-first", 0, 0, msg_op(op, BOX_MSG_DROP, 0, 0), NULL);
  mutate_seed(c, "mutate-drop-goodbye", 0, 0, msg_op(op, BOX_MSG_DROP, 0, BOX_FIXTURE_BODIES), NULL);
  mutate_seed(c, "mutate-replay-first", 0, 0, msg_op(op, BOX_MSG_DUP, 1, 0), NULL);
  mutate_seed(c, "mutate-swap-second-third", 0, 0, msg_op(op, BOX_MSG_SWAP, 2, 1), NULL);
  mutate_seed(c, "mutate-flip-header", 0, 0, NULL, byte_op(op, BOX_BYTE_FLIP, 5, 3));
  mutate_seed(c, "mutate-flip-body", 0, 0, NULL, byte_op(op, BOX_BYTE_FLIP, HLS_BOX_HEADER + 10, 0));
  mutate_seed(c, "mutate-flip-goodbye", 0, 0, NULL,
              byte_op(op, BOX_BYTE_FLIP, b->msg_off[BOX_FIXTURE_BODIES] + 20, 7));
  mutate_seed(c, "mutate-truncate-in-body", 0, 0, NULL, byte_op(op, BOX_BYTE_TRUNCATE, 100, 0));
  mutate_seed(c, "mutate-insert-byte", 0, 0, NULL, byte_op(op, BOX_BYTE_INSERT, HLS_BOX_HEADER, 0x55));
  mutate_seed(c, "mutate-delete-bytes", 0, 0, NULL, byte_op(op, BOX_BYTE_DELETE, 40, 9));
  mutate_seed(c, "mutate-set-byte", 0, 0, NULL, byte_op(op, BOX_BYTE_SET, 7, 0xee));
  /* Every message dropped, then a byte inserted into nothing. */
  struct seed s;
  begin(&s, BOX_MUTATE, 0);
  add_byte(&s, 0);
  add_byte(&s, 5);
  for (int i = 0; i < 5; i++) add(&s, msg_op(op, BOX_MSG_DROP, 0, 0), 2);
  add(&s, byte_op(op, BOX_BYTE_INSERT, 0, 0x42), 4);
  add(&s, byte_op(op, BOX_BYTE_FLIP, 0, 0), 4);
  put(c, "boxstream", "mutate-drop-all", &s);
  /* The first message replayed until the stream holds MAX_MESSAGES. */
  begin(&s, BOX_MUTATE, 0);
  add_byte(&s, 0);
  add_byte(&s, 9);
  for (int i = 0; i < 9; i++) add(&s, msg_op(op, BOX_MSG_DUP, 0, 0), 2);
  put(c, "boxstream", "mutate-replay-many", &s);
  begin(&s, BOX_MUTATE, 0);
  add_byte(&s, 0);
  put(c, "boxstream", "mutate-too-short", &s);
  s.len = 0;
  add_byte(&s, BOX_RAW);
  put(c, "boxstream", "too-short", &s);

  /* BOX_SEAL: [max_body hi][lo][nonce tail x3][plaintext]; max_body is
   * 1 + value % 4096 (0x0fff: 4096). */
  static uint8_t plain[HLS_BOX_MAX_BODY + 1];
  for (size_t i = 0; i < sizeof plain; i++) plain[i] = (uint8_t)(i * 31 + 7);
  seed2(c, "boxstream", "seal-too-short", BOX_SEAL, 0, "\x0f\xff", 2, NULL, 0);
  seed2(c, "boxstream", "seal-nothing", BOX_SEAL, 0, "\x0f\xff\x00\x00\x00", 5, NULL, 0);
  seed2(c, "boxstream", "seal-text", BOX_SEAL, 0, "\x0f\xff\x00\x00\x00", 5, "hello", 5);
  seed2(c, "boxstream", "seal-16-byte-messages-carry", BOX_SEAL, 3, "\x00\x0f\xff\xff\xfe", 5, plain, 100);
  seed2(c, "boxstream", "seal-4097-bytes-carry", BOX_SEAL, 0, "\x0f\xff\xff\xff\xff", 5, plain, sizeof plain);
  seed2(c, "boxstream", "seal-1-byte-messages", BOX_SEAL, 7, "\x00\x00\x00\x00\xfa", 5, plain, 20);
}

static void wire_seed(struct corpus *c, const char *name, const void *p, size_t n) {
  struct seed s = {.len = 0};
  add(&s, p, n);
  put(c, "wire", name, &s);
}

/* A frame built by wire.c, without its length prefix. */
static void wire_built(struct corpus *c, const char *name, int rc, msgpack_sbuffer *sb) {
  if (rc != 0 || sb->size <= HLS_WIRE_HEADER) die(name);
  wire_seed(c, name, sb->data + HLS_WIRE_HEADER, sb->size - HLS_WIRE_HEADER);
  msgpack_sbuffer_clear(sb);
}

static void wire_seeds(struct corpus *c) {
  msgpack_sbuffer sb;
  uint8_t data[300];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
  msgpack_sbuffer_init(&sb);
  wire_built(c, "hello", hls_frame_hello(&sb), &sb);
  wire_built(c, "ping-empty", hls_frame_ping(&sb, HLS_FRAME_PING, NULL, 0), &sb);
  wire_built(c, "ping-8", hls_frame_ping(&sb, HLS_FRAME_PING, data, 8), &sb);
  wire_built(c, "pong-300", hls_frame_ping(&sb, HLS_FRAME_PONG, data, 300), &sb);
  wire_built(c, "netkey", hls_frame_netkey(&sb, 1, data), &sb);
  wire_seed(c, "netkey-epoch-0", "\x93\x0a\x00\xc4\x01\x00", 6);
  /* A later version's hello: elements of every msgpack type after the
   * version, which this one skips. */
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc = msgpack_pack_array(&pk, 19) | msgpack_pack_uint32(&pk, HLS_FRAME_HELLO) | msgpack_pack_uint32(&pk, 2) |
           msgpack_pack_nil(&pk) | msgpack_pack_true(&pk) | msgpack_pack_false(&pk) | msgpack_pack_int64(&pk, -1) |
           msgpack_pack_int64(&pk, -200) | msgpack_pack_int64(&pk, -40000) | msgpack_pack_int64(&pk, INT64_MIN) |
           msgpack_pack_uint64(&pk, 300) | msgpack_pack_uint64(&pk, 70000) | msgpack_pack_uint64(&pk, UINT64_MAX) |
           msgpack_pack_double(&pk, 1.5) | msgpack_pack_float(&pk, 2.5f) | msgpack_pack_str_with_body(&pk, "x", 1) |
           msgpack_pack_str_with_body(&pk, data, 40) | msgpack_pack_bin_with_body(&pk, data, 3) |
           msgpack_pack_array(&pk, 1) | msgpack_pack_uint32(&pk, 1) | msgpack_pack_map(&pk, 1) |
           msgpack_pack_uint32(&pk, 1) | msgpack_pack_uint32(&pk, 2);
  if (rc != 0) die("hello-later-every-type");
  wire_seed(c, "hello-later-every-type", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
#define RAW(name, bytes) wire_seed(c, name, bytes, sizeof bytes - 1)
  RAW("hello-version-0", "\x92\x00\x00");
  RAW("hello-version-max", "\x92\x00\xce\xff\xff\xff\xff");
  RAW("hello-version-2-32", "\x92\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00");
  RAW("hello-later-elements", "\x94\x00\x01\xa1x\xc0");
  RAW("hello-later-bad-element", "\x93\x00\x01\xc1");
  RAW("hello-noncanonical-version", "\x92\x00\xcc\x01");
  RAW("hello-trailing", "\x92\x00\x01\x00");
  RAW("hello-no-version", "\x91\x00");
  RAW("ping-string", "\x92\x01\xa3"
                     "abc");
  RAW("ping-three-elements", "\x93\x01\xc4\x00\xc0");
  RAW("ping-trailing", "\x92\x01\xc4\x01\xaa\x00");
  RAW("ping-noncanonical-bin16", "\x92\x01\xc5\x00\x02\xaa\xbb");
  RAW("ping-truncated", "\x92\x01\xc4\x08\x00");
  RAW("hello-bin-version", "\x92\x00\xc4\x01\x01");
  RAW("type-3-bin", "\x92\x03\xc4\x00");
  RAW("gossip-type-16", "\x93\x10\x01\x02");
  RAW("type-256", "\x92\xcd\x01\x00\x00");
  RAW("type-negative", "\x92\xff\x00");
  RAW("empty-array", "\x90");
  RAW("not-an-array", "\x01");
  RAW("array16-noncanonical", "\xdc\x00\x02\x00\x01");
#undef RAW
}

/* fuzz_frames: [max][split][stream of frames]. */
static void frames_seed(struct corpus *c, const char *name, uint8_t max, uint8_t split, const msgpack_sbuffer *sb,
                        const void *tail, size_t tail_len) {
  struct seed s;
  begin(&s, max, split);
  add(&s, sb->data, sb->size);
  if (tail_len > 0) add(&s, tail, tail_len);
  put(c, "frames", name, &s);
}

static void frames_seeds(struct corpus *c) {
  msgpack_sbuffer sb;
  uint8_t data[300];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13);
  msgpack_sbuffer_init(&sb);
  if (hls_frame_hello(&sb) != 0 || hls_frame_ping(&sb, HLS_FRAME_PING, data, 8) != 0 ||
      hls_frame_ping(&sb, HLS_FRAME_PONG, data, 300) != 0)
    die("frames");
  frames_seed(c, "session-whole", 0xff, 0, &sb, NULL, 0);          /* limit 511: all fit */
  frames_seed(c, "session-chunks", 0xff, 0x05, &sb, NULL, 0);
  frames_seed(c, "session-stop-after-2", 0xff, 0x81, &sb, NULL, 0);
  frames_seed(c, "pong-over-limit", 0x40, 0, &sb, NULL, 0);        /* limit 129 */
  msgpack_sbuffer hello;
  msgpack_sbuffer_init(&hello);
  if (hls_frame_hello(&hello) != 0) die("frames");
  frames_seed(c, "hello-at-limit", 0x01, 0, &hello, NULL, 0);      /* limit 3: the hello's size */
  msgpack_sbuffer_destroy(&hello);
  frames_seed(c, "then-zero-length", 0xff, 0x02, &sb, "\0\0\0\0\x91\x00", 6);
  frames_seed(c, "then-4-GiB", 0xff, 0x03, &sb, "\xff\xff\xff\xff", 4);
  frames_seed(c, "then-half-header", 0xff, 0x04, &sb, "\x00\x00", 2);
  frames_seed(c, "then-half-frame", 0xff, 0x06, &sb, "\x00\x00\x00\x09\x92\x01\xc4", 7);
  msgpack_sbuffer_clear(&sb);
  for (int i = 0; i < 40; i++)
    if (hls_frame_ping(&sb, HLS_FRAME_PING, data, (size_t)i) != 0) die("frames");
  frames_seed(c, "forty-pings", 0x20, 0x09, &sb, NULL, 0);
  msgpack_sbuffer_destroy(&sb);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--check") != 0)) {
    fprintf(stderr, "usage: %s SHS_JSON CORPUS_DIR [--check]\n", argv[0]);
    return 2;
  }
  struct corpus c = {.root = argv[2], .check = argc == 4};
  json_error_t err;
  doc = json_load_file(argv[1], 0, &err);
  if (doc == NULL) {
    fprintf(stderr, "%s: %s\n", argv[1], err.text);
    return 1;
  }
  static struct shs_fixture f;
  static struct box_fixture b;
  static uint8_t s2c[MAX_SEED];
  size_t s2c_len = 0;
  if (shs_fixture_init(&f) != 0 || box_fixture_init(&b) != 0) die("cannot build the fixture");
  check_fixture(&f, &b, s2c, &s2c_len);
  shs_seeds(&c, &f);
  box_seeds(&c, &b, s2c, s2c_len);
  wire_seeds(&c);
  frames_seeds(&c);
  json_decref(doc);
  if (c.check) {
    printf("%d seeds checked, %d differ\n", c.files, c.mismatches);
    if (c.mismatches > 0)
      fprintf(stderr, "regenerate: make_transport_corpus %s %s (see tests/fuzz/README.md)\n", argv[1], argv[2]);
    return c.mismatches == 0 ? 0 : 1;
  }
  printf("%d seeds, %zu bytes\n", c.files, c.bytes);
  return 0;
}
