/* Who vouched for whom (trust.h). Small sets: one node per origin held
 * (gossip.max_origins bounds them) and one vouch per voucher and subject,
 * held in memory for one request. */
#include "trust.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

struct growing {
  void *items;
  size_t n, cap, size;
};

static void *grow(struct growing *g) {
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 16;
    void *items = realloc(g->items, cap * g->size);
    if (items == NULL) return NULL;
    g->items = items;
    g->cap = cap;
  }
  return (char *)g->items + g->n++ * g->size;
}

static int add_profile(void *ctx, const uint8_t origin[32], const struct hls_profile *p) {
  struct hls_trust_node *node = grow(ctx);
  if (node == NULL) return HLS_ENOMEM;
  memset(node, 0, sizeof *node);
  memcpy(node->node_id, origin, 32);
  node->has_profile = true;
  node->profile = *p;
  return 0;
}

static int add_vouch(void *ctx, const struct hls_vouch_row *r) {
  struct hls_vouch_row *v = grow(ctx);
  if (v == NULL) return HLS_ENOMEM;
  *v = *r;
  return 0;
}

static int add_succession(void *ctx, const struct hls_succession_row *r) {
  struct hls_succession_row *v = grow(ctx);
  if (v == NULL) return HLS_ENOMEM;
  *v = *r;
  return 0;
}

static int node_cmp(const void *a, const void *b) {
  return memcmp(((const struct hls_trust_node *)a)->node_id, ((const struct hls_trust_node *)b)->node_id, 32);
}

/* bsearch's order of an id (the key) against a node. */
static int id_node_cmp(const void *id, const void *node) {
  return memcmp(id, ((const struct hls_trust_node *)node)->node_id, 32);
}

static struct hls_trust_node *node_of(const struct hls_trust *t, const uint8_t id[32]) {
  return t->n_nodes ? bsearch(id, t->nodes, t->n_nodes, sizeof *t->nodes, id_node_cmp) : NULL;
}

const struct hls_trust_node *hls_trust_find(const struct hls_trust *t, const uint8_t id[32]) { return node_of(t, id); }

/* --- indexes ---------------------------------------------------------------------------- */

/* An entry of an index being sorted: a key of len bytes and the index of
 * what it belongs to (ties in that order, so that a group lists its
 * members as the array does). */
struct ixent {
  const uint8_t *key;
  size_t len;
  uint32_t i;
};

static int ixent_cmp(const void *a, const void *b) {
  const struct ixent *x = a, *y = b;
  int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
  if (c != 0) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* Sort e (n of them) and keep their indexes in *out (owned). */
static int index_of(struct ixent *e, size_t n, uint32_t **out) {
  *out = malloc((n ? n : 1) * sizeof **out);
  if (*out == NULL) return HLS_ENOMEM;
  qsort(e, n, sizeof *e, ixent_cmp);
  for (size_t k = 0; k < n; k++) (*out)[k] = e[k].i;
  return 0;
}

/* A place name as people read it (hls_patfilter_name_eq): case folded
 * and NFC-normalised, after a 1; a name that is not UTF-8 compares as
 * its bytes, after a 0. */
static int name_key(const char *name, uint8_t **key, size_t *len) {
  size_t n = strlen(name), folded_len = 0;
  uint8_t *folded = u8_casefold((const uint8_t *)name, n, NULL, UNINORM_NFC, NULL, &folded_len);
  if (folded == NULL && errno == ENOMEM) return HLS_ENOMEM;
  const uint8_t *from = folded != NULL ? folded : (const uint8_t *)name;
  size_t from_len = folded != NULL ? folded_len : n;
  *key = malloc(from_len + 1);
  if (*key == NULL) {
    free(folded);
    return HLS_ENOMEM;
  }
  (*key)[0] = folded != NULL;
  if (from_len > 0) memcpy(*key + 1, from, from_len);
  *len = from_len + 1;
  free(folded);
  return 0;
}

static int build_indexes(struct hls_trust *t) {
  size_t most = t->n_nodes > t->n_vouches ? t->n_nodes : t->n_vouches;
  if (t->n_successions > most) most = t->n_successions;
  struct ixent *e = malloc((most ? most : 1) * sizeof *e);
  if (e == NULL) return HLS_ENOMEM;
  int rc = 0;
  for (size_t j = 0; j < t->n_successions; j++) e[j] = (struct ixent){t->successions[j].new_id, 32, (uint32_t)j};
  rc = index_of(e, t->n_successions, &t->succ_by_new);
  for (size_t i = 0; rc == 0 && i < t->n_vouches; i++)
    e[i] = (struct ixent){t->vouches[i].vouch.subject, 32, (uint32_t)i};
  if (rc == 0) rc = index_of(e, t->n_vouches, &t->vouch_by_subject);
  size_t m = 0;
  for (size_t i = 0; rc == 0 && i < t->n_nodes; i++) {
    struct hls_trust_node *n = &t->nodes[i];
    if (!n->has_profile) continue;
    rc = name_key(n->profile.place, &n->name_key, &n->name_key_len);
    if (rc == 0) e[m++] = (struct ixent){n->name_key, n->name_key_len, (uint32_t)i};
  }
  if (rc == 0) rc = index_of(e, m, &t->by_name);
  if (rc == 0) {
    t->n_by_name = m;
    for (size_t k = 0; k < m; k++) t->nodes[t->by_name[k]].name_at = (uint32_t)k;
  }
  free(e);
  return rc;
}

/* The first position k of n whose 32-byte key (key_at(t, k), ascending
 * in k) is at least id. */
static size_t lower_bound(const struct hls_trust *t, size_t n, const uint8_t id[32],
                          const uint8_t *(*key_at)(const struct hls_trust *, size_t)) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(key_at(t, mid), id, 32) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The keys in order: the successions are held by old key (no index). */
static const uint8_t *succ_old_at(const struct hls_trust *t, size_t k) { return t->successions[k].old_id; }
static const uint8_t *succ_new_at(const struct hls_trust *t, size_t k) {
  return t->successions[t->succ_by_new[k]].new_id;
}
static const uint8_t *subject_at(const struct hls_trust *t, size_t k) {
  return t->vouches[t->vouch_by_subject[k]].vouch.subject;
}

const struct hls_succession_row *hls_trust_successor(const struct hls_trust *t, const uint8_t old_id[32]) {
  size_t k = lower_bound(t, t->n_successions, old_id, succ_old_at);
  return k < t->n_successions && memcmp(succ_old_at(t, k), old_id, 32) == 0 ? &t->successions[k] : NULL;
}

const struct hls_succession_row *hls_trust_predecessor(const struct hls_trust *t, const uint8_t new_id[32]) {
  size_t k = lower_bound(t, t->n_successions, new_id, succ_new_at);
  return k < t->n_successions && memcmp(succ_new_at(t, k), new_id, 32) == 0 ? &t->successions[t->succ_by_new[k]]
                                                                              : NULL;
}

size_t hls_trust_vouches_for(const struct hls_trust *t, const uint8_t subject[32], const uint32_t **idx) {
  size_t k = lower_bound(t, t->n_vouches, subject, subject_at), end = k;
  while (end < t->n_vouches && memcmp(subject_at(t, end), subject, 32) == 0) end++;
  *idx = t->vouch_by_subject + k;
  return end - k;
}

static bool same_key(const struct hls_trust_node *a, const struct hls_trust_node *b) {
  return a->name_key_len == b->name_key_len && memcmp(a->name_key, b->name_key, a->name_key_len) == 0;
}

size_t hls_trust_same_name(const struct hls_trust *t, const struct hls_trust_node *n, const uint32_t **idx) {
  *idx = t->by_name;
  if (n == NULL || !n->has_profile || n->name_key == NULL) return 0;
  size_t lo = n->name_at, hi = n->name_at + 1;
  while (lo > 0 && same_key(&t->nodes[t->by_name[lo - 1]], n)) lo--;
  while (hi < t->n_by_name && same_key(&t->nodes[t->by_name[hi]], n)) hi++;
  *idx = t->by_name + lo;
  return hi - lo;
}

bool hls_trust_claim_matches(const struct hls_vouch *v, const struct hls_profile *p) {
  return !v->withdrawn && strcmp(v->place, p->place) == 0 && strcmp(v->region, p->region) == 0;
}

bool hls_trust_vouch_counts(const struct hls_trust *t, const struct hls_vouch_row *r) {
  const struct hls_trust_node *voucher = hls_trust_find(t, r->voucher), *subject = hls_trust_find(t, r->vouch.subject);
  return voucher != NULL && voucher->vouched && subject != NULL && subject->has_profile &&
         hls_trust_claim_matches(&r->vouch, &subject->profile);
}

int hls_trust_load(struct hls_trust *t, struct hls_store *s, const uint8_t self[32], int64_t partner_vouches,
                   struct hls_why *why) {
  struct growing nodes = {.size = sizeof(struct hls_trust_node)}, vouches = {.size = sizeof(struct hls_vouch_row)};
  struct growing successions = {.size = sizeof(struct hls_succession_row)};
  memset(t, 0, sizeof *t);
  int rc = hls_store_profiles(s, add_profile, &nodes, why);
  if (rc == 0) rc = hls_store_vouches(s, add_vouch, &vouches, why);
  if (rc == 0) rc = hls_store_successions(s, add_succession, &successions, why);
  t->successions = successions.items;
  t->n_successions = successions.n;
  t->nodes = nodes.items;
  t->n_nodes = nodes.n;
  t->vouches = vouches.items;
  t->n_vouches = vouches.n;
  if (rc == 0 && hls_trust_find(t, self) == NULL) { /* this node, before its first profile is stored */
    struct hls_trust_node *node = grow(&nodes);
    if (node == NULL) {
      rc = HLS_ENOMEM;
    } else {
      memset(node, 0, sizeof *node);
      memcpy(node->node_id, self, 32);
      qsort(nodes.items, nodes.n, nodes.size, node_cmp);
    }
    t->nodes = nodes.items;
    t->n_nodes = nodes.n;
  }
  if (rc == 0) rc = build_indexes(t);
  int64_t *own = rc == 0 ? malloc((t->n_nodes ? t->n_nodes : 1) * sizeof *own) : NULL;
  if (rc == 0 && own == NULL) rc = HLS_ENOMEM;
  if (rc != 0) {
    hls_trust_free(t);
    return rc == HLS_ENOMEM ? hls_why_set(why, HLS_ENOMEM, "out of memory") : rc;
  }
  /* Roots: each node's succession walked back (bounded: a loop stops). */
  for (size_t i = 0; i < t->n_nodes; i++) {
    struct hls_trust_node *n = &t->nodes[i];
    memcpy(n->root, n->node_id, 32);
    for (int depth = 0; depth < HLS_SUCCESSION_MAX_DEPTH; depth++) {
      const struct hls_succession_row *pred = hls_trust_predecessor(t, n->root);
      if (pred == NULL || memcmp(pred->old_id, n->node_id, 32) == 0) break;
      memcpy(n->root, pred->old_id, 32);
    }
  }
  for (size_t j = 0; j < t->n_successions; j++) {
    struct hls_trust_node *old = node_of(t, t->successions[j].old_id);
    if (old != NULL) old->succeeded = true;
  }
  /* From this node outwards, until nothing changes: at most one round per
   * node. */
  const struct hls_trust_node *me = node_of(t, self);
  for (size_t i = 0; i < t->n_nodes; i++)
    if (&t->nodes[i] == me || memcmp(t->nodes[i].root, me->root, 32) == 0) t->nodes[i].vouched = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < t->n_vouches; i++) {
      struct hls_trust_node *subject = node_of(t, t->vouches[i].vouch.subject);
      if (subject != NULL && !subject->vouched && hls_trust_vouch_counts(t, &t->vouches[i])) {
        subject->vouched = true;
        changed = true;
      }
    }
    for (size_t j = 0; j < t->n_successions; j++) {
      const struct hls_trust_node *old = node_of(t, t->successions[j].old_id);
      struct hls_trust_node *fresh = node_of(t, t->successions[j].new_id);
      if (old != NULL && fresh != NULL && old->vouched && !fresh->vouched && old->has_profile && fresh->has_profile &&
          strcmp(old->profile.place, fresh->profile.place) == 0 && strcmp(old->profile.region, fresh->profile.region) == 0) {
        fresh->vouched = true;
        changed = true;
      }
    }
  }
  for (size_t i = 0; i < t->n_vouches; i++) {
    const struct hls_vouch_row *r = &t->vouches[i];
    if (r->vouch.role != HLS_PROFILE_PARTNER || !hls_trust_vouch_counts(t, r)) continue;
    node_of(t, r->vouch.subject)->partner_vouches++;
  }
  /* A successor that inherited its vouch has its predecessors' partner
   * vouches too (one hop a round, at most as many rounds as successions,
   * until a round changes nothing), added to its own (counted above). */
  for (size_t i = 0; i < t->n_nodes; i++) own[i] = t->nodes[i].partner_vouches;
  for (size_t round = 0; round < t->n_successions; round++) {
    bool changed = false;
    for (size_t j = 0; j < t->n_successions; j++) {
      const struct hls_trust_node *old = node_of(t, t->successions[j].old_id);
      struct hls_trust_node *fresh = node_of(t, t->successions[j].new_id);
      if (old == NULL || fresh == NULL || !fresh->vouched || !old->vouched) continue;
      int64_t mine = own[fresh - t->nodes];
      if (mine + old->partner_vouches > fresh->partner_vouches) {
        fresh->partner_vouches = mine + old->partner_vouches;
        changed = true;
      }
    }
    if (!changed) break;
  }
  free(own);
  for (size_t i = 0; i < t->n_nodes; i++) {
    struct hls_trust_node *n = &t->nodes[i];
    n->role_counts = n->has_profile && (n->profile.role == HLS_PROFILE_PLACE || partner_vouches == 0 ||
                                        n->partner_vouches >= partner_vouches);
  }
  return 0;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

int hls_trust_vouched_ids(struct hls_store *s, const uint8_t self[32], uint8_t **ids, size_t *n, size_t *others,
                          struct hls_why *why) {
  struct hls_trust t;
  *ids = NULL;
  *n = 0;
  if (others != NULL) *others = 0;
  int rc = hls_trust_load(&t, s, self, 0, why); /* partner_vouches plays no part in who is vouched */
  if (rc != 0) return rc;
  size_t count = 0;
  for (size_t i = 0; i < t.n_nodes; i++) count += t.nodes[i].vouched;
  if (count > 0 && (*ids = malloc(2 * count * 32)) == NULL) {
    hls_trust_free(&t);
    return hls_why_set(why, HLS_ENOMEM, "out of memory");
  }
  /* Patterns know a place by the first key of its succession (its root):
   * a vouched key vouches for its place's root too. */
  const struct hls_trust_node *me = node_of(&t, self);
  for (size_t i = 0; i < t.n_nodes; i++) {
    if (!t.nodes[i].vouched) continue;
    if (others != NULL && (me == NULL || memcmp(t.nodes[i].root, me->root, 32) != 0)) (*others)++;
    memcpy(*ids + 32 * (*n)++, t.nodes[i].node_id, 32);
    if (memcmp(t.nodes[i].root, t.nodes[i].node_id, 32) != 0) memcpy(*ids + 32 * (*n)++, t.nodes[i].root, 32);
  }
  hls_trust_free(&t);
  if (*n > 1) { /* sorted, once each: looked up by bsearch */
    qsort(*ids, *n, 32, id_cmp);
    size_t k = 1;
    for (size_t i = 1; i < *n; i++)
      if (memcmp(*ids + 32 * (k - 1), *ids + 32 * i, 32) != 0) memmove(*ids + 32 * k++, *ids + 32 * i, 32);
    *n = k;
  }
  return 0;
}

void hls_trust_free(struct hls_trust *t) {
  if (t == NULL) return;
  for (size_t i = 0; t->nodes != NULL && i < t->n_nodes; i++) free(t->nodes[i].name_key);
  free(t->succ_by_new), free(t->vouch_by_subject), free(t->by_name);
  free(t->nodes);
  free(t->vouches);
  free(t->successions);
  memset(t, 0, sizeof *t);
}
