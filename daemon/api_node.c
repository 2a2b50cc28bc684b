/* The commands about the node itself (docs/control.md): status, backup,
 * check, chain, chain.accept_loss, and on hlsd --test-clock only
 * test.clock.set and test.clock.advance. */
#include "api_handlers.h"
#include "nodeid.h"
#include "invites.h"

#include <string.h>
#include <sys/stat.h>

#include "hls_version.h"
#include "log.h"

/* --- status ----------------------------------------------------------------- */

/* "signed": the highest seq this node ever signed (its chain mark), nil
 * when that is not known (the mark was lost). */
static int pack_signed(msgpack_packer *pk, const struct hls_api_chain *chain) {
  if (!chain->signed_known)
    return hls_mp_pack_cstr(pk, "signed") != 0 || msgpack_pack_nil(pk) != 0 ? HLS_ENOMEM : 0;
  return hls_mp_pack_kv_i64(pk, "signed", (int64_t)chain->signed_seq);
}

int api_status(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_api_env *env = &api->env;
  struct hls_store_counts counts;
  int rc = hls_store_counts(env->store, &counts, &call->why);
  if (rc != 0) return rc;
  msgpack_packer *pk = call->pk;
  char started[21];
  int64_t now = api_now_ms(api);
  hls_time_format(env->started_ms, started);
  PACK(msgpack_pack_map(pk, 23));
  PACK(hls_mp_pack_kv_str(pk, "node_id", env->node_id));
  PACK(hls_mp_pack_kv_str(pk, "place", env->config->place));
  PACK(hls_mp_pack_kv_str(pk, "region", env->config->region));
  PACK(hls_mp_pack_kv_str(pk, "role", env->config->role == HLS_ROLE_PARTNER ? "partner" : "place"));
  PACK(hls_mp_pack_kv_str(pk, "listen", env->config->listen));
  PACK(hls_mp_pack_kv_str(pk, "listening_on", hls_peers_address(env->peers)));
  PACK(hls_mp_pack_kv_i64(pk, "peers_connected", hls_peers_connected(env->peers)));
  char network_id[17];
  if (env->netkeys != NULL) hls_network_fingerprint(hls_netkeys_current(env->netkeys), network_id);
  else snprintf(network_id, sizeof network_id, "%s", env->network_id);
  PACK(hls_mp_pack_kv_str(pk, "network_id", network_id)); /* of the newest key, after a rotation */
  PACK(hls_mp_pack_kv_str(pk, "version", HLS_VERSION));
  PACK(hls_mp_pack_kv_str(pk, "started_at", started));
  PACK(hls_mp_pack_kv_i64(pk, "uptime_s", (now - env->started_ms) / 1000));
  /* Where hlsd runs on the machine is an admin's business (a web viewer
   * reads status too): null for the other roles. */
  bool admin = call->role >= HLS_USER_ADMIN;
  PACK(hls_mp_pack_cstr(pk, "pid"));
  PACK(admin ? msgpack_pack_int64(pk, (int64_t)uv_os_getpid()) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_kv_str(pk, "home", admin ? env->home : NULL));
  PACK(hls_mp_pack_cstr(pk, "records"));
  PACK(msgpack_pack_map(pk, 1 + HLS_CONSENT_COUNT));
  PACK(hls_mp_pack_kv_i64(pk, "total", counts.records));
  for (int i = 0; i < HLS_CONSENT_COUNT; i++)
    PACK(hls_mp_pack_kv_i64(pk, hls_consent_name((enum hls_consent)i), counts.by_consent[i]));
  PACK(hls_mp_pack_kv_i64(pk, "themes", counts.themes));
  PACK(hls_mp_pack_kv_i64(pk, "store_bytes", counts.bytes));
  PACK(hls_mp_pack_kv_i64(pk, "schema_version", hls_store_schema_version()));
  struct hls_api_chain chain;
  env->chain(env->ctx, &chain);
  char last[21];
  if (chain.last_publish_ms) hls_time_format(chain.last_publish_ms, last);
  PACK(hls_mp_pack_cstr(pk, "chain"));
  PACK(msgpack_pack_map(pk, 6));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)chain.seq));
  PACK(hls_mp_pack_kv_str(pk, "last_publish", chain.last_publish_ms ? last : NULL));
  PACK(hls_mp_pack_kv_bool(pk, "changes_pending", chain.changes_pending));
  PACK(pack_signed(pk, &chain));
  PACK(hls_mp_pack_kv_bool(pk, "recovering", chain.recovering));
  /* seq of the last item of this node's chain signed by another node with its key; nil: none */
  PACK(hls_mp_pack_cstr(pk, "signed_elsewhere"));
  PACK(chain.signed_elsewhere_seq ? msgpack_pack_uint64(pk, chain.signed_elsewhere_seq) : msgpack_pack_nil(pk));
  /* web: {running, url (or nil), problem (why it is not serving, or nil)} */
  char web[512] = "";
  bool web_running = env->web_url != NULL && env->web_url(env->ctx, web, sizeof web);
  PACK(hls_mp_pack_cstr(pk, "web"));
  PACK(msgpack_pack_map(pk, 3));
  PACK(hls_mp_pack_kv_bool(pk, "running", web_running));
  PACK(hls_mp_pack_kv_str(pk, "url", web_running ? web : NULL));
  PACK(hls_mp_pack_kv_str(pk, "problem", web_running || web[0] == '\0' ? NULL : web));
  PACK(hls_mp_pack_cstr(pk, "patterns"));
  if (env->patterns == NULL) PACK(msgpack_pack_nil(pk));
  else PACK(hls_patternsd_pack_status(env->patterns, pk));
  PACK(hls_mp_pack_cstr(pk, "network_key"));
  if (env->netkeys == NULL) PACK(msgpack_pack_nil(pk));
  else if ((rc = hls_netkeys_pack_status(env->netkeys, pk)) != 0) return rc;
  PACK(hls_mp_pack_cstr(pk, "join"));
  if ((rc = hls_invites_pack_status(env->invites, pk, &call->why)) != 0) return rc;
  PACK(hls_mp_pack_cstr(pk, "gossip"));
  if (env->gossip == NULL) return msgpack_pack_nil(pk) != 0 ? HLS_ENOMEM : 0;
  return hls_gossipd_pack_status(env->gossip, pk, &call->why);
}

int api_backup(struct hls_api *api, struct hls_control_call *call) {
  const char *path;
  uint32_t len;
  bool present = false;
  char buf[HLS_PATH_MAX];
  int rc = hls_mp_get_str(call->req->args, "path", &path, &len, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || len == 0 || len >= sizeof buf || path[0] != '/' || memchr(path, '\0', len) != NULL)
    return hls_why_set(&call->why, HLS_EINVAL, "path: an absolute file path is required");
  memcpy(buf, path, len);
  buf[len] = '\0';
  struct stat st;
  if (stat(buf, &st) == 0) return hls_why_set(&call->why, HLS_EEXISTS, "%s exists; choose a new file", buf);
  int64_t start = api_now_ms(api);
  /* A copy never holds what was erased: the scrub due a second after an
   * erasure runs now if it has not yet. */
  if ((rc = hls_store_scrub_text(api->env.store, &call->why)) != 0) return rc;
  if ((rc = hls_store_backup(api->env.store, buf, &call->why)) != 0) return rc;
  if (stat(buf, &st) != 0) return hls_why_set(&call->why, HLS_EIO, "backup file vanished");
  hls_log_info("backup_written", "bytes=%lld ms=%lld", (long long)st.st_size, (long long)(api_now_ms(api) - start));
  PACK(msgpack_pack_map(call->pk, 3));
  PACK(hls_mp_pack_kv_str(call->pk, "path", buf));
  PACK(hls_mp_pack_kv_i64(call->pk, "bytes", (int64_t)st.st_size));
  PACK(hls_mp_pack_kv_i64(call->pk, "schema_version", hls_store_schema_version()));
  return 0;
}

/* --- the chain and the store ------------------------------------------------- */

static int pack_chain(struct hls_api *api, msgpack_packer *pk) {
  struct hls_api_chain chain;
  api->env.chain(api->env.ctx, &chain);
  PACK(msgpack_pack_map(pk, 4));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)chain.seq));
  PACK(pack_signed(pk, &chain));
  PACK(hls_mp_pack_kv_bool(pk, "recovering", chain.recovering));
  PACK(hls_mp_pack_kv_bool(pk, "mark_lost", !chain.signed_known));
  return 0;
}

int api_chain(struct hls_api *api, struct hls_control_call *call) { return pack_chain(api, call->pk); }

int api_chain_accept_loss(struct hls_api *api, struct hls_control_call *call) {
  int rc = api->env.accept_chain_loss(api->env.ctx, &call->why);
  if (rc != 0) return rc;
  return pack_chain(api, call->pk);
}

int api_identity_rotate(struct hls_api *api, struct hls_control_call *call) {
  uint8_t old_id[32], new_id[32];
  uint64_t seq = 0;
  char retired[64] = "", old_text[HLS_NODEID_TEXT_SIZE], new_text[HLS_NODEID_TEXT_SIZE];
  int rc = api->env.rotate_identity(api->env.ctx, old_id, new_id, &seq, retired, &call->why);
  if (rc != 0) return rc;
  hls_nodeid_format(old_id, old_text);
  hls_nodeid_format(new_id, new_text);
  PACK(msgpack_pack_map(call->pk, 4));
  PACK(hls_mp_pack_kv_str(call->pk, "old_node_id", old_text));
  PACK(hls_mp_pack_kv_str(call->pk, "node_id", new_text));
  PACK(hls_mp_pack_kv_i64(call->pk, "successor_seq", (int64_t)seq));
  PACK(hls_mp_pack_kv_str(call->pk, "retired_key_file", retired));
  return 0;
}

struct problems {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint32_t n;
};

static int add_problem(void *ctx, const char *problem) {
  struct problems *p = ctx;
  p->n++;
  return hls_mp_pack_cstr(&p->pk, problem) != 0 ? HLS_ENOMEM : 0;
}

int api_check(struct hls_api *api, struct hls_control_call *call) {
  struct problems p = {.n = 0};
  msgpack_sbuffer_init(&p.sb);
  msgpack_packer_init(&p.pk, &p.sb, msgpack_sbuffer_write);
  struct hls_why why = {{0}};
  int rc = hls_store_check(api->env.store, true, add_problem, &p, &why);
  if (rc == 0 || rc == HLS_ECORRUPT) {
    rc = 0;
    if (msgpack_pack_map(call->pk, 2) != 0 || hls_mp_pack_kv_bool(call->pk, "ok", p.n == 0) != 0 ||
        hls_mp_pack_cstr(call->pk, "problems") != 0 || msgpack_pack_array(call->pk, p.n) != 0 ||
        msgpack_sbuffer_write(call->pk->data, p.sb.data, p.sb.size) != 0)
      rc = HLS_ENOMEM;
    if (p.n > 0) hls_log_error("store_damaged", "problems=%u detail=\"hls check lists them\"", p.n);
  } else {
    call->why = why;
  }
  msgpack_sbuffer_destroy(&p.sb);
  return rc;
}

/* --- the test clock (hlsd --test-clock; docs/cli.md, "Testing") --------------- */

/* Far enough for any test, and the clock stays within the years dates take. */
#define TEST_CLOCK_MAX_MS 253402300799000LL /* 9999-12-31T23:59:59Z */

static int pack_test_clock(struct hls_api *api, msgpack_packer *pk) {
  char now[21], today[11];
  int64_t ms = api_now_ms(api);
  hls_time_format(ms, now);
  hls_date_format(api_today(api), today);
  PACK(msgpack_pack_map(pk, 3));
  PACK(hls_mp_pack_kv_str(pk, "now", now));
  PACK(hls_mp_pack_kv_i64(pk, "now_ms", ms));
  PACK(hls_mp_pack_kv_str(pk, "today", today));
  return 0;
}

int api_test_clock_set(struct hls_api *api, struct hls_control_call *call) {
  const char *at;
  uint32_t len;
  bool present = false;
  int64_t ms;
  int rc = hls_mp_get_str(call->req->args, "at", &at, &len, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || hls_time_parse(at, len, &ms) != 0)
    return hls_why_set(&call->why, HLS_EINVAL, "at: a UTC time is required, e.g. 2026-03-02T10:00:00Z");
  if ((rc = api->env.test_clock_set(api->env.ctx, ms, &call->why)) != 0) return rc;
  return pack_test_clock(api, call->pk);
}

int api_test_clock_advance(struct hls_api *api, struct hls_control_call *call) {
  int64_t ms = 0, now = api_now_ms(api);
  bool present = false;
  int rc = hls_mp_get_i64(call->req->args, "ms", &ms, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || ms < 0 || ms > TEST_CLOCK_MAX_MS - now)
    return hls_why_set(&call->why, HLS_EINVAL, "ms: the milliseconds to move forward are required (0 or more, "
                       "up to 9999-12-31)");
  if ((rc = api->env.test_clock_set(api->env.ctx, now + ms, &call->why)) != 0) return rc;
  return pack_test_clock(api, call->pk);
}
