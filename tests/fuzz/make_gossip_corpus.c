/* Writes the seed corpora of fuzz_gossip_frames and fuzz_gossip_engine
 * (corpus/gossip_frames/, corpus/gossip_engine/), or checks them:
 *
 *   make_gossip_corpus CORPUS_DIR          write the seeds
 *   make_gossip_corpus CORPUS_DIR --check  compare, write nothing
 *
 * The seeds are built from the chains of gossip_fixture.h (fixed keys and
 * contents, deterministic signatures), the same the engine target loads,
 * so its envelopes are genuine there. Engine seeds are scripts of GOP_*
 * operations named for what they walk through. repro-* files (fuzzer
 * finds) are left alone. Built by CMake; ctest runs the --check form
 * (fuzz.gossip_corpus). */
#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip.h"
#include "gossip_fixture.h"

#define MAX_SEED 65536

struct corpus {
  const char *root;
  bool check;
  int files, mismatches;
  size_t bytes;
};

struct seed {
  uint8_t data[MAX_SEED];
  size_t len;
};

static void die(const char *what) {
  fprintf(stderr, "make_gossip_corpus: %s\n", what);
  exit(1);
}

static void add(struct seed *s, const void *p, size_t n) {
  if (n > sizeof s->data - s->len) die("seed too large");
  if (n > 0) memcpy(s->data + s->len, p, n);
  s->len += n;
}

static void add_byte(struct seed *s, uint8_t b) { add(s, &b, 1); }

static void put(struct corpus *c, const char *dir, const char *name, const struct seed *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", c->root, dir, name);
  c->files++;
  c->bytes += s->len;
  if (c->check) {
    static uint8_t old[MAX_SEED + 1];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(old, 1, sizeof old, f) : 0;
    if (f == NULL || n != s->len || memcmp(old, s->data, n) != 0) {
      fprintf(stderr, "%s: %s\n", path, f == NULL ? strerror(errno) : "differs from what the generator writes");
      c->mismatches++;
    }
    if (f) fclose(f);
    return;
  }
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(s->data, 1, s->len, f) != s->len || fclose(f) != 0) die(path);
}

/* A payload into a seed (frames corpus: the payload is the whole input). */
static void put_payload(struct corpus *c, const char *name, msgpack_sbuffer *sb) {
  static struct seed s;
  s.len = 0;
  add(&s, sb->data, sb->size);
  put(c, "gossip_frames", name, &s);
  msgpack_sbuffer_destroy(sb);
  msgpack_sbuffer_init(sb);
}

/* --- frames ------------------------------------------------------------------ */

static void frames_seeds(struct corpus *c, const struct gfx *f) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  gfx_vector(&sb, true, f, NULL, NULL, 0);
  put_payload(c, "vector-empty", &sb);
  int chains[3] = {GFX_SELF, GFX_PEER, GFX_OTHER};
  uint64_t heads[3] = {3, 3, 5};
  gfx_vector(&sb, false, f, chains, heads, 3);
  put_payload(c, "vector-three-incomplete", &sb);
  gfx_items(&sb, HLS_GF_ITEMS, true, &f->c[GFX_OTHER], 1, 3, 0);
  put_payload(c, "items-other-1-3", &sb);
  gfx_items(&sb, HLS_GF_ITEMS, true, &f->c[GFX_PEER], 1, 4, 0xa);
  put_payload(c, "items-peer-1-4-stubs", &sb);
  gfx_items(&sb, HLS_GF_ITEMS, true, &f->c[GFX_OTHER], 6, 8, 0);
  put_payload(c, "items-other-bad-sig-then-tombstone", &sb);
  gfx_items(&sb, HLS_GF_BODIES, true, &f->c[GFX_PEER], 2, 2, 0);
  put_payload(c, "bodies-peer-2", &sb);
  gfx_items(&sb, HLS_GF_BODIES, false, &f->c[GFX_PEER], 1, 0, 0);
  put_payload(c, "bodies-empty-incomplete", &sb);
  gfx_ack(&sb, f->c[GFX_OTHER].pk, 5);
  put_payload(c, "ack-other-5", &sb);
  gfx_ack(&sb, f->c[GFX_OTHER].pk, 1ull << 40);
  put_payload(c, "ack-uint64-head", &sb);
  uint64_t seqs[3] = {2, 4, 7};
  gfx_want(&sb, seqs, 3);
  put_payload(c, "want-2-4-7", &sb);
  msgpack_sbuffer_destroy(&sb);
}

/* --- engine scripts -------------------------------------------------------------- */

static void op_frame(struct seed *s, msgpack_sbuffer *sb) {
  if (sb->size > 0xffff) die("frame too large for a script");
  add_byte(s, GOP_FRAME);
  add_byte(s, (uint8_t)(sb->size >> 8));
  add_byte(s, (uint8_t)sb->size);
  add(s, sb->data, sb->size);
  msgpack_sbuffer_destroy(sb);
  msgpack_sbuffer_init(sb);
}

static void op(struct seed *s, int o) { add_byte(s, (uint8_t)o); }

static void op_tick(struct seed *s, uint8_t dt) {
  add_byte(s, GOP_TICK);
  add_byte(s, dt);
}

/* ITEMS of chain from..to, cut by the target itself (GOP_CANNED). */
static void op_canned(struct seed *s, int chain, uint64_t from, uint64_t to, bool stubs, bool bodies, bool complete) {
  if (to < from || to - from > 7) die("canned: at most 8 items");
  add_byte(s, GOP_CANNED);
  add_byte(s, (uint8_t)(chain + GFX_CHAINS * (int)(from - 1)));
  add_byte(s, (uint8_t)((to - from) | (stubs ? 0x80 : 0) | (bodies ? 0x40 : 0) | (complete ? 0x20 : 0)));
}

static void items(struct seed *s, msgpack_sbuffer *sb, const struct gfx *f, int chain, uint64_t from, uint64_t to,
                  unsigned stub_mask) {
  gfx_items(sb, HLS_GF_ITEMS, true, &f->c[chain], from, to, stub_mask);
  op_frame(s, sb);
}

/* One ITEMS frame of several runs: chains[i] from[i]..to[i]. */
static void items_runs(struct seed *s, msgpack_sbuffer *sb, const struct gfx *f, const int *chains,
                       const uint64_t *from, const uint64_t *to, size_t n_runs) {
  struct gfx_run runs[GFX_MAX_RUNS];
  if (n_runs > GFX_MAX_RUNS) die("items_runs: too many runs");
  for (size_t i = 0; i < n_runs; i++) runs[i] = (struct gfx_run){.c = &f->c[chains[i]], .from = from[i], .to = to[i]};
  gfx_items_runs(sb, HLS_GF_ITEMS, true, runs, n_runs);
  op_frame(s, sb);
}

/* GOP_CANNED of several runs (chains[i] from[i]..to[i]), full envelopes. */
static void op_canned_runs(struct seed *s, const int *chains, const uint64_t *from, const uint64_t *to,
                           size_t n_runs) {
  add_byte(s, GOP_CANNED);
  for (size_t i = 0; i < n_runs; i++) {
    if (to[i] < from[i] || to[i] - from[i] > 7) die("canned: at most 8 items a run");
    add_byte(s, (uint8_t)(chains[i] + GFX_CHAINS * (int)(from[i] - 1)));
    add_byte(s, (uint8_t)((to[i] - from[i]) | (i + 1 < n_runs ? 0x10 : 0)));
  }
}

static void ack(struct seed *s, msgpack_sbuffer *sb, const struct gfx *f, int chain, uint64_t head) {
  gfx_ack(sb, f->c[chain].pk, head);
  op_frame(s, sb);
}

/* P's vector: it holds these heads of these chains. */
static void vec(struct seed *s, msgpack_sbuffer *sb, const struct gfx *f, const int *chains, const uint64_t *heads,
                size_t n) {
  gfx_vector(sb, true, f, chains, heads, n);
  op_frame(s, sb);
}

static void engine_seeds(struct corpus *c, const struct gfx *f) {
  static struct seed s;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  const int peer_only[1] = {GFX_PEER};
  const uint64_t peer_3[1] = {3}, peer_8[1] = {8};
  const int all3[3] = {GFX_SELF, GFX_PEER, GFX_OTHER};
  const uint64_t all3_heads[3] = {3, 8, 5};

  /* P holds only its own chain: the engine sends SELF and OTHER (window 2,
   * batches of 3); P ACKs; P sends its 4..8; answers the WANT [2]. */
  s.len = 0;
  vec(&s, &sb, f, peer_only, peer_8, 1);
  ack(&s, &sb, f, GFX_SELF, 3);
  ack(&s, &sb, f, GFX_OTHER, 3);
  ack(&s, &sb, f, GFX_OTHER, 5);
  items(&s, &sb, f, GFX_PEER, 4, 6, 0);
  items(&s, &sb, f, GFX_PEER, 7, 8, 0);
  gfx_items(&sb, HLS_GF_BODIES, true, &f->c[GFX_PEER], 2, 2, 0);
  op_frame(&s, &sb);
  op_tick(&s, 1);
  op_tick(&s, 10);
  put(c, "gossip_engine", "p-sync-both-ways", &s);

  /* OTHER 6..8: 6's own signature is broken, 7 vouches for it, 8 is a
   * tombstone of 4; then 9..10. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_OTHER, 6, 8, 0);
  items(&s, &sb, f, GFX_OTHER, 9, 10, 0);
  put(c, "gossip_engine", "other-bad-sig-vouched-tombstone", &s);

  /* The same split so the batch ends on the broken item: refused. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_OTHER, 6, 6, 0);
  items(&s, &sb, f, GFX_OTHER, 6, 7, 0);
  put(c, "gossip_engine", "other-batch-ends-on-bad-sig", &s);

  /* A fork of OTHER at 5, overlapping; then later items ignored. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_FORK, 3, 5, 0);
  items(&s, &sb, f, GFX_OTHER, 6, 7, 0);
  put(c, "gossip_engine", "fork-overlap", &s);

  /* A fork found through the successor 6' (its prev is not our 5). */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_FORK, 6, 6, 0);
  put(c, "gossip_engine", "fork-successor", &s);

  /* New origins: NEW1 fits in max_origins, NEW2 does not (in two
   * batches, the second above a head of 0). */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_NEW1, 1, 3, 0);
  items(&s, &sb, f, GFX_NEW2, 1, 2, 0);
  items(&s, &sb, f, GFX_NEW2, 3, 3, 0);
  put(c, "gossip_engine", "new-origins-and-max", &s);

  /* P asks for SELF's peers story; SELF publishes 4 and 5 (tombstone of 3);
   * P asks for 4. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  uint64_t w2[1] = {2}, w4[2] = {2, 4};
  gfx_want(&sb, w2, 1);
  op_frame(&s, &sb);
  ack(&s, &sb, f, GFX_SELF, 3);
  op(&s, GOP_PUBLISH);
  ack(&s, &sb, f, GFX_SELF, 4);
  op(&s, GOP_PUBLISH);
  ack(&s, &sb, f, GFX_SELF, 5);
  gfx_want(&sb, w4, 2);
  op_frame(&s, &sb);
  gfx_want(&sb, w4, 2);
  op_frame(&s, &sb); /* a second one, perhaps before the first is answered */
  put(c, "gossip_engine", "want-and-publish", &s);

  /* Q, not a direct peer: its WANT gets an empty answer; it relays P's
   * peers body (a violation), then a stub (fine). */
  s.len = 0;
  op(&s, GOP_AS_Q);
  vec(&s, &sb, f, peer_only, peer_3, 1);
  gfx_want(&sb, w2, 1);
  op_frame(&s, &sb);
  items(&s, &sb, f, GFX_PEER, 4, 4, 0);
  items(&s, &sb, f, GFX_PEER, 4, 5, 1);
  put(c, "gossip_engine", "q-relays-peers-body", &s);

  /* The store fails on the first STORE; the session reopens; again. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  op(&s, GOP_FAIL_STORE);
  items(&s, &sb, f, GFX_NEW1, 1, 3, 0);
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_NEW1, 1, 3, 0);
  op(&s, GOP_FAIL_STORE);
  items(&s, &sb, f, GFX_OTHER, 6, 8, 0);
  items(&s, &sb, f, GFX_OTHER, 6, 8, 0);
  put(c, "gossip_engine", "store-failures", &s);

  /* The ERASE of a tombstone fails; then a BODY. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  op(&s, GOP_FAIL_APPLY);
  items(&s, &sb, f, GFX_OTHER, 6, 8, 0);
  items(&s, &sb, f, GFX_OTHER, 6, 8, 0);
  op(&s, GOP_FAIL_APPLY);
  gfx_items(&sb, HLS_GF_BODIES, true, &f->c[GFX_PEER], 2, 2, 0);
  op_frame(&s, &sb);
  op(&s, GOP_AS_P);
  gfx_items(&sb, HLS_GF_BODIES, true, &f->c[GFX_PEER], 2, 2, 0);
  op_frame(&s, &sb);
  put(c, "gossip_engine", "apply-failures", &s);

  /* P's tombstones: 5 erases its story 2 (held as a stub, asked for), 8
   * erases the tombstone 5; then the answer to the WANT arrives. */
  s.len = 0;
  vec(&s, &sb, f, peer_only, peer_8, 1);
  items(&s, &sb, f, GFX_PEER, 4, 5, 0);
  gfx_items(&sb, HLS_GF_BODIES, false, &f->c[GFX_PEER], 2, 2, 0);
  op_frame(&s, &sb);
  items(&s, &sb, f, GFX_PEER, 6, 8, 0);
  items(&s, &sb, f, GFX_PEER, 2, 4, 0);
  put(c, "gossip_engine", "tombstones-and-late-bodies", &s);

  /* The cut-by-the-target forms, and raw junk. */
  s.len = 0;
  op_canned(&s, GFX_OTHER, 4, 8, false, false, false);
  op_canned(&s, GFX_PEER, 2, 6, true, false, false);
  op_canned(&s, GFX_PEER, 2, 2, false, true, true);
  op_canned(&s, GFX_FORK, 5, 6, true, false, false);
  op(&s, GOP_AS_P);
  op_canned(&s, GFX_SELF, 1, 3, false, false, false);
  put(c, "gossip_engine", "canned", &s);

  /* ITEMS frames of several origins (docs/protocol.md 8.1): new items of
   * two, duplicates of one; then P lacks one item each of SELF, OTHER and
   * NEW1, and the engine sends the three runs in one frame; a canned
   * frame of three runs. */
  s.len = 0;
  {
    const int ch[3] = {GFX_NEW1, GFX_OTHER, GFX_PEER};
    const uint64_t from[3] = {1, 6, 1}, to[3] = {3, 8, 3};
    vec(&s, &sb, f, all3, all3_heads, 3);
    items_runs(&s, &sb, f, ch, from, to, 3);
    op(&s, GOP_AS_P);
    const int four[4] = {GFX_SELF, GFX_PEER, GFX_OTHER, GFX_NEW1};
    const uint64_t four_heads[4] = {2, 3, 7, 2};
    vec(&s, &sb, f, four, four_heads, 4);
    const int cc[3] = {GFX_PEER, GFX_NEW1, GFX_OTHER};
    const uint64_t cf[3] = {4, 1, 9}, ct[3] = {6, 3, 10};
    op_canned_runs(&s, cc, cf, ct, 3);
  }
  put(c, "gossip_engine", "multi-run-items", &s);

  /* Frames of several runs that must be refused whole (8.3 step 1): two
   * runs of OTHER (5', 6' then 1, 2, seqs going back: one run that does
   * not link), and OTHER, NEW1, OTHER again. */
  s.len = 0;
  {
    const int cc[2] = {GFX_FORK, GFX_OTHER};
    const uint64_t cf[2] = {5, 1}, ct[2] = {6, 2};
    vec(&s, &sb, f, all3, all3_heads, 3);
    op_canned_runs(&s, cc, cf, ct, 2);
    const int ch[3] = {GFX_OTHER, GFX_NEW1, GFX_OTHER};
    const uint64_t from[3] = {6, 1, 7}, to[3] = {6, 1, 7};
    items_runs(&s, &sb, f, ch, from, to, 3);
  }
  put(c, "gossip_engine", "multi-run-refused", &s);

  /* Fork evidence and store failures. The STORE of the first run of a
   * frame fails, before the run of OTHER's fork (5', 6') is taken: the
   * evidence must be recorded by the tick all the same. */
  s.len = 0;
  {
    const int ch[2] = {GFX_NEW1, GFX_FORK};
    const uint64_t from[2] = {1, 5}, to[2] = {3, 6};
    vec(&s, &sb, f, all3, all3_heads, 3);
    op(&s, GOP_FAIL_STORE);
    items_runs(&s, &sb, f, ch, from, to, 2);
    op_tick(&s, 5);
  }
  put(c, "gossip_engine", "fork-kept-after-store-failure", &s);

  /* The FORK of 6' (its prev is not the 5 held) fails, and so does the
   * tick's first retry; the next tick records it. */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  op(&s, GOP_FAIL_APPLY);
  items(&s, &sb, f, GFX_FORK, 6, 6, 0);
  op(&s, GOP_FAIL_APPLY);
  op_tick(&s, 5);
  op_tick(&s, 5);
  put(c, "gossip_engine", "fork-kept-after-fork-failure", &s);

  s.len = 0;
  static const uint8_t junk[][6] = {{0x91, 0x15}, {0x92, 0x11, 0x90}, {0x93, 0x12, 0xc0, 0x00}, {0xc1}, {0x90}};
  static const size_t junk_len[] = {2, 3, 4, 1, 1};
  for (size_t i = 0; i < sizeof junk_len / sizeof junk_len[0]; i++) {
    add_byte(&s, GOP_FRAME);
    add_byte(&s, 0);
    add_byte(&s, (uint8_t)junk_len[i]);
    add(&s, junk[i], junk_len[i]);
  }
  put(c, "gossip_engine", "junk-frames", &s);

  /* Time passes: deltas and peer exchange (addresses in every profile). */
  s.len = 0;
  vec(&s, &sb, f, all3, all3_heads, 3);
  items(&s, &sb, f, GFX_NEW1, 1, 1, 0);
  for (int i = 0; i < 6; i++) op_tick(&s, 40);
  op(&s, GOP_AS_Q);
  op_tick(&s, 255);
  op_tick(&s, 255);
  put(c, "gossip_engine", "ticks-and-dials", &s);
  msgpack_sbuffer_destroy(&sb);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--check") != 0)) {
    fprintf(stderr, "usage: %s CORPUS_DIR [--check]\n", argv[0]);
    return 2;
  }
  struct corpus c = {.root = argv[1], .check = argc == 3};
  const struct gfx *f = gfx_get();
  frames_seeds(&c, f);
  engine_seeds(&c, f);
  if (c.check) {
    printf("%d seeds checked, %d differ\n", c.files, c.mismatches);
    if (c.mismatches > 0) fprintf(stderr, "regenerate: make_gossip_corpus %s (see tests/fuzz/README.md)\n", argv[1]);
    return c.mismatches == 0 ? 0 : 1;
  }
  printf("%d seeds, %zu bytes\n", c.files, c.bytes);
  return 0;
}
