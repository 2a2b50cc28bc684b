/* The pattern engine (protocol/patterns.h) fed a script of facts.
 *
 * The input is two header bytes, then operations; each starts with a byte
 * whose value mod 9 picks it:
 *   header  [flags] [w]: flags bit 0 lowers every minimum (one place, one
 *           place-week), bit 1 shortens the histories (baselines of 2-4
 *           weeks, a reference of 4), bit 2 sets the signals' windows from
 *           w (together_weeks = 1 + w % 10, spread/emerging/cross/rising
 *           weeks from its other bits), bit 3 opens patterns easily (fdr
 *           and keep_p 0.5, end_weeks 1)
 *   0 PLACE   [label] [name] [region]: name or rename place label % 24
 *   1 DIGEST  [label] [seq] [week] [method] [n] n x CELL: week BASE - 4 +
 *             week % 80; method from a table of odd ones (threshold 0, 1,
 *             10^8; rounding 1, 2, 3, 10^8); at most 6 cells
 *   2 ODD     the same with [week] picking an ISO (year, week) from a table
 *             that has 53rd weeks, year ends and weeks that do not exist
 *   3 STORY   [label] [seq] [week] [n] n x [theme | kind << 4]
 *   4 ERASE   [label] [seq]
 *   5 UPDATE  [refuse] [freeze]: the change callback refuses its refuse-th
 *             call (0: never); then the third engine (below) is updated
 *             and frozen before week BASE - 4 + freeze % 80
 *   6 CHECK   every held pattern: find, lineage, and the invariants below
 *   7 AGAIN   [seq] [label]: the last valid digest given again, at this seq
 *             and place
 *   8 BULK    [places] [weeks] [from] [seed] [themes] [how] [jump]: a
 *             steady background, so that the tests have baselines: labels
 *             0..places % 24 (at least 3), weeks BASE - 4 + from % 80 on
 *             (1 + weeks % 64 of them, within the 80), each place-week a
 *             digest (seq 100 + week) of the themes in the bit mask, each
 *             Poisson at its own rate (0.3, 1, 3, 8, 0.1, 20 a week), at
 *             organisation scale or (how bit 0) person scale with the
 *             default method, withheld below 10; with jump (bit 7 on), the
 *             first jump % 8 + 1 places report the mask's first theme at
 *             1 + (jump >> 3) % 16 times its rate in the last 3 weeks
 *   CELL = [theme | kind << 4] [scale | stage << 2] [count: 255 withheld,
 *          254 10^8, else itself]
 * Missing bytes read as 0; at most MAX_OPS operations.
 *
 * Checked, beyond memory safety and leaks:
 *  - every pattern reported or held is well formed: signal and change
 *    kinds in range; p finite in (0, 1], p_now in [p, 1], strength
 *    -log10 p;
 *    week_from <= week_to within the weeks held; places sorted,
 *    distinct and known, at least one; region "" unless rising, and then
 *    (but for a retraction, or a held pattern while facts are pending)
 *    the region of every place of it; theme2 only for together, a pair
 *    ordered by "K:name"; lo <= hi, expected finite with its withheld part
 *    in [0, expected];
 *  - the changes reported (only those the callback accepts) describe the
 *    held set exactly: NEW for an id not held; RETRACTED, ENDED, JOINED,
 *    LEFT, GREW, SHRANK and UPDATED for one held, each the first that
 *    applies to the difference from the pattern as last reported (ended:
 *    live no more; joined: a place not in it before; left: a place gone;
 *    grew/shrank: floor(strength) up/down); after every update, stopped
 *    or not, the held set is the one the changes built; every held
 *    pattern is found by hls_patterns_find;
 *  - lineage: cells in (week, place, theme) order, inside the pattern's
 *    weeks, places and theme(s); stories inside its weeks and places; and
 *    when no fact is pending (the last update completed), the cells' counts
 *    add up to the pattern's and there are n_stories stories;
 *  - a second engine given the same facts, updated only once at the end,
 *    holds the same patterns as the first after its final update: ids,
 *    signal, themes, weeks, live, places, counts, scales, stories, and
 *    strength, scores and expected count to the precision of the change
 *    fingerprint (a difference below it is not an update, so a held value
 *    may be that much behind; p_now is not compared: it is not in the
 *    fingerprint at all);
 *  - a third engine given the same facts, updated with the first and then
 *    frozen (hls_patterns_freeze) at a week the script picks, holds the
 *    same patterns as the first at the end (to the fingerprint's
 *    precision, as the second); a fact it refuses (HLS_ESTATE: a frozen
 *    week's) makes it be built again, as hlsd does, from every fact given
 *    so far, at the next UPDATE. A fourth, its twin, is given the same
 *    facts, updated and built again with it but freezes nothing: after
 *    every update the two hold the same patterns to the bit, with the same
 *    lineage and the same results of every test (hls_patterns_tests_hash).
 *    And the first engine's test results are the fourth's, to the bit: a
 *    test's result does not depend on the updates it took to get there
 *    (at d0d1e3e a new region left some themes' tables of tests made
 *    anew but computed only near the week that marked them);
 *  - a fifth engine given the third's saved tests at the end
 *    (hls_patterns_save, _restore) and then every fact in the script's
 *    order, checked once (hls_patterns_restore_check) and updated: the
 *    same as the third, to the bit. */
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "patterns.h"

#define BASE 2920 /* 2025-W51, the first week of an aligned window of 8 */
#define N_LABELS 24
#define MAX_OPS 300
#define MAX_CELLS 6
#define N_WEEKS 80 /* weeks BASE - 4 .. BASE + 75 */

static const char *const theme_names[] = {"a", "b", "c", "d", "e",
                                          "a-much-longer-theme-name-of-sixty-four-characters-exactly-xxxxxx"};
static const double bulk_rates[] = {0.3, 1, 3, 8, 0.1, 20};
static const char *const place_names[] = {
    "", "Northtown", "Southvale",
    ("A place whose name is longer than a place name may be, over one hundred and "
     "twenty characters: the engine keeps the first 120")};
static const char *const region_names[] = {"", "North", "South"};
static const struct hls_digest_method methods[] = {{10, 5, HLS_SDC_NEAREST}, {0, 1, HLS_SDC_NEAREST},     {1, 2, HLS_SDC_NEAREST},
                                                      {5, 3, HLS_SDC_NEAREST},  {100000000u, 100000000u, HLS_SDC_NEAREST},
                                                      {10, 5, HLS_SDC_KEYED},   {0, 1, HLS_SDC_KEYED},
                                                      {1, 2, HLS_SDC_KEYED},    {100000000u, 100000000u, HLS_SDC_KEYED}};
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

/* A held pattern as the accepted changes last described it. */
struct held {
  uint8_t id[HLS_PAT_ID_BYTES];
  bool live;
  double strength;
  uint32_t *places; /* owned */
  size_t n_places;
};

struct shadow {
  size_t n, cap;
  struct held *v;
};

/* A fact given, for building the third engine again. */
struct fact {
  int kind; /* 0 place, 1 digest, 2 story, 3 erase */
  uint8_t origin[HLS_KEY_BYTES];
  uint64_t seq;
  const char *name, *region;
  struct hls_digest d; /* cells point at cells */
  struct hls_digest_cell cells[MAX_CELLS];
  struct hls_story s;
  int rc; /* what the engines answered */
};

struct run {
  struct hls_pat_params prm;
  struct hls_patterns *a, *b; /* a: updated as the script says; b: once, at the end, on 2 threads */
  struct hls_patterns *c;     /* c: updated with a, then frozen; built again after a refusal */
  struct hls_patterns *d;     /* d: c's twin that freezes nothing (built again, fed and updated with c) */
  bool c_stale;
  struct fact *log;
  size_t n_log, cap_log;
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
    if (memcmp(s->v[i].id, id, HLS_PAT_ID_BYTES) == 0) return (long)i;
  return -1;
}

static void held_set(struct held *h, const struct hls_pattern *p) {
  memcpy(h->id, p->id, HLS_PAT_ID_BYTES);
  h->live = p->live;
  h->strength = p->strength;
  free(h->places);
  h->places = malloc((p->n_places ? p->n_places : 1) * sizeof *h->places);
  FUZZ_CHECK(h->places != NULL);
  if (p->n_places) memcpy(h->places, p->places, p->n_places * sizeof *p->places);
  h->n_places = p->n_places;
}

static void shadow_add(struct shadow *s, const struct hls_pattern *p) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    void *q = realloc(s->v, cap * sizeof *s->v);
    FUZZ_CHECK(q != NULL);
    s->v = q;
    s->cap = cap;
  }
  s->v[s->n] = (struct held){0};
  held_set(&s->v[s->n++], p);
}

static void shadow_free(struct shadow *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i].places);
  free(s->v);
}

static bool has_place(const uint32_t *v, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == x) return true;
  return false;
}

/* The change a difference calls for (patterns.h), but new and retracted. */
static int change_of(const struct held *was, const struct hls_pattern *now) {
  if (was->live && !now->live) return HLS_PAT_ENDED;
  if (!was->live && now->live) return HLS_PAT_NEW;
  for (size_t i = 0; i < now->n_places; i++)
    if (!has_place(was->places, was->n_places, now->places[i])) return HLS_PAT_JOINED;
  for (size_t i = 0; i < was->n_places; i++)
    if (!has_place(now->places, now->n_places, was->places[i])) return HLS_PAT_LEFT;
  if (floor(now->strength) > floor(was->strength)) return HLS_PAT_GREW;
  if (floor(now->strength) < floor(was->strength)) return HLS_PAT_SHRANK;
  return HLS_PAT_UPDATED;
}

/* What every pattern must satisfy, reported or held. current: it is the
 * pattern as the facts now make it (a retraction reports it as it last
 * held; a held one is behind the facts given since the last update). */
static void check_pattern(const struct run *r, const struct hls_patterns *pt, const struct hls_pattern *p,
                          bool current) {
  FUZZ_CHECK(p->signal >= 0 && p->signal < HLS_PAT_SIGNAL_COUNT);
  FUZZ_CHECK(isfinite(p->p) && p->p > 0 && p->p <= 1);
  FUZZ_CHECK(isfinite(p->p_now) && p->p_now >= p->p && p->p_now <= 1);
  double want = p->p < 1e-300 ? 300 : -log10(p->p);
  FUZZ_CHECK(fabs(p->strength - want) <= 1e-9 * (1 + want));
  FUZZ_CHECK(p->lo <= p->hi);
  FUZZ_CHECK(isfinite(p->expected) && isfinite(p->withheld) && p->withheld >= 0 &&
             p->withheld <= p->expected * (1 + 1e-6) + 1e-3);
  FUZZ_CHECK(r->have_weeks && p->week_from <= p->week_to && p->week_from >= r->wmin && p->week_to <= r->wmax);
  FUZZ_CHECK(p->n_places >= 1 && p->places != NULL);
  for (size_t i = 0; i < p->n_places; i++) {
    FUZZ_CHECK(p->places[i] < r->places);
    if (i > 0) FUZZ_CHECK(p->places[i - 1] < p->places[i]);
  }
  FUZZ_CHECK(p->theme < r->themes);
  FUZZ_CHECK((p->theme2 == HLS_PAT_NONE) == (p->signal != HLS_PAT_TOGETHER));
  FUZZ_CHECK(p->scales < (1u << HLS_SCALE_COUNT));
  FUZZ_CHECK(isfinite(p->score) && isfinite(p->score2));
  FUZZ_CHECK(p->region != NULL && (p->region[0] != '\0') == (p->signal == HLS_PAT_RISING));
  if (p->signal == HLS_PAT_RISING && current)
    for (size_t i = 0; i < p->n_places; i++) {
      struct hls_pat_place_info info;
      FUZZ_CHECK(hls_patterns_place_info(pt, p->places[i], &info) == 0);
      FUZZ_CHECK(strcmp(info.region, p->region) == 0);
    }
  if (p->signal == HLS_PAT_TOGETHER) {
    FUZZ_CHECK(p->theme2 < r->themes && p->theme2 != p->theme);
    const char *n1, *n2;
    int k1, k2;
    FUZZ_CHECK(hls_patterns_theme_info(pt, p->theme, &n1, &k1) == 0);
    FUZZ_CHECK(hls_patterns_theme_info(pt, p->theme2, &n2, &k2) == 0);
    FUZZ_CHECK(k1 < k2 || (k1 == k2 && strcmp(n1, n2) < 0)); /* "K:name" order */
  }
}

/* --- lineage --------------------------------------------------------------------- */

struct lin {
  const struct hls_pattern *p;
  uint64_t lo, hi;
  size_t stories;
  bool have_prev;
  struct hls_pat_cell_ref prev;
};

static bool in_places(const struct hls_pattern *p, uint32_t place) { return has_place(p->places, p->n_places, place); }

static int lin_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lin *l = ctx;
  const struct hls_pattern *p = l->p;
  FUZZ_CHECK(c->week >= p->week_from && c->week <= p->week_to);
  FUZZ_CHECK(in_places(p, c->place));
  FUZZ_CHECK(c->theme == p->theme || (p->theme2 != HLS_PAT_NONE && c->theme == p->theme2));
  FUZZ_CHECK(c->lo <= c->hi && c->scales < (1u << HLS_SCALE_COUNT));
  if (l->have_prev) {
    const struct hls_pat_cell_ref *q = &l->prev;
    FUZZ_CHECK(q->week < c->week || (q->week == c->week && (q->place < c->place ||
                                                           (q->place == c->place && q->theme < c->theme))));
  }
  l->prev = *c;
  l->have_prev = true;
  l->lo += c->lo;
  l->hi += c->hi;
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
  FUZZ_CHECK(l.lo == p->lo && l.hi == p->hi);
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
  FUZZ_CHECK(change >= 0 && change < HLS_PAT_CHANGE_COUNT);
  check_pattern(r, c->pt, p, change != HLS_PAT_RETRACTED);
  if (++r->calls == r->refuse_at) return 1;
  long at = shadow_find(&r->sh, p->id);
  switch (change) {
  case HLS_PAT_NEW: /* an id not held, or one that had ended and holds again */
    FUZZ_CHECK(at < 0 || (!r->sh.v[at].live && p->live));
    if (at < 0) shadow_add(&r->sh, p);
    else held_set(&r->sh.v[at], p);
    break;
  case HLS_PAT_RETRACTED:
    FUZZ_CHECK(at >= 0);
    free(r->sh.v[at].places);
    r->sh.v[at] = r->sh.v[--r->sh.n];
    break;
  default:
    FUZZ_CHECK(at >= 0);
    FUZZ_CHECK(change == change_of(&r->sh.v[at], p));
    held_set(&r->sh.v[at], p);
    break;
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
  long at = shadow_find(&e->r->sh, p->id);
  FUZZ_CHECK(at >= 0);
  /* as the last change accepted described it; strength to the precision
   * of the change fingerprint (a smaller move is kept without a change) */
  const struct held *h = &e->r->sh.v[at];
  FUZZ_CHECK(h->live == p->live && llround(h->strength * 1000.0) == llround(p->strength * 1000.0) &&
             h->n_places == p->n_places);
  FUZZ_CHECK(memcmp(h->places, p->places, p->n_places * sizeof *p->places) == 0);
  bool exact = !hls_patterns_dirty(e->pt);
  check_pattern(e->r, e->pt, p, exact);
  if (e->lineage) check_lineage(e->pt, p, exact);
  e->n++;
  return 0;
}

static void count_facts(struct run *r) {
  struct hls_pat_stats st;
  hls_patterns_stats(r->a, &st);
  r->places = st.places;
  r->themes = st.themes;
}

/* The held set is what the accepted changes built. */
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

static void check_same(const struct hls_patterns *a, const struct hls_patterns *b, bool exact);

static int fact_apply(struct hls_patterns *pt, struct fact *f) {
  switch (f->kind) {
  case 0: return hls_patterns_place(pt, f->origin, f->name, f->region);
  case 1: f->d.cells = f->d.n_cells ? f->cells : NULL; return hls_patterns_digest(pt, f->origin, f->seq, &f->d);
  case 2: return hls_patterns_story(pt, f->origin, f->seq, &f->s);
  default: return hls_patterns_erase(pt, f->origin, f->seq);
  }
}

/* A new fact at the end of the log (the caller fills in the rest, then
 * calls fact_give). */
static struct fact *fact_add(struct run *r, int kind, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq) {
  if (r->n_log == r->cap_log) {
    size_t cap = r->cap_log ? r->cap_log * 2 : 256;
    void *q = realloc(r->log, cap * sizeof *r->log);
    FUZZ_CHECK(q != NULL);
    r->log = q;
    r->cap_log = cap;
  }
  struct fact *f = &r->log[r->n_log++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  memcpy(f->origin, origin, HLS_KEY_BYTES);
  f->seq = seq;
  return f;
}

/* Give the last fact logged, which the first two engines answered f->rc
 * to, to the third and its twin: the same answer, or HLS_ESTATE from the
 * third (both are built again later). */
static void fact_give(struct run *r) {
  struct fact *f = &r->log[r->n_log - 1];
  if (r->c_stale) return;
  FUZZ_CHECK(fact_apply(r->d, f) == f->rc);
  int rc = fact_apply(r->c, f);
  if (rc == HLS_ESTATE) {
    FUZZ_CHECK(hls_patterns_frozen_before(r->c) != INT32_MIN);
    r->c_stale = true;
  } else {
    FUZZ_CHECK(rc == f->rc);
  }
}

static void c_rebuild(struct run *r) {
  if (!r->c_stale) return;
  hls_patterns_free(r->c);
  hls_patterns_free(r->d);
  FUZZ_CHECK(hls_patterns_new(&r->c, &r->prm, NULL) == 0);
  FUZZ_CHECK(hls_patterns_new(&r->d, &r->prm, NULL) == 0);
  for (size_t i = 0; i < r->n_log; i++) {
    FUZZ_CHECK(fact_apply(r->c, &r->log[i]) == r->log[i].rc);
    FUZZ_CHECK(fact_apply(r->d, &r->log[i]) == r->log[i].rc);
  }
  r->c_stale = false;
}

/* The third engine at an UPDATE: built again if it refused a fact,
 * updated, frozen before week. */
static void c_update(struct run *r, int32_t week) {
  c_rebuild(r);
  FUZZ_CHECK(hls_patterns_update(r->c, NULL, NULL) == 0);
  FUZZ_CHECK(hls_patterns_update(r->d, NULL, NULL) == 0);
  check_same(r->d, r->c, true);
  int32_t was = hls_patterns_frozen_before(r->c);
  FUZZ_CHECK(hls_patterns_freeze(r->c, week) == 0);
  int32_t now = hls_patterns_frozen_before(r->c);
  FUZZ_CHECK(now >= was && (now == was || now <= week)); /* never back; at most the latest week held + 1 */
  FUZZ_CHECK(!hls_patterns_dirty(r->c));
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
  struct fact *f = fact_add(r, 1, o, seq);
  f->d = *d;
  if (d->n_cells) memcpy(f->cells, d->cells, d->n_cells * sizeof *d->cells);
  f->rc = want;
  fact_give(r);
  if (want != 0) return;
  if (!r->have_weeks || week < r->wmin) r->wmin = week;
  if (!r->have_weeks || week > r->wmax) r->wmax = week;
  r->have_weeks = true;
  if (d != &r->last) {
    r->last = *d;
    if (d->n_cells) memcpy(r->last_cells, d->cells, d->n_cells * sizeof *d->cells);
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
    hls_patterns_iso_week(BASE - 4 + wk % N_WEEKS, &d.iso_year, &d.iso_week);
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
  hls_patterns_iso_week(BASE - 4 + u8(in) % N_WEEKS, &s.iso_year, &s.iso_week);
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
  fact_add(r, 2, o, seq)->s = s;
  fact_give(r);
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t poisson(uint64_t *s, double mu) {
  double u = (double)(splitmix64(s) >> 11) * 0x1.0p-53, p = exp(-mu), c = p;
  uint32_t k = 0;
  while (u > c && k < 1000) {
    k++;
    p *= mu / k;
    c += p;
  }
  return k;
}

static void read_bulk(struct in *in, struct run *r) {
  int places = 3 + u8(in) % (N_LABELS - 2);
  int weeks = 1 + u8(in) % 64, from = u8(in) % N_WEEKS;
  uint64_t seed = u8(in);
  uint8_t mask = u8(in), how = u8(in), jump = u8(in);
  if (from + weeks > N_WEEKS) weeks = N_WEEKS - from;
  int scale = how & 1 ? HLS_SCALE_PERSON : HLS_SCALE_ORGANISATION;
  int jump_places = jump & 0x80 ? 1 + jump % 8 : 0, mult = 1 + (jump >> 3) % 16;
  int first = -1;
  for (int t = 0; t < 6 && first < 0; t++)
    if (mask & (1u << t)) first = t;
  struct hls_digest_cell cells[6];
  for (int j = 0; j < weeks; j++) {
    int32_t week = BASE - 4 + from + j;
    for (int label = 0; label < places; label++) {
      uint64_t s = seed * 0x100000001b3ull ^ (uint64_t)week << 8 ^ (uint64_t)label;
      size_t n = 0;
      for (int t = 0; t < 6; t++) {
        if (!(mask & (1u << t))) continue;
        double rate = bulk_rates[t];
        if (t == first && label < jump_places && j >= weeks - 3) rate *= mult;
        uint32_t c = poisson(&s, rate);
        if (c == 0) continue;
        memset(&cells[n], 0, sizeof cells[n]);
        snprintf(cells[n].theme, sizeof cells[n].theme, "%s", theme_names[t]);
        cells[n].kind = HLS_KIND_PROBLEM;
        cells[n].scale = scale;
        cells[n].withheld = scale == HLS_SCALE_PERSON && c < 10;
        cells[n].count = cells[n].withheld ? 0 : c;
        n++;
      }
      struct hls_digest d = {.method = methods[0], .n_cells = n, .cells = n ? cells : NULL};
      hls_patterns_iso_week(week, &d.iso_year, &d.iso_week);
      give_digest(r, label, 100 + (uint64_t)(from + j), &d);
    }
  }
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

static bool same_theme(const struct hls_patterns *a, const struct hls_patterns *b, uint32_t x, uint32_t y) {
  if (x == HLS_PAT_NONE || y == HLS_PAT_NONE) return x == y;
  const char *n1, *n2;
  int k1, k2;
  FUZZ_CHECK(hls_patterns_theme_info(a, x, &n1, &k1) == 0);
  FUZZ_CHECK(hls_patterns_theme_info(b, y, &n2, &k2) == 0);
  return k1 == k2 && strcmp(n1, n2) == 0;
}

/* A pattern's lineage as one hash (place numbers are the same in engines
 * given the same facts in the same order). */
struct linhash {
  crypto_generichash_state st;
};

static int lh_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct linhash *h = ctx;
  uint64_t v[8] = {c->place, (uint64_t)(int64_t)c->week, c->seq, c->theme, c->lo, c->hi, c->withheld, c->scales};
  crypto_generichash_update(&h->st, (const uint8_t *)v, sizeof v);
  return 0;
}

static int lh_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct linhash *h = ctx;
  uint64_t v[3] = {s->place, (uint64_t)(int64_t)s->week, s->seq};
  crypto_generichash_update(&h->st, (const uint8_t *)v, sizeof v);
  crypto_generichash_update(&h->st, (const uint8_t *)s->title, strlen(s->title) + 1);
  return 0;
}

static void lineage_hash(const struct hls_patterns *pt, const struct hls_pattern *p, uint8_t out[32]) {
  struct linhash h;
  crypto_generichash_init(&h.st, NULL, 0, 32);
  FUZZ_CHECK(hls_patterns_lineage(pt, p, lh_cell, lh_story, &h) == 0);
  crypto_generichash_final(&h.st, out, 32);
}

/* Engines a and b hold the same patterns; exact: the same values to the
 * bit, the same lineage (a and the frozen engine, updated alike). */
static void check_same(const struct hls_patterns *a, const struct hls_patterns *b, bool exact) {
  struct list la = {0}, lb = {0};
  FUZZ_CHECK(hls_patterns_each(a, list_add, &la) == 0);
  FUZZ_CHECK(hls_patterns_each(b, list_add, &lb) == 0);
  FUZZ_CHECK(la.n == lb.n);
  for (size_t i = 0; i < la.n; i++) {
    const struct hls_pattern *x = la.p[i], *y = lb.p[i];
    FUZZ_CHECK(memcmp(x->id, y->id, HLS_PAT_ID_BYTES) == 0);
    FUZZ_CHECK(x->signal == y->signal && same_theme(a, b, x->theme, y->theme) &&
               same_theme(a, b, x->theme2, y->theme2));
    FUZZ_CHECK(strcmp(x->region, y->region) == 0);
    FUZZ_CHECK(x->week_from == y->week_from && x->week_to == y->week_to && x->live == y->live);
    /* Places are numbered in the order met: the same in both (the same
     * facts in the same order). */
    FUZZ_CHECK(x->n_places == y->n_places && memcmp(x->places, y->places, x->n_places * sizeof *x->places) == 0);
    FUZZ_CHECK(x->lo == y->lo && x->hi == y->hi && x->scales == y->scales && x->n_stories == y->n_stories);
    /* A change below the fingerprint's precision is not an update, so a
     * held value may be that much behind. */
    FUZZ_CHECK(llround(x->strength * 1000.0) == llround(y->strength * 1000.0));
    FUZZ_CHECK(llround(x->score * 1000.0) == llround(y->score * 1000.0));
    FUZZ_CHECK(llround(x->score2 * 1000.0) == llround(y->score2 * 1000.0));
    FUZZ_CHECK(llround(x->expected * 10.0) == llround(y->expected * 10.0));
    if (exact) {
      FUZZ_CHECK(x->p == y->p && x->p_now == y->p_now && x->score == y->score && x->expected == y->expected);
      uint8_t hx[32], hy[32];
      lineage_hash(a, x, hx);
      lineage_hash(b, y, hy);
      FUZZ_CHECK(memcmp(hx, hy, sizeof hx) == 0);
    }
  }
  free(la.p);
  free(lb.p);
  if (exact) {
    uint8_t hx[32], hy[32];
    FUZZ_CHECK(hls_patterns_tests_hash(a, hx) == 0 && hls_patterns_tests_hash(b, hy) == 0);
    FUZZ_CHECK(memcmp(hx, hy, sizeof hx) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct in in = {data, size};
  static struct run r;
  memset(&r, 0, sizeof r);
  hls_pat_params_default(&r.prm);
  uint8_t flags = u8(&in), w = u8(&in);
  if (flags & 1) {
    r.prm.spread_min_places = 1;
    r.prm.emerging_min_places = 1;
    r.prm.rising_min_places = 1;
    r.prm.together_min_count = 1;
    r.prm.together_min_places = 1;
    r.prm.cross_min_places = 1;
  }
  if (flags & 2) {
    r.prm.baseline_weeks = 4;
    r.prm.min_baseline_weeks = 2;
    r.prm.reference_weeks = 8;
    r.prm.min_reference = 4;
    r.prm.spread_history_weeks = 1;
  }
  if (flags & 4) {
    r.prm.together_weeks = 1 + w % 10;
    r.prm.spread_weeks = 1 + (w >> 4) % 4;
    r.prm.emerging_weeks = 1 + (w >> 5) % 4;
    r.prm.cross_weeks = 1 + (w >> 6) % 4;
    r.prm.rising_weeks = 2 + (w >> 3) % 8;
  }
  if (flags & 8) {
    r.prm.fdr = 0.5;
    r.prm.keep_p = 0.5;
    r.prm.end_weeks = 1;
  }
  FUZZ_CHECK(hls_pat_params_check(&r.prm, NULL) == 0);
  FUZZ_CHECK(hls_patterns_new(&r.a, &r.prm, NULL) == 0);
  FUZZ_CHECK(hls_patterns_new(&r.b, &r.prm, NULL) == 0);
  hls_patterns_set_threads(r.b, 2); /* the same patterns as a's, on 2 threads */
  FUZZ_CHECK(hls_patterns_new(&r.c, &r.prm, NULL) == 0);
  FUZZ_CHECK(hls_patterns_new(&r.d, &r.prm, NULL) == 0);
  r.have_last = false;

  for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
    switch (u8(&in) % 9) {
    case 0: {
      uint8_t o[HLS_KEY_BYTES];
      origin_of(u8(&in) % N_LABELS, o);
      const char *name = place_names[u8(&in) % 4], *region = region_names[u8(&in) % 3];
      FUZZ_CHECK(hls_patterns_place(r.a, o, name, region) == 0);
      FUZZ_CHECK(hls_patterns_place(r.b, o, name, region) == 0);
      struct fact *f = fact_add(&r, 0, o, 0);
      f->name = name;
      f->region = region;
      fact_give(&r);
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
      fact_add(&r, 3, o, seq);
      fact_give(&r);
      break;
    }
    case 5: {
      update_a(&r, u8(&in) % 8);
      c_update(&r, BASE - 4 + u8(&in) % N_WEEKS);
      break;
    }
    case 6: check_held(&r, true); break;
    case 7: {
      uint64_t seq = u8(&in);
      if (r.have_last) give_digest(&r, u8(&in) % N_LABELS, seq, &r.last);
      break;
    }
    case 8: read_bulk(&in, &r); break;
    }
  }
  update_a(&r, 0);
  check_held(&r, true);
  FUZZ_CHECK(hls_patterns_update(r.b, NULL, NULL) == 0);
  check_same(r.a, r.b, false);
  c_rebuild(&r);
  FUZZ_CHECK(hls_patterns_update(r.c, NULL, NULL) == 0);
  FUZZ_CHECK(hls_patterns_update(r.d, NULL, NULL) == 0);
  check_same(r.a, r.c, false);
  check_same(r.d, r.c, true);
  /* A fifth engine given the third's saved tests of its frozen weeks
   * (hls_patterns_save, _restore), then every fact in the script's order,
   * the copy checked once at the end: the same tests, to the bit. */
  int32_t frozen = hls_patterns_frozen_before(r.c);
  if (frozen != INT32_MIN) {
    uint8_t *copy;
    size_t len;
    struct hls_patterns *e;
    FUZZ_CHECK(hls_patterns_save(r.c, &copy, &len) == 0);
    FUZZ_CHECK(hls_patterns_new(&e, &r.prm, NULL) == 0);
    FUZZ_CHECK(hls_patterns_restore(e, copy, len, NULL) == 0);
    free(copy);
    for (size_t i = 0; i < r.n_log; i++) FUZZ_CHECK(fact_apply(e, &r.log[i]) == r.log[i].rc);
    FUZZ_CHECK(hls_patterns_restore_check(e, INT32_MAX) == 0);
    FUZZ_CHECK(hls_patterns_update(e, NULL, NULL) == 0);
    FUZZ_CHECK(hls_patterns_freeze(e, frozen) == 0);
    FUZZ_CHECK(hls_patterns_restore_end(e) <= frozen);
    check_same(r.c, e, true);
    uint8_t hc[32], he[32];
    FUZZ_CHECK(hls_patterns_tests_hash(r.c, hc) == 0 && hls_patterns_tests_hash(e, he) == 0);
    FUZZ_CHECK(memcmp(hc, he, sizeof hc) == 0);
    hls_patterns_free(e);
  }
  /* The first engine, updated as the script said (some updates stopped
   * by the callback), computed the same tests as the fourth, built again
   * now and then: a test's result does not depend on the updates it took
   * to get there. */
  uint8_t ha[32], hd[32];
  FUZZ_CHECK(hls_patterns_tests_hash(r.a, ha) == 0 && hls_patterns_tests_hash(r.d, hd) == 0);
  FUZZ_CHECK(memcmp(ha, hd, sizeof ha) == 0);
  hls_patterns_free(r.a);
  hls_patterns_free(r.b);
  hls_patterns_free(r.c);
  hls_patterns_free(r.d);
  free(r.log);
  r.log = NULL;
  r.n_log = r.cap_log = 0;
  r.c_stale = false;
  shadow_free(&r.sh);
  return 0;
}
