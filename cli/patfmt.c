#include "patfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>
#include <uniwidth.h>

/* The columns on screen of the character at s[*o] (of len bytes): a
 * wide one 2, a combining one 0, a control character or a byte that is
 * not UTF-8 1; *o moves past it. */
static size_t char_width(const char *s, size_t len, size_t *o) {
  ucs4_t c;
  int n = u8_mbtouc(&c, (const uint8_t *)s + *o, len - *o);
  int cw = uc_width(c, "UTF-8");
  *o += n > 0 ? (size_t)n : 1;
  return cw < 0 ? 1 : (size_t)cw;
}

size_t hls_patfmt_width(const char *s) {
  size_t len = strlen(s), o = 0, w = 0;
  while (o < len) w += char_width(s, len, &o);
  return w;
}

char *hls_patfmt_cut(const char *s, size_t max) {
  if (hls_patfmt_width(s) <= max) return strdup(s);
  size_t len = strlen(s), o = 0, w = 0;
  char *out = malloc(len + 4);
  if (out == NULL) return NULL;
  while (o < len) {
    size_t next = o, char_w = char_width(s, len, &next);
    if (w + char_w + 1 > max) break; /* the ellipsis takes one column */
    w += char_w;
    o = next;
  }
  memcpy(out, s, o);
  memcpy(out + o, "\xe2\x80\xa6", 4); /* U+2026 */
  return out;
}

static bool iso_week(const char *s, int *year, int *week) {
  int len = 0;
  return strlen(s) == 8 && sscanf(s, "%4d-W%2d%n", year, week, &len) == 2 && len == 8;
}

void hls_patfmt_weeks(const char *from, const char *to, char *out, size_t size) {
  int y1, w1, y2, w2;
  if (!iso_week(from, &y1, &w1) || !iso_week(to, &y2, &w2)) snprintf(out, size, "%s..%s", from, to);
  else if (y1 == y2 && w1 == w2) snprintf(out, size, "%s", from);
  else if (y1 == y2) snprintf(out, size, "%s..W%02d", from, w2);
  else snprintf(out, size, "%s..%s", from, to);
}

#define STRENGTH_FLOOR 300.0 /* -log10 of the engine's smallest p */

void hls_patfmt_strength(double strength, char *out, size_t size) {
  if (!isfinite(strength) || strength >= STRENGTH_FLOOR) snprintf(out, size, ">=300");
  else snprintf(out, size, "%.1f", strength < 0 ? 0.0 : strength);
}

void hls_patfmt_p(double p, char *out, size_t size) {
  if (!isfinite(p)) snprintf(out, size, "?");
  else if (p <= 1e-300) snprintf(out, size, "<1e-300");
  else if (p >= 0.001) snprintf(out, size, "%.2g", p);
  else snprintf(out, size, "%.1e", p);
}

void hls_patfmt_bar(double lo, double hi, double max, size_t width, char *out, size_t size) {
  if (size == 0) return;
  out[0] = '\0';
  if (!(max > 0) || width == 0) return;
  if (hi < lo) hi = lo;
  size_t a = (size_t)llround(lo / max * (double)width), b = (size_t)llround(hi / max * (double)width);
  if (a > width) a = width;
  if (b > width) b = width;
  if (lo > 0 && a == 0) a = 1;
  if (hi > 0 && b == 0) b = 1;
  if (b < a) b = a;
  size_t n = 0;
  for (; n < a && n + 1 < size; n++) out[n] = '#';
  for (; n < b && n + 1 < size; n++) out[n] = '+';
  out[n] = '\0';
}

void hls_patfmt_by_signal(const char *const *names, const int64_t *counts, size_t n, char *out, size_t size) {
  size_t len = 0;
  if (size == 0) return;
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (counts[i] == 0) continue;
    int w = snprintf(out + len, size - len, "%s%s %lld", len ? ", " : "", names[i], (long long)counts[i]);
    if (w < 0 || (size_t)w >= size - len) return;
    len += (size_t)w;
  }
  if (len == 0) snprintf(out, size, "none");
}

size_t hls_patfmt_wrap(const char *text, const char *indent, size_t width, char *out, size_t size) {
  size_t len = 0, indent_w = hls_patfmt_width(indent), line_w = 0;
  bool line_open = false;
  if (size == 0) return 0;
  out[0] = '\0';
#define PUT(s, n)                                                                                               \
  do {                                                                                                          \
    size_t n_ = (n);                                                                                            \
    if (len + n_ >= size) n_ = size - 1 - len;                                                                  \
    memcpy(out + len, (s), n_);                                                                                 \
    len += n_;                                                                                                  \
    out[len] = '\0';                                                                                            \
  } while (0)
  const char *p = text;
  for (;;) {
    while (*p == ' ') p++;
    if (*p == '\0') break;
    size_t wl = strcspn(p, " ");
    char word[1024];
    size_t take = wl < sizeof word - 1 ? wl : sizeof word - 1;
    memcpy(word, p, take);
    word[take] = '\0';
    size_t ww = hls_patfmt_width(word);
    if (line_open && width > 0 && line_w + 1 + ww > width) {
      PUT("\n", 1);
      line_open = false;
    }
    if (!line_open) {
      PUT(indent, strlen(indent));
      line_w = indent_w;
      line_open = true;
    } else {
      PUT(" ", 1);
      line_w++;
    }
    PUT(p, wl);
    line_w += ww;
    p += wl;
  }
  if (line_open) PUT("\n", 1);
#undef PUT
  return len;
}

size_t hls_patfmt_fit(const size_t *natural, const size_t *min, size_t n, size_t sep, size_t total, size_t *out) {
  size_t sum = n ? sep * (n - 1) : 0;
  for (size_t i = 0; i < n; i++) {
    out[i] = natural[i];
    sum += natural[i];
  }
  while (total > 0 && sum > total) {
    size_t widest = n;
    for (size_t i = 0; i < n; i++)
      if (out[i] > min[i] && (widest == n || out[i] > out[widest])) widest = i;
    if (widest == n) break; /* every column at its least */
    out[widest]--;
    sum--;
  }
  return sum;
}
