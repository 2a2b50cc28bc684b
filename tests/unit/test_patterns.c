/* Unit tests for protocol/patterns.c, the cross-place pattern engine.
 *
 * Every signal is a test of change against a baseline (patterns.h), so a
 * pattern needs history: the cases here are small worlds generated in the
 * test (struct world): 20-40 places, one digest a week each, with a
 * steady Poisson background of a few themes at organisation scale (exact
 * cells, unless a case is about withheld ones), drawn from a PRNG keyed
 * by (seed, place, week, theme) so that a place-week's digest does not
 * depend on the order facts are given in. Into that background a case
 * plants one clear-cut change (struct plant): a theme new to 8 places, a
 * 5x jump, a region's share doubling, two themes suddenly together, a
 * rise at two scales. The signal tests assert what the change must
 * produce (signal, theme, places, weeks, live) and print the p-values
 * measured; the steady world asserts that nothing is produced.
 *
 * The life of facts and patterns (cell bounds, folding, superseding,
 * erasure, changes reported once, stable ids, lineage, renames, a callback
 * that stops an update) is tested on the spread world: its pattern is the
 * most clear-cut (places new to a theme), and its lineage carries the
 * cells a case gives.
 *
 * Tests whose comment says "A defect at 880f7b7" were written to fail on
 * protocol/patterns.c at 880f7b7 (the numbers measured then and the cause
 * are in the comment) and pass since the fixes: a pair's discovery refused
 * at its own cutoff (float against double), the strongest signals lost
 * (p-values underflowing to 0), ids changing when a new theme appears,
 * and a place met late (or a held strength 0.001 behind) making the
 * result depend on the order of facts.
 *
 * Places are named by a label: origin_of(label) is 32 bytes whose first is
 * the label, so place_info(...).origin[0] gives the label back. Weeks are
 * absolute (hls_patterns_week); BASE is the first week of a world, the
 * first week of an aligned window of 8 (together_weeks). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "disclosure.h"
#include "patterns.h"

#define BASE 2920 /* 2025-W51, the first week of window 365 (together_weeks 8) */
#define PERSON HLS_SCALE_PERSON
#define ORG HLS_SCALE_ORGANISATION
#define PLACE HLS_SCALE_PLACE
#define PROBLEM HLS_KIND_PROBLEM
#define WITHHELD (-1)
#define REFUSED 7 /* what the test callback returns to stop an update */

enum {
  MAX_CELLS = 96,
  MAX_LOG = 256,
  MAX_HELD = 4096,
  MAX_PLACES = 64,
  MAX_LINEAGE = 512,
  MAX_THEMES = 8,
  MAX_PLANTS = 10,
};

static const struct hls_digest_method sdc_default = {10, 5, HLS_SDC_NEAREST};

/* Print the measured figures of the signal tests (always: they are the
 * numbers the comments quote, to compare when the engine is tuned). */
#define NOTE(...) printf("# " __VA_ARGS__)

/* --- a small PRNG ----------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A stream keyed by what it draws for: the same key, the same draws. */
static uint64_t stream(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t s = seed;
  s ^= splitmix64(&s) + a;
  s ^= splitmix64(&s) + b * 0x100000001b3ull;
  s ^= splitmix64(&s) + c * 0xc2b2ae3d27d4eb4full;
  (void)splitmix64(&s);
  return s;
}

static double uniform(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; }

/* Poisson(mu) by inversion (mu stays small here). */
static uint32_t poisson(uint64_t *s, double mu) {
  if (mu <= 0) return 0;
  double u = uniform(s), p = exp(-mu), c = p;
  uint32_t k = 0;
  while (u > c && k < 10000) {
    k++;
    p *= mu / k;
    c += p;
  }
  return k;
}

/* --- giving facts ------------------------------------------------------------ */

/* One cell of a hand-made digest (count WITHHELD: present, withheld). */
struct spec {
  const char *theme;
  int kind, scale, count, stage;
};

static void origin_of(int label, uint8_t out[HLS_KEY_BYTES]) {
  memset(out, 0x5a, HLS_KEY_BYTES);
  out[0] = (uint8_t)label;
}

/* Give place label's digest of an absolute week at seq. */
static void give(struct hls_patterns *pt, int label, uint64_t seq, int32_t week, const struct hls_digest_method *m,
                 size_t n, const struct spec *cells) {
  static struct hls_digest_cell c[MAX_CELLS];
  memset(c, 0, sizeof c);
  assert_true(n <= MAX_CELLS);
  for (size_t i = 0; i < n; i++) {
    snprintf(c[i].theme, sizeof c[i].theme, "%s", cells[i].theme);
    c[i].kind = cells[i].kind;
    c[i].scale = cells[i].scale;
    c[i].stage = cells[i].stage;
    c[i].withheld = cells[i].count == WITHHELD;
    c[i].count = cells[i].count == WITHHELD ? 0 : (uint32_t)cells[i].count;
  }
  struct hls_digest d = {.method = m != NULL ? *m : sdc_default, .n_cells = n, .cells = n ? c : NULL};
  hls_patterns_iso_week(week, &d.iso_year, &d.iso_week);
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_digest(pt, o, seq, &d), 0);
}

/* A story naming one or two problem-kind themes (t2 may be NULL). */
static void give_story(struct hls_patterns *pt, int label, uint64_t seq, int32_t week, const char *title,
                       const char *t1, const char *t2) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  hls_patterns_iso_week(week, &s.iso_year, &s.iso_week);
  snprintf(s.title, sizeof s.title, "%s", title);
  const char *names[2] = {t1, t2};
  for (size_t i = 0; i < 2 && names[i] != NULL; i++) {
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", names[i]);
    s.themes[i].kind = HLS_KIND_PROBLEM;
    s.n_themes = i + 1;
  }
  s.scale = ORG;
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_story(pt, o, seq, &s), 0);
}

static void erase(struct hls_patterns *pt, int label, uint64_t seq) {
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_erase(pt, o, seq), 0);
}

static void name_place(struct hls_patterns *pt, int label, const char *name, const char *region) {
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_place(pt, o, name, region), 0);
}

/* --- generated worlds ---------------------------------------------------------- */

/* A background theme: every place reports it at this mean a week
 * (Poisson), at this scale. */
struct bg_theme {
  const char *name;
  double rate;
  int scale;
};

/* A planted change, at places [place_from, place_to] (labels) in weeks
 * [week_from, week_to] (offsets from BASE):
 *   mult > 0: the background theme `theme` at mult times its rate; with
 *             ramp, the multiplier climbs linearly from 1 to mult over
 *             the weeks and stays at mult after them;
 *   add > 0:  `theme` (and `theme2`, if set) gain Poisson(add) + 1
 *             records a week at `scale` (and at `scale2` too, if >= 0),
 *             in the weeks drawn with chance `chance` (0: every week),
 *             each place-week drawn once for both themes;
 *   once:     only in the place's own week, week_from + (place - place_from)
 *             % 3 (a theme taken up by new places);
 *   region:   only at the places of that region (1-based, see world). */
struct plant {
  const char *theme, *theme2;
  int place_from, place_to;
  int week_from, week_to;
  double mult;
  bool ramp;
  double add;
  int scale, scale2;
  double chance;
  bool once;
  int region; /* 1-based: only the places of region_names[region - 1]; 0: any */
};

struct world {
  uint64_t seed;
  int places, weeks; /* labels 1..places, weeks BASE .. BASE + weeks - 1 */
  struct hls_digest_method method;
  size_t n_themes;
  struct bg_theme themes[MAX_THEMES];
  size_t n_plants;
  struct plant plants[MAX_PLANTS];
  int regions; /* 0: places without a region; else place label l is in region (l - 1) % regions */
};

static const char *const region_names[] = {"North", "South", "East", "West", "Centre"};

static bool plant_places(const struct world *w, const struct plant *pl, int label) {
  if (label < pl->place_from || label > pl->place_to) return false;
  return pl->region == 0 || (w->regions > 0 && (label - 1) % w->regions == pl->region - 1);
}

static bool plant_at(const struct world *w, const struct plant *pl, int label, int wk) {
  if (!plant_places(w, pl, label)) return false;
  if (pl->once) return wk == pl->week_from + (label - pl->place_from) % 3;
  return wk >= pl->week_from && wk <= pl->week_to;
}

/* The background multiplier of theme at (label, week offset). */
static double plant_mult(const struct world *w, const char *theme, int label, int wk) {
  double m = 1;
  for (size_t i = 0; i < w->n_plants; i++) {
    const struct plant *pl = &w->plants[i];
    if (pl->mult <= 0 || strcmp(pl->theme, theme) != 0 || !plant_places(w, pl, label)) continue;
    if (wk < pl->week_from) continue;
    if (!pl->ramp) {
      if (wk <= pl->week_to) m *= pl->mult;
    } else {
      double span = pl->week_to - pl->week_from;
      double f = wk >= pl->week_to || span <= 0 ? 1 : (wk - pl->week_from) / span;
      m *= 1 + (pl->mult - 1) * f;
    }
  }
  return m;
}

/* The raw cells of a place-week: (theme, scale, raw count), raw > 0. */
struct raw_cell {
  const char *theme;
  int scale;
  uint32_t raw;
};

static size_t raw_add(struct raw_cell *out, size_t n, const char *theme, int scale, uint32_t raw) {
  if (raw == 0) return n;
  for (size_t i = 0; i < n; i++)
    if (strcmp(out[i].theme, theme) == 0 && out[i].scale == scale) {
      out[i].raw += raw;
      return n;
    }
  assert_true(n < MAX_CELLS);
  out[n] = (struct raw_cell){theme, scale, raw};
  return n + 1;
}

static size_t world_raw(const struct world *w, int label, int wk, struct raw_cell *out) {
  size_t n = 0;
  for (size_t t = 0; t < w->n_themes; t++) {
    const struct bg_theme *th = &w->themes[t];
    uint64_t s = stream(w->seed, (uint64_t)label, (uint64_t)wk, t);
    n = raw_add(out, n, th->name, th->scale, poisson(&s, th->rate * plant_mult(w, th->name, label, wk)));
  }
  for (size_t i = 0; i < w->n_plants; i++) {
    const struct plant *pl = &w->plants[i];
    if (pl->add <= 0 || !plant_at(w, pl, label, wk)) continue;
    uint64_t s = stream(w->seed ^ 0x5eed, (uint64_t)label, (uint64_t)wk, 100 + i);
    if (pl->chance > 0 && uniform(&s) >= pl->chance) continue;
    const char *th[2] = {pl->theme, pl->theme2};
    for (int k = 0; k < 2 && th[k] != NULL; k++) {
      n = raw_add(out, n, th[k], pl->scale, 1 + poisson(&s, pl->add));
      if (pl->scale2 >= 0) n = raw_add(out, n, th[k], pl->scale2, 1 + poisson(&s, pl->add));
    }
  }
  return n;
}

/* The digest cells of a place-week as hls_disclose publishes them. */
static size_t world_cells(const struct world *w, int label, int wk, struct spec *out) {
  struct raw_cell raw[MAX_CELLS];
  size_t n = world_raw(w, label, wk, raw);
  for (size_t i = 0; i < n; i++) {
    bool withheld;
    uint32_t published;
    hls_disclose(&w->method, raw[i].scale, raw[i].raw, 0, &withheld, &published);
    out[i] = (struct spec){raw[i].theme, PROBLEM, raw[i].scale, withheld ? WITHHELD : (int)published, 0};
  }
  return n;
}

/* A place-week's digest is at seq 10 + 2 * week offset (room for a
 * correction at the odd seq after it). */
static uint64_t world_seq(int wk) { return 10 + 2 * (uint64_t)wk; }

static void world_give(const struct world *w, struct hls_patterns *pt, int label, int wk) {
  struct spec cells[MAX_CELLS];
  size_t n = world_cells(w, label, wk, cells);
  give(pt, label, world_seq(wk), BASE + wk, &w->method, n, cells);
}

/* A place-week's digest at seq with cells of its own after the world's
 * (method m, or the world's). */
static void world_give_extra(const struct world *w, struct hls_patterns *pt, int label, int wk, uint64_t seq,
                             const struct hls_digest_method *m, size_t n_extra, const struct spec *extra) {
  struct spec cells[MAX_CELLS];
  size_t n = world_cells(w, label, wk, cells);
  assert_true(n + n_extra <= MAX_CELLS);
  if (n_extra > 0) memcpy(cells + n, extra, n_extra * sizeof *extra);
  give(pt, label, seq, BASE + wk, m != NULL ? m : &w->method, n + n_extra, cells);
}

static void world_names(const struct world *w, struct hls_patterns *pt) {
  for (int l = 1; l <= w->places; l++) {
    char name[32];
    snprintf(name, sizeof name, "Place %02d", l);
    name_place(pt, l, name, w->regions ? region_names[(l - 1) % w->regions] : "");
  }
}

/* Give weeks [from, to] of every place, week by week. */
static void world_feed(const struct world *w, struct hls_patterns *pt, int from, int to) {
  for (int wk = from; wk <= to; wk++)
    for (int l = 1; l <= w->places; l++) world_give(w, pt, l, wk);
}

/* The defaults of a world: seed, 30 places, 40 weeks, four background
 * themes from rare to common at organisation scale, no plants. */
static void world_init(struct world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  w->seed = seed;
  w->places = 30;
  w->weeks = 40;
  w->method = sdc_default;
  w->n_themes = 4;
  w->themes[0] = (struct bg_theme){"bg-rare", 0.5, ORG};
  w->themes[1] = (struct bg_theme){"bg-some", 1.5, ORG};
  w->themes[2] = (struct bg_theme){"bg-often", 4, ORG};
  w->themes[3] = (struct bg_theme){"bg-always", 10, ORG};
}

static struct plant *world_plant(struct world *w) {
  assert_true(w->n_plants < MAX_PLANTS);
  struct plant *pl = &w->plants[w->n_plants++];
  memset(pl, 0, sizeof *pl);
  pl->scale = ORG;
  pl->scale2 = -1;
  return pl;
}

/* The spread plant: theme x taken up by places 1..8 (never reporting it
 * before) in weeks 30, 31, 32, each in one week (3 + 3 + 2 places), 1-3
 * records at organisation scale. */
#define SPREAD_WEEK 30
static void world_spread(struct world *w, const char *theme) {
  struct plant *pl = world_plant(w);
  pl->theme = theme;
  pl->place_from = 1;
  pl->place_to = 8;
  pl->week_from = SPREAD_WEEK;
  pl->week_to = SPREAD_WEEK + 2;
  pl->add = 0.5;
  pl->once = true;
}

/* Engines are made by new_engine and freed by engine_free; the ones a
 * failed test left behind are freed by its teardown (free_engines), so
 * that a failure does not also report leaks. */
enum { MAX_ENGINES = 8 };
static struct hls_patterns *engines[MAX_ENGINES];

static struct hls_patterns *new_engine(const struct hls_pat_params *p) {
  struct hls_patterns *pt = NULL;
  assert_int_equal(hls_patterns_new(&pt, p, NULL), 0);
  size_t i = 0;
  while (i < MAX_ENGINES && engines[i] != NULL) i++;
  assert_true(i < MAX_ENGINES);
  engines[i] = pt;
  return pt;
}

static void engine_free(struct hls_patterns *pt) {
  for (size_t i = 0; i < MAX_ENGINES; i++)
    if (engines[i] == pt) engines[i] = NULL;
  hls_patterns_free(pt);
}

static int free_engines(void **state) {
  (void)state;
  for (size_t i = 0; i < MAX_ENGINES; i++) engine_free(engines[i]);
  return 0;
}

/* --- observing --------------------------------------------------------------- */

static int label_of(const struct hls_patterns *pt, uint32_t place) {
  struct hls_pat_place_info info;
  assert_int_equal(hls_patterns_place_info(pt, place, &info), 0);
  return info.origin[0];
}

static const char *theme_name(const struct hls_patterns *pt, uint32_t theme, int *kind) {
  const char *name;
  int k;
  assert_int_equal(hls_patterns_theme_info(pt, theme, &name, &k), 0);
  if (kind != NULL) *kind = k;
  return name;
}

/* The labels of a pattern's places, "1,2,3", checking that the engine's
 * place numbers are sorted and unique. */
static void labels(const struct hls_patterns *pt, const uint32_t *places, size_t n, char *out, size_t cap) {
  int l[MAX_PLACES];
  assert_true(n <= MAX_PLACES);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) assert_true(places[i - 1] < places[i]);
    l[i] = label_of(pt, places[i]);
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: tiny */
    for (size_t j = i; j > 0 && l[j - 1] > l[j]; j--) {
      int t = l[j];
      l[j] = l[j - 1];
      l[j - 1] = t;
    }
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && len < cap; i++) len += (size_t)snprintf(out + len, cap - len, i ? ",%d" : "%d", l[i]);
}

#define assert_places(pt, p, want)                                      \
  do {                                                                  \
    char got_[256];                                                     \
    labels((pt), (p)->places, (p)->n_places, got_, sizeof got_);        \
    assert_string_equal(got_, (want));                                  \
  } while (0)

static bool has_label(const struct hls_patterns *pt, const struct hls_pattern *p, int label) {
  for (size_t i = 0; i < p->n_places; i++)
    if (label_of(pt, p->places[i]) == label) return true;
  return false;
}

/* How many of labels [from, to] are among the pattern's places. */
static int labels_in(const struct hls_patterns *pt, const struct hls_pattern *p, int from, int to) {
  int n = 0;
  for (int l = from; l <= to; l++) n += has_label(pt, p, l);
  return n;
}

static void pattern_print(const struct hls_patterns *pt, const char *tag, const struct hls_pattern *p) {
  char pl[256];
  labels(pt, p->places, p->n_places, pl, sizeof pl);
  NOTE("%s%s %s%s%s%s%s weeks %+d..%+d%s p %.3g (now %.3g) strength %.2f score %.3f/%.3f places %s\n", tag,
       hls_pat_signal_name(p->signal), theme_name(pt, p->theme, NULL), p->theme2 != HLS_PAT_NONE ? "+" : "",
       p->theme2 != HLS_PAT_NONE ? theme_name(pt, p->theme2, NULL) : "", p->region[0] ? " in " : "", p->region,
       p->week_from - BASE, p->week_to - BASE, p->live ? " live" : "", p->p, p->p_now, p->strength, p->score,
       p->score2, pl);
}

/* What every pattern reported or held satisfies (patterns.h). */
static void check_pattern(const struct hls_patterns *pt, const struct hls_pattern *p) {
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_true(p->signal >= 0 && p->signal < HLS_PAT_SIGNAL_COUNT);
  assert_true(p->theme < st.themes);
  if (p->signal == HLS_PAT_TOGETHER) {
    assert_true(p->theme2 < st.themes && p->theme2 != p->theme);
  } else {
    assert_int_equal(p->theme2, HLS_PAT_NONE);
  }
  assert_non_null(p->region);
  assert_int_equal(p->region[0] != '\0', p->signal == HLS_PAT_RISING);
  assert_true(p->week_from <= p->week_to);
  if (!(isfinite(p->p) && p->p >= 0 && p->p <= 1)) fail_msg("p = %g", p->p);
  if (!(isfinite(p->p_now) && p->p_now >= p->p && p->p_now <= 1)) fail_msg("p = %g, p_now = %g", p->p, p->p_now);
  /* -log10(p), 300 below 1e-300 */
  double want = p->p < 1e-300 ? 300 : -log10(p->p);
  if (!(fabs(p->strength - want) <= 1e-9 * (1 + want))) fail_msg("p = %g, strength %.12g", p->p, p->strength);
  assert_true(isfinite(p->score) && isfinite(p->score2));
  assert_true(p->lo <= p->hi);
  assert_true(isfinite(p->expected) && isfinite(p->withheld) && p->withheld >= 0 && p->withheld <= p->expected + 1e-6);
  assert_true(p->scales < (1u << HLS_SCALE_COUNT));
  assert_true(p->n_places >= 1 && p->places != NULL);
  for (size_t i = 0; i < p->n_places; i++) {
    assert_true(p->places[i] < st.places);
    if (i > 0) assert_true(p->places[i - 1] < p->places[i]);
  }
}

/* What the change callback saw. */
struct seen {
  int change;
  struct hls_pattern p; /* places point at places[] */
  uint32_t places[MAX_PLACES];
  char theme[HLS_THEME_MAX + 1], theme2[HLS_THEME_MAX + 1];
};

struct log {
  const struct hls_patterns *pt;
  size_t n;
  struct seen c[MAX_LOG];
  int calls;
  int refuse_at; /* refuse (return REFUSED) the call with this number, 1-based; 0: never */
};

static int on_change(void *ctx, int change, const struct hls_pattern *p) {
  struct log *l = ctx;
  if (++l->calls == l->refuse_at) return REFUSED;
  assert_true(l->n < MAX_LOG);
  assert_true(p->n_places <= MAX_PLACES);
  assert_true(change >= 0 && change < HLS_PAT_CHANGE_COUNT);
  check_pattern(l->pt, p);
  struct seen *s = &l->c[l->n++];
  s->change = change;
  s->p = *p;
  memcpy(s->places, p->places, p->n_places * sizeof *p->places);
  s->p.places = s->places;
  snprintf(s->theme, sizeof s->theme, "%s", theme_name(l->pt, p->theme, NULL));
  snprintf(s->theme2, sizeof s->theme2, "%s", p->theme2 == HLS_PAT_NONE ? "" : theme_name(l->pt, p->theme2, NULL));
  return 0;
}

/* The one change of this signal and theme in the log (NULL if none; fails
 * if more than one). */
static const struct seen *seen_one(const struct log *l, int signal, const char *theme) {
  const struct seen *found = NULL;
  for (size_t i = 0; i < l->n; i++)
    if (l->c[i].p.signal == signal && strcmp(l->c[i].theme, theme) == 0) {
      if (found != NULL) fail_msg("two changes of %s %s", hls_pat_signal_name(signal), theme);
      found = &l->c[i];
    }
  return found;
}

struct held {
  size_t n;
  const struct hls_pattern *p[MAX_HELD];
};

static int collect(void *ctx, const struct hls_pattern *p) {
  struct held *h = ctx;
  assert_true(h->n < MAX_HELD);
  h->p[h->n++] = p;
  return 0;
}

static struct held held_all(const struct hls_patterns *pt) {
  struct held h = {0};
  assert_int_equal(hls_patterns_each(pt, collect, &h), 0);
  for (size_t i = 0; i < h.n; i++) {
    if (i > 0) assert_true(memcmp(h.p[i - 1]->id, h.p[i]->id, HLS_PAT_ID_BYTES) < 0); /* id order */
    assert_ptr_equal(hls_patterns_find(pt, h.p[i]->id), h.p[i]);
    check_pattern(pt, h.p[i]);
  }
  return h;
}

static void held_print(const struct hls_patterns *pt) {
  struct held h = held_all(pt);
  NOTE("%zu patterns held\n", h.n);
  for (size_t i = 0; i < h.n; i++) pattern_print(pt, "  ", h.p[i]);
}

/* How many held patterns have this signal (and theme name and kind, if
 * theme is not NULL). */
static size_t held_count(const struct hls_patterns *pt, int signal, const char *theme, int kind) {
  struct held h = held_all(pt);
  size_t n = 0;
  for (size_t i = 0; i < h.n; i++) {
    int k;
    if (h.p[i]->signal != signal) continue;
    if (theme != NULL && (strcmp(theme_name(pt, h.p[i]->theme, &k), theme) != 0 || k != kind)) continue;
    n++;
  }
  return n;
}

/* How many held patterns are of this theme name (either theme of a pair),
 * of any signal and kind. */
static size_t held_of_theme(const struct hls_patterns *pt, const char *theme) {
  struct held h = held_all(pt);
  size_t n = 0;
  for (size_t i = 0; i < h.n; i++) {
    const struct hls_pattern *p = h.p[i];
    n += strcmp(theme_name(pt, p->theme, NULL), theme) == 0 ||
         (p->theme2 != HLS_PAT_NONE && strcmp(theme_name(pt, p->theme2, NULL), theme) == 0);
  }
  return n;
}

/* The one held pattern of this signal, theme name and kind (held_one:
 * problem kind). */
static const struct hls_pattern *held_kind(const struct hls_patterns *pt, int signal, const char *theme, int kind) {
  struct held h = held_all(pt);
  const struct hls_pattern *found = NULL;
  for (size_t i = 0; i < h.n; i++) {
    int k;
    if (h.p[i]->signal != signal || strcmp(theme_name(pt, h.p[i]->theme, &k), theme) != 0 || k != kind) continue;
    if (found != NULL) {
      held_print(pt);
      fail_msg("two held %s patterns of %s", hls_pat_signal_name(signal), theme);
    }
    found = h.p[i];
  }
  if (found == NULL) {
    held_print(pt);
    fail_msg("no held %s pattern of %s", hls_pat_signal_name(signal), theme);
  }
  return found;
}
#define held_one(pt, signal, theme) held_kind((pt), (signal), (theme), PROBLEM)

struct lineage {
  size_t nc, ns;
  struct hls_pat_cell_ref c[MAX_LINEAGE];
  struct hls_pat_story_ref s[MAX_LINEAGE];
  char titles[MAX_LINEAGE][64];
};

static int lin_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lineage *l = ctx;
  assert_true(l->nc < MAX_LINEAGE);
  l->c[l->nc++] = *c;
  return 0;
}

static int lin_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct lineage *l = ctx;
  assert_true(l->ns < MAX_LINEAGE);
  l->s[l->ns] = *s;
  snprintf(l->titles[l->ns], sizeof l->titles[0], "%s", s->title);
  l->s[l->ns].title = l->titles[l->ns];
  l->ns++;
  return 0;
}

static struct lineage *lineage_of(const struct hls_patterns *pt, const struct hls_pattern *p) {
  static struct lineage l;
  memset(&l, 0, sizeof l);
  assert_int_equal(hls_patterns_lineage(pt, p, lin_cell, lin_story, &l), 0);
  return &l;
}

/* The lineage cell of (label, week) of a single-theme pattern; fails if
 * there is none. */
static struct hls_pat_cell_ref lineage_cell(const struct hls_patterns *pt, const struct hls_pattern *p, int label,
                                            int32_t week) {
  const struct lineage *l = lineage_of(pt, p);
  for (size_t i = 0; i < l->nc; i++)
    if (l->c[i].week == week && label_of(pt, l->c[i].place) == label) return l->c[i];
  fail_msg("no lineage cell of place %d in week %+d", label, week - BASE);
  return l->c[0];
}

static bool has_title(const struct lineage *l, const char *title) {
  for (size_t i = 0; i < l->ns; i++)
    if (strcmp(l->titles[i], title) == 0) return true;
  return false;
}

/* --- fixture ----------------------------------------------------------------- */

struct fx {
  struct hls_patterns *pt;
  struct log log;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  f->pt = new_engine(NULL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return free_engines(state);
}

/* Update, recording the changes (the log starts empty); returns the rc. */
static int update_rc(struct fx *f) {
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  return hls_patterns_update(f->pt, on_change, &f->log);
}

static void update(struct fx *f) {
  assert_int_equal(update_rc(f), 0);
  assert_false(hls_patterns_dirty(f->pt));
}


/* --- parameters, names, weeks --------------------------------------------------- */

static void test_params_default(void **state) {
  (void)state;
  struct hls_pat_params p;
  memset(&p, 0xff, sizeof p);
  hls_pat_params_default(&p);
  assert_true(p.fdr == 0.05);
  assert_true(p.keep_p == 0.05);
  assert_int_equal(p.end_weeks, 3);
  assert_int_equal(p.baseline_weeks, 26);
  assert_int_equal(p.min_baseline_weeks, 8);
  assert_int_equal(p.reference_weeks, 52);
  assert_int_equal(p.min_reference, 13);
  assert_int_equal(p.max_scan_places, 64);
  assert_int_equal(p.spread_weeks, 4);
  assert_int_equal(p.spread_history_weeks, 13);
  assert_int_equal(p.spread_min_places, 3);
  assert_int_equal(p.emerging_weeks, 3);
  assert_int_equal(p.emerging_min_places, 2);
  assert_int_equal(p.rising_weeks, 8);
  assert_int_equal(p.rising_min_places, 3);
  assert_int_equal(p.together_weeks, 8);
  assert_int_equal(p.together_min_count, 3);
  assert_int_equal(p.together_min_places, 3);
  assert_int_equal(p.cross_weeks, 4);
  assert_int_equal(p.cross_min_scales, 2);
  assert_int_equal(p.cross_min_places, 2);
  struct hls_why why = {{0}};
  assert_int_equal(hls_pat_params_check(&p, &why), 0);
}

/* Each out-of-range value is refused with the parameter's name. */
#define EXPECT_BAD(assignment, field)                                   \
  do {                                                                  \
    struct hls_pat_params q_ = def;                                     \
    struct hls_pat_params *q = &q_;                                     \
    assignment;                                                         \
    struct hls_why why_ = {{0}};                                        \
    assert_int_equal(hls_pat_params_check(q, &why_), HLS_EINVAL);       \
    if (strstr(why_.text, field) == NULL) fail_msg("%s: \"%s\"", #assignment, why_.text); \
    assert_int_equal(hls_pat_params_check(q, NULL), HLS_EINVAL);        \
  } while (0)
#define EXPECT_GOOD(assignment)                                         \
  do {                                                                  \
    struct hls_pat_params q_ = def;                                     \
    struct hls_pat_params *q = &q_;                                     \
    assignment;                                                         \
    if (hls_pat_params_check(q, NULL) != 0) fail_msg("%s refused", #assignment); \
  } while (0)

static void test_params_check(void **state) {
  (void)state;
  struct hls_pat_params def;
  hls_pat_params_default(&def);
  EXPECT_BAD(q->fdr = 0, "fdr");
  EXPECT_BAD(q->fdr = 1e-12, "fdr"); /* below the smallest rate the engine takes, 1e-9 */
  EXPECT_BAD(q->fdr = 0.6, "fdr");
  EXPECT_BAD(q->fdr = NAN, "fdr");
  EXPECT_GOOD(q->fdr = 1e-9);
  EXPECT_GOOD(q->fdr = 0.5; q->keep_p = 0.5);
  EXPECT_BAD(q->keep_p = 0.001, "keep_p"); /* below fdr: a discovery would not hold its own week */
  EXPECT_BAD(q->keep_p = 0.6, "keep_p");
  EXPECT_BAD(q->keep_p = NAN, "keep_p");
  EXPECT_GOOD(q->keep_p = 0.05);
  EXPECT_GOOD(q->fdr = 0.01; q->keep_p = 0.01);
  EXPECT_BAD(q->end_weeks = 0, "end_weeks");
  EXPECT_BAD(q->end_weeks = 53, "end_weeks");
  EXPECT_BAD(q->baseline_weeks = 3, "baseline_weeks");
  EXPECT_BAD(q->baseline_weeks = 261, "baseline_weeks");
  EXPECT_BAD(q->min_baseline_weeks = 1, "min_baseline_weeks");
  EXPECT_BAD(q->min_baseline_weeks = 27, "min_baseline_weeks"); /* more than baseline_weeks */
  EXPECT_BAD(q->baseline_weeks = 7, "min_baseline_weeks");      /* now below min_baseline_weeks (8) */
  EXPECT_GOOD(q->min_baseline_weeks = 26);
  EXPECT_BAD(q->reference_weeks = 7, "reference_weeks");
  EXPECT_BAD(q->min_reference = 3, "min_reference");
  EXPECT_BAD(q->min_reference = 53, "min_reference"); /* more than reference_weeks */
  EXPECT_BAD(q->reference_weeks = 12, "min_reference");
  EXPECT_BAD(q->max_scan_places = 0, "max_scan_places");
  EXPECT_BAD(q->max_scan_places = 4097, "max_scan_places");
  EXPECT_BAD(q->spread_weeks = 0, "spread_weeks");
  EXPECT_BAD(q->spread_history_weeks = 0, "spread_history_weeks");
  EXPECT_BAD(q->spread_min_places = 0, "spread_min_places");
  EXPECT_BAD(q->emerging_weeks = 0, "emerging_weeks");
  EXPECT_BAD(q->emerging_weeks = 27, "emerging_weeks");
  EXPECT_BAD(q->emerging_min_places = 0, "emerging_min_places");
  EXPECT_BAD(q->emerging_min_places = 65, "emerging_min_places"); /* more than max_scan_places */
  EXPECT_BAD(q->rising_weeks = 1, "rising_weeks");
  EXPECT_BAD(q->rising_min_places = 0, "rising_min_places");
  EXPECT_BAD(q->together_weeks = 0, "together_weeks");
  EXPECT_BAD(q->together_weeks = 105, "together_weeks");
  EXPECT_BAD(q->together_min_count = 0, "together_min_count");
  EXPECT_BAD(q->together_min_places = 0, "together_min_places");
  EXPECT_BAD(q->cross_weeks = 0, "cross_weeks");
  EXPECT_BAD(q->cross_min_scales = 1, "cross_min_scales");
  EXPECT_BAD(q->cross_min_scales = HLS_SCALE_COUNT + 1, "cross_min_scales");
  EXPECT_GOOD(q->cross_min_scales = HLS_SCALE_COUNT);
  EXPECT_BAD(q->cross_min_places = 0, "cross_min_places");
  EXPECT_BAD(q->cross_min_places = 65, "cross_min_places");

  /* The engine refuses them too; NULL means the defaults. */
  struct hls_patterns *pt = NULL;
  struct hls_pat_params bad = def;
  bad.end_weeks = 0;
  struct hls_why why = {{0}};
  assert_int_equal(hls_patterns_new(&pt, &bad, &why), HLS_EINVAL);
  assert_null(pt);
  assert_non_null(strstr(why.text, "end_weeks"));
  assert_int_equal(hls_patterns_new(&pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(pt));
  hls_patterns_free(pt);
  hls_patterns_free(NULL);
}

static void test_names(void **state) {
  (void)state;
  static const char *const names[] = {"spread", "emerging", "rising", "together", "cross-scale"};
  assert_int_equal(HLS_PAT_SIGNAL_COUNT, 5);
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++) {
    assert_string_equal(hls_pat_signal_name(i), names[i]);
    int s = -1;
    assert_int_equal(hls_pat_signal_parse(names[i], &s), 0);
    assert_int_equal(s, i);
  }
  int s = 42;
  assert_int_equal(hls_pat_signal_parse("Spread", &s), HLS_EINVAL);
  assert_int_equal(s, 42);
  assert_string_equal(hls_pat_signal_name(-1), "unknown");
  assert_string_equal(hls_pat_signal_name(HLS_PAT_SIGNAL_COUNT), "unknown");
  static const char *const changes[] = {"new", "updated", "retracted", "ended", "joined", "left", "grew", "shrank"};
  assert_int_equal(HLS_PAT_CHANGE_COUNT, 8);
  for (int i = 0; i < HLS_PAT_CHANGE_COUNT; i++) {
    assert_string_equal(hls_pat_change_name(i), changes[i]);
    int c = -1;
    assert_int_equal(hls_pat_change_parse(changes[i], &c), 0);
    assert_int_equal(c, i);
  }
  int c = 42;
  assert_int_equal(hls_pat_change_parse("New", &c), HLS_EINVAL);
  assert_int_equal(c, 42);
  assert_string_equal(hls_pat_change_name(-1), "unknown");
  assert_string_equal(hls_pat_change_name(HLS_PAT_CHANGE_COUNT), "unknown");
}

static void expect_week(int y, int w, int32_t want) {
  int32_t got = 0;
  if (hls_patterns_week(y, w, &got) != 0) fail_msg("%d-W%02d refused", y, w);
  if (got != want) fail_msg("%d-W%02d: week %d, want %d", y, w, (int)got, (int)want);
  int yy = 0, ww = 0;
  hls_patterns_iso_week(want, &yy, &ww);
  if (yy != y || ww != w) fail_msg("week %d: %d-W%02d, want %d-W%02d", (int)want, yy, ww, y, w);
}

static void test_week_numbers(void **state) {
  (void)state;
  /* Week 0 is 1970-W01 (Monday 1969-12-29); values from Python's
   * date.fromisocalendar: (days since 1970-01-01 + 3) / 7. */
  expect_week(1970, 1, 0);
  expect_week(1969, 52, -1);
  expect_week(1900, 1, -3652);
  expect_week(2004, 53, 1826);
  expect_week(2015, 53, 2400);
  expect_week(2020, 53, 2661); /* a 53-week year ... */
  expect_week(2021, 1, 2662);  /* ... and the next one starts right after */
  expect_week(2025, 51, BASE);
  expect_week(2026, 1, 2922);
  expect_week(2026, 53, 2974);
  expect_week(2027, 1, 2975);
  expect_week(9999, 52, 418985);

  int32_t w = 12345;
  assert_int_equal(hls_patterns_week(2021, 53, &w), HLS_EINVAL); /* 2021 has 52 weeks */
  assert_int_equal(hls_patterns_week(2025, 53, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(2026, 0, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(2026, 54, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(1899, 52, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(10000, 1, &w), HLS_EINVAL);
  assert_int_equal(w, 12345);

  /* Every ISO week of 1900..9999: consecutive weeks are consecutive
   * numbers, and the numbers map back. */
  int32_t prev = 0;
  size_t n = 0, n53 = 0;
  for (int y = 1900; y <= 9999; y++)
    for (int wk = 1; wk <= 53; wk++) {
      if (hls_patterns_week(y, wk, &w) != 0) {
        assert_int_equal(wk, 53);
        continue;
      }
      if (n > 0 && w != prev + 1) fail_msg("%d-W%02d is week %d after %d", y, wk, (int)w, (int)prev);
      int yy, ww;
      hls_patterns_iso_week(w, &yy, &ww);
      if (yy != y || ww != wk) fail_msg("week %d maps back to %d-W%02d, not %d-W%02d", (int)w, yy, ww, y, wk);
      prev = w;
      n++;
      n53 += wk == 53;
    }
  assert_int_equal(n, 418985 + 3652 + 1);
  assert_int_equal(n53, 1438); /* 53-week years in 1900..9999 (71 in every 400) */
}

/* Digests are refused for weeks that do not exist, kinds out of range,
 * and a span of weeks beyond HLS_PAT_MAX_SPAN_WEEKS. */
static void test_digest_refused(void **state) {
  (void)state;
  struct hls_patterns *pt = new_engine(NULL);
  uint8_t o[HLS_KEY_BYTES];
  origin_of(1, o);
  struct hls_digest_cell c = {.theme = "x", .kind = PROBLEM, .scale = ORG, .count = 1};
  struct hls_digest d = {.iso_year = 2021, .iso_week = 53, .method = sdc_default, .n_cells = 1, .cells = &c};
  assert_int_equal(hls_patterns_digest(pt, o, 1, &d), HLS_EINVAL);
  d.iso_week = 1;
  c.kind = HLS_KIND_COUNT;
  assert_int_equal(hls_patterns_digest(pt, o, 1, &d), HLS_EINVAL);
  c.kind = PROBLEM;
  assert_int_equal(hls_patterns_digest(pt, o, 1, &d), 0);
  int32_t w0;
  assert_int_equal(hls_patterns_week(2021, 1, &w0), 0);
  give(pt, 1, 2, w0 + HLS_PAT_MAX_SPAN_WEEKS - 1, NULL, 0, NULL); /* the span's last week */
  hls_patterns_iso_week(w0 + HLS_PAT_MAX_SPAN_WEEKS, &d.iso_year, &d.iso_week);
  assert_int_equal(hls_patterns_digest(pt, o, 3, &d), HLS_ELIMIT);
  hls_patterns_iso_week(w0 - 1, &d.iso_year, &d.iso_week);
  assert_int_equal(hls_patterns_digest(pt, o, 3, &d), HLS_ELIMIT);
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_int_equal(st.digests, 2);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_int_equal(held_all(pt).n, 0);
  engine_free(pt);
}

/* --- the hand spread: a spread pattern whose lineage holds the cells a case gives --- */

/* The default background (world_init: 30 places, 40 weeks) in which place
 * 1 gives `cells` (method m, NULL: the default) in week HAND_WEEK, and
 * places 2..9 take up each theme (name, kind) of those cells in weeks 30,
 * 31, 32 (one organisation cell of one record each): every theme given is
 * new to 9 places in 3 weeks, a spread pattern of places 1..9 whose
 * lineage holds place 1's cell of week HAND_WEEK. Not updated. */
#define HAND_WEEK 31
#define HAND_PLACES "1,2,3,4,5,6,7,8,9"

static void hand_adopters(const struct world *w, struct hls_patterns *pt, int wk, size_t n, const struct spec *cells) {
  struct spec take[MAX_CELLS];
  size_t nt = 0;
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < nt; j++) seen |= strcmp(take[j].theme, cells[i].theme) == 0 && take[j].kind == cells[i].kind;
    if (!seen) take[nt++] = (struct spec){cells[i].theme, cells[i].kind, ORG, 1, 0};
  }
  for (int l = 2; l <= 9; l++)
    if (wk == 30 + (l - 2) % 3) world_give_extra(w, pt, l, wk, world_seq(wk), NULL, nt, take);
}

static void hand_feed(const struct world *w, struct hls_patterns *pt, int from, int to,
                      const struct hls_digest_method *m, size_t n, const struct spec *cells) {
  for (int wk = from; wk <= to; wk++)
    for (int l = 1; l <= w->places; l++) {
      if (l == 1 && wk == HAND_WEEK) world_give_extra(w, pt, 1, wk, world_seq(wk), m, n, cells);
      else if (l >= 2 && l <= 9 && wk == 30 + (l - 2) % 3) hand_adopters(w, pt, wk, n, cells);
      else world_give(w, pt, l, wk);
    }
}

/* The world of hand_spread: a background with no pattern of its own, so
 * that its tests can count every change. (Seed 1's background held an
 * emerging pattern of bg-some by chance, p 0.01 in a week of few tests,
 * once the leave-out's law made the engine's p-values closer to their
 * chances; seeds 2 to 8 hold none.) */
#define HAND_SEED 2

static struct hls_patterns *hand_spread(struct world *w, const struct hls_digest_method *m, size_t n,
                                        const struct spec *cells) {
  world_init(w, HAND_SEED);
  struct hls_patterns *pt = new_engine(NULL);
  world_names(w, pt);
  hand_feed(w, pt, 0, w->weeks - 1, m, n, cells);
  return pt;
}

/* A single-theme pattern's counts are those of its lineage cells. */
static void assert_counts_are_lineage(const struct hls_patterns *pt, const struct hls_pattern *p) {
  const struct lineage *l = lineage_of(pt, p);
  uint64_t lo = 0, hi = 0;
  unsigned scales = 0;
  for (size_t i = 0; i < l->nc; i++) {
    assert_int_equal(l->c[i].theme, p->theme);
    assert_true(l->c[i].week >= p->week_from && l->c[i].week <= p->week_to);
    bool member = false;
    for (size_t k = 0; k < p->n_places; k++) member |= p->places[k] == l->c[i].place;
    assert_true(member);
    lo += l->c[i].lo;
    hi += l->c[i].hi;
    scales |= l->c[i].scales;
    if (i > 0) /* by week, place, theme */
      assert_true(l->c[i - 1].week < l->c[i].week ||
                  (l->c[i - 1].week == l->c[i].week && l->c[i - 1].place < l->c[i].place));
  }
  assert_int_equal(p->lo, lo);
  assert_int_equal(p->hi, hi);
  assert_int_equal(p->scales, scales);
}

/* --- the interval behind a published cell ---------------------------------------- */

/* The lineage cells of place 1 in HAND_WEEK of the spread patterns of
 * themes "x0".."x<n-1>", when place 1 gives cells[k] as theme "xk". */
static void bounds_many(const struct hls_digest_method *m, size_t n, const struct spec *cells,
                        struct hls_pat_cell_ref *out) {
  static char names[MAX_CELLS][8];
  struct spec named[MAX_CELLS];
  assert_true(n <= 64);
  for (size_t k = 0; k < n; k++) {
    snprintf(names[k], sizeof names[k], "x%zu", k);
    named[k] = cells[k];
    named[k].theme = names[k];
  }
  struct world w;
  struct hls_patterns *pt = hand_spread(&w, m, n, named);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  for (size_t k = 0; k < n; k++) {
    const struct hls_pattern *p = held_kind(pt, HLS_PAT_SPREAD, names[k], cells[k].kind);
    assert_places(pt, p, HAND_PLACES);
    assert_counts_are_lineage(pt, p);
    out[k] = lineage_cell(pt, p, 1, BASE + HAND_WEEK);
    assert_int_equal(out[k].seq, world_seq(HAND_WEEK));
  }
  engine_free(pt);
}

struct bounds_case {
  uint32_t threshold, rounding;
  int scale, count;
  uint32_t lo, hi;
};

static void expect_bounds(size_t n, const struct bounds_case *cases) {
  for (size_t i = 0; i < n; i++) {
    const struct bounds_case *b = &cases[i];
    const struct hls_digest_method m = {b->threshold, b->rounding, HLS_SDC_NEAREST};
    const struct spec c = {"x", PROBLEM, b->scale, b->count, 0};
    struct hls_pat_cell_ref r;
    bounds_many(&m, 1, &c, &r);
    if (r.lo != b->lo || r.hi != b->hi)
      fail_msg("t=%u r=%u scale %d count %d: [%u, %u], want [%u, %u]", b->threshold, b->rounding, b->scale, b->count,
               r.lo, r.hi, b->lo, b->hi);
    assert_int_equal(r.withheld, b->count == WITHHELD);
    assert_int_equal(r.scales, 1u << b->scale);
  }
}

static void test_cell_bounds_withheld(void **state) {
  (void)state;
  static const struct bounds_case cases[] = {
      {10, 5, PERSON, WITHHELD, 1, 9}, /* present: at least 1, below t */
      {7, 10, PERSON, WITHHELD, 1, 6},
      {5, 5, PERSON, WITHHELD, 1, 4},
      {1, 5, PERSON, WITHHELD, 1, 1}, /* t - 1 = 0 would be below present */
  };
  expect_bounds(sizeof cases / sizeof cases[0], cases);
}

static void test_cell_bounds_rounded(void **state) {
  (void)state;
  /* c -> [max(t, c - floor(r/2)), c + ceil(r/2) - 1] */
  static const struct bounds_case cases[] = {
      {10, 5, PERSON, 10, 10, 12}, /* 8 and 9 would have been withheld */
      {10, 5, PERSON, 15, 13, 17},
      {10, 5, PERSON, 20, 18, 22},
      {10, 5, PERSON, 1000000, 999998, 1000002},
      {7, 10, PERSON, 10, 7, 14}, /* 5, 6 withheld */
      {7, 10, PERSON, 20, 15, 24},
      {5, 3, PERSON, 6, 5, 7},
      {5, 3, PERSON, 9, 8, 10},
      {10, 2, PERSON, 12, 11, 12}, /* 11 = 5.5 x 2 rounds up to 12 */
      {10, 1, PERSON, 12, 12, 12}, /* rounding 1: exact */
  };
  expect_bounds(sizeof cases / sizeof cases[0], cases);
}

static void test_cell_bounds_exact_other_scales(void **state) {
  (void)state;
  static const struct bounds_case cases[] = {
      {10, 5, ORG, 3, 3, 3},   {10, 5, ORG, 12, 12, 12}, {10, 5, PLACE, 1, 1, 1},
      {10, 5, HLS_SCALE_COUNTRY, 7, 7, 7}, {10, 5, ORG, 0, 0, 0},
  };
  expect_bounds(sizeof cases / sizeof cases[0], cases);
}

/* The interval is exactly the raw counts hls_disclose publishes as that
 * cell: every raw count is inside its published cell's interval, and the
 * interval's ends publish the same cell. One world per method, a theme
 * per raw count. */
static void test_cell_bounds_match_disclosure(void **state) {
  (void)state;
  static const struct hls_digest_method methods[] = {{10, 5, HLS_SDC_NEAREST}, {7, 10, HLS_SDC_NEAREST}, {5, 3, HLS_SDC_NEAREST},
                                                     {10, 2, HLS_SDC_NEAREST}, {10, 1, HLS_SDC_NEAREST}, {12, 4, HLS_SDC_NEAREST},
                                                     {20, 10, HLS_SDC_NEAREST}};
  enum { RAW_MAX = 60 };
  for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
    const struct hls_digest_method *m = &methods[mi];
    struct spec cells[RAW_MAX];
    bool withheld[RAW_MAX];
    uint32_t published[RAW_MAX];
    for (uint32_t raw = 1; raw <= RAW_MAX; raw++) {
      hls_disclose(m, PERSON, raw, 0, &withheld[raw - 1], &published[raw - 1]);
      cells[raw - 1] = (struct spec){"", PROBLEM, PERSON, withheld[raw - 1] ? WITHHELD : (int)published[raw - 1], 0};
    }
    struct hls_pat_cell_ref r[RAW_MAX];
    bounds_many(m, RAW_MAX, cells, r);
    for (uint32_t raw = 1; raw <= RAW_MAX; raw++) {
      const struct hls_pat_cell_ref *c = &r[raw - 1];
      if (raw < c->lo || raw > c->hi)
        fail_msg("t=%u r=%u raw %u: [%u, %u]", m->threshold, m->rounding, raw, c->lo, c->hi);
      bool w2;
      uint32_t p2;
      hls_disclose(m, PERSON, c->lo, 0, &w2, &p2);
      assert_true(w2 == withheld[raw - 1] && p2 == published[raw - 1]);
      hls_disclose(m, PERSON, c->hi, 0, &w2, &p2);
      assert_true(w2 == withheld[raw - 1] && p2 == published[raw - 1]);
      if (c->lo > 1) {
        hls_disclose(m, PERSON, c->lo - 1, 0, &w2, &p2);
        assert_false(w2 == withheld[raw - 1] && p2 == published[raw - 1]);
      }
      hls_disclose(m, PERSON, c->hi + 1, 0, &w2, &p2);
      assert_false(w2 == withheld[raw - 1] && p2 == published[raw - 1]);
    }
  }
}

/* Cells of one theme key (theme, kind) are folded over scale and stage;
 * another kind of the same name is another theme. */
static void test_cell_fold(void **state) {
  (void)state;
  const struct spec cells[] = {
      {"x", PROBLEM, PERSON, WITHHELD, HLS_STAGE_PURPOSE}, /* [1, 9] */
      {"x", PROBLEM, PERSON, 15, HLS_STAGE_EXPERIMENT},    /* [13, 17] */
      {"x", PROBLEM, ORG, 4, HLS_STAGE_PURPOSE},           /* [4, 4] */
      {"x", PROBLEM, PLACE, 2, HLS_STAGE_EMBED},           /* [2, 2] */
      {"x", HLS_KIND_ASPIRATION, ORG, 5, HLS_STAGE_PURPOSE},
  };
  struct world w;
  struct hls_patterns *pt = hand_spread(&w, NULL, 5, cells);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  struct hls_pat_cell_ref c = lineage_cell(pt, p, 1, BASE + HAND_WEEK);
  assert_int_equal(c.lo, 1 + 13 + 4 + 2);
  assert_int_equal(c.hi, 9 + 17 + 4 + 2);
  assert_int_equal(c.scales, (1u << PERSON) | (1u << ORG) | (1u << PLACE));
  assert_true(c.withheld);
  assert_counts_are_lineage(pt, p);
  assert_int_equal(p->scales, (1u << PERSON) | (1u << ORG) | (1u << PLACE));
  /* the withheld part of its expected count: the withheld cell's middle */
  assert_true(fabs(p->withheld - 5.0) < 1e-6);
  assert_true(p->lo < p->expected && p->expected < p->hi);
  const struct hls_pattern *a = held_kind(pt, HLS_PAT_SPREAD, "x", HLS_KIND_ASPIRATION);
  assert_int_not_equal(a->theme, p->theme);
  c = lineage_cell(pt, a, 1, BASE + HAND_WEEK);
  assert_int_equal(c.lo, 5);
  assert_int_equal(c.hi, 5);
  assert_false(c.withheld);
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_int_equal(st.themes, w.n_themes + 2);
  assert_int_equal(st.digests, (size_t)w.places * (size_t)w.weeks);
  assert_int_equal(st.places, (size_t)w.places);
  assert_int_equal(st.by_signal[HLS_PAT_SPREAD], 2);
  engine_free(pt);
}

/* --- signals on generated worlds -------------------------------------------------- */

/* Feed a world week by week and update once. */
static struct hls_patterns *world_run(const struct world *w, const struct hls_pat_params *prm) {
  struct hls_patterns *pt = new_engine(prm);
  world_names(w, pt);
  world_feed(w, pt, 0, w->weeks - 1);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(pt));
  return pt;
}

/* The steady world: 40 places in 4 regions, six background themes from
 * scarce (0.1 records a place-week: a place reports it one week in ten)
 * to reported by every place every week (10 and 25). */
static void steady_world(struct world *w, uint64_t seed) {
  world_init(w, seed);
  w->places = 40;
  w->weeks = 70;
  w->regions = 4;
  w->n_themes = 6;
  w->themes[4] = (struct bg_theme){"bg-scarce", 0.1, ORG};
  w->themes[5] = (struct bg_theme){"bg-lots", 25, ORG};
}

/* Nothing changes, so nothing should be found. A theme every place
 * reports every week is never "new" or "jumping" at places: no spread,
 * emerging, cross-scale or together pattern of it (the old engine called
 * every common theme "spread" and "cross-scale"). Any theme may give a
 * false discovery now and then: each week's tests are held to a false
 * discovery rate of fdr = 0.05 (0.025 for the single-theme family): in a
 * world this small a week has only a few tests with any sign of change,
 * so a false discovery is possible in about 0.025 of the 57 testable
 * weeks, about 1.4 a world at most; a region's share of a common theme
 * (rising) is tested like any other. Measured over the 10 seeds here:
 * see the NOTE; at most 15 allowed, no together or cross-scale. Over 60
 * seeds (101-160), 2026-12-05: 14 patterns, 12 of them rising, 3 of those
 * of bg-lots; with rising's baseline right before its window (before its
 * gap) 13, 11 and 1. */
#define STEADY_SEEDS 10
static void test_steady_world_is_quiet(void **state) {
  (void)state;
  size_t total = 0, by_signal[HLS_PAT_SIGNAL_COUNT] = {0};
  for (uint64_t seed = 101; seed < 101 + STEADY_SEEDS; seed++) {
    struct world w;
    steady_world(&w, seed);
    struct hls_patterns *pt = world_run(&w, NULL);
    struct held h = held_all(pt);
    for (size_t i = 0; i < h.n; i++) {
      const struct hls_pattern *p = h.p[i];
      pattern_print(pt, "steady: ", p);
      /* a theme every place reports every week: never new, never a jump */
      if (strcmp(theme_name(pt, p->theme, NULL), "bg-lots") == 0 && p->signal != HLS_PAT_RISING)
        fail_msg("seed %d: a %s pattern of a theme every place reports every week", (int)seed,
                 hls_pat_signal_name(p->signal));
      by_signal[p->signal]++;
    }
    total += h.n;
    struct hls_pat_stats st;
    hls_patterns_stats(pt, &st);
    assert_int_equal(st.patterns, h.n);
    assert_int_equal(st.digests, 40 * 70);
    engine_free(pt);
  }
  NOTE("steady worlds: %zu patterns in %d worlds of 40 places x 70 weeks\n", total, STEADY_SEEDS);
  assert_int_equal(by_signal[HLS_PAT_TOGETHER], 0);
  assert_int_equal(by_signal[HLS_PAT_CROSS_SCALE], 0);
  assert_true(total <= 15);
}

/* Spread: theme x, never reported before, taken up by places 1..8 in weeks
 * 30-32 (3, 3 and 2 places), after 30 weeks of history at 30 places. The
 * places at risk took up nothing new in the 26 weeks before, so the
 * expected number of new places is small (0.1) and 8 is a discovery the
 * week the third place takes it up. It holds while the last 4 weeks have
 * at least spread_min_places new places (to week 34) and ends end_weeks
 * (3) after: the update of week 37 reports it ENDED. */
static void test_spread_new_places(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 3);
  world_spread(&w, "x");
  struct hls_patterns *pt = new_engine(NULL);
  world_names(&w, pt);
  world_feed(&w, pt, 0, 33);
  struct log log = {.pt = pt};
  assert_int_equal(hls_patterns_update(pt, on_change, &log), 0);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.c[0].change, HLS_PAT_NEW);
  assert_int_equal(held_all(pt).n, 1);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  pattern_print(pt, "spread: ", p);
  assert_places(pt, p, "1,2,3,4,5,6,7,8");
  assert_true(p->live);
  assert_true(p->week_from >= BASE + SPREAD_WEEK - 3 && p->week_from <= BASE + SPREAD_WEEK);
  assert_int_equal(p->week_to, BASE + 33);
  assert_true(p->score == 8.0); /* new places at its strongest week */
  assert_true(p->score2 > 0 && p->score2 < 0.5); /* expected */
  assert_true(p->p < 1e-9);
  assert_int_equal(p->scales, 1u << ORG);
  assert_counts_are_lineage(pt, p);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, p->id, sizeof id);
  /* Weeks without new places: it ends end_weeks after its last evidence. */
  int ended_at = -1;
  for (int wk = 34; wk < w.weeks; wk++) {
    world_feed(&w, pt, wk, wk);
    memset(&log, 0, sizeof log);
    log.pt = pt;
    assert_int_equal(hls_patterns_update(pt, on_change, &log), 0);
    for (size_t i = 0; i < log.n; i++) {
      assert_memory_equal(log.c[i].p.id, id, sizeof id);
      assert_true(log.c[i].change == HLS_PAT_UPDATED || log.c[i].change == HLS_PAT_ENDED);
      if (log.c[i].change == HLS_PAT_ENDED) {
        assert_int_equal(ended_at, -1);
        ended_at = wk;
        assert_false(log.c[i].p.live);
      }
    }
  }
  assert_int_equal(ended_at, 37);
  p = hls_patterns_find(pt, id);
  assert_non_null(p);
  assert_false(p->live);
  assert_int_equal(p->week_to, BASE + 34); /* its last week with evidence */
  /* ...and its p_now is that week's: evidence, not the p of the week it
   * ended in (which was 1 there: no new place) */
  assert_true(p->p_now <= 0.05); /* keep_p, the default */
  assert_places(pt, p, "1,2,3,4,5,6,7,8");
  engine_free(pt);
}

/* Emerging: bg-often (4 records a place-week) at 5 times its rate at
 * places 1..8 for weeks 30-32. One emerging pattern of bg-often, most of
 * its places among 1..8; nothing else. Measured over 50 seeds: found in
 * all, p 6e-10..9e-7. */
static void test_emerging_jump(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 4);
  struct plant *pl = world_plant(&w);
  pl->theme = "bg-often";
  pl->place_from = 1;
  pl->place_to = 8;
  pl->week_from = 30;
  pl->week_to = 32;
  pl->mult = 5;
  struct hls_patterns *pt = world_run(&w, NULL);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_EMERGING, "bg-often");
  pattern_print(pt, "emerging: ", p);
  assert_int_equal(held_all(pt).n, 1);
  assert_true(labels_in(pt, p, 1, 8) >= 6);
  assert_true(p->n_places <= (size_t)labels_in(pt, p, 1, 8) + 2);
  assert_true(p->week_from >= BASE + 28 && p->week_from <= BASE + 30);
  assert_true(p->week_to >= BASE + 32 && p->week_to <= BASE + 35);
  assert_false(p->live); /* ended by week 39 */
  assert_true(p->score > 0);
  assert_true(p->p < 1e-5);
  assert_counts_are_lineage(pt, p);
  engine_free(pt);
}

/* Rising, slowly: in region North (10 of 40 places in 4 regions) bg-some
 * (1.5 a place-week) rises by 40% over 24 weeks (weeks 40-63) and stays
 * there to week 79, in 30 worlds (seeds 7919 x 1..30). Its test compares
 * the region's last 8 weeks with the 26 weeks that end 8 weeks before
 * them (a gap of one window): measured, a rising pattern of bg-some in
 * North in 24 of the 30 worlds, first at 15.9 weeks after the start on
 * average; with the baseline right before the window (the engine before
 * 2026-12-05) in 16 of 30, at 17.6 weeks: the slow rise was absorbed
 * into its own baseline as it went. */
static void test_rising_slow_ramp(void **state) {
  (void)state;
  int found = 0;
  for (int seed = 1; seed <= 30; seed++) {
    struct world w;
    world_init(&w, (uint64_t)seed * 7919);
    w.places = 40;
    w.weeks = 80;
    w.regions = 4;
    struct plant *pl = world_plant(&w);
    pl->theme = "bg-some";
    pl->place_from = 1;
    pl->place_to = 40;
    pl->region = 1;
    pl->week_from = 40;
    pl->week_to = 63;
    pl->mult = 1.4;
    pl->ramp = true;
    struct hls_patterns *pt = world_run(&w, NULL);
    struct held h = held_all(pt);
    bool f = false;
    for (size_t i = 0; i < h.n; i++) {
      int k;
      if (h.p[i]->signal != HLS_PAT_RISING || strcmp(theme_name(pt, h.p[i]->theme, &k), "bg-some") != 0 ||
          strcmp(h.p[i]->region, "North") != 0 || h.p[i]->week_to < BASE + 40)
        continue;
      f = true;
      for (size_t j = 0; j < h.p[i]->n_places; j++) {
        struct hls_pat_place_info info;
        assert_int_equal(hls_patterns_place_info(pt, h.p[i]->places[j], &info), 0);
        assert_string_equal(info.region, "North");
      }
    }
    found += f;
    engine_free(pt);
  }
  NOTE("slow rise found in %d of 30 worlds\n", found);
  assert_true(found >= 22);
}

/* Rising: in region North (places 1, 5, ..., 37 of 40 in 4 regions)
 * bg-often doubles over weeks 28-37 and stays doubled to week 43; the
 * other regions are steady. A rising pattern of bg-often in North, live,
 * its places North's; no rising pattern of bg-often elsewhere. Seed 1001:
 * p 1.7e-24 (counts in units of the places' pooled variance over mean,
 * about 1 for these Poisson counts; before, in units of E[x^2]/E[x], 5
 * for a count of mean 4: p 1.4e-7..2.9e-4 over 50 seeds). */
static void test_rising_region_share(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 1001);
  w.places = 40;
  w.weeks = 44;
  w.regions = 4;
  struct plant *pl = world_plant(&w);
  pl->theme = "bg-often";
  pl->place_from = 1;
  pl->place_to = 40;
  pl->region = 1;
  pl->week_from = 28;
  pl->week_to = 37;
  pl->mult = 2;
  pl->ramp = true;
  struct hls_patterns *pt = world_run(&w, NULL);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_RISING, "bg-often");
  pattern_print(pt, "rising: ", p);
  assert_string_equal(p->region, "North");
  assert_true(p->live);
  assert_int_equal(p->week_to, BASE + 43);
  assert_true(p->week_from >= BASE + 28 && p->week_from <= BASE + 40);
  assert_true(p->n_places >= 8);
  for (size_t i = 0; i < p->n_places; i++) {
    struct hls_pat_place_info info;
    assert_int_equal(hls_patterns_place_info(pt, p->places[i], &info), 0);
    assert_string_equal(info.region, "North");
    assert_int_equal((info.origin[0] - 1) % 4, 0);
  }
  assert_true(p->score > 0);                       /* z of the share */
  assert_true(p->score2 > 0.2 && p->score2 < 0.3); /* North's baseline share: a quarter */
  assert_true(p->p < 1e-3);
  /* bg-often rises in North only; other themes are steady, and what the
   * weekly false discovery rate lets through of them is weak (this seed:
   * one, bg-always in East, p 0.0025, while the plant's tests lower the
   * week's cutoff) */
  assert_int_equal(held_count(pt, HLS_PAT_RISING, "bg-often", PROBLEM), 1);
  struct held h = held_all(pt);
  for (size_t i = 0; i < h.n; i++)
    if (h.p[i]->signal == HLS_PAT_RISING && h.p[i] != p) assert_true(h.p[i]->p > 1e-4);
  engine_free(pt);
}

/* Together: themes ta and tb, never reported before, suddenly reported in
 * the same weeks at places 1..15 (each week with chance 0.3, both themes;
 * weeks 32-39, one aligned window). Against each place's own frequencies
 * of each theme in its quieter and busier weeks of the window, place-weeks
 * with both are about twice what independence predicts (a place reporting
 * the two in 4 of its 4 busier weeks is expected to report both in all
 * 4). A together pattern (ta, tb) of the window, its places among 1..15,
 * live. Each of 8 seeds must find it (over seeds 21-70 all 50 do, with
 * 1.7 to 2.5 times the expected place-weeks; before the Mantel-Haenszel
 * test 45 of 50 did). */
static void together_world(struct world *w, uint64_t seed, double chance) {
  world_init(w, seed);
  struct plant *pl = world_plant(w);
  pl->theme = "ta";
  pl->theme2 = "tb";
  pl->place_from = 1;
  pl->place_to = 15;
  pl->week_from = 32;
  pl->week_to = 39;
  pl->add = 0.5;
  pl->chance = chance;
}

static const struct hls_pattern *together_check(const struct hls_patterns *pt) {
  const struct hls_pattern *p = held_one(pt, HLS_PAT_TOGETHER, "ta");
  pattern_print(pt, "together: ", p);
  assert_string_equal(theme_name(pt, p->theme2, NULL), "tb");
  assert_int_equal(p->week_from, BASE + 32);
  assert_int_equal(p->week_to, BASE + 39);
  assert_true(p->live);
  assert_true(p->n_places >= 10 && labels_in(pt, p, 1, 15) == (int)p->n_places);
  assert_true(p->score > 1.5 * p->score2); /* place-weeks with both, and expected */
  return p;
}

static void test_together_sudden(void **state) {
  (void)state;
  int missed = 0;
  for (uint64_t seed = 21; seed <= 28; seed++) {
    struct world w;
    together_world(&w, seed, 0.3);
    struct hls_patterns *pt = world_run(&w, NULL);
    if (held_count(pt, HLS_PAT_TOGETHER, "ta", PROBLEM) == 0) {
      NOTE("together: seed %d: no together pattern\n", (int)seed);
      missed++;
    } else {
      (void)together_check(pt);
    }
    engine_free(pt);
  }
  if (missed) fail_msg("%d of 8 seeds found no together pattern", missed);
}

/* Together asks whether two themes *started* to be reported together: a
 * place with no weeks in a pair's history windows says nothing of a
 * change. ta and tb reported in the same weeks at places 1..15 (chance
 * 0.3 a week) from the network's first week to its last (40 weeks: five
 * windows), as steady as an association can be: no together pattern.
 * Before, each place with no history kept its whole excess in the change
 * statistic, so the network's first two windows (no history at all) read
 * "associated now" as "newly associated". */
static void test_together_without_history_is_no_change(void **state) {
  (void)state;
  int opened = 0;
  for (uint64_t seed = 21; seed <= 24; seed++) {
    struct world w;
    together_world(&w, seed, 0.3);
    w.plants[0].week_from = 0;
    w.plants[0].week_to = w.weeks - 1;
    struct hls_patterns *pt = world_run(&w, NULL);
    struct held h = held_all(pt);
    for (size_t i = 0; i < h.n; i++)
      if (h.p[i]->signal == HLS_PAT_TOGETHER) {
        pattern_print(pt, "together without history: ", h.p[i]);
        opened++;
      }
    engine_free(pt);
  }
  assert_int_equal(opened, 0);
}

/* A together pattern over several windows: bg-rare and bg-scarce, which
 * every place reports now and then, reported in the same weeks (with
 * chance 0.7 a week) at places 1..15 of 30 from week 32 to the end (week
 * 63: four windows). A place is one of its places when its weeks of both,
 * summed over its tables of the pattern's windows, are beyond what
 * independence gives by chance 25% of the time (exact), so a place with
 * chance excess in one window and none in the next is not kept for that
 * window, as a union of the windows' places would. Over seeds 41-70, 18
 * patterns of two windows or more: 255 of their 270 planted places listed
 * (94%) and 64 of their 270 others (24%); the union rule this replaced
 * listed 262 (97%) and 211 (78%). */
static void test_together_places_over_windows(void **state) {
  (void)state;
  int found = 0, planted = 0, others = 0;
  for (uint64_t seed = 41; seed <= 70; seed++) {
    struct world w;
    world_init(&w, seed);
    w.weeks = 64;
    w.n_themes = 5;
    w.themes[4] = (struct bg_theme){"bg-scarce", 0.3, ORG};
    struct plant *pl = world_plant(&w);
    *pl = (struct plant){.theme = "bg-rare", .theme2 = "bg-scarce", .place_from = 1, .place_to = 15, .week_from = 32,
                         .week_to = 63, .add = 1, .chance = 0.7, .scale = ORG, .scale2 = -1};
    struct hls_patterns *pt = world_run(&w, NULL);
    if (held_count(pt, HLS_PAT_TOGETHER, "bg-rare", PROBLEM) == 1) {
      const struct hls_pattern *p = held_one(pt, HLS_PAT_TOGETHER, "bg-rare");
      if (p->week_to - p->week_from >= 15) { /* two windows or more */
        found++;
        int in = labels_in(pt, p, 1, 15);
        planted += in, others += (int)p->n_places - in;
        NOTE("seed %d: weeks +%d..+%d, %d of 15 planted places, %d others\n", (int)seed, p->week_from - BASE,
             p->week_to - BASE, in, (int)p->n_places - in);
      }
    }
    engine_free(pt);
  }
  NOTE("found %d: planted %d others %d\n", found, planted, others);
  assert_true(found >= 15);
  assert_true(planted >= found * 15 * 85 / 100);
  assert_true(others <= found * 15 / 3);
}

/* The minimal case of the failure above (seed 301, chance 0.2: place-weeks
 * with both 30 against 11 expected, p = 1.69e-6, the only discovery of
 * week 39). Window tests keep their p-value as a double (pfound.p) but
 * the week's Benjamini-Hochberg cutoff is computed from float copies
 * (window.tests): when the pair is the week's largest discovery the
 * cutoff is (double)(float)p, below p about half the time, and
 * together_emit's "pf->p <= cut" refuses the discovery. */
static void test_together_discovery_at_cutoff(void **state) {
  (void)state;
  struct world w;
  together_world(&w, 301, 0.2);
  struct hls_patterns *pt = world_run(&w, NULL);
  (void)together_check(pt);
  engine_free(pt);
}

/* Cross-scale: bg-some (1.5 records a place-week, organisation scale
 * only) gains 1 + Poisson(3) records a week at person scale (withheld,
 * mostly) AND as many at organisation scale at places 1..6 from week 30.
 * A cross-scale pattern of bg-some at exactly those places, both scales.
 * Measured over 50 seeds: found in all, p 3e-12..2e-8 (an emerging
 * pattern of bg-some comes with it: the total jumps too). */
static void test_cross_scale(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 31);
  struct plant *pl = world_plant(&w);
  pl->theme = "bg-some";
  pl->place_from = 1;
  pl->place_to = 6;
  pl->week_from = 30;
  pl->week_to = 39;
  pl->add = 3;
  pl->scale = PERSON;
  pl->scale2 = ORG;
  struct hls_patterns *pt = world_run(&w, NULL);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_CROSS_SCALE, "bg-some");
  pattern_print(pt, "cross-scale: ", p);
  assert_places(pt, p, "1,2,3,4,5,6");
  assert_true((p->scales & (1u << PERSON)) && (p->scales & (1u << ORG)));
  assert_true(p->week_from >= BASE + 27 && p->week_from <= BASE + 30);
  assert_true(p->p < 1e-3); /* measured 1e-4: 6 places, truncated product */
  assert_true(p->withheld > 0); /* its person-scale cells are withheld */
  assert_counts_are_lineage(pt, p);
  struct held h = held_all(pt);
  for (size_t i = 0; i < h.n; i++) /* nothing but bg-some */
    assert_string_equal(theme_name(pt, h.p[i]->theme, NULL), "bg-some");
  engine_free(pt);
}

/* Withheld cells (threshold 10: every count below 10 at person scale is
 * published as "present", [1, 9]) still show a strong change, in the
 * weeks a theme is present:
 *   - wh-new, never reported, taken up by places 1..8 (1-2 records a
 *     week: withheld): spread;
 *   - wh, reported one week in ten (0.1 a place-week), then present
 *     nearly every week (3 a week, still withheld) at places 11..25 for
 *     4 weeks: emerging (measured over 50 seeds: found in all, p
 *     1.7e-6..6.8e-4; at 10 places only 36 of 50);
 * and the same theme steady for 70 weeks gives nothing. */
static void test_withheld_cells(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 7001);
  w.n_themes = 5;
  w.themes[4] = (struct bg_theme){"wh", 0.1, PERSON};
  world_spread(&w, "wh-new");
  w.plants[0].scale = PERSON;
  struct plant *pl = world_plant(&w);
  pl->theme = "wh";
  pl->place_from = 11;
  pl->place_to = 25;
  pl->week_from = 30;
  pl->week_to = 33;
  pl->mult = 30;
  struct hls_patterns *pt = world_run(&w, NULL);
  const struct hls_pattern *s = held_one(pt, HLS_PAT_SPREAD, "wh-new");
  pattern_print(pt, "withheld: ", s);
  assert_places(pt, s, "1,2,3,4,5,6,7,8");
  assert_int_equal(s->scales, 1u << PERSON);
  assert_true(s->withheld > 0 && fabs(s->withheld - s->expected) < 1e-6); /* all withheld */
  const struct lineage *l = lineage_of(pt, s);
  for (size_t i = 0; i < l->nc; i++) {
    assert_true(l->c[i].withheld);
    assert_int_equal(l->c[i].lo, 1);
    assert_int_equal(l->c[i].hi, 9);
  }
  const struct hls_pattern *e = held_one(pt, HLS_PAT_EMERGING, "wh");
  pattern_print(pt, "withheld: ", e);
  assert_true(labels_in(pt, e, 11, 25) >= 10);
  assert_true(e->week_from >= BASE + 28 && e->week_from <= BASE + 33);
  l = lineage_of(pt, e);
  size_t withheld = 0;
  for (size_t i = 0; i < l->nc; i++) withheld += l->c[i].withheld;
  assert_true(withheld * 10 >= l->nc * 9); /* its cells are (nearly all) withheld */
  engine_free(pt);

  /* wh steady: no pattern of it (the other themes may hold one by
   * chance now and then: test_steady_world_is_quiet counts those). */
  world_init(&w, 7002);
  w.weeks = 70;
  w.n_themes = 5;
  w.themes[4] = (struct bg_theme){"wh", 0.1, PERSON};
  pt = world_run(&w, NULL);
  held_print(pt);
  assert_int_equal(held_of_theme(pt, "wh"), 0);
  engine_free(pt);
  world_init(&w, 7003);
  w.weeks = 70;
  w.n_themes = 5;
  w.themes[4] = (struct bg_theme){"wh", 2, PERSON}; /* present most weeks, withheld */
  pt = world_run(&w, NULL);
  held_print(pt);
  assert_int_equal(held_of_theme(pt, "wh"), 0);
  engine_free(pt);
}

/* A member may publish any counts it likes: one place alone, however
 * extreme, makes no pattern. In a steady world of 40 places in 4
 * regions, place 1 reports bg-some (normally 1.5 a week) `attack` times
 * a week at organisation and at person scale from week `from` to 39, and a theme
 * no one else has, "fake", as often; place 5 (same region) reports
 * bg-some a little more than usual (1-2 records a week more). No
 * emerging, rising or cross-scale pattern of either theme may follow. */
static void one_place_attack(int attack, int from) {
  struct world w;
  world_init(&w, 4242);
  w.places = 40;
  w.regions = 4;
  struct hls_patterns *pt = new_engine(NULL);
  world_names(&w, pt);
  world_feed(&w, pt, 0, from - 1);
  for (int wk = from; wk < w.weeks; wk++) {
    for (int l = 1; l <= w.places; l++) {
      if (l == 1) {
        const struct spec extra[] = {{"bg-some", PROBLEM, ORG, attack, 0},
                                     {"bg-some", PROBLEM, PERSON, attack, 0},
                                     {"fake", PROBLEM, ORG, attack, 0}};
        world_give_extra(&w, pt, l, wk, world_seq(wk), NULL, 3, extra);
      } else if (l == 5) { /* place 1's region is every fourth label */
        const struct spec extra[] = {{"bg-some", PROBLEM, ORG, 1 + wk % 2, 0}};
        world_give_extra(&w, pt, l, wk, world_seq(wk), NULL, 1, extra);
      } else {
        world_give(&w, pt, l, wk);
      }
    }
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  }
  NOTE("attack %d:\n", attack);
  held_print(pt);
  static const int signals[] = {HLS_PAT_EMERGING, HLS_PAT_RISING, HLS_PAT_CROSS_SCALE};
  for (size_t k = 0; k < sizeof signals / sizeof signals[0]; k++) {
    assert_int_equal(held_count(pt, signals[k], "bg-some", PROBLEM), 0);
    assert_int_equal(held_count(pt, signals[k], "fake", PROBLEM), 0);
  }
  engine_free(pt);
}

/* Measured on the engine before leave-one-out (16dcb83): a million a
 * week in weeks 36-39 gave an emerging pattern of bg-some at places 1 and
 * 15 (p 1e-38); 30 a week in weeks 32-39, a rising pattern of bg-some in
 * place 1's region (p 9e-7). */
static void test_one_place_makes_no_pattern(void **state) {
  (void)state;
  one_place_attack(1000000, 36);
  one_place_attack(30, 32);
}

/* Signals far beyond any baseline are found too: 30 places of 60 taking
 * up a new theme in the same week; bg-often at 40 times its rate at 30
 * places of 40.
 *
 * A defect at 880f7b7 (measured: no pattern at all in either case; 20 new
 * places give p = 3e-40 and are found, 25 or more give nothing; a 20x
 * jump gives p = 2e-43 and is found, 40x nothing). The weekly p-values
 * are kept as float (theme.pv): below 1.4e-45 they become 0. A week whose
 * only discoveries have p = 0 gets the Benjamini-Hochberg cutoff 0, which
 * cutoffs_compute and theme_episodes read as "no discovery" (cut > 0):
 * the strongest signals vanish. */
static void test_strong_signals_are_found(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 77);
  w.places = 60;
  struct plant *pl = world_plant(&w);
  pl->theme = "x";
  pl->place_from = 1;
  pl->place_to = 30;
  pl->week_from = 30;
  pl->week_to = 30;
  pl->add = 0.5;
  struct hls_patterns *pt = world_run(&w, NULL);
  held_print(pt);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  assert_int_equal(labels_in(pt, p, 1, 30), 30);
  assert_true(p->p > 0);
  engine_free(pt);

  world_init(&w, 78);
  w.places = 40;
  pl = world_plant(&w);
  pl->theme = "bg-often";
  pl->place_from = 1;
  pl->place_to = 30;
  pl->week_from = 30;
  pl->week_to = 32;
  pl->mult = 40;
  pt = world_run(&w, NULL);
  held_print(pt);
  p = held_one(pt, HLS_PAT_EMERGING, "bg-often");
  assert_true(labels_in(pt, p, 1, 30) >= 28);
  assert_true(p->p > 0);
  engine_free(pt);
}

/* --- the planted world: every signal at once ---------------------------------------- */

/* 40 places in 4 regions, 44 weeks, six background themes, and a plant
 * of each signal on its own places:
 *   spread       x taken up by places 1..8 in weeks 30-32;
 *   emerging     bg-often x5 at places 9..16, weeks 30-32;
 *   together     ta and tb in the same weeks at places 17..31, weeks 32-39;
 *   cross-scale  bg-some + person and organisation records at places
 *                33..38 from week 30;
 *   rising       bg-always doubling in region North over weeks 28-37.
 * Measured over 30 seeds (9001..9030): every plant found in every seed. */
static void planted_world(struct world *w, uint64_t seed, unsigned signals) {
  world_init(w, seed);
  w->places = 40;
  w->weeks = 44;
  w->regions = 4;
  w->n_themes = 6;
  w->themes[4] = (struct bg_theme){"bg-scarce", 0.1, ORG};
  w->themes[5] = (struct bg_theme){"bg-lots", 25, ORG};
  struct plant *pl;
  if (signals & (1u << HLS_PAT_SPREAD)) world_spread(w, "x");
  if (signals & (1u << HLS_PAT_EMERGING)) {
    pl = world_plant(w);
    *pl = (struct plant){.theme = "bg-often", .place_from = 9, .place_to = 16, .week_from = 30, .week_to = 32,
                         .mult = 5, .scale = ORG, .scale2 = -1};
  }
  if (signals & (1u << HLS_PAT_TOGETHER)) {
    pl = world_plant(w);
    *pl = (struct plant){.theme = "ta", .theme2 = "tb", .place_from = 17, .place_to = 31, .week_from = 32,
                         .week_to = 39, .add = 0.5, .chance = 0.3, .scale = ORG, .scale2 = -1};
  }
  if (signals & (1u << HLS_PAT_CROSS_SCALE)) {
    pl = world_plant(w);
    *pl = (struct plant){.theme = "bg-some", .place_from = 33, .place_to = 38, .week_from = 30, .week_to = 43,
                         .add = 3, .scale = PERSON, .scale2 = ORG};
  }
  if (signals & (1u << HLS_PAT_RISING)) {
    pl = world_plant(w);
    *pl = (struct plant){.theme = "bg-always", .place_from = 1, .place_to = 40, .region = 1, .week_from = 28,
                         .week_to = 37, .mult = 2, .ramp = true, .scale = ORG, .scale2 = -1};
  }
}
#define ALL_SIGNALS ((1u << HLS_PAT_SIGNAL_COUNT) - 1)

/* The planted patterns, one of each signal (a together pattern of the
 * pair, a spread pattern of x, ...), are among those held. */
static void assert_planted_found(const struct hls_patterns *pt) {
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  assert_places(pt, p, "1,2,3,4,5,6,7,8");
  p = held_one(pt, HLS_PAT_EMERGING, "bg-often");
  assert_true(labels_in(pt, p, 9, 16) >= 6);
  p = held_one(pt, HLS_PAT_TOGETHER, "ta");
  assert_true(labels_in(pt, p, 17, 31) >= 10);
  p = held_one(pt, HLS_PAT_CROSS_SCALE, "bg-some");
  assert_true(labels_in(pt, p, 33, 38) >= 5);
  p = held_one(pt, HLS_PAT_RISING, "bg-always");
  assert_string_equal(p->region, "North");
}

static void test_planted_world(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *pt = world_run(&w, NULL);
  held_print(pt);
  assert_planted_found(pt);
  engine_free(pt);
}

/* With a false discovery rate far below a planted p-value, that pattern
 * does not open; at the default rate it does. (The smallest rate the
 * engine takes is 1e-9: test_params_check. The world is the planted one without its
 * strongest plants, spread and cross-scale, whose p-values reach 1e-12,
 * and without spread patterns of any theme.) */
static void test_fdr_tiny_opens_nothing(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, (1u << HLS_PAT_EMERGING) | (1u << HLS_PAT_TOGETHER) | (1u << HLS_PAT_RISING));
  /* a weaker together plant (both themes in 8% of the weeks, not 30%):
   * its p between the two rates (measured 2.2e-7) */
  for (size_t i = 0; i < w.n_plants; i++)
    if (w.plants[i].theme2 != NULL) w.plants[i].chance = 0.08;
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  prm.spread_min_places = 1000000; /* no spread: ta and tb are new themes at 15 places (p 1e-15) */
  struct hls_patterns *pt = world_run(&w, &prm);
  held_print(pt);
  struct held h = held_all(pt);
  assert_true(h.n >= 3);
  double pmin = 1;
  for (size_t i = 0; i < h.n; i++)
    if (h.p[i]->p < pmin) pmin = h.p[i]->p;
  NOTE("fdr: smallest p at the default rate %.3g\n", pmin);
  size_t n_default = h.n;
  engine_free(pt);
  prm.fdr = 1e-9;
  prm.keep_p = 1e-9;
  for (int k = 0; k < 2; k++) {
    pt = world_run(&w, &prm);
    held_print(pt);
    h = held_all(pt);
    /* every pattern opened at a cutoff of at most (fdr / 2) k / m <= fdr / 2 */
    assert_true(h.n < n_default);
    for (size_t i = 0; i < h.n; i++) assert_true(h.p[i]->p <= 0.5e-9);
    engine_free(pt);
    prm.keep_p = 0.05; /* evidence that holds a pattern is not a discovery that opens one */
  }
}

/* --- incremental and batch ----------------------------------------------------------- */

/* The same patterns, to the bit but strength (1e-9). */
static void assert_same_patterns(const struct hls_patterns *a, const struct hls_patterns *b) {
  struct held ha = held_all(a), hb = held_all(b);
  if (ha.n != hb.n) {
    NOTE("first engine:\n");
    held_print(a);
    NOTE("second engine:\n");
    held_print(b);
    fail_msg("%zu patterns, %zu patterns", ha.n, hb.n);
  }
  for (size_t i = 0; i < ha.n; i++) {
    const struct hls_pattern *x = ha.p[i], *y = hb.p[i];
    bool same = memcmp(x->id, y->id, HLS_PAT_ID_BYTES) == 0 && x->signal == y->signal &&
                strcmp(theme_name(a, x->theme, NULL), theme_name(b, y->theme, NULL)) == 0 &&
                (x->theme2 == HLS_PAT_NONE) == (y->theme2 == HLS_PAT_NONE) &&
                (x->theme2 == HLS_PAT_NONE ||
                 strcmp(theme_name(a, x->theme2, NULL), theme_name(b, y->theme2, NULL)) == 0) &&
                strcmp(x->region, y->region) == 0 && x->week_from == y->week_from && x->week_to == y->week_to &&
                x->live == y->live && fabs(x->strength - y->strength) <= 1e-9 && x->lo == y->lo && x->hi == y->hi &&
                x->scales == y->scales && x->n_stories == y->n_stories && x->n_places == y->n_places;
    char la[256], lb[256];
    labels(a, x->places, x->n_places, la, sizeof la);
    labels(b, y->places, y->n_places, lb, sizeof lb);
    if (!same || strcmp(la, lb) != 0) {
      pattern_print(a, "first:  ", x);
      pattern_print(b, "second: ", y);
      NOTE("strength %.12g / %.12g, counts %llu..%llu / %llu..%llu, scales %x / %x, stories %zu / %zu\n", x->strength,
           y->strength, (unsigned long long)x->lo, (unsigned long long)x->hi, (unsigned long long)y->lo,
           (unsigned long long)y->hi, x->scales, y->scales, x->n_stories, y->n_stories);
      fail_msg("pattern %zu differs", i);
    }
  }
}

/* Changes of each id over a run of updates. */
struct history {
  size_t n;
  struct {
    uint8_t id[HLS_PAT_ID_BYTES];
    int signal, week; /* the week of its first change */
    char key[2 * HLS_THEME_MAX + 40];
    int changes[64];
    size_t n_changes;
  } v[MAX_LOG];
};

static void history_add(struct history *h, const struct log *l, int week) {
  for (size_t i = 0; i < l->n; i++) {
    const struct seen *s = &l->c[i];
    size_t k = 0;
    while (k < h->n && memcmp(h->v[k].id, s->p.id, HLS_PAT_ID_BYTES) != 0) k++;
    if (k == h->n) {
      assert_true(h->n < MAX_LOG);
      memcpy(h->v[k].id, s->p.id, HLS_PAT_ID_BYTES);
      h->v[k].signal = s->p.signal;
      h->v[k].week = week;
      snprintf(h->v[k].key, sizeof h->v[k].key, "%s %s %s %s", hls_pat_signal_name(s->p.signal), s->theme, s->theme2,
               s->p.region);
      h->v[k].n_changes = 0;
      h->n++;
    }
    assert_true(h->v[k].n_changes < 64);
    h->v[k].changes[h->v[k].n_changes++] = s->change;
  }
  /* never a retraction and a new pattern of the same signal and theme(s)
   * in one update: an episode going on keeps its id */
  for (size_t i = 0; i < l->n; i++)
    for (size_t j = 0; j < l->n; j++)
      if (l->c[i].change == HLS_PAT_RETRACTED && l->c[j].change == HLS_PAT_NEW &&
          l->c[i].p.signal == l->c[j].p.signal && strcmp(l->c[i].theme, l->c[j].theme) == 0 &&
          strcmp(l->c[i].theme2, l->c[j].theme2) == 0 && strcmp(l->c[i].p.region, l->c[j].p.region) == 0)
        fail_msg("week %d: %s %s retracted and new again", week, hls_pat_signal_name(l->c[i].p.signal), l->c[i].theme);
}

/* The planted world fed one week at a time, an update after each: every
 * pattern is NEW once, then only UPDATED, JOINED, GREW, and at most once
 * ENDED, after which nothing; never retracted, never a place leaving nor
 * a strength falling (no data was corrected). Its id is the one it ends
 * with, and the set at the end is the one a single update gives.
 *
 * A defect at 880f7b7 (measured): in the update of week 32 the emerging
 * pattern of bg-some opened in week 30 (p 1.9e-4, a discovery of week 30)
 * is RETRACTED and a NEW one of weeks 29.. takes its place: themes ta and
 * tb, first seen in week 32, add tests (spread, emerging and cross-scale
 * with p = 1) to every earlier week, so week 30's Benjamini-Hochberg
 * cutoff falls below 1.9e-4 and the episode now opens in week 31. See
 * test_new_theme_keeps_past_discoveries. */
static void test_stable_ids_week_by_week(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *pt = new_engine(NULL);
  world_names(&w, pt);
  static struct history h;
  memset(&h, 0, sizeof h);
  static struct log log;
  for (int wk = 0; wk < w.weeks; wk++) {
    world_feed(&w, pt, wk, wk);
    memset(&log, 0, sizeof log);
    log.pt = pt;
    assert_int_equal(hls_patterns_update(pt, on_change, &log), 0);
    history_add(&h, &log, wk);
  }
  for (size_t k = 0; k < h.n; k++) {
    const int *c = h.v[k].changes;
    size_t n = h.v[k].n_changes;
    char seq[256];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof seq; i++)
      len += (size_t)snprintf(seq + len, sizeof seq - len, " %s", hls_pat_change_name(c[i]));
    NOTE("week %d %s:%s\n", h.v[k].week, h.v[k].key, seq);
    if (c[0] != HLS_PAT_NEW) fail_msg("%s begins with %s", h.v[k].key, hls_pat_change_name(c[0]));
    for (size_t i = 1; i < n; i++) {
      if (c[i] != HLS_PAT_UPDATED && c[i] != HLS_PAT_JOINED && c[i] != HLS_PAT_GREW && c[i] != HLS_PAT_ENDED)
        fail_msg("%s:%s", h.v[k].key, seq);
      if (c[i - 1] == HLS_PAT_ENDED) fail_msg("%s changed after it ended:%s", h.v[k].key, seq);
    }
    assert_non_null(hls_patterns_find(pt, h.v[k].id)); /* still held, same id */
  }
  assert_planted_found(pt);
  struct hls_patterns *batch = world_run(&w, NULL);
  assert_same_patterns(pt, batch);
  engine_free(batch);
  engine_free(pt);
}

/* A theme first seen this week does not change what earlier weeks
 * discovered. The spread world with two background themes, fed to week
 * 30: x, new at places 1, 4 and 7 that week, is a discovery of week 30
 * (p = 4.3e-4 among about 12 tests that week). Then week 31, in which
 * place 20 also reports ten themes never seen before: the pattern goes on
 * with the same id (JOINED: places 2, 5 and 8 take x up in week 31),
 * nothing is retracted.
 *
 * A defect at 880f7b7 (measured): the new themes' tests of week 30 (spread,
 * emerging and cross-scale are run for every week held, p = 1 where there
 * is nothing) add 30 tests to week 30, its cutoff falls below 4.3e-4, x is
 * no longer a discovery of week 30: the pattern is RETRACTED and reported
 * NEW from week 31 with another id. Fix: a theme's tests in weeks before
 * it was first reported anywhere are not tests (NAN), so that a week's
 * tests depend only on the data up to that week. (The pairs of a window
 * still filling count in the latest week's tests and move to the next
 * week with it: the same kind of change, smaller.) */
static void test_new_theme_keeps_past_discoveries(void **state) {
  (void)state;
  struct world w;
  world_init(&w, 3);
  w.n_themes = 2;
  w.themes[0] = (struct bg_theme){"bg-often", 4, ORG};
  w.themes[1] = (struct bg_theme){"bg-always", 10, ORG};
  world_spread(&w, "x");
  struct hls_patterns *pt = new_engine(NULL);
  world_names(&w, pt);
  world_feed(&w, pt, 0, 30);
  static struct log log;
  memset(&log, 0, sizeof log);
  log.pt = pt;
  assert_int_equal(hls_patterns_update(pt, on_change, &log), 0);
  assert_int_equal(log.n, 1);
  pattern_print(pt, "week 30: ", &log.c[0].p);
  assert_int_equal(log.c[0].change, HLS_PAT_NEW);
  assert_places(pt, &log.c[0].p, "1,4,7");
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, log.c[0].p.id, sizeof id);
  static char names[10][8];
  struct spec fresh[10];
  for (int i = 0; i < 10; i++) {
    snprintf(names[i], sizeof names[i], "new%d", i);
    fresh[i] = (struct spec){names[i], PROBLEM, ORG, 1, 0};
  }
  for (int l = 1; l <= w.places; l++) {
    if (l == 20) world_give_extra(&w, pt, l, 31, world_seq(31), NULL, 10, fresh);
    else world_give(&w, pt, l, 31);
  }
  memset(&log, 0, sizeof log);
  log.pt = pt;
  assert_int_equal(hls_patterns_update(pt, on_change, &log), 0);
  for (size_t i = 0; i < log.n; i++) {
    NOTE("week 31: %s ", hls_pat_change_name(log.c[i].change));
    pattern_print(pt, "", &log.c[i].p);
  }
  assert_int_equal(log.n, 1);
  assert_int_equal(log.c[0].change, HLS_PAT_JOINED);
  assert_memory_equal(log.c[0].p.id, id, sizeof id);
  assert_places(pt, &log.c[0].p, "1,2,4,5,7,8");
  engine_free(pt);
}

/* The version of (3, week 25) that the world's digest corrects: bg-often
 * 12 records more. */
static void give_draft(const struct world *w, struct hls_patterns *pt) {
  struct spec cells[MAX_CELLS];
  size_t n = world_cells(w, 3, 25, cells);
  bool found = false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(cells[i].theme, "bg-often") == 0) cells[i].count += 12, found = true;
  if (!found) cells[n++] = (struct spec){"bg-often", PROBLEM, ORG, 12, 0};
  give(pt, 3, world_seq(25) - 1, BASE + 25, &w->method, n, cells);
}

/* Updating after every week gives what one update gives, also when facts
 * come out of order: the planted world with, in the incremental engine,
 *   - place 12's digest of week 20 arriving after week 43 (late);
 *   - place 3's digest of week 25 first as a draft (bg-often 12 higher),
 *     corrected by the world's digest at a higher seq after week 30;
 *   - place 20's digest of week 35 erased after week 43;
 * and in the batch engine the same facts in another order (the draft
 * after its correction, the erasure with the rest), one update. */
static void test_incremental_equals_batch(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  /* In order, an update a week. */
  struct hls_patterns *inc = new_engine(NULL), *batch = world_run(&w, NULL);
  world_names(&w, inc);
  for (int wk = 0; wk < w.weeks; wk++) {
    world_feed(&w, inc, wk, wk);
    assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  }
  assert_planted_found(inc);
  assert_same_patterns(inc, batch);
  engine_free(inc);
  engine_free(batch);

  /* Out of order. */
  inc = new_engine(NULL);
  world_names(&w, inc);
  for (int wk = 0; wk < w.weeks; wk++) {
    for (int l = 1; l <= w.places; l++) {
      if (l == 12 && wk == 20) continue;
      if (l == 3 && wk == 25) give_draft(&w, inc);
      else world_give(&w, inc, l, wk);
    }
    if (wk == 30) world_give(&w, inc, 3, 25);
    assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  }
  world_give(&w, inc, 12, 20);
  erase(inc, 20, world_seq(35));
  assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  batch = new_engine(NULL);
  world_names(&w, batch);
  world_feed(&w, batch, 0, w.weeks - 1);
  give_draft(&w, batch); /* older than the digest held: nothing */
  erase(batch, 20, world_seq(35));
  assert_int_equal(hls_patterns_update(batch, NULL, NULL), 0);
  assert_planted_found(inc);
  assert_same_patterns(inc, batch);
  engine_free(inc);
  engine_free(batch);
}

/* Every pattern the same to the bit (strength and all) as assert_same_patterns
 * checks to 1e-9. */
static void assert_same_bits(const struct hls_patterns *a, const struct hls_patterns *b) {
  assert_same_patterns(a, b);
  struct held ha = held_all(a), hb = held_all(b);
  for (size_t i = 0; i < ha.n; i++) {
    if (memcmp(&ha.p[i]->strength, &hb.p[i]->strength, sizeof ha.p[i]->strength) != 0 ||
        memcmp(&ha.p[i]->p, &hb.p[i]->p, sizeof ha.p[i]->p) != 0)
      fail_msg("pattern %zu: p %.17g / %.17g", i, ha.p[i]->p, hb.p[i]->p);
  }
}

/* Stops once it has been asked *n times. */
static bool stop_after(void *ctx) {
  int *n = ctx;
  return --*n < 0;
}

/* hls_patterns_set_threads shares the themes' tests out among threads:
 * the patterns are those of one thread, to the bit, from scratch (3
 * threads), week by week (more threads than the engine takes, and than
 * a week's dirty themes), and when the host stops an update half way and
 * the next update goes on. */
static void test_threads_same_results(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *one = world_run(&w, NULL);
  assert_planted_found(one);

  struct hls_patterns *many = new_engine(NULL);
  hls_patterns_set_threads(many, 3);
  world_names(&w, many);
  world_feed(&w, many, 0, w.weeks - 1);
  assert_int_equal(hls_patterns_update(many, NULL, NULL), 0);
  assert_same_bits(one, many);
  engine_free(many);

  many = new_engine(NULL);
  hls_patterns_set_threads(many, 1000); /* taken as HLS_PAT_MAX_THREADS */
  world_names(&w, many);
  for (int wk = 0; wk < w.weeks; wk++) {
    world_feed(&w, many, wk, wk);
    assert_int_equal(hls_patterns_update(many, NULL, NULL), 0);
  }
  assert_same_bits(one, many);
  engine_free(many);

  /* stopped after a few themes: the rest is left for the next update */
  many = new_engine(NULL);
  hls_patterns_set_threads(many, 2);
  world_names(&w, many);
  world_feed(&w, many, 0, w.weeks - 1);
  int asks = 3;
  hls_patterns_set_stop(many, stop_after, &asks);
  assert_int_equal(hls_patterns_update(many, NULL, NULL), HLS_ECLOSED);
  assert_true(hls_patterns_dirty(many));
  hls_patterns_set_stop(many, NULL, NULL);
  assert_int_equal(hls_patterns_update(many, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(many));
  assert_same_bits(one, many);
  engine_free(many);
  engine_free(one);
}

/* A place met late: its whole chain (place 40's digests of weeks 0-43)
 * arrives after the other places' and an update, as when a node first
 * meets a peer that carries it. The result is what one update of
 * everything gives.
 *
 * A defect at 880f7b7 (measured: spread of ta p 1.03e-19 here, 1.07e-19 in
 * one update), for two reasons:
 *   - a place's first digest starts its history: from that week it is
 *     among every theme's active places (emerging's prior) and, from
 *     spread_history_weeks later, among every theme's places at risk of
 *     taking it up (spread's expectation). hls_patterns_digest marks only
 *     the themes of the digest's own cells (and all themes only for a
 *     digest earlier than the place's first), so the other themes keep
 *     tests computed without the place. Fix: when !pl->has_week, mark
 *     every theme from that week (mark_all_themes_at(pt, week));
 *   - with that fixed, emerging of ta still differs in strength (4.48132
 *     here, 4.48092 in one update): emit keeps the held pattern as it was
 *     when the fingerprint (strength to 0.001) is unchanged, so a held
 *     pattern's p and strength can stay that far behind the data. Fix:
 *     on an equal fingerprint take the new values quietly (keeping the
 *     owned places, which the fingerprint covers).
 * (With both fixes in a copy of patterns.c this test passes.) */
static void test_place_met_late(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *inc = new_engine(NULL), *batch = world_run(&w, NULL);
  world_names(&w, inc);
  for (int wk = 0; wk < w.weeks; wk++)
    for (int l = 1; l < w.places; l++) world_give(&w, inc, l, wk);
  assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  for (int wk = 0; wk < w.weeks; wk++) world_give(&w, inc, w.places, wk);
  assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  assert_same_patterns(inc, batch);
  engine_free(inc);
  engine_free(batch);
}

/* --- facts: superseding, erasure ------------------------------------------------------ */

static const struct spec x_org[] = {{"x", PROBLEM, ORG, 1, 0}};

/* Place 1's digest of HAND_WEEK again, at seq, with one cell of x. */
static void give_hand(const struct world *w, struct hls_patterns *pt, uint64_t seq, int x_count) {
  const struct spec c = {"x", PROBLEM, ORG, x_count, 0};
  world_give_extra(w, pt, 1, HAND_WEEK, seq, NULL, 1, &c);
}

static void test_supersede_any_order(void **state) {
  (void)state;
  const uint64_t s = world_seq(HAND_WEEK);
  for (int order = 0; order < 2; order++) {
    struct world w;
    struct hls_patterns *pt = hand_spread(&w, NULL, 1, x_org); /* x = 1 at seq s */
    if (order == 0) {
      give_hand(&w, pt, s + 1, 9); /* newer */
      give_hand(&w, pt, s, 1);     /* older again: nothing */
    } else {
      give_hand(&w, pt, s + 1, 9);
      assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
      give_hand(&w, pt, s, 1); /* older: changes nothing */
      assert_false(hls_patterns_dirty(pt));
      give_hand(&w, pt, s + 1, 9); /* the same again */
      assert_false(hls_patterns_dirty(pt));
    }
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
    assert_places(pt, p, HAND_PLACES);
    struct hls_pat_cell_ref c = lineage_cell(pt, p, 1, BASE + HAND_WEEK);
    assert_int_equal(c.seq, s + 1);
    assert_int_equal(c.lo, 9);
    assert_int_equal(c.hi, 9);
    assert_counts_are_lineage(pt, p);
    struct hls_pat_stats st;
    hls_patterns_stats(pt, &st);
    assert_int_equal(st.digests, (size_t)w.places * (size_t)w.weeks); /* one per place-week */
    engine_free(pt);
  }
}

/* A newer digest with the same counts changes no pattern. */
static void test_supersede_same_counts(void **state) {
  struct fx *f = *state;
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  update(f);
  assert_int_equal(f->log.n, 1);
  give_hand(&w, f->pt, world_seq(HAND_WEEK) + 1, 1);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "x");
  assert_int_equal(lineage_cell(f->pt, p, 1, BASE + HAND_WEEK).seq, world_seq(HAND_WEEK) + 1);
  assert_int_equal(lineage_cell(f->pt, p, 2, BASE + 30).seq, world_seq(30));
}

static void test_erased_newest_keeps_older_out(void **state) {
  struct fx *f = *state;
  struct world w;
  const uint64_t s = world_seq(HAND_WEEK);
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  give_hand(&w, f->pt, s + 1, 4);
  update(f);
  assert_int_equal(f->log.n, 1);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  erase(f->pt, 1, s); /* an older version: already out */
  assert_false(hls_patterns_dirty(f->pt));
  erase(f->pt, 1, s + 1);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  /* Place 1 has no digest of that week now: it left the pattern. */
  const struct seen *c = seen_one(&f->log, HLS_PAT_SPREAD, "x");
  assert_non_null(c);
  assert_int_equal(c->change, HLS_PAT_LEFT);
  assert_memory_equal(c->p.id, id, sizeof id);
  assert_places(f->pt, &c->p, "2,3,4,5,6,7,8,9");
  struct hls_pat_stats st;
  hls_patterns_stats(f->pt, &st);
  assert_int_equal(st.digests, (size_t)w.places * (size_t)w.weeks); /* the place-week is still known */
  /* Older versions stay out, whenever they come. */
  give_hand(&w, f->pt, s, 1);
  give_hand(&w, f->pt, s - 1, 7);
  assert_false(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
  /* A newer one counts. */
  give_hand(&w, f->pt, s + 3, 2);
  update(f);
  c = seen_one(&f->log, HLS_PAT_SPREAD, "x");
  assert_non_null(c);
  assert_int_equal(c->change, HLS_PAT_JOINED);
  assert_memory_equal(c->p.id, id, sizeof id);
  assert_places(f->pt, &c->p, HAND_PLACES);
  struct hls_pat_cell_ref r = lineage_cell(f->pt, hls_patterns_find(f->pt, id), 1, BASE + HAND_WEEK);
  assert_int_equal(r.seq, s + 3);
  assert_int_equal(r.lo, 2);
}

static void test_erase_unknown_is_noop(void **state) {
  struct fx *f = *state;
  erase(f->pt, 99, 1); /* unknown place */
  assert_false(hls_patterns_dirty(f->pt));
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  give_story(f->pt, 1, 1000, BASE + HAND_WEEK, "Story", "x", NULL);
  update(f);
  erase(f->pt, 1, 999); /* unknown seq */
  erase(f->pt, 99, 1);  /* unknown place */
  assert_false(hls_patterns_dirty(f->pt));
  erase(f->pt, 1, 1000);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  erase(f->pt, 1, 1000); /* already erased */
  assert_false(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
}

static void test_erase_story_updates(void **state) {
  struct fx *f = *state;
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  update(f);
  assert_int_equal(f->log.n, 1);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  assert_int_equal(f->log.c[0].p.n_stories, 0);
  give_story(f->pt, 2, 1000, BASE + 30, "What we tried", "x", NULL);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_UPDATED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  assert_int_equal(f->log.c[0].p.n_stories, 1);
  erase(f->pt, 2, 1000);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_UPDATED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  assert_int_equal(f->log.c[0].p.n_stories, 0);
  assert_int_equal(f->log.c[0].p.n_places, 9);
  struct hls_pat_stats st;
  hls_patterns_stats(f->pt, &st);
  assert_int_equal(st.stories, 0);
}

/* Erasing the digests that took x up at all but two places retracts the
 * pattern (spread_min_places 3), as it last held. */
static void test_erase_digest_retracts(void **state) {
  struct fx *f = *state;
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  update(f);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  erase(f->pt, 1, world_seq(HAND_WEEK));
  for (int l = 2; l <= 7; l++) erase(f->pt, l, world_seq(30 + (l - 2) % 3));
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_RETRACTED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  assert_places(f->pt, &f->log.c[0].p, HAND_PLACES); /* as it last held */
  assert_null(hls_patterns_find(f->pt, id));
  assert_int_equal(held_all(f->pt).n, 0);
}

/* NEW, JOINED and RETRACTED each come once, then nothing. */
static void test_changes_reported_once(void **state) {
  struct fx *f = *state;
  struct world w;
  world_init(&w, HAND_SEED);
  engine_free(f->pt);
  f->pt = new_engine(NULL);
  world_names(&w, f->pt);
  hand_feed(&w, f->pt, 0, 32, NULL, 1, x_org);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_NEW);
  assert_true(f->log.c[0].p.live);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  update(f);
  assert_int_equal(f->log.n, 0);

  /* Place 10 takes x up in week 32 too (a newer digest of the week). */
  world_give_extra(&w, f->pt, 10, 32, world_seq(32) + 1, NULL, 1, x_org);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_JOINED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id); /* same signal, theme and first week */
  assert_places(f->pt, &f->log.c[0].p, "1,2,3,4,5,6,7,8,9,10");
  update(f);
  assert_int_equal(f->log.n, 0);

  erase(f->pt, 1, world_seq(HAND_WEEK));
  for (int l = 2; l <= 9; l++) erase(f->pt, l, world_seq(30 + (l - 2) % 3));
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_RETRACTED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  update(f);
  assert_int_equal(f->log.n, 0);
  assert_int_equal(held_all(f->pt).n, 0);
}

/* --- identity, lineage, names ----------------------------------------------------- */

/* The facts of the planted world (names, digests, three stories), in
 * natural order: week by week, each place's digest then its stories. */
struct fact {
  int kind; /* 0 name, 1 digest, 2 story */
  int label, wk;
};

static size_t network_facts(const struct world *w, struct fact *out, size_t cap) {
  size_t n = 0;
#define ADD(...)                                        \
  do {                                                  \
    assert_true(n < cap);                               \
    out[n++] = (struct fact){__VA_ARGS__};              \
  } while (0)
  for (int l = 1; l <= w->places; l++) ADD(0, l, 0);
  for (int wk = 0; wk < w->weeks; wk++)
    for (int l = 1; l <= w->places; l++) {
      ADD(1, l, wk);
      if ((l == 2 && wk == 31) || (l == 20 && wk == 33) || (l == 35 && wk == 36)) ADD(2, l, wk);
    }
#undef ADD
  return n;
}

static void give_fact(const struct world *w, struct hls_patterns *pt, const struct fact *x) {
  if (x->kind == 0) {
    char name[32];
    snprintf(name, sizeof name, "Place %02d", x->label);
    name_place(pt, x->label, name, region_names[(x->label - 1) % w->regions]);
  } else if (x->kind == 1) {
    world_give(w, pt, x->label, x->wk);
  } else {
    give_story(pt, x->label, 1000 + (uint64_t)x->wk, BASE + x->wk, "A story", x->label == 2 ? "x" : "ta",
               x->label == 35 ? "bg-some" : x->label == 20 ? "tb" : NULL);
  }
}

/* The same facts in three orders end with the same patterns, ids
 * included: natural order and one update; backwards (names last) with an
 * update every 97 facts; place by place (each place's whole chain, as
 * gossip delivers chains) with an update after each place. Places and
 * themes are numbered in the order they are met, so the engines number
 * them differently.
 *
 * A defect at 880f7b7: it failed on the third order as test_place_met_late
 * did. */
static void test_ids_stable_across_orders(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  static struct fact facts[40 * 44 + 64];
  size_t n = network_facts(&w, facts, sizeof facts / sizeof facts[0]);
  struct hls_patterns *e1 = new_engine(NULL), *e2 = new_engine(NULL), *e3 = new_engine(NULL);
  for (size_t i = 0; i < n; i++) give_fact(&w, e1, &facts[i]);
  assert_int_equal(hls_patterns_update(e1, NULL, NULL), 0);
  assert_planted_found(e1);
  for (size_t i = n; i-- > 0;) {
    give_fact(&w, e2, &facts[i]);
    if (i % 97 == 0) assert_int_equal(hls_patterns_update(e2, NULL, NULL), 0);
  }
  assert_int_equal(hls_patterns_update(e2, NULL, NULL), 0);
  struct hls_pat_place_info info;
  assert_int_equal(hls_patterns_place_info(e2, 0, &info), 0);
  assert_int_not_equal(info.origin[0], 1);
  NOTE("orders: natural and backwards\n");
  assert_same_patterns(e1, e2);
  for (int l = w.places; l >= 1; l--) {
    for (size_t i = 0; i < n; i++)
      if (facts[i].label == l) give_fact(&w, e3, &facts[i]);
    assert_int_equal(hls_patterns_update(e3, NULL, NULL), 0);
  }
  NOTE("orders: natural and place by place\n");
  assert_same_patterns(e1, e3);
  engine_free(e1);
  engine_free(e2);
  engine_free(e3);
}

static void test_lineage(void **state) {
  struct fx *f = *state;
  const struct spec p1[] = {
      {"x", PROBLEM, PERSON, WITHHELD, 0}, {"x", PROBLEM, ORG, 2, 0}, {"y", PROBLEM, ORG, 1, 0}};
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 3, p1);
  give_story(f->pt, 1, 1000, BASE + HAND_WEEK, "Kitchen table talks", "x", NULL); /* in */
  give_story(f->pt, 2, 1000, BASE + 5, "Too early", "x", NULL);                   /* out: week */
  give_story(f->pt, 20, 1000, BASE + HAND_WEEK, "Not a place of it", "x", NULL);  /* out: place */
  give_story(f->pt, 3, 1000, BASE + HAND_WEEK, "Other theme", "y", NULL);         /* out: theme */
  give_story(f->pt, 3, 1001, BASE + 32, "Both themes", "y", "x");                 /* in */
  struct hls_story asp;                                                           /* out: another kind */
  memset(&asp, 0, sizeof asp);
  hls_patterns_iso_week(BASE + 30, &asp.iso_year, &asp.iso_week);
  snprintf(asp.title, sizeof asp.title, "Aspiration");
  snprintf(asp.themes[0].slug, sizeof asp.themes[0].slug, "x");
  asp.themes[0].kind = HLS_KIND_ASPIRATION;
  asp.n_themes = 1;
  uint8_t o2[HLS_KEY_BYTES];
  origin_of(2, o2);
  assert_int_equal(hls_patterns_story(f->pt, o2, 1001, &asp), 0);
  assert_int_equal(hls_patterns_story(f->pt, o2, 1001, &asp), 0); /* again: ignored */
  update(f);

  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "x");
  assert_places(f->pt, p, HAND_PLACES);
  assert_int_equal(p->n_stories, 2);
  assert_counts_are_lineage(f->pt, p);
  struct lineage *l = lineage_of(f->pt, p);
  assert_int_equal(l->nc, 9); /* one cell of x per place, in its week */
  for (size_t i = 0; i < l->nc; i++) {
    int label = label_of(f->pt, l->c[i].place);
    assert_int_equal(l->c[i].theme, p->theme);
    if (label == 1) {
      assert_int_equal(l->c[i].week, BASE + HAND_WEEK);
      assert_int_equal(l->c[i].seq, world_seq(HAND_WEEK));
      assert_int_equal(l->c[i].lo, 1 + 2);
      assert_int_equal(l->c[i].hi, 9 + 2);
      assert_true(l->c[i].withheld);
      assert_int_equal(l->c[i].scales, (1u << PERSON) | (1u << ORG));
    } else {
      assert_true(label >= 2 && label <= 9);
      assert_int_equal(l->c[i].week, BASE + 30 + (label - 2) % 3);
      assert_int_equal(l->c[i].seq, world_seq(30 + (label - 2) % 3));
      assert_int_equal(l->c[i].lo, 1);
      assert_int_equal(l->c[i].hi, 1);
      assert_false(l->c[i].withheld);
      assert_int_equal(l->c[i].scales, 1u << ORG);
    }
  }
  assert_int_equal(l->ns, 2);
  assert_true(has_title(l, "Kitchen table talks"));
  assert_true(has_title(l, "Both themes"));
  for (size_t i = 0; i < l->ns; i++) {
    bool first = strcmp(l->titles[i], "Kitchen table talks") == 0;
    assert_int_equal(label_of(f->pt, l->s[i].place), first ? 1 : 3);
    assert_int_equal(l->s[i].week, first ? BASE + HAND_WEEK : BASE + 32);
    assert_int_equal(l->s[i].seq, first ? 1000 : 1001);
  }
  /* y's pattern has its own stories. */
  const struct hls_pattern *py = held_one(f->pt, HLS_PAT_SPREAD, "y");
  l = lineage_of(f->pt, py);
  assert_int_equal(l->nc, 9);
  assert_int_equal(l->ns, 2);
  assert_true(has_title(l, "Other theme"));
  assert_true(has_title(l, "Both themes"));
  /* Either callback may be NULL. */
  assert_int_equal(hls_patterns_lineage(f->pt, p, NULL, NULL, NULL), 0);
  static struct lineage only;
  memset(&only, 0, sizeof only);
  assert_int_equal(hls_patterns_lineage(f->pt, p, NULL, lin_story, &only), 0);
  assert_int_equal(only.nc, 0);
  assert_int_equal(only.ns, 2);
}

static int stop_at_first(void *ctx, const struct hls_pat_cell_ref *c) {
  (void)c;
  ++*(int *)ctx;
  return 42;
}

static int story_stop(void *ctx, const struct hls_pat_story_ref *s) {
  (void)s;
  ++*(int *)ctx;
  return 43;
}

static void test_lineage_stop(void **state) {
  struct fx *f = *state;
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 1, x_org);
  give_story(f->pt, 1, 1000, BASE + HAND_WEEK, "One", "x", NULL);
  give_story(f->pt, 2, 1000, BASE + 30, "Two", "x", NULL);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "x");
  int calls = 0;
  assert_int_equal(hls_patterns_lineage(f->pt, p, stop_at_first, lin_story, &calls), 42);
  assert_int_equal(calls, 1);
  calls = 0;
  assert_int_equal(hls_patterns_lineage(f->pt, p, NULL, story_stop, &calls), 43);
  assert_int_equal(calls, 1);
}

/* Renaming a place updates every pattern that names it, and only those. */
static void test_rename_updates(void **state) {
  struct fx *f = *state;
  struct world w;
  const struct spec xy[] = {{"x", PROBLEM, ORG, 1, 0}, {"y", PROBLEM, ORG, 1, 0}};
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 2, xy); /* x and y: places 1..9 */
  world_give_extra(&w, f->pt, 12, 30, world_seq(30) + 1, NULL, 1, &xy[1]); /* y: place 12 too */
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_SPREAD, NULL, 0), 2);
  size_t before = held_all(f->pt).n;
  name_place(f->pt, 12, "Northtown", "North");
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_true(f->log.n >= 1);
  for (size_t i = 0; i < f->log.n; i++) {
    assert_int_equal(f->log.c[i].change, HLS_PAT_UPDATED);
    assert_true(has_label(f->pt, &f->log.c[i].p, 12));
  }
  assert_non_null(seen_one(&f->log, HLS_PAT_SPREAD, "y"));
  assert_null(seen_one(&f->log, HLS_PAT_SPREAD, "x"));
  assert_int_equal(held_all(f->pt).n, before);
  struct hls_pat_place_info info;
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "y");
  bool found = false;
  for (size_t i = 0; i < p->n_places; i++) {
    assert_int_equal(hls_patterns_place_info(f->pt, p->places[i], &info), 0);
    if (info.origin[0] != 12) continue;
    assert_string_equal(info.name, "Northtown");
    assert_string_equal(info.region, "North");
    found = true;
  }
  assert_true(found);
  assert_int_equal(hls_patterns_place_info(f->pt, 999, &info), HLS_ENOTFOUND);
  /* The same name again changes nothing. */
  name_place(f->pt, 12, "Northtown", "North");
  assert_false(hls_patterns_dirty(f->pt));
  /* A place known only by its profile. */
  name_place(f->pt, 99, "Newtown", "");
  update(f);
  assert_int_equal(f->log.n, 0);
}

/* A story naming both themes of a together pattern is in its lineage;
 * adding and erasing it updates the pattern. (Seed 21: its pair is found,
 * test_together_sudden.) */
static void test_story_updates_together(void **state) {
  struct fx *f = *state;
  struct world w;
  together_world(&w, 21, 0.3);
  engine_free(f->pt);
  f->pt = world_run(&w, NULL);
  const struct hls_pattern *t = together_check(f->pt);
  int member = label_of(f->pt, t->places[0]);
  give_story(f->pt, member, 1000, BASE + 33, "Both", "tb", "ta");
  give_story(f->pt, member, 1001, BASE + 34, "Only a", "ta", NULL);
  update(f);
  const struct seen *s = seen_one(&f->log, HLS_PAT_TOGETHER, "ta");
  assert_non_null(s);
  assert_int_equal(s->change, HLS_PAT_UPDATED);
  assert_int_equal(s->p.n_stories, 1);
  const struct lineage *l = lineage_of(f->pt, hls_patterns_find(f->pt, s->p.id));
  assert_int_equal(l->ns, 1);
  assert_string_equal(l->titles[0], "Both");
  for (size_t i = 0; i < f->log.n; i++) assert_int_equal(f->log.c[i].change, HLS_PAT_UPDATED);

  erase(f->pt, member, 1000);
  update(f);
  s = seen_one(&f->log, HLS_PAT_TOGETHER, "ta");
  assert_non_null(s);
  assert_int_equal(s->change, HLS_PAT_UPDATED);
  assert_int_equal(s->p.n_stories, 0);
}

/* --- a callback that stops the update --------------------------------------------- */

static const struct spec xyz[] = {{"x", PROBLEM, ORG, 1, 0}, {"y", PROBLEM, ORG, 1, 0}, {"z", PROBLEM, ORG, 1, 0}};

static bool same_id(const struct seen *a, const struct seen *b) {
  return memcmp(a->p.id, b->p.id, HLS_PAT_ID_BYTES) == 0;
}

static void test_callback_stop_then_complete(void **state) {
  struct fx *f = *state;
  struct world w;
  engine_free(f->pt);
  f->pt = hand_spread(&w, NULL, 3, xyz);
  /* All at once, for reference. */
  struct hls_patterns *ref = hand_spread(&w, NULL, 3, xyz);
  static struct log all;
  memset(&all, 0, sizeof all);
  all.pt = ref;
  assert_int_equal(hls_patterns_update(ref, on_change, &all), 0);
  assert_true(all.n >= 3); /* spread of x, y and z (and pairs of them together) */
  for (size_t i = 0; i < all.n; i++) assert_int_equal(all.c[i].change, HLS_PAT_NEW);

  /* The second change is refused: the update stops there and says so. */
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  f->log.refuse_at = 2;
  assert_int_equal(hls_patterns_update(f->pt, on_change, &f->log), REFUSED);
  assert_int_equal(f->log.calls, 2);
  assert_int_equal(f->log.n, 1);
  assert_true(hls_patterns_dirty(f->pt));
  struct seen first = f->log.c[0];
  /* The next update reports the rest, the refused change included; the
   * accepted one is not reported again. */
  update(f);
  assert_int_equal(f->log.n, all.n - 1);
  for (size_t i = 0; i < f->log.n; i++) {
    assert_int_equal(f->log.c[i].change, HLS_PAT_NEW);
    assert_false(same_id(&f->log.c[i], &first));
    for (size_t j = 0; j < i; j++) assert_false(same_id(&f->log.c[i], &f->log.c[j]));
  }
  for (size_t i = 0; i < all.n; i++) {
    const struct seen *x = &all.c[i];
    bool found = same_id(x, &first);
    for (size_t j = 0; j < f->log.n; j++) found |= same_id(x, &f->log.c[j]);
    if (!found) fail_msg("%s of %s never reported", hls_pat_signal_name(x->p.signal), x->theme);
    assert_non_null(hls_patterns_find(f->pt, x->p.id));
  }
  assert_same_patterns(f->pt, ref);
  update(f);
  assert_int_equal(f->log.n, 0);

  /* Retractions: the first is refused; the next update reports all. */
  erase(f->pt, 1, world_seq(HAND_WEEK));
  for (int l = 2; l <= 8; l++) erase(f->pt, l, world_seq(30 + (l - 2) % 3));
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  f->log.refuse_at = 1;
  assert_int_equal(hls_patterns_update(f->pt, on_change, &f->log), REFUSED);
  assert_int_equal(f->log.n, 0);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, all.n);
  for (size_t i = 0; i < f->log.n; i++) assert_int_equal(f->log.c[i].change, HLS_PAT_RETRACTED);
  assert_int_equal(held_all(f->pt).n, 0);
  update(f);
  assert_int_equal(f->log.n, 0);
  engine_free(ref);
}

/* Without a callback the update still completes. */
static void test_update_without_callback(void **state) {
  (void)state;
  struct world w;
  struct hls_patterns *pt = hand_spread(&w, NULL, 3, xyz);
  assert_true(hls_patterns_dirty(pt));
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(pt));
  struct held h = held_all(pt);
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_int_equal(st.places, (size_t)w.places);
  assert_int_equal(st.themes, w.n_themes + 3);
  assert_int_equal(st.digests, (size_t)w.places * (size_t)w.weeks);
  assert_int_equal(st.patterns, h.n);
  assert_int_equal(st.by_signal[HLS_PAT_SPREAD], 3);
  size_t sum = 0;
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++) sum += st.by_signal[i];
  assert_int_equal(sum, h.n);
  engine_free(pt);
}

/* A theme known only from a story (or whose every cell was erased or
 * superseded) has no places: its tests are computed over none. Under
 * UBSan this fails (measured): theme_tests memsets tcomp's prefix arrays
 * with length 0, and tcomp_size allocated none for 0 places, so it
 * passes a NULL pointer to memset ("null pointer passed as argument 1",
 * patterns.c theme_tests), undefined behaviour. Fix: allocate them even
 * for 0 cells (tcomp_size: "cells > c->cap_rows || c->P[0] == NULL"), or
 * skip the memsets when n is 0. (Found by fuzz_patterns. An abort: it
 * is the last test run.) */
static void test_story_only_theme(void **state) {
  (void)state;
  struct hls_patterns *pt = new_engine(NULL);
  give_story(pt, 1, 1, BASE, "A story of its own", "only-in-stories", NULL);
  const struct spec c = {"x", PROBLEM, ORG, 1, 0};
  give(pt, 1, 2, BASE, NULL, 1, &c);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  give(pt, 1, 3, BASE + 1, NULL, 1, &c);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  erase(pt, 1, 2);
  erase(pt, 1, 3);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_int_equal(held_all(pt).n, 0);
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_int_equal(st.themes, 2);
  assert_int_equal(st.stories, 1);
  engine_free(pt);
}


/* --- frozen weeks ---------------------------------------------------------------- */

/* The planted world run to 120 weeks, with a second round of plants
 * from week 80 and the cross-scale plant going on to week 100: patterns
 * that end long before the weeks a freeze keeps, patterns that go on
 * across every freeze, and patterns that open after them. */
static void long_world(struct world *w) {
  planted_world(w, 9001, ALL_SIGNALS);
  w->weeks = 120;
  w->plants[3].week_to = 100; /* cross-scale of bg-some at places 33-38 */
  struct plant *pl = world_plant(w);
  *pl = (struct plant){.theme = "y", .place_from = 20, .place_to = 27, .week_from = 90, .week_to = 92, .add = 0.5,
                       .once = true, .scale = ORG, .scale2 = -1};
  pl = world_plant(w);
  *pl = (struct plant){.theme = "bg-often", .place_from = 1, .place_to = 8, .week_from = 85, .week_to = 87,
                       .mult = 5, .scale = ORG, .scale2 = -1};
  /* a slow rise over 70 weeks in one region: a pattern that goes on
   * across many freezes (rising of bg-lots in South, weeks 49-95; its
   * places are the region's from the start: no place joins a pattern
   * here after its first weeks were frozen) */
  pl = world_plant(w);
  *pl = (struct plant){.theme = "bg-lots", .place_from = 1, .place_to = 40, .region = 2, .week_from = 40,
                       .week_to = 110, .mult = 4, .ramp = true, .scale = ORG, .scale2 = -1};
  pl = world_plant(w);
  *pl = (struct plant){.theme = "tc", .theme2 = "td", .place_from = 2, .place_to = 16, .week_from = 80,
                       .week_to = 95, .add = 0.5, .chance = 0.3, .scale = ORG, .scale2 = -1};
}

/* A pattern's lineage, whatever its size, as text: one line a cell or
 * story, by place label and theme name (engines number them apart). */
struct lintext {
  const struct hls_patterns *pt;
  char *buf;
  size_t len, cap;
};

static void lintext_add(struct lintext *t, const char *line) {
  size_t n = strlen(line);
  if (t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->buf = realloc(t->buf, t->cap);
    assert_non_null(t->buf);
  }
  memcpy(t->buf + t->len, line, n + 1);
  t->len += n;
}

static int lintext_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lintext *t = ctx;
  char line[160];
  snprintf(line, sizeof line, "c %d %d %llu %s %u..%u %d %x\n", label_of(t->pt, c->place), c->week,
           (unsigned long long)c->seq, theme_name(t->pt, c->theme, NULL), c->lo, c->hi, c->withheld, c->scales);
  lintext_add(t, line);
  return 0;
}

static int lintext_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct lintext *t = ctx;
  char line[160];
  snprintf(line, sizeof line, "s %d %d %llu %s\n", label_of(t->pt, s->place), s->week, (unsigned long long)s->seq,
           s->title);
  lintext_add(t, line);
  return 0;
}

/* The same patterns (assert_same_patterns), each with the same lineage,
 * and the same results of every test. */
static void assert_same_lineage(const struct hls_patterns *a, const struct hls_patterns *b) {
  assert_same_patterns(a, b);
  uint8_t hx[32], hy[32];
  assert_int_equal(hls_patterns_tests_hash(a, hx), 0);
  assert_int_equal(hls_patterns_tests_hash(b, hy), 0);
  assert_memory_equal(hx, hy, sizeof hx);
  struct held ha = held_all(a), hb = held_all(b);
  size_t cells = 0;
  for (size_t i = 0; i < ha.n; i++) {
    struct lintext ta = {.pt = a}, tb = {.pt = b};
    lintext_add(&ta, "");
    lintext_add(&tb, "");
    assert_int_equal(hls_patterns_lineage(a, ha.p[i], lintext_cell, lintext_story, &ta), 0);
    assert_int_equal(hls_patterns_lineage(b, hb.p[i], lintext_cell, lintext_story, &tb), 0);
    if (strcmp(ta.buf, tb.buf) != 0) {
      pattern_print(a, "pattern: ", ha.p[i]);
      NOTE("first engine's lineage:\n%s\nsecond engine's:\n%s\n", ta.buf, tb.buf);
      fail_msg("lineage of pattern %zu differs", i);
    }
    for (const char *c = ta.buf; *c; c++) cells += *c == '\n';
    free(ta.buf);
    free(tb.buf);
  }
  NOTE("%zu patterns, %zu lines of lineage alike\n", ha.n, cells);
}

/* The changes of one update, in an order of their own (id, change). */
static int seen_cmp(const void *x, const void *y) {
  const struct seen *a = x, *b = y;
  int c = memcmp(a->p.id, b->p.id, HLS_PAT_ID_BYTES);
  return c != 0 ? c : (a->change > b->change) - (a->change < b->change);
}

static void update_logged(struct hls_patterns *pt, struct log *l) {
  memset(l, 0, sizeof *l);
  l->pt = pt;
  assert_int_equal(hls_patterns_update(pt, on_change, l), 0);
  qsort(l->c, l->n, sizeof l->c[0], seen_cmp);
}

static void assert_same_log(const struct log *a, const struct log *b, int wk) {
  bool same = a->n == b->n;
  for (size_t i = 0; same && i < a->n; i++)
    same = memcmp(a->c[i].p.id, b->c[i].p.id, HLS_PAT_ID_BYTES) == 0 && a->c[i].change == b->c[i].change;
  if (!same) {
    for (size_t i = 0; i < a->n; i++) NOTE("unfrozen: %s %s\n", hls_pat_change_name(a->c[i].change), a->c[i].theme);
    for (size_t i = 0; i < b->n; i++) NOTE("frozen:   %s %s\n", hls_pat_change_name(b->c[i].change), b->c[i].theme);
    fail_msg("week %d: %zu changes unfrozen, %zu frozen", wk, a->n, b->n);
  }
}

#define FREEZE_LAG 12 /* weeks back from the latest a late fact is taken in */

/* A late correction's cells beyond the world's: themes of every signal. */
static const struct spec late_extra[] = {
    {"bg-always", PROBLEM, ORG, 40, 0}, {"ta", PROBLEM, ORG, 5, 0}, {"tb", PROBLEM, ORG, 5, 0}};

/* An engine that freezes the weeks before the last 12 after every weekly
 * update reports the changes, and ends with the patterns and lineage, of
 * one that froze nothing, while it holds far fewer cells; a fact that
 * would change a frozen week is refused (HLS_ESTATE) and changes
 * nothing; an engine built again from every fact and frozen is the one
 * that froze nothing too. */
static void freeze_changes_nothing(const struct hls_pat_params *prm) {
  static struct world w;
  long_world(&w);
  struct hls_patterns *plain = new_engine(prm), *fz = new_engine(prm);
  world_names(&w, plain);
  world_names(&w, fz);
  static struct log la, lb;
  size_t changes = 0, freezes = 0;
  for (int wk = 0; wk < w.weeks; wk++) {
    world_feed(&w, plain, wk, wk);
    world_feed(&w, fz, wk, wk);
    if (wk == 70) { /* stories of a frozen week and of this one */
      give_story(plain, 3, 5001, BASE + 40, "Early lessons", "ta", "tb");
      give_story(fz, 3, 5001, BASE + 40, "Early lessons", "ta", "tb");
      give_story(plain, 20, 5002, BASE + 70, "Now", "bg-some", NULL);
      give_story(fz, 20, 5002, BASE + 70, "Now", "bg-some", NULL);
    }
    update_logged(plain, &la);
    update_logged(fz, &lb);
    assert_same_log(&la, &lb, wk);
    changes += la.n;
    if (wk >= 40) {
      assert_int_equal(hls_patterns_freeze(fz, BASE + wk - FREEZE_LAG), 0);
      assert_int_equal(hls_patterns_frozen_before(fz), BASE + wk - FREEZE_LAG);
      assert_false(hls_patterns_dirty(fz));
      freezes++;
    }
  }
  NOTE("%zu changes alike over %d weekly updates, %zu freezes\n", changes, w.weeks, freezes);

  assert_true(changes > 20);
  assert_true(held_all(fz).n >= 8); /* of both rounds of plants */
  assert_same_lineage(plain, fz);
  struct hls_pat_stats sa, sb;
  hls_patterns_stats(plain, &sa);
  hls_patterns_stats(fz, &sb);
  NOTE("cells held: %zu unfrozen, %zu frozen\n", sa.cells, sb.cells);
  assert_true(sb.cells * 10 < sa.cells * 6);
  assert_int_equal(sa.frozen_before, INT32_MIN);
  assert_int_equal(sb.frozen_before, BASE + w.weeks - 1 - FREEZE_LAG);
  assert_int_equal(sb.digests, sa.digests);

  /* Refused, changing nothing. */
  int32_t frozen = BASE + w.weeks - 1 - FREEZE_LAG;
  uint8_t o[HLS_KEY_BYTES];
  origin_of(5, o);
  struct hls_digest d = {.method = sdc_default};
  hls_patterns_iso_week(frozen - 1, &d.iso_year, &d.iso_week);
  assert_int_equal(hls_patterns_digest(fz, o, 9999, &d), HLS_ESTATE); /* a correction of a frozen week */
  assert_int_equal(hls_patterns_erase(fz, o, world_seq(50)), HLS_ESTATE); /* a frozen digest */
  assert_int_equal(hls_patterns_erase(fz, o, 1), HLS_ESTATE); /* a seq among frozen digests' */
  assert_int_equal(hls_patterns_place(fz, o, "Place 05", "East"), HLS_ESTATE); /* moves region */
  origin_of(41, o);
  assert_int_equal(hls_patterns_place(fz, o, "Place 41", "Islands"), HLS_ESTATE); /* a new region */
  origin_of(42, o);
  assert_int_equal(hls_patterns_digest(fz, o, 10, &d), HLS_ESTATE); /* a new place in a frozen week */
  assert_false(hls_patterns_dirty(fz));
  assert_int_equal(hls_patterns_freeze(fz, frozen - 5), 0); /* earlier: nothing */
  assert_int_equal(hls_patterns_frozen_before(fz), frozen);

  /* Taken as before: a story of a frozen week, a rename, a new place
   * from a held week (and its history starting a week earlier), a
   * correction and an erasure of held weeks. */
  struct hls_patterns *both[2] = {plain, fz};
  const struct hls_pattern *first = held_all(plain).p[0]; /* rename one of its places */
  int renamed = label_of(plain, first->places[0]);
  for (int e = 0; e < 2; e++) {
    struct hls_patterns *pt = both[e];
    give_story(pt, 33, 6001, BASE + 45, "Scales", "bg-some", NULL);
    name_place(pt, renamed, "Renamed", region_names[(renamed - 1) % w.regions]);
    for (int wk = w.weeks - 8; wk < w.weeks; wk++) {
      struct spec cells[MAX_CELLS];
      size_t n = world_cells(&w, 7, wk, cells);
      give(pt, 42, world_seq(wk), BASE + wk, &w.method, n, cells);
    }
    struct spec cells[MAX_CELLS];
    size_t n = world_cells(&w, 7, w.weeks - 10, cells);
    give(pt, 42, world_seq(w.weeks - 10), BASE + w.weeks - 10, &w.method, n, cells);
    world_give_extra(&w, pt, 9, w.weeks - 3, world_seq(w.weeks - 3) + 1, NULL, 0, NULL);
    /* the first week not frozen: its tests read the most weeks before it */
    world_give_extra(&w, pt, 10, frozen - BASE, world_seq(frozen - BASE) + 1, NULL, 3, late_extra);
    erase(pt, 11, world_seq(w.weeks - 2));
  }
  update_logged(plain, &la);
  update_logged(fz, &lb);
  assert_same_log(&la, &lb, w.weeks);
  assert_true(la.n > 0); /* the rename reaches the place's patterns */
  assert_same_lineage(plain, fz);

  /* Built again from every fact, then frozen, as a host does. */
  struct hls_patterns *again = new_engine(prm);
  world_names(&w, again);
  name_place(again, renamed, "Renamed", region_names[(renamed - 1) % w.regions]);
  world_feed(&w, again, 0, w.weeks - 1);
  give_story(again, 3, 5001, BASE + 40, "Early lessons", "ta", "tb");
  give_story(again, 20, 5002, BASE + 70, "Now", "bg-some", NULL);
  give_story(again, 33, 6001, BASE + 45, "Scales", "bg-some", NULL);
  for (int wk = w.weeks - 10; wk < w.weeks; wk++) {
    if (wk == w.weeks - 9) continue;
    struct spec cells[MAX_CELLS];
    size_t n = world_cells(&w, 7, wk, cells);
    give(again, 42, world_seq(wk), BASE + wk, &w.method, n, cells);
  }
  world_give_extra(&w, again, 9, w.weeks - 3, world_seq(w.weeks - 3) + 1, NULL, 0, NULL);
  world_give_extra(&w, again, 10, frozen - BASE, world_seq(frozen - BASE) + 1, NULL, 3, late_extra);
  erase(again, 11, world_seq(w.weeks - 2));
  assert_int_equal(hls_patterns_freeze(again, frozen), HLS_ESTATE); /* not updated yet */
  assert_int_equal(hls_patterns_update(again, NULL, NULL), 0);
  assert_int_equal(hls_patterns_freeze(again, frozen), 0);
  assert_same_lineage(plain, again);
  engine_free(again);
  engine_free(plain);
  engine_free(fz);
}

static void test_freeze_changes_nothing(void **state) {
  (void)state;
  freeze_changes_nothing(NULL);
  /* Short baselines and windows: the weeks a freeze keeps are fewer
   * than those of the patterns that go on across it. */
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  prm.baseline_weeks = 8;
  prm.min_baseline_weeks = 4;
  prm.rising_weeks = 4;
  prm.together_weeks = 4;
  freeze_changes_nothing(&prm);
}

/* --- frozen tests kept across restarts ----------------------------------------- */

/* The facts the engines of test_saved_tests get beyond the world's, at
 * week wk: a correction (week 10), an erasure (week 12), stories; and with
 * differ, a correction of week 20 that the saved copy did not see. */
static bool restore_differ, restore_new_region;
static void restore_extra(const struct world *w, struct hls_patterns *pt, int wk) {
  if (restore_new_region && wk >= w->weeks - 3) world_give(w, pt, 41, wk);
  static const struct spec more = {"bg-rare", HLS_KIND_PROBLEM, ORG, 4, 0};
  if (wk == 10) world_give_extra(w, pt, 5, 10, world_seq(10) + 1, NULL, 1, &more);
  if (wk == 12) {
    uint8_t o[HLS_KEY_BYTES];
    origin_of(6, o);
    assert_int_equal(hls_patterns_erase(pt, o, world_seq(12)), 0);
  }
  if (wk == 20 && restore_differ) world_give_extra(w, pt, 7, 20, world_seq(20) + 1, NULL, 1, &more);
  if (wk == 40) give_story(pt, 3, 5001, BASE + 40, "Early lessons", "bg-some", "bg-often");
}

/* Weeks [from, to) of w, each with restore_extra's facts. */
static void restore_feed(const struct world *w, struct hls_patterns *pt, int from, int to) {
  for (int wk = from; wk < to; wk++) {
    world_feed(w, pt, wk, wk);
    restore_extra(w, pt, wk);
  }
}

/* The end of a load as hlsd's: the copy checked to the end, an update,
 * and a freeze of the weeks before frozen. */
static void load_end(struct hls_patterns *pt, int32_t frozen) {
  assert_int_equal(hls_patterns_restore_check(pt, INT32_MAX), 0);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  assert_int_equal(hls_patterns_freeze(pt, frozen), 0);
}

static void assert_same_tests(const struct hls_patterns *a, const struct hls_patterns *b);

/* Engine d took its copy's tests before week taken (INT32_MIN: none), and
 * holds the same tests as like; d is freed. */
static void assert_taken_same(struct hls_patterns *d, int32_t taken, const struct hls_patterns *like) {
  assert_int_equal(hls_patterns_restore_end(d), taken);
  assert_same_tests(like, d);
  engine_free(d);
}

/* Give w's facts to pt as hlsd's load does: in week order, 16 weeks at a
 * time, each followed by a check of the saved tests (if any), an update
 * and a freeze of the weeks before (the last FREEZE_LAG stay). */
static void load_like_hlsd(const struct world *w, struct hls_patterns *pt) {
  int32_t last = BASE + w->weeks - 1 - FREEZE_LAG;
  world_names(w, pt);
  if (restore_new_region) name_place(pt, 41, "Place 41", "Islands");
  for (int from = 0;; from += 16) {
    int to = from + 15 < w->weeks - 1 ? from + 15 : w->weeks - 1;
    restore_feed(w, pt, from, to + 1);
    if (to == w->weeks - 1) break;
    assert_int_equal(hls_patterns_restore_check(pt, BASE + to + 1), 0);
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    assert_int_equal(hls_patterns_freeze(pt, BASE + to + 1 < last ? BASE + to + 1 : last), 0);
  }
  load_end(pt, last);
}

static void assert_same_tests(const struct hls_patterns *a, const struct hls_patterns *b) {
  uint8_t ha[32], hb[32];
  assert_int_equal(hls_patterns_tests_hash(a, ha), 0);
  assert_int_equal(hls_patterns_tests_hash(b, hb), 0);
  assert_memory_equal(ha, hb, sizeof ha);
  assert_same_patterns(a, b);
  assert_same_lineage(a, b);
}

/* The tests of frozen weeks saved by one engine (hls_patterns_save) and
 * taken by the next as it is given the same facts (hls_patterns_restore):
 * the same tests, patterns and lineage, to the bit, as an engine that
 * computed everything, with every frozen week taken from the copy; the
 * new engine's own copy is the same bytes. A correction of a saved week
 * the copy did not see: taken up to that week only, and still the same
 * as computing everything. */
static void saved_tests(const struct hls_pat_params *prm) {
  static struct world w;
  long_world(&w);
  int32_t frozen = BASE + w.weeks - 1 - FREEZE_LAG;
  restore_differ = false;
  struct hls_patterns *a = new_engine(prm);
  load_like_hlsd(&w, a);
  uint8_t *copy, *again;
  size_t len, len2;
  assert_int_equal(hls_patterns_save(a, &copy, &len), 0);
  NOTE("saved tests of %d weeks: %zu bytes\n", frozen - BASE, len);

  struct hls_patterns *b = new_engine(prm);
  assert_int_equal(hls_patterns_restore(b, copy, len, NULL), 0);
  load_like_hlsd(&w, b);
  assert_int_equal(hls_patterns_restore_end(b), frozen);
  assert_same_tests(a, b);
  /* every theme's frozen weeks taken, once, and the frozen windows */
  struct hls_pat_stats st;
  hls_patterns_stats(b, &st);
  assert_int_equal(st.weeks_taken, st.themes * (size_t)(frozen - BASE));
  int32_t W = prm != NULL ? prm->together_weeks : 8;
  assert_true(st.windows_taken >= (size_t)((frozen - BASE) / W));
  assert_int_equal(hls_patterns_save(b, &again, &len2), 0);
  assert_int_equal(len2, len);
  assert_memory_equal(again, copy, len);
  free(again);
  engine_free(b);

  /* a place in a region the copy did not know, from a week after the
   * frozen ones: every frozen week still taken */
  restore_new_region = true;
  struct hls_patterns *nr = new_engine(prm);
  load_like_hlsd(&w, nr);
  b = new_engine(prm);
  assert_int_equal(hls_patterns_restore(b, copy, len, NULL), 0);
  load_like_hlsd(&w, b);
  assert_int_equal(hls_patterns_restore_end(b), frozen);
  assert_same_tests(nr, b);
  hls_patterns_stats(b, &st);
  assert_int_equal(st.weeks_taken, st.themes * (size_t)(frozen - BASE));
  engine_free(b);
  engine_free(nr);
  restore_new_region = false;

  /* week 20 corrected since: taken before it, computed from it on */
  restore_differ = true;
  struct hls_patterns *plain = new_engine(prm), *d = new_engine(prm);
  load_like_hlsd(&w, plain);
  assert_int_equal(hls_patterns_restore(d, copy, len, NULL), 0);
  load_like_hlsd(&w, d);
  assert_taken_same(d, BASE + 20, plain);

  /* without the checks nothing is taken */
  d = new_engine(prm);
  assert_int_equal(hls_patterns_restore(d, copy, len, NULL), 0);
  world_names(&w, d);
  restore_feed(&w, d, 0, w.weeks);
  assert_int_equal(hls_patterns_update(d, NULL, NULL), 0);
  assert_int_equal(hls_patterns_freeze(d, frozen), 0);
  assert_taken_same(d, INT32_MIN, plain);

  /* a correction of week 20 given after weeks 0-31 were checked and
   * their saved tests taken (no freeze, which would refuse it): from
   * week 20 on, computed again */
  d = new_engine(prm);
  assert_int_equal(hls_patterns_restore(d, copy, len, NULL), 0);
  restore_differ = false;
  world_names(&w, d);
  restore_feed(&w, d, 0, 32);
  assert_int_equal(hls_patterns_restore_check(d, BASE + 32), 0);
  assert_int_equal(hls_patterns_update(d, NULL, NULL), 0);
  static const struct spec more = {"bg-rare", HLS_KIND_PROBLEM, ORG, 4, 0};
  world_give_extra(&w, d, 7, 20, world_seq(20) + 1, NULL, 1, &more);
  restore_feed(&w, d, 32, w.weeks);
  load_end(d, frozen);
  assert_taken_same(d, BASE + 20, plain);

  /* a week checked before all its facts were given (the API allows it):
   * its tests are taken once they are */
  struct hls_patterns *e = new_engine(prm);
  d = new_engine(prm);
  for (int k = 0; k < 2; k++) {
    struct hls_patterns *pt = k ? d : e;
    if (k) assert_int_equal(hls_patterns_restore(pt, copy, len, NULL), 0);
    world_names(&w, pt);
    restore_feed(&w, pt, 0, 24);
    for (int l = 1; l <= 20; l++) world_give(&w, pt, l, 24);
    assert_int_equal(hls_patterns_restore_check(pt, BASE + 24), 0);
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    for (int l = 21; l <= w.places; l++) world_give(&w, pt, l, 24);
    restore_feed(&w, pt, 25, w.weeks);
    load_end(pt, frozen);
  }
  assert_taken_same(d, frozen, e);

  /* a digest of the week before the first, after weeks were taken:
   * nothing is taken from there (and the copy is freed whole) */
  d = new_engine(prm);
  assert_int_equal(hls_patterns_restore(d, copy, len, NULL), 0);
  struct hls_patterns *f = new_engine(prm);
  for (int k = 0; k < 2; k++) {
    struct hls_patterns *pt = k ? d : f;
    world_names(&w, pt);
    restore_feed(&w, pt, 0, 32);
    assert_int_equal(hls_patterns_restore_check(pt, BASE + 32), 0);
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    give(pt, 2, 5, BASE - 1, &w.method, 0, NULL);
    restore_feed(&w, pt, 32, w.weeks);
    assert_int_equal(hls_patterns_restore_check(pt, INT32_MAX), 0);
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  }
  assert_int_equal(hls_patterns_restore_end(d), INT32_MIN);
  assert_same_tests(f, d);
  engine_free(f);
  engine_free(d);
  engine_free(e);
  engine_free(plain);
  engine_free(a);
  free(copy);
}

/* A copy that is not whole and consistent is refused, as is one of
 * other parameters, or one given to an engine that has facts already;
 * every prefix of a copy is refused, with a reason. */
static void test_saved_tests_refused(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *a = new_engine(NULL);
  world_names(&w, a);
  world_feed(&w, a, 0, w.weeks - 1);
  assert_int_equal(hls_patterns_update(a, NULL, NULL), 0);
  uint8_t *copy;
  size_t len;
  assert_int_equal(hls_patterns_save(a, &copy, &len), HLS_ESTATE); /* nothing frozen */
  assert_int_equal(hls_patterns_freeze(a, BASE + w.weeks - 10), 0);
  assert_int_equal(hls_patterns_save(a, &copy, &len), 0);
  for (size_t cut = 0; cut < len; cut += cut < 400 ? 1 : 97) {
    struct hls_patterns *b = new_engine(NULL);
    struct hls_why why = {{0}};
    assert_int_equal(hls_patterns_restore(b, copy, cut, &why), HLS_EINVAL);
    assert_true(strncmp(why.text, "patterns: saved tests: ", 23) == 0);
    engine_free(b);
  }
  uint8_t *bad = malloc(len + 1);
  assert_non_null(bad);
  memcpy(bad, copy, len);
  bad[len] = 0; /* a byte after its end */
  struct hls_patterns *b = new_engine(NULL);
  assert_int_equal(hls_patterns_restore(b, bad, len + 1, NULL), HLS_EINVAL);
  engine_free(b);
  bad[0] ^= 1;
  b = new_engine(NULL);
  assert_int_equal(hls_patterns_restore(b, bad, len, NULL), HLS_EINVAL);
  engine_free(b);
  free(bad);
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  prm.fdr = 0.01;
  b = new_engine(&prm);
  struct hls_why why = {{0}};
  assert_int_equal(hls_patterns_restore(b, copy, len, &why), HLS_ESTATE);
  assert_non_null(strstr(why.text, "parameters"));
  engine_free(b);
  b = new_engine(NULL);
  name_place(b, 1, "Place 01", "");
  assert_int_equal(hls_patterns_restore(b, copy, len, NULL), HLS_ESTATE);
  engine_free(b);
  /* A copy of another engine (its id after the magic, the method and the
   * id's length; a build whose engine sources differ), sound otherwise:
   * not taken, and said so. */
  uint8_t *other = malloc(len);
  assert_non_null(other);
  memcpy(other, copy, len);
  uint32_t id_len = (uint32_t)other[12] | (uint32_t)other[13] << 8 | (uint32_t)other[14] << 16 |
                    (uint32_t)other[15] << 24;
  assert_int_equal(id_len, 32);
  other[16] = other[16] == 'a' ? 'b' : 'a';
  assert_int_equal(crypto_generichash(other + len - 32, 32, other, len - 32, NULL, 0), 0);
  b = new_engine(NULL);
  assert_int_equal(hls_patterns_restore(b, other, len, &why), HLS_ESTATE);
  assert_non_null(strstr(why.text, "of another engine"));
  engine_free(b);
  /* ... and one an older hlsd wrote, with its version there */
  const char old_head[] = "0.1.0";
  size_t old_len = len - 32 + (sizeof old_head - 1);
  uint8_t *older = malloc(old_len);
  assert_non_null(older);
  memcpy(older, other, 12);
  older[12] = (uint8_t)(sizeof old_head - 1), older[13] = older[14] = older[15] = 0;
  memcpy(older + 16, old_head, sizeof old_head - 1);
  memcpy(older + 16 + (sizeof old_head - 1), other + 16 + 32, len - 16 - 32 - 32);
  assert_int_equal(crypto_generichash(older + old_len - 32, 32, older, old_len - 32, NULL, 0), 0);
  b = new_engine(NULL);
  assert_int_equal(hls_patterns_restore(b, older, old_len, &why), HLS_ESTATE);
  assert_non_null(strstr(why.text, "of another engine (0.1.0, method 1"));
  engine_free(b);
  free(older);
  free(other);
  /* the whole copy, again: taken */
  b = new_engine(NULL);
  assert_int_equal(hls_patterns_restore(b, copy, len, NULL), 0);
  engine_free(b);
  free(copy);
  engine_free(a);
}

static void test_saved_tests(void **state) {
  (void)state;
  saved_tests(NULL);
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  prm.baseline_weeks = 8;
  prm.min_baseline_weeks = 4;
  prm.rising_weeks = 4;
  prm.together_weeks = 4;
  saved_tests(&prm);
}

/* A region met once the weeks were computed (a new place's profile, no
 * digest yet) gives every theme a test in it: the tests are then those of
 * an engine given everything at once, even when the next fact touches only
 * the first week. At d0d1e3e the themes' tables of tests were made anew
 * by the next update that marked them, which computed only the weeks near
 * the one marked (a correction of the first week: its first weeks), and
 * left every later test unset. */
static void test_new_region_later(void **state) {
  (void)state;
  struct world w;
  planted_world(&w, 9001, ALL_SIGNALS);
  struct hls_patterns *inc = new_engine(NULL), *batch = new_engine(NULL);
  world_names(&w, inc);
  world_feed(&w, inc, 0, w.weeks - 1);
  assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  name_place(inc, 41, "Place 41", "Islands");
  world_give_extra(&w, inc, 5, 0, world_seq(0) + 1, NULL, 0, NULL);
  assert_int_equal(hls_patterns_update(inc, NULL, NULL), 0);
  world_names(&w, batch);
  world_feed(&w, batch, 0, w.weeks - 1);
  name_place(batch, 41, "Place 41", "Islands");
  world_give_extra(&w, batch, 5, 0, world_seq(0) + 1, NULL, 0, NULL);
  assert_int_equal(hls_patterns_update(batch, NULL, NULL), 0);
  uint8_t hx[32], hy[32];
  assert_int_equal(hls_patterns_tests_hash(inc, hx), 0);
  assert_int_equal(hls_patterns_tests_hash(batch, hy), 0);
  assert_memory_equal(hx, hy, sizeof hx);
  assert_same_patterns(inc, batch);
  engine_free(inc);
  engine_free(batch);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define U(name) cmocka_unit_test_teardown(name, free_engines)

int main(void) {
  const struct CMUnitTest tests[] = {
      U(test_params_default),
      U(test_params_check),
      U(test_names),
      U(test_week_numbers),
      U(test_digest_refused),
      U(test_cell_bounds_withheld),
      U(test_cell_bounds_rounded),
      U(test_cell_bounds_exact_other_scales),
      U(test_cell_bounds_match_disclosure),
      U(test_cell_fold),
      U(test_steady_world_is_quiet),
      U(test_spread_new_places),
      U(test_emerging_jump),
      U(test_rising_region_share),
      U(test_rising_slow_ramp),
      U(test_together_sudden),
      U(test_together_without_history_is_no_change),
      U(test_together_discovery_at_cutoff),
      U(test_together_places_over_windows),
      U(test_cross_scale),
      U(test_withheld_cells),
      U(test_one_place_makes_no_pattern),
      U(test_strong_signals_are_found),
      U(test_planted_world),
      U(test_fdr_tiny_opens_nothing),
      U(test_stable_ids_week_by_week),
      U(test_new_theme_keeps_past_discoveries),
      U(test_incremental_equals_batch),
      U(test_threads_same_results),
      U(test_place_met_late),
      U(test_supersede_any_order),
      T(test_supersede_same_counts),
      T(test_erased_newest_keeps_older_out),
      T(test_erase_unknown_is_noop),
      T(test_erase_story_updates),
      T(test_erase_digest_retracts),
      T(test_changes_reported_once),
      U(test_ids_stable_across_orders),
      T(test_lineage),
      T(test_lineage_stop),
      T(test_rename_updates),
      T(test_story_updates_together),
      T(test_callback_stop_then_complete),
      U(test_update_without_callback),
      U(test_freeze_changes_nothing),
      U(test_new_region_later),
      U(test_saved_tests),
      U(test_saved_tests_refused),
      U(test_story_only_theme), /* last: under UBSan it aborts the binary */
  };
  const char *filter = getenv("HLS_TEST_FILTER"); /* one test by name, e.g. "test_spread*" */
  if (filter != NULL) cmocka_set_test_filter(filter);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
