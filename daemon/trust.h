/* Who vouched for whom, as this node reads the vouches it holds
 * (docs/protocol.md 4.6, docs/operations.md#trust).
 *
 * A node is **vouched** (from this node's view) if it is this node, or a
 * vouched node holds a current vouch for it whose claim (place and region)
 * is what the node's latest profile says. The trust so spreads out from
 * this node only: two keys of one impostor vouching for each other stay
 * unvouched until a vouched place vouches for one of them. A node's
 * partner role counts if trust.partner_vouches is 0, or at least that many
 * vouched nodes vouch for it as a partner (with a matching claim). A
 * place role always counts.
 *
 * Key succession (docs/protocol.md 4.9): a node whose key succeeded a
 * vouched key is vouched too if its profile names the same place and
 * region (the old key signed the successor), and its partner vouches are
 * the old key's plus its own; every key of this node's own succession is
 * this node. A place's keys share one root (its first key): a name they
 * all claim is not claimed twice. */
#ifndef HLS_TRUST_H
#define HLS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"
#include "store.h"

struct hls_trust_node {
  uint8_t node_id[32];
  bool has_profile;
  struct hls_profile profile; /* its latest profile held, when has_profile */
  bool vouched;
  bool role_counts;
  int64_t partner_vouches; /* vouched nodes that vouch for it as a partner, matching its profile */
  uint8_t root[32];         /* the first key of its succession (node_id if none) */
  bool succeeded;           /* its key has a successor: the place goes on under another key */
  uint8_t *name_key;        /* owned: its place name as people read it (hls_trust_same_name); NULL without profile */
  size_t name_key_len;
  uint32_t name_at;         /* its place in hls_trust.by_name */
};

struct hls_trust {
  struct hls_trust_node *nodes; /* owned; sorted by node id */
  size_t n_nodes;
  struct hls_vouch_row *vouches; /* owned; every vouch held, by voucher then subject */
  size_t n_vouches;
  struct hls_succession_row *successions; /* owned; every succession held, by old key */
  size_t n_successions;
  /* Indexes (owned), so that a listing of every place costs a lookup a
   * place, not a pass over every node, vouch or succession: */
  uint32_t *succ_by_new;      /* successions, by new key, then as above */
  uint32_t *vouch_by_subject; /* vouches, by subject, then as above */
  uint32_t *by_name;          /* nodes with a profile, by name_key, then by node id */
  size_t n_by_name;
};

/* Read the profiles and vouches held in s and work out the above for
 * self (this node) and partner_vouches (trust.partner_vouches). */
int hls_trust_load(struct hls_trust *t, struct hls_store *s, const uint8_t self[32], int64_t partner_vouches,
                   struct hls_why *why) HLS_WARN_UNUSED;
void hls_trust_free(struct hls_trust *t); /* NULL is a no-op */
/* The node ids vouched for (from self, as above), sorted; *ids owned
 * (free), NULL if none. *others (if not NULL): how many of the nodes
 * vouched are not this node's own keys. */
int hls_trust_vouched_ids(struct hls_store *s, const uint8_t self[32], uint8_t **ids, size_t *n, size_t *others,
                          struct hls_why *why) HLS_WARN_UNUSED;
/* The node of id, NULL if it has neither a profile held nor is this node. */
const struct hls_trust_node *hls_trust_find(const struct hls_trust *t, const uint8_t id[32]);
/* Whether v (not withdrawn) states what p says: same place and region. */
bool hls_trust_claim_matches(const struct hls_vouch *v, const struct hls_profile *p);
/* Whether the latest vouch of voucher for subject held counts (the
 * voucher is vouched, and its claim matches the subject's profile). */
bool hls_trust_vouch_counts(const struct hls_trust *t, const struct hls_vouch_row *r);

/* The succession whose old key (or new key) is id (the first held, in
 * the order above), or NULL. */
const struct hls_succession_row *hls_trust_successor(const struct hls_trust *t, const uint8_t old_id[32]);
const struct hls_succession_row *hls_trust_predecessor(const struct hls_trust *t, const uint8_t new_id[32]);
/* The vouches held for subject: *idx points at their indexes in
 * t->vouches (ascending); returns how many. */
size_t hls_trust_vouches_for(const struct hls_trust *t, const uint8_t subject[32], const uint32_t **idx);
/* The nodes (n among them) whose profiles claim n's place name as people
 * read it (ignoring case and Unicode normalisation, as
 * hls_patfilter_name_eq): *idx points at their indexes in t->nodes
 * (ascending); returns how many, 0 if n has no profile. */
size_t hls_trust_same_name(const struct hls_trust *t, const struct hls_trust_node *n, const uint32_t **idx);

#endif
