/* cross-scale, a signal of the pattern engine (docs/patterns.md,
 * "cross-scale: beyond the baseline at several scales in the same
 * places"): its test of a week of one theme. */
#include "patterns_internal.h"

#include <math.h>
#include <stdlib.h>

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* At or below these deviances (z) a scale's p-value is at least 0.14
 * (one scale) and 0.27 (two): patterns_internal.h. */
static const double CROSS_ZMIN[3] = {0, CROSS_ZMIN_ONE, CROSS_ZMIN_TWO};

/* cross-scale: a scan over places of the chance that cross_min_scales
 * of its scales are as far beyond their baselines as they are, over
 * the last Rc weeks. */
int hls_pat__cross_test(const struct theme_week *tw, int32_t i) {
  struct hls_patterns *pt = tw->pt;
  const struct hls_pat_params *prm = &pt->prm;
  struct theme *t = tw->t;
  struct tcomp *c = tw->c;
  int32_t lo = tw->lo, Rc = prm->cross_weeks;
  size_t n = tw->n, W1 = tw->W1;
  uint32_t *cand = tw->cand, *mem = tw->mem;
  double pm;
  hls_pat__priors(prm, c, i, Rc, &pm);
  size_t ntc = 0;
  for (size_t s = 0; s < n; s++) ntc += hls_pat__place_testable(prm, c, s, i, Rc, 2);
  size_t mc = hls_pat__candidates(pt, t, c, i, Rc, cand), mz = 0;
  double rho = hls_pat__network_change(tw, i, Rc, pm, -1, cand, &mc, -INFINITY);
  /* A place enters the truncated product only if its combined p is at
   * most TPM_TAU, which needs its m-th smallest scale p-value at most
   * TPM_TAU^(1/m) (the combined p is at least that to the m-th power):
   * for m = 1 (0.05) and m = 2 (0.224), scales whose deviance is
   * below CROSS_ZMIN[m] (p-values at least 0.14 and 0.27) need no
   * exact test; for more scales every one does. */
  double zmin_scale = prm->cross_min_scales <= 2 ? CROSS_ZMIN[prm->cross_min_scales] : 0;
  for (size_t k = 0; k < mc; k++) {
    uint32_t s = cand[k];
    int32_t first = c->first[s];
    double phi0;
    if (!hls_pat__place_z(prm, PS(0, s), QS(s), NZS(s), lo, first, i, Rc, 2, pm, 1, -1, 1, 0, NULL, NULL, &phi0))
      continue;
    double ps[HLS_SCALE_COUNT];
    int nps = 0, over = 0;
    /* First the scales' deviances alone: a scale at most zmin_scale has
     * p 1, so unless cross_min_scales of them are over it the place's
     * combined p is 1 and no exact test is needed. A scale's own variance
     * is not kept: its mean times the size of one cell of the theme
     * (compound Poisson). Every scale is tested where the total is (the
     * same weeks, without the total's least weeks with a value), and a
     * scale with no records in the window is not over its baseline (its
     * count 0 is at most its expected count, its z at most 0). */
    for (int sc = 0; sc < HLS_SCALE_COUNT; sc++) {
      const double *Ps = PS(1 + sc, s);
      double z;
      if (Ps[i + 1 - lo] - Ps[i + 1 - Rc - lo] > 0 &&
          hls_pat__place_z(prm, Ps, NULL, NULL, lo, first, i, Rc, 0, pm / HLS_SCALE_COUNT, phi0, -1, rho, zmin_scale,
                           &z, NULL, NULL) &&
          z > zmin_scale)
        over++;
    }
    if (over < prm->cross_min_scales) continue;
    for (int sc = 0; sc < HLS_SCALE_COUNT; sc++) {
      double z, pz;
      if (hls_pat__place_z(prm, PS(1 + sc, s), NULL, NULL, lo, first, i, Rc, 0, pm / HLS_SCALE_COUNT, phi0, -1, rho,
                           zmin_scale, &z, &pz, NULL))
        ps[nps++] = pz;
    }
    qsort(ps, (size_t)nps, sizeof *ps, dbl_cmp);
    /* P(at least m of the nps scales at most ps[m-1]) */
    double x = ps[prm->cross_min_scales - 1];
    if (x >= 1) continue;
    double below = 0, term = pow(1 - x, nps); /* P(Bin(nps, x) < m) */
    for (int j = 0; j < prm->cross_min_scales; j++) {
      below += term;
      term = term * (nps - j) / (j + 1) * x / (1 - x);
    }
    double pp = 1 - below;
    if (pp < x * x * 1e-3) pp = x * x * 1e-3; /* rounding: it cannot be that small */
    c->zv[mz++] = (struct zent){pp, s};
  }
  size_t kst = 0;
  double p = ntc > 0 ? hls_pat__scan_robust(c->zv, mz, ntc, prm->cross_min_places, &kst) : NAN;
  size_t at = TV(t, i, U_CROSS);
  t->pv[at] = pv_store(p), t->sc1[at] = (float)kst, t->sc2[at] = (float)ntc, t->back[at] = (uint8_t)(Rc - 1);
  for (size_t k = 0; k < kst; k++) mem[k] = c->zv[k].slot;
  return hls_pat__keep_members(pt, t, c, i, U_CROSS, mem, !isnan(p) && p <= prm->keep_p ? kst : 0);
}
