/* Statistical disclosure control of digests (docs/consent.md). Counts at
 * organisation, place and country scale describe services, not people, and
 * are exact. Person-scale counts:
 *
 *   hls-sdc-1 (nearest): below threshold withheld, the others rounded to
 *     the nearest multiple of rounding. Deterministic in the count, so a
 *     receiver that holds two versions of a week and knows what changed
 *     between them (a story withdrawn, say) can pin a count at a threshold
 *     or rounding edge (10 published, one record gone, withheld: it was 10,
 *     it is 9). Decoded for old digests; hlsd no longer publishes it.
 *
 *   hls-sdc-2 (keyed): u = count + offset, where offset in [0, rounding)
 *     is a keyed hash of the node's disclosure key and the cell (its week,
 *     theme, kind, scale, stage), the same in every version of that week.
 *     u below threshold + rounding - 1 is withheld; otherwise rounding *
 *     floor(u / rounding) is published (fixed random rounding: unbiased,
 *     within rounding - 1 of the count). Every count below threshold is
 *     still withheld. What a receiver sees of a cell is a function of u
 *     alone (and of whether the cell is present), and (count, offset) and
 *     (count + j, offset - j) give the same u, so however many versions it
 *     holds and however well it knows what changed between them, each
 *     count it can reach stays one of several (docs/consent.md,
 *     "Differencing"). The key never leaves the node. */
#ifndef HLS_DISCLOSURE_H
#define HLS_DISCLOSURE_H

#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"

#define HLS_DISCLOSURE_DEFAULT_THRESHOLD 10
#define HLS_DISCLOSURE_DEFAULT_ROUNDING 5
#define HLS_DISCLOSURE_KEY_BYTES 32

/* The published form of a raw count of records in one cell. offset is the
 * cell's hls_disclosure_offset (used by hls-sdc-2 only; must be below
 * m->rounding). */
void hls_disclose(const struct hls_digest_method *m, int scale, uint32_t raw, uint32_t offset, bool *withheld,
                  uint32_t *published);

/* The interval [*lo, *hi] of raw counts that m can publish as a cell with
 * this scale, withheld flag and count, over every offset. Withheld means
 * present: lo is 1. */
void hls_disclosure_bounds(const struct hls_digest_method *m, int scale, bool withheld, uint32_t count, uint32_t *lo,
                           uint32_t *hi);

/* The node's disclosure key, from its Ed25519 seed (the first 32 bytes of
 * libsodium's secret key): BLAKE2b-256 keyed with the seed over
 * "hls-sdc-2 key". Deriving it (rather than storing a random one) keeps
 * the offsets the same after a store is lost and rebuilt from peers. */
void hls_disclosure_key(const uint8_t seed[32], uint8_t key[HLS_DISCLOSURE_KEY_BYTES]);

/* A cell's offset in [0, rounding): BLAKE2b-64 keyed with key over
 * u16 iso_year, u8 iso_week, u8 kind, u8 scale, u8 stage, theme bytes
 * (big-endian, no terminator), read as a little-endian uint64, modulo
 * rounding. 0 when rounding is 0 or 1. */
uint32_t hls_disclosure_offset(const uint8_t key[HLS_DISCLOSURE_KEY_BYTES], int iso_year, int iso_week,
                               const char *theme, int kind, int scale, int stage, uint32_t rounding);

/* Round n to the nearest multiple of base (halves round up). */
uint32_t hls_round_to(uint32_t n, uint32_t base);

#endif
