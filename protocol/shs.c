#include "shs.h"

#include <sodium.h>
#include <string.h>

static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

static void sha256_cat(uint8_t out[32], const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                       const uint8_t *c, size_t c_len, const uint8_t *d, size_t d_len) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  if (a) crypto_hash_sha256_update(&st, a, a_len);
  if (b) crypto_hash_sha256_update(&st, b, b_len);
  if (c) crypto_hash_sha256_update(&st, c, c_len);
  if (d) crypto_hash_sha256_update(&st, d, d_len);
  crypto_hash_sha256_final(&st, out);
}

static int fail(struct hls_shs *h, struct hls_why *why, const char *reason) {
  h->state = HLS_SHS_FAILED;
  return hls_why_set(why, HLS_EHANDSHAKE, "%s", reason);
}

int hls_shs_init(struct hls_shs *h, int role, const uint8_t net[32], const uint8_t pk[32], const uint8_t sk[64],
                 const uint8_t *server_pk, const uint8_t random[32]) {
  memset(h, 0, sizeof *h);
  if ((role == HLS_SHS_CLIENT) != (server_pk != NULL)) return HLS_EINVAL;
  h->role = role;
  h->state = HLS_SHS_WAIT_HELLO;
  memcpy(h->net, net, 32);
  memcpy(h->local_pk, pk, 32);
  memcpy(h->local_sk, sk, 64);
  if (server_pk) memcpy(h->remote_pk, server_pk, 32);
  /* The reference makes an Ed25519 key pair from the seed and converts
   * both halves. The converted secret is the clamped first half of
   * SHA-512(seed) (only the seed is read), and the converted public key is
   * that scalar times the X25519 base point: computed so, it is the same
   * key for a third of the work (docs/benchmarks.md). */
  uint8_t ed_sk[64] = {0};
  memcpy(ed_sk, random, 32);
  int rc = crypto_sign_ed25519_sk_to_curve25519(h->eph_sk, ed_sk) == 0 &&
                   crypto_scalarmult_base(h->eph_pk, h->eph_sk) == 0
               ? 0
               : HLS_EINTERNAL;
  sodium_memzero(ed_sk, sizeof ed_sk);
  if (rc != 0) {
    hls_shs_wipe(h);
    return rc;
  }
  crypto_auth(h->local_mac, h->eph_pk, 32, h->net);
  return 0;
}

void hls_shs_server_also(struct hls_shs *h, const uint8_t net[32]) {
  memcpy(h->alt_net, net, 32);
  h->has_alt = true;
}

void hls_shs_client_hello(const struct hls_shs *h, uint8_t out[HLS_SHS_HELLO_BYTES]) {
  memcpy(out, h->local_mac, 32);
  memcpy(out + 32, h->eph_pk, 32);
}

size_t hls_shs_want(const struct hls_shs *h) {
  switch (h->state) {
    case HLS_SHS_WAIT_HELLO: return HLS_SHS_HELLO_BYTES;
    case HLS_SHS_WAIT_AUTH: return HLS_SHS_AUTH_BYTES;
    case HLS_SHS_WAIT_ACCEPT: return HLS_SHS_ACCEPT_BYTES;
    default: return 0;
  }
}

/* A hello from the other side: its ephemeral key, authenticated with N. */
static int read_hello(struct hls_shs *h, const uint8_t *in, struct hls_why *why) {
  if (crypto_auth_verify(in, in + 32, 32, h->net) != 0) {
    /* A server in a key rotation's overlap also takes the previous key,
     * and answers under the key the client used. */
    if (h->role != HLS_SHS_SERVER || !h->has_alt || crypto_auth_verify(in, in + 32, 32, h->alt_net) != 0)
      return fail(h, why, "hello not authenticated with our network key (another network, or not hlsd)");
    memcpy(h->net, h->alt_net, 32);
    crypto_auth(h->local_mac, h->eph_pk, 32, h->net);
    h->used_alt = true;
  }
  memcpy(h->remote_mac, in, 32);
  memcpy(h->remote_eph, in + 32, 32);
  /* crypto_scalarmult refuses low-order points (an all-zero secret). */
  if (crypto_scalarmult(h->ab, h->eph_sk, h->remote_eph) != 0) return fail(h, why, "degenerate ephemeral key");
  crypto_hash_sha256(h->shash, h->ab, 32);
  return 0;
}

/* sig_A signs N | B_p | sha256(ab). */
static void client_signed_message(const struct hls_shs *h, uint8_t msg[96], const uint8_t server_pk[32]) {
  memcpy(msg, h->net, 32);
  memcpy(msg + 32, server_pk, 32);
  memcpy(msg + 64, h->shash, 32);
}

/* sig_B signs N | sig_A | A_p | sha256(ab). */
static void server_signed_message(const struct hls_shs *h, uint8_t msg[160]) {
  memcpy(msg, h->net, 32);
  memcpy(msg + 32, h->hello, 96);
  memcpy(msg + 128, h->shash, 32);
}

static int client_read_hello(struct hls_shs *h, const uint8_t *in, uint8_t *out, size_t *out_len,
                             struct hls_why *why) {
  int rc = read_hello(h, in, why);
  if (rc != 0) return rc;
  uint8_t server_curve[32], key[32], msg[96];
  if (crypto_sign_ed25519_pk_to_curve25519(server_curve, h->remote_pk) != 0 ||
      crypto_scalarmult(h->aB, h->eph_sk, server_curve) != 0)
    return fail(h, why, "the server's public key is not a usable Ed25519 key");
  client_signed_message(h, msg, h->remote_pk);
  crypto_sign_detached(h->hello, NULL, msg, sizeof msg, h->local_sk);
  memcpy(h->hello + 64, h->local_pk, 32);
  sha256_cat(key, h->net, 32, h->ab, 32, h->aB, 32, NULL, 0);
  crypto_secretbox_easy(out, h->hello, 96, zero_nonce, key);
  sodium_memzero(key, sizeof key);
  *out_len = HLS_SHS_AUTH_BYTES;
  h->state = HLS_SHS_WAIT_ACCEPT;
  return 0;
}

static int server_read_auth(struct hls_shs *h, const uint8_t *in, struct hls_why *why) {
  uint8_t local_curve_sk[32], key[32], msg[96];
  int rc = 0;
  if (crypto_sign_ed25519_sk_to_curve25519(local_curve_sk, h->local_sk) != 0 ||
      crypto_scalarmult(h->aB, local_curve_sk, h->remote_eph) != 0)
    rc = fail(h, why, "degenerate ephemeral key");
  sodium_memzero(local_curve_sk, sizeof local_curve_sk);
  if (rc != 0) return rc;
  sha256_cat(key, h->net, 32, h->ab, 32, h->aB, 32, NULL, 0);
  rc = crypto_secretbox_open_easy(h->hello, in, HLS_SHS_AUTH_BYTES, zero_nonce, key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) return fail(h, why, "client auth does not open (it was not meant for this node)");
  client_signed_message(h, msg, h->local_pk);
  if (crypto_sign_verify_detached(h->hello, msg, sizeof msg, h->hello + 64) != 0)
    return fail(h, why, "client signature does not verify");
  memcpy(h->remote_pk, h->hello + 64, 32);
  uint8_t client_curve[32];
  if (crypto_sign_ed25519_pk_to_curve25519(client_curve, h->remote_pk) != 0 ||
      crypto_scalarmult(h->Ab, h->eph_sk, client_curve) != 0)
    return fail(h, why, "the client's public key is not a usable Ed25519 key");
  h->state = HLS_SHS_WAIT_DECISION;
  return 0;
}

int hls_shs_server_accept(struct hls_shs *h, uint8_t out[HLS_SHS_ACCEPT_BYTES]) {
  if (h->role != HLS_SHS_SERVER || h->state != HLS_SHS_WAIT_DECISION) return HLS_ESTATE;
  uint8_t msg[160], sig[64], key[32];
  server_signed_message(h, msg);
  crypto_sign_detached(sig, NULL, msg, sizeof msg, h->local_sk);
  sha256_cat(key, h->net, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
  crypto_secretbox_easy(out, sig, sizeof sig, zero_nonce, key);
  sodium_memzero(key, sizeof key);
  h->state = HLS_SHS_DONE;
  return 0;
}

static int client_read_accept(struct hls_shs *h, const uint8_t *in, struct hls_why *why) {
  uint8_t local_curve_sk[32], key[32], sig[64], msg[160];
  int rc = 0;
  if (crypto_sign_ed25519_sk_to_curve25519(local_curve_sk, h->local_sk) != 0 ||
      crypto_scalarmult(h->Ab, local_curve_sk, h->remote_eph) != 0)
    rc = fail(h, why, "degenerate ephemeral key");
  sodium_memzero(local_curve_sk, sizeof local_curve_sk);
  if (rc != 0) return rc;
  sha256_cat(key, h->net, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
  rc = crypto_secretbox_open_easy(sig, in, HLS_SHS_ACCEPT_BYTES, zero_nonce, key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) return fail(h, why, "server accept does not open");
  server_signed_message(h, msg);
  if (crypto_sign_verify_detached(sig, msg, sizeof msg, h->remote_pk) != 0)
    return fail(h, why, "server signature does not verify");
  h->state = HLS_SHS_DONE;
  return 0;
}

int hls_shs_read(struct hls_shs *h, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
                 struct hls_why *why) {
  *out_len = 0;
  if (len != hls_shs_want(h) || len == 0) return hls_why_set(why, HLS_ESTATE, "handshake: unexpected read");
  switch (h->state) {
    case HLS_SHS_WAIT_HELLO:
      if (h->role == HLS_SHS_CLIENT) return client_read_hello(h, in, out, out_len, why);
      {
        int rc = read_hello(h, in, why);
        if (rc != 0) return rc;
      }
      memcpy(out, h->local_mac, 32);
      memcpy(out + 32, h->eph_pk, 32);
      *out_len = HLS_SHS_HELLO_BYTES;
      h->state = HLS_SHS_WAIT_AUTH;
      return 0;
    case HLS_SHS_WAIT_AUTH: return server_read_auth(h, in, why);
    case HLS_SHS_WAIT_ACCEPT: return client_read_accept(h, in, why);
    default: return hls_why_set(why, HLS_ESTATE, "handshake: unexpected read");
  }
}

bool hls_shs_done(const struct hls_shs *h) { return h->state == HLS_SHS_DONE; }

int hls_shs_result(const struct hls_shs *h, struct hls_shs_result *out) {
  if (h->state != HLS_SHS_DONE) return HLS_ESTATE;
  uint8_t secret[32];
  /* secret = sha256(sha256(N | ab | aB | Ab)); each direction's key is
   * sha256(secret | the receiver's public key). */
  sha256_cat(secret, h->net, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
  crypto_hash_sha256(secret, secret, 32);
  memcpy(out->remote_pk, h->remote_pk, 32);
  sha256_cat(out->enc_key, secret, 32, h->remote_pk, 32, NULL, 0, NULL, 0);
  sha256_cat(out->dec_key, secret, 32, h->local_pk, 32, NULL, 0, NULL, 0);
  /* Each side's starting nonce is the first 24 bytes of the *receiver's*
   * hello hmac. */
  memcpy(out->enc_nonce, h->remote_mac, 24);
  memcpy(out->dec_nonce, h->local_mac, 24);
  sodium_memzero(secret, sizeof secret);
  return 0;
}

void hls_shs_wipe(struct hls_shs *h) { sodium_memzero(h, sizeof *h); }
