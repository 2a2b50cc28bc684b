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

#include "nodeid.h"
#include "patterns.h"
#include "patternsd.h"

struct hls_feeds;
struct hls_patsummary;

#define NO_WEEK INT32_MIN

/* Place identity across key succession (docs/patterns.md, "Places and
 * keys"): every key in a succession maps to the root of its succession
 * (the place's first key), and its items' seqs to gen << 40 | seq, gen
 * being the key's place in the succession (0: the root). The engine then
 * sees one place whose later keys' items come after its earlier keys'
 * (a digest of the new key supersedes the old key's for its week), and
 * lineage maps back to the real key and seq. Immutable once built; the
 * loop thread holds and drops references (the worker only reads). */
#define HLS_PAT_GEN_SHIFT 40
struct hls_pat_keymap_entry {
  uint8_t key[32], root[32];
  uint32_t gen;
};
struct hls_pat_keymap {
  int refs;
  size_t n;
  struct hls_pat_keymap_entry *e; /* owned, sorted by key */
};
/* The keymap of the successions the store holds (refs 1); NULL on error
 * (why says it) or when there are none. */
struct hls_pat_keymap *hls_pat__keymap_load(struct hls_store *store, struct hls_why *why);
struct hls_pat_keymap *hls_pat__keymap_ref(struct hls_pat_keymap *m);
void hls_pat__keymap_unref(struct hls_pat_keymap *m);
/* (origin, seq) as the engine knows it; false if the item cannot be
 * given (a later key's seq of 2^40 or more). m may be NULL. */
bool hls_pat__keymap_to_engine(const struct hls_pat_keymap *m, const uint8_t origin[32], uint64_t seq,
                               uint8_t out_origin[32], uint64_t *out_seq);
/* The engine's (place origin, seq) back to the key and seq of the item. */
void hls_pat__keymap_from_engine(const struct hls_pat_keymap *m, const uint8_t origin[32], uint64_t seq,
                                 uint8_t out_origin[32], uint64_t *out_seq);

/* What feeding items to an engine keeps, apart from the host, so that
 * the start-up load can feed a fresh engine on a worker thread. */
struct hls_pat_feeder {
  struct hls_patterns *pt; /* borrowed */
  const struct hls_pat_keymap *keys; /* borrowed (a reference its owner holds); NULL: no successions */
  int32_t now_week;        /* for week_plausible: refresh_now_week */
  int32_t latest_week;     /* the latest week of a digest given to the engine, NO_WEEK before one */
  bool places_changed;     /* a profile was given: names or regions may have changed */
  bool out_of_memory;      /* the engine missed a fact: diff everything at the next flush */
  bool frozen_missed;      /* the engine refused a fact of a frozen week: build it again */
  bool defer_errors;       /* on the worker thread: keep failures for the loop to log */
  /* Items left out of patterns (too old, too far ahead) since they were
   * last logged: one line for all of them (log_ignored), not one each,
   * however many a catch-up brings; and, on the worker thread, items that
   * failed (logged one line each, on the loop, once the load is done). */
  size_t ignored_pending, failed_pending;
  char ignored_first[HLS_NODEID_TEXT_SIZE + 64 + sizeof(struct hls_why)]; /* the first of them: origin, seq, why */
  char failed_first[HLS_NODEID_TEXT_SIZE + 64 + sizeof(struct hls_why)];
};

/* From start to the first complete state: the items held at start are
 * read and computed on a worker thread (PD_LOADING: the loop answers
 * every call that needs only the store); then what was stored meanwhile
 * is fed on the loop in slices (PD_CATCHING_UP); then PD_READY, where
 * items are fed as they come. A burst of items (a catch-up) is not fed:
 * PD_BULK waits for it to end, then the engine is built again the same
 * way (PD_LOADING, the previous engine answering meanwhile). */
enum hls_pd_phase { PD_LOADING, PD_CATCHING_UP, PD_READY, PD_BULK };

struct hls_pd_load;
struct hls_pd_ref; /* a change to an item the load had already read */

struct hls_patternsd {
  struct hls_patternsd_env env;
  struct hls_patstore *ps;
  struct hls_patterns *pt;        /* owned; while PD_LOADING an empty one */
  struct hls_pat_params params;
  struct hls_patsummary *summary; /* owned: the place list, for summaries */
  struct hls_pat_feeder feed;     /* feeds pt */
  struct hls_pat_keymap *keys;    /* a reference: the successions, for feed and lineage */
  enum hls_pd_phase phase;
  bool have_engine;               /* pt holds a whole load (calls may read it) */
  uint64_t burst_start_ms;        /* loop time: the window items are counted in (burst) */
  size_t burst_items;
  uint64_t bulk_start_ms;         /* loop time PD_BULK began */
  uint64_t rebuilds;              /* loads after a burst */
  uint64_t load_restarts;         /* loads dropped for too many changes meanwhile */
  uint64_t heavy_updates;         /* updates too long for the loop, rebuilt on the worker */
  struct hls_pd_load *load;       /* the worker's job while PD_LOADING, else NULL */
  int64_t cursor;                 /* before PD_READY: items with a higher rowid are fed by the catch-up */
  struct hls_pd_ref *refs;        /* PD_LOADING: changes to items at or below cursor, in order */
  size_t n_refs, cap_refs;
  uint64_t started_ns;            /* uv_hrtime at start */
  size_t loaded_items, caught_up_items; /* by the worker; then by the catch-up */
  double load_ms, compute_ms, store_ms; /* the worker's reading, computing; the diff with the store */
  int32_t taken_before; /* the last load took the saved tests of the weeks before this (INT32_MIN: none) */
  uint64_t saved_at;    /* uv_now of the last copy of the tests written by a freeze on the loop (0: none) */
  double full_compute_ms; /* a computation from scratch, as last measured (a load, or a flush / its share) */
  uv_timer_t timer; /* the recomputation (schedule); the catch-up slices */
  bool timer_open;
  /* Facts of frozen weeks (hls_patterns_freeze) the engine refused since
   * the last load: it is built again from the store (late_rebuild), at
   * most once every LATE_REBUILD_MIN_MS after the last load ended. */
  bool stale;
  uint64_t stale_facts;      /* refused since start */
  uint64_t late_rebuilds;    /* loads for them */
  uint64_t load_ended_ms;    /* loop time */
  uv_timer_t late_timer;
  bool late_timer_open;
  int handles_closing; /* hls_patternsd_close: pd is freed when both timers closed */
  uint64_t first_pending; /* loop time of the first fact waiting */
  bool resync; /* the store missed changes: diff everything at the next flush */
  struct hls_feeds *feeds; /* owned: the feeds and their followers */
  int64_t last_flush_us;
  uint64_t flushes, events;
};

/* 0 when the engine holds every item (a call may read it), else
 * HLS_EBUSY with a why that says how far the start-up load is. */
int hls_patternsd__need_engine(const struct hls_patternsd *pd, struct hls_why *why);
struct hls_patfilter;
/* f's themes each reported by some place, its regions each some place's:
 * 0, or HLS_ENOTFOUND with a why that names the first that is not (0
 * while the engine is loading: it is not asked then). */
int hls_patternsd__filter_known(struct hls_patternsd *pd, const struct hls_patfilter *f, struct hls_why *why);
/* --vouched (patterns and feeds, one rule: hls_patfilter_set_vouched): f
 * counts the places vouched as this node judges them now (trust.h, from
 * env.node_id; none without it), against the engine's minimum of places
 * per signal. *ids (owned: free) holds them while f is used. */
/* "ready" (the engine holds every item), "rebuilding" (a catch-up's
 * rebuild: the previous engine answers) or "loading" (after a start). */
const char *hls_patternsd__state_name(const struct hls_patternsd *pd);
int hls_patternsd__vouched_filter(struct hls_patternsd *pd, struct hls_patfilter *f, uint8_t **ids,
                                  struct hls_why *why);

#endif
