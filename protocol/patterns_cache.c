/* The frozen weeks' tests kept across restarts (patterns.h,
 * hls_patterns_save; docs/patterns.md, "Frozen weeks kept across
 * restarts").
 *
 * A saved copy holds what an engine computed for the weeks it froze: each
 * theme's tests of those weeks, each window's tests, pairs and pair counts
 * if its weeks are all frozen, with what they were computed from: the
 * engine (HLS_PAT_ENGINE_ID, the digest of its sources) and parameters, the first week held, the regions, each place's
 * first week and region, and each frozen week's facts (the sum of its
 * units' fp: every digest's place, week, seq and folded cells). A new
 * engine takes it before any fact (hls_patterns_restore), which numbers
 * the places, themes and regions as the saved engine did; as the host
 * gives the facts week by week it says which weeks are whole
 * (hls_patterns_restore_check), and each week whose facts are those saved
 * takes its saved tests instead of computing them, up to the first week
 * that differs. From there on, everything is computed as without a saved
 * copy, so the result is the same to the bit (test_patterns.c checks it
 * with hls_patterns_tests_hash).
 *
 * The copy is bytes the host stores: on reading it back its checksum, and
 * every count and index against what the bytes can hold and against the
 * engine's bounds, are checked, and anything else is refused whole
 * (HLS_EINVAL); a copy of another engine or other parameters is refused
 * (HLS_ESTATE).
 *
 * Layout (little-endian; str: u32 length, bytes): "hlspatc1", u32 method,
 * str engine id, u32 n + n f64 parameters (in HLS_PAT_PARAMS order), i32
 * gmin, i32 before, u32 n + n str regions (the first ""), u32 n + n places
 * (origin[32], u8 has_week, i32 first week, u32 region), (before - gmin)
 * u64 week fps, u32 n + n themes (str key, u32 units (0: no tests), then
 * weeks x units x (f32 p, f32 statistic, f32 expectation, u8 back, u32 n +
 * n u32 places)), u32 n + n windows (i32 k, u32 n + n f32 tests, u32 n + n
 * (u64 pair key, u32 count), u32 n + n found pairs (u64 key, u32 a, u32 b,
 * f64 p, p_hold, o, e, u32 n + n (u32 place, u8 w[2], a[2], b[2], ab[2]))),
 * then the checksum. */
#include "patterns_internal.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "hls_pat_engine.h"

/* The copy's layout and what a unit's fp reads: a change to either must
 * change this. The engine that computed the tests is named by
 * HLS_PAT_ENGINE_ID, the digest of its sources (cmake/engine_id.cmake): a
 * build whose engine differs in any byte does not take them, and one that
 * changes only the rest of hlsd does (a start after such an upgrade is a
 * restart). */
#define METHOD_VERSION 1

static const uint8_t MAGIC[8] = {'h', 'l', 's', 'p', 'a', 't', 'c', '1'};

/* A copy ends with the BLAKE2b-256 of all before it: one damaged in the
 * store is refused whole, not taken with a wrong p-value in it. */
#define SUM_BYTES 32

/* A window's saved results. */
struct rwin {
  int32_t k;
  size_t n_tests, n_pk, n_found;
  float *tests;
  uint64_t *pk;
  uint32_t *pc;
  struct pfound *found;
};

/* A theme's saved tests: units 0 when it had none (every week NAN). */
struct rtheme {
  size_t units;
  float *pv, *sc1, *sc2;
  uint8_t *back;
  uint32_t **mem;
};

struct rplace {
  bool has_week;
  int32_t first_week;
  uint32_t region_ix;
};

struct restore {
  int32_t gmin, before; /* saved tests are taken of weeks [gmin, before) (cut lowers before) */
  size_t weeks;         /* the weeks saved: their tables' length */
  int32_t verified;     /* the facts of weeks [gmin, verified) were checked */
  size_t n_regions, n_places, n_themes, n_windows;
  struct rplace *places;
  uint64_t *fp; /* [before - gmin] */
  struct rtheme *themes;
  struct rwin *windows; /* by k */
};

void hls_pat__restore_free(struct restore *rs) {
  if (rs == NULL) return;
  size_t weeks = rs->weeks;
  for (size_t i = 0; i < rs->n_themes; i++) {
    struct rtheme *t = &rs->themes[i];
    if (t->mem != NULL)
      for (size_t k = 0; k < weeks * t->units; k++) free(t->mem[k]);
    free(t->pv), free(t->sc1), free(t->sc2), free(t->back), free(t->mem);
  }
  for (size_t i = 0; i < rs->n_windows; i++) {
    struct rwin *w = &rs->windows[i];
    for (size_t f = 0; f < w->n_found; f++) free(w->found[f].places);
    free(w->tests), free(w->pk), free(w->pc), free(w->found);
  }
  free(rs->places), free(rs->fp), free(rs->themes), free(rs->windows);
  free(rs);
}

int32_t hls_pat__restored_before(const struct hls_patterns *pt) {
  const struct restore *rs = pt->rs;
  /* the saved tests are of these weeks and regions (the check cuts them
   * off otherwise; the facts that move them cut them off first) */
  if (rs == NULL || !pt->have_weeks || pt->gmin != rs->gmin || pt->n_regions < rs->n_regions) return INT32_MIN;
  int32_t b = rs->before < rs->verified ? rs->before : rs->verified;
  return b > rs->gmin ? b : INT32_MIN;
}

/* --- writing ------------------------------------------------------------------------------ */

/* A copy is written twice: counted (p NULL), then into a buffer of that
 * size (a partner's copy is tens of MB: no room kept for growth). */
struct wbuf {
  uint8_t *p;
  size_t n;
};

static void put(struct wbuf *b, const void *v, size_t n) {
  if (b->p != NULL) memcpy(b->p + b->n, v, n);
  b->n += n;
}

/* v's low n bytes, little-endian */
static void put_le(struct wbuf *b, uint64_t v, int n) {
  uint8_t x[8];
  for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
  put(b, x, (size_t)n);
}
static void put_u64(struct wbuf *b, uint64_t v) { put_le(b, v, 8); }
static void put_u32(struct wbuf *b, uint32_t v) { put_le(b, v, 4); }
static void put_u8(struct wbuf *b, uint8_t v) { put(b, &v, 1); }
static void put_i32(struct wbuf *b, int32_t v) { put_u32(b, (uint32_t)v); }
static void put_f32(struct wbuf *b, float v) {
  uint32_t x;
  memcpy(&x, &v, 4);
  put_u32(b, x);
}
static void put_f64(struct wbuf *b, double v) {
  uint64_t x;
  memcpy(&x, &v, 8);
  put_u64(b, x);
}
static void put_str(struct wbuf *b, const char *s) {
  size_t n = strlen(s);
  put_u32(b, (uint32_t)n);
  put(b, s, n);
}

/* The copy (but its checksum) into b; ws[0..nw): the windows saved, with
 * in_run of every window's found pairs from ws[0] on. */
static void write_copy(const struct hls_patterns *pt, struct wbuf *b, struct window *const *ws, size_t nw,
                       const bool *in_run) {
  size_t weeks = (size_t)(pt->freeze_week - pt->gmin), units = U_RISING + pt->n_regions;
  put(b, MAGIC, sizeof MAGIC);
  put_u32(b, METHOD_VERSION);
  put_str(b, HLS_PAT_ENGINE_ID);
  put_u32(b, HLS_PAT_PARAM_COUNT);
  for (int i = 0; i < HLS_PAT_PARAM_COUNT; i++) put_f64(b, hls_pat_param_get(&pt->prm, i));
  put_i32(b, pt->gmin);
  put_i32(b, pt->freeze_week);
  put_u32(b, (uint32_t)pt->n_regions);
  for (size_t i = 0; i < pt->n_regions; i++) put_str(b, pt->regions[i]);
  put_u32(b, (uint32_t)pt->n_places);
  for (size_t i = 0; i < pt->n_places; i++) {
    const struct place *pl = pt->places[i];
    put(b, pl->origin, HLS_KEY_BYTES);
    put_u8(b, pl->has_week);
    put_i32(b, pl->first_week);
    put_u32(b, pl->region_ix);
  }
  for (size_t i = 0; i < weeks; i++) put_u64(b, pt->wfp[i]);
  put_u32(b, (uint32_t)pt->n_themes);
  for (size_t i = 0; i < pt->n_themes; i++) {
    const struct theme *t = pt->themes[i];
    put_str(b, t->key);
    put_u32(b, t->pv != NULL ? (uint32_t)units : 0);
    if (t->pv == NULL) continue;
    for (size_t k = 0; k < weeks * units; k++) {
      /* a test not run (NAN) has nothing else set */
      bool run = !isnan(t->pv[k]);
      put_f32(b, t->pv[k]);
      put_f32(b, run ? t->sc1[k] : 0);
      put_f32(b, run ? t->sc2[k] : 0);
      put_u8(b, run ? t->back[k] : 0);
      uint32_t nm = t->mem[k] != NULL ? t->mem[k][0] : 0;
      put_u32(b, nm);
      for (uint32_t m = 0; m < nm; m++) put_u32(b, t->mem[k][1 + m]);
    }
  }
  put_u32(b, (uint32_t)nw);
  for (size_t i = 0, at = 0; i < nw; at += ws[i]->n_found, i++) {
    const struct window *w = ws[i];
    put_i32(b, w->k);
    put_u32(b, (uint32_t)w->n_tests);
    for (size_t k = 0; k < w->n_tests; k++) put_f32(b, w->tests[k]);
    put_u32(b, (uint32_t)w->n_pk);
    for (size_t k = 0; k < w->n_pk; k++) {
      put_u64(b, w->pk[k]);
      put_u32(b, w->pc[k]);
    }
    put_u32(b, (uint32_t)w->n_found);
    for (size_t f = 0; f < w->n_found; f++) {
      const struct pfound *pf = &w->found[f];
      put_u64(b, pf->key);
      put_u32(b, pf->a);
      put_u32(b, pf->b);
      put_f64(b, pf->p);
      put_f64(b, pf->p_hold);
      put_f64(b, pf->o);
      put_f64(b, pf->e);
      size_t np = in_run[at + f] ? pf->n_places : 0;
      put_u32(b, (uint32_t)np);
      for (size_t q = 0; q < np; q++) {
        const struct ptab *tb = &pf->places[q];
        put_u32(b, tb->place);
        put(b, tb->w, 2), put(b, tb->a, 2), put(b, tb->b, 2), put(b, tb->ab, 2);
      }
    }
  }
}

int hls_patterns_save(const struct hls_patterns *pt, uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (!pt->frozen || hls_patterns_dirty(pt) || !pt->have_weeks) return HLS_ESTATE;
  size_t weeks = (size_t)(pt->freeze_week - pt->gmin), units = U_RISING + pt->n_regions;
  for (size_t i = 0; i < pt->n_themes; i++) {
    const struct theme *t = pt->themes[i];
    if (t->pv != NULL && (t->pv_units != units || t->pv_len < weeks)) return HLS_ESTATE;
  }
  /* the windows whose weeks are all frozen, by k (those before them
   * first in ws), with the places of the pairs in a together pattern
   * only: no other reads the places of a frozen window's pairs */
  int32_t W = pt->prm.together_weeks;
  size_t nw = 0, all = HASH_COUNT(pt->windows);
  struct window **ws = malloc((all ? all : 1) * sizeof *ws);
  bool *in_run = NULL;
  if (ws == NULL) return HLS_ENOMEM;
  for (struct window *w = pt->windows; w != NULL; w = w->hh.next) ws[nw++] = w;
  qsort(ws, nw, sizeof *ws, window_k_cmp);
  if (hls_pat__found_in_runs(pt, ws, nw, &in_run) != 0) {
    free(ws);
    return HLS_ENOMEM;
  }
  while (nw > 0 && (int64_t)ws[nw - 1]->k * W + W - 1 >= pt->freeze_week) nw--;
  struct wbuf b = {0};
  write_copy(pt, &b, ws, nw, in_run);
  size_t n = b.n;
  b = (struct wbuf){.p = malloc(n + SUM_BYTES)};
  if (b.p != NULL) {
    write_copy(pt, &b, ws, nw, in_run);
    crypto_generichash(b.p + n, SUM_BYTES, b.p, n, NULL, 0);
  }
  free(ws);
  free(in_run);
  if (b.p == NULL) return HLS_ENOMEM;
  *out = b.p;
  *len = n + SUM_BYTES;
  return 0;
}

/* --- reading ------------------------------------------------------------------------------ */

struct rbuf {
  const uint8_t *p;
  size_t n;
  bool bad;
};

static const uint8_t *take(struct rbuf *r, size_t n) {
  if (r->bad || r->n < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  r->n -= n;
  return p;
}
/* n bytes, little-endian (0 past the end, which marks r bad) */
static uint64_t get_le(struct rbuf *r, int n) {
  const uint8_t *x = take(r, (size_t)n);
  uint64_t v = 0;
  if (x != NULL)
    for (int i = 0; i < n; i++) v |= (uint64_t)x[i] << (8 * i);
  return v;
}
static uint64_t get_u64(struct rbuf *r) { return get_le(r, 8); }
static uint32_t get_u32(struct rbuf *r) { return (uint32_t)get_le(r, 4); }
static uint8_t get_u8(struct rbuf *r) {
  const uint8_t *x = take(r, 1);
  return x != NULL ? x[0] : 0;
}
static int32_t get_i32(struct rbuf *r) { return (int32_t)get_u32(r); }
static float get_f32(struct rbuf *r) {
  uint32_t x = get_u32(r);
  float v;
  memcpy(&v, &x, 4);
  return v;
}
static double get_f64(struct rbuf *r) {
  uint64_t x = get_u64(r);
  double v;
  memcpy(&v, &x, 8);
  return v;
}
/* A count of items of at least each bytes: more than the bytes left can
 * hold is a damaged copy. */
static size_t get_count(struct rbuf *r, size_t each, size_t max) {
  uint32_t n = get_u32(r);
  if (r->bad || n > max || (each > 0 && n > r->n / each)) {
    r->bad = true;
    return 0;
  }
  return n;
}
/* A string of at most max bytes, no NUL, copied into s (max + 1). */
static void get_str(struct rbuf *r, char *s, size_t max) {
  size_t n = get_count(r, 1, max);
  const uint8_t *p = take(r, n);
  s[0] = '\0';
  if (p == NULL) return;
  if (memchr(p, '\0', n) != NULL) {
    r->bad = true;
    return;
  }
  memcpy(s, p, n);
  s[n] = '\0';
}

static int str_ptr_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

#define BAD(why_, ...) hls_why_set((why_), HLS_EINVAL, "patterns: saved tests: " __VA_ARGS__)

/* The themes' part of a copy: n themes, each its key (made in the engine
 * in this order) and its tests of weeks. */
static int read_themes(struct hls_patterns *pt, struct rbuf *r, struct restore *rs, size_t weeks,
                       struct hls_why *why) {
  size_t units = U_RISING + rs->n_regions;
  rs->n_themes = get_count(r, 8, UINT32_MAX);
  if (r->bad) return BAD(why, "cut short in its themes");
  if ((rs->themes = calloc(rs->n_themes ? rs->n_themes : 1, sizeof *rs->themes)) == NULL) return HLS_ENOMEM;
  for (size_t i = 0; i < rs->n_themes; i++) {
    char key[HLS_THEME_MAX + 3];
    get_str(r, key, sizeof key - 1);
    if (r->bad) return BAD(why, "theme %zu: damaged", i);
    int kind = key[0] - '0';
    if (key[0] < '0' || kind >= HLS_KIND_COUNT || key[1] != ':' || key[2] == '\0')
      return BAD(why, "theme %zu: not a theme key", i);
    struct theme *t = hls_pat__theme_get(pt, key + 2, kind);
    if (t == NULL) return HLS_ENOMEM;
    if (t->ix != i) return BAD(why, "theme %zu: %s is there twice", i, key);
    struct rtheme *rt = &rs->themes[i];
    uint32_t u = get_u32(r);
    if (u == 0) continue;
    if (u != units) return BAD(why, "theme %zu: %u units, not %zu", i, u, units);
    size_t cells = weeks * units;
    /* each cell is 17 bytes at least */
    if (r->n / 17 < cells) return BAD(why, "theme %zu: cut short", i);
    rt->units = units;
    rt->pv = malloc(cells * sizeof *rt->pv), rt->sc1 = malloc(cells * sizeof *rt->sc1);
    rt->sc2 = malloc(cells * sizeof *rt->sc2), rt->back = malloc(cells);
    rt->mem = calloc(cells, sizeof *rt->mem);
    if (rt->pv == NULL || rt->sc1 == NULL || rt->sc2 == NULL || rt->back == NULL || rt->mem == NULL) {
      if (rt->mem == NULL) rt->units = 0; /* nothing to free in it */
      return HLS_ENOMEM;
    }
    for (size_t k = 0; k < cells; k++) {
      rt->pv[k] = get_f32(r);
      rt->sc1[k] = get_f32(r);
      rt->sc2[k] = get_f32(r);
      rt->back[k] = get_u8(r);
      size_t nm = get_count(r, 4, rs->n_places);
      if (r->bad) return BAD(why, "theme %zu: cut short", i);
      if (nm == 0) continue;
      if ((rt->mem[k] = malloc((nm + 1) * sizeof *rt->mem[k])) == NULL) return HLS_ENOMEM;
      rt->mem[k][0] = (uint32_t)nm;
      for (size_t m = 0; m < nm; m++) {
        uint32_t pl = get_u32(r);
        if (pl >= rs->n_places) return BAD(why, "theme %zu: a place out of range", i);
        rt->mem[k][1 + m] = pl;
      }
    }
  }
  return 0;
}

static int read_windows(const struct hls_patterns *pt, struct rbuf *r, struct restore *rs, struct hls_why *why) {
  int32_t W = pt->prm.together_weeks;
  rs->n_windows = get_count(r, 16, UINT32_MAX);
  if (r->bad) return BAD(why, "cut short in its windows");
  if ((rs->windows = calloc(rs->n_windows ? rs->n_windows : 1, sizeof *rs->windows)) == NULL) return HLS_ENOMEM;
  /* windows reach back TOGETHER_REACH windows before the first week */
  int64_t kmin = (int64_t)rs->gmin / W - TOGETHER_REACH - 1, kmax = (int64_t)rs->before / W;
  for (size_t i = 0; i < rs->n_windows; i++) {
    struct rwin *w = &rs->windows[i];
    w->k = get_i32(r);
    if (r->bad) return BAD(why, "cut short in its windows");
    if (w->k < kmin || w->k > kmax || (int64_t)w->k * W + W - 1 >= rs->before ||
        (i > 0 && w->k <= rs->windows[i - 1].k))
      return BAD(why, "window %zu: out of range or order", i);
    w->n_tests = get_count(r, 4, UINT32_MAX);
    if (r->bad) return BAD(why, "window %zu: cut short", i);
    if ((w->tests = malloc((w->n_tests ? w->n_tests : 1) * sizeof *w->tests)) == NULL) return HLS_ENOMEM;
    for (size_t k = 0; k < w->n_tests; k++) w->tests[k] = get_f32(r);
    w->n_pk = get_count(r, 12, UINT32_MAX);
    if (r->bad) return BAD(why, "window %zu: cut short", i);
    w->pk = malloc((w->n_pk ? w->n_pk : 1) * sizeof *w->pk);
    w->pc = malloc((w->n_pk ? w->n_pk : 1) * sizeof *w->pc);
    if (w->pk == NULL || w->pc == NULL) return HLS_ENOMEM;
    for (size_t k = 0; k < w->n_pk; k++) {
      w->pk[k] = get_u64(r);
      w->pc[k] = get_u32(r);
      uint32_t a = (uint32_t)(w->pk[k] >> 32), b = (uint32_t)w->pk[k];
      if (r->bad || a >= b || b >= rs->n_themes || (k > 0 && w->pk[k] <= w->pk[k - 1]))
        return BAD(why, "window %zu: a pair out of range or order", i);
    }
    w->n_found = get_count(r, 52, UINT32_MAX);
    if (r->bad) return BAD(why, "window %zu: cut short", i);
    if ((w->found = calloc(w->n_found ? w->n_found : 1, sizeof *w->found)) == NULL) return HLS_ENOMEM;
    for (size_t f = 0; f < w->n_found; f++) {
      struct pfound *pf = &w->found[f];
      pf->key = get_u64(r);
      pf->a = get_u32(r), pf->b = get_u32(r);
      pf->p = get_f64(r), pf->p_hold = get_f64(r), pf->o = get_f64(r), pf->e = get_f64(r);
      uint32_t ka = (uint32_t)(pf->key >> 32), kb = (uint32_t)pf->key;
      /* a and b are the key's themes, in the order of their keys */
      if (r->bad || ka >= kb || kb >= rs->n_themes || (f > 0 && pf->key <= w->found[f - 1].key) ||
          !((pf->a == ka && pf->b == kb) || (pf->a == kb && pf->b == ka)))
        return BAD(why, "window %zu: a pair found out of range or order", i);
      size_t np = get_count(r, 12, rs->n_places);
      if (r->bad) return BAD(why, "window %zu: cut short", i);
      if ((pf->places = malloc((np ? np : 1) * sizeof *pf->places)) == NULL) return HLS_ENOMEM;
      pf->n_places = np;
      for (size_t q = 0; q < np; q++) {
        struct ptab *tb = &pf->places[q];
        tb->place = get_u32(r);
        const uint8_t *x = take(r, 8);
        if (x == NULL || tb->place >= rs->n_places || (q > 0 && tb->place <= pf->places[q - 1].place))
          return BAD(why, "window %zu: a place out of range or order", i);
        memcpy(tb->w, x, 2), memcpy(tb->a, x + 2, 2), memcpy(tb->b, x + 4, 2), memcpy(tb->ab, x + 6, 2);
      }
    }
  }
  return 0;
}

static int read_copy(struct hls_patterns *pt, struct rbuf *r, struct restore *rs, struct hls_why *why) {
  (void)take(r, sizeof MAGIC); /* checked by hls_patterns_restore */
  char engine[64];
  uint32_t method = get_u32(r);
  get_str(r, engine, sizeof engine - 1);
  if (r->bad) return BAD(why, "cut short");
  if (method != METHOD_VERSION || strcmp(engine, HLS_PAT_ENGINE_ID) != 0) {
    /* named in the log only if it looks like a name (an older hlsd wrote
     * its version there) */
    bool plain = engine[0] != '\0';
    for (const char *c = engine; *c; c++)
      if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '.' ||
            *c == '-'))
        plain = false;
    return hls_why_set(why, HLS_ESTATE, "patterns: saved tests: of another engine (%s, method %u; this one %s, %u)",
                       plain ? engine : "?", method, HLS_PAT_ENGINE_ID, METHOD_VERSION);
  }
  size_t np = get_count(r, 8, 1024);
  if (r->bad) return BAD(why, "cut short");
  bool same = np == HLS_PAT_PARAM_COUNT;
  for (size_t i = 0; i < np; i++) {
    double v = get_f64(r), mine = same ? hls_pat_param_get(&pt->prm, (int)i) : 0;
    if (same && memcmp(&v, &mine, sizeof v) != 0) same = false;
  }
  if (r->bad) return BAD(why, "cut short");
  if (!same) return hls_why_set(why, HLS_ESTATE, "patterns: saved tests: of other [patterns] parameters");
  rs->gmin = get_i32(r);
  rs->before = get_i32(r);
  if (r->bad || rs->before <= rs->gmin || (int64_t)rs->before - rs->gmin > HLS_PAT_MAX_SPAN_WEEKS)
    return BAD(why, "weeks out of range");
  size_t weeks = (size_t)((int64_t)rs->before - rs->gmin);
  rs->verified = rs->gmin;
  /* regions: 0 is "" (places without one), then each by name, once */
  rs->n_regions = get_count(r, 4, UINT32_MAX);
  if (r->bad || rs->n_regions == 0) return BAD(why, "no regions");
  char **rg = realloc(pt->regions, rs->n_regions * sizeof *rg);
  if (rg == NULL) return HLS_ENOMEM;
  pt->regions = rg;
  for (size_t i = 0; i < rs->n_regions; i++) {
    char name[HLS_REGION_MAX + 1];
    get_str(r, name, HLS_REGION_MAX);
    if (r->bad || (i == 0) != (name[0] == '\0')) return BAD(why, "region %zu: damaged", i);
    if (i == 0) continue;
    if ((rg[pt->n_regions] = strdup(name)) == NULL) return HLS_ENOMEM;
    pt->n_regions++;
  }
  char **sorted = malloc(rs->n_regions * sizeof *sorted);
  if (sorted == NULL) return HLS_ENOMEM;
  memcpy(sorted, rg, rs->n_regions * sizeof *sorted);
  qsort(sorted, rs->n_regions, sizeof *sorted, str_ptr_cmp);
  bool twice = false;
  for (size_t i = 1; i < rs->n_regions; i++) twice = twice || strcmp(sorted[i - 1], sorted[i]) == 0;
  free(sorted);
  if (twice) return BAD(why, "a region there twice");
  rs->n_places = get_count(r, HLS_KEY_BYTES + 9, UINT32_MAX);
  if (r->bad) return BAD(why, "cut short in its places");
  if ((rs->places = calloc(rs->n_places ? rs->n_places : 1, sizeof *rs->places)) == NULL) return HLS_ENOMEM;
  for (size_t i = 0; i < rs->n_places; i++) {
    const uint8_t *origin = take(r, HLS_KEY_BYTES);
    struct rplace *p = &rs->places[i];
    p->has_week = get_u8(r) != 0;
    p->first_week = get_i32(r);
    p->region_ix = get_u32(r);
    /* a place's history starts at its first digest: in the weeks held */
    if (r->bad || p->region_ix >= rs->n_regions || (p->has_week && p->first_week < rs->gmin))
      return BAD(why, "place %zu: damaged", i);
    struct place *pl = hls_pat__place_get(pt, origin);
    if (pl == NULL) return HLS_ENOMEM;
    if (pl->ix != i) return BAD(why, "place %zu: there twice", i);
  }
  if (r->n / 8 < weeks) return BAD(why, "cut short in its weeks");
  if ((rs->fp = malloc(weeks * sizeof *rs->fp)) == NULL) return HLS_ENOMEM;
  rs->weeks = weeks;
  for (size_t i = 0; i < weeks; i++) rs->fp[i] = get_u64(r);
  int rc = read_themes(pt, r, rs, weeks, why);
  if (rc == 0) rc = read_windows(pt, r, rs, why);
  if (rc == 0 && (r->bad || r->n != 0)) rc = BAD(why, "%zu bytes after its end", r->n);
  return rc;
}

int hls_patterns_restore(struct hls_patterns *pt, const void *buf, size_t len, struct hls_why *why) {
  if (pt->n_places != 0 || pt->n_themes != 0 || pt->n_regions != 1 || pt->have_weeks || pt->rs != NULL)
    return hls_why_set(why, HLS_ESTATE, "patterns: saved tests are taken by an engine given nothing yet");
  struct restore *rs = calloc(1, sizeof *rs);
  if (rs == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  uint8_t sum[SUM_BYTES];
  int rc;
  if (len < sizeof MAGIC + SUM_BYTES || memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
    rc = BAD(why, "not a copy of saved tests");
  } else if (crypto_generichash(sum, sizeof sum, buf, len - SUM_BYTES, NULL, 0) != 0 ||
             sodium_memcmp(sum, (const uint8_t *)buf + len - SUM_BYTES, SUM_BYTES) != 0) {
    rc = BAD(why, "damaged (its checksum is not that of its bytes)");
  } else {
    struct rbuf r = {buf, len - SUM_BYTES, false};
    rc = read_copy(pt, &r, rs, why);
  }
  if (rc == 0) {
    pt->rs = rs;
    return 0;
  }
  hls_pat__restore_free(rs);
  if (rc == HLS_ENOMEM) hls_why_set(why, rc, "patterns: out of memory reading saved tests");
  return rc;
}

/* The saved tests are not taken from week on (a fact of an earlier week
 * than those checked came, or a check found one that differs): what was
 * taken from there on is computed again. */
int hls_pat__restore_cut(struct hls_patterns *pt, int32_t week) {
  struct restore *rs = pt->rs;
  if (rs == NULL || week >= hls_pat__restored_before(pt)) return 0;
  if (week < rs->before) rs->before = week;
  return hls_pat__mark_from(pt, week);
}

int hls_patterns_restore_check(struct hls_patterns *pt, int32_t week) {
  struct restore *rs = pt->rs;
  if (rs == NULL || !pt->have_weeks) return 0;
  /* Regions met since come after the copy's (places of weeks taken are
   * in the copy's, below): their tests in the weeks taken are none. */
  if (pt->gmin != rs->gmin || pt->n_regions < rs->n_regions) return hls_pat__restore_cut(pt, INT32_MIN);
  int32_t to = week < rs->before ? week : rs->before;
  if (to <= rs->verified) return 0;
  /* The places whose history starts before to: the same first weeks and
   * regions (a difference changes every test from the earlier week). */
  int32_t bad = to;
  for (size_t k = 0; k < pt->n_places; k++) {
    const struct place *pl = pt->places[k];
    const struct rplace *sp = k < rs->n_places ? &rs->places[k] : NULL;
    bool now = pl->has_week && pl->first_week < to, saved = sp != NULL && sp->has_week && sp->first_week < to;
    if (!now && !saved) continue;
    if (now && saved && pl->first_week == sp->first_week && pl->region_ix == sp->region_ix) continue;
    int32_t at = now ? pl->first_week : sp->first_week;
    if (now && saved && sp->first_week < at) at = sp->first_week;
    if (at < bad) bad = at;
  }
  /* (the weeks held reach to: to is at most before, and the copy's
   * weeks before it were held) */
  for (int32_t w = rs->verified; w < to && w < bad; w++)
    if (w > pt->gmax || pt->wfp[w - pt->gmin] != rs->fp[w - rs->gmin]) bad = w;
  if (bad < to) {
    int rc = hls_pat__restore_cut(pt, bad);
    if (rc != 0) return rc;
    if (bad < rs->before) rs->before = bad;
    to = bad;
  }
  if (to > rs->verified) rs->verified = to;
  return 0;
}

int32_t hls_patterns_restore_end(struct hls_patterns *pt) {
  int32_t b = hls_pat__restored_before(pt);
  hls_pat__restore_free(pt->rs);
  pt->rs = NULL;
  /* A window taken keeps the places of its pairs in a together pattern
   * only, final while it is frozen: one the engine did not freeze (it
   * freezes fewer weeks than the copy's engine did) is computed again at
   * the next update, as a later fact may start a pattern through it. The
   * themes' saved tests are whole. */
  int32_t frozen = pt->frozen ? pt->freeze_week : INT32_MIN;
  if (b != INT32_MIN && b > frozen) (void)hls_pat__mark_windows_from(pt, frozen);
  return b;
}

int hls_pat__restore_theme(struct hls_patterns *pt, struct theme *t, int32_t from, int32_t to, int32_t *upto) {
  *upto = from;
  int32_t rb = hls_pat__restored_before(pt);
  if (rb == INT32_MIN) return 0;
  const struct restore *rs = pt->rs;
  int32_t end = rb - pt->gmin;
  if (end > to) end = to;
  if (from >= end) return 0;
  const struct rtheme *rt = t->ix < rs->n_themes ? &rs->themes[t->ix] : NULL;
  /* the units of regions met since the copy (after its own) were not
   * tested in those weeks: none of their places had started */
  size_t su = rt != NULL ? rt->units : 0, tu = t->pv_units;
  if (su > tu) return 0; /* computed */
  for (size_t i = (size_t)from; i < (size_t)end; i++)
    for (size_t u = 0; u < tu; u++) {
      size_t k = i * tu + u, q = i * su + u;
      free(t->mem[k]);
      t->mem[k] = NULL;
      if (u >= su) {
        t->pv[k] = NAN, t->sc1[k] = t->sc2[k] = 0, t->back[k] = 0;
        continue;
      }
      t->pv[k] = rt->pv[q], t->sc1[k] = rt->sc1[q], t->sc2[k] = rt->sc2[q], t->back[k] = rt->back[q];
      if (rt->mem[q] != NULL) {
        size_t bytes = (rt->mem[q][0] + 1) * sizeof *rt->mem[q];
        if ((t->mem[k] = malloc(bytes)) == NULL) return HLS_ENOMEM;
        memcpy(t->mem[k], rt->mem[q], bytes);
      }
    }
  t->taken += (size_t)(end - from);
  *upto = end;
  return 0;
}

int hls_pat__restore_window(struct hls_patterns *pt, struct window *w, bool *taken) {
  *taken = false;
  int32_t rb = hls_pat__restored_before(pt), W = pt->prm.together_weeks;
  if (rb == INT32_MIN || (int64_t)w->k * W + W - 1 >= rb) return 0;
  const struct restore *rs = pt->rs;
  size_t lo = 0, hi = rs->n_windows;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (rs->windows[mid].k < w->k) lo = mid + 1;
    else hi = mid;
  }
  const struct rwin *sw = lo < rs->n_windows && rs->windows[lo].k == w->k ? &rs->windows[lo] : NULL;
  size_t nt = sw ? sw->n_tests : 0, nk = sw ? sw->n_pk : 0, nf = sw ? sw->n_found : 0;
  if (!GROW(w->tests, w->cap_tests, nt) || !GROW(w->pk, w->cap_pk, nk) || !GROW(w->pc, w->cap_pc, nk) ||
      !GROW(w->found, w->cap_found, nf))
    return HLS_ENOMEM;
  struct ptab **places = calloc(nf ? nf : 1, sizeof *places);
  if (places == NULL) return HLS_ENOMEM;
  for (size_t f = 0; f < nf; f++) {
    size_t n = sw->found[f].n_places;
    if ((places[f] = malloc((n ? n : 1) * sizeof *places[f])) == NULL) {
      for (size_t g = 0; g < f; g++) free(places[g]);
      free(places);
      return HLS_ENOMEM;
    }
    memcpy(places[f], sw->found[f].places, n * sizeof *places[f]);
  }
  for (size_t f = 0; f < w->n_found; f++) free(w->found[f].places);
  if (nt) memcpy(w->tests, sw->tests, nt * sizeof *w->tests);
  if (nk) memcpy(w->pk, sw->pk, nk * sizeof *w->pk), memcpy(w->pc, sw->pc, nk * sizeof *w->pc);
  for (size_t f = 0; f < nf; f++) {
    w->found[f] = sw->found[f];
    w->found[f].places = places[f];
  }
  free(places);
  w->n_tests = nt, w->n_pk = nk, w->n_found = nf;
  pt->windows_taken++;
  *taken = true;
  return 0;
}
