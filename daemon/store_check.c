/* Checking the store's file (store.h): SQLite's quick_check and
 * integrity_check, at open, on a worker thread, and the clean-close mark
 * that lets a start skip the check of a file exactly as hlsd left it
 * (docs/data-model.md, "Checked at start"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* --- the check ------------------------------------------------------------- */

static int check_db(sqlite3 *db, const char *path, bool full, hls_store_problem_cb cb, void *ctx,
                    struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)", -1, &st, NULL);
  if (rc != SQLITE_OK) {
    hls_store_sqlite_error(db, rc, why);
    hls_why_prefix(why, "%s: ", path);
    return HLS_ECORRUPT;
  }
  int64_t problems = 0;
  char first[160] = "";
  int cb_rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *msg = (const char *)sqlite3_column_text(st, 0);
    if (msg == NULL || strcmp(msg, "ok") == 0) continue;
    if (problems++ == 0) snprintf(first, sizeof first, "%s", msg);
    if (cb != NULL && cb_rc == 0) cb_rc = cb(ctx, msg);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_INTERRUPT) return hls_why_set(why, HLS_ECLOSED, "%s: the check was stopped", path);
  if (rc != SQLITE_DONE) {
    /* Damage bad enough that the check itself cannot read the file. */
    hls_store_sqlite_error(db, rc, why);
    hls_why_prefix(why, "%s is damaged: ", path);
    return HLS_ECORRUPT;
  }
  if (cb_rc != 0) return cb_rc;
  if (problems > 0)
    return hls_why_set(why, HLS_ECORRUPT, "%s is damaged (%s found %lld problem%s; the first: %s)", path,
                       full ? "integrity_check" : "quick_check", (long long)problems, problems == 1 ? "" : "s", first);
  return 0;
}

int hls_store_check(struct hls_store *s, bool full, hls_store_problem_cb cb, void *ctx, struct hls_why *why) {
  return check_db(s->db, s->path, full, cb, ctx, why);
}

bool hls_store_check_deferred(const struct hls_store *s) { return s->check_deferred && !s->checked; }
bool hls_store_opened_clean(const struct hls_store *s) { return s->opened_clean; }
void hls_store_check_passed(struct hls_store *s) { s->checked = true; }
void hls_store_mark_clean_on_close(struct hls_store *s) { s->mark_clean = true; }

/* --- on a worker thread ---------------------------------------------------- */

struct hls_store_bgcheck {
  sqlite3 *db; /* owned: read-only, its own */
  char path[4096];
};

int hls_store_bgcheck_new(struct hls_store_bgcheck **out, const struct hls_store *s, struct hls_why *why) {
  *out = NULL;
  struct hls_store_bgcheck *c = calloc(1, sizeof *c);
  if (c == NULL) return HLS_ENOMEM;
  snprintf(c->path, sizeof c->path, "%s", s->path);
  /* FULLMUTEX: sqlite3_interrupt comes from another thread. */
  int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK) {
    rc = hls_store_sqlite_error(c->db, rc, why);
    hls_store_bgcheck_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int hls_store_bgcheck_run(struct hls_store_bgcheck *c, struct hls_why *why) {
  return check_db(c->db, c->path, false, NULL, NULL, why);
}

void hls_store_bgcheck_interrupt(struct hls_store_bgcheck *c) {
  if (c != NULL) sqlite3_interrupt(c->db);
}

void hls_store_bgcheck_free(struct hls_store_bgcheck *c) {
  if (c == NULL) return;
  sqlite3_close(c->db);
  free(c);
}

/* --- the clean-close mark -------------------------------------------------- */

/* The mark: one line naming the file as it was left. Not a secret, and
 * not a proof against someone who can write the file (they can write the
 * mark too): it spares the check of a file nobody touched. */
static int mark_line(const char *path, char *out, size_t size) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  int n = snprintf(out, size, "hlsd-clean-close 1 %ju %ju %jd %jd %ld\n", (uintmax_t)st.st_dev,
                   (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
                   (long)st.st_mtim.tv_nsec);
  return n > 0 && (size_t)n < size ? 0 : -1;
}

static bool wal_present(const char *path) {
  char wal[4200];
  struct stat st;
  snprintf(wal, sizeof wal, "%s-wal", path);
  return stat(wal, &st) == 0 ? st.st_size > 0 : errno != ENOENT;
}

bool hls_store__clean_mark_take(const char *path) {
  char mark[4200], want[200], got[200] = "";
  snprintf(mark, sizeof mark, "%s.clean", path);
  int fd = open(mark, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  ssize_t n = read(fd, got, sizeof got - 1);
  close(fd);
  got[n > 0 ? n : 0] = '\0';
  /* Removed before it is trusted: if it cannot be, it is not. */
  if (unlink(mark) != 0) return false;
  return n > 0 && mark_line(path, want, sizeof want) == 0 && strcmp(got, want) == 0 && !wal_present(path);
}

void hls_store__clean_mark_write(const char *path) {
  char mark[4200], tmp[4208], line[200];
  if (wal_present(path) || mark_line(path, line, sizeof line) != 0) return;
  snprintf(mark, sizeof mark, "%s.clean", path);
  snprintf(tmp, sizeof tmp, "%s.tmp", mark);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  size_t len = strlen(line);
  bool ok = write(fd, line, len) == (ssize_t)len && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, mark) != 0) unlink(tmp);
}
