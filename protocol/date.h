/* Calendar dates (proleptic Gregorian, no time zone) and ISO 8601 weeks.
 * Pure arithmetic: the caller supplies "today". */
#ifndef HLS_DATE_H
#define HLS_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HLS_DATE_MIN_YEAR 1900
#define HLS_DATE_MAX_YEAR 9999

/* Days since 1970-01-01 (negative before). */
typedef int32_t hls_day;

/* Parse exactly "YYYY-MM-DD" (a real calendar date, years 1900..9999). */
int hls_date_parse(const char *s, size_t len, hls_day *out) HLS_WARN_UNUSED;
/* hls_date_parse, with a message naming key that says what is wrong: not
 * YYYY-MM-DD, a year out of range, or no such day (2026-02-30). */
int hls_date_parse_why(const char *s, size_t len, const char *key, hls_day *out, struct hls_why *why) HLS_WARN_UNUSED;
/* A duration: N (1 to 999,999) followed by m, h, d or w, into ms; 0 or
 * HLS_EINVAL. */
int hls_duration_parse(const char *s, size_t len, int64_t *ms) HLS_WARN_UNUSED;
/* Format as "YYYY-MM-DD" into out[11]. */
void hls_date_format(hls_day day, char out[11]);
hls_day hls_date_from_ymd(int year, int month, int mday);
void hls_date_to_ymd(hls_day day, int *year, int *month, int *mday);

/* ISO 8601 week: weeks start on Monday; week 1 holds the year's first
 * Thursday. */
void hls_iso_week(hls_day day, int *iso_year, int *iso_week);
/* The Monday of an ISO week, or HLS_EINVAL if the week does not exist. */
int hls_iso_week_monday(int iso_year, int iso_week, hls_day *out) HLS_WARN_UNUSED;
/* "2026-W07" style label into out[9]. */
void hls_iso_week_format(int iso_year, int iso_week, char out[9]);

/* Milliseconds since the Unix epoch as "2026-11-21T09:30:00Z" into
 * out[21] (seconds precision, UTC). */
void hls_time_format(int64_t unix_ms, char out[21]);
/* Parse exactly what hls_time_format writes, "2026-11-21T09:30:00Z" (a
 * real date, years 1900..9999, 00:00:00 to 23:59:59 UTC), into
 * milliseconds since the Unix epoch; HLS_EINVAL otherwise. */
int hls_time_parse(const char *s, size_t len, int64_t *unix_ms) HLS_WARN_UNUSED;

/* A retention period (docs/governance.md#retention): a whole number of
 * days, months or years, or keep (no period: kept until deleted). Months
 * and years are calendar months: 2024-01-31 plus 1m is 2024-02-29, the
 * last day of the shorter month. */
enum hls_period_unit { HLS_PERIOD_KEEP = 0, HLS_PERIOD_DAYS, HLS_PERIOD_MONTHS, HLS_PERIOD_YEARS };
struct hls_period {
  int32_t count; /* 1..HLS_PERIOD_MAX_YEARS years' worth; 0 when keep */
  int32_t unit;  /* enum hls_period_unit */
};
/* The longest period: a record's date (from 1990) plus it stays a date. */
#define HLS_PERIOD_MAX_YEARS 200
/* Longest text hls_period_format writes, with its NUL. */
#define HLS_PERIOD_TEXT_MAX 16
/* Parse "90d", "18m", "6y" (a whole number from 1, then d, m or y), or
 * "keep" or "" (keep). HLS_EINVAL for anything else, or a period longer
 * than HLS_PERIOD_MAX_YEARS. */
int hls_period_parse(const char *s, size_t len, struct hls_period *out) HLS_WARN_UNUSED;
/* "6y", "18m", "90d" or "keep" into out. */
void hls_period_format(const struct hls_period *p, char out[HLS_PERIOD_TEXT_MAX]);
/* day plus p (day itself when keep). */
hls_day hls_period_add(hls_day day, const struct hls_period *p);
/* The last day d whose d + p comes before `before` (so every record dated
 * d or earlier is past its period on day `before`); false when keep. */
bool hls_period_cutoff(hls_day before, const struct hls_period *p, hls_day *out);

#endif
