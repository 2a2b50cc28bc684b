#include "out.h"

#include <csv.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "csvimport.h"
#include "patfmt.h"

int hls_out_print_json_value(const json_t *j) {
  /* 15 significant digits: 27.277, not 27.277000000000001 */
  if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) != 0)
    return HLS_EIO;
  fputc('\n', stdout);
  return 0;
}

int hls_out_print_json(const struct hls_mp_value *v) {
  json_t *j = hls_mpjson_from_mp(v);
  if (j == NULL) return HLS_ENOMEM;
  int rc = hls_out_print_json_value(j);
  json_decref(j);
  return rc;
}

void hls_out_json_list_begin(struct hls_out_json_list *l, FILE *f) {
  l->f = f;
  l->n = 0;
}

int hls_out_json_list_add(struct hls_out_json_list *l, const struct hls_mp_value *v) {
  json_t *j = hls_mpjson_from_mp(v);
  char *text = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
                         : NULL;
  json_decref(j);
  if (text == NULL) return HLS_ENOMEM;
  /* As jansson prints an array: each item on its own lines, indented one
   * step, after a comma. */
  fputs(l->n++ == 0 ? "[\n  " : ",\n  ", l->f);
  for (const char *p = text; *p; p++) {
    fputc(*p, l->f);
    if (*p == '\n') fputs("  ", l->f);
  }
  free(text);
  return ferror(l->f) ? HLS_EIO : 0;
}

int hls_out_json_list_end(struct hls_out_json_list *l) {
  fputs(l->n == 0 ? "[]\n" : "\n]\n", l->f);
  return fflush(l->f) != 0 || ferror(l->f) ? HLS_EIO : 0;
}

const char *hls_out_str(const struct hls_mp_value *m, const char *key, char *buf, size_t size) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  buf[0] = '\0';
  if (v != NULL && v->type == HLS_MP_STR) {
    size_t n = v->len < size - 1 ? v->len : size - 1;
    /* Do not cut a UTF-8 sequence in half. */
    while (n > 0 && n < v->len && ((unsigned char)v->v.str[n] & 0xc0) == 0x80) n--;
    memcpy(buf, v->v.str, n);
    buf[n] = '\0';
  }
  return buf;
}

int64_t hls_out_int(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL) return 0;
  if (v->type == HLS_MP_UINT) return (int64_t)v->v.u;
  if (v->type == HLS_MP_INT) return v->v.i;
  return 0;
}

bool hls_out_bool(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  return v != NULL && v->type == HLS_MP_BOOL && v->v.b;
}

void hls_out_themes(const struct hls_mp_value *m, char *buf, size_t size, bool with_kind) {
  const struct hls_mp_value *themes = hls_mp_get(m, "themes");
  size_t o = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; themes && themes->type == HLS_MP_ARRAY && i < themes->len && o < size; i++) {
    char name[80], kind[24];
    hls_out_str(&themes->v.items[i], "name", name, sizeof name);
    hls_out_str(&themes->v.items[i], "kind", kind, sizeof kind);
    int n = with_kind ? snprintf(buf + o, size - o, "%s%s (%s)", i ? ", " : "", name, kind)
                      : snprintf(buf + o, size - o, "%s%s:%s", i ? ", " : "", kind, name);
    if (n < 0) break;
    o += (size_t)n;
  }
}

void hls_out_paragraph(const struct hls_mp_value *m, const char *key, const char *heading, const char *indent) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL || v->type != HLS_MP_STR || v->len == 0) return;
  fputs(heading, stdout);
  /* A line ends at LF, CR LF or a lone CR: a CR printed as it is would
   * move the cursor back over the line's start and hide it (text from
   * another node, or kept before hlsd stored line breaks as LF). */
  const char *p = v->v.str, *end = v->v.str + v->len;
  while (p < end) {
    const char *stop = p;
    while (stop < end && *stop != '\n' && *stop != '\r') stop++;
    printf("%s%.*s\n", indent, (int)(stop - p), p);
    if (stop < end && *stop == '\r' && stop + 1 < end && stop[1] == '\n') stop++;
    p = stop < end ? stop + 1 : end;
  }
}

/* --- tables ---------------------------------------------------------------- */

size_t hls_out_term_width(void) {
  if (!isatty(STDOUT_FILENO)) return 0;
  size_t width = 80;
  const char *cols = getenv("COLUMNS");
  struct winsize ws;
  char *end = NULL;
  long v = cols != NULL ? strtol(cols, &end, 10) : 0;
  if (cols != NULL && cols[0] != '\0' && *end == '\0' && v > 0)
    width = v > HLS_OUT_MAX_WIDTH ? HLS_OUT_MAX_WIDTH : (size_t)v;
  else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    width = ws.ws_col;
  return width < HLS_OUT_MIN_WIDTH ? HLS_OUT_MIN_WIDTH : width;
}

struct hls_table {
  size_t columns, rows, cap;
  char **cells;       /* rows x columns, row 0 the headers, owned */
  size_t *least;      /* per column: 0 never cut, else the width it may be cut to */
  bool *right;
  size_t width;       /* the width to fit, 0: no limit */
  /* Set by the first print (hls_table_flush): the widths every later
   * row is printed with, or expanded blocks; and the rows printed. */
  bool frozen, expanded;
  size_t *fitted;     /* owned, when frozen and not expanded */
  size_t printed;
};

struct hls_table *hls_table_new(size_t columns, const char *const *headers) {
  struct hls_table *t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  t->columns = columns;
  t->width = hls_out_term_width();
  t->least = calloc(columns, sizeof *t->least);
  t->right = calloc(columns, sizeof *t->right);
  if (t->least == NULL || t->right == NULL || hls_table_add(t, headers) != 0) {
    hls_table_free(t);
    return NULL;
  }
  return t;
}

void hls_table_set_shrink(struct hls_table *t, size_t column, size_t least) {
  if (column < t->columns) t->least[column] = least > 0 ? least : 1;
}

void hls_table_set_right(struct hls_table *t, size_t column) {
  if (column < t->columns) t->right[column] = true;
}

void hls_table_set_width(struct hls_table *t, size_t width) { t->width = width; }

int hls_table_add(struct hls_table *t, const char *const *cells) {
  if (t->rows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **p = realloc(t->cells, cap * t->columns * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    t->cells = p;
    t->cap = cap;
  }
  for (size_t i = 0; i < t->columns; i++) {
    char *cell = strdup(cells[i] ? cells[i] : "");
    if (cell == NULL) {
      while (i-- > 0) free(t->cells[t->rows * t->columns + i]);
      return HLS_ENOMEM;
    }
    /* A cell is one line: a line break or tab in it (free text, a
     * search's snippet) is a space, so that it neither breaks the row
     * nor, as a CR, moves the cursor back over it. */
    for (char *q = cell; *q; q++)
      if ((unsigned char)*q < 0x20 || *q == 0x7f) *q = ' ';
    t->cells[t->rows * t->columns + i] = cell;
  }
  t->rows++;
  return 0;
}

/* Print cell padded to width (on the left for a right-aligned column),
 * cut to width first when it is wider and may be cut (else whole). No
 * padding after the last column. */
static void print_cell(FILE *f, const char *cell, size_t width, bool right, bool last, bool may_cut) {
  char *shown = NULL;
  size_t w = hls_patfmt_width(cell);
  if (w > width && may_cut && (shown = hls_patfmt_cut(cell, width)) != NULL) {
    cell = shown;
    w = hls_patfmt_width(cell);
  }
  size_t pad = w < width ? width - w : 0;
  if (right) fprintf(f, "%*s", (int)pad, "");
  fputs(cell, f);
  if (!right && !last) fprintf(f, "%*s", (int)pad, "");
  free(shown);
}

/* One block per row, a line per column: "HEADER  value". For a table
 * whose uncuttable columns alone are wider than t->width (node ids): no
 * id is cut, and only free text is cut to the line. */
static void print_expanded(struct hls_table *t, FILE *f) {
  size_t label = 0;
  for (size_t c = 0; c < t->columns; c++) {
    size_t w = hls_patfmt_width(t->cells[c]);
    if (w > label) label = w;
  }
  size_t room = t->width > label + 2 + 1 ? t->width - label - 2 : 1;
  for (size_t r = 1; r < t->rows; r++) {
    if (t->printed++ > 0) fputc('\n', f);
    for (size_t c = 0; c < t->columns; c++) {
      const char *cell = t->cells[r * t->columns + c];
      print_cell(f, t->cells[c], label, false, false, true);
      fputs("  ", f);
      print_cell(f, cell, t->least[c] > 0 ? room : hls_patfmt_width(cell), false, true, true);
      fputc('\n', f);
    }
  }
}

/* The widths of the columns, from the rows so far: t->fitted, or
 * t->expanded when the uncuttable columns alone are too wide. */
static void freeze(struct hls_table *t) {
  size_t *natural = calloc(t->columns, sizeof *natural), *least = calloc(t->columns, sizeof *least);
  t->fitted = calloc(t->columns, sizeof *t->fitted);
  t->frozen = true;
  if (natural == NULL || least == NULL || t->fitted == NULL) {
    /* Out of memory: every column as wide as its cells. */
    free(t->fitted);
    t->fitted = NULL;
    goto done;
  }
  size_t sum_least = 2 * (t->columns - 1);
  for (size_t c = 0; c < t->columns; c++) {
    for (size_t r = 0; r < t->rows; r++) {
      size_t w = hls_patfmt_width(t->cells[r * t->columns + c]);
      if (w > natural[c]) natural[c] = w;
    }
    /* A cut column keeps its header whole. */
    size_t header = hls_patfmt_width(t->cells[c]);
    least[c] = t->least[c] == 0 || t->least[c] >= natural[c] ? natural[c]
               : t->least[c] > header                        ? t->least[c]
                                                              : header;
    sum_least += least[c];
  }
  if (t->width > 0 && sum_least > t->width) {
    t->expanded = true;
    goto done;
  }
  hls_patfmt_fit(natural, least, t->columns, 2, t->width, t->fitted);
done:
  free(natural);
  free(least);
}

static void print_row(struct hls_table *t, size_t r, FILE *f) {
  for (size_t c = 0; c < t->columns; c++) {
    bool last = c + 1 == t->columns;
    const char *cell = t->cells[r * t->columns + c];
    /* Rows after the first print keep its widths: free text is cut to
     * them on a terminal (never in a pipe, where nothing is cut), an id
     * or a number is never cut (it shifts the rest of its row). */
    size_t width = t->fitted != NULL ? t->fitted[c] : hls_patfmt_width(cell);
    print_cell(f, cell, width, t->right[c], last, t->least[c] > 0 && (t->printed == 0 || t->width > 0));
    if (!last) fputs("  ", f);
  }
  fputc('\n', f);
}

void hls_table_flush(struct hls_table *t, FILE *f) {
  bool first = !t->frozen;
  if (first) freeze(t);
  if (t->expanded) {
    print_expanded(t, f);
  } else {
    if (first) print_row(t, 0, f);
    for (size_t r = 1; r < t->rows; r++) print_row(t, r, f);
    t->printed += t->rows - 1;
  }
  for (size_t i = t->columns; i < t->rows * t->columns; i++) free(t->cells[i]);
  t->rows = 1;
}

void hls_table_print(struct hls_table *t, FILE *f) { hls_table_flush(t, f); }

void hls_table_free(struct hls_table *t) {
  if (t == NULL) return;
  free(t->fitted);
  for (size_t i = 0; i < t->rows * t->columns; i++) free(t->cells[i]);
  free(t->cells);
  free(t->least);
  free(t->right);
  free(t);
}

void hls_out_bytes(int64_t bytes, char *buf, size_t size) {
  if (bytes < 1024)
    snprintf(buf, size, "%lld B", (long long)bytes);
  else if (bytes < 1024 * 1024)
    snprintf(buf, size, "%.1f KiB", (double)bytes / 1024.0);
  else if (bytes < 1024ll * 1024 * 1024)
    snprintf(buf, size, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
  else
    snprintf(buf, size, "%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
}

void hls_out_duration(int64_t secs, char *buf, size_t size) {
  if (secs < 60)
    snprintf(buf, size, "%llds", (long long)secs);
  else if (secs < 3600)
    snprintf(buf, size, "%lldm %llds", (long long)(secs / 60), (long long)(secs % 60));
  else if (secs < 86400)
    snprintf(buf, size, "%lldh %lldm", (long long)(secs / 3600), (long long)(secs / 60 % 60));
  else
    snprintf(buf, size, "%lldd %lldh", (long long)(secs / 86400), (long long)(secs / 3600 % 24));
}

int hls_out_csv_field(const char *text, bool last) {
  size_t len = strlen(text);
  if (hls_csv_guard_needed(text, len)) {
    /* csv_fwrite quotes the whole field: write the ' inside its quotes. */
    char *guarded = malloc(len + 2);
    if (guarded == NULL) return HLS_ENOMEM;
    guarded[0] = '\'';
    memcpy(guarded + 1, text, len + 1);
    int rc = csv_fwrite(stdout, guarded, len + 1);
    free(guarded);
    if (rc != 0) return HLS_EIO;
  } else if (csv_fwrite(stdout, text, len) != 0) {
    return HLS_EIO;
  }
  return fputc(last ? '\n' : ',', stdout) == EOF ? HLS_EIO : 0;
}
