#include "record.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static const char *const scale_names[] = {"person", "organisation", "place", "country"};
static const char *const stage_names[] = {"purpose", "understand", "co-design", "experiment", "reflect", "embed"};
static const char *const kind_names[] = {"problem", "aspiration", "strength", "practice"};
static const char *const consent_names[] = {"private", "aggregate", "peers", "network"};

const char *const hls_record_fields[] = {
    "title",   "scale",       "stage",      "date",          "themes",          "context",
    "tried",   "happened",    "learnt",     "author_role",   "consent",         "consent_by",
    "consent_purpose", "consent_expires", "retain_until", NULL};

#define NAME_OF(table, v) ((size_t)(v) < sizeof table / sizeof table[0] ? table[v] : "?")

const char *hls_consent_end_name(int end) {
  return end == HLS_CONSENT_WITHDRAWN ? "withdrawn" : end == HLS_CONSENT_EXPIRED ? "expired" : NULL;
}

const char *hls_scale_name(enum hls_scale s) { return NAME_OF(scale_names, s); }
const char *hls_stage_name(enum hls_stage s) { return NAME_OF(stage_names, s); }
const char *hls_kind_name(enum hls_kind k) { return NAME_OF(kind_names, k); }
const char *hls_consent_name(enum hls_consent c) { return NAME_OF(consent_names, c); }

/* Names are lower-case ASCII; a value is taken in any case ("Person", as a
 * spreadsheet capitalises it), and stored as the name. */
static bool name_eq(const char *name, const char *s, size_t len) {
  if (strlen(name) != len) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

static int enum_parse(const char *const *names, size_t n, const char *what, const char *s,
                      size_t len, int *out, struct hls_why *why) {
  for (size_t i = 0; i < n; i++) {
    if (name_eq(names[i], s, len)) {
      *out = (int)i;
      return 0;
    }
  }
  char allowed[160] = "";
  for (size_t i = 0; i < n; i++) {
    if (i > 0) strncat(allowed, "|", sizeof allowed - strlen(allowed) - 1);
    strncat(allowed, names[i], sizeof allowed - strlen(allowed) - 1);
  }
  return hls_why_set(why, HLS_EINVAL, "%s: expected %s", what, allowed);
}

#define ENUM_PARSE(fn, type, table, what)                                              \
  int fn(const char *s, size_t len, type *out, struct hls_why *why) {                  \
    int v = 0;                                                                         \
    int rc = enum_parse(table, sizeof table / sizeof table[0], what, s, len, &v, why); \
    if (rc == 0) *out = (type)v;                                                       \
    return rc;                                                                         \
  }
ENUM_PARSE(hls_scale_parse, enum hls_scale, scale_names, "scale")
ENUM_PARSE(hls_stage_parse, enum hls_stage, stage_names, "stage")
ENUM_PARSE(hls_kind_parse, enum hls_kind, kind_names, "kind")
ENUM_PARSE(hls_consent_parse, enum hls_consent, consent_names, "consent")

int hls_theme_parse(const char *spec, size_t len, struct hls_theme *out, struct hls_why *why) {
  out->kind = HLS_KIND_PROBLEM;
  const char *colon = memchr(spec, ':', len);
  if (colon != NULL) {
    enum hls_kind kind;
    size_t klen = (size_t)(colon - spec);
    /* Leading/trailing spaces around the kind are forgiven. */
    const char *k = spec;
    while (klen > 0 && (*k == ' ' || *k == '\t')) k++, klen--;
    while (klen > 0 && (k[klen - 1] == ' ' || k[klen - 1] == '\t')) klen--;
    if (hls_kind_parse(k, klen, &kind, NULL) == 0) {
      out->kind = kind;
      len -= (size_t)(colon + 1 - spec);
      spec = colon + 1;
    } else {
      return hls_why_set(why, HLS_EINVAL,
                         "theme: unknown kind \"%.*s\" before ':' (expected problem|aspiration|strength|practice; "
                         "a theme's name cannot hold ':')",
                         (int)(klen < 40 ? klen : 40), k);
    }
  }
  return hls_theme_normalise(spec, len, out->slug, sizeof out->slug, why);
}

void hls_record_init(struct hls_record *r) {
  memset(r, 0, sizeof *r);
  r->consent = HLS_CONSENT_PRIVATE;
}

void hls_record_clear(struct hls_record *r) {
  free(r->title);
  free(r->context);
  free(r->tried);
  free(r->happened);
  free(r->learnt);
  free(r->author_role);
  free(r->consent_by);
  free(r->consent_purpose);
  free(r->created_by);
  hls_record_init(r);
}

/* Trim ASCII spaces/tabs at both ends (single-line fields only: in
 * free text, leading indentation may matter). */
static void trim(const char **s, uint32_t *len) {
  while (*len > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t')) (*s)++, (*len)--;
  while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Set *field from a string/nil value after checking it. */
static int set_text(char **field, const struct hls_mp_value *v, const char *name, size_t max,
                    bool multiline, struct hls_why *why) {
  if (v->type == HLS_MP_NIL) {
    free(*field);
    *field = NULL;
    return 0;
  }
  if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", name);
  const char *s = v->v.str;
  uint32_t len = v->len;
  if (!multiline) trim(&s, &len);
  int rc = hls_text_check(s, len, max, multiline, name, why);
  if (rc != 0) return rc;
  char *copy = NULL;
  if (len > 0) {
    copy = malloc((size_t)len + 1);
    if (copy == NULL) return HLS_ENOMEM;
    /* Line breaks are kept as LF: a CR LF or a lone CR given is one LF.
     * A lone CR would otherwise move a terminal's cursor back over the
     * line before it (hiding text from whoever reviews a story), and the
     * same text would not match itself after a CSV export and import,
     * which reads CR LF as LF. */
    size_t o = 0;
    for (uint32_t i = 0; i < len; i++) {
      if (s[i] == '\r') {
        copy[o++] = '\n';
        if (i + 1 < len && s[i + 1] == '\n') i++;
      } else {
        copy[o++] = s[i];
      }
    }
    copy[o] = '\0';
  }
  free(*field);
  *field = copy;
  return 0;
}

static int get_enum_str(const struct hls_mp_value *v, const char *name, const char **s,
                        uint32_t *len, struct hls_why *why) {
  if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", name);
  *s = v->v.str;
  *len = v->len;
  trim(s, len);
  return 0;
}

static int set_date(hls_day *day, bool *has, const struct hls_mp_value *v, const char *name,
                    struct hls_why *why) {
  if (v->type == HLS_MP_NIL || (v->type == HLS_MP_STR && v->len == 0)) {
    *has = false;
    return 0;
  }
  const char *s = NULL;
  uint32_t len = 0;
  int rc = get_enum_str(v, name, &s, &len, why);
  if (rc != 0) return rc;
  if ((rc = hls_date_parse_why(s, len, name, day, why)) != 0) return rc;
  *has = true;
  return 0;
}

static int add_theme(struct hls_theme *themes, size_t *n, const struct hls_theme *t,
                     struct hls_why *why) {
  for (size_t i = 0; i < *n; i++) {
    if (strcmp(themes[i].slug, t->slug) == 0) {
      if (themes[i].kind == t->kind) return 0; /* same theme twice: harmless */
      return hls_why_set(why, HLS_EINVAL, "themes: \"%s\" given as both %s and %s", t->slug,
                         hls_kind_name(themes[i].kind), hls_kind_name(t->kind));
    }
  }
  if (*n >= HLS_THEMES_PER_RECORD)
    return hls_why_set(why, HLS_ETOOBIG, "themes: at most %d per record", HLS_THEMES_PER_RECORD);
  themes[(*n)++] = *t;
  return 0;
}

/* The "[KIND:]NAME" specs of string s, separated by ';', added to
 * themes (empty ones skipped). */
static int add_specs(struct hls_theme *themes, size_t *n, const char *s, uint32_t slen, struct hls_why *why) {
  const char *end = s + slen;
  while (s < end) {
    const char *semi = memchr(s, ';', (size_t)(end - s));
    const char *stop = semi ? semi : end;
    const char *a = s;
    uint32_t len = (uint32_t)(stop - s);
    trim(&a, &len);
    if (len > 0) {
      struct hls_theme t;
      int rc = hls_theme_parse(a, len, &t, why);
      if (rc == 0) rc = add_theme(themes, n, &t, why);
      if (rc != 0) return rc;
    }
    s = semi ? semi + 1 : end;
  }
  return 0;
}

/* themes: an array of "KIND:NAME" strings (each may hold several,
 * separated by ';') or {name, kind} maps, or one string of specs
 * separated by ';' (the CSV form). */
static int set_themes(struct hls_record *r, const struct hls_mp_value *v, struct hls_why *why) {
  struct hls_theme themes[HLS_THEMES_PER_RECORD];
  size_t n = 0;
  struct hls_theme t;
  int rc;
  if (v->type == HLS_MP_NIL) {
    r->n_themes = 0;
    return 0;
  }
  if (v->type == HLS_MP_STR) {
    if ((rc = add_specs(themes, &n, v->v.str, v->len, why)) != 0) return rc;
  } else if (v->type == HLS_MP_ARRAY) {
    if (v->len > 4 * HLS_THEMES_PER_RECORD)
      return hls_why_set(why, HLS_ETOOBIG, "themes: at most %d per record", HLS_THEMES_PER_RECORD);
    for (uint32_t i = 0; i < v->len; i++) {
      const struct hls_mp_value *item = &v->v.items[i];
      if (item->type == HLS_MP_STR) {
        if ((rc = add_specs(themes, &n, item->v.str, item->len, why)) != 0) return rc;
        continue;
      } else if (item->type == HLS_MP_MAP) {
        const char *name = NULL, *kind = NULL;
        uint32_t name_len = 0, kind_len = 0;
        bool has_name = false, has_kind = false;
        if ((rc = hls_mp_get_str(item, "name", &name, &name_len, &has_name, why)) != 0) return rc;
        if ((rc = hls_mp_get_str(item, "kind", &kind, &kind_len, &has_kind, why)) != 0) return rc;
        for (uint32_t k = 0; k < item->len; k++)
          if (!hls_mp_str_eq(&item->v.kv[k].key, "name") && !hls_mp_str_eq(&item->v.kv[k].key, "kind"))
            return hls_why_set(why, HLS_EINVAL, "themes: a theme object has only name and kind");
        if (!has_name) return hls_why_set(why, HLS_EINVAL, "themes: a theme object needs a name");
        t.kind = HLS_KIND_PROBLEM;
        if (has_kind && (rc = hls_kind_parse(kind, kind_len, &t.kind, why)) != 0) return rc;
        rc = hls_theme_normalise(name, name_len, t.slug, sizeof t.slug, why);
      } else {
        return hls_why_set(why, HLS_EINVAL, "themes: expected \"KIND:NAME\" strings or {name, kind} objects");
      }
      if (rc != 0) return rc;
      if ((rc = add_theme(themes, &n, &t, why)) != 0) return rc;
    }
  } else {
    return hls_why_set(why, HLS_EINVAL, "themes: expected a list");
  }
  memcpy(r->themes, themes, n * sizeof themes[0]);
  r->n_themes = n;
  return 0;
}

/* A free-text field. Checked without a node's limits (lim NULL: hls checks
 * before it sends), the hard ceiling is the only one known, and a node's
 * own may be lower: the error says so, or the node's refusal of a shorter
 * text would come as a surprise. */
static int set_free_text(char **field, const struct hls_mp_value *v, const char *name, size_t max, bool node_limit,
                         struct hls_why *why) {
  int rc = set_text(field, v, name, max, true, why);
  if (rc == HLS_ETOOBIG && !node_limit) {
    char said[sizeof why->text];
    snprintf(said, sizeof said, "%s", why->text);
    hls_why_set(why, rc, "%s (a node may allow less: its limits.max_text_bytes, 16 KiB unless set)", said);
  }
  return rc;
}

int hls_record_apply(struct hls_record *r, const struct hls_mp_value *m,
                     const struct hls_record_limits *lim, struct hls_why *why) {
  if (m == NULL || m->type != HLS_MP_MAP) return hls_why_set(why, HLS_EINVAL, "record: expected an object");
  size_t text_max = lim && lim->max_text_bytes > 0 && lim->max_text_bytes < HLS_TEXT_HARD_MAX
                        ? lim->max_text_bytes
                        : HLS_TEXT_HARD_MAX;
  for (uint32_t i = 0; i < m->len; i++) {
    const struct hls_mp_value *k = &m->v.kv[i].key;
    const struct hls_mp_value *v = &m->v.kv[i].val;
    const char *s = NULL;
    uint32_t len = 0;
    int rc;
    if (hls_mp_str_eq(k, "title")) {
      rc = set_text(&r->title, v, "title", HLS_TITLE_MAX, false, why);
    } else if (hls_mp_str_eq(k, "scale")) {
      if ((rc = get_enum_str(v, "scale", &s, &len, why)) == 0 &&
          (rc = hls_scale_parse(s, len, &r->scale, why)) == 0)
        r->has_scale = true;
    } else if (hls_mp_str_eq(k, "stage")) {
      if ((rc = get_enum_str(v, "stage", &s, &len, why)) == 0 &&
          (rc = hls_stage_parse(s, len, &r->stage, why)) == 0)
        r->has_stage = true;
    } else if (hls_mp_str_eq(k, "date")) {
      rc = set_date(&r->date, &r->has_date, v, "date", why);
    } else if (hls_mp_str_eq(k, "themes")) {
      rc = set_themes(r, v, why);
    } else if (hls_mp_str_eq(k, "context")) {
      rc = set_free_text(&r->context, v, "context", text_max, lim != NULL, why);
    } else if (hls_mp_str_eq(k, "tried")) {
      rc = set_free_text(&r->tried, v, "tried", text_max, lim != NULL, why);
    } else if (hls_mp_str_eq(k, "happened")) {
      rc = set_free_text(&r->happened, v, "happened", text_max, lim != NULL, why);
    } else if (hls_mp_str_eq(k, "learnt")) {
      rc = set_free_text(&r->learnt, v, "learnt", text_max, lim != NULL, why);
    } else if (hls_mp_str_eq(k, "author_role")) {
      rc = set_text(&r->author_role, v, "author_role", HLS_ROLE_MAX, false, why);
    } else if (hls_mp_str_eq(k, "consent")) {
      if (v->type == HLS_MP_NIL || (v->type == HLS_MP_STR && v->len == 0)) {
        r->consent = HLS_CONSENT_PRIVATE;
        rc = 0;
      } else if ((rc = get_enum_str(v, "consent", &s, &len, why)) == 0) {
        rc = hls_consent_parse(s, len, &r->consent, why);
      }
    } else if (hls_mp_str_eq(k, "consent_by")) {
      rc = set_text(&r->consent_by, v, "consent_by", HLS_ROLE_MAX, false, why);
    } else if (hls_mp_str_eq(k, "consent_purpose")) {
      rc = set_text(&r->consent_purpose, v, "consent_purpose", HLS_PURPOSE_MAX, false, why);
    } else if (hls_mp_str_eq(k, "consent_expires")) {
      rc = set_date(&r->consent_expires, &r->has_consent_expires, v, "consent_expires", why);
    } else if (hls_mp_str_eq(k, "retain_until")) {
      if (v->type == HLS_MP_STR && v->len == 4 && memcmp(v->v.str, "none", 4) == 0)
        r->has_retain_until = false, rc = 0;
      else if ((rc = set_date(&r->retain_until, &r->has_retain_until, v, "retain_until", why)) != 0 &&
               v->type == HLS_MP_STR && strstr(why->text, "expected a date") != NULL)
        rc = hls_why_set(why, HLS_EINVAL,
                         "retain_until: expected a date YYYY-MM-DD, or none (the period of its scale applies)");
    } else if (hls_mp_str_eq(k, "id") || hls_mp_str_eq(k, "created_at") || hls_mp_str_eq(k, "updated_at") ||
               hls_mp_str_eq(k, "created_by") || hls_mp_str_eq(k, "consent_ended") ||
               hls_mp_str_eq(k, "retention") || hls_mp_str_eq(k, "retention_from")) {
      rc = 0;
    } else {
      char name[64];
      size_t n = k->len < sizeof name - 1 ? k->len : sizeof name - 1;
      memcpy(name, k->v.str, n);
      name[n] = '\0';
      /* The key was validated as UTF-8 but may be cut mid-character. */
      for (size_t j = 0; j < n; j++)
        if ((unsigned char)name[j] < 0x20 || (unsigned char)name[j] >= 0x7f) name[j] = '?';
      rc = hls_why_set(why, HLS_EINVAL, "unknown field \"%s\"", name);
    }
    if (rc != 0) return rc;
  }
  return 0;
}

int hls_record_validate(const struct hls_record *r, struct hls_why *why) {
  if (r->title == NULL) return hls_why_set(why, HLS_EINVAL, "title: required");
  if (!r->has_scale) return hls_why_set(why, HLS_EINVAL, "scale: required (person|organisation|place|country)");
  if (!r->has_stage)
    return hls_why_set(why, HLS_EINVAL,
                       "stage: required (purpose|understand|co-design|experiment|reflect|embed)");
  if (r->consent > HLS_CONSENT_PRIVATE && r->consent_by == NULL)
    return hls_why_set(why, HLS_EINVAL, "consent_by: required when consent is above private (who gave it, a role)");
  return 0;
}

static int pack_opt_date(msgpack_packer *pk, const char *key, bool has, hls_day day) {
  char buf[11];
  if (!has) return hls_mp_pack_kv_str(pk, key, NULL);
  hls_date_format(day, buf);
  return hls_mp_pack_kv_str(pk, key, buf);
}

int hls_record_pack(msgpack_packer *pk, const struct hls_record *r, bool full) {
  char created[21], updated[21];
  int rc = 0;
  hls_time_format(r->created_ms, created);
  hls_time_format(r->updated_ms, updated);
  bool retention = r->retention_from != HLS_RETENTION_UNKNOWN;
  if (msgpack_pack_map(pk, (full ? 20 : 16) + (retention ? 2 : 0)) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_i64(pk, "id", r->id)) ||
      (rc = hls_mp_pack_kv_str(pk, "title", r->title)) ||
      (rc = hls_mp_pack_kv_str(pk, "scale", hls_scale_name(r->scale))) ||
      (rc = hls_mp_pack_kv_str(pk, "stage", hls_stage_name(r->stage))) ||
      (rc = pack_opt_date(pk, "date", r->has_date, r->date)))
    return rc;
  if ((rc = hls_mp_pack_cstr(pk, "themes")) != 0) return rc;
  if (msgpack_pack_array(pk, r->n_themes) != 0) return HLS_ENOMEM;
  for (size_t i = 0; i < r->n_themes; i++) {
    if (msgpack_pack_map(pk, 2) != 0) return HLS_ENOMEM;
    if ((rc = hls_mp_pack_kv_str(pk, "name", r->themes[i].slug)) ||
        (rc = hls_mp_pack_kv_str(pk, "kind", hls_kind_name(r->themes[i].kind))))
      return rc;
  }
  if (full) {
    if ((rc = hls_mp_pack_kv_str(pk, "context", r->context)) ||
        (rc = hls_mp_pack_kv_str(pk, "tried", r->tried)) ||
        (rc = hls_mp_pack_kv_str(pk, "happened", r->happened)) ||
        (rc = hls_mp_pack_kv_str(pk, "learnt", r->learnt)))
      return rc;
  }
  if ((rc = hls_mp_pack_kv_str(pk, "author_role", r->author_role)) ||
      (rc = hls_mp_pack_kv_str(pk, "consent", hls_consent_name(r->consent))) ||
      (rc = hls_mp_pack_kv_str(pk, "consent_by", r->consent_by)) ||
      (rc = hls_mp_pack_kv_str(pk, "consent_purpose", r->consent_purpose)) ||
      (rc = pack_opt_date(pk, "consent_expires", r->has_consent_expires, r->consent_expires)) ||
      (rc = hls_mp_pack_kv_str(pk, "consent_ended", hls_consent_end_name(r->consent_ended))) ||
      (rc = hls_mp_pack_kv_str(pk, "created_at", created)) ||
      (rc = hls_mp_pack_kv_str(pk, "updated_at", updated)) ||
      (rc = hls_mp_pack_kv_str(pk, "created_by", r->created_by)) ||
      (rc = pack_opt_date(pk, "retain_until", r->has_retain_until, r->retain_until)))
    return rc;
  if (retention &&
      ((rc = pack_opt_date(pk, "retention", r->retention_from != HLS_RETENTION_KEEP, r->retention)) ||
       (rc = hls_mp_pack_kv_str(pk, "retention_from", hls_retention_from_name(r->retention_from)))))
    return rc;
  return 0;
}

const char *hls_retention_from_name(int from) {
  return from == HLS_RETENTION_RECORD ? "record" : from == HLS_RETENTION_RULE ? "rule"
         : from == HLS_RETENTION_KEEP ? "none" : NULL;
}

void hls_record_retention(struct hls_record *r, const struct hls_period rules[HLS_SCALE_COUNT]) {
  const struct hls_period *rule = (size_t)r->scale < HLS_SCALE_COUNT ? &rules[r->scale] : NULL;
  if (r->has_retain_until) {
    r->retention = r->retain_until;
    r->retention_from = HLS_RETENTION_RECORD;
  } else if (rule != NULL && rule->unit != HLS_PERIOD_KEEP && r->has_date) {
    r->retention = hls_period_add(r->date, rule);
    r->retention_from = HLS_RETENTION_RULE;
  } else {
    r->retention = 0;
    r->retention_from = HLS_RETENTION_KEEP;
  }
}

/* Fingerprint fields: a tag (0 absent, 1 present), then a 4-byte
 * little-endian length and the bytes. Version 1 of the layout. */
static void fp_bytes(crypto_generichash_state *h, const void *p, size_t len, bool present) {
  uint8_t head[5] = {present ? 1 : 0, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
  crypto_generichash_update(h, head, sizeof head);
  if (present && len > 0) crypto_generichash_update(h, p, len);
}

static void fp_text(crypto_generichash_state *h, const char *s) { fp_bytes(h, s, s ? strlen(s) : 0, s != NULL); }

static void fp_int(crypto_generichash_state *h, int64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
  fp_bytes(h, b, sizeof b, true);
}

static int theme_order(const void *a, const void *b) {
  const struct hls_theme *x = *(const struct hls_theme *const *)a, *y = *(const struct hls_theme *const *)b;
  int c = strcmp(x->slug, y->slug);
  return c != 0 ? c : (int)x->kind - (int)y->kind;
}

void hls_record_fingerprint(const struct hls_record *r, uint8_t out[HLS_RECORD_FINGERPRINT_BYTES]) {
  crypto_generichash_state h;
  static const char tag[] = "hls record fingerprint v1";
  crypto_generichash_init(&h, NULL, 0, HLS_RECORD_FINGERPRINT_BYTES);
  crypto_generichash_update(&h, (const unsigned char *)tag, sizeof tag);
  fp_text(&h, r->title);
  fp_int(&h, (int64_t)r->scale);
  fp_int(&h, (int64_t)r->stage);
  fp_int(&h, (int64_t)r->date);
  fp_text(&h, r->context);
  fp_text(&h, r->tried);
  fp_text(&h, r->happened);
  fp_text(&h, r->learnt);
  fp_text(&h, r->author_role);
  const struct hls_theme *sorted[HLS_THEMES_PER_RECORD] = {NULL};
  size_t n = r->n_themes < HLS_THEMES_PER_RECORD ? r->n_themes : HLS_THEMES_PER_RECORD;
  for (size_t i = 0; i < n; i++) sorted[i] = &r->themes[i];
  qsort(sorted, n, sizeof sorted[0], theme_order);
  fp_int(&h, (int64_t)n);
  for (size_t i = 0; i < n; i++) {
    fp_text(&h, sorted[i]->slug);
    fp_int(&h, (int64_t)sorted[i]->kind);
  }
  crypto_generichash_final(&h, out, HLS_RECORD_FINGERPRINT_BYTES);
}
