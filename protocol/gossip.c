/* The gossip engine: see gossip.h and docs/protocol.md section 8.
 *
 * This file is the engine's state machine: its origins and sessions, the
 * queues of what each peer lacks, the frames it takes in but ITEMS
 * (VECTOR, ACK, WANT, BODIES), this node's own items, the tick (deltas,
 * fork evidence to record, peer exchange), blocking, and what it reports.
 * The rest, a file a job (the state and what the files share are in
 * gossip_internal.h):
 *   gossip_send.c    the frames a session sends, within its window (8.2, 8.4)
 *   gossip_accept.c  ITEMS taken into the chains held; forks; imports
 *                    (8.3, 8.5, 8.9)
 *   gossip_codec.c   the decoders of the frames (8.1)
 *
 * State. The engine follows a table of origins (index -> key, chain head
 * seq and item id, forked, addresses). Each session keeps, per origin
 * index, what the peer is known to hold (peer_has: from its vector, its
 * acks and the items either side sent), how far this node has sent
 * (sent), and the head this node last told it (told); plus two queues of
 * origin indexes, each origin at most once in each: "send" (this node may
 * hold items the peer lacks) and "tell" (this node's head moved and the
 * peer does not know). All of it is O(origins) per session, allocated as
 * origins appear, and bounded by max_origins.
 *
 * Flow control. A session has at most `window` ITEMS/BODIES frames that
 * its peer has not acknowledged; each carries at most batch_items
 * envelopes and about batch_bytes. The receiver acknowledges every one
 * after processing it, so a peer that reads slowly only slows its own
 * stream, and nothing queues without bound. */
#include "gossip.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_internal.h"
#include "wire.h"

/* --- small helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* --- state ---------------------------------------------------------------- */

void hls_gossip_config_init(struct hls_gossip_config *c, const uint8_t self[HLS_KEY_BYTES]) {
  memset(c, 0, sizeof *c);
  memcpy(c->self, self, HLS_KEY_BYTES);
  c->window = 4;
  c->batch_items = 256;
  c->batch_bytes = 1024u * 1024u;
  c->max_origins = 100000;
  c->target_connections = 6;
  c->vector_interval_ms = 250;
  c->dial_interval_ms = 2000;
  c->redial_after_ms = 30000;
}

bool hls_gossip_peer_fault(int err) { return err != 0 && !hls_err_is_local(err); }

/* --- origin table --------------------------------------------------------- */

static size_t key_hash(const struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES]) {
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, pk, HLS_KEY_BYTES, g->hash_key);
  uint64_t v;
  memcpy(&v, h, sizeof v);
  return (size_t)v;
}

int64_t hls_gossip__origin_find(const struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES]) {
  if (g->map_cap == 0) return -1;
  size_t mask = g->map_cap - 1;
  for (size_t i = key_hash(g, pk) & mask;; i = (i + 1) & mask) {
    uint32_t v = g->map[i];
    if (v == 0) return -1;
    if (memcmp(g->o[v - 1].pk, pk, HLS_KEY_BYTES) == 0) return (int64_t)(v - 1);
  }
}

void hls_gossip__map_insert(struct hls_gossip *g, uint32_t idx) {
  size_t mask = g->map_cap - 1;
  size_t i = key_hash(g, g->o[idx].pk) & mask;
  while (g->map[i] != 0) i = (i + 1) & mask;
  g->map[i] = idx + 1;
}

static int session_reserve(struct hls_gossip_session *s, size_t cap);

/* Add an origin (not present). HLS_ELIMIT at max_origins. */
int hls_gossip__origin_add(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES], uint32_t *idx) {
  if (g->n_o >= g->cfg.max_origins) return HLS_ELIMIT;
  if (g->n_o == g->cap_o) {
    size_t cap = g->cap_o ? g->cap_o * 2 : 64;
    struct origin *o = realloc(g->o, cap * sizeof *o);
    if (o == NULL) return HLS_ENOMEM;
    g->o = o;
    g->cap_o = cap;
    for (struct hls_gossip_session *s = g->sessions; s; s = s->next)
      if (session_reserve(s, cap) != 0) return HLS_ENOMEM;
  }
  if ((g->n_o + 1) * 2 > g->map_cap) {
    size_t cap = g->map_cap ? g->map_cap * 2 : 128;
    uint32_t *m = calloc(cap, sizeof *m);
    if (m == NULL) return HLS_ENOMEM;
    free(g->map);
    g->map = m;
    g->map_cap = cap;
    for (uint32_t i = 0; i < g->n_o; i++) hls_gossip__map_insert(g, i);
  }
  struct origin *o = &g->o[g->n_o];
  memset(o, 0, sizeof *o);
  memcpy(o->pk, pk, HLS_KEY_BYTES);
  *idx = (uint32_t)g->n_o++;
  hls_gossip__map_insert(g, *idx);
  return 0;
}

void hls_gossip__origin_free_addr(struct origin *o) {
  for (size_t i = 0; i < o->n_addr; i++) free(o->addr[i]);
  free(o->addr);
  o->addr = NULL;
  o->n_addr = 0;
}

int hls_gossip__origin_set_profile(struct origin *o, const struct hls_profile *p) {
  char **a = NULL;
  if (p->n_addresses > 0) {
    a = calloc(p->n_addresses, sizeof *a);
    if (a == NULL) return HLS_ENOMEM;
    for (size_t i = 0; i < p->n_addresses; i++) {
      a[i] = strdup(p->addresses[i]);
      if (a[i] == NULL) {
        for (size_t j = 0; j < i; j++) free(a[j]);
        free(a);
        return HLS_ENOMEM;
      }
    }
  }
  hls_gossip__origin_free_addr(o);
  o->addr = a;
  o->n_addr = p->n_addresses;
  return 0;
}

/* --- lifecycle -------------------------------------------------------------- */

int hls_gossip_new(struct hls_gossip **out, const struct hls_gossip_config *cfg, const struct hls_gossip_store *store,
                   hls_gossip_emit_fn emit, void *emit_ctx) {
  *out = NULL;
  if (cfg->window == 0 || cfg->window > HLS_GOSSIP_MAX_WINDOW || cfg->batch_items == 0 ||
      cfg->batch_items > HLS_GOSSIP_MAX_BATCH || cfg->batch_bytes == 0 || store->get == NULL ||
      store->stubs == NULL || store->is_direct_peer == NULL || emit == NULL)
    return HLS_EINVAL;
  struct hls_gossip *g = calloc(1, sizeof *g);
  if (g == NULL) return HLS_ENOMEM;
  g->cfg = *cfg;
  g->store = *store;
  g->emit = emit;
  g->emit_ctx = emit_ctx;
  g->rng = cfg->seed;
  for (size_t i = 0; i < sizeof g->hash_key; i += 8) {
    uint64_t r = rng_next(&g->rng);
    memcpy(g->hash_key + i, &r, sizeof g->hash_key - i < 8 ? sizeof g->hash_key - i : 8);
  }
  msgpack_sbuffer_init(&g->out);
  msgpack_sbuffer_init(&g->tmp);
  g->envs = calloc(HLS_GOSSIP_MAX_BATCH, sizeof *g->envs);
  g->states = calloc(HLS_GOSSIP_MAX_BATCH, sizeof *g->states);
  g->ventries = calloc(HLS_GOSSIP_MAX_VECTOR, sizeof *g->ventries);
  g->acks = calloc(HLS_GOSSIP_MAX_BATCH, sizeof *g->acks);
  g->seqs = calloc(HLS_GOSSIP_MAX_WANT, sizeof *g->seqs);
  if (g->envs == NULL || g->states == NULL || g->ventries == NULL || g->acks == NULL || g->seqs == NULL) {
    hls_gossip_free(g);
    return HLS_ENOMEM;
  }
  *out = g;
  return 0;
}

static void session_free(struct hls_gossip_session *s) {
  free(s->unknown);
  free(s->so);
  free(s->sendq.v);
  free(s->tellq.v);
  free(s->wanted);
  free(s->asked);
  free(s);
}

void hls_gossip_free(struct hls_gossip *g) {
  if (g == NULL) return;
  while (g->sessions) {
    struct hls_gossip_session *s = g->sessions;
    g->sessions = s->next;
    session_free(s);
  }
  for (size_t i = 0; i < g->n_o; i++) hls_gossip__origin_free_addr(&g->o[i]);
  free(g->o);
  free(g->map);
  msgpack_sbuffer_destroy(&g->out);
  msgpack_sbuffer_destroy(&g->tmp);
  free(g->envs);
  free(g->states);
  free(g->ventries);
  free(g->acks);
  free(g->seqs);
  for (size_t i = 0; i < g->n_pforks; i++) {
    free(g->pforks[i].ours);
    free(g->pforks[i].theirs);
  }
  free(g->pforks);
  free(g);
}

int hls_gossip_load_origin(struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES], uint64_t head_seq,
                           const uint8_t head_id[HLS_HASH_BYTES], bool forked, const struct hls_profile *profile) {
  int64_t found = hls_gossip__origin_find(g, origin);
  uint32_t idx;
  if (found >= 0) {
    idx = (uint32_t)found;
  } else {
    int rc = hls_gossip__origin_add(g, origin, &idx);
    if (rc != 0) return rc;
  }
  struct origin *o = &g->o[idx];
  o->head = head_seq;
  if (head_seq > 0) memcpy(o->head_id, head_id, HLS_HASH_BYTES);
  o->head_ok = memcmp(origin, g->cfg.self, HLS_KEY_BYTES) == 0;
  o->forked = forked;
  if (profile != NULL) return hls_gossip__origin_set_profile(o, profile);
  return 0;
}

/* --- queues --------------------------------------------------------------- */

static int fifo_reserve(struct fifo *q, size_t cap) {
  if (q->cap >= cap) return 0;
  /* compact first, then grow */
  size_t n = q->tail - q->head;
  if (q->v != NULL && q->head > 0) memmove(q->v, q->v + q->head, n * sizeof *q->v);
  q->head = 0;
  q->tail = n;
  uint32_t *v = realloc(q->v, cap * sizeof *v);
  if (v == NULL) return HLS_ENOMEM;
  q->v = v;
  q->cap = cap;
  return 0;
}

static int session_reserve(struct hls_gossip_session *s, size_t cap) {
  if (s->so_cap < cap) {
    struct sess_origin *so = realloc(s->so, cap * sizeof *so);
    if (so == NULL) return HLS_ENOMEM;
    memset(so + s->so_cap, 0, (cap - s->so_cap) * sizeof *so);
    s->so = so;
    s->so_cap = cap;
  }
  if (fifo_reserve(&s->sendq, cap) != 0 || fifo_reserve(&s->tellq, cap) != 0) return HLS_ENOMEM;
  return 0;
}

/* Does this node hold items of origin idx that the peer lacks and that
 * have not been sent yet? */
bool hls_gossip__needs_send(const struct hls_gossip *g, const struct hls_gossip_session *s, uint32_t idx) {
  const struct sess_origin *so = &s->so[idx];
  return !g->o[idx].blocked && g->o[idx].head > max_u64(so->peer_has, so->sent) && g->o[idx].head > so->stalled;
}

void hls_gossip__note_head(struct hls_gossip *g, struct hls_gossip_session *s, uint32_t idx) {
  struct sess_origin *so = &s->so[idx];
  if (g->o[idx].blocked) return; /* never sent, never told */
  if (hls_gossip__needs_send(g, s, idx)) {
    if (!so->in_send) {
      so->in_send = 1;
      fifo_push(&s->sendq, idx);
    }
  } else if (so->told < g->o[idx].head && !so->in_tell) {
    so->in_tell = 1;
    fifo_push(&s->tellq, idx);
  }
}

/* --- events ----------------------------------------------------------------- */

struct hls_gossip_session *hls_gossip__session_by_pk(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES]) {
  for (struct hls_gossip_session *s = g->sessions; s; s = s->next)
    if (memcmp(s->pk, pk, HLS_KEY_BYTES) == 0) return s;
  return NULL;
}

int hls_gossip_connected(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES], void *ctx,
                         struct hls_gossip_session **out) {
  *out = NULL;
  struct hls_gossip_session *s = calloc(1, sizeof *s);
  if (s == NULL) return HLS_ENOMEM;
  s->g = g;
  s->ctx = ctx;
  memcpy(s->pk, pk, HLS_KEY_BYTES);
  if (session_reserve(s, g->cap_o ? g->cap_o : 64) != 0) {
    session_free(s);
    return HLS_ENOMEM;
  }
  s->next = g->sessions;
  if (g->sessions) g->sessions->prev = s;
  g->sessions = s;
  g->n_sessions++;
  *out = s;
  /* Our whole vector, in frames of at most HLS_GOSSIP_MAX_VECTOR. */
  uint32_t idx[HLS_GOSSIP_MAX_VECTOR];
  size_t n = 0;
  int rc = 0;
  for (uint32_t i = 0; i < g->n_o && rc == 0; i++) {
    if (g->o[i].head == 0 || g->o[i].blocked) continue;
    idx[n++] = i;
    if (n == HLS_GOSSIP_MAX_VECTOR) {
      rc = hls_gossip__send_vector(g, s, idx, n, false);
      n = 0;
    }
  }
  if (rc == 0) rc = hls_gossip__send_vector(g, s, idx, n, true);
  if (rc == 0) rc = hls_gossip__maybe_want(g, s);
  if (rc != 0) {
    hls_gossip_disconnected(g, s);
    *out = NULL;
  }
  return rc;
}

void hls_gossip_disconnected(struct hls_gossip *g, struct hls_gossip_session *s) {
  if (s == NULL) return;
  if (s->prev) s->prev->next = s->next;
  else g->sessions = s->next;
  if (s->next) s->next->prev = s->prev;
  g->n_sessions--;
  session_free(s);
}

/* How far origin f (-1: not followed) is behind head. */
static uint64_t behind_by(const struct hls_gossip *g, int64_t f, uint64_t head) {
  uint64_t have = f >= 0 ? g->o[f].head : 0;
  return head > have ? head - have : 0;
}

/* Note that the peer holds head of an origin this node does not follow
 * (yet). When the list is full, the entries that arrived make room; an
 * entry that finds none is not kept (the list is a measure of progress,
 * never needed for correctness). */
static void unknown_note(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *pk, uint64_t head) {
  if (s->n_unknown == s->cap_unknown) {
    size_t keep = 0;
    for (size_t i = 0; i < s->n_unknown; i++)
      if (behind_by(g, hls_gossip__origin_find(g, s->unknown[i].pk), s->unknown[i].head) > 0)
        s->unknown[keep++] = s->unknown[i];
    s->n_unknown = keep;
  }
  if (s->n_unknown == s->cap_unknown) {
    if (s->cap_unknown >= g->cfg.max_origins) return;
    size_t cap = s->cap_unknown ? 2 * s->cap_unknown : 64;
    if (cap > g->cfg.max_origins) cap = g->cfg.max_origins;
    struct unknown_head *u = realloc(s->unknown, cap * sizeof *u);
    if (u == NULL) return;
    s->unknown = u;
    s->cap_unknown = cap;
  }
  memcpy(s->unknown[s->n_unknown].pk, pk, HLS_KEY_BYTES);
  s->unknown[s->n_unknown++].head = head;
}

static int on_vector(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                     struct hls_why *why) {
  bool complete;
  size_t n;
  int rc = hls_gossip_vector_decode(p, len, &complete, g->ventries, &n, why);
  if (rc != 0) return rc;
  for (size_t i = 0; i < n; i++) {
    int64_t f = hls_gossip__origin_find(g, g->ventries[i].origin);
    if (f < 0) { /* they will push it: our vector lacks it */
      if (g->store.is_direct_peer == NULL || g->store.is_direct_peer(g->store.ctx, s->pk))
        unknown_note(g, s, g->ventries[i].origin, g->ventries[i].head);
      continue;
    }
    uint32_t idx = (uint32_t)f;
    struct sess_origin *so = &s->so[idx];
    so->peer_has = max_u64(so->peer_has, g->ventries[i].head);
    /* Everything sent was acknowledged, yet the peer says it holds less:
     * it did not keep what was sent (it had blocked the origin): send it
     * again from what it holds. */
    if (s->inflight == 0 && g->ventries[i].head < so->sent) {
      so->sent = so->peer_has;
      if (s->peer_vector_done) hls_gossip__note_head(g, s, idx);
    }
  }
  if (complete && !s->peer_vector_done) {
    s->peer_vector_done = true;
    for (uint32_t i = 0; i < g->n_o; i++) hls_gossip__note_head(g, s, i);
  }
  return hls_gossip__pump(g, s);
}

/* After origin idx's head moved: tell or push to every session. */
int hls_gossip__head_moved(struct hls_gossip *g, uint32_t idx) {
  for (struct hls_gossip_session *t = g->sessions; t; t = t->next) {
    if (!t->peer_vector_done) continue;
    hls_gossip__note_head(g, t, idx);
    int rc = hls_gossip__pump(g, t);
    if (rc != 0) return rc;
  }
  return 0;
}

static int on_ack(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                  struct hls_why *why) {
  size_t n;
  int rc = hls_gossip_ack_decode(p, len, g->acks, &n, why);
  if (rc != 0) return rc;
  if (s->inflight == 0) return hls_why_set(why, HLS_EMALFORMED, "ack: nothing was sent");
  s->inflight--;
  for (size_t i = 0; i < n; i++) {
    int64_t f = hls_gossip__origin_find(g, g->acks[i].origin);
    if (f < 0) continue;
    struct sess_origin *so = &s->so[f];
    so->peer_has = max_u64(so->peer_has, g->acks[i].head);
  }
  return hls_gossip__pump(g, s);
}

static int on_want(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                   struct hls_why *why) {
  size_t n;
  if (s->asked_pending) return hls_why_set(why, HLS_EMALFORMED, "want: the previous one is not answered yet");
  if (s->asked == NULL) {
    s->asked = malloc(HLS_GOSSIP_MAX_WANT * sizeof *s->asked);
    if (s->asked == NULL) return HLS_ENOMEM;
  }
  int rc = hls_gossip_want_decode(p, len, s->asked, &n, why);
  if (rc != 0) return rc;
  s->n_asked = n;
  s->asked_pos = 0;
  s->asked_pending = true;
  return hls_gossip__pump(g, s);
}

static int on_bodies(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                     struct hls_why *why) {
  size_t n;
  bool complete;
  if (!s->want_out) return hls_why_set(why, HLS_EMALFORMED, "bodies: none were asked for");
  int rc = hls_gossip_items_decode(p, len, HLS_GF_BODIES, &complete, g->envs, &n, why);
  if (rc != 0) return rc;
  g->st.bytes_received += len;
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    struct hls_envelope *e = &g->envs[i];
    if (memcmp(e->h.origin, s->pk, HLS_KEY_BYTES) != 0 || e->body == NULL || e->h.audience != HLS_AUD_PEERS)
      return hls_why_set(why, HLS_EMALFORMED, "bodies: item %zu was not asked for", i);
    while (w < s->n_wanted && s->wanted[w] < e->h.seq) w++; /* answers come in the asked order */
    if (w == s->n_wanted || s->wanted[w] != e->h.seq)
      return hls_why_set(why, HLS_EMALFORMED, "bodies: seq %llu was not asked for", (unsigned long long)e->h.seq);
    struct hls_gossip_item ours;
    rc = g->store.get(g->store.ctx, s->pk, e->h.seq, &ours);
    if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
    struct hls_envelope oe;
    if (hls_env_decode(&oe, ours.stub, ours.stub_len, NULL) != 0) return HLS_EINTERNAL;
    if (memcmp(oe.id, e->id, HLS_HASH_BYTES) != 0)
      return hls_why_set(why, HLS_EMALFORMED, "bodies: seq %llu is not the item held", (unsigned long long)e->h.seq);
    if (ours.state != HLS_BODY_STUB) continue; /* erased meanwhile: never again */
    struct hls_gossip_action a = {.type = HLS_GA_BODY, .n = 1, .envs = e};
    rc = g->emit(g->emit_ctx, &a);
    if (rc != 0) return rc;
    g->st.bodies_received++;
  }
  rc = hls_gossip__send_ack(g, s, NULL, 0);
  if (rc != 0) return rc;
  if (complete) {
    s->want_out = false;
    s->n_wanted = 0;
    return hls_gossip__maybe_want(g, s); /* more stubs above the cursor? */
  }
  return 0;
}

int hls_gossip_frame(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *payload, size_t len,
                     struct hls_why *why) {
  int type;
  if (hls_frame_type(payload, len, &type) != 0) return hls_why_set(why, HLS_EMALFORMED, "gossip: not a frame");
  g->st.frames_received++;
  switch (type) {
  case HLS_GF_VECTOR: return on_vector(g, s, payload, len, why);
  case HLS_GF_ITEMS: return hls_gossip__on_items(g, s, payload, len, why);
  case HLS_GF_ACK: return on_ack(g, s, payload, len, why);
  case HLS_GF_WANT: return on_want(g, s, payload, len, why);
  case HLS_GF_BODIES: return on_bodies(g, s, payload, len, why);
  default: return hls_why_set(why, HLS_EUNSUPPORTED, "gossip: unknown frame type %d", type);
  }
}

int hls_gossip_local_item(struct hls_gossip *g, const uint8_t *envelope, size_t len, struct hls_why *why) {
  struct hls_envelope e;
  int rc = hls_env_decode(&e, envelope, len, why);
  if (rc != 0) return rc;
  if (memcmp(e.h.origin, g->cfg.self, HLS_KEY_BYTES) != 0)
    return hls_why_set(why, HLS_EINVAL, "local item: not this node's");
  return hls_gossip__local(g, &e, why);
}

int hls_gossip_retired_item(struct hls_gossip *g, const uint8_t *envelope, size_t len, struct hls_why *why) {
  struct hls_envelope e;
  int rc = hls_env_decode(&e, envelope, len, why);
  if (rc != 0) return rc;
  if (e.h.type != HLS_ENV_TOMBSTONE || memcmp(e.h.origin, g->cfg.self, HLS_KEY_BYTES) == 0)
    return hls_why_set(why, HLS_EINVAL, "retired item: a tombstone of another key than this node's");
  return hls_gossip__local(g, &e, why);
}

int hls_gossip__local(struct hls_gossip *g, const struct hls_envelope *ep, struct hls_why *why) {
  struct hls_envelope e = *ep;
  int rc;
  int64_t f = hls_gossip__origin_find(g, e.h.origin);
  uint32_t idx;
  if (f < 0) {
    rc = hls_gossip__origin_add(g, e.h.origin, &idx);
    if (rc != 0) return hls_why_set(why, rc, "local item: cannot follow this node's own chain");
  } else {
    idx = (uint32_t)f;
  }
  struct origin *o = &g->o[idx];
  if (e.h.seq != o->head + 1 || (o->head > 0 && memcmp(e.h.prev, o->head_id, HLS_HASH_BYTES) != 0))
    return hls_why_set(why, HLS_ECHAIN, "local item: seq %llu does not follow %llu", (unsigned long long)e.h.seq,
                       (unsigned long long)o->head);
  o->head = e.h.seq;
  o->head_ok = true;
  memcpy(o->head_id, e.id, HLS_HASH_BYTES);
  if (e.h.type == HLS_ENV_PROFILE && e.body != NULL) {
    struct hls_profile prof;
    if (hls_profile_decode(&prof, e.body, e.body_len, NULL) == 0) {
      rc = hls_gossip__origin_set_profile(o, &prof);
      if (rc != 0) return rc;
    }
  }
  return hls_gossip__head_moved(g, idx);
}

/* Peer exchange: keep target_connections sessions, dialling members at
 * random from those whose profile gives an address. */
static int dial_some(struct hls_gossip *g) {
  if (g->n_sessions >= g->cfg.target_connections || g->n_o == 0) return 0;
  size_t want = g->cfg.target_connections - g->n_sessions;
  for (size_t tries = 0; tries < 4 * want + 8 && want > 0; tries++) {
    uint32_t idx = (uint32_t)(rng_next(&g->rng) % g->n_o);
    struct origin *o = &g->o[idx];
    if (o->n_addr == 0 || o->forked || o->blocked || memcmp(o->pk, g->cfg.self, HLS_KEY_BYTES) == 0) continue;
    if (o->closed_known && o->closed != 0) continue; /* a key that moved (4.9): its place is under the new one */
    if (o->dialled && g->now_ms - o->last_dial_ms < g->cfg.redial_after_ms) continue;
    if (hls_gossip__session_by_pk(g, o->pk) != NULL) continue;
    o->dialled = true;
    o->last_dial_ms = g->now_ms;
    const char *addr = o->addr[rng_next(&g->rng) % o->n_addr];
    struct hls_gossip_action a = {.type = HLS_GA_DIAL, .origin = o->pk, .address = addr};
    int rc = g->emit(g->emit_ctx, &a);
    if (rc != 0) return rc;
    want--;
  }
  return 0;
}

int hls_gossip_tick(struct hls_gossip *g, uint64_t now_ms) {
  if (now_ms > g->now_ms) g->now_ms = now_ms;
  if (g->n_pforks > 0) {
    int rc = hls_gossip__retry_forks(g);
    if (rc != 0) return rc;
  }
  if (!g->ticked) {
    g->ticked = true;
    g->last_tell_ms = g->last_dial_ms = now_ms;
    return dial_some(g);
  }
  if (g->now_ms - g->last_tell_ms >= g->cfg.vector_interval_ms) {
    g->last_tell_ms = g->now_ms;
    uint32_t idx[HLS_GOSSIP_MAX_VECTOR];
    for (struct hls_gossip_session *s = g->sessions; s; s = s->next) {
      size_t n = 0;
      uint32_t x;
      while (fifo_pop(&s->tellq, &x)) {
        s->so[x].in_tell = 0;
        if (s->so[x].told >= g->o[x].head) continue;
        idx[n++] = x;
        if (n == HLS_GOSSIP_MAX_VECTOR) {
          int rc = hls_gossip__send_vector(g, s, idx, n, true);
          if (rc != 0) return rc;
          n = 0;
        }
      }
      if (n > 0) {
        int rc = hls_gossip__send_vector(g, s, idx, n, true);
        if (rc != 0) return rc;
      }
    }
  }
  if (g->now_ms - g->last_dial_ms >= g->cfg.dial_interval_ms) {
    g->last_dial_ms = g->now_ms;
    return dial_some(g);
  }
  return 0;
}

/* --- blocking ---------------------------------------------------------------- */

int hls_gossip_block(struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES], bool block) {
  if (memcmp(origin, g->cfg.self, HLS_KEY_BYTES) == 0) return HLS_EINVAL;
  int64_t f = hls_gossip__origin_find(g, origin);
  if (f < 0 && !block) return 0;
  if (f < 0) {
    uint32_t idx;
    int rc = hls_gossip__origin_add(g, origin, &idx); /* followed only to be refused */
    if (rc != 0) return rc;
    f = idx;
  }
  if (g->o[f].blocked == block) return 0;
  g->o[f].blocked = block;
  /* Unblocked: tell every peer the head held, so that one that sent more
   * (refused while blocked) sends it again. */
  if (!block)
    for (struct hls_gossip_session *s = g->sessions; s; s = s->next)
      if ((size_t)f < s->so_cap) {
        s->so[f].told = 0;
        hls_gossip__note_head(g, s, (uint32_t)f);
      }
  return 0;
}

/* --- observation ------------------------------------------------------------ */

/* The highest head a connected peer is known to hold for origin i: what
 * this node could still fetch now. (Peers that went away no longer count,
 * so a peer that advertised more than it had cannot leave this node
 * "behind" for ever.) */
static uint64_t best_connected(const struct hls_gossip *g, size_t i) {
  uint64_t best = 0;
  for (const struct hls_gossip_session *s = g->sessions; s; s = s->next)
    if (i < s->so_cap && s->so[i].peer_has > best) best = s->so[i].peer_has;
  return best;
}

void hls_gossip_get_stats(const struct hls_gossip *g, struct hls_gossip_stats *out) {
  *out = g->st;
  out->origins = g->n_o;
  out->sessions = g->n_sessions;
  out->forked = 0;
  out->behind = 0;
  out->vectors_pending = 0;
  for (size_t i = 0; i < g->n_o; i++) {
    if (g->o[i].forked) {
      out->forked++;
      continue;
    }
    if (g->o[i].blocked) continue;
    uint64_t best = best_connected(g, i);
    if (best > g->o[i].head) out->behind += best - g->o[i].head;
  }
  /* and by what peers named that this node did not follow then (beyond
   * what the sessions' vectors of followed origins count already) */
  for (const struct hls_gossip_session *s = g->sessions; s; s = s->next) {
    if (!s->peer_vector_done) out->vectors_pending++;
    for (size_t k = 0; k < s->n_unknown; k++) {
      int64_t f = hls_gossip__origin_find(g, s->unknown[k].pk);
      if (f >= 0 && (g->o[f].forked || g->o[f].blocked)) continue;
      uint64_t have = f >= 0 ? max_u64(g->o[f].head, best_connected(g, (size_t)f)) : 0;
      if (s->unknown[k].head > have) out->behind += s->unknown[k].head - have;
    }
  }
}

void hls_gossip_each_origin(const struct hls_gossip *g, void (*fn)(void *ctx, const struct hls_gossip_origin_info *o),
                            void *ctx) {
  for (size_t i = 0; i < g->n_o; i++) {
    const struct origin *o = &g->o[i];
    uint64_t best = best_connected(g, i);
    struct hls_gossip_origin_info info = {.origin = o->pk, .head = o->head, .best_seen = best > o->head ? best : o->head,
                                          .forked = o->forked, .n_addresses = o->n_addr};
    fn(ctx, &info);
  }
}

uint64_t hls_gossip_head(const struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES]) {
  int64_t f = hls_gossip__origin_find(g, origin);
  return f >= 0 ? g->o[f].head : 0;
}
