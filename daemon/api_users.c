/* The web app's people and feed tokens: user.add, user.list, user.remove,
 * user.reset, web.open, feed.token (docs/web.md). Links and tokens are
 * shown once, in the reply; the store keeps only their hashes. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api_handlers.h"
#include "log.h"
#include "users.h"

static struct sqlite3 *db_of(struct hls_api *api) { return hls_store_db(api->env.store); }

/* name (a NAME-checked argument) into out; false if absent. */
static bool arg_name(const struct hls_control_call *call, char out[HLS_USER_NAME_MAX + 1]) {
  const char *s;
  uint32_t len;
  bool present = false;
  if (hls_mp_get_str(call->req->args, "name", &s, &len, &present, NULL) != 0 || !present || len > HLS_USER_NAME_MAX)
    return false;
  memcpy(out, s, len);
  out[len] = '\0';
  return true;
}

/* The web app's address (true), or, not serving, "" in base (links are
 * then paths) and why in problem (false). */
static bool web_base(const struct hls_api *api, char base[512], char problem[512]) {
  base[0] = problem[0] = '\0';
  if (api->env.web_url != NULL && api->env.web_url(api->env.ctx, base, 512)) return true;
  snprintf(problem, 512, "%s", base[0] ? base : "the web app is not running");
  base[0] = '\0';
  return false;
}

/* web open's news beside its link: the user was made now; a link sent
 * before stopped working. */
struct open_news {
  bool created, replaced_link;
};

/* {name, role?, link, link_expires_at, web_running, web_problem?} for a
 * fresh link, and news's {created, replaced_link} when given. */
static int pack_link(struct hls_api *api, struct hls_control_call *call, const char *name, const char *role,
                     const char token[HLS_USER_TOKEN_TEXT], int64_t expires_ms, const struct open_news *news) {
  char base[512], problem[512], link[700];
  bool running = web_base(api, base, problem);
  snprintf(link, sizeof link, "%s/#/welcome/%s", base, token);
  PACK(msgpack_pack_map(call->pk, (role ? 5 : 4) + !running + (news ? 2 : 0)));
  if (news != NULL) {
    PACK(hls_mp_pack_kv_bool(call->pk, "created", news->created));
    PACK(hls_mp_pack_kv_bool(call->pk, "replaced_link", news->replaced_link));
  }
  if (!running) PACK(hls_mp_pack_kv_str(call->pk, "web_problem", problem));
  PACK(hls_mp_pack_kv_str(call->pk, "name", name));
  if (role) PACK(hls_mp_pack_kv_str(call->pk, "role", role));
  PACK(hls_mp_pack_kv_str(call->pk, "link", link));
  PACK(api_pack_kv_time(call->pk, "link_expires_at", expires_ms));
  PACK(hls_mp_pack_kv_bool(call->pk, "web_running", running));
  sodium_memzero(link, sizeof link);
  return 0;
}

int api_user_add(struct hls_api *api, struct hls_control_call *call) {
  char name[HLS_USER_NAME_MAX + 1], token[HLS_USER_TOKEN_TEXT];
  int role = HLS_USER_VIEWER;
  if (!arg_name(call, name)) return hls_why_set(&call->why, HLS_EINVAL, "name: required");
  const char *rs;
  uint32_t rlen;
  bool present = false;
  int rc = hls_mp_get_str(call->req->args, "role", &rs, &rlen, &present, &call->why);
  enum hls_user_role r = HLS_USER_VIEWER;
  if (rc == 0) rc = hls_user_role_parse(rs, rlen, &r, &call->why);
  if (rc != 0) return rc;
  role = (int)r;
  int64_t now = api_now_ms(api), expires = now + api->env.config->web_link_ttl_ms;
  rc = hls_users_add(db_of(api), name, (enum hls_user_role)role, call->user, now, expires, token, &call->why);
  if (rc == 0) {
    hls_log_info("user_added", "name=%s role=%s by=%s", name, hls_user_role_name(r), call->user ? call->user : "-");
    rc = pack_link(api, call, name, hls_user_role_name(r), token, expires, NULL);
  }
  sodium_memzero(token, sizeof token);
  return rc;
}


static int pack_user(void *ctx, const struct hls_user *u) {
  struct list_ctx *l = ctx;
  msgpack_packer *pk = &l->pk;
  l->count++;
  PACK(msgpack_pack_map(pk, 8));
  PACK(hls_mp_pack_kv_str(pk, "name", u->name));
  PACK(hls_mp_pack_kv_str(pk, "role", hls_user_role_name(u->role)));
  PACK(api_pack_kv_time(pk, "created_at", u->created_ms));
  PACK(hls_mp_pack_kv_str(pk, "created_by", u->created_by[0] ? u->created_by : NULL));
  if (u->last_signin_ms > 0) PACK(api_pack_kv_time(pk, "last_signin_at", u->last_signin_ms));
  else PACK(hls_mp_pack_kv_str(pk, "last_signin_at", NULL));
  PACK(hls_mp_pack_kv_bool(pk, "has_password", u->has_password));
  PACK(hls_mp_pack_kv_bool(pk, "link_pending", u->link_pending));
  if (u->link_pending) PACK(api_pack_kv_time(pk, "link_expires_at", u->link_expires_ms));
  else PACK(hls_mp_pack_kv_str(pk, "link_expires_at", NULL));
  return 0;
}

int api_user_list(struct hls_api *api, struct hls_control_call *call) {
  struct list_ctx l;
  api_list_init(&l);
  int rc = hls_users_list(db_of(api), pack_user, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "users");
}

int api_user_remove(struct hls_api *api, struct hls_control_call *call) {
  char name[HLS_USER_NAME_MAX + 1];
  if (!arg_name(call, name)) return hls_why_set(&call->why, HLS_EINVAL, "name: required");
  int rc = hls_users_remove(db_of(api), name, &call->why);
  if (rc != 0) return rc;
  hls_log_info("user_removed", "name=%s by=%s", name, call->user ? call->user : "-");
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_kv_str(call->pk, "name", name));
  PACK(hls_mp_pack_kv_bool(call->pk, "removed", true));
  return 0;
}

int api_user_reset(struct hls_api *api, struct hls_control_call *call) {
  char name[HLS_USER_NAME_MAX + 1], token[HLS_USER_TOKEN_TEXT];
  if (!arg_name(call, name)) return hls_why_set(&call->why, HLS_EINVAL, "name: required");
  int64_t expires = api_now_ms(api) + api->env.config->web_link_ttl_ms;
  int rc = hls_users_reset(db_of(api), name, expires, token, &call->why);
  if (rc == 0) {
    hls_log_info("user_reset", "name=%s by=%s", name, call->user ? call->user : "-");
    rc = pack_link(api, call, name, NULL, token, expires, NULL);
  }
  sodium_memzero(token, sizeof token);
  return rc;
}

/* A Unix user name as a web user name: the characters NAME allows, or
 * "admin" when none are left. */
static void web_name_of(const char *unix_user, char out[HLS_USER_NAME_MAX + 1]) {
  size_t n = 0;
  for (const char *p = unix_user ? unix_user : ""; *p && n < HLS_USER_NAME_MAX; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
        *p == '.')
      out[n++] = *p;
  out[n] = '\0';
  if (n == 0) snprintf(out, HLS_USER_NAME_MAX + 1, "admin");
}

int api_web_open(struct hls_api *api, struct hls_control_call *call) {
  char name[HLS_USER_NAME_MAX + 1], token[HLS_USER_TOKEN_TEXT];
  if (!arg_name(call, name)) web_name_of(call->user, name);
  int64_t now = api_now_ms(api), expires = now + api->env.config->web_link_ttl_ms;
  struct hls_user u;
  struct hls_why ignore = {{0}};
  int rc;
  const char *role = NULL;
  struct open_news news = {0};
  if (hls_users_get(db_of(api), name, &u, &ignore) == 0) {
    rc = hls_users_new_link(db_of(api), name, expires, token, &call->why);
    role = hls_user_role_name(u.role);
    news.replaced_link = u.link_pending && u.link_expires_ms > now; /* one link a user: the new one replaces it */
  } else {
    news.created = true;
    /* The control socket's caller holds every role: its web user is an admin. */
    rc = hls_users_add(db_of(api), name, HLS_USER_ADMIN, call->user, now, expires, token, &call->why);
    role = hls_user_role_name(HLS_USER_ADMIN);
    if (rc == 0) hls_log_info("user_added", "name=%s role=admin by=%s", name, call->user ? call->user : "-");
  }
  if (rc == 0) rc = pack_link(api, call, name, role, token, expires, &news);
  sodium_memzero(token, sizeof token);
  return rc;
}

int api_feed_token(struct hls_api *api, struct hls_control_call *call) {
  char name[HLS_USER_NAME_MAX + 1], token[HLS_USER_TOKEN_TEXT], base[512], problem[512], url[800];
  if (!arg_name(call, name)) return hls_why_set(&call->why, HLS_EINVAL, "name: required");
  int rc = hls_users_feed_token_set(db_of(api), name, token, &call->why);
  if (rc != 0) return rc;
  bool running = web_base(api, base, problem);
  rc = HLS_ENOMEM;
  if (msgpack_pack_map(call->pk, 5 + !running) != 0) goto out;
  if (!running && hls_mp_pack_kv_str(call->pk, "web_problem", problem)) goto out;
  if (hls_mp_pack_kv_str(call->pk, "name", name) || hls_mp_pack_kv_str(call->pk, "token", token)) goto out;
  snprintf(url, sizeof url, "%s/feeds/%s.json?token=%s", base, name, token);
  if (hls_mp_pack_kv_str(call->pk, "json_url", url)) goto out;
  snprintf(url, sizeof url, "%s/feeds/%s.atom?token=%s", base, name, token);
  if (hls_mp_pack_kv_str(call->pk, "atom_url", url)) goto out;
  if (hls_mp_pack_kv_bool(call->pk, "web_running", running)) goto out;
  rc = 0;
  hls_log_info("feed_token", "name=%s by=%s", name, call->user ? call->user : "-");
out:
  sodium_memzero(token, sizeof token);
  sodium_memzero(url, sizeof url);
  return rc;
}
