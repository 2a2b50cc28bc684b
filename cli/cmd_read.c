/* hls places, hls stories [show ID], hls items: what this node holds of
 * the learning places share (its own included). The three listings come
 * from hlsd a page at a time (docs/control.md, "Pages") and are printed
 * as they come, so any number of rows is listed in bounded memory. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cursor.h"
#include "params.h"
#include "date.h"
#include "envelope.h"
#include "nodeid.h"
#include "text.h"

/* Tables show this many hex digits of an item id; any 8 or more of them
 * name the item (hls stories show). */
#define SHORT_ID_DIGITS 12

static const char *short_id(const struct hls_mp_value *m, const char *key, char *buf, size_t size) {
  hls_out_str(m, key, buf, size);
  if (strlen(buf) > SHORT_ID_DIGITS) buf[SHORT_ID_DIGITS] = '\0';
  return buf;
}

/* A place's name for a table: "-" when no profile of it is held. */
static const char *place_cell(const struct hls_mp_value *m, const char *key, char *buf, size_t size) {
  return hls_out_str(m, key, buf, size)[0] ? buf : "-";
}

/* --- pages ---------------------------------------------------------------------- */

/* A listing read in pages and printed as they come: with --json, one
 * JSON array of every row; else a table (table_row adds a row), flushed
 * after each page that added rows. */
struct listing {
  const char *key;  /* the reply's list: "items" */
  struct hls_table *table;
  void (*table_row)(struct hls_table *t, const struct hls_mp_value *row);
  struct hls_out_json_list json;
  bool as_json;
  int64_t shown;
};

/* Ask p's method for pages, each after the 'next' of the one before,
 * until p's limit (0 or none: no limit) or the last page; print each
 * row. 0, or the exit code (the error printed). */
static int read_pages(struct cli *c, const struct cli_params *p, struct listing *ls) {
  static const char *const paging[] = {"limit", "after", NULL};
  int64_t limit = cli_params_int(p, "limit", 0);
  char after[HLS_CURSOR_TEXT_SIZE] = "";
  if (ls->as_json) hls_out_json_list_begin(&ls->json, stdout);
  for (;;) {
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, p->m->id);
    msgpack_pack_map(&r.pk, cli_params_count(p, paging) + (limit > 0) + (after[0] != '\0'));
    (void)cli_params_pack(p, &r.pk, paging); /* checked: only out of memory, which the call reports */
    if (limit > 0) hls_mp_pack_kv_i64(&r.pk, "limit", limit - ls->shown);
    if (after[0] != '\0') hls_mp_pack_kv_str(&r.pk, "after", after);
    int rc = cli_call(c, &r, &resp);
    if (rc != 0) return rc;
    const struct hls_mp_value *list = hls_mp_get(resp.result, ls->key), *next = hls_mp_get(resp.result, "next");
    bool more = next != NULL && next->type == HLS_MP_STR;
    if (list == NULL || list->type != HLS_MP_ARRAY || (more && (next->len == 0 || next->len >= sizeof after)) ||
        (more && next->len == strlen(after) && memcmp(next->v.str, after, next->len) == 0)) {
      hls_ctl_response_free(&resp);
      return cli_fail(c, HLS_EMALFORMED, "hlsd's reply is not a page of %s", ls->key);
    }
    for (uint32_t i = 0; i < list->len && rc == 0; i++) {
      if (ls->as_json) rc = hls_out_json_list_add(&ls->json, &list->v.items[i]);
      else ls->table_row(ls->table, &list->v.items[i]);
      ls->shown++;
    }
    if (!ls->as_json && list->len > 0) hls_table_flush(ls->table, stdout);
    if (more) {
      memcpy(after, next->v.str, next->len);
      after[next->len] = '\0';
    }
    hls_ctl_response_free(&resp);
    if (rc != 0) return cli_fail(c, rc, "writing the list failed");
    if (!more || (limit > 0 && ls->shown >= limit)) break;
  }
  if (ls->as_json && hls_out_json_list_end(&ls->json) != 0) return cli_fail(c, HLS_EIO, "writing the list failed");
  return 0;
}

/* A listing command: its options, then its pages; after a table, footer
 * (may be NULL), or none(p) when nothing was listed. */
static int list_command(struct cli *c, int argc, char **argv, enum hls_method_id method, struct listing *ls,
                        const char *(*none)(const struct cli_params *p), const char *footer) {
  struct cli_params p;
  bool done;
  int rc = cli_params_parse(c, argc, argv, method, &p, &done);
  if (done) return rc;
  ls->as_json = c->json;
  if (!ls->as_json && ls->table == NULL) return cli_fail(c, HLS_ENOMEM, "out of memory");
  if ((rc = read_pages(c, &p, ls)) != 0) return rc;
  if (!ls->as_json && ls->shown == 0) printf("%s\n", none(&p));
  else if (!ls->as_json && footer != NULL) fputs(footer, stdout);
  return 0;
}

/* --- places ----------------------------------------------------------------------- */

static struct hls_table *places_table(void) {
  static const char *const headers[] = {"PLACE", "REGION", "ROLE", "VOUCHED BY", "ITEMS", "STUBS", "ERASED", "CHAIN",
                                        "LAST HEARD", "NODE"};
  struct hls_table *t = hls_table_new(10, headers);
  for (size_t col = 4; t && col <= 7; col++) hls_table_set_right(t, col);
  if (t) {
    hls_table_set_shrink(t, 0, 12);
    hls_table_set_shrink(t, 1, 8);
    hls_table_set_shrink(t, 3, 12);
  }
  return t;
}

/* The places vouching for p, by name ('*': the vouch does not count);
 * "-" if none. */
static const char *vouched_by(const struct hls_mp_value *p, char *buf, size_t size) {
  const struct hls_mp_value *list = hls_mp_get(p, "vouched_by");
  size_t used = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; list != NULL && list->type == HLS_MP_ARRAY && i < list->len && used + 1 < size; i++) {
    const struct hls_mp_value *v = &list->v.items[i], *counts = hls_mp_get(v, "counts");
    char name[HLS_PLACE_MAX + 1];
    if (!hls_out_str(v, "place", name, sizeof name)[0]) hls_out_str(v, "node_id", name, sizeof name);
    bool no = counts == NULL || counts->type != HLS_MP_BOOL || !counts->v.b;
    int n = snprintf(buf + used, size - used, "%s%s%s", i ? ", " : "", name, no ? "*" : "");
    used = n < 0 ? size : used + (size_t)n;
  }
  return buf[0] ? buf : "-";
}

static void place_row(struct hls_table *t, const struct hls_mp_value *p) {
  char place[HLS_PLACE_MAX + 48], region[HLS_REGION_MAX + 1], role[32], heard[24], node[HLS_NODEID_TEXT_SIZE];
  char vouchers[512];
  char num[4][24];
  static const char *const keys[] = {"items", "stubs", "erased", "chain_seq"};
  for (int k = 0; k < 4; k++) snprintf(num[k], sizeof num[k], "%lld", (long long)hls_out_int(p, keys[k]));
  if (!hls_out_str(p, "place", place, HLS_PLACE_MAX + 1)[0]) snprintf(place, sizeof place, "(no profile held)");
  if (hls_out_bool(p, "self")) strcat(place, " (this node)");
  const struct hls_mp_value *claims = hls_mp_get(p, "name_also_claimed_by"), *counts = hls_mp_get(p, "role_counts");
  if (claims != NULL && claims->type == HLS_MP_ARRAY && claims->len > 0) strcat(place, " (name also claimed)");
  /* Key succession: one place, under its latest key; its earlier keys'
   * rows keep their own items. */
  const struct hls_mp_value *next = hls_mp_get(p, "succeeded_by"), *formerly = hls_mp_get(p, "formerly");
  if (next != NULL && next->type == HLS_MP_STR) strcat(place, " (earlier key)");
  else if (formerly != NULL && formerly->type == HLS_MP_ARRAY && formerly->len > 0) strcat(place, " (new key)");
  place_cell(p, "role", role, sizeof role);
  if (counts != NULL && counts->type == HLS_MP_BOOL && !counts->v.b) strcat(role, " (not counted)");
  const char *row[] = {place,
                       place_cell(p, "region", region, sizeof region),
                       role,
                       vouched_by(p, vouchers, sizeof vouchers),
                       num[0],
                       num[1],
                       num[2],
                       num[3],
                       hls_out_str(p, "last_heard", heard, sizeof heard),
                       hls_out_str(p, "node_id", node, sizeof node)};
  hls_table_add(t, row);
}

static const char *no_places(const struct cli_params *p) {
  (void)p;
  return "No places yet: this node holds no items (it publishes its profile when it starts).";
}

int cmd_places(struct cli *c, int argc, char **argv) {
  struct listing ls = {.key = "places", .table = c->json ? NULL : places_table(), .table_row = place_row};
  int rc = list_command(c, argc, argv, HLS_M_PLACES, &ls, no_places, NULL);
  hls_table_free(ls.table);
  return rc;
}

/* --- stories ------------------------------------------------------------------------ */

static struct hls_table *stories_table(void) {
  static const char *const headers[] = {"ID", "WEEK", "PLACE", "THEMES", "TITLE"};
  struct hls_table *t = hls_table_new(5, headers);
  if (t) {
    hls_table_set_shrink(t, 2, 10);
    hls_table_set_shrink(t, 3, 12);
    hls_table_set_shrink(t, 4, 16);
  }
  return t;
}

static void story_row(struct hls_table *t, const struct hls_mp_value *s) {
  char id[HLS_ITEM_ID_HEX_SIZE], week[16], place[HLS_PLACE_MAX + 1], themes[HLS_OUT_THEMES_SIZE], title[HLS_TITLE_MAX + 1];
  hls_out_themes(s, themes, sizeof themes, false);
  const char *row[] = {short_id(s, "id", id, sizeof id), hls_out_str(s, "week", week, sizeof week),
                       place_cell(s, "place", place, sizeof place), themes, hls_out_str(s, "title", title, sizeof title)};
  hls_table_add(t, row);
}

static const char *no_stories(const struct cli_params *p) {
  bool filtered = cli_params_has(p, "place") || cli_params_has(p, "theme") || cli_params_has(p, "since");
  return filtered ? "No stories match."
                  : "No stories held: none shared with this node or published by it, or all taken back since "
                    "(hls items lists them, erased).";
}

int cmd_stories(struct cli *c, int argc, char **argv) {
  struct listing ls = {.key = "stories", .table = c->json ? NULL : stories_table(), .table_row = story_row};
  int rc = list_command(c, argc, argv, HLS_M_STORIES, &ls, no_stories, "\n'hls stories show ID' prints a whole story.\n");
  hls_table_free(ls.table);
  return rc;
}

static void print_story(const struct hls_mp_value *s) {
  char b1[HLS_TITLE_MAX + 1], b2[HLS_REGION_MAX + 1], b3[32], themes[HLS_OUT_THEMES_SIZE];
  printf("%s\n", hls_out_str(s, "title", b1, sizeof b1));
  if (hls_out_str(s, "place", b1, sizeof b1)[0]) {
    printf("  place     %s", b1);
    if (hls_out_str(s, "region", b2, sizeof b2)[0]) printf(" (%s)", b2);
    if (hls_out_str(s, "role", b3, sizeof b3)[0]) printf(", role %s", b3);
    printf("\n");
  } else {
    printf("  place     unknown (no profile of its node is held)\n");
  }
  printf("  node      %s%s\n", hls_out_str(s, "origin", b1, sizeof b1), hls_out_bool(s, "self") ? " (this node)" : "");
  printf("  week      %s", hls_out_str(s, "week", b1, sizeof b1));
  if (hls_out_str(s, "week_start", b2, sizeof b2)[0] && hls_out_str(s, "week_end", b3, sizeof b3)[0])
    printf(" (%s to %s)", b2, b3);
  printf("\n");
  hls_out_themes(s, themes, sizeof themes, true);
  printf("  themes    %s\n", themes[0] ? themes : "-");
  printf("  scale     %s\n", hls_out_str(s, "scale", b1, sizeof b1));
  printf("  stage     %s\n", hls_out_str(s, "stage", b1, sizeof b1));
  hls_out_str(s, "audience", b1, sizeof b1);
  printf("  audience  %s\n", strcmp(b1, "peers") == 0 ? "peers (its place's direct peers only)" : b1);
  printf("  published %s\n", hls_out_str(s, "published_at", b1, sizeof b1));
  printf("  item      %s (seq %lld)\n", hls_out_str(s, "id", b1, sizeof b1), (long long)hls_out_int(s, "seq"));
  hls_out_paragraph(s, "tried", "\nWhat was tried\n", "  ");
  hls_out_paragraph(s, "learnt", "\nWhat was learnt\n", "  ");
}

int cmd_stories_show(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  struct hls_item_ref ref;
  if (argc - optind != 1) return cli_usage(c, "give one story ID (the ID column of 'hls stories')");
  if (hls_item_ref_parse(argv[optind], &ref) != 0)
    return cli_usage(c, "'%.80s' is not a story ID: give 8 to 64 hex digits of its id, or NODE_ID:SEQ", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  c->refused_is_failure = true; /* not a story, or an ambiguous prefix */
  hls_client_begin(&c->client, &r, HLS_M_STORIES_SHOW);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "id", argv[optind]);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_story(resp.result);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* --- items ----------------------------------------------------------------------------- */

static struct hls_table *items_table(void) {
  static const char *const headers[] = {"ORIGIN", "SEQ", "TYPE", "AUDIENCE", "BODY", "PUBLISHED", "ITEM ID"};
  struct hls_table *t = hls_table_new(7, headers);
  if (t) hls_table_set_right(t, 1);
  return t;
}

static void item_row(struct hls_table *t, const struct hls_mp_value *it) {
  char origin[HLS_NODEID_TEXT_SIZE], seq[24], type[16], aud[16], body[16], when[24], id[HLS_ITEM_ID_HEX_SIZE];
  snprintf(seq, sizeof seq, "%lld", (long long)hls_out_int(it, "seq"));
  const char *row[] = {hls_out_str(it, "origin", origin, sizeof origin), seq,
                       hls_out_str(it, "type", type, sizeof type),       hls_out_str(it, "audience", aud, sizeof aud),
                       hls_out_str(it, "body", body, sizeof body),       hls_out_str(it, "published_at", when, sizeof when),
                       short_id(it, "item_id", id, sizeof id)};
  hls_table_add(t, row);
}

static const char *no_items(const struct cli_params *p) {
  return cli_params_has(p, "origin") || cli_params_has(p, "type") ? "No items match." : "No items held yet.";
}

int cmd_items(struct cli *c, int argc, char **argv) {
  struct listing ls = {.key = "items", .table = c->json ? NULL : items_table(), .table_row = item_row};
  int rc = list_command(c, argc, argv, HLS_M_ITEMS, &ls, no_items, NULL);
  hls_table_free(ls.table);
  return rc;
}
