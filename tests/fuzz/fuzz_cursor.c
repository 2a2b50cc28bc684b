/* The cursors of the read side's pages (protocol/cursor.h): the "after"
 * argument of places, stories and items, which any control client may
 * send. The first byte picks the listing (kind 1 + byte % 3), the rest is
 * the cursor's text.
 *
 * Checks: only invalid_argument comes out, with a reason; a refused parse
 * leaves a zeroed cursor; a parsed cursor is of the kind asked, within its
 * bounds, formats to exactly the input (one key, one text), and is refused
 * by the other listings. */
#include <string.h>

#include "cursor.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int kind = HLS_CURSOR_ITEMS + data[0] % 3;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  struct hls_cursor c, back;
  struct hls_why why = {{0}};
  int rc = hls_cursor_parse(text, len, kind, &c, &why);
  FUZZ_CHECK(rc == 0 || rc == HLS_EINVAL);
  FUZZ_CHECK(strlen(why.text) < sizeof why.text);
  if (rc != 0) {
    static const struct hls_cursor zero;
    FUZZ_CHECK(why.text[0] != '\0');
    FUZZ_CHECK(memcmp(&c, &zero, sizeof c) == 0);
    return 0;
  }
  FUZZ_CHECK(c.kind == kind);
  if (kind == HLS_CURSOR_PLACES) FUZZ_CHECK(c.key_len >= 1 && c.key_len <= HLS_CURSOR_KEY_MAX);
  else FUZZ_CHECK(c.seq >= 1 && c.seq <= (uint64_t)INT64_MAX && c.timestamp_ms >= 0);
  char again[HLS_CURSOR_TEXT_SIZE];
  FUZZ_CHECK(hls_cursor_format(&c, again) == 0);
  FUZZ_CHECK(strlen(again) == len && memcmp(again, text, len) == 0);
  for (int other = HLS_CURSOR_ITEMS; other <= HLS_CURSOR_PLACES; other++)
    if (other != kind) FUZZ_CHECK(hls_cursor_parse(text, len, other, &back, &why) == HLS_EINVAL);
  return 0;
}
