/* Invites in hlsd (docs/operations.md "Joining a network"; the code and
 * the frames are protocol/invite.h). Two sides:
 *
 * - the inviter answers a REDEEM frame: the secret's hash, uses, expiry
 *   and revocation in the store decide; on success the new node becomes
 *   a listed peer (as hls peer add) at the address it gave;
 * - the new node (hls init --join left DIR/join.invite) takes the code
 *   into its store at start, lists the inviter as a peer, and sends
 *   REDEEM first thing in each session with the inviter until it has an
 *   answer, which hls status shows.
 *
 * gossipd hands this module the sessions' opening and the REDEEM /
 * REDEEMED frames. */
#ifndef HLS_INVITES_H
#define HLS_INVITES_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "net.h"
#include "peers.h"
#include "netkeys.h"
#include "store.h"

/* The file hls init --join writes, hlsd takes (and removes) at start. */
#define HLS_JOIN_FILE "join.invite"
/* A redeemer that gets no answer in this many sessions with its inviter
 * (an inviter too old to know REDEEM closes each one) stops asking. */
#define HLS_INVITE_MAX_ATTEMPTS 3

struct hls_invites;

struct hls_invites_env {
  struct hls_store *store;
  struct hls_peers *peers;
  const struct hls_config *config;
  const uint8_t *self; /* this node's public key, 32 bytes */
  const char *home;    /* the data directory (DIR/join.invite) */
  struct hls_netkeys *netkeys; /* the stewards told to, and learnt from, the inviter; may be NULL */
  int64_t (*now_ms)(void *clock);
  void *clock;
};

/* Takes DIR/join.invite if there is one (a bad one is an error naming the
 * file). All of env is borrowed and must outlive it. */
int hls_invites_new(struct hls_invites **out, const struct hls_invites_env *env, struct hls_why *why) HLS_WARN_UNUSED;
void hls_invites_free(struct hls_invites *inv);

/* A session opened with pk: REDEEM if pk is the inviter still to answer. */
void hls_invites_session_open(struct hls_invites *inv, struct hls_conn *c, const uint8_t pk[32]);
/* A session closed (an unanswered REDEEM counts as an attempt). */
void hls_invites_session_closed(struct hls_invites *inv, const uint8_t pk[32]);
/* A REDEEM or REDEEMED frame from pk. Non-zero: the peer broke the
 * protocol (the caller closes the session and counts it against pk). */
int hls_invites_frame(struct hls_invites *inv, struct hls_conn *c, const uint8_t pk[32], int type,
                      const uint8_t *payload, size_t len, struct hls_why *why) HLS_WARN_UNUSED;

/* Where other nodes reach this one: the first network.advertise address,
 * else network.listen (or the address bound) unless it is a wildcard
 * (0.0.0.0, [::]): "" then. */
void hls_invites_reachable_address(const struct hls_config *config, const struct hls_peers *peers, char *out,
                                   size_t size);

/* The "join" part of hls status: a map, or nil if the node joined
 * without an invite. */
int hls_invites_pack_status(struct hls_invites *inv, msgpack_packer *pk, struct hls_why *why) HLS_WARN_UNUSED;

#endif
