/* The control commands that read patterns (docs/control.md):
 * patterns, patterns.show, patterns.summary and network.themes, their
 * arguments and replies. The rows come from the pattern store, the
 * lineage from the engine patternsd.c hosts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "mp.h"
#include "nodeid.h"
#include "patfilter.h"
#include "patstore.h"
#include "patternsd_internal.h"
#include "patsummary.h"
#include "trust.h"

#define LIST_DEFAULT 50   /* patterns listed when the request gives no limit (a page) */
#define SUMMARY_TOP_DEFAULT 5
#define SUMMARY_TOP_MAX 50
#define CONTEXT_WEEKS 8   /* patterns.show: weeks before a pattern in its week table */
#define SHOW_MAX_WEEKS 520

#define PACK(x)                                                                                                  \
  do {                                                                                                           \
    if ((x) != 0) return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");                                   \
  } while (0)

struct list_ctx {
  const struct hls_patfilter *f;
  int64_t offset, limit;
  int64_t total, shown, live, by_signal[HLS_PAT_SIGNAL_COUNT];
  bool all;                 /* ended patterns listed too */
  int64_t ended_not_listed; /* without all: the ended ones the other filters select */
  msgpack_sbuffer items;
};

/* The filter selects ended patterns too (f->include_ended); without all
 * they are counted, not listed. */
static int list_one(void *ctx, const struct hls_patrow *r) {
  struct list_ctx *l = ctx;
  if (!hls_patfilter_match(l->f, r)) return 0;
  if (!r->live && !l->all) {
    l->ended_not_listed++;
    return 0;
  }
  l->total++;
  l->live += r->live;
  if (r->signal >= 0 && r->signal < HLS_PAT_SIGNAL_COUNT) l->by_signal[r->signal]++;
  if (l->total <= l->offset || (l->limit != 0 && l->shown >= l->limit)) return 0;
  if (msgpack_sbuffer_write(&l->items, r->summary, r->summary_len) != 0) return HLS_ENOMEM;
  l->shown++;
  return 0;
}

int hls_patternsd__vouched_filter(struct hls_patternsd *pd, struct hls_patfilter *f, uint8_t **ids,
                                  struct hls_why *why) {
  size_t n = 0;
  *ids = NULL;
  f->n_vouched_others = 0;
  int rc = pd->env.node_id != NULL
               ? hls_trust_vouched_ids(pd->env.store, pd->env.node_id, ids, &n, &f->n_vouched_others, why)
               : 0;
  if (rc == 0) hls_patfilter_set_vouched(f, *ids, n, &pd->params);
  return rc;
}

/* One more unknown name in said ("; " between them). */
static void say_unknown(char *said, size_t size, const char *fmt, ...) HLS_PRINTF(3, 4);
static void say_unknown(char *said, size_t size, const char *fmt, ...) {
  size_t used = strlen(said);
  if (used > 0 && used + 2 < size) memcpy(said + used, "; ", 3), used += 2;
  va_list ap;
  va_start(ap, fmt);
  if (used < size) vsnprintf(said + used, size - used, fmt, ap);
  va_end(ap);
}

/* A listing's theme, region and place filters name a theme some place
 * reports, a region some place is in and a place known here, or the reply
 * is not_found naming each that does not (a typo would otherwise read as
 * "no patterns"). Only with the engine at hand: while it loads, the
 * listing is not held up for this. */
int hls_patternsd__filter_known(struct hls_patternsd *pd, const struct hls_patfilter *f, struct hls_why *why) {
  if (f->n_themes == 0 && f->n_regions == 0 && f->n_places == 0) return 0;
  if (pd->phase != PD_READY && !pd->have_engine) return 0;
  /* Every unknown name is said, not the first alone: each is a typo. */
  char said[sizeof why->text] = "";
  for (size_t i = 0; i < f->n_themes; i++) {
    bool found = false;
    const char *name;
    int kind;
    for (uint32_t t = 0; !found && hls_patterns_theme_info(pd->pt, t, &name, &kind) == 0; t++) {
      uint32_t places;
      int32_t last;
      found = strcmp(name, f->themes[i]) == 0 && (f->theme_kinds[i] < 0 || f->theme_kinds[i] == kind) &&
              hls_patterns_theme_usage(pd->pt, t, &places, &last) == 0 && places > 0;
    }
    if (!found)
      say_unknown(said, sizeof said, "theme: no place reports \"%s%s%s\" here (hls themes --network lists them)",
                  f->theme_kinds[i] < 0 ? "" : hls_kind_name((enum hls_kind)f->theme_kinds[i]),
                  f->theme_kinds[i] < 0 ? "" : ":", f->themes[i]);
  }
  for (size_t i = 0; i < f->n_regions; i++) {
    bool found = false;
    struct hls_pat_place_info pi;
    for (uint32_t k = 0; !found && hls_patterns_place_info(pd->pt, k, &pi) == 0; k++)
      found = pi.region != NULL && hls_patfilter_name_eq(pi.region, strlen(pi.region), f->regions[i]);
    if (!found)
      say_unknown(said, sizeof said, "region: no place is in region \"%s\" here (hls places lists regions)",
                  f->regions[i]);
  }
  for (size_t i = 0; i < f->n_places; i++) { /* each resolved alone, on a copy: f is the caller's as it was */
    struct hls_patfilter one = *f;
    struct hls_why pwhy = {{0}};
    one.n_places = 1;
    memcpy(one.places[0], f->places[i], sizeof one.places[0]);
    int rc = hls_patsummary_filter_resolve_places(pd->summary, &one, true, &pwhy);
    if (rc == HLS_ENOTFOUND) say_unknown(said, sizeof said, "%s", pwhy.text);
    else if (rc != 0) return hls_why_set(why, rc, "%s", pwhy.text);
  }
  return said[0] ? hls_why_set(why, HLS_ENOTFOUND, "%s", said) : 0;
}

int hls_patternsd_api_list(struct hls_patternsd *pd, struct hls_control_call *call) {
  struct hls_patfilter f;
  uint8_t *vouched_ids = NULL;
  int64_t limit;
  int64_t offset = 0;
  bool has_offset = false, all = false;
  int rc = hls_patfilter_parse(call->req->args, &f, &call->why);
  if (rc == 0) rc = hls_api_arg_limit(call->req->args, LIST_DEFAULT, &limit, &call->why);
  if (rc == 0) rc = hls_mp_get_i64(call->req->args, "offset", &offset, &has_offset, &call->why);
  if (rc == 0) rc = hls_mp_get_bool(call->req->args, "all", &all, NULL, &call->why);
  /* Places are resolved with the engine's place list, where a place that
   * moved to a new key is known by its first one: a later key's id names
   * the same place. */
  for (size_t i = 0; rc == 0 && i < f.n_places; i++) {
    uint8_t pk[32], root[32];
    uint64_t ignored;
    if (f.places[i][0] == '@' && hls_nodeid_parse(f.places[i], pk) == 0 &&
        hls_pat__keymap_to_engine(pd->keys, pk, 1, root, &ignored)) {
      char text[HLS_NODEID_TEXT_SIZE];
      hls_nodeid_format(root, text);
      snprintf(f.places[i], sizeof f.places[i], "%s", text);
    }
  }
  if (rc == 0 && f.n_places > 0) rc = hls_patternsd__need_engine(pd, &call->why);
  /* every unknown name said at once; then the places' names as patterns carry them */
  if (rc == 0) rc = hls_patternsd__filter_known(pd, &f, &call->why);
  if (rc == 0) rc = hls_patsummary_filter_resolve_places(pd->summary, &f, false, &call->why);
  if (rc != 0) return rc;
  if (offset < 0) return hls_why_set(&call->why, HLS_EINVAL, "offset: must be 0 or more");
  f.include_ended = true; /* counted without all, listed with it (list_one) */
  /* --vouched: the places vouched now, as this node holds the vouches. */
  if (f.vouched && (rc = hls_patternsd__vouched_filter(pd, &f, &vouched_ids, &call->why)) != 0) return rc;
  /* Every matching row is counted (by signal, live or ended); the page's
   * summaries go to a side buffer, as the array needs its length first. */
  struct list_ctx l = {.f = &f, .all = all, .offset = offset, .limit = limit};
  msgpack_sbuffer_init(&l.items);
  rc = hls_patstore_each_pattern(pd->ps, list_one, &l, &call->why);
  free(vouched_ids);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&l.items);
    return rc == HLS_ENOMEM ? hls_patstore_oom(&call->why) : rc;
  }
  msgpack_sbuffer items = l.items;
  int64_t total = l.total, shown = l.shown, live = l.live, *by_signal = l.by_signal;
  msgpack_packer *pk = call->pk;
  /* ended: those the filters select, listed (all) or not; state: whether
   * the engine holds every item (a catch-up's rebuild, a start's load:
   * the list is from before it). */
  /* vouched_places: how many places count under vouched (none: it
   * selects nothing, which hls says) */
  rc = msgpack_pack_map(pk, 7 + f.vouched) != 0 || hls_mp_pack_kv_i64(pk, "total", total) != 0 ||
       (f.vouched && hls_mp_pack_kv_i64(pk, "vouched_places", (int64_t)f.n_vouched_others) != 0) ||
       hls_mp_pack_kv_i64(pk, "live", live) != 0 ||
       hls_mp_pack_kv_i64(pk, "ended", all ? total - live : l.ended_not_listed) != 0 ||
       hls_mp_pack_kv_str(pk, "state", hls_patternsd__state_name(pd)) != 0 ||
       hls_mp_pack_cstr(pk, "by_signal") != 0 || msgpack_pack_map(pk, HLS_PAT_SIGNAL_COUNT) != 0;
  for (int s = 0; rc == 0 && s < HLS_PAT_SIGNAL_COUNT; s++) rc = hls_mp_pack_kv_i64(pk, hls_pat_signal_name(s), by_signal[s]);
  if (rc == 0)
    rc = hls_mp_pack_kv_i64(pk, "offset", offset) != 0 || hls_mp_pack_cstr(pk, "patterns") != 0 ||
         msgpack_pack_array(pk, (size_t)shown) != 0 || hls_patsummary_write_raw(pk, items.data, items.size) != 0;
  msgpack_sbuffer_destroy(&items);
  return rc == 0 ? 0 : hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
}

/* --- patterns.show ------------------------------------------------------------------------ */

struct show_ctx {
  struct hls_patternsd *pd;
  msgpack_packer *pk;
  size_t n;
  bool count_only;
};

static int show_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct show_ctx *s = ctx;
  s->n++;
  if (s->count_only) return 0;
  msgpack_packer *pk = s->pk;
  struct hls_pat_place_info pi;
  const char *theme;
  int kind;
  if (hls_patterns_place_info(s->pd->pt, c->place, &pi) != 0 || hls_patterns_theme_info(s->pd->pt, c->theme, &theme, &kind) != 0)
    return HLS_EINTERNAL;
  char label[HLS_PATSUMMARY_LABEL], id[HLS_NODEID_TEXT_SIZE], item[HLS_NODEID_TEXT_SIZE + 24], week[9];
  hls_patsummary_place_label(s->pd->summary, c->place, label, sizeof label);
  uint8_t key[32];
  uint64_t seq;
  hls_pat__keymap_from_engine(s->pd->keys, pi.origin, c->seq, key, &seq); /* the item's own key and seq */
  hls_nodeid_format(key, id);
  snprintf(item, sizeof item, "%s:%llu", id, (unsigned long long)seq);
  hls_patsummary_week_text(c->week, week);
  if (msgpack_pack_map(pk, 11) != 0 || hls_mp_pack_kv_str(pk, "place", label) != 0 ||
      hls_mp_pack_kv_str(pk, "region", pi.region) != 0 || hls_mp_pack_kv_str(pk, "week", week) != 0 ||
      hls_mp_pack_kv_str(pk, "theme", theme) != 0 || hls_mp_pack_kv_str(pk, "kind", hls_kind_name((enum hls_kind)kind)) != 0 ||
      hls_patsummary_pack_count(pk, c->lo, c->hi) != 0 || hls_mp_pack_kv_bool(pk, "withheld", c->withheld) != 0 ||
      hls_mp_pack_cstr(pk, "scales") != 0 || hls_patsummary_pack_scales(pk, c->scales) != 0 || hls_mp_pack_kv_str(pk, "item", item) != 0)
    return HLS_ENOMEM;
  return 0;
}

static int show_story(void *ctx, const struct hls_pat_story_ref *r) {
  struct show_ctx *s = ctx;
  s->n++;
  if (s->count_only) return 0;
  struct hls_pat_place_info pi;
  if (hls_patterns_place_info(s->pd->pt, r->place, &pi) != 0) return HLS_EINTERNAL;
  char label[HLS_PATSUMMARY_LABEL], id[HLS_NODEID_TEXT_SIZE], item[HLS_NODEID_TEXT_SIZE + 24], week[9];
  hls_patsummary_place_label(s->pd->summary, r->place, label, sizeof label);
  uint8_t key[32];
  uint64_t seq;
  hls_pat__keymap_from_engine(s->pd->keys, pi.origin, r->seq, key, &seq);
  hls_nodeid_format(key, id);
  snprintf(item, sizeof item, "%s:%llu", id, (unsigned long long)seq);
  hls_patsummary_week_text(r->week, week);
  msgpack_packer *pk = s->pk;
  if (msgpack_pack_map(pk, 4) != 0 || hls_mp_pack_kv_str(pk, "place", label) != 0 ||
      hls_mp_pack_kv_str(pk, "week", week) != 0 || hls_mp_pack_kv_str(pk, "title", r->title) != 0 ||
      hls_mp_pack_kv_str(pk, "item", item) != 0)
    return HLS_ENOMEM;
  return 0;
}

/* The counts of a pattern's theme(s) at its places, week by week, from a
 * few weeks before it (the lineage of the same pattern over more weeks):
 * for together, each theme's and the places reporting both. */
struct week_sum {
  uint64_t lo[2], hi[2];
  uint32_t places[2], both;
  bool withheld;
};

struct weeks_ctx {
  const struct hls_pattern *p;
  int32_t from;
  size_t n_weeks;
  struct week_sum *sums;
  int32_t last_week; /* the cell before: lineage is sorted by week, place, theme */
  uint32_t last_place;
};

static int weeks_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct weeks_ctx *w = ctx;
  if (c->week < w->from || (size_t)(c->week - w->from) >= w->n_weeks) return 0;
  size_t ti = c->theme == w->p->theme ? 0 : 1;
  struct week_sum *s = &w->sums[c->week - w->from];
  s->lo[ti] += c->lo;
  s->hi[ti] += c->hi;
  s->places[ti]++;
  s->withheld |= c->withheld;
  if (w->last_week == c->week && w->last_place == c->place) s->both++; /* its other theme came just before */
  w->last_week = c->week;
  w->last_place = c->place;
  return 0;
}

static int pack_weeks(struct hls_patternsd *pd, msgpack_packer *pk, const struct hls_pattern *p) {
  struct hls_pattern q = *p;
  q.week_from = p->week_from - CONTEXT_WEEKS;
  if (q.week_to - q.week_from + 1 > SHOW_MAX_WEEKS) q.week_from = q.week_to - SHOW_MAX_WEEKS + 1;
  struct weeks_ctx w = {.p = p, .from = q.week_from, .n_weeks = (size_t)(q.week_to - q.week_from + 1),
                        .last_week = INT32_MIN};
  w.sums = calloc(w.n_weeks, sizeof *w.sums);
  if (w.sums == NULL) return HLS_ENOMEM;
  int rc = hls_patterns_lineage(pd->pt, &q, weeks_cell, NULL, &w);
  bool two = p->theme2 != HLS_PAT_NONE;
  if (rc == 0 && msgpack_pack_array(pk, w.n_weeks) != 0) rc = HLS_ENOMEM;
  for (size_t i = 0; rc == 0 && i < w.n_weeks; i++) {
    const struct week_sum *s = &w.sums[i];
    int32_t week = w.from + (int32_t)i;
    char wt[9], c2[48];
    hls_patsummary_week_text(week, wt);
    if (msgpack_pack_map(pk, 7 + (two ? 5 : 0)) != 0 || hls_mp_pack_kv_str(pk, "week", wt) != 0 ||
        hls_mp_pack_kv_bool(pk, "in_pattern", week >= p->week_from) != 0 || hls_patsummary_pack_count(pk, s->lo[0], s->hi[0]) != 0 ||
        hls_mp_pack_kv_i64(pk, "places", s->places[0]) != 0 || hls_mp_pack_kv_bool(pk, "withheld", s->withheld) != 0)
      rc = HLS_ENOMEM;
    if (rc == 0 && two) {
      if (s->lo[1] == s->hi[1]) snprintf(c2, sizeof c2, "%llu", (unsigned long long)s->lo[1]);
      else snprintf(c2, sizeof c2, "%llu-%llu", (unsigned long long)s->lo[1], (unsigned long long)s->hi[1]);
      if (hls_mp_pack_kv_i64(pk, "count2_min", (int64_t)s->lo[1]) != 0 ||
          hls_mp_pack_kv_i64(pk, "count2_max", (int64_t)s->hi[1]) != 0 || hls_mp_pack_kv_str(pk, "count2", c2) != 0 ||
          hls_mp_pack_kv_i64(pk, "places2", s->places[1]) != 0 || hls_mp_pack_kv_i64(pk, "both", s->both) != 0)
        rc = HLS_ENOMEM;
    }
  }
  free(w.sums);
  return rc;
}

/* The pattern's places by label: name, region, node id. */
static int pack_show_places(struct hls_patternsd *pd, msgpack_packer *pk, const struct hls_pattern *p) {
  uint32_t *order;
  int rc = hls_patsummary_places_by_label(pd->summary, p, &order);
  if (rc != 0) return rc;
  if (msgpack_pack_array(pk, p->n_places) != 0) rc = HLS_ENOMEM;
  for (size_t i = 0; rc == 0 && i < p->n_places; i++) {
    struct hls_pat_place_info pi;
    char label[HLS_PATSUMMARY_LABEL], id[HLS_NODEID_TEXT_SIZE];
    if (hls_patterns_place_info(pd->pt, order[i], &pi) != 0) {
      rc = HLS_EINTERNAL;
      break;
    }
    hls_nodeid_format(pi.origin, id);
    if (msgpack_pack_map(pk, 3) != 0 || hls_mp_pack_kv_str(pk, "name", hls_patsummary_dir_label(pd->summary, order[i], label, sizeof label)) != 0 ||
        hls_mp_pack_kv_str(pk, "region", pi.region) != 0 || hls_mp_pack_kv_str(pk, "node_id", id) != 0)
      rc = HLS_ENOMEM;
  }
  free(order);
  return rc;
}

/* A pattern id or a prefix of it: 4 to 16 hex digits. */
static bool is_id_prefix(const char *s, uint32_t len) {
  if (len < 4 || len > 2 * HLS_PAT_ID_BYTES) return false;
  for (uint32_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) return false;
  return true;
}

struct prefix_ctx {
  const char *prefix;
  uint32_t len;
  int matches;
  uint8_t found[HLS_PAT_ID_BYTES];
};

static int prefix_one(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES]) {
  struct prefix_ctx *pc = ctx;
  char idt[2 * HLS_PAT_ID_BYTES + 1];
  hls_patsummary_id_hex(id, idt);
  if (strncasecmp(idt, pc->prefix, pc->len) == 0 && pc->matches++ == 0) memcpy(pc->found, id, HLS_PAT_ID_BYTES);
  return 0;
}

/* The head of patterns.show, from the stored row: state, summary, method. */
struct show_head {
  struct hls_patternsd *pd;
  msgpack_packer *pk;
  bool retracted;
};

static int show_head(void *ctx, const struct hls_patrow *r, bool retracted) {
  struct show_head *h = ctx;
  msgpack_packer *pk = h->pk;
  h->retracted = retracted;
  char text[2048];
  hls_patsummary_method_text(&h->pd->params, r->signal, r->region, text, sizeof text);
  if (msgpack_pack_map(pk, 8) != 0 ||
      hls_mp_pack_kv_str(pk, "state", retracted ? "retracted" : r->live ? "live" : "ended") != 0 ||
      hls_mp_pack_kv_bool(pk, "live", !retracted && r->live) != 0 || hls_mp_pack_cstr(pk, "pattern") != 0 ||
      hls_patsummary_write_raw(pk, r->summary, r->summary_len) != 0 || hls_mp_pack_kv_str(pk, "method_text", text) != 0)
    return HLS_ENOMEM;
  return 0;
}

int hls_patternsd_api_show(struct hls_patternsd *pd, struct hls_control_call *call) {
  const char *s;
  uint32_t len;
  int rc = hls_mp_get_str(call->req->args, "id", &s, &len, NULL, &call->why);
  if (rc != 0) return rc;
  if (!is_id_prefix(s, len))
    return hls_why_set(&call->why, HLS_EINVAL, "id: expected a pattern id (4 to 16 hex digits, as hls patterns prints)");
  if ((rc = hls_patternsd__need_engine(pd, &call->why)) != 0) return rc;
  /* Find by prefix among all rows (live, ended and retracted). */
  struct prefix_ctx pc = {.prefix = s, .len = len};
  if ((rc = hls_patstore_each_id(pd->ps, prefix_one, &pc, &call->why)) != 0) return rc;
  int matches = pc.matches;
  const uint8_t *found = pc.found;
  if (matches == 0) return hls_why_set(&call->why, HLS_ENOTFOUND, "no pattern %.*s (hls patterns lists them)", (int)len, s);
  if (matches > 1)
    return hls_why_set(&call->why, HLS_EINVAL, "pattern id %.*s is ambiguous (%d match); give more digits", (int)len, s,
                       matches);
  struct show_head h = {.pd = pd, .pk = call->pk};
  rc = hls_patstore_get(pd->ps, found, show_head, &h, &call->why);
  if (rc == HLS_ENOTFOUND) return hls_why_set(&call->why, HLS_ENOTFOUND, "pattern gone");
  if (rc == HLS_ENOMEM) return hls_why_set(&call->why, rc, "out of memory");
  if (rc != 0) return rc;
  const struct hls_pattern *p = h.retracted ? NULL : hls_patterns_find(pd->pt, found);
  msgpack_packer *pk = call->pk;
  PACK(hls_mp_pack_cstr(pk, "places"));
  if (p != NULL) rc = pack_show_places(pd, pk, p);
  else PACK(msgpack_pack_array(pk, 0));
  if (rc == 0) PACK(hls_mp_pack_cstr(pk, "weeks"));
  if (rc == 0 && p != NULL) rc = pack_weeks(pd, pk, p);
  else if (rc == 0) PACK(msgpack_pack_array(pk, 0));
  struct show_ctx sc = {.pd = pd, .pk = pk, .count_only = true};
  size_t n_cells = 0, n_stories = 0;
  if (rc == 0 && p != NULL) {
    rc = hls_patterns_lineage(pd->pt, p, show_cell, NULL, &sc);
    n_cells = sc.n;
    sc.n = 0;
    if (rc == 0) rc = hls_patterns_lineage(pd->pt, p, NULL, show_story, &sc);
    n_stories = sc.n;
  }
  if (rc != 0) return hls_why_set(&call->why, rc, "lineage: %s", hls_strerror(rc));
  sc.count_only = false;
  PACK(hls_mp_pack_cstr(pk, "cells"));
  PACK(msgpack_pack_array(pk, n_cells));
  if (p != NULL && rc == 0) rc = hls_patterns_lineage(pd->pt, p, show_cell, NULL, &sc);
  PACK(hls_mp_pack_cstr(pk, "stories"));
  PACK(msgpack_pack_array(pk, n_stories));
  if (p != NULL && rc == 0) rc = hls_patterns_lineage(pd->pt, p, NULL, show_story, &sc);
  return rc == 0 ? 0 : hls_why_set(&call->why, rc, "lineage: %s", hls_strerror(rc));
}

/* --- patterns.summary: the weekly read ------------------------------------------------------ */

/* One event of the week. */
struct week_event {
  uint8_t id[HLS_PAT_ID_BYTES];
  size_t order;
  int change, signal;
  bool live;
  double strength;
  char *regions;
  void *summary;
  size_t summary_len;
};

/* One pattern's events of the week: its flags, and its last event. */
enum { CAT_NEW, CAT_GROWING, CAT_SHRINKING, CAT_ENDED, CAT_RETRACTED, CAT__COUNT };
static const char *const cat_names[CAT__COUNT] = {"new", "growing", "shrinking", "ended", "retracted"};

struct week_pattern {
  const struct week_event *last;
  unsigned changes;   /* bit per enum hls_pat_change */
  bool new_live;      /* its last new event came while it held */
  bool known_before;  /* its first event of the week was not new */
};

/* The week's changes are netted: a pattern whose last event of the week
 * retracted it is only retracted (not also new, growing or ended) if it
 * was known before the week, and in no list if it was found that week
 * (as a catch-up's partial data can make): only counted
 * (found_retracted). */
static bool last_retracted(const struct week_pattern *w) { return w->last->change == HLS_PAT_RETRACTED; }

static int week_event_cmp(const void *a, const void *b) {
  const struct week_event *x = a, *y = b;
  int c = memcmp(x->id, y->id, HLS_PAT_ID_BYTES);
  return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static const struct week_pattern *strength_base;
static int by_strength(const void *a, const void *b) {
  const struct week_pattern *x = &strength_base[*(const size_t *)a], *y = &strength_base[*(const size_t *)b];
  if (x->last->strength != y->last->strength) return x->last->strength < y->last->strength ? 1 : -1;
  return memcmp(x->last->id, y->last->id, HLS_PAT_ID_BYTES);
}

static bool in_category(const struct week_pattern *w, int cat) {
  unsigned c = w->changes;
  bool is_new = c & (1u << HLS_PAT_NEW), gone = last_retracted(w);
  switch (cat) {
  case CAT_NEW: return is_new && w->new_live && !gone;
  case CAT_GROWING: return !is_new && !gone && (c & (1u << HLS_PAT_JOINED | 1u << HLS_PAT_GREW));
  case CAT_SHRINKING: return !is_new && !gone && (c & (1u << HLS_PAT_LEFT | 1u << HLS_PAT_SHRANK));
  case CAT_ENDED: return !gone && (c & (1u << HLS_PAT_ENDED));
  default: return gone && w->known_before;
  }
}

/* A pattern's summary as of its last event of the week, with its state
 * then: a retracted one's row is its last state before (live or not), so
 * "live" is set false and "state" says retracted. */
static int pack_week_row(msgpack_packer *pk, const struct week_pattern *w) {
  const struct week_event *e = w->last;
  const char *state = last_retracted(w) ? "retracted" : e->live ? "live" : "ended";
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  /* every value is a byte at least */
  int rc = hls_mp_tree_decode(&tree, e->summary, e->summary_len, false, e->summary_len, &why);
  if (rc != 0) return rc;
  const struct hls_mp_value *m = &tree.root;
  if (m->type != HLS_MP_MAP) {
    hls_mp_tree_free(&tree);
    return HLS_EINTERNAL;
  }
  bool has_state = hls_mp_get(m, "state") != NULL;
  rc = msgpack_pack_map(pk, m->len + !has_state) != 0 ? HLS_ENOMEM : 0;
  for (uint32_t i = 0; rc == 0 && i < m->len; i++) {
    const struct hls_mp_kv *kv = &m->v.kv[i];
    if (hls_mp_str_eq(&kv->key, "live")) rc = hls_mp_pack_kv_bool(pk, "live", strcmp(state, "live") == 0);
    else if (hls_mp_str_eq(&kv->key, "state")) rc = hls_mp_pack_kv_str(pk, "state", state);
    else rc = hls_mp_pack_value(pk, &kv->key) != 0 || hls_mp_pack_value(pk, &kv->val) != 0 ? HLS_ENOMEM : 0;
  }
  if (rc == 0 && !has_state) rc = hls_mp_pack_kv_str(pk, "state", state);
  hls_mp_tree_free(&tree);
  return rc;
}

struct region_count {
  const char *name; /* borrowed from an event's regions */
  size_t len;
  int64_t count;
};

static int region_count_cmp(const void *a, const void *b) {
  const struct region_count *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  size_t l = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->name, y->name, l);
  return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int pack_category(msgpack_packer *pk, int cat, const struct week_pattern *wp, size_t n, size_t top) {
  size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = 0;
  struct region_count *rc_list = NULL;
  size_t n_rc = 0, cap_rc = 0;
  int64_t by_signal[HLS_PAT_SIGNAL_COUNT] = {0}, sub[2] = {0, 0};
  int rc = idx == NULL ? HLS_ENOMEM : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!in_category(&wp[i], cat)) continue;
    idx[m++] = i;
    const struct week_event *e = wp[i].last;
    if (e->signal >= 0 && e->signal < HLS_PAT_SIGNAL_COUNT) by_signal[e->signal]++;
    if (cat == CAT_GROWING) {
      sub[0] += (wp[i].changes >> HLS_PAT_JOINED) & 1;
      sub[1] += (wp[i].changes >> HLS_PAT_GREW) & 1;
    } else if (cat == CAT_SHRINKING) {
      sub[0] += (wp[i].changes >> HLS_PAT_LEFT) & 1;
      sub[1] += (wp[i].changes >> HLS_PAT_SHRANK) & 1;
    }
    for (const char *q = e->regions; rc == 0 && *q;) {
      const char *nl = strchr(q, '\n');
      if (nl == NULL) break;
      size_t len = (size_t)(nl - q), k = 0;
      while (k < n_rc && !(rc_list[k].len == len && memcmp(rc_list[k].name, q, len) == 0)) k++;
      if (k == n_rc) {
        if (n_rc == cap_rc) {
          cap_rc = cap_rc ? 2 * cap_rc : 16;
          struct region_count *nr = realloc(rc_list, cap_rc * sizeof *nr);
          if (nr == NULL) {
            rc = HLS_ENOMEM;
            break;
          }
          rc_list = nr;
        }
        rc_list[n_rc++] = (struct region_count){q, len, 0};
      }
      rc_list[k].count++;
      q = nl + 1;
    }
  }
  if (rc == 0) {
    strength_base = wp; /* event-loop thread only */
    qsort(idx, m, sizeof *idx, by_strength);
    if (n_rc > 1) qsort(rc_list, n_rc, sizeof *rc_list, region_count_cmp);
    bool extra = cat == CAT_GROWING || cat == CAT_SHRINKING;
    if (hls_mp_pack_cstr(pk, cat_names[cat]) != 0 || msgpack_pack_map(pk, 4 + (extra ? 2 : 0)) != 0 ||
        hls_mp_pack_kv_i64(pk, "count", (int64_t)m) != 0)
      rc = HLS_ENOMEM;
    if (rc == 0 && extra &&
        (hls_mp_pack_kv_i64(pk, cat == CAT_GROWING ? "joined" : "left", sub[0]) != 0 ||
         hls_mp_pack_kv_i64(pk, cat == CAT_GROWING ? "grew" : "shrank", sub[1]) != 0))
      rc = HLS_ENOMEM;
    if (rc == 0 && (hls_mp_pack_cstr(pk, "by_signal") != 0 || msgpack_pack_map(pk, HLS_PAT_SIGNAL_COUNT) != 0))
      rc = HLS_ENOMEM;
    for (int s = 0; rc == 0 && s < HLS_PAT_SIGNAL_COUNT; s++)
      if (hls_mp_pack_kv_i64(pk, hls_pat_signal_name(s), by_signal[s]) != 0) rc = HLS_ENOMEM;
    if (rc == 0 && (hls_mp_pack_cstr(pk, "by_region") != 0 || msgpack_pack_array(pk, n_rc) != 0)) rc = HLS_ENOMEM;
    for (size_t k = 0; rc == 0 && k < n_rc; k++)
      if (msgpack_pack_map(pk, 2) != 0 || hls_mp_pack_cstr(pk, "region") != 0 ||
          hls_mp_pack_strn(pk, rc_list[k].name, rc_list[k].len) != 0 ||
          hls_mp_pack_kv_i64(pk, "count", rc_list[k].count) != 0)
        rc = HLS_ENOMEM;
    size_t shown = m < top ? m : top;
    if (rc == 0 && (hls_mp_pack_cstr(pk, "top") != 0 || msgpack_pack_array(pk, shown) != 0)) rc = HLS_ENOMEM;
    for (size_t k = 0; rc == 0 && k < shown; k++) rc = pack_week_row(pk, &wp[idx[k]]);
  }
  free(idx);
  free(rc_list);
  return rc;
}

static void week_events_free(struct week_event *ev, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(ev[i].regions);
    free(ev[i].summary);
  }
  free(ev);
}

/* The pattern events written while week was the latest week of digests
 * held, ordered; *out owned by the caller. */
struct week_list {
  struct week_event *ev;
  size_t n, cap;
};

static int add_week_event(void *ctx, const uint8_t id[HLS_PAT_ID_BYTES], int change, const struct hls_patrow *r) {
  struct week_list *wl = ctx;
  if (wl->n == wl->cap) {
    wl->cap = wl->cap ? 2 * wl->cap : 64;
    struct week_event *ne = realloc(wl->ev, wl->cap * sizeof *ne);
    if (ne == NULL) return HLS_ENOMEM;
    wl->ev = ne;
  }
  struct week_event *e = &wl->ev[wl->n++];
  memset(e, 0, sizeof *e);
  memcpy(e->id, id, HLS_PAT_ID_BYTES);
  e->order = wl->n;
  e->change = change;
  e->signal = r->signal;
  e->live = r->live;
  e->strength = r->strength;
  e->regions = strdup(r->regions);
  e->summary = malloc(r->summary_len ? r->summary_len : 1);
  e->summary_len = r->summary_len;
  if (e->regions == NULL || e->summary == NULL) return HLS_ENOMEM;
  if (r->summary_len) memcpy(e->summary, r->summary, r->summary_len);
  return 0;
}

static int load_week_events(struct hls_patternsd *pd, int32_t week, struct week_event **out, size_t *n_out,
                            struct hls_why *why) {
  struct week_list wl = {0};
  int rc = hls_patstore_each_week_event(pd->ps, week, add_week_event, &wl, why);
  if (rc != 0) {
    week_events_free(wl.ev, wl.n);
    return rc == HLS_ENOMEM ? hls_patstore_oom(why) : rc;
  }
  *out = wl.ev;
  *n_out = wl.n;
  return 0;
}

int hls_patternsd_api_summary(struct hls_patternsd *pd, struct hls_control_call *call) {
  bool has_week = false, present = false;
  int32_t week = pd->feed.latest_week;
  int64_t top = SUMMARY_TOP_DEFAULT;
  int rc = hls_patternsd__need_engine(pd, &call->why);
  if (rc != 0) return rc;
  rc = hls_patfilter_arg_week(call->req->args, "week", &has_week, &week, &call->why);
  if (rc == 0) rc = hls_mp_get_i64(call->req->args, "top", &top, &present, &call->why);
  if (rc != 0) return rc;
  if (top < 0 || top > SUMMARY_TOP_MAX)
    return hls_why_set(&call->why, HLS_EINVAL, "top: must be 0 to %d", SUMMARY_TOP_MAX);
  int64_t live = 0, ended = 0;
  if ((rc = hls_patstore_count(pd->ps, NULL, &live, &ended, &call->why)) != 0) return rc;
  struct week_event *ev = NULL;
  size_t n_ev = 0;
  if (week != NO_WEEK && (rc = load_week_events(pd, week, &ev, &n_ev, &call->why)) != 0) return rc;
  /* By pattern, in order: its changes this week, its last event. */
  if (n_ev > 1) qsort(ev, n_ev, sizeof *ev, week_event_cmp);
  struct week_pattern *wp = calloc(n_ev ? n_ev : 1, sizeof *wp);
  size_t n_wp = 0;
  int64_t found_ended = 0, found_retracted = 0;
  if (wp == NULL) {
    week_events_free(ev, n_ev);
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_ev; i++) {
    bool first = i == 0 || memcmp(ev[i].id, ev[i - 1].id, HLS_PAT_ID_BYTES) != 0;
    if (first) n_wp++;
    struct week_pattern *w = &wp[n_wp - 1];
    if (first) w->known_before = ev[i].change != HLS_PAT_NEW;
    w->last = &ev[i];
    if (ev[i].change >= 0 && ev[i].change < HLS_PAT_CHANGE_COUNT) w->changes |= 1u << ev[i].change;
    if (ev[i].change == HLS_PAT_NEW) w->new_live = ev[i].live;
  }
  for (size_t i = 0; i < n_wp; i++) {
    if (last_retracted(&wp[i])) found_retracted += !wp[i].known_before;
    else found_ended += (wp[i].changes & (1u << HLS_PAT_NEW)) && !wp[i].new_live;
  }
  msgpack_packer *pk = call->pk;
  char wt[9] = "", lt[9] = "", ft[9] = "";
  if (week != NO_WEEK) hls_patsummary_week_text(week, wt);
  if (pd->feed.latest_week != NO_WEEK) hls_patsummary_week_text(pd->feed.latest_week, lt);
  int32_t first = hls_patterns_first_week(pd->pt);
  if (first != INT32_MIN) hls_patsummary_week_text(first, ft);
  rc = msgpack_pack_map(pk, 9 + CAT__COUNT) != 0 || hls_mp_pack_kv_str(pk, "week", wt[0] ? wt : NULL) != 0 ||
               hls_mp_pack_kv_str(pk, "state", hls_patternsd__state_name(pd)) != 0 ||
               hls_mp_pack_kv_str(pk, "latest_week", lt[0] ? lt : NULL) != 0 ||
               hls_mp_pack_kv_str(pk, "first_week", ft[0] ? ft : NULL) != 0 ||
               hls_mp_pack_kv_i64(pk, "live_now", live) != 0 || hls_mp_pack_kv_i64(pk, "ended_now", ended) != 0 ||
               hls_mp_pack_kv_i64(pk, "events", (int64_t)n_ev) != 0 ||
               hls_mp_pack_kv_i64(pk, "found_ended", found_ended) != 0 ||
               hls_mp_pack_kv_i64(pk, "found_retracted", found_retracted) != 0
           ? HLS_ENOMEM
           : 0;
  for (int c = 0; rc == 0 && c < CAT__COUNT; c++) rc = pack_category(pk, c, wp, n_wp, (size_t)top);
  free(wp);
  week_events_free(ev, n_ev);
  if (rc == 0) return 0;
  return hls_why_set(&call->why, rc == HLS_ENOMEM ? rc : HLS_EINTERNAL,
                     rc == HLS_ENOMEM ? "out of memory" : "a stored pattern's summary does not decode");
}

/* --- network.themes ------------------------------------------------------------------------ */

/* Themes every place uses (from the digests held), most places first:
 * the names a learning lead can reuse. */
struct theme_use {
  uint32_t theme, places;
  int32_t last;
};

static int theme_use_cmp(const void *a, const void *b) {
  const struct theme_use *x = a, *y = b;
  if (x->places != y->places) return x->places < y->places ? 1 : -1;
  return (x->theme > y->theme) - (x->theme < y->theme);
}

int hls_patternsd_api_network_themes(struct hls_patternsd *pd, struct hls_control_call *call) {
  if (hls_patternsd__need_engine(pd, &call->why) != 0) return HLS_EBUSY;
  struct hls_pat_stats st;
  hls_patterns_stats(pd->pt, &st);
  struct theme_use *u = malloc((st.themes ? st.themes : 1) * sizeof *u);
  if (u == NULL) return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  size_t n = 0;
  for (uint32_t t = 0; t < st.themes; t++) {
    uint32_t places;
    int32_t last;
    if (hls_patterns_theme_usage(pd->pt, t, &places, &last) == 0 && places > 0)
      u[n++] = (struct theme_use){t, places, last};
  }
  if (n > 1) qsort(u, n, sizeof *u, theme_use_cmp);
  int rc = msgpack_pack_array(call->pk, (uint32_t)n) != 0 ? HLS_ENOMEM : 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const char *name;
    int kind;
    char week[9];
    if (hls_patterns_theme_info(pd->pt, u[i].theme, &name, &kind) != 0) name = "", kind = 0;
    hls_patsummary_week_text(u[i].last, week);
    if (msgpack_pack_map(call->pk, 4) != 0 || hls_mp_pack_kv_str(call->pk, "name", name) != 0 ||
        hls_mp_pack_kv_str(call->pk, "kind", hls_kind_name((enum hls_kind)kind)) != 0 ||
        hls_mp_pack_kv_i64(call->pk, "places", u[i].places) != 0 ||
        hls_mp_pack_kv_str(call->pk, "last_week", week) != 0)
      rc = HLS_ENOMEM;
  }
  free(u);
  return rc == 0 ? 0 : hls_why_set(&call->why, rc, "out of memory");
}

