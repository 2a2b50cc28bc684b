#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Process-wide state besides the configuration it mirrors (the level),
 * and the counts of repeated lines below: a log line must not need a
 * context pointer threaded through every call. */
static enum hls_log_level log_level = HLS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hls_log_set_level(enum hls_log_level level) { log_level = level; }
bool hls_log_enabled(enum hls_log_level level) { return level <= log_level; }

const char *hls_log_level_name(enum hls_log_level level) {
  return (unsigned)level < 4 ? level_names[level] : "info";
}

int hls_log_level_parse(const char *s, enum hls_log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (enum hls_log_level)i;
      return 0;
    }
  }
  return HLS_EINVAL;
}

/* --- repeated lines ---------------------------------------------------------------------- */

/* One slot per event name logged through hls_log_counted, found by
 * hashing the name (open addressing): hlsd has a score of such events, so
 * the table never fills; if it did, the events without a slot would simply
 * not be held back. */
#define LOG_SLOTS 256
#define LOG_EVENT_MAX 64

struct log_slot {
  char event[LOG_EVENT_MAX]; /* "" = free */
  uint64_t window_start;     /* ms; the window of its first line written */
  uint32_t written;          /* lines written in the window */
  uint64_t suppressed;       /* lines counted, not written */
  enum hls_log_level worst;  /* the most severe level suppressed */
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_slot log_slots[LOG_SLOTS];
static size_t log_pending; /* slots with suppressed > 0 */
static uint64_t (*log_clock)(void);
static FILE *log_stream;

void hls_log_set_clock(uint64_t (*now_ms)(void)) { log_clock = now_ms; }
void hls_log_set_stream(FILE *stream) { log_stream = stream; }

static uint64_t log_now_ms(void) {
  if (log_clock != NULL) return log_clock();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct log_slot *log_slot_of(const char *event) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)event; *p; p++) h = (h ^ *p) * 16777619u;
  for (size_t i = 0; i < LOG_SLOTS; i++) {
    struct log_slot *s = &log_slots[(h + i) % LOG_SLOTS];
    if (s->event[0] == '\0') {
      if (strlen(event) >= sizeof s->event) return NULL;
      strcpy(s->event, event);
      s->worst = HLS_LOG_DEBUG;
      return s;
    }
    if (strcmp(s->event, event) == 0) return s;
  }
  return NULL;
}

/* Formats and writes one line; the caller holds log_lock, so that a
 * count written by one thread never lands between another's lines out of
 * order with the window it counts. */
static void log_write(enum hls_log_level level, const char *event, const char *fields, va_list ap) HLS_PRINTF(3, 0);
static void log_write(enum hls_log_level level, const char *event, const char *fields, va_list ap) {
  struct timespec ts;
  struct tm tm;
  char line[2048];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000, hls_log_level_name(level), event);
  if (n < 0) return;
  if (fields != NULL && fields[0] != '\0' && (size_t)n < sizeof line - 2) {
    line[n++] = ' ';
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fields, ap);
    if (m > 0) n += m;
  }
  if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
  line[n++] = '\n';
  /* One write per line so lines from one process never interleave. */
  FILE *out = log_stream != NULL ? log_stream : stderr;
  fwrite(line, 1, (size_t)n, out);
  fflush(out);
}

static void log_write_fmt(enum hls_log_level level, const char *event, const char *fields, ...) HLS_PRINTF(3, 4);
static void log_write_fmt(enum hls_log_level level, const char *event, const char *fields, ...) {
  va_list ap;
  va_start(ap, fields);
  log_write(level, event, fields, ap);
  va_end(ap);
}

/* Writes a slot's count and opens no window: its next line opens one. */
static void log_settle(struct log_slot *s) {
  if (s->suppressed > 0) {
    log_write_fmt(s->worst, "log_suppressed", "of=%s count=%llu window_ms=%d", s->event,
                  (unsigned long long)s->suppressed, HLS_LOG_WINDOW_MS);
    log_pending--;
  }
  s->suppressed = 0;
  s->written = 0;
  s->worst = HLS_LOG_DEBUG;
}

/* Whether a line of event may be written now; counts it if not. */
static bool log_admit(enum hls_log_level level, const char *event, uint64_t now) {
  struct log_slot *s = log_slot_of(event);
  if (s == NULL) return true;
  if (s->written > 0 && now - s->window_start >= HLS_LOG_WINDOW_MS) log_settle(s);
  if (s->written == 0) s->window_start = now;
  if (s->written < HLS_LOG_BURST) {
    s->written++;
    return true;
  }
  if (s->suppressed++ == 0) log_pending++;
  if (level < s->worst) s->worst = level;
  return false;
}

void hls_log_flush(bool all) {
  pthread_mutex_lock(&log_lock);
  if (log_pending > 0) {
    uint64_t now = log_now_ms();
    for (size_t i = 0; i < LOG_SLOTS && log_pending > 0; i++) {
      struct log_slot *s = &log_slots[i];
      if (s->suppressed > 0 && (all || now - s->window_start >= HLS_LOG_WINDOW_MS)) log_settle(s);
    }
  }
  pthread_mutex_unlock(&log_lock);
}

void hls_log(enum hls_log_level level, const char *event, const char *fields, ...) {
  if (!hls_log_enabled(level)) return;
  pthread_mutex_lock(&log_lock);
  va_list ap;
  va_start(ap, fields);
  log_write(level, event, fields, ap);
  va_end(ap);
  pthread_mutex_unlock(&log_lock);
}

void hls_log_counted(enum hls_log_level level, const char *event, const char *fields, ...) {
  if (!hls_log_enabled(level)) return;
  pthread_mutex_lock(&log_lock);
  if (log_level == HLS_LOG_DEBUG || log_admit(level, event, log_now_ms())) {
    va_list ap;
    va_start(ap, fields);
    log_write(level, event, fields, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&log_lock);
}

const char *hls_log_quote(const char *s, char *buf, size_t size) {
  if (size < 3) return "\"\"";
  size_t o = 0;
  buf[o++] = '"';
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && o + 5 < size; p++) {
    if (*p == '"' || *p == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)*p;
    } else if (*p < 0x20 || *p == 0x7f) {
      o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
    } else {
      buf[o++] = (char)*p;
    }
  }
  buf[o++] = '"';
  buf[o] = '\0';
  return buf;
}
