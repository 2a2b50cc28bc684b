/* The pattern store: every SQL statement patterns in hlsd run, on the
 * patterns, pattern_events and feeds tables (and the read of the held
 * items the engine starts from), prepared once on the node's database.
 * Rows handed to a callback are borrowed from the statement: valid only
 * inside the call. A callback returns 0 to go on; anything else stops the
 * walk and is returned as is (why is the callback's to set). Errors from
 * SQLite are translated (hls_store_sqlite_error). Event-loop thread only. */
#ifndef HLS_PATSTORE_H
#define HLS_PATSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "patterns.h"

struct sqlite3;
struct hls_patstore;

/* The columns a filter looks at, as stored with patterns and events. */
struct hls_patrow {
  int signal, kind, kind2;
  const char *theme, *theme2; /* theme2 NULL unless together */
  int32_t week_from, week_to;
  int64_t n_places;
  unsigned scales;
  const char *regions; /* each followed by '\n' */
  double strength;
  bool live;
  const char *region; /* rising: its region, else "" */
  const char *places; /* place names, each followed by '\n' */
  const void *summary;
  size_t summary_len;
  const uint8_t *origins; /* its places' node ids, HLS_KEY_BYTES each, sorted; NULL: not read (the
                           * pattern and event walks read them), or none kept (a pattern from before
                           * schema 9, an event of one) */
  size_t n_origins;
};

/* Prepare the statements on db (borrowed, must outlive the store). */
int hls_patstore_open(struct hls_patstore **out, struct sqlite3 *db, struct hls_why *why) HLS_WARN_UNUSED;
/* NULL is a no-op. */
void hls_patstore_free(struct hls_patstore *ps);
/* An allocation failed while reading the store: HLS_ENOMEM, with the
 * text the store's own out-of-memory gives. */
int hls_patstore_oom(struct hls_why *why);

/* An item patterns read, with its body (a profile, digest, story or
 * tombstone whose body is held). */
typedef int hls_patstore_item_fn(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body,
                                 size_t len);

/* The start-up load runs on a worker thread, on a snapshot: a read-only
 * connection of its own on the store's file (db's "main" database),
 * holding one read transaction open, so the loop goes on writing while
 * the thread reads. Opened on the loop's thread; *max_id is the highest
 * items rowid the snapshot holds (items are never deleted and rowids only
 * grow, so what is stored later has a higher one). HLS_EUNSUPPORTED for a
 * store with no file (in memory). */
int hls_patstore_snapshot_open(struct sqlite3 *db, struct sqlite3 **out, int64_t *max_id, struct hls_why *why) HLS_WARN_UNUSED;
/* The profiles, digests and stories held in the snapshot, by origin and
 * seq; fn returning non-zero stops the walk with that value. Any thread,
 * one at a time. */
int hls_patstore_snapshot_each(struct sqlite3 *snap, hls_patstore_item_fn *fn, void *ctx, struct hls_why *why);
/* The same walk, each item with its rowid (*id_out, set before fn is
 * called), for reading some again by id. */
int hls_patstore_snapshot_each_id(struct sqlite3 *snap, hls_patstore_item_fn *fn, void *ctx, int64_t *id_out,
                                  struct hls_why *why);
/* Items ids[0..n) of the snapshot, in that order (an id without a body
 * is skipped); fn returning non-zero stops with that value. */
int hls_patstore_snapshot_items(struct sqlite3 *snap, const int64_t *ids, size_t n, hls_patstore_item_fn *fn,
                                void *ctx, struct hls_why *why);
void hls_patstore_snapshot_close(struct sqlite3 *snap);
/* The saved tests of frozen weeks (hls_patterns_save) held in the
 * snapshot: *buf (the caller's to free) and *len, or *buf NULL if none. */
int hls_patstore_snapshot_saved_tests(struct sqlite3 *snap, uint8_t **buf, size_t *len, struct hls_why *why)
    HLS_WARN_UNUSED;
/* Keep buf as the saved tests, in place of any before. */
int hls_patstore_save_tests(struct hls_patstore *ps, const uint8_t *buf, size_t len, int64_t now_ms,
                            struct hls_why *why) HLS_WARN_UNUSED;

/* Up to limit items with a body and rowid above *after_id, in rowid
 * order (what was stored since a snapshot); *after_id moves to the last
 * one read, *n gets how many. */
int hls_patstore_items_after(struct hls_patstore *ps, int64_t *after_id, int limit, hls_patstore_item_fn *fn,
                             void *ctx, size_t *n, struct hls_why *why);
/* The rowid of item origin:seq (0: not held). */
int hls_patstore_item_rowid(struct hls_patstore *ps, const uint8_t origin[32], uint64_t seq, int64_t *id,
                            struct hls_why *why);
/* Item origin:seq as it is now: fn gets its body if it is held. */
int hls_patstore_item_now(struct hls_patstore *ps, const uint8_t origin[32], uint64_t seq, hls_patstore_item_fn *fn,
                          void *ctx, struct hls_why *why);

/* --- patterns and their events --- */

/* Write p's row (r: its columns; origins: HLS_KEY_BYTES each, sorted). */
int hls_patstore_upsert(struct hls_patstore *ps, const struct hls_pattern *p, const struct hls_patrow *r,
                        const uint8_t *origins, size_t n_origins, int64_t now_ms, struct hls_why *why);
int hls_patstore_retract(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES], int64_t now_ms,
                         struct hls_why *why);
/* Append an event, with r's origins (its places' node ids, NULL: none
 * kept); week: the latest week of digests held, NULL if none. */
int hls_patstore_add_event(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES], int change,
                           const struct hls_patrow *r, const int32_t *week, int64_t now_ms, struct hls_why *why);

/* A stored pattern that is not retracted, for the full diff. */
struct hls_patstore_live {
  const uint8_t *id; /* HLS_PAT_ID_BYTES */
  struct hls_patrow row;
  bool has_origins; /* false: written before schema 9 */
  const void *origins;
  size_t origins_len; /* bytes */
};
int hls_patstore_each_live(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patstore_live *l),
                           void *ctx, struct hls_why *why);
/* Patterns not retracted, strongest first (the patterns_by_strength order). */
int hls_patstore_each_pattern(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patrow *r), void *ctx,
                              struct hls_why *why);
/* Every pattern's id: live, ended and retracted. */
int hls_patstore_each_id(struct hls_patstore *ps, int (*fn)(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES]), void *ctx,
                         struct hls_why *why);
/* Pattern id's row, to fn; HLS_ENOTFOUND (why not set) if none. */
int hls_patstore_get(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES],
                     int (*fn)(void *ctx, const struct hls_patrow *r, bool retracted), void *ctx, struct hls_why *why);
/* Patterns not retracted, by signal (live ones only; may be NULL), live
 * and ended. */
int hls_patstore_count(struct hls_patstore *ps, int64_t by_signal[HLS_PAT_SIGNAL_COUNT], int64_t *live, int64_t *ended,
                       struct hls_why *why);

/* An event as a follower gets it (row with its origins). */
struct hls_patstore_event {
  int64_t seq, at_ms;
  int change;
  const uint8_t *id; /* the pattern's, HLS_PAT_ID_BYTES; NULL if damaged */
  struct hls_patrow row;
};
/* Up to limit events after seq `after`, in order; *rows: how many were
 * read (fn's or not). */
int hls_patstore_each_event_after(struct hls_patstore *ps, int64_t after, int limit,
                                  int (*fn)(void *ctx, const struct hls_patstore_event *e), void *ctx, size_t *rows,
                                  struct hls_why *why);
/* Event seq, to fn; HLS_ENOTFOUND (why not set) if there is none. */
int hls_patstore_event_get(struct hls_patstore *ps, int64_t seq,
                           int (*fn)(void *ctx, const struct hls_patstore_event *e), void *ctx, struct hls_why *why);
/* Every event after seq `after` (rows with their origins). */
int hls_patstore_each_event_from(struct hls_patstore *ps, int64_t after,
                                 int (*fn)(void *ctx, const struct hls_patrow *r), void *ctx, struct hls_why *why);
/* The events written while week was the latest week of digests, in order. */
int hls_patstore_each_week_event(struct hls_patstore *ps, int32_t week,
                                 int (*fn)(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES], int change,
                                           const struct hls_patrow *r),
                                 void *ctx, struct hls_why *why);
/* The last event's seq, 0 if none. */
int hls_patstore_last_event(struct hls_patstore *ps, int64_t *seq, struct hls_why *why);

/* --- feeds --- */

/* HLS_EEXISTS (why not set) if a feed has that name. */
int hls_patstore_feed_add(struct hls_patstore *ps, const char *name, const void *filter, size_t filter_len,
                          int64_t now_ms, struct hls_why *why);
/* The feed's stored filter and cursor, to fn; HLS_ENOTFOUND (why not set)
 * if there is no such feed. */
int hls_patstore_feed_get(struct hls_patstore *ps, const char *name,
                          int (*fn)(void *ctx, const void *filter, size_t filter_len, int64_t cursor), void *ctx,
                          struct hls_why *why);
struct hls_patstore_feed {
  const char *name;
  const void *filter;
  size_t filter_len;
  int64_t cursor, created_ms, acked_ms;
  bool has_acked;
};
/* Every feed, by name. */
int hls_patstore_each_feed(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patstore_feed *f), void *ctx,
                           struct hls_why *why);
/* *deleted: whether there was such a feed (what it held back goes too). */
int hls_patstore_feed_delete(struct hls_patstore *ps, const char *name, bool *deleted, struct hls_why *why);
/* feeds --vouched: the feed held back event seq of pattern id (its places
 * were not vouched enough); a later one of the pattern replaces it. */
int hls_patstore_feed_withhold(struct hls_patstore *ps, const char *name, const uint8_t id[HLS_PAT_ID_BYTES],
                               int64_t seq, struct hls_why *why);
/* The feed handed out event seq of pattern id: what it held back of the
 * pattern up to seq is done with. */
int hls_patstore_feed_unwithhold(struct hls_patstore *ps, const char *name, const uint8_t id[HLS_PAT_ID_BYTES],
                                 int64_t seq, struct hls_why *why);
/* The seqs of the events the feed holds back, in order; *seqs owned
 * (free), NULL if none. */
int hls_patstore_feed_withheld(struct hls_patstore *ps, const char *name, int64_t **seqs, size_t *n,
                               struct hls_why *why);
/* Move the feed's cursor to seq if that is forward. */
int hls_patstore_feed_ack(struct hls_patstore *ps, const char *name, int64_t seq, int64_t now_ms, struct hls_why *why);

#endif
