/* The chain mark: the highest seq this node has ever signed in its own
 * chain, and that item's id, kept in DIR/chain.head, outside the store.
 *
 * A node must never sign two different items with one seq: peers that hold
 * the first treat the second as a fork and stop following the place for
 * good. The store alone cannot guard this, because the store is what gets
 * lost or restored from an older backup. So hlsd writes the mark (a small
 * file, replaced atomically and fsynced) after every commit that grew the
 * chain and before any new item leaves the node, and at start compares it
 * with the store (docs/operations.md, "Restore"): a store behind the mark
 * means items were published that the store no longer has, and nothing is
 * signed until they are back (from peers) or the operator accepts the loss.
 *
 * hls init writes the mark with seq 0, so a home whose mark is missing is
 * one whose state was lost, not a new one. */
#ifndef HLS_CHAINMARK_H
#define HLS_CHAINMARK_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define HLS_CHAINMARK_FILE "chain.head"

struct hls_chainmark {
  uint64_t seq;        /* 0: nothing signed yet */
  uint8_t item_id[32]; /* the item at seq (zero when seq is 0) */
};

/* Read DIR/chain.head. *present is false (and 0 returned) if there is no
 * such file. HLS_EMALFORMED if it is not a mark, HLS_EINVAL if it is
 * another node's (node_pk differs), HLS_EIO if it cannot be read; why says
 * which file and how to fix it. */
int hls_chainmark_load(const char *dir, const uint8_t node_pk[32], struct hls_chainmark *out, bool *present,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* Parse a mark's text (len bytes, at most 4 KiB): what load does after
 * reading the file. Same errors, without the file's name. */
int hls_chainmark_parse(const char *text, size_t len, const uint8_t node_pk[32], struct hls_chainmark *out,
                        struct hls_why *why) HLS_WARN_UNUSED;
/* Replace DIR/chain.head atomically (a temporary file, fsync, rename,
 * fsync of the directory). On error the old mark stays. */
int hls_chainmark_save(const char *dir, const uint8_t node_pk[32], const struct hls_chainmark *m,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* The file's text for m (what save writes), into out (at least 512 bytes). */
void hls_chainmark_format(const uint8_t node_pk[32], const struct hls_chainmark *m, char *out, size_t size);

#endif
