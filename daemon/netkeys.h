/* Network key rotation (docs/protocol.md 4.8 and 7.2; docs/operations.md,
 * "Rotating the network key"): the keys this node holds, the stewards it
 * takes rekey items from, the latest rekey it holds, and the handover of
 * new keys in session frames.
 *
 *   DIR/network.key       the newest key held: dialled with, accepted
 *   DIR/network.key.old   the one before it, accepted until the overlap ends
 *   DIR/network.rekey     what this node knows of the rotation (text)
 *   DIR/network.stewards  who may rotate (one node id a line)
 *
 * A steward's rekey item names the new key by its hash; the key itself
 * only ever travels in a NETKEY frame inside an authenticated session, to
 * peers the rekey did not expel, and is taken only when its hash matches
 * a rekey item held (kept pending, bounded, until the item comes). */
#ifndef HLS_NETKEYS_H
#define HLS_NETKEYS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"
#include "peers.h"

struct hls_netkeys;
struct hls_conn;

struct hls_netkeys_env {
  const char *home;        /* the data directory */
  const uint8_t *self;     /* this node's public key, 32 bytes */
  int64_t (*now_ms)(void *clock); /* the node's wall clock (test clock in tests) */
  void *clock;
};

/* Load the state kept in the home; key (32 bytes) is network.key as read
 * at start. All of env is borrowed and must outlive it. */
int hls_netkeys_new(struct hls_netkeys **out, const struct hls_netkeys_env *env, const uint8_t key[32],
                    struct hls_why *why) HLS_WARN_UNUSED;
void hls_netkeys_free(struct hls_netkeys *k);
/* The peers whose handshakes use the keys (set at once, and on every
 * change). Borrowed; NULL before it closes. */
void hls_netkeys_attach(struct hls_netkeys *k, struct hls_peers *peers);

/* The newest key held (what hls network key prints and invites carry). */
const uint8_t *hls_netkeys_current(const struct hls_netkeys *k);

/* --- stewards ---------------------------------------------------------------- */
bool hls_netkeys_is_steward(const struct hls_netkeys *k, const uint8_t pk[32]);
/* Copies up to HLS_STEWARDS_MAX ids into out; returns how many. */
size_t hls_netkeys_stewards(const struct hls_netkeys *k, uint8_t (*out)[32]);
/* Replace the list (written to DIR/network.stewards). */
int hls_netkeys_stewards_set(struct hls_netkeys *k, const uint8_t (*ids)[32], size_t n,
                             struct hls_why *why) HLS_WARN_UNUSED;
/* A steward moved to a new key (its successor, docs/protocol.md 4.9):
 * the new key takes the old one's place in the list (the old one signs
 * nothing more). True if the list changed. */
bool hls_netkeys_steward_succeeded(struct hls_netkeys *k, const uint8_t old_id[32], const uint8_t new_id[32]);
/* From the inviter's REDEEMED: taken only while this node names none. */
void hls_netkeys_stewards_learnt(struct hls_netkeys *k, const uint8_t (*ids)[32], size_t n);

/* --- rotation --------------------------------------------------------------- */
/* A steward's rotation, step one: a new key (kept aside, DIR/network.key.next)
 * and the rekey body to publish (*out, epoch one above any known).
 * HLS_EACCESS if this node is not a steward; HLS_EINVAL for this node
 * among the expelled or too many. */
int hls_netkeys_rotate_begin(struct hls_netkeys *k, const uint8_t (*expel)[32], size_t n_expel,
                             int64_t overlap_ms, struct hls_rekey *out, struct hls_why *why) HLS_WARN_UNUSED;
/* What a rotation begun waits to have published (NULL: none). */
const struct hls_rekey *hls_netkeys_asked(const struct hls_netkeys *k);
/* Step two: the rekey item is in this node's chain: take the new key. */
void hls_netkeys_published(struct hls_netkeys *k);
/* At start, when a rotation was begun before hlsd stopped (DIR/network.key.next
 * held: hls_netkeys_next_held): own is this node's newest rekey in its
 * chain (NULL: none). If it names that key, the rotation was signed and
 * the key is taken now; else it was never signed and is dropped. */
bool hls_netkeys_next_held(const struct hls_netkeys *k);
void hls_netkeys_recover(struct hls_netkeys *k, const struct hls_rekey *own);
/* hls network retire-old: stop accepting the previous key now. HLS_ESTATE
 * when there is none, or when this node lacks the newest key announced. */
int hls_netkeys_retire_old(struct hls_netkeys *k, struct hls_why *why) HLS_WARN_UNUSED;

/* --- gossip and sessions ---------------------------------------------------- */
/* A rekey item (its body held) is stored: an announcement from a steward
 * (gossip checked that). */
void hls_netkeys_rekey_item(struct hls_netkeys *k, const struct hls_envelope *env);
/* NULL, or why pk may not have a session ("expelled"). */
const char *hls_netkeys_refuse(const struct hls_netkeys *k, const uint8_t pk[32]);
void hls_netkeys_session_open(struct hls_netkeys *k, struct hls_conn *c, const uint8_t pk[32]);
void hls_netkeys_session_closed(struct hls_netkeys *k, struct hls_conn *c);
/* A NETKEY frame from pk. Non-zero: a violation (a key whose hash is not
 * the rekey item's). */
int hls_netkeys_frame(struct hls_netkeys *k, struct hls_conn *c, const uint8_t pk[32], const uint8_t *payload,
                      size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* A dial got no answer to the handshake's first message. */
void hls_netkeys_hello_unanswered(struct hls_netkeys *k, const uint8_t pk[32]);
/* Timers: the overlap's end. */
void hls_netkeys_tick(struct hls_netkeys *k);

/* The "network_key" part of hls status: a map. */
int hls_netkeys_pack_status(const struct hls_netkeys *k, msgpack_packer *pk) HLS_WARN_UNUSED;

#endif
