#include "peers.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "mp.h"
#include "net.h"
#include "nodeid.h"

struct peer {
  struct hls_peer_row row; /* what the store keeps */
  struct hls_conn *conn;    /* the open session, if any */
  struct hls_conn *dialing; /* an outbound attempt in progress */
  int64_t next_dial_ms;     /* wall clock; 0 = as soon as possible */
  int64_t connected_ms;
  int64_t penalty_until_ms; /* after a protocol violation: refused until then */
  bool removed;             /* forgotten while a connection still ends */
  bool dial_once;           /* learnt by peer exchange: one attempt */
  /* New chains it brought in the current hour (gossip.new_origins_per_hour). */
  int64_t origins_window_ms;
  int64_t origins_in_window;
  bool origins_violation; /* counted once per window */
  /* Blocked because the key it succeeds (succ_of) was: unblocked with it
   * (kept while hlsd runs; after a restart the successors held say). */
  bool succ_blocked;
  uint8_t succ_of[32];
};

struct hls_peers {
  struct hls_peers_env env;
  struct hls_net *net;
  uv_timer_t dial_timer;
  struct peer **peers; /* owned */
  size_t n, cap;
  struct hls_peer_hooks hooks;
  bool closing;
  /* Successions to apply (hls_peers_succeed), on the dial timer: they may
   * close sessions, and they are learnt inside a session's frame. */
  struct succession {
    uint8_t old_id[32], new_id[32];
  } *succ_q;
  size_t n_succ, cap_succ;
};

static int64_t now_ms(const struct hls_peers *p) { return p->env.now_ms(p->env.clock); }

/* --- the table ---------------------------------------------------------------------- */

static struct peer *find(const struct hls_peers *p, const uint8_t pk[32]) {
  for (size_t i = 0; i < p->n; i++)
    if (memcmp(p->peers[i]->row.node_id, pk, 32) == 0) return p->peers[i];
  return NULL;
}

static struct peer *add_peer(struct hls_peers *p, const uint8_t pk[32]) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    struct peer **q = realloc(p->peers, cap * sizeof *q);
    if (q == NULL) return NULL;
    p->peers = q;
    p->cap = cap;
  }
  struct peer *peer = calloc(1, sizeof *peer);
  if (peer == NULL) return NULL;
  memcpy(peer->row.node_id, pk, 32);
  peer->row.added_ms = now_ms(p);
  p->peers[p->n++] = peer;
  return peer;
}

/* Listed by this node's admin (hls peer add): trusted to keep its session. */
static bool listed(const struct peer *peer) { return peer != NULL && peer->row.admin && !peer->removed; }

/* A removed peer met again (inbound, or added or blocked by an admin)
 * starts afresh: the store forgot it, so does the table. */
static void revive(struct hls_peers *p, struct peer *peer) {
  if (!peer->removed) return;
  struct hls_peer_row fresh = {0};
  memcpy(fresh.node_id, peer->row.node_id, 32);
  fresh.added_ms = now_ms(p);
  peer->row = fresh;
  peer->removed = false;
}

static void drop_peer(struct hls_peers *p, struct peer *peer) {
  for (size_t i = 0; i < p->n; i++)
    if (p->peers[i] == peer) {
      p->peers[i] = p->peers[--p->n];
      break;
    }
  free(peer);
}

static void save(struct hls_peers *p, struct peer *peer) {
  struct hls_why why = {{0}};
  if (peer->removed) return;
  int rc = hls_store_peer_put(p->env.store, &peer->row, &why);
  if (rc != 0) hls_log_error("peer_save_failed", "error=%s detail=\"%s\"", hls_err_name(rc), why.text);
}

/* --- dialling ------------------------------------------------------------------------- */

/* Back-off after a failure: reconnect_min doubled per failure, capped at
 * reconnect_max, times a jitter in [0.5, 1.5) so peers do not retry in
 * step. */
static int64_t backoff_ms(const struct hls_peers *p, int64_t failures) {
  int64_t lo = p->env.config->reconnect_min_ms, hi = p->env.config->reconnect_max_ms;
  int64_t d = lo;
  for (int64_t i = 1; i < failures && d < hi; i++) d *= 2;
  if (d > hi) d = hi;
  uint32_t r = randombytes_uniform(1000);
  return d / 2 + d * (int64_t)r / 1000;
}

static bool dialable(const struct hls_peers *p, const struct peer *peer) {
  return !peer->removed && !peer->row.blocked && (peer->row.admin || peer->dial_once) &&
         peer->row.address[0] != '\0' && peer->conn == NULL && peer->dialing == NULL &&
         peer->penalty_until_ms <= now_ms(p);
}

static void dial(struct hls_peers *p, struct peer *peer) {
  struct hls_hostport hp;
  peer->dial_once = false;
  struct hls_why why = {{0}};
  if (hls_hostport_parse(peer->row.address, &hp, true, false, &why) != 0) return;
  peer->dialing = hls_net_dial(p->net, hp.host, hp.port, peer->row.node_id, &why);
  if (peer->dialing == NULL) peer->next_dial_ms = now_ms(p) + backoff_ms(p, 1);
}

static void dial_due(struct hls_peers *p) {
  int64_t now = now_ms(p);
  for (size_t i = 0; i < p->n && !p->closing; i++) {
    struct peer *peer = p->peers[i];
    if (dialable(p, peer) && peer->next_dial_ms <= now) dial(p, peer);
  }
}

/* Removed peers whose connections have all ended are freed here, outside
 * any net callback. */
static void sweep_removed(struct hls_peers *p) {
  for (size_t i = 0; i < p->n;) {
    struct peer *peer = p->peers[i];
    if (peer->removed && peer->conn == NULL && peer->dialing == NULL)
      drop_peer(p, peer); /* moves the last entry into slot i */
    else
      i++;
  }
}

/* Unlisted peers' sessions that carried no gossip for network.idle_timeout
 * give their slot back. */
static void close_idle(struct hls_peers *p) {
  struct hls_conn *idle[32];
  size_t n = 0;
  for (size_t i = 0; i < p->n && n < sizeof idle / sizeof idle[0]; i++) {
    struct peer *peer = p->peers[i];
    if (peer->conn != NULL && !listed(peer) && hls_conn_idle_ms(peer->conn) >= p->env.config->idle_timeout_ms)
      idle[n++] = peer->conn;
  }
  for (size_t i = 0; i < n; i++) hls_conn_close(idle[i], "idle_session");
}

static void succeed_step(void *ctx, const uint8_t old_id[32], const uint8_t new_id[32]);

static void on_dial_timer(uv_timer_t *t) {
  struct hls_peers *p = t->data;
  for (size_t i = 0; i < p->n_succ; i++) {
    struct succession q = p->succ_q[i];
    hls_store_succession_walk(p->env.store, q.old_id, q.new_id, succeed_step, p);
  }
  p->n_succ = 0;
  sweep_removed(t->data);
  close_idle(t->data);
  dial_due(t->data);
}

/* --- net callbacks ----------------------------------------------------------------------- */

static const char *allow(void *ctx, const uint8_t pk[32], bool inbound) {
  struct hls_peers *p = ctx;
  struct peer *peer = find(p, pk);
  if (peer != NULL && peer->row.blocked) return "blocked";
  const char *refused = p->hooks.refuse != NULL ? p->hooks.refuse(p->hooks.ctx, pk) : NULL;
  if (refused != NULL) return refused;
  if (peer != NULL && peer->penalty_until_ms > now_ms(p)) return "backed_off";
  if (inbound && p->env.config->accept == HLS_ACCEPT_LISTED && !listed(peer)) return "not_listed";
  /* Session slots, once the identity is known. A second session of a
   * connected peer replaces its first, so takes no slot. Outbound sessions
   * are this node's own choice (dial limits keep them in bounds). */
  if (inbound && (peer == NULL || peer->conn == NULL)) {
    int sessions = 0, unlisted = 0;
    for (size_t i = 0; i < p->n; i++)
      if (p->peers[i]->conn != NULL) {
        sessions++;
        if (!listed(p->peers[i])) unlisted++;
      }
    const struct hls_config *c = p->env.config;
    if (sessions >= c->max_connections) return "too_many_connections";
    if (!listed(peer) && unlisted >= c->max_connections - c->reserved_for_listed) return "reserved_for_listed";
  }
  return NULL;
}

/* One session per peer. With two (both dialled at once), both sides keep
 * the one dialled by the node with the smaller key. */
static bool preferred(const struct hls_peers *p, struct hls_conn *c, const uint8_t remote[32]) {
  const uint8_t *dialer = hls_conn_inbound(c) ? remote : p->env.identity->public_key;
  const uint8_t *listener = hls_conn_inbound(c) ? p->env.identity->public_key : remote;
  return memcmp(dialer, listener, 32) < 0;
}

static void on_open(void *ctx, struct hls_conn *c) {
  struct hls_peers *p = ctx;
  const uint8_t *pk = hls_conn_remote(c);
  struct peer *peer = find(p, pk);
  if (peer == NULL) {
    peer = add_peer(p, pk); /* met inbound: any member may connect */
    if (peer == NULL) {
      hls_conn_close(c, "out_of_memory");
      return;
    }
  } else {
    revive(p, peer); /* removed, then met again inbound: not listed */
  }
  if (peer->dialing == c) peer->dialing = NULL;
  if (peer->conn != NULL && peer->conn != c) {
    if (!preferred(p, c, pk)) {
      /* Never a session: its data stays NULL, so on_close tells no hook. */
      hls_conn_close(c, "duplicate_session");
      return;
    }
    /* The old session ends first, through on_close like any other (its
     * data names the peer, so the hooks hear of it and drop everything
     * they hold for it); only then does the new one take its place. */
    struct hls_conn *old = peer->conn;
    hls_conn_close(old, "duplicate_session");
    if (peer->conn == old) { /* on_close clears it; never two sessions */
      hls_conn_close(c, "internal_error");
      return;
    }
  }
  peer->conn = c;
  hls_conn_set_data(c, peer);
  hls_conn_set_exempt(c, listed(peer));
  peer->connected_ms = now_ms(p);
  peer->row.last_seen_ms = peer->connected_ms;
  peer->row.failures = 0;
  peer->row.last_error[0] = '\0';
  save(p, peer);
  if (p->hooks.on_open) p->hooks.on_open(p->hooks.ctx, c, pk);
}

static int on_frame(void *ctx, struct hls_conn *c, const uint8_t *payload, size_t len, struct hls_why *why) {
  struct hls_peers *p = ctx;
  struct peer *peer = hls_conn_data(c);
  if (peer == NULL) return 0; /* a duplicate on its way out */
  peer->row.last_seen_ms = now_ms(p);
  if (p->hooks.on_frame) return p->hooks.on_frame(p->hooks.ctx, c, peer->row.node_id, payload, len, why);
  return hls_why_set(why, HLS_EUNSUPPORTED, "no gossip on this node yet");
}

static void on_writable(void *ctx, struct hls_conn *c) {
  struct hls_peers *p = ctx;
  struct peer *peer = hls_conn_data(c);
  if (peer != NULL && p->hooks.on_writable) p->hooks.on_writable(p->hooks.ctx, c, peer->row.node_id);
}

/* Ends that are not the peer's failure: a goodbye, or this node's own
 * decision. They do not count in failures or back off. */
static bool clean_end(const char *reason) {
  static const char *const clean[] = {"goodbye",      "shutting_down", "duplicate_session",    "blocked",
                                      "removed",      "not_listed",    "backed_off",           "local_error",
                                      "slow_reader",  "listed",        "too_many_connections", "reserved_for_listed",
                                      "idle_session"};
  for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++)
    if (strcmp(reason, clean[i]) == 0) return true;
  return false;
}

static void on_close(void *ctx, struct hls_conn *c, const uint8_t *remote, bool was_open, const char *reason) {
  struct hls_peers *p = ctx;
  /* A connection's data names its peer exactly while it is that peer's
   * session: set in on_open just before the hooks hear of it, cleared
   * here just after they hear of its end. So each session the hooks saw
   * open, they see close, once, whatever order closes come in. */
  struct peer *peer = hls_conn_data(c);
  bool was_session = peer != NULL;
  if (peer == NULL && remote != NULL) peer = find(p, remote);
  if (peer == NULL) {
    /* An outbound attempt that never proved its identity is still ours. */
    for (size_t i = 0; i < p->n; i++)
      if (p->peers[i]->dialing == c) peer = p->peers[i];
  }
  if (peer == NULL) return;
  if (peer->dialing == c) peer->dialing = NULL;
  if (was_session) {
    if (peer->conn == c) peer->conn = NULL;
    if (p->hooks.on_close) p->hooks.on_close(p->hooks.ctx, c, peer->row.node_id);
    hls_conn_set_data(c, NULL);
  }
  int64_t in = 0, out = 0;
  hls_conn_stats(c, &in, &out);
  peer->row.bytes_in += in;
  peer->row.bytes_out += out;
  int64_t now = now_ms(p);
  if (was_open) peer->row.last_seen_ms = now;
  if (!clean_end(reason)) {
    peer->row.failures++;
    snprintf(peer->row.last_error, sizeof peer->row.last_error, "%s", reason);
    peer->next_dial_ms = now + backoff_ms(p, peer->row.failures);
  } else {
    peer->next_dial_ms = now + backoff_ms(p, 1);
  }
  if (peer->penalty_until_ms > peer->next_dial_ms) peer->next_dial_ms = peer->penalty_until_ms;
  save(p, peer); /* a removed peer is dropped by the next tick, never here:
                   * this runs inside hls_conn_close, and callers still hold it */
}

/* --- start and stop ------------------------------------------------------------------------- */

static int load_one(void *ctx, const struct hls_peer_row *row) {
  struct hls_peers *p = ctx;
  struct peer *peer = add_peer(p, row->node_id);
  if (peer == NULL) return HLS_ENOMEM;
  peer->row = *row;
  return 0;
}

static struct hls_net_options net_options(const struct hls_config *c) {
  struct hls_net_options o = {
      .handshake_timeout_ms = c->handshake_timeout_ms,
      .max_connections = (int)c->max_connections,
      .max_handshakes = (int)c->max_handshakes,
      .max_frame = (size_t)c->max_frame,
      .write_queue = (size_t)c->write_queue,
      .keepalive_ms = c->keepalive_ms,
      .frame_timeout_ms = c->frame_timeout_ms,
      .max_per_address = (int)c->max_per_address,
  };
  snprintf(o.listen, sizeof o.listen, "%s", c->listen);
  return o;
}

static void hello_unanswered(void *ctx, const uint8_t pk[32]) {
  struct hls_peers *p = ctx;
  if (p->hooks.hello_unanswered != NULL) p->hooks.hello_unanswered(p->hooks.ctx, pk);
}

int hls_peers_start(struct hls_peers **out, const struct hls_peers_env *env, struct hls_why *why) {
  *out = NULL;
  struct hls_peers *p = calloc(1, sizeof *p);
  if (p == NULL) return HLS_ENOMEM;
  p->env = *env;
  int rc = hls_store_peer_list(env->store, load_one, p, why);
  struct hls_net_options opt = net_options(env->config);
  static const struct hls_net_callbacks cb = {
      .allow = allow, .on_open = on_open, .on_frame = on_frame, .on_writable = on_writable, .on_close = on_close,
      .hello_unanswered = hello_unanswered};
  if (rc == 0) rc = hls_net_start(&p->net, env->loop, env->identity, env->network_key, &opt, &cb, p, why);
  if (rc != 0) {
    for (size_t i = 0; i < p->n; i++) free(p->peers[i]);
    free(p->peers);
    free(p);
    return rc;
  }
  uv_timer_init(env->loop, &p->dial_timer);
  p->dial_timer.data = p;
  uv_timer_start(&p->dial_timer, on_dial_timer, 0, 1000);
  *out = p;
  return 0;
}

void hls_peers_set_hooks(struct hls_peers *p, const struct hls_peer_hooks *hooks) {
  p->hooks = *hooks;
  if (p->hooks.on_block)
    for (size_t i = 0; i < p->n; i++)
      if (p->peers[i]->row.blocked && !p->peers[i]->removed)
        p->hooks.on_block(p->hooks.ctx, p->peers[i]->row.node_id, true);
}

static void dial_timer_closed(uv_handle_t *h) {
  struct hls_peers *p = h->data;
  for (size_t i = 0; i < p->n; i++) free(p->peers[i]);
  free(p->peers);
  free(p->succ_q);
  free(p);
}

void hls_peers_close(struct hls_peers *p) {
  if (p == NULL) return;
  p->closing = true;
  /* Each close reports through on_close, which saves the counters. */
  hls_net_close(p->net);
  p->net = NULL;
  uv_close((uv_handle_t *)&p->dial_timer, dial_timer_closed);
}

void hls_peers_reload(struct hls_peers *p) {
  struct hls_net_options opt = net_options(p->env.config);
  hls_net_set_options(p->net, &opt);
  /* Under "listed", peers no longer allowed are let go. */
  for (size_t i = 0; i < p->n; i++) {
    struct peer *peer = p->peers[i];
    if (peer->conn && allow(p, peer->row.node_id, hls_conn_inbound(peer->conn)) != NULL)
      hls_conn_close(peer->conn, "not_listed");
  }
}

void hls_peers_set_keys(struct hls_peers *p, const uint8_t key[32], const uint8_t *old) {
  hls_net_set_keys(p->net, key, old);
}

void hls_peers_recheck(struct hls_peers *p) {
  struct hls_conn *gone[64];
  const char *why[64];
  size_t n = 0;
  for (size_t i = 0; i < p->n && n < 64; i++) {
    struct peer *peer = p->peers[i];
    const char *r = peer->conn != NULL ? allow(p, peer->row.node_id, hls_conn_inbound(peer->conn)) : NULL;
    if (r != NULL) {
      gone[n] = peer->conn;
      why[n++] = r;
    }
  }
  for (size_t i = 0; i < n; i++) hls_conn_close(gone[i], why[i]);
}

void hls_peers_rekey(struct hls_peers *p) {
  hls_net_set_identity(p->net, p->env.identity);
  for (size_t i = 0; i < p->n; i++) {
    struct peer *peer = p->peers[i];
    if (peer->conn) hls_conn_close(peer->conn, "identity_rotated");
    if (peer->dialing) hls_conn_close(peer->dialing, "identity_rotated");
    peer->next_dial_ms = 0;
  }
}

/* What the admin said of old_id passes to new_id, its successor. */
static void succeed_one(struct hls_peers *p, const uint8_t old_id[32], const uint8_t new_id[32]) {
  struct peer *old = find(p, old_id);
  if (p->closing || old == NULL || old->removed || memcmp(new_id, p->env.identity->public_key, 32) == 0) return;
  struct peer *fresh = find(p, new_id);
  char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(old_id, from);
  hls_nodeid_format(new_id, to);
  struct hls_why why = {{0}};
  if (old->row.blocked) {
    if (fresh != NULL && fresh->row.blocked) return;
    if (hls_peers_block(p, new_id, true, &why) == 0) {
      hls_log_info("peer_succeeded", "old=%s new=%s action=blocked detail=\"the old key was blocked\"", from, to);
      struct peer *now = find(p, new_id);
      if (now != NULL) {
        now->succ_blocked = true;
        memcpy(now->succ_of, old_id, 32);
      }
    }
  } else if (old->row.admin && old->row.address[0] && (fresh == NULL || !fresh->row.admin)) {
    char address[sizeof old->row.address];
    snprintf(address, sizeof address, "%s", old->row.address);
    if (hls_peers_add(p, new_id, address, &why) == 0) {
      hls_log_info("peer_succeeded", "old=%s new=%s address=%s action=listed detail=\"the old key was listed\"", from,
                   to, address);
      /* The old key will answer no handshake (its node is the new one):
       * no longer listed beside the new one, nor dialled for ever. Not
       * forgotten either: the successor may have come on its session,
       * which goes on until that node ends it. (find again: adding may
       * have moved the table.) */
      struct peer *was = find(p, old_id);
      if (was != NULL && was->row.admin) {
        was->row.admin = 0;
        save(p, was);
      }
    } else {
      hls_log_warn("peer_succession_failed", "old=%s new=%s detail=\"%s\"", from, to, why.text);
    }
  }
}

void hls_peers_succeed(struct hls_peers *p, const uint8_t old_id[32], const uint8_t new_id[32]) {
  if (p->closing) return;
  /* Not now: this is called inside a session's frame (the successor just
   * held or seen), and blocking or listing a key may close a session,
   * that one's included, whose gossip state the frame is still using. */
  if (p->n_succ == p->cap_succ) {
    size_t cap = p->cap_succ ? 2 * p->cap_succ : 8;
    struct succession *q = realloc(p->succ_q, cap * sizeof *q);
    if (q == NULL) {
      char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
      hls_nodeid_format(old_id, from);
      hls_nodeid_format(new_id, to);
      hls_log_error("peer_succession_failed", "old=%s new=%s detail=\"out of memory: not applied (hls peer add or block the new key by hand)\"",
                    from, to);
      return;
    }
    p->succ_q = q;
    p->cap_succ = cap;
  }
  memcpy(p->succ_q[p->n_succ].old_id, old_id, 32);
  memcpy(p->succ_q[p->n_succ].new_id, new_id, 32);
  p->n_succ++;
  uv_timer_start(&p->dial_timer, on_dial_timer, 0, 1000);
}

/* One step of hls_store_succession_walk: the new key's own successor may
 * be held already (a node that was away while a peer moved twice gets
 * both successors, in any order), so what was said passes along the
 * chain, to its newest key. */
static void succeed_step(void *ctx, const uint8_t old_id[32], const uint8_t new_id[32]) { succeed_one(ctx, old_id, new_id); }

const char *hls_peers_address(const struct hls_peers *p) { return hls_net_address(p->net); }

int hls_peers_connecting(const struct hls_peers *p) {
  int n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->peers[i]->dialing != NULL && p->peers[i]->conn == NULL && !p->peers[i]->removed) n++;
  return n;
}

void hls_peers_each_blocked(const struct hls_peers *p, void (*fn)(void *ctx, const uint8_t pk[32]), void *ctx) {
  for (size_t i = 0; i < p->n; i++)
    if (p->peers[i]->row.blocked && !p->peers[i]->removed) fn(ctx, p->peers[i]->row.node_id);
}

int hls_peers_connected(const struct hls_peers *p) {
  int n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->peers[i]->conn != NULL) n++;
  return n;
}

/* --- admin ----------------------------------------------------------------------------------- */

int hls_peers_add(struct hls_peers *p, const uint8_t pk[32], const char *address, struct hls_why *why) {
  struct hls_hostport hp;
  int rc = hls_hostport_parse(address, &hp, true, false, why);
  if (rc != 0) return rc;
  if (memcmp(pk, p->env.identity->public_key, 32) == 0)
    return hls_why_set(why, HLS_EINVAL, "that is this node's own id");
  struct peer *peer = find(p, pk);
  /* Trusting a node and refusing it at once: the block stands until an
   * admin lifts it, and nothing is changed. */
  if (peer != NULL && !peer->removed && peer->row.blocked)
    return hls_why_set(why, HLS_ESTATE, "that node is blocked: nothing changed (hls peer unblock NODE_ID first)");
  if (peer == NULL && (peer = add_peer(p, pk)) == NULL) return HLS_ENOMEM;
  revive(p, peer);
  bool newly_listed = !peer->row.admin;
  peer->row.admin = 1;
  hls_hostport_format(&hp, peer->row.address);
  peer->row.failures = 0;
  peer->penalty_until_ms = 0;
  save(p, peer);
  /* A peer connected before it was listed becomes a direct peer: start a
   * new session, where it asks for the bodies now meant for it. */
  if (newly_listed && peer->conn != NULL) hls_conn_close(peer->conn, "listed");
  peer->next_dial_ms = 0;
  if (dialable(p, peer)) dial(p, peer);
  return 0;
}

int hls_peers_remove(struct hls_peers *p, const uint8_t pk[32], bool *kept_blocked, struct hls_why *why) {
  if (kept_blocked != NULL) *kept_blocked = false;
  if (memcmp(pk, p->env.identity->public_key, 32) == 0)
    return hls_why_set(why, HLS_EINVAL, "that is this node's own id");
  struct peer *peer = find(p, pk);
  if (peer == NULL || peer->removed) return hls_why_set(why, HLS_ENOTFOUND, "no such peer");
  if (peer->row.blocked) {
    /* A block holds until it is lifted (hls peer unblock): forgetting
     * the peer forgets its address, listing and counters, not the block,
     * which gossip also applies to its chain. Blocked, it has no session. */
    struct hls_peer_row row = {0};
    memcpy(row.node_id, peer->row.node_id, 32);
    row.blocked = 1;
    row.added_ms = peer->row.added_ms;
    peer->row = row;
    peer->dial_once = false;
    peer->penalty_until_ms = 0;
    save(p, peer);
    if (kept_blocked != NULL) *kept_blocked = true;
    return 0;
  }
  int rc = hls_store_peer_delete(p->env.store, pk, why);
  if (rc != 0 && rc != HLS_ENOTFOUND) return rc;
  peer->removed = true;
  /* on_close runs inside these and clears the pointers; it never frees. */
  if (peer->conn) hls_conn_close(peer->conn, "removed");
  if (peer->dialing) hls_conn_close(peer->dialing, "removed");
  if (peer->conn == NULL && peer->dialing == NULL) drop_peer(p, peer);
  return 0;
}

static int block_one(struct hls_peers *p, const uint8_t pk[32], bool block, struct hls_why *why);

int hls_peers_block(struct hls_peers *p, const uint8_t pk[32], bool block, struct hls_why *why) {
  int rc = block_one(p, pk, block, why);
  if (rc != 0 || block) return rc;
  /* Unblocked: so are the keys that succeeded it, which were blocked
   * with it (hls_peers_succeed), or its chain would go on under a key
   * still blocked. */
  uint8_t cur[32];
  memcpy(cur, pk, 32);
  for (int hop = 0; hop < HLS_SUCCESSION_MAX_DEPTH; hop++) {
    uint8_t next[32];
    bool found = false;
    /* the successor held, or one blocked for cur's sake (its successor
     * seen among the items refused while cur was blocked) */
    if (hls_store_successor_of(p->env.store, cur, next, &found, NULL) != 0) found = false;
    for (size_t i = 0; !found && i < p->n; i++)
      if (p->peers[i]->succ_blocked && memcmp(p->peers[i]->succ_of, cur, 32) == 0) {
        memcpy(next, p->peers[i]->row.node_id, 32);
        found = true;
      }
    if (!found || memcmp(next, cur, 32) == 0) break;
    struct peer *succ = find(p, next);
    if (succ != NULL && !succ->removed && succ->row.blocked) {
      struct hls_why ignored = {{0}};
      if (block_one(p, next, false, &ignored) == 0) {
        char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
        hls_nodeid_format(cur, from);
        hls_nodeid_format(next, to);
        hls_log_info("peer_succeeded", "old=%s new=%s action=unblocked detail=\"the old key was unblocked\"", from,
                     to);
      }
    }
    memcpy(cur, next, 32);
  }
  return 0;
}

static int block_one(struct hls_peers *p, const uint8_t pk[32], bool block, struct hls_why *why) {
  if (memcmp(pk, p->env.identity->public_key, 32) == 0)
    return hls_why_set(why, HLS_EINVAL, "that is this node's own id");
  struct peer *peer = find(p, pk);
  if (peer == NULL) {
    if (!block) return hls_why_set(why, HLS_ENOTFOUND, "no such peer");
    if ((peer = add_peer(p, pk)) == NULL) return HLS_ENOMEM;
  }
  if (peer->removed && !block) return hls_why_set(why, HLS_ENOTFOUND, "no such peer");
  revive(p, peer);
  peer->row.blocked = block ? 1 : 0;
  peer->succ_blocked = false; /* said of this key itself now */
  if (!block) {
    peer->next_dial_ms = 0;
    peer->row.failures = 0;
  }
  save(p, peer);
  if (p->hooks.on_block) p->hooks.on_block(p->hooks.ctx, pk, block);
  if (block) {
    if (peer->conn) hls_conn_close(peer->conn, "blocked");
    if (peer->dialing) hls_conn_close(peer->dialing, "blocked");
  } else if (dialable(p, peer)) {
    dial(p, peer);
  }
  return 0;
}

bool hls_peers_is_listed(const struct hls_peers *p, const uint8_t pk[32]) {
  const struct peer *peer = find(p, pk);
  return peer != NULL && !peer->removed && peer->row.admin && !peer->row.blocked;
}

void hls_peers_violation(struct hls_peers *p, const uint8_t pk[32], const char *what) {
  struct peer *peer = find(p, pk);
  if (peer == NULL) return;
  peer->row.violations++;
  snprintf(peer->row.last_error, sizeof peer->row.last_error, "violation: %s", what);
  /* Backed off as after that many failures in a row, and refused inbound
   * for as long. */
  peer->penalty_until_ms = now_ms(p) + backoff_ms(p, peer->row.failures + peer->row.violations + 1);
  save(p, peer);
}

bool hls_peers_admit_origin(struct hls_peers *p, const uint8_t pk[32]) {
  struct peer *peer = find(p, pk);
  if (peer == NULL || listed(peer)) return true;
  int64_t now = now_ms(p);
  if (now - peer->origins_window_ms >= 3600 * 1000 || now < peer->origins_window_ms) {
    peer->origins_window_ms = now;
    peer->origins_in_window = 0;
    peer->origins_violation = false;
  }
  if (peer->origins_in_window < p->env.config->gossip_new_origins_per_hour) {
    peer->origins_in_window++;
    return true;
  }
  if (!peer->origins_violation) {
    peer->origins_violation = true;
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(pk, id);
    hls_log_counted_warn("peer_origin_quota", "peer=%s limit=%lld detail=\"more new chains in an hour than "
                 "gossip.new_origins_per_hour; the rest are ignored\"", id,
                 (long long)p->env.config->gossip_new_origins_per_hour);
    hls_peers_violation(p, pk, "new_origins_per_hour");
  }
  return false;
}

void hls_peers_learn(struct hls_peers *p, const uint8_t pk[32], const char *address) {
  struct hls_hostport hp;
  if (p->closing || memcmp(pk, p->env.identity->public_key, 32) == 0) return;
  if (hls_hostport_parse(address, &hp, true, false, NULL) != 0) return;
  struct peer *peer = find(p, pk);
  if (peer == NULL && (peer = add_peer(p, pk)) == NULL) return;
  if (peer->removed || peer->row.blocked || peer->conn != NULL || peer->dialing != NULL) return;
  if (!peer->row.admin) hls_hostport_format(&hp, peer->row.address);
  peer->dial_once = true;
  if (dialable(p, peer)) dial(p, peer);
}

int hls_peers_score(const struct hls_peer_row *row) {
  int64_t s = 100 - 10 * row->violations;
  return s < 0 ? 0 : (int)s;
}

int hls_peers_pack(struct hls_peers *p, msgpack_packer *pk) {
  uint32_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (!p->peers[i]->removed) n++;
  if (msgpack_pack_array(pk, n) != 0) return HLS_ENOMEM;
  int64_t now = now_ms(p);
  for (size_t i = 0; i < p->n; i++) {
    const struct peer *peer = p->peers[i];
    if (peer->removed) continue;
    char id[HLS_NODEID_TEXT_SIZE], seen[21], since[21];
    hls_nodeid_format(peer->row.node_id, id);
    const char *state = peer->row.blocked ? "blocked"
                        : peer->conn      ? "connected"
                        : peer->dialing   ? "connecting"
                        : peer->row.address[0] == '\0' ? "idle"
                        : peer->penalty_until_ms > now  ? "backoff"
                        : peer->row.failures > 0 && peer->row.admin ? "backoff"
                                                       : "idle";
    int64_t in = peer->row.bytes_in, out = peer->row.bytes_out;
    if (peer->conn) {
      int64_t ci, co;
      hls_conn_stats(peer->conn, &ci, &co);
      in += ci;
      out += co;
    }
    if (peer->row.last_seen_ms) hls_time_format(peer->row.last_seen_ms, seen);
    if (peer->conn) hls_time_format(peer->connected_ms, since);
    if (msgpack_pack_map(pk, 14) != 0 || hls_mp_pack_kv_str(pk, "node_id", id) != 0 ||
        hls_mp_pack_kv_str(pk, "address", peer->row.address[0] ? peer->row.address : NULL) != 0 ||
        hls_mp_pack_kv_str(pk, "state", state) != 0 ||
        hls_mp_pack_kv_str(pk, "direction", peer->conn ? (hls_conn_inbound(peer->conn) ? "in" : "out") : NULL) != 0 ||
        hls_mp_pack_kv_bool(pk, "listed", peer->row.admin != 0) != 0 ||
        hls_mp_pack_kv_str(pk, "last_seen", peer->row.last_seen_ms ? seen : NULL) != 0 ||
        hls_mp_pack_kv_str(pk, "connected_since", peer->conn ? since : NULL) != 0 ||
        hls_mp_pack_kv_i64(pk, "bytes_in", in) != 0 || hls_mp_pack_kv_i64(pk, "bytes_out", out) != 0 ||
        hls_mp_pack_kv_i64(pk, "failures", peer->row.failures) != 0 ||
        hls_mp_pack_kv_i64(pk, "violations", peer->row.violations) != 0 ||
        hls_mp_pack_kv_i64(pk, "score", hls_peers_score(&peer->row)) != 0 ||
        hls_mp_pack_kv_str(pk, "last_error", peer->row.last_error[0] ? peer->row.last_error : NULL) != 0 ||
        hls_mp_pack_kv_i64(pk, "next_attempt_in_s",
                           strcmp(state, "backoff") == 0 && peer->next_dial_ms > now ? (peer->next_dial_ms - now + 999) / 1000 : 0) != 0)
      return HLS_ENOMEM;
  }
  return 0;
}
