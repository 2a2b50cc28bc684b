#include "disclosure.h"

uint32_t hls_round_to(uint32_t n, uint32_t base) {
  if (base <= 1) return n;
  uint64_t r = ((uint64_t)n + base / 2) / base * base;
  return r > UINT32_MAX ? UINT32_MAX / base * base : (uint32_t)r;
}

void hls_disclose(const struct hls_digest_method *m, int scale, uint32_t raw, bool *withheld, uint32_t *published) {
  *withheld = false;
  *published = raw;
  if (scale != HLS_SCALE_PERSON) return;
  if (raw < m->threshold) {
    *withheld = true;
    *published = 0;
    return;
  }
  *published = hls_round_to(raw, m->rounding);
}
