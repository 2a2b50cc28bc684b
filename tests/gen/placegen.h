/* placegen: a seeded generator of realistic multi-place data (tests only).
 *
 * Tens to thousands of places each publish a chain (profile at seq 1, then
 * per ISO week a digest and that week's stories) over a run of weeks. The
 * background is a Zipf-skewed set of themes: a theme of rank r has rate
 * top_rate * size(place) * affinity(place, theme) * activity(place, week)
 * / r^zipf_exponent records a week, where the place size and the
 * place-theme affinity are lognormal and the place-week activity is
 * lognormal noise shared by the place's themes that week (holiday weeks
 * are quieter everywhere). Each record falls in a scale (mostly person;
 * see person_share) and a stage; person-scale cells go through
 * hls_disclose, so most of them are withheld, as in real digests.
 *
 * Into this background known patterns are planted (one per signal of
 * protocol/patterns.h, each optional), on themes of their own, sized to be
 * found by hls_pat_params_default but no larger than a real wave would be.
 * The manifest (placegen_plant) says which places and weeks they cover:
 *   spread       4-6 places report a new theme (person scale, mostly a
 *                handful of records: withheld) in 1-3 weeks of one
 *                aligned window;
 *   emerging     a trickle (0.2-0.35 a week at 3-5 places, organisation
 *                scale, so exact) all year, then one week (from the 13th)
 *                when 3-5 places report 3-7 each;
 *   rising       4-6 places at 0.3-0.6 a week, climbing linearly over the
 *                last 12-16 weeks to 3-5 a week (organisation scale);
 *   together     two new themes reported in the same week at 6-8 places
 *                of one window (7-11 place-weeks), now and then one
 *                without the other at another place;
 *   cross-scale  2-3 places each report a new theme at person and at
 *                organisation scale in one window.
 *
 * With plant_style PLACEGEN_STYLE_MODEST the plants are instead realistic,
 * modest changes of EXISTING background themes (mid-popularity ones, drawn
 * from the seed, a different theme for each plant; spread takes a local
 * theme, below), each from an onset week (week_from, the first week the
 * change is in effect; between week min(26, weeks/2) and the last weeks):
 *   emerging     the theme's rate x4 at 8 places (fewer places: a fifth of
 *                them, at least 3), among those where the theme is at
 *                least as common as at the median place, for 3 weeks
 *                (week_to = onset + 2), then back to normal;
 *   rising       the theme's rate rises linearly by 40% over 12 weeks at
 *                every place of one region (at most
 *                PLACEGEN_PLANT_MAX_PLACES of them) and stays up to the end
 *                of the data (week_to);
 *   together     two themes start to co-occur at 20 places (under 80
 *                places: a quarter, at least 3): from the onset to the end,
 *                each week with chance 1/2, 1-2 records of each in that
 *                week, on top of their background;
 *   spread       a local theme (few places report it: local_themes) is
 *                taken up by 10 places that never reported it (under 80
 *                places: an eighth, at least 3), 2 or 3 a week from the
 *                onset: 1 + Poisson(1) records in its first week, then 0.5
 *                a week to the end;
 *   cross-scale  at 5 places (upper half, as emerging) the theme rises
 *                beyond its baseline at person AND at organisation scale:
 *                from the onset to the end, Poisson(max(rate, 0.5)) more
 *                records a week at each of the two scales.
 * Plant records are drawn from the planted streams and every rate change
 * multiplies the same place-week rate the background draws from (activity,
 * drift and over-dispersion included): the background itself (every
 * background record) is identical with and without plants, so a planted
 * run and its null run (plants = 0) differ only by the plants.
 *
 * Null mode: plants = 0 plants nothing (the manifest is empty); the data
 * are exactly the background of the same parameters.
 *
 * Background variation beyond the defaults (each 0 by default, leaving the
 * data as before):
 *   overdispersion     gamma-Poisson counts: each place-theme-week rate is
 *                      multiplied by a Gamma draw of mean 1 and this
 *                      variance, so a count's variance is mu + this * mu^2
 *                      (real weekly counts of records vary more than
 *                      Poisson ones: a busy clinic, a staff absence);
 *   theme_drift_sigma  every background theme's rate, everywhere at once,
 *                      follows a slow random swing: exp(x_w - s^2/2) with
 *                      x an AR(1) series of stationary sd s and weekly
 *                      autocorrelation 0.9 (news, seasons, funding rounds:
 *                      national changes that nobody planted);
 *   local_themes       the N least popular background themes are local:
 *                      only local_share of places (at least 2) ever
 *                      report each, at their usual rate (the other
 *                      themes' records do not change).
 * and one that is -1 by default:
 *   person_share       the chance that a record whose scale is drawn is
 *                      at person scale; the other scales share the rest
 *                      as the built-in weights share it (-1, the default:
 *                      the built-in weights, 0.78 person for most kinds
 *                      and 0.40 for practices). Every drawn scale follows
 *                      it: the background's, and a plant's records drawn
 *                      like the background's (modest plants but
 *                      cross-scale, new-themes together). background_scale
 *                      >= 0 overrides it (every record at that scale).
 *
 * Everything is a function of the parameters: the generator has its own
 * PRNG (xoshiro256** seeded by splitmix64) with one stream per place and
 * purpose, so a place's data does not depend on the order places are
 * generated in, on the number of places, or on which patterns are
 * planted. Keys are Ed25519 keys derived from the seed and place number.
 * It keeps only one place's week in memory: placegen_run calls back as it
 * goes (on_raw gives the true counts the digests hide). */
#ifndef HLS_PLACEGEN_H
#define HLS_PLACEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "patterns.h"

/* The planted patterns, one bit per enum hls_pat_signal. */
#define PLACEGEN_PLANT(signal) (1u << (signal))
#define PLACEGEN_PLANT_ALL ((1u << HLS_PAT_SIGNAL_COUNT) - 1u)

/* Plant styles (placegen_params.plant_style). */
#define PLACEGEN_STYLE_NEW_THEMES 0 /* plants on themes of their own (the default) */
#define PLACEGEN_STYLE_MODEST 1     /* modest changes of background themes */

/* Perturbations of raw counts that publish identically (suppression tests):
 * redraw every withheld person-scale count within [1, threshold-1], and
 * every rounded one within the values that round to the same published
 * count (for hls-sdc-2, with the cell's own offset). Drawn from a stream of
 * perturb_seed, so nothing else moves. */
#define PLACEGEN_PERTURB_WITHHELD 1u
#define PLACEGEN_PERTURB_ROUNDED 2u

struct placegen_params {
  uint64_t seed;
  int places;                         /* 40 */
  int weeks;                          /* 52 */
  int first_iso_year, first_iso_week; /* 2024-W01 */
  int themes;                         /* background themes: 60 */
  double zipf_exponent;               /* 1.0 */
  double top_rate;           /* records a week of the rank-1 theme in a place of size 1: 6 */
  double size_sigma;         /* lognormal sigma of place size: 0.7 */
  double affinity_sigma;     /* lognormal sigma of a place's use of a theme: 0.5 */
  double activity_sigma;     /* lognormal sigma of a place-week's activity: 0.25 */
  double stories_per_place;  /* background stories, Poisson mean: 4 */
  int background_scale;      /* -1: mixed, mostly person (default); else every background record's scale */
  double holiday_dip;        /* activity lost at new year (summer: 5/8 of it): 0.4 */
  int regions;               /* 5, at most PLACEGEN_MAX_REGIONS */
  int window_weeks;          /* the engine's W, to align plants with its windows: 8 */
  uint32_t threshold, rounding; /* disclosure control: 10, 5 */
  int sdc_kind;              /* enum hls_digest_method_kind: HLS_SDC_KEYED (what hlsd publishes) */
  unsigned plants;           /* PLACEGEN_PLANT bits: all; 0 is the null mode (nothing planted) */
  unsigned perturb;          /* PLACEGEN_PERTURB bits: none */
  uint64_t perturb_seed;
  int plant_style;           /* PLACEGEN_STYLE_*: NEW_THEMES */
  double overdispersion;     /* gamma-Poisson variance of a rate's multiplier: 0 (Poisson) */
  double theme_drift_sigma;  /* sd of every theme's national log-rate swing: 0 (none) */
  int local_themes;          /* the least popular themes reported by few places: 0 */
  double local_share;        /* share of places reporting a local theme (at least 2): 0.05 */
  double person_share;       /* chance a drawn scale is person, 0..1; -1: built-in weights (default) */
};
void placegen_params_default(struct placegen_params *p);

#define PLACEGEN_MAX_PLACES 100000
#define PLACEGEN_MAX_WEEKS 520
#define PLACEGEN_MAX_THEMES 5000
#define PLACEGEN_MAX_REGIONS 12
#define PLACEGEN_NAME_MAX 32

struct placegen_place {
  uint32_t index;
  uint8_t pk[HLS_KEY_BYTES]; /* the origin */
  uint8_t sk[64];            /* libsodium Ed25519 secret key */
  char name[PLACEGEN_NAME_MAX]; /* "Place 07" */
  const char *region;           /* static */
  double size;                  /* lognormal multiplier */
};

struct placegen_theme {
  char slug[HLS_THEME_MAX + 1];
  int kind;  /* enum hls_kind */
  int plant; /* the signal it was planted for, or -1 (background only) */
  int rank;  /* background Zipf rank, 1 = most frequent; 0 for a theme of
                its own (PLACEGEN_STYLE_NEW_THEMES); a modest plant's theme
                is a background theme (rank > 0, plant >= 0) */
  bool local; /* a local theme (local_themes): few places report it */
};

/* One planted pattern. Weeks are absolute (hls_patterns_week). A rising
 * plant of the modest style takes a whole region: at 1,000 places and 5
 * regions about 200 places. Cells: at most the places times a ramp of 12
 * weeks of that plant, or 20 places for 200 weeks. */
#define PLACEGEN_PLANT_MAX_PLACES 256
#define PLACEGEN_PLANT_MAX_CELLS 4096
struct placegen_cell {
  uint32_t place;
  int32_t week;
};
struct placegen_plant {
  int signal;          /* enum hls_pat_signal */
  size_t n_themes;     /* 2 for together, else 1 */
  uint32_t themes[2];  /* placegen theme numbers */
  size_t n_places;
  uint32_t places[PLACEGEN_PLANT_MAX_PLACES]; /* sorted */
  /* The span the signal should report: the aligned window (spread,
   * together, cross-scale), the jump week (emerging), the ramp from its
   * first week to the last week of data (rising). Modest style: week_from
   * is the onset (the first week the change is in effect), week_to its
   * last week (onset + 2 for emerging, else the last week of data). */
  int32_t week_from, week_to;
  /* The place-weeks that carry the signal (together: both themes; not the
   * baselines of emerging and rising). Modest style: the place-weeks in
   * which the change is in effect (rising: its 12 weeks of ramp; spread:
   * from each place's first week), the first PLACEGEN_PLANT_MAX_CELLS. */
  size_t n_cells;
  struct placegen_cell cells[PLACEGEN_PLANT_MAX_CELLS];
};

struct placegen;

/* Check the parameters, derive keys, themes and plants. A plant that does
 * not fit (too few places or weeks) is left out of the manifest. HLS_EINVAL
 * (with why), HLS_ENOMEM. */
int placegen_new(struct placegen **out, const struct placegen_params *p, struct hls_why *why);
void placegen_free(struct placegen *g);

const struct placegen_params *placegen_params(const struct placegen *g);
int32_t placegen_first_week(const struct placegen *g); /* absolute week of week index 0 */
size_t placegen_n_places(const struct placegen *g);
const struct placegen_place *placegen_place(const struct placegen *g, uint32_t place);
size_t placegen_n_themes(const struct placegen *g); /* background first, then planted (new-themes style) */
const struct placegen_theme *placegen_theme(const struct placegen *g, uint32_t theme);
/* The placegen theme number of (slug, kind), or -1. */
int placegen_theme_find(const struct placegen *g, const char *slug, int kind);
size_t placegen_n_plants(const struct placegen *g);
const struct placegen_plant *placegen_plant(const struct placegen *g, size_t i);
/* The plant of a signal, or NULL if it was not planted. */
const struct placegen_plant *placegen_plant_of(const struct placegen *g, int signal);

/* What placegen_run reports, place by place, each place's items in chain
 * order. Any callback may be NULL; a non-zero return stops the run and is
 * returned. Pointers are valid during the call only. */
struct placegen_sink {
  void *ctx;
  /* Before the place's items; its profile is seq 1. */
  int (*on_place)(void *ctx, const struct placegen_place *pl);
  /* A true count of records of one cell (only non-zero ones), before the
   * digest of its week. week is absolute. */
  int (*on_raw)(void *ctx, uint32_t place, int32_t week, uint32_t theme, int scale, int stage, uint32_t raw);
  /* The published digest (cells in canonical order) of a week with
   * records; a week without records publishes none. */
  int (*on_digest)(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d);
  /* A story of the week, after its digest (its record is counted there). */
  int (*on_story)(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s);
  /* After the place's last item. */
  int (*on_place_end)(void *ctx, const struct placegen_place *pl, uint64_t last_seq);
};

/* Generate every place, in place order. HLS_ENOMEM, or a callback's value. */
int placegen_run(struct placegen *g, const struct placegen_sink *sink);
/* Generate one place only (the same items as placegen_run gives it). */
int placegen_run_place(struct placegen *g, uint32_t place, const struct placegen_sink *sink);

/* The timestamp of an item of a week: Monday after the week, 09:00 UTC,
 * plus seq seconds (so a chain's timestamps never go back). */
uint64_t placegen_timestamp_ms(int32_t week, uint64_t seq);

#endif
