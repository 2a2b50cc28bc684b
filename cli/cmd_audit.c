/* hls audit [--since DATE] [--record ID] [--who USER] [--limit N] [--csv],
 * hls audit verify (docs/governance.md). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out.h"
#include "params.h"
#include "patview.h"

static const char *const audit_columns[] = {"seq", "at", "who", "action", "record", "about", "before", "after",
                                            "result", "hash"};
#define N_AUDIT_COLUMNS (sizeof audit_columns / sizeof audit_columns[0])

static int print_csv(const struct hls_mp_value *list) {
  int rc = 0;
  for (size_t k = 0; k < N_AUDIT_COLUMNS && rc == 0; k++) rc = hls_out_csv_field(audit_columns[k], k + 1 == N_AUDIT_COLUMNS);
  for (uint32_t i = 0; rc == 0 && i < list->len; i++) {
    const struct hls_mp_value *e = &list->v.items[i];
    for (size_t k = 0; k < N_AUDIT_COLUMNS && rc == 0; k++) {
      char buf[8192];
      const char *col = audit_columns[k];
      if (strcmp(col, "seq") == 0 || strcmp(col, "record") == 0) {
        int64_t v = hls_out_int(e, col);
        if (v > 0) snprintf(buf, sizeof buf, "%lld", (long long)v);
        else buf[0] = '\0';
      } else {
        hls_out_str(e, col, buf, sizeof buf);
      }
      rc = hls_out_csv_field(buf, k + 1 == N_AUDIT_COLUMNS);
    }
  }
  return rc;
}

/* What changed between two record summaries (JSON objects), in words:
 * "stage experiment -> reflect; story none -> approved". */
static void change_words(const char *before, const char *after, char *out, size_t size) {
  out[0] = '\0';
  json_t *b = before[0] ? json_loads(before, 0, NULL) : NULL, *a = after[0] ? json_loads(after, 0, NULL) : NULL;
  if (b == NULL && a != NULL) snprintf(out, size, "added");
  else if (b != NULL && a == NULL) snprintf(out, size, "gone");
  size_t used = 0;
  const char *key;
  json_t *av;
  if (a != NULL && b != NULL) {
    json_object_foreach(a, key, av) {
      json_t *bv = json_object_get(b, key);
      if (json_equal(av, bv)) continue;
      if (strcmp(key, "text_bytes") == 0 && json_is_object(av) && json_is_object(bv)) {
        /* The log keeps only the length of typed text: say which changed. */
        const char *field;
        json_t *fv;
        json_object_foreach(av, field, fv) {
          if (json_equal(fv, json_object_get(bv, field))) continue;
          int n = snprintf(out + used, size - used, "%s%s text changed", used ? "; " : "", field);
          if (n < 0 || (size_t)n >= size - used) break;
          used += (size_t)n;
        }
        continue;
      }
      char *bt = bv ? json_dumps(bv, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
      char *at = json_dumps(av, JSON_ENCODE_ANY | JSON_COMPACT);
      int n = snprintf(out + used, size - used, "%s%s %s -> %s", used ? "; " : "", key, bt ? bt : "null",
                       at ? at : "null");
      free(bt);
      free(at);
      if (n < 0 || (size_t)n >= size - used) break;
      used += (size_t)n;
    }
    if (used == 0) snprintf(out, size, "no field changed");
  }
  json_decref(a);
  json_decref(b);
}

static int print_table(const struct hls_mp_value *list) {
  if (list->len == 0) {
    printf("No audit entries match.\n");
    return 0;
  }
  static const char *const headers[] = {"SEQ", "AT", "WHO", "ACTION", "RECORD", "ABOUT", "RESULT", "CHANGE"};
  struct hls_table *t = hls_table_new(8, headers);
  if (t == NULL) return HLS_ENOMEM;
  hls_table_set_right(t, 0);
  hls_table_set_shrink(t, 7, 20);
  int rc = 0;
  for (uint32_t i = 0; rc == 0 && i < list->len; i++) {
    const struct hls_mp_value *e = &list->v.items[i];
    char seq[24], at[32], who[96], action[64], record[24] = "", about[200], result[48], change[1300] = "";
    char before[600], after[600];
    snprintf(seq, sizeof seq, "%lld", (long long)hls_out_int(e, "seq"));
    if (hls_out_int(e, "record") > 0) snprintf(record, sizeof record, "%lld", (long long)hls_out_int(e, "record"));
    hls_out_str(e, "before", before, sizeof before);
    hls_out_str(e, "after", after, sizeof after);
    hls_out_str(e, "result", result, sizeof result);
    /* A refused change changed nothing: its entry has the record as it
     * was and no after, which is not the record gone. */
    if ((before[0] || after[0]) && strcmp(result, "ok") != 0) snprintf(change, sizeof change, "nothing changed");
    else if (before[0] || after[0]) change_words(before, after, change, sizeof change);
    const char *cells[] = {seq,
                           hls_out_str(e, "at", at, sizeof at),
                           hls_out_str(e, "who", who, sizeof who),
                           hls_out_str(e, "action", action, sizeof action),
                           record,
                           hls_out_str(e, "about", about, sizeof about),
                           result,
                           change};
    rc = hls_table_add(t, cells);
  }
  if (rc == 0) hls_table_print(t, stdout);
  hls_table_free(t);
  return rc;
}

int cmd_audit(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"csv", no_argument, NULL, 'C'}, {NULL, 0, NULL, 0}};
  struct cli_params p;
  struct cli_opts o;
  int opt, ec, rc;
  bool csv = false;
  cli_opts_init_params(&o, &p, HLS_M_AUDIT, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'C') csv = true;
    else if ((rc = cli_params_take(c, &p, opt, optarg)) != 0) return rc == 1 ? cli_usage(c, "unknown option") : rc;
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if (csv && c->json) return cli_usage(c, "--csv and --json: choose one");
  if ((rc = cli_params_check(c, &p)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_AUDIT);
  msgpack_pack_map(&r.pk, (uint32_t)cli_params_count(&p, NULL));
  cli_params_pack(&p, &r.pk, NULL);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  const struct hls_mp_value *list = resp.result;
  if (list == NULL || list->type != HLS_MP_ARRAY) rc = HLS_EMALFORMED;
  else if (c->json) rc = hls_out_print_json(list);
  else if (csv) rc = print_csv(list);
  else rc = print_table(list);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_audit_verify(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_AUDIT_VERIFY, &resp, &done);
  if (done) return rc;
  bool ok = hls_patview_flag(resp.result, "ok");
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char head[80];
    hls_out_str(resp.result, "head", head, sizeof head);
    if (ok)
      printf("The audit log is whole: %lld entries, each as written, none missing.\nHead %s (note it: a later "
             "verify whose entries start with these shows nothing was rewritten).\n",
             (long long)hls_out_int(resp.result, "entries"), head);
    else
      printf("The audit log is NOT whole: entry %lld (of %lld) was changed, or one before it removed.\n",
             (long long)hls_out_int(resp.result, "first_bad_seq"), (long long)hls_out_int(resp.result, "entries"));
  }
  hls_ctl_response_free(&resp);
  if (rc != 0) return HLS_EXIT_FAIL;
  return ok ? 0 : HLS_EXIT_FAIL;
}
