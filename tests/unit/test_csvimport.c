/* Unit tests for cli/csvimport.c: CSV import parsing, row checks,
 * batching, and packed (JSON) rows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvimport.h"
#include "hls_limits.h"
#include "mp.h"
#include "record.h"

/* Parse text; the parser never fails on bad input, only on memory. */
static void parse(struct hls_import *imp, const char *text) {
  hls_import_init(imp);
  assert_int_equal(hls_import_csv(imp, text, strlen(text), NULL, NULL), 0);
}

static void assert_no_errors(const struct hls_import *imp) {
  if (imp->n_errors > 0)
    fail_msg("unexpected error at line %lld column %d: %s", (long long)imp->errors[0].line, imp->errors[0].column,
             imp->errors[0].message);
  assert_int_equal(imp->errors_total, 0);
  assert_int_equal(imp->bad_rows, 0);
  assert_false(imp->fatal);
}

static void assert_error(const struct hls_import *imp, size_t i, int64_t line, int column, const char *column_name,
                         const char *frag) {
  if (i >= imp->n_errors) fail_msg("only %zu errors, want error %zu (%s)", imp->n_errors, i, frag);
  const struct hls_import_error *e = &imp->errors[i];
  if (e->line != line || e->column != column || strcmp(e->column_name, column_name) != 0 ||
      strstr(e->message, frag) == NULL)
    fail_msg("error %zu: line %lld column %d (%s) \"%s\"; want line %lld column %d (%s) \"...%s...\"", i,
             (long long)e->line, e->column, e->column_name, e->message, (long long)line, column, column_name, frag);
}

/* Decode batch b (its rows prefixed with an array header, as the CLI
 * sends them). */
static void decode_batch(const struct hls_import_batch *b, msgpack_sbuffer *sb, struct hls_mp_tree *tree) {
  msgpack_packer pk;
  struct hls_why why = {{0}};
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_array(&pk, b->count), 0);
  assert_int_equal(msgpack_sbuffer_write(sb, b->rows.data, b->rows.size), 0);
  int rc = hls_mp_tree_decode(tree, sb->data, sb->size, false, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) fail_msg("batch does not decode: %s (%s)", hls_err_name(rc), why.text);
  assert_int_equal(tree->root.type, HLS_MP_ARRAY);
  assert_int_equal(tree->root.len, b->count);
}

/* Line of row i and its record map (checked as the daemon checks it). */
static int64_t row_line(const struct hls_mp_value *row) {
  struct hls_why why = {{0}};
  int64_t line = -1;
  bool present = false;
  assert_int_equal(row->type, HLS_MP_MAP);
  assert_int_equal(row->len, 2);
  assert_int_equal(hls_mp_get_i64(row, "line", &line, &present, &why), 0);
  assert_true(present);
  const struct hls_mp_value *rec = hls_mp_get(row, "record");
  assert_non_null(rec);
  assert_int_equal(rec->type, HLS_MP_MAP);
  struct hls_record r;
  hls_record_init(&r);
  int rc = hls_record_apply(&r, rec, NULL, &why);
  if (rc == 0) rc = hls_record_validate(&r, &why);
  hls_record_clear(&r);
  if (rc != 0) fail_msg("row of line %lld is not a valid record: %s", (long long)line, why.text);
  return line;
}

/* The lines of every packed row, in order; returns how many. */
static size_t all_lines(const struct hls_import *imp, int64_t *out, size_t max) {
  size_t n = 0;
  for (size_t b = 0; b < imp->n_batches; b++) {
    msgpack_sbuffer sb;
    struct hls_mp_tree tree;
    decode_batch(&imp->batches[b], &sb, &tree);
    for (uint32_t i = 0; i < tree.root.len; i++) {
      int64_t line = row_line(&tree.root.v.items[i]);
      if (n < max) out[n] = line;
      n++;
    }
    hls_mp_tree_free(&tree);
    msgpack_sbuffer_destroy(&sb);
  }
  return n;
}

/* The string value of key in the record of the first row of batch 0. */
static void first_record_str(const struct hls_import *imp, const char *key, char *out, size_t size) {
  msgpack_sbuffer sb;
  struct hls_mp_tree tree;
  assert_true(imp->n_batches > 0);
  decode_batch(&imp->batches[0], &sb, &tree);
  const struct hls_mp_value *rec = hls_mp_get(&tree.root.v.items[0], "record");
  assert_non_null(rec);
  const struct hls_mp_value *v = hls_mp_get(rec, key);
  if (v == NULL) {
    out[0] = '\0';
    snprintf(out, size, "<absent>");
  } else {
    assert_int_equal(v->type, HLS_MP_STR);
    snprintf(out, size, "%.*s", (int)v->len, v->v.str);
  }
  hls_mp_tree_free(&tree);
  msgpack_sbuffer_destroy(&sb);
}

/* A growable text buffer for generated files. */
struct text {
  char *p;
  size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) HLS_PRINTF(2, 3);
static void text_add(struct text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  if (t->len + (size_t)n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + (size_t)n + 1) cap *= 2;
    char *p = realloc(t->p, cap);
    assert_non_null(p);
    t->p = p;
    t->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

static void text_repeat(struct text *t, char c, size_t n) {
  for (size_t i = 0; i < n; i++) text_add(t, "%c", c);
}

/* --- header -------------------------------------------------------------- */

static void test_header_mapping(void **state) {
  (void)state;
  struct hls_import imp;
  char v[64];
  parse(&imp, "Title,SCALE,stAge,Themes\nA walk,person,purpose,housing\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  first_record_str(&imp, "title", v, sizeof v);
  assert_string_equal(v, "A walk");
  first_record_str(&imp, "scale", v, sizeof v);
  assert_string_equal(v, "person");
  first_record_str(&imp, "themes", v, sizeof v);
  assert_string_equal(v, "housing");
  hls_import_free(&imp);

  /* Every record field is a column name, in any order. */
  struct text t = {0};
  for (int i = 0; hls_record_fields[i] != NULL; i++) text_add(&t, "%s%s", i ? "," : "", hls_record_fields[i]);
  text_add(&t, "\n");
  parse(&imp, t.p);
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 0);
  hls_import_free(&imp);
  free(t.p);

  /* A byte order mark (Excel) is skipped. */
  parse(&imp, "\xef\xbb\xbftitle,scale,stage\nA,person,purpose\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  first_record_str(&imp, "title", v, sizeof v);
  assert_string_equal(v, "A");
  hls_import_free(&imp);

  /* Quoted header cells too. */
  parse(&imp, "\"title\",\"scale\",\"stage\"\nA,person,purpose\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  hls_import_free(&imp);
}

static void test_header_errors(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp, "title,scale,colour,stage\nA,person,red,purpose\n");
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 3, "", "unknown column \"colour\"");
  assert_non_null(strstr(imp.errors[0].message, "title")); /* lists the columns */
  assert_int_equal(imp.rows, 0);
  assert_int_equal(imp.n_batches, 0);
  hls_import_free(&imp);

  parse(&imp, "title,scale,stage,Title\nA,person,purpose,B\n");
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 4, "title", "column \"title\" appears twice");
  assert_int_equal(imp.rows, 0);
  hls_import_free(&imp);

  parse(&imp, "title,scale\nA,person\n");
  assert_true(imp.fatal);
  assert_int_equal(imp.n_errors, 1);
  assert_error(&imp, 0, 1, 0, "", "no \"stage\" column");
  assert_int_equal(imp.rows, 0);
  hls_import_free(&imp);

  parse(&imp, "context\nx\n");
  assert_true(imp.fatal);
  assert_int_equal(imp.n_errors, 3);
  assert_error(&imp, 0, 1, 0, "", "no \"title\" column");
  assert_error(&imp, 1, 1, 0, "", "no \"scale\" column");
  assert_error(&imp, 2, 1, 0, "", "no \"stage\" column");
  hls_import_free(&imp);

  /* A column with no name (a spreadsheet's trailing empty ones) is no
   * column: its cells must be empty. */
  parse(&imp, "title,,scale,stage, ,\nA,,person,purpose,,\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  {
    msgpack_sbuffer sb;
    struct hls_mp_tree tree;
    decode_batch(&imp.batches[0], &sb, &tree);
    const struct hls_mp_value *rec = hls_mp_get(&tree.root.v.items[0], "record");
    assert_non_null(rec);
    assert_int_equal(rec->len, 3); /* title, scale, stage, and nothing for the unnamed */
    hls_mp_tree_free(&tree);
    msgpack_sbuffer_destroy(&sb);
  }
  hls_import_free(&imp);
  parse(&imp, "title,scale,stage,\nA,person,purpose,\nB,person,purpose,oops\nC,person,purpose,\n");
  assert_false(imp.fatal);
  assert_int_equal(imp.bad_rows, 1);
  assert_int_equal(imp.n_errors, 1);
  assert_error(&imp, 0, 3, 4, "", "a column that the header does not name");
  hls_import_free(&imp);
  /* Spaces around a name, as typed by hand. */
  parse(&imp, " title , Scale,stage\nA,person,purpose\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  hls_import_free(&imp);
  parse(&imp, "title,sc ale,stage\n");
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 2, "", "unknown column \"sc ale\"");
  hls_import_free(&imp);

  /* Too many columns. */
  struct text t = {0};
  for (int i = 0; i < HLS_CSV_MAX_COLUMNS + 1; i++) text_add(&t, "%stitle", i ? "," : "");
  text_add(&t, "\n");
  parse(&imp, t.p);
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 0, "", "more than 64 columns");
  hls_import_free(&imp);
  free(t.p);

  /* Empty files. */
  const char *empty[] = {"", "\n\n\r\n", "\xef\xbb\xbf", NULL};
  for (int i = 0; empty[i] != NULL; i++) {
    parse(&imp, empty[i]);
    assert_true(imp.fatal);
    assert_error(&imp, 0, 1, 0, "", "empty");
    hls_import_free(&imp);
  }
  /* A header alone is no error: just nothing to import. */
  parse(&imp, "title,scale,stage\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 0);
  hls_import_free(&imp);
}

/* --- rows and batches ----------------------------------------------------- */

static void check_batches(int n_rows, size_t want_batches) {
  struct text t = {0};
  text_add(&t, "title,scale,stage,date\n");
  for (int i = 0; i < n_rows; i++) text_add(&t, "Row %d,place,embed,2026-01-%02d\n", i, 1 + i % 28);
  struct hls_import imp;
  parse(&imp, t.p);
  free(t.p);
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, n_rows);
  assert_int_equal(imp.n_batches, want_batches);
  for (size_t b = 0; b < imp.n_batches; b++) {
    uint32_t want = b + 1 < want_batches ? HLS_IMPORT_BATCH_ROWS
                                         : (uint32_t)(n_rows - (int)b * HLS_IMPORT_BATCH_ROWS);
    assert_int_equal(imp.batches[b].count, want);
  }
  int64_t *lines = calloc((size_t)n_rows + 1, sizeof *lines);
  assert_non_null(lines);
  assert_int_equal(all_lines(&imp, lines, (size_t)n_rows), n_rows);
  for (int i = 0; i < n_rows; i++) assert_int_equal(lines[i], i + 2);
  free(lines);
  hls_import_free(&imp);
}

static void test_batches(void **state) {
  (void)state;
  check_batches(1, 1);
  check_batches(HLS_IMPORT_BATCH_ROWS, 1);
  check_batches(HLS_IMPORT_BATCH_ROWS + 1, 2);
  check_batches(4500, 3);
}

struct progress_log {
  int calls;
  size_t last_done, last_total;
  bool monotonic;
};

static void on_progress(void *ctx, size_t done, size_t total) {
  struct progress_log *p = ctx;
  if (done < p->last_done || done > total) p->monotonic = false;
  p->calls++;
  p->last_done = done;
  p->last_total = total;
}

static void test_progress(void **state) {
  (void)state;
  struct text t = {0};
  text_add(&t, "title,scale,stage\n");
  for (int i = 0; i < 3500; i++) text_add(&t, "R%d,person,purpose\n", i);
  struct hls_import imp;
  struct progress_log p = {.monotonic = true};
  hls_import_init(&imp);
  assert_int_equal(hls_import_csv(&imp, t.p, t.len, on_progress, &p), 0);
  assert_no_errors(&imp);
  assert_true(p.monotonic);
  assert_true(p.calls >= 4); /* every 1000 rows, and at the end */
  assert_int_equal(p.last_done, t.len);
  assert_int_equal(p.last_total, t.len);
  hls_import_free(&imp);
  free(t.p);
}

static void test_line_numbers(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage,context\n"            /* 1 */
        "A,person,purpose,\"line one\n"          /* 2 */
        "line two\n"                             /* 3 */
        "\n"                                     /* 4: inside the quotes */
        "line four\"\n"                          /* 5 */
        "\n"                                     /* 6 */
        "B,person,bogus,\n"                      /* 7 */
        "C,person,purpose,\"x\n"                 /* 8 */
        "y\"\n"                                  /* 9 */
        "\n"                                     /* 10 */
        "\n"                                     /* 11 */
        "D,galaxy,purpose,\"multi\n"             /* 12 */
        "line\"\n"                               /* 13 */
        "E,person,purpose,\"a \"\"quoted\"\"\n"  /* 14 */
        "word\"\n"                               /* 15 */
        "F,person,purpose,last\n");              /* 16 */
  assert_false(imp.fatal);
  assert_int_equal(imp.bad_rows, 2);
  assert_int_equal(imp.n_errors, 2);
  assert_error(&imp, 0, 7, 3, "stage", "stage");
  assert_error(&imp, 1, 12, 2, "scale", "scale");
  assert_int_equal(imp.rows, 4);
  int64_t lines[8];
  assert_int_equal(all_lines(&imp, lines, 8), 4);
  assert_int_equal(lines[0], 2);
  assert_int_equal(lines[1], 8);
  assert_int_equal(lines[2], 14);
  assert_int_equal(lines[3], 16);
  char v[64];
  first_record_str(&imp, "context", v, sizeof v);
  assert_string_equal(v, "line one\nline two\n\nline four");
  hls_import_free(&imp);

  /* Leading blank lines count too. */
  parse(&imp, "\n\ntitle,scale,stage\n\nA,bogus,purpose\n");
  assert_error(&imp, 0, 5, 2, "scale", "scale");
  hls_import_free(&imp);
}

static void test_cell_errors(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage,date,consent,consent_by,themes\n"
        "Good,person,purpose,2026-02-03,,,housing\n"
        "Bad date,person,purpose,2026-02-30,,,\n"
        "Two bad,planet,start,,,,\n"
        ",person,purpose,,,,\n"
        "No consent_by,person,purpose,,peers,,\n"
        "Bad theme,person,purpose,,,,colour:blue\n"
        "Bad consent,person,purpose,,everyone,x,\n");
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 1);
  assert_int_equal(imp.bad_rows, 6);
  assert_int_equal(imp.n_errors, 7);
  assert_int_equal(imp.errors_total, 7);
  assert_error(&imp, 0, 3, 4, "date", "date: 2026-02-30 is not a day of the calendar");
  assert_error(&imp, 1, 4, 2, "scale", "scale: expected person|organisation|place|country");
  assert_error(&imp, 2, 4, 3, "stage", "stage: expected");
  assert_error(&imp, 3, 5, 1, "title", "title: required");
  assert_error(&imp, 4, 6, 6, "consent_by", "consent_by: required");
  assert_error(&imp, 5, 7, 7, "themes", "theme");
  assert_error(&imp, 6, 8, 5, "consent", "consent: expected private|aggregate|peers|network");
  hls_import_free(&imp);

  /* A required field whose column is missing from the row points nowhere. */
  parse(&imp, "title,scale,stage,consent\nA,person,purpose,network\n");
  assert_error(&imp, 0, 2, 0, "", "consent_by: required");
  hls_import_free(&imp);
}

static void test_wrong_cell_count(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage\n"
        "A,person\n"
        "B,person,purpose,extra\n"
        "C,person,purpose\n");
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 1);
  assert_int_equal(imp.bad_rows, 2);
  assert_error(&imp, 0, 2, 0, "", "2 cells, but the header has 3 columns");
  assert_error(&imp, 1, 3, 0, "", "4 cells, but the header has 3 columns");
  hls_import_free(&imp);

  struct text t = {0};
  text_add(&t, "title,scale,stage\nA,person,purpose");
  for (int i = 0; i < HLS_CSV_MAX_COLUMNS + 5; i++) text_add(&t, ",x");
  text_add(&t, "\nB,person,purpose\n");
  parse(&imp, t.p);
  free(t.p);
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 1);
  assert_error(&imp, 0, 2, 0, "", "more than 64 cells");
  hls_import_free(&imp);
}

static void test_crlf(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage,context\r\n"
        "A,person,purpose,\"x\r\ny\"\r\n"
        "\r\n"
        "B,person,bogus,\r\n"
        "C,country,embed,z\r\n");
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 2);
  assert_error(&imp, 0, 5, 3, "stage", "stage");
  int64_t lines[4];
  assert_int_equal(all_lines(&imp, lines, 4), 2);
  assert_int_equal(lines[0], 2);
  assert_int_equal(lines[1], 6);
  char v[64];
  first_record_str(&imp, "stage", v, sizeof v);
  assert_string_equal(v, "purpose"); /* no stray \r */
  first_record_str(&imp, "context", v, sizeof v);
  assert_string_equal(v, "x\ny"); /* a line break in a field is LF, as in an LF file */
  hls_import_free(&imp);

  /* No newline at the end of the file. */
  parse(&imp, "title,scale,stage\r\nA,person,purpose");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  hls_import_free(&imp);
}

/* Old Mac exports end lines with a lone CR: lines still count right. */
static void test_cr_only(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage,context\r"
        "A,person,purpose,\"x\ry\"\r"
        "\r"
        "B,person,bogus,\r"
        "C,country,embed,z\r");
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 2);
  assert_error(&imp, 0, 5, 3, "stage", "stage");
  int64_t lines[4];
  assert_int_equal(all_lines(&imp, lines, 4), 2);
  assert_int_equal(lines[0], 2);
  assert_int_equal(lines[1], 6);
  hls_import_free(&imp);
}

static void test_blank_rows_skipped(void **state) {
  (void)state;
  struct hls_import imp;
  parse(&imp,
        "title,scale,stage\n"
        "\n"
        ",,\n"
        "\"\",\"\",\"\"\n"
        "  ,\t, \n"
        "A,person,purpose\n"
        "\r\n"
        ",,\r\n"
        "\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  int64_t lines[2];
  assert_int_equal(all_lines(&imp, lines, 2), 1);
  assert_int_equal(lines[0], 6);
  hls_import_free(&imp);

  /* Empty cells are left out of the record, not sent as "". */
  parse(&imp, "title,scale,stage,context,author_role\nA,person,purpose,,\n");
  assert_no_errors(&imp);
  char v[64];
  first_record_str(&imp, "context", v, sizeof v);
  assert_string_equal(v, "<absent>");
  first_record_str(&imp, "author_role", v, sizeof v);
  assert_string_equal(v, "<absent>");
  hls_import_free(&imp);
}

static void test_quote_errors(void **state) {
  (void)state;
  struct hls_import imp;
  /* A quoted field never closed: the row's first line is reported. */
  parse(&imp,
        "title,scale,stage,context\n"
        "A,person,purpose,fine\n"
        "B,person,purpose,\"never closed\n"
        "C,person,purpose,more\n");
  assert_true(imp.fatal);
  assert_error(&imp, imp.n_errors - 1, 3, 0, "", "never closed");
  hls_import_free(&imp);

  /* A quote inside an unquoted field. */
  parse(&imp,
        "title,scale,stage\n"
        "A,person,purpose\n"
        "\n"
        "B\"c,person,purpose\n"
        "D,person,purpose\n");
  assert_true(imp.fatal);
  assert_error(&imp, imp.n_errors - 1, 4, 0, "", "malformed CSV");
  hls_import_free(&imp);

  /* Text after a closing quote, on a row that started lines earlier. */
  parse(&imp,
        "title,scale,stage,context\n"
        "A,person,purpose,\"two\n"
        "lines\"trailing\n");
  assert_true(imp.fatal);
  assert_error(&imp, imp.n_errors - 1, 2, 0, "", "malformed CSV");
  hls_import_free(&imp);

  /* In the header. */
  parse(&imp, "ti\"tle,scale,stage\nA,person,purpose\n");
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 0, "", "malformed CSV");
  hls_import_free(&imp);
}

static void test_error_cap(void **state) {
  (void)state;
  const int bad = HLS_IMPORT_MAX_ERRORS + 500;
  struct text t = {0};
  text_add(&t, "title,scale,stage\n");
  for (int i = 0; i < bad; i++) text_add(&t, "R%d,nowhere,purpose\n", i);
  text_add(&t, "Good,person,purpose\n");
  struct hls_import imp;
  parse(&imp, t.p);
  free(t.p);
  assert_false(imp.fatal);
  assert_int_equal(imp.n_errors, HLS_IMPORT_MAX_ERRORS);
  assert_int_equal(imp.errors_total, bad);
  assert_int_equal(imp.bad_rows, bad);
  assert_int_equal(imp.rows, 1);
  /* The first ones are kept. */
  assert_error(&imp, 0, 2, 2, "scale", "scale");
  assert_error(&imp, HLS_IMPORT_MAX_ERRORS - 1, HLS_IMPORT_MAX_ERRORS + 1, 2, "scale", "scale");
  hls_import_free(&imp);
}

static void test_field_size_cap(void **state) {
  (void)state;
  struct hls_import imp;
  struct text t = {0};
  /* Far above any record (a broken quote swallowing the file, say):
   * refused while reading, not buffered whole. */
  text_add(&t, "title,scale,stage,context\nA,person,purpose,ok\nB,person,purpose,\"");
  text_repeat(&t, 'x', 300000);
  text_add(&t, "\"\nC,person,purpose,ok\n");
  parse(&imp, t.p);
  assert_true(imp.fatal);
  assert_error(&imp, imp.n_errors - 1, 3, 0, "", "far larger");
  hls_import_free(&imp);
  t.len = 0;
  /* Unquoted too. */
  text_add(&t, "title,scale,stage,context\nB,person,purpose,");
  text_repeat(&t, 'x', 300000);
  text_add(&t, "\n");
  parse(&imp, t.p);
  assert_true(imp.fatal);
  assert_error(&imp, imp.n_errors - 1, 2, 0, "", "far larger");
  hls_import_free(&imp);
  t.len = 0;
  /* Over the record limit but under the cap: an ordinary cell error. */
  text_add(&t, "title,scale,stage,context\nB,person,purpose,");
  text_repeat(&t, 'x', HLS_TEXT_HARD_MAX + 10);
  text_add(&t, "\nC,person,purpose,");
  text_repeat(&t, 'y', HLS_TEXT_HARD_MAX);
  text_add(&t, "\n");
  parse(&imp, t.p);
  assert_false(imp.fatal);
  assert_int_equal(imp.rows, 1);
  assert_error(&imp, 0, 2, 4, "context", "context");
  hls_import_free(&imp);
  free(t.p);
}

/* --- packed rows ---------------------------------------------------------- */

static void pack_map(msgpack_sbuffer *sb, int n, ...) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_map(&pk, (size_t)n), 0);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    const char *k = va_arg(ap, const char *);
    const char *v = va_arg(ap, const char *);
    assert_int_equal(hls_mp_pack_kv_str(&pk, k, v), 0);
  }
  va_end(ap);
}

static void test_add_packed(void **state) {
  (void)state;
  struct hls_import imp;
  msgpack_sbuffer sb;
  hls_import_init(&imp);

  pack_map(&sb, 4, "title", "From JSON", "scale", "organisation", "stage", "co-design", "themes", "youth");
  assert_int_equal(hls_import_add_packed(&imp, 1, sb.data, sb.size), 0);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(imp.rows, 1);
  assert_int_equal(imp.bad_rows, 0);

  pack_map(&sb, 2, "title", "No stage", "scale", "person");
  assert_int_equal(hls_import_add_packed(&imp, 2, sb.data, sb.size), 0);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(imp.rows, 1);
  assert_int_equal(imp.bad_rows, 1);
  assert_error(&imp, 0, 2, 0, "", "stage: required");

  pack_map(&sb, 3, "title", "Typo", "scael", "person", "stage", "embed");
  assert_int_equal(hls_import_add_packed(&imp, 3, sb.data, sb.size), 0);
  msgpack_sbuffer_destroy(&sb);
  assert_error(&imp, 1, 3, 0, "", "unknown field \"scael\"");

  /* Not a map, and not msgpack at all. */
  const uint8_t not_map[] = {0x93, 0x01, 0x02, 0x03};
  assert_int_equal(hls_import_add_packed(&imp, 4, not_map, sizeof not_map), 0);
  assert_error(&imp, 2, 4, 0, "", "expected an object");
  const uint8_t garbage[] = {0xc1, 0xff};
  assert_int_equal(hls_import_add_packed(&imp, 5, garbage, sizeof garbage), 0);
  assert_int_equal(imp.n_errors, 4);
  assert_int_equal(imp.errors[3].line, 5);
  assert_true(strlen(imp.errors[3].message) > 0);
  assert_int_equal(imp.bad_rows, 4);

  pack_map(&sb, 3, "title", "Second good", "scale", "place", "stage", "reflect");
  assert_int_equal(hls_import_add_packed(&imp, 6, sb.data, sb.size), 0);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(imp.rows, 2);
  assert_int_equal(imp.n_batches, 1);

  /* The good rows are packed {line, record} with the record as given. */
  int64_t lines[4];
  assert_int_equal(all_lines(&imp, lines, 4), 2);
  assert_int_equal(lines[0], 1);
  assert_int_equal(lines[1], 6);
  char v[64];
  first_record_str(&imp, "stage", v, sizeof v);
  assert_string_equal(v, "co-design");
  hls_import_free(&imp);
  /* hls_import_free leaves an empty import, safe to free again. */
  assert_null(imp.batches);
  assert_null(imp.errors);
  hls_import_free(&imp);
}

/* --- encodings and the formula guard -------------------------------------- */

static void parse_n(struct hls_import *imp, const char *data, size_t len) {
  hls_import_init(imp);
  assert_int_equal(hls_import_csv(imp, data, len, NULL, NULL), 0);
}

static void test_not_utf8_text(void **state) {
  (void)state;
  struct hls_import imp;
  /* UTF-16 LE with its byte order mark (Excel's "Unicode Text"), BE, and
   * LE without one. */
  static const char le[] = "\xff\xfet\0i\0t\0l\0e\0\n\0";
  static const char be[] = "\xfe\xff\0t\0i\0t\0l\0e\0\n";
  static const char bare[] = "t\0i\0t\0l\0e\0,\0s\0\n\0";
  const struct {
    const char *data;
    size_t len;
  } files[] = {{le, sizeof le - 1}, {be, sizeof be - 1}, {bare, sizeof bare - 1}};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    parse_n(&imp, files[i].data, files[i].len);
    assert_true(imp.fatal);
    assert_int_equal(imp.n_errors, 1);
    assert_error(&imp, 0, 1, 0, "", "not UTF-8 text");
    assert_non_null(strstr(imp.errors[0].message, "CSV UTF-8"));
    assert_int_equal(imp.rows, 0);
    hls_import_free(&imp);
  }
  /* A workbook given as CSV. */
  static const char zip[] = "PK\x03\x04\x14\0\x06\0";
  parse_n(&imp, zip, sizeof zip - 1);
  assert_true(imp.fatal);
  assert_error(&imp, 0, 1, 0, "", "spreadsheet workbook");
  hls_import_free(&imp);
  /* UTF-8 with a byte order mark is still read. */
  parse(&imp, "\xef\xbb\xbftitle,scale,stage\nCaf\xc3\xa9,person,purpose\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  hls_import_free(&imp);
}

static void test_formula_guard(void **state) {
  (void)state;
  /* What the writer guards: a formula's first character, or a ' that
   * the reader would take as a guard. */
  const char *guarded[] = {"=1+1", "+44 20", "-- notes", "@sum", "\tx", "\rx", "'=x", "''", "'-", NULL};
  const char *plain[] = {"", "a=b", "x-", "'", "'a", "'Twas", " =1", "1-2", NULL};
  for (int i = 0; guarded[i]; i++) assert_true(hls_csv_guard_needed(guarded[i], strlen(guarded[i])));
  for (int i = 0; plain[i]; i++) assert_false(hls_csv_guard_needed(plain[i], strlen(plain[i])));
  /* Writing then reading gives every text back: the ' is added exactly
   * when the reader takes it off. */
  const char *texts[] = {"=1+1", "+44", "-x", "@a", "'=x", "''", "\'\'\'", "'", "'a", "a", "", "'-", "'@'", NULL};
  for (int i = 0; texts[i]; i++) {
    char cell[16];
    size_t n = strlen(texts[i]);
    bool g = hls_csv_guard_needed(texts[i], n);
    snprintf(cell, sizeof cell, "%s%s", g ? "'" : "", texts[i]);
    assert_int_equal(hls_csv_guarded(cell, strlen(cell)), g);
    assert_string_equal(cell + (g ? 1 : 0), texts[i]);
  }
  /* The reader takes the guard off every cell of a row. */
  struct hls_import imp;
  char v[64];
  parse(&imp,
        "title,scale,stage,learnt,context,tried,happened\n"
        "\"'=HYPERLINK(\"\"x\"\")\",person,purpose,'-- a list,''=kept,'Twas so,\'\'\'\n");
  assert_no_errors(&imp);
  assert_int_equal(imp.rows, 1);
  first_record_str(&imp, "title", v, sizeof v);
  assert_string_equal(v, "=HYPERLINK(\"x\")");
  first_record_str(&imp, "learnt", v, sizeof v);
  assert_string_equal(v, "-- a list");
  first_record_str(&imp, "context", v, sizeof v);
  assert_string_equal(v, "'=kept");
  first_record_str(&imp, "tried", v, sizeof v);
  assert_string_equal(v, "'Twas so");
  first_record_str(&imp, "happened", v, sizeof v);
  assert_string_equal(v, "''");
  hls_import_free(&imp);
  /* A guarded enumerated value reads as the value. */
  parse(&imp, "title,scale,stage\nA,'-person,purpose\n");
  assert_int_equal(imp.bad_rows, 1);
  assert_error(&imp, 0, 2, 2, "scale", "expected person");
  hls_import_free(&imp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_mapping),
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_batches),
      cmocka_unit_test(test_progress),
      cmocka_unit_test(test_line_numbers),
      cmocka_unit_test(test_cell_errors),
      cmocka_unit_test(test_wrong_cell_count),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_cr_only),
      cmocka_unit_test(test_blank_rows_skipped),
      cmocka_unit_test(test_quote_errors),
      cmocka_unit_test(test_error_cap),
      cmocka_unit_test(test_field_size_cap),
      cmocka_unit_test(test_add_packed),
      cmocka_unit_test(test_not_utf8_text),
      cmocka_unit_test(test_formula_guard),
  };
  return cmocka_run_group_tests_name("csvimport", tests, NULL, NULL);
}
