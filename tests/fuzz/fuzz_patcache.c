/* The saved tests of frozen weeks (protocol/patterns.h, hls_patterns_save
 * and _restore): the bytes hlsd keeps in pattern_tests and gives to the
 * pattern engine at its next start, which a damaged store, an old one or
 * anyone who can write the store's file can make anything.
 *
 * The input is a copy without its head and its checksum: the target puts
 * the head of this build before it (magic, method, version, parameters:
 * those of a copy it saves itself) and the checksum after it, so that the
 * fuzzer reaches the decoder and the seeds stay valid across versions.
 * Then, as hlsd's load does, an engine takes it and the facts of a small
 * world (SEED_*: 5 places in 2 regions, 30 weeks, 3 themes) week by week,
 * 8 at a time, each followed by a check of the copy, an update and a
 * freeze; it saves its own copy and takes it back. The seeds are copies
 * of that world (make_patcache_corpus, built from this file with
 * MAKE_CORPUS, writes them), so that a mutation of their tests, pairs or
 * places still meets facts that match and is taken.
 *
 * Checked, beyond memory safety and leaks: a refused copy is
 * invalid_argument with a reason "patterns: saved tests: ..." (or out of
 * memory), and leaves an engine that frees cleanly; a taken copy's engine
 * updates, freezes and saves without error, and its own copy is taken
 * back. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "hls_pat_engine.h"
#include "patterns.h"

#define SEED_PLACES 5
#define SEED_WEEKS 30
#define SEED_BASE 2920 /* the first week (2025-W51) */
#define SEED_LATE 4    /* the last weeks not frozen */

static void origin_of(int label, uint8_t out[HLS_KEY_BYTES]) {
  memset(out, 0x3c, HLS_KEY_BYTES);
  out[0] = (uint8_t)label;
}

/* The world's facts of week wk (0-based), with variant v's counts. */
static int give_week(struct hls_patterns *pt, int wk, unsigned v) {
  static const char *const themes[3] = {"housing", "loneliness", "transport"};
  for (int l = 0; l < SEED_PLACES; l++) {
    struct hls_digest_cell cells[3];
    memset(cells, 0, sizeof cells);
    size_t n = 0;
    for (int t = 0; t < 3; t++) {
      unsigned x = (unsigned)(wk * 7 + l * 3 + t * 5) * 2654435761u + v;
      if ((x >> 28) % 4 == 0) continue;
      snprintf(cells[n].theme, sizeof cells[n].theme, "%s", themes[t]);
      cells[n].kind = HLS_KIND_PROBLEM;
      cells[n].scale = t == 2 ? HLS_SCALE_PERSON : HLS_SCALE_ORGANISATION;
      cells[n].count = 1 + (x >> 8) % (wk > 20 && l < 3 ? 12 : 4);
      cells[n].withheld = t == 2 && cells[n].count < 3;
      if (cells[n].withheld) cells[n].count = 0;
      n++;
    }
    struct hls_digest d = {.method = {.threshold = 3, .rounding = 2, .kind = HLS_SDC_NEAREST}, .n_cells = n, .cells = cells};
    hls_patterns_iso_week(SEED_BASE + wk, &d.iso_year, &d.iso_week);
    uint8_t o[HLS_KEY_BYTES];
    origin_of(l, o);
    int rc = hls_patterns_digest(pt, o, 10 + (uint64_t)wk, &d);
    if (rc != 0) return rc;
  }
  return 0;
}

/* The world given as hlsd's load gives it, with a check of any copy held
 * before each update. 0 or the first error. */
static int load(struct hls_patterns *pt, unsigned v) {
  for (int l = 0; l < SEED_PLACES; l++) {
    uint8_t o[HLS_KEY_BYTES];
    origin_of(l, o);
    int rc = hls_patterns_place(pt, o, "Place", l % 2 ? "North" : "South");
    if (rc != 0) return rc;
  }
  int32_t last = SEED_BASE + SEED_WEEKS - 1 - SEED_LATE;
  for (int from = 0; from < SEED_WEEKS; from += 8) {
    for (int wk = from; wk < from + 8 && wk < SEED_WEEKS; wk++) {
      int rc = give_week(pt, wk, v);
      if (rc != 0) return rc;
    }
    int32_t next = from + 8 < SEED_WEEKS ? SEED_BASE + from + 8 : INT32_MAX;
    int rc = hls_patterns_restore_check(pt, next);
    if (rc == 0) rc = hls_patterns_update(pt, NULL, NULL);
    if (rc == 0) rc = hls_patterns_freeze(pt, next < last ? next : last);
    if (rc != 0) return rc;
  }
  hls_patterns_restore_end(pt);
  return 0;
}

/* The head of a copy of this build: its bytes before gmin. */
static size_t head_len(void) {
  return 8 + 4 + 4 + strlen(HLS_PAT_ENGINE_ID) + 4 + 8 * (size_t)HLS_PAT_PARAM_COUNT;
}

#ifndef MAKE_CORPUS

#include <sodium.h>

static uint8_t *head(void) {
  static uint8_t *h;
  if (h != NULL) return h;
  struct hls_patterns *pt;
  if (hls_patterns_new(&pt, NULL, NULL) != 0 || load(pt, 0) != 0) abort();
  uint8_t *copy;
  size_t len;
  if (hls_patterns_save(pt, &copy, &len) != 0 || len < head_len()) abort();
  hls_patterns_free(pt);
  h = copy; /* kept for the process */
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t hl = head_len();
  uint8_t *buf = malloc(hl + size + 32);
  FUZZ_CHECK(buf != NULL);
  memcpy(buf, head(), hl);
  if (size > 0) memcpy(buf + hl, data, size);
  crypto_generichash(buf + hl + size, 32, buf, hl + size, NULL, 0);
  struct hls_patterns *pt;
  FUZZ_CHECK(hls_patterns_new(&pt, NULL, NULL) == 0);
  struct hls_why why = {{0}};
  int rc = hls_patterns_restore(pt, buf, hl + size + 32, &why);
  free(buf);
  FUZZ_CHECK(rc == 0 || rc == HLS_EINVAL || rc == HLS_ENOMEM);
  FUZZ_CHECK(strlen(why.text) < sizeof why.text);
  if (rc != 0) {
    if (rc == HLS_EINVAL) FUZZ_CHECK(strncmp(why.text, "patterns: saved tests: ", 23) == 0);
    hls_patterns_free(pt);
    return 0;
  }
  /* the world, with the copy's counts (variant 0) or others (1) */
  rc = load(pt, size % 2);
  FUZZ_CHECK(rc == 0 || rc == HLS_ENOMEM);
  if (rc == 0) {
    uint8_t *copy;
    size_t len;
    FUZZ_CHECK(hls_patterns_save(pt, &copy, &len) == 0);
    struct hls_patterns *again;
    FUZZ_CHECK(hls_patterns_new(&again, NULL, NULL) == 0);
    FUZZ_CHECK(hls_patterns_restore(again, copy, len, NULL) == 0);
    free(copy);
    hls_patterns_free(again);
  }
  hls_patterns_free(pt);
  return 0;
}

#else

/* make_patcache_corpus DIR [--check]: the seeds (the world's copy, and
 * one of the world with other counts), without head and checksum; with
 * --check, exit 1 unless the files in DIR are those. */
int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: make_patcache_corpus DIR [--check]\n");
    return 2;
  }
  bool check = argc > 2 && strcmp(argv[2], "--check") == 0;
  int bad = 0;
  for (unsigned v = 0; v < 2; v++) {
    struct hls_patterns *pt;
    if (hls_patterns_new(&pt, NULL, NULL) != 0 || load(pt, v) != 0) return 1;
    uint8_t *copy;
    size_t len;
    if (hls_patterns_save(pt, &copy, &len) != 0) return 1;
    hls_patterns_free(pt);
    const uint8_t *body = copy + head_len();
    size_t n = len - head_len() - 32;
    char path[4096];
    snprintf(path, sizeof path, "%s/world-%u", argv[1], v);
    if (check) {
      FILE *f = fopen(path, "rb");
      uint8_t *have = malloc(n + 1);
      size_t got = f != NULL && have != NULL ? fread(have, 1, n + 1, f) : 0;
      if (got != n || memcmp(have, body, n) != 0) {
        fprintf(stderr, "%s: not what make_patcache_corpus writes: run it without --check\n", path);
        bad = 1;
      }
      free(have);
      if (f != NULL) fclose(f);
    } else {
      FILE *f = fopen(path, "wb");
      if (f == NULL || fwrite(body, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        return 1;
      }
    }
    free(copy);
  }
  return bad;
}

#endif
