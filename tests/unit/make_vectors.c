/* Known-answer test vectors for envelopes: prints the JSON checked in as
 * docs/test-vectors/envelopes.json.
 *
 *   make_vectors > docs/test-vectors/envelopes.json
 *
 * One node (Ed25519 seed 0x01..0x20) writes a short chain with fixed
 * timestamps: a profile (seq 1), a digest with withheld cells (seq 2), a
 * story for its peers only with multi-line UTF-8 text (seq 3) and a
 * tombstone of that story (seq 4). For each item the file holds the input
 * fields and the hex of every byte string derived from them.
 * tests/unit/test_envelope.c rebuilds every vector from its input fields
 * and tests/unit/check_vectors.py checks them without our C code.
 *
 *   make_vectors sdc > docs/test-vectors/sdc.json
 *
 * prints the hls-sdc-2 vectors instead: the same node's disclosure key, and
 * one digest body whose person-scale cells (counts around the threshold
 * and rounding edges) carry their keyed offsets.
 *
 *   make_vectors receipt > docs/test-vectors/receipt.json
 *
 * prints the same node's next item instead: an erasure receipt (seq 5,
 * linking to the tombstone) confirming two erasures of other nodes' items
 * (docs/protocol.md 4.5), in the same layout.
 *
 *   make_vectors vouch > docs/test-vectors/vouch.json
 *
 * prints the two items after it: a vouch (seq 6, linking to the receipt)
 * stating that the node of seed 0x41..0x60 is "Gateshead Council"
 * (North East, partner), and its withdrawal (seq 7) (docs/protocol.md
 * 4.6).
 *
 *   make_vectors fork > docs/test-vectors/fork.json
 *
 * prints the item after those: a fork report (seq 8, linking to the
 * withdrawal) of another node's fork, two tombstones at its seq 2
 * (docs/protocol.md 4.7).
 *
 *   make_vectors rekey > docs/test-vectors/rekey.json
 *
 * prints the item after the fork report: a rekey (seq 9, linking to it)
 * announcing network key epoch 1, the key 0x00..0x1f named by its hash,
 * expelling the node of seed 0x41..0x60, the old key accepted for 14 days
 * (docs/protocol.md 4.8).
 *
 * Built by CMake, never run by ctest: re-run it only when the wire format
 * changes on purpose, and review the diff. */
#include <jansson.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"
#include "envelope.h"

#define CHAIN_LEN 7 /* the receipt (5), the vouches (6, 7) and the fork (8) go to their own files */

struct raw_cell {
  const char *theme;
  int kind, scale, stage;
  uint32_t raw; /* count before disclosure control */
};

/* Listed out of canonical order on purpose: hls_digest_pack sorts. */
static const struct raw_cell digest_cells[] = {
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, 27},
    {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, 13},
    {"mental-health", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 4},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_UNDERSTAND, 9},
    {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_PLACE, HLS_STAGE_EXPERIMENT, 3},
    {"bien-\xc3\xaatre", HLS_KIND_STRENGTH, HLS_SCALE_PERSON, HLS_STAGE_EMBED, 10},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_ORGANISATION, HLS_STAGE_REFLECT, 2},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_REFLECT, 12},
};
#define N_DIGEST_CELLS (sizeof digest_cells / sizeof digest_cells[0])

static const uint64_t timestamps[CHAIN_LEN] = {1771232400000ull, 1771236000000ull, 1771239600000ull,
                                               1771243200000ull, 1771246800000ull, 1771250400000ull,
                                               1771254000000ull};

static json_t *hex(const void *bytes, size_t len) {
  char *text = malloc(2 * len + 1);
  if (text == NULL) abort();
  sodium_bin2hex(text, 2 * len + 1, bytes, len);
  json_t *j = json_string(text);
  free(text);
  return j;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "make_vectors: %s: %s\n", what, hls_strerror(rc));
  exit(1);
}

/* Print doc (consumed) as indented JSON; the exit status. */
static int print_doc(json_t *doc) {
  if (doc == NULL) die("json", HLS_ENOMEM);
  char *text = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  if (text == NULL) die("json", HLS_ENOMEM);
  fputs(text, stdout);
  fputc('\n', stdout);
  free(text);
  return ferror(stdout) ? 1 : 0;
}

static json_t *profile_body(msgpack_sbuffer *body) {
  struct hls_profile p = {.role = HLS_PROFILE_PLACE, .n_addresses = 3};
  strcpy(p.place, "Leeds");
  strcpy(p.region, "Yorkshire and the Humber");
  strcpy(p.addresses[0], "203.0.113.7:7420");
  strcpy(p.addresses[1], "[2001:db8::7]:7420");
  strcpy(p.addresses[2], "hlsd.leeds.example:7420");
  int rc = hls_profile_pack(body, &p);
  if (rc != 0) die("profile", rc);
  json_t *addresses = json_array();
  for (size_t i = 0; i < p.n_addresses; i++) json_array_append_new(addresses, json_string(p.addresses[i]));
  return json_pack("{s:s, s:s, s:i, s:o}", "place", p.place, "region", p.region, "role", p.role, "addresses",
                   addresses);
}

static json_t *digest_body(msgpack_sbuffer *body) {
  struct hls_digest_cell cells[N_DIGEST_CELLS];
  uint32_t raw[N_DIGEST_CELLS];
  struct hls_digest d = {.iso_year = 2026,
                         .iso_week = 7,
                         .method = {HLS_DISCLOSURE_DEFAULT_THRESHOLD, HLS_DISCLOSURE_DEFAULT_ROUNDING,
                                    HLS_SDC_NEAREST},
                         .n_cells = N_DIGEST_CELLS,
                         .cells = cells};
  memset(cells, 0, sizeof cells);
  for (size_t i = 0; i < N_DIGEST_CELLS; i++) {
    const struct raw_cell *in = &digest_cells[i];
    strcpy(cells[i].theme, in->theme);
    cells[i].kind = in->kind;
    cells[i].scale = in->scale;
    cells[i].stage = in->stage;
    /* The raw count rides in count until the sort; disclosure below. */
    cells[i].count = in->raw;
  }
  /* Pack once into scratch only to sort the cells, so that raw[] lines up
   * with the canonical order; then apply disclosure and pack for real. */
  msgpack_sbuffer scratch;
  msgpack_sbuffer_init(&scratch);
  int rc = hls_digest_pack(&scratch, &d);
  msgpack_sbuffer_destroy(&scratch);
  if (rc != 0) die("digest", rc);
  for (size_t i = 0; i < N_DIGEST_CELLS; i++) {
    raw[i] = cells[i].count;
    hls_disclose(&d.method, cells[i].scale, raw[i], 0, &cells[i].withheld, &cells[i].count);
  }
  if ((rc = hls_digest_pack(body, &d)) != 0) die("digest", rc);
  json_t *jcells = json_array();
  for (size_t i = 0; i < N_DIGEST_CELLS; i++) {
    const struct hls_digest_cell *c = &cells[i];
    json_array_append_new(jcells, json_pack("{s:s, s:i, s:i, s:i, s:o, s:i}", "theme", c->theme, "kind", c->kind,
                                            "scale", c->scale, "stage", c->stage, "count",
                                            c->withheld ? json_null() : json_integer(c->count), "raw",
                                            (json_int_t)raw[i]));
  }
  return json_pack("{s:i, s:i, s:{s:s, s:i, s:i}, s:o}", "iso_year", d.iso_year, "iso_week", d.iso_week, "method",
                   "name", HLS_DIGEST_METHOD_NEAREST, "threshold", (int)d.method.threshold, "rounding",
                   (int)d.method.rounding, "cells", jcells);
}

static json_t *story_body(msgpack_sbuffer *body) {
  char tried[] = "Opened a weekly caf\xc3\xa9 in the library \xe2\x98\x95\n"
                 "Zo\xc3\xab brought her neighbours; 12 people came back.\r\n"
                 "\tSecond week: \xe2\x80\x9cit felt like ours\xe2\x80\x9d \xf0\x9f\x8c\xb1";
  char learnt[] = "Start small and let people shape it.\n"
                  "\xce\xa3\xcf\x85\xce\xbd\xce\xb5\xcf\x81\xce\xb3\xce\xb1\xcf\x83\xce\xaf\xce\xb1 beats outreach.";
  struct hls_story s = {.iso_year = 2026,
                        .iso_week = 7,
                        .tried = tried,
                        .learnt = learnt,
                        .n_themes = 2,
                        .themes = {{"loneliness", HLS_KIND_PROBLEM}, {"community-cafe", HLS_KIND_ASPIRATION}},
                        .scale = HLS_SCALE_PLACE,
                        .stage = HLS_STAGE_EXPERIMENT};
  strcpy(s.title, "Community caf\xc3\xa9 pilot");
  int rc = hls_story_pack(body, &s);
  if (rc != 0) die("story", rc);
  json_t *themes = json_array();
  for (size_t i = 0; i < s.n_themes; i++)
    json_array_append_new(themes, json_pack("{s:s, s:i}", "slug", s.themes[i].slug, "kind", s.themes[i].kind));
  return json_pack("{s:i, s:i, s:s, s:s, s:s, s:o, s:i, s:i}", "iso_year", s.iso_year, "iso_week", s.iso_week,
                   "title", s.title, "tried", s.tried, "learnt", s.learnt, "themes", themes, "scale", s.scale,
                   "stage", s.stage);
}

static json_t *tombstone_body(msgpack_sbuffer *body) {
  struct hls_tombstone t = {.target_seq = 3, .reason = HLS_TOMB_CONSENT_WITHDRAWN};
  int rc = hls_tombstone_pack(body, &t);
  if (rc != 0) die("tombstone", rc);
  return json_pack("{s:I, s:i}", "target_seq", (json_int_t)t.target_seq, "reason", t.reason);
}

/* Person-scale counts around the edges of hls-sdc-2 with the defaults
 * (withheld below 14 - offset, bins of 5), and one organisation cell. */
static const struct raw_cell sdc_cells[] = {
    {"housing", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_UNDERSTAND, 9},
    {"housing", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, 10},
    {"housing", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_REFLECT, 11},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 12},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_UNDERSTAND, 13},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_CO_DESIGN, 14},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, 17},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_REFLECT, 23},
    {"loneliness", HLS_KIND_PROBLEM, HLS_SCALE_PERSON, HLS_STAGE_EMBED, 31},
    {"bien-\xc3\xaatre", HLS_KIND_STRENGTH, HLS_SCALE_PERSON, HLS_STAGE_EMBED, 12},
    {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_PERSON, HLS_STAGE_EXPERIMENT, 16},
    {"community-cafe", HLS_KIND_ASPIRATION, HLS_SCALE_ORGANISATION, HLS_STAGE_EXPERIMENT, 12},
};
#define N_SDC_CELLS (sizeof sdc_cells / sizeof sdc_cells[0])

static int sdc_vectors(const uint8_t seed[32]) {
  uint8_t key[HLS_DISCLOSURE_KEY_BYTES];
  hls_disclosure_key(seed, key);
  struct hls_digest_cell cells[N_SDC_CELLS];
  struct hls_digest d = {.iso_year = 2026,
                         .iso_week = 7,
                         .method = {HLS_DISCLOSURE_DEFAULT_THRESHOLD, HLS_DISCLOSURE_DEFAULT_ROUNDING, HLS_SDC_KEYED},
                         .n_cells = N_SDC_CELLS,
                         .cells = cells};
  memset(cells, 0, sizeof cells);
  json_t *jcells = json_array();
  for (size_t i = 0; i < N_SDC_CELLS; i++) {
    const struct raw_cell *in = &sdc_cells[i];
    struct hls_digest_cell *c = &cells[i];
    strcpy(c->theme, in->theme);
    c->kind = in->kind;
    c->scale = in->scale;
    c->stage = in->stage;
    uint32_t offset = in->scale == HLS_SCALE_PERSON
                          ? hls_disclosure_offset(key, d.iso_year, d.iso_week, c->theme, c->kind, c->scale, c->stage,
                                                  d.method.rounding)
                          : 0;
    hls_disclose(&d.method, c->scale, in->raw, offset, &c->withheld, &c->count);
    json_array_append_new(jcells, json_pack("{s:s, s:i, s:i, s:i, s:i, s:o, s:o}", "theme", c->theme, "kind", c->kind,
                                            "scale", c->scale, "stage", c->stage, "raw", (int)in->raw, "offset",
                                            in->scale == HLS_SCALE_PERSON ? json_integer(offset) : json_null(),
                                            "count", c->withheld ? json_null() : json_integer(c->count)));
  }
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  int rc = hls_digest_pack(&body, &d); /* sorts cells[], not jcells */
  if (rc != 0) die("digest", rc);
  json_t *doc = json_pack(
      "{s:s, s:[s,s,s,s], s:o, s:o, s:i, s:i, s:{s:s, s:i, s:i}, s:o, s:o}", "description",
      "hlsd hls-sdc-2 (keyed rounding) known-answer vectors. Generated by tests/unit/make_vectors.c sdc; checked by "
      "tests/unit/test_envelope.c and tests/unit/check_vectors.py.",
      "notes",
      "key = BLAKE2b-256(message \"hls-sdc-2 key\", key = seed), the seed being the node's Ed25519 seed",
      "offset = LE64(BLAKE2b-64(message = BE16 iso_year || u8 iso_week || u8 kind || u8 scale || u8 stage || theme "
      "bytes, key = key)) mod rounding; person-scale cells only",
      "u = raw + offset; u < threshold + rounding - 1: withheld (count null); else count = rounding * floor(u / "
      "rounding); other scales: count = raw",
      "body: the digest [iso_year, iso_week, [\"hls-sdc-2\", threshold, rounding], cells] with these cells in "
      "canonical order (protocol.md 4.2)",
      "seed", hex(seed, 32), "key", hex(key, sizeof key), "iso_year", d.iso_year, "iso_week", d.iso_week, "method",
      "name", HLS_DIGEST_METHOD_KEYED, "threshold", (int)d.method.threshold, "rounding", (int)d.method.rounding,
      "cells", jcells, "body", hex(body.data, body.size));
  msgpack_sbuffer_destroy(&body);
  sodium_memzero(key, sizeof key);
  return print_doc(doc);
}

/* Two other nodes' items this node erased or never held: the origins are
 * the public keys of seeds 0x21..0x40 and 0x41..0x60, listed in canonical
 * order (origin bytes, then seq: the second key first). */
static json_t *receipt_body(msgpack_sbuffer *body) {
  struct hls_receipt_entry entries[3];
  uint8_t seed[crypto_sign_SEEDBYTES], pk[2][crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(0x21 + 0x20 * k + i);
    crypto_sign_seed_keypair(pk[k], sk, seed);
  }
  sodium_memzero(sk, sizeof sk);
  int lo = memcmp(pk[0], pk[1], HLS_KEY_BYTES) < 0 ? 0 : 1;
  memcpy(entries[0].origin, pk[lo], HLS_KEY_BYTES);
  entries[0].target_seq = 3;
  entries[0].state = HLS_RECEIPT_ERASED;
  memcpy(entries[1].origin, pk[lo], HLS_KEY_BYTES);
  entries[1].target_seq = 300;
  entries[1].state = HLS_RECEIPT_NEVER_HELD;
  memcpy(entries[2].origin, pk[1 - lo], HLS_KEY_BYTES);
  entries[2].target_seq = 12;
  entries[2].state = HLS_RECEIPT_ERASED;
  struct hls_receipt r = {.n_entries = 3, .entries = entries};
  int rc = hls_receipt_pack(body, &r);
  if (rc != 0) die("receipt", rc);
  json_t *jentries = json_array();
  for (size_t i = 0; i < r.n_entries; i++)
    json_array_append_new(jentries, json_pack("{s:o, s:I, s:i, s:s}", "origin", hex(entries[i].origin, HLS_KEY_BYTES),
                                              "target_seq", (json_int_t)entries[i].target_seq, "state",
                                              entries[i].state, "state_name",
                                              hls_receipt_state_name(entries[i].state)));
  return json_pack("{s:o}", "entries", jentries);
}

/* A fork of another node X (seed 0x61..0x80): X's profile at seq 1, then
 * two tombstones of seq 1 (reasons 0 and 2) both signed at seq 2; their
 * stubs, in canonical order (item id), are the fork body (protocol.md 4.7). */
static json_t *fork_body(msgpack_sbuffer *body) {
  uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(0x61 + i);
  crypto_sign_seed_keypair(pk, sk, seed);
  struct hls_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.place, sizeof p.place, "Forked Place");
  snprintf(p.region, sizeof p.region, "North");
  p.role = HLS_PROFILE_PLACE;
  msgpack_sbuffer pb, first, items[2], stubs[2];
  msgpack_sbuffer_init(&pb);
  msgpack_sbuffer_init(&first);
  int rc = hls_profile_pack(&pb, &p);
  if (rc == 0)
    rc = hls_env_build(&first, HLS_ENV_PROFILE, sk, 1, NULL, 1771232400000ull, HLS_AUD_NETWORK,
                       (const uint8_t *)pb.data, pb.size);
  struct hls_envelope e1, e[2];
  if (rc == 0) rc = hls_env_decode(&e1, (const uint8_t *)first.data, first.size, NULL);
  if (rc != 0) die("fork: X's profile", rc);
  json_t *jstubs = json_array();
  for (int k = 0; k < 2; k++) {
    struct hls_tombstone t = {.target_seq = 1, .reason = k == 0 ? HLS_TOMB_CONSENT_WITHDRAWN : HLS_TOMB_CORRECTED};
    msgpack_sbuffer tb;
    msgpack_sbuffer_init(&tb);
    msgpack_sbuffer_init(&items[k]);
    msgpack_sbuffer_init(&stubs[k]);
    rc = hls_tombstone_pack(&tb, &t);
    if (rc == 0)
      rc = hls_env_build(&items[k], HLS_ENV_TOMBSTONE, sk, 2, e1.id, 1771236000000ull, HLS_AUD_NETWORK,
                         (const uint8_t *)tb.data, tb.size);
    if (rc == 0) rc = hls_env_decode(&e[k], (const uint8_t *)items[k].data, items[k].size, NULL);
    if (rc == 0) rc = hls_env_encode_stub(&stubs[k], &e[k]);
    if (rc != 0) die("fork: X's seq 2", rc);
    msgpack_sbuffer_destroy(&tb);
  }
  rc = hls_fork_pack(body, (const uint8_t *)stubs[0].data, stubs[0].size, (const uint8_t *)stubs[1].data,
                     stubs[1].size);
  if (rc != 0) die("fork", rc);
  int lo = memcmp(e[0].id, e[1].id, HLS_HASH_BYTES) < 0 ? 0 : 1;
  for (int k = 0; k < 2; k++) {
    int i = k == 0 ? lo : 1 - lo;
    json_array_append_new(jstubs, json_pack("{s:o, s:o, s:i}", "stub", hex(stubs[i].data, stubs[i].size), "item_id",
                                            hex(e[i].id, HLS_HASH_BYTES), "tombstone_reason", i == 0 ? 0 : 2));
  }
  json_t *out = json_pack("{s:o, s:o, s:I, s:o, s:o}", "origin", hex(pk, sizeof pk), "origin_seed",
                          hex(seed, sizeof seed), "seq", (json_int_t)2, "prev", hex(e1.id, HLS_HASH_BYTES), "stubs",
                          jstubs);
  for (int k = 0; k < 2; k++) {
    msgpack_sbuffer_destroy(&items[k]);
    msgpack_sbuffer_destroy(&stubs[k]);
  }
  msgpack_sbuffer_destroy(&pb);
  msgpack_sbuffer_destroy(&first);
  sodium_memzero(sk, sizeof sk);
  return out;
}

/* The successor of seq 9: the key of seed 0x81..0xa0 succeeds the chain's
 * node (old_pk). */
static json_t *successor_body(msgpack_sbuffer *body, const uint8_t old_pk[HLS_KEY_BYTES]) {
  uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(0x81 + i);
  crypto_sign_seed_keypair(pk, sk, seed);
  struct hls_successor su;
  hls_successor_sign(&su, old_pk, sk);
  sodium_memzero(sk, sizeof sk);
  int rc = hls_successor_pack(body, &su);
  if (rc != 0) die("successor", rc);
  return json_pack("{s:o, s:o, s:o, s:s}", "new_id", hex(su.new_id, HLS_KEY_BYTES), "new_seed",
                   hex(seed, sizeof seed), "new_sig", hex(su.new_sig, HLS_SIG_BYTES), "signed_tag", HLS_SUCCESSOR_TAG);
}

/* The vouch of seq 6 (withdrawn: seq 7's) for the node of seed 0x41..0x60. */
static json_t *vouch_body(msgpack_sbuffer *body, bool withdrawn) {
  uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];
  struct hls_vouch v = {.withdrawn = withdrawn, .role = HLS_PROFILE_PARTNER};
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(0x41 + i);
  crypto_sign_seed_keypair(v.subject, sk, seed);
  sodium_memzero(sk, sizeof sk);
  if (!withdrawn) {
    snprintf(v.place, sizeof v.place, "Gateshead Council");
    snprintf(v.region, sizeof v.region, "North East");
  }
  int rc = hls_vouch_pack(body, &v);
  if (rc != 0) die("vouch", rc);
  if (withdrawn) return json_pack("{s:o, s:b}", "subject", hex(v.subject, HLS_KEY_BYTES), "withdrawn", 1);
  return json_pack("{s:o, s:b, s:s, s:s, s:i, s:s}", "subject", hex(v.subject, HLS_KEY_BYTES), "withdrawn", 0,
                   "place", v.place, "region", v.region, "role", v.role, "role_name", "partner");
}

/* The rekey of seq 9 (docs/protocol.md 4.8): epoch 1, the new key
 * 0x00..0x1f by its hash, the vouch's subject expelled, 14 days of overlap
 * from ts. */
static json_t *rekey_body(msgpack_sbuffer *body, uint64_t ts) {
  uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES], key[32];
  struct hls_rekey r;
  memset(&r, 0, sizeof r);
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(0x41 + i);
  crypto_sign_seed_keypair(r.expelled[0], sk, seed);
  sodium_memzero(sk, sizeof sk);
  r.n_expelled = 1;
  for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)i;
  r.epoch = 1;
  hls_rekey_key_hash(key, r.key_hash);
  r.overlap_until_ms = ts + 14ull * 86400000ull;
  int rc = hls_rekey_pack(body, &r);
  if (rc != 0) die("rekey", rc);
  return json_pack("{s:I, s:o, s:s, s:o, s:[o], s:I}", "epoch", (json_int_t)r.epoch, "key", hex(key, sizeof key),
                   "key_hash_key", "hlsd rekey key v1", "key_hash", hex(r.key_hash, HLS_HASH_BYTES), "expelled",
                   hex(r.expelled[0], HLS_KEY_BYTES), "overlap_until_ms", (json_int_t)r.overlap_until_ms);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  bool receipt = argc > 1 && strcmp(argv[1], "receipt") == 0, sdc = argc > 1 && strcmp(argv[1], "sdc") == 0;
  bool vouch = argc > 1 && strcmp(argv[1], "vouch") == 0, fork = argc > 1 && strcmp(argv[1], "fork") == 0;
  bool rekey = argc > 1 && strcmp(argv[1], "rekey") == 0, succ = argc > 1 && strcmp(argv[1], "successor") == 0;
  if (argc > 1 && !receipt && !sdc && !vouch && !fork && !rekey && !succ) {
    fprintf(stderr, "usage: make_vectors [receipt|sdc|vouch|fork|rekey|successor]\n");
    return 2;
  }
  uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(i + 1);
  crypto_sign_seed_keypair(pk, sk, seed);
  if (sdc) {
    sodium_memzero(sk, sizeof sk);
    return sdc_vectors(seed);
  }

  json_t *vectors = json_array();
  uint8_t prev_id[HLS_HASH_BYTES];
  /* profile, digest, story, tombstone, receipt, vouch, vouch: seq i+1;
   * with fork, seq 8 is the fork (type 7). */
  for (int i = 0; i < CHAIN_LEN + (fork ? 1 : rekey ? 2 : succ ? 3 : 0); i++) {
    int type = i < HLS_ENV_VOUCH       ? i + 1
               : i < CHAIN_LEN         ? HLS_ENV_VOUCH
               : i == CHAIN_LEN        ? HLS_ENV_FORK
               : i == CHAIN_LEN + 1    ? HLS_ENV_REKEY
                                       : HLS_ENV_SUCCESSOR;
    uint64_t seq = (uint64_t)i + 1;
    int audience = type == HLS_ENV_STORY ? HLS_AUD_PEERS : HLS_AUD_NETWORK;
    msgpack_sbuffer body, out, stub;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    msgpack_sbuffer_init(&stub);
    json_t *fields = type == HLS_ENV_PROFILE  ? profile_body(&body)
                     : type == HLS_ENV_DIGEST ? digest_body(&body)
                     : type == HLS_ENV_STORY  ? story_body(&body)
                     : type == HLS_ENV_TOMBSTONE ? tombstone_body(&body)
                     : type == HLS_ENV_RECEIPT   ? receipt_body(&body)
                                                 : type == HLS_ENV_VOUCH     ? vouch_body(&body, seq == 7)
                                                 : type == HLS_ENV_FORK      ? fork_body(&body)
                                                 : type == HLS_ENV_REKEY     ? rekey_body(&body, timestamps[CHAIN_LEN - 1] + 7200000)
                                                                             : successor_body(&body, pk);
    uint64_t ts = i < CHAIN_LEN ? timestamps[i] : timestamps[CHAIN_LEN - 1] + 3600000 * (uint64_t)(i - CHAIN_LEN + 1);
    int rc = hls_env_build(&out, type, sk, seq, seq > 1 ? prev_id : NULL, ts, audience,
                           (const uint8_t *)body.data, body.size);
    if (rc != 0) die("build", rc);
    struct hls_envelope env;
    struct hls_why why = {{0}};
    rc = hls_env_decode(&env, (const uint8_t *)out.data, out.size, &why);
    if (rc != 0) {
      fprintf(stderr, "make_vectors: decode: %s (%s)\n", hls_strerror(rc), why.text);
      return 1;
    }
    if (hls_env_verify(&env) != 0 || hls_env_encode_stub(&stub, &env) != 0) die("verify/stub", HLS_EINTERNAL);
    json_t *input = json_pack("{s:i, s:s, s:I, s:o, s:I, s:i, s:s, s:o}", "type", type, "type_name",
                              hls_env_type_name(type), "seq", (json_int_t)seq, "prev",
                              seq > 1 ? hex(prev_id, sizeof prev_id) : json_null(), "timestamp_ms",
                              (json_int_t)ts, "audience", audience, "audience_name",
                              hls_env_audience_name(audience), "body", fields);
    json_t *v = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", hls_env_type_name(type), "input",
                          input, "body", hex(body.data, body.size), "body_hash",
                          hex(env.h.body_hash, HLS_HASH_BYTES), "header", hex(env.header_bytes, env.header_len),
                          "signature", hex(env.sig, HLS_SIG_BYTES), "envelope", hex(out.data, out.size), "stub",
                          hex(stub.data, stub.size), "item_id", hex(env.id, HLS_HASH_BYTES));
    if (v == NULL) die("json", HLS_ENOMEM);
    bool wanted = succ      ? type == HLS_ENV_SUCCESSOR
                  : rekey   ? type == HLS_ENV_REKEY
                  : fork    ? type == HLS_ENV_FORK
                  : receipt ? type == HLS_ENV_RECEIPT
                  : vouch   ? type == HLS_ENV_VOUCH
                            : type < HLS_ENV_RECEIPT;
    if (wanted) json_array_append_new(vectors, v);
    else json_decref(v);
    memcpy(prev_id, env.id, sizeof prev_id);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&stub);
  }

  json_t *doc = json_pack(
      "{s:s, s:[s,s,s,s,s,s], s:i, s:s, s:o, s:o, s:o}", "description",
      succ    ? "hlsd envelope known-answer vector of a successor: item 10 of the chain of envelopes.json (same seed; "
                "prev is the rekey's item id, rekey.json), naming the key of seed 81 82 .. a0 as the node's next "
                "key. Generated by tests/unit/make_vectors.c successor; checked by tests/unit/test_envelope.c and "
                "tests/unit/check_vectors.py."
      : rekey ? "hlsd envelope known-answer vector of a rekey: item 9 of the chain of envelopes.json (same seed; "
                "prev is the fork report's item id, fork.json), announcing network key epoch 1. Generated by "
                "tests/unit/make_vectors.c rekey; checked by tests/unit/test_envelope.c and tests/unit/check_vectors.py."
      : fork    ? "hlsd envelope known-answer vector of a fork report: item 8 of the chain of envelopes.json (same "
                "seed; prev is the vouch withdrawal's item id, vouch.json), reporting another node's fork. Generated by "
                "tests/unit/make_vectors.c fork; checked by tests/unit/test_envelope.c and tests/unit/check_vectors.py."
      : receipt ? "hlsd envelope known-answer vector of an erasure receipt: item 5 of the chain of envelopes.json "
                "(same seed; prev is the tombstone's item id). Generated by tests/unit/make_vectors.c receipt; "
                "checked by tests/unit/test_envelope.c."
      : vouch ? "hlsd envelope known-answer vectors of a vouch and its withdrawal: items 6 and 7 of the chain of "
                "envelopes.json (same seed; seq 6's prev is the receipt's item id, receipt.json). Generated by "
                "tests/unit/make_vectors.c vouch; checked by tests/unit/test_envelope.c and "
                "tests/unit/check_vectors.py."
              : "hlsd envelope known-answer vectors: one node's chain (profile, digest, story, tombstone). "
                "Generated by tests/unit/make_vectors.c; checked by tests/unit/test_envelope.c and "
                "tests/unit/check_vectors.py.",
      "notes",
      "envelope = [header, signature (bin 64), body | nil]; stub = the same with body nil",
      "header = [version, type, origin (bin 32), seq, prev (bin 32) | nil, timestamp_ms, audience, body_hash (bin 32)]",
      "signature = Ed25519(secret key from seed, signature_tag || header); body_hash = BLAKE2b-256(body); "
      "item_id = BLAKE2b-256(header || signature)",
      succ    ? "type 9 successor, audience 0 network; body = [new_id (bin 32), new_sig (bin 64)], new_sig = "
                "Ed25519(the new key, \"hlsd-successor-v1\" || origin || new_id); the origin's chain closes here "
                "(only tombstones may follow)"
      : rekey ? "type 8 rekey, audience 0 network; body = [epoch, key_hash (bin 32), expelled (list of bin 32, "
                "strictly ascending), overlap_until_ms]; key_hash = BLAKE2b-256 keyed with the 17 ASCII bytes "
                "'hlsd rekey key v1' of the new network key (key here: 00 01 .. 1f; never on the wire in an item)"
      : fork    ? "type 7 fork, audience 0 network; body = [stub_a (bin), stub_b (bin)]: two stubs of another origin "
                "signed by it at one seq with different item ids, stub_a's item id the lower (or stub_b at stub_a's "
                "seq + 1 naming another prev); here two tombstones of X's seq 1 at X's seq 2"
      : receipt ? "type 5 receipt, audience 0 network; body = [entry, ...] (the array of entries itself), entry = [origin (bin 32), target_seq, state]; "
                "state: 0 erased, 1 never_held; entries in strictly ascending (origin bytes, target_seq)"
      : vouch ? "type 6 vouch, audience 0 network; body = [subject (bin 32), claim | nil], claim = [place, region, "
                "role]; role: 0 place, 1 partner; nil claim = the voucher withdraws its vouch for subject"
              : "type: 1 profile, 2 digest, 3 story, 4 tombstone; audience: 0 network, 1 peers; role: 0 place, 1 "
                "partner",
      "kind: 0 problem, 1 aspiration, 2 strength, 3 practice; scale: 0 person, 1 organisation, 2 place, 3 country; "
      "stage: 0 purpose, 1 understand, 2 co-design, 3 experiment, 4 reflect, 5 embed; tombstone reason: 0 "
      "consent_withdrawn, 1 consent_expired, 2 corrected, 3 record_deleted",
      "digest cells: count is the published count (null = withheld); raw is the count before disclosure control "
      "(not on the wire); body strings are UTF-8 and byte strings are lower-case hex",
      "version", HLS_ENV_VERSION, "signature_tag", HLS_ENV_SIG_TAG, "seed", hex(seed, sizeof seed), "public_key",
      hex(pk, sizeof pk), "vectors", vectors);
  sodium_memzero(sk, sizeof sk);
  return print_doc(doc);
}
