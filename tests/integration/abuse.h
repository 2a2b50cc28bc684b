/* Shared by the C abuse clients (ctl_abuse.c, peer_abuse.c): checks that
 * count failures and end the scenario, and a monotonic clock. */
#ifndef HLS_ABUSE_H
#define HLS_ABUSE_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int failures;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      failures++;                                          \
      return;                                              \
    }                                                      \
  } while (0)

static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
