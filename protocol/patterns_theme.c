/* One theme's tests and patterns (docs/patterns.md, "The signals"): the
 * theme's weekly series as prefix sums (struct tcomp), the week by week
 * tests of the single-theme signals over them (each signal's own in
 * patterns_SIGNAL.c), what those share (candidates, priors, members), and
 * the patterns that the tests which are discoveries open and keep going
 * (2, "One pattern while it lasts"). */
#include "patterns_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- one theme's tests ------------------------------------------------------------------- */

void hls_pat__tcomp_free(struct tcomp *c) {
  if (c == NULL) return;
  for (int s = 0; s < NSER; s++) free(c->P[s]);
  free(c->NZ);
  free(c->Q0);
  free(c->place), free(c->first), free(c->first_report), free(c->region);
  free(c->NP), free(c->act), free(c->elig), free(c->adopt);
  free(c->RP), free(c->rplaces), free(c->rtop_w), free(c->rtop_b), free(c->zv), free(c->seen);
  free(c->mark), free(c->slot_of), free(c->places);
  free(c);
}

#define REALLOC(ptr, count)                                                                   \
  do {                                                                                      \
    size_t n_ = (count);                                                                    \
    void *np_ = realloc((ptr), (n_ ? n_ : 1) * sizeof *(ptr));                              \
    if (np_ == NULL) return HLS_ENOMEM;                                                     \
    (ptr) = np_;                                                                            \
  } while (0)

/* Room in c for n slots over span weeks, regions regions and the
 * engine's places places. */
static int tcomp_size(struct tcomp *c, size_t n, size_t span, size_t regions, size_t places) {
  if (places > c->cap_places) {
    REALLOC(c->slot_of, places);
    REALLOC(c->places, places);
    REALLOC(c->mark, places);
    memset(c->mark, 0, places * sizeof *c->mark);
    c->stamp = 0;
    c->cap_places = places;
  }
  size_t cells = n * (span + 1);
  if (cells > c->cap_rows || c->P[0] == NULL) {
    for (int s = 0; s < NSER; s++) REALLOC(c->P[s], cells);
    REALLOC(c->NZ, cells);
    REALLOC(c->Q0, cells);
    c->cap_rows = cells;
  }
  if (n > c->cap_n) {
    REALLOC(c->place, n);
    REALLOC(c->first, n);
    REALLOC(c->first_report, n);
    REALLOC(c->region, n);
    REALLOC(c->zv, n);
    REALLOC(c->seen, n);
    memset(c->seen, 0, n * sizeof *c->seen);
    c->seen_stamp = 0;
    c->cap_n = n;
  }
  if (span > c->cap_span || regions > c->cap_regions) {
    size_t l = span > c->cap_span ? span : c->cap_span, r = regions > c->cap_regions ? regions : c->cap_regions;
    REALLOC(c->NP, l + 1);
    REALLOC(c->act, l + 1);
    REALLOC(c->elig, l + 1);
    REALLOC(c->adopt, l + 1);
    REALLOC(c->RP, r * (l + 1));
    REALLOC(c->rplaces, r);
    REALLOC(c->rtop_w, r);
    REALLOC(c->rtop_b, r);
    c->cap_span = l;
    c->cap_regions = r;
  }
  c->n = n;
  c->span = span;
  return 0;
}

/* An episode of one unit being followed week by week. */
struct episode {
  bool open;
  int32_t from, last_ev; /* week indexes */
  double pmin, p_now, score, score2;
  double p_last_ev; /* the p-value of its last week of evidence (last_ev) */
  uint32_t *places; /* its places so far (engine place numbers), sorted */
  size_t n_places, cap_places;
};

/* Candidates of week i over the last R weeks: the slots that reported the
 * theme in those weeks (a place with nothing there has no excess). */
size_t hls_pat__candidates(struct hls_patterns *pt, struct theme *t, struct tcomp *c, int32_t i, int32_t R,
                           uint32_t *out) {
  if (++c->seen_stamp == 0) {
    memset(c->seen, 0, c->n * sizeof *c->seen);
    c->seen_stamp = 1;
  }
  size_t m = 0;
  for (int32_t j = i - R + 1; j <= i; j++) {
    if (j < 0) continue;
    struct bucket *bk = hls_pat__bucket_get(t, pt->gmin + j, false);
    if (bk == NULL) continue;
    for (size_t r = 0; r < bk->n; r++) {
      uint32_t s = c->slot_of[bk->refs[r].place];
      if (c->seen[s] == c->seen_stamp) continue;
      c->seen[s] = c->seen_stamp;
      out[m++] = s;
    }
  }
  return m;
}

/* The theme's mean value per place-week in the baseline of a window
 * [i-R+1, i] (over places whose history had started): the prior of
 * hls_pat__place_z. */
void hls_pat__priors(const struct hls_pat_params *prm, const struct tcomp *c, int32_t i, int32_t R, double *mu) {
  int32_t b1 = i - R, b0 = b1 - prm->baseline_weeks + 1;
  if (b0 < c->lo) b0 = c->lo;
  *mu = 0;
  if (b1 < b0) return;
  double S = c->NP[b1 + 1 - c->lo] - c->NP[b0 - c->lo];
  double A = c->act[b1 + 1 - c->lo] - c->act[b0 - c->lo];
  if (A > 0) *mu = S / A;
}

/* Keep week i's members of unit u (slots -> places), when it has
 * evidence. */
int hls_pat__keep_members(struct hls_patterns *pt, struct theme *t, const struct tcomp *c, int32_t i, size_t u,
                          const uint32_t *slots, size_t n) {
  uint32_t **m = &t->mem[TV(t, i, u)];
  free(*m);
  *m = NULL;
  if (n == 0) return 0;
  if ((*m = malloc((n + 1) * sizeof **m)) == NULL) return HLS_ENOMEM;
  (*m)[0] = (uint32_t)n;
  for (size_t k = 0; k < n; k++) (*m)[k + 1] = c->place[slots[k]];
  (void)pt;
  return 0;
}

void hls_pat__theme_tests_free(struct theme *t) {
  if (t->mem != NULL)
    for (size_t k = 0; k < t->pv_len * t->pv_units; k++) free(t->mem[k]);
  free(t->mem), free(t->pv), free(t->sc1), free(t->sc2), free(t->back);
  t->mem = NULL, t->pv = t->sc1 = t->sc2 = NULL, t->back = NULL;
  t->pv_len = t->pv_units = 0;
}

/* Size theme t's stored tests for L weeks of units; a change of units
 * (a new region) starts them again. Lowers *from to the first week index
 * that must be computed at least. */
static int theme_tests_size(struct theme *t, size_t L, size_t units, int32_t *from) {
  if (t->pv_units != units || L < t->pv_len) {
    hls_pat__theme_tests_free(t);
    *from = 0;
  }
  size_t old = t->pv_len;
  if (L != old || t->pv == NULL) {
    size_t cells = L * units;
    float *pv = realloc(t->pv, (cells ? cells : 1) * sizeof *pv);
    if (pv == NULL) return HLS_ENOMEM;
    t->pv = pv;
    float *s1 = realloc(t->sc1, (cells ? cells : 1) * sizeof *s1);
    if (s1 == NULL) return HLS_ENOMEM;
    t->sc1 = s1;
    float *s2 = realloc(t->sc2, (cells ? cells : 1) * sizeof *s2);
    if (s2 == NULL) return HLS_ENOMEM;
    t->sc2 = s2;
    uint8_t *bk = realloc(t->back, (cells ? cells : 1) * sizeof *bk);
    if (bk == NULL) return HLS_ENOMEM;
    t->back = bk;
    uint32_t **mem = realloc(t->mem, (cells ? cells : 1) * sizeof *mem);
    if (mem == NULL) return HLS_ENOMEM;
    t->mem = mem;
    for (size_t k = old * units; k < cells; k++) mem[k] = NULL, pv[k] = NAN;
    t->pv_len = L;
    t->pv_units = units;
    if (*from > (int32_t)old) *from = (int32_t)old;
  }
  return 0;
}

/* A place is left out of the network's change when its own deviance
 * is above this: it may be one of the places that jumped. */
#define NETWORK_HOT_Z 2.0

/* The network's change in the theme's rate over the last R weeks against
 * its baseline (per place-week whose history had started), without the
 * places whose own jump is already clear (z > NETWORK_HOT_Z), and at
 * least 1: a rise everywhere at once (the news, a season, a national
 * campaign) is not a jump at some places, while a fall everywhere must
 * not make every place look high. Keeps in cand (*mc of them) the places
 * that can be tested and whose z against their own baseline alone is
 * above zkeep: against the network's change (rho >= 1) it is no higher.
 * kappa_pool: as hls_pat__place_z's. */
double hls_pat__network_change(const struct theme_week *tw, int32_t i, int32_t R, double pm, double kappa_pool,
                               uint32_t *cand, size_t *mc, double zkeep) {
  const struct hls_pat_params *prm = &tw->pt->prm;
  const struct tcomp *c = tw->c;
  int32_t lo = tw->lo, r0 = i - R + 1, b1 = r0 - 1, b0 = r0 - prm->baseline_weeks;
  size_t W1 = tw->W1;
  if (b0 < lo) b0 = lo;
  if (b1 < b0 || r0 < lo) return 1;
  size_t kept = 0;
  double Xr = c->NP[i + 1 - lo] - c->NP[r0 - lo], Ar = c->act[i + 1 - lo] - c->act[r0 - lo];
  double Xb = c->NP[b1 + 1 - lo] - c->NP[b0 - lo], Ab = c->act[b1 + 1 - lo] - c->act[b0 - lo];
  /* z is only compared with zkeep (if one) and NETWORK_HOT_Z: at most the
   * smaller, it need not be exact */
  double zfloor = zkeep > -INFINITY && zkeep < NETWORK_HOT_Z ? zkeep : NETWORK_HOT_Z;
  for (size_t k = 0; k < *mc; k++) {
    uint32_t s = cand[k];
    double z;
    if (!hls_pat__place_z(prm, PS(0, s), QS(s), NZS(s), lo, c->first[s], i, R, 0, pm, 1, kappa_pool, 1, zfloor, &z,
                          NULL, NULL))
      continue;
    if (z > zkeep) cand[kept++] = s;
    if (z <= NETWORK_HOT_Z) continue;
    const double *P = PS(0, s);
    int32_t f = c->first[s] < lo ? lo : c->first[s], sb0 = b0 < f ? f : b0;
    Xr -= P[i + 1 - lo] - P[r0 - lo], Ar -= R;
    if (sb0 <= b1) Xb -= P[b1 + 1 - lo] - P[sb0 - lo], Ab -= b1 - sb0 + 1;
  }
  *mc = kept;
  if (!(Xr > 0 && Ar > 0 && Xb > 0 && Ab > 0)) return 1;
  double rho = (Xr / Ar) / (Xb / Ab);
  return rho > 1 ? rho : 1;
}

/* The theme's kappa in week i over R weeks, pooled over the baselines of
 * the places that can be tested (hls_pat__place_testable, min_nz
 * reports): if each week's rate is a place's mean m times a Gamma
 * variable of variance kappa, a baseline's variance is m + kappa m^2, so
 * kappa is the moments' sum of (variance - mean) over that of m^2, each
 * place weighted by its baseline's weeks less one. At least 0; *n, the
 * places that can be tested. */
double hls_pat__kappa_pool(const struct hls_pat_params *prm, const struct tcomp *c, size_t W1, size_t n, int32_t i,
                           int32_t R, int32_t min_nz, size_t *n_testable) {
  double num = 0, den = 0;
  size_t nt = 0;
  int32_t lo = c->lo, r0 = i - R + 1, b1 = r0 - 1;
  for (size_t s = 0; s < n; s++) {
    if (!hls_pat__place_testable(prm, c, s, i, R, min_nz)) continue;
    nt++;
    int32_t first = c->first[s] < lo ? lo : c->first[s], b0 = r0 - prm->baseline_weeks;
    if (b0 < first) b0 = first;
    double nb = b1 - b0 + 1, S = PS(0, s)[b1 + 1 - lo] - PS(0, s)[b0 - lo];
    if (!(S > 0) || nb < 2) continue;
    double SQ = QS(s)[b1 + 1 - lo] - QS(s)[b0 - lo], m = S / nb, var = (SQ - S * S / nb) / (nb - 1);
    num += (nb - 1) * (var - m);
    den += (nb - 1) * m * m;
  }
  *n_testable = nt;
  return den > 0 && num > 0 ? num / den : 0;
}

/* Whether slot s can be tested in week i over R weeks (as hls_pat__place_z). */
bool hls_pat__place_testable(const struct hls_pat_params *prm, const struct tcomp *c, size_t s, int32_t i, int32_t R,
                             int32_t min_nz) {
  int32_t r0 = i - R + 1, first = c->first[s] < c->lo ? c->lo : c->first[s];
  if (r0 < first || r0 < 1) return false;
  int32_t b0 = r0 - prm->baseline_weeks;
  if (b0 < first) b0 = first;
  if (r0 - b0 < prm->min_baseline_weeks) return false;
  const int32_t *NZ = c->NZ + s * (c->span + 1);
  return NZ[r0 - c->lo] - NZ[b0 - c->lo] >= min_nz;
}

/* The most records of one theme at one scale a place-week counts for in
 * the tests. Values are halves (the middle of a rounded cell's interval),
 * so every prefix sum below, and its squares (quarters), is exact in a
 * double while it stays under 2^51: with this cap (a place-week's total
 * at most 4,000, its square 1.6e7), for up to 140 million place-weeks,
 * more than 100,000 places over the longest span held (1,040 weeks). Exact sums make a test's
 * result the same whichever week the computation starts from, so that an
 * engine updated fact by fact ends where one updated once; a larger
 * count is no real place's week of learning (a fault or an attack, and
 * no one place makes a pattern anyway). */
#define TEST_MAX_COUNT 1000.0

/* t->rp_place and rp_first made from its cells (c's per-place room is
 * scratch). */
static int reporting_places(struct hls_patterns *pt, struct tcomp *c, struct theme *t) {
  int rc = tcomp_size(c, 0, 0, pt->n_regions, pt->n_places + 1);
  if (rc != 0) return rc;
  if (++c->stamp == 0) {
    memset(c->mark, 0, c->cap_places * sizeof *c->mark);
    c->stamp = 1;
  }
  uint32_t st = c->stamp;
  for (size_t k = 0; k < t->n_frozen_first; k++)
    if (t->frozen_first[k] != INT32_MAX) c->mark[k] = st;
  for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next)
    for (size_t j = 0; j < bk->n; j++) c->mark[bk->refs[j].place] = st;
  size_t n = 0;
  for (size_t k = 0; k < pt->n_places; k++) n += c->mark[k] == st;
  if (n > t->cap_rp) {
    REALLOC(t->rp_place, n);
    REALLOC(t->rp_first, n);
    t->cap_rp = n;
  }
  n = 0;
  for (size_t k = 0; k < pt->n_places; k++)
    if (c->mark[k] == st) {
      c->slot_of[k] = (uint32_t)n;
      t->rp_place[n] = (uint32_t)k;
      t->rp_first[n++] = k < t->n_frozen_first ? t->frozen_first[k] : INT32_MAX;
    }
  for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next)
    for (size_t j = 0; j < bk->n; j++) {
      uint32_t s = c->slot_of[bk->refs[j].place];
      if (bk->week < t->rp_first[s]) t->rp_first[s] = bk->week;
    }
  t->n_rp = n;
  t->rp_valid = true;
  return 0;
}

/* A cell of t at place in week came: its places kept up, or made again
 * at its next tests (a place new to it). */
void hls_pat__theme_reported(struct theme *t, uint32_t place, int32_t week) {
  if (!t->rp_valid) return;
  size_t lo = 0, hi = t->n_rp;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (t->rp_place[mid] < place) lo = mid + 1;
    else hi = mid;
  }
  if (lo < t->n_rp && t->rp_place[lo] == place) {
    if (week < t->rp_first[lo]) t->rp_first[lo] = week;
  } else {
    t->rp_valid = false;
  }
}

/* Compute theme t's tests for week indexes [from, L): each unit's p-value,
 * its statistic, and (when it has evidence) its places. last (a week
 * index; INT32_MAX: none) is the last week whose cells changed since the
 * tests were computed: when no place's first report of the theme moved,
 * only the tests that look back at [from, last] are computed again (a test
 * of week i reads weeks i - R - baseline_weeks .. i). */
int hls_pat__theme_tests(struct hls_patterns *pt, struct tcomp *c, struct theme *t, int32_t from, int32_t last) {
  const struct hls_pat_params *prm = &pt->prm;
  if (!pt->have_weeks) {
    hls_pat__theme_tests_free(t);
    return 0;
  }
  size_t L = (size_t)(pt->gmax - pt->gmin + 1), R_n = pt->n_regions, units = U_RISING + R_n;
  if (from < 0) from = 0;
  /* The tests of frozen weeks are final (hls_patterns_freeze): their
   * cells are no longer all held. */
  if (pt->frozen && from < pt->freeze_week - pt->gmin) from = pt->freeze_week - pt->gmin;
  int32_t asked = from;
  bool remade = t->pv != NULL && (t->pv_units != units || L < t->pv_len);
  /* Frozen weeks' tables are never made anew: a new region is refused
   * once weeks are frozen, and one met before was given to every theme
   * (hls_patterns_place marks them all). */
  if (remade && pt->frozen) return HLS_EINTERNAL;
  int rc = theme_tests_size(t, L, units, &from);
  if (rc != 0) return rc;
  /* The weeks a saved copy's tests are taken for (hls_patterns_restore)
   * take them, whatever was computed there before (with some facts of
   * the week not given yet), unless the copy does not fit the table. */
  if (hls_pat__restored_before(pt) != INT32_MIN) {
    int32_t upto;
    if ((rc = hls_pat__restore_theme(pt, t, from, (int32_t)L, &upto)) != 0) return rc;
    from = upto;
  }
  /* Computed again from the start (a table made anew: a new region; a
   * theme's first computation), or from weeks not computed yet: to the
   * end, whatever week changed. */
  if (from != asked || remade) last = INT32_MAX;
  if (from >= (int32_t)L) return 0;
  /* the weeks the data are needed for: the baselines of the first week */
  int32_t lo = from - tests_reach(prm);
  if (lo < 0) lo = 0;

  /* Slots: the places that reported the theme (in the cells held, and in
   * those frozen weeks gave up), in place order whatever order the facts
   * came in, and when they first did. */
  if (!t->rp_valid && (rc = reporting_places(pt, c, t)) != 0) return rc;
  size_t n = t->n_rp;
  if ((rc = tcomp_size(c, n, 0, R_n, pt->n_places + 1)) != 0) return rc;
  for (size_t s = 0; s < n; s++) {
    c->places[s] = t->rp_place[s];
    c->slot_of[t->rp_place[s]] = (uint32_t)s;
    c->first_report[s] = t->rp_first[s] - pt->gmin;
  }
  /* Where a place first reported the theme decides spread's places at
   * risk in every later week: if that moved, every later test changes. */
  uint64_t sig = mix64(n + 1);
  for (size_t s = 0; s < n; s++)
    sig += mix64((uint64_t)c->places[s] << 32 | (uint32_t)c->first_report[s]);
  if (sig == 0) sig = 1;
  int32_t end = (int32_t)L;
  if (last != INT32_MAX && sig == t->first_sig && last < (int32_t)L - tests_reach(prm))
    end = (last < from ? from : last) + tests_reach(prm);
  if (end > (int32_t)L) end = (int32_t)L;
  size_t span = (size_t)(end - lo), W1 = span + 1;
  if ((rc = tcomp_size(c, n, span, R_n, pt->n_places + 1)) != 0) return rc;
  c->lo = lo;
  for (size_t s = 0; s < n; s++) {
    const struct place *pl = pt->places[c->places[s]];
    c->place[s] = pl->ix;
    int32_t f = pl->has_week ? pl->first_week - pt->gmin : 0;
    c->first[s] = f < 0 ? 0 : f;
    c->region[s] = pl->region_ix;
  }
  for (int sr = 0; sr < NSER; sr++) memset(c->P[sr], 0, n * W1 * sizeof *c->P[sr]);
  memset(c->NZ, 0, n * W1 * sizeof *c->NZ);
  memset(c->Q0, 0, n * W1 * sizeof *c->Q0);
  memset(c->NP, 0, W1 * sizeof *c->NP);
  for (const struct bucket *bk = t->weeks; bk != NULL; bk = bk->hh.next) {
    int32_t i = bk->week - pt->gmin;
    if (i < lo || i >= end) continue;
    for (size_t j = 0; j < bk->n; j++) {
      const struct cref *r = &bk->refs[j];
      uint32_t s = c->slot_of[r->place];
      size_t at = s * W1 + (size_t)(i - lo) + 1;
      double tot = 0;
      for (int sc = 0; sc < HLS_SCALE_COUNT; sc++) {
        double v = r->ms[sc] < TEST_MAX_COUNT ? r->ms[sc] : TEST_MAX_COUNT;
        tot += v;
        if (v > 0) c->P[1 + sc][at] += v;
      }
      c->P[0][at] += tot;
      c->Q0[at] += tot * tot;
      c->NZ[at] = 1;
      c->NP[i - lo + 1] += tot;
    }
  }
  for (size_t s = 0; s < n; s++) {
    double *P[NSER], *Q = c->Q0 + s * W1;
    int32_t *NZ = c->NZ + s * W1;
    /* the running sums in locals, every series at once: summed in place
     * (P[i] += P[i - 1]) each week waited on the store of the one before,
     * which was most of a theme's cost */
    double sP[NSER], sQ = Q[0];
    int32_t sNZ = NZ[0];
    for (int sr = 0; sr < NSER; sr++) P[sr] = c->P[sr] + s * W1, sP[sr] = P[sr][0];
    for (size_t i = 1; i <= span; i++) {
      for (int sr = 0; sr < NSER; sr++) P[sr][i] = sP[sr] += P[sr][i];
      NZ[i] = sNZ += NZ[i];
      Q[i] = sQ += Q[i];
    }
  }
  for (size_t i = 1; i <= span; i++) c->NP[i] += c->NP[i - 1];

  /* Places whose history had started (act), places at risk of taking the
   * theme up (elig: spread_history_weeks of digests without it), places
   * taking it up (adopt): counts per week, then prefix sums. */
  int32_t H = prm->spread_history_weeks;
  memset(c->act, 0, W1 * sizeof *c->act);
  memset(c->elig, 0, W1 * sizeof *c->elig);
  memset(c->adopt, 0, W1 * sizeof *c->adopt);
#define AT_WEEK(arr, wk, d)                         \
  do {                                             \
    int32_t wk_ = (wk) < lo ? lo : (wk);            \
    if (wk_ < end) (arr)[wk_ - lo + 1] += (d);      \
  } while (0)
  for (int32_t f = 0; f < (int32_t)L; f++) {
    int32_t k = pt->first_cnt[f];
    if (k == 0) continue;
    AT_WEEK(c->act, f, k);
    AT_WEEK(c->elig, f + H, k);
  }
  for (size_t s = 0; s < n; s++) {
    int32_t fr = c->first_report[s], at_risk_from = c->first[s] + H;
    if (fr + 1 > at_risk_from) AT_WEEK(c->elig, fr + 1, -1);
    else AT_WEEK(c->elig, at_risk_from, -1);
    if (fr >= at_risk_from && fr >= lo && fr < end) c->adopt[fr - lo + 1] += 1;
  }
#undef AT_WEEK
  for (size_t i = 1; i <= span; i++) c->act[i] += c->act[i - 1], c->elig[i] += c->elig[i - 1];
  /* the first week any place was at risk: a baseline of new places
   * starts there */
  int32_t e0 = INT32_MAX;
  for (int32_t f = 0; f < (int32_t)L && e0 == INT32_MAX; f++)
    if (pt->first_cnt[f] > 0) e0 = f + H;
  for (size_t i = 1; i <= span; i++)
    c->act[i] += c->act[i - 1], c->elig[i] += c->elig[i - 1], c->adopt[i] += c->adopt[i - 1];

  /* Regions' weekly totals. */
  memset(c->RP, 0, R_n * W1 * sizeof *c->RP);
  for (size_t s = 0; s < n; s++) {
    if (c->region[s] == 0) continue;
    double *RP = c->RP + c->region[s] * W1;
    const double *P = c->P[0] + s * W1;
    for (size_t i = 0; i <= span; i++) RP[i] += P[i];
  }

  uint32_t *cand = c->places; /* free now: slots are numbered */
  uint32_t *mem = malloc((n ? n : 1) * sizeof *mem);
  if (mem == NULL) return HLS_ENOMEM;
  /* Before the theme was first reported anywhere, it was not tested: a
   * theme met late must not add tests (p-values of 1) to past weeks and
   * move their cutoffs. */
  int32_t tfirst = INT32_MAX;
  for (size_t s = 0; s < n; s++)
    if (c->first_report[s] < tfirst) tfirst = c->first_report[s];
  struct theme_week tw = {.pt = pt, .t = t, .c = c, .lo = lo, .e0 = e0, .n = n, .W1 = W1, .cand = cand, .mem = mem};
  for (int32_t i = from; i < end && rc == 0; i++) {
    if (i < tfirst) {
      for (size_t u = 0; u < units; u++) {
        size_t at = TV(t, i, u);
        t->pv[at] = NAN;
        free(t->mem[at]);
        t->mem[at] = NULL;
      }
      continue;
    }
    rc = hls_pat__spread_test(&tw, i);
    if (rc == 0) rc = hls_pat__emerging_test(&tw, i);
    if (rc == 0) rc = hls_pat__cross_test(&tw, i);
    if (rc == 0 && R_n > 1) rc = hls_pat__rising_test(&tw, i);
  }
  free(mem);
  if (rc == 0) t->first_sig = sig;
  return rc;
}

/* Emit unit u's episode of theme t. */
static int episode_emit(struct hls_patterns *pt, struct theme *t, size_t u, const struct episode *ep, bool live,
                        struct ctx_update *cu) {
  static const int signal_of[U_RISING + 1] = {HLS_PAT_SPREAD, HLS_PAT_EMERGING, HLS_PAT_CROSS_SCALE, HLS_PAT_RISING};
  if (ep->n_places == 0) return 0;
  struct build b;
  hls_pat__build_init(&b, signal_of[u < U_RISING ? u : U_RISING], t->ix);
  if (u >= U_RISING) b.p.region = pt->regions[u - U_RISING];
  hls_pat__places_begin(pt, &b);
  for (size_t k = 0; k < ep->n_places; k++) hls_pat__place_add(pt, &b, ep->places[k]);
  b.p.week_from = pt->gmin + ep->from;
  b.p.week_to = pt->gmin + ep->last_ev;
  b.p.live = live;
  b.p.p = ep->pmin;
  b.p.strength = strength_of(ep->pmin);
  b.p.p_now = ep->p_now;
  b.p.score = ep->score;
  b.p.score2 = ep->score2;
  hls_pat__gather_counts(pt, t, &b, b.p.week_from, b.p.week_to);
  return hls_pat__emit(pt, &b, &t->pats, &t->n_pats, &t->cap_pats, cu);
}

static int episode_add_places(struct episode *ep, const uint32_t *m) {
  if (m == NULL) return 0;
  size_t n = m[0];
  if (!grow((void **)&ep->places, &ep->cap_places, ep->n_places + n, sizeof *ep->places)) return HLS_ENOMEM;
  memcpy(ep->places + ep->n_places, m + 1, n * sizeof *m);
  ep->n_places += n;
  qsort(ep->places, ep->n_places, sizeof *ep->places, u32_cmp);
  size_t keep = 0;
  for (size_t k = 0; k < ep->n_places; k++)
    if (keep == 0 || ep->places[keep - 1] != ep->places[k]) ep->places[keep++] = ep->places[k];
  ep->n_places = keep;
  return 0;
}

/* Theme t's patterns from its stored tests: a unit's test that is a
 * discovery of its week's FDR opens a pattern; it goes on while its
 * p-value is at most keep_p, and ends after end_weeks weeks without. */
int hls_pat__theme_episodes(struct hls_patterns *pt, struct theme *t, struct ctx_update *cu) {
  const struct hls_pat_params *prm = &pt->prm;
  int rc = 0;
  size_t L = t->pv_len, U = t->pv_units;
  if (!pt->have_weeks || L != (size_t)(pt->gmax - pt->gmin + 1)) L = 0;
  struct episode ep;
  for (size_t u = 0; u < U && rc == 0 && L > 0; u++) {
    memset(&ep, 0, sizeof ep);
    for (size_t i = 0; i < L && rc == 0; i++) {
      size_t at = TV(t, i, u);
      double p = t->pv[at];
      double cut = i < pt->n_cutoff ? pt->cutoff[i] : 0;
      bool discovery = !isnan(p) && cut > 0 && p <= cut;
      bool evidence = !isnan(p) && p <= prm->keep_p;
      if (!ep.open) {
        if (!discovery) continue;
        int32_t from = (int32_t)i - t->back[at];
        ep.open = true;
        ep.from = from < 0 ? 0 : from;
        ep.last_ev = (int32_t)i;
        ep.pmin = ep.p_now = ep.p_last_ev = p;
        ep.score = t->sc1[at];
        ep.score2 = t->sc2[at];
        ep.n_places = 0;
        rc = episode_add_places(&ep, t->mem[at]);
      } else if (evidence) {
        ep.last_ev = (int32_t)i;
        ep.p_now = ep.p_last_ev = p;
        if (p < ep.pmin) ep.pmin = p, ep.score = t->sc1[at], ep.score2 = t->sc2[at];
        rc = episode_add_places(&ep, t->mem[at]);
      } else {
        ep.p_now = isnan(p) ? 1.0 : p;
        if ((int32_t)i - ep.last_ev >= prm->end_weeks) {
          /* ended: its weeks end at its last week of evidence, and so
           * does the p-value it is shown with */
          ep.open = false;
          ep.p_now = ep.p_last_ev;
          rc = episode_emit(pt, t, u, &ep, false, cu);
        }
      }
    }
    if (rc == 0 && ep.open) rc = episode_emit(pt, t, u, &ep, true, cu);
    free(ep.places);
  }
  if (rc != 0) return rc;
  return hls_pat__sweep(pt, t->pats, &t->n_pats, cu);
}
