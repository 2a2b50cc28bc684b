/* Unit tests for tests/bench/signal_score.c: how bench_signal decides that
 * a pattern is on a plant, how much of the plant it covers, and when a
 * plant counts as found. Hand-made plants and patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "signal_score.h"

/* Signals as protocol/patterns.h numbers them (the scorer only compares). */
enum { SPREAD = 0, EMERGING = 1, RISING = 2, TOGETHER = 3, CROSS = 4 };
#define NONE SIGNAL_SCORE_NONE

static const uint32_t five[] = {2, 4, 6, 8, 10};

static struct signal_score_plant plant1(int signal, uint32_t theme, int32_t from, int32_t to) {
  return (struct signal_score_plant){signal, 1, {theme, NONE}, from, to, 5, five};
}

static struct signal_score_pattern pat(int signal, uint32_t theme, uint32_t theme2, int32_t from, int32_t to,
                                       const uint32_t *places, size_t n) {
  return (struct signal_score_pattern){signal, theme, theme2, from, to, n, places};
}

static void test_needed_is_80_percent_rounded_up(void **state) {
  (void)state;
  static const size_t n[] = {0, 1, 2, 3, 4, 5, 8, 10, 20, 60, 201};
  static const size_t want[] = {0, 1, 2, 3, 4, 4, 7, 8, 16, 48, 161};
  for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) assert_int_equal(signal_score_needed(n[i]), want[i]);
}

static void test_on_plant_needs_signal_theme_and_overlapping_weeks(void **state) {
  (void)state;
  struct signal_score_plant pl = plant1(EMERGING, 7, 100, 102);
  struct signal_score_pattern p = pat(EMERGING, 7, NONE, 101, 101, five, 5);
  assert_true(signal_score_on_plant(&pl, &p));
  p.signal = RISING; /* another signal on the same theme: false */
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(EMERGING, 8, NONE, 101, 101, five, 5); /* another theme */
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(EMERGING, 7, 9, 101, 101, five, 5); /* a pair is never on a one-theme plant */
  assert_false(signal_score_on_plant(&pl, &p));
  /* Weeks: touching either end overlaps; wholly before or after does not. */
  p = pat(EMERGING, 7, NONE, 90, 99, five, 5);
  assert_false(signal_score_on_plant(&pl, &p));
  p.week_to = 100;
  assert_true(signal_score_on_plant(&pl, &p));
  p = pat(EMERGING, 7, NONE, 102, 110, five, 5);
  assert_true(signal_score_on_plant(&pl, &p));
  p.week_from = 103;
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(EMERGING, 7, NONE, 90, 120, five, 5); /* around it */
  assert_true(signal_score_on_plant(&pl, &p));
  /* Places do not decide whether it is on the plant, only coverage. */
  p = pat(EMERGING, 7, NONE, 101, 101, NULL, 0);
  assert_true(signal_score_on_plant(&pl, &p));
}

static void test_together_is_an_unordered_pair(void **state) {
  (void)state;
  struct signal_score_plant pl = {TOGETHER, 2, {3, 11}, 50, 103, 5, five};
  struct signal_score_pattern p = pat(TOGETHER, 3, 11, 48, 55, five, 5);
  assert_true(signal_score_on_plant(&pl, &p));
  p = pat(TOGETHER, 11, 3, 48, 55, five, 5);
  assert_true(signal_score_on_plant(&pl, &p));
  p = pat(TOGETHER, 3, 12, 48, 55, five, 5); /* one of the two only */
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(TOGETHER, 11, 11, 48, 55, five, 5);
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(TOGETHER, 3, NONE, 48, 55, five, 5);
  assert_false(signal_score_on_plant(&pl, &p));
  p = pat(SPREAD, 3, NONE, 48, 55, five, 5); /* a theme of the pair, another signal */
  assert_false(signal_score_on_plant(&pl, &p));
}

static void test_covered_counts_plant_places_in_the_pattern(void **state) {
  (void)state;
  struct signal_score_plant pl = plant1(SPREAD, 1, 0, 10);
  static const uint32_t some[] = {0, 2, 3, 6, 9, 10, 11};
  static const uint32_t none[] = {1, 3, 5, 7, 9, 11};
  static const uint32_t last[] = {10};
  struct signal_score_pattern p = pat(SPREAD, 1, NONE, 0, 7, some, 7);
  assert_int_equal(signal_score_covered(&pl, &p), 3);
  p.places = none, p.n_places = 6;
  assert_int_equal(signal_score_covered(&pl, &p), 0);
  p.places = five, p.n_places = 5;
  assert_int_equal(signal_score_covered(&pl, &p), 5);
  p.places = last, p.n_places = 1;
  assert_int_equal(signal_score_covered(&pl, &p), 1);
  p.places = NULL, p.n_places = 0;
  assert_int_equal(signal_score_covered(&pl, &p), 0);
}

static void test_which_plant_or_false(void **state) {
  (void)state;
  struct signal_score_plant plants[] = {plant1(EMERGING, 7, 100, 102), plant1(RISING, 7, 60, 103),
                                        {TOGETHER, 2, {3, 11}, 50, 103, 5, five}};
  struct signal_score_pattern p = pat(RISING, 7, NONE, 58, 80, five, 5);
  assert_int_equal(signal_score_which(plants, 3, &p), 1);
  p = pat(EMERGING, 7, NONE, 101, 101, five, 5);
  assert_int_equal(signal_score_which(plants, 3, &p), 0);
  p = pat(EMERGING, 7, NONE, 95, 95, five, 5); /* before the jump: false */
  assert_int_equal(signal_score_which(plants, 3, &p), -1);
  p = pat(TOGETHER, 11, 3, 96, 103, five, 5);
  assert_int_equal(signal_score_which(plants, 3, &p), 2);
  p = pat(CROSS, 7, NONE, 96, 103, five, 5);
  assert_int_equal(signal_score_which(plants, 3, &p), -1);
  assert_int_equal(signal_score_which(NULL, 0, &p), -1); /* the null world: all false */
}

static void test_track_finds_at_first_week_with_80_percent(void **state) {
  (void)state;
  struct signal_score_plant pl = plant1(SPREAD, 5, 100, 130); /* 5 places: 4 needed */
  static const uint32_t three[] = {2, 4, 6}, four[] = {1, 2, 4, 6, 8}, all[] = {2, 4, 6, 8, 10, 12};
  struct signal_score_track t;
  signal_score_track_init(&t);
  assert_false(t.found);
  assert_int_equal(t.best_covered, 0);

  struct signal_score_pattern other = pat(SPREAD, 6, NONE, 96, 103, all, 6); /* not on it: ignored */
  signal_score_see(&t, &pl, &other, 100);
  assert_false(t.found);
  assert_int_equal(t.best_covered, 0);

  struct signal_score_pattern p = pat(SPREAD, 5, NONE, 96, 103, three, 3);
  signal_score_see(&t, &pl, &p, 100);
  assert_false(t.found);
  assert_int_equal(t.best_covered, 3);

  p.places = four, p.n_places = 5; /* 4 of its 5 (place 1 is not the plant's) */
  signal_score_see(&t, &pl, &p, 101);
  assert_true(t.found);
  assert_int_equal(t.found_week, 101);
  assert_int_equal(signal_score_delay(&t, &pl), 1);
  assert_true(signal_score_within(&t, &pl, 2));
  assert_true(signal_score_within(&t, &pl, 1));
  assert_false(signal_score_within(&t, &pl, 0));

  p.places = all, p.n_places = 6; /* later and better: best grows, the week stays */
  signal_score_see(&t, &pl, &p, 103);
  assert_int_equal(t.found_week, 101);
  assert_int_equal(t.best_covered, 5);

  p.places = three, p.n_places = 3; /* coverage falling later changes nothing */
  signal_score_see(&t, &pl, &p, 104);
  assert_true(t.found);
  assert_int_equal(t.best_covered, 5);
}

static void test_track_late_and_early(void **state) {
  (void)state;
  struct signal_score_plant pl = plant1(RISING, 5, 100, 130);
  struct signal_score_pattern p = pat(RISING, 5, NONE, 98, 120, five, 5);
  struct signal_score_track t;
  signal_score_track_init(&t);
  signal_score_see(&t, &pl, &p, 103); /* 3 weeks after onset: found, not within 2 */
  assert_true(t.found);
  assert_int_equal(signal_score_delay(&t, &pl), 3);
  assert_false(signal_score_within(&t, &pl, 2));
  assert_true(signal_score_within(&t, &pl, 3));

  signal_score_track_init(&t); /* a pattern reaching into the onset seen before it: negative delay */
  p = pat(RISING, 5, NONE, 90, 100, five, 5);
  signal_score_see(&t, &pl, &p, 99);
  assert_true(t.found);
  assert_int_equal(signal_score_delay(&t, &pl), -1);
  assert_true(signal_score_within(&t, &pl, 2));

  /* Never found: not within any delay; a plant without places is never found. */
  signal_score_track_init(&t);
  assert_false(signal_score_within(&t, &pl, 1000));
  struct signal_score_plant empty = {RISING, 1, {5, NONE}, 100, 130, 0, NULL};
  signal_score_see(&t, &empty, &p, 100);
  assert_false(t.found);
}

static void test_about_plant_is_any_signal_on_its_themes(void **state) {
  (void)state;
  struct signal_score_plant pl = plant1(EMERGING, 7, 100, 102);
  struct signal_score_pattern p = pat(SPREAD, 7, NONE, 100, 100, five, 5);
  assert_false(signal_score_on_plant(&pl, &p));
  assert_true(signal_score_about_plant(&pl, &p)); /* another signal, the same theme */
  p = pat(SPREAD, 8, NONE, 100, 100, five, 5);   /* another theme */
  assert_false(signal_score_about_plant(&pl, &p));
  p = pat(TOGETHER, 7, 9, 100, 100, five, 5);    /* a pair: never about a one-theme plant */
  assert_false(signal_score_about_plant(&pl, &p));
  p = pat(SPREAD, 7, NONE, 90, 99, five, 5);     /* wholly before it */
  assert_false(signal_score_about_plant(&pl, &p));
  /* A together plant: only its pair, whatever the signal says. */
  struct signal_score_plant tg = {TOGETHER, 2, {3, 11}, 50, 103, 5, five};
  p = pat(SPREAD, 3, NONE, 48, 55, five, 5);
  assert_false(signal_score_about_plant(&tg, &p));
  p = pat(TOGETHER, 11, 3, 48, 55, five, 5);
  assert_true(signal_score_about_plant(&tg, &p));

  /* Found by any signal: a spread pattern covering 4 of its 5 places in the
   * onset week; signal_score_see (its own signal) ignores it. */
  struct signal_score_track strict, any;
  signal_score_track_init(&strict);
  signal_score_track_init(&any);
  static const uint32_t four[] = {2, 4, 6, 8};
  p = pat(SPREAD, 7, NONE, 100, 100, four, 4);
  signal_score_see(&strict, &pl, &p, 100);
  signal_score_see_any(&any, &pl, &p, 100);
  assert_false(strict.found);
  assert_int_equal(strict.best_covered, 0);
  assert_true(any.found);
  assert_int_equal(signal_score_delay(&any, &pl), 0);
  /* ...and the pattern of its own signal counts for both. */
  p = pat(EMERGING, 7, NONE, 101, 101, five, 5);
  signal_score_see(&strict, &pl, &p, 101);
  signal_score_see_any(&any, &pl, &p, 101);
  assert_true(strict.found);
  assert_int_equal(signal_score_delay(&strict, &pl), 1);
  assert_int_equal(any.found_week, 100);
  assert_int_equal(any.best_covered, 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_needed_is_80_percent_rounded_up),
      cmocka_unit_test(test_on_plant_needs_signal_theme_and_overlapping_weeks),
      cmocka_unit_test(test_together_is_an_unordered_pair),
      cmocka_unit_test(test_covered_counts_plant_places_in_the_pattern),
      cmocka_unit_test(test_which_plant_or_false),
      cmocka_unit_test(test_track_finds_at_first_week_with_80_percent),
      cmocka_unit_test(test_track_late_and_early),
      cmocka_unit_test(test_about_plant_is_any_signal_on_its_themes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
