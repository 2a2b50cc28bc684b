#include "cursor.h"

#include <sodium.h>
#include <string.h>

/* Binary forms (before base64url):
 *   items    1, origin[32], seq u64
 *   stories  2, timestamp_ms u64, origin[32], seq u64
 *   places   3, origin[32], key[1..HLS_CURSOR_KEY_MAX] */
#define ITEMS_BYTES (1 + 32 + 8)
#define STORIES_BYTES (1 + 8 + 32 + 8)
#define PLACES_MIN_BYTES (1 + 32 + 1)
#define MAX_BYTES (1 + 32 + HLS_CURSOR_KEY_MAX)

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static bool valid(const struct hls_cursor *c) {
  switch (c->kind) {
    case HLS_CURSOR_ITEMS: return c->seq >= 1 && c->seq <= (uint64_t)INT64_MAX;
    case HLS_CURSOR_STORIES: return c->seq >= 1 && c->seq <= (uint64_t)INT64_MAX && c->timestamp_ms >= 0;
    case HLS_CURSOR_PLACES: return c->key_len >= 1 && c->key_len <= HLS_CURSOR_KEY_MAX;
    default: return false;
  }
}

int hls_cursor_format(const struct hls_cursor *c, char out[HLS_CURSOR_TEXT_SIZE]) {
  uint8_t bin[MAX_BYTES];
  size_t n = 0;
  out[0] = '\0';
  if (!valid(c)) return HLS_EINVAL;
  bin[n++] = (uint8_t)c->kind;
  if (c->kind == HLS_CURSOR_STORIES) {
    put_u64(bin + n, (uint64_t)c->timestamp_ms);
    n += 8;
  }
  memcpy(bin + n, c->origin, 32);
  n += 32;
  if (c->kind == HLS_CURSOR_PLACES) {
    memcpy(bin + n, c->key, c->key_len);
    n += c->key_len;
  } else {
    put_u64(bin + n, c->seq);
    n += 8;
  }
  sodium_bin2base64(out, HLS_CURSOR_TEXT_SIZE, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return 0;
}

static int refuse(struct hls_why *why) {
  return hls_why_set(why, HLS_EINVAL, "not a cursor of this listing (give the 'next' of the page before, unchanged)");
}

int hls_cursor_parse(const char *text, size_t len, int kind, struct hls_cursor *out, struct hls_why *why) {
  uint8_t bin[MAX_BYTES];
  size_t n = 0;
  struct hls_cursor c;
  memset(out, 0, sizeof *out);
  memset(&c, 0, sizeof c);
  /* Text longer than MAX_BYTES' base64 cannot be a cursor; no need to
   * decode it. */
  if (len == 0 || len >= sodium_base64_ENCODED_LEN(MAX_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    return refuse(why);
  /* b64_end NULL: every character must be of the alphabet; libsodium
   * also refuses leftover bits that are not zero, so one key has one
   * text. */
  if (sodium_base642bin(bin, sizeof bin, text, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return refuse(why);
  if (n < 1 || bin[0] != kind) return refuse(why);
  c.kind = kind;
  switch (kind) {
    case HLS_CURSOR_ITEMS:
      if (n != ITEMS_BYTES) return refuse(why);
      memcpy(c.origin, bin + 1, 32);
      c.seq = get_u64(bin + 33);
      break;
    case HLS_CURSOR_STORIES: {
      if (n != STORIES_BYTES) return refuse(why);
      uint64_t ts = get_u64(bin + 1);
      if (ts > (uint64_t)INT64_MAX) return refuse(why);
      c.timestamp_ms = (int64_t)ts;
      memcpy(c.origin, bin + 9, 32);
      c.seq = get_u64(bin + 41);
      break;
    }
    case HLS_CURSOR_PLACES:
      if (n < PLACES_MIN_BYTES) return refuse(why);
      memcpy(c.origin, bin + 1, 32);
      c.key_len = n - 33;
      memcpy(c.key, bin + 33, c.key_len);
      break;
    default: return refuse(why);
  }
  if (!valid(&c)) return refuse(why);
  *out = c;
  return 0;
}
