/* Secret Handshake and box-stream against the known-answer vectors the
 * reference implementation (npm secret-handshake, pull-box-stream)
 * produced: docs/test-vectors/shs.json (tests/interop/make_vectors.js). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "boxstream.h"
#include "shs.h"

#ifndef HLS_SHS_VECTORS
#error HLS_SHS_VECTORS must name docs/test-vectors/shs.json
#endif

static json_t *vectors;

/* Hex member at a path of object keys ("a.b.c") into out, exactly n bytes. */
static void hex_at(const char *path, uint8_t *out, size_t n) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *j = vectors;
  for (char *key = strtok(buf, "."); key && j; key = strtok(NULL, ".")) j = json_object_get(j, key);
  assert_non_null(j);
  const char *h = json_string_value(j);
  assert_non_null(h);
  size_t got = 0;
  assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL), 0);
  assert_int_equal(got, n);
}

/* A hex member of any length, allocated. */
static uint8_t *hex_alloc(const char *key, size_t *n) {
  const char *h = json_string_value(json_object_get(vectors, key));
  assert_non_null(h);
  *n = strlen(h) / 2;
  uint8_t *out = malloc(*n + 1);
  assert_non_null(out);
  assert_int_equal(sodium_hex2bin(out, *n, h, strlen(h), NULL, n, NULL), 0);
  return out;
}

struct party {
  uint8_t pk[32], sk[64], random[32];
};

static void load_party(const char *who, struct party *p) {
  char path[64];
  uint8_t seed[32], pk[32];
  snprintf(path, sizeof path, "%s.seed", who);
  hex_at(path, seed, 32);
  crypto_sign_seed_keypair(p->pk, p->sk, seed);
  snprintf(path, sizeof path, "%s.public_key", who);
  hex_at(path, pk, 32);
  assert_memory_equal(pk, p->pk, 32);
  snprintf(path, sizeof path, "%s.ephemeral_random", who);
  hex_at(path, p->random, 32);
}

/* Run both state machines against each other and against the vectors. */
static void test_handshake_matches_reference(void **state) {
  (void)state;
  uint8_t net[32], m1[64], m2[64], m3[112], m4[80], out[HLS_SHS_MAX_MESSAGE];
  struct party c, s;
  struct hls_shs client, server;
  struct hls_why why;
  size_t out_len;
  hex_at("network_key", net, 32);
  load_party("client", &c);
  load_party("server", &s);
  hex_at("messages.client_hello", m1, sizeof m1);
  hex_at("messages.server_hello", m2, sizeof m2);
  hex_at("messages.client_auth", m3, sizeof m3);
  hex_at("messages.server_accept", m4, sizeof m4);

  assert_int_equal(hls_shs_init(&client, HLS_SHS_CLIENT, net, c.pk, c.sk, s.pk, c.random), 0);
  assert_int_equal(hls_shs_init(&server, HLS_SHS_SERVER, net, s.pk, s.sk, NULL, s.random), 0);
  hls_shs_client_hello(&client, out);
  assert_memory_equal(out, m1, 64);
  assert_int_equal(hls_shs_want(&server), 64);
  assert_int_equal(hls_shs_read(&server, m1, 64, out, &out_len, &why), 0);
  assert_int_equal(out_len, 64);
  assert_memory_equal(out, m2, 64);
  assert_int_equal(hls_shs_read(&client, m2, 64, out, &out_len, &why), 0);
  assert_int_equal(out_len, 112);
  assert_memory_equal(out, m3, 112);
  assert_int_equal(hls_shs_want(&server), 112);
  assert_int_equal(hls_shs_read(&server, m3, 112, out, &out_len, &why), 0);
  assert_int_equal(out_len, 0);
  assert_int_equal(server.state, HLS_SHS_WAIT_DECISION);
  assert_memory_equal(server.remote_pk, c.pk, 32); /* the server learnt who the client is */
  assert_int_equal(hls_shs_server_accept(&server, out), 0);
  assert_memory_equal(out, m4, 80);
  assert_int_equal(hls_shs_read(&client, m4, 80, out, &out_len, &why), 0);
  assert_true(hls_shs_done(&client) && hls_shs_done(&server));

  struct hls_shs_result rc, rs;
  assert_int_equal(hls_shs_result(&client, &rc), 0);
  assert_int_equal(hls_shs_result(&server, &rs), 0);
  uint8_t key[32], nonce[24];
  hex_at("box_stream.client_to_server.key", key, 32);
  hex_at("box_stream.client_to_server.nonce", nonce, 24);
  assert_memory_equal(rc.enc_key, key, 32);
  assert_memory_equal(rc.enc_nonce, nonce, 24);
  assert_memory_equal(rs.dec_key, key, 32);
  assert_memory_equal(rs.dec_nonce, nonce, 24);
  hex_at("box_stream.server_to_client.key", key, 32);
  hex_at("box_stream.server_to_client.nonce", nonce, 24);
  assert_memory_equal(rs.enc_key, key, 32);
  assert_memory_equal(rs.enc_nonce, nonce, 24);
  assert_memory_equal(rc.dec_key, key, 32);
  assert_memory_equal(rc.dec_nonce, nonce, 24);
  assert_memory_equal(rc.remote_pk, s.pk, 32);
  assert_memory_equal(rs.remote_pk, c.pk, 32);
  hls_shs_wipe(&client);
  hls_shs_wipe(&server);
}

struct collected {
  uint8_t data[16384];
  size_t len;
  int bodies;
};

static int collect(void *ctx, const uint8_t *plain, size_t len) {
  struct collected *c = ctx;
  assert_true(c->len + len <= sizeof c->data);
  memcpy(c->data + c->len, plain, len);
  c->len += len;
  c->bodies++;
  return 0;
}

/* Seal the vector plaintexts as pull-box-stream does (one write each,
 * split at 4096) and compare with its stream; then open its stream. */
static void check_stream(const char *dir, const char *stream_key) {
  char path[96];
  uint8_t key[32], nonce[24];
  snprintf(path, sizeof path, "box_stream.%s.key", dir);
  hex_at(path, key, 32);
  snprintf(path, sizeof path, "box_stream.%s.nonce", dir);
  hex_at(path, nonce, 24);
  size_t expected_len;
  uint8_t *expected = hex_alloc(stream_key, &expected_len);
  json_t *plains = json_object_get(vectors, "plaintexts");
  struct hls_box box;
  hls_box_init(&box, key, nonce);
  uint8_t *ours = malloc(expected_len + 64);
  assert_non_null(ours);
  size_t o = 0, total_plain = 0;
  uint8_t all_plain[16384];
  for (size_t i = 0; i < json_array_size(plains); i++) {
    const char *h = json_string_value(json_array_get(plains, i));
    uint8_t p[8192];
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(p, sizeof p, h, strlen(h), NULL, &n, NULL), 0);
    memcpy(all_plain + total_plain, p, n);
    total_plain += n;
    for (size_t off = 0; off < n; off += HLS_BOX_MAX_BODY) {
      size_t chunk = n - off < HLS_BOX_MAX_BODY ? n - off : HLS_BOX_MAX_BODY;
      assert_true(o + HLS_BOX_HEADER + chunk <= expected_len);
      assert_int_equal(hls_box_seal(&box, p + off, chunk, ours + o), 0);
      o += HLS_BOX_HEADER + chunk;
    }
  }
  hls_box_goodbye(&box, ours + o);
  o += HLS_BOX_HEADER;
  assert_int_equal(o, expected_len);
  assert_memory_equal(ours, expected, expected_len);

  /* Open the reference's stream, fed in awkward pieces. */
  struct hls_box_reader r;
  struct collected got = {0};
  hls_box_reader_init(&r, key, nonce);
  size_t fed = 0;
  for (size_t step = 1; fed < expected_len; step = step * 3 % 101 + 1) {
    size_t n = expected_len - fed < step ? expected_len - fed : step;
    size_t used;
    assert_int_equal(hls_box_reader_feed(&r, expected + fed, n, &used, collect, &got), 0);
    assert_int_equal(used, n);
    fed += n;
  }
  assert_true(r.ended);
  assert_int_equal(got.len, total_plain);
  assert_memory_equal(got.data, all_plain, total_plain);
  assert_int_equal(got.bodies, 3); /* 39 bytes, then 4096 + 904 */
  size_t used;
  assert_int_equal(hls_box_reader_feed(&r, expected, 1, &used, collect, &got), HLS_ECLOSED);
  hls_box_reader_wipe(&r);
  free(ours);
  free(expected);
}

static void test_box_stream_matches_reference(void **state) {
  (void)state;
  check_stream("client_to_server", "client_to_server_stream");
  check_stream("server_to_client", "server_to_client_stream");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  json_error_t err;
  vectors = json_load_file(HLS_SHS_VECTORS, 0, &err);
  if (vectors == NULL) {
    fprintf(stderr, "%s: %s\n", HLS_SHS_VECTORS, err.text);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_matches_reference),
      cmocka_unit_test(test_box_stream_matches_reference),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  json_decref(vectors);
  return rc;
}
