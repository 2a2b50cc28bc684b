/* Reading the pattern engine (patterns.h): its patterns, by id or all in
 * order, their places and themes, their lineage (docs/patterns.md,
 * "Lineage": the cells and stories behind a pattern), and counts. */
#include "patterns_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

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

int hls_patterns_theme_usage(struct hls_patterns *pt, uint32_t theme, uint32_t *places, int32_t *last_week) {
  if (theme >= pt->n_themes) return HLS_ENOTFOUND;
  uint32_t st = next_stamp(pt), n = 0;
  const struct theme *t = pt->themes[theme];
  int32_t last = t->frozen_last; /* the cells frozen weeks gave up (INT32_MIN: none) */
  for (size_t k = 0; k < t->n_frozen_first; k++)
    if (t->frozen_first[k] != INT32_MAX) pt->mark[k] = st, n++;
  for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next) {
    if (bk->n > 0 && bk->week > last) last = bk->week;
    for (size_t j = 0; j < bk->n; j++)
      if (pt->mark[bk->refs[j].place] != st) pt->mark[bk->refs[j].place] = st, n++;
  }
  *places = n;
  *last_week = last;
  return 0;
}

static bool in_places(const struct hls_pattern *p, uint32_t place) {
  return bsearch(&place, p->places, p->n_places, sizeof *p->places, u32_cmp) != NULL;
}

/* The seq of the digest that gave place its cells of week. */
static uint64_t unit_seq(const struct hls_patterns *pt, uint32_t place, int32_t week) {
  uint64_t key = (uint64_t)place << 32 | (uint32_t)week;
  const struct unit *u;
  HASH_FIND(hh, pt->units, &key, sizeof key, u);
  return u != NULL ? u->seq : 0;
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
      struct bucket *bk = hls_pat__bucket_get(t, w, false);
      if (bk == NULL) continue;
      for (size_t i = 0; i < bk->n; i++) {
        const struct cref *c = &bk->refs[i];
        if (!in_places(p, c->place)) continue;
        if (!GROW(refs, cap, n + 1)) {
          free(refs);
          return HLS_ENOMEM;
        }
        refs[n++] = (struct hls_pat_cell_ref){.place = c->place, .week = w, .seq = unit_seq(pt, c->place, w),
                                              .theme = t->ix,
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
  for (size_t i = 0; i < pt->n_themes; i++) {
    for (const struct bucket *b = pt->themes[i]->weeks; b != NULL; b = b->hh.next) out->cells += b->n;
    out->weeks_taken += pt->themes[i]->taken;
  }
  out->windows_taken = pt->windows_taken;
  out->frozen_before = pt->frozen ? pt->freeze_week : INT32_MIN;
  for (const struct pat *p = pt->pats; p != NULL; p = p->hh.next) out->by_signal[p->p.signal]++;
}

/* --- the tests as one hash ---------------------------------------------------------------- */

static int theme_ptr_cmp(const void *a, const void *b) {
  return strcmp((*(struct theme *const *)a)->key, (*(struct theme *const *)b)->key);
}

static void hash_places(crypto_generichash_state *st, const struct hls_patterns *pt, const uint32_t *places,
                        size_t n) {
  for (size_t i = 0; i < n; i++)
    crypto_generichash_update(st, pt->places[places[i]]->origin, HLS_KEY_BYTES);
}

int hls_patterns_tests_hash(const struct hls_patterns *pt, uint8_t out[32]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  int32_t span[2] = {pt->have_weeks ? pt->gmin : 0, pt->have_weeks ? pt->gmax : -1};
  crypto_generichash_update(&st, (const uint8_t *)span, sizeof span);
  struct theme **ts = malloc((pt->n_themes ? pt->n_themes : 1) * sizeof *ts);
  if (ts == NULL) return HLS_ENOMEM;
  if (pt->n_themes > 0) {
    memcpy(ts, pt->themes, pt->n_themes * sizeof *ts);
    qsort(ts, pt->n_themes, sizeof *ts, theme_ptr_cmp);
  }
  for (size_t i = 0; i < pt->n_themes; i++) {
    const struct theme *t = ts[i];
    crypto_generichash_update(&st, (const uint8_t *)t->key, strlen(t->key) + 1);
    /* The tests run (NAN: none), by week and unit: how many units a
     * theme's table has room for (regions met before it was last
     * computed) is not a result. */
    for (size_t k = 0; k < t->pv_len * t->pv_units; k++) {
      if (isnan(t->pv[k])) continue;
      uint32_t at[2] = {(uint32_t)(k / t->pv_units), (uint32_t)(k % t->pv_units)};
      float v[3] = {t->pv[k], t->sc1[k], t->sc2[k]};
      crypto_generichash_update(&st, (const uint8_t *)at, sizeof at);
      crypto_generichash_update(&st, (const uint8_t *)v, sizeof v);
      crypto_generichash_update(&st, &t->back[k], 1);
      if (t->mem[k] != NULL) hash_places(&st, pt, t->mem[k] + 1, t->mem[k][0]);
    }
  }
  free(ts);
  size_t nw = HASH_COUNT(pt->windows), i = 0;
  struct window **ws = malloc((nw ? nw : 1) * sizeof *ws);
  if (ws == NULL) return HLS_ENOMEM;
  for (struct window *w = pt->windows; w != NULL; w = w->hh.next) ws[i++] = w;
  qsort(ws, nw, sizeof *ws, window_k_cmp);
  /* A pair's places are read only by its together pattern, if any: a
   * copy of saved tests (hls_patterns_save) keeps only those. */
  bool *in_run;
  if (hls_pat__found_in_runs(pt, ws, nw, &in_run) != 0) {
    free(ws);
    return HLS_ENOMEM;
  }
  size_t at = 0;
  for (i = 0; i < nw; at += ws[i]->n_found, i++) {
    const struct window *w = ws[i];
    crypto_generichash_update(&st, (const uint8_t *)&w->k, sizeof w->k);
    crypto_generichash_update(&st, (const uint8_t *)w->tests, w->n_tests * sizeof *w->tests);
    for (size_t f = 0; f < w->n_found; f++) {
      const struct pfound *pf = &w->found[f];
      crypto_generichash_update(&st, (const uint8_t *)pt->themes[pf->a]->key, strlen(pt->themes[pf->a]->key) + 1);
      crypto_generichash_update(&st, (const uint8_t *)pt->themes[pf->b]->key, strlen(pt->themes[pf->b]->key) + 1);
      double v[3] = {pf->p, pf->o, pf->e};
      crypto_generichash_update(&st, (const uint8_t *)v, sizeof v);
      for (size_t q = 0; q < (in_run[at + f] ? pf->n_places : 0); q++) {
        const struct ptab *tb = &pf->places[q];
        hash_places(&st, pt, &tb->place, 1);
        crypto_generichash_update(&st, tb->w, sizeof tb->w);
        crypto_generichash_update(&st, tb->a, sizeof tb->a);
        crypto_generichash_update(&st, tb->b, sizeof tb->b);
        crypto_generichash_update(&st, tb->ab, sizeof tb->ab);
      }
    }
  }
  free(ws);
  free(in_run);
  crypto_generichash_update(&st, (const uint8_t *)pt->cutoff, pt->n_cutoff * sizeof *pt->cutoff);
  crypto_generichash_update(&st, (const uint8_t *)pt->tcutoff, pt->n_cutoff * sizeof *pt->tcutoff);
  crypto_generichash_final(&st, out, 32);
  return 0;
}
