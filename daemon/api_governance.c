/* governance.report: the record of processing generated from the node's
 * real state (docs/governance.md, UK GDPR Art. 30): purposes, categories
 * of records, what leaves and to whom, retention, disclosure control,
 * security measures. Counts and settings only: no record's text, no
 * person. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "api_handlers.h"
#include "audit.h"
#include "hls_version.h"
#include "nodeid.h"

/* Pack {NAME: count} of a "SELECT key, count(*)" query whose integer keys
 * name members of names (n of them); keys outside it are skipped. */
static int pack_counts(sqlite3 *db, msgpack_packer *pk, const char *sql, const char *(*name)(int), int n,
                       struct hls_why *why) {
  int64_t counts[8] = {0};
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int k = sqlite3_column_int(st, 0);
    if (k >= 0 && k < n && k < 8) counts[k] = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(db, rc, why);
  PACK(msgpack_pack_map(pk, (uint32_t)n));
  for (int k = 0; k < n; k++) PACK(hls_mp_pack_kv_i64(pk, name(k), counts[k]));
  return 0;
}

static int64_t count_of(sqlite3 *db, const char *sql, const uint8_t *blob, int *rc, struct hls_why *why) {
  sqlite3_stmt *st;
  int64_t n = 0;
  int r = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (r != SQLITE_OK) {
    *rc = hls_store_sqlite_error(db, r, why);
    return 0;
  }
  if (blob) sqlite3_bind_blob(st, 1, blob, 32, SQLITE_STATIC);
  if ((r = sqlite3_step(st)) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  else if (r != SQLITE_DONE) *rc = hls_store_sqlite_error(db, r, why);
  sqlite3_finalize(st);
  return n;
}

static const char *scale_of(int k) { return hls_scale_name((enum hls_scale)k); }
static const char *consent_of(int k) { return hls_consent_name((enum hls_consent)k); }
static const char *share_of(int k) { return hls_share_state_name(k); }
/* Item types 1..5 (envelope.h), as "SELECT type - 1". */
static const char *item_of(int k) {
  static const char *const names[] = {"profiles", "digests", "stories", "tombstones", "receipts"};
  return k >= 0 && k < 5 ? names[k] : "other";
}

/* [{purpose, records}], most records first; "" for none given. */
static int pack_purposes(sqlite3 *db, msgpack_packer *pk, struct hls_why *why) {
  struct list_ctx l;
  api_list_init(&l);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT ifnull(consent_purpose, ''), count(*) FROM records WHERE consent > 0"
                              " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100",
                              -1, &st, NULL);
  if (rc != SQLITE_OK) {
    msgpack_sbuffer_destroy(&l.sb);
    return hls_store_sqlite_error(db, rc, why);
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    l.count++;
    if (msgpack_pack_map(&l.pk, 2) != 0 ||
        hls_mp_pack_kv_str(&l.pk, "purpose", (const char *)sqlite3_column_text(st, 0)) != 0 ||
        hls_mp_pack_kv_i64(&l.pk, "records", sqlite3_column_int64(st, 1)) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    msgpack_sbuffer_destroy(&l.sb);
    return hls_store_sqlite_error(db, rc, why);
  }
  return api_list_pack(&l, pk);
}

/* [{node_id, address}] of the listed peers (not blocked). */
static int pack_peer(void *ctx, const struct hls_peer_row *p) {
  struct list_ctx *l = ctx;
  if (p->blocked) return 0;
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(p->node_id, id);
  l->count++;
  PACK(msgpack_pack_map(&l->pk, 2));
  PACK(hls_mp_pack_kv_str(&l->pk, "node_id", id));
  PACK(hls_mp_pack_kv_str(&l->pk, "address", p->address[0] ? p->address : NULL));
  return 0;
}

int api_governance_report(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_config *cfg = api->env.config;
  sqlite3 *db = hls_store_db(api->env.store);
  msgpack_packer *pk = call->pk;
  struct hls_why *why = &call->why;
  const uint8_t *self = api->env.identity->public_key;
  int rc = 0;
  int64_t total = count_of(db, "SELECT count(*) FROM records", NULL, &rc, why);
  int64_t with_text = count_of(db,
                               "SELECT count(*) FROM records WHERE coalesce(context, tried, happened, learnt) IS NOT NULL",
                               NULL, &rc, why);
  int64_t with_expiry = count_of(db, "SELECT count(*) FROM records WHERE consent_expires IS NOT NULL", NULL, &rc, why);
  int64_t places = count_of(db, "SELECT count(*) FROM origins WHERE origin <> ?1", self, &rc, why);
  int64_t held_by_peers = count_of(db, "SELECT count(*) FROM items WHERE origin = ?1", self, &rc, why);
  if (rc != 0) return rc;
  int64_t entries = 0, bad = 0;
  uint8_t head[HLS_AUDIT_HASH_BYTES];
  if ((rc = hls_audit_verify(db, &entries, &bad, head, why)) != 0) return rc;
  char head_hex[2 * HLS_AUDIT_HASH_BYTES + 1];
  sodium_bin2hex(head_hex, sizeof head_hex, head, sizeof head);
  char web[512] = "";
  bool web_running = api->env.web_url != NULL && api->env.web_url(api->env.ctx, web, sizeof web);

  PACK(msgpack_pack_map(pk, 9));
  PACK(api_pack_kv_time(pk, "generated_at", api_now_ms(api)));
  PACK(hls_mp_pack_cstr(pk, "node"));
  PACK(msgpack_pack_map(pk, 6));
  PACK(hls_mp_pack_kv_str(pk, "place", cfg->place));
  PACK(hls_mp_pack_kv_str(pk, "region", cfg->region));
  PACK(hls_mp_pack_kv_str(pk, "role", cfg->role == HLS_ROLE_PARTNER ? "partner" : "place"));
  PACK(hls_mp_pack_kv_str(pk, "node_id", api->env.node_id));
  PACK(hls_mp_pack_kv_str(pk, "network_id", api->env.network_id));
  PACK(hls_mp_pack_kv_str(pk, "version", HLS_VERSION));

  PACK(hls_mp_pack_cstr(pk, "purposes"));
  if ((rc = pack_purposes(db, pk, why)) != 0) return rc;

  PACK(hls_mp_pack_cstr(pk, "records"));
  PACK(msgpack_pack_map(pk, 5));
  PACK(hls_mp_pack_kv_i64(pk, "total", total));
  PACK(hls_mp_pack_cstr(pk, "by_consent"));
  if ((rc = pack_counts(db, pk, "SELECT consent, count(*) FROM records GROUP BY 1", consent_of, HLS_CONSENT_COUNT,
                        why)) != 0)
    return rc;
  PACK(hls_mp_pack_cstr(pk, "by_scale"));
  if ((rc = pack_counts(db, pk, "SELECT scale, count(*) FROM records GROUP BY 1", scale_of, HLS_SCALE_COUNT, why)) !=
      0)
    return rc;
  PACK(hls_mp_pack_kv_i64(pk, "with_free_text", with_text));
  PACK(hls_mp_pack_kv_i64(pk, "with_consent_expiry", with_expiry));

  PACK(hls_mp_pack_cstr(pk, "sharing"));
  PACK(msgpack_pack_map(pk, 5));
  PACK(hls_mp_pack_cstr(pk, "stories"));
  if ((rc = pack_counts(db, pk, "SELECT state, count(*) FROM shares GROUP BY 1", share_of, 3, why)) != 0) return rc;
  PACK(hls_mp_pack_cstr(pk, "published"));
  {
    char sql[160];
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, self, 32);
    snprintf(sql, sizeof sql, "SELECT type - 1, count(*) FROM items WHERE origin = x'%s' GROUP BY 1", hex);
    if ((rc = pack_counts(db, pk, sql, item_of, 5, why)) != 0) return rc;
  }
  PACK(hls_mp_pack_kv_i64(pk, "suppression_threshold", cfg->suppression_threshold));
  PACK(hls_mp_pack_kv_i64(pk, "rounding", cfg->rounding));
  PACK(hls_mp_pack_kv_str(pk, "disclosure_method", HLS_DIGEST_METHOD_KEYED));

  PACK(hls_mp_pack_cstr(pk, "recipients"));
  PACK(msgpack_pack_map(pk, 3));
  PACK(hls_mp_pack_cstr(pk, "peers"));
  {
    struct list_ctx l;
    api_list_init(&l);
    rc = hls_store_peer_list(api->env.store, pack_peer, &l, why);
    if (rc != 0) {
      msgpack_sbuffer_destroy(&l.sb);
      return rc;
    }
    if ((rc = api_list_pack(&l, pk)) != 0) return rc;
  }
  PACK(hls_mp_pack_kv_i64(pk, "places_known", places));
  PACK(hls_mp_pack_kv_i64(pk, "items_of_this_node", held_by_peers));

  PACK(hls_mp_pack_cstr(pk, "retention"));
  if ((rc = api_retention_pack(api, pk, why)) != 0) return rc;

  PACK(hls_mp_pack_cstr(pk, "security"));
  PACK(msgpack_pack_map(pk, 4));
  PACK(hls_mp_pack_kv_str(pk, "transport", "Secret Handshake and box streams (Curve25519, Ed25519, XSalsa20-Poly1305) "
                                           "keyed by the network key; every item signed by its place (Ed25519)"));
  PACK(hls_mp_pack_kv_str(pk, "at_rest", "data directory mode 0700 (0710/0750 with control.group), keys 0600; "
                                         "SQLite secure_delete on; after an erasure the search index is merged and "
                                         "the WAL checkpointed and truncated"));
  PACK(hls_mp_pack_cstr(pk, "web"));
  PACK(msgpack_pack_map(pk, 4));
  PACK(hls_mp_pack_kv_bool(pk, "running", web_running));
  PACK(hls_mp_pack_kv_str(pk, "url", web_running ? web : NULL));
  PACK(hls_mp_pack_kv_str(pk, "listen", cfg->web_listen));
  PACK(hls_mp_pack_kv_bool(pk, "tls", cfg->web_tls_cert[0] != '\0'));
  PACK(hls_mp_pack_cstr(pk, "audit"));
  PACK(msgpack_pack_map(pk, 3));
  PACK(hls_mp_pack_kv_i64(pk, "entries", entries));
  PACK(hls_mp_pack_kv_bool(pk, "whole", bad == 0));
  PACK(hls_mp_pack_kv_str(pk, "head", head_hex));

  PACK(hls_mp_pack_cstr(pk, "erasure"));
  PACK(hls_mp_pack_cstr(pk, "a deleted record or withdrawn consent publishes a signed tombstone; every node that "
                            "holds the story erases its body (docs/consent.md) and sends back a signed erasure "
                            "receipt (hls share receipts ID lists who confirmed)"));
  return 0;
}
