/* Tests of protocol/patterns.c on generated data (tests/gen/placegen.h):
 * 40 places in 5 regions, 52 or 104 weeks from 2024-W01, 60 background
 * themes with Zipf skew and noise (most records at person scale, so most
 * cells withheld), with planted patterns or none.
 *
 *   - plants of the modest style (placegen.h: a change of a background
 *     theme from an onset week) and of the new-themes style (a theme of
 *     each plant's own) are found at the rates stated below, each by its
 *     own signal, on its theme(s), over weeks that overlap the plant's,
 *     with most of its places (test_planted_*);
 *   - a null world (plants = 0) gives few patterns, none of them together
 *     or cross-scale (test_null_world);
 *   - every count a pattern or its lineage reports contains the true
 *     count, withheld cells stay as wide as withholding made them, and
 *     runs whose true counts differ only within what disclosure hides give
 *     identical patterns (test_suppression_*);
 *   - erasing the digests behind a found plant retracts its pattern and
 *     the changes reported are the differences; a later digest of a week
 *     supersedes the earlier one in whatever order they arrive
 *     (test_erasure_*, test_supersede_*);
 *   - updating after every week, or after every place's chain, ends with
 *     what one update gives (test_incremental_*).
 *
 * "test_patterns_planted --measure N [FIRST [NAME=VALUE...]]" runs N seeds
 * from FIRST (default 1) of each plant style and of the null world,
 * generator parameters changed as given (e.g. weeks=104,
 * background_scale=1), and prints the rates: the figures in the comments
 * below come from it (HLS_MEASURE_VERBOSE=1: and each plant not found,
 * with the patterns of its themes). HLS_TEST_FILTER=NAME runs one test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"
#include "disclosure.h"
#include "placegen.h"

#define FIRST_SEED 1
#define PLANT_SEEDS 6   /* seeds of each style in test_planted_* */
#define NULL_SEEDS 6    /* null worlds */
#define TRUTH_SEEDS 2   /* per regime */
#define HIDDEN_SEEDS 1
#define ERASURE_SEEDS 2
#define SUPERSEDE_SEEDS 2

/* --- a world: one generator run, kept in memory, fed to an engine ------------------- */

/* The published interval of one place's theme in one week, folded over
 * scale and stage by the rules of patterns.h (computed here, not taken
 * from the engine). */
struct pub {
  uint32_t lo, hi;
  uint8_t scales;
  uint8_t n_parts, n_withheld;
};

struct story_fact {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  struct hls_story s; /* tried, learnt: NULL */
  size_t n_themes;
  uint32_t themes[HLS_THEMES_PER_RECORD]; /* generator numbers */
  bool erased;
};

struct digest_fact {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  struct hls_digest d; /* cells owned */
};

struct place_fact {
  char name[PLACEGEN_NAME_MAX];
  const char *region; /* static */
};

/* How facts reach the engine. */
enum feed {
  FEED_ONCE,  /* each place's chain in turn, one update at the end */
  FEED_PLACE, /* the same, an update after each place's chain */
  FEED_WEEK,  /* week by week (every place's digest and stories of the week), an update after each week */
};

struct world {
  struct placegen *gen;
  struct placegen_params gp;
  struct hls_patterns *pt;
  struct hls_pat_params prm;
  size_t P, Wk, T;
  int32_t w0;
  uint32_t threshold, rounding;
  uint32_t *raw;   /* [(p * Wk + w) * T + t]: true records, all scales and stages */
  struct pub *pub; /* same index */
  uint64_t *dseq;  /* [p * Wk + w]: the digest's seq, 0 if none */
  uint64_t *last_seq; /* [p] */
  struct place_fact *places; /* [p] */
  struct digest_fact *digests; /* in chain order */
  size_t n_digests, cap_digests;
  struct story_fact *stories; /* in chain order */
  size_t n_stories, cap_stories;
  crypto_generichash_state published; /* every digest as published */
  uint8_t published_hash[32];
  uint32_t *eplace, *etheme; /* engine place / theme number -> generator's */
  size_t n_eplace, n_etheme;
};

static size_t ix3(const struct world *w, uint32_t p, size_t wk, uint32_t t) { return (p * w->Wk + wk) * w->T + t; }

static bool grow(void **arr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * size);
  if (p == NULL) return false;
  *arr = p;
  *cap = c;
  return true;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

static int on_place(void *ctx, const struct placegen_place *pl) {
  struct world *w = ctx;
  snprintf(w->places[pl->index].name, sizeof w->places[pl->index].name, "%s", pl->name);
  w->places[pl->index].region = pl->region;
  return 0;
}

static int on_raw(void *ctx, uint32_t place, int32_t week, uint32_t theme, int scale, int stage, uint32_t raw) {
  struct world *w = ctx;
  (void)scale, (void)stage;
  w->raw[ix3(w, place, (size_t)(week - w->w0), theme)] += raw;
  return 0;
}

static void pub_add(struct pub *pb, const struct hls_digest_method *m, const struct hls_digest_cell *c) {
  uint32_t lo, hi;
  /* The interval itself is checked against hls_disclose in test_disclosure;
   * here it is summed, and the truth must lie inside the sum. */
  hls_disclosure_bounds(m, c->scale, c->withheld, c->count, &lo, &hi);
  pb->lo += lo;
  pb->hi += hi;
  pb->scales |= (uint8_t)(1u << c->scale);
  pb->n_parts++;
  pb->n_withheld += c->withheld;
}

static int on_digest(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d) {
  struct world *w = ctx;
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) return HLS_EINVAL;
  size_t wk = (size_t)(week - w->w0);
  w->dseq[pl->index * w->Wk + wk] = seq;
  uint8_t head[16] = {0};
  memcpy(head, &pl->index, 4);
  memcpy(head + 4, &week, 4);
  crypto_generichash_update(&w->published, head, sizeof head);
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    int t = placegen_theme_find(w->gen, c->theme, c->kind);
    if (t < 0) return HLS_EINVAL;
    pub_add(&w->pub[ix3(w, pl->index, wk, (uint32_t)t)], &d->method, c);
    int32_t v[5] = {c->kind, c->scale, c->stage, c->withheld, (int32_t)c->count};
    crypto_generichash_update(&w->published, (const uint8_t *)c->theme, strlen(c->theme) + 1);
    crypto_generichash_update(&w->published, (const uint8_t *)v, sizeof v);
  }
  if (!GROW(w->digests, w->cap_digests, w->n_digests + 1)) return HLS_ENOMEM;
  struct digest_fact *k = &w->digests[w->n_digests];
  k->place = pl->index;
  k->week = week;
  k->seq = seq;
  k->d = *d;
  k->d.cells = malloc((d->n_cells ? d->n_cells : 1) * sizeof *d->cells);
  if (k->d.cells == NULL) return HLS_ENOMEM;
  memcpy(k->d.cells, d->cells, d->n_cells * sizeof *d->cells);
  w->n_digests++;
  return 0;
}

static int on_story(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s) {
  struct world *w = ctx;
  if (!GROW(w->stories, w->cap_stories, w->n_stories + 1)) return HLS_ENOMEM;
  struct story_fact *f = &w->stories[w->n_stories++];
  memset(f, 0, sizeof *f);
  f->place = pl->index;
  if (hls_patterns_week(s->iso_year, s->iso_week, &f->week) != 0) return HLS_EINVAL;
  f->seq = seq;
  f->s = *s;
  f->s.tried = f->s.learnt = NULL;
  f->n_themes = s->n_themes;
  for (size_t i = 0; i < s->n_themes; i++) {
    int t = placegen_theme_find(w->gen, s->themes[i].slug, (int)s->themes[i].kind);
    if (t < 0) return HLS_EINVAL;
    f->themes[i] = (uint32_t)t;
  }
  return 0;
}

static int on_place_end(void *ctx, const struct placegen_place *pl, uint64_t last_seq) {
  struct world *w = ctx;
  w->last_seq[pl->index] = last_seq;
  return 0;
}

static const struct placegen_sink world_sink = {
    .on_place = on_place, .on_raw = on_raw, .on_digest = on_digest, .on_story = on_story,
    .on_place_end = on_place_end};

/* Engine numbers to generator numbers (themes and places are interned as
 * facts arrive). */
static void world_maps(struct world *w) {
  struct hls_pat_stats st;
  hls_patterns_stats(w->pt, &st);
  free(w->eplace);
  free(w->etheme);
  w->eplace = malloc((st.places + 1) * sizeof *w->eplace);
  w->etheme = malloc((st.themes + 1) * sizeof *w->etheme);
  assert_non_null(w->eplace);
  assert_non_null(w->etheme);
  w->n_eplace = st.places;
  w->n_etheme = st.themes;
  for (uint32_t e = 0; e < st.places; e++) {
    struct hls_pat_place_info info;
    assert_int_equal(hls_patterns_place_info(w->pt, e, &info), 0);
    w->eplace[e] = UINT32_MAX;
    for (uint32_t p = 0; p < w->P; p++)
      if (memcmp(placegen_place(w->gen, p)->pk, info.origin, HLS_KEY_BYTES) == 0) w->eplace[e] = p;
    assert_int_not_equal(w->eplace[e], UINT32_MAX);
  }
  for (uint32_t e = 0; e < st.themes; e++) {
    const char *name;
    int kind;
    assert_int_equal(hls_patterns_theme_info(w->pt, e, &name, &kind), 0);
    int t = placegen_theme_find(w->gen, name, kind);
    assert_true(t >= 0);
    w->etheme[e] = (uint32_t)t;
  }
}

static void world_free(struct world *w) {
  if (w == NULL) return;
  placegen_free(w->gen);
  hls_patterns_free(w->pt);
  free(w->raw);
  free(w->pub);
  free(w->dseq);
  free(w->last_seq);
  free(w->places);
  for (size_t i = 0; i < w->n_digests; i++) free(w->digests[i].d.cells);
  free(w->digests);
  free(w->stories);
  free(w->eplace);
  free(w->etheme);
  free(w);
}

static const uint8_t *pk_of(const struct world *w, uint32_t place) { return placegen_place(w->gen, place)->pk; }

static void give_digest(const struct world *w, struct hls_patterns *pt, const struct digest_fact *k) {
  assert_int_equal(hls_patterns_digest(pt, pk_of(w, k->place), k->seq, &k->d), 0);
}

static void give_story(const struct world *w, struct hls_patterns *pt, const struct story_fact *f) {
  assert_int_equal(hls_patterns_story(pt, pk_of(w, f->place), f->seq, &f->s), 0);
}

static void give_place(const struct world *w, struct hls_patterns *pt, uint32_t p) {
  assert_int_equal(hls_patterns_place(pt, pk_of(w, p), w->places[p].name, w->places[p].region), 0);
}

/* Feed every fact of the world to pt, as mode says. */
static void world_feed(const struct world *w, struct hls_patterns *pt, enum feed mode) {
  if (mode == FEED_WEEK) {
    for (uint32_t p = 0; p < w->P; p++) give_place(w, pt, p);
    for (int32_t wk = w->w0; wk < w->w0 + (int32_t)w->Wk; wk++) {
      for (size_t i = 0; i < w->n_digests; i++)
        if (w->digests[i].week == wk) give_digest(w, pt, &w->digests[i]);
      for (size_t i = 0; i < w->n_stories; i++)
        if (w->stories[i].week == wk) give_story(w, pt, &w->stories[i]);
      assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    }
  } else {
    /* Chain order: a place's profile, then its digests and stories in
     * seq order (the generator gives them so). */
    size_t d = 0, s = 0;
    for (uint32_t p = 0; p < w->P; p++) {
      give_place(w, pt, p);
      while (d < w->n_digests || s < w->n_stories) {
        bool dp = d < w->n_digests && w->digests[d].place == p, sp = s < w->n_stories && w->stories[s].place == p;
        if (!dp && !sp) break;
        if (dp && (!sp || w->digests[d].seq < w->stories[s].seq)) give_digest(w, pt, &w->digests[d++]);
        else give_story(w, pt, &w->stories[s++]);
      }
      if (mode == FEED_PLACE) assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    }
    assert_int_equal(d, w->n_digests);
    assert_int_equal(s, w->n_stories);
  }
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(pt));
}

/* Generate with gp; feed it all to a new engine (default parameters) as
 * mode says. */
static struct world *world_new(const struct placegen_params *gp, enum feed mode) {
  struct world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  struct hls_why why = {{0}};
  w->gp = *gp;
  if (placegen_new(&w->gen, gp, &why) != 0) fail_msg("placegen: %s", why.text);
  hls_pat_params_default(&w->prm);
  assert_int_equal(gp->window_weeks, w->prm.together_weeks); /* plants aligned with together's windows */
  w->P = placegen_n_places(w->gen);
  w->Wk = (size_t)gp->weeks;
  w->T = placegen_n_themes(w->gen);
  w->w0 = placegen_first_week(w->gen);
  w->threshold = gp->threshold;
  w->rounding = gp->rounding;
  w->raw = calloc(w->P * w->Wk * w->T, sizeof *w->raw);
  w->pub = calloc(w->P * w->Wk * w->T, sizeof *w->pub);
  w->dseq = calloc(w->P * w->Wk, sizeof *w->dseq);
  w->last_seq = calloc(w->P, sizeof *w->last_seq);
  w->places = calloc(w->P, sizeof *w->places);
  assert_true(w->raw && w->pub && w->dseq && w->last_seq && w->places);
  crypto_generichash_init(&w->published, NULL, 0, sizeof w->published_hash);
  struct placegen_sink sink = world_sink;
  sink.ctx = w;
  int rc = placegen_run(w->gen, &sink);
  if (rc != 0) fail_msg("placegen_run: %s", hls_strerror(rc));
  crypto_generichash_final(&w->published, w->published_hash, sizeof w->published_hash);
  assert_int_equal(hls_patterns_new(&w->pt, &w->prm, &why), 0);
  world_feed(w, w->pt, mode);
  world_maps(w);
  return w;
}

static void gen_params(struct placegen_params *gp, uint64_t seed, int style) {
  placegen_params_default(gp);
  gp->seed = seed;
  gp->plant_style = style;
}

/* --- snapshots: every pattern, in generator numbers --------------------------------- */

struct snap_pat {
  uint8_t id[HLS_PAT_ID_BYTES];
  int signal;
  uint32_t theme, theme2; /* generator numbers; theme2 UINT32_MAX if none */
  char region[HLS_REGION_MAX + 1];
  int32_t week_from, week_to;
  bool live;
  double p, strength, p_now, score, score2;
  uint64_t lo, hi;
  unsigned scales;
  size_t n_places;
  uint32_t *places; /* generator numbers, sorted */
  size_t n_stories;
};

struct snapshot {
  struct snap_pat *v;
  size_t n, cap;
};

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static void snap_from(const struct world *w, const struct hls_pattern *p, struct snap_pat *s) {
  memcpy(s->id, p->id, HLS_PAT_ID_BYTES);
  s->signal = p->signal;
  assert_true(p->theme < w->n_etheme);
  s->theme = w->etheme[p->theme];
  s->theme2 = p->theme2 == HLS_PAT_NONE ? UINT32_MAX : w->etheme[p->theme2];
  snprintf(s->region, sizeof s->region, "%s", p->region);
  s->week_from = p->week_from;
  s->week_to = p->week_to;
  s->live = p->live;
  s->p = p->p;
  s->strength = p->strength;
  s->p_now = p->p_now;
  s->score = p->score;
  s->score2 = p->score2;
  s->lo = p->lo;
  s->hi = p->hi;
  s->scales = p->scales;
  s->n_places = p->n_places;
  s->places = malloc((p->n_places + 1) * sizeof *s->places);
  assert_non_null(s->places);
  for (size_t i = 0; i < p->n_places; i++) {
    assert_true(p->places[i] < w->n_eplace);
    s->places[i] = w->eplace[p->places[i]];
  }
  qsort(s->places, s->n_places, sizeof *s->places, u32_cmp);
  s->n_stories = p->n_stories;
}

struct snap_ctx {
  const struct world *w;
  struct snapshot *s;
};

static int snap_each(void *ctx, const struct hls_pattern *p) {
  struct snap_ctx *c = ctx;
  assert_true(GROW(c->s->v, c->s->cap, c->s->n + 1));
  snap_from(c->w, p, &c->s->v[c->s->n++]);
  return 0;
}

/* pt: w->pt, or another engine fed the same world. */
static void snapshot_of(struct world *w, struct hls_patterns *pt, struct snapshot *s) {
  struct hls_patterns *keep = w->pt;
  w->pt = pt;
  world_maps(w);
  memset(s, 0, sizeof *s);
  struct snap_ctx c = {w, s};
  assert_int_equal(hls_patterns_each(pt, snap_each, &c), 0);
  for (size_t i = 1; i < s->n; i++) assert_true(memcmp(s->v[i - 1].id, s->v[i].id, HLS_PAT_ID_BYTES) < 0);
  w->pt = keep;
  world_maps(w);
}

static void snapshot_take(struct world *w, struct snapshot *s) { snapshot_of(w, w->pt, s); }

static void snapshot_free(struct snapshot *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i].places);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static const struct snap_pat *snap_find(const struct snapshot *s, const uint8_t id[HLS_PAT_ID_BYTES]) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(s->v[mid].id, id, HLS_PAT_ID_BYTES);
    if (c == 0) return &s->v[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* Equal: every field; eps bounds the difference of p and strength
 * (relative) and of the scores. */
static bool snap_same(const struct snap_pat *a, const struct snap_pat *b, double eps) {
  return memcmp(a->id, b->id, HLS_PAT_ID_BYTES) == 0 && a->signal == b->signal && a->theme == b->theme &&
         a->theme2 == b->theme2 && strcmp(a->region, b->region) == 0 && a->week_from == b->week_from &&
         a->week_to == b->week_to && a->live == b->live && fabs(a->strength - b->strength) <= eps &&
         fabs(a->score - b->score) <= eps && fabs(a->score2 - b->score2) <= eps && a->lo == b->lo && a->hi == b->hi &&
         a->scales == b->scales && a->n_places == b->n_places && a->n_stories == b->n_stories &&
         memcmp(a->places, b->places, a->n_places * sizeof *a->places) == 0;
}

static bool snap_equal(const struct snap_pat *a, const struct snap_pat *b) {
  return snap_same(a, b, 0) && a->p == b->p && a->p_now == b->p_now;
}

static const char *theme_name(const struct world *w, uint32_t t, char *buf, size_t size) {
  if (t == UINT32_MAX) return "-";
  const struct placegen_theme *th = placegen_theme(w->gen, t);
  snprintf(buf, size, "%s:%s", hls_kind_name((enum hls_kind)th->kind), th->slug);
  return buf;
}

static void snap_print(const struct world *w, const struct snap_pat *p) {
  char a[100], b[100];
  printf("  %-11s %s %s%s%s weeks %d..%d%s p %.3g (now %.3g) strength %.4f score %.3f/%.3f count %llu..%llu "
         "scales %x stories %zu places",
         hls_pat_signal_name(p->signal), theme_name(w, p->theme, a, sizeof a), theme_name(w, p->theme2, b, sizeof b),
         p->region[0] ? " in " : "", p->region, p->week_from - w->w0, p->week_to - w->w0, p->live ? " live" : "", p->p,
         p->p_now, p->strength, p->score, p->score2, (unsigned long long)p->lo, (unsigned long long)p->hi, p->scales,
         p->n_stories);
  for (size_t i = 0; i < p->n_places; i++) printf(" %u", p->places[i]);
  printf("\n");
}

static void snapshots_assert_same(const struct world *w, const struct snapshot *a, const struct snapshot *b,
                                  double eps) {
  for (size_t i = 0; i < a->n || i < b->n; i++) {
    if (i < a->n && i < b->n && (eps == 0 ? snap_equal(&a->v[i], &b->v[i]) : snap_same(&a->v[i], &b->v[i], eps)))
      continue;
    printf("first difference at pattern %zu of %zu / %zu:\n", i, a->n, b->n);
    if (i < a->n) snap_print(w, &a->v[i]);
    if (i < b->n) snap_print(w, &b->v[i]);
    if (i < a->n && i < b->n)
      printf("  strength %.12g / %.12g, scores %a %a / %a %a\n", a->v[i].strength, b->v[i].strength, a->v[i].score,
             a->v[i].score2, b->v[i].score, b->v[i].score2);
    fail_msg("pattern sets differ");
  }
}

/* --- truth: every pattern against the generator's counts ---------------------------- */

static bool sorted_has(const uint32_t *v, size_t n, uint32_t x) {
  return bsearch(&x, v, n, sizeof *v, u32_cmp) != NULL;
}

static size_t week_ix(const struct world *w, int32_t week) {
  assert_true(week >= w->w0 && week < w->w0 + (int32_t)w->Wk);
  return (size_t)(week - w->w0);
}

struct lineage_check {
  const struct world *w;
  const struct snap_pat *p;
  size_t cells, stories, withheld;
};

static int lineage_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lineage_check *lc = ctx;
  const struct world *w = lc->w;
  uint32_t place = w->eplace[c->place], theme = w->etheme[c->theme];
  size_t wk = week_ix(w, c->week);
  size_t i = ix3(w, place, wk, theme);
  const struct pub *pb = &w->pub[i];
  uint32_t truth = w->raw[i];
  assert_true(sorted_has(lc->p->places, lc->p->n_places, place));
  assert_true(theme == lc->p->theme || theme == lc->p->theme2);
  assert_true(c->week >= lc->p->week_from && c->week <= lc->p->week_to);
  assert_int_equal(c->seq, w->dseq[place * w->Wk + wk]);
  assert_true(pb->n_parts > 0);
  assert_int_equal(c->lo, pb->lo);
  assert_int_equal(c->hi, pb->hi);
  assert_int_equal(c->scales, pb->scales);
  assert_int_equal(c->withheld, pb->n_withheld > 0);
  if (truth < c->lo || truth > c->hi)
    fail_msg("lineage cell place %u week %d theme %u: true %u outside [%u, %u]", place, c->week, theme, truth, c->lo,
             c->hi);
  if (c->withheld) {
    /* No leak: a withheld part keeps the whole cell at least as uncertain
     * as withholding made it. */
    assert_true(c->lo >= 1);
    assert_true(c->hi - c->lo >= w->threshold - 2);
    if (pb->n_parts == 1) {
      /* hls-sdc-2 (placegen's default, as hlsd publishes): [1, t + r - 2]. */
      assert_int_equal(c->lo, 1);
      assert_int_equal(c->hi, w->threshold + w->rounding - 2);
    }
    lc->withheld++;
  }
  lc->cells++;
  return 0;
}

static bool story_names(const struct story_fact *f, uint32_t theme) {
  for (size_t i = 0; i < f->n_themes; i++)
    if (f->themes[i] == theme) return true;
  return false;
}

static int lineage_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct lineage_check *lc = ctx;
  const struct world *w = lc->w;
  uint32_t place = w->eplace[s->place];
  const struct story_fact *f = NULL;
  for (size_t i = 0; i < w->n_stories && f == NULL; i++)
    if (w->stories[i].place == place && w->stories[i].seq == s->seq) f = &w->stories[i];
  assert_non_null(f);
  assert_false(f->erased);
  assert_int_equal(f->week, s->week);
  assert_string_equal(f->s.title, s->title);
  assert_true(story_names(f, lc->p->theme));
  if (lc->p->theme2 != UINT32_MAX) assert_true(story_names(f, lc->p->theme2));
  assert_true(sorted_has(lc->p->places, lc->p->n_places, place));
  assert_true(s->week >= lc->p->week_from && s->week <= lc->p->week_to);
  lc->stories++;
  return 0;
}

/* Check one pattern (ep, the engine's; p, its snapshot) against the truth:
 *   - p in [0, 1], strength -log10 p, p_now no smaller; region only for
 *     rising, and then its places' region;
 *   - its counts are the published intervals of its theme(s) at its places
 *     in its weeks, and contain the true count; its scales theirs;
 *   - every place of it reported its theme (together: both themes in one
 *     week) in its weeks or the rising_weeks before (a test looks back);
 *   - its lineage: exactly those cells, each checked by lineage_cell, and
 *     the stories naming its theme(s) from its places in its weeks.
 * Returns the lineage cells with a withheld part. */
static size_t check_truth(const struct world *w, const struct hls_pattern *ep, const struct snap_pat *p) {
  assert_true(p->week_from <= p->week_to);
  assert_true(p->week_to < w->w0 + (int32_t)w->Wk && p->week_from >= w->w0);
  if (!(isfinite(p->p) && p->p >= 0 && p->p <= 1 && p->p_now >= p->p && p->p_now <= 1))
    fail_msg("p %g, p_now %g", p->p, p->p_now);
  double want = p->p < 1e-300 ? 300 : -log10(p->p);
  if (!(fabs(p->strength - want) <= 1e-9 * (1 + want))) fail_msg("p %g, strength %.12g", p->p, p->strength);
  assert_int_equal(p->region[0] != '\0', p->signal == HLS_PAT_RISING);
  assert_int_equal(p->theme2 != UINT32_MAX, p->signal == HLS_PAT_TOGETHER);
  size_t a = week_ix(w, p->week_from), b = week_ix(w, p->week_to);
  size_t back = (size_t)w->prm.rising_weeks;
  uint64_t truth = 0, lo = 0, hi = 0, n_cells = 0;
  unsigned scales = 0;
  uint32_t th[2] = {p->theme, p->theme2};
  size_t nt = p->theme2 == UINT32_MAX ? 1 : 2;
  for (size_t k = 0; k < p->n_places; k++) {
    uint32_t pl = p->places[k];
    if (p->signal == HLS_PAT_RISING) assert_string_equal(w->places[pl].region, p->region);
    for (size_t t = 0; t < nt; t++)
      for (size_t wk = a; wk <= b; wk++) {
        size_t i = ix3(w, pl, wk, th[t]);
        if (w->raw[i] == 0) {
          assert_int_equal(w->pub[i].n_parts, 0); /* absent means no records */
          continue;
        }
        truth += w->raw[i];
        lo += w->pub[i].lo;
        hi += w->pub[i].hi;
        scales |= w->pub[i].scales;
        n_cells++;
      }
    bool reported = false;
    for (size_t wk = a >= back ? a - back : 0; wk <= b && !reported; wk++) {
      bool all = true;
      for (size_t t = 0; t < nt; t++) all &= w->raw[ix3(w, pl, wk, th[t])] > 0;
      reported = all;
    }
    if (!reported) {
      snap_print(w, p);
      fail_msg("place %u of the pattern did not report its theme(s) in or just before its weeks", pl);
    }
  }
  if (truth < p->lo || truth > p->hi || p->lo != lo || p->hi != hi) {
    snap_print(w, p);
    fail_msg("true count %llu, published interval [%llu, %llu], pattern says [%llu, %llu]",
             (unsigned long long)truth, (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)p->lo,
             (unsigned long long)p->hi);
  }
  assert_int_equal(p->scales, scales);
  struct lineage_check lc = {w, p, 0, 0, 0};
  assert_int_equal(hls_patterns_lineage(w->pt, ep, lineage_cell, lineage_story, &lc), 0);
  assert_int_equal(lc.cells, n_cells);
  assert_int_equal(lc.stories, p->n_stories);
  size_t stories = 0;
  for (size_t i = 0; i < w->n_stories; i++) {
    const struct story_fact *f = &w->stories[i];
    if (!f->erased && f->week >= p->week_from && f->week <= p->week_to && story_names(f, p->theme) &&
        (p->theme2 == UINT32_MAX || story_names(f, p->theme2)) && sorted_has(p->places, p->n_places, f->place))
      stories++;
  }
  assert_int_equal(p->n_stories, stories);
  return lc.withheld;
}

struct truth_totals {
  const struct world *w;
  size_t patterns, withheld_cells;
};

static int truth_each(void *ctx, const struct hls_pattern *ep) {
  struct truth_totals *t = ctx;
  struct snap_pat p;
  snap_from(t->w, ep, &p);
  t->withheld_cells += check_truth(t->w, ep, &p);
  t->patterns++;
  free(p.places);
  return 0;
}

/* Check every pattern; returns the lineage cells with a withheld part. */
static size_t check_all_truth(struct world *w, size_t *patterns) {
  world_maps(w);
  struct truth_totals t = {w, 0, 0};
  assert_int_equal(hls_patterns_each(w->pt, truth_each, &t), 0);
  if (patterns != NULL) *patterns = t.patterns;
  return t.withheld_cells;
}

/* --- planted patterns ---------------------------------------------------------------- */

/* How well pattern p shows plant pl: 0 if it is not on it (the plant's
 * signal unless any_signal, its theme(s), together in either order, weeks
 * overlapping the plant's), else the share of the plant's places among
 * its places (>= 1/n: at least one). */
static double plant_cover(const struct snap_pat *p, const struct placegen_plant *pl, bool any_signal) {
  if (!any_signal && p->signal != pl->signal) return 0;
  if (pl->n_themes == 2) {
    if (!((p->theme == pl->themes[0] && p->theme2 == pl->themes[1]) ||
          (p->theme == pl->themes[1] && p->theme2 == pl->themes[0])))
      return 0;
  } else if (p->theme != pl->themes[0] || (!any_signal && p->theme2 != UINT32_MAX)) {
    return 0;
  }
  if (p->week_to < pl->week_from || p->week_from > pl->week_to) return 0;
  size_t in = 0;
  for (size_t k = 0; k < pl->n_places; k++) in += sorted_has(p->places, p->n_places, pl->places[k]);
  return pl->n_places ? (double)in / (double)pl->n_places : 0;
}

/* The pattern that best shows plant pl (most of its places), or NULL. */
static const struct snap_pat *plant_best(const struct snapshot *s, const struct placegen_plant *pl, bool any_signal,
                                         double *cover) {
  const struct snap_pat *best = NULL;
  *cover = 0;
  for (size_t i = 0; i < s->n; i++) {
    double c = plant_cover(&s->v[i], pl, any_signal);
    if (c > *cover) *cover = c, best = &s->v[i];
  }
  return best;
}

/* A pattern on no plant's theme. */
static bool on_background(const struct world *w, const struct snap_pat *p) {
  for (size_t i = 0; i < placegen_n_plants(w->gen); i++) {
    const struct placegen_plant *pl = placegen_plant(w->gen, i);
    for (size_t t = 0; t < pl->n_themes; t++)
      if (p->theme == pl->themes[t] || p->theme2 == pl->themes[t]) return false;
  }
  return true;
}

static void plant_print(const struct world *w, const struct placegen_plant *pl, const struct snapshot *s) {
  char a[100], b[100];
  printf("planted %s on %s %s weeks %d..%d places", hls_pat_signal_name(pl->signal),
         theme_name(w, pl->themes[0], a, sizeof a), pl->n_themes == 2 ? theme_name(w, pl->themes[1], b, sizeof b) : "",
         pl->week_from - w->w0, pl->week_to - w->w0);
  for (size_t k = 0; k < pl->n_places; k++) printf(" %u", pl->places[k]);
  printf("\npatterns of its theme(s):\n");
  for (size_t i = 0; i < s->n; i++)
    for (size_t t = 0; t < pl->n_themes; t++)
      if (s->v[i].theme == pl->themes[t] || s->v[i].theme2 == pl->themes[t]) {
        snap_print(w, &s->v[i]);
        break;
      }
}

/* What a run of seeds found. */
struct rates {
  uint64_t worlds;
  uint64_t planted[HLS_PAT_SIGNAL_COUNT];
  uint64_t found[HLS_PAT_SIGNAL_COUNT];      /* by its signal, at least half its places */
  uint64_t found80[HLS_PAT_SIGNAL_COUNT];    /* by its signal, at least 80% of its places */
  uint64_t any_signal[HLS_PAT_SIGNAL_COUNT]; /* by any signal on its theme(s), at least one place */
  double cover[HLS_PAT_SIGNAL_COUNT];        /* sum of the best cover by its signal */
  uint64_t background[HLS_PAT_SIGNAL_COUNT]; /* patterns on no plant's theme */
  uint64_t patterns;
};

static void rates_add(const struct world *w, const struct snapshot *s, struct rates *r, bool verbose) {
  r->worlds++;
  r->patterns += s->n;
  for (size_t i = 0; i < s->n; i++)
    if (on_background(w, &s->v[i])) r->background[s->v[i].signal]++;
  for (size_t i = 0; i < placegen_n_plants(w->gen); i++) {
    const struct placegen_plant *pl = placegen_plant(w->gen, i);
    double c, ca;
    (void)plant_best(s, pl, false, &c);
    (void)plant_best(s, pl, true, &ca);
    r->planted[pl->signal]++;
    r->found[pl->signal] += c >= 0.5;
    r->found80[pl->signal] += c >= 0.8;
    r->any_signal[pl->signal] += ca > 0;
    r->cover[pl->signal] += c;
    if (verbose && c < 0.5) {
      printf("seed %llu: ", (unsigned long long)w->gp.seed);
      plant_print(w, pl, s);
    }
  }
}

static void rates_print(const char *title, const struct rates *r) {
  printf("%s, %llu worlds:\n", title, (unsigned long long)r->worlds);
  printf("  %-11s %9s %9s %9s %9s %11s\n", "signal", "found", ">=80%", "cover", "any sig.", "background");
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) {
    uint64_t n = r->planted[s];
    printf("  %-11s %4llu/%-4llu %4llu/%-4llu %8.0f%% %4llu/%-4llu %11.2f\n", hls_pat_signal_name(s),
           (unsigned long long)r->found[s], (unsigned long long)n, (unsigned long long)r->found80[s],
           (unsigned long long)n, n ? 100.0 * r->cover[s] / (double)n : 0, (unsigned long long)r->any_signal[s],
           (unsigned long long)n, r->worlds ? (double)r->background[s] / (double)r->worlds : 0);
  }
  printf("  (found: a pattern of its signal on its theme(s) over weeks overlapping its own, with at least half its\n"
         "   places; cover: the mean share of its places in the best such pattern; any sig.: a pattern of any\n"
         "   signal on its theme(s) over its weeks; background: patterns on no plant's theme, per world)\n");
}

/* The plants of each style, over PLANT_SEEDS seeds of 52 weeks (local
 * themes 3, so that the modest style plants spread too): what is found,
 * every pattern checked against the truth (check_truth).
 *
 * Measured with --measure 20 1 local_themes=3 (and weeks=104; and
 * background_scale=1, every background record at organisation scale):
 *   modest      spread 20/20 with all its places (52 and 104 weeks, both
 *               regimes); emerging, rising and together 0/20 in every
 *               case; cross-scale 0/20, 5/20 at 104 weeks exact;
 *   new themes  spread 4/20 (8/20 at 104 weeks: a window in the first
 *               ~20 weeks has no history to test against, and later ones
 *               are found only when 3 or more places take the theme up
 *               within 4 weeks); emerging, rising, together, cross-scale
 *               0/20 by their own signal (emerging's jump places have no
 *               baseline of the theme: 6/20 are found as spread; rising's
 *               places are not a region; together's pair, p about 1e-4, is
 *               one of about 1,800 pairs tested that week).
 * So the modest spread is asserted in every seed, and for the rest what
 * these seeds give (a floor, not a target: issue 12 asks for every plant
 * within 2 weeks). */
static void planted_run(int style, struct rates *r) {
  memset(r, 0, sizeof *r);
  for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + PLANT_SEEDS; seed++) {
    struct placegen_params gp;
    gen_params(&gp, seed, style);
    gp.local_themes = 3;
    struct world *w = world_new(&gp, FEED_ONCE);
    assert_int_equal(placegen_n_plants(w->gen), HLS_PAT_SIGNAL_COUNT);
    struct snapshot s;
    snapshot_take(w, &s);
    rates_add(w, &s, r, false);
    size_t n;
    (void)check_all_truth(w, &n);
    assert_int_equal(n, s.n);
    for (size_t i = 0; i < placegen_n_plants(w->gen); i++) {
      const struct placegen_plant *pl = placegen_plant(w->gen, i);
      double c;
      const struct snap_pat *p = plant_best(&s, pl, false, &c);
      if (p != NULL && pl->signal == HLS_PAT_SPREAD) {
        /* Few places but the plant's: a local theme's own users may take
         * it up late too (seed 4 of the modest style: one). */
        size_t extra = 0;
        for (size_t k = 0; k < p->n_places; k++) extra += !sorted_has(pl->places, pl->n_places, p->places[k]);
        if (extra > 2) {
          plant_print(w, pl, &s);
          fail_msg("seed %llu: a spread pattern with %zu places the plant did not take up", (unsigned long long)seed,
                   extra);
        }
      }
      if (style == PLACEGEN_STYLE_MODEST && pl->signal == HLS_PAT_SPREAD && c < 0.8) {
        plant_print(w, pl, &s);
        fail_msg("seed %llu: modest spread not found", (unsigned long long)seed);
      }
    }
    snapshot_free(&s);
    world_free(w);
  }
}

static void test_planted_modest(void **state) {
  (void)state;
  struct rates r;
  planted_run(PLACEGEN_STYLE_MODEST, &r);
  rates_print("modest plants", &r);
  assert_int_equal(r.found80[HLS_PAT_SPREAD], PLANT_SEEDS);
}

static void test_planted_new_themes(void **state) {
  (void)state;
  struct rates r;
  planted_run(PLACEGEN_STYLE_NEW_THEMES, &r);
  rates_print("new-theme plants", &r);
  /* Seeds 1-6 (measured): the spread plant is found in one (seed 1's,
   * weeks 6-13, has no history to be tested against), the emerging plant
   * of one as spread; the rest by nothing. */
  assert_true(r.found[HLS_PAT_SPREAD] >= 1);
  assert_true(r.any_signal[HLS_PAT_SPREAD] + r.any_signal[HLS_PAT_EMERGING] >= 2);
}

/* A null world (plants = 0): few patterns, none together or cross-scale.
 * Measured over 20 seeds (--measure 20 1): 0.10 spread, 1.05 emerging
 * and 0.15 rising patterns a world of 52 weeks; the emerging ones nearly
 * all start in week 13 or 14, the first weeks the scan is calibrated,
 * against reference weeks in which no place could be tested yet (scan
 * value 0): taking those weeks out of the reference (NAN when no place
 * was tested) brings them to 0.25 a world. Seeds 1-6 give 12 patterns (9
 * emerging, every one starting in week 13 or 14; 2 rising; 1 spread).
 * Issue 12's target is at most 26 patterns in 104 weeks; asserted: at
 * most 3 a world on average. */
static void test_null_world(void **state) {
  (void)state;
  struct rates r;
  memset(&r, 0, sizeof r);
  for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + NULL_SEEDS; seed++) {
    struct placegen_params gp;
    gen_params(&gp, seed, PLACEGEN_STYLE_MODEST);
    gp.plants = 0;
    struct world *w = world_new(&gp, FEED_ONCE);
    assert_int_equal(placegen_n_plants(w->gen), 0);
    struct snapshot s;
    snapshot_take(w, &s);
    for (size_t i = 0; i < s.n; i++) snap_print(w, &s.v[i]);
    rates_add(w, &s, &r, false);
    (void)check_all_truth(w, NULL);
    snapshot_free(&s);
    world_free(w);
  }
  rates_print("null world", &r);
  assert_int_equal(r.background[HLS_PAT_TOGETHER], 0);
  assert_int_equal(r.background[HLS_PAT_CROSS_SCALE], 0);
  assert_true(r.patterns <= 3 * NULL_SEEDS);
}

/* --- suppression -------------------------------------------------------------------- */

/* Background regimes: mostly person scale (most cells withheld, the
 * default), and every background record at organisation scale (exact). */
static const int regimes[] = {-1, HLS_SCALE_ORGANISATION};

/* Every pattern's count interval and every lineage cell's contain the true
 * count; withheld cells stay as wide as withholding made them. */
static void test_suppression_intervals_hold_the_truth(void **state) {
  (void)state;
  for (size_t r = 0; r < sizeof regimes / sizeof regimes[0]; r++)
    for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + TRUTH_SEEDS; seed++) {
      struct placegen_params gp;
      gen_params(&gp, seed + 10, PLACEGEN_STYLE_MODEST);
      gp.local_themes = 3;
      gp.background_scale = regimes[r];
      struct world *w = world_new(&gp, FEED_ONCE);
      size_t patterns;
      size_t withheld = check_all_truth(w, &patterns);
      assert_true(patterns > 0); /* not vacuous: the spread plant at least */
      if (regimes[r] < 0) assert_true(withheld > 0);
      world_free(w);
    }
}

/* Runs whose true counts differ only where disclosure hides them (withheld
 * values redrawn below the threshold; rounded ones within their rounding
 * bucket) publish the same digests and give identical patterns: ids,
 * weeks, p-values, scores, counts, places, stories. */
static void test_suppression_hidden_counts_change_nothing(void **state) {
  (void)state;
  static const unsigned perturbs[] = {PLACEGEN_PERTURB_WITHHELD, PLACEGEN_PERTURB_ROUNDED,
                                      PLACEGEN_PERTURB_WITHHELD | PLACEGEN_PERTURB_ROUNDED};
  for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + HIDDEN_SEEDS; seed++) {
    struct placegen_params gp;
    gen_params(&gp, seed, PLACEGEN_STYLE_MODEST);
    gp.local_themes = 3;
    struct world *a = world_new(&gp, FEED_ONCE);
    struct snapshot sa;
    snapshot_take(a, &sa);
    assert_true(sa.n > 0);
    for (size_t k = 0; k < sizeof perturbs / sizeof perturbs[0]; k++) {
      struct placegen_params gq = gp;
      gq.perturb = perturbs[k];
      gq.perturb_seed = seed * 100 + k + 1;
      struct world *b = world_new(&gq, FEED_ONCE);
      assert_memory_equal(a->published_hash, b->published_hash, sizeof a->published_hash);
      size_t differ = 0;
      for (size_t i = 0; i < a->P * a->Wk * a->T; i++) differ += a->raw[i] != b->raw[i];
      /* hls-sdc-2 withholds person counts up to t + r - 2, so fewer cells
       * are rounded than withheld: fewer move when only those are redrawn. */
      if (differ < (gq.perturb == PLACEGEN_PERTURB_ROUNDED ? 10u : 20u))
        fail_msg("seed %llu perturbation %u: only %zu true counts moved", (unsigned long long)seed, gq.perturb, differ);
      struct snapshot sb;
      snapshot_take(b, &sb);
      snapshots_assert_same(a, &sa, &sb, 0);
      if (gq.perturb == (PLACEGEN_PERTURB_WITHHELD | PLACEGEN_PERTURB_ROUNDED))
        (void)check_all_truth(b, NULL); /* and the intervals hold the new truth */
      snapshot_free(&sb);
      world_free(b);
    }
    snapshot_free(&sa);
    world_free(a);
  }
}

/* --- erasure and supersession ------------------------------------------------------ */

struct change_rec {
  int change;
  struct snap_pat p;
};

struct recorder {
  const struct world *w;
  struct change_rec *v;
  size_t n, cap;
};

static int record_change(void *ctx, int change, const struct hls_pattern *p) {
  struct recorder *r = ctx;
  assert_true(change >= 0 && change < HLS_PAT_CHANGE_COUNT);
  assert_true(GROW(r->v, r->cap, r->n + 1));
  r->v[r->n].change = change;
  snap_from(r->w, p, &r->v[r->n].p);
  r->n++;
  return 0;
}

static void recorder_free(struct recorder *r) {
  for (size_t i = 0; i < r->n; i++) free(r->v[i].p.places);
  free(r->v);
  memset(r, 0, sizeof *r);
}

static const struct change_rec *recorded(const struct recorder *r, const uint8_t id[HLS_PAT_ID_BYTES]) {
  for (size_t i = 0; i < r->n; i++)
    if (memcmp(r->v[i].p.id, id, HLS_PAT_ID_BYTES) == 0) return &r->v[i];
  return NULL;
}

static bool places_subset(const struct snap_pat *a, const struct snap_pat *b) {
  for (size_t i = 0; i < a->n_places; i++)
    if (!sorted_has(b->places, b->n_places, a->places[i])) return false;
  return true;
}

/* The changes reported are exactly the differences between the pattern
 * sets before and after, each pattern reported at most once, with the
 * kind the difference calls for (patterns.h: the first that applies of
 * new, retracted, ended, joined, left, grew, shrank; else updated). */
static void check_changes(const struct world *w, const struct snapshot *before, const struct snapshot *after,
                          const struct recorder *r) {
  for (size_t i = 0; i < r->n; i++) {
    const struct change_rec *c = &r->v[i];
    assert_ptr_equal(recorded(r, c->p.id), c);
    const struct snap_pat *b = snap_find(before, c->p.id), *a = snap_find(after, c->p.id);
    if (c->change == HLS_PAT_NEW) {
      assert_null(b);
      assert_non_null(a);
      assert_true(snap_equal(a, &c->p));
      continue;
    }
    if (c->change == HLS_PAT_RETRACTED) {
      assert_non_null(b);
      assert_null(a);
      assert_true(snap_equal(b, &c->p));
      continue;
    }
    assert_non_null(b);
    assert_non_null(a);
    assert_true(snap_equal(a, &c->p));
    assert_false(snap_equal(a, b));
    int want = HLS_PAT_UPDATED;
    if (b->live && !a->live) want = HLS_PAT_ENDED;
    else if (!places_subset(a, b)) want = HLS_PAT_JOINED;
    else if (!places_subset(b, a)) want = HLS_PAT_LEFT;
    else if (floor(a->strength) > floor(b->strength)) want = HLS_PAT_GREW;
    else if (floor(a->strength) < floor(b->strength)) want = HLS_PAT_SHRANK;
    if (c->change != want) {
      snap_print(w, b);
      snap_print(w, a);
      fail_msg("reported %s, the difference is %s", hls_pat_change_name(c->change), hls_pat_change_name(want));
    }
  }
  for (size_t i = 0; i < before->n; i++) {
    const struct snap_pat *a = snap_find(after, before->v[i].id);
    if ((a == NULL || !snap_equal(a, &before->v[i])) && recorded(r, before->v[i].id) == NULL) {
      snap_print(w, &before->v[i]);
      if (a != NULL) snap_print(w, a);
      fail_msg("a pattern changed without being reported");
    }
  }
  for (size_t i = 0; i < after->n; i++)
    if (snap_find(before, after->v[i].id) == NULL) assert_non_null(recorded(r, after->v[i].id));
}

/* Items erased in one round: digests (place, week) and stories. */
struct erased {
  size_t n;
  uint32_t place[PLACEGEN_PLANT_MAX_CELLS];
  int32_t week[PLACEGEN_PLANT_MAX_CELLS];
  uint64_t seq[PLACEGEN_PLANT_MAX_CELLS];
};

static bool erased_has(const struct erased *e, uint32_t place, uint64_t seq) {
  for (size_t i = 0; i < e->n; i++)
    if (e->place[i] == place && e->seq[i] == seq) return true;
  return false;
}

struct hit_ctx {
  const struct world *w;
  const struct erased *e;
  bool hit;
};

static int hit_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct hit_ctx *h = ctx;
  h->hit |= erased_has(h->e, h->w->eplace[c->place], c->seq);
  return 0;
}

static int hit_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct hit_ctx *h = ctx;
  h->hit |= erased_has(h->e, h->w->eplace[s->place], s->seq);
  return 0;
}

/* For each pattern (in id order, as in a snapshot): does its lineage hold
 * an erased item? */
struct hits {
  const struct world *w;
  const struct erased *e;
  bool *v;
  size_t n;
};

static int hits_each(void *ctx, const struct hls_pattern *p) {
  struct hits *h = ctx;
  struct hit_ctx hc = {h->w, h->e, false};
  assert_int_equal(hls_patterns_lineage(h->w->pt, p, hit_cell, hit_story, &hc), 0);
  h->v[h->n++] = hc.hit;
  return 0;
}

static bool *lineage_hits(struct world *w, const struct snapshot *s, const struct erased *e) {
  struct hits h = {w, e, calloc(s->n + 1, sizeof(bool)), 0};
  assert_non_null(h.v);
  assert_int_equal(hls_patterns_each(w->pt, hits_each, &h), 0);
  assert_int_equal(h.n, s->n);
  return h.v;
}

/* The digest of (place, week), or NULL. */
static const struct digest_fact *digest_of(const struct world *w, uint32_t place, int32_t week) {
  for (size_t i = 0; i < w->n_digests; i++)
    if (w->digests[i].place == place && w->digests[i].week == week) return &w->digests[i];
  return NULL;
}

/* Erase the digests of plant pl at all but its first keep places (every
 * week of theirs that reported its theme from its onset on), so it no
 * longer holds. Then:
 *   - the plant's pattern is retracted;
 *   - every pattern whose lineage held an erased digest changed;
 *   - the changes reported are the differences (check_changes);
 *   - giving an erased digest again changes nothing;
 *   - the truth checks hold on what is left.
 * (Other patterns may change too: a week's tests of every theme share
 * one false discovery rate.) */
static void erase_plant_digests(struct world *w, const struct placegen_plant *pl, size_t keep) {
  struct snapshot before, after;
  snapshot_take(w, &before);
  double cover;
  const struct snap_pat *target = plant_best(&before, pl, false, &cover);
  assert_non_null(target);
  static struct erased e;
  memset(&e, 0, sizeof e);
  for (size_t k = keep; k < pl->n_places; k++)
    for (int32_t week = pl->week_from; week < w->w0 + (int32_t)w->Wk; week++) {
      uint32_t place = pl->places[k];
      if (w->raw[ix3(w, place, week_ix(w, week), pl->themes[0])] == 0) continue;
      const struct digest_fact *d = digest_of(w, place, week);
      assert_non_null(d);
      e.place[e.n] = place;
      e.week[e.n] = week;
      e.seq[e.n] = d->seq;
      e.n++;
    }
  assert_true(e.n > 0);
  bool *hit = lineage_hits(w, &before, &e);
  for (size_t i = 0; i < e.n; i++) assert_int_equal(hls_patterns_erase(w->pt, pk_of(w, e.place[i]), e.seq[i]), 0);
  assert_true(hls_patterns_dirty(w->pt));
  struct recorder r = {w, NULL, 0, 0};
  assert_int_equal(hls_patterns_update(w->pt, record_change, &r), 0);
  snapshot_take(w, &after);
  check_changes(w, &before, &after, &r);
  const struct change_rec *t = recorded(&r, target->id);
  assert_non_null(t);
  assert_int_equal(t->change, HLS_PAT_RETRACTED);
  for (size_t i = 0; i < before.n; i++) {
    const struct change_rec *c = recorded(&r, before.v[i].id);
    if (hit[i] && c == NULL) {
      snap_print(w, &before.v[i]);
      fail_msg("a pattern built on an erased digest did not change");
    }
  }
  /* Given again (the same seq), an erased digest stays out. */
  for (size_t i = 0; i < e.n; i++) give_digest(w, w->pt, digest_of(w, e.place[i], e.week[i]));
  assert_false(hls_patterns_dirty(w->pt));
  /* What is left still tells the truth. */
  for (size_t i = 0; i < e.n; i++) {
    size_t wk = week_ix(w, e.week[i]);
    for (uint32_t th = 0; th < w->T; th++) {
      w->raw[ix3(w, e.place[i], wk, th)] = 0;
      memset(&w->pub[ix3(w, e.place[i], wk, th)], 0, sizeof(struct pub));
    }
    w->dseq[e.place[i] * w->Wk + wk] = 0;
  }
  (void)check_all_truth(w, NULL);
  free(hit);
  recorder_free(&r);
  snapshot_free(&before);
  snapshot_free(&after);
}

/* Erase a story in the lineage of a plant's pattern: exactly the patterns
 * whose lineage held it are updated (one story fewer), nothing else
 * changes (stories are context: no test reads them). */
static void erase_plant_story(struct world *w, const struct placegen_plant *pl) {
  struct snapshot before, after;
  snapshot_take(w, &before);
  double cover;
  const struct snap_pat *target = plant_best(&before, pl, false, &cover);
  assert_non_null(target);
  struct story_fact *f = NULL;
  for (size_t i = 0; i < w->n_stories && f == NULL; i++) {
    struct story_fact *x = &w->stories[i];
    if (!x->erased && story_names(x, pl->themes[0]) && x->week >= target->week_from && x->week <= target->week_to &&
        sorted_has(target->places, target->n_places, x->place))
      f = x;
  }
  if (f == NULL) { /* no story of it: nothing to erase */
    snapshot_free(&before);
    return;
  }
  static struct erased e;
  memset(&e, 0, sizeof e);
  e.n = 1;
  e.place[0] = f->place;
  e.week[0] = f->week;
  e.seq[0] = f->seq;
  bool *hit = lineage_hits(w, &before, &e);
  assert_int_equal(hls_patterns_erase(w->pt, pk_of(w, f->place), f->seq), 0);
  struct recorder r = {w, NULL, 0, 0};
  assert_int_equal(hls_patterns_update(w->pt, record_change, &r), 0);
  snapshot_take(w, &after);
  check_changes(w, &before, &after, &r);
  size_t n_hit = 0;
  for (size_t i = 0; i < before.n; i++) {
    const struct change_rec *c = recorded(&r, before.v[i].id);
    n_hit += hit[i];
    if (!hit[i]) {
      assert_null(c);
      continue;
    }
    assert_non_null(c);
    assert_int_equal(c->change, HLS_PAT_UPDATED);
    struct snap_pat want = before.v[i];
    want.n_stories--;
    assert_true(snap_equal(&c->p, &want));
  }
  assert_int_equal(r.n, n_hit);
  assert_true(n_hit >= 1); /* at least the plant's pattern */
  f->erased = true;
  (void)check_all_truth(w, NULL);
  free(hit);
  recorder_free(&r);
  snapshot_free(&before);
  snapshot_free(&after);
}

static void test_erasure_retracts_the_plant(void **state) {
  (void)state;
  for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + ERASURE_SEEDS; seed++) {
    struct placegen_params gp;
    gen_params(&gp, seed, PLACEGEN_STYLE_MODEST);
    gp.local_themes = 3;
    struct world *w = world_new(&gp, FEED_ONCE);
    const struct placegen_plant *pl = placegen_plant_of(w->gen, HLS_PAT_SPREAD);
    assert_non_null(pl);
    erase_plant_story(w, pl);
    /* spread_min_places 3: two places left do not make it. */
    erase_plant_digests(w, pl, 2);
    world_free(w);
  }
}

/* The corrections of a plant: every digest of its places from its onset
 * that reported its theme, again without the theme, at the next seq of
 * the place's chain. */
struct correction {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  struct hls_digest d;
};

static size_t corrections_make(struct world *w, const struct placegen_plant *pl, struct correction *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < w->n_digests; i++) {
    const struct digest_fact *k = &w->digests[i];
    if (!sorted_has(pl->places, pl->n_places, k->place) || k->week < pl->week_from) continue;
    if (w->raw[ix3(w, k->place, week_ix(w, k->week), pl->themes[0])] == 0) continue;
    assert_true(n < max);
    struct correction *c = &out[n++];
    c->place = k->place;
    c->week = k->week;
    c->seq = ++w->last_seq[k->place];
    c->d = k->d;
    c->d.cells = malloc((k->d.n_cells ? k->d.n_cells : 1) * sizeof *c->d.cells);
    assert_non_null(c->d.cells);
    c->d.n_cells = 0;
    for (size_t j = 0; j < k->d.n_cells; j++) {
      int t = placegen_theme_find(w->gen, k->d.cells[j].theme, k->d.cells[j].kind);
      if (t == (int)pl->themes[0]) continue;
      c->d.cells[c->d.n_cells++] = k->d.cells[j];
    }
    assert_true(c->d.n_cells < k->d.n_cells);
  }
  return n;
}

/* A supersession: the spread plant's digests corrected (its theme taken
 * out, as when the records behind it are fixed). Its pattern is
 * retracted, the changes reported are the differences; the older digests
 * given again change nothing; and an engine given the corrections before
 * the chains (newer first) ends with the same patterns. */
static void test_supersede_later_digest_replaces_earlier(void **state) {
  (void)state;
  for (uint64_t seed = FIRST_SEED; seed < FIRST_SEED + SUPERSEDE_SEEDS; seed++) {
    struct placegen_params gp;
    gen_params(&gp, seed, PLACEGEN_STYLE_MODEST);
    gp.local_themes = 3;
    struct world *w = world_new(&gp, FEED_ONCE);
    const struct placegen_plant *pl = placegen_plant_of(w->gen, HLS_PAT_SPREAD);
    static struct correction corr[PLACEGEN_PLANT_MAX_CELLS];
    size_t n = corrections_make(w, pl, corr, PLACEGEN_PLANT_MAX_CELLS);
    assert_true(n >= pl->n_places);
    struct snapshot before, after;
    snapshot_take(w, &before);
    double cover;
    const struct snap_pat *target = plant_best(&before, pl, false, &cover);
    assert_non_null(target);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(hls_patterns_digest(w->pt, pk_of(w, corr[i].place), corr[i].seq, &corr[i].d), 0);
    struct recorder r = {w, NULL, 0, 0};
    assert_int_equal(hls_patterns_update(w->pt, record_change, &r), 0);
    snapshot_take(w, &after);
    check_changes(w, &before, &after, &r);
    const struct change_rec *t = recorded(&r, target->id);
    assert_non_null(t);
    assert_int_equal(t->change, HLS_PAT_RETRACTED);
    for (size_t i = 0; i < after.n; i++) assert_true(after.v[i].theme != pl->themes[0]);
    /* The older digests again: nothing. */
    for (size_t i = 0; i < w->n_digests; i++) give_digest(w, w->pt, &w->digests[i]);
    assert_false(hls_patterns_dirty(w->pt));
    /* The truth now: the theme gone from those place-weeks. */
    for (size_t i = 0; i < n; i++) {
      size_t at = ix3(w, corr[i].place, week_ix(w, corr[i].week), pl->themes[0]);
      w->raw[at] = 0;
      memset(&w->pub[at], 0, sizeof w->pub[at]);
      w->dseq[corr[i].place * w->Wk + week_ix(w, corr[i].week)] = corr[i].seq;
    }
    (void)check_all_truth(w, NULL);

    /* Newer first: corrections, then every chain, one update. */
    struct hls_patterns *b = NULL;
    assert_int_equal(hls_patterns_new(&b, &w->prm, NULL), 0);
    for (size_t i = n; i-- > 0;)
      assert_int_equal(hls_patterns_digest(b, pk_of(w, corr[i].place), corr[i].seq, &corr[i].d), 0);
    world_feed(w, b, FEED_ONCE);
    struct snapshot sb;
    snapshot_of(w, b, &sb);
    snapshots_assert_same(w, &after, &sb, 1e-9);
    snapshot_free(&sb);
    hls_patterns_free(b);

    for (size_t i = 0; i < n; i++) free(corr[i].d.cells);
    recorder_free(&r);
    snapshot_free(&before);
    snapshot_free(&after);
    world_free(w);
  }
}

/* --- incremental and batch ------------------------------------------------------------ */

/* Updating after every week (facts week by week, as a node receives
 * them) ends with what one update of everything gives (strengths and
 * scores to 1e-9). */
static void test_incremental_week_by_week(void **state) {
  (void)state;
  struct placegen_params gp;
  gen_params(&gp, FIRST_SEED, PLACEGEN_STYLE_MODEST);
  gp.local_themes = 3;
  struct world *w = world_new(&gp, FEED_ONCE);
  struct hls_patterns *b = NULL;
  assert_int_equal(hls_patterns_new(&b, &w->prm, NULL), 0);
  world_feed(w, b, FEED_WEEK);
  struct snapshot sa, sb;
  snapshot_take(w, &sa);
  snapshot_of(w, b, &sb);
  assert_true(sa.n > 0);
  snapshots_assert_same(w, &sa, &sb, 1e-9);
  snapshot_free(&sa);
  snapshot_free(&sb);
  hls_patterns_free(b);
  world_free(w);
}

/* Updating after every place's chain (as gossip delivers chains) ends
 * with what one update gives. (A place's first digest marks only the
 * themes of its cells, test_patterns.c's test_place_met_late; here the
 * places that come after report nearly every theme from week 0, which
 * marks them again, and this seed does not show it.) */
static void test_incremental_place_by_place(void **state) {
  (void)state;
  struct placegen_params gp;
  gen_params(&gp, FIRST_SEED, PLACEGEN_STYLE_MODEST);
  gp.local_themes = 3;
  struct world *w = world_new(&gp, FEED_ONCE);
  struct hls_patterns *b = NULL;
  assert_int_equal(hls_patterns_new(&b, &w->prm, NULL), 0);
  world_feed(w, b, FEED_PLACE);
  struct snapshot sa, sb;
  snapshot_take(w, &sa);
  snapshot_of(w, b, &sb);
  hls_patterns_free(b);
  snapshots_assert_same(w, &sa, &sb, 1e-9);
  snapshot_free(&sa);
  snapshot_free(&sb);
  world_free(w);
}

/* Generator parameters a measurement may change: NAME=VALUE. */
static bool param_set(struct placegen_params *gp, const char *arg) {
  static const struct {
    const char *name;
    size_t offset;
    bool is_int;
  } table[] = {
      {"places", offsetof(struct placegen_params, places), true},
      {"weeks", offsetof(struct placegen_params, weeks), true},
      {"themes", offsetof(struct placegen_params, themes), true},
      {"regions", offsetof(struct placegen_params, regions), true},
      {"background_scale", offsetof(struct placegen_params, background_scale), true},
      {"local_themes", offsetof(struct placegen_params, local_themes), true},
      {"zipf_exponent", offsetof(struct placegen_params, zipf_exponent), false},
      {"top_rate", offsetof(struct placegen_params, top_rate), false},
      {"size_sigma", offsetof(struct placegen_params, size_sigma), false},
      {"affinity_sigma", offsetof(struct placegen_params, affinity_sigma), false},
      {"activity_sigma", offsetof(struct placegen_params, activity_sigma), false},
      {"holiday_dip", offsetof(struct placegen_params, holiday_dip), false},
      {"overdispersion", offsetof(struct placegen_params, overdispersion), false},
      {"theme_drift_sigma", offsetof(struct placegen_params, theme_drift_sigma), false},
      {"person_share", offsetof(struct placegen_params, person_share), false},
  };
  const char *eq = strchr(arg, '=');
  if (eq == NULL) return false;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strlen(table[i].name) == (size_t)(eq - arg) && strncmp(arg, table[i].name, (size_t)(eq - arg)) == 0) {
      char *field = (char *)gp + table[i].offset;
      if (table[i].is_int) *(int *)(void *)field = atoi(eq + 1);
      else *(double *)(void *)field = atof(eq + 1);
      return true;
    }
  return false;
}

static int measure(uint64_t seeds, uint64_t first, int n_args, char **args) {
  static const struct {
    const char *name;
    int style;
    unsigned plants;
  } runs[] = {
      {"modest plants", PLACEGEN_STYLE_MODEST, PLACEGEN_PLANT_ALL},
      {"new-theme plants", PLACEGEN_STYLE_NEW_THEMES, PLACEGEN_PLANT_ALL},
      {"null world (plants = 0)", PLACEGEN_STYLE_MODEST, 0},
  };
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    struct rates r;
    memset(&r, 0, sizeof r);
    struct placegen_params gp;
    for (uint64_t seed = first; seed < first + seeds; seed++) {
      gen_params(&gp, seed, runs[k].style);
      gp.plants = runs[k].plants;
      for (int i = 0; i < n_args; i++)
        if (!param_set(&gp, args[i])) {
          fprintf(stderr, "unknown parameter %s\n", args[i]);
          return 2;
        }
      struct world *w = world_new(&gp, FEED_ONCE);
      struct snapshot s;
      snapshot_take(w, &s);
      rates_add(w, &s, &r, getenv("HLS_MEASURE_VERBOSE") != NULL);
      snapshot_free(&s);
      world_free(w);
    }
    char title[160];
    snprintf(title, sizeof title, "%s, seeds %llu..%llu, %d places, %d weeks", runs[k].name,
             (unsigned long long)first, (unsigned long long)(first + seeds - 1), gp.places, gp.weeks);
    rates_print(title, &r);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--measure") == 0)
    return measure(strtoull(argv[2], NULL, 10), argc >= 4 ? strtoull(argv[3], NULL, 10) : 1, argc >= 4 ? argc - 4 : 0,
                   argv + 4);
  const char *filter = getenv("HLS_TEST_FILTER"); /* one test by name, e.g. "test_erasure*" */
  if (filter != NULL) cmocka_set_test_filter(filter);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_planted_modest),
      cmocka_unit_test(test_planted_new_themes),
      cmocka_unit_test(test_null_world),
      cmocka_unit_test(test_suppression_intervals_hold_the_truth),
      cmocka_unit_test(test_suppression_hidden_counts_change_nothing),
      cmocka_unit_test(test_erasure_retracts_the_plant),
      cmocka_unit_test(test_supersede_later_digest_replaces_earlier),
      cmocka_unit_test(test_incremental_week_by_week),
      cmocka_unit_test(test_incremental_place_by_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
