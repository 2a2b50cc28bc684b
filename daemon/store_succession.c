/* Key succession in the store (store.h; docs/protocol.md 4.9): which key
 * succeeded which (successions, from the successor items held), and the
 * owner's move to a new key (hls identity rotate). Successions are rare:
 * the statements are prepared when called. */
#include <sqlite3.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

int hls_store__successor_held(struct hls_store *s, const uint8_t origin[32], uint64_t seq, int64_t timestamp_ms,
                              const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_successor su;
  if (body == NULL || hls_successor_decode(&su, body, len, NULL) != 0) return 0; /* checked when stored */
  if (hls_successor_verify(&su, origin, NULL) != 0) return 0;                    /* refused by its envelope's decoder */
  sqlite3_stmt *st;
  /* One successor an origin (its chain closes there), one predecessor a
   * key: a second claim is ignored, the first one held stands. */
  int rc = hls_store__prepare(s,
                              "INSERT INTO successions(old_id, new_id, seq, at_ms) VALUES(?1, ?2, ?3, ?4)"
                              " ON CONFLICT DO NOTHING",
                              &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, su.new_id, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (int64_t)seq);
  sqlite3_bind_int64(st, 4, timestamp_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_successions(struct hls_store *s, hls_succession_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "SELECT old_id, new_id, seq, at_ms FROM successions ORDER BY old_id", &st, why);
  if (rc != 0) return rc;
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_succession_row r;
    memset(&r, 0, sizeof r);
    if (sqlite3_column_bytes(st, 0) != 32 || sqlite3_column_bytes(st, 1) != 32) continue;
    memcpy(r.old_id, sqlite3_column_blob(st, 0), 32);
    memcpy(r.new_id, sqlite3_column_blob(st, 1), 32);
    r.seq = (uint64_t)sqlite3_column_int64(st, 2);
    r.at_ms = sqlite3_column_int64(st, 3);
    rc = cb(ctx, &r);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  sqlite3_finalize(st);
  return rc;
}

/* One row's column 0 (a key) into out, or its seq into *seq, by key. */
static int lookup(struct hls_store *s, const char *sql, const uint8_t key[32], uint8_t out[32], uint64_t *seq,
                  bool *found, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, sql, &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
  int step = sqlite3_step(st);
  *found = false;
  if (step == SQLITE_ROW) {
    if (out != NULL && sqlite3_column_bytes(st, 0) == 32) {
      memcpy(out, sqlite3_column_blob(st, 0), 32);
      *found = true;
    }
    if (seq != NULL) {
      *seq = (uint64_t)sqlite3_column_int64(st, 0);
      *found = true;
    }
  } else if (step != SQLITE_DONE) {
    rc = hls_store_sqlite_error(s->db, step, why);
  }
  sqlite3_finalize(st);
  return rc;
}

int hls_store_successor_seq(struct hls_store *s, const uint8_t origin[32], uint64_t *seq, struct hls_why *why) {
  bool found;
  *seq = 0;
  return lookup(s, "SELECT seq FROM successions WHERE old_id=?1", origin, NULL, seq, &found, why);
}

int hls_store_successor_of(struct hls_store *s, const uint8_t origin[32], uint8_t new_id[32], bool *found,
                           struct hls_why *why) {
  return lookup(s, "SELECT new_id FROM successions WHERE old_id=?1", origin, new_id, NULL, found, why);
}

int hls_store_predecessor_of(struct hls_store *s, const uint8_t origin[32], uint8_t old_id[32], bool *found,
                             struct hls_why *why) {
  return lookup(s, "SELECT old_id FROM successions WHERE new_id=?1", origin, old_id, NULL, found, why);
}

void hls_store_succession_walk(struct hls_store *s, const uint8_t old_id[32], const uint8_t new_id[32],
                               void (*fn)(void *ctx, const uint8_t old_id[32], const uint8_t new_id[32]), void *ctx) {
  uint8_t from[32], to[32];
  memcpy(from, old_id, 32);
  memcpy(to, new_id, 32);
  for (int depth = 0; depth < HLS_SUCCESSION_MAX_DEPTH; depth++) {
    fn(ctx, from, to);
    uint8_t next[32];
    bool found = false;
    if (hls_store_successor_of(s, to, next, &found, NULL) != 0 || !found || memcmp(next, to, 32) == 0) return;
    memcpy(from, to, 32);
    memcpy(to, next, 32);
  }
}

int hls_store_succession_root(struct hls_store *s, const uint8_t pk[32], uint8_t root[32], struct hls_why *why) {
  memcpy(root, pk, 32);
  for (int depth = 0; depth < HLS_SUCCESSION_MAX_DEPTH; depth++) {
    uint8_t old[32];
    bool found;
    int rc = hls_store_predecessor_of(s, root, old, &found, why);
    if (rc != 0) return rc;
    if (!found || memcmp(old, pk, 32) == 0) return 0; /* the first key, or a loop back to pk */
    memcpy(root, old, 32);
  }
  return 0;
}

int hls_store_rotate_owner(struct hls_store *s, const uint8_t old_id[32], const uint8_t new_id[32], struct hls_why *why) {
  uint8_t held[32];
  bool found;
  int rc = hls_store_successor_of(s, old_id, held, &found, why);
  if (rc != 0) return rc;
  if (!found || memcmp(held, new_id, 32) != 0)
    return hls_why_set(why, HLS_ESTATE, "no successor item of this node names the new key");
  if ((rc = hls_store__begin(s, why)) != 0) return rc;
  sqlite3_stmt *st;
  rc = hls_store__prepare(s,
                          "INSERT INTO published_retired(origin, seq, type, audience, record_id, iso_year, iso_week,"
                          " target_seq, reason, content_hash, superseded_by, erased_by, published_ms)"
                          " SELECT ?1, seq, type, audience, record_id, iso_year, iso_week, target_seq, reason,"
                          " content_hash, superseded_by, erased_by, published_ms FROM published",
                          &st, why);
  if (rc == 0) {
    sqlite3_bind_blob(st, 1, old_id, 32, SQLITE_STATIC);
    rc = hls_store__step_done(s, st, why);
    sqlite3_finalize(st);
  }
  if (rc == 0) rc = hls_store__exec(s, "DELETE FROM published", why);
  if (rc == 0) rc = hls_store__meta_set_owner(s, new_id, why);
  if (rc == 0) rc = hls_store__commit(s, why);
  if (rc != 0) {
    hls_store__rollback(s);
    return rc;
  }
  s->owner_known = 0; /* read again */
  return 0;
}

/* --- the publication log of keys this node held before ---------------------------- */

int hls_store_retired_live_stories(struct hls_store *s, const uint8_t origin[32], hls_published_cb cb, void *ctx,
                                   struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                              "SELECT seq, audience, record_id FROM published_retired WHERE origin=?1 AND type=3"
                              " AND superseded_by IS NULL AND erased_by IS NULL ORDER BY seq",
                              &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_published p;
    memset(&p, 0, sizeof p);
    p.seq = (uint64_t)sqlite3_column_int64(st, 0);
    p.type = HLS_ENV_STORY;
    p.audience = sqlite3_column_int(st, 1);
    p.record_id = sqlite3_column_int64(st, 2);
    rc = cb(ctx, &p);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_retired_tombstone(struct hls_store *s, const uint8_t origin[32], uint64_t story_seq, uint64_t tomb_seq,
                                int64_t record_id, int reason, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                              "INSERT INTO published_retired(origin, seq, type, audience, record_id, target_seq,"
                              " reason, published_ms) VALUES(?1, ?2, 4, 0, ?3, ?4, ?5, ?6)",
                              &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)tomb_seq);
  sqlite3_bind_int64(st, 3, record_id);
  sqlite3_bind_int64(st, 4, (int64_t)story_seq);
  sqlite3_bind_int(st, 5, reason);
  sqlite3_bind_int64(st, 6, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  if (rc != 0) return rc;
  rc = hls_store__prepare(s, "UPDATE published_retired SET erased_by=?3 WHERE origin=?1 AND seq=?2", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)story_seq);
  sqlite3_bind_int64(st, 3, (int64_t)tomb_seq);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}
