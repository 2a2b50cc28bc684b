/* The gossip engine's view of the SQLite store (protocol/gossip.h, struct
 * hls_gossip_store): reading held items and stubs, writing verified runs,
 * bodies, erasures and fork evidence. Its statements are prepared once on
 * the store's connection. Event-loop thread only. */
#ifndef HLS_GSTORE_H
#define HLS_GSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"
#include "gossip.h"
#include "store.h"

struct hls_gstore;

int hls_gstore_open(struct hls_gstore **out, struct hls_store *store, struct hls_why *why) HLS_WARN_UNUSED;
void hls_gstore_free(struct hls_gstore *gs);

/* struct hls_gossip_store callbacks (ctx = the gstore). The views given
 * by get stay valid until the next get. */
int hls_gstore_get(void *ctx, const uint8_t origin[32], uint64_t seq, struct hls_gossip_item *out);
int hls_gstore_stubs(void *ctx, const uint8_t origin[32], uint64_t after, uint64_t *seqs, size_t max, size_t *n);

/* Write n verified envelopes of one origin, all or none, in the store's
 * deferred transaction (hls_store_defer_begin: gossipd commits it). */
int hls_gstore_put_run(struct hls_gstore *gs, const struct hls_envelope *envs, const int *states, size_t n,
                       int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;
/* Keep the body of an item held as a stub (no-op unless it is one:
 * *changed says). */
int hls_gstore_put_body(struct hls_gstore *gs, const struct hls_envelope *env, bool *changed,
                        struct hls_why *why) HLS_WARN_UNUSED;
/* Erase the body of origin:seq (origin's tombstone signed at tombstone_ms
 * came), and note the receipt entry this node owes origin for it
 * (hls_store_receipt_owe; *owed says whether one was noted), in the
 * deferred transaction as the runs are. */
int hls_gstore_erase(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq, int64_t tombstone_ms,
                     int64_t now_ms, bool *owed, struct hls_why *why) HLS_WARN_UNUSED;
/* An origin's latest profile held (*found false if none). */
int hls_gstore_profile(struct hls_gstore *gs, const uint8_t origin[32], struct hls_profile *out, bool *found,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* The body state of an item (enum hls_body_state), -1 if not held. */
int hls_gstore_state(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq);
/* Who told this node of a fork (docs/protocol.md 4.7): the node whose
 * fork item it was, and that item's seq. NULL where a fork is put or
 * listed: this node found it. */
struct hls_gstore_fork_report {
  uint8_t reporter[32];
  uint64_t report_seq;
};
/* Fork evidence of origin at seq, found at now_ms; the first evidence of
 * an (origin, seq) stays. */
int hls_gstore_fork_put(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq, const uint8_t *ours,
                        size_t ours_len, const uint8_t *theirs, size_t theirs_len,
                        const struct hls_gstore_fork_report *report, int64_t now_ms,
                        struct hls_why *why) HLS_WARN_UNUSED;

/* Each origin held: its head, whether it forked, its latest profile; and
 * each origin not held but forked (told of by a fork item: head 0). */
typedef int (*hls_gstore_origin_fn)(void *ctx, const uint8_t origin[32], uint64_t head, const uint8_t head_id[32],
                                    bool forked, const struct hls_profile *profile);
int hls_gstore_each_origin(struct hls_gstore *gs, hls_gstore_origin_fn fn, void *ctx, struct hls_why *why)
    HLS_WARN_UNUSED;

struct hls_gstore_counts {
  int64_t items, held, stubs, erased, forks;
};
/* Counts over the whole store (a scan: at start only), or of one origin. */
int hls_gstore_counts(struct hls_gstore *gs, struct hls_gstore_counts *out, struct hls_why *why) HLS_WARN_UNUSED;
int hls_gstore_origin_counts(struct hls_gstore *gs, const uint8_t origin[32], struct hls_gstore_counts *out,
                             struct hls_why *why) HLS_WARN_UNUSED;

/* Fork evidence, newest first; report NULL for a fork found here. */
typedef int (*hls_gstore_fork_fn)(void *ctx, const uint8_t origin[32], uint64_t seq, int64_t found_ms,
                                  const struct hls_gstore_fork_report *report);
int hls_gstore_each_fork(struct hls_gstore *gs, hls_gstore_fork_fn fn, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

#endif
