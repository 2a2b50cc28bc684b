/* The pattern engine (protocol/patterns.h) fed a script of facts.
 *
 * The input is two header bytes, then operations; each starts with a byte
 * whose value mod 8 picks it:
 *   header  [flags] [w]: flags bit 0 lowers every minimum (K = 1, one place,
 *           G2 0, NPMI -1, ...), bit 1 shortens the histories (EARS
 *           baseline 2, guard 0; CUSUM reference 2..3 weeks), bit 2 sets
 *           window_weeks = 1 + w % 10 (else 8)
 *   0 PLACE   [label] [name] [region]: name or rename place label % 24
 *   1 DIGEST  [label] [seq] [week] [method] [n] n x CELL: week BASE - 4 +
 *             week % 40; method from a table of odd ones (threshold 0, 1,
 *             10^8; rounding 1, 2, 3, 10^8); at most 6 cells
 *   2 ODD     the same with [week] picking an ISO (year, week) from a table
 *             that has 53rd weeks, year ends and weeks that do not exist
 *   3 STORY   [label] [seq] [week] [n] n x [theme | kind << 4]
 *   4 ERASE   [label] [seq]
 *   5 UPDATE  [refuse]: the change callback refuses its refuse-th call (0:
 *             never)
 *   6 CHECK   every held pattern: find, lineage, and the invariants below
 *   7 AGAIN   [seq] [label]: the last valid digest given again, at this seq
 *             and place
 *   CELL = [theme | kind << 4] [scale | stage << 2] [count: 255 withheld,
 *          254 10^8, else itself]
 * Missing bytes read as 0; at most MAX_OPS operations.
 *
 * Checked, beyond memory safety and leaks:
 *  - every pattern reported or held is well formed: lo <= hi, places sorted,
 *    unique and known, its signal's own rules (spread: score = places >= K;
 *    cross-scale: score = scales >= cross_min_scales; together: an ordered
 *    pair, lo = hi = its places (those reporting both), G2 and NPMI over
 *    their minima;
 *    emerging: C2 over the threshold; rising: CUSUM >= h), windows aligned;
 *  - the changes reported (only those the callback accepts) describe the
 *    held set exactly: NEW for an id not held, UPDATED and RETRACTED for one
 *    held; after every update, stopped or not, the held set is the one the
 *    changes built; every held pattern is found by hls_patterns_find;
 *  - lineage: cells in (week, place, theme) order, inside the pattern's
 *    weeks, places and theme(s); stories inside its weeks and places; and
 *    when no fact is pending (the last update completed), the cells cover
 *    exactly its places, their intervals add up to the pattern's (but
 *    together's), and there are n_stories stories;
 *  - a second engine given the same facts, updated only once at the end,
 *    holds the same patterns as the first after its final update (scores
 *    to the 0.001 of the fingerprint): the result does not depend on when
 *    updates ran or were stopped. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "patterns.h"

#define BASE 2920 /* 2025-W51, the first week of an aligned window of 8 */
#define N_LABELS 24 /* enough places for together with the default minima */
#define MAX_OPS 300
#define MAX_CELLS 6

static const char *const theme_names[] = {"a", "b", "c", "d", "e",
                                          "a-much-longer-theme-name-of-sixty-four-characters-exactly-xxxxxx"};
static const char *const place_names[] = {
    "", "Northtown", "Southvale",
    ("A place whose name is longer than a place name may be, over one hundred and "
     "twenty characters: the engine keeps the first 120")};
static const char *const region_names[] = {"", "North", "South"};
static const struct hls_digest_method methods[] = {{10, 5}, {0, 1}, {1, 2}, {5, 3}, {100000000u, 100000000u}};
static const int odd_weeks[][2] = {{2020, 53}, {2021, 1},  {2021, 53}, {2026, 53}, {2027, 1}, {2025, 52},
                                   {2026, 0},  {2026, 54}, {1969, 52}, {1970, 1},  {2015, 53}, {2016, 1}};

struct in {
  const uint8_t *p;
  size_t n;
};

static uint8_t u8(struct in *in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

/* The ids the accepted changes say are held. */
struct shadow {
  size_t n, cap;
  uint8_t (*id)[HLS_PAT_ID_BYTES];
};

struct run {
  struct hls_pat_params prm;
  struct hls_patterns *a, *b; /* a: updated as the script says; b: once, at the end */
  struct shadow sh;
  size_t places, themes; /* a's, before the update or check running */
  int calls, refuse_at;
  struct hls_digest last; /* cells point at last_cells */
  struct hls_digest_cell last_cells[MAX_CELLS];
  bool have_last;
  bool have_weeks; /* the weeks of the digests accepted: the engine's span */
  int32_t wmin, wmax;
};

static long shadow_find(const struct shadow *s, const uint8_t *id) {
  for (size_t i = 0; i < s->n; i++)
    if (memcmp(s->id[i], id, HLS_PAT_ID_BYTES) == 0) return (long)i;
  return -1;
}

static void shadow_add(struct shadow *s, const uint8_t *id) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    void *p = realloc(s->id, cap * sizeof *s->id);
    FUZZ_CHECK(p != NULL);
    s->id = p;
    s->cap = cap;
  }
  memcpy(s->id[s->n++], id, HLS_PAT_ID_BYTES);
}

static int32_t floor_mod(int32_t a, int32_t b) { return ((a % b) + b) % b; }

/* What every pattern must satisfy, reported or held. */
static void check_pattern(const struct run *r, const struct hls_patterns *pt, const struct hls_pattern *p) {
  const struct hls_pat_params *prm = &r->prm;
  FUZZ_CHECK(p->signal >= 0 && p->signal < HLS_PAT_SIGNAL_COUNT);
  FUZZ_CHECK(p->lo <= p->hi);
  FUZZ_CHECK(p->week_from <= p->week_to);
  FUZZ_CHECK(p->n_places >= 1 && p->places != NULL);
  for (size_t i = 0; i < p->n_places; i++) {
    FUZZ_CHECK(p->places[i] < r->places);
    if (i > 0) FUZZ_CHECK(p->places[i - 1] < p->places[i]);
  }
  FUZZ_CHECK(p->theme < r->themes);
  FUZZ_CHECK((p->theme2 == HLS_PAT_NONE) == (p->signal != HLS_PAT_TOGETHER));
  FUZZ_CHECK(p->scales != 0 && p->scales < (1u << HLS_SCALE_COUNT));
  FUZZ_CHECK(isfinite(p->score) && isfinite(p->score2));
  int32_t W = prm->window_weeks;
  bool windowed = p->signal == HLS_PAT_SPREAD || p->signal == HLS_PAT_CROSS_SCALE || p->signal == HLS_PAT_TOGETHER;
  if (windowed) FUZZ_CHECK(floor_mod(p->week_from, W) == 0 && p->week_to == p->week_from + W - 1);
  switch (p->signal) {
  case HLS_PAT_SPREAD:
    FUZZ_CHECK(p->score == (double)p->n_places && p->n_places >= (size_t)prm->spread_min_places);
    FUZZ_CHECK(p->score2 == 0);
    break;
  case HLS_PAT_CROSS_SCALE:
    FUZZ_CHECK(p->score == (double)__builtin_popcount(p->scales) && p->score >= prm->cross_min_scales);
    FUZZ_CHECK(p->n_places >= (size_t)prm->cross_min_places);
    break;
  case HLS_PAT_TOGETHER: {
    FUZZ_CHECK(p->theme2 < r->themes && p->theme2 != p->theme);
    const char *n1, *n2;
    int k1, k2;
    FUZZ_CHECK(hls_patterns_theme_info(pt, p->theme, &n1, &k1) == 0);
    FUZZ_CHECK(hls_patterns_theme_info(pt, p->theme2, &n2, &k2) == 0);
    FUZZ_CHECK(k1 < k2 || (k1 == k2 && strcmp(n1, n2) < 0)); /* "K:name" order */
    /* lo = hi = the places reporting both */
    FUZZ_CHECK(p->lo == p->hi && p->lo == p->n_places && p->n_places >= (size_t)prm->together_min_places);
    FUZZ_CHECK(p->score >= prm->together_min_g2 && p->score2 >= prm->together_min_npmi && p->score2 <= 1 + 1e-9);
    break;
  }
  case HLS_PAT_EMERGING:
    FUZZ_CHECK(p->score > prm->ears_threshold && p->lo >= (uint64_t)prm->ears_min_count);
    break;
  case HLS_PAT_RISING:
    FUZZ_CHECK(p->score >= prm->cusum_h && p->score2 >= prm->cusum_min_mean);
    FUZZ_CHECK(p->n_places >= (size_t)prm->cusum_min_places);
    break;
  }
}

/* --- lineage --------------------------------------------------------------------- */

struct lin {
  const struct hls_pattern *p;
  uint64_t lo, hi, places; /* places: a bit per place number met */
  size_t stories;
  bool have_prev;
  struct hls_pat_cell_ref prev;
};

static bool in_places(const struct hls_pattern *p, uint32_t place) {
  for (size_t i = 0; i < p->n_places; i++)
    if (p->places[i] == place) return true;
  return false;
}

static int lin_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lin *l = ctx;
  const struct hls_pattern *p = l->p;
  FUZZ_CHECK(c->week >= p->week_from && c->week <= p->week_to);
  FUZZ_CHECK(in_places(p, c->place));
  FUZZ_CHECK(c->theme == p->theme || (p->theme2 != HLS_PAT_NONE && c->theme == p->theme2));
  FUZZ_CHECK(c->lo <= c->hi && c->scales != 0);
  if (l->have_prev) {
    const struct hls_pat_cell_ref *q = &l->prev;
    FUZZ_CHECK(q->week < c->week || (q->week == c->week && (q->place < c->place ||
                                                           (q->place == c->place && q->theme < c->theme))));
  }
  l->prev = *c;
  l->have_prev = true;
  l->lo += c->lo;
  l->hi += c->hi;
  FUZZ_CHECK(c->place < 64);
  l->places |= 1ull << c->place;
  return 0;
}

static int lin_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct lin *l = ctx;
  FUZZ_CHECK(s->week >= l->p->week_from && s->week <= l->p->week_to);
  FUZZ_CHECK(in_places(l->p, s->place));
  FUZZ_CHECK(s->title != NULL);
  l->stories++;
  return 0;
}

/* exact: no fact is pending, so the pattern is what its lineage says. */
static void check_lineage(const struct hls_patterns *pt, const struct hls_pattern *p, bool exact) {
  struct lin l = {.p = p};
  FUZZ_CHECK(hls_patterns_lineage(pt, p, lin_cell, lin_story, &l) == 0);
  if (!exact) return;
  uint64_t want = 0;
  for (size_t i = 0; i < p->n_places; i++) want |= 1ull << p->places[i];
  FUZZ_CHECK(l.places == want);
  if (p->signal != HLS_PAT_TOGETHER) FUZZ_CHECK(l.lo == p->lo && l.hi == p->hi);
  FUZZ_CHECK(l.stories == p->n_stories);
}

/* --- updates --------------------------------------------------------------------- */

struct ctx {
  struct run *r;
  const struct hls_patterns *pt;
};

static int on_change(void *vctx, int change, const struct hls_pattern *p) {
  struct ctx *c = vctx;
  struct run *r = c->r;
  check_pattern(r, c->pt, p);
  if (++r->calls == r->refuse_at) return 1;
  long at = shadow_find(&r->sh, p->id);
  switch (change) {
  case HLS_PAT_NEW:
    FUZZ_CHECK(at < 0);
    shadow_add(&r->sh, p->id);
    break;
  case HLS_PAT_UPDATED: FUZZ_CHECK(at >= 0); break;
  case HLS_PAT_RETRACTED:
    FUZZ_CHECK(at >= 0);
    memcpy(r->sh.id[at], r->sh.id[--r->sh.n], HLS_PAT_ID_BYTES);
    break;
  default: FUZZ_CHECK(0);
  }
  return 0;
}

struct each {
  const struct run *r;
  const struct hls_patterns *pt;
  size_t n;
  bool lineage;
};

static int each_held(void *vctx, const struct hls_pattern *p) {
  struct each *e = vctx;
  FUZZ_CHECK(hls_patterns_find(e->pt, p->id) == p);
  FUZZ_CHECK(shadow_find(&e->r->sh, p->id) >= 0);
  check_pattern(e->r, e->pt, p);
  if (e->lineage) check_lineage(e->pt, p, !hls_patterns_dirty(e->pt));
  e->n++;
  return 0;
}

/* The held set is what the accepted changes built. */
static void count_facts(struct run *r) {
  struct hls_pat_stats st;
  hls_patterns_stats(r->a, &st);
  r->places = st.places;
  r->themes = st.themes;
}

static void check_held(struct run *r, bool lineage) {
  count_facts(r);
  struct each e = {.r = r, .pt = r->a, .lineage = lineage};
  FUZZ_CHECK(hls_patterns_each(r->a, each_held, &e) == 0);
  FUZZ_CHECK(e.n == r->sh.n);
  struct hls_pat_stats st;
  hls_patterns_stats(r->a, &st);
  FUZZ_CHECK(st.patterns == e.n);
  size_t sum = 0;
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++) sum += st.by_signal[i];
  FUZZ_CHECK(sum == st.patterns);
}

static void update_a(struct run *r, int refuse_at) {
  struct ctx c = {r, r->a};
  count_facts(r);
  r->calls = 0;
  r->refuse_at = refuse_at;
  int rc = hls_patterns_update(r->a, on_change, &c);
  FUZZ_CHECK(rc == 0 || (rc == 1 && refuse_at > 0 && r->calls == refuse_at));
  FUZZ_CHECK(hls_patterns_dirty(r->a) == (rc != 0));
  r->refuse_at = 0;
  check_held(r, false);
}

/* --- facts ----------------------------------------------------------------------- */

static void origin_of(int label, uint8_t out[HLS_KEY_BYTES]) {
  memset(out, 0xc3, HLS_KEY_BYTES);
  out[0] = (uint8_t)label;
}

static void give_digest(struct run *r, int label, uint64_t seq, const struct hls_digest *d) {
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  int32_t week;
  bool valid = hls_patterns_week(d->iso_year, d->iso_week, &week) == 0;
  int want = valid ? 0 : HLS_EINVAL;
  if (valid && r->have_weeks) {
    int64_t lo = week < r->wmin ? week : r->wmin, hi = week > r->wmax ? week : r->wmax;
    if (hi - lo + 1 > HLS_PAT_MAX_SPAN_WEEKS) want = HLS_ELIMIT; /* refused: too long a span */
  }
  FUZZ_CHECK(hls_patterns_digest(r->a, o, seq, d) == want);
  FUZZ_CHECK(hls_patterns_digest(r->b, o, seq, d) == want);
  if (want != 0) return;
  if (!r->have_weeks || week < r->wmin) r->wmin = week;
  if (!r->have_weeks || week > r->wmax) r->wmax = week;
  r->have_weeks = true;
  if (d != &r->last) {
    r->last = *d;
    memcpy(r->last_cells, d->cells, d->n_cells * sizeof *d->cells);
    r->last.cells = r->last_cells;
    r->have_last = true;
  }
}

static void read_digest(struct in *in, struct run *r, bool odd) {
  int label = u8(in) % N_LABELS;
  uint64_t seq = u8(in);
  struct hls_digest d = {0};
  uint8_t wk = u8(in);
  if (odd) {
    const int *yw = odd_weeks[wk % (sizeof odd_weeks / sizeof odd_weeks[0])];
    d.iso_year = yw[0];
    d.iso_week = yw[1];
  } else {
    hls_patterns_iso_week(BASE - 4 + wk % 40, &d.iso_year, &d.iso_week);
  }
  d.method = methods[u8(in) % (sizeof methods / sizeof methods[0])];
  struct hls_digest_cell cells[MAX_CELLS];
  memset(cells, 0, sizeof cells);
  d.n_cells = u8(in) % (MAX_CELLS + 1);
  d.cells = cells;
  for (size_t i = 0; i < d.n_cells; i++) {
    uint8_t t = u8(in), ss = u8(in), count = u8(in);
    snprintf(cells[i].theme, sizeof cells[i].theme, "%s", theme_names[(t & 15) % 6]);
    cells[i].kind = (t >> 4) % HLS_KIND_COUNT;
    cells[i].scale = ss % HLS_SCALE_COUNT;
    cells[i].stage = (ss >> 2) % HLS_STAGE_COUNT;
    cells[i].withheld = count == 255;
    cells[i].count = count == 255 ? 0 : count == 254 ? 100000000u : count;
  }
  give_digest(r, label, seq, &d);
}

static void read_story(struct in *in, struct run *r) {
  int label = u8(in) % N_LABELS;
  uint64_t seq = u8(in);
  struct hls_story s;
  memset(&s, 0, sizeof s);
  hls_patterns_iso_week(BASE - 4 + u8(in) % 40, &s.iso_year, &s.iso_week);
  snprintf(s.title, sizeof s.title, "story %d:%u", label, (unsigned)seq);
  s.n_themes = u8(in) % 4;
  for (size_t i = 0; i < s.n_themes; i++) {
    uint8_t t = u8(in);
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", theme_names[(t & 15) % 6]);
    s.themes[i].kind = (enum hls_kind)((t >> 4) % HLS_KIND_COUNT);
  }
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  FUZZ_CHECK(hls_patterns_story(r->a, o, seq, &s) == 0);
  FUZZ_CHECK(hls_patterns_story(r->b, o, seq, &s) == 0);
}

/* --- the two engines agree ------------------------------------------------------------ */

struct list {
  size_t n, cap;
  const struct hls_pattern **p;
};

static int list_add(void *ctx, const struct hls_pattern *p) {
  struct list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    void *q = realloc(l->p, cap * sizeof *l->p);
    FUZZ_CHECK(q != NULL);
    l->p = q;
    l->cap = cap;
  }
  l->p[l->n++] = p;
  return 0;
}

static void check_same(const struct run *r) {
  struct list la = {0}, lb = {0};
  FUZZ_CHECK(hls_patterns_each(r->a, list_add, &la) == 0);
  FUZZ_CHECK(hls_patterns_each(r->b, list_add, &lb) == 0);
  FUZZ_CHECK(la.n == lb.n);
  for (size_t i = 0; i < la.n; i++) {
    const struct hls_pattern *x = la.p[i], *y = lb.p[i];
    FUZZ_CHECK(memcmp(x->id, y->id, HLS_PAT_ID_BYTES) == 0);
    FUZZ_CHECK(x->signal == y->signal && x->theme == y->theme && x->theme2 == y->theme2);
    FUZZ_CHECK(x->week_from == y->week_from && x->week_to == y->week_to);
    /* A change below the fingerprint's precision (0.001) is not an
     * update, so a held score may be that much behind. */
    FUZZ_CHECK(llround(x->score * 1000.0) == llround(y->score * 1000.0));
    FUZZ_CHECK(llround(x->score2 * 1000.0) == llround(y->score2 * 1000.0));
    FUZZ_CHECK(x->lo == y->lo && x->hi == y->hi && x->scales == y->scales);
    FUZZ_CHECK(x->n_stories == y->n_stories && x->n_places == y->n_places);
    FUZZ_CHECK(memcmp(x->places, y->places, x->n_places * sizeof *x->places) == 0);
  }
  free(la.p);
  free(lb.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct in in = {data, size};
  static struct run r;
  memset(&r, 0, sizeof r);
  hls_pat_params_default(&r.prm);
  uint8_t flags = u8(&in), w = u8(&in);
  if (flags & 1) {
    r.prm.spread_min_places = 1;
    r.prm.ears_min_count = 1;
    r.prm.ears_min_places = 1;
    r.prm.ears_threshold = 0;
    r.prm.cusum_min_places = 1;
    r.prm.cusum_h = 0.5;
    r.prm.together_min_count = 1;
    r.prm.together_min_places = 1;
    r.prm.together_min_g2 = 0;
    r.prm.together_min_npmi = -1;
    r.prm.cross_min_places = 1;
  }
  if (flags & 2) {
    r.prm.ears_baseline = 2;
    r.prm.ears_guard = 0;
    r.prm.cusum_ref_weeks = 3;
    r.prm.cusum_min_ref = 2;
  }
  if (flags & 4) r.prm.window_weeks = 1 + w % 10;
  FUZZ_CHECK(hls_patterns_new(&r.a, &r.prm, NULL) == 0);
  FUZZ_CHECK(hls_patterns_new(&r.b, &r.prm, NULL) == 0);

  for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
    switch (u8(&in) % 8) {
    case 0: {
      uint8_t o[HLS_KEY_BYTES];
      origin_of(u8(&in) % N_LABELS, o);
      const char *name = place_names[u8(&in) % 4], *region = region_names[u8(&in) % 3];
      FUZZ_CHECK(hls_patterns_place(r.a, o, name, region) == 0);
      FUZZ_CHECK(hls_patterns_place(r.b, o, name, region) == 0);
      break;
    }
    case 1: read_digest(&in, &r, false); break;
    case 2: read_digest(&in, &r, true); break;
    case 3: read_story(&in, &r); break;
    case 4: {
      uint8_t o[HLS_KEY_BYTES];
      origin_of(u8(&in) % N_LABELS, o);
      uint64_t seq = u8(&in);
      FUZZ_CHECK(hls_patterns_erase(r.a, o, seq) == 0);
      FUZZ_CHECK(hls_patterns_erase(r.b, o, seq) == 0);
      break;
    }
    case 5: update_a(&r, u8(&in) % 8); break;
    case 6: check_held(&r, true); break;
    case 7: {
      uint64_t seq = u8(&in);
      if (r.have_last) give_digest(&r, u8(&in) % N_LABELS, seq, &r.last);
      break;
    }
    }
  }
  update_a(&r, 0);
  check_held(&r, true);
  FUZZ_CHECK(hls_patterns_update(r.b, NULL, NULL) == 0);
  check_same(&r);
  hls_patterns_free(r.a);
  hls_patterns_free(r.b);
  free(r.sh.id);
  return 0;
}
