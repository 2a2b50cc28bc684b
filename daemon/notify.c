#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef HLS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

/* Status lines are short; a longer one is cut, not refused. */
#define NOTIFY_MAX 512

static void send_message(const char *msg) {
#ifdef HLS_HAVE_SYSTEMD
  /* 0 (keep NOTIFY_SOCKET in the environment): more messages follow.
   * sd_notify returns 0 when NOTIFY_SOCKET is unset. */
  int rc = sd_notify(0, msg);
  if (rc < 0) {
    char first[32];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(msg, "=\n"), msg);
    hls_log_warn("notify_failed", "message=%s error=\"%s\"", first, strerror(-rc));
  }
#else
  (void)msg;
#endif
}

/* head (state lines, each ending in '\n'), then STATUS= from fmt. */
__attribute__((format(printf, 2, 0))) static void send_with_status(const char *head, const char *fmt, va_list ap) {
  char msg[NOTIFY_MAX];
  int n = snprintf(msg, sizeof msg, "%sSTATUS=", head);
  if (n < 0 || (size_t)n >= sizeof msg) return;
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  for (char *p = msg + n; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  send_message(msg);
}

void hls_notify_status(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  send_with_status("", fmt, ap);
  va_end(ap);
}

void hls_notify_ready(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  send_with_status("READY=1\n", fmt, ap);
  va_end(ap);
}

void hls_notify_stopping(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  send_with_status("STOPPING=1\n", fmt, ap);
  va_end(ap);
}

void hls_notify_reloading(void) {
  struct timespec ts;
  char msg[96];
  clock_gettime(CLOCK_MONOTONIC, &ts);
  snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
           (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
  send_message(msg);
}
