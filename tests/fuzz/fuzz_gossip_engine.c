/* The gossip engine (protocol/gossip.h) in a session with a peer the
 * fuzzer speaks for.
 *
 * One engine per input, with a small store (gossip_fixture.h: its own
 * chain, the chain of the peer P, a third origin), connected to P. The
 * input is a list of operations (GOP_* in gossip_fixture.h): frames from
 * the peer, raw or cut from the fixture's genuine chains (in runs of
 * several origins), ticks, reconnects
 * as P (a direct peer) or Q (not), store failures, local publications.
 * After any error the session is closed and a new one opened with the
 * same peer. The store applies the engine's actions and checks, beyond
 * memory safety and leaks:
 *  - every frame sent decodes with the engine's own codecs; an ITEMS frame
 *    holds at most batch_items envelopes in runs (docs/protocol.md 8.1):
 *    each run of one origin, linked, ending on an item that verifies,
 *    each origin at most once; every item sent is one held, with its body
 *    exactly where the audience rules allow it (a peers-audience body
 *    only from this node to P); never more than `window` ITEMS/BODIES
 *    frames unacknowledged;
 *  - an ITEMS or BODIES frame taken is ACKed once: one entry per run, in
 *    order, each the run's origin and the head now held (none for
 *    BODIES); a frame refused is not ACKed;
 *  - nothing is stored that does not verify against its chain: every STORE
 *    extends the held chain (next seq, prev = held head's id) with genuine
 *    items (the fixture's: the fuzzer cannot sign), the last verifying; a
 *    peers body is stored only from its origin;
 *  - a BODY fills a held stub of the same item, of a peers story, from its
 *    origin; an erased body never comes back; ERASE targets are what a
 *    fixture tombstone names, never a tombstone, and a held tombstone's
 *    target is erased; FORK evidence is the held item and a conflicting
 *    one whose signature verifies, recorded once; DIAL never names this
 *    node;
 *  - fork evidence in an ITEMS frame is recorded: at once if the engine
 *    took the frame, by the next tick that succeeds if a store failure
 *    cut the frame short, in any run (the engine keeps what it saw);
 *  - a new origin comes from Q (not a direct peer) only as admit_origin
 *    admitted it (one per run), never when refused;
 *  - the engine's head of every origin is the store's after every event,
 *    errors included; errors are the peer's fault, or the store failure
 *    the input asked for. */
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "gossip.h"
#include "gossip_fixture.h"
#include "wire.h"

#define N_ORIGINS 5 /* SELF, PEER, OTHER (and FORK), NEW1, NEW2 */

struct ostate {
  const uint8_t *pk;
  size_t n;
  const struct gfx_item *it[GFX_MAX_ITEMS];
  int state[GFX_MAX_ITEMS];
  bool forked;
};

struct run {
  const struct gfx *f;
  struct hls_gossip_config cfg;
  struct ostate o[N_ORIGINS];
  struct hls_gossip *g;
  struct hls_gossip_session *s;
  const uint8_t *peer; /* P's or Q's key */
  int fail_store, fail_apply, injected;
  /* admit_origin: Q (not a direct peer) may bring one new origin in a run;
   * q_grant: admitted, and not stored yet */
  int q_admitted;
  bool q_grant;
  /* Fork evidence the engine has seen and must record, by the next tick
   * that succeeds if a store failure got in the way (ostate index) */
  bool fork_due[N_ORIGINS];
  unsigned inflight;
  uint64_t now;
  /* ACK frames the engine sent, and the entries of the last one */
  unsigned acks_sent;
  size_t n_ack;
  struct ack_entry {
    uint8_t origin[HLS_KEY_BYTES];
    uint64_t head;
  } ack[HLS_GOSSIP_MAX_BATCH];
};

static const int chain_of_origin[N_ORIGINS] = {GFX_SELF, GFX_PEER, GFX_OTHER, GFX_NEW1, GFX_NEW2};

static struct ostate *ostate_of(struct run *r, const uint8_t *pk) {
  for (int i = 0; i < N_ORIGINS; i++)
    if (memcmp(r->o[i].pk, pk, HLS_KEY_BYTES) == 0) return &r->o[i];
  return NULL;
}

/* The fixture item of origin pk at seq with this id (either branch). */
static const struct gfx_item *genuine(const struct gfx *f, const uint8_t *pk, uint64_t seq, const uint8_t *id) {
  for (int c = 0; c < GFX_CHAINS; c++) {
    const struct gfx_chain *ch = &f->c[c];
    if (memcmp(ch->pk, pk, HLS_KEY_BYTES) != 0 || seq == 0 || seq > ch->n) continue;
    if (memcmp(ch->it[seq - 1].id, id, HLS_HASH_BYTES) == 0) return &ch->it[seq - 1];
  }
  return NULL;
}

/* --- the store ---------------------------------------------------------------- */

static int st_get(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq, struct hls_gossip_item *out) {
  struct run *r = ctx;
  struct ostate *o = ostate_of(r, origin);
  if (o == NULL || seq == 0 || seq > o->n) return HLS_ENOTFOUND;
  const struct gfx_item *it = o->it[seq - 1];
  memset(out, 0, sizeof *out);
  out->stub = it->stub;
  out->stub_len = it->stub_len;
  if (o->state[seq - 1] == 0) { /* the envelope is the stub's prefix, then the body */
    out->body = it->env + it->stub_len - 1;
    out->body_len = it->len - (it->stub_len - 1);
  }
  out->state = o->state[seq - 1];
  out->audience = it->audience;
  return 0;
}

static int st_stubs(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t after, uint64_t *seqs, size_t max,
                    size_t *n) {
  struct run *r = ctx;
  struct ostate *o = ostate_of(r, origin);
  *n = 0;
  if (o == NULL) return 0;
  for (uint64_t q = after + 1; q <= o->n && *n < max; q++)
    if (o->state[q - 1] == 1 && o->it[q - 1]->audience == HLS_AUD_PEERS) seqs[(*n)++] = q;
  return 0;
}

static bool st_is_direct_peer(void *ctx, const uint8_t pk[HLS_KEY_BYTES]) {
  struct run *r = ctx;
  return memcmp(pk, r->f->c[GFX_PEER].pk, HLS_KEY_BYTES) == 0;
}

/* The engine asks only about the session's peer; P (a direct peer) is
 * never limited, Q brings one new origin at most. */
static bool st_admit_origin(void *ctx, const uint8_t pk[HLS_KEY_BYTES]) {
  struct run *r = ctx;
  FUZZ_CHECK(r->peer != NULL && memcmp(pk, r->peer, HLS_KEY_BYTES) == 0);
  if (memcmp(pk, r->f->q_pk, HLS_KEY_BYTES) != 0) return true;
  if (r->q_admitted >= 1) return false;
  r->q_admitted++;
  r->q_grant = true;
  return true;
}

/* --- checking what the engine sends ------------------------------------------------ */

static void check_sent(struct run *r, const uint8_t *frame, size_t frame_len) {
  FUZZ_CHECK(frame_len > HLS_WIRE_HEADER);
  size_t len = ((size_t)frame[0] << 24) | ((size_t)frame[1] << 16) | ((size_t)frame[2] << 8) | frame[3];
  FUZZ_CHECK(len == frame_len - HLS_WIRE_HEADER);
  const uint8_t *p = frame + HLS_WIRE_HEADER;
  int type;
  FUZZ_CHECK(hls_frame_type(p, len, &type) == 0);
  struct hls_why why;
  bool complete;
  size_t n;
  switch (type) {
    case HLS_GF_VECTOR: {
      static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_VECTOR];
      FUZZ_CHECK(hls_gossip_vector_decode(p, len, &complete, ent, &n, &why) == 0);
      for (size_t i = 0; i < n; i++) {
        struct ostate *o = ostate_of(r, ent[i].origin);
        FUZZ_CHECK(o != NULL && ent[i].head == o->n);
      }
      break;
    }
    case HLS_GF_ITEMS:
    case HLS_GF_BODIES: {
      static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
      FUZZ_CHECK(hls_gossip_items_decode(p, len, type, &complete, envs, &n, &why) == 0);
      if (type == HLS_GF_ITEMS) {
        /* docs/protocol.md 8.1, 8.3: runs of one origin each, linked, each
         * origin at most once, each ending on an item that verifies */
        FUZZ_CHECK(n >= 1 && n <= r->cfg.batch_items);
        for (size_t a = 0, i = 1; i <= n; i++) {
          if (i < n && memcmp(envs[i].h.origin, envs[a].h.origin, HLS_KEY_BYTES) == 0) {
            FUZZ_CHECK(hls_env_check_link(&envs[i - 1], &envs[i]) == 0);
            continue;
          }
          for (size_t k = 0; k < a; k++) FUZZ_CHECK(memcmp(envs[k].h.origin, envs[a].h.origin, HLS_KEY_BYTES) != 0);
          FUZZ_CHECK(hls_env_verify(&envs[i - 1]) == 0);
          a = i;
        }
      }
      for (size_t i = 0; i < n; i++) {
        /* only items this node holds, with the body exactly where the
         * audience rules allow it (8.4) */
        const struct hls_envelope *e = &envs[i];
        struct ostate *o = ostate_of(r, e->h.origin);
        FUZZ_CHECK(o != NULL && e->h.seq >= 1 && e->h.seq <= o->n);
        FUZZ_CHECK(memcmp(o->it[e->h.seq - 1]->id, e->id, HLS_HASH_BYTES) == 0);
        bool own = memcmp(e->h.origin, r->cfg.self, HLS_KEY_BYTES) == 0;
        bool allowed = o->state[e->h.seq - 1] == 0 &&
                       (e->h.audience == HLS_AUD_NETWORK || (own && st_is_direct_peer(r, r->peer)));
        if (type == HLS_GF_ITEMS) FUZZ_CHECK((e->body != NULL) == allowed);
        else FUZZ_CHECK(e->body != NULL && allowed && own && e->h.audience == HLS_AUD_PEERS);
      }
      r->inflight++;
      FUZZ_CHECK(r->inflight <= r->cfg.window);
      break;
    }
    case HLS_GF_ACK: {
      static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_BATCH];
      FUZZ_CHECK(hls_gossip_ack_decode(p, len, ent, &n, &why) == 0);
      r->acks_sent++;
      r->n_ack = n;
      for (size_t i = 0; i < n; i++) {
        memcpy(r->ack[i].origin, ent[i].origin, HLS_KEY_BYTES);
        r->ack[i].head = ent[i].head;
      }
      break;
    }
    case HLS_GF_WANT: {
      static uint64_t seqs[HLS_GOSSIP_MAX_WANT];
      FUZZ_CHECK(hls_gossip_want_decode(p, len, seqs, &n, &why) == 0);
      /* only of the peer's own chain, only stubs of peers stories */
      struct ostate *o = ostate_of(r, r->peer);
      FUZZ_CHECK(o != NULL);
      for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(seqs[i] <= o->n && o->it[seqs[i] - 1]->audience == HLS_AUD_PEERS);
      break;
    }
    default: FUZZ_CHECK(!"the engine sent an unknown frame type");
  }
}

/* --- applying actions ------------------------------------------------------------- */

static bool names_target(const struct gfx *f, const uint8_t *origin, uint64_t target) {
  for (int c = 0; c < GFX_CHAINS; c++) {
    const struct gfx_chain *ch = &f->c[c];
    if (memcmp(ch->pk, origin, HLS_KEY_BYTES) != 0) continue;
    for (size_t i = 0; i < ch->n; i++)
      if (ch->it[i].type == HLS_ENV_TOMBSTONE && ch->it[i].target == target) return true;
  }
  return false;
}

static void check_fork(struct run *r, const struct hls_gossip_action *a) {
  struct hls_envelope ours, theirs;
  FUZZ_CHECK(hls_env_decode(&ours, a->ours, a->ours_len, NULL) == 0);
  FUZZ_CHECK(hls_env_decode(&theirs, a->theirs, a->theirs_len, NULL) == 0);
  /* theirs verifies; ours is held, so genuine, but may be an item whose
   * own signature is broken and that a later one vouches for */
  FUZZ_CHECK(hls_env_verify(&theirs) == 0);
  const struct gfx_item *gi = genuine(r->f, a->origin, ours.h.seq, ours.id);
  FUZZ_CHECK(gi != NULL && (hls_env_verify(&ours) == 0) == gi->sig_ok);
  FUZZ_CHECK(memcmp(ours.h.origin, a->origin, HLS_KEY_BYTES) == 0);
  FUZZ_CHECK(memcmp(theirs.h.origin, a->origin, HLS_KEY_BYTES) == 0);
  FUZZ_CHECK(ours.h.seq == a->seq);
  if (theirs.h.seq == a->seq) FUZZ_CHECK(memcmp(ours.id, theirs.id, HLS_HASH_BYTES) != 0);
  else FUZZ_CHECK(theirs.h.seq == a->seq + 1 && memcmp(theirs.h.prev, ours.id, HLS_HASH_BYTES) != 0);
  struct ostate *o = ostate_of(r, a->origin);
  FUZZ_CHECK(o != NULL && a->seq <= o->n);
  FUZZ_CHECK(memcmp(o->it[a->seq - 1]->id, ours.id, HLS_HASH_BYTES) == 0);
  FUZZ_CHECK(!o->forked); /* recorded once */
  o->forked = true;
}

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct run *r = ctx;
  switch (a->type) {
    case HLS_GA_SEND:
      FUZZ_CHECK(a->session == r->s || r->s == NULL);
      check_sent(r, a->frame, a->frame_len);
      return 0;
    case HLS_GA_STORE: {
      if (r->fail_store) {
        r->fail_store = 0;
        r->injected = HLS_ESTORE;
        return HLS_ESTORE;
      }
      FUZZ_CHECK(a->n >= 1);
      struct ostate *o = ostate_of(r, a->envs[0].h.origin);
      FUZZ_CHECK(o != NULL && !o->forked);
      /* A new origin from Q (not its own chain) only as admitted. */
      if (o->n == 0 && memcmp(r->peer, r->f->q_pk, HLS_KEY_BYTES) == 0 &&
          memcmp(o->pk, r->f->q_pk, HLS_KEY_BYTES) != 0 && memcmp(o->pk, r->f->c[GFX_SELF].pk, HLS_KEY_BYTES) != 0) {
        FUZZ_CHECK(r->q_grant);
        r->q_grant = false;
      }
      for (size_t i = 0; i < a->n; i++) {
        const struct hls_envelope *e = &a->envs[i];
        FUZZ_CHECK(memcmp(e->h.origin, o->pk, HLS_KEY_BYTES) == 0);
        FUZZ_CHECK(e->h.seq == o->n + 1 && o->n < GFX_MAX_ITEMS);
        if (o->n > 0) FUZZ_CHECK(memcmp(e->h.prev, o->it[o->n - 1]->id, HLS_HASH_BYTES) == 0);
        const struct gfx_item *gi = genuine(r->f, e->h.origin, e->h.seq, e->id);
        FUZZ_CHECK(gi != NULL);
        FUZZ_CHECK(a->states[i] == 0 || a->states[i] == 1);
        if (a->states[i] == 0) {
          FUZZ_CHECK(e->body != NULL);
          if (e->h.audience == HLS_AUD_PEERS) FUZZ_CHECK(memcmp(r->peer, e->h.origin, HLS_KEY_BYTES) == 0);
        }
        if (e->h.type == HLS_ENV_TOMBSTONE) FUZZ_CHECK(a->states[i] == 0);
        o->it[o->n] = gi;
        o->state[o->n++] = a->states[i];
      }
      FUZZ_CHECK(hls_env_verify(&a->envs[a->n - 1]) == 0);
      return 0;
    }
    case HLS_GA_BODY: {
      if (r->fail_apply) {
        r->fail_apply = 0;
        r->injected = HLS_ESTORE;
        return HLS_ESTORE;
      }
      const struct hls_envelope *e = &a->envs[0];
      struct ostate *o = ostate_of(r, e->h.origin);
      FUZZ_CHECK(o != NULL && e->h.seq >= 1 && e->h.seq <= o->n);
      FUZZ_CHECK(o->state[e->h.seq - 1] == 1); /* never an erased one, never twice */
      FUZZ_CHECK(memcmp(o->it[e->h.seq - 1]->id, e->id, HLS_HASH_BYTES) == 0);
      FUZZ_CHECK(e->body != NULL && e->h.audience == HLS_AUD_PEERS);
      FUZZ_CHECK(memcmp(r->peer, e->h.origin, HLS_KEY_BYTES) == 0);
      o->state[e->h.seq - 1] = 0;
      return 0;
    }
    case HLS_GA_ERASE: {
      if (r->fail_apply) {
        r->fail_apply = 0;
        r->injected = HLS_ESTORE;
        return HLS_ESTORE;
      }
      struct ostate *o = ostate_of(r, a->origin);
      FUZZ_CHECK(o != NULL && a->seq >= 1 && a->seq <= o->n);
      FUZZ_CHECK(names_target(r->f, a->origin, a->seq));
      o->state[a->seq - 1] = 2;
      return 0;
    }
    case HLS_GA_FORK:
      if (r->fail_apply) {
        r->fail_apply = 0;
        r->injected = HLS_ESTORE;
        return HLS_ESTORE;
      }
      check_fork(r, a);
      return 0;
    case HLS_GA_DIAL:
      FUZZ_CHECK(a->address != NULL && a->address[0] != '\0');
      FUZZ_CHECK(memcmp(a->origin, r->cfg.self, HLS_KEY_BYTES) != 0);
      return 0;
    default: FUZZ_CHECK(!"unknown action");
  }
  return 0;
}

/* --- the run ----------------------------------------------------------------------- */

static void check_heads(struct run *r) {
  for (int i = 0; i < N_ORIGINS; i++) FUZZ_CHECK(hls_gossip_head(r->g, r->o[i].pk) == r->o[i].n);
  /* docs/protocol.md 8.3-8.4: tombstones are held whole and never erased;
   * the target of a held tombstone never has its body held. */
  for (int i = 0; i < N_ORIGINS; i++) {
    const struct ostate *o = &r->o[i];
    for (size_t q = 0; q < o->n; q++) {
      if (o->it[q]->type != HLS_ENV_TOMBSTONE) continue;
      FUZZ_CHECK(o->state[q] == 0);
      uint64_t t = o->it[q]->target;
      FUZZ_CHECK(t >= 1 && t <= q);
      if (o->it[t - 1]->type != HLS_ENV_TOMBSTONE) FUZZ_CHECK(o->state[t - 1] == 2);
    }
  }
  struct hls_gossip_stats st;
  hls_gossip_get_stats(r->g, &st);
  FUZZ_CHECK(st.sessions <= 1 && st.origins <= r->cfg.max_origins);
  uint64_t forked = 0;
  for (int i = 0; i < N_ORIGINS; i++) forked += r->o[i].forked;
  FUZZ_CHECK(st.forked == forked); /* the engine follows what the store says */
}

/* The origins (ostate indexes) of which an ITEMS payload holds fork
 * evidence against what is held (docs/protocol.md 8.3 steps 4-5, 8.5): a
 * run of an origin held and not forked, starting at most at its head + 1,
 * whose newest item up to the head is not the one held, or whose first
 * item follows the head without linking to it; that item verifies. */
static void fork_evidence(struct run *r, const uint8_t *p, size_t len, bool out[N_ORIGINS]) {
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  bool complete;
  size_t n;
  memset(out, 0, N_ORIGINS * sizeof *out);
  if (hls_gossip_items_decode(p, len, HLS_GF_ITEMS, &complete, envs, &n, NULL) != 0) return;
  /* The engine reads no run of a frame whose runs are not linked or that
   * has two runs of one origin (8.3 step 1). */
  for (size_t i = 1; i < n; i++) {
    if (memcmp(envs[i].h.origin, envs[i - 1].h.origin, HLS_KEY_BYTES) == 0) {
      if (hls_env_check_link(&envs[i - 1], &envs[i]) != 0) return;
      continue;
    }
    for (size_t k = 0; k < i; k++)
      if (memcmp(envs[k].h.origin, envs[i].h.origin, HLS_KEY_BYTES) == 0) return;
  }
  for (size_t a = 0, b; a < n; a = b) {
    for (b = a + 1; b < n && memcmp(envs[b].h.origin, envs[a].h.origin, HLS_KEY_BYTES) == 0; b++) continue;
    struct ostate *o = ostate_of(r, envs[a].h.origin);
    uint64_t first = envs[a].h.seq, last = envs[b - 1].h.seq;
    if (o == NULL || o->n == 0 || o->forked || first > o->n + 1) continue;
    const struct hls_envelope *c = NULL;
    if (first <= o->n) {
      uint64_t q = last < o->n ? last : o->n;
      if (memcmp(envs[a + (q - first)].id, o->it[q - 1]->id, HLS_HASH_BYTES) != 0) c = &envs[a + (q - first)];
    } else if (memcmp(envs[a].h.prev, o->it[o->n - 1]->id, HLS_HASH_BYTES) != 0) {
      c = &envs[a];
    }
    if (c != NULL && hls_env_verify(c) == 0) out[o - r->o] = true;
  }
}

static void open_session(struct run *r, const uint8_t *peer) {
  if (r->s != NULL) hls_gossip_disconnected(r->g, r->s);
  r->s = NULL;
  r->peer = peer;
  r->inflight = 0;
  FUZZ_CHECK(hls_gossip_connected(r->g, peer, r, &r->s) == 0);
}

static void after_error(struct run *r, int rc, const struct hls_why *why) {
  if (rc == r->injected) {
    FUZZ_CHECK(!hls_gossip_peer_fault(rc));
  } else {
    FUZZ_CHECK(hls_gossip_peer_fault(rc));
    FUZZ_CHECK(memchr(why->text, '\0', sizeof why->text) != NULL); /* why says what */
    FUZZ_CHECK(rc == HLS_EMALFORMED || rc == HLS_ENONCANON || rc == HLS_ETRAILING || rc == HLS_ETRUNCATED ||
               rc == HLS_ETOOBIG || rc == HLS_EUNSUPPORTED || rc == HLS_EBADSIG || rc == HLS_ECHAIN ||
               rc == HLS_EAUDIENCE);
  }
  open_session(r, r->peer);
}

/* The ACK for an ITEMS or BODIES frame the engine took (docs/protocol.md
 * 8.1): exactly one, sent during the event; for ITEMS one entry per run,
 * in order, each the run's origin and the head now held (0 for an origin
 * not followed); for BODIES none. */
static void check_ack(struct run *r, const uint8_t *p, size_t len, int type, unsigned acks_before) {
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  bool complete;
  size_t n;
  struct hls_why why;
  FUZZ_CHECK(r->acks_sent == acks_before + 1);
  FUZZ_CHECK(hls_gossip_items_decode(p, len, type, &complete, envs, &n, &why) == 0);
  if (type == HLS_GF_BODIES) {
    FUZZ_CHECK(r->n_ack == 0);
    return;
  }
  size_t runs = 0;
  for (size_t a = 0; a < n; runs++) {
    FUZZ_CHECK(runs < r->n_ack);
    FUZZ_CHECK(memcmp(r->ack[runs].origin, envs[a].h.origin, HLS_KEY_BYTES) == 0);
    const struct ostate *o = ostate_of(r, envs[a].h.origin);
    FUZZ_CHECK(r->ack[runs].head == (o != NULL ? o->n : 0));
    size_t i = a + 1;
    while (i < n && memcmp(envs[i].h.origin, envs[a].h.origin, HLS_KEY_BYTES) == 0) i++;
    a = i;
  }
  FUZZ_CHECK(runs == r->n_ack);
}

static void frame_in(struct run *r, const uint8_t *p, size_t len) {
  int type = -1;
  if (hls_frame_type(p, len, &type) == 0 && type == HLS_GF_ACK && r->inflight > 0) r->inflight--;
  struct hls_why why;
  memset(&why, 'x', sizeof why);
  r->injected = 0;
  unsigned acks = r->acks_sent;
  bool evidence[N_ORIGINS] = {false};
  if (type == HLS_GF_ITEMS) fork_evidence(r, p, len, evidence);
  int rc = hls_gossip_frame(r->g, r->s, p, len, &why);
  /* Fork evidence in a frame the engine took is recorded at once; in one
   * a store failure cut short (wherever it sat), by the next tick. After
   * a violation the runs from there on are not read. */
  for (int i = 0; i < N_ORIGINS; i++) {
    if (!evidence[i] || (rc != 0 && rc != r->injected)) continue;
    if (rc == 0) FUZZ_CHECK(r->o[i].forked);
    r->fork_due[i] = true;
  }
  if (rc == 0 && (type == HLS_GF_ITEMS || type == HLS_GF_BODIES)) check_ack(r, p, len, type, acks);
  else FUZZ_CHECK(r->acks_sent == acks); /* no ACK for a frame refused, or one that needs none */
  if (rc != 0) after_error(r, rc, &why);
  r->injected = 0;
}

static void publish(struct run *r) {
  struct ostate *o = &r->o[0];
  const struct gfx_chain *c = &r->f->c[GFX_SELF];
  if (o->n >= c->n) return;
  const struct gfx_item *it = &c->it[o->n];
  o->it[o->n] = it;
  o->state[o->n++] = 0;
  if (it->type == HLS_ENV_TOMBSTONE) o->state[3 - 1] = 2; /* SELF 5 erases 3: the host does it */
  struct hls_why why;
  FUZZ_CHECK(hls_gossip_local_item(r->g, it->env, it->len, &why) == 0);
}

/* GOP_CANNED (gossip_fixture.h): its arguments from data at *pos. */
static void canned(struct run *r, const uint8_t *data, size_t size, size_t *pos) {
  struct gfx_run runs[GFX_MAX_RUNS];
  size_t n_runs = 0;
  uint8_t first_arg = 0, arg;
  do {
    uint8_t sel = *pos < size ? data[(*pos)++] : 0;
    arg = *pos < size ? data[(*pos)++] : 0;
    if (n_runs == 0) first_arg = arg;
    const struct gfx_chain *c = &r->f->c[sel % GFX_CHAINS];
    uint64_t from = (uint64_t)(sel / GFX_CHAINS) % c->n + 1;
    uint64_t to = from + (arg & 7u);
    if (to > c->n) to = c->n;
    runs[n_runs++] = (struct gfx_run){.c = c, .from = from, .to = to, .stub_mask = arg & 0x80 ? ~0u : 0u};
  } while ((arg & 0x10) && n_runs < GFX_MAX_RUNS && *pos < size);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  gfx_items_runs(&sb, first_arg & 0x40 ? HLS_GF_BODIES : HLS_GF_ITEMS, (first_arg & 0x20) != 0, runs, n_runs);
  frame_in(r, (const uint8_t *)sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct run r;
  memset(&r, 0, sizeof r);
  r.f = gfx_get();
  for (int i = 0; i < N_ORIGINS; i++) {
    const struct gfx_chain *c = &r.f->c[chain_of_origin[i]];
    r.o[i].pk = c->pk;
    for (size_t q = 0; q < c->held; q++) {
      r.o[i].it[q] = &c->it[q];
      r.o[i].state[q] = chain_of_origin[i] == GFX_PEER && c->it[q].audience == HLS_AUD_PEERS ? 1 : 0;
    }
    r.o[i].n = c->held;
  }
  hls_gossip_config_init(&r.cfg, r.f->c[GFX_SELF].pk);
  r.cfg.window = 2;
  r.cfg.batch_items = 3;
  r.cfg.max_origins = GFX_MAX_ORIGINS;
  r.cfg.target_connections = 2;
  r.cfg.seed = 1;
  struct hls_gossip_store st = {.ctx = &r, .get = st_get, .stubs = st_stubs, .is_direct_peer = st_is_direct_peer,
                                .admit_origin = st_admit_origin};
  FUZZ_CHECK(hls_gossip_new(&r.g, &r.cfg, &st, emit, &r) == 0);
  for (int i = 0; i < N_ORIGINS; i++) {
    if (r.o[i].n == 0) continue;
    struct hls_profile prof;
    const struct gfx_item *first = r.o[i].it[0];
    struct hls_envelope e;
    FUZZ_CHECK(hls_env_decode(&e, first->env, first->len, NULL) == 0);
    FUZZ_CHECK(hls_profile_decode(&prof, e.body, e.body_len, NULL) == 0);
    FUZZ_CHECK(hls_gossip_load_origin(r.g, r.o[i].pk, r.o[i].n, r.o[i].it[r.o[i].n - 1]->id, false, &prof) == 0);
  }
  open_session(&r, r.f->c[GFX_PEER].pk);
  check_heads(&r);

  size_t pos = 0;
  for (int ops = 0; pos < size && ops < 256; ops++) {
    uint8_t op = data[pos++] % GOP_COUNT;
    switch (op) {
      case GOP_FRAME: {
        size_t len = 0;
        if (pos + 2 <= size) len = (size_t)data[pos] << 8 | data[pos + 1];
        pos = pos + 2 <= size ? pos + 2 : size;
        if (len > size - pos) len = size - pos;
        frame_in(&r, data + pos, len);
        pos += len;
        break;
      }
      case GOP_TICK: {
        uint64_t dt = pos < size ? data[pos++] : 1;
        r.now += dt * 50;
        r.injected = 0;
        int rc = hls_gossip_tick(r.g, r.now);
        FUZZ_CHECK(rc == 0 || rc == r.injected); /* a FORK retried may fail */
        if (rc == 0)
          for (int i = 0; i < N_ORIGINS; i++) FUZZ_CHECK(!r.fork_due[i] || r.o[i].forked);
        r.injected = 0;
        break;
      }
      case GOP_AS_P: open_session(&r, r.f->c[GFX_PEER].pk); break;
      case GOP_AS_Q: open_session(&r, r.f->q_pk); break;
      case GOP_FAIL_STORE: r.fail_store = 1; break;
      case GOP_FAIL_APPLY: r.fail_apply = 1; break;
      case GOP_PUBLISH: publish(&r); break;
      case GOP_CANNED: canned(&r, data, size, &pos); break;
    }
    check_heads(&r);
  }
  hls_gossip_disconnected(r.g, r.s);
  hls_gossip_free(r.g);
  return 0;
}
