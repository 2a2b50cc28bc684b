/* Inside the pattern engine (not for other modules: patterns.h is the
 * engine's outside): its state, and what its files (patterns*.c, listed
 * at the top of patterns.c) share. Small helpers several files use are
 * static inline here; the rest carry the hls_pat__ prefix, each described
 * where it is defined, under the file that defines it. */
#ifndef HLS_PATTERNS_INTERNAL_H
#define HLS_PATTERNS_INTERNAL_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "patterns.h"

/* --- state ------------------------------------------------------------------------------ */

/* A theme's cells of one digest, folded: the interval of the true count;
 * what the tests count at each scale (ms: rounded cells at the middle of
 * their interval, withheld ones at their least); withheld cells at the
 * middle of their interval (mw) and at their least (wlo). */
struct cell {
  uint32_t theme;
  uint32_t lo, hi;
  float ms[HLS_SCALE_COUNT];
  float mw, wlo;
  uint8_t scales;
  bool withheld;
};

struct cref { /* a place's cell of one theme in one week: the engine holds
                 millions, so 40 bytes (its digest's seq is its unit's) */
  uint32_t place;
  uint32_t lo, hi;
  float ms[HLS_SCALE_COUNT];
  float mw, wlo;
  uint8_t scales;
  bool withheld;
};

_Static_assert(sizeof(struct cref) == 40, "struct cref grew: the engine holds millions of them");

struct bucket {
  int32_t week;
  size_t n, cap;
  struct cref *refs;
  UT_hash_handle hh;
};

struct story {
  struct {
    uint32_t place, pad;
    uint64_t seq;
  } key;
  int32_t week;
  char title[HLS_TITLE_MAX + 1];
  size_t n_themes;
  uint32_t themes[HLS_THEMES_PER_RECORD];
  UT_hash_handle hh;
};

struct pat;

struct theme {
  char key[HLS_THEME_MAX + 3]; /* "K:name", K the kind digit */
  uint32_t ix;
  int kind;
  const char *name; /* into key */
  struct bucket *weeks; /* by week */
  struct story **stories;
  size_t n_stories, cap_stories;
  struct pat **pats; /* its single-theme patterns */
  size_t n_pats, cap_pats;
  bool dirty;
  /* Its tests' p-values for the weeks held (gmin..gmax), unit by unit
   * (spread, emerging, cross-scale, then rising in region 1, 2, ...);
   * NAN where a unit was not tested. Read by the weekly FDR. */
  float *pv;
  size_t pv_units, pv_len;
  float *sc1, *sc2;  /* [week][unit]: the statistic and its expectation */
  uint8_t *back;     /* [week][unit]: weeks its test looked back, less one */
  uint32_t **mem;    /* [week][unit]: its places (count first) when p <= keep_p */
  size_t taken;      /* weeks of its tests taken from a saved copy (hls_patterns_restore), ever */
  int32_t test_from; /* tests from this week on need computing; INT32_MAX: none */
  int32_t test_last; /* the last week whose data changed; INT32_MAX: tests to the end */
  uint64_t first_sig; /* of its places' first reports, as last computed; 0: none */
  /* Once weeks are frozen (hls_patterns_freeze): each place's first week
   * reporting the theme in the cells given up (INT32_MAX: none), by place
   * number (n_frozen_first of them), and the latest such week. */
  int32_t *frozen_first;
  size_t n_frozen_first;
  int32_t frozen_last;
  int32_t cells_from; /* its buckets before this week keep only its patterns' places (INT32_MIN: all) */
  /* The places that reported it (in its cells and in frozen_first), in
   * place order, and the first week each did (rp_first): made by its
   * tests when !rp_valid, kept up as cells come (hls_pat__theme_reported),
   * made again after a cell leaves. A freeze changes neither: it moves a
   * week's places into frozen_first, with their first weeks. */
  uint32_t *rp_place;
  int32_t *rp_first;
  size_t n_rp, cap_rp;
  bool rp_valid;
  UT_hash_handle hh;
};

struct unit {
  uint64_t key; /* place << 32 | (uint32_t)week */
  uint32_t place;
  int32_t week;
  uint64_t seq;
  bool erased; /* the newest digest was erased: no cells, older ones stay out */
  size_t n;
  uint32_t *themes; /* its cells' themes, sorted (their counts are in the themes' buckets) */
  size_t win_pos;     /* index in its window's units, if in_window */
  bool in_window;
  bool frozen; /* in a frozen week: kept (no themes) only for its seq, which lineage gives */
  uint64_t fp;  /* what its tests read of it: its place, week, seq and folded cells (unit_fp) */
  UT_hash_handle hh;
};

struct dseq { /* a digest's (place, seq) -> its week, for erasure */
  struct {
    uint32_t place, pad;
    uint64_t seq;
  } key;
  int32_t week;
  UT_hash_handle hh;
};

/* A place's tables of a pair in a window (its quieter and busier weeks):
 * weeks, weeks reporting a, b, both. */
struct ptab {
  uint32_t place;
  uint8_t w[2], a[2], b[2], ab[2];
};

/* A pair of themes whose test in a window kept evidence (p <= keep_p). */
struct pfound {
  uint64_t key; /* the window's pair key (w->pk): found pairs are in its order */
  uint32_t a, b;
  double p;      /* its test: associated, and more than before (a pattern opens on it) */
  double p_hold; /* associated (a pattern goes on while it is at most keep_p) */
  double o, e;
  struct ptab *places; /* its places with tables, in place order */
  size_t n_places;
};

struct window {
  int32_t k;
  struct unit **units;
  size_t n, cap;
  float *tests; /* the p-values of its pairs tested, for the weekly FDR */
  size_t n_tests, cap_tests;
  struct pfound *found; /* its pairs that kept evidence */
  size_t n_found, cap_found;
  uint64_t *pk; /* every pair reported in the same week, sorted */
  uint32_t *pc; /* and its place-weeks */
  size_t n_pk, cap_pk, cap_pc;
  bool dirty;
  bool frozen; /* its units given up: its tests and pairs are final */
  UT_hash_handle hh;
};

struct place {
  uint8_t origin[HLS_KEY_BYTES];
  uint32_t ix;
  char name[HLS_PLACE_MAX + 1];
  char region[HLS_REGION_MAX + 1];
  uint32_t version; /* bumped by every rename */
  size_t facts;     /* digest weeks and stories ever given */
  uint32_t region_ix; /* into hls_patterns.regions; 0: none */
  bool has_week;
  int32_t first_week; /* its first digest's week: its history starts there */
  uint64_t frozen_seq; /* the highest seq of its digests in frozen weeks (0: none) */
  UT_hash_handle hh;
};

struct pat {
  struct hls_pattern p;
  uint8_t fp[16];
  uint32_t gen;
  UT_hash_handle hh;
};

struct hls_patterns {
  struct hls_pat_params prm;
  struct place *places_by_origin;
  struct place **places;
  size_t n_places, cap_places;
  struct theme *themes_by_key;
  struct theme **themes;
  size_t n_themes, cap_themes;
  struct unit *units;
  struct dseq *dseqs;
  struct story *stories;
  struct window *windows;
  struct pat *pats;
  size_t n_digests;
  bool have_weeks;
  int32_t gmin, gmax;
  struct theme **dirty_themes;
  size_t n_dirty_themes, cap_dirty_themes;
  struct window **dirty_windows;
  size_t n_dirty_windows, cap_dirty_windows;
  uint32_t gen;
  struct pat **tpats; /* together patterns */
  size_t n_tpats, cap_tpats;
  bool together_dirty;
  struct tcomp *tc;
  char **regions; /* regions[0] = "": places without one */
  size_t n_regions;
  /* The weekly FDR: each week's largest p-value that is a discovery
   * (0: none), gmin..gmax. */
  double *cutoff, *tcutoff; /* single themes, pairs */
  size_t n_cutoff;
  int32_t cutoff_gmin;
  /* hls_patterns_freeze: the tests of weeks before freeze_week are final,
   * and only what later tests and patterns read of them is held. */
  bool frozen;
  int32_t freeze_week;
  int32_t frozen_units; /* units of weeks before it are given up (or kept for lineage) */
  /* The facts of each week held, gmin .. gmax: the sum of its units' fp
   * (an erased digest's counts as none), kept up as facts come (those of
   * frozen weeks no longer change): what a saved copy of the frozen
   * tests (hls_patterns_save) is checked against. */
  uint64_t *wfp;
  size_t cap_wfp;
  struct restore *rs; /* hls_patterns_restore's tests, while the load checks and takes them */
  size_t windows_taken; /* windows whose tests were taken from a saved copy, ever */
  bool (*stop)(void *ctx); /* hls_patterns_set_stop */
  void *stop_ctx;
  /* scratch */
  uint32_t *mark; /* per place: stamp */
  uint32_t stamp;
  uint32_t *scratch_places;
  /* Per week index (the weeks held), the places whose history starts
   * there (a first week before the weeks held counts at 0): made by each
   * update before the themes' tests, which read it (each theme's own walk
   * over every place was a tenth of its tests). */
  int32_t *first_cnt;
  size_t cap_first_cnt;
  int threads; /* hls_patterns_set_threads */
};

static inline bool grow(void **arr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * size);
  if (p == NULL) return false;
  *arr = p;
  *cap = c;
  return true;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

static inline void pat_free(struct pat *p) {
  if (p == NULL) return;
  free(p->p.places);
  free(p);
}

static inline int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* SplitMix64's finalizer: a 64-bit value's bits spread over all 64. */
static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27, x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* A fresh stamp of pt->mark: every place unmarked. */
static inline uint32_t next_stamp(struct hls_patterns *pt) {
  if (++pt->stamp == 0) {
    memset(pt->mark, 0, pt->n_places * sizeof *pt->mark);
    pt->stamp = 1;
  }
  return pt->stamp;
}

static inline int window_k_cmp(const void *a, const void *b) {
  int32_t x = (*(struct window *const *)a)->k, y = (*(struct window *const *)b)->k;
  return (x > y) - (x < y);
}

/* Rising's baseline ends this many weeks before its window (one window):
 * a rise that builds over weeks is measured against the weeks before it
 * began, not against its own first weeks. */
static inline int32_t rising_gap(const struct hls_pat_params *prm) { return prm->rising_weeks; }

/* The weeks a test of week i reads: i - reach .. i (its baseline before
 * the longest window of a signal, rising's with its gap, and the week
 * before). */
static inline int32_t tests_reach(const struct hls_pat_params *prm) {
  int32_t r = prm->emerging_weeks;
  if (prm->cross_weeks > r) r = prm->cross_weeks;
  if (prm->spread_weeks > r) r = prm->spread_weeks;
  if (prm->rising_weeks + rising_gap(prm) > r) r = prm->rising_weeks + rising_gap(prm);
  return r + prm->baseline_weeks + 1;
}

/* --- facts (patterns.c) ----------------------------------------------------------------- */


bool hls_pat__mark_theme_episodes(struct hls_patterns *pt, struct theme *t);
struct bucket *hls_pat__bucket_get(struct theme *t, int32_t week, bool create);

/* The engine's place of origin, theme of (name, kind): made if new. NULL
 * when out of memory. */
struct place *hls_pat__place_get(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES]);
struct theme *hls_pat__theme_get(struct hls_patterns *pt, const char *name, int kind);
/* Every test from week on needs computing: every theme's, and those of
 * the windows with a week from there on. 0 or HLS_ENOMEM. */
int hls_pat__mark_from(struct hls_patterns *pt, int32_t week);
/* Those of the windows with a week from week on. */
int hls_pat__mark_windows_from(struct hls_patterns *pt, int32_t week);

/* --- computing (patterns_emit.c) -------------------------------------------------------- */

/* A pattern being built: places gathered with the stamp array. */
struct build {
  struct hls_pattern p;
  size_t n_places;
};

struct ctx_update {
  hls_pat_change_fn fn;
  void *ctx;
  int rc;
};

void hls_pat__places_begin(struct hls_patterns *pt, struct build *b);
void hls_pat__place_add(struct hls_patterns *pt, struct build *b, uint32_t place);
int hls_pat__emit(struct hls_patterns *pt, struct build *b, struct pat ***list, size_t *n_list, size_t *cap_list,
                  struct ctx_update *cu);
int hls_pat__sweep(struct hls_patterns *pt, struct pat **list, size_t *n_list, struct ctx_update *cu);
void hls_pat__build_init(struct build *b, int signal, uint32_t theme);
void hls_pat__gather_counts(struct hls_patterns *pt, struct theme *t, struct build *b, int32_t from, int32_t to);

/* --- statistics (patterns_stats.c) ------------------------------------------------------ */

#define P_FLOOR 1e-300

static inline double strength_of(double p) { return p < P_FLOOR ? 300.0 : -log10(p); }

#define TPM_TAU 0.05

/* The deviances (z, hls_pat__place_z's) at or below which a place's exact
 * test is not computed, because its p-value cannot be one its scan keeps
 * (test_patterns_stats.c, test_place_z_thresholds, checks each claim over
 * a grid of the tests' inputs). Emerging keeps p at most TPM_TAU: below
 * EMERGING_ZMIN the binomial's p is at least 0.14 and the beta-binomial's
 * (an overdispersed baseline) above TPM_TAU, except for a baseline that
 * is one burst (its variance near the most its sum allows: nearly all of
 * it in one week), where it can be just under (a one-off scan of a finer
 * grid, 15 million inputs: 11 had p 0.049 at z 0.92 to 1, every one with
 * the whole baseline in one week): such a place is left out, which can
 * only make the scan more cautious. Cross-scale's scales
 * (binomial in units of phi) need p at most TPM_TAU with one scale and
 * TPM_TAU^(1/2) = 0.224 with two: at or below CROSS_ZMIN_ONE their p is at
 * least 0.14, at or below CROSS_ZMIN_TWO at least 0.27. */
#define EMERGING_ZMIN 1.0
#define CROSS_ZMIN_ONE 1.0
#define CROSS_ZMIN_TWO 0.5

/* A place in a scan: its upper-tail p-value (z), its slot. */
struct zent {
  double z;
  uint32_t slot;
};

double hls_pat__poisson_midp(double k, double mu);
/* The mid-p upper tail at x of a beta-binomial: n trials, the chance
 * Beta(a, b); x and n real (patterns_stats.c says how). */
double hls_pat__bbinom_midp(double x, double n, double a, double b);
/* The mid-p upper tail at x of a binomial: n trials, the chance q; x and n
 * real. */
double hls_pat__binom_midp(double x, double n, double q);
double hls_pat__fisher_sf(double a, double b, double c, double d);
double hls_pat__normal_sf(double z);
/* hls_pat__mh_midp convolves sums whose support has at most this many values. */
#define MH_EXACT_SUPPORT 1024
double hls_pat__mh_midp(const uint32_t *w, const uint32_t *a, const uint32_t *b, size_t n, double o);
bool hls_pat__place_z(const struct hls_pat_params *prm, const double *P, const double *Q, const int32_t *NZ,
                      int32_t lo, int32_t first, int32_t i, int32_t R, int32_t min_nz, double prior_mu,
                      double prior_ratio, double kappa_pool, double rho, double zmin, double *z, double *pz,
                      double *phi_out);
/* The weeks' worth of the theme's pooled kappa a place's own is shrunk
 * towards (hls_pat__place_z). */
#define KAPPA_PRIOR_WEEKS 10.0
double hls_pat__p_robust(double p, double p_rest);
double hls_pat__scan_robust(struct zent *zv, size_t m, size_t n, int kmin, size_t *kstar);

/* --- one theme's tests (patterns_theme.c) ----------------------------------------------- */

/* Series of a theme: the total and each scale. */
#define NSER (1 + HLS_SCALE_COUNT)

/* The units a theme is tested in: spread, emerging, cross-scale, then
 * rising in each region (region 0, none, is not tested). */
enum { U_SPREAD = 0, U_EMERGING = 1, U_CROSS = 2, U_RISING = 3 };

/* Scratch for computing one theme's tests, kept between themes. Rows are
 * slots (the places that reported the theme), columns the week indexes
 * lo..L-1 (gmin = 0) as prefix sums (one more column). */
struct tcomp {
  size_t n, span, cap_rows, cap_span, cap_n, cap_regions, cap_member;
  int32_t lo;
  double *P[NSER];   /* prefix sums of a place's weekly value: total, each scale */
  double *Q0;        /* and of the total's square */
  int32_t *NZ;       /* prefix count of weeks with a value (the total's; a scale's is not tested) */
  uint32_t *place;   /* [n] */
  int32_t *first;    /* [n]: its history's first week index */
  int32_t *first_report; /* [n]: the first week index it reported the theme */
  uint32_t *region;  /* [n] */
  double *NP;        /* national prefix sums of cells */
  double *act;       /* prefix sum of places whose history had started */
  double *elig;      /* prefix sum of places at risk of taking the theme up (spread) */
  double *adopt;     /* prefix sum of places taking it up */
  double *RP;        /* [regions * (span+1)]: prefix sums of a region's weekly total */
  uint32_t *rplaces; /* [regions] */
  double *rtop_w, *rtop_b; /* [regions]: the window and baseline sums of its busiest place */
  struct zent *zv;   /* [n] scan scratch */
  uint32_t *seen;    /* [n] candidates of a week, by stamp */
  uint32_t seen_stamp;
  /* per place of the engine (cap_places of them): a theme's slots
   * (slot_of), the places marked by stamp (mark), and the slots' places,
   * then the week's candidates (places). Each thread that computes
   * themes has its own tcomp, so these are not the engine's scratch. */
  uint32_t *mark, *slot_of, *places;
  uint32_t stamp;
  size_t cap_places;
};

/* The stored result of unit u's test in week i of theme t. */
#define TV(t, i, u) ((size_t)(i) * (t)->pv_units + (size_t)(u))

/* A p-value as stored (float): never 0, which would read as "no
 * discovery" in a week's cutoff; strength is then at most 37.9. */
static inline float pv_store(double p) {
  if (isnan(p)) return NAN;
  return p < (double)FLT_MIN ? FLT_MIN : (float)p;
}

void hls_pat__tcomp_free(struct tcomp *c);
void hls_pat__theme_reported(struct theme *t, uint32_t place, int32_t week);
size_t hls_pat__candidates(struct hls_patterns *pt, struct theme *t, struct tcomp *c, int32_t i, int32_t R,
                           uint32_t *out);
void hls_pat__priors(const struct hls_pat_params *prm, const struct tcomp *c, int32_t i, int32_t R, double *mu);
int hls_pat__keep_members(struct hls_patterns *pt, struct theme *t, const struct tcomp *c, int32_t i, size_t u,
                          const uint32_t *slots, size_t n);
void hls_pat__theme_tests_free(struct theme *t);
bool hls_pat__place_testable(const struct hls_pat_params *prm, const struct tcomp *c, size_t s, int32_t i,
                             int32_t R, int32_t min_nz);
int hls_pat__theme_tests(struct hls_patterns *pt, struct tcomp *c, struct theme *t, int32_t from, int32_t last);
int hls_pat__theme_episodes(struct hls_patterns *pt, struct theme *t, struct ctx_update *cu);

/* --- the signals' tests of a week (patterns_SIGNAL.c) ----------------------------------- */

/* One week's tests of one theme, as each signal's test reads them
 * (hls_pat__theme_tests sets them up): the theme's n slots and their
 * prefix sums (c: rows of W1 from week index lo), the first week any place
 * was at risk of taking the theme up (e0: spread's baseline starts there),
 * and scratch of n slots for the candidates and the members of a test. */
struct theme_week {
  struct hls_patterns *pt;
  struct theme *t;
  struct tcomp *c;
  int32_t lo, e0;
  size_t n, W1;
  uint32_t *cand, *mem;
};

/* Slot s's prefix sums of series sr, of the total's squares, and its
 * prefix count of weeks with a value (with c and W1 in scope). */
#define PS(sr, s) (c->P[sr] + (size_t)(s) * W1)
#define QS(s) (c->Q0 + (size_t)(s) * W1)
#define NZS(s) (c->NZ + (size_t)(s) * W1)

/* Each signal's test of week index i: its units' p-values, statistics
 * and members in the theme's stored tests. 0 or HLS_ENOMEM. */
double hls_pat__network_change(const struct theme_week *tw, int32_t i, int32_t R, double pm, double kappa_pool,
                               uint32_t *cand, size_t *mc, double zkeep);
double hls_pat__kappa_pool(const struct hls_pat_params *prm, const struct tcomp *c, size_t W1, size_t n, int32_t i,
                           int32_t R, int32_t min_nz, size_t *n_testable);
int hls_pat__spread_test(const struct theme_week *tw, int32_t i);
int hls_pat__emerging_test(const struct theme_week *tw, int32_t i);
int hls_pat__cross_test(const struct theme_week *tw, int32_t i);
int hls_pat__rising_test(const struct theme_week *tw, int32_t i);

/* --- together (patterns_together.c) ----------------------------------------------------- */

#define TOGETHER_HISTORY 2 /* windows of a pair's history */
#define TOGETHER_GAP 2     /* windows between a window and its history */
#define TOGETHER_REACH (TOGETHER_GAP + TOGETHER_HISTORY) /* windows a window's tests read before it */

/* A place's weeks in a pair's tables, in two classes (docs/patterns.md,
 * "together"): deg[t] the themes its digest of week t of span reports
 * (TOGETHER_NO_DIGEST without one), dmed the lower median of its digests'
 * weeks (TOGETHER_NO_DIGEST: none). Week masks: hls_pat__mask_words(span)
 * words, bit t % 64 of word t / 64 for week t. hls_pat__week_masks makes
 * g, (1 + TOGETHER_GT_MASKS) masks: the weeks with a digest, then those
 * whose digest reports more than each of the TOGETHER_GT_MASKS values
 * hls_pat__classes may compare with. hls_pat__classes gives the place's
 * weeks (w), weeks of a (ca), b (cb) and both (cab) in each class, from
 * the masks of its weeks of a (ma) and b (mb); pres and tmp are scratch of
 * span entries. hls_pat__classes_scan is the same from pres (bit 1 a, 2
 * b; cleared), week by week: the definition, and the way for a week with
 * a cell but no digest. */
#define TOGETHER_NO_DIGEST UINT16_MAX
#define TOGETHER_GT_MASKS 5
size_t hls_pat__mask_words(int32_t span);
void hls_pat__week_masks(const uint16_t *deg, int32_t span, uint16_t dmed, uint64_t *g);
void hls_pat__classes(const uint16_t *deg, int32_t span, uint16_t dmed, const uint64_t *g, const uint64_t *ma,
                      const uint64_t *mb, uint8_t *pres, uint32_t *tmp, uint32_t w[2], uint32_t ca[2],
                      uint32_t cb[2], uint32_t cab[2]);
void hls_pat__classes_scan(const uint16_t *deg, int32_t span, uint16_t dmed, uint8_t *pres, uint32_t *tmp,
                           uint32_t w[2], uint32_t ca[2], uint32_t cb[2], uint32_t cab[2]);

/* The week a window's tests count in for the FDR: its last week, or the
 * latest week held if that is earlier. */
static inline int32_t window_test_week(const struct hls_patterns *pt, const struct window *w) {
  int32_t end = w->k * pt->prm.together_weeks + pt->prm.together_weeks - 1;
  return end < pt->gmax ? end : pt->gmax;
}

int hls_pat__window_compute(struct hls_patterns *pt, struct window *w);
/* Which of the found pairs of windows ws[0..n) (in k order) are in a
 * together pattern (opened by a discovery in their window, or going on
 * from the window before): *out (the caller's to free) has a flag for
 * each, window by window. Only their places are read (by the pattern);
 * a copy of saved tests keeps only theirs. 0 or HLS_ENOMEM. */
int hls_pat__found_in_runs(const struct hls_patterns *pt, struct window *const *ws, size_t n, bool **out);
int hls_pat__together_emit(struct hls_patterns *pt, struct ctx_update *cu);

/* --- frozen tests kept across restarts (patterns_cache.c) ------------------------------- */

/* The week before which restored tests are taken instead of computed
 * (those checked against the facts given: hls_patterns_restore_check),
 * INT32_MIN when none. */
int32_t hls_pat__restored_before(const struct hls_patterns *pt);
/* Fill week indexes [from, to) of theme t's stored tests (made, NAN) with
 * the restored ones, those before hls_pat__restored_before: *upto gets
 * the week index filled to (from: none). 0 or HLS_ENOMEM. */
int hls_pat__restore_theme(struct hls_patterns *pt, struct theme *t, int32_t from, int32_t to, int32_t *upto);
/* A fact of week came: if the saved tests of that week were taken (or
 * were to be), they are not, from it on. 0 or HLS_ENOMEM. */
int hls_pat__restore_cut(struct hls_patterns *pt, int32_t week);
/* Window w's restored tests and pairs, when its weeks are all before
 * hls_pat__restored_before: true (taken: w is not computed), false. */
int hls_pat__restore_window(struct hls_patterns *pt, struct window *w, bool *taken);
void hls_pat__restore_free(struct restore *rs);

/* --- the weekly false discovery rate (patterns_fdr.c) ----------------------------------- */

int hls_pat__cutoffs_compute(struct hls_patterns *pt);

#endif
