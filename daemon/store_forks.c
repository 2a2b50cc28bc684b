/* Forks found here, for this node to report (store.h; docs/protocol.md
 * 4.7). The forks table is gstore.c's (evidence, reporter); this file is
 * the summariser's side: which forks this node found itself and has not
 * reported yet, and marking them reported. Forks are rare, so the
 * statements are prepared when called, as store_receipts.c's. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "hls_limits.h"
#include "store.h"
#include "store_internal.h"

int hls_store_forks_unreported(struct hls_store *s, hls_store_fork_fn fn, void *ctx, struct hls_why *why) {
  /* Read first, then call: fn marks the rows it reports. */
  struct row {
    uint8_t origin[32];
    uint64_t seq;
    uint8_t ours[HLS_FORK_STUB_MAX], theirs[HLS_FORK_STUB_MAX];
    size_t ours_len, theirs_len; /* over HLS_FORK_STUB_MAX: not copied, no report */
  } *rows = calloc(HLS_FORKS_REPORTED_PER_RUN, sizeof *rows);
  if (rows == NULL) return HLS_ENOMEM;
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT origin, seq, ours, theirs FROM forks WHERE reporter IS NULL AND published_seq IS NULL"
                              " ORDER BY found_ms, origin LIMIT ?1",
                              -1, &st, NULL);
  if (rc != SQLITE_OK) {
    free(rows);
    return hls_store_sqlite_error(s->db, rc, why);
  }
  sqlite3_bind_int(st, 1, HLS_FORKS_REPORTED_PER_RUN);
  size_t n = 0;
  while (n < HLS_FORKS_REPORTED_PER_RUN && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    struct row *r = &rows[n++];
    memcpy(r->origin, sqlite3_column_blob(st, 0), 32);
    r->seq = (uint64_t)sqlite3_column_int64(st, 1);
    r->ours_len = (size_t)sqlite3_column_bytes(st, 2);
    r->theirs_len = (size_t)sqlite3_column_bytes(st, 3);
    if (r->ours_len <= HLS_FORK_STUB_MAX && r->ours_len > 0) memcpy(r->ours, sqlite3_column_blob(st, 2), r->ours_len);
    if (r->theirs_len <= HLS_FORK_STUB_MAX && r->theirs_len > 0)
      memcpy(r->theirs, sqlite3_column_blob(st, 3), r->theirs_len);
  }
  int frc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
  sqlite3_finalize(st);
  for (size_t i = 0; i < n && frc == 0; i++)
    frc = fn(ctx, rows[i].origin, rows[i].seq, rows[i].ours, rows[i].ours_len, rows[i].theirs, rows[i].theirs_len);
  free(rows);
  return frc;
}

int hls_store_fork_reported(struct hls_store *s, const uint8_t origin[32], uint64_t seq, uint64_t published_seq,
                            struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, "UPDATE forks SET published_seq=?3 WHERE origin=?1 AND seq=?2", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_int64(st, 3, (int64_t)published_seq);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}
