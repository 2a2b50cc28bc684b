/* Envelopes outside gossip: .items files and the items.import request
 * (hls import-items, docs/cli.md; docs/control.md).
 *
 * A .items file is a concatenation of envelopes (envelope.h, each in its
 * canonical bytes, a full envelope or a stub), of one origin or several,
 * in any order; nothing else, no framing: an envelope's own msgpack array
 * header says where it ends. The request carries envelopes to hlsd as
 *   args = {"envelopes": [bin, ...]}    1 to HLS_IMPORT_ITEMS_MAX of them
 * in the order hls_items_order gives, so that hlsd imports runs: stretches
 * of one origin with consecutive seqs each linking to the one before
 * (hls_items_run_length). Pure code: the callers read the files. */
#ifndef HLS_ITEMS_H
#define HLS_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"
#include "mp.h"

/* Split the envelope at the start of data[0..len) off: decoded into *env
 * (views into data) and *used set to its length. Errors:
 *   HLS_ETRUNCATED  data ends inside it: read more, or, at the end of the
 *                   file, the file is cut short;
 *   HLS_ETOOBIG     it is longer than HLS_ENV_MAX_BYTES;
 *   HLS_EMALFORMED  not an envelope (why says what), and every code of
 *                   hls_env_decode. *used is 0 on every error.
 * The signature is not checked (hls_env_verify). */
int hls_items_next(const uint8_t *data, size_t len, struct hls_envelope *env, size_t *used,
                   struct hls_why *why) HLS_WARN_UNUSED;

/* The envelopes of an items.import request's args (a map): each decoded
 * into envs[0..*n) (views into the request, which must outlive them); max
 * is the caller's array size (at most HLS_IMPORT_ITEMS_MAX are accepted
 * whatever it is). Errors: HLS_EINVAL (no list, an empty one, an item that
 * is not bytes), HLS_ETOOBIG (too many), and hls_env_decode's codes, with
 * why naming the envelope's index. */
int hls_items_request_decode(const struct hls_mp_value *args, struct hls_envelope *envs, size_t max, size_t *n,
                             struct hls_why *why) HLS_WARN_UNUSED;

/* The length of the run at the start of envs[0..n) (n >= 1): envelopes of
 * envs[0]'s origin, each the next seq after the one before and linking to
 * it. At least 1. */
size_t hls_items_run_length(const struct hls_envelope *envs, size_t n);

/* One envelope found in the input, as the importer indexes it. */
struct hls_items_entry {
  uint8_t origin[HLS_KEY_BYTES];
  uint64_t seq;
  uint8_t id[HLS_HASH_BYTES];
  uint8_t prev[HLS_HASH_BYTES]; /* zero for seq 1 */
  uint32_t file;                /* the caller's: where the bytes are */
  uint32_t len;
  uint64_t offset;
  uint64_t order; /* position in the input, set by the caller: ties go to the first */
  bool body;      /* a full envelope, not a stub */
};

/* Order entries for import: by origin, then seq. Identical items (same
 * origin, seq and item id) are kept once: a full envelope rather than a
 * stub, else the first in input order. Different items at one origin
 * and seq (a fork in the input) keep one in the run, the one the kept item
 * at seq + 1 links to (else the first in input order); the others go
 * after every run, so that importing them, against what is then held,
 * finds the fork. On return entries [0, *n_runs) are the runs,
 * [*n_runs, *n) those others, and *n lost the duplicates; *duplicates
 * gets how many. HLS_ENOMEM. */
int hls_items_order(struct hls_items_entry *e, size_t *n, size_t *n_runs, size_t *duplicates) HLS_WARN_UNUSED;

#endif
