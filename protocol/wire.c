#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "mp.h"

size_t hls_frame_begin(msgpack_sbuffer *out) {
  static const char zero[HLS_WIRE_HEADER];
  size_t offset = out->size;
  msgpack_sbuffer_write(out, zero, sizeof zero);
  return offset;
}

int hls_frame_end(msgpack_sbuffer *out, size_t offset, size_t max) {
  if (out->size < offset + HLS_WIRE_HEADER) return HLS_ENOMEM;
  size_t n = out->size - offset - HLS_WIRE_HEADER;
  if (n == 0 || n > max || n > UINT32_MAX) return HLS_ETOOBIG;
  uint8_t *h = (uint8_t *)out->data + offset;
  h[0] = (uint8_t)(n >> 24);
  h[1] = (uint8_t)(n >> 16);
  h[2] = (uint8_t)(n >> 8);
  h[3] = (uint8_t)n;
  return 0;
}

int hls_frame_type(const uint8_t *payload, size_t len, int *type) {
  struct hls_mp_reader r;
  uint32_t n;
  uint64_t t;
  hls_mp_reader_init(&r, payload, len, true);
  if (hls_mp_read_array(&r, &n) != 0 || n == 0 || hls_mp_read_uint(&r, &t) != 0 || t > 255) return HLS_EMALFORMED;
  *type = (int)t;
  return 0;
}

int hls_frame_hello(msgpack_sbuffer *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 2) != 0 || msgpack_pack_uint32(&pk, HLS_FRAME_HELLO) != 0 ||
      msgpack_pack_uint32(&pk, HLS_WIRE_VERSION) != 0)
    return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_ping(msgpack_sbuffer *out, int type, const uint8_t *data, size_t len) {
  if ((type != HLS_FRAME_PING && type != HLS_FRAME_PONG) || len > HLS_WIRE_MAX_PING) return HLS_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 2) != 0 || msgpack_pack_uint32(&pk, (uint32_t)type) != 0 ||
      msgpack_pack_bin(&pk, len) != 0 || (len > 0 && msgpack_pack_bin_body(&pk, data, len) != 0))
    return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_hello_decode(const uint8_t *payload, size_t len, uint32_t *version, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n;
  uint64_t t, v;
  hls_mp_reader_init(&r, payload, len, true);
  if (hls_mp_read_array(&r, &n) != 0 || n < 2 || hls_mp_read_uint(&r, &t) != 0 || t != HLS_FRAME_HELLO ||
      hls_mp_read_uint(&r, &v) != 0 || v == 0 || v > UINT32_MAX)
    return hls_why_set(why, HLS_EMALFORMED, "hello: expected [0, version >= 1, ...]");
  /* Later versions may add elements: skip them (but they must still be
   * canonical msgpack). */
  for (uint32_t i = 2; i < n; i++)
    if (hls_mp_skip(&r) != 0) return hls_why_set(why, HLS_EMALFORMED, "hello: bad element");
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "hello: trailing bytes");
  *version = (uint32_t)v;
  return 0;
}

int hls_frame_ping_decode(const uint8_t *payload, size_t len, const uint8_t **data, size_t *data_len,
                          struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n, blen;
  uint64_t t;
  hls_mp_reader_init(&r, payload, len, true);
  if (hls_mp_read_array(&r, &n) != 0 || n != 2 || hls_mp_read_uint(&r, &t) != 0 ||
      (t != HLS_FRAME_PING && t != HLS_FRAME_PONG) || hls_mp_read_bin(&r, data, &blen) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "ping: expected [1|2, bytes]");
  if (blen > HLS_WIRE_MAX_PING) return hls_why_set(why, HLS_ETOOBIG, "ping: more than %d bytes", HLS_WIRE_MAX_PING);
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "ping: trailing bytes");
  *data_len = blen;
  return 0;
}

/* --- the frame reader --------------------------------------------------------------- */

void hls_frame_reader_init(struct hls_frame_reader *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max;
}

void hls_frame_reader_free(struct hls_frame_reader *r) {
  free(r->buf);
  memset(r, 0, sizeof *r);
}

int hls_frame_reader_feed(struct hls_frame_reader *r, const uint8_t *in, size_t len, hls_frame_fn fn, void *ctx,
                          struct hls_why *why) {
  size_t off = 0;
  while (off < len) {
    if (r->hdr_have < HLS_WIRE_HEADER) {
      size_t take = HLS_WIRE_HEADER - r->hdr_have < len - off ? HLS_WIRE_HEADER - r->hdr_have : len - off;
      memcpy(r->hdr + r->hdr_have, in + off, take);
      r->hdr_have += take;
      off += take;
      if (r->hdr_have < HLS_WIRE_HEADER) break;
      r->len = ((size_t)r->hdr[0] << 24) | ((size_t)r->hdr[1] << 16) | ((size_t)r->hdr[2] << 8) | r->hdr[3];
      r->have = 0;
      if (r->len == 0) return hls_why_set(why, HLS_EMALFORMED, "frame of length 0");
      if (r->len > r->max)
        return hls_why_set(why, HLS_ETOOBIG, "frame of %zu bytes, over the limit of %zu", r->len, r->max);
      /* Grow only as far as this frame needs, and check before allocating. */
      uint8_t *p = realloc(r->buf, r->len);
      if (p == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory for a frame of %zu bytes", r->len);
      r->buf = p;
      continue;
    }
    size_t take = r->len - r->have < len - off ? r->len - r->have : len - off;
    memcpy(r->buf + r->have, in + off, take);
    r->have += take;
    off += take;
    if (r->have == r->len) {
      r->hdr_have = 0;
      int rc = fn(ctx, r->buf, r->len);
      if (r->len > 65536) { /* do not keep a large buffer around */
        free(r->buf);
        r->buf = NULL;
      }
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int hls_frame_netkey(msgpack_sbuffer *out, uint64_t epoch, const uint8_t key[32]) {
  if (epoch == 0 || epoch > INT64_MAX) return HLS_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_uint32(&pk, HLS_FRAME_NETKEY) != 0 ||
      msgpack_pack_uint64(&pk, epoch) != 0 || msgpack_pack_bin(&pk, 32) != 0 || msgpack_pack_bin_body(&pk, key, 32) != 0)
    return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_netkey_decode(const uint8_t *payload, size_t len, uint64_t *epoch, uint8_t key[32],
                            struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n, klen;
  uint64_t t, e;
  const uint8_t *k;
  hls_mp_reader_init(&r, payload, len, true);
  if (hls_mp_read_array(&r, &n) != 0 || n != 3 || hls_mp_read_uint(&r, &t) != 0 || t != HLS_FRAME_NETKEY ||
      hls_mp_read_uint(&r, &e) != 0 || e == 0 || e > INT64_MAX || hls_mp_read_bin(&r, &k, &klen) != 0 || klen != 32)
    return hls_why_set(why, HLS_EMALFORMED, "netkey: expected [10, epoch >= 1, key (32 bytes)]");
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "netkey: trailing bytes");
  *epoch = e;
  memcpy(key, k, 32);
  return 0;
}
