#include "nodeid.h"

#include <sodium.h>
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
