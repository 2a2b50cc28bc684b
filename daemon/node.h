/* One running hlsd: the event loop and everything hanging off it. */
#ifndef HLS_NODE_H
#define HLS_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "chainmark.h"
#include "config.h"
#include "control.h"
#include "home.h"
#include "nodeid.h"
#include "store.h"
#include "gossipd.h"
#include "netkeys.h"
#include "patternsd.h"
#include "peers.h"
#include "summarise.h"

struct hls_api; /* api.h: the control methods, which the node serves */

/* Re-read the configuration (file, then command-line overrides) for
 * SIGHUP. Supplied by main, which owns the overrides. */
typedef int (*hls_config_loader)(struct hls_config *out, void *ctx, struct hls_why *why);

struct hls_web;

struct hls_node {
  uv_loop_t loop;
  struct hls_config *config; /* borrowed: main's parsed configuration */
  bool control_group_set;    /* control.group names a group: control_gid */
  gid_t control_gid;
  hls_config_loader reload;
  void *reload_ctx;
  char home[HLS_PATH_MAX];
  struct hls_identity identity;
  /* DIR/disclosure.key, kept at the first key rotation: the keyed
   * rounding goes on with it (else it is derived from identity). */
  uint8_t disclosure_key[32];
  bool have_disclosure_key;
  /* Keys hls identity rotate replaced (DIR/secret.retired-*): they sign
   * tombstones in their closed chains only (consent withdrawn later). */
#define HLS_NODE_RETIRED_MAX 16
  struct hls_identity retired[HLS_NODE_RETIRED_MAX];
  size_t n_retired;
  uint8_t network_key[32];
  char node_id[HLS_NODEID_TEXT_SIZE];
  char network_fingerprint[17];
  struct hls_store *store;
  struct hls_control *control;
  struct hls_web *web;    /* NULL: web.listen is off, or it could not start (web_problem) */
  char web_problem[sizeof(struct hls_why)]; /* why the web app is not serving, "" if it is or is off */
  struct hls_peers *peers;
  struct hls_gossipd *gossip;
  struct hls_invites *invites;
  struct hls_netkeys *netkeys; /* owned: network key rotation */
  struct hls_patternsd *patterns;
  uv_signal_t sig_int, sig_term, sig_hup;
  int lock_fd;
  int64_t started_ms;
  struct hls_api *api; /* owned: the control methods' state (hls_api_env) */
  bool stopping;
  /* The wall clock behind hls_node_now_ms: the system's or, in tests
   * (hlsd --test-clock), one frozen at test_clock_ms that only
   * test.clock.* moves (hls_node_test_clock_set). */
  bool test_clock;
  int64_t test_clock_ms;

  /* Publishing (docs/consent.md): what changed since the last run of the
   * summariser, and the timers that run it. */
  struct hls_profile profile; /* what the profile item should say */
  bool dirty_all;
  int *dirty_weeks; /* owned: ISO week keys, year * 100 + week */
  size_t n_dirty, cap_dirty;
  uint64_t first_change_ms; /* loop time (uv_now) of the batch waiting; 0 if none */
  uv_timer_t publish_timer, week_timer, expiry_timer;
  int64_t last_publish_ms;
  uint64_t chain_seq; /* own chain head, for status */

  /* Never signing one seq twice (chainmark.h). */
  struct hls_chainmark mark; /* as on disk: the highest seq ever signed */
  bool recovering;           /* the store is behind what this node signed: nothing is signed */
  bool recover_target_known; /* false: the mark itself was lost (hlsd --accept-new-store) */
  bool pause_logged;
  /* The highest seq of an item of this node's chain that came from a peer
   * while it was not recovering: one it did not sign, so another node
   * signs with its key (a copy of it running elsewhere). 0: none. */
  uint64_t signed_elsewhere_seq;

  /* Erased text leaves every file of the store within seconds. */
  uv_timer_t scrub_timer;
  int scrub_retries;

  /* The store's quick_check, when the start skipped it (a clean-close
   * mark): run on a worker thread; damage stops the node. */
  uv_work_t check_work;
  struct hls_store_bgcheck *check; /* owned while it runs */
  int check_rc;
  struct hls_why check_why;
  int64_t check_started_ms;
  bool store_damaged; /* found by that check: hls_node_run fails, no mark */
};

/* How hlsd was started (its command line). */
struct hls_run_options {
  bool test_clock;        /* hlsd --test-clock: the wall clock starts frozen at test_clock_ms */
  int64_t test_clock_ms;  /* Unix ms */
  bool accept_new_store;  /* hlsd --accept-new-store */
};

/* Open the home (permissions, lock, keys, store), start the control
 * socket, and run until SIGINT/SIGTERM. Returns 0 after a clean shutdown,
 * or an error (with why) if start-up failed. */
int hls_node_run(struct hls_node *node, const char *home, struct hls_config *config, hls_config_loader reload,
                 void *reload_ctx, const struct hls_run_options *run, struct hls_why *why) HLS_WARN_UNUSED;

/* Wall-clock milliseconds since the Unix epoch: the system's, or the test
 * clock's (hlsd --test-clock). Dates, week ends, consent expiry and the
 * times stored and published come from here; I/O timeouts and other
 * intervals run on the loop's monotonic clock instead. */
int64_t hls_node_now_ms(const struct hls_node *n);
/* Today's date in local time. */
hls_day hls_node_today(const struct hls_node *n);
/* For tests, on a node started with hlsd --test-clock: move its frozen
 * wall clock to unix_ms (forward or back) and, before returning, do what
 * the move made due, as the wall-clock timers would have: the weeks that
 * ended are published, consent whose expiry date came ends, and the
 * publishing that follows is done (a failure of it is returned; the clock
 * has moved all the same). HLS_ESTATE on the system clock. */
int hls_node_test_clock_set(struct hls_node *n, int64_t unix_ms, struct hls_why *why) HLS_WARN_UNUSED;

/* Records dated first..last changed (or everything, with all): their
 * weeks' digests and the stories are looked at again, after
 * publish.delay, or at once when urgent (withdrawals, decisions). */
void hls_node_changed(struct hls_node *n, hls_day first, hls_day last, bool urgent);
void hls_node_changed_all(struct hls_node *n, bool urgent);
/* The summariser's view of this node right now (clock read once). */
struct hls_summarise_ctx hls_node_summarise_ctx(struct hls_node *n);
/* Run the summariser now (also used by the publish timer). HLS_ESTATE
 * while the chain is being recovered (nothing may be signed). */
int hls_node_publish(struct hls_node *n, struct hls_why *why) HLS_WARN_UNUSED;
/* Text was erased or replaced in the store (an erased body, a deleted or
 * edited record): checkpoint the WAL into the database and truncate it
 * within a second, so that no copy of the old text stays in hlsd.db-wal
 * (secure_delete already zeroes it in hlsd.db). */
void hls_node_erased(struct hls_node *n);
/* Items of this node's own chain arrived from a peer (the chain was
 * behind: a restored or new store). Ends the recovery once the chain is
 * back to the mark. */
void hls_node_own_items_arrived(struct hls_node *n);
/* hls chain accept-loss: stop waiting for the items the store lost, and
 * sign from the store's head on (a peer that holds the lost ones will see
 * a fork). HLS_ESTATE if the chain is not being recovered. */
int hls_node_accept_chain_loss(struct hls_node *n, struct hls_why *why) HLS_WARN_UNUSED;
/* hls identity rotate (docs/operations.md, "Moving a place to a new
 * key"): a new key; the old one signs a successor naming it, the last
 * item of its chain; the home's files change (home.h,
 * hls_home_rotate_identity), the store's owner and publication log move
 * to the new key, the sessions start again under it, and the new chain
 * starts with the profile, stories and digests the records give.
 * old_id/new_id/retired (the old key file's name) are filled. HLS_ESTATE
 * while the chain is being recovered or before anything was published. */
int hls_node_rotate_identity(struct hls_node *n, uint8_t old_id[32], uint8_t new_id[32], uint64_t *successor_seq,
                             char retired[64], struct hls_why *why) HLS_WARN_UNUSED;

#endif
