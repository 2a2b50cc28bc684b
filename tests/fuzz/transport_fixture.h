/* The genuine transport that fuzz_shs and fuzz_boxstream mutate, and that
 * make_transport_corpus writes out as seeds: the keys, ephemeral randoms
 * and plaintexts of docs/test-vectors/shs.json (the reference JavaScript
 * implementation's transcript), so a seed is that transcript byte for
 * byte. make_transport_corpus checks these constants against the JSON.
 *
 * Everything is deterministic: hls_shs_init derives the ephemeral key
 * pair from the 32 random bytes it is given. static inline: each program
 * includes it once. */
#ifndef HLS_TRANSPORT_FIXTURE_H
#define HLS_TRANSPORT_FIXTURE_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "boxstream.h"
#include "shs.h"

/* --- secret handshake --------------------------------------------------- */

/* Fixed byte patterns: the network key is 10 11 .. 2f, the client's seed
 * 40 .. 5f, the server's 80 .. 9f; ephemeral randoms c0 .. df (client)
 * and e0 .. ff (server). */
static inline void fixture_pattern(uint8_t out[32], uint8_t first) {
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(first + i);
}

struct shs_fixture {
  uint8_t net[32];
  uint8_t client_pk[32], client_sk[64], client_random[32];
  uint8_t server_pk[32], server_sk[64], server_random[32];
  /* The transcript. */
  uint8_t msg1[HLS_SHS_HELLO_BYTES], msg2[HLS_SHS_HELLO_BYTES];
  uint8_t msg3[HLS_SHS_AUTH_BYTES], msg4[HLS_SHS_ACCEPT_BYTES];
  /* What msg3 and msg4 box, and under which keys (nonce zero): lets a
   * fuzzer choose the plaintext of a box that opens. */
  uint8_t auth_plain[96];   /* sig_A | A_p */
  uint8_t auth_key[32];     /* sha256(N | ab | aB) */
  uint8_t accept_plain[64]; /* sig_B */
  uint8_t accept_key[32];   /* sha256(N | ab | aB | Ab) */
  uint8_t ab[32];           /* the ephemeral shared secret */
  struct hls_shs_result client_result, server_result;
};

static inline void fixture_sha256_cat(uint8_t out[32], const uint8_t *a, const uint8_t *b, const uint8_t *c,
                                      const uint8_t *d) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, a, 32);
  crypto_hash_sha256_update(&st, b, 32);
  crypto_hash_sha256_update(&st, c, 32);
  if (d != NULL) crypto_hash_sha256_update(&st, d, 32);
  crypto_hash_sha256_final(&st, out);
}

/* Run both sides of the handshake with the fixed keys. 0, or -1 if any
 * step fails (the fixture is then unusable). */
static inline int shs_fixture_init(struct shs_fixture *f) {
  static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];
  uint8_t seed[32];
  struct hls_shs client, server;
  uint8_t scratch[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 0;
  int ok = 1;
  memset(f, 0, sizeof *f);
  if (sodium_init() < 0) return -1;
  fixture_pattern(f->net, 0x10);
  fixture_pattern(seed, 0x40);
  crypto_sign_seed_keypair(f->client_pk, f->client_sk, seed);
  fixture_pattern(seed, 0x80);
  crypto_sign_seed_keypair(f->server_pk, f->server_sk, seed);
  fixture_pattern(f->client_random, 0xc0);
  fixture_pattern(f->server_random, 0xe0);
  if (hls_shs_init(&client, HLS_SHS_CLIENT, f->net, f->client_pk, f->client_sk, f->server_pk, f->client_random) != 0)
    return -1;
  if (hls_shs_init(&server, HLS_SHS_SERVER, f->net, f->server_pk, f->server_sk, NULL, f->server_random) != 0) {
    hls_shs_wipe(&client);
    return -1;
  }
  hls_shs_client_hello(&client, f->msg1);
  ok = ok && hls_shs_read(&server, f->msg1, sizeof f->msg1, f->msg2, &out_len, NULL) == 0 &&
       out_len == sizeof f->msg2;
  ok = ok && hls_shs_read(&client, f->msg2, sizeof f->msg2, f->msg3, &out_len, NULL) == 0 &&
       out_len == sizeof f->msg3;
  ok = ok && hls_shs_read(&server, f->msg3, sizeof f->msg3, scratch, &out_len, NULL) == 0 && out_len == 0;
  ok = ok && hls_shs_server_accept(&server, f->msg4) == 0;
  ok = ok && hls_shs_read(&client, f->msg4, sizeof f->msg4, scratch, &out_len, NULL) == 0 && out_len == 0;
  ok = ok && hls_shs_result(&client, &f->client_result) == 0 && hls_shs_result(&server, &f->server_result) == 0;
  if (ok) {
    memcpy(f->auth_plain, client.hello, sizeof f->auth_plain);
    memcpy(f->ab, client.ab, sizeof f->ab);
    fixture_sha256_cat(f->auth_key, f->net, client.ab, client.aB, NULL);
    fixture_sha256_cat(f->accept_key, f->net, server.ab, server.aB, server.Ab);
    ok = crypto_secretbox_open_easy(f->accept_plain, f->msg4, sizeof f->msg4, zero_nonce, f->accept_key) == 0;
  }
  hls_shs_wipe(&client);
  hls_shs_wipe(&server);
  return ok ? 0 : -1;
}

/* fuzz_shs input: [mode][split][payload]. split 0 feeds the handshake
 * whole messages; otherwise chunks of 1..split bytes (fixture_chunk). The
 * payload is the peer's bytes, with the genuine prefix or the box the
 * mode names added by the target. */
enum shs_fuzz_mode {
  SHS_SERVER_RAW,          /* payload: msg1 | msg3 */
  SHS_SERVER_AFTER_HELLO,  /* genuine msg1 | payload (msg3) */
  SHS_SERVER_HELLO_KEY,    /* hmac_N(e) | e | rest: payload is e (32) | rest */
  SHS_SERVER_AUTH_PLAIN,   /* genuine msg1 | box(payload[0..96]) | rest */
  SHS_CLIENT_RAW,          /* payload: msg2 | msg4 */
  SHS_CLIENT_AFTER_HELLO,  /* genuine msg2 | payload (msg4) */
  SHS_CLIENT_HELLO_KEY,    /* hmac_N(e) | e | rest */
  SHS_CLIENT_ACCEPT_PLAIN, /* genuine msg2 | box(payload[0..64]) | rest */
  SHS_FUZZ_MODES
};

/* Chunk sizes: a small LCG seeded with the split byte, 1..split. */
static inline size_t fixture_chunk(uint32_t *lcg, uint8_t split) {
  *lcg = *lcg * 1103515245u + 12345u;
  return 1 + (size_t)((*lcg >> 16) % split);
}

/* --- box stream --------------------------------------------------------- */

/* The client-to-server box stream of shs.json: its key and starting
 * nonce, and the two writes the reference sealed (39 bytes of text, then
 * 5000 bytes i * 7 mod 256, split 4096 + 904), then the goodbye. */
#define BOX_FIXTURE_TEXT "hello from the reference implementation"
#define BOX_FIXTURE_PATTERN_LEN 5000
#define BOX_FIXTURE_BODIES 3

static const uint8_t box_fixture_key[32] = {
    0x2e, 0x41, 0xc6, 0x43, 0xee, 0x8f, 0xb0, 0xbf, 0x9d, 0x48, 0xb1, 0x11, 0x94, 0x00, 0x40, 0x4c,
    0x1b, 0x94, 0xde, 0x7c, 0xed, 0xe8, 0x8b, 0x8a, 0xd0, 0x98, 0xaf, 0xc1, 0xf8, 0x4c, 0xc3, 0x5b};
static const uint8_t box_fixture_nonce[24] = {0x87, 0x41, 0x5e, 0xb3, 0x75, 0x60, 0xff, 0x1e,
                                              0x87, 0x4a, 0x71, 0x9a, 0x09, 0x36, 0x59, 0x0a,
                                              0xa5, 0x49, 0x42, 0xfc, 0x2f, 0xe9, 0x5e, 0x5d};

struct box_fixture {
  uint8_t plain[sizeof BOX_FIXTURE_TEXT - 1 + BOX_FIXTURE_PATTERN_LEN]; /* both writes, concatenated */
  const uint8_t *body[BOX_FIXTURE_BODIES];                             /* into plain */
  size_t body_len[BOX_FIXTURE_BODIES];
  /* The sealed stream: each message, then the goodbye. */
  uint8_t stream[sizeof BOX_FIXTURE_TEXT - 1 + BOX_FIXTURE_PATTERN_LEN + (BOX_FIXTURE_BODIES + 1) * HLS_BOX_HEADER];
  size_t msg_off[BOX_FIXTURE_BODIES + 2]; /* message i is stream[msg_off[i] .. msg_off[i + 1]]; the goodbye last */
  size_t stream_len;
};

static inline int box_fixture_init(struct box_fixture *f) {
  const size_t text_len = sizeof BOX_FIXTURE_TEXT - 1;
  struct hls_box box;
  memset(f, 0, sizeof *f);
  if (sodium_init() < 0) return -1;
  memcpy(f->plain, BOX_FIXTURE_TEXT, text_len);
  for (size_t i = 0; i < BOX_FIXTURE_PATTERN_LEN; i++) f->plain[text_len + i] = (uint8_t)(i * 7);
  f->body[0] = f->plain;
  f->body_len[0] = text_len;
  f->body[1] = f->plain + text_len;
  f->body_len[1] = HLS_BOX_MAX_BODY;
  f->body[2] = f->plain + text_len + HLS_BOX_MAX_BODY;
  f->body_len[2] = BOX_FIXTURE_PATTERN_LEN - HLS_BOX_MAX_BODY;
  hls_box_init(&box, box_fixture_key, box_fixture_nonce);
  size_t off = 0;
  for (int i = 0; i < BOX_FIXTURE_BODIES; i++) {
    f->msg_off[i] = off;
    if (hls_box_seal(&box, f->body[i], f->body_len[i], f->stream + off) != 0) return -1;
    off += HLS_BOX_HEADER + f->body_len[i];
  }
  f->msg_off[BOX_FIXTURE_BODIES] = off;
  hls_box_goodbye(&box, f->stream + off);
  off += HLS_BOX_HEADER;
  f->msg_off[BOX_FIXTURE_BODIES + 1] = off;
  f->stream_len = off;
  hls_box_wipe(&box);
  return off == sizeof f->stream ? 0 : -1;
}

/* fuzz_boxstream input: [mode][split][payload], split as for fuzz_shs. */
enum box_fuzz_mode {
  BOX_RAW,    /* payload: the stream */
  BOX_MUTATE, /* payload: [stop_after][n_msg_ops][msg ops, 2 bytes each][byte ops, 4 bytes each] */
  BOX_SEAL,   /* payload: [max_body hi][lo][nonce tail, 3 bytes][plaintext] */
  BOX_FUZZ_MODES
};

/* BOX_MUTATE operations, applied in order: n_msg_ops % 16 message ops,
 * then byte ops to the end. A message op is [op, arg]: op % 3 picks drop
 * message arg, duplicate message arg at position op / 3, swap positions
 * arg and op / 3 (positions and messages modulo the count; the goodbye is
 * a message; at most 12 messages). A byte op is [op, hi, lo, value],
 * pos = (hi << 8 | lo) modulo the length: op % 5 picks flip bit value % 8,
 * set to value, delete value % 64 + 1 bytes, insert value, truncate. */
enum box_msg_op { BOX_MSG_DROP, BOX_MSG_DUP, BOX_MSG_SWAP };
enum box_byte_op { BOX_BYTE_FLIP, BOX_BYTE_SET, BOX_BYTE_DELETE, BOX_BYTE_INSERT, BOX_BYTE_TRUNCATE };

#endif
