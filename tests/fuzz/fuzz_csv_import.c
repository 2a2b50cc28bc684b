/* hls_import_csv: a CSV file, as `hls import FILE.csv` reads it.
 *
 * Besides memory safety, checks the bookkeeping the CLI reports from and
 * the promise that matters most: every row the importer accepts is one
 * hlsd accepts too. Each batch is decoded as the daemon decodes an
 * import.rows request (an array of {line, record} maps) and every record
 * goes through hls_record_apply + hls_record_validate.
 *
 * The input is imported twice: keeping every batch (no callbacks), and
 * streaming batches to an on_batch callback with a progress callback, as
 * `hls import` does (cli/cmd_import.c). Both must agree on the counts and
 * errors. For odd-sized inputs the first hand-over fails, as a send to
 * hlsd may, and the import must stop handing batches over. */
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "csvimport.h"
#include "fuzz.h"
#include "hls_limits.h"
#include "mp.h"
#include "record.h"

/* Decode one batch as hlsd would and check each row. Returns the line of
 * the last row. */
static int64_t check_batch(const struct hls_import_batch *b, int64_t prev_line) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  FUZZ_CHECK(msgpack_pack_array(&pk, b->count) == 0);
  FUZZ_CHECK(msgpack_sbuffer_write(&sb, b->rows.data, b->rows.size) == 0);

  struct hls_why why = {{0}};
  struct hls_mp_tree tree;
  int rc = hls_mp_tree_decode(&tree, sb.data, sb.size, false, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) fprintf(stderr, "batch does not decode: %s\n", why.text);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(tree.root.type == HLS_MP_ARRAY && tree.root.len == b->count);
  for (uint32_t i = 0; i < tree.root.len; i++) {
    const struct hls_mp_value *row = &tree.root.v.items[i];
    int64_t line = 0;
    bool has_line = false;
    FUZZ_CHECK(hls_mp_get_i64(row, "line", &line, &has_line, &why) == 0 && has_line);
    /* Rows come in file order, each starting on a later line (LF, CRLF
     * and a lone CR all end a line). */
    FUZZ_CHECK(line >= 1 && line > prev_line);
    prev_line = line;
    struct hls_record r;
    hls_record_init(&r);
    /* The importer checks against the hard limit; hlsd's configured one
     * may be lower, and then it reports the row itself. */
    rc = hls_record_apply(&r, hls_mp_get(row, "record"), NULL, &why);
    if (rc == 0) rc = hls_record_validate(&r, &why);
    if (rc != 0)
      fprintf(stderr, "line %lld: accepted by the importer, refused by hlsd: %s\n", (long long)line, why.text);
    FUZZ_CHECK(rc == 0);
    hls_record_clear(&r);
  }
  hls_mp_tree_free(&tree);
  msgpack_sbuffer_destroy(&sb);
  return prev_line;
}

struct stream {
  size_t size;           /* of the input */
  int64_t rows_handed;   /* rows in batches handed over */
  int64_t last_line;
  int handovers;
  bool failed;           /* on_batch returned an error */
  size_t last_progress;
};

#define SEND_FAILED HLS_EIO

static int on_batch(void *ctx, struct hls_import_batch *b) {
  struct stream *st = ctx;
  FUZZ_CHECK(!st->failed); /* nothing is handed over after a failed send */
  FUZZ_CHECK(b->count >= 1 && b->count <= HLS_IMPORT_BATCH_ROWS);
  st->last_line = check_batch(b, st->last_line);
  st->rows_handed += b->count;
  if (st->handovers++ == 0 && st->size % 2 == 1) {
    st->failed = true;
    return SEND_FAILED;
  }
  return 0;
}

static void on_progress(void *ctx, size_t done, size_t total) {
  struct stream *st = ctx;
  FUZZ_CHECK(total == st->size || total + 3 == st->size); /* a BOM is not counted */
  FUZZ_CHECK(done <= total && done >= st->last_progress);
  st->last_progress = done;
}

/* The same file streamed, as `hls import` runs it. */
static void check_streaming(const uint8_t *data, size_t size, const struct hls_import *kept) {
  struct stream st = {.size = size};
  struct hls_import imp;
  hls_import_init(&imp);
  imp.on_batch = on_batch;
  imp.batch_ctx = &st;
  int rc = hls_import_csv(&imp, (const char *)data, size, on_progress, &st);
  FUZZ_CHECK(rc == 0 || rc == HLS_ENOMEM);
  /* After a failed send the CLI stops; flushing anyway must not hand over. */
  if (rc == 0 && imp.errors_total == 0 && !imp.fatal) rc = hls_import_flush(&imp);
  FUZZ_CHECK(rc == 0 || rc == SEND_FAILED || rc == HLS_ENOMEM);
  FUZZ_CHECK(imp.n_batches <= 1); /* one batch, reused */
  if (st.failed) {
    FUZZ_CHECK(imp.batch_rc == SEND_FAILED);
    FUZZ_CHECK(imp.rows <= kept->rows); /* the import stopped early */
  } else {
    FUZZ_CHECK(imp.batch_rc == 0);
    FUZZ_CHECK(imp.rows == kept->rows && imp.bad_rows == kept->bad_rows);
    FUZZ_CHECK(imp.errors_total == kept->errors_total && imp.n_errors == kept->n_errors);
    FUZZ_CHECK(imp.fatal == kept->fatal);
    for (size_t i = 0; i < imp.n_errors; i++) {
      FUZZ_CHECK(imp.errors[i].line == kept->errors[i].line && imp.errors[i].column == kept->errors[i].column);
      FUZZ_CHECK(strcmp(imp.errors[i].message, kept->errors[i].message) == 0);
    }
    /* A clean file is handed over whole; a bad one stops at its first
     * bad row, only whole batches before it having gone out. */
    if (imp.errors_total == 0 && !imp.fatal) FUZZ_CHECK(st.rows_handed == imp.rows);
    else FUZZ_CHECK(st.rows_handed <= imp.rows && st.rows_handed % HLS_IMPORT_BATCH_ROWS == 0);
  }
  hls_import_free(&imp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hls_import imp;
  hls_import_init(&imp);
  int rc = hls_import_csv(&imp, (const char *)data, size, NULL, NULL);
  FUZZ_CHECK(rc == 0 || rc == HLS_ENOMEM);

  FUZZ_CHECK(imp.rows >= 0 && imp.bad_rows >= 0);
  FUZZ_CHECK(imp.n_errors <= HLS_IMPORT_MAX_ERRORS);
  FUZZ_CHECK(imp.errors_total >= (int64_t)imp.n_errors);
  if (rc == 0)
    FUZZ_CHECK(imp.n_errors == (imp.errors_total < HLS_IMPORT_MAX_ERRORS ? (size_t)imp.errors_total
                                                                         : (size_t)HLS_IMPORT_MAX_ERRORS));
  FUZZ_CHECK(imp.bad_rows <= imp.errors_total); /* every bad row says why */
  if (size == 0) FUZZ_CHECK(imp.fatal && imp.rows == 0);
  for (size_t i = 0; i < imp.n_errors; i++) {
    const struct hls_import_error *e = &imp.errors[i];
    FUZZ_CHECK(e->line >= 1);
    FUZZ_CHECK(e->column >= 0 && e->column <= HLS_CSV_MAX_COLUMNS);
    FUZZ_CHECK(memchr(e->column_name, '\0', sizeof e->column_name) != NULL);
    FUZZ_CHECK(memchr(e->message, '\0', sizeof e->message) != NULL && e->message[0] != '\0');
  }

  int64_t counted = 0, last_line = 0;
  for (size_t i = 0; i < imp.n_batches; i++) {
    const struct hls_import_batch *b = &imp.batches[i];
    FUZZ_CHECK(b->count >= 1 && b->count <= HLS_IMPORT_BATCH_ROWS);
    if (i + 1 < imp.n_batches) FUZZ_CHECK(b->count == HLS_IMPORT_BATCH_ROWS); /* only the last is partial */
    counted += b->count;
    last_line = check_batch(b, last_line);
  }
  FUZZ_CHECK(counted == imp.rows);

  if (rc == 0) check_streaming(data, size, &imp);
  hls_import_free(&imp);
  return 0;
}
