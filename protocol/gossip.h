/* The gossip engine (docs/protocol.md section 8): Scuttlebutt-style
 * reconciliation of every origin's append-only chain between a node and
 * its connected peers, with eager push of new items, bounded batches
 * under a per-session window, run verification (one signature per batch
 * plus hash links), audience rules, tombstones, fork evidence and peer
 * exchange.
 *
 * Sans-I/O: the host (hlsd, the simulator, tests) feeds events
 *   hls_gossip_connected / _frame / _tick / _disconnected / _local_item
 *   / _import
 * and the engine answers with actions delivered, in order and during the
 * event call, to the host's action callback:
 *   SEND   a complete frame (length header included) for one session;
 *   STORE  n verified envelopes of one origin, to be written in one
 *          transaction before the callback returns;
 *   BODY   a body for an item held as a stub (the origin sent it);
 *   ERASE  a tombstone's target body (a story or digest), emitted before
 *          the tombstone's own STORE: if it fails, the tombstone is not
 *          stored either, and comes again in a later session;
 *   FORK   evidence: two signed items of one origin that cannot both be
 *          in its chain (same seq, or one whose prev contradicts the
 *          other). Evidence seen is never dropped for a store failure: if
 *          the FORK fails, or another action fails first and cuts short
 *          the ITEMS frame that carries it, the engine keeps it (one per
 *          origin, in memory) and hls_gossip_tick emits the FORK again
 *          until the host applies it;
 *   DIAL   try to connect to a known member.
 * The store is read through struct hls_gossip_store. Time (now_ms) and
 * randomness (seed) are inputs; the engine has no clock, socket or file.
 *
 * Sessions are assumed reliable and ordered (the box stream closes a
 * session on any loss, duplication or reordering); every recovery is a
 * new session, which starts with a full vector exchange.
 *
 * Single-threaded: one engine is driven from one thread. */
#ifndef HLS_GOSSIP_H
#define HLS_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"

/* Frame types (docs/protocol.md 8.2). */
enum hls_gossip_frame {
  HLS_GF_VECTOR = 16, /* [16, complete, [[origin, head], ...]] */
  HLS_GF_ITEMS = 17,  /* [17, [envelope, ...]]  runs: one origin each, consecutive */
  HLS_GF_ACK = 18,    /* [18, [[origin, head], ...]]  one per ITEMS or BODIES */
  HLS_GF_WANT = 19,   /* [19, [seq, ...]]       bodies of the peer's own items */
  HLS_GF_BODIES = 20, /* [20, complete, [envelope, ...]]  answer to WANT */
};

/* Protocol limits a receiver enforces (a sender stays within them). */
#define HLS_GOSSIP_MAX_VECTOR 1024u /* entries per VECTOR frame */
#define HLS_GOSSIP_MAX_BATCH 1024u  /* envelopes per ITEMS/BODIES frame */
#define HLS_GOSSIP_MAX_WANT 1024u   /* seqs per WANT */
#define HLS_GOSSIP_MAX_WINDOW 64u   /* unacknowledged ITEMS+BODIES frames */

struct hls_gossip_config {
  uint8_t self[HLS_KEY_BYTES]; /* this node's origin key */
  uint32_t window;             /* unacked ITEMS+BODIES frames per session: 4 */
  uint32_t batch_items;        /* envelopes per ITEMS frame: 256 */
  uint32_t batch_bytes;        /* target payload bytes per ITEMS frame: 1 MiB */
  uint32_t max_origins;        /* chains followed; more are ignored: 100000 */
  uint32_t target_connections; /* peer exchange aims for this many sessions: 6 */
  uint64_t vector_interval_ms; /* how often head changes are told: 250 */
  uint64_t dial_interval_ms;   /* how often peer exchange may dial: 2000 */
  uint64_t redial_after_ms;    /* not the same member again within: 30000 */
  uint64_t seed;               /* randomness for peer exchange */
};
void hls_gossip_config_init(struct hls_gossip_config *c, const uint8_t self[HLS_KEY_BYTES]);

/* One held item as the store gives it back. Views are valid until the
 * next store call. */
struct hls_gossip_item {
  const uint8_t *stub; /* the envelope with a nil body */
  size_t stub_len;
  const uint8_t *body; /* NULL unless the body is held */
  size_t body_len;
  int state; /* enum hls_body_state */
  int audience;
};

struct hls_gossip_store {
  void *ctx;
  /* The item (origin, seq): 0, HLS_ENOTFOUND, or another error. */
  int (*get)(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq, struct hls_gossip_item *out);
  /* Up to max seqs, ascending and above after, of origin's items with
   * audience peers held as stubs (HLS_BODY_STUB). *n gets the count. */
  int (*stubs)(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t after, uint64_t *seqs, size_t max, size_t *n);
  /* Is pk one of this node's direct peers (listed by its admin, not
   * blocked)? Only they get the bodies of its peers-audience stories. */
  bool (*is_direct_peer)(void *ctx, const uint8_t pk[HLS_KEY_BYTES]);
  /* May peer pk make this node follow one more origin (one it does not
   * follow yet, neither this node's own nor pk's own chain)? NULL: always.
   * When refused, the run is ignored like one beyond max_origins. */
  bool (*admit_origin)(void *ctx, const uint8_t pk[HLS_KEY_BYTES]);
  /* May origin rotate the network key (is it a steward named here,
   * docs/protocol.md 4.8)? A new rekey item of any other origin is a
   * violation (HLS_EACCESS). NULL: nobody may. */
  bool (*may_rekey)(void *ctx, const uint8_t origin[HLS_KEY_BYTES]);
  /* The seq of origin's successor item held (docs/protocol.md 4.9), 0 if
   * none: 0 or a store error. NULL: the engine knows only the successors
   * it stored itself since it started. */
  int (*successor_seq)(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t *seq);
  /* Among items of a blocked origin (refused, not held), its successor
   * (docs/protocol.md 4.9), signed by it and by the new key it names
   * (both checked): told once per origin, so that the host passes the
   * block on to the new key. NULL: not told. */
  void (*blocked_successor)(void *ctx, const uint8_t origin[HLS_KEY_BYTES], const uint8_t new_id[HLS_KEY_BYTES]);
};

struct hls_gossip;
struct hls_gossip_session;

enum hls_gossip_action_type {
  HLS_GA_SEND = 1,
  HLS_GA_STORE = 2,
  HLS_GA_BODY = 3,
  HLS_GA_ERASE = 4,
  HLS_GA_FORK = 5,
  HLS_GA_DIAL = 6,
};

struct hls_gossip_action {
  int type;
  /* SEND */
  struct hls_gossip_session *session;
  void *session_ctx;
  const uint8_t *frame; /* whole frame, header included; borrowed */
  size_t frame_len;
  /* STORE: n envelopes of one origin, seqs consecutive, each with the
   * state to store (HLS_BODY_HELD or HLS_BODY_STUB). BODY: envs[0] is a full
   * envelope whose body to keep. */
  size_t n;
  const struct hls_envelope *envs;
  const int *states;
  /* ERASE (origin, seq), because of origin's tombstone signed at
   * timestamp_ms (the node owes origin a receipt: docs/protocol.md 4.5).
   * FORK (origin, seq): ours is the stub held at
   * seq, theirs the other item's stub (at seq, or at seq + 1 when its prev
   * names another item than ours). A FORK with a reporter was found in
   * another node's fork item (docs/protocol.md 4.7): ours and theirs are
   * its two stubs, reporter its origin and report_seq its seq; without
   * one, this node found the fork (and reports it: 4.7). DIAL origin at
   * address. */
  const uint8_t *origin;
  uint64_t seq;
  const uint8_t *ours, *theirs;
  size_t ours_len, theirs_len;
  const char *address;
  uint64_t timestamp_ms; /* ERASE */
  const uint8_t *reporter; /* FORK: NULL, or the node whose fork item told of it */
  uint64_t report_seq;     /* FORK with a reporter: its fork item's seq */
};

/* The host applies an action before returning. A non-zero return (a
 * store failure: HLS_ESTORE, HLS_ENOMEM, ...) aborts the event: the
 * engine's state is left as it was before the failed action (but for
 * fork evidence seen, kept for the tick: see FORK) and the error is
 * returned from the event call. */
typedef int (*hls_gossip_emit_fn)(void *ctx, const struct hls_gossip_action *a);

int hls_gossip_new(struct hls_gossip **out, const struct hls_gossip_config *cfg, const struct hls_gossip_store *store,
                   hls_gossip_emit_fn emit, void *emit_ctx) HLS_WARN_UNUSED;
/* Sessions must have been disconnected first. NULL is a no-op. */
void hls_gossip_free(struct hls_gossip *g);

/* At start, before any session: one call per origin held (its chain head)
 * and the state the store keeps about it. addresses: its latest profile's
 * (may be NULL). */
int hls_gossip_load_origin(struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES], uint64_t head_seq,
                           const uint8_t head_id[HLS_HASH_BYTES], bool forked, const struct hls_profile *profile)
    HLS_WARN_UNUSED;

/* A session with peer pk opened (after the transport's hello). ctx is
 * handed back in SEND actions. */
int hls_gossip_connected(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES], void *ctx,
                         struct hls_gossip_session **out) HLS_WARN_UNUSED;
/* A gossip frame (type >= 16) arrived: payload borrowed. An error return
 * means the session must be closed: codes hls_err_is_local() accepts
 * (store_error, disk_full, ...) are this node's failures; any other code
 * is the peer's fault (why says what) and counts against it. */
int hls_gossip_frame(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *payload, size_t len,
                     struct hls_why *why) HLS_WARN_UNUSED;
/* The session ended (either side). Frees it. */
void hls_gossip_disconnected(struct hls_gossip *g, struct hls_gossip_session *s);
/* Timers: vector deltas, peer exchange; first, the FORKs of evidence kept
 * after store failures (an error from one comes back, the rest wait for
 * the next tick). Call at least every vector_interval_ms. */
int hls_gossip_tick(struct hls_gossip *g, uint64_t now_ms) HLS_WARN_UNUSED;
/* This node published an item (already in the store): push it. */
int hls_gossip_local_item(struct hls_gossip *g, const uint8_t *envelope, size_t len, struct hls_why *why)
    HLS_WARN_UNUSED;

/* A tombstone this node signed (already in the store) with a key it held
 * before its current one, in that key's closed chain (docs/protocol.md
 * 4.9: a successor's chain takes tombstones only): push it. */
int hls_gossip_retired_item(struct hls_gossip *g, const uint8_t *envelope, size_t len, struct hls_why *why)
    HLS_WARN_UNUSED;

/* Items loaded without a session (hls import-items): they enter as if an
 * ITEMS frame from a peer that is not their origin carried them
 * (docs/protocol.md 8.3), so the same actions follow: ERASE before a
 * tombstone's STORE, STOREs, FORK evidence, pushes to every session, a
 * WANT to the origin if connected. Differences, because an import is not a
 * hot path and has no peer to blame: every signature is verified (not one
 * per run), and a peers-audience body is kept as a stub instead of being a
 * violation (only its origin may hand it to this node).
 *
 * envs[0..n): one origin's items, consecutive seqs each linking to the one
 * before (views borrowed for the call). Items at or below the held head
 * must be the ones held (counted as held); a different one is fork
 * evidence (FORK, the origin is no longer followed, the rest ignored).
 * Counts are added to *res. Errors, with why naming origin and seq,
 * nothing of the call stored: HLS_EINVAL (none, or mixed origins),
 * HLS_ECHAIN (not consecutive or not linked, or a gap above the head held),
 * HLS_EBADSIG, HLS_EMALFORMED (a tombstone without its body), HLS_ELIMIT
 * (a new origin beyond max_origins). A host failure (HLS_ESTORE, ...) from
 * an action ends the call: pieces of HLS_GOSSIP_MAX_BATCH items stored
 * before it stay. */
struct hls_gossip_import_result {
  uint64_t imported; /* new items stored */
  uint64_t held;     /* already held, the same items */
  uint64_t stubbed;  /* of the imported: peers-audience bodies kept as stubs */
  uint64_t ignored;  /* of an origin not followed any more (a fork) */
  uint64_t forks;    /* fork evidence found by this import */
  uint64_t error_seq; /* set on an error about one item: its seq */
};
int hls_gossip_import(struct hls_gossip *g, const struct hls_envelope *envs, size_t n,
                      struct hls_gossip_import_result *res, struct hls_why *why) HLS_WARN_UNUSED;

/* Is err the peer's fault (bad input), not this node's own failure
 * (hls_err_is_local: store, full disk, memory, I/O)? */
bool hls_gossip_peer_fault(int err);

/* --- observation ------------------------------------------------------------ */

struct hls_gossip_stats {
  uint64_t origins, forked, sessions;
  uint64_t behind;          /* items connected peers hold that this node lacks (as far as their vectors said) */
  uint64_t vectors_pending; /* sessions whose peer has not yet sent its whole vector */
  uint64_t items_received;  /* new items accepted */
  uint64_t items_duplicate; /* items received already held */
  uint64_t items_sent, bodies_sent, bodies_received;
  uint64_t frames_sent, frames_received, bytes_sent, bytes_received;
  uint64_t verifications; /* Ed25519 verifications done */
  uint64_t origins_refused; /* runs of new origins a peer was not admitted to bring (admit_origin) */
  uint64_t items_blocked;   /* items of blocked origins refused */
};
void hls_gossip_get_stats(const struct hls_gossip *g, struct hls_gossip_stats *out);

/* Block (or unblock) an origin: its items are refused from every peer,
 * never sent or told to one, and not counted as missing; an origin not
 * followed yet is followed only to be refused. Items already held stay
 * held (the host decides what to do with them). HLS_EINVAL for this
 * node's own id; HLS_ELIMIT or HLS_ENOMEM when it cannot be followed. */
int hls_gossip_block(struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES], bool block) HLS_WARN_UNUSED;

struct hls_gossip_origin_info {
  const uint8_t *origin;
  uint64_t head;
  uint64_t best_seen; /* highest head a connected peer holds (>= head) */
  bool forked;
  size_t n_addresses;
};
/* Calls fn for each origin followed (in no particular order). */
void hls_gossip_each_origin(const struct hls_gossip *g, void (*fn)(void *ctx, const struct hls_gossip_origin_info *o),
                            void *ctx);
/* The chain head the engine holds for origin (0 if none). */
uint64_t hls_gossip_head(const struct hls_gossip *g, const uint8_t origin[HLS_KEY_BYTES]);

/* --- frame codecs (also used by the fuzz targets and tests) -------------------- */

struct hls_gossip_vector_entry {
  const uint8_t *origin; /* borrowed, 32 bytes */
  uint64_t head;
};
/* Decode a VECTOR payload: entries (caller array of HLS_GOSSIP_MAX_VECTOR). */
int hls_gossip_vector_decode(const uint8_t *payload, size_t len, bool *complete,
                             struct hls_gossip_vector_entry *entries, size_t *n, struct hls_why *why) HLS_WARN_UNUSED;
/* Decode the envelope list of an ITEMS or BODIES payload into views (caller
 * array of HLS_GOSSIP_MAX_BATCH; each envelope decoded and schema-checked,
 * not signature-checked). */
int hls_gossip_items_decode(const uint8_t *payload, size_t len, int type, bool *complete, struct hls_envelope *envs,
                            size_t *n, struct hls_why *why) HLS_WARN_UNUSED;
/* Decode an ACK: entries (caller array of HLS_GOSSIP_MAX_BATCH). */
int hls_gossip_ack_decode(const uint8_t *payload, size_t len, struct hls_gossip_vector_entry *entries, size_t *n,
                          struct hls_why *why) HLS_WARN_UNUSED;
int hls_gossip_want_decode(const uint8_t *payload, size_t len, uint64_t *seqs, size_t *n,
                           struct hls_why *why) HLS_WARN_UNUSED;

#endif
