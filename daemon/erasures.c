#include "erasures.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home.h"

#define PATH_SIZE 4096
#define LINE_MAX_BYTES 48                  /* "ID CREATED_MS\n": two int64s and a space */
#define FILE_MAX ((int64_t)1 << 32)        /* 4 GiB: about 130 million erasures */

static const char header[] =
    "# hlsd erasure list: the records this node deleted (id, creation time in ms).\n"
    "# hlsd keeps this file, outside the store, so that a store restored from an\n"
    "# older backup does not bring them back. Never edit it, never delete it, and\n"
    "# never restore it from a backup (docs/operations.md#restore).\n";

static int path_of(const char *dir, char out[PATH_SIZE], struct hls_why *why) {
  int n = snprintf(out, PATH_SIZE, "%s/%s", dir, HLS_ERASURES_FILE);
  return n < 0 || n >= PATH_SIZE ? hls_why_set(why, HLS_ETOOBIG, "%s: path too long", dir) : 0;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

size_t hls_erasures_format(const struct hls_erasure *e, char *buf, size_t size) {
  int n = snprintf(buf, size, "%" PRId64 " %" PRId64 "\n", e->record_id, e->created_ms);
  return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

int hls_erasures_append(const char *dir, const struct hls_erasure *e, size_t n, struct hls_why *why) {
  char path[PATH_SIZE];
  int rc = path_of(dir, path, why);
  if (rc != 0 || n == 0) return rc;
  char *buf = malloc(n * LINE_MAX_BYTES + sizeof header + 1);
  if (buf == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600); /* read: its last byte */
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
    goto done;
  }
  size_t len = 0;
  if (st.st_size == 0) {
    memcpy(buf, header, sizeof header - 1);
    len = sizeof header - 1;
  } else {
    /* A line cut short by a crash is ended, so that it stays one bad
     * line (skipped) and the next entry starts a line of its own. */
    char last = '\n';
    if (pread(fd, &last, 1, st.st_size - 1) != 1) last = '\n';
    if (last != '\n') buf[len++] = '\n';
  }
  for (size_t i = 0; i < n; i++)
    len += hls_erasures_format(&e[i], buf + len, LINE_MAX_BYTES);
  if (write_all(fd, buf, len) != 0 || fdatasync(fd) != 0) {
    rc = hls_why_set(why, errno == ENOSPC ? HLS_EDISKFULL : HLS_EIO, "%s: %s", path, strerror(errno));
    goto done;
  }
  /* A new file: its name is durable once the directory is (best effort:
   * the entries themselves are written and synced). */
  if (st.st_size == 0) (void)hls_home_fsync_dir(dir);
done:
  if (fd >= 0) close(fd);
  free(buf);
  return rc;
}

/* One "ID CREATED_MS" line (without its newline); false if it is not one. */
static bool parse_line(const char *p, size_t len, struct hls_erasure *out) {
  char line[LINE_MAX_BYTES];
  if (len == 0 || len >= sizeof line) return false;
  memcpy(line, p, len);
  line[len] = '\0';
  char *end = NULL;
  errno = 0;
  /* strtoll would skip leading white space: a line is exactly the digits. */
  if (!(line[0] >= '0' && line[0] <= '9')) return false;
  long long id = strtoll(line, &end, 10);
  if (errno != 0 || end == line || *end != ' ' || id <= 0) return false;
  const char *second = end + 1;
  if (!((second[0] >= '0' && second[0] <= '9') || (second[0] == '-' && second[1] >= '0' && second[1] <= '9')))
    return false;
  long long created = strtoll(second, &end, 10);
  if (errno != 0 || end == second || *end != '\0') return false;
  out->record_id = id;
  out->created_ms = created;
  return true;
}

int hls_erasures_load(const char *dir, int64_t from, struct hls_erasure **out, size_t *n, int64_t *end, bool *shorter,
                      struct hls_why *why) {
  char path[PATH_SIZE];
  *out = NULL;
  *n = 0;
  *end = 0;
  *shorter = false;
  int rc = path_of(dir, path, why);
  if (rc != 0) return rc;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
    *shorter = from > 0;
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size > FILE_MAX) {
    close(fd);
    return hls_why_set(why, HLS_EIO, "%s: %s", path, st.st_size > FILE_MAX ? "larger than 4 GiB" : strerror(errno));
  }
  if (from < 0 || from > st.st_size) {
    *shorter = from > st.st_size;
    from = 0;
  }
  size_t size = (size_t)(st.st_size - from);
  char *data = malloc(size + 1);
  if (data == NULL) {
    close(fd);
    return hls_why_set(why, HLS_ENOMEM, "out of memory");
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, data + got, size - got, from + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  size_t whole = 0;
  struct hls_erasure *e = NULL;
  size_t k = 0;
  rc = hls_erasures_parse(data, got, &e, &k, &whole, why);
  free(data);
  if (rc != 0) return rc;
  *out = e;
  *n = k;
  *end = from + (int64_t)whole;
  return 0;
}

int hls_erasures_parse(const char *data, size_t len, struct hls_erasure **out, size_t *n, size_t *whole,
                       struct hls_why *why) {
  *out = NULL;
  *n = 0;
  /* Up to the last whole line: a line cut short is left for later (it
   * is ended, and skipped, at the next append). */
  size_t w = len;
  while (w > 0 && data[w - 1] != '\n') w--;
  *whole = w;
  size_t count = 0;
  for (size_t i = 0; i < w; i++) count += data[i] == '\n';
  if (count == 0) return 0;
  struct hls_erasure *e = malloc(count * sizeof *e);
  if (e == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < w;) {
    const char *nl = memchr(data + i, '\n', w - i);
    size_t line = (size_t)(nl - (data + i));
    if (data[i] != '#' && parse_line(data + i, line, &e[k])) k++;
    i += line + 1;
  }
  *out = e;
  *n = k;
  return 0;
}
