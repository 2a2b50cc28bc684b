/* Writes directories of .items files for test_import_items.sh: signed
 * envelopes of three made-up places (fixed keys, so the same bytes every
 * run), in the layouts hls import-items must take, and broken ones.
 *
 *   make_items MODE DIR      DIR is created; prints the node ids of the
 *                            places A, B and C, one a line
 * MODE:
 *   good       A: 1 profile, 2 story, 3 story, 4 digest, 5 peers story,
 *                 6 tombstone of 2 (in A.items, in order);
 *              B: 1 profile, 2 story, 3 story (in B.items, newest first,
 *                 seq 2 twice);
 *              C: 1 profile, 2 story in B.items after B's, 3 story in
 *                 C.items; plus notes.txt and a sub-directory (ignored).
 *   more       A: 7 story, 8 story (the chain goes on).
 *   gap        C: 5 story (C's 4 is missing).
 *   badsig     A: 1..3, seq 2's signature broken.
 *   truncated  A: 1..3, the file cut inside seq 3.
 *   garbage    A: 1, then bytes that are no envelope.
 *   fork       F: 1 profile, 2 story, 3 story (one branch); prints F's id only.
 *   fork-other F: 3, another story signed at seq 3 (the other branch: a fork
 *              with "fork"'s 3); prints F's id only. */
#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "nodeid.h"

#define TS0 1771232400000ull /* 2026-02-16T09:00:00Z, in 2026-W08 */
#define MAX_ITEMS 16

struct place {
  const char *name;
  uint8_t pk[32], sk[64];
  size_t n;
  msgpack_sbuffer env[MAX_ITEMS]; /* env[seq - 1] */
  uint8_t id[MAX_ITEMS][32];
};

static void die(const char *what) {
  fprintf(stderr, "make_items: %s\n", what);
  exit(1);
}

static void place_init(struct place *p, const char *name, uint8_t seed_byte) {
  memset(p, 0, sizeof *p);
  p->name = name;
  uint8_t seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(seed_byte * 11 + i);
  if (crypto_sign_seed_keypair(p->pk, p->sk, seed) != 0) die("keypair");
}

static void place_free(struct place *p) {
  for (size_t i = 0; i < p->n; i++) msgpack_sbuffer_destroy(&p->env[i]);
}

static void add(struct place *p, int type, int audience, const msgpack_sbuffer *body) {
  if (p->n == MAX_ITEMS) die("too many items");
  uint64_t seq = p->n + 1;
  msgpack_sbuffer *out = &p->env[p->n];
  msgpack_sbuffer_init(out);
  if (hls_env_build(out, type, p->sk, seq, seq > 1 ? p->id[seq - 2] : NULL, TS0 + seq * 60000, audience,
                    (const uint8_t *)body->data, body->size) != 0)
    die("hls_env_build");
  struct hls_envelope e;
  if (hls_env_decode(&e, (const uint8_t *)out->data, out->size, NULL) != 0) die("decode");
  memcpy(p->id[p->n], e.id, 32);
  p->n++;
}

static void add_profile(struct place *p) {
  struct hls_profile pr;
  memset(&pr, 0, sizeof pr);
  snprintf(pr.place, sizeof pr.place, "%s", p->name);
  snprintf(pr.region, sizeof pr.region, "Import Region");
  pr.role = HLS_PROFILE_PLACE;
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_profile_pack(&b, &pr) != 0) die("profile");
  add(p, HLS_ENV_PROFILE, HLS_AUD_NETWORK, &b);
  msgpack_sbuffer_destroy(&b);
}

static void add_story(struct place *p, int audience, const char *theme) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = 2026;
  s.iso_week = 8;
  snprintf(s.title, sizeof s.title, "%s story %zu", p->name, p->n + 1);
  s.n_themes = 1;
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "%s", theme);
  s.themes[0].kind = HLS_KIND_PROBLEM;
  s.scale = HLS_SCALE_PLACE;
  s.stage = HLS_STAGE_EXPERIMENT;
  char learnt[] = "Imported, not gossiped";
  s.learnt = learnt;
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_story_pack(&b, &s) != 0) die("story");
  add(p, HLS_ENV_STORY, audience, &b);
  msgpack_sbuffer_destroy(&b);
}

static void add_digest(struct place *p) {
  struct hls_digest_cell cell;
  memset(&cell, 0, sizeof cell);
  snprintf(cell.theme, sizeof cell.theme, "housing");
  cell.kind = HLS_KIND_PROBLEM;
  cell.scale = HLS_SCALE_PLACE;
  cell.stage = HLS_STAGE_REFLECT;
  cell.count = 15;
  struct hls_digest d = {.iso_year = 2026, .iso_week = 8, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = 1, .cells = &cell};
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_digest_pack(&b, &d) != 0) die("digest");
  add(p, HLS_ENV_DIGEST, HLS_AUD_NETWORK, &b);
  msgpack_sbuffer_destroy(&b);
}

static void add_tombstone(struct place *p, uint64_t target) {
  struct hls_tombstone t = {.target_seq = target, .reason = HLS_TOMB_CONSENT_WITHDRAWN};
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_tombstone_pack(&b, &t) != 0) die("tombstone");
  add(p, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, &b);
  msgpack_sbuffer_destroy(&b);
}

static FILE *open_items(const char *dir, const struct place *p) {
  char path[4096], hex[65];
  sodium_bin2hex(hex, sizeof hex, p->pk, 32);
  snprintf(path, sizeof path, "%s/%s.items", dir, hex);
  FILE *f = fopen(path, "ab");
  if (f == NULL) die(strerror(errno));
  return f;
}

static void put(FILE *f, const struct place *p, uint64_t seq) {
  const msgpack_sbuffer *b = &p->env[seq - 1];
  if (fwrite(b->data, 1, b->size, f) != b->size) die("write");
}

static void put_range(const char *dir, const struct place *p, uint64_t from, uint64_t to) {
  FILE *f = open_items(dir, p);
  for (uint64_t q = from; q <= to; q++) put(f, p, q);
  if (fclose(f) != 0) die("close");
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path);
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: make_items good|more|gap|badsig|truncated|garbage|fork|fork-other DIR");
  if (sodium_init() < 0) die("sodium_init");
  const char *mode = argv[1], *dir = argv[2];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) die(strerror(errno));
  struct place a, b, c;
  place_init(&a, "Import Place A", 1);
  place_init(&b, "Import Place B", 2);
  place_init(&c, "Import Place C", 3);
  add_profile(&a);
  add_story(&a, HLS_AUD_NETWORK, "loneliness"); /* 2: erased by 6 */
  add_story(&a, HLS_AUD_NETWORK, "loneliness");
  add_digest(&a);
  add_story(&a, HLS_AUD_PEERS, "housing");
  add_tombstone(&a, 2);
  add_story(&a, HLS_AUD_NETWORK, "transport"); /* 7, 8: "more" */
  add_story(&a, HLS_AUD_NETWORK, "transport");
  add_profile(&b);
  add_story(&b, HLS_AUD_NETWORK, "housing");
  add_story(&b, HLS_AUD_NETWORK, "loneliness");
  add_profile(&c);
  add_story(&c, HLS_AUD_NETWORK, "housing");
  add_story(&c, HLS_AUD_NETWORK, "housing");
  add_story(&c, HLS_AUD_NETWORK, "housing"); /* 4: never written */
  add_story(&c, HLS_AUD_NETWORK, "housing"); /* 5: "gap" */

  if (strncmp(mode, "fork", 4) == 0) {
    /* One key, two branches from seq 3 (docs/protocol.md 8.5). */
    struct place f, g;
    place_init(&f, "Forking Place", 4);
    place_init(&g, "Forking Place", 4);
    struct place *both[] = {&f, &g};
    for (int i = 0; i < 2; i++) {
      add_profile(both[i]);
      add_story(both[i], HLS_AUD_NETWORK, "housing");
      add_story(both[i], HLS_AUD_NETWORK, i == 0 ? "housing" : "transport");
    }
    if (strcmp(mode, "fork") == 0) put_range(dir, &f, 1, 3);
    else if (strcmp(mode, "fork-other") == 0) put_range(dir, &g, 3, 3);
    else die("unknown mode");
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(f.pk, id);
    printf("%s\n", id);
    place_free(&f);
    place_free(&g);
    place_free(&a);
    place_free(&b);
    place_free(&c);
    return 0;
  }
  if (strcmp(mode, "good") == 0) {
    put_range(dir, &a, 1, 6);
    FILE *f = open_items(dir, &b);
    put(f, &b, 3);
    put(f, &b, 2);
    put(f, &b, 2);
    put(f, &b, 1);
    put(f, &c, 1);
    put(f, &c, 2);
    if (fclose(f) != 0) die("close");
    put_range(dir, &c, 3, 3);
    char path[4096];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_file(path, "not envelopes\n", 14);
    snprintf(path, sizeof path, "%s/sub.items", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) die(strerror(errno));
  } else if (strcmp(mode, "more") == 0) {
    put_range(dir, &a, 7, 8);
  } else if (strcmp(mode, "gap") == 0) {
    put_range(dir, &c, 5, 5);
  } else if (strcmp(mode, "badsig") == 0) {
    struct hls_envelope e;
    msgpack_sbuffer *s2 = &a.env[1];
    if (hls_env_decode(&e, (const uint8_t *)s2->data, s2->size, NULL) != 0) die("decode");
    size_t sig_at = (size_t)(e.header_bytes - (const uint8_t *)s2->data) + e.header_len + 2; /* after c4 40 */
    s2->data[sig_at + 9] ^= 0x04;
    put_range(dir, &a, 1, 3);
  } else if (strcmp(mode, "truncated") == 0) {
    put_range(dir, &a, 1, 3);
    char path[4096], hex[65];
    sodium_bin2hex(hex, sizeof hex, a.pk, 32);
    snprintf(path, sizeof path, "%s/%s.items", dir, hex);
    if (truncate(path, (off_t)(a.env[0].size + a.env[1].size + a.env[2].size / 2)) != 0) die(strerror(errno));
  } else if (strcmp(mode, "garbage") == 0) {
    FILE *f = open_items(dir, &a);
    put(f, &a, 1);
    if (fwrite("\x93\xc0\xc0\xc0 and more", 1, 13, f) != 13 || fclose(f) != 0) die("write");
  } else {
    die("unknown mode");
  }
  char id[HLS_NODEID_TEXT_SIZE];
  const struct place *all[] = {&a, &b, &c};
  for (int i = 0; i < 3; i++) {
    hls_nodeid_format(all[i]->pk, id);
    printf("%s\n", id);
  }
  place_free(&a);
  place_free(&b);
  place_free(&c);
  return 0;
}
