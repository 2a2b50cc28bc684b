/* What the parts of patterns in hlsd share (not for other modules): the
 * engine host's state (patternsd.c), which its control commands
 * (patapi.c) read. The handlers read the engine (pt, params,
 * the place list in patsummary) the host keeps, so the state is shared
 * here rather than copied behind a narrower interface. */
#ifndef HLS_PATTERNSD_INTERNAL_H
#define HLS_PATTERNSD_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "patterns.h"
#include "patternsd.h"

struct hls_feeds;
struct hls_patsummary;

#define NO_WEEK INT32_MIN

struct hls_patternsd {
  struct hls_patternsd_env env;
  struct hls_patstore *ps;
  struct hls_patterns *pt;
  struct hls_pat_params params;
  struct hls_patsummary *summary; /* owned: the place list, for summaries */
  int32_t now_week;    /* for week_plausible: refresh_now_week */
  int32_t latest_week; /* the latest week of a digest given to the engine, NO_WEEK before one */
  uv_timer_t timer; /* the recomputation (schedule) */
  bool timer_open;
  uint64_t first_pending; /* loop time of the first fact waiting */
  bool resync; /* the store missed changes: diff everything at the next flush */
  /* Items left out of patterns (too old, too far ahead) since they were
   * last logged: one line for all of them (log_ignored), not one each,
   * however many a catch-up brings. */
  size_t ignored_pending;
  char ignored_first[HLS_NODEID_TEXT_SIZE + 64 + sizeof(struct hls_why)]; /* the first of them: origin, seq, why */
  struct hls_feeds *feeds; /* owned: the feeds and their followers */
  int64_t last_flush_us;
  uint64_t flushes, events;
};

#endif
