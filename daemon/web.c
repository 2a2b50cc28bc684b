/* The web app's server (web.h, docs/web.md). */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "addr.h"
#include "audit.h"
#include "ctl.h"
#include "date.h"
#include "hls_limits.h"
#include "log.h"
#include "methods.h"
#include "mpjson.h"
#include "store.h"
#include "text.h"
#include "users.h"
#include "webassets.h"

/* Sessions held at once; the least recently used goes first. One user
 * holds at most MAX_USER_SESSIONS: signing in again and again ends their
 * own oldest session, not other people's. */
#define MAX_SESSIONS 512
#define MAX_USER_SESSIONS 16
/* Failed password sign-ins: FAIL_LIMIT per name, FAIL_LIMIT_ADDR per
 * client address (behind a reverse proxy every client has the proxy's),
 * within FAIL_WINDOW_MS, then 429 until the window ends. One-time links
 * (256 random bits) are not guessed, so a refused link locks nothing: an
 * admin's new link always signs in. */
#define FAIL_LIMIT 5
#define FAIL_LIMIT_ADDR 50
#define FAIL_WINDOW_MS (15 * 60 * 1000)
#define MAX_FAIL_KEYS 1024
/* Password hashing (Argon2id, about 0.1 s of the loop each): at most
 * HASH_BURST at once, then one per HASH_REFILL_MS, for the whole node;
 * beyond it, 429 at once. A signed-in user asking for hashes in a loop
 * slows sign-ins, not the node's peers, hls or other pages. */
#define HASH_BURST 8
#define HASH_REFILL_MS 500
/* Headers and the request line: libmicrohttpd's per-connection memory
 * (requests with larger headers get 431). */
#define HEADER_MEMORY (32 * 1024)
/* An idle connection is closed after this many seconds. */
#define CONNECTION_TIMEOUT_S 30
/* Events a feed's web addresses serve. */
#define FEED_EVENTS 50

/* The session cookie is named hls_session_PORT: browsers keep cookies by
 * host, not port, so two nodes on one machine (127.0.0.1:7480 and :7481)
 * would otherwise overwrite each other's sessions. */
#define COOKIE "hls_session_"
#define CSP                                                                                                      \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "          \
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct session {
  bool used;
  uint8_t hash[32]; /* of the cookie's token */
  char user[HLS_USER_NAME_MAX + 1];
  int64_t generation;
  char csrf[HLS_USER_TOKEN_TEXT];
  int64_t last_ms;
};

struct failures {
  char key[HLS_USER_NAME_MAX + 8];
  int count;
  int64_t first_ms;
};

struct hls_web {
  struct hls_web_env env;
  struct MHD_Daemon *mhd;
  uv_poll_t poll;
  uv_timer_t timer;
  int open_handles;
  bool tls, loopback;
  int port;
  char host[HLS_HOSTPORT_MAX + 3]; /* host:port as bound, for the Host check and URLs */
  char *tls_cert, *tls_key;        /* owned: the PEM files' contents */
  struct session sessions[MAX_SESSIONS];
  struct failures fails[MAX_FAIL_KEYS];
  int hash_tokens;      /* password hashes that may start now (HASH_BURST) */
  int64_t hash_refill_ms;
};

/* A request being read: its body, within web.max_body. */
struct req {
  char *body;
  size_t len;
  bool too_big;
};

static int64_t now_ms(const struct hls_web *web) { return web->env.now_ms(web->env.ctx); }
static struct sqlite3 *db_of(const struct hls_web *web) { return hls_store_db(web->env.store); }

/* --- replies ------------------------------------------------------------------ */

static void add_common_headers(struct MHD_Response *resp, bool no_store) {
  MHD_add_response_header(resp, "Content-Security-Policy", CSP);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(resp, "Cache-Control", no_store ? "no-store" : "no-cache");
}

/* Queue a reply whose body is copied; allow (a 405's Allow header) NULL
 * but for a 405. */
static enum MHD_Result reply_allow(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                                   size_t len, const char *cookie, bool no_store, const char *allow) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  add_common_headers(resp, no_store);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (cookie != NULL) MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
  if (allow != NULL) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result r = MHD_queue_response(c, status, resp);
  MHD_destroy_response(resp);
  return r;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                             size_t len, const char *cookie, bool no_store) {
  return reply_allow(c, status, type, data, len, cookie, no_store, NULL);
}

/* Reply with j (consumed) as JSON (allow: as reply_allow's). */
static enum MHD_Result reply_json_allow(struct MHD_Connection *c, unsigned status, json_t *j, const char *cookie,
                                        const char *allow) {
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
  json_decref(j);
  if (text == NULL) {
    static const char oom[] = "{\"ok\":false,\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
    return reply(c, 500, "application/json", oom, sizeof oom - 1, NULL, true);
  }
  enum MHD_Result r = reply_allow(c, status, "application/json", text, strlen(text), cookie, true, allow);
  free(text);
  return r;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j, const char *cookie) {
  return reply_json_allow(c, status, j, cookie, NULL);
}

static enum MHD_Result reply_ok(struct MHD_Connection *c, json_t *result, const char *cookie) {
  return reply_json(c, 200, json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null()), cookie);
}

/* An error reply {ok: false, error: {code, message}} (allow: as
 * reply_allow's). Messages may quote what was sent: message (written to)
 * is made valid UTF-8 for JSON first. */
static enum MHD_Result reply_error_text(struct MHD_Connection *c, unsigned status, const char *code, char *message,
                                        const char *allow) {
  hls_text_sanitize(message);
  return reply_json_allow(
      c, status, json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", message), NULL, allow);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code, const char *fmt, ...)
    HLS_PRINTF(4, 5);
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return reply_error_text(c, status, code, message, NULL);
}

/* 405 for a path that takes only the methods in allow (its Allow header);
 * hint ("" or more words) follows them in the message. */
static enum MHD_Result reply_not_allowed(struct MHD_Connection *c, const char *method, const char *allow,
                                         const char *hint) {
  char message[200];
  snprintf(message, sizeof message, "%.16s is not allowed here: use %s%s", method, allow, hint);
  return reply_error_text(c, 405, "invalid_argument", message, allow);
}

/* The HTTP status of a method's error. */
static unsigned status_of(int rc) {
  switch (rc) {
    case HLS_EINVAL:
    case HLS_EUTF8:
    case HLS_EMALFORMED:
    case HLS_ECONSENT: return 400;
    case HLS_EACCESS: return 403;
    case HLS_ENOTFOUND:
    case HLS_EUNKNOWN_CMD:
    case HLS_EERASED: return 404;
    case HLS_EEXISTS:
    case HLS_ESTATE: return 409;
    case HLS_ETOOBIG: return 413;
    case HLS_EBUSY:
    case HLS_ELIMIT: return 503;
    default: return 500;
  }
}

static enum MHD_Result reply_rc(struct MHD_Connection *c, int rc, const struct hls_why *why) {
  return reply_error(c, status_of(rc), hls_err_name(rc), "%s", why && why->text[0] ? why->text : hls_strerror(rc));
}

/* --- requests ------------------------------------------------------------------ */

static const char *header(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void client_address(struct MHD_Connection *c, char *out, size_t size) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(out, size, "?");
  if (ci == NULL || ci->client_addr == NULL) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)size);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)size);
}

/* On a loopback address, Host must name this node: a page of another
 * site that a DNS name rebinds to 127.0.0.1 sends its own name. */
static bool host_allowed(const struct hls_web *web, struct MHD_Connection *c) {
  if (!web->loopback) return true;
  const char *host = header(c, MHD_HTTP_HEADER_HOST);
  if (host == NULL) return false;
  char want[300];
  snprintf(want, sizeof want, "localhost:%d", web->port);
  /* host names compare in any case (RFC 3986, 3.2.2) */
  if (strcasecmp(host, want) == 0 || strcasecmp(host, web->host) == 0) return true;
  snprintf(want, sizeof want, "127.0.0.1:%d", web->port);
  if (strcmp(host, want) == 0) return true;
  snprintf(want, sizeof want, "[::1]:%d", web->port);
  if (strcmp(host, want) == 0) return true;
  /* Behind a reverse proxy: the host of web.url. */
  const char *url = web->env.config->web_url, *p = strstr(url, "://");
  if (url[0] != '\0' && p != NULL) {
    p += 3;
    size_t n = strcspn(p, "/");
    if (strlen(host) == n && strncasecmp(host, p, n) == 0) return true;
  }
  return false;
}

/* A POST another site made a browser send: its Origin is not this
 * node's, or the browser says cross-site. */
static bool cross_site(const struct hls_web *web, struct MHD_Connection *c) {
  const char *site = header(c, "Sec-Fetch-Site");
  if (site != NULL && strcmp(site, "cross-site") == 0) return true;
  const char *origin = header(c, "Origin"), *host = header(c, MHD_HTTP_HEADER_HOST);
  if (origin == NULL) return false; /* not a browser's cross-site request (curl, a feed reader) */
  char want[400];
  if (host != NULL) {
    snprintf(want, sizeof want, "%s://%s", web->tls ? "https" : "http", host);
    if (strcmp(origin, want) == 0) return false;
  }
  /* Behind a TLS-terminating proxy the scheme differs: web.url's origin. */
  const char *url = web->env.config->web_url, *p = strstr(url, "://");
  if (url[0] != '\0' && p != NULL) {
    size_t n = (size_t)(p + 3 - url) + strcspn(p + 3, "/");
    if (strlen(origin) == n && strncmp(origin, url, n) == 0) return false;
  }
  return true;
}

/* --- sessions ------------------------------------------------------------------ */

static struct session *session_find(struct hls_web *web, struct MHD_Connection *c) {
  char name[32];
  snprintf(name, sizeof name, COOKIE "%d", web->port);
  const char *token = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, name);
  if (token == NULL || strlen(token) != HLS_USER_TOKEN_TEXT - 1) return NULL;
  uint8_t hash[32];
  hls_user_token_hash(token, strlen(token), hash);
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (web->sessions[i].used && sodium_memcmp(web->sessions[i].hash, hash, sizeof hash) == 0)
      return &web->sessions[i];
  return NULL;
}

static void session_end(struct session *s) { sodium_memzero(s, sizeof *s); }

/* The signed-in caller: its session and user now (a removed or reset
 * user, a changed role's generation, or an idle session: ended). */
static struct session *session_user(struct hls_web *web, struct MHD_Connection *c, struct hls_user *u) {
  struct session *s = session_find(web, c);
  if (s == NULL) return NULL;
  struct hls_why why = {{0}};
  int64_t now = now_ms(web);
  if (now - s->last_ms > web->env.config->web_session_idle_ms || hls_users_get(db_of(web), s->user, u, &why) != 0 ||
      u->generation != s->generation) {
    session_end(s);
    return NULL;
  }
  s->last_ms = now;
  return s;
}

/* Whether the cookie goes only over HTTPS: hlsd's own TLS, or the
 * https:// address people open (web.url, a reverse proxy's). */
static bool cookie_secure(const struct hls_web *web) {
  return web->tls || strncasecmp(web->env.config->web_url, "https://", 8) == 0;
}

/* A new session for u; cookie gets its Set-Cookie value. */
static struct session *session_new(struct hls_web *web, const struct hls_user *u, char *cookie, size_t size) {
  struct session *s = NULL, *own_oldest = NULL;
  int own = 0;
  for (int i = 0; i < MAX_SESSIONS; i++) {
    struct session *t = &web->sessions[i];
    if (!t->used || strcmp(t->user, u->name) != 0) continue;
    own++;
    if (own_oldest == NULL || t->last_ms < own_oldest->last_ms) own_oldest = t;
  }
  if (own >= MAX_USER_SESSIONS) s = own_oldest;
  for (int i = 0; i < MAX_SESSIONS && s == NULL; i++)
    if (!web->sessions[i].used) s = &web->sessions[i];
  if (s == NULL) { /* all in use: end the least recently used */
    s = &web->sessions[0];
    for (int i = 1; i < MAX_SESSIONS; i++)
      if (web->sessions[i].last_ms < s->last_ms) s = &web->sessions[i];
  }
  session_end(s);
  char token[HLS_USER_TOKEN_TEXT];
  uint8_t unused[32];
  hls_user_token_new(token, s->hash);
  hls_user_token_new(s->csrf, unused);
  s->used = true;
  snprintf(s->user, sizeof s->user, "%s", u->name);
  s->generation = u->generation;
  s->last_ms = now_ms(web);
  snprintf(cookie, size, COOKIE "%d=%s; Path=/; HttpOnly; SameSite=Strict%s", web->port, token,
           cookie_secure(web) ? "; Secure" : "");
  sodium_memzero(token, sizeof token);
  return s;
}

static json_t *session_json(const struct hls_web *web, const struct session *s, const struct hls_user *u) {
  const struct hls_config *cfg = web->env.config;
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "user", u->name, "role", hls_user_role_name(u->role),
                   "csrf", s->csrf, "place", cfg->place, "region", cfg->region, "node_id", web->env.node_id,
                   "node_role", cfg->role == HLS_ROLE_PARTNER ? "partner" : "place", "must_set_password",
                   !u->has_password);
}

/* --- failed sign-ins ------------------------------------------------------------ */

/* key's slot; with create, a new one when it has none: a free slot, else
 * the oldest not locked, else the oldest. A client cannot free its own
 * locked address by trying many names: it is locked before it can. */
static struct failures *fail_slot(struct hls_web *web, const char *key, bool create) {
  int64_t now = now_ms(web);
  struct failures *free_slot = NULL, *unlocked = NULL, *oldest = &web->fails[0];
  for (int i = 0; i < MAX_FAIL_KEYS; i++) {
    struct failures *f = &web->fails[i];
    if (f->key[0] != '\0' && now - f->first_ms >= FAIL_WINDOW_MS) memset(f, 0, sizeof *f);
    if (f->key[0] == '\0') {
      if (free_slot == NULL) free_slot = f;
      continue;
    }
    if (strcmp(f->key, key) == 0) return f;
    if (f->count < FAIL_LIMIT && (unlocked == NULL || f->first_ms < unlocked->first_ms)) unlocked = f;
    if (f->first_ms < oldest->first_ms) oldest = f;
  }
  if (!create) return NULL;
  struct failures *slot = free_slot ? free_slot : unlocked ? unlocked : oldest;
  memset(slot, 0, sizeof *slot);
  snprintf(slot->key, sizeof slot->key, "%s", key);
  slot->first_ms = now;
  return slot;
}

/* Seconds until key may try again; 0 if it may now. */
static int64_t fail_wait_s(struct hls_web *web, const char *key) {
  struct failures *f = fail_slot(web, key, false);
  int limit = key[0] == 'a' ? FAIL_LIMIT_ADDR : FAIL_LIMIT;
  if (f == NULL || f->count < limit) return 0;
  return (f->first_ms + FAIL_WINDOW_MS - now_ms(web)) / 1000 + 1;
}

/* Whether n passwords may be hashed now (HASH_BURST); takes their tokens. */
static bool hash_allowed(struct hls_web *web, int n) {
  int64_t now = now_ms(web);
  if (web->hash_refill_ms == 0 || now < web->hash_refill_ms) {
    web->hash_tokens = HASH_BURST;
    web->hash_refill_ms = now;
  }
  int64_t add = (now - web->hash_refill_ms) / HASH_REFILL_MS;
  if (add > 0) {
    web->hash_tokens = web->hash_tokens + add > HASH_BURST ? HASH_BURST : web->hash_tokens + (int)add;
    web->hash_refill_ms += add * HASH_REFILL_MS;
  }
  if (web->hash_tokens < n) return false;
  web->hash_tokens -= n;
  return true;
}

static enum MHD_Result reply_hash_busy(struct MHD_Connection *c) {
  hls_log_counted_warn("web_password_busy", "detail=\"more password checks than %d at once\"", HASH_BURST);
  return reply_error(c, 429, "rate_limited", "too many password checks at once; try again in a few seconds");
}

static void fail_note(struct hls_web *web, const char *key) {
  struct failures *f = fail_slot(web, key, true);
  f->count++;
}

static void fail_clear(struct hls_web *web, const char *key) {
  struct failures *f = fail_slot(web, key, false);
  if (f != NULL) memset(f, 0, sizeof *f);
}

/* --- JSON bodies ------------------------------------------------------------------ */

/* The body as a JSON object (an empty body is {}); NULL with a reply
 * queued in *r when it is not one. */
static json_t *body_object(struct MHD_Connection *c, const struct req *rq, enum MHD_Result *r) {
  if (rq->len == 0) return json_object();
  json_error_t err;
  json_t *j = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &err);
  if (j == NULL) {
    *r = reply_error(c, 400, "malformed", "the body is not JSON: %s (line %d)", err.text, err.line);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    *r = reply_error(c, 400, "malformed", "the body must be a JSON object");
    return NULL;
  }
  return j;
}

/* A string member of o, or NULL. */
static const char *member(const json_t *o, const char *key, size_t *len) {
  const json_t *v = json_object_get(o, key);
  if (!json_is_string(v)) return NULL;
  *len = json_string_length(v);
  return json_string_value(v);
}

/* --- calling a method ----------------------------------------------------------------- */

/* Call method name with body (its arguments as a JSON object; empty: none) as user (attributed
 * "web:NAME") with role. On success *result is the method's result as
 * JSON (owned); on failure the error code, with why. */
static int call_method(struct hls_web *web, const char *name, const char *body, size_t body_len, const char *user,
                       enum hls_user_role role, json_t **result, struct hls_why *why) {
  *result = NULL;
  const struct hls_method *m = hls_method_find(name, strlen(name));
  if (m == NULL || (m->flags & (HLS_MF_LOCAL | HLS_MF_STREAM | HLS_MF_TEST)) != 0) {
    char shown[64];
    snprintf(shown, sizeof shown, "%s", name);
    hls_text_sanitize(shown);
    return hls_why_set(why, HLS_EUNKNOWN_CMD, "no method \"%s\" in the web API (GET /api/methods lists them)", shown);
  }
  size_t max = (size_t)web->env.config->control_max_frame;
  msgpack_sbuffer req_sb, res_sb;
  msgpack_packer res_pk;
  msgpack_sbuffer_init(&req_sb);
  msgpack_sbuffer_init(&res_sb);
  msgpack_packer_init(&res_pk, &res_sb, msgpack_sbuffer_write);
  struct hls_ctl_request req;
  bool decoded = false;
  int rc = hls_mpjson_request(m->name, body, body_len, max, &req_sb, &req, why);
  if (rc != 0) goto out;
  decoded = true;
  char attributed[HLS_USER_NAME_MAX + 8];
  snprintf(attributed, sizeof attributed, "web:%s", user);
  struct hls_control_call call = {.req = &req, .pk = &res_pk, .user = attributed, .uid = UINT32_MAX, .role = role};
  rc = web->env.dispatch(web->env.dispatch_ctx, &call);
  if (rc == 0 && call.deferred) rc = hls_why_set(&call.why, HLS_EINTERNAL, "a stream cannot be served over HTTP");
  if (rc != 0) {
    *why = call.why;
    if (why->text[0] == '\0') hls_why_set(why, rc, "%s", hls_strerror(rc));
    goto out;
  }
  struct hls_mp_tree tree;
  if ((rc = hls_mp_tree_decode(&tree, res_sb.data, res_sb.size, false, max, why)) != 0) goto out;
  *result = hls_mpjson_from_mp(&tree.root);
  hls_mp_tree_free(&tree);
  if (*result == NULL) rc = hls_why_set(why, HLS_ENOMEM, "out of memory");
out:
  if (decoded) hls_ctl_request_free(&req);
  msgpack_sbuffer_destroy(&req_sb);
  msgpack_sbuffer_destroy(&res_sb);
  return rc;
}

/* --- the routes --------------------------------------------------------------------------- */

static enum MHD_Result route_asset(struct MHD_Connection *c, const char *url) {
  const char *name = strcmp(url, "/") == 0 ? "index.html" : url + 1;
  const struct hls_web_asset *a = hls_web_asset_find(name);
  if (a == NULL) return reply_error(c, 404, "not_found", "no such page");
  return reply(c, 200, a->type, a->data, a->len, NULL, false);
}

static enum MHD_Result route_session_get(struct hls_web *web, struct MHD_Connection *c) {
  struct hls_user u;
  struct session *s = session_user(web, c, &u);
  if (s == NULL) return reply_error(c, 401, "unauthenticated", "not signed in");
  return reply_ok(c, session_json(web, s, &u), NULL);
}

/* An entry in the audit log for what a web user did to their own account
 * (a link spent, a password set): who "web:NAME". */
static void audit_user(struct hls_web *web, const char *name, const char *action, const char *about) {
  char who[HLS_USER_NAME_MAX + 8];
  snprintf(who, sizeof who, "web:%s", name);
  struct hls_audit_entry e = {.at_ms = now_ms(web), .who = who, .action = action, .about = about, .result = "ok"};
  struct hls_why why = {{0}};
  if (hls_audit_append(db_of(web), &e, &why) != 0)
    hls_log_error("audit_failed", "action=%s user=%s detail=\"%s\"", action, name, why.text);
}

static enum MHD_Result signed_in(struct hls_web *web, struct MHD_Connection *c, const struct hls_user *u,
                                 const char *how) {
  char cookie[200];
  char addr[INET6_ADDRSTRLEN];
  client_address(c, addr, sizeof addr);
  struct session *s = session_new(web, u, cookie, sizeof cookie);
  hls_log_info("web_signin", "user=%s role=%s how=%s from=%s", u->name, hls_user_role_name(u->role), how, addr);
  enum MHD_Result r = reply_ok(c, session_json(web, s, u), cookie);
  sodium_memzero(cookie, sizeof cookie);
  return r;
}

static enum MHD_Result route_signin(struct hls_web *web, struct MHD_Connection *c, const struct req *rq) {
  enum MHD_Result r = MHD_NO;
  json_t *body = body_object(c, rq, &r);
  if (body == NULL) return r;
  size_t name_len = 0, pw_len = 0;
  const char *name = member(body, "name", &name_len), *password = member(body, "password", &pw_len);
  if (name == NULL || password == NULL || name_len == 0 || name_len > HLS_USER_NAME_MAX) {
    json_decref(body);
    return reply_error(c, 400, "invalid_argument", "give name and password");
  }
  char addr[INET6_ADDRSTRLEN], name_key[HLS_USER_NAME_MAX + 8], addr_key[HLS_USER_NAME_MAX + 8];
  client_address(c, addr, sizeof addr);
  snprintf(name_key, sizeof name_key, "n:%s", name);
  snprintf(addr_key, sizeof addr_key, "a:%s", addr);
  int64_t wait = fail_wait_s(web, name_key), wait_addr = fail_wait_s(web, addr_key);
  if (wait_addr > wait) wait = wait_addr;
  if (wait > 0) {
    json_decref(body);
    hls_log_counted_warn("web_signin_limited", "from=%s", addr);
    return reply_error(c, 429, "rate_limited", "too many failed sign-ins; try again in %lld minutes",
                       (long long)(wait + 59) / 60);
  }
  if (!hash_allowed(web, 1)) {
    json_decref(body);
    return reply_hash_busy(c);
  }
  struct hls_user u;
  struct hls_why why = {{0}};
  int rc = hls_users_check_password(db_of(web), name, password, pw_len, now_ms(web), &u, &why);
  json_decref(body);
  if (rc == HLS_EACCESS) {
    fail_note(web, name_key);
    fail_note(web, addr_key);
    hls_log_counted_warn("web_signin_failed", "from=%s", addr);
    return reply_error(c, 401, "unauthenticated", "wrong name or password");
  }
  if (rc != 0) return reply_rc(c, rc, &why);
  fail_clear(web, name_key);
  return signed_in(web, c, &u, "password");
}

static enum MHD_Result route_redeem(struct hls_web *web, struct MHD_Connection *c, const struct req *rq) {
  enum MHD_Result r = MHD_NO;
  json_t *body = body_object(c, rq, &r);
  if (body == NULL) return r;
  size_t len = 0;
  const char *token = member(body, "token", &len);
  char addr[INET6_ADDRSTRLEN];
  client_address(c, addr, sizeof addr);
  if (token == NULL || len == 0 || len > 256) {
    json_decref(body);
    return reply_error(c, 400, "invalid_argument", "give the token of a sign-in link");
  }
  struct hls_user u;
  struct hls_why why = {{0}};
  int rc = hls_users_redeem(db_of(web), token, len, now_ms(web), &u, &why);
  json_decref(body);
  if (rc == HLS_ENOTFOUND) {
    hls_log_counted_warn("web_link_refused", "from=%s", addr);
    return reply_error(c, 401, "unauthenticated", "%s", why.text);
  }
  if (rc != 0) return reply_rc(c, rc, &why);
  audit_user(web, u.name, "user.link_redeemed", "a one-time sign-in link, spent");
  return signed_in(web, c, &u, "link");
}

/* The signed-in session of a POST, with its CSRF token checked; NULL
 * with a reply queued in *r otherwise. */
static struct session *post_session(struct hls_web *web, struct MHD_Connection *c, struct hls_user *u,
                                    enum MHD_Result *r) {
  struct session *s = session_user(web, c, u);
  if (s == NULL) {
    *r = reply_error(c, 401, "unauthenticated", "not signed in (or the session ended): sign in again");
    return NULL;
  }
  const char *token = header(c, "X-CSRF-Token");
  if (token == NULL || strlen(token) != strlen(s->csrf) || sodium_memcmp(token, s->csrf, strlen(s->csrf)) != 0) {
    *r = reply_error(c, 403, "csrf", "missing or wrong X-CSRF-Token header (reload the page)");
    return NULL;
  }
  return s;
}

/* A user's password: the first one (after a one-time link: none is set),
 * or a change, which needs the current one, so that a session alone (a
 * cookie left on a shared computer) cannot take the account. Either ends
 * every other session of the user; this one goes on. */
static enum MHD_Result route_password(struct hls_web *web, struct MHD_Connection *c, const struct req *rq) {
  enum MHD_Result r = MHD_NO;
  struct hls_user u;
  struct session *s = post_session(web, c, &u, &r);
  if (s == NULL) return r;
  json_t *body = body_object(c, rq, &r);
  if (body == NULL) return r;
  size_t len = 0, current_len = 0;
  const char *password = member(body, "password", &len), *current = member(body, "current", &current_len);
  struct hls_why why = {{0}};
  char name_key[HLS_USER_NAME_MAX + 8];
  snprintf(name_key, sizeof name_key, "n:%s", u.name);
  int64_t wait = u.has_password ? fail_wait_s(web, name_key) : 0;
  int rc = 0;
  if (password == NULL) rc = hls_why_set(&why, HLS_EINVAL, "give password");
  else if (u.has_password && current == NULL)
    rc = hls_why_set(&why, HLS_EINVAL, "give current: your password now (a password is set already)");
  if (rc != 0) {
    json_decref(body);
    return reply_rc(c, rc, &why);
  }
  if (wait > 0) {
    json_decref(body);
    return reply_error(c, 429, "rate_limited", "too many wrong passwords; try again in %lld minutes",
                       (long long)(wait + 59) / 60);
  }
  if (!hash_allowed(web, u.has_password ? 2 : 1)) { /* the current password's check, then the new one's hash */
    json_decref(body);
    return reply_hash_busy(c);
  }
  if (u.has_password) {
    struct hls_user again;
    rc = hls_users_check_password(db_of(web), u.name, current, current_len, now_ms(web), &again, &why);
    if (rc == HLS_EACCESS) {
      json_decref(body);
      fail_note(web, name_key);
      hls_log_counted_warn("web_password_refused", "user=%s", u.name);
      return reply_error(c, 403, "access_denied", "the current password is wrong");
    }
  }
  if (rc == 0) rc = hls_users_set_password(db_of(web), u.name, password, len, &why);
  json_decref(body);
  if (rc != 0) return reply_rc(c, rc, &why);
  audit_user(web, u.name, "user.password_set",
             u.has_password ? "changed; the user's other sessions ended" : "the first, after a one-time link");
  /* This session moves to the new generation; the others end. */
  if (hls_users_get(db_of(web), u.name, &u, &why) == 0) s->generation = u.generation;
  hls_log_info("web_password_set", "user=%s", u.name);
  return reply_ok(c, json_pack("{s:s, s:b}", "user", u.name, "password_set", 1), NULL);
}

static enum MHD_Result route_signout(struct hls_web *web, struct MHD_Connection *c) {
  enum MHD_Result r = MHD_NO;
  struct hls_user u;
  struct session *s = post_session(web, c, &u, &r);
  if (s == NULL) return r;
  session_end(s);
  char cookie[80];
  snprintf(cookie, sizeof cookie, COOKIE "%d=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", web->port);
  return reply_ok(c, json_pack("{s:b}", "signed_out", 1), cookie);
}

static enum MHD_Result route_methods(struct hls_web *web, struct MHD_Connection *c) {
  struct hls_user u;
  if (session_user(web, c, &u) == NULL) return reply_error(c, 401, "unauthenticated", "not signed in");
  json_t *result;
  struct hls_why why = {{0}};
  int rc = call_method(web, "commands", "", 0, u.name, u.role, &result, &why);
  if (rc != 0) return reply_rc(c, rc, &why);
  /* Only what the web API serves. */
  json_t *served = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(result, i, m) {
    if (json_is_true(json_object_get(m, "local")) || json_is_true(json_object_get(m, "stream")) ||
        json_is_true(json_object_get(m, "test")))
      continue;
    json_array_append(served, m);
  }
  json_decref(result);
  return reply_ok(c, served, NULL);
}

static enum MHD_Result route_call(struct hls_web *web, struct MHD_Connection *c, const char *name,
                                  const struct req *rq) {
  enum MHD_Result r = MHD_NO;
  struct hls_user u;
  if (post_session(web, c, &u, &r) == NULL) return r;
  json_t *result;
  struct hls_why why = {{0}};
  int rc = call_method(web, name, rq->body, rq->len, u.name, u.role, &result, &why);
  if (rc != 0) return reply_rc(c, rc, &why);
  return reply_ok(c, result, NULL);
}

/* --- feeds as JSON Feed 1.1 and Atom ------------------------------------------------------ */

/* raw (our own markup) then text (anything, a peer's included) with &, <,
 * >, " and ' escaped, appended to sb; HLS_ENOMEM. */
static int xml(msgpack_sbuffer *sb, const char *raw, const char *text) {
  if (msgpack_sbuffer_write(sb, raw, strlen(raw)) != 0) return HLS_ENOMEM;
  for (const char *p = text; p && *p; p++) {
    const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;"
                    : *p == '\'' ? "&apos;" : NULL;
    if (msgpack_sbuffer_write(sb, rep ? rep : p, rep ? strlen(rep) : 1) != 0) return HLS_ENOMEM;
  }
  return 0;
}

/* One event's title and text, in words. */
static void event_words(const json_t *e, char *title, size_t tsize, char *text, size_t xsize) {
  const json_t *p = json_object_get(e, "pattern");
  const char *change = json_string_value(json_object_get(e, "change"));
  const char *signal = json_string_value(json_object_get(p, "signal"));
  const char *theme = json_string_value(json_object_get(p, "theme"));
  const char *theme2 = json_string_value(json_object_get(p, "theme2"));
  const char *from = json_string_value(json_object_get(p, "from")), *to = json_string_value(json_object_get(p, "to"));
  json_int_t n_places = json_integer_value(json_object_get(p, "n_places"));
  double strength = json_number_value(json_object_get(p, "strength"));
  /* A rising pattern is about its region; a pattern found already over
   * says so (hls feed follow does both). */
  const char *region = json_string_value(json_object_get(p, "region"));
  const json_t *live = json_object_get(p, "live");
  bool ended = json_is_false(live);
  char where[HLS_REGION_MAX + 8] = "";
  if (region != NULL && region[0] != '\0') snprintf(where, sizeof where, " in %s", region);
  snprintf(title, tsize, "%s: %s %s%s%s in %lld places%s%s", change ? change : "change", signal ? signal : "pattern",
           theme ? theme : "", theme2 ? " + " : "", theme2 ? theme2 : "", (long long)n_places, where,
           ended && change != NULL && strcmp(change, "ended") != 0 ? " (ended)" : "");
  char places[600] = "";
  size_t used = 0;
  size_t i;
  const json_t *pl;
  json_array_foreach(json_object_get(p, "places"), i, pl) {
    if (i >= 12) {
      used += (size_t)snprintf(places + used, sizeof places - used, ", ...");
      break;
    }
    const char *place = json_string_value(pl);
    used += (size_t)snprintf(places + used, sizeof places - used, "%s%s", i ? ", " : "", place ? place : "?");
    if (used >= sizeof places) break;
  }
  snprintf(text, xsize, "%s pattern of %s%s%s%s, weeks %s to %s%s, strength %.1f (-log10 p). Places: %s.",
           signal ? signal : "a", theme ? theme : "", theme2 ? " with " : "", theme2 ? theme2 : "", where,
           from ? from : "?", to ? to : "?", ended ? " (ended)" : "", strength, places);
}

static enum MHD_Result route_feed(struct hls_web *web, struct MHD_Connection *c, const char *url) {
  const char *file = url + strlen("/feeds/");
  const char *dot = strrchr(file, '.');
  bool atom = dot && strcmp(dot, ".atom") == 0, jsonfeed = dot && strcmp(dot, ".json") == 0;
  size_t name_len = dot ? (size_t)(dot - file) : 0;
  if ((!atom && !jsonfeed) || name_len == 0 || name_len > HLS_USER_NAME_MAX)
    return reply_error(c, 404, "not_found", "feeds are at /feeds/NAME.json and /feeds/NAME.atom");
  char name[HLS_USER_NAME_MAX + 1];
  memcpy(name, file, name_len);
  name[name_len] = '\0';
  const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
  struct hls_why why = {{0}};
  if (token == NULL || hls_users_feed_token_check(db_of(web), name, token, strlen(token), &why) != 0) {
    char addr[INET6_ADDRSTRLEN];
    client_address(c, addr, sizeof addr);
    hls_log_counted_warn("web_feed_refused", "from=%s", addr);
    return reply_error(c, 403, "access_denied", "no such feed, or a wrong token (hls feed token NAME gives one)");
  }
  char args[200];
  json_t *events = NULL;
  /* name is a feed's (its token matched): letters, digits, '-', '_', '.' */
  snprintf(args, sizeof args, "{\"name\":\"%s\",\"limit\":%d}", name, FEED_EVENTS);
  int rc = call_method(web, "feed.events", args, strlen(args), "feed-token", HLS_USER_VIEWER, &events, &why);
  if (rc != 0) return reply_rc(c, rc, &why);
  char base[512], self[700], home[600], updated[21];
  hls_web_url(web, base, sizeof base);
  snprintf(home, sizeof home, "%s/#/patterns", base);
  hls_time_format(now_ms(web), updated);
  const struct hls_config *cfg = web->env.config;
  char feed_title[400];
  snprintf(feed_title, sizeof feed_title, "%s: patterns of feed %s", cfg->place, name);
  size_t i;
  json_t *e;
  if (jsonfeed) {
    snprintf(self, sizeof self, "%s/feeds/%s.json", base, name);
    json_t *items = json_array();
    json_array_foreach(events, i, e) {
      char title[400], text[1200], id[200], link[700];
      event_words(e, title, sizeof title, text, sizeof text);
      const json_t *p = json_object_get(e, "pattern");
      const char *pid = json_string_value(json_object_get(p, "id"));
      snprintf(id, sizeof id, "%s/%s/%lld", web->env.node_id, name, (long long)json_integer_value(json_object_get(e, "seq")));
      snprintf(link, sizeof link, "%s/#/pattern/%s", base, pid ? pid : "");
      json_t *tags = json_array();
      const char *signal = json_string_value(json_object_get(p, "signal"));
      if (signal) json_array_append_new(tags, json_string(signal));
      json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:O?, s:o, s:{s:O?}}", "id", id, "url", link,
                                             "title", title, "content_text", text, "date_published",
                                             json_object_get(e, "at"), "tags", tags, "_hls", "event", e));
    }
    json_t *feed = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "version", "https://jsonfeed.org/version/1.1", "title",
                             feed_title, "home_page_url", home, "feed_url", self, "description",
                             "Pattern events across places, as this hlsd node sees them", "items",
                             items);
    json_decref(events);
    char *text = feed ? json_dumps(feed, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(feed);
    if (text == NULL) return reply_error(c, 500, "out_of_memory", "out of memory");
    enum MHD_Result r = reply(c, 200, "application/feed+json", text, strlen(text), NULL, true);
    free(text);
    return r;
  }
  snprintf(self, sizeof self, "%s/feeds/%s.atom", base, name);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  char id[300];
  snprintf(id, sizeof id, "urn:hlsd:%s:feed:%s", web->env.node_id, name);
  int x = xml(&sb, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>",
              feed_title);
  x |= xml(&sb, "</title>\n<id>", id);
  x |= xml(&sb, "</id>\n<updated>", updated);
  x |= xml(&sb, "</updated>\n<link rel=\"self\" href=\"", self);
  x |= xml(&sb, "\"/>\n<link rel=\"alternate\" href=\"", home);
  x |= xml(&sb, "\"/>\n<author><name>", cfg->place);
  x |= xml(&sb, "</name></author>\n", NULL);
  json_array_foreach(events, i, e) {
    char title[400], text[1200], eid[340], link[700];
    event_words(e, title, sizeof title, text, sizeof text);
    const char *pid = json_string_value(json_object_get(json_object_get(e, "pattern"), "id"));
    const char *at = json_string_value(json_object_get(e, "at"));
    snprintf(eid, sizeof eid, "%s:%lld", id, (long long)json_integer_value(json_object_get(e, "seq")));
    snprintf(link, sizeof link, "%s/#/pattern/%s", base, pid ? pid : "");
    x |= xml(&sb, "<entry>\n<title>", title);
    x |= xml(&sb, "</title>\n<id>", eid);
    x |= xml(&sb, "</id>\n<updated>", at ? at : updated);
    x |= xml(&sb, "</updated>\n<link href=\"", link);
    x |= xml(&sb, "\"/>\n<summary type=\"text\">", text);
    x |= xml(&sb, "</summary>\n</entry>\n", NULL);
  }
  x |= xml(&sb, "</feed>\n", NULL);
  json_decref(events);
  enum MHD_Result r = x != 0 ? reply_error(c, 500, "out_of_memory", "out of memory")
                             : reply(c, 200, "application/atom+xml; charset=utf-8", sb.data, sb.size, NULL, true);
  msgpack_sbuffer_destroy(&sb);
  return r;
}

static enum MHD_Result route(struct hls_web *web, struct MHD_Connection *c, const char *url, const char *method,
                             const struct req *rq) {
  bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
  if (!host_allowed(web, c))
    return reply_error(c, 403, "access_denied", "this address is not the node's (open the link hls web open prints)");
  if (post && cross_site(web, c)) {
    char addr[INET6_ADDRSTRLEN];
    client_address(c, addr, sizeof addr);
    hls_log_counted_warn("web_cross_site", "from=%s", addr);
    return reply_error(c, 403, "csrf", "a request from another site is refused");
  }
  if (strncmp(url, "/api/", 5) == 0) {
    const char *path = url + 5;
    if (strcmp(path, "session") == 0) {
      if (get) return route_session_get(web, c);
      if (post) return route_signin(web, c, rq);
      return reply_not_allowed(c, method, "GET, HEAD, POST", "");
    } else if (strcmp(path, "session/redeem") == 0 || strcmp(path, "session/password") == 0 ||
               strcmp(path, "session/end") == 0) {
      if (!post) return reply_not_allowed(c, method, "POST", "");
      if (strcmp(path, "session/redeem") == 0) return route_redeem(web, c, rq);
      if (strcmp(path, "session/password") == 0) return route_password(web, c, rq);
      return route_signout(web, c);
    } else if (strcmp(path, "methods") == 0) {
      return get ? route_methods(web, c) : reply_not_allowed(c, method, "GET, HEAD", "");
    } else if (strncmp(path, "call/", 5) == 0 && post) {
      return route_call(web, c, path + 5, rq);
    } else if (strncmp(path, "call/", 5) == 0) {
      return reply_not_allowed(c, method, "POST", " (a method's arguments as a JSON object)");
    }
    return reply_error(c, 404, "not_found", "no such API path");
  }
  if (strncmp(url, "/feeds/", 7) == 0 && get) return route_feed(web, c, url);
  if (get) return route_asset(c, url);
  return reply_not_allowed(c, method, "GET, HEAD", " (pages; the API is POST /api/...)");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  struct hls_web *web = cls;
  struct req *rq = *con_cls;
  size_t max_body = (size_t)web->env.config->web_max_body;
  if (rq == NULL) {
    if ((rq = calloc(1, sizeof *rq)) == NULL) return MHD_NO;
    *con_cls = rq;
    const char *length = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL) {
      errno = 0;
      char *end;
      unsigned long long n = strtoull(length, &end, 10);
      if (errno != 0 || *end != '\0' || n > max_body) {
        rq->too_big = true;
        return reply_error(c, 413, "too_large", "the body is over web.max_body (%zu bytes)", max_body);
      }
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (rq->too_big) return MHD_YES;
    if (rq->len + n > max_body) {
      rq->too_big = true;
      free(rq->body);
      rq->body = NULL;
      rq->len = 0;
      return MHD_YES;
    }
    char *grown = realloc(rq->body, rq->len + n + 1);
    if (grown == NULL) return MHD_NO;
    rq->body = grown;
    memcpy(rq->body + rq->len, upload_data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
    return MHD_YES;
  }
  if (rq->too_big) return reply_error(c, 413, "too_large", "the body is over web.max_body (%zu bytes)", max_body);
  return route(web, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  struct req *rq = *con_cls;
  if (rq == NULL) return;
  if (rq->body) sodium_memzero(rq->body, rq->len); /* it may hold a password */
  free(rq->body);
  free(rq);
  *con_cls = NULL;
}

/* libmicrohttpd's messages (its own format strings). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char text[300];
  vsnprintf(text, sizeof text, fmt, ap);
  text[strcspn(text, "\n")] = '\0';
  hls_text_sanitize(text);
  hls_log_counted_warn("web_http", "detail=\"%s\"", text);
}

/* --- the loop ------------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t);

/* Let libmicrohttpd do what is ready, then wake it when its next timeout
 * (an idle connection's) is due, or at once if it has work left that its
 * epoll descriptor will not signal again. */
static void run_mhd(struct hls_web *web) {
  (void)MHD_run(web->mhd);
  MHD_UNSIGNED_LONG_LONG timeout = 0;
  if (MHD_get_timeout(web->mhd, &timeout) == MHD_YES) uv_timer_start(&web->timer, on_timer, timeout, 0);
  else uv_timer_stop(&web->timer);
}

static void on_poll(uv_poll_t *p, int status, int events) { run_mhd(p->data); }
static void on_timer(uv_timer_t *t) { run_mhd(t->data); }

/* A PEM file of option (web.tls_cert, web.tls_key) into *out (owned). A
 * private key others may read is refused (its group may: ssl-cert). */
static int read_file(const char *option, const char *path, bool secret, char **out, struct hls_why *why) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return hls_why_set(why, HLS_ECONFIG, "%s: %s: %s", option, path, strerror(errno));
  struct stat st;
  if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
    fclose(f);
    return hls_why_set(why, HLS_ECONFIG, "%s: %s may be read by anyone (mode %04o): a private key is for hlsd's user "
                       "(and its group) only: chmod o-r it", option, path, (unsigned)(st.st_mode & 07777));
  }
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap || len + n > 1024 * 1024) {
      cap = (len + n + 1) * 2;
      char *grown = len + n > 1024 * 1024 ? NULL : realloc(buf, cap);
      if (grown == NULL) {
        free(buf);
        fclose(f);
        return hls_why_set(why, HLS_ECONFIG, "%s: %s: not a PEM file of a sensible size", option, path);
      }
      buf = grown;
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (buf == NULL) return hls_why_set(why, HLS_ECONFIG, "%s: %s: empty", option, path);
  buf[len] = '\0';
  *out = buf;
  return 0;
}

static void web_free(struct hls_web *web) {
  if (web->tls_key) sodium_memzero(web->tls_key, strlen(web->tls_key));
  free(web->tls_key);
  free(web->tls_cert);
  sodium_memzero(web->sessions, sizeof web->sessions);
  free(web);
}

int hls_web_start(struct hls_web **out, const struct hls_web_env *env, struct hls_why *why) {
  *out = NULL;
  const struct hls_config *cfg = env->config;
  if (strcmp(cfg->web_listen, "off") == 0) return 0;
  struct hls_hostport hp;
  if (hls_hostport_parse(cfg->web_listen, &hp, false, true, why) != 0) {
    hls_why_prefix(why, "web.listen: ");
    return HLS_ECONFIG;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  bool loopback;
  if (hp.is_ipv6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)hp.port);
    if (inet_pton(AF_INET6, hp.host, &a->sin6_addr) != 1)
      return hls_why_set(why, HLS_ECONFIG, "web.listen: %s is not an IP address", hp.host);
    loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)hp.port);
    if (inet_pton(AF_INET, hp.host, &a->sin_addr) != 1)
      return hls_why_set(why, HLS_ECONFIG, "web.listen: %s is not an IP address", hp.host);
    loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  bool tls = cfg->web_tls_cert[0] != '\0' || cfg->web_tls_key[0] != '\0';
  if (tls && (cfg->web_tls_cert[0] == '\0' || cfg->web_tls_key[0] == '\0'))
    return hls_why_set(why, HLS_ECONFIG, "web.tls_cert and web.tls_key go together: set both, or neither");
  if (!loopback && !tls)
    return hls_why_set(why, HLS_ECONFIG,
                       "web.listen: %s is not a loopback address; serving the web app beyond this machine needs "
                       "HTTPS (set web.tls_cert and web.tls_key) or a reverse proxy in front of 127.0.0.1",
                       cfg->web_listen);
  struct hls_web *web = calloc(1, sizeof *web);
  if (web == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  web->env = *env;
  web->tls = tls;
  web->loopback = loopback;
  int rc;
  if (tls && ((rc = read_file("web.tls_cert", cfg->web_tls_cert, false, &web->tls_cert, why)) != 0 ||
              (rc = read_file("web.tls_key", cfg->web_tls_key, true, &web->tls_key, why)) != 0)) {
    web_free(web);
    return rc;
  }
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (hp.is_ipv6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
  struct MHD_OptionItem tls_opts[] = {
      {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, web->tls_cert},
      {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, web->tls_key},
      {MHD_OPTION_END, 0, NULL},
  };
  web->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, web, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, web, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->web_max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, web,
      MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
  if (web->mhd == NULL) {
    web_free(web);
    return hls_why_set(why, HLS_EIO, "web.listen: cannot serve on %s (in use, or not this machine's address?)",
                       cfg->web_listen);
  }
  const union MHD_DaemonInfo *li = MHD_get_daemon_info(web->mhd, MHD_DAEMON_INFO_LISTEN_FD);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  web->port = hp.port;
  if (li != NULL && getsockname(li->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
    web->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                   : ((struct sockaddr_in *)&bound)->sin_port);
  hp.port = web->port;
  hls_hostport_format(&hp, web->host);
  const union MHD_DaemonInfo *ei = MHD_get_daemon_info(web->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  if (ei == NULL || uv_poll_init(env->loop, &web->poll, ei->epoll_fd) != 0) {
    MHD_stop_daemon(web->mhd);
    web_free(web);
    return hls_why_set(why, HLS_EIO, "web: cannot watch the HTTP server's descriptor");
  }
  uv_timer_init(env->loop, &web->timer);
  web->poll.data = web->timer.data = web;
  web->open_handles = 2;
  uv_poll_start(&web->poll, UV_READABLE, on_poll);
  uv_timer_start(&web->timer, on_timer, 0, 0);
  hls_log_info("web_listening", "address=%s tls=%s", web->host, tls ? "on" : "off");
  *out = web;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  struct hls_web *web = h->data;
  if (--web->open_handles > 0) return;
  MHD_stop_daemon(web->mhd);
  web_free(web);
}

void hls_web_close(struct hls_web *web) {
  if (web == NULL) return;
  uv_close((uv_handle_t *)&web->poll, on_closed);
  uv_close((uv_handle_t *)&web->timer, on_closed);
}

void hls_web_url(const struct hls_web *web, char *out, size_t size) {
  const char *url = web->env.config->web_url;
  if (url[0] != '\0') {
    snprintf(out, size, "%s", url);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/') out[--n] = '\0';
    return;
  }
  snprintf(out, size, "%s://%s", web->tls ? "https" : "http", web->host);
}

int hls_web_port(const struct hls_web *web) { return web->port; }
