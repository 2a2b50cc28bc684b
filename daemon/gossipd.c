#include "gossipd.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "gossip.h"
#include "gstore.h"
#include "invite.h"
#include "netkeys.h"
#include "wire.h"
#include "log.h"
#include "mp.h"
#include "net.h"
#include "nodeid.h"
#include "peers.h"

/* A session as gossipd sees it. A send that the transport refuses (the
 * peer's write queue is full: it is not reading) dooms the session; it is
 * closed from the timer, never from inside an engine call. */
struct gsess {
  struct hls_conn *conn;
  struct hls_gossip_session *s;
  uint8_t pk[32];
  bool doomed;
};

struct dial {
  uint8_t pk[32];
  char address[HLS_PROFILE_ADDRESS_MAX + 1];
};

#define MAX_PENDING_DIALS 64

struct hls_gossipd {
  struct hls_gossipd_env env;
  struct hls_gstore *gs;
  struct hls_gossip *g;
  uv_timer_t timer;
  struct gsess *sess;
  size_t n_sess, cap_sess;
  struct dial dials[MAX_PENDING_DIALS];
  size_t n_dials;
  /* Items held by body state: other origins' kept up to date from the
   * engine's actions (counted once at start: hls status must not scan
   * millions of rows), this node's own recounted when it publishes. */
  struct hls_gstore_counts others, own;
  /* Items a peer sent go into one deferred transaction (store.h), not one
   * synced commit per run: committed before the loop waits if few came
   * (one pushed item costs what it did), else once it holds
   * DEFER_MAX_ITEMS or is DEFER_MAX_MS old (a catch-up: a few commits a
   * second rather than hundreds). */
  uv_prepare_t prepare;
  size_t deferred_items;
  uint64_t deferred_since; /* loop time of its first run */
  int open_handles;        /* timer, prepare: freed when both are closed */
  bool reload;             /* engine_reload failed: try again */
};

/* At most this many items, or this old, in the deferred transaction. */
#define DEFER_MAX_ITEMS 16384
#define DEFER_MAX_MS 100
/* Fewer items than this are committed before the loop waits. */
#define DEFER_LIGHT_ITEMS 64

static void commit_deferred(struct hls_gossipd *gd) {
  struct hls_why why = {{0}};
  size_t n = gd->deferred_items;
  gd->deferred_items = 0;
  if (hls_store_defer_commit(gd->env.store, &why) != 0)
    hls_log_error("items_commit_failed", "items=%zu detail=\"%s\" action=refetched_from_peers", n, why.text);
}

static void engine_reload(struct hls_gossipd *gd);

static void before_poll(uv_prepare_t *p) {
  struct hls_gossipd *gd = p->data;
  if (gd->reload || hls_store_deferred_lost(gd->env.store)) engine_reload(gd);
  if (!hls_store_deferred(gd->env.store)) return;
  if (gd->deferred_items < DEFER_LIGHT_ITEMS || uv_now(gd->env.loop) - gd->deferred_since >= DEFER_MAX_MS)
    commit_deferred(gd);
  /* else the gossip timer (every 100 ms at most) commits it */
}

static struct gsess *find_conn(struct hls_gossipd *gd, const struct hls_conn *c) {
  for (size_t i = 0; i < gd->n_sess; i++)
    if (gd->sess[i].conn == c) return &gd->sess[i];
  return NULL;
}

static void fmt_id(const uint8_t pk[32], char out[HLS_NODEID_TEXT_SIZE]) { hls_nodeid_format(pk, out); }

/* --- engine actions ------------------------------------------------------------- */

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct hls_gossipd *gd = ctx;
  struct hls_why why = {{0}};
  char id[HLS_NODEID_TEXT_SIZE];
  int rc = 0;
  switch (a->type) {
  case HLS_GA_SEND: {
    struct gsess *gs = find_conn(gd, a->session_ctx);
    if (gs == NULL || gs->doomed) return 0;
    if (hls_conn_send(gs->conn, a->frame, a->frame_len) != 0) gs->doomed = true;
    return 0;
  }
  case HLS_GA_STORE: {
    if (!hls_store_deferred(gd->env.store)) gd->deferred_items = 0, gd->deferred_since = uv_now(gd->env.loop);
    rc = hls_gstore_put_run(gd->gs, a->envs, a->states, a->n, gd->env.now_ms(gd->env.ctx), &why);
    if (rc == 0 && (gd->deferred_items += a->n) >= DEFER_MAX_ITEMS) commit_deferred(gd);
    bool own = memcmp(a->envs[0].h.origin, gd->env.self, 32) == 0;
    struct hls_gstore_counts *counts = own ? &gd->own : &gd->others;
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
      counts->items++;
      if (a->states[i] == HLS_BODY_HELD) counts->held++;
      else counts->stubs++;
      if (a->states[i] == HLS_BODY_HELD) gd->env.item_held(gd->env.ctx, &a->envs[i]);
    }
    /* This node's own items, back from a peer after its store was lost or
     * restored (node.c: the chain's recovery). */
    if (rc == 0 && own) gd->env.own_items_arrived(gd->env.ctx);
    for (size_t i = 0; rc == 0 && gd->env.netkeys != NULL && i < a->n; i++)
      if (a->envs[i].h.type == HLS_ENV_REKEY && a->states[i] == HLS_BODY_HELD)
        hls_netkeys_rekey_item(gd->env.netkeys, &a->envs[i]);
    break;
  }
  case HLS_GA_BODY: {
    bool changed = false;
    rc = hls_gstore_put_body(gd->gs, &a->envs[0], &changed, &why);
    if (rc == 0 && changed) gd->others.stubs--, gd->others.held++;
    if (rc == 0 && changed) gd->env.item_held(gd->env.ctx, &a->envs[0]);
    break;
  }
  case HLS_GA_ERASE: {
    int was = hls_gstore_state(gd->gs, a->origin, a->seq);
    bool owed = false;
    rc = hls_gstore_erase(gd->gs, a->origin, a->seq, (int64_t)a->timestamp_ms, gd->env.now_ms(gd->env.ctx), &owed,
                          &why);
    if (rc == 0 && (was == HLS_BODY_HELD || was == HLS_BODY_STUB)) {
      if (was == HLS_BODY_HELD) gd->others.held--;
      else gd->others.stubs--;
      gd->others.erased++;
    }
    if (rc == 0) gd->env.item_erased(gd->env.ctx, a->origin, a->seq, owed);
    if (rc == 0) {
      fmt_id(a->origin, id);
      hls_log_counted_info("item_erased", "origin=%s seq=%llu", id, (unsigned long long)a->seq);
    }
    break;
  case HLS_GA_FORK: {
    struct hls_gstore_fork_report report = {.report_seq = a->report_seq};
    if (a->reporter != NULL) memcpy(report.reporter, a->reporter, 32);
    rc = hls_gstore_fork_put(gd->gs, a->origin, a->seq, a->ours, a->ours_len, a->theirs, a->theirs_len,
                             a->reporter != NULL ? &report : NULL, gd->env.now_ms(gd->env.ctx), &why);
    if (rc == 0 && a->reporter == NULL) {
      fmt_id(a->origin, id);
      hls_log_counted_warn("fork_detected", "origin=%s seq=%llu action=stopped_following detail=\"two signed items with one "
                   "seq; evidence kept (hls status) and reported\"", id, (unsigned long long)a->seq);
      if (gd->env.fork_found != NULL) gd->env.fork_found(gd->env.ctx);
    } else if (rc == 0) {
      char by[HLS_NODEID_TEXT_SIZE];
      fmt_id(a->origin, id);
      fmt_id(a->reporter, by);
      hls_log_counted_warn("fork_reported", "origin=%s seq=%llu reporter=%s report_seq=%llu action=stopped_following "
                   "detail=\"another node's fork item; its evidence verified (hls status)\"", id,
                   (unsigned long long)a->seq, by, (unsigned long long)a->report_seq);
    }
    break;
  }
  case HLS_GA_DIAL:
    if (gd->n_dials < MAX_PENDING_DIALS) {
      memcpy(gd->dials[gd->n_dials].pk, a->origin, 32);
      snprintf(gd->dials[gd->n_dials].address, sizeof gd->dials[0].address, "%s", a->address);
      gd->n_dials++;
    }
    return 0;
  }
  default:
    return HLS_EINTERNAL;
  }
  if (rc != 0) hls_log_error("gossip_store_failed", "error=%s detail=\"%s\"", hls_err_name(rc), why.text);
  return rc;
}

static bool is_direct_peer(void *ctx, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  return gd->env.peers != NULL && hls_peers_is_listed(gd->env.peers, pk);
}

/* The engine's store: reads through gstore, direct peers from the peer
 * table. */
static int st_get(void *ctx, const uint8_t origin[32], uint64_t seq, struct hls_gossip_item *out) {
  struct hls_gossipd *gd = ctx;
  return hls_gstore_get(gd->gs, origin, seq, out);
}

static bool st_may_rekey(void *ctx, const uint8_t origin[32]) {
  struct hls_gossipd *gd = ctx;
  return gd->env.netkeys != NULL && hls_netkeys_is_steward(gd->env.netkeys, origin);
}

static bool st_admit_origin(void *ctx, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  return gd->env.peers == NULL || hls_peers_admit_origin(gd->env.peers, pk);
}

static int st_successor_seq(void *ctx, const uint8_t origin[32], uint64_t *seq) {
  struct hls_gossipd *gd = ctx;
  return hls_store_successor_seq(gd->env.store, origin, seq, NULL);
}

static int st_stubs(void *ctx, const uint8_t origin[32], uint64_t after, uint64_t *seqs, size_t max, size_t *n) {
  struct hls_gossipd *gd = ctx;
  return hls_gstore_stubs(gd->gs, origin, after, seqs, max, n);
}

/* --- peer session hooks --------------------------------------------------------- */

static void on_open(void *ctx, struct hls_conn *c, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  if (gd->n_sess == gd->cap_sess) {
    size_t cap = gd->cap_sess ? gd->cap_sess * 2 : 16;
    struct gsess *s = realloc(gd->sess, cap * sizeof *s);
    if (s == NULL) {
      hls_conn_close(c, "out_of_memory");
      return;
    }
    gd->sess = s;
    gd->cap_sess = cap;
  }
  struct gsess *gs = &gd->sess[gd->n_sess++];
  memset(gs, 0, sizeof *gs);
  gs->conn = c;
  memcpy(gs->pk, pk, 32);
  /* A node redeeming an invite sends REDEEM right after its hello, before
   * the engine's first VECTOR (docs/protocol.md 7.1). */
  hls_invites_session_open(gd->env.invites, c, pk);
  /* A rotated network key goes to every peer the rotation did not expel. */
  if (gd->env.netkeys != NULL) hls_netkeys_session_open(gd->env.netkeys, c, pk);
  int rc = hls_gossip_connected(gd->g, pk, c, &gs->s);
  if (rc != 0) {
    hls_log_error("gossip_session_failed", "error=%s", hls_err_name(rc));
    gs->doomed = true;
  }
}

static int on_frame(void *ctx, struct hls_conn *c, const uint8_t pk[32], const uint8_t *payload, size_t len,
                    struct hls_why *why) {
  struct hls_gossipd *gd = ctx;
  struct gsess *gs = find_conn(gd, c);
  if (gs == NULL || gs->doomed || gs->s == NULL) return 0;
  int type, rc;
  if (gd->env.invites != NULL && hls_frame_type(payload, len, &type) == 0 &&
      (type == HLS_FRAME_REDEEM || type == HLS_FRAME_REDEEMED)) {
    rc = hls_invites_frame(gd->env.invites, c, pk, type, payload, len, why);
    if (rc != 0 && hls_gossip_peer_fault(rc)) hls_peers_violation(gd->env.peers, pk, hls_err_name(rc));
    return rc;
  }
  if (gd->env.netkeys != NULL && hls_frame_type(payload, len, &type) == 0 && type == HLS_FRAME_NETKEY) {
    rc = hls_netkeys_frame(gd->env.netkeys, c, pk, payload, len, why);
    if (rc != 0 && hls_gossip_peer_fault(rc)) hls_peers_violation(gd->env.peers, pk, hls_err_name(rc));
    return rc;
  }
  rc = hls_gossip_frame(gd->g, gs->s, payload, len, why);
  if (rc != 0 && hls_gossip_peer_fault(rc)) hls_peers_violation(gd->env.peers, pk, hls_err_name(rc));
  return rc;
}

static void on_close(void *ctx, struct hls_conn *c, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  hls_invites_session_closed(gd->env.invites, pk);
  if (gd->env.netkeys != NULL) hls_netkeys_session_closed(gd->env.netkeys, c);
  struct gsess *gs = find_conn(gd, c);
  if (gs == NULL) return;
  hls_gossip_disconnected(gd->g, gs->s);
  *gs = gd->sess[--gd->n_sess];
}

static const char *refuse(void *ctx, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  return gd->env.netkeys != NULL ? hls_netkeys_refuse(gd->env.netkeys, pk) : NULL;
}

static void hello_unanswered(void *ctx, const uint8_t pk[32]) {
  struct hls_gossipd *gd = ctx;
  if (gd->env.netkeys != NULL) hls_netkeys_hello_unanswered(gd->env.netkeys, pk);
}

/* --- timer ------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t) {
  struct hls_gossipd *gd = t->data;
  hls_log_flush(false);
  if (hls_store_deferred(gd->env.store) && uv_now(gd->env.loop) - gd->deferred_since >= DEFER_MAX_MS)
    commit_deferred(gd);
  if (gd->env.netkeys != NULL) hls_netkeys_tick(gd->env.netkeys);
  int rc = hls_gossip_tick(gd->g, (uint64_t)gd->env.now_ms(gd->env.ctx));
  if (rc != 0) hls_log_error("gossip_tick_failed", "error=%s", hls_err_name(rc));
  /* Doomed sessions: closing runs on_close, which edits the array. */
  struct hls_conn *doomed[16];
  size_t nd = 0;
  for (size_t i = 0; i < gd->n_sess && nd < 16; i++)
    if (gd->sess[i].doomed) doomed[nd++] = gd->sess[i].conn;
  for (size_t i = 0; i < nd; i++) hls_conn_close(doomed[i], "slow_reader");
  size_t n = gd->n_dials;
  gd->n_dials = 0;
  for (size_t i = 0; i < n && gd->env.peers; i++) hls_peers_learn(gd->env.peers, gd->dials[i].pk, gd->dials[i].address);
}

/* --- start / stop ------------------------------------------------------------------- */

/* ctx: the engine being loaded. */
static int load_one(void *ctx, const uint8_t origin[32], uint64_t head, const uint8_t head_id[32], bool forked,
                    const struct hls_profile *profile) {
  return hls_gossip_load_origin(ctx, origin, head, head_id, forked, profile);
}

/* A blocked node's chain: refused from every peer, never relayed; said
 * once in the log, not for every item refused. */
static void on_block(void *ctx, const uint8_t pk[32], bool blocked) {
  struct hls_gossipd *gd = ctx;
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pk, id);
  int rc = hls_gossip_block(gd->g, pk, blocked);
  if (rc != 0)
    hls_log_error("origin_block_failed", "origin=%s blocked=%d error=%s", id, blocked, hls_err_name(rc));
  else
    hls_log_info(blocked ? "origin_blocked" : "origin_unblocked", "origin=%s detail=\"%s\"", id,
                 blocked ? "its items are refused from every peer and not relayed" : "its items are taken again");
}

/* A blocked node moved to a new key (its successor, checked, among its
 * items refused): the block passes on (hls_peers_succeed), as it does for
 * a successor held. */
static void st_blocked_successor(void *ctx, const uint8_t origin[32], const uint8_t new_id[32]) {
  struct hls_gossipd *gd = ctx;
  char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(origin, from);
  hls_nodeid_format(new_id, to);
  hls_log_info("blocked_successor_seen", "old=%s new=%s detail=\"a blocked node moved to a new key\"", from, to);
  if (gd->env.peers != NULL) hls_peers_succeed(gd->env.peers, origin, new_id);
}

/* ctx: the engine being loaded; a blocked node's chain is refused by it
 * as by the one it replaces (logged when it was blocked). */
static void block_again(void *ctx, const uint8_t pk[32]) {
  struct hls_gossip *g = ctx;
  int rc = hls_gossip_block(g, pk, true);
  if (rc != 0) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(pk, id);
    hls_log_error("origin_block_failed", "origin=%s blocked=1 error=%s", id, hls_err_name(rc));
  }
}

/* A gossip engine loaded with the chains the store holds, the blocks of
 * the peer table, and the counts. The blocks matter to an engine built
 * again (this node's new key, the store's lost items): without them it
 * would take a blocked node's items until the next start. */
static int engine_load(struct hls_gossipd *gd, struct hls_gossip **out, struct hls_why *why) {
  struct hls_gossip_config cfg;
  hls_gossip_config_init(&cfg, gd->env.self);
  const struct hls_config *c = gd->env.config;
  cfg.target_connections = (uint32_t)c->gossip_connections;
  cfg.vector_interval_ms = (uint64_t)c->gossip_interval_ms;
  cfg.window = (uint32_t)c->gossip_window;
  cfg.batch_items = (uint32_t)c->gossip_batch_items;
  cfg.max_origins = (uint32_t)c->gossip_max_origins;
  /* A batch stays well inside a frame (a quarter of max_frame, and one
   * envelope, up to HLS_ENV_MAX_BYTES, more), and a full window of them
   * in half the write queue, so a session never outgrows its queue. */
  int64_t bb = c->max_frame / 4, by_queue = c->write_queue / (2 * c->gossip_window);
  if (bb > by_queue) bb = by_queue;
  if (bb < 16 * 1024) bb = 16 * 1024;
  cfg.batch_bytes = (uint32_t)bb;
  cfg.redial_after_ms = (uint64_t)c->reconnect_max_ms;
  randombytes_buf(&cfg.seed, sizeof cfg.seed);
  struct hls_gossip_store st = {.ctx = gd, .get = st_get, .stubs = st_stubs, .is_direct_peer = is_direct_peer,
                                .admit_origin = st_admit_origin, .may_rekey = st_may_rekey,
                                .successor_seq = st_successor_seq, .blocked_successor = st_blocked_successor};
  struct hls_gossip *g = NULL;
  int rc = hls_gossip_new(&g, &cfg, &st, emit, gd);
  if (rc == 0) rc = hls_gstore_each_origin(gd->gs, load_one, g, why);
  if (rc == 0 && gd->env.peers != NULL) hls_peers_each_blocked(gd->env.peers, block_again, g);
  if (rc == 0) rc = hls_gstore_counts(gd->gs, &gd->others, why);
  if (rc == 0) rc = hls_gstore_origin_counts(gd->gs, gd->env.self, &gd->own, why);
  if (rc == 0) {
    gd->others.items -= gd->own.items, gd->others.held -= gd->own.held;
    gd->others.stubs -= gd->own.stubs, gd->others.erased -= gd->own.erased;
  }
  if (rc != 0) {
    hls_gossip_free(g);
    g = NULL;
  }
  *out = g;
  return rc;
}

/* Tell the engine every session is gone, then close them (why: the
 * reason logged): the engine is about to be rebuilt. */
static void close_sessions(struct hls_gossipd *gd, const char *why) {
  for (size_t i = 0; i < gd->n_sess; i++) hls_gossip_disconnected(gd->g, gd->sess[i].s);
  struct hls_conn *conns[64];
  while (gd->n_sess > 0) {
    size_t n = gd->n_sess < 64 ? gd->n_sess : 64;
    for (size_t i = 0; i < n; i++) conns[i] = gd->sess[gd->n_sess - 1 - i].conn;
    gd->n_sess -= n; /* forgotten by the engine above: on_close finds nothing */
    for (size_t i = 0; i < n; i++) hls_conn_close(conns[i], why);
  }
}
/* The store lost items the engine counts as held (a deferred commit
 * failed): end every session and load the engine again from the store,
 * so that this node's vectors say what it really holds and its peers send
 * the rest again when they reconnect. */
static void engine_reload(struct hls_gossipd *gd) {
  struct hls_why why = {{0}};
  hls_log_error("gossip_items_lost", "detail=\"the store did not keep the items of the last moment\" "
                "action=reloading_chains_from_store");
  close_sessions(gd, "store_failed");
  struct hls_gossip *g = NULL;
  if (engine_load(gd, &g, &why) != 0) {
    hls_log_error("gossip_reload_failed", "detail=\"%s\" action=retrying", why.text);
    gd->reload = true;
    return;
  }
  hls_gossip_free(gd->g);
  gd->g = g;
  gd->reload = false;
}

int hls_gossipd_start(struct hls_gossipd **out, const struct hls_gossipd_env *env, struct hls_why *why) {
  *out = NULL;
  struct hls_gossipd *gd = calloc(1, sizeof *gd);
  if (gd == NULL) return HLS_ENOMEM;
  gd->env = *env;
  int rc = hls_gstore_open(&gd->gs, env->store, why);
  if (rc != 0) {
    free(gd);
    return rc;
  }
  const struct hls_config *c = env->config;
  struct hls_gossip *g = NULL;
  rc = engine_load(gd, &g, why);
  gd->g = g;
  if (rc != 0) {
    hls_gstore_free(gd->gs);
    free(gd);
    return rc == HLS_ENOMEM ? rc : hls_why_set(why, rc, "gossip: loading the chains held: %s", hls_err_name(rc));
  }
  uv_timer_init(env->loop, &gd->timer);
  gd->timer.data = gd;
  uint64_t every = (uint64_t)c->gossip_interval_ms < 100 ? (uint64_t)c->gossip_interval_ms : 100;
  uv_timer_start(&gd->timer, on_timer, every, every);
  uv_prepare_init(env->loop, &gd->prepare);
  gd->prepare.data = gd;
  uv_prepare_start(&gd->prepare, before_poll);
  gd->open_handles = 2;
  struct hls_peer_hooks hooks = {.on_open = on_open, .on_frame = on_frame, .on_close = on_close, .on_block = on_block,
                                 .refuse = refuse, .hello_unanswered = hello_unanswered, .ctx = gd};
  hls_peers_set_hooks(env->peers, &hooks);
  *out = gd;
  return 0;
}

static void timer_closed(uv_handle_t *h) {
  struct hls_gossipd *gd = h->data;
  if (--gd->open_handles > 0) return;
  hls_gossip_free(gd->g);
  hls_gstore_free(gd->gs);
  free(gd->sess);
  free(gd);
}

void hls_gossipd_rekey(struct hls_gossipd *gd) {
  if (hls_store_deferred(gd->env.store)) commit_deferred(gd);
  close_sessions(gd, "identity_rotated");
  struct hls_gossip *g = NULL;
  struct hls_why why = {{0}};
  if (engine_load(gd, &g, &why) != 0) {
    hls_log_error("gossip_reload_failed", "detail=\"%s\" action=retrying", why.text);
    gd->reload = true;
    return;
  }
  hls_gossip_free(gd->g);
  gd->g = g;
  gd->reload = false;
}

void hls_gossipd_close(struct hls_gossipd *gd) {
  if (gd == NULL) return;
  /* The sessions end with the peers; the engine forgets them now. */
  for (size_t i = 0; i < gd->n_sess; i++) hls_gossip_disconnected(gd->g, gd->sess[i].s);
  gd->n_sess = 0;
  struct hls_peer_hooks none = {0};
  if (gd->env.peers) hls_peers_set_hooks(gd->env.peers, &none);
  if (hls_store_deferred(gd->env.store)) commit_deferred(gd);
  uv_close((uv_handle_t *)&gd->timer, timer_closed);
  uv_close((uv_handle_t *)&gd->prepare, timer_closed);
}

static void push_signed(struct hls_gossipd *gd, const uint8_t *self, bool retired);

void hls_gossipd_published(struct hls_gossipd *gd) {
  if (gd == NULL) return;
  struct hls_gstore_counts own;
  if (hls_gstore_origin_counts(gd->gs, gd->env.self, &own, NULL) == 0) gd->own = own;
  push_signed(gd, gd->env.self, false);
}

void hls_gossipd_published_retired(struct hls_gossipd *gd, const uint8_t old_id[32]) {
  if (gd != NULL) push_signed(gd, old_id, true);
}

/* The items of self's chain (this node's, or a key it held before) that
 * the store holds past the engine's head: to the engine, and pushed. */
static void push_signed(struct hls_gossipd *gd, const uint8_t *self, bool retired) {
  uint64_t have = hls_gossip_head(gd->g, self), head = 0;
  uint8_t id[32];
  if (hls_store_chain_head(gd->env.store, self, &head, id, NULL) != 0) return;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  for (uint64_t q = have + 1; q <= head; q++) {
    struct hls_item it;
    struct hls_why why = {{0}};
    int rc = hls_store_item_get(gd->env.store, self, q, &it, &why);
    if (rc == 0) {
      sb.size = 0;
      msgpack_sbuffer_write(&sb, (const char *)it.stub, it.stub_len - 1);
      if (it.body != NULL) msgpack_sbuffer_write(&sb, (const char *)it.body, it.body_len);
      else msgpack_sbuffer_write(&sb, "\xc0", 1);
      rc = retired ? hls_gossip_retired_item(gd->g, (const uint8_t *)sb.data, sb.size, &why)
                   : hls_gossip_local_item(gd->g, (const uint8_t *)sb.data, sb.size, &why);
      struct hls_envelope env;
      struct hls_why ignore;
      if (rc == 0 && hls_env_decode(&env, (const uint8_t *)sb.data, sb.size, &ignore) == 0)
        gd->env.item_held(gd->env.ctx, &env);
      hls_item_clear(&it);
    }
    if (rc != 0) {
      hls_log_error("gossip_publish_failed", "seq=%llu error=%s detail=\"%s\"", (unsigned long long)q,
                    hls_err_name(rc), why.text);
      break;
    }
  }
  msgpack_sbuffer_destroy(&sb);
}

/* --- status -------------------------------------------------------------------------- */

struct heads_ctx {
  msgpack_packer *pk;
  int rc;
};

static void pack_head(void *ctx, const struct hls_gossip_origin_info *o) {
  struct heads_ctx *h = ctx;
  char id[HLS_NODEID_TEXT_SIZE];
  if (h->rc != 0) return;
  fmt_id(o->origin, id);
  if (msgpack_pack_map(h->pk, 4) != 0 || hls_mp_pack_kv_str(h->pk, "origin", id) != 0 ||
      hls_mp_pack_kv_i64(h->pk, "head", (int64_t)o->head) != 0 ||
      hls_mp_pack_kv_i64(h->pk, "behind", o->forked || o->best_seen <= o->head ? 0 : (int64_t)(o->best_seen - o->head)) !=
          0 ||
      hls_mp_pack_kv_bool(h->pk, "forked", o->forked) != 0)
    h->rc = HLS_ENOMEM;
}

/* A fork in hls status: who reported it ("this node", or the reporting
 * node and its place name when its profile is held) and when. */
struct fork_pack_ctx {
  msgpack_packer *pk;
  struct hls_gossipd *gd;
};

static int pack_fork(void *ctx, const uint8_t origin[32], uint64_t seq, int64_t found_ms,
                     const struct hls_gstore_fork_report *report) {
  struct fork_pack_ctx *fc = ctx;
  msgpack_packer *pk = fc->pk;
  char id[HLS_NODEID_TEXT_SIZE], by[HLS_NODEID_TEXT_SIZE], when[21];
  fmt_id(origin, id);
  hls_time_format(found_ms, when);
  struct hls_profile prof;
  bool has_place = false;
  if (report != NULL) {
    int rc = hls_gstore_profile(fc->gd->gs, report->reporter, &prof, &has_place, NULL);
    if (rc != 0) return rc;
  }
  if (msgpack_pack_map(pk, report != NULL ? 7 : 5) != 0 || hls_mp_pack_kv_str(pk, "origin", id) != 0 ||
      hls_mp_pack_kv_i64(pk, "seq", (int64_t)seq) != 0 || hls_mp_pack_kv_str(pk, "found_at", when) != 0 ||
      hls_mp_pack_kv_bool(pk, "found_here", report == NULL) != 0)
    return HLS_ENOMEM;
  if (report == NULL) return hls_mp_pack_kv_str(pk, "reported_by", "this node") != 0 ? HLS_ENOMEM : 0;
  fmt_id(report->reporter, by);
  if (hls_mp_pack_kv_str(pk, "reported_by", by) != 0 ||
      hls_mp_pack_kv_i64(pk, "report_seq", (int64_t)report->report_seq) != 0 ||
      hls_mp_pack_kv_str(pk, "reporter_place", has_place ? prof.place : "") != 0)
    return HLS_ENOMEM;
  return 0;
}

static int count_fork(void *ctx, const uint8_t origin[32], uint64_t seq, int64_t found_ms,
                      const struct hls_gstore_fork_report *report) {
  (void)origin, (void)seq, (void)found_ms, (void)report;
  (*(uint32_t *)ctx)++;
  return 0;
}

#define PACK(x)                        \
  do {                                 \
    if ((x) != 0) return HLS_ENOMEM;   \
  } while (0)

int hls_gossipd_pack_status(struct hls_gossipd *gd, msgpack_packer *pk, struct hls_why *why) {
  struct hls_gstore_counts counts = {
      .items = gd->others.items + gd->own.items, .held = gd->others.held + gd->own.held,
      .stubs = gd->others.stubs + gd->own.stubs, .erased = gd->others.erased + gd->own.erased};
  int rc;
  struct hls_gossip_stats st;
  hls_gossip_get_stats(gd->g, &st);
  uint32_t n_forks = 0;
  rc = hls_gstore_each_fork(gd->gs, count_fork, &n_forks, why);
  if (rc != 0) return rc;
  PACK(msgpack_pack_map(pk, 18));
  PACK(hls_mp_pack_kv_i64(pk, "chains", (int64_t)st.origins));
  PACK(hls_mp_pack_kv_i64(pk, "items", counts.items));
  PACK(hls_mp_pack_kv_i64(pk, "bodies_held", counts.held));
  PACK(hls_mp_pack_kv_i64(pk, "stubs", counts.stubs));
  PACK(hls_mp_pack_kv_i64(pk, "erased", counts.erased));
  PACK(hls_mp_pack_kv_i64(pk, "sessions", (int64_t)st.sessions));
  PACK(hls_mp_pack_kv_i64(pk, "behind", (int64_t)st.behind));
  PACK(hls_mp_pack_kv_bool(pk, "syncing", st.behind > 0 || st.vectors_pending > 0));
  PACK(hls_mp_pack_kv_i64(pk, "vectors_pending", (int64_t)st.vectors_pending));
  PACK(hls_mp_pack_kv_i64(pk, "peers_connecting",
                          gd->env.peers != NULL ? (int64_t)hls_peers_connecting(gd->env.peers) : 0));
  PACK(hls_mp_pack_kv_i64(pk, "items_received", (int64_t)st.items_received));
  PACK(hls_mp_pack_kv_i64(pk, "items_duplicate", (int64_t)st.items_duplicate));
  PACK(hls_mp_pack_kv_i64(pk, "items_sent", (int64_t)st.items_sent));
  PACK(hls_mp_pack_kv_i64(pk, "signature_checks", (int64_t)st.verifications));
  PACK(hls_mp_pack_kv_i64(pk, "origins_refused", (int64_t)st.origins_refused));
  PACK(hls_mp_pack_kv_i64(pk, "items_blocked", (int64_t)st.items_blocked));
  PACK(hls_mp_pack_cstr(pk, "forks"));
  PACK(msgpack_pack_array(pk, n_forks));
  struct fork_pack_ctx fc = {.pk = pk, .gd = gd};
  rc = hls_gstore_each_fork(gd->gs, pack_fork, &fc, why);
  if (rc != 0) return rc;
  PACK(hls_mp_pack_cstr(pk, "heads"));
  PACK(msgpack_pack_array(pk, (uint32_t)st.origins));
  struct heads_ctx h = {.pk = pk};
  hls_gossip_each_origin(gd->g, pack_head, &h);
  return h.rc;
}

/* --- import (hls import-items) ------------------------------------------------------ */

int hls_gossipd_import(struct hls_gossipd *gd, const struct hls_envelope *envs, size_t n,
                       struct hls_gossip_import_result *res, struct hls_why *why) {
  return hls_gossip_import(gd->g, envs, n, res, why);
}
