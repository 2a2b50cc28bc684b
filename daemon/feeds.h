/* Feeds and their followers of pattern events (docs/control.md): the
 * feed.* control commands, a feed's stored filter and cursor, and the
 * streams of `hls feed follow`. The pattern host (patternsd) creates them
 * on its pattern store, hands them the feed.* calls and tells them when
 * it wrote new events (hls_feeds_pump_all); they know nothing else of it.
 * Event-loop thread only. */
#ifndef HLS_FEEDS_H
#define HLS_FEEDS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control.h"
#include "err.h"

struct hls_patfilter;
struct hls_patstore;
struct hls_patsummary;

/* What feeds take from whoever creates them: all borrowed, and must
 * outlive them. */
struct hls_feeds_env {
  uv_loop_t *loop;
  struct hls_patstore *ps;        /* the feeds and pattern_events tables */
  struct hls_patsummary *summary; /* the place list: place names in filters */
  int64_t (*now_ms)(void *clock); /* the wall clock: when a feed was made, acked */
  void *clock;
  /* A feed --vouched: set f's vouched places as this node judges them
   * now (hls_patfilter_set_vouched); *ids (owned: free) holds them while
   * f is used. NULL: no place is vouched. */
  int (*vouched_now)(void *ctx, struct hls_patfilter *f, uint8_t **ids, struct hls_why *why);
  void *vouched_ctx;
  /* Whether f's themes, regions and places are known now: 0, or
   * HLS_ENOTFOUND with a why naming each that is not (feed.subscribe
   * notes it: a feed may wait for a theme to appear). NULL: not asked.
   * Its ctx is vouched_ctx. */
  int (*filter_known)(void *ctx, const struct hls_patfilter *f, struct hls_why *why);
};
struct hls_feeds;

/* *out: owned (hls_feeds_close). HLS_ENOMEM. */
int hls_feeds_new(struct hls_feeds **out, const struct hls_feeds_env *env) HLS_WARN_UNUSED;
/* Drop every follower, without a reply (closing), and close the timer;
 * the memory is freed in its close callback, so the loop must run once
 * more. NULL is a no-op. */
void hls_feeds_close(struct hls_feeds *feeds);

/* Send every follower what it has not seen, up to its window (after the
 * host wrote new events). */
void hls_feeds_pump_all(struct hls_feeds *feeds);
size_t hls_feeds_count_followers(const struct hls_feeds *feeds);
/* Who is vouched may have changed (a vouch or profile stored): followers
 * of feeds --vouched are pumped from the loop, and get what they held
 * back that now passes (docs/patterns.md "Feeds of vouched places"). */
void hls_feeds_trust_changed(struct hls_feeds *feeds);

/* Control commands feed.subscribe, feed.list, feed.unsubscribe,
 * feed.follow (deferred: a stream), feed.ack (docs/control.md). */
int hls_feeds_api_subscribe(struct hls_feeds *feeds, struct hls_control_call *call);
int hls_feeds_api_list(struct hls_feeds *feeds, struct hls_control_call *call);
int hls_feeds_api_unsubscribe(struct hls_feeds *feeds, struct hls_control_call *call);
int hls_feeds_api_follow(struct hls_feeds *feeds, struct hls_control_call *call);
int hls_feeds_api_ack(struct hls_feeds *feeds, struct hls_control_call *call);
/* feed.events: the newest events the feed's filter selects (its web
 * addresses' content); the cursor does not move. */
int hls_feeds_api_events(struct hls_feeds *feeds, struct hls_control_call *call);
/* The client's streams end (it closed): no reply. */
void hls_feeds_client_gone(struct hls_feeds *feeds, struct hls_control_client *client);

#endif
