#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The one piece of process-wide state besides the configuration it
 * mirrors: a log line must not need a context pointer threaded through
 * every call. */
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

void hls_log(enum hls_log_level level, const char *event, const char *fields, ...) {
  if (!hls_log_enabled(level)) return;
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
    va_list ap;
    va_start(ap, fields);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fields, ap);
    va_end(ap);
    if (m > 0) n += m;
  }
  if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
  line[n++] = '\n';
  /* One write per line so lines from one process never interleave. */
  fwrite(line, 1, (size_t)n, stderr);
  fflush(stderr);
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
