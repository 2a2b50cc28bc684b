/* Levelled logging to stderr, one line per event in key=value form:
 *   ts=2026-11-21T10:00:00.123Z level=info event=control_listening path=/x/hlsd.sock
 * Never log record contents, key material or network keys: log ids,
 * counts and reasons. */
#ifndef HLS_LOG_H
#define HLS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum hls_log_level { HLS_LOG_ERROR, HLS_LOG_WARN, HLS_LOG_INFO, HLS_LOG_DEBUG };

/* The level is part of the parsed configuration; hls_log_set_level is
 * called by main at start and on reload. Default info. */
void hls_log_set_level(enum hls_log_level level);
bool hls_log_enabled(enum hls_log_level level);
const char *hls_log_level_name(enum hls_log_level level);
int hls_log_level_parse(const char *s, enum hls_log_level *out);

/* fields: "key=value key2=value2" (printf format); values that may hold
 * spaces go through hls_log_quote. Always written (at an enabled level):
 * the node's account of what it and its own users did. */
void hls_log(enum hls_log_level level, const char *event, const char *fields, ...) HLS_PRINTF(3, 4);

/* The same, for lines someone else can cause at will (a peer's
 * connections and frames, an outsider's handshakes, a member's erasures
 * and forks, a local client's bad requests): repeated lines are counted,
 * not written. Each event (by name) writes at most HLS_LOG_BURST such
 * lines in a window of HLS_LOG_WINDOW_MS; the lines past that are counted
 * and the count is logged once, as
 *   level=warn event=log_suppressed of=EVENT count=N window_ms=60000
 * (at the most severe level held back), when the window has ended: at the
 * event's next line or at hls_log_flush, whichever comes first. So a peer
 * that makes a node warn a thousand times a second costs its log a few
 * lines a minute. At level debug nothing is held back (an admin asked for
 * every line). Both are safe to call from any thread. */
void hls_log_counted(enum hls_log_level level, const char *event, const char *fields, ...) HLS_PRINTF(3, 4);

#define HLS_LOG_BURST 30
#define HLS_LOG_WINDOW_MS 60000

/* Writes the counts of every window that has ended (all: every count
 * held). hlsd calls it from a timer (every 100 ms at most), and with all
 * set before it exits. */
void hls_log_flush(bool all);

/* For tests: the monotonic clock in ms the windows are measured by
 * (NULL: CLOCK_MONOTONIC), and the stream lines go to (NULL: stderr). */
void hls_log_set_clock(uint64_t (*now_ms)(void));
void hls_log_set_stream(FILE *stream);

/* Quote a value for a log line: "a b" -> "\"a b\"", escaping '"', '\\'
 * and control characters. Returns buf. */
const char *hls_log_quote(const char *s, char *buf, size_t size);

#define hls_log_error(ev, ...) hls_log(HLS_LOG_ERROR, ev, __VA_ARGS__)
#define hls_log_warn(ev, ...) hls_log(HLS_LOG_WARN, ev, __VA_ARGS__)
#define hls_log_info(ev, ...) hls_log(HLS_LOG_INFO, ev, __VA_ARGS__)
#define hls_log_counted_error(ev, ...) hls_log_counted(HLS_LOG_ERROR, ev, __VA_ARGS__)
#define hls_log_counted_warn(ev, ...) hls_log_counted(HLS_LOG_WARN, ev, __VA_ARGS__)
#define hls_log_counted_info(ev, ...) hls_log_counted(HLS_LOG_INFO, ev, __VA_ARGS__)
#define hls_log_debug(ev, ...) \
  do { if (hls_log_enabled(HLS_LOG_DEBUG)) hls_log(HLS_LOG_DEBUG, ev, __VA_ARGS__); } while (0)

#endif
