/* emerging, a signal of the pattern engine (docs/patterns.md, "emerging:
 * a jump at some places"): its test of a week of one theme. */
#include "patterns_internal.h"

#include <math.h>

/* emerging: a scan over places of their jump over the last week and
 * over the last Re weeks (the better of the two, Bonferroni). */
int hls_pat__emerging_test(const struct theme_week *tw, int32_t i) {
  struct hls_patterns *pt = tw->pt;
  const struct hls_pat_params *prm = &pt->prm;
  struct theme *t = tw->t;
  struct tcomp *c = tw->c;
  int32_t lo = tw->lo, Re = prm->emerging_weeks;
  size_t n = tw->n, W1 = tw->W1;
  uint32_t *cand = tw->cand, *mem = tw->mem;
  double pk[2] = {1, 1};
  int32_t Rk[2] = {1, Re};
  size_t kst[2] = {0, 0}, nt[2] = {0, 0}, best = 0, m = 0;
  bool tested = false;
  for (int v = 0; v < (Re > 1 ? 2 : 1); v++) {
    double pm;
    hls_pat__priors(prm, c, i, Rk[v], &pm);
    double kp = hls_pat__kappa_pool(prm, c, W1, n, i, Rk[v], 2, &nt[v]);
    size_t mc = hls_pat__candidates(pt, t, c, i, Rk[v], cand), mz = 0;
    double rho = hls_pat__network_change(tw, i, Rk[v], pm, kp, cand, &mc, EMERGING_ZMIN);
    for (size_t k = 0; k < mc; k++) {
      uint32_t s = cand[k];
      double z, pz;
      /* only p-values at most TPM_TAU count in the scan: at or below
       * EMERGING_ZMIN a place's are above (patterns_internal.h) */
      if (hls_pat__place_z(prm, PS(0, s), QS(s), NZS(s), lo, c->first[s], i, Rk[v], 2, pm, 1, kp, rho, EMERGING_ZMIN,
                           &z, &pz, NULL) &&
          pz <= TPM_TAU)
        c->zv[mz++] = (struct zent){pz, s};
    }
    if (nt[v] == 0) continue;
    tested = true;
    pk[v] = hls_pat__scan_robust(c->zv, mz, nt[v], prm->emerging_min_places, &kst[v]);
    if (v == 0 || pk[v] < pk[best]) {
      best = (size_t)v;
      m = kst[v];
      for (size_t k = 0; k < m; k++) mem[k] = c->zv[k].slot;
    }
  }
  double p = NAN;
  if (tested) {
    p = (Re > 1 ? 2 : 1) * pk[best];
    if (p > 1) p = 1;
  }
  size_t at = TV(t, i, U_EMERGING);
  t->pv[at] = pv_store(p), t->sc1[at] = (float)kst[best], t->sc2[at] = (float)nt[best];
  t->back[at] = (uint8_t)(Rk[best] - 1);
  return hls_pat__keep_members(pt, t, c, i, U_EMERGING, mem, !isnan(p) && p <= prm->keep_p ? m : 0);
}
