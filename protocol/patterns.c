/* Cross-place patterns: see patterns.h and docs/patterns.md.
 *
 * This file is the engine's core: its state (new, free), the facts it is
 * given (places, digests, stories, erasures) and hls_patterns_update,
 * which recomputes what they changed. The rest, a file a job (the state
 * and what the files share are in patterns_internal.h):
 *   patterns_params.c     the names, the parameter table
 *   patterns_theme.c      one theme's tests, week by week, and its patterns
 *   patterns_spread.c, patterns_emerging.c, patterns_crossscale.c,
 *   patterns_rising.c     each single-theme signal's test of a week
 *   patterns_together.c   pairs of themes: their tests and patterns
 *   patterns_stats.c      distribution tails; a place against its own
 *                         baseline; places combined
 *   patterns_fdr.c        the weekly false discovery rate
 *   patterns_emit.c       a pattern's id, fingerprint and change; keeping
 *                         and retracting patterns
 *   patterns_read.c       patterns, places, themes, lineage, counts
 *
 * State. Each (place, week) holds at most one digest: a unit with its cells
 * folded per theme key. Each theme keeps, per week, a bucket of copies of
 * its cells (one per place), and the stories that name it. Each fixed
 * window keeps its units. Giving a fact marks the themes (and the window)
 * it touches dirty; hls_patterns_update recomputes the dirty themes'
 * single-theme signals from their buckets and the dirty windows' pairs
 * from their units, and diffs the result against the patterns held by id
 * and fingerprint. */
#include "disclosure.h"
#include "patterns.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "date.h"
#include "patterns_internal.h"
#include "record.h"

#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(obj) oom_flag = true
static _Thread_local bool oom_flag;

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
  pt->threads = 1;
  pt->regions = malloc(sizeof *pt->regions);
  if (pt->regions == NULL || (pt->regions[0] = strdup("")) == NULL) {
    free(pt->regions);
    free(pt);
    return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  }
  pt->n_regions = 1;
  *out = pt;
  return 0;
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
    free(u->themes);
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
    free(w->tests);
    for (size_t i = 0; i < w->n_found; i++) free(w->found[i].places);
    free(w->found);
    free(w->pk);
    free(w->pc);
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
    free(t->frozen_first);
    free(t->rp_place), free(t->rp_first);
    hls_pat__theme_tests_free(t);
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
  free(pt->first_cnt);
  free(pt->tpats);
  hls_pat__tcomp_free(pt->tc);
  for (size_t i = 0; i < pt->n_regions; i++) free(pt->regions[i]);
  free(pt->regions);
  free(pt->cutoff);
  free(pt->tcutoff);
  free(pt->wfp);
  hls_pat__restore_free(pt->rs);
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
  t->test_from = INT32_MIN;
  t->test_last = INT32_MAX;
  t->frozen_last = INT32_MIN;
  t->cells_from = INT32_MIN;
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

struct place *hls_pat__place_get(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES]) {
  return place_get(pt, origin);
}

struct theme *hls_pat__theme_get(struct hls_patterns *pt, const char *name, int kind) {
  return theme_get(pt, name, kind);
}

/* Theme t's patterns need recomputing (their stories, names, or a week's
 * FDR cutoff changed); its tests do not. */
bool hls_pat__mark_theme_episodes(struct hls_patterns *pt, struct theme *t) {
  if (t->dirty) return true;
  if (!GROW(pt->dirty_themes, pt->cap_dirty_themes, pt->n_dirty_themes + 1)) return false;
  t->dirty = true;
  pt->dirty_themes[pt->n_dirty_themes++] = t;
  return true;
}

/* Theme t's tests from week on need computing, to the last week held
 * (what changed reaches every later test: a place's history start, new
 * weeks). */
static bool mark_theme_at(struct hls_patterns *pt, struct theme *t, int32_t week) {
  if (week < t->test_from) t->test_from = week;
  t->test_last = INT32_MAX;
  return hls_pat__mark_theme_episodes(pt, t);
}

/* Theme t's cells of one week changed: the tests that look back at that
 * week need computing (hls_pat__theme_tests goes on to the end when a place's first
 * report of the theme moved). */
static bool mark_theme_week(struct hls_patterns *pt, struct theme *t, int32_t week) {
  if (week < t->test_from) t->test_from = week;
  if (t->test_last == INT32_MIN || (t->test_last != INT32_MAX && week > t->test_last)) t->test_last = week;
  return hls_pat__mark_theme_episodes(pt, t);
}

/* All of theme t's tests need computing. */
static bool mark_theme(struct hls_patterns *pt, struct theme *t) { return mark_theme_at(pt, t, INT32_MIN); }

static bool mark_all_themes(struct hls_patterns *pt) {
  for (size_t i = 0; i < pt->n_themes; i++)
    if (!mark_theme(pt, pt->themes[i])) return false;
  return true;
}

static bool mark_all_themes_at(struct hls_patterns *pt, int32_t week) {
  for (size_t i = 0; i < pt->n_themes; i++)
    if (!mark_theme_at(pt, pt->themes[i], week)) return false;
  return true;
}

static struct window *window_get(struct hls_patterns *pt, int32_t week) {
  int32_t k = floor_div(week, pt->prm.together_weeks);
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

int hls_pat__mark_windows_from(struct hls_patterns *pt, int32_t week) {
  int32_t W = pt->prm.together_weeks;
  for (struct window *w = pt->windows; w != NULL; w = w->hh.next)
    if ((int64_t)w->k * W + W - 1 >= week && !mark_window(pt, w)) return HLS_ENOMEM;
  return 0;
}

int hls_pat__mark_from(struct hls_patterns *pt, int32_t week) {
  if (pt->have_weeks && !mark_all_themes_at(pt, week)) return HLS_ENOMEM;
  return hls_pat__mark_windows_from(pt, week);
}

/* Together patterns count the stories of their window: they are emitted
 * again (a window's tests do not read stories). */
static void mark_stories_of(struct hls_patterns *pt) { pt->together_dirty = true; }

int hls_patterns_place(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], const char *name,
                       const char *region) {
  struct place *p = place_get(pt, origin);
  if (p == NULL) return HLS_ENOMEM;
  if (strcmp(p->name, name) == 0 && strcmp(p->region, region) == 0) return 0;
  uint32_t rix = 0;
  if (region[0] != '\0') {
    while (rix < pt->n_regions && strcmp(pt->regions[rix], region) != 0) rix++;
    /* Frozen weeks' tests are final: a new region (tested in every week)
     * or a place moving between regions needs them computed again. */
    if (pt->frozen && rix == pt->n_regions) return HLS_ESTATE;
    if (rix == pt->n_regions) {
      char **rs = realloc(pt->regions, (pt->n_regions + 1) * sizeof *rs);
      if (rs == NULL) return HLS_ENOMEM;
      pt->regions = rs;
      if ((rs[rix] = strdup(region)) == NULL) return HLS_ENOMEM;
      pt->n_regions++;
      /* Every theme is tested in every region: each theme's table of
       * tests is made anew, so all of them are computed again now (not
       * when some later fact happens to mark one, from its week only). */
      if (pt->have_weeks && !mark_all_themes(pt)) return HLS_ENOMEM;
    }
  }
  if (pt->frozen && p->facts > 0 && rix != p->region_ix) return HLS_ESTATE;
  /* a place of weeks whose saved tests were checked moving region */
  if (p->has_week && rix != p->region_ix && hls_pat__restore_cut(pt, p->first_week) != 0) return HLS_ENOMEM;
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->region, sizeof p->region, "%s", region);
  bool moved = p->region_ix != rix;
  p->region_ix = rix;
  p->version++;
  /* A place named before any of its facts (its profile is seq 1) is in no
   * pattern yet: nothing to recompute. */
  if (p->facts == 0) return 0;
  /* Regions are part of the computation (rising); names are not, but
   * patterns name their places: recompute those the place is in (its
   * cells' themes and windows, its stories' themes), so the change reaches
   * the feeds. */
  (void)moved;
  if (pt->frozen) {
    /* The region did not move (above): no test changes, but any pattern
     * may hold the place (frozen weeks no longer say which). */
    for (size_t i = 0; i < pt->n_themes; i++)
      if (!hls_pat__mark_theme_episodes(pt, pt->themes[i])) return HLS_ENOMEM;
    mark_stories_of(pt);
    return 0;
  }
  for (struct unit *u = pt->units; u != NULL; u = u->hh.next) {
    if (u->place != p->ix || u->n == 0) continue;
    for (size_t i = 0; i < u->n; i++)
      if (!mark_theme(pt, pt->themes[u->themes[i]])) return HLS_ENOMEM;
    struct window *w = window_get(pt, u->week);
    if (w == NULL || !mark_window(pt, w)) return HLS_ENOMEM;
  }
  for (struct story *s = pt->stories; s != NULL; s = s->hh.next) {
    if (s->key.place != p->ix) continue;
    for (size_t i = 0; i < s->n_themes; i++)
      if (!hls_pat__mark_theme_episodes(pt, pt->themes[s->themes[i]])) return HLS_ENOMEM;
  }
  if (p->facts > 0) mark_stories_of(pt);
  return 0;
}

/* --- facts ------------------------------------------------------------------------------ */

/* Make pt->wfp cover the weeks held once week is: gmin moving earlier
 * shifts it. Before any change, so that a failure changes nothing. */
static bool wfp_cover(struct hls_patterns *pt, int32_t week) {
  int32_t lo = pt->have_weeks && pt->gmin < week ? pt->gmin : week;
  int32_t hi = pt->have_weeks && pt->gmax > week ? pt->gmax : week;
  size_t n = (size_t)((int64_t)hi - lo + 1), was = pt->have_weeks ? (size_t)(pt->gmax - pt->gmin + 1) : 0;
  if (n == was) return true;
  if (!GROW(pt->wfp, pt->cap_wfp, n)) return false;
  size_t shift = pt->have_weeks ? (size_t)(pt->gmin - lo) : 0;
  if (shift > 0) memmove(pt->wfp + shift, pt->wfp, was * sizeof *pt->wfp);
  memset(pt->wfp, 0, shift * sizeof *pt->wfp);
  memset(pt->wfp + shift + was, 0, (n - shift - was) * sizeof *pt->wfp);
  return true;
}

static bool week_seen(struct hls_patterns *pt, int32_t week) {
  if (!wfp_cover(pt, week)) return false;
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
  /* Later weeks: every theme is tested in them (a pattern may end, the
   * week's FDR takes every test). */
  int32_t was = pt->gmax;
  pt->gmax = week;
  return mark_all_themes_at(pt, was + 1);
}

struct bucket *hls_pat__bucket_get(struct theme *t, int32_t week, bool create) {
  struct bucket *b;
  HASH_FIND(hh, t->weeks, &week, sizeof week, b);
  if (b != NULL || !create) return b;
  b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->week = week;
  /* A theme's weeks are alike: room for as many cells as the week before
   * had (else a bucket grows by doubling, each time copied: a fifth of a
   * digest's cost while the store loads). Without it, it grows anyway. */
  const struct bucket *prev;
  int32_t pw = week - 1;
  HASH_FIND(hh, t->weeks, &pw, sizeof pw, prev);
  if (prev != NULL && prev->n > 0 && (b->refs = malloc(prev->n * sizeof *b->refs)) != NULL) b->cap = prev->n;
  oom_flag = false;
  HASH_ADD(hh, t->weeks, week, sizeof week, b);
  if (oom_flag) {
    free(b->refs);
    free(b);
    return NULL;
  }
  return b;
}

/* Take a unit's cells out of its themes' buckets and its window. */
/* Take the refs of a unit's first k cells out of their themes' buckets. */
static void unit_refs_remove(struct hls_patterns *pt, const struct unit *u, size_t k) {
  for (size_t i = 0; i < k; i++) {
    struct theme *t = pt->themes[u->themes[i]];
    struct bucket *b = hls_pat__bucket_get(t, u->week, false);
    if (b != NULL) {
      for (size_t j = 0; j < b->n; j++)
        if (b->refs[j].place == u->place) {
          b->refs[j] = b->refs[--b->n];
          t->rp_valid = false; /* its first week there may move, or the place go */
          break;
        }
      if (b->n == 0) {
        HASH_DEL(t->weeks, b);
        free(b->refs);
        free(b);
      }
    }
    (void)mark_theme_week(pt, t, u->week);
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
  free(u->themes);
  u->themes = NULL;
  u->n = 0;
  return ok;
}

/* Put a unit's cells (cells[i] of theme u->themes[i]; borrowed) into its
 * themes' buckets and its window, all or nothing: on failure (no memory)
 * the unit is left with no cells, so the state stays consistent (the
 * digest's facts are lost; the caller says). The unit keeps only the
 * themes: the counts live in the buckets. */
static bool unit_link(struct hls_patterns *pt, struct unit *u, const struct cell *cells) {
  if (u->n == 0) return true;
  for (size_t i = 0; i < u->n; i++) {
    const struct cell *c = &cells[i];
    struct theme *t = pt->themes[c->theme];
    struct bucket *b = hls_pat__bucket_get(t, u->week, true);
    if (b == NULL || !GROW(b->refs, b->cap, b->n + 1) || !mark_theme_week(pt, t, u->week)) {
      if (b != NULL && b->n == 0) {
        HASH_DEL(t->weeks, b);
        free(b->refs);
        free(b);
      }
      unit_refs_remove(pt, u, i);
      free(u->themes);
      u->themes = NULL;
      u->n = 0;
      return false;
    }
    b->refs[b->n] = (struct cref){.place = u->place, .lo = c->lo, .hi = c->hi, .mw = c->mw,
                                  .wlo = c->wlo,
                                  .scales = c->scales, .withheld = c->withheld};
    memcpy(b->refs[b->n].ms, c->ms, sizeof c->ms);
    b->n++;
    hls_pat__theme_reported(t, u->place, u->week);
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

/* Whether a place other than pl had digests by week. A place's history
 * starting earlier changes the tests from that week on, and spread's
 * baseline in every week if no place's history had started by then (the
 * first week any place was at risk of taking a theme up): once weeks are
 * frozen, that needs the engine built again. */
static bool history_starts_before(const struct hls_patterns *pt, const struct place *pl, int32_t week) {
  for (size_t k = 0; k < pt->n_places; k++) {
    const struct place *o = pt->places[k];
    if (o != pl && o->has_week && o->first_week <= week) return true;
  }
  return false;
}

static uint32_t sat_add32(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

static uint64_t float_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* A unit's fp: its place, week and seq, and everything the tests read of
 * its cells (n of them, by theme). Two units with the same fp are the
 * same facts, but for a chance of 2^-64. */
static uint64_t unit_fp(uint32_t place, int32_t week, uint64_t seq, const struct cell *cells, size_t n) {
  uint64_t h = mix64(((uint64_t)place << 32 | (uint32_t)week) ^ 0x9e3779b97f4a7c15ULL);
  h = mix64(h ^ seq);
  h = mix64(h ^ n);
  for (size_t i = 0; i < n; i++) {
    const struct cell *c = &cells[i];
    h = mix64(h ^ ((uint64_t)c->theme << 32 | c->lo));
    h = mix64(h ^ ((uint64_t)c->hi << 32 | (uint64_t)c->scales << 1 | c->withheld));
    for (int sc = 0; sc < HLS_SCALE_COUNT; sc++) h = mix64(h ^ float_bits(c->ms[sc]) << (sc % 2 ? 32 : 0));
    h = mix64(h ^ (float_bits(c->mw) << 32 | float_bits(c->wlo)));
  }
  return h;
}

int hls_patterns_digest(struct hls_patterns *pt, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq,
                        const struct hls_digest *d) {
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) return HLS_EINVAL;
  for (size_t i = 0; i < d->n_cells; i++)
    if (d->cells[i].kind < 0 || d->cells[i].kind >= HLS_KIND_COUNT) return HLS_EINVAL;
  /* A frozen week's tests are final: a fact of one needs the engine built
   * again (hls_patterns_freeze). */
  if (pt->frozen && week < pt->freeze_week) return HLS_ESTATE;
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
  /* a week whose saved tests were checked (hls_patterns_restore_check) */
  if (hls_pat__restore_cut(pt, week) != 0) return HLS_ENOMEM;

  /* Fold the cells per theme key. */
  struct cell *cells = d->n_cells ? calloc(d->n_cells, sizeof *cells) : NULL;
  if (d->n_cells && cells == NULL) return HLS_ENOMEM;
  size_t n = 0;
  struct theme *t = NULL;
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    /* a theme's cells (its scales and stages) are next to each other in a
     * digest as decoded: looked up once */
    const struct hls_digest_cell *prev = i > 0 ? &d->cells[i - 1] : NULL;
    if (prev == NULL || prev->kind != c->kind || strcmp(prev->theme, c->theme) != 0)
      t = theme_get(pt, c->theme, c->kind);
    if (t == NULL) {
      free(cells);
      return HLS_ENOMEM;
    }
    uint32_t lo, hi;
    hls_disclosure_bounds(&d->method, c->scale, c->withheld, c->count, &lo, &hi);
    size_t j = n > 0 && cells[n - 1].theme == t->ix ? n - 1 : 0;
    while (j < n && cells[j].theme != t->ix) j++;
    if (j == n) cells[n++] = (struct cell){.theme = t->ix};
    cells[j].lo = sat_add32(cells[j].lo, lo);
    cells[j].hi = sat_add32(cells[j].hi, hi);
    /* What the tests count: a rounded cell at the middle of its interval,
     * a withheld one at its least (1: the theme was reported). Taken at
     * the middle of 1..t-1, one withheld cell would count as t/2 records
     * where it is most often one or two (a place's weekly counts of one
     * theme, stage and scale are small), and its first appearance at a
     * place would look like a jump. What is reported (expected) takes it
     * at the middle. */
    float mid = (float)(((double)lo + (double)hi) / 2.0);
    int sc = c->scale >= 0 && c->scale < HLS_SCALE_COUNT ? (int)c->scale : HLS_SCALE_PERSON;
    cells[j].ms[sc] += c->withheld ? (float)lo : mid;
    if (c->withheld) cells[j].mw += mid, cells[j].wlo += (float)lo;
    if (c->scale >= 0 && c->scale < HLS_SCALE_COUNT) cells[j].scales |= (uint8_t)(1u << c->scale);
    if (c->withheld) cells[j].withheld = true;
  }
  /* by theme (a digest's few by insertion: the most a peer may send, by
   * qsort) */
  if (n > 32) {
    qsort(cells, n, sizeof *cells, cell_cmp);
  } else {
    for (size_t i = 1; i < n; i++) {
      struct cell c = cells[i];
      size_t j = i;
      for (; j > 0 && cells[j - 1].theme > c.theme; j--) cells[j] = cells[j - 1];
      cells[j] = c;
    }
  }

  /* A place whose history starts earlier: every theme's tests of new
   * places (spread) and baselines count it from there. */
  bool earlier = pl->has_week && week < pl->first_week;
  if (earlier && pt->frozen && !history_starts_before(pt, pl, week)) {
    free(cells);
    return HLS_ESTATE;
  }
  struct dseq *ds = calloc(1, sizeof *ds);
  /* A place's first digest changes every theme's places at risk and
   * tested, from its week on. */
  bool first = !pl->has_week;
  if (ds == NULL || !week_seen(pt, week) ||
      (earlier && !(pt->frozen ? mark_all_themes_at(pt, week) : mark_all_themes(pt))) ||
      (first && !mark_all_themes_at(pt, week))) {
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
    if (!pl->has_week || week < pl->first_week) pl->first_week = week;
    pl->has_week = true;
  } else {
    (void)unit_unlink(pt, u);
    if (!u->erased) pt->wfp[week - pt->gmin] -= u->fp;
    u->fp = 0; /* counted again below, once linked */
  }
  u->seq = seq;
  u->erased = false;
  u->themes = n ? malloc(n * sizeof *u->themes) : NULL;
  if (n && u->themes == NULL) {
    free(ds);
    free(cells);
    return HLS_ENOMEM; /* the unit is left with no cells, as unit_link leaves it */
  }
  for (size_t i = 0; i < n; i++) u->themes[i] = cells[i].theme;
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
  bool linked = unit_link(pt, u, cells);
  u->fp = unit_fp(pl->ix, week, seq, cells, linked ? n : 0);
  pt->wfp[week - pt->gmin] += u->fp;
  free(cells);
  return linked ? 0 : HLS_ENOMEM;
}

static void story_unlink(struct hls_patterns *pt, struct story *s) {
  for (size_t i = 0; i < s->n_themes; i++) {
    struct theme *t = pt->themes[s->themes[i]];
    for (size_t j = 0; j < t->n_stories; j++)
      if (t->stories[j] == s) {
        t->stories[j] = t->stories[--t->n_stories];
        break;
      }
    (void)hls_pat__mark_theme_episodes(pt, t);
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
    if (t == NULL || !GROW(t->stories, t->cap_stories, t->n_stories + 1) || !hls_pat__mark_theme_episodes(pt, t)) {
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
  mark_stories_of(pt);
  return 0;
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
    story_unlink(pt, s);
    HASH_DEL(pt->stories, s);
    free(s);
    mark_stories_of(pt);
    return 0;
  }
  struct dseq *ds;
  HASH_FIND(hh, pt->dseqs, &key, sizeof key, ds);
  /* A digest of a frozen week (its seq no longer says which week once
   * frozen weeks gave their digests up): the engine is built again. */
  if (pt->frozen && (ds != NULL ? ds->week < pt->freeze_week : seq <= pl->frozen_seq)) return HLS_ESTATE;
  if (ds == NULL) return 0;
  uint64_t ukey = (uint64_t)pl->ix << 32 | (uint32_t)ds->week;
  struct unit *u;
  HASH_FIND(hh, pt->units, &ukey, sizeof ukey, u);
  if (u == NULL || u->seq != seq || u->erased) return 0; /* an older version, or erased: already out */
  if (hls_pat__restore_cut(pt, ds->week) != 0) return HLS_ENOMEM;
  if (!unit_unlink(pt, u)) return HLS_ENOMEM;
  u->erased = true;
  pt->wfp[ds->week - pt->gmin] -= u->fp; /* an erased digest counts as none */
  u->fp = 0;
  return 0;
}

bool hls_patterns_dirty(const struct hls_patterns *pt) {
  return pt->n_dirty_themes > 0 || pt->n_dirty_windows > 0 || pt->together_dirty;
}

double hls_patterns_pending_share(const struct hls_patterns *pt) {
  if (!pt->have_weeks || pt->n_themes == 0) return 0;
  int64_t reach = tests_reach(&pt->prm); /* as hls_pat__theme_tests reads: the baselines before */
  int64_t span = (int64_t)pt->gmax - pt->gmin + 1;
  double pending = 0;
  for (size_t i = 0; i < pt->n_dirty_themes; i++) {
    const struct theme *t = pt->dirty_themes[i];
    if (t->test_from == INT32_MAX) continue;
    int64_t from = (int64_t)t->test_from - reach, to = pt->gmax;
    if (pt->frozen && from < (int64_t)pt->freeze_week - reach) from = (int64_t)pt->freeze_week - reach;
    if (from < pt->gmin) from = pt->gmin;
    if (t->test_last != INT32_MAX && t->test_last != INT32_MIN && (int64_t)t->test_last + reach < to)
      to = (int64_t)t->test_last + reach;
    if (to >= from) pending += (double)(to - from + 1);
  }
  double share = pending / ((double)span * (double)pt->n_themes);
  return share > 1 ? 1 : share;
}

/* --- the update ------------------------------------------------------------------------- */

void hls_patterns_compact(struct hls_patterns *pt) {
  for (size_t i = 0; i < pt->n_themes; i++)
    for (struct bucket *b = pt->themes[i]->weeks; b != NULL; b = b->hh.next) {
      if (b->n == 0 || b->n == b->cap) continue;
      struct cref *r = realloc(b->refs, b->n * sizeof *r);
      if (r == NULL) continue; /* it keeps its room */
      b->refs = r;
      b->cap = b->n;
    }
}

/* --- freezing weeks --------------------------------------------------------------------- */

/* Whether place is one of pattern p's and p covers week. */
static bool pat_holds(const struct hls_pattern *p, uint32_t place, int32_t week) {
  return week >= p->week_from && week <= p->week_to &&
         bsearch(&place, p->places, p->n_places, sizeof *p->places, u32_cmp) != NULL;
}

/* Theme t's patterns that may still change (a discovery in a week from
 * freeze_week on can extend them) read every cell of their weeks: t keeps
 * its cells whole from the first of their weeks (or from 'from'). */
static int32_t theme_keep_from(const struct hls_patterns *pt, const struct theme *t, int32_t week, int32_t win_open,
                               int32_t from) {
  for (size_t i = 0; i < t->n_pats; i++) {
    const struct hls_pattern *p = &t->pats[i]->p;
    /* an episode closes end_weeks after its last evidence */
    if (p->week_to >= week - pt->prm.end_weeks && p->week_from < from) from = p->week_from;
  }
  for (size_t i = 0; i < pt->n_tpats; i++) {
    const struct hls_pattern *p = &pt->tpats[i]->p;
    if (p->theme != t->ix && p->theme2 != t->ix) continue;
    /* a run of windows goes on in the next window only */
    if (p->week_to >= win_open && p->week_from < from) from = p->week_from;
  }
  return from;
}

/* Room in t->frozen_first for every place. */
static bool theme_frozen_first_size(struct hls_patterns *pt, struct theme *t) {
  if (t->n_frozen_first >= pt->n_places) return true;
  int32_t *ff = realloc(t->frozen_first, pt->n_places * sizeof *ff);
  if (ff == NULL) return false;
  for (size_t k = t->n_frozen_first; k < pt->n_places; k++) ff[k] = INT32_MAX;
  t->frozen_first = ff;
  t->n_frozen_first = pt->n_places;
  return true;
}

/* Give up theme t's cells of weeks [t->cells_from, keep): each place's
 * first such week is kept (its history of the theme), and the cells of
 * the places of the patterns of t in their weeks (their counts and
 * lineage). t->frozen_first is sized (theme_frozen_first_size): nothing
 * here fails. */
static void theme_freeze(struct hls_patterns *pt, struct theme *t, int32_t keep) {
  int32_t from = t->cells_from == INT32_MIN ? pt->gmin : t->cells_from;
  if (from >= keep) return;
  for (int32_t w = from; w < keep; w++) {
    struct bucket *b = hls_pat__bucket_get(t, w, false);
    if (b == NULL) continue;
    size_t n = 0;
    for (size_t j = 0; j < b->n; j++) {
      uint32_t pl = b->refs[j].place;
      if (w < t->frozen_first[pl]) t->frozen_first[pl] = w;
      if (w > t->frozen_last) t->frozen_last = w;
      bool held = false;
      for (size_t i = 0; i < t->n_pats && !held; i++) held = pat_holds(&t->pats[i]->p, pl, w);
      for (size_t i = 0; i < pt->n_tpats && !held; i++) {
        const struct hls_pattern *p = &pt->tpats[i]->p;
        held = (p->theme == t->ix || p->theme2 == t->ix) && pat_holds(p, pl, w);
      }
      if (held) b->refs[n++] = b->refs[j];
    }
    b->n = n;
    if (n == 0) {
      HASH_DEL(t->weeks, b);
      free(b->refs);
      free(b);
    } else if (n < b->cap) {
      struct cref *r = realloc(b->refs, n * sizeof *r);
      if (r != NULL) b->refs = r, b->cap = n;
    }
  }
  t->cells_from = keep;
}

/* Whether any of a unit's themes still holds its cells of its week. */
static bool unit_has_cells(const struct hls_patterns *pt, const struct unit *u) {
  for (size_t i = 0; i < u->n; i++) {
    const struct bucket *b = hls_pat__bucket_get(pt->themes[u->themes[i]], u->week, false);
    if (b == NULL) continue;
    for (size_t j = 0; j < b->n; j++)
      if (b->refs[j].place == u->place) return true;
  }
  return false;
}

int hls_patterns_freeze(struct hls_patterns *pt, int32_t week) {
  if (hls_patterns_dirty(pt)) return HLS_ESTATE;
  if (!pt->have_weeks) return 0;
  /* Weeks not held yet are not computed yet: they cannot be final. */
  if (week > pt->gmax + 1) week = pt->gmax + 1;
  if (week <= pt->gmin || (pt->frozen && week <= pt->freeze_week)) return 0;
  const struct hls_pat_params *prm = &pt->prm;
  int32_t W = prm->together_weeks, kf = floor_div(week, W);
  /* Windows from kf on may be computed again; their tests read the units
   * and cells of the TOGETHER_REACH windows before. */
  int32_t win_hist = (kf - TOGETHER_REACH) * W, win_open = (kf - 1) * W;
  int32_t cells = week - tests_reach(prm);
  if (win_hist < cells) cells = win_hist;
  int32_t units_was = pt->frozen ? pt->frozen_units : pt->gmin;
  /* All that is allocated first: what follows does not fail. */
  for (size_t i = 0; i < pt->n_themes; i++)
    if (!theme_frozen_first_size(pt, pt->themes[i])) return HLS_ENOMEM;
  for (size_t i = 0; i < pt->n_themes; i++) {
    struct theme *t = pt->themes[i];
    theme_freeze(pt, t, theme_keep_from(pt, t, week, win_open, cells));
  }
  /* Digests of frozen weeks: no fact about them is taken any more, so
   * their (place, seq) -> week entries go; a place's highest such seq
   * tells an erasure of one. */
  for (struct dseq *d = pt->dseqs, *next; d != NULL; d = next) {
    next = d->hh.next; /* d may be deleted */
    if (d->week >= week) continue;
    struct place *pl = pt->places[d->key.place];
    if (d->key.seq > pl->frozen_seq) pl->frozen_seq = d->key.seq;
    HASH_DEL(pt->dseqs, d);
    free(d);
  }
  /* Windows no later window reads: their units go. */
  for (struct window *w = pt->windows; w != NULL; w = w->hh.next) {
    if (w->frozen || w->k * W + W > win_hist) continue;
    for (size_t i = 0; i < w->n; i++) w->units[i]->in_window = false;
    free(w->units);
    w->units = NULL;
    w->n = w->cap = 0;
    w->frozen = true;
  }
  /* Units of those weeks: kept without their themes where a pattern kept
   * their cells (lineage gives their seq), else gone. */
  for (int32_t wk = units_was; wk < win_hist; wk++)
    for (size_t k = 0; k < pt->n_places; k++) {
      uint64_t key = (uint64_t)k << 32 | (uint32_t)wk;
      struct unit *u;
      HASH_FIND(hh, pt->units, &key, sizeof key, u);
      if (u == NULL || u->frozen) continue;
      if (unit_has_cells(pt, u)) {
        free(u->themes);
        u->themes = NULL;
        u->n = 0;
        u->frozen = true;
      } else {
        HASH_DEL(pt->units, u);
        free(u->themes);
        free(u);
      }
    }
  pt->frozen = true;
  pt->freeze_week = week;
  pt->frozen_units = win_hist > units_was ? win_hist : units_was;
  return 0;
}

int32_t hls_patterns_frozen_before(const struct hls_patterns *pt) { return pt->frozen ? pt->freeze_week : INT32_MIN; }

int32_t hls_patterns_first_week(const struct hls_patterns *pt) { return pt->have_weeks ? pt->gmin : INT32_MIN; }

void hls_patterns_set_stop(struct hls_patterns *pt, bool (*stop)(void *ctx), void *ctx) {
  pt->stop = stop;
  pt->stop_ctx = ctx;
}

static bool stopped(const struct hls_patterns *pt) { return pt->stop != NULL && pt->stop(pt->stop_ctx); }

void hls_patterns_set_threads(struct hls_patterns *pt, int threads) {
  pt->threads = threads < 1 ? 1 : threads > HLS_PAT_MAX_THREADS ? HLS_PAT_MAX_THREADS : threads;
}

/* The dirty themes' tests, shared out among threads: each takes the next
 * theme not taken, into its own scratch (struct tcomp). A theme's tests
 * read only its own cells and the places, and write only its own
 * results, so they come out the same however the themes are shared. */
struct theme_pool {
  struct hls_patterns *pt;
  struct theme **queue; /* the dirty themes, the largest first when shared */
  size_t n_queue;
  atomic_size_t next;
  atomic_int rc;     /* the first error, 0 if none */
  atomic_bool halt;  /* an error, or the host asked to stop */
};

static void pool_fail(struct theme_pool *tp, int rc) {
  int none = 0;
  atomic_compare_exchange_strong(&tp->rc, &none, rc);
  atomic_store(&tp->halt, true);
}

/* Compute themes until none is left. The host's stop is asked on the
 * calling thread only (main), between one theme and the next. */
static void pool_run(struct theme_pool *tp, struct tcomp *c, bool main) {
  struct hls_patterns *pt = tp->pt;
  for (;;) {
    if (atomic_load(&tp->halt)) return;
    if (main && stopped(pt)) {
      pool_fail(tp, HLS_ECLOSED);
      return;
    }
    size_t i = atomic_fetch_add(&tp->next, 1);
    if (i >= tp->n_queue) return;
    struct theme *t = tp->queue[i];
    if (t->test_from == INT32_MAX) continue;
    int32_t from = t->test_from <= pt->gmin ? 0 : t->test_from - pt->gmin;
    int32_t last = t->test_last == INT32_MAX ? INT32_MAX : t->test_last - pt->gmin;
    int rc = hls_pat__theme_tests(pt, c, t, from, last);
    if (rc != 0) {
      pool_fail(tp, rc);
      return;
    }
    t->test_from = INT32_MAX, t->test_last = INT32_MIN;
  }
}

/* A theme's cells held: about what its tests cost. */
struct theme_size {
  struct theme *t;
  size_t cells;
};

static int theme_size_cmp(const void *a, const void *b) {
  const struct theme_size *x = a, *y = b;
  if (x->cells != y->cells) return (x->cells < y->cells) - (x->cells > y->cells);
  return (x->t->ix > y->t->ix) - (x->t->ix < y->t->ix);
}

/* The themes to share out, the largest first, so that no thread is left
 * with a large one when the others are done; NULL if out of memory. */
static struct theme **pool_order(struct hls_patterns *pt) {
  size_t n = pt->n_dirty_themes;
  struct theme_size *ts = malloc((n ? n : 1) * sizeof *ts);
  struct theme **out = malloc((n ? n : 1) * sizeof *out);
  if (ts == NULL || out == NULL) {
    free(ts), free(out);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    struct theme *t = pt->dirty_themes[i];
    ts[i] = (struct theme_size){t, 0};
    for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next) ts[i].cells += bk->n;
  }
  qsort(ts, n, sizeof *ts, theme_size_cmp);
  for (size_t i = 0; i < n; i++) out[i] = ts[i].t;
  free(ts);
  return out;
}

struct pool_worker {
  pthread_t th;
  struct theme_pool *tp;
  struct tcomp *c;
};

static void *pool_worker_main(void *arg) {
  struct pool_worker *w = arg;
  pool_run(w->tp, w->c, false);
  return NULL;
}

/* pt->first_cnt, for the themes' tests of this update. */
static int first_weeks(struct hls_patterns *pt) {
  if (!pt->have_weeks) return 0;
  size_t L = (size_t)(pt->gmax - pt->gmin + 1);
  if (L > pt->cap_first_cnt) {
    int32_t *fc = realloc(pt->first_cnt, L * sizeof *fc);
    if (fc == NULL) return HLS_ENOMEM;
    pt->first_cnt = fc;
    pt->cap_first_cnt = L;
  }
  memset(pt->first_cnt, 0, L * sizeof *pt->first_cnt);
  for (size_t k = 0; k < pt->n_places; k++) {
    const struct place *pl = pt->places[k];
    if (!pl->has_week) continue;
    int32_t f = pl->first_week - pt->gmin;
    pt->first_cnt[f < 0 ? 0 : f]++;
  }
  return 0;
}

int hls_patterns_update(struct hls_patterns *pt, hls_pat_change_fn fn, void *ctx) {
  struct ctx_update cu = {fn, ctx, 0};
  pt->gen++;
  int rc = 0;
  if (pt->tc == NULL && (pt->tc = calloc(1, sizeof *pt->tc)) == NULL) return HLS_ENOMEM;
  /* 1. The dirty themes' and windows' tests. A window's counts are the
   * history of the next ones: those are recomputed too, in order. */
  for (size_t i = 0, n = pt->n_dirty_windows; i < n && rc == 0; i++)
    for (int32_t h = 1; h <= TOGETHER_REACH && rc == 0; h++) {
      int32_t k = pt->dirty_windows[i]->k + h;
      struct window *nw;
      HASH_FIND(hh, pt->windows, &k, sizeof k, nw);
      if (nw != NULL && !mark_window(pt, nw)) rc = HLS_ENOMEM;
    }
  if (rc != 0) return rc;
  if ((rc = first_weeks(pt)) != 0) return rc;
  if (pt->n_dirty_windows > 1) qsort(pt->dirty_windows, pt->n_dirty_windows, sizeof *pt->dirty_windows, window_k_cmp);
  /* The themes go to every thread; the windows, each of which reads the
   * one before, to this one first (they read the themes' cells, which
   * the themes' tests do not change). */
  struct theme_pool tp = {.pt = pt, .queue = pt->dirty_themes, .n_queue = pt->n_dirty_themes};
  atomic_init(&tp.next, 0);
  atomic_init(&tp.rc, 0);
  atomic_init(&tp.halt, false);
  struct pool_worker wk[HLS_PAT_MAX_THREADS];
  size_t nw = 0, want = pt->threads > 1 ? (size_t)pt->threads - 1 : 0;
  if (want > pt->n_dirty_themes) want = pt->n_dirty_themes;
  struct theme **order = want > 0 ? pool_order(pt) : NULL;
  if (order != NULL) tp.queue = order;
  else want = 0; /* out of memory: this thread alone, in the usual order */
  for (; nw < want; nw++) {
    wk[nw] = (struct pool_worker){.tp = &tp, .c = calloc(1, sizeof *wk[nw].c)};
    /* fewer threads (none) if the system will not give more */
    if (wk[nw].c == NULL) break;
    if (pthread_create(&wk[nw].th, NULL, pool_worker_main, &wk[nw]) != 0) {
      free(wk[nw].c);
      break;
    }
  }
  for (size_t i = 0; i < pt->n_dirty_windows && rc == 0; i++) {
    if (atomic_load(&tp.halt)) break;
    if (stopped(pt)) {
      rc = HLS_ECLOSED;
      break;
    }
    rc = hls_pat__window_compute(pt, pt->dirty_windows[i]);
    pt->together_dirty = true;
  }
  if (rc != 0) pool_fail(&tp, rc);
  pool_run(&tp, pt->tc, true);
  for (size_t i = 0; i < nw; i++) {
    pthread_join(wk[i].th, NULL);
    hls_pat__tcomp_free(wk[i].c);
  }
  free(order);
  if (rc == 0) rc = atomic_load(&tp.rc);
  /* 2. Each week's FDR cutoff; the themes it decides differently. */
  if (rc == 0) rc = hls_pat__cutoffs_compute(pt);
  /* 3. Their patterns. */
  size_t done_t = 0;
  for (; done_t < pt->n_dirty_themes && rc == 0 && cu.rc == 0; done_t++) {
    if (stopped(pt)) {
      rc = HLS_ECLOSED;
      break;
    }
    rc = hls_pat__theme_episodes(pt, pt->dirty_themes[done_t], &cu);
    if (rc == 0 && cu.rc == 0) pt->dirty_themes[done_t]->dirty = false;
  }
  if (rc == 0 && cu.rc == 0 && pt->together_dirty) {
    rc = hls_pat__together_emit(pt, &cu);
    if (rc == 0 && cu.rc == 0) {
      pt->together_dirty = false;
      for (size_t i = 0; i < pt->n_dirty_windows; i++) pt->dirty_windows[i]->dirty = false;
    }
  }
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
