/* Gossip in hlsd: the sans-I/O engine (protocol/gossip.h) driven by the
 * peer sessions (peers.c hooks) and a timer, with the SQLite store behind
 * it (gstore.h). */
#ifndef HLS_GOSSIPD_H
#define HLS_GOSSIPD_H

#include <msgpack.h>

#include "err.h"

struct hls_node;
struct hls_gossipd;

/* Load the chains held and hook into the peer sessions (node->peers must
 * be started). */
int hls_gossipd_start(struct hls_gossipd **out, struct hls_node *node, struct hls_why *why) HLS_WARN_UNUSED;
/* Before the peers close. NULL is a no-op. */
void hls_gossipd_close(struct hls_gossipd *gd);
/* This node's chain grew (the summariser published): push the new items. */
void hls_gossipd_published(struct hls_gossipd *gd);
/* Import one run of envelopes (one origin, consecutive, linked) as if a
 * peer had sent them: hls_gossip_import (protocol/gossip.h). */
struct hls_envelope;
struct hls_gossip_import_result;
int hls_gossipd_import(struct hls_gossipd *gd, const struct hls_envelope *envs, size_t n,
                       struct hls_gossip_import_result *res, struct hls_why *why) HLS_WARN_UNUSED;
/* The "gossip" part of hls status: chains, items, stubs, erased, forks,
 * sync progress. */
int hls_gossipd_pack_status(struct hls_gossipd *gd, msgpack_packer *pk, struct hls_why *why) HLS_WARN_UNUSED;

#endif
