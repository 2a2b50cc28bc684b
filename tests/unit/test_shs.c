/* Secret Handshake and box-stream against the known-answer vectors the
 * reference implementation (npm secret-handshake, pull-box-stream)
 * produced: docs/test-vectors/shs.json (tests/interop/make_vectors.js).
 * Then, with the same keys, what the handshake refuses (another network,
 * another server, replays, bad signatures, small-order keys), calls out of
 * turn, and wiping. Box-stream edge cases are in test_boxstream.c. */
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

/* --- failures and misuse ------------------------------------------------ */

/* Two parties of the vectors (or others), set up for a handshake. */
struct session {
  uint8_t net[32];
  struct party c, s;
  struct hls_shs client, server;
  uint8_t m1[64], m2[64], m3[112], m4[80];
};

static void session_init(struct session *x) {
  hex_at("network_key", x->net, 32);
  load_party("client", &x->c);
  load_party("server", &x->s);
}

static void session_start(struct session *x, const uint8_t *dialled_pk) {
  assert_int_equal(hls_shs_init(&x->client, HLS_SHS_CLIENT, x->net, x->c.pk, x->c.sk, dialled_pk, x->c.random), 0);
  assert_int_equal(hls_shs_init(&x->server, HLS_SHS_SERVER, x->net, x->s.pk, x->s.sk, NULL, x->s.random), 0);
}

/* Run messages 1 to 3 (server now deciding). */
static void session_to_decision(struct session *x) {
  size_t out_len;
  session_start(x, x->s.pk);
  hls_shs_client_hello(&x->client, x->m1);
  assert_int_equal(hls_shs_read(&x->server, x->m1, 64, x->m2, &out_len, NULL), 0);
  assert_int_equal(hls_shs_read(&x->client, x->m2, 64, x->m3, &out_len, NULL), 0);
  assert_int_equal(hls_shs_read(&x->server, x->m3, 112, x->m4, &out_len, NULL), 0);
  assert_int_equal(x->server.state, HLS_SHS_WAIT_DECISION);
}

/* h refuses in with HLS_EHANDSHAKE, a reason containing reason, no reply,
 * and nothing more to read. */
static void assert_refused(struct hls_shs *h, const uint8_t *in, size_t len, const char *reason) {
  uint8_t out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 99;
  struct hls_why why = {{0}};
  assert_int_equal(hls_shs_read(h, in, len, out, &out_len, &why), HLS_EHANDSHAKE);
  if (strstr(why.text, reason) == NULL) fail_msg("reason \"%s\", expected \"%s\"", why.text, reason);
  assert_int_equal(out_len, 0);
  assert_int_equal(h->state, HLS_SHS_FAILED);
  assert_int_equal(hls_shs_want(h), 0);
  assert_false(hls_shs_done(h));
  struct hls_shs_result r;
  assert_int_equal(hls_shs_result(h, &r), HLS_ESTATE);
  assert_int_equal(hls_shs_read(h, in, len, out, &out_len, &why), HLS_ESTATE);
}

static void sha256_cat(uint8_t out[32], const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, a, 32);
  crypto_hash_sha256_update(&st, b, 32);
  crypto_hash_sha256_update(&st, c, 32);
  if (d != NULL) crypto_hash_sha256_update(&st, d, 32);
  crypto_hash_sha256_final(&st, out);
}

static const uint8_t zero_nonce[24];

/* A peer on another network: the hello's MAC does not verify, either way. */
static void test_wrong_network_key(void **state) {
  (void)state;
  struct session x;
  size_t out_len;
  session_init(&x);
  session_start(&x, x.s.pk);
  hls_shs_client_hello(&x.client, x.m1);
  uint8_t other_net[32];
  memcpy(other_net, x.net, 32);
  other_net[31] ^= 0x80;
  struct hls_shs other;
  assert_int_equal(hls_shs_init(&other, HLS_SHS_SERVER, other_net, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  assert_refused(&other, x.m1, 64, "network key");
  /* A client on the other network refuses our server's hello. */
  assert_int_equal(hls_shs_read(&x.server, x.m1, 64, x.m2, &out_len, NULL), 0);
  assert_int_equal(hls_shs_init(&other, HLS_SHS_CLIENT, other_net, x.c.pk, x.c.sk, x.s.pk, x.c.random), 0);
  assert_refused(&other, x.m2, 64, "network key");
  /* One flipped bit of a hello is refused the same way. */
  assert_int_equal(hls_shs_init(&other, HLS_SHS_SERVER, x.net, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  x.m1[40] ^= 1;
  assert_refused(&other, x.m1, 64, "network key");
  hls_shs_wipe(&other);
  hls_shs_wipe(&x.client);
  hls_shs_wipe(&x.server);
}

/* During a key rotation's overlap a server takes a client's hello under
 * the previous key too (hls_shs_server_also) and finishes the handshake
 * under that key, so both sides derive the same streams; a third key is
 * still refused, and a client is never lenient. */
static void test_server_also_previous_key(void **state) {
  (void)state;
  struct session x;
  size_t out_len;
  session_init(&x);
  uint8_t newest[32];
  memcpy(newest, x.net, 32);
  newest[0] ^= 0xff;
  /* The client dials under x.net (the old key); the server's newest is another. */
  assert_int_equal(hls_shs_init(&x.client, HLS_SHS_CLIENT, x.net, x.c.pk, x.c.sk, x.s.pk, x.c.random), 0);
  assert_int_equal(hls_shs_init(&x.server, HLS_SHS_SERVER, newest, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  hls_shs_server_also(&x.server, x.net);
  hls_shs_client_hello(&x.client, x.m1);
  assert_int_equal(hls_shs_read(&x.server, x.m1, 64, x.m2, &out_len, NULL), 0);
  assert_true(x.server.used_alt);
  assert_int_equal(hls_shs_read(&x.client, x.m2, 64, x.m3, &out_len, NULL), 0);
  assert_int_equal(hls_shs_read(&x.server, x.m3, 112, x.m4, &out_len, NULL), 0);
  assert_int_equal(hls_shs_server_accept(&x.server, x.m4), 0);
  assert_int_equal(hls_shs_read(&x.client, x.m4, 80, x.m3, &out_len, NULL), 0);
  struct hls_shs_result rc, rs;
  assert_int_equal(hls_shs_result(&x.client, &rc), 0);
  assert_int_equal(hls_shs_result(&x.server, &rs), 0);
  assert_memory_equal(rc.enc_key, rs.dec_key, 32);
  assert_memory_equal(rc.dec_key, rs.enc_key, 32);
  /* A client under the newest key: no fallback needed. */
  assert_int_equal(hls_shs_init(&x.client, HLS_SHS_CLIENT, newest, x.c.pk, x.c.sk, x.s.pk, x.c.random), 0);
  assert_int_equal(hls_shs_init(&x.server, HLS_SHS_SERVER, newest, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  hls_shs_server_also(&x.server, x.net);
  hls_shs_client_hello(&x.client, x.m1);
  assert_int_equal(hls_shs_read(&x.server, x.m1, 64, x.m2, &out_len, NULL), 0);
  assert_false(x.server.used_alt);
  /* A third key: refused, as any other network. */
  uint8_t third[32];
  memcpy(third, x.net, 32);
  third[5] ^= 1;
  assert_int_equal(hls_shs_init(&x.client, HLS_SHS_CLIENT, third, x.c.pk, x.c.sk, x.s.pk, x.c.random), 0);
  assert_int_equal(hls_shs_init(&x.server, HLS_SHS_SERVER, newest, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  hls_shs_server_also(&x.server, x.net);
  hls_shs_client_hello(&x.client, x.m1);
  assert_refused(&x.server, x.m1, 64, "network key");
  /* A client with a second key set is not lenient: the server's hello under the other key fails. */
  assert_int_equal(hls_shs_init(&x.client, HLS_SHS_CLIENT, newest, x.c.pk, x.c.sk, x.s.pk, x.c.random), 0);
  hls_shs_server_also(&x.client, x.net);
  assert_int_equal(hls_shs_init(&x.server, HLS_SHS_SERVER, x.net, x.s.pk, x.s.sk, NULL, x.s.random), 0);
  hls_shs_client_hello(&x.client, x.m1);
  uint8_t hello_old[64];
  hls_shs_client_hello(&x.server, hello_old); /* the server's hello bytes are the same shape: hmac | eph */
  assert_refused(&x.client, hello_old, 64, "network key");
  hls_shs_wipe(&x.client);
  hls_shs_wipe(&x.server);
}

/* A hello authenticated with the network key but carrying a point of
 * small order (an all-zero shared secret) is refused. */
static void test_degenerate_ephemeral_key(void **state) {
  (void)state;
  struct session x;
  session_init(&x);
  session_start(&x, x.s.pk);
  uint8_t hello[64] = {0};
  crypto_auth(hello, hello + 32, 32, x.net); /* the point 0 */
  assert_refused(&x.server, hello, 64, "degenerate");
  assert_refused(&x.client, hello, 64, "degenerate");
}

/* The client dialled another identity than the server it reached: its
 * auth is boxed for that identity and does not open here. */
static void test_client_dialled_wrong_server(void **state) {
  (void)state;
  struct session x;
  size_t out_len;
  session_init(&x);
  uint8_t seed[32], other_pk[32], other_sk[64];
  memset(seed, 0xa5, sizeof seed);
  crypto_sign_seed_keypair(other_pk, other_sk, seed);
  session_start(&x, other_pk);
  hls_shs_client_hello(&x.client, x.m1);
  assert_int_equal(hls_shs_read(&x.server, x.m1, 64, x.m2, &out_len, NULL), 0);
  assert_int_equal(hls_shs_read(&x.client, x.m2, 64, x.m3, &out_len, NULL), 0);
  assert_int_equal(out_len, 112);
  assert_refused(&x.server, x.m3, 112, "does not open");
}

/* A genuine auth, but for another server: one with the same ephemeral
 * key (so the same hello) and another identity. */
static void test_auth_for_another_server(void **state) {
  (void)state;
  struct session x;
  size_t out_len;
  uint8_t reply[64];
  session_init(&x);
  session_to_decision(&x);
  uint8_t seed[32], other_pk[32], other_sk[64];
  memset(seed, 0x5a, sizeof seed);
  crypto_sign_seed_keypair(other_pk, other_sk, seed);
  struct hls_shs other;
  assert_int_equal(hls_shs_init(&other, HLS_SHS_SERVER, x.net, other_pk, other_sk, NULL, x.s.random), 0);
  assert_int_equal(hls_shs_read(&other, x.m1, 64, reply, &out_len, NULL), 0);
  assert_memory_equal(reply, x.m2, 64);
  assert_refused(&other, x.m3, 112, "does not open");
}

/* An auth replayed into a new session (a fresh server ephemeral key). */
static void test_auth_replayed(void **state) {
  (void)state;
  struct session x;
  size_t out_len;
  uint8_t reply[64], fresh[32];
  session_init(&x);
  session_to_decision(&x);
  memcpy(fresh, x.s.random, 32);
  fresh[0] ^= 1;
  struct hls_shs later;
  assert_int_equal(hls_shs_init(&later, HLS_SHS_SERVER, x.net, x.s.pk, x.s.sk, NULL, fresh), 0);
  assert_int_equal(hls_shs_read(&later, x.m1, 64, reply, &out_len, NULL), 0);
  assert_refused(&later, x.m3, 112, "does not open");
}

/* An auth that opens (boxed under the right key) but whose signature is
 * bad, or is not by the key it names. */
static void test_bad_client_signature(void **state) {
  (void)state;
  struct session x;
  uint8_t key[32], plain[96], box[112];
  session_init(&x);
  session_to_decision(&x);
  sha256_cat(key, x.net, x.client.ab, x.client.aB, NULL);
  for (int edit = 0; edit < 3; edit++) {
    memcpy(plain, x.client.hello, 96);
    if (edit == 0) plain[10] ^= 1; /* R */
    if (edit == 1) plain[40] ^= 1; /* S */
    if (edit == 2) memcpy(plain + 64, x.s.pk, 32); /* someone else's key */
    crypto_secretbox_easy(box, plain, 96, zero_nonce, key);
    struct session y;
    session_init(&y);
    session_start(&y, y.s.pk);
    size_t out_len;
    assert_int_equal(hls_shs_read(&y.server, x.m1, 64, y.m2, &out_len, NULL), 0);
    assert_refused(&y.server, box, 112, "client signature does not verify");
  }
  /* Unedited, the same construction is accepted: the test can fail. */
  memcpy(plain, x.client.hello, 96);
  crypto_secretbox_easy(box, plain, 96, zero_nonce, key);
  assert_memory_equal(box, x.m3, 112);
}

/* An accept that opens but whose signature is bad, or is the server's
 * signature of another session. */
static void test_bad_server_signature(void **state) {
  (void)state;
  struct session x;
  uint8_t key[32], sig[64], box[80], genuine[80];
  session_init(&x);
  session_to_decision(&x);
  sha256_cat(key, x.net, x.server.ab, x.server.aB, x.server.Ab);
  assert_int_equal(hls_shs_server_accept(&x.server, genuine), 0);
  assert_int_equal(crypto_secretbox_open_easy(sig, genuine, 80, zero_nonce, key), 0);
  sig[5] ^= 1;
  crypto_secretbox_easy(box, sig, 64, zero_nonce, key);
  struct hls_shs client = x.client;
  assert_refused(&client, box, 80, "server signature does not verify");
  /* A signature by the client's key over the same bytes. */
  uint8_t msg[160];
  memcpy(msg, x.net, 32);
  memcpy(msg + 32, x.client.hello, 96);
  crypto_hash_sha256(msg + 128, x.client.ab, 32);
  crypto_sign_detached(sig, NULL, msg, sizeof msg, x.c.sk);
  crypto_secretbox_easy(box, sig, 64, zero_nonce, key);
  client = x.client;
  assert_refused(&client, box, 80, "server signature does not verify");
  /* The server's own key signs what the client accepts. */
  crypto_sign_detached(sig, NULL, msg, sizeof msg, x.s.sk);
  crypto_secretbox_easy(box, sig, 64, zero_nonce, key);
  assert_memory_equal(box, genuine, 80);
  size_t out_len;
  assert_int_equal(hls_shs_read(&x.client, box, 80, sig, &out_len, NULL), 0);
  assert_true(hls_shs_done(&x.client));
}

/* Reads, accept and result out of turn are HLS_ESTATE and change nothing. */
static void test_wrong_state(void **state) {
  (void)state;
  struct session x;
  uint8_t in[HLS_SHS_MAX_MESSAGE] = {0}, out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 99;
  struct hls_shs_result r;
  struct hls_shs before;
  session_init(&x);
  /* A client needs the server's key; a server takes none. */
  assert_int_equal(hls_shs_init(&x.client, HLS_SHS_CLIENT, x.net, x.c.pk, x.c.sk, NULL, x.c.random), HLS_EINVAL);
  assert_int_equal(hls_shs_init(&x.server, HLS_SHS_SERVER, x.net, x.s.pk, x.s.sk, x.c.pk, x.s.random), HLS_EINVAL);

  session_start(&x, x.s.pk);
  /* Wrong sizes in WAIT_HELLO. */
  static const size_t sizes[] = {0, 1, 63, 65, 80, 112};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    before = x.server;
    assert_int_equal(hls_shs_read(&x.server, in, sizes[i], out, &out_len, NULL), HLS_ESTATE);
    assert_int_equal(out_len, 0);
    assert_memory_equal(&before, &x.server, sizeof before);
  }
  assert_int_equal(hls_shs_server_accept(&x.server, out), HLS_ESTATE);
  assert_int_equal(hls_shs_server_accept(&x.client, out), HLS_ESTATE);
  assert_int_equal(hls_shs_result(&x.server, &r), HLS_ESTATE);
  assert_int_equal(hls_shs_result(&x.client, &r), HLS_ESTATE);

  session_to_decision(&x);
  /* The server deciding reads nothing and has no result yet. */
  assert_int_equal(hls_shs_want(&x.server), 0);
  assert_int_equal(hls_shs_read(&x.server, in, 0, out, &out_len, NULL), HLS_ESTATE);
  assert_int_equal(hls_shs_read(&x.server, in, 112, out, &out_len, NULL), HLS_ESTATE);
  assert_int_equal(hls_shs_read(&x.server, in, 80, out, &out_len, NULL), HLS_ESTATE);
  assert_int_equal(x.server.state, HLS_SHS_WAIT_DECISION);
  assert_int_equal(hls_shs_result(&x.server, &r), HLS_ESTATE);
  /* The client waiting for accept: only 80 bytes, and no accept of its own. */
  assert_int_equal(hls_shs_want(&x.client), 80);
  assert_int_equal(hls_shs_read(&x.client, in, 64, out, &out_len, NULL), HLS_ESTATE);
  assert_int_equal(x.client.state, HLS_SHS_WAIT_ACCEPT);
  assert_int_equal(hls_shs_server_accept(&x.client, out), HLS_ESTATE);

  assert_int_equal(hls_shs_server_accept(&x.server, x.m4), 0);
  assert_int_equal(hls_shs_server_accept(&x.server, out), HLS_ESTATE); /* once */
  assert_int_equal(hls_shs_read(&x.client, x.m4, 80, out, &out_len, NULL), 0);
  /* Done: nothing more to read. */
  for (size_t len = 0; len <= HLS_SHS_MAX_MESSAGE; len += 16) {
    assert_int_equal(hls_shs_read(&x.client, in, len, out, &out_len, NULL), HLS_ESTATE);
    assert_int_equal(hls_shs_read(&x.server, in, len, out, &out_len, NULL), HLS_ESTATE);
  }
  assert_true(hls_shs_done(&x.client) && hls_shs_done(&x.server));
  assert_int_equal(hls_shs_result(&x.client, &r), 0);
  hls_shs_wipe(&x.client);
  hls_shs_wipe(&x.server);
  sodium_memzero(&before, sizeof before);
}

/* hls_shs_wipe zeroes every byte of the state, secrets included. */
static void test_wipe_zeroes_secrets(void **state) {
  (void)state;
  struct session x;
  static const uint8_t zeros[sizeof(struct hls_shs)];
  session_init(&x);
  session_to_decision(&x);
  assert_int_equal(hls_shs_server_accept(&x.server, x.m4), 0);
  size_t out_len;
  assert_int_equal(hls_shs_read(&x.client, x.m4, 80, x.m1, &out_len, NULL), 0);
  struct hls_shs *both[2] = {&x.client, &x.server};
  for (int i = 0; i < 2; i++) {
    struct hls_shs *h = both[i];
    /* Secrets are there to wipe. */
    assert_memory_not_equal(h->local_sk, zeros, sizeof h->local_sk);
    assert_memory_not_equal(h->eph_sk, zeros, sizeof h->eph_sk);
    assert_memory_not_equal(h->ab, zeros, sizeof h->ab);
    assert_memory_not_equal(h->aB, zeros, sizeof h->aB);
    assert_memory_not_equal(h->Ab, zeros, sizeof h->Ab);
    hls_shs_wipe(h);
    assert_memory_equal(h, zeros, sizeof *h);
  }
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
      cmocka_unit_test(test_wrong_network_key),
      cmocka_unit_test(test_server_also_previous_key),
      cmocka_unit_test(test_degenerate_ephemeral_key),
      cmocka_unit_test(test_client_dialled_wrong_server),
      cmocka_unit_test(test_auth_for_another_server),
      cmocka_unit_test(test_auth_replayed),
      cmocka_unit_test(test_bad_client_signature),
      cmocka_unit_test(test_bad_server_signature),
      cmocka_unit_test(test_wrong_state),
      cmocka_unit_test(test_wipe_zeroes_secrets),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  json_decref(vectors);
  return rc;
}
