/* Benchmark: a partner node that holds a whole country (issue 15).
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage: bench_partner HLSD [PLACES [WEEKS [THEMES [RUNS]]]]    4000 104 200 7
 * Environment: BENCH_KEEP=1 keeps the temporary directory (stores and
 * logs); BENCH_SET="S.NAME=VALUE ..." gives both hlsd more options (the
 * figures of docs/benchmarks.md use none).
 *
 * Data: placegen (tests/gen/placegen.h), seed 1: PLACES chains of a
 * profile, then per week of WEEKS the place's digest (cells of up to
 * THEMES background themes and the planted ones) and that week's stories,
 * signed as hls_gen_items signs them. 4000 x 104 is about 435,000 items.
 *
 * 1. Load: the chains are written into a stopped partner node's fresh
 *    store with hls_store_item_put (not items.import: the same rows,
 *    faster), a transaction per run of at most 256 items of one place (a
 *    place's whole chain at 104 weeks), with hlsd's default store
 *    settings. The time of those transactions is sqlite_insert_rows_s;
 *    generating and signing are not timed. A sample of the envelopes is
 *    kept: before and after everything else, three passes of the raw
 *    Ed25519 verify (libsodium, on what each envelope signs) and of
 *    hls_env_decode / hls_env_verify over it, one by one: ed25519_verify_s
 *    is the mean of the two medians of the raw verify by the clock.
 * 2. First start of that node: its pattern tables are empty, so it
 *    computes every pattern (the patterns_ready line gives load, compute
 *    and store times).
 * 3. Catch-up: a fresh partner node (same network key) is sent peer.add
 *    of the serving one, and catches up everything (the end as
 *    bench_gossip detects it: the last change of the fresh node's bytes
 *    out, once still for a second and status shows every item held).
 *    catchup_items_s: items received / the time from the peer.add to that
 *    end. Its event loop may still be busy (patterns) after that end, so
 *    the time until its status answers with every item is printed too.
 *    receiver_peak_rss_mib: the fresh node's VmHWM once its CPU time has
 *    stopped growing (its trailing pattern work done).
 * 4. Restart of the serving node (pattern tables kept): first_status_ms
 *    is the time from the fork of hlsd to its first status reply, the
 *    control socket tried every 2 ms; patterns_ready_ms, until its log
 *    says patterns_ready (they are computed on a worker thread after
 *    hlsd answers). idle_rss_mib: its VmRSS one second after that.
 * 5. Reads: RUNS times each, interleaved, each on a new connection as hls
 *    makes one: items (limit 100), stories (limit 20), places; timed from
 *    connect to the whole reply frame read, whatever the reply's shape
 *    (it is decoded after the clock stops, to see it is not an error).
 *    items100_ms, stories20_ms, places_ms: the medians.
 * 6. Spread while a client pages through every item: the fresh node
 *    starts again (it lists the serving one) and, once its patterns are
 *    ready, SPREAD_PUBS (20) times: the serving node adds a record and
 *    publishes it (share.publish), and the time from that request to the
 *    fresh node holding the new item is one latency (the fresh node's
 *    items of the serving origin are read whenever its WAL changes, and
 *    every 20 ms). Publications alternate: with the pager stopped
 *    (SIGSTOP), and with it running: a client on its own connection to
 *    the serving node asking items, 500 a page, each after the one
 *    before, through every item and again. spread_idle_ms and
 *    spread_paging_ms: the medians; their maxima and the pages served
 *    are printed too.
 * The machines are shared: for the restart and each read, the serving
 * hlsd's time running on a CPU and waiting for one (/proc/PID/schedstat)
 * is printed too.
 * Phases and details go to stderr as they happen, the results to stdout;
 * its last line is the summary: items=N catchup_items_s=... load=A->B,
 * the 1-minute load average at start and at end. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_hlsd.h"
#include "bench_sample.h"
#include "envelope.h"
#include "home.h"
#include "placegen.h"
#include "store.h"

enum { PUT_BATCH = 256, ROUNDS = 3 };

/* --- 1. generate into the serving node's store ---------------------------------------- */

struct loader {
  struct hls_store *st; /* borrowed */
  const struct placegen *g;
  struct bench_sample *sample; /* borrowed */
  size_t sample_stride;
  msgpack_sbuffer body, envs; /* envs: the place's envelopes not yet stored, back to back */
  size_t off[PUT_BATCH], n;   /* their offsets in envs */
  struct hls_envelope dec[PUT_BATCH];
  uint8_t prev[HLS_HASH_BYTES];
  uint64_t seq;
  uint64_t items, bytes, digests, cells, stories, commits;
  double insert_s, insert_cpu_s;
};

/* Store the envelopes held, in one transaction (timed). */
static void flush(struct loader *w) {
  if (w->n == 0) return;
  for (size_t i = 0; i < w->n; i++) {
    size_t end = i + 1 < w->n ? w->off[i + 1] : w->envs.size;
    if (hls_env_decode(&w->dec[i], (const uint8_t *)w->envs.data + w->off[i], end - w->off[i], NULL) != 0)
      bench_die("decoding an envelope just built");
  }
  struct hls_why why = {{0}};
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  int64_t now_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
  double t = now_s(), c = bench_cpu_now();
  if (hls_store_begin(w->st, &why) != 0) bench_die("begin: %s", why.text);
  for (size_t i = 0; i < w->n; i++)
    if (hls_store_item_put(w->st, &w->dec[i], HLS_BODY_HELD, now_ms, &why) != 0) bench_die("put: %s", why.text);
  if (hls_store_commit(w->st, &why) != 0) bench_die("commit: %s", why.text);
  w->insert_s += now_s() - t;
  w->insert_cpu_s += bench_cpu_now() - c;
  w->commits++;
  w->n = 0;
  w->envs.size = 0;
}

/* Sign the packed body as the place's next item. */
static void put(struct loader *w, const struct placegen_place *pl, int type, uint64_t seq, int32_t week) {
  if (seq != w->seq + 1) bench_die("placegen: %s: seq %llu after %llu", pl->name, (unsigned long long)seq,
                                   (unsigned long long)w->seq);
  if (w->n == PUT_BATCH) flush(w);
  size_t off = w->envs.size;
  struct hls_envelope e;
  if (hls_env_build(&w->envs, type, pl->sk, seq, seq > 1 ? w->prev : NULL, placegen_timestamp_ms(week, seq),
                    HLS_AUD_NETWORK, (const uint8_t *)w->body.data, w->body.size) != 0 ||
      hls_env_decode(&e, (const uint8_t *)w->envs.data + off, w->envs.size - off, NULL) != 0)
    bench_die("building item %llu of %s", (unsigned long long)seq, pl->name);
  memcpy(w->prev, e.id, HLS_HASH_BYTES);
  w->seq = seq;
  w->off[w->n++] = off;
  if (w->items++ % w->sample_stride == 0)
    bench_sample_add(w->sample, (const uint8_t *)w->envs.data + off, w->envs.size - off);
  w->bytes += w->envs.size - off;
}

static int on_place(void *ctx, const struct placegen_place *pl) {
  struct loader *w = ctx;
  w->seq = 0;
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "%s", pl->name);
  snprintf(prof.region, sizeof prof.region, "%s", pl->region);
  prof.role = HLS_PROFILE_PLACE;
  w->body.size = 0;
  if (hls_profile_pack(&w->body, &prof) != 0) bench_die("packing a profile");
  put(w, pl, HLS_ENV_PROFILE, 1, placegen_first_week(w->g) - 1);
  return 0;
}

static int on_digest(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d) {
  struct loader *w = ctx;
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) bench_die("placegen: a digest of no week");
  /* The packer sorts the cells in place: pack a copy. */
  struct hls_digest copy = *d;
  copy.cells = malloc((d->n_cells ? d->n_cells : 1) * sizeof *copy.cells);
  if (copy.cells == NULL) bench_die("out of memory");
  memcpy(copy.cells, d->cells, d->n_cells * sizeof *d->cells);
  w->body.size = 0;
  int rc = hls_digest_pack(&w->body, &copy);
  free(copy.cells);
  if (rc != 0) bench_die("packing a digest");
  put(w, pl, HLS_ENV_DIGEST, seq, week);
  w->digests++;
  w->cells += d->n_cells;
  return 0;
}

static int on_story(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s) {
  struct loader *w = ctx;
  int32_t week;
  if (hls_patterns_week(s->iso_year, s->iso_week, &week) != 0) bench_die("placegen: a story of no week");
  w->body.size = 0;
  if (hls_story_pack(&w->body, s) != 0) bench_die("packing a story");
  put(w, pl, HLS_ENV_STORY, seq, week);
  w->stories++;
  return 0;
}

static int on_place_end(void *ctx, const struct placegen_place *pl, uint64_t last_seq) {
  struct loader *w = ctx;
  (void)pl;
  flush(w);
  return last_seq == w->seq ? 0 : HLS_EINTERNAL;
}

/* --- the serving node's restart and reads -------------------------------------------------- */

/* Wait until pid's CPU time has grown by under 10 ms in half a second (its
 * work done), or timeout_s. */
static void wait_idle(pid_t pid, double timeout_s) {
  double deadline = now_s() + timeout_s, before = bench_proc_cpu_s(pid);
  for (;;) {
    bench_pause_ms(500);
    double cpu = bench_proc_cpu_s(pid);
    if (cpu - before < 0.01 || now_s() > deadline) return;
    before = cpu;
  }
}

/* Fork hlsd and ask status until it answers (a connection refused or cut
 * while it starts is tried again, every 2 ms): the ms from the fork to the
 * reply read. *run_s, *wait_s: the seconds hlsd had then run on a CPU and
 * waited for one (the machine is shared). */
static double first_status_ms(struct bench_node *n, const char *hlsd, double timeout_s, double *run_s,
                              double *wait_s, size_t *reply_bytes) {
  double t0 = now_s(), deadline = t0 + timeout_s;
  /* Records on: step 6 publishes from this node (a partner keeps none by
   * default); nothing else here depends on it. */
  static const char *const sets[] = {"node.records=on", NULL};
  bench_node_start(n, hlsd, sets);
  for (;;) {
    struct bench_ctl c;
    if (bench_ctl_try(&c, n->sock) == 0) {
      msgpack_pack_map(bench_ctl_begin(&c, "status"), 0);
      uint8_t *payload = NULL;
      size_t len = 0;
      if (bench_ctl_try_send(&c) == 0 && bench_ctl_read_frame(c.fd, &payload, &len) == 0) {
        double ms = (now_s() - t0) * 1e3;
        bench_proc_sched_s(n->pid, run_s, wait_s);
        *reply_bytes = len;
        struct hls_ctl_response r;
        bool ok = hls_ctl_response_decode(&r, payload, len, SIZE_MAX, NULL) == 0;
        if (ok) {
          r.payload = payload;
          ok = r.kind == HLS_CTL_RESULT;
          hls_ctl_response_free(&r);
        } else {
          free(payload);
        }
        bench_ctl_close(&c);
        if (ok) return ms;
      }
      bench_ctl_close(&c);
    } else {
      bench_ctl_close(&c);
    }
    if (bench_hlsd_exited(n->pid)) bench_die("hlsd exited while starting (log %s)", n->log);
    if (now_s() > deadline) bench_die("hlsd did not answer status within %.0f s (log %s)", timeout_s, n->log);
    bench_pause_ms(2);
  }
}

enum { READ_ITEMS, READ_STORIES, READ_PLACES, READ__COUNT };
static const char *const read_names[READ__COUNT] = {"items (limit 100)", "stories (limit 20)", "places"};

/* One read as a client: connect, request, the whole reply frame read (ms);
 * its size in *bytes; *run_ms, *wait_ms: the ms hlsd ran on a CPU and
 * waited for one meanwhile. An error reply ends the benchmark. */
static double timed_read(const struct bench_node *n, int which, size_t *bytes, double *run_ms, double *wait_ms) {
  struct bench_ctl c;
  double run0, wait0, run1, wait1;
  bench_proc_sched_s(n->pid, &run0, &wait0);
  double t0 = now_s();
  if (bench_ctl_try(&c, n->sock) != 0) bench_die("connect %s: %s", n->sock, strerror(errno));
  static const char *const cmd[READ__COUNT] = {"items", "stories", "places"};
  msgpack_packer *pk = bench_ctl_begin(&c, cmd[which]);
  if (which == READ_PLACES) {
    msgpack_pack_map(pk, 0);
  } else {
    msgpack_pack_map(pk, 1);
    hls_mp_pack_kv_i64(pk, "limit", which == READ_ITEMS ? 100 : 20);
  }
  uint8_t *payload;
  size_t len;
  if (bench_ctl_try_send(&c) != 0 || bench_ctl_read_frame(c.fd, &payload, &len) != 0)
    bench_die("%s: no reply", cmd[which]);
  double ms = (now_s() - t0) * 1e3;
  bench_proc_sched_s(n->pid, &run1, &wait1);
  *run_ms = (run1 - run0) * 1e3;
  *wait_ms = (wait1 - wait0) * 1e3;
  bench_ctl_close(&c);
  struct hls_ctl_response r;
  if (hls_ctl_response_decode(&r, payload, len, SIZE_MAX, NULL) != 0) bench_die("%s: a reply not decoded", cmd[which]);
  r.payload = payload;
  if (r.kind != HLS_CTL_RESULT)
    bench_die("%s: %s: %s", cmd[which], r.kind == HLS_CTL_ERROR ? r.error_name : "an event",
              r.kind == HLS_CTL_ERROR ? r.error_message : "");
  hls_ctl_response_free(&r);
  *bytes = len;
  return ms;
}

static void sample_medians(const struct bench_sample *sm, double wall[BENCH_M__COUNT], double cpu[BENCH_M__COUNT]) {
  double w[BENCH_M__COUNT][ROUNDS], c[BENCH_M__COUNT][ROUNDS], w1[BENCH_M__COUNT], c1[BENCH_M__COUNT];
  for (int r = 0; r < ROUNDS; r++) {
    bench_sample_rates(sm, w1, c1);
    for (int m = 0; m < BENCH_M__COUNT; m++) w[m][r] = w1[m], c[m][r] = c1[m];
  }
  for (int m = 0; m < BENCH_M__COUNT; m++)
    wall[m] = percentile(w[m], ROUNDS, 0.5), cpu[m] = percentile(c[m], ROUNDS, 0.5);
}

/* --- 6. spread while a client pages through every item ------------------------------------ */

enum { SPREAD_PUBS = 20, PAGE_ITEMS = 500 };

static volatile sig_atomic_t pager_stop;
static void on_pager_term(int sig) {
  (void)sig;
  pager_stop = 1;
}

/* The pager (a child process): items, PAGE_ITEMS a page, each after the
 * 'next' of the one before, through every item and again, until SIGTERM.
 * Writes "pages items passes" to fd, then exits. */
static void pager_run(const char *sock, int fd) {
  signal(SIGTERM, on_pager_term);
  struct bench_ctl c;
  if (bench_ctl_try(&c, sock) != 0) bench_die("pager: connect %s: %s", sock, strerror(errno));
  char after[700] = "";
  long long pages = 0, items = 0, passes = 0;
  while (!pager_stop) {
    msgpack_packer *pk = bench_ctl_begin(&c, "items");
    msgpack_pack_map(pk, after[0] ? 2 : 1);
    hls_mp_pack_kv_i64(pk, "limit", PAGE_ITEMS);
    if (after[0]) hls_mp_pack_kv_str(pk, "after", after);
    struct hls_ctl_response r;
    bench_ctl_call(&c, &r);
    const struct hls_mp_value *list = hls_mp_get(r.result, "items"), *next = hls_mp_get(r.result, "next");
    if (list == NULL || list->type != HLS_MP_ARRAY) bench_die("pager: a page without items");
    pages++, items += list->len;
    if (next != NULL && next->type == HLS_MP_STR && next->len > 0 && next->len < sizeof after) {
      memcpy(after, next->v.str, next->len);
      after[next->len] = '\0';
    } else {
      after[0] = '\0';
      passes++;
    }
    hls_ctl_response_free(&r);
  }
  char out[96];
  int len = snprintf(out, sizeof out, "%lld %lld %lld\n", pages, items, passes);
  if (write(fd, out, (size_t)len) != len) _exit(1);
  _exit(0);
}

/* The highest seq of origin's chain n holds (its items, a page). */
static int64_t head_held(struct bench_node *n, const char *origin) {
  msgpack_packer *pk = bench_ctl_begin(&n->c, "items");
  msgpack_pack_map(pk, 2);
  hls_mp_pack_kv_str(pk, "origin", origin);
  hls_mp_pack_kv_i64(pk, "limit", PAGE_ITEMS);
  struct hls_ctl_response r;
  bench_ctl_call(&n->c, &r);
  const struct hls_mp_value *list = hls_mp_get(r.result, "items");
  int64_t head = 0;
  for (uint32_t i = 0; list != NULL && list->type == HLS_MP_ARRAY && i < list->len; i++) {
    int64_t seq = bench_mp_i64(&list->v.items[i], "seq");
    if (seq > head) head = seq;
  }
  hls_ctl_response_free(&r);
  return head;
}

/* Until fresh holds seq of origin: asked at every change of its WAL and
 * every 20 ms. Returns that moment (now_s()); dies after 60 s. */
static double wait_held(struct bench_node *fresh, int ino, const char *origin, int64_t seq) {
  double deadline = now_s() + 60;
  for (;;) {
    if (head_held(fresh, origin) >= seq) return now_s();
    if (now_s() > deadline) bench_die("spread: the fresh node never got seq %lld", (long long)seq);
    struct pollfd pfd = {.fd = ino, .events = POLLIN};
    if (poll(&pfd, 1, 20) > 0) {
      char drain[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
      while (read(ino, drain, sizeof drain) > 0) {
      }
    }
  }
}

static long arg_long(int argc, char **argv, int i, long def, long min, long max, const char *what) {
  if (argc <= i) return def;
  char *end;
  errno = 0;
  long v = strtol(argv[i], &end, 10);
  if (errno || end == argv[i] || *end || v < min || v > max) {
    fprintf(stderr, "bench_partner: %s takes a whole number in %ld..%ld\n", what, min, max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 6 || argv[1][0] == '-') {
    fprintf(stderr, "usage: bench_partner HLSD [PLACES [WEEKS [THEMES [RUNS]]]]     (4000 104 200 7)\n");
    return 2;
  }
  const char *hlsd = argv[1];
  long places = arg_long(argc, argv, 2, 4000, 3, PLACEGEN_MAX_PLACES, "PLACES");
  long weeks = arg_long(argc, argv, 3, 104, 8, PLACEGEN_MAX_WEEKS, "WEEKS");
  long themes = arg_long(argc, argv, 4, 200, 1, PLACEGEN_MAX_THEMES, "THEMES");
  long runs = arg_long(argc, argv, 5, 7, 1, 1000, "RUNS");
  if (sodium_init() < 0) return 1;
  bench_setup("bench_partner");
  double load_start = bench_load_1m();
  const char *dir = bench_dir_make("partner");
  fprintf(stderr, "bench_partner: %ld places x %ld weeks x %ld themes in %s; load %.2f\n", places, weeks, themes, dir,
          load_start);

  struct bench_node serve = {0}, fresh = {0};
  char key[HLS_KEY32_TEXT_SIZE] = "";
  bench_node_init(&serve, "serve", HLS_ROLE_PARTNER, NULL, key);
  bench_node_init(&fresh, "fresh", HLS_ROLE_PARTNER, key, NULL);

  /* --- 1. generate into serve's store; time only the transactions ---------------------- */
  struct placegen_params gp;
  placegen_params_default(&gp);
  gp.places = (int)places, gp.weeks = (int)weeks, gp.themes = (int)themes, gp.seed = 1;
  struct placegen *g = NULL;
  struct hls_why why = {{0}};
  if (placegen_new(&g, &gp, &why) != 0) bench_die("placegen: %s", why.text);
  /* hlsd's defaults: store.synchronous=full, 32 MiB cache (or what
   * BENCH_SET gives hlsd, so that both measure the same). */
  bool sync_full = getenv("BENCH_SET") == NULL || strstr(getenv("BENCH_SET"), "store.synchronous=normal") == NULL;
  struct hls_store_options opt = {.synchronous_full = sync_full};
  struct hls_store *st;
  if (hls_store_open(&st, serve.db, &opt, &why) != 0) bench_die("store: %s", why.text);
  struct bench_sample *sample = bench_sample_new();
  size_t estimate = (size_t)places * (size_t)(weeks + 2);
  struct loader w = {.st = st, .g = g, .sample = sample,
                     .sample_stride = estimate / BENCH_SAMPLE_MAX > 0 ? estimate / BENCH_SAMPLE_MAX : 1};
  msgpack_sbuffer_init(&w.body);
  msgpack_sbuffer_init(&w.envs);
  struct placegen_sink sink = {.ctx = &w, .on_place = on_place, .on_digest = on_digest, .on_story = on_story,
                               .on_place_end = on_place_end};
  double t = now_s();
  int rc = placegen_run(g, &sink);
  if (rc != 0) bench_die("placegen_run: %s", hls_strerror(rc));
  double gen_s = now_s() - t;
  hls_store_free(st);
  msgpack_sbuffer_destroy(&w.body);
  msgpack_sbuffer_destroy(&w.envs);
  placegen_free(g);
  struct stat sb;
  long long db_bytes = stat(serve.db, &sb) == 0 ? (long long)sb.st_size : -1;
  double insert_rate = (double)w.items / w.insert_s;
  fprintf(stderr,
          "generated %llu items (%llu digests of %.1f cells on average, %llu stories) in %.1f s, %.0f MiB of "
          "envelopes; stored in %.1f s of transactions (%.0f items/s); store %.0f MiB\n",
          (unsigned long long)w.items, (unsigned long long)w.digests,
          (double)w.cells / (double)(w.digests ? w.digests : 1), (unsigned long long)w.stories, gen_s,
          (double)w.bytes / 1048576.0, w.insert_s, insert_rate, (double)db_bytes / 1048576.0);

  bench_sample_prepare(sample);
  double wall0[BENCH_M__COUNT], cpu0[BENCH_M__COUNT], wall1[BENCH_M__COUNT], cpu1[BENCH_M__COUNT];
  sample_medians(sample, wall0, cpu0);
  fprintf(stderr, "raw Ed25519 verify before: %.0f /s (clock), %.0f /s (CPU)\n", wall0[BENCH_M_RAW], cpu0[BENCH_M_RAW]);

  /* --- 2. first start: every pattern computed ------------------------------------------- */
  char line[4096];
  long log_pos = 0;
  t = now_s();
  bench_node_start(&serve, hlsd, NULL);
  bench_node_open(&serve, 3600);
  double first_start_s = now_s() - t;
  /* hlsd answers before its patterns are computed (on a worker thread). */
  if (!bench_log_wait(serve.log, &log_pos, "patterns_ready", serve.pid, 3600, line, sizeof line))
    bench_die("no patterns_ready line (log %s)", serve.log);
  double first_ready_s = now_s() - t;
  double load0_ms = bench_log_field(line, "load_ms="), compute0_ms = bench_log_field(line, "compute_ms="),
         store0_ms = bench_log_field(line, "store_ms="), patterns = bench_log_field(line, "patterns=");
  int64_t serve_items = bench_node_items(&serve);
  fprintf(stderr,
          "first start (pattern tables empty): status after %.1f s, patterns ready after %.1f s; patterns_ready: "
          "load %.0f ms, compute %.0f ms, store %.0f ms, %.0f patterns; holds %lld items\n",
          first_start_s, first_ready_s, load0_ms, compute0_ms, store0_ms, patterns, (long long)serve_items);

  /* --- 3. catch-up ------------------------------------------------------------------------- */
  bench_node_start(&fresh, hlsd, NULL);
  bench_node_open(&fresh, 600);
  int64_t want = serve_items + bench_node_items(&fresh); /* each has its own profile too */
  double run_s0, wait_s0, run_f0, wait_f0;
  bench_proc_sched_s(serve.pid, &run_s0, &wait_s0);
  bench_proc_sched_s(fresh.pid, &run_f0, &wait_f0);
  double load_catchup = bench_load_1m();
  fprintf(stderr, "catch-up of %lld items by a fresh partner node (load %.2f)...\n", (long long)want, load_catchup);
  double t0 = now_s();
  bench_node_peer_add(&fresh, &serve);
  int status_asked = 0;
  double t_end = bench_wait_catchup(&fresh, &serve, want, t0, 4 * 3600, &status_asked);
  double catchup_s = t_end - t0, confirmed_s = now_s() - t0;
  double run_s, wait_s, run_f, wait_f;
  bench_proc_sched_s(serve.pid, &run_s, &wait_s);
  bench_proc_sched_s(fresh.pid, &run_f, &wait_f);
  run_s -= run_s0, wait_s -= wait_s0, run_f -= run_f0, wait_f -= wait_f0;
  struct hls_ctl_response r;
  bench_ctl_simple(&fresh.c, "status", &r);
  int64_t received = bench_mp_i64(bench_gossip_of(&r), "items_received");
  hls_ctl_response_free(&r);
  int64_t in = 0, out = 0;
  bench_node_peer_bytes(&fresh, serve.id, &in, &out);
  double t_idle = now_s();
  wait_idle(fresh.pid, 600);
  double fresh_idle_after_s = now_s() - t_idle;
  long hwm_fresh = bench_proc_kb(fresh.pid, "VmHWM:"), rss_fresh = bench_proc_kb(fresh.pid, "VmRSS:");
  long hwm_serve1 = bench_proc_kb(serve.pid, "VmHWM:");
  double catchup_rate = (double)received / catchup_s;
  fprintf(stderr,
          "caught up: %lld items in %.1f s = %.0f items/s (status showed them all at %.1f s); fresh hlsd ran %.1f s, waited for a CPU %.1f s; serving "
          "hlsd ran %.1f s; %.0f MiB in; fresh idle %.1f s after the end: VmHWM %.0f MiB, VmRSS %.0f MiB\n",
          (long long)received, catchup_s, catchup_rate, confirmed_s, run_f, wait_f, run_s, (double)in / 1048576.0,
          fresh_idle_after_s, (double)hwm_fresh / 1024.0, (double)rss_fresh / 1024.0);
  bench_ctl_close(&fresh.c);
  bench_hlsd_stop(fresh.pid);
  bench_ctl_close(&serve.c);
  bench_hlsd_stop(serve.pid);

  /* --- 4. restart, pattern tables kept -------------------------------------------------------- */
  log_pos = stat(serve.log, &sb) == 0 ? (long)sb.st_size : 0;
  double restart_run_s, restart_wait_s;
  double restart_t0 = now_s();
  size_t status_bytes = 0;
  double status_ms = first_status_ms(&serve, hlsd, 3600, &restart_run_s, &restart_wait_s, &status_bytes);
  if (!bench_log_wait(serve.log, &log_pos, "patterns_ready", serve.pid, 3600, line, sizeof line))
    bench_die("no patterns_ready line after the restart (log %s)", serve.log);
  /* From just before the fork: within a millisecond of first_status_ms's clock. */
  double ready_ms = (now_s() - restart_t0) * 1000.0;
  double load_ms = bench_log_field(line, "load_ms="), compute_ms = bench_log_field(line, "compute_ms="),
         store_ms = bench_log_field(line, "store_ms=");
  bench_pause_ms(1000);
  long rss_idle = bench_proc_kb(serve.pid, "VmRSS:"), hwm_restart = bench_proc_kb(serve.pid, "VmHWM:");
  fprintf(stderr,
          "restart: first status %.0f ms after the fork (hlsd ran %.1f s, waited for a CPU %.1f s); patterns_ready: load %.0f ms, compute %.0f ms, store %.0f ms; "
          "idle VmRSS %.0f MiB (VmHWM %.0f MiB)\n",
          status_ms, restart_run_s, restart_wait_s, load_ms, compute_ms, store_ms, (double)rss_idle / 1024.0,
          (double)hwm_restart / 1024.0);

  /* --- 5. reads -------------------------------------------------------------------------------- */
  double *ms[READ__COUNT], *run_ms[READ__COUNT], *wait_ms[READ__COUNT], first_ms[READ__COUNT];
  size_t bytes[READ__COUNT];
  for (int k = 0; k < READ__COUNT; k++) {
    ms[k] = calloc((size_t)runs, sizeof *ms[k]);
    run_ms[k] = calloc((size_t)runs, sizeof *run_ms[k]);
    wait_ms[k] = calloc((size_t)runs, sizeof *wait_ms[k]);
    if (ms[k] == NULL || run_ms[k] == NULL || wait_ms[k] == NULL) bench_die("out of memory");
  }
  for (long i = 0; i < runs; i++)
    for (int k = 0; k < READ__COUNT; k++) ms[k][i] = timed_read(&serve, k, &bytes[k], &run_ms[k][i], &wait_ms[k][i]);
  double med[READ__COUNT], lo[READ__COUNT], hi[READ__COUNT], run_med[READ__COUNT], wait_med[READ__COUNT];
  for (int k = 0; k < READ__COUNT; k++) {
    first_ms[k] = ms[k][0];
    med[k] = percentile(ms[k], (size_t)runs, 0.5); /* sorts */
    lo[k] = ms[k][0], hi[k] = ms[k][runs - 1];
    run_med[k] = percentile(run_ms[k], (size_t)runs, 0.5);
    wait_med[k] = percentile(wait_ms[k], (size_t)runs, 0.5);
    fprintf(stderr, "%-20s median %8.1f ms, min %8.1f, max %8.1f, first %8.1f; hlsd ran %.1f ms, waited %.1f ms "
            "(medians); reply %zu bytes\n", read_names[k], med[k], lo[k], hi[k], first_ms[k], run_med[k],
            wait_med[k], bytes[k]);
  }
  long hwm_end = bench_proc_kb(serve.pid, "VmHWM:");

  /* --- 6. spread while a client pages through every item ------------------------------------ */
  log_pos = stat(fresh.log, &sb) == 0 ? (long)sb.st_size : 0;
  bench_node_start(&fresh, hlsd, NULL);
  bench_node_open(&fresh, 600);
  if (!bench_log_wait(fresh.log, &log_pos, "patterns_ready", fresh.pid, 3600, line, sizeof line))
    bench_die("no patterns_ready line from the fresh node (log %s)", fresh.log);
  bench_node_open(&serve, 60);
  int ino = inotify_init1(IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, fresh.wal, IN_MODIFY) < 0) bench_die("inotify %s: %s", fresh.wal, strerror(errno));
  /* Both listen on new ports since they started again: the fresh node
   * lists the serving one at its new address, and its session comes up. */
  bench_node_peer_add(&fresh, &serve);
  for (double deadline = now_s() + 60;; bench_pause_ms(20)) {
    struct hls_ctl_response lr;
    bench_ctl_simple(&fresh.c, "peer.list", &lr);
    bool up = false;
    for (uint32_t i = 0; lr.result->type == HLS_MP_ARRAY && i < lr.result->len; i++) {
      char id[HLS_NODEID_TEXT_SIZE], state[32];
      bench_mp_str(&lr.result->v.items[i], "node_id", id, sizeof id);
      bench_mp_str(&lr.result->v.items[i], "state", state, sizeof state);
      up = up || (strcmp(id, serve.id) == 0 && strcmp(state, "connected") == 0);
    }
    hls_ctl_response_free(&lr);
    if (up) break;
    if (now_s() > deadline) bench_die("spread: the fresh node did not connect to the serving one");
  }
  int64_t serve_head = head_held(&serve, serve.id);
  (void)wait_held(&fresh, ino, serve.id, serve_head);
  int pager_pipe[2];
  if (pipe(pager_pipe) != 0) bench_die("pipe: %s", strerror(errno));
  pid_t pager = fork();
  if (pager < 0) bench_die("fork: %s", strerror(errno));
  if (pager == 0) {
    close(pager_pipe[0]);
    bench_ctl_close(&serve.c);
    bench_ctl_close(&fresh.c);
    pager_run(serve.sock, pager_pipe[1]);
  }
  close(pager_pipe[1]);
  kill(pager, SIGSTOP);
  double spread_ms[2][SPREAD_PUBS / 2];
  double paging_s = 0;
  for (int k = 0; k < SPREAD_PUBS; k++) {
    int paging = k % 2;
    char date[11], theme[32];
    bench_week_date(k, date);
    snprintf(theme, sizeof theme, "spread-%d", k);
    bench_node_record_add(&serve, date, theme, k);
    double t_cont = now_s();
    if (paging) kill(pager, SIGCONT);
    bench_pause_ms(150 + 10 * k);
    double t0p = now_s();
    struct hls_ctl_response pr;
    bench_ctl_simple(&serve.c, "share.publish", &pr);
    int64_t seq = bench_mp_i64(pr.result, "chain_seq");
    hls_ctl_response_free(&pr);
    if (seq <= serve_head) bench_die("spread: publication %d published nothing", k);
    serve_head = seq;
    spread_ms[paging][k / 2] = (wait_held(&fresh, ino, serve.id, seq) - t0p) * 1e3;
    if (paging) {
      kill(pager, SIGSTOP);
      paging_s += now_s() - t_cont;
    }
    if (getenv("BENCH_VERBOSE"))
      fprintf(stderr, "spread %d (%s): %.2f ms\n", k, paging ? "paging" : "idle", spread_ms[paging][k / 2]);
  }
  kill(pager, SIGTERM);
  kill(pager, SIGCONT);
  char pager_out[96] = "";
  ssize_t got = read(pager_pipe[0], pager_out, sizeof pager_out - 1);
  pager_out[got > 0 ? got : 0] = '\0';
  close(pager_pipe[0]);
  int pager_status = 0;
  waitpid(pager, &pager_status, 0);
  long long pages = 0, paged = 0, passes = 0;
  if (sscanf(pager_out, "%lld %lld %lld", &pages, &paged, &passes) != 3 || !WIFEXITED(pager_status) ||
      WEXITSTATUS(pager_status) != 0)
    bench_die("the pager failed");
  close(ino);
  double spread_med[2], spread_max[2];
  for (int m = 0; m < 2; m++) {
    spread_med[m] = percentile(spread_ms[m], SPREAD_PUBS / 2, 0.5); /* sorts */
    spread_max[m] = spread_ms[m][SPREAD_PUBS / 2 - 1];
  }
  fprintf(stderr, "spread to a peer: idle median %.1f ms (max %.1f); while paging median %.1f ms (max %.1f); pager: %lld pages, %lld items, %lld passes in all\n",
          spread_med[0], spread_max[0], spread_med[1], spread_max[1], pages, paged, passes);
  bench_ctl_close(&fresh.c);
  bench_hlsd_stop(fresh.pid);
  bench_ctl_close(&serve.c);
  bench_hlsd_stop(serve.pid);

  sample_medians(sample, wall1, cpu1);
  double verify_rate = (wall0[BENCH_M_RAW] + wall1[BENCH_M_RAW]) / 2;
  double load_end = bench_load_1m();

  /* --- results ---------------------------------------------------------------------------- */
  printf("bench_partner %s %ld %ld %ld %ld: load average (1 min) at start %.2f, at the catch-up's start %.2f, at end "
         "%.2f, on %ld CPUs\n",
         hlsd, places, weeks, themes, runs, load_start, load_catchup, load_end, sysconf(_SC_NPROCESSORS_ONLN));
  if (getenv("BENCH_SET")) printf("BENCH_SET: %s\n", getenv("BENCH_SET"));
  printf("data: %llu items = %ld profiles + %llu digests (%.1f cells each) + %llu stories, %.0f bytes an envelope; "
         "store %.0f MiB\n",
         (unsigned long long)w.items, places, (unsigned long long)w.digests,
         (double)w.cells / (double)(w.digests ? w.digests : 1), (unsigned long long)w.stories,
         (double)w.bytes / (double)w.items, (double)db_bytes / 1048576.0);
  printf("SQLite insert, hls_store_item_put in transactions of up to %d (%llu commits, synchronous=%s): %.0f items/s "
         "(by CPU time %.0f /s)\n",
         PUT_BATCH, (unsigned long long)w.commits, sync_full ? "full" : "normal", insert_rate,
         (double)w.items / w.insert_cpu_s);
  printf("one by one on %zu sampled envelopes, median of %d passes before / after:\n", sample->n, ROUNDS);
  for (int m = 0; m < BENCH_M__COUNT; m++)
    printf("  %-34s %8.0f / %8.0f /s by the clock, %8.0f / %8.0f /s by CPU time\n", bench_measure_names[m], wall0[m],
           wall1[m], cpu0[m], cpu1[m]);
  printf("first start, pattern tables empty: status after %.1f s (load %.0f, compute %.0f, store %.0f ms; %.0f "
         "patterns)\n",
         first_start_s, load0_ms, compute0_ms, store0_ms, patterns);
  printf("catch-up: %lld items in %.2f s = %.0f items/s (%.2f x raw verify); the fresh node's status showed them all "
         "%.1f s after the peer.add (asked %d time(s)); fresh hlsd ran %.1f s, waited %.1f s; serving hlsd ran %.1f s, "
         "waited %.1f s; %.1f bytes in per item\n",
         (long long)received, catchup_s, catchup_rate, catchup_rate / verify_rate, confirmed_s, status_asked, run_f,
         wait_f, run_s, wait_s, (double)in / (double)received);
  printf("peak RSS: fresh hlsd %.1f MiB (VmRSS %.1f once idle); serving hlsd %.1f MiB after its first start and the "
         "catch-up, %.1f MiB after the restart, %.1f MiB after the reads\n",
         (double)hwm_fresh / 1024.0, (double)rss_fresh / 1024.0, (double)hwm_serve1 / 1024.0,
         (double)hwm_restart / 1024.0, (double)hwm_end / 1024.0);
  printf("restart, pattern tables kept: first status %.0f ms after the fork (its reply %zu bytes), hlsd ran %.1f s "
         "and waited for a CPU %.1f s by then (load %.0f, compute %.0f, store %.0f ms); idle VmRSS %.1f MiB\n",
         status_ms, status_bytes, restart_run_s, restart_wait_s, load_ms, compute_ms, store_ms,
         (double)rss_idle / 1024.0);
  for (int k = 0; k < READ__COUNT; k++)
    printf("%-20s median %.1f ms of %ld (min %.1f, max %.1f, first %.1f); hlsd ran %.1f ms, waited for a CPU %.1f "
           "ms (medians); reply %zu bytes\n",
           read_names[k], med[k], runs, lo[k], hi[k], first_ms[k], run_med[k], wait_med[k], bytes[k]);
  printf("spread to a peer, %d publications alternating: with the pager stopped median %.1f ms (max %.1f); while it "
         "paged through the items (%d a page) median %.1f ms (max %.1f); the pager read %lld pages, %lld items "
         "(%lld whole passes), %.0f pages/s while running\n",
         SPREAD_PUBS, spread_med[0], spread_max[0], PAGE_ITEMS, spread_med[1], spread_max[1], pages, paged, passes,
         paging_s > 0 ? (double)pages / paging_s : 0.0);
  printf("items=%llu catchup_items_s=%.0f receiver_peak_rss_mib=%.0f idle_rss_mib=%.0f first_status_ms=%.0f "
         "patterns_ready_ms=%.0f items100_ms=%.1f stories20_ms=%.1f places_ms=%.1f spread_idle_ms=%.1f "
         "spread_paging_ms=%.1f sqlite_insert_rows_s=%.0f ed25519_verify_s=%.0f load=%.2f->%.2f\n",
         (unsigned long long)w.items, catchup_rate, (double)hwm_fresh / 1024.0, (double)rss_idle / 1024.0, status_ms,
         ready_ms, med[READ_ITEMS], med[READ_STORIES], med[READ_PLACES], spread_med[0], spread_med[1], insert_rate, verify_rate, load_start, load_end);
  for (int k = 0; k < READ__COUNT; k++) free(ms[k]), free(run_ms[k]), free(wait_ms[k]);
  bench_sample_free(sample);
  return 0;
}
