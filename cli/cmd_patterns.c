/* hls patterns [filters] | patterns show ID | patterns summary, and hls
 * feed subscribe | list | follow | unsubscribe: the patterns this node
 * finds across places (docs/patterns.md) and the durable feeds of their
 * changes. Text fits the terminal (hls_out_term_width: on a terminal
 * only, never cut into a pipe); --json prints what hlsd sends. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "params.h"
#include "patfmt.h"
#include "patterns.h"
#include "text.h"

#define FILTER_VALUES 16
#define N_LIST_KEYS 6
#define SHOW_STORIES 10 /* patterns show: stories listed before "N more" */

/* Every option of these commands; each command takes its own (opt_ok). */
static const struct option all_opts[] = {{"signal", required_argument, NULL, 'S'},
                                         {"theme", required_argument, NULL, 't'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"scale", required_argument, NULL, 'c'},
                                         {"region", required_argument, NULL, 'r'},
                                         {"place", required_argument, NULL, 'p'},
                                         {"since", required_argument, NULL, 's'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"min-places", required_argument, NULL, 'm'},
                                         {"min-strength", required_argument, NULL, 'x'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"no-wait", no_argument, NULL, 'n'},
                                         {"from", required_argument, NULL, 'F'},
                                         {"places", no_argument, NULL, 'P'},
                                         {"cells", no_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};

/* The options each command takes (all_opts' codes). */
#define FILTER_CODES "Stkcrpsumx"
static const char *const list_codes = FILTER_CODES "al";
static const char *const subscribe_codes = FILTER_CODES;
static const char *const follow_codes = "nlF";
static const char *const show_codes = "PC";

struct args {
  const char *values[N_LIST_KEYS][FILTER_VALUES]; /* signal, theme, kind, scale, region, place */
  size_t n[N_LIST_KEYS];
  const char *since, *until;
  int64_t min_places, limit, from;
  double min_strength;
  bool has_min_places, has_min_strength, has_limit, has_from, no_wait, all, places, cells;
};

static const char *const list_keys[N_LIST_KEYS] = {"signal", "theme", "kind", "scale", "region", "place"};

static const char *opt_name(int opt) {
  for (const struct option *o = all_opts; o->name; o++)
    if (o->val == opt) return o->name;
  return "?";
}

/* One option into a; 0, or a usage exit code (already printed). */
static int take_opt(struct cli *c, int opt, const char *codes, struct args *a) {
  if (opt != '?' && strchr(codes, opt) == NULL && codes == follow_codes)
    return cli_usage(c, "feed follow takes --no-wait, --limit N and --from SEQ only (filters belong to the feed)");
  if (opt == '?' || strchr(codes, opt) == NULL)
    return cli_usage(c, "--%s is not an option of this command", opt_name(opt));
  int slot = opt == 'S' ? 0 : opt == 't' ? 1 : opt == 'k' ? 2 : opt == 'c' ? 3 : opt == 'r' ? 4 : opt == 'p' ? 5 : -1;
  if (slot >= 0) {
    if (a->n[slot] == FILTER_VALUES) return cli_usage(c, "--%s: at most %d values", list_keys[slot], FILTER_VALUES);
    if (!optarg[0]) return cli_usage(c, "--%s: give a value", list_keys[slot]);
    a->values[slot][a->n[slot]++] = optarg;
    return 0;
  }
  char *end = NULL;
  switch (opt) {
  case 's': a->since = optarg; return 0;
  case 'u': a->until = optarg; return 0;
  case 'm':
    if (cli_parse_limit(optarg, &a->min_places) != 0) return cli_usage(c, "--min-places takes a whole number");
    a->has_min_places = true;
    return 0;
  case 'x':
    errno = 0;
    a->min_strength = strtod(optarg, &end);
    if (errno != 0 || end == optarg || *end != '\0' || !isfinite(a->min_strength) || a->min_strength < 0)
      return cli_usage(c, "--min-strength takes a number, 0 or more (2 is p = 0.01)");
    a->has_min_strength = true;
    return 0;
  case 'l':
    if (cli_parse_limit(optarg, &a->limit) != 0) return cli_usage(c, "--limit takes a whole number (0: all)");
    a->has_limit = true;
    return 0;
  case 'F':
    if (cli_parse_limit(optarg, &a->from) != 0) return cli_usage(c, "--from takes an event seq (a whole number)");
    a->has_from = true;
    return 0;
  case 'a': a->all = true; return 0;
  case 'n': a->no_wait = true; return 0;
  case 'P': a->places = true; return 0;
  case 'C': a->cells = true; return 0;
  default: return cli_usage(c, "unknown option");
  }
}

/* Parse the command's options; 0, or an exit code to return (help
 * printed, or a usage error). */
static int parse_args(struct cli *c, int argc, char **argv, const char *codes, struct args *a) {
  struct cli_opts o;
  int opt, ec, rc;
  memset(a, 0, sizeof *a);
  cli_opts_init(&o, all_opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec == 0 ? -1 : ec;
    if ((rc = take_opt(c, opt, codes, a)) != 0) return rc;
  }
  return 0;
}

static size_t filter_count(const struct args *a) {
  size_t n = 0;
  for (int i = 0; i < N_LIST_KEYS; i++) n += a->n[i] > 0;
  return n + (a->since != NULL) + (a->until != NULL) + a->has_min_places + a->has_min_strength;
}

static void filter_pack(msgpack_packer *pk, const struct args *a) {
  for (int i = 0; i < N_LIST_KEYS; i++) {
    if (a->n[i] == 0) continue;
    hls_mp_pack_cstr(pk, list_keys[i]);
    msgpack_pack_array(pk, a->n[i]);
    for (size_t j = 0; j < a->n[i]; j++) hls_mp_pack_cstr(pk, a->values[i][j]);
  }
  if (a->since) hls_mp_pack_kv_str(pk, "since", a->since);
  if (a->until) hls_mp_pack_kv_str(pk, "until", a->until);
  if (a->has_min_places) hls_mp_pack_kv_i64(pk, "min_places", a->min_places);
  if (a->has_min_strength) {
    hls_mp_pack_cstr(pk, "min_strength");
    msgpack_pack_double(pk, a->min_strength);
  }
}

static double num(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL) return NAN;
  if (v->type == HLS_MP_FLOAT) return v->v.f;
  if (v->type == HLS_MP_UINT) return (double)v->v.u;
  if (v->type == HLS_MP_INT) return (double)v->v.i;
  return NAN;
}

static bool flag(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  return v != NULL && v->type == HLS_MP_BOOL && v->v.b;
}

/* --- patterns ----------------------------------------------------------------------- */

/* "problem:housing" (or "housing" without kinds), "A + B" for together. */
static void theme_text_kinds(const struct hls_mp_value *p, bool kinds, char *out, size_t size) {
  char t1[HLS_THEME_MAX + 1], k1[16], t2[HLS_THEME_MAX + 1], k2[16];
  hls_out_str(p, "theme", t1, sizeof t1);
  hls_out_str(p, "kind", k1, sizeof k1);
  hls_out_str(p, "kind2", k2, sizeof k2);
  bool two = hls_out_str(p, "theme2", t2, sizeof t2)[0] != '\0';
  if (two && kinds) snprintf(out, size, "%s:%s + %s:%s", k1, t1, k2, t2);
  else if (two) snprintf(out, size, "%s + %s", t1, t2);
  else if (kinds) snprintf(out, size, "%s:%s", k1, t1);
  else snprintf(out, size, "%s", t1);
}

static void theme_text(const struct hls_mp_value *p, char *out, size_t size) { theme_text_kinds(p, true, out, size); }

static void weeks_text(const struct hls_mp_value *p, char *out, size_t size) {
  char from[16], to[16];
  hls_patfmt_weeks(hls_out_str(p, "from", from, sizeof from), hls_out_str(p, "to", to, sizeof to), out, size);
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

/* A table of pattern summaries that fits width (0: no limit). */
enum { COL_ID, COL_STRENGTH, COL_SIGNAL, COL_THEMES, COL_PLACES, COL_WEEKS, COL_LIVE, N_COLS };
static const char *const pattern_headers[N_COLS] = {"ID", "STRENGTH", "SIGNAL", "THEME(S)", "PLACES", "WEEKS", "LIVE"};
#define CELL 320

static void pattern_row(const struct hls_mp_value *p, bool kinds, char cells[N_COLS][CELL]) {
  char id[40], region[HLS_REGION_MAX + 1];
  snprintf(cells[COL_ID], CELL, "%.8s", hls_out_str(p, "id", id, sizeof id));
  hls_patfmt_strength(num(p, "strength"), cells[COL_STRENGTH], CELL);
  hls_out_str(p, "signal", cells[COL_SIGNAL], CELL);
  theme_text_kinds(p, kinds, cells[COL_THEMES], CELL);
  if (hls_out_str(p, "region", region, sizeof region)[0])
    snprintf(cells[COL_PLACES], CELL, "%lld in %s", (long long)hls_out_int(p, "n_places"), region);
  else snprintf(cells[COL_PLACES], CELL, "%lld", (long long)hls_out_int(p, "n_places"));
  weeks_text(p, cells[COL_WEEKS], CELL);
  snprintf(cells[COL_LIVE], CELL, "%s", flag(p, "live") ? "live" : "ended");
}

/* The cells of every row; false if the table is wider than width (0: no
 * limit). */
static bool table_cells(const struct hls_mp_value *const *rows, size_t n, bool kinds, char (*cells)[N_COLS][CELL],
                        size_t width) {
  size_t natural[N_COLS], total = 2 * (N_COLS - 1);
  for (int k = 0; k < N_COLS; k++) natural[k] = hls_patfmt_width(pattern_headers[k]);
  for (size_t i = 0; i < n; i++) {
    pattern_row(rows[i], kinds, cells[i]);
    for (int k = 0; k < N_COLS; k++) {
      size_t w = hls_patfmt_width(cells[i][k]);
      if (w > natural[k]) natural[k] = w;
    }
  }
  for (int k = 0; k < N_COLS; k++) total += natural[k];
  return width == 0 || total <= width;
}

static void patterns_table(const struct hls_mp_value *const *rows, size_t n, size_t width, const char *indent) {
  char(*cells)[N_COLS][CELL] = calloc(n ? n : 1, sizeof *cells);
  if (cells == NULL) return;
  size_t indent_w = hls_patfmt_width(indent);
  width = width > indent_w ? width - indent_w : width;
  /* Too wide with the themes' kinds: without them, before cutting. */
  if (!table_cells(rows, n, true, cells, width)) (void)table_cells(rows, n, false, cells, width);
  /* Only the theme(s) and the places give way. */
  struct hls_table *t = hls_table_new(N_COLS, pattern_headers);
  if (t) {
    hls_table_set_width(t, width);
    hls_table_set_shrink(t, COL_THEMES, 16);
    hls_table_set_shrink(t, COL_PLACES, 8);
  }
  for (size_t i = 0; t && i < n; i++) {
    const char *row[N_COLS];
    for (int k = 0; k < N_COLS; k++) row[k] = cells[i][k];
    hls_table_add(t, row);
  }
  if (t && indent[0]) {
    /* The table prints at the margin: print it to memory and indent it. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
      hls_table_print(t, f);
      fclose(f);
      for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        printf("%s%.*s\n", indent, nl ? (int)(nl - line) : (int)strlen(line), line);
        line = nl ? nl + 1 : NULL;
      }
      free(buf);
    }
  } else if (t) {
    hls_table_print(t, stdout);
  }
  hls_table_free(t);
  free(cells);
}

static void by_signal_text(const struct hls_mp_value *by, char *out, size_t size) {
  const char *names[HLS_PAT_SIGNAL_COUNT];
  int64_t counts[HLS_PAT_SIGNAL_COUNT];
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++) {
    names[s] = hls_pat_signal_name(s);
    counts[s] = hls_out_int(by, names[s]);
  }
  hls_patfmt_by_signal(names, counts, HLS_PAT_SIGNAL_COUNT, out, size);
}

/* Long lists come in pages of this many (one reply must fit the control
 * frame limit, and a pattern names every one of its places). */
#define PAGE 200

int cmd_patterns(struct cli *c, int argc, char **argv) {
  struct args a;
  int rc = parse_args(c, argc, argv, list_codes, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
  if (optind < argc)
    return cli_usage(c, "unexpected argument '%s' ('hls patterns show ID' explains one, 'hls patterns summary' "
                        "reads a week)", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  /* Every page's items, re-packed into one array; the counts of the
   * first page. */
  int64_t want = a.has_limit ? a.limit : 50; /* 0: all */
  msgpack_sbuffer all;
  msgpack_packer apk;
  msgpack_sbuffer_init(&all);
  msgpack_packer_init(&apk, &all, msgpack_sbuffer_write);
  size_t got = 0;
  int64_t total = 0, live = 0, ended = 0;
  char by[256] = "";
  for (bool first = true;; first = false) {
    int64_t ask = want == 0 || want - (int64_t)got > PAGE ? PAGE : want - (int64_t)got;
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, HLS_M_PATTERNS);
    msgpack_pack_map(&r.pk, filter_count(&a) + 3);
    filter_pack(&r.pk, &a);
    hls_mp_pack_kv_bool(&r.pk, "all", a.all);
    hls_mp_pack_kv_i64(&r.pk, "limit", ask);
    hls_mp_pack_kv_i64(&r.pk, "offset", (int64_t)got);
    if ((rc = cli_call(c, &r, &resp)) != 0) {
      msgpack_sbuffer_destroy(&all);
      return rc;
    }
    if (first) {
      total = hls_out_int(resp.result, "total");
      live = hls_out_int(resp.result, "live");
      ended = hls_out_int(resp.result, "ended");
      by_signal_text(hls_mp_get(resp.result, "by_signal"), by, sizeof by);
    }
    const struct hls_mp_value *list = hls_mp_get(resp.result, "patterns");
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
  bool filtered = filter_count(&a) > 0;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (total == 0) {
    if (filtered) printf("No %spatterns match.%s\n", a.all ? "" : "live ", a.all ? "" : " (--all includes ended ones)");
    else if (!a.all && ended > 0) printf("No patterns live; %lld ended ('hls patterns --all' lists them).\n", (long long)ended);
    else printf("No patterns yet: they appear when this node holds digests from several places.\n");
  } else {
    if (a.all)
      printf("%lld pattern%s%s, %lld live and %lld ended: %s\n", (long long)total, total == 1 ? "" : "s",
             filtered ? " match" : "", (long long)live, (long long)ended, by);
    else printf("%lld pattern%s live%s: %s\n", (long long)total, total == 1 ? "" : "s", filtered ? " match" : "", by);
    const struct hls_mp_value **rows = malloc((list->len ? list->len : 1) * sizeof *rows);
    for (uint32_t i = 0; rows && i < list->len; i++) rows[i] = &list->v.items[i];
    if (rows) patterns_table(rows, list->len, hls_out_term_width(), "");
    free(rows);
    if ((int64_t)got < total)
      printf("%zu of %lld shown, strongest first (--limit N shows N; --limit 0 all).\n", got, (long long)total);
    printf("'hls patterns show ID' explains one: places, weeks, counts, method, stories.\n");
  }
  hls_mp_tree_free(&tree);
  msgpack_sbuffer_destroy(&whole);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- patterns show -------------------------------------------------------------------- */

/* "new_places" -> "new places". */
static void words(const char *name, char *out, size_t size) {
  snprintf(out, size, "%s", name);
  for (char *q = out; *q; q++)
    if (*q == '_') *q = ' ';
}

static int region_cmp(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* The places by region: one line a region, cut to width with "and N
 * more" unless all (then wrapped). */
static void print_places_by_region(const struct hls_mp_value *places, size_t width, bool all) {
  if (places == NULL || places->type != HLS_MP_ARRAY || places->len == 0) return;
  /* Regions in byte order, each once. */
  size_t n = places->len;
  char(*regions)[HLS_REGION_MAX + 1] = calloc(n, sizeof *regions);
  if (regions == NULL) return;
  size_t n_regions = 0;
  for (uint32_t i = 0; i < n; i++) {
    char r[HLS_REGION_MAX + 1];
    hls_out_str(&places->v.items[i], "region", r, sizeof r);
    size_t k = 0;
    while (k < n_regions && strcmp(regions[k], r) != 0) k++;
    if (k == n_regions) snprintf(regions[n_regions++], sizeof *regions, "%s", r);
  }
  qsort(regions, n_regions, sizeof *regions, region_cmp);
  size_t line_width = width ? width : 100;
  for (size_t k = 0; k < n_regions; k++) {
    size_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
      char r[HLS_REGION_MAX + 1];
      count += strcmp(hls_out_str(&places->v.items[i], "region", r, sizeof r), regions[k]) == 0;
    }
    char head[HLS_REGION_MAX + 32], line[8192];
    snprintf(head, sizeof head, "    %s (%zu): ", regions[k][0] ? regions[k] : "(no region)", count);
    size_t len = 0, shown = 0;
    line[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
      char r[HLS_REGION_MAX + 1], name[HLS_PLACE_MAX + 32];
      if (strcmp(hls_out_str(&places->v.items[i], "region", r, sizeof r), regions[k]) != 0) continue;
      hls_out_str(&places->v.items[i], "name", name, sizeof name);
      char more[48];
      snprintf(more, sizeof more, " and %zu more", count - shown - 1);
      size_t need = hls_patfmt_width(head) + hls_patfmt_width(line) + (shown ? 2 : 0) + hls_patfmt_width(name) +
                    (shown + 1 < count ? hls_patfmt_width(more) : 0);
      if (!all && shown > 0 && need > line_width) break;
      int w = snprintf(line + len, sizeof line - len, "%s%s", shown ? ", " : "", name);
      if (w < 0 || (size_t)w >= sizeof line - len) break;
      len += (size_t)w;
      shown++;
    }
    if (shown < count) snprintf(line + len, sizeof line - len, " and %zu more", count - shown);
    if (all) {
      /* Wrapped under the region's name. */
      char text[8192 + 256];
      snprintf(text, sizeof text, "%s%s", head + 4, line);
      char *wrapped = malloc(sizeof text * 2);
      if (wrapped) {
        hls_patfmt_wrap(text, "    ", line_width, wrapped, sizeof text * 2);
        fputs(wrapped, stdout);
        free(wrapped);
      }
    } else {
      printf("%s%s\n", head, line);
    }
  }
  free(regions);
}

/* The counts week by week, with a bar, fitted to width. Together: each
 * theme's count, and the places reporting both (the bar). */
static void print_weeks(const struct hls_mp_value *weeks, const struct hls_mp_value *p, size_t width) {
  if (weeks == NULL || weeks->type != HLS_MP_ARRAY || weeks->len == 0) return;
  bool two = hls_mp_get(p, "theme2") != NULL;
  int64_t n_places = hls_out_int(p, "n_places");
  printf("\nWeek by week at its %lld place%s (* the pattern's weeks)\n", (long long)n_places, n_places == 1 ? "" : "s");
  double max = 0;
  for (uint32_t i = 0; i < weeks->len; i++) {
    double v = two ? num(&weeks->v.items[i], "both") : num(&weeks->v.items[i], "count_max");
    if (v > max) max = v;
  }
  static const char *const h1[] = {"WEEK", "COUNT", "PLACES", ""};
  static const char *const h2[] = {"WEEK", "COUNT 1", "COUNT 2", "BOTH", ""};
  size_t n_cols = two ? 5 : 4;
  struct hls_table *t = hls_table_new(n_cols, two ? h2 : h1);
  if (t == NULL) return;
  for (size_t k = 1; k + 1 < n_cols; k++) hls_table_set_right(t, k);
  /* The bar takes what the other columns leave, 10 to 40 characters: the
   * bars make it fit, not cutting (no column holds free text). */
  hls_table_set_width(t, 0);
  char(*cells)[4][48] = calloc(weeks->len, sizeof *cells);
  if (cells == NULL) {
    hls_table_free(t);
    return;
  }
  size_t used = 0;
  for (uint32_t i = 0; i < weeks->len; i++) {
    const struct hls_mp_value *w = &weeks->v.items[i];
    char wk[16];
    snprintf(cells[i][0], 48, "%s%s", hls_out_str(w, "week", wk, sizeof wk), flag(w, "in_pattern") ? " *" : "");
    hls_out_str(w, "count", cells[i][1], 48);
    if (two) {
      hls_out_str(w, "count2", cells[i][2], 48);
      snprintf(cells[i][3], 48, "%lld", (long long)hls_out_int(w, "both"));
    } else {
      snprintf(cells[i][2], 48, "%lld", (long long)hls_out_int(w, "places"));
    }
    size_t row = 0;
    for (size_t k = 0; k + 1 < n_cols; k++) {
      size_t cw = hls_patfmt_width(cells[i][k]), hw = hls_patfmt_width((two ? h2 : h1)[k]);
      row += (cw > hw ? cw : hw) + 2;
    }
    if (row > used) used = row;
  }
  size_t bar_w = width == 0 ? 30 : width > used + 10 ? width - used : 10;
  if (bar_w > 40) bar_w = 40;
  for (uint32_t i = 0; i < weeks->len; i++) {
    const struct hls_mp_value *w = &weeks->v.items[i];
    char bar[64];
    if (two) hls_patfmt_bar(num(w, "both"), num(w, "both"), max, bar_w, bar, sizeof bar);
    else hls_patfmt_bar(num(w, "count_min"), num(w, "count_max"), max, bar_w, bar, sizeof bar);
    const char *row[5] = {cells[i][0], cells[i][1], cells[i][2], two ? cells[i][3] : bar, bar};
    hls_table_add(t, row);
  }
  hls_table_print(t, stdout);
  hls_table_free(t);
  free(cells);
  if (two) {
    char t1[HLS_THEME_MAX + 1], t2[HLS_THEME_MAX + 1];
    printf("  COUNT 1: %s; COUNT 2: %s\n  BOTH: places that reported both that week\n",
           hls_out_str(p, "theme", t1, sizeof t1), hls_out_str(p, "theme2", t2, sizeof t2));
  } else {
    printf("  (# counted; + what withheld or rounded counts may add)\n");
  }
}

static void print_cells(const struct hls_mp_value *cells) {
  if (cells == NULL || cells->type != HLS_MP_ARRAY || cells->len == 0) return;
  printf("\nDigest cells behind it (one row per place, week and theme)\n");
  static const char *const headers[] = {"WEEK", "PLACE", "REGION", "THEME", "COUNT", "SCALES", "ITEM"};
  struct hls_table *t = hls_table_new(7, headers);
  if (t) {
    hls_table_set_shrink(t, 1, 10);
    hls_table_set_shrink(t, 2, 8);
    hls_table_set_shrink(t, 3, 12);
  }
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
    if (flag(cl, "withheld")) strncat(count, " (withheld)", sizeof count - strlen(count) - 1);
    const char *row[] = {hls_out_str(cl, "week", week, sizeof week), hls_out_str(cl, "place", place, sizeof place),
                         hls_out_str(cl, "region", region, sizeof region), hls_out_str(cl, "theme", theme, sizeof theme),
                         count, scales, hls_out_str(cl, "item", item, sizeof item)};
    hls_table_add(t, row);
  }
  if (t) hls_table_print(t, stdout);
  hls_table_free(t);
}

/* Stories by week, then place. */
static int story_cmp(const void *a, const void *b) {
  const struct hls_mp_value *x = *(const struct hls_mp_value *const *)a, *y = *(const struct hls_mp_value *const *)b;
  char wx[16], wy[16], px[HLS_PLACE_MAX + 32], py[HLS_PLACE_MAX + 32];
  int c = strcmp(hls_out_str(x, "week", wx, sizeof wx), hls_out_str(y, "week", wy, sizeof wy));
  return c != 0 ? c : strcmp(hls_out_str(x, "place", px, sizeof px), hls_out_str(y, "place", py, sizeof py));
}

static void print_pattern(const struct hls_mp_value *res, const struct args *a, size_t width) {
  const struct hls_mp_value *p = hls_mp_get(res, "pattern");
  char b[2 * HLS_THEME_MAX + 64], b2[64], b3[64], state[16], region[HLS_REGION_MAX + 1];
  theme_text(p, b, sizeof b);
  printf("%s: %s\n", hls_out_str(p, "signal", b2, sizeof b2), b);
  printf("  id        %s\n", hls_out_str(p, "id", b2, sizeof b2));
  char to[16], from[16];
  hls_out_str(p, "to", to, sizeof to);
  hls_out_str(res, "state", state, sizeof state);
  if (strcmp(state, "live") == 0) printf("  state     live: its evidence still holds (to %s)\n", to);
  else if (strcmp(state, "ended") == 0) printf("  state     ended: its evidence last held in %s\n", to);
  else printf("  state     RETRACTED: the data no longer show it (erased or corrected digests)\n");
  if (hls_out_str(p, "region", region, sizeof region)[0]) printf("  region    %s\n", region);
  printf("  weeks     %s to %s (%lld week%s)\n", hls_out_str(p, "from", from, sizeof from), to,
         (long long)hls_out_int(p, "weeks"), hls_out_int(p, "weeks") == 1 ? "" : "s");
  hls_patfmt_strength(num(p, "strength"), b2, sizeof b2);
  hls_patfmt_p(num(p, "p"), b3, sizeof b3);
  char pnow[32];
  hls_patfmt_p(num(p, "p_now"), pnow, sizeof pnow);
  printf("  strength  %s (p = %s at its strongest; p = %s in its last week)\n", b2, b3, pnow);
  char n1[64], n2[64], s1[40], s2[40];
  words(hls_out_str(p, "score_name", s1, sizeof s1), n1, sizeof n1);
  words(hls_out_str(p, "score2_name", s2, sizeof s2), n2, sizeof n2);
  double v1 = num(p, "score"), v2 = num(p, "score2");
  printf("  test      %s %.*f (%s %.2f)\n", n1, v1 == floor(v1) ? 0 : 2, v1, n2, v2);
  double expected = num(p, "expected"), withheld = num(p, "withheld");
  char count[48];
  hls_out_str(p, "count", count, sizeof count);
  printf("  count     %s record%s of its theme%s at its places in its weeks", count, strcmp(count, "1") == 0 ? "" : "s",
         hls_mp_get(p, "theme2") ? "s" : "");
  if (strchr(count, '-')) printf(" (%.1f taking withheld and rounded counts at the middle of their range)", expected);
  printf("\n");
  if (withheld > 0 && expected > 0)
    printf("  withheld  %.1f of %.1f (%.0f%%) rests on counts withheld at their place\n", withheld, expected,
           100.0 * withheld / expected);
  else printf("  withheld  none of it: every count behind it was published\n");
  const struct hls_mp_value *places = hls_mp_get(res, "places");
  const struct hls_mp_value *regions = hls_mp_get(p, "regions");
  int64_t n_places = hls_out_int(p, "n_places");
  size_t n_regions = regions && regions->type == HLS_MP_ARRAY ? regions->len : 0;
  printf("  places    %lld%s", (long long)n_places, n_regions > 1 ? "" : "");
  if (n_regions > 0) printf(" in %zu region%s", n_regions, n_regions == 1 ? "" : "s");
  printf("\n");
  if (places && places->type == HLS_MP_ARRAY && places->len) {
    print_places_by_region(places, width, a->places);
  } else {
    char names[4096];
    places_text(p, names, sizeof names, a->places ? 100000 : 8);
    if (names[0]) printf("    %s\n", names);
  }
  print_weeks(hls_mp_get(res, "weeks"), p, width);
  char text[4096], wrapped[8192];
  if (hls_out_str(res, "method_text", text, sizeof text)[0]) {
    printf("\nHow it was found\n");
    hls_patfmt_wrap(text, "  ", width ? (width < 100 ? width : 100) : 80, wrapped, sizeof wrapped);
    fputs(wrapped, stdout);
  }
  const struct hls_mp_value *stories = hls_mp_get(res, "stories");
  if (stories && stories->type == HLS_MP_ARRAY && stories->len) {
    printf("\nStories behind it (%u; 'hls stories show ITEM' reads one)\n", stories->len);
    uint32_t shown = stories->len < SHOW_STORIES ? stories->len : SHOW_STORIES;
    const struct hls_mp_value **sorted = malloc(stories->len * sizeof *sorted);
    if (sorted == NULL) return;
    for (uint32_t i = 0; i < stories->len; i++) sorted[i] = &stories->v.items[i];
    qsort(sorted, stories->len, sizeof *sorted, story_cmp);
    for (uint32_t i = 0; i < shown; i++) {
      const struct hls_mp_value *s = sorted[i];
      char week[16], place[HLS_PLACE_MAX + 32], title[HLS_TITLE_MAX + 1], item[160], line[HLS_TITLE_MAX + 256];
      snprintf(line, sizeof line, "  %s  %s: %s", hls_out_str(s, "week", week, sizeof week),
               hls_out_str(s, "place", place, sizeof place), hls_out_str(s, "title", title, sizeof title));
      if (width && hls_patfmt_width(line) > width) {
        /* Cut at a character boundary, with an ellipsis. */
        size_t keep = 0, chars = 0;
        while (line[keep] && chars < width - 3) {
          keep++;
          while (((unsigned char)line[keep] & 0xc0) == 0x80) keep++;
          chars++;
        }
        snprintf(line + keep, sizeof line - keep, "...");
      }
      printf("%s\n    %s\n", line, hls_out_str(s, "item", item, sizeof item));
    }
    if (stories->len > shown)
      printf("  and %u more ('hls --json patterns show ID' lists them all)\n", stories->len - shown);
    free(sorted);
  }
  if (a->cells) print_cells(hls_mp_get(res, "cells"));
  else if (strcmp(state, "retracted") != 0)
    printf("\n'hls patterns show ID --cells' lists the digest cells behind it, place by place.\n");
  printf("A pattern is a prompt for a conversation with its places, not a verdict.\n");
}

int cmd_patterns_show(struct cli *c, int argc, char **argv) {
  struct args a;
  int rc = parse_args(c, argc, argv, show_codes, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
  if (argc - optind != 1) return cli_usage(c, "give one pattern ID (the ID column of 'hls patterns')");
  const char *id = argv[optind];
  size_t len = strlen(id);
  bool hex = len >= 4 && len <= 16;
  for (size_t i = 0; hex && i < len; i++) hex = strchr("0123456789abcdefABCDEF", id[i]) != NULL;
  if (!hex) return cli_usage(c, "'%.40s' is not a pattern ID: give 4 to 16 hex digits of it", id);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  c->refused_is_failure = true; /* an ambiguous prefix */
  hls_client_begin(&c->client, &r, HLS_M_PATTERNS_SHOW);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "id", id);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_pattern(resp.result, &a, hls_out_term_width());
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- patterns summary ----------------------------------------------------------------- */

static void print_category(const struct hls_mp_value *res, const char *key, const char *title, size_t width) {
  const struct hls_mp_value *cat = hls_mp_get(res, key);
  int64_t count = hls_out_int(cat, "count");
  char by[256];
  by_signal_text(hls_mp_get(cat, "by_signal"), by, sizeof by);
  if (count == 0) {
    printf("\n%s: none\n", title);
    return;
  }
  printf("\n%s: %lld (%s)", title, (long long)count, by);
  if (strcmp(key, "growing") == 0)
    printf(": %lld with places joining, %lld stronger", (long long)hls_out_int(cat, "joined"),
           (long long)hls_out_int(cat, "grew"));
  if (strcmp(key, "shrinking") == 0)
    printf(": %lld with places leaving, %lld weaker", (long long)hls_out_int(cat, "left"),
           (long long)hls_out_int(cat, "shrank"));
  printf("\n");
  const struct hls_mp_value *regions = hls_mp_get(cat, "by_region");
  if (regions && regions->type == HLS_MP_ARRAY && regions->len) {
    char line[2048];
    size_t len = (size_t)snprintf(line, sizeof line, "  by region: ");
    for (uint32_t i = 0; i < regions->len && len < sizeof line; i++) {
      char r[HLS_REGION_MAX + 1];
      int w = snprintf(line + len, sizeof line - len, "%s%s %lld", i ? ", " : "",
                       hls_out_str(&regions->v.items[i], "region", r, sizeof r),
                       (long long)hls_out_int(&regions->v.items[i], "count"));
      if (w < 0) break;
      len += (size_t)w;
    }
    char wrapped[4096];
    hls_patfmt_wrap(line + 2, "  ", width ? width : 100, wrapped, sizeof wrapped);
    fputs(wrapped, stdout);
  }
  const struct hls_mp_value *top = hls_mp_get(cat, "top");
  if (top && top->type == HLS_MP_ARRAY && top->len) {
    const struct hls_mp_value **rows = malloc(top->len * sizeof *rows);
    for (uint32_t i = 0; rows && i < top->len; i++) rows[i] = &top->v.items[i];
    if (rows) patterns_table(rows, top->len, width, "  ");
    free(rows);
    if ((int64_t)top->len < count) printf("  (the strongest %u of %lld: --top N for more)\n", top->len, (long long)count);
  }
}

int cmd_patterns_summary(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_PATTERNS_SUMMARY, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    const struct hls_mp_value *res = resp.result;
    char week[16], latest[16];
    hls_out_str(res, "week", week, sizeof week);
    hls_out_str(res, "latest_week", latest, sizeof latest);
    size_t width = hls_out_term_width();
    if (!week[0]) {
      printf("No digests held yet: nothing to read.\n");
    } else {
      if (strcmp(week, latest) == 0)
        printf("Week %s, the latest week of digests held (--week YYYY-Www reads another)\n", week);
      else printf("Week %s (the latest week of digests held is %s)\n", week, latest);
      printf("Patterns now: %lld live, %lld ended.\n", (long long)hls_out_int(res, "live_now"),
             (long long)hls_out_int(res, "ended_now"));
      if (hls_out_int(res, "events") == 0) {
        printf("No pattern changed while this was the latest week held.\n");
      } else {
        print_category(res, "new", "New", width);
        print_category(res, "growing", "Growing", width);
        print_category(res, "shrinking", "Weaker", width);
        print_category(res, "ended", "Ended", width);
        print_category(res, "retracted", "Retracted (the data no longer show them)", width);
        int64_t found = hls_out_int(res, "found_ended");
        if (found > 0)
          printf("\nAlso found in the weeks before, and already ended: %lld ('hls patterns --all' lists them).\n",
                 (long long)found);
      }
      printf("\n'hls patterns show ID' explains one; a feed follows changes as they come\n"
             "('hls feed subscribe NAME', then 'hls feed follow NAME').\n");
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- feeds -------------------------------------------------------------------------- */

/* A feed name's form, as hlsd checks it (patternsd.c arg_feed_name), so
 * that a bad one is bad usage even when hlsd is not running. */
static int check_feed_name(struct cli *c, const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > 64) return cli_usage(c, "NAME: a feed name is 1 to 64 characters");
  if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len)
    return cli_usage(c, "NAME: use letters, digits, '-', '_' and '.' only, not '%.64s'", name);
  return 0;
}

static int feed_name_arg(struct cli *c, int argc, char **argv, const char **name) {
  if (argc - optind != 1) return cli_usage(c, "give one feed NAME");
  *name = argv[optind];
  return check_feed_name(c, *name);
}

int cmd_feed_subscribe(struct cli *c, int argc, char **argv) {
  struct args a;
  int rc = parse_args(c, argc, argv, subscribe_codes, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
  const char *name = NULL;
  if ((rc = feed_name_arg(c, argc, argv, &name)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_FEED_SUBSCRIBE);
  msgpack_pack_map(&r.pk, 1 + filter_count(&a));
  hls_mp_pack_kv_str(&r.pk, "name", name);
  filter_pack(&r.pk, &a);
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
      else if (v->type == HLS_MP_INT) w = snprintf(out + len, size - len, "%lld", (long long)v->v.i);
      else if (v->type == HLS_MP_FLOAT) w = snprintf(out + len, size - len, "%g", v->v.f);
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
  if (t) hls_table_set_shrink(t, 1, 12);
  for (uint32_t i = 0; t && i < list->len; i++) {
    const struct hls_mp_value *f = &list->v.items[i];
    char name[80], filter[4096], cursor[24], after[24], acked[32], followers[16];
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
  int rc = cli_call_simple(c, argc, argv, HLS_M_FEED_LIST, &resp, &done);
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
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_UNSUBSCRIBE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Unsubscribed feed %s.\n", cli_params_str(&p, "name"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* Print one event to out: a line of JSON (NDJSON) or of text. */
static int print_event(struct cli *c, const struct hls_mp_value *e, FILE *out) {
  if (c->json) {
    json_t *j = hls_out_to_json(e);
    if (j == NULL) return HLS_ENOMEM;
    int rc = json_dumpf(j, out, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15)) == 0 ? 0 : HLS_EIO;
    json_decref(j);
    if (rc == 0 && fputc('\n', out) == EOF) rc = HLS_EIO;
    return rc;
  }
  const struct hls_mp_value *p = hls_mp_get(e, "pattern");
  char at[32], change[16], signal[16], theme[2 * HLS_THEME_MAX + 32], weeks[40], names[1024], id[32], strength[16],
      region[HLS_REGION_MAX + 8] = "";
  theme_text(p, theme, sizeof theme);
  weeks_text(p, weeks, sizeof weeks);
  places_text(p, names, sizeof names, 8);
  hls_patfmt_strength(num(p, "strength"), strength, sizeof strength);
  char r[HLS_REGION_MAX + 1];
  if (hls_out_str(p, "region", r, sizeof r)[0]) snprintf(region, sizeof region, " in %s", r);
  fprintf(out, "%lld %s %-9s %-11s %s %s places %lld%s (%s) strength %s%s id %s\n", (long long)hls_out_int(e, "seq"),
         hls_out_str(e, "at", at, sizeof at), hls_out_str(e, "change", change, sizeof change),
         hls_out_str(p, "signal", signal, sizeof signal), theme, weeks, (long long)hls_out_int(p, "n_places"), region,
         names, strength, flag(p, "live") ? "" : " (ended)", hls_out_str(p, "id", id, sizeof id));
  return ferror(out) ? HLS_EIO : 0;
}

static int send_ack(struct cli *c, const char *name, int64_t seq, uint64_t *ack_id) {
  struct hls_client_req r;
  struct hls_why why = {{0}};
  hls_client_begin(&c->client, &r, HLS_M_FEED_ACK);
  msgpack_pack_map(&r.pk, 2);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  hls_mp_pack_kv_i64(&r.pk, "seq", seq);
  *ack_id = r.id;
  int rc = hls_client_send(&c->client, &r, &why);
  hls_client_req_free(&r);
  return rc == 0 ? 0 : cli_fail(c, rc, "acknowledging: %s", why.text);
}

/* What the reader of stdout has taken. An event is acknowledged (the
 * feed's cursor moves past it) only once its last byte has left the pipe
 * or socket hls writes to: a write that succeeds only puts it in the
 * pipe's buffer, and a reader that stops early (| head) would lose every
 * event still there. A file or a terminal takes what is written. */
struct sink {
  int fd;
  int queued;        /* 'p' a pipe, 's' a socket: ask how much is still unread; 0 */
  bool gone;         /* the reader closed its end */
  uint64_t written;  /* bytes written to fd */
  int64_t *seq;      /* events written and not yet known taken: seq */
  uint64_t *end;     /* and the offset of their last byte + 1 */
  size_t head, n, cap;
};

static void sink_init(struct sink *k) {
  memset(k, 0, sizeof *k);
  k->fd = STDOUT_FILENO;
  struct stat st;
  if (fstat(k->fd, &st) == 0) k->queued = S_ISFIFO(st.st_mode) ? 'p' : S_ISSOCK(st.st_mode) ? 's' : 0;
}

/* Bytes written and still waiting for the reader. */
static uint64_t sink_unread(struct sink *k) {
  if (!k->queued) return 0;
  int unread = 0; /* still counted after the reader closed its end: those bytes are lost */
  /* a pipe's unread bytes, from either end; a socket's not yet taken */
  if (ioctl(k->fd, k->queued == 'p' ? FIONREAD : SIOCOUTQ, &unread) != 0) return 0;
  return unread > 0 ? (uint64_t)unread : 0;
}

/* The reader closed its end (checked without writing). */
static bool sink_reader_gone(struct sink *k) {
  if (!k->gone && k->queued && cli_reader_gone(k->fd)) k->gone = true;
  return k->gone;
}

/* The last seq wholly taken by the reader, or -1 if none since the last
 * call; forgets the events taken. */
static int64_t sink_taken(struct sink *k) {
  uint64_t taken = k->written - sink_unread(k);
  int64_t last = -1;
  while (k->n > 0 && k->end[k->head] <= taken) {
    last = k->seq[k->head];
    k->head = (k->head + 1) % k->cap;
    k->n--;
  }
  return last;
}

/* Write one event's bytes; HLS_ENOMEM, HLS_EIO, or 0 (also when the
 * reader has gone: k->gone says so). */
static int sink_write(struct sink *k, int64_t seq, const char *buf, size_t len) {
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 64;
    int64_t *s = malloc(cap * sizeof *s);
    uint64_t *e = malloc(cap * sizeof *e);
    if (s == NULL || e == NULL) {
      free(s), free(e);
      return HLS_ENOMEM;
    }
    for (size_t i = 0; i < k->n; i++) s[i] = k->seq[(k->head + i) % k->cap], e[i] = k->end[(k->head + i) % k->cap];
    free(k->seq), free(k->end);
    k->seq = s, k->end = e, k->cap = cap, k->head = 0;
  }
  for (size_t off = 0; off < len && !k->gone;) {
    ssize_t w = write(k->fd, buf + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EPIPE) k->gone = true;
    else if (w < 0) return HLS_EIO;
    else off += (size_t)w, k->written += (uint64_t)w;
  }
  if (k->gone) return 0;
  size_t at = (k->head + k->n) % k->cap;
  k->seq[at] = seq, k->end[at] = k->written;
  k->n++;
  return 0;
}

static void sink_free(struct sink *k) { free(k->seq), free(k->end); }

/* Wait until the reader has taken everything written, or closed its end. */
static void sink_drain(struct sink *k) {
  while (sink_unread(k) > 0 && !sink_reader_gone(k)) {
    struct pollfd p = {.fd = k->fd, .events = 0};
    (void)poll(&p, 1, 20); /* POLLERR/POLLHUP end it early; else look again */
  }
}

/* Acknowledge the events taken, at most every ACK_EVERY events and
 * whenever nothing more is waiting: an event not acknowledged (hls killed,
 * or the reader stopped before it) comes again next time; one
 * acknowledged never does. */
#define ACK_EVERY 32

int cmd_feed_follow(struct cli *c, int argc, char **argv) {
  struct args a;
  int rc = parse_args(c, argc, argv, follow_codes, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
  const char *name = NULL;
  if ((rc = feed_name_arg(c, argc, argv, &name)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  c->client.timeout_ms = 0; /* a stream waits as long as it takes */
  signal(SIGPIPE, SIG_IGN);
  fflush(stdout);
  struct hls_client_req r;
  struct hls_why why = {{0}};
  c->refused_is_failure = true; /* --from past the feed's end */
  hls_client_begin(&c->client, &r, HLS_M_FEED_FOLLOW);
  msgpack_pack_map(&r.pk, a.has_from ? 2 : 1);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  if (a.has_from) hls_mp_pack_kv_i64(&r.pk, "from", a.from);
  uint64_t follow_id = r.id;
  rc = hls_client_send(&c->client, &r, &why);
  hls_client_req_free(&r);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  struct sink k;
  sink_init(&k);
  char *buf = NULL;
  size_t buf_len = 0;
  /* taken: the last event the reader took; caught_up: where the daemon's
   * scan stopped, which may be acknowledged once every event before it
   * was taken (it skips the events the feed's filter leaves out). */
  int64_t printed = 0, taken = -1, acked = 0, caught_up = -1;
  size_t pending_acks = 0;
  for (;;) {
    bool limit_reached = a.has_limit && a.limit > 0 && printed >= a.limit;
    bool stop = k.gone || limit_reached || (a.no_wait && caught_up >= 0);
    if (stop) sink_drain(&k);
    int64_t t = sink_taken(&k);
    if (t > taken) taken = t;
    int64_t want = taken;
    if (k.n == 0 && !k.gone && caught_up > want) want = caught_up;
    if (want > acked && (stop || printed % ACK_EVERY == 0 || !hls_client_readable(&c->client))) {
      uint64_t ack_id;
      if ((rc = send_ack(c, name, want, &ack_id)) != 0) break;
      acked = want;
      pending_acks++;
    }
    if (stop && pending_acks == 0) break;
    struct hls_ctl_response resp;
    if ((rc = hls_client_read(&c->client, &resp, &why)) != 0) {
      rc = cli_fail(c, rc, "%s", why.text);
      break;
    }
    if (resp.kind == HLS_CTL_EVENT && resp.id == follow_id) {
      if (strcmp(resp.event, "caught_up") == 0) {
        caught_up = hls_out_int(resp.result, "seq");
      } else if (!limit_reached && !k.gone) {
        FILE *mem = open_memstream(&buf, &buf_len);
        rc = mem == NULL ? HLS_ENOMEM : print_event(c, resp.result, mem);
        if (mem != NULL && fclose(mem) != 0 && rc == 0) rc = HLS_EIO;
        if (rc == 0) rc = sink_write(&k, hls_out_int(resp.result, "seq"), buf, buf_len);
        free(buf);
        buf = NULL;
        if (rc != 0) {
          hls_ctl_response_free(&resp);
          rc = cli_fail(c, rc, "writing the event failed");
          break;
        }
        if (!k.gone) printed++;
        caught_up = -1;
      }
    } else if (resp.kind == HLS_CTL_ERROR) {
      int code = resp.error_code;
      rc = cli_refused(c, code, resp.error_message);
      hls_ctl_response_free(&resp);
      break;
    } else if (resp.id != follow_id && pending_acks > 0) {
      pending_acks--; /* an acknowledgement's reply */
    }
    hls_ctl_response_free(&resp);
  }
  sink_free(&k);
  return rc;
}

int cmd_feed_ack(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  c->refused_is_failure = true; /* a seq past the feed's end */
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_ACK, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Feed %s: cursor at %lld.\n", cli_params_str(&p, "name"), (long long)hls_out_int(resp.result, "cursor"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
