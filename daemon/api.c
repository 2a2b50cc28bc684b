/* The control API: its one method table and the dispatch through it (with
 * a log line per change), and the helpers the handlers share. The handlers
 * are in api_*.c, a file by subject, declared in api_handlers.h. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"
#include "methods.h"
#include "nodeid.h"
#include "text.h"

typedef int (*api_fn)(struct hls_api *api, struct hls_control_call *call);

/* --- the api object ------------------------------------------------------ */

struct hls_api *hls_api_new(const struct hls_api_env *env) {
  struct hls_api *api = calloc(1, sizeof *api);
  if (api == NULL) return NULL;
  api->env = *env;
  return api;
}

void hls_api_free(struct hls_api *api) {
  if (api == NULL) return;
  api_imports_free(api);
  free(api);
}

/* --- argument helpers ------------------------------------------------------ */

int api_arg_id(const struct hls_mp_value *args, int64_t *id, struct hls_why *why) {
  bool present = false;
  int rc = hls_mp_get_i64(args, "id", id, &present, why);
  if (rc != 0) return rc;
  if (!present || *id <= 0) return hls_why_set(why, HLS_EINVAL, "id: a positive record id is required");
  return 0;
}

int api_arg_enum(const struct hls_mp_value *args, const char *key,
                 int (*parse)(const char *, size_t, void *, struct hls_why *), int *out, struct hls_why *why) {
  const char *s;
  uint32_t len;
  bool present = false;
  int rc = hls_mp_get_str(args, key, &s, &len, &present, why);
  if (rc != 0 || !present) return rc;
  int v = 0;
  if ((rc = parse(s, len, &v, why)) != 0) return rc;
  *out = v;
  return 0;
}

int api_theme_filter(const char *text, size_t len, char slug[HLS_THEME_MAX + 1], int *kind, struct hls_why *why) {
  *kind = -1;
  if (memchr(text, ':', len) == NULL) return hls_theme_normalise(text, len, slug, HLS_THEME_MAX + 1, why);
  struct hls_theme t;
  int rc = hls_theme_parse(text, len, &t, why);
  if (rc != 0) return rc;
  memcpy(slug, t.slug, sizeof t.slug);
  *kind = (int)t.kind;
  return 0;
}

/* Adapters so one helper handles every enumeration (all are int-sized). */
int api_parse_scale(const char *s, size_t api, void *out, struct hls_why *w) {
  enum hls_scale v;
  int rc = hls_scale_parse(s, api, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}
int api_parse_stage(const char *s, size_t api, void *out, struct hls_why *w) {
  enum hls_stage v;
  int rc = hls_stage_parse(s, api, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}
int api_parse_consent(const char *s, size_t api, void *out, struct hls_why *w) {
  enum hls_consent v;
  int rc = hls_consent_parse(s, api, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}

int api_arg_date(const struct hls_mp_value *args, const char *key, bool *has, hls_day *out, struct hls_why *why) {
  const char *s;
  uint32_t len;
  int rc = hls_mp_get_str(args, key, &s, &len, has, why);
  if (rc != 0 || !*has) return rc;
  return hls_date_parse_why(s, len, key, out, why);
}

int api_arg_node_id_key(const struct hls_mp_value *a, const char *key, bool required, bool *present, uint8_t pk[32],
                        struct hls_why *why) {
  const char *s;
  uint32_t len;
  char text[HLS_NODEID_TEXT_SIZE];
  *present = false;
  int rc = hls_mp_get_str(a, key, &s, &len, present, why);
  if (rc != 0 || (!*present && !required)) return rc;
  if (!*present || len != HLS_NODEID_TEXT_SIZE - 1)
    return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", key);
  memcpy(text, s, len);
  text[len] = '\0';
  if (hls_nodeid_parse(text, pk) != 0)
    return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", key);
  return 0;
}

int hls_api_arg_limit(const struct hls_mp_value *args, int64_t absent_limit, int64_t *limit, struct hls_why *why) {
  *limit = absent_limit;
  int rc = hls_mp_get_i64(args, "limit", limit, NULL, why);
  if (rc == 0 && *limit < 0) rc = hls_why_set(why, HLS_EINVAL, "limit: must be 0 (no limit) or more");
  return rc;
}

/* --- replies ---------------------------------------------------------------- */

void api_list_init(struct list_ctx *l) {
  memset(l, 0, sizeof *l);
  msgpack_sbuffer_init(&l->sb);
  msgpack_packer_init(&l->pk, &l->sb, msgpack_sbuffer_write);
}

int api_list_pack(struct list_ctx *l, msgpack_packer *pk) {
  int rc = msgpack_pack_array(pk, l->count) != 0 ? HLS_ENOMEM : 0;
  if (rc == 0 && l->sb.size > 0 && pk->callback(pk->data, l->sb.data, l->sb.size) != 0) rc = HLS_ENOMEM;
  msgpack_sbuffer_destroy(&l->sb);
  return rc;
}

int api_list_reply(struct hls_api *api, struct hls_control_call *call, struct list_ctx *l, int rc, const char *what) {
  if (rc == 0 && l->sb.size > (size_t)api->env.config->control_max_frame)
    rc = hls_why_set(&call->why, HLS_ETOOBIG, "%u %s do not fit in one reply; use --limit or filters", l->count, what);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&l->sb);
    return rc;
  }
  return api_list_pack(l, call->pk);
}

int api_pack_kv_time(msgpack_packer *pk, const char *key, int64_t ms) {
  char when[21];
  hls_time_format(ms, when);
  return hls_mp_pack_kv_str(pk, key, when);
}

/* --- the method table ------------------------------------------------------- */

static int api_commands(struct hls_api *api, struct hls_control_call *call);

/* The handler of each method of protocol/methods.def, by its ID. */
static const api_fn handlers[HLS_M__COUNT] = {
#define HLS_METHOD(id, name, cli, role, flags, handler, summary, args) [HLS_M_##id] = handler,
#include "methods.def"
#undef HLS_METHOD
};

/* The node's methods: the test clock's only on hlsd --test-clock (on the
 * system clock they are unknown, and not listed). */
static bool method_offered(const struct hls_api *api, const struct hls_method *m) {
  return !(m->flags & HLS_MF_TEST) || api->env.test_clock;
}

/* The method table as data: what a front end needs to offer a method. */
static int api_commands(struct hls_api *api, struct hls_control_call *call) {
  return hls_methods_pack(call->pk, api->env.test_clock);
}

/* What a change was about besides a record: the first of its arguments
 * that names something (" id=12", " ids=3", " node_id=@...", ...), for
 * the log line and the audit log. */
static void change_about(const struct hls_control_call *call, char *about, size_t size) {
  const struct hls_mp_value *v;
  about[0] = '\0';
  if ((v = hls_mp_get(call->req->args, "id")) != NULL && (v->type == HLS_MP_UINT || v->type == HLS_MP_INT))
    snprintf(about, size, " id=%lld", v->type == HLS_MP_UINT ? (long long)v->v.u : (long long)v->v.i);
  else if ((v = hls_mp_get(call->req->args, "ids")) != NULL && v->type == HLS_MP_ARRAY)
    snprintf(about, size, " ids=%u", (unsigned)v->len);
  else if ((v = hls_mp_get(call->req->args, "node_id")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, size, " node_id=%.*s", (int)(v->len < 80 ? v->len : 80), v->v.str);
  else if ((v = hls_mp_get(call->req->args, "import_id")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, size, " import_id=%.*s", (int)(v->len < 32 ? v->len : 32), v->v.str);
  else if ((v = hls_mp_get(call->req->args, "name")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, size, " name=%.*s", (int)(v->len < 80 ? v->len : 80), v->v.str);
  /* and a role it gave (user.add, vouch): one of a few names. Not a
   * backup's path: the audit log is never erased, and a file name is
   * free text (it may name a person). */
  size_t used = strlen(about);
  if ((v = hls_mp_get(call->req->args, "role")) != NULL && v->type == HLS_MP_STR && used < size)
    snprintf(about + used, size - used, " role=%.*s", (int)(v->len < 20 ? v->len : 20), v->v.str);
  hls_text_sanitize(about);
}

/* One log line per change, naming who made it (the kernel's word on the
 * caller, hls_control_client_user, or the web user) and what it was
 * about. */
static void log_change(const struct hls_method *m, const struct hls_control_call *call, const char *about, int rc) {
  hls_log_info("change", "method=%s user=%s uid=%u%s result=%s", m->name, call->user ? call->user : "-",
               (unsigned)call->uid, about, rc == 0 ? "ok" : hls_err_name(rc));
}

/* --- the audit log (docs/governance.md) ------------------------------------- */

/* A record as the audit log keeps it: its scale, stage, date, themes,
 * consent level and expiry, its story's decision, and of every field
 * people type (title, context, tried, happened, learnt, author role,
 * consent by and purpose) only its length in bytes: the log is never a
 * copy of what a person may ask to be erased, and a name typed where a
 * role was meant stays out of it too. NULL when the record is not held
 * (or out of memory). Owned by the caller. */
char *api_record_summary(struct hls_api *api, int64_t id) {
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  if (hls_store_record_get(api->env.store, id, &r, &why) != 0) {
    hls_record_clear(&r);
    return NULL;
  }
  char date[11], expires[11] = "", retain[11] = "";
  hls_date_format(r.date, date);
  if (r.has_consent_expires) hls_date_format(r.consent_expires, expires);
  if (r.has_retain_until) hls_date_format(r.retain_until, retain);
  json_t *themes = json_array();
  for (size_t i = 0; themes && i < r.n_themes; i++) {
    char t[HLS_THEME_MAX + 24];
    snprintf(t, sizeof t, "%s:%s", hls_kind_name(r.themes[i].kind), r.themes[i].slug);
    json_array_append_new(themes, json_string(t));
  }
  struct hls_share sh;
  const char *story = "none";
  if (hls_store_share_get(api->env.store, id, &sh, &why) == 0) story = hls_share_state_name(sh.state);
#define LEN(s) ((json_int_t)((s) ? strlen(s) : 0))
  json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s?, s:s?, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "scale",
                        hls_scale_name(r.scale), "stage", hls_stage_name(r.stage), "date", date, "themes",
                        themes ? themes : json_array(), "consent", hls_consent_name(r.consent), "consent_expires",
                        r.has_consent_expires ? expires : NULL, "retain_until", r.has_retain_until ? retain : NULL,
                        "story", story, "text_bytes", "title", LEN(r.title),
                        "context", LEN(r.context), "tried", LEN(r.tried), "happened", LEN(r.happened), "learnt",
                        LEN(r.learnt), "author_role", LEN(r.author_role), "consent_by", LEN(r.consent_by),
                        "consent_purpose", LEN(r.consent_purpose));
#undef LEN
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(j);
  hls_record_clear(&r);
  return text;
}

/* The record a change is about (its id argument, or the one it added). */
static int64_t change_record(const struct hls_method *m, const struct hls_control_call *call) {
  if (call->record_id > 0) return call->record_id;
  int64_t id = 0;
  if (!(m->flags & HLS_MF_RECORD) || hls_mp_get_i64(call->req->args, "id", &id, NULL, NULL) != 0 || id < 0) return 0;
  return id;
}

static void audit_change(struct hls_api *api, const struct hls_method *m, const struct hls_control_call *call,
                         const char *about, char *before, int rc) {
  int64_t record_id = change_record(m, call);
  char *after = record_id > 0 && rc == 0 ? api_record_summary(api, record_id) : NULL;
  char uid[24];
  snprintf(uid, sizeof uid, "#%u", (unsigned)call->uid);
  struct hls_audit_entry e = {.at_ms = api_now_ms(api),
                              .who = call->user ? call->user : uid,
                              .action = m->name,
                              .record_id = record_id,
                              .about = about[0] ? about + 1 : NULL,
                              .before = before,
                              .after = rc == 0 ? after : NULL,
                              .result = rc == 0 ? "ok" : hls_err_name(rc)};
  struct hls_why why = {{0}};
  if (hls_audit_append(hls_store_db(api->env.store), &e, &why) != 0)
    hls_log_error("audit_failed", "method=%s user=%s detail=\"%s\"", m->name, e.who, why.text);
  free(after);
}

/* Whether this call of an HLS_MF_EXPORT method is an export (methods.h):
 * with a "full" argument only when it is true, and only a first page. */
static bool export_call(const struct hls_method *m, const struct hls_control_call *call) {
  if (!(m->flags & HLS_MF_EXPORT)) return false;
  bool full = false, has = false;
  if (hls_method_arg(m, "full") != NULL &&
      (hls_mp_get_bool(call->req->args, "full", &full, &has, NULL) != 0 || !has || !full))
    return false;
  return hls_mp_get(call->req->args, "after_id") == NULL;
}

/* An export in the audit log: who, the method, and its arguments as
 * " key=value" (strings cut to 64 bytes) except paging and the search
 * words, of which only the count is kept: the words of a subject access
 * search are often the person's name, and the log is never erased. */
static void audit_export(struct hls_api *api, const struct hls_method *m, const struct hls_control_call *call, int rc) {
  char about[256] = "", part[96];
  size_t used = 0;
  for (size_t i = 0; i < m->n_args; i++) {
    const struct hls_method_arg *a = &m->args[i];
    const struct hls_mp_value *v = hls_mp_get(call->req->args, a->key);
    if (v == NULL || v->type == HLS_MP_NIL || strcmp(a->key, "after_date") == 0 || strcmp(a->key, "after_id") == 0 ||
        strcmp(a->key, "full") == 0) /* paging, and what makes it an export */
      continue;
    part[0] = '\0';
    if (strcmp(a->key, "text") == 0 && v->type == HLS_MP_STR) {
      unsigned words = 0;
      for (uint32_t k = 0; k < v->len; k++)
        if (v->v.str[k] != ' ' && (k == 0 || v->v.str[k - 1] == ' ')) words++;
      snprintf(part, sizeof part, " words=%u", words);
    } else if (strcmp(a->key, "theme") == 0 && v->type == HLS_MP_STR && hls_mp_get(call->req->args, "text") != NULL) {
      /* A subject access search's theme may be the person's name too. */
      snprintf(part, sizeof part, " theme=(%u bytes)", (unsigned)v->len);
    } else if (v->type == HLS_MP_STR) {
      snprintf(part, sizeof part, " %s=%.*s", a->key, (int)(v->len < 64 ? v->len : 64), v->v.str);
    } else if (v->type == HLS_MP_UINT || v->type == HLS_MP_INT) {
      snprintf(part, sizeof part, " %s=%lld", a->key, v->type == HLS_MP_UINT ? (long long)v->v.u : (long long)v->v.i);
    } else if (v->type == HLS_MP_BOOL) {
      snprintf(part, sizeof part, " %s=%s", a->key, v->v.b ? "true" : "false");
    } else {
      snprintf(part, sizeof part, " %s=...", a->key);
    }
    size_t n = strlen(part);
    if (used + n >= sizeof about) break;
    memcpy(about + used, part, n + 1);
    used += n;
  }
  hls_text_sanitize(about);
  char uid[24];
  snprintf(uid, sizeof uid, "#%u", (unsigned)call->uid);
  struct hls_audit_entry e = {.at_ms = api_now_ms(api),
                              .who = call->user ? call->user : uid,
                              .action = m->name,
                              .about = about[0] ? about + 1 : NULL,
                              .result = rc == 0 ? "ok" : hls_err_name(rc)};
  struct hls_why why = {{0}};
  if (hls_audit_append(hls_store_db(api->env.store), &e, &why) != 0)
    hls_log_error("audit_failed", "method=%s user=%s detail=\"%s\"", m->name, e.who, why.text);
}

int hls_api_dispatch(void *ctx, struct hls_control_call *call) {
  struct hls_api *api = ctx;
  const struct hls_method *m = hls_method_find(call->req->cmd, strlen(call->req->cmd));
  if (m == NULL || !method_offered(api, m)) {
    char name[64];
    snprintf(name, sizeof name, "%s", call->req->cmd);
    hls_text_sanitize(name);
    return hls_why_set(&call->why, HLS_EUNKNOWN_CMD, "unknown command \"%s\" (the commands command lists them)",
                       name);
  }
  int rc = 0;
  if (call->role < m->role)
    rc = hls_why_set(&call->why, HLS_EACCESS, "%s needs the %s role (%s is a %s)", m->name, hls_user_role_name(m->role),
                     call->user ? call->user : "this caller", hls_user_role_name(call->role));
  if (rc == 0) rc = hls_method_check_args(m, call->req->args, &call->why);
  /* A change is durable when it is answered: none of it may wait in the
   * store's deferred transaction of gossiped items (store.h). */
  if (rc == 0 && (m->flags & HLS_MF_CHANGES) && api->env.store != NULL)
    rc = hls_store_defer_commit(api->env.store, &call->why);
  char *before = NULL;
  if (rc == 0 && (m->flags & HLS_MF_RECORD)) {
    int64_t id = change_record(m, call);
    if (id > 0) before = api_record_summary(api, id);
  }
  if (rc == 0) rc = handlers[m->id](api, call);
  if (m->flags & HLS_MF_CHANGES) {
    char about[160];
    change_about(call, about, sizeof about);
    log_change(m, call, about, rc);
    if (api->env.store != NULL) audit_change(api, m, call, about, before, rc);
  }
  if (export_call(m, call) && api->env.store != NULL) audit_export(api, m, call, rc);
  free(before);
  return rc;
}
