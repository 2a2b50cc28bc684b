/* spread, a signal of the pattern engine (docs/patterns.md, "spread:
 * places new to a theme, beyond its history"): its test of a week of one
 * theme. hls_pat__theme_tests counts the places at risk and taking the
 * theme up (struct tcomp's elig and adopt). */
#include "patterns_internal.h"

#include <math.h>

/* spread: places new to the theme in [i-Rs+1, i] against the rate its
 * history predicts for the places at risk. */
int hls_pat__spread_test(const struct theme_week *tw, int32_t i) {
  struct hls_patterns *pt = tw->pt;
  const struct hls_pat_params *prm = &pt->prm;
  struct theme *t = tw->t;
  struct tcomp *c = tw->c;
  int32_t lo = tw->lo, e0 = tw->e0, H = prm->spread_history_weeks, Rs = prm->spread_weeks;
  size_t n = tw->n;
  uint32_t *mem = tw->mem;
  double p = NAN, K = 0, mu = 0;
  int32_t r0 = i - Rs + 1, b0 = r0 - prm->baseline_weeks;
  if (b0 < 0) b0 = 0;
  if (b0 < e0) b0 = e0;
  size_t m = 0;
  int32_t back = Rs - 1; /* the pattern's weeks, were it to open here: from its first take-up */
  if (r0 >= 1 && r0 - b0 >= prm->min_baseline_weeks) {
    K = c->adopt[i + 1 - lo] - c->adopt[r0 - lo];
    double Er = c->elig[i + 1 - lo] - c->elig[r0 - lo], Ab = c->adopt[r0 - lo] - c->adopt[b0 - lo],
           Eb = c->elig[r0 - lo] - c->elig[b0 - lo];
    mu = (Ab + 0.5) / (Eb + 1.0) * Er;
    p = K >= prm->spread_min_places ? hls_pat__poisson_midp(K, mu) : 1.0;
    if (p <= prm->keep_p) {
      int32_t first = i;
      for (size_t s = 0; s < n; s++)
        if (c->first_report[s] >= r0 && c->first_report[s] <= i && c->first_report[s] >= c->first[s] + H) {
          mem[m++] = (uint32_t)s;
          if (c->first_report[s] < first) first = c->first_report[s];
        }
      back = i - first;
    }
  }
  size_t at = TV(t, i, U_SPREAD);
  t->pv[at] = pv_store(p), t->sc1[at] = (float)K, t->sc2[at] = (float)mu, t->back[at] = (uint8_t)back;
  return hls_pat__keep_members(pt, t, c, i, U_SPREAD, mem, m);
}
