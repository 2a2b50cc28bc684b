/* The chain mark parser (daemon/chainmark.h): DIR/chain.head, the highest
 * seq a node has signed. The file is hlsd's own, but it is read at every
 * start and a damaged one must be refused, never misread.
 *
 * Checks: only the documented codes come out; what parses is for the fixed
 * node key and re-formats (hls_chainmark_format) to a text that parses to
 * the same mark; the same text for another key is refused as another
 * node's. */
#include <sodium.h>
#include <string.h>

#include "chainmark.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The key of the seed corpus: bytes 0x01 x 32. */
  static const uint8_t pk[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  static const uint8_t other[32] = {2};
  struct hls_chainmark m, back;
  struct hls_why why = {{0}};
  int rc = hls_chainmark_parse((const char *)data, size, pk, &m, &why);
  FUZZ_CHECK(rc == 0 || rc == HLS_EMALFORMED || rc == HLS_EINVAL);
  FUZZ_CHECK(strlen(why.text) < sizeof why.text);
  if (rc != 0) return 0;
  FUZZ_CHECK(m.seq <= (uint64_t)INT64_MAX);
  char text[512];
  hls_chainmark_format(pk, &m, text, sizeof text);
  FUZZ_CHECK(hls_chainmark_parse(text, strlen(text), pk, &back, &why) == 0);
  FUZZ_CHECK(back.seq == m.seq && memcmp(back.item_id, m.item_id, 32) == 0);
  FUZZ_CHECK(hls_chainmark_parse((const char *)data, size, other, &back, &why) == HLS_EINVAL);
  return 0;
}
