/* The pattern engine's statistics (docs/patterns.md, "The signals"):
 * the tails of the Poisson, binomial and hypergeometric distributions and
 * their mid-p values; a place's test against its own baseline; the
 * truncated product that combines places; and the rule that no one place
 * makes a pattern. None of them reads or keeps the engine's state. */
#include "patterns_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- statistics ------------------------------------------------------------------------- */

/* lgamma without its global sign (signgam), which two threads computing
 * themes at once would both write (hls_patterns_set_threads). */
static inline double lgam(double x) {
  int sign;
  return lgamma_r(x, &sign);
}

/* The regularised lower incomplete gamma function P(a, x) (series below
 * a + 1, continued fraction above: Numerical Recipes 6.2). */
static double gamma_p(double a, double x) {
  if (x <= 0) return 0;
  double lg = a * log(x) - x - lgam(a);
  if (x < a + 1) {
    double ap = a, sum = 1 / a, del = sum;
    for (int n = 0; n < 10000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (fabs(del) < fabs(sum) * 1e-15) break;
    }
    double r = sum * exp(lg);
    return r > 1 ? 1 : r;
  }
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (int i = 1; i < 10000; i++) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (fabs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1) < 1e-15) break;
  }
  double q = exp(lg) * h;
  return q >= 1 ? 0 : 1 - q;
}

/* P(X >= k) for X ~ Poisson(mu). */
static double poisson_sf(double k, double mu) {
  if (k <= 0) return 1;
  if (mu <= 0) return 0;
  return gamma_p(k, mu);
}

/* The continued fraction of the incomplete beta function (Numerical
 * Recipes 6.4). */
static double beta_cf(double a, double b, double x) {
  double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
  if (fabs(d) < 1e-300) d = 1e-300;
  d = 1 / d;
  double h = d;
  for (int m = 1; m < 10000; m++) {
    double m2 = 2.0 * m, aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (fabs(d) < 1e-300) d = 1e-300;
    c = 1 + aa / c;
    if (fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (fabs(d) < 1e-300) d = 1e-300;
    c = 1 + aa / c;
    if (fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1) < 1e-15) break;
  }
  return h;
}

/* The regularised incomplete beta function I_x(a, b), 0 < x < 1, given
 * lbt = ln(x^a (1 - x)^b / B(a, b)). */
static double ibeta_lbt(double a, double b, double x, double lbt) {
  if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
  return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

/* Mid-p values: the chance of data beyond the observed, and half the
 * chance of the observed (Lancaster 1961). A discrete test's plain
 * p-value P(X >= x) is conservative, the more so the smaller the counts;
 * its mid-p is close to uniform when nothing changed, which the
 * truncated product and the FDR assume. */
double hls_pat__poisson_midp(double k, double mu) {
  if (k <= 0) return 1;
  if (mu <= 0) return 0;
  double pmf = exp(k * log(mu) - mu - lgam(k + 1));
  double r = poisson_sf(k, mu) - 0.5 * pmf;
  return r < 0 ? 0 : r;
}

/* Fisher's exact test, one-sided: the chance of a first cell at least a
 * in a 2x2 table [[a, b], [c, d]] with its margins (hypergeometric). The
 * term at a by lgamma, each next one from the one before by their ratio. */
double hls_pat__fisher_sf(double a, double b, double c, double d) {
  double r1 = a + b, c1 = a + c, n = a + b + c + d;
  double kmax = r1 < c1 ? r1 : c1;
  double base = lgam(r1 + 1) + lgam(n - r1 + 1) + lgam(c1 + 1) + lgam(n - c1 + 1) - lgam(n + 1);
  double term = exp(base - lgam(a + 1) - lgam(r1 - a + 1) - lgam(c1 - a + 1) - lgam(d + 1)), total = 0;
  for (double k = a; k <= kmax; k += 1) {
    total += k == a ? 0.5 * term : term; /* mid-p */
    if (term < total * 1e-12) break;
    term *= (r1 - k) * (c1 - k) / ((k + 1) * (d - a + k + 1));
  }
  return total > 1 ? 1 : total;
}

/* P(Z > z) for a standard normal Z. */
double hls_pat__normal_sf(double z) { return 0.5 * erfc(z / M_SQRT2); }

/* The mid-p upper tail of a sum of independent hypergeometric counts (the
 * Mantel-Haenszel statistic of n 2x2 tables with their margins): stratum
 * k has w[k] weeks, a[k] of them reporting one theme and b[k] the other,
 * and the count of weeks reporting both is Hypergeometric(w, a, b). P(S >
 * o) + P(S = o)/2, exact by convolution while the sum's support is at most
 * MH_EXACT_SUPPORT values, else from the normal law of the same mean and
 * variance (by then the sum of many small tables). Tables with no freedom
 * (a or b 0 or w) add a constant. */
double hls_pat__mh_midp(const uint32_t *w, const uint32_t *a, const uint32_t *b, size_t n, double o) {
  double mean = 0, var = 0, fixed = 0;
  size_t support = 1;
  for (size_t k = 0; k < n; k++) {
    double W = w[k], A = a[k], B = b[k];
    uint32_t lo = a[k] + b[k] > w[k] ? a[k] + b[k] - w[k] : 0, hi = a[k] < b[k] ? a[k] : b[k];
    if (lo == hi) {
      fixed += lo;
      continue;
    }
    mean += A * B / W;
    var += A * B * (W - A) * (W - B) / (W * W * (W - 1));
    support += hi - lo;
  }
  if (var <= 0) return o > fixed ? 0 : o == fixed ? 0.5 : 1;
  mean += fixed;
  if (support > MH_EXACT_SUPPORT) return hls_pat__normal_sf((o - mean) / sqrt(var));
  /* log k! for k up to the widest table's weeks */
  uint32_t wmax = 0;
  for (size_t k = 0; k < n; k++)
    if (w[k] > wmax) wmax = w[k];
  double lf_small[257], *lf = wmax < 257 ? lf_small : malloc(((size_t)wmax + 1) * sizeof *lf);
  /* dist[j]: P(S = base + j), base the sum of the tables' least counts */
  double *dist = calloc(support, sizeof *dist), *next = calloc(support, sizeof *next);
  if (dist == NULL || next == NULL || lf == NULL) {
    free(dist), free(next);
    if (lf != lf_small) free(lf);
    return hls_pat__normal_sf((o - mean) / sqrt(var));
  }
  lf[0] = 0;
  for (uint32_t k = 1; k <= wmax; k++) lf[k] = lf[k - 1] + log((double)k);
  double base = fixed;
  size_t width = 1;
  dist[0] = 1;
  for (size_t k = 0; k < n; k++) {
    uint32_t lo = a[k] + b[k] > w[k] ? a[k] + b[k] - w[k] : 0, hi = a[k] < b[k] ? a[k] : b[k];
    if (lo == hi) continue;
    uint32_t W = w[k], A = a[k], B = b[k];
    size_t m = hi - lo + 1;
    memset(next, 0, (width + m - 1) * sizeof *next);
    /* the pmf at lo, then by the ratio of successive terms */
    double pmf = exp(lf[A] + lf[W - A] + lf[B] + lf[W - B] - lf[W] - lf[lo] - lf[A - lo] - lf[B - lo] -
                     lf[W - A - B + lo]);
    for (size_t c = 0; c < m; c++) {
      double x = (double)lo + (double)c;
      for (size_t j = 0; j < width; j++) next[j + c] += dist[j] * pmf;
      pmf *= (A - x) * (B - x) / ((x + 1) * ((double)W - A - B + x + 1));
    }
    width += m - 1;
    base += lo;
    double *t = dist;
    dist = next;
    next = t;
  }
  if (lf != lf_small) free(lf);
  double p = 0;
  for (size_t j = width; j-- > 0;) {
    double s = base + (double)j;
    if (s > o) p += dist[j];
    else if (s == o) p += 0.5 * dist[j];
    else break;
  }
  free(dist), free(next);
  return p > 1 ? 1 : p < 0 ? 0 : p;
}

/* The binomial's mid-p (see hls_pat__poisson_midp), X ~ Binomial(n, q),
 * for real x and n: P(X >= x) = I_q(a, b), a = x and b = n - x + 1, less
 * half the pmf at x, which is I_q's prefactor q^a (1 - q)^b / B(a, b)
 * over x (1 - q). */
double hls_pat__binom_midp(double x, double n, double q) {
  if (x <= 0) return 1;
  if (x > n) return 0;
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  double a = x, b = n - x + 1, lbt = lgam(n + 1) - lgam(a) - lgam(b) + a * log(q) + b * log1p(-q);
  double sf = ibeta_lbt(a, b, q, lbt), pmf = exp(lbt - log(x) - log1p(-q));
  double r = (sf < 0 ? 0 : sf > 1 ? 1 : sf) - 0.5 * pmf;
  return r < 0 ? 0 : r;
}

/* Beta-binomial counts above this many are tested by the binomial in
 * units of phi (the sum below would take too long). */
#define BB_MAX_N 1000.0
/* Below this kappa the beta-binomial is the binomial (and its lgamma
 * terms, of numbers near 1 / kappa, would lose their digits). */
#define BB_MIN_KAPPA 1e-6

/* The mid-p upper tail at x of a beta-binomial (n trials, the chance
 * Beta(a, b)), for real x and n (counts are halves, the middle of a
 * rounded cell's interval, and n holds the prior): the terms C(n, j) B(j
 * + a, n - j + b) / B(a, b), extended to real j and n by lgamma, on the
 * grid j = x - floor(x), x - floor(x) + 1, ... up to n; those from x over
 * those of the whole grid (exact for whole x and n), summed outward from
 * the mean until they no longer count. The term at the mean is computed
 * by lgamma, each next one from the one before by the ratio of the two
 * (four products where lgamma would be called four times; their rounding
 * errors add up to about 1e-13 of a term over a thousand terms). */
double hls_pat__bbinom_midp(double x, double n, double a, double b) {
  if (x <= 0) return 1;
  if (x > n) return 0;
  double f = x - floor(x), c = lgam(n + 1) - lgam(n + a + b) - (lgam(a) + lgam(b) - lgam(a + b));
  double imax = floor(n - f + 1e-9), ix = x - f, m = n - f; /* term i: j = f + i of n, m - i the others */
  double i0 = floor(n * a / (a + b) - f + 0.5);
  if (i0 < 0) i0 = 0;
  if (i0 > imax) i0 = imax;
  double t0 = exp(c - lgam(f + i0 + 1) - lgam(m - i0 + 1) + lgam(f + i0 + a) + lgam(m - i0 + b));
  /* up: i >= i0; down: i < i0; above: i >= ix; tix: the term at ix (each
   * loop passes ix before it may stop) */
  double up = 0, down = 0, above = 0, tix = 0, t = t0;
  for (double i = i0; i <= imax; i++) {
    if (i > i0) t *= (m - i + 1) * (f + i - 1 + a) / ((f + i) * (m - i + b));
    up += t;
    if (i >= ix) above += t;
    if (i == ix) tix = t;
    if (i > i0 + 2 && i > ix && t < up * 1e-16) break;
  }
  t = t0;
  for (double i = i0 - 1; i >= 0; i--) {
    t *= (f + i + 1) * (m - i - 1 + b) / ((m - i) * (f + i + a));
    down += t;
    if (i >= ix) above += t;
    if (i == ix) tix = t;
    if (i < i0 - 2 && i < ix && t < (up + down) * 1e-16) break;
  }
  double total = up + down, r = total > 0 ? (above - 0.5 * tix) / total : 1;
  return r < 0 ? 0 : r > 1 ? 1 : r;
}

/* --- places against their own baselines, combined --------------------------------------- */

/* A place's surprise in weeks [i-R+1, i] of one series against its own
 * baseline (the baseline_weeks before, from its history's start, at
 * least min_baseline_weeks). Counts are taken in units of one cell's size
 * (quasi-Poisson: phi, the baseline's variance over its mean and at least
 * 1, so that a rounded cell or a bursty week is not taken for many
 * independent records; a series without its squares (Q NULL) takes
 * prior_ratio). The test is conditional, so that a short baseline's own
 * noise counts: with s in the baseline's nb weeks and x in the R weeks,
 * under no change x is Binomial(x + s, R rho / (R rho + nb)), rho the
 * network's change over the same weeks (hls_pat__network_change; 1 for
 * none); s gets two weeks of the theme's mean
 * (prior_mu), and is at least half a cell, so that a place that never
 * reported the theme is not infinitely surprised by one cell. Where the
 * baseline's weeks vary more than Poisson (Q given, phi > 1, at most
 * BB_MAX_N records), the weeks are taken as gamma-Poisson (each week's
 * rate the mean times a Gamma variable of mean 1 and variance kappa =
 * (phi - 1) / mean) and the whole count x of x + s is beta-binomial,
 * Beta(R rho / kappa, (nb + 2) / kappa), instead. *pz: that
 * upper tail, computed only when z > zmin (else 1: a caller that keeps
 * only small p-values passes the z below which none can be small); *z: the
 * signed root of the Poisson deviance, for direction and size, except
 * that with zmin > 0 a z at most zmin may be given as zmin (a caller that
 * only compares it with zmin or more: most places are decided without the
 * deviance's logarithm); z and pz NULL: neither is computed (the place's
 * phi, and whether it can be tested, only). False if
 * the place cannot be tested: its baseline is too short or it reported in
 * fewer than min_nz of those weeks (NZ, its prefix count of weeks with a
 * value; NULL with min_nz 0, which any count passes). *phi_out (if not
 * NULL): the phi used.
 *
 * kappa_pool (at least 0; negative: none) is the theme's kappa pooled
 * over its places' baselines (hls_pat__kappa_pool): with Q, the place's
 * own kappa, learnt from nb weeks, is shrunk towards it as if it were
 * KAPPA_PRIOR_WEEKS more weeks' worth (moderated, as Smyth 2004 does a
 * variance), so that a short baseline that happens to look calm does not
 * make every busy week a jump. */
bool hls_pat__place_z(const struct hls_pat_params *prm, const double *P, const double *Q, const int32_t *NZ,
                      int32_t lo, int32_t first, int32_t i, int32_t R, int32_t min_nz, double prior_mu,
                      double prior_ratio, double kappa_pool, double rho, double zmin, double *z, double *pz,
                      double *phi_out) {
  int32_t r0 = i - R + 1;
  if (first < lo) first = lo;
  if (r0 < first || r0 < 1) return false;
  int32_t b1 = r0 - 1, b0 = r0 - prm->baseline_weeks;
  if (b0 < first) b0 = first;
  int32_t nb = b1 - b0 + 1;
  if (nb < prm->min_baseline_weeks || (NZ != NULL && NZ[b1 + 1 - lo] - NZ[b0 - lo] < min_nz)) return false;
  double S = P[b1 + 1 - lo] - P[b0 - lo], SQ = Q != NULL ? Q[b1 + 1 - lo] - Q[b0 - lo] : 0;
  const double k = 2.0;
  double phi = Q != NULL ? 1 : prior_ratio;
  if (!(phi > 0)) phi = 1;
  if (Q != NULL && nb > 1 && S > 0) {
    double var = (SQ - S * S / nb) / (nb - 1), m = S / nb;
    if (var / m > phi) phi = var / m;
    if (kappa_pool >= 0) {
      double own = (phi - 1) / m, d = nb - 1;
      phi = 1 + (d * own + KAPPA_PRIOR_WEEKS * kappa_pool) / (d + KAPPA_PRIOR_WEEKS) * m;
    }
  }
  double s = (S + k * prior_mu) / phi;
  if (s < 0.5) s = 0.5;
  if (phi_out != NULL) *phi_out = phi;
  if (z == NULL && pz == NULL) return true;
  double z_own;
  if (z == NULL) z = &z_own;
  double x = (P[i + 1 - lo] - P[r0 - lo]) / phi, q = R * rho / (R * rho + nb + k);
  double e = s * R * rho / (nb + k);
  /* At most e, z is at most 0; above, the deviance is at most 2 (x -
   * e)^2 / e (ln r <= r - 1), which decides most places. The margin
   * (relative 1e-6) is far above the deviance's rounding (about 1e-15 of
   * x ln(x / e), x at most a window's capped counts), so that a place
   * decided here is one whose deviance computed below would be under
   * zmin^2 too. */
  if (zmin > 0 && (x <= e || 2 * (x - e) * (x - e) / e < zmin * zmin * (1 - 1e-6))) {
    *z = zmin;
    if (pz != NULL) *pz = 1.0;
    return true;
  }
  double dev = x > 0 ? 2 * (x * log(x / e) - (x - e)) : 2 * e;
  if (dev < 0) dev = 0;
  *z = x >= e ? sqrt(dev) : -sqrt(dev);
  /* x <= e is at or below the binomial's mean: its upper tail is at least
   * about a half */
  if (pz != NULL) {
    /* weeks whose rate varies (each week's the mean times a Gamma variable
     * of mean 1 and variance kappa = (phi - 1) / mean; phi > 1 needs S > 0):
     * given the total, the count is beta-binomial */
    double X = P[i + 1 - lo] - P[r0 - lo], Sr = S + k * prior_mu, kappa = phi > 1 ? (phi - 1) / (S / nb) : 0;
    if (!(x > e && *z > zmin)) *pz = 1.0;
    else if (Q != NULL && kappa > BB_MIN_KAPPA && X + Sr <= BB_MAX_N) {
      *pz = hls_pat__bbinom_midp(X, X + Sr, R * rho / kappa, (nb + k) / kappa);
    } else {
      *pz = hls_pat__binom_midp(x, x + s, q);
    }
  }
  return true;
}

static int zasc_cmp(const void *a, const void *b) {
  const struct zent *x = a, *y = b;
  if (x->z != y->z) return (x->z > y->z) - (x->z < y->z);
  return (x->slot > y->slot) - (x->slot < y->slot);
}

/* The truncated product's tail over n places, p-values uniform: given K
 * = k p-values at most tau, their sum S of -ln p is k ln(1/tau) plus a
 * Gamma(k, 1) variable, so
 *   P(S >= s) = sum over k of C(n,k) (1-tau)^(n-k) tau^k P(Gamma(k, 1) >= s - k ln(1/tau))
 * (scan_os). With rest, the chance that S less its largest term M is at
 * least s: since M >= S / K, S - M >= s only if S >= s K / (K - 1), so
 *   P(S - M >= s) <= the same sum from k = 2, with s k / (k - 1) for s.
 * The places other than the strongest are the n - 1 weakest of n, not n -
 * 1 places taken as they come: their product is far less often small
 * (by 4 to 6 times where it matters at 40 places). */
static double tpm_tail(double s, size_t n, bool rest) {
  double lt = log(TPM_TAU), l1t = log1p(-TPM_TAU), total = 0, lfn = lgam((double)n + 1);
  for (size_t k = rest ? 2 : 1; k <= n; k++) {
    double lw = lfn - lgam((double)k + 1) - lgam((double)(n - k) + 1) + (double)(n - k) * l1t + (double)k * lt;
    double x = (double)k * lt + (rest ? s * (double)k / (double)(k - 1) : s); /* the Gamma's excess */
    double h = x > 0 ? 1.0 - gamma_p((double)k, x) : 1.0;
    double term = exp(lw) * h;
    total += term;
    /* past the mean of K, once terms no longer matter */
    if ((double)k > (double)n * TPM_TAU + 3 && term < total * 1e-12) break;
  }
  return total > 1 ? 1 : total < P_FLOOR ? P_FLOOR : total;
}

/* The scan over places by their p-values (zv[].z holds each place's
 * upper-tail p here), by the truncated product method (Zaykin, Zhivotovsky,
 * Westfall and Weir 2002): W, the product of the p-values at most tau
 * among the n places tested, is the statistic; under no change (places
 * independent, p-values uniform or conservative)
 *   P(W <= w) = sum_k C(n,k) (1-tau)^(n-k) tau^k H_k,
 *   H_k = P(Poisson(k ln tau - ln w) <= k - 1) if w <= tau^k, else 1.
 * Powerful when a few places change much or several change a little,
 * and needs no calibration. *kstar: the places in W (at least kmin, else
 * 1 is returned); zv is left sorted, smallest p first. */
static double scan_os(struct zent *zv, size_t m, size_t n, int kmin, size_t *kstar) {
  *kstar = 0;
  if (m < (size_t)kmin || n == 0) return 1.0;
  qsort(zv, m, sizeof *zv, zasc_cmp);
  size_t kobs = 0;
  double logw = 0;
  while (kobs < m && zv[kobs].z <= TPM_TAU) logw += log(zv[kobs].z > P_FLOOR ? zv[kobs].z : P_FLOOR), kobs++;
  if (kobs < (size_t)kmin) return 1.0;
  *kstar = kobs;
  return tpm_tail(-logw, n, false);
}

/* The larger of a test's p-value over every place and without one
 * (below). A test with some evidence (p < 1) stays one of the week's
 * tests (the FDR counts the tests with p < 1): taking a place out must
 * not shrink the count and so loosen every other test's cutoff. */
#define P_NEARLY_ONE 0.9999999
double hls_pat__p_robust(double p, double p_rest) {
  if (isnan(p) || p >= 1) return p;
  if (isnan(p_rest) || p_rest >= 1) return P_NEARLY_ONE;
  return p_rest > p ? p_rest : p;
}


/* No one place makes a pattern: a member may publish any counts it
 * likes, and a place's own jump is not a pattern across places. The
 * product's sum without the place of the smallest p-value (its largest
 * term), against that statistic's own law (tpm_tail; at least one
 * place fewer than the least needed besides), and the larger of the two
 * p-values (both valid, so their maximum is). *kstar and zv as scan_os
 * over every place. */
double hls_pat__scan_robust(struct zent *zv, size_t m, size_t n, int kmin, size_t *kstar) {
  double p = scan_os(zv, m, n, kmin, kstar);
  if (p >= 1) return p;
  size_t rest = *kstar - 1;
  if (rest < (size_t)(kmin > 1 ? kmin - 1 : 1)) return hls_pat__p_robust(p, 1);
  double s = 0;
  for (size_t k = 1; k <= rest; k++) s -= log(zv[k].z > P_FLOOR ? zv[k].z : P_FLOOR);
  return hls_pat__p_robust(p, tpm_tail(s, n, true));
}
