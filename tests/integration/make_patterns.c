/* Writes the signed chains of 30 made-up places with strong, unambiguous
 * planted patterns, for test_patterns.sh (hls import-items DIR).
 *
 *   make_patterns DIR [LAST_WEEK [EXTRA]]
 *
 * Places "Place 00" to "Place 29" (fixed keys), in regions North, South
 * and East (place p in region p % 3), each publish a profile, then for
 * every week 2024-W01 to 2024-W44 a digest (organisation scale, so every
 * count is exact) and, some weeks, a story. With LAST_WEEK (1 to 44) only
 * the items of the weeks up to it are written: the chains' beginnings,
 * byte for byte, so that importing the whole set later adds the rest.
 *
 * Background: six themes every place reports every week (2 to 6 records);
 * nothing changes in them. Planted, far beyond chance:
 *   spread       problem:warm-space-closures, never reported before, is
 *                taken up by Place 00 to Place 11 (four per region) in
 *                2024-W30 (even places) and W31 (odd), then reported once
 *                a week to W33, then no more: the pattern ends (2024-W36);
 *                each place tells a story of it in its first week;
 *   emerging     problem:doorstep-scams, 1 to 3 a week at every place, jumps
 *                to 25-29 a week at Place 02, 05, 12 and 15 from 2024-W42,
 *                and at Place 22 and 25 from W43, to W44 (live at the end:
 *                imported to W42, then to W44, places join it); a story
 *                at each place in its first week of it;
 *   together     problem:mould-in-private-rentals and
 *                practice:tenant-advocacy: every place reports each once in
 *                every aligned 8-week window, in different weeks; in the
 *                windows from 2024-W23 and W31, Place 10 to Place 29 report
 *                both in the same week;
 *   EXTRA        (0 to 1000, default 0) more spread patterns: themes
 *                problem:new-theme-NNN, each reported once by six places
 *                (i + 5j, j = 0..5, mod 30) in 2024-W30, W31 or W32 (i mod 3),
 *                for listings longer than a page.
 * DIR/manifest.json lists the places (name, region, node id) and the
 * plants (signal, themes, places, first and last week). Exit 0, or 1 with
 * a message. */
#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envelope.h"
#include "nodeid.h"
#include "patterns.h"

#define PLACES 30
#define WEEKS 44
#define FIRST_YEAR 2024

static const char *const regions[3] = {"North", "South", "East"};

struct theme_def {
  const char *slug;
  int kind;
};
static const struct theme_def background[] = {
    {"housing", HLS_KIND_PROBLEM},          {"loneliness", HLS_KIND_PROBLEM},
    {"debt", HLS_KIND_PROBLEM},             {"peer-support", HLS_KIND_STRENGTH},
    {"warm-welcome", HLS_KIND_PRACTICE},    {"community-cafe", HLS_KIND_ASPIRATION},
};
#define N_BACKGROUND (sizeof background / sizeof background[0])
static const struct theme_def spread = {"warm-space-closures", HLS_KIND_PROBLEM};
static const struct theme_def emerging = {"doorstep-scams", HLS_KIND_PROBLEM};
static const struct theme_def together_a = {"mould-in-private-rentals", HLS_KIND_PROBLEM};
static const struct theme_def together_b = {"tenant-advocacy", HLS_KIND_PRACTICE};

#define SPREAD_FROM 30
#define SPREAD_TO 33
#define EMERGING_FROM 42
static const int emerging_places[] = {2, 5, 12, 15, 22, 25};
#define TOGETHER_FROM 23 /* 2024-W23 starts an aligned window: week 2840 = 8 x 355 */
#define TOGETHER_TO 38

static void die(const char *what) {
  fprintf(stderr, "make_patterns: %s\n", what);
  exit(1);
}

/* A fixed pseudo-random number of (place, theme, week). */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
static unsigned draw(int place, int theme, int week, unsigned n) {
  return (unsigned)(mix((uint64_t)place << 40 | (uint64_t)theme << 20 | (uint64_t)week) % n);
}

static bool in_spread(int p) { return p < 12; }
static int spread_week(int p) { return p % 2 == 0 ? SPREAD_FROM : SPREAD_FROM + 1; }
static bool in_emerging(int p) {
  for (size_t i = 0; i < sizeof emerging_places / sizeof *emerging_places; i++)
    if (emerging_places[i] == p) return true;
  return false;
}
static int emerging_week(int p) { return p < 20 ? EMERGING_FROM : EMERGING_FROM + 1; }
static bool in_together(int p) { return p >= 10; }

struct place {
  char name[16];
  uint8_t pk[32], sk[64];
  uint64_t seq;
  uint8_t prev[32];
  FILE *out; /* NULL: past LAST_WEEK, nothing more is written */
};

static void emit(struct place *p, int type, const msgpack_sbuffer *body, uint64_t ts) {
  msgpack_sbuffer env;
  msgpack_sbuffer_init(&env);
  p->seq++;
  if (hls_env_build(&env, type, p->sk, p->seq, p->seq > 1 ? p->prev : NULL, ts, HLS_AUD_NETWORK,
                    (const uint8_t *)body->data, body->size) != 0)
    die("hls_env_build");
  struct hls_envelope e;
  if (hls_env_decode(&e, (const uint8_t *)env.data, env.size, NULL) != 0) die("decode");
  memcpy(p->prev, e.id, 32);
  if (p->out && fwrite(env.data, 1, env.size, p->out) != env.size) die("write");
  msgpack_sbuffer_destroy(&env);
}

/* Monday after the week, 09:00 UTC, plus seq seconds (timestamps never go
 * back along a chain). */
static uint64_t week_ts(int week_index, uint64_t seq) {
  int32_t abs_week;
  if (hls_patterns_week(FIRST_YEAR, week_index, &abs_week) != 0) die("week");
  int64_t monday = 7 * (int64_t)abs_week - 3 + 7;
  return (uint64_t)(monday * 86400 + 9 * 3600) * 1000 + seq * 1000;
}

static void add_cell(struct hls_digest_cell *cells, size_t *n, const struct theme_def *t, unsigned count) {
  if (count == 0) return;
  struct hls_digest_cell *c = &cells[(*n)++];
  memset(c, 0, sizeof *c);
  size_t len = strlen(t->slug);
  if (len >= sizeof c->theme) die("theme too long");
  memcpy(c->theme, t->slug, len + 1);
  c->kind = t->kind;
  c->scale = HLS_SCALE_ORGANISATION;
  c->stage = HLS_STAGE_EXPERIMENT;
  c->count = count;
}

static int extra; /* EXTRA */

static bool extra_reports(int i, int p, int w) {
  if (w != SPREAD_FROM + i % 3) return false;
  for (int j = 0; j < 6; j++)
    if ((i + 5 * j) % PLACES == p) return true;
  return false;
}

static void add_digest(struct place *pl, int p, int w) {
  struct hls_digest_cell cells[N_BACKGROUND + 4 + 1000];
  char slugs[1000][32];
  struct theme_def extras[1000];
  size_t n = 0;
  for (size_t t = 0; t < N_BACKGROUND; t++) add_cell(cells, &n, &background[t], 2 + draw(p, (int)t, w, 5));
  if (in_spread(p) && w >= spread_week(p) && w <= SPREAD_TO) add_cell(cells, &n, &spread, 1);
  unsigned scams = 1 + draw(p, 100, w, 3);
  if (in_emerging(p) && w >= emerging_week(p)) scams = 25 + draw(p, 101, w, 5);
  add_cell(cells, &n, &emerging, scams);
  int32_t abs_week;
  if (hls_patterns_week(FIRST_YEAR, w, &abs_week) != 0) die("week");
  int offset = abs_week % 8, a_at = p % 8, b_at = (p + 4) % 8;
  if (in_together(p) && w >= TOGETHER_FROM && w <= TOGETHER_TO) b_at = a_at;
  if (offset == a_at) add_cell(cells, &n, &together_a, 1);
  if (offset == b_at) add_cell(cells, &n, &together_b, 1);
  for (int i = 0; i < extra; i++) {
    if (!extra_reports(i, p, w)) continue;
    snprintf(slugs[i], sizeof slugs[i], "new-theme-%03d", i);
    extras[i] = (struct theme_def){slugs[i], HLS_KIND_PROBLEM};
    add_cell(cells, &n, &extras[i], 1);
  }
  struct hls_digest d = {.iso_year = FIRST_YEAR, .iso_week = w, .method = {10, 5, HLS_SDC_NEAREST}, .n_cells = n, .cells = cells};
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_digest_pack(&b, &d) != 0) die("digest");
  emit(pl, HLS_ENV_DIGEST, &b, week_ts(w, pl->seq + 1));
  msgpack_sbuffer_destroy(&b);
}

static void add_story(struct place *pl, int w, const struct theme_def *t, const char *what) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  s.iso_year = FIRST_YEAR;
  s.iso_week = w;
  snprintf(s.title, sizeof s.title, "%s in %s", what, pl->name);
  s.n_themes = 1;
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "%s", t->slug);
  s.themes[0].kind = t->kind;
  s.scale = HLS_SCALE_ORGANISATION;
  s.stage = HLS_STAGE_REFLECT;
  char learnt[] = "People told us about it at the drop-in";
  s.learnt = learnt;
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (hls_story_pack(&b, &s) != 0) die("story");
  emit(pl, HLS_ENV_STORY, &b, week_ts(w, pl->seq + 1));
  msgpack_sbuffer_destroy(&b);
}

static void write_manifest(const char *dir, struct place *pl) {
  char path[4096];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) die(strerror(errno));
  fprintf(f, "{\"places\": [");
  for (int p = 0; p < PLACES; p++) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(pl[p].pk, id);
    fprintf(f, "%s\n  {\"name\": \"%s\", \"region\": \"%s\", \"node_id\": \"%s\"}", p ? "," : "", pl[p].name,
            regions[p % 3], id);
  }
  fprintf(f, "],\n\"plants\": {\n");
  fprintf(f, "  \"spread\": {\"themes\": [\"%s\"], \"from\": \"2024-W%02d\", \"to\": \"2024-W%02d\", \"places\": [",
          spread.slug, SPREAD_FROM, SPREAD_TO);
  for (int p = 0, k = 0; p < PLACES; p++)
    if (in_spread(p)) fprintf(f, "%s\"%s\"", k++ ? ", " : "", pl[p].name);
  fprintf(f, "]},\n  \"emerging\": {\"themes\": [\"%s\"], \"from\": \"2024-W%02d\", \"to\": \"2024-W%02d\", "
             "\"places\": [",
          emerging.slug, EMERGING_FROM, WEEKS);
  for (int p = 0, k = 0; p < PLACES; p++)
    if (in_emerging(p)) fprintf(f, "%s\"%s\"", k++ ? ", " : "", pl[p].name);
  fprintf(f, "]},\n  \"together\": {\"themes\": [\"%s\", \"%s\"], \"from\": \"2024-W%02d\", \"to\": \"2024-W%02d\", "
             "\"places\": [",
          together_a.slug, together_b.slug, TOGETHER_FROM, TOGETHER_TO);
  for (int p = 0, k = 0; p < PLACES; p++)
    if (in_together(p)) fprintf(f, "%s\"%s\"", k++ ? ", " : "", pl[p].name);
  fprintf(f, "]}\n}}\n");
  if (fclose(f) != 0) die("manifest");
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) die("usage: make_patterns DIR [LAST_WEEK [EXTRA]]");
  if (sodium_init() < 0) die("sodium_init");
  const char *dir = argv[1];
  int last = WEEKS;
  if (argc >= 3) {
    char *end;
    long v = strtol(argv[2], &end, 10);
    if (*end != '\0' || v < 1 || v > WEEKS) die("LAST_WEEK: 1 to 44");
    last = (int)v;
  }
  if (argc == 4) {
    char *end;
    long v = strtol(argv[3], &end, 10);
    if (*end != '\0' || v < 0 || v > 1000) die("EXTRA: 0 to 1000");
    extra = (int)v;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) die(strerror(errno));
  static struct place pl[PLACES];
  for (int p = 0; p < PLACES; p++) {
    struct place *x = &pl[p];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "Place %02d", p);
    uint8_t seed[crypto_sign_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(p * 31 + i * 7 + 1);
    if (crypto_sign_seed_keypair(x->pk, x->sk, seed) != 0) die("keypair");
    char path[4096], hex[65];
    sodium_bin2hex(hex, sizeof hex, x->pk, 32);
    snprintf(path, sizeof path, "%s/%s.items", dir, hex);
    if ((x->out = fopen(path, "wb")) == NULL) die(strerror(errno));
    struct hls_profile pr;
    memset(&pr, 0, sizeof pr);
    snprintf(pr.place, sizeof pr.place, "Place %02d", p);
    snprintf(pr.region, sizeof pr.region, "%s", regions[p % 3]);
    pr.role = HLS_PROFILE_PLACE;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    if (hls_profile_pack(&b, &pr) != 0) die("profile");
    emit(x, HLS_ENV_PROFILE, &b, week_ts(1, 0) - 7 * 86400000ull);
    msgpack_sbuffer_destroy(&b);
    for (int w = 1; w <= last; w++) {
      add_digest(x, p, w);
      if (in_spread(p) && w == spread_week(p)) add_story(x, w, &spread, "Warm spaces closing");
      if (in_emerging(p) && w == emerging_week(p)) add_story(x, w, &emerging, "Doorstep scams after the storm");
    }
    if (fclose(x->out) != 0) die("close");
  }
  write_manifest(dir, pl);
  return 0;
}
