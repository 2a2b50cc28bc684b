#include "disclosure.h"

#include <sodium.h>
#include <string.h>

uint32_t hls_round_to(uint32_t n, uint32_t base) {
  if (base <= 1) return n;
  uint64_t r = ((uint64_t)n + base / 2) / base * base;
  return r > UINT32_MAX ? UINT32_MAX / base * base : (uint32_t)r;
}

void hls_disclose(const struct hls_digest_method *m, int scale, uint32_t raw, uint32_t offset, bool *withheld,
                  uint32_t *published) {
  *withheld = false;
  *published = raw;
  if (scale != HLS_SCALE_PERSON) return;
  if (m->kind == HLS_SDC_KEYED) {
    uint64_t r = m->rounding > 1 ? m->rounding : 1;
    uint64_t u = (uint64_t)raw + (offset < r ? offset : 0);
    if (u + 1 < (uint64_t)m->threshold + r) {
      *withheld = true;
      *published = 0;
      return;
    }
    uint64_t p = u / r * r;
    *published = p > UINT32_MAX ? (uint32_t)(UINT32_MAX / r * r) : (uint32_t)p;
    return;
  }
  if (raw < m->threshold) {
    *withheld = true;
    *published = 0;
    return;
  }
  *published = hls_round_to(raw, m->rounding);
}

void hls_disclosure_bounds(const struct hls_digest_method *m, int scale, bool withheld, uint32_t count, uint32_t *lo,
                           uint32_t *hi) {
  uint64_t t = m->threshold, r = m->rounding > 1 ? m->rounding : 1;
  uint64_t l, h;
  if (withheld) {
    /* Present, value unknown, at any scale (hlsd withholds only person
     * cells, but a receiver takes what the digest says). */
    uint64_t top = m->kind == HLS_SDC_KEYED ? t + r - 1 : t; /* withheld below top */
    h = top > 1 ? top - 1 : 1;
    l = 1;
  } else if (scale != HLS_SCALE_PERSON || r == 1) {
    l = h = count;
  } else if (m->kind == HLS_SDC_KEYED) {
    /* u = raw + offset in [count, count + r - 1], offset in [0, r - 1]. */
    l = count >= r - 1 ? count - (r - 1) : 0;
    h = (uint64_t)count + r - 1;
  } else {
    uint64_t down = r / 2, up = r - r / 2; /* floor(r/2), ceil(r/2) */
    l = count >= down ? count - down : 0;
    h = (uint64_t)count + up - 1;
  }
  if (!withheld && scale == HLS_SCALE_PERSON && l < t) l = t;
  if (l < 1 && withheld) l = 1;
  if (h < l) h = l;
  *lo = l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
  *hi = h > UINT32_MAX ? UINT32_MAX : (uint32_t)h;
}

void hls_disclosure_key(const uint8_t seed[32], uint8_t key[HLS_DISCLOSURE_KEY_BYTES]) {
  static const char label[] = "hls-sdc-2 key";
  crypto_generichash(key, HLS_DISCLOSURE_KEY_BYTES, (const unsigned char *)label, sizeof label - 1, seed, 32);
}

uint32_t hls_disclosure_offset(const uint8_t key[HLS_DISCLOSURE_KEY_BYTES], int iso_year, int iso_week,
                               const char *theme, int kind, int scale, int stage, uint32_t rounding) {
  if (rounding <= 1) return 0;
  size_t theme_len = strlen(theme);
  if (theme_len > HLS_THEME_MAX) theme_len = HLS_THEME_MAX;
  uint8_t msg[6 + HLS_THEME_MAX];
  msg[0] = (uint8_t)((unsigned)iso_year >> 8);
  msg[1] = (uint8_t)iso_year;
  msg[2] = (uint8_t)iso_week;
  msg[3] = (uint8_t)kind;
  msg[4] = (uint8_t)scale;
  msg[5] = (uint8_t)stage;
  memcpy(msg + 6, theme, theme_len);
  uint8_t h[8];
  crypto_generichash(h, sizeof h, msg, 6 + theme_len, key, HLS_DISCLOSURE_KEY_BYTES);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | h[i];
  return (uint32_t)(v % rounding);
}
