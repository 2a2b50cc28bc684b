#include "csvimport.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hls_limits.h"
#include "mp.h"
#include "record.h"

/* libcsv grows one buffer per field; refuse fields no record could hold
 * rather than let a broken quote swallow a whole file into memory. */
#define CSV_FIELD_BUFFER_MAX (4u * HLS_TEXT_HARD_MAX)

void hls_import_init(struct hls_import *imp) { memset(imp, 0, sizeof *imp); }

void hls_import_free(struct hls_import *imp) {
  for (size_t i = 0; i < imp->n_batches; i++) msgpack_sbuffer_destroy(&imp->batches[i].rows);
  free(imp->batches);
  free(imp->errors);
  hls_import_init(imp);
}

/* Copy src into dst, cut to fit (messages are ASCII-led, a cut UTF-8 tail
 * is sanitised by the printer). */
static void copy_cut(char *dst, size_t size, const char *src) {
  size_t n = strnlen(src, size - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void add_error(struct hls_import *imp, int64_t line, int column, const char *column_name, const char *msg) {
  imp->errors_total++;
  if (imp->n_errors >= HLS_IMPORT_MAX_ERRORS) return;
  if (imp->errors == NULL) {
    imp->errors = calloc(HLS_IMPORT_MAX_ERRORS, sizeof *imp->errors);
    if (imp->errors == NULL) return;
  }
  struct hls_import_error *e = &imp->errors[imp->n_errors++];
  e->line = line;
  e->column = column;
  copy_cut(e->column_name, sizeof e->column_name, column_name ? column_name : "");
  copy_cut(e->message, sizeof e->message, msg);
}

void hls_import_refused(struct hls_import *imp, int64_t line, const char *message) {
  int column = 0;
  const char *name = NULL;
  for (int f = 0; f < HLS_IMPORT_FIELDS_MAX && hls_record_fields[f]; f++) {
    size_t n = strlen(hls_record_fields[f]);
    if (strncmp(message, hls_record_fields[f], n) == 0 && message[n] == ':') {
      column = imp->column_of_field[f];
      name = hls_record_fields[f];
    }
  }
  add_error(imp, line, column, column > 0 ? name : NULL, message);
  imp->refused_errors++;
  imp->bad_rows++;
}

/* hls's own errors stop the streaming (nothing of the file will be
 * imported); rows hlsd refused do not (the rest is still checked by it). */
static bool streaming_stopped(const struct hls_import *imp) {
  return imp->on_batch != NULL &&
         (imp->errors_total > imp->refused_errors || imp->fatal || imp->batch_rc != 0);
}

/* Stream the current batch out and empty it. */
static int hand_over(struct hls_import *imp) {
  struct hls_import_batch *b = &imp->batches[imp->n_batches - 1];
  if (b->count == 0 || streaming_stopped(imp)) return 0;
  imp->batch_rc = imp->on_batch(imp->batch_ctx, b);
  b->rows.size = 0;
  b->count = 0;
  return imp->batch_rc;
}

int hls_import_flush(struct hls_import *imp) {
  if (imp->on_batch == NULL || imp->n_batches == 0) return 0;
  return hand_over(imp);
}

/* The batch being filled, starting a new one (or, streaming, handing the
 * full one over) when needed. */
static struct hls_import_batch *current_batch(struct hls_import *imp) {
  if (imp->n_batches > 0 && imp->batches[imp->n_batches - 1].count >= HLS_IMPORT_BATCH_ROWS && imp->on_batch != NULL) {
    hand_over(imp);
    return &imp->batches[imp->n_batches - 1];
  }
  if (imp->n_batches == 0 || imp->batches[imp->n_batches - 1].count >= HLS_IMPORT_BATCH_ROWS) {
    struct hls_import_batch *p = realloc(imp->batches, (imp->n_batches + 1) * sizeof *p);
    if (p == NULL) return NULL;
    imp->batches = p;
    msgpack_sbuffer_init(&p[imp->n_batches].rows);
    p[imp->n_batches].count = 0;
    imp->n_batches++;
  }
  return &imp->batches[imp->n_batches - 1];
}

/* Append {line, record: <map bytes>} to the current batch. */
static int add_row(struct hls_import *imp, int64_t line, const void *map, size_t len) {
  if (streaming_stopped(imp)) { /* nothing more will be sent: just count */
    imp->rows++;
    return 0;
  }
  struct hls_import_batch *b = current_batch(imp);
  if (b == NULL) return HLS_ENOMEM;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b->rows, msgpack_sbuffer_write);
  if (msgpack_pack_map(&pk, 2) != 0 || hls_mp_pack_kv_i64(&pk, "line", line) != 0 ||
      hls_mp_pack_cstr(&pk, "record") != 0 || msgpack_sbuffer_write(&b->rows, map, len) != 0)
    return HLS_ENOMEM;
  b->count++;
  imp->rows++;
  return 0;
}

int hls_import_add_packed(struct hls_import *imp, int64_t line, const void *map, size_t len) {
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  int rc = hls_mp_tree_decode(&tree, map, len, false, HLS_CTL_MAX_VALUES, &why);
  if (rc == HLS_ENOMEM) return rc;
  if (rc == 0) {
    struct hls_record r;
    hls_record_init(&r);
    rc = hls_record_apply(&r, &tree.root, NULL, &why);
    if (rc == 0) rc = hls_record_validate(&r, &why);
    hls_record_clear(&r);
    hls_mp_tree_free(&tree);
  }
  if (rc == HLS_ENOMEM) return rc;
  if (rc != 0) {
    imp->bad_rows++;
    add_error(imp, line, 0, NULL, why.text[0] ? why.text : hls_strerror(rc));
    return 0;
  }
  return add_row(imp, line, map, len);
}

/* --- CSV ------------------------------------------------------------------ */

static bool formula_start(char c) { return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'; }

bool hls_csv_guarded(const char *cell, size_t len) {
  return len >= 2 && cell[0] == '\'' && (formula_start(cell[1]) || cell[1] == '\'');
}

bool hls_csv_guard_needed(const char *text, size_t len) {
  return (len >= 1 && formula_start(text[0])) || hls_csv_guarded(text, len);
}

struct cell {
  char *text; /* owned */
  size_t len;
};

struct csv_state {
  struct hls_import *imp;
  int64_t line;       /* line being fed */
  int64_t row_line;   /* first line of the row being parsed */
  bool at_row_start;
  bool header_done;
  int n_columns;
  int field_of_column[HLS_CSV_MAX_COLUMNS]; /* index into hls_record_fields */
  struct cell cells[HLS_CSV_MAX_COLUMNS + 1];
  int n_cells;
  bool too_many_cells;
  int rc; /* first hard error (out of memory) */
  msgpack_sbuffer map; /* scratch: the row's record map */
};

static void on_field(void *field, size_t len, void *data) {
  struct csv_state *s = data;
  if (s->n_cells >= HLS_CSV_MAX_COLUMNS) {
    s->too_many_cells = true;
    return;
  }
  struct cell *c = &s->cells[s->n_cells++];
  c->text = malloc(len + 1);
  if (c->text == NULL) {
    s->rc = HLS_ENOMEM;
    c->len = 0;
    return;
  }
  /* A line break inside a quoted field is a line feed, whatever the
   * file's line ends: a CR LF file and its LF copy give the same records
   * (and are duplicates of each other). */
  const char *in = field;
  size_t out = 0;
  size_t i = hls_csv_guarded(in, len) ? 1 : 0;
  for (; i < len; i++)
    if (!(in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')) c->text[out++] = in[i];
  c->text[out] = '\0';
  c->len = out;
}

static void clear_cells(struct csv_state *s) {
  for (int i = 0; i < s->n_cells; i++) free(s->cells[i].text);
  s->n_cells = 0;
  s->too_many_cells = false;
}

static void allowed_columns(char *out, size_t size) {
  out[0] = '\0';
  for (size_t i = 0; hls_record_fields[i]; i++) {
    if (i) strncat(out, ", ", size - strlen(out) - 1);
    strncat(out, hls_record_fields[i], size - strlen(out) - 1);
  }
}

static void take_header(struct csv_state *s) {
  char msg[512], allowed[256];
  bool seen[32] = {false};
  struct hls_import *imp = s->imp;
  s->header_done = true;
  if (s->too_many_cells) {
    snprintf(msg, sizeof msg, "more than %d columns", HLS_CSV_MAX_COLUMNS);
    add_error(imp, s->row_line, 0, NULL, msg);
    imp->fatal = true;
    return;
  }
  s->n_columns = s->n_cells;
  for (int i = 0; i < s->n_cells; i++) {
    const char *name = s->cells[i].text;
    /* Excel adds a byte order mark to UTF-8 exports. */
    if (i == 0 && strncmp(name, "\xef\xbb\xbf", 3) == 0) name += 3;
    /* "title, scale" as typed by hand: spaces around a name are forgiven. */
    size_t name_len = strlen(name);
    while (name_len > 0 && (*name == ' ' || *name == '\t')) name++, name_len--;
    while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t')) name_len--;
    int found = -1;
    for (int f = 0; hls_record_fields[f]; f++)
      if (strlen(hls_record_fields[f]) == name_len && strncasecmp(name, hls_record_fields[f], name_len) == 0) found = f;
    if (name_len == 0) {
      /* A column with no name (a spreadsheet's trailing empty column):
       * its cells must be empty (take_row). */
      s->field_of_column[i] = -1;
      continue;
    }
    if (found < 0) {
      allowed_columns(allowed, sizeof allowed);
      snprintf(msg, sizeof msg, "unknown column \"%.*s\" (columns: %.250s)", (int)(name_len < 40 ? name_len : 40), name,
               allowed);
      add_error(imp, s->row_line, i + 1, NULL, msg);
      imp->fatal = true;
    } else if (seen[found]) {
      snprintf(msg, sizeof msg, "column \"%s\" appears twice", hls_record_fields[found]);
      add_error(imp, s->row_line, i + 1, hls_record_fields[found], msg);
      imp->fatal = true;
    } else {
      seen[found] = true;
      if (found < HLS_IMPORT_FIELDS_MAX) imp->column_of_field[found] = i + 1;
    }
    s->field_of_column[i] = found;
  }
  static const char *const required[] = {"title", "scale", "stage"};
  for (size_t r = 0; r < 3; r++) {
    bool have = false;
    for (int f = 0; hls_record_fields[f]; f++)
      if (strcmp(hls_record_fields[f], required[r]) == 0 && seen[f]) have = true;
    if (!have) {
      snprintf(msg, sizeof msg, "the header has no \"%s\" column, which every record needs", required[r]);
      add_error(imp, s->row_line, 0, NULL, msg);
      imp->fatal = true;
    }
  }
}

/* Check one cell as the daemon will, with its column in the error. */
static int check_cell(const char *field, const struct cell *c, struct hls_record *r, struct hls_why *why) {
  struct hls_mp_kv kv = {
      .key = {.type = HLS_MP_STR, .len = (uint32_t)strlen(field), .v.str = field},
      .val = {.type = HLS_MP_STR, .len = (uint32_t)c->len, .v.str = c->text},
  };
  struct hls_mp_value m = {.type = HLS_MP_MAP, .len = 1, .v.kv = &kv};
  return hls_record_apply(r, &m, NULL, why);
}

static bool blank_row(const struct csv_state *s) {
  for (int i = 0; i < s->n_cells; i++)
    if (s->cells[i].len > 0) return false;
  return true;
}

static void take_row(struct csv_state *s) {
  struct hls_import *imp = s->imp;
  char msg[256];
  if (blank_row(s)) return; /* spreadsheets leave rows of empty cells */
  if (s->too_many_cells || s->n_cells != s->n_columns) {
    snprintf(msg, sizeof msg, "%s%d cells, but the header has %d columns",
             s->too_many_cells ? "more than " : "", s->n_cells, s->n_columns);
    imp->bad_rows++;
    add_error(imp, s->row_line, 0, NULL, msg);
    return;
  }
  struct hls_record r;
  struct hls_why why;
  bool bad = false;
  int present = 0;
  hls_record_init(&r);
  for (int i = 0; i < s->n_cells; i++) {
    if (s->cells[i].len == 0) continue;
    if (s->field_of_column[i] < 0) {
      add_error(imp, s->row_line, i + 1, NULL, "a value in a column that the header does not name");
      bad = true;
      continue;
    }
    present++;
    const char *field = hls_record_fields[s->field_of_column[i]];
    why.text[0] = '\0';
    int rc = check_cell(field, &s->cells[i], &r, &why);
    if (rc == HLS_ENOMEM) s->rc = rc;
    if (rc != 0) {
      add_error(imp, s->row_line, i + 1, field, why.text[0] ? why.text : hls_strerror(rc));
      bad = true;
    }
  }
  if (!bad) {
    why.text[0] = '\0';
    if (hls_record_validate(&r, &why) != 0) {
      /* Point at the column of the missing field. */
      int column = 0;
      const char *name = NULL;
      for (int i = 0; i < s->n_cells; i++) {
        if (s->field_of_column[i] < 0) continue;
        const char *field = hls_record_fields[s->field_of_column[i]];
        if (strncmp(why.text, field, strlen(field)) == 0 && why.text[strlen(field)] == ':') {
          column = i + 1;
          name = field;
        }
      }
      add_error(imp, s->row_line, column, name, why.text);
      bad = true;
    }
  }
  hls_record_clear(&r);
  if (bad) {
    imp->bad_rows++;
    return;
  }
  /* Pack the row's non-empty cells as the record map. */
  s->map.size = 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->map, msgpack_sbuffer_write);
  int rc = msgpack_pack_map(&pk, (size_t)present) == 0 ? 0 : HLS_ENOMEM;
  for (int i = 0; i < s->n_cells && rc == 0; i++) {
    if (s->cells[i].len == 0 || s->field_of_column[i] < 0) continue;
    rc = hls_mp_pack_cstr(&pk, hls_record_fields[s->field_of_column[i]]);
    if (rc == 0) rc = hls_mp_pack_strn(&pk, s->cells[i].text, s->cells[i].len);
  }
  if (rc == 0) rc = add_row(imp, s->row_line, s->map.data, s->map.size);
  if (rc != 0) s->rc = rc;
}

static void on_row(int terminator, void *data) {
  struct csv_state *s = data;
  (void)terminator;
  if (s->rc == 0 && !s->imp->fatal) {
    if (!s->header_done) take_header(s);
    else take_row(s);
  }
  clear_cells(s);
  s->at_row_start = true;
}

static void *capped_realloc(void *p, size_t size) {
  if (size > CSV_FIELD_BUFFER_MAX) return NULL;
  return realloc(p, size);
}

/* Bytes up to and including the next line end: LF, CRLF, or a lone CR
 * (old Mac exports). */
static size_t line_length(const char *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '\n') return i + 1;
    if (p[i] == '\r') return i + 1 < len && p[i + 1] == '\n' ? i + 2 : i + 1;
  }
  return len;
}

static bool blank_line(const char *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != '\r' && p[i] != '\n') return false;
  return true;
}

int hls_import_csv(struct hls_import *imp, const char *data, size_t len, hls_import_progress_fn progress, void *ctx) {
  struct csv_parser parser;
  struct csv_state s;
  memset(&s, 0, sizeof s);
  s.imp = imp;
  s.at_row_start = true;
  msgpack_sbuffer_init(&s.map);
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) return HLS_ENOMEM;
  csv_set_realloc_func(&parser, capped_realloc);
  if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
    data += 3;
    len -= 3;
  } else if (len >= 2 && (memcmp(data, "\xff\xfe", 2) == 0 || memcmp(data, "\xfe\xff", 2) == 0 ||
                          memchr(data, '\0', line_length(data, len)) != NULL)) {
    /* Excel's "Unicode Text" is UTF-16 (every other byte of an English
     * header is 0), and a workbook is a zip file. */
    add_error(imp, 1, 0, NULL,
              len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0
                  ? "this is a spreadsheet workbook (.xlsx or .ods), not a CSV file: save it as \"CSV UTF-8\" "
                    "(in Excel: Save As, CSV UTF-8) and import that"
                  : "the file is not UTF-8 text (it holds zero (NUL) bytes, as UTF-16 text such as Excel's \"Unicode "
                    "Text\" does): save it as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8) and import that");
    imp->bad_rows++;
    imp->fatal = true;
    csv_free(&parser);
    msgpack_sbuffer_destroy(&s.map);
    return 0;
  }
  size_t off = 0;
  int64_t rows_seen = 0;
  const char *parse_error = NULL;
  /* Feed one line at a time so each row knows the line it starts on
   * (quoted fields may span lines). */
  while (off < len && s.rc == 0 && !imp->fatal && imp->batch_rc == 0) {
    size_t seg = line_length(data + off, len - off);
    s.line++;
    if (s.at_row_start) {
      if (blank_line(data + off, seg)) {
        off += seg;
        continue;
      }
      s.row_line = s.line;
      s.at_row_start = false;
      if (progress && ++rows_seen % 1000 == 0) progress(ctx, off, len);
    }
    if (csv_parse(&parser, data + off, seg, on_field, on_row, &s) != seg) {
      int err = csv_error(&parser);
      parse_error = err == CSV_ENOMEM || err == CSV_ETOOBIG
                        ? "a field is far larger than any record allows (unbalanced quote?)"
                        : "malformed CSV: a quote inside an unquoted field (quote the whole field and double "
                          "inner quotes), or text after a closing quote";
      break;
    }
    off += seg;
  }
  if (parse_error == NULL && s.rc == 0 && !imp->fatal && csv_fini(&parser, on_field, on_row, &s) != 0)
    parse_error = "malformed CSV: a quoted field is never closed";
  if (parse_error != NULL) {
    imp->bad_rows++;
    add_error(imp, s.row_line ? s.row_line : 1, 0, NULL, parse_error);
    imp->fatal = true;
  }
  if (!s.header_done && s.rc == 0 && !imp->fatal) {
    add_error(imp, 1, 0, NULL, "the file is empty: expected a header row naming the columns");
    imp->fatal = true;
  }
  if (progress) progress(ctx, len, len);
  clear_cells(&s);
  csv_free(&parser);
  msgpack_sbuffer_destroy(&s.map);
  return s.rc;
}
