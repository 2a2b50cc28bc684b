/* placegen: see placegen.h. */
#include "placegen.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"
#include "record.h"

/* --- PRNG: xoshiro256** seeded through splitmix64 ----------------------------------- */

struct rng {
  uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Independent streams of one seed: the stream number is mixed in before
 * seeding, so adding draws to one stream never shifts another. */
static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ splitmix64(&(uint64_t){stream * 0xd1b54a32d192ed03ull + 1});
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n), n > 0 (Lemire, without modulo bias). */
static uint32_t rng_below(struct rng *r, uint32_t n) {
  if (n <= 1) return 0;
  uint32_t threshold = (uint32_t)(0u - n) % n;
  for (;;) {
    uint64_t m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
    if ((uint32_t)m >= threshold) return (uint32_t)(m >> 32);
  }
}

static double rng_normal(struct rng *r) {
  double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r); /* u1 in (0, 1] */
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Lognormal with median 1. */
static double rng_lognormal(struct rng *r, double sigma) { return exp(sigma * rng_normal(r)); }

/* Poisson: multiplication for small means, PTRS (Hoermann 1993) above. */
static uint32_t rng_poisson(struct rng *r, double mu) {
  if (!(mu > 0)) return 0;
  if (mu < 30) {
    double limit = exp(-mu), prod = rng_unit(r);
    uint32_t k = 0;
    while (prod > limit) {
      k++;
      prod *= rng_unit(r);
    }
    return k;
  }
  double slam = sqrt(mu), loglam = log(mu), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    double u = rng_unit(r) - 0.5, v = rng_unit(r), us = 0.5 - fabs(u);
    double k = floor((2 * a / us + b) * u + mu + 0.43);
    if (us >= 0.07 && v <= vr) return (uint32_t)k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -mu + k * loglam - lgamma(k + 1)) return (uint32_t)k;
  }
}

/* Gamma of the given shape and scale 1 (Marsaglia and Tsang 2000; a
 * shape below 1 through shape + 1 and U^(1/shape)). */
static double rng_gamma(struct rng *r, double shape) {
  if (shape < 1) {
    double u = 1.0 - rng_unit(r); /* (0, 1] */
    return rng_gamma(r, shape + 1) * pow(u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
  for (;;) {
    double x = rng_normal(r), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = rng_unit(r);
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
  }
}

/* An index drawn with the given weights (n > 0, total > 0). */
static int rng_pick(struct rng *r, const double *weights, int n) {
  double total = 0;
  for (int i = 0; i < n; i++) total += weights[i];
  double x = rng_unit(r) * total;
  for (int i = 0; i < n - 1; i++) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return n - 1;
}

/* Streams: one per purpose, and per place for everything a place draws. */
enum {
  STREAM_PLAN = 1,
  STREAM_PLACE = 1u << 20,       /* + place: size, region */
  STREAM_BACKGROUND = 2u << 20,  /* + place: affinities, weekly counts */
  STREAM_PLANTED = 3u << 20,     /* + place: planted records' draws */
  STREAM_STORIES = 4u << 20,     /* + place */
  STREAM_PERTURB = 5u << 20,     /* + place, of perturb_seed */
  STREAM_DRIFT = 6u << 20,       /* + theme: its national swing */
  STREAM_LOCAL = 7u << 20,       /* + theme: the places of a local theme */
  STREAM_MODEST_THEMES = 64,     /* which background themes modest plants take */
};

/* Weekly autocorrelation of a theme's drift (theme_drift_sigma). */
#define DRIFT_PHI 0.9

/* --- vocabulary ---------------------------------------------------------------------- */

static const struct {
  const char *slug;
  int kind;
} vocabulary[] = {
    {"loneliness", HLS_KIND_PROBLEM},
    {"housing-repairs", HLS_KIND_PROBLEM},
    {"problem-debt", HLS_KIND_PROBLEM},
    {"food-insecurity", HLS_KIND_PROBLEM},
    {"mental-health-waiting-lists", HLS_KIND_PROBLEM},
    {"transport-access", HLS_KIND_PROBLEM},
    {"digital-exclusion", HLS_KIND_PROBLEM},
    {"carer-burnout", HLS_KIND_PROBLEM},
    {"school-absence", HLS_KIND_PROBLEM},
    {"youth-violence", HLS_KIND_PROBLEM},
    {"domestic-abuse", HLS_KIND_PROBLEM},
    {"fuel-poverty", HLS_KIND_PROBLEM},
    {"benefit-sanctions", HLS_KIND_PROBLEM},
    {"rough-sleeping", HLS_KIND_PROBLEM},
    {"substance-use", HLS_KIND_PROBLEM},
    {"hospital-discharge-delays", HLS_KIND_PROBLEM},
    {"social-care-gaps", HLS_KIND_PROBLEM},
    {"gp-access", HLS_KIND_PROBLEM},
    {"childcare-costs", HLS_KIND_PROBLEM},
    {"antisocial-behaviour", HLS_KIND_PROBLEM},
    {"language-barriers", HLS_KIND_PROBLEM},
    {"long-term-unemployment", HLS_KIND_PROBLEM},
    {"overcrowding", HLS_KIND_PROBLEM},
    {"disability-access", HLS_KIND_PROBLEM},
    {"eviction-risk", HLS_KIND_PROBLEM},
    {"hoarding", HLS_KIND_PROBLEM},
    {"gambling-harm", HLS_KIND_PROBLEM},
    {"child-poverty", HLS_KIND_PROBLEM},
    {"bereavement", HLS_KIND_PROBLEM},
    {"poor-dental-access", HLS_KIND_PROBLEM},
    {"period-poverty", HLS_KIND_PROBLEM},
    {"exploitation", HLS_KIND_PROBLEM},
    {"community-ownership", HLS_KIND_ASPIRATION},
    {"green-spaces", HLS_KIND_ASPIRATION},
    {"safer-streets", HLS_KIND_ASPIRATION},
    {"local-jobs", HLS_KIND_ASPIRATION},
    {"youth-voice", HLS_KIND_ASPIRATION},
    {"healthy-ageing", HLS_KIND_ASPIRATION},
    {"thriving-high-street", HLS_KIND_ASPIRATION},
    {"warm-homes", HLS_KIND_ASPIRATION},
    {"inclusive-play", HLS_KIND_ASPIRATION},
    {"peer-support", HLS_KIND_STRENGTH},
    {"faith-groups", HLS_KIND_STRENGTH},
    {"local-knowledge", HLS_KIND_STRENGTH},
    {"volunteers", HLS_KIND_STRENGTH},
    {"mutual-aid", HLS_KIND_STRENGTH},
    {"community-centres", HLS_KIND_STRENGTH},
    {"trusted-relationships", HLS_KIND_STRENGTH},
    {"sports-clubs", HLS_KIND_STRENGTH},
    {"asset-based-conversations", HLS_KIND_PRACTICE},
    {"key-worker-model", HLS_KIND_PRACTICE},
    {"warm-handover", HLS_KIND_PRACTICE},
    {"co-production", HLS_KIND_PRACTICE},
    {"social-prescribing", HLS_KIND_PRACTICE},
    {"outreach", HLS_KIND_PRACTICE},
    {"multi-agency-huddles", HLS_KIND_PRACTICE},
    {"trauma-informed-practice", HLS_KIND_PRACTICE},
    {"home-visits", HLS_KIND_PRACTICE},
    {"drop-in-sessions", HLS_KIND_PRACTICE},
    {"test-and-learn", HLS_KIND_PRACTICE},
    {"welfare-rights-advice", HLS_KIND_PRACTICE},
    {"community-connectors", HLS_KIND_PRACTICE},
};
#define VOCABULARY_N (sizeof vocabulary / sizeof vocabulary[0])

/* Planted themes: none of them is in the vocabulary, with or without a
 * numeric suffix. */
static const struct {
  int signal;
  const char *slug;
  int kind;
} planted_themes[] = {
    {HLS_PAT_SPREAD, "warm-space-closures", HLS_KIND_PROBLEM},
    {HLS_PAT_EMERGING, "doorstep-scams", HLS_KIND_PROBLEM},
    {HLS_PAT_RISING, "energy-debt-arrears", HLS_KIND_PROBLEM},
    {HLS_PAT_TOGETHER, "mould-in-private-rentals", HLS_KIND_PROBLEM},
    {HLS_PAT_TOGETHER, "tenant-advocacy", HLS_KIND_PRACTICE},
    {HLS_PAT_CROSS_SCALE, "safe-routes-to-school", HLS_KIND_ASPIRATION},
};
#define PLANTED_THEMES_N (sizeof planted_themes / sizeof planted_themes[0])

static const char *const region_names[PLACEGEN_MAX_REGIONS] = {
    "North", "South", "East", "West", "Midlands", "Coast", "Highlands", "Valleys", "Islands", "Borders", "Capital",
    "Lakes"};

/* Scales of a background record: person-scale work dominates; practice
 * themes are more often about an organisation's way of working
 * (person_share, when set, replaces the person weight and scales the
 * others to the rest). */
static const double scale_weights[2][HLS_SCALE_COUNT] = {{0.78, 0.14, 0.06, 0.02}, {0.40, 0.45, 0.10, 0.05}};
static const double stage_weights[HLS_STAGE_COUNT] = {0.10, 0.25, 0.15, 0.25, 0.15, 0.10};

/* --- state --------------------------------------------------------------------------- */

/* Records a plant adds: a fixed count at one place-week, or a Poisson rate
 * over a run of weeks (linear from rate_from to rate_to). scale -1: drawn
 * like a background record's. */
struct plan_count {
  uint32_t place, theme;
  int week; /* index */
  int scale;
  uint32_t count;
};
struct plan_rate {
  uint32_t place, theme;
  int week_from, week_to; /* indexes, inclusive */
  int scale;
  double rate_from, rate_to;
};
struct plan_story {
  uint32_t place;
  int week;
  size_t n_themes;
  uint32_t themes[2];
};
/* A modest plant's change at one place (PLACEGEN_STYLE_MODEST), in weeks
 * week_from..week_to (indexes, inclusive); records from the planted
 * stream, on top of the background's:
 *   MOD_BOOST   Poisson(amount * min(1, weeks in / ramp) * the place-week's
 *               background rate of theme): the rate x (1 + amount);
 *   MOD_JOINT   with chance amount, 1 + Poisson(0.5) records of theme and
 *               as many more of theme2 in the same week;
 *   MOD_SCALES  Poisson(max(rate, 0.5) * activity) more records at person
 *               and as many more at organisation scale;
 *   MOD_ADOPT   1 + Poisson(1) records in week_from, then Poisson(amount *
 *               activity) a week. */
enum mod_kind { MOD_BOOST, MOD_JOINT, MOD_SCALES, MOD_ADOPT };
struct plan_mod {
  int kind;
  uint32_t place, theme, theme2;
  int week_from, week_to;
  int ramp;
  double amount;
};

struct placegen {
  struct placegen_params prm;
  int32_t w0;
  struct placegen_place *places;
  size_t n_places;
  struct placegen_theme *themes;
  size_t n_themes, n_background;
  uint32_t *theme_order; /* theme numbers sorted by (slug, kind) */
  struct placegen_plant plants[HLS_PAT_SIGNAL_COUNT];
  size_t n_plants;
  struct plan_count *counts;
  size_t n_counts, cap_counts;
  struct plan_rate *rates;
  size_t n_rates, cap_rates;
  struct plan_story *stories;
  size_t n_stories, cap_stories;
  struct plan_mod *mods;
  size_t n_mods, cap_mods;
  double scale_weights[2][HLS_SCALE_COUNT]; /* [practice?]: a drawn scale's weights */
  float *drift;       /* [theme * weeks + week]: multiplier, or NULL */
  uint32_t **local_users; /* [theme]: sorted places of a local theme, else NULL */
  size_t *n_local_users;
};

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

void placegen_params_default(struct placegen_params *p) {
  *p = (struct placegen_params){
      .seed = 1,
      .places = 40,
      .weeks = 52,
      .first_iso_year = 2024,
      .first_iso_week = 1,
      .themes = 60,
      .zipf_exponent = 1.0,
      .top_rate = 6.0,
      .size_sigma = 0.7,
      .affinity_sigma = 0.5,
      .activity_sigma = 0.25,
      .stories_per_place = 4.0,
      .background_scale = -1,
      .holiday_dip = 0.4,
      .regions = 5,
      .window_weeks = 8,
      .threshold = HLS_DISCLOSURE_DEFAULT_THRESHOLD,
      .rounding = HLS_DISCLOSURE_DEFAULT_ROUNDING,
      .sdc_kind = HLS_SDC_KEYED,
      .plants = PLACEGEN_PLANT_ALL,
      .plant_style = PLACEGEN_STYLE_NEW_THEMES,
      .local_share = 0.05,
      .person_share = -1,
  };
}

static int check_params(const struct placegen_params *p, struct hls_why *why) {
  int32_t w;
  if (p->places < 1 || p->places > PLACEGEN_MAX_PLACES)
    return hls_why_set(why, HLS_EINVAL, "places must be in 1..%d", PLACEGEN_MAX_PLACES);
  if (p->weeks < 1 || p->weeks > PLACEGEN_MAX_WEEKS)
    return hls_why_set(why, HLS_EINVAL, "weeks must be in 1..%d", PLACEGEN_MAX_WEEKS);
  if (p->themes < 1 || p->themes > PLACEGEN_MAX_THEMES)
    return hls_why_set(why, HLS_EINVAL, "themes must be in 1..%d", PLACEGEN_MAX_THEMES);
  if (hls_patterns_week(p->first_iso_year, p->first_iso_week, &w) != 0)
    return hls_why_set(why, HLS_EINVAL, "first week %d-W%02d does not exist", p->first_iso_year, p->first_iso_week);
  int last_year, last_week;
  hls_patterns_iso_week(w + p->weeks - 1, &last_year, &last_week);
  if (last_year > HLS_DATE_MAX_YEAR) return hls_why_set(why, HLS_EINVAL, "weeks run past year %d", HLS_DATE_MAX_YEAR);
  if (p->regions < 1 || p->regions > PLACEGEN_MAX_REGIONS)
    return hls_why_set(why, HLS_EINVAL, "regions must be in 1..%d", PLACEGEN_MAX_REGIONS);
  if (p->window_weeks < 1 || p->window_weeks > 104) return hls_why_set(why, HLS_EINVAL, "window_weeks must be in 1..104");
  if (p->rounding < 1) return hls_why_set(why, HLS_EINVAL, "rounding must be at least 1");
  if (hls_digest_method_name(p->sdc_kind) == NULL) return hls_why_set(why, HLS_EINVAL, "sdc_kind is not a method");
  if (!(p->zipf_exponent >= 0 && p->zipf_exponent <= 5) || !(p->top_rate > 0 && p->top_rate <= 1000) ||
      !(p->size_sigma >= 0 && p->size_sigma <= 3) || !(p->affinity_sigma >= 0 && p->affinity_sigma <= 3) ||
      !(p->activity_sigma >= 0 && p->activity_sigma <= 3) ||
      !(p->stories_per_place >= 0 && p->stories_per_place <= 1000) || !(p->holiday_dip >= 0 && p->holiday_dip < 1))
    return hls_why_set(why, HLS_EINVAL, "a rate or sigma is out of range");
  if (p->background_scale < -1 || p->background_scale >= HLS_SCALE_COUNT)
    return hls_why_set(why, HLS_EINVAL, "background_scale must be -1 or a scale");
  if (p->plants & ~PLACEGEN_PLANT_ALL) return hls_why_set(why, HLS_EINVAL, "unknown plant bits");
  if (p->plant_style != PLACEGEN_STYLE_NEW_THEMES && p->plant_style != PLACEGEN_STYLE_MODEST)
    return hls_why_set(why, HLS_EINVAL, "plant_style must be %d or %d", PLACEGEN_STYLE_NEW_THEMES,
                       PLACEGEN_STYLE_MODEST);
  if (!(p->overdispersion >= 0 && p->overdispersion <= 10))
    return hls_why_set(why, HLS_EINVAL, "overdispersion must be in 0..10");
  if (!(p->theme_drift_sigma >= 0 && p->theme_drift_sigma <= 2))
    return hls_why_set(why, HLS_EINVAL, "theme_drift_sigma must be in 0..2");
  if (p->local_themes < 0 || p->local_themes > p->themes)
    return hls_why_set(why, HLS_EINVAL, "local_themes must be in 0..themes");
  if (!(p->local_share > 0 && p->local_share <= 1)) return hls_why_set(why, HLS_EINVAL, "local_share must be in (0, 1]");
  if (!(p->person_share == -1 || (p->person_share >= 0 && p->person_share <= 1)))
    return hls_why_set(why, HLS_EINVAL, "person_share must be -1 or in 0..1");
  return 0;
}

static int theme_key_cmp(const struct placegen_theme *a, const char *slug, int kind) {
  int c = strcmp(a->slug, slug);
  return c != 0 ? c : (a->kind > kind) - (a->kind < kind);
}

struct theme_sort {
  const struct placegen_theme *theme;
  uint32_t ix;
};
static int theme_sort_cmp(const void *a, const void *b) {
  const struct placegen_theme *y = ((const struct theme_sort *)b)->theme;
  return theme_key_cmp(((const struct theme_sort *)a)->theme, y->slug, y->kind);
}

int placegen_theme_find(const struct placegen *g, const char *slug, int kind) {
  size_t lo = 0, hi = g->n_themes;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = theme_key_cmp(&g->themes[g->theme_order[mid]], slug, kind);
    if (c == 0) return (int)g->theme_order[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* --- plants -------------------------------------------------------------------------- */

static int add_count(struct placegen *g, uint32_t place, uint32_t theme, int week, int scale, uint32_t count) {
  if (!GROW(g->counts, g->cap_counts, g->n_counts + 1)) return HLS_ENOMEM;
  g->counts[g->n_counts++] = (struct plan_count){place, theme, week, scale, count};
  return 0;
}

static int add_rate(struct placegen *g, uint32_t place, uint32_t theme, int from, int to, int scale, double r0,
                    double r1) {
  if (!GROW(g->rates, g->cap_rates, g->n_rates + 1)) return HLS_ENOMEM;
  g->rates[g->n_rates++] = (struct plan_rate){place, theme, from, to, scale, r0, r1};
  return 0;
}

static int add_story(struct placegen *g, const struct placegen_plant *pl) {
  if (!GROW(g->stories, g->cap_stories, g->n_stories + 1)) return HLS_ENOMEM;
  struct plan_story *s = &g->stories[g->n_stories++];
  /* A rise is noticed, and written about, once it has gone on a while:
   * the rising plant's story is in its last planted week. */
  const struct placegen_cell *c = pl->signal == HLS_PAT_RISING ? &pl->cells[pl->n_cells - 1] : &pl->cells[0];
  s->place = c->place;
  s->week = (int)(c->week - g->w0);
  s->n_themes = pl->n_themes;
  memcpy(s->themes, pl->themes, sizeof s->themes);
  return 0;
}

/* n distinct places, sorted. */
static void pick_places(struct placegen *g, struct rng *r, uint32_t *scratch, size_t n, uint32_t *out) {
  for (size_t i = 0; i < g->n_places; i++) scratch[i] = (uint32_t)i;
  for (size_t i = 0; i < n; i++) {
    size_t j = i + rng_below(r, (uint32_t)(g->n_places - i));
    uint32_t t = scratch[i];
    scratch[i] = scratch[j];
    scratch[j] = t;
    out[i] = scratch[i];
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
      uint32_t t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
}

static void cell_add(struct placegen_plant *pl, uint32_t place, int32_t week) {
  for (size_t i = 0; i < pl->n_cells; i++)
    if (pl->cells[i].place == place && pl->cells[i].week == week) return;
  if (pl->n_cells < PLACEGEN_PLANT_MAX_CELLS) pl->cells[pl->n_cells++] = (struct placegen_cell){place, week};
}

static int32_t floor_div(int32_t a, int32_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* A random aligned window inside the data: its first week index, or -1. */
static int pick_window(const struct placegen *g, struct rng *r) {
  int32_t W = g->prm.window_weeks;
  int32_t kmin = floor_div(g->w0 + W - 1, W), kmax = floor_div(g->w0 + g->prm.weeks, W) - 1;
  if (kmax < kmin) return -1;
  int32_t k = kmin + (int32_t)rng_below(r, (uint32_t)(kmax - kmin + 1));
  return (int)(k * W - g->w0);
}

static uint32_t theme_of_plant(const struct placegen *g, int signal, size_t nth) {
  for (size_t i = g->n_background; i < g->n_themes; i++)
    if (g->themes[i].plant == signal && nth-- == 0) return (uint32_t)i;
  return 0; /* not reached: every signal has its themes */
}

static int plan_spread(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int wk = pick_window(g, r);
  size_t m = 4 + rng_below(r, 3);
  if (wk < 0 || g->n_places < 4) return 1;
  if (m > g->n_places) m = g->n_places;
  int W = g->prm.window_weeks;
  uint32_t theme = pl->themes[0];
  pl->n_places = m;
  pick_places(g, r, scratch, m, pl->places);
  for (size_t i = 0; i < m; i++) {
    /* One to three weeks of the window; mostly a handful of person-scale
     * records (withheld), now and then a busier week. */
    int nw = 1 + (int)rng_below(r, 3);
    for (int k = 0; k < nw; k++) {
      int week = wk + (int)rng_below(r, (uint32_t)W);
      uint32_t count = rng_unit(r) < 0.2 ? 10 + rng_poisson(r, 5) : 1 + rng_poisson(r, 2.5);
      if (add_count(g, pl->places[i], theme, week, HLS_SCALE_PERSON, count) != 0) return HLS_ENOMEM;
      cell_add(pl, pl->places[i], g->w0 + week);
    }
  }
  pl->week_from = g->w0 + wk;
  pl->week_to = pl->week_from + W - 1;
  return 0;
}

static int plan_cross_scale(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int wk = pick_window(g, r);
  size_t m = 2 + rng_below(r, 2);
  if (wk < 0 || g->n_places < 2) return 1;
  if (m > g->n_places) m = g->n_places;
  int W = g->prm.window_weeks;
  pl->n_places = m;
  pick_places(g, r, scratch, m, pl->places);
  for (size_t i = 0; i < m; i++) {
    /* The same aspiration met by residents and by a service. */
    int pw = wk + (int)rng_below(r, (uint32_t)W), ow = wk + (int)rng_below(r, (uint32_t)W);
    if (add_count(g, pl->places[i], pl->themes[0], pw, HLS_SCALE_PERSON, 1 + rng_poisson(r, 2)) != 0 ||
        add_count(g, pl->places[i], pl->themes[0], ow, HLS_SCALE_ORGANISATION, 1 + rng_poisson(r, 1.5)) != 0)
      return HLS_ENOMEM;
    cell_add(pl, pl->places[i], g->w0 + pw);
    cell_add(pl, pl->places[i], g->w0 + ow);
  }
  pl->week_from = g->w0 + wk;
  pl->week_to = pl->week_from + W - 1;
  return 0;
}

static int plan_together(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int wk = pick_window(g, r);
  size_t m = 6 + rng_below(r, 3);
  size_t both = m + 1 + rng_below(r, 4);
  size_t only[2] = {rng_below(r, 2), rng_below(r, 2)};
  if (wk < 0 || g->n_places < 6) return 1;
  if (m > g->n_places) m = g->n_places;
  int W = g->prm.window_weeks;
  if (both > m * (size_t)W) both = m * (size_t)W;
  pl->n_places = m;
  pick_places(g, r, scratch, m, pl->places);
  bool *taken = calloc(m * (size_t)W, sizeof *taken); /* [slot][week] */
  if (taken == NULL) return HLS_ENOMEM;
  int rc = 0;
  int per_place[PLACEGEN_PLANT_MAX_PLACES] = {0};
  for (size_t i = 0; i < both && rc == 0; i++) {
    size_t slot = i;
    if (i >= m) /* one each first, then the rest where weeks are free */
      do slot = rng_below(r, (uint32_t)m);
      while (per_place[slot] == W);
    per_place[slot]++;
    uint32_t place = pl->places[slot];
    int week;
    do week = (int)rng_below(r, (uint32_t)W);
    while (taken[slot * (size_t)W + (size_t)week]);
    taken[slot * (size_t)W + (size_t)week] = true;
    /* Damp and mould in a private let, and someone advocating with the
     * landlord: both recorded in the same week. */
    rc = add_count(g, place, pl->themes[0], wk + week, -1, 1 + rng_poisson(r, 2));
    if (rc == 0) rc = add_count(g, place, pl->themes[1], wk + week, -1, 1 + rng_poisson(r, 1.5));
    cell_add(pl, place, g->w0 + wk + week);
  }
  /* Now and then one theme without the other, at other places (never
   * both at one place: the manifest's places are all that report both). */
  uint32_t single_place[2] = {UINT32_MAX, UINT32_MAX};
  for (int t = 0; t < 2 && rc == 0; t++)
    for (size_t i = 0; i < only[t] && rc == 0; i++) {
      uint32_t place = rng_below(r, (uint32_t)g->n_places);
      bool planted = place == single_place[1 - t];
      for (size_t k = 0; k < m; k++) planted |= pl->places[k] == place;
      if (planted) continue;
      single_place[t] = place;
      rc = add_count(g, place, pl->themes[t], wk + (int)rng_below(r, (uint32_t)W), -1, 1 + rng_poisson(r, 1.5));
    }
  free(taken);
  pl->week_from = g->w0 + wk;
  pl->week_to = pl->week_from + W - 1;
  return rc;
}

static int plan_emerging(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks;
  if (n < 15 || g->n_places < 3) return 1;
  size_t bp = 3 + rng_below(r, 3), jp = 3 + rng_below(r, 3);
  if (bp > g->n_places) bp = g->n_places;
  if (jp > g->n_places) jp = g->n_places;
  uint32_t base[PLACEGEN_PLANT_MAX_PLACES];
  pick_places(g, r, scratch, bp, base);
  /* A steady trickle reported by services (organisation scale: exact)... */
  for (size_t i = 0; i < bp; i++) {
    double rate = 0.2 + 0.15 * rng_unit(r);
    if (add_rate(g, base[i], pl->themes[0], 0, n - 1, HLS_SCALE_ORGANISATION, rate, rate) != 0) return HLS_ENOMEM;
  }
  /* ...then one week when several places see a wave of them. */
  int j = 12 + (int)rng_below(r, (uint32_t)(n - 14));
  pl->n_places = jp;
  pick_places(g, r, scratch, jp, pl->places);
  for (size_t i = 0; i < jp; i++) {
    if (add_count(g, pl->places[i], pl->themes[0], j, HLS_SCALE_ORGANISATION, 3 + rng_below(r, 5)) != 0)
      return HLS_ENOMEM;
    cell_add(pl, pl->places[i], g->w0 + j);
  }
  pl->week_from = pl->week_to = g->w0 + j;
  return 0;
}

static int plan_rising(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks;
  if (n < 30 || g->n_places < 4) return 1;
  size_t m = 4 + rng_below(r, 3);
  if (m > g->n_places) m = g->n_places;
  int len = 12 + (int)rng_below(r, 5), r0 = n - len;
  pl->n_places = m;
  pick_places(g, r, scratch, m, pl->places);
  for (size_t i = 0; i < m; i++) {
    /* Referrals a service sees each week: a low steady rate, then a
     * steady climb through the last weeks of the data. */
    double base = 0.3 + 0.3 * rng_unit(r), peak = 3.0 + 2.0 * rng_unit(r);
    if (add_rate(g, pl->places[i], pl->themes[0], 0, r0 - 1, HLS_SCALE_ORGANISATION, base, base) != 0 ||
        add_rate(g, pl->places[i], pl->themes[0], r0, n - 1, HLS_SCALE_ORGANISATION, base + (peak - base) / len,
                 peak) != 0)
      return HLS_ENOMEM;
    for (int w = r0; w < n; w++) cell_add(pl, pl->places[i], g->w0 + w);
  }
  pl->week_from = g->w0 + r0;
  pl->week_to = g->w0 + n - 1;
  return 0;
}

/* --- modest plants (PLACEGEN_STYLE_MODEST) ------------------------------------------- */

static bool local_user(const struct placegen *g, uint32_t theme, uint32_t place) {
  const uint32_t *u = g->local_users[theme];
  size_t lo = 0, hi = g->n_local_users[theme];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (u[mid] == place) return true;
    if (u[mid] < place) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/* The weekly rate of background theme t at place p before activity and
 * drift, as run_place computes it (replaying its first draws: the
 * affinities). */
static double base_rate(const struct placegen *g, uint32_t p, uint32_t t) {
  struct rng rb;
  rng_seed(&rb, g->prm.seed, STREAM_BACKGROUND + p);
  double affinity = 1;
  for (uint32_t i = 0; i <= t; i++) affinity = rng_lognormal(&rb, g->prm.affinity_sigma);
  if (g->local_users[t] != NULL && !local_user(g, t, p)) return 0;
  return g->prm.top_rate * g->places[p].size * affinity * pow((double)g->themes[t].rank, -g->prm.zipf_exponent);
}

static int double_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The places where theme t is at least as common as at the median place,
 * into out (place order); their number (at least half the places), or 0
 * on ENOMEM. */
static size_t upper_half(const struct placegen *g, uint32_t t, uint32_t *out) {
  double *rate = malloc(g->n_places * sizeof *rate), *sorted = malloc(g->n_places * sizeof *sorted);
  size_t n = 0;
  if (rate != NULL && sorted != NULL) {
    for (uint32_t p = 0; p < g->n_places; p++) sorted[p] = rate[p] = base_rate(g, p, t);
    qsort(sorted, g->n_places, sizeof *sorted, double_cmp);
    double median = sorted[(g->n_places - 1) / 2];
    for (uint32_t p = 0; p < g->n_places; p++)
      if (rate[p] >= median) out[n++] = p;
  }
  free(rate);
  free(sorted);
  return n;
}

/* n of the pool's places at random: pool[0..n) in the order drawn, out
 * sorted. */
static void pick_among(struct rng *r, uint32_t *pool, size_t n_pool, size_t n, uint32_t *out) {
  for (size_t i = 0; i < n; i++) {
    size_t j = i + rng_below(r, (uint32_t)(n_pool - i));
    uint32_t t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
    out[i] = pool[i];
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
      uint32_t t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
}

/* An onset week index from min(26, weeks/2) to last, or -1: a change
 * needs half a year of normal weeks before it (or half the data). */
static int pick_onset(const struct placegen *g, struct rng *r, int last) {
  int first = g->prm.weeks / 2 < 26 ? g->prm.weeks / 2 : 26;
  if (last < first) return -1;
  return first + (int)rng_below(r, (uint32_t)(last - first + 1));
}

static int add_mod(struct placegen *g, int kind, uint32_t place, uint32_t theme, uint32_t theme2, int from, int to,
                   int ramp, double amount) {
  if (!GROW(g->mods, g->cap_mods, g->n_mods + 1)) return HLS_ENOMEM;
  g->mods[g->n_mods++] = (struct plan_mod){kind, place, theme, theme2, from, to, ramp, amount};
  return 0;
}

static void cells_add(struct placegen *g, struct placegen_plant *pl, uint32_t place, int from, int to) {
  for (int w = from; w <= to; w++) cell_add(pl, place, g->w0 + w);
}

static int modest_emerging(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int on = pick_onset(g, r, g->prm.weeks - 4);
  if (on < 0 || g->n_places < 3) return 1;
  size_t m = g->n_places / 5;
  if (m < 3) m = 3;
  if (m > 8) m = 8;
  size_t pool = upper_half(g, pl->themes[0], scratch);
  if (pool == 0) return HLS_ENOMEM;
  if (pool < m) m = pool;
  pick_among(r, scratch, pool, m, pl->places);
  pl->n_places = m;
  for (size_t i = 0; i < m; i++) {
    if (add_mod(g, MOD_BOOST, pl->places[i], pl->themes[0], 0, on, on + 2, 1, 3.0) != 0) return HLS_ENOMEM;
    cells_add(g, pl, pl->places[i], on, on + 2);
  }
  pl->week_from = g->w0 + on;
  pl->week_to = g->w0 + on + 2;
  return 0;
}

static int modest_rising(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks, on = pick_onset(g, r, n - 14);
  if (on < 0) return 1;
  /* A region with at least two places, at random. */
  size_t in_region[PLACEGEN_MAX_REGIONS] = {0};
  int eligible[PLACEGEN_MAX_REGIONS], n_eligible = 0;
  for (size_t p = 0; p < g->n_places; p++)
    for (int k = 0; k < g->prm.regions; k++)
      if (g->places[p].region == region_names[k]) in_region[k]++;
  for (int k = 0; k < g->prm.regions; k++)
    if (in_region[k] >= 2) eligible[n_eligible++] = k;
  if (n_eligible == 0) return 1;
  const char *region = region_names[eligible[rng_below(r, (uint32_t)n_eligible)]];
  size_t m = 0;
  for (uint32_t p = 0; p < g->n_places && m < PLACEGEN_PLANT_MAX_PLACES; p++)
    if (g->places[p].region == region) pl->places[m++] = p;
  pl->n_places = m;
  for (size_t i = 0; i < m; i++) {
    if (add_mod(g, MOD_BOOST, pl->places[i], pl->themes[0], 0, on, n - 1, 12, 0.4) != 0) return HLS_ENOMEM;
    cells_add(g, pl, pl->places[i], on, on + 11);
  }
  (void)scratch;
  pl->week_from = g->w0 + on;
  pl->week_to = g->w0 + n - 1;
  return 0;
}

static int modest_together(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks, on = pick_onset(g, r, n - 4);
  if (on < 0 || g->n_places < 3) return 1;
  size_t m = g->n_places >= 80 ? 20 : g->n_places / 4;
  if (m < 3) m = 3;
  pick_places(g, r, scratch, m, pl->places);
  pl->n_places = m;
  for (size_t i = 0; i < m; i++) {
    if (add_mod(g, MOD_JOINT, pl->places[i], pl->themes[0], pl->themes[1], on, n - 1, 0, 0.5) != 0)
      return HLS_ENOMEM;
    cells_add(g, pl, pl->places[i], on, n - 1);
  }
  pl->week_from = g->w0 + on;
  pl->week_to = g->w0 + n - 1;
  return 0;
}

static int modest_spread(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks, on = pick_onset(g, r, n - 4);
  uint32_t t = pl->themes[0];
  if (on < 0) return 1;
  size_t m = g->n_places >= 80 ? 10 : g->n_places / 8, pool = 0;
  if (m < 3) m = 3;
  for (uint32_t p = 0; p < g->n_places; p++)
    if (!local_user(g, t, p)) scratch[pool++] = p;
  if (pool < m) return 1;
  pick_among(r, scratch, pool, m, pl->places);
  pl->n_places = m;
  /* Taken up in the order drawn, 2 or 3 places a week. */
  for (size_t k = 0; k < m; k++) {
    int first = on + (int)(2 * k / 5);
    if (first > n - 1) first = n - 1;
    if (add_mod(g, MOD_ADOPT, scratch[k], t, 0, first, n - 1, 0, 0.5) != 0) return HLS_ENOMEM;
    cells_add(g, pl, scratch[k], first, n - 1);
  }
  pl->week_from = g->w0 + on;
  pl->week_to = g->w0 + n - 1;
  return 0;
}

static int modest_cross_scale(struct placegen *g, struct rng *r, uint32_t *scratch, struct placegen_plant *pl) {
  int n = g->prm.weeks, on = pick_onset(g, r, n - 4);
  if (on < 0 || g->n_places < 2) return 1;
  size_t m = g->n_places < 5 ? g->n_places : 5;
  size_t pool = upper_half(g, pl->themes[0], scratch);
  if (pool == 0) return HLS_ENOMEM;
  if (pool < m) m = pool;
  pick_among(r, scratch, pool, m, pl->places);
  pl->n_places = m;
  for (size_t i = 0; i < m; i++) {
    if (add_mod(g, MOD_SCALES, pl->places[i], pl->themes[0], 0, on, n - 1, 0, 0) != 0) return HLS_ENOMEM;
    cells_add(g, pl, pl->places[i], on, n - 1);
  }
  pl->week_from = g->w0 + on;
  pl->week_to = g->w0 + n - 1;
  return 0;
}

/* The background themes modest plants take, in the order emerging,
 * rising, together (two), cross-scale, then spread's local theme;
 * UINT32_MAX where none is left. Drawn from one stream whatever is
 * planted, so leaving a plant out moves no other plant's theme. The
 * first five are mid-popularity (Zipf rank from a fifth to half of the
 * themes), then any other non-local theme but the most common. */
#define MODEST_THEMES 6
static int modest_themes(const struct placegen *g, uint32_t out[MODEST_THEMES]) {
  struct rng r;
  rng_seed(&r, g->prm.seed, STREAM_MODEST_THEMES);
  size_t T = g->n_background, n_mid = 0, n_other = 0, n_local = 0;
  uint32_t *mid = malloc(T * sizeof *mid), *other = malloc(T * sizeof *other), *local = malloc(T * sizeof *local);
  if (mid == NULL || other == NULL || local == NULL) {
    free(mid), free(other), free(local);
    return HLS_ENOMEM;
  }
  int lo = (int)T / 5 < 2 ? 2 : (int)T / 5, hi = (int)T / 2 < lo ? lo : (int)T / 2;
  for (uint32_t t = 0; t < T; t++) {
    int rank = g->themes[t].rank;
    if (g->themes[t].local) local[n_local++] = t;
    else if (rank >= lo && rank <= hi) mid[n_mid++] = t;
    else if (rank >= 2) other[n_other++] = t;
  }
  uint32_t shuffled_mid[MODEST_THEMES - 1], shuffled_other[MODEST_THEMES - 1];
  size_t take_mid = n_mid < MODEST_THEMES - 1 ? n_mid : MODEST_THEMES - 1;
  size_t take_other = n_other < MODEST_THEMES - 1 - take_mid ? n_other : MODEST_THEMES - 1 - take_mid;
  pick_among(&r, mid, n_mid, take_mid, shuffled_mid);
  pick_among(&r, other, n_other, take_other, shuffled_other);
  for (size_t i = 0; i < MODEST_THEMES - 1; i++)
    out[i] = i < take_mid ? mid[i] : i - take_mid < take_other ? other[i - take_mid] : UINT32_MAX;
  out[MODEST_THEMES - 1] = n_local > 0 ? local[rng_below(&r, (uint32_t)n_local)] : UINT32_MAX;
  free(mid), free(other), free(local);
  return 0;
}

static int plan(struct placegen *g) {
  struct rng r;
  rng_seed(&r, g->prm.seed, STREAM_PLAN);
  uint32_t *scratch = malloc(g->n_places * sizeof *scratch);
  if (scratch == NULL) return HLS_ENOMEM;
  typedef int (*planner_fn)(struct placegen *, struct rng *, uint32_t *, struct placegen_plant *);
  static const planner_fn planners[2][HLS_PAT_SIGNAL_COUNT] = {
      [PLACEGEN_STYLE_NEW_THEMES] =
          {
              [HLS_PAT_SPREAD] = plan_spread,
              [HLS_PAT_EMERGING] = plan_emerging,
              [HLS_PAT_RISING] = plan_rising,
              [HLS_PAT_TOGETHER] = plan_together,
              [HLS_PAT_CROSS_SCALE] = plan_cross_scale,
          },
      [PLACEGEN_STYLE_MODEST] =
          {
              [HLS_PAT_SPREAD] = modest_spread,
              [HLS_PAT_EMERGING] = modest_emerging,
              [HLS_PAT_RISING] = modest_rising,
              [HLS_PAT_TOGETHER] = modest_together,
              [HLS_PAT_CROSS_SCALE] = modest_cross_scale,
          },
  };
  /* Where each signal's themes are in modest_themes' list. */
  static const int modest_slot[HLS_PAT_SIGNAL_COUNT] = {
      [HLS_PAT_EMERGING] = 0, [HLS_PAT_RISING] = 1, [HLS_PAT_TOGETHER] = 2, [HLS_PAT_CROSS_SCALE] = 4,
      [HLS_PAT_SPREAD] = 5};
  bool modest = g->prm.plant_style == PLACEGEN_STYLE_MODEST;
  uint32_t mthemes[MODEST_THEMES];
  int rc = modest && g->prm.plants ? modest_themes(g, mthemes) : 0;
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT && rc == 0; s++) {
    /* Each plant draws from its own stream: leaving one out does not move
     * the others. */
    rng_seed(&r, g->prm.seed, STREAM_PLAN + 1 + (uint64_t)s);
    if (!(g->prm.plants & PLACEGEN_PLANT(s))) continue;
    struct placegen_plant *pl = &g->plants[g->n_plants];
    memset(pl, 0, sizeof *pl);
    pl->signal = s;
    pl->n_themes = s == HLS_PAT_TOGETHER ? 2 : 1;
    bool themes_left = true;
    for (size_t t = 0; t < pl->n_themes; t++) {
      pl->themes[t] = modest ? mthemes[modest_slot[s] + (int)t] : theme_of_plant(g, s, t);
      themes_left &= pl->themes[t] != UINT32_MAX;
    }
    size_t counts_before = g->n_counts, rates_before = g->n_rates, mods_before = g->n_mods;
    rc = themes_left ? planners[g->prm.plant_style][s](g, &r, scratch, pl) : 1;
    if (rc == 1) { /* does not fit */
      g->n_counts = counts_before;
      g->n_rates = rates_before;
      g->n_mods = mods_before;
      rc = 0;
      continue;
    }
    if (rc == 0) rc = add_story(g, pl);
    if (modest)
      for (size_t t = 0; t < pl->n_themes; t++) g->themes[pl->themes[t]].plant = s;
    g->n_plants++;
  }
  free(scratch);
  return rc;
}

/* --- setup --------------------------------------------------------------------------- */

int placegen_new(struct placegen **out, const struct placegen_params *p, struct hls_why *why) {
  struct placegen_params def;
  if (p == NULL) {
    placegen_params_default(&def);
    p = &def;
  }
  int rc = check_params(p, why);
  if (rc != 0) return rc;
  if (sodium_init() < 0) return hls_why_set(why, HLS_EINTERNAL, "libsodium failed to start");
  struct placegen *g = calloc(1, sizeof *g);
  if (g == NULL) return HLS_ENOMEM;
  g->prm = *p;
  if (hls_patterns_week(p->first_iso_year, p->first_iso_week, &g->w0) != 0) {
    rc = HLS_EINVAL;
    goto fail;
  }
  /* The scale weights: the built-in ones copied as they are (person_share
   * -1: the same draws as before it existed), or person_share for person
   * scale and the rest shared as the built-in weights share it. */
  for (int k = 0; k < 2; k++)
    for (int s = 0; s < HLS_SCALE_COUNT; s++) {
      const double *w = scale_weights[k];
      if (p->person_share < 0) g->scale_weights[k][s] = w[s];
      else if (s == HLS_SCALE_PERSON) g->scale_weights[k][s] = p->person_share;
      else g->scale_weights[k][s] = (1 - p->person_share) * w[s] / (1 - w[HLS_SCALE_PERSON]);
    }
  g->n_places = (size_t)p->places;
  g->places = calloc(g->n_places, sizeof *g->places);
  g->n_background = (size_t)p->themes;
  /* Modest plants change background themes: no themes of their own. */
  g->n_themes = g->n_background + (p->plant_style == PLACEGEN_STYLE_MODEST ? 0 : PLANTED_THEMES_N);
  g->themes = calloc(g->n_themes, sizeof *g->themes);
  g->theme_order = malloc(g->n_themes * sizeof *g->theme_order);
  g->local_users = calloc(g->n_themes, sizeof *g->local_users);
  g->n_local_users = calloc(g->n_themes, sizeof *g->n_local_users);
  if (g->places == NULL || g->themes == NULL || g->theme_order == NULL || g->local_users == NULL ||
      g->n_local_users == NULL) {
    rc = HLS_ENOMEM;
    goto fail;
  }

  int digits = 2; /* at most 5: PLACEGEN_MAX_PLACES */
  for (int n = p->places - 1; n >= 100 && digits < 5; n /= 10) digits++;
  for (size_t i = 0; i < g->n_places; i++) {
    struct placegen_place *pl = &g->places[i];
    struct rng r;
    rng_seed(&r, p->seed, STREAM_PLACE + i);
    pl->index = (uint32_t)i;
    pl->size = rng_lognormal(&r, p->size_sigma);
    pl->region = region_names[rng_below(&r, (uint32_t)p->regions)];
    snprintf(pl->name, sizeof pl->name, "Place %0*u", digits, (unsigned)(i % PLACEGEN_MAX_PLACES));
    /* The key seed: BLAKE2b of the generator seed and the place number. */
    uint8_t in[16], seed[crypto_sign_SEEDBYTES];
    for (int b = 0; b < 8; b++) {
      in[b] = (uint8_t)(p->seed >> (8 * b));
      in[8 + b] = (uint8_t)((uint64_t)i >> (8 * b));
    }
    crypto_generichash(seed, sizeof seed, in, sizeof in, (const uint8_t *)"placegen-key-v1", 15);
    crypto_sign_seed_keypair(pl->pk, pl->sk, seed);
  }

  /* Background themes: the vocabulary, then numbered variants; Zipf ranks
   * are a seeded shuffle so the busiest theme differs between seeds. */
  struct rng r;
  rng_seed(&r, p->seed, STREAM_PLAN);
  uint32_t *ranks = malloc(g->n_background * sizeof *ranks);
  if (ranks == NULL) {
    rc = HLS_ENOMEM;
    goto fail;
  }
  for (size_t i = 0; i < g->n_background; i++) ranks[i] = (uint32_t)i + 1;
  for (size_t i = g->n_background; i > 1; i--) {
    size_t j = rng_below(&r, (uint32_t)i);
    uint32_t t = ranks[i - 1];
    ranks[i - 1] = ranks[j];
    ranks[j] = t;
  }
  for (size_t i = 0; i < g->n_background; i++) {
    struct placegen_theme *t = &g->themes[i];
    size_t v = i % VOCABULARY_N, round = i / VOCABULARY_N;
    if (round == 0) snprintf(t->slug, sizeof t->slug, "%s", vocabulary[v].slug);
    else snprintf(t->slug, sizeof t->slug, "%s-%zu", vocabulary[v].slug, round + 1);
    t->kind = vocabulary[v].kind;
    t->plant = -1;
    t->rank = (int)ranks[i];
  }
  free(ranks);
  for (size_t i = 0; i < g->n_themes - g->n_background; i++) {
    struct placegen_theme *t = &g->themes[g->n_background + i];
    snprintf(t->slug, sizeof t->slug, "%s", planted_themes[i].slug);
    t->kind = planted_themes[i].kind;
    t->plant = planted_themes[i].signal;
  }
  struct theme_sort *order = malloc(g->n_themes * sizeof *order);
  if (order == NULL) {
    rc = HLS_ENOMEM;
    goto fail;
  }
  for (size_t i = 0; i < g->n_themes; i++) order[i] = (struct theme_sort){&g->themes[i], (uint32_t)i};
  qsort(order, g->n_themes, sizeof *order, theme_sort_cmp);
  for (size_t i = 0; i < g->n_themes; i++) g->theme_order[i] = order[i].ix;
  free(order);

  /* Local themes: the least popular ones, each reported by a few places
   * only (drawn from the theme's own stream). */
  size_t n_users = (size_t)(p->local_share * (double)g->n_places + 0.5);
  if (n_users < 2) n_users = 2;
  if (n_users > g->n_places) n_users = g->n_places;
  uint32_t *scratch = p->local_themes > 0 ? malloc(g->n_places * sizeof *scratch) : NULL;
  if (p->local_themes > 0 && scratch == NULL) {
    rc = HLS_ENOMEM;
    goto fail;
  }
  for (size_t t = 0; t < g->n_background && p->local_themes > 0; t++) {
    if (g->themes[t].rank <= p->themes - p->local_themes) continue;
    g->themes[t].local = true;
    g->local_users[t] = malloc(n_users * sizeof *g->local_users[t]);
    if (g->local_users[t] == NULL) {
      free(scratch);
      rc = HLS_ENOMEM;
      goto fail;
    }
    rng_seed(&r, p->seed, STREAM_LOCAL + t);
    pick_places(g, &r, scratch, n_users, g->local_users[t]);
    g->n_local_users[t] = n_users;
  }
  free(scratch);

  /* Drift: each theme's national multiplier, week by week. */
  if (p->theme_drift_sigma > 0) {
    g->drift = malloc(g->n_background * (size_t)p->weeks * sizeof *g->drift);
    if (g->drift == NULL) {
      rc = HLS_ENOMEM;
      goto fail;
    }
    double sd = p->theme_drift_sigma, innovation = sd * sqrt(1 - DRIFT_PHI * DRIFT_PHI);
    for (size_t t = 0; t < g->n_background; t++) {
      rng_seed(&r, p->seed, STREAM_DRIFT + t);
      double x = sd * rng_normal(&r);
      for (int w = 0; w < p->weeks; w++) {
        if (w > 0) x = DRIFT_PHI * x + innovation * rng_normal(&r);
        g->drift[t * (size_t)p->weeks + (size_t)w] = (float)exp(x - sd * sd / 2);
      }
    }
  }

  rc = plan(g);
  if (rc != 0) goto fail;
  *out = g;
  return 0;
fail:
  placegen_free(g);
  return rc;
}

void placegen_free(struct placegen *g) {
  if (g == NULL) return;
  if (g->places != NULL) sodium_memzero(g->places, g->n_places * sizeof *g->places);
  free(g->places);
  free(g->themes);
  free(g->theme_order);
  free(g->counts);
  free(g->rates);
  free(g->stories);
  free(g->mods);
  free(g->drift);
  for (size_t t = 0; g->local_users != NULL && t < g->n_themes; t++) free(g->local_users[t]);
  free(g->local_users);
  free(g->n_local_users);
  free(g);
}

const struct placegen_params *placegen_params(const struct placegen *g) { return &g->prm; }
int32_t placegen_first_week(const struct placegen *g) { return g->w0; }
size_t placegen_n_places(const struct placegen *g) { return g->n_places; }
const struct placegen_place *placegen_place(const struct placegen *g, uint32_t place) {
  return place < g->n_places ? &g->places[place] : NULL;
}
size_t placegen_n_themes(const struct placegen *g) { return g->n_themes; }
const struct placegen_theme *placegen_theme(const struct placegen *g, uint32_t theme) {
  return theme < g->n_themes ? &g->themes[theme] : NULL;
}
size_t placegen_n_plants(const struct placegen *g) { return g->n_plants; }
const struct placegen_plant *placegen_plant(const struct placegen *g, size_t i) {
  return i < g->n_plants ? &g->plants[i] : NULL;
}
const struct placegen_plant *placegen_plant_of(const struct placegen *g, int signal) {
  for (size_t i = 0; i < g->n_plants; i++)
    if (g->plants[i].signal == signal) return &g->plants[i];
  return NULL;
}

uint64_t placegen_timestamp_ms(int32_t week, uint64_t seq) {
  int64_t monday_after = ((int64_t)week + 1) * 7 - 3;
  return (uint64_t)(monday_after * 86400000 + 9 * 3600000) + seq * 1000;
}

/* --- generating ---------------------------------------------------------------------- */

/* One place-week's raw counts: [theme][scale][stage], with the themes
 * touched listed so clearing is cheap. */
#define CELLS_PER_THEME (HLS_SCALE_COUNT * HLS_STAGE_COUNT)
struct week_counts {
  uint32_t *raw;
  uint32_t *total; /* per theme */
  uint32_t *touched;
  size_t n_touched;
};

static void count_add(struct week_counts *wc, uint32_t theme, int scale, int stage, uint32_t n) {
  if (wc->total[theme] == 0) wc->touched[wc->n_touched++] = theme;
  wc->total[theme] += n;
  wc->raw[(size_t)theme * CELLS_PER_THEME + (size_t)scale * HLS_STAGE_COUNT + (size_t)stage] += n;
}

/* n records of theme spread over stages (and scales, if scale < 0); wc
 * NULL: drawn all the same, then dropped. */
static void records_add(const struct placegen *g, struct week_counts *wc, struct rng *r, uint32_t theme, int kind,
                        int scale, uint32_t n) {
  const double *sw = g->scale_weights[kind == HLS_KIND_PRACTICE];
  for (uint32_t i = 0; i < n; i++) {
    int sc = scale >= 0 ? scale : rng_pick(r, sw, HLS_SCALE_COUNT);
    int stage = rng_pick(r, stage_weights, HLS_STAGE_COUNT);
    if (wc != NULL) count_add(wc, theme, sc, stage, 1);
  }
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static int int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int digest_cell_cmp(const void *a, const void *b) {
  const struct hls_digest_cell *x = a, *y = b;
  int c = strcmp(x->theme, y->theme);
  if (c != 0) return c;
  if (x->kind != y->kind) return x->kind - y->kind;
  if (x->scale != y->scale) return x->scale - y->scale;
  return x->stage - y->stage;
}

/* Redraw a raw count among those that publish the same (see placegen.h),
 * offset being the cell's. */
static uint32_t perturb(const struct placegen *g, struct rng *r, int scale, uint32_t raw, uint32_t offset) {
  const struct hls_digest_method m = {g->prm.threshold, g->prm.rounding, g->prm.sdc_kind};
  if (scale != HLS_SCALE_PERSON) return raw;
  bool withheld;
  uint32_t c, lo, hi;
  hls_disclose(&m, scale, raw, offset, &withheld, &c);
  if (!(g->prm.perturb & (withheld ? PLACEGEN_PERTURB_WITHHELD : PLACEGEN_PERTURB_ROUNDED))) return raw;
  if (withheld && raw == 0) return raw;
  /* The interval over every offset, narrowed to the counts that publish
   * the same with this cell's offset (a run: u = raw + offset in one bin). */
  hls_disclosure_bounds(&m, scale, withheld, c, &lo, &hi);
  bool w2;
  uint32_t c2;
  while (lo < hi && (hls_disclose(&m, scale, lo, offset, &w2, &c2), w2 != withheld || c2 != c)) lo++;
  while (hi > lo && (hls_disclose(&m, scale, hi, offset, &w2, &c2), w2 != withheld || c2 != c)) hi--;
  uint32_t v = lo + rng_below(r, hi - lo + 1);
  hls_disclose(&m, scale, v, offset, &w2, &c2);
  return w2 != withheld || c2 != c ? raw : v; /* never publish differently */
}

/* A story's title and note: plain single-line text about its first theme. */
static void story_text(const struct placegen_place *pl, struct hls_story *s, char *note, size_t note_size) {
  char words[HLS_THEME_MAX + 1];
  snprintf(words, sizeof words, "%s", s->themes[0].slug);
  for (char *c = words; *c; c++)
    if (*c == '-') *c = ' ';
  snprintf(s->title, sizeof s->title, "What we learnt about %s in %s", words, pl->name);
  snprintf(note, note_size, "Notes from %s, week %d-W%02d: what changed when we tried a different approach to %s.",
           pl->name, s->iso_year, s->iso_week, words);
  s->learnt = note;
}

struct gen_state {
  struct week_counts wc;
  struct hls_digest_cell *cells;
  size_t cap_cells;
  int *story_weeks;
  size_t cap_story_weeks;
};

static int emit_story(const struct placegen *g, const struct placegen_place *pl, const struct placegen_sink *sink,
                      struct rng *r, struct week_counts *wc, int32_t week, const uint32_t *themes, size_t n_themes,
                      uint64_t *seq) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  hls_patterns_iso_week(week, &s.iso_year, &s.iso_week);
  for (size_t i = 0; i < n_themes; i++) {
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", g->themes[themes[i]].slug);
    s.themes[i].kind = (enum hls_kind)g->themes[themes[i]].kind;
  }
  s.n_themes = n_themes;
  /* The record behind it is in one of its first theme's cells this week
   * (any of them alike: the draw must not depend on the exact counts,
   * which the perturbations change). */
  double w[CELLS_PER_THEME];
  const uint32_t *raw = &wc->raw[(size_t)themes[0] * CELLS_PER_THEME];
  for (int c = 0; c < CELLS_PER_THEME; c++) w[c] = raw[c] > 0;
  int c = rng_pick(r, w, CELLS_PER_THEME);
  s.scale = c / HLS_STAGE_COUNT;
  s.stage = c % HLS_STAGE_COUNT;
  char note[512];
  story_text(pl, &s, note, sizeof note);
  ++*seq;
  return sink->on_story != NULL ? sink->on_story(sink->ctx, pl, *seq, &s) : 0;
}

static int run_place(struct placegen *g, uint32_t p, const struct placegen_sink *sink, struct gen_state *st) {
  const struct placegen_params *prm = &g->prm;
  const struct placegen_place *pl = &g->places[p];
  struct rng rb, rp, rs, rx;
  rng_seed(&rb, prm->seed, STREAM_BACKGROUND + p);
  rng_seed(&rp, prm->seed, STREAM_PLANTED + p);
  rng_seed(&rs, prm->seed, STREAM_STORIES + p);
  rng_seed(&rx, prm->perturb_seed, STREAM_PERTURB + p);
  struct week_counts *wc = &st->wc;
  int rc = 0;
  if (sink->on_place != NULL && (rc = sink->on_place(sink->ctx, pl)) != 0) return rc;
  uint64_t seq = 1; /* the profile */

  /* The place's use of each background theme (its rate before activity).
   * A local theme it does not report is drawn as any other, then dropped
   * (below), so the other themes' draws do not move: local_themes changes
   * the local themes' records only. */
  double *rate = malloc(g->n_background * sizeof *rate), *mu = malloc(g->n_background * sizeof *mu);
  struct plan_mod *mods = NULL;
  size_t n_mods = 0;
  for (size_t i = 0; i < g->n_mods; i++) n_mods += g->mods[i].place == p;
  if (n_mods > 0) mods = malloc(n_mods * sizeof *mods);
  if (rate == NULL || mu == NULL || (n_mods > 0 && mods == NULL)) {
    free(rate), free(mu), free(mods);
    return HLS_ENOMEM;
  }
  n_mods = 0;
  for (size_t i = 0; i < g->n_mods; i++)
    if (g->mods[i].place == p) mods[n_mods++] = g->mods[i];
  for (size_t t = 0; t < g->n_background; t++) {
    rate[t] = prm->top_rate * pl->size * rng_lognormal(&rb, prm->affinity_sigma) *
              pow((double)g->themes[t].rank, -prm->zipf_exponent);
  }
  /* Background stories: weeks drawn up front, then themes from the week. */
  size_t n_stories = rng_poisson(&rs, prm->stories_per_place);
  if (!GROW(st->story_weeks, st->cap_story_weeks, n_stories)) {
    free(rate), free(mu), free(mods);
    return HLS_ENOMEM;
  }
  for (size_t i = 0; i < n_stories; i++) st->story_weeks[i] = (int)rng_below(&rs, (uint32_t)prm->weeks);
  qsort(st->story_weeks, n_stories, sizeof *st->story_weeks, int_cmp);

  size_t next_story = 0;
  unsigned told = 0; /* planted stories told, by number (at most one per signal) */
  for (int wi = 0; wi < prm->weeks && rc == 0; wi++) {
    int32_t week = g->w0 + wi;
    int iso_year, iso_week;
    hls_patterns_iso_week(week, &iso_year, &iso_week);
    /* Quieter in holiday weeks, noisy in every week. */
    double holiday = iso_week >= 52 || iso_week == 1     ? 1.0 - prm->holiday_dip
                     : iso_week >= 31 && iso_week <= 34 ? 1.0 - prm->holiday_dip * 0.625
                                                        : 1.0;
    double activity = holiday * rng_lognormal(&rb, prm->activity_sigma) *
                      exp(-prm->activity_sigma * prm->activity_sigma / 2);
    for (size_t t = 0; t < g->n_background; t++) {
      mu[t] = rate[t] * activity;
      if (g->drift != NULL) mu[t] *= g->drift[t * (size_t)prm->weeks + (size_t)wi];
      if (prm->overdispersion > 0) mu[t] *= rng_gamma(&rb, 1 / prm->overdispersion) * prm->overdispersion;
      uint32_t n = rng_poisson(&rb, mu[t]);
      bool reports = g->local_users[t] == NULL || local_user(g, (uint32_t)t, p);
      if (!reports) mu[t] = 0; /* no background for a plant to multiply */
      if (n) records_add(g, reports ? wc : NULL, &rb, (uint32_t)t, g->themes[t].kind, prm->background_scale, n);
    }
    for (size_t i = 0; i < n_mods; i++) {
      const struct plan_mod *m = &mods[i];
      if (wi < m->week_from || wi > m->week_to) continue;
      int kind = g->themes[m->theme].kind, bs = prm->background_scale;
      double in = m->ramp > 1 ? (double)(wi - m->week_from + 1) / m->ramp : 1;
      switch (m->kind) {
      case MOD_BOOST:
        records_add(g, wc, &rp, m->theme, kind, bs, rng_poisson(&rp, mu[m->theme] * m->amount * (in < 1 ? in : 1)));
        break;
      case MOD_JOINT:
        if (rng_unit(&rp) < m->amount) {
          records_add(g, wc, &rp, m->theme, kind, bs, 1 + rng_poisson(&rp, 0.5));
          records_add(g, wc, &rp, m->theme2, g->themes[m->theme2].kind, bs, 1 + rng_poisson(&rp, 0.5));
        }
        break;
      case MOD_SCALES: {
        double extra = (rate[m->theme] > 0.5 ? rate[m->theme] : 0.5) * activity;
        records_add(g, wc, &rp, m->theme, kind, HLS_SCALE_PERSON, rng_poisson(&rp, extra));
        records_add(g, wc, &rp, m->theme, kind, HLS_SCALE_ORGANISATION, rng_poisson(&rp, extra));
        break;
      }
      case MOD_ADOPT:
        records_add(g, wc, &rp, m->theme, kind, bs,
                    wi == m->week_from ? 1 + rng_poisson(&rp, 1) : rng_poisson(&rp, m->amount * activity));
        break;
      default: break;
      }
    }
    for (size_t i = 0; i < g->n_rates; i++) {
      const struct plan_rate *pr = &g->rates[i];
      if (pr->place != p || wi < pr->week_from || wi > pr->week_to) continue;
      double f = pr->week_to > pr->week_from ? (double)(wi - pr->week_from) / (pr->week_to - pr->week_from) : 0;
      uint32_t n = rng_poisson(&rp, pr->rate_from + f * (pr->rate_to - pr->rate_from));
      if (n) records_add(g, wc, &rp, pr->theme, g->themes[pr->theme].kind, pr->scale, n);
    }
    for (size_t i = 0; i < g->n_counts; i++) {
      const struct plan_count *pc = &g->counts[i];
      if (pc->place == p && pc->week == wi) records_add(g, wc, &rp, pc->theme, g->themes[pc->theme].kind, pc->scale, pc->count);
    }

    /* Publish: true counts to on_raw, disclosed ones in the digest. */
    qsort(wc->touched, wc->n_touched, sizeof *wc->touched, u32_cmp);
    size_t n_cells = 0;
    if (!GROW(st->cells, st->cap_cells, wc->n_touched * CELLS_PER_THEME)) rc = HLS_ENOMEM;
    const struct hls_digest_method method = {prm->threshold, prm->rounding, prm->sdc_kind};
    uint8_t sdc_key[HLS_DISCLOSURE_KEY_BYTES];
    hls_disclosure_key(g->places[p].sk, sdc_key);
    for (size_t k = 0; k < wc->n_touched && rc == 0; k++) {
      uint32_t t = wc->touched[k];
      uint32_t *raw = &wc->raw[(size_t)t * CELLS_PER_THEME];
      for (int c = 0; c < CELLS_PER_THEME && rc == 0; c++) {
        if (raw[c] == 0) continue;
        int scale = c / HLS_STAGE_COUNT, stage = c % HLS_STAGE_COUNT;
        uint32_t offset = method.kind == HLS_SDC_KEYED && scale == HLS_SCALE_PERSON
                              ? hls_disclosure_offset(sdc_key, iso_year, iso_week, g->themes[t].slug,
                                                      g->themes[t].kind, scale, stage, method.rounding)
                              : 0;
        if (prm->perturb) raw[c] = perturb(g, &rx, scale, raw[c], offset);
        if (sink->on_raw != NULL) rc = sink->on_raw(sink->ctx, p, week, t, scale, stage, raw[c]);
        struct hls_digest_cell *dc = &st->cells[n_cells++];
        memset(dc, 0, sizeof *dc);
        snprintf(dc->theme, sizeof dc->theme, "%s", g->themes[t].slug);
        dc->kind = g->themes[t].kind;
        dc->scale = scale;
        dc->stage = stage;
        hls_disclose(&method, scale, raw[c], offset, &dc->withheld, &dc->count);
      }
    }
    if (rc == 0 && n_cells > 0) {
      qsort(st->cells, n_cells, sizeof *st->cells, digest_cell_cmp);
      struct hls_digest d = {.iso_year = iso_year, .iso_week = iso_week, .method = method, .n_cells = n_cells,
                             .cells = st->cells};
      seq++;
      if (sink->on_digest != NULL) rc = sink->on_digest(sink->ctx, pl, seq, &d);
      /* This week's stories: planted ones (in the first week from the
       * planned one where the place has records of all their themes), then
       * background ones on the week's themes, weighted by their counts. */
      for (size_t i = 0; i < g->n_stories && rc == 0; i++) {
        const struct plan_story *ps = &g->stories[i];
        if (ps->place != p || ps->week > wi || (told & (1u << i))) continue;
        bool all = true;
        for (size_t k = 0; k < ps->n_themes; k++) all &= wc->total[ps->themes[k]] > 0;
        if (!all) continue;
        told |= 1u << i;
        rc = emit_story(g, pl, sink, &rs, wc, week, ps->themes, ps->n_themes, &seq);
      }
      for (; next_story < n_stories && st->story_weeks[next_story] == wi && rc == 0; next_story++) {
        uint32_t themes[3];
        size_t nt = 1 + rng_below(&rs, 3);
        if (nt > wc->n_touched) nt = wc->n_touched;
        double *w = malloc(wc->n_touched * sizeof *w);
        if (w == NULL) {
          rc = HLS_ENOMEM;
          break;
        }
        for (size_t k = 0; k < wc->n_touched; k++)
          w[k] = g->themes[wc->touched[k]].rank > 0 ? wc->total[wc->touched[k]] : 0; /* background */
        size_t got = 0;
        for (size_t k = 0; k < nt; k++) {
          double sum = 0;
          for (size_t x = 0; x < wc->n_touched; x++) sum += w[x];
          if (sum <= 0) break;
          int x = rng_pick(&rs, w, (int)wc->n_touched);
          themes[got++] = wc->touched[x];
          w[x] = 0;
        }
        free(w);
        if (got > 0) rc = emit_story(g, pl, sink, &rs, wc, week, themes, got, &seq);
      }
    }
    for (; next_story < n_stories && st->story_weeks[next_story] <= wi; next_story++) {
    } /* a week with no records tells no story */
    for (size_t k = 0; k < wc->n_touched; k++) {
      uint32_t t = wc->touched[k];
      memset(&wc->raw[(size_t)t * CELLS_PER_THEME], 0, CELLS_PER_THEME * sizeof *wc->raw);
      wc->total[t] = 0;
    }
    wc->n_touched = 0;
  }
  free(rate), free(mu), free(mods);
  if (rc == 0 && sink->on_place_end != NULL) rc = sink->on_place_end(sink->ctx, pl, seq);
  return rc;
}

static int state_init(struct gen_state *st, size_t n_themes) {
  memset(st, 0, sizeof *st);
  st->wc.raw = calloc(n_themes * CELLS_PER_THEME, sizeof *st->wc.raw);
  st->wc.total = calloc(n_themes, sizeof *st->wc.total);
  st->wc.touched = malloc(n_themes * sizeof *st->wc.touched);
  return st->wc.raw && st->wc.total && st->wc.touched ? 0 : HLS_ENOMEM;
}

static void state_free(struct gen_state *st) {
  free(st->wc.raw);
  free(st->wc.total);
  free(st->wc.touched);
  free(st->cells);
  free(st->story_weeks);
}

int placegen_run_place(struct placegen *g, uint32_t place, const struct placegen_sink *sink) {
  if (place >= g->n_places) return HLS_EINVAL;
  struct gen_state st;
  int rc = state_init(&st, g->n_themes);
  if (rc == 0) rc = run_place(g, place, sink, &st);
  state_free(&st);
  return rc;
}

int placegen_run(struct placegen *g, const struct placegen_sink *sink) {
  struct gen_state st;
  int rc = state_init(&st, g->n_themes);
  for (uint32_t p = 0; p < g->n_places && rc == 0; p++) rc = run_place(g, p, sink, &st);
  state_free(&st);
  return rc;
}
