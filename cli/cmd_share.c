/* hls consent set|withdraw, hls share preview|review|approve|reject|log|
 * publish|export|receipts, hls inspect. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "params.h"
#include "envelope.h"
#include "nodeid.h"
#include "text.h"

/* Parse options with no flags of their own and the given positionals. */
static int plain_args(struct cli *c, int argc, char **argv, const struct option *own, int want, const char *what,
                      bool *done) {
  struct cli_opts o;
  int opt, ec;
  *done = true;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (argc - optind != want) return cli_usage(c, "%s", what);
  *done = false;
  return 0;
}

/* --- consent ------------------------------------------------------------------- */

static void print_consent_result(const struct hls_ctl_response *resp) {
  const struct hls_mp_value *r = hls_mp_get(resp->result, "record");
  char level[32], by[80], expires[16], ended[16];
  printf("Record %lld: consent %s", (long long)hls_out_int(r, "id"), hls_out_str(r, "consent", level, sizeof level));
  if (hls_out_str(r, "consent_ended", ended, sizeof ended)[0]) printf(" (%s)", ended);
  if (hls_out_str(r, "consent_by", by, sizeof by)[0] && strcmp(level, "private") != 0) printf(", given by %s", by);
  if (hls_out_str(r, "consent_expires", expires, sizeof expires)[0] && strcmp(level, "private") != 0)
    printf(", until %s", expires);
  printf(".\n");
  int64_t story = hls_out_int(resp->result, "erasing_story_seq");
  if (story > 0) printf("Its published story (item %lld) is being erased everywhere with a tombstone.\n", (long long)story);
}

int cmd_consent_set(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_CONSENT_SET, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_consent_result(&resp);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_consent_withdraw(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  struct cli_params p;
  int rc = cli_params_call(c, argc, argv, HLS_M_CONSENT_WITHDRAW, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_consent_result(&resp);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- share ------------------------------------------------------------------------ */

static void print_story(const struct hls_mp_value *s, const char *lead) {
  char title[400], week[16], aud[16], scale[24], stage[24], themes[HLS_OUT_THEMES_SIZE];
  printf("%s%s  [%s, %s, %s/%s]\n", lead, hls_out_str(s, "title", title, sizeof title),
         hls_out_str(s, "week", week, sizeof week), hls_out_str(s, "audience", aud, sizeof aud),
         hls_out_str(s, "scale", scale, sizeof scale), hls_out_str(s, "stage", stage, sizeof stage));
  hls_out_themes(s, themes, sizeof themes, false);
  if (themes[0]) printf("    themes: %s\n", themes);
  hls_out_paragraph(s, "tried", "    what we tried:\n", "      ");
  hls_out_paragraph(s, "learnt", "    what we learnt:\n", "      ");
}

int cmd_share_preview(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_SHARE_PREVIEW, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
    hls_ctl_response_free(&resp);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  const struct hls_mp_value *digests = hls_mp_get(resp.result, "digests");
  const struct hls_mp_value *stories = hls_mp_get(resp.result, "stories");
  printf("What this node shares, as other nodes see it.\n\n");
  printf("Digests (weekly counts; person-scale counts below the threshold withheld, the rest rounded)\n");
  if (digests == NULL || digests->type != HLS_MP_ARRAY || digests->len == 0)
    printf("  none: no record has consent aggregate or above\n");
  for (uint32_t i = 0; digests && digests->type == HLS_MP_ARRAY && i < digests->len; i++) {
    const struct hls_mp_value *d = &digests->v.items[i];
    const struct hls_mp_value *cells = hls_mp_get(d, "cells");
    char week[16], state[32];
    printf("  %s  %s", hls_out_str(d, "week", week, sizeof week), hls_out_str(d, "state", state, sizeof state));
    if (hls_out_int(d, "seq") > 0) printf(" (item %lld)", (long long)hls_out_int(d, "seq"));
    printf("\n");
    static const char *const headers[] = {"THEME", "KIND", "SCALE", "STAGE", "COUNT"};
    struct hls_table *t = hls_table_new(5, headers);
    if (t) {
      size_t width = hls_out_term_width();
      hls_table_set_right(t, 4);
      hls_table_set_shrink(t, 0, 12);
      hls_table_set_width(t, width > 4 ? width - 4 : width); /* indented 4 */
    }
    for (uint32_t k = 0; t && cells && cells->type == HLS_MP_ARRAY && k < cells->len; k++) {
      const struct hls_mp_value *cell = &cells->v.items[k];
      const struct hls_mp_value *count = hls_mp_get(cell, "count");
      char theme[80], kind[24], scale[24], stage[24], num[32];
      if (count == NULL || count->type == HLS_MP_NIL)
        snprintf(num, sizeof num, "withheld");
      else
        snprintf(num, sizeof num, "%lld", (long long)hls_out_int(cell, "count"));
      const char *row[] = {hls_out_str(cell, "theme", theme, sizeof theme), hls_out_str(cell, "kind", kind, sizeof kind),
                           hls_out_str(cell, "scale", scale, sizeof scale), hls_out_str(cell, "stage", stage, sizeof stage),
                           num};
      hls_table_add(t, row);
    }
    if (t && cells && cells->len > 0) {
      /* Indent the table under its week. */
      char *buf = NULL;
      size_t len = 0;
      FILE *mem = open_memstream(&buf, &len);
      if (mem) {
        hls_table_print(t, mem);
        fclose(mem);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) printf("    %s\n", line);
        free(buf);
      }
    } else {
      printf("    (no counts: every record of this week was withdrawn, deleted or moved to another week)\n");
    }
    hls_table_free(t);
  }
  printf("\nStories\n");
  if (stories == NULL || stories->type != HLS_MP_ARRAY || stories->len == 0) printf("  none\n");
  for (uint32_t i = 0; stories && stories->type == HLS_MP_ARRAY && i < stories->len; i++) {
    const struct hls_mp_value *s = &stories->v.items[i];
    char state[32], lead[96];
    int64_t seq = hls_out_int(s, "seq");
    if (seq > 0)
      snprintf(lead, sizeof lead, "  record %lld, %s (item %lld): ", (long long)hls_out_int(s, "record"),
               hls_out_str(s, "state", state, sizeof state), (long long)seq);
    else
      snprintf(lead, sizeof lead, "  record %lld, %s: ", (long long)hls_out_int(s, "record"),
               hls_out_str(s, "state", state, sizeof state));
    print_story(s, lead);
  }
  int64_t waiting = hls_out_int(resp.result, "awaiting_review");
  if (waiting > 0)
    printf("\n%lld stor%s await%s review; nothing of %s is shared until approved: hls share review\n",
           (long long)waiting, waiting == 1 ? "y" : "ies", waiting == 1 ? "s" : "", waiting == 1 ? "it" : "them");
  hls_ctl_response_free(&resp);
  return 0;
}

int cmd_share_review(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_SHARE_REVIEW, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No stories await review.\n");
  } else {
    printf("%u stor%s await%s review. Each would be shared exactly as shown.\n\n", list->len,
           list->len == 1 ? "y" : "ies", list->len == 1 ? "s" : "");
    for (uint32_t i = 0; i < list->len; i++) {
      const struct hls_mp_value *s = &list->v.items[i];
      char lead[64];
      const struct hls_mp_value *changed = hls_mp_get(s, "changed");
      snprintf(lead, sizeof lead, "Record %lld%s: ", (long long)hls_out_int(s, "record"),
               changed && changed->type == HLS_MP_BOOL && changed->v.b ? " (changed since approved)" : "");
      print_story(s, lead);
      printf("    approve: hls share approve %lld   reject: hls share reject %lld\n\n", (long long)hls_out_int(s, "record"),
             (long long)hls_out_int(s, "record"));
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static int decision(struct cli *c, int argc, char **argv, enum hls_method_id method, const char *verb) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, method, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char aud[16];
    const struct hls_mp_value *unchanged = hls_mp_get(resp.result, "unchanged");
    if (unchanged != NULL && unchanged->type == HLS_MP_BOOL && unchanged->v.b) {
      printf("The story of record %lld was already %s as it stands; nothing changed.\n",
             (long long)hls_out_int(resp.result, "record"), method == HLS_M_SHARE_APPROVE ? "approved" : "rejected");
      hls_ctl_response_free(&resp);
      return 0;
    }
    printf("%s the story of record %lld", verb, (long long)hls_out_int(resp.result, "record"));
    if (hls_out_str(resp.result, "audience", aud, sizeof aud)[0])
      printf("; it goes to %s now", strcmp(aud, "network") == 0 ? "the whole network" : "this node's direct peers");
    printf(".\n");
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_share_approve(struct cli *c, int argc, char **argv) { return decision(c, argc, argv, HLS_M_SHARE_APPROVE, "Approved"); }
int cmd_share_reject(struct cli *c, int argc, char **argv) { return decision(c, argc, argv, HLS_M_SHARE_REJECT, "Rejected"); }

int cmd_share_publish(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_SHARE_PUBLISH, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (hls_out_int(resp.result, "published") == 0)
    /* not a failure: an approval publishes its story at once, and digests
     * wait for nothing else */
    printf("Nothing was waiting to be published: everything is out (chain at %lld).\n",
           (long long)hls_out_int(resp.result, "chain_seq"));
  else
    printf("Published %lld item%s (chain now at %lld).\n", (long long)hls_out_int(resp.result, "published"),
           hls_out_int(resp.result, "published") == 1 ? "" : "s", (long long)hls_out_int(resp.result, "chain_seq"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_share_log(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_SHARE_LOG, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("Nothing published yet.\n");
  } else {
    static const char *const headers[] = {"SEQ", "TYPE", "ABOUT", "AUDIENCE", "PUBLISHED", "STATE"};
    struct hls_table *t = hls_table_new(6, headers);
    if (t) hls_table_set_right(t, 0);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *e = &list->v.items[i];
      char seq[24], type[16], about[80], aud[16], when[32], state[64], week[16], reason[32], tmp[32];
      snprintf(seq, sizeof seq, "%lld", (long long)hls_out_int(e, "seq"));
      hls_out_str(e, "type", type, sizeof type);
      hls_out_str(e, "week", week, sizeof week);
      if (strcmp(type, "tombstone") == 0)
        snprintf(about, sizeof about, "item %lld (%s)", (long long)hls_out_int(e, "target"),
                 hls_out_str(e, "reason", reason, sizeof reason));
      else if (strcmp(type, "story") == 0 && hls_out_int(e, "record") > 0)
        snprintf(about, sizeof about, "record %lld, %s", (long long)hls_out_int(e, "record"), week);
      else if (strcmp(type, "story") == 0) /* its record is no longer held here (deleted, or a restore) */
        snprintf(about, sizeof about, "a record not held, %s", week);
      else if (strcmp(type, "digest") == 0)
        snprintf(about, sizeof about, "week %s", week);
      else if (strcmp(type, "receipt") == 0)
        snprintf(about, sizeof about, "erasures done here");
      else
        snprintf(about, sizeof about, "this node");
      hls_out_str(e, "state", tmp, sizeof tmp);
      if (strcmp(tmp, "superseded") == 0)
        snprintf(state, sizeof state, "superseded by %lld", (long long)hls_out_int(e, "superseded_by"));
      else if (strcmp(tmp, "erased") == 0)
        snprintf(state, sizeof state, "erased by %lld", (long long)hls_out_int(e, "erased_by"));
      else
        snprintf(state, sizeof state, "%s", tmp);
      const char *row[] = {seq, type, about, hls_out_str(e, "audience", aud, sizeof aud),
                           hls_out_str(e, "published_at", when, sizeof when), state};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static int write_file_new(const char *path, const void *data, size_t len, struct hls_why *why) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return hls_why_set(why, errno == EEXIST ? HLS_EEXISTS : HLS_EIO, "%s: %s", path, strerror(errno));
  const char *p = data;
  int rc = 0;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = hls_why_set(why, hls_err_from_errno(errno), "%s: %s", path, strerror(errno));
      break;
    }
    p += w;
    len -= (size_t)w;
  }
  if (close(fd) != 0 && rc == 0) rc = hls_why_set(why, hls_err_from_errno(errno), "%s: %s", path, strerror(errno));
  if (rc != 0) unlink(path);
  return rc;
}

int cmd_share_export(struct cli *c, int argc, char **argv) {
  bool done;
  int rc = plain_args(c, argc, argv, NULL, 2, "give an item SEQ and a FILE", &done);
  if (done) return rc;
  int64_t seq;
  if (cli_parse_id(argv[optind], &seq) != 0) return cli_usage(c, "SEQ is a positive number");
  const char *path = argv[optind + 1];
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_SHARE_EXPORT);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_i64(&r.pk, "seq", seq);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  const struct hls_mp_value *env = hls_mp_get(resp.result, "envelope");
  struct hls_why why = {{0}};
  if (env == NULL || env->type != HLS_MP_BIN) rc = hls_why_set(&why, HLS_EMALFORMED, "no envelope in the reply");
  else rc = write_file_new(path, env->v.bin, env->len, &why);
  if (rc == 0) {
    char body[16];
    if (c->json) {
      json_t *j = json_pack("{s:I, s:s, s:I, s:s}", "seq", (json_int_t)seq, "file", path, "bytes", (json_int_t)env->len,
                            "body", hls_out_str(resp.result, "body", body, sizeof body));
      if (j) hls_out_print_json_value(j);
      json_decref(j);
    } else {
      printf("Wrote item %lld (%u bytes, body %s) to %s. Check it with: hls inspect %s\n", (long long)seq, env->len,
             hls_out_str(resp.result, "body", body, sizeof body), path, path);
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : cli_fail(c, rc, "%s", why.text);
}

/* --- erasure receipts ------------------------------------------------------------------ */

int cmd_share_receipts(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_SHARE_RECEIPTS, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
    hls_ctl_response_free(&resp);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  const struct hls_mp_value *item = hls_mp_get(resp.result, "item"), *places = hls_mp_get(resp.result, "places");
  char type[16], aud[16], week[16], erased_at[32], reason[32], about[64] = "";
  hls_out_str(item, "type", type, sizeof type);
  hls_out_str(item, "week", week, sizeof week);
  if (hls_out_int(item, "record") > 0)
    snprintf(about, sizeof about, "record %lld, %s, ", (long long)hls_out_int(item, "record"), week);
  else if (week[0])
    snprintf(about, sizeof about, "week %s, ", week);
  printf("Item %lld (%s, %s%s) was erased by tombstone %lld at %s (%s).\n", (long long)hls_out_int(item, "seq"), type,
         about, hls_out_str(item, "audience", aud, sizeof aud), (long long)hls_out_int(item, "erased_by"),
         hls_out_str(item, "erased_at", erased_at, sizeof erased_at), hls_out_str(item, "reason", reason, sizeof reason));
  int64_t expected = hls_out_int(resp.result, "expected"), confirmed = hls_out_int(resp.result, "confirmed");
  int64_t not_expected = hls_out_int(resp.result, "not_expected");
  if (strcmp(aud, "peers") == 0)
    printf("Expected to confirm: this node's direct peers (hls peer list), who alone were given its body.\n");
  else
    printf("Expected to confirm: every place this node knows that had joined the network before the erasure.\n");
  if (places != NULL && places->type == HLS_MP_ARRAY && places->len > 0) {
    static const char *const headers[] = {"PLACE", "NODE", "STATE", "WHEN", "RECEIPT"};
    struct hls_table *t = hls_table_new(5, headers);
    for (uint32_t i = 0; t && i < places->len; i++) {
      const struct hls_mp_value *e = &places->v.items[i];
      char place[HLS_PLACE_MAX + 40], node[HLS_NODEID_TEXT_SIZE], state[40], at[32], seq[48];
      if (!hls_out_str(e, "place", place, sizeof place)[0]) snprintf(place, sizeof place, "(no profile held)");
      const struct hls_mp_value *exp = hls_mp_get(e, "expected");
      if (exp != NULL && exp->type == HLS_MP_BOOL && !exp->v.b)
        snprintf(place + strlen(place), sizeof place - strlen(place), " (not expected)");
      hls_out_str(e, "state", state, sizeof state);
      if (strcmp(state, "not_yet") == 0) snprintf(state, sizeof state, "not yet");
      else if (strcmp(state, "never_held") == 0) snprintf(state, sizeof state, "never held");
      if (!hls_out_str(e, "at", at, sizeof at)[0]) snprintf(at, sizeof at, "-");
      if (hls_out_int(e, "receipt_seq") > 0) snprintf(seq, sizeof seq, "item %lld", (long long)hls_out_int(e, "receipt_seq"));
      else snprintf(seq, sizeof seq, "-");
      const char *row[] = {place, hls_out_str(e, "node_id", node, sizeof node), state, at, seq};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  int64_t erased = hls_out_int(resp.result, "erased"), never_held = hls_out_int(resp.result, "never_held");
  printf("%lld of %lld expected place%s confirmed", (long long)confirmed, (long long)expected, expected == 1 ? "" : "s");
  if (erased > 0 && never_held > 0) printf(" (%lld erased, %lld never held)", (long long)erased, (long long)never_held);
  else if (confirmed > 0) printf(" (%s)", erased > 0 ? "erased" : "never held");
  if (expected > confirmed) printf("; %lld not yet", (long long)(expected - confirmed));
  if (not_expected > 0)
    printf("; %lld more place%s, not expected, sent %s too", (long long)not_expected, not_expected == 1 ? "" : "s",
           not_expected == 1 ? "a receipt" : "receipts");
  printf(".\n");
  hls_ctl_response_free(&resp);
  return 0;
}

/* --- inspect ------------------------------------------------------------------------- */

static const char *explain(int code) {
  switch (code) {
    case HLS_EBADSIG: return "the signature does not match the header: the item was altered, or not made by its origin";
    case HLS_ENONCANON: return "not in the one canonical encoding: every item has exactly one byte form";
    case HLS_ETRAILING: return "bytes after the envelope";
    case HLS_ETRUNCATED: return "the file ends inside the envelope";
    case HLS_ETOOBIG: return "larger than any envelope may be";
    case HLS_EUNSUPPORTED: return "a version or type this hlsd does not know";
    default: return "not a well-formed envelope";
  }
}

static json_t *hex_json(const uint8_t *b, size_t n) {
  char hex[2 * 64 + 1];
  sodium_bin2hex(hex, sizeof hex, b, n);
  return json_string(hex);
}

static json_t *body_json(const struct hls_envelope *env, struct hls_why *why, int *rc) {
  json_t *j = json_object();
  *rc = 0;
  switch (env->h.type) {
    case HLS_ENV_PROFILE: {
      struct hls_profile p;
      if ((*rc = hls_profile_decode(&p, env->body, env->body_len, why)) != 0) break;
      json_t *addrs = json_array();
      for (size_t i = 0; i < p.n_addresses; i++) json_array_append_new(addrs, json_string(p.addresses[i]));
      json_object_set_new(j, "place", json_string(p.place));
      json_object_set_new(j, "region", json_string(p.region));
      json_object_set_new(j, "role", json_string(p.role == HLS_PROFILE_PARTNER ? "partner" : "place"));
      json_object_set_new(j, "addresses", addrs);
      break;
    }
    case HLS_ENV_DIGEST: {
      struct hls_digest d;
      if ((*rc = hls_digest_decode(&d, env->body, env->body_len, why)) != 0) break;
      char week[9];
      hls_iso_week_format(d.iso_year, d.iso_week, week);
      json_object_set_new(j, "week", json_string(week));
      json_object_set_new(j, "method", json_pack("{s:s, s:i, s:i}", "name", hls_digest_method_name(d.method.kind), "threshold",
                                                 (int)d.method.threshold, "rounding", (int)d.method.rounding));
      json_t *cells = json_array();
      for (size_t i = 0; i < d.n_cells; i++) {
        const struct hls_digest_cell *c = &d.cells[i];
        json_array_append_new(cells, json_pack("{s:s, s:s, s:s, s:s, s:o}", "theme", c->theme, "kind",
                                               hls_kind_name((enum hls_kind)c->kind), "scale",
                                               hls_scale_name((enum hls_scale)c->scale), "stage",
                                               hls_stage_name((enum hls_stage)c->stage), "count",
                                               c->withheld ? json_null() : json_integer(c->count)));
      }
      json_object_set_new(j, "cells", cells);
      hls_digest_free(&d);
      break;
    }
    case HLS_ENV_STORY: {
      struct hls_story s;
      if ((*rc = hls_story_decode(&s, env->body, env->body_len, why)) != 0) break;
      char week[9];
      hls_iso_week_format(s.iso_year, s.iso_week, week);
      json_t *themes = json_array();
      for (size_t i = 0; i < s.n_themes; i++)
        json_array_append_new(themes, json_pack("{s:s, s:s}", "name", s.themes[i].slug, "kind",
                                                hls_kind_name(s.themes[i].kind)));
      json_object_set_new(j, "week", json_string(week));
      json_object_set_new(j, "title", json_string(s.title));
      json_object_set_new(j, "tried", s.tried ? json_string(s.tried) : json_null());
      json_object_set_new(j, "learnt", s.learnt ? json_string(s.learnt) : json_null());
      json_object_set_new(j, "themes", themes);
      json_object_set_new(j, "scale", json_string(hls_scale_name((enum hls_scale)s.scale)));
      json_object_set_new(j, "stage", json_string(hls_stage_name((enum hls_stage)s.stage)));
      hls_story_free(&s);
      break;
    }
    case HLS_ENV_TOMBSTONE: {
      struct hls_tombstone t;
      if ((*rc = hls_tombstone_decode(&t, env->body, env->body_len, why)) != 0) break;
      json_object_set_new(j, "target_seq", json_integer((json_int_t)t.target_seq));
      json_object_set_new(j, "reason", json_string(hls_tomb_reason_name(t.reason)));
      break;
    }
    case HLS_ENV_RECEIPT: {
      struct hls_receipt r;
      if ((*rc = hls_receipt_decode(&r, env->body, env->body_len, why)) != 0) break;
      json_t *entries = json_array();
      for (size_t i = 0; i < r.n_entries; i++) {
        char origin[HLS_NODEID_TEXT_SIZE];
        hls_nodeid_format(r.entries[i].origin, origin);
        json_array_append_new(entries, json_pack("{s:s, s:I, s:s}", "origin", origin, "target_seq",
                                                 (json_int_t)r.entries[i].target_seq, "state",
                                                 hls_receipt_state_name(r.entries[i].state)));
      }
      json_object_set_new(j, "entries", entries);
      hls_receipt_free(&r);
      break;
    }
    case HLS_ENV_FORK: {
      /* The evidence (docs/protocol.md 4.7): the forked origin and its two
       * conflicting items (verified when the body was decoded). */
      struct hls_fork f;
      if ((*rc = hls_fork_decode(&f, env->body, env->body_len, why)) != 0) break;
      char origin[HLS_NODEID_TEXT_SIZE];
      hls_nodeid_format(f.origin, origin);
      json_t *items = json_array();
      const uint8_t *stub[2] = {f.a, f.b};
      size_t len[2] = {f.a_len, f.b_len};
      for (int i = 0; i < 2; i++) {
        struct hls_envelope e;
        if (hls_env_decode(&e, stub[i], len[i], NULL) != 0) continue; /* cannot be: decoded above */
        char id[2 * HLS_HASH_BYTES + 1];
        sodium_bin2hex(id, sizeof id, e.id, HLS_HASH_BYTES);
        json_array_append_new(items, json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)e.h.seq, "type",
                                               hls_env_type_name(e.h.type), "item_id", id));
      }
      json_object_set_new(j, "forked_origin", json_string(origin));
      json_object_set_new(j, "items", items);
      break;
    }
    case HLS_ENV_REKEY: {
      struct hls_rekey r;
      if ((*rc = hls_rekey_decode(&r, env->body, env->body_len, why)) != 0) break;
      char hash[65], until[21];
      sodium_bin2hex(hash, sizeof hash, r.key_hash, sizeof r.key_hash);
      hls_time_format((int64_t)r.overlap_until_ms, until);
      json_object_set_new(j, "epoch", json_integer((json_int_t)r.epoch));
      json_object_set_new(j, "key_hash", json_string(hash));
      json_object_set_new(j, "overlap_until", json_string(until));
      json_t *ex = json_array();
      for (size_t i = 0; ex != NULL && i < r.n_expelled; i++) {
        char id[HLS_NODEID_TEXT_SIZE];
        hls_nodeid_format(r.expelled[i], id);
        json_array_append_new(ex, json_string(id));
      }
      json_object_set_new(j, "expelled", ex != NULL ? ex : json_null());
      break;
    }
    case HLS_ENV_VOUCH: {
      struct hls_vouch v;
      if ((*rc = hls_vouch_decode(&v, env->body, env->body_len, why)) != 0) break;
      char subject[HLS_NODEID_TEXT_SIZE];
      hls_nodeid_format(v.subject, subject);
      json_object_set_new(j, "subject", json_string(subject));
      json_object_set_new(j, "withdrawn", json_boolean(v.withdrawn));
      json_object_set_new(j, "place", v.withdrawn ? json_null() : json_string(v.place));
      json_object_set_new(j, "region", v.withdrawn ? json_null() : json_string(v.region));
      json_object_set_new(j, "role", v.withdrawn ? json_null()
                                                 : json_string(v.role == HLS_PROFILE_PARTNER ? "partner" : "place"));
      break;
    }
    default: break;
  }
  return j;
}

/* An SQLite file's first bytes (hls backup writes such files). */
static bool is_sqlite(const char *data, size_t len) {
  static const char magic[16] = "SQLite format 3";
  return len >= sizeof magic && memcmp(data, magic, sizeof magic) == 0;
}

#define SQLITE_NOT_ENVELOPE                                                                                     \
  "an SQLite database (a backup from hls backup, or a store), not an envelope: hls inspect reads envelope "    \
  "files (hls share export); to check a backup, restore it into a data directory (docs/operations.md, "        \
  "Restore) and run hlsd --home DIR --check"

int cmd_inspect(struct cli *c, int argc, char **argv) {
  bool done;
  int rc = plain_args(c, argc, argv, NULL, 1, "give one envelope FILE", &done);
  if (done) return rc;
  const char *path = argv[optind];
  char *data = NULL;
  size_t len = 0;
  struct hls_why why = {{0}};
  if ((rc = cli_read_file(path, HLS_ENV_MAX_BYTES + 1, &data, &len, &why)) != 0) {
    /* too large for an envelope: perhaps a store or a backup */
    char head[16];
    FILE *f = rc == HLS_ETOOBIG ? fopen(path, "rb") : NULL;
    bool sqlite = f != NULL && fread(head, 1, sizeof head, f) == sizeof head && is_sqlite(head, sizeof head);
    if (f != NULL) fclose(f);
    if (sqlite) return cli_fail(c, HLS_EINVAL, "%s is %s", path, SQLITE_NOT_ENVELOPE);
    return cli_fail(c, rc, "%s", why.text);
  }
  struct hls_envelope env;
  rc = hls_env_decode(&env, (const uint8_t *)data, len, &why);
  int sig_rc = rc == 0 ? hls_env_verify(&env) : 0;
  json_t *out = json_object();
  json_object_set_new(out, "file", json_string(path));
  json_object_set_new(out, "bytes", json_integer((json_int_t)len));
  json_object_set_new(out, "valid", json_boolean(rc == 0 && sig_rc == 0));
  if (rc != 0 || sig_rc != 0) {
    int code = rc != 0 ? rc : sig_rc;
    char message[sizeof why.text + 128];
    snprintf(message, sizeof message, "%s%s%s", explain(code), rc != 0 && why.text[0] ? ": " : "",
             rc != 0 ? why.text : "");
    if (rc != 0 && is_sqlite(data, len)) snprintf(message, sizeof message, "%s", SQLITE_NOT_ENVELOPE);
    if (rc != 0 && len == 0) snprintf(message, sizeof message, "the file is empty");
    json_object_set_new(out, "error", json_pack("{s:s, s:s}", "code", hls_err_name(code), "message", message));
  }
  if (rc == 0) {
    char node_id[HLS_NODEID_TEXT_SIZE], when[21];
    hls_nodeid_format(env.h.origin, node_id);
    hls_time_format((int64_t)env.h.timestamp_ms, when);
    json_t *h = json_object();
    json_object_set_new(h, "version", json_integer(env.h.version));
    json_object_set_new(h, "type", json_string(hls_env_type_name(env.h.type)));
    json_object_set_new(h, "origin", json_string(node_id));
    json_object_set_new(h, "seq", json_integer((json_int_t)env.h.seq));
    json_object_set_new(h, "prev", env.h.has_prev ? hex_json(env.h.prev, 32) : json_null());
    json_object_set_new(h, "timestamp", json_string(when));
    json_object_set_new(h, "audience", json_string(hls_env_audience_name(env.h.audience)));
    json_object_set_new(h, "body_hash", hex_json(env.h.body_hash, 32));
    json_object_set_new(out, "header", h);
    json_object_set_new(out, "item_id", hex_json(env.id, 32));
    json_object_set_new(out, "signature", json_string(sig_rc == 0 ? "valid" : "invalid"));
    if (env.body != NULL) {
      int brc;
      json_object_set_new(out, "body", body_json(&env, NULL, &brc));
    } else {
      json_object_set_new(out, "body", json_null());
    }
  }
  int exit_code = rc == 0 && sig_rc == 0 ? 0 : HLS_EXIT_FAIL;
  if (c->json) {
    hls_out_print_json_value(out);
  } else {
    const json_t *err = json_object_get(out, "error");
    if (err) printf("%s: INVALID (%s): %s\n", path, json_string_value(json_object_get(err, "code")),
                    json_string_value(json_object_get(err, "message")));
    else printf("%s: valid envelope, signature checked\n", path);
    const json_t *h = json_object_get(out, "header");
    if (h) {
      const char *key;
      json_t *val;
      json_object_foreach((json_t *)(uintptr_t)h, key, val) {
        if (json_is_string(val)) printf("  %-10s %s\n", key, json_string_value(val));
        else if (json_is_integer(val)) printf("  %-10s %lld\n", key, (long long)json_integer_value(val));
        else printf("  %-10s -\n", key);
      }
      printf("  %-10s %s\n", "item id", json_string_value(json_object_get(out, "item_id")));
      const json_t *body = json_object_get(out, "body");
      if (body && !json_is_null(body)) {
        char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("  body (%zu bytes, matches body_hash):\n", env.body_len);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) printf("    %s\n", line);
        free(text);
      } else {
        printf("  body       not included (a stub): the header alone still proves the chain\n");
      }
    }
  }
  if (exit_code != 0) {
    const json_t *err = json_object_get(out, "error");
    if (is_sqlite(data, len)) cli_fail(c, HLS_EINVAL, "%s is %s", path, SQLITE_NOT_ENVELOPE);
    else
      cli_fail(c, HLS_EINVAL, "%s is not a valid envelope (%s)", path, json_string_value(json_object_get(err, "code")));
  }
  json_decref(out);
  free(data);
  return exit_code;
}
