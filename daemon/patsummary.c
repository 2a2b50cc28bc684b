/* The place list and the summaries of the pattern host (patsummary.h). */
#include "patsummary.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "mp.h"
#include "nodeid.h"
#include "record.h"

/* Place labels and regions, computed once for all places (not for each
 * pattern: a pattern can name a thousand places): labels in byte order
 * (rank), regions numbered in byte order. Rebuilt when a profile arrives
 * or a new place appears. */
struct placedir {
  size_t n;
  char (*label)[HLS_PATSUMMARY_LABEL];
  uint32_t *rank;   /* [n]: the place's position by label */
  uint32_t *region; /* [n]: its region's number, UINT32_MAX if none */
  size_t n_regions;
  char **region_name; /* [n_regions], sorted */
  uint32_t *seen;     /* [n_regions]: stamps */
  uint32_t stamp;
  bool stale;
};

struct hls_patsummary {
  const struct hls_patterns *pt;       /* borrowed */
  const struct hls_pat_params *params; /* borrowed */
  struct placedir dir;
};

void hls_patsummary_place_label(struct hls_patsummary *s, uint32_t place, char *out, size_t size) {
  struct hls_pat_place_info pi;
  if (hls_patterns_place_info(s->pt, place, &pi) != 0) {
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

void hls_patsummary_week_text(int32_t week, char out[9]) {
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
                          "predict and more than before"),
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
void hls_patsummary_method_text(const struct hls_pat_params *p, int signal, const char *region, char *out, size_t size) {
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
                 "windows of %d weeks, against what each place's own frequency of each theme predicts in its busier "
                 "and in its quieter weeks (an exact Mantel-Haenszel test), and asks that this excess be larger "
                 "than in the place's weeks of some months before (at least %d such place-weeks at %d places). It "
                 "goes on while the next windows keep the association.",
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

int hls_patsummary_pack_count(msgpack_packer *pk, uint64_t lo, uint64_t hi) {
  char text[48];
  if (lo == hi) snprintf(text, sizeof text, "%llu", (unsigned long long)lo);
  else snprintf(text, sizeof text, "%llu-%llu", (unsigned long long)lo, (unsigned long long)hi);
  PK(hls_mp_pack_kv_i64(pk, "count_min", (int64_t)lo));
  PK(hls_mp_pack_kv_i64(pk, "count_max", (int64_t)hi));
  PK(hls_mp_pack_kv_str(pk, "count", text));
  return 0;
}

int hls_patsummary_pack_scales(msgpack_packer *pk, unsigned scales) {
  PK(msgpack_pack_array(pk, (size_t)__builtin_popcount(scales)));
  for (int s = 0; s < HLS_SCALE_COUNT; s++)
    if (scales & (1u << s)) PK(hls_mp_pack_cstr(pk, hls_scale_name((enum hls_scale)s)));
  return 0;
}

static void placedir_free(struct placedir *d) {
  for (size_t i = 0; i < d->n_regions; i++) free(d->region_name[i]);
  free(d->label);
  free(d->rank);
  free(d->region);
  free(d->region_name);
  free(d->seen);
  memset(d, 0, sizeof *d);
}

int hls_patsummary_new(struct hls_patsummary **out, const struct hls_patterns *pt, const struct hls_pat_params *params) {
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return HLS_ENOMEM;
  (*out)->pt = pt;
  (*out)->params = params;
  return 0;
}

void hls_patsummary_free(struct hls_patsummary *s) {
  if (s == NULL) return;
  placedir_free(&s->dir);
  free(s);
}

void hls_patsummary_places_changed(struct hls_patsummary *s) { s->dir.stale = true; }

void hls_patsummary_set_engine(struct hls_patsummary *s, const struct hls_patterns *pt) {
  s->pt = pt;
  s->dir.stale = true;
}

static const char *sort_labels_base;
static int by_label(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return strcmp(sort_labels_base + (size_t)x * HLS_PATSUMMARY_LABEL,
                sort_labels_base + (size_t)y * HLS_PATSUMMARY_LABEL);
}
static int cstr_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int placedir_ensure(struct hls_patsummary *s) {
  struct placedir *d = &s->dir;
  struct hls_pat_place_info pi;
  if (!d->stale && hls_patterns_place_info(s->pt, (uint32_t)d->n, &pi) != 0) return 0;
  placedir_free(d);
  size_t n = 0;
  while (hls_patterns_place_info(s->pt, (uint32_t)n, &pi) == 0) n++;
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
    hls_patsummary_place_label(s, (uint32_t)i, d->label[i], HLS_PATSUMMARY_LABEL);
    order[i] = (uint32_t)i;
  }
  sort_labels_base = (const char *)d->label; /* event-loop thread only */
  qsort(order, n, sizeof *order, by_label);
  for (size_t k = 0; k < n; k++) d->rank[order[k]] = (uint32_t)k;
  free(order);
  /* Distinct regions, sorted, then each place's number. */
  for (size_t i = 0; i < n; i++) {
    d->region[i] = UINT32_MAX;
    if (hls_patterns_place_info(s->pt, (uint32_t)i, &pi) != 0 || pi.region[0] == '\0') continue;
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
    if (hls_patterns_place_info(s->pt, (uint32_t)i, &pi) != 0 || pi.region[0] == '\0') continue;
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

/* A place's label (the list brought up to date first). */
const char *hls_patsummary_dir_label(struct hls_patsummary *s, uint32_t place, char *buf, size_t size) {
  if (place < s->dir.n) return s->dir.label[place];
  hls_patsummary_place_label(s, place, buf, size);
  return buf;
}

/* The distinct regions of a pattern's places, sorted, each followed by
 * '\n'. */
char *hls_patsummary_regions(struct hls_patsummary *s, const struct hls_pattern *p, size_t *count) {
  struct placedir *d = &s->dir;
  if (placedir_ensure(s) != 0) return NULL;
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

void hls_patsummary_id_hex(const uint8_t id[HLS_PAT_ID_BYTES], char out[2 * HLS_PAT_ID_BYTES + 1]) {
  sodium_bin2hex(out, 2 * HLS_PAT_ID_BYTES + 1, id, HLS_PAT_ID_BYTES);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The pattern's places in the order of their labels (placedir ranks):
 * *out (owned by the caller) holds engine place numbers. */
int hls_patsummary_places_by_label(struct hls_patsummary *s, const struct hls_pattern *p, uint32_t **out) {
  struct placedir *d = &s->dir;
  *out = NULL;
  if (placedir_ensure(s) != 0) return HLS_ENOMEM;
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
int hls_patsummary_pack(struct hls_patsummary *s, msgpack_packer *pk, const struct hls_pattern *p, const char *regions,
                        size_t n_regions, const uint32_t *order) {
  const char *theme, *theme2 = NULL;
  int kind, kind2 = 0;
  if (hls_patterns_theme_info(s->pt, p->theme, &theme, &kind) != 0) return HLS_EINTERNAL;
  if (p->theme2 != HLS_PAT_NONE && hls_patterns_theme_info(s->pt, p->theme2, &theme2, &kind2) != 0)
    return HLS_EINTERNAL;
  char idtext[2 * HLS_PAT_ID_BYTES + 1], from[9], to[9];
  hls_patsummary_id_hex(p->id, idtext);
  hls_patsummary_week_text(p->week_from, from);
  hls_patsummary_week_text(p->week_to, to);
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
  PK(hls_patsummary_pack_count(pk, p->lo, p->hi));
  PK(pack_kv_f(pk, "expected", p->expected));
  PK(pack_kv_f(pk, "withheld", p->withheld));
  PK(pack_kv_f(pk, "withheld_share", p->expected > 0 ? p->withheld / p->expected : 0));
  PK(hls_mp_pack_cstr(pk, "scales"));
  PK(hls_patsummary_pack_scales(pk, p->scales));
  PK(hls_mp_pack_kv_i64(pk, "n_places", (int64_t)p->n_places));
  PK(hls_mp_pack_cstr(pk, "places"));
  PK(msgpack_pack_array(pk, p->n_places));
  for (size_t i = 0; i < p->n_places; i++) {
    char label[HLS_PATSUMMARY_LABEL];
    PK(hls_mp_pack_cstr(pk, hls_patsummary_dir_label(s, order[i], label, sizeof label)));
  }
  PK(hls_mp_pack_cstr(pk, "regions"));
  PK(pack_regions(pk, regions, n_regions));
  PK(hls_mp_pack_kv_i64(pk, "stories", (int64_t)p->n_stories));
  PK(pack_method(pk, s->params, p->signal));
  return 0;
}

int hls_patsummary_write_raw(msgpack_packer *pk, const void *data, size_t len) {
  return pk->callback(pk->data, data, len) == 0 ? 0 : HLS_ENOMEM;
}

/* Place filter values that are node ids become their place's name (as
 * patterns carry it). must_exist: a value that names no place is
 * not_found (a listing; a feed may name a place that joins later). */
int hls_patsummary_filter_resolve_places(struct hls_patsummary *s, struct hls_patfilter *f, bool must_exist, struct hls_why *why) {
  if (f->n_places == 0) return 0;
  if (placedir_ensure(s) != 0) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  for (size_t i = 0; i < f->n_places; i++) {
    uint8_t pk[HLS_NODEID_BYTES];
    bool found = false;
    if (f->places[i][0] == '@' && hls_nodeid_parse(f->places[i], pk) == 0) {
      struct hls_pat_place_info pi;
      for (uint32_t k = 0; !found && hls_patterns_place_info(s->pt, k, &pi) == 0; k++)
        if (memcmp(pi.origin, pk, HLS_NODEID_BYTES) == 0) {
          snprintf(f->places[i], sizeof f->places[i], "%s", s->dir.label[k]);
          found = true;
        }
    } else {
      for (size_t k = 0; !found && k < s->dir.n; k++) found = hls_patfilter_name_eq(f->places[i], strlen(f->places[i]), s->dir.label[k]);
    }
    if (!found && must_exist)
      return hls_why_set(why, HLS_ENOTFOUND, "place: no place \"%s\" is known here (hls places lists them)",
                         f->places[i]);
  }
  return 0;
}
