/* Benchmark: cross-place patterns, in the engine and in hlsd.
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage: bench_patterns HLSD HLS [options]        (bench_patterns --help)
 *
 * BENCH_SET="S.NAME=VALUE ..." gives hlsd more options (as bench_partner).
 *
 * Data: placegen (tests/gen/placegen.h) with --places, --weeks, --themes
 * and --seed (default 1000 x 104 x 200, seed 1): every place's chain (a
 * profile, then per week its digest and that week's stories), signed and
 * written as DIR/<origin>.items, as hls_gen_items writes them. Generating
 * is not timed.
 *
 * 1. Engine (protocol/patterns.h), in this process. --builds times: a new
 *    engine is fed every item of those files in origin order (the order
 *    hlsd loads them in), then hls_patterns_update computes every pattern
 *    from scratch. Reading and decoding the envelopes and bodies, feeding
 *    (hls_patterns_place / _digest / _story) and the update are timed
 *    apart. On the last engine, one item at a time, each followed by
 *    hls_patterns_update (timed):
 *      supersede  --updates times, a random place (each a different one)
 *                 re-publishes the digest of its last week with one cell
 *                 more or one organisation-scale count higher (higher seq);
 *      new week   --new-weeks times, one place publishes the first digest
 *                 of the week after the newest (its last digest's cells);
 *      same week  --updates times, another place publishes its digest of
 *                 that newest week.
 *    --profiles-first feeds every profile before any other item instead
 *    (to see what naming places costs; hlsd does not load in that order).
 *
 * 2. hlsd end to end. hls init a partner home; start hlsd; time
 *    hls import-items DIR; stop it. Then --restarts times each, in turn:
 *    empty the tables patterns, pattern_events and pattern_tests (SQLite
 *    C API) and start hlsd (a first start: every test computed), or start
 *    it with the tables as they are (the saved tests of frozen weeks
 *    taken: docs/patterns.md); each start's
 *    patterns_ready log line gives load_ms, compute_ms and store_ms. Then,
 *    with hlsd running (log.level=debug), the three series of step 1
 *    (--daemon-updates items for supersede and same week, --new-weeks for
 *    new week), each item a real envelope continuing its place's chain,
 *    imported alone with hls import-items: the patterns_updated line that
 *    follows gives took_us (hlsd's flush: engine update and store
 *    transaction), and the time from starting hls import-items to that
 *    line is noted too. The line is waited for (inotify on the log, with
 *    a deadline); an update that changed no pattern logs none and is
 *    counted as such. Last, --listings times each (interleaved): the whole
 *    hls --json patterns command (fork, exec, socket, query, JSON out to
 *    /dev/null) with no filter (limit 50), with --theme of the most common
 *    theme, with --signal emerging (every row scanned, few returned) and
 *    with --limit 0; then the same patterns requests on the control socket
 *    alone; and hls --help (process start, no socket) for scale.
 *
 * Environment: BENCH_KEEP=1 keeps the temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ctl.h"
#include "envelope.h"
#include "items.h"
#include "patterns.h"
#include "placegen.h"

/* --- options: one table for the parser and --help ----------------------------------- */

struct opts {
  long places, weeks, themes, seed;
  long builds, updates, new_weeks, restarts, daemon_updates, listings, threads;
  bool engine_only, profiles_first, help;
};

enum opt_kind { OPT_LONG, OPT_FLAG };

static const struct opt_row {
  const char *name;
  enum opt_kind kind;
  size_t off;
  long min, max, def;
  const char *help;
} opt_table[] = {
    {"--places", OPT_LONG, offsetof(struct opts, places), 3, PLACEGEN_MAX_PLACES, 1000, "places, one chain each"},
    {"--weeks", OPT_LONG, offsetof(struct opts, weeks), 8, PLACEGEN_MAX_WEEKS, 104, "weeks of digests"},
    {"--themes", OPT_LONG, offsetof(struct opts, themes), 1, PLACEGEN_MAX_THEMES, 200, "background themes"},
    {"--seed", OPT_LONG, offsetof(struct opts, seed), 0, 1L << 30, 1, "placegen seed"},
    {"--builds", OPT_LONG, offsetof(struct opts, builds), 1, 100, 3, "engine: from-scratch computations"},
    {"--updates", OPT_LONG, offsetof(struct opts, updates), 1, 10000, 30,
     "engine: items of the supersede and the same-week series"},
    {"--new-weeks", OPT_LONG, offsetof(struct opts, new_weeks), 0, 50, 5,
     "engine and hlsd: first digests of a new week"},
    {"--restarts", OPT_LONG, offsetof(struct opts, restarts), 1, 100, 5,
     "hlsd: starts with emptied tables, and as many with them kept"},
    {"--daemon-updates", OPT_LONG, offsetof(struct opts, daemon_updates), 1, 1000, 20,
     "hlsd: items of the supersede and the same-week series"},
    {"--listings", OPT_LONG, offsetof(struct opts, listings), 1, 10000, 30, "hlsd: runs of each listing"},
    {"--threads", OPT_LONG, offsetof(struct opts, threads), 1, HLS_PAT_MAX_THREADS, 1,
     "engine: threads of hls_patterns_update (hls_patterns_set_threads)"},
    {"--engine-only", OPT_FLAG, offsetof(struct opts, engine_only), 0, 0, 0, "step 1 only (HLSD and HLS not needed)"},
    {"--profiles-first", OPT_FLAG, offsetof(struct opts, profiles_first), 0, 0, 0,
     "engine: feed every profile before the other items (not the order hlsd loads in)"},
    {"--help", OPT_FLAG, offsetof(struct opts, help), 0, 0, 0, "this text"},
};
#define OPT_N (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f) {
  fprintf(f, "usage: bench_patterns HLSD HLS [options]\n"
             "       bench_patterns --engine-only [options]\n\noptions (default):\n");
  for (size_t i = 0; i < OPT_N; i++) {
    char left[40];
    snprintf(left, sizeof left, "%s%s", opt_table[i].name, opt_table[i].kind == OPT_LONG ? " N" : "");
    if (opt_table[i].kind == OPT_LONG) fprintf(f, "  %-20s %s (%ld)\n", left, opt_table[i].help, opt_table[i].def);
    else fprintf(f, "  %-20s %s\n", left, opt_table[i].help);
  }
}

/* 0, or 2 (a usage error, reported). */
static int parse_args(int argc, char **argv, struct opts *o, const char **pos, int *n_pos) {
  memset(o, 0, sizeof *o);
  for (size_t k = 0; k < OPT_N; k++)
    if (opt_table[k].kind == OPT_LONG) *(long *)((char *)o + opt_table[k].off) = opt_table[k].def;
  *n_pos = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0) {
      if (*n_pos == 2) {
        fprintf(stderr, "bench_patterns: unexpected argument %s\n", argv[i]);
        return 2;
      }
      pos[(*n_pos)++] = argv[i];
      continue;
    }
    const struct opt_row *row = NULL;
    for (size_t k = 0; k < OPT_N && row == NULL; k++)
      if (strcmp(argv[i], opt_table[k].name) == 0) row = &opt_table[k];
    if (row == NULL) {
      fprintf(stderr, "bench_patterns: unknown option %s\n", argv[i]);
      return 2;
    }
    if (row->kind == OPT_FLAG) {
      *(bool *)((char *)o + row->off) = true;
      continue;
    }
    char *end;
    errno = 0;
    long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
    if (i + 1 >= argc || errno || end == argv[i + 1] || *end || v < row->min || v > row->max) {
      fprintf(stderr, "bench_patterns: %s takes a whole number in %ld..%ld\n", row->name, row->min, row->max);
      return 2;
    }
    *(long *)((char *)o + row->off) = v;
    i++;
  }
  if (!o->help && !o->engine_only && *n_pos != 2) {
    fprintf(stderr, "bench_patterns: give HLSD and HLS (or --engine-only)\n");
    return 2;
  }
  return 0;
}

/* --- processes ---------------------------------------------------------------------- *
 * Every hlsd started is remembered so that any exit, error paths included,
 * stops it: a benchmark must never leave daemons behind. */

static struct {
  pid_t hlsd;
  char dir[64];
} run;

static void stop_all(void) {
  if (run.hlsd > 0) {
    kill(run.hlsd, SIGTERM);
    waitpid(run.hlsd, NULL, 0);
    run.hlsd = 0;
  }
  if (run.dir[0] && getenv("BENCH_KEEP")) {
    fprintf(stderr, "BENCH_KEEP: kept %s\n", run.dir);
  } else if (run.dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run.dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", run.dir);
    run.dir[0] = '\0';
  }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_patterns: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (run.dir[0]) fprintf(stderr, "(files in %s%s)\n", run.dir, getenv("BENCH_KEEP") ? "" : ", now removed");
  exit(1); /* stop_all runs at exit */
}

static void on_signal(int sig) {
  if (run.hlsd > 0) {
    kill(run.hlsd, SIGTERM);
    waitpid(run.hlsd, NULL, 0);
  }
  static const char msg[] = "bench_patterns: interrupted; hlsd stopped, temporary directory left\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(128 + sig);
  _exit(128 + sig);
}

static void pause_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Run argv (NULL-terminated) with stdout to out, stderr to err (paths;
 * NULL: /dev/null); its exit status, and its wall time from fork to
 * reaped in *wall_s. */
static int run_cmd(const char *const argv[], const char *out, const char *err, double *wall_s) {
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fo >= 0) dup2(fo, 1);
    if (fe >= 0) dup2(fe, 2);
    char *args[32];
    int n = 0;
    for (; argv[n] != NULL && n < 31; n++) args[n] = strdup(argv[n]);
    args[n] = NULL;
    execv(args[0], args);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (wall_s) *wall_s = now_s() - t0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static long vm_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0) kb = atol(line + n);
  if (f) fclose(f);
  return kb;
}

static void loadavg(char out[64]) {
  FILE *f = fopen("/proc/loadavg", "r");
  double a = -1, b = -1, c = -1;
  if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3) a = b = c = -1;
  if (f) fclose(f);
  snprintf(out, 64, "%.2f, %.2f, %.2f", a, b, c);
}

static long long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* xorshift: the benchmark's own choices (places, cells), seeded. */
static uint32_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 16);
}

/* --- figures ------------------------------------------------------------------------ */

struct series {
  double *v;
  size_t n, cap;
};

static void add(struct series *s, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 32;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (s->v == NULL) die("out of memory");
  }
  s->v[s->n++] = x;
}

/* Quantile p of s (its values are reordered), NAN if empty. */
static double q(struct series *s, double p) { return s->n ? percentile(s->v, s->n, p) : (double)NAN; }

static double sum(const struct series *s) {
  double t = 0;
  for (size_t i = 0; i < s->n; i++) t += s->v[i];
  return t;
}

static double max_of(const struct series *s) {
  double m = s->n ? s->v[0] : (double)NAN;
  for (size_t i = 1; i < s->n; i++)
    if (s->v[i] > m) m = s->v[i];
  return m;
}

/* "median M, p90 P, min A, max B (n N)" of a series in ms. */
static void print_ms(const char *what, struct series *s) {
  if (s->n == 0) {
    printf("  %-54s (none)\n", what);
    return;
  }
  double lo = s->v[0], hi = max_of(s);
  for (size_t i = 1; i < s->n; i++)
    if (s->v[i] < lo) lo = s->v[i];
  printf("  %-54s median %9.2f ms  p90 %9.2f ms  min %9.2f  max %9.2f  (n %zu)\n", what, q(s, 0.5), q(s, 0.9), lo,
         hi, s->n);
}

/* --- generated chains ------------------------------------------------------------------ */

/* A place's chain as written, and its newest digest (to publish again). */
struct chain {
  uint64_t seq;          /* its last item */
  uint8_t prev[32];      /* that item's id */
  int32_t week;          /* absolute week of its newest digest */
  struct hls_digest last; /* a copy, cells owned */
  char hex[65];
};

struct gen {
  struct placegen *g;
  const char *dir;
  struct chain *ch;
  FILE *f;
  msgpack_sbuffer body, env;
  uint64_t items, digests, stories, cells, bytes;
  int32_t max_week;
};

static void digest_copy(struct hls_digest *dst, const struct hls_digest *src, size_t extra) {
  free(dst->cells);
  *dst = *src;
  dst->cells = malloc((src->n_cells + extra) * sizeof *dst->cells);
  if (dst->cells == NULL) die("out of memory");
  memcpy(dst->cells, src->cells, src->n_cells * sizeof *src->cells);
}

/* Sign body as place's next item; append it to f. */
static void put_item(struct gen *w, uint32_t place, int type, int32_t week, FILE *f) {
  struct chain *c = &w->ch[place];
  const struct placegen_place *pl = placegen_place(w->g, place);
  uint64_t seq = c->seq + 1;
  w->env.size = 0;
  struct hls_envelope e;
  if (hls_env_build(&w->env, type, pl->sk, seq, seq > 1 ? c->prev : NULL, placegen_timestamp_ms(week, seq),
                    HLS_AUD_NETWORK, (const uint8_t *)w->body.data, w->body.size) != 0 ||
      hls_env_decode(&e, (const uint8_t *)w->env.data, w->env.size, NULL) != 0)
    die("building item %llu of %s", (unsigned long long)seq, pl->name);
  memcpy(c->prev, e.id, 32);
  c->seq = seq;
  if (fwrite(w->env.data, 1, w->env.size, f) != w->env.size) die("writing: %s", strerror(errno));
  w->items++;
  w->bytes += w->env.size;
}

static int gen_place(void *ctx, const struct placegen_place *pl) {
  struct gen *w = ctx;
  struct chain *c = &w->ch[pl->index];
  sodium_bin2hex(c->hex, sizeof c->hex, pl->pk, 32);
  char path[256];
  snprintf(path, sizeof path, "%s/%s.items", w->dir, c->hex);
  if ((w->f = fopen(path, "wb")) == NULL) die("%s: %s", path, strerror(errno));
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "%s", pl->name);
  snprintf(prof.region, sizeof prof.region, "%s", pl->region);
  prof.role = HLS_PROFILE_PLACE;
  w->body.size = 0;
  if (hls_profile_pack(&w->body, &prof) != 0) die("profile");
  put_item(w, pl->index, HLS_ENV_PROFILE, placegen_first_week(w->g) - 1, w->f);
  return 0;
}

static int gen_digest(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d) {
  struct gen *w = ctx;
  struct chain *c = &w->ch[pl->index];
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0 || seq != c->seq + 1) die("placegen: odd digest");
  digest_copy(&c->last, d, 0);
  c->week = week;
  if (week > w->max_week) w->max_week = week;
  w->body.size = 0;
  if (hls_digest_pack(&w->body, &c->last) != 0) die("digest");
  put_item(w, pl->index, HLS_ENV_DIGEST, week, w->f);
  w->digests++;
  w->cells += d->n_cells;
  return 0;
}

static int gen_story(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s) {
  struct gen *w = ctx;
  int32_t week;
  if (hls_patterns_week(s->iso_year, s->iso_week, &week) != 0) die("placegen: odd story");
  w->body.size = 0;
  if (hls_story_pack(&w->body, s) != 0) die("story");
  put_item(w, pl->index, HLS_ENV_STORY, week, w->f);
  w->stories++;
  return 0;
}

static int gen_place_end(void *ctx, const struct placegen_place *pl, uint64_t last_seq) {
  struct gen *w = ctx;
  if (fclose(w->f) != 0) die("closing a chain: %s", strerror(errno));
  w->f = NULL;
  return last_seq == w->ch[pl->index].seq ? 0 : HLS_EINTERNAL;
}

/* The next digest of a place, into d (cells owned by d):
 *  same_week: its newest digest again, with one organisation-scale cell of
 *             a random background theme one to three records higher (a new
 *             cell if it had none): a late record, re-published;
 *  else:      the same cells for week (the week after its newest). */
static void next_digest(const struct gen *w, const struct chain *c, bool same_week, int32_t week, uint64_t *rng,
                        struct hls_digest *d) {
  memset(d, 0, sizeof *d);
  digest_copy(d, &c->last, 1);
  if (!same_week) {
    hls_patterns_iso_week(week, &d->iso_year, &d->iso_week);
    return;
  }
  const struct placegen_params *gp = placegen_params(w->g);
  uint32_t theme = next_rand(rng) % (uint32_t)gp->themes; /* background themes come first */
  const struct placegen_theme *th = placegen_theme(w->g, theme);
  int stage = (int)(next_rand(rng) % HLS_STAGE_COUNT);
  uint32_t more = 1 + next_rand(rng) % 3;
  for (size_t i = 0; i < d->n_cells; i++) {
    struct hls_digest_cell *x = &d->cells[i];
    if (strcmp(x->theme, th->slug) == 0 && x->kind == th->kind && x->scale == HLS_SCALE_ORGANISATION &&
        x->stage == stage) {
      x->count += more;
      return;
    }
  }
  struct hls_digest_cell *x = &d->cells[d->n_cells++];
  memset(x, 0, sizeof *x);
  snprintf(x->theme, sizeof x->theme, "%s", th->slug);
  x->kind = th->kind;
  x->scale = HLS_SCALE_ORGANISATION;
  x->stage = stage;
  x->count = more;
}

/* --- 1. the engine ------------------------------------------------------------------- */

struct feed_times {
  double read_s, decode_s, place_s, digest_s, story_s;
  size_t items;
};

enum feed_what { FEED_ALL, FEED_PROFILES, FEED_OTHERS };

/* Every item (or every profile, or every other item) of every chain file
 * into pt, in origin order. */
static void feed_files(struct hls_patterns *pt, char **paths, size_t n_paths, enum feed_what what,
                       struct feed_times *ft) {
  uint8_t *buf = NULL;
  size_t cap = 0;
  for (size_t k = 0; k < n_paths; k++) {
    double t = now_s();
    FILE *f = fopen(paths[k], "rb");
    if (f == NULL) die("%s: %s", paths[k], strerror(errno));
    long long size = file_size(paths[k]);
    if (size < 0) die("%s: %s", paths[k], strerror(errno));
    if ((size_t)size > cap) {
      cap = (size_t)size;
      if ((buf = realloc(buf, cap)) == NULL) die("out of memory");
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) die("%s: short read", paths[k]);
    fclose(f);
    ft->read_s += now_s() - t;
    for (size_t off = 0; off < (size_t)size;) {
      struct hls_envelope e;
      struct hls_why why = {{0}};
      size_t used;
      t = now_s();
      if (hls_items_next(buf + off, (size_t)size - off, &e, &used, &why) != 0) die("%s: %s", paths[k], why.text);
      off += used;
      int rc = 0;
      if ((what == FEED_PROFILES && e.h.type != HLS_ENV_PROFILE) || (what == FEED_OTHERS && e.h.type == HLS_ENV_PROFILE)) {
        ft->decode_s += now_s() - t;
        continue;
      }
      if (e.h.type == HLS_ENV_PROFILE) {
        struct hls_profile p;
        if (hls_profile_decode(&p, e.body, e.body_len, &why) != 0) die("profile: %s", why.text);
        double t1 = now_s();
        ft->decode_s += t1 - t;
        rc = hls_patterns_place(pt, e.h.origin, p.place, p.region);
        ft->place_s += now_s() - t1;
      } else if (e.h.type == HLS_ENV_DIGEST) {
        struct hls_digest d;
        if (hls_digest_decode(&d, e.body, e.body_len, &why) != 0) die("digest: %s", why.text);
        double t1 = now_s();
        ft->decode_s += t1 - t;
        rc = hls_patterns_digest(pt, e.h.origin, e.h.seq, &d);
        ft->digest_s += now_s() - t1;
        hls_digest_free(&d);
      } else if (e.h.type == HLS_ENV_STORY) {
        struct hls_story s;
        if (hls_story_decode(&s, e.body, e.body_len, &why) != 0) die("story: %s", why.text);
        double t1 = now_s();
        ft->decode_s += t1 - t;
        rc = hls_patterns_story(pt, e.h.origin, e.h.seq, &s);
        ft->story_s += now_s() - t1;
        hls_story_free(&s);
      }
      if (rc != 0) die("feeding the engine: %s", hls_strerror(rc));
      ft->items++;
    }
  }
  free(buf);
}

static int count_change(void *ctx, int change, const struct hls_pattern *p) {
  (void)change, (void)p;
  (*(size_t *)ctx)++;
  return 0;
}

struct engine_figures {
  struct series read, decode, feed, feed_place, feed_digest, feed_story, full, full_events;
  struct series sup, sup_feed, sup_events, first, first_events, same, same_events;
  size_t items, patterns, by_signal[HLS_PAT_SIGNAL_COUNT], places, themes_held;
  long rss_kb;
};

static void engine_item(struct hls_patterns *pt, const struct placegen_place *pl, uint64_t seq,
                        const struct hls_digest *d, struct series *upd, struct series *feed, struct series *events) {
  size_t ev = 0;
  double t0 = now_s();
  if (hls_patterns_digest(pt, pl->pk, seq, d) != 0) die("hls_patterns_digest");
  double t1 = now_s();
  if (hls_patterns_update(pt, count_change, &ev) != 0) die("hls_patterns_update");
  double t2 = now_s();
  add(upd, (t2 - t1) * 1e3);
  if (feed) add(feed, (t1 - t0) * 1e3);
  add(events, (double)ev);
}

static void run_engine(const struct opts *o, struct gen *w, char **paths, size_t n_paths, struct engine_figures *ef) {
  struct hls_pat_params params;
  hls_pat_params_default(&params);
  struct hls_patterns *pt = NULL;
  long rss0 = vm_kb(getpid(), "VmRSS:");
  for (long b = 0; b < o->builds; b++) {
    struct hls_why why = {{0}};
    hls_patterns_free(pt);
    if (hls_patterns_new(&pt, &params, &why) != 0) die("hls_patterns_new: %s", why.text);
    hls_patterns_set_threads(pt, (int)o->threads);
    struct feed_times ft = {0};
    if (o->profiles_first) {
      feed_files(pt, paths, n_paths, FEED_PROFILES, &ft);
      feed_files(pt, paths, n_paths, FEED_OTHERS, &ft);
    } else {
      feed_files(pt, paths, n_paths, FEED_ALL, &ft);
    }
    size_t ev = 0;
    double t = now_s();
    if (hls_patterns_update(pt, count_change, &ev) != 0) die("hls_patterns_update");
    double full = now_s() - t;
    add(&ef->read, ft.read_s * 1e3);
    add(&ef->decode, ft.decode_s * 1e3);
    add(&ef->feed, (ft.place_s + ft.digest_s + ft.story_s) * 1e3);
    add(&ef->feed_place, ft.place_s * 1e3);
    add(&ef->feed_digest, ft.digest_s * 1e3);
    add(&ef->feed_story, ft.story_s * 1e3);
    add(&ef->full, full * 1e3);
    add(&ef->full_events, (double)ev);
    ef->items = ft.items;
    fprintf(stderr, "engine build %ld: read %.0f ms, decode %.0f ms, feed %.0f ms (places %.0f, digests %.0f, "
                    "stories %.0f), full update %.0f ms, %zu patterns\n",
            b + 1, ft.read_s * 1e3, ft.decode_s * 1e3, (ft.place_s + ft.digest_s + ft.story_s) * 1e3,
            ft.place_s * 1e3, ft.digest_s * 1e3, ft.story_s * 1e3, full * 1e3, ev);
  }
  ef->rss_kb = vm_kb(getpid(), "VmRSS:") - rss0;
  struct hls_pat_stats st;
  hls_patterns_stats(pt, &st);
  ef->patterns = st.patterns;
  ef->places = st.places;
  ef->themes_held = st.themes;
  memcpy(ef->by_signal, st.by_signal, sizeof ef->by_signal);

  /* One item at a time. The engine's chains are copies: hlsd gets the
   * files' chains, continued on their own. */
  size_t n = placegen_n_places(w->g);
  struct chain *ch = calloc(n, sizeof *ch);
  uint32_t *order = malloc(n * sizeof *order);
  if (ch == NULL || order == NULL) die("out of memory");
  for (size_t i = 0; i < n; i++) {
    ch[i] = w->ch[i];
    ch[i].last.cells = NULL;
    digest_copy(&ch[i].last, &w->ch[i].last, 0);
    order[i] = (uint32_t)i;
  }
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)o->seed;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = next_rand(&rng) % (i + 1);
    uint32_t x = order[i];
    order[i] = order[j], order[j] = x;
  }
  size_t next = 0;
  for (long k = 0; k < o->updates; k++) {
    uint32_t p = order[next++ % n];
    struct chain *c = &ch[p];
    struct hls_digest d;
    next_digest(w, c, true, c->week, &rng, &d);
    engine_item(pt, placegen_place(w->g, p), ++c->seq, &d, &ef->sup, &ef->sup_feed, &ef->sup_events);
    free(c->last.cells);
    c->last = d;
  }
  int32_t week = w->max_week;
  for (long k = 0; k < o->new_weeks; k++) {
    uint32_t p = order[next++ % n];
    struct chain *c = &ch[p];
    struct hls_digest d;
    next_digest(w, c, false, ++week, &rng, &d);
    engine_item(pt, placegen_place(w->g, p), ++c->seq, &d, &ef->first, NULL, &ef->first_events);
    free(c->last.cells);
    c->last = d;
    c->week = week;
  }
  for (long k = 0; o->new_weeks > 0 && k < o->updates; k++) {
    uint32_t p = order[next++ % n];
    struct chain *c = &ch[p];
    struct hls_digest d;
    next_digest(w, c, false, week, &rng, &d);
    engine_item(pt, placegen_place(w->g, p), ++c->seq, &d, &ef->same, NULL, &ef->same_events);
    free(c->last.cells);
    c->last = d;
    c->week = week;
  }
  for (size_t i = 0; i < n; i++) free(ch[i].last.cells);
  free(ch);
  free(order);
  hls_patterns_free(pt);
}

/* --- control socket (docs/control.md) ------------------------------------------------------ */

struct ctl {
  int fd;
  uint64_t next_id;
  msgpack_sbuffer sb;
  msgpack_packer pk;
};

static int read_n(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Connect to hlsd's socket, retrying while hlsd starts. */
static void ctl_open(struct ctl *c, const char *path, double timeout_s) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) die("socket path too long: %s", path);
  memcpy(addr.sun_path, path, strlen(path) + 1);
  memset(c, 0, sizeof *c);
  msgpack_sbuffer_init(&c->sb);
  double deadline = now_s() + timeout_s;
  for (;;) {
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) return;
    if (c->fd >= 0) close(c->fd);
    if (run.hlsd > 0 && waitpid(run.hlsd, NULL, WNOHANG) == run.hlsd) {
      run.hlsd = 0;
      die("hlsd exited before answering on %s", path);
    }
    if (now_s() > deadline) die("hlsd did not answer on %s", path);
    pause_ms(10);
  }
}

static void ctl_close(struct ctl *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  msgpack_sbuffer_destroy(&c->sb);
}

static msgpack_packer *ctl_begin(struct ctl *c, const char *cmd) {
  c->sb.size = 0;
  msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
  if (hls_ctl_begin_request(&c->pk, ++c->next_id, cmd) != 0) die("packing %s", cmd);
  return &c->pk;
}

/* Send the request begun, read its reply (progress events skipped); the
 * payload's size in *bytes. An error reply is returned, not fatal. */
static void ctl_call(struct ctl *c, struct hls_ctl_response *resp, size_t *bytes) {
  if (hls_ctl_frame_finish(&c->sb, 0, HLS_CTL_FRAME_HARD_MAX) != 0 || write_all(c->fd, c->sb.data, c->sb.size) != 0)
    die("sending a request: %s", strerror(errno));
  for (;;) {
    uint8_t h[HLS_CTL_HEADER];
    size_t len;
    if (read_n(c->fd, h, sizeof h) != 0 || hls_ctl_frame_length(h, HLS_CTL_FRAME_HARD_MAX, &len) != 0)
      die("reading a reply");
    uint8_t *payload = malloc(len ? len : 1);
    if (payload == NULL || read_n(c->fd, payload, len) != 0) die("reading a reply of %zu bytes", len);
    if (hls_ctl_response_decode(resp, payload, len, SIZE_MAX, NULL) != 0) die("decoding a reply");
    resp->payload = payload; /* freed with the response */
    if (resp->kind == HLS_CTL_EVENT) {
      hls_ctl_response_free(resp);
      continue;
    }
    if (bytes) *bytes = len;
    return;
  }
}

/* --- hlsd ------------------------------------------------------------------------------- */

struct daemon {
  const char *hlsd, *hls;
  char home[128], sock[160], db[160], items[128];
  int n_logs;
  char log[160]; /* the running hlsd's */
  int ino;       /* inotify on log */
  long pos;      /* how far log has been read */
};

/* Start hlsd on its own log file (debug: log.level=debug). */
static void hlsd_start(struct daemon *d, bool debug) {
  if (run.hlsd > 0) die("hlsd already running");
  snprintf(d->log, sizeof d->log, "%s/hlsd-%02d.log", run.dir, d->n_logs++);
  int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) die("%s: %s", d->log, strerror(errno));
  close(fd);
  d->pos = 0;
  if (d->ino >= 0) close(d->ino);
  d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (d->ino < 0 || inotify_add_watch(d->ino, d->log, IN_MODIFY) < 0) die("inotify: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    int lf = open(d->log, O_WRONLY | O_APPEND);
    if (lf >= 0) dup2(lf, 1), dup2(lf, 2);
    /* BENCH_SET="S.NAME=VALUE ...": more options for hlsd, as bench_partner's */
    char *argv[40], *extra = getenv("BENCH_SET") ? strdup(getenv("BENCH_SET")) : NULL, *save = NULL;
    int n = 0;
    argv[n++] = strdup(d->hlsd), argv[n++] = strdup("--home"), argv[n++] = d->home;
    if (debug) argv[n++] = strdup("--set"), argv[n++] = strdup("log.level=debug");
    for (char *tok = extra ? strtok_r(extra, " ", &save) : NULL; tok != NULL && n < 37; tok = strtok_r(NULL, " ", &save))
      argv[n++] = strdup("--set"), argv[n++] = tok;
    argv[n] = NULL;
    execv(d->hlsd, argv);
    _exit(127);
  }
  run.hlsd = pid;
}

static void hlsd_stop(void) {
  if (run.hlsd <= 0) return;
  int status = 0;
  kill(run.hlsd, SIGTERM);
  waitpid(run.hlsd, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fprintf(stderr, "note: hlsd exited with %d\n", status);
  run.hlsd = 0;
}

/* Wait for the next log line of event (after those read so far) and copy
 * it to line; false at the deadline. Waits on inotify, so this process
 * stays off the CPU meanwhile; every 100 ms it looks anyway. */
static bool wait_log(struct daemon *d, const char *event, double timeout_s, char *line, size_t size) {
  char needle[96];
  snprintf(needle, sizeof needle, " event=%s ", event);
  double deadline = now_s() + timeout_s;
  for (;;) {
    FILE *f = fopen(d->log, "r");
    if (f == NULL || fseek(f, d->pos, SEEK_SET) != 0) die("%s: %s", d->log, strerror(errno));
    bool found = false;
    while (!found && fgets(line, (int)size, f) != NULL) {
      size_t len = strlen(line);
      if (len == 0 || line[len - 1] != '\n') {
        if (len == size - 1) d->pos += (long)len; /* a line longer than size: skipped */
        break;                                    /* else not written whole yet */
      }
      d->pos += (long)len;
      found = strstr(line, needle) != NULL;
    }
    fclose(f);
    if (found) return true;
    if (run.hlsd > 0 && waitpid(run.hlsd, NULL, WNOHANG) == run.hlsd) {
      run.hlsd = 0;
      die("hlsd exited (log %s)", d->log);
    }
    double left = deadline - now_s();
    if (left <= 0) return false;
    struct pollfd pfd = {.fd = d->ino, .events = POLLIN};
    int ms = left < 0.1 ? (int)(left * 1e3) + 1 : 100;
    if (poll(&pfd, 1, ms) > 0) {
      char drain[4096];
      while (read(d->ino, drain, sizeof drain) > 0) {
      }
    }
  }
}

/* wait_log for a line written before or after the position: lines whose
 * order changed between builds (started, patterns_ready). The position
 * ends after whichever of the two is later. */
static bool wait_log_anywhere(struct daemon *d, const char *event, double timeout_s, char *line, size_t size) {
  long was = d->pos;
  d->pos = 0;
  bool found = wait_log(d, event, timeout_s, line, size);
  if (d->pos < was) d->pos = was;
  return found;
}

/* The value of key (e.g. "load_ms=") in a log line, NAN if absent. */
static double field(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtod(p + strlen(key), NULL) : (double)NAN;
}

static void sql_exec(const char *db, const char *sql, long long *out) {
  sqlite3 *h = NULL;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die("%s: %s", db, sqlite3_errmsg(h));
  sqlite3_busy_timeout(h, 10000);
  if (out) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
      die("%s: %s", sql, sqlite3_errmsg(h));
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  } else if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) {
    die("%s: %s", sql, sqlite3_errmsg(h));
  }
  sqlite3_close(h);
}

struct daemon_figures {
  double import_s;
  int import_rc;
  size_t import_flushes;
  struct series import_took; /* ms */
  long long db_after_import, events_after_import, db_end;
  struct series load, compute, store, total, start_wall;        /* emptied tables */
  struct series kload, kcompute, kstore, ktotal, kstart_wall;   /* tables kept */
  double ready_patterns;
  struct series sup, sup_e2e, sup_cli, sup_events, first, first_e2e, first_events, same, same_e2e, same_events;
  int no_line;
  long hwm_kb;
  char theme[HLS_THEME_MAX + 1];
  struct series cli[4], sock[4], help;
  int cli_rc[4];
  size_t cli_bytes[4], sock_bytes[4], sock_n[4];
  char sock_err[4][64];
};

static const char *const listing_names[4] = {"no filter (limit 50)", "--theme T (the most common)",
                                             "--signal emerging", "--limit 0"};

/* Write one envelope (the place's next digest) into its own directory and
 * import it; the patterns_updated line that follows is waited for. */
static void daemon_item(struct daemon *d, struct gen *w, uint32_t place, bool same_week, int32_t week, uint64_t *rng,
                        int k, struct series *took, struct series *e2e, struct series *cli, struct series *events,
                        int *no_line) {
  struct chain *c = &w->ch[place];
  struct hls_digest dg;
  next_digest(w, c, same_week, week, rng, &dg);
  char dir[192], path[320];
  snprintf(dir, sizeof dir, "%s/one-%03d", run.dir, k);
  if (mkdir(dir, 0700) != 0) die("%s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/%s.items", dir, c->hex);
  FILE *f = fopen(path, "wb");
  if (f == NULL) die("%s: %s", path, strerror(errno));
  w->body.size = 0;
  if (hls_digest_pack(&w->body, &dg) != 0) die("digest");
  put_item(w, place, HLS_ENV_DIGEST, week, f);
  if (fclose(f) != 0) die("%s: %s", path, strerror(errno));
  free(c->last.cells);
  c->last = dg;
  c->week = week;

  const char *argv[] = {d->hls, "--home", d->home, "import-items", dir, NULL};
  char out[192];
  snprintf(out, sizeof out, "%s/import-one.out", run.dir);
  double t0 = now_s(), cli_s;
  int rc = run_cmd(argv, out, out, &cli_s);
  if (rc != 0) die("hls import-items %s: exit %d (see %s)", dir, rc, out);
  char line[4096];
  if (!wait_log(d, "patterns_updated", 10.0, line, sizeof line)) {
    (*no_line)++;
    fprintf(stderr, "  item %d: no patterns_updated line within 10 s (no pattern changed?)\n", k);
    return;
  }
  add(took, field(line, "took_us=") / 1e3);
  add(e2e, (now_s() - t0) * 1e3);
  if (cli) add(cli, cli_s * 1e3);
  add(events, field(line, "events="));
}

static void listings(const struct opts *o, struct daemon *d, struct daemon_figures *df) {
  /* Each listing once first (warm-up): its output size and status. */
  char out[192];
  snprintf(out, sizeof out, "%s/listing.json", run.dir);
  const char *argv[4][12];
  for (int v = 0; v < 4; v++) {
    int n = 0;
    argv[v][n++] = d->hls;
    argv[v][n++] = "--home";
    argv[v][n++] = d->home;
    argv[v][n++] = "--json";
    argv[v][n++] = "patterns";
    if (v == 1) argv[v][n++] = "--theme", argv[v][n++] = df->theme;
    if (v == 2) argv[v][n++] = "--signal", argv[v][n++] = "emerging";
    if (v == 3) argv[v][n++] = "--limit", argv[v][n++] = "0";
    argv[v][n] = NULL;
    df->cli_rc[v] = run_cmd(argv[v], out, out, NULL);
    df->cli_bytes[v] = (size_t)file_size(out);
  }
  const char *help[] = {d->hls, "--help", NULL};
  for (long r = 0; r < o->listings; r++) {
    for (int v = 0; v < 4; v++) {
      double s;
      int rc = run_cmd(argv[v], NULL, NULL, &s);
      if (rc != df->cli_rc[v]) die("hls patterns (%s) exited %d, then %d", listing_names[v], df->cli_rc[v], rc);
      add(&df->cli[v], s * 1e3);
    }
    double s;
    (void)run_cmd(help, NULL, NULL, &s);
    add(&df->help, s * 1e3);
  }
  struct ctl c;
  ctl_open(&c, d->sock, 10);
  for (long r = 0; r < o->listings + 1; r++)
    for (int v = 0; v < 4; v++) {
      msgpack_packer *pk = ctl_begin(&c, "patterns");
      msgpack_pack_map(pk, v == 0 ? 0 : 1);
      if (v == 1) hls_mp_pack_cstr(pk, "theme"), msgpack_pack_array(pk, 1), hls_mp_pack_cstr(pk, df->theme);
      if (v == 2) hls_mp_pack_cstr(pk, "signal"), msgpack_pack_array(pk, 1), hls_mp_pack_cstr(pk, "emerging");
      if (v == 3) hls_mp_pack_kv_i64(pk, "limit", 0);
      struct hls_ctl_response resp;
      size_t bytes = 0;
      double t = now_s();
      ctl_call(&c, &resp, &bytes);
      double s = now_s() - t;
      if (r == 0) { /* warm-up */
        df->sock_bytes[v] = bytes;
        if (resp.kind == HLS_CTL_ERROR) snprintf(df->sock_err[v], sizeof df->sock_err[v], "%s", resp.error_name);
        else {
          /* {total, live, ended, by_signal, offset, patterns: [...]} */
          const struct hls_mp_value *list = hls_mp_get(resp.result, "patterns");
          df->sock_n[v] = list && list->type == HLS_MP_ARRAY ? list->len : 0;
        }
      } else {
        add(&df->sock[v], s * 1e3);
      }
      hls_ctl_response_free(&resp);
    }
  ctl_close(&c);
}

static void run_daemon(const struct opts *o, const char *hlsd, const char *hls, struct gen *w,
                       struct daemon_figures *df) {
  struct daemon d = {.hlsd = hlsd, .hls = hls, .ino = -1};
  snprintf(d.home, sizeof d.home, "%s/home", run.dir);
  snprintf(d.sock, sizeof d.sock, "%s/hlsd.sock", d.home);
  snprintf(d.db, sizeof d.db, "%s/hlsd.db", d.home);
  snprintf(d.items, sizeof d.items, "%s", w->dir);
  char out[192], line[4096];
  snprintf(out, sizeof out, "%s/cli.out", run.dir);

  const char *init[] = {hls, "--home", d.home, "init", "--place", "Bench partner", "--region", "Bench", "--role",
                  "partner", "--listen", "127.0.0.1:0", NULL};
  if (run_cmd(init, out, out, NULL) != 0) die("hls init failed (see %s)", out);

  /* Import, timed. */
  hlsd_start(&d, true);
  if (!wait_log(&d, "started", 60, line, sizeof line)) die("hlsd did not start (log %s)", d.log);
  fprintf(stderr, "importing %llu items (hls import-items)...\n", (unsigned long long)w->items);
  const char *imp[] = {hls, "--home", d.home, "import-items", d.items, NULL};
  df->import_rc = run_cmd(imp, out, out, &df->import_s);
  if (df->import_rc != 0) die("hls import-items: exit %d (see %s)", df->import_rc, out);
  /* The last flush may come after the command's end. */
  for (;;) {
    if (!wait_log(&d, "patterns_updated", 5.0, line, sizeof line)) break;
    df->import_flushes++;
    add(&df->import_took, field(line, "took_us=") / 1e3);
  }
  hlsd_stop();
  df->db_after_import = file_size(d.db);
  sql_exec(d.db, "SELECT ifnull(max(seq), 0) FROM pattern_events", &df->events_after_import);
  fprintf(stderr, "imported in %.1f s; %zu patterns_updated lines; store %.0f MiB, %lld events\n", df->import_s,
          df->import_flushes, (double)df->db_after_import / 1048576.0, df->events_after_import);

  /* Starts: tables emptied, tables kept, in turn. */
  for (long r = 0; r < 2 * o->restarts; r++) {
    bool empty = r % 2 == 0;
    if (empty) sql_exec(d.db, "DELETE FROM patterns; DELETE FROM pattern_events; DELETE FROM pattern_tests;", NULL);
    double t0 = now_s();
    hlsd_start(&d, false);
    if (!wait_log(&d, "patterns_ready", 600, line, sizeof line)) die("no patterns_ready (log %s)", d.log);
    double wall = now_s() - t0;
    double lm = field(line, "load_ms="), cm = field(line, "compute_ms="), sm = field(line, "store_ms=");
    df->ready_patterns = field(line, "patterns=");
    add(empty ? &df->load : &df->kload, lm);
    add(empty ? &df->compute : &df->kcompute, cm);
    add(empty ? &df->store : &df->kstore, sm);
    add(empty ? &df->total : &df->ktotal, lm + cm + sm);
    add(empty ? &df->start_wall : &df->kstart_wall, wall * 1e3);
    fprintf(stderr, "start %ld (%s): load %.1f ms, compute %.1f ms, store %.1f ms; patterns_ready %.2f s after exec\n",
            r + 1, empty ? "tables emptied" : "tables kept", lm, cm, sm, wall);
    if (!wait_log_anywhere(&d, "started", 60, line, sizeof line)) die("hlsd did not start (log %s)", d.log);
    hlsd_stop();
  }

  /* One item at a time into the running hlsd, once its engine holds
   * every item (hlsd answers first and computes the patterns on a worker
   * thread since issue 15; builds before that log patterns_ready first). */
  hlsd_start(&d, true);
  if (!wait_log_anywhere(&d, "started", 600, line, sizeof line)) die("hlsd did not start (log %s)", d.log);
  if (!wait_log_anywhere(&d, "patterns_ready", 600, line, sizeof line)) die("no patterns_ready (log %s)", d.log);
  size_t n = placegen_n_places(w->g);
  uint32_t *order = malloc(n * sizeof *order);
  if (order == NULL) die("out of memory");
  for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  uint64_t rng = 0x5bd1e995u ^ ((uint64_t)o->seed << 20);
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = next_rand(&rng) % (i + 1);
    uint32_t x = order[i];
    order[i] = order[j], order[j] = x;
  }
  size_t next = 0;
  int k = 0;
  for (long i = 0; i < o->daemon_updates; i++) {
    uint32_t p = order[next++ % n];
    daemon_item(&d, w, p, true, w->ch[p].week, &rng, k++, &df->sup, &df->sup_e2e, &df->sup_cli, &df->sup_events,
                &df->no_line);
  }
  int32_t week = w->max_week;
  for (long i = 0; i < o->new_weeks; i++)
    daemon_item(&d, w, order[next++ % n], false, ++week, &rng, k++, &df->first, &df->first_e2e, NULL, &df->first_events,
                &df->no_line);
  for (long i = 0; o->new_weeks > 0 && i < o->daemon_updates; i++)
    daemon_item(&d, w, order[next++ % n], false, week, &rng, k++, &df->same, &df->same_e2e, NULL, &df->same_events,
                &df->no_line);
  free(order);

  /* Listings. */
  listings(o, &d, df);
  df->hwm_kb = vm_kb(run.hlsd, "VmHWM:");
  hlsd_stop();
  df->db_end = file_size(d.db);
  if (d.ino >= 0) close(d.ino);
}

/* --- main ----------------------------------------------------------------------------- */

static int path_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *yes_no(double v, double aim) { return isnan(v) ? "-" : v < aim ? "MET" : "NOT MET"; }

int main(int argc, char **argv) {
  struct opts o;
  const char *pos[2] = {NULL, NULL};
  int n_pos = 0;
  int rc = parse_args(argc, argv, &o, pos, &n_pos);
  if (rc != 0 || o.help) {
    usage(rc ? stderr : stdout);
    return rc;
  }
  if (sodium_init() < 0) return 1;
  atexit(stop_all);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  char load_start[64], load_end[64];
  loadavg(load_start);
  snprintf(run.dir, sizeof run.dir, "/tmp/hls-bench-patterns.XXXXXX");
  if (mkdtemp(run.dir) == NULL) die("mkdtemp: %s", strerror(errno));

  /* Generate. */
  struct placegen_params gp;
  placegen_params_default(&gp);
  gp.places = (int)o.places, gp.weeks = (int)o.weeks, gp.themes = (int)o.themes, gp.seed = (uint64_t)o.seed;
  struct gen w = {.max_week = INT32_MIN};
  struct hls_why why = {{0}};
  if (placegen_new(&w.g, &gp, &why) != 0) die("placegen: %s", why.text);
  char items_dir[128];
  snprintf(items_dir, sizeof items_dir, "%s/items", run.dir);
  if (mkdir(items_dir, 0700) != 0) die("%s: %s", items_dir, strerror(errno));
  w.dir = items_dir;
  size_t n = placegen_n_places(w.g);
  w.ch = calloc(n, sizeof *w.ch);
  if (w.ch == NULL) die("out of memory");
  msgpack_sbuffer_init(&w.body);
  msgpack_sbuffer_init(&w.env);
  struct placegen_sink sink = {.ctx = &w, .on_place = gen_place, .on_digest = gen_digest, .on_story = gen_story,
                               .on_place_end = gen_place_end};
  double t = now_s();
  fprintf(stderr, "generating %ld places x %ld weeks x %ld themes (seed %ld) into %s...\n", o.places, o.weeks, o.themes,
          o.seed, items_dir);
  if ((rc = placegen_run(w.g, &sink)) != 0) die("placegen_run: %s", hls_strerror(rc));
  double gen_s = now_s() - t;
  uint64_t gen_items = w.items; /* w.items goes on counting what hlsd is given one by one */
  char **paths = malloc(n * sizeof *paths);
  if (paths == NULL) die("out of memory");
  for (size_t i = 0; i < n; i++) {
    paths[i] = malloc(strlen(items_dir) + 72);
    if (paths[i] == NULL) die("out of memory");
    sprintf(paths[i], "%s/%s.items", items_dir, w.ch[i].hex);
  }
  qsort(paths, n, sizeof *paths, path_cmp); /* origin order, as hlsd loads */
  const char *common = "";
  for (uint32_t i = 0; i < placegen_n_themes(w.g); i++)
    if (placegen_theme(w.g, i)->rank == 1) common = placegen_theme(w.g, i)->slug;
  fprintf(stderr, "generated %llu items (%llu digests, %llu cells, %llu stories), %.0f MiB, in %.1f s\n",
          (unsigned long long)w.items, (unsigned long long)w.digests, (unsigned long long)w.cells,
          (unsigned long long)w.stories, (double)w.bytes / 1048576.0, gen_s);

  struct engine_figures ef = {0};
  run_engine(&o, &w, paths, n, &ef);

  struct daemon_figures df = {0};
  snprintf(df.theme, sizeof df.theme, "%s", common);
  if (!o.engine_only) run_daemon(&o, pos[0], pos[1], &w, &df);
  loadavg(load_end);

  /* --- report ---------------------------------------------------------------------------- */
  printf("\n== bench_patterns: %ld places x %ld weeks x %ld background themes, seed %ld ==\n", o.places, o.weeks,
         o.themes, o.seed);
  printf("load average (1, 5, 15 min) at start %s, at end %s, on %ld CPUs\n", load_start, load_end,
         sysconf(_SC_NPROCESSORS_ONLN));
  if (getenv("BENCH_SET")) printf("BENCH_SET (hlsd's options): %s\n", getenv("BENCH_SET"));
  printf("data: %llu items = %zu profiles + %llu digests (%llu cells, %.1f a digest) + %llu stories; %.1f MiB of "
         "envelopes\n",
         (unsigned long long)gen_items, n, (unsigned long long)w.digests, (unsigned long long)w.cells,
         (double)w.cells / (double)(w.digests ? w.digests : 1), (unsigned long long)w.stories,
         (double)w.bytes / 1048576.0);

  printf("\n1. engine, in process (%ld builds from scratch%s, %ld thread%s; then one item at a time on the last)\n",
         o.builds, o.profiles_first ? ", every profile fed first" : "", o.threads, o.threads == 1 ? "" : "s");
  printf("  engine holds %zu places, %zu themes, %zu patterns (spread %zu, emerging %zu, rising %zu, together %zu, "
         "cross-scale %zu); its memory about %.0f MiB\n",
         ef.places, ef.themes_held, ef.patterns, ef.by_signal[HLS_PAT_SPREAD], ef.by_signal[HLS_PAT_EMERGING],
         ef.by_signal[HLS_PAT_RISING], ef.by_signal[HLS_PAT_TOGETHER], ef.by_signal[HLS_PAT_CROSS_SCALE],
         (double)ef.rss_kb / 1024.0);
  print_ms("read the .items files", &ef.read);
  print_ms("decode envelopes and bodies", &ef.decode);
  print_ms("feed all items (hls_patterns_place/digest/story)", &ef.feed);
  print_ms("  of which hls_patterns_place (profiles)", &ef.feed_place);
  print_ms("  of which hls_patterns_digest", &ef.feed_digest);
  print_ms("  of which hls_patterns_story", &ef.feed_story);
  print_ms("FULL: hls_patterns_update from scratch", &ef.full);
  print_ms("supersede: hls_patterns_digest", &ef.sup_feed);
  print_ms("SUPERSEDE: hls_patterns_update after it", &ef.sup);
  print_ms("NEW WEEK (first digest): hls_patterns_update", &ef.first);
  print_ms("SAME WEEK (another place): hls_patterns_update", &ef.same);
  printf("  changes reported: full %.0f; supersede median %.0f (max %.0f); new week median %.0f; same week median "
         "%.0f\n",
         q(&ef.full_events, 0.5), q(&ef.sup_events, 0.5), max_of(&ef.sup_events), q(&ef.first_events, 0.5),
         q(&ef.same_events, 0.5));

  if (!o.engine_only) {
    printf("\n2. hlsd (%s) and hls (%s)\n", pos[0], pos[1]);
    printf("  hls import-items of %llu items: %.2f s (%.0f items/s); hlsd logged %zu patterns_updated during it, "
           "took_us sum %.1f s, max %.2f s\n",
           (unsigned long long)gen_items, df.import_s, (double)gen_items / df.import_s, df.import_flushes,
           sum(&df.import_took) / 1e3, max_of(&df.import_took) / 1e3);
    printf("  store after the import: %.0f MiB, %lld pattern events\n", (double)df.db_after_import / 1048576.0,
           df.events_after_import);
    printf("  start with patterns, pattern_events and pattern_tests emptied (%ld starts; %.0f patterns):\n", o.restarts,
           df.ready_patterns);
    print_ms("  load_ms (read and feed every item)", &df.load);
    print_ms("  compute_ms (hls_patterns_update)", &df.compute);
    print_ms("  store_ms (every pattern written, with an event)", &df.store);
    print_ms("  TOTAL load + compute + store", &df.total);
    print_ms("  patterns_ready seen, from exec", &df.start_wall);
    printf("  start with the tables kept, saved tests taken (%ld starts):\n", o.restarts);
    print_ms("  load_ms", &df.kload);
    print_ms("  compute_ms", &df.kcompute);
    print_ms("  store_ms (diff, no change)", &df.kstore);
    print_ms("  TOTAL", &df.ktotal);
    print_ms("  patterns_ready seen, from exec", &df.kstart_wall);
    printf("  one item imported into the running hlsd (patterns_updated took_us; %d items logged no line):\n",
           df.no_line);
    print_ms("  SUPERSEDE: took_us", &df.sup);
    print_ms("  supersede: hls import-items start to the line", &df.sup_e2e);
    print_ms("  supersede: the hls import-items command", &df.sup_cli);
    print_ms("  NEW WEEK (first digest): took_us", &df.first);
    print_ms("  new week: hls import-items start to the line", &df.first_e2e);
    print_ms("  SAME WEEK (another place): took_us", &df.same);
    print_ms("  same week: hls import-items start to the line", &df.same_e2e);
    printf("  events logged: supersede median %.0f; new week median %.0f; same week median %.0f\n",
           q(&df.sup_events, 0.5), q(&df.first_events, 0.5), q(&df.same_events, 0.5));
    printf("  listings, %ld runs each (T = %s):\n", o.listings, df.theme);
    for (int v = 0; v < 4; v++) {
      char what[96];
      snprintf(what, sizeof what, "hls --json patterns, %s", listing_names[v]);
      print_ms(what, &df.cli[v]);
      printf("    exit %d, %zu bytes of JSON; on the socket: %s%s, %zu patterns, %zu bytes of msgpack\n", df.cli_rc[v],
             df.cli_bytes[v], df.sock_err[v][0] ? "error " : "ok", df.sock_err[v], df.sock_n[v], df.sock_bytes[v]);
    }
    for (int v = 0; v < 4; v++) {
      char what[96];
      snprintf(what, sizeof what, "control socket alone, %s", listing_names[v]);
      print_ms(what, &df.sock[v]);
    }
    print_ms("hls --help (process start, no socket)", &df.help);
    printf("  hlsd peak RSS %.1f MiB; store at the end %.0f MiB\n", (double)df.hwm_kb / 1024.0,
           (double)df.db_end / 1048576.0);
  }

  printf("\nAIMS (issue: full computation under 5 s, incremental update under 50 ms, a listing under 100 ms)\n");
  printf("  %-58s %10s  %s\n", "measure (median)", "", "aim");
  double full_eng = q(&ef.full, 0.5), feed_full = q(&ef.feed, 0.5) + full_eng;
  printf("  %-58s %8.0f ms  %s\n", "engine: hls_patterns_update from scratch", full_eng, yes_no(full_eng, 5000));
  printf("  %-58s %8.0f ms  %s\n", "engine: feed every item + update from scratch", feed_full, yes_no(feed_full, 5000));
  printf("  %-58s %8.2f ms  %s\n", "engine: update after a superseding digest", q(&ef.sup, 0.5),
         yes_no(q(&ef.sup, 0.5), 50));
  printf("  %-58s %8.2f ms  %s\n", "engine: update after a new week's first digest", q(&ef.first, 0.5),
         yes_no(q(&ef.first, 0.5), 50));
  printf("  %-58s %8.2f ms  %s\n", "engine: update after another digest of that week", q(&ef.same, 0.5),
         yes_no(q(&ef.same, 0.5), 50));
  if (!o.engine_only) {
    printf("  %-58s %8.0f ms  %s\n", "hlsd start, tables emptied: load + compute + store", q(&df.total, 0.5),
           yes_no(q(&df.total, 0.5), 5000));
    printf("  %-58s %8.0f ms  %s\n", "hlsd start, tables emptied: compute + store", q(&df.compute, 0.5) + q(&df.store, 0.5),
           yes_no(q(&df.compute, 0.5) + q(&df.store, 0.5), 5000));
    printf("  %-58s %8.2f ms  %s\n", "hlsd: flush after a superseding digest (took_us)", q(&df.sup, 0.5),
           yes_no(q(&df.sup, 0.5), 50));
    printf("  %-58s %8.2f ms  %s\n", "hlsd: flush after a new week's first digest", q(&df.first, 0.5),
           yes_no(q(&df.first, 0.5), 50));
    printf("  %-58s %8.2f ms  %s\n", "hlsd: flush after another digest of that week", q(&df.same, 0.5),
           yes_no(q(&df.same, 0.5), 50));
    for (int v = 0; v < 4; v++) {
      char what[96];
      snprintf(what, sizeof what, "hls --json patterns, %s%s", listing_names[v], df.cli_rc[v] ? " (FAILS)" : "");
      printf("  %-58s %8.2f ms  %s\n", what, q(&df.cli[v], 0.5), df.cli_rc[v] ? "NOT MET" : yes_no(q(&df.cli[v], 0.5), 100));
    }
  }

  for (size_t i = 0; i < n; i++) free(paths[i]), free(w.ch[i].last.cells);
  free(paths);
  free(w.ch);
  msgpack_sbuffer_destroy(&w.body);
  msgpack_sbuffer_destroy(&w.env);
  placegen_free(w.g);
  return 0;
}
