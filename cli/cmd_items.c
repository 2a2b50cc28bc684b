/* hls import-items DIR: load the envelopes of DIR's .items files into hlsd
 * as if a peer had sent them (docs/cli.md).
 *
 * Two passes, so that bad input is reported before anything changes:
 *  1. every .items file is read in turn (streamed: at most two envelopes'
 *     worth of it in memory), each envelope decoded and its signature
 *     checked, and indexed (origin, seq, id, link, where its bytes are);
 *     the first bad one stops everything, named by file and byte offset;
 *  2. the index is ordered (protocol/items.h: by origin and seq,
 *     duplicates dropped, conflicting items last) and sent to hlsd in
 *     items.import requests of about HLS_IMPORT_ITEMS_BATCH_BYTES, each
 *     envelope read again from its file. hlsd checks everything again, and
 *     its refusal (a gap above what it holds, ...) is reported by file and
 *     offset too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hls_limits.h"
#include "items.h"
#include "nodeid.h"
#include "progress.h"

#define ITEMS_SUFFIX ".items"
/* The read buffer holds the largest envelope whole, plus a read's worth. */
#define READ_BUF (2u * HLS_ENV_MAX_BYTES)

struct importer {
  struct cli *c;
  const char *dir;
  char **paths; /* owned: the .items files, sorted */
  size_t n_files;
  struct hls_items_entry *e; /* owned: the index */
  size_t n, cap;
  size_t origins, duplicates;
  /* pass 2 */
  int fd; /* the file last read from, -1 if none */
  uint32_t fd_file;
  uint8_t *env_buf; /* owned: one envelope read back */
  uint64_t imported, held, stubbed, ignored, forks;
  struct hls_progress bar;
};

static void importer_free(struct importer *im) {
  for (size_t i = 0; i < im->n_files; i++) free(im->paths[i]);
  free(im->paths);
  free(im->e);
  free(im->env_buf);
  if (im->fd >= 0) close(im->fd);
}

static int fail(struct importer *im, int code, const char *fmt, ...) HLS_PRINTF(3, 4);
static int fail(struct importer *im, int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  hls_progress_end(&im->bar);
  return cli_fail(im->c, code, "%s", msg);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The regular files of DIR whose names end in .items, sorted. */
static int list_files(struct importer *im) {
  DIR *d = opendir(im->dir);
  if (d == NULL) {
    struct stat st;
    if (errno == ENOTDIR || (stat(im->dir, &st) == 0 && !S_ISDIR(st.st_mode)))
      return fail(im, HLS_EINVAL, "%s: not a directory", im->dir);
    return fail(im, HLS_EIO, "%s: %s", im->dir, strerror(errno));
  }
  size_t cap = 0, dlen = strlen(im->dir);
  bool slash = dlen > 0 && im->dir[dlen - 1] == '/';
  int rc = 0;
  struct dirent *de;
  errno = 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name), sl = sizeof ITEMS_SUFFIX - 1;
    if (len <= sl || strcmp(de->d_name + len - sl, ITEMS_SUFFIX) != 0) continue;
    char *path = malloc(dlen + 1 + len + 1);
    if (path == NULL) {
      rc = fail(im, HLS_ENOMEM, "out of memory");
      break;
    }
    snprintf(path, dlen + 1 + len + 1, "%s%s%s", im->dir, slash ? "" : "/", de->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) { /* a directory, a dangling link: not a file */
      free(path);
      continue;
    }
    if (im->n_files == cap) {
      cap = cap ? cap * 2 : 64;
      char **p = realloc(im->paths, cap * sizeof *p);
      if (p == NULL) {
        free(path);
        rc = fail(im, HLS_ENOMEM, "out of memory");
        break;
      }
      im->paths = p;
    }
    im->paths[im->n_files++] = path;
    errno = 0;
  }
  if (rc == 0 && errno != 0) rc = fail(im, HLS_EIO, "%s: %s", im->dir, strerror(errno));
  closedir(d);
  if (rc != 0) return rc;
  if (im->n_files == 0) return fail(im, HLS_EINVAL, "%s holds no %s files", im->dir, ITEMS_SUFFIX);
  if (im->n_files > UINT32_MAX) return fail(im, HLS_ETOOBIG, "%s: too many files", im->dir);
  qsort(im->paths, im->n_files, sizeof *im->paths, by_name);
  return 0;
}

static int add_entry(struct importer *im, const struct hls_envelope *env, uint32_t file, uint64_t offset,
                     size_t len) {
  if (im->n == im->cap) {
    size_t cap = im->cap ? im->cap * 2 : 1024;
    struct hls_items_entry *e = realloc(im->e, cap * sizeof *e);
    if (e == NULL) return HLS_ENOMEM;
    im->e = e;
    im->cap = cap;
  }
  struct hls_items_entry *x = &im->e[im->n];
  memset(x, 0, sizeof *x);
  memcpy(x->origin, env->h.origin, HLS_KEY_BYTES);
  x->seq = env->h.seq;
  memcpy(x->id, env->id, HLS_HASH_BYTES);
  if (env->h.has_prev) memcpy(x->prev, env->h.prev, HLS_HASH_BYTES);
  x->file = file;
  x->offset = offset;
  x->len = (uint32_t)len;
  x->order = im->n++;
  x->body = env->body != NULL;
  return 0;
}

/* Pass 1 over one file: decode, verify and index every envelope. */
static int index_file(struct importer *im, uint32_t file, uint8_t *buf) {
  const char *path = im->paths[file];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(im, HLS_EIO, "%s: %s", path, strerror(errno));
  size_t have = 0;      /* bytes in buf */
  uint64_t base = 0;    /* file offset of buf[0] */
  bool eof = false;
  int rc = 0;
  while (rc == 0) {
    while (!eof && have < READ_BUF) {
      ssize_t r = read(fd, buf + have, READ_BUF - have);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        rc = fail(im, HLS_EIO, "%s: %s", path, strerror(errno));
        break;
      }
      if (r == 0) eof = true;
      have += (size_t)r;
    }
    if (rc != 0) break;
    size_t at = 0;
    while (at < have) {
      struct hls_envelope env;
      struct hls_why why = {{0}};
      size_t used;
      int e = hls_items_next(buf + at, have - at, &env, &used, &why);
      if (e == HLS_ETRUNCATED && !eof) break; /* the rest of it is still in the file */
      if (e == HLS_ETRUNCATED) {
        rc = fail(im, e, "%s: byte %llu: the file ends inside an envelope (%zu bytes of it)", path,
                  (unsigned long long)(base + at), have - at);
        break;
      }
      if (e != 0) {
        rc = fail(im, e, "%s: byte %llu: not a valid envelope: %s", path, (unsigned long long)(base + at), why.text);
        break;
      }
      if (hls_env_verify(&env) != 0) {
        char who[HLS_NODEID_TEXT_SIZE];
        hls_nodeid_format(env.h.origin, who);
        rc = fail(im, HLS_EBADSIG, "%s: byte %llu: bad signature (origin %s seq %llu)", path,
                  (unsigned long long)(base + at), who, (unsigned long long)env.h.seq);
        break;
      }
      if (add_entry(im, &env, file, base + at, used) != 0) {
        rc = fail(im, HLS_ENOMEM, "out of memory");
        break;
      }
      at += used;
      hls_progress_update(&im->bar, file, im->n_files);
    }
    if (rc != 0) break;
    memmove(buf, buf + at, have - at);
    have -= at;
    base += at;
    if (eof && have == 0) break;
  }
  close(fd);
  return rc;
}

/* Read entry x's bytes back into im->env_buf (pass 2). */
static int read_back(struct importer *im, const struct hls_items_entry *x) {
  const char *path = im->paths[x->file];
  if (im->fd < 0 || im->fd_file != x->file) {
    if (im->fd >= 0) close(im->fd);
    im->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (im->fd < 0) return fail(im, HLS_EIO, "%s: %s", path, strerror(errno));
    im->fd_file = x->file;
  }
  size_t got = 0;
  while (got < x->len) {
    ssize_t r = pread(im->fd, im->env_buf + got, x->len - got, (off_t)(x->offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail(im, HLS_EIO, "%s: %s", path, r < 0 ? strerror(errno) : "changed while importing");
    got += (size_t)r;
  }
  return 0;
}

/* Send entries [from, to) in one items.import request and take the reply. */
static int send_batch(struct importer *im, size_t from, size_t to) {
  struct cli *c = im->c;
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, HLS_M_ITEMS_IMPORT);
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_cstr(&r.pk, "envelopes");
  msgpack_pack_array(&r.pk, (uint32_t)(to - from));
  for (size_t i = from; i < to; i++) {
    int rc = read_back(im, &im->e[i]);
    if (rc != 0) {
      hls_client_req_free(&r);
      return rc;
    }
    msgpack_pack_bin(&r.pk, im->e[i].len);
    msgpack_pack_bin_body(&r.pk, im->env_buf, im->e[i].len);
  }
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  int rc = cli_connect(c);
  if (rc == 0) {
    rc = hls_client_call(&c->client, &r, &resp, NULL, NULL, &why);
    if (rc != 0) rc = fail(im, rc, "%s", why.text[0] ? why.text : hls_strerror(rc));
  }
  hls_client_req_free(&r);
  if (rc != 0) return rc;
  im->imported += (uint64_t)hls_out_int(resp.result, "imported");
  im->held += (uint64_t)hls_out_int(resp.result, "held");
  im->stubbed += (uint64_t)hls_out_int(resp.result, "stubbed");
  im->ignored += (uint64_t)hls_out_int(resp.result, "ignored");
  im->forks += (uint64_t)hls_out_int(resp.result, "forks");
  const struct hls_mp_value *err = hls_mp_get(resp.result, "error");
  if (err != NULL && err->type == HLS_MP_MAP) {
    int64_t index = hls_out_int(err, "index");
    char message[512], code[48];
    hls_out_str(err, "message", message, sizeof message);
    hls_out_str(err, "code", code, sizeof code);
    size_t at = index >= 0 && (uint64_t)index < to - from ? from + (size_t)index : from;
    const struct hls_items_entry *x = &im->e[at];
    rc = fail(im, hls_err_from_name(code), "%s: byte %llu: hlsd refused it: %s (%llu item%s imported before it)",
              im->paths[x->file], (unsigned long long)x->offset, message, (unsigned long long)im->imported,
              im->imported == 1 ? "" : "s");
  }
  hls_ctl_response_free(&resp);
  return rc;
}

static int send_all(struct importer *im) {
  size_t from = 0;
  while (from < im->n) {
    size_t to = from, bytes = 0;
    while (to < im->n && to - from < HLS_IMPORT_ITEMS_MAX &&
           (to == from || bytes + im->e[to].len <= HLS_IMPORT_ITEMS_BATCH_BYTES))
      bytes += im->e[to++].len;
    int rc = send_batch(im, from, to);
    if (rc != 0) return rc;
    from = to;
    hls_progress_update(&im->bar, from, im->n);
  }
  return 0;
}

static size_t count_origins(const struct hls_items_entry *e, size_t n_runs) {
  size_t k = 0;
  for (size_t i = 0; i < n_runs; i++)
    if (i == 0 || memcmp(e[i].origin, e[i - 1].origin, HLS_KEY_BYTES) != 0) k++;
  return k;
}

static const char *plural(uint64_t n, const char *one, const char *many) { return n == 1 ? one : many; }

static int report(struct importer *im) {
  if (im->c->json) {
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "imported", (json_int_t)im->imported,
                          "held", (json_int_t)im->held, "origins", (json_int_t)im->origins, "files",
                          (json_int_t)im->n_files, "envelopes", (json_int_t)(im->n + im->duplicates), "duplicates",
                          (json_int_t)im->duplicates, "stubbed", (json_int_t)im->stubbed, "ignored",
                          (json_int_t)im->ignored, "forks", (json_int_t)im->forks);
    int rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  char extra[512] = "";
  size_t len = 0;
#define EXTRA(...) len += (size_t)snprintf(extra + len, len < sizeof extra ? sizeof extra - len : 0, __VA_ARGS__)
  if (im->duplicates) EXTRA(", %zu %s in the files", im->duplicates, plural(im->duplicates, "duplicate", "duplicates"));
  if (im->stubbed)
    EXTRA(", %llu peers-only %s kept as %s", (unsigned long long)im->stubbed, plural(im->stubbed, "body", "bodies"),
          plural(im->stubbed, "a stub", "stubs"));
  if (im->ignored)
    EXTRA(", %llu %s of forked origins ignored", (unsigned long long)im->ignored, plural(im->ignored, "item", "items"));
  if (im->forks)
    EXTRA(", fork evidence for %llu %s (hls status)", (unsigned long long)im->forks,
          plural(im->forks, "origin", "origins"));
#undef EXTRA
  printf("imported %llu %s from %zu %s (%llu already held%s)\n", (unsigned long long)im->imported,
         plural(im->imported, "item", "items"), im->origins, plural(im->origins, "origin", "origins"),
         (unsigned long long)im->held, extra);
  return 0;
}

int cmd_import_items(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind + 1 != argc) return cli_usage(c, "give one DIR");
  struct importer im = {.c = c, .dir = argv[optind], .fd = -1};
  if ((rc = cli_connect(c)) != 0) return rc; /* before reading a large directory */
  hls_progress_start(&im.bar, "reading");
  rc = list_files(&im);
  uint8_t *buf = rc == 0 ? malloc(READ_BUF) : NULL;
  if (rc == 0 && buf == NULL) rc = fail(&im, HLS_ENOMEM, "out of memory");
  for (uint32_t f = 0; rc == 0 && f < im.n_files; f++) rc = index_file(&im, f, buf);
  free(buf);
  size_t n_runs = 0;
  if (rc == 0 && hls_items_order(im.e, &im.n, &n_runs, &im.duplicates) != 0)
    rc = fail(&im, HLS_ENOMEM, "out of memory");
  if (rc == 0) {
    im.origins = count_origins(im.e, n_runs);
    im.env_buf = malloc(HLS_ENV_MAX_BYTES);
    if (im.env_buf == NULL) rc = fail(&im, HLS_ENOMEM, "out of memory");
  }
  hls_progress_end(&im.bar);
  if (rc == 0) {
    hls_progress_start(&im.bar, "importing");
    rc = send_all(&im);
    hls_progress_end(&im.bar);
  }
  if (rc == 0) rc = report(&im);
  importer_free(&im);
  return rc;
}
