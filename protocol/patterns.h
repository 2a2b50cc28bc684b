/* Cross-place patterns (docs/patterns.md): signals computed from the
 * digests and stories a node holds, with their lineage.
 *
 * Pure code: the caller feeds facts in (hls_patterns_digest, _story,
 * _erase, _place) and calls hls_patterns_update, which recomputes only the
 * themes and windows those facts touched and reports every pattern that
 * appeared, changed or no longer holds. Time is an input (week numbers);
 * nothing here reads a clock, a file or a socket.
 *
 * Facts. A digest is one place's counts for one ISO week; a later digest of
 * the same place and week supersedes the earlier one (the higher seq wins,
 * whatever order they arrive in). Its cells are folded per theme key
 * (theme, kind) over stage and scale, as an interval [lo, hi] of the true
 * record count, because disclosure control hides some values:
 *   - a withheld cell (person scale, below the threshold t) is present with
 *     a value in [1, t-1] (hls-sdc-1) or [1, t+r-2] (hls-sdc-2);
 *   - a rounded person-scale count c (base r) is in
 *     [max(t, c - floor(r/2)), c + ceil(r/2) - 1] (hls-sdc-1, halves up) or
 *     [max(t, c - r + 1), c + r - 1] (hls-sdc-2, keyed rounding down);
 *   - other scales are exact.
 * (hls_disclosure_bounds, protocol/disclosure.h.)
 * Stories are context only (they are also counted in their place's digest):
 * they appear in lineage, never in a count.
 *
 * Weeks are absolute week numbers (hls_patterns_week): consecutive ISO weeks
 * are consecutive numbers. Fixed windows are aligned: window k covers weeks
 * [k*W, k*W + W - 1]. */
#ifndef HLS_PATTERNS_H
#define HLS_PATTERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"

enum hls_pat_signal {
  HLS_PAT_SPREAD = 0,
  HLS_PAT_EMERGING = 1,
  HLS_PAT_RISING = 2,
  HLS_PAT_TOGETHER = 3,
  HLS_PAT_CROSS_SCALE = 4,
  HLS_PAT_SIGNAL_COUNT
};
const char *hls_pat_signal_name(int signal);
int hls_pat_signal_parse(const char *name, int *signal);

/* Which signals' methods use a parameter (HLS_PAT_PARAMS' signals column). */
#define HLS_PAT_USES(signal) (1u << (signal))
#define HLS_PAT_USES_ALL ((1u << HLS_PAT_SIGNAL_COUNT) - 1)
#define HLS_PAT_USES_BASELINE (HLS_PAT_USES_ALL & ~HLS_PAT_USES(HLS_PAT_TOGETHER))
/* Reserved parameters: no method uses them (a pattern's method does not
 * list them). */
#define HLS_PAT_USES_NONE 0u
#define HLS_PAT_USES_SCAN (HLS_PAT_USES(HLS_PAT_EMERGING) | HLS_PAT_USES(HLS_PAT_CROSS_SCALE))

/* Every parameter of every method, one row each: the only place they are
 * defined (docs/patterns.md, "Methods", explains them). The rows make the
 * fields of struct hls_pat_params, hls_pat_params_default,
 * hls_pat_params_check and hls_pat_params_table here, and the [patterns]
 * options of hlsd's configuration in daemon/config.c (their defaults,
 * bounds and help, hence hlsd --help-config, hlsd.conf(5) and the file hls
 * init writes).
 *
 * Every signal is a test of change against a baseline, run for every week
 * held: a theme (a pair of themes, a theme in a region) gets a p-value each
 * week; the week's p-values of all themes and signals are held to a false
 * discovery rate with Benjamini-Hochberg; a discovery opens a pattern that
 * lasts while its evidence holds.
 *
 * X(type, name, default, min, max, min_by, max_by, signals, help):
 *   type      INT (an int field) or REAL (a double)
 *   default   a number as hlsd --help-config shows it (it is stringified)
 *   min, max  inclusive bounds
 *   min_by, max_by  an earlier parameter whose value bounds this one
 *             further (at least, at most that value), or NONE
 *   signals   HLS_PAT_USES bits: the methods that use it (patterns.show
 *             reports those with each pattern)
 *   help      what it does, for hlsd --help-config and hlsd.conf(5)
 * The bounds are the engine's: hls_patterns_new refuses anything else (a
 * test's lookback is kept in a byte, struct theme's back in patterns_internal.h:
 * the windows' maxima, 104 at most, stay well within it). */
#define HLS_PAT_PARAMS(X)                                                                                          \
  X(REAL, fdr, 0.05, 1e-9, 0.5, NONE, NONE, HLS_PAT_USES_ALL,                                                      \
    "The false discovery rate of each week's tests (Benjamini-Hochberg over every theme and signal): "             \
    "about this share of the patterns a week opens are chance. Lower: fewer, stronger patterns.")                  \
  X(REAL, keep_p, 0.05, 1e-9, 0.5, fdr, NONE, HLS_PAT_USES_ALL,                                                    \
    "A pattern holds while its own test's p-value is at most this (at least patterns.fdr).")                       \
  X(INT, end_weeks, 3, 1, 52, NONE, NONE, HLS_PAT_USES_ALL,                                                        \
    "A pattern ends after this many weeks in a row without evidence.")                                             \
  X(INT, baseline_weeks, 26, 4, 260, NONE, NONE, HLS_PAT_USES_BASELINE,                                            \
    "A place's (a region's) usual level is taken from this many weeks before the weeks tested.")                   \
  X(INT, min_baseline_weeks, 8, 2, 260, NONE, baseline_weeks, HLS_PAT_USES_BASELINE,                               \
    "A place with fewer weeks of digests than this before the weeks tested is not tested (at most "                \
    "patterns.baseline_weeks).")                                                                                   \
  X(INT, reference_weeks, 52, 8, 520, NONE, NONE, HLS_PAT_USES_NONE,                                          \
    "Reserved: no method uses it now (its tests need no calibration against their own past values); "              \
    "kept so that configuration files stay valid.")                                                                \
  X(INT, min_reference, 13, 4, 520, NONE, reference_weeks, HLS_PAT_USES_NONE,                                 \
    "Reserved, as patterns.reference_weeks (at most patterns.reference_weeks).")                                   \
  X(INT, max_scan_places, 64, 1, 4096, NONE, NONE, HLS_PAT_USES_SCAN,                                              \
    "Bounds patterns.emerging_min_places and patterns.cross_min_places.")                                          \
  X(INT, spread_weeks, 4, 1, 52, NONE, NONE, HLS_PAT_USES(HLS_PAT_SPREAD),                                         \
    "spread: places new to a theme are counted over the last this many weeks.")                                    \
  X(INT, spread_history_weeks, 13, 1, 260, NONE, NONE, HLS_PAT_USES(HLS_PAT_SPREAD),                               \
    "spread: a place is new to a theme after this many weeks of digests without it.")                              \
  X(INT, spread_min_places, 3, 1, 1000000, NONE, NONE, HLS_PAT_USES(HLS_PAT_SPREAD),                               \
    "spread: at least this many new places.")                                                                      \
  X(INT, emerging_weeks, 3, 1, 26, NONE, NONE, HLS_PAT_USES(HLS_PAT_EMERGING),                                     \
    "emerging: a jump is tested over the last week and over the last this many weeks.")                            \
  X(INT, emerging_min_places, 2, 1, 4096, NONE, max_scan_places, HLS_PAT_USES(HLS_PAT_EMERGING),                   \
    "emerging: the jump is at this many places at least (at most patterns.max_scan_places).")                      \
  X(INT, rising_weeks, 8, 2, 104, NONE, NONE, HLS_PAT_USES(HLS_PAT_RISING),                                        \
    "rising: a region's share of a theme over the last this many weeks.")                                          \
  X(INT, rising_min_places, 3, 1, 1000000, NONE, NONE, HLS_PAT_USES(HLS_PAT_RISING),                               \
    "rising: places of the region reporting the theme, at least.")                                                 \
  X(INT, together_weeks, 8, 1, 104, NONE, NONE, HLS_PAT_USES(HLS_PAT_TOGETHER),                                    \
    "together: two themes are tested in fixed windows of this many weeks (aligned on every node).")                \
  X(INT, together_min_count, 3, 1, 1000000000, NONE, NONE, HLS_PAT_USES(HLS_PAT_TOGETHER),                         \
    "together: place-weeks reporting both themes, at least.")                                                      \
  X(INT, together_min_places, 3, 1, 1000000, NONE, NONE, HLS_PAT_USES(HLS_PAT_TOGETHER),                           \
    "together: distinct places among those place-weeks, at least.")                                                \
  X(INT, cross_weeks, 4, 1, 52, NONE, NONE, HLS_PAT_USES(HLS_PAT_CROSS_SCALE),                                     \
    "cross-scale: the last this many weeks are tested.")                                                           \
  X(INT, cross_min_scales, 2, 2, HLS_SCALE_COUNT, NONE, NONE, HLS_PAT_USES(HLS_PAT_CROSS_SCALE),                   \
    "cross-scale: scales beyond the place's baseline at once, at least.")                                          \
  X(INT, cross_min_places, 2, 1, 4096, NONE, max_scan_places, HLS_PAT_USES(HLS_PAT_CROSS_SCALE),                   \
    "cross-scale: places in the scan, at least (at most patterns.max_scan_places).")

#define HLS_PAT_CTYPE_INT int
#define HLS_PAT_CTYPE_REAL double

struct hls_pat_params {
#define HLS_PAT_FIELD_(type, name, ...) HLS_PAT_CTYPE_##type name;
  HLS_PAT_PARAMS(HLS_PAT_FIELD_)
#undef HLS_PAT_FIELD_
};

/* A parameter's row number in hls_pat_params_table: HLS_PAT_IX_fdr, ... */
enum hls_pat_param_ix {
  HLS_PAT_IX_NONE = -1,
#define HLS_PAT_IX_(type, name, ...) HLS_PAT_IX_##name,
  HLS_PAT_PARAMS(HLS_PAT_IX_)
#undef HLS_PAT_IX_
  HLS_PAT_PARAM_COUNT
};

enum hls_pat_param_type { HLS_PAT_PARAM_INT, HLS_PAT_PARAM_REAL };

/* HLS_PAT_PARAMS as data, for code that goes through every parameter. */
struct hls_pat_param {
  const char *name;
  enum hls_pat_param_type type;
  size_t offset;          /* of the field in struct hls_pat_params */
  double def, min, max;   /* min, max: inclusive */
  int min_by, max_by;     /* enum hls_pat_param_ix of an earlier parameter bounding it, or HLS_PAT_IX_NONE */
  unsigned signals;       /* HLS_PAT_USES bits */
  const char *help;
};
/* The rows in struct order; *count gets HLS_PAT_PARAM_COUNT. */
const struct hls_pat_param *hls_pat_params_table(size_t *count);
/* The field of row ix (< HLS_PAT_PARAM_COUNT) of p, as a double; set it
 * (an INT field takes v converted to int). */
double hls_pat_param_get(const struct hls_pat_params *p, int ix);
void hls_pat_param_set(struct hls_pat_params *p, int ix, double v);

void hls_pat_params_default(struct hls_pat_params *p);
/* HLS_EINVAL (with why) when a parameter is out of its range. */
int hls_pat_params_check(const struct hls_pat_params *p, struct hls_why *why) HLS_WARN_UNUSED;

/* Absolute week number of an ISO week (HLS_EINVAL if it does not exist),
 * and back. */
int hls_patterns_week(int iso_year, int iso_week, int32_t *out) HLS_WARN_UNUSED;
void hls_patterns_iso_week(int32_t week, int *iso_year, int *iso_week);

#define HLS_PAT_ID_BYTES 8
#define HLS_PAT_NONE UINT32_MAX

/* A pattern: one episode of one signal, from the week its test was first
 * a discovery to the last week its evidence held. Place and theme numbers
 * are the engine's (hls_patterns_place_info, hls_patterns_theme_info). */
struct hls_pattern {
  uint8_t id[HLS_PAT_ID_BYTES]; /* stable while it lasts: signal, theme(s), region, first week */
  int signal;
  uint32_t theme, theme2; /* theme2: together only, else HLS_PAT_NONE */
  const char *region;     /* rising: the region (owned by the engine), else "" */
  int32_t week_from, week_to;
  bool live;              /* its evidence still held at the latest week held */
  double p;               /* the smallest p-value of its test over its weeks */
  double strength;        /* -log10(p): 2 is p = 0.01 */
  double p_now;           /* the test's p-value at week_to (live: the latest week) */
  double score;  /* the test statistic at its strongest week: spread: new places
                    (score2: expected); emerging, cross-scale: scan z (score2:
                    its null mean); rising: z of the region's share (score2: the
                    baseline share); together: place-weeks with both (score2:
                    expected) */
  double score2;
  uint64_t lo, hi;   /* records of its theme(s) at its places in its weeks: the
                        interval the published cells allow */
  double expected;   /* the same, each withheld or rounded cell taken at the
                        middle of its interval */
  double withheld;   /* the part of expected that rests on withheld cells */
  unsigned scales;   /* bit per enum hls_scale */
  size_t n_places;
  uint32_t *places;  /* sorted, owned by the engine */
  size_t n_stories;  /* stories in its lineage */
};

struct hls_patterns;

int hls_patterns_new(struct hls_patterns **out, const struct hls_pat_params *params, struct hls_why *why)
    HLS_WARN_UNUSED;
void hls_patterns_free(struct hls_patterns *pt);

/* Name or rename a place (from its profile); a place is known by its
 * origin. A rename marks the themes and windows of the place's digests and
 * stories for recomputation (patterns name their places). */
int hls_patterns_place(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], const char *name,
                       const char *region) HLS_WARN_UNUSED;

/* Digests may span at most this many weeks, first to last (20 years). */
#define HLS_PAT_MAX_SPAN_WEEKS 1040

/* A held digest of origin at seq. A digest older than the one held for its
 * week, or than one erased, changes nothing. HLS_ENOMEM; HLS_ELIMIT if its
 * week would stretch the weeks held beyond HLS_PAT_MAX_SPAN_WEEKS (the
 * digest is left out); HLS_EINVAL for a week that does not exist or a
 * kind out of range. */
int hls_patterns_digest(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq,
                        const struct hls_digest *d) HLS_WARN_UNUSED;
/* A held story (context for lineage). */
int hls_patterns_story(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq,
                       const struct hls_story *s) HLS_WARN_UNUSED;
/* Item origin:seq was erased (a tombstone): a digest's counts leave its
 * week (an older version does not come back), a story leaves lineage.
 * Unknown items are ignored. */
int hls_patterns_erase(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq) HLS_WARN_UNUSED;

/* What changed. A feed event for every change but HLS_PAT_UPDATED (its
 * weeks, counts or names moved, nothing a reader acts on). When several
 * apply, the first of: new, retracted, ended, joined, left, grew, shrank. */
enum hls_pat_change {
  HLS_PAT_NEW = 0,       /* an id not held, or one that had ended and holds again */
  HLS_PAT_UPDATED = 1,   /* quiet: weeks, counts, names, stories */
  HLS_PAT_RETRACTED = 2, /* the data no longer show it (erased or corrected digests) */
  HLS_PAT_ENDED = 3,     /* its evidence stopped holding */
  HLS_PAT_JOINED = 4,    /* places joined it */
  HLS_PAT_LEFT = 5,      /* places left it (corrected data) */
  HLS_PAT_GREW = 6,      /* its strength rose by a whole step (a factor 10 in p) */
  HLS_PAT_SHRANK = 7,    /* its strength fell by a whole step (corrected data) */
  HLS_PAT_CHANGE_COUNT
};
const char *hls_pat_change_name(int change);
int hls_pat_change_parse(const char *name, int *change);

/* Called for each change; the pattern is valid during the call only. For a
 * retraction it is the pattern as it last held. Returning non-zero stops
 * the update (which is then incomplete: call again). */
typedef int (*hls_pat_change_fn)(void *ctx, int change, const struct hls_pattern *p);

/* Recompute what the facts given since the last update touched, and report
 * the differences. Returns 0, HLS_ENOMEM, HLS_ECLOSED (stopped:
 * hls_patterns_set_stop), or the callback's non-zero. */
int hls_patterns_update(struct hls_patterns *pt, hls_pat_change_fn fn, void *ctx) HLS_WARN_UNUSED;
/* Give back the room kept for growth (a bucket of a theme's week grows by
 * doubling): after a bulk load, about a fifth of the cells' memory. */
void hls_patterns_compact(struct hls_patterns *pt);
/* A check hls_patterns_update makes between one theme's (one window's)
 * computation and the next: when stop(ctx) returns true, the update ends
 * with HLS_ECLOSED and what it did not reach stays for the next call. For
 * a host that computes on a worker thread and must be able to stop it.
 * stop NULL: never (the default). */
void hls_patterns_set_stop(struct hls_patterns *pt, bool (*stop)(void *ctx), void *ctx);
/* The most threads hls_patterns_set_threads takes. */
#define HLS_PAT_MAX_THREADS 16
/* Compute the themes' tests of an update on up to this many threads (1,
 * the default: the calling thread alone; clamped to 1..HLS_PAT_MAX_THREADS),
 * as SQLite's PRAGMA threads lets a sort use helper threads. The helpers
 * live only during hls_patterns_update; a theme's tests read only its own
 * cells, so the results are the same on any number of threads. The stop
 * callback is still called on the calling thread only. */
void hls_patterns_set_threads(struct hls_patterns *pt, int threads);
/* True if facts were given since the last complete update. */
bool hls_patterns_dirty(const struct hls_patterns *pt);
/* Freeze the weeks before week: their tests become final and the engine
 * gives up what no later test or pattern reads of them (docs/patterns.md,
 * "Memory: frozen weeks"): the cells of weeks more than the tests' reach
 * before week (but those of the places of patterns, and those patterns
 * that may still go on read), their digests' entries, the pairs of
 * windows no later window reads. The patterns, and what later updates
 * compute, are those of an engine that froze nothing. From then on a
 * fact that would change a frozen week's tests is refused with
 * HLS_ESTATE, changing nothing: a digest of a frozen week or its
 * erasure, a place whose history would start before any other place's, a
 * new region, a place moving region; the host builds the engine again
 * from the facts it holds. Stories of any week, renames and later weeks'
 * facts are taken as before. Call on an engine with nothing pending
 * (after hls_patterns_update; else HLS_ESTATE); a week at or before the
 * one frozen already changes nothing, and one after the latest week held
 * freezes the weeks held. 0, HLS_ENOMEM (the engine is as
 * consistent as before: call again), HLS_ESTATE. */
int hls_patterns_freeze(struct hls_patterns *pt, int32_t week) HLS_WARN_UNUSED;
/* Frozen weeks kept across restarts (docs/patterns.md, "Frozen weeks
 * kept across restarts"). hls_patterns_save writes the tests of the weeks
 * frozen (and of the windows all of whose weeks are), with what they were
 * computed from, as bytes for the host to keep (*out is the caller's to
 * free): 0, HLS_ENOMEM, or HLS_ESTATE (nothing frozen, or an update
 * pending).
 *
 * hls_patterns_restore gives them to an engine given nothing yet, which
 * then numbers the places, themes and regions as the saved engine did
 * (places and themes met since come after). HLS_EINVAL (why says) for
 * bytes that are not a whole, consistent copy; HLS_ESTATE for a copy of
 * another engine (a build whose pattern engine differs: HLS_PAT_ENGINE_ID)
 * or other parameters, or an engine already given facts;
 * HLS_ENOMEM. After HLS_EINVAL or HLS_ENOMEM the engine may hold some of
 * the copy's places, themes and regions: free it and make another.
 *
 * The host then gives the facts in week order, and before each update
 * calls hls_patterns_restore_check with the first week it has not given
 * all the facts of (INT32_MAX: all given): the saved tests of each week
 * before it whose facts are those the copy was made from (every digest's
 * place, seq and cells, each place's first week and region) are taken
 * instead of computed, up to the first week that differs; from there on
 * they are computed. A fact of a week already checked undoes that from
 * its week (its tests are computed again). The result is the same, to
 * the bit, as an engine given the same facts without a copy that numbers
 * places and themes as the copy does (some sums run in place order). 0
 * or HLS_ENOMEM. hls_patterns_restore_end drops what is left of the copy
 * (call it once the load is done) and returns the week before which saved
 * tests were taken (INT32_MIN: none). */
int hls_patterns_save(const struct hls_patterns *pt, uint8_t **out, size_t *len) HLS_WARN_UNUSED;
int hls_patterns_restore(struct hls_patterns *pt, const void *buf, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
int hls_patterns_restore_check(struct hls_patterns *pt, int32_t week) HLS_WARN_UNUSED;
int32_t hls_patterns_restore_end(struct hls_patterns *pt);
/* A hash of every test's result held (each theme's p-values, statistics
 * and places week by week, each window's pairs, the weekly cutoffs), by
 * theme keys and place origins: two engines given the same facts have
 * the same, however they were updated or frozen. For tests. */
int hls_patterns_tests_hash(const struct hls_patterns *pt, uint8_t out[32]) HLS_WARN_UNUSED;
/* The week hls_patterns_freeze froze the weeks before, INT32_MIN if none. */
int32_t hls_patterns_frozen_before(const struct hls_patterns *pt);
/* The first week of the facts given, INT32_MIN if none. */
int32_t hls_patterns_first_week(const struct hls_patterns *pt);
/* How much of a computation from scratch the next hls_patterns_update
 * would do, 0 to 1: an estimate by the weeks of the single-theme tests it
 * reads (pairs of themes not counted). A new place's first digest, or
 * one far back, makes every theme's tests from that week on computed
 * again; a host that must not block for long can build the engine again
 * elsewhere instead. */
double hls_patterns_pending_share(const struct hls_patterns *pt);

/* Every pattern now holding, in id order. */
typedef int (*hls_pat_each_fn)(void *ctx, const struct hls_pattern *p);
int hls_patterns_each(const struct hls_patterns *pt, hls_pat_each_fn fn, void *ctx);
const struct hls_pattern *hls_patterns_find(const struct hls_patterns *pt, const uint8_t id[HLS_PAT_ID_BYTES]);

struct hls_pat_place_info {
  const uint8_t *origin;
  const char *name;   /* "" if no profile yet */
  const char *region; /* "" if no profile yet */
};
int hls_patterns_place_info(const struct hls_patterns *pt, uint32_t place, struct hls_pat_place_info *out);
int hls_patterns_theme_info(const struct hls_patterns *pt, uint32_t theme, const char **name, int *kind);
/* How many places reported theme in the digests held, and the latest week
 * one did (INT32_MIN: none any more). */
int hls_patterns_theme_usage(struct hls_patterns *pt, uint32_t theme, uint32_t *places, int32_t *last_week);

/* Lineage of a pattern: the digest cells behind it, one per place and
 * week (the digest's seq; the count interval; whether any part of it was
 * withheld; its scales), then the stories of its theme(s) from its places
 * in its weeks. */
struct hls_pat_cell_ref {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  uint32_t theme;
  uint32_t lo, hi;
  bool withheld;
  unsigned scales;
};
struct hls_pat_story_ref {
  uint32_t place;
  int32_t week;
  uint64_t seq;
  const char *title;
};
typedef int (*hls_pat_cell_fn)(void *ctx, const struct hls_pat_cell_ref *c);
typedef int (*hls_pat_story_fn)(void *ctx, const struct hls_pat_story_ref *s);
int hls_patterns_lineage(const struct hls_patterns *pt, const struct hls_pattern *p, hls_pat_cell_fn cell,
                         hls_pat_story_fn story, void *ctx);

struct hls_pat_stats {
  size_t places, themes, digests, stories, patterns;
  size_t cells;          /* (place, week, theme) cells held in memory */
  int32_t frozen_before; /* hls_patterns_frozen_before */
  /* Tests taken from a saved copy (hls_patterns_restore) instead of
   * computed, since the engine was made: a theme's week (each time it is
   * taken), a window. */
  size_t weeks_taken, windows_taken;
  size_t by_signal[HLS_PAT_SIGNAL_COUNT];
};
void hls_patterns_stats(const struct hls_patterns *pt, struct hls_pat_stats *out);

#endif
