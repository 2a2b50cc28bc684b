/* The pattern store (patstore.h): the statements on the patterns,
 * pattern_events and feeds tables, and the columns they share. */
#include "patstore.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "store.h"

enum {
  P_ITEMS_AFTER,
  P_ITEM_ROWID,
  P_ITEM_NOW,
  P_ROWS,
  P_UPSERT,
  P_RETRACT,
  P_EVENT,
  P_LIST,
  P_IDS,
  P_GET,
  P_FEED_ADD,
  P_FEED_GET,
  P_FEED_LIST,
  P_FEED_DEL,
  P_FEED_ACK,
  P_EVENTS_AFTER,
  P_EVENTS_FROM,
  P_EVENT_MAX,
  P_COUNT,
  P_WEEK_EVENTS,
  P_EVENT_GET,
  P_WITHHOLD,
  P_UNWITHHOLD,
  P_WITHHELD,
  P_WITHHELD_DEL,
  P_SAVE_TESTS,
  P__COUNT
};

/* The columns a filter reads, the same in patterns and pattern_events
 * (col_row reads them from a column on). summary is column 10. */
#define PCOLS                                                                                                   \
  "signal, theme, kind, theme2, kind2, week_from, week_to, n_places, scales, regions, summary, strength, live, " \
  "region, places"
#define N_PCOLS 15
#define SUMMARY_COL 10

static const char *const sql[P__COUNT] = {
    [P_ITEMS_AFTER] = "SELECT origin, seq, type, body, id FROM items WHERE id>?1 AND body_state=0"
                      " AND type IN (1, 2, 3, 4) ORDER BY id LIMIT ?2",
    [P_ITEM_ROWID] = "SELECT id FROM items WHERE origin=?1 AND seq=?2",
    [P_ITEM_NOW] = "SELECT origin, seq, type, body FROM items WHERE origin=?1 AND seq=?2",
    [P_ROWS] = "SELECT id, " PCOLS ", origins FROM patterns WHERE retracted=0",
    [P_UPSERT] = "INSERT INTO patterns(id, retracted, " PCOLS ", score, p, p_now, expected, withheld, origins,"
                 " first_ms, updated_ms)"
                 " VALUES(?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
                 " ?20, ?21, ?22, ?23, ?23)"
                 " ON CONFLICT(id) DO UPDATE SET retracted=0, signal=?2, theme=?3, kind=?4, theme2=?5, kind2=?6,"
                 " week_from=?7, week_to=?8, n_places=?9, scales=?10, regions=?11, summary=?12, strength=?13,"
                 " live=?14, region=?15, places=?16, score=?17, p=?18, p_now=?19, expected=?20, withheld=?21,"
                 " origins=?22, updated_ms=?23",
    [P_RETRACT] = "UPDATE patterns SET retracted=1, live=0, updated_ms=?2 WHERE id=?1",
    [P_EVENT] = "INSERT INTO pattern_events(id, change, " PCOLS ", week, at_ms, origins)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    /* The order of the patterns_by_strength index. */
    [P_LIST] = "SELECT " PCOLS ", id, origins FROM patterns WHERE retracted=0 ORDER BY strength DESC, week_to DESC, id",
    [P_IDS] = "SELECT id FROM patterns",
    [P_GET] = "SELECT " PCOLS ", retracted FROM patterns WHERE id=?1",
    [P_FEED_ADD] = "INSERT INTO feeds(name, filter, cursor, created_ms) VALUES(?1, ?2, 0, ?3)",
    [P_FEED_GET] = "SELECT filter, cursor FROM feeds WHERE name=?1",
    [P_FEED_LIST] = "SELECT name, filter, cursor, created_ms, acked_ms FROM feeds ORDER BY name",
    [P_FEED_DEL] = "DELETE FROM feeds WHERE name=?1",
    [P_FEED_ACK] = "UPDATE feeds SET cursor=?2, acked_ms=?3 WHERE name=?1 AND cursor<?2",
    [P_EVENTS_AFTER] = "SELECT seq, change, " PCOLS ", at_ms, id, origins FROM pattern_events WHERE seq>?1"
                       " ORDER BY seq LIMIT ?2",
    [P_EVENTS_FROM] = "SELECT " PCOLS ", origins FROM pattern_events WHERE seq>?1",
    [P_EVENT_MAX] = "SELECT ifnull(max(seq), 0) FROM pattern_events",
    [P_COUNT] = "SELECT signal, live, count(*) FROM patterns WHERE retracted=0 GROUP BY signal, live",
    [P_WEEK_EVENTS] = "SELECT id, change, " PCOLS " FROM pattern_events WHERE week=?1 ORDER BY seq",
    [P_EVENT_GET] = "SELECT seq, change, " PCOLS ", at_ms, id, origins FROM pattern_events WHERE seq=?1",
    /* A feed keeps the latest event held back of each pattern. */
    [P_WITHHOLD] = "INSERT INTO feed_withheld(feed, pattern, seq) VALUES(?1, ?2, ?3)"
                   " ON CONFLICT(feed, pattern) DO UPDATE SET seq=max(seq, excluded.seq)",
    [P_UNWITHHOLD] = "DELETE FROM feed_withheld WHERE feed=?1 AND pattern=?2 AND seq<=?3",
    [P_WITHHELD] = "SELECT seq FROM feed_withheld WHERE feed=?1 ORDER BY seq",
    [P_WITHHELD_DEL] = "DELETE FROM feed_withheld WHERE feed=?1",
    [P_SAVE_TESTS] = "INSERT INTO pattern_tests(id, saved_ms, body) VALUES(1, ?2, ?1)"
                     " ON CONFLICT(id) DO UPDATE SET saved_ms=?2, body=?1",
};

struct hls_patstore {
  sqlite3 *db; /* borrowed */
  sqlite3_stmt *st[P__COUNT];
};

int hls_patstore_open(struct hls_patstore **out, sqlite3 *db, struct hls_why *why) {
  *out = NULL;
  struct hls_patstore *ps = calloc(1, sizeof *ps);
  if (ps == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  ps->db = db;
  for (int i = 0; i < P__COUNT; i++) {
    int src = sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ps->st[i], NULL);
    if (src != SQLITE_OK) {
      int rc = hls_store_sqlite_error(db, src, why);
      hls_why_prefix(why, "patterns: preparing statement %d: ", i);
      hls_patstore_free(ps);
      return rc;
    }
  }
  *out = ps;
  return 0;
}

void hls_patstore_free(struct hls_patstore *ps) {
  if (ps == NULL) return;
  for (int i = 0; i < P__COUNT; i++) sqlite3_finalize(ps->st[i]);
  free(ps);
}

int hls_patstore_oom(struct hls_why *why) { return hls_store_sqlite_error(NULL, SQLITE_NOMEM, why); }

static void done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static const char *col_text(sqlite3_stmt *st, int c) {
  const char *s = (const char *)sqlite3_column_text(st, c);
  return s ? s : "";
}

/* The PCOLS columns from column c on. */
static void col_row(sqlite3_stmt *st, int c, struct hls_patrow *r) {
  r->signal = sqlite3_column_int(st, c + 0);
  r->theme = col_text(st, c + 1);
  r->kind = sqlite3_column_int(st, c + 2);
  r->theme2 = sqlite3_column_type(st, c + 3) == SQLITE_NULL ? NULL : col_text(st, c + 3);
  r->kind2 = sqlite3_column_int(st, c + 4);
  r->week_from = sqlite3_column_int(st, c + 5);
  r->week_to = sqlite3_column_int(st, c + 6);
  r->n_places = sqlite3_column_int64(st, c + 7);
  r->scales = (unsigned)sqlite3_column_int(st, c + 8);
  r->regions = col_text(st, c + 9);
  r->summary = sqlite3_column_blob(st, c + SUMMARY_COL);
  r->summary_len = (size_t)sqlite3_column_bytes(st, c + SUMMARY_COL);
  r->strength = sqlite3_column_double(st, c + 11);
  r->live = sqlite3_column_int(st, c + 12) != 0;
  r->region = col_text(st, c + 13);
  r->places = col_text(st, c + 14);
  r->origins = NULL;
  r->n_origins = 0;
}

/* An origins column (NULL: none kept) into r. */
static void col_origins(sqlite3_stmt *st, int c, struct hls_patrow *r) {
  if (sqlite3_column_type(st, c) != SQLITE_BLOB) return;
  r->origins = sqlite3_column_blob(st, c);
  r->n_origins = (size_t)sqlite3_column_bytes(st, c) / HLS_KEY_BYTES;
}

/* An event as P_EVENTS_AFTER and P_EVENT_GET read it: seq, change, the
 * PCOLS, at_ms, id, origins. */
static void col_event(sqlite3_stmt *st, struct hls_patstore_event *e) {
  memset(e, 0, sizeof *e);
  e->seq = sqlite3_column_int64(st, 0);
  e->change = sqlite3_column_int(st, 1);
  col_row(st, 2, &e->row);
  e->at_ms = sqlite3_column_int64(st, 2 + N_PCOLS);
  if (sqlite3_column_bytes(st, 3 + N_PCOLS) == HLS_PAT_ID_BYTES) e->id = sqlite3_column_blob(st, 3 + N_PCOLS);
  col_origins(st, 4 + N_PCOLS, &e->row);
}

/* The PCOLS of r as parameters first .. first + N_PCOLS - 1. */
static void bind_row(sqlite3_stmt *st, int first, const struct hls_patrow *r) {
  sqlite3_bind_int(st, first + 0, r->signal);
  sqlite3_bind_text(st, first + 1, r->theme, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, first + 2, r->kind);
  if (r->theme2) {
    sqlite3_bind_text(st, first + 3, r->theme2, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, first + 4, r->kind2);
  }
  sqlite3_bind_int(st, first + 5, r->week_from);
  sqlite3_bind_int(st, first + 6, r->week_to);
  sqlite3_bind_int64(st, first + 7, r->n_places);
  sqlite3_bind_int(st, first + 8, (int)r->scales);
  sqlite3_bind_text(st, first + 9, r->regions, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, first + SUMMARY_COL, r->summary, (int)r->summary_len, SQLITE_STATIC);
  sqlite3_bind_double(st, first + 11, r->strength);
  sqlite3_bind_int(st, first + 12, r->live);
  sqlite3_bind_text(st, first + 13, r->region, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, first + 14, r->places, -1, SQLITE_STATIC);
}

static int step_done(struct hls_patstore *ps, sqlite3_stmt *st, struct hls_why *why) {
  int rc = sqlite3_step(st);
  done(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(ps->db, rc, why);
}

/* The end of a walk over st's rows: rc the last sqlite3_step's, or
 * SQLITE_ROW when a callback stopped it with cb. */
static int walk_end(struct hls_patstore *ps, sqlite3_stmt *st, int rc, int cb, struct hls_why *why) {
  done(st);
  if (cb != 0) return cb;
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(ps->db, rc, why);
}

/* Hand the item of st's current row (origin, seq, type, body columns 0-3)
 * to fn; a row with no body or a damaged origin is skipped. */
static int item_row(sqlite3_stmt *st, hls_patstore_item_fn *fn, void *ctx) {
  const uint8_t *body = sqlite3_column_blob(st, 3);
  if (sqlite3_column_bytes(st, 0) != 32 || body == NULL) return 0;
  return fn(ctx, sqlite3_column_blob(st, 0), (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2), body,
            (size_t)sqlite3_column_bytes(st, 3));
}

int hls_patstore_snapshot_open(sqlite3 *db, sqlite3 **out, int64_t *max_id, struct hls_why *why) {
  *out = NULL;
  *max_id = 0;
  const char *path = sqlite3_db_filename(db, "main");
  if (path == NULL || path[0] == '\0') return hls_why_set(why, HLS_EUNSUPPORTED, "patterns: the store has no file");
  sqlite3 *snap = NULL;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_open_v2(path, &snap, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  /* The snapshot starts with the first read of the transaction. */
  if (src == SQLITE_OK) src = sqlite3_exec(snap, "BEGIN", NULL, NULL, NULL);
  if (src == SQLITE_OK) src = sqlite3_prepare_v2(snap, "SELECT ifnull(max(id), 0) FROM items", -1, &st, NULL);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    *max_id = sqlite3_column_int64(st, 0);
    src = SQLITE_OK;
  }
  int rc = src == SQLITE_OK ? 0 : hls_store_sqlite_error(snap, src, why);
  sqlite3_finalize(st);
  if (rc != 0) {
    hls_why_prefix(why, "patterns: opening a snapshot of the store: ");
    sqlite3_close(snap);
    return rc;
  }
  *out = snap;
  return 0;
}

int hls_patstore_snapshot_each_id(sqlite3 *snap, hls_patstore_item_fn *fn, void *ctx, int64_t *id_out,
                                  struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(snap,
                               "SELECT origin, seq, type, body, rowid FROM items WHERE body_state=0 AND type IN (1, 2, 3)"
                               " ORDER BY origin, seq",
                               -1, &st, NULL);
  int cb = 0;
  while (src == SQLITE_OK && cb == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
    src = SQLITE_OK;
    if (id_out != NULL) *id_out = sqlite3_column_int64(st, 4);
    cb = item_row(st, fn, ctx);
  }
  int rc = cb != 0 ? cb : src == SQLITE_OK || src == SQLITE_DONE ? 0 : hls_store_sqlite_error(snap, src, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_patstore_snapshot_each(sqlite3 *snap, hls_patstore_item_fn *fn, void *ctx, struct hls_why *why) {
  return hls_patstore_snapshot_each_id(snap, fn, ctx, NULL, why);
}

int hls_patstore_snapshot_items(sqlite3 *snap, const int64_t *ids, size_t n, hls_patstore_item_fn *fn, void *ctx,
                                struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(snap, "SELECT origin, seq, type, body FROM items WHERE rowid=? AND body_state=0", -1,
                               &st, NULL);
  int cb = 0;
  for (size_t i = 0; i < n && src == SQLITE_OK && cb == 0; i++) {
    sqlite3_bind_int64(st, 1, ids[i]);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) cb = item_row(st, fn, ctx);
    if (src == SQLITE_ROW || src == SQLITE_DONE) src = SQLITE_OK;
    sqlite3_reset(st);
  }
  int rc = cb != 0 ? cb : src == SQLITE_OK ? 0 : hls_store_sqlite_error(snap, src, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_patstore_snapshot_saved_tests(sqlite3 *snap, uint8_t **buf, size_t *len, struct hls_why *why) {
  *buf = NULL;
  *len = 0;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(snap, "SELECT body FROM pattern_tests WHERE id=1", -1, &st, NULL);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *b = sqlite3_column_blob(st, 0);
    if (n > 0 && b != NULL) {
      if ((*buf = malloc(n)) == NULL) {
        sqlite3_finalize(st);
        return hls_patstore_oom(why);
      }
      memcpy(*buf, b, n);
      *len = n;
    }
  }
  int rc = src == SQLITE_ROW || src == SQLITE_DONE ? 0 : hls_store_sqlite_error(snap, src, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_patstore_save_tests(struct hls_patstore *ps, const uint8_t *buf, size_t len, int64_t now_ms,
                            struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_SAVE_TESTS];
  sqlite3_bind_blob64(st, 1, buf, len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now_ms);
  return step_done(ps, st, why);
}

void hls_patstore_snapshot_close(sqlite3 *snap) {
  if (snap == NULL) return;
  sqlite3_exec(snap, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(snap);
}

int hls_patstore_items_after(struct hls_patstore *ps, int64_t *after_id, int limit, hls_patstore_item_fn *fn,
                             void *ctx, size_t *n, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_ITEMS_AFTER];
  sqlite3_bind_int64(st, 1, *after_id);
  sqlite3_bind_int(st, 2, limit);
  int rc = SQLITE_DONE, cb = 0;
  *n = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    *after_id = sqlite3_column_int64(st, 4);
    (*n)++;
    cb = item_row(st, fn, ctx);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_item_rowid(struct hls_patstore *ps, const uint8_t origin[32], uint64_t seq, int64_t *id,
                            struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_ITEM_ROWID];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int rc = sqlite3_step(st);
  *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  return walk_end(ps, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, 0, why);
}

int hls_patstore_item_now(struct hls_patstore *ps, const uint8_t origin[32], uint64_t seq, hls_patstore_item_fn *fn,
                          void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_ITEM_NOW];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int rc = sqlite3_step(st), cb = 0;
  if (rc == SQLITE_ROW) {
    cb = item_row(st, fn, ctx);
    rc = SQLITE_DONE;
  }
  return walk_end(ps, st, rc, cb, why);
}

/* --- patterns and their events --- */

int hls_patstore_upsert(struct hls_patstore *ps, const struct hls_pattern *p, const struct hls_patrow *r,
                        const uint8_t *origins, size_t n_origins, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_UPSERT];
  sqlite3_bind_blob(st, 1, p->id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  bind_row(st, 2, r);
  int c = 2 + N_PCOLS;
  sqlite3_bind_double(st, c + 0, p->score);
  sqlite3_bind_double(st, c + 1, p->p);
  sqlite3_bind_double(st, c + 2, p->p_now);
  sqlite3_bind_double(st, c + 3, p->expected);
  sqlite3_bind_double(st, c + 4, p->withheld);
  sqlite3_bind_blob(st, c + 5, origins, (int)(n_origins * HLS_KEY_BYTES), SQLITE_STATIC);
  sqlite3_bind_int64(st, c + 6, now_ms);
  return step_done(ps, st, why);
}

int hls_patstore_retract(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES], int64_t now_ms,
                         struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_RETRACT];
  sqlite3_bind_blob(st, 1, id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now_ms);
  return step_done(ps, st, why);
}

int hls_patstore_add_event(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES], int change,
                           const struct hls_patrow *r, const int32_t *week, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_EVENT];
  sqlite3_bind_blob(st, 1, id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, change);
  bind_row(st, 3, r);
  if (week != NULL) sqlite3_bind_int(st, 3 + N_PCOLS, *week);
  sqlite3_bind_int64(st, 4 + N_PCOLS, now_ms);
  if (r->origins != NULL)
    sqlite3_bind_blob(st, 5 + N_PCOLS, r->origins, (int)(r->n_origins * HLS_KEY_BYTES), SQLITE_STATIC);
  return step_done(ps, st, why);
}

int hls_patstore_each_live(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patstore_live *l),
                           void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_ROWS];
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != HLS_PAT_ID_BYTES) continue;
    struct hls_patstore_live l = {.id = sqlite3_column_blob(st, 0)};
    col_row(st, 1, &l.row);
    int ob = sqlite3_column_bytes(st, 1 + N_PCOLS);
    l.has_origins = sqlite3_column_type(st, 1 + N_PCOLS) != SQLITE_NULL;
    l.origins = sqlite3_column_blob(st, 1 + N_PCOLS);
    l.origins_len = ob > 0 ? (size_t)ob : 0;
    cb = fn(ctx, &l);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_each_pattern(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patrow *r), void *ctx,
                              struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_LIST];
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_patrow r;
    col_row(st, 0, &r);
    col_origins(st, N_PCOLS + 1, &r);
    cb = fn(ctx, &r);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_each_id(struct hls_patstore *ps, int (*fn)(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES]), void *ctx,
                         struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_IDS];
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != HLS_PAT_ID_BYTES) continue;
    cb = fn(ctx, sqlite3_column_blob(st, 0));
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_get(struct hls_patstore *ps, const uint8_t id[HLS_PAT_ID_BYTES],
                     int (*fn)(void *ctx, const struct hls_patrow *r, bool retracted), void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_GET];
  sqlite3_bind_blob(st, 1, id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    done(st);
    return rc == SQLITE_DONE ? HLS_ENOTFOUND : hls_store_sqlite_error(ps->db, rc, why);
  }
  struct hls_patrow r;
  col_row(st, 0, &r);
  rc = fn(ctx, &r, sqlite3_column_int(st, N_PCOLS) != 0);
  done(st);
  return rc;
}

int hls_patstore_count(struct hls_patstore *ps, int64_t by_signal[HLS_PAT_SIGNAL_COUNT], int64_t *live, int64_t *ended,
                       struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_COUNT];
  *live = *ended = 0;
  if (by_signal) memset(by_signal, 0, HLS_PAT_SIGNAL_COUNT * sizeof *by_signal);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int s = sqlite3_column_int(st, 0);
    int64_t n = sqlite3_column_int64(st, 2);
    if (sqlite3_column_int(st, 1)) {
      *live += n;
      if (by_signal && s >= 0 && s < HLS_PAT_SIGNAL_COUNT) by_signal[s] += n;
    } else {
      *ended += n;
    }
  }
  return walk_end(ps, st, rc, 0, why);
}

int hls_patstore_each_event_after(struct hls_patstore *ps, int64_t after, int limit,
                                  int (*fn)(void *ctx, const struct hls_patstore_event *e), void *ctx, size_t *rows,
                                  struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_EVENTS_AFTER];
  sqlite3_bind_int64(st, 1, after);
  sqlite3_bind_int(st, 2, limit);
  int rc = SQLITE_DONE, cb = 0;
  *rows = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    (*rows)++;
    struct hls_patstore_event e;
    col_event(st, &e);
    cb = fn(ctx, &e);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_event_get(struct hls_patstore *ps, int64_t seq,
                           int (*fn)(void *ctx, const struct hls_patstore_event *e), void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_EVENT_GET];
  sqlite3_bind_int64(st, 1, seq);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    done(st);
    return rc == SQLITE_DONE ? HLS_ENOTFOUND : hls_store_sqlite_error(ps->db, rc, why);
  }
  struct hls_patstore_event e;
  col_event(st, &e);
  rc = fn(ctx, &e);
  done(st);
  return rc;
}

int hls_patstore_each_event_from(struct hls_patstore *ps, int64_t after,
                                 int (*fn)(void *ctx, const struct hls_patrow *r), void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_EVENTS_FROM];
  sqlite3_bind_int64(st, 1, after);
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_patrow r;
    col_row(st, 0, &r);
    col_origins(st, N_PCOLS, &r);
    cb = fn(ctx, &r);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_each_week_event(struct hls_patstore *ps, int32_t week,
                                 int (*fn)(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES], int change,
                                           const struct hls_patrow *r),
                                 void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_WEEK_EVENTS];
  sqlite3_bind_int(st, 1, week);
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != HLS_PAT_ID_BYTES) continue;
    struct hls_patrow r;
    col_row(st, 2, &r);
    cb = fn(ctx, sqlite3_column_blob(st, 0), sqlite3_column_int(st, 1), &r);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_last_event(struct hls_patstore *ps, int64_t *seq, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_EVENT_MAX];
  *seq = 0;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(st, 0);
  done(st);
  return rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(ps->db, rc, why);
}

/* --- feeds --- */

int hls_patstore_feed_add(struct hls_patstore *ps, const char *name, const void *filter, size_t filter_len,
                          int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_FEED_ADD];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, filter, (int)filter_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now_ms);
  int src = sqlite3_step(st);
  done(st);
  if (src == SQLITE_DONE) return 0;
  return (src & 0xff) == SQLITE_CONSTRAINT ? HLS_EEXISTS : hls_store_sqlite_error(ps->db, src, why);
}

int hls_patstore_feed_get(struct hls_patstore *ps, const char *name,
                          int (*fn)(void *ctx, const void *filter, size_t filter_len, int64_t cursor), void *ctx,
                          struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_FEED_GET];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    done(st);
    return rc == SQLITE_DONE ? HLS_ENOTFOUND : hls_store_sqlite_error(ps->db, rc, why);
  }
  int64_t cursor = sqlite3_column_int64(st, 1);
  rc = fn(ctx, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), cursor);
  done(st);
  return rc;
}

int hls_patstore_each_feed(struct hls_patstore *ps, int (*fn)(void *ctx, const struct hls_patstore_feed *f), void *ctx,
                           struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_FEED_LIST];
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_patstore_feed f = {.name = col_text(st, 0)};
    f.filter_len = (size_t)sqlite3_column_bytes(st, 1);
    f.filter = sqlite3_column_blob(st, 1);
    f.cursor = sqlite3_column_int64(st, 2);
    f.created_ms = sqlite3_column_int64(st, 3);
    f.has_acked = sqlite3_column_type(st, 4) != SQLITE_NULL;
    f.acked_ms = sqlite3_column_int64(st, 4);
    cb = fn(ctx, &f);
  }
  return walk_end(ps, st, rc, cb, why);
}

int hls_patstore_feed_delete(struct hls_patstore *ps, const char *name, bool *deleted, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_FEED_DEL];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = step_done(ps, st, why);
  *deleted = rc == 0 && sqlite3_changes(ps->db) != 0;
  if (rc == 0) {
    st = ps->st[P_WITHHELD_DEL];
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = step_done(ps, st, why);
  }
  return rc;
}

int hls_patstore_feed_withhold(struct hls_patstore *ps, const char *name, const uint8_t id[HLS_PAT_ID_BYTES],
                               int64_t seq, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_WITHHOLD];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, seq);
  return step_done(ps, st, why);
}

int hls_patstore_feed_unwithhold(struct hls_patstore *ps, const char *name, const uint8_t id[HLS_PAT_ID_BYTES],
                                 int64_t seq, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_UNWITHHOLD];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, id, HLS_PAT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, seq);
  return step_done(ps, st, why);
}

int hls_patstore_feed_withheld(struct hls_patstore *ps, const char *name, int64_t **seqs, size_t *n,
                               struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_WITHHELD];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  *seqs = NULL;
  *n = 0;
  size_t cap = 0;
  int rc = SQLITE_DONE, cb = 0;
  while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      int64_t *grown = realloc(*seqs, cap * sizeof *grown);
      if (grown == NULL) {
        cb = HLS_ENOMEM;
        break;
      }
      *seqs = grown;
    }
    (*seqs)[(*n)++] = sqlite3_column_int64(st, 0);
  }
  rc = walk_end(ps, st, rc, cb, why);
  if (rc == HLS_ENOMEM) rc = hls_patstore_oom(why);
  if (rc != 0) {
    free(*seqs);
    *seqs = NULL;
    *n = 0;
  }
  return rc;
}

int hls_patstore_feed_ack(struct hls_patstore *ps, const char *name, int64_t seq, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = ps->st[P_FEED_ACK];
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, now_ms);
  return step_done(ps, st, why);
}
