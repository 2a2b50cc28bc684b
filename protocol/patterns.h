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
 *     a value in [1, t-1];
 *   - a rounded person-scale count c (base r, halves up) is in
 *     [max(t, c - floor(r/2)), c + ceil(r/2) - 1];
 *   - other scales are exact.
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

/* Every parameter of every method, with the defaults of
 * hls_pat_params_default (documented in docs/patterns.md). */
struct hls_pat_params {
  int window_weeks; /* W: fixed window of spread, together, cross-scale: 8 */
  /* spread */
  int spread_min_places; /* K: 3 */
  /* emerging: EARS C2 */
  int ears_baseline;     /* 7 weeks */
  int ears_guard;        /* 2 weeks */
  double ears_threshold; /* alarm when (x - mean) / sigma > this: 3 */
  double ears_min_sigma; /* sigma floor (and never below sqrt(mean)): 0.5 */
  int ears_min_count;    /* the week's count (lower bound) at least: 3 */
  int ears_min_places;   /* places reporting the theme that week: 2 */
  /* rising: standardised Poisson CUSUM, increments winsorised */
  int cusum_ref_weeks;     /* in-control mean and sd from up to this many weeks: 26 */
  int cusum_min_ref;       /* at least this many: 13 */
  double cusum_k;          /* reference value (sd units): 1 */
  double cusum_h;          /* decision interval (sd units): 5; sd = max(reference sd, sqrt(mean)) */
  double cusum_winsor;     /* a week's z is capped at this: 2 */
  double cusum_min_mean;   /* mean floor: 0.5 */
  int cusum_min_places;    /* distinct places in the excursion: 2 */
  /* together: places of a window reporting both themes, against a
   * degree-corrected independence model */
  int together_min_count;  /* place-weeks reporting both in the same week: 3 */
  int together_min_places; /* places reporting both in the window: 3 */
  double together_min_g2;   /* Poisson deviance G2 at least: 3.84 (p < 0.05, 1 df) */
  double together_min_npmi; /* plain normalised PMI at least: 0.4 */
  /* cross-scale */
  int cross_min_scales; /* 2 */
  int cross_min_places; /* 2 */
};
void hls_pat_params_default(struct hls_pat_params *p);
/* HLS_EINVAL (with why) when a parameter is out of its range. */
int hls_pat_params_check(const struct hls_pat_params *p, struct hls_why *why) HLS_WARN_UNUSED;

/* Absolute week number of an ISO week (HLS_EINVAL if it does not exist),
 * and back. */
int hls_patterns_week(int iso_year, int iso_week, int32_t *out) HLS_WARN_UNUSED;
void hls_patterns_iso_week(int32_t week, int *iso_year, int *iso_week);

#define HLS_PAT_ID_BYTES 8
#define HLS_PAT_NONE UINT32_MAX

/* A pattern as it holds now. Place and theme numbers are the engine's
 * (hls_patterns_place_info, hls_patterns_theme_info). */
struct hls_pattern {
  uint8_t id[HLS_PAT_ID_BYTES]; /* stable: signal, theme key(s), first week */
  int signal;
  uint32_t theme, theme2; /* theme2: together only, else HLS_PAT_NONE */
  int32_t week_from, week_to;
  double score;  /* spread: places; emerging: C2; rising: max CUSUM;
                    together: G2; cross-scale: scales */
  double score2; /* together: NPMI; emerging: the baseline mean;
                    rising: the in-control mean; else 0 */
  uint64_t lo, hi; /* the count behind it: records of the theme in its
                      weeks (together: places reporting both) */
  unsigned scales; /* bit per enum hls_scale */
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

enum hls_pat_change { HLS_PAT_NEW = 0, HLS_PAT_UPDATED = 1, HLS_PAT_RETRACTED = 2 };
const char *hls_pat_change_name(int change);

/* Called for each change; the pattern is valid during the call only. For a
 * retraction it is the pattern as it last held. Returning non-zero stops
 * the update (which is then incomplete: call again). */
typedef int (*hls_pat_change_fn)(void *ctx, int change, const struct hls_pattern *p);

/* Recompute what the facts given since the last update touched, and report
 * the differences. Returns 0, HLS_ENOMEM, or the callback's non-zero. */
int hls_patterns_update(struct hls_patterns *pt, hls_pat_change_fn fn, void *ctx) HLS_WARN_UNUSED;
/* True if facts were given since the last complete update. */
bool hls_patterns_dirty(const struct hls_patterns *pt);

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
  size_t by_signal[HLS_PAT_SIGNAL_COUNT];
};
void hls_patterns_stats(const struct hls_patterns *pt, struct hls_pat_stats *out);

#endif
