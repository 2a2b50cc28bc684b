#include "nodeid.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SUFFIX ".ed25519"

void hls_key32_format(const uint8_t key[32], char out[HLS_KEY32_TEXT_SIZE]) {
  sodium_bin2base64(out, HLS_KEY32_TEXT_SIZE, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int hls_key32_parse(const char *text, size_t len, uint8_t key[32]) {
  size_t bin_len = 0;
  const char *end = NULL;
  if (len != HLS_KEY32_TEXT_SIZE - 1) return HLS_EINVAL;
  if (sodium_base642bin(key, 32, text, len, NULL, &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin_len != 32 || end != text + len)
    return HLS_EINVAL;
  /* Refuse non-canonical base64 (stray low bits in the last character), so
   * one key has exactly one text form. */
  char again[HLS_KEY32_TEXT_SIZE];
  hls_key32_format(key, again);
  if (memcmp(again, text, len) != 0) return HLS_EINVAL;
  return 0;
}

void hls_nodeid_format(const uint8_t pk[HLS_NODEID_BYTES], char out[HLS_NODEID_TEXT_SIZE]) {
  out[0] = '@';
  hls_key32_format(pk, out + 1);
  memcpy(out + 1 + HLS_KEY32_TEXT_SIZE - 1, SUFFIX, sizeof SUFFIX);
}

int hls_nodeid_parse(const char *text, uint8_t pk[HLS_NODEID_BYTES]) {
  if (text == NULL || strlen(text) != HLS_NODEID_TEXT_SIZE - 1 || text[0] != '@') return HLS_EINVAL;
  if (memcmp(text + 1 + HLS_KEY32_TEXT_SIZE - 1, SUFFIX, sizeof SUFFIX - 1) != 0) return HLS_EINVAL;
  return hls_key32_parse(text + 1, HLS_KEY32_TEXT_SIZE - 1, pk);
}

void hls_item_id_format(const uint8_t id[32], char out[HLS_ITEM_ID_HEX_SIZE]) {
  sodium_bin2hex(out, HLS_ITEM_ID_HEX_SIZE, id, 32);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hls_item_ref_parse(const char *text, struct hls_item_ref *out) {
  memset(out, 0, sizeof *out);
  if (text == NULL) return HLS_EINVAL;
  size_t len = strlen(text);
  if (len > HLS_NODEID_TEXT_SIZE - 1 && text[HLS_NODEID_TEXT_SIZE - 1] == ':') {
    char node_id[HLS_NODEID_TEXT_SIZE];
    memcpy(node_id, text, HLS_NODEID_TEXT_SIZE - 1);
    node_id[HLS_NODEID_TEXT_SIZE - 1] = '\0';
    const char *seq = text + HLS_NODEID_TEXT_SIZE;
    if (hls_nodeid_parse(node_id, out->origin) != 0) return HLS_EINVAL;
    /* Digits only: strtoull would take a sign or spaces. */
    if (seq[0] < '1' || seq[0] > '9' || strspn(seq, "0123456789") != strlen(seq)) return HLS_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(seq, NULL, 10);
    if (errno != 0 || v > (unsigned long long)INT64_MAX) return HLS_EINVAL;
    out->by_origin = true;
    out->seq = (uint64_t)v;
    return 0;
  }
  if (len < HLS_ITEM_REF_MIN_HEX || len > 64) return HLS_EINVAL;
  memset(out->high, 0xff, sizeof out->high);
  for (size_t i = 0; i < len; i++) {
    int d = hex_digit(text[i]);
    if (d < 0) return HLS_EINVAL;
    int shift = i % 2 == 0 ? 4 : 0;
    uint8_t mask = (uint8_t)(0x0f << shift);
    out->low[i / 2] = (uint8_t)((out->low[i / 2] & ~mask) | (d << shift));
    out->high[i / 2] = (uint8_t)((out->high[i / 2] & ~mask) | (d << shift));
  }
  out->hex_digits = len;
  return 0;
}
