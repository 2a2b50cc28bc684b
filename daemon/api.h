/* Control-socket commands: one table of (name, handler, help) that the
 * control server dispatches through. Handlers run on the loop thread. */
#ifndef HLS_API_H
#define HLS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "control.h"
#include "gossipd.h"
#include "home.h"
#include "netkeys.h"
#include "patternsd.h"
#include "peers.h"
#include "store.h"
#include "summarise.h"

/* This node's chain, as status, chain and share.publish report it. */
struct hls_api_chain {
  uint64_t seq;            /* own chain head in the store */
  uint64_t signed_seq;     /* the highest seq ever signed (the chain mark) */
  bool signed_known;       /* false: the mark was lost, signed_seq is a floor */
  bool recovering;         /* the store is behind the mark: nothing is signed */
  uint64_t signed_elsewhere_seq; /* items of its chain it did not sign came, up to this seq; 0: none */
  int64_t last_publish_ms; /* Unix ms of the last summariser run; 0: none yet */
  bool changes_pending;    /* changes wait for the next run */
};

/* What the control methods take from the node: all borrowed, and must
 * outlive the api (the node closes the control socket, whose clients'
 * departures reach hls_api_client_gone, before it closes the subsystems).
 * What only the node can do or knows goes through the callbacks (ctx is
 * theirs). The module sees nothing else of the node. */
struct hls_api_env {
  struct hls_store *store;
  const struct hls_config *config;     /* main's, reloaded in place on SIGHUP */
  const struct hls_identity *identity; /* this node's keys */
  const char *node_id;                 /* its id as text (@...ed25519) */
  const char *network_id;              /* the network key's fingerprint */
  const char *home;                    /* the data directory */
  int64_t started_ms;                  /* Unix ms hlsd started at */
  bool test_clock;                     /* hlsd --test-clock: the test.clock.* methods are offered */
  struct hls_peers *peers;
  struct hls_gossipd *gossip;          /* NULL: items.import and status say gossip is not running */
  struct hls_patternsd *patterns;
  struct hls_invites *invites;         /* the invite this node joined with (status) */
  const uint8_t *network_key;          /* 32 bytes: invite.create puts it in the code (the newest key) */
  struct hls_netkeys *netkeys;         /* network key rotation (netkeys.h) */

  /* The node's wall clock (hlsd --test-clock's, in tests) and local date. */
  int64_t (*now_ms)(void *ctx);
  hls_day (*today)(void *ctx);
  /* Publishing (node.h): records dated first..last, or all records,
   * changed; text was erased from the store; mark everything changed and
   * run the summariser now (HLS_ESTATE while the chain is recovered). */
  void (*changed)(void *ctx, hls_day first, hls_day last, bool urgent);
  void (*changed_all)(void *ctx, bool urgent);
  void (*erased)(void *ctx);
  int (*publish_all)(void *ctx, struct hls_why *why);
  /* The summariser's view of the node now (share.preview, share.review). */
  struct hls_summarise_ctx (*summarise_ctx)(void *ctx);
  /* The chain now; and hls chain accept-loss (HLS_ESTATE if not recovering). */
  void (*chain)(void *ctx, struct hls_api_chain *out /* out */);
  int (*accept_chain_loss)(void *ctx, struct hls_why *why);
  /* hls identity rotate (node.h, hls_node_rotate_identity). */
  int (*rotate_identity)(void *ctx, uint8_t old_id[32] /* out */, uint8_t new_id[32] /* out */,
                         uint64_t *successor_seq /* out */, char retired[64] /* out */, struct hls_why *why);
  /* The web app's address for links (web.url, or from web.listen), into
   * out; whether the web app is serving now. */
  bool (*web_url)(void *ctx, char *out, size_t size);
  /* test.clock.*: move the frozen wall clock (HLS_ESTATE on the system clock). */
  int (*test_clock_set)(void *ctx, int64_t unix_ms, struct hls_why *why);
  void *ctx;
};

/* The control API's own state: the env and the imports open on control
 * clients. */
struct hls_api;

/* NULL when out of memory. env is copied; what it points to is borrowed. */
struct hls_api *hls_api_new(const struct hls_api_env *env);
/* Drops any import still open. NULL is a no-op. */
void hls_api_free(struct hls_api *api);

/* hls_control_dispatch_fn with ctx = struct hls_api *. */
int hls_api_dispatch(void *api, struct hls_control_call *call);
/* hls_control_disconnect_fn (ctx = struct hls_api *): drops a client's
 * unfinished import and its feed follows. */
void hls_api_client_gone(void *api, struct hls_control_client *client);

/* A listing's "limit" argument, the one rule for every command
 * (docs/control.md): absent (or nil) is the command's default, absent_limit
 * (HLS_API_LIMIT_ALL for every listing but patterns, whose pages are 50);
 * 0 is all; negative, or not an integer, is HLS_EINVAL with why. */
/* Retention (docs/governance.md#retention): delete the records whose
 * retention date has passed (today, the env's), as record.delete does,
 * with an audit entry each (record.retention_expired, by hlsd); at most
 * 10,000 in one call. *deleted: how many. */
int hls_api_retention_sweep(struct hls_api *api, int64_t *deleted /* out */, struct hls_why *why) HLS_WARN_UNUSED;
/* A restore (docs/operations.md#restore): delete again the records of ids,
 * which the erasure list (erasures.h) names and the store holds again, as
 * record.delete does, with an audit entry each (record.erasure_reapplied,
 * by hlsd). *deleted: how many. */
int hls_api_erasures_reapply(struct hls_api *api, const int64_t *ids, size_t n, int64_t *deleted /* out */,
                             struct hls_why *why) HLS_WARN_UNUSED;

#define HLS_API_LIMIT_ALL 0
int hls_api_arg_limit(const struct hls_mp_value *args, int64_t absent_limit, int64_t *limit /* out */,
                      struct hls_why *why) HLS_WARN_UNUSED;

#endif
