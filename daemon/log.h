/* Levelled logging to stderr, one line per event in key=value form:
 *   ts=2026-11-21T10:00:00.123Z level=info event=control_listening path=/x/hlsd.sock
 * Never log record contents, key material or network keys: log ids,
 * counts and reasons. */
#ifndef HLS_LOG_H
#define HLS_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum hls_log_level { HLS_LOG_ERROR, HLS_LOG_WARN, HLS_LOG_INFO, HLS_LOG_DEBUG };

/* The level is part of the parsed configuration; hls_log_set_level is
 * called by main at start and on reload. Default info. */
void hls_log_set_level(enum hls_log_level level);
bool hls_log_enabled(enum hls_log_level level);
const char *hls_log_level_name(enum hls_log_level level);
int hls_log_level_parse(const char *s, enum hls_log_level *out);

/* fields: "key=value key2=value2" (printf format); values that may hold
 * spaces go through hls_log_quote. */
void hls_log(enum hls_log_level level, const char *event, const char *fields, ...) HLS_PRINTF(3, 4);

/* Quote a value for a log line: "a b" -> "\"a b\"", escaping '"', '\\'
 * and control characters. Returns buf. */
const char *hls_log_quote(const char *s, char *buf, size_t size);

#define hls_log_error(ev, ...) hls_log(HLS_LOG_ERROR, ev, __VA_ARGS__)
#define hls_log_warn(ev, ...) hls_log(HLS_LOG_WARN, ev, __VA_ARGS__)
#define hls_log_info(ev, ...) hls_log(HLS_LOG_INFO, ev, __VA_ARGS__)
#define hls_log_debug(ev, ...) \
  do { if (hls_log_enabled(HLS_LOG_DEBUG)) hls_log(HLS_LOG_DEBUG, ev, __VA_ARGS__); } while (0)

#endif
