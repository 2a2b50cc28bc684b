#include "date.h"

#include <stdio.h>

/* Howard Hinnant's days_from_civil / civil_from_days, valid far beyond
 * the years we accept. */
hls_day hls_date_from_ymd(int year, int month, int mday) {
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int mp = (month + 9) % 12;
  int doy = (153 * mp + 2) / 5 + mday - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (hls_day)(era * 146097 + doe - 719468);
}

void hls_date_to_ymd(hls_day day, int *year, int *month, int *mday) {
  int z = day + 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  int doe = z - era * 146097;
  int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = yoe + era * 400;
  int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int mp = (5 * doy + 2) / 153;
  int d = doy - (153 * mp + 2) / 5 + 1;
  int m = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (m <= 2);
  *month = m;
  *mday = d;
}

static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int hls_duration_parse(const char *s, size_t len, int64_t *ms) {
  int64_t n = 0;
  size_t i = 0;
  for (; s != NULL && i < len && s[i] >= '0' && s[i] <= '9' && n < 1000000; i++) n = n * 10 + (s[i] - '0');
  int64_t unit = 0;
  if (i > 0 && i + 1 == len) {
    switch (s[i]) {
      case 'm': unit = 60000LL; break;
      case 'h': unit = 3600000LL; break;
      case 'd': unit = 86400000LL; break;
      case 'w': unit = 7 * 86400000LL; break;
      default: break;
    }
  }
  if (unit == 0 || n == 0 || n >= 1000000) return HLS_EINVAL;
  *ms = n * unit;
  return 0;
}

int hls_date_parse(const char *s, size_t len, hls_day *out) {
  if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-') return HLS_EINVAL;
  int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
  if (y < HLS_DATE_MIN_YEAR || y > HLS_DATE_MAX_YEAR || m < 1 || m > 12 || d < 1) return HLS_EINVAL;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = mdays[m - 1] + (m == 2 && leap);
  if (d > max) return HLS_EINVAL;
  *out = hls_date_from_ymd(y, m, d);
  return 0;
}

int hls_date_parse_why(const char *s, size_t len, const char *key, hls_day *out, struct hls_why *why) {
  if (hls_date_parse(s, len, out) == 0) return 0;
  if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4) < 0 || digits(s + 5, 2) < 0 ||
      digits(s + 8, 2) < 0)
    return hls_why_set(why, HLS_EINVAL, "%s: expected a date YYYY-MM-DD", key);
  int y = digits(s, 4);
  if (y < HLS_DATE_MIN_YEAR || y > HLS_DATE_MAX_YEAR)
    return hls_why_set(why, HLS_EINVAL, "%s: years %d to %d only", key, HLS_DATE_MIN_YEAR, HLS_DATE_MAX_YEAR);
  return hls_why_set(why, HLS_EINVAL, "%s: %.10s is not a day of the calendar", key, s);
}

void hls_date_format(hls_day day, char out[11]) {
  int y, m, d;
  hls_date_to_ymd(day, &y, &m, &d);
  snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* 1970-01-01 was a Thursday: weekday 0=Monday..6=Sunday. */
static int weekday(hls_day day) {
  int w = (int)((day + 3) % 7);
  return w < 0 ? w + 7 : w;
}

void hls_iso_week(hls_day day, int *iso_year, int *iso_week) {
  hls_day thursday = day - weekday(day) + 3; /* the Thursday of this week */
  int y, m, d;
  hls_date_to_ymd(thursday, &y, &m, &d);
  hls_day jan1 = hls_date_from_ymd(y, 1, 1);
  *iso_year = y;
  *iso_week = (int)((thursday - jan1) / 7 + 1);
}

int hls_iso_week_monday(int iso_year, int iso_week, hls_day *out) {
  if (iso_year < HLS_DATE_MIN_YEAR || iso_year > HLS_DATE_MAX_YEAR || iso_week < 1 || iso_week > 53)
    return HLS_EINVAL;
  hls_day jan4 = hls_date_from_ymd(iso_year, 1, 4); /* always in week 1 */
  hls_day monday = jan4 - weekday(jan4) + (iso_week - 1) * 7;
  int y, w;
  hls_iso_week(monday, &y, &w);
  if (y != iso_year || w != iso_week) return HLS_EINVAL; /* week 53 in a 52-week year */
  *out = monday;
  return 0;
}

void hls_iso_week_format(int iso_year, int iso_week, char out[9]) {
  snprintf(out, 9, "%04u-W%02u", (unsigned)iso_year % 10000u, (unsigned)iso_week % 100u);
}

void hls_time_format(int64_t unix_ms, char out[21]) {
  int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int y, m, d;
  hls_date_to_ymd((hls_day)days, &y, &m, &d);
  snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u, (unsigned)m % 100u,
           (unsigned)d % 100u, (unsigned)(rem / 3600) % 100u, (unsigned)(rem / 60 % 60) % 100u,
           (unsigned)(rem % 60) % 100u);
}

int hls_time_parse(const char *s, size_t len, int64_t *unix_ms) {
  hls_day day;
  if (s == NULL || len != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
      hls_date_parse(s, 10, &day) != 0)
    return HLS_EINVAL;
  int h = digits(s + 11, 2), m = digits(s + 14, 2), sec = digits(s + 17, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return HLS_EINVAL;
  *unix_ms = ((int64_t)day * 86400 + h * 3600 + m * 60 + sec) * 1000;
  return 0;
}

/* --- retention periods ------------------------------------------------------------ */

static const char period_units[] = {'\0', 'd', 'm', 'y'};

int hls_period_parse(const char *s, size_t len, struct hls_period *out) {
  if (s == NULL) return HLS_EINVAL;
  if (len == 0 || (len == 4 && s[0] == 'k' && s[1] == 'e' && s[2] == 'e' && s[3] == 'p')) {
    *out = (struct hls_period){0, HLS_PERIOD_KEEP};
    return 0;
  }
  if (len < 2 || len > 7 || s[0] < '1' || s[0] > '9') return HLS_EINVAL;
  int count = digits(s, (int)len - 1);
  int unit = s[len - 1] == 'd' ? HLS_PERIOD_DAYS : s[len - 1] == 'm' ? HLS_PERIOD_MONTHS
           : s[len - 1] == 'y' ? HLS_PERIOD_YEARS : HLS_PERIOD_KEEP;
  if (count < 1 || unit == HLS_PERIOD_KEEP) return HLS_EINVAL;
  int max = unit == HLS_PERIOD_DAYS ? HLS_PERIOD_MAX_YEARS * 366 : unit == HLS_PERIOD_MONTHS ? HLS_PERIOD_MAX_YEARS * 12
                                                                                             : HLS_PERIOD_MAX_YEARS;
  if (count > max) return HLS_EINVAL;
  *out = (struct hls_period){count, unit};
  return 0;
}

void hls_period_format(const struct hls_period *p, char out[HLS_PERIOD_TEXT_MAX]) {
  if (p->unit <= HLS_PERIOD_KEEP || p->unit > HLS_PERIOD_YEARS)
    snprintf(out, HLS_PERIOD_TEXT_MAX, "keep");
  else
    snprintf(out, HLS_PERIOD_TEXT_MAX, "%d%c", (int)p->count, period_units[p->unit]);
}

static int month_days(int y, int m) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return mdays[m - 1] + (m == 2 && leap);
}

/* day plus months (negative: back), on the last day of a shorter month. */
static hls_day add_months(hls_day day, int months) {
  int y, m, d;
  hls_date_to_ymd(day, &y, &m, &d);
  int total = y * 12 + (m - 1) + months;
  y = total / 12;
  m = total % 12 + 1;
  if (d > month_days(y, m)) d = month_days(y, m);
  return hls_date_from_ymd(y, m, d);
}

hls_day hls_period_add(hls_day day, const struct hls_period *p) {
  switch (p->unit) {
    case HLS_PERIOD_DAYS: return day + p->count;
    case HLS_PERIOD_MONTHS: return add_months(day, p->count);
    case HLS_PERIOD_YEARS: return add_months(day, p->count * 12);
    default: return day;
  }
}

bool hls_period_cutoff(hls_day before, const struct hls_period *p, hls_day *out) {
  if (p->unit <= HLS_PERIOD_KEEP || p->unit > HLS_PERIOD_YEARS) return false;
  if (p->unit == HLS_PERIOD_DAYS) {
    *out = before - p->count - 1;
    return true;
  }
  /* Adding months never moves a later day earlier, so the days that are
   * past form a run up to the cutoff: start from before minus the period
   * and step to its end (a few steps, at month ends). */
  int months = p->unit == HLS_PERIOD_YEARS ? p->count * 12 : p->count;
  hls_day d = add_months(before, -months);
  while (hls_period_add(d, p) >= before) d--;
  while (hls_period_add(d + 1, p) < before) d++;
  *out = d;
  return true;
}
