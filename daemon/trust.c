/* Who vouched for whom (trust.h). Small sets: one node per origin held
 * (gossip.max_origins bounds them) and one vouch per voucher and subject,
 * held in memory for one request. */
#include "trust.h"

#include <stdlib.h>
#include <string.h>

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
  if (rc != 0) {
    hls_trust_free(t);
    return rc == HLS_ENOMEM ? hls_why_set(why, HLS_ENOMEM, "out of memory") : rc;
  }
  /* Roots: each node's succession walked back (bounded: a loop stops). */
  for (size_t i = 0; i < t->n_nodes; i++) {
    struct hls_trust_node *n = &t->nodes[i];
    memcpy(n->root, n->node_id, 32);
    for (int depth = 0; depth < HLS_SUCCESSION_MAX_DEPTH; depth++) {
      const struct hls_succession_row *pred = NULL;
      for (size_t j = 0; j < t->n_successions && pred == NULL; j++)
        if (memcmp(t->successions[j].new_id, n->root, 32) == 0) pred = &t->successions[j];
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
   * vouches too (one hop a round, as many rounds as successions). */
  for (size_t round = 0; round < t->n_successions; round++)
    for (size_t j = 0; j < t->n_successions; j++) {
      const struct hls_trust_node *old = node_of(t, t->successions[j].old_id);
      struct hls_trust_node *fresh = node_of(t, t->successions[j].new_id);
      if (old == NULL || fresh == NULL || !fresh->vouched || !old->vouched) continue;
      int64_t own = 0;
      for (size_t i = 0; i < t->n_vouches; i++) {
        const struct hls_vouch_row *r = &t->vouches[i];
        if (r->vouch.role == HLS_PROFILE_PARTNER && memcmp(r->vouch.subject, fresh->node_id, 32) == 0 &&
            hls_trust_vouch_counts(t, r))
          own++;
      }
      if (own + old->partner_vouches > fresh->partner_vouches) fresh->partner_vouches = own + old->partner_vouches;
    }
  for (size_t i = 0; i < t->n_nodes; i++) {
    struct hls_trust_node *n = &t->nodes[i];
    n->role_counts = n->has_profile && (n->profile.role == HLS_PROFILE_PLACE || partner_vouches == 0 ||
                                        n->partner_vouches >= partner_vouches);
  }
  return 0;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

int hls_trust_vouched_ids(struct hls_store *s, const uint8_t self[32], uint8_t **ids, size_t *n,
                          struct hls_why *why) {
  struct hls_trust t;
  *ids = NULL;
  *n = 0;
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
  for (size_t i = 0; i < t.n_nodes; i++) {
    if (!t.nodes[i].vouched) continue;
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
  free(t->nodes);
  free(t->vouches);
  free(t->successions);
  memset(t, 0, sizeof *t);
}
