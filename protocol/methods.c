#include "methods.h"

#include <stdio.h>
#include <string.h>

#include "date.h"
#include "mp.h"
#include "nodeid.h"
#include "text.h"

/* Each method's argument rows: args_STATUS[], args_RECORD_ADD[], ... with
 * one row more than it has ({NULL}), so that a method without arguments
 * is a valid array too. */
#define HLS_ARG(key, type, flags, min, max, values, metavar, help) \
  {key, HLS_ARG_##type, flags, min, max, values, metavar, help},
#define HLS_METHOD(id, name, cli, role, flags, handler, summary, args) \
  static const struct hls_method_arg args_##id[] = {args{NULL, 0, 0, 0, 0, NULL, NULL, NULL}};
#include "methods.def"
#undef HLS_METHOD
#undef HLS_ARG

const struct hls_method hls_methods[HLS_M__COUNT] = {
#define HLS_METHOD(id, name, cli, role, flags, handler, summary, args) \
  [HLS_M_##id] = {HLS_M_##id, name, cli, HLS_USER_##role, flags, summary, args_##id,     \
                  sizeof args_##id / sizeof args_##id[0] - 1},
#include "methods.def"
#undef HLS_METHOD
};

const struct hls_method *hls_method_find(const char *name, size_t len) {
  for (size_t i = 0; i < HLS_M__COUNT; i++)
    if (strlen(hls_methods[i].name) == len && memcmp(hls_methods[i].name, name, len) == 0) return &hls_methods[i];
  return NULL;
}

const struct hls_method_arg *hls_method_arg(const struct hls_method *m, const char *key) {
  for (size_t i = 0; i < m->n_args; i++)
    if (strcmp(m->args[i].key, key) == 0) return &m->args[i];
  return NULL;
}

static const char *const role_names[] = {"viewer", "practitioner", "lead", "admin"};

const char *hls_user_role_name(enum hls_user_role role) {
  return (unsigned)role < sizeof role_names / sizeof role_names[0] ? role_names[role] : "?";
}

int hls_user_role_parse(const char *s, size_t len, enum hls_user_role *out, struct hls_why *why) {
  for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
    if (strlen(role_names[i]) == len && memcmp(role_names[i], s, len) == 0) {
      *out = (enum hls_user_role)i;
      return 0;
    }
  return hls_why_set(why, HLS_EINVAL, "role: expected viewer|practitioner|lead|admin");
}

static const char *const type_names[] = {
    [HLS_ARG_STR] = "string",  [HLS_ARG_NAME] = "name",     [HLS_ARG_INT] = "integer",   [HLS_ARG_NUM] = "number",
    [HLS_ARG_BOOL] = "boolean", [HLS_ARG_DATE] = "date",     [HLS_ARG_NODE_ID] = "node_id",
    [HLS_ARG_ENUM] = "enum",   [HLS_ARG_ENUMS] = "enums",   [HLS_ARG_STRS] = "strings",
    [HLS_ARG_MAP] = "map",     [HLS_ARG_MAPS] = "maps",     [HLS_ARG_IDS] = "ids",
    [HLS_ARG_BINS] = "binaries",
};

const char *hls_arg_type_name(enum hls_arg_type type) {
  return (unsigned)type < sizeof type_names / sizeof type_names[0] ? type_names[type] : "?";
}

/* --- the check ----------------------------------------------------------------- */

/* s (len bytes) is one of values ("a|b|c"). */
static bool enum_has(const char *values, const char *s, uint32_t len) {
  for (const char *p = values; *p != '\0';) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n == len && memcmp(p, s, n) == 0) return true;
    p += n + (bar != NULL);
  }
  return false;
}

/* values with ", " between them, for messages. */
static void enum_list(const char *values, char *out, size_t size) {
  size_t o = 0;
  for (const char *p = values; *p != '\0' && o + 3 < size; p++) {
    if (*p == '|') {
      out[o++] = ',';
      out[o++] = ' ';
    } else {
      out[o++] = *p;
    }
  }
  out[o] = '\0';
}

/* A printable copy of a short string value for messages (cut to size;
 * what is not printable UTF-8 shown as '?'). */
static void quote(const struct hls_mp_value *v, char *out, size_t size) {
  snprintf(out, size, "%.*s", (int)(v->len < size ? v->len : size), v->v.str);
  hls_text_sanitize(out);
}

static int check_str_len(const struct hls_method_arg *a, const struct hls_mp_value *v, struct hls_why *why) {
  if ((int64_t)v->len > a->max)
    return hls_why_set(why, HLS_ETOOBIG, "%s: %u bytes, at most %lld allowed", a->key, (unsigned)v->len,
                       (long long)a->max);
  if ((int64_t)v->len < a->min)
    return a->min == 1 ? hls_why_set(why, HLS_EINVAL, "%s: empty", a->key)
                       : hls_why_set(why, HLS_EINVAL, "%s: at least %lld bytes", a->key, (long long)a->min);
  return 0;
}

static bool is_int(const struct hls_mp_value *v) { return v->type == HLS_MP_UINT || v->type == HLS_MP_INT; }

/* An integer value as int64 (uint values above INT64_MAX saturate, and
 * are then above every bound). */
static int64_t int_value(const struct hls_mp_value *v) {
  if (v->type == HLS_MP_INT) return v->v.i;
  return v->v.u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v->v.u;
}

static int check_range(const struct hls_method_arg *a, int64_t x, bool saturated, struct hls_why *why) {
  if (!saturated && x >= a->min && x <= a->max) return 0;
  if (a->max == INT64_MAX) return hls_why_set(why, HLS_EINVAL, "%s: must be %lld or more", a->key, (long long)a->min);
  return hls_why_set(why, HLS_EINVAL, "%s: must be %lld to %lld", a->key, (long long)a->min, (long long)a->max);
}

/* One member of an ENUMS or STRS list (or the one value given alone). */
static int check_list_member(const struct hls_method_arg *a, const struct hls_mp_value *v, struct hls_why *why) {
  if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", a->key);
  if (a->type == HLS_ARG_STRS) {
    if (v->len == 0 || (int64_t)v->len > a->max)
      return hls_why_set(why, HLS_EINVAL, "%s: must be 1 to %lld bytes", a->key, (long long)a->max);
    return 0;
  }
  if (enum_has(a->values, v->v.str, v->len)) return 0;
  char got[40], list[160];
  quote(v, got, sizeof got);
  enum_list(a->values, list, sizeof list);
  return hls_why_set(why, HLS_EINVAL, "%s: \"%s\" is not one of %s", a->key, got, list);
}

static int check_value(const struct hls_method_arg *a, const struct hls_mp_value *v, struct hls_why *why) {
  switch (a->type) {
    case HLS_ARG_STR:
      if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", a->key);
      return check_str_len(a, v, why);
    case HLS_ARG_NAME:
      if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", a->key);
      if ((int64_t)v->len < a->min || (int64_t)v->len > a->max)
        return hls_why_set(why, HLS_EINVAL, "%s: %lld to %lld characters", a->key, (long long)a->min, (long long)a->max);
      for (uint32_t i = 0; i < v->len; i++) {
        char c = v->v.str[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
          return hls_why_set(why, HLS_EINVAL, "%s: use letters, digits, '-', '_' and '.' only", a->key);
      }
      return 0;
    case HLS_ARG_INT:
      if (!is_int(v)) return hls_why_set(why, HLS_EINVAL, "%s: expected an integer", a->key);
      return check_range(a, int_value(v), v->type == HLS_MP_UINT && v->v.u > (uint64_t)INT64_MAX, why);
    case HLS_ARG_NUM: {
      double x;
      if (is_int(v)) x = v->type == HLS_MP_INT ? (double)v->v.i : (double)v->v.u;
      else if (v->type == HLS_MP_FLOAT) x = v->v.f;
      else return hls_why_set(why, HLS_EINVAL, "%s: expected a number", a->key);
      if (!(x == x) || x < (double)a->min || x > (double)a->max) /* NaN fails too */
        return hls_why_set(why, HLS_EINVAL, "%s: must be %lld or more", a->key, (long long)a->min);
      return 0;
    }
    case HLS_ARG_BOOL:
      return v->type == HLS_MP_BOOL ? 0 : hls_why_set(why, HLS_EINVAL, "%s: expected true or false", a->key);
    case HLS_ARG_DATE: {
      hls_day day;
      if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a date YYYY-MM-DD", a->key);
      return hls_date_parse_why(v->v.str, v->len, a->key, &day, why);
    }
    case HLS_ARG_NODE_ID: {
      char text[HLS_NODEID_TEXT_SIZE];
      uint8_t pk[HLS_NODEID_BYTES];
      if (v->type != HLS_MP_STR || v->len != HLS_NODEID_TEXT_SIZE - 1)
        return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", a->key);
      memcpy(text, v->v.str, v->len);
      text[v->len] = '\0';
      if (hls_nodeid_parse(text, pk) != 0)
        return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", a->key);
      return 0;
    }
    case HLS_ARG_ENUM:
      if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", a->key);
      if (!enum_has(a->values, v->v.str, v->len))
        return hls_why_set(why, HLS_EINVAL, "%s: expected %s", a->key, a->values);
      return 0;
    case HLS_ARG_ENUMS:
    case HLS_ARG_STRS:
      if (v->type != HLS_MP_ARRAY) return check_list_member(a, v, why);
      if (v->len > HLS_METHOD_LIST_MAX)
        return hls_why_set(why, HLS_EINVAL, "%s: at most %d values", a->key, HLS_METHOD_LIST_MAX);
      for (uint32_t i = 0; i < v->len; i++) {
        int rc = check_list_member(a, &v->v.items[i], why);
        if (rc != 0) return rc;
      }
      return 0;
    case HLS_ARG_MAP:
      return v->type == HLS_MP_MAP ? 0 : hls_why_set(why, HLS_EINVAL, "%s: expected a map", a->key);
    case HLS_ARG_MAPS:
    case HLS_ARG_IDS:
    case HLS_ARG_BINS: {
      static const char *const what[] = {[HLS_ARG_MAPS] = "a map", [HLS_ARG_IDS] = "a positive integer",
                                         [HLS_ARG_BINS] = "bytes"};
      if (v->type != HLS_MP_ARRAY) return hls_why_set(why, HLS_EINVAL, "%s: expected a list", a->key);
      if (v->len == 0 && a->min > 0) return hls_why_set(why, HLS_EINVAL, "%s: empty", a->key);
      if ((int64_t)v->len > a->max)
        return hls_why_set(why, HLS_ETOOBIG, "%s: %u in one request (at most %lld)", a->key, (unsigned)v->len,
                           (long long)a->max);
      if ((int64_t)v->len < a->min)
        return hls_why_set(why, HLS_EINVAL, "%s: at least %lld entries", a->key, (long long)a->min);
      for (uint32_t i = 0; i < v->len; i++) {
        const struct hls_mp_value *e = &v->v.items[i];
        bool ok = a->type == HLS_ARG_MAPS  ? e->type == HLS_MP_MAP
                  : a->type == HLS_ARG_BINS ? e->type == HLS_MP_BIN
                                            : is_int(e) && int_value(e) >= 1;
        if (!ok) return hls_why_set(why, HLS_EINVAL, "%s: item %u is not %s", a->key, (unsigned)i, what[a->type]);
      }
      return 0;
    }
  }
  return hls_why_set(why, HLS_EINTERNAL, "%s: argument of unknown type", a->key);
}

int hls_method_check_args(const struct hls_method *m, const struct hls_mp_value *args, struct hls_why *why) {
  if (args != NULL && args->type != HLS_MP_NIL && args->type != HLS_MP_MAP)
    return hls_why_set(why, HLS_EINVAL, "args: expected a map");
  uint32_t n = args != NULL && args->type == HLS_MP_MAP ? args->len : 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct hls_mp_kv *kv = &args->v.kv[i];
    const struct hls_method_arg *a = NULL;
    for (size_t k = 0; k < m->n_args && a == NULL; k++)
      if (strlen(m->args[k].key) == kv->key.len && memcmp(m->args[k].key, kv->key.v.str, kv->key.len) == 0)
        a = &m->args[k];
    if (a == NULL) {
      char key[40];
      quote(&kv->key, key, sizeof key);
      if (m->n_args == 0) return hls_why_set(why, HLS_EINVAL, "%s: %s takes no arguments", key, m->name);
      char known[400] = "";
      for (size_t k = 0; k < m->n_args; k++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "", m->args[k].key);
      }
      return hls_why_set(why, HLS_EINVAL, "%s: not an argument of %s (it takes %s)", key, m->name, known);
    }
    if (kv->val.type == HLS_MP_NIL) continue;
    int rc = check_value(a, &kv->val, why);
    if (rc != 0) return rc;
  }
  for (size_t k = 0; k < m->n_args; k++) {
    if (!(m->args[k].flags & HLS_AF_REQ)) continue;
    const struct hls_mp_value *v = n > 0 ? hls_mp_get(args, m->args[k].key) : NULL;
    if (v == NULL || v->type == HLS_MP_NIL)
      return hls_why_set(why, HLS_EINVAL, "%s: required (%s)", m->args[k].key, m->args[k].help);
  }
  return 0;
}

/* --- the table as data ----------------------------------------------------------- */

#define PACK(expr)                        \
  do {                                    \
    if ((expr) != 0) return HLS_ENOMEM;   \
  } while (0)

static int pack_arg(msgpack_packer *pk, const struct hls_method_arg *a) {
  bool bounded = a->type == HLS_ARG_STR || a->type == HLS_ARG_NAME || a->type == HLS_ARG_INT || a->type == HLS_ARG_NUM ||
                 a->type == HLS_ARG_STRS || a->type == HLS_ARG_MAPS || a->type == HLS_ARG_IDS ||
                 a->type == HLS_ARG_BINS;
  bool has_max = bounded && a->max != INT64_MAX; /* no "max": no bound (and none past 2^53 for JSON readers) */
  PACK(msgpack_pack_map(pk, 5 + bounded + has_max + (a->values != NULL) + (a->metavar != NULL)));
  PACK(hls_mp_pack_kv_str(pk, "name", a->key));
  PACK(hls_mp_pack_kv_str(pk, "type", hls_arg_type_name(a->type)));
  PACK(hls_mp_pack_kv_bool(pk, "required", (a->flags & HLS_AF_REQ) != 0));
  PACK(hls_mp_pack_kv_bool(pk, "positional", (a->flags & HLS_AF_POS) != 0));
  PACK(hls_mp_pack_kv_str(pk, "help", a->help));
  if (a->metavar != NULL) PACK(hls_mp_pack_kv_str(pk, "metavar", a->metavar));
  if (bounded) PACK(hls_mp_pack_kv_i64(pk, "min", a->min));
  if (has_max) PACK(hls_mp_pack_kv_i64(pk, "max", a->max));
  if (a->values != NULL) {
    size_t count = 1;
    for (const char *p = a->values; *p; p++) count += *p == '|';
    PACK(hls_mp_pack_cstr(pk, "values"));
    PACK(msgpack_pack_array(pk, count));
    for (const char *p = a->values;;) {
      const char *bar = strchr(p, '|');
      size_t len = bar ? (size_t)(bar - p) : strlen(p);
      PACK(hls_mp_pack_strn(pk, p, len));
      if (bar == NULL) break;
      p = bar + 1;
    }
  }
  return 0;
}

int hls_methods_pack(msgpack_packer *pk, bool with_test) {
  size_t count = 0;
  for (size_t i = 0; i < HLS_M__COUNT; i++) count += with_test || !(hls_methods[i].flags & HLS_MF_TEST);
  PACK(msgpack_pack_array(pk, count));
  for (size_t i = 0; i < HLS_M__COUNT; i++) {
    const struct hls_method *m = &hls_methods[i];
    if (!with_test && (m->flags & HLS_MF_TEST)) continue;
    PACK(msgpack_pack_map(pk, 10));
    PACK(hls_mp_pack_kv_str(pk, "name", m->name));
    PACK(hls_mp_pack_kv_str(pk, "help", m->summary));
    PACK(hls_mp_pack_kv_str(pk, "cli", m->cli));
    PACK(hls_mp_pack_kv_str(pk, "role", hls_user_role_name(m->role)));
    PACK(hls_mp_pack_kv_bool(pk, "changes", (m->flags & HLS_MF_CHANGES) != 0));
    PACK(hls_mp_pack_kv_bool(pk, "exports", (m->flags & HLS_MF_EXPORT) != 0));
    PACK(hls_mp_pack_kv_bool(pk, "local", (m->flags & HLS_MF_LOCAL) != 0));
    PACK(hls_mp_pack_kv_bool(pk, "stream", (m->flags & HLS_MF_STREAM) != 0));
    PACK(hls_mp_pack_kv_bool(pk, "test", (m->flags & HLS_MF_TEST) != 0));
    PACK(hls_mp_pack_cstr(pk, "args"));
    PACK(msgpack_pack_array(pk, m->n_args));
    for (size_t k = 0; k < m->n_args; k++) PACK(pack_arg(pk, &m->args[k]));
  }
  return 0;
}
