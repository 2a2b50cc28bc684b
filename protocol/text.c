#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "hls_limits.h"

int hls_text_check(const char *s, size_t len, size_t max_bytes, bool multiline, const char *field,
                   struct hls_why *why) {
  if (len > max_bytes)
    return hls_why_set(why, HLS_ETOOBIG, "%s: %zu bytes, at most %zu allowed", field, len, max_bytes);
  const uint8_t *u = (const uint8_t *)s;
  const uint8_t *bad = u8_check(u, len);
  if (bad != NULL)
    return hls_why_set(why, HLS_EUTF8, "%s: invalid UTF-8 at byte %zu", field, (size_t)(bad - u));
  for (size_t i = 0; i < len; i++) {
    uint8_t c = u[i];
    if (c >= 0x20 && c != 0x7f) continue;
    if (multiline && (c == '\n' || c == '\t' || c == '\r')) continue;
    return hls_why_set(why, HLS_EINVAL, "%s: control character 0x%02x at byte %zu%s", field, c, i,
                       multiline             ? ""
                       : c == '\t'           ? " (a tab; no tabs here)"
                       : c == '\n' || c == '\r' ? " (a line break; no line breaks here)"
                                             : "");
  }
  /* C1 controls (U+0080..U+009F) are two bytes: C2 80..C2 9F. */
  for (size_t i = 0; i + 1 < len; i++)
    if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
      return hls_why_set(why, HLS_EINVAL, "%s: control character U+00%02X at byte %zu", field,
                         u[i + 1], i);
  return 0;
}

static bool is_apostrophe(ucs4_t c) { return c == 0x27 || c == 0x2019 || c == 0x2bc; }

int hls_theme_normalise(const char *in, size_t len, char *out, size_t out_size,
                        struct hls_why *why) {
  int rc = hls_text_check(in, len, 4 * HLS_THEME_MAX, false, "theme", why);
  if (rc != 0) return rc;
  /* Fast path for ASCII (most themes): NFC is the identity there, and the
   * letters, digits and case map are ASCII's. Same result as below. */
  bool ascii = true;
  for (size_t i = 0; i < len && ascii; i++) ascii = (unsigned char)in[i] < 0x80;
  if (ascii) {
    size_t o = 0;
    bool pending = false;
    for (size_t i = 0; i < len; i++) {
      char c = in[i];
      if (c == '\'') continue;
      if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        size_t need = 1 + (pending && o > 0 ? 1 : 0);
        if (o + need > HLS_THEME_MAX || o + need >= out_size)
          return hls_why_set(why, HLS_ETOOBIG, "theme: slug longer than %d bytes", HLS_THEME_MAX);
        if (pending && o > 0) out[o++] = '-';
        pending = false;
        out[o++] = c;
      } else {
        pending = true;
      }
    }
    if (o == 0) return hls_why_set(why, HLS_EINVAL, "theme: has no letters or digits");
    out[o] = '\0';
    return 0;
  }
  /* Case mapping after NFC: u8_tolower with NFC normalisation does both. */
  size_t lower_len = 0;
  uint8_t *lower = u8_tolower((const uint8_t *)in, len, NULL, UNINORM_NFC, NULL, &lower_len);
  if (lower == NULL) return HLS_ENOMEM;
  size_t o = 0;
  bool pending_hyphen = false;
  rc = 0;
  for (size_t i = 0; i < lower_len;) {
    ucs4_t c;
    int n = u8_mbtouc(&c, lower + i, lower_len - i);
    if (n <= 0) {
      rc = hls_why_set(why, HLS_EUTF8, "theme: invalid UTF-8");
      break;
    }
    if (is_apostrophe(c)) {
      i += (size_t)n;
      continue;
    }
    if (uc_is_alnum(c) || uc_is_general_category(c, UC_CATEGORY_M)) {
      /* Combining marks stay with their letter (scripts like Devanagari). */
      size_t need = (size_t)n + (pending_hyphen && o > 0 ? 1 : 0);
      if (o + need > HLS_THEME_MAX || o + need >= out_size) {
        rc = hls_why_set(why, HLS_ETOOBIG, "theme: slug longer than %d bytes", HLS_THEME_MAX);
        break;
      }
      if (pending_hyphen && o > 0) out[o++] = '-';
      pending_hyphen = false;
      memcpy(out + o, lower + i, (size_t)n);
      o += (size_t)n;
    } else {
      pending_hyphen = true;
    }
    i += (size_t)n;
  }
  free(lower);
  if (rc != 0) return rc;
  if (o == 0) return hls_why_set(why, HLS_EINVAL, "theme: has no letters or digits");
  out[o] = '\0';
  return 0;
}

static bool slug_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool hls_theme_is_slug(const char *s) {
  char buf[HLS_THEME_MAX + 1];
  size_t len = strlen(s);
  /* Fast path (every slug a digest carries is checked here): ASCII
   * letters and digits in runs joined by single hyphens are what
   * normalising gives back unchanged. */
  if (len > 0 && len <= HLS_THEME_MAX && slug_char(s[0]) && slug_char(s[len - 1])) {
    bool plain = true;
    for (size_t i = 1; i < len && plain; i++) plain = slug_char(s[i]) || (s[i] == '-' && s[i - 1] != '-');
    if (plain) return true;
  }
  if (hls_theme_normalise(s, len, buf, sizeof buf, NULL) != 0) return false;
  return strcmp(buf, s) == 0;
}

void hls_text_sanitize(char *s) {
  uint8_t *u = (uint8_t *)s;
  size_t len = strlen(s);
  for (size_t i = 0; i < len;) {
    ucs4_t c;
    int n = u8_mbtoucr(&c, u + i, len - i);
    if (n < 0) {
      u[i++] = '?';
      continue;
    }
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      for (int k = 0; k < n; k++) u[i + k] = '?';
    }
    i += (size_t)n;
  }
}
