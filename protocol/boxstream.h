/* Box stream: the encrypted framing after a Secret Handshake, as in the
 * Scuttlebutt Protocol Guide and npm pull-box-stream (docs/protocol.md
 * section 6). Each message is a 34-byte header box (body length, 2 bytes
 * big-endian, and the body's 16-byte MAC) under nonce n, then the body
 * (1 to 4096 bytes) encrypted under n+1 without its MAC; the next message
 * uses n+2. A header box of 18 zero bytes is the goodbye. Nonces are
 * 24-byte big-endian counters. Pure code. */
#ifndef HLS_BOXSTREAM_H
#define HLS_BOXSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HLS_BOX_HEADER 34
#define HLS_BOX_MAX_BODY 4096
#define HLS_BOX_MAC 16

struct hls_box {
  uint8_t key[32];
  uint8_t nonce[24];
};

void hls_box_init(struct hls_box *b, const uint8_t key[32], const uint8_t nonce[24]);
void hls_box_wipe(struct hls_box *b);

/* Seal len bytes (1..HLS_BOX_MAX_BODY) into out, which receives
 * HLS_BOX_HEADER + len bytes. */
int hls_box_seal(struct hls_box *b, const uint8_t *plain, size_t len, uint8_t *out) HLS_WARN_UNUSED;
/* The goodbye header (HLS_BOX_HEADER bytes). */
void hls_box_goodbye(struct hls_box *b, uint8_t out[HLS_BOX_HEADER]);
/* Bytes needed to seal len bytes of application data in as many messages
 * as it takes. */
size_t hls_box_sealed_size(size_t len);

/* The receiving side, fed bytes as they arrive. */
struct hls_box_reader {
  struct hls_box box;
  bool in_body;   /* read the header, waiting for the body */
  bool ended;     /* saw the goodbye */
  size_t have;    /* bytes buffered of the current header or body */
  size_t body_len;
  uint8_t mac[HLS_BOX_MAC];
  uint8_t buf[HLS_BOX_MAX_BODY]; /* a header or body split across feeds; then the plaintext */
};

void hls_box_reader_init(struct hls_box_reader *r, const uint8_t key[32], const uint8_t nonce[24]);
void hls_box_reader_wipe(struct hls_box_reader *r);

/* Called with each decrypted body, in order; a non-zero return stops
 * feeding and is returned by hls_box_reader_feed. */
typedef int (*hls_box_body_fn)(void *ctx, const uint8_t *plain, size_t len);

/* Consume up to len bytes. *consumed gets how many were used: all of them,
 * unless the goodbye came (the bytes after it are not part of the stream)
 * or an error. Errors: HLS_EBADSIG (a header or body that does not open:
 * tampered, replayed, reordered or truncated), HLS_EMALFORMED (a header
 * claiming 0 or more than 4096 bytes), HLS_ECLOSED (fed after the
 * goodbye). The reader is unusable after an error. */
int hls_box_reader_feed(struct hls_box_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                        hls_box_body_fn on_body, void *ctx) HLS_WARN_UNUSED;

#endif
