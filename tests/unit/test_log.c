/* Unit tests for daemon/log.c: the line format, quoting, and repeated
 * lines others cause counted rather than written (a fake clock drives the windows; the
 * lines go to a temporary file). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static uint64_t fake_now;
static uint64_t fake_clock(void) { return fake_now; }

static FILE *out;

static int setup(void **state) {
  (void)state;
  out = tmpfile();
  if (out == NULL) return -1;
  fake_now = 1000000;
  hls_log_set_clock(fake_clock);
  hls_log_set_stream(out);
  hls_log_set_level(HLS_LOG_INFO);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  hls_log_flush(true); /* leaves no count for the next test */
  hls_log_set_stream(NULL);
  hls_log_set_clock(NULL);
  hls_log_set_level(HLS_LOG_INFO);
  fclose(out);
  return 0;
}

/* The lines written since the last call, '\0'-separated count returned;
 * *text owned by the caller. */
static size_t lines_since(long *pos, char **text) {
  fflush(out);
  long end = ftell(out);
  size_t len = (size_t)(end - *pos);
  char *buf = malloc(len + 1);
  assert_non_null(buf);
  fseek(out, *pos, SEEK_SET);
  assert_int_equal(fread(buf, 1, len, out), len);
  buf[len] = '\0';
  fseek(out, end, SEEK_SET);
  *pos = end;
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\n') n++;
  *text = buf;
  return n;
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) n++;
  return n;
}

static void test_line_format(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  char q[64];
  hls_log_warn("peer_refused", "address=%s reason=%s", "127.0.0.1:1", hls_log_quote("a \"b\"\n", q, sizeof q));
  assert_int_equal(lines_since(&pos, &text), 1);
  assert_non_null(strstr(text, " level=warn event=peer_refused address=127.0.0.1:1 reason=\"a \\\"b\\\"\\x0a\"\n"));
  assert_memory_equal(text, "ts=", 3);
  free(text);
  hls_log_debug("hidden", "x=1");
  hls_log_set_level(HLS_LOG_WARN);
  hls_log_info("quiet", "x=1");
  assert_int_equal(lines_since(&pos, &text), 0);
  free(text);
}

/* A flood of one event: HLS_LOG_BURST lines, then one count when the
 * window ends; another event is not held back by it. */
static void test_flood_counted_once_per_window(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  for (int i = 0; i < 1000; i++) hls_log_counted_warn("peer_bad_frame", "peer=p%d", i);
  hls_log_counted_info("peer_connected", "peer=q");
  assert_int_equal(lines_since(&pos, &text), HLS_LOG_BURST + 1);
  assert_int_equal(count_of(text, "event=peer_bad_frame"), HLS_LOG_BURST);
  assert_int_equal(count_of(text, "event=peer_connected"), 1);
  free(text);

  /* Nothing yet while the window lasts. */
  fake_now += HLS_LOG_WINDOW_MS - 1;
  hls_log_flush(false);
  assert_int_equal(lines_since(&pos, &text), 0);
  free(text);

  /* The window ends: its count, at the level suppressed. */
  fake_now += 1;
  hls_log_flush(false);
  assert_int_equal(lines_since(&pos, &text), 1);
  assert_non_null(strstr(text, " level=warn event=log_suppressed of=peer_bad_frame count=970 window_ms=60000\n"));
  free(text);
  hls_log_flush(false);
  assert_int_equal(lines_since(&pos, &text), 0);
  free(text);

  /* A new window: the event writes again. */
  hls_log_counted_warn("peer_bad_frame", "peer=again");
  assert_int_equal(lines_since(&pos, &text), 1);
  assert_non_null(strstr(text, "peer=again"));
  free(text);
}

/* Without a flush, the event's next line after the window writes the
 * count first; the count takes the most severe level suppressed. */
static void test_count_before_next_line(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  for (int i = 0; i < HLS_LOG_BURST + 3; i++) hls_log_counted_info("store_slow", "i=%d", i);
  hls_log_counted_error("store_slow", "i=last");
  assert_int_equal(lines_since(&pos, &text), HLS_LOG_BURST);
  free(text);
  fake_now += HLS_LOG_WINDOW_MS;
  hls_log_counted_info("store_slow", "i=next");
  assert_int_equal(lines_since(&pos, &text), 2);
  const char *count = strstr(text, "level=error event=log_suppressed of=store_slow count=4 ");
  const char *next = strstr(text, "i=next");
  assert_non_null(count);
  assert_non_null(next);
  assert_true(count < next);
  free(text);
}

/* Lines under the burst in each window are never held back, whatever
 * their total; at level debug no line is; flush(true) writes what is held. */
static void test_steady_and_debug(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  for (int w = 0; w < 5; w++) {
    for (int i = 0; i < HLS_LOG_BURST; i++) hls_log_counted_info("peer_closed", "w=%d i=%d", w, i);
    fake_now += HLS_LOG_WINDOW_MS;
  }
  assert_int_equal(lines_since(&pos, &text), 5 * HLS_LOG_BURST);
  assert_int_equal(count_of(text, "log_suppressed"), 0);
  free(text);
  hls_log_set_level(HLS_LOG_DEBUG);
  for (int i = 0; i < 3 * HLS_LOG_BURST; i++) hls_log_debug("gossip_sent", "i=%d", i);
  for (int i = 0; i < 3 * HLS_LOG_BURST; i++) hls_log_counted_warn("gossip_failed", "i=%d", i);
  assert_int_equal(lines_since(&pos, &text), 6 * HLS_LOG_BURST);
  free(text);
  hls_log_set_level(HLS_LOG_INFO);
  for (int i = 0; i < HLS_LOG_BURST + 7; i++) hls_log_counted_warn("peer_refused", "i=%d", i);
  hls_log_flush(true);
  assert_int_equal(lines_since(&pos, &text), HLS_LOG_BURST + 1);
  assert_non_null(strstr(text, "of=peer_refused count=7 "));
  free(text);
}

/* Many distinct event names (more than a node has) each get their burst. */
static void test_many_events(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  char name[32];
  for (int e = 0; e < 300; e++) {
    snprintf(name, sizeof name, "event_%d", e);
    for (int i = 0; i < 2; i++) hls_log_counted_info(name, "i=%d", i);
  }
  assert_int_equal(lines_since(&pos, &text), 600);
  free(text);
  /* A name too long for a slot is written, never held back. */
  char longname[100];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  for (int i = 0; i < HLS_LOG_BURST + 5; i++) hls_log_counted_info(longname, "i=%d", i);
  assert_int_equal(lines_since(&pos, &text), HLS_LOG_BURST + 5);
  free(text);
}

/* The node's account of what it and its users did is never held back,
 * however many lines (a script adding a thousand records). */
static void test_plain_lines_always_written(void **state) {
  (void)state;
  long pos = 0;
  char *text;
  for (int i = 0; i < 10 * HLS_LOG_BURST; i++) hls_log_info("change", "method=record.add i=%d", i);
  for (int i = 0; i < 10 * HLS_LOG_BURST; i++) hls_log_warn("store_slow_commit", "i=%d", i);
  hls_log_flush(true);
  assert_int_equal(lines_since(&pos, &text), 20 * HLS_LOG_BURST);
  assert_int_equal(count_of(text, "log_suppressed"), 0);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_line_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flood_counted_once_per_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_count_before_next_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_steady_and_debug, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_events, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plain_lines_always_written, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
