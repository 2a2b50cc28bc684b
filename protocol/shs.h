/* Secret Handshake (SHS v1), as specified in the Scuttlebutt Protocol
 * Guide and implemented by npm secret-handshake, as a pure state machine:
 * bytes in, bytes out; randomness is an input. docs/protocol.md section 6.
 *
 *   client                                server
 *   hello   hmac[N](a_p) | a_p    (64)  ->
 *                                       <-  hello  hmac[N](b_p) | b_p (64)
 *   auth    box[N|ab|aB](sig_A | A_p) (112) ->
 *                       (the server decides whether to talk to A_p here)
 *                                       <-  accept box[N|ab|aB|Ab](sig_B) (80)
 *
 * N is the network key (SHS's "application key"). A peer that fails a
 * check gets no reply: the caller closes the connection. */
#ifndef HLS_SHS_H
#define HLS_SHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HLS_SHS_HELLO_BYTES 64
#define HLS_SHS_AUTH_BYTES 112
#define HLS_SHS_ACCEPT_BYTES 80
#define HLS_SHS_MAX_MESSAGE HLS_SHS_AUTH_BYTES

enum hls_shs_role { HLS_SHS_CLIENT, HLS_SHS_SERVER };

enum hls_shs_state {
  HLS_SHS_WAIT_HELLO,    /* both: the other side's hello */
  HLS_SHS_WAIT_AUTH,     /* server */
  HLS_SHS_WAIT_DECISION, /* server: knows the client's key; accept or close */
  HLS_SHS_WAIT_ACCEPT,   /* client */
  HLS_SHS_DONE,
  HLS_SHS_FAILED,
};

struct hls_shs {
  int role, state;
  uint8_t net[32];
  uint8_t local_pk[32], local_sk[64];
  uint8_t remote_pk[32]; /* client: the server it dials; server: learnt in auth */
  uint8_t eph_pk[32], eph_sk[32];
  uint8_t local_mac[32], remote_mac[32];
  uint8_t remote_eph[32];
  uint8_t ab[32], aB[32], Ab[32];
  uint8_t shash[32];  /* sha256(ab) */
  uint8_t hello[96];  /* the client's sig_A | A_p */
  uint8_t alt_net[32]; /* server: a second key accepted (a rotation's overlap) */
  bool has_alt, used_alt; /* used_alt: the client's hello was under alt_net */
};

/* What a finished handshake gives the box streams. */
struct hls_shs_result {
  uint8_t remote_pk[32];
  uint8_t enc_key[32], enc_nonce[24]; /* what we send */
  uint8_t dec_key[32], dec_nonce[24]; /* what we receive */
};

/* Start a handshake. pk/sk: our Ed25519 identity (libsodium forms).
 * server_pk: the key the client expects (NULL for a server). random: 32
 * fresh random bytes; the ephemeral key pair is derived from them as the
 * reference implementation does (an Ed25519 seed key pair converted to
 * Curve25519), so known-answer vectors match it byte for byte. */
int hls_shs_init(struct hls_shs *h, int role, const uint8_t net[32], const uint8_t pk[32], const uint8_t sk[64],
                 const uint8_t *server_pk, const uint8_t random[32]) HLS_WARN_UNUSED;
/* Server, before the client's hello: accept a hello under net too (the
 * previous network key, during a rotation's overlap: docs/protocol.md
 * 7.2); the handshake then goes on under that key. */
void hls_shs_server_also(struct hls_shs *h, const uint8_t net[32]);
/* Client: the first message. */
void hls_shs_client_hello(const struct hls_shs *h, uint8_t out[HLS_SHS_HELLO_BYTES]);
/* How many bytes the handshake reads next (0 if none). */
size_t hls_shs_want(const struct hls_shs *h);
/* Feed exactly hls_shs_want() bytes. *out_len gets the length of the
 * reply written to out (room for HLS_SHS_MAX_MESSAGE bytes), 0 if none.
 * On any failed check: HLS_EHANDSHAKE with the reason in why (for the
 * log, never for the peer); the state becomes FAILED. */
int hls_shs_read(struct hls_shs *h, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
                 struct hls_why *why) HLS_WARN_UNUSED;
/* Server in WAIT_DECISION: accept the client (h->remote_pk); out gets the
 * final message. */
int hls_shs_server_accept(struct hls_shs *h, uint8_t out[HLS_SHS_ACCEPT_BYTES]) HLS_WARN_UNUSED;
bool hls_shs_done(const struct hls_shs *h);
int hls_shs_result(const struct hls_shs *h, struct hls_shs_result *out) HLS_WARN_UNUSED;
/* Wipe every secret. */
void hls_shs_wipe(struct hls_shs *h);

#endif
