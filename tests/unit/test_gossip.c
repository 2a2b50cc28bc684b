/* Unit tests for protocol/gossip.c, the sans-I/O gossip engine.
 *
 * The harness runs a few engines in memory: each node has a store (the
 * chains it holds, implementing struct hls_gossip_store and applying the
 * STORE/BODY/ERASE/FORK actions), and the frames its engine sends go into
 * one FIFO queue that drain() delivers, in order, until it is quiet. A
 * "fake" peer is a session whose frames are captured rather than
 * delivered: tests forge what it says with the pay_* builders and inject().
 *
 * The harness checks, on every event, what must always hold: every frame
 * an engine sends decodes with the engine's own codecs and re-encodes to
 * the same bytes; an ITEMS frame holds at most batch_items envelopes of one
 * origin, consecutive, and its last one verifies; a session never has more
 * than `window` ITEMS/BODIES frames unacknowledged; every STORE extends the
 * held chain (next seq, linked to the head) and ends on an item whose
 * signature verifies; a BODY replaces a stub with the body its header
 * commits to; an erased body never comes back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_build.h"
#include "envelope.h"
#include "gossip.h"
#include "wire.h"

#define MAX_NODES 6

/* --- chains (chain_build.h), as these tests use them ------------------------- */

/* A profile "Place <tag>" with n_addr addresses "10.0.<tag>.<i>:7420". */
static void chain_add_profile(struct chain *c, int tag, size_t n_addr) {
  char place[HLS_PLACE_MAX + 1];
  snprintf(place, sizeof place, "Place %d", tag);
  struct hls_profile p;
  profile_of_place(&p, place);
  p.n_addresses = n_addr;
  for (size_t i = 0; i < n_addr; i++) snprintf(p.addresses[i], sizeof p.addresses[i], "10.0.%d.%zu:7420", tag, i + 1);
  chain_add_profile_of(c, &p);
}

/* A profile, then n-1 items: digests and network stories. */
static void chain_make(struct chain *c, uint8_t seed_byte, size_t n) {
  chain_init(c, seed_byte);
  chain_add_profile(c, seed_byte, 1);
  while (c->n < n) {
    if (c->n % 5 == 0) chain_add_digest(c, (uint32_t)c->n);
    else chain_add_story(c, HLS_AUD_NETWORK, 0);
  }
}

/* Where the signature sits in an envelope: after [0x93, header, 0xc4 0x40]. */
static uint8_t *sig_of(struct blob *b) {
  struct hls_envelope e;
  decode_ok(&e, b->p, b->len);
  size_t off = (size_t)(e.header_bytes - b->p) + e.header_len;
  assert_int_equal(b->p[off], 0xc4);
  assert_int_equal(b->p[off + 1], 64);
  return b->p + off + 2;
}

/* Break the signature of the chain's newest item, keeping the chain linked
 * to it (later items link to the item as it now is). */
static void chain_break_last_sig(struct chain *c) {
  struct blob *b = &c->env[c->n - 1];
  sig_of(b)[5] ^= 0x01;
  struct hls_envelope e;
  decode_ok(&e, b->p, b->len);
  assert_int_equal(hls_env_verify(&e), HLS_EBADSIG);
  memcpy(c->prev, e.id, HLS_HASH_BYTES);
}

/* --- frame payloads (what a forging peer says) ---------------------------------- */

static void pk_ok(int rc) { assert_int_equal(rc, 0); }

static void pay_items(msgpack_sbuffer *sb, int type, bool complete, const struct blob *const *env, size_t n) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, type == HLS_GF_ITEMS ? 2 : 3));
  pk_ok(msgpack_pack_uint32(&pk, (uint32_t)type));
  if (type == HLS_GF_BODIES) pk_ok(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  pk_ok(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    pk_ok(msgpack_pack_bin(&pk, env[i]->len));
    pk_ok(msgpack_pack_bin_body(&pk, env[i]->p, env[i]->len));
  }
}

/* ITEMS of seqs from..to of c (full envelopes). */
static void pay_items_range(msgpack_sbuffer *sb, const struct chain *c, uint64_t from, uint64_t to) {
  const struct blob *v[HLS_GOSSIP_MAX_BATCH];
  size_t n = 0;
  for (uint64_t q = from; q <= to; q++) v[n++] = chain_at(c, q);
  pay_items(sb, HLS_GF_ITEMS, true, v, n);
}

static void pay_acks(msgpack_sbuffer *sb, const struct hls_gossip_vector_entry *e, size_t n) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, 2));
  pk_ok(msgpack_pack_uint32(&pk, HLS_GF_ACK));
  pk_ok(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    pk_ok(msgpack_pack_array(&pk, 2));
    pk_ok(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    pk_ok(msgpack_pack_bin_body(&pk, e[i].origin, HLS_KEY_BYTES));
    pk_ok(msgpack_pack_uint64(&pk, e[i].head));
  }
}

/* An ACK of one run. */
static void pay_ack(msgpack_sbuffer *sb, const uint8_t origin[HLS_KEY_BYTES], uint64_t head) {
  struct hls_gossip_vector_entry e = {.origin = origin, .head = head};
  pay_acks(sb, &e, 1);
}

static void pay_want(msgpack_sbuffer *sb, const uint64_t *seqs, size_t n) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, 2));
  pk_ok(msgpack_pack_uint32(&pk, HLS_GF_WANT));
  pk_ok(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) pk_ok(msgpack_pack_uint64(&pk, seqs[i]));
}

static void pay_vector(msgpack_sbuffer *sb, bool complete, const uint8_t (*origins)[HLS_KEY_BYTES],
                       const uint64_t *heads, size_t n) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, 3));
  pk_ok(msgpack_pack_uint32(&pk, HLS_GF_VECTOR));
  pk_ok(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  pk_ok(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    pk_ok(msgpack_pack_array(&pk, 2));
    pk_ok(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    pk_ok(msgpack_pack_bin_body(&pk, origins[i], HLS_KEY_BYTES));
    pk_ok(msgpack_pack_uint64(&pk, heads[i]));
  }
}

/* --- the in-memory store of a node ------------------------------------------ */

struct held {
  struct blob stub, body; /* body.p NULL unless held */
  int state, audience, type;
  uint8_t id[HLS_HASH_BYTES];
};

struct ochain {
  uint8_t origin[HLS_KEY_BYTES];
  struct held *it; /* it[seq-1] */
  size_t n, cap;
  bool forked;
};

struct world;

struct dial {
  uint8_t pk[HLS_KEY_BYTES];
  char address[HLS_PROFILE_ADDRESS_MAX + 1];
  uint64_t now;
};

struct node {
  const char *name;
  struct key key;
  struct world *w;
  struct hls_gossip_config cfg;
  struct hls_gossip *g;
  struct ochain *oc;
  size_t n_oc, cap_oc;
  uint8_t direct[8][HLS_KEY_BYTES];
  size_t n_direct;
  uint8_t stewards[4][HLS_KEY_BYTES]; /* whose rekey items it takes */
  size_t n_stewards;
  /* Strict views: every store call invalidates (poisons) the views the
   * previous get handed out, as the store contract allows. */
  bool strict_views;
  struct blob *views;
  size_t n_views, cap_views;
  int fail_store; /* the next STORE returns this */
  int fail_erase; /* the next ERASE returns this */
  int fail_fork;  /* the next FORK returns this */
  int n_blocked_succ; /* store.blocked_successor calls, and the last new key */
  uint8_t blocked_succ_new[HLS_KEY_BYTES];
  /* what the engine did */
  int n_store_actions, n_items_stored, n_body, n_erase, n_fork, n_dial, n_store_failed;
  uint64_t last_erase_ms; /* the timestamp of the tombstone of the last ERASE (receipts) */
  struct fork_rec { /* the FORKs recorded, in order */
    uint8_t origin[HLS_KEY_BYTES];
    uint64_t seq;
    bool reported;                   /* by another node's fork item */
    uint8_t reporter[HLS_KEY_BYTES]; /* if reported */
    uint64_t report_seq;
    struct blob ours, theirs;
  } forks[4];
  struct dial dials[64];
};

/* One direction of a session: from's session towards to (NULL: a fake
 * peer the test speaks for; what from sends it is captured). */
struct link {
  struct node *from, *to;
  uint8_t to_pk[HLS_KEY_BYTES];
  struct hls_gossip_session *s;
  struct link *rev;
  bool open;
  int unacked, max_unacked;
  int frames[32];       /* frames sent, by type */
  int vector_entries;   /* entries in the VECTOR frames sent */
  size_t max_batch;     /* most envelopes in one ITEMS frame */
  struct blob *cap; /* fake peer: the payloads sent to it */
  size_t n_cap, cap_cap;
  bool hold; /* keep what from sends (in cap) until release() */
};

struct msg {
  struct link *l;
  struct blob p; /* payload, header stripped */
};

struct world {
  struct node *nodes[MAX_NODES];
  size_t n_nodes;
  struct link **links;
  size_t n_links, cap_links;
  struct msg *q;
  size_t qh, qt, qcap;
  uint64_t now;
  bool allow_errors;
  int errors, last_err;
  struct hls_why last_why;
};

static struct ochain *oc_find(struct node *n, const uint8_t origin[HLS_KEY_BYTES]) {
  for (size_t i = 0; i < n->n_oc; i++)
    if (memcmp(n->oc[i].origin, origin, HLS_KEY_BYTES) == 0) return &n->oc[i];
  return NULL;
}

static struct ochain *oc_get(struct node *n, const uint8_t origin[HLS_KEY_BYTES]) {
  struct ochain *c = oc_find(n, origin);
  if (c != NULL) return c;
  if (n->n_oc == n->cap_oc) {
    n->cap_oc = n->cap_oc ? n->cap_oc * 2 : 16;
    n->oc = realloc(n->oc, n->cap_oc * sizeof *n->oc);
    assert_non_null(n->oc);
  }
  c = &n->oc[n->n_oc++];
  memset(c, 0, sizeof *c);
  memcpy(c->origin, origin, HLS_KEY_BYTES);
  return c;
}

static uint64_t held_head(struct node *n, const uint8_t origin[HLS_KEY_BYTES]) {
  struct ochain *c = oc_find(n, origin);
  return c ? c->n : 0;
}

static struct held *held_at(struct node *n, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq) {
  struct ochain *c = oc_find(n, origin);
  return c != NULL && seq >= 1 && seq <= c->n ? &c->it[seq - 1] : NULL;
}

/* Append a decoded envelope to the held chain (state HLS_BODY_HELD or
 * HLS_BODY_STUB). The harness's own invariant: it must extend the chain. */
static void held_append(struct node *n, const struct hls_envelope *e, int state) {
  struct ochain *c = oc_get(n, e->h.origin);
  if (e->h.seq != c->n + 1)
    fail_msg("%s: STORE seq %llu onto a chain of %zu", n->name, (unsigned long long)e->h.seq, c->n);
  if (c->n > 0) {
    struct hls_envelope prev;
    decode_ok(&prev, c->it[c->n - 1].stub.p, c->it[c->n - 1].stub.len);
    if (hls_env_check_link(&prev, e) != 0) fail_msg("%s: STORE of seq %llu does not link", n->name,
                                                    (unsigned long long)e->h.seq);
  }
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->it = realloc(c->it, c->cap * sizeof *c->it);
    assert_non_null(c->it);
  }
  struct held *h = &c->it[c->n++];
  memset(h, 0, sizeof *h);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_env_encode_stub(&sb, e), 0);
  h->stub = blob_copy(sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  if (state == HLS_BODY_HELD) {
    if (e->body == NULL) fail_msg("%s: STORE of a held body without one", n->name);
    h->body = blob_copy(e->body, e->body_len);
  }
  h->state = state;
  h->audience = e->h.audience;
  h->type = e->h.type;
  memcpy(h->id, e->id, HLS_HASH_BYTES);
}

/* Put items from..to of c into n's store directly (before node_start):
 * bodies held (HLS_BODY_HELD), or stubs for peers-audience items if
 * peers_as_stubs. */
static void node_hold(struct node *n, const struct chain *c, uint64_t from, uint64_t to, bool peers_as_stubs) {
  for (uint64_t q = from; q <= to; q++) {
    struct hls_envelope e;
    decode_ok(&e, chain_at(c, q)->p, chain_at(c, q)->len);
    held_append(n, &e, peers_as_stubs && e.h.audience == HLS_AUD_PEERS ? 1 : 0);
  }
}

static void views_poison(struct node *n) {
  for (size_t i = 0; i < n->n_views; i++) memset(n->views[i].p, 0xee, n->views[i].len);
}

static const uint8_t *view(struct node *n, const struct blob *b) {
  if (!n->strict_views) return b->p;
  if (n->n_views == n->cap_views) {
    n->cap_views = n->cap_views ? n->cap_views * 2 : 64;
    n->views = realloc(n->views, n->cap_views * sizeof *n->views);
    assert_non_null(n->views);
  }
  n->views[n->n_views] = blob_copy(b->p, b->len);
  return n->views[n->n_views++].p;
}

static int st_get(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq, struct hls_gossip_item *out) {
  struct node *n = ctx;
  views_poison(n);
  struct held *h = held_at(n, origin, seq);
  if (h == NULL) return HLS_ENOTFOUND;
  memset(out, 0, sizeof *out);
  out->stub = view(n, &h->stub);
  out->stub_len = h->stub.len;
  if (h->body.p != NULL) {
    out->body = view(n, &h->body);
    out->body_len = h->body.len;
  }
  out->state = h->state;
  out->audience = h->audience;
  return 0;
}

static int st_stubs(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t after, uint64_t *seqs, size_t max,
                    size_t *count) {
  struct node *n = ctx;
  views_poison(n);
  *count = 0;
  struct ochain *c = oc_find(n, origin);
  if (c == NULL) return 0;
  for (uint64_t q = after + 1; q <= c->n && *count < max; q++)
    if (c->it[q - 1].state == HLS_BODY_STUB && c->it[q - 1].audience == HLS_AUD_PEERS) seqs[(*count)++] = q;
  return 0;
}

static bool is_direct(const struct node *n, const uint8_t pk[HLS_KEY_BYTES]) {
  for (size_t i = 0; i < n->n_direct; i++)
    if (memcmp(n->direct[i], pk, HLS_KEY_BYTES) == 0) return true;
  return false;
}

static bool st_is_direct_peer(void *ctx, const uint8_t pk[HLS_KEY_BYTES]) {
  struct node *n = ctx;
  views_poison(n);
  return is_direct(n, pk);
}

static bool st_may_rekey(void *ctx, const uint8_t origin[HLS_KEY_BYTES]) {
  struct node *n = ctx;
  views_poison(n);
  for (size_t i = 0; i < n->n_stewards; i++)
    if (memcmp(n->stewards[i], origin, HLS_KEY_BYTES) == 0) return true;
  return false;
}

/* --- sending and checking frames ---------------------------------------------- */

static void q_push(struct world *w, struct link *l, const uint8_t *p, size_t len) {
  if (w->qt == w->qcap) {
    if (w->qh > 0) {
      memmove(w->q, w->q + w->qh, (w->qt - w->qh) * sizeof *w->q);
      w->qt -= w->qh;
      w->qh = 0;
    } else {
      w->qcap = w->qcap ? w->qcap * 2 : 256;
      w->q = realloc(w->q, w->qcap * sizeof *w->q);
      assert_non_null(w->q);
    }
  }
  w->q[w->qt++] = (struct msg){l, blob_copy(p, len)};
}

/* Re-encode a decoded frame with the pay_* builders: it must give the same
 * bytes (the engine's output is canonical). */
static void check_frame(struct node *n, struct link *l, const uint8_t *p, size_t len) {
  int type;
  assert_int_equal(hls_frame_type(p, len, &type), 0);
  struct hls_why why = {{0}};
  msgpack_sbuffer re;
  int rc = 0;
  switch (type) {
    case HLS_GF_VECTOR: {
      static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_VECTOR];
      static uint8_t origins[HLS_GOSSIP_MAX_VECTOR][HLS_KEY_BYTES];
      static uint64_t heads[HLS_GOSSIP_MAX_VECTOR];
      bool complete;
      size_t cnt;
      rc = hls_gossip_vector_decode(p, len, &complete, ent, &cnt, &why);
      if (rc != 0) break;
      for (size_t i = 0; i < cnt; i++) {
        memcpy(origins[i], ent[i].origin, HLS_KEY_BYTES);
        heads[i] = ent[i].head;
      }
      pay_vector(&re, complete, (const uint8_t(*)[HLS_KEY_BYTES])origins, heads, cnt);
      l->vector_entries += (int)cnt;
      break;
    }
    case HLS_GF_ITEMS:
    case HLS_GF_BODIES: {
      static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
      static struct blob bl[HLS_GOSSIP_MAX_BATCH];
      const struct blob *v[HLS_GOSSIP_MAX_BATCH];
      bool complete;
      size_t cnt;
      rc = hls_gossip_items_decode(p, len, type, &complete, envs, &cnt, &why);
      if (rc != 0) break;
      for (size_t i = 0; i < cnt; i++) {
        msgpack_sbuffer e;
        msgpack_sbuffer_init(&e);
        if (envs[i].body != NULL) assert_int_equal(hls_env_encode(&e, &envs[i], envs[i].body, envs[i].body_len), 0);
        else assert_int_equal(hls_env_encode_stub(&e, &envs[i]), 0);
        bl[i] = blob_copy(e.data, e.size);
        v[i] = &bl[i];
        msgpack_sbuffer_destroy(&e);
      }
      pay_items(&re, type, complete, v, cnt);
      for (size_t i = 0; i < cnt; i++) free(bl[i].p);
      if (type == HLS_GF_ITEMS) {
        if (cnt > n->cfg.batch_items) fail_msg("%s: ITEMS of %zu > batch_items %u", n->name, cnt, n->cfg.batch_items);
        if (cnt > l->max_batch) l->max_batch = cnt;
        /* Runs of one origin each, linked, each origin once, each run
         * ending on an item whose own signature verifies. */
        for (size_t a = 0, i = 1; i <= cnt; i++) {
          if (i < cnt && memcmp(envs[i].h.origin, envs[a].h.origin, HLS_KEY_BYTES) == 0) {
            if (hls_env_check_link(&envs[i - 1], &envs[i]) != 0) fail_msg("%s: ITEMS run not linked", n->name);
            continue;
          }
          for (size_t b = 0; b < a; b++)
            if (memcmp(envs[b].h.origin, envs[a].h.origin, HLS_KEY_BYTES) == 0)
              fail_msg("%s: ITEMS with two runs of one origin", n->name);
          if (hls_env_verify(&envs[i - 1]) != 0)
            fail_msg("%s: ITEMS run ends on seq %llu, whose signature does not verify", n->name,
                     (unsigned long long)envs[i - 1].h.seq);
          a = i;
        }
      }
      /* A peers-audience body goes only from its origin to its direct peers. */
      for (size_t i = 0; i < cnt; i++) {
        if (envs[i].body == NULL || envs[i].h.audience != HLS_AUD_PEERS) continue;
        if (memcmp(envs[i].h.origin, n->key.pk, HLS_KEY_BYTES) != 0 || !is_direct(n, l->to_pk))
          fail_msg("%s: sent a peers-audience body it may not", n->name);
      }
      if (++l->unacked > l->max_unacked) l->max_unacked = l->unacked;
      if (l->unacked > (int)n->cfg.window) fail_msg("%s: %d frames unacked > window %u", n->name, l->unacked,
                                                   n->cfg.window);
      break;
    }
    case HLS_GF_ACK: {
      static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_BATCH];
      size_t cnt;
      rc = hls_gossip_ack_decode(p, len, ent, &cnt, &why);
      if (rc == 0) pay_acks(&re, ent, cnt);
      break;
    }
    case HLS_GF_WANT: {
      static uint64_t seqs[HLS_GOSSIP_MAX_WANT];
      size_t cnt;
      rc = hls_gossip_want_decode(p, len, seqs, &cnt, &why);
      if (rc == 0) pay_want(&re, seqs, cnt);
      break;
    }
    default: fail_msg("%s: sent a frame of type %d", n->name, type);
  }
  if (rc != 0) fail_msg("%s: its own frame of type %d does not decode: %s (%s)", n->name, type, hls_err_name(rc),
                        why.text);
  if (re.size != len || memcmp(re.data, p, len) != 0) fail_msg("%s: frame of type %d is not canonical", n->name, type);
  msgpack_sbuffer_destroy(&re);
  l->frames[type - HLS_FRAME_GOSSIP_FIRST]++;
}

static int frame_count(const struct link *l, int type) { return l->frames[type - HLS_FRAME_GOSSIP_FIRST]; }

static void on_send(struct node *n, const struct hls_gossip_action *a) {
  struct link *l = a->session_ctx;
  assert_non_null(l);
  assert_ptr_equal(l->from, n);
  assert_true(a->frame_len > HLS_WIRE_HEADER);
  size_t len = ((size_t)a->frame[0] << 24) | ((size_t)a->frame[1] << 16) | ((size_t)a->frame[2] << 8) | a->frame[3];
  assert_int_equal(len, a->frame_len - HLS_WIRE_HEADER);
  const uint8_t *p = a->frame + HLS_WIRE_HEADER;
  check_frame(n, l, p, len);
  if (l->to == NULL || l->hold) {
    if (l->n_cap == l->cap_cap) {
      l->cap_cap = l->cap_cap ? l->cap_cap * 2 : 16;
      l->cap = realloc(l->cap, l->cap_cap * sizeof *l->cap);
      assert_non_null(l->cap);
    }
    l->cap[l->n_cap++] = blob_copy(p, len);
  } else {
    q_push(n->w, l, p, len);
  }
}

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct node *n = ctx;
  switch (a->type) {
    case HLS_GA_SEND: on_send(n, a); return 0;
    case HLS_GA_STORE: {
      if (n->fail_store != 0) {
        int rc = n->fail_store;
        n->fail_store = 0;
        n->n_store_failed++;
        return rc;
      }
      assert_true(a->n >= 1);
      for (size_t i = 0; i < a->n; i++) held_append(n, &a->envs[i], a->states[i]);
      if (hls_env_verify(&a->envs[a->n - 1]) != 0) fail_msg("%s: STORE ends on an item that does not verify", n->name);
      n->n_store_actions++;
      n->n_items_stored += (int)a->n;
      return 0;
    }
    case HLS_GA_BODY: {
      const struct hls_envelope *e = &a->envs[0];
      struct held *h = held_at(n, e->h.origin, e->h.seq);
      if (h == NULL) fail_msg("%s: BODY for an item not held", n->name);
      if (h->state == HLS_BODY_ERASED)
        fail_msg("%s: BODY for an erased item (seq %llu)", n->name, (unsigned long long)e->h.seq);
      if (h->state != HLS_BODY_STUB) fail_msg("%s: BODY for an item whose body is held", n->name);
      if (memcmp(h->id, e->id, HLS_HASH_BYTES) != 0 || e->body == NULL) fail_msg("%s: BODY of another item", n->name);
      h->body = blob_copy(e->body, e->body_len);
      h->state = HLS_BODY_HELD;
      n->n_body++;
      return 0;
    }
    case HLS_GA_ERASE: {
      if (n->fail_erase != 0) {
        int rc = n->fail_erase;
        n->fail_erase = 0;
        return rc;
      }
      struct held *h = held_at(n, a->origin, a->seq);
      if (h == NULL) fail_msg("%s: ERASE of an item not held", n->name);
      free(h->body.p);
      h->body = (struct blob){NULL, 0};
      h->state = HLS_BODY_ERASED;
      n->n_erase++;
      n->last_erase_ms = a->timestamp_ms;
      return 0;
    }
    case HLS_GA_FORK: {
      if (n->fail_fork != 0) {
        int rc = n->fail_fork;
        n->fail_fork = 0;
        return rc;
      }
      /* A reported fork may name an origin this node holds nothing of. */
      struct ochain *c = a->reporter != NULL ? oc_get(n, a->origin) : oc_find(n, a->origin);
      if (c == NULL) fail_msg("%s: FORK of an origin not held", n->name);
      if (c->forked) fail_msg("%s: FORK of an origin recorded as forked already", n->name);
      if (n->n_fork == 4) fail_msg("%s: more than 4 FORKs", n->name);
      c->forked = true;
      struct fork_rec *f = &n->forks[n->n_fork++];
      memcpy(f->origin, a->origin, HLS_KEY_BYTES);
      f->seq = a->seq;
      f->ours = blob_copy(a->ours, a->ours_len);
      f->theirs = blob_copy(a->theirs, a->theirs_len);
      f->reported = a->reporter != NULL;
      if (f->reported) memcpy(f->reporter, a->reporter, HLS_KEY_BYTES);
      f->report_seq = a->report_seq;
      return 0;
    }
    case HLS_GA_DIAL: {
      assert_true(n->n_dial < 64);
      struct dial *d = &n->dials[n->n_dial++];
      memcpy(d->pk, a->origin, HLS_KEY_BYTES);
      assert_non_null(a->address);
      assert_true(strlen(a->address) <= HLS_PROFILE_ADDRESS_MAX);
      strcpy(d->address, a->address);
      d->now = n->w->now;
      return 0;
    }
    default: fail_msg("%s: action of type %d", n->name, a->type);
  }
  return 0;
}

/* --- nodes, sessions and delivery ------------------------------------------------ */

static struct hls_gossip_config test_config(const uint8_t self[HLS_KEY_BYTES]) {
  struct hls_gossip_config c;
  hls_gossip_config_init(&c, self);
  c.window = 4;
  c.batch_items = 16;
  return c;
}

static struct node *node_new(struct world *w, const char *name, uint8_t seed_byte) {
  assert_true(w->n_nodes < MAX_NODES);
  struct node *n = calloc(1, sizeof *n);
  assert_non_null(n);
  n->name = name;
  n->w = w;
  key_make(&n->key, seed_byte);
  n->cfg = test_config(n->key.pk);
  n->cfg.seed = seed_byte;
  w->nodes[w->n_nodes++] = n;
  return n;
}

static void node_direct(struct node *n, const struct node *peer) {
  assert_true(n->n_direct < 8);
  memcpy(n->direct[n->n_direct++], peer->key.pk, HLS_KEY_BYTES);
}

/* The latest profile held with a body, decoded into p. */
static bool latest_profile(const struct ochain *c, struct hls_profile *p) {
  for (size_t i = c->n; i > 0; i--) {
    const struct held *h = &c->it[i - 1];
    if (h->type == HLS_ENV_PROFILE && h->body.p != NULL)
      return hls_profile_decode(p, h->body.p, h->body.len, NULL) == 0;
  }
  return false;
}

/* Make the engine and load what the store holds. */
/* The seq of the origin's successor held, 0 if none (as hlsd's store
 * index: docs/protocol.md 4.9). */
static int st_successor_seq(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t *seq) {
  struct node *n = ctx;
  *seq = 0;
  for (uint64_t q = 1;; q++) {
    struct held *h = held_at(n, origin, q);
    if (h == NULL) return 0;
    if (h->type == HLS_ENV_SUCCESSOR) {
      *seq = q;
      return 0;
    }
  }
}

static void st_blocked_successor(void *ctx, const uint8_t origin[HLS_KEY_BYTES], const uint8_t new_id[HLS_KEY_BYTES]) {
  struct node *n = ctx;
  (void)origin;
  n->n_blocked_succ++;
  memcpy(n->blocked_succ_new, new_id, HLS_KEY_BYTES);
}

static void node_start(struct node *n) {
  struct hls_gossip_store st = {.ctx = n, .get = st_get, .stubs = st_stubs, .is_direct_peer = st_is_direct_peer,
                                .may_rekey = st_may_rekey,
                                .successor_seq = st_successor_seq, .blocked_successor = st_blocked_successor};
  assert_int_equal(hls_gossip_new(&n->g, &n->cfg, &st, emit, n), 0);
  for (size_t i = 0; i < n->n_oc; i++) {
    const struct ochain *c = &n->oc[i];
    struct hls_profile p;
    bool has = latest_profile(c, &p);
    int rc = hls_gossip_load_origin(n->g, c->origin, c->n, c->n ? c->it[c->n - 1].id : NULL, c->forked,
                                    has ? &p : NULL);
    assert_int_equal(rc, 0);
  }
}

static struct link *link_new(struct world *w, struct node *from, struct node *to, const uint8_t to_pk[HLS_KEY_BYTES]) {
  if (w->n_links == w->cap_links) {
    w->cap_links = w->cap_links ? w->cap_links * 2 : 16;
    w->links = realloc(w->links, w->cap_links * sizeof *w->links);
    assert_non_null(w->links);
  }
  struct link *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->from = from;
  l->to = to;
  memcpy(l->to_pk, to_pk, HLS_KEY_BYTES);
  l->open = true;
  w->links[w->n_links++] = l;
  return l;
}

/* Open a session between a and b; returns a's side (rev is b's). */
static struct link *connect_nodes(struct world *w, struct node *a, struct node *b) {
  struct link *ab = link_new(w, a, b, b->key.pk), *ba = link_new(w, b, a, a->key.pk);
  ab->rev = ba;
  ba->rev = ab;
  assert_int_equal(hls_gossip_connected(a->g, b->key.pk, ab, &ab->s), 0);
  assert_int_equal(hls_gossip_connected(b->g, a->key.pk, ba, &ba->s), 0);
  return ab;
}

/* A session of a with a fake peer pk: the test speaks for the peer. */
static struct link *connect_fake(struct world *w, struct node *a, const uint8_t pk[HLS_KEY_BYTES]) {
  struct link *l = link_new(w, a, NULL, pk);
  assert_int_equal(hls_gossip_connected(a->g, pk, l, &l->s), 0);
  return l;
}

static void link_close(struct link *l) {
  if (l->open) {
    hls_gossip_disconnected(l->from->g, l->s);
    l->open = false;
  }
  if (l->rev != NULL && l->rev->open) {
    hls_gossip_disconnected(l->rev->from->g, l->rev->s);
    l->rev->open = false;
  }
}

/* The fake peer says payload to l->from. */
static int inject(struct link *l, const msgpack_sbuffer *payload, struct hls_why *why) {
  memset(why, 0, sizeof *why);
  return hls_gossip_frame(l->from->g, l->s, (const uint8_t *)payload->data, payload->size, why);
}

/* Inject and free the payload; the result code. */
static int inject_free(struct link *l, msgpack_sbuffer *payload) {
  struct hls_why why;
  int rc = inject(l, payload, &why);
  msgpack_sbuffer_destroy(payload);
  return rc;
}

/* The fake peer's empty, complete vector: the node may now send to it. */
static void fake_hello(struct link *l) {
  msgpack_sbuffer sb;
  pay_vector(&sb, true, NULL, NULL, 0);
  assert_int_equal(inject_free(l, &sb), 0);
}

/* Queue what a held link kept, in order, and stop holding. */
static void release(struct world *w, struct link *l) {
  for (size_t i = 0; i < l->n_cap; i++) {
    q_push(w, l, l->cap[i].p, l->cap[i].len);
    free(l->cap[i].p);
  }
  l->n_cap = 0;
  l->hold = false;
}

static bool deliver_one(struct world *w) {
  if (w->qh == w->qt) return false;
  struct msg m = w->q[w->qh++];
  struct link *l = m.l;
  if (l->open && l->rev->open) {
    int type = -1;
    assert_int_equal(hls_frame_type(m.p.p, m.p.len, &type), 0);
    if (type == HLS_GF_ACK) l->rev->unacked--;
    struct hls_why why = {{0}};
    int rc = hls_gossip_frame(l->to->g, l->rev->s, m.p.p, m.p.len, &why);
    if (rc != 0) {
      if (!w->allow_errors)
        fail_msg("%s -> %s: frame type %d: %s (%s)", l->from->name, l->to->name, type, hls_err_name(rc), why.text);
      w->errors++;
      w->last_err = rc;
      w->last_why = why;
      link_close(l);
    }
  }
  free(m.p.p);
  return true;
}

static void drain(struct world *w) {
  for (size_t i = 0; deliver_one(w); i++)
    if (i > 1000000) fail_msg("the network never went quiet");
}

static void tick_all(struct world *w, uint64_t now) {
  w->now = now;
  for (size_t i = 0; i < w->n_nodes; i++)
    if (w->nodes[i]->g != NULL) assert_int_equal(hls_gossip_tick(w->nodes[i]->g, now), 0);
}

/* Tell the engine of node n that c's newest item (c is n's own chain,
 * the item already in n's store) was published. */
static void engine_publish(struct node *n, const struct chain *c) {
  const struct blob *b = chain_at(c, c->n);
  struct hls_why why = {{0}};
  int rc = hls_gossip_local_item(n->g, b->p, b->len, &why);
  if (rc != 0) fail_msg("local_item: %s (%s)", hls_err_name(rc), why.text);
}

/* The node publishes c's newest item: into its store, then the engine. */
static void node_publish(struct node *n, const struct chain *c) {
  struct hls_envelope e;
  const struct blob *b = chain_at(c, c->n);
  decode_ok(&e, b->p, b->len);
  held_append(n, &e, 0);
  engine_publish(n, c);
}

static struct world *world_new(void) {
  struct world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  return w;
}

static void node_free(struct node *n) {
  hls_gossip_free(n->g);
  for (size_t i = 0; i < n->n_oc; i++) {
    for (size_t j = 0; j < n->oc[i].n; j++) {
      free(n->oc[i].it[j].stub.p);
      free(n->oc[i].it[j].body.p);
    }
    free(n->oc[i].it);
  }
  free(n->oc);
  for (size_t i = 0; i < n->n_views; i++) free(n->views[i].p);
  free(n->views);
  for (int i = 0; i < n->n_fork; i++) {
    free(n->forks[i].ours.p);
    free(n->forks[i].theirs.p);
  }
  free(n);
}

static void world_free(struct world *w) {
  while (w->qh < w->qt) free(w->q[w->qh++].p.p);
  free(w->q);
  for (size_t i = 0; i < w->n_links; i++) {
    struct link *l = w->links[i];
    if (l->open) hls_gossip_disconnected(l->from->g, l->s);
    for (size_t j = 0; j < l->n_cap; j++) free(l->cap[j].p);
    free(l->cap);
    free(l);
  }
  free(w->links);
  for (size_t i = 0; i < w->n_nodes; i++) node_free(w->nodes[i]);
  free(w);
}

/* n holds exactly c's first `upto` items (ids equal), with bodies as
 * expected (enum hls_body_state per item). */
static void assert_holds(struct node *n, const struct chain *c, uint64_t upto) {
  assert_int_equal(held_head(n, c->k.pk), upto);
  assert_int_equal(hls_gossip_head(n->g, c->k.pk), upto);
  for (uint64_t q = 1; q <= upto; q++) {
    struct hls_envelope e;
    decode_ok(&e, chain_at(c, q)->p, chain_at(c, q)->len);
    assert_memory_equal(held_at(n, c->k.pk, q)->id, e.id, HLS_HASH_BYTES);
  }
}

static int state_of(struct node *n, const struct chain *c, uint64_t seq) {
  struct held *h = held_at(n, c->k.pk, seq);
  assert_non_null(h);
  return h->state;
}

static uint64_t stat_verifications(const struct node *n) {
  struct hls_gossip_stats st;
  hls_gossip_get_stats(n->g, &st);
  return st.verifications;
}

/* The last frame captured from a fake link, of the given type (NULL: none). */
static const struct blob *last_captured(const struct link *l, int type) {
  for (size_t i = l->n_cap; i > 0; i--) {
    int t;
    if (hls_frame_type(l->cap[i - 1].p, l->cap[i - 1].len, &t) == 0 && t == type) return &l->cap[i - 1];
  }
  return NULL;
}

/* ============================================================================ */
/* codecs                                                                        */
/* ============================================================================ */

/* Every error a gossip decoder or hls_gossip_frame may give for bad input. */
static void assert_wire_code(int rc) {
  if (rc != 0 && rc != HLS_ENONCANON && rc != HLS_ETRAILING && rc != HLS_ETRUNCATED && rc != HLS_ETOOBIG &&
      rc != HLS_EUNSUPPORTED && rc != HLS_EMALFORMED && rc != HLS_EBADSIG && rc != HLS_ECHAIN && rc != HLS_EAUDIENCE)
    fail_msg("gave %s, not a wire error", hls_err_name(rc));
}

/* A decoder's result on bad or good bytes: a wire code, and a terminated
 * why when it failed. */
static void check_decoded(int rc, const struct hls_why *why) {
  assert_wire_code(rc);
  if (rc != 0) assert_non_null(memchr(why->text, 0, sizeof why->text));
}

/* Run every decoder on bytes: no crash, only wire codes, why terminated. */
static void decode_all(const uint8_t *p, size_t len) {
  static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_VECTOR];
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  static uint64_t seqs[HLS_GOSSIP_MAX_WANT];
  struct hls_why why;
  bool complete;
  size_t n;
  memset(&why, 'x', sizeof why);
  check_decoded(hls_gossip_vector_decode(p, len, &complete, ent, &n, &why), &why);
  memset(&why, 'x', sizeof why);
  check_decoded(hls_gossip_items_decode(p, len, HLS_GF_ITEMS, &complete, envs, &n, &why), &why);
  memset(&why, 'x', sizeof why);
  check_decoded(hls_gossip_items_decode(p, len, HLS_GF_BODIES, &complete, envs, &n, &why), &why);
  memset(&why, 'x', sizeof why);
  {
    static struct hls_gossip_vector_entry aent[HLS_GOSSIP_MAX_BATCH];
    check_decoded(hls_gossip_ack_decode(p, len, aent, &n, &why), &why);
  }
  memset(&why, 'x', sizeof why);
  check_decoded(hls_gossip_want_decode(p, len, seqs, &n, &why), &why);
}

/* A with 2 origins (one its own, with a peers story), B a direct peer:
 * every frame type goes by, and each re-encodes exactly (check_frame). */
static void test_codec_roundtrip(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own, other;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 2);
  chain_add_story(&own, HLS_AUD_PEERS, 0);
  chain_add_story(&own, HLS_AUD_NETWORK, 0);
  chain_make(&other, 9, 40);
  node_hold(a, &own, 1, 3, false);
  node_hold(a, &other, 1, 40, false);
  node_hold(c, &own, 1, 3, true); /* C holds A's peers story as a stub */
  node_direct(a, c);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  struct link *ca = connect_nodes(w, c, a);
  drain(w);
  assert_holds(b, &own, 3);
  assert_holds(b, &other, 40);
  /* C asked A for the body of its stub and got it. */
  assert_int_equal(frame_count(ca, HLS_GF_WANT), 1);
  assert_int_equal(frame_count(ca->rev, HLS_GF_BODIES), 1);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_HELD);
  for (int t = HLS_GF_VECTOR; t <= HLS_GF_BODIES; t++) {
    int seen = 0;
    for (size_t i = 0; i < w->n_links; i++) seen += frame_count(w->links[i], t);
    if (seen == 0) fail_msg("no frame of type %d went by", t);
  }
  chain_free(&own);
  chain_free(&other);
  world_free(w);
}

/* A payload built byte by byte. */
struct raw {
  uint8_t b[8192];
  size_t n;
};

static void raw_put(struct raw *r, const void *p, size_t n) {
  assert_true(r->n + n <= sizeof r->b);
  memcpy(r->b + r->n, p, n);
  r->n += n;
}

static void raw_byte(struct raw *r, uint8_t x) { raw_put(r, &x, 1); }

static void raw_key(struct raw *r, uint8_t fill) {
  uint8_t k[HLS_KEY_BYTES];
  memset(k, fill, sizeof k);
  raw_byte(r, 0xc4);
  raw_byte(r, HLS_KEY_BYTES);
  raw_put(r, k, sizeof k);
}

/* The decoders' answer for each class of bad input. CODE(got, expect):
 * strict, exactly expect (docs/protocol.md section 1: non_canonical,
 * truncated, and too_large for a count over a limit, as VECTOR and ITEMS
 * do); lenient, also malformed in their place. */
#define CODE(got, expect) want_code((got), (expect), strict, __LINE__)

static void want_code(int got, int expect, bool strict, int line) {
  if (got == expect) return;
  if (!strict && got == HLS_EMALFORMED &&
      (expect == HLS_ENONCANON || expect == HLS_ETRUNCATED || expect == HLS_ETOOBIG))
    return;
  fail_msg("line %d: got %s, expected %s", line, hls_err_name(got), hls_err_name(expect));
}

static void codec_errors(bool strict) {
  struct hls_why why;
  bool complete;
  size_t n;
  static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_VECTOR];
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  static uint64_t seqs[HLS_GOSSIP_MAX_WANT];
  struct raw r;

  /* ACK [18, [[origin, head]]]: good, then each class of fault. */
  static struct hls_gossip_vector_entry aent[HLS_GOSSIP_MAX_BATCH];
  size_t an;
#define ACK1(r) raw_byte(r, 0x92), raw_byte(r, 18), raw_byte(r, 0x91), raw_byte(r, 0x92)
  r.n = 0;
  ACK1(&r), raw_key(&r, 0x11), raw_byte(&r, 5);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), 0);
  assert_int_equal(an, 1);
  assert_int_equal(aent[0].head, 5);
  assert_int_equal(aent[0].origin[0], 0x11);
  CODE(hls_gossip_ack_decode(r.b, r.n - 1, aent, &an, &why), HLS_ETRUNCATED);
  raw_byte(&r, 0xc0);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_ETRAILING);
  r.n = 0; /* no entries: the ACK of a BODIES frame */
  raw_byte(&r, 0x92), raw_byte(&r, 18), raw_byte(&r, 0x90);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), 0);
  assert_int_equal(an, 0);
  r.n = 0; /* head 5 as uint8: non-canonical */
  ACK1(&r), raw_key(&r, 0x11), raw_byte(&r, 0xcc), raw_byte(&r, 5);
  CODE(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_ENONCANON);
  r.n = 0; /* origin of 31 bytes */
  ACK1(&r), raw_byte(&r, 0xc4), raw_byte(&r, 31);
  for (int i = 0; i < 31; i++) raw_byte(&r, 1);
  raw_byte(&r, 5);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_EMALFORMED);
  r.n = 0; /* head as a string */
  ACK1(&r), raw_key(&r, 0x11), raw_byte(&r, 0xa1), raw_byte(&r, '5');
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_EMALFORMED);
  r.n = 0; /* the old shape [18, origin, head] */
  raw_byte(&r, 0x93), raw_byte(&r, 18), raw_key(&r, 0x11), raw_byte(&r, 5);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_EMALFORMED);
  r.n = 0; /* another frame type */
  raw_byte(&r, 0x92), raw_byte(&r, 17), raw_byte(&r, 0x91), raw_byte(&r, 0x92), raw_key(&r, 0x11), raw_byte(&r, 5);
  assert_int_equal(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_EMALFORMED);
  r.n = 0; /* type 18 as uint16: non-canonical */
  raw_byte(&r, 0x92), raw_byte(&r, 0xcd), raw_byte(&r, 0), raw_byte(&r, 18), raw_byte(&r, 0x90);
  CODE(hls_gossip_ack_decode(r.b, r.n, aent, &an, &why), HLS_ENONCANON);
#undef ACK1

  /* VECTOR */
  r.n = 0;
  raw_byte(&r, 0x93), raw_byte(&r, 16), raw_byte(&r, 0xc3), raw_byte(&r, 0x92);
  raw_byte(&r, 0x92), raw_key(&r, 1), raw_byte(&r, 7);
  raw_byte(&r, 0x92), raw_key(&r, 2), raw_byte(&r, 0xcd), raw_byte(&r, 0x01), raw_byte(&r, 0x00);
  assert_int_equal(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), 0);
  assert_true(complete);
  assert_int_equal(n, 2);
  assert_int_equal(ent[0].head, 7);
  assert_int_equal(ent[1].head, 256);
  CODE(hls_gossip_vector_decode(r.b, r.n - 1, &complete, ent, &n, &why), HLS_ETRUNCATED);
  raw_byte(&r, 0);
  assert_int_equal(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), HLS_ETRAILING);
  r.n = 0; /* head 0 */
  raw_byte(&r, 0x93), raw_byte(&r, 16), raw_byte(&r, 0xc2), raw_byte(&r, 0x91), raw_byte(&r, 0x92), raw_key(&r, 1),
      raw_byte(&r, 0);
  assert_int_equal(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), HLS_EMALFORMED);
  r.n = 0; /* complete as 1 */
  raw_byte(&r, 0x93), raw_byte(&r, 16), raw_byte(&r, 1), raw_byte(&r, 0x90);
  assert_int_equal(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), HLS_EMALFORMED);
  r.n = 0; /* entry of 3 */
  raw_byte(&r, 0x93), raw_byte(&r, 16), raw_byte(&r, 0xc3), raw_byte(&r, 0x91), raw_byte(&r, 0x93), raw_key(&r, 1),
      raw_byte(&r, 1), raw_byte(&r, 1);
  assert_int_equal(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), HLS_EMALFORMED);
  r.n = 0; /* list count as array16 of 2: non-canonical */
  raw_byte(&r, 0x93), raw_byte(&r, 16), raw_byte(&r, 0xc3), raw_byte(&r, 0xdc), raw_byte(&r, 0), raw_byte(&r, 1),
      raw_byte(&r, 0x92), raw_key(&r, 1), raw_byte(&r, 1);
  CODE(hls_gossip_vector_decode(r.b, r.n, &complete, ent, &n, &why), HLS_ENONCANON);
  {
    /* 1025 entries: too large. */
    msgpack_sbuffer sb;
    static uint8_t many[HLS_GOSSIP_MAX_VECTOR + 1][HLS_KEY_BYTES];
    static uint64_t heads[HLS_GOSSIP_MAX_VECTOR + 1];
    for (size_t i = 0; i <= HLS_GOSSIP_MAX_VECTOR; i++) heads[i] = 1;
    pay_vector(&sb, true, (const uint8_t(*)[HLS_KEY_BYTES])many, heads, HLS_GOSSIP_MAX_VECTOR + 1);
    assert_int_equal(hls_gossip_vector_decode((const uint8_t *)sb.data, sb.size, &complete, ent, &n, &why),
                     HLS_ETOOBIG);
    msgpack_sbuffer_destroy(&sb);
    pay_vector(&sb, true, (const uint8_t(*)[HLS_KEY_BYTES])many, heads, HLS_GOSSIP_MAX_VECTOR);
    assert_int_equal(hls_gossip_vector_decode((const uint8_t *)sb.data, sb.size, &complete, ent, &n, &why), 0);
    assert_int_equal(n, HLS_GOSSIP_MAX_VECTOR);
    msgpack_sbuffer_destroy(&sb);
  }

  /* WANT */
  uint64_t ok[3] = {1, 5, 300};
  msgpack_sbuffer sb;
  pay_want(&sb, ok, 3);
  assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), 0);
  assert_int_equal(n, 3);
  assert_int_equal(seqs[2], 300);
  CODE(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size - 1, seqs, &n, &why), HLS_ETRUNCATED);
  msgpack_sbuffer_destroy(&sb);
  uint64_t zero[2] = {0, 1}, desc[2] = {5, 4}, same[2] = {4, 4};
  pay_want(&sb, zero, 2);
  assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  pay_want(&sb, desc, 2);
  assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  pay_want(&sb, same, 2);
  assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  pay_want(&sb, NULL, 0);
  assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  {
    static uint64_t many[HLS_GOSSIP_MAX_WANT + 1];
    for (size_t i = 0; i <= HLS_GOSSIP_MAX_WANT; i++) many[i] = i + 1;
    pay_want(&sb, many, HLS_GOSSIP_MAX_WANT);
    assert_int_equal(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), 0);
    msgpack_sbuffer_destroy(&sb);
    pay_want(&sb, many, HLS_GOSSIP_MAX_WANT + 1);
    CODE(hls_gossip_want_decode((const uint8_t *)sb.data, sb.size, seqs, &n, &why), HLS_ETOOBIG);
    msgpack_sbuffer_destroy(&sb);
  }

  /* ITEMS and BODIES */
  struct chain c;
  chain_make(&c, 4, 3);
  const struct blob *v[3] = {chain_at(&c, 1), chain_at(&c, 2), chain_at(&c, 3)};
  pay_items(&sb, HLS_GF_ITEMS, true, v, 3);
  assert_int_equal(hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_ITEMS, &complete, envs, &n, &why),
                   0);
  assert_int_equal(n, 3);
  assert_int_equal(envs[2].h.seq, 3);
  CODE(
      hls_gossip_items_decode((const uint8_t *)sb.data, sb.size - 1, HLS_GF_ITEMS, &complete, envs, &n, &why),
      HLS_ETRUNCATED);
  /* as BODIES: wrong shape */
  assert_int_equal(
      hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_BODIES, &complete, envs, &n, &why),
      HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  pay_items(&sb, HLS_GF_ITEMS, true, v, 0);
  assert_int_equal(hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_ITEMS, &complete, envs, &n, &why),
                   HLS_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);
  pay_items(&sb, HLS_GF_BODIES, false, v, 0);
  assert_int_equal(
      hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_BODIES, &complete, envs, &n, &why), 0);
  assert_false(complete);
  assert_int_equal(n, 0);
  msgpack_sbuffer_destroy(&sb);
  {
    /* 1025 envelopes (the count is refused before any is read). */
    static const struct blob *many[HLS_GOSSIP_MAX_BATCH + 1];
    for (size_t i = 0; i <= HLS_GOSSIP_MAX_BATCH; i++) many[i] = chain_at(&c, 1);
    pay_items(&sb, HLS_GF_ITEMS, true, many, HLS_GOSSIP_MAX_BATCH + 1);
    assert_int_equal(
        hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_ITEMS, &complete, envs, &n, &why),
        HLS_ETOOBIG);
    msgpack_sbuffer_destroy(&sb);
    pay_items(&sb, HLS_GF_ITEMS, true, many, HLS_GOSSIP_MAX_BATCH);
    assert_int_equal(
        hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_ITEMS, &complete, envs, &n, &why), 0);
    msgpack_sbuffer_destroy(&sb);
  }
  /* An envelope that is not canonical inside: its own code comes through. */
  struct blob bad = blob_copy(chain_at(&c, 2)->p, chain_at(&c, 2)->len);
  struct raw e2;
  e2.n = 0;
  /* seq 2 (0x02) as 0xcc 0x02: rebuild the envelope with one more byte */
  {
    struct hls_envelope e;
    decode_ok(&e, bad.p, bad.len);
    size_t hdr_at = (size_t)(e.header_bytes - bad.p);
    /* header = 0x98 01 type c4 20 <32> seq ... */
    size_t seq_at = hdr_at + 1 + 1 + 1 + 2 + HLS_KEY_BYTES;
    assert_int_equal(bad.p[seq_at], 2);
    raw_put(&e2, bad.p, seq_at);
    raw_byte(&e2, 0xcc);
    raw_put(&e2, bad.p + seq_at, bad.len - seq_at);
  }
  struct blob nc = {e2.b, e2.n};
  const struct blob *vn[1] = {&nc};
  pay_items(&sb, HLS_GF_ITEMS, true, vn, 1);
  CODE(hls_gossip_items_decode((const uint8_t *)sb.data, sb.size, HLS_GF_ITEMS, &complete, envs, &n, &why),
                   HLS_ENONCANON);
  msgpack_sbuffer_destroy(&sb);
  free(bad.p);
  chain_free(&c);
}

static void test_codec_errors(void **state) {
  (void)state;
  codec_errors(false);
}

static void test_codec_error_codes(void **state) {
  (void)state;
  codec_errors(true);
}

#undef CODE

/* Truncations and byte flips of real frames: every decoder and the engine
 * give wire codes only, never crash; the engine's errors are peer faults. */
static void test_codec_mutations(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1);
  struct chain c;
  chain_make(&c, 5, 6);
  node_hold(a, &c, 1, 4, false);
  node_start(a);
  msgpack_sbuffer frames[5];
  uint8_t origins[1][HLS_KEY_BYTES];
  memcpy(origins[0], c.k.pk, HLS_KEY_BYTES);
  uint64_t heads[1] = {4}, want[2] = {2, 3};
  pay_vector(&frames[0], true, (const uint8_t(*)[HLS_KEY_BYTES])origins, heads, 1);
  pay_items_range(&frames[1], &c, 3, 6);
  pay_ack(&frames[2], c.k.pk, 4);
  pay_want(&frames[3], want, 2);
  const struct blob *v[1] = {chain_at(&c, 2)};
  pay_items(&frames[4], HLS_GF_BODIES, true, v, 1);
  for (int f = 0; f < 5; f++) {
    const uint8_t *p = (const uint8_t *)frames[f].data;
    size_t len = frames[f].size;
    static uint8_t m[8192];
    assert_true(len <= sizeof m);
    for (size_t cut = 0; cut <= len; cut++) decode_all(p, cut);
    for (size_t i = 0; i < len; i++) {
      for (int bit = 0; bit < 8; bit += 3) {
        memcpy(m, p, len);
        m[i] ^= (uint8_t)(1u << bit);
        decode_all(m, len);
        /* and through a fresh session of the engine */
        struct link *l = connect_fake(w, a, origins[0]);
        struct hls_why why = {{0}};
        int rc = hls_gossip_frame(a->g, l->s, m, len, &why);
        assert_wire_code(rc);
        if (rc != 0) assert_true(hls_gossip_peer_fault(rc));
        link_close(l);
        assert_int_equal(hls_gossip_head(a->g, c.k.pk), held_head(a, c.k.pk));
      }
    }
    msgpack_sbuffer_destroy(&frames[f]);
  }
  /* the engine only ever stored genuine items (held_append checks links) */
  assert_holds(a, &c, held_head(a, c.k.pk));
  chain_free(&c);
  world_free(w);
}

/* ============================================================================ */
/* reconciliation                                                                */
/* ============================================================================ */

/* A holds 1000 items of 3 origins, B none: B gets them all, in ITEMS of at
 * most batch_items, never more than window unacked, with about one
 * signature verification per batch. */
static void test_converge_1000(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain c[3];
  size_t sizes[3] = {400, 350, 250};
  for (int i = 0; i < 3; i++) {
    chain_make(&c[i], (uint8_t)(10 + i), sizes[i]);
    node_hold(a, &c[i], 1, sizes[i], false);
  }
  node_start(a);
  node_start(b);
  struct link *ab = connect_nodes(w, a, b);
  drain(w);
  size_t batches = 0;
  for (int i = 0; i < 3; i++) {
    assert_holds(b, &c[i], sizes[i]);
    for (uint64_t q = 1; q <= sizes[i]; q++) assert_int_equal(state_of(b, &c[i], q), HLS_BODY_HELD);
    batches += (sizes[i] + a->cfg.batch_items - 1) / a->cfg.batch_items;
  }
  assert_int_equal(b->n_items_stored, 1000);
  assert_int_equal(frame_count(ab, HLS_GF_ITEMS), (int)batches);
  assert_int_equal(ab->max_batch, a->cfg.batch_items);
  assert_int_equal(ab->max_unacked, (int)a->cfg.window); /* pipelined, never more */
  assert_int_equal(ab->unacked, 0);
  assert_int_equal(frame_count(ab->rev, HLS_GF_ACK), (int)batches);
  uint64_t ver = stat_verifications(b);
  if (ver > batches + 3) fail_msg("B made %llu verifications for %zu batches", (unsigned long long)ver, batches);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.items_received, 1000);
  assert_int_equal(st.origins, 3);
  assert_int_equal(st.behind, 0);
  /* A's heads did not move; B has nothing for A */
  assert_int_equal(frame_count(ab->rev, HLS_GF_ITEMS), 0);
  for (int i = 0; i < 3; i++) chain_free(&c[i]);
  world_free(w);
}

/* A fresh node is behind by every item its direct peer's vector names,
 * chains it does not follow yet included, from the moment the whole
 * vector has arrived: `hls sync` stops when behind and vectors_pending
 * are 0, so counting only followed chains made it report "up to date" at
 * once (issue 13). Frame by frame: before the vector, vectors_pending is
 * 1; after it, behind + items held is 1,000 until all have arrived. A
 * peer that is not a direct one (not listed) is not taken at its word for
 * chains not followed (any member could name 100,000 made-up ones): the
 * same exchange then counts them only as they arrive. */
static void check_behind_counts(bool direct) {
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  if (direct) node_direct(b, a);
  struct chain c[3];
  size_t sizes[3] = {400, 350, 250};
  for (int i = 0; i < 3; i++) {
    chain_make(&c[i], (uint8_t)(10 + i), sizes[i]);
    node_hold(a, &c[i], 1, sizes[i], false);
  }
  node_start(a);
  node_start(b);
  (void)connect_nodes(w, a, b);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.vectors_pending, 1);
  size_t checked = 0;
  while (deliver_one(w)) {
    hls_gossip_get_stats(b->g, &st);
    if (st.vectors_pending == 0 && b->n_items_stored < 1000) {
      if (direct) assert_int_equal(st.behind + b->n_items_stored, 1000);
      else assert_true(st.behind + b->n_items_stored < 1000);
      checked++;
    }
  }
  assert_true(checked > 0);
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(b->n_items_stored, 1000);
  assert_int_equal(st.behind, 0);
  assert_int_equal(st.vectors_pending, 0);
  for (int i = 0; i < 3; i++) chain_free(&c[i]);
  world_free(w);
}

static void test_behind_counts_chains_not_followed(void **state) {
  (void)state;
  check_behind_counts(true);
  check_behind_counts(false);
}

/* Both sides hold parts of each other's chains: after one exchange, both
 * hold the union. */
static void test_converge_both_ways(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain x, y;
  chain_make(&x, 20, 50);
  chain_make(&y, 21, 50);
  node_hold(a, &x, 1, 50, false);
  node_hold(a, &y, 1, 10, false);
  node_hold(b, &x, 1, 20, false);
  node_hold(b, &y, 1, 50, false);
  node_start(a);
  node_start(b);
  struct link *ab = connect_nodes(w, a, b);
  drain(w);
  assert_holds(a, &y, 50);
  assert_holds(b, &x, 50);
  /* nothing B already held went over */
  assert_int_equal(b->n_items_stored, 30);
  assert_int_equal(a->n_items_stored, 40);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.items_duplicate, 0);
  assert_int_equal(ab->unacked, 0);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

/* Blocking an origin (hls peer block): in a line A - B - C, A's chain
 * reaches B and C; B blocks A; A's next items stop at B (refused when
 * pushed and not counted as behind), and C, which joins B only now, gets
 * none of A's chain from B. Unblocked, B takes the rest from A. */
static void test_block_origin(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own;
  chain_init(&own, 1); /* A's own key */
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0);
  node_hold(a, &own, 1, 2, false);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &own, 2);
  assert_int_equal(hls_gossip_block(b->g, own.k.pk, true), 0);
  assert_int_equal(hls_gossip_block(b->g, own.k.pk, true), 0); /* twice: the same */
  for (int i = 0; i < 3; i++) {
    chain_add_story(&own, HLS_AUD_NETWORK, 0);
    node_publish(a, &own);
  }
  drain(w);
  tick_all(w, 1000);
  drain(w);
  assert_holds(b, &own, 2);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_true(st.items_blocked >= 3);
  assert_int_equal(st.behind, 0);
  connect_nodes(w, b, c);
  drain(w);
  tick_all(w, 2000);
  drain(w);
  assert_int_equal(hls_gossip_head(c->g, own.k.pk), 0);
  assert_int_equal(held_head(c, own.k.pk), 0);
  assert_int_equal(hls_gossip_block(b->g, own.k.pk, false), 0);
  drain(w);
  tick_all(w, 3000);
  drain(w);
  assert_holds(b, &own, own.n);
  assert_int_equal(hls_gossip_block(b->g, b->cfg.self, true), HLS_EINVAL);
  chain_free(&own);
  world_free(w);
}

/* A-B-C in a line: A's new item reaches B and, through B, C, without a tick. */
static void test_eager_push(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own;
  chain_init(&own, 1); /* A's own key */
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0);
  node_hold(a, &own, 1, 2, false);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  connect_nodes(w, b, c);
  drain(w);
  assert_holds(c, &own, 2);
  for (int i = 0; i < 3; i++) {
    chain_add_story(&own, HLS_AUD_NETWORK, 0);
    node_publish(a, &own);
    drain(w); /* no tick */
    assert_holds(b, &own, own.n);
    assert_holds(c, &own, own.n);
  }
  /* three publications in a row, then one drain */
  for (int i = 0; i < 3; i++) {
    chain_add_story(&own, HLS_AUD_NETWORK, 0);
    node_publish(a, &own);
  }
  drain(w);
  assert_holds(c, &own, own.n);
  chain_free(&own);
  world_free(w);
}

static int vector_entries_total(struct world *w) {
  int n = 0;
  for (size_t i = 0; i < w->n_links; i++) n += w->links[i]->vector_entries;
  return n;
}

static int vector_frames_total(struct world *w) {
  int n = 0;
  for (size_t i = 0; i < w->n_links; i++) n += frame_count(w->links[i], HLS_GF_VECTOR);
  return n;
}

/* After convergence a tick tells only the heads that changed, and only to
 * peers that do not know them; a quiet tick sends nothing. */
static void test_vector_deltas(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain o, p;
  chain_make(&o, 30, 10);
  chain_make(&p, 31, 8);
  node_hold(a, &o, 1, 5, false);
  node_hold(a, &p, 1, 8, false);
  node_hold(b, &o, 1, 10, false);
  node_hold(b, &p, 1, 8, false);
  node_hold(c, &o, 1, 10, false);
  node_hold(c, &p, 1, 8, false);
  node_start(a);
  node_start(b);
  node_start(c);
  struct link *ab = connect_nodes(w, a, b);
  struct link *ac = connect_nodes(w, a, c);
  drain(w);
  assert_holds(a, &o, 10);
  tick_all(w, 1000); /* the first tick only starts the timers */
  int v0 = vector_frames_total(w), e0 = vector_entries_total(w);
  tick_all(w, 1000 + a->cfg.vector_interval_ms);
  drain(w);
  /* A's head of O moved (5 -> 10) with the items of the peer it got them
   * from first; at most it tells the other one, and only O. */
  assert_true(vector_entries_total(w) - e0 <= 1);
  assert_true(vector_frames_total(w) - v0 <= 1);
  assert_true(frame_count(ab, HLS_GF_VECTOR) + frame_count(ac, HLS_GF_VECTOR) <= 3);
  /* quiet: nothing */
  int v1 = vector_frames_total(w);
  tick_all(w, 1000 + 2 * a->cfg.vector_interval_ms);
  tick_all(w, 1000 + 3 * a->cfg.vector_interval_ms);
  drain(w);
  assert_int_equal(vector_frames_total(w), v1);
  /* B gets a new item of P from its own source (a fake session): B pushes
   * it to A, A to C; nobody needs a VECTOR entry for it except where a
   * peer holds it already. */
  chain_add_story(&p, HLS_AUD_NETWORK, 0);
  struct link *fb = connect_fake(w, b, p.k.pk);
  fake_hello(fb);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &p, 9, 9);
  assert_int_equal(inject_free(fb, &sb), 0);
  drain(w);
  assert_holds(a, &p, 9);
  assert_holds(c, &p, 9);
  int e2 = vector_entries_total(w);
  tick_all(w, 1000 + 4 * a->cfg.vector_interval_ms);
  drain(w);
  assert_true(vector_entries_total(w) - e2 <= 1); /* at most P, once */
  int v3 = vector_frames_total(w);
  tick_all(w, 1000 + 5 * a->cfg.vector_interval_ms);
  drain(w);
  assert_int_equal(vector_frames_total(w), v3);
  chain_free(&o);
  chain_free(&p);
  world_free(w);
}

/* docs/protocol.md 8.2 step 6: a delta VECTOR carries the heads that moved
 * and that the peer has not learnt of by items or ACKs. A gets O 6..10 from
 * B and from C, and ACKs C's copy with head 10: C learnt it; no tick
 * tells C (or B) anything. */
static void test_vector_deltas_after_ack(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain o;
  chain_make(&o, 30, 10);
  node_hold(a, &o, 1, 5, false);
  node_hold(b, &o, 1, 10, false);
  node_hold(c, &o, 1, 10, false);
  node_start(a);
  node_start(b);
  node_start(c);
  struct link *ab = connect_nodes(w, a, b);
  struct link *ac = connect_nodes(w, a, c);
  drain(w);
  assert_holds(a, &o, 10);
  /* both sent 6..10, A ACKed both with 10 */
  assert_int_equal(frame_count(ab->rev, HLS_GF_ITEMS), 1);
  assert_int_equal(frame_count(ac->rev, HLS_GF_ITEMS), 1);
  tick_all(w, 1000);
  int e0 = vector_entries_total(w);
  tick_all(w, 1000 + a->cfg.vector_interval_ms);
  drain(w);
  assert_int_equal(vector_entries_total(w) - e0, 0);
  chain_free(&o);
  world_free(w);
}

/* ============================================================================ */
/* audience                                                                      */
/* ============================================================================ */

static void make_peers_chain(struct chain *own, uint8_t seed) {
  chain_init(own, seed);
  chain_add_profile(own, seed, 1);
  chain_add_story(own, HLS_AUD_PEERS, 0);  /* seq 2: peers only */
  chain_add_story(own, HLS_AUD_NETWORK, 0); /* seq 3 */
}

/* A's peers story goes with its body to a direct peer B, as a stub to a
 * non-direct peer, and B relays only the stub to C. */
static void test_audience(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3), *d = node_new(w, "D", 4);
  struct chain own;
  make_peers_chain(&own, 1);
  node_hold(a, &own, 1, 3, false);
  node_direct(a, b);
  node_start(a);
  node_start(b);
  node_start(c);
  node_start(d);
  connect_nodes(w, a, b); /* direct */
  connect_nodes(w, b, c);
  connect_nodes(w, a, d); /* not direct */
  drain(w);
  assert_holds(b, &own, 3);
  assert_holds(c, &own, 3);
  assert_holds(d, &own, 3);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_HELD);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_STUB);
  assert_int_equal(state_of(c, &own, 3), HLS_BODY_HELD);
  assert_int_equal(state_of(d, &own, 3), HLS_BODY_HELD);
  assert_int_equal(d->n_body, 0);
  chain_free(&own);
  world_free(w);
}

/* B relays the body of A's peers story: C refuses it, as a new item and as
 * a body for a stub it holds; nothing is stored. */
static void test_audience_relay_refused(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *c = node_new(w, "C", 3), *b = node_new(w, "B", 2); /* B: a fake peer's key */
  struct chain own;
  make_peers_chain(&own, 1); /* A's */
  node_start(c);
  /* new items [1..3] with the peers body, from B */
  struct link *cb = connect_fake(w, c, b->key.pk);
  fake_hello(cb);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &own, 1, 3);
  struct hls_why why;
  int rc = inject(cb, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  /* Logged and counted against B by this name: a protocol violation,
   * not a file-permission problem. */
  assert_int_equal(rc, HLS_EAUDIENCE);
  assert_string_equal(hls_err_name(rc), "audience_violation");
  assert_true(hls_gossip_peer_fault(rc));
  assert_int_equal(c->n_store_actions, 0);
  assert_int_equal(hls_gossip_head(c->g, own.k.pk), 0);
  link_close(cb);
  /* C holds the stub; B sends the full envelope again */
  cb = connect_fake(w, c, b->key.pk);
  fake_hello(cb);
  struct blob s2 = stub_of(chain_at(&own, 2));
  const struct blob *v[3] = {chain_at(&own, 1), &s2, chain_at(&own, 3)};
  pay_items(&sb, HLS_GF_ITEMS, true, v, 3);
  assert_int_equal(inject_free(cb, &sb), 0);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  pay_items_range(&sb, &own, 2, 2);
  rc = inject(cb, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(rc, HLS_EAUDIENCE);
  assert_true(hls_gossip_peer_fault(rc));
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  assert_int_equal(c->n_body, 0);
  link_close(cb);
  free(s2.p);
  chain_free(&own);
  world_free(w);
}

/* D, a direct peer of A, first gets A's peers story as a stub from C; once
 * connected to A it asks (WANT) and gets the body (BODIES). Then the same
 * when D is already connected to A and the stub comes later from C. */
static void test_audience_body_from_origin(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *c = node_new(w, "C", 3), *d = node_new(w, "D", 4);
  struct chain own;
  make_peers_chain(&own, 1);
  node_hold(a, &own, 1, 3, false);
  node_direct(a, d);
  node_start(a);
  node_start(c);
  node_start(d);
  connect_nodes(w, a, c);
  drain(w);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  connect_nodes(w, c, d);
  drain(w);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_STUB);
  struct link *da = connect_nodes(w, d, a);
  drain(w);
  assert_int_equal(frame_count(da, HLS_GF_WANT), 1);
  assert_int_equal(frame_count(da->rev, HLS_GF_BODIES), 1);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_HELD);
  assert_int_equal(d->n_body, 1);
  assert_int_equal(da->rev->unacked, 0);

  /* A publishes a second peers story while A-D is up: D gets its body
   * from A, C a stub. */
  chain_add_story(&own, HLS_AUD_PEERS, 0);
  node_publish(a, &own);
  drain(w);
  assert_int_equal(state_of(d, &own, 4), HLS_BODY_HELD);
  assert_int_equal(state_of(c, &own, 4), HLS_BODY_STUB);
  /* A's third one reaches D first as a stub through C, while A's own
   * push to D is still on its way: D asks A for the body meanwhile. */
  da->rev->hold = true;
  chain_add_story(&own, HLS_AUD_PEERS, 0);
  node_publish(a, &own);
  drain(w);
  assert_int_equal(state_of(d, &own, 5), HLS_BODY_STUB);
  assert_int_equal(frame_count(da, HLS_GF_WANT), 2);
  release(w, da->rev);
  drain(w);
  assert_int_equal(state_of(d, &own, 5), HLS_BODY_HELD);
  assert_int_equal(state_of(c, &own, 5), HLS_BODY_STUB);
  assert_int_equal(d->n_body, 2);
  chain_free(&own);
  world_free(w);
}

/* The store contract: views are valid until the next store call. With a
 * store that invalidates them on every call, A still sends its peers story
 * (the body checked with is_direct_peer) intact. */
static void test_store_views_contract(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain own;
  make_peers_chain(&own, 1);
  node_hold(a, &own, 1, 3, false);
  node_direct(a, b);
  a->strict_views = true;
  node_start(a);
  node_start(b);
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &own, 3);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_HELD);
  chain_free(&own);
  world_free(w);
}

/* ============================================================================ */
/* tombstones and forks                                                          */
/* ============================================================================ */

/* A's tombstone erases its story on B and C; afterwards the body is never
 * stored again, whoever sends it. */
static void test_tombstone(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 2: to be erased */
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 3 */
  node_hold(a, &own, 1, 3, false);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  connect_nodes(w, b, c);
  drain(w);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_HELD);
  chain_add_tombstone(&own, 2); /* 4 */
  node_publish(a, &own);
  held_at(a, own.k.pk, 2)->state = HLS_BODY_ERASED; /* A's own store erases it too */
  free(held_at(a, own.k.pk, 2)->body.p);
  held_at(a, own.k.pk, 2)->body = (struct blob){NULL, 0};
  drain(w);
  assert_holds(b, &own, 4);
  assert_holds(c, &own, 4);
  assert_int_equal(b->n_erase, 1);
  assert_int_equal(c->n_erase, 1);
  assert_int_equal(b->last_erase_ms, CHAIN_TS0 + 4 * 1000); /* the tombstone's time: what a receipt is judged by */
  assert_int_equal(c->last_erase_ms, CHAIN_TS0 + 4 * 1000);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_ERASED);
  /* A forger sends the full envelope of 2 to C in ITEMS */
  struct link *fc = connect_fake(w, c, own.k.pk);
  fake_hello(fc);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &own, 1, 2);
  struct hls_why why;
  int rc = inject(fc, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  if (rc != 0) assert_true(hls_gossip_peer_fault(rc));
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_ERASED);
  assert_null(held_at(c, own.k.pk, 2)->body.p);
  link_close(fc);
  /* A new node D gets the chain from C: 2 goes as a stub, then erased. */
  struct node *d = node_new(w, "D", 4);
  node_start(d);
  connect_nodes(w, c, d);
  drain(w);
  assert_holds(d, &own, 4);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(d, &own, 3), HLS_BODY_HELD);
  chain_free(&own);
  world_free(w);
}

/* A receipt (docs/protocol.md 4.5) travels whole like any network item,
 * and a tombstone naming it (or a profile) erases nothing: no ERASE. */
static void test_tombstone_of_receipt_erases_nothing(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 1);
  struct hls_receipt_entry e = {.target_seq = 9, .state = HLS_RECEIPT_ERASED};
  memset(e.origin, 0x77, sizeof e.origin);
  struct hls_receipt r = {.n_entries = 1, .entries = &e};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_receipt_pack(&body, &r), 0);
  chain_add(&own, HLS_ENV_RECEIPT, HLS_AUD_NETWORK, &body); /* 2 */
  msgpack_sbuffer_destroy(&body);
  node_hold(a, &own, 1, 2, false);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  connect_nodes(w, b, c);
  drain(w);
  assert_holds(c, &own, 2);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_HELD);
  chain_add_tombstone(&own, 2); /* 3: names the receipt */
  node_publish(a, &own);
  drain(w);
  chain_add_tombstone(&own, 1); /* 4: names the profile */
  node_publish(a, &own);
  drain(w);
  assert_holds(b, &own, 4);
  assert_holds(c, &own, 4);
  assert_int_equal(b->n_erase, 0);
  assert_int_equal(c->n_erase, 0);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_HELD);
  assert_int_equal(state_of(c, &own, 1), HLS_BODY_HELD);
  chain_free(&own);
  world_free(w);
}

/* D, a direct peer of A, holds A's peers story as a stub and asks A for
 * the body; the tombstone of that story reaches D before the answer: the
 * body the answer carries is not kept. */
static void test_tombstone_before_bodies(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *d = node_new(w, "D", 4);
  struct chain own;
  make_peers_chain(&own, 1);
  chain_add_tombstone(&own, 2); /* 4 */
  node_hold(d, &own, 1, 3, true);
  node_start(d);
  struct link *da = connect_fake(w, d, own.k.pk); /* D sends VECTOR, WANT [2] */
  const struct blob *want = last_captured(da, HLS_GF_WANT);
  assert_non_null(want);
  fake_hello(da);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &own, 4, 4); /* the tombstone, from A itself */
  assert_int_equal(inject_free(da, &sb), 0);
  assert_int_equal(d->n_erase, 1);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_ERASED);
  const struct blob *v[1] = {chain_at(&own, 2)};
  pay_items(&sb, HLS_GF_BODIES, true, v, 1);
  struct hls_why why;
  int rc = inject(da, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(rc, 0);
  assert_int_equal(d->n_body, 0);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_ERASED);
  /* and as ITEMS, from the origin */
  pay_items_range(&sb, &own, 2, 2);
  rc = inject(da, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(rc, 0);
  assert_int_equal(state_of(d, &own, 2), HLS_BODY_ERASED);
  chain_free(&own);
  world_free(w);
}

/* A tombstone whose target is an earlier tombstone. Tombstones are never
 * erased (docs/protocol.md 8.3 step 7: a tombstone must come with its
 * body), so a relay must still be able to pass the chain on: C, behind B,
 * converges without error. */
static void test_tombstone_of_tombstone(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain own;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 2 */
  chain_add_tombstone(&own, 2);              /* 3 */
  chain_add_tombstone(&own, 3);              /* 4: erases the tombstone 3 */
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 5 */
  node_hold(a, &own, 1, 5, false);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &own, 5);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(b, &own, 3), HLS_BODY_HELD); /* the tombstone stays whole */
  connect_nodes(w, b, c);
  drain(w); /* fails on any error */
  assert_holds(c, &own, 5);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_ERASED);
  chain_free(&own);
  world_free(w);
}

/* The store fails to apply the ERASE of a tombstone: the event fails, and
 * once the peers reconnect the target body is erased all the same (it
 * must never stay held under a tombstone). */
static void test_tombstone_erase_failure(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain own;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 2 */
  chain_add_story(&own, HLS_AUD_NETWORK, 0); /* 3 */
  node_hold(a, &own, 1, 3, false);
  node_start(a);
  node_start(b);
  connect_nodes(w, a, b);
  drain(w);
  assert_int_equal(state_of(b, &own, 2), HLS_BODY_HELD);
  chain_add_tombstone(&own, 2); /* 4 */
  node_publish(a, &own);
  b->fail_erase = HLS_ESTORE;
  w->allow_errors = true;
  drain(w);
  assert_int_equal(w->errors, 1);
  assert_int_equal(w->last_err, HLS_ESTORE);
  assert_false(hls_gossip_peer_fault(w->last_err));
  /* the engine's head agrees with the store's */
  assert_int_equal(hls_gossip_head(b->g, own.k.pk), held_head(b, own.k.pk));
  w->allow_errors = false;
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &own, 4);
  if (state_of(b, &own, 2) != 2) fail_msg("B still holds the body its origin's tombstone erased");
  chain_free(&own);
  world_free(w);
}

/* More origins than one VECTOR frame holds: the vector goes in several
 * frames, the peer gets every chain, sessions' tables grow as origins
 * appear. */
static void test_large_vector(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  enum { N = HLS_GOSSIP_MAX_VECTOR + 100 };
  struct chain *ch = calloc(N, sizeof *ch);
  assert_non_null(ch);
  for (size_t i = 0; i < N; i++) {
    chain_init(&ch[i], (uint8_t)i);
    /* distinct keys: the seed byte repeats, so vary the key by hand */
    uint8_t seed[crypto_sign_SEEDBYTES] = {0};
    memcpy(seed, &i, sizeof i);
    seed[31] = 0x42;
    assert_int_equal(crypto_sign_seed_keypair(ch[i].k.pk, ch[i].k.sk, seed), 0);
    chain_add_story(&ch[i], HLS_AUD_NETWORK, 0);
    node_hold(a, &ch[i], 1, 1, false);
  }
  node_start(a);
  node_start(b);
  node_start(c);
  struct link *ab = connect_nodes(w, a, b);
  connect_nodes(w, b, c);
  drain(w);
  assert_int_equal(frame_count(ab, HLS_GF_VECTOR), 2);
  assert_int_equal(ab->vector_entries, N);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(hls_gossip_head(b->g, ch[i].k.pk), 1);
    assert_int_equal(held_head(c, ch[i].k.pk), 1);
  }
  /* one more item on every chain, through a tick's worth of pushes */
  tick_all(w, 0);
  for (size_t i = 0; i < N; i++) chain_add_story(&ch[i], HLS_AUD_NETWORK, 0);
  struct link *fa = connect_fake(w, b, ch[0].k.pk);
  fake_hello(fa);
  for (size_t i = 0; i < N; i++) {
    msgpack_sbuffer sb;
    pay_items_range(&sb, &ch[i], 2, 2);
    assert_int_equal(inject_free(fa, &sb), 0);
  }
  drain(w);
  for (size_t i = 0; i < N; i++) assert_int_equal(held_head(c, ch[i].k.pk), 2);
  tick_all(w, a->cfg.vector_interval_ms);
  drain(w);
  for (size_t i = 0; i < N; i++) chain_free(&ch[i]);
  free(ch);
  world_free(w);
}

/* batch_bytes bounds ITEMS frames too: small items, a small budget. */
static void test_batch_bytes(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain c;
  chain_make(&c, 90, 100);
  node_hold(a, &c, 1, 100, false);
  a->cfg.batch_items = 1024;
  a->cfg.batch_bytes = 2000;
  node_start(a);
  node_start(b);
  struct link *ab = connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &c, 100);
  size_t item = chain_at(&c, 2)->len;
  /* each frame stops at the first item reaching the budget */
  assert_true(ab->max_batch <= 2000 / item + 2);
  assert_true(frame_count(ab, HLS_GF_ITEMS) >= (int)(100 * item / 2000));
  chain_free(&c);
  world_free(w);
}

/* The fork evidence a node recorded for c's origin (docs/protocol.md
 * 8.5), exactly once: both stubs decode and verify, are of the origin, and
 * conflict: ours is at seq and theirs is either another item at seq, or
 * an item at seq + 1 whose prev is not ours' item id. */
static void assert_fork_recorded(struct node *n, const struct chain *c, uint64_t seq) {
  const struct fork_rec *f = NULL;
  for (int i = 0; i < n->n_fork; i++) {
    if (memcmp(n->forks[i].origin, c->k.pk, HLS_KEY_BYTES) != 0) continue;
    if (f != NULL) fail_msg("%s: two FORKs of one origin", n->name);
    f = &n->forks[i];
  }
  if (f == NULL) fail_msg("%s: no FORK of the origin recorded", n->name);
  assert_int_equal(f->seq, seq);
  struct hls_envelope ours, theirs;
  decode_ok(&ours, f->ours.p, f->ours.len);
  decode_ok(&theirs, f->theirs.p, f->theirs.len);
  assert_null(ours.body);
  assert_null(theirs.body);
  assert_int_equal(hls_env_verify(&ours), 0);
  assert_int_equal(hls_env_verify(&theirs), 0);
  assert_memory_equal(ours.h.origin, c->k.pk, HLS_KEY_BYTES);
  assert_memory_equal(theirs.h.origin, c->k.pk, HLS_KEY_BYTES);
  assert_int_equal(ours.h.seq, seq);
  if (theirs.h.seq == seq) {
    assert_memory_not_equal(ours.id, theirs.id, HLS_HASH_BYTES);
  } else {
    assert_int_equal(theirs.h.seq, seq + 1);
    assert_memory_not_equal(theirs.h.prev, ours.id, HLS_HASH_BYTES);
  }
  struct held *h = held_at(n, c->k.pk, seq);
  assert_non_null(h);
  assert_memory_equal(h->id, ours.id, HLS_HASH_BYTES);
}

/* The node recorded one fork, of c's origin at seq. */
static void assert_fork_evidence(struct node *n, const struct chain *c, uint64_t seq) {
  assert_int_equal(n->n_fork, 1);
  assert_fork_recorded(n, c, seq);
}

/* An origin signs two items at seq 6. B holds one; the other arrives: FORK
 * with both stubs, and the origin is not followed any more. */
static void test_fork(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y;
  chain_make(&x, 40, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X6 */
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X7 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y6 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y7 */
  node_hold(b, &x, 1, 6, false);
  node_start(b);
  struct link *l = connect_fake(w, b, x.k.pk);
  fake_hello(l);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &y, 4, 6);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_fork_evidence(b, &x, 6);
  assert_non_null(last_captured(l, HLS_GF_ACK));
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.forked, 1);
  /* later items, of either branch: acked, ignored, no error */
  size_t acks = (size_t)frame_count(l, HLS_GF_ACK);
  pay_items_range(&sb, &y, 7, 7);
  assert_int_equal(inject_free(l, &sb), 0);
  pay_items_range(&sb, &x, 7, 7);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(frame_count(l, HLS_GF_ACK), (int)acks + 2);
  assert_int_equal(held_head(b, x.k.pk), 6);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 6);
  assert_int_equal(b->n_store_actions, 0);
  assert_int_equal(b->n_fork, 1);
  /* A restart keeps it forked (the store says so). */
  link_close(l);
  hls_gossip_free(b->g);
  node_start(b);
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.forked, 1);
  l = connect_fake(w, b, x.k.pk);
  fake_hello(l);
  pay_items_range(&sb, &x, 7, 7);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 6);
  assert_int_equal(b->n_store_actions, 0);
  link_close(l);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

/* --- fork reports (docs/protocol.md 4.7) --------------------------------------- */

/* r's next item: a fork item with the stubs of x's and y's items at seq. */
static void chain_add_fork(struct chain *r, const struct chain *x, const struct chain *y, uint64_t seq) {
  struct blob a = stub_of(chain_at(x, seq)), b = stub_of(chain_at(y, seq));
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_fork_pack(&body, a.p, a.len, b.p, b.len), 0);
  chain_add(r, HLS_ENV_FORK, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
  free(a.p);
  free(b.p);
}

/* An envelope of c's next seq with any body, signed, not checked (what a
 * bad peer can send); not pushed onto c. */
static struct blob raw_envelope(const struct chain *c, int type, const uint8_t *body, size_t body_len) {
  msgpack_sbuffer hdr, env;
  msgpack_packer pk;
  uint8_t hash[HLS_HASH_BYTES], sig[HLS_SIG_BYTES];
  uint64_t seq = c->n + 1;
  hls_env_hash(body, body_len, hash);
  msgpack_sbuffer_init(&hdr);
  msgpack_packer_init(&pk, &hdr, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, 8));
  pk_ok(msgpack_pack_uint32(&pk, HLS_ENV_VERSION));
  pk_ok(msgpack_pack_uint32(&pk, (uint32_t)type));
  pk_ok(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
  pk_ok(msgpack_pack_bin_body(&pk, c->k.pk, HLS_KEY_BYTES));
  pk_ok(msgpack_pack_uint64(&pk, seq));
  pk_ok(msgpack_pack_bin(&pk, HLS_HASH_BYTES));
  pk_ok(msgpack_pack_bin_body(&pk, c->prev, HLS_HASH_BYTES));
  pk_ok(msgpack_pack_uint64(&pk, CHAIN_TS0 + seq * 1000));
  pk_ok(msgpack_pack_uint32(&pk, HLS_AUD_NETWORK));
  pk_ok(msgpack_pack_bin(&pk, HLS_HASH_BYTES));
  pk_ok(msgpack_pack_bin_body(&pk, hash, HLS_HASH_BYTES));
  size_t tag = sizeof HLS_ENV_SIG_TAG - 1;
  uint8_t *msg = malloc(tag + hdr.size);
  assert_non_null(msg);
  memcpy(msg, HLS_ENV_SIG_TAG, tag);
  memcpy(msg + tag, hdr.data, hdr.size);
  crypto_sign_detached(sig, NULL, msg, tag + hdr.size, c->k.sk);
  free(msg);
  msgpack_sbuffer_init(&env);
  msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
  pk_ok(msgpack_pack_array(&pk, 3));
  msgpack_sbuffer_write(&env, hdr.data, hdr.size);
  pk_ok(msgpack_pack_bin(&pk, HLS_SIG_BYTES));
  pk_ok(msgpack_pack_bin_body(&pk, sig, HLS_SIG_BYTES));
  msgpack_sbuffer_write(&env, (const char *)body, body_len);
  struct blob b = blob_copy(env.data, env.size);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&hdr);
  return b;
}

/* --- successors (docs/protocol.md 4.9) ------------------------------------------- */

/* c's next item: a successor naming the key of seed_byte. */
static void chain_add_successor(struct chain *c, uint8_t seed_byte) {
  struct key fresh;
  key_make(&fresh, seed_byte);
  struct hls_successor su;
  hls_successor_sign(&su, c->k.pk, fresh.sk);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_successor_pack(&body, &su), 0);
  chain_add(c, HLS_ENV_SUCCESSOR, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

/* The FORK recorded for a closed chain: the successor at seq and a later
 * item that is not a tombstone, evidence a fork item can carry. */
static void assert_closed_fork(struct node *n, const struct chain *c, uint64_t succ_seq, uint64_t later) {
  assert_int_equal(n->n_fork, 1);
  struct fork_rec *f = &n->forks[0];
  assert_memory_equal(f->origin, c->k.pk, HLS_KEY_BYTES);
  assert_int_equal(f->seq, succ_seq);
  struct hls_envelope ours, theirs;
  decode_ok(&ours, f->ours.p, f->ours.len);
  decode_ok(&theirs, f->theirs.p, f->theirs.len);
  assert_int_equal(ours.h.type, HLS_ENV_SUCCESSOR);
  assert_int_equal(ours.h.seq, succ_seq);
  assert_int_equal(theirs.h.seq, later);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_fork_pack(&body, f->ours.p, f->ours.len, f->theirs.p, f->theirs.len), 0);
  msgpack_sbuffer_destroy(&body);
}

/* X signs a successor at seq 4, then a tombstone (allowed: a closed chain
 * may still erase its own items), then a story (not allowed). B takes
 * X1..5; the story is the origin's fault, not the peer's: FORK with the
 * successor and the story, no violation, X not followed any more; also
 * after a restart, when the successor is known from the store. C gets
 * all six in one run: it stores X1..5 and finds the same. */
static void test_successor_closes_chain(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct node *c = node_new(w, "C", 3);
  struct chain x;
  chain_make(&x, 50, 3);
  chain_add_successor(&x, 51); /* X4 */
  chain_add_tombstone(&x, 3);  /* X5 */
  chain_add_story(&x, HLS_AUD_NETWORK, 9); /* X6: after the successor */
  node_start(b);
  struct link *l = connect_fake(w, b, x.k.pk);
  fake_hello(l);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &x, 1, 5);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 5);
  assert_int_equal(b->n_fork, 0);
  link_close(l);
  hls_gossip_free(b->g);
  node_start(b);
  l = connect_fake(w, b, x.k.pk);
  fake_hello(l);
  pay_items_range(&sb, &x, 6, 6);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 5);
  assert_closed_fork(b, &x, 4, 6);
  link_close(l);

  node_start(c);
  l = connect_fake(w, c, x.k.pk);
  fake_hello(l);
  pay_items_range(&sb, &x, 1, 6);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(hls_gossip_head(c->g, x.k.pk), 5);
  assert_closed_fork(c, &x, 4, 6);
  link_close(l);
  chain_free(&x);
  world_free(w);
}

/* x's next item, a successor naming the key of seed named whose new_sig
 * the key of seed wrong made: forged (not by the key it names). */
static struct blob forged_successor(struct chain *x, uint8_t named, uint8_t wrong) {
  struct key fresh, bad;
  key_make(&fresh, named);
  key_make(&bad, wrong);
  struct hls_successor su;
  hls_successor_sign(&su, x->k.pk, bad.sk);
  memcpy(su.new_id, fresh.pk, HLS_KEY_BYTES);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_successor_pack(&body, &su), 0);
  struct blob forged = raw_envelope(x, HLS_ENV_SUCCESSOR, (const uint8_t *)body.data, body.size);
  msgpack_sbuffer_destroy(&body);
  return forged;
}

/* x's first two items and forged in one ITEMS frame on l: what inject
 * says. */
static int inject_forged(struct link *l, struct chain *x, const struct blob *forged) {
  const struct blob *v[3] = {chain_at(x, 1), chain_at(x, 2), forged};
  msgpack_sbuffer sb;
  pay_items(&sb, HLS_GF_ITEMS, false, v, 3);
  struct hls_why why;
  int rc = inject(l, &sb, &why);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* A successor that a wrong key signed (new_sig not by the key it names)
 * is refused as malformed input: a violation of the peer that sent it,
 * nothing of the frame kept. */
static void test_successor_forged(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x;
  chain_make(&x, 52, 2);
  struct blob forged = forged_successor(&x, 53, 54);
  node_start(b);
  struct link *l = connect_fake(w, b, x.k.pk);
  fake_hello(l);
  assert_int_equal(inject_forged(l, &x, &forged), HLS_EBADSIG);
  assert_true(hls_gossip_peer_fault(HLS_EBADSIG));
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 0);
  assert_int_equal(b->n_fork, 0);
  link_close(l);
  free(forged.p);
  chain_free(&x);
  world_free(w);
}

/* A blocked origin's successor, among its items refused, is checked and
 * told the host once (store.blocked_successor: hlsd passes the block to
 * the new key), and still not held; a forged one (the new key's signature
 * wrong) is not told. */
static void test_blocked_successor_told(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain own;
  chain_init(&own, 1);
  chain_add_profile(&own, 1, 1);
  chain_add_story(&own, HLS_AUD_NETWORK, 0);
  node_hold(a, &own, 1, 2, false);
  node_start(a);
  node_start(b);
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &own, 2);
  assert_int_equal(hls_gossip_block(b->g, own.k.pk, true), 0);
  chain_add_story(&own, HLS_AUD_NETWORK, 0);
  node_publish(a, &own);
  drain(w);
  assert_int_equal(b->n_blocked_succ, 0); /* no successor yet */
  chain_add_successor(&own, 61);
  node_publish(a, &own);
  drain(w);
  tick_all(w, 1000);
  drain(w);
  struct key fresh;
  key_make(&fresh, 61);
  assert_int_equal(b->n_blocked_succ, 1);
  assert_memory_equal(b->blocked_succ_new, fresh.pk, HLS_KEY_BYTES);
  assert_holds(b, &own, 2); /* refused all the same */
  tick_all(w, 3000);
  drain(w);
  assert_int_equal(b->n_blocked_succ, 1); /* once */
  chain_free(&own);

  /* forged: signed by the origin, but not by the key it names */
  struct node *c = node_new(w, "C", 3);
  struct chain x;
  chain_make(&x, 62, 2);
  struct blob forged = forged_successor(&x, 63, 64);
  node_start(c);
  assert_int_equal(hls_gossip_block(c->g, x.k.pk, true), 0);
  struct link *l = connect_fake(w, c, x.k.pk);
  fake_hello(l);
  (void)inject_forged(l, &x, &forged);
  assert_int_equal(c->n_blocked_succ, 0);
  assert_int_equal(hls_gossip_head(c->g, x.k.pk), 0);
  link_close(l);
  free(forged.p);
  chain_free(&x);
  world_free(w);
}

/* R reports X's fork at seq 6. B, which holds X1..6, and C, which holds
 * nothing of X, stop following X as if they had found the fork: FORK
 * with R's two stubs, R as reporter, its fork item's seq. Neither reports
 * it again (the engine marks it reported; the host publishes only forks
 * without a reporter). */
static void test_fork_reported(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct node *c = node_new(w, "C", 3);
  struct chain x, y, r;
  chain_make(&x, 42, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X6 */
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X7 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y6 */
  chain_make(&r, 43, 1);
  chain_add_fork(&r, &x, &y, 6); /* R2 */
  node_hold(b, &x, 1, 6, false);
  node_start(b);
  node_start(c);
  struct node *nodes[2] = {b, c};
  for (size_t i = 0; i < 2; i++) {
    struct node *n = nodes[i];
    struct link *l = connect_fake(w, n, r.k.pk);
    fake_hello(l);
    msgpack_sbuffer sb;
    pay_items_range(&sb, &r, 1, 2);
    assert_int_equal(inject_free(l, &sb), 0);
    assert_int_equal(hls_gossip_head(n->g, r.k.pk), 2);
    assert_int_equal(n->n_fork, 1);
    assert_memory_equal(n->forks[0].origin, x.k.pk, HLS_KEY_BYTES);
    assert_int_equal(n->forks[0].seq, 6);
    assert_true(n->forks[0].reported);
    assert_memory_equal(n->forks[0].reporter, r.k.pk, HLS_KEY_BYTES);
    assert_int_equal(n->forks[0].report_seq, 2);
    struct hls_gossip_stats st;
    hls_gossip_get_stats(n->g, &st);
    assert_int_equal(st.forked, 1);
    link_close(l);
    /* X's items, from anyone: acked, ignored. */
    uint64_t head = hls_gossip_head(n->g, x.k.pk);
    l = connect_fake(w, n, x.k.pk);
    fake_hello(l);
    pay_items_range(&sb, &x, head + 1, 7);
    assert_int_equal(inject_free(l, &sb), 0);
    assert_int_equal(hls_gossip_head(n->g, x.k.pk), head);
    link_close(l);
  }
  assert_int_equal(hls_gossip_head(c->g, x.k.pk), 0);
  /* A restart keeps C's mark (the store loads X as forked, head 0). */
  hls_gossip_free(c->g);
  node_start(c);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(c->g, &st);
  assert_int_equal(st.forked, 1);
  chain_free(&x);
  chain_free(&y);
  chain_free(&r);
  world_free(w);
}

/* The store fails the FORK of a report: the fork item is stored all the
 * same (it does not come again), and the next tick records the fork with
 * its reporter. */
static void test_fork_reported_store_fails(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y, r;
  chain_make(&x, 47, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X6 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y6 */
  chain_make(&r, 48, 1);
  chain_add_fork(&r, &x, &y, 6); /* R2 */
  node_hold(b, &x, 1, 6, false);
  node_start(b);
  struct link *l = connect_fake(w, b, r.k.pk);
  fake_hello(l);
  b->fail_fork = HLS_ESTORE;
  msgpack_sbuffer sb;
  pay_items_range(&sb, &r, 1, 2);
  assert_int_equal(inject_free(l, &sb), 0);
  assert_int_equal(hls_gossip_head(b->g, r.k.pk), 2);
  assert_int_equal(b->n_fork, 0);
  assert_int_equal(hls_gossip_tick(b->g, 1000), 0);
  assert_int_equal(b->n_fork, 1);
  assert_true(b->forks[0].reported);
  assert_memory_equal(b->forks[0].reporter, r.k.pk, HLS_KEY_BYTES);
  assert_int_equal(b->forks[0].report_seq, 2);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.forked, 1);
  link_close(l);
  chain_free(&x);
  chain_free(&y);
  chain_free(&r);
  world_free(w);
}

/* Forged fork items: a violation of the peer that sent them, nothing of
 * the frame stored, no origin given up. */
static void test_fork_report_forged(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y, z, r;
  chain_make(&x, 44, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X6 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y6 */
  chain_make(&z, 45, 6);
  chain_make(&r, 46, 1);
  node_hold(b, &x, 1, 6, false);
  node_start(b);
  struct blob x6 = stub_of(chain_at(&x, 6)), y6 = stub_of(chain_at(&y, 6)), z6 = stub_of(chain_at(&z, 6)),
              x5 = stub_of(chain_at(&x, 5));
  y6.p[y6.len - 3] ^= 1; /* a bad signature */
  const struct blob *pairs[][2] = {{&x6, &x6}, {&x6, &z6}, {&x5, &x6}, {&x6, &y6}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    msgpack_sbuffer body;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    pk_ok(msgpack_pack_array(&pk, 2));
    for (size_t k = 0; k < 2; k++) {
      pk_ok(msgpack_pack_bin(&pk, pairs[i][k]->len));
      pk_ok(msgpack_pack_bin_body(&pk, pairs[i][k]->p, pairs[i][k]->len));
    }
    struct blob forged = raw_envelope(&r, HLS_ENV_FORK, (const uint8_t *)body.data, body.size);
    const struct blob *v[2] = {chain_at(&r, 1), &forged};
    msgpack_sbuffer sb;
    pay_items(&sb, HLS_GF_ITEMS, true, v, 2);
    struct link *l = connect_fake(w, b, r.k.pk);
    fake_hello(l);
    int rc = inject_free(l, &sb);
    if (rc == 0 || !hls_gossip_peer_fault(rc)) fail_msg("forged pair %zu: %s", i, hls_err_name(rc));
    link_close(l);
    free(forged.p);
    msgpack_sbuffer_destroy(&body);
  }
  assert_int_equal(b->n_fork, 0);
  assert_int_equal(hls_gossip_head(b->g, r.k.pk), 0);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 6);
  free(x6.p);
  free(y6.p);
  free(z6.p);
  free(x5.p);
  chain_free(&x);
  chain_free(&y);
  chain_free(&z);
  chain_free(&r);
  world_free(w);
}

/* A rekey item (docs/protocol.md 4.8) is taken only from a steward named
 * here: from anyone else the ITEMS frame is a violation (access_denied)
 * and nothing of it is stored; an import of it is refused too; a steward's
 * is stored, and a steward's rekey without its body is malformed. */
static void test_rekey_stewards(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain r;
  chain_make(&r, 47, 1);
  node_start(b);
  struct hls_rekey rk;
  memset(&rk, 0, sizeof rk);
  rk.epoch = 1;
  memset(rk.key_hash, 0x42, sizeof rk.key_hash);
  rk.overlap_until_ms = 1767225600000ull;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_rekey_pack(&body, &rk), 0);
  struct blob rekey = raw_envelope(&r, HLS_ENV_REKEY, (const uint8_t *)body.data, body.size);
  struct blob stub = stub_of(&rekey);
  const struct blob *v[2] = {chain_at(&r, 1), &rekey};
  for (int steward = 0; steward <= 1; steward++) {
    msgpack_sbuffer sb;
    pay_items(&sb, HLS_GF_ITEMS, true, v, 2);
    struct link *l = connect_fake(w, b, r.k.pk);
    fake_hello(l);
    int rc = inject_free(l, &sb);
    if (!steward) {
      assert_int_equal(rc, HLS_EACCESS);
      assert_true(hls_gossip_peer_fault(rc));
      assert_int_equal(hls_gossip_head(b->g, r.k.pk), 0);
      /* imported, the same */
      struct hls_envelope e[2];
      struct hls_gossip_import_result res = {0};
      struct hls_why why = {{0}};
      decode_ok(&e[0], v[0]->p, v[0]->len);
      decode_ok(&e[1], v[1]->p, v[1]->len);
      assert_int_equal(hls_gossip_import(b->g, e, 2, &res, &why), HLS_EACCESS);
      assert_non_null(strstr(why.text, "not a steward here"));
      assert_int_equal(hls_gossip_head(b->g, r.k.pk), 0);
      memcpy(b->stewards[b->n_stewards++], r.k.pk, HLS_KEY_BYTES);
      /* a steward's rekey as a stub */
      const struct blob *sv[2] = {chain_at(&r, 1), &stub};
      pay_items(&sb, HLS_GF_ITEMS, true, sv, 2);
      link_close(l);
      l = connect_fake(w, b, r.k.pk);
      fake_hello(l);
      assert_int_equal(inject_free(l, &sb), HLS_EMALFORMED);
      assert_int_equal(hls_gossip_head(b->g, r.k.pk), 0);
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(hls_gossip_head(b->g, r.k.pk), 2);
    }
    link_close(l);
  }
  free(rekey.p);
  free(stub.p);
  msgpack_sbuffer_destroy(&body);
  chain_free(&r);
  world_free(w);
}

/* Two real nodes on different branches: A holds X1..6, C holds Y1..7. C
 * sends Y7, which does not link to A's head: A finds the fork (8.3 step
 * 5), with X6 and Y7 as evidence. */
static void test_fork_via_successor(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *c = node_new(w, "C", 3);
  struct chain x, y;
  chain_make(&x, 41, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1);
  chain_add_story(&y, HLS_AUD_NETWORK, 2);
  chain_add_story(&y, HLS_AUD_NETWORK, 2);
  node_hold(a, &x, 1, 6, false);
  node_hold(c, &y, 1, 7, false);
  node_start(a);
  node_start(c);
  connect_nodes(w, a, c);
  drain(w);
  assert_int_equal(hls_gossip_head(a->g, x.k.pk), 6);
  assert_int_equal(a->n_store_actions, 0);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(a->g, &st);
  assert_int_equal(st.forked, 1);
  assert_fork_evidence(a, &x, 6);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

/* Two origins X and Y, each signed two items at seq 6: B holds X1..6 and
 * Y1..6; x2 and y2 are the other branches (X'6; Y'6, Y'7). */
struct two_forks {
  struct chain x, x2, y, y2;
};

static void two_forks_make(struct two_forks *t, struct node *b) {
  chain_make(&t->x, 42, 5);
  chain_fork(&t->x2, &t->x, 5);
  chain_add_story(&t->x, HLS_AUD_NETWORK, 1);
  chain_add_story(&t->x2, HLS_AUD_NETWORK, 2);
  chain_make(&t->y, 43, 5);
  chain_fork(&t->y2, &t->y, 5);
  chain_add_story(&t->y, HLS_AUD_NETWORK, 1);
  chain_add_story(&t->y2, HLS_AUD_NETWORK, 2);
  chain_add_story(&t->y2, HLS_AUD_NETWORK, 2);
  node_hold(b, &t->x, 1, 6, false);
  node_hold(b, &t->y, 1, 6, false);
}

static void two_forks_free(struct two_forks *t) {
  chain_free(&t->x);
  chain_free(&t->x2);
  chain_free(&t->y);
  chain_free(&t->y2);
}

/* Neither fork recorded yet, both heads where they were; a tick records
 * both (X's overlapping X'6, Y's through Y'7, whose prev is not Y6), and
 * nothing more after that. */
static void assert_two_forks_kept(struct node *b, struct two_forks *t, uint64_t now) {
  struct hls_gossip_stats st;
  assert_int_equal(b->n_fork, 0);
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.forked, 0);
  assert_int_equal(hls_gossip_tick(b->g, now), 0);
  assert_int_equal(b->n_fork, 2);
  assert_fork_recorded(b, &t->x, 6);
  assert_fork_recorded(b, &t->y, 6);
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.forked, 2);
  assert_int_equal(hls_gossip_head(b->g, t->x.k.pk), 6);
  assert_int_equal(hls_gossip_head(b->g, t->y.k.pk), 6);
  assert_int_equal(hls_gossip_tick(b->g, now + 1000), 0);
  assert_int_equal(b->n_fork, 2);
}

/* The store fails the FORK of X's fork; before a tick records it, another
 * session brings Y's fork, whose FORK fails too. The engine keeps both
 * (it once kept one at a time, so Y's was lost for good: Y'7 is above
 * B's head and nobody sends it again). A tick whose FORK fails keeps
 * them for the next. */
static void test_fork_kept_while_another_pending(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct two_forks t;
  two_forks_make(&t, b);
  node_start(b);
  uint8_t p[HLS_KEY_BYTES];
  memset(p, 0x5a, sizeof p);
  msgpack_sbuffer sb;
  for (int k = 0; k < 2; k++) {
    struct link *l = connect_fake(w, b, p);
    fake_hello(l);
    b->fail_fork = HLS_ESTORE;
    if (k == 0) pay_items_range(&sb, &t.x2, 4, 6);
    else pay_items_range(&sb, &t.y2, 7, 7);
    assert_int_equal(inject_free(l, &sb), HLS_ESTORE);
    assert_int_equal(b->fail_fork, 0); /* the FORK was tried */
    link_close(l);
  }
  b->fail_fork = HLS_ESTORE;
  assert_int_equal(hls_gossip_tick(b->g, 1000), HLS_ESTORE);
  assert_two_forks_kept(b, &t, 2000);
  two_forks_free(&t);
  world_free(w);
}

/* One ITEMS frame of three runs carries both forks and new items of Z.
 * The store fails part way through it: (0) the STORE of Z, the first run,
 * or (1) the FORK of X, Z's STORE having succeeded. The event ends there,
 * with nothing emitted after the failure, but the forks of the runs it
 * did not take are kept all the same (they were lost: the conflicting
 * items may never come again) and the tick records them. */
static void test_fork_kept_after_failure_in_frame(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    struct world *w = world_new();
    struct node *b = node_new(w, "B", 2);
    struct two_forks t;
    two_forks_make(&t, b);
    struct chain z;
    chain_make(&z, 44, 3);
    node_start(b);
    uint8_t p[HLS_KEY_BYTES];
    memset(p, 0x5a, sizeof p);
    struct link *l = connect_fake(w, b, p);
    fake_hello(l);
    const struct blob *v[7] = {chain_at(&z, 1),    chain_at(&z, 2),    chain_at(&z, 3),   chain_at(&t.x2, 4),
                               chain_at(&t.x2, 5), chain_at(&t.x2, 6), chain_at(&t.y2, 7)};
    msgpack_sbuffer sb;
    pay_items(&sb, HLS_GF_ITEMS, true, v, 7);
    if (mode == 0) b->fail_store = HLS_ESTORE;
    else b->fail_fork = HLS_ESTORE;
    assert_int_equal(inject_free(l, &sb), HLS_ESTORE);
    assert_int_equal(b->fail_store + b->fail_fork, 0); /* the failure happened */
    assert_null(last_captured(l, HLS_GF_ACK));
    link_close(l);
    uint64_t z_head = mode == 0 ? 0 : 3;
    assert_int_equal(held_head(b, z.k.pk), z_head);
    assert_int_equal(hls_gossip_head(b->g, z.k.pk), z_head);
    assert_two_forks_kept(b, &t, 1000);
    chain_free(&z);
    two_forks_free(&t);
    world_free(w);
  }
}

/* ============================================================================ */
/* faulty peers                                                                  */
/* ============================================================================ */

/* B holds O's 1..3; a fake peer P says payload; it must be a peer fault
 * and change nothing. */
static void expect_fault(const char *what, struct chain *o, msgpack_sbuffer *payload, bool vector_first) {
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  node_hold(b, o, 1, 3, false);
  node_start(b);
  uint8_t p[HLS_KEY_BYTES];
  memset(p, 0x5a, sizeof p);
  struct link *l = connect_fake(w, b, p);
  if (vector_first) fake_hello(l);
  struct hls_why why;
  int rc = inject(l, payload, &why);
  if (rc == 0 || !hls_gossip_peer_fault(rc)) fail_msg("%s: gave %s, not a peer fault", what, hls_err_name(rc));
  assert_non_null(memchr(why.text, 0, sizeof why.text));
  assert_int_equal(b->n_store_actions, 0);
  assert_int_equal(b->n_body, 0);
  assert_int_equal(held_head(b, o->k.pk), 3);
  assert_int_equal(hls_gossip_head(b->g, o->k.pk), 3);
  link_close(l);
  msgpack_sbuffer_destroy(payload);
  world_free(w);
}

static void test_bad_peers(void **state) {
  (void)state;
  struct chain o, other;
  chain_make(&o, 50, 8);
  chain_make(&other, 51, 8);
  msgpack_sbuffer sb;

  { /* bad signature on the last item of a batch */
    struct blob last = blob_copy(chain_at(&o, 6)->p, chain_at(&o, 6)->len);
    sig_of(&last)[0] ^= 0x80;
    const struct blob *v[3] = {chain_at(&o, 4), chain_at(&o, 5), &last};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 3);
    expect_fault("bad last signature", &o, &sb, true);
    free(last.p);
  }
  { /* bad signature on a single new item */
    struct blob last = blob_copy(chain_at(&o, 4)->p, chain_at(&o, 4)->len);
    sig_of(&last)[63] ^= 0x01;
    const struct blob *v[1] = {&last};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 1);
    expect_fault("bad single signature", &o, &sb, true);
    free(last.p);
  }
  { /* tampered body */
    struct blob t = blob_copy(chain_at(&o, 5)->p, chain_at(&o, 5)->len);
    t.p[t.len - 3] ^= 0x01;
    const struct blob *v[2] = {chain_at(&o, 4), &t};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 2);
    expect_fault("tampered body", &o, &sb, true);
    free(t.p);
  }
  { /* broken link within a batch: 4, 6 */
    const struct blob *v[2] = {chain_at(&o, 4), chain_at(&o, 6)};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 2);
    expect_fault("skipped seq", &o, &sb, true);
  }
  { /* one origin in two runs of a frame: 4, another chain's 1, then 5 */
    const struct blob *v[3] = {chain_at(&o, 4), chain_at(&other, 1), chain_at(&o, 5)};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 3);
    expect_fault("an origin twice in one frame", &o, &sb, true);
  }
  { /* a gap: B holds 3, gets 5..6 */
    pay_items_range(&sb, &o, 5, 6);
    expect_fault("gap", &o, &sb, true);
  }
  { /* a stub of a tombstone */
    struct chain t;
    chain_make(&t, 50, 3);
    chain_add_tombstone(&t, 2);
    struct blob st = stub_of(chain_at(&t, 4));
    const struct blob *v[1] = {&st};
    pay_items(&sb, HLS_GF_ITEMS, true, v, 1);
    expect_fault("tombstone stub", &t, &sb, true);
    free(st.p);
    chain_free(&t);
  }
  { /* unasked BODIES */
    const struct blob *v[1] = {chain_at(&o, 2)};
    pay_items(&sb, HLS_GF_BODIES, true, v, 1);
    expect_fault("unasked bodies", &o, &sb, true);
  }
  { /* an ACK with nothing in flight (no vector: B sends nothing) */
    pay_ack(&sb, o.k.pk, 3);
    expect_fault("ack with nothing in flight", &o, &sb, false);
  }
  { /* unknown frame types */
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pk_ok(msgpack_pack_array(&pk, 1));
    pk_ok(msgpack_pack_uint32(&pk, 21));
    expect_fault("type 21", &o, &sb, true);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pk_ok(msgpack_pack_array(&pk, 2));
    pk_ok(msgpack_pack_uint32(&pk, 1));
    pk_ok(msgpack_pack_bin(&pk, 0));
    expect_fault("a ping", &o, &sb, true);
    msgpack_sbuffer_init(&sb);
    expect_fault("empty", &o, &sb, true);
  }
  chain_free(&o);
  chain_free(&other);
}

/* A second WANT while the first is not answered (the answer waits for the
 * peer's vector) is a fault. */
static void test_bad_second_want(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *p = node_new(w, "P", 2);
  struct chain own;
  make_peers_chain(&own, 1);
  node_hold(a, &own, 1, 3, false);
  node_direct(a, p);
  node_start(a);
  struct link *l = connect_fake(w, a, p->key.pk);
  uint64_t seqs[1] = {2};
  msgpack_sbuffer sb;
  pay_want(&sb, seqs, 1);
  assert_int_equal(inject_free(l, &sb), 0); /* no vector yet: not answered */
  assert_null(last_captured(l, HLS_GF_BODIES));
  pay_want(&sb, seqs, 1);
  int rc = inject_free(l, &sb);
  assert_int_equal(rc, HLS_EMALFORMED);
  assert_true(hls_gossip_peer_fault(rc));
  link_close(l);
  /* the same, answered: then a second WANT is fine */
  l = connect_fake(w, a, p->key.pk);
  fake_hello(l);
  pay_want(&sb, seqs, 1);
  assert_int_equal(inject_free(l, &sb), 0);
  const struct blob *bodies = last_captured(l, HLS_GF_BODIES);
  assert_non_null(bodies);
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  bool complete;
  size_t n;
  struct hls_why why;
  assert_int_equal(hls_gossip_items_decode(bodies->p, bodies->len, HLS_GF_BODIES, &complete, envs, &n, &why), 0);
  assert_true(complete);
  assert_int_equal(n, 1);
  assert_int_equal(envs[0].h.seq, 2);
  assert_non_null(envs[0].body);
  pay_ack(&sb, own.k.pk, 3);
  assert_int_equal(inject_free(l, &sb), 0);
  pay_want(&sb, seqs, 1);
  assert_int_equal(inject_free(l, &sb), 0);
  link_close(l);
  /* a non-direct peer asking gets an empty, complete answer */
  uint8_t q[HLS_KEY_BYTES];
  memset(q, 0x77, sizeof q);
  l = connect_fake(w, a, q);
  fake_hello(l);
  pay_want(&sb, seqs, 1);
  assert_int_equal(inject_free(l, &sb), 0);
  bodies = last_captured(l, HLS_GF_BODIES);
  assert_non_null(bodies);
  assert_int_equal(hls_gossip_items_decode(bodies->p, bodies->len, HLS_GF_BODIES, &complete, envs, &n, &why), 0);
  assert_true(complete);
  assert_int_equal(n, 0);
  link_close(l);
  chain_free(&own);
  world_free(w);
}

/* BODIES that answer a WANT but carry something else: refused. */
static void test_bad_bodies(void **state) {
  (void)state;
  struct chain own, other;
  make_peers_chain(&own, 1);
  chain_add_story(&own, HLS_AUD_PEERS, 0); /* 4: peers, not asked */
  make_peers_chain(&other, 7);
  for (int k = 0; k < 3; k++) {
    struct world *w = world_new();
    struct node *d = node_new(w, "D", 4);
    node_hold(d, &own, 1, 4, true);
    node_start(d);
    struct link *l = connect_fake(w, d, own.k.pk);
    assert_non_null(last_captured(l, HLS_GF_WANT));
    fake_hello(l);
    const struct blob *v[1] = {k == 0 ? chain_at(&other, 2) : chain_at(&own, 3)};
    struct blob st = stub_of(chain_at(&own, 2));
    if (k == 2) v[0] = &st;
    msgpack_sbuffer sb;
    pay_items(&sb, HLS_GF_BODIES, true, v, 1);
    struct hls_why why;
    int rc = inject(l, &sb, &why);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 || !hls_gossip_peer_fault(rc)) fail_msg("case %d: %s", k, hls_err_name(rc));
    assert_int_equal(d->n_body, 0);
    free(st.p);
    link_close(l);
    world_free(w);
  }
  chain_free(&own);
  chain_free(&other);
}

/* The origin signed seq 5 (of 10) badly but later items link to it: the
 * chain still travels, in runs that end on items whose own signature
 * verifies; an unverifiable tail stays behind. */
static void test_bad_intermediate_signature(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain o;
  chain_make(&o, 60, 4);
  chain_add_story(&o, HLS_AUD_NETWORK, 0);
  chain_break_last_sig(&o); /* 5 */
  while (o.n < 10) chain_add_story(&o, HLS_AUD_NETWORK, 0);
  chain_add_story(&o, HLS_AUD_NETWORK, 0);
  chain_break_last_sig(&o); /* 11, the head: nothing vouches for it */
  node_hold(a, &o, 1, 11, false);
  a->cfg.batch_items = 5;
  b->cfg.batch_items = 5;
  node_start(a);
  node_start(b);
  node_start(c);
  struct link *ab = connect_nodes(w, a, b);
  struct link *bc = connect_nodes(w, b, c);
  drain(w);
  assert_holds(b, &o, 10);
  assert_holds(c, &o, 10);
  /* 1..4, 5..9, 10 */
  assert_int_equal(frame_count(ab, HLS_GF_ITEMS), 3);
  assert_true(frame_count(bc, HLS_GF_ITEMS) >= 3);
  chain_free(&o);
  world_free(w);
}

/* A relay holds a chain whose head was signed badly (nothing vouches for
 * it yet): it sends up to the item before. When the origin's next item
 * arrives (and vouches for the bad one), the peer must get both, not a
 * batch that leaves a gap. */
static void test_bad_signature_head_then_more(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain o;
  chain_make(&o, 61, 2);
  chain_add_story(&o, HLS_AUD_NETWORK, 0);
  chain_break_last_sig(&o); /* 3 */
  chain_add_story(&o, HLS_AUD_NETWORK, 0); /* 4, vouches for 3 */
  node_hold(a, &o, 1, 3, false);
  node_start(a);
  node_start(b);
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &o, 2);
  struct link *fo = connect_fake(w, a, o.k.pk);
  fake_hello(fo);
  msgpack_sbuffer sb;
  pay_items_range(&sb, &o, 4, 4);
  assert_int_equal(inject_free(fo, &sb), 0);
  assert_holds(a, &o, 4);
  drain(w); /* fails on any error */
  assert_holds(b, &o, 4);
  chain_free(&o);
  world_free(w);
}

/* ============================================================================ */
/* store failures, limits, peer exchange                                         */
/* ============================================================================ */

/* The store fails on STORE: the error comes back, is not the peer's fault,
 * the engine's head does not move; a new session then succeeds. */
static void test_store_failure(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain x, y;
  chain_make(&x, 70, 40); /* new to B */
  chain_make(&y, 71, 40); /* B holds 1..10 */
  node_hold(a, &x, 1, 40, false);
  node_hold(a, &y, 1, 40, false);
  node_hold(b, &y, 1, 10, false);
  node_start(a);
  node_start(b);
  /* A store error, then a full disk: both this node's failures, never
   * held against the peer that sent the items. */
  static const int failure[] = {HLS_ESTORE, HLS_EDISKFULL};
  for (int round = 0; round < 2; round++) {
    b->fail_store = failure[round];
    w->allow_errors = true;
    w->errors = 0;
    connect_nodes(w, a, b);
    drain(w);
    assert_int_equal(w->errors, 1);
    assert_int_equal(w->last_err, failure[round]);
    assert_false(hls_gossip_peer_fault(w->last_err));
    assert_int_equal(b->n_store_failed, round + 1);
    /* nothing of the failed batch is in the engine's state */
    struct hls_gossip_stats st;
    hls_gossip_get_stats(b->g, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(hls_gossip_head(b->g, x.k.pk), held_head(b, x.k.pk));
    assert_int_equal(hls_gossip_head(b->g, y.k.pk), held_head(b, y.k.pk));
    assert_int_equal(st.origins, held_head(b, x.k.pk) > 0 ? 2 : 1);
  }
  w->allow_errors = false;
  connect_nodes(w, a, b);
  drain(w);
  assert_holds(b, &x, 40);
  assert_holds(b, &y, 40);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

/* Origins beyond max_origins are ignored without error, however long. */
static void test_max_origins(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2);
  struct chain c[3];
  for (int i = 0; i < 3; i++) {
    chain_make(&c[i], (uint8_t)(80 + i), 40);
    node_hold(a, &c[i], 1, 40, false);
  }
  b->cfg.max_origins = 2;
  node_start(a);
  node_start(b);
  connect_nodes(w, a, b);
  drain(w); /* fails the test on any error */
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.origins, 2);
  int full = 0, none = 0;
  for (int i = 0; i < 3; i++) {
    uint64_t h = hls_gossip_head(b->g, c[i].k.pk);
    assert_int_equal(h, held_head(b, c[i].k.pk));
    if (h == 40) full++;
    if (h == 0) none++;
  }
  assert_int_equal(full, 2);
  assert_int_equal(none, 1);
  for (int i = 0; i < 3; i++) chain_free(&c[i]);
  world_free(w);
}

static bool dialled_within(const struct node *n, const uint8_t pk[HLS_KEY_BYTES], uint64_t from, uint64_t to) {
  for (int i = 0; i < n->n_dial; i++)
    if (memcmp(n->dials[i].pk, pk, HLS_KEY_BYTES) == 0 && n->dials[i].now >= from && n->dials[i].now < to) return true;
  return false;
}

/* With fewer than target_connections sessions, ticks DIAL members whose
 * profile gives an address: never itself, never one connected, not the
 * same one again within redial_after_ms. */
static void test_peer_exchange(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *x = node_new(w, "X", 1), *m1 = node_new(w, "M1", 2);
  struct chain self, mem[6];
  chain_init(&self, 1);
  chain_add_profile(&self, 1, 2);
  node_hold(x, &self, 1, 1, false);
  for (int i = 0; i < 6; i++) {
    chain_init(&mem[i], (uint8_t)(2 + i)); /* mem[0] is M1's key */
    chain_add_profile(&mem[i], 2 + i, i == 5 ? 0 : 2); /* the last gives no address */
    node_hold(x, &mem[i], 1, 1, false);
  }
  x->cfg.target_connections = 3;
  node_start(x);
  node_start(m1);
  connect_nodes(w, x, m1);
  drain(w);
  uint64_t t = 5000;
  for (int k = 0; k < 40; k++, t += x->cfg.dial_interval_ms) {
    int before = x->n_dial;
    tick_all(w, t);
    drain(w);
    for (int i = before; i < x->n_dial; i++) {
      const struct dial *d = &x->dials[i];
      assert_memory_not_equal(d->pk, self.k.pk, HLS_KEY_BYTES);
      assert_memory_not_equal(d->pk, m1->key.pk, HLS_KEY_BYTES);
      assert_memory_not_equal(d->pk, mem[5].k.pk, HLS_KEY_BYTES);
      if (strncmp(d->address, "10.0.", 5) != 0) fail_msg("dialled %s", d->address);
      uint64_t since = d->now >= x->cfg.redial_after_ms ? d->now - x->cfg.redial_after_ms + 1 : 0;
      /* not the same member within redial_after_ms before this dial */
      for (int j = 0; j < i; j++)
        if (memcmp(x->dials[j].pk, d->pk, HLS_KEY_BYTES) == 0 && x->dials[j].now >= since)
          fail_msg("redialled a member after %llu ms", (unsigned long long)(d->now - x->dials[j].now));
    }
    /* at most the sessions it lacks, per tick */
    assert_true(x->n_dial - before <= 2);
  }
  /* every dialable member was tried, and tried again after redial_after */
  for (int i = 1; i < 5; i++) {
    assert_true(dialled_within(x, mem[i].k.pk, 0, 5000 + x->cfg.redial_after_ms));
    assert_true(dialled_within(x, mem[i].k.pk, 5000 + x->cfg.redial_after_ms, UINT64_MAX));
  }
  /* with target_connections sessions, no dial at all */
  int before = x->n_dial;
  struct node *m2 = node_new(w, "M2", 3), *m3 = node_new(w, "M3", 4);
  node_start(m2);
  node_start(m3);
  connect_nodes(w, x, m2);
  connect_nodes(w, x, m3);
  drain(w);
  for (int k = 0; k < 20; k++, t += x->cfg.dial_interval_ms) tick_all(w, t);
  assert_int_equal(x->n_dial, before);
  chain_free(&self);
  for (int i = 0; i < 6; i++) chain_free(&mem[i]);
  world_free(w);
}

/* A profile learnt by gossip gives addresses to dial. */
static void test_peer_exchange_learnt(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *x = node_new(w, "X", 1), *y = node_new(w, "Y", 2);
  struct chain far;
  chain_init(&far, 9);
  chain_add_profile(&far, 9, 1);
  node_hold(y, &far, 1, 1, false);
  x->cfg.target_connections = 2;
  node_start(x);
  node_start(y);
  connect_nodes(w, x, y);
  drain(w);
  tick_all(w, 0);
  assert_int_equal(x->n_dial, 1);
  assert_memory_equal(x->dials[0].pk, far.k.pk, HLS_KEY_BYTES);
  assert_string_equal(x->dials[0].address, "10.0.9.1:7420");
  struct hls_gossip_stats st;
  hls_gossip_get_stats(x->g, &st);
  assert_int_equal(st.sessions, 1);
  chain_free(&far);
  world_free(w);
}

/* ============================================================================ */
/* import (hls import-items)                                                     */
/* ============================================================================ */

/* Import c's seqs from..to (full envelopes, or stubs where stubs says so)
 * into n's engine; counts added to *res. */
static int import_range(struct node *n, const struct chain *c, uint64_t from, uint64_t to, bool stubs,
                        struct hls_gossip_import_result *res, struct hls_why *why) {
  size_t count = (size_t)(to - from + 1);
  struct hls_envelope *envs = calloc(count, sizeof *envs);
  struct blob *st = calloc(count, sizeof *st);
  assert_non_null(envs);
  assert_non_null(st);
  for (size_t i = 0; i < count; i++) {
    const struct blob *b = chain_at(c, from + i);
    if (stubs) {
      st[i] = stub_of(b);
      b = &st[i];
    }
    decode_ok(&envs[i], b->p, b->len);
  }
  memset(why, 0, sizeof *why);
  int rc = hls_gossip_import(n->g, envs, count, res, why);
  for (size_t i = 0; i < count; i++) free(st[i].p);
  free(st);
  free(envs);
  return rc;
}

static void import_ok(struct node *n, const struct chain *c, uint64_t from, uint64_t to,
                      struct hls_gossip_import_result *res) {
  struct hls_why why;
  int rc = import_range(n, c, from, to, false, res, &why);
  if (rc != 0) fail_msg("import %llu..%llu: %s (%s)", (unsigned long long)from, (unsigned long long)to,
                        hls_err_name(rc), why.text);
}

/* A contiguous run goes in whole, every signature checked; importing it
 * again stores nothing (all held); an overlapping longer run adds only the
 * new items. More than one scratch batch (HLS_GOSSIP_MAX_BATCH) in one call. */
static void test_import_run(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x;
  size_t total = HLS_GOSSIP_MAX_BATCH + 300;
  chain_make(&x, 90, total);
  node_start(b);
  struct hls_gossip_import_result res = {0};
  import_ok(b, &x, 1, 10, &res);
  assert_int_equal(res.imported, 10);
  assert_int_equal(res.held, 0);
  assert_int_equal(res.forks + res.ignored + res.stubbed, 0);
  assert_holds(b, &x, 10);
  for (uint64_t q = 1; q <= 10; q++) assert_int_equal(state_of(b, &x, q), HLS_BODY_HELD);
  assert_true(stat_verifications(b) >= 10); /* not one per run: every item */
  int actions = b->n_store_actions;
  memset(&res, 0, sizeof res);
  import_ok(b, &x, 1, 10, &res);
  assert_int_equal(res.imported, 0);
  assert_int_equal(res.held, 10);
  assert_int_equal(b->n_store_actions, actions);
  memset(&res, 0, sizeof res);
  import_ok(b, &x, 4, total, &res);
  assert_int_equal(res.held, 7);
  assert_int_equal(res.imported, total - 10);
  assert_holds(b, &x, total);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.items_received, total);
  chain_free(&x);
  world_free(w);
}

/* A gap above the head held, a break in the links, another origin in the
 * run, a bad signature anywhere in the run (where ITEMS would check only
 * the last), a tombstone without its body: refused, nothing stored. */
static void test_import_refused(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y, bad;
  chain_make(&x, 91, 8);
  chain_make(&y, 92, 3);
  chain_init(&bad, 93);
  chain_add_profile(&bad, 93, 1);
  chain_add_story(&bad, HLS_AUD_NETWORK, 0);
  chain_add_story(&bad, HLS_AUD_NETWORK, 0);
  chain_break_last_sig(&bad); /* 3: later items link to it as it is */
  chain_add_story(&bad, HLS_AUD_NETWORK, 0);
  chain_add_tombstone(&bad, 2);
  node_hold(b, &x, 1, 3, false);
  node_start(b);
  struct hls_gossip_import_result res = {0};
  struct hls_why why;
  assert_int_equal(import_range(b, &x, 5, 6, false, &res, &why), HLS_ECHAIN);
  assert_non_null(strstr(why.text, "seq 5 leaves a gap (this node holds up to seq 3)"));
  assert_int_equal(res.error_seq, 5);
  assert_int_equal(import_range(b, &y, 2, 3, false, &res, &why), HLS_ECHAIN);
  assert_non_null(strstr(why.text, "holds none of its items"));
  /* not linked: 4, then 6 */
  struct hls_envelope e[3];
  decode_ok(&e[0], chain_at(&x, 4)->p, chain_at(&x, 4)->len);
  decode_ok(&e[1], chain_at(&x, 6)->p, chain_at(&x, 6)->len);
  assert_int_equal(hls_gossip_import(b->g, e, 2, &res, &why), HLS_ECHAIN);
  assert_int_equal(res.error_seq, 6);
  /* two origins */
  decode_ok(&e[1], chain_at(&y, 1)->p, chain_at(&y, 1)->len);
  assert_int_equal(hls_gossip_import(b->g, e, 2, &res, &why), HLS_EINVAL);
  assert_int_equal(hls_gossip_import(b->g, e, 0, &res, &why), HLS_EINVAL);
  /* a bad signature in the middle: ITEMS would take 1..5 on 5's signature */
  assert_int_equal(import_range(b, &bad, 1, 5, false, &res, &why), HLS_EBADSIG);
  assert_int_equal(res.error_seq, 3);
  assert_non_null(strstr(why.text, "seq 3: bad signature"));
  assert_int_equal(hls_gossip_head(b->g, bad.k.pk), 0);
  /* a tombstone as a stub */
  assert_int_equal(import_range(b, &bad, 5, 5, true, &res, &why), HLS_EMALFORMED);
  assert_int_equal(b->n_store_actions, 0);
  assert_int_equal(res.imported + res.held, 0);
  assert_holds(b, &x, 3);
  chain_free(&x);
  chain_free(&y);
  chain_free(&bad);
  world_free(w);
}

/* Stubs import as stubs; a tombstone erases its target, before it is
 * stored itself, whether the target came in the same call or was held. */
static void test_import_tombstone(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain x;
  chain_init(&x, 94);
  chain_add_profile(&x, 94, 1);
  chain_add_story(&x, HLS_AUD_NETWORK, 0); /* 2: erased by 4 */
  chain_add_digest(&x, 2);                 /* 3: erased by 5 */
  chain_add_tombstone(&x, 2);
  chain_add_tombstone(&x, 3);
  chain_add_story(&x, HLS_AUD_NETWORK, 0); /* 6 */
  node_hold(b, &x, 1, 3, false);
  node_start(b);
  node_start(c);
  struct hls_gossip_import_result res = {0};
  import_ok(b, &x, 1, 6, &res);
  assert_int_equal(res.held, 3);
  assert_int_equal(res.imported, 3);
  assert_int_equal(b->n_erase, 2);
  assert_int_equal(state_of(b, &x, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(b, &x, 3), HLS_BODY_ERASED);
  assert_int_equal(state_of(b, &x, 6), HLS_BODY_HELD);
  memset(&res, 0, sizeof res);
  struct hls_why why;
  assert_int_equal(import_range(c, &x, 1, 3, true, &res, &why), 0); /* stubs */
  assert_int_equal(state_of(c, &x, 2), HLS_BODY_STUB);
  import_ok(c, &x, 1, 6, &res);
  assert_int_equal(c->n_erase, 2);
  assert_int_equal(state_of(c, &x, 2), HLS_BODY_ERASED);
  assert_int_equal(state_of(c, &x, 3), HLS_BODY_ERASED);
  assert_int_equal(state_of(c, &x, 4), HLS_BODY_HELD);
  assert_holds(c, &x, 6);
  chain_free(&x);
  world_free(w);
}

/* A peers-audience body does not come from its origin in an import: it is
 * kept as a stub (not a violation), counted, and when the node has a
 * session with the origin it asks it for the body (WANT). A network body
 * of the same chain is kept. */
static void test_import_peers_stub(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *c = node_new(w, "C", 3), *d = node_new(w, "D", 4);
  struct chain own;
  make_peers_chain(&own, 1); /* A's: 2 is peers-only */
  node_start(c);
  node_start(d);
  struct hls_gossip_import_result res = {0};
  import_ok(c, &own, 1, 3, &res);
  assert_int_equal(res.imported, 3);
  assert_int_equal(res.stubbed, 1);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  assert_int_equal(state_of(c, &own, 3), HLS_BODY_HELD);
  assert_null(held_at(c, own.k.pk, 2)->body.p);
  /* again: held, and the body still not taken (no BODY action) */
  memset(&res, 0, sizeof res);
  import_ok(c, &own, 1, 3, &res);
  assert_int_equal(res.held, 3);
  assert_int_equal(res.stubbed, 0);
  assert_int_equal(c->n_body, 0);
  assert_int_equal(state_of(c, &own, 2), HLS_BODY_STUB);
  /* D is connected to A (a fake peer with A's key): the import makes it ask */
  struct link *da = connect_fake(w, d, a->key.pk);
  fake_hello(da);
  assert_null(last_captured(da, HLS_GF_WANT));
  import_ok(d, &own, 1, 3, &res);
  const struct blob *want = last_captured(da, HLS_GF_WANT);
  assert_non_null(want);
  uint64_t seqs[HLS_GOSSIP_MAX_WANT];
  size_t n;
  struct hls_why why;
  assert_int_equal(hls_gossip_want_decode(want->p, want->len, seqs, &n, &why), 0);
  assert_int_equal(n, 1);
  assert_int_equal(seqs[0], 2);
  chain_free(&own);
  world_free(w);
}

/* Imported items go to connected peers at once (eager push), as received
 * ones do; a peers body kept as a stub goes as a stub. */
static void test_import_pushed(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *a = node_new(w, "A", 1), *b = node_new(w, "B", 2), *c = node_new(w, "C", 3);
  struct chain x, p;
  chain_make(&x, 95, 30);
  make_peers_chain(&p, 96);
  node_start(a);
  node_start(b);
  node_start(c);
  connect_nodes(w, a, b);
  connect_nodes(w, b, c);
  drain(w);
  struct hls_gossip_import_result res = {0};
  import_ok(a, &x, 1, 30, &res);
  import_ok(a, &p, 1, 3, &res);
  drain(w); /* no tick */
  assert_holds(b, &x, 30);
  assert_holds(c, &x, 30);
  assert_holds(c, &p, 3);
  assert_int_equal(state_of(c, &p, 2), HLS_BODY_STUB);
  assert_int_equal(state_of(c, &p, 3), HLS_BODY_HELD);
  chain_free(&x);
  chain_free(&p);
  world_free(w);
}

/* A different item at a held seq is fork evidence, as from a peer: FORK,
 * the origin is not followed any more, later imports of it are ignored. */
static void test_import_fork(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y;
  chain_make(&x, 97, 5);
  chain_fork(&y, &x, 5);
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X6 */
  chain_add_story(&x, HLS_AUD_NETWORK, 1); /* X7 */
  chain_add_story(&y, HLS_AUD_NETWORK, 2); /* Y6 */
  node_hold(b, &x, 1, 6, false);
  node_start(b);
  struct hls_gossip_import_result res = {0};
  import_ok(b, &y, 4, 6, &res);
  assert_int_equal(res.forks, 1);
  assert_int_equal(res.imported, 0);
  assert_fork_evidence(b, &x, 6);
  memset(&res, 0, sizeof res);
  import_ok(b, &x, 7, 7, &res);
  assert_int_equal(res.ignored, 1);
  assert_int_equal(res.imported, 0);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 6);
  assert_int_equal(b->n_store_actions, 0);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

/* A new origin beyond max_origins is an error (an admin asked for it),
 * not silently ignored; a store failure comes back, the head unmoved, and
 * the same import then succeeds. */
static void test_import_limits_and_store_failure(void **state) {
  (void)state;
  struct world *w = world_new();
  struct node *b = node_new(w, "B", 2);
  struct chain x, y;
  chain_make(&x, 98, 20);
  chain_make(&y, 99, 2);
  b->cfg.max_origins = 1;
  node_start(b);
  struct hls_gossip_import_result res = {0};
  struct hls_why why;
  b->fail_store = HLS_ESTORE;
  assert_int_equal(import_range(b, &x, 1, 20, false, &res, &why), HLS_ESTORE);
  assert_int_equal(hls_gossip_head(b->g, x.k.pk), 0);
  struct hls_gossip_stats st;
  hls_gossip_get_stats(b->g, &st);
  assert_int_equal(st.origins, 0);
  import_ok(b, &x, 1, 20, &res);
  assert_holds(b, &x, 20);
  assert_int_equal(import_range(b, &y, 1, 2, false, &res, &why), HLS_ELIMIT);
  assert_non_null(strstr(why.text, "max_origins"));
  assert_int_equal(hls_gossip_head(b->g, y.k.pk), 0);
  chain_free(&x);
  chain_free(&y);
  world_free(w);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec_roundtrip),
      cmocka_unit_test(test_codec_errors),
      cmocka_unit_test(test_codec_error_codes),
      cmocka_unit_test(test_codec_mutations),
      cmocka_unit_test(test_converge_1000),
      cmocka_unit_test(test_behind_counts_chains_not_followed),
      cmocka_unit_test(test_block_origin),
      cmocka_unit_test(test_converge_both_ways),
      cmocka_unit_test(test_eager_push),
      cmocka_unit_test(test_large_vector),
      cmocka_unit_test(test_batch_bytes),
      cmocka_unit_test(test_vector_deltas),
      cmocka_unit_test(test_vector_deltas_after_ack),
      cmocka_unit_test(test_audience),
      cmocka_unit_test(test_audience_relay_refused),
      cmocka_unit_test(test_audience_body_from_origin),
      cmocka_unit_test(test_store_views_contract),
      cmocka_unit_test(test_tombstone),
      cmocka_unit_test(test_tombstone_of_receipt_erases_nothing),
      cmocka_unit_test(test_tombstone_before_bodies),
      cmocka_unit_test(test_tombstone_of_tombstone),
      cmocka_unit_test(test_tombstone_erase_failure),
      cmocka_unit_test(test_fork),
      cmocka_unit_test(test_fork_via_successor),
      cmocka_unit_test(test_fork_reported),
      cmocka_unit_test(test_successor_closes_chain),
      cmocka_unit_test(test_successor_forged),
      cmocka_unit_test(test_blocked_successor_told),
      cmocka_unit_test(test_fork_report_forged),
      cmocka_unit_test(test_rekey_stewards),
      cmocka_unit_test(test_fork_reported_store_fails),
      cmocka_unit_test(test_fork_kept_while_another_pending),
      cmocka_unit_test(test_fork_kept_after_failure_in_frame),
      cmocka_unit_test(test_bad_peers),
      cmocka_unit_test(test_bad_second_want),
      cmocka_unit_test(test_bad_bodies),
      cmocka_unit_test(test_bad_intermediate_signature),
      cmocka_unit_test(test_bad_signature_head_then_more),
      cmocka_unit_test(test_store_failure),
      cmocka_unit_test(test_max_origins),
      cmocka_unit_test(test_peer_exchange),
      cmocka_unit_test(test_peer_exchange_learnt),
      cmocka_unit_test(test_import_run),
      cmocka_unit_test(test_import_refused),
      cmocka_unit_test(test_import_tombstone),
      cmocka_unit_test(test_import_peers_stub),
      cmocka_unit_test(test_import_pushed),
      cmocka_unit_test(test_import_fork),
      cmocka_unit_test(test_import_limits_and_store_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
