/* Patterns in hlsd (docs/patterns.md): the pure engine (protocol/
 * patterns.h) fed from the items held, its results kept in the store
 * (patterns, pattern_events), and the feeds that follow the events.
 *
 * Facts arrive through hls_patternsd_item / _erased (from gossip, import
 * and this node's own publishing); a short timer then recomputes what they
 * touched and writes each change (but a quiet update) as an event in one
 * transaction, with the pattern's row. Followers
 * (hls feed follow) get events after their feed's cursor, at most a window
 * of them unacknowledged at a time. Event-loop thread only. */
#ifndef HLS_PATTERNSD_H
#define HLS_PATTERNSD_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "envelope.h"
#include "err.h"

#include <uv.h>

#include "date.h"
#include "patterns.h"
#include "store.h"

/* What the pattern host takes from the node: all borrowed, and must
 * outlive it. It sees nothing else of the node. */
struct hls_patternsd_env {
  uv_loop_t *loop;
  struct hls_store *store;              /* the pattern tables live in its file */
  const uint8_t *node_id;               /* this node's (32 bytes): --vouched judges from it; NULL: no place is */
  const struct hls_pat_params *params;  /* checked (hls_config_check); copied at start */
  int64_t (*now_ms)(void *clock);       /* the node's wall clock */
  hls_day (*today)(void *clock);        /* its local date */
  void *clock;
  size_t max_changes_while_loading;     /* 0: 524,288 (tests set fewer: the load starts again past it) */
  double max_update_ms;                 /* 0: 100; an update estimated longer is a rebuild on the worker */
  /* Weeks back from the latest digest that late facts are taken in at
   * once (limits.patterns_late_weeks): the engine freezes the weeks
   * before (hls_patterns_freeze) and a fact of one is computed by
   * building the engine again from the store. 0: never freeze. */
  int32_t late_weeks;
  int threads;                          /* the engine's threads (hls_patterns_set_threads); 0: 1 */
  uint64_t late_rebuild_min_ms;         /* 0: 600,000; the least time from a load to a rebuild for late facts */
};
struct hls_patternsd;

/* Load the held digests, stories and profiles, compute every pattern, and
 * bring the store's patterns up to date (events for real changes only):
 * on a worker thread, with a read-only connection of its own on a
 * snapshot of the store, then on the loop in slices for what was stored
 * meanwhile (hls_patternsd_ready). A failed load is logged and tried
 * again; only setting up (memory, the store's statements) fails here. */
int hls_patternsd_start(struct hls_patternsd **out, const struct hls_patternsd_env *env,
                        struct hls_why *why) HLS_WARN_UNUSED;
/* True once the engine holds every item: hls_patternsd_start reads the
 * items held on a worker thread and returns at once (calls that need the
 * engine answer HLS_EBUSY until then); the loop must run. */
bool hls_patternsd_ready(const struct hls_patternsd *pd);
/* Followers are dropped without a reply (their clients close with the
 * control server). The timers are freed in their close
 * callbacks: the loop must run once more. NULL is a no-op. */
void hls_patternsd_close(struct hls_patternsd *pd);

/* An item was stored with its body (profile, digest, story, tombstone). */
void hls_patternsd_item(struct hls_patternsd *pd, const struct hls_envelope *env);
/* Item origin:seq lost its body (a tombstone erased it). */
void hls_patternsd_erased(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq);
/* The successions held changed (a successor item arrived, or this
 * node's key was rotated): places are known by the first key of their
 * succession, so the engine is built again (docs/patterns.md). */
void hls_patternsd_succession(struct hls_patternsd *pd);
/* Recompute now what is pending (tests and benchmarks; the timer does it
 * otherwise). */
int hls_patternsd_flush(struct hls_patternsd *pd, struct hls_why *why) HLS_WARN_UNUSED;

/* The "patterns" part of hls status. */
int hls_patternsd_pack_status(struct hls_patternsd *pd, msgpack_packer *pk) HLS_WARN_UNUSED;

/* Control commands (api.c): patterns, patterns.show, patterns.summary
 * (patapi.c), and feed.subscribe, feed.list, feed.unsubscribe,
 * feed.follow (deferred: a stream), feed.ack, handed to the host's feeds
 * (feeds.h) (docs/control.md). */
int hls_patternsd_api_list(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_show(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_summary(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_subscribe(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_feeds(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_network_themes(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_unsubscribe(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_follow(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_ack(struct hls_patternsd *pd, struct hls_control_call *call);
int hls_patternsd_api_feed_events(struct hls_patternsd *pd, struct hls_control_call *call);
void hls_patternsd_client_gone(struct hls_patternsd *pd, struct hls_control_client *client);

#endif
