/* Vouches in the store (store.h; docs/protocol.md 4.6): the latest vouch
 * of each voucher for each subject held (vouches), the vouches this
 * node's admin asked for that the next publishing run signs
 * (vouches_asked), and the profiles they are read against. Vouches are
 * rare next to items: the statements are prepared when called. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* The claim of v into parameters first..first+2 (NULL when withdrawn). */
static void bind_claim(sqlite3_stmt *st, int first, const struct hls_vouch *v) {
  if (v->withdrawn) {
    sqlite3_bind_null(st, first);
    sqlite3_bind_null(st, first + 1);
    sqlite3_bind_null(st, first + 2);
    return;
  }
  sqlite3_bind_text(st, first, v->place, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, first + 1, v->region, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, first + 2, v->role);
}

/* The claim of columns first..first+2 into v (withdrawn when NULL). */
static void column_claim(sqlite3_stmt *st, int first, struct hls_vouch *v) {
  v->withdrawn = sqlite3_column_type(st, first + 2) == SQLITE_NULL;
  if (v->withdrawn) return;
  const unsigned char *place = sqlite3_column_text(st, first), *region = sqlite3_column_text(st, first + 1);
  snprintf(v->place, sizeof v->place, "%s", place ? (const char *)place : "");
  snprintf(v->region, sizeof v->region, "%s", region ? (const char *)region : "");
  v->role = sqlite3_column_int(st, first + 2);
}

int hls_store__vouch_held(struct hls_store *s, const uint8_t voucher[32], uint64_t seq, int64_t timestamp_ms,
                          const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_vouch v;
  if (body == NULL || hls_vouch_decode(&v, body, len, NULL) != 0) return 0; /* checked when stored: says nothing */
  if (memcmp(v.subject, voucher, 32) == 0) return 0;                         /* refused by the decoder of its envelope */
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "INSERT INTO vouches(voucher, subject, place, region, role, seq, at_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(voucher, subject) DO UPDATE SET"
                   " place=excluded.place, region=excluded.region, role=excluded.role, seq=excluded.seq,"
                   " at_ms=excluded.at_ms WHERE excluded.seq > vouches.seq",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, voucher, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, v.subject, 32, SQLITE_STATIC);
  bind_claim(st, 3, &v);
  sqlite3_bind_int64(st, 6, (int64_t)seq);
  sqlite3_bind_int64(st, 7, timestamp_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_vouches(struct hls_store *s, hls_vouch_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "SELECT voucher, subject, place, region, role, seq, at_ms FROM vouches ORDER BY voucher, subject",
                   &st, why);
  if (rc != 0) return rc;
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_vouch_row r;
    memset(&r, 0, sizeof r);
    if (sqlite3_column_bytes(st, 0) != 32 || sqlite3_column_bytes(st, 1) != 32) continue;
    memcpy(r.voucher, sqlite3_column_blob(st, 0), 32);
    memcpy(r.vouch.subject, sqlite3_column_blob(st, 1), 32);
    column_claim(st, 2, &r.vouch);
    r.seq = (uint64_t)sqlite3_column_int64(st, 5);
    r.at_ms = sqlite3_column_int64(st, 6);
    rc = cb(ctx, &r);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_vouch_ask(struct hls_store *s, const struct hls_vouch *v, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "INSERT OR REPLACE INTO vouches_asked(subject, place, region, role, asked_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5)",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, v->subject, 32, SQLITE_STATIC);
  bind_claim(st, 2, v);
  sqlite3_bind_int64(st, 5, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_vouches_asked(struct hls_store *s, struct hls_vouch *out, size_t max, size_t *n, struct hls_why *why) {
  sqlite3_stmt *st;
  *n = 0;
  int rc = hls_store__prepare(s, "SELECT subject, place, region, role FROM vouches_asked ORDER BY asked_ms, subject LIMIT ?1", &st,
                   why);
  if (rc != 0) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)max);
  int step = SQLITE_DONE;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    struct hls_vouch *v = &out[(*n)++];
    memset(v, 0, sizeof *v);
    memcpy(v->subject, sqlite3_column_blob(st, 0), 32);
    column_claim(st, 1, v);
  }
  if (step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_vouch_asked_done(struct hls_store *s, const uint8_t subject[32], struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "DELETE FROM vouches_asked WHERE subject=?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, subject, 32, SQLITE_STATIC);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_profiles(struct hls_store *s, hls_profile_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "SELECT origin, profile FROM origins WHERE profile IS NOT NULL ORDER BY origin", &st, why);
  if (rc != 0) return rc;
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_profile p;
    const uint8_t *body = sqlite3_column_blob(st, 1);
    if (sqlite3_column_bytes(st, 0) != 32 ||
        hls_profile_decode(&p, body, (size_t)sqlite3_column_bytes(st, 1), NULL) != 0)
      continue; /* checked when stored */
    rc = cb(ctx, sqlite3_column_blob(st, 0), &p);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  sqlite3_finalize(st);
  return rc;
}
