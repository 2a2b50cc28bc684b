/* Unit tests for protocol/disclosure.c: statistical disclosure control of
 * digest counts (withholding small person-scale counts, rounding the
 * rest) and the rounding helper. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "disclosure.h"

static const struct hls_digest_method default_method = {HLS_DISCLOSURE_DEFAULT_THRESHOLD,
                                                        HLS_DISCLOSURE_DEFAULT_ROUNDING};

/* Disclose raw at scale and check the published form. */
static void expect_published(const struct hls_digest_method *m, int scale, uint32_t raw, uint32_t want) {
  bool withheld = true;
  uint32_t published = 12345;
  hls_disclose(m, scale, raw, &withheld, &published);
  if (withheld || published != want)
    fail_msg("scale %d raw %u: got %s %u, want %u", scale, raw, withheld ? "withheld" : "published", published,
             want);
}

static void expect_withheld(const struct hls_digest_method *m, int scale, uint32_t raw) {
  bool withheld = false;
  uint32_t published = 12345;
  hls_disclose(m, scale, raw, &withheld, &published);
  if (!withheld) fail_msg("scale %d raw %u: published %u, want withheld", scale, raw, published);
  assert_int_equal(published, 0); /* no trace of the raw count */
}

static void test_defaults_are_ten_and_five(void **state) {
  (void)state;
  assert_int_equal(HLS_DISCLOSURE_DEFAULT_THRESHOLD, 10);
  assert_int_equal(HLS_DISCLOSURE_DEFAULT_ROUNDING, 5);
}

static void test_person_scale_withholds_below_threshold(void **state) {
  (void)state;
  for (uint32_t raw = 0; raw < 10; raw++) expect_withheld(&default_method, HLS_SCALE_PERSON, raw);
  expect_withheld(&default_method, HLS_SCALE_PERSON, 9);
}

static void test_person_scale_rounds_to_nearest_five(void **state) {
  (void)state;
  expect_published(&default_method, HLS_SCALE_PERSON, 10, 10);
  expect_published(&default_method, HLS_SCALE_PERSON, 11, 10);
  expect_published(&default_method, HLS_SCALE_PERSON, 12, 10);
  expect_published(&default_method, HLS_SCALE_PERSON, 13, 15); /* 12.5 is the half: 13 is above it */
  expect_published(&default_method, HLS_SCALE_PERSON, 15, 15);
  expect_published(&default_method, HLS_SCALE_PERSON, 17, 15);
  expect_published(&default_method, HLS_SCALE_PERSON, 18, 20);
  expect_published(&default_method, HLS_SCALE_PERSON, 1000002, 1000000);
}

/* Organisation, place and country counts describe services, not people:
 * exact, however small. */
static void test_other_scales_are_exact(void **state) {
  (void)state;
  const int scales[] = {HLS_SCALE_ORGANISATION, HLS_SCALE_PLACE, HLS_SCALE_COUNTRY};
  for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
    expect_published(&default_method, scales[i], 0, 0);
    expect_published(&default_method, scales[i], 1, 1);
    expect_published(&default_method, scales[i], 3, 3);
    expect_published(&default_method, scales[i], 9, 9);
    expect_published(&default_method, scales[i], 12, 12);
    expect_published(&default_method, scales[i], 13, 13);
    expect_published(&default_method, scales[i], UINT32_MAX, UINT32_MAX);
  }
}

static void test_other_methods(void **state) {
  (void)state;
  /* Threshold 0 withholds nothing; rounding 1 keeps counts exact. */
  const struct hls_digest_method none = {0, 1};
  expect_published(&none, HLS_SCALE_PERSON, 0, 0);
  expect_published(&none, HLS_SCALE_PERSON, 1, 1);
  expect_published(&none, HLS_SCALE_PERSON, 7, 7);
  const struct hls_digest_method strict = {20, 10};
  expect_withheld(&strict, HLS_SCALE_PERSON, 19);
  expect_published(&strict, HLS_SCALE_PERSON, 20, 20);
  expect_published(&strict, HLS_SCALE_PERSON, 24, 20);
  expect_published(&strict, HLS_SCALE_PERSON, 25, 30);
  expect_published(&strict, HLS_SCALE_PLACE, 19, 19);
  const struct hls_digest_method coarse = {3, 10};
  expect_withheld(&coarse, HLS_SCALE_PERSON, 2);
  expect_published(&coarse, HLS_SCALE_PERSON, 5, 10);
}

static void test_round_to(void **state) {
  (void)state;
  /* Base 0 and 1 leave n alone. */
  assert_int_equal(hls_round_to(0, 0), 0);
  assert_int_equal(hls_round_to(7, 0), 7);
  assert_int_equal(hls_round_to(7, 1), 7);
  assert_int_equal(hls_round_to(UINT32_MAX, 1), UINT32_MAX);
  /* Halves round up; below half rounds down. */
  assert_int_equal(hls_round_to(0, 5), 0);
  assert_int_equal(hls_round_to(2, 5), 0);
  assert_int_equal(hls_round_to(3, 5), 5);
  assert_int_equal(hls_round_to(4, 10), 0);
  assert_int_equal(hls_round_to(5, 10), 10);
  assert_int_equal(hls_round_to(14, 10), 10);
  assert_int_equal(hls_round_to(15, 10), 20);
  assert_int_equal(hls_round_to(1, 2), 2);
  assert_int_equal(hls_round_to(3, 2), 4);
  assert_int_equal(hls_round_to(20, 5), 20);
  assert_int_equal(hls_round_to(100, 100), 100);
  assert_int_equal(hls_round_to(149, 100), 100);
  assert_int_equal(hls_round_to(150, 100), 200);
}

/* Near UINT32_MAX the nearest multiple may not fit in 32 bits: the result
 * is the largest multiple that does, never a wrapped small number. */
static void test_round_to_does_not_overflow(void **state) {
  (void)state;
  const uint32_t bases[] = {2, 3, 5, 7, 10, 1000, 65536, 0x80000000u, UINT32_MAX - 1, UINT32_MAX};
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    uint32_t base = bases[i];
    uint32_t largest = UINT32_MAX / base * base;
    for (uint32_t n = UINT32_MAX; n >= UINT32_MAX - 10; n--) {
      uint32_t r = hls_round_to(n, base);
      assert_int_equal(r % base, 0);
      /* The true nearest multiple, or the largest that fits. */
      uint64_t want = ((uint64_t)n + base / 2) / base * base;
      if (want > UINT32_MAX) want = largest;
      assert_int_equal(r, (uint32_t)want);
    }
  }
  assert_int_equal(hls_round_to(UINT32_MAX, 5), UINT32_MAX / 5 * 5);
  assert_int_equal(hls_round_to(UINT32_MAX, 2), UINT32_MAX - 1);
  assert_int_equal(hls_round_to(UINT32_MAX, UINT32_MAX), UINT32_MAX);
  assert_int_equal(hls_round_to(UINT32_MAX - 1, UINT32_MAX), UINT32_MAX);
  assert_int_equal(hls_round_to(0x7fffffffu, UINT32_MAX), 0);
  assert_int_equal(hls_round_to(0x80000000u, UINT32_MAX), UINT32_MAX);
  /* Person-scale counts near the top go through the same path. */
  expect_published(&default_method, HLS_SCALE_PERSON, UINT32_MAX, UINT32_MAX / 5 * 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_are_ten_and_five),
      cmocka_unit_test(test_person_scale_withholds_below_threshold),
      cmocka_unit_test(test_person_scale_rounds_to_nearest_five),
      cmocka_unit_test(test_other_scales_are_exact),
      cmocka_unit_test(test_other_methods),
      cmocka_unit_test(test_round_to),
      cmocka_unit_test(test_round_to_does_not_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
