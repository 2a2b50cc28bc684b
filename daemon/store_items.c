/* What the node holds and publishes (store.h): items (envelopes held:
 * stubs, bodies, erasure, chain heads), the rows of this node's own
 * publications (profile, digests, stories, tombstones, and what
 * superseded or erased each), and the peers it exchanges them with. The
 * SQL is in store.c's statement table. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* --- items ------------------------------------------------------------------------ */

void hls_item_clear(struct hls_item *it) {
  free(it->stub);
  free(it->body);
  memset(it, 0, sizeof *it);
}

int hls_store_item_put(struct hls_store *s, const struct hls_envelope *env, int body_state, int64_t now_ms,
                       struct hls_why *why) {
  msgpack_sbuffer stub;
  msgpack_sbuffer_init(&stub);
  int rc = hls_env_encode_stub(&stub, env);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&stub);
    return rc;
  }
  sqlite3_stmt *st = s->stmt[ST_ITEM_PUT];
  sqlite3_bind_blob(st, 1, env->h.origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)env->h.seq);
  sqlite3_bind_int(st, 3, env->h.type);
  sqlite3_bind_int(st, 4, env->h.audience);
  sqlite3_bind_int64(st, 5, (int64_t)env->h.timestamp_ms);
  sqlite3_bind_blob(st, 6, env->id, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 7, stub.data, (int)stub.size, SQLITE_STATIC);
  if (env->body != NULL) sqlite3_bind_blob(st, 8, env->body, (int)env->body_len, SQLITE_STATIC);
  else sqlite3_bind_null(st, 8);
  sqlite3_bind_int(st, 9, env->body != NULL ? HLS_BODY_HELD : body_state);
  sqlite3_bind_int64(st, 10, now_ms);
  rc = hls_store__step_done(s, st, why);
  if (rc == HLS_ESTORE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
    rc = hls_why_set(why, HLS_EEXISTS, "item %llu of that origin is held already", (unsigned long long)env->h.seq);
  msgpack_sbuffer_destroy(&stub);
  return rc;
}

static uint8_t *column_blob_dup(sqlite3_stmt *st, int col, size_t *len) {
  const void *b = sqlite3_column_blob(st, col);
  *len = (size_t)sqlite3_column_bytes(st, col);
  if (b == NULL) return NULL;
  uint8_t *copy = malloc(*len > 0 ? *len : 1);
  if (copy != NULL) memcpy(copy, b, *len);
  return copy;
}

static void copy_blob32(sqlite3_stmt *st, int col, uint8_t out[32]) {
  const void *b = sqlite3_column_blob(st, col);
  if (b != NULL && sqlite3_column_bytes(st, col) == 32) memcpy(out, b, 32);
  else memset(out, 0, 32);
}

int hls_store_item_get(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_item *out,
                       struct hls_why *why) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = s->stmt[ST_ITEM_GET];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    copy_blob32(st, 0, out->origin);
    out->seq = (uint64_t)sqlite3_column_int64(st, 1);
    out->type = sqlite3_column_int(st, 2);
    out->audience = sqlite3_column_int(st, 3);
    out->timestamp_ms = sqlite3_column_int64(st, 4);
    copy_blob32(st, 5, out->item_id);
    out->stub = column_blob_dup(st, 6, &out->stub_len);
    out->body = column_blob_dup(st, 7, &out->body_len);
    out->body_state = sqlite3_column_int(st, 8);
    out->stored_ms = sqlite3_column_int64(st, 9);
    rc = out->stub == NULL || (out->body_state == HLS_BODY_HELD && out->body == NULL) ? HLS_ENOMEM : 0;
  } else if (rc == SQLITE_DONE) {
    rc = hls_why_set(why, HLS_ENOTFOUND, "no item %llu of that origin", (unsigned long long)seq);
  } else {
    rc = hls_store_sqlite_error(s->db, rc, why);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != 0) hls_item_clear(out);
  return rc;
}

int hls_store_item_erase(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_ITEM_ERASE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  return hls_store__step_done(s, st, why);
}

int hls_store_item_restore_body(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body,
                                size_t len, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_ITEM_RESTORE_BODY];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_blob(st, 3, body, (int)len, SQLITE_STATIC);
  return hls_store__step_done(s, st, why);
}

int hls_store_chain_head(struct hls_store *s, const uint8_t origin[32], uint64_t *seq, uint8_t id[32],
                         struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_CHAIN_HEAD];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  *seq = 0;
  memset(id, 0, 32);
  if (rc == SQLITE_ROW) {
    *seq = (uint64_t)sqlite3_column_int64(st, 0);
    copy_blob32(st, 1, id);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

/* --- publications ---------------------------------------------------------------- */

static void bind_int_or_null(sqlite3_stmt *st, int i, int64_t v) {
  if (v != 0) sqlite3_bind_int64(st, i, v);
  else sqlite3_bind_null(st, i);
}

int hls_store_published_add(struct hls_store *s, const struct hls_published *p, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_ADD];
  sqlite3_bind_int64(st, 1, (int64_t)p->seq);
  sqlite3_bind_int(st, 2, p->type);
  sqlite3_bind_int(st, 3, p->audience);
  bind_int_or_null(st, 4, p->record_id);
  bind_int_or_null(st, 5, p->iso_year);
  bind_int_or_null(st, 6, p->iso_week);
  bind_int_or_null(st, 7, (int64_t)p->target_seq);
  if (p->type == HLS_ENV_TOMBSTONE) sqlite3_bind_int(st, 8, p->reason);
  else sqlite3_bind_null(st, 8);
  if (p->has_content_hash) sqlite3_bind_blob(st, 9, p->content_hash, 32, SQLITE_STATIC);
  else sqlite3_bind_null(st, 9);
  sqlite3_bind_int64(st, 10, p->published_ms);
  return hls_store__step_done(s, st, why);
}

static int mark_published(struct hls_store *s, int stmt, uint64_t seq, uint64_t by, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[stmt];
  sqlite3_bind_int64(st, 1, (int64_t)seq);
  sqlite3_bind_int64(st, 2, (int64_t)by);
  return hls_store__step_done(s, st, why);
}

int hls_store_published_superseded(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) {
  return mark_published(s, ST_PUB_SUPERSEDED, seq, by, why);
}

int hls_store_published_erased(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) {
  return mark_published(s, ST_PUB_ERASED, seq, by, why);
}

static void load_published(sqlite3_stmt *st, struct hls_published *p) {
  memset(p, 0, sizeof *p);
  p->seq = (uint64_t)sqlite3_column_int64(st, 0);
  p->type = sqlite3_column_int(st, 1);
  p->audience = sqlite3_column_int(st, 2);
  p->record_id = sqlite3_column_int64(st, 3);
  p->iso_year = sqlite3_column_int(st, 4);
  p->iso_week = sqlite3_column_int(st, 5);
  p->target_seq = (uint64_t)sqlite3_column_int64(st, 6);
  p->reason = sqlite3_column_int(st, 7);
  p->has_content_hash = sqlite3_column_bytes(st, 8) == 32;
  if (p->has_content_hash) memcpy(p->content_hash, sqlite3_column_blob(st, 8), 32);
  p->superseded_by = (uint64_t)sqlite3_column_int64(st, 9);
  p->erased_by = (uint64_t)sqlite3_column_int64(st, 10);
  p->published_ms = sqlite3_column_int64(st, 11);
}

static int walk_published(struct hls_store *s, sqlite3_stmt *st, hls_published_cb cb, void *ctx, struct hls_why *why) {
  int rc, result = 0;
  struct hls_published p;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    load_published(st, &p);
    if ((result = cb(ctx, &p)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

int hls_store_published_list(struct hls_store *s, bool newest_first, int64_t limit, hls_published_cb cb, void *ctx,
                             struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[newest_first ? ST_PUB_LIST_DESC : ST_PUB_LIST_ASC];
  sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
  return walk_published(s, st, cb, ctx, why);
}

int hls_store_published_current(struct hls_store *s, int type, int iso_year, int iso_week, struct hls_published *out,
                                struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_CURRENT];
  sqlite3_bind_int(st, 1, type);
  sqlite3_bind_int(st, 2, iso_year);
  sqlite3_bind_int(st, 3, iso_week);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) load_published(st, out);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_published_get(struct hls_store *s, uint64_t seq, struct hls_published *out, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_GET];
  sqlite3_bind_int64(st, 1, (int64_t)seq);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) load_published(st, out);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_published_live_stories(struct hls_store *s, hls_published_cb cb, void *ctx, struct hls_why *why) {
  return walk_published(s, s->stmt[ST_PUB_LIVE_STORIES], cb, ctx, why);
}

int hls_store_published_digest_weeks(struct hls_store *s, hls_week_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_DIGEST_WEEKS];
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((result = cb(ctx, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1))) != 0) break;
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  return result;
}

/* --- peers ------------------------------------------------------------------------------ */

int hls_store_peer_put(struct hls_store *s, const struct hls_peer_row *p, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_PUT];
  sqlite3_bind_blob(st, 1, p->node_id, 32, SQLITE_STATIC);
  hls_store__bind_text_or_null(st, 2, p->address[0] ? p->address : NULL);
  sqlite3_bind_int(st, 3, p->admin);
  sqlite3_bind_int(st, 4, p->blocked);
  sqlite3_bind_int64(st, 5, p->added_ms);
  bind_int_or_null(st, 6, p->last_seen_ms);
  sqlite3_bind_int64(st, 7, p->bytes_in);
  sqlite3_bind_int64(st, 8, p->bytes_out);
  sqlite3_bind_int64(st, 9, p->failures);
  hls_store__bind_text_or_null(st, 10, p->last_error[0] ? p->last_error : NULL);
  sqlite3_bind_int64(st, 11, p->violations);
  return hls_store__step_done(s, st, why);
}

int hls_store_peer_delete(struct hls_store *s, const uint8_t node_id[32], struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_DELETE];
  sqlite3_bind_blob(st, 1, node_id, 32, SQLITE_STATIC);
  int rc = hls_store__step_done(s, st, why);
  if (rc == 0 && sqlite3_changes(s->db) == 0) rc = hls_why_set(why, HLS_ENOTFOUND, "no such peer");
  return rc;
}

int hls_store_peer_list(struct hls_store *s, hls_peer_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_LIST];
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_peer_row p;
    memset(&p, 0, sizeof p);
    copy_blob32(st, 0, p.node_id);
    const unsigned char *addr = sqlite3_column_text(st, 1);
    snprintf(p.address, sizeof p.address, "%s", addr ? (const char *)addr : "");
    p.admin = sqlite3_column_int(st, 2);
    p.blocked = sqlite3_column_int(st, 3);
    p.added_ms = sqlite3_column_int64(st, 4);
    p.last_seen_ms = sqlite3_column_int64(st, 5);
    p.bytes_in = sqlite3_column_int64(st, 6);
    p.bytes_out = sqlite3_column_int64(st, 7);
    p.failures = sqlite3_column_int64(st, 8);
    p.violations = sqlite3_column_int64(st, 10);
    const unsigned char *err = sqlite3_column_text(st, 9);
    snprintf(p.last_error, sizeof p.last_error, "%s", err ? (const char *)err : "");
    if ((result = cb(ctx, &p)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  return result;
}
