/* The audit log's methods: audit, audit.verify (docs/governance.md). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api_handlers.h"
#include "audit.h"
#include "date.h"

/* Entries "audit" gives when no limit is asked for. */
#define AUDIT_DEFAULT_LIMIT 1000

static int pack_entry(void *ctx, const struct hls_audit_entry *e) {
  struct list_ctx *l = ctx;
  msgpack_packer *pk = &l->pk;
  char hash[2 * HLS_AUDIT_HASH_BYTES + 1];
  sodium_bin2hex(hash, sizeof hash, e->hash, sizeof e->hash);
  l->count++;
  PACK(msgpack_pack_map(pk, 10));
  PACK(hls_mp_pack_kv_i64(pk, "seq", e->seq));
  PACK(api_pack_kv_time(pk, "at", e->at_ms));
  PACK(hls_mp_pack_kv_str(pk, "who", e->who));
  PACK(hls_mp_pack_kv_str(pk, "action", e->action));
  if (e->record_id > 0) PACK(hls_mp_pack_kv_i64(pk, "record", e->record_id));
  else PACK(hls_mp_pack_kv_str(pk, "record", NULL));
  PACK(hls_mp_pack_kv_str(pk, "about", e->about));
  PACK(hls_mp_pack_kv_str(pk, "before", e->before));
  PACK(hls_mp_pack_kv_str(pk, "after", e->after));
  PACK(hls_mp_pack_kv_str(pk, "result", e->result));
  PACK(hls_mp_pack_kv_str(pk, "hash", hash));
  return 0;
}

int api_audit(struct hls_api *api, struct hls_control_call *call) {
  struct hls_audit_filter f = {.limit = AUDIT_DEFAULT_LIMIT};
  bool has_since = false;
  hls_day since = 0;
  char who[81];
  const char *s;
  uint32_t len;
  bool present = false;
  int rc = api_arg_date(call->req->args, "since", &has_since, &since, &call->why);
  if (rc == 0) rc = hls_mp_get_i64(call->req->args, "record", &f.record_id, NULL, &call->why);
  if (rc == 0) rc = hls_mp_get_str(call->req->args, "who", &s, &len, &present, &call->why);
  if (rc == 0 && present) {
    if (len >= sizeof who) return hls_why_set(&call->why, HLS_EINVAL, "who: at most 80 bytes");
    memcpy(who, s, len);
    who[len] = '\0';
    f.who = who;
  }
  if (rc == 0) rc = hls_api_arg_limit(call->req->args, AUDIT_DEFAULT_LIMIT, &f.limit, &call->why);
  if (rc != 0) return rc;
  if (has_since) f.since_ms = (int64_t)since * 86400000;
  struct list_ctx l;
  api_list_init(&l);
  rc = hls_audit_list(hls_store_db(api->env.store), &f, pack_entry, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "audit entries");
}

int api_audit_verify(struct hls_api *api, struct hls_control_call *call) {
  int64_t entries = 0, bad = 0;
  uint8_t head[HLS_AUDIT_HASH_BYTES];
  int rc = hls_audit_verify(hls_store_db(api->env.store), &entries, &bad, head, &call->why);
  if (rc != 0) return rc;
  char hex[2 * HLS_AUDIT_HASH_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, head, sizeof head);
  PACK(msgpack_pack_map(call->pk, 4));
  PACK(hls_mp_pack_kv_bool(call->pk, "ok", bad == 0));
  PACK(hls_mp_pack_kv_i64(call->pk, "entries", entries));
  if (bad > 0) PACK(hls_mp_pack_kv_i64(call->pk, "first_bad_seq", bad));
  else PACK(hls_mp_pack_kv_str(call->pk, "first_bad_seq", NULL));
  PACK(hls_mp_pack_kv_str(call->pk, "head", hex));
  return 0;
}
