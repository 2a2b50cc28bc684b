/* What the parts of patterns in hlsd share (not for other modules): the
 * engine host's state (patternsd.c) and the helpers its control commands
 * (patapi.c) and feeds use to label places and weeks. The handlers read
 * the engine (pt, params, the place directory) the host keeps, so the
 * state is shared here rather than copied behind a narrower interface. */
#ifndef HLS_PATTERNSD_INTERNAL_H
#define HLS_PATTERNSD_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "patfilter.h"
#include "patterns.h"
#include "patternsd.h"

struct follower;


enum { LABEL = HLS_PLACE_MAX + 32 };
struct placedir {
  size_t n;
  char (*label)[LABEL];
  uint32_t *rank;   /* [n]: the place's position by label */
  uint32_t *region; /* [n]: its region's number, UINT32_MAX if none */
  size_t n_regions;
  char **region_name; /* [n_regions], sorted */
  uint32_t *seen;     /* [n_regions]: stamps */
  uint32_t stamp;
  bool stale;
};

#define NO_WEEK INT32_MIN

struct hls_patternsd {
  struct hls_patternsd_env env;
  struct hls_patstore *ps;
  struct hls_patterns *pt;
  struct hls_pat_params params;
  struct placedir dir;
  int32_t now_week;    /* for week_plausible: refresh_now_week */
  int32_t latest_week; /* the latest week of a digest given to the engine, NO_WEEK before one */
  uv_timer_t timer, pump_timer;
  bool timer_open;
  int open_timers;
  uint64_t first_pending; /* loop time of the first fact waiting */
  bool resync; /* the store missed changes: diff everything at the next flush */
  struct follower *followers;
  int64_t last_flush_us;
  uint64_t flushes, events;
};

/* Place labels and regions (placedir_ensure before reading pd->dir). */
int hls_patternsd__placedir_ensure(struct hls_patternsd *pd);
void hls_patternsd__place_label(struct hls_patternsd *pd, uint32_t place, char *out, size_t size);
/* A place's label (placedir_ensure first). */
const char *hls_patternsd__dir_label(struct hls_patternsd *pd, uint32_t place, char *buf, size_t size);
/* The pattern's places in the order of their labels: *out owned by the caller. */
int hls_patternsd__places_by_label(struct hls_patternsd *pd, const struct hls_pattern *p, uint32_t **out);
/* Place filter values that are node ids become their place's name;
 * must_exist: a value that names no place is not_found. */
int hls_patternsd__filter_resolve_places(struct hls_patternsd *pd, struct hls_patfilter *f, bool must_exist,
                                         struct hls_why *why);

void hls_patternsd__week_text(int32_t week, char out[9]);
void hls_patternsd__id_hex(const uint8_t id[HLS_PAT_ID_BYTES], char out[2 * HLS_PAT_ID_BYTES + 1]);
int hls_patternsd__pack_count(msgpack_packer *pk, uint64_t lo, uint64_t hi);
int hls_patternsd__pack_scales(msgpack_packer *pk, unsigned scales);
/* The method in plain words, with its parameters (patterns.show). */
void hls_patternsd__method_text(const struct hls_pat_params *p, int signal, const char *region, char *out, size_t size);
/* Raw msgpack bytes (a stored summary or filter) into pk. */
int hls_patternsd__write_raw(msgpack_packer *pk, const void *data, size_t len);

#endif
