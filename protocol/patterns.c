/* Cross-place patterns: see patterns.h and docs/patterns.md.
 *
 * State. Each (place, week) holds at most one digest: a unit with its cells
 * folded per theme key. Each theme keeps, per week, a bucket of copies of
 * its cells (one per place), and the stories that name it. Each fixed
 * window keeps its units. Giving a fact marks the themes (and the window)
 * it touches dirty; hls_patterns_update recomputes the dirty themes'
 * single-theme signals from their buckets and the dirty windows' pairs
 * from their units, and diffs the result against the patterns held by id
 * and fingerprint. */
#include "patterns.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "date.h"
#include "record.h"

#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(obj) oom_flag = true
static _Thread_local bool oom_flag;

/* --- parameters ------------------------------------------------------------------------ */

static const char *const signal_names[HLS_PAT_SIGNAL_COUNT] = {"spread", "emerging", "rising", "together",
                                                                "cross-scale"};

const char *hls_pat_signal_name(int signal) {
  return signal >= 0 && signal < HLS_PAT_SIGNAL_COUNT ? signal_names[signal] : "unknown";
}

int hls_pat_signal_parse(const char *name, int *signal) {
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++)
    if (strcmp(name, signal_names[i]) == 0) {
      *signal = i;
      return 0;
    }
  return HLS_EINVAL;
}

const char *hls_pat_change_name(int change) {
  switch (change) {
  case HLS_PAT_NEW: return "new";
  case HLS_PAT_UPDATED: return "updated";
  case HLS_PAT_RETRACTED: return "retracted";
  default: return "unknown";
  }
}

void hls_pat_params_default(struct hls_pat_params *p) {
  *p = (struct hls_pat_params){
      .window_weeks = 8,
      .spread_min_places = 3,
      .ears_baseline = 7,
      .ears_guard = 2,
      .ears_threshold = 3.0,
      .ears_min_sigma = 0.5,
      .ears_min_count = 3,
      .ears_min_places = 2,
      .cusum_ref_weeks = 26,
      .cusum_min_ref = 13,
      .cusum_k = 1.0,
      .cusum_h = 5.0,
      .cusum_winsor = 2.0,
      .cusum_min_mean = 0.5,
      .cusum_min_places = 2,
      .together_min_count = 3,
      .together_min_places = 3,
      .together_min_g2 = 3.84,
      .together_min_npmi = 0.4,
      .cross_min_scales = 2,
      .cross_min_places = 2,
  };
}

#define CHECK_RANGE(field, lo, hi)                                                                          \
  do {                                                                                                      \
    if (!(p->field >= (lo) && p->field <= (hi)))                                                            \
      return hls_why_set(why, HLS_EINVAL, "patterns: %s must be in %g..%g", #field, (double)(lo), (double)(hi)); \
  } while (0)

int hls_pat_params_check(const struct hls_pat_params *p, struct hls_why *why) {
  CHECK_RANGE(window_weeks, 1, 104);
  CHECK_RANGE(spread_min_places, 1, 1000000);
  CHECK_RANGE(ears_baseline, 2, 104);
  CHECK_RANGE(ears_guard, 0, 52);
  CHECK_RANGE(ears_threshold, 0.0, 100.0);
  CHECK_RANGE(ears_min_sigma, 0.01, 1e6);
  CHECK_RANGE(ears_min_count, 1, 1000000000);
  CHECK_RANGE(ears_min_places, 1, 1000000);
  CHECK_RANGE(cusum_ref_weeks, 2, 520);
  CHECK_RANGE(cusum_min_ref, 2, p->cusum_ref_weeks);
  CHECK_RANGE(cusum_k, 0.0, 100.0);
  CHECK_RANGE(cusum_h, 0.01, 1000.0);
  CHECK_RANGE(cusum_winsor, 0.01, 1000.0);
  CHECK_RANGE(cusum_min_mean, 0.01, 1e6);
  CHECK_RANGE(cusum_min_places, 1, 1000000);
  CHECK_RANGE(together_min_count, 1, 1000000000);
  CHECK_RANGE(together_min_places, 1, 1000000);
  CHECK_RANGE(together_min_g2, 0.0, 1e9);
  CHECK_RANGE(together_min_npmi, -1.0, 1.0);
  CHECK_RANGE(cross_min_scales, 2, HLS_SCALE_COUNT);
  CHECK_RANGE(cross_min_places, 1, 1000000);
  return 0;
}

/* --- weeks ------------------------------------------------------------------------------ */

/* Day 0 (1970-01-01) is a Thursday: Monday d has (d + 3) divisible by 7. */
int hls_patterns_week(int iso_year, int iso_week, int32_t *out) {
  hls_day monday;
  if (hls_iso_week_monday(iso_year, iso_week, &monday) != 0) return HLS_EINVAL;
  int64_t d = (int64_t)monday + 3;
  *out = (int32_t)(d >= 0 ? d / 7 : -((-d + 6) / 7));
  return 0;
}

void hls_patterns_iso_week(int32_t week, int *iso_year, int *iso_week) {
  hls_iso_week((hls_day)((int64_t)week * 7 - 3), iso_year, iso_week);
}

static int32_t floor_div(int32_t a, int32_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* --- state ------------------------------------------------------------------------------ */

struct cell {
  uint32_t theme;
  uint32_t lo, hi;
  uint8_t scales;
  bool withheld;
};

struct cref { /* a place's cell of one theme in one week */
  uint32_t place;
  uint32_t lo, hi;
  uint64_t seq;
  uint8_t scales;
  bool withheld;
};

struct bucket {
  int32_t week;
  size_t n, cap;
  struct cref *refs;
  UT_hash_handle hh;
};

struct story {
  struct {
    uint32_t place, pad;
    uint64_t seq;
  } key;
  int32_t week;
  char title[HLS_TITLE_MAX + 1];
  size_t n_themes;
  uint32_t themes[HLS_THEMES_PER_RECORD];
  UT_hash_handle hh;
};

struct pat;

struct theme {
  char key[HLS_THEME_MAX + 3]; /* "K:name", K the kind digit */
  uint32_t ix;
  int kind;
  const char *name; /* into key */
  struct bucket *weeks; /* by week */
  struct story **stories;
  size_t n_stories, cap_stories;
  struct pat **pats; /* its single-theme patterns */
  size_t n_pats, cap_pats;
  bool dirty;
  bool open_rise; /* its CUSUM was above 0 at the last week held */
  UT_hash_handle hh;
};

struct unit {
  uint64_t key; /* place << 32 | (uint32_t)week */
  uint32_t place;
  int32_t week;
  uint64_t seq;
  bool erased; /* the newest digest was erased: no cells, older ones stay out */
  size_t n;
  struct cell *cells; /* sorted by theme */
  size_t win_pos;     /* index in its window's units, if in_window */
  bool in_window;
  UT_hash_handle hh;
};

struct dseq { /* a digest's (place, seq) -> its week, for erasure */
  struct {
    uint32_t place, pad;
    uint64_t seq;
  } key;
  int32_t week;
  UT_hash_handle hh;
};

struct window {
  int32_t k;
  struct unit **units;
  size_t n, cap;
  struct pat **pats; /* its together patterns */
  size_t n_pats, cap_pats;
  bool dirty;
  UT_hash_handle hh;
};

struct place {
  uint8_t origin[HLS_KEY_BYTES];
  uint32_t ix;
  char name[HLS_PLACE_MAX + 1];
  char region[HLS_REGION_MAX + 1];
  uint32_t version; /* bumped by every rename */
  size_t facts;     /* digest weeks and stories ever given */
  UT_hash_handle hh;
};

struct pat {
  struct hls_pattern p;
  uint8_t fp[16];
  uint32_t gen;
  UT_hash_handle hh;
};

struct hls_patterns {
  struct hls_pat_params prm;
  struct place *places_by_origin;
  struct place **places;
  size_t n_places, cap_places;
  struct theme *themes_by_key;
  struct theme **themes;
  size_t n_themes, cap_themes;
  struct unit *units;
  struct dseq *dseqs;
  struct story *stories;
  struct window *windows;
  struct pat *pats;
  size_t n_digests;
  bool have_weeks;
  int32_t gmin, gmax;
  struct theme **dirty_themes;
  size_t n_dirty_themes, cap_dirty_themes;
  struct window **dirty_windows;
  size_t n_dirty_windows, cap_dirty_windows;
  uint32_t gen;
  /* scratch */
  uint32_t *mark; /* per place: stamp */
  uint32_t stamp;
  uint32_t *scratch_places;
};

static bool grow(void **arr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * size);
  if (p == NULL) return false;
  *arr = p;
  *cap = c;
  return true;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

int hls_patterns_new(struct hls_patterns **out, const struct hls_pat_params *params, struct hls_why *why) {
  struct hls_pat_params def;
  if (params == NULL) {
    hls_pat_params_default(&def);
    params = &def;
  }
  int rc = hls_pat_params_check(params, why);
  if (rc != 0) return rc;
  if (sodium_init() < 0) return hls_why_set(why, HLS_EINTERNAL, "patterns: libsodium failed to start");
  struct hls_patterns *pt = calloc(1, sizeof *pt);
  if (pt == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  pt->prm = *params;
  *out = pt;
  return 0;
}

static void pat_free(struct pat *p) {
  if (p == NULL) return;
  free(p->p.places);
  free(p);
}

void hls_patterns_free(struct hls_patterns *pt) {
  if (pt == NULL) return;
  struct pat *p, *ptmp;
  HASH_ITER(hh, pt->pats, p, ptmp) {
    HASH_DEL(pt->pats, p);
    pat_free(p);
  }
  struct unit *u, *utmp;
  HASH_ITER(hh, pt->units, u, utmp) {
    HASH_DEL(pt->units, u);
    free(u->cells);
    free(u);
  }
  struct dseq *d, *dtmp;
  HASH_ITER(hh, pt->dseqs, d, dtmp) {
    HASH_DEL(pt->dseqs, d);
    free(d);
  }
  struct story *s, *stmp;
  HASH_ITER(hh, pt->stories, s, stmp) {
    HASH_DEL(pt->stories, s);
    free(s);
  }
  struct window *w, *wtmp;
  HASH_ITER(hh, pt->windows, w, wtmp) {
    HASH_DEL(pt->windows, w);
    free(w->units);
    free(w->pats);
    free(w);
  }
  HASH_CLEAR(hh, pt->themes_by_key);
  for (size_t i = 0; i < pt->n_themes; i++) {
    struct theme *t = pt->themes[i];
    struct bucket *b, *btmp;
    HASH_ITER(hh, t->weeks, b, btmp) {
      HASH_DEL(t->weeks, b);
      free(b->refs);
      free(b);
    }
    free(t->stories);
    free(t->pats);
    free(t);
  }
  free(pt->themes);
  HASH_CLEAR(hh, pt->places_by_origin);
  for (size_t i = 0; i < pt->n_places; i++) free(pt->places[i]);
  free(pt->places);
  free(pt->dirty_themes);
  free(pt->dirty_windows);
  free(pt->mark);
  free(pt->scratch_places);
  free(pt);
}

/* --- interning -------------------------------------------------------------------------- */

static struct place *place_get(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES]) {
  struct place *p;
  HASH_FIND(hh, pt->places_by_origin, origin, HLS_KEY_BYTES, p);
  if (p != NULL) return p;
  if (!GROW(pt->places, pt->cap_places, pt->n_places + 1)) return NULL;
  uint32_t *mark = realloc(pt->mark, (pt->n_places + 1) * sizeof *mark);
  if (mark == NULL) return NULL;
  pt->mark = mark;
  mark[pt->n_places] = 0;
  uint32_t *sp = realloc(pt->scratch_places, (pt->n_places + 1) * sizeof *sp);
  if (sp == NULL) return NULL;
  pt->scratch_places = sp;
  p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  memcpy(p->origin, origin, HLS_KEY_BYTES);
  p->ix = (uint32_t)pt->n_places;
  oom_flag = false;
  HASH_ADD(hh, pt->places_by_origin, origin, HLS_KEY_BYTES, p);
  if (oom_flag) {
    free(p);
    return NULL;
  }
  pt->places[pt->n_places++] = p;
  return p;
}

static struct theme *theme_get(struct hls_patterns *pt, const char *name, int kind) {
  char key[HLS_THEME_MAX + 3];
  /* "K:name" built by hand: this runs for every cell of every digest. */
  size_t name_len = strlen(name);
  if (kind < 0 || kind > 9 || name_len > HLS_THEME_MAX) return NULL;
  key[0] = (char)('0' + kind);
  key[1] = ':';
  memcpy(key + 2, name, name_len + 1);
  int len = (int)name_len + 2;
  struct theme *t;
  HASH_FIND(hh, pt->themes_by_key, key, (size_t)len, t);
  if (t != NULL) return t;
  if (!GROW(pt->themes, pt->cap_themes, pt->n_themes + 1)) return NULL;
  t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  memcpy(t->key, key, (size_t)len + 1);
  t->name = t->key + 2;
  t->kind = kind;
  t->ix = (uint32_t)pt->n_themes;
  oom_flag = false;
  HASH_ADD(hh, pt->themes_by_key, key, (size_t)len, t);
  if (oom_flag) {
    free(t);
    return NULL;
  }
  pt->themes[pt->n_themes++] = t;
  return t;
}

static bool mark_theme(struct hls_patterns *pt, struct theme *t) {
  if (t->dirty) return true;
  if (!GROW(pt->dirty_themes, pt->cap_dirty_themes, pt->n_dirty_themes + 1)) return false;
  t->dirty = true;
  pt->dirty_themes[pt->n_dirty_themes++] = t;
  return true;
}

static bool mark_all_themes(struct hls_patterns *pt) {
  for (size_t i = 0; i < pt->n_themes; i++)
    if (!mark_theme(pt, pt->themes[i])) return false;
  return true;
}

static struct window *window_get(struct hls_patterns *pt, int32_t week) {
  int32_t k = floor_div(week, pt->prm.window_weeks);
  struct window *w;
  HASH_FIND(hh, pt->windows, &k, sizeof k, w);
  if (w != NULL) return w;
  w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->k = k;
  oom_flag = false;
  HASH_ADD(hh, pt->windows, k, sizeof k, w);
  if (oom_flag) {
    free(w);
    return NULL;
  }
  return w;
}

static bool mark_window(struct hls_patterns *pt, struct window *w) {
  if (w->dirty) return true;
  if (!GROW(pt->dirty_windows, pt->cap_dirty_windows, pt->n_dirty_windows + 1)) return false;
  w->dirty = true;
  pt->dirty_windows[pt->n_dirty_windows++] = w;
  return true;
}

/* Together patterns count the stories of their window. */
static bool mark_window_of(struct hls_patterns *pt, int32_t week) {
  int32_t k = floor_div(week, pt->prm.window_weeks);
  struct window *w;
  HASH_FIND(hh, pt->windows, &k, sizeof k, w);
  return w == NULL || mark_window(pt, w);
}

int hls_patterns_place(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], const char *name,
                       const char *region) {
  struct place *p = place_get(pt, origin);
  if (p == NULL) return HLS_ENOMEM;
  if (strcmp(p->name, name) == 0 && strcmp(p->region, region) == 0) return 0;
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->region, sizeof p->region, "%s", region);
  p->version++;
  /* A place named before any of its facts (its profile is seq 1) is in no
   * pattern yet: nothing to recompute. */
  if (p->facts == 0) return 0;
  /* Names are not part of the computation, but patterns name their places:
   * recompute those the place is in (its cells' themes and windows, its
   * stories' themes), so the change reaches the feeds. */
  for (struct unit *u = pt->units; u != NULL; u = u->hh.next) {
    if (u->place != p->ix || u->n == 0) continue;
    for (size_t i = 0; i < u->n; i++)
      if (!mark_theme(pt, pt->themes[u->cells[i].theme])) return HLS_ENOMEM;
    struct window *w = window_get(pt, u->week);
    if (w == NULL || !mark_window(pt, w)) return HLS_ENOMEM;
  }
  for (struct story *s = pt->stories; s != NULL; s = s->hh.next) {
    if (s->key.place != p->ix) continue;
    for (size_t i = 0; i < s->n_themes; i++)
      if (!mark_theme(pt, pt->themes[s->themes[i]])) return HLS_ENOMEM;
    if (!mark_window_of(pt, s->week)) return HLS_ENOMEM;
  }
  return 0;
}

/* --- facts ------------------------------------------------------------------------------ */

static bool week_seen(struct hls_patterns *pt, int32_t week) {
  if (!pt->have_weeks) {
    pt->have_weeks = true;
    pt->gmin = pt->gmax = week;
    return mark_all_themes(pt);
  }
  if (week >= pt->gmin && week <= pt->gmax) return true;
  if (week < pt->gmin) {
    /* Earlier weeks now exist for every theme: every baseline moves. */
    pt->gmin = week;
    if (week > pt->gmax) pt->gmax = week;
    return mark_all_themes(pt);
  }
  /* Later weeks: a theme with nothing in them gets zero counts there. Zero
   * weeks raise no emerging alarm (ears_min_count >= 1) and close no
   * pattern differently, and rising can change only where a CUSUM
   * excursion was still open at the old last week (its alarm can go on).
   * Themes with cells in the new week are marked by them. */
  pt->gmax = week;
  for (size_t i = 0; i < pt->n_themes; i++)
    if (pt->themes[i]->open_rise && !mark_theme(pt, pt->themes[i])) return false;
  return true;
}

static struct bucket *bucket_get(struct theme *t, int32_t week, bool create) {
  struct bucket *b;
  HASH_FIND(hh, t->weeks, &week, sizeof week, b);
  if (b != NULL || !create) return b;
  b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->week = week;
  oom_flag = false;
  HASH_ADD(hh, t->weeks, week, sizeof week, b);
  if (oom_flag) {
    free(b);
    return NULL;
  }
  return b;
}

/* Take a unit's cells out of its themes' buckets and its window. */
/* Take the refs of a unit's first k cells out of their themes' buckets. */
static void unit_refs_remove(struct hls_patterns *pt, const struct unit *u, size_t k) {
  for (size_t i = 0; i < k; i++) {
    struct theme *t = pt->themes[u->cells[i].theme];
    struct bucket *b = bucket_get(t, u->week, false);
    if (b != NULL) {
      for (size_t j = 0; j < b->n; j++)
        if (b->refs[j].place == u->place) {
          b->refs[j] = b->refs[--b->n];
          break;
        }
      if (b->n == 0) {
        HASH_DEL(t->weeks, b);
        free(b->refs);
        free(b);
      }
    }
    (void)mark_theme(pt, t);
  }
}

/* Take a unit's cells out of its themes' buckets and its window; the unit
 * is left with no cells. */
static bool unit_unlink(struct hls_patterns *pt, struct unit *u) {
  bool ok = true;
  unit_refs_remove(pt, u, u->n);
  if (u->in_window) {
    struct window *w = window_get(pt, u->week);
    if (w != NULL) {
      w->units[u->win_pos] = w->units[--w->n];
      w->units[u->win_pos]->win_pos = u->win_pos;
      ok = mark_window(pt, w);
    } else {
      ok = false;
    }
    u->in_window = false;
  }
  free(u->cells);
  u->cells = NULL;
  u->n = 0;
  return ok;
}

/* Put a unit's cells into its themes' buckets and its window, all or
 * nothing: on failure (no memory) the unit is left with no cells, so the
 * state stays consistent (the digest's facts are lost; the caller says). */
static bool unit_link(struct hls_patterns *pt, struct unit *u) {
  if (u->n == 0) return true;
  for (size_t i = 0; i < u->n; i++) {
    const struct cell *c = &u->cells[i];
    struct theme *t = pt->themes[c->theme];
    struct bucket *b = bucket_get(t, u->week, true);
    if (b == NULL || !GROW(b->refs, b->cap, b->n + 1) || !mark_theme(pt, t)) {
      if (b != NULL && b->n == 0) {
        HASH_DEL(t->weeks, b);
        free(b->refs);
        free(b);
      }
      unit_refs_remove(pt, u, i);
      free(u->cells);
      u->cells = NULL;
      u->n = 0;
      return false;
    }
    b->refs[b->n++] = (struct cref){.place = u->place, .lo = c->lo, .hi = c->hi, .seq = u->seq,
                                    .scales = c->scales, .withheld = c->withheld};
  }
  struct window *w = window_get(pt, u->week);
  if (w == NULL || !GROW(w->units, w->cap, w->n + 1)) {
    unit_unlink(pt, u);
    return false;
  }
  u->win_pos = w->n;
  w->units[w->n++] = u;
  u->in_window = true;
  return mark_window(pt, w);
}

static int cell_cmp(const void *a, const void *b) {
  uint32_t x = ((const struct cell *)a)->theme, y = ((const struct cell *)b)->theme;
  return (x > y) - (x < y);
}

/* The interval of true counts behind a published cell (patterns.h). */
static void cell_bounds(const struct hls_digest_method *m, const struct hls_digest_cell *c, uint32_t *lo,
                        uint32_t *hi) {
  uint32_t t = m->threshold;
  /* Withheld is "present, value unknown" at any scale (hlsd withholds only
   * person-scale cells, but a receiver takes what the digest says). */
  if (c->withheld) {
    *lo = 1;
    *hi = t > 1 ? t - 1 : 1;
    return;
  }
  if (c->scale != HLS_SCALE_PERSON) {
    *lo = *hi = c->count;
    return;
  }
  uint32_t r = m->rounding > 1 ? m->rounding : 1;
  uint64_t down = r / 2, up = r - r / 2; /* floor(r/2), ceil(r/2) */
  uint64_t l = c->count >= down ? c->count - down : 0;
  uint64_t h = (uint64_t)c->count + up - 1;
  if (r == 1) l = h = c->count;
  if (l < t) l = t;
  if (h < l) h = l;
  *lo = (uint32_t)l;
  *hi = h > UINT32_MAX ? UINT32_MAX : (uint32_t)h;
}

static uint32_t sat_add32(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

int hls_patterns_digest(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq,
                        const struct hls_digest *d) {
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) return HLS_EINVAL;
  for (size_t i = 0; i < d->n_cells; i++)
    if (d->cells[i].kind < 0 || d->cells[i].kind >= HLS_KIND_COUNT) return HLS_EINVAL;
  /* Every theme's series spans all weeks held: one far-off date must not
   * make each update walk centuries. */
  if (pt->have_weeks && ((int64_t)(week > pt->gmax ? week : pt->gmax) - (week < pt->gmin ? week : pt->gmin) + 1 >
                         HLS_PAT_MAX_SPAN_WEEKS))
    return HLS_ELIMIT;
  struct place *pl = place_get(pt, origin);
  if (pl == NULL) return HLS_ENOMEM;
  uint64_t key = (uint64_t)pl->ix << 32 | (uint32_t)week;
  struct unit *u;
  HASH_FIND(hh, pt->units, &key, sizeof key, u);
  if (u != NULL && u->seq >= seq) return 0; /* superseded already */

  /* Fold the cells per theme key. */
  struct cell *cells = d->n_cells ? calloc(d->n_cells, sizeof *cells) : NULL;
  if (d->n_cells && cells == NULL) return HLS_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    struct theme *t = theme_get(pt, c->theme, c->kind);
    if (t == NULL) {
      free(cells);
      return HLS_ENOMEM;
    }
    uint32_t lo, hi;
    cell_bounds(&d->method, c, &lo, &hi);
    size_t j = 0;
    while (j < n && cells[j].theme != t->ix) j++;
    if (j == n) cells[n++] = (struct cell){.theme = t->ix};
    cells[j].lo = sat_add32(cells[j].lo, lo);
    cells[j].hi = sat_add32(cells[j].hi, hi);
    if (c->scale >= 0 && c->scale < HLS_SCALE_COUNT) cells[j].scales |= (uint8_t)(1u << c->scale);
    if (c->withheld) cells[j].withheld = true;
  }
  if (n > 1) qsort(cells, n, sizeof *cells, cell_cmp);

  struct dseq *ds = calloc(1, sizeof *ds);
  if (ds == NULL || !week_seen(pt, week)) {
    free(ds);
    free(cells);
    return HLS_ENOMEM;
  }
  if (u == NULL) {
    u = calloc(1, sizeof *u);
    if (u == NULL) {
      free(ds);
      free(cells);
      return HLS_ENOMEM;
    }
    u->key = key;
    u->place = pl->ix;
    u->week = week;
    oom_flag = false;
    HASH_ADD(hh, pt->units, key, sizeof key, u);
    if (oom_flag) {
      free(u);
      free(ds);
      free(cells);
      return HLS_ENOMEM;
    }
    pt->n_digests++;
    pl->facts++;
  } else {
    (void)unit_unlink(pt, u);
  }
  u->seq = seq;
  u->erased = false;
  u->cells = cells;
  u->n = n;
  ds->key.place = pl->ix;
  ds->key.seq = seq;
  ds->week = week;
  struct dseq *old;
  HASH_FIND(hh, pt->dseqs, &ds->key, sizeof ds->key, old);
  if (old == NULL) {
    oom_flag = false;
    HASH_ADD(hh, pt->dseqs, key, sizeof ds->key, ds);
    if (oom_flag) free(ds);
  } else {
    free(ds);
  }
  return unit_link(pt, u) ? 0 : HLS_ENOMEM;
}

static void story_unlink(struct hls_patterns *pt, struct story *s) {
  for (size_t i = 0; i < s->n_themes; i++) {
    struct theme *t = pt->themes[s->themes[i]];
    for (size_t j = 0; j < t->n_stories; j++)
      if (t->stories[j] == s) {
        t->stories[j] = t->stories[--t->n_stories];
        break;
      }
    (void)mark_theme(pt, t);
  }
}

int hls_patterns_story(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq,
                       const struct hls_story *st) {
  int32_t week;
  if (hls_patterns_week(st->iso_year, st->iso_week, &week) != 0) return HLS_EINVAL;
  for (size_t i = 0; i < st->n_themes && i < HLS_THEMES_PER_RECORD; i++)
    if ((int)st->themes[i].kind < 0 || (int)st->themes[i].kind >= HLS_KIND_COUNT) return HLS_EINVAL;
  struct place *pl = place_get(pt, origin);
  if (pl == NULL) return HLS_ENOMEM;
  struct story *s = calloc(1, sizeof *s);
  if (s == NULL) return HLS_ENOMEM;
  s->key.place = pl->ix;
  s->key.seq = seq;
  struct story *old;
  HASH_FIND(hh, pt->stories, &s->key, sizeof s->key, old);
  if (old != NULL) {
    free(s);
    return 0;
  }
  s->week = week;
  snprintf(s->title, sizeof s->title, "%s", st->title);
  for (size_t i = 0; i < st->n_themes && i < HLS_THEMES_PER_RECORD; i++) {
    struct theme *t = theme_get(pt, st->themes[i].slug, (int)st->themes[i].kind);
    if (t == NULL || !GROW(t->stories, t->cap_stories, t->n_stories + 1) || !mark_theme(pt, t)) {
      s->n_themes = i;
      story_unlink(pt, s);
      free(s);
      return HLS_ENOMEM;
    }
    t->stories[t->n_stories++] = s;
    s->themes[s->n_themes++] = t->ix;
  }
  oom_flag = false;
  HASH_ADD(hh, pt->stories, key, sizeof s->key, s);
  if (oom_flag) {
    story_unlink(pt, s);
    free(s);
    return HLS_ENOMEM;
  }
  pl->facts++;
  return mark_window_of(pt, week) ? 0 : HLS_ENOMEM;
}

int hls_patterns_erase(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq) {
  struct place *pl;
  HASH_FIND(hh, pt->places_by_origin, origin, HLS_KEY_BYTES, pl);
  if (pl == NULL) return 0;
  struct {
    uint32_t place, pad;
    uint64_t seq;
  } key = {pl->ix, 0, seq};
  struct story *s;
  HASH_FIND(hh, pt->stories, &key, sizeof key, s);
  if (s != NULL) {
    int32_t week = s->week;
    story_unlink(pt, s);
    HASH_DEL(pt->stories, s);
    free(s);
    return mark_window_of(pt, week) ? 0 : HLS_ENOMEM;
  }
  struct dseq *ds;
  HASH_FIND(hh, pt->dseqs, &key, sizeof key, ds);
  if (ds == NULL) return 0;
  uint64_t ukey = (uint64_t)pl->ix << 32 | (uint32_t)ds->week;
  struct unit *u;
  HASH_FIND(hh, pt->units, &ukey, sizeof ukey, u);
  if (u == NULL || u->seq != seq) return 0; /* an older version: already out */
  if (!unit_unlink(pt, u)) return HLS_ENOMEM;
  u->erased = true;
  return 0;
}

bool hls_patterns_dirty(const struct hls_patterns *pt) { return pt->n_dirty_themes > 0 || pt->n_dirty_windows > 0; }

/* --- computing -------------------------------------------------------------------------- */

/* A pattern being built: places gathered with the stamp array. */
struct build {
  struct hls_pattern p;
  size_t n_places;
};

static void places_begin(struct hls_patterns *pt, struct build *b) {
  if (++pt->stamp == 0) {
    memset(pt->mark, 0, pt->n_places * sizeof *pt->mark);
    pt->stamp = 1;
  }
  b->n_places = 0;
}

static void place_add(struct hls_patterns *pt, struct build *b, uint32_t place) {
  if (pt->mark[place] == pt->stamp) return;
  pt->mark[place] = pt->stamp;
  pt->scratch_places[b->n_places++] = place;
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static void pat_id(struct hls_patterns *pt, struct hls_pattern *p) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HLS_PAT_ID_BYTES);
  const char *tag = "hls-pattern-v1";
  crypto_generichash_update(&st, (const uint8_t *)tag, strlen(tag) + 1);
  uint8_t sig = (uint8_t)p->signal;
  crypto_generichash_update(&st, &sig, 1);
  const struct theme *t = pt->themes[p->theme];
  crypto_generichash_update(&st, (const uint8_t *)t->key, strlen(t->key) + 1);
  if (p->theme2 != HLS_PAT_NONE) {
    const struct theme *t2 = pt->themes[p->theme2];
    crypto_generichash_update(&st, (const uint8_t *)t2->key, strlen(t2->key) + 1);
  }
  uint8_t w[4] = {(uint8_t)((uint32_t)p->week_from >> 24), (uint8_t)((uint32_t)p->week_from >> 16),
                  (uint8_t)((uint32_t)p->week_from >> 8), (uint8_t)p->week_from};
  crypto_generichash_update(&st, w, sizeof w);
  crypto_generichash_final(&st, p->id, HLS_PAT_ID_BYTES);
}

/* What a change of a pattern is judged by. In memory only: place numbers
 * are this engine's. Patterns carry their places' names, so a rename
 * (the place's version) changes the fingerprint too. */
static void pat_fingerprint(const struct hls_patterns *pt, const struct hls_pattern *p, uint8_t fp[16]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 16);
  uint64_t versions = 0;
  for (size_t i = 0; i < p->n_places; i++)
    versions = versions * 0x100000001b3ull + ((uint64_t)p->places[i] << 32 | pt->places[p->places[i]]->version);
  int64_t v[11] = {p->signal, p->week_from, p->week_to, llround(p->score * 1000.0), llround(p->score2 * 1000.0),
                   (int64_t)p->lo, (int64_t)p->hi, p->scales, (int64_t)p->n_places, (int64_t)p->n_stories,
                   (int64_t)versions};
  crypto_generichash_update(&st, (const uint8_t *)v, sizeof v);
  if (p->n_places) crypto_generichash_update(&st, (const uint8_t *)p->places, p->n_places * sizeof *p->places);
  crypto_generichash_final(&st, fp, 16);
}

/* Stories of theme t (and t2) from the pattern's places and weeks. */
static size_t count_stories(const struct hls_patterns *pt, const struct hls_pattern *p, const struct theme *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->n_stories; i++) {
    const struct story *s = t->stories[i];
    if (s->week < p->week_from || s->week > p->week_to) continue;
    if (bsearch(&s->key.place, p->places, p->n_places, sizeof *p->places, u32_cmp) == NULL) continue;
    if (p->theme2 != HLS_PAT_NONE) { /* together: the story names both */
      uint32_t other = t->ix == p->theme ? p->theme2 : p->theme;
      bool both = false;
      for (size_t j = 0; j < s->n_themes; j++) both |= s->themes[j] == other;
      if (!both || t->ix != p->theme) continue;
    }
    n++;
  }
  return n;
}

struct ctx_update {
  hls_pat_change_fn fn;
  void *ctx;
  int rc;
};

/* Keep b's pattern as holding now: new or updated, owned by list. */
static int emit(struct hls_patterns *pt, struct build *b, struct pat ***list, size_t *n_list, size_t *cap_list,
                struct ctx_update *cu) {
  struct hls_pattern *np = &b->p;
  qsort(pt->scratch_places, b->n_places, sizeof(uint32_t), u32_cmp);
  np->n_places = b->n_places;
  np->places = pt->scratch_places;
  np->n_stories = count_stories(pt, np, pt->themes[np->theme]);
  pat_id(pt, np);
  uint8_t fp[16];
  pat_fingerprint(pt, np, fp);
  struct pat *p;
  HASH_FIND(hh, pt->pats, np->id, HLS_PAT_ID_BYTES, p);
  if (p != NULL && p->gen == pt->gen) return 0; /* already produced in this round */
  /* A callback stopped the update: change nothing more, so the next
   * update finds what is left. */
  if (cu->rc != 0) return 0;
  int change = HLS_PAT_NEW;
  if (p != NULL) {
    if (memcmp(p->fp, fp, sizeof fp) == 0) {
      p->gen = pt->gen;
      return 0;
    }
    change = HLS_PAT_UPDATED;
  }
  /* Report before taking the change: one the callback refuses is not
   * taken, and the next update reports it again. */
  if (cu->fn != NULL && (cu->rc = cu->fn(cu->ctx, change, np)) != 0) return 0;
  uint32_t *places = NULL;
  if (b->n_places) {
    places = malloc(b->n_places * sizeof *places);
    if (places == NULL) return HLS_ENOMEM;
    memcpy(places, pt->scratch_places, b->n_places * sizeof *places);
  }
  if (p == NULL) {
    p = calloc(1, sizeof *p);
    if (p == NULL || !grow((void **)list, cap_list, *n_list + 1, sizeof **list)) {
      free(p);
      free(places);
      return HLS_ENOMEM;
    }
    memcpy(p->p.id, np->id, HLS_PAT_ID_BYTES);
    oom_flag = false;
    HASH_ADD(hh, pt->pats, p.id, HLS_PAT_ID_BYTES, p);
    if (oom_flag) {
      free(p);
      free(places);
      return HLS_ENOMEM;
    }
    (*list)[(*n_list)++] = p;
  } else {
    free(p->p.places);
  }
  p->p = *np;
  p->p.places = places;
  p->gen = pt->gen;
  memcpy(p->fp, fp, sizeof fp);
  return 0;
}

/* Retract the list's patterns not produced in this round. */
static int sweep(struct hls_patterns *pt, struct pat **list, size_t *n_list, struct ctx_update *cu) {
  size_t keep = 0;
  for (size_t i = 0; i < *n_list; i++) {
    struct pat *p = list[i];
    /* Kept: produced in this round, or the update was stopped (before or
     * by refusing this retraction) and the next one decides. */
    if (p->gen == pt->gen || cu->rc != 0 ||
        (cu->fn != NULL && (cu->rc = cu->fn(cu->ctx, HLS_PAT_RETRACTED, &p->p)) != 0)) {
      list[keep++] = p;
      continue;
    }
    HASH_DEL(pt->pats, p);
    pat_free(p);
  }
  *n_list = keep;
  return 0;
}

struct series {
  size_t len;
  uint64_t *lo, *hi;
  uint32_t *np;
  uint8_t *sc;
};

static void build_init(struct build *b, int signal, uint32_t theme) {
  memset(b, 0, sizeof *b);
  b->p.signal = signal;
  b->p.theme = theme;
  b->p.theme2 = HLS_PAT_NONE;
}

/* Add theme t's cells of weeks [from, to] to b: places, scales, counts. */
static void gather(struct hls_patterns *pt, struct theme *t, struct build *b, int32_t from, int32_t to) {
  for (int32_t w = from; w <= to; w++) {
    struct bucket *bk = bucket_get(t, w, false);
    if (bk == NULL) continue;
    for (size_t i = 0; i < bk->n; i++) {
      place_add(pt, b, bk->refs[i].place);
      b->p.lo += bk->refs[i].lo;
      b->p.hi += bk->refs[i].hi;
      b->p.scales |= bk->refs[i].scales;
    }
  }
}

static int theme_windows(struct hls_patterns *pt, struct theme *t, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  int32_t W = prm->window_weeks;
  for (int32_t k = floor_div(pt->gmin, W); k <= floor_div(pt->gmax, W); k++) {
    struct build b;
    build_init(&b, HLS_PAT_SPREAD, t->ix);
    places_begin(pt, &b);
    gather(pt, t, &b, k * W, k * W + W - 1);
    if (b.n_places == 0) continue;
    b.p.week_from = k * W;
    b.p.week_to = k * W + W - 1;
    if (b.n_places >= (size_t)prm->spread_min_places) {
      b.p.score = (double)b.n_places;
      if (emit(pt, &b, &t->pats, &t->n_pats, &t->cap_pats, cu) != 0) return HLS_ENOMEM;
    }
    int scales = __builtin_popcount(b.p.scales);
    if (scales >= prm->cross_min_scales && b.n_places >= (size_t)prm->cross_min_places) {
      b.p.signal = HLS_PAT_CROSS_SCALE;
      b.p.score = scales;
      if (emit(pt, &b, &t->pats, &t->n_pats, &t->cap_pats, cu) != 0) return HLS_ENOMEM;
    }
  }
  return 0;
}

static int theme_emerging(struct hls_patterns *pt, struct theme *t, const struct series *s, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  size_t B = (size_t)prm->ears_baseline, G = (size_t)prm->ears_guard;
  struct build b;
  bool open = false;
  double mean_first = 0;
  for (size_t i = B + G; i <= s->len; i++) {
    bool alarm = false;
    double c2 = 0, mean = 0;
    if (i < s->len && s->np[i] >= (uint32_t)prm->ears_min_places && s->lo[i] >= (uint64_t)prm->ears_min_count) {
      double sum = 0, sq = 0;
      for (size_t j = i - G - B; j < i - G; j++) sum += (double)s->hi[j];
      mean = sum / (double)B;
      for (size_t j = i - G - B; j < i - G; j++) sq += ((double)s->hi[j] - mean) * ((double)s->hi[j] - mean);
      double sd = sqrt(sq / (double)(B - 1));
      /* The sd of 7 weeks often underestimates the noise: never below the
       * Poisson sd of the baseline mean, nor min_sigma. */
      double sigma = sd > prm->ears_min_sigma ? sd : prm->ears_min_sigma;
      if (sigma < sqrt(mean)) sigma = sqrt(mean);
      c2 = ((double)s->lo[i] - mean) / sigma;
      alarm = c2 > prm->ears_threshold;
    }
    if (alarm) {
      int32_t week = pt->gmin + (int32_t)i;
      if (!open) {
        build_init(&b, HLS_PAT_EMERGING, t->ix);
        places_begin(pt, &b);
        b.p.week_from = week;
        mean_first = mean;
        open = true;
      }
      b.p.week_to = week;
      if (c2 > b.p.score) b.p.score = c2;
      gather(pt, t, &b, week, week);
    } else if (open) {
      b.p.score2 = mean_first;
      if (emit(pt, &b, &t->pats, &t->n_pats, &t->cap_pats, cu) != 0) return HLS_ENOMEM;
      open = false;
    }
  }
  return 0;
}

static int theme_rising(struct hls_patterns *pt, struct theme *t, const struct series *s, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  double S = 0, S_end = 0, mu0 = 0, sigma0 = 1;
  size_t start = 0;
  bool alarmed = false;
  int32_t last_alarm = 0;
  double maxS = 0;
  for (size_t i = 0; i <= s->len; i++) {
    bool in_control = S <= 0;
    if (i < s->len && in_control) {
      size_t n = i < (size_t)prm->cusum_ref_weeks ? i : (size_t)prm->cusum_ref_weeks;
      if (n < (size_t)prm->cusum_min_ref) continue;
      double sum = 0, sq = 0;
      for (size_t j = i - n; j < i; j++) sum += (double)s->hi[j];
      mu0 = sum / (double)n;
      for (size_t j = i - n; j < i; j++) sq += ((double)s->hi[j] - mu0) * ((double)s->hi[j] - mu0);
      if (mu0 < prm->cusum_min_mean) mu0 = prm->cusum_min_mean;
      /* The in-control sd: the reference weeks' own (counts are often
       * overdispersed), never below the Poisson sd. */
      sigma0 = sqrt(sq / (double)(n - 1));
      if (sigma0 < sqrt(mu0)) sigma0 = sqrt(mu0);
    }
    double next = 0;
    if (i < s->len) {
      double z = ((double)s->lo[i] - mu0) / sigma0;
      if (z > prm->cusum_winsor) z = prm->cusum_winsor;
      next = S + z - prm->cusum_k;
      if (next < 0) next = 0;
      if (in_control && next > 0) {
        start = i;
        alarmed = false;
        maxS = 0;
      }
    }
    if (i < s->len && next >= prm->cusum_h) {
      alarmed = true;
      last_alarm = pt->gmin + (int32_t)i;
      if (next > maxS) maxS = next;
    }
    if ((i == s->len || next <= 0) && S > 0 && alarmed) {
      /* The excursion that alarmed ended (or the data did). */
      struct build b;
      build_init(&b, HLS_PAT_RISING, t->ix);
      places_begin(pt, &b);
      b.p.week_from = pt->gmin + (int32_t)start;
      b.p.week_to = last_alarm;
      b.p.score = maxS;
      b.p.score2 = mu0;
      gather(pt, t, &b, b.p.week_from, b.p.week_to);
      if (b.n_places >= (size_t)prm->cusum_min_places &&
          emit(pt, &b, &t->pats, &t->n_pats, &t->cap_pats, cu) != 0)
        return HLS_ENOMEM;
      alarmed = false;
    }
    S = next;
    if (i < s->len) S_end = S;
  }
  t->open_rise = S_end > 0;
  return 0;
}

static int recompute_theme(struct hls_patterns *pt, struct theme *t, struct series *s, struct ctx_update *cu) {
  if (pt->have_weeks) {
    s->len = (size_t)(pt->gmax - pt->gmin + 1);
    memset(s->lo, 0, s->len * sizeof *s->lo);
    memset(s->hi, 0, s->len * sizeof *s->hi);
    memset(s->np, 0, s->len * sizeof *s->np);
    for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next) {
      size_t i = (size_t)(bk->week - pt->gmin);
      for (size_t j = 0; j < bk->n; j++) {
        s->lo[i] += bk->refs[j].lo;
        s->hi[i] += bk->refs[j].hi;
      }
      s->np[i] = (uint32_t)bk->n;
    }
    int rc = theme_windows(pt, t, cu);
    if (rc == 0) rc = theme_emerging(pt, t, s, cu);
    if (rc == 0) rc = theme_rising(pt, t, s, cu);
    if (rc != 0) return rc;
  }
  return sweep(pt, t->pats, &t->n_pats, cu);
}

/* --- together --------------------------------------------------------------------------- */

static bool has_theme(const struct unit *u, uint32_t theme) {
  size_t lo = 0, hi = u->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (u->cells[mid].theme < theme) lo = mid + 1;
    else hi = mid;
  }
  return lo < u->n && u->cells[lo].theme == theme;
}


static int pair_key_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The places of a window, each with the themes it reported in any of the
 * window's weeks (sorted), and the degree histogram of the null model. */
struct wplaces {
  size_t n;              /* places */
  uint32_t *place;       /* [n] */
  size_t *off;           /* [n + 1]: place i's themes are themes[off[i] .. off[i+1]) */
  uint32_t *themes;
  uint32_t *marg;        /* [n_themes]: places reporting each theme */
  double D;              /* sum of degrees */
  size_t n_deg;          /* distinct degrees */
  double *deg, *deg_n;   /* [n_deg]: a degree, and how many places have it */
};

static void wplaces_free(struct wplaces *wp) {
  free(wp->place);
  free(wp->off);
  free(wp->themes);
  free(wp->marg);
  free(wp->deg);
  free(wp->deg_n);
}

static int unit_place_cmp(const void *a, const void *b) {
  const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;
  return (x->place > y->place) - (x->place < y->place);
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int wplaces_build(struct hls_patterns *pt, struct window *w, struct wplaces *wp) {
  memset(wp, 0, sizeof *wp);
  size_t cells = 0;
  for (size_t i = 0; i < w->n; i++) cells += w->units[i]->n;
  struct unit **units = malloc(w->n * sizeof *units);
  uint32_t *seen = calloc(pt->n_themes, sizeof *seen);
  wp->place = malloc(w->n * sizeof *wp->place);
  wp->off = malloc((w->n + 1) * sizeof *wp->off);
  wp->themes = malloc((cells ? cells : 1) * sizeof *wp->themes);
  wp->marg = calloc(pt->n_themes, sizeof *wp->marg);
  double *degs = malloc(w->n * sizeof *degs);
  wp->deg = malloc(w->n * sizeof *wp->deg);
  wp->deg_n = malloc(w->n * sizeof *wp->deg_n);
  if (units == NULL || seen == NULL || wp->place == NULL || wp->off == NULL || wp->themes == NULL ||
      wp->marg == NULL || degs == NULL || wp->deg == NULL || wp->deg_n == NULL) {
    free(units), free(seen), free(degs);
    return HLS_ENOMEM;
  }
  memcpy(units, w->units, w->n * sizeof *units);
  qsort(units, w->n, sizeof *units, unit_place_cmp);
  size_t nt = 0;
  uint32_t stamp = 0;
  for (size_t i = 0; i < w->n;) {
    size_t j = i;
    stamp++;
    wp->off[wp->n] = nt;
    wp->place[wp->n] = units[i]->place;
    for (; j < w->n && units[j]->place == units[i]->place; j++)
      for (size_t c = 0; c < units[j]->n; c++) {
        uint32_t th = units[j]->cells[c].theme;
        if (seen[th] == stamp) continue;
        seen[th] = stamp;
        wp->themes[nt++] = th;
        wp->marg[th]++;
      }
    qsort(wp->themes + wp->off[wp->n], nt - wp->off[wp->n], sizeof *wp->themes, u32_cmp);
    degs[wp->n] = (double)(nt - wp->off[wp->n]);
    wp->D += degs[wp->n];
    wp->n++;
    i = j;
  }
  wp->off[wp->n] = nt;
  qsort(degs, wp->n, sizeof *degs, dbl_cmp);
  for (size_t i = 0; i < wp->n; i++) {
    if (wp->n_deg && wp->deg[wp->n_deg - 1] == degs[i]) {
      wp->deg_n[wp->n_deg - 1] += 1;
    } else {
      wp->deg[wp->n_deg] = degs[i];
      wp->deg_n[wp->n_deg++] = 1;
    }
  }
  free(units), free(seen), free(degs);
  return 0;
}

/* Expected places reporting both themes if each place reported each theme
 * independently, with a chance in proportion to the theme's places and the
 * place's number of themes (a degree-corrected null model). */
static double together_expected(const struct wplaces *wp, double na, double nb) {
  double e = 0;
  for (size_t k = 0; k < wp->n_deg; k++) {
    double pa = na * wp->deg[k] / wp->D, pb = nb * wp->deg[k] / wp->D;
    e += wp->deg_n[k] * (pa < 1 ? pa : 1) * (pb < 1 ? pb : 1);
  }
  return e;
}

static int together_pair(struct hls_patterns *pt, struct window *w, const struct wplaces *wp, uint32_t a,
                         uint32_t b_, uint32_t nab, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  if (nab < (uint32_t)prm->together_min_places) return 0;
  /* The pair is ordered by theme key, so its id and its score (to the
   * last bit: the sums below are not associative) do not depend on the
   * order themes were first seen in. */
  if (strcmp(pt->themes[a]->key, pt->themes[b_]->key) > 0) {
    uint32_t swap = a;
    a = b_;
    b_ = swap;
  }
  double N = (double)wp->n, na = wp->marg[a], nb = wp->marg[b_], o = nab;
  /* Plain independence first: a pair no more frequent than that is
   * never reported (cheap, and most pairs stop here). */
  if (o <= na * nb / N) return 0;
  double e = together_expected(wp, na, nb);
  if (!(o > e) || e <= 0) return 0;
  double g2 = 2 * (o * log(o / e) - (o - e)); /* Poisson deviance: one-sided */
  /* Effect size: plain normalised PMI, in [-1, 1] (Bouma 2009). */
  double npmi = o >= N ? 1.0 : log(o * N / (na * nb)) / -log(o / N);
  if (g2 < prm->together_min_g2 || npmi < prm->together_min_npmi) return 0;
  /* Evidence in the same weeks: place-weeks that report both. */
  uint32_t same_week = 0;
  struct build bd;
  build_init(&bd, HLS_PAT_TOGETHER, a);
  bd.p.theme2 = b_;
  places_begin(pt, &bd);
  for (size_t i = 0; i < w->n; i++) {
    const struct unit *u = w->units[i];
    bool ha = has_theme(u, a), hb = has_theme(u, b_);
    same_week += ha && hb;
  }
  if (same_week < (uint32_t)prm->together_min_count) return 0;
  for (size_t i = 0; i < wp->n; i++) {
    const uint32_t *th = wp->themes + wp->off[i];
    size_t m = wp->off[i + 1] - wp->off[i];
    if (bsearch(&a, th, m, sizeof *th, u32_cmp) && bsearch(&b_, th, m, sizeof *th, u32_cmp)) place_add(pt, &bd, wp->place[i]);
  }
  for (size_t i = 0; i < w->n; i++) {
    const struct unit *u = w->units[i];
    for (size_t j = 0; j < u->n; j++)
      if ((u->cells[j].theme == a || u->cells[j].theme == b_) && pt->mark[u->place] == pt->stamp)
        bd.p.scales |= u->cells[j].scales;
  }
  bd.p.week_from = w->k * prm->window_weeks;
  bd.p.week_to = bd.p.week_from + prm->window_weeks - 1;
  bd.p.score = g2;
  bd.p.score2 = npmi;
  bd.p.lo = bd.p.hi = nab;
  return emit(pt, &bd, &w->pats, &w->n_pats, &w->cap_pats, cu);
}

#define DENSE_MAX 4096

static int recompute_window(struct hls_patterns *pt, struct window *w, struct ctx_update *cu) {
  int rc = 0;
  struct wplaces wp = {0};
  uint32_t *local = NULL, *global = NULL, *dense = NULL;
  uint64_t *keys = NULL;
  if (w->n == 0) goto done;
  if ((rc = wplaces_build(pt, w, &wp)) != 0) goto done;
  local = malloc(pt->n_themes * sizeof *local);
  global = malloc(pt->n_themes * sizeof *global);
  if (local == NULL || global == NULL) {
    rc = HLS_ENOMEM;
    goto done;
  }
  size_t T = 0, pairs = 0;
  for (uint32_t th = 0; th < pt->n_themes; th++)
    if (wp.marg[th]) {
      local[th] = (uint32_t)T;
      global[T++] = th;
    }
  for (size_t i = 0; i < wp.n; i++) {
    size_t m = wp.off[i + 1] - wp.off[i];
    pairs += m * (m - 1) / 2;
  }
  if (T <= DENSE_MAX) {
    /* Upper triangle of a T x T matrix, indexed by local theme numbers
     * (a place's themes are sorted, so local numbers ascend too). */
    dense = calloc(T > 0 ? T * T : 1, sizeof *dense);
    if (dense == NULL) {
      rc = HLS_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < wp.n; i++) {
      const uint32_t *th = wp.themes + wp.off[i];
      size_t m = wp.off[i + 1] - wp.off[i];
      for (size_t x = 0; x < m; x++) {
        size_t row = (size_t)local[th[x]] * T;
        for (size_t y = x + 1; y < m; y++) dense[row + local[th[y]]]++;
      }
    }
    for (size_t x = 0; x < T && rc == 0; x++)
      for (size_t y = x + 1; y < T && rc == 0; y++)
        if (dense[x * T + y] >= (uint32_t)pt->prm.together_min_places)
          rc = together_pair(pt, w, &wp, global[x], global[y], dense[x * T + y], cu);
  } else {
    keys = malloc((pairs ? pairs : 1) * sizeof *keys);
    if (keys == NULL) {
      rc = HLS_ENOMEM;
      goto done;
    }
    size_t nk = 0;
    for (size_t i = 0; i < wp.n; i++) {
      const uint32_t *th = wp.themes + wp.off[i];
      size_t m = wp.off[i + 1] - wp.off[i];
      for (size_t x = 0; x < m; x++)
        for (size_t y = x + 1; y < m; y++) keys[nk++] = (uint64_t)th[x] << 32 | th[y];
    }
    qsort(keys, nk, sizeof *keys, pair_key_cmp);
    for (size_t i = 0; i < nk && rc == 0;) {
      size_t j = i;
      while (j < nk && keys[j] == keys[i]) j++;
      rc = together_pair(pt, w, &wp, (uint32_t)(keys[i] >> 32), (uint32_t)keys[i], (uint32_t)(j - i), cu);
      i = j;
    }
  }
done:
  wplaces_free(&wp);
  free(local);
  free(global);
  free(dense);
  free(keys);
  if (rc != 0) return rc;
  return sweep(pt, w->pats, &w->n_pats, cu);
}

int hls_patterns_update(struct hls_patterns *pt, hls_pat_change_fn fn, void *ctx) {
  struct ctx_update cu = {fn, ctx, 0};
  pt->gen++;
  struct series s = {0};
  size_t len = pt->have_weeks ? (size_t)(pt->gmax - pt->gmin + 1) : 0;
  if (len) {
    s.lo = malloc(len * sizeof *s.lo);
    s.hi = malloc(len * sizeof *s.hi);
    s.np = malloc(len * sizeof *s.np);
    if (s.lo == NULL || s.hi == NULL || s.np == NULL) {
      free(s.lo), free(s.hi), free(s.np);
      return HLS_ENOMEM;
    }
  }
  int rc = 0;
  size_t done_t = 0, done_w = 0;
  for (; done_t < pt->n_dirty_themes && rc == 0 && cu.rc == 0; done_t++) {
    rc = recompute_theme(pt, pt->dirty_themes[done_t], &s, &cu);
    if (rc == 0 && cu.rc == 0) pt->dirty_themes[done_t]->dirty = false;
  }
  for (; done_w < pt->n_dirty_windows && rc == 0 && cu.rc == 0; done_w++) {
    rc = recompute_window(pt, pt->dirty_windows[done_w], &cu);
    if (rc == 0 && cu.rc == 0) pt->dirty_windows[done_w]->dirty = false;
  }
  free(s.lo), free(s.hi), free(s.np);
  /* What is left (after an error or a stop) stays dirty for the next call. */
  size_t keep = 0;
  for (size_t i = 0; i < pt->n_dirty_themes; i++)
    if (pt->dirty_themes[i]->dirty) pt->dirty_themes[keep++] = pt->dirty_themes[i];
  pt->n_dirty_themes = keep;
  keep = 0;
  for (size_t i = 0; i < pt->n_dirty_windows; i++)
    if (pt->dirty_windows[i]->dirty) pt->dirty_windows[keep++] = pt->dirty_windows[i];
  pt->n_dirty_windows = keep;
  if (rc != 0) return rc;
  return cu.rc;
}

/* --- reading ---------------------------------------------------------------------------- */

static int pat_ptr_cmp(const void *a, const void *b) {
  return memcmp((*(struct pat *const *)a)->p.id, (*(struct pat *const *)b)->p.id, HLS_PAT_ID_BYTES);
}

int hls_patterns_each(const struct hls_patterns *pt, hls_pat_each_fn fn, void *ctx) {
  size_t n = HASH_COUNT(pt->pats);
  if (n == 0) return 0;
  struct pat **all = malloc(n * sizeof *all);
  if (all == NULL) return HLS_ENOMEM;
  size_t i = 0;
  for (struct pat *p = pt->pats; p != NULL; p = p->hh.next) all[i++] = p;
  qsort(all, n, sizeof *all, pat_ptr_cmp);
  int rc = 0;
  for (i = 0; i < n && rc == 0; i++) rc = fn(ctx, &all[i]->p);
  free(all);
  return rc;
}

const struct hls_pattern *hls_patterns_find(const struct hls_patterns *pt, const uint8_t id[HLS_PAT_ID_BYTES]) {
  struct pat *p;
  HASH_FIND(hh, pt->pats, id, HLS_PAT_ID_BYTES, p);
  return p ? &p->p : NULL;
}

int hls_patterns_place_info(const struct hls_patterns *pt, uint32_t place, struct hls_pat_place_info *out) {
  if (place >= pt->n_places) return HLS_ENOTFOUND;
  const struct place *p = pt->places[place];
  out->origin = p->origin;
  out->name = p->name;
  out->region = p->region;
  return 0;
}

int hls_patterns_theme_info(const struct hls_patterns *pt, uint32_t theme, const char **name, int *kind) {
  if (theme >= pt->n_themes) return HLS_ENOTFOUND;
  *name = pt->themes[theme]->name;
  *kind = pt->themes[theme]->kind;
  return 0;
}

static bool in_places(const struct hls_pattern *p, uint32_t place) {
  return bsearch(&place, p->places, p->n_places, sizeof *p->places, u32_cmp) != NULL;
}

static int cref_cmp(const void *a, const void *b) {
  const struct hls_pat_cell_ref *x = a, *y = b;
  if (x->week != y->week) return (x->week > y->week) - (x->week < y->week);
  if (x->place != y->place) return (x->place > y->place) - (x->place < y->place);
  return (x->theme > y->theme) - (x->theme < y->theme);
}

int hls_patterns_lineage(const struct hls_patterns *pt, const struct hls_pattern *p, hls_pat_cell_fn cell,
                         hls_pat_story_fn story, void *ctx) {
  uint32_t themes[2] = {p->theme, p->theme2};
  size_t nt = p->theme2 == HLS_PAT_NONE ? 1 : 2;
  struct hls_pat_cell_ref *refs = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (size_t ti = 0; ti < nt; ti++) {
    struct theme *t = pt->themes[themes[ti]];
    for (int32_t w = p->week_from; w <= p->week_to; w++) {
      struct bucket *bk = bucket_get(t, w, false);
      if (bk == NULL) continue;
      for (size_t i = 0; i < bk->n; i++) {
        const struct cref *c = &bk->refs[i];
        if (!in_places(p, c->place)) continue;
        if (!GROW(refs, cap, n + 1)) {
          free(refs);
          return HLS_ENOMEM;
        }
        refs[n++] = (struct hls_pat_cell_ref){.place = c->place, .week = w, .seq = c->seq, .theme = t->ix,
                                              .lo = c->lo, .hi = c->hi, .withheld = c->withheld, .scales = c->scales};
      }
    }
  }
  if (n > 1) qsort(refs, n, sizeof *refs, cref_cmp);
  for (size_t i = 0; i < n && rc == 0 && cell != NULL; i++) rc = cell(ctx, &refs[i]);
  free(refs);
  if (rc != 0 || story == NULL) return rc;
  const struct theme *t = pt->themes[p->theme];
  for (size_t i = 0; i < t->n_stories && rc == 0; i++) {
    const struct story *s = t->stories[i];
    if (s->week < p->week_from || s->week > p->week_to || !in_places(p, s->key.place)) continue;
    if (nt == 2) {
      bool both = false;
      for (size_t j = 0; j < s->n_themes; j++) both |= s->themes[j] == p->theme2;
      if (!both) continue;
    }
    struct hls_pat_story_ref r = {.place = s->key.place, .week = s->week, .seq = s->key.seq, .title = s->title};
    rc = story(ctx, &r);
  }
  return rc;
}

void hls_patterns_stats(const struct hls_patterns *pt, struct hls_pat_stats *out) {
  memset(out, 0, sizeof *out);
  out->places = pt->n_places;
  out->themes = pt->n_themes;
  out->digests = pt->n_digests;
  out->stories = HASH_COUNT(pt->stories);
  out->patterns = HASH_COUNT(pt->pats);
  for (const struct pat *p = pt->pats; p != NULL; p = p->hh.next) out->by_signal[p->p.signal]++;
}
