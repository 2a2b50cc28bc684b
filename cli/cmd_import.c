/* hls import FILE.csv, and the all-or-nothing path of record add --file
 * with a JSON array. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csvimport.h"
#include "progress.h"

/* Batches go out while the next ones are parsed (hlsd checks and stages
 * one while hls parses the next); at most this many wait for a reply. */
#define IN_FLIGHT 2

struct sender {
  struct cli *c;
  const char *unit;
  uint64_t pending[IN_FLIGHT];
  int n_pending;
  int64_t refused; /* rows hlsd refused (a version mismatch) */
  int exit_code;   /* non-zero: stop, already reported */
  struct hls_progress *bar;
};

/* Read the reply to the oldest batch in flight. */
static int sender_reply(struct sender *s) {
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  int rc = hls_client_reply(&s->c->client, s->pending[0], &resp, NULL, NULL, &why);
  memmove(s->pending, s->pending + 1, sizeof s->pending[0] * (size_t)(IN_FLIGHT - 1));
  s->n_pending--;
  if (rc != 0) {
    if (s->bar) hls_progress_end(s->bar);
    s->exit_code = cli_fail(s->c, rc, "%s", why.text[0] ? why.text : hls_strerror(rc));
    return rc;
  }
  int64_t bad = hls_out_int(resp.result, "bad");
  if (bad > 0) {
    /* hls's checks passed these rows but hlsd's did not. */
    const struct hls_mp_value *errs = hls_mp_get(resp.result, "errors");
    if (s->bar) hls_progress_end(s->bar);
    for (uint32_t k = 0; errs && errs->type == HLS_MP_ARRAY && k < errs->len; k++) {
      char msg[300];
      fprintf(stderr, "%s %lld: %s\n", s->unit, (long long)hls_out_int(&errs->v.items[k], "line"),
              hls_out_str(&errs->v.items[k], "message", msg, sizeof msg));
    }
    s->refused += bad;
  }
  hls_ctl_response_free(&resp);
  return 0;
}

static int sender_send(void *ctx, struct hls_import_batch *b) {
  struct sender *s = ctx;
  if (s->exit_code != 0) return HLS_ECLOSED;
  if (s->n_pending == IN_FLIGHT && sender_reply(s) != 0) return HLS_ECLOSED;
  struct hls_client_req r;
  struct hls_why why = {{0}};
  hls_client_begin(&s->c->client, &r, "import.rows");
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_cstr(&r.pk, "rows");
  msgpack_pack_array(&r.pk, b->count);
  msgpack_sbuffer_write(&r.sb, b->rows.data, b->rows.size);
  int rc = hls_client_send(&s->c->client, &r, &why);
  s->pending[s->n_pending++] = r.id;
  hls_client_req_free(&r);
  if (rc != 0) {
    s->n_pending--;
    if (s->bar) hls_progress_end(s->bar);
    s->exit_code = cli_fail(s->c, rc, "%s", why.text);
  }
  return rc;
}

static int sender_drain(struct sender *s) {
  while (s->n_pending > 0 && s->exit_code == 0) sender_reply(s);
  return s->exit_code;
}

static int simple_call(struct cli *c, const char *cmd, struct hls_ctl_response *resp) {
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, cmd);
  msgpack_pack_nil(&r.pk);
  return cli_call(c, &r, resp);
}

static int report_errors(struct cli *c, const struct hls_import *imp, const char *unit) {
  if (c->json) {
    json_t *errors = json_array();
    for (size_t i = 0; errors && i < imp->n_errors; i++) {
      const struct hls_import_error *e = &imp->errors[i];
      json_t *o = json_pack("{s:I, s:s}", unit, (json_int_t)e->line, "message", e->message);
      if (o && e->column > 0) {
        json_object_set_new(o, "column", json_integer(e->column));
        if (e->column_name[0]) json_object_set_new(o, "column_name", json_string(e->column_name));
      }
      json_array_append_new(errors, o);
    }
    json_t *j = json_pack("{s:i, s:I, s:I, s:o}", "imported", 0, "bad_rows", (json_int_t)imp->bad_rows,
                          "errors_total", (json_int_t)imp->errors_total, "errors", errors);
    if (j) hls_out_print_json_value(j);
    json_decref(j);
  }
  for (size_t i = 0; i < imp->n_errors; i++) {
    const struct hls_import_error *e = &imp->errors[i];
    if (e->column > 0)
      fprintf(stderr, "%s %lld, column %d%s%s%s: %s\n", unit, (long long)e->line, e->column,
              e->column_name[0] ? " (" : "", e->column_name, e->column_name[0] ? ")" : "", e->message);
    else
      fprintf(stderr, "%s %lld: %s\n", unit, (long long)e->line, e->message);
  }
  if (imp->errors_total > (int64_t)imp->n_errors)
    fprintf(stderr, "... and %lld more errors\n", (long long)(imp->errors_total - (int64_t)imp->n_errors));
  if (imp->fatal) return cli_fail(c, HLS_EINVAL, "the file cannot be imported; nothing imported");
  return cli_fail(c, HLS_EINVAL, "%lld bad %s%s; nothing imported", (long long)imp->bad_rows,
                  strcmp(unit, "line") == 0 ? "row" : unit, imp->bad_rows == 1 ? "" : "s");
}

/* After every batch went out without a bad row: wait for the last replies
 * and commit. The connection closing without a commit makes hlsd drop
 * everything staged, so every early return leaves the store as it was. */
static int finish(struct cli *c, struct sender *s) {
  int rc;
  if ((rc = sender_drain(s)) != 0) return rc;
  if (s->refused > 0) return cli_fail(c, HLS_EINVAL, "hlsd refused %lld rows; nothing imported", (long long)s->refused);
  struct hls_ctl_response resp;
  if ((rc = simple_call(c, "import.commit", &resp)) != 0) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    int64_t n = hls_out_int(resp.result, "imported");
    printf("Imported %lld record%s (ids %lld to %lld).\n", (long long)n, n == 1 ? "" : "s",
           (long long)hls_out_int(resp.result, "first_id"), (long long)hls_out_int(resp.result, "last_id"));
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int hls_import_run(struct cli *c, struct hls_import *imp, const char *unit) {
  int rc;
  if (imp->errors_total > 0 || imp->fatal) return report_errors(c, imp, unit);
  if (imp->rows == 0) return cli_fail(c, HLS_EINVAL, "no records to import");
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_ctl_response resp;
  if ((rc = simple_call(c, "import.begin", &resp)) != 0) return rc;
  hls_ctl_response_free(&resp);
  struct sender s = {.c = c, .unit = unit};
  for (size_t i = 0; i < imp->n_batches && s.exit_code == 0; i++) sender_send(&s, &imp->batches[i]);
  if (s.exit_code != 0) return s.exit_code;
  return finish(c, &s);
}

static void on_parse_progress(void *ctx, size_t done, size_t total) { hls_progress_update(ctx, done, total); }

int cmd_import(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind + 1 != argc) return cli_usage(c, "give one CSV file");
  const char *path = argv[optind];
  char *data = NULL;
  size_t len = 0;
  struct hls_why why = {{0}};
  if ((rc = cli_connect(c)) != 0) return rc; /* before reading a large file */
  if ((rc = cli_read_file(path, HLS_CSV_MAX_FILE, &data, &len, &why)) != 0) return cli_fail(c, rc, "%s", why.text);
  struct hls_ctl_response resp;
  if ((rc = simple_call(c, "import.begin", &resp)) != 0) {
    free(data);
    return rc;
  }
  hls_ctl_response_free(&resp);
  /* Rows are checked and sent as the file is read; the first bad row
   * stops the sending, the rest of the file is still checked so every bad
   * row is reported, and nothing is committed. */
  struct hls_progress bar;
  struct hls_import imp;
  hls_progress_start(&bar, "importing");
  struct sender s = {.c = c, .unit = "line", .bar = &bar};
  hls_import_init(&imp);
  imp.on_batch = sender_send;
  imp.batch_ctx = &s;
  rc = hls_import_csv(&imp, data, len, on_parse_progress, &bar);
  free(data);
  if (rc == 0 && s.exit_code == 0 && imp.errors_total == 0 && !imp.fatal) rc = hls_import_flush(&imp);
  hls_progress_end(&bar);
  if (s.exit_code != 0) {
    rc = s.exit_code;
  } else if (rc != 0) {
    rc = cli_fail(c, rc, "%s", hls_strerror(rc));
  } else if (imp.errors_total > 0 || imp.fatal) {
    rc = report_errors(c, &imp, "line");
  } else if (imp.rows == 0) {
    rc = cli_fail(c, HLS_EINVAL, "no records to import");
  } else {
    rc = finish(c, &s);
  }
  hls_import_free(&imp);
  return rc;
}
