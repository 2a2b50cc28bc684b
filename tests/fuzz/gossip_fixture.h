/* The chains shared by fuzz_gossip_engine, fuzz_gossip_frames and their
 * seed generator (make_gossip_corpus): fixed keys, bodies and timestamps,
 * so every envelope (Ed25519 signatures are deterministic), and therefore
 * every seed built from them, is the same on every run.
 *
 *   SELF   the engine's own chain: 1 profile, 2 peers story, 3 story,
 *          4 peers story, 5 tombstone of 3. The store starts with 1..3;
 *          4 and 5 are published during a run (hls_gossip_local_item).
 *   PEER   the origin P of the usual session (a direct peer): 1 profile,
 *          2 peers story, 3 story, 4 peers story, 5 tombstone of 2,
 *          6 digest, 7 peers story, 8 tombstone of 5 (a tombstone of a
 *          tombstone). The store starts with 1..3, 2 as a stub, so the
 *          engine asks P for it (WANT [2]).
 *   OTHER  a third origin: 1 profile, 2 digest, 3-5 stories, 6 a story
 *          whose signature is broken (7 links to it and vouches for it),
 *          7 story, 8 tombstone of 4, 9 and 10 stories. Store: 1..5.
 *   FORK   OTHER's key again, the same 1..4, then a different 5 and 6:
 *          a fork against the 5 the store holds.
 *   NEW1   a new origin (1..3), within max_origins.
 *   NEW2   another (1..3), beyond max_origins.
 * Q (GFX_Q_SEED) is a member that is not a direct peer. */
#ifndef HLS_GOSSIP_FIXTURE_H
#define HLS_GOSSIP_FIXTURE_H

#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

#define GFX_MAX_ITEMS 12
#define GFX_TS0 1771232400000ull
#define GFX_Q_SEED 0x44
#define GFX_MAX_ORIGINS 4 /* SELF, PEER, OTHER, NEW1 */
#define GFX_MAX_RUNS 4    /* runs of one GOP_CANNED frame */

enum { GFX_SELF, GFX_PEER, GFX_OTHER, GFX_FORK, GFX_NEW1, GFX_NEW2, GFX_CHAINS };

struct gfx_item {
  uint8_t *env; /* full envelope, owned by the fixture (static storage) */
  size_t len;
  uint8_t *stub;
  size_t stub_len;
  uint8_t id[HLS_HASH_BYTES];
  int type, audience;
  bool sig_ok;
  uint64_t target; /* a tombstone's target_seq; 0 for other types */
};

struct gfx_chain {
  uint8_t pk[HLS_KEY_BYTES], sk[64];
  size_t n, held;
  struct gfx_item it[GFX_MAX_ITEMS]; /* it[seq - 1] */
};

struct gfx {
  struct gfx_chain c[GFX_CHAINS];
  uint8_t q_pk[HLS_KEY_BYTES];
};

static inline void gfx_key(uint8_t seed_byte, uint8_t pk[HLS_KEY_BYTES], uint8_t sk[64]) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(seed_byte + 3 * i);
  crypto_sign_seed_keypair(pk, sk, seed);
}

static inline uint8_t *gfx_dup(const void *p, size_t len) {
  uint8_t *d = malloc(len);
  if (d == NULL) abort();
  memcpy(d, p, len);
  return d;
}

/* Append an item of type with body to c; break its signature if asked. */
static inline void gfx_add(struct gfx_chain *c, int type, int audience, const msgpack_sbuffer *body, bool break_sig) {
  if (c->n == GFX_MAX_ITEMS) abort();
  uint64_t seq = c->n + 1;
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  if (hls_env_build(&out, type, c->sk, seq, seq > 1 ? c->it[seq - 2].id : NULL, GFX_TS0 + seq * 60000, audience,
                    (const uint8_t *)body->data, body->size) != 0)
    abort();
  struct gfx_item *it = &c->it[c->n++];
  it->env = gfx_dup(out.data, out.size);
  it->len = out.size;
  msgpack_sbuffer_destroy(&out);
  struct hls_envelope e;
  if (hls_env_decode(&e, it->env, it->len, NULL) != 0) abort();
  if (break_sig) {
    size_t sig_at = (size_t)(e.header_bytes - it->env) + e.header_len + 2; /* after c4 40 */
    it->env[sig_at + 7] ^= 0x10;
    if (hls_env_decode(&e, it->env, it->len, NULL) != 0) abort();
  }
  memcpy(it->id, e.id, HLS_HASH_BYTES);
  it->sig_ok = hls_env_verify(&e) == 0;
  it->type = type;
  it->audience = audience;
  it->target = 0;
  struct hls_tombstone tb;
  if (type == HLS_ENV_TOMBSTONE) {
    if (hls_tombstone_decode(&tb, e.body, e.body_len, NULL) != 0) abort();
    it->target = tb.target_seq;
  }
  msgpack_sbuffer stub;
  msgpack_sbuffer_init(&stub);
  if (hls_env_encode_stub(&stub, &e) != 0) abort();
  it->stub = gfx_dup(stub.data, stub.size);
  it->stub_len = stub.size;
  msgpack_sbuffer_destroy(&stub);
}

static inline void gfx_profile(struct gfx_chain *c, int tag) {
  struct hls_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.place, sizeof p.place, "Place %d", tag);
  strcpy(p.region, "Region");
  p.n_addresses = 1;
  snprintf(p.addresses[0], sizeof p.addresses[0], "10.9.%d.1:7420", tag);
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_profile_pack(&b, &p) != 0) abort();
  gfx_add(c, HLS_ENV_PROFILE, HLS_AUD_NETWORK, &b, false);
  msgpack_sbuffer_destroy(&b);
}

static inline void gfx_story(struct gfx_chain *c, int audience, int variant, bool break_sig) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = 2026;
  s.iso_week = 7;
  snprintf(s.title, sizeof s.title, "Story %zu.%d", c->n + 1, variant);
  s.n_themes = 1;
  strcpy(s.themes[0].slug, "loneliness");
  s.themes[0].kind = HLS_KIND_PROBLEM;
  s.scale = HLS_SCALE_PLACE;
  s.stage = HLS_STAGE_EXPERIMENT;
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_story_pack(&b, &s) != 0) abort();
  gfx_add(c, HLS_ENV_STORY, audience, &b, break_sig);
  msgpack_sbuffer_destroy(&b);
}

static inline void gfx_digest(struct gfx_chain *c) {
  struct hls_digest_cell cell;
  memset(&cell, 0, sizeof cell);
  strcpy(cell.theme, "loneliness");
  cell.kind = HLS_KIND_PROBLEM;
  cell.scale = HLS_SCALE_PLACE;
  cell.stage = HLS_STAGE_REFLECT;
  cell.count = 3;
  struct hls_digest d = {.iso_year = 2026, .iso_week = 7, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_digest_pack(&b, &d) != 0) abort();
  gfx_add(c, HLS_ENV_DIGEST, HLS_AUD_NETWORK, &b, false);
  msgpack_sbuffer_destroy(&b);
}

static inline void gfx_tombstone(struct gfx_chain *c, uint64_t target) {
  struct hls_tombstone t = {.target_seq = target, .reason = HLS_TOMB_CONSENT_WITHDRAWN};
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_tombstone_pack(&b, &t) != 0) abort();
  gfx_add(c, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, &b, false);
  msgpack_sbuffer_destroy(&b);
}

/* Build the fixture (once per process: the chains live until exit). */
static inline const struct gfx *gfx_get(void) {
  static struct gfx f;
  static bool built;
  if (built) return &f;
  if (sodium_init() < 0) abort();
  struct gfx_chain *c;

  c = &f.c[GFX_SELF];
  gfx_key(0x11, c->pk, c->sk);
  gfx_profile(c, 11);
  gfx_story(c, HLS_AUD_PEERS, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_PEERS, 0, false);
  gfx_tombstone(c, 3);
  c->held = 3;

  c = &f.c[GFX_PEER];
  gfx_key(0x22, c->pk, c->sk);
  gfx_profile(c, 22);
  gfx_story(c, HLS_AUD_PEERS, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_PEERS, 0, false);
  gfx_tombstone(c, 2);
  gfx_digest(c);
  gfx_story(c, HLS_AUD_PEERS, 0, false);
  gfx_tombstone(c, 5);
  c->held = 3;

  c = &f.c[GFX_OTHER];
  gfx_key(0x33, c->pk, c->sk);
  gfx_profile(c, 33);
  gfx_digest(c);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, true); /* 6: bad signature */
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_tombstone(c, 4);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  c->held = 5;

  c = &f.c[GFX_FORK];
  memcpy(c->pk, f.c[GFX_OTHER].pk, HLS_KEY_BYTES);
  memcpy(c->sk, f.c[GFX_OTHER].sk, 64);
  gfx_profile(c, 33);
  gfx_digest(c);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 0, false);
  gfx_story(c, HLS_AUD_NETWORK, 1, false); /* 5': the fork */
  gfx_story(c, HLS_AUD_NETWORK, 1, false);
  c->held = 0;

  for (int k = GFX_NEW1; k <= GFX_NEW2; k++) {
    c = &f.c[k];
    gfx_key((uint8_t)(0x55 + k), c->pk, c->sk);
    gfx_profile(c, 55 + k);
    gfx_story(c, HLS_AUD_NETWORK, 0, false);
    gfx_story(c, HLS_AUD_NETWORK, 0, false);
    c->held = 0;
  }
  uint8_t q_sk[64];
  gfx_key(GFX_Q_SEED, f.q_pk, q_sk);
  built = true;
  return &f;
}

/* --- frame payloads -------------------------------------------------------- */

static inline void gfx_pk(int rc) {
  if (rc != 0) abort();
}

/* One run of an ITEMS frame: chain c, seqs from..to; stubs instead of
 * full envelopes where stub_mask has bit (seq - from). */
struct gfx_run {
  const struct gfx_chain *c;
  uint64_t from, to;
  unsigned stub_mask;
};

/* ITEMS (or BODIES) of the envelopes of runs[0..n_runs), in order. */
static inline void gfx_items_runs(msgpack_sbuffer *sb, int type, bool complete, const struct gfx_run *runs,
                                  size_t n_runs) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  gfx_pk(msgpack_pack_array(&pk, type == 17 ? 2 : 3));
  gfx_pk(msgpack_pack_uint32(&pk, (uint32_t)type));
  if (type == 20) gfx_pk(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  uint32_t count = 0;
  for (size_t r = 0; r < n_runs; r++) count += (uint32_t)(runs[r].to >= runs[r].from ? runs[r].to - runs[r].from + 1 : 0);
  gfx_pk(msgpack_pack_array(&pk, count));
  for (size_t r = 0; r < n_runs; r++) {
    for (uint64_t q = runs[r].from; q <= runs[r].to; q++) {
      const struct gfx_item *it = &runs[r].c->it[q - 1];
      bool stub = q - runs[r].from < 32 && ((runs[r].stub_mask >> (q - runs[r].from)) & 1u);
      gfx_pk(msgpack_pack_bin(&pk, stub ? it->stub_len : it->len));
      gfx_pk(msgpack_pack_bin_body(&pk, stub ? it->stub : it->env, stub ? it->stub_len : it->len));
    }
  }
}

/* ITEMS (or BODIES) of chain c, seqs from..to, in one run. */
static inline void gfx_items(msgpack_sbuffer *sb, int type, bool complete, const struct gfx_chain *c, uint64_t from,
                             uint64_t to, unsigned stub_mask) {
  struct gfx_run run = {.c = c, .from = from, .to = to, .stub_mask = stub_mask};
  gfx_items_runs(sb, type, complete, &run, 1);
}

static inline void gfx_ack(msgpack_sbuffer *sb, const uint8_t origin[HLS_KEY_BYTES], uint64_t head) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  gfx_pk(msgpack_pack_array(&pk, 2));
  gfx_pk(msgpack_pack_uint32(&pk, 18));
  gfx_pk(msgpack_pack_array(&pk, 1));
  gfx_pk(msgpack_pack_array(&pk, 2));
  gfx_pk(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
  gfx_pk(msgpack_pack_bin_body(&pk, origin, HLS_KEY_BYTES));
  gfx_pk(msgpack_pack_uint64(&pk, head));
}

static inline void gfx_want(msgpack_sbuffer *sb, const uint64_t *seqs, size_t n) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  gfx_pk(msgpack_pack_array(&pk, 2));
  gfx_pk(msgpack_pack_uint32(&pk, 19));
  gfx_pk(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) gfx_pk(msgpack_pack_uint64(&pk, seqs[i]));
}

/* VECTOR: n entries, chain index and head for each. */
static inline void gfx_vector(msgpack_sbuffer *sb, bool complete, const struct gfx *f, const int *chains,
                              const uint64_t *heads, size_t n) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  gfx_pk(msgpack_pack_array(&pk, 3));
  gfx_pk(msgpack_pack_uint32(&pk, 16));
  gfx_pk(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  gfx_pk(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    gfx_pk(msgpack_pack_array(&pk, 2));
    gfx_pk(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    gfx_pk(msgpack_pack_bin_body(&pk, f->c[chains[i]].pk, HLS_KEY_BYTES));
    gfx_pk(msgpack_pack_uint64(&pk, heads[i]));
  }
}

/* --- the engine input format (fuzz_gossip_engine) -------------------------------
 * A sequence of operations, each an op byte then its arguments:
 *   GOP_FRAME  len16be payload   a frame from the peer
 *   GOP_TICK   dt                time advances dt x 50 ms, then a tick
 *   GOP_AS_P / GOP_AS_Q          the session closes; a new one opens with
 *                                P (origin of PEER, a direct peer) / Q
 *   GOP_FAIL_STORE               the next STORE fails (store_error)
 *   GOP_FAIL_APPLY               the next ERASE, BODY or FORK fails
 *   GOP_PUBLISH                  the node publishes SELF's next item
 *   GOP_CANNED sel arg [sel arg]...  ITEMS/BODIES cut from the fixture
 *     chains: chain sel % GFX_CHAINS, from (sel / GFX_CHAINS) % n + 1,
 *     count (arg & 7) + 1, stubs for all if arg & 0x80; BODIES if the
 *     first arg & 0x40 (complete if arg & 0x20). While arg & 0x10,
 *     another (sel, arg) follows: one more run in the same frame (at
 *     most GFX_MAX_RUNS), as an ITEMS frame of several origins is. */
enum { GOP_FRAME, GOP_TICK, GOP_AS_P, GOP_AS_Q, GOP_FAIL_STORE, GOP_FAIL_APPLY, GOP_PUBLISH, GOP_CANNED, GOP_COUNT };

#endif
