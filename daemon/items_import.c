/* items.import: see items_import.h and docs/control.md.
 *
 * The request's envelopes are taken as runs (protocol/items.h: one
 * origin, consecutive seqs, linked), each handed to the gossip engine
 * (hls_gossip_import), which verifies every signature and then acts as for
 * an ITEMS frame: the same STORE/ERASE/FORK actions, the same pushes to
 * connected peers. The first run that is refused ends the request; runs
 * before it stay imported, and the reply says which envelope failed and
 * why, so hls can name the file and offset. A failure of this node's own
 * store is an error reply. */
#include "items_import.h"

#include <stdlib.h>
#include <string.h>

#include "gossip.h"
#include "items.h"
#include "log.h"
#include "nodeid.h"

#define PACK(expr)                        \
  do {                                    \
    if ((expr) != 0) return HLS_ENOMEM;   \
  } while (0)

static int pack_reply(msgpack_packer *pk, const struct hls_gossip_import_result *res, int err, size_t err_index,
                      const struct hls_envelope *bad, const struct hls_why *why) {
  PACK(msgpack_pack_map(pk, 6));
  PACK(hls_mp_pack_kv_i64(pk, "imported", (int64_t)res->imported));
  PACK(hls_mp_pack_kv_i64(pk, "held", (int64_t)res->held));
  PACK(hls_mp_pack_kv_i64(pk, "stubbed", (int64_t)res->stubbed));
  PACK(hls_mp_pack_kv_i64(pk, "ignored", (int64_t)res->ignored));
  PACK(hls_mp_pack_kv_i64(pk, "forks", (int64_t)res->forks));
  PACK(hls_mp_pack_cstr(pk, "error"));
  if (err == 0) return msgpack_pack_nil(pk) != 0 ? HLS_ENOMEM : 0;
  char origin[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(bad->h.origin, origin);
  PACK(msgpack_pack_map(pk, 5));
  PACK(hls_mp_pack_kv_i64(pk, "index", (int64_t)err_index));
  PACK(hls_mp_pack_kv_str(pk, "origin", origin));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)bad->h.seq));
  PACK(hls_mp_pack_kv_str(pk, "code", hls_err_name(err)));
  PACK(hls_mp_pack_kv_str(pk, "message", why->text[0] ? why->text : hls_strerror(err)));
  return 0;
}

int hls_items_import_api(struct hls_gossipd *gossip, struct hls_control_call *call) {
  if (gossip == NULL) return hls_why_set(&call->why, HLS_ESTATE, "gossip is not running");
  /* Sized from the request only once the count is within the limit. */
  const struct hls_mp_value *list = hls_mp_get(call->req->args, "envelopes");
  size_t cap = list != NULL && list->type == HLS_MP_ARRAY && list->len > 0 && list->len <= HLS_IMPORT_ITEMS_MAX
                   ? list->len
                   : 1;
  struct hls_envelope *envs = calloc(cap, sizeof *envs);
  if (envs == NULL) return HLS_ENOMEM;
  size_t count;
  int rc = hls_items_request_decode(call->req->args, envs, cap, &count, &call->why);
  if (rc != 0) {
    free(envs);
    return rc;
  }
  struct hls_gossip_import_result res = {0};
  struct hls_why why = {{0}};
  size_t at = 0, err_index = 0;
  while (at < count) {
    size_t m = hls_items_run_length(&envs[at], count - at);
    rc = hls_gossipd_import(gossip, &envs[at], m, &res, &why);
    if (rc != 0) {
      err_index = at;
      if (res.error_seq >= envs[at].h.seq && res.error_seq - envs[at].h.seq < m)
        err_index = at + (size_t)(res.error_seq - envs[at].h.seq);
      break;
    }
    at += m;
  }
  if (rc != 0 && hls_err_is_local(rc)) {
    hls_log_error("items_import_failed", "error=%s imported=%llu", hls_err_name(rc), (unsigned long long)res.imported);
    free(envs);
    call->why = why;
    return rc;
  }
  hls_log_info("items_imported", "envelopes=%zu imported=%llu held=%llu stubbed=%llu ignored=%llu forks=%llu%s%s",
               count, (unsigned long long)res.imported, (unsigned long long)res.held,
               (unsigned long long)res.stubbed, (unsigned long long)res.ignored, (unsigned long long)res.forks,
               rc != 0 ? " refused=" : "", rc != 0 ? hls_err_name(rc) : "");
  rc = pack_reply(call->pk, &res, rc, err_index, &envs[err_index], &why);
  free(envs);
  return rc;
}
