/* hls import FILE.csv, and the all-or-nothing path of record add --file
 * with a JSON array.
 *
 * The outcome is never guessed. Until import.commit is sent, any failure
 * means nothing was imported (hlsd drops what a connection staged when it
 * goes). Once it is sent, only hlsd knows: the reply says, and if the reply
 * does not come (hlsd stopped, the connection broke), hls asks
 * import.status on a new connection with the import's id, and says
 * "may have been committed" only when it cannot find out. */
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "csvimport.h"
#include "progress.h"

/* Batches go out while the next ones are parsed (hlsd checks and stages
 * one while hls parses the next); at most this many wait for a reply. */
#define IN_FLIGHT 2

/* Duplicates shown in a human report: the first few say enough. */
#define DUPLICATES_SHOWN 5

struct sender {
  struct cli *c;
  const char *unit;
  const char *source;    /* borrowed: the file, kept with the import */
  bool allow_duplicates; /* import rows that duplicate held records */
  bool dry_run;          /* check and count, then abort */
  int64_t duplicates;    /* rows hlsd skipped as duplicates */
  int64_t rows_sent;
  json_t *duplicate_rows; /* owned: [{line, record_id|of_line}] */
  char import_id[40]; /* from import.begin */
  uint64_t pending[IN_FLIGHT];
  int n_pending;
  int64_t refused; /* rows hlsd refused (its own checks), reported in imp */
  struct hls_import *imp; /* the rows' errors go in it */
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
    s->exit_code = cli_fail(s->c, rc, "%s; nothing imported", why.text[0] ? why.text : hls_strerror(rc));
    return rc;
  }
  int64_t bad = hls_out_int(resp.result, "bad");
  if (bad > 0) {
    /* hls's checks passed these rows but hlsd's did not (a date it finds
     * implausible, a retain_until already past): reported with the
     * others once every row is checked. */
    const struct hls_mp_value *errs = hls_mp_get(resp.result, "errors");
    int64_t listed = 0;
    for (uint32_t k = 0; errs && errs->type == HLS_MP_ARRAY && k < errs->len; k++, listed++) {
      char msg[300];
      hls_import_refused(s->imp, hls_out_int(&errs->v.items[k], "line"),
                         hls_out_str(&errs->v.items[k], "message", msg, sizeof msg));
    }
    if (bad > listed) { /* not listed: counted */
      s->imp->bad_rows += bad - listed;
      s->imp->errors_total += bad - listed;
      s->imp->refused_errors += bad - listed;
    }
    s->refused += bad;
  }
  const struct hls_mp_value *dups = hls_mp_get(resp.result, "duplicates");
  for (uint32_t k = 0; dups && dups->type == HLS_MP_ARRAY && k < dups->len; k++) {
    json_t *row = hls_mpjson_from_mp(&dups->v.items[k]);
    if (row == NULL || json_array_append_new(s->duplicate_rows, row) != 0) {
      hls_ctl_response_free(&resp);
      if (s->bar) hls_progress_end(s->bar);
      s->exit_code = cli_fail(s->c, HLS_ENOMEM, "out of memory; nothing imported");
      return HLS_ENOMEM;
    }
    s->duplicates++;
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
  hls_client_begin(&s->c->client, &r, HLS_M_IMPORT_ROWS);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_cstr(&r.pk, "rows");
  msgpack_pack_array(&r.pk, b->count);
  msgpack_sbuffer_write(&r.sb, b->rows.data, b->rows.size);
  int rc = hls_client_send(&s->c->client, &r, &why);
  s->pending[s->n_pending++] = r.id;
  s->rows_sent += b->count;
  hls_client_req_free(&r);
  if (rc != 0) {
    s->n_pending--;
    if (s->bar) hls_progress_end(s->bar);
    s->exit_code = cli_fail(s->c, rc, "%s; nothing imported", why.text);
  }
  return rc;
}

static int sender_drain(struct sender *s) {
  while (s->n_pending > 0 && s->exit_code == 0) sender_reply(s);
  return s->exit_code;
}

static int simple_call(struct cli *c, enum hls_method_id method, struct hls_ctl_response *resp) {
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, method);
  msgpack_pack_nil(&r.pk);
  return cli_call(c, &r, resp);
}

/* import.begin: the import's id goes in s. */
static int begin_import(struct cli *c, struct sender *s) {
  struct hls_ctl_response resp;
  struct hls_client_req r;
  s->duplicate_rows = json_array();
  if (s->duplicate_rows == NULL) return cli_fail(c, HLS_ENOMEM, "out of memory");
  hls_client_begin(&c->client, &r, HLS_M_IMPORT_BEGIN);
  msgpack_pack_map(&r.pk, s->source ? 2 : 1);
  if (s->source) hls_mp_pack_kv_str(&r.pk, "source", s->source);
  hls_mp_pack_kv_bool(&r.pk, "allow_duplicates", s->allow_duplicates);
  int rc = cli_call(c, &r, &resp);
  if (rc != 0) return rc;
  hls_out_str(resp.result, "import_id", s->import_id, sizeof s->import_id);
  hls_ctl_response_free(&resp);
  return 0;
}

/* "line 4 is record 17", "line 9 repeats line 4" for one duplicate. */
static void describe_duplicate(const struct sender *s, const json_t *row, char *buf, size_t size) {
  json_int_t line = json_integer_value(json_object_get(row, "line"));
  const json_t *held = json_object_get(row, "record_id");
  if (held != NULL)
    snprintf(buf, size, "%s %lld is record %lld", s->unit, (long long)line, (long long)json_integer_value(held));
  else
    snprintf(buf, size, "%s %lld repeats %s %lld", s->unit, (long long)line, s->unit,
             (long long)json_integer_value(json_object_get(row, "of_line")));
}

/* The duplicates hlsd skipped, for people: how many, the first few, and
 * how to import them anyway. Nothing when there were none. */
static void print_duplicates(const struct sender *s, bool skipped) {
  if (s->duplicates == 0) return;
  printf("%s %lld %s%s already held or repeated (", skipped ? "Skipped" : "Would skip", (long long)s->duplicates,
         strcmp(s->unit, "line") == 0 ? "row" : s->unit, s->duplicates == 1 ? "" : "s");
  size_t n = json_array_size(s->duplicate_rows);
  for (size_t i = 0; i < n && i < DUPLICATES_SHOWN; i++) {
    char one[128];
    describe_duplicate(s, json_array_get(s->duplicate_rows, i), one, sizeof one);
    printf("%s%s", i ? ", " : "", one);
  }
  printf("%s); --allow-duplicates imports them anyway.\n", n > DUPLICATES_SHOWN ? ", ..." : "");
}

/* "id A" or "ids A to B": the records an import added. */
static const char *id_range(char *buf, size_t size, int64_t first, int64_t last) {
  if (first == last) snprintf(buf, size, "id %lld", (long long)first);
  else snprintf(buf, size, "ids %lld to %lld", (long long)first, (long long)last);
  return buf;
}

/* "Imported N records (ids A to B)." from a commit reply or a committed
 * import.status, with the duplicates this run saw (s may be NULL: a
 * status asked on another connection knows only their count). */
static int print_imported(struct cli *c, const struct sender *s, const struct hls_mp_value *result) {
  int64_t n = hls_out_int(result, "imported");
  int64_t first = hls_out_int(result, "first_id"), last = hls_out_int(result, "last_id");
  char id[40];
  hls_out_str(result, "import_id", id, sizeof id);
  if (c->json) {
    json_t *j = json_pack("{s:I, s:I, s:I, s:s, s:I}", "imported", (json_int_t)n, "first_id", (json_int_t)first,
                          "last_id", (json_int_t)last, "import_id", id, "duplicates",
                          (json_int_t)hls_out_int(result, "duplicates"));
    if (j && s != NULL) json_object_set(j, "duplicate_rows", s->duplicate_rows);
    int rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  char ids[64];
  if (n > 0)
    printf("Imported %lld record%s (%s) as import %.12s.\n", (long long)n, n == 1 ? "" : "s",
           id_range(ids, sizeof ids, first, last), id);
  else
    printf("Imported nothing new (import %.12s): every row is already held.\n", id);
  if (s != NULL) print_duplicates(s, true);
  else if (hls_out_int(result, "duplicates") > 0)
    printf("Skipped %lld rows already held or repeated.\n", (long long)hls_out_int(result, "duplicates"));
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* import.status of id on a new connection. 0 with resp filled, or an
 * error (why says). */
static int import_status(struct cli *c, const char *id, struct hls_ctl_response *resp, struct hls_why *why) {
  struct hls_client probe;
  int rc = hls_client_connect(&probe, c->home, c->home_flag != NULL, why);
  if (rc != 0) return rc;
  struct hls_client_req r;
  hls_client_begin(&probe, &r, HLS_M_IMPORT_STATUS);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "import_id", id);
  rc = hls_client_call(&probe, &r, resp, NULL, NULL, why);
  hls_client_req_free(&r);
  hls_client_close(&probe);
  return rc;
}

/* The commit was sent and no reply said it went in (why: what happened
 * instead). Ask hlsd, and report what it says; only if it cannot be
 * asked, say that the import may have been committed and how to check. */
static int settle_commit(struct cli *c, struct sender *s, int code, const char *reason) {
  /* Hang up first: hlsd finishes with this connection (reads and carries
   * out what it sent) before it forgets the import. */
  hls_client_close(&c->client);
  c->connected = false;
  struct hls_why why = {{0}};
  int64_t deadline = now_ms() + 10000;
  while (s->import_id[0] != '\0') {
    struct hls_ctl_response resp;
    if (import_status(c, s->import_id, &resp, &why) != 0) break; /* cannot ask: unknown */
    char state[32];
    hls_out_str(resp.result, "state", state, sizeof state);
    if (strcmp(state, "committed") == 0) {
      fprintf(stderr, "hls: no reply to the commit (%s), but hlsd says import %s was committed\n", reason,
              s->import_id);
      int rc = print_imported(c, s, resp.result);
      hls_ctl_response_free(&resp);
      return rc;
    }
    hls_ctl_response_free(&resp);
    if (strcmp(state, "not_committed") == 0)
      return cli_fail(c, code, "%s; nothing imported (hlsd says import %s was not committed)", reason, s->import_id);
    /* "open": hlsd has not yet seen the old connection go. */
    if (now_ms() > deadline) break;
    poll(NULL, 0, 20);
  }
  char home[HLS_PATH_MAX + 16] = "";
  if (c->home_flag != NULL) snprintf(home, sizeof home, " --home %s", c->home);
  if (s->import_id[0] != '\0')
    fprintf(stderr,
            "hls: %s. The import was sent for commit, so it may have been committed: before running it again, "
            "check with: hls%s import --status %s (hls%s status also counts the records)\n",
            reason, home, s->import_id, home);
  else
    fprintf(stderr,
            "hls: %s. The import was sent for commit, so it may have been committed: before running it again, "
            "check the record count with: hls%s status\n",
            reason, home);
  return HLS_EXIT_UNKNOWN;
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
  if (s->refused > 0) return report_errors(c, s->imp, s->unit);
  struct hls_client_req r;
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  if (s->dry_run) {
    /* Every row was checked and counted by hlsd; drop them. */
    if ((rc = simple_call(c, HLS_M_IMPORT_ABORT, &resp)) != 0) return rc;
    hls_ctl_response_free(&resp);
    int64_t would = s->rows_sent - s->duplicates;
    if (c->json) {
      json_t *j = json_pack("{s:b, s:I, s:I, s:O}", "dry_run", 1, "would_import", (json_int_t)would, "duplicates",
                            (json_int_t)s->duplicates, "duplicate_rows", s->duplicate_rows);
      rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
      json_decref(j);
      return rc == 0 ? 0 : HLS_EXIT_FAIL;
    }
    printf("Dry run: every row is valid; would import %lld record%s.\n", (long long)would, would == 1 ? "" : "s");
    print_duplicates(s, false);
    printf("Nothing was imported.\n");
    return 0;
  }
  hls_client_begin(&c->client, &r, HLS_M_IMPORT_COMMIT);
  msgpack_pack_nil(&r.pk);
  /* hlsd is committing for us: wait as long as it takes (a connection
   * that breaks ends the wait). Giving up early would not stop it. */
  c->client.timeout_ms = 0;
  rc = hls_client_call(&c->client, &r, &resp, NULL, NULL, &why);
  hls_client_req_free(&r);
  /* hlsd's refusal is an answer (nothing was committed); only a reply
   * lost leaves the outcome to be asked */
  if (rc != 0 && !c->client.outcome_unknown) return cli_fail(c, rc, "%s", why.text);
  if (rc != 0) return settle_commit(c, s, rc, why.text[0] ? why.text : hls_strerror(rc));
  rc = print_imported(c, s, resp.result);
  hls_ctl_response_free(&resp);
  return rc;
}

int hls_import_run(struct cli *c, struct hls_import *imp, const char *unit, const char *source) {
  int rc;
  if (imp->errors_total > 0 || imp->fatal) return report_errors(c, imp, unit);
  if (imp->rows == 0) return cli_fail(c, HLS_EINVAL, "the file holds no record");
  if ((rc = cli_connect(c)) != 0) return rc;
  struct sender s = {.c = c, .unit = unit, .source = source, .imp = imp};
  if ((rc = begin_import(c, &s)) == 0) {
    for (size_t i = 0; i < imp->n_batches && s.exit_code == 0; i++) sender_send(&s, &imp->batches[i]);
    rc = s.exit_code != 0 ? s.exit_code : finish(c, &s);
  }
  json_decref(s.duplicate_rows);
  return rc;
}

static void on_parse_progress(void *ctx, size_t done, size_t total) { hls_progress_update(ctx, done, total); }

/* hls import --status ID: did that import go in? */
static int import_status_cmd(struct cli *c, const char *id) {
  struct hls_ctl_response resp;
  int rc = cli_connect(c);
  if (rc != 0) return rc;
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, HLS_M_IMPORT_STATUS);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "import_id", id);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result) == 0 ? 0 : HLS_EXIT_FAIL;
    hls_ctl_response_free(&resp);
    return rc;
  }
  char state[32], when[32];
  hls_out_str(resp.result, "state", state, sizeof state);
  if (strcmp(state, "committed") == 0) {
    int64_t n = hls_out_int(resp.result, "imported");
    hls_out_str(resp.result, "committed_at", when, sizeof when);
    if (n == 0)
      printf("Import %s: committed at %s; it added no record (%lld row%s skipped as already held or repeated).\n", id,
             when, (long long)hls_out_int(resp.result, "duplicates"), hls_out_int(resp.result, "duplicates") == 1 ? "" : "s");
    else {
      char ids[64];
      printf("Import %s: committed at %s, %lld record%s (%s).\n", id, when, (long long)n, n == 1 ? "" : "s",
             id_range(ids, sizeof ids, hls_out_int(resp.result, "first_id"), hls_out_int(resp.result, "last_id")));
    }
    /* an import undone since reads as live otherwise */
    char undone[32], by[80];
    if (hls_out_str(resp.result, "undone_at", undone, sizeof undone)[0] != '\0')
      printf("Undone at %s by %s: none of its records is held now.\n", undone,
             hls_out_str(resp.result, "undone_by", by, sizeof by));
    else if (n > 0 && hls_out_int(resp.result, "held") < n)
      printf("%lld of its records %s held now (the others were deleted or edited away since).\n",
             (long long)hls_out_int(resp.result, "held"), hls_out_int(resp.result, "held") == 1 ? "is" : "are");
  } else if (strcmp(state, "open") == 0) {
    printf("Import %s: not committed yet; a connection still holds %lld staged rows.\n", id,
           (long long)hls_out_int(resp.result, "staged"));
  } else {
    /* hlsd keeps no trace of an import that was never committed: a
     * mistyped id reads the same, so say what was checked. */
    printf("Import %s: not committed; nothing of it was imported (no committed import has this id, and no "
           "connection holds one open; 'hls import list' shows the committed ones).\n",
           id);
  }
  hls_ctl_response_free(&resp);
  return 0;
}

int cmd_import(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"status", required_argument, NULL, 's'},
                                      {"dry-run", no_argument, NULL, 'n'},
                                      {"allow-duplicates", no_argument, NULL, 'a'},
                                      {NULL, 0, NULL, 0}};
  struct cli_opts o;
  const char *status_id = NULL;
  bool dry_run = false, allow_duplicates = false;
  int opt, ec, rc;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 's') status_id = optarg;
    if (opt == 'n') dry_run = true;
    if (opt == 'a') allow_duplicates = true;
  }
  if (status_id != NULL) {
    if (optind != argc || dry_run || allow_duplicates) return cli_usage(c, "--status takes an import id, and no file");
    return import_status_cmd(c, status_id);
  }
  if (optind + 1 != argc) return cli_usage(c, "give one CSV file");
  const char *path = argv[optind];
  char *data = NULL;
  size_t len = 0;
  struct hls_why why = {{0}};
  if ((rc = cli_connect(c)) != 0) return rc; /* before reading a large file */
  if ((rc = cli_read_file(path, HLS_CSV_MAX_FILE, &data, &len, &why)) != 0) return cli_fail(c, rc, "%s", why.text);
  struct sender s = {.c = c,
                     .unit = "line",
                     .source = strcmp(path, "-") == 0 ? "stdin" : path,
                     .allow_duplicates = allow_duplicates,
                     .dry_run = dry_run};
  if ((rc = begin_import(c, &s)) != 0) {
    free(data);
    json_decref(s.duplicate_rows);
    return rc;
  }
  /* Rows are checked and sent as the file is read; the first bad row
   * stops the sending, the rest of the file is still checked so every bad
   * row is reported, and nothing is committed. */
  struct hls_progress bar;
  struct hls_import imp;
  hls_progress_start(&bar, dry_run ? "checking" : "importing");
  s.bar = &bar;
  hls_import_init(&imp);
  imp.on_batch = sender_send;
  imp.batch_ctx = &s;
  s.imp = &imp;
  rc = hls_import_csv(&imp, data, len, on_parse_progress, &bar);
  free(data);
  /* hls's own errors (rows hlsd refused are reported by finish, once
   * every reply is in) */
  bool bad_here = imp.errors_total > imp.refused_errors || imp.fatal;
  if (rc == 0 && s.exit_code == 0 && !bad_here) rc = hls_import_flush(&imp);
  hls_progress_end(&bar);
  if (s.exit_code != 0) {
    rc = s.exit_code;
  } else if (rc != 0) {
    rc = cli_fail(c, rc, "%s", hls_strerror(rc));
  } else if (bad_here) {
    rc = report_errors(c, &imp, "line");
  } else if (imp.rows == 0) {
    rc = cli_fail(c, HLS_EINVAL, "the file holds no record");
  } else {
    rc = finish(c, &s);
  }
  hls_import_free(&imp);
  json_decref(s.duplicate_rows);
  return rc;
}

/* "2026-12-04 10:02" from an RFC 3339 time. */
static void short_time(const char *rfc3339, char *out, size_t size) {
  snprintf(out, size, "%.16s", rfc3339);
  char *t = strchr(out, 'T');
  if (t) *t = ' ';
}

/* hls import list: every import, newest first. */
int cmd_import_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_IMPORT_LIST, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list) == 0 ? 0 : HLS_EXIT_FAIL;
    hls_ctl_response_free(&resp);
    return rc;
  }
  uint32_t n = list->type == HLS_MP_ARRAY ? list->len : 0;
  if (n == 0) {
    printf("No imports yet.\n");
    hls_ctl_response_free(&resp);
    return 0;
  }
  static const char *const headers[] = {"IMPORT", "COMMITTED", "BY", "RECORDS", "SKIPPED", "NOW", "FILE"};
  struct hls_table *t = hls_table_new(7, headers);
  if (t == NULL) {
    hls_ctl_response_free(&resp);
    return cli_fail(c, HLS_ENOMEM, "out of memory");
  }
  hls_table_set_right(t, 3);
  hls_table_set_right(t, 4);
  hls_table_set_shrink(t, 6, 12); /* the file: cut on a narrow terminal */
  for (uint32_t i = 0; i < n; i++) {
    const struct hls_mp_value *imp = &list->v.items[i];
    char id[40], at[40], when[24], by[80], source[300], records[24], skipped[24], now[120], undone_by[80];
    hls_out_str(imp, "import_id", id, sizeof id);
    id[12] = '\0';
    short_time(hls_out_str(imp, "committed_at", at, sizeof at), when, sizeof when);
    if (hls_out_str(imp, "by", by, sizeof by)[0] == '\0') snprintf(by, sizeof by, "-");
    if (hls_out_str(imp, "source", source, sizeof source)[0] == '\0') snprintf(source, sizeof source, "-");
    snprintf(records, sizeof records, "%lld", (long long)hls_out_int(imp, "imported"));
    snprintf(skipped, sizeof skipped, "%lld", (long long)hls_out_int(imp, "duplicates"));
    if (hls_out_str(imp, "undone_at", at, sizeof at)[0] != '\0') {
      char undone[24];
      short_time(at, undone, sizeof undone);
      snprintf(now, sizeof now, "undone %s by %s", undone, hls_out_str(imp, "undone_by", undone_by, sizeof undone_by));
    } else {
      int64_t held = hls_out_int(imp, "held"), imported = hls_out_int(imp, "imported");
      if (imported == 0) snprintf(now, sizeof now, "-");
      else if (held == imported) snprintf(now, sizeof now, "held");
      else snprintf(now, sizeof now, "%lld held", (long long)held);
    }
    const char *row[] = {id, when, by, records, skipped, now, source};
    hls_table_add(t, row);
  }
  hls_table_print(t, stdout);
  hls_table_free(t);
  hls_ctl_response_free(&resp);
  printf("'hls import undo IMPORT' removes an import's records.\n");
  return 0;
}

/* Ask on the terminal; anything but y/yes is no. */
static bool confirm(const char *question) {
  fprintf(stderr, "%s [y/N] ", question);
  fflush(stderr);
  char answer[16];
  if (fgets(answer, sizeof answer, stdin) == NULL) return false;
  return strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0 || strcmp(answer, "Y\n") == 0;
}

/* hls import undo ID [--yes]: remove the records of one import. */
int cmd_import_undo(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"yes", no_argument, NULL, 'y'}, {NULL, 0, NULL, 0}};
  struct cli_opts o;
  int opt, ec, rc;
  bool yes = false;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'y') yes = true;
  }
  if (optind + 1 != argc) return cli_usage(c, "give one import id (from 'hls import list')");
  const char *id = argv[optind];
  size_t len = strlen(id);
  bool hex = len >= 8 && len <= 32;
  for (size_t i = 0; hex && i < len; i++) hex = isxdigit((unsigned char)id[i]) != 0;
  if (!hex) return cli_usage(c, "import id '%s': its hex digits as 'hls import list' shows them (8 or more)", id);
  if (!yes && !(isatty(STDIN_FILENO) && isatty(STDERR_FILENO)))
    return cli_usage(c, "this deletes every record of import %s still held (their shared stories are erased); "
                        "say --yes", id);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  if (!yes) {
    /* On a terminal: say what goes, and ask. */
    hls_client_begin(&c->client, &r, HLS_M_IMPORT_LIST);
    msgpack_pack_map(&r.pk, 0);
    if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
    char question[600] = "";
    const struct hls_mp_value *list = resp.result;
    for (uint32_t i = 0; list->type == HLS_MP_ARRAY && i < list->len && !question[0]; i++) {
      char full[40], at[40], when[24], source[300];
      if (strncasecmp(hls_out_str(&list->v.items[i], "import_id", full, sizeof full), id, len) != 0) continue;
      short_time(hls_out_str(&list->v.items[i], "committed_at", at, sizeof at), when, sizeof when);
      hls_out_str(&list->v.items[i], "source", source, sizeof source);
      snprintf(question, sizeof question, "Delete the %lld record%s of import %.12s (%s, %s) still held?",
               (long long)hls_out_int(&list->v.items[i], "held"),
               hls_out_int(&list->v.items[i], "held") == 1 ? "" : "s", full, source[0] ? source : "no file", when);
    }
    hls_ctl_response_free(&resp);
    if (question[0] && !confirm(question)) {
      fprintf(stderr, "hls: nothing deleted\n");
      return HLS_EXIT_FAIL;
    }
  }
  hls_client_begin(&c->client, &r, HLS_M_IMPORT_UNDO);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "import_id", id);
  c->client.timeout_ms = 0; /* a large import takes a while; hlsd does it whole or not at all */
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result) == 0 ? 0 : HLS_EXIT_FAIL;
  } else {
    char full[40];
    int64_t deleted = hls_out_int(resp.result, "deleted"), edited = hls_out_int(resp.result, "edited");
    int64_t gone = hls_out_int(resp.result, "already_gone"), shared = hls_out_int(resp.result, "shared");
    printf("Undid import %.12s: deleted %lld record%s", hls_out_str(resp.result, "import_id", full, sizeof full),
           (long long)deleted, deleted == 1 ? "" : "s");
    if (edited > 0) printf(" (%lld edited since the import)", (long long)edited);
    printf(".\n");
    if (gone > 0) printf("%lld had been deleted already.\n", (long long)gone);
    if (shared > 0)
      printf("%lld of them %s counted in digests or shared: their weeks are re-counted and stories erased.\n",
             (long long)shared, shared == 1 ? "was" : "were");
  }
  hls_ctl_response_free(&resp);
  return rc;
}
