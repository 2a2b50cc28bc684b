/* A pattern summary (as hlsd sends it) in words, for hls patterns and
 * hls feed (patview.h). */
#include "patview.h"

#include <math.h>
#include <stdio.h>

#include "hls_limits.h"
#include "out.h"
#include "patfmt.h"

double hls_patview_num(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL) return NAN;
  if (v->type == HLS_MP_FLOAT) return v->v.f;
  if (v->type == HLS_MP_UINT) return (double)v->v.u;
  if (v->type == HLS_MP_INT) return (double)v->v.i;
  return NAN;
}

bool hls_patview_flag(const struct hls_mp_value *m, const char *key) {
  return hls_out_bool(m, key);
}

/* "problem:housing" (or "housing" without kinds), "A + B" for together. */
void hls_patview_theme_kinds(const struct hls_mp_value *p, bool kinds, char *out, size_t size) {
  char t1[HLS_THEME_MAX + 1], k1[16], t2[HLS_THEME_MAX + 1], k2[16];
  hls_out_str(p, "theme", t1, sizeof t1);
  hls_out_str(p, "kind", k1, sizeof k1);
  hls_out_str(p, "kind2", k2, sizeof k2);
  bool two = hls_out_str(p, "theme2", t2, sizeof t2)[0] != '\0';
  if (two && kinds) snprintf(out, size, "%s:%s + %s:%s", k1, t1, k2, t2);
  else if (two) snprintf(out, size, "%s + %s", t1, t2);
  else if (kinds) snprintf(out, size, "%s:%s", k1, t1);
  else snprintf(out, size, "%s", t1);
}

void hls_patview_theme(const struct hls_mp_value *p, char *out, size_t size) { hls_patview_theme_kinds(p, true, out, size); }

void hls_patview_weeks(const struct hls_mp_value *p, char *out, size_t size) {
  char from[16], to[16];
  hls_patfmt_weeks(hls_out_str(p, "from", from, sizeof from), hls_out_str(p, "to", to, sizeof to), out, size);
}

void hls_patview_places(const struct hls_mp_value *p, char *out, size_t size, size_t max_names) {
  const struct hls_mp_value *places = hls_mp_get(p, "places");
  out[0] = '\0';
  if (places == NULL || places->type != HLS_MP_ARRAY) return;
  size_t len = 0;
  for (uint32_t i = 0; i < places->len && i < max_names; i++) {
    const struct hls_mp_value *v = &places->v.items[i];
    if (v->type != HLS_MP_STR) continue;
    int w = snprintf(out + len, size - len, "%s%.*s", i ? ", " : "", (int)v->len, v->v.str);
    if (w < 0 || (size_t)w >= size - len) return;
    len += (size_t)w;
  }
  if (places->len > max_names) snprintf(out + len, size - len, " and %u more", places->len - (unsigned)max_names);
}

