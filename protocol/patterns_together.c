/* together, the signal of the pattern engine on pairs of themes
 * (docs/patterns.md, "together: two themes starting to be reported
 * together"): the tests of a window's pairs and the patterns of the runs
 * of windows in which a pair held. */
#include "patterns_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* --- together --------------------------------------------------------------------------- */

static int pair_key_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Per place of a window and of its history windows, in each of its two
 * classes of weeks (quieter, busier: see place_classes): weeks with a
 * digest, weeks reporting a, b, both. */
struct pcount {
  uint32_t place;
  uint32_t w[2], a[2], b[2], ab[2];     /* this window */
  uint32_t hw[2], ha[2], hb[2], hab[2]; /* the history windows */
};

/* Scratch of together_test. Per place and week of this window (wdeg) and
 * of its history (hdeg): the number of themes its digest reports,
 * NO_DIGEST without one; per place and week, the pair's presence (pres:
 * 1 a, 2 b; zero between pairs); per place: whether it is in the
 * window's tables (inpc). */
#define NO_DIGEST UINT16_MAX
struct tscratch {
  uint16_t *wdeg, *hdeg;
  uint16_t *wmed, *hmed; /* per place: the lower median of wdeg's (hdeg's) weeks */
  uint8_t *wpres, *hpres;
  int32_t wfrom, wspan, hfrom, hspan;
  uint8_t *inpc;
  uint32_t *touched, *dtmp;
  uint32_t *sw, *sa, *sb; /* the tables of a pair's places */
  /* per theme, made when a pair first needs it: its cells of the window
   * (wl) and of the history (hl) as places and weeks, in place order (a
   * cell is 40 bytes: a pair read them again for each theme it is in) */
  struct plist {
    bool made;
    uint32_t n;
    uint32_t *place;
    uint16_t *week; /* from wfrom (hfrom) */
  } *wl, *hl;
  uint32_t *cnt; /* [places + 1] */
};

/* The lower median of v[0..n-1], n > 0 (a few weeks: sorted in place by
 * insertion). */
static uint32_t lower_median(uint32_t *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
      uint32_t t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[(n - 1) / 2];
}

/* The themes each place's digest of each week of windows ws reports (weeks
 * from..from+span-1). */
static void degrees(struct window **ws, size_t nws, int32_t from, int32_t span, uint16_t *deg, uint16_t *med,
                    size_t n_places, uint32_t *tmp) {
  for (size_t i = 0; i < nws; i++)
    for (size_t j = 0; j < ws[i]->n; j++) {
      const struct unit *u = ws[i]->units[j];
      deg[(size_t)u->place * (size_t)span + (size_t)(u->week - from)] =
          u->n < NO_DIGEST ? (uint16_t)u->n : (uint16_t)(NO_DIGEST - 1);
    }
  /* each place's lower median week */
  for (size_t pl = 0; pl < n_places; pl++) {
    const uint16_t *d = deg + pl * (size_t)span;
    size_t n = 0;
    for (int32_t t = 0; t < span; t++)
      if (d[t] != NO_DIGEST) tmp[n++] = d[t];
    med[pl] = n ? (uint16_t)lower_median(tmp, n) : NO_DIGEST;
  }
}

/* Theme th's cells of the window's weeks (hist: of its history's), by
 * place then week. */
static int theme_cells(struct hls_patterns *pt, struct tscratch *ts, uint32_t th, bool hist,
                       const struct plist **out) {
  struct plist *l = &(hist ? ts->hl : ts->wl)[th];
  *out = l;
  if (l->made) return 0;
  int32_t from = hist ? ts->hfrom : ts->wfrom, span = hist ? ts->hspan : ts->wspan;
  struct theme *t = pt->themes[th];
  size_t n = 0, NP = pt->n_places;
  for (int32_t wk = from; wk < from + span; wk++) {
    const struct bucket *bk = hls_pat__bucket_get(t, wk, false);
    if (bk != NULL) n += bk->n;
  }
  l->place = malloc((n ? n : 1) * sizeof *l->place);
  l->week = malloc((n ? n : 1) * sizeof *l->week);
  if (l->place == NULL || l->week == NULL) return HLS_ENOMEM;
  memset(ts->cnt, 0, (NP + 1) * sizeof *ts->cnt);
  for (int32_t wk = from; wk < from + span; wk++) {
    const struct bucket *bk = hls_pat__bucket_get(t, wk, false);
    if (bk != NULL)
      for (size_t r = 0; r < bk->n; r++) ts->cnt[bk->refs[r].place + 1]++;
  }
  for (size_t pl = 0; pl < NP; pl++) ts->cnt[pl + 1] += ts->cnt[pl];
  for (int32_t wk = from; wk < from + span; wk++) {
    const struct bucket *bk = hls_pat__bucket_get(t, wk, false);
    if (bk == NULL) continue;
    for (size_t r = 0; r < bk->n; r++) {
      uint32_t at = ts->cnt[bk->refs[r].place]++;
      l->place[at] = bk->refs[r].place;
      l->week[at] = (uint16_t)(wk - from);
    }
  }
  l->n = (uint32_t)n;
  l->made = true;
  return 0;
}

/* Mark the weeks of the window in which the places reporting both a and
 * b in it report each (touched lists those places, in place order), or,
 * in the history weeks (hist), those of the places in the window's tables
 * (inpc). */
static int pair_weeks(struct hls_patterns *pt, struct tscratch *ts, size_t *nt, uint32_t a, uint32_t b, bool hist) {
  const struct plist *l[2];
  int rc = theme_cells(pt, ts, a, hist, &l[0]);
  if (rc == 0) rc = theme_cells(pt, ts, b, hist, &l[1]);
  if (rc != 0) return rc;
  uint8_t *pres = hist ? ts->hpres : ts->wpres;
  size_t span = (size_t)(hist ? ts->hspan : ts->wspan);
  if (hist) {
    for (int side = 0; side < 2; side++)
      for (uint32_t r = 0; r < l[side]->n; r++) {
        uint32_t pl = l[side]->place[r];
        if (ts->inpc[pl]) pres[(size_t)pl * span + l[side]->week[r]] |= (uint8_t)(1 + side);
      }
    return 0;
  }
  /* the places in both lists: a merge of their runs */
  const struct plist *x = l[0], *y = l[1];
  for (uint32_t i = 0, j = 0; i < x->n && j < y->n;) {
    uint32_t px = x->place[i], py = y->place[j];
    if (px != py) {
      if (px < py)
        while (i < x->n && x->place[i] == px) i++;
      else
        while (j < y->n && y->place[j] == py) j++;
      continue;
    }
    uint8_t *pp = pres + (size_t)px * span;
    for (; i < x->n && x->place[i] == px; i++) pp[x->week[i]] |= 1;
    for (; j < y->n && y->place[j] == px; j++) pp[y->week[j]] |= 2;
    ts->touched[(*nt)++] = px;
  }
  return 0;
}

/* A place's counts in its two classes of weeks, from its marks (which it
 * clears): a week is busier (class 1) when its digest reports more
 * themes, leaving a and b out, than the place's median week of these
 * weeks, else quieter (0). Busy weeks report more of every theme, so two
 * themes meet more often in them than a place's weeks taken together
 * predict; within a class, by chance, they do not. */
static void place_classes(struct tscratch *ts, uint32_t pl, bool hist, uint32_t w[2], uint32_t ca[2], uint32_t cb[2],
                          uint32_t cab[2]) {
  int32_t span = hist ? ts->hspan : ts->wspan;
  uint8_t *pres = (hist ? ts->hpres : ts->wpres) + (size_t)pl * (size_t)span;
  const uint16_t *deg = (hist ? ts->hdeg : ts->wdeg) + (size_t)pl * (size_t)span;
  uint16_t dmed = (hist ? ts->hmed : ts->wmed)[pl];
  /* The lower median of the weeks' other themes: each week's is its
   * digest's count less 0, 1 or 2, so it is one of the three values at
   * most 2 below the median of the digests' counts (dmed), the least
   * with at least half the weeks at or below it: the weeks at or below
   * the two lower ones are counted as the weeks are read. (A week with a
   * cell but no digest, which the engine does not make, is counted at 0
   * and sorted for.) */
  uint32_t v2 = dmed >= 2 ? dmed - 2u : 0, v1 = dmed >= 1 ? dmed - 1u : 0; /* at 0 below 2 */
  size_t n = 0, odd = 0, le2 = 0, le1 = 0;
  for (int32_t t = 0; t < span; t++) {
    int m = (pres[t] & 1) + (pres[t] >> 1);
    uint32_t d;
    if (deg[t] != NO_DIGEST) d = deg[t] > m ? (uint32_t)(deg[t] - m) : 0;
    else if (pres[t]) d = 0, odd++;
    else continue;
    ts->dtmp[n++] = d;
    le2 += d <= v2, le1 += d <= v1;
  }
  w[0] = w[1] = ca[0] = ca[1] = cb[0] = cb[1] = cab[0] = cab[1] = 0;
  if (n == 0) return;
  size_t k = (n - 1) / 2 + 1;
  uint32_t med;
  if (odd == 0 && dmed != NO_DIGEST)
    med = le2 >= k ? v2 : le1 >= k ? v1 : dmed;
  else
    med = lower_median(ts->dtmp, n);
  for (int32_t t = 0; t < span; t++) {
    if (deg[t] == NO_DIGEST && pres[t] == 0) continue;
    int m = (pres[t] & 1) + (pres[t] >> 1);
    uint32_t d = deg[t] != NO_DIGEST && deg[t] > m ? (uint32_t)(deg[t] - m) : 0;
    int c = d > med;
    w[c]++;
    ca[c] += pres[t] & 1;
    cb[c] += pres[t] >> 1;
    cab[c] += pres[t] == 3;
    pres[t] = 0;
  }
}

/* A place is one of a together pattern's places when its weeks of both,
 * over the pattern's windows, are this unlikely under independence. */
#define TOGETHER_MEMBER_P 0.25

/* A table's weeks: at least those reporting each theme. */
static uint32_t table_weeks(uint32_t w, uint32_t a, uint32_t b) {
  uint32_t t = w > a ? w : a;
  return t > b ? t : b;
}

/* The hypergeometric variance of the weeks reporting both of w weeks, a
 * reporting one theme and b the other. */
static double hyper_var(double w, double a, double b) {
  return w > 1 ? a * b * (w - a) * (w - b) / (w * w * (w - 1)) : 0;
}

/* Test pair (a, b) in window w, each place's weeks in its two classes a
 * table: p, the larger of two p-values, the association now (weeks
 * reporting both against independence within each table: the
 * Mantel-Haenszel statistic, exact; ph) and its change (the tables'
 * excess now less their excess in the history windows, per week: normal).
 * Its places' tables go to tabs (places with a table that can vary, in
 * place order); *excess says whether any place has more weeks of both
 * than independence gives. */
static int together_test(struct hls_patterns *pt, struct window *w, struct tscratch *ts, uint32_t a, uint32_t b,
                         bool held, struct pcount **pc, size_t *cap_pc, double *p_out, double *ph_out, double *o_out,
                         double *e_out, struct ptab *tabs, size_t *n_tabs, bool *excess) {
  const struct hls_pat_params *prm = &pt->prm;
  size_t np = 0, nt = 0;
  int rc = pair_weeks(pt, ts, &nt, a, b, false);
  if (rc != 0) return rc;
  for (size_t i = 0; i < nt; i++) {
    uint32_t pl = ts->touched[i];
    struct pcount x = {.place = pl};
    place_classes(ts, pl, false, x.w, x.a, x.b, x.ab);
    if (rc == 0) {
      if (!grow((void **)pc, cap_pc, np + 1, sizeof **pc)) rc = HLS_ENOMEM;
      else (*pc)[np++] = x;
    }
  }
  if (rc != 0) return rc;
  /* in place order (pair_weeks' merge lists them so): the sums below do
   * not depend on arrival order */
  /* the association now */
  double o = 0, e = 0, v = 0;
  size_t places = 0, ns = 0;
  *n_tabs = 0;
  *excess = false;
  for (size_t i = 0; i < np; i++) {
    const struct pcount *x = &(*pc)[i];
    double oi = 0, ei = 0;
    size_t ns0 = ns;
    for (int c = 0; c < 2; c++) {
      oi += x->ab[c];
      if (x->a[c] > 0 && x->b[c] > 0) {
        /* a table: its weeks are at least those reporting each theme */
        uint32_t wk = table_weeks(x->w[c], x->a[c], x->b[c]);
        ts->sw[ns] = wk, ts->sa[ns] = x->a[c], ts->sb[ns++] = x->b[c];
        ei += (double)x->a[c] * x->b[c] / wk;
        v += hyper_var(wk, x->a[c], x->b[c]);
      }
    }
    o += oi;
    e += ei;
    if (oi > 0) places++;
    if (oi > ei) *excess = true;
    if (ns > ns0) { /* its tables */
      struct ptab *tb = &tabs[(*n_tabs)++];
      tb->place = x->place;
      for (int c = 0; c < 2; c++) {
        tb->w[c] = (uint8_t)table_weeks(x->w[c], x->a[c], x->b[c]);
        tb->a[c] = (uint8_t)x->a[c], tb->b[c] = (uint8_t)x->b[c], tb->ab[c] = (uint8_t)x->ab[c];
      }
    }
  }
  *o_out = o;
  *e_out = e;
  *p_out = *ph_out = 1;
  if (!(o >= prm->together_min_count && places >= (size_t)prm->together_min_places && v > 0)) return 0;
  /* Most pairs the screen keeps show no association now (on the normal
   * law, less than one standard deviation above independence): then
   * neither can a pattern of them open nor go on, and their p-value (its
   * normal approximation, above 0.15) need not be exact. */
  double z = (o - e) / sqrt(v);
  if (!held && z < 1) {
    *p_out = *ph_out = hls_pat__normal_sf(z);
    return 0;
  }
  /* the change: the excess now less the history's, per week */
  for (size_t i = 0; i < np; i++) ts->inpc[(*pc)[i].place] = 1;
  if ((rc = pair_weeks(pt, ts, &nt, a, b, true)) != 0) return rc;
  double d = o - e;
  for (size_t i = 0; i < np; i++) {
    struct pcount *x = &(*pc)[i];
    place_classes(ts, x->place, true, x->hw, x->ha, x->hb, x->hab);
    ts->inpc[x->place] = 0;
    double hex = 0, hv = 0, wsum = 0, hwsum = 0;
    for (int c = 0; c < 2; c++) {
      wsum += table_weeks(x->w[c], x->a[c], x->b[c]);
      uint32_t hw = table_weeks(x->hw[c], x->ha[c], x->hb[c]);
      hwsum += hw;
      if (hw > 0) {
        hex += x->hab[c] - (double)x->ha[c] * x->hb[c] / hw;
        hv += hyper_var(hw, x->ha[c], x->hb[c]);
      }
    }
    if (hwsum > 0) {
      double c = wsum / hwsum;
      d -= c * hex;
      v += c * c * hv;
    }
  }
  double pd = hls_pat__normal_sf(d / sqrt(v)), ph = 1;
  /* the exact tail costs most: not when the change alone rules the pair
   * out and no pattern of it can go on */
  if (pd <= prm->keep_p || held) ph = hls_pat__mh_midp(ts->sw, ts->sa, ts->sb, ns, o);
  double p = pd > ph ? pd : ph;
  *p_out = p;
  *ph_out = ph;
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

/* Whether pair key kept evidence in window w (its found pairs are in key
 * order). */
static bool found_key(const struct window *w, uint64_t key) {
  size_t lo = 0, hi = w->n_found;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (w->found[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < w->n_found && w->found[lo].key == key;
}

/* Test the window's pairs: count, for every pair of themes, the
 * place-weeks reporting both (kept in w->pk/pc for the windows after);
 * screen each pair with at least together_min_count of them against the
 * larger of two cheap expectations, the window's (themes in proportion to
 * their place-weeks, place-weeks in proportion to their themes: Chung-Lu)
 * and the pair's own rate in its history windows; test those the screen
 * keeps, and those that kept evidence in the window before
 * (together_test). Every p-value goes to w->tests; pairs that kept
 * evidence of the association (ph <= keep_p), with their places, to
 * w->found, in key order. */
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
  int32_t W = prm->together_weeks;
  ts.wfrom = w->k * W, ts.wspan = W;
  ts.hfrom = (w->k - TOGETHER_REACH) * W, ts.hspan = TOGETHER_HISTORY * W;
  ts.wdeg = malloc(NP * (size_t)ts.wspan * sizeof *ts.wdeg);
  ts.hdeg = malloc(NP * (size_t)ts.hspan * sizeof *ts.hdeg);
  ts.wpres = calloc(NP * (size_t)ts.wspan, 1), ts.hpres = calloc(NP * (size_t)ts.hspan, 1);
  ts.wmed = malloc(NP * sizeof *ts.wmed), ts.hmed = malloc(NP * sizeof *ts.hmed);
  ts.dtmp = malloc((size_t)(ts.hspan > ts.wspan ? ts.hspan : ts.wspan) * sizeof *ts.dtmp);
  ts.inpc = calloc(NP, sizeof *ts.inpc);
  ts.touched = malloc(NP * sizeof *ts.touched);
  ts.cnt = malloc((NP + 1) * sizeof *ts.cnt);
  ts.wl = calloc(pt->n_themes ? pt->n_themes : 1, sizeof *ts.wl);
  ts.hl = calloc(pt->n_themes ? pt->n_themes : 1, sizeof *ts.hl);
  ts.sw = malloc(2 * NP * sizeof *ts.sw), ts.sa = malloc(2 * NP * sizeof *ts.sa);
  ts.sb = malloc(2 * NP * sizeof *ts.sb);
  uint32_t *marg = calloc(pt->n_themes, sizeof *marg);
  uint32_t *local = malloc(pt->n_themes * sizeof *local), *global = malloc(pt->n_themes * sizeof *global);
  uint32_t *dense = NULL;
  uint64_t *keys = NULL;
  struct pcount *pc = NULL;
  size_t cap_pc = 0, nk = 0, pairs = 0;
  struct ptab *tabs = malloc(NP * sizeof *tabs);
  if (marg == NULL || tabs == NULL || local == NULL || global == NULL || ts.wdeg == NULL || ts.hdeg == NULL ||
      ts.wmed == NULL || ts.hmed == NULL || ts.wpres == NULL || ts.hpres == NULL || ts.dtmp == NULL ||
      ts.inpc == NULL || ts.touched == NULL || ts.sw == NULL || ts.sa == NULL || ts.sb == NULL ||
      ts.cnt == NULL || ts.wl == NULL || ts.hl == NULL) {
    rc = HLS_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < NP * (size_t)ts.wspan; i++) ts.wdeg[i] = NO_DIGEST;
  for (size_t i = 0; i < NP * (size_t)ts.hspan; i++) ts.hdeg[i] = NO_DIGEST;
  degrees(&w, 1, ts.wfrom, ts.wspan, ts.wdeg, ts.wmed, NP, ts.dtmp);
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
  /* its history windows: the TOGETHER_HISTORY windows that end
   * TOGETHER_GAP windows before it (the screen's and the tests' history) */
  struct window *hist[TOGETHER_HISTORY];
  size_t nh = 0;
  for (int h = 0; h < TOGETHER_HISTORY; h++) {
    int32_t k = w->k - TOGETHER_REACH + h;
    HASH_FIND(hh, pt->windows, &k, sizeof k, hist[nh]);
    if (hist[nh] != NULL) nh++;
  }
  degrees(hist, nh, ts.hfrom, ts.hspan, ts.hdeg, ts.hmed, NP, ts.dtmp);
  double hist_units = 0;
  for (size_t h = 0; h < nh; h++) hist_units += (double)hist[h]->n;
  struct window *prev;
  int32_t kprev = w->k - 1;
  HASH_FIND(hh, pt->windows, &kprev, sizeof kprev, prev);
  for (size_t i = 0; i < w->n_pk && rc == 0; i++) {
    double o = w->pc[i];
    if (o < prm->together_min_count) continue;
    uint32_t a = (uint32_t)(w->pk[i] >> 32), b = (uint32_t)w->pk[i];
    double e = D > 0 ? (double)marg[a] * marg[b] * S2 / (D * D) : 0;
    if (hist_units > 0) {
      double oh = 0;
      for (size_t h = 0; h < nh; h++) oh += window_pair_count(hist[h], w->pk[i]);
      double eh = (oh + 0.5) / hist_units * (double)w->n;
      if (eh > e) e = eh;
    }
    double pscreen = hls_pat__poisson_midp(o, e);
    if (!GROW(w->tests, w->cap_tests, w->n_tests + 1)) {
      rc = HLS_ENOMEM;
      break;
    }
    /* a pair that kept evidence in the window before is tested whatever
     * the screen says: a pattern of it may go on */
    bool held = prev != NULL && found_key(prev, w->pk[i]);
    if (pscreen > prm->keep_p && !held) {
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
    double p = 1, ph = 1, ob = 0, ee = 0;
    size_t nm = 0;
    bool excess = false;
    rc = together_test(pt, w, &ts, a, b, held, &pc, &cap_pc, &p, &ph, &ob, &ee, tabs, &nm, &excess);
    if (rc != 0) break;
    w->tests[w->n_tests++] = pv_store(p);
    if (ph > prm->keep_p || !excess || nm == 0) continue;
    if (!GROW(w->found, w->cap_found, w->n_found + 1)) {
      rc = HLS_ENOMEM;
      break;
    }
    struct pfound *f = &w->found[w->n_found];
    *f = (struct pfound){.key = w->pk[i], .a = a, .b = b, .p = p, .p_hold = ph, .o = ob, .e = ee, .n_places = nm};
    f->places = malloc(nm * sizeof *f->places);
    if (f->places == NULL) {
      rc = HLS_ENOMEM;
      break;
    }
    memcpy(f->places, tabs, nm * sizeof *tabs);
    w->n_found++;
  }
done:
  free(ts.wdeg), free(ts.hdeg), free(ts.wmed), free(ts.hmed), free(ts.wpres), free(ts.hpres), free(ts.dtmp);
  free(ts.inpc), free(ts.touched), free(ts.sw), free(ts.sa), free(ts.sb), free(ts.cnt);
  for (size_t th = 0; th < pt->n_themes; th++) {
    if (ts.wl != NULL) free(ts.wl[th].place), free(ts.wl[th].week);
    if (ts.hl != NULL) free(ts.hl[th].place), free(ts.hl[th].week);
  }
  free(ts.wl), free(ts.hl);
  free(marg);
  free(local);
  free(global);
  free(dense);
  free(keys);
  free(pc);
  free(tabs);
  return rc;
}

/* A run of windows in which a pair held, with every place's tables of
 * its windows. */
struct trun {
  uint32_t a, b;
  int32_t k_from, k_to;
  double pmin, p_now, o, e;
  struct ptab *places;
  size_t n_places, cap_places;
  bool open;
};

static int ptab_cmp(const void *x, const void *y) {
  uint32_t a = ((const struct ptab *)x)->place, b = ((const struct ptab *)y)->place;
  return (a > b) - (a < b);
}

static int trun_emit(struct hls_patterns *pt, struct trun *r, bool live, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  struct build bd;
  hls_pat__build_init(&bd, HLS_PAT_TOGETHER, r->a);
  bd.p.theme2 = r->b;
  hls_pat__places_begin(pt, &bd);
  /* Its places: those whose weeks of both, over all their tables of the
   * run's windows, are more than independence gives by chance at most
   * TOGETHER_MEMBER_P of the time (the exact tail, as the test's); if
   * none is, those with any excess. */
  qsort(r->places, r->n_places, sizeof *r->places, ptab_cmp);
  size_t cap = 2 * r->n_places + 1, listed = 0;
  uint32_t *tw = malloc(cap * sizeof *tw), *ta = malloc(cap * sizeof *ta), *tb = malloc(cap * sizeof *tb);
  if (tw == NULL || ta == NULL || tb == NULL) {
    free(tw), free(ta), free(tb);
    return HLS_ENOMEM;
  }
  for (int pass = 0; pass < 2 && listed == 0; pass++)
    for (size_t i = 0; i < r->n_places;) {
      size_t j = i, nt = 0;
      double ab = 0, e = 0;
      for (; j < r->n_places && r->places[j].place == r->places[i].place; j++)
        for (int c = 0; c < 2; c++) {
          const struct ptab *x = &r->places[j];
          if (x->a[c] == 0 || x->b[c] == 0) continue;
          ab += x->ab[c];
          e += (double)x->a[c] * x->b[c] / x->w[c];
          tw[nt] = x->w[c], ta[nt] = x->a[c], tb[nt++] = x->b[c];
        }
      if (ab > e && (pass == 1 || hls_pat__mh_midp(tw, ta, tb, nt, ab) <= TOGETHER_MEMBER_P)) {
        hls_pat__place_add(pt, &bd, r->places[i].place);
        listed++;
      }
      i = j;
    }
  free(tw), free(ta), free(tb);
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
      /* the window that opens it by its test; the next by their evidence
       * of the association (their history is the pattern's own start) */
      double pv = r->k_from == w->k ? pf->p : pf->p_hold;
      r->k_to = w->k;
      r->p_now = pv;
      if (pv < r->pmin) r->pmin = pv, r->o = pf->o, r->e = pf->e;
      if (!grow((void **)&r->places, &r->cap_places, r->n_places + pf->n_places, sizeof *r->places)) {
        rc = HLS_ENOMEM;
        break;
      }
      memcpy(r->places + r->n_places, pf->places, pf->n_places * sizeof *pf->places);
      r->n_places += pf->n_places;
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
