/* Statistical disclosure control of digests (docs/consent.md): counts of
 * person-scale records below a threshold are withheld; the others are
 * rounded to the nearest multiple of a base. Counts at organisation, place
 * and country scale describe services, not people, and are exact. */
#ifndef HLS_DISCLOSURE_H
#define HLS_DISCLOSURE_H

#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"

#define HLS_DISCLOSURE_DEFAULT_THRESHOLD 10
#define HLS_DISCLOSURE_DEFAULT_ROUNDING 5

/* The published form of a raw count of records in one cell. */
void hls_disclose(const struct hls_digest_method *m, int scale, uint32_t raw, bool *withheld, uint32_t *published);

/* Round n to the nearest multiple of base (halves round up). */
uint32_t hls_round_to(uint32_t n, uint32_t base);

#endif
