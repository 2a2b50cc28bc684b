/* Invites in the store (store.h; docs/operations.md "Joining a network"):
 * the invites this node gave (invites, invite_redemptions) and the one it
 * joined with (join_invite). Rare and small: statements are prepared when
 * called, as store_receipts.c's. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "invite.h"
#include "store.h"
#include "store_internal.h"

int hls_store_invite_add(struct hls_store *s, const uint8_t secret_hash[32], int64_t max_uses, int64_t expires_ms,
                         const char *note, const char *created_by, int64_t now_ms, int64_t *id,
                         struct hls_why *why) {
  sqlite3_stmt *st;
  *id = 0;
  if (max_uses < 1) return hls_why_set(why, HLS_EINVAL, "uses: at least 1");
  int rc = hls_store__prepare(s,
                   "INSERT INTO invites(secret_hash, max_uses, expires_ms, note, created_by, created_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, secret_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, max_uses);
  sqlite3_bind_int64(st, 3, expires_ms);
  sqlite3_bind_text(st, 4, note ? note : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, created_by ? created_by : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  if (rc == 0) *id = sqlite3_last_insert_rowid(s->db);
  return rc;
}

static void copy_text(char *out, size_t size, const unsigned char *t) {
  snprintf(out, size, "%s", t ? (const char *)t : "");
}

static int redeemed_of(struct hls_store *s, struct hls_invite_row *r, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "SELECT node_id, redeemed_ms FROM invite_redemptions WHERE invite_id=?1"
                   " ORDER BY redeemed_ms, node_id LIMIT 8",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_int64(st, 1, r->id);
  int step;
  r->n_redeemed = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && r->n_redeemed < HLS_INVITE_LIST_REDEEMED) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    memcpy(r->redeemed[r->n_redeemed].node_id, sqlite3_column_blob(st, 0), 32);
    r->redeemed[r->n_redeemed++].redeemed_ms = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_invite_list(struct hls_store *s, hls_invite_row_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "SELECT id, max_uses, uses, expires_ms, created_ms, coalesce(revoked_ms, 0), note, created_by"
                   " FROM invites ORDER BY id DESC",
                   &st, why);
  if (rc != 0) return rc;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_invite_row r;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(st, 0);
    r.max_uses = sqlite3_column_int64(st, 1);
    r.uses = sqlite3_column_int64(st, 2);
    r.expires_ms = sqlite3_column_int64(st, 3);
    r.created_ms = sqlite3_column_int64(st, 4);
    r.revoked_ms = sqlite3_column_int64(st, 5);
    copy_text(r.note, sizeof r.note, sqlite3_column_text(st, 6));
    copy_text(r.created_by, sizeof r.created_by, sqlite3_column_text(st, 7));
    if ((rc = redeemed_of(s, &r, why)) != 0 || (rc = cb(ctx, &r)) != 0) break;
  }
  sqlite3_finalize(st);
  if (rc != 0) return rc;
  return step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_invite_revoke(struct hls_store *s, int64_t id, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "SELECT revoked_ms IS NOT NULL FROM invites WHERE id=?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_int64(st, 1, id);
  int step = sqlite3_step(st);
  int revoked = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  if (step == SQLITE_DONE) return hls_why_set(why, HLS_ENOTFOUND, "no invite %lld (hls invite list)", (long long)id);
  if (step != SQLITE_ROW) return hls_store_sqlite_error(s->db, step, why);
  if (revoked) return hls_why_set(why, HLS_ESTATE, "invite %lld is revoked already", (long long)id);
  if ((rc = hls_store__prepare(s, "UPDATE invites SET revoked_ms=?2 WHERE id=?1", &st, why)) != 0) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

/* Inside the caller's transaction. */
static int redeem_in(struct hls_store *s, const uint8_t secret_hash[32], const uint8_t node_id[32],
                     const char *address, int64_t now_ms, int *outcome, int64_t *id, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "SELECT id, max_uses, uses, expires_ms, revoked_ms IS NOT NULL,"
                   " EXISTS(SELECT 1 FROM invite_redemptions r WHERE r.invite_id=invites.id AND r.node_id=?2)"
                   " FROM invites WHERE secret_hash=?1",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, secret_hash, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, node_id, 32, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) {
    sqlite3_finalize(st);
    *outcome = HLS_INVITE_UNKNOWN;
    return 0;
  }
  if (step != SQLITE_ROW) {
    sqlite3_finalize(st);
    return hls_store_sqlite_error(s->db, step, why);
  }
  *id = sqlite3_column_int64(st, 0);
  int64_t max_uses = sqlite3_column_int64(st, 1), uses = sqlite3_column_int64(st, 2);
  int64_t expires_ms = sqlite3_column_int64(st, 3);
  bool revoked = sqlite3_column_int(st, 4) != 0, again = sqlite3_column_int(st, 5) != 0;
  sqlite3_finalize(st);
  if (again) *outcome = HLS_INVITE_OK;
  else if (revoked) *outcome = HLS_INVITE_REVOKED;
  else if (uses >= max_uses) *outcome = HLS_INVITE_SPENT;
  else if (now_ms >= expires_ms) *outcome = HLS_INVITE_EXPIRED;
  else *outcome = HLS_INVITE_OK;
  if (again || *outcome != HLS_INVITE_OK) return 0;
  if ((rc = hls_store__prepare(s, "UPDATE invites SET uses=uses+1 WHERE id=?1", &st, why)) != 0) return rc;
  sqlite3_bind_int64(st, 1, *id);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  if (rc != 0) return rc;
  if ((rc = hls_store__prepare(s, "INSERT INTO invite_redemptions(invite_id, node_id, address, redeemed_ms) VALUES(?1, ?2, ?3, ?4)",
                    &st, why)) != 0)
    return rc;
  sqlite3_bind_int64(st, 1, *id);
  sqlite3_bind_blob(st, 2, node_id, 32, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, address ? address : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_invite_redeem(struct hls_store *s, const uint8_t secret_hash[32], const uint8_t node_id[32],
                            const char *address, int64_t now_ms, int *outcome, int64_t *id, struct hls_why *why) {
  *outcome = HLS_INVITE_UNKNOWN;
  *id = 0;
  int rc = hls_store_begin(s, why);
  if (rc != 0) return rc;
  rc = redeem_in(s, secret_hash, node_id, address, now_ms, outcome, id, why);
  if (rc != 0) {
    hls_store_rollback(s);
    return rc;
  }
  return hls_store_commit(s, why);
}

int hls_store_join_set(struct hls_store *s, const uint8_t inviter[32], const char *address, const uint8_t secret[32],
                       int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "INSERT OR REPLACE INTO join_invite(id, inviter, address, secret, created_ms) VALUES(1, ?1, ?2, ?3, ?4)",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, inviter, 32, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 3, secret, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}

int hls_store_join_get(struct hls_store *s, struct hls_join_row *out, bool *present, struct hls_why *why) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof *out);
  *present = false;
  int rc = hls_store__prepare(s,
                   "SELECT inviter, address, secret, created_ms, coalesce(outcome, -1), coalesce(outcome_ms, 0)"
                   " FROM join_invite WHERE id=1",
                   &st, why);
  if (rc != 0) return rc;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
    *present = true;
    memcpy(out->inviter, sqlite3_column_blob(st, 0), 32);
    copy_text(out->address, sizeof out->address, sqlite3_column_text(st, 1));
    if (sqlite3_column_bytes(st, 2) == 32) {
      out->has_secret = true;
      memcpy(out->secret, sqlite3_column_blob(st, 2), 32);
    }
    out->created_ms = sqlite3_column_int64(st, 3);
    out->outcome = sqlite3_column_int(st, 4);
    out->outcome_ms = sqlite3_column_int64(st, 5);
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_join_answered(struct hls_store *s, int outcome, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s, "UPDATE join_invite SET secret=NULL, outcome=?1, outcome_ms=?2 WHERE id=1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_int(st, 1, outcome);
  sqlite3_bind_int64(st, 2, now_ms);
  rc = hls_store__step_done(s, st, why);
  sqlite3_finalize(st);
  return rc;
}
