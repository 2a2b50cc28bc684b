/* The hlsd config-file parser (inih + the option table).
 *
 * hls_config_load_file only reads from a path, so each input is written to
 * one temporary file made once per process and rewritten in place. The
 * file is unlinked at once and reached through /proc/self/fd, so a killed
 * fuzzer leaves nothing behind (with a fallback path where /proc is
 * missing).
 *
 * Checks: every loaded value is within its option's bounds, and a config
 * that passes hls_config_check survives hls_config_write (the file
 * `hls init` writes) and loading that file back unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static int tmp_fd = -1;
static char tmp_template[4096];
static char tmp_path[sizeof tmp_template];

static void remove_tmp(void) { unlink(tmp_template); }

static void open_tmp(void) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  snprintf(tmp_template, sizeof tmp_template, "%s/hls-fuzz-config-XXXXXX", dir);
  tmp_fd = mkstemp(tmp_template);
  if (tmp_fd < 0) {
    fprintf(stderr, "fuzz_config: mkstemp %s: %s\n", tmp_template, strerror(errno));
    abort();
  }
  snprintf(tmp_path, sizeof tmp_path, "/proc/self/fd/%d", tmp_fd);
  if (access(tmp_path, R_OK) == 0) {
    unlink(tmp_template);
  } else {
    memcpy(tmp_path, tmp_template, sizeof tmp_path);
    atexit(remove_tmp);
  }
}

static void write_tmp(const void *data, size_t size) {
  if (tmp_fd < 0) open_tmp();
  FUZZ_CHECK(ftruncate(tmp_fd, 0) == 0);
  const char *p = data;
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(tmp_fd, p + done, size - done, (off_t)done);
    FUZZ_CHECK(n > 0);
    done += (size_t)n;
  }
}

static void check_bounds(const struct hls_config *c) {
  size_t n = 0;
  const struct hls_config_option *opts = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    const struct hls_config_option *o = &opts[i];
    const char *field = (const char *)c + o->offset;
    char text[300];
    switch (o->type) {
      case HLS_CFG_STRING:
      case HLS_CFG_ADDR: FUZZ_CHECK(memchr(field, '\0', o->size) != NULL); break;
      case HLS_CFG_ENUM: {
        int v = *(const int *)(const void *)field, count = 0;
        while (o->choices[count] != NULL) count++;
        FUZZ_CHECK(v >= 0 && v < count);
        break;
      }
      case HLS_CFG_REAL: {
        double v;
        memcpy(&v, field, sizeof v);
        FUZZ_CHECK(v >= o->rmin && v <= o->rmax);
        break;
      }
      case HLS_CFG_PERIOD: {
        struct hls_period p;
        memcpy(&p, field, sizeof p);
        FUZZ_CHECK(p.unit >= HLS_PERIOD_KEEP && p.unit <= HLS_PERIOD_YEARS);
        FUZZ_CHECK(p.unit == HLS_PERIOD_KEEP ? p.count == 0 : p.count >= 1);
        break;
      }
      default: {
        int64_t v;
        if (o->size == sizeof(int)) { /* the engine's parameters */
          int x;
          memcpy(&x, field, sizeof x);
          v = x;
        } else {
          memcpy(&v, field, sizeof v);
        }
        FUZZ_CHECK(v >= o->min && v <= o->max);
      }
    }
    hls_config_format_value(c, o, text, sizeof text);
  }
}

static void count_restart(const struct hls_config_option *o, void *ctx) {
  (void)o;
  ++*(int *)ctx;
}

/* hls_config_write, then load what it wrote: the same configuration. */
static void check_write_round_trip(const struct hls_config *c) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  FUZZ_CHECK(f != NULL);
  FUZZ_CHECK(hls_config_write(f, c) == 0);
  FUZZ_CHECK(fclose(f) == 0);
  write_tmp(text, len);
  free(text);

  struct hls_config back;
  struct hls_why why = {{0}};
  hls_config_defaults(&back);
  int rc = hls_config_load_file(&back, tmp_path, &why);
  if (rc != 0) fprintf(stderr, "the written config does not load: %s\n", why.text);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(hls_config_check(&back, &why) == 0);
  size_t n = 0;
  const struct hls_config_option *opts = hls_config_options(&n);
  for (size_t i = 0; i < n; i++) {
    char a[300], b[300];
    hls_config_format_value(c, &opts[i], a, sizeof a);
    hls_config_format_value(&back, &opts[i], b, sizeof b);
    if (strcmp(a, b) != 0) fprintf(stderr, "%s.%s: wrote \"%s\", read \"%s\"\n", opts[i].section, opts[i].name, a, b);
    FUZZ_CHECK(strcmp(a, b) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  write_tmp(data, size);
  struct hls_config c;
  struct hls_why why = {{0}};
  hls_config_defaults(&c);
  int rc = hls_config_load_file(&c, tmp_path, &why);
  FUZZ_CHECK(rc == 0 || rc == HLS_ECONFIG);
  FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL);
  check_bounds(&c); /* a failed load may have set some options: still in bounds */
  if (rc == 0 && hls_config_check(&c, &why) == 0) {
    struct hls_config live;
    int restarts = 0;
    hls_config_defaults(&live);
    hls_config_apply_reload(&live, &c, count_restart, &restarts);
    check_bounds(&live);
    check_write_round_trip(&c);
  }
  return 0;
}
