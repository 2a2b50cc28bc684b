/* Output for hls: --json through jansson, aligned tables for people. */
#ifndef HLS_OUT_H
#define HLS_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mp.h"

/* msgpack value -> JSON (binary values become base64 strings). NULL on
 * out of memory. */
json_t *hls_out_to_json(const struct hls_mp_value *v);
/* JSON -> msgpack (for --file input). Integers, reals, strings, bools,
 * null, arrays and objects map one to one. */
int hls_out_pack_json(msgpack_packer *pk, const json_t *j);
/* Print v as indented JSON and a newline on stdout. */
int hls_out_print_json(const struct hls_mp_value *v);
/* Print j (not consumed) the same way. */
int hls_out_print_json_value(const json_t *j);

/* String member of a map as a C string in buf ("" if absent or nil). */
const char *hls_out_str(const struct hls_mp_value *m, const char *key, char *buf, size_t size);
int64_t hls_out_int(const struct hls_mp_value *m, const char *key);
/* The "themes" list of m ([{name, kind}]) on one line in buf:
 * "housing (problem), peer-support (strength)" with with_kind, else
 * "problem:housing, strength:peer-support". */
void hls_out_themes(const struct hls_mp_value *m, char *buf, size_t size, bool with_kind);
/* Print heading, then each line of the text member key of m after indent;
 * nothing when the text is absent or empty. */
void hls_out_paragraph(const struct hls_mp_value *m, const char *key, const char *heading, const char *indent);

/* A table: add cells row by row, then print with aligned columns. */
struct hls_table;
struct hls_table *hls_table_new(size_t columns, const char *const *headers);
/* Cells are copied. Widths count characters on screen (UTF-8 aware);
 * cells wider than max_width (0: unlimited) are cut with an ellipsis. */
void hls_table_set_max_width(struct hls_table *t, size_t column, size_t max_width);
void hls_table_set_right(struct hls_table *t, size_t column);
int hls_table_add(struct hls_table *t, const char *const *cells);
void hls_table_print(struct hls_table *t, FILE *f);
void hls_table_free(struct hls_table *t);

void hls_out_bytes(int64_t bytes, char *buf, size_t size);    /* "1.2 MiB" */
void hls_out_duration(int64_t secs, char *buf, size_t size);  /* "2d 3h", "5m 2s" */

#endif
