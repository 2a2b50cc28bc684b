/* Envelopes: the signed items of a node's append-only chain, the only
 * thing hlsd ever sends about a place's learning (docs/protocol.md).
 *
 *   envelope = [header, signature, body | nil]          (msgpack array of 3)
 *   header   = [version, type, origin, seq, prev, timestamp, audience, body_hash]
 *   signature = Ed25519(origin's key, "hlsd-envelope-v1" || header bytes)
 *   body_hash = BLAKE2b-256(body bytes)
 *   item id   = BLAKE2b-256(header bytes || signature); prev = item id of seq-1
 *
 * Everything is canonical msgpack (protocol/mp.h), so every item has
 * exactly one byte form. A body may be absent (a "stub"): the header still
 * commits to it, so the chain stays verifiable when a body is erased or
 * was never meant for this node. Pure code: keys and time are inputs. */
#ifndef HLS_ENVELOPE_H
#define HLS_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hls_limits.h"
#include "mp.h"
#include "record.h"

#define HLS_ENV_VERSION 1
#define HLS_ENV_SIG_TAG "hlsd-envelope-v1"
#define HLS_HASH_BYTES 32
#define HLS_SIG_BYTES 64
#define HLS_KEY_BYTES 32

enum hls_env_type {
  HLS_ENV_PROFILE = 1,
  HLS_ENV_DIGEST = 2,
  HLS_ENV_STORY = 3,
  HLS_ENV_TOMBSTONE = 4,
  HLS_ENV_RECEIPT = 5,
  HLS_ENV_VOUCH = 6,
  HLS_ENV_FORK = 7,
  HLS_ENV_REKEY = 8,
  HLS_ENV_SUCCESSOR = 9,
};
#define HLS_ENV_TYPE_MAX HLS_ENV_SUCCESSOR
/* Is type one this build knows? */
bool hls_env_type_known(uint64_t type);
const char *hls_env_type_name(int type);
int hls_env_type_parse(const char *name, int *type);

/* Who may receive the body: everyone, or the origin's direct peers only.
 * Headers (stubs) go everywhere in both cases. */
enum hls_env_audience { HLS_AUD_NETWORK = 0, HLS_AUD_PEERS = 1 };
const char *hls_env_audience_name(int audience);

/* What a node holds of an item: its body; only its stub (the envelope
 * without its body, e.g. a peers-only story whose body this node was not
 * given); or the stub alone since its place erased the body. Stored with
 * every item (daemon/store.c's body_state column, whose SQL names the
 * numbers: never renumber) and told between the store and gossip (struct
 * hls_gossip_item, HLS_GA_STORE). */
enum hls_body_state { HLS_BODY_HELD = 0, HLS_BODY_STUB = 1, HLS_BODY_ERASED = 2 };
/* "held", "stub", "erased"; "?" for anything else. */
const char *hls_body_state_name(int state);

struct hls_env_header {
  uint32_t version;
  int type;
  uint8_t origin[HLS_KEY_BYTES];
  uint64_t seq;
  bool has_prev; /* false exactly when seq == 1 */
  uint8_t prev[HLS_HASH_BYTES];
  uint64_t timestamp_ms;
  int audience;
  uint8_t body_hash[HLS_HASH_BYTES];
};

/* A decoded envelope. The byte views point into the decoded input, which
 * must outlive it. */
struct hls_envelope {
  struct hls_env_header h;
  const uint8_t *header_bytes; /* borrowed */
  size_t header_len;
  uint8_t sig[HLS_SIG_BYTES];
  const uint8_t *body; /* borrowed; NULL for a stub */
  size_t body_len;
  uint8_t id[HLS_HASH_BYTES]; /* item id, computed at decode */
};

/* Decode one envelope occupying exactly len bytes. Checks: canonical
 * encoding, no trailing bytes, sizes within limits (before allocating),
 * known version and type, seq/prev consistency, the audience rules of the
 * type, and that a present body matches body_hash and its type's schema.
 * It does NOT check the signature: see hls_env_verify. Errors:
 * HLS_ENONCANON, HLS_ETRAILING, HLS_ETRUNCATED, HLS_ETOOBIG,
 * HLS_EUNSUPPORTED, HLS_EMALFORMED (with why). */
int hls_env_decode(struct hls_envelope *env, const uint8_t *bytes, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* Check the signature: 0 or HLS_EBADSIG. */
int hls_env_verify(const struct hls_envelope *env) HLS_WARN_UNUSED;
/* Check that env follows prev in its chain (same origin, seq+1, prev link):
 * 0 or HLS_ECHAIN. */
int hls_env_check_link(const struct hls_envelope *prev, const struct hls_envelope *env) HLS_WARN_UNUSED;

/* The item id of a header + signature. */
void hls_env_item_id(const uint8_t *header_bytes, size_t header_len, const uint8_t sig[HLS_SIG_BYTES],
                     uint8_t out[HLS_HASH_BYTES]);
void hls_env_hash(const uint8_t *bytes, size_t len, uint8_t out[HLS_HASH_BYTES]);

/* Build and sign an envelope. body (canonical msgpack, see the
 * hls_env_*_pack functions) is hashed into the header. prev is NULL for
 * seq 1. secret_key is libsodium's 64-byte Ed25519 secret key. The result
 * (envelope bytes, with the body) is appended to out. */
int hls_env_build(msgpack_sbuffer *out, int type, const uint8_t secret_key[64], uint64_t seq,
                  const uint8_t prev[HLS_HASH_BYTES], uint64_t timestamp_ms, int audience, const uint8_t *body,
                  size_t body_len) HLS_WARN_UNUSED;
/* The same envelope without its body (a stub), appended to out. */
int hls_env_encode_stub(msgpack_sbuffer *out, const struct hls_envelope *env) HLS_WARN_UNUSED;
/* The envelope with the given body (which must match body_hash). */
int hls_env_encode(msgpack_sbuffer *out, const struct hls_envelope *env, const uint8_t *body, size_t body_len) HLS_WARN_UNUSED;

/* --- bodies ---------------------------------------------------------------- */

enum hls_role_code { HLS_PROFILE_PLACE = 0, HLS_PROFILE_PARTNER = 1 };

struct hls_profile {
  char place[HLS_PLACE_MAX + 1];
  char region[HLS_REGION_MAX + 1];
  int role; /* enum hls_role_code */
  size_t n_addresses;
  char addresses[HLS_PROFILE_MAX_ADDRESSES][HLS_PROFILE_ADDRESS_MAX + 1];
};

/* Disclosure control of a digest (docs/consent.md, protocol.md 4.2).
 * hls-sdc-1: person-scale cells below threshold are withheld, the others
 * rounded to the nearest multiple of rounding. hls-sdc-2 (what hlsd
 * publishes): each person-scale cell's count plus a keyed offset in
 * [0, rounding) is withheld below threshold + rounding - 1 and otherwise
 * rounded down to a multiple of rounding, so no set of a week's versions
 * pins a count (protocol/disclosure.h). */
#define HLS_DIGEST_METHOD_NEAREST "hls-sdc-1"
#define HLS_DIGEST_METHOD_KEYED "hls-sdc-2"
enum hls_digest_method_kind { HLS_SDC_NEAREST = 0, HLS_SDC_KEYED = 1 };
struct hls_digest_method {
  uint32_t threshold;
  uint32_t rounding;
  int kind; /* enum hls_digest_method_kind */
};
/* "hls-sdc-1" / "hls-sdc-2"; NULL for an unknown kind. */
const char *hls_digest_method_name(int kind);

struct hls_digest_cell {
  char theme[HLS_THEME_MAX + 1];
  int kind, scale, stage;
  bool withheld; /* count unknown: present, suppressed */
  uint32_t count;
};

struct hls_digest {
  int iso_year, iso_week;
  struct hls_digest_method method;
  size_t n_cells;
  struct hls_digest_cell *cells; /* owned; sorted by (theme, kind, scale, stage) */
};

struct hls_story {
  int iso_year, iso_week; /* the record's week */
  char title[HLS_TITLE_MAX + 1];
  char *tried;  /* owned, NULL if empty */
  char *learnt; /* owned, NULL if empty */
  size_t n_themes;
  struct hls_theme themes[HLS_THEMES_PER_RECORD];
  int scale, stage;
};

enum hls_tomb_reason {
  HLS_TOMB_CONSENT_WITHDRAWN = 0,
  HLS_TOMB_CONSENT_EXPIRED = 1,
  HLS_TOMB_CORRECTED = 2,
  HLS_TOMB_RECORD_DELETED = 3,
};
const char *hls_tomb_reason_name(int reason);

struct hls_tombstone {
  uint64_t target_seq;
  int reason;
};

/* An erasure receipt (docs/protocol.md 4.5): what this node did about
 * other origins' items their tombstones erased. It vouches for this node
 * only. */
enum hls_receipt_state {
  HLS_RECEIPT_ERASED = 0,     /* held the body, erased it */
  HLS_RECEIPT_NEVER_HELD = 1, /* held only the stub when the tombstone came */
};
const char *hls_receipt_state_name(int state); /* "erased", "never_held"; "unknown" */

struct hls_receipt_entry {
  uint8_t origin[HLS_KEY_BYTES]; /* the erased item's origin */
  uint64_t target_seq;           /* its seq */
  int state;                     /* enum hls_receipt_state */
};

struct hls_receipt {
  size_t n_entries;                  /* 1..HLS_RECEIPT_MAX_ENTRIES */
  struct hls_receipt_entry *entries; /* owned; strictly ascending by (origin bytes, target_seq) */
};

/* A vouch (docs/protocol.md 4.6): the publishing node (the voucher)
 * states that node subject is the place named, in the region, with the
 * role; or, withdrawn, takes back what it stated before. A later vouch of
 * one voucher for one subject supersedes its earlier ones. Never about
 * the voucher itself. */
struct hls_vouch {
  uint8_t subject[HLS_KEY_BYTES];
  bool withdrawn; /* no claim: place, region and role are empty */
  char place[HLS_PLACE_MAX + 1];
  char region[HLS_REGION_MAX + 1];
  int role; /* enum hls_role_code */
};

/* Fork evidence reported by a node (docs/protocol.md 4.7): two stubs of
 * one other origin that cannot both be in its chain, each signed by it.
 * Either both at one seq with different item ids (a before b by item id),
 * or b at a's seq + 1 with a prev that is not a's item id, or a a
 * successor and b a later item that is not a tombstone (4.9). */
struct hls_fork {
  uint8_t origin[HLS_KEY_BYTES]; /* the forked origin */
  uint64_t seq;                  /* stub a's seq */
  const uint8_t *a, *b;          /* borrowed: the stubs' bytes, inside the body */
  size_t a_len, b_len;
};

/* A network key rotation announced by a steward (docs/protocol.md 4.8):
 * the key of epoch `epoch` is the one whose hls_rekey_key_hash is
 * key_hash; the old key is accepted until overlap_until_ms; the expelled
 * nodes are never handed the new key and are refused at once. The key
 * itself is never in an item (it travels in session frames, 7.2). */
struct hls_rekey {
  uint64_t epoch;                  /* >= 1, one more than the key before */
  uint8_t key_hash[HLS_HASH_BYTES];
  size_t n_expelled;               /* 0..HLS_REKEY_MAX_EXPELLED */
  uint8_t expelled[HLS_REKEY_MAX_EXPELLED][HLS_KEY_BYTES]; /* strictly ascending, never the origin */
  uint64_t overlap_until_ms;       /* the old key is accepted until then */
};
/* BLAKE2b-256 keyed with "hlsd rekey key v1" of the key: names a key
 * without revealing it. */
void hls_rekey_key_hash(const uint8_t key[HLS_KEY_BYTES], uint8_t out[HLS_HASH_BYTES]);
/* Is pk among r's expelled? */
bool hls_rekey_expels(const struct hls_rekey *r, const uint8_t pk[HLS_KEY_BYTES]);
/* A successor (docs/protocol.md 4.9): the last item of its origin's
 * chain but tombstones, signed by the old key, naming the key the place
 * continues under. new_sig is the new key's signature over
 * HLS_SUCCESSOR_TAG || old id || new id, so that a key cannot name as its
 * successor a key whose holder did not agree. */
#define HLS_SUCCESSOR_TAG "hlsd-successor-v1"
struct hls_successor {
  uint8_t new_id[HLS_KEY_BYTES];
  uint8_t new_sig[HLS_SIG_BYTES];
};
/* The new key's signature over (old_id, its own public key), from its
 * 64-byte libsodium secret key. */
void hls_successor_sign(struct hls_successor *s, const uint8_t old_id[HLS_KEY_BYTES], const uint8_t new_sk[64]);
/* Check new_sig against (old_id, s->new_id), and that new_id is not
 * old_id: 0, HLS_EBADSIG or HLS_EMALFORMED. */
int hls_successor_verify(const struct hls_successor *s, const uint8_t old_id[HLS_KEY_BYTES], struct hls_why *why)
    HLS_WARN_UNUSED;

/* Pack a body in canonical form (appending to out). The digest's cells are
 * sorted by the packer. Errors: HLS_EINVAL for values outside the schema. */
int hls_profile_pack(msgpack_sbuffer *out, const struct hls_profile *p) HLS_WARN_UNUSED;
int hls_digest_pack(msgpack_sbuffer *out, struct hls_digest *d) HLS_WARN_UNUSED;
int hls_story_pack(msgpack_sbuffer *out, const struct hls_story *s) HLS_WARN_UNUSED;
int hls_tombstone_pack(msgpack_sbuffer *out, const struct hls_tombstone *t) HLS_WARN_UNUSED;
/* The entries must already be in order (the packer does not sort: a
 * caller that lists them from the store's index has them so). */
int hls_receipt_pack(msgpack_sbuffer *out, const struct hls_receipt *r) HLS_WARN_UNUSED;
/* A fork body from two stubs in either order (the packer puts them in
 * the canonical one). Both must verify: HLS_EINVAL otherwise. */
int hls_fork_pack(msgpack_sbuffer *out, const uint8_t *stub1, size_t len1, const uint8_t *stub2, size_t len2)
    HLS_WARN_UNUSED;
int hls_vouch_pack(msgpack_sbuffer *out, const struct hls_vouch *v) HLS_WARN_UNUSED;
/* The expelled are sorted (and duplicates dropped) by the packer; r is
 * updated to the canonical order. */
int hls_rekey_pack(msgpack_sbuffer *out, struct hls_rekey *r) HLS_WARN_UNUSED;
int hls_successor_pack(msgpack_sbuffer *out, const struct hls_successor *s) HLS_WARN_UNUSED;

/* Decode a body (canonical, exact length, schema checked). */
int hls_profile_decode(struct hls_profile *p, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
int hls_digest_decode(struct hls_digest *d, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* A digest's ISO year and week alone, read from the head of its body
 * without decoding its cells: the week hls_digest_decode gives when it
 * succeeds (a body it refuses may still give a week). */
int hls_digest_week(const uint8_t *body, size_t len, int *iso_year, int *iso_week,
                    struct hls_why *why) HLS_WARN_UNUSED;
int hls_story_decode(struct hls_story *s, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
int hls_tombstone_decode(struct hls_tombstone *t, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
int hls_receipt_decode(struct hls_receipt *r, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
void hls_receipt_free(struct hls_receipt *r);
/* Decodes and checks the evidence: both stubs decode, are stubs, are of
 * one origin, their signatures verify (HLS_EBADSIG), they are a fork and
 * in canonical order. f borrows from body. Whether the reporter is the
 * forked origin itself is hls_env_decode's check (it knows the header). */
int hls_fork_decode(struct hls_fork *f, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* The body alone: that the subject is not the voucher is checked with
 * the header, by hls_env_decode (HLS_EMALFORMED). */
int hls_vouch_decode(struct hls_vouch *v, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* The body alone: that the origin is not among the expelled is checked
 * with the header, by hls_env_decode (HLS_EMALFORMED). */
int hls_rekey_decode(struct hls_rekey *r, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* The body alone: new_sig and that new_id is not the origin are checked
 * with the header, by hls_env_decode (hls_successor_verify). */
int hls_successor_decode(struct hls_successor *s, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* Order of receipt entries: by origin bytes, then target_seq. */
int hls_receipt_entry_cmp(const struct hls_receipt_entry *a, const struct hls_receipt_entry *b);
void hls_digest_free(struct hls_digest *d);
void hls_story_free(struct hls_story *s);

/* Check a body of the given type without keeping it. */
int hls_env_body_check(int type, const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;

#endif
