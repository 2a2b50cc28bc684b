/* The summariser: turns learning records into what this node publishes
 * (docs/consent.md). It compares what the records and their consent allow
 * now with what this node has already published, and appends the
 * difference to the node's chain in one transaction:
 *
 *   - its profile, when it is missing or changed;
 *   - a tombstone for every live story that consent no longer allows (the
 *     local body is erased);
 *   - a story for every record whose consent allows one and whose current
 *     content a person approved (a corrected one replaces the old);
 *   - a digest for every ended ISO week whose counts changed;
 *   - an erasure receipt of the entries this node owes other origins for
 *     the bodies their tombstones erased here (docs/protocol.md 4.5), at
 *     most HLS_RECEIPT_MAX_ENTRIES a run: the rest go in the next.
 *
 * Synchronous and clock-free: the caller passes the time. The daemon's
 * scheduling (batching delay, week ends, expiry checks) lives in node.c. */
#ifndef HLS_SUMMARISE_H
#define HLS_SUMMARISE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "home.h"
#include "store.h"

struct hls_summarise_ctx {
  struct hls_store *store;                /* borrowed */
  const struct hls_identity *identity;    /* borrowed: signs the items */
  const struct hls_identity *retired;     /* borrowed: keys this node held before (hls identity rotate) */
  size_t n_retired;
  const uint8_t *disclosure_key;          /* borrowed, 32 bytes: keyed rounding's key kept at a key
                                           * rotation (DIR/disclosure.key); NULL: derived from identity */
  struct hls_digest_method method;
  const struct hls_profile *profile;      /* borrowed: what the profile should say */
  bool publish_receipts;                  /* publish.receipts: sign the receipts owed (else they wait) */
  bool publish_forks;                     /* publish.forks: report the forks found here (else they wait) */
  const struct hls_rekey *rekey;          /* borrowed: a key rotation to announce in this run, or NULL */
  int64_t now_ms;
  hls_day today;
};

/* Weeks to look at: every week (all) or the listed ISO weeks, as
 * year * 100 + week. */
struct hls_dirty {
  bool all;
  size_t n;
  int *weeks; /* borrowed */
};

struct hls_summarise_result {
  int profiles, digests, stories, tombstones, receipts, forks, vouches;
  int rekeys; /* 1 when ctx->rekey was published */
  bool receipts_waiting; /* more receipt entries are owed than one receipt carries: publish again */
  int64_t expired; /* consents that ended on expiry in this run */
};

/* hls identity rotate: sign, as the last item of this node's chain, a
 * successor naming the key fresh (which signs its half), and log it as
 * published. *seq gets its seq. One transaction. HLS_ESTATE if the chain
 * is empty (a chain starts with its profile) or closed already. */
int hls_summarise_successor(const struct hls_summarise_ctx *ctx, const struct hls_identity *fresh, uint64_t *seq,
                            struct hls_why *why) HLS_WARN_UNUSED;

/* Bring the chain up to date (see above), ending expired consent first.
 * One transaction: on error nothing is published. */
int hls_summarise_reconcile(const struct hls_summarise_ctx *ctx, const struct hls_dirty *dirty,
                            struct hls_summarise_result *res, struct hls_why *why) HLS_WARN_UNUSED;

/* After this node's own items came back from peers (its store was behind
 * the chain it signed: a restore, or a new store), enter each own item the
 * publication log lacks as if this store had published it: a profile or a
 * week's digest supersedes the one before; a story is matched to the record
 * whose story it is by its body hash (its body is put back when held as a
 * stub); a tombstone erases its target and, unless it was a correction,
 * acts on the record as the node did then: deleted again (reason
 * record_deleted), or made private (consent ended), its share decision
 * forgotten, so nothing of it goes out again without a new approval. A
 * story that matches no record keeps none, and the next reconcile erases
 * it (reason record_deleted). One transaction. */
struct hls_summarise_adopted {
  uint64_t items;            /* entered into the publication log */
  uint64_t orphaned_stories; /* stories matching no record */
};
int hls_summarise_adopt(const struct hls_summarise_ctx *ctx, struct hls_summarise_adopted *out,
                        struct hls_why *why) HLS_WARN_UNUSED;

/* What this node shares, as other nodes would see it, with each item
 * marked published or pending: {digests: [...], stories: [...],
 * awaiting_review: N}. Publishes nothing. */
int hls_summarise_preview(const struct hls_summarise_ctx *ctx, msgpack_packer *pk, struct hls_why *why) HLS_WARN_UNUSED;
/* Stories that wait for a person's decision: [{record, title, ...}]. */
int hls_summarise_review(const struct hls_summarise_ctx *ctx, msgpack_packer *pk, struct hls_why *why) HLS_WARN_UNUSED;

/* Pack a story's fields as map pairs (8: week, audience, title, tried,
 * learnt, themes [{name, kind}], scale, stage): the shape share preview,
 * share review and stories give it. The caller has opened the map. */
int hls_summarise_pack_story(msgpack_packer *pk, const struct hls_story *s, int audience) HLS_WARN_UNUSED;

/* The story a record would be published as, and the hash a person's
 * approval covers (audience and body). HLS_ECONSENT if its consent allows
 * no story. */
int hls_summarise_story(const struct hls_record *r, hls_day today, msgpack_sbuffer *body, int *audience,
                        uint8_t hash[32]) HLS_WARN_UNUSED;

/* ISO week key (year * 100 + week) of a day, and whether that week has
 * ended on today. */
int hls_week_key(hls_day day);
bool hls_week_ended(int week_key, hls_day today);

#endif
