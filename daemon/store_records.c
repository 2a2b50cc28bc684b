/* Learning records (store.h): records with their themes and
 * fingerprints, the record list, counts and themes in use; consent that
 * expires; share decisions; and what there is to publish (the days,
 * counts and story candidates summarise.c makes digests and stories
 * from). The SQL is in store.c's statement table, but the record list's,
 * built here for each combination of filters. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_internal.h"

/* --- records ----------------------------------------------------------- */

void hls_store__bind_record(sqlite3_stmt *st, const struct hls_record *r, int64_t now_ms) {
  sqlite3_bind_text(st, 1, r->title, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)r->scale);
  sqlite3_bind_int(st, 3, (int)r->stage);
  sqlite3_bind_int64(st, 4, r->date);
  hls_store__bind_text_or_null(st, 5, r->context);
  hls_store__bind_text_or_null(st, 6, r->tried);
  hls_store__bind_text_or_null(st, 7, r->happened);
  hls_store__bind_text_or_null(st, 8, r->learnt);
  hls_store__bind_text_or_null(st, 9, r->author_role);
  sqlite3_bind_int(st, 10, (int)r->consent);
  hls_store__bind_text_or_null(st, 11, r->consent_by);
  hls_store__bind_text_or_null(st, 12, r->consent_purpose);
  if (r->has_consent_expires)
    sqlite3_bind_int64(st, 13, r->consent_expires);
  else
    sqlite3_bind_null(st, 13);
  sqlite3_bind_int64(st, 14, now_ms);
  sqlite3_bind_int(st, 16, r->consent_ended);
  hls_store__bind_text_or_null(st, 18, r->created_by);
  if (r->has_retain_until)
    sqlite3_bind_int64(st, 19, r->retain_until);
  else
    sqlite3_bind_null(st, 19);
  uint8_t print[HLS_RECORD_FINGERPRINT_BYTES];
  hls_record_fingerprint(r, print);
  sqlite3_bind_blob(st, 17, print, sizeof print, SQLITE_TRANSIENT);
}

/* The id of a theme slug, creating the theme if it is new. A lookup
 * first: an upsert would rewrite the row every time. */
static int theme_id(struct hls_store *s, const char *slug, int64_t *id, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_THEME_FIND];
  sqlite3_bind_text(st, 1, slug, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  st = s->stmt[ST_THEME_NEW];
  sqlite3_bind_text(st, 1, slug, -1, SQLITE_STATIC);
  if ((rc = hls_store__step_done(s, st, why)) != 0) return rc;
  *id = sqlite3_last_insert_rowid(s->db);
  return 0;
}

static int insert_themes(struct hls_store *s, int64_t record_id, const struct hls_record *r, struct hls_why *why) {
  int rc;
  for (size_t i = 0; i < r->n_themes; i++) {
    int64_t id = 0;
    if ((rc = theme_id(s, r->themes[i].slug, &id, why)) != 0) return rc;
    sqlite3_stmt *st = s->stmt[ST_RT_INSERT];
    sqlite3_bind_int64(st, 1, record_id);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int(st, 3, (int)r->themes[i].kind);
    sqlite3_bind_int64(st, 4, r->date);
    if ((rc = hls_store__step_done(s, st, why)) != 0) return rc;
  }
  return 0;
}

int hls_store_record_insert(struct hls_store *s, struct hls_record *r, int64_t now_ms, struct hls_why *why) {
  bool own_txn = sqlite3_get_autocommit(s->db);
  int rc;
  if (own_txn && (rc = hls_store__begin(s, why)) != 0) return rc;
  sqlite3_stmt *st = s->stmt[ST_REC_INSERT];
  hls_store__bind_record(st, r, now_ms);
  if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
  int64_t id = sqlite3_last_insert_rowid(s->db);
  if ((rc = insert_themes(s, id, r, why)) != 0) goto fail;
  if (own_txn && (rc = hls_store__commit(s, why)) != 0) goto fail;
  r->id = id;
  r->created_ms = r->updated_ms = now_ms;
  return 0;
fail:
  if (own_txn) hls_store__rollback(s);
  return rc;
}

/* Fill r from a row of REC_COLS (or REC_COLS_SHORT when !full). */
static int load_row(struct hls_store *s, sqlite3_stmt *st, struct hls_record *r, bool full, struct hls_why *why) {
  hls_record_clear(r);
  r->id = sqlite3_column_int64(st, 0);
  r->title = hls_store__column_strdup(st, 1);
  r->scale = (enum hls_scale)sqlite3_column_int(st, 2);
  r->stage = (enum hls_stage)sqlite3_column_int(st, 3);
  r->has_scale = r->has_stage = true;
  r->date = (hls_day)sqlite3_column_int64(st, 4);
  r->has_date = true;
  r->author_role = hls_store__column_strdup(st, 5);
  r->consent = (enum hls_consent)sqlite3_column_int(st, 6);
  r->consent_by = hls_store__column_strdup(st, 7);
  r->consent_purpose = hls_store__column_strdup(st, 8);
  r->has_consent_expires = sqlite3_column_type(st, 9) != SQLITE_NULL;
  r->consent_expires = (hls_day)sqlite3_column_int64(st, 9);
  r->created_ms = sqlite3_column_int64(st, 10);
  r->updated_ms = sqlite3_column_int64(st, 11);
  r->consent_ended = sqlite3_column_int(st, 12);
  r->created_by = hls_store__column_strdup(st, 13);
  r->has_retain_until = sqlite3_column_type(st, 14) != SQLITE_NULL;
  r->retain_until = (hls_day)sqlite3_column_int64(st, 14);
  if (full) {
    r->context = hls_store__column_strdup(st, 15);
    r->tried = hls_store__column_strdup(st, 16);
    r->happened = hls_store__column_strdup(st, 17);
    r->learnt = hls_store__column_strdup(st, 18);
  }
  if (r->title == NULL) return HLS_ENOMEM;
  sqlite3_stmt *ts = s->stmt[ST_REC_THEMES];
  sqlite3_bind_int64(ts, 1, r->id);
  int rc;
  while ((rc = sqlite3_step(ts)) == SQLITE_ROW && r->n_themes < HLS_THEMES_PER_RECORD) {
    struct hls_theme *t = &r->themes[r->n_themes++];
    snprintf(t->slug, sizeof t->slug, "%s", (const char *)sqlite3_column_text(ts, 0));
    t->kind = (enum hls_kind)sqlite3_column_int(ts, 1);
  }
  sqlite3_reset(ts);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return hls_store_sqlite_error(s->db, rc, why);
  return 0;
}

int hls_store_record_get(struct hls_store *s, int64_t id, struct hls_record *out, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_REC_GET];
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    rc = load_row(s, st, out, true, why);
  } else if (rc == SQLITE_DONE) {
    rc = hls_why_set(why, HLS_ENOTFOUND, "record %lld: no such record", (long long)id);
  } else {
    rc = hls_store_sqlite_error(s->db, rc, why);
  }
  sqlite3_reset(st);
  return rc;
}

int hls_store_record_update(struct hls_store *s, struct hls_record *r, int64_t now_ms, struct hls_why *why) {
  bool own_txn = sqlite3_get_autocommit(s->db);
  int rc;
  if (own_txn && (rc = hls_store__begin(s, why)) != 0) return rc;
  sqlite3_stmt *st = s->stmt[ST_REC_UPDATE];
  hls_store__bind_record(st, r, now_ms);
  sqlite3_bind_int64(st, 15, r->id);
  if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
  if (sqlite3_changes(s->db) == 0) {
    rc = hls_why_set(why, HLS_ENOTFOUND, "record %lld: no such record", (long long)r->id);
    goto fail;
  }
  st = s->stmt[ST_RT_DELETE];
  sqlite3_bind_int64(st, 1, r->id);
  if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
  if ((rc = insert_themes(s, r->id, r, why)) != 0) goto fail;
  if (own_txn && (rc = hls_store__commit(s, why)) != 0) goto fail;
  r->updated_ms = now_ms;
  return 0;
fail:
  if (own_txn) hls_store__rollback(s);
  return rc;
}

int hls_store_record_delete(struct hls_store *s, int64_t id, struct hls_why *why) {
  /* Room first: a deletion is never done without its note. */
  if (s->n_erased == s->cap_erased) {
    size_t cap = s->cap_erased ? 2 * s->cap_erased : 64;
    struct hls_erasure *e = realloc(s->erased, cap * sizeof *e);
    if (e == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
    s->erased = e;
    s->cap_erased = cap;
  }
  sqlite3_stmt *st = s->stmt[ST_REC_DELETE];
  sqlite3_bind_int64(st, 1, id);
  /* record_themes rows go by ON DELETE CASCADE. */
  int rc = sqlite3_step(st);
  bool found = rc == SQLITE_ROW;
  int64_t created_ms = found ? sqlite3_column_int64(st, 0) : 0;
  if (found) rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  if (!found) return hls_why_set(why, HLS_ENOTFOUND, "record %lld: no such record", (long long)id);
  s->erased[s->n_erased++] = (struct hls_erasure){.record_id = id, .created_ms = created_ms};
  /* Outside a transaction the deletion is committed already. */
  if (sqlite3_get_autocommit(s->db)) hls_store__erased_flush(s);
  return 0;
}

static int id_order(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int hls_store_erasures_held(struct hls_store *s, const struct hls_erasure *e, size_t n, int64_t **ids, size_t *n_ids,
                            struct hls_why *why) {
  *ids = NULL;
  *n_ids = 0;
  if (n == 0) return 0;
  int64_t *out = malloc(n * sizeof *out);
  if (out == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  sqlite3_stmt *st = NULL;
  int rc = hls_store__prepare(s, "SELECT 1 FROM records WHERE id=?1 AND created_ms=?2", &st, why);
  size_t k = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    sqlite3_bind_int64(st, 1, e[i].record_id);
    sqlite3_bind_int64(st, 2, e[i].created_ms);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) out[k++] = e[i].record_id;
    else if (step != SQLITE_DONE)
      rc = hls_store_sqlite_error(s->db, step, why);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st); /* NULL is harmless */
  if (rc != 0) {
    free(out);
    return rc;
  }
  /* The list may name a record twice (deleted again after a restore). */
  qsort(out, k, sizeof *out, id_order);
  size_t u = 0;
  for (size_t i = 0; i < k; i++)
    if (u == 0 || out[u - 1] != out[i]) out[u++] = out[i];
  *ids = out;
  *n_ids = u;
  return 0;
}

void hls_record_filter_init(struct hls_record_filter *f) {
  memset(f, 0, sizeof *f);
  f->scale = f->stage = f->consent = f->theme_kind = -1;
}

static sqlite3_stmt *list_stmt(struct hls_store *s, int mask, struct hls_why *why) {
  if (s->list_stmt[mask] != NULL) return s->list_stmt[mask];
  char sql[1024];
  int n = snprintf(sql, sizeof sql, "SELECT %s FROM ", (mask & F_FULL) ? REC_COLS : REC_COLS_SHORT);
  /* With a theme, start from the theme index; otherwise walk records in
   * date order so LIMIT stops early. */
  if (mask & F_THEME)
    n += snprintf(sql + n, sizeof sql - (size_t)n,
                  "record_themes rt JOIN records r ON r.id=rt.record_id"
                  " WHERE rt.theme_id=(SELECT id FROM themes WHERE slug=?1) AND (?11<0 OR rt.kind=?11)");
  else
    n += snprintf(sql + n, sizeof sql - (size_t)n, "records r WHERE 1");
  if (mask & F_SCALE) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND r.scale=?2");
  if (mask & F_STAGE) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND r.stage=?3");
  if (mask & F_CONSENT) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND r.consent=?4");
  if (mask & F_TEXT)
    n += snprintf(sql + n, sizeof sql - (size_t)n,
                  " AND (r.id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?10)"
                  " OR r.id IN (SELECT rt2.record_id FROM themes t2 JOIN record_themes rt2 ON rt2.theme_id=t2.id"
                  " WHERE ?12 IS NOT NULL AND ('-' || t2.slug || '-') LIKE ?12))");
  /* Order (and date ranges) on the driving table's columns, so the index
   * walk needs no sort. */
  const char *t = (mask & F_THEME) ? "rt" : "r";
  const char *id = (mask & F_THEME) ? "rt.record_id" : "r.id";
  if (mask & F_SINCE) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND %s.day>=?5", t);
  if (mask & F_UNTIL) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND %s.day<=?6", t);
  if (mask & F_AFTER) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND (%s.day<?8 OR (%s.day=?8 AND %s<?9))", t, t, id);
  snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY %s.day DESC, %s DESC LIMIT ?7", t, id);
  int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->list_stmt[mask], NULL);
  if (rc != SQLITE_OK) {
    hls_store_sqlite_error(s->db, rc, why);
    return NULL;
  }
  return s->list_stmt[mask];
}

int hls_store_record_list(struct hls_store *s, const struct hls_record_filter *f, hls_record_cb cb, void *ctx,
                          struct hls_why *why) {
  int mask = (f->theme ? F_THEME : 0) | (f->scale >= 0 ? F_SCALE : 0) | (f->stage >= 0 ? F_STAGE : 0) |
             (f->consent >= 0 ? F_CONSENT : 0) | (f->has_since ? F_SINCE : 0) | (f->has_until ? F_UNTIL : 0) |
             (f->full ? F_FULL : 0) | (f->has_after ? F_AFTER : 0) | (f->text ? F_TEXT : 0);
  sqlite3_stmt *st = list_stmt(s, mask, why);
  if (st == NULL) return HLS_ESTORE;
  if (f->theme) sqlite3_bind_text(st, 1, f->theme, -1, SQLITE_STATIC), sqlite3_bind_int(st, 11, f->theme_kind);
  if (f->scale >= 0) sqlite3_bind_int(st, 2, f->scale);
  if (f->stage >= 0) sqlite3_bind_int(st, 3, f->stage);
  if (f->consent >= 0) sqlite3_bind_int(st, 4, f->consent);
  if (f->has_since) sqlite3_bind_int64(st, 5, f->since);
  if (f->has_until) sqlite3_bind_int64(st, 6, f->until);
  sqlite3_bind_int64(st, 7, f->limit > 0 ? f->limit : -1);
  if (f->has_after) sqlite3_bind_int64(st, 8, f->after_day), sqlite3_bind_int64(st, 9, f->after_id);
  if (f->text) sqlite3_bind_text(st, 10, f->text, -1, SQLITE_STATIC);
  if (f->text) hls_store__bind_text_or_null(st, 12, f->text_themes);
  struct hls_record r;
  hls_record_init(&r);
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((result = load_row(s, st, &r, f->full, why)) != 0) break;
    if ((result = cb(ctx, &r)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  hls_record_clear(&r);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int hls_store_counts(struct hls_store *s, struct hls_store_counts *out, struct hls_why *why) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = s->stmt[ST_COUNT_CONSENT];
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int level = sqlite3_column_int(st, 0);
    int64_t n = sqlite3_column_int64(st, 1);
    if (level >= 0 && level < HLS_CONSENT_COUNT) out->by_consent[level] = n;
    out->records += n;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  st = s->stmt[ST_COUNT_THEMES];
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) out->themes = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return hls_store_sqlite_error(s->db, rc, why);
  char wal[4096 + 8];
  snprintf(wal, sizeof wal, "%s-wal", s->path);
  out->bytes = file_size(s->path) + file_size(wal);
  return 0;
}

int hls_store_themes(struct hls_store *s, hls_theme_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_THEMES];
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_theme_count t = {
        .slug = (const char *)sqlite3_column_text(st, 0),
        .kind = (enum hls_kind)sqlite3_column_int(st, 1),
        .total = sqlite3_column_int64(st, 2),
    };
    for (int i = 0; i < HLS_SCALE_COUNT; i++) t.by_scale[i] = sqlite3_column_int64(st, 3 + i);
    if ((result = cb(ctx, &t)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  return result;
}

/* --- consent -------------------------------------------------------------------- */

int hls_store_expire_consents(struct hls_store *s, hls_day today, int64_t now_ms, int64_t *count,
                              struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_EXPIRE_SHARES];
  sqlite3_bind_int64(st, 1, today);
  int rc = hls_store__step_done(s, st, why);
  st = s->stmt[ST_EXPIRE];
  sqlite3_bind_int64(st, 1, today);
  sqlite3_bind_int64(st, 2, now_ms);
  if (rc == 0) rc = hls_store__step_done(s, st, why);
  *count = rc == 0 ? sqlite3_changes(s->db) : 0;
  return rc;
}

int hls_store_next_expiry(struct hls_store *s, hls_day *day, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_NEXT_EXPIRY];
  int rc = sqlite3_step(st);
  bool found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
  if (found) *day = (hls_day)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return hls_store_sqlite_error(s->db, rc, why);
  return found ? 0 : HLS_ENOTFOUND;
}

/* --- retention ---------------------------------------------------------------------- */

static void bind_retention(sqlite3_stmt *st, const struct hls_retention_query *q) {
  for (int scale = 0; scale < HLS_SCALE_COUNT; scale++) {
    hls_day cut;
    if (hls_period_cutoff(q->before, &q->rules[scale], &cut))
      sqlite3_bind_int64(st, scale + 1, cut);
    else
      sqlite3_bind_null(st, scale + 1);
  }
  sqlite3_bind_int64(st, 5, q->before);
}

int hls_store_retention_due(struct hls_store *s, const struct hls_retention_query *q, int64_t limit, hls_id_cb cb,
                            void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_RETENTION_DUE];
  bind_retention(st, q);
  sqlite3_bind_int64(st, 6, limit > 0 ? limit : -1);
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((result = cb(ctx, sqlite3_column_int64(st, 0))) != 0) break;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (result != 0) return result;
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  return 0;
}

static int count_of(struct hls_store *s, sqlite3_stmt *st, int64_t *count, struct hls_why *why) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_retention_count(struct hls_store *s, const struct hls_retention_query *q, int64_t *due,
                              int64_t *own_date, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_RETENTION_COUNT];
  bind_retention(st, q);
  int rc = count_of(s, st, due, why);
  if (rc == 0) rc = count_of(s, s->stmt[ST_RETAIN_OWN], own_date, why);
  return rc;
}

/* --- what there is to publish -------------------------------------------------------- */

int hls_store_countable_days(struct hls_store *s, hls_day today, hls_day_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_COUNTABLE_DAYS];
  sqlite3_bind_int64(st, 1, today);
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((result = cb(ctx, (hls_day)sqlite3_column_int64(st, 0))) != 0) break;
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

int hls_store_week_counts(struct hls_store *s, hls_day first, hls_day last, hls_day today, hls_cell_cb cb, void *ctx,
                          struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_WEEK_COUNTS];
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  sqlite3_bind_int64(st, 3, today);
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t n = sqlite3_column_int64(st, 4);
    struct hls_cell_raw c = {
        .theme = (const char *)sqlite3_column_text(st, 0),
        .kind = sqlite3_column_int(st, 1),
        .scale = sqlite3_column_int(st, 2),
        .stage = sqlite3_column_int(st, 3),
        .count = n > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)n,
    };
    if ((result = cb(ctx, &c)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

int hls_store_story_candidates(struct hls_store *s, hls_day today, hls_record_cb cb, void *ctx,
                               struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_STORY_CANDIDATES];
  sqlite3_bind_int64(st, 1, today);
  struct hls_record r;
  hls_record_init(&r);
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((result = load_row(s, st, &r, true, why)) != 0) break;
    if ((result = cb(ctx, &r)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  hls_record_clear(&r);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

/* --- share decisions --------------------------------------------------------------------- */

const char *hls_share_state_name(int state) {
  return state == HLS_SHARE_PENDING ? "awaiting_review" : state == HLS_SHARE_APPROVED ? "approved"
                                                         : state == HLS_SHARE_REJECTED ? "rejected" : "?";
}

int hls_store_share_get(struct hls_store *s, int64_t record_id, struct hls_share *out, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_SHARE_GET];
  memset(out, 0, sizeof *out);
  sqlite3_bind_int64(st, 1, record_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->record_id = sqlite3_column_int64(st, 0);
    out->state = sqlite3_column_int(st, 1);
    out->has_hash = sqlite3_column_bytes(st, 2) == 32;
    if (out->has_hash) memcpy(out->approved_hash, sqlite3_column_blob(st, 2), 32);
    const unsigned char *by = sqlite3_column_text(st, 3);
    snprintf(out->decided_by, sizeof out->decided_by, "%s", by ? (const char *)by : "");
    out->decided_ms = sqlite3_column_int64(st, 4);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_share_set(struct hls_store *s, const struct hls_share *sh, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_SHARE_SET];
  sqlite3_bind_int64(st, 1, sh->record_id);
  sqlite3_bind_int(st, 2, sh->state);
  if (sh->has_hash) sqlite3_bind_blob(st, 3, sh->approved_hash, 32, SQLITE_STATIC);
  else sqlite3_bind_null(st, 3);
  hls_store__bind_text_or_null(st, 4, sh->decided_by[0] ? sh->decided_by : NULL);
  sqlite3_bind_int64(st, 5, sh->decided_ms);
  return hls_store__step_done(s, st, why);
}

int hls_store_share_forget(struct hls_store *s, int64_t record_id, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_SHARE_FORGET];
  sqlite3_bind_int64(st, 1, record_id);
  return hls_store__step_done(s, st, why);
}
