/* hls patterns [filters] | patterns show ID | patterns summary: the
 * patterns this node finds across places (docs/patterns.md); their feeds
 * are cmd_feed.c's. Text fits the terminal (hls_out_term_width: on a
 * terminal only, never cut into a pipe); --json prints what hlsd sends. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "params.h"
#include "patfmt.h"
#include "patview.h"
#include "patterns.h"
#include "text.h"

#define SHOW_STORIES 10 /* patterns show: stories listed before "N more" */


/* --- patterns ----------------------------------------------------------------------- */

/* A table of pattern summaries that fits width (0: no limit). */
enum { COL_ID, COL_STRENGTH, COL_SIGNAL, COL_THEMES, COL_PLACES, COL_WEEKS, COL_LIVE, N_COLS };
static const char *const pattern_headers[N_COLS] = {"ID", "STRENGTH", "SIGNAL", "THEME(S)", "PLACES", "WEEKS", "LIVE"};
#define CELL 320

static void pattern_row(const struct hls_mp_value *p, bool kinds, char cells[N_COLS][CELL]) {
  char id[40], region[HLS_REGION_MAX + 1];
  snprintf(cells[COL_ID], CELL, "%.8s", hls_out_str(p, "id", id, sizeof id));
  hls_patfmt_strength(hls_patview_num(p, "strength"), cells[COL_STRENGTH], CELL);
  hls_out_str(p, "signal", cells[COL_SIGNAL], CELL);
  hls_patview_theme_kinds(p, kinds, cells[COL_THEMES], CELL);
  if (hls_out_str(p, "region", region, sizeof region)[0])
    snprintf(cells[COL_PLACES], CELL, "%lld in %s", (long long)hls_out_int(p, "n_places"), region);
  else snprintf(cells[COL_PLACES], CELL, "%lld", (long long)hls_out_int(p, "n_places"));
  hls_patview_weeks(p, cells[COL_WEEKS], CELL);
  /* "state" where a row says it (the weekly read: retracted too) */
  if (!hls_out_str(p, "state", cells[COL_LIVE], CELL)[0])
    snprintf(cells[COL_LIVE], CELL, "%s", hls_patview_flag(p, "live") ? "live" : "ended");
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

/* While hlsd computes the patterns again (a catch-up's rebuild, or its
 * start), what it answers is from before: say so, on stderr, so that a
 * weekly read taken then is not read as "nothing changed". */
static void note_state(const struct hls_mp_value *res) {
  char state[16];
  hls_out_str(res, "state", state, sizeof state);
  if (strcmp(state, "rebuilding") == 0)
    fprintf(stderr, "hls: hlsd is computing the patterns again after a burst of new items: this is from before "
                    "them. Read again when hls status says patterns ready.\n");
  else if (strcmp(state, "loading") == 0)
    fprintf(stderr, "hls: hlsd is computing the patterns after its start: this is what it stored before. Read again "
                    "when hls status says patterns ready.\n");
}

int cmd_patterns(struct cli *c, int argc, char **argv) {
  static const char *const paging[] = {"all", "limit", "offset", NULL};
  struct cli_opts o;
  struct cli_params a;
  int opt, ec, rc;
  cli_opts_init_params(&o, &a, HLS_M_PATTERNS, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if ((rc = cli_params_take(c, &a, opt, optarg)) != 0) return rc == 1 ? cli_usage(c, "unknown option") : rc;
  }
  if (optind < argc)
    return cli_usage(c, "unexpected argument '%s' ('hls patterns show ID' explains one, 'hls patterns summary' "
                        "reads a week)", argv[optind]);
  if ((rc = cli_params_check(c, &a)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  bool with_ended = cli_params_has(&a, "all");
  /* Every page's items, re-packed into one array; the counts of the
   * first page. */
  int64_t want = cli_params_int(&a, "limit", 50); /* 0: all */
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
    msgpack_pack_map(&r.pk, cli_params_count(&a, paging) + 3);
    (void)cli_params_pack(&a, &r.pk, paging); /* checked above: only out of memory, which the call reports */
    hls_mp_pack_kv_bool(&r.pk, "all", with_ended);
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
      if (!c->json) note_state(resp.result);
      /* vouched_places comes only with --vouched */
      if (!c->json && hls_mp_get(resp.result, "vouched_places") != NULL &&
          hls_out_int(resp.result, "vouched_places") == 0)
        fprintf(stderr, "hls: this node vouches for no place, so --vouched selects nothing (hls vouch NODE_ID vouches "
                        "for one; hls places lists them)\n");
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
  bool filtered = cli_params_count(&a, paging) > 0;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (total == 0) {
    if (filtered && !with_ended && ended > 0)
      printf("No live patterns match; %lld ended one%s do%s (--all lists them).\n", (long long)ended,
             ended == 1 ? "" : "s", ended == 1 ? "es" : "");
    else if (filtered)
      printf("No patterns match%s.\n", with_ended ? "" : ", live or ended");
    else if (!with_ended && ended > 0) printf("No patterns live; %lld ended ('hls patterns --all' lists them).\n", (long long)ended);
    else printf("No patterns yet: they appear when this node holds digests from several places.\n");
  } else {
    const char *match = !filtered ? "" : total == 1 ? " matches" : " match";
    if (with_ended)
      printf("%lld pattern%s%s, %lld live and %lld ended: %s\n", (long long)total, total == 1 ? "" : "s", match,
             (long long)live, (long long)ended, by);
    else if (filtered) printf("%lld live pattern%s%s: %s\n", (long long)total, total == 1 ? "" : "s", match, by);
    else printf("%lld pattern%s live: %s\n", (long long)total, total == 1 ? "" : "s", by);
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
    char head[HLS_REGION_MAX + 32];
    snprintf(head, sizeof head, "    %s (%zu): ", regions[k][0] ? regions[k] : "(no region)", count);
    if (all) {
      /* Every name, wrapped between names (a name is never split), the
       * lines after the first indented under the region. */
      size_t col = hls_patfmt_width(head), shown = 0;
      fputs(head, stdout);
      for (uint32_t i = 0; i < n; i++) {
        char r[HLS_REGION_MAX + 1], name[HLS_PLACE_MAX + 32];
        if (strcmp(hls_out_str(&places->v.items[i], "region", r, sizeof r), regions[k]) != 0) continue;
        hls_out_str(&places->v.items[i], "name", name, sizeof name);
        size_t w = hls_patfmt_width(name) + (shown + 1 < count ? 1 : 0); /* its comma */
        if (shown > 0 && col + 1 + w > line_width) {
          fputs(",\n      ", stdout);
          col = 6;
        } else if (shown > 0) {
          fputs(", ", stdout);
          col += 2;
        }
        fputs(name, stdout);
        col += w;
        shown++;
      }
      fputs("\n", stdout);
      continue;
    }
    char line[8192];
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
      if (shown > 0 && need > line_width) break;
      int w = snprintf(line + len, sizeof line - len, "%s%s", shown ? ", " : "", name);
      if (w < 0 || (size_t)w >= sizeof line - len) break;
      len += (size_t)w;
      shown++;
    }
    if (shown < count) snprintf(line + len, sizeof line - len, " and %zu more", count - shown);
    printf("%s%s\n", head, line);
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
    double v = two ? hls_patview_num(&weeks->v.items[i], "both") : hls_patview_num(&weeks->v.items[i], "count_max");
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
    snprintf(cells[i][0], 48, "%s%s", hls_out_str(w, "week", wk, sizeof wk), hls_patview_flag(w, "in_pattern") ? " *" : "");
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
    if (two) hls_patfmt_bar(hls_patview_num(w, "both"), hls_patview_num(w, "both"), max, bar_w, bar, sizeof bar);
    else hls_patfmt_bar(hls_patview_num(w, "count_min"), hls_patview_num(w, "count_max"), max, bar_w, bar, sizeof bar);
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

static int story_cmp(const void *a, const void *b);

/* Cells by week, then place, then theme. */
static int cell_cmp(const void *a, const void *b) {
  int c = story_cmp(a, b);
  if (c != 0) return c;
  const struct hls_mp_value *x = *(const struct hls_mp_value *const *)a, *y = *(const struct hls_mp_value *const *)b;
  char tx[HLS_THEME_MAX + 1], ty[HLS_THEME_MAX + 1];
  return strcmp(hls_out_str(x, "theme", tx, sizeof tx), hls_out_str(y, "theme", ty, sizeof ty));
}

static void print_cells(const struct hls_mp_value *cells) {
  if (cells == NULL || cells->type != HLS_MP_ARRAY || cells->len == 0) return;
  const struct hls_mp_value **sorted = malloc(cells->len * sizeof *sorted);
  if (sorted == NULL) return;
  for (uint32_t i = 0; i < cells->len; i++) sorted[i] = &cells->v.items[i];
  qsort(sorted, cells->len, sizeof *sorted, cell_cmp);
  printf("\nDigest cells behind it (one row per place, week and theme)\n");
  static const char *const headers[] = {"WEEK", "PLACE", "REGION", "THEME", "COUNT", "SCALES", "ITEM"};
  struct hls_table *t = hls_table_new(7, headers);
  if (t) {
    hls_table_set_shrink(t, 1, 10);
    hls_table_set_shrink(t, 2, 8);
    hls_table_set_shrink(t, 3, 12);
  }
  for (uint32_t i = 0; t && i < cells->len; i++) {
    const struct hls_mp_value *cl = sorted[i];
    char week[16], place[HLS_PLACE_MAX + 32], region[HLS_REGION_MAX + 1], theme[HLS_THEME_MAX + 1], count[64],
        scales[64], item[160];
    const struct hls_mp_value *sc = hls_mp_get(cl, "scales");
    scales[0] = '\0';
    for (uint32_t j = 0; sc && sc->type == HLS_MP_ARRAY && j < sc->len; j++)
      if (sc->v.items[j].type == HLS_MP_STR)
        snprintf(scales + strlen(scales), sizeof scales - strlen(scales), "%s%.*s", j ? "," : "",
                 (int)sc->v.items[j].len, sc->v.items[j].v.str);
    hls_out_str(cl, "count", count, sizeof count);
    if (hls_patview_flag(cl, "withheld")) strncat(count, " (withheld)", sizeof count - strlen(count) - 1);
    const char *row[] = {hls_out_str(cl, "week", week, sizeof week), hls_out_str(cl, "place", place, sizeof place),
                         hls_out_str(cl, "region", region, sizeof region), hls_out_str(cl, "theme", theme, sizeof theme),
                         count, scales, hls_out_str(cl, "item", item, sizeof item)};
    hls_table_add(t, row);
  }
  if (t) hls_table_print(t, stdout);
  hls_table_free(t);
  free(sorted);
}

/* Stories by week, then place. */
static int story_cmp(const void *a, const void *b) {
  const struct hls_mp_value *x = *(const struct hls_mp_value *const *)a, *y = *(const struct hls_mp_value *const *)b;
  char wx[16], wy[16], px[HLS_PLACE_MAX + 32], py[HLS_PLACE_MAX + 32];
  int c = strcmp(hls_out_str(x, "week", wx, sizeof wx), hls_out_str(y, "week", wy, sizeof wy));
  return c != 0 ? c : strcmp(hls_out_str(x, "place", px, sizeof px), hls_out_str(y, "place", py, sizeof py));
}

/* all_places: every place, not as many as fit; cells: the digest cells too. */
static void print_pattern(const struct hls_mp_value *res, bool all_places, bool cells, size_t width) {
  const struct hls_mp_value *p = hls_mp_get(res, "pattern");
  char b[2 * HLS_THEME_MAX + 64], b2[64], b3[64], state[16], region[HLS_REGION_MAX + 1];
  hls_patview_theme(p, b, sizeof b);
  printf("%s: %s\n", hls_out_str(p, "signal", b2, sizeof b2), b);
  printf("  id        %s\n", hls_out_str(p, "id", b2, sizeof b2));
  char to[16], from[16];
  hls_out_str(p, "to", to, sizeof to);
  hls_out_str(res, "state", state, sizeof state);
  if (strcmp(state, "live") == 0) printf("  state     live: its evidence still holds (to %s)\n", to);
  else if (strcmp(state, "ended") == 0) printf("  state     ended: its evidence last held in %s\n", to);
  else printf("  state     RETRACTED: the data no longer show it (digests erased or corrected, or other places'\n"
              "            digests of those weeks arrived late)\n");
  if (hls_out_str(p, "region", region, sizeof region)[0]) printf("  region    %s\n", region);
  printf("  weeks     %s to %s (%lld week%s)\n", hls_out_str(p, "from", from, sizeof from), to,
         (long long)hls_out_int(p, "weeks"), hls_out_int(p, "weeks") == 1 ? "" : "s");
  hls_patfmt_strength(hls_patview_num(p, "strength"), b2, sizeof b2);
  hls_patfmt_p(hls_patview_num(p, "p"), b3, sizeof b3);
  char pnow[32];
  hls_patfmt_p(hls_patview_num(p, "p_now"), pnow, sizeof pnow);
  printf("  strength  %s (p = %s at its strongest; p = %s in its last week)\n", b2, b3, pnow);
  char n1[64], n2[64], s1[40], s2[40];
  words(hls_out_str(p, "score_name", s1, sizeof s1), n1, sizeof n1);
  words(hls_out_str(p, "score2_name", s2, sizeof s2), n2, sizeof n2);
  double v1 = hls_patview_num(p, "score"), v2 = hls_patview_num(p, "score2");
  /* the test's figures where it was strongest (its p), not summed over its weeks */
  printf("  test      %s %.*f (%s %.*f), at its strongest\n", n1, v1 == floor(v1) ? 0 : 2, v1, n2,
         v2 == floor(v2) ? 0 : 2, v2);
  double expected = hls_patview_num(p, "expected"), withheld = hls_patview_num(p, "withheld");
  char count[48];
  hls_out_str(p, "count", count, sizeof count);
  char count_text[512], count_wrapped[1024];
  int at = snprintf(count_text, sizeof count_text, "%s record%s of its theme%s at its places in its weeks", count,
                    strcmp(count, "1") == 0 ? "" : "s", hls_mp_get(p, "theme2") ? "s" : "");
  if (strchr(count, '-') && at > 0 && (size_t)at < sizeof count_text)
    snprintf(count_text + at, sizeof count_text - (size_t)at,
             " (%.1f taking withheld and rounded counts at the middle of their range)", expected);
  /* wrapped under its value, the label on the first line */
  static const char value_indent[] = "            ";
  hls_patfmt_wrap(count_text, value_indent, width, count_wrapped, sizeof count_wrapped);
  printf("  count     %s", count_wrapped + strlen(value_indent));
  if (withheld > 0 && expected > 0)
    printf("  withheld  %.1f of %.1f (%.0f%%) rests on counts withheld at their place\n", withheld, expected,
           100.0 * withheld / expected);
  else printf("  withheld  none of it: every count behind it was published\n");
  const struct hls_mp_value *places = hls_mp_get(res, "places");
  const struct hls_mp_value *regions = hls_mp_get(p, "regions");
  int64_t n_places = hls_out_int(p, "n_places");
  size_t n_regions = regions && regions->type == HLS_MP_ARRAY ? regions->len : 0;
  printf("  places    %lld", (long long)n_places);
  if (n_regions > 0) printf(" in %zu region%s", n_regions, n_regions == 1 ? "" : "s");
  printf("\n");
  if (places && places->type == HLS_MP_ARRAY && places->len) {
    print_places_by_region(places, width, all_places);
  } else {
    char names[4096];
    hls_patview_places(p, names, sizeof names, all_places ? 100000 : 8);
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
      char *shown_line = width ? hls_patfmt_cut(line, width) : NULL; /* its columns on screen */
      printf("%s\n    %s\n", shown_line ? shown_line : line, hls_out_str(s, "item", item, sizeof item));
      free(shown_line);
    }
    char id[40];
    if (stories->len > shown)
      printf("  and %u more ('hls --json patterns show %.8s' lists them all)\n", stories->len - shown,
             hls_out_str(p, "id", id, sizeof id));
    free(sorted);
  } else {
    char t2[HLS_THEME_MAX + 1]; /* a pair: its themes */
    printf("\nStories behind it: none held (of its places, in its weeks, naming its theme%s).\n", /* 80 columns */
           hls_out_str(p, "theme2", t2, sizeof t2)[0] ? "s" : "");
  }
  bool retracted = strcmp(state, "retracted") == 0;
  if (cells && retracted) printf("\nNo digest cells: the data no longer show a retracted pattern.\n");
  else if (cells) print_cells(hls_mp_get(res, "cells"));
  else if (!retracted) printf("\n'hls patterns show ID --cells' lists the digest cells behind it, week by week.\n");
  printf("A pattern is a prompt for a conversation with its places, not a verdict.\n");
}

int cmd_patterns_show(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"places", no_argument, NULL, 'P'}, {"cells", no_argument, NULL, 'C'},
                                      {NULL, 0, NULL, 0}};
  struct cli_opts o;
  bool all_places = false, cells = false;
  int opt, ec, rc;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'P') all_places = true;
    else if (opt == 'C') cells = true;
  }
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
  else print_pattern(resp.result, all_places, cells, hls_out_term_width());
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

/* A paragraph of the weekly read, wrapped to width (0: 100), after a
 * blank line. */
__attribute__((format(printf, 2, 3))) static void print_paragraph(size_t width, const char *fmt, ...) {
  char text[256], wrapped[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  hls_patfmt_wrap(text, "", width ? width : 100, wrapped, sizeof wrapped);
  printf("\n%s", wrapped);
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
    note_state(res);
    char week[16], latest[16];
    hls_out_str(res, "week", week, sizeof week);
    hls_out_str(res, "latest_week", latest, sizeof latest);
    char first[16];
    hls_out_str(res, "first_week", first, sizeof first);
    size_t width = hls_out_term_width();
    if (!week[0]) {
      printf("No digests held yet: nothing to read.\n");
    } else {
      bool outside = false; /* before or after the weeks held: said once */
      if (strcmp(week, latest) == 0)
        printf("Week %s, the latest week of digests held (--week YYYY-Www reads another)\n", week);
      else if (!latest[0]) printf("Week %s (no digests are held yet)\n", week);
      else if ((outside = strcmp(week, latest) > 0)) /* YYYY-Www compares as text */
        printf("Week %s is after the latest week of digests held (%s): no pattern can have changed then.\n", week,
               latest);
      else if ((outside = first[0] && strcmp(week, first) < 0))
        printf("Week %s is before the first week of digests held (%s): no pattern can have changed then.\n", week,
               first);
      else printf("Week %s (the latest week of digests held is %s)\n", week, latest);
      printf("Patterns now: %lld live, %lld ended.\n", (long long)hls_out_int(res, "live_now"),
             (long long)hls_out_int(res, "ended_now"));
      if (hls_out_int(res, "events") == 0) {
        if (!outside) printf("No pattern changed while this was the latest week held.\n");
      } else {
        print_category(res, "new", "New", width);
        print_category(res, "growing", "Growing", width);
        print_category(res, "shrinking", "Weaker", width);
        print_category(res, "ended", "Ended", width);
        print_category(res, "retracted", "Retracted (the data no longer show them)", width);
        int64_t found = hls_out_int(res, "found_ended"), gone = hls_out_int(res, "found_retracted");
        if (found > 0)
          print_paragraph(width, "Also found in the weeks before, and already ended: %lld ('hls patterns --all' "
                          "lists those still held).", (long long)found);
        if (gone > 0)
          print_paragraph(width, "Found and retracted again this week (as the data came in): %lld, in no list "
                          "above.", (long long)gone);
      }
      printf("\n'hls patterns show ID' explains one; a feed follows changes as they come\n"
             "('hls feed subscribe NAME', then 'hls feed follow NAME').\n");
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

