/* Filters (patfilter.h): what hls patterns and a feed select, parsed
 * from a request's arguments (or a feed's stored map) and matched against
 * stored pattern rows. */
#include "patfilter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#include "date.h"
#include "mp.h"
#include "record.h"


/* Place names compare as people read them, ignoring case and Unicode
 * normalisation, as hls stories --place does. */
bool hls_patfilter_name_eq(const char *a, size_t a_len, const char *b) {
  int result = 0;
  if (u8_casecmp((const uint8_t *)a, a_len, (const uint8_t *)b, strlen(b), NULL, UNINORM_NFC, &result) != 0)
    return a_len == strlen(b) && memcmp(a, b, a_len) == 0;
  return result == 0;
}

static bool theme_matches(const struct hls_patfilter *f, size_t i, const char *theme, int kind) {
  return theme != NULL && strcmp(f->themes[i], theme) == 0 && (f->theme_kinds[i] < 0 || f->theme_kinds[i] == kind);
}

/* Whether one of the '\n'-terminated lines of list is value (exactly, or
 * as a place name). */
static bool lines_have(const char *list, const char *value, bool as_name) {
  size_t len = strlen(value);
  for (const char *p = list; *p;) {
    const char *nl = strchr(p, '\n');
    if (nl == NULL) break;
    size_t l = (size_t)(nl - p);
    if (as_name ? hls_patfilter_name_eq(p, l, value) : (l == len && memcmp(p, value, len) == 0)) return true;
    p = nl + 1;
  }
  return false;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_KEY_BYTES); }

/* --vouched: enough of r's places are vouched for. */
static bool vouched_enough(const struct hls_patfilter *f, const struct hls_patrow *r) {
  if (r->origins == NULL) return false;
  int64_t n = 0;
  for (size_t i = 0; i < r->n_origins; i++)
    n += f->n_vouched_ids > 0 &&
         bsearch(r->origins + i * HLS_KEY_BYTES, f->vouched_ids, f->n_vouched_ids, HLS_KEY_BYTES, id_cmp) != NULL;
  int64_t need = r->signal >= 0 && r->signal < HLS_PAT_SIGNAL_COUNT ? f->min_places_of[r->signal] : 1;
  return n >= need && n >= f->min_places && n >= 1;
}

static bool match_but_vouched(const struct hls_patfilter *f, const struct hls_patrow *r);

void hls_patfilter_set_vouched(struct hls_patfilter *f, const uint8_t *vouched_ids, size_t n_vouched_ids,
                               const struct hls_pat_params *params) {
  f->vouched = true;
  f->vouched_ids = vouched_ids;
  f->n_vouched_ids = n_vouched_ids;
  /* A pattern must keep its signal's minimum with the vouched places alone. */
  f->min_places_of[HLS_PAT_SPREAD] = params->spread_min_places;
  f->min_places_of[HLS_PAT_EMERGING] = params->emerging_min_places;
  f->min_places_of[HLS_PAT_RISING] = params->rising_min_places;
  f->min_places_of[HLS_PAT_TOGETHER] = params->together_min_places;
  f->min_places_of[HLS_PAT_CROSS_SCALE] = params->cross_min_places;
}

enum hls_patfilter_verdict hls_patfilter_judge(const struct hls_patfilter *f, const struct hls_patrow *r) {
  if (!match_but_vouched(f, r)) return HLS_PATFILTER_NO;
  return !f->vouched || vouched_enough(f, r) ? HLS_PATFILTER_YES : HLS_PATFILTER_UNVOUCHED;
}

bool hls_patfilter_match(const struct hls_patfilter *f, const struct hls_patrow *r) {
  return hls_patfilter_judge(f, r) == HLS_PATFILTER_YES;
}

/* A strength as hls shows it (one decimal). A pattern passes a minimum
 * strength X if it is at least X, or shown at least X: one listed at 11.4
 * (11.388) passes --min-strength 11.4. */
static double strength_shown(double strength) {
  char text[32];
  snprintf(text, sizeof text, "%.1f", strength);
  return strtod(text, NULL);
}

/* Every key of f but --vouched. */
static bool match_but_vouched(const struct hls_patfilter *f, const struct hls_patrow *r) {
  if (!f->include_ended && !r->live) return false;
  if (f->signals && !(f->signals & (1u << r->signal))) return false;
  if (f->kinds && !(f->kinds & (1u << r->kind)) && !(r->theme2 && (f->kinds & (1u << r->kind2)))) return false;
  if (f->scales && !(f->scales & r->scales)) return false;
  if (r->n_places < f->min_places) return false;
  if (r->strength < f->min_strength && strength_shown(r->strength) < f->min_strength) return false;
  if (f->has_since && r->week_to < f->since) return false;
  if (f->has_until && r->week_from > f->until) return false;
  if (f->n_themes) {
    bool any = false;
    for (size_t i = 0; i < f->n_themes && !any; i++)
      any = theme_matches(f, i, r->theme, r->kind) || theme_matches(f, i, r->theme2, r->kind2);
    if (!any) return false;
  }
  if (f->n_regions) {
    bool any = false;
    for (size_t i = 0; i < f->n_regions && !any; i++)
      any = lines_have(r->regions, f->regions[i], true) ||
            hls_patfilter_name_eq(r->region, strlen(r->region), f->regions[i]); /* in any case, as places */
    if (!any) return false;
  }
  if (f->n_places) {
    bool any = false;
    for (size_t i = 0; i < f->n_places && !any; i++) any = lines_have(r->places, f->places[i], true);
    if (!any) return false;
  }
  return true;
}

/* A theme as given, before it is made a slug of at most HLS_THEME_MAX
 * bytes: the bound of methods.def's theme, so that a theme too long is
 * refused by the slug's rule alone. */
#define THEME_ARG_MAX 336

/* A filter value: a string or an array of strings. */
static int each_str(const struct hls_mp_value *args, const char *key, size_t max_len,
                    int (*fn)(void *ctx, const char *s, struct hls_why *why), void *ctx, struct hls_why *why) {
  const struct hls_mp_value *v = hls_mp_get(args, key);
  if (v == NULL || v->type == HLS_MP_NIL) return 0;
  const struct hls_mp_value *items = v;
  uint32_t n = 1;
  if (v->type == HLS_MP_ARRAY) {
    items = v->v.items;
    n = v->len;
  }
  if (n > FILTER_MAX) return hls_why_set(why, HLS_EINVAL, "%s: at most %d values", key, FILTER_MAX);
  for (uint32_t i = 0; i < n; i++) {
    if (items[i].type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", key);
    if (items[i].len == 0 || items[i].len > max_len)
      return hls_why_set(why, HLS_EINVAL, "%s: must be 1 to %zu bytes", key, max_len);
    char buf[THEME_ARG_MAX + 1]; /* the longest value of any key */
    if (max_len > THEME_ARG_MAX) return hls_why_set(why, HLS_EINTERNAL, "%s: bound over %d", key, THEME_ARG_MAX);
    memcpy(buf, items[i].v.str, items[i].len);
    buf[items[i].len] = '\0';
    if (strlen(buf) != items[i].len) return hls_why_set(why, HLS_EINVAL, "%s: contains a NUL byte", key);
    int rc = fn(ctx, buf, why);
    if (rc != 0) return rc;
  }
  return 0;
}

static int add_signal(void *ctx, const char *s, struct hls_why *why) {
  int sig;
  if (hls_pat_signal_parse(s, &sig) != 0)
    return hls_why_set(why, HLS_EINVAL, "signal: \"%s\" is not one of spread, emerging, rising, together, cross-scale", s);
  ((struct hls_patfilter *)ctx)->signals |= 1u << sig;
  return 0;
}

static int add_kind(void *ctx, const char *s, struct hls_why *why) {
  enum hls_kind k;
  int rc = hls_kind_parse(s, strlen(s), &k, why);
  if (rc != 0) return rc;
  ((struct hls_patfilter *)ctx)->kinds |= 1u << k;
  return 0;
}

static int add_scale(void *ctx, const char *s, struct hls_why *why) {
  enum hls_scale sc;
  int rc = hls_scale_parse(s, strlen(s), &sc, why);
  if (rc != 0) return rc;
  ((struct hls_patfilter *)ctx)->scales |= 1u << sc;
  return 0;
}

/* "NAME" (any kind) or "KIND:NAME". */
static int add_theme(void *ctx, const char *s, struct hls_why *why) {
  struct hls_patfilter *f = ctx;
  int kind = -1;
  const char *colon = strchr(s, ':');
  if (colon != NULL) {
    enum hls_kind k;
    struct hls_why ignore;
    if (hls_kind_parse(s, (size_t)(colon - s), &k, &ignore) == 0) {
      kind = (int)k;
      s = colon + 1;
    }
  }
  struct hls_theme t;
  int rc = hls_theme_parse(s, strlen(s), &t, why);
  if (rc != 0) return rc;
  f->theme_kinds[f->n_themes] = kind;
  snprintf(f->themes[f->n_themes++], sizeof f->themes[0], "%s", t.slug);
  return 0;
}

static int add_region(void *ctx, const char *s, struct hls_why *why) {
  struct hls_patfilter *f = ctx;
  if (strchr(s, '\n')) return hls_why_set(why, HLS_EINVAL, "region: contains a newline");
  snprintf(f->regions[f->n_regions++], sizeof f->regions[0], "%s", s);
  return 0;
}

/* A place name, or a node id (resolved to its place's name later:
 * filter_resolve_places). */
static int add_place(void *ctx, const char *s, struct hls_why *why) {
  struct hls_patfilter *f = ctx;
  if (strchr(s, '\n')) return hls_why_set(why, HLS_EINVAL, "place: contains a newline");
  snprintf(f->places[f->n_places++], sizeof f->places[0], "%s", s);
  return 0;
}

/* A week "YYYY-Www", or the week of a day "YYYY-MM-DD": a week that
 * does not exist (2026-W60; 2024-W53, as 2024 has 52) or a day that does
 * not (2024-02-30) is named as such, not taken for a wrong format. */
static int parse_week(const char *key, const char *s, uint32_t len, int32_t *week, struct hls_why *why) {
  char buf[16];
  int y, w, m, dd;
  char tail;
  if (len < sizeof buf) {
    memcpy(buf, s, len);
    buf[len] = '\0';
    bool digits = len == 8 || len == 10;
    for (size_t i = 0; digits && i < len; i++)
      digits = i == 4 || (len == 8 && i == 5) || (len == 10 && i == 7) ? true : buf[i] >= '0' && buf[i] <= '9';
    if (digits && len == 8 && sscanf(buf, "%4d-W%2d%c", &y, &w, &tail) == 2) {
      if (y < HLS_DATE_MIN_YEAR || y > HLS_DATE_MAX_YEAR)
        return hls_why_set(why, HLS_EINVAL, "%s: years %d to %d only", key, HLS_DATE_MIN_YEAR, HLS_DATE_MAX_YEAR);
      hls_day dec28 = hls_date_from_ymd(y, 12, 28); /* in the year's last ISO week */
      int yy, last;
      hls_iso_week(dec28, &yy, &last);
      if (w < 1 || w > last)
        return hls_why_set(why, HLS_EINVAL, "%s: %d has no week %d (its weeks are 1 to %d)", key, y, w, last);
      if (hls_patterns_week(y, w, week) == 0) return 0;
      return hls_why_set(why, HLS_EINVAL, "%s: %.8s is outside the weeks hlsd counts", key, buf);
    }
    if (digits && len == 10 && sscanf(buf, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) == 3) {
      hls_day d;
      if (y < HLS_DATE_MIN_YEAR || y > HLS_DATE_MAX_YEAR)
        return hls_why_set(why, HLS_EINVAL, "%s: years %d to %d only", key, HLS_DATE_MIN_YEAR, HLS_DATE_MAX_YEAR);
      if (hls_date_parse(buf, len, &d) != 0)
        return hls_why_set(why, HLS_EINVAL, "%s: %.10s is not a day of the calendar", key, buf);
      hls_iso_week(d, &y, &w);
      if (hls_patterns_week(y, w, week) == 0) return 0;
      return hls_why_set(why, HLS_EINVAL, "%s: %.10s is outside the weeks hlsd counts", key, buf);
    }
  }
  return hls_why_set(why, HLS_EINVAL, "%s: expected YYYY-MM-DD or YYYY-Www", key);
}

int hls_patfilter_arg_week(const struct hls_mp_value *args, const char *key, bool *has, int32_t *week, struct hls_why *why) {
  const char *s;
  uint32_t len;
  bool present = false;
  int rc = hls_mp_get_str(args, key, &s, &len, &present, why);
  if (rc != 0 || !present) return rc;
  if ((rc = parse_week(key, s, len, week, why)) != 0) return rc;
  *has = true;
  return 0;
}

/* A number (integer or float) argument. */
static int arg_number(const struct hls_mp_value *args, const char *key, double *out, bool *present,
                      struct hls_why *why) {
  const struct hls_mp_value *v = hls_mp_get(args, key);
  *present = false;
  if (v == NULL || v->type == HLS_MP_NIL) return 0;
  if (v->type == HLS_MP_FLOAT) *out = v->v.f;
  else if (v->type == HLS_MP_UINT) *out = (double)v->v.u;
  else if (v->type == HLS_MP_INT) *out = (double)v->v.i;
  else return hls_why_set(why, HLS_EINVAL, "%s: expected a number", key);
  if (!isfinite(*out)) return hls_why_set(why, HLS_EINVAL, "%s: expected a finite number", key);
  *present = true;
  return 0;
}

int hls_patfilter_parse(const struct hls_mp_value *args, struct hls_patfilter *f, struct hls_why *why) {
  memset(f, 0, sizeof *f);
  int rc;
  if ((rc = each_str(args, "signal", 32, add_signal, f, why)) != 0 ||
      (rc = each_str(args, "kind", 32, add_kind, f, why)) != 0 ||
      (rc = each_str(args, "scale", 32, add_scale, f, why)) != 0 ||
      (rc = each_str(args, "theme", THEME_ARG_MAX, add_theme, f, why)) != 0 ||
      (rc = each_str(args, "region", HLS_REGION_MAX, add_region, f, why)) != 0 ||
      (rc = each_str(args, "place", HLS_PLACE_MAX, add_place, f, why)) != 0 ||
      (rc = hls_patfilter_arg_week(args, "since", &f->has_since, &f->since, why)) != 0 ||
      (rc = hls_patfilter_arg_week(args, "until", &f->has_until, &f->until, why)) != 0)
    return rc;
  bool present = false;
  if ((rc = hls_mp_get_i64(args, "min_places", &f->min_places, &present, why)) != 0) return rc;
  if (present && f->min_places < 0) return hls_why_set(why, HLS_EINVAL, "min_places: must be 0 or more");
  if ((rc = arg_number(args, "min_strength", &f->min_strength, &present, why)) != 0) return rc;
  if (present && f->min_strength < 0)
    return hls_why_set(why, HLS_EINVAL, "min_strength: must be 0 or more (2 is p = 0.01)");
  return hls_mp_get_bool(args, "vouched", &f->vouched, NULL, why);
}

/* The filter's keys from args, re-packed: what a feed stores. */
static const char *const filter_keys[] = {"signal", "kind",  "scale", "theme",      "region",       "place",
                                          "since",  "until", "min_places", "min_strength", "vouched"};

/* A key given (a flag only if set). */
static bool stored(const struct hls_mp_value *v) {
  return v != NULL && v->type != HLS_MP_NIL && !(v->type == HLS_MP_BOOL && !v->v.b);
}

int hls_patfilter_pack_args(msgpack_packer *pk, const struct hls_mp_value *args) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof filter_keys / sizeof *filter_keys; i++) {
    n += stored(hls_mp_get(args, filter_keys[i]));
  }
  if (msgpack_pack_map(pk, n) != 0) return HLS_ENOMEM;
  for (size_t i = 0; i < sizeof filter_keys / sizeof *filter_keys; i++) {
    const struct hls_mp_value *v = hls_mp_get(args, filter_keys[i]);
    if (!stored(v)) continue;
    if (hls_mp_pack_cstr(pk, filter_keys[i]) != 0 || hls_mp_pack_value(pk, v) != 0) return HLS_ENOMEM;
  }
  return 0;
}

