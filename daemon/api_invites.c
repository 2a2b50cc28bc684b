/* The invite commands (docs/control.md): invite.create, invite.list,
 * invite.revoke. The code holds the network key: it goes only to the
 * caller, never into a log line or the audit log. */
#include "api_handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "date.h"
#include "invite.h"
#include "invites.h"
#include "log.h"
#include "nodeid.h"
#include "text.h"

#define DEFAULT_EXPIRY_MS (7LL * 24 * 3600 * 1000)
#define MAX_EXPIRY_MS (366LL * 24 * 3600 * 1000)

/* "YYYY-MM-DD" (to the end of that day, UTC) or a duration from now:
 * N followed by m, h, d or w. */
static int parse_expires(const char *s, uint32_t len, int64_t now_ms, int64_t *out, struct hls_why *why) {
  hls_day day;
  if (len == 10 && hls_date_parse(s, len, &day) == 0) {
    *out = ((int64_t)day + 1) * 86400000LL;
  } else {
    int64_t ms = 0;
    if (hls_duration_parse(s, len, &ms) != 0)
      return hls_why_set(why, HLS_EINVAL, "expires: YYYY-MM-DD, or a duration such as 30m, 12h, 7d or 2w");
    *out = now_ms + ms;
  }
  if (*out <= now_ms) return hls_why_set(why, HLS_EINVAL, "expires: that is in the past");
  if (*out - now_ms > MAX_EXPIRY_MS) return hls_why_set(why, HLS_EINVAL, "expires: at most a year from now");
  return 0;
}

static void caller_name(const struct hls_control_call *call, char *out, size_t size) {
  if (call->user) snprintf(out, size, "%s", call->user);
  else snprintf(out, size, "#%u", (unsigned)call->uid);
}

int api_invite_create(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *args = call->req->args;
  int64_t uses = 1, now = api_now_ms(api), expires = now + DEFAULT_EXPIRY_MS;
  bool present = false;
  const char *s;
  uint32_t len;
  char note[HLS_INVITE_NOTE_MAX + 1] = "", by[HLS_INVITE_BY_MAX + 1];
  struct hls_invite inv;
  memset(&inv, 0, sizeof inv);
  int rc = hls_mp_get_i64(args, "uses", &uses, &present, &call->why);
  if (rc != 0) return rc;
  if (!present) uses = 1;
  if ((rc = hls_mp_get_str(args, "expires", &s, &len, &present, &call->why)) != 0) return rc;
  if (present && (rc = parse_expires(s, len, now, &expires, &call->why)) != 0) return rc;
  if ((rc = hls_mp_get_str(args, "note", &s, &len, &present, &call->why)) != 0) return rc;
  if (present) {
    if (len > HLS_INVITE_NOTE_MAX) return hls_why_set(&call->why, HLS_EINVAL, "note: at most %d bytes", HLS_INVITE_NOTE_MAX);
    /* one line of text: hls invite list prints it in a table (an escape
     * or a line break would reach the admin's terminal) */
    if ((rc = hls_text_check(s, len, HLS_INVITE_NOTE_MAX, false, "note", &call->why)) != 0) return rc;
    memcpy(note, s, len);
    note[len] = '\0';
  }
  if ((rc = hls_mp_get_str(args, "address", &s, &len, &present, &call->why)) != 0) return rc;
  if (present) {
    struct hls_hostport hp;
    char text[HLS_INVITE_ADDRESS_MAX + 1];
    if (len > HLS_INVITE_ADDRESS_MAX) return hls_why_set(&call->why, HLS_EINVAL, "address: too long");
    memcpy(text, s, len);
    text[len] = '\0';
    if ((rc = hls_hostport_parse(text, &hp, true, false, &call->why)) != 0) return rc;
    hls_hostport_format(&hp, inv.address);
  } else {
    hls_invites_reachable_address(api->env.config, api->env.peers, inv.address, sizeof inv.address);
    if (inv.address[0] == '\0')
      return hls_why_set(&call->why, HLS_EINVAL,
                         "this node listens on every address and advertises none: give --address HOST:PORT, where "
                         "new places reach it (or set network.advertise)");
  }
  memcpy(inv.network_key, api->env.network_key, 32);
  memcpy(inv.inviter, api->env.identity->public_key, 32);
  randombytes_buf(inv.secret, sizeof inv.secret);
  char code[HLS_INVITE_TEXT_MAX];
  uint8_t hash[32];
  int64_t id = 0;
  hls_invite_secret_hash(inv.secret, hash);
  caller_name(call, by, sizeof by);
  rc = hls_invite_encode(&inv, code, &call->why);
  if (rc == 0) rc = hls_store_invite_add(api->env.store, hash, uses, expires, note, by, now, &id, &call->why);
  char address[sizeof inv.address];
  memcpy(address, inv.address, sizeof address);
  sodium_memzero(&inv, sizeof inv);
  if (rc != 0) {
    sodium_memzero(code, sizeof code);
    return rc;
  }
  char at[21];
  hls_time_format(expires, at);
  hls_log_info("invite_created", "invite=%lld uses=%lld expires=%s", (long long)id, (long long)uses, at);
  rc = msgpack_pack_map(call->pk, 6) || hls_mp_pack_kv_i64(call->pk, "id", id) ||
               hls_mp_pack_kv_str(call->pk, "code", code) || hls_mp_pack_kv_i64(call->pk, "uses", uses) ||
               hls_mp_pack_kv_str(call->pk, "expires_at", at) || hls_mp_pack_kv_str(call->pk, "address", address) ||
               hls_mp_pack_kv_str(call->pk, "note", note)
           ? HLS_ENOMEM
           : 0;
  sodium_memzero(code, sizeof code);
  return rc;
}

struct invite_list_ctx {
  msgpack_packer *pk;
  int64_t now_ms;
  size_t n;
  bool count_only;
};

static const char *invite_state(const struct hls_invite_row *r, int64_t now_ms) {
  if (r->revoked_ms) return "revoked";
  if (r->uses >= r->max_uses) return "spent";
  if (now_ms >= r->expires_ms) return "expired";
  return "open";
}

static int pack_invite(void *ctx, const struct hls_invite_row *r) {
  struct invite_list_ctx *lc = ctx;
  lc->n++;
  if (lc->count_only) return 0;
  msgpack_packer *pk = lc->pk;
  char expires[21], created[21], revoked[21];
  hls_time_format(r->expires_ms, expires);
  hls_time_format(r->created_ms, created);
  if (r->revoked_ms) hls_time_format(r->revoked_ms, revoked);
  PACK(msgpack_pack_map(pk, 10));
  PACK(hls_mp_pack_kv_i64(pk, "id", r->id));
  PACK(hls_mp_pack_kv_str(pk, "state", invite_state(r, lc->now_ms)));
  PACK(hls_mp_pack_kv_i64(pk, "uses", r->uses));
  PACK(hls_mp_pack_kv_i64(pk, "max_uses", r->max_uses));
  PACK(hls_mp_pack_kv_str(pk, "expires_at", expires));
  PACK(hls_mp_pack_kv_str(pk, "note", r->note));
  PACK(hls_mp_pack_kv_str(pk, "created_by", r->created_by));
  PACK(hls_mp_pack_kv_str(pk, "created_at", created));
  PACK(hls_mp_pack_kv_str(pk, "revoked_at", r->revoked_ms ? revoked : NULL));
  PACK(hls_mp_pack_cstr(pk, "redeemed_by"));
  PACK(msgpack_pack_array(pk, (uint32_t)r->n_redeemed));
  for (size_t i = 0; i < r->n_redeemed; i++) {
    char id[HLS_NODEID_TEXT_SIZE], at[21];
    hls_nodeid_format(r->redeemed[i].node_id, id);
    hls_time_format(r->redeemed[i].redeemed_ms, at);
    PACK(msgpack_pack_map(pk, 2));
    PACK(hls_mp_pack_kv_str(pk, "node_id", id));
    PACK(hls_mp_pack_kv_str(pk, "at", at));
  }
  return 0;
}

int api_invite_list(struct hls_api *api, struct hls_control_call *call) {
  struct invite_list_ctx lc = {.pk = call->pk, .now_ms = api_now_ms(api), .count_only = true};
  int rc = hls_store_invite_list(api->env.store, pack_invite, &lc, &call->why);
  if (rc != 0) return rc;
  PACK(msgpack_pack_array(call->pk, (uint32_t)lc.n));
  lc.count_only = false;
  lc.n = 0;
  return hls_store_invite_list(api->env.store, pack_invite, &lc, &call->why);
}

int api_invite_revoke(struct hls_api *api, struct hls_control_call *call) {
  int64_t id;
  int rc = api_arg_id(call->req->args, &id, &call->why);
  if (rc == 0) rc = hls_store_invite_revoke(api->env.store, id, api_now_ms(api), &call->why);
  if (rc != 0) return rc;
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_kv_i64(call->pk, "id", id));
  PACK(hls_mp_pack_kv_str(call->pk, "change", "revoked"));
  return 0;
}
