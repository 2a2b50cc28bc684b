#include "sim_world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"

/* Stream numbers of the seed's independent PRNG streams. */
#define STREAM_WORLD 1

static const char *const theme_slugs[] = {"loneliness",     "community-cafe", "housing",    "food-poverty",
                                          "youth-work",     "mental-health",  "transport", "digital-inclusion",
                                          "green-spaces",   "employment"};
#define N_THEMES (sizeof theme_slugs / sizeof theme_slugs[0])

static const char *const words[] = {"we", "tried", "a", "weekly", "drop-in", "and", "people", "came", "back",
                                    "start", "small", "listen", "first", "trust", "takes", "time", "with",
                                    "neighbours", "caf\xc3\xa9", "volunteers"};
#define N_WORDS (sizeof words / sizeof words[0])

/* --- lookups ------------------------------------------------------------------ */

static size_t pk_hash(const uint8_t pk[HLS_KEY_BYTES]) {
  uint64_t h;
  memcpy(&h, pk, sizeof h);
  return (size_t)h;
}

uint32_t sim_world_ident(const struct sim_world *w, const uint8_t pk[HLS_KEY_BYTES]) {
  for (size_t i = pk_hash(pk) & w->pk_table_mask;; i = (i + 1) & w->pk_table_mask) {
    uint32_t n = w->pk_table[i];
    if (n == SIM_NONE) return SIM_NONE;
    if (memcmp(w->nodes[n].pk, pk, HLS_KEY_BYTES) == 0) return n;
  }
}

uint32_t sim_world_origin(const struct sim_world *w, const uint8_t pk[HLS_KEY_BYTES]) {
  uint32_t n = sim_world_ident(w, pk);
  return n == SIM_NONE ? SIM_NONE : w->nodes[n].origin;
}

const struct sim_item *sim_world_item(const struct sim_world *w, uint32_t o, int branch, uint64_t seq) {
  const struct sim_origin *org = &w->origins[o];
  if (seq == 0) return NULL;
  if (branch == 1 && org->fork_seq != 0 && seq >= org->fork_seq) {
    uint64_t k = seq - org->fork_seq;
    return k < org->n_alt ? &org->alt[k] : NULL;
  }
  return seq <= org->n_items ? &org->items[seq - 1] : NULL;
}

uint64_t sim_world_chain_len(const struct sim_world *w, uint32_t o, int branch) {
  const struct sim_origin *org = &w->origins[o];
  if (branch == 1 && org->fork_seq != 0) return org->fork_seq - 1 + org->n_alt;
  return org->n_items;
}

bool sim_world_lists(const struct sim_world *w, uint32_t lister, uint32_t listed) {
  const struct sim_node_info *n = &w->nodes[lister];
  for (size_t i = 0; i < n->n_listed; i++)
    if (n->listed[i] == listed) return true;
  return false;
}

bool sim_world_body_allowed(const struct sim_world *w, uint32_t node, uint32_t o, const struct sim_item *it) {
  if (it->audience == HLS_AUD_NETWORK) return true;
  const struct sim_origin *org = &w->origins[o];
  uint32_t me = w->nodes[node].ident;
  /* An equivocating origin's two copies list different peers. */
  return me == org->node || sim_world_lists(w, org->node, me) ||
         (org->twin != SIM_NONE && sim_world_lists(w, org->twin, me));
}

bool sim_world_checked(const struct sim_world *w, uint32_t node, uint32_t o) {
  return w->nodes[node].role == SIM_HONEST && !w->origins[o].adversary;
}

int sim_world_expected(const struct sim_world *w, uint32_t node, uint32_t o, const struct sim_item *it) {
  if (it->tombstoned) return HLS_BODY_ERASED;
  return sim_world_body_allowed(w, node, o, it) ? HLS_BODY_HELD : HLS_BODY_STUB;
}

uint32_t sim_world_parse_address(const struct sim_world *w, const char *address) {
  unsigned long n;
  int used = 0;
  if (sscanf(address, "n%lu.sim:7420%n", &n, &used) != 1 || address[used] != '\0' || n >= w->n_nodes)
    return SIM_NONE;
  return (uint32_t)n;
}

size_t sim_item_envelope(const struct sim_item *it, uint8_t *out) {
  memcpy(out, it->stub, it->stub_len - 1);
  memcpy(out + it->stub_len - 1, it->body, it->body_len);
  return it->stub_len - 1 + it->body_len;
}

/* --- building chains ------------------------------------------------------------- */

static void random_text(struct sim_rng *r, char *out, size_t cap) {
  size_t n = sim_rng_range(r, 3, 18), len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *word = words[sim_rng_below(r, N_WORDS)];
    int k = snprintf(out + len, cap - len, "%s%s", i ? " " : "", word);
    if (k < 0 || (size_t)k >= cap - len) break;
    len += (size_t)k;
  }
}

static int pack_profile(msgpack_sbuffer *sb, struct sim_rng *r, uint32_t node) {
  struct hls_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.place, sizeof p.place, "Place %u", node);
  snprintf(p.region, sizeof p.region, "Region %u", node % 9);
  p.role = sim_rng_chance(r, 0.1) ? HLS_PROFILE_PARTNER : HLS_PROFILE_PLACE;
  p.n_addresses = 1;
  snprintf(p.addresses[0], sizeof p.addresses[0], "n%u.sim:7420", node);
  return hls_profile_pack(sb, &p);
}

static int pack_story(msgpack_sbuffer *sb, struct sim_rng *r, uint32_t node, uint64_t seq) {
  char tried[256], learnt[256];
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = 2026;
  s.iso_week = (int)sim_rng_range(r, 1, 52);
  snprintf(s.title, sizeof s.title, "Story %llu of place %u", (unsigned long long)seq, node);
  random_text(r, tried, sizeof tried);
  random_text(r, learnt, sizeof learnt);
  s.tried = sim_rng_chance(r, 0.8) ? tried : NULL;
  s.learnt = sim_rng_chance(r, 0.8) ? learnt : NULL;
  size_t first = sim_rng_below(r, N_THEMES);
  s.n_themes = sim_rng_range(r, 1, 3);
  for (size_t i = 0; i < s.n_themes; i++) { /* distinct: consecutive slugs */
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", theme_slugs[(first + i) % N_THEMES]);
    s.themes[i].kind = (enum hls_kind)sim_rng_below(r, HLS_KIND_COUNT);
  }
  s.scale = (int)sim_rng_below(r, HLS_SCALE_COUNT);
  s.stage = (int)sim_rng_below(r, HLS_STAGE_COUNT);
  return hls_story_pack(sb, &s);
}

static int pack_digest(msgpack_sbuffer *sb, struct sim_rng *r) {
  struct hls_digest_cell cells[4];
  struct hls_digest d;
  memset(&d, 0, sizeof d);
  memset(cells, 0, sizeof cells);
  d.iso_year = 2026;
  d.iso_week = (int)sim_rng_range(r, 1, 52);
  d.method.threshold = HLS_DISCLOSURE_DEFAULT_THRESHOLD;
  d.method.rounding = HLS_DISCLOSURE_DEFAULT_ROUNDING;
  d.n_cells = sim_rng_range(r, 1, 4);
  size_t first = sim_rng_below(r, N_THEMES);
  for (size_t i = 0; i < d.n_cells; i++) {
    snprintf(cells[i].theme, sizeof cells[i].theme, "%s", theme_slugs[(first + i) % N_THEMES]);
    cells[i].kind = (int)sim_rng_below(r, HLS_KIND_COUNT);
    /* Not person scale: those counts are exact, no disclosure rule applies. */
    cells[i].scale = (int)sim_rng_range(r, HLS_SCALE_ORGANISATION, HLS_SCALE_COUNTRY);
    cells[i].stage = (int)sim_rng_below(r, HLS_STAGE_COUNT);
    cells[i].count = (uint32_t)sim_rng_range(r, 1, 60);
  }
  d.cells = cells;
  return hls_digest_pack(sb, &d);
}

/* Sign item it (its seq, type, audience, publish_ms and target_seq set)
 * over body, after prev (NULL for seq 1), and intern its stub and body. */
static int sign_item(struct sim_item *it, const uint8_t sk[64], const uint8_t *prev, const msgpack_sbuffer *body) {
  msgpack_sbuffer env;
  msgpack_sbuffer_init(&env);
  msgpack_sbuffer stub;
  msgpack_sbuffer_init(&stub);
  struct hls_envelope e;
  struct hls_why why = {{0}};
  int rc = hls_env_build(&env, it->type, sk, it->seq, prev, SIM_EPOCH_MS + it->publish_ms, it->audience,
                         (const uint8_t *)body->data, body->size);
  if (rc == 0) rc = hls_env_decode(&e, (const uint8_t *)env.data, env.size, &why);
  if (rc == 0) rc = hls_env_encode_stub(&stub, &e);
  if (rc == 0) {
    it->stub_len = stub.size;
    it->body_len = body->size;
    it->stub = malloc(stub.size);
    it->body = malloc(body->size);
    if (it->stub == NULL || it->body == NULL) {
      rc = HLS_ENOMEM;
    } else {
      memcpy(it->stub, stub.data, stub.size);
      memcpy(it->body, body->data, body->size);
      memcpy(it->id, e.id, sizeof it->id);
      memcpy(it->sig, e.sig, sizeof it->sig);
    }
  }
  /* docs/protocol.md 3.4: the envelope is the stub with its final byte
   * replaced by the body. The simulator rebuilds envelopes that way. */
  if (rc == 0 && (it->stub_len - 1 + it->body_len != env.size || it->stub[it->stub_len - 1] != 0xc0 ||
                  memcmp(env.data, it->stub, it->stub_len - 1) != 0)) {
    fprintf(stderr, "hls_sim: an envelope is not its stub plus its body\n");
    rc = HLS_EINTERNAL;
  }
  if (rc != 0 && rc != HLS_ENOMEM) fprintf(stderr, "hls_sim: cannot sign an item: %s %s\n", hls_err_name(rc), why.text);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&stub);
  return rc;
}

/* An erasure receipt of 1-3 entries naming random items of other origins
 * (random keys: the engine relays what it cannot check the meaning of). */
static int pack_receipt(msgpack_sbuffer *body, struct sim_rng *r) {
  struct hls_receipt_entry e[3];
  size_t n = (size_t)sim_rng_range(r, 1, 3);
  memset(e, 0, sizeof e);
  for (size_t i = 0; i < n; i++) {
    for (size_t b = 0; b < HLS_KEY_BYTES; b += 8) {
      uint64_t x = sim_rng_next(r);
      memcpy(e[i].origin + b, &x, 8);
    }
    e[i].target_seq = sim_rng_range(r, 1, 1000);
    e[i].state = (int)sim_rng_below(r, 2);
  }
  for (size_t i = 1; i < n; i++) /* insertion sort into receipt order */
    for (size_t j = i; j > 0 && hls_receipt_entry_cmp(&e[j - 1], &e[j]) > 0; j--) {
      struct hls_receipt_entry t = e[j];
      e[j] = e[j - 1];
      e[j - 1] = t;
    }
  struct hls_receipt rc = {.n_entries = n, .entries = e};
  return hls_receipt_pack(body, &rc);
}

/* Plan and sign items[first..n) of a branch (items before first already
 * built: the shared prefix). Times: sorted in [from_ms, to_ms]. With
 * receipts, some items are erasure receipts. */
static int build_branch(struct sim_rng *r, struct sim_item *items, size_t first, size_t n, const uint8_t sk[64],
                        uint32_t node, uint64_t from_ms, uint64_t to_ms, bool receipts) {
  uint64_t *times = calloc(n + 1, sizeof *times);
  if (times == NULL) return HLS_ENOMEM;
  for (size_t i = first; i < n; i++) times[i] = sim_rng_range(r, from_ms, to_ms);
  for (size_t i = first + 1; i < n; i++) /* insertion sort: chains are short */
    for (size_t j = i; j > first && times[j - 1] > times[j]; j--) {
      uint64_t t = times[j];
      times[j] = times[j - 1];
      times[j - 1] = t;
    }
  int rc = 0;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  for (size_t i = first; i < n && rc == 0; i++) {
    struct sim_item *it = &items[i];
    memset(it, 0, sizeof *it);
    it->seq = i + 1;
    it->publish_ms = times[i];
    it->audience = HLS_AUD_NETWORK;
    body.size = 0;
    /* Candidates for a tombstone: earlier stories and digests of this
     * branch not erased yet. */
    size_t candidates[64], n_candidates = 0;
    for (size_t j = 1; j < i && n_candidates < 64; j++)
      if ((items[j].type == HLS_ENV_STORY || items[j].type == HLS_ENV_DIGEST) && !items[j].tombstoned)
        candidates[n_candidates++] = j;
    if (i == 0) {
      it->type = HLS_ENV_PROFILE;
      rc = pack_profile(&body, r, node);
    } else if (receipts && sim_rng_chance(r, 0.2)) {
      it->type = HLS_ENV_RECEIPT;
      rc = pack_receipt(&body, r);
    } else if (n_candidates > 0 && sim_rng_chance(r, 0.25)) {
      struct sim_item *target = &items[candidates[sim_rng_below(r, n_candidates)]];
      struct hls_tombstone t = {.target_seq = target->seq, .reason = (int)sim_rng_below(r, 4)};
      it->type = HLS_ENV_TOMBSTONE;
      it->target_seq = target->seq;
      target->tombstoned = true;
      rc = hls_tombstone_pack(&body, &t);
    } else if (sim_rng_chance(r, 0.65)) {
      it->type = HLS_ENV_STORY;
      it->audience = sim_rng_chance(r, 0.5) ? HLS_AUD_PEERS : HLS_AUD_NETWORK;
      rc = pack_story(&body, r, node, it->seq);
    } else {
      it->type = HLS_ENV_DIGEST;
      rc = pack_digest(&body, r);
    }
    if (rc == 0) rc = sign_item(it, sk, i == 0 ? NULL : items[i - 1].id, &body);
  }
  msgpack_sbuffer_destroy(&body);
  free(times);
  return rc;
}

/* --- topology ------------------------------------------------------------------------ */

static uint32_t uf_find(uint32_t *parent, uint32_t x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}

static int add_listing(struct sim_node_info *n, uint32_t peer) {
  for (size_t i = 0; i < n->n_listed; i++)
    if (n->listed[i] == peer) return 0;
  uint32_t *grown = realloc(n->listed, (n->n_listed + 1) * sizeof *grown);
  if (grown == NULL) return HLS_ENOMEM;
  n->listed = grown;
  n->listed[n->n_listed++] = peer;
  return 0;
}

/* Each node lists 1-2 random others (an honest node may list an
 * adversary, as admins do not know), then the honest nodes' listings are
 * made connected on their own, so honest nodes converge whatever the
 * adversaries do. A twin (a restored copy of a node, run elsewhere) lists
 * peers of its own: those of its original hold a session with the
 * original, and hlsd keeps one session per peer key. */
static int build_topology(struct sim_world *w, struct sim_rng *r, const uint32_t *honest, uint32_t n_honest) {
  uint32_t n = w->n_nodes;
  uint32_t *parent = malloc(n * sizeof *parent);
  if (parent == NULL) return HLS_ENOMEM;
  for (uint32_t i = 0; i < n; i++) parent[i] = i;
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    struct sim_node_info *node = &w->nodes[i];
    uint64_t want = sim_rng_range(r, 1, 2);
    for (uint64_t k = 0; k < want && rc == 0; k++) {
      uint32_t peer;
      if (node->role == SIM_HONEST) {
        do peer = (uint32_t)sim_rng_below(r, n);
        while (peer == i || peer == w->twin); /* the twin's key is its original's */
      } else {
        do peer = honest[sim_rng_below(r, n_honest)];
        while (peer == i);
      }
      rc = add_listing(node, peer);
      if (node->role == SIM_HONEST && w->nodes[peer].role == SIM_HONEST)
        parent[uf_find(parent, i)] = uf_find(parent, peer);
    }
  }
  /* Join every other honest component to the first honest node's. */
  for (uint32_t k = 1; k < n_honest && rc == 0; k++) {
    uint32_t i = honest[k], root = uf_find(parent, honest[0]);
    if (uf_find(parent, i) == root) continue;
    uint32_t peer;
    do peer = honest[sim_rng_below(r, n_honest)];
    while (uf_find(parent, peer) != root);
    rc = add_listing(&w->nodes[i], peer);
    parent[uf_find(parent, i)] = root;
  }

  free(parent);
  return rc;
}

/* --- the world -------------------------------------------------------------------------- */

static int pk_table_build(struct sim_world *w) {
  size_t size = 16;
  while (size < 2 * (size_t)w->n_nodes) size *= 2;
  w->pk_table = malloc(size * sizeof *w->pk_table);
  if (w->pk_table == NULL) return HLS_ENOMEM;
  w->pk_table_mask = size - 1;
  for (size_t i = 0; i < size; i++) w->pk_table[i] = SIM_NONE;
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    if (w->nodes[n].ident != n) continue;
    size_t i = pk_hash(w->nodes[n].pk) & w->pk_table_mask;
    while (w->pk_table[i] != SIM_NONE) i = (i + 1) & w->pk_table_mask;
    w->pk_table[i] = n;
  }
  return 0;
}

static int build_chains(struct sim_world *w, struct sim_rng *r) {
  const struct sim_params *p = &w->p;
  uint64_t first_item_ms = 300, window = p->publish_window_ms > first_item_ms ? p->publish_window_ms : first_item_ms;
  for (uint32_t o = 0; o < w->n_origins; o++) {
    struct sim_origin *org = &w->origins[o];
    const struct sim_node_info *node = &w->nodes[org->node];
    org->n_items = 1 + (size_t)p->items_per_node;
    org->items = calloc(org->n_items, sizeof *org->items);
    if (org->items == NULL) return HLS_ENOMEM;
    /* The profile goes out as the node starts, the rest over the window. */
    int rc = build_branch(r, org->items, 0, 1, node->sk, org->node, 0, 200, p->receipts);
    if (rc == 0)
      rc = build_branch(r, org->items, 1, org->n_items, node->sk, org->node, first_item_ms, window, p->receipts);
    if (rc != 0) return rc;
    if (org->twin != SIM_NONE && org->n_items >= 2) {
      /* The twin: a restored copy holding items 1..fork_seq-1 comes up
       * after the original published fork_seq - 1 and signs its own
       * fork_seq onwards. */
      org->fork_seq = sim_rng_range(r, 2, org->n_items);
      org->n_alt = org->n_items - org->fork_seq + 1;
      size_t len = org->fork_seq - 1 + org->n_alt;
      struct sim_item *branch = calloc(len, sizeof *branch);
      if (branch == NULL) return HLS_ENOMEM;
      memcpy(branch, org->items, (org->fork_seq - 1) * sizeof *branch); /* shared prefix: borrowed */
      for (size_t i = 0; i + 1 < org->fork_seq; i++) branch[i].tombstoned = false;
      uint64_t prefix_done = org->items[org->fork_seq - 2].publish_ms + 1;
      org->twin_start_ms = sim_rng_range(r, prefix_done, prefix_done > window ? prefix_done : window);
      rc = build_branch(r, branch, org->fork_seq - 1, len, node->sk, org->node, org->twin_start_ms,
                        org->twin_start_ms > window ? org->twin_start_ms : window, p->receipts);
      org->alt = malloc(org->n_alt * sizeof *org->alt);
      if (org->alt != NULL) memcpy(org->alt, branch + org->fork_seq - 1, org->n_alt * sizeof *org->alt);
      else if (rc == 0) rc = HLS_ENOMEM;
      /* A tombstone on the alt branch may target a shared prefix item:
       * that erasure belongs to the alt branch, whose prefix flags are
       * the copy's and are dropped; the oracle never requires this
       * origin. */
      if (rc != 0) { /* free what the alt branch signed */
        for (size_t i = org->fork_seq - 1; i < len; i++) {
          free(branch[i].stub);
          free(branch[i].body);
        }
        free(org->alt);
        org->alt = NULL;
        org->n_alt = 0;
      }
      free(branch);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int sim_world_new(struct sim_world **out, const struct sim_params *p, uint64_t seed) {
  *out = NULL;
  if (p->nodes < 2 || p->publishers < 1) return HLS_EINVAL;
  struct sim_world *w = calloc(1, sizeof *w);
  if (w == NULL) return HLS_ENOMEM;
  w->p = *p;
  w->seed = seed;
  w->n_nodes = p->nodes;
  w->forger = w->twin = SIM_NONE;
  uint32_t *perm = NULL, *honest = NULL;
  int rc = HLS_ENOMEM;
  struct sim_rng r;
  sim_rng_seed(&r, seed, STREAM_WORLD);
  w->nodes = calloc(w->n_nodes, sizeof *w->nodes);
  perm = malloc(w->n_nodes * sizeof *perm);
  honest = malloc(w->n_nodes * sizeof *honest);
  if (w->nodes == NULL || perm == NULL || honest == NULL) goto fail;

  /* Keys from the seed. */
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    uint8_t key_seed[crypto_sign_SEEDBYTES];
    for (size_t i = 0; i < sizeof key_seed; i += 8) {
      uint64_t x = sim_rng_next(&r);
      memcpy(key_seed + i, &x, 8);
    }
    if (crypto_sign_seed_keypair(w->nodes[n].pk, w->nodes[n].sk, key_seed) != 0) {
      rc = HLS_EINTERNAL;
      goto fail;
    }
    w->nodes[n].ident = n;
    w->nodes[n].origin = SIM_NONE;
  }
  /* Roles: a random permutation; adversaries first, then publishers. */
  for (uint32_t i = 0; i < w->n_nodes; i++) perm[i] = i;
  for (uint32_t i = w->n_nodes - 1; i > 0; i--) {
    uint32_t j = (uint32_t)sim_rng_below(&r, (uint64_t)i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  uint32_t first_honest = 0, twin_of = SIM_NONE;
  if (p->adversaries && w->n_nodes >= 8) {
    w->forger = perm[0];
    twin_of = perm[1];
    w->twin = perm[2];
    w->nodes[w->forger].role = SIM_FORGER;
    w->nodes[twin_of].role = SIM_TWIN; /* the original is as much the equivocator as its copy */
    w->nodes[w->twin].role = SIM_TWIN;
    w->nodes[w->twin].ident = twin_of;
    memcpy(w->nodes[w->twin].pk, w->nodes[twin_of].pk, HLS_KEY_BYTES);
    memcpy(w->nodes[w->twin].sk, w->nodes[twin_of].sk, 64);
    first_honest = 3;
  }
  uint32_t n_honest = 0;
  for (uint32_t i = first_honest; i < w->n_nodes; i++) honest[n_honest++] = perm[i];
  /* Publishers: the adversaries that have a chain, then honest nodes. */
  uint32_t want = p->publishers, n_pub = 0;
  w->origins = calloc(w->n_nodes, sizeof *w->origins);
  if (w->origins == NULL) goto fail;
  for (uint32_t i = 0; i < w->n_nodes && n_pub < want; i++) {
    uint32_t n = perm[i];
    if (n == w->twin) continue;
    struct sim_origin *org = &w->origins[n_pub];
    org->node = n;
    org->twin = n == twin_of ? w->twin : SIM_NONE;
    org->adversary = w->nodes[n].role != SIM_HONEST;
    w->nodes[n].origin = n_pub;
    if (n == twin_of) w->nodes[w->twin].origin = n_pub;
    n_pub++;
  }
  w->n_origins = n_pub;

  if ((rc = pk_table_build(w)) != 0) goto fail;
  if ((rc = build_topology(w, &r, honest, n_honest)) != 0) goto fail;
  if ((rc = build_chains(w, &r)) != 0) goto fail;

  for (uint32_t o = 0; o < w->n_origins; o++) {
    struct sim_origin *org = &w->origins[o];
    uint64_t alt_len = sim_world_chain_len(w, o, 1);
    org->slot = w->n_slots;
    w->n_slots += org->n_items > alt_len ? org->n_items : alt_len;
    if (org->adversary) continue;
    w->required += (uint64_t)n_honest * org->n_items;
    for (size_t i = 0; i < org->n_items; i++)
      if (org->items[i].publish_ms > w->last_publish_ms) w->last_publish_ms = org->items[i].publish_ms;
  }
  free(perm);
  free(honest);
  *out = w;
  return 0;
fail:
  free(perm);
  free(honest);
  sim_world_free(w);
  return rc;
}

void sim_world_free(struct sim_world *w) {
  if (w == NULL) return;
  for (uint32_t o = 0; o < w->n_origins; o++) {
    struct sim_origin *org = &w->origins[o];
    for (size_t i = 0; org->items != NULL && i < org->n_items; i++) {
      free(org->items[i].stub);
      free(org->items[i].body);
    }
    for (size_t i = 0; i < org->n_alt; i++) {
      free(org->alt[i].stub);
      free(org->alt[i].body);
    }
    free(org->items);
    free(org->alt);
  }
  for (uint32_t n = 0; w->nodes != NULL && n < w->n_nodes; n++) {
    sodium_memzero(w->nodes[n].sk, sizeof w->nodes[n].sk);
    free(w->nodes[n].listed);
  }
  free(w->origins);
  free(w->nodes);
  free(w->pk_table);
  free(w);
}
