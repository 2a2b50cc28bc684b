#include "gstore.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum {
  G_GET,
  G_STUBS,
  G_FORK_PUT,
  G_HEADS,
  G_HEAD_ID,
  G_PROFILE,
  G_FORKED,
  G_COUNTS,
  G_FORK_COUNT,
  G_FORK_LIST,
  G_STATE,
  G_ORIGIN_COUNTS,
  G__COUNT
};

static const char *const sql[G__COUNT] = {
    [G_GET] = "SELECT stub, body, body_state, audience FROM items WHERE origin=?1 AND seq=?2",
    [G_STUBS] = "SELECT seq FROM items WHERE origin=?1 AND seq>?2 AND body_state=1 AND audience=1 ORDER BY seq"
                " LIMIT ?3",
    [G_FORK_PUT] = "INSERT OR IGNORE INTO forks(origin, seq, ours, theirs, found_ms, reporter, report_seq)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Heads, head ids, profiles and counts from the origins summary the
     * store keeps with every write (migration 11): at start, a read of one
     * row per origin, not a scan of every item held. */
    [G_HEADS] = "SELECT origin, head_seq FROM origins UNION ALL"
                " SELECT DISTINCT origin, 0 FROM forks WHERE origin NOT IN (SELECT origin FROM origins)",
    [G_HEAD_ID] = "SELECT head_id FROM origins WHERE origin=?1 AND head_seq=?2",
    [G_PROFILE] = "SELECT profile FROM origins WHERE origin=?1 AND profile IS NOT NULL",
    [G_FORKED] = "SELECT 1 FROM forks WHERE origin=?1 LIMIT 1",
    [G_COUNTS] = "SELECT ifnull(sum(items), 0), ifnull(sum(items - stubs - erased), 0), ifnull(sum(stubs), 0),"
                 " ifnull(sum(erased), 0) FROM origins",
    [G_FORK_COUNT] = "SELECT count(*) FROM forks",
    [G_FORK_LIST] = "SELECT origin, seq, found_ms, reporter, report_seq FROM forks ORDER BY found_ms DESC LIMIT 100",
    [G_STATE] = "SELECT body_state FROM items WHERE origin=?1 AND seq=?2",
    [G_ORIGIN_COUNTS] = "SELECT ifnull(sum(items - stubs - erased), 0), ifnull(sum(stubs), 0), ifnull(sum(erased), 0)"
                        " FROM origins WHERE origin=?1",
};

struct hls_gstore {
  struct hls_store *store;
  sqlite3 *db;
  sqlite3_stmt *st[G__COUNT];
  /* the last item read by get: its views point here */
  uint8_t *stub, *body;
  size_t stub_cap, body_cap;
};

static void done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

int hls_gstore_open(struct hls_gstore **out, struct hls_store *store, struct hls_why *why) {
  *out = NULL;
  struct hls_gstore *gs = calloc(1, sizeof *gs);
  if (gs == NULL) return HLS_ENOMEM;
  gs->store = store;
  gs->db = hls_store_db(store);
  for (int i = 0; i < G__COUNT; i++) {
    int rc = sqlite3_prepare_v3(gs->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &gs->st[i], NULL);
    if (rc != SQLITE_OK) {
      rc = hls_store_sqlite_error(gs->db, rc, why);
      hls_gstore_free(gs);
      return rc;
    }
  }
  *out = gs;
  return 0;
}

void hls_gstore_free(struct hls_gstore *gs) {
  if (gs == NULL) return;
  for (int i = 0; i < G__COUNT; i++) sqlite3_finalize(gs->st[i]);
  free(gs->stub);
  free(gs->body);
  free(gs);
}

static int copy_col(sqlite3_stmt *st, int col, uint8_t **buf, size_t *cap, const uint8_t **view, size_t *len) {
  const void *b = sqlite3_column_blob(st, col);
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  if (b == NULL) {
    *view = NULL;
    *len = 0;
    return 0;
  }
  if (n > *cap) {
    uint8_t *p = realloc(*buf, n);
    if (p == NULL) return HLS_ENOMEM;
    *buf = p;
    *cap = n;
  }
  memcpy(*buf, b, n);
  *view = *buf;
  *len = n;
  return 0;
}

int hls_gstore_get(void *ctx, const uint8_t origin[32], uint64_t seq, struct hls_gossip_item *out) {
  struct hls_gstore *gs = ctx;
  sqlite3_stmt *st = gs->st[G_GET];
  memset(out, 0, sizeof *out);
  if (seq > INT64_MAX) return HLS_ENOTFOUND;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    rc = copy_col(st, 0, &gs->stub, &gs->stub_cap, &out->stub, &out->stub_len);
    if (rc == 0) rc = copy_col(st, 1, &gs->body, &gs->body_cap, &out->body, &out->body_len);
    out->state = sqlite3_column_int(st, 2);
    out->audience = sqlite3_column_int(st, 3);
    if (rc == 0 && out->stub == NULL) rc = HLS_ESTORE;
  } else if (rc == SQLITE_DONE) {
    rc = HLS_ENOTFOUND;
  } else {
    rc = hls_store_sqlite_error(gs->db, rc, NULL);
  }
  done(st);
  return rc;
}

int hls_gstore_stubs(void *ctx, const uint8_t origin[32], uint64_t after, uint64_t *seqs, size_t max, size_t *n) {
  struct hls_gstore *gs = ctx;
  sqlite3_stmt *st = gs->st[G_STUBS];
  *n = 0;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, after > INT64_MAX ? INT64_MAX : (int64_t)after);
  sqlite3_bind_int64(st, 3, (int64_t)max);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) seqs[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
  done(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(gs->db, rc, NULL);
}

int hls_gstore_put_run(struct hls_gstore *gs, const struct hls_envelope *envs, const int *states, size_t n,
                       int64_t now_ms, struct hls_why *why) {
  int rc = hls_store_defer_begin(gs->store, why);
  if (rc != 0) return rc;
  rc = hls_store_item_put_run(gs->store, envs, states, n, now_ms, why);
  int end = hls_store_defer_end(gs->store, rc == 0, rc == 0 ? why : NULL);
  return rc != 0 ? rc : end;
}

/* Through the store, which keeps its summaries of items (origins,
 * story_themes) with the body. */
int hls_gstore_put_body(struct hls_gstore *gs, const struct hls_envelope *env, bool *changed, struct hls_why *why) {
  *changed = false;
  int rc = hls_store_defer_begin(gs->store, why);
  if (rc != 0) return rc;
  rc = hls_store_item_fill_body(gs->store, env->h.origin, env->h.seq, env->body, env->body_len, changed, why);
  int end = hls_store_defer_end(gs->store, rc == 0, rc == 0 ? why : NULL);
  if (rc == 0 && end != 0) *changed = false;
  return rc != 0 ? rc : end;
}

int hls_gstore_erase(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq, int64_t tombstone_ms,
                     int64_t now_ms, bool *owed, struct hls_why *why) {
  *owed = false;
  int rc = hls_store_defer_begin(gs->store, why);
  if (rc != 0) return rc;
  int was = hls_gstore_state(gs, origin, seq);
  rc = hls_store_item_erase(gs->store, origin, seq, why);
  if (rc == 0) rc = hls_store_receipt_owe(gs->store, origin, seq, was, tombstone_ms, now_ms, owed, why);
  if (rc != 0) *owed = false;
  int end = hls_store_defer_end(gs->store, rc == 0, rc == 0 ? why : NULL);
  return rc != 0 ? rc : end;
}

int hls_gstore_fork_put(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq, const uint8_t *ours,
                        size_t ours_len, const uint8_t *theirs, size_t theirs_len,
                        const struct hls_gstore_fork_report *report, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = gs->st[G_FORK_PUT];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_blob(st, 3, ours, (int)ours_len, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, theirs, (int)theirs_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, now_ms);
  if (report != NULL) {
    sqlite3_bind_blob(st, 6, report->reporter, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (int64_t)report->report_seq);
  } else {
    sqlite3_bind_null(st, 6);
    sqlite3_bind_null(st, 7);
  }
  int rc = sqlite3_step(st);
  done(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(gs->db, rc, why);
}

int hls_gstore_each_origin(struct hls_gstore *gs, hls_gstore_origin_fn fn, void *ctx, struct hls_why *why) {
  /* Collect the heads first: the callbacks run the other statements. */
  struct head {
    uint8_t origin[32];
    uint64_t seq;
  } *heads = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *st = gs->st[G_HEADS];
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      struct head *h = realloc(heads, cap * sizeof *h);
      if (h == NULL) {
        done(st);
        free(heads);
        return HLS_ENOMEM;
      }
      heads = h;
    }
    memcpy(heads[n].origin, sqlite3_column_blob(st, 0), 32);
    heads[n++].seq = (uint64_t)sqlite3_column_int64(st, 1);
  }
  done(st);
  rc = rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(gs->db, rc, why);
  for (size_t i = 0; i < n && rc == 0; i++) {
    uint8_t id[32] = {0};
    bool forked = false, has_profile = false;
    struct hls_profile prof;
    /* A read that fails is the walk's error: an origin loaded without its
     * fork mark would be followed again, one with a zero head id would
     * refuse the next item of its chain. */
    st = gs->st[G_HEAD_ID];
    sqlite3_bind_blob(st, 1, heads[i].origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)heads[i].seq);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) memcpy(id, sqlite3_column_blob(st, 0), 32);
    done(st);
    if (step == SQLITE_ROW || step == SQLITE_DONE) {
      st = gs->st[G_FORKED];
      sqlite3_bind_blob(st, 1, heads[i].origin, 32, SQLITE_STATIC);
      step = sqlite3_step(st);
      forked = step == SQLITE_ROW;
      done(st);
    }
    if (step == SQLITE_ROW || step == SQLITE_DONE) {
      st = gs->st[G_PROFILE];
      sqlite3_bind_blob(st, 1, heads[i].origin, 32, SQLITE_STATIC);
      step = sqlite3_step(st);
      if (step == SQLITE_ROW)
        has_profile = hls_profile_decode(&prof, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                         NULL) == 0;
      done(st);
    }
    if (step == SQLITE_ROW || step == SQLITE_DONE)
      rc = fn(ctx, heads[i].origin, heads[i].seq, id, forked, has_profile ? &prof : NULL);
    else
      rc = hls_store_sqlite_error(gs->db, step, why);
  }
  free(heads);
  return rc;
}

int hls_gstore_profile(struct hls_gstore *gs, const uint8_t origin[32], struct hls_profile *out, bool *found,
                       struct hls_why *why) {
  sqlite3_stmt *st = gs->st[G_PROFILE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int step = sqlite3_step(st);
  *found = step == SQLITE_ROW &&
           hls_profile_decode(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), NULL) == 0;
  done(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : hls_store_sqlite_error(gs->db, step, why);
}

int hls_gstore_state(struct hls_gstore *gs, const uint8_t origin[32], uint64_t seq) {
  sqlite3_stmt *st = gs->st[G_STATE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int state = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  done(st);
  return state;
}

int hls_gstore_origin_counts(struct hls_gstore *gs, const uint8_t origin[32], struct hls_gstore_counts *out,
                             struct hls_why *why) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = gs->st[G_ORIGIN_COUNTS];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->held = sqlite3_column_int64(st, 0);
    out->stubs = sqlite3_column_int64(st, 1);
    out->erased = sqlite3_column_int64(st, 2);
    out->items = out->held + out->stubs + out->erased;
  }
  done(st);
  return rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(gs->db, rc, why);
}

int hls_gstore_counts(struct hls_gstore *gs, struct hls_gstore_counts *out, struct hls_why *why) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = gs->st[G_COUNTS];
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->items = sqlite3_column_int64(st, 0);
    out->held = sqlite3_column_int64(st, 1);
    out->stubs = sqlite3_column_int64(st, 2);
    out->erased = sqlite3_column_int64(st, 3);
  }
  done(st);
  if (rc != SQLITE_ROW) return hls_store_sqlite_error(gs->db, rc, why);
  st = gs->st[G_FORK_COUNT];
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) out->forks = sqlite3_column_int64(st, 0);
  done(st);
  return rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(gs->db, rc, why);
}

int hls_gstore_each_fork(struct hls_gstore *gs, hls_gstore_fork_fn fn, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = gs->st[G_FORK_LIST];
  int rc = SQLITE_DONE, frc = 0;
  while (frc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    uint8_t origin[32];
    memcpy(origin, sqlite3_column_blob(st, 0), 32);
    struct hls_gstore_fork_report report = {.report_seq = (uint64_t)sqlite3_column_int64(st, 4)};
    bool reported = sqlite3_column_bytes(st, 3) == 32;
    if (reported) memcpy(report.reporter, sqlite3_column_blob(st, 3), 32);
    frc = fn(ctx, origin, (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
             reported ? &report : NULL);
  }
  done(st);
  if (frc != 0) return frc;
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(gs->db, rc, why);
}
