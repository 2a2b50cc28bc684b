/* The peer commands (docs/control.md): peer.add, peer.list, peer.remove,
 * peer.block, peer.unblock. */
#include "api_handlers.h"

#include <string.h>

#include "log.h"
#include "nodeid.h"

/* --- peers ------------------------------------------------------------------------ */

static int arg_node_id(const struct hls_mp_value *a, uint8_t pk[32], struct hls_why *why) {
  bool present;
  return api_arg_node_id_key(a, "node_id", true, &present, pk, why);
}

/* {node_id, change}, and blocked: true when a removed peer stays blocked. */
static int peer_reply(struct hls_api *api, struct hls_control_call *call, const uint8_t pk[32], const char *done,
                      bool still_blocked) {
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pk, id);
  hls_log_info("peer_changed", "peer=%s change=%s%s", id, done, still_blocked ? " blocked=1" : "");
  PACK(msgpack_pack_map(call->pk, still_blocked ? 3 : 2));
  PACK(hls_mp_pack_kv_str(call->pk, "node_id", id));
  PACK(hls_mp_pack_kv_str(call->pk, "change", done));
  if (still_blocked) PACK(hls_mp_pack_kv_bool(call->pk, "blocked", true));
  (void)api;
  return 0;
}

int api_peer_add(struct hls_api *api, struct hls_control_call *call) {
  uint8_t pk[32];
  const char *addr;
  uint32_t len;
  bool present = false;
  char address[HLS_HOSTPORT_MAX + 3];
  int rc = arg_node_id(call->req->args, pk, &call->why);
  if (rc == 0) rc = hls_mp_get_str(call->req->args, "address", &addr, &len, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || len == 0 || len >= sizeof address) return hls_why_set(&call->why, HLS_EINVAL, "address: HOST:PORT required");
  memcpy(address, addr, len);
  address[len] = '\0';
  if ((rc = hls_peers_add(api->env.peers, pk, address, &call->why)) != 0) return rc;
  return peer_reply(api, call, pk, "added", false);
}

int api_peer_remove(struct hls_api *api, struct hls_control_call *call) {
  uint8_t pk[32];
  bool kept_blocked = false;
  int rc = arg_node_id(call->req->args, pk, &call->why);
  if (rc == 0) rc = hls_peers_remove(api->env.peers, pk, &kept_blocked, &call->why);
  /* A blocked peer's address and counters go; the block stays. */
  return rc != 0 ? rc : peer_reply(api, call, pk, "removed", kept_blocked);
}

int api_peer_block(struct hls_api *api, struct hls_control_call *call) {
  uint8_t pk[32];
  int rc = arg_node_id(call->req->args, pk, &call->why);
  if (rc == 0) rc = hls_peers_block(api->env.peers, pk, true, &call->why);
  return rc != 0 ? rc : peer_reply(api, call, pk, "blocked", false);
}

int api_peer_unblock(struct hls_api *api, struct hls_control_call *call) {
  uint8_t pk[32];
  int rc = arg_node_id(call->req->args, pk, &call->why);
  if (rc == 0) rc = hls_peers_block(api->env.peers, pk, false, &call->why);
  return rc != 0 ? rc : peer_reply(api, call, pk, "unblocked", false);
}

int api_peer_list(struct hls_api *api, struct hls_control_call *call) {
  return hls_peers_pack(api->env.peers, call->pk);
}
