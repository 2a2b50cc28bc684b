/* rising, a signal of the pattern engine (docs/patterns.md, "rising: a
 * region's share growing"): its test of a week of one theme, in every
 * region. */
#include "patterns_internal.h"

#include <math.h>
#include <string.h>

/* Rising's test: a region's count in the window (Sr) and its baseline (Sb)
 * against the rest's (So, Sob), given their sums: Fisher's exact test, in
 * units of one cell (cr), whole, the window's part rounded down. *z: its
 * standardised excess. 1 when there is no excess of at least 5 cells;
 * NAN when it cannot be tested. */
static double rising_p(double Sr, double Sb, double So, double Sob, double cr, double *z) {
  if (!(So > 0 && Sob > 0 && Sr + Sb > 0)) return NAN;
  double a = floor(Sr / cr), b = floor(Sb / cr + 0.5), cc = floor(So / cr + 0.5), d = floor(Sob / cr + 0.5);
  double e = (a + b) * (a + cc) / (a + b + cc + d);
  *z = e > 0 ? (a - e) / sqrt(e) : 0;
  return a > e && a >= 5 ? hls_pat__fisher_sf(a, b, cc, d) : 1.0;
}

/* rising: each region's share of the theme over the last Rr weeks
 * against its share in the baseline before, z standardised by its own
 * past values. */
int hls_pat__rising_test(const struct theme_week *tw, int32_t i) {
  struct hls_patterns *pt = tw->pt;
  const struct hls_pat_params *prm = &pt->prm;
  struct theme *t = tw->t;
  struct tcomp *c = tw->c;
  int32_t lo = tw->lo, Rr = prm->rising_weeks;
  size_t n = tw->n, W1 = tw->W1, R_n = pt->n_regions;
  uint32_t *mem = tw->mem;
  int rc = 0;
  int32_t r0 = i - Rr + 1, be = r0 - rising_gap(prm), b0 = be - prm->baseline_weeks;
  if (b0 < 0) b0 = 0;
  bool testable = be >= 1 && be - b0 >= prm->min_baseline_weeks;
  double nat = 0, natb = 0, cr = 1;
  memset(c->rplaces, 0, R_n * sizeof *c->rplaces);
  for (size_t r = 0; r < R_n; r++) c->rtop_w[r] = -1, c->rtop_b[r] = 0;
  if (testable) {
    nat = c->NP[i + 1 - lo] - c->NP[r0 - lo];
    natb = c->NP[be - lo] - c->NP[b0 - lo];
    /* one cell's size (cr): the places' variance over their mean in the
     * baseline, pooled (quasi-Poisson; at least 1) */
    double vsum = 0, msum = 0;
    for (size_t s = 0; s < n; s++) {
      const double *P0 = PS(0, s), *Q0 = QS(s);
      int32_t f = c->first[s] < lo ? lo : c->first[s], sb0 = b0 < f ? f : b0, nw = be - sb0;
      double Ss = nw >= 2 ? P0[be - lo] - P0[sb0 - lo] : 0;
      if (Ss > 0) {
        vsum += (Q0[be - lo] - Q0[sb0 - lo] - Ss * Ss / nw) * nw / (nw - 1);
        msum += Ss;
      }
      uint32_t r = c->region[s];
      if (r == 0 || NZS(s)[i + 1 - lo] - NZS(s)[r0 - lo] <= 0) continue;
      c->rplaces[r]++;
      double wsum = P0[i + 1 - lo] - P0[r0 - lo];
      if (wsum > c->rtop_w[r]) c->rtop_w[r] = wsum, c->rtop_b[r] = P0[be - lo] - P0[b0 - lo];
    }
    cr = msum > 0 && vsum / msum > 1 ? vsum / msum : 1;
  }
  for (size_t r = 1; r < R_n && rc == 0; r++) {
    const double *RP = c->RP + r * W1;
    double z = NAN, p = NAN, pi0 = 0;
    if (testable && nat > 0 && natb > 0 && c->rplaces[r] >= (uint32_t)prm->rising_min_places) {
      /* Given the region's count over the baseline and the window,
       * the window's part of it against the rest's: exact
       * (conditional binomial), in units of one cell (cr). */
      double Sr = RP[i + 1 - lo] - RP[r0 - lo], Sb = RP[be - lo] - RP[b0 - lo];
      double So = nat - Sr, Sob = natb - Sb;
      p = rising_p(Sr, Sb, So, Sob, cr, &z);
      if (!isnan(p)) pi0 = (Sb + 0.5) / (natb + 1.0);
      /* and without its busiest place in the window (no one place
       * makes a pattern, see hls_pat__scan_robust) */
      if (!isnan(p) && p < 1) {
        double z_rest = 0;
        p = hls_pat__p_robust(p, rising_p(Sr - c->rtop_w[r], Sb - c->rtop_b[r], So, Sob, cr, &z_rest));
      }
    }
    size_t m = 0;
    if (!isnan(p) && p <= prm->keep_p)
      for (size_t s = 0; s < n; s++)
        if (c->region[s] == r && NZS(s)[i + 1 - lo] - NZS(s)[r0 - lo] > 0) mem[m++] = (uint32_t)s;
    size_t at = TV(t, i, U_RISING + r);
    t->pv[at] = pv_store(p), t->sc1[at] = (float)z, t->sc2[at] = (float)pi0, t->back[at] = (uint8_t)(Rr - 1);
    rc = hls_pat__keep_members(pt, t, c, i, U_RISING + r, mem, m);
  }
  return rc;
}
