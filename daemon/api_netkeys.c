/* The network key commands (docs/control.md): network.rotate,
 * network.retire_old, network.stewards[.add|.remove]. The rotation itself
 * is netkeys.h's; a steward's rekey is an item of this node's chain, which
 * the publishing run signs at once. */
#include "api_handlers.h"

#include <string.h>

#include "date.h"
#include "log.h"
#include "nodeid.h"

#define DEFAULT_OVERLAP_MS (14 * 86400000LL)
#define MAX_OVERLAP_MS (365 * 86400000LL)

/* "0", or N followed by m, h, d or w. */
static int parse_overlap(const char *s, uint32_t len, int64_t *out, struct hls_why *why) {
  if (len == 1 && s[0] == '0') {
    *out = 0;
    return 0;
  }
  int64_t ms = 0;
  if (hls_duration_parse(s, len, &ms) != 0 || ms > MAX_OVERLAP_MS)
    return hls_why_set(why, HLS_EINVAL, "overlap: 0, or a duration of at most a year such as 30m, 12h, 14d or 2w");
  *out = ms;
  return 0;
}

/* One node id text of a list argument. */
static int node_id_of(const struct hls_mp_value *v, uint8_t pk[32], struct hls_why *why) {
  char text[HLS_NODEID_TEXT_SIZE];
  if (v->type != HLS_MP_STR || v->len >= sizeof text) return hls_why_set(why, HLS_EINVAL, "expel: expected node ids");
  memcpy(text, v->v.str, v->len);
  text[v->len] = '\0';
  if (hls_nodeid_parse(text, pk) != 0)
    return hls_why_set(why, HLS_EINVAL, "expel: '%s' is not a node id (@<base64>.ed25519)", text);
  return 0;
}

int api_network_rotate(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *args = call->req->args;
  uint8_t expel[HLS_REKEY_MAX_EXPELLED][32];
  size_t n_expel = 0;
  bool yes = false, present = false;
  int rc = hls_mp_get_bool(args, "yes", &yes, &present, &call->why);
  if (rc != 0) return rc;
  const struct hls_mp_value *e = hls_mp_get(args, "expel");
  if (e != NULL && e->type == HLS_MP_STR) {
    if ((rc = node_id_of(e, expel[0], &call->why)) != 0) return rc;
    n_expel = 1;
  } else if (e != NULL && e->type == HLS_MP_ARRAY) {
    if (e->len > HLS_REKEY_MAX_EXPELLED)
      return hls_why_set(&call->why, HLS_EINVAL, "expel: at most %d nodes", HLS_REKEY_MAX_EXPELLED);
    for (uint32_t i = 0; i < e->len; i++)
      if ((rc = node_id_of(&e->v.items[i], expel[n_expel++], &call->why)) != 0) return rc;
  }
  int64_t overlap = DEFAULT_OVERLAP_MS;
  const char *s;
  uint32_t len;
  if ((rc = hls_mp_get_str(args, "overlap", &s, &len, &present, &call->why)) != 0) return rc;
  if (present && (rc = parse_overlap(s, len, &overlap, &call->why)) != 0) return rc;
  if (!yes)
    return hls_why_set(&call->why, HLS_EINVAL, "a rotation cannot be undone: every member but the expelled gets a "
                       "new key; give --yes to rotate");
  struct hls_rekey r;
  if ((rc = hls_netkeys_rotate_begin(api->env.netkeys, (const uint8_t(*)[32])expel, n_expel, overlap, &r,
                                     &call->why)) != 0)
    return rc;
  if ((rc = api->env.publish_all(api->env.ctx, &call->why)) != 0) return rc;
  struct hls_api_chain chain;
  api->env.chain(api->env.ctx, &chain);
  char until[21];
  hls_time_format((int64_t)r.overlap_until_ms, until);
  hls_log_info("network_rotate", "epoch=%llu expelled=%zu overlap_until=%s", (unsigned long long)r.epoch,
               r.n_expelled, until);
  msgpack_packer *pk = call->pk;
  PACK(msgpack_pack_map(pk, 4));
  PACK(hls_mp_pack_kv_i64(pk, "epoch", (int64_t)r.epoch));
  PACK(hls_mp_pack_kv_str(pk, "overlap_until", until));
  PACK(hls_mp_pack_kv_i64(pk, "chain_seq", (int64_t)chain.seq));
  PACK(hls_mp_pack_cstr(pk, "expelled"));
  PACK(msgpack_pack_array(pk, (uint32_t)r.n_expelled));
  for (size_t i = 0; i < r.n_expelled; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(r.expelled[i], id);
    PACK(hls_mp_pack_cstr(pk, id));
  }
  return 0;
}

int api_network_retire_old(struct hls_api *api, struct hls_control_call *call) {
  int rc = hls_netkeys_retire_old(api->env.netkeys, &call->why);
  if (rc != 0) return rc;
  return hls_netkeys_pack_status(api->env.netkeys, call->pk);
}

int api_network_stewards(struct hls_api *api, struct hls_control_call *call) {
  return hls_netkeys_pack_status(api->env.netkeys, call->pk);
}

static int stewards_change(struct hls_api *api, struct hls_control_call *call, bool add) {
  uint8_t pk[32], list[HLS_STEWARDS_MAX][32];
  bool present;
  char id[HLS_NODEID_TEXT_SIZE];
  int rc = api_arg_node_id_key(call->req->args, "node_id", true, &present, pk, &call->why);
  if (rc != 0) return rc;
  hls_nodeid_format(pk, id);
  size_t n = hls_netkeys_stewards(api->env.netkeys, list), at = n;
  for (size_t i = 0; i < n; i++)
    if (memcmp(list[i], pk, 32) == 0) at = i;
  if (add && at < n) return hls_why_set(&call->why, HLS_EEXISTS, "%s is a steward already", id);
  if (!add && at == n) return hls_why_set(&call->why, HLS_ENOTFOUND, "%s is not a steward here", id);
  if (add && n == HLS_STEWARDS_MAX) return hls_why_set(&call->why, HLS_ELIMIT, "at most %d stewards", HLS_STEWARDS_MAX);
  if (add) memcpy(list[n++], pk, 32);
  else memmove(list[at], list[--n], 32);
  if ((rc = hls_netkeys_stewards_set(api->env.netkeys, (const uint8_t(*)[32])list, n, &call->why)) != 0) return rc;
  hls_log_info(add ? "steward_added" : "steward_removed", "node=%s", id);
  return hls_netkeys_pack_status(api->env.netkeys, call->pk);
}

int api_network_stewards_add(struct hls_api *api, struct hls_control_call *call) {
  return stewards_change(api, call, true);
}

int api_network_stewards_remove(struct hls_api *api, struct hls_control_call *call) {
  return stewards_change(api, call, false);
}
