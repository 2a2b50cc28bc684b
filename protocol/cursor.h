/* Cursors of the read side's listings (docs/control.md, "Pages"): where
 * the next page of items, stories or places starts. A cursor is the key
 * of the last row a page read, in the listing's order, so a walk goes on
 * after it whatever was added or removed meanwhile (keyset paging, never
 * an offset):
 *   items    origin, seq                     (origin, then seq)
 *   stories  published timestamp, origin, seq (newest first, origin, seq down)
 *   places   place sort key, origin           (name as people sort it, then node id)
 * hlsd hands it out as opaque text: base64url (no padding) of a kind byte
 * and the key, big-endian. Clients send it back as they got it; hlsd
 * parses it as untrusted input (any other text is invalid_argument). */
#ifndef HLS_CURSOR_H
#define HLS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum hls_cursor_kind { HLS_CURSOR_ITEMS = 1, HLS_CURSOR_STORIES = 2, HLS_CURSOR_PLACES = 3 };

/* A place's sort key is at most this many bytes (hlsd cuts longer ones
 * alike everywhere): a place name is at most HLS_PLACE_MAX (120) bytes,
 * and case folding grows a UTF-8 string at most threefold. */
#define HLS_CURSOR_KEY_MAX 384
/* The longest cursor text, with its NUL: a places cursor with the
 * longest key (1 + 32 + 384 bytes, base64). */
#define HLS_CURSOR_TEXT_SIZE 560

struct hls_cursor {
  int kind;              /* enum hls_cursor_kind */
  uint8_t origin[32];
  uint64_t seq;          /* items, stories: 1 .. INT64_MAX */
  int64_t timestamp_ms;  /* stories: 0 .. INT64_MAX */
  size_t key_len;        /* places: 1 .. HLS_CURSOR_KEY_MAX */
  uint8_t key[HLS_CURSOR_KEY_MAX];
};

/* c as text in out (NUL-terminated). HLS_EINVAL if c is not a cursor
 * hls_cursor_parse would accept. */
int hls_cursor_format(const struct hls_cursor *c, char out[HLS_CURSOR_TEXT_SIZE]) HLS_WARN_UNUSED;
/* Parse len bytes of text as a cursor of kind: 0, or HLS_EINVAL with why
 * ("not a cursor of this listing") for anything hls_cursor_format would
 * not write for that kind. Never reads past len. */
int hls_cursor_parse(const char *text, size_t len, int kind, struct hls_cursor *out,
                     struct hls_why *why) HLS_WARN_UNUSED;

#endif
