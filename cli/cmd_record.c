/* hls record add|list|show|edit|delete, hls themes. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "params.h"
#include "fields.h"
#include "text.h"
#include "csvimport.h"

/* --- printing records ---------------------------------------------------- */

/* Records a page of `record list` asks for (halved while a page does not
 * fit in one reply: records with long texts). */
#define RECORD_PAGE 2000

static void record_row(struct hls_table *t, const struct hls_mp_value *r) {
  char id[24], date[16], scale[16], stage[16], consent[16], themes[HLS_OUT_THEMES_SIZE], title[HLS_TITLE_MAX + 1];
  snprintf(id, sizeof id, "%lld", (long long)hls_out_int(r, "id"));
  hls_out_themes(r, themes, sizeof themes, false);
  const char *cells[] = {id,
                         hls_out_str(r, "date", date, sizeof date),
                         hls_out_str(r, "scale", scale, sizeof scale),
                         hls_out_str(r, "stage", stage, sizeof stage),
                         hls_out_str(r, "consent", consent, sizeof consent),
                         themes,
                         hls_out_str(r, "title", title, sizeof title)};
  hls_table_add(t, cells);
}

static void print_record(const struct hls_mp_value *r) {
  char b1[512], b2[128], b3[128], themes[HLS_OUT_THEMES_SIZE];
  printf("Record %lld: %s\n", (long long)hls_out_int(r, "id"), hls_out_str(r, "title", b1, sizeof b1));
  printf("  date      %s\n", hls_out_str(r, "date", b1, sizeof b1));
  printf("  scale     %s\n", hls_out_str(r, "scale", b1, sizeof b1));
  printf("  stage     %s\n", hls_out_str(r, "stage", b1, sizeof b1));
  hls_out_themes(r, themes, sizeof themes, true);
  printf("  themes    %s\n", themes[0] ? themes : "-");
  hls_out_str(r, "consent", b1, sizeof b1);
  printf("  consent   %s", b1);
  if (hls_out_str(r, "consent_by", b2, sizeof b2)[0]) printf(", given by %s", b2);
  if (hls_out_str(r, "consent_expires", b3, sizeof b3)[0]) printf(", expires %s", b3);
  printf("\n");
  if (hls_out_str(r, "consent_purpose", b1, sizeof b1)[0]) printf("  purpose   %s\n", b1);
  if (hls_out_str(r, "author_role", b1, sizeof b1)[0]) printf("  author    %s\n", b1);
  /* Until when it is kept, and what says so (docs/governance.md#retention). */
  hls_out_str(r, "retention_from", b2, sizeof b2);
  if (strcmp(b2, "record") == 0)
    printf("  retained  until %s (its own date)\n", hls_out_str(r, "retention", b1, sizeof b1));
  else if (strcmp(b2, "rule") == 0)
    printf("  retained  until %s (the retention period of its scale)\n", hls_out_str(r, "retention", b1, sizeof b1));
  else if (strcmp(b2, "none") == 0)
    printf("  retained  until deleted (no retention period for its scale)\n");
  printf("  created   %s\n", hls_out_str(r, "created_at", b1, sizeof b1));
  printf("  updated   %s\n", hls_out_str(r, "updated_at", b1, sizeof b1));
  hls_out_paragraph(r, "context", "\nContext\n", "  ");
  hls_out_paragraph(r, "tried", "\nWhat we tried\n", "  ");
  hls_out_paragraph(r, "happened", "\nWhat happened\n", "  ");
  hls_out_paragraph(r, "learnt", "\nWhat we learnt\n", "  ");
}

static int print_result_record(struct cli *c, struct hls_ctl_response *resp, const char *verb) {
  int rc = 0;
  if (c->json) {
    rc = hls_out_print_json(resp->result);
  } else {
    if (verb) printf("%s record %lld.\n\n", verb, (long long)hls_out_int(resp->result, "id"));
    print_record(resp->result);
  }
  hls_ctl_response_free(resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- record add / edit -------------------------------------------------- */

static int load_json_file(struct cli *c, const char *path, json_t **out) {
  char *data = NULL;
  size_t len = 0;
  struct hls_why why = {{0}};
  int rc = cli_read_file(path, HLS_JSON_MAX_FILE, &data, &len, &why);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  json_error_t err;
  *out = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
  free(data);
  if (*out == NULL)
    return cli_fail(c, HLS_EINVAL, "%s: bad JSON at line %d, column %d: %s", strcmp(path, "-") ? path : "stdin",
                    err.line, err.column, err.text);
  return 0;
}

/* An array of records from a JSON file goes through the import path so it
 * is all-or-nothing too. */
static int add_json_array(struct cli *c, const json_t *array, const char *file) {
  struct hls_import imp;
  hls_import_init(&imp);
  size_t i;
  const json_t *item;
  int rc = 0;
  json_array_foreach(array, i, item) {
    if (!json_is_object(item)) {
      hls_import_free(&imp);
      return cli_fail(c, HLS_EINVAL, "element %zu of the array is not an object", i + 1);
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rc = hls_mpjson_pack(&pk, item);
    if (rc == 0) rc = hls_import_add_packed(&imp, (int64_t)i + 1, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0) break;
  }
  if (rc != 0) {
    hls_import_free(&imp);
    return cli_fail(c, rc, "%s", hls_strerror(rc));
  }
  rc = hls_import_run(c, &imp, "element", strcmp(file, "-") == 0 ? "stdin" : file);
  hls_import_free(&imp);
  return rc;
}

int cmd_record_add(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"file", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  struct option opts[24];
  size_t n = 0;
  for (; fields_options[n].name; n++) opts[n] = fields_options[n];
  opts[n++] = own[0];
  opts[n] = own[1];
  struct cli_opts o;
  struct fields f;
  const char *file = NULL;
  struct hls_why err;
  int opt, ec, rc;
  memset(&f, 0, sizeof f);
  cli_opts_init(&o, opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) {
      fields_free(&f);
      return ec;
    }
    if (opt == 'f') file = optarg;
    else if (fields_take_option(&f, opt, optarg, &err) && err.text[0]) {
      fields_free(&f);
      return cli_usage(c, "%s", err.text);
    }
  }
  if (optind < argc) {
    fields_free(&f);
    return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  }
  if (file != NULL && !fields_empty(&f)) {
    fields_free(&f);
    return cli_usage(c, "give either --file or field flags, not both");
  }
  json_t *j = NULL;
  if (file != NULL) {
    if ((rc = load_json_file(c, file, &j)) != 0) return rc;
    if (json_is_array(j)) {
      rc = add_json_array(c, j, file);
      json_decref(j);
      return rc;
    }
    if (!json_is_object(j)) {
      json_decref(j);
      return cli_fail(c, HLS_EINVAL, "%s: expected a JSON object (one record) or an array of them", file);
    }
  } else if (fields_empty(&f)) {
    if (!isatty(STDIN_FILENO)) {
      fields_free(&f);
      return cli_usage(c, "give the record's fields as flags (--title, --scale, --stage, ...) or --file");
    }
    if ((rc = cli_connect(c)) != 0) return rc; /* fail before the user types */
    rc = fields_prompt(&f);
    if (rc != 0) {
      fields_free(&f);
      return cli_fail(c, HLS_EINVAL, "cancelled; nothing recorded");
    }
    c->refused_is_failure = true; /* answers to prompts, not flags */
  }
  if ((rc = cli_connect(c)) != 0) {
    fields_free(&f);
    json_decref(j);
    return rc;
  }
  struct hls_client_req r;
  struct hls_ctl_response resp;
  if (j != NULL) c->refused_is_failure = true; /* a record from a file */
  hls_client_begin(&c->client, &r, HLS_M_RECORD_ADD);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_cstr(&r.pk, "record");
  rc = j ? hls_mpjson_pack(&r.pk, j) : fields_pack(&f, &r.pk);
  fields_free(&f);
  json_decref(j);
  if (rc != 0) {
    hls_client_req_free(&r);
    return cli_fail(c, rc, "%s", hls_strerror(rc));
  }
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  return print_result_record(c, &resp, "Added");
}

/* Fetch a record's editable fields as a JSON object. */
static int fetch_record_json(struct cli *c, int64_t id, json_t **out) {
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_RECORD_SHOW);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_i64(&r.pk, "id", id);
  int rc = cli_call(c, &r, &resp);
  if (rc != 0) return rc;
  *out = hls_mpjson_from_mp(resp.result);
  hls_ctl_response_free(&resp);
  if (*out == NULL) return cli_fail(c, HLS_ENOMEM, "out of memory");
  json_object_del(*out, "id");
  json_object_del(*out, "created_at");
  json_object_del(*out, "updated_at");
  return 0;
}

/* Say where the person's edit is kept (after an error: nothing typed is
 * lost) and how to apply it once mended. */
static void edit_kept(int64_t id, const char *path) {
  fprintf(stderr, "hls: your edit is kept in %s; mend it, then: hls record edit %lld --file %s\n", path,
          (long long)id, path);
}

/* Let the person edit the record as JSON in $VISUAL/$EDITOR. The file is
 * removed unless the edit could not be read (then kept, and said); an
 * edit read is left for the caller in kept (removed once applied). */
static int edit_in_editor(struct cli *c, int64_t id, json_t **changes, char *kept, size_t kept_size) {
  kept[0] = '\0';
  json_t *before = NULL;
  int rc = fetch_record_json(c, id, &before);
  if (rc != 0) return rc;
  const char *tmpdir = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/hls-record-%lld-XXXXXX.json", tmpdir && *tmpdir ? tmpdir : "/tmp", (long long)id);
  int fd = mkstemps(path, 5);
  if (fd < 0) {
    json_decref(before);
    return cli_fail(c, HLS_EIO, "cannot create a temporary file: %s", strerror(errno));
  }
  char *text = json_dumps(before, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  size_t len = text ? strlen(text) : 0;
  bool ok = text && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
  close(fd);
  if (!ok) {
    free(text);
    json_decref(before);
    unlink(path);
    return cli_fail(c, HLS_EIO, "cannot write %s", path);
  }
  const char *editor = getenv("VISUAL");
  if (editor == NULL || *editor == '\0') editor = getenv("EDITOR");
  if (editor == NULL || *editor == '\0') editor = "editor";
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", editor, path, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  json_t *after = NULL;
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    rc = cli_fail(c, HLS_EIO, "the editor (%s) failed; record %lld unchanged", editor, (long long)id);
  } else {
    rc = load_json_file(c, path, &after);
    if (rc == 0 && !json_is_object(after)) rc = cli_fail(c, HLS_EINVAL, "expected a JSON object; record unchanged");
  }
  free(text);
  if (rc == 0 && json_equal(before, after)) {
    json_decref(after);
    after = NULL;
  }
  if (rc != 0 && pid > 0) {
    edit_kept(id, path);
  } else if (rc == 0 && after != NULL) {
    snprintf(kept, kept_size, "%s", path);
  } else {
    unlink(path);
  }
  json_decref(before);
  *changes = after;
  return rc;
}

int cmd_record_edit(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"file", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  struct option opts[24];
  size_t n = 0;
  for (; fields_options[n].name; n++) opts[n] = fields_options[n];
  opts[n++] = own[0];
  opts[n] = own[1];
  struct cli_opts o;
  struct fields f;
  const char *file = NULL;
  struct hls_why err;
  int opt, ec, rc;
  memset(&f, 0, sizeof f);
  cli_opts_init(&o, opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) {
      fields_free(&f);
      return ec;
    }
    if (opt == 'f') file = optarg;
    else if (fields_take_option(&f, opt, optarg, &err) && err.text[0]) {
      fields_free(&f);
      return cli_usage(c, "%s", err.text);
    }
  }
  int64_t id;
  if (optind + 1 != argc || cli_parse_id(argv[optind], &id) != 0) {
    fields_free(&f);
    return optind + 1 == argc ? cli_usage(c, "'%s' is not a record ID (a whole number from 1)", argv[optind])
                              : cli_usage(c, "give one record ID");
  }
  json_t *j = NULL;
  char edited[4096] = ""; /* the editor's file, kept until applied */
  if ((rc = cli_connect(c)) != 0) {
    fields_free(&f);
    return rc;
  }
  if (file != NULL) {
    if (!fields_empty(&f)) {
      fields_free(&f);
      return cli_usage(c, "give either --file or field flags, not both");
    }
    if ((rc = load_json_file(c, file, &j)) != 0) return rc;
    if (!json_is_object(j)) {
      json_decref(j);
      return cli_fail(c, HLS_EINVAL, "%s: expected a JSON object of the fields to change", file);
    }
  } else if (fields_empty(&f)) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return cli_usage(c, "give the fields to change as flags or --file");
    if ((rc = edit_in_editor(c, id, &j, edited, sizeof edited)) != 0) return rc;
    if (j == NULL) {
      printf("No changes; record %lld unchanged.\n", (long long)id);
      return 0;
    }
  }
  struct hls_client_req r;
  struct hls_ctl_response resp;
  c->refused_is_failure = j != NULL; /* fields from --file or the editor */
  hls_client_begin(&c->client, &r, HLS_M_RECORD_EDIT);
  msgpack_pack_map(&r.pk, 2);
  hls_mp_pack_kv_i64(&r.pk, "id", id);
  hls_mp_pack_cstr(&r.pk, "set");
  rc = j ? hls_mpjson_pack(&r.pk, j) : fields_pack(&f, &r.pk);
  fields_free(&f);
  json_decref(j);
  if (rc != 0) {
    hls_client_req_free(&r);
    return cli_fail(c, rc, "%s", hls_strerror(rc));
  }
  rc = cli_call(c, &r, &resp);
  if (edited[0] && rc == HLS_EXIT_UNKNOWN) {
    fprintf(stderr, "hls: your edit is kept in %s (check with hls record show %lld before applying it again)\n",
            edited, (long long)id);
    return rc;
  }
  if (edited[0] && rc != 0) {
    edit_kept(id, edited); /* refused (a value hlsd does not take): mend and apply */
    return rc;
  }
  if (edited[0]) unlink(edited);
  if (rc != 0) return rc;
  return print_result_record(c, &resp, "Updated");
}

/* --- show / delete / list / themes ---------------------------------------- */

/* Parse "ID" and connect. *done is set when the command should end now
 * (--help, a usage error, hlsd down), returning the exit code. */
static int id_command(struct cli *c, int argc, char **argv, int64_t *id, bool *done) {
  struct cli_opts o;
  int opt, ec;
  *done = true;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind + 1 != argc) return cli_usage(c, "give one record ID");
  if (cli_parse_id(argv[optind], id) != 0)
    return cli_usage(c, "'%s' is not a record ID (a whole number from 1)", argv[optind]);
  int rc = cli_connect(c);
  *done = rc != 0;
  return rc;
}

int cmd_record_show(struct cli *c, int argc, char **argv) {
  int64_t id;
  bool done;
  int rc = id_command(c, argc, argv, &id, &done);
  if (done) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_RECORD_SHOW);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_i64(&r.pk, "id", id);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  return print_result_record(c, &resp, NULL);
}

/* hls record delete ID...: one record, or several in one all-or-nothing
 * call ('-' reads the ids from stdin, one or more a line). */
int cmd_record_delete(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind >= argc) return cli_usage(c, "give one or more record IDs (or - to read them from stdin)");
  int64_t *ids = NULL;
  size_t n = 0, cap = 0;
  bool from_stdin = optind + 1 == argc && strcmp(argv[optind], "-") == 0;
  char word[32];
  for (int k = optind; from_stdin || k < argc; k++) {
    const char *text;
    if (from_stdin) {
      if (scanf("%31s", word) != 1) break;
      text = word;
    } else {
      text = argv[k];
    }
    int64_t id;
    if (cli_parse_id(text, &id) != 0) {
      free(ids);
      return cli_usage(c, "'%s' is not a record ID (a whole number from 1)", text);
    }
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 64;
      int64_t *m = realloc(ids, nc * sizeof *m);
      if (m == NULL) {
        free(ids);
        return cli_fail(c, HLS_ENOMEM, "out of memory");
      }
      ids = m, cap = nc;
    }
    ids[n++] = id;
  }
  if (n == 0) return cli_usage(c, "no record IDs on stdin");
  if ((rc = cli_connect(c)) != 0) {
    free(ids);
    return rc;
  }
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_RECORD_DELETE);
  msgpack_pack_map(&r.pk, 1);
  if (n == 1 && !from_stdin) {
    hls_mp_pack_kv_i64(&r.pk, "id", ids[0]);
  } else {
    msgpack_pack_str(&r.pk, 3);
    msgpack_pack_str_body(&r.pk, "ids", 3);
    msgpack_pack_array(&r.pk, (uint32_t)n);
    for (size_t k = 0; k < n; k++) msgpack_pack_int64(&r.pk, ids[k]);
  }
  int64_t first = ids[0];
  free(ids);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (n == 1 && !from_stdin) printf("Deleted record %lld.\n", (long long)first);
  else {
    long long deleted = (long long)hls_out_int(resp.result, "deleted");
    printf("Deleted %lld record%s.\n", deleted, deleted == 1 ? "" : "s");
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* The columns hls record export writes, in the order hls import reads
 * any: every field of a record but its id and times. */
static const char *const export_columns[] = {"title",   "scale",  "stage",       "date",       "themes",
                                             "context", "tried",  "happened",    "learnt",     "author_role",
                                             "consent", "consent_by", "consent_purpose", "consent_expires",
                                             "retain_until"};
#define N_EXPORT_COLUMNS (sizeof export_columns / sizeof export_columns[0])


/* One record as a CSV row; buf (size EXPORT_BUF) is scratch. */
#define EXPORT_BUF (HLS_TEXT_HARD_MAX + 64)
static int export_row(const struct hls_mp_value *rec, char *buf) {
  int rc = 0;
  for (size_t k = 0; k < N_EXPORT_COLUMNS && rc == 0; k++) {
    const char *col = export_columns[k];
    if (strcmp(col, "themes") == 0) {
      const struct hls_mp_value *themes = hls_mp_get(rec, "themes");
      size_t o = 0;
      buf[0] = '\0';
      for (uint32_t i = 0; themes && themes->type == HLS_MP_ARRAY && i < themes->len; i++) {
        char name[HLS_THEME_MAX + 1], kind[24];
        hls_out_str(&themes->v.items[i], "name", name, sizeof name);
        hls_out_str(&themes->v.items[i], "kind", kind, sizeof kind);
        int w = snprintf(buf + o, EXPORT_BUF - o, "%s%s:%s", i ? "; " : "", kind, name);
        if (w < 0 || (size_t)w >= EXPORT_BUF - o) break;
        o += (size_t)w;
      }
    } else {
      hls_out_str(rec, col, buf, EXPORT_BUF);
    }
    rc = hls_out_csv_field(buf, k + 1 == N_EXPORT_COLUMNS);
  }
  return rc;
}

/* record list and record export: export is 'c' (CSV) or 'j' (JSON), 0
 * for a listing. */
static int list_records(struct cli *c, int argc, char **argv, int export) {
  /* The method's options (the method table), and export's own --format. */
  static const struct option export_opts[] = {{"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  static const char *const paging[] = {"limit", "full", "after_date", "after_id", NULL};
  struct cli_params p;
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init_params(&o, &p, HLS_M_RECORD_LIST, export ? export_opts : NULL);
  bool format_given = false;
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'f') {
      format_given = true;
      if (strcmp(optarg, "csv") == 0) export = 'c';
      else if (strcmp(optarg, "json") == 0) export = 'j';
      else return cli_usage(c, "--format: csv or json");
    } else if ((rc = cli_params_take(c, &p, opt, optarg)) != 0) {
      return rc == 1 ? cli_usage(c, "unknown option") : rc;
    }
  }
  if (export && cli_params_has(&p, "full"))
    return cli_usage(c, "--full: an export has every field already");
  /* --json is JSON here as everywhere: an export's JSON form */
  if (export && c->json) {
    if (format_given && export == 'c') return cli_usage(c, "--json and --format csv: choose one");
    export = 'j';
  }
  if ((rc = cli_params_check(c, &p)) != 0) return rc;
  int64_t limit = cli_params_int(&p, "limit", -1);
  bool full = export != 0 || cli_params_has(&p, "full");
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  /* Pages of RECORD_PAGE, each after the last record of the one before
   * (newest first), so any number of records can be listed: one reply
   * holds at most limits.control_max_frame bytes. */
  bool json = export ? export == 'j' : c->json, csv = export == 'c';
  json_t *all = json ? json_array() : NULL;
  static const char *const headers[] = {"ID", "DATE", "SCALE", "STAGE", "CONSENT", "THEMES", "TITLE"};
  struct hls_table *table = !json && !full ? hls_table_new(7, headers) : NULL;
  if ((json && all == NULL) || (!json && !full && table == NULL)) {
    json_decref(all);
    return cli_fail(c, HLS_ENOMEM, "out of memory");
  }
  if (table != NULL) {
    hls_table_set_right(table, 0);
    hls_table_set_shrink(table, 5, 8);
    hls_table_set_shrink(table, 6, 12);
  }
  char *scratch = csv ? malloc(EXPORT_BUF) : NULL;
  if (csv && scratch == NULL) rc = cli_fail(c, HLS_ENOMEM, "out of memory");
  if (csv)
    for (size_t k = 0; k < N_EXPORT_COLUMNS && rc == 0; k++) rc = hls_out_csv_field(export_columns[k], k + 1 == N_EXPORT_COLUMNS);
  int64_t listed = 0, page_size = RECORD_PAGE;
  char after_date[16] = "";
  int64_t after_id = 0;
  for (;;) {
    int64_t want = page_size;
    if (limit > 0 && limit - listed < want) want = limit - listed;
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, HLS_M_RECORD_LIST);
    msgpack_pack_map(&r.pk, cli_params_count(&p, paging) + 2 + (after_date[0] ? 2 : 0));
    (void)cli_params_pack(&p, &r.pk, paging); /* checked above: only out of memory, which the call reports */
    hls_mp_pack_kv_i64(&r.pk, "limit", want);
    hls_mp_pack_kv_bool(&r.pk, "full", full);
    if (after_date[0]) {
      hls_mp_pack_kv_str(&r.pk, "after_date", after_date);
      hls_mp_pack_kv_i64(&r.pk, "after_id", after_id);
    }
    struct hls_why why = {{0}};
    rc = hls_client_call(&c->client, &r, &resp, NULL, NULL, &why);
    hls_client_req_free(&r);
    if (rc == HLS_ETOOBIG && want > 1) { /* long records: smaller pages */
      page_size = want / 2;
      rc = 0;
      continue;
    }
    if (rc != 0) {
      rc = cli_refused(c, rc, why.text[0] ? why.text : hls_strerror(rc));
      break;
    }
    const struct hls_mp_value *page = resp.result;
    uint32_t got = page != NULL && page->type == HLS_MP_ARRAY ? page->len : 0;
    for (uint32_t i = 0; i < got && rc == 0; i++) {
      const struct hls_mp_value *rec = &page->v.items[i];
      if (csv) {
        if ((rc = export_row(rec, scratch)) != 0) rc = cli_fail(c, rc, "writing the export failed");
      } else if (all != NULL) {
        json_t *j = hls_mpjson_from_mp(rec);
        if (j == NULL || json_array_append_new(all, j) != 0) rc = cli_fail(c, HLS_ENOMEM, "out of memory");
      } else if (full) {
        if (listed + i > 0) printf("\n");
        print_record(rec);
      } else {
        record_row(table, rec);
      }
    }
    if (got > 0) {
      const struct hls_mp_value *last = &page->v.items[got - 1];
      hls_out_str(last, "date", after_date, sizeof after_date);
      after_id = hls_out_int(last, "id");
    }
    listed += got;
    hls_ctl_response_free(&resp);
    if (rc != 0 || got < (uint32_t)want || (limit > 0 && listed >= limit)) break;
  }
  if (rc == 0) {
    if (all != NULL) rc = hls_out_print_json_value(all);
    else if (!csv && listed == 0) printf("No records%s.\n", cli_params_count(&p, paging) > 0 ? " match" : " yet; add one with 'hls record add'");
    else if (table != NULL) hls_table_print(table, stdout);
  }
  json_decref(all);
  hls_table_free(table);
  free(scratch);
  if (rc != 0) return rc > 0 ? rc : HLS_EXIT_FAIL;
  return 0;
}

int cmd_record_list(struct cli *c, int argc, char **argv) { return list_records(c, argc, argv, 0); }
int cmd_record_export(struct cli *c, int argc, char **argv) { return list_records(c, argc, argv, 'c'); }

/* hls themes --network: the themes of every place's digests held. */
static int network_themes(struct cli *c) {
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_THEMES_NETWORK);
  msgpack_pack_nil(&r.pk);
  int rc = cli_call(c, &r, &resp);
  if (rc != 0) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No themes in the digests this node holds yet (its own and its peers').\n");
  } else {
    static const char *const headers[] = {"THEME", "KIND", "PLACES", "LAST WEEK"};
    struct hls_table *t = hls_table_new(4, headers);
    if (t) {
      hls_table_set_right(t, 2);
      hls_table_set_shrink(t, 0, 12);
    }
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *th = &list->v.items[i];
      char name[128], kind[32], places[24], week[16];
      snprintf(places, sizeof places, "%lld", (long long)hls_out_int(th, "places"));
      const char *cells[] = {hls_out_str(th, "name", name, sizeof name), hls_out_str(th, "kind", kind, sizeof kind),
                             places, hls_out_str(th, "last_week", week, sizeof week)};
      hls_table_add(t, cells);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_themes(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"network", no_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
  struct cli_opts o;
  int opt, ec, rc;
  bool network = false;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'n') network = true;
  }
  if (optind < argc) return cli_usage(c, "this command takes no arguments ('%s'?)", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  if (network) return network_themes(c);
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_THEMES);
  msgpack_pack_nil(&r.pk);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No themes in this node's own records yet (hls record add --theme adds them; a partner keeps none);\n"
           "'hls themes --network' lists the themes places report.\n");
  } else {
    static const char *const headers[] = {"THEME", "KIND", "TOTAL", "PERSON", "ORGANISATION", "PLACE", "COUNTRY"};
    static const char *const keys[] = {"total", "person", "organisation", "place", "country"};
    struct hls_table *t = hls_table_new(7, headers);
    for (int col = 2; t && col < 7; col++) hls_table_set_right(t, (size_t)col);
    if (t) hls_table_set_shrink(t, 0, 12);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *th = &list->v.items[i];
      char name[128], kind[32], num[5][24];
      for (int k = 0; k < 5; k++) snprintf(num[k], sizeof num[k], "%lld", (long long)hls_out_int(th, keys[k]));
      const char *cells[] = {hls_out_str(th, "name", name, sizeof name), hls_out_str(th, "kind", kind, sizeof kind),
                             num[0], num[1], num[2], num[3], num[4]};
      hls_table_add(t, cells);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* hls record search TEXT [filters] [--format csv|json] [--delete --yes]:
 * a subject access request (docs/governance.md): the records whose text
 * holds every word, every field; with --delete, deleted in one
 * transaction (their stories erased everywhere, as record delete does). */
int cmd_record_search(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"format", required_argument, NULL, 'f'},
                                      {"delete", no_argument, NULL, 'D'},
                                      {"yes", no_argument, NULL, 'y'},
                                      {NULL, 0, NULL, 0}};
  struct cli_params p;
  struct cli_opts o;
  int opt, ec, rc, format = 0;
  bool delete = false, yes = false;
  cli_opts_init_params(&o, &p, HLS_M_RECORD_SEARCH, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'f') {
      if (strcmp(optarg, "csv") == 0) format = 'c';
      else if (strcmp(optarg, "json") == 0) format = 'j';
      else return cli_usage(c, "--format: csv or json");
    } else if (opt == 'D') {
      delete = true;
    } else if (opt == 'y') {
      yes = true;
    } else if ((rc = cli_params_take(c, &p, opt, optarg)) != 0) {
      return rc == 1 ? cli_usage(c, "unknown option") : rc;
    }
  }
  if (delete && !yes)
    return cli_usage(c, "--delete deletes every record found, and erases their stories everywhere: add --yes "
                        "(search without --delete first to see them)");
  if ((rc = cli_params_positional(c, &p, argc, argv)) != 0) return rc;
  if ((rc = cli_params_check(c, &p)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_RECORD_SEARCH);
  msgpack_pack_map(&r.pk, (uint32_t)cli_params_count(&p, NULL));
  (void)cli_params_pack(&p, &r.pk, NULL);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  const struct hls_mp_value *list = resp.result;
  uint32_t n = list != NULL && list->type == HLS_MP_ARRAY ? list->len : 0;
  bool json = format ? format == 'j' : c->json;
  char *scratch = NULL;
  if (json) {
    rc = hls_out_print_json(list);
  } else if (format == 'c') {
    if ((scratch = malloc(EXPORT_BUF)) == NULL) rc = HLS_ENOMEM;
    for (size_t k = 0; k < N_EXPORT_COLUMNS && rc == 0; k++) rc = hls_out_csv_field(export_columns[k], k + 1 == N_EXPORT_COLUMNS);
    for (uint32_t i = 0; i < n && rc == 0; i++) rc = export_row(&list->v.items[i], scratch);
  } else if (n == 0) {
    printf("No record holds every word of \"%s\".\n", cli_params_str(&p, "text"));
  } else {
    for (uint32_t i = 0; i < n; i++) {
      if (i > 0) printf("\n");
      print_record(&list->v.items[i]);
    }
  }
  free(scratch);
  if (rc == 0 && delete && n > 0) {
    struct hls_client_req d;
    struct hls_ctl_response dresp;
    hls_client_begin(&c->client, &d, HLS_M_RECORD_DELETE);
    msgpack_pack_map(&d.pk, 1);
    hls_mp_pack_cstr(&d.pk, "ids");
    msgpack_pack_array(&d.pk, n);
    for (uint32_t i = 0; i < n; i++) msgpack_pack_int64(&d.pk, hls_out_int(&list->v.items[i], "id"));
    hls_ctl_response_free(&resp);
    if ((rc = cli_call(c, &d, &dresp)) != 0) return rc;
    /* What was done goes to stderr: stdout holds the records, as asked. */
    long long deleted = (long long)hls_out_int(dresp.result, "deleted");
    fprintf(stderr, "Deleted %lld record%s; their stories, if any went out, are erased at every place.\n", deleted,
            deleted == 1 ? "" : "s");
    hls_ctl_response_free(&dresp);
    return 0;
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
