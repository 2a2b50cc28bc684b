/* The peers this node knows, the admin's trust in them, and keeping
 * connected to them: dialling listed peers, re-dialling with exponential
 * back-off and jitter, one session per peer, the accept policy
 * (network.accept) and blocks, and per-peer counters (docs/operations.md,
 * "Peers"). Sits between the net layer and the store. */
#ifndef HLS_PEERS_H
#define HLS_PEERS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "err.h"
#include "home.h"
#include "store.h"

struct hls_peers;
struct hls_conn;

/* What the peers module takes from the node: all borrowed, and must
 * outlive it. The module sees nothing else of the node. */
struct hls_peers_env {
  uv_loop_t *loop;
  struct hls_store *store;             /* the peer table */
  const struct hls_config *config;     /* read live: a reload changes it */
  const struct hls_identity *identity; /* this node's keys (the handshake) */
  const uint8_t *network_key;          /* 32 bytes */
  int64_t (*now_ms)(void *clock);      /* the node's wall clock (hls_node_now_ms) */
  void *clock;
};

/* Upper layer (gossip) hooks: a session with a peer opened or closed, a
 * frame arrived (payload borrowed; non-zero return closes the session),
 * and the session's write queue drained. */
struct hls_peer_hooks {
  void (*on_open)(void *ctx, struct hls_conn *c, const uint8_t pk[32]);
  int (*on_frame)(void *ctx, struct hls_conn *c, const uint8_t pk[32], const uint8_t *payload, size_t len,
                  struct hls_why *why);
  void (*on_writable)(void *ctx, struct hls_conn *c, const uint8_t pk[32]);
  void (*on_close)(void *ctx, struct hls_conn *c, const uint8_t pk[32]);
  /* A node was blocked or unblocked (also called for every blocked node
   * when the hooks are set): its items are refused from every peer. */
  void (*on_block)(void *ctx, const uint8_t pk[32], bool blocked);
  /* NULL, or why pk may not have a session now (an expelled node,
   * netkeys.h): checked with blocks, both ways. May be NULL. */
  const char *(*refuse)(void *ctx, const uint8_t pk[32]);
  /* A dial of pk got no answer to the handshake's first message (net.h).
   * May be NULL. */
  void (*hello_unanswered)(void *ctx, const uint8_t pk[32]);
  void *ctx;
};

/* Load the peer table, start listening (network.listen) and dialling. */
int hls_peers_start(struct hls_peers **out, const struct hls_peers_env *env, struct hls_why *why) HLS_WARN_UNUSED;
void hls_peers_set_hooks(struct hls_peers *p, const struct hls_peer_hooks *hooks);
/* Persist the counters, say goodbye to every peer, stop. NULL is a no-op. */
void hls_peers_close(struct hls_peers *p);
/* Apply a reloaded configuration (limits, accept policy, back-off). */
void hls_peers_reload(struct hls_peers *p);
/* The network keys the handshake uses (hls_net_set_keys). */
void hls_peers_set_keys(struct hls_peers *p, const uint8_t key[32], const uint8_t *old);
/* Close the sessions of peers no longer allowed (refuse, blocks). */
void hls_peers_recheck(struct hls_peers *p);
/* "HOST:PORT" the listener is bound to. */
/* hls identity rotate: the handshakes use the node's new keys (env's
 * identity, changed in place) and every session and dial starts again. */
void hls_peers_rekey(struct hls_peers *p);
/* A successor item of old_id naming new_id is held (docs/protocol.md
 * 4.9), or seen among a blocked origin's items: what the admin said of
 * the old key holds for the new one. A listed old key's new key is
 * listed at the same address instead, a blocked one's blocked; and so
 * on along the successors held. Applied at the loop's next turn (it may
 * close sessions, and it is learnt inside a session's frame). */
void hls_peers_succeed(struct hls_peers *p, const uint8_t old_id[32], const uint8_t new_id[32]);
const char *hls_peers_address(const struct hls_peers *p);

/* hls peer add: trust pk at address and keep connected to it. HLS_ESTATE
 * (nothing changed) if pk is blocked. */
int hls_peers_add(struct hls_peers *p, const uint8_t pk[32], const char *address, struct hls_why *why) HLS_WARN_UNUSED;
/* hls peer remove: forget pk (disconnecting it). HLS_ENOTFOUND if unknown.
 * A blocked pk stays blocked (its address, listing and counters go):
 * *kept_blocked (out, may be NULL) says so. */
int hls_peers_remove(struct hls_peers *p, const uint8_t pk[32], bool *kept_blocked, struct hls_why *why)
    HLS_WARN_UNUSED;
/* hls peer block / unblock. Blocking disconnects at once. */
int hls_peers_block(struct hls_peers *p, const uint8_t pk[32], bool block, struct hls_why *why) HLS_WARN_UNUSED;
/* Pack the peer list for the control socket (an array of maps). */
int hls_peers_pack(struct hls_peers *p, msgpack_packer *pk) HLS_WARN_UNUSED;
/* Is pk listed by this node's admin (hls peer add) and not blocked: a
 * "direct peer", who gets the bodies of this node's peers-only stories. */
bool hls_peers_is_listed(const struct hls_peers *p, const uint8_t pk[32]);
/* pk broke the gossip protocol (what: a short reason): count it, and back
 * off from it (no dialling, inbound refused) for a while. */
void hls_peers_violation(struct hls_peers *p, const uint8_t pk[32], const char *what);
/* May peer pk bring one more chain this node does not follow yet? Listed
 * peers always; others up to gossip.new_origins_per_hour each (the first
 * refusal in an hour logs and counts a violation). */
bool hls_peers_admit_origin(struct hls_peers *p, const uint8_t pk[32]);
/* Peer exchange: try pk at address once (unless blocked, connected or
 * backed off). Never makes it a listed peer. */
void hls_peers_learn(struct hls_peers *p, const uint8_t pk[32], const char *address);
/* 100 minus 10 per protocol violation, at least 0 (hls peer list). */
struct hls_peer_row;
int hls_peers_score(const struct hls_peer_row *row);
/* fn(ctx, pk) for every node blocked now (a gossip engine built again
 * takes the blocks from here). */
void hls_peers_each_blocked(const struct hls_peers *p, void (*fn)(void *ctx, const uint8_t pk[32]), void *ctx);
/* Sessions open now. */
int hls_peers_connected(const struct hls_peers *p);
/* Peers being dialled now (a connection not yet made or failed). */
int hls_peers_connecting(const struct hls_peers *p);

#endif
