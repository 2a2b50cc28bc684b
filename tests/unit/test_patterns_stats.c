/* Unit tests for the pattern engine's Mantel-Haenszel tail
 * (hls_pat__mh_midp, protocol/patterns_stats.c), which together's test
 * rests on: against Fisher's exact test for one table, against a
 * convolution written here from binomial coefficients for several, and
 * its normal law against that convolution where the sum's support is too
 * wide to convolve. And the truncated product's rule that no one place
 * makes a pattern (hls_pat__scan_robust): the law of the sum without its
 * largest term, against that law drawn here (Monte Carlo). And a place's
 * test against its own baseline when its weeks vary more than Poisson
 * (hls_pat__bbinom_midp, hls_pat__place_z): the beta-binomial tail
 * against its sum written here, and the test's p-values on weeks drawn
 * as gamma-Poisson counts. And together's classes of a place's weeks
 * (hls_pat__classes, by week masks, and hls_pat__classes_scan, week by
 * week) against their definition written here. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "patterns_internal.h"

/* C(n, k) as a double (n at most 60 here: exact). */
static double choose(unsigned n, unsigned k) {
  if (k > n) return 0;
  double r = 1;
  for (unsigned i = 1; i <= k; i++) r = r * (double)(n - k + i) / (double)i;
  return r;
}

/* The distribution of the sum of Hypergeometric(w[k], a[k], b[k]) over
 * the tables, by direct enumeration of each table's counts: dist[s] for
 * s in 0..*max. */
static double *reference(const uint32_t *w, const uint32_t *a, const uint32_t *b, size_t n, size_t *max) {
  size_t top = 0;
  for (size_t k = 0; k < n; k++) top += a[k] < b[k] ? a[k] : b[k];
  double *dist = calloc(top + 1, sizeof *dist), *next = calloc(top + 1, sizeof *next);
  assert_non_null(dist);
  assert_non_null(next);
  dist[0] = 1;
  size_t reach = 0;
  for (size_t k = 0; k < n; k++) {
    unsigned hi = a[k] < b[k] ? a[k] : b[k];
    double total = choose(w[k], b[k]);
    for (size_t s = 0; s <= reach + hi; s++) next[s] = 0;
    for (size_t s = 0; s <= reach; s++)
      for (unsigned x = 0; x <= hi; x++) {
        /* x of the b weeks among the a weeks */
        double pmf = choose(a[k], x) * choose(w[k] - a[k], b[k] - x) / total;
        next[s + x] += dist[s] * pmf;
      }
    reach += hi;
    double *t = dist;
    dist = next;
    next = t;
  }
  free(next);
  *max = reach;
  return dist;
}

static double reference_midp(const double *dist, size_t max, double o) {
  double p = 0;
  for (size_t s = 0; s <= max; s++) {
    if ((double)s > o) p += dist[s];
    if ((double)s == o) p += 0.5 * dist[s];
  }
  return p;
}

static void assert_close(double got, double want, double rel) {
  if (!(fabs(got - want) <= rel * want + 1e-300)) fail_msg("got %.12g, want %.12g (relative %g)", got, want, rel);
}

/* One table: the statistic is Fisher's exact test, mid-p. */
static void test_one_table_is_fisher(void **state) {
  (void)state;
  static const uint32_t cases[][4] = {{8, 3, 4, 3}, {8, 5, 5, 5}, {8, 2, 6, 1}, {24, 10, 7, 6}, {8, 1, 1, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint32_t w = cases[i][0], a = cases[i][1], b = cases[i][2], o = cases[i][3];
    double got = hls_pat__mh_midp(&w, &a, &b, 1, o);
    double want = hls_pat__fisher_sf(o, a - o, b - o, w - a - b + o);
    assert_close(got, want, 1e-9);
  }
  /* and Fisher's test against the hypergeometric law enumerated, up to
   * tables of 60 (tails from 0.5 to about 1e-13) */
  static const uint32_t more[][4] = {{8, 3, 4, 3}, {20, 10, 10, 9}, {60, 30, 25, 20}, {60, 12, 40, 12}, {60, 5, 50, 5},
                                     {60, 30, 30, 28}, {40, 20, 20, 10}};
  for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
    uint32_t w = more[i][0], a = more[i][1], b = more[i][2], o = more[i][3];
    size_t max = 0;
    double *dist = reference(&w, &a, &b, 1, &max), want = 0;
    for (size_t s = 0; s <= max; s++) want += s > o ? dist[s] : s == o ? 0.5 * dist[s] : 0;
    free(dist);
    double got = hls_pat__fisher_sf(o, a - o, b - o, w - a - b + o);
    print_message("# Fisher w %u a %u b %u o %u: %.12g (enumerated %.12g)\n", w, a, b, o, got, want);
    assert_close(got, want, 1e-9);
  }
}

/* Several tables, the sum's support narrow enough to convolve: exact. */
static void test_tables_exact(void **state) {
  (void)state;
  uint32_t w[12], a[12], b[12];
  uint64_t x = 12345;
  for (int round = 0; round < 20; round++) {
    size_t n = 1 + (size_t)round % 12;
    for (size_t k = 0; k < n; k++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      w[k] = 2 + (uint32_t)(x >> 60) % 23; /* 2..24 weeks */
      a[k] = (uint32_t)(x >> 40) % (w[k] + 1);
      b[k] = (uint32_t)(x >> 20) % (w[k] + 1);
    }
    size_t max;
    double *dist = reference(w, a, b, n, &max);
    for (size_t o = 0; o <= max; o++) {
      double want = reference_midp(dist, max, (double)o);
      if (want < 1e-12) continue; /* relative error is meaningless there */
      assert_close(hls_pat__mh_midp(w, a, b, n, (double)o), want, 1e-8);
    }
    free(dist);
  }
}

/* Tables with no freedom add a constant: all of them fixed gives 1, 1/2
 * or 0. */
static void test_fixed_tables(void **state) {
  (void)state;
  uint32_t w[] = {8, 8, 5}, a[] = {0, 8, 5}, b[] = {3, 4, 5};
  /* both counts fixed: 0, 4, 5 */
  assert_true(hls_pat__mh_midp(w, a, b, 3, 8) == 1);
  assert_true(hls_pat__mh_midp(w, a, b, 3, 9) == 0.5);
  assert_true(hls_pat__mh_midp(w, a, b, 3, 10) == 0);
  /* one free table beside them: its tail, shifted by 9 */
  uint32_t w2[] = {8, 8, 5, 8}, a2[] = {0, 8, 5, 3}, b2[] = {3, 4, 5, 4};
  uint32_t w1 = 8, a1 = 3, b1 = 4;
  for (int o = 0; o <= 3; o++)
    assert_close(hls_pat__mh_midp(w2, a2, b2, 4, 9 + o), hls_pat__mh_midp(&w1, &a1, &b1, 1, o), 1e-12);
}

/* 400 tables of 8 weeks: past the exact limit, the normal law of the same
 * mean and variance. Against the exact sum, at 2 to 4 standard
 * deviations above the mean: within 5% (measured: within 0.5%). */
static void test_many_tables_normal(void **state) {
  (void)state;
  enum { N = 400 };
  uint32_t w[N], a[N], b[N];
  double mean = 0, var = 0;
  size_t support = 1;
  for (size_t k = 0; k < N; k++) {
    w[k] = 8, a[k] = 2 + (uint32_t)(k % 5), b[k] = 3 + (uint32_t)(k % 3);
    uint32_t lo = a[k] + b[k] > w[k] ? a[k] + b[k] - w[k] : 0, hi = a[k] < b[k] ? a[k] : b[k];
    support += hi - lo;
    mean += (double)a[k] * b[k] / w[k];
    var += (double)a[k] * b[k] * (w[k] - a[k]) * (w[k] - b[k]) / (w[k] * w[k] * (w[k] - 1.0));
  }
  assert_true(support > MH_EXACT_SUPPORT); /* the normal law's branch */
  size_t max;
  double *dist = reference(w, a, b, N, &max);
  for (double z = 2; z <= 4; z += 0.5) {
    double o = floor(mean + z * sqrt(var));
    double want = reference_midp(dist, max, o), got = hls_pat__mh_midp(w, a, b, N, o);
    print_message("# z %.1f: o %.0f exact %.4g normal %.4g\n", z, o, want, got);
    assert_close(got, want, 0.05);
  }
  free(dist);
}

/* --- hls_pat__scan_robust: the sum without the strongest place ----------------------- */

static uint64_t xs_state;
static uint64_t xs_next(void) {
  xs_state ^= xs_state << 13, xs_state ^= xs_state >> 7, xs_state ^= xs_state << 17;
  return xs_state;
}
static double xs_unit(void) { return (double)((xs_next() >> 11) + 1) * 0x1.0p-53; /* (0, 1] */ }
/* 0 to n - 1 */
static uint32_t xs_below(uint32_t n) { return (uint32_t)(xs_next() % n); }

/* P(Gamma(k, 1) >= x), k whole: P(Poisson(x) <= k - 1). */
static double gamma_tail(unsigned k, double x) {
  if (x <= 0) return 1;
  double term = exp(-x), sum = term;
  for (unsigned j = 1; j < k; j++) term *= x / j, sum += term;
  return sum;
}

/* The truncated product's tail over n places taken as they come (the
 * rule before: the places but the strongest as n - 1 such places). */
static double tpm_tail(double s, unsigned n) {
  double total = 0, lt = -log(TPM_TAU);
  for (unsigned k = 1; k <= n; k++)
    total += choose(n, k) * pow(TPM_TAU, k) * pow(1 - TPM_TAU, n - k) * gamma_tail(k, s - k * lt);
  return total;
}

/* Over n places whose p-values are uniform, the sum of -ln p over those
 * at most TPM_TAU less its largest term, at least s: its chance drawn. */
static double rest_drawn(unsigned n, double s, long draws) {
  long hit = 0;
  xs_state = 0x2545f4914f6cdd1dULL;
  for (long d = 0; d < draws; d++) {
    double S = 0, M = 0;
    for (unsigned i = 0; i < n; i++) {
      double u = xs_unit();
      if (u > TPM_TAU) continue;
      double y = -log(u);
      S += y;
      if (y > M) M = y;
    }
    hit += S - M >= s;
  }
  return (double)hit / (double)draws;
}

/* Its p-value without the strongest place (the strongest beyond doubt,
 * so the rule's larger p-value is that one) is never under the chance
 * drawn (less 4 standard errors), at most 3 times it, and under the rule
 * before, which took the places but the strongest as n - 1 places not
 * chosen. */
static void test_scan_rest_against_drawn(void **state) {
  (void)state;
  enum { N = 40 };
  const double rests[] = {10, 14, 18, 25};
  const size_t others[] = {2, 3, 4, 6};
  const long draws = 1000000;
  for (size_t r = 0; r < sizeof rests / sizeof rests[0]; r++) {
    struct zent zv[8];
    zv[0] = (struct zent){1e-12, 0};
    for (size_t i = 1; i <= others[r]; i++) zv[i] = (struct zent){exp(-rests[r] / (double)others[r]), (uint32_t)i};
    size_t kst;
    double got = hls_pat__scan_robust(zv, others[r] + 1, N, 1, &kst);
    double want = rest_drawn(N, rests[r], draws), se = sqrt(want * (1 - want) / (double)draws);
    double before = tpm_tail(rests[r], N - 1);
    print_message("# others' sum %.0f: drawn %.3g, rule %.3g, rule before %.3g\n", rests[r], want, got, before);
    assert_int_equal(kst, others[r] + 1);
    assert_true(got >= want - 4 * se);
    assert_true(got <= 3 * want + 4 * se);
    assert_true(got < before);
  }
}

/* The beta-binomial mid-p tail by its definition: pmf(0) = prod (b + j)
 * / (a + b + j), then pmf(k + 1) = pmf(k) (n - k) (k + a) / ((k + 1) (n -
 * k - 1 + b)). */
static double bb_reference(unsigned x, unsigned n, double a, double b) {
  double pmf = 1, tail = 0;
  for (unsigned j = 0; j < n; j++) pmf *= (b + j) / (a + b + j);
  for (unsigned k = 0; k <= n; k++) {
    if (k == x) tail += pmf / 2;
    else if (k > x) tail += pmf;
    if (k < n) pmf *= (double)(n - k) * (k + a) / ((double)(k + 1) * ((double)(n - k) - 1 + b));
  }
  return tail;
}

/* The binomial mid-p tail by its definition. */
static double binom_reference(unsigned x, unsigned n, double q) {
  double tail = 0;
  for (unsigned k = x; k <= n; k++) {
    double pmf = choose(n, k) * pow(q, k) * pow(1 - q, n - k);
    tail += k == x ? pmf / 2 : pmf;
  }
  return tail;
}

static void test_bbinom_exact(void **state) {
  (void)state;
  const struct {
    unsigned x, n;
    double a, b;
  } c[] = {{3, 10, 0.5, 13}, {8, 30, 2, 52}, {10, 60, 0.2, 5}, {25, 60, 4, 80}, {2, 3, 1, 1}, {1, 1, 0.7, 9},
           {0, 12, 1, 3},   {12, 12, 3, 3},  /* and at BB_MAX_N records, the longest sums: */
           {80, 1000, 2, 50}, {700, 1000, 30, 31}, {120, 1000, 0.5, 9}, {3, 1000, 0.01, 40}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    double got = hls_pat__bbinom_midp(c[i].x, c[i].n, c[i].a, c[i].b), want = c[i].x == 0 ? 1 : bb_reference(c[i].x, c[i].n, c[i].a, c[i].b);
    print_message("# beta-binomial x %u n %u a %g b %g: %.12g (sum %.12g)\n", c[i].x, c[i].n, c[i].a, c[i].b, got, want);
    assert_true(fabs(got - want) <= 1e-8 * want + 1e-300); /* rounding, summed over the terms */
  }
  /* a and b large with a / (a + b) = q: the binomial */
  for (unsigned x = 1; x <= 9; x += 2) {
    double got = hls_pat__bbinom_midp(x, 20, 0.1 * 1e8, 0.9 * 1e8), want = binom_reference(x, 20, 0.1);
    assert_true(fabs(got - want) <= 1e-5 * want);
  }
  /* the binomial itself, up to 60 trials */
  static const struct {
    unsigned x, n;
    double q;
  } bc[] = {{1, 1, 0.3}, {3, 10, 0.1}, {7, 12, 0.5}, {20, 60, 0.2}, {45, 60, 0.5}, {2, 60, 0.01}, {60, 60, 0.9}};
  for (size_t i = 0; i < sizeof bc / sizeof *bc; i++) {
    double got = hls_pat__binom_midp(bc[i].x, bc[i].n, bc[i].q), want = binom_reference(bc[i].x, bc[i].n, bc[i].q);
    print_message("# binomial x %u n %u q %g: %.12g (sum %.12g)\n", bc[i].x, bc[i].n, bc[i].q, got, want);
    assert_true(fabs(got - want) <= 1e-9 * want + 1e-300);
  }
  /* halves: a tail in [0, 1], falling as x rises */
  double last = 1;
  for (double x = 0.5; x <= 20.5; x += 1) {
    double p = hls_pat__bbinom_midp(x, 20.5, 1.5, 30);
    assert_true(p >= 0 && p <= 1 && p <= last);
    last = p;
  }
}

/* Draws from xs_unit: normal (Box-Muller), Gamma(shape, 1) (Marsaglia
 * and Tsang), Poisson (by inversion: the means here are small). */
static double xs_normal(void) { return sqrt(-2 * log(xs_unit())) * cos(6.283185307179586 * xs_unit()); }
static double xs_gamma(double shape) {
  if (shape < 1) return xs_gamma(shape + 1) * pow(xs_unit(), 1 / shape);
  double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
  for (;;) {
    double z = xs_normal(), v = 1 + c * z;
    if (v <= 0) continue;
    v = v * v * v;
    if (log(xs_unit()) < 0.5 * z * z + d - d * v + d * log(v)) return d * v;
  }
}
static double xs_poisson(double mu) {
  double u = xs_unit(), p = exp(-mu), cdf = p;
  unsigned k = 0;
  while (u > cdf && k < 10000) p *= mu / ++k, cdf += p;
  return k;
}

/* A place whose weekly counts are Poisson of its mean times a Gamma
 * variable of mean 1 and variance kappa (gamma-Poisson: weeks busier and
 * quieter than Poisson), tested in week 27 against its 26 weeks before,
 * nothing changed: its p-values are at most 0.01 and 0.001 no more often
 * than with the binomial in units of the same phi (the law before, whose
 * tail is too short for such weeks), and at most 4 times as often as
 * that (less 4 standard errors): kappa is learnt from the place's own 26
 * weeks, and where it comes out too small the test is too bold. */
/* The deviances below which a place's exact test is not computed
 * (EMERGING_ZMIN, CROSS_ZMIN_ONE, CROSS_ZMIN_TWO: patterns_internal.h say
 * what p-values they stand for): over a grid of the tests' inputs
 * (windows of 1, 3 and 4 weeks; baselines of 2, 8 and 26 weeks summing to
 * 0 to 400 with variances up to the most their sum allows; priors 0 to 30;
 * the network's change 1 to 4; counts 0.5 to 1,000), every place at or
 * below them has a p-value above what its scan keeps. Binomial in units
 * of phi (cross-scale's scales, and emerging's baselines that vary no more
 * than Poisson): at least 0.14 at or below 1.0, 0.27 at or below 0.5.
 * Beta-binomial (emerging's overdispersed baselines): above TPM_TAU at or
 * below EMERGING_ZMIN where the baseline's variance is at most half the
 * most its sum allows. */
static void test_place_z_thresholds(void **state) {
  (void)state;
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  const int Rs[] = {1, 3, 4}, nbs[] = {2, 8, 26};
  const double Ss[] = {0, 0.5, 2, 8, 40, 400}, phis[] = {1, 1.5, 4, 16, 40}, pms[] = {0, 0.2, 2, 30};
  const double rhos[] = {1, 1.5, 4}, kps[] = {-1, 0, 0.5, 4};
  enum { L_MAX = 26 + 4 + 1 };
  double P[L_MAX], Q[L_MAX];
  int32_t NZ[L_MAX];
  long checked[3] = {0, 0, 0};
  double least[3] = {1, 1, 1}; /* the least p seen under each threshold */
  for (int k = 0; k < L_MAX; k++) NZ[k] = k;
  for (size_t a = 0; a < sizeof Rs / sizeof *Rs; a++)
    for (size_t b = 0; b < sizeof nbs / sizeof *nbs; b++) {
      int R = Rs[a], nb = nbs[b], i = nb + R - 1;
      prm.baseline_weeks = 26;
      prm.min_baseline_weeks = nb < 8 ? nb : 8;
      for (size_t c = 0; c < sizeof Ss / sizeof *Ss; c++)
        for (size_t d = 0; d < sizeof phis / sizeof *phis; d++)
          for (size_t e = 0; e < sizeof pms / sizeof *pms; e++)
            for (size_t f = 0; f < sizeof rhos / sizeof *rhos; f++)
              for (double X = 0.5; X <= 1000; X += X < 20 ? 0.5 : X < 100 ? 2 : 50) {
                double S = Ss[c], phi = phis[d], SQ = S * S / nb + phi * S / nb * (nb - 1);
                for (int k = 0; k <= nb; k++) P[k] = S * k / nb, Q[k] = SQ * k / nb;
                for (int k = nb + 1; k <= i + 1; k++) P[k] = S + X * (k - nb) / R, Q[k] = SQ;
                /* the binomial, phi given (cross-scale's scales) */
                double z, pz;
                assert_true(
                    hls_pat__place_z(&prm, P, NULL, NULL, 0, 0, i, R, 0, pms[e], phi, -1, rhos[f], 0, &z, NULL, NULL));
                if (z > 0 && z <= CROSS_ZMIN_ONE) {
                  assert_true(hls_pat__place_z(&prm, P, NULL, NULL, 0, 0, i, R, 0, pms[e], phi, -1, rhos[f], 0, &z, &pz,
                                               NULL));
                  int t = z <= CROSS_ZMIN_TWO ? 1 : 0;
                  if (pz < least[t]) least[t] = pz;
                  checked[t]++;
                  if (pz < (t ? 0.27 : 0.14))
                    fail_msg("binomial: p %g at z %g (R %d, baseline %d weeks, sum %g, phi %g, prior %g, rho %g, count %g)",
                             pz, z, R, nb, S, phi, pms[e], rhos[f], X);
                }
                /* the place's own variance (emerging): a sum's is at most
                 * S^2 / nb (all in one week), so phi at most S */
                if (phi > 1 && phi > S) continue;
                /* its own kappa, and shrunk towards pooled ones */
                for (size_t g = 0; g < sizeof kps / sizeof *kps; g++) {
                  double used;
                  if (!hls_pat__place_z(&prm, P, Q, NZ, 0, 0, i, R, 2, pms[e], 1, kps[g], rhos[f], 0, &z, NULL,
                                        &used) ||
                      z <= 0 || z > EMERGING_ZMIN)
                    continue;
                  assert_true(hls_pat__place_z(&prm, P, Q, NZ, 0, 0, i, R, 2, pms[e], 1, kps[g], rhos[f], 0, &z, &pz,
                                               NULL));
                  if (phi > S / 2 || used > S / 2) continue; /* one burst: see patterns_internal.h */
                  if (pz < least[2]) least[2] = pz;
                  checked[2]++;
                  if (pz <= TPM_TAU)
                    fail_msg("emerging: p %g at z %g (R %d, baseline %d weeks, sum %g, phi %g (used %g), prior %g, "
                             "rho %g, count %g)",
                             pz, z, R, nb, S, phi, used, pms[e], rhos[f], X);
                }
              }
    }
  print_message("# binomial: %ld places at z in (%g, %g], least p %.4f; %ld at most %g, least p %.4f; "
                "beta-binomial or binomial with its own variance: %ld at most %g, least p %.4f\n",
                checked[0], CROSS_ZMIN_TWO, CROSS_ZMIN_ONE, least[0], checked[1], CROSS_ZMIN_TWO, least[1], checked[2],
                EMERGING_ZMIN, least[2]);
  /* the grid reached each threshold's neighbourhood */
  assert_true(checked[0] > 1000 && checked[1] > 1000 && checked[2] > 1000);
}

/* w weeks at one place, each Poisson of mean times a Gamma variable of
 * mean 1 and variance kappa: their prefix sums (P), of squares (Q) and
 * of weeks with a record (NZ), w + 1 each. */
static void gamma_poisson_weeks(double mean, double kappa, int w, double *P, double *Q, int32_t *NZ) {
  P[0] = Q[0] = 0, NZ[0] = 0;
  for (int k = 0; k < w; k++) {
    double y = xs_poisson(mean * xs_gamma(1 / kappa) * kappa);
    P[k + 1] = P[k] + y, Q[k + 1] = Q[k] + y * y, NZ[k + 1] = NZ[k] + (y > 0);
  }
}

static void test_place_gamma_poisson(void **state) {
  (void)state;
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  enum { W = 27 };
  const double means[] = {0.5, 2, 6}, kappa = 0.5, levels[] = {0.01, 0.001};
  const long draws = 40000;
  xs_state = 42;
  for (size_t mi = 0; mi < sizeof means / sizeof means[0]; mi++) {
    long hit[2][2] = {{0, 0}, {0, 0}}; /* [law: now, before][level] */
    for (long d = 0; d < draws; d++) {
      double P[W + 1], Q[W + 1];
      int32_t NZ[W + 1];
      gamma_poisson_weeks(means[mi], kappa, W, P, Q, NZ);
      double z, pz, phi;
      if (!hls_pat__place_z(&prm, P, Q, NZ, 0, 0, W - 1, 1, 2, means[mi], 1, -1, 1, 0, &z, &pz, &phi)) continue;
      double z0, pz0;
      assert_true(hls_pat__place_z(&prm, P, NULL, NZ, 0, 0, W - 1, 1, 2, means[mi], phi, -1, 1, 0, &z0, &pz0, NULL));
      for (int l = 0; l < 2; l++) hit[0][l] += pz <= levels[l], hit[1][l] += pz0 <= levels[l];
    }
    for (int l = 0; l < 2; l++) {
      double now = (double)hit[0][l] / draws, before = (double)hit[1][l] / draws;
      double se = sqrt(levels[l] * (1 - levels[l]) / draws);
      print_message("# mean %g a week, kappa %g: p <= %g in %.4f of weeks (binomial in units of phi: %.4f)\n",
                    means[mi], kappa, levels[l], now, before);
      assert_true(now <= 4 * levels[l] + 4 * se);
      assert_true(now <= before);
    }
  }
}

/* A short baseline (8 weeks, as in a network's first weeks) of gamma-Poisson
 * weeks (kappa 0.5, means 0.5 and 2 a week): a place's own kappa, learnt
 * from 8 weeks, often comes out small, and its test is bold; shrunk
 * towards the theme's kappa pooled over many places (here the true one),
 * it is less so. Measured (40,000 draws each): p at most 0.01 in the
 * fractions printed. */
static void test_place_short_baseline_pooled(void **state) {
  (void)state;
  struct hls_pat_params prm;
  hls_pat_params_default(&prm);
  enum { NB = 8, W = NB + 1 };
  const double means[] = {0.5, 2}, kappa = 0.5, level = 0.01;
  const long draws = 40000;
  xs_state = 43;
  for (size_t mi = 0; mi < sizeof means / sizeof means[0]; mi++) {
    long own = 0, pooled = 0;
    for (long d = 0; d < draws; d++) {
      double P[W + 1], Q[W + 1];
      int32_t NZ[W + 1];
      gamma_poisson_weeks(means[mi], kappa, W, P, Q, NZ);
      double z, pz;
      if (!hls_pat__place_z(&prm, P, Q, NZ, 0, 0, W - 1, 1, 2, means[mi], 1, -1, 1, 0, &z, &pz, NULL)) continue;
      own += pz <= level;
      assert_true(hls_pat__place_z(&prm, P, Q, NZ, 0, 0, W - 1, 1, 2, means[mi], 1, kappa, 1, 0, &z, &pz, NULL));
      pooled += pz <= level;
    }
    double fo = (double)own / draws, fp = (double)pooled / draws;
    print_message("# %d-week baseline, mean %g a week, kappa %g: p <= %g in %.4f of weeks (own kappa: %.4f)\n", NB,
                  means[mi], kappa, level, fp, fo);
    assert_true(fp < fo);
    assert_true(fp <= 2 * level);
  }
}

/* --- together's classes of a place's weeks ---------------------------------------------- */

/* The definition (docs/patterns.md, "together"): a place's weeks are
 * those with a digest or a cell of the pair; a week's other themes are
 * its digest's count less its cells of the pair (0 without a digest); a
 * week is busier (class 1) when that is over the lower median of the
 * weeks' own. */
static void classes_defined(const uint16_t *deg, int32_t span, const uint8_t *pres, uint32_t w[2], uint32_t ca[2],
                            uint32_t cb[2], uint32_t cab[2]) {
  uint32_t d[256], sorted[256];
  size_t n = 0;
  for (int32_t t = 0; t < span; t++) {
    int m = (pres[t] & 1) + (pres[t] >> 1);
    if (deg[t] == TOGETHER_NO_DIGEST && pres[t] == 0) continue;
    d[t] = deg[t] == TOGETHER_NO_DIGEST ? 0 : deg[t] > m ? (uint32_t)(deg[t] - m) : 0;
    sorted[n++] = d[t];
  }
  w[0] = w[1] = ca[0] = ca[1] = cb[0] = cb[1] = cab[0] = cab[1] = 0;
  if (n == 0) return;
  qsort(sorted, n, sizeof *sorted, u32_cmp);
  uint32_t med = sorted[(n - 1) / 2];
  for (int32_t t = 0; t < span; t++) {
    if (deg[t] == TOGETHER_NO_DIGEST && pres[t] == 0) continue;
    int c = d[t] > med;
    w[c]++, ca[c] += pres[t] & 1, cb[c] += pres[t] >> 1, cab[c] += pres[t] == 3;
  }
}

/* Places drawn at random, of every span a window or its history can have
 * (together_weeks 1 to 104): digests of a few themes to tens of
 * thousands, weeks without a digest, the pair in none, some or all of the
 * weeks, and (in some places) cells in weeks without a digest. */
static void test_together_classes(void **state) {
  (void)state;
  static const int32_t spans[] = {1, 2, 3, 7, 8, 16, 31, 33, 63, 64, 65, 104, 127, 128, 129, 208};
  static const uint32_t levels[] = {0, 1, 2, 3, 4, 6, 12, 40, 65500};
  xs_state = 0x9e3779b97f4a7c15u;
  uint16_t deg[208];
  uint8_t pres[208], scratch[208];
  uint32_t tmp[208];
  uint64_t g[(1 + TOGETHER_GT_MASKS) * 4], ma[4], mb[4];
  size_t odd_places = 0, fast_places = 0;
  for (size_t si = 0; si < sizeof spans / sizeof *spans; si++)
    for (int trial = 0; trial < 3000; trial++) {
      int32_t span = spans[si];
      size_t nw = hls_pat__mask_words(span);
      assert_true(nw <= 4);
      uint32_t level = levels[xs_below(sizeof levels / sizeof *levels)];
      uint32_t spread = xs_below(5), none_pct = xs_below(4) * 25;
      uint32_t pa = xs_below(101), pb = xs_below(101);
      bool odd_ok = xs_below(8) == 0;
      memset(ma, 0, sizeof ma), memset(mb, 0, sizeof mb);
      for (int32_t t = 0; t < span; t++) {
        if (xs_below(100) < none_pct) deg[t] = TOGETHER_NO_DIGEST;
        else {
          int64_t v = (int64_t)level + (int64_t)xs_below(2 * spread + 1) - (int64_t)spread;
          deg[t] = (uint16_t)(v < 0 ? 0 : v > TOGETHER_NO_DIGEST - 1 ? TOGETHER_NO_DIGEST - 1 : v);
        }
        bool can = deg[t] != TOGETHER_NO_DIGEST || odd_ok;
        uint8_t p = (uint8_t)((can && xs_below(100) < pa) | (can && xs_below(100) < pb) << 1);
        pres[t] = p;
        if (p & 1) ma[t / 64] |= (uint64_t)1 << (t % 64);
        if (p & 2) mb[t / 64] |= (uint64_t)1 << (t % 64);
      }
      /* the lower median of the digests' weeks */
      size_t n = 0;
      for (int32_t t = 0; t < span; t++)
        if (deg[t] != TOGETHER_NO_DIGEST) tmp[n++] = deg[t];
      qsort(tmp, n, sizeof *tmp, u32_cmp);
      uint16_t dmed = n ? (uint16_t)tmp[(n - 1) / 2] : TOGETHER_NO_DIGEST;
      hls_pat__week_masks(deg, span, dmed, g);
      uint32_t want[4][2], got[4][2], scan[4][2];
      classes_defined(deg, span, pres, want[0], want[1], want[2], want[3]);
      hls_pat__classes(deg, span, dmed, g, ma, mb, scratch, tmp, got[0], got[1], got[2], got[3]);
      memcpy(scratch, pres, (size_t)span);
      hls_pat__classes_scan(deg, span, dmed, scratch, tmp, scan[0], scan[1], scan[2], scan[3]);
      for (int i = 0; i < 4; i++)
        for (int c = 0; c < 2; c++) {
          if (got[i][c] != want[i][c] || scan[i][c] != want[i][c])
            fail_msg("span %d trial %d level %u: count %d class %d: masks %u, scan %u, defined %u", span, trial,
                     level, i, c, got[i][c], scan[i][c], want[i][c]);
        }
      for (int32_t t = 0; t < span; t++) assert_int_equal(scratch[t], 0); /* the scan clears its marks */
      bool odd = false;
      for (int32_t t = 0; t < span; t++) odd |= deg[t] == TOGETHER_NO_DIGEST && pres[t] != 0;
      odd_places += odd, fast_places += !odd && n > 0;
    }
  /* both ways were taken, many times */
  assert_true(odd_places > 1000);
  assert_true(fast_places > 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_table_is_fisher),
      cmocka_unit_test(test_tables_exact),
      cmocka_unit_test(test_fixed_tables),
      cmocka_unit_test(test_many_tables_normal),
      cmocka_unit_test(test_scan_rest_against_drawn),
      cmocka_unit_test(test_bbinom_exact),
      cmocka_unit_test(test_place_gamma_poisson),
      cmocka_unit_test(test_place_short_baseline_pooled),
      cmocka_unit_test(test_place_z_thresholds),
      cmocka_unit_test(test_together_classes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
