/* together, the signal of the pattern engine on pairs of themes
 * (docs/patterns.md, "together: two themes starting to be reported
 * together"): the tests of a window's pairs and the patterns of the runs
 * of windows in which a pair held. */
#include "patterns_internal.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* --- together --------------------------------------------------------------------------- */

static int pair_key_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Per place of a window and the windows before it: weeks with a digest,
 * weeks reporting a, b, both. */
struct pcount {
  uint32_t place;
  uint32_t w, a, b, ab;    /* this window */
  uint32_t hw, hab;        /* the history windows */
};

static int pcount_cmp(const void *x, const void *y) {
  uint32_t a = ((const struct pcount *)x)->place, b = ((const struct pcount *)y)->place;
  return (a > b) - (a < b);
}

/* Test pair (a, b) in window w: place-weeks reporting both against the
 * larger of two expectations at each place, its own frequencies of each
 * theme this window (independence) and its rate of reporting both in the
 * windows before (history). */
/* Scratch of together_test, per place: its weeks in this window and the
 * windows before (wcnt, hcnt, set once a window), and the pair's counts
 * (zero between pairs). */
struct tscratch {
  uint32_t *wcnt, *hcnt, *ca, *cb, *cab, *chab;
  uint8_t *inpc;
  uint32_t *touched;
};

/* Count, week by week from the themes' buckets, the place-weeks of a, of
 * b, and of both in weeks [from, to]; both counts only (history) when
 * hist. */
static void pair_weeks(struct hls_patterns *pt, struct tscratch *ts, size_t *nt, uint32_t a, uint32_t b, int32_t from,
                       int32_t to, bool hist) {
  for (int32_t wk = from; wk <= to; wk++) {
    struct bucket *ba = hls_pat__bucket_get(pt->themes[a], wk, false);
    struct bucket *bb = hls_pat__bucket_get(pt->themes[b], wk, false);
    if (ba == NULL || bb == NULL) {
      if (hist) continue;
    }
    uint32_t st = next_stamp(pt);
    if (ba != NULL)
      for (size_t r = 0; r < ba->n; r++) {
        uint32_t pl = ba->refs[r].place;
        pt->mark[pl] = st;
        if (hist) continue;
        if (ts->ca[pl] == 0 && ts->cb[pl] == 0) ts->touched[(*nt)++] = pl;
        ts->ca[pl]++;
      }
    if (bb != NULL)
      for (size_t r = 0; r < bb->n; r++) {
        uint32_t pl = bb->refs[r].place;
        bool both = pt->mark[pl] == st;
        if (hist) {
          if (both && ts->inpc[pl]) ts->chab[pl]++;
          continue;
        }
        if (ts->ca[pl] == 0 && ts->cb[pl] == 0) ts->touched[(*nt)++] = pl;
        ts->cb[pl]++;
        if (both) ts->cab[pl]++;
      }
  }
}

/* Test pair (a, b) in window w: place-weeks reporting both against the
 * larger of two expectations at each place, its own frequencies of each
 * theme this window (independence) and its rate of reporting both in the
 * windows before (history). */
static int together_test(struct hls_patterns *pt, struct window *w, struct tscratch *ts, uint32_t a, uint32_t b,
                         struct pcount **pc, size_t *cap_pc, double *p_out, double *o_out, double *e_out,
                         uint32_t **members, size_t *n_members) {
  const struct hls_pat_params *prm = &pt->prm;
  int32_t W = prm->together_weeks;
  size_t np = 0, nt = 0;
  pair_weeks(pt, ts, &nt, a, b, w->k * W, w->k * W + W - 1, false);
  int rc = 0;
  for (size_t i = 0; i < nt; i++) {
    uint32_t pl = ts->touched[i];
    if (rc == 0 && ts->ca[pl] > 0 && ts->cb[pl] > 0) {
      if (!grow((void **)pc, cap_pc, np + 1, sizeof **pc)) rc = HLS_ENOMEM;
      else {
        (*pc)[np++] = (struct pcount){.place = pl, .w = ts->wcnt[pl], .a = ts->ca[pl], .b = ts->cb[pl],
                                      .ab = ts->cab[pl], .hw = ts->hcnt[pl]};
        ts->inpc[pl] = 1;
      }
    }
    ts->ca[pl] = ts->cb[pl] = ts->cab[pl] = 0;
  }
  if (rc == 0) pair_weeks(pt, ts, &nt, a, b, (w->k - TOGETHER_HISTORY) * W, w->k * W - 1, true);
  for (size_t i = 0; i < np; i++) {
    uint32_t pl = (*pc)[i].place;
    (*pc)[i].hab = ts->chab[pl];
    ts->chab[pl] = 0;
    ts->inpc[pl] = 0;
  }
  if (rc != 0) return rc;
  /* in place order: the sums below do not depend on arrival order */
  if (np > 1) qsort(*pc, np, sizeof **pc, pcount_cmp);
  double o = 0, e = 0;
  size_t places = 0;
  *n_members = 0;
  for (size_t i = 0; i < np; i++) {
    const struct pcount *x = &(*pc)[i];
    double ei = (double)x->a * x->b / x->w;
    /* history: its rate of both, with half a place-week of prior at the
     * independence rate */
    if (x->hw > 0) {
      double eh = ((double)x->hab + 0.5 * ei / x->w) / ((double)x->hw + 0.5) * x->w;
      if (eh > ei) ei = eh;
    }
    o += x->ab;
    e += ei;
    if (x->ab > 0) places++;
    if (x->ab > 0 && x->ab > ei && members != NULL) (*members)[(*n_members)++] = x->place;
  }
  *o_out = o;
  *e_out = e;
  *p_out = o >= prm->together_min_count && places >= (size_t)prm->together_min_places
               ? hls_pat__poisson_midp(o, e)
               : 1.0;
  return 0;
}

/* The same-week count of pair key in window w (its stored pair counts). */
static uint32_t window_pair_count(const struct window *w, uint64_t key) {
  size_t lo = 0, hi = w->n_pk;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (w->pk[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < w->n_pk && w->pk[lo] == key ? w->pc[lo] : 0;
}

/* Test the window's pairs: count, for every pair of themes, the
 * place-weeks reporting both (kept in w->pk/pc for the windows after);
 * screen each pair with at least together_min_count of them against the
 * larger of two cheap expectations, the window's (themes in proportion to
 * their place-weeks, place-weeks in proportion to their themes: Chung-Lu)
 * and the pair's own rate in the windows before; test those the screen
 * keeps (together_test). Every p-value goes to w->tests; pairs that kept
 * evidence (p <= keep_p), with their places, to w->found. */
int hls_pat__window_compute(struct hls_patterns *pt, struct window *w) {
  if (w->frozen) return 0; /* final: its units are given up (hls_patterns_freeze) */
  const struct hls_pat_params *prm = &pt->prm;
  for (size_t i = 0; i < w->n_found; i++) free(w->found[i].places);
  w->n_found = 0;
  w->n_tests = 0;
  w->n_pk = 0;
  if (w->n == 0) return 0;
  int rc = 0;
  struct tscratch ts = {0};
  size_t NP = pt->n_places ? pt->n_places : 1;
  ts.wcnt = calloc(NP, sizeof *ts.wcnt), ts.hcnt = calloc(NP, sizeof *ts.hcnt);
  ts.ca = calloc(NP, sizeof *ts.ca), ts.cb = calloc(NP, sizeof *ts.cb), ts.cab = calloc(NP, sizeof *ts.cab);
  ts.chab = calloc(NP, sizeof *ts.chab), ts.inpc = calloc(NP, sizeof *ts.inpc);
  ts.touched = malloc(NP * sizeof *ts.touched);
  uint32_t *marg = calloc(pt->n_themes, sizeof *marg);
  uint32_t *local = malloc(pt->n_themes * sizeof *local), *global = malloc(pt->n_themes * sizeof *global);
  uint32_t *dense = NULL;
  uint64_t *keys = NULL;
  struct pcount *pc = NULL;
  size_t cap_pc = 0, nk = 0, pairs = 0;
  uint32_t *members = malloc(w->n * sizeof *members);
  if (marg == NULL || members == NULL || local == NULL || global == NULL || ts.wcnt == NULL || ts.hcnt == NULL ||
      ts.ca == NULL || ts.cb == NULL || ts.cab == NULL || ts.chab == NULL || ts.inpc == NULL || ts.touched == NULL) {
    rc = HLS_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < w->n; i++) ts.wcnt[w->units[i]->place]++;
  double D = 0, S2 = 0;
  for (size_t i = 0; i < w->n; i++) {
    size_t d = w->units[i]->n;
    pairs += d * (d - (d > 0)) / 2;
    D += (double)d;
    S2 += (double)d * (double)d;
    for (size_t c = 0; c < d; c++) marg[w->units[i]->themes[c]]++;
  }
  size_t T = 0;
  for (uint32_t th = 0; th < pt->n_themes; th++)
    if (marg[th]) local[th] = (uint32_t)T, global[T++] = th;
  /* Pair counts, sorted by key (theme numbers, lower first). */
  if (T <= 2048) {
    dense = calloc(T * T > 0 ? T * T : 1, sizeof *dense);
    if (dense == NULL) {
      rc = HLS_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < w->n; i++) {
      const struct unit *u = w->units[i];
      for (size_t x = 0; x < u->n; x++) {
        size_t row = (size_t)local[u->themes[x]] * T;
        for (size_t y = x + 1; y < u->n; y++) dense[row + local[u->themes[y]]]++;
      }
    }
    for (size_t x = 0; x < T; x++)
      for (size_t y = x + 1; y < T; y++)
        if (dense[x * T + y]) nk++;
    if (!GROW(w->pk, w->cap_pk, nk) || !GROW(w->pc, w->cap_pc, nk)) {
      rc = HLS_ENOMEM;
      goto done;
    }
    for (size_t x = 0; x < T; x++)
      for (size_t y = x + 1; y < T; y++)
        if (dense[x * T + y]) {
          w->pk[w->n_pk] = (uint64_t)global[x] << 32 | global[y];
          w->pc[w->n_pk++] = dense[x * T + y];
        }
  } else {
    keys = malloc((pairs ? pairs : 1) * sizeof *keys);
    if (keys == NULL) {
      rc = HLS_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < w->n; i++) {
      const struct unit *u = w->units[i];
      for (size_t x = 0; x < u->n; x++)
        for (size_t y = x + 1; y < u->n; y++) keys[nk++] = (uint64_t)u->themes[x] << 32 | u->themes[y];
    }
    qsort(keys, nk, sizeof *keys, pair_key_cmp);
    for (size_t i = 0; i < nk;) {
      size_t j = i;
      while (j < nk && keys[j] == keys[i]) j++;
      if (!GROW(w->pk, w->cap_pk, w->n_pk + 1) || !GROW(w->pc, w->cap_pc, w->n_pk + 1)) {
        rc = HLS_ENOMEM;
        goto done;
      }
      w->pk[w->n_pk] = keys[i];
      w->pc[w->n_pk++] = (uint32_t)(j - i);
      i = j;
    }
  }
  /* the windows before, for the pair's own history */
  struct window *hist[TOGETHER_HISTORY];
  double hist_units = 0;
  for (int h = 0; h < TOGETHER_HISTORY; h++) {
    int32_t k = w->k - 1 - h;
    HASH_FIND(hh, pt->windows, &k, sizeof k, hist[h]);
    if (hist[h] != NULL) hist_units += (double)hist[h]->n;
    if (hist[h] != NULL)
      for (size_t i = 0; i < hist[h]->n; i++) ts.hcnt[hist[h]->units[i]->place]++;
  }
  for (size_t i = 0; i < w->n_pk && rc == 0; i++) {
    double o = w->pc[i];
    if (o < prm->together_min_count) continue;
    uint32_t a = (uint32_t)(w->pk[i] >> 32), b = (uint32_t)w->pk[i];
    double e = D > 0 ? (double)marg[a] * marg[b] * S2 / (D * D) : 0;
    if (hist_units > 0) {
      double oh = 0;
      for (int h = 0; h < TOGETHER_HISTORY; h++)
        if (hist[h] != NULL) oh += window_pair_count(hist[h], w->pk[i]);
      double eh = (oh + 0.5) / hist_units * (double)w->n;
      if (eh > e) e = eh;
    }
    double pscreen = hls_pat__poisson_midp(o, e);
    if (!GROW(w->tests, w->cap_tests, w->n_tests + 1)) {
      rc = HLS_ENOMEM;
      break;
    }
    if (pscreen > prm->keep_p) {
      w->tests[w->n_tests++] = pv_store(pscreen);
      continue;
    }
    /* The pair is ordered by theme key, so its id does not depend on the
     * order themes were first seen in. */
    if (strcmp(pt->themes[a]->key, pt->themes[b]->key) > 0) {
      uint32_t sw = a;
      a = b;
      b = sw;
    }
    double p, ob, ee;
    size_t nm;
    rc = together_test(pt, w, &ts, a, b, &pc, &cap_pc, &p, &ob, &ee, &members, &nm);
    if (rc != 0) break;
    if (p < pscreen) p = pscreen; /* both must hold */
    w->tests[w->n_tests++] = pv_store(p);
    if (p > prm->keep_p || nm == 0) continue;
    if (!GROW(w->found, w->cap_found, w->n_found + 1)) {
      rc = HLS_ENOMEM;
      break;
    }
    struct pfound *f = &w->found[w->n_found];
    *f = (struct pfound){.a = a, .b = b, .p = p, .o = ob, .e = ee, .n_places = nm};
    f->places = malloc(nm * sizeof *f->places);
    if (f->places == NULL) {
      rc = HLS_ENOMEM;
      break;
    }
    memcpy(f->places, members, nm * sizeof *members);
    w->n_found++;
  }
done:
  free(ts.wcnt), free(ts.hcnt), free(ts.ca), free(ts.cb), free(ts.cab), free(ts.chab), free(ts.inpc);
  free(ts.touched);
  free(marg);
  free(local);
  free(global);
  free(dense);
  free(keys);
  free(pc);
  free(members);
  return rc;
}

/* A run of windows in which a pair held. */
struct trun {
  uint32_t a, b;
  int32_t k_from, k_to;
  double pmin, p_now, o, e;
  uint32_t *places;
  size_t n_places, cap_places;
  bool open;
};

static int trun_emit(struct hls_patterns *pt, const struct trun *r, bool live, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  struct build bd;
  hls_pat__build_init(&bd, HLS_PAT_TOGETHER, r->a);
  bd.p.theme2 = r->b;
  hls_pat__places_begin(pt, &bd);
  for (size_t i = 0; i < r->n_places; i++) hls_pat__place_add(pt, &bd, r->places[i]);
  /* its windows' weeks, within the weeks held (a window may start before
   * the first) */
  bd.p.week_from = r->k_from * prm->together_weeks;
  bd.p.week_to = r->k_to * prm->together_weeks + prm->together_weeks - 1;
  if (bd.p.week_from < pt->gmin) bd.p.week_from = pt->gmin;
  if (bd.p.week_to > pt->gmax) bd.p.week_to = pt->gmax;
  bd.p.live = live;
  bd.p.p = r->pmin;
  bd.p.strength = strength_of(r->pmin);
  bd.p.p_now = r->p_now;
  bd.p.score = r->o;
  bd.p.score2 = r->e;
  hls_pat__gather_counts(pt, pt->themes[r->a], &bd, bd.p.week_from, bd.p.week_to);
  hls_pat__gather_counts(pt, pt->themes[r->b], &bd, bd.p.week_from, bd.p.week_to);
  return hls_pat__emit(pt, &bd, &pt->tpats, &pt->n_tpats, &pt->cap_tpats, cu);
}

static int trun_cmp(const void *x, const void *y) {
  const struct trun *a = x, *b = y;
  if (a->a != b->a) return (a->a > b->a) - (a->a < b->a);
  return (a->b > b->b) - (a->b < b->b);
}

/* Every together pattern from the windows' pairs that held: a pair opens
 * a pattern in a window where its test is a discovery of that window's
 * FDR week, which goes on while the next windows keep its evidence (a
 * window still filling does not end it). */
int hls_pat__together_emit(struct hls_patterns *pt, struct ctx_update *cu) {
  size_t nw = HASH_COUNT(pt->windows), nr = 0, cap_r = 0;
  struct window **ws = malloc((nw ? nw : 1) * sizeof *ws);
  struct trun *runs = NULL;
  int rc = 0;
  if (ws == NULL) return HLS_ENOMEM;
  size_t i = 0;
  for (struct window *w = pt->windows; w != NULL; w = w->hh.next) ws[i++] = w;
  qsort(ws, nw, sizeof *ws, window_k_cmp);
  int32_t W = pt->prm.together_weeks;
  for (i = 0; i < nw && rc == 0; i++) {
    struct window *w = ws[i];
    int32_t tw = window_test_week(pt, w);
    size_t ti = (size_t)(tw - pt->gmin);
    double cut = ti < pt->n_cutoff ? pt->tcutoff[ti] : 0;
    bool filling = w->k * W + W - 1 > pt->gmax;
    for (size_t f = 0; f < w->n_found && rc == 0; f++) {
      const struct pfound *pf = &w->found[f];
      struct trun key = {.a = pf->a, .b = pf->b}, *r = NULL;
      for (size_t q = 0; q < nr; q++)
        if (runs[q].open && trun_cmp(&runs[q], &key) == 0) r = &runs[q];
      if (r == NULL || r->k_to < w->k - 1) {
        /* the cutoff is one of the float p-values of the tests */
        if (!(cut > 0 && (float)pf->p <= cut)) continue;
        if (!grow((void **)&runs, &cap_r, nr + 1, sizeof *runs)) {
          rc = HLS_ENOMEM;
          break;
        }
        r = &runs[nr++];
        *r = (struct trun){.a = pf->a, .b = pf->b, .k_from = w->k, .pmin = pf->p, .o = pf->o, .e = pf->e,
                           .open = true};
      }
      r->k_to = w->k;
      r->p_now = pf->p;
      if (pf->p < r->pmin) r->pmin = pf->p, r->o = pf->o, r->e = pf->e;
      if (!grow((void **)&r->places, &r->cap_places, r->n_places + pf->n_places, sizeof *r->places)) {
        rc = HLS_ENOMEM;
        break;
      }
      memcpy(r->places + r->n_places, pf->places, pf->n_places * sizeof *pf->places);
      r->n_places += pf->n_places;
      qsort(r->places, r->n_places, sizeof *r->places, u32_cmp);
      size_t keep = 0;
      for (size_t q = 0; q < r->n_places; q++)
        if (keep == 0 || r->places[keep - 1] != r->places[q]) r->places[keep++] = r->places[q];
      r->n_places = keep;
    }
    /* runs this window did not go on with end (but for a window still
     * filling, which cannot end the run before it) */
    for (size_t r = 0; r < nr && rc == 0; r++) {
      if (!runs[r].open || runs[r].k_to >= w->k) continue;
      if (filling && runs[r].k_to == w->k - 1) continue;
      runs[r].open = false;
      rc = trun_emit(pt, &runs[r], false, cu);
    }
  }
  int32_t klast = nw ? ws[nw - 1]->k : 0;
  for (size_t r = 0; r < nr && rc == 0; r++)
    if (runs[r].open) {
      bool live = runs[r].k_to >= klast - (klast * W + W - 1 > pt->gmax ? 1 : 0);
      rc = trun_emit(pt, &runs[r], live, cu);
    }
  for (size_t r = 0; r < nr; r++) free(runs[r].places);
  free(runs);
  free(ws);
  if (rc != 0) return rc;
  return hls_pat__sweep(pt, pt->tpats, &pt->n_tpats, cu);
}
