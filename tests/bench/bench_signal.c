/* Benchmark: how well the pattern engine tells a changed world from an
 * unchanged one (issue 12). Not a test: figures go to docs/patterns.md
 * ("Evaluation") and docs/benchmarks.md; ctest only smoke-tests it.
 *
 * Usage: bench_signal [options]                      (bench_signal --help)
 *
 * For each background model (--background), each seed (--seeds from
 * --seed), it generates a world with placegen (tests/gen/placegen.h):
 * --places places, --weeks weeks, with the plants of --style (modest:
 * modest changes of existing themes; new: patterns on themes of their
 * own), or none (--null). Then it runs the engine in process through the
 * public API of protocol/patterns.h only, IN TIME ORDER, as a node that
 * receives each week's digests would: every profile first, then for each
 * week every place's digest of that week and its stories (place order,
 * chain order), then hls_patterns_update, whose change callback records
 * every event (new, updated, retracted) with its week; after each update
 * hls_patterns_each gives the live patterns, scored against the plants.
 *
 * Scoring (tests/bench/signal_score.h, proved by unit.signal_score): a
 * plant is found in the first week a live pattern on it (its signal, its
 * theme(s), weeks overlapping its own) covers at least 80% of its places;
 * delay = that week - onset; "within 2 weeks" = delay <= 2. Every pattern
 * on no plant is false (in null mode, every pattern). Per run: each plant
 * (found, delay, best coverage, how many of its places the published
 * data show it at within 2 weeks: a guide to what any engine could list,
 * and the oracle: the p-value, 2 weeks in, of a test that knows the
 * plant's places and onset and reads the raw counts, against a bar no
 * discovery gets under, so that a plant over it cannot be found within 2
 * weeks by any engine: plant_oracle; and for emerging and together the
 * scan oracle, the p-value of a scan over every place that knows only
 * the onset, exact by Monte Carlo: plant_scan_oracle, its statistic
 * chosen by --scan-stat; and the membership oracle: the evidence of each
 * planted place's own counts at which 80% of them could be listed, and
 * how many other places would be listed by chance beside them:
 * plant_members),
 * distinct false patterns and false events per signal (and per 104
 * weeks), events a week (what a feed subscriber sees). Then an aggregate
 * per (places, background, style, mode) over the seeds, and the targets of
 * issue 12 next to it. --json prints all of it as one JSON object on
 * stdout (the tables go to stderr):
 *   {bench: "bench_signal", version: 1, config: {places, weeks, seeds,
 *    first_seed, style, scan_stat, null, oracle_check, gen, params},
 *    engine_params: {NAME: value},
 *    runs: [RUN], aggregate: [AGGREGATE], load_start: [1, 5, 15 min],
 *    load_end: [...], wall_seconds}
 *   RUN: {places, weeks, themes, oracle_bar, background, style, null, seed,
 *    plants: [{signal, themes, places, needed (80% of places, rounded up),
 *              onset_week, week_to (week indexes), found, delay_weeks (null
 *              unless found), within_2_weeks, best_covered, best_coverage,
 *              shown_within_2_weeks, oracle_p (null: none), scan_oracle_p
 *              (emerging and together; null: none), scan_uniform_p (the
 *              same statistic's p-value as the engine reckons it; with
 *              --scan-stat tpm only), member_p, member_false_places
 *              (emerging, together, cross-scale; null: none),
 *              found_any_signal, delay_weeks_any_signal,
 *              within_2_weeks_any_signal (the same by patterns on its
 *              theme(s) of any signal: signal_score.h)}]
 *              (empty in null mode),
 *    distinct_patterns, false_patterns, false_patterns_per_104_weeks: COUNTS,
 *    events, false_events: {new, updated, retracted: COUNTS},
 *    events_per_week: {mean, new_or_updated_mean, max, max_week},
 *    live_at_end, seconds: {generate, engine, score}, oracle_check: CHECK,
 *    tests_hash (hls_patterns_tests_hash at the end, hex: every test's
 *    result, for telling whether two builds compute the same)}
 *   COUNTS: {SIGNAL: n, ..., total}
 *   AGGREGATE: {places, weeks, background, null, seeds,
 *    recall_80_within_2_weeks: {SIGNAL: {planted, within_2_weeks, found,
 *      rate, mean_delay (null if none found), mean_best_coverage,
 *      mean_shown_within_2_weeks, oracle_tested, oracle_under_bar,
 *      scan_oracle_tested, scan_oracle_under_bar, scan_uniform_tested,
 *      scan_uniform_under_bar, members_tested, members_at_most_tau (member_p
 *      at most 0.05), mean_member_false_places (null if none tested),
 *      within_2_weeks_any_signal}}
 *      (planted signals only),
 *    false_patterns_per_104_weeks: COUNTS (means), events_per_week: {mean,
 *    new_or_updated_mean, max}, seconds, oracle_check: CHECK (the runs' sums)}
 *   CHECK: null, or with --oracle-check in a world with an emerging plant
 *    {tests, oracle_p_at_most: {"0.05": n, "0.01": n, "0.001": n},
 *    scan_oracle_p_at_most: {...}}: both oracles computed for background
 *    themes nothing was planted on (oracle_check_run)
 * tests/bench/check_bench_signal.py (ctest bench.signal_smoke) checks this
 * structure and its consistency, never the engine's scores.
 *
 * Exit status: 0 when every run finished (the targets are reported, not
 * enforced), 1 on a failure, 2 on a usage error. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "envelope.h"
#include "patterns.h"
#include "placegen.h"
#include "record.h"
#include "signal_score.h"

/* --- options: one table for the parser and --help ----------------------------------- */

struct opts {
  long places, weeks, themes, seeds, seed, threads;
  const char *background, *style, *gen, *params, *scan_stat;
  bool null, json, help, oracle_check, list_false;
};

enum opt_kind { OPT_LONG, OPT_FLAG, OPT_STRING };

static const struct opt_row {
  const char *name;
  enum opt_kind kind;
  size_t off;
  long min, max, def;
  const char *sdef, *arg, *help;
} opt_table[] = {
    {"--places", OPT_LONG, offsetof(struct opts, places), 3, PLACEGEN_MAX_PLACES, 40, NULL, "N", "places"},
    {"--weeks", OPT_LONG, offsetof(struct opts, weeks), 8, PLACEGEN_MAX_WEEKS, 104, NULL, "N", "weeks of data"},
    {"--themes", OPT_LONG, offsetof(struct opts, themes), 0, PLACEGEN_MAX_THEMES, 0, NULL, "N",
     "background themes; 0: the background model's"},
    {"--seeds", OPT_LONG, offsetof(struct opts, seeds), 1, 10000, 3, NULL, "N", "seeds per background"},
    {"--seed", OPT_LONG, offsetof(struct opts, seed), 0, 1L << 40, 1, NULL, "N", "the first seed"},
    {"--background", OPT_STRING, offsetof(struct opts, background), 0, 0, 0, "default", "NAME",
     "background model (below), or all"},
    {"--style", OPT_STRING, offsetof(struct opts, style), 0, 0, 0, "modest", "new|modest",
     "plants: modest changes of background themes, or new themes"},
    {"--scan-stat", OPT_STRING, offsetof(struct opts, scan_stat), 0, 0, 0, "ltss", "ltss|tpm",
     "the scan oracle's statistic: best subset or the engine's product"},
    {"--null", OPT_FLAG, offsetof(struct opts, null), 0, 0, 0, NULL, NULL, "plant nothing: every pattern is false"},
    {"--oracle-check", OPT_FLAG, offsetof(struct opts, oracle_check), 0, 0, 0, NULL, NULL,
     "the oracles' p-values on themes nothing was planted on (planted runs)"},
    {"--list-false", OPT_FLAG, offsetof(struct opts, list_false), 0, 0, 0, NULL, NULL,
     "each false pattern on stderr when first reported (week, signal, places)"},
    {"--gen", OPT_STRING, offsetof(struct opts, gen), 0, 0, 0, "", "K=V,..",
     "generator parameters (below) over the background model's"},
    {"--params", OPT_STRING, offsetof(struct opts, params), 0, 0, 0, "", "K=V,..",
     "engine parameters (below) over hls_pat_params_default"},
    {"--threads", OPT_LONG, offsetof(struct opts, threads), 1, HLS_PAT_MAX_THREADS, 1, NULL, "N",
     "the engine's threads (hls_patterns_set_threads): the same results, sooner"},
    {"--json", OPT_FLAG, offsetof(struct opts, json), 0, 0, 0, NULL, NULL,
     "print one JSON object on stdout (the tables on stderr)"},
    {"--help", OPT_FLAG, offsetof(struct opts, help), 0, 0, 0, NULL, NULL, "this text"},
};
#define OPT_N (sizeof opt_table / sizeof opt_table[0])

/* --- parameters by name: the generator's and the engine's -------------------------- *
 * Edit the engine's table when struct hls_pat_params changes; nothing
 * else here depends on its fields but window_weeks. */

enum par_type { PAR_INT, PAR_DOUBLE, PAR_U32 };
struct par_row {
  const char *name;
  enum par_type type;
  size_t off;
  const char *help; /* NULL: documented elsewhere (the engine's: docs/patterns.md) */
};

#define GEN(name, type, help) {#name, type, offsetof(struct placegen_params, name), help}
static const struct par_row gen_table[] = {
    GEN(themes, PAR_INT, "background themes"),
    GEN(zipf_exponent, PAR_DOUBLE, "Zipf exponent of the themes' popularity"),
    GEN(top_rate, PAR_DOUBLE, "records a week of the rank-1 theme at a place of size 1"),
    GEN(size_sigma, PAR_DOUBLE, "lognormal sigma of place size"),
    GEN(affinity_sigma, PAR_DOUBLE, "lognormal sigma of a place's use of a theme"),
    GEN(activity_sigma, PAR_DOUBLE, "lognormal sigma of a place-week's activity"),
    GEN(stories_per_place, PAR_DOUBLE, "background stories per place (Poisson mean)"),
    GEN(background_scale, PAR_INT, "-1: drawn scales; 0-3: every background record's scale"),
    GEN(holiday_dip, PAR_DOUBLE, "activity lost at new year (in summer 5/8 of it)"),
    GEN(regions, PAR_INT, "regions (a modest rising plant takes one)"),
    GEN(threshold, PAR_U32, "disclosure: person-scale counts below it are withheld"),
    GEN(rounding, PAR_U32, "disclosure: rounding base of person-scale counts"),
    GEN(sdc_kind, PAR_INT, "disclosure: 1 keyed rounding, hls-sdc-2 (hlsd), 0 nearest, hls-sdc-1"),
    GEN(overdispersion, PAR_DOUBLE, "gamma-Poisson variance of a weekly rate's multiplier"),
    GEN(theme_drift_sigma, PAR_DOUBLE, "sd of every theme's slow national log-rate swing"),
    GEN(local_themes, PAR_INT, "the least popular themes, each reported by few places"),
    GEN(local_share, PAR_DOUBLE, "share of places reporting a local theme (at least 2)"),
    GEN(person_share, PAR_DOUBLE, "chance a drawn scale is person; -1: built-in (0.78, practices 0.40)"),
};
#undef GEN
#define PAR_OF_INT PAR_INT
#define PAR_OF_REAL PAR_DOUBLE
#define PAT(type, name, ...) {#name, PAR_OF_##type, offsetof(struct hls_pat_params, name), NULL},
static const struct par_row engine_table[] = {HLS_PAT_PARAMS(PAT)};
#undef PAT
#define TABLE_N(t) (sizeof(t) / sizeof(t)[0])

/* --- background models --------------------------------------------------------------- *
 * Settings are generator parameters, applied over placegen's defaults and
 * COMMON_SETTINGS, before --gen. Every model has local themes (spread's
 * modest plant takes one; in the null world they are part of the
 * background). */
#define COMMON_SETTINGS "local_themes=3"
static const struct background {
  const char *name, *settings, *help;
} backgrounds[] = {
    {"default", "", "placegen's defaults: 60 themes, Zipf 1, mostly person scale (most cells withheld)"},
    {"heavy", "zipf_exponent=1.4,size_sigma=1.0,affinity_sigma=0.9",
     "steeper Zipf (1.4), wider place sizes (sigma 1.0) and affinities (0.9)"},
    {"flat", "themes=200,zipf_exponent=0.6,top_rate=1.5,local_themes=10",
     "many themes (200), flatter Zipf (0.6), lower top rate (1.5), 10 local themes"},
    {"exact", "background_scale=1", "every background record at organisation scale: exact counts, nothing withheld"},
    {"sparse", "top_rate=1.5", "a quarter of the default rates: most weeks of a theme empty, most cells withheld"},
    {"bursty", "overdispersion=0.5,activity_sigma=0.4",
     "over-dispersed weeks (gamma-Poisson, variance mu + 0.5 mu^2), noisier activity (0.4)"},
    {"drift", "theme_drift_sigma=0.25",
     "every theme's national rate swings slowly (AR(1) log-rate, sd 0.25, autocorrelation 0.9)"},
    /* As the independently generated data of issue 12: 200 themes, Zipf 1,
     * place sizes about 10x apart (5th to 95th percentile, sigma 0.7), a
     * fifth of the records at person scale, plain Poisson weekly counts
     * (no activity noise, no holidays, no over-dispersion or drift). */
    {"issue", "themes=200,zipf_exponent=1,size_sigma=0.7,person_share=0.2,activity_sigma=0,holiday_dip=0",
     "as issue 12's data: 200 themes, Zipf 1, sizes ~10x apart, 1/5 person scale, Poisson"},
};
#define BACKGROUND_N TABLE_N(backgrounds)

/* A parameter's value at base, as text. */
static void par_text(const struct par_row *row, const void *base, char *out, size_t size) {
  const void *field = (const char *)base + row->off;
  if (row->type == PAR_DOUBLE) snprintf(out, size, "%g", *(const double *)field);
  else if (row->type == PAR_INT) snprintf(out, size, "%d", *(const int *)field);
  else snprintf(out, size, "%u", (unsigned)*(const uint32_t *)field);
}

/* Every line fits in 100 columns. */
static void usage(FILE *f) {
  fprintf(f, "usage: bench_signal [options]\n"
             "Scores the pattern engine against planted truth; tables on stdout (with --json, on stderr).\n"
             "\noptions (default):\n");
  for (size_t i = 0; i < OPT_N; i++) {
    const struct opt_row *r = &opt_table[i];
    char left[40];
    snprintf(left, sizeof left, "%s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
    if (r->kind == OPT_LONG) fprintf(f, "  %-20s %s (%ld)\n", left, r->help, r->def);
    else if (r->kind == OPT_STRING && r->sdef[0]) fprintf(f, "  %-20s %s (%s)\n", left, r->help, r->sdef);
    else fprintf(f, "  %-20s %s\n", left, r->help);
  }
  fprintf(f, "\nbackground models (each also sets %s; then --gen applies):\n", COMMON_SETTINGS);
  for (size_t i = 0; i < BACKGROUND_N; i++) {
    fprintf(f, "  %-8s %s\n", backgrounds[i].name, backgrounds[i].help);
    /* Its settings, [K=V,...], wrapped at commas. */
    const char *rest = backgrounds[i].settings;
    for (int line = 0; *rest; line++) {
      size_t n = strlen(rest);
      if (n > 86)
        for (n = 86; n > 0 && rest[n - 1] != ','; n--) {
        }
      if (n == 0) n = strlen(rest);
      fprintf(f, "  %-8s %s%.*s%s\n", "", line == 0 ? "[" : " ", (int)n, rest, rest[n] ? "" : "]");
      rest += n;
    }
  }
  struct placegen_params gp;
  placegen_params_default(&gp);
  fprintf(f, "\ngenerator parameters (--gen; tests/gen/placegen.h), placegen's defaults:\n");
  for (size_t i = 0; i < TABLE_N(gen_table); i++) {
    char v[32];
    par_text(&gen_table[i], &gp, v, sizeof v);
    fprintf(f, "  %-18s %s (%s)\n", gen_table[i].name, gen_table[i].help, v);
  }
  struct hls_pat_params ep;
  hls_pat_params_default(&ep);
  fprintf(f, "\nengine parameters (--params; docs/patterns.md), with their defaults:\n");
  int col = 0;
  for (size_t i = 0; i < TABLE_N(engine_table); i++) {
    char v[32], item[80];
    par_text(&engine_table[i], &ep, v, sizeof v);
    int n = snprintf(item, sizeof item, "%s=%s", engine_table[i].name, v);
    if (col > 0 && col + 1 + n > 98) {
      fprintf(f, "\n");
      col = 0;
    }
    col += fprintf(f, "%s%s", col == 0 ? "  " : " ", item);
  }
  fprintf(f, "\n\nexit status: 0 when every run finished (whatever it measured: the targets are\n"
             "reported, not enforced), 1 on a failure (generator, engine, memory), 2 on a usage error.\n");
}

/* 0, or 2 (a usage error, reported). */
static int parse_args(int argc, char **argv, struct opts *o) {
  memset(o, 0, sizeof *o);
  for (size_t k = 0; k < OPT_N; k++) {
    if (opt_table[k].kind == OPT_LONG) *(long *)((char *)o + opt_table[k].off) = opt_table[k].def;
    if (opt_table[k].kind == OPT_STRING) *(const char **)((char *)o + opt_table[k].off) = opt_table[k].sdef;
  }
  for (int i = 1; i < argc; i++) {
    const struct opt_row *row = NULL;
    for (size_t k = 0; k < OPT_N && row == NULL; k++)
      if (strcmp(argv[i], opt_table[k].name) == 0) row = &opt_table[k];
    if (row == NULL) {
      fprintf(stderr, "bench_signal: unknown option %s\n", argv[i]);
      return 2;
    }
    if (row->kind == OPT_FLAG) {
      *(bool *)((char *)o + row->off) = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bench_signal: %s needs %s\n", row->name, row->arg);
      return 2;
    }
    const char *v = argv[++i];
    if (row->kind == OPT_STRING) {
      *(const char **)((char *)o + row->off) = v;
      continue;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < row->min || n > row->max) {
      fprintf(stderr, "bench_signal: %s takes a whole number in %ld..%ld\n", row->name, row->min, row->max);
      return 2;
    }
    *(long *)((char *)o + row->off) = n;
  }
  return 0;
}

/* Apply "K=V,K=V" to the struct at base; 0, or -1 with a message. */
static int apply_settings(const char *what, const char *settings, const struct par_row *table, size_t n_table,
                          void *base) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", settings) >= (int)sizeof buf) {
    fprintf(stderr, "bench_signal: %s settings too long\n", what);
    return -1;
  }
  char *save = NULL;
  for (char *kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (eq == NULL) {
      fprintf(stderr, "bench_signal: %s: %s is not NAME=VALUE\n", what, kv);
      return -1;
    }
    *eq = '\0';
    const struct par_row *row = NULL;
    for (size_t k = 0; k < n_table && row == NULL; k++)
      if (strcmp(kv, table[k].name) == 0) row = &table[k];
    if (row == NULL) {
      fprintf(stderr, "bench_signal: %s: unknown parameter %s (see --help)\n", what, kv);
      return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (errno || end == eq + 1 || *end) {
      fprintf(stderr, "bench_signal: %s: %s needs a number\n", what, kv);
      return -1;
    }
    void *field = (char *)base + row->off;
    if (row->type == PAR_DOUBLE) *(double *)field = v;
    else if (v != floor(v) || v < (row->type == PAR_U32 ? 0 : INT_MIN) || v > INT_MAX) {
      fprintf(stderr, "bench_signal: %s: %s needs a whole number\n", what, kv);
      return -1;
    } else if (row->type == PAR_INT) *(int *)field = (int)v;
    else *(uint32_t *)field = (uint32_t)v;
  }
  return 0;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_signal: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) die("out of memory");
  return q;
}

static void loadavg(double out[3]) {
  FILE *f = fopen("/proc/loadavg", "r");
  if (f == NULL || fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3) out[0] = out[1] = out[2] = -1;
  if (f) fclose(f);
}

/* --- one run: the generated world, held compactly --------------------------------- */

/* A digest cell: theme << 8 | scale << 4 | stage << 1 | withheld, and its count. */
struct ccell {
  uint32_t meta, count;
};
struct dslot { /* one place-week's digest; seq 0: none */
  uint64_t seq;
  size_t off;
  uint32_t n;
};
#define STORY_THEMES 4
struct sstory {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  char *title; /* owned */
  int scale, stage;
  size_t n_themes;
  uint32_t themes[STORY_THEMES];
};

/* --oracle-check: the background themes and onsets the oracles are
 * computed for as if planted (themes spread over the popularity ranks,
 * onsets every ORACLE_CHECK_STEP weeks). */
#define ORACLE_CHECK_THEMES 4
#define ORACLE_CHECK_STEP 3

/* A plant as the run scores it. */
struct plant_run {
  const struct placegen_plant *pl;
  struct signal_score_track track;
  struct signal_score_track any; /* by patterns about it of any signal (signal_score.h) */
  int32_t *shown;   /* [slot]: first week >= onset the data show the plant there, or INT32_MAX */
  int32_t *seen[2]; /* together: the last week each theme was seen at a slot */
  unsigned *scales; /* cross-scale: the scales seen at a slot since the onset */
  /* The oracles' series (raw counts; see plant_oracle), [place * W +
   * week index] at every place: all[0] the theme's records (cross-scale:
   * at person scale; together: 1 in a week with both themes), all[1]
   * cross-scale's at organisation scale; together's weeks as seen and
   * both_at, by place. */
  double *all[2];
  int32_t *aseen[2], *aboth;
};

/* Distinct pattern ids ever announced: open addressing. */
struct id_entry {
  uint8_t id[HLS_PAT_ID_BYTES];
  bool used, on_plant;
  int8_t signal;
};

#define N_CHANGES HLS_PAT_CHANGE_COUNT

struct pk_place {
  uint8_t pk[HLS_KEY_BYTES];
  uint32_t place;
};

struct run {
  struct placegen *g;
  struct hls_patterns *pt;
  size_t P;
  int W;
  int32_t w0;
  struct hls_digest_method method;
  struct dslot *slots; /* [week * P + place] */
  struct ccell *cells;
  size_t n_cells, cap_cells;
  struct sstory *stories;
  size_t n_stories, cap_stories;
  struct plant_run plants[HLS_PAT_SIGNAL_COUNT];
  /* --oracle-check: background themes nothing was planted on, and their
   * series as the emerging plant's (oracle_add) */
  uint32_t check_theme[ORACLE_CHECK_THEMES];
  double *check_all[ORACLE_CHECK_THEMES];
  size_t n_check;
  struct signal_score_plant splants[HLS_PAT_SIGNAL_COUNT];
  size_t n_plants;
  /* engine -> generator numbers, UINT32_MAX - 1 until looked up */
  uint32_t *theme_map, *place_map;
  size_t n_theme_map, n_place_map;
  struct pk_place *by_pk; /* generator places sorted by key */
  uint32_t *tmp;
  size_t cap_tmp;
  int32_t week; /* absolute week of the update under way */
  /* events */
  uint64_t events[N_CHANGES][HLS_PAT_SIGNAL_COUNT], false_events[N_CHANGES][HLS_PAT_SIGNAL_COUNT];
  uint32_t *week_events, *week_new_updated; /* [week index] */
  struct id_entry *ids;
  size_t n_ids, cap_ids;
  const char *list_false; /* --list-false: the run's name; NULL: off */
};

#define UNMAPPED (UINT32_MAX - 1)

/* --- the oracle: what a test that knew the plant could see ------------------------- */

/* One raw count into a plant's oracle series (any place). Raw counts are
 * the generator's, before any cell is withheld or rounded: more than the
 * engine is given. */
static void oracle_add(struct run *r, struct plant_run *pr, uint32_t place, int32_t week, int which, int scale,
                       uint32_t raw) {
  int32_t w = week - r->w0;
  if (pr->all[0] == NULL || w < 0 || w >= r->W || raw == 0 || place >= r->P) return;
  size_t at = (size_t)place * (size_t)r->W + (size_t)w;
  switch (pr->pl->signal) {
  case HLS_PAT_EMERGING:
  case HLS_PAT_RISING:
    pr->all[0][at] += raw;
    break;
  case HLS_PAT_CROSS_SCALE:
    if (scale == HLS_SCALE_PERSON) pr->all[0][at] += raw;
    if (scale == HLS_SCALE_ORGANISATION) pr->all[1][at] += raw;
    break;
  case HLS_PAT_TOGETHER:
    /* a place's raw counts of a week come together: theme 0's, then
     * theme 1's, or the other way round */
    if (pr->aboth[place] == week) break;
    if (pr->aseen[1 - which][place] == week) {
      pr->all[0][at] += 1;
      pr->aboth[place] = week;
    }
    pr->aseen[which][place] = week;
    break;
  default:
    break;
  }
}

/* The mid-p upper tail of Binomial(n, q) at x: P(X > x) + P(X = x) / 2. */
static double binom_upper_midp(double x, double n, double q) {
  if (x <= 0) return 1;
  if (q <= 0) return x > 0 ? 0 : 1;
  if (q >= 1 || x > n) return x > n ? 0 : 0.5;
  double lq = log(q), l1q = log1p(-q), lf = lgamma(n + 1), sum = 0;
  for (double k = x; k <= n; k++) {
    double t = exp(lf - lgamma(k + 1) - lgamma(n - k + 1) + k * lq + (n - k) * l1q);
    sum += k == x ? t / 2 : t;
    if (k > x + 10 && k > n * q && t < sum * 1e-15) break;
  }
  return sum > 1 ? 1 : sum;
}

/* The weeks an oracle reads: onset..onset+SIGNAL_SCORE_SOON_WEEKS (R of
 * them) and the nb_max before (nb); false when the baseline is under 4
 * weeks. */
struct oweeks {
  int on, to, b0;
  double R, nb;
};

static bool oracle_weeks(const struct run *r, const struct placegen_plant *pl, int nb_max, struct oweeks *ow) {
  ow->on = (int)(pl->week_from - r->w0);
  ow->to = ow->on + SIGNAL_SCORE_SOON_WEEKS;
  ow->b0 = ow->on - nb_max;
  if (ow->to >= r->W) ow->to = r->W - 1;
  if (ow->b0 < 0) ow->b0 = 0;
  ow->R = ow->to - ow->on + 1;
  ow->nb = ow->on - ow->b0;
  return ow->nb >= 4;
}

/* One place's series v: *x its count in the weeks, *s in the baseline,
 * *phi the baseline weeks' variance over their mean (at least 1: counts
 * are taken in units of it, as the engine does, so that a bursty place is
 * not taken for many independent records). */
static void place_sums(const struct oweeks *ow, const double *v, double *x, double *s, double *phi) {
  double sq = 0;
  *x = *s = 0;
  for (int w = ow->on; w <= ow->to; w++) *x += v[w];
  for (int w = ow->b0; w < ow->on; w++) *s += v[w], sq += v[w] * v[w];
  double mean = *s / ow->nb, var = ow->nb > 1 ? (sq - *s * *s / ow->nb) / (ow->nb - 1) : 0;
  *phi = mean > 0 && var > mean ? var / mean : 1;
}

/* A place's index among the plant's (sorted), or SIZE_MAX if it is not
 * one of them. */
static size_t plant_slot(const struct placegen_plant *pl, uint32_t place) {
  size_t lo = 0, hi = pl->n_places;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (pl->places[mid] < place) lo = mid + 1;
    else hi = mid;
  }
  return lo < pl->n_places && pl->places[lo] == place ? lo : SIZE_MAX;
}

/* The rest of the network's series: its count in the weeks (*c) and in
 * the baseline (*d), over the places not in the plant. */
static void rest_sums(const struct run *r, const struct plant_run *pr, int which, const struct oweeks *ow, double *c,
                      double *d) {
  *c = *d = 0;
  for (uint32_t p = 0; p < r->P; p++) {
    if (plant_slot(pr->pl, p) != SIZE_MAX) continue;
    const double *v = pr->all[which] + (size_t)p * (size_t)r->W;
    for (int w = ow->on; w <= ow->to; w++) *c += v[w];
    for (int w = ow->b0; w < ow->on; w++) *d += v[w];
  }
}

/* Under no change a place's count in the weeks, given its total, is
 * Binomial(total, q): q = R rho / (R rho + nb), rho the rest of the
 * network's change (its rate in the weeks over its baseline's; 1 without
 * one), which the oracles are told. */
static double oracle_q(const struct run *r, const struct plant_run *pr, int which, const struct oweeks *ow) {
  double c, d;
  rest_sums(r, pr, which, ow, &c, &d);
  double rho = c > 0 && d > 0 ? (c / ow->R) / (d / ow->nb) : 1;
  return ow->R * rho / (ow->R * rho + ow->nb);
}

/* The oracle's p-value of a plant within SIGNAL_SCORE_SOON_WEEKS of its
 * onset: a test that knows the plant's places and onset, on raw counts,
 * of the weeks onset..onset+2 against the baseline_weeks before, by the
 * conditional test of two Poisson rates (given their total, the count in
 * those weeks is Binomial(total, q) if nothing changed: oracle_q; mid-p),
 * each place's counts in units of its own variance over mean
 * (place_sums), summed over the plant's places but the one with most of
 * it in those weeks (no one place makes a pattern: docs/patterns.md):
 *   emerging    the theme's records at those places;
 *   rising      the same, against the rest of the network's share of its
 *               own records in those weeks (q = its weeks / its total);
 *   together    the place-weeks of those places with both themes;
 *   cross-scale the larger of the person and organisation scales' p.
 * An engine is given less (it does not know the places, nor the onset,
 * nor withheld counts, and it tests hundreds of themes a week): a plant
 * whose oracle p is not far below a discovery's cutoff (about fdr / 2
 * over the week's tests) cannot be found within 2 weeks. NAN for spread
 * (its places never reported the theme: nothing to compare) and when the
 * baseline is under 4 weeks. */
static double plant_oracle(const struct run *r, const struct plant_run *pr, int nb_max) {
  const struct placegen_plant *pl = pr->pl;
  struct oweeks ow;
  if (!oracle_weeks(r, pl, nb_max, &ow) || pl->signal == HLS_PAT_SPREAD || pl->n_places < 2 || pr->all[0] == NULL)
    return NAN;
  int series = pl->signal == HLS_PAT_CROSS_SCALE ? 2 : 1;
  size_t top = 0;
  double xtop = -1;
  for (size_t k = 0; k < pl->n_places; k++) {
    double xk = 0, s, phi, x;
    for (int which = 0; which < series; which++) {
      place_sums(&ow, pr->all[which] + (size_t)pl->places[k] * (size_t)r->W, &x, &s, &phi);
      xk += x;
    }
    if (xk > xtop) xtop = xk, top = k;
  }
  double p[2] = {1, 1};
  for (int which = 0; which < series; which++) {
    double X = 0, S = 0, q;
    for (size_t k = 0; k < pl->n_places; k++) {
      if (k == top) continue;
      double x, s, phi;
      place_sums(&ow, pr->all[which] + (size_t)pl->places[k] * (size_t)r->W, &x, &s, &phi);
      X += x / phi, S += s / phi;
    }
    if (pl->signal == HLS_PAT_RISING) {
      double c, d;
      rest_sums(r, pr, 0, &ow, &c, &d);
      if (c + d <= 0) return NAN;
      q = c / (c + d);
    } else {
      q = oracle_q(r, pr, which, &ow);
    }
    p[which] = binom_upper_midp(X, X + S, q);
  }
  return series == 2 ? (p[0] > p[1] ? p[0] : p[1]) : p[0];
}

/* --- the membership oracle: which places an engine could list --------------------- */

/* The engine's TPM_TAU: a place's p-value counts in the truncated
 * product, and the place is one of a pattern's places, when it is at
 * most this. */
#define ENGINE_TAU 0.05

static int double_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The membership oracle of a plant within SIGNAL_SCORE_SOON_WEEKS of its
 * onset (emerging, together, cross-scale; NAN for the others or when the
 * baseline is under 4 weeks): a pattern is found at 80% of its places
 * only if it lists them, and a place can be listed only on its own data.
 * Each of the plant's places gets the p-value of plant_oracle's test on
 * its own raw counts (the onset known; cross-scale: the larger of its two
 * scales'); the result is the needed-th smallest (needed: 80% of the
 * places, rounded up), the evidence at which a rule listing places by
 * their own evidence would list enough of them. *false_places: how many
 * other places (with a count, not in the plant) such a rule would list
 * beside them if nothing changed there (each with chance at most that
 * p-value): the result times their number. */
static double plant_members(const struct run *r, const struct plant_run *pr, int nb_max, double *false_places) {
  const struct placegen_plant *pl = pr->pl;
  struct oweeks ow;
  *false_places = NAN;
  if ((pl->signal != HLS_PAT_EMERGING && pl->signal != HLS_PAT_TOGETHER && pl->signal != HLS_PAT_CROSS_SCALE) ||
      pl->n_places == 0 || pr->all[0] == NULL || !oracle_weeks(r, pl, nb_max, &ow))
    return NAN;
  int series = pl->signal == HLS_PAT_CROSS_SCALE ? 2 : 1;
  double q[2] = {oracle_q(r, pr, 0, &ow), series == 2 ? oracle_q(r, pr, 1, &ow) : 0};
  double *pv = malloc(pl->n_places * sizeof *pv);
  if (pv == NULL) die("out of memory");
  size_t others = 0;
  for (uint32_t p = 0; p < r->P; p++) {
    double worst = 0;
    bool any = false;
    for (int which = 0; which < series; which++) {
      double x, s, phi;
      place_sums(&ow, pr->all[which] + (size_t)p * (size_t)r->W, &x, &s, &phi);
      any |= x + s > 0;
      double pw = x + s > 0 ? binom_upper_midp(x / phi, (x + s) / phi, q[which]) : 1;
      if (pw > worst) worst = pw;
    }
    size_t k = plant_slot(pl, p);
    if (k != SIZE_MAX) pv[k] = worst;
    else others += any;
  }
  qsort(pv, pl->n_places, sizeof *pv, double_cmp);
  double t = pv[signal_score_needed(pl->n_places) - 1];
  free(pv);
  *false_places = t * (double)others;
  return t;
}

/* --- the scan oracle: what a test that knew only the onset could see --------------- */

/* splitmix64: the scan oracle's own draws, seeded per run and plant. */
static uint64_t mix_next(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double mix_unit(uint64_t *x) { return (double)(mix_next(x) >> 11) * 0x1.0p-53; }

/* A draw of Binomial(n, q) by inversion from 0 (p0 = (1 - q)^n): the
 * counts here have small means. */
static uint32_t binom_draw(uint64_t *x, uint32_t n, double q, double p0) {
  double u = mix_unit(x), pmf = p0, cdf = p0, odds = q / (1 - q);
  uint32_t k = 0;
  while (u > cdf && k < n) {
    pmf *= (double)(n - k) / (double)(k + 1) * odds;
    k++;
    cdf += pmf;
    if (pmf < 1e-300 && (double)k > (double)n * q) break; /* u past what doubles resolve */
  }
  return k;
}

/* A place in the scan: its count x in the weeks, e its mean under no
 * change, n its total (the binomial's trials); in units of its variance
 * over mean. */
struct scan_place {
  double x, e, n;
};

/* The expectation-based Poisson score of x records against e expected
 * (the log likelihood ratio of a raised rate; 0 when not raised). */
static double ebp_score(double x, double e) { return x > e && e > 0 ? x * log(x / e) - (x - e) : 0; }

static int scan_place_cmp(const void *a, const void *b) {
  const struct scan_place *p = a, *q = b;
  double l = p->x * q->e, r = q->x * p->e; /* by x / e, highest first */
  return (l < r) - (l > r);
}

enum scan_stat_kind { SCAN_LTSS, SCAN_TPM };


/* The scan statistic of places v[0..n-1] (q: the binomial's chance), as
 * the engine's rule has it, the place of the strongest evidence of its
 * own left out (no one place makes a pattern): SCAN_LTSS, the best subset
 * of the others by the expectation-based Poisson score, which is one of
 * the prefixes of the places in order of x / e (the linear-time subset
 * scan: Neill 2012); SCAN_TPM, the engine's, -log of the product of the
 * others' p-values at most ENGINE_TAU (each place's conditional mid-p).
 * *all (if not NULL, SCAN_TPM): the sum with no place left out. v is
 * reordered. */
static double scan_stat(struct scan_place *v, size_t n, double q, enum scan_stat_kind kind, double *all) {
  if (kind == SCAN_TPM) {
    double sum = 0, ymax = 0;
    for (size_t i = 0; i < n; i++) {
      if (!(v[i].x > v[i].e)) continue;
      double p = binom_upper_midp(v[i].x, v[i].n > v[i].x ? v[i].n : v[i].x, q);
      if (p > ENGINE_TAU) continue;
      double y = -log(p > 1e-300 ? p : 1e-300);
      sum += y;
      if (y > ymax) ymax = y;
    }
    if (all != NULL) *all = sum;
    return sum - ymax;
  }
  size_t top = SIZE_MAX;
  double best = 0;
  for (size_t i = 0; i < n; i++) {
    double f = ebp_score(v[i].x, v[i].e);
    if (f > best) best = f, top = i;
  }
  if (top == SIZE_MAX) return 0;
  v[top] = v[n - 1];
  n--;
  size_t m = 0; /* only places above their mean can be in the best subset */
  for (size_t i = 0; i < n; i++)
    if (v[i].x > v[i].e) v[m++] = v[i];
  qsort(v, m, sizeof *v, scan_place_cmp);
  double X = 0, E = 0, f = 0;
  for (size_t i = 0; i < m; i++) {
    X += v[i].x, E += v[i].e;
    double g = ebp_score(X, E);
    if (g > f) f = g;
  }
  return f;
}

/* The truncated product's p-value as the engine reckons it
 * (hls_pat__scan_robust): places' p-values taken as uniform, S the sum of
 * -ln p over those at most tau among n, K their number; given K = k, S =
 * k ln(1/tau) + Gamma(k, 1). Over every place P(S >= s) = sum_k C(n,k)
 * (1-tau)^(n-k) tau^k P(Gamma(k, 1) >= s - k ln(1/tau)); without the
 * strongest (rest: s is the sum less its largest term M, and M >= S / K)
 * the same sum from k = 2 with s k / (k - 1) for s. The engine's p-value
 * is the larger of the two. */
static double tpm_uniform_p(double s, size_t n, bool rest) {
  if (s <= 0 || n == 0) return 1;
  double lt = log(ENGINE_TAU), total = 0;
  for (size_t k = rest ? 2 : 1; k <= n; k++) {
    double lw = lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + (double)(n - k) * log1p(-ENGINE_TAU) +
                (double)k * lt;
    double h = 1, sk = rest ? s * (double)k / (double)(k - 1) : s;
    if (-sk <= (double)k * lt) {
      double mu = (double)k * lt + sk, term = exp(-mu), cdf = term;
      for (size_t j = 1; j < k; j++) term *= mu / (double)j, cdf += term;
      h = cdf;
    }
    total += exp(lw) * h;
  }
  return total > 1 ? 1 : total;
}

/* The scan oracle's p-value of a plant within SIGNAL_SCORE_SOON_WEEKS of
 * its onset (emerging and together; NAN for the others, or when the
 * baseline is under 4 weeks): a test that knows the onset but not the
 * places, on the plant_oracle's counts at every place, with its law
 * (oracle_q; units of each place's variance over mean). The statistic,
 * scan_stat, over every place with a count, has its p-value found by
 * drawing every place's count again from that law (Monte Carlo: (1 +
 * draws at least as high) / (1 + draws)), up to 20 / bar draws, stopping
 * once 50 are at least as high (then draws as high / draws; p well over
 * the bar). *uniform (SCAN_TPM only, else NAN): the same statistic's
 * p-value as the engine reckons it (tpm_uniform_p). */
static double plant_scan_oracle(const struct run *r, const struct plant_run *pr, int nb_max, double bar,
                                uint64_t seed, enum scan_stat_kind kind, double *uniform) {
  const struct placegen_plant *pl = pr->pl;
  struct oweeks ow;
  *uniform = NAN;
  if ((pl->signal != HLS_PAT_EMERGING && pl->signal != HLS_PAT_TOGETHER) || pr->all[0] == NULL ||
      !oracle_weeks(r, pl, nb_max, &ow))
    return NAN;
  double q = oracle_q(r, pr, 0, &ow);
  struct scan_place *obs = malloc(r->P * sizeof *obs), *sim = malloc(r->P * sizeof *sim);
  uint32_t *tot = malloc(r->P * sizeof *tot);
  double *p0 = malloc(r->P * sizeof *p0);
  if (obs == NULL || sim == NULL || tot == NULL || p0 == NULL) die("out of memory");
  size_t n = 0;
  for (uint32_t p = 0; p < r->P; p++) {
    double x, s, phi;
    place_sums(&ow, pr->all[0] + (size_t)p * (size_t)r->W, &x, &s, &phi);
    if (x + s <= 0) continue;
    double N = (x + s) / phi;
    tot[n] = (uint32_t)lround(N);
    p0[n] = pow(1 - q, tot[n]);
    obs[n++] = (struct scan_place){x / phi, N * q, N};
  }
  memcpy(sim, obs, n * sizeof *sim); /* scan_stat reorders its places */
  double s_all = 0, t = scan_stat(sim, n, q, kind, &s_all), pval = 1;
  if (kind == SCAN_TPM) {
    double pa = tpm_uniform_p(s_all, n, false), pr_ = tpm_uniform_p(t, n, true);
    *uniform = pa > pr_ ? pa : pr_;
  }
  if (t > 0) {
    uint64_t st = seed, draws = (uint64_t)ceil(20 / bar), ge = 0, d;
    for (d = 0; d < draws && ge < 50; d++) {
      for (size_t i = 0; i < n; i++) sim[i] = (struct scan_place){binom_draw(&st, tot[i], q, p0[i]), obs[i].e, tot[i]};
      ge += scan_stat(sim, n, q, kind, NULL) >= t;
    }
    pval = ge >= 50 ? (double)ge / (double)d : (double)(ge + 1) / (double)(d + 1);
  }
  free(obs), free(sim), free(tot), free(p0);
  return pval;
}

static int on_raw(void *ctx, uint32_t place, int32_t week, uint32_t theme, int scale, int stage, uint32_t raw) {
  struct run *r = ctx;
  (void)stage;
  for (size_t j = 0; j < r->n_check; j++) {
    int32_t w = week - r->w0;
    if (theme == r->check_theme[j] && w >= 0 && w < r->W && place < r->P)
      r->check_all[j][(size_t)place * (size_t)r->W + (size_t)w] += raw;
  }
  for (size_t k = 0; k < r->n_plants; k++) {
    struct plant_run *pr = &r->plants[k];
    const struct placegen_plant *pl = pr->pl;
    int which = theme == pl->themes[0] ? 0 : pl->n_themes == 2 && theme == pl->themes[1] ? 1 : -1;
    if (which < 0) continue;
    oracle_add(r, pr, place, week, which, scale, raw);
    size_t lo = plant_slot(pl, place);
    if (week < pl->week_from || lo == SIZE_MAX || pr->shown[lo] != INT32_MAX) continue;
    bool shown = true;
    if (pl->signal == HLS_PAT_TOGETHER) {
      pr->seen[which][lo] = week;
      shown = pr->seen[1 - which][lo] == week;
    } else if (pl->signal == HLS_PAT_CROSS_SCALE) {
      pr->scales[lo] |= 1u << scale;
      unsigned both = (1u << HLS_SCALE_PERSON) | (1u << HLS_SCALE_ORGANISATION);
      shown = (pr->scales[lo] & both) == both;
    }
    if (shown) pr->shown[lo] = week;
  }
  return 0;
}

static int on_digest(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d) {
  struct run *r = ctx;
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) return HLS_EINVAL;
  struct dslot *s = &r->slots[(size_t)(week - r->w0) * r->P + pl->index];
  if (r->n_cells + d->n_cells > r->cap_cells) {
    while (r->n_cells + d->n_cells > r->cap_cells) r->cap_cells = r->cap_cells ? 2 * r->cap_cells : 1 << 16;
    r->cells = xrealloc(r->cells, r->cap_cells * sizeof *r->cells);
  }
  s->seq = seq;
  s->off = r->n_cells;
  s->n = (uint32_t)d->n_cells;
  r->method = d->method;
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    int t = placegen_theme_find(r->g, c->theme, c->kind);
    if (t < 0) return HLS_EINVAL;
    r->cells[r->n_cells++] = (struct ccell){(uint32_t)t << 8 | (uint32_t)c->scale << 4 | (uint32_t)c->stage << 1 |
                                                (uint32_t)c->withheld,
                                            c->count};
  }
  return 0;
}

static int on_story(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s) {
  struct run *r = ctx;
  if (s->n_themes > STORY_THEMES) return HLS_ELIMIT;
  if (r->n_stories == r->cap_stories) {
    r->cap_stories = r->cap_stories ? 2 * r->cap_stories : 256;
    r->stories = xrealloc(r->stories, r->cap_stories * sizeof *r->stories);
  }
  struct sstory *x = &r->stories[r->n_stories];
  memset(x, 0, sizeof *x);
  if (hls_patterns_week(s->iso_year, s->iso_week, &x->week) != 0) return HLS_EINVAL;
  x->place = pl->index;
  x->seq = seq;
  x->title = strdup(s->title);
  if (x->title == NULL) return HLS_ENOMEM;
  x->scale = s->scale;
  x->stage = s->stage;
  x->n_themes = s->n_themes;
  for (size_t i = 0; i < s->n_themes; i++) {
    int t = placegen_theme_find(r->g, s->themes[i].slug, (int)s->themes[i].kind);
    if (t < 0) return HLS_EINVAL;
    x->themes[i] = (uint32_t)t;
  }
  r->n_stories++;
  return 0;
}

static int story_cmp(const void *a, const void *b) {
  const struct sstory *x = a, *y = b;
  if (x->week != y->week) return x->week < y->week ? -1 : 1;
  if (x->place != y->place) return x->place < y->place ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static int pk_cmp(const void *a, const void *b) {
  return memcmp(((const struct pk_place *)a)->pk, ((const struct pk_place *)b)->pk, HLS_KEY_BYTES);
}

/* --- translating the engine's numbers ---------------------------------------------- */

static uint32_t map_theme(struct run *r, uint32_t t) {
  if (t == HLS_PAT_NONE) return SIGNAL_SCORE_NONE;
  if (t >= r->n_theme_map) {
    size_t n = r->n_theme_map ? r->n_theme_map : 64;
    while (n <= t) n *= 2;
    r->theme_map = xrealloc(r->theme_map, n * sizeof *r->theme_map);
    for (size_t i = r->n_theme_map; i < n; i++) r->theme_map[i] = UNMAPPED;
    r->n_theme_map = n;
  }
  if (r->theme_map[t] == UNMAPPED) {
    const char *name;
    int kind, g = -1;
    if (hls_patterns_theme_info(r->pt, t, &name, &kind) == 0) g = placegen_theme_find(r->g, name, kind);
    r->theme_map[t] = g < 0 ? UNMAPPED - 1 : (uint32_t)g; /* never a plant's */
  }
  return r->theme_map[t];
}

static uint32_t map_place(struct run *r, uint32_t p) {
  if (p >= r->n_place_map) {
    size_t n = r->n_place_map ? r->n_place_map : 64;
    while (n <= p) n *= 2;
    r->place_map = xrealloc(r->place_map, n * sizeof *r->place_map);
    for (size_t i = r->n_place_map; i < n; i++) r->place_map[i] = UNMAPPED;
    r->n_place_map = n;
  }
  if (r->place_map[p] == UNMAPPED) {
    struct hls_pat_place_info info;
    uint32_t found = UNMAPPED - 1;
    if (hls_patterns_place_info(r->pt, p, &info) == 0) {
      size_t lo = 0, hi = r->P;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(r->by_pk[mid].pk, info.origin, HLS_KEY_BYTES);
        if (c == 0) {
          found = r->by_pk[mid].place;
          break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    r->place_map[p] = found;
  }
  return r->place_map[p];
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* The pattern in generator numbers; with places (sorted, in r->tmp) if
 * with_places. */
static struct signal_score_pattern translate(struct run *r, const struct hls_pattern *p, bool with_places) {
  struct signal_score_pattern s = {p->signal, map_theme(r, p->theme), map_theme(r, p->theme2), p->week_from,
                                   p->week_to, 0, NULL};
  if (!with_places) return s;
  if (p->n_places > r->cap_tmp) {
    r->cap_tmp = p->n_places;
    r->tmp = xrealloc(r->tmp, r->cap_tmp * sizeof *r->tmp);
  }
  for (size_t i = 0; i < p->n_places; i++) r->tmp[i] = map_place(r, p->places[i]);
  qsort(r->tmp, p->n_places, sizeof *r->tmp, u32_cmp);
  s.n_places = p->n_places;
  s.places = r->tmp;
  return s;
}

/* --- events and scoring ------------------------------------------------------------ */

static struct id_entry *id_slot(struct run *r, const uint8_t id[HLS_PAT_ID_BYTES]) {
  if (2 * (r->n_ids + 1) > r->cap_ids) {
    size_t cap = r->cap_ids ? 2 * r->cap_ids : 1024;
    struct id_entry *old = r->ids;
    size_t old_cap = r->cap_ids;
    r->ids = calloc(cap, sizeof *r->ids);
    if (r->ids == NULL) die("out of memory");
    r->cap_ids = cap;
    r->n_ids = 0;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i].used) {
        struct id_entry *e = id_slot(r, old[i].id);
        *e = old[i];
        r->n_ids++;
      }
    free(old);
  }
  uint64_t h;
  memcpy(&h, id, sizeof h); /* ids are hashes already */
  for (size_t i = (size_t)(h % r->cap_ids);; i = (i + 1) % r->cap_ids)
    if (!r->ids[i].used || memcmp(r->ids[i].id, id, HLS_PAT_ID_BYTES) == 0) return &r->ids[i];
}

static int on_change(void *ctx, int change, const struct hls_pattern *p) {
  struct run *r = ctx;
  if (change < 0 || change >= N_CHANGES || p->signal < 0 || p->signal >= HLS_PAT_SIGNAL_COUNT) return HLS_EINVAL;
  struct signal_score_pattern s = translate(r, p, false);
  bool on = signal_score_which(r->splants, r->n_plants, &s) >= 0;
  r->events[change][p->signal]++;
  if (!on) r->false_events[change][p->signal]++;
  size_t wk = (size_t)(r->week - r->w0);
  /* feed events: every change but a quiet update */
  if (change != HLS_PAT_UPDATED) r->week_events[wk]++;
  if (change != HLS_PAT_RETRACTED && change != HLS_PAT_UPDATED) r->week_new_updated[wk]++;
  struct id_entry *e = id_slot(r, p->id);
  if (!e->used && !on && r->list_false != NULL)
    fprintf(stderr, "false %s: week %d: %s themes %u/%d weeks %d-%d places %zu p %.3g%s\n", r->list_false,
            (int)(r->week - r->w0), hls_pat_signal_name(p->signal), (unsigned)map_theme(r, p->theme),
            p->theme2 == HLS_PAT_NONE ? -1 : (int)map_theme(r, p->theme2), (int)(p->week_from - r->w0),
            (int)(p->week_to - r->w0), p->n_places, p->p, p->region[0] ? " (region)" : "");
  if (!e->used) {
    memcpy(e->id, p->id, HLS_PAT_ID_BYTES);
    e->used = true;
    e->signal = (int8_t)p->signal;
    r->n_ids++;
  }
  e->on_plant |= on;
  return 0;
}

static int on_live(void *ctx, const struct hls_pattern *p) {
  struct run *r = ctx;
  struct signal_score_pattern s = translate(r, p, false);
  bool about = false;
  for (size_t k = 0; k < r->n_plants && !about; k++) about = signal_score_about_plant(&r->splants[k], &s);
  if (!about) return 0;
  s = translate(r, p, true);
  for (size_t k = 0; k < r->n_plants; k++) {
    signal_score_see(&r->plants[k].track, &r->splants[k], &s, r->week);
    signal_score_see_any(&r->plants[k].any, &r->splants[k], &s, r->week);
  }
  return 0;
}

/* --- results ------------------------------------------------------------------------ */

struct plant_result {
  int signal;
  char themes[2 * (HLS_THEME_MAX + 16) + 4];
  size_t n_places, needed, best_covered, shown_2w;
  int onset, week_to; /* week indexes */
  bool found, within;
  int delay;
  bool any_found, any_within; /* by a pattern about it of any signal */
  int any_delay;
  double oracle_p;      /* plant_oracle; NAN: none */
  double scan_oracle_p; /* plant_scan_oracle; NAN: none */
  double scan_uniform_p; /* its *uniform (--scan-stat tpm); NAN: none */
  double member_p;       /* plant_members; NAN: none */
  double member_false;   /* its *false_places */
};

/* --oracle-check: tests, and how many of each oracle's p-values were at
 * most 0.05, 0.01 and 0.001. */
#define CHECK_LEVELS 3
static const double check_levels[CHECK_LEVELS] = {0.05, 0.01, 0.001};
struct oracle_check {
  size_t tests, known[CHECK_LEVELS], scan[CHECK_LEVELS];
};

/* The oracle's bar: a single discovery among the week's single-theme
 * tests of spread, emerging and cross-scale needs p <= (fdr / 2) / m
 * (Benjamini-Hochberg at its first rank), m = 3 x themes. Generous: it
 * leaves out rising's tests (one a region) and the test's own correction
 * (emerging takes the better of two windows, doubled). */
static double oracle_bar(double fdr, int themes) { return fdr / 2 / (3.0 * (themes > 0 ? themes : 1)); }

struct result {
  long places, weeks, seed;
  int themes;
  double oracle_bar; /* oracle_bar */
  size_t background;
  bool null;
  size_t n_plants;
  struct plant_result plants[HLS_PAT_SIGNAL_COUNT];
  uint64_t distinct[HLS_PAT_SIGNAL_COUNT], false_distinct[HLS_PAT_SIGNAL_COUNT];
  uint64_t events[N_CHANGES][HLS_PAT_SIGNAL_COUNT], false_events[N_CHANGES][HLS_PAT_SIGNAL_COUNT];
  double week_mean, week_new_updated_mean;
  uint32_t week_max;
  int week_max_at;
  size_t live_end;
  char tests_hash[65]; /* hls_patterns_tests_hash at the end, in hex */
  double gen_s, engine_s, score_s;
  bool checked; /* --oracle-check, in a world with an emerging plant */
  struct oracle_check check;
};

/* --oracle-check: the background themes nothing was planted on, at
 * ORACLE_CHECK_THEMES ranks spread over them. */
static void check_themes(struct run *r) {
  size_t nt = placegen_n_themes(r->g), pool = 0;
  for (uint32_t t = 0; t < nt; t++) {
    const struct placegen_theme *th = placegen_theme(r->g, t);
    pool += th->plant < 0 && th->rank > 0;
  }
  r->n_check = 0;
  for (size_t j = 0; j < ORACLE_CHECK_THEMES && pool > 0; j++) {
    size_t want = (2 * j + 1) * pool / (2 * ORACLE_CHECK_THEMES), seen = 0; /* the middle of each part */
    for (uint32_t t = 0; t < nt; t++) {
      const struct placegen_theme *th = placegen_theme(r->g, t);
      if (th->plant >= 0 || th->rank <= 0) continue;
      if (seen++ == want) {
        r->check_theme[r->n_check] = t;
        r->check_all[r->n_check] = calloc(r->P * (size_t)r->W, sizeof *r->check_all[r->n_check]);
        if (r->check_all[r->n_check] == NULL) die("out of memory");
        r->n_check++;
        break;
      }
    }
  }
}

/* --oracle-check: both oracles of the emerging plant (its places) computed
 * for each checked theme as if it had been planted, at onsets every
 * ORACLE_CHECK_STEP weeks from the first with a whole baseline to the last
 * with SIGNAL_SCORE_SOON_WEEKS after it. Nothing was planted on them:
 * how often a p-value is at most each level says whether the oracles'
 * law holds on the background (a p-value is at most x in a share x of
 * tests, or less, when it does). */
static void oracle_check_run(const struct run *r, const struct plant_run *em, int nb, uint64_t seed,
                             struct oracle_check *out) {
  memset(out, 0, sizeof *out);
  for (size_t j = 0; j < r->n_check; j++) {
    struct placegen_plant fake = *em->pl;
    struct plant_run fr = {.pl = &fake, .all = {r->check_all[j], NULL}};
    for (int on = nb; on + SIGNAL_SCORE_SOON_WEEKS < r->W; on += ORACLE_CHECK_STEP) {
      double u;
      fake.week_from = r->w0 + on;
      double pk = plant_oracle(r, &fr, nb),
             ps = plant_scan_oracle(r, &fr, nb, check_levels[CHECK_LEVELS - 1],
                                    seed * 0x100000001b3ULL + (uint64_t)(j * 1000 + (size_t)on) + 7, SCAN_LTSS, &u);
      if (isnan(pk) || isnan(ps)) continue;
      out->tests++;
      for (int l = 0; l < CHECK_LEVELS; l++) out->known[l] += pk <= check_levels[l], out->scan[l] += ps <= check_levels[l];
    }
  }
}

static void theme_label(const struct placegen *g, uint32_t t, char *out, size_t size) {
  const struct placegen_theme *th = placegen_theme(g, t);
  snprintf(out, size, "%s:%s", hls_kind_name((enum hls_kind)th->kind), th->slug);
}

static void run_one(const struct opts *o, const struct hls_pat_params *eparams, size_t bg, long seed,
                    struct result *res) {
  struct placegen_params gp;
  placegen_params_default(&gp);
  if (apply_settings("background", COMMON_SETTINGS, gen_table, TABLE_N(gen_table), &gp) != 0 ||
      apply_settings(backgrounds[bg].name, backgrounds[bg].settings, gen_table, TABLE_N(gen_table), &gp) != 0 ||
      apply_settings("--gen", o->gen, gen_table, TABLE_N(gen_table), &gp) != 0)
    exit(2);
  gp.seed = (uint64_t)seed;
  gp.places = (int)o->places;
  gp.weeks = (int)o->weeks;
  if (o->themes > 0) gp.themes = (int)o->themes;
  if (gp.local_themes > gp.themes) gp.local_themes = gp.themes;
  gp.plants = o->null ? 0 : PLACEGEN_PLANT_ALL;
  gp.plant_style = strcmp(o->style, "new") == 0 ? PLACEGEN_STYLE_NEW_THEMES : PLACEGEN_STYLE_MODEST;
  gp.window_weeks = eparams->together_weeks;

  memset(res, 0, sizeof *res);
  res->places = o->places;
  res->weeks = o->weeks;
  res->seed = seed;
  res->themes = gp.themes;
  res->oracle_bar = oracle_bar(eparams->fdr, gp.themes);
  res->background = bg;
  res->null = o->null;

  struct run r;
  memset(&r, 0, sizeof r);
  char run_name[64];
  snprintf(run_name, sizeof run_name, "%s seed %ld", backgrounds[bg].name, seed);
  if (o->list_false) r.list_false = run_name;
  struct hls_why why = {{0}};
  double t0 = now_s();
  if (placegen_new(&r.g, &gp, &why) != 0) die("placegen: %s", why.text);
  r.P = placegen_n_places(r.g);
  r.W = gp.weeks;
  r.w0 = placegen_first_week(r.g);
  r.slots = calloc(r.P * (size_t)r.W, sizeof *r.slots);
  r.week_events = calloc((size_t)r.W, sizeof *r.week_events);
  r.week_new_updated = calloc((size_t)r.W, sizeof *r.week_new_updated);
  r.by_pk = malloc(r.P * sizeof *r.by_pk);
  if (r.slots == NULL || r.week_events == NULL || r.week_new_updated == NULL || r.by_pk == NULL)
    die("out of memory");
  for (size_t i = 0; i < r.P; i++) {
    memcpy(r.by_pk[i].pk, placegen_place(r.g, (uint32_t)i)->pk, HLS_KEY_BYTES);
    r.by_pk[i].place = (uint32_t)i;
  }
  qsort(r.by_pk, r.P, sizeof *r.by_pk, pk_cmp);

  r.n_plants = placegen_n_plants(r.g);
  for (size_t k = 0; k < r.n_plants; k++) {
    struct plant_run *pr = &r.plants[k];
    const struct placegen_plant *pl = placegen_plant(r.g, k);
    pr->pl = pl;
    signal_score_track_init(&pr->track);
    signal_score_track_init(&pr->any);
    size_t n = pl->n_places ? pl->n_places : 1;
    pr->shown = malloc(n * sizeof *pr->shown);
    pr->seen[0] = malloc(n * sizeof *pr->seen[0]);
    pr->seen[1] = malloc(n * sizeof *pr->seen[1]);
    pr->scales = calloc(n, sizeof *pr->scales);
    if (!pr->shown || !pr->seen[0] || !pr->seen[1] || !pr->scales) die("out of memory");
    for (size_t i = 0; i < n; i++) pr->shown[i] = INT32_MAX, pr->seen[0][i] = pr->seen[1][i] = INT32_MIN;
    if (pl->signal != HLS_PAT_SPREAD) { /* the oracles' series, at every place */
      size_t cells = r.P * (size_t)r.W;
      pr->all[0] = calloc(cells, sizeof *pr->all[0]);
      if (pl->signal == HLS_PAT_CROSS_SCALE) pr->all[1] = calloc(cells, sizeof *pr->all[1]);
      pr->aseen[0] = malloc(r.P * sizeof *pr->aseen[0]);
      pr->aseen[1] = malloc(r.P * sizeof *pr->aseen[1]);
      pr->aboth = malloc(r.P * sizeof *pr->aboth);
      if (!pr->all[0] || (pl->signal == HLS_PAT_CROSS_SCALE && !pr->all[1]) || !pr->aseen[0] || !pr->aseen[1] ||
          !pr->aboth)
        die("out of memory");
      for (size_t i = 0; i < r.P; i++) pr->aseen[0][i] = pr->aseen[1][i] = pr->aboth[i] = INT32_MIN;
    }
    r.splants[k] = (struct signal_score_plant){pl->signal, pl->n_themes, {pl->themes[0], pl->themes[1]},
                                               pl->week_from, pl->week_to, pl->n_places, pl->places};
  }
  if (o->oracle_check && !o->null) check_themes(&r);

  struct placegen_sink sink = {.ctx = &r, .on_raw = on_raw, .on_digest = on_digest, .on_story = on_story};
  int rc = placegen_run(r.g, &sink);
  if (rc != 0) die("placegen_run: %s", hls_strerror(rc));
  qsort(r.stories, r.n_stories, sizeof *r.stories, story_cmp);
  res->gen_s = now_s() - t0;

  /* The engine, in time order. */
  if (hls_patterns_new(&r.pt, eparams, &why) != 0) die("hls_patterns_new: %s", why.text);
  hls_patterns_set_threads(r.pt, (int)o->threads);
  for (uint32_t p = 0; p < r.P; p++) {
    const struct placegen_place *pl = placegen_place(r.g, p);
    if (hls_patterns_place(r.pt, pl->pk, pl->name, pl->region) != 0) die("hls_patterns_place");
  }
  struct hls_digest_cell *dcells = NULL;
  size_t cap_dcells = 0, next_story = 0;
  double engine_s = 0, score_s = 0;
  for (int wi = 0; wi < r.W; wi++) {
    double t1 = now_s();
    r.week = r.w0 + wi;
    for (uint32_t p = 0; p < r.P; p++) {
      const struct placegen_place *pl = placegen_place(r.g, p);
      const struct dslot *s = &r.slots[(size_t)wi * r.P + p];
      if (s->seq != 0) {
        if (s->n > cap_dcells) {
          cap_dcells = s->n;
          dcells = xrealloc(dcells, cap_dcells * sizeof *dcells);
        }
        for (uint32_t i = 0; i < s->n; i++) {
          const struct ccell *c = &r.cells[s->off + i];
          const struct placegen_theme *th = placegen_theme(r.g, c->meta >> 8);
          struct hls_digest_cell *d = &dcells[i];
          memset(d, 0, sizeof *d);
          memcpy(d->theme, th->slug, strlen(th->slug) + 1);
          d->kind = th->kind;
          d->scale = (int)(c->meta >> 4 & 15);
          d->stage = (int)(c->meta >> 1 & 7);
          d->withheld = c->meta & 1;
          d->count = c->count;
        }
        struct hls_digest d = {.method = r.method, .n_cells = s->n, .cells = dcells};
        hls_patterns_iso_week(r.week, &d.iso_year, &d.iso_week);
        if ((rc = hls_patterns_digest(r.pt, pl->pk, s->seq, &d)) != 0) die("hls_patterns_digest: %s", hls_strerror(rc));
      }
      for (; next_story < r.n_stories && r.stories[next_story].week == r.week && r.stories[next_story].place == p;
           next_story++) {
        const struct sstory *x = &r.stories[next_story];
        struct hls_story st;
        memset(&st, 0, sizeof st);
        hls_patterns_iso_week(x->week, &st.iso_year, &st.iso_week);
        snprintf(st.title, sizeof st.title, "%s", x->title);
        st.n_themes = x->n_themes;
        for (size_t i = 0; i < x->n_themes; i++) {
          const struct placegen_theme *th = placegen_theme(r.g, x->themes[i]);
          snprintf(st.themes[i].slug, sizeof st.themes[i].slug, "%s", th->slug);
          st.themes[i].kind = (enum hls_kind)th->kind;
        }
        st.scale = x->scale;
        st.stage = x->stage;
        if ((rc = hls_patterns_story(r.pt, pl->pk, x->seq, &st)) != 0) die("hls_patterns_story: %s", hls_strerror(rc));
      }
    }
    if ((rc = hls_patterns_update(r.pt, on_change, &r)) != 0) die("hls_patterns_update: %s", hls_strerror(rc));
    double t2 = now_s();
    if (r.n_plants > 0 && (rc = hls_patterns_each(r.pt, on_live, &r)) != 0) die("hls_patterns_each: %s", hls_strerror(rc));
    engine_s += t2 - t1;
    score_s += now_s() - t2;
  }
  if (next_story != r.n_stories) die("%zu stories left unfed", r.n_stories - next_story);
  free(dcells);
  res->engine_s = engine_s;
  res->score_s = score_s;

  /* Results. */
  res->n_plants = r.n_plants;
  for (size_t k = 0; k < r.n_plants; k++) {
    const struct plant_run *pr = &r.plants[k];
    const struct placegen_plant *pl = pr->pl;
    struct plant_result *x = &res->plants[k];
    x->signal = pl->signal;
    char a[HLS_THEME_MAX + 16], b[HLS_THEME_MAX + 16];
    theme_label(r.g, pl->themes[0], a, sizeof a);
    if (pl->n_themes == 2) theme_label(r.g, pl->themes[1], b, sizeof b);
    snprintf(x->themes, sizeof x->themes, "%s%s%s", a, pl->n_themes == 2 ? " + " : "", pl->n_themes == 2 ? b : "");
    x->n_places = pl->n_places;
    x->needed = signal_score_needed(pl->n_places);
    x->best_covered = pr->track.best_covered;
    x->onset = (int)(pl->week_from - r.w0);
    x->week_to = (int)(pl->week_to - r.w0);
    x->found = pr->track.found;
    x->delay = x->found ? (int)signal_score_delay(&pr->track, &r.splants[k]) : 0;
    x->within = signal_score_within(&pr->track, &r.splants[k], SIGNAL_SCORE_SOON_WEEKS);
    x->any_found = pr->any.found;
    x->any_delay = x->any_found ? (int)signal_score_delay(&pr->any, &r.splants[k]) : 0;
    x->any_within = signal_score_within(&pr->any, &r.splants[k], SIGNAL_SCORE_SOON_WEEKS);
    for (size_t i = 0; i < pl->n_places; i++) x->shown_2w += pr->shown[i] <= pl->week_from + SIGNAL_SCORE_SOON_WEEKS;
    x->oracle_p = plant_oracle(&r, pr, eparams->baseline_weeks);
    x->scan_oracle_p = plant_scan_oracle(&r, pr, eparams->baseline_weeks, res->oracle_bar,
                                         (uint64_t)seed * 0x100000001b3ULL + (uint64_t)k + 1,
                                         strcmp(o->scan_stat, "tpm") == 0 ? SCAN_TPM : SCAN_LTSS, &x->scan_uniform_p);
    x->member_p = plant_members(&r, pr, eparams->baseline_weeks, &x->member_false);
    if (pl->signal == HLS_PAT_EMERGING && r.n_check > 0) {
      oracle_check_run(&r, pr, eparams->baseline_weeks, (uint64_t)seed, &res->check);
      res->checked = true;
    }
  }
  for (size_t j = 0; j < r.n_check; j++) free(r.check_all[j]);
  for (size_t i = 0; i < r.cap_ids; i++)
    if (r.ids[i].used) {
      res->distinct[r.ids[i].signal]++;
      res->false_distinct[r.ids[i].signal] += !r.ids[i].on_plant;
    }
  memcpy(res->events, r.events, sizeof r.events);
  memcpy(res->false_events, r.false_events, sizeof r.false_events);
  uint64_t total = 0, nu = 0;
  for (int w = 0; w < r.W; w++) {
    total += r.week_events[w];
    nu += r.week_new_updated[w];
    if (r.week_events[w] > res->week_max) res->week_max = r.week_events[w], res->week_max_at = w;
  }
  res->week_mean = (double)total / r.W;
  res->week_new_updated_mean = (double)nu / r.W;
  struct hls_pat_stats st;
  hls_patterns_stats(r.pt, &st);
  res->live_end = st.patterns;
  uint8_t th[32];
  if ((rc = hls_patterns_tests_hash(r.pt, th)) != 0) die("hls_patterns_tests_hash: %s", hls_strerror(rc));
  for (int i = 0; i < 32; i++) snprintf(res->tests_hash + 2 * i, 3, "%02x", th[i]);

  for (size_t k = 0; k < r.n_plants; k++) {
    free(r.plants[k].shown), free(r.plants[k].seen[0]), free(r.plants[k].seen[1]), free(r.plants[k].scales);
    free(r.plants[k].all[0]), free(r.plants[k].all[1]), free(r.plants[k].aseen[0]), free(r.plants[k].aseen[1]);
    free(r.plants[k].aboth);
  }
  for (size_t i = 0; i < r.n_stories; i++) free(r.stories[i].title);
  free(r.stories);
  free(r.slots);
  free(r.cells);
  free(r.week_events);
  free(r.week_new_updated);
  free(r.by_pk);
  free(r.theme_map);
  free(r.place_map);
  free(r.tmp);
  free(r.ids);
  hls_patterns_free(r.pt);
  placegen_free(r.g);
}

/* --- reporting ---------------------------------------------------------------------- */

static double per_104(double n, long weeks) { return n * 104.0 / (double)weeks; }

static uint64_t sum_signals(const uint64_t v[HLS_PAT_SIGNAL_COUNT]) {
  uint64_t s = 0;
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++) s += v[i];
  return s;
}

/* Tables fit in 100 columns (but a pair of long theme names). */
#define PLANT_THEMES_COLUMN 92

static void print_run(FILE *f, const struct result *x, const char *style) {
  fprintf(f, "\n== %ld places x %ld weeks, background %s, %s, seed %ld (%d themes) ==\n", x->places, x->weeks,
          backgrounds[x->background].name, x->null ? "null (nothing planted)" : style, x->seed, x->themes);
  fprintf(f, "  %.1f s: generate %.1f, engine %.1f, score %.1f\n", x->gen_s + x->engine_s + x->score_s, x->gen_s,
          x->engine_s, x->score_s);
  if (x->n_plants > 0) {
    fprintf(f, "  %-11s %6s %5s %5s %5s %5s %5s %7s %7s %7s %7s %7s %s\n", "plant", "places", "onset", "found", "delay",
            "<=2wk", "any", "best", "shown", "oracle", "scan", "members", "theme(s)");
    for (size_t k = 0; k < x->n_plants; k++) {
      const struct plant_result *p = &x->plants[k];
      char delay[16] = "-", any[16] = "-", best[24], shown[24], oracle[24] = "-", scan[24] = "-", members[24] = "-";
      if (!isnan(p->oracle_p)) snprintf(oracle, sizeof oracle, "%.0e", p->oracle_p);
      if (!isnan(p->member_p)) snprintf(members, sizeof members, "%.0e", p->member_p);
      if (!isnan(p->scan_oracle_p)) snprintf(scan, sizeof scan, "%.0e", p->scan_oracle_p);
      if (p->found) snprintf(delay, sizeof delay, "%+d", p->delay);
      if (p->any_found) snprintf(any, sizeof any, "%+d", p->any_delay);
      snprintf(best, sizeof best, "%zu/%zu", p->best_covered, p->n_places);
      snprintf(shown, sizeof shown, "%zu/%zu", p->shown_2w, p->n_places);
      fprintf(f, "  %-11s %6zu %5d %5s %5s %5s %5s %7s %7s %7s %7s %7s ", hls_pat_signal_name(p->signal),
              p->n_places, p->onset, p->found ? "yes" : "no", delay, p->within ? "yes" : "no", any, best, shown, oracle,
              scan, members);
      /* A pair too long for the line: its second theme below the first. */
      const char *plus = strstr(p->themes, " + ");
      if (plus != NULL && PLANT_THEMES_COLUMN + strlen(p->themes) > 100)
        fprintf(f, "%.*s\n  %*s%s\n", (int)(plus - p->themes), p->themes, PLANT_THEMES_COLUMN - 2, "", plus + 1);
      else fprintf(f, "%s\n", p->themes);
    }
    fprintf(f, "  (onset: week index; found: a live pattern on the plant covered >= 80%% of its places;\n"
               "   any: the delay of the same by a pattern on its theme(s) of any signal;\n"
               "   best: most places covered; shown: places whose data show the plant within 2 weeks of onset;\n"
               "   oracle: p-value of a test that knows the plant's places and onset, on raw counts, 2 weeks in;\n"
               "   scan: of a scan over every place that knows the onset only, the same counts;\n"
               "   members: the p-value of a place's own counts at which 80%% of its places are listed)\n");
  }
  fprintf(f, "  %-11s %8s %7s %7s | %7s %7s %7s | %7s %7s %7s\n", "signal", "patterns", "false", "f/104wk", "new",
          "updated", "retract", "f.new", "f.upd", "f.retr");
  for (int s = 0; s <= HLS_PAT_SIGNAL_COUNT; s++) {
    bool total = s == HLS_PAT_SIGNAL_COUNT;
    uint64_t d = total ? sum_signals(x->distinct) : x->distinct[s];
    uint64_t fd = total ? sum_signals(x->false_distinct) : x->false_distinct[s];
    fprintf(f, "  %-11s %8llu %7llu %7.0f |", total ? "total" : hls_pat_signal_name(s), (unsigned long long)d,
            (unsigned long long)fd, per_104((double)fd, x->weeks));
    for (int which = 0; which < 2; which++) {
      for (int c = 0; c < N_CHANGES; c++) {
        const uint64_t *v = which == 0 ? x->events[c] : x->false_events[c];
        fprintf(f, " %7llu", (unsigned long long)(total ? sum_signals(v) : v[s]));
      }
      fprintf(f, "%s", which == 0 ? " |" : "\n");
    }
  }
  fprintf(f, "  (patterns: distinct ids; false: on no plant; f/104wk: false per 104 weeks; new, updated,\n"
             "   retract: events; f.*: events of a pattern on no plant)\n");
  fprintf(f, "  events a week: mean %.1f (new or changed, not retracted: %.1f), max %u (week %d); %zu live at the end\n",
          x->week_mean, x->week_new_updated_mean, x->week_max, x->week_max_at, x->live_end);
  if (x->checked)
    fprintf(f, "  oracle check: %zu tests of themes nothing was planted on; p at most 0.05, 0.01, 0.001: oracle "
               "%zu, %zu, %zu; scan %zu, %zu, %zu\n",
            x->check.tests, x->check.known[0], x->check.known[1], x->check.known[2], x->check.scan[0],
            x->check.scan[1], x->check.scan[2]);
}

/* The runs of one (places, background, mode), aggregated. */
struct aggregate {
  size_t background;
  bool null;
  long places, weeks;
  size_t runs;
  size_t planted[HLS_PAT_SIGNAL_COUNT], within[HLS_PAT_SIGNAL_COUNT], found[HLS_PAT_SIGNAL_COUNT];
  size_t any_within[HLS_PAT_SIGNAL_COUNT]; /* within 2 weeks by a pattern about it of any signal */
  double delay_sum[HLS_PAT_SIGNAL_COUNT], cover_sum[HLS_PAT_SIGNAL_COUNT], shown_sum[HLS_PAT_SIGNAL_COUNT];
  size_t oracle_n[HLS_PAT_SIGNAL_COUNT], oracle_under[HLS_PAT_SIGNAL_COUNT]; /* plants with an oracle; under its bar */
  size_t scan_n[HLS_PAT_SIGNAL_COUNT], scan_under[HLS_PAT_SIGNAL_COUNT];     /* the same of the scan oracle */
  size_t uniform_n[HLS_PAT_SIGNAL_COUNT], uniform_under[HLS_PAT_SIGNAL_COUNT]; /* and of its uniform p-value */
  /* plants with a membership oracle; at most ENGINE_TAU; its false places, summed */
  size_t member_n[HLS_PAT_SIGNAL_COUNT], member_under[HLS_PAT_SIGNAL_COUNT];
  double member_false_sum[HLS_PAT_SIGNAL_COUNT];
  bool checked; /* --oracle-check: the runs' sums */
  struct oracle_check check;
  double false_104[HLS_PAT_SIGNAL_COUNT], false_total_104, week_mean, week_new_updated_mean;
  uint32_t week_max;
  double seconds;
};

static void aggregate_add(struct aggregate *a, const struct result *x) {
  a->background = x->background;
  a->null = x->null;
  a->places = x->places;
  a->weeks = x->weeks;
  a->runs++;
  for (size_t k = 0; k < x->n_plants; k++) {
    const struct plant_result *p = &x->plants[k];
    a->planted[p->signal]++;
    a->within[p->signal] += p->within;
    a->any_within[p->signal] += p->any_within;
    a->found[p->signal] += p->found;
    if (p->found) a->delay_sum[p->signal] += p->delay;
    a->cover_sum[p->signal] += (double)p->best_covered / (double)p->n_places;
    a->shown_sum[p->signal] += (double)p->shown_2w / (double)p->n_places;
    if (!isnan(p->oracle_p)) {
      a->oracle_n[p->signal]++;
      a->oracle_under[p->signal] += p->oracle_p <= x->oracle_bar;
    }
    if (!isnan(p->scan_oracle_p)) {
      a->scan_n[p->signal]++;
      a->scan_under[p->signal] += p->scan_oracle_p <= x->oracle_bar;
    }
    if (!isnan(p->scan_uniform_p)) {
      a->uniform_n[p->signal]++;
      a->uniform_under[p->signal] += p->scan_uniform_p <= x->oracle_bar;
    }
    if (!isnan(p->member_p)) {
      a->member_n[p->signal]++;
      a->member_under[p->signal] += p->member_p <= ENGINE_TAU;
      a->member_false_sum[p->signal] += p->member_false;
    }
  }
  if (x->checked) {
    a->checked = true;
    a->check.tests += x->check.tests;
    for (int l = 0; l < CHECK_LEVELS; l++) a->check.known[l] += x->check.known[l], a->check.scan[l] += x->check.scan[l];
  }
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) a->false_104[s] += per_104((double)x->false_distinct[s], x->weeks);
  a->false_total_104 += per_104((double)sum_signals(x->false_distinct), x->weeks);
  a->week_mean += x->week_mean;
  a->week_new_updated_mean += x->week_new_updated_mean;
  if (x->week_max > a->week_max) a->week_max = x->week_max;
  a->seconds += x->gen_s + x->engine_s + x->score_s;
}

/* "modest plants", "new plants", or "nothing planted" (null). */
static const char *plants_text(const char *style) {
  return strcmp(style, "null") == 0 ? "nothing planted" : strcmp(style, "new") == 0 ? "new plants" : "modest plants";
}

static void print_aggregates(FILE *f, const struct aggregate *ag, size_t n, const char *style) {
  fprintf(f, "\nAGGREGATE (%s), over the seeds.\n", plants_text(style));
  fprintf(f, "\nFalse patterns (distinct ids on no plant) per 104 weeks, mean of the runs; events a week\n"
             "(feed events: every change but a quiet update): mean of the runs' means, and the largest week.\n");
  fprintf(f, "  %6s %-8s %-7s %5s | %7s %7s %7s %7s %7s %7s | %6s %5s\n", "places", "backgr.", "mode", "seeds",
          "spread", "emerg.", "rising", "togeth.", "cross", "TOTAL", "ev/wk", "max");
  for (size_t i = 0; i < n; i++) {
    const struct aggregate *a = &ag[i];
    fprintf(f, "  %6ld %-8s %-7s %5zu |", a->places, backgrounds[a->background].name, a->null ? "null" : "planted",
            a->runs);
    for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) fprintf(f, " %7.1f", a->false_104[s] / (double)a->runs);
    fprintf(f, " %7.1f | %6.1f %5u\n", a->false_total_104 / (double)a->runs, a->week_mean / (double)a->runs,
            a->week_max);
  }
  bool any_planted = false;
  for (size_t i = 0; i < n; i++) any_planted |= !ag[i].null;
  if (any_planted) {
    fprintf(f, "\nRecall: plants found (a live pattern on the plant covering >= 80%% of its places) within\n"
               "2 weeks of onset / planted; then found at all (any delay), the mean delay when found, the\n"
               "mean best coverage, the mean share of its places whose data show it within 2 weeks, and\n"
               "the plants an oracle could find within 2 weeks (its p-value under fdr / 2 / (3 x themes)):\n"
               "knowing the places (oracle), or the onset only (scan); members: the plants whose own data\n"
               "show 80%% of their places at p <= 0.05 each (a place's evidence for a pattern to list it),\n"
               "and the mean number of other places listed beside them at that plant's p-value, by chance.\n"
               "any: found within 2 weeks by a pattern on the plant's theme(s) of any signal.\n");
    fprintf(f, "  %6s %-8s %5s | %-8s %-8s %-8s %-8s %s\n", "places", "backgr.", "seeds", "spread", "emerging",
            "rising", "together", "cross");
    for (size_t i = 0; i < n; i++) {
      const struct aggregate *a = &ag[i];
      if (a->null) continue;
      fprintf(f, "  %6ld %-8s %5zu |", a->places, backgrounds[a->background].name, a->runs);
      for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) {
        char c[48] = "-";
        if (a->planted[s]) snprintf(c, sizeof c, "%zu/%zu", a->within[s], a->planted[s]);
        fprintf(f, s + 1 < HLS_PAT_SIGNAL_COUNT ? " %-8s" : " %s", c);
      }
      fprintf(f, "\n");
    }
    fprintf(f, "  %6s %-8s %-11s | %8s %8s %6s %6s %7s %7s %7s %6s %6s\n", "places", "backgr.", "signal", "found",
            "delay", "cover", "shown", "oracle", "scan", "members", "others", "any");
    for (size_t i = 0; i < n; i++) {
      const struct aggregate *a = &ag[i];
      for (int s = 0; s < HLS_PAT_SIGNAL_COUNT && !a->null; s++) {
        if (!a->planted[s]) continue;
        char found[48], delay[32] = "-", oracle[48] = "-", scan[48] = "-", members[48] = "-", others[32] = "-",
             any[48];
        snprintf(found, sizeof found, "%zu/%zu", a->found[s], a->planted[s]);
        snprintf(any, sizeof any, "%zu/%zu", a->any_within[s], a->planted[s]);
        if (a->found[s]) snprintf(delay, sizeof delay, "%+.1f wk", a->delay_sum[s] / (double)a->found[s]);
        if (a->oracle_n[s]) snprintf(oracle, sizeof oracle, "%zu/%zu", a->oracle_under[s], a->oracle_n[s]);
        if (a->scan_n[s]) snprintf(scan, sizeof scan, "%zu/%zu", a->scan_under[s], a->scan_n[s]);
        if (a->member_n[s]) {
          snprintf(members, sizeof members, "%zu/%zu", a->member_under[s], a->member_n[s]);
          snprintf(others, sizeof others, "%.1f", a->member_false_sum[s] / (double)a->member_n[s]);
        }
        fprintf(f, "  %6ld %-8s %-11s | %8s %8s %5.0f%% %5.0f%% %7s %7s %7s %6s %6s\n", a->places,
                backgrounds[a->background].name, hls_pat_signal_name(s), found, delay,
                100 * a->cover_sum[s] / (double)a->planted[s], 100 * a->shown_sum[s] / (double)a->planted[s], oracle,
                scan, members, others, any);
      }
    }
    for (size_t i = 0; i < n; i++) {
      const struct aggregate *a = &ag[i];
      for (int s = 0; s < HLS_PAT_SIGNAL_COUNT && !a->null; s++)
        if (a->uniform_n[s])
          fprintf(f, "  %6ld %-8s %-11s | scan oracle's statistic as the engine reckons it: %zu/%zu under the bar\n",
                  a->places, backgrounds[a->background].name, hls_pat_signal_name(s), a->uniform_under[s],
                  a->uniform_n[s]);
    }
    for (size_t i = 0; i < n; i++) {
      const struct aggregate *a = &ag[i];
      if (!a->checked) continue;
      const struct oracle_check *c = &a->check;
      double t = c->tests ? (double)c->tests : 1;
      fprintf(f, "  %6ld %-8s oracle check, %zu tests: p <= 0.05, 0.01, 0.001 in %.1f%%, %.1f%%, %.2f%% (oracle), "
                 "%.1f%%, %.1f%%, %.2f%% (scan)\n",
              a->places, backgrounds[a->background].name, c->tests, 100 * c->known[0] / t, 100 * c->known[1] / t,
              100 * c->known[2] / t, 100 * c->scan[0] / t, 100 * c->scan[1] / t, 100 * c->scan[2] / t);
    }
  }
  fprintf(f, "\nTARGETS (issue 12; measured, not enforced): every plant found at >= 80%% of its places\n"
             "within 2 weeks (40 and 300 places); null world <= 26 patterns per 104 weeks; planted world\n"
             "at 300 places <= 10 new or changed pattern events a week on average.\n");
  for (size_t i = 0; i < n; i++) {
    const struct aggregate *a = &ag[i];
    size_t planted = 0, within = 0, any = 0;
    for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++)
      planted += a->planted[s], within += a->within[s], any += a->any_within[s];
    double fp = a->false_total_104 / (double)a->runs, ev = a->week_new_updated_mean / (double)a->runs;
    if (a->null)
      fprintf(f, "  %6ld %-8s null:    %.1f patterns per 104 weeks: %s\n", a->places, backgrounds[a->background].name,
              fp, fp <= 26 ? "MET" : "NOT MET");
    else
      fprintf(f,
              "  %6ld %-8s planted: %zu/%zu plants within 2 weeks: %s (%zu by any signal); %.1f new+updated a "
              "week%s\n",
              a->places, backgrounds[a->background].name, within, planted, within == planted ? "MET" : "NOT MET", any,
              ev, a->places >= 300 ? (ev <= 10 ? ": MET" : ": NOT MET") : "");
  }
}

static json_t *signal_counts(const uint64_t v[HLS_PAT_SIGNAL_COUNT], double scale) {
  json_t *o = json_object();
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++)
    json_object_set_new(o, hls_pat_signal_name(s), scale > 0 ? json_real((double)v[s] * scale) : json_integer((json_int_t)v[s]));
  uint64_t t = sum_signals(v);
  json_object_set_new(o, "total", scale > 0 ? json_real((double)t * scale) : json_integer((json_int_t)t));
  return o;
}

/* --oracle-check's counts: {tests, oracle_p_at_most: {"0.05": n, "0.01":
 * n, "0.001": n}, scan_oracle_p_at_most: {...}}; null without it. */
static json_t *check_json(const struct oracle_check *c) {
  if (c == NULL) return json_null();
  json_t *k = json_object(), *sc = json_object();
  for (int l = 0; l < CHECK_LEVELS; l++) {
    char key[16];
    snprintf(key, sizeof key, "%g", check_levels[l]);
    json_object_set_new(k, key, json_integer((json_int_t)c->known[l]));
    json_object_set_new(sc, key, json_integer((json_int_t)c->scan[l]));
  }
  return json_pack("{s:I, s:o, s:o}", "tests", (json_int_t)c->tests, "oracle_p_at_most", k, "scan_oracle_p_at_most",
                   sc);
}

static json_t *result_json(const struct result *x, const char *style) {
  json_t *plants = json_array();
  for (size_t k = 0; k < x->n_plants; k++) {
    const struct plant_result *p = &x->plants[k];
    json_t *pj = json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:b, s:o, s:b, s:I, s:f, s:I, s:o, s:o, s:o, s:o, s:o}",
                          "signal",
                          hls_pat_signal_name(p->signal), "themes", p->themes, "places", (json_int_t)p->n_places, "needed",
                          (json_int_t)p->needed, "onset_week", p->onset, "week_to", p->week_to, "found", p->found,
                          "delay_weeks", p->found ? json_integer(p->delay) : json_null(), "within_2_weeks", p->within,
                          "best_covered", (json_int_t)p->best_covered, "best_coverage",
                          (double)p->best_covered / (double)p->n_places, "shown_within_2_weeks",
                          (json_int_t)p->shown_2w, "oracle_p", isnan(p->oracle_p) ? json_null() : json_real(p->oracle_p),
                          "scan_oracle_p", isnan(p->scan_oracle_p) ? json_null() : json_real(p->scan_oracle_p),
                          "scan_uniform_p", isnan(p->scan_uniform_p) ? json_null() : json_real(p->scan_uniform_p),
                          "member_p", isnan(p->member_p) ? json_null() : json_real(p->member_p),
                          "member_false_places", isnan(p->member_p) ? json_null() : json_real(p->member_false));
    if (pj != NULL) {
      json_object_set_new(pj, "found_any_signal", json_boolean(p->any_found));
      json_object_set_new(pj, "delay_weeks_any_signal", p->any_found ? json_integer(p->any_delay) : json_null());
      json_object_set_new(pj, "within_2_weeks_any_signal", json_boolean(p->any_within));
    }
    json_array_append_new(plants, pj);
  }
  json_t *events = json_object(), *false_events = json_object();
  for (int c = 0; c < N_CHANGES; c++) {
    json_object_set_new(events, hls_pat_change_name(c), signal_counts(x->events[c], 0));
    json_object_set_new(false_events, hls_pat_change_name(c), signal_counts(x->false_events[c], 0));
  }
  json_t *o = json_pack("{s:I, s:I, s:i, s:f, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:f, s:f, s:i, s:i}, "
                   "s:I, s:{s:f, s:f, s:f}}",
                   "places", (json_int_t)x->places, "weeks", (json_int_t)x->weeks, "themes", x->themes, "oracle_bar",
                   x->oracle_bar, "background",
                   backgrounds[x->background].name, "style", style, "null", x->null, "seed", (json_int_t)x->seed,
                   "plants", plants, "distinct_patterns", signal_counts(x->distinct, 0), "false_patterns",
                   signal_counts(x->false_distinct, 0), "false_patterns_per_104_weeks",
                   signal_counts(x->false_distinct, 104.0 / (double)x->weeks), "events", events, "false_events",
                   false_events, "events_per_week", "mean", x->week_mean, "new_or_updated_mean",
                   x->week_new_updated_mean, "max", (int)x->week_max, "max_week", x->week_max_at, "live_at_end",
                   (json_int_t)x->live_end, "seconds", "generate", x->gen_s, "engine", x->engine_s, "score", x->score_s);
  if (o != NULL) json_object_set_new(o, "oracle_check", check_json(x->checked ? &x->check : NULL));
  if (o != NULL) json_object_set_new(o, "tests_hash", json_string(x->tests_hash));
  return o;
}

static json_t *aggregate_json(const struct aggregate *a) {
  json_t *recall = json_object(), *false104 = json_object();
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) {
    json_object_set_new(false104, hls_pat_signal_name(s), json_real(a->false_104[s] / (double)a->runs));
    if (!a->planted[s]) continue;
    json_t *r = json_pack("{s:I, s:I, s:I, s:f, s:o, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "planted",
                  (json_int_t)a->planted[s],
                  "within_2_weeks",
                  (json_int_t)a->within[s], "found", (json_int_t)a->found[s], "rate",
                  (double)a->within[s] / (double)a->planted[s], "mean_delay",
                  a->found[s] ? json_real(a->delay_sum[s] / (double)a->found[s]) : json_null(), "mean_best_coverage",
                  a->cover_sum[s] / (double)a->planted[s], "mean_shown_within_2_weeks",
                  a->shown_sum[s] / (double)a->planted[s], "oracle_tested", (json_int_t)a->oracle_n[s],
                  "oracle_under_bar", (json_int_t)a->oracle_under[s], "scan_oracle_tested", (json_int_t)a->scan_n[s],
                  "scan_oracle_under_bar", (json_int_t)a->scan_under[s], "scan_uniform_tested",
                  (json_int_t)a->uniform_n[s], "scan_uniform_under_bar", (json_int_t)a->uniform_under[s],
                  "members_tested", (json_int_t)a->member_n[s], "members_at_most_tau", (json_int_t)a->member_under[s],
                  "mean_member_false_places",
                  a->member_n[s] ? json_real(a->member_false_sum[s] / (double)a->member_n[s]) : json_null());
    if (r != NULL) json_object_set_new(r, "within_2_weeks_any_signal", json_integer((json_int_t)a->any_within[s]));
    json_object_set_new(recall, hls_pat_signal_name(s), r);
  }
  json_object_set_new(false104, "total", json_real(a->false_total_104 / (double)a->runs));
  json_t *o = json_pack("{s:I, s:I, s:s, s:b, s:I, s:o, s:o, s:{s:f, s:f, s:i}, s:f}", "places",
                         (json_int_t)a->places, "weeks", (json_int_t)a->weeks, "background",
                         backgrounds[a->background].name, "null", a->null, "seeds", (json_int_t)a->runs,
                         "recall_80_within_2_weeks", recall, "false_patterns_per_104_weeks", false104,
                         "events_per_week", "mean", a->week_mean / (double)a->runs, "new_or_updated_mean",
                         a->week_new_updated_mean / (double)a->runs, "max", (int)a->week_max, "seconds", a->seconds);
  if (o != NULL) json_object_set_new(o, "oracle_check", check_json(a->checked ? &a->check : NULL));
  return o;
}

/* --- main --------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  struct opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0 || o.help) {
    usage(rc ? stderr : stdout);
    return rc;
  }
  if (sodium_init() < 0) return 1;
  if (strcmp(o.style, "new") != 0 && strcmp(o.style, "modest") != 0) {
    fprintf(stderr, "bench_signal: --style is new or modest\n");
    return 2;
  }
  if (strcmp(o.scan_stat, "ltss") != 0 && strcmp(o.scan_stat, "tpm") != 0) {
    fprintf(stderr, "bench_signal: --scan-stat is ltss or tpm\n");
    return 2;
  }
  size_t bg_from = 0, bg_to = BACKGROUND_N;
  if (strcmp(o.background, "all") != 0) {
    for (bg_from = 0; bg_from < BACKGROUND_N && strcmp(backgrounds[bg_from].name, o.background) != 0; bg_from++) {
    }
    if (bg_from == BACKGROUND_N) {
      fprintf(stderr, "bench_signal: unknown background %s (see --help)\n", o.background);
      return 2;
    }
    bg_to = bg_from + 1;
  }
  struct hls_pat_params ep;
  hls_pat_params_default(&ep);
  if (apply_settings("--params", o.params, engine_table, TABLE_N(engine_table), &ep) != 0) return 2;
  struct hls_why why = {{0}};
  if (hls_pat_params_check(&ep, &why) != 0) {
    fprintf(stderr, "bench_signal: --params: %s\n", why.text);
    return 2;
  }
  /* Check the generator's settings once, up front. */
  for (size_t b = bg_from; b < bg_to; b++) {
    struct placegen_params gp;
    placegen_params_default(&gp);
    if (apply_settings("background", COMMON_SETTINGS, gen_table, TABLE_N(gen_table), &gp) != 0 ||
        apply_settings(backgrounds[b].name, backgrounds[b].settings, gen_table, TABLE_N(gen_table), &gp) != 0 ||
        apply_settings("--gen", o.gen, gen_table, TABLE_N(gen_table), &gp) != 0)
      return 2;
  }

  FILE *out = o.json ? stderr : stdout;
  const char *style = o.null ? "null" : o.style;
  double load0[3], load1[3], t0 = now_s();
  loadavg(load0);
  size_t n_runs = (bg_to - bg_from) * (size_t)o.seeds, n_done = 0;
  struct result *results = calloc(n_runs, sizeof *results);
  struct aggregate *ag = calloc(bg_to - bg_from, sizeof *ag);
  if (results == NULL || ag == NULL) die("out of memory");
  fprintf(out, "bench_signal: %ld places x %ld weeks, %s, %ld seed(s) from %ld, %zu background(s), %ld engine thread(s);\n"
               "load average %.2f %.2f %.2f on %ld CPUs\n",
          o.places, o.weeks, plants_text(style), o.seeds, o.seed, bg_to - bg_from, o.threads, load0[0], load0[1],
          load0[2], sysconf(_SC_NPROCESSORS_ONLN));
  for (size_t b = bg_from; b < bg_to; b++)
    for (long s = 0; s < o.seeds; s++) {
      struct result *x = &results[n_done++];
      run_one(&o, &ep, b, o.seed + s, x);
      print_run(out, x, o.null ? "null" : o.style);
      aggregate_add(&ag[b - bg_from], x);
      fflush(out);
      if (o.json)
        fprintf(stderr, "run %zu/%zu done (%.1f s)\n", n_done, n_runs, x->gen_s + x->engine_s + x->score_s);
    }
  loadavg(load1);
  double wall = now_s() - t0;
  print_aggregates(out, ag, bg_to - bg_from, style);
  fprintf(out, "\nwall time %.1f s; load average at the start %.2f %.2f %.2f, at the end %.2f %.2f %.2f\n", wall,
          load0[0], load0[1], load0[2], load1[0], load1[1], load1[2]);

  if (o.json) {
    json_t *params = json_object();
    for (size_t i = 0; i < TABLE_N(engine_table); i++) {
      const void *field = (const char *)&ep + engine_table[i].off;
      json_object_set_new(params, engine_table[i].name,
                          engine_table[i].type == PAR_DOUBLE ? json_real(*(const double *)field)
                                                             : json_integer(*(const int *)field));
    }
    json_t *runs = json_array(), *aggs = json_array();
    for (size_t i = 0; i < n_done; i++) json_array_append_new(runs, result_json(&results[i], style));
    for (size_t i = 0; i < bg_to - bg_from; i++) json_array_append_new(aggs, aggregate_json(&ag[i]));
    json_t *doc = json_pack("{s:s, s:i, s:{s:I, s:I, s:I, s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:I}, s:o, s:o, s:o, s:[f, f, f], "
                            "s:[f, f, f], s:f}",
                            "bench", "bench_signal", "version", 1, "config", "places", (json_int_t)o.places, "weeks",
                            (json_int_t)o.weeks, "seeds", (json_int_t)o.seeds, "first_seed", (json_int_t)o.seed, "style",
                            o.style, "scan_stat", o.scan_stat, "null", o.null, "oracle_check", o.oracle_check, "gen", o.gen, "params", o.params, "threads", (json_int_t)o.threads,
                            "engine_params", params, "runs", runs, "aggregate", aggs, "load_start", load0[0], load0[1], load0[2], "load_end", load1[0],
                            load1[1], load1[2], "wall_seconds", wall);
    if (doc == NULL) die("building the JSON");
    if (json_dumpf(doc, stdout, JSON_INDENT(1)) != 0) die("writing the JSON");
    printf("\n");
    json_decref(doc);
  }
  free(results);
  free(ag);
  return 0;
}
