#include "boxstream.h"

#include <sodium.h>
#include <string.h>

/* Big-endian: the last byte counts fastest, as npm increment-buffer. */
static void nonce_increment(uint8_t n[24]) {
  for (int i = 23; i >= 0; i--)
    if (++n[i] != 0) break;
}

void hls_box_init(struct hls_box *b, const uint8_t key[32], const uint8_t nonce[24]) {
  memcpy(b->key, key, 32);
  memcpy(b->nonce, nonce, 24);
}

void hls_box_wipe(struct hls_box *b) { sodium_memzero(b, sizeof *b); }

size_t hls_box_sealed_size(size_t len) {
  size_t messages = (len + HLS_BOX_MAX_BODY - 1) / HLS_BOX_MAX_BODY;
  return len + messages * HLS_BOX_HEADER;
}

int hls_box_seal(struct hls_box *b, const uint8_t *plain, size_t len, uint8_t *out) {
  if (len == 0 || len > HLS_BOX_MAX_BODY) return HLS_EINVAL;
  uint8_t body_nonce[24], header[2 + HLS_BOX_MAC];
  memcpy(body_nonce, b->nonce, 24);
  nonce_increment(body_nonce);
  /* Body: ciphertext to its place after the header, MAC into the header. */
  crypto_secretbox_detached(out + HLS_BOX_HEADER, header + 2, plain, len, body_nonce, b->key);
  header[0] = (uint8_t)(len >> 8);
  header[1] = (uint8_t)len;
  crypto_secretbox_easy(out, header, sizeof header, b->nonce, b->key);
  nonce_increment(b->nonce);
  nonce_increment(b->nonce);
  return 0;
}

void hls_box_goodbye(struct hls_box *b, uint8_t out[HLS_BOX_HEADER]) {
  static const uint8_t zeros[2 + HLS_BOX_MAC];
  crypto_secretbox_easy(out, zeros, sizeof zeros, b->nonce, b->key);
}

void hls_box_reader_init(struct hls_box_reader *r, const uint8_t key[32], const uint8_t nonce[24]) {
  memset(r, 0, sizeof *r);
  hls_box_init(&r->box, key, nonce);
}

void hls_box_reader_wipe(struct hls_box_reader *r) { sodium_memzero(r, sizeof *r); }

static bool all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

int hls_box_reader_feed(struct hls_box_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                        hls_box_body_fn on_body, void *ctx) {
  size_t off = 0;
  *consumed = 0;
  if (r->ended) return len == 0 ? 0 : HLS_ECLOSED;
  while (off < len) {
    size_t want = r->in_body ? r->body_len : HLS_BOX_HEADER;
    const uint8_t *msg; /* the whole header box, or the whole body */
    if (r->have == 0 && len - off >= want) {
      msg = in + off; /* all here: open it where it lies */
      off += want;
    } else {
      size_t take = want - r->have < len - off ? want - r->have : len - off;
      memcpy(r->buf + r->have, in + off, take);
      r->have += take;
      off += take;
      if (r->have < want) {
        *consumed = off;
        break;
      }
      r->have = 0;
      msg = r->buf;
    }
    *consumed = off;
    if (!r->in_body) {
      uint8_t header[2 + HLS_BOX_MAC];
      if (crypto_secretbox_open_easy(header, msg, HLS_BOX_HEADER, r->box.nonce, r->box.key) != 0)
        return HLS_EBADSIG;
      if (all_zero(header, sizeof header)) {
        r->ended = true;
        return 0;
      }
      r->body_len = ((size_t)header[0] << 8) | header[1];
      if (r->body_len == 0 || r->body_len > HLS_BOX_MAX_BODY) return HLS_EMALFORMED;
      memcpy(r->mac, header + 2, HLS_BOX_MAC);
      nonce_increment(r->box.nonce);
      r->in_body = true;
    } else {
      /* Into buf (in place when the body was assembled there). */
      if (crypto_secretbox_open_detached(r->buf, msg, r->mac, r->body_len, r->box.nonce, r->box.key) != 0)
        return HLS_EBADSIG;
      nonce_increment(r->box.nonce);
      r->in_body = false;
      int rc = on_body ? on_body(ctx, r->buf, r->body_len) : 0;
      if (rc != 0) return rc;
    }
  }
  return 0;
}
