/* Bulk import (store.h): records staged in this connection's temporary
 * tables (made at open, store.c), checked for duplicates by fingerprint,
 * committed set-wise in one transaction with their row of the imports
 * table; and that table read back and marked undone. The SQL is in
 * store.c's statement table (ST_IMPORT_*). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* --- import -------------------------------------------------------------- */

int hls_store_import_batch_begin(struct hls_store *s, struct hls_why *why) {
  return hls_store__step_done(s, s->stmt[ST_SAVEPOINT], why);
}

int hls_store_import_batch_end(struct hls_store *s, bool keep, struct hls_why *why) {
  int rc = 0;
  if (!keep) rc = hls_store__step_done(s, s->stmt[ST_ROLLBACK_TO], why);
  int release = hls_store__step_done(s, s->stmt[ST_RELEASE], rc == 0 ? why : NULL);
  return rc != 0 ? rc : release;
}

int hls_store_import_stage(struct hls_store *s, int64_t session, int64_t seq, int64_t line,
                           const struct hls_record *r, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_IMPORT_STAGE];
  hls_store__bind_record(st, r, 0);
  sqlite3_bind_null(st, 14);
  sqlite3_bind_int64(st, 15, session);
  sqlite3_bind_int64(st, 16, seq);
  sqlite3_bind_int64(st, 18, line);
  int rc = hls_store__step_done(s, st, why);
  for (size_t i = 0; rc == 0 && i < r->n_themes; i++) {
    st = s->stmt[ST_IMPORT_STAGE_THEME];
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, r->themes[i].slug, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)r->themes[i].kind);
    sqlite3_bind_int64(st, 5, r->date);
    rc = hls_store__step_done(s, st, why);
  }
  return rc;
}

int hls_store_import_duplicate(struct hls_store *s, int64_t session, const struct hls_record *r,
                               int64_t *held_id, int64_t *staged_line, struct hls_why *why) {
  uint8_t print[HLS_RECORD_FINGERPRINT_BYTES];
  hls_record_fingerprint(r, print);
  *held_id = *staged_line = 0;
  sqlite3_stmt *st = s->stmt[ST_IMPORT_HELD_PRINT];
  sqlite3_bind_blob(st, 1, print, sizeof print, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *held_id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 1;
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  st = s->stmt[ST_IMPORT_STAGED_PRINT];
  sqlite3_bind_int64(st, 1, session);
  sqlite3_bind_blob(st, 2, print, sizeof print, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *staged_line = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 1;
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  return 0;
}

void hls_store_import_drop(struct hls_store *s, int64_t session) {
  /* With no other import staged, empty the tables whole (SQLite's truncate
   * optimisation) instead of deleting row by row. */
  sqlite3_stmt *other = s->stmt[ST_IMPORT_OTHERS];
  sqlite3_bind_int64(other, 1, session);
  bool alone = sqlite3_step(other) == SQLITE_DONE;
  sqlite3_reset(other);
  if (alone) {
    hls_store__exec(s, "DELETE FROM temp.import_records; DELETE FROM temp.import_themes", NULL);
    return;
  }
  sqlite3_stmt *st = s->stmt[ST_IMPORT_DROP];
  sqlite3_bind_int64(st, 1, session);
  hls_store__step_done(s, st, NULL);
  st = s->stmt[ST_IMPORT_DROP_THEMES];
  sqlite3_bind_int64(st, 1, session);
  hls_store__step_done(s, st, NULL);
}

/* One row of integers from a statement bound to session. */
static int query_ints(struct hls_store *s, sqlite3_stmt *st, int64_t session, int64_t *out, int n, struct hls_why *why) {
  if (session >= 0) sqlite3_bind_int64(st, 1, session);
  int rc = sqlite3_step(st);
  for (int i = 0; rc == SQLITE_ROW && i < n; i++) out[i] = sqlite3_column_int64(st, i);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_ROW ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_import_commit(struct hls_store *s, int64_t session, const uint8_t import_id[HLS_IMPORT_ID_BYTES],
                            const struct hls_import_meta *meta, int64_t now_ms, struct hls_import_result *out,
                            struct hls_why *why) {
  int64_t span[3] = {0}, base = 0, raced = 0;
  sqlite3_stmt *st;
  memset(out, 0, sizeof *out);
  int rc = query_ints(s, s->stmt[ST_IMPORT_SPAN], session, span, 3, why);
  if (rc == 0 && span[0] > 0 && (span[1] != 1 || span[2] != span[0]))
    rc = hls_why_set(why, HLS_EINTERNAL, "import %lld: staged rows are not numbered 1..%lld", (long long)session,
                     (long long)span[0]);
  if (rc != 0) goto out;
  /* The statements below build every reference from rows they insert
   * themselves; per-row foreign-key checks would only slow them down.
   * (The pragma is a no-op inside a transaction, so it goes first.) */
  if ((rc = hls_store__exec(s, "PRAGMA foreign_keys=OFF", why)) != 0) goto out;
  if ((rc = hls_store__begin(s, why)) != 0) goto fks_on;
  /* Rows were checked against the records held when they were staged; a
   * record added since (by hand, or another import) may now hold one. */
  if (!meta->allow_duplicates && span[0] > 0) {
    if ((rc = query_ints(s, s->stmt[ST_IMPORT_HELD_SINCE], session, &raced, 1, why)) != 0) goto fail;
    if (raced > 0) {
      rc = hls_why_set(why, HLS_ESTATE,
                       "%lld row%s of this import %s added as records while it ran (by another import, or by "
                       "hand), so nothing was imported: run the import again, and it skips the rows held now",
                       (long long)raced, raced == 1 ? "" : "s", raced == 1 ? "was" : "were");
      goto fail;
    }
  }
  if (span[0] > 0) {
    if ((rc = query_ints(s, s->stmt[ST_IMPORT_BASE], -1, &base, 1, why)) != 0) goto fail;
    st = s->stmt[ST_IMPORT_NEW_THEMES];
    sqlite3_bind_int64(st, 1, session);
    if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
    st = s->stmt[ST_IMPORT_RECORDS];
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, base);
    sqlite3_bind_int64(st, 3, now_ms);
    hls_store__bind_text_or_null(st, 4, meta->by); /* who made the import added them */
    if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
    st = s->stmt[ST_IMPORT_RECORD_THEMES];
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, base);
    if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
  }
  st = s->stmt[ST_IMPORT_DONE];
  sqlite3_bind_blob(st, 1, import_id, HLS_IMPORT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, span[0]);
  sqlite3_bind_int64(st, 3, span[0] > 0 ? base + 1 : 0);
  sqlite3_bind_int64(st, 4, span[0] > 0 ? base + span[0] : 0);
  sqlite3_bind_int64(st, 5, now_ms);
  hls_store__bind_text_or_null(st, 6, meta->source);
  hls_store__bind_text_or_null(st, 7, meta->by);
  sqlite3_bind_int64(st, 8, meta->duplicates);
  if ((rc = hls_store__step_done(s, st, why)) != 0) goto fail;
  if ((rc = hls_store__commit(s, why)) != 0) goto fail;
  memcpy(out->id, import_id, HLS_IMPORT_ID_BYTES);
  out->imported = out->held = span[0];
  out->first_id = span[0] > 0 ? base + 1 : 0;
  out->last_id = span[0] > 0 ? base + span[0] : 0;
  out->committed_ms = now_ms;
  out->duplicates = meta->duplicates;
  snprintf(out->source, sizeof out->source, "%s", meta->source ? meta->source : "");
  snprintf(out->by, sizeof out->by, "%s", meta->by ? meta->by : "");
  goto fks_on;
fail:
  hls_store__rollback(s);
fks_on:
  /* After a commit, failing to turn the checks back on must not turn the
   * import into a failure (the client would import it again): the next
   * transaction retries. */
  if (hls_store__exec(s, "PRAGMA foreign_keys=ON", NULL) != 0) s->foreign_keys_off = true;
out:
  hls_store_import_drop(s, session);
  return rc;
}

static void column_copy(sqlite3_stmt *st, int col, char *out, size_t size) {
  const unsigned char *text = sqlite3_column_text(st, col);
  snprintf(out, size, "%s", text ? (const char *)text : "");
}

/* Fill out from a row of IMPORT_COLS. */
static void load_import(sqlite3_stmt *st, struct hls_import_result *out) {
  memset(out, 0, sizeof *out);
  if (sqlite3_column_bytes(st, 0) == HLS_IMPORT_ID_BYTES)
    memcpy(out->id, sqlite3_column_blob(st, 0), HLS_IMPORT_ID_BYTES);
  out->imported = sqlite3_column_int64(st, 1);
  out->first_id = sqlite3_column_int64(st, 2);
  out->last_id = sqlite3_column_int64(st, 3);
  out->committed_ms = sqlite3_column_int64(st, 4);
  column_copy(st, 5, out->source, sizeof out->source);
  column_copy(st, 6, out->by, sizeof out->by);
  out->duplicates = sqlite3_column_int64(st, 7);
  out->undone_ms = sqlite3_column_int64(st, 8);
  column_copy(st, 9, out->undone_by, sizeof out->undone_by);
  out->undone_records = sqlite3_column_int64(st, 10);
  out->held = sqlite3_column_int64(st, 11);
}

int hls_store_import_find(struct hls_store *s, const uint8_t import_id[HLS_IMPORT_ID_BYTES],
                          struct hls_import_result *out, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_IMPORT_FIND];
  memset(out, 0, sizeof *out);
  sqlite3_bind_blob(st, 1, import_id, HLS_IMPORT_ID_BYTES, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) load_import(st, out);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_import_find_prefix(struct hls_store *s, const char *hex_prefix, struct hls_import_result *out,
                                 struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_IMPORT_FIND_PREFIX];
  memset(out, 0, sizeof *out);
  sqlite3_bind_text(st, 1, hex_prefix, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st), found = 0;
  if (rc == SQLITE_ROW) {
    load_import(st, out);
    found = 1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) found = 2;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  if (found == 0) return hls_why_set(why, HLS_ENOTFOUND, "no import %s (hls import list shows them)", hex_prefix);
  if (found == 2)
    return hls_why_set(why, HLS_EINVAL, "import %s: more than one import starts so; give more of its id",
                       hex_prefix);
  return 0;
}

int hls_store_imports(struct hls_store *s, int64_t limit, hls_store_import_fn fn, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_IMPORT_LIST];
  sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
  int rc, cb = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_import_result r;
    load_import(st, &r);
    if ((cb = fn(ctx, &r)) != 0) break;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (cb != 0) return cb;
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_import_mark_undone(struct hls_store *s, const uint8_t import_id[HLS_IMPORT_ID_BYTES], int64_t now_ms,
                                 const char *by, int64_t records, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_IMPORT_UNDONE];
  sqlite3_bind_blob(st, 1, import_id, HLS_IMPORT_ID_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now_ms);
  hls_store__bind_text_or_null(st, 3, by);
  sqlite3_bind_int64(st, 4, records);
  int rc = hls_store__step_done(s, st, why);
  if (rc == 0 && sqlite3_changes(s->db) == 0) rc = hls_why_set(why, HLS_ESTATE, "the import was undone already");
  return rc;
}
