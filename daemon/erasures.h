/* The erasure list (docs/governance.md#restore): DIR/erased, a line for
 * every record this node deleted (its id and creation time, nothing of
 * its content), kept outside the store. A store restored from an older
 * copy still holds records deleted since; hlsd deletes them again at
 * start (hls_api_erasures_reapply) from the lines the store has not seen:
 * the store remembers how far into the list it was when hlsd last
 * started, and a restored store remembers an earlier place.
 *
 * The file is text, one "ID CREATED_MS" line per record, after comment
 * lines; a line cut short by a crash is skipped. */
#ifndef HLS_ERASURES_H
#define HLS_ERASURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define HLS_ERASURES_FILE "erased"

/* Append n entries and flush them to the disk (fdatasync; the directory
 * too when the file is new). */
int hls_erasures_append(const char *dir, const struct hls_erasure *e, size_t n, struct hls_why *why) HLS_WARN_UNUSED;

/* The entries from byte offset from to the end. *end: the offset after
 * the last whole line (where the next load starts). *shorter: the file is
 * shorter than from (lost or replaced), so every entry is given. No file:
 * none, *end 0. The caller frees *out. */
int hls_erasures_load(const char *dir, int64_t from, struct hls_erasure **out, size_t *n, int64_t *end, bool *shorter,
                      struct hls_why *why) HLS_WARN_UNUSED;

/* The entries of a list's text (from a line's start): every whole line
 * that is "ID CREATED_MS" (ID from 1, both decimal int64); comment lines
 * (#) and any other line are skipped. *whole: the bytes up to the end of
 * the last whole line. The caller frees *out. */
int hls_erasures_parse(const char *data, size_t len, struct hls_erasure **out, size_t *n, size_t *whole,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* One entry as its line ("ID CREATED_MS\n") in buf; its length. */
size_t hls_erasures_format(const struct hls_erasure *e, char *buf, size_t size);

#endif
