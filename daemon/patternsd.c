#include "patternsd.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "date.h"
#include "log.h"
#include "mp.h"
#include "nodeid.h"
#include "feeds.h"
#include "patfilter.h"
#include "patternsd_internal.h"
#include "patstore.h"
#include "patterns.h"
#include "record.h"
#include "store.h"

#define FLUSH_DELAY_MS 50
#define FLUSH_MAX_DELAY_MS 1000

/* --- summaries -------------------------------------------------------------------------- */

void hls_patternsd__place_label(struct hls_patternsd *pd, uint32_t place, char *out, size_t size) {
  struct hls_pat_place_info pi;
  if (hls_patterns_place_info(pd->pt, place, &pi) != 0) {
    snprintf(out, size, "?");
    return;
  }
  if (pi.name[0]) {
    snprintf(out, size, "%s", pi.name);
    return;
  }
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pi.origin, id);
  snprintf(out, size, "(no profile: %.12s)", id);
}

void hls_patternsd__week_text(int32_t week, char out[9]) {
  int y, w;
  hls_patterns_iso_week(week, &y, &w);
  hls_iso_week_format(y, w, out);
}

/* What score and score2 are (patterns.h), by signal. */
static const char *score_name(int signal) {
  static const char *const n[HLS_PAT_SIGNAL_COUNT] = {"new_places", "places_beyond", "excess_z", "place_weeks_both",
                                                      "places_beyond"};
  return signal >= 0 && signal < HLS_PAT_SIGNAL_COUNT ? n[signal] : "score";
}

static const char *score2_name(int signal) {
  static const char *const n[HLS_PAT_SIGNAL_COUNT] = {"expected_new_places", "places_tested", "baseline_share",
                                                      "expected_place_weeks", "places_tested"};
  return signal >= 0 && signal < HLS_PAT_SIGNAL_COUNT ? n[signal] : "score2";
}

#define PK(x)                                                                                                    \
  do {                                                                                                           \
    if ((x) != 0) return HLS_ENOMEM;                                                                             \
  } while (0)

/* A number to 3 decimals (strengths, counts, scores). */
static int pack_kv_f(msgpack_packer *pk, const char *key, double v) {
  if (!isfinite(v)) return hls_mp_pack_cstr(pk, key) != 0 || msgpack_pack_nil(pk) != 0 ? HLS_ENOMEM : 0;
  return hls_mp_pack_cstr(pk, key) != 0 || msgpack_pack_double(pk, (double)llround(v * 1000.0) / 1000.0) != 0
             ? HLS_ENOMEM
             : 0;
}

/* A p-value to 3 significant digits (1e-12 is not 0). */
static int pack_kv_p(msgpack_packer *pk, const char *key, double v) {
  if (!isfinite(v)) return hls_mp_pack_cstr(pk, key) != 0 || msgpack_pack_nil(pk) != 0 ? HLS_ENOMEM : 0;
  char text[32];
  snprintf(text, sizeof text, "%.3g", v);
  return hls_mp_pack_cstr(pk, key) != 0 || msgpack_pack_double(pk, strtod(text, NULL)) != 0 ? HLS_ENOMEM : 0;
}

static const char *const method_names[HLS_PAT_SIGNAL_COUNT] = {
    [HLS_PAT_SPREAD] = "new places taking up a theme, against the rate its history predicts",
    [HLS_PAT_EMERGING] = "a jump at some places against their own baseline (a scan over places)",
    [HLS_PAT_RISING] = "a region's share of a theme growing against its baseline share",
    [HLS_PAT_TOGETHER] = ("two themes in the same weeks at the same places, beyond what each place's frequencies "
                          "and history predict"),
    [HLS_PAT_CROSS_SCALE] = "beyond the baseline at several scales at once (a scan over places)",
};

static int signals_sharing(unsigned signals) {
  int n = 0;
  for (; signals != 0; signals &= signals - 1) n++;
  return n;
}

/* The method's name and every parameter it uses (the signals column of
 * HLS_PAT_PARAMS; docs/patterns.md): its own first, then those it shares,
 * from the fewest signals sharing them to all of them (fdr, keep_p,
 * end_weeks last), each group in the table's order. */
static int pack_method(msgpack_packer *pk, const struct hls_pat_params *p, int signal) {
  size_t n_params;
  const struct hls_pat_param *t = hls_pat_params_table(&n_params);
  size_t used = 0;
  for (size_t i = 0; i < n_params; i++) used += (t[i].signals & HLS_PAT_USES(signal)) != 0;
  PK(hls_mp_pack_cstr(pk, "method"));
  PK(msgpack_pack_map(pk, 1 + used));
  PK(hls_mp_pack_kv_str(pk, "name", method_names[signal]));
  for (int sharing = 1; sharing <= HLS_PAT_SIGNAL_COUNT; sharing++)
    for (size_t i = 0; i < n_params; i++) {
      if ((t[i].signals & HLS_PAT_USES(signal)) == 0 || signals_sharing(t[i].signals) != sharing) continue;
      double v = hls_pat_param_get(p, (int)i);
      PK(t[i].type == HLS_PAT_PARAM_REAL ? pack_kv_p(pk, t[i].name, v)
                                         : hls_mp_pack_kv_i64(pk, t[i].name, (int64_t)v));
    }
  return 0;
}

/* The method in plain words, with its parameters (patterns.show). */
void hls_patternsd__method_text(const struct hls_pat_params *p, int signal, const char *region, char *out, size_t size) {
  int n = 0;
  switch (signal) {
  case HLS_PAT_SPREAD:
    n = snprintf(out, size,
                 "Spread counts the places that began to report this theme in the last %d weeks, among the places "
                 "with at least %d weeks of digests without it, and compares that number with the rate at which "
                 "places took the theme up in the %d weeks before (a Poisson test; at least %d new places).",
                 p->spread_weeks, p->spread_history_weeks, p->baseline_weeks, p->spread_min_places);
    break;
  case HLS_PAT_EMERGING:
    n = snprintf(out, size,
                 "Emerging compares each place's count of this theme in the last week, and in the last %d weeks, "
                 "with the place's own usual level over the %d weeks before (an exact test that allows for a short "
                 "history and the place's usual ups and downs; a withheld count taken as one record, a rounded one "
                 "at the middle of its range), then combines the places that stand out (p at most 0.05; at least "
                 "%d of them) by the truncated product method, which asks how unlikely so many and so strong "
                 "would be among all the places tested if nothing had changed.",
                 p->emerging_weeks, p->baseline_weeks, p->emerging_min_places);
    break;
  case HLS_PAT_RISING:
    n = snprintf(out, size,
                 "Rising asks whether %s's reports of this theme grew over the last %d weeks, against the %d "
                 "weeks before, more than the rest of the network's did (Fisher's exact test of the two regions' "
                 "counts, so that a rise everywhere at once is not a rise here); at least %d places of the region "
                 "report the theme.",
                 region && region[0] ? region : "the region", p->rising_weeks, p->baseline_weeks,
                 p->rising_min_places);
    break;
  case HLS_PAT_TOGETHER:
    n = snprintf(out, size,
                 "Together counts the place-weeks in which a place reported both themes in the same week, in fixed "
                 "windows of %d weeks, against what each place's own frequency of each theme, and its history of "
                 "reporting both in the windows before, predict (a Poisson test; at least %d such place-weeks at "
                 "%d places). It goes on while the next windows keep the evidence.",
                 p->together_weeks, p->together_min_count, p->together_min_places);
    break;
  default:
    n = snprintf(out, size,
                 "Cross-scale looks, over the last %d weeks, for places where this theme is above the place's usual "
                 "level at %d or more scales at once (person, organisation, place, country), each against its own "
                 "baseline of %d weeks, then combines those places (at least %d) by the truncated product method, "
                 "as emerging does.",
                 p->cross_weeks, p->cross_min_scales, p->baseline_weeks, p->cross_min_places);
    break;
  }
  if (n < 0 || (size_t)n >= size) return;
  snprintf(out + n, size - (size_t)n,
           " Every week, the p-values of all themes and signals are held together to a false discovery rate of %g "
           "(Benjamini-Hochberg): a discovery opens a pattern, which holds while its own p-value stays at most %g "
           "and ends after %d weeks without.",
           p->fdr, p->keep_p, p->end_weeks);
}

int hls_patternsd__pack_count(msgpack_packer *pk, uint64_t lo, uint64_t hi) {
  char text[48];
  if (lo == hi) snprintf(text, sizeof text, "%llu", (unsigned long long)lo);
  else snprintf(text, sizeof text, "%llu-%llu", (unsigned long long)lo, (unsigned long long)hi);
  PK(hls_mp_pack_kv_i64(pk, "count_min", (int64_t)lo));
  PK(hls_mp_pack_kv_i64(pk, "count_max", (int64_t)hi));
  PK(hls_mp_pack_kv_str(pk, "count", text));
  return 0;
}

int hls_patternsd__pack_scales(msgpack_packer *pk, unsigned scales) {
  PK(msgpack_pack_array(pk, (size_t)__builtin_popcount(scales)));
  for (int s = 0; s < HLS_SCALE_COUNT; s++)
    if (scales & (1u << s)) PK(hls_mp_pack_cstr(pk, hls_scale_name((enum hls_scale)s)));
  return 0;
}

/* Place labels and regions, computed once for all places (not for each
 * pattern: a pattern can name a thousand places): labels in byte order
 * (rank), regions numbered in byte order. Rebuilt when a profile arrives
 * or a new place appears. */
static void placedir_free(struct placedir *d) {
  for (size_t i = 0; i < d->n_regions; i++) free(d->region_name[i]);
  free(d->label);
  free(d->rank);
  free(d->region);
  free(d->region_name);
  free(d->seen);
  memset(d, 0, sizeof *d);
}

static const char *sort_labels_base;
static int by_label(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return strcmp(sort_labels_base + (size_t)x * LABEL, sort_labels_base + (size_t)y * LABEL);
}
static int cstr_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int hls_patternsd__placedir_ensure(struct hls_patternsd *pd) {
  struct placedir *d = &pd->dir;
  struct hls_pat_place_info pi;
  if (!d->stale && hls_patterns_place_info(pd->pt, (uint32_t)d->n, &pi) != 0) return 0;
  placedir_free(d);
  size_t n = 0;
  while (hls_patterns_place_info(pd->pt, (uint32_t)n, &pi) == 0) n++;
  uint32_t *order = malloc((n ? n : 1) * sizeof *order);
  d->label = malloc((n ? n : 1) * sizeof *d->label);
  d->rank = malloc((n ? n : 1) * sizeof *d->rank);
  d->region = malloc((n ? n : 1) * sizeof *d->region);
  d->region_name = malloc((n ? n : 1) * sizeof *d->region_name);
  if (order == NULL || d->label == NULL || d->rank == NULL || d->region == NULL || d->region_name == NULL) {
    free(order);
    placedir_free(d);
    d->stale = true;
    return HLS_ENOMEM;
  }
  d->n = n;
  for (size_t i = 0; i < n; i++) {
    hls_patternsd__place_label(pd, (uint32_t)i, d->label[i], LABEL);
    order[i] = (uint32_t)i;
  }
  sort_labels_base = (const char *)d->label; /* event-loop thread only */
  qsort(order, n, sizeof *order, by_label);
  for (size_t k = 0; k < n; k++) d->rank[order[k]] = (uint32_t)k;
  free(order);
  /* Distinct regions, sorted, then each place's number. */
  for (size_t i = 0; i < n; i++) {
    d->region[i] = UINT32_MAX;
    if (hls_patterns_place_info(pd->pt, (uint32_t)i, &pi) != 0 || pi.region[0] == '\0') continue;
    bool dup = false;
    for (size_t r = 0; r < d->n_regions && !dup; r++) dup = strcmp(d->region_name[r], pi.region) == 0;
    if (dup) continue;
    if ((d->region_name[d->n_regions] = strdup(pi.region)) == NULL) {
      placedir_free(d);
      d->stale = true;
      return HLS_ENOMEM;
    }
    d->n_regions++;
  }
  qsort(d->region_name, d->n_regions, sizeof *d->region_name, cstr_cmp);
  for (size_t i = 0; i < n; i++) {
    if (hls_patterns_place_info(pd->pt, (uint32_t)i, &pi) != 0 || pi.region[0] == '\0') continue;
    const char *key = pi.region;
    char **hit = bsearch(&key, d->region_name, d->n_regions, sizeof *d->region_name, cstr_cmp);
    if (hit) d->region[i] = (uint32_t)(hit - d->region_name);
  }
  d->seen = calloc(d->n_regions ? d->n_regions : 1, sizeof *d->seen);
  if (d->seen == NULL) {
    placedir_free(d);
    d->stale = true;
    return HLS_ENOMEM;
  }
  d->stale = false;
  return 0;
}

/* A place's label (placedir_ensure first). */
const char *hls_patternsd__dir_label(struct hls_patternsd *pd, uint32_t place, char *buf, size_t size) {
  if (place < pd->dir.n) return pd->dir.label[place];
  hls_patternsd__place_label(pd, place, buf, size);
  return buf;
}

/* The distinct regions of a pattern's places, sorted, each followed by
 * '\n'. */
static char *regions_of(struct hls_patternsd *pd, const struct hls_pattern *p, size_t *count) {
  struct placedir *d = &pd->dir;
  if (hls_patternsd__placedir_ensure(pd) != 0) return NULL;
  if (++d->stamp == 0) {
    memset(d->seen, 0, d->n_regions * sizeof *d->seen);
    d->stamp = 1;
  }
  size_t len = 1;
  *count = 0;
  for (size_t i = 0; i < p->n_places; i++) {
    uint32_t r = p->places[i] < d->n ? d->region[p->places[i]] : UINT32_MAX;
    if (r == UINT32_MAX || d->seen[r] == d->stamp) continue;
    d->seen[r] = d->stamp;
    len += strlen(d->region_name[r]) + 1;
  }
  char *out = malloc(len);
  if (out == NULL) return NULL;
  size_t at = 0;
  for (size_t r = 0; r < d->n_regions; r++) {
    if (d->seen[r] != d->stamp) continue;
    size_t rl = strlen(d->region_name[r]);
    memcpy(out + at, d->region_name[r], rl);
    at += rl;
    out[at++] = '\n';
    (*count)++;
  }
  out[at] = '\0';
  return out;
}

static int pack_regions(msgpack_packer *pk, const char *regions, size_t count) {
  PK(msgpack_pack_array(pk, count));
  for (const char *q = regions; *q; q = strchr(q, '\n') + 1) PK(hls_mp_pack_strn(pk, q, (size_t)(strchr(q, '\n') - q)));
  return 0;
}

void hls_patternsd__id_hex(const uint8_t id[HLS_PAT_ID_BYTES], char out[2 * HLS_PAT_ID_BYTES + 1]) {
  sodium_bin2hex(out, 2 * HLS_PAT_ID_BYTES + 1, id, HLS_PAT_ID_BYTES);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The pattern's places in the order of their labels (placedir ranks):
 * *out (owned by the caller) holds engine place numbers. */
int hls_patternsd__places_by_label(struct hls_patternsd *pd, const struct hls_pattern *p, uint32_t **out) {
  struct placedir *d = &pd->dir;
  *out = NULL;
  if (hls_patternsd__placedir_ensure(pd) != 0) return HLS_ENOMEM;
  uint64_t *keys = malloc((p->n_places ? p->n_places : 1) * sizeof *keys);
  uint32_t *order = malloc((p->n_places ? p->n_places : 1) * sizeof *order);
  if (keys == NULL || order == NULL) {
    free(keys);
    free(order);
    return HLS_ENOMEM;
  }
  for (size_t i = 0; i < p->n_places; i++) {
    uint32_t pl = p->places[i];
    keys[i] = (uint64_t)(pl < d->n ? d->rank[pl] : UINT32_MAX) << 32 | pl;
  }
  qsort(keys, p->n_places, sizeof *keys, u64_cmp);
  for (size_t i = 0; i < p->n_places; i++) order[i] = (uint32_t)keys[i];
  free(keys);
  *out = order;
  return 0;
}

/* The summary every listing and event carries (docs/control.md). order:
 * the places by label. */
static int pack_summary(struct hls_patternsd *pd, msgpack_packer *pk, const struct hls_pattern *p, const char *regions,
                        size_t n_regions, const uint32_t *order) {
  const char *theme, *theme2 = NULL;
  int kind, kind2 = 0;
  if (hls_patterns_theme_info(pd->pt, p->theme, &theme, &kind) != 0) return HLS_EINTERNAL;
  if (p->theme2 != HLS_PAT_NONE && hls_patterns_theme_info(pd->pt, p->theme2, &theme2, &kind2) != 0)
    return HLS_EINTERNAL;
  char idtext[2 * HLS_PAT_ID_BYTES + 1], from[9], to[9];
  hls_patternsd__id_hex(p->id, idtext);
  hls_patternsd__week_text(p->week_from, from);
  hls_patternsd__week_text(p->week_to, to);
  PK(msgpack_pack_map(pk, 28 + (theme2 ? 2 : 0)));
  PK(hls_mp_pack_kv_str(pk, "id", idtext));
  PK(hls_mp_pack_kv_str(pk, "signal", hls_pat_signal_name(p->signal)));
  PK(hls_mp_pack_kv_str(pk, "theme", theme));
  PK(hls_mp_pack_kv_str(pk, "kind", hls_kind_name((enum hls_kind)kind)));
  if (theme2) {
    PK(hls_mp_pack_kv_str(pk, "theme2", theme2));
    PK(hls_mp_pack_kv_str(pk, "kind2", hls_kind_name((enum hls_kind)kind2)));
  }
  PK(hls_mp_pack_kv_str(pk, "region", p->region ? p->region : ""));
  PK(hls_mp_pack_kv_str(pk, "from", from));
  PK(hls_mp_pack_kv_str(pk, "to", to));
  PK(hls_mp_pack_kv_i64(pk, "weeks", (int64_t)p->week_to - p->week_from + 1));
  PK(hls_mp_pack_kv_bool(pk, "live", p->live));
  PK(pack_kv_f(pk, "strength", p->strength));
  PK(pack_kv_p(pk, "p", p->p));
  PK(pack_kv_p(pk, "p_now", p->p_now));
  PK(hls_mp_pack_kv_str(pk, "score_name", score_name(p->signal)));
  PK(pack_kv_f(pk, "score", p->score));
  PK(hls_mp_pack_kv_str(pk, "score2_name", score2_name(p->signal)));
  PK(pack_kv_f(pk, "score2", p->score2));
  PK(hls_patternsd__pack_count(pk, p->lo, p->hi));
  PK(pack_kv_f(pk, "expected", p->expected));
  PK(pack_kv_f(pk, "withheld", p->withheld));
  PK(pack_kv_f(pk, "withheld_share", p->expected > 0 ? p->withheld / p->expected : 0));
  PK(hls_mp_pack_cstr(pk, "scales"));
  PK(hls_patternsd__pack_scales(pk, p->scales));
  PK(hls_mp_pack_kv_i64(pk, "n_places", (int64_t)p->n_places));
  PK(hls_mp_pack_cstr(pk, "places"));
  PK(msgpack_pack_array(pk, p->n_places));
  for (size_t i = 0; i < p->n_places; i++) {
    char label[LABEL];
    PK(hls_mp_pack_cstr(pk, hls_patternsd__dir_label(pd, order[i], label, sizeof label)));
  }
  PK(hls_mp_pack_cstr(pk, "regions"));
  PK(pack_regions(pk, regions, n_regions));
  PK(hls_mp_pack_kv_i64(pk, "stories", (int64_t)p->n_stories));
  PK(pack_method(pk, &pd->params, p->signal));
  return 0;
}

/* --- writing ---------------------------------------------------------------------------- */

/* A core pattern as the columns and summary the store keeps. */
struct built {
  struct hls_patrow row;
  msgpack_sbuffer sb;
  char *regions, *places; /* owned: '\n'-terminated lines */
  uint8_t *origins;       /* owned: the places' origins, sorted, HLS_KEY_BYTES each */
  size_t n_origins;
};

static int origin_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_KEY_BYTES); }

static int build(struct hls_patternsd *pd, const struct hls_pattern *p, struct built *b) {
  memset(b, 0, sizeof *b);
  msgpack_sbuffer_init(&b->sb);
  size_t n_regions = 0;
  b->regions = regions_of(pd, p, &n_regions);
  if (b->regions == NULL) return HLS_ENOMEM;
  uint32_t *order;
  int rc = hls_patternsd__places_by_label(pd, p, &order);
  if (rc != 0) return rc;
  /* Place names, for --place. */
  size_t len = 1;
  char label[LABEL];
  for (size_t i = 0; i < p->n_places; i++) len += strlen(hls_patternsd__dir_label(pd, order[i], label, sizeof label)) + 1;
  b->places = malloc(len);
  b->origins = malloc((p->n_places ? p->n_places : 1) * HLS_KEY_BYTES);
  if (b->places == NULL || b->origins == NULL) {
    free(order);
    return HLS_ENOMEM;
  }
  size_t at = 0;
  for (size_t i = 0; i < p->n_places; i++) {
    const char *name = hls_patternsd__dir_label(pd, order[i], label, sizeof label);
    size_t l = strlen(name);
    memcpy(b->places + at, name, l);
    at += l;
    b->places[at++] = '\n';
    struct hls_pat_place_info pi;
    if (hls_patterns_place_info(pd->pt, p->places[i], &pi) == 0)
      memcpy(b->origins + b->n_origins++ * HLS_KEY_BYTES, pi.origin, HLS_KEY_BYTES);
  }
  b->places[at] = '\0';
  qsort(b->origins, b->n_origins, HLS_KEY_BYTES, origin_cmp);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
  rc = pack_summary(pd, &pk, p, b->regions, n_regions, order);
  free(order);
  if (rc != 0) return rc;
  struct hls_patrow *r = &b->row;
  r->signal = p->signal;
  if (hls_patterns_theme_info(pd->pt, p->theme, &r->theme, &r->kind) != 0) return HLS_EINTERNAL;
  if (p->theme2 != HLS_PAT_NONE && hls_patterns_theme_info(pd->pt, p->theme2, &r->theme2, &r->kind2) != 0)
    return HLS_EINTERNAL;
  r->week_from = p->week_from;
  r->week_to = p->week_to;
  r->n_places = (int64_t)p->n_places;
  r->scales = p->scales;
  r->regions = b->regions;
  /* As the summary shows it, so that --min-strength X keeps a pattern
   * shown with strength X. */
  r->strength = isfinite(p->strength) ? (double)llround(p->strength * 1000.0) / 1000.0 : 0;
  r->live = p->live;
  r->region = p->region ? p->region : "";
  r->places = b->places;
  r->summary = b->sb.data;
  r->summary_len = b->sb.size;
  return 0;
}

static void built_free(struct built *b) {
  msgpack_sbuffer_destroy(&b->sb);
  free(b->regions);
  free(b->places);
  free(b->origins);
}

/* An event: the change and the pattern as it is now (for a retraction, as
 * it last held), with the latest week of digests held. */
static int write_event(struct hls_patternsd *pd, const uint8_t id[HLS_PAT_ID_BYTES], int change, const struct hls_patrow *r,
                       int64_t now, struct hls_why *why) {
  int rc = hls_patstore_add_event(pd->ps, id, change, r, pd->latest_week != NO_WEEK ? &pd->latest_week : NULL, now, why);
  if (rc == 0) pd->events++;
  return rc;
}

static int write_row(struct hls_patternsd *pd, const struct hls_pattern *p, const struct built *b, int64_t now,
                     struct hls_why *why) {
  return hls_patstore_upsert(pd->ps, p, &b->row, b->origins, b->n_origins, now, why);
}

static int write_retract(struct hls_patternsd *pd, const uint8_t id[HLS_PAT_ID_BYTES], int64_t now,
                         struct hls_why *why) {
  return hls_patstore_retract(pd->ps, id, now, why);
}

struct change_ctx {
  struct hls_patternsd *pd;
  int64_t now;
  struct hls_why *why;
};

/* hls_patterns_update's callback: one change, written as the pattern's
 * row and, but for a quiet update, an event. */
static int on_change(void *ctx, int change, const struct hls_pattern *p) {
  struct change_ctx *cc = ctx;
  struct built b;
  int rc = build(cc->pd, p, &b);
  if (rc == 0 && change == HLS_PAT_RETRACTED) rc = write_retract(cc->pd, p->id, cc->now, cc->why);
  else if (rc == 0) rc = write_row(cc->pd, p, &b, cc->now, cc->why);
  if (rc == 0 && change != HLS_PAT_UPDATED) rc = write_event(cc->pd, p->id, change, &b.row, cc->now, cc->why);
  built_free(&b);
  return rc;
}

/* The store's patterns that are not retracted, for the full diff. */
struct stored_row {
  uint8_t id[HLS_PAT_ID_BYTES];
  struct hls_patrow row;
  char *theme, *theme2, *regions, *region, *places;
  void *summary;
  uint8_t *origins; /* NULL: written before schema 9 */
  size_t n_origins;
  bool seen;
};

static int stored_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_PAT_ID_BYTES); }

static void stored_free(struct stored_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rows[i].theme);
    free(rows[i].theme2);
    free(rows[i].regions);
    free(rows[i].region);
    free(rows[i].places);
    free(rows[i].summary);
    free(rows[i].origins);
  }
  free(rows);
}

static char *dup_or_null(const char *s, bool *failed) {
  if (s == NULL) return NULL;
  char *d = strdup(s);
  if (d == NULL) *failed = true;
  return d;
}

struct stored_list {
  struct stored_row *rows;
  size_t n, cap;
};

static int add_stored(void *ctx, const struct hls_patstore_live *s) {
  struct stored_list *sl = ctx;
  if (sl->n == sl->cap) {
    sl->cap = sl->cap ? sl->cap * 2 : 256;
    struct stored_row *nr = realloc(sl->rows, sl->cap * sizeof *nr);
    if (nr == NULL) return HLS_ENOMEM;
    sl->rows = nr;
  }
  struct stored_row *l = &sl->rows[sl->n++];
  memset(l, 0, sizeof *l);
  memcpy(l->id, s->id, HLS_PAT_ID_BYTES);
  l->row = s->row;
  bool failed = false;
  l->theme = dup_or_null(l->row.theme, &failed);
  l->theme2 = dup_or_null(l->row.theme2, &failed);
  l->regions = dup_or_null(l->row.regions, &failed);
  l->region = dup_or_null(l->row.region, &failed);
  l->places = dup_or_null(l->row.places, &failed);
  l->summary = malloc(l->row.summary_len ? l->row.summary_len : 1);
  if (s->has_origins) {
    l->origins = malloc(s->origins_len > 0 ? s->origins_len : 1);
    if (l->origins == NULL) failed = true;
    else if (s->origins_len > 0) memcpy(l->origins, s->origins, s->origins_len);
    l->n_origins = s->origins_len / HLS_KEY_BYTES;
  }
  if (failed || l->summary == NULL) return HLS_ENOMEM;
  if (l->row.summary_len) memcpy(l->summary, l->row.summary, l->row.summary_len);
  l->row.theme = l->theme;
  l->row.theme2 = l->theme2;
  l->row.regions = l->regions;
  l->row.region = l->region;
  l->row.places = l->places;
  l->row.summary = l->summary;
  return 0;
}

static int load_stored(struct hls_patternsd *pd, struct stored_row **out, size_t *n_out, struct hls_why *why) {
  struct stored_list sl = {0};
  int rc = hls_patstore_each_live(pd->ps, add_stored, &sl, why);
  if (rc != 0) {
    stored_free(sl.rows, sl.n);
    return rc == HLS_ENOMEM ? hls_patstore_oom(why) : rc;
  }
  if (sl.n > 1) qsort(sl.rows, sl.n, sizeof *sl.rows, stored_cmp);
  *out = sl.rows;
  *n_out = sl.n;
  return 0;
}

/* The change from a stored row to the engine's pattern now, judged as the
 * engine judges its own (patterns.h): ended, new again, joined, left,
 * grew, shrank, else a quiet update. Places are compared by origin (names can change);
 * a row written before schema 9 was a pattern of the old methods: new. */
static int stored_change(const struct stored_row *was, const struct hls_pattern *now, const struct built *b) {
  if (was->origins == NULL) return HLS_PAT_NEW;
  if (was->row.live && !now->live) return HLS_PAT_ENDED;
  if (!was->row.live && now->live) return HLS_PAT_NEW; /* ended, and holds again */
  bool joined = false, left = false;
  size_t i = 0, j = 0;
  while (i < was->n_origins || j < b->n_origins) {
    int c = i == was->n_origins ? 1
            : j == b->n_origins ? -1
                                : memcmp(was->origins + i * HLS_KEY_BYTES, b->origins + j * HLS_KEY_BYTES,
                                         HLS_KEY_BYTES);
    if (c < 0) left = true, i++;
    else if (c > 0) joined = true, j++;
    else i++, j++;
  }
  if (joined) return HLS_PAT_JOINED;
  if (left) return HLS_PAT_LEFT;
  double a = floor(was->row.strength), z = floor(now->strength);
  if (z > a) return HLS_PAT_GREW;
  if (z < a) return HLS_PAT_SHRANK;
  return HLS_PAT_UPDATED;
}

struct diff_ctx {
  struct hls_patternsd *pd;
  struct stored_row *rows;
  size_t n;
  int64_t now;
  struct hls_why *why;
  size_t changes;
};

static int diff_one(void *ctx, const struct hls_pattern *p) {
  struct diff_ctx *d = ctx;
  struct stored_row *l = bsearch(p->id, d->rows, d->n, sizeof *d->rows, stored_cmp);
  struct built b;
  int rc = build(d->pd, p, &b);
  int change = HLS_PAT_NEW;
  if (rc == 0 && l != NULL) {
    l->seen = true;
    if (l->origins != NULL && l->row.summary_len == b.row.summary_len &&
        memcmp(l->row.summary, b.row.summary, b.row.summary_len) == 0) {
      built_free(&b);
      return 0;
    }
    change = stored_change(l, p, &b);
  }
  if (rc == 0) rc = write_row(d->pd, p, &b, d->now, d->why);
  if (rc == 0 && change != HLS_PAT_UPDATED) {
    rc = write_event(d->pd, p->id, change, &b.row, d->now, d->why);
    if (rc == 0) d->changes++;
  }
  built_free(&b);
  return rc;
}

/* Make the store's patterns what the engine holds: one transaction. */
static int sync_all(struct hls_patternsd *pd, size_t *changes, struct hls_why *why) {
  struct diff_ctx d = {.pd = pd, .now = pd->env.now_ms(pd->env.clock), .why = why};
  int rc = hls_store_begin(pd->env.store, why);
  if (rc != 0) return rc;
  rc = load_stored(pd, &d.rows, &d.n, why);
  if (rc == 0) rc = hls_patterns_each(pd->pt, diff_one, &d);
  for (size_t i = 0; rc == 0 && i < d.n; i++) {
    if (d.rows[i].seen) continue;
    rc = write_retract(pd, d.rows[i].id, d.now, why);
    if (rc == 0) rc = write_event(pd, d.rows[i].id, HLS_PAT_RETRACTED, &d.rows[i].row, d.now, why);
    if (rc == 0) d.changes++;
  }
  stored_free(d.rows, d.n);
  if (rc == 0) rc = hls_store_commit(pd->env.store, why);
  if (rc != 0) {
    hls_store_rollback(pd->env.store);
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    return rc;
  }
  if (changes) *changes = d.changes;
  return 0;
}

/* --- flushing ---------------------------------------------------------------------------- */

int hls_patternsd_flush(struct hls_patternsd *pd, struct hls_why *why) {
  if (!pd->resync && !hls_patterns_dirty(pd->pt)) return 0;
  uint64_t t0 = uv_hrtime();
  int rc;
  size_t before = pd->events;
  if (pd->resync) {
    rc = hls_patterns_update(pd->pt, NULL, NULL);
    if (rc == 0) rc = sync_all(pd, NULL, why);
    if (rc == 0) pd->resync = false;
  } else {
    struct change_ctx cc = {.pd = pd, .now = pd->env.now_ms(pd->env.clock), .why = why};
    rc = hls_store_begin(pd->env.store, why);
    if (rc == 0) {
      rc = hls_patterns_update(pd->pt, on_change, &cc);
      if (rc == 0) rc = hls_store_commit(pd->env.store, why);
      if (rc != 0) {
        hls_store_rollback(pd->env.store);
        /* The engine moved on; the store did not: diff it all next time. */
        pd->resync = true;
        pd->events = before;
      }
    }
  }
  pd->last_flush_us = (int64_t)((uv_hrtime() - t0) / 1000);
  pd->flushes++;
  if (rc != 0) {
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    return rc;
  }
  /* every computation, changes or not (debug: what it cost) */
  hls_log_debug("patterns_updated", "events=%zu took_us=%lld", pd->events - before, (long long)pd->last_flush_us);
  if (pd->events != before) hls_feeds_pump_all(pd);
  return 0;
}

static void on_timer(uv_timer_t *t) {
  struct hls_patternsd *pd = t->data;
  struct hls_why why = {{0}};
  if (hls_patternsd_flush(pd, &why) != 0) {
    hls_log_error("patterns_update_failed", "detail=\"%s\" action=retrying", why.text);
    uv_timer_start(&pd->timer, on_timer, 1000, 0);
  }
}

/* Recompute once no new fact came for a quiet spell (FLUSH_DELAY_MS, or
 * as long as the last flush took, up to 1 s), and at most FLUSH_MAX_DELAY_MS
 * (or ten times the last flush, if longer) after the first fact waiting:
 * a burst (a catch-up, an import) is computed on whole batches rather than
 * on each partial state, a steady stream still gets through, and flushing
 * takes at most about a tenth of the time. */
static void schedule(struct hls_patternsd *pd) {
  if (!pd->timer_open) return;
  uint64_t now = uv_now(pd->env.loop);
  uint64_t last_ms = (uint64_t)pd->last_flush_us / 1000;
  uint64_t quiet = last_ms < FLUSH_DELAY_MS ? FLUSH_DELAY_MS : last_ms > 1000 ? 1000 : last_ms;
  uint64_t cap = 10 * last_ms > FLUSH_MAX_DELAY_MS ? 10 * last_ms : FLUSH_MAX_DELAY_MS;
  if (!uv_is_active((uv_handle_t *)&pd->timer)) pd->first_pending = now;
  else if (now - pd->first_pending + quiet >= cap) return;
  uv_timer_start(&pd->timer, on_timer, quiet, 0);
}

/* --- facts ------------------------------------------------------------------------------- */

/* Digests are published in or after their week; one dated far ahead or
 * far back (a wrong clock at its place) is left out rather than letting it
 * stretch every theme's series (HLS_PAT_MAX_SPAN_WEEKS). */
static bool week_plausible(const struct hls_patternsd *pd, int iso_year, int iso_week) {
  int32_t week;
  if (hls_patterns_week(iso_year, iso_week, &week) != 0) return false;
  return week <= pd->now_week + 1 && week > pd->now_week - HLS_PAT_MAX_SPAN_WEEKS / 2;
}

/* This week's number, read from the clock once per batch of facts (at
 * start: once for every held item), not once per digest. */
static void refresh_now_week(struct hls_patternsd *pd) {
  int y, w;
  hls_iso_week(pd->env.today(pd->env.clock), &y, &w);
  if (hls_patterns_week(y, w, &pd->now_week) != 0) pd->now_week = 0;
}

static int feed_body(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body,
                     size_t len) {
  struct hls_why why = {{0}};
  int rc = 0;
  switch (type) {
  case HLS_ENV_PROFILE: {
    struct hls_profile p;
    if ((rc = hls_profile_decode(&p, body, len, &why)) == 0) rc = hls_patterns_place(pd->pt, origin, p.place, p.region);
    pd->dir.stale = true; /* a name or region may have changed */
    break;
  }
  case HLS_ENV_DIGEST: {
    struct hls_digest d;
    if ((rc = hls_digest_decode(&d, body, len, &why)) == 0) {
      if (!week_plausible(pd, d.iso_year, d.iso_week)) {
        rc = hls_why_set(&why, HLS_ELIMIT, "digest of %d-W%02d: more than a week ahead or %d weeks back; left out "
                         "of patterns", d.iso_year, d.iso_week, HLS_PAT_MAX_SPAN_WEEKS);
      } else {
        rc = hls_patterns_digest(pd->pt, origin, seq, &d);
        int32_t week;
        if (rc == 0 && hls_patterns_week(d.iso_year, d.iso_week, &week) == 0 &&
            (pd->latest_week == NO_WEEK || week > pd->latest_week))
          pd->latest_week = week;
        if (rc == HLS_ELIMIT) hls_why_set(&why, rc, "digests would span over %d weeks; left out of patterns",
                                          HLS_PAT_MAX_SPAN_WEEKS);
      }
      hls_digest_free(&d);
    }
    break;
  }
  case HLS_ENV_STORY: {
    struct hls_story s;
    if ((rc = hls_story_decode(&s, body, len, &why)) == 0) {
      rc = hls_patterns_story(pd->pt, origin, seq, &s);
      hls_story_free(&s);
    }
    break;
  }
  case HLS_ENV_TOMBSTONE: {
    struct hls_tombstone t;
    if ((rc = hls_tombstone_decode(&t, body, len, &why)) == 0) rc = hls_patterns_erase(pd->pt, origin, t.target_seq);
    break;
  }
  default: break;
  }
  if (rc != 0) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(origin, id);
    if (rc == HLS_ELIMIT)
      hls_log_warn("patterns_input_ignored", "origin=%s seq=%llu detail=\"%s\"", id, (unsigned long long)seq, why.text);
    else
      hls_log_error("patterns_input_failed", "origin=%s seq=%llu error=%s detail=\"%s\"", id,
                    (unsigned long long)seq, hls_err_name(rc), why.text);
    if (rc == HLS_ENOMEM) pd->resync = true;
  }
  return rc;
}

void hls_patternsd_item(struct hls_patternsd *pd, const struct hls_envelope *env) {
  if (pd == NULL || env->body == NULL) return;
  refresh_now_week(pd);
  (void)feed_body(pd, env->h.origin, env->h.seq, env->h.type, env->body, env->body_len);
  schedule(pd);
}

void hls_patternsd_erased(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq) {
  if (pd == NULL) return;
  if (hls_patterns_erase(pd->pt, origin, seq) != 0) pd->resync = true;
  schedule(pd);
}

/* --- start / stop ------------------------------------------------------------------------ */

struct load_ctx {
  struct hls_patternsd *pd;
  size_t n_items;
  bool out_of_memory;
};

static int load_item(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body, size_t len) {
  struct load_ctx *lc = ctx;
  /* A body that does not decode was checked when stored: only a damaged
   * store gets here, and feed_body logs it. */
  if (feed_body(lc->pd, origin, seq, type, body, len) == HLS_ENOMEM) {
    lc->out_of_memory = true;
    return HLS_ENOMEM;
  }
  lc->n_items++;
  return 0;
}

static int load_items(struct hls_patternsd *pd, size_t *n_items, struct hls_why *why) {
  struct load_ctx lc = {.pd = pd};
  refresh_now_week(pd);
  int rc = hls_patstore_each_item(pd->ps, load_item, &lc, why);
  *n_items = lc.n_items;
  if (lc.out_of_memory) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory loading items");
  return rc;
}

int hls_patternsd_start(struct hls_patternsd **out, const struct hls_patternsd_env *env, struct hls_why *why) {
  *out = NULL;
  struct hls_patternsd *pd = calloc(1, sizeof *pd);
  if (pd == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  pd->env = *env;
  pd->params = *env->params; /* checked with the configuration (hls_config_check) */
  pd->latest_week = NO_WEEK;
  int rc = hls_patterns_new(&pd->pt, &pd->params, why);
  if (rc == 0) rc = hls_patstore_open(&pd->ps, hls_store_db(env->store), why);
  uint64_t t0 = uv_hrtime();
  size_t n_items = 0, changes = 0;
  if (rc == 0) rc = load_items(pd, &n_items, why);
  uint64_t t1 = uv_hrtime();
  if (rc == 0) rc = hls_patterns_update(pd->pt, NULL, NULL);
  uint64_t t2 = uv_hrtime();
  if (rc == 0) rc = sync_all(pd, &changes, why);
  uint64_t t3 = uv_hrtime();
  if (rc != 0) {
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    hls_patternsd_close(pd);
    return rc;
  }
  uv_timer_init(env->loop, &pd->timer);
  uv_timer_init(env->loop, &pd->pump_timer);
  pd->timer.data = pd->pump_timer.data = pd;
  pd->timer_open = true;
  struct hls_pat_stats s;
  hls_patterns_stats(pd->pt, &s);
  hls_log_info("patterns_ready",
               "items=%zu places=%zu digests=%zu stories=%zu patterns=%zu events=%zu load_ms=%.1f compute_ms=%.1f "
               "store_ms=%.1f",
               n_items, s.places, s.digests, s.stories, s.patterns, changes, (double)(t1 - t0) / 1e6,
               (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6);
  *out = pd;
  return 0;
}

static void timer_closed(uv_handle_t *h) {
  struct hls_patternsd *pd = h->data;
  if (--pd->open_timers == 0) free(pd);
}

void hls_patternsd_close(struct hls_patternsd *pd) {
  if (pd == NULL) return;
  hls_feeds_free_followers(pd);
  hls_patstore_free(pd->ps);
  hls_patterns_free(pd->pt);
  placedir_free(&pd->dir);
  if (pd->timer_open) {
    pd->timer_open = false;
    pd->open_timers = 2;
    uv_close((uv_handle_t *)&pd->timer, timer_closed);
    uv_close((uv_handle_t *)&pd->pump_timer, timer_closed);
    return;
  }
  free(pd);
}

/* --- for the control commands (patapi.c, feeds.c) -------------------------------------------- */

int hls_patternsd__write_raw(msgpack_packer *pk, const void *data, size_t len) {
  return pk->callback(pk->data, data, len) == 0 ? 0 : HLS_ENOMEM;
}

/* Place filter values that are node ids become their place's name (as
 * patterns carry it). must_exist: a value that names no place is
 * not_found (a listing; a feed may name a place that joins later). */
int hls_patternsd__filter_resolve_places(struct hls_patternsd *pd, struct hls_patfilter *f, bool must_exist, struct hls_why *why) {
  if (f->n_places == 0) return 0;
  if (hls_patternsd__placedir_ensure(pd) != 0) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  for (size_t i = 0; i < f->n_places; i++) {
    uint8_t pk[HLS_NODEID_BYTES];
    bool found = false;
    if (f->places[i][0] == '@' && hls_nodeid_parse(f->places[i], pk) == 0) {
      struct hls_pat_place_info pi;
      for (uint32_t k = 0; !found && hls_patterns_place_info(pd->pt, k, &pi) == 0; k++)
        if (memcmp(pi.origin, pk, HLS_NODEID_BYTES) == 0) {
          snprintf(f->places[i], sizeof f->places[i], "%s", pd->dir.label[k]);
          found = true;
        }
    } else {
      for (size_t k = 0; !found && k < pd->dir.n; k++) found = hls_patfilter_name_eq(f->places[i], strlen(f->places[i]), pd->dir.label[k]);
    }
    if (!found && must_exist)
      return hls_why_set(why, HLS_ENOTFOUND, "place: no place \"%s\" is known here (hls places lists them)",
                         f->places[i]);
  }
  return 0;
}

int hls_patternsd_pack_status(struct hls_patternsd *pd, msgpack_packer *pk) {
  int64_t by[HLS_PAT_SIGNAL_COUNT], live = 0, ended = 0;
  struct hls_why ignore = {{0}};
  if (hls_patstore_count(pd->ps, by, &live, &ended, &ignore) != 0) live = ended = 0;
  int64_t events = 0;
  (void)hls_patstore_last_event(pd->ps, &events, &ignore);
  size_t followers = hls_feeds_count_followers(pd);
  char lt[9] = "";
  if (pd->latest_week != NO_WEEK) hls_patternsd__week_text(pd->latest_week, lt);
  if (msgpack_pack_map(pk, 7) != 0 || hls_mp_pack_kv_i64(pk, "live", live) != 0 ||
      hls_mp_pack_kv_i64(pk, "ended", ended) != 0 || hls_mp_pack_cstr(pk, "by_signal") != 0 ||
      msgpack_pack_map(pk, HLS_PAT_SIGNAL_COUNT) != 0)
    return HLS_ENOMEM;
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++)
    if (hls_mp_pack_kv_i64(pk, hls_pat_signal_name(s), by[s]) != 0) return HLS_ENOMEM;
  if (hls_mp_pack_kv_i64(pk, "last_event", events) != 0 || hls_mp_pack_kv_i64(pk, "followers", (int64_t)followers) != 0 ||
      hls_mp_pack_kv_i64(pk, "last_update_us", pd->last_flush_us) != 0 ||
      hls_mp_pack_kv_str(pk, "latest_week", lt[0] ? lt : NULL) != 0)
    return HLS_ENOMEM;
  return 0;
}
