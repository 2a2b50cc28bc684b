/* Unit tests for daemon/config.c: the option table, value parsing and
 * bounds, INI files, reload and the documented file writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    int rc_ = (expr);                                                                    \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text);        \
  } while (0)

/* hls_config_set must fail with HLS_ECONFIG and a message holding every
 * one of the NULL-terminated fragments. */
static void expect_refused(const char *key, const char *value, ...) {
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  struct hls_config before = c;
  int rc = hls_config_set(&c, key, value, &why);
  if (rc != HLS_ECONFIG) fail_msg("%s=%s: got %s, want bad_config", key, value, hls_err_name(rc));
  va_list ap;
  va_start(ap, value);
  for (const char *frag = va_arg(ap, const char *); frag != NULL; frag = va_arg(ap, const char *))
    if (strstr(why.text, frag) == NULL) fail_msg("%s=%s: \"%s\" lacks \"%s\"", key, value, why.text, frag);
  va_end(ap);
  /* A refused value leaves the config as it was. */
  assert_memory_equal(&c, &before, sizeof c);
}

static int64_t set_i64(const char *key, const char *value) {
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  int rc = hls_config_set(&c, key, value, &why);
  if (rc != 0) fail_msg("%s=%s refused: %s", key, value, why.text);
  if (strcmp(key, "limits.max_text_bytes") == 0) return c.max_text_bytes;
  if (strcmp(key, "limits.control_max_frame") == 0) return c.control_max_frame;
  if (strcmp(key, "limits.control_max_clients") == 0) return c.control_max_clients;
  if (strcmp(key, "limits.control_request_timeout") == 0) return c.control_request_timeout_ms;
  fail_msg("no int64 field for %s", key);
  return 0;
}

static const struct hls_config_option *option_named(const char *section, const char *name) {
  size_t n;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(o[i].section, section) == 0 && strcmp(o[i].name, name) == 0) return &o[i];
  fail_msg("no option %s.%s", section, name);
  return NULL;
}

/* --- temporary files ----------------------------------------------------- */

struct tmpfile {
  char dir[64];
  char path[128];
};

static int setup_tmp(void **state) {
  struct tmpfile *t = calloc(1, sizeof *t);
  if (t == NULL) return -1;
  snprintf(t->dir, sizeof t->dir, "/tmp/hls-test-config-XXXXXX");
  if (mkdtemp(t->dir) == NULL) {
    free(t);
    return -1;
  }
  snprintf(t->path, sizeof t->path, "%s/hlsd.conf", t->dir);
  *state = t;
  return 0;
}

static int teardown_tmp(void **state) {
  struct tmpfile *t = *state;
  unlink(t->path);
  rmdir(t->dir);
  free(t);
  return 0;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Load text as a config file over the defaults; returns the result. */
static int load_text(const struct tmpfile *t, const char *text, struct hls_config *c, struct hls_why *why) {
  write_text(t->path, text);
  hls_config_defaults(c);
  return hls_config_load_file(c, t->path, why);
}

/* The message must be "PATH:LINE: " + something holding frag. */
static void expect_file_error(const struct tmpfile *t, const char *text, int line, const char *frag) {
  struct hls_config c;
  struct hls_why why = {{0}};
  assert_int_equal(load_text(t, text, &c, &why), HLS_ECONFIG);
  char prefix[160];
  snprintf(prefix, sizeof prefix, "%s:%d: ", t->path, line);
  if (strncmp(why.text, prefix, strlen(prefix)) != 0) fail_msg("\"%s\" does not start with \"%s\"", why.text, prefix);
  if (strstr(why.text + strlen(prefix), frag) == NULL) fail_msg("\"%s\" lacks \"%s\"", why.text, frag);
}

/* --- the table and defaults --------------------------------------------- */

static void test_defaults_parse_within_bounds(void **state) {
  (void)state;
  size_t n = 0;
  const struct hls_config_option *o = hls_config_options(&n);
  assert_true(n >= 10);
  struct hls_config d;
  hls_config_defaults(&d);
  for (size_t i = 0; i < n; i++) {
    char key[64], value[256];
    struct hls_why why = {{0}};
    assert_non_null(o[i].section);
    assert_non_null(o[i].name);
    assert_non_null(o[i].help);
    assert_true(strlen(o[i].help) > 10);
    snprintf(key, sizeof key, "%s.%s", o[i].section, o[i].name);
    /* Names are unique. */
    for (size_t j = 0; j < i; j++)
      assert_false(strcmp(o[i].section, o[j].section) == 0 && strcmp(o[i].name, o[j].name) == 0);
    const char *field = (const char *)&d + o[i].offset;
    assert_true(o[i].offset + o[i].size <= sizeof d);
    if (o[i].default_text == NULL) {
      /* Required options have no default and start empty. */
      assert_int_equal(o[i].type, HLS_CFG_STRING);
      assert_int_equal(field[0], '\0');
      continue;
    }
    /* The default text parses on its own ... */
    struct hls_config c;
    hls_config_defaults(&c);
    ASSERT_OK(hls_config_set(&c, key, o[i].default_text, &why));
    /* ... to what hls_config_defaults set, within bounds. */
    assert_memory_equal((const char *)&c + o[i].offset, field, o[i].size);
    switch (o[i].type) {
      case HLS_CFG_INT:
      case HLS_CFG_SIZE:
      case HLS_CFG_DURATION: {
        int64_t v;
        if (o[i].size == sizeof(int)) { /* the engine's parameters */
          int x;
          memcpy(&x, field, sizeof x);
          v = x;
        } else {
          assert_int_equal(o[i].size, sizeof v);
          memcpy(&v, field, sizeof v);
        }
        assert_true(o[i].min <= o[i].max);
        assert_in_range(v, o[i].min, o[i].max);
        break;
      }
      case HLS_CFG_REAL: {
        double v;
        assert_int_equal(o[i].size, sizeof v);
        memcpy(&v, field, sizeof v);
        assert_true(o[i].rmin <= v && v <= o[i].rmax);
        break;
      }
      case HLS_CFG_ENUM: {
        int v, count = 0;
        memcpy(&v, field, sizeof v);
        assert_non_null(o[i].choices);
        while (o[i].choices[count] != NULL) count++;
        assert_in_range(v, 0, count - 1);
        assert_string_equal(o[i].choices[v], o[i].default_text);
        break;
      }
      case HLS_CFG_STRING:
        assert_in_range(strlen(field), (size_t)o[i].min, (size_t)o[i].max);
        assert_true(o[i].max < (int64_t)o[i].size);
        break;
      case HLS_CFG_ADDR: assert_true(strlen(field) > 0); break;
      case HLS_CFG_ADDR_LIST: assert_true(strlen(field) < o[i].size); break;
      case HLS_CFG_PERIOD: {
        struct hls_period p;
        assert_int_equal(o[i].size, sizeof p);
        memcpy(&p, field, sizeof p);
        assert_int_equal(p.unit, HLS_PERIOD_KEEP); /* never delete until the admin says so */
        break;
      }
    }
    /* The formatted value parses back to the same value. */
    hls_config_format_value(&d, &o[i], value, sizeof value);
    hls_config_defaults(&c);
    memset((char *)&c + o[i].offset, 0x5a, o[i].size);
    ASSERT_OK(hls_config_set(&c, key, value, &why));
    if (o[i].type == HLS_CFG_ADDR || o[i].type == HLS_CFG_ADDR_LIST)
      assert_string_equal((const char *)&c + o[i].offset, field);
    else
      assert_memory_equal((const char *)&c + o[i].offset, field, o[i].size);
  }
  /* A few defaults the docs promise. */
  assert_int_equal(d.max_text_bytes, HLS_TEXT_DEFAULT_MAX);
  assert_int_equal(d.control_max_frame, HLS_CTL_FRAME_DEFAULT_MAX);
  assert_int_equal(d.control_request_timeout_ms, 30000);
  assert_int_equal(d.log_level, HLS_LOG_INFO);
  assert_int_equal(d.role, HLS_ROLE_PLACE);
  assert_int_equal(d.store_synchronous, 1);
  assert_string_equal(d.listen, "0.0.0.0:7420");
}

/* --- bounds and messages ------------------------------------------------- */

static void test_int_bounds(void **state) {
  (void)state;
  assert_int_equal(set_i64("limits.control_max_clients", "1"), 1);
  assert_int_equal(set_i64("limits.control_max_clients", "1024"), 1024);
  assert_int_equal(set_i64("limits.control_max_clients", "64"), 64);
  const char *bad[] = {"0", "1025", "-1", "", "abc", "12x", "1KiB", " 5", "99999999999999999999999", NULL};
  for (int i = 0; bad[i] != NULL; i++)
    expect_refused("limits.control_max_clients", bad[i], "limits.control_max_clients", "between 1 and 1024", NULL);
}

static void test_size_bounds(void **state) {
  (void)state;
  assert_int_equal(set_i64("limits.max_text_bytes", "256"), 256);
  assert_int_equal(set_i64("limits.max_text_bytes", "256B"), 256);
  assert_int_equal(set_i64("limits.max_text_bytes", "16K"), 16384);
  assert_int_equal(set_i64("limits.max_text_bytes", "64KiB"), 65536);
  assert_int_equal(set_i64("limits.max_text_bytes", "65536"), 65536);
  const char *bad_text[] = {"255", "65537", "1MiB", "65KiB", "16kb", "16 KB", "-1KiB", "KiB", NULL};
  for (int i = 0; bad_text[i] != NULL; i++)
    expect_refused("limits.max_text_bytes", bad_text[i], "limits.max_text_bytes", "between 256 and 64KiB",
                   "a size such as", NULL);

  assert_int_equal(set_i64("limits.control_max_frame", "64KiB"), 64 * 1024);
  assert_int_equal(set_i64("limits.control_max_frame", "2 MiB"), 2 * 1024 * 1024);
  assert_int_equal(set_i64("limits.control_max_frame", "16M"), 16 * 1024 * 1024);
  assert_int_equal(set_i64("limits.control_max_frame", "16MiB"), 16 * 1024 * 1024);
  const char *bad_frame[] = {"63KiB", "65535", "17MiB", "1GiB", "8XB", NULL};
  for (int i = 0; bad_frame[i] != NULL; i++)
    expect_refused("limits.control_max_frame", bad_frame[i], "limits.control_max_frame", "between 64KiB and 16MiB",
                   NULL);
}

/* A retention period: days, months or years, or keep; anything else is
 * refused with one line that says what a period looks like. */
static void test_period_values(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  assert_int_equal(c.retention[HLS_SCALE_PERSON].unit, HLS_PERIOD_KEEP);
  ASSERT_OK(hls_config_set(&c, "retention.person", "6y", &why));
  assert_int_equal(c.retention[HLS_SCALE_PERSON].unit, HLS_PERIOD_YEARS);
  assert_int_equal(c.retention[HLS_SCALE_PERSON].count, 6);
  ASSERT_OK(hls_config_set(&c, "retention.place", "18m", &why));
  assert_int_equal(c.retention[HLS_SCALE_PLACE].unit, HLS_PERIOD_MONTHS);
  ASSERT_OK(hls_config_set(&c, "retention.place", "keep", &why));
  assert_int_equal(c.retention[HLS_SCALE_PLACE].unit, HLS_PERIOD_KEEP);
  ASSERT_OK(hls_config_set(&c, "retention.country", "", &why));
  assert_int_equal(c.retention[HLS_SCALE_COUNTRY].unit, HLS_PERIOD_KEEP);
  const char *bad[] = {"6", "6w", "0y", "-1y", "201y", "six years", "6 y", "1.5y", "forever", NULL};
  for (int i = 0; bad[i] != NULL; i++) {
    expect_refused("retention.organisation", bad[i], "retention.organisation", "must be a period such as 6y",
                   "or keep", NULL);
    assert_int_equal(hls_config_set(&c, "retention.organisation", bad[i], &why), HLS_ECONFIG);
    assert_null(strchr(why.text, '\n'));
  }
}

static void test_duration_bounds(void **state) {
  (void)state;
  assert_int_equal(set_i64("limits.control_request_timeout", "1000ms"), 1000);
  assert_int_equal(set_i64("limits.control_request_timeout", "1s"), 1000);
  assert_int_equal(set_i64("limits.control_request_timeout", "30"), 30000); /* bare: seconds */
  assert_int_equal(set_i64("limits.control_request_timeout", "5m"), 300000);
  assert_int_equal(set_i64("limits.control_request_timeout", "1h"), 3600000);
  assert_int_equal(set_i64("limits.control_request_timeout", "60m"), 3600000);
  const char *bad[] = {"999ms", "0", "0s", "61m", "2h", "3601s", "1d", "5 minutes", "1.5s", "s", NULL};
  for (int i = 0; bad[i] != NULL; i++)
    expect_refused("limits.control_request_timeout", bad[i], "limits.control_request_timeout", "between 1s and 1h",
                   "a duration such as", NULL);
}

static void test_enum_choices(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "log.level", "debug", &why));
  assert_int_equal(c.log_level, HLS_LOG_DEBUG);
  ASSERT_OK(hls_config_set(&c, "log.level", "error", &why));
  assert_int_equal(c.log_level, HLS_LOG_ERROR);
  ASSERT_OK(hls_config_set(&c, "node.role", "partner", &why));
  assert_int_equal(c.role, HLS_ROLE_PARTNER);
  ASSERT_OK(hls_config_set(&c, "store.synchronous", "normal", &why));
  assert_int_equal(c.store_synchronous, 0);
  expect_refused("log.level", "verbose", "log.level", "must be one of error|warn|info|debug", NULL);
  expect_refused("log.level", "DEBUG", "log.level", "error|warn|info|debug", NULL);
  expect_refused("log.level", "", "log.level", "error|warn|info|debug", NULL);
  expect_refused("node.role", "council", "node.role", "place|partner", NULL);
  expect_refused("store.synchronous", "off", "store.synchronous", "normal|full", NULL);
}

static void test_string_length(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  char longest[HLS_PLACE_MAX + 2];
  memset(longest, 'p', sizeof longest);
  longest[HLS_PLACE_MAX] = '\0';
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "node.place", longest, &why));
  assert_string_equal(c.place, longest);
  ASSERT_OK(hls_config_set(&c, "node.place", "X", &why));
  assert_string_equal(c.place, "X");
  ASSERT_OK(hls_config_set(&c, "node.region", "Yorkshire & the Humber", &why));
  assert_string_equal(c.region, "Yorkshire & the Humber");
  ASSERT_OK(hls_config_set(&c, "node.place", "Ynys Môn", &why));
  assert_string_equal(c.place, "Ynys Môn");

  longest[HLS_PLACE_MAX] = 'p';
  longest[HLS_PLACE_MAX + 1] = '\0';
  expect_refused("node.place", longest, "node.place", "must be 1-120 bytes long", NULL);
  expect_refused("node.place", "", "node.place", "1-120 bytes", NULL);
  expect_refused("node.region", "", "node.region", "1-120 bytes", NULL);
  expect_refused("node.place", "two\nlines", "node.place", "one line", NULL);
  expect_refused("node.place", "bad \xff utf8", "node.place", "UTF-8", NULL);
  /* What the file format could not hold (see test_write_round_trip). */
  expect_refused("node.place", " Gateshead", "node.place", "space", NULL);
  expect_refused("node.region", "North East ", "node.region", "space", NULL);
  expect_refused("node.place", "Leeds ; Bradford", "node.place", "\" ;\"", NULL);
  expect_refused("node.place", ";Leeds", "node.place", NULL);
  ASSERT_OK(hls_config_set(&c, "node.place", "Leeds; Bradford", &why));
  ASSERT_OK(hls_config_set(&c, "node.place", "#1 Place", &why));
}

static void test_addr(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "network.listen", "127.0.0.1:0", &why));
  assert_string_equal(c.listen, "127.0.0.1:0");
  ASSERT_OK(hls_config_set(&c, "network.listen", "[::1]:7420", &why));
  assert_string_equal(c.listen, "[::1]:7420");
  ASSERT_OK(hls_config_set(&c, "network.listen", "10.1.2.3:65535", &why));
  assert_string_equal(c.listen, "10.1.2.3:65535");
  const char *bad[] = {"nonsense", "example.org:7420", "1.2.3.4:65536", "1.2.3.4", ":7420", "", "::1:7420", NULL};
  for (int i = 0; bad[i] != NULL; i++) expect_refused("network.listen", bad[i], "network.listen: ", NULL);
  /* The message says what is allowed. */
  expect_refused("network.listen", "nonsense", "network.listen", "HOST:PORT", NULL);
  expect_refused("network.listen", "example.org:7420", "network.listen", "IP address", NULL);
  expect_refused("network.listen", "1.2.3.4:65536", "network.listen", "0-65535", NULL);
}

static void test_unknown_option(void **state) {
  (void)state;
  expect_refused("log.verbosity", "1", "log.verbosity", "unknown option", NULL);
  expect_refused("nosuch.level", "info", "nosuch.level", "unknown option", NULL);
  expect_refused("lo.level", "info", "unknown option", NULL);     /* section prefix only */
  expect_refused("logs.level", "info", "unknown option", NULL);   /* section longer */
  expect_refused("level", "info", "level", "SECTION.NAME", NULL); /* no dot */
  expect_refused("", "info", "SECTION.NAME", NULL);
  expect_refused(".level", "info", "unknown option", NULL);
  expect_refused("log.", "info", "unknown option", NULL);
}

/* --- files --------------------------------------------------------------- */

static void test_file_good(void **state) {
  struct tmpfile *t = *state;
  struct hls_config c;
  struct hls_why why = {{0}};
  ASSERT_OK(load_text(t,
                      "# a comment\n"
                      "; another comment\n"
                      "\n"
                      "[node]\n"
                      "place = Gateshead Council\n"
                      "region=North East\n"
                      "role = partner\n"
                      "[limits]\n"
                      "  control_max_clients = 7 ; inline comment\n"
                      "control_request_timeout = 2m\n"
                      "[log]\n"
                      "level = debug\n",
                      &c, &why));
  assert_string_equal(c.place, "Gateshead Council");
  assert_string_equal(c.region, "North East");
  assert_int_equal(c.role, HLS_ROLE_PARTNER);
  assert_int_equal(c.control_max_clients, 7);
  assert_int_equal(c.control_request_timeout_ms, 120000);
  assert_int_equal(c.log_level, HLS_LOG_DEBUG);
  ASSERT_OK(hls_config_check(&c, &why));
  /* Untouched options keep the value they had. */
  assert_int_equal(c.max_text_bytes, HLS_TEXT_DEFAULT_MAX);

  /* An empty file changes nothing. */
  struct hls_config d;
  hls_config_defaults(&d);
  ASSERT_OK(load_text(t, "", &c, &why));
  assert_memory_equal(&c, &d, sizeof c);
}

static void test_file_missing(void **state) {
  struct tmpfile *t = *state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  assert_int_equal(hls_config_load_file(&c, t->path, &why), HLS_ECONFIG); /* not written yet */
  assert_non_null(strstr(why.text, t->path));
}

static void test_file_bad_value_line(void **state) {
  struct tmpfile *t = *state;
  expect_file_error(t,
                    "[node]\n"
                    "place = P\n"
                    "\n"
                    "[limits]\n"
                    "# comment\n"
                    "control_max_clients = 5000\n"
                    "max_text_bytes = 1KiB\n",
                    6, "limits.control_max_clients: must be between 1 and 1024");
  expect_file_error(t, "[log]\nlevel = loud\n", 2, "log.level: must be one of error|warn|info|debug");
  expect_file_error(t, "\n\n\n[network]\nlisten = somewhere\n", 5, "network.listen");
  expect_file_error(t, "[limits]\nmax_text_bytes = 1\n[log]\nlevel = loud\n", 2, "limits.max_text_bytes");
  /* The first error is the one reported (a bad value before a repeat). */
  expect_file_error(t, "[log]\nlevel = loud\nlevel = info\n[log]\nlevel = louder\n", 2, "log.level");
}

static void test_file_unknown_section_or_key(void **state) {
  struct tmpfile *t = *state;
  expect_file_error(t, "[node]\nplace = P\nplaces = Q\n", 3, "[node] places: unknown option");
  expect_file_error(t, "[log]\nlevel = info\n\n[logging]\nlevel = info\n", 5, "[logging] level: unknown option");
  /* Options outside any section are unknown too. */
  expect_file_error(t, "place = P\n", 1, "place: unknown option");
  /* A known name in the wrong section. */
  expect_file_error(t, "[network]\nplace = P\n", 2, "[network] place: unknown option");
}

/* An option set twice in one file is refused, naming both lines: the
 * second would win unseen (it did). Once in each of two sections of the
 * same name is twice too. */
static void test_file_option_twice(void **state) {
  struct tmpfile *t = *state;
  expect_file_error(t, "[log]\nlevel = warn\nlevel = info\n", 3, "[log] level: set twice (first on line 2)");
  expect_file_error(t, "[log]\nlevel = warn\n[node]\nplace = P\n[log]\nlevel = info\n", 6,
                    "[log] level: set twice (first on line 2)");
  struct hls_config c;
  struct hls_why why = {{0}};
  assert_int_equal(load_text(t, "[log]\nlevel = warn\n[node]\nplace = P\n", &c, &why), 0);
}

static void test_file_syntax_errors(void **state) {
  struct tmpfile *t = *state;
  expect_file_error(t, "[node]\nplace = P\nthis line has no equals sign\n", 3, "syntax error");
  expect_file_error(t, "[node\nplace = P\n", 1, "syntax error");
  expect_file_error(t, "\n\n[log]\nlevel info\n", 4, "syntax error");
  /* A syntax error before a bad value: the first problem, with its own
   * message, is the one reported. */
  expect_file_error(t, "[log]\nnot an option line\n[limits]\ncontrol_max_clients = 0\n", 2, "syntax error");
  /* And a bad value before a syntax error. */
  expect_file_error(t, "[limits]\ncontrol_max_clients = 0\n[log]\nnot an option line\n", 2,
                    "limits.control_max_clients: must be between 1 and 1024");
}

static void test_file_long_lines(void **state) {
  struct tmpfile *t = *state;
  struct hls_config c;
  struct hls_why why = {{0}};
  /* A comment longer than inih's line buffer (200 bytes) is a comment,
   * and does not shift the line numbers after it. */
  char text[2048];
  int n = snprintf(text, sizeof text, "# ");
  for (int i = 0; i < 500; i++) text[n++] = i % 10 == 9 ? ' ' : 'c';
  snprintf(text + n, sizeof text - (size_t)n, "\n[log]\n;%0300d\nlevel = debug\n", 0);
  ASSERT_OK(load_text(t, text, &c, &why));
  assert_int_equal(c.log_level, HLS_LOG_DEBUG);
  snprintf(text + n, sizeof text - (size_t)n, "\n[log]\nlevel = loud\n");
  expect_file_error(t, text, 3, "log.level: must be one of");
  /* An option line that long is refused at its own line. */
  snprintf(text, sizeof text, "[node]\nplace = %0400d\n[log]\nlevel = loud\n", 0);
  expect_file_error(t, text, 2, "syntax error");
  /* A line that just fits is read whole. */
  snprintf(text, sizeof text, "[node]\nplace = %0120d%*s\nregion = R\n", 0, 199 - 8 - 120, "");
  ASSERT_OK(load_text(t, text, &c, &why));
  assert_int_equal(strlen(c.place), 120);
  assert_string_equal(c.region, "R");
}

/* --- check --------------------------------------------------------------- */

static void test_check_requires_place_and_region(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);
  assert_non_null(strstr(why.text, "node.place"));
  assert_non_null(strstr(why.text, "required"));
  ASSERT_OK(hls_config_set(&c, "node.place", "P", &why));
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);
  assert_non_null(strstr(why.text, "node.region"));
  assert_non_null(strstr(why.text, "required"));
  ASSERT_OK(hls_config_set(&c, "node.region", "R", &why));
  ASSERT_OK(hls_config_check(&c, &why));
  /* Region alone is not enough either. */
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "node.region", "R", &why));
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);
  assert_non_null(strstr(why.text, "node.place"));
}

/* --- reload -------------------------------------------------------------- */

struct restart_log {
  int n;
  const struct hls_config_option *opts[64];
};

static void on_restart(const struct hls_config_option *o, void *ctx) {
  struct restart_log *l = ctx;
  assert_true(l->n < 64);
  l->opts[l->n++] = o;
}

/* A config with every option different from the defaults. */
static void all_changed(struct hls_config *c) {
  struct hls_why why = {{0}};
  hls_config_defaults(c);
  ASSERT_OK(hls_config_set(c, "node.place", "Changed Place", &why));
  ASSERT_OK(hls_config_set(c, "node.region", "Changed Region", &why));
  ASSERT_OK(hls_config_set(c, "node.role", "partner", &why));
  ASSERT_OK(hls_config_set(c, "network.listen", "[::1]:9999", &why));
  ASSERT_OK(hls_config_set(c, "log.level", "warn", &why));
  ASSERT_OK(hls_config_set(c, "control.group", "staff", &why));
  ASSERT_OK(hls_config_set(c, "web.listen", "127.0.0.1:9480", &why));
  ASSERT_OK(hls_config_set(c, "web.url", "https://learning.example.org", &why));
  ASSERT_OK(hls_config_set(c, "web.tls_cert", "/etc/ssl/hlsd.pem", &why));
  ASSERT_OK(hls_config_set(c, "web.tls_key", "/etc/ssl/hlsd.key", &why));
  ASSERT_OK(hls_config_set(c, "web.max_body", "2MiB", &why));
  ASSERT_OK(hls_config_set(c, "web.max_connections", "9", &why));
  ASSERT_OK(hls_config_set(c, "web.session_idle", "2h", &why));
  ASSERT_OK(hls_config_set(c, "web.link_ttl", "1d", &why));
  ASSERT_OK(hls_config_set(c, "limits.max_text_bytes", "1KiB", &why));
  ASSERT_OK(hls_config_set(c, "limits.control_max_frame", "1MiB", &why));
  ASSERT_OK(hls_config_set(c, "limits.control_max_clients", "3", &why));
  ASSERT_OK(hls_config_set(c, "limits.control_request_timeout", "1500ms", &why));
  ASSERT_OK(hls_config_set(c, "limits.patterns_late_weeks", "52", &why));
  ASSERT_OK(hls_config_set(c, "limits.patterns_threads", "3", &why));
  ASSERT_OK(hls_config_set(c, "store.synchronous", "normal", &why));
  ASSERT_OK(hls_config_set(c, "store.cache_size", "8MiB", &why));
  ASSERT_OK(hls_config_set(c, "network.advertise", "hlsd.example.org:7420, [::1]:7421", &why));
  ASSERT_OK(hls_config_set(c, "consent.suppression_threshold", "12", &why));
  ASSERT_OK(hls_config_set(c, "consent.rounding", "10", &why));
  ASSERT_OK(hls_config_set(c, "consent.expiry_check", "5s", &why));
  ASSERT_OK(hls_config_set(c, "publish.delay", "1m", &why));
  ASSERT_OK(hls_config_set(c, "publish.receipts", "off", &why));
  ASSERT_OK(hls_config_set(c, "publish.forks", "off", &why));
  ASSERT_OK(hls_config_set(c, "trust.partner_vouches", "0", &why));
  ASSERT_OK(hls_config_set(c, "network.accept", "listed", &why));
  ASSERT_OK(hls_config_set(c, "network.handshake_timeout", "3s", &why));
  ASSERT_OK(hls_config_set(c, "network.max_connections", "10", &why));
  ASSERT_OK(hls_config_set(c, "network.max_handshakes", "4", &why));
  ASSERT_OK(hls_config_set(c, "network.max_frame", "1MiB", &why));
  ASSERT_OK(hls_config_set(c, "network.write_queue", "1MiB", &why));
  ASSERT_OK(hls_config_set(c, "network.keepalive", "10s", &why));
  ASSERT_OK(hls_config_set(c, "network.reconnect_min", "2s", &why));
  ASSERT_OK(hls_config_set(c, "network.reconnect_max", "10m", &why));
  ASSERT_OK(hls_config_set(c, "network.frame_timeout", "20s", &why));
  ASSERT_OK(hls_config_set(c, "network.idle_timeout", "1h", &why));
  ASSERT_OK(hls_config_set(c, "network.max_per_address", "3", &why));
  ASSERT_OK(hls_config_set(c, "network.reserved_for_listed", "2", &why));
  ASSERT_OK(hls_config_set(c, "gossip.new_origins_per_hour", "50", &why));
  ASSERT_OK(hls_config_set(c, "gossip.connections", "3", &why));
  ASSERT_OK(hls_config_set(c, "gossip.interval", "1s", &why));
  ASSERT_OK(hls_config_set(c, "gossip.window", "8", &why));
  ASSERT_OK(hls_config_set(c, "gossip.batch_items", "100", &why));
  ASSERT_OK(hls_config_set(c, "gossip.max_origins", "5000", &why));
  ASSERT_OK(hls_config_set(c, "node.records", "on", &why));
  /* Every engine parameter, each changed (and hls_pat_params_check
   * still holds). */
  ASSERT_OK(hls_config_set(c, "patterns.fdr", "0.02", &why));
  ASSERT_OK(hls_config_set(c, "patterns.keep_p", "0.1", &why));
  ASSERT_OK(hls_config_set(c, "patterns.end_weeks", "4", &why));
  ASSERT_OK(hls_config_set(c, "patterns.baseline_weeks", "20", &why));
  ASSERT_OK(hls_config_set(c, "patterns.min_baseline_weeks", "6", &why));
  ASSERT_OK(hls_config_set(c, "patterns.reference_weeks", "40", &why));
  ASSERT_OK(hls_config_set(c, "patterns.min_reference", "10", &why));
  ASSERT_OK(hls_config_set(c, "patterns.max_scan_places", "32", &why));
  ASSERT_OK(hls_config_set(c, "patterns.spread_weeks", "3", &why));
  ASSERT_OK(hls_config_set(c, "patterns.spread_history_weeks", "10", &why));
  ASSERT_OK(hls_config_set(c, "patterns.spread_min_places", "5", &why));
  ASSERT_OK(hls_config_set(c, "patterns.emerging_weeks", "2", &why));
  ASSERT_OK(hls_config_set(c, "patterns.emerging_min_places", "3", &why));
  ASSERT_OK(hls_config_set(c, "patterns.rising_weeks", "6", &why));
  ASSERT_OK(hls_config_set(c, "patterns.rising_min_places", "4", &why));
  ASSERT_OK(hls_config_set(c, "patterns.together_weeks", "4", &why));
  ASSERT_OK(hls_config_set(c, "patterns.together_min_count", "4", &why));
  ASSERT_OK(hls_config_set(c, "patterns.together_min_places", "4", &why));
  ASSERT_OK(hls_config_set(c, "patterns.cross_weeks", "3", &why));
  ASSERT_OK(hls_config_set(c, "patterns.cross_min_scales", "3", &why));
  ASSERT_OK(hls_config_set(c, "patterns.cross_min_places", "3", &why));
  ASSERT_OK(hls_config_set(c, "retention.person", "6y", &why));
  ASSERT_OK(hls_config_set(c, "retention.organisation", "18m", &why));
  ASSERT_OK(hls_config_set(c, "retention.place", "90d", &why));
  ASSERT_OK(hls_config_set(c, "retention.country", "100y", &why));
}

static void test_reserve_must_leave_slots(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "node.place", "P", &why));
  ASSERT_OK(hls_config_set(&c, "node.region", "R", &why));
  ASSERT_OK(hls_config_check(&c, &why));
  ASSERT_OK(hls_config_set(&c, "network.max_connections", "8", &why));
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);
  assert_non_null(strstr(why.text, "network.reserved_for_listed (8) must be less than network.max_connections (8)"));
  ASSERT_OK(hls_config_set(&c, "network.reserved_for_listed", "7", &why));
  ASSERT_OK(hls_config_check(&c, &why));
}

static void test_apply_reload(void **state) {
  (void)state;
  struct hls_config live, fresh;
  struct hls_why why = {{0}};
  hls_config_defaults(&live);
  ASSERT_OK(hls_config_set(&live, "node.place", "Old Place", &why));
  ASSERT_OK(hls_config_set(&live, "node.region", "Old Region", &why));
  all_changed(&fresh);
  /* Every option differs: make sure of it, so the test covers the table. */
  size_t n;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    char a[256], b[256];
    hls_config_format_value(&live, &o[i], a, sizeof a);
    hls_config_format_value(&fresh, &o[i], b, sizeof b);
    if (strcmp(a, b) == 0) fail_msg("test config leaves %s.%s unchanged", o[i].section, o[i].name);
  }

  struct hls_config before = live;
  struct restart_log l = {0};
  hls_config_apply_reload(&live, &fresh, on_restart, &l);
  int expected_restarts = 0;
  for (size_t i = 0; i < n; i++) {
    char now[256], was[256], want[256];
    hls_config_format_value(&live, &o[i], now, sizeof now);
    hls_config_format_value(&before, &o[i], was, sizeof was);
    hls_config_format_value(&fresh, &o[i], want, sizeof want);
    if (o[i].reloadable) {
      assert_string_equal(now, want);
    } else {
      assert_string_equal(now, was);
      assert_true(expected_restarts < l.n);
      assert_ptr_equal(l.opts[expected_restarts], &o[i]); /* in table order */
      expected_restarts++;
    }
  }
  assert_int_equal(l.n, expected_restarts);
  assert_false(option_named("network", "listen")->reloadable);
  assert_false(option_named("store", "synchronous")->reloadable);
  assert_true(option_named("log", "level")->reloadable);
  assert_true(expected_restarts >= 2);
  assert_string_equal(live.listen, "0.0.0.0:7420");
  assert_int_equal(live.store_synchronous, 1);
  assert_string_equal(live.place, "Changed Place");
  assert_int_equal(live.control_request_timeout_ms, 1500);

  /* Reloading the same thing again: nothing to report. */
  memset(&l, 0, sizeof l);
  struct hls_config same = live;
  hls_config_apply_reload(&live, &same, on_restart, &l);
  assert_int_equal(l.n, 0);
  assert_memory_equal(&live, &same, sizeof live);

  /* Only a reloadable change: applied, no restart reported; a NULL
   * callback is allowed. */
  ASSERT_OK(hls_config_set(&same, "log.level", "debug", &why));
  ASSERT_OK(hls_config_set(&same, "network.listen", "127.0.0.1:1", &why));
  hls_config_apply_reload(&live, &same, NULL, NULL);
  assert_int_equal(live.log_level, HLS_LOG_DEBUG);
  assert_string_equal(live.listen, "0.0.0.0:7420");

  /* A shorter string replaces a longer one completely. */
  hls_config_defaults(&live);
  ASSERT_OK(hls_config_set(&live, "node.place", "A Much Longer Place Name", &why));
  hls_config_defaults(&fresh);
  ASSERT_OK(hls_config_set(&fresh, "node.place", "Short", &why));
  hls_config_apply_reload(&live, &fresh, on_restart, &l);
  assert_string_equal(live.place, "Short");
}

/* --- writer -------------------------------------------------------------- */

static char *write_to_string(const struct hls_config *c) {
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  assert_non_null(f);
  assert_int_equal(hls_config_write(f, c), 0);
  assert_int_equal(fclose(f), 0);
  return buf;
}

static void assert_same_config(const struct hls_config *a, const struct hls_config *b) {
  size_t n;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    char va[256], vb[256];
    hls_config_format_value(a, &o[i], va, sizeof va);
    hls_config_format_value(b, &o[i], vb, sizeof vb);
    if (strcmp(va, vb) != 0) fail_msg("%s.%s: \"%s\" became \"%s\"", o[i].section, o[i].name, va, vb);
  }
}

/* The text holds a "[section]" line, and in that section a line setting
 * the option (commented out or not). */
static void assert_lists_every_option(const char *text) {
  size_t n;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    char header[64], set[96], commented[96];
    snprintf(header, sizeof header, "\n[%s]\n", o[i].section);
    const char *sec = strstr(text, header);
    if (sec == NULL) fail_msg("no section [%s]", o[i].section);
    const char *next = strstr(sec + 1, "\n[");
    snprintf(set, sizeof set, "\n%s = ", o[i].name);
    snprintf(commented, sizeof commented, "\n#%s = ", o[i].name);
    const char *at = strstr(sec, set);
    if (at == NULL) at = strstr(sec, commented);
    if (at == NULL || (next != NULL && at > next)) fail_msg("%s.%s is not listed in its section", o[i].section, o[i].name);
  }
}

static void test_write_round_trip(void **state) {
  struct tmpfile *t = *state;
  struct hls_why why = {{0}};
  struct hls_config c, back;

  /* Everything changed: every option is written uncommented. */
  all_changed(&c);
  char *text = write_to_string(&c);
  assert_lists_every_option(text);
  assert_non_null(strstr(text, "\nplace = Changed Place\n"));
  assert_non_null(strstr(text, "\nlisten = [::1]:9999\n"));
  assert_non_null(strstr(text, "\nsynchronous = normal\n"));
  assert_non_null(strstr(text, "\ncontrol_request_timeout = 1500ms\n"));
  assert_non_null(strstr(text, "[reload]"));
  write_text(t->path, text);
  free(text);
  hls_config_defaults(&back);
  ASSERT_OK(hls_config_load_file(&back, t->path, &why));
  assert_same_config(&c, &back);
  ASSERT_OK(hls_config_check(&back, &why));

  /* Defaults plus the required options: the defaults are commented out,
   * with their value, and still come back. */
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "node.place", "Leeds; Bradford = Kirklees", &why));
  ASSERT_OK(hls_config_set(&c, "node.region", "Yorkshire #1", &why));
  ASSERT_OK(hls_config_set(&c, "limits.max_text_bytes", "20000", &why));
  text = write_to_string(&c);
  assert_lists_every_option(text);
  assert_non_null(strstr(text, "\n#level = info\n"));
  assert_non_null(strstr(text, "\n#listen = 0.0.0.0:7420\n"));
  assert_non_null(strstr(text, "\n#control_max_frame = 8MiB\n"));
  assert_non_null(strstr(text, "\nmax_text_bytes = 20000\n"));
  assert_non_null(strstr(text, "\nplace = Leeds; Bradford = Kirklees\n"));
  /* Every comment line is a comment, and no line is too long to read. */
  for (const char *line = text; *line; ) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    assert_true(len < 200);
    line += len + (end ? 1 : 0);
  }
  write_text(t->path, text);
  free(text);
  hls_config_defaults(&back);
  ASSERT_OK(hls_config_load_file(&back, t->path, &why));
  assert_same_config(&c, &back);

  /* A value the file format cannot hold (inih trims values and cuts an
   * inline comment at " ;") would not come back: it is refused when set,
   * rather than written and silently changed on the next load. */
  const char *unwritable[] = {"Leeds ; Bradford", " Gateshead", "Gateshead ", "North East ;", ";Leeds", NULL};
  for (int i = 0; unwritable[i] != NULL; i++) {
    hls_config_defaults(&c);
    if (hls_config_set(&c, "node.place", unwritable[i], &why) != 0) {
      assert_non_null(strstr(why.text, "node.place"));
      continue;
    }
    ASSERT_OK(hls_config_set(&c, "node.region", "R", &why));
    text = write_to_string(&c);
    write_text(t->path, text);
    free(text);
    hls_config_defaults(&back);
    ASSERT_OK(hls_config_load_file(&back, t->path, &why));
    assert_same_config(&c, &back);
  }

  /* The longest values round-trip too. */
  char longest[HLS_PLACE_MAX + 1];
  memset(longest, 'x', HLS_PLACE_MAX);
  longest[HLS_PLACE_MAX] = '\0';
  all_changed(&c);
  ASSERT_OK(hls_config_set(&c, "node.place", longest, &why));
  ASSERT_OK(hls_config_set(&c, "node.region", longest, &why));
  text = write_to_string(&c);
  write_text(t->path, text);
  free(text);
  hls_config_defaults(&back);
  ASSERT_OK(hls_config_load_file(&back, t->path, &why));
  assert_same_config(&c, &back);
}

static void test_print_help_lists_every_option(void **state) {
  (void)state;
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  assert_non_null(f);
  hls_config_print_help(f);
  assert_int_equal(fclose(f), 0);
  size_t n;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    char key[64];
    snprintf(key, sizeof key, "%s.%s  (", o[i].section, o[i].name);
    if (strstr(buf, key) == NULL) fail_msg("help lacks %s", key);
  }
  assert_non_null(strstr(buf, "error|warn|info|debug"));
  assert_non_null(strstr(buf, "64KiB to 16MiB"));
  assert_non_null(strstr(buf, "1s to 1h"));
  free(buf);
}

/* --- [patterns]: the engine's parameters ---------------------------------- */

/* The [patterns] options are the engine's parameters, one for one, with
 * the defaults of hls_pat_params_default, and bounds that are those of
 * hls_pat_params_check: each bound passes the engine's check (the other
 * parameters set to let it), and one step beyond it fails. */
static void set_pat(struct hls_config *c, const struct hls_config_option *o, double v) {
  char *field = (char *)c + o->offset;
  if (o->type == HLS_CFG_REAL) {
    memcpy(field, &v, sizeof v);
  } else {
    int x = (int)v;
    memcpy(field, &x, sizeof x);
  }
}

static void test_patterns_options_are_the_engine_params(void **state) {
  (void)state;
  struct hls_config d;
  hls_config_defaults(&d);
  struct hls_pat_params want;
  hls_pat_params_default(&want);
  size_t n, count = 0, bytes = 0;
  const struct hls_config_option *o = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(o[i].section, "patterns") != 0) continue;
    count++;
    /* The default is the engine's, field by field (padding aside). */
    size_t at = o[i].offset - offsetof(struct hls_config, patterns);
    if (memcmp((const char *)&d + o[i].offset, (const char *)&want + at, o[i].size) != 0)
      fail_msg("patterns.%s: the default is not hls_pat_params_default's", o[i].name);
    bytes += o[i].size;
    assert_true(o[i].type == HLS_CFG_INT || o[i].type == HLS_CFG_REAL);
    assert_true(o[i].offset >= offsetof(struct hls_config, patterns));
    assert_true(o[i].offset + o[i].size <= offsetof(struct hls_config, patterns) + sizeof(struct hls_pat_params));
    assert_false(o[i].reloadable); /* the engine is built once, at start */
    double lo = o[i].type == HLS_CFG_REAL ? o[i].rmin : (double)o[i].min;
    double hi = o[i].type == HLS_CFG_REAL ? o[i].rmax : (double)o[i].max;
    double step = o[i].type == HLS_CFG_REAL ? lo / 2 : 1;
    for (int end = 0; end < 2; end++) {
      /* Room for the bounds that depend on another parameter: those
       * bounded by another at their least, the others at their most. */
      struct hls_config c;
      hls_config_defaults(&c);
      c.patterns.fdr = 1e-9;
      c.patterns.keep_p = 0.5;
      c.patterns.baseline_weeks = 260;
      c.patterns.min_baseline_weeks = 2;
      c.patterns.reference_weeks = 520;
      c.patterns.min_reference = 4;
      c.patterns.max_scan_places = 4096;
      c.patterns.emerging_min_places = 1;
      c.patterns.cross_min_places = 1;
      double v = end == 0 ? lo : hi;
      set_pat(&c, &o[i], v);
      struct hls_why why = {{0}};
      if (hls_pat_params_check(&c.patterns, &why) != 0)
        fail_msg("patterns.%s = %g (a bound of the option) is refused by the engine: %s", o[i].name, v, why.text);
      set_pat(&c, &o[i], end == 0 ? v - step : (o[i].type == HLS_CFG_REAL ? v * 1.01 : v + 1));
      if (hls_pat_params_check(&c.patterns, &why) == 0)
        fail_msg("patterns.%s beyond %g is allowed by the engine: widen the option", o[i].name, v);
    }
  }
  /* Every field of the struct is an option. */
  assert_int_equal(count, HLS_PAT_PARAM_COUNT);
  assert_true(bytes <= sizeof(struct hls_pat_params) && sizeof(struct hls_pat_params) - bytes < sizeof(double));
}

/* The [patterns] options are the rows of HLS_PAT_PARAMS, one for one and
 * in order: name, type, field, bounds, default and help. A row added to
 * one side only (a hand-written option, a table row config does not
 * expand) fails here. */
static void test_patterns_options_are_the_table(void **state) {
  (void)state;
  size_t n, n_rows, k = 0;
  const struct hls_config_option *o = hls_config_options(&n);
  const struct hls_pat_param *t = hls_pat_params_table(&n_rows);
  assert_int_equal(n_rows, HLS_PAT_PARAM_COUNT);
  struct hls_config d;
  hls_config_defaults(&d);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(o[i].section, "patterns") != 0) continue;
    if (k >= n_rows) fail_msg("patterns.%s: an option with no row in HLS_PAT_PARAMS", o[i].name);
    const struct hls_pat_param *r = &t[k];
    assert_string_equal(o[i].name, r->name);
    assert_int_equal(o[i].type, r->type == HLS_PAT_PARAM_REAL ? HLS_CFG_REAL : HLS_CFG_INT);
    assert_int_equal(o[i].offset, offsetof(struct hls_config, patterns) + r->offset);
    assert_int_equal(o[i].size, r->type == HLS_PAT_PARAM_REAL ? sizeof(double) : sizeof(int));
    if (r->type == HLS_PAT_PARAM_REAL) {
      assert_true(o[i].rmin == r->min && o[i].rmax == r->max);
    } else {
      assert_true((double)o[i].min == r->min && (double)o[i].max == r->max);
    }
    assert_non_null(o[i].default_text);
    if (strtod(o[i].default_text, NULL) != r->def)
      fail_msg("patterns.%s: default text %s is not the row's %g", r->name, o[i].default_text, r->def);
    if (hls_pat_param_get(&d.patterns, (int)k) != r->def)
      fail_msg("patterns.%s: the configuration's default is not the row's", r->name);
    assert_string_equal(o[i].help, r->help);
    k++;
  }
  if (k != n_rows) fail_msg("%s: a row of HLS_PAT_PARAMS with no [patterns] option", t[k].name);
}

/* Each parameter's default lies within its own bounds and those another
 * parameter sets (an earlier one, so that hls_pat_params_check checks it
 * first); the defaults together pass the engine's check. */
static void test_patterns_defaults_within_bounds(void **state) {
  (void)state;
  size_t n;
  const struct hls_pat_param *t = hls_pat_params_table(&n);
  struct hls_pat_params d;
  hls_pat_params_default(&d);
  for (size_t i = 0; i < n; i++) {
    const struct hls_pat_param *r = &t[i];
    double v = hls_pat_param_get(&d, (int)i);
    assert_true(v == r->def);
    if (!(r->min <= r->def && r->def <= r->max))
      fail_msg("%s: default %g not in %g..%g", r->name, r->def, r->min, r->max);
    if (r->type == HLS_PAT_PARAM_INT)
      assert_true(r->def == (int)r->def && r->min == (int)r->min && r->max == (int)r->max);
    assert_true(r->min_by == HLS_PAT_IX_NONE || (r->min_by >= 0 && (size_t)r->min_by < i));
    assert_true(r->max_by == HLS_PAT_IX_NONE || (r->max_by >= 0 && (size_t)r->max_by < i));
    if (r->min_by != HLS_PAT_IX_NONE) assert_true(r->def >= t[r->min_by].def);
    if (r->max_by != HLS_PAT_IX_NONE) assert_true(r->def <= t[r->max_by].def);
    /* The help names the parameter that bounds it. */
    int by = r->min_by != HLS_PAT_IX_NONE ? r->min_by : r->max_by;
    if (by != HLS_PAT_IX_NONE && strstr(r->help, t[by].name) == NULL)
      fail_msg("patterns.%s: the help does not say it is bounded by %s", r->name, t[by].name);
    /* Every method's parameters are its own; only the reserved ones are
     * no method's (and so never listed with a pattern). */
    bool reserved = strcmp(r->name, "reference_weeks") == 0 || strcmp(r->name, "min_reference") == 0;
    assert_true(reserved ? r->signals == HLS_PAT_USES_NONE : r->signals != 0 && r->signals <= HLS_PAT_USES_ALL);
  }
  struct hls_why why = {{0}};
  assert_int_equal(hls_pat_params_check(&d, &why), 0);
}

/* hlsd --set patterns.NAME=V (hls_config_set) reaches the engine's field
 * NAME and no other, and the engine takes it. */
static void test_patterns_set_reaches_the_engine(void **state) {
  (void)state;
  size_t n;
  const struct hls_pat_param *t = hls_pat_params_table(&n);
  for (size_t i = 0; i < n; i++) {
    const struct hls_pat_param *r = &t[i];
    /* A value other than the default that the others' defaults allow: the
     * least when another parameter bounds it or it bounds another from
     * below, else the most. */
    bool low = r->max_by != HLS_PAT_IX_NONE;
    for (size_t j = 0; j < n; j++) low = low || t[j].min_by == (int)i;
    double v = low ? r->min : r->max;
    assert_true(v != r->def);
    char key[64], text[32];
    snprintf(key, sizeof key, "patterns.%s", r->name);
    snprintf(text, sizeof text, "%.17g", v);
    struct hls_config c;
    struct hls_why why = {{0}};
    hls_config_defaults(&c);
    struct hls_pat_params want;
    hls_pat_params_default(&want);
    hls_pat_param_set(&want, (int)i, v);
    ASSERT_OK(hls_config_set(&c, key, text, &why));
    for (size_t j = 0; j < n; j++) /* field by field: padding aside */
      if (hls_pat_param_get(&c.patterns, (int)j) != hls_pat_param_get(&want, (int)j))
        fail_msg("%s=%s: the field %s is not as set", key, text, t[j].name);
    struct hls_patterns *pt = NULL;
    if (hls_patterns_new(&pt, &c.patterns, &why) != 0)
      fail_msg("%s=%s: the engine refuses it: %s", key, text, why.text);
    hls_patterns_free(pt);
  }
}

static void test_patterns_cross_bounds(void **state) {
  (void)state;
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  ASSERT_OK(hls_config_set(&c, "node.place", "P", &why));
  ASSERT_OK(hls_config_set(&c, "node.region", "R", &why));
  ASSERT_OK(hls_config_set(&c, "patterns.fdr", "0.001", &why));
  assert_true(c.patterns.fdr == 0.001);
  ASSERT_OK(hls_config_set(&c, "patterns.keep_p", "0.0005", &why)); /* in its own bounds ... */
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);         /* ... but below fdr */
  assert_non_null(strstr(why.text, "keep_p"));
  assert_non_null(strstr(why.text, "[patterns]"));
  ASSERT_OK(hls_config_set(&c, "patterns.keep_p", "0.05", &why));
  ASSERT_OK(hls_config_check(&c, &why));
  ASSERT_OK(hls_config_set(&c, "patterns.min_baseline_weeks", "30", &why)); /* above baseline_weeks 26 */
  assert_int_equal(hls_config_check(&c, &why), HLS_ECONFIG);
  assert_non_null(strstr(why.text, "min_baseline_weeks"));
  expect_refused("patterns.fdr", "0.6", "patterns.fdr", "between 1e-09 and 0.5", NULL);
  expect_refused("patterns.fdr", "0", "patterns.fdr", "number", NULL);
  expect_refused("patterns.fdr", "-0.01", "patterns.fdr", NULL);
  expect_refused("patterns.fdr", "nan", "patterns.fdr", NULL);
  expect_refused("patterns.fdr", "0.01x", "patterns.fdr", NULL);
  expect_refused("patterns.end_weeks", "0", "patterns.end_weeks", "between 1 and 52", NULL);
  expect_refused("patterns.cross_min_scales", "5", "patterns.cross_min_scales", "between 2 and 4", NULL);
  /* The formatted value of a real reads back exactly. */
  char text[64];
  hls_config_format_value(&c, option_named("patterns", "fdr"), text, sizeof text);
  assert_string_equal(text, "0.001");
}

/* Options of the methods before issue 12: hlsd --set refuses them, naming
 * the replacement; in a file they are warnings, and a renamed one is
 * applied under its new name. */
static void test_patterns_retired_options(void **state) {
  struct tmpfile *t = *state;
  expect_refused("patterns.window_weeks", "8", "patterns.window_weeks", "no longer an option", "together_weeks", NULL);
  expect_refused("patterns.emerging_guard_weeks", "2", "no longer an option", "patterns.emerging_weeks", NULL);
  expect_refused("patterns.cross_scale_min_places", "3", "patterns.cross_min_places", NULL);
  struct hls_config c, d;
  struct hls_why why = {{0}};
  hls_config_defaults(&d);
  ASSERT_OK(load_text(t,
                      "[patterns]\n"
                      "window_weeks = 4\n"
                      "emerging_baseline_weeks = 7\n"
                      "emerging_min_count = 3\n"
                      "rising_reference_weeks = 26\n"
                      "spread_min_places = 4\n"
                      "cross_scale_min_places = 3\n",
                      &c, &why));
  assert_int_equal(c.patterns.spread_min_places, 4);
  assert_int_equal(c.patterns.cross_min_places, 3); /* renamed: applied */
  c.patterns.spread_min_places = d.patterns.spread_min_places;
  c.patterns.cross_min_places = d.patterns.cross_min_places;
  assert_memory_equal(&c, &d, sizeof c); /* the rest ignored */
  /* A renamed option's value is checked under its new name. */
  expect_file_error(t, "[patterns]\ncross_scale_min_places = 0\n", 2, "patterns.cross_min_places: must be between");
  /* Elsewhere the names are unknown, as before. */
  expect_file_error(t, "[node]\nwindow_weeks = 4\n", 2, "[node] window_weeks: unknown option");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_parse_within_bounds),
      cmocka_unit_test(test_int_bounds),
      cmocka_unit_test(test_size_bounds),
      cmocka_unit_test(test_duration_bounds),
      cmocka_unit_test(test_period_values),
      cmocka_unit_test(test_enum_choices),
      cmocka_unit_test(test_string_length),
      cmocka_unit_test(test_addr),
      cmocka_unit_test(test_unknown_option),
      cmocka_unit_test_setup_teardown(test_file_good, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_missing, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_bad_value_line, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_unknown_section_or_key, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_option_twice, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_syntax_errors, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_file_long_lines, setup_tmp, teardown_tmp),
      cmocka_unit_test(test_check_requires_place_and_region),
      cmocka_unit_test(test_apply_reload),
      cmocka_unit_test(test_reserve_must_leave_slots),
      cmocka_unit_test_setup_teardown(test_write_round_trip, setup_tmp, teardown_tmp),
      cmocka_unit_test(test_print_help_lists_every_option),
      cmocka_unit_test(test_patterns_options_are_the_engine_params),
      cmocka_unit_test(test_patterns_options_are_the_table),
      cmocka_unit_test(test_patterns_defaults_within_bounds),
      cmocka_unit_test(test_patterns_set_reaches_the_engine),
      cmocka_unit_test(test_patterns_cross_bounds),
      cmocka_unit_test_setup_teardown(test_patterns_retired_options, setup_tmp, teardown_tmp),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
