/* The weekly false discovery rate of the pattern engine (docs/patterns.md,
 * "The signals", 1): each week's cutoff of the single-theme tests and of
 * the pair tests, by Benjamini-Hochberg. */
#include "patterns_internal.h"

#include <math.h>
#include <stdlib.h>

/* --- the weekly false discovery rate ------------------------------------------------------ */

static int float_cmp(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Benjamini-Hochberg for every week, in two families each at fdr / 2
 * (so that the published set's rate of false discoveries is at most fdr):
 * the single-theme tests (every theme's units tested that week) and the
 * pair tests (every together pair whose window counts in that week; there
 * are many more of them). A test with p-value 1 (no sign of change at
 * all: nothing new, no place beyond its baseline) is not counted. The
 * cutoff is the largest p(k) with p(k) <= k (fdr / 2) / m. */
static int bh_family(struct hls_patterns *pt, bool pairs, size_t L, double *cut) {
  /* Only p-values at most alpha can be a week's cutoff (p(k) <= k alpha / m
   * <= alpha), so only they are kept and sorted; m counts every test. */
  const double alpha = pt->prm.fdr / 2;
  size_t *count = calloc(L ? L : 1, sizeof *count), *off = malloc((L + 1) * sizeof *off), total = 0;
  size_t *tests = calloc(L ? L : 1, sizeof *tests);
  if (count == NULL || off == NULL || tests == NULL) {
    free(count), free(off), free(tests);
    return HLS_ENOMEM;
  }
  for (int pass = 0; pass < 2; pass++) {
    float *all = NULL;
    if (pass == 1) {
      off[0] = 0;
      for (size_t i = 0; i < L; i++) off[i + 1] = off[i] + count[i], count[i] = 0;
      if ((all = malloc((total ? total : 1) * sizeof *all)) == NULL) {
        free(count), free(off), free(tests);
        return HLS_ENOMEM;
      }
    }
#define TAKE(i, p)                                                       \
  do {                                                                   \
    if ((p) < 1) {                                                       \
      if (pass == 0) {                                                   \
        tests[i]++;                                                      \
        if ((double)(p) <= alpha) count[i]++, total++;                   \
      } else if ((double)(p) <= alpha)                                   \
        all[off[i] + count[i]++] = (p);                                  \
    }                                                                    \
  } while (0)
    if (!pairs) {
      for (size_t ti = 0; ti < pt->n_themes; ti++) {
        const struct theme *t = pt->themes[ti];
        if (t->pv_len != L) continue;
        for (size_t i = 0; i < L; i++)
          for (size_t u = 0; u < t->pv_units; u++) TAKE(i, t->pv[TV(t, i, u)]);
      }
    } else {
      for (struct window *w = pt->windows; w != NULL; w = w->hh.next) {
        int32_t tw = window_test_week(pt, w);
        if (tw < pt->gmin || (size_t)(tw - pt->gmin) >= L) continue;
        for (size_t k = 0; k < w->n_tests; k++) TAKE((size_t)(tw - pt->gmin), w->tests[k]);
      }
    }
#undef TAKE
    if (pass == 1) {
      for (size_t i = 0; i < L; i++) {
        size_t kept = count[i], m = tests[i];
        float *p = all + off[i];
        qsort(p, kept, sizeof *p, float_cmp);
        cut[i] = 0;
        for (size_t k = kept; k > 0; k--)
          if ((double)p[k - 1] <= (double)k * alpha / (double)m) {
            cut[i] = p[k - 1];
            break;
          }
      }
      free(all);
    }
  }
  free(count), free(off), free(tests);
  return 0;
}

/* Each week's cutoffs; marks dirty what a changed cutoff may decide
 * differently (a theme with a test between the old and the new cutoff
 * that week; the pairs' patterns, which are cheap to redo). */
int hls_pat__cutoffs_compute(struct hls_patterns *pt) {
  size_t L = pt->have_weeks ? (size_t)(pt->gmax - pt->gmin + 1) : 0;
  double *cut = malloc((L ? L : 1) * sizeof *cut), *tcut = malloc((L ? L : 1) * sizeof *tcut);
  int rc = cut == NULL || tcut == NULL ? HLS_ENOMEM : 0;
  if (rc == 0) rc = bh_family(pt, false, L, cut);
  if (rc == 0) rc = bh_family(pt, true, L, tcut);
  bool same_frame = pt->cutoff_gmin == pt->gmin && pt->n_cutoff == L;
  for (size_t i = 0; i < L && rc == 0; i++) {
    if (!same_frame || pt->tcutoff[i] != tcut[i]) pt->together_dirty = true;
    double was = same_frame ? pt->cutoff[i] : -1;
    if (was == cut[i]) continue;
    double lo = was < cut[i] ? was : cut[i], hi = was < cut[i] ? cut[i] : was;
    for (size_t ti = 0; ti < pt->n_themes && rc == 0; ti++) {
      struct theme *t = pt->themes[ti];
      if (t->dirty || t->pv_len != L) continue;
      for (size_t u = 0; u < t->pv_units; u++) {
        float p = t->pv[TV(t, i, u)];
        if (!isnan(p) && p > lo && p <= hi) {
          if (!hls_pat__mark_theme_episodes(pt, t)) rc = HLS_ENOMEM;
          break;
        }
      }
    }
  }
  if (rc != 0) {
    free(cut), free(tcut);
    return rc;
  }
  free(pt->cutoff);
  free(pt->tcutoff);
  pt->cutoff = cut;
  pt->tcutoff = tcut;
  pt->n_cutoff = L;
  pt->cutoff_gmin = pt->gmin;
  return 0;
}
