/* Invites (docs/protocol.md 7.1): the code an admin gives a new place, and
 * the two session frames that redeem it. Pure code: the secret comes from
 * the caller's random bytes, the clock never enters.
 *
 * The code is one line of text, "hls1-" then base64url (no padding) of
 *   version 1 (1 byte) | network key (32) | inviter's node id (32) |
 *   secret (32) | address length n (1 byte, 3..255) | address (n bytes) |
 *   check (4: the first bytes of BLAKE2b-256 of everything before it)
 * It holds the network key: it is a secret. */
#ifndef HLS_INVITE_H
#define HLS_INVITE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "err.h"
#include "hls_limits.h"

#define HLS_INVITE_VERSION 1
#define HLS_INVITE_PREFIX "hls1-"
#define HLS_INVITE_SECRET_BYTES 32
#define HLS_INVITE_CHECK_BYTES 4
#define HLS_INVITE_ADDRESS_MAX 255 /* its length is one byte */
/* The binary form's fixed part: version, key, node id, secret, length, check. */
#define HLS_INVITE_FIXED_BYTES (1 + 32 + 32 + HLS_INVITE_SECRET_BYTES + 1 + HLS_INVITE_CHECK_BYTES)
#define HLS_INVITE_MAX_BYTES (HLS_INVITE_FIXED_BYTES + HLS_INVITE_ADDRESS_MAX)
/* Text: the prefix, base64 of the longest binary form, and the NUL. */
#define HLS_INVITE_TEXT_MAX (5 + (HLS_INVITE_MAX_BYTES * 4 + 2) / 3 + 1)

/* Session frame types (docs/protocol.md section 7). */
#define HLS_FRAME_REDEEM 8   /* [8, secret bin 32, address str]: redeemer -> inviter */
#define HLS_FRAME_REDEEMED 9 /* [9, outcome uint]: inviter -> redeemer */

struct hls_invite {
  uint8_t network_key[32];
  uint8_t inviter[32];                       /* the inviter's node id (public key) */
  uint8_t secret[HLS_INVITE_SECRET_BYTES];
  char address[HLS_HOSTPORT_MAX + 3];        /* where the inviter listens: HOST:PORT */
};

/* What the inviter answers. Never renumber: they are on the wire. */
enum hls_invite_outcome {
  HLS_INVITE_OK = 0,      /* redeemed: the inviter lists the new node as a peer */
  HLS_INVITE_UNKNOWN = 1, /* no invite has this secret */
  HLS_INVITE_SPENT = 2,   /* every use taken */
  HLS_INVITE_EXPIRED = 3,
  HLS_INVITE_REVOKED = 4,
  HLS_INVITE_OUTCOME_MAX = 4
};

/* "ok", "unknown", "spent", "expired", "revoked"; NULL if out of range
 * (an outcome of a later version). */
const char *hls_invite_outcome_name(int outcome);
/* One sentence for people: what the outcome means and what to do. */
const char *hls_invite_outcome_text(int outcome);

/* The code's text form into out (HLS_INVITE_TEXT_MAX bytes). HLS_EINVAL
 * if the address is not HOST:PORT. */
int hls_invite_encode(const struct hls_invite *inv, char out[HLS_INVITE_TEXT_MAX], struct hls_why *why) HLS_WARN_UNUSED;
/* Parse a code (surrounding white space allowed). Every failure is
 * HLS_EMALFORMED with one line in why saying what is wrong (prefix,
 * characters, length, check, version, address). */
int hls_invite_decode(const char *text, struct hls_invite *out, struct hls_why *why) HLS_WARN_UNUSED;

/* What the inviter stores instead of the secret: keyed BLAKE2b-256. */
void hls_invite_secret_hash(const uint8_t secret[HLS_INVITE_SECRET_BYTES], uint8_t out[32]);

/* The frames, whole (length header included). */
int hls_frame_redeem(msgpack_sbuffer *out, const uint8_t secret[HLS_INVITE_SECRET_BYTES], const char *address) HLS_WARN_UNUSED;
int hls_frame_redeemed(msgpack_sbuffer *out, int outcome) HLS_WARN_UNUSED;
/* Decode a payload. address: "" or HOST:PORT (checked), copied into out. */
int hls_frame_redeem_decode(const uint8_t *payload, size_t len, uint8_t secret[HLS_INVITE_SECRET_BYTES],
                            char address[HLS_HOSTPORT_MAX + 3], struct hls_why *why) HLS_WARN_UNUSED;
int hls_frame_redeemed_decode(const uint8_t *payload, size_t len, int *outcome, struct hls_why *why) HLS_WARN_UNUSED;
/* REDEEMED with the inviter's network stewards (docs/protocol.md 7.1,
 * sessions of version 2): [9, outcome, [node id, ...]]. */
int hls_frame_redeemed_stewards(msgpack_sbuffer *out, int outcome, const uint8_t (*stewards)[32], size_t n)
    HLS_WARN_UNUSED;
/* Either form. stewards (room for HLS_STEWARDS_MAX) may be NULL;
 * *n_stewards gets -1 for the two-element form. */
int hls_frame_redeemed_decode_stewards(const uint8_t *payload, size_t len, int *outcome, uint8_t (*stewards)[32],
                                       ptrdiff_t *n_stewards, struct hls_why *why) HLS_WARN_UNUSED;

#endif
