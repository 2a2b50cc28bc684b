#include "chainmark.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodeid.h"

#define MARK_MAX 4096 /* the file is about 200 bytes; anything longer is not a mark */
#define MARK_PATH_MAX 4096

/* dir/name in out. The chain mark knows its file by name only: where the
 * data directory is, and what else is in it, is home.c's business (home.c
 * uses this module, not the other way round). */
static int mark_path(const char *dir, const char *name, char out[MARK_PATH_MAX]) {
  int n = snprintf(out, MARK_PATH_MAX, "%s/%s", dir, name);
  return n < 0 || n >= MARK_PATH_MAX ? HLS_ETOOBIG : 0;
}

void hls_chainmark_format(const uint8_t node_pk[32], const struct hls_chainmark *m, char *out, size_t size) {
  char id[HLS_NODEID_TEXT_SIZE], hex[65];
  hls_nodeid_format(node_pk, id);
  sodium_bin2hex(hex, sizeof hex, m->item_id, 32);
  snprintf(out, size,
           "# hlsd chain mark: the highest seq this node has signed. hlsd keeps this\n"
           "# file; never edit it and never restore it from a backup (docs/operations.md).\n"
           "node_id %s\nseq %llu\nitem_id %s\n",
           id, (unsigned long long)m->seq, hex);
}

/* One "key value" line of text (NUL-terminated) into value (cap bytes). */
static bool field(const char *text, const char *key, char *value, size_t cap) {
  size_t klen = strlen(key);
  for (const char *line = text; *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > klen && line[0] != '#' && memcmp(line, key, klen) == 0 && line[klen] == ' ') {
      size_t vlen = len - klen - 1;
      if (vlen >= cap) return false;
      memcpy(value, line + klen + 1, vlen);
      value[vlen] = '\0';
      return true;
    }
    line = end ? end + 1 : line + len;
  }
  return false;
}

int hls_chainmark_load(const char *dir, const uint8_t node_pk[32], struct hls_chainmark *out, bool *present,
                       struct hls_why *why) {
  char path[MARK_PATH_MAX], text[MARK_MAX + 1];
  memset(out, 0, sizeof *out);
  *present = false;
  if (mark_path(dir, HLS_CHAINMARK_FILE, path) != 0) return hls_why_set(why, HLS_ETOOBIG, "home path too long");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  }
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, text + len, sizeof text - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(e));
    }
    if (r == 0) break;
    len += (size_t)r;
    if (len == sizeof text - 1) break;
  }
  close(fd);
  if (len == sizeof text - 1) return hls_why_set(why, HLS_EMALFORMED, "%s is not an hlsd chain mark", path);
  int rc = hls_chainmark_parse(text, len, node_pk, out, why);
  if (rc != 0) {
    hls_why_prefix(why, "%s: ", path);
    return rc;
  }
  *present = true;
  return 0;
}

int hls_chainmark_parse(const char *data, size_t len, const uint8_t node_pk[32], struct hls_chainmark *out,
                        struct hls_why *why) {
  char text[MARK_MAX + 1];
  memset(out, 0, sizeof *out);
  if (len > MARK_MAX || memchr(data, '\0', len) != NULL)
    return hls_why_set(why, HLS_EMALFORMED, "not an hlsd chain mark");
  memcpy(text, data, len);
  text[len] = '\0';
  char id_text[HLS_NODEID_TEXT_SIZE + 8], seq_text[32], hex[80];
  uint8_t pk[32], id[32];
  char *end = NULL;
  if (!field(text, "node_id", id_text, sizeof id_text) || !field(text, "seq", seq_text, sizeof seq_text) ||
      !field(text, "item_id", hex, sizeof hex))
    return hls_why_set(why, HLS_EMALFORMED, "not an hlsd chain mark");
  errno = 0;
  unsigned long long seq = strtoull(seq_text, &end, 10);
  size_t bin_len = 0;
  if (seq_text[0] < '0' || seq_text[0] > '9' || *end != '\0' || errno != 0 || seq > (unsigned long long)INT64_MAX ||
      strlen(hex) != 64 || sodium_hex2bin(id, 32, hex, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32 ||
      hls_nodeid_parse(id_text, pk) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "not an hlsd chain mark");
  if (memcmp(pk, node_pk, 32) != 0)
    return hls_why_set(why, HLS_EINVAL, "belongs to another node (%s), not to this node's key", id_text);
  out->seq = seq;
  memcpy(out->item_id, id, 32);
  return 0;
}

int hls_chainmark_save(const char *dir, const uint8_t node_pk[32], const struct hls_chainmark *m,
                       struct hls_why *why) {
  char path[MARK_PATH_MAX], tmp[MARK_PATH_MAX], text[512];
  if (mark_path(dir, HLS_CHAINMARK_FILE, path) != 0 || mark_path(dir, HLS_CHAINMARK_FILE ".tmp", tmp) != 0)
    return hls_why_set(why, HLS_ETOOBIG, "home path too long");
  hls_chainmark_format(node_pk, m, text, sizeof text);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", tmp, strerror(errno));
  size_t len = strlen(text), off = 0;
  int rc = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = hls_why_set(why, hls_err_from_errno(errno), "%s: %s", tmp, strerror(errno));
      break;
    }
    off += (size_t)w;
  }
  if (rc == 0 && fsync(fd) != 0) rc = hls_why_set(why, hls_err_from_errno(errno), "%s: fsync: %s", tmp, strerror(errno));
  if (close(fd) != 0 && rc == 0) rc = hls_why_set(why, HLS_EIO, "%s: %s", tmp, strerror(errno));
  if (rc == 0 && rename(tmp, path) != 0) rc = hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  if (rc != 0) {
    unlink(tmp);
    return rc;
  }
  /* The rename itself must survive a power cut. */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", dir, strerror(errno));
  if (fsync(dfd) != 0) rc = hls_why_set(why, HLS_EIO, "%s: fsync: %s", dir, strerror(errno));
  close(dfd);
  return rc;
}
