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
  double ex, vx;                        /* this window's excess over independence, its variance */
};

/* Scratch of together_test. Per place and week of this window (wdeg) and
 * of its history (hdeg): the number of themes its digest reports,
 * TOGETHER_NO_DIGEST without one. Weeks are bits of masks (nw words, bit
 * t % 64 of word t / 64 the week from + t): per place, its masks of the
 * window (wgt) and of the history (hgt), made by hls_pat__week_masks;
 * per place of a pair's tables, in their order, the pair's weeks of a
 * and of b (ma, mb; hma, hmb in the history). pres and dtmp: scratch of
 * hls_pat__classes. */
struct tscratch {
  uint16_t *wdeg, *hdeg;
  uint16_t *wmed, *hmed; /* per place: the lower median of wdeg's (hdeg's) weeks */
  uint64_t *wgt, *hgt;   /* per place: (1 + TOGETHER_GT_MASKS) masks */
  uint64_t *ma, *mb, *hma, *hmb;
  uint8_t *pres; /* [the longer span] */
  int32_t wfrom, wspan, hfrom, hspan;
  size_t wnw, hnw; /* words of a mask */
  uint32_t *touched, *dtmp;
  uint32_t *sw, *sa, *sb; /* the tables of a pair's places */
  /* per theme, made when a pair first needs it: the places with cells
   * of it in the window (wl) and in the history (hl), in place order,
   * each with the mask of its weeks (a cell is 40 bytes: a pair read
   * them again for each theme it is in) */
  struct plist {
    bool made;
    uint32_t n;
    uint32_t *place;
    uint64_t *mask; /* n masks */
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
 * from..from+span-1), each place's lower median week (med) and its masks
 * (gt: see struct tscratch). */
static void degrees(struct window **ws, size_t nws, int32_t from, int32_t span, uint16_t *deg, uint16_t *med,
                    uint64_t *gt, size_t n_places, uint32_t *tmp) {
  for (size_t i = 0; i < nws; i++)
    for (size_t j = 0; j < ws[i]->n; j++) {
      const struct unit *u = ws[i]->units[j];
      deg[(size_t)u->place * (size_t)span + (size_t)(u->week - from)] =
          u->n < TOGETHER_NO_DIGEST ? (uint16_t)u->n : (uint16_t)(TOGETHER_NO_DIGEST - 1);
    }
  size_t nw = hls_pat__mask_words(span);
  for (size_t pl = 0; pl < n_places; pl++) {
    const uint16_t *d = deg + pl * (size_t)span;
    size_t n = 0;
    for (int32_t t = 0; t < span; t++)
      if (d[t] != TOGETHER_NO_DIGEST) tmp[n++] = d[t];
    med[pl] = n ? (uint16_t)lower_median(tmp, n) : TOGETHER_NO_DIGEST;
    hls_pat__week_masks(d, span, med[pl], gt + pl * (1 + TOGETHER_GT_MASKS) * nw);
  }
}

/* Theme th's places with cells in the window's weeks (hist: in its
 * history's), in place order, each with the mask of its weeks. */
static int theme_cells(struct hls_patterns *pt, struct tscratch *ts, uint32_t th, bool hist,
                       const struct plist **out) {
  struct plist *l = &(hist ? ts->hl : ts->wl)[th];
  *out = l;
  if (l->made) return 0;
  int32_t from = hist ? ts->hfrom : ts->wfrom, span = hist ? ts->hspan : ts->wspan;
  size_t nw = hist ? ts->hnw : ts->wnw;
  struct theme *t = pt->themes[th];
  size_t NP = pt->n_places;
  /* each place's slot: cnt[place + 1] marks it, then (a running sum) is
   * the number of places before it */
  memset(ts->cnt, 0, (NP + 1) * sizeof *ts->cnt);
  for (int32_t wk = from; wk < from + span; wk++) {
    const struct bucket *bk = hls_pat__bucket_get(t, wk, false);
    if (bk != NULL)
      for (size_t r = 0; r < bk->n; r++) ts->cnt[bk->refs[r].place + 1] = 1;
  }
  for (size_t pl = 0; pl < NP; pl++) ts->cnt[pl + 1] += ts->cnt[pl];
  size_t n = ts->cnt[NP];
  l->place = malloc((n ? n : 1) * sizeof *l->place);
  l->mask = calloc((n ? n : 1) * nw, sizeof *l->mask);
  if (l->place == NULL || l->mask == NULL) return HLS_ENOMEM;
  for (int32_t wk = from; wk < from + span; wk++) {
    const struct bucket *bk = hls_pat__bucket_get(t, wk, false);
    if (bk == NULL) continue;
    size_t t_ = (size_t)(wk - from);
    for (size_t r = 0; r < bk->n; r++) {
      uint32_t pl = bk->refs[r].place, at = ts->cnt[pl];
      l->place[at] = pl;
      l->mask[at * nw + t_ / 64] |= (uint64_t)1 << (t_ % 64);
    }
  }
  l->n = (uint32_t)n;
  l->made = true;
  return 0;
}

/* The places reporting both a and b in the window (touched, in place
 * order, *nt of them), with the masks of their weeks of each (ma, mb). */
static int pair_weeks(struct hls_patterns *pt, struct tscratch *ts, size_t *nt, uint32_t a, uint32_t b) {
  const struct plist *x, *y;
  int rc = theme_cells(pt, ts, a, false, &x);
  if (rc == 0) rc = theme_cells(pt, ts, b, false, &y);
  if (rc != 0) return rc;
  size_t nw = ts->wnw;
  /* the places in both lists: a merge */
  for (uint32_t i = 0, j = 0; i < x->n && j < y->n;) {
    uint32_t px = x->place[i], py = y->place[j];
    if (px < py) i++;
    else if (py < px) j++;
    else {
      memcpy(ts->ma + *nt * nw, x->mask + (size_t)i * nw, nw * sizeof *ts->ma);
      memcpy(ts->mb + *nt * nw, y->mask + (size_t)j * nw, nw * sizeof *ts->mb);
      ts->touched[(*nt)++] = px, i++, j++;
    }
  }
  return 0;
}

/* The masks of the history weeks in which places[0..n-1] (in place
 * order) report a (hma) and b (hmb). */
static int pair_weeks_hist(struct hls_patterns *pt, struct tscratch *ts, uint32_t a, uint32_t b,
                           const struct pcount *places, size_t n) {
  size_t nw = ts->hnw;
  for (int side = 0; side < 2; side++) {
    const struct plist *l;
    int rc = theme_cells(pt, ts, side ? b : a, true, &l);
    if (rc != 0) return rc;
    uint64_t *m = side ? ts->hmb : ts->hma;
    memset(m, 0, n * nw * sizeof *m);
    for (uint32_t i = 0, j = 0; i < n && j < l->n;) {
      if (places[i].place < l->place[j]) i++;
      else if (l->place[j] < places[i].place) j++;
      else memcpy(m + i * nw, l->mask + (size_t)j * nw, nw * sizeof *m), i++, j++;
    }
  }
  return 0;
}

/* A place's counts in its two classes of weeks, week by week, from the
 * pair's marks pres (1 a, 2 b; cleared here): hls_pat__classes' own
 * definition, used for a place with a week that has a cell but no digest
 * (which the engine does not make). */
void hls_pat__classes_scan(const uint16_t *deg, int32_t span, uint16_t dmed, uint8_t *pres, uint32_t *tmp,
                           uint32_t w[2], uint32_t ca[2], uint32_t cb[2], uint32_t cab[2]) {
  /* The lower median of the weeks' other themes: each week's is its
   * digest's count less 0, 1 or 2, so it is one of the three values at
   * most 2 below the median of the digests' counts (dmed), the least
   * with at least half the weeks at or below it: the weeks at or below
   * the two lower ones are counted as the weeks are read. (A week with a
   * cell but no digest is counted at 0 and sorted for.) */
  uint32_t v2 = dmed >= 2 ? dmed - 2u : 0, v1 = dmed >= 1 ? dmed - 1u : 0; /* at 0 below 2 */
  size_t n = 0, odd = 0, le2 = 0, le1 = 0;
  for (int32_t t = 0; t < span; t++) {
    int m = (pres[t] & 1) + (pres[t] >> 1);
    uint32_t d;
    if (deg[t] != TOGETHER_NO_DIGEST) d = deg[t] > m ? (uint32_t)(deg[t] - m) : 0;
    else if (pres[t]) d = 0, odd++;
    else continue;
    tmp[n++] = d;
    le2 += d <= v2, le1 += d <= v1;
  }
  w[0] = w[1] = ca[0] = ca[1] = cb[0] = cb[1] = cab[0] = cab[1] = 0;
  if (n == 0) return;
  size_t k = (n - 1) / 2 + 1;
  uint32_t med;
  if (odd == 0 && dmed != TOGETHER_NO_DIGEST)
    med = le2 >= k ? v2 : le1 >= k ? v1 : dmed;
  else
    med = lower_median(tmp, n);
  for (int32_t t = 0; t < span; t++) {
    if (deg[t] == TOGETHER_NO_DIGEST && pres[t] == 0) continue;
    int m = (pres[t] & 1) + (pres[t] >> 1);
    uint32_t d = deg[t] != TOGETHER_NO_DIGEST && deg[t] > m ? (uint32_t)(deg[t] - m) : 0;
    int c = d > med;
    w[c]++;
    ca[c] += pres[t] & 1;
    cb[c] += pres[t] >> 1;
    cab[c] += pres[t] == 3;
    pres[t] = 0;
  }
}

size_t hls_pat__mask_words(int32_t span) {
  return ((size_t)span + 63) / 64;
}

/* The least value of a place's gt masks: hls_pat__classes compares a
 * week's count with the median of its other themes (at most 2 below the
 * median digest, dmed, and at least 0) plus the week's 0 to 2 of the
 * pair. */
static uint32_t gt_base(uint16_t dmed) {
  return dmed >= 2 ? dmed - 2u : 0;
}

void hls_pat__week_masks(const uint16_t *deg, int32_t span, uint16_t dmed, uint64_t *g) {
  size_t nw = hls_pat__mask_words(span);
  memset(g, 0, (1 + TOGETHER_GT_MASKS) * nw * sizeof *g);
  if (dmed == TOGETHER_NO_DIGEST) return;
  uint32_t base = gt_base(dmed);
  for (int32_t t = 0; t < span; t++) {
    if (deg[t] == TOGETHER_NO_DIGEST) continue;
    uint64_t bit = (uint64_t)1 << (t % 64);
    size_t wd = (size_t)t / 64;
    g[wd] |= bit;
    for (uint32_t j = 0; j < TOGETHER_GT_MASKS && deg[t] > base + j; j++) g[(1 + j) * nw + wd] |= bit;
  }
}

/* The bits set in x (without a popcount instruction, which the
 * architecture's baseline may lack: __builtin_popcountll is a call then). */
static unsigned pop(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555u;
  x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
  return (unsigned)((x * 0x0101010101010101u) >> 56);
}

/* A place's counts in its two classes of weeks: a week is busier (class
 * 1) when its digest reports more themes, leaving a and b out, than the
 * place's median week of these weeks, else quieter (0). Busy weeks report
 * more of every theme, so two themes meet more often in them than a
 * place's weeks taken together predict; within a class, by chance, they
 * do not. A week whose digest reports a count of themes, m (0 to 2) of
 * them a and b, is over v when the count is over v + m: the week masks
 * (hls_pat__week_masks) for each v + m the median can need answer it
 * for 64 weeks at a time. */
void hls_pat__classes(const uint16_t *deg, int32_t span, uint16_t dmed, const uint64_t *g, const uint64_t *ma,
                      const uint64_t *mb, uint8_t *pres, uint32_t *tmp, uint32_t w[2], uint32_t ca[2],
                      uint32_t cb[2], uint32_t cab[2]) {
  size_t nw = hls_pat__mask_words(span);
  uint64_t odd = 0;
  for (size_t i = 0; i < nw; i++) odd |= (ma[i] | mb[i]) & ~g[i];
  w[0] = w[1] = ca[0] = ca[1] = cb[0] = cb[1] = cab[0] = cab[1] = 0;
  if (odd != 0) { /* a week with a cell but no digest */
    for (int32_t t = 0; t < span; t++) {
      size_t wd = (size_t)t / 64;
      unsigned sh = (unsigned)t % 64;
      pres[t] = (uint8_t)((ma[wd] >> sh & 1) | (mb[wd] >> sh & 1) << 1);
    }
    hls_pat__classes_scan(deg, span, dmed, pres, tmp, w, ca, cb, cab);
    return;
  }
  if (dmed == TOGETHER_NO_DIGEST) return; /* no weeks */
  /* as hls_pat__classes_scan: the median of the weeks' other themes is
   * the least of v2, v1 and dmed with at least half the weeks at or
   * below it */
  uint32_t base = gt_base(dmed), v2 = base, v1 = dmed >= 1 ? dmed - 1u : 0;
  const uint64_t *gt = g + nw; /* gt + j * nw: the weeks over base + j */
  size_t n = 0, le2 = 0, le1 = 0;
  for (size_t i = 0; i < nw; i++) {
    uint64_t d = g[i], both = ma[i] & mb[i], one = ma[i] ^ mb[i], none = d & ~(ma[i] | mb[i]);
    n += pop(d);
    le2 += pop(none & ~gt[(v2 - base) * nw + i]) + pop(one & ~gt[(v2 + 1 - base) * nw + i]) +
           pop(both & ~gt[(v2 + 2 - base) * nw + i]);
    le1 += pop(none & ~gt[(v1 - base) * nw + i]) + pop(one & ~gt[(v1 + 1 - base) * nw + i]) +
           pop(both & ~gt[(v1 + 2 - base) * nw + i]);
  }
  if (n == 0) return;
  size_t k = (n - 1) / 2 + 1;
  uint32_t med = le2 >= k ? v2 : le1 >= k ? v1 : dmed, j = med - base;
  for (size_t i = 0; i < nw; i++) {
    uint64_t d = g[i], both = ma[i] & mb[i], one = ma[i] ^ mb[i], none = d & ~(ma[i] | mb[i]);
    uint64_t c1 = (none & gt[j * nw + i]) | (one & gt[(j + 1) * nw + i]) | (both & gt[(j + 2) * nw + i]);
    uint64_t c0 = d & ~c1;
    w[0] += pop(c0), w[1] += pop(c1);
    ca[0] += pop(ma[i] & c0), ca[1] += pop(ma[i] & c1);
    cb[0] += pop(mb[i] & c0), cb[1] += pop(mb[i] & c1);
    cab[0] += pop(both & c0), cab[1] += pop(both & c1);
  }
}

/* Place pl's classes in the window (hist: its history), given the masks
 * of the pair's weeks. */
static void place_classes(struct tscratch *ts, uint32_t pl, bool hist, const uint64_t *ma, const uint64_t *mb,
                          uint32_t w[2], uint32_t ca[2], uint32_t cb[2], uint32_t cab[2]) {
  int32_t span = hist ? ts->hspan : ts->wspan;
  size_t nw = hist ? ts->hnw : ts->wnw;
  const uint64_t *g = (hist ? ts->hgt : ts->wgt) + (size_t)pl * (1 + TOGETHER_GT_MASKS) * nw;
  hls_pat__classes((hist ? ts->hdeg : ts->wdeg) + (size_t)pl * (size_t)span, span, (hist ? ts->hmed : ts->wmed)[pl],
                   g, ma, mb, ts->pres, ts->dtmp, w, ca, cb, cab);
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
  int rc = pair_weeks(pt, ts, &nt, a, b);
  if (rc != 0) return rc;
  for (size_t i = 0; i < nt; i++) {
    uint32_t pl = ts->touched[i];
    struct pcount x = {.place = pl};
    place_classes(ts, pl, false, ts->ma + i * ts->wnw, ts->mb + i * ts->wnw, x.w, x.a, x.b, x.ab);
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
    struct pcount *x = &(*pc)[i];
    double oi = 0, ei = 0, vi = 0;
    size_t ns0 = ns;
    for (int c = 0; c < 2; c++) {
      oi += x->ab[c];
      if (x->a[c] > 0 && x->b[c] > 0) {
        /* a table: its weeks are at least those reporting each theme */
        uint32_t wk = table_weeks(x->w[c], x->a[c], x->b[c]);
        ts->sw[ns] = wk, ts->sa[ns] = x->a[c], ts->sb[ns++] = x->b[c];
        ei += (double)x->a[c] * x->b[c] / wk;
        vi += hyper_var(wk, x->a[c], x->b[c]);
      }
    }
    x->ex = oi - ei, x->vx = vi;
    o += oi;
    e += ei;
    v += vi;
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
  /* the change: the excess now less the history's, per week, over the
   * places with weeks in the history windows (a place without them, as
   * every place in a network's first windows, says nothing of a change) */
  if ((rc = pair_weeks_hist(pt, ts, a, b, *pc, np)) != 0) return rc;
  double d = 0, vd = 0;
  for (size_t i = 0; i < np; i++) {
    struct pcount *x = &(*pc)[i];
    place_classes(ts, x->place, true, ts->hma + i * ts->hnw, ts->hmb + i * ts->hnw, x->hw, x->ha, x->hb, x->hab);
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
      d += x->ex - c * hex;
      vd += x->vx + c * c * hv;
    }
  }
  double pd = vd > 0 ? hls_pat__normal_sf(d / sqrt(vd)) : 1, ph = 1;
  /* the exact tail costs most: not when the change alone rules the pair
   * out and no pattern of it can go on */
  if (pd <= prm->keep_p || held) ph = hls_pat__mh_midp(ts->sw, ts->sa, ts->sb, ns, o);
  double p = pd > ph ? pd : ph;
  *p_out = p;
  *ph_out = ph;
  return 0;
}

/* The same-week count of pair key in window w (its stored pair counts,
 * in key order), the keys asked for in increasing order: *at, from 0, is
 * where the last one was, from which the search gallops. */
static uint32_t window_pair_count(const struct window *w, uint64_t key, size_t *at) {
  size_t lo = *at, step = 1, n = w->n_pk;
  while (lo + step < n && w->pk[lo + step] < key) lo += step, step *= 2;
  size_t hi = lo + step < n ? lo + step : n; /* pk[lo] .. pk[hi - 1]: the key is past lo or at hi */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->pk[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  *at = lo;
  return lo < n && w->pk[lo] == key ? w->pc[lo] : 0;
}

/* The index of pair key among window w's found pairs (in key order), or
 * w->n_found if it did not keep evidence there. */
static size_t found_at(const struct window *w, uint64_t key) {
  size_t lo = 0, hi = w->n_found;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (w->found[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < w->n_found && w->found[lo].key == key ? lo : w->n_found;
}

/* Whether pair key kept evidence in window w. */
static bool found_key(const struct window *w, uint64_t key) { return found_at(w, key) < w->n_found; }

int hls_pat__found_in_runs(const struct hls_patterns *pt, struct window *const *ws, size_t n, bool **out) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += ws[i]->n_found;
  bool *in = calloc(total ? total : 1, sizeof *in);
  if (in == NULL) return HLS_ENOMEM;
  for (size_t i = 0, at = 0, prev_at = 0; i < n; prev_at = at, at += ws[i]->n_found, i++) {
    const struct window *w = ws[i], *prev = i > 0 && ws[i - 1]->k == w->k - 1 ? ws[i - 1] : NULL;
    size_t ti = (size_t)(window_test_week(pt, w) - pt->gmin);
    double cut = pt->have_weeks && ti < pt->n_cutoff ? pt->tcutoff[ti] : 0;
    for (size_t f = 0; f < w->n_found; f++) {
      const struct pfound *pf = &w->found[f];
      /* as hls_pat__together_emit: opened by a discovery, or going on */
      size_t q = prev != NULL ? found_at(prev, pf->key) : 0;
      in[at + f] = (cut > 0 && (float)pf->p <= cut) || (prev != NULL && q < prev->n_found && in[prev_at + q]);
    }
  }
  *out = in;
  return 0;
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
  bool restored;
  int rc = hls_pat__restore_window(pt, w, &restored);
  if (rc != 0 || restored) return rc; /* its saved tests (hls_patterns_restore) */
  const struct hls_pat_params *prm = &pt->prm;
  for (size_t i = 0; i < w->n_found; i++) free(w->found[i].places);
  w->n_found = 0;
  w->n_tests = 0;
  w->n_pk = 0;
  if (w->n == 0) return 0;
  struct tscratch ts = {0};
  size_t NP = pt->n_places ? pt->n_places : 1;
  int32_t W = prm->together_weeks;
  ts.wfrom = w->k * W, ts.wspan = W;
  ts.hfrom = (w->k - TOGETHER_REACH) * W, ts.hspan = TOGETHER_HISTORY * W;
  ts.wdeg = malloc(NP * (size_t)ts.wspan * sizeof *ts.wdeg);
  ts.hdeg = malloc(NP * (size_t)ts.hspan * sizeof *ts.hdeg);
  ts.wnw = hls_pat__mask_words(ts.wspan), ts.hnw = hls_pat__mask_words(ts.hspan);
  ts.pres = calloc((size_t)(ts.hspan > ts.wspan ? ts.hspan : ts.wspan), 1);
  ts.wgt = malloc(NP * (1 + TOGETHER_GT_MASKS) * ts.wnw * sizeof *ts.wgt);
  ts.hgt = malloc(NP * (1 + TOGETHER_GT_MASKS) * ts.hnw * sizeof *ts.hgt);
  ts.ma = malloc(NP * ts.wnw * sizeof *ts.ma), ts.mb = malloc(NP * ts.wnw * sizeof *ts.mb);
  ts.hma = malloc(NP * ts.hnw * sizeof *ts.hma), ts.hmb = malloc(NP * ts.hnw * sizeof *ts.hmb);
  ts.wmed = malloc(NP * sizeof *ts.wmed), ts.hmed = malloc(NP * sizeof *ts.hmed);
  ts.dtmp = malloc((size_t)(ts.hspan > ts.wspan ? ts.hspan : ts.wspan) * sizeof *ts.dtmp);
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
      ts.wmed == NULL || ts.hmed == NULL || ts.pres == NULL || ts.dtmp == NULL || ts.wgt == NULL ||
      ts.hgt == NULL || ts.ma == NULL || ts.mb == NULL || ts.hma == NULL || ts.hmb == NULL || ts.touched == NULL ||
      ts.sw == NULL || ts.sa == NULL || ts.sb == NULL || ts.cnt == NULL || ts.wl == NULL || ts.hl == NULL) {
    rc = HLS_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < NP * (size_t)ts.wspan; i++) ts.wdeg[i] = TOGETHER_NO_DIGEST;
  for (size_t i = 0; i < NP * (size_t)ts.hspan; i++) ts.hdeg[i] = TOGETHER_NO_DIGEST;
  degrees(&w, 1, ts.wfrom, ts.wspan, ts.wdeg, ts.wmed, ts.wgt, NP, ts.dtmp);
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
  degrees(hist, nh, ts.hfrom, ts.hspan, ts.hdeg, ts.hmed, ts.hgt, NP, ts.dtmp);
  double hist_units = 0;
  for (size_t h = 0; h < nh; h++) hist_units += (double)hist[h]->n;
  struct window *prev;
  int32_t kprev = w->k - 1;
  HASH_FIND(hh, pt->windows, &kprev, sizeof kprev, prev);
  size_t hat[TOGETHER_HISTORY] = {0};
  for (size_t i = 0; i < w->n_pk && rc == 0; i++) {
    double o = w->pc[i];
    if (o < prm->together_min_count) continue;
    uint32_t a = (uint32_t)(w->pk[i] >> 32), b = (uint32_t)w->pk[i];
    double e = D > 0 ? (double)marg[a] * marg[b] * S2 / (D * D) : 0;
    if (hist_units > 0) {
      double oh = 0;
      for (size_t h = 0; h < nh; h++) oh += window_pair_count(hist[h], w->pk[i], &hat[h]);
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
  free(ts.wdeg), free(ts.hdeg), free(ts.wmed), free(ts.hmed), free(ts.pres), free(ts.dtmp);
  free(ts.wgt), free(ts.hgt), free(ts.ma), free(ts.mb), free(ts.hma), free(ts.hmb);
  free(ts.touched), free(ts.sw), free(ts.sa), free(ts.sb), free(ts.cnt);
  for (size_t th = 0; th < pt->n_themes; th++) {
    if (ts.wl != NULL) free(ts.wl[th].place), free(ts.wl[th].mask);
    if (ts.hl != NULL) free(ts.hl[th].place), free(ts.hl[th].mask);
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
