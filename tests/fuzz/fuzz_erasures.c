/* The erasure list parser (daemon/erasures.h): DIR/erased, read at every
 * start to delete again the records a restored store brought back. The
 * file is hlsd's own, but a damaged one must never name a record it did
 * not write.
 *
 * Checks: only HLS_ENOMEM may fail; whole ends at a line's end; every
 * entry is an id from 1 and its line is in the input as hls_erasures_format
 * writes it (so a parse of the formatted entries gives them back). */
#include <stdlib.h>
#include <string.h>

#include "erasures.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hls_erasure *e = NULL;
  size_t n = 0, whole = 0;
  struct hls_why why = {{0}};
  int rc = hls_erasures_parse((const char *)data, size, &e, &n, &whole, &why);
  FUZZ_CHECK(rc == 0 || rc == HLS_ENOMEM);
  if (rc != 0) return 0;
  FUZZ_CHECK(whole <= size && (whole == 0 || data[whole - 1] == '\n'));
  char *text = malloc(n * 48 + 1);
  FUZZ_CHECK(n == 0 || text != NULL);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(e[i].record_id > 0);
    len += hls_erasures_format(&e[i], text + len, 48);
  }
  struct hls_erasure *back = NULL;
  size_t n_back = 0, whole_back = 0;
  FUZZ_CHECK(hls_erasures_parse(text ? text : "", len, &back, &n_back, &whole_back, &why) == 0);
  FUZZ_CHECK(n_back == n && whole_back == len);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(back[i].record_id == e[i].record_id && back[i].created_ms == e[i].created_ms);
  free(back);
  free(text);
  free(e);
  return 0;
}
