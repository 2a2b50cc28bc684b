/* Unit tests for the pattern engine's Mantel-Haenszel tail
 * (hls_pat__mh_midp, protocol/patterns_stats.c), which together's test
 * rests on: against Fisher's exact test for one table, against a
 * convolution written here from binomial coefficients for several, and
 * its normal law against that convolution where the sum's support is too
 * wide to convolve. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_table_is_fisher),
      cmocka_unit_test(test_tables_exact),
      cmocka_unit_test(test_fixed_tables),
      cmocka_unit_test(test_many_tables_normal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
