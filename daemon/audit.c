/* The node's audit log (audit.h). */
#include "audit.h"

#include <msgpack.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "store.h"

/* What an entry's hash covers: the previous hash, then the msgpack array
 * [seq, at_ms, who, action, record_id|nil, about|nil, before|nil,
 * after|nil, result]. */
static int entry_hash(const uint8_t prev[HLS_AUDIT_HASH_BYTES], const struct hls_audit_entry *e,
                      uint8_t out[HLS_AUDIT_HASH_BYTES]) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  const char *texts[] = {e->about, e->before, e->after};
  int rc = msgpack_pack_array(&pk, 9) != 0 || msgpack_pack_int64(&pk, e->seq) != 0 ||
                   msgpack_pack_int64(&pk, e->at_ms) != 0 || hls_mp_pack_cstr(&pk, e->who ? e->who : "") != 0 ||
                   hls_mp_pack_cstr(&pk, e->action ? e->action : "") != 0 ||
                   (e->record_id ? msgpack_pack_int64(&pk, e->record_id) : msgpack_pack_nil(&pk)) != 0
               ? HLS_ENOMEM
               : 0;
  for (size_t i = 0; rc == 0 && i < 3; i++)
    if ((texts[i] ? hls_mp_pack_cstr(&pk, texts[i]) : msgpack_pack_nil(&pk)) != 0) rc = HLS_ENOMEM;
  if (rc == 0 && hls_mp_pack_cstr(&pk, e->result ? e->result : "") != 0) rc = HLS_ENOMEM;
  if (rc == 0) {
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, HLS_AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, prev, HLS_AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)sb.data, sb.size);
    crypto_generichash_final(&h, out, HLS_AUDIT_HASH_BYTES);
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

int hls_audit_append(sqlite3 *db, struct hls_audit_entry *e, struct hls_why *why) {
  uint8_t prev[HLS_AUDIT_HASH_BYTES] = {0};
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  e->seq = 1;
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    e->seq = sqlite3_column_int64(st, 0) + 1;
    if (sqlite3_column_bytes(st, 1) == HLS_AUDIT_HASH_BYTES) memcpy(prev, sqlite3_column_blob(st, 1), sizeof prev);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return hls_store_sqlite_error(db, rc, why);
  if (entry_hash(prev, e, e->hash) != 0) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  rc = sqlite3_prepare_v2(db,
                          "INSERT INTO audit(seq, at_ms, who, action, record_id, about, before, after, result, hash)"
                          " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  sqlite3_bind_int64(st, 1, e->seq);
  sqlite3_bind_int64(st, 2, e->at_ms);
  sqlite3_bind_text(st, 3, e->who ? e->who : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e->action ? e->action : "", -1, SQLITE_STATIC);
  if (e->record_id) sqlite3_bind_int64(st, 5, e->record_id);
  else sqlite3_bind_null(st, 5);
  bind_text_or_null(st, 6, e->about);
  bind_text_or_null(st, 7, e->before);
  bind_text_or_null(st, 8, e->after);
  sqlite3_bind_text(st, 9, e->result ? e->result : "", -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 10, e->hash, HLS_AUDIT_HASH_BYTES, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(db, rc, why);
}

#define AUDIT_COLS "seq, at_ms, who, action, ifnull(record_id, 0), about, before, after, result, hash"

int hls_audit_guard(sqlite3 *db, int *restored, struct hls_why *why) {
  static const char *const triggers[][2] = {
      {"audit_no_update", "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
                          "  SELECT RAISE(ABORT, 'the audit log is append-only'); END"},
      {"audit_no_delete", "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
                          "  SELECT RAISE(ABORT, 'the audit log is append-only'); END"},
  };
  *restored = 0;
  for (size_t i = 0; i < sizeof triggers / sizeof triggers[0]; i++) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?1", -1, &st,
                                NULL);
    if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
    sqlite3_bind_text(st, 1, triggers[i][0], -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    bool present = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return hls_store_sqlite_error(db, rc, why);
    if (present) continue;
    if ((rc = sqlite3_exec(db, triggers[i][1], NULL, NULL, NULL)) != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
    (*restored)++;
  }
  return 0;
}

static void read_entry(sqlite3_stmt *st, struct hls_audit_entry *e) {
  memset(e, 0, sizeof *e);
  e->seq = sqlite3_column_int64(st, 0);
  e->at_ms = sqlite3_column_int64(st, 1);
  e->who = (const char *)sqlite3_column_text(st, 2);
  e->action = (const char *)sqlite3_column_text(st, 3);
  e->record_id = sqlite3_column_int64(st, 4);
  e->about = (const char *)sqlite3_column_text(st, 5);
  e->before = (const char *)sqlite3_column_text(st, 6);
  e->after = (const char *)sqlite3_column_text(st, 7);
  e->result = (const char *)sqlite3_column_text(st, 8);
  if (sqlite3_column_bytes(st, 9) == HLS_AUDIT_HASH_BYTES) memcpy(e->hash, sqlite3_column_blob(st, 9), sizeof e->hash);
}

int hls_audit_list(sqlite3 *db, const struct hls_audit_filter *f, hls_audit_cb cb, void *ctx, struct hls_why *why) {
  /* The newest `limit` matching, given oldest first. */
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT * FROM (SELECT " AUDIT_COLS " FROM audit WHERE at_ms >= ?1"
                              " AND (?2 = 0 OR record_id = ?2) AND (?3 IS NULL OR who = ?3)"
                              " ORDER BY seq DESC LIMIT ?4) ORDER BY seq",
                              -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  sqlite3_bind_int64(st, 1, f->since_ms);
  sqlite3_bind_int64(st, 2, f->record_id);
  bind_text_or_null(st, 3, f->who);
  sqlite3_bind_int64(st, 4, f->limit > 0 ? f->limit : -1);
  int out = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_audit_entry e;
    read_entry(st, &e);
    if ((out = cb(ctx, &e)) != 0) break;
  }
  if (out == 0 && rc != SQLITE_DONE) out = hls_store_sqlite_error(db, rc, why);
  sqlite3_finalize(st);
  return out;
}

int hls_audit_verify(sqlite3 *db, int64_t *entries, int64_t *bad_seq, uint8_t head[HLS_AUDIT_HASH_BYTES],
                     struct hls_why *why) {
  *entries = 0;
  *bad_seq = 0;
  memset(head, 0, HLS_AUDIT_HASH_BYTES);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  uint8_t prev[HLS_AUDIT_HASH_BYTES] = {0};
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_audit_entry e;
    uint8_t want[HLS_AUDIT_HASH_BYTES];
    read_entry(st, &e);
    (*entries)++;
    /* seq runs 1, 2, 3, ...: a removed entry shows as a gap. */
    if (*bad_seq == 0 && (e.seq != *entries || entry_hash(prev, &e, want) != 0 ||
                          sodium_memcmp(want, e.hash, sizeof want) != 0))
      *bad_seq = e.seq;
    memcpy(prev, e.hash, sizeof prev);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(db, rc, why);
  memcpy(head, prev, HLS_AUDIT_HASH_BYTES);
  return 0;
}
