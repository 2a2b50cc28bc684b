/* Shared by the libFuzzer targets and the corpus replay driver. */
#ifndef HLS_FUZZ_H
#define HLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Each fuzz_NAME.c defines it; libFuzzer or replay.c calls it once per
 * input. Returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the target checks on top of the sanitizers. NDEBUG builds
 * (RelWithDebInfo) drop assert(), so this aborts by hand: libFuzzer and
 * ctest both report an abort as a failure, with the reason on stderr. */
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

#endif
