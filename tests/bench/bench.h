/* Shared by the benchmarks: a monotonic clock and sorting for medians. */
#ifndef HLS_BENCH_H
#define HLS_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v; returns its p-quantile (0.5: the median), nearest rank. */
static inline double percentile(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

#endif
