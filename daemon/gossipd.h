/* Gossip in hlsd: the sans-I/O engine (protocol/gossip.h) driven by the
 * peer sessions (peers.c hooks) and a timer, with the SQLite store behind
 * it (gstore.h). */
#ifndef HLS_GOSSIPD_H
#define HLS_GOSSIPD_H

#include <msgpack.h>
#include <uv.h>

#include "config.h"
#include "invites.h"
#include "netkeys.h"
#include "envelope.h"
#include "err.h"
#include "peers.h"
#include "store.h"

struct hls_gossipd;

/* What gossipd takes from the node: all borrowed, and must outlive it;
 * what it tells the node goes through the callbacks (ctx is theirs). The
 * module sees nothing else of the node. */
struct hls_gossipd_env {
  uv_loop_t *loop;
  struct hls_store *store;
  const struct hls_config *config;
  const uint8_t *self;      /* this node's public key, 32 bytes */
  struct hls_peers *peers;  /* started: the sessions come from it */
  /* Invites (invites.h): gets each session's opening and closing and the
   * REDEEM / REDEEMED frames. NULL: those frames break the protocol. */
  struct hls_invites *invites;
  /* Network key rotation (netkeys.h): rekey items stored, NETKEY frames,
   * sessions, expelled peers refused. NULL: rekeys are refused. */
  struct hls_netkeys *netkeys;
  int64_t (*now_ms)(void *ctx);
  /* A body is held now (stored with its item, or arrived for a stub). */
  void (*item_held)(void *ctx, const struct hls_envelope *env);
  /* A tombstone erased the body of origin's item seq. */
  /* receipt_owed: the erasure noted a receipt entry this node owes origin. */
  void (*item_erased)(void *ctx, const uint8_t origin[32], uint64_t seq, bool receipt_owed);
  /* Items of this node's own chain arrived from a peer (after its store
   * was lost or restored). */
  void (*own_items_arrived)(void *ctx);
  /* This node found a fork itself (it reports it: docs/protocol.md 4.7).
   * May be NULL. */
  void (*fork_found)(void *ctx);
  void *ctx;
};

/* Load the chains held and hook into the peer sessions. */
int hls_gossipd_start(struct hls_gossipd **out, const struct hls_gossipd_env *env, struct hls_why *why) HLS_WARN_UNUSED;
/* Before the peers close. NULL is a no-op. */
/* hls identity rotate: env's self changed in place; the sessions end and
 * the engine is loaded again from the store under the new key. */
/* Tombstones this node signed with a key it held before (old_id), stored
 * already: to the engine and pushed (hls_gossip_retired_item). */
void hls_gossipd_published_retired(struct hls_gossipd *gd, const uint8_t old_id[32]);
void hls_gossipd_rekey(struct hls_gossipd *gd);
void hls_gossipd_close(struct hls_gossipd *gd);
/* This node's chain grew (the summariser published): push the new items. */
void hls_gossipd_published(struct hls_gossipd *gd);
/* Import one run of envelopes (one origin, consecutive, linked) as if a
 * peer had sent them: hls_gossip_import (protocol/gossip.h). */
struct hls_gossip_import_result;
int hls_gossipd_import(struct hls_gossipd *gd, const struct hls_envelope *envs, size_t n,
                       struct hls_gossip_import_result *res, struct hls_why *why) HLS_WARN_UNUSED;
/* The "gossip" part of hls status: chains, items, stubs, erased, forks,
 * sync progress. */
int hls_gossipd_pack_status(struct hls_gossipd *gd, msgpack_packer *pk, struct hls_why *why) HLS_WARN_UNUSED;

#endif
