/* Output for hls: --json through jansson, aligned tables for people. */
#ifndef HLS_OUT_H
#define HLS_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hls_limits.h"
#include "mp.h"
#include "mpjson.h" /* hls_mpjson_from_mp, hls_mpjson_pack */

/* Print v as indented JSON and a newline on stdout. */
int hls_out_print_json(const struct hls_mp_value *v);
/* Print j (not consumed) the same way. */
int hls_out_print_json_value(const json_t *j);

/* A JSON array printed an item at a time, as a listing's pages come
 * (hls items --json): the same text hls_out_print_json prints for the
 * whole array, in bounded memory. */
struct hls_out_json_list {
  FILE *f; /* borrowed */
  size_t n;
};
void hls_out_json_list_begin(struct hls_out_json_list *l, FILE *f);
int hls_out_json_list_add(struct hls_out_json_list *l, const struct hls_mp_value *v);
/* "]" (or "[]" for no item) and a newline; HLS_EIO if writing failed. */
int hls_out_json_list_end(struct hls_out_json_list *l);

/* One CSV field on stdout, always quoted (commas, quotes and line breaks
 * stay), with the formula guard of hls_csv_guard_needed (csvimport.h),
 * then ',' or, for the last of a row, a newline. 0, HLS_EIO or
 * HLS_ENOMEM. */
int hls_out_csv_field(const char *text, bool last);

/* String member of a map as a C string in buf ("" if absent or nil). */
const char *hls_out_str(const struct hls_mp_value *m, const char *key, char *buf, size_t size);
int64_t hls_out_int(const struct hls_mp_value *m, const char *key);
/* Whether boolean member key of m is true (false if absent or not a boolean). */
bool hls_out_bool(const struct hls_mp_value *m, const char *key);
/* Room for a record's themes as hls_out_themes writes them, every one:
 * "NAME (aspiration), " is at most HLS_THEME_MAX + 15 bytes. */
#define HLS_OUT_THEMES_SIZE (HLS_THEMES_PER_RECORD * (HLS_THEME_MAX + 16) + 1)
/* The "themes" list of m ([{name, kind}]) on one line in buf:
 * "housing (problem), peer-support (strength)" with with_kind, else
 * "problem:housing, strength:peer-support". */
void hls_out_themes(const struct hls_mp_value *m, char *buf, size_t size, bool with_kind);
/* Print heading, then each line of the text member key of m after indent;
 * nothing when the text is absent or empty. */
void hls_out_paragraph(const struct hls_mp_value *m, const char *key, const char *heading, const char *indent);

/* The width tables and text fit: 0 (no limit: every value whole) when
 * stdout is not a terminal; on one, COLUMNS when it is set to a number,
 * else the terminal's width (TIOCGWINSZ), else 80; never less than
 * HLS_OUT_MIN_WIDTH. */
#define HLS_OUT_MIN_WIDTH 20
#define HLS_OUT_MAX_WIDTH 10000
size_t hls_out_term_width(void);

/* A table: add cells row by row, then print with aligned columns. Widths
 * count columns on screen (UTF-8, wide characters two). A table fits
 * hls_out_term_width() (or hls_table_set_width): when the cells are
 * wider, the columns marked with hls_table_set_shrink (free text: titles,
 * themes, place names) are cut, the widest first, and cut values end in
 * "…"; other columns (ids, dates, counts, states) are never cut. When even
 * that cannot fit, each row prints as a block of "HEADER  value" lines. */
struct hls_table;
struct hls_table *hls_table_new(size_t columns, const char *const *headers);
/* Cells are copied. */
int hls_table_add(struct hls_table *t, const char *const *cells);
/* column may be cut to fit, down to least columns (never below its
 * header's width). */
void hls_table_set_shrink(struct hls_table *t, size_t column, size_t least);
void hls_table_set_right(struct hls_table *t, size_t column);
/* Fit width instead (0: no limit), e.g. the terminal's less an indent. */
void hls_table_set_width(struct hls_table *t, size_t width);
void hls_table_print(struct hls_table *t, FILE *f);
/* Print the rows added since the last flush, and drop them: a table that
 * comes in pages, in bounded memory. The first flush prints the headers
 * and fixes the columns' widths (or the expanded form) from its rows;
 * later rows keep them (free text wider than its column is cut on a
 * terminal; ids and numbers are never cut, so a wider one shifts the rest
 * of its row). hls_table_print is one flush of every row. */
void hls_table_flush(struct hls_table *t, FILE *f);
void hls_table_free(struct hls_table *t);

void hls_out_bytes(int64_t bytes, char *buf, size_t size);    /* "1.2 MiB" */
void hls_out_duration(int64_t secs, char *buf, size_t size);  /* "2d 3h", "5m 2s" */

#endif
