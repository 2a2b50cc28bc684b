#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hls_progress_start(struct hls_progress *p, const char *label) {
  p->enabled = isatty(STDERR_FILENO);
  p->label = label;
  p->last_permille = -1;
  p->last_ms = 0;
}

void hls_progress_update(struct hls_progress *p, uint64_t done, uint64_t total) {
  if (!p->enabled || total == 0) return;
  int permille = (int)(done * 1000 / total);
  int64_t t = now_ms();
  /* Redraw at most ten times a second, and always at the end. */
  if (permille == p->last_permille || (permille < 1000 && t - p->last_ms < 100)) return;
  p->last_permille = permille;
  p->last_ms = t;
  enum { WIDTH = 30 };
  int filled = permille * WIDTH / 1000;
  char bar[WIDTH + 1];
  for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
  bar[WIDTH] = '\0';
  fprintf(stderr, "\r%-10s [%s] %3d%%", p->label, bar, permille / 10);
  fflush(stderr);
}

void hls_progress_end(struct hls_progress *p) {
  if (!p->enabled || p->last_permille < 0) return;
  fprintf(stderr, "\r%60s\r", "");
  fflush(stderr);
}
