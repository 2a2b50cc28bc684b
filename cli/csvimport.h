/* Rows for an all-or-nothing import (hls import FILE.csv, and JSON
 * arrays given to hls record add --file): parsed, checked locally with the
 * daemon's own record rules, and packed into batches ready to send.
 * No I/O here, so the CSV path can be fuzzed. */
#ifndef HLS_CSVIMPORT_H
#define HLS_CSVIMPORT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HLS_IMPORT_MAX_ERRORS 1000
#define HLS_IMPORT_FIELDS_MAX 32 /* at least the entries of hls_record_fields */

struct hls_import_error {
  int64_t line;      /* 1-based line (CSV) or element number (JSON) */
  int column;        /* 1-based CSV column, 0 when not about one column */
  char column_name[32];
  char message[256];
};

struct hls_import_batch {
  msgpack_sbuffer rows; /* packed {line, record} maps */
  uint32_t count;
};

/* Takes a full batch of good rows (e.g. sends it); returns 0 or an error,
 * which stops the import. The batch is emptied afterwards. */
typedef int (*hls_import_batch_fn)(void *ctx, struct hls_import_batch *batch);

struct hls_import {
  /* Optional streaming: when set, each full batch (and the last one) is
   * handed to on_batch as soon as it is ready, while no bad row has been
   * found; after the first bad row, good rows are only counted. Without
   * it, every batch is kept in batches[]. */
  hls_import_batch_fn on_batch;
  void *batch_ctx;
  int batch_rc; /* first error from on_batch */
  struct hls_import_batch *batches; /* owned */
  size_t n_batches;
  int64_t rows;     /* good rows */
  int64_t bad_rows; /* rows with at least one error */
  struct hls_import_error *errors; /* owned; at most HLS_IMPORT_MAX_ERRORS */
  size_t n_errors;
  int64_t errors_total;
  int64_t refused_errors; /* of errors_total: rows hlsd refused (hls_import_refused) */
  bool fatal; /* the file could not be read past some point */
  /* CSV: each record field's column (1-based; 0: none), from the header */
  int column_of_field[HLS_IMPORT_FIELDS_MAX];
};

void hls_import_init(struct hls_import *imp);
void hls_import_free(struct hls_import *imp);

typedef void (*hls_import_progress_fn)(void *ctx, size_t done, size_t total);

/* Parse a whole CSV file (header row first). Bad rows are collected in
 * imp->errors, not returned: the return value is 0, or HLS_ENOMEM. */
int hls_import_csv(struct hls_import *imp, const char *data, size_t len, hls_import_progress_fn progress,
                   void *ctx) HLS_WARN_UNUSED;

/* The spreadsheet formula guard ("CSV injection"). A spreadsheet runs a
 * cell that starts with = + - @, a tab or a CR as a formula, so hls writes
 * such a cell with a ' before it, and a cell that starts with ' followed
 * by one of those or by another ' too (so that the guard can be told from
 * text). hls import takes that one ' off again: an export is imported
 * back unchanged, and a cell typed in a spreadsheet as '=x reads =x, as
 * the spreadsheet shows it.
 * hls_csv_guard_needed: whether a cell of this text is written guarded.
 * hls_csv_guarded: whether a cell read is guarded (its first byte goes). */
bool hls_csv_guard_needed(const char *text, size_t len);
bool hls_csv_guarded(const char *cell, size_t len);

/* Add one record given as a packed msgpack map (JSON input). */
int hls_import_add_packed(struct hls_import *imp, int64_t line, const void *map, size_t len) HLS_WARN_UNUSED;
/* A row that passed hls's checks and that hlsd refused (its own checks:
 * a date it finds implausible, a retain_until already past), reported
 * with the others: message names its field first ("date: ..."), which
 * gives the CSV column. Rows hlsd refuses do not stop the streaming: the
 * import goes on being checked by hlsd, and is not committed. */
void hls_import_refused(struct hls_import *imp, int64_t line, const char *message);
/* Hand the last, partly filled batch to on_batch (streaming only). */
int hls_import_flush(struct hls_import *imp) HLS_WARN_UNUSED;

#endif
