/* Unit tests for protocol/date.c: calendar dates, ISO weeks, timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "date.h"

static int parse(const char *s, hls_day *out) { return hls_date_parse(s, strlen(s), out); }

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return mdays[m - 1] + (m == 2 && is_leap(y));
}

/* --- parsing ------------------------------------------------------------- */

static void test_parse_known_days(void **state) {
  (void)state;
  hls_day d = 0;
  assert_int_equal(parse("1970-01-01", &d), 0);
  assert_int_equal(d, 0);
  assert_int_equal(parse("1970-01-02", &d), 0);
  assert_int_equal(d, 1);
  assert_int_equal(parse("1969-12-31", &d), 0);
  assert_int_equal(d, -1);
  assert_int_equal(parse("2000-03-01", &d), 0);
  assert_int_equal(d, 11017);
  assert_int_equal(parse("1900-01-01", &d), 0);
  assert_int_equal(d, -25567);
  assert_int_equal(parse("9999-12-31", &d), 0);
  assert_int_equal(d, 2932896);
  assert_int_equal(parse("2026-01-01", &d), 0);
  assert_int_equal(d, 20454);
}

/* Durations of hls invite create --expires and hls network rotate
 * --overlap: N (1 to 999,999) and one unit letter, nothing else. */
static void test_duration_parse(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t ms;
  } good[] = {{"1m", 60000}, {"30m", 1800000}, {"12h", 43200000}, {"14d", 1209600000}, {"2w", 1209600000},
              {"999999m", 999999LL * 60000}, {"007d", 7 * 86400000LL}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int64_t ms = -1;
    assert_int_equal(hls_duration_parse(good[i].text, strlen(good[i].text), &ms), 0);
    assert_int_equal(ms, good[i].ms);
  }
  static const char *const bad[] = {"", "0", "0d", "d", "14", "14x", "14 d", "-1d", "1.5h", "1000000m", "14dd", "1D"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t ms = 42;
    assert_int_equal(hls_duration_parse(bad[i], strlen(bad[i]), &ms), HLS_EINVAL);
    assert_int_equal(ms, 42);
  }
  int64_t ms = 42;
  assert_int_equal(hls_duration_parse("12h", 2, &ms), HLS_EINVAL); /* only len bytes are read */
  assert_int_equal(hls_duration_parse(NULL, 0, &ms), HLS_EINVAL);
}

static void test_parse_leap_years(void **state) {
  (void)state;
  hls_day d;
  assert_int_equal(parse("2024-02-29", &d), 0);
  assert_int_equal(parse("2000-02-29", &d), 0); /* divisible by 400 */
  assert_int_equal(parse("1904-02-29", &d), 0);
  assert_int_equal(parse("1900-02-29", &d), HLS_EINVAL); /* divisible by 100 */
  assert_int_equal(parse("2100-02-29", &d), HLS_EINVAL);
  assert_int_equal(parse("2026-02-29", &d), HLS_EINVAL);
  assert_int_equal(parse("2024-02-30", &d), HLS_EINVAL);
  assert_int_equal(parse("2026-02-28", &d), 0);
}

static void test_parse_month_lengths(void **state) {
  (void)state;
  for (int m = 1; m <= 12; m++) {
    char s[48];
    hls_day d;
    int last = days_in_month(2026, m);
    snprintf(s, sizeof s, "2026-%02d-%02d", m, last);
    assert_int_equal(parse(s, &d), 0);
    snprintf(s, sizeof s, "2026-%02d-%02d", m, last + 1);
    assert_int_equal(parse(s, &d), HLS_EINVAL);
    snprintf(s, sizeof s, "2026-%02d-00", m);
    assert_int_equal(parse(s, &d), HLS_EINVAL);
  }
}

static void test_parse_rejects_other_shapes(void **state) {
  (void)state;
  const char *bad[] = {
      "",           "2026",        "2026-01",     "2026-1-01",   "2026-01-1",   "26-01-01",
      "2026/01/01", "20260101",    "2026-01-01 ", " 2026-01-01", " 2026-01-1",  "2026-01-01T00:00",
      "2026-13-01", "2026-00-10",  "2026-01-32",  "2026-04-31",  "1899-12-31",  "0000-01-01",
      "10000-01-01", "+026-01-01", "-026-01-01",  "2026-+1-01",  "2026-0a-01",  "2026-01-0x",
      "2026_01_01", "2026-01--1",  "YYYY-MM-DD",  "２０２６-01-01",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hls_day d = 12345;
    if (parse(bad[i], &d) != HLS_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
  }
  hls_day d;
  assert_int_equal(hls_date_parse(NULL, 10, &d), HLS_EINVAL);
  assert_int_equal(hls_date_parse("2026-01\0-1", 10, &d), HLS_EINVAL);
  /* Only len bytes are read. */
  assert_int_equal(hls_date_parse("2026-01-01xyz", 10, &d), 0);
  assert_int_equal(d, 20454);
  assert_int_equal(hls_date_parse("2026-01-01", 9, &d), HLS_EINVAL);
}

/* --- day <-> ymd --------------------------------------------------------- */

static void test_every_accepted_day_round_trips(void **state) {
  (void)state;
  /* Walk the whole accepted range with an independent calendar. */
  int y = 1900, m = 1, d = 1;
  hls_day day = hls_date_from_ymd(1900, 1, 1);
  assert_int_equal(day, -25567);
  for (;;) {
    int yy, mm, dd;
    hls_date_to_ymd(day, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) fail_msg("day %d: got %d-%d-%d, want %d-%d-%d", day, yy, mm, dd, y, m, d);
    assert_int_equal(hls_date_from_ymd(y, m, d), day);
    char want[48], got[11];
    snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
    hls_date_format(day, got);
    assert_string_equal(got, want);
    hls_day parsed;
    assert_int_equal(hls_date_parse(want, 10, &parsed), 0);
    assert_int_equal(parsed, day);
    if (y == 9999 && m == 12 && d == 31) break;
    day++;
    if (++d > days_in_month(y, m)) {
      d = 1;
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
  }
  assert_int_equal(day, 2932896);
}

static void test_ymd_round_trip_far_outside_range(void **state) {
  (void)state;
  /* The conversions themselves hold well beyond the years we accept
   * (about year -800 to +12900). */
  for (hls_day day = -1000000; day <= 4000000; day++) {
    int y, m, d;
    hls_date_to_ymd(day, &y, &m, &d);
    if (m < 1 || m > 12 || d < 1 || d > 31) fail_msg("day %d: %d-%d-%d", day, y, m, d);
    if (hls_date_from_ymd(y, m, d) != day) fail_msg("day %d did not round trip", day);
  }
}

/* --- ISO weeks ----------------------------------------------------------- */

static void expect_week(const char *date, int want_year, int want_week) {
  hls_day d;
  int y = 0, w = 0;
  assert_int_equal(parse(date, &d), 0);
  hls_iso_week(d, &y, &w);
  if (y != want_year || w != want_week) fail_msg("%s: got %d-W%02d, want %d-W%02d", date, y, w, want_year, want_week);
}

static void test_iso_week_known_answers(void **state) {
  (void)state;
  expect_week("2026-01-01", 2026, 1);
  expect_week("2027-01-01", 2026, 53);
  expect_week("2021-01-03", 2020, 53);
  expect_week("2024-12-30", 2025, 1);
  expect_week("2020-12-31", 2020, 53);
  expect_week("2015-12-31", 2015, 53);
  expect_week("2008-12-29", 2009, 1);
  expect_week("2010-01-03", 2009, 53);
  expect_week("2010-01-04", 2010, 1);
  expect_week("1900-01-01", 1900, 1);
  expect_week("9999-12-31", 9999, 52);
  expect_week("2026-02-16", 2026, 8);
  expect_week("2026-02-15", 2026, 7);
  expect_week("1969-12-31", 1970, 1);
  expect_week("1970-01-04", 1970, 1);
}

static void test_iso_week_monday_known_answers(void **state) {
  (void)state;
  hls_day d;
  char s[11];
  assert_int_equal(hls_iso_week_monday(2026, 1, &d), 0);
  hls_date_format(d, s);
  assert_string_equal(s, "2025-12-29");
  assert_int_equal(hls_iso_week_monday(2026, 53, &d), 0);
  hls_date_format(d, s);
  assert_string_equal(s, "2026-12-28");
  assert_int_equal(hls_iso_week_monday(2020, 53, &d), 0);
  hls_date_format(d, s);
  assert_string_equal(s, "2020-12-28");
  assert_int_equal(hls_iso_week_monday(1900, 1, &d), 0);
  assert_int_equal(d, -25567);
  assert_int_equal(hls_iso_week_monday(9999, 52, &d), 0);
  hls_date_format(d, s);
  assert_string_equal(s, "9999-12-27");
}

static void test_iso_week_monday_refuses_missing_weeks(void **state) {
  (void)state;
  hls_day d = 777;
  /* Week 53 exists only in long years. */
  for (int y = 2015; y <= 2034; y++) {
    bool long_year = y == 2015 || y == 2020 || y == 2026 || y == 2032;
    assert_int_equal(hls_iso_week_monday(y, 53, &d), long_year ? 0 : HLS_EINVAL);
    assert_int_equal(hls_iso_week_monday(y, 52, &d), 0);
  }
  d = 777;
  assert_int_equal(hls_iso_week_monday(2025, 53, &d), HLS_EINVAL);
  assert_int_equal(d, 777);
  assert_int_equal(hls_iso_week_monday(9999, 53, &d), HLS_EINVAL);
  assert_int_equal(hls_iso_week_monday(2026, 0, &d), HLS_EINVAL);
  assert_int_equal(hls_iso_week_monday(2026, -1, &d), HLS_EINVAL);
  assert_int_equal(hls_iso_week_monday(2026, 54, &d), HLS_EINVAL);
  assert_int_equal(hls_iso_week_monday(1899, 10, &d), HLS_EINVAL);
  assert_int_equal(hls_iso_week_monday(10000, 1, &d), HLS_EINVAL);
  assert_int_equal(d, 777);
}

static void test_iso_week_consistency(void **state) {
  (void)state;
  /* For every day 1901..9998: its week's Monday is a Monday no later than
   * it and within six days, weeks advance by one on Mondays, and
   * hls_iso_week_monday inverts hls_iso_week. */
  hls_day first = hls_date_from_ymd(1901, 1, 1), last = hls_date_from_ymd(9998, 12, 31);
  int prev_y = 0, prev_w = 0;
  hls_iso_week(first - 1, &prev_y, &prev_w);
  for (hls_day day = first; day <= last; day++) {
    int y, w;
    hls_iso_week(day, &y, &w);
    assert_true(w >= 1 && w <= 53);
    bool monday = ((day % 7) + 7 + 3) % 7 == 0; /* 1970-01-01 was a Thursday */
    if (monday) {
      bool next = (y == prev_y && w == prev_w + 1) || (y == prev_y + 1 && w == 1);
      if (!next) fail_msg("day %d: %d-W%02d after %d-W%02d", day, y, w, prev_y, prev_w);
      hls_day m;
      assert_int_equal(hls_iso_week_monday(y, w, &m), 0);
      assert_int_equal(m, day);
    } else {
      assert_int_equal(y, prev_y);
      assert_int_equal(w, prev_w);
    }
    prev_y = y;
    prev_w = w;
  }
}

static void test_iso_week_format(void **state) {
  (void)state;
  char s[9];
  hls_iso_week_format(2026, 7, s);
  assert_string_equal(s, "2026-W07");
  hls_iso_week_format(2026, 53, s);
  assert_string_equal(s, "2026-W53");
  hls_iso_week_format(1900, 1, s);
  assert_string_equal(s, "1900-W01");
}

/* --- timestamps ---------------------------------------------------------- */

static void expect_time(int64_t ms, const char *want) {
  char out[21];
  memset(out, 'x', sizeof out);
  hls_time_format(ms, out);
  assert_string_equal(out, want);
}

static void test_time_format(void **state) {
  (void)state;
  expect_time(0, "1970-01-01T00:00:00Z");
  expect_time(999, "1970-01-01T00:00:00Z");
  expect_time(1000, "1970-01-01T00:00:01Z");
  expect_time(1795253400000, "2026-11-21T09:30:00Z");
  expect_time(1795253400999, "2026-11-21T09:30:00Z");
  expect_time(951782400000, "2000-02-29T00:00:00Z");
  expect_time(951868799000, "2000-02-29T23:59:59Z");
  /* Before the epoch: seconds round down, not toward zero. */
  expect_time(-1, "1969-12-31T23:59:59Z");
  expect_time(-1000, "1969-12-31T23:59:59Z");
  expect_time(-1001, "1969-12-31T23:59:58Z");
  expect_time(-86400000, "1969-12-31T00:00:00Z");
  expect_time(-86400001, "1969-12-30T23:59:59Z");
  expect_time(-2208988800000, "1900-01-01T00:00:00Z");
  expect_time(253402300799000, "9999-12-31T23:59:59Z");
}

static void expect_parse_time(const char *text, int64_t want) {
  int64_t ms = 42;
  assert_int_equal(hls_time_parse(text, strlen(text), &ms), 0);
  assert_true(ms == want);
  char back[21];
  hls_time_format(ms, back);
  assert_string_equal(back, text);
}

static void test_time_parse(void **state) {
  (void)state;
  expect_parse_time("1970-01-01T00:00:00Z", 0);
  expect_parse_time("2026-11-21T09:30:00Z", 1795253400000);
  expect_parse_time("2000-02-29T23:59:59Z", 951868799000);
  expect_parse_time("1969-12-31T23:59:59Z", -1000);
  expect_parse_time("1900-01-01T00:00:00Z", -2208988800000);
  expect_parse_time("9999-12-31T23:59:59Z", 253402300799000);
  static const char *const bad[] = {
      "", "2026-11-21", "2026-11-21T09:30:00", "2026-11-21T09:30:00+00:00", "2026-11-21 09:30:00Z",
      "2026-11-21t09:30:00Z", "2026-11-21T24:00:00Z", "2026-11-21T09:60:00Z", "2026-11-21T09:30:60Z",
      "2026-02-29T09:30:00Z", "1899-12-31T23:59:59Z", "2026-11-21T9:30:00Z ", "2026-11-21T09:3a:00Z",
      "2026-11-21T09:30:00z",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t ms = 42;
    assert_int_equal(hls_time_parse(bad[i], strlen(bad[i]), &ms), HLS_EINVAL);
    assert_true(ms == 42);
  }
  int64_t ms;
  assert_int_equal(hls_time_parse(NULL, 0, &ms), HLS_EINVAL);
}

/* --- retention periods --------------------------------------------------------- */

static int period(const char *s, struct hls_period *p) { return hls_period_parse(s, strlen(s), p); }

static void test_period_parse(void **state) {
  (void)state;
  struct hls_period p;
  char text[HLS_PERIOD_TEXT_MAX];
  const char *good[] = {"6y", "18m", "90d", "1d", "200y", "2400m", "73200d", "keep"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(period(good[i], &p), 0);
    hls_period_format(&p, text);
    assert_string_equal(text, good[i]); /* reads back as written */
  }
  assert_int_equal(period("", &p), 0);
  assert_int_equal(p.unit, HLS_PERIOD_KEEP);
  const char *bad[] = {"0d", "6", "y", "6w", "6Y", "-1y", "06y", " 6y", "6y ", "6 y", "201y", "2401m",
                       "73201d", "9999999999y", "keeps", "1.5y", "6yy"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(period(bad[i], &p), HLS_EINVAL);
  assert_int_equal(hls_period_parse(NULL, 0, &p), HLS_EINVAL);
}

static void test_period_add(void **state) {
  (void)state;
  struct hls_period p;
  hls_day d, want;
  char text[11];
  struct {
    const char *from, *period, *to;
  } cases[] = {
      {"2020-03-02", "6y", "2026-03-02"}, {"2024-02-29", "1y", "2025-02-28"}, {"2024-02-29", "4y", "2028-02-29"},
      {"2024-01-31", "1m", "2024-02-29"}, {"2023-01-31", "1m", "2023-02-28"}, {"2024-11-30", "18m", "2026-05-30"},
      {"2026-01-01", "90d", "2026-04-01"}, {"2025-12-31", "1d", "2026-01-01"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(parse(cases[i].from, &d), 0);
    assert_int_equal(period(cases[i].period, &p), 0);
    hls_date_format(hls_period_add(d, &p), text);
    assert_string_equal(text, cases[i].to);
  }
  assert_int_equal(period("keep", &p), 0);
  assert_int_equal(hls_period_add(d, &p), d);
  assert_false(hls_period_cutoff(d, &p, &want));
}

/* The cutoff is exactly the last day whose period has ended before the
 * given day, for every day of four years and every kind of period. */
static void test_period_cutoff(void **state) {
  (void)state;
  const char *periods[] = {"1d", "90d", "1m", "18m", "1y", "6y"};
  hls_day start;
  assert_int_equal(parse("2023-01-01", &start), 0);
  for (size_t k = 0; k < sizeof periods / sizeof periods[0]; k++) {
    struct hls_period p;
    assert_int_equal(period(periods[k], &p), 0);
    for (hls_day before = start; before < start + 4 * 366; before++) {
      hls_day cut;
      assert_true(hls_period_cutoff(before, &p, &cut));
      assert_true(hls_period_add(cut, &p) < before);
      assert_true(hls_period_add(cut + 1, &p) >= before);
    }
  }
}

/* What hls_date_parse_why says is wrong: the form, the year, or the day. */
static void test_parse_why(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  hls_day d;
  assert_int_equal(hls_date_parse_why("2024-02-29", 10, "since", &d, &why), 0);
  assert_int_equal(d, hls_date_from_ymd(2024, 2, 29));
  static const struct {
    const char *in, *said;
  } bad[] = {
      {"2026-02-29", "since: 2026-02-29 is not a day of the calendar"},
      {"2026-13-01", "since: 2026-13-01 is not a day of the calendar"},
      {"2026-04-31", "since: 2026-04-31 is not a day of the calendar"},
      {"2026-00-10", "since: 2026-00-10 is not a day of the calendar"},
      {"1899-12-31", "since: years 1900 to 9999 only"},
      {"2026-1-1", "since: expected a date YYYY-MM-DD"},
      {"2026/01/01", "since: expected a date YYYY-MM-DD"},
      {"20x6-01-01", "since: expected a date YYYY-MM-DD"},
      {"", "since: expected a date YYYY-MM-DD"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(hls_date_parse_why(bad[i].in, strlen(bad[i].in), "since", &d, &why), HLS_EINVAL);
    assert_string_equal(why.text, bad[i].said);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_known_days),
      cmocka_unit_test(test_parse_leap_years),
      cmocka_unit_test(test_duration_parse),
      cmocka_unit_test(test_parse_why),
      cmocka_unit_test(test_parse_month_lengths),
      cmocka_unit_test(test_parse_rejects_other_shapes),
      cmocka_unit_test(test_every_accepted_day_round_trips),
      cmocka_unit_test(test_ymd_round_trip_far_outside_range),
      cmocka_unit_test(test_iso_week_known_answers),
      cmocka_unit_test(test_iso_week_monday_known_answers),
      cmocka_unit_test(test_iso_week_monday_refuses_missing_weeks),
      cmocka_unit_test(test_iso_week_consistency),
      cmocka_unit_test(test_iso_week_format),
      cmocka_unit_test(test_time_format),
      cmocka_unit_test(test_time_parse),
      cmocka_unit_test(test_period_parse),
      cmocka_unit_test(test_period_add),
      cmocka_unit_test(test_period_cutoff),
  };
  return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
