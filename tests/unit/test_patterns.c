/* Unit tests for protocol/patterns.c, the cross-place pattern engine.
 *
 * Every case is small and made by hand, and asserts exact results: week
 * numbers, parameters, the count interval behind a published cell (checked
 * against hls_disclose itself), each signal with its statistic computed by
 * hand in the comments, and the life of facts and patterns (superseding,
 * erasure, changes reported once, stable ids, lineage, renames, a callback
 * that stops an update).
 *
 * Places are named by a label: origin_of(label) is 32 bytes whose first is
 * the label, so place_info(...).origin[0] gives the label back. Weeks are
 * absolute (hls_patterns_week); BASE is the first week of an aligned
 * window of 8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"
#include "patterns.h"

#define BASE 2920 /* 2025-W51, the first week of window 365 (W = 8) */
#define PERSON HLS_SCALE_PERSON
#define ORG HLS_SCALE_ORGANISATION
#define PLACE HLS_SCALE_PLACE
#define PROBLEM HLS_KIND_PROBLEM
#define WITHHELD (-1)
#define REFUSED 7 /* what the test callback returns to stop an update */

enum { MAX_CELLS = 16, MAX_LOG = 64, MAX_PLACES = 32, MAX_LINEAGE = 64 };

static const struct hls_digest_method sdc_default = {10, 5};

/* --- giving facts ------------------------------------------------------------ */

/* One cell of a hand-made digest (count WITHHELD: present, withheld). */
struct spec {
  const char *theme;
  int kind, scale, count, stage;
};

static void origin_of(int label, uint8_t out[HLS_KEY_BYTES]) {
  memset(out, 0x5a, HLS_KEY_BYTES);
  out[0] = (uint8_t)label;
}

/* Give place label's digest of an absolute week at seq. */
static void give(struct hls_patterns *pt, int label, uint64_t seq, int32_t week, const struct hls_digest_method *m,
                 size_t n, const struct spec *cells) {
  struct hls_digest_cell c[MAX_CELLS];
  memset(c, 0, sizeof c);
  assert_true(n <= MAX_CELLS);
  for (size_t i = 0; i < n; i++) {
    snprintf(c[i].theme, sizeof c[i].theme, "%s", cells[i].theme);
    c[i].kind = cells[i].kind;
    c[i].scale = cells[i].scale;
    c[i].stage = cells[i].stage;
    c[i].withheld = cells[i].count == WITHHELD;
    c[i].count = cells[i].count == WITHHELD ? 0 : (uint32_t)cells[i].count;
  }
  struct hls_digest d = {.method = m != NULL ? *m : sdc_default, .n_cells = n, .cells = n ? c : NULL};
  hls_patterns_iso_week(week, &d.iso_year, &d.iso_week);
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_digest(pt, o, seq, &d), 0);
}

/* A digest with one problem-kind cell. */
static void give1(struct hls_patterns *pt, int label, uint64_t seq, int32_t week, const char *theme, int scale,
                  int count) {
  const struct spec c = {theme, PROBLEM, scale, count, 0};
  give(pt, label, seq, week, NULL, 1, &c);
}

/* A story naming one or two problem-kind themes (t2 may be NULL). */
static void give_story(struct hls_patterns *pt, int label, uint64_t seq, int32_t week, const char *title,
                       const char *t1, const char *t2) {
  struct hls_story s;
  memset(&s, 0, sizeof s);
  hls_patterns_iso_week(week, &s.iso_year, &s.iso_week);
  snprintf(s.title, sizeof s.title, "%s", title);
  const char *names[2] = {t1, t2};
  for (size_t i = 0; i < 2 && names[i] != NULL; i++) {
    snprintf(s.themes[i].slug, sizeof s.themes[i].slug, "%s", names[i]);
    s.themes[i].kind = HLS_KIND_PROBLEM;
    s.n_themes = i + 1;
  }
  s.scale = ORG;
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_story(pt, o, seq, &s), 0);
}

static void erase(struct hls_patterns *pt, int label, uint64_t seq) {
  uint8_t o[HLS_KEY_BYTES];
  origin_of(label, o);
  assert_int_equal(hls_patterns_erase(pt, o, seq), 0);
}

/* --- observing --------------------------------------------------------------- */

static int label_of(const struct hls_patterns *pt, uint32_t place) {
  struct hls_pat_place_info info;
  assert_int_equal(hls_patterns_place_info(pt, place, &info), 0);
  return info.origin[0];
}

static const char *theme_name(const struct hls_patterns *pt, uint32_t theme, int *kind) {
  const char *name;
  int k;
  assert_int_equal(hls_patterns_theme_info(pt, theme, &name, &k), 0);
  if (kind != NULL) *kind = k;
  return name;
}

/* The labels of a pattern's places, "1,2,3", checking that the engine's
 * place numbers are sorted and unique. */
static void labels(const struct hls_patterns *pt, const uint32_t *places, size_t n, char *out, size_t cap) {
  int l[MAX_PLACES];
  assert_true(n <= MAX_PLACES);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) assert_true(places[i - 1] < places[i]);
    l[i] = label_of(pt, places[i]);
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: tiny */
    for (size_t j = i; j > 0 && l[j - 1] > l[j]; j--) {
      int t = l[j];
      l[j] = l[j - 1];
      l[j - 1] = t;
    }
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) len += (size_t)snprintf(out + len, cap - len, i ? ",%d" : "%d", l[i]);
}

#define assert_places(pt, p, want)                                      \
  do {                                                                  \
    char got_[128];                                                     \
    labels((pt), (p)->places, (p)->n_places, got_, sizeof got_);        \
    assert_string_equal(got_, (want));                                  \
  } while (0)

static void near_at(double got, double want, double eps, int line) {
  if (!(fabs(got - want) <= eps)) fail_msg("line %d: got %.15g, want %.15g", line, got, want);
}
#define assert_near(got, want) near_at((got), (want), 1e-9, __LINE__)

/* What the change callback saw. */
struct seen {
  int change;
  struct hls_pattern p; /* places point at places[] */
  uint32_t places[MAX_PLACES];
  char theme[HLS_THEME_MAX + 1], theme2[HLS_THEME_MAX + 1];
};

struct log {
  const struct hls_patterns *pt;
  size_t n;
  struct seen c[MAX_LOG];
  int calls;
  int refuse_at; /* refuse (return REFUSED) the call with this number, 1-based; 0: never */
};

static int on_change(void *ctx, int change, const struct hls_pattern *p) {
  struct log *l = ctx;
  if (++l->calls == l->refuse_at) return REFUSED;
  assert_true(l->n < MAX_LOG);
  assert_true(p->n_places <= MAX_PLACES);
  struct seen *s = &l->c[l->n++];
  s->change = change;
  s->p = *p;
  memcpy(s->places, p->places, p->n_places * sizeof *p->places);
  s->p.places = s->places;
  snprintf(s->theme, sizeof s->theme, "%s", theme_name(l->pt, p->theme, NULL));
  snprintf(s->theme2, sizeof s->theme2, "%s", p->theme2 == HLS_PAT_NONE ? "" : theme_name(l->pt, p->theme2, NULL));
  return 0;
}

/* The one change of this signal and theme in the log (NULL if none; fails
 * if more than one). */
static const struct seen *seen_one(const struct log *l, int signal, const char *theme) {
  const struct seen *found = NULL;
  for (size_t i = 0; i < l->n; i++)
    if (l->c[i].p.signal == signal && strcmp(l->c[i].theme, theme) == 0) {
      if (found != NULL) fail_msg("two changes of %s %s", hls_pat_signal_name(signal), theme);
      found = &l->c[i];
    }
  return found;
}

struct held {
  size_t n;
  const struct hls_pattern *p[MAX_LOG];
};

static int collect(void *ctx, const struct hls_pattern *p) {
  struct held *h = ctx;
  assert_true(h->n < MAX_LOG);
  h->p[h->n++] = p;
  return 0;
}

static struct held held_all(const struct hls_patterns *pt) {
  struct held h = {0};
  assert_int_equal(hls_patterns_each(pt, collect, &h), 0);
  for (size_t i = 0; i < h.n; i++) {
    if (i > 0) assert_true(memcmp(h.p[i - 1]->id, h.p[i]->id, HLS_PAT_ID_BYTES) < 0); /* id order */
    assert_ptr_equal(hls_patterns_find(pt, h.p[i]->id), h.p[i]);
  }
  return h;
}

/* How many held patterns have this signal (and theme name and kind, if
 * theme is not NULL). */
static size_t held_count(const struct hls_patterns *pt, int signal, const char *theme, int kind) {
  struct held h = held_all(pt);
  size_t n = 0;
  for (size_t i = 0; i < h.n; i++) {
    int k;
    if (h.p[i]->signal != signal) continue;
    if (theme != NULL && (strcmp(theme_name(pt, h.p[i]->theme, &k), theme) != 0 || k != kind)) continue;
    n++;
  }
  return n;
}

/* The one held pattern of this signal, theme name and kind (held_one:
 * problem kind). */
static const struct hls_pattern *held_kind(const struct hls_patterns *pt, int signal, const char *theme, int kind) {
  struct held h = held_all(pt);
  const struct hls_pattern *found = NULL;
  for (size_t i = 0; i < h.n; i++) {
    int k;
    if (h.p[i]->signal != signal || strcmp(theme_name(pt, h.p[i]->theme, &k), theme) != 0 || k != kind) continue;
    if (found != NULL) fail_msg("two held %s patterns of %s", hls_pat_signal_name(signal), theme);
    found = h.p[i];
  }
  if (found == NULL) fail_msg("no held %s pattern of %s", hls_pat_signal_name(signal), theme);
  return found;
}
#define held_one(pt, signal, theme) held_kind((pt), (signal), (theme), PROBLEM)

struct lineage {
  size_t nc, ns;
  struct hls_pat_cell_ref c[MAX_LINEAGE];
  struct hls_pat_story_ref s[MAX_LINEAGE];
  char titles[MAX_LINEAGE][64];
};

static int lin_cell(void *ctx, const struct hls_pat_cell_ref *c) {
  struct lineage *l = ctx;
  assert_true(l->nc < MAX_LINEAGE);
  l->c[l->nc++] = *c;
  return 0;
}

static int lin_story(void *ctx, const struct hls_pat_story_ref *s) {
  struct lineage *l = ctx;
  assert_true(l->ns < MAX_LINEAGE);
  l->s[l->ns] = *s;
  snprintf(l->titles[l->ns], sizeof l->titles[0], "%s", s->title);
  l->s[l->ns].title = l->titles[l->ns];
  l->ns++;
  return 0;
}

static void lineage_of(const struct hls_patterns *pt, const struct hls_pattern *p, struct lineage *l) {
  memset(l, 0, sizeof *l);
  assert_int_equal(hls_patterns_lineage(pt, p, lin_cell, lin_story, l), 0);
}

static bool has_title(const struct lineage *l, const char *title) {
  for (size_t i = 0; i < l->ns; i++)
    if (strcmp(l->titles[i], title) == 0) return true;
  return false;
}

/* --- fixture ----------------------------------------------------------------- */

/* The parameters every signal test runs with, spelled out (today they are
 * the defaults): tuning a default changes test_params_default and
 * docs/patterns.md, not the hand computations below. */
static void test_params(struct hls_pat_params *p) {
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

static struct hls_patterns *new_engine(const struct hls_pat_params *p) {
  struct hls_pat_params def;
  if (p == NULL) test_params(&def);
  struct hls_patterns *pt = NULL;
  assert_int_equal(hls_patterns_new(&pt, p != NULL ? p : &def, NULL), 0);
  return pt;
}

struct fx {
  struct hls_patterns *pt;
  struct log log;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  struct hls_pat_params p;
  test_params(&p);
  if (f == NULL || hls_patterns_new(&f->pt, &p, NULL) != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  hls_patterns_free(f->pt);
  free(f);
  return 0;
}

/* Start again with other parameters. */
static void fx_params(struct fx *f, const struct hls_pat_params *p) {
  hls_patterns_free(f->pt);
  f->pt = NULL;
  assert_int_equal(hls_patterns_new(&f->pt, p, NULL), 0);
}

/* Update, recording the changes (the log starts empty); returns the rc. */
static int update_rc(struct fx *f) {
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  return hls_patterns_update(f->pt, on_change, &f->log);
}

static void update(struct fx *f) {
  assert_int_equal(update_rc(f), 0);
  assert_false(hls_patterns_dirty(f->pt));
}

/* --- parameters, names, weeks --------------------------------------------------- */

static void test_params_default(void **state) {
  (void)state;
  struct hls_pat_params p;
  memset(&p, 0xff, sizeof p);
  hls_pat_params_default(&p);
  assert_int_equal(p.window_weeks, 8);
  assert_int_equal(p.spread_min_places, 3);
  assert_int_equal(p.ears_baseline, 7);
  assert_int_equal(p.ears_guard, 2);
  assert_true(p.ears_threshold == 3.0);
  assert_true(p.ears_min_sigma == 0.5);
  assert_int_equal(p.ears_min_count, 3);
  assert_int_equal(p.ears_min_places, 2);
  assert_int_equal(p.cusum_ref_weeks, 26);
  assert_int_equal(p.cusum_min_ref, 13);
  assert_true(p.cusum_k == 1.0);
  assert_true(p.cusum_h == 5.0);
  assert_true(p.cusum_winsor == 2.0);
  assert_true(p.cusum_min_mean == 0.5);
  assert_int_equal(p.cusum_min_places, 2);
  assert_int_equal(p.together_min_count, 3);
  assert_int_equal(p.together_min_places, 3);
  assert_true(p.together_min_g2 == 3.84);
  assert_true(p.together_min_npmi == 0.4);
  assert_int_equal(p.cross_min_scales, 2);
  assert_int_equal(p.cross_min_places, 2);
  struct hls_why why = {{0}};
  assert_int_equal(hls_pat_params_check(&p, &why), 0);
}

/* Each out-of-range value is refused with the parameter's name. */
#define EXPECT_BAD(assignment, field)                                   \
  do {                                                                  \
    struct hls_pat_params q_ = def;                                     \
    struct hls_pat_params *q = &q_;                                     \
    assignment;                                                         \
    struct hls_why why_ = {{0}};                                        \
    assert_int_equal(hls_pat_params_check(q, &why_), HLS_EINVAL);       \
    assert_non_null(strstr(why_.text, field));                          \
    assert_int_equal(hls_pat_params_check(q, NULL), HLS_EINVAL);        \
  } while (0)
#define EXPECT_GOOD(assignment)                                         \
  do {                                                                  \
    struct hls_pat_params q_ = def;                                     \
    struct hls_pat_params *q = &q_;                                     \
    assignment;                                                         \
    assert_int_equal(hls_pat_params_check(q, NULL), 0);                 \
  } while (0)

static void test_params_check(void **state) {
  (void)state;
  struct hls_pat_params def;
  hls_pat_params_default(&def);
  EXPECT_BAD(q->window_weeks = 0, "window_weeks");
  EXPECT_BAD(q->window_weeks = 105, "window_weeks");
  EXPECT_GOOD(q->window_weeks = 1);
  EXPECT_GOOD(q->window_weeks = 104);
  EXPECT_BAD(q->spread_min_places = 0, "spread_min_places");
  EXPECT_BAD(q->ears_baseline = 1, "ears_baseline"); /* a standard deviation needs two weeks */
  EXPECT_BAD(q->ears_guard = -1, "ears_guard");
  EXPECT_GOOD(q->ears_guard = 0);
  EXPECT_BAD(q->ears_threshold = NAN, "ears_threshold");
  EXPECT_BAD(q->ears_threshold = -1, "ears_threshold");
  EXPECT_BAD(q->ears_min_sigma = 0, "ears_min_sigma");
  EXPECT_BAD(q->ears_min_count = 0, "ears_min_count");
  EXPECT_BAD(q->ears_min_places = 0, "ears_min_places");
  EXPECT_BAD(q->cusum_ref_weeks = 1, "cusum_ref_weeks");
  EXPECT_BAD(q->cusum_min_ref = 27, "cusum_min_ref"); /* more than cusum_ref_weeks */
  EXPECT_BAD(q->cusum_ref_weeks = 7, "cusum_min_ref"); /* now below cusum_min_ref (8) */
  EXPECT_GOOD(q->cusum_min_ref = 26);
  EXPECT_BAD(q->cusum_k = -0.5, "cusum_k");
  EXPECT_BAD(q->cusum_h = 0, "cusum_h");
  EXPECT_BAD(q->cusum_winsor = INFINITY, "cusum_winsor");
  EXPECT_BAD(q->cusum_min_mean = 0, "cusum_min_mean");
  EXPECT_BAD(q->cusum_min_places = 0, "cusum_min_places");
  EXPECT_BAD(q->together_min_count = 0, "together_min_count");
  EXPECT_BAD(q->together_min_places = 0, "together_min_places");
  EXPECT_BAD(q->together_min_g2 = -1, "together_min_g2");
  EXPECT_BAD(q->together_min_npmi = 1.5, "together_min_npmi");
  EXPECT_GOOD(q->together_min_npmi = -1);
  EXPECT_BAD(q->cross_min_scales = 1, "cross_min_scales");
  EXPECT_BAD(q->cross_min_scales = 5, "cross_min_scales");
  EXPECT_GOOD(q->cross_min_scales = 4);
  EXPECT_BAD(q->cross_min_places = 0, "cross_min_places");

  /* The engine refuses them too; NULL means the defaults. */
  struct hls_patterns *pt = NULL;
  struct hls_pat_params bad = def;
  bad.window_weeks = 0;
  struct hls_why why = {{0}};
  assert_int_equal(hls_patterns_new(&pt, &bad, &why), HLS_EINVAL);
  assert_null(pt);
  assert_non_null(strstr(why.text, "window_weeks"));
  assert_int_equal(hls_patterns_new(&pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(pt));
  hls_patterns_free(pt);
  hls_patterns_free(NULL);
}

static void test_names(void **state) {
  (void)state;
  static const char *const names[] = {"spread", "emerging", "rising", "together", "cross-scale"};
  assert_int_equal(HLS_PAT_SIGNAL_COUNT, 5);
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++) {
    assert_string_equal(hls_pat_signal_name(i), names[i]);
    int s = -1;
    assert_int_equal(hls_pat_signal_parse(names[i], &s), 0);
    assert_int_equal(s, i);
  }
  int s = 42;
  assert_int_equal(hls_pat_signal_parse("Spread", &s), HLS_EINVAL);
  assert_int_equal(s, 42);
  assert_string_equal(hls_pat_signal_name(-1), "unknown");
  assert_string_equal(hls_pat_signal_name(HLS_PAT_SIGNAL_COUNT), "unknown");
  assert_string_equal(hls_pat_change_name(HLS_PAT_NEW), "new");
  assert_string_equal(hls_pat_change_name(HLS_PAT_UPDATED), "updated");
  assert_string_equal(hls_pat_change_name(HLS_PAT_RETRACTED), "retracted");
  assert_string_equal(hls_pat_change_name(3), "unknown");
}

static void expect_week(int y, int w, int32_t want) {
  int32_t got = 0;
  if (hls_patterns_week(y, w, &got) != 0) fail_msg("%d-W%02d refused", y, w);
  if (got != want) fail_msg("%d-W%02d: week %d, want %d", y, w, (int)got, (int)want);
  int yy = 0, ww = 0;
  hls_patterns_iso_week(want, &yy, &ww);
  if (yy != y || ww != w) fail_msg("week %d: %d-W%02d, want %d-W%02d", (int)want, yy, ww, y, w);
}

static void test_week_numbers(void **state) {
  (void)state;
  /* Week 0 is 1970-W01 (Monday 1969-12-29); values from Python's
   * date.fromisocalendar: (days since 1970-01-01 + 3) / 7. */
  expect_week(1970, 1, 0);
  expect_week(1969, 52, -1);
  expect_week(1900, 1, -3652);
  expect_week(2004, 53, 1826);
  expect_week(2015, 53, 2400);
  expect_week(2020, 53, 2661); /* a 53-week year ... */
  expect_week(2021, 1, 2662);  /* ... and the next one starts right after */
  expect_week(2025, 51, BASE);
  expect_week(2026, 1, 2922);
  expect_week(2026, 53, 2974);
  expect_week(2027, 1, 2975);
  expect_week(9999, 52, 418985);

  int32_t w = 12345;
  assert_int_equal(hls_patterns_week(2021, 53, &w), HLS_EINVAL); /* 2021 has 52 weeks */
  assert_int_equal(hls_patterns_week(2025, 53, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(2026, 0, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(2026, 54, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(1899, 52, &w), HLS_EINVAL);
  assert_int_equal(hls_patterns_week(10000, 1, &w), HLS_EINVAL);
  assert_int_equal(w, 12345);

  /* Every ISO week of 1900..9999: consecutive weeks are consecutive
   * numbers, and the numbers map back. */
  int32_t prev = 0;
  size_t n = 0, n53 = 0;
  for (int y = 1900; y <= 9999; y++)
    for (int wk = 1; wk <= 53; wk++) {
      if (hls_patterns_week(y, wk, &w) != 0) {
        assert_int_equal(wk, 53);
        continue;
      }
      if (n > 0 && w != prev + 1) fail_msg("%d-W%02d is week %d after %d", y, wk, (int)w, (int)prev);
      int yy, ww;
      hls_patterns_iso_week(w, &yy, &ww);
      if (yy != y || ww != wk) fail_msg("week %d maps back to %d-W%02d, not %d-W%02d", (int)w, yy, ww, y, wk);
      prev = w;
      n++;
      n53 += wk == 53;
    }
  assert_int_equal(n, 418985 + 3652 + 1);
  assert_int_equal(n53, 1438); /* 53-week years in 1900..9999 (71 in every 400) */
}

/* --- the interval behind a published cell ---------------------------------------- */

/* The single lineage cell of problem theme "x" when one place gives these
 * cells (spread_min_places 1, so the place alone makes a pattern). Checks
 * that the pattern's lo/hi is that cell's. */
static struct hls_pat_cell_ref bounds_of(const struct hls_digest_method *m, size_t n, const struct spec *cells) {
  struct hls_pat_params prm;
  test_params(&prm);
  prm.spread_min_places = 1;
  struct hls_patterns *pt = new_engine(&prm);
  give(pt, 1, 1, BASE, m, n, cells);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  struct lineage l;
  lineage_of(pt, p, &l);
  assert_int_equal(l.nc, 1);
  assert_int_equal(p->lo, l.c[0].lo);
  assert_int_equal(p->hi, l.c[0].hi);
  assert_int_equal(p->scales, l.c[0].scales);
  struct hls_pat_cell_ref c = l.c[0];
  hls_patterns_free(pt);
  return c;
}

static void expect_bounds(uint32_t threshold, uint32_t rounding, int scale, int count, uint32_t lo, uint32_t hi) {
  const struct hls_digest_method m = {threshold, rounding};
  const struct spec c = {"x", PROBLEM, scale, count, 0};
  struct hls_pat_cell_ref r = bounds_of(&m, 1, &c);
  if (r.lo != lo || r.hi != hi)
    fail_msg("t=%u r=%u scale %d count %d: [%u, %u], want [%u, %u]", threshold, rounding, scale, count, r.lo, r.hi,
             lo, hi);
  assert_int_equal(r.withheld, count == WITHHELD);
  assert_int_equal(r.scales, 1u << scale);
}

static void test_cell_bounds_withheld(void **state) {
  (void)state;
  expect_bounds(10, 5, PERSON, WITHHELD, 1, 9); /* present: at least 1, below t */
  expect_bounds(7, 10, PERSON, WITHHELD, 1, 6);
  expect_bounds(5, 5, PERSON, WITHHELD, 1, 4);
  expect_bounds(1, 5, PERSON, WITHHELD, 1, 1); /* t - 1 = 0 would be below present */
}

static void test_cell_bounds_rounded(void **state) {
  (void)state;
  /* c -> [max(t, c - floor(r/2)), c + ceil(r/2) - 1] */
  expect_bounds(10, 5, PERSON, 10, 10, 12); /* 8 and 9 would have been withheld */
  expect_bounds(10, 5, PERSON, 15, 13, 17);
  expect_bounds(10, 5, PERSON, 20, 18, 22);
  expect_bounds(10, 5, PERSON, 1000000, 999998, 1000002);
  expect_bounds(7, 10, PERSON, 10, 7, 14); /* 5, 6 withheld */
  expect_bounds(7, 10, PERSON, 20, 15, 24);
  expect_bounds(5, 3, PERSON, 6, 5, 7);
  expect_bounds(5, 3, PERSON, 9, 8, 10);
  expect_bounds(10, 2, PERSON, 12, 11, 12); /* 11 = 5.5 x 2 rounds up to 12 */
  expect_bounds(10, 1, PERSON, 12, 12, 12); /* rounding 1: exact */
}

static void test_cell_bounds_exact_other_scales(void **state) {
  (void)state;
  expect_bounds(10, 5, ORG, 3, 3, 3);
  expect_bounds(10, 5, ORG, 12, 12, 12);
  expect_bounds(10, 5, PLACE, 1, 1, 1);
  expect_bounds(10, 5, HLS_SCALE_COUNTRY, 7, 7, 7);
  expect_bounds(10, 5, ORG, 0, 0, 0);
}

/* The interval is exactly the raw counts hls_disclose publishes as that
 * cell: every raw count is inside its published cell's interval, and the
 * interval's ends publish the same cell. */
static void test_cell_bounds_match_disclosure(void **state) {
  (void)state;
  static const struct hls_digest_method methods[] = {{10, 5}, {7, 10}, {5, 3}, {10, 2}, {10, 1}, {12, 4}, {20, 10}};
  for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
    const struct hls_digest_method *m = &methods[mi];
    for (uint32_t raw = 1; raw <= 60; raw++) {
      bool withheld;
      uint32_t published;
      hls_disclose(m, PERSON, raw, &withheld, &published);
      const struct spec c = {"x", PROBLEM, PERSON, withheld ? WITHHELD : (int)published, 0};
      struct hls_pat_cell_ref r = bounds_of(m, 1, &c);
      if (raw < r.lo || raw > r.hi) fail_msg("t=%u r=%u raw %u: [%u, %u]", m->threshold, m->rounding, raw, r.lo, r.hi);
      bool w2;
      uint32_t p2;
      hls_disclose(m, PERSON, r.lo, &w2, &p2);
      assert_true(w2 == withheld && p2 == published);
      hls_disclose(m, PERSON, r.hi, &w2, &p2);
      assert_true(w2 == withheld && p2 == published);
      if (r.lo > 1) {
        hls_disclose(m, PERSON, r.lo - 1, &w2, &p2);
        assert_false(w2 == withheld && p2 == published);
      }
      hls_disclose(m, PERSON, r.hi + 1, &w2, &p2);
      assert_false(w2 == withheld && p2 == published);
    }
  }
}

/* Cells of one theme key (theme, kind) are folded over scale and stage;
 * another kind of the same name is another theme. */
static void test_cell_fold(void **state) {
  (void)state;
  const struct spec cells[] = {
      {"x", PROBLEM, PERSON, WITHHELD, HLS_STAGE_PURPOSE}, /* [1, 9] */
      {"x", PROBLEM, PERSON, 15, HLS_STAGE_EXPERIMENT},    /* [13, 17] */
      {"x", PROBLEM, ORG, 4, HLS_STAGE_PURPOSE},           /* [4, 4] */
      {"x", PROBLEM, PLACE, 2, HLS_STAGE_EMBED},           /* [2, 2] */
      {"x", HLS_KIND_ASPIRATION, ORG, 5, HLS_STAGE_PURPOSE},
  };
  struct hls_pat_params prm;
  test_params(&prm);
  prm.spread_min_places = 1;
  struct hls_patterns *pt = new_engine(&prm);
  give(pt, 1, 1, BASE + 2, NULL, 5, cells);
  assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
  const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
  assert_int_equal(p->lo, 1 + 13 + 4 + 2);
  assert_int_equal(p->hi, 9 + 17 + 4 + 2);
  assert_int_equal(p->scales, (1u << PERSON) | (1u << ORG) | (1u << PLACE));
  struct lineage l;
  lineage_of(pt, p, &l);
  assert_int_equal(l.nc, 1);
  assert_int_equal(l.c[0].week, BASE + 2);
  assert_int_equal(l.c[0].lo, 20);
  assert_int_equal(l.c[0].hi, 32);
  assert_true(l.c[0].withheld);
  const struct hls_pattern *a = held_kind(pt, HLS_PAT_SPREAD, "x", HLS_KIND_ASPIRATION);
  assert_int_equal(a->lo, 5);
  assert_int_equal(a->hi, 5);
  assert_int_not_equal(a->theme, p->theme);
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  assert_int_equal(st.themes, 2);
  assert_int_equal(st.digests, 1);
  assert_int_equal(st.places, 1);
  assert_int_equal(st.patterns, 2); /* no cross-scale: one place */
  assert_int_equal(st.by_signal[HLS_PAT_SPREAD], 2);
  hls_patterns_free(pt);
}

/* --- spread and cross-scale ---------------------------------------------------- */

static void test_spread_needs_k_places(void **state) {
  struct fx *f = *state;
  give1(f->pt, 1, 1, BASE + 0, "x", ORG, 2);
  give1(f->pt, 1, 2, BASE + 1, "x", ORG, 1); /* the same place again: still one place */
  give1(f->pt, 2, 1, BASE + 3, "x", ORG, 3);
  update(f);
  assert_int_equal(f->log.n, 0); /* K - 1 = 2 places */
  assert_int_equal(held_all(f->pt).n, 0);

  give1(f->pt, 3, 1, BASE + 7, "x", ORG, 1); /* the window's last week */
  give1(f->pt, 4, 1, BASE + 8, "x", ORG, 5); /* the next window */
  update(f);
  assert_int_equal(f->log.n, 1);
  const struct seen *s = seen_one(&f->log, HLS_PAT_SPREAD, "x");
  assert_non_null(s);
  assert_int_equal(s->change, HLS_PAT_NEW);
  assert_places(f->pt, &s->p, "1,2,3");
  assert_true(s->p.score == 3.0);
  assert_true(s->p.score2 == 0.0);
  assert_int_equal(s->p.week_from, BASE);
  assert_int_equal(s->p.week_to, BASE + 7);
  assert_int_equal(s->p.lo, 2 + 1 + 3 + 1);
  assert_int_equal(s->p.hi, 7);
  assert_int_equal(s->p.scales, 1u << ORG);
  assert_int_equal(s->p.theme2, HLS_PAT_NONE);
  assert_int_equal(s->p.n_stories, 0);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "x");
  assert_memory_equal(p->id, s->p.id, HLS_PAT_ID_BYTES);
  assert_int_equal(held_all(f->pt).n, 1);
}

static void test_spread_windows_do_not_combine(void **state) {
  struct fx *f = *state;
  /* Four places in four consecutive weeks, but two in each window. */
  give1(f->pt, 1, 1, BASE + 6, "x", ORG, 2);
  give1(f->pt, 2, 1, BASE + 7, "x", ORG, 2);
  give1(f->pt, 3, 1, BASE + 8, "x", ORG, 2);
  give1(f->pt, 4, 1, BASE + 9, "x", ORG, 2);
  update(f);
  assert_int_equal(f->log.n, 0);
  assert_int_equal(held_all(f->pt).n, 0);
  /* A third place in the first window. */
  give1(f->pt, 5, 1, BASE + 0, "x", ORG, 1);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_places(f->pt, &f->log.c[0].p, "1,2,5");
  assert_int_equal(f->log.c[0].p.week_from, BASE);
}

static void test_cross_scale(void **state) {
  struct fx *f = *state;
  /* x: organisation scale in place 1, person scale in place 2. */
  give1(f->pt, 1, 1, BASE + 0, "x", ORG, 2);
  give1(f->pt, 2, 1, BASE + 1, "x", PERSON, 15);
  /* y: two scales, but one place (next window). */
  const struct spec y[] = {{"y", PROBLEM, ORG, 2, 0}, {"y", PROBLEM, PERSON, 15, 0}};
  give(f->pt, 1, 2, BASE + 8, NULL, 2, y);
  update(f);
  assert_int_equal(f->log.n, 1);
  const struct seen *s = seen_one(&f->log, HLS_PAT_CROSS_SCALE, "x");
  assert_non_null(s);
  assert_int_equal(s->change, HLS_PAT_NEW);
  assert_true(s->p.score == 2.0);
  assert_int_equal(s->p.scales, (1u << PERSON) | (1u << ORG));
  assert_places(f->pt, &s->p, "1,2");
  assert_int_equal(s->p.week_from, BASE);
  assert_int_equal(s->p.week_to, BASE + 7);
  assert_int_equal(s->p.lo, 2 + 13);
  assert_int_equal(s->p.hi, 2 + 17);
  assert_int_equal(held_count(f->pt, HLS_PAT_CROSS_SCALE, "y", PROBLEM), 0);
  assert_int_equal(held_count(f->pt, HLS_PAT_SPREAD, NULL, 0), 0);
}

/* --- emerging (EARS C2) ----------------------------------------------------------- */

/* Places 1 and 2 report x (organisation scale, exact) in weeks BASE+0 ..
 * BASE+n-1 with these counts (-1: no digest of x that week). */
static void series2(struct fx *f, size_t n, const int *a, const int *b, const char *theme) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] >= 0) give1(f->pt, 1, 100 + i, BASE + (int32_t)i, theme, ORG, a[i]);
    if (b[i] >= 0) give1(f->pt, 2, 100 + i, BASE + (int32_t)i, theme, ORG, b[i]);
  }
}

static void test_emerging_jump(void **state) {
  struct fx *f = *state;
  /* Totals 2,10,2,10,2,10,2 (baseline, weeks 0..6), 2,2 (guard), 20 (week
   * 9), 2. Baseline mean m = 38/7, sum of squares 316 - 38^2/7 = 768/7, so
   * s = sqrt(768/7 / 6) = sqrt(128/7) = 4.276, above sqrt(m) = 2.33 and the
   * floor 0.5: C2 = (20 - 38/7) / sqrt(128/7) = 102 / sqrt(896) = 3.4076
   * > 3. */
  const int a[] = {1, 5, 1, 5, 1, 5, 1, 1, 1, 10, 1};
  const int b[] = {1, 5, 1, 5, 1, 5, 1, 1, 1, 10, 1};
  series2(f, 11, a, b, "x");
  update(f);
  assert_int_equal(f->log.n, 1);
  const struct seen *s = seen_one(&f->log, HLS_PAT_EMERGING, "x");
  assert_non_null(s);
  assert_int_equal(s->change, HLS_PAT_NEW);
  assert_int_equal(s->p.week_from, BASE + 9);
  assert_int_equal(s->p.week_to, BASE + 9);
  assert_near(s->p.score, 102.0 / sqrt(896.0));
  assert_near(s->p.score, 3.407580834383);
  assert_near(s->p.score2, 38.0 / 7.0);
  assert_int_equal(s->p.lo, 20);
  assert_int_equal(s->p.hi, 20);
  assert_places(f->pt, &s->p, "1,2");
  assert_int_equal(held_all(f->pt).n, 1);
}

/* sigma is never below sqrt(mean) (the Poisson sd) nor ears_min_sigma. */
static void test_emerging_sigma_floors(void **state) {
  struct fx *f = *state;
  /* x: a flat baseline of 2 (s = 0): sigma = sqrt(2), and 7 in week 9 gives
   * C2 = 5 / sqrt(2) = 3.54. z: nothing in weeks 0..8 (mean 0): sigma =
   * 0.5, and 3 in week 9 gives C2 = 6. */
  const int a[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 4};
  const int b[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 3};
  series2(f, 9, a, b, "x");
  const struct spec a9[] = {{"x", PROBLEM, ORG, 4, 0}, {"z", PROBLEM, ORG, 2, 0}};
  const struct spec b9[] = {{"x", PROBLEM, ORG, 3, 0}, {"z", PROBLEM, ORG, 1, 0}};
  give(f->pt, 1, 200, BASE + 9, NULL, 2, a9);
  give(f->pt, 2, 200, BASE + 9, NULL, 2, b9);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_EMERGING, "x");
  assert_near(p->score, 5.0 / sqrt(2.0));
  assert_near(p->score2, 2.0);
  assert_int_equal(p->week_from, BASE + 9);
  p = held_one(f->pt, HLS_PAT_EMERGING, "z");
  assert_near(p->score, 6.0);
  assert_near(p->score2, 0.0);
  assert_int_equal(p->lo, 3);
}

static void test_emerging_one_place(void **state) {
  struct fx *f = *state;
  /* A jump, but in week 9 only place 1 reports x (place 2 reports another
   * theme): one place < ears_min_places. */
  const int a[] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 20, 1};
  const int b[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1, 1};
  series2(f, 11, a, b, "x");
  give1(f->pt, 2, 100 + 9, BASE + 9, "y", ORG, 1);
  update(f);
  assert_int_equal(f->log.n, 0);
  assert_int_equal(held_all(f->pt).n, 0);
}

/* The week's lower bound is tested against the baseline's upper bounds. */
static void test_emerging_withheld_current_week(void **state) {
  struct fx *f = *state;
  /* Baseline: 1 + 1 exact every week (mean 2, sigma sqrt(2)). Week 9: place
   * 1 has 4 exact + a withheld person cell [1, 9], place 2 has 1: the week
   * is [6, 14]. On the lower bound C2 = (6 - 2) / sqrt(2) = 2.83 < 3: no
   * alarm; on the upper bound it would be 8.49. */
  const int ones[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  series2(f, 9, ones, ones, "x");
  const struct spec w9[] = {{"x", PROBLEM, ORG, 4, 0}, {"x", PROBLEM, PERSON, WITHHELD, 0}};
  give(f->pt, 1, 200, BASE + 9, NULL, 2, w9);
  give1(f->pt, 2, 200, BASE + 9, "x", ORG, 1);
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_EMERGING, NULL, 0), 0);

  /* Control: the withheld cell replaced by an exact 2, so the week is
   * [7, 7]: C2 = 5 / sqrt(2) = 3.54 > 3. */
  const struct spec w9b[] = {{"x", PROBLEM, ORG, 4, 0}, {"x", PROBLEM, PLACE, 2, 0}};
  give(f->pt, 1, 201, BASE + 9, NULL, 2, w9b);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_EMERGING, "x");
  assert_near(p->score, 5.0 / sqrt(2.0));
  assert_int_equal(p->week_from, BASE + 9);
}

static void test_emerging_withheld_baseline(void **state) {
  struct fx *f = *state;
  /* Baseline: place 1 a withheld person cell [1, 9], place 2 exactly 1:
   * [2, 10] every week; the baseline uses the upper bound: mean 10, sd 0,
   * sigma sqrt(10). Week 9: 5 + 5 = 10 exact: C2 = 0. On the lower bounds
   * (mean 2, sigma sqrt(2)) it would be 5.66. */
  for (int32_t i = 0; i < 9; i++) {
    give1(f->pt, 1, 100 + (uint64_t)i, BASE + i, "x", PERSON, WITHHELD);
    give1(f->pt, 2, 100 + (uint64_t)i, BASE + i, "x", ORG, 1);
  }
  give1(f->pt, 1, 200, BASE + 9, "x", ORG, 5);
  give1(f->pt, 2, 200, BASE + 9, "x", ORG, 5);
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_EMERGING, NULL, 0), 0);
  /* Week 9 at 20: C2 = (20 - 10) / sqrt(10) = sqrt(10) = 3.16. */
  give1(f->pt, 1, 201, BASE + 9, "x", ORG, 15);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_EMERGING, "x");
  assert_near(p->score, sqrt(10.0));
  assert_near(p->score2, 10.0);
  assert_int_equal(p->lo, 20);
}

/* Consecutive alarm weeks make one pattern: from the first to the last,
 * score the largest C2, score2 the first week's baseline mean. */
static void test_emerging_run(void **state) {
  struct fx *f = *state;
  /* Flat 2 for weeks 0..8, then 8, 8 (weeks 9, 10; both baselines, weeks
   * 0..6 and 1..7, are flat 2: C2 = 6 / sqrt(2) = 4.24), then 2. */
  const int a[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 1};
  const int b[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 1};
  series2(f, 12, a, b, "x");
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_EMERGING, "x");
  assert_int_equal(p->week_from, BASE + 9);
  assert_int_equal(p->week_to, BASE + 10);
  assert_near(p->score, 6.0 / sqrt(2.0));
  assert_near(p->score2, 2.0);
  assert_int_equal(p->lo, 16);
}

/* --- rising (Poisson CUSUM) ------------------------------------------------------ */

/* Places 1 and 2 report x every week 0..n-1: 1 each, except the weeks
 * [from, to] where each reports `each`. */
static void step(struct fx *f, int n, int from, int to, int each) {
  for (int i = 0; i < n; i++) {
    int c = i >= from && i <= to ? each : 1;
    give1(f->pt, 1, 100 + (uint64_t)i, BASE + i, "x", ORG, c);
    give1(f->pt, 2, 100 + (uint64_t)i, BASE + i, "x", ORG, c);
  }
}

static void test_rising_spike_does_not_alarm(void **state) {
  struct fx *f = *state;
  /* In-control mean 2 (weeks 0..14, sd 0, so sigma sqrt(2)). Week 15 has
   * 20: z = 18 / sqrt(2) = 12.7, winsorised to 2, so S = 2 - k = 1; then
   * z = 0 and S is back to 0: never near h = 5. */
  step(f, 31, 15, 15, 10);
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_RISING, NULL, 0), 0);
  assert_int_equal(held_count(f->pt, HLS_PAT_EMERGING, "x", PROBLEM), 1); /* a spike is EARS's business */
}

static void test_rising_spike_without_winsorising(void **state) {
  struct fx *f = *state;
  struct hls_pat_params prm;
  test_params(&prm);
  prm.cusum_winsor = 1000;
  fx_params(f, &prm);
  /* S = 18 / sqrt(2) - 1 = 11.73 in week 15, then 1 less a week: at or
   * above 5 until week 21, back to 0 in week 27 (the excursion's end). */
  step(f, 41, 15, 15, 10);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_RISING, "x");
  assert_int_equal(p->week_from, BASE + 15);
  assert_int_equal(p->week_to, BASE + 21);
  assert_near(p->score, 18.0 / sqrt(2.0) - 1);
  assert_near(p->score2, 2.0);
  assert_int_equal(p->lo, 20 + 6 * 2);
  assert_places(f->pt, p, "1,2");
}

static void test_rising_sustained_step(void **state) {
  struct fx *f = *state;
  /* In-control mean 2, sigma sqrt(2) (weeks 0..14). Weeks 15..20 have 10:
   * each adds 2 - k = 1, S = 1, 2, 3, 4, 5 >= h in week 19, 6. Back at 2,
   * z = 0 with the mean frozen at 2: S = 5 (still >= h: week 21), 4, ...
   * 0 in week 26, which ends the excursion. */
  step(f, 41, 15, 20, 5);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_RISING, "x");
  assert_int_equal(p->week_from, BASE + 15); /* the excursion's start */
  assert_int_equal(p->week_to, BASE + 21);   /* the last week S >= h */
  assert_near(p->score, 6.0);
  assert_near(p->score2, 2.0); /* frozen: not updated by the step */
  assert_int_equal(p->lo, 6 * 10 + 2);
  assert_int_equal(p->hi, 62);
  assert_places(f->pt, p, "1,2");
  assert_int_equal(held_count(f->pt, HLS_PAT_RISING, NULL, 0), 1);
}

/* The in-control sd is the reference weeks' own when it is above the
 * Poisson sd: overdispersed counts need a larger rise. */
static void test_rising_overdispersed_reference(void **state) {
  struct fx *f = *state;
  /* 2 and 10 in turn (even and odd weeks) for weeks 0..14, the same step
   * as above to 12 in weeks 15..20, then 2 and 10 in turn again. In week
   * 15: mu0 = 86/15 = 5.73, sd = sqrt((732 - 86^2/15) / 14) = 4.13 (the
   * Poisson sd would be 2.39), z = (12 - 5.73) / 4.13 = 1.52, so S grows
   * by 0.52 a week, to 3.1 after six weeks: no alarm (with the Poisson sd
   * z would be capped at 2 and S would reach 6). */
  for (int i = 0; i < 31; i++) {
    int c = i >= 15 && i <= 20 ? 6 : i % 2 ? 5 : 1;
    give1(f->pt, 1, 100 + (uint64_t)i, BASE + i, "x", ORG, c);
    give1(f->pt, 2, 100 + (uint64_t)i, BASE + i, "x", ORG, c);
  }
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_RISING, NULL, 0), 0);
}

static void test_rising_needs_reference_and_places(void **state) {
  struct fx *f = *state;
  /* Only 12 weeks before the step (cusum_min_ref is 13): the step's first
   * week (12) cannot start an excursion; the second (13) has 13 weeks of
   * reference: mu0 = (12 x 2 + 10) / 13 = 34/13, sd = sqrt(((12 x 2^2 +
   * 10^2) - 34^2/13) / 12) = 2.219 (above sqrt(mu0) = 1.62). S = 1, 2, ...
   * 7 in weeks 13..19 (z capped at 2), then 7 + (2 - 34/13) / 2.219 - 1 =
   * 5.72 in week 20, the last at or above h; 0 in week 25. y rises the
   * same way, but in one place only (cusum_min_places is 2). */
  for (int i = 0; i < 36; i++) {
    int c = i >= 12 && i <= 19 ? 5 : 1;
    const struct spec one[] = {{"x", PROBLEM, ORG, c, 0}, {"y", PROBLEM, ORG, 2 * c, 0}};
    give(f->pt, 1, 100 + (uint64_t)i, BASE + i, NULL, 2, one);
    give1(f->pt, 2, 100 + (uint64_t)i, BASE + i, "x", ORG, c);
  }
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_RISING, "x");
  assert_int_equal(p->week_from, BASE + 13);
  assert_int_equal(p->week_to, BASE + 20);
  assert_near(p->score, 7.0);
  assert_near(p->score2, 34.0 / 13.0);
  assert_int_equal(p->lo, 7 * 10 + 2);
  assert_int_equal(held_count(f->pt, HLS_PAT_RISING, "y", PROBLEM), 0);
}

/* --- together ------------------------------------------------------------------ */

/* The places of a window and the themes each reported in any of its
 * weeks: places 1..4 report a and b in weeks 0 and 1; place 5 a and f;
 * places 6..20 c and one theme of their own (d1..d15), in week 0. */
static void planted(struct hls_patterns *pt, uint64_t seq) {
  const struct spec ab[] = {{"a", PROBLEM, ORG, 1, 0}, {"b", PROBLEM, ORG, 1, 0}};
  const struct spec af[] = {{"a", PROBLEM, ORG, 1, 0}, {"f", PROBLEM, ORG, 1, 0}};
  for (int32_t w = 0; w < 2; w++)
    for (int place = 1; place <= 4; place++) give(pt, place, seq + (uint64_t)w, BASE + w, NULL, 2, ab);
  give(pt, 5, seq, BASE, NULL, 2, af);
  for (int place = 6; place <= 20; place++) {
    char d[24];
    snprintf(d, sizeof d, "d%d", place - 5);
    const struct spec cd[] = {{"c", PROBLEM, ORG, 1, 0}, {d, PROBLEM, ORG, 1, 0}};
    give(pt, place, seq, BASE, NULL, 2, cd);
  }
}

static void test_together_planted(void **state) {
  struct fx *f = *state;
  /* N = 20 places, each with 2 themes (D = 40); n_a = 5, n_b = 4, and 4
   * places report both. Expected under independence with every place's
   * chance in proportion to its themes: e = 20 x (5 x 2/40) (4 x 2/40) =
   * 1 (here the same as n_a n_b / N, the degrees being equal).
   *   G2 = 2 (o ln(o/e) - (o - e)) = 2 (4 ln 4 - 3) = 5.09035 >= 3.84
   *   NPMI = ln(o N / (n_a n_b)) / -ln(o / N) = ln 4 / ln 5 = 0.86135
   * and 8 place-weeks report both in the same week (>= 3). */
  planted(f->pt, 1);
  update(f);
  const struct seen *s = NULL;
  size_t n = 0;
  for (size_t i = 0; i < f->log.n; i++)
    if (f->log.c[i].p.signal == HLS_PAT_TOGETHER) s = &f->log.c[i], n++;
  assert_int_equal(n, 1);
  assert_int_equal(s->change, HLS_PAT_NEW);
  assert_string_equal(s->theme, "a"); /* the pair in theme-key order */
  assert_string_equal(s->theme2, "b");
  assert_near(s->p.score, 2 * (4 * log(4.0) - 3));
  assert_near(s->p.score, 5.090354888959);
  assert_near(s->p.score2, log(4.0) / log(5.0));
  assert_near(s->p.score2, 0.861353116147);
  assert_int_equal(s->p.lo, 4); /* places reporting both */
  assert_int_equal(s->p.hi, 4);
  assert_places(f->pt, &s->p, "1,2,3,4");
  assert_int_equal(s->p.week_from, BASE);
  assert_int_equal(s->p.week_to, BASE + 7);
  assert_int_equal(s->p.scales, 1u << ORG);
  assert_int_equal(held_count(f->pt, HLS_PAT_TOGETHER, NULL, 0), 1);

  /* Lineage: both themes' cells from its places in its window (place 5's
   * a is not), by week, place, theme. */
  const struct hls_pattern *p = hls_patterns_find(f->pt, s->p.id);
  assert_non_null(p);
  struct lineage l;
  lineage_of(f->pt, p, &l);
  assert_int_equal(l.nc, 16);
  for (size_t i = 0; i < 16; i++) {
    assert_int_equal(l.c[i].week, BASE + (int32_t)(i / 8));
    assert_int_equal(label_of(f->pt, l.c[i].place), 1 + (int)(i % 8) / 2);
    assert_string_equal(theme_name(f->pt, l.c[i].theme, NULL), i % 2 ? "b" : "a");
    assert_int_equal(l.c[i].lo, 1);
    assert_false(l.c[i].withheld);
  }
}

/* Places 1..20 in week 0, each with two themes, the first two of names
 * (NULL: a theme of the place's own). */
static void give_pairs(struct hls_patterns *pt, int n, const char *const (*names)[2]) {
  for (int place = 1; place <= n; place++) {
    char own[2][24];
    struct spec c[2];
    for (int i = 0; i < 2; i++) {
      snprintf(own[i], sizeof own[i], "o%d-%d", place, i);
      c[i] = (struct spec){names[place - 1][i] ? names[place - 1][i] : own[i], PROBLEM, ORG, 1, 0};
    }
    give(pt, place, 1, BASE, NULL, 2, c);
  }
}

static void test_together_independent(void **state) {
  struct fx *f = *state;
  /* 20 places: 5 with a and b, 5 a only, 5 b only, 5 neither: 5 places
   * with both = 10 x 10 / 20, no more than independence. */
  const char *names[20][2];
  for (int i = 0; i < 20; i++) {
    names[i][0] = i < 10 ? "a" : NULL;
    names[i][1] = i < 5 || (i >= 10 && i < 15) ? "b" : NULL;
  }
  give_pairs(f->pt, 20, (const char *const (*)[2])names);
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_TOGETHER, NULL, 0), 0);
  assert_int_equal(held_count(f->pt, HLS_PAT_SPREAD, "a", PROBLEM), 1);
}

/* Places that report many themes report many pairs: the expected count
 * follows each place's number of themes. */
static void test_together_degree_corrected(void **state) {
  struct fx *f = *state;
  /* Places 1..3 report a, b and h1..h8 (10 themes each); places 4..20 one
   * theme of their own. N = 20, D = 47, n_a = n_b = 3, o = 3.
   *   e = 3 (3 x 10/47)^2 + 17 (3 x 1/47)^2 = 1.29153
   *   G2 = 2 (3 ln(3/e) - (3 - e)) = 1.63976 < 3.84: nothing. (Against
   * plain independence, e = 3 x 3 / 20 = 0.45, G2 would be 6.28.) */
  struct spec hub[10];
  char h[8][24];
  hub[0] = (struct spec){"a", PROBLEM, ORG, 1, 0};
  hub[1] = (struct spec){"b", PROBLEM, ORG, 1, 0};
  for (int i = 0; i < 8; i++) {
    snprintf(h[i], sizeof h[i], "h%d", i + 1);
    hub[2 + i] = (struct spec){h[i], PROBLEM, ORG, 1, 0};
  }
  for (int place = 1; place <= 3; place++) give(f->pt, place, 1, BASE, NULL, 10, hub);
  for (int place = 4; place <= 20; place++) {
    char own[24];
    snprintf(own, sizeof own, "o%d", place);
    give1(f->pt, place, 1, BASE, own, ORG, 1);
  }
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_TOGETHER, NULL, 0), 0);
  assert_int_equal(held_count(f->pt, HLS_PAT_SPREAD, NULL, 0), 10); /* a, b, h1..h8 */
}

static void test_together_one_place(void **state) {
  struct fx *f = *state;
  /* a and b every week, but in place 1 only (together_min_places 3). */
  const struct spec ab[] = {{"a", PROBLEM, ORG, 1, 0}, {"b", PROBLEM, ORG, 1, 0}};
  for (int32_t w = 0; w < 6; w++) give(f->pt, 1, 1 + (uint64_t)w, BASE + w, NULL, 2, ab);
  for (int place = 2; place <= 8; place++) give1(f->pt, place, 1, BASE, "c", ORG, 1);
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_TOGETHER, NULL, 0), 0);
}

/* Places that report both themes, but never in the same week, are not
 * enough: together_min_count place-weeks must report both. */
static void test_together_needs_same_weeks(void **state) {
  struct fx *f = *state;
  /* The planted window, but places 1..4 report a in week 0 and b in week
   * 1: the place statistics are as planted, same-week evidence is 0. */
  const struct spec af[] = {{"a", PROBLEM, ORG, 1, 0}, {"f", PROBLEM, ORG, 1, 0}};
  for (int place = 1; place <= 4; place++) {
    give1(f->pt, place, 1, BASE, "a", ORG, 1);
    give1(f->pt, place, 2, BASE + 1, "b", ORG, 1);
  }
  give(f->pt, 5, 1, BASE, NULL, 2, af);
  for (int place = 6; place <= 20; place++) {
    char d[24];
    snprintf(d, sizeof d, "d%d", place - 5);
    const struct spec cd[] = {{"c", PROBLEM, ORG, 1, 0}, {d, PROBLEM, ORG, 1, 0}};
    give(f->pt, place, 1, BASE, NULL, 2, cd);
  }
  update(f);
  assert_int_equal(held_count(f->pt, HLS_PAT_TOGETHER, NULL, 0), 0);
  /* Three of them report both in week 2: three place-weeks. */
  const struct spec ab[] = {{"a", PROBLEM, ORG, 1, 0}, {"b", PROBLEM, ORG, 1, 0}};
  for (int place = 1; place <= 3; place++) give(f->pt, place, 3, BASE + 2, NULL, 2, ab);
  update(f);
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_TOGETHER, "a");
  assert_near(p->score, 2 * (4 * log(4.0) - 3));
  assert_places(f->pt, p, "1,2,3,4");
}

/* --- facts: superseding, erasure --------------------------------------------------- */

static void test_supersede_any_order(void **state) {
  (void)state;
  struct hls_pat_params prm;
  test_params(&prm);
  prm.spread_min_places = 1;
  for (int order = 0; order < 2; order++) {
    struct hls_patterns *pt = new_engine(&prm);
    if (order == 0) {
      give1(pt, 1, 3, BASE, "x", ORG, 9);
      give1(pt, 1, 5, BASE, "x", ORG, 1);
    } else {
      give1(pt, 1, 5, BASE, "x", ORG, 1);
      assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
      give1(pt, 1, 3, BASE, "x", ORG, 9); /* older: changes nothing */
      assert_false(hls_patterns_dirty(pt));
      give1(pt, 1, 5, BASE, "x", ORG, 1); /* the same again */
      assert_false(hls_patterns_dirty(pt));
    }
    assert_int_equal(hls_patterns_update(pt, NULL, NULL), 0);
    const struct hls_pattern *p = held_one(pt, HLS_PAT_SPREAD, "x");
    assert_int_equal(p->lo, 1);
    struct lineage l;
    lineage_of(pt, p, &l);
    assert_int_equal(l.nc, 1);
    assert_int_equal(l.c[0].seq, 5);
    struct hls_pat_stats st;
    hls_patterns_stats(pt, &st);
    assert_int_equal(st.digests, 1); /* one place-week */
    hls_patterns_free(pt);
  }
}

/* A newer digest with the same counts changes no pattern. */
static void test_supersede_same_counts(void **state) {
  struct fx *f = *state;
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE, "x", ORG, 2);
  update(f);
  assert_int_equal(f->log.n, 1);
  give1(f->pt, 2, 2, BASE, "x", ORG, 2);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
  struct lineage l;
  lineage_of(f->pt, held_one(f->pt, HLS_PAT_SPREAD, "x"), &l);
  assert_int_equal(l.nc, 3);
  for (size_t i = 0; i < 3; i++) assert_int_equal(l.c[i].seq, label_of(f->pt, l.c[i].place) == 2 ? 2 : 1);
}

static void test_erased_newest_keeps_older_out(void **state) {
  struct fx *f = *state;
  struct hls_pat_params prm;
  test_params(&prm);
  prm.spread_min_places = 1;
  fx_params(f, &prm);
  give1(f->pt, 1, 3, BASE, "x", ORG, 9);
  give1(f->pt, 1, 5, BASE, "x", ORG, 1);
  update(f);
  assert_int_equal(f->log.n, 1);
  erase(f->pt, 1, 3); /* an older version: already out */
  assert_false(hls_patterns_dirty(f->pt));
  erase(f->pt, 1, 5);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_RETRACTED);
  assert_int_equal(f->log.c[0].p.lo, 1); /* as it last held */
  assert_int_equal(held_all(f->pt).n, 0);
  /* Older versions stay out, whenever they come. */
  give1(f->pt, 1, 3, BASE, "x", ORG, 9);
  give1(f->pt, 1, 4, BASE, "x", ORG, 4);
  assert_false(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
  /* A newer one counts. */
  give1(f->pt, 1, 7, BASE, "x", ORG, 2);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_NEW);
  assert_int_equal(f->log.c[0].p.lo, 2);
}

static void test_erase_unknown_is_noop(void **state) {
  struct fx *f = *state;
  erase(f->pt, 9, 1); /* unknown place */
  assert_false(hls_patterns_dirty(f->pt));
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE, "x", ORG, 2);
  give_story(f->pt, 1, 2, BASE, "Story", "x", NULL);
  update(f);
  erase(f->pt, 1, 99); /* unknown seq */
  erase(f->pt, 4, 1);  /* unknown place */
  assert_false(hls_patterns_dirty(f->pt));
  erase(f->pt, 1, 2);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  erase(f->pt, 1, 2); /* already erased */
  assert_false(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 0);
}

static void test_erase_story_updates(void **state) {
  struct fx *f = *state;
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE, "x", ORG, 2);
  give_story(f->pt, 2, 2, BASE + 3, "What we tried", "x", NULL);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].p.n_stories, 1);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  erase(f->pt, 2, 2);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_UPDATED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  assert_int_equal(f->log.c[0].p.n_stories, 0);
  assert_int_equal(f->log.c[0].p.n_places, 3);
  struct hls_pat_stats st;
  hls_patterns_stats(f->pt, &st);
  assert_int_equal(st.stories, 0);
}

static void test_erase_digest_retracts(void **state) {
  struct fx *f = *state;
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE + place, "x", ORG, 2);
  update(f);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  erase(f->pt, 2, 1);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_RETRACTED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  assert_places(f->pt, &f->log.c[0].p, "1,2,3"); /* as it last held */
  assert_null(hls_patterns_find(f->pt, id));
  assert_int_equal(held_all(f->pt).n, 0);
}

/* NEW, UPDATED and RETRACTED each come once, then nothing. */
static void test_changes_reported_once(void **state) {
  struct fx *f = *state;
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE, "x", ORG, 2);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_NEW);
  uint8_t id[HLS_PAT_ID_BYTES];
  memcpy(id, f->log.c[0].p.id, sizeof id);
  update(f);
  assert_int_equal(f->log.n, 0);

  give1(f->pt, 4, 1, BASE + 1, "x", ORG, 2);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_UPDATED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id); /* same theme, signal and first week */
  assert_true(f->log.c[0].p.score == 4.0);
  assert_places(f->pt, &f->log.c[0].p, "1,2,3,4");
  update(f);
  assert_int_equal(f->log.n, 0);

  erase(f->pt, 3, 1);
  erase(f->pt, 4, 1);
  update(f);
  assert_int_equal(f->log.n, 1);
  assert_int_equal(f->log.c[0].change, HLS_PAT_RETRACTED);
  assert_memory_equal(f->log.c[0].p.id, id, sizeof id);
  update(f);
  assert_int_equal(f->log.n, 0);
  assert_int_equal(held_all(f->pt).n, 0);
}

/* --- identity, lineage, names ----------------------------------------------------- */

struct fact {
  int kind; /* 0 digest, 1 story, 2 place name */
  int label;
  uint64_t seq;
  int32_t week;
  size_t n;
  struct spec cells[3];
};

/* The facts of a small network: the planted window with a cross-scale
 * theme s, a step in theme e, a story and a place name. */
static size_t network_facts(struct fact *out, size_t cap) {
  static const char *const d[] = {"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8",
                                  "d9", "d10", "d11", "d12", "d13", "d14", "d15"};
  size_t n = 0;
#define ADD(...) \
  do { assert_true(n < cap); out[n++] = (struct fact){__VA_ARGS__}; } while (0)
  for (int32_t w = 0; w < 2; w++) {
    for (int place = 1; place <= 3; place++)
      ADD(0, place, 1 + (uint64_t)w, BASE + w, 3,
          {{"a", PROBLEM, ORG, 1, 0}, {"b", PROBLEM, ORG, 1, 0}, {"s", PROBLEM, PERSON, WITHHELD, 0}});
    ADD(0, 4, 1 + (uint64_t)w, BASE + w, 3,
        {{"a", PROBLEM, ORG, 1, 0}, {"b", PROBLEM, ORG, 1, 0}, {"s", PROBLEM, ORG, 2, 0}});
  }
  ADD(0, 5, 1, BASE, 2, {{"a", PROBLEM, ORG, 1, 0}, {"f", PROBLEM, ORG, 1, 0}});
  for (int place = 6; place <= 20; place++)
    ADD(0, place, 1, BASE, 2, {{"c", PROBLEM, ORG, 1, 0}, {d[place - 6], PROBLEM, ORG, 1, 0}});
  /* e: 2 a week (two places) in weeks 8..40, but 10 in weeks 31..36. */
  for (int32_t i = 8; i <= 40; i++)
    for (int place = 1; place <= 2; place++)
      ADD(0, place, 10 + (uint64_t)i, BASE + i, 1,
          {{"e", HLS_KIND_STRENGTH, ORG, i >= 31 && i <= 36 ? 5 : 1, 0}});
  ADD(1, 1, 50, BASE + 1, 0, {{NULL, 0, 0, 0, 0}});
  ADD(2, 3, 0, 0, 0, {{NULL, 0, 0, 0, 0}});
#undef ADD
  return n;
}

static void give_fact(struct hls_patterns *pt, const struct fact *x) {
  if (x->kind == 0) give(pt, x->label, x->seq, x->week, NULL, x->n, x->cells);
  else if (x->kind == 1) give_story(pt, x->label, x->seq, x->week, "Both", "a", "b");
  else {
    uint8_t o[HLS_KEY_BYTES];
    origin_of(x->label, o);
    assert_int_equal(hls_patterns_place(pt, o, "Third", "Region"), 0);
  }
}

static void test_ids_stable_across_orders(void **state) {
  (void)state;
  struct fact facts[256];
  size_t n = network_facts(facts, 256);
  struct hls_patterns *e1 = new_engine(NULL), *e2 = new_engine(NULL);
  for (size_t i = 0; i < n; i++) give_fact(e1, &facts[i]);
  /* Backwards, with updates in between, so places and themes are numbered
   * differently and the patterns are built in steps. */
  for (size_t i = n; i-- > 0;) {
    give_fact(e2, &facts[i]);
    if (i % 7 == 0) assert_int_equal(hls_patterns_update(e2, NULL, NULL), 0);
  }
  assert_int_equal(hls_patterns_update(e1, NULL, NULL), 0);
  assert_int_equal(hls_patterns_update(e2, NULL, NULL), 0);
  struct hls_pat_place_info info;
  assert_int_equal(hls_patterns_place_info(e1, 0, &info), 0);
  assert_int_equal(info.origin[0], 1);
  assert_int_equal(hls_patterns_place_info(e2, 0, &info), 0);
  assert_int_not_equal(info.origin[0], 1);

  struct held h1 = held_all(e1), h2 = held_all(e2);
  assert_int_equal(h1.n, h2.n);
  size_t by_signal[HLS_PAT_SIGNAL_COUNT] = {0};
  for (size_t i = 0; i < h1.n; i++) {
    const struct hls_pattern *a = h1.p[i], *b = h2.p[i];
    assert_memory_equal(a->id, b->id, HLS_PAT_ID_BYTES);
    assert_int_equal(a->signal, b->signal);
    assert_string_equal(theme_name(e1, a->theme, NULL), theme_name(e2, b->theme, NULL));
    if (a->theme2 != HLS_PAT_NONE)
      assert_string_equal(theme_name(e1, a->theme2, NULL), theme_name(e2, b->theme2, NULL));
    else
      assert_int_equal(b->theme2, HLS_PAT_NONE);
    assert_int_equal(a->week_from, b->week_from);
    assert_int_equal(a->week_to, b->week_to);
    assert_true(a->score == b->score);
    assert_true(a->score2 == b->score2);
    assert_int_equal(a->lo, b->lo);
    assert_int_equal(a->hi, b->hi);
    assert_int_equal(a->scales, b->scales);
    assert_int_equal(a->n_stories, b->n_stories);
    char la[128], lb[128];
    labels(e1, a->places, a->n_places, la, sizeof la);
    labels(e2, b->places, b->n_places, lb, sizeof lb);
    assert_string_equal(la, lb);
    by_signal[a->signal]++;
  }
  /* Every signal is there: spread a, b, c, s; cross-scale s; together
   * a+b, a+s, b+s; emerging and rising e. */
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++)
    if (by_signal[i] == 0) fail_msg("no %s pattern", hls_pat_signal_name(i));
  assert_int_equal(by_signal[HLS_PAT_SPREAD], 4);
  assert_int_equal(by_signal[HLS_PAT_CROSS_SCALE], 1);
  assert_int_equal(by_signal[HLS_PAT_TOGETHER], 3);
  hls_patterns_free(e1);
  hls_patterns_free(e2);
}

static void test_lineage(void **state) {
  struct fx *f = *state;
  const struct spec p1w0[] = {
      {"x", PROBLEM, PERSON, WITHHELD, 0}, {"x", PROBLEM, ORG, 2, 0}, {"y", PROBLEM, ORG, 1, 0}};
  give(f->pt, 1, 1, BASE + 0, NULL, 3, p1w0);
  give1(f->pt, 2, 1, BASE + 2, "x", ORG, 3);
  give1(f->pt, 3, 1, BASE + 5, "x", ORG, 1);
  give1(f->pt, 1, 2, BASE + 6, "x", ORG, 4);
  give1(f->pt, 4, 1, BASE + 9, "x", ORG, 4); /* the next window */
  give_story(f->pt, 1, 10, BASE + 1, "Kitchen table talks", "x", NULL);   /* in */
  give_story(f->pt, 2, 10, BASE + 8, "Next window", "x", NULL);           /* out: week */
  give_story(f->pt, 5, 10, BASE + 2, "Not a place of it", "x", NULL);     /* out: place */
  give_story(f->pt, 3, 10, BASE + 5, "Other theme", "y", NULL);           /* out: theme */
  give_story(f->pt, 3, 11, BASE + 7, "Both themes", "y", "x");            /* in */
  struct hls_story asp;                                                   /* out: another kind */
  memset(&asp, 0, sizeof asp);
  hls_patterns_iso_week(BASE + 3, &asp.iso_year, &asp.iso_week);
  snprintf(asp.title, sizeof asp.title, "Aspiration");
  snprintf(asp.themes[0].slug, sizeof asp.themes[0].slug, "x");
  asp.themes[0].kind = HLS_KIND_ASPIRATION;
  asp.n_themes = 1;
  uint8_t o2[HLS_KEY_BYTES];
  origin_of(2, o2);
  assert_int_equal(hls_patterns_story(f->pt, o2, 11, &asp), 0);
  assert_int_equal(hls_patterns_story(f->pt, o2, 11, &asp), 0); /* again: ignored */
  update(f);

  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "x");
  assert_int_equal(p->n_stories, 2);
  struct lineage l;
  lineage_of(f->pt, p, &l);
  assert_int_equal(l.nc, 4);
  static const struct {
    int label;
    int32_t week;
    uint64_t seq;
    uint32_t lo, hi;
    bool withheld;
    unsigned scales;
  } want[] = {
      {1, BASE + 0, 1, 1 + 2, 9 + 2, true, (1u << PERSON) | (1u << ORG)},
      {2, BASE + 2, 1, 3, 3, false, 1u << ORG},
      {3, BASE + 5, 1, 1, 1, false, 1u << ORG},
      {1, BASE + 6, 2, 4, 4, false, 1u << ORG},
  };
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(label_of(f->pt, l.c[i].place), want[i].label);
    assert_int_equal(l.c[i].week, want[i].week);
    assert_int_equal(l.c[i].seq, want[i].seq);
    assert_int_equal(l.c[i].theme, p->theme);
    assert_int_equal(l.c[i].lo, want[i].lo);
    assert_int_equal(l.c[i].hi, want[i].hi);
    assert_int_equal(l.c[i].withheld, want[i].withheld);
    assert_int_equal(l.c[i].scales, want[i].scales);
  }
  assert_int_equal(l.ns, 2);
  assert_true(has_title(&l, "Kitchen table talks"));
  assert_true(has_title(&l, "Both themes"));
  for (size_t i = 0; i < l.ns; i++) {
    bool first = strcmp(l.titles[i], "Kitchen table talks") == 0;
    assert_int_equal(label_of(f->pt, l.s[i].place), first ? 1 : 3);
    assert_int_equal(l.s[i].week, first ? BASE + 1 : BASE + 7);
    assert_int_equal(l.s[i].seq, first ? 10 : 11);
  }
  /* The cross-scale pattern of the same window has the same lineage. */
  const struct hls_pattern *c = held_one(f->pt, HLS_PAT_CROSS_SCALE, "x");
  struct lineage lc;
  lineage_of(f->pt, c, &lc);
  assert_int_equal(lc.nc, 4);
  assert_int_equal(lc.ns, 2);
  /* Either callback may be NULL; a non-zero return stops and comes back. */
  assert_int_equal(hls_patterns_lineage(f->pt, p, NULL, NULL, NULL), 0);
  memset(&l, 0, sizeof l);
  assert_int_equal(hls_patterns_lineage(f->pt, p, NULL, lin_story, &l), 0);
  assert_int_equal(l.nc, 0);
  assert_int_equal(l.ns, 2);
}

static int stop_at_first(void *ctx, const struct hls_pat_cell_ref *c) {
  (void)c;
  ++*(int *)ctx;
  return 42;
}

static void test_lineage_stop(void **state) {
  struct fx *f = *state;
  for (int place = 1; place <= 3; place++) give1(f->pt, place, 1, BASE, "x", ORG, 2);
  update(f);
  int calls = 0;
  assert_int_equal(hls_patterns_lineage(f->pt, held_one(f->pt, HLS_PAT_SPREAD, "x"), stop_at_first, NULL, &calls), 42);
  assert_int_equal(calls, 1);
}

/* Renaming a place updates every pattern that names it, and only those. */
static void test_rename_updates(void **state) {
  struct fx *f = *state;
  planted(f->pt, 1);
  update(f);
  /* spread a (1..5), b (1..4), c (6..20); together a+b (1..4). */
  assert_int_equal(held_all(f->pt).n, 4);
  uint8_t o[HLS_KEY_BYTES];
  origin_of(2, o);
  assert_int_equal(hls_patterns_place(f->pt, o, "Northtown", "North"), 0);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 3);
  for (size_t i = 0; i < f->log.n; i++) assert_int_equal(f->log.c[i].change, HLS_PAT_UPDATED);
  assert_non_null(seen_one(&f->log, HLS_PAT_SPREAD, "a"));
  assert_non_null(seen_one(&f->log, HLS_PAT_SPREAD, "b"));
  assert_non_null(seen_one(&f->log, HLS_PAT_TOGETHER, "a"));
  assert_null(seen_one(&f->log, HLS_PAT_SPREAD, "c"));
  struct hls_pat_place_info info;
  const struct hls_pattern *p = held_one(f->pt, HLS_PAT_SPREAD, "b");
  assert_int_equal(hls_patterns_place_info(f->pt, p->places[1], &info), 0);
  assert_string_equal(info.name, "Northtown");
  assert_string_equal(info.region, "North");
  assert_int_equal(hls_patterns_place_info(f->pt, 999, &info), HLS_ENOTFOUND);
  /* The same name again changes nothing. */
  assert_int_equal(hls_patterns_place(f->pt, o, "Northtown", "North"), 0);
  assert_false(hls_patterns_dirty(f->pt));
  /* A place known only by its profile. */
  origin_of(40, o);
  assert_int_equal(hls_patterns_place(f->pt, o, "Newtown", ""), 0);
  update(f);
  assert_int_equal(f->log.n, 0);
}

/* A story naming both themes of a together pattern is in its lineage;
 * adding and erasing it updates the pattern. */
static void test_story_updates_together(void **state) {
  struct fx *f = *state;
  planted(f->pt, 1);
  update(f);
  give_story(f->pt, 2, 20, BASE + 1, "Both", "b", "a");
  give_story(f->pt, 3, 20, BASE + 1, "Only a", "a", NULL);
  update(f);
  const struct seen *t = seen_one(&f->log, HLS_PAT_TOGETHER, "a");
  assert_non_null(t);
  assert_int_equal(t->change, HLS_PAT_UPDATED);
  assert_int_equal(t->p.n_stories, 1);
  assert_int_equal(seen_one(&f->log, HLS_PAT_SPREAD, "a")->p.n_stories, 2);
  assert_int_equal(seen_one(&f->log, HLS_PAT_SPREAD, "b")->p.n_stories, 1);
  assert_int_equal(f->log.n, 3);
  struct lineage l;
  lineage_of(f->pt, hls_patterns_find(f->pt, t->p.id), &l);
  assert_int_equal(l.ns, 1);
  assert_string_equal(l.titles[0], "Both");

  erase(f->pt, 2, 20);
  update(f);
  t = seen_one(&f->log, HLS_PAT_TOGETHER, "a");
  assert_non_null(t);
  assert_int_equal(t->change, HLS_PAT_UPDATED);
  assert_int_equal(t->p.n_stories, 0);
}

/* --- a callback that stops the update --------------------------------------------- */

/* Three patterns: spread and cross-scale of x, spread of z. */
static void three_patterns(struct hls_patterns *pt) {
  const struct spec cells[] = {{"x", PROBLEM, PERSON, 15, 0}, {"x", PROBLEM, ORG, 1, 0}, {"z", PROBLEM, ORG, 1, 0}};
  for (int place = 1; place <= 3; place++) give(pt, place, 1, BASE + place, NULL, 3, cells);
}

static bool same_id(const struct seen *a, const struct seen *b) {
  return memcmp(a->p.id, b->p.id, HLS_PAT_ID_BYTES) == 0;
}

static void test_callback_stop_then_complete(void **state) {
  struct fx *f = *state;
  three_patterns(f->pt);
  /* All at once, for reference. */
  struct hls_patterns *ref = new_engine(NULL);
  three_patterns(ref);
  struct log all = {.pt = ref};
  assert_int_equal(hls_patterns_update(ref, on_change, &all), 0);
  assert_int_equal(all.n, 3);

  /* The second change is refused: the update stops there and says so. */
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  f->log.refuse_at = 2;
  assert_int_equal(hls_patterns_update(f->pt, on_change, &f->log), REFUSED);
  assert_int_equal(f->log.calls, 2);
  assert_int_equal(f->log.n, 1);
  assert_true(hls_patterns_dirty(f->pt));
  struct seen first = f->log.c[0];
  /* The next update reports the rest, the refused change included; the
   * accepted one is not reported again. */
  update(f);
  assert_int_equal(f->log.n, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(f->log.c[i].change, HLS_PAT_NEW);
    assert_false(same_id(&f->log.c[i], &first));
  }
  assert_false(same_id(&f->log.c[0], &f->log.c[1]));
  for (size_t i = 0; i < 3; i++) {
    const struct seen *w = &all.c[i];
    bool found = same_id(w, &first) || same_id(w, &f->log.c[0]) || same_id(w, &f->log.c[1]);
    if (!found) fail_msg("%s of %s never reported", hls_pat_signal_name(w->p.signal), w->theme);
    assert_non_null(hls_patterns_find(f->pt, w->p.id));
  }
  update(f);
  assert_int_equal(f->log.n, 0);

  /* Retractions: the first is refused; the next update reports all three. */
  for (int place = 2; place <= 3; place++) erase(f->pt, place, 1);
  memset(&f->log, 0, sizeof f->log);
  f->log.pt = f->pt;
  f->log.refuse_at = 1;
  assert_int_equal(hls_patterns_update(f->pt, on_change, &f->log), REFUSED);
  assert_int_equal(f->log.n, 0);
  assert_true(hls_patterns_dirty(f->pt));
  update(f);
  assert_int_equal(f->log.n, 3);
  for (size_t i = 0; i < 3; i++) assert_int_equal(f->log.c[i].change, HLS_PAT_RETRACTED);
  assert_int_equal(held_all(f->pt).n, 0);
  update(f);
  assert_int_equal(f->log.n, 0);
  hls_patterns_free(ref);
}

/* Without a callback the update still completes. */
static void test_update_without_callback(void **state) {
  struct fx *f = *state;
  three_patterns(f->pt);
  assert_int_equal(hls_patterns_update(f->pt, NULL, NULL), 0);
  assert_false(hls_patterns_dirty(f->pt));
  assert_int_equal(held_all(f->pt).n, 3);
  struct hls_pat_stats st;
  hls_patterns_stats(f->pt, &st);
  assert_int_equal(st.places, 3);
  assert_int_equal(st.themes, 2);
  assert_int_equal(st.digests, 3);
  assert_int_equal(st.patterns, 3);
  assert_int_equal(st.by_signal[HLS_PAT_SPREAD], 2);
  assert_int_equal(st.by_signal[HLS_PAT_CROSS_SCALE], 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params_default),
      cmocka_unit_test(test_params_check),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_week_numbers),
      cmocka_unit_test(test_cell_bounds_withheld),
      cmocka_unit_test(test_cell_bounds_rounded),
      cmocka_unit_test(test_cell_bounds_exact_other_scales),
      cmocka_unit_test(test_cell_bounds_match_disclosure),
      cmocka_unit_test(test_cell_fold),
      T(test_spread_needs_k_places),
      T(test_spread_windows_do_not_combine),
      T(test_cross_scale),
      T(test_emerging_jump),
      T(test_emerging_sigma_floors),
      T(test_emerging_one_place),
      T(test_emerging_withheld_current_week),
      T(test_emerging_withheld_baseline),
      T(test_emerging_run),
      T(test_rising_spike_does_not_alarm),
      T(test_rising_spike_without_winsorising),
      T(test_rising_sustained_step),
      T(test_rising_overdispersed_reference),
      T(test_rising_needs_reference_and_places),
      T(test_together_planted),
      T(test_together_independent),
      T(test_together_degree_corrected),
      T(test_together_one_place),
      T(test_together_needs_same_weeks),
      cmocka_unit_test(test_supersede_any_order),
      T(test_supersede_same_counts),
      T(test_erased_newest_keeps_older_out),
      T(test_erase_unknown_is_noop),
      T(test_erase_story_updates),
      T(test_erase_digest_retracts),
      T(test_changes_reported_once),
      cmocka_unit_test(test_ids_stable_across_orders),
      T(test_lineage),
      T(test_lineage_stop),
      T(test_rename_updates),
      T(test_story_updates_together),
      T(test_callback_stop_then_complete),
      T(test_update_without_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
