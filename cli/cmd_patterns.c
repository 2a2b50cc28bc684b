/* hls patterns [filters] | patterns show ID, and hls feed subscribe |
 * list | follow | unsubscribe: the patterns this node finds across places
 * (docs/patterns.md) and the durable feeds of their changes. */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "text.h"

#define FILTER_VALUES 16

/* The filter options, shared by patterns and feed subscribe. */
static const struct option filter_opts[] = {{"signal", required_argument, NULL, 'S'},
                                            {"theme", required_argument, NULL, 't'},
                                            {"kind", required_argument, NULL, 'k'},
                                            {"scale", required_argument, NULL, 'c'},
                                            {"region", required_argument, NULL, 'r'},
                                            {"since", required_argument, NULL, 's'},
                                            {"until", required_argument, NULL, 'u'},
                                            {"min-places", required_argument, NULL, 'm'},
                                            {"limit", required_argument, NULL, 'l'},
                                            {"no-wait", no_argument, NULL, 'n'},
                                            {NULL, 0, NULL, 0}};

struct filter_args {
  const char *values[5][FILTER_VALUES]; /* signal, theme, kind, scale, region */
  size_t n[5];
  const char *since, *until;
  int64_t min_places;
  bool has_min_places;
  int64_t limit;
  bool has_limit, no_wait;
};

static const char *const list_keys[5] = {"signal", "theme", "kind", "scale", "region"};

/* One option into fa; 0, or a usage exit code (already printed). */
static int filter_opt(struct cli *c, int opt, struct filter_args *fa, bool allow_limit, bool allow_no_wait) {
  int slot = opt == 'S' ? 0 : opt == 't' ? 1 : opt == 'k' ? 2 : opt == 'c' ? 3 : opt == 'r' ? 4 : -1;
  if (slot >= 0) {
    if (fa->n[slot] == FILTER_VALUES) return cli_usage(c, "--%s: at most %d values", list_keys[slot], FILTER_VALUES);
    if (!optarg[0]) return cli_usage(c, "--%s: give a value", list_keys[slot]);
    fa->values[slot][fa->n[slot]++] = optarg;
    return 0;
  }
  switch (opt) {
  case 's': fa->since = optarg; return 0;
  case 'u': fa->until = optarg; return 0;
  case 'm':
    if (cli_parse_limit(optarg, &fa->min_places) != 0) return cli_usage(c, "--min-places takes a whole number");
    fa->has_min_places = true;
    return 0;
  case 'l':
    if (!allow_limit) return cli_usage(c, "--limit is not an option of this command");
    if (cli_parse_limit(optarg, &fa->limit) != 0) return cli_usage(c, "--limit takes a whole number (0: all)");
    fa->has_limit = true;
    return 0;
  case 'n':
    if (!allow_no_wait) return cli_usage(c, "--no-wait is not an option of this command");
    fa->no_wait = true;
    return 0;
  default: return cli_usage(c, "unknown option");
  }
}

static size_t filter_count(const struct filter_args *fa) {
  size_t n = 0;
  for (int i = 0; i < 5; i++) n += fa->n[i] > 0;
  return n + (fa->since != NULL) + (fa->until != NULL) + fa->has_min_places;
}

static void filter_pack(msgpack_packer *pk, const struct filter_args *fa) {
  for (int i = 0; i < 5; i++) {
    if (fa->n[i] == 0) continue;
    hls_mp_pack_cstr(pk, list_keys[i]);
    msgpack_pack_array(pk, fa->n[i]);
    for (size_t j = 0; j < fa->n[i]; j++) hls_mp_pack_cstr(pk, fa->values[i][j]);
  }
  if (fa->since) hls_mp_pack_kv_str(pk, "since", fa->since);
  if (fa->until) hls_mp_pack_kv_str(pk, "until", fa->until);
  if (fa->has_min_places) hls_mp_pack_kv_i64(pk, "min_places", fa->min_places);
}

/* --- patterns ----------------------------------------------------------------------- */

static void theme_text(const struct hls_mp_value *p, char *out, size_t size) {
  char t1[HLS_THEME_MAX + 1], k1[16], t2[HLS_THEME_MAX + 1], k2[16];
  hls_out_str(p, "theme", t1, sizeof t1);
  hls_out_str(p, "kind", k1, sizeof k1);
  if (hls_out_str(p, "theme2", t2, sizeof t2)[0])
    snprintf(out, size, "%s:%s + %s:%s", k1, t1, hls_out_str(p, "kind2", k2, sizeof k2), t2);
  else snprintf(out, size, "%s:%s", k1, t1);
}

static void score_text(const struct hls_mp_value *p, char *out, size_t size) {
  const struct hls_mp_value *v = hls_mp_get(p, "score");
  double score = v && v->type == HLS_MP_FLOAT ? v->v.f : (double)hls_out_int(p, "score");
  char name[16];
  hls_out_str(p, "score_name", name, sizeof name);
  const struct hls_mp_value *npmi = hls_mp_get(p, "npmi");
  if (npmi && npmi->type == HLS_MP_FLOAT) snprintf(out, size, "%s %.1f, npmi %.2f", name, score, npmi->v.f);
  else if (strcmp(name, "places") == 0 || strcmp(name, "scales") == 0) snprintf(out, size, "%s %.0f", name, score);
  else snprintf(out, size, "%s %.1f", name, score);
}

static void places_text(const struct hls_mp_value *p, char *out, size_t size, size_t max_names) {
  const struct hls_mp_value *places = hls_mp_get(p, "places");
  out[0] = '\0';
  if (places == NULL || places->type != HLS_MP_ARRAY) return;
  size_t len = 0;
  for (uint32_t i = 0; i < places->len && i < max_names; i++) {
    const struct hls_mp_value *v = &places->v.items[i];
    if (v->type != HLS_MP_STR) continue;
    int w = snprintf(out + len, size - len, "%s%.*s", i ? ", " : "", (int)v->len, v->v.str);
    if (w < 0 || (size_t)w >= size - len) return;
    len += (size_t)w;
  }
  if (places->len > max_names) snprintf(out + len, size - len, " and %u more", places->len - (unsigned)max_names);
}

static void patterns_table(const struct hls_mp_value *list) {
  static const char *const headers[] = {"ID", "SIGNAL", "THEME", "WEEKS", "PLACES", "COUNT", "SCORE"};
  struct hls_table *t = hls_table_new(7, headers);
  if (t) {
    hls_table_set_max_width(t, 2, 50);
    hls_table_set_max_width(t, 4, 60);
  }
  for (uint32_t i = 0; t && i < list->len; i++) {
    const struct hls_mp_value *p = &list->v.items[i];
    char id[32], signal[16], theme[2 * HLS_THEME_MAX + 32], weeks[40], from[16], to[16], places[512], count[48],
        score[64];
    theme_text(p, theme, sizeof theme);
    hls_out_str(p, "from", from, sizeof from);
    hls_out_str(p, "to", to, sizeof to);
    if (strcmp(from, to) == 0) snprintf(weeks, sizeof weeks, "%s", from);
    else snprintf(weeks, sizeof weeks, "%s..%s", from, to);
    char names[480 - 32];
    places_text(p, names, sizeof names, 3);
    snprintf(places, sizeof places, "%lld: %s", (long long)hls_out_int(p, "n_places"), names);
    score_text(p, score, sizeof score);
    const char *row[] = {hls_out_str(p, "id", id, sizeof id), hls_out_str(p, "signal", signal, sizeof signal), theme,
                         weeks, places, hls_out_str(p, "count", count, sizeof count), score};
    hls_table_add(t, row);
  }
  if (t) hls_table_print(t, stdout);
  hls_table_free(t);
  printf("\n'hls patterns show ID' explains one: its method, places, weeks, counts and stories.\n");
}

/* Long lists come in pages of this many (one reply must fit the control
 * frame limit, and a spread pattern names every one of its places). */
#define PAGE 200

int cmd_patterns(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  struct filter_args fa = {0};
  int opt, ec, rc;
  cli_opts_init(&o, filter_opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if ((rc = filter_opt(c, opt, &fa, true, false)) != 0) return rc;
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s' ('hls patterns show ID' explains one)", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  /* Every page's items, re-packed into one array. */
  int64_t want = fa.has_limit ? fa.limit : 50; /* 0: all */
  msgpack_sbuffer all;
  msgpack_packer apk;
  msgpack_sbuffer_init(&all);
  msgpack_packer_init(&apk, &all, msgpack_sbuffer_write);
  size_t got = 0;
  for (;;) {
    int64_t ask = want == 0 || want - (int64_t)got > PAGE ? PAGE : want - (int64_t)got;
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, "patterns");
    msgpack_pack_map(&r.pk, filter_count(&fa) + 2);
    filter_pack(&r.pk, &fa);
    hls_mp_pack_kv_i64(&r.pk, "limit", ask);
    hls_mp_pack_kv_i64(&r.pk, "offset", (int64_t)got);
    if ((rc = cli_call(c, &r, &resp)) != 0) {
      msgpack_sbuffer_destroy(&all);
      return rc;
    }
    const struct hls_mp_value *list = resp.result;
    uint32_t n = list && list->type == HLS_MP_ARRAY ? list->len : 0;
    for (uint32_t i = 0; i < n; i++) (void)hls_mp_pack_value(&apk, &list->v.items[i]);
    got += n;
    hls_ctl_response_free(&resp);
    if ((int64_t)n < ask || (want != 0 && (int64_t)got >= want)) break;
  }
  /* The array header goes in front of the items. */
  msgpack_sbuffer whole;
  msgpack_packer wpk;
  msgpack_sbuffer_init(&whole);
  msgpack_packer_init(&wpk, &whole, msgpack_sbuffer_write);
  msgpack_pack_array(&wpk, got);
  if (all.size) msgpack_sbuffer_write(&whole, all.data, all.size);
  msgpack_sbuffer_destroy(&all);
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  rc = hls_mp_tree_decode(&tree, whole.data, whole.size, false, SIZE_MAX, &why);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&whole);
    return cli_fail(c, rc, "patterns: %s", why.text);
  }
  const struct hls_mp_value *list = &tree.root;
  if (c->json) rc = hls_out_print_json(list);
  else if (list->len == 0)
    printf("%s\n", filter_count(&fa) ? "No patterns match."
                                      : "No patterns yet: they appear when this node holds digests from several places.");
  else patterns_table(list);
  hls_mp_tree_free(&tree);
  msgpack_sbuffer_destroy(&whole);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static void print_method(const struct hls_mp_value *m) {
  if (m == NULL || m->type != HLS_MP_MAP) return;
  char name[128];
  printf("  method    %s (", hls_out_str(m, "name", name, sizeof name));
  bool first = true;
  for (uint32_t i = 0; i < m->len; i++) {
    const struct hls_mp_kv *kv = &m->v.kv[i];
    if (hls_mp_str_eq(&kv->key, "name")) continue;
    printf("%s%.*s ", first ? "" : ", ", (int)kv->key.len, kv->key.v.str);
    if (kv->val.type == HLS_MP_FLOAT) printf("%g", kv->val.v.f);
    else if (kv->val.type == HLS_MP_UINT) printf("%llu", (unsigned long long)kv->val.v.u);
    else if (kv->val.type == HLS_MP_INT) printf("%lld", (long long)kv->val.v.i);
    first = false;
  }
  printf(")\n");
}

static void print_pattern(const struct hls_mp_value *res) {
  const struct hls_mp_value *p = hls_mp_get(res, "pattern");
  const struct hls_mp_value *live = hls_mp_get(res, "live");
  char b[2 * HLS_THEME_MAX + 64], b2[64];
  theme_text(p, b, sizeof b);
  printf("%s: %s\n", hls_out_str(p, "signal", b2, sizeof b2), b);
  printf("  id        %s%s\n", hls_out_str(p, "id", b2, sizeof b2),
         live && live->type == HLS_MP_BOOL && !live->v.b ? " (RETRACTED: its inputs no longer support it)" : "");
  char from[16], to[16];
  printf("  weeks     %s to %s (%lld weeks)\n", hls_out_str(p, "from", from, sizeof from), hls_out_str(p, "to", to, sizeof to),
         (long long)hls_out_int(p, "weeks"));
  score_text(p, b, sizeof b);
  printf("  score     %s\n", b);
  const struct hls_mp_value *bm = hls_mp_get(p, "baseline_mean");
  if (bm && bm->type == HLS_MP_FLOAT) printf("  baseline  mean %.2f a week\n", bm->v.f);
  const struct hls_mp_value *im = hls_mp_get(p, "in_control_mean");
  if (im && im->type == HLS_MP_FLOAT) printf("  baseline  in-control mean %.2f a week\n", im->v.f);
  printf("  count     %s%s\n", hls_out_str(p, "count", b2, sizeof b2),
         strchr(b2, '-') ? " (a range: some counts were withheld or rounded at their place)" : "");
  print_method(hls_mp_get(p, "method"));
  char names[4096];
  places_text(p, names, sizeof names, 1000);
  printf("  places    %lld: %s\n", (long long)hls_out_int(p, "n_places"), names);
  const struct hls_mp_value *cells = hls_mp_get(res, "cells");
  if (cells && cells->type == HLS_MP_ARRAY && cells->len) {
    printf("\nWhere it comes from (digests: one row per place and week)\n");
    static const char *const headers[] = {"WEEK", "PLACE", "REGION", "THEME", "COUNT", "SCALES", "ITEM"};
    struct hls_table *t = hls_table_new(7, headers);
    if (t) hls_table_set_max_width(t, 1, 40);
    for (uint32_t i = 0; t && i < cells->len; i++) {
      const struct hls_mp_value *cl = &cells->v.items[i];
      char week[16], place[HLS_PLACE_MAX + 32], region[HLS_REGION_MAX + 1], theme[HLS_THEME_MAX + 1], count[64],
          scales[64], item[160];
      const struct hls_mp_value *sc = hls_mp_get(cl, "scales");
      scales[0] = '\0';
      for (uint32_t j = 0; sc && sc->type == HLS_MP_ARRAY && j < sc->len; j++)
        if (sc->v.items[j].type == HLS_MP_STR)
          snprintf(scales + strlen(scales), sizeof scales - strlen(scales), "%s%.*s", j ? "," : "",
                   (int)sc->v.items[j].len, sc->v.items[j].v.str);
      hls_out_str(cl, "count", count, sizeof count);
      const struct hls_mp_value *wh = hls_mp_get(cl, "withheld");
      if (wh && wh->type == HLS_MP_BOOL && wh->v.b) strncat(count, " (withheld)", sizeof count - strlen(count) - 1);
      const char *row[] = {hls_out_str(cl, "week", week, sizeof week), hls_out_str(cl, "place", place, sizeof place),
                           hls_out_str(cl, "region", region, sizeof region), hls_out_str(cl, "theme", theme, sizeof theme),
                           count, scales, hls_out_str(cl, "item", item, sizeof item)};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  const struct hls_mp_value *stories = hls_mp_get(res, "stories");
  if (stories && stories->type == HLS_MP_ARRAY && stories->len) {
    printf("\nStories behind it (hls stories show ITEM reads one)\n");
    for (uint32_t i = 0; i < stories->len; i++) {
      const struct hls_mp_value *s = &stories->v.items[i];
      char week[16], place[HLS_PLACE_MAX + 32], title[HLS_TITLE_MAX + 1], item[160];
      printf("  %s  %s: %s\n    %s\n", hls_out_str(s, "week", week, sizeof week), hls_out_str(s, "place", place, sizeof place),
             hls_out_str(s, "title", title, sizeof title), hls_out_str(s, "item", item, sizeof item));
    }
  }
  printf("\nA pattern is a prompt for a conversation with the places behind it, not a verdict.\n");
}

int cmd_patterns_show(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (argc - optind != 1) return cli_usage(c, "give one pattern ID (the ID column of 'hls patterns')");
  const char *id = argv[optind];
  size_t len = strlen(id);
  bool hex = len >= 4 && len <= 16;
  for (size_t i = 0; hex && i < len; i++) hex = strchr("0123456789abcdefABCDEF", id[i]) != NULL;
  if (!hex) return cli_usage(c, "'%.40s' is not a pattern ID: give 4 to 16 hex digits of it", id);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, "patterns.show");
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "id", id);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_pattern(resp.result);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- feeds -------------------------------------------------------------------------- */

static int feed_name_arg(struct cli *c, int argc, char **argv, const char **name) {
  if (argc - optind != 1) return cli_usage(c, "give one feed NAME");
  *name = argv[optind];
  return 0;
}

int cmd_feed_subscribe(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  struct filter_args fa = {0};
  int opt, ec, rc;
  cli_opts_init(&o, filter_opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if ((rc = filter_opt(c, opt, &fa, false, false)) != 0) return rc;
  }
  const char *name = NULL;
  if ((rc = feed_name_arg(c, argc, argv, &name)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, "feed.subscribe");
  msgpack_pack_map(&r.pk, 1 + filter_count(&fa));
  hls_mp_pack_kv_str(&r.pk, "name", name);
  filter_pack(&r.pk, &fa);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else
    printf("Subscribed feed %s. 'hls feed follow %s' prints its events, from the first pattern this node found;\n"
           "each is delivered once per acknowledgement, also across restarts.\n",
           name, name);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static void filter_text(const struct hls_mp_value *f, char *out, size_t size) {
  out[0] = '\0';
  size_t len = 0;
  for (uint32_t i = 0; f && f->type == HLS_MP_MAP && i < f->len; i++) {
    const struct hls_mp_kv *kv = &f->v.kv[i];
    int w = snprintf(out + len, size - len, "%s%.*s=", len ? " " : "", (int)kv->key.len, kv->key.v.str);
    if (w < 0 || (size_t)w >= size - len) return;
    len += (size_t)w;
    const struct hls_mp_value *items = kv->val.type == HLS_MP_ARRAY ? kv->val.v.items : &kv->val;
    uint32_t n = kv->val.type == HLS_MP_ARRAY ? kv->val.len : 1;
    for (uint32_t j = 0; j < n; j++) {
      const struct hls_mp_value *v = &items[j];
      if (v->type == HLS_MP_STR) w = snprintf(out + len, size - len, "%s%.*s", j ? "," : "", (int)v->len, v->v.str);
      else if (v->type == HLS_MP_UINT) w = snprintf(out + len, size - len, "%llu", (unsigned long long)v->v.u);
      else w = snprintf(out + len, size - len, "?");
      if (w < 0 || (size_t)w >= size - len) return;
      len += (size_t)w;
    }
  }
  if (!out[0]) snprintf(out, size, "(every pattern)");
}

static void feeds_table(const struct hls_mp_value *list) {
  static const char *const headers[] = {"FEED", "FILTER", "CURSOR", "EVENTS AFTER", "ACKED", "FOLLOWERS"};
  struct hls_table *t = hls_table_new(6, headers);
  if (t) hls_table_set_max_width(t, 1, 60);
  for (uint32_t i = 0; t && i < list->len; i++) {
    const struct hls_mp_value *f = &list->v.items[i];
    char name[80], filter[1024], cursor[24], after[24], acked[32], followers[16];
    filter_text(hls_mp_get(f, "filter"), filter, sizeof filter);
    snprintf(cursor, sizeof cursor, "%lld", (long long)hls_out_int(f, "cursor"));
    snprintf(after, sizeof after, "%lld", (long long)hls_out_int(f, "events_after_cursor"));
    snprintf(followers, sizeof followers, "%lld", (long long)hls_out_int(f, "followers"));
    if (!hls_out_str(f, "acked", acked, sizeof acked)[0]) snprintf(acked, sizeof acked, "never");
    const char *row[] = {hls_out_str(f, "name", name, sizeof name), filter, cursor, after, acked, followers};
    hls_table_add(t, row);
  }
  if (t) hls_table_print(t, stdout);
  hls_table_free(t);
}

int cmd_feed_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_noargs(c, argc, argv, "feed.list", &resp, &done);
  if (done) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (resp.result == NULL || resp.result->type != HLS_MP_ARRAY || resp.result->len == 0)
    printf("No feeds. 'hls feed subscribe NAME [filters]' makes one.\n");
  else feeds_table(resp.result);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_feed_unsubscribe(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  const char *name = NULL;
  if ((rc = feed_name_arg(c, argc, argv, &name)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, "feed.unsubscribe");
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Unsubscribed feed %s.\n", name);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* Print one event: a line of JSON (NDJSON) or of text. */
static int print_event(struct cli *c, const struct hls_mp_value *e) {
  if (c->json) {
    json_t *j = hls_out_to_json(e);
    if (j == NULL) return HLS_ENOMEM;
    int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 ? 0 : HLS_EIO;
    json_decref(j);
    if (rc == 0 && fputc('\n', stdout) == EOF) rc = HLS_EIO;
    return rc;
  }
  const struct hls_mp_value *p = hls_mp_get(e, "pattern");
  char at[32], change[16], signal[16], theme[2 * HLS_THEME_MAX + 32], from[16], to[16], names[1024], id[32], score[64],
      count[48];
  theme_text(p, theme, sizeof theme);
  places_text(p, names, sizeof names, 8);
  score_text(p, score, sizeof score);
  printf("%lld %s %-9s %-11s %s %s..%s places %lld (%s) count %s, %s, id %s\n", (long long)hls_out_int(e, "seq"),
         hls_out_str(e, "at", at, sizeof at), hls_out_str(e, "change", change, sizeof change),
         hls_out_str(p, "signal", signal, sizeof signal), theme, hls_out_str(p, "from", from, sizeof from),
         hls_out_str(p, "to", to, sizeof to), (long long)hls_out_int(p, "n_places"), names,
         hls_out_str(p, "count", count, sizeof count), score, hls_out_str(p, "id", id, sizeof id));
  return ferror(stdout) ? HLS_EIO : 0;
}

static int send_ack(struct cli *c, const char *name, int64_t seq, uint64_t *ack_id) {
  struct hls_client_req r;
  struct hls_why why = {{0}};
  hls_client_begin(&c->client, &r, "feed.ack");
  msgpack_pack_map(&r.pk, 2);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  hls_mp_pack_kv_i64(&r.pk, "seq", seq);
  *ack_id = r.id;
  int rc = hls_client_send(&c->client, &r, &why);
  hls_client_req_free(&r);
  return rc == 0 ? 0 : cli_fail(c, rc, "acknowledging: %s", why.text);
}

/* Acknowledge after printing, at most every ACK_EVERY events and whenever
 * nothing more is waiting: an event printed and not acknowledged (the
 * process killed in between) comes again; one acknowledged never does. */
#define ACK_EVERY 32

int cmd_feed_follow(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  struct filter_args fa = {0};
  int opt, ec, rc;
  cli_opts_init(&o, filter_opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt != 'n' && opt != 'l') return cli_usage(c, "feed follow takes --no-wait and --limit N only (filters belong to the feed)");
    if ((rc = filter_opt(c, opt, &fa, true, true)) != 0) return rc;
  }
  const char *name = NULL;
  if ((rc = feed_name_arg(c, argc, argv, &name)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  c->client.timeout_ms = 0; /* a stream waits as long as it takes */
  signal(SIGPIPE, SIG_IGN);
  struct hls_client_req r;
  struct hls_why why = {{0}};
  hls_client_begin(&c->client, &r, "feed.follow");
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  uint64_t follow_id = r.id;
  rc = hls_client_send(&c->client, &r, &why);
  hls_client_req_free(&r);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  int64_t printed = 0, last_printed = 0, acked = 0, caught_up = -1;
  size_t pending_acks = 0;
  for (;;) {
    bool stop = (fa.has_limit && fa.limit > 0 && printed >= fa.limit) || (fa.no_wait && caught_up >= 0);
    int64_t want = last_printed > caught_up ? last_printed : caught_up;
    if (want > acked && (stop || printed % ACK_EVERY == 0 || !hls_client_readable(&c->client))) {
      uint64_t ack_id;
      fflush(stdout);
      if ((rc = send_ack(c, name, want, &ack_id)) != 0) return rc;
      acked = want;
      pending_acks++;
    }
    if (stop && pending_acks == 0) break;
    struct hls_ctl_response resp;
    if ((rc = hls_client_read(&c->client, &resp, &why)) != 0) return cli_fail(c, rc, "%s", why.text);
    if (resp.kind == HLS_CTL_EVENT && resp.id == follow_id) {
      if (strcmp(resp.event, "caught_up") == 0) {
        caught_up = hls_out_int(resp.result, "seq");
      } else if (!(fa.has_limit && fa.limit > 0 && printed >= fa.limit)) {
        if ((rc = print_event(c, resp.result)) != 0) {
          hls_ctl_response_free(&resp);
          return cli_fail(c, rc, "writing the event failed");
        }
        printed++;
        last_printed = hls_out_int(resp.result, "seq");
        caught_up = -1;
      }
    } else if (resp.kind == HLS_CTL_ERROR) {
      int code = resp.error_code;
      rc = cli_fail(c, code, "%s", resp.error_message);
      hls_ctl_response_free(&resp);
      return rc;
    } else if (resp.id != follow_id && pending_acks > 0) {
      pending_acks--; /* an acknowledgement's reply */
    }
    hls_ctl_response_free(&resp);
  }
  fflush(stdout);
  return 0;
}
