/* Benchmark: Secret Handshakes per second and box-stream throughput, next
 * to the raw libsodium primitives they are made of, measured in the same
 * run. Not a test: figures go to docs/benchmarks.md.
 *
 * Usage: bench_transport [SECONDS_PER_MEASURE]
 *
 * Handshakes: both sides' state machines in this one thread, so one
 * "handshake" is the CPU cost of client + server together. Its floor is
 * the public-key work the protocol requires of the two sides: two
 * ephemeral X25519 key pairs, two Ed25519-to-X25519 public key conversions
 * (each side's view of the other's identity), six X25519 multiplications,
 * two signatures and two verifications.
 *
 * Box streams: seal and open of application data in 4096-byte bodies (the
 * maximum) and in 200-byte bodies (a small gossip frame), against raw
 * crypto_secretbox_easy / crypto_secretbox_open_easy of the same bodies.
 * A box-stream message is two secretboxes (the 18-byte header and the
 * body), so it cannot reach the raw rate for small bodies. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxstream.h"
#include "bench.h"
#include "shs.h"

enum { ROUNDS = 7, STREAM_BYTES = 1 << 20 };

struct fixture {
  uint8_t net[32];
  uint8_t a_pk[32], a_sk[64], b_pk[32], b_sk[64];
  uint8_t x_sk[32], x_pk[32], y_pk[32], shared[32]; /* X25519 */
  uint8_t sig[64], msg[128];
  uint8_t key[32], nonce[24];
  size_t body;                 /* body size for the stream measures */
  uint8_t *plain, *sealed;     /* STREAM_BYTES of data, and it sealed */
  size_t sealed_len;
  uint8_t *raw_sealed;         /* raw secretboxes of the same bodies */
  uint8_t *out;                /* scratch */
};

/* Run fn repeatedly for about secs; return operations per second. */
typedef int (*op_fn)(struct fixture *f);
static double rate(struct fixture *f, op_fn fn, double secs, const char *name) {
  long n = 0;
  double start = now_s(), t;
  do {
    if (fn(f) != 0) {
      fprintf(stderr, "%s failed\n", name);
      exit(1);
    }
    n++;
    t = now_s() - start;
  } while (t < secs);
  return (double)n / t;
}

/* --- handshakes ------------------------------------------------------------------ */

static int handshake(struct fixture *f) {
  struct hls_shs c, s;
  struct hls_why why = {{0}};
  uint8_t rc_[32], rs_[32], m1[HLS_SHS_MAX_MESSAGE], m2[HLS_SHS_MAX_MESSAGE], m4[HLS_SHS_ACCEPT_BYTES];
  size_t n2, n3, n4;
  randombytes_buf(rc_, sizeof rc_);
  randombytes_buf(rs_, sizeof rs_);
  if (hls_shs_init(&c, HLS_SHS_CLIENT, f->net, f->a_pk, f->a_sk, f->b_pk, rc_) != 0 ||
      hls_shs_init(&s, HLS_SHS_SERVER, f->net, f->b_pk, f->b_sk, NULL, rs_) != 0)
    return -1;
  hls_shs_client_hello(&c, m1);
  int rc = hls_shs_read(&s, m1, HLS_SHS_HELLO_BYTES, m2, &n2, &why);      /* server: hello -> hello */
  if (rc == 0) rc = hls_shs_read(&c, m2, n2, m1, &n3, &why);              /* client: hello -> auth */
  if (rc == 0) rc = hls_shs_read(&s, m1, n3, m2, &n4, &why);              /* server: auth -> decide */
  if (rc == 0) rc = hls_shs_server_accept(&s, m4);                        /* server: accept */
  if (rc == 0) rc = hls_shs_read(&c, m4, HLS_SHS_ACCEPT_BYTES, m2, &n4, &why); /* client: done */
  struct hls_shs_result a, b;
  if (rc == 0) rc = hls_shs_result(&c, &a);
  if (rc == 0) rc = hls_shs_result(&s, &b);
  if (rc == 0 && memcmp(a.enc_key, b.dec_key, 32) != 0) rc = -1;
  hls_shs_wipe(&c);
  hls_shs_wipe(&s);
  return rc;
}

static int raw_keypair(struct fixture *f) {
  randombytes_buf(f->x_sk, sizeof f->x_sk);
  return crypto_scalarmult_base(f->x_pk, f->x_sk);
}
/* How the reference derives an ephemeral key pair (and hlsd did at
 * first): an Ed25519 key pair from the seed, both halves converted. */
static int ref_ephemeral(struct fixture *f) {
  uint8_t seed[32], pk[32], sk[64];
  randombytes_buf(seed, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  int rc = crypto_sign_ed25519_pk_to_curve25519(f->x_pk, pk) | crypto_sign_ed25519_sk_to_curve25519(f->x_sk, sk);
  sodium_memzero(sk, sizeof sk);
  return rc;
}
static int raw_pk_to_curve(struct fixture *f) { return crypto_sign_ed25519_pk_to_curve25519(f->x_pk, f->b_pk); }
static int raw_scalarmult(struct fixture *f) { return crypto_scalarmult(f->shared, f->x_sk, f->y_pk); }
static int raw_sign(struct fixture *f) { return crypto_sign_detached(f->sig, NULL, f->msg, 68, f->a_sk); }
static int raw_verify(struct fixture *f) { return crypto_sign_verify_detached(f->sig, f->msg, 68, f->a_pk); }

/* --- box streams ----------------------------------------------------------------- */

static int stream_seal(struct fixture *f) {
  struct hls_box b;
  hls_box_init(&b, f->key, f->nonce);
  size_t o = 0;
  for (size_t off = 0; off + f->body <= STREAM_BYTES; off += f->body) {
    if (hls_box_seal(&b, f->plain + off, f->body, f->out + o) != 0) return -1;
    o += HLS_BOX_HEADER + f->body;
  }
  return 0;
}

static int count_body(void *ctx, const uint8_t *plain, size_t len) {
  (void)plain;
  *(size_t *)ctx += len;
  return 0;
}

static int stream_open(struct fixture *f) {
  struct hls_box_reader r;
  hls_box_reader_init(&r, f->key, f->nonce);
  size_t consumed = 0, got = 0;
  int rc = hls_box_reader_feed(&r, f->sealed, f->sealed_len, &consumed, count_body, &got);
  return rc == 0 && got == STREAM_BYTES / f->body * f->body ? 0 : -1;
}

static void next_nonce(uint8_t n[24]) {
  for (int i = 23; i >= 0 && ++n[i] == 0; i--) {
  }
}

static int raw_seal(struct fixture *f) {
  uint8_t n[24];
  memcpy(n, f->nonce, 24);
  size_t o = 0;
  for (size_t off = 0; off + f->body <= STREAM_BYTES; off += f->body) {
    crypto_secretbox_easy(f->out + o, f->plain + off, f->body, n, f->key);
    next_nonce(n);
    o += crypto_secretbox_MACBYTES + f->body;
  }
  return 0;
}

static int raw_open(struct fixture *f) {
  uint8_t n[24];
  memcpy(n, f->nonce, 24);
  size_t o = 0;
  for (size_t off = 0; off + f->body <= STREAM_BYTES; off += f->body) {
    if (crypto_secretbox_open_easy(f->out, f->raw_sealed + o, crypto_secretbox_MACBYTES + f->body, n, f->key) != 0)
      return -1;
    next_nonce(n);
    o += crypto_secretbox_MACBYTES + f->body;
  }
  return 0;
}

static void stream_fixture(struct fixture *f, size_t body) {
  f->body = body;
  size_t msgs = STREAM_BYTES / body;
  f->sealed_len = msgs * (HLS_BOX_HEADER + body);
  free(f->sealed);
  free(f->raw_sealed);
  free(f->out);
  f->sealed = malloc(f->sealed_len);
  f->raw_sealed = malloc(msgs * (crypto_secretbox_MACBYTES + body));
  f->out = malloc(f->sealed_len);
  if (f->sealed == NULL || f->raw_sealed == NULL || f->out == NULL || stream_seal(f) != 0) goto fail;
  memcpy(f->sealed, f->out, f->sealed_len);
  if (raw_seal(f) != 0) goto fail;
  memcpy(f->raw_sealed, f->out, msgs * (crypto_secretbox_MACBYTES + body));
  return;
fail:
  fprintf(stderr, "fixture failed\n");
  exit(1);
}

/* --- report ------------------------------------------------------------------------ */

struct measure {
  const char *name;
  op_fn fn;
  size_t body; /* 0: not a stream measure */
  double r[ROUNDS];
  double med;
};

static void run(struct fixture *f, struct measure *m, size_t n, double secs) {
  /* Interleave the measures round by round, so load on the machine
   * affects all of them alike. */
  for (int r = 0; r < ROUNDS; r++)
    for (size_t i = 0; i < n; i++) {
      if (m[i].body != 0 && m[i].body != f->body) stream_fixture(f, m[i].body);
      m[i].r[r] = rate(f, m[i].fn, secs, m[i].name);
    }
  for (size_t i = 0; i < n; i++) {
    qsort(m[i].r, ROUNDS, sizeof m[i].r[0], cmp_double);
    m[i].med = m[i].r[ROUNDS / 2];
  }
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.5;
  if (sodium_init() < 0 || secs <= 0) return 1;
  struct fixture f = {0};
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i + 1);
  crypto_sign_seed_keypair(f.a_pk, f.a_sk, seed);
  seed[0] ^= 0xff;
  crypto_sign_seed_keypair(f.b_pk, f.b_sk, seed);
  randombytes_buf(f.net, sizeof f.net);
  randombytes_buf(f.x_sk, sizeof f.x_sk);
  crypto_scalarmult_base(f.y_pk, f.x_sk);
  randombytes_buf(f.msg, sizeof f.msg);
  randombytes_buf(f.key, sizeof f.key);
  randombytes_buf(f.nonce, sizeof f.nonce);
  f.plain = malloc(STREAM_BYTES);
  if (f.plain == NULL) return 1;
  randombytes_buf(f.plain, STREAM_BYTES);
  raw_sign(&f);

  enum { HS, KEYPAIR, CONVERT, REF_EPHEMERAL, MULT, SIGN, VERIFY, N_HS };
  struct measure hs[N_HS] = {
      [HS] = {"handshake, client+server", handshake, 0, {0}, 0},
      [KEYPAIR] = {"raw X25519 key pair", raw_keypair, 0, {0}, 0},
      [CONVERT] = {"raw Ed25519 -> X25519 public key", raw_pk_to_curve, 0, {0}, 0},
      [REF_EPHEMERAL] = {"ephemeral as the reference derives", ref_ephemeral, 0, {0}, 0},
      [MULT] = {"raw X25519 scalarmult", raw_scalarmult, 0, {0}, 0},
      [SIGN] = {"raw Ed25519 sign", raw_sign, 0, {0}, 0},
      [VERIFY] = {"raw Ed25519 verify", raw_verify, 0, {0}, 0},
  };
  struct measure st[] = {
      {"box-stream seal, 4096-byte bodies", stream_seal, 4096, {0}, 0},
      {"raw secretbox seal, 4096", raw_seal, 4096, {0}, 0},
      {"box-stream open, 4096-byte bodies", stream_open, 4096, {0}, 0},
      {"raw secretbox open, 4096", raw_open, 4096, {0}, 0},
      {"box-stream seal, 200-byte bodies", stream_seal, 200, {0}, 0},
      {"raw secretbox seal, 200", raw_seal, 200, {0}, 0},
      {"box-stream open, 200-byte bodies", stream_open, 200, {0}, 0},
      {"raw secretbox open, 200", raw_open, 200, {0}, 0},
  };
  enum { N_ST = sizeof st / sizeof st[0] };
  run(&f, hs, N_HS, secs);
  /* 200 does not divide 1 MiB: the streams carry the whole bodies that fit. */
  run(&f, st, N_ST, secs);

  double floor_us = 1e6 * (2 / hs[KEYPAIR].med + 2 / hs[CONVERT].med + 6 / hs[MULT].med + 2 / hs[SIGN].med +
                           2 / hs[VERIFY].med);
  for (size_t i = 0; i < N_HS; i++)
    printf("%-36s median %9.0f /s  (min %9.0f, max %9.0f)  %7.1f us each\n", hs[i].name, hs[i].med, hs[i].r[0],
           hs[i].r[ROUNDS - 1], 1e6 / hs[i].med);
  printf("public-key floor (2 key pairs + 2 key conversions + 6 X25519 + 2 sign + 2 verify): %.1f us = %.0f /s; "
         "handshake at %.0f%% of it\n",
         floor_us, 1e6 / floor_us, 100.0 * floor_us * hs[HS].med / 1e6);
  for (size_t i = 0; i < N_ST; i++) {
    double bytes = (double)(STREAM_BYTES / st[i].body * st[i].body);
    double mbs = st[i].med * bytes / 1e6, lo = st[i].r[0] * bytes / 1e6, hi = st[i].r[ROUNDS - 1] * bytes / 1e6;
    printf("%-36s median %8.1f MB/s (min %8.1f, max %8.1f)", st[i].name, mbs, lo, hi);
    if (i % 2 == 0) printf("  %5.1f%% of raw", 100.0 * st[i].med / st[i + 1].med);
    printf("\n");
  }
  free(f.plain);
  free(f.sealed);
  free(f.raw_sealed);
  free(f.out);
  return 0;
}
