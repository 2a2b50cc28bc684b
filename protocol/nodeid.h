/* Node ids and key text forms. A node id is the node's Ed25519 public key,
 * written everywhere as "@" + standard base64 (with padding) + ".ed25519",
 * the form Scuttlebutt uses, e.g.
 * "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519". */
#ifndef HLS_NODEID_H
#define HLS_NODEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HLS_NODEID_BYTES 32
/* "@" + 44 base64 chars + ".ed25519" + NUL */
#define HLS_NODEID_TEXT_SIZE 54
/* 32 bytes as padded base64 + NUL */
#define HLS_KEY32_TEXT_SIZE 45

void hls_nodeid_format(const uint8_t pk[HLS_NODEID_BYTES], char out[HLS_NODEID_TEXT_SIZE]);
/* Accepts exactly the form hls_nodeid_format writes. */
int hls_nodeid_parse(const char *text, uint8_t pk[HLS_NODEID_BYTES]) HLS_WARN_UNUSED;

/* 32-byte keys (the network key) as plain padded base64. */
void hls_key32_format(const uint8_t key[32], char out[HLS_KEY32_TEXT_SIZE]);
int hls_key32_parse(const char *text, size_t len, uint8_t key[32]) HLS_WARN_UNUSED;

/* --- item references ------------------------------------------------------
 * How people and scripts name one held item (hls stories show ID):
 *   - its item id (docs/protocol.md 3.3) in hex, 64 characters, or a prefix
 *     of at least HLS_ITEM_REF_MIN_HEX of them, as git shortens hashes;
 *     upper or lower case;
 *   - or ORIGIN:SEQ, the origin's node id and the item's seq.
 * Both are unambiguous across places: the item id hashes the header, which
 * holds the origin. */
#define HLS_ITEM_ID_HEX_SIZE 65 /* 64 hex digits + NUL */
#define HLS_ITEM_REF_MIN_HEX 8

struct hls_item_ref {
  bool by_origin;
  uint8_t origin[HLS_NODEID_BYTES]; /* by_origin */
  uint64_t seq;                     /* by_origin: 1 .. 2^63-1 */
  size_t hex_digits;                /* !by_origin: digits given, 8..64 */
  uint8_t low[32], high[32];        /* !by_origin: the item ids with that prefix are exactly [low, high] */
};

/* Parse a reference: 0, or HLS_EINVAL for anything else. */
int hls_item_ref_parse(const char *text, struct hls_item_ref *out) HLS_WARN_UNUSED;
/* An item id as 64 lower-case hex digits. */
void hls_item_id_format(const uint8_t id[32], char out[HLS_ITEM_ID_HEX_SIZE]);

#endif
