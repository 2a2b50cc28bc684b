/* The frame reader of protocol/wire.h (hls_frame_reader_feed): the
 * plaintext of a box stream cut into frames, whatever the chunking.
 *
 * Input: [max][split][stream...]. The reader's limit is 1 + max * 2 bytes
 * (so lengths over it are easy to reach); split picks the chunk sizes and
 * the frame after which the callback asks to stop.
 *
 * Beyond memory safety, checks:
 *  - every frame delivered is the next [length][payload] of the input, in
 *    order: the frames laid end to end are a prefix of the stream;
 *  - fed whole or in chunks, the reader delivers the same frames and ends
 *    with the same result;
 *  - errors are HLS_EMALFORMED exactly for a zero length and HLS_ETOOBIG
 *    exactly for a length over the limit, found right after the frames
 *    delivered; a stop asked by the callback is returned as is;
 *  - without an error, every byte is accounted for: delivered frames plus
 *    what the reader holds of an unfinished one. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

struct seen {
  uint8_t *out; /* frames laid end to end, length headers included */
  size_t len, cap;
  int frames, stop_after; /* stop_after < 0: never */
};

static int on_frame(void *ctx, const uint8_t *payload, size_t len) {
  struct seen *s = ctx;
  FUZZ_CHECK(len > 0 && s->len + HLS_WIRE_HEADER + len <= s->cap);
  uint8_t *h = s->out + s->len;
  h[0] = (uint8_t)(len >> 24);
  h[1] = (uint8_t)(len >> 16);
  h[2] = (uint8_t)(len >> 8);
  h[3] = (uint8_t)len;
  memcpy(h + HLS_WIRE_HEADER, payload, len);
  s->len += HLS_WIRE_HEADER + len;
  return ++s->frames == s->stop_after ? 1 : 0;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Feed stream in chunks (chunk 0: whole); returns the result and fills s. */
static int feed(const uint8_t *stream, size_t len, size_t max, uint8_t split, bool chunked, struct seen *s,
                size_t *held) {
  struct hls_frame_reader r;
  struct hls_why why;
  hls_frame_reader_init(&r, max);
  int rc = 0;
  size_t off = 0;
  for (unsigned i = 0; off < len && rc == 0; i++) {
    size_t n = chunked ? 1 + (size_t)((split + i * 7u) % 13u) : len;
    if (n > len - off) n = len - off;
    memset(&why, 'x', sizeof why);
    rc = hls_frame_reader_feed(&r, stream + off, n, on_frame, s, &why);
    if (rc != 0 && rc != 1) FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL);
    off += n;
  }
  *held = r.hdr_have < HLS_WIRE_HEADER ? r.hdr_have : HLS_WIRE_HEADER + r.have;
  hls_frame_reader_free(&r);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t max = 1 + (size_t)data[0] * 2;
  uint8_t split = data[1];
  const uint8_t *stream = data + 2;
  size_t len = size - 2;
  int stop_after = split & 0x80 ? (split & 0x07) + 1 : -1;

  static uint8_t out_whole[1 << 20], out_chunked[1 << 20];
  if (len > sizeof out_whole) return 0;
  struct seen whole = {.out = out_whole, .cap = sizeof out_whole, .stop_after = stop_after};
  struct seen chunked = {.out = out_chunked, .cap = sizeof out_chunked, .stop_after = stop_after};
  size_t held_whole, held_chunked;
  int rc = feed(stream, len, max, split, false, &whole, &held_whole);
  int rc_chunked = feed(stream, len, max, split, true, &chunked, &held_chunked);

  /* The same frames and the same end, however the bytes came. */
  FUZZ_CHECK(rc == rc_chunked);
  FUZZ_CHECK(whole.frames == chunked.frames && whole.len == chunked.len);
  FUZZ_CHECK(memcmp(out_whole, out_chunked, whole.len) == 0);
  /* The frames are the stream's own, in order. */
  FUZZ_CHECK(whole.len <= len && memcmp(out_whole, stream, whole.len) == 0);

  const uint8_t *next = stream + whole.len;
  size_t left = len - whole.len;
  if (rc == 0) {
    FUZZ_CHECK(whole.len + held_whole == len && held_whole == held_chunked);
    if (left >= HLS_WIRE_HEADER) FUZZ_CHECK(be32(next) > 0 && be32(next) <= max && left < HLS_WIRE_HEADER + be32(next));
  } else if (rc == 1) {
    FUZZ_CHECK(whole.frames == stop_after);
  } else if (rc == HLS_EMALFORMED) {
    FUZZ_CHECK(left >= HLS_WIRE_HEADER && be32(next) == 0);
  } else {
    FUZZ_CHECK(rc == HLS_ETOOBIG && left >= HLS_WIRE_HEADER && be32(next) > max);
  }
  return 0;
}
