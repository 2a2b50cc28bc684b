/* Frames inside a peer session (docs/protocol.md section 7). After the
 * handshake, each direction of the box stream carries a sequence of
 * frames: a 4-byte big-endian length, then one canonical msgpack array
 * [type, ...]. This module builds and checks the session frames; the
 * gossip frames (types 16 and up) are in gossip.h. Pure code. */
#ifndef HLS_WIRE_H
#define HLS_WIRE_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* 2: knows the network key frame (10) and REDEEMED's stewards
 * (docs/protocol.md 7): sent only in sessions of version 2. */
#define HLS_WIRE_VERSION 2
#define HLS_WIRE_HEADER 4
/* A ping's payload is echoed back: keep it small. */
#define HLS_WIRE_MAX_PING 65536

enum hls_frame_type {
  HLS_FRAME_HELLO = 0, /* [0, version]: first frame each way */
  HLS_FRAME_PING = 1,  /* [1, bin]: answered by a pong with the same bytes */
  HLS_FRAME_PONG = 2,  /* [2, bin] */
  HLS_FRAME_NETKEY = 10, /* [10, epoch, key]: a rotated network key (version 2) */
  HLS_FRAME_GOSSIP_FIRST = 16,
};

/* The type of a frame payload without decoding the rest: the first
 * element of its array. HLS_EMALFORMED if it is not [uint, ...]. */
int hls_frame_type(const uint8_t *payload, size_t len, int *type) HLS_WARN_UNUSED;

/* Pack a whole frame (length header included) into out. */
int hls_frame_hello(msgpack_sbuffer *out) HLS_WARN_UNUSED;
int hls_frame_ping(msgpack_sbuffer *out, int type, const uint8_t *data, size_t len) HLS_WARN_UNUSED;

/* The network key of an epoch (docs/protocol.md 7.2): a secret, sent
 * only inside the box stream. */
int hls_frame_netkey(msgpack_sbuffer *out, uint64_t epoch, const uint8_t key[32]) HLS_WARN_UNUSED;
int hls_frame_netkey_decode(const uint8_t *payload, size_t len, uint64_t *epoch, uint8_t key[32],
                            struct hls_why *why) HLS_WARN_UNUSED;

/* Decode: hello gives the peer's version; ping/pong a view of its bytes
 * (borrowed from payload). Canonical, exact length. */
int hls_frame_hello_decode(const uint8_t *payload, size_t len, uint32_t *version, struct hls_why *why) HLS_WARN_UNUSED;
int hls_frame_ping_decode(const uint8_t *payload, size_t len, const uint8_t **data, size_t *data_len,
                          struct hls_why *why) HLS_WARN_UNUSED;

/* Reassembles frames from a byte stream (the plaintext of a box stream),
 * whatever the chunking. The payload buffer grows to the largest frame
 * seen, up to max, and is released after frames over 64 KiB. */
struct hls_frame_reader {
  size_t max;                 /* largest payload accepted */
  uint8_t hdr[HLS_WIRE_HEADER];
  size_t hdr_have;
  uint8_t *buf;               /* owned */
  size_t len, have;           /* the current frame's length, bytes of it read */
};

void hls_frame_reader_init(struct hls_frame_reader *r, size_t max);
void hls_frame_reader_free(struct hls_frame_reader *r);

/* Called with each complete frame's payload (borrowed until it returns);
 * a non-zero return stops feeding and is returned. */
typedef int (*hls_frame_fn)(void *ctx, const uint8_t *payload, size_t len);

/* Consume len bytes, calling fn per complete frame. Errors (the reader is
 * unusable after one): HLS_EMALFORMED for a zero length, HLS_ETOOBIG for a
 * length over max (why gives it), HLS_ENOMEM; or fn's return. */
int hls_frame_reader_feed(struct hls_frame_reader *r, const uint8_t *in, size_t len, hls_frame_fn fn, void *ctx,
                          struct hls_why *why) HLS_WARN_UNUSED;

/* Start a frame in out: reserve the length header, return its offset. */
size_t hls_frame_begin(msgpack_sbuffer *out);
/* Fill in the length of the frame started at offset (HLS_ETOOBIG above max). */
int hls_frame_end(msgpack_sbuffer *out, size_t offset, size_t max) HLS_WARN_UNUSED;

#endif
