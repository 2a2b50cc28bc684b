/* The Secret Handshake state machines (protocol/shs.h) on a peer's bytes,
 * in both roles, with the fixed keys of transport_fixture.h.
 *
 * Input: [mode][split][payload] (enum shs_fuzz_mode). The server role reads
 * the client's msg1 then msg3; the client role the server's msg2 then
 * msg4. Random bytes stop at the first MAC, so besides the raw modes the
 * target can prefix the genuine hello (the fuzzer mutates msg3 or msg4),
 * authenticate a hello around an ephemeral key the fuzzer chooses (low-
 * order and non-canonical points), or box a plaintext the fuzzer chooses
 * under the genuine key (reaching signature and key checks behind the
 * box). The bytes are fed as the daemon does: buffered until the machine
 * has the hls_shs_want() bytes it asks for, in chunks of sizes derived
 * from the split byte; each chunk of the wrong size is first offered to
 * hls_shs_read directly, which must refuse it and change nothing.
 *
 * Beyond memory safety, checks:
 *  - a failed read is HLS_EHANDSHAKE with a reason, and leaves the state
 *    FAILED, wanting nothing, with no reply; nothing reads after it;
 *  - the server's reply to any accepted hello is the genuine msg2 (its
 *    ephemeral key is fixed); an accepted hello carries a valid MAC;
 *  - authenticity: the server decides on a client only if msg3 is the
 *    genuine msg3 and its shared secret ab is the genuine one; the client
 *    finishes only on the genuine msg4 and ab. (Not "msg1 is genuine":
 *    X25519 ignores the top bit of a point and clamps away small-order
 *    parts, so e.g. the client's ephemeral key with bit 255 set gives the
 *    same ab; with a fresh server ephemeral key per session, as hlsd
 *    uses, that gains an attacker nothing);
 *  - a finished handshake gives the genuine session keys, and nonces from
 *    the two hello MACs;
 *  - reads, accept and result in the wrong state are HLS_ESTATE;
 *  - hls_shs_wipe leaves no byte of the state set. */
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shs.h"
#include "transport_fixture.h"

/* Computed on the first input and read-only after: a full genuine
 * handshake costs more than most inputs. */
static struct shs_fixture fixture;
static bool fixture_ready;

static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return false;
  return true;
}

/* A read of the wrong size is refused and changes nothing. */
static void check_wrong_size_read(struct hls_shs *h, const uint8_t *in, size_t len) {
  struct hls_shs before = *h;
  uint8_t out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 99;
  struct hls_why why = {{0}};
  FUZZ_CHECK(hls_shs_read(h, in, len, out, &out_len, &why) == HLS_ESTATE);
  FUZZ_CHECK(out_len == 0 && memcmp(&before, h, sizeof before) == 0);
  sodium_memzero(&before, sizeof before);
}

/* Checks on a state that reads nothing more (FAILED, WAIT_DECISION, DONE). */
static void check_reads_nothing(struct hls_shs *h) {
  uint8_t in[HLS_SHS_MAX_MESSAGE] = {0}, out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 99;
  FUZZ_CHECK(hls_shs_want(h) == 0);
  for (size_t len = HLS_SHS_HELLO_BYTES; len <= HLS_SHS_MAX_MESSAGE; len += 16) {
    FUZZ_CHECK(hls_shs_read(h, in, len, out, &out_len, NULL) == HLS_ESTATE && out_len == 0);
  }
}

static bool result_refused(const struct hls_shs *h) {
  struct hls_shs_result r;
  return hls_shs_result(h, &r) == HLS_ESTATE;
}

static void check_session(const struct hls_shs *h) {
  const struct hls_shs_result *genuine =
      h->role == HLS_SHS_CLIENT ? &fixture.client_result : &fixture.server_result;
  struct hls_shs_result r;
  FUZZ_CHECK(hls_shs_result(h, &r) == 0);
  FUZZ_CHECK(memcmp(r.remote_pk, genuine->remote_pk, 32) == 0);
  FUZZ_CHECK(memcmp(r.enc_key, genuine->enc_key, 32) == 0 && memcmp(r.dec_key, genuine->dec_key, 32) == 0);
  FUZZ_CHECK(memcmp(r.enc_nonce, h->remote_mac, 24) == 0 && memcmp(r.dec_nonce, h->local_mac, 24) == 0);
  sodium_memzero(&r, sizeof r);
}

/* One complete message of want bytes for the machine in h. */
static void step(struct hls_shs *h, const uint8_t *msg, size_t want) {
  const struct shs_fixture *f = &fixture;
  int state = h->state;
  uint8_t out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 99;
  struct hls_why why;
  memset(&why, 'x', sizeof why);
  /* An exact-size copy, so the sanitizers see reads past the message. */
  uint8_t *exact = malloc(want);
  FUZZ_CHECK(exact != NULL);
  memcpy(exact, msg, want);
  int rc = hls_shs_read(h, exact, want, out, &out_len, &why);
  free(exact);
  if (rc != 0) {
    FUZZ_CHECK(rc == HLS_EHANDSHAKE && h->state == HLS_SHS_FAILED && out_len == 0);
    FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL && why.text[0] != '\0');
    return;
  }
  switch (state) {
    case HLS_SHS_WAIT_HELLO:
      FUZZ_CHECK(want == HLS_SHS_HELLO_BYTES);
      FUZZ_CHECK(crypto_auth_verify(msg, msg + 32, 32, f->net) == 0);
      if (h->role == HLS_SHS_SERVER) {
        FUZZ_CHECK(h->state == HLS_SHS_WAIT_AUTH && out_len == HLS_SHS_HELLO_BYTES);
        FUZZ_CHECK(memcmp(out, f->msg2, sizeof f->msg2) == 0);
      } else {
        FUZZ_CHECK(h->state == HLS_SHS_WAIT_ACCEPT && out_len == HLS_SHS_AUTH_BYTES);
        if (memcmp(msg, f->msg2, sizeof f->msg2) == 0) FUZZ_CHECK(memcmp(out, f->msg3, sizeof f->msg3) == 0);
      }
      break;
    case HLS_SHS_WAIT_AUTH:
      FUZZ_CHECK(want == HLS_SHS_AUTH_BYTES && out_len == 0 && h->state == HLS_SHS_WAIT_DECISION);
      /* Authenticity: only the genuine client gets this far. */
      FUZZ_CHECK(memcmp(msg, f->msg3, sizeof f->msg3) == 0 && memcmp(h->ab, f->ab, 32) == 0);
      FUZZ_CHECK(memcmp(h->remote_pk, f->client_pk, 32) == 0);
      check_reads_nothing(h);
      FUZZ_CHECK(result_refused(h));
      FUZZ_CHECK(hls_shs_server_accept(h, out) == 0 && memcmp(out, f->msg4, sizeof f->msg4) == 0);
      FUZZ_CHECK(hls_shs_done(h));
      break;
    case HLS_SHS_WAIT_ACCEPT:
      FUZZ_CHECK(want == HLS_SHS_ACCEPT_BYTES && out_len == 0 && hls_shs_done(h));
      FUZZ_CHECK(memcmp(msg, f->msg4, sizeof f->msg4) == 0 && memcmp(h->ab, f->ab, 32) == 0);
      break;
    default: FUZZ_CHECK(!"read accepted in a state that reads nothing");
  }
}

static void run_role(int role, const uint8_t *stream, size_t len, uint8_t split) {
  const struct shs_fixture *f = &fixture;
  struct hls_shs h;
  uint8_t msg[HLS_SHS_MAX_MESSAGE], out[HLS_SHS_MAX_MESSAGE];
  if (role == HLS_SHS_CLIENT) {
    FUZZ_CHECK(hls_shs_init(&h, role, f->net, f->client_pk, f->client_sk, f->server_pk, f->client_random) == 0);
    hls_shs_client_hello(&h, out);
    FUZZ_CHECK(memcmp(out, f->msg1, sizeof f->msg1) == 0);
  } else {
    FUZZ_CHECK(hls_shs_init(&h, role, f->net, f->server_pk, f->server_sk, NULL, f->server_random) == 0);
  }
  FUZZ_CHECK(hls_shs_server_accept(&h, out) == HLS_ESTATE);

  size_t off = 0, have = 0;
  uint32_t lcg = split;
  while (off < len && hls_shs_want(&h) > 0) {
    size_t chunk = split == 0 ? hls_shs_want(&h) - have : fixture_chunk(&lcg, split);
    if (chunk > len - off) chunk = len - off;
    if (chunk != hls_shs_want(&h)) check_wrong_size_read(&h, stream + off, chunk);
    for (size_t used = 0; used < chunk && hls_shs_want(&h) > 0;) {
      size_t want = hls_shs_want(&h);
      size_t take = want - have < chunk - used ? want - have : chunk - used;
      memcpy(msg + have, stream + off + used, take);
      have += take;
      used += take;
      if (have < want) break;
      have = 0;
      step(&h, msg, want);
    }
    /* Bytes after the handshake are the box stream's: not read here. */
    off += chunk;
  }

  if (h.state == HLS_SHS_DONE) {
    check_session(&h);
  } else {
    FUZZ_CHECK(result_refused(&h));
    FUZZ_CHECK(hls_shs_server_accept(&h, out) == HLS_ESTATE);
  }
  if (h.state == HLS_SHS_DONE || h.state == HLS_SHS_FAILED) check_reads_nothing(&h);
  hls_shs_wipe(&h);
  FUZZ_CHECK(all_zero(&h, sizeof h));
}

/* min(n, len) bytes of src over a copy of the genuine bytes: a short
 * payload edits a prefix of them. */
static void overlay(uint8_t *dst, const uint8_t *genuine, size_t size, const uint8_t *src, size_t len) {
  memcpy(dst, genuine, size);
  memcpy(dst, src, len < size ? len : size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fixture_ready) {
    FUZZ_CHECK(shs_fixture_init(&fixture) == 0);
    fixture_ready = true;
  }
  const struct shs_fixture *f = &fixture;
  if (size < 2) return 0;
  int mode = data[0] % SHS_FUZZ_MODES;
  uint8_t split = data[1];
  const uint8_t *payload = data + 2;
  size_t n = size - 2;
  /* Room for a prefix or box of at most msg1 + msg3 ahead of the payload. */
  uint8_t *stream = malloc(n + HLS_SHS_HELLO_BYTES + HLS_SHS_AUTH_BYTES);
  FUZZ_CHECK(stream != NULL);
  size_t len = 0, rest;
  uint8_t key[32], plain[96];
  int role = mode < SHS_CLIENT_RAW ? HLS_SHS_SERVER : HLS_SHS_CLIENT;
  const uint8_t *hello = role == HLS_SHS_SERVER ? f->msg1 : f->msg2;
  switch (mode) {
    case SHS_SERVER_RAW:
    case SHS_CLIENT_RAW:
      memcpy(stream, payload, n);
      len = n;
      break;
    case SHS_SERVER_AFTER_HELLO:
    case SHS_CLIENT_AFTER_HELLO:
      memcpy(stream, hello, HLS_SHS_HELLO_BYTES);
      memcpy(stream + HLS_SHS_HELLO_BYTES, payload, n);
      len = HLS_SHS_HELLO_BYTES + n;
      break;
    case SHS_SERVER_HELLO_KEY:
    case SHS_CLIENT_HELLO_KEY:
      /* Anyone who knows the network key can send this hello. */
      overlay(key, hello + 32, 32, payload, n);
      crypto_auth(stream, key, 32, f->net);
      memcpy(stream + 32, key, 32);
      rest = n > 32 ? n - 32 : 0;
      memcpy(stream + HLS_SHS_HELLO_BYTES, payload + (n - rest), rest);
      len = HLS_SHS_HELLO_BYTES + rest;
      break;
    case SHS_SERVER_AUTH_PLAIN:
      overlay(plain, f->auth_plain, 96, payload, n);
      memcpy(stream, f->msg1, HLS_SHS_HELLO_BYTES);
      crypto_secretbox_easy(stream + HLS_SHS_HELLO_BYTES, plain, 96, zero_nonce, f->auth_key);
      rest = n > 96 ? n - 96 : 0;
      memcpy(stream + HLS_SHS_HELLO_BYTES + HLS_SHS_AUTH_BYTES, payload + (n - rest), rest);
      len = HLS_SHS_HELLO_BYTES + HLS_SHS_AUTH_BYTES + rest;
      break;
    default: /* SHS_CLIENT_ACCEPT_PLAIN */
      overlay(plain, f->accept_plain, 64, payload, n);
      memcpy(stream, f->msg2, HLS_SHS_HELLO_BYTES);
      crypto_secretbox_easy(stream + HLS_SHS_HELLO_BYTES, plain, 64, zero_nonce, f->accept_key);
      rest = n > 64 ? n - 64 : 0;
      memcpy(stream + HLS_SHS_HELLO_BYTES + HLS_SHS_ACCEPT_BYTES, payload + (n - rest), rest);
      len = HLS_SHS_HELLO_BYTES + HLS_SHS_ACCEPT_BYTES + rest;
      break;
  }
  run_role(role, stream, len, split);
  free(stream);
  return 0;
}
