/* A progress bar on stderr, drawn only when stderr is a terminal. */
#ifndef HLS_PROGRESS_H
#define HLS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hls_progress {
  bool enabled;
  const char *label;
  int last_permille;
  int64_t last_ms;
};

void hls_progress_start(struct hls_progress *p, const char *label);
void hls_progress_update(struct hls_progress *p, uint64_t done, uint64_t total);
/* Clear the bar's line. */
void hls_progress_end(struct hls_progress *p);

#endif
