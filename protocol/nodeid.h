/* Node ids and key text forms. A node id is the node's Ed25519 public key,
 * written everywhere as "@" + standard base64 (with padding) + ".ed25519",
 * the form Scuttlebutt uses, e.g.
 * "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519". */
#ifndef HLS_NODEID_H
#define HLS_NODEID_H

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

#endif
