/* Benchmark: gossip between real hlsd processes on loopback.
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage:
 *   bench_gossip HLSD spread [NODES [PUBLICATIONS [SEED]]]       50 100 1
 *   bench_gossip HLSD catchup [ORIGINS [ITEMS_PER_ORIGIN]]       1000 1000
 * Environment, to investigate (the main tables of docs/benchmarks.md use
 * neither): BENCH_SET="S.NAME=VALUE ..." gives every hlsd more options;
 * BENCH_KEEP=1 keeps the temporary directory (stores and logs).
 *
 * spread: NODES hlsd processes on 127.0.0.1, each listing (hls peer add)
 * the next one in a ring and two others at random; gossip.connections=0
 * and no advertised address, so those listed links are the whole graph.
 * Then PUBLICATIONS times, at a random node: two aggregate records for a
 * past week of their own (untimed), a pause of 150-350 ms so every node is
 * idle, then share.publish, which signs that week's digest, stores it and
 * pushes it. Reports the publish request's own latency, and the time from
 * sending it until every other daemon answers status with the new head.
 * A daemon is asked (status, over its control socket) when its WAL file
 * changes (inotify), and every 250 ms as a fallback; so the figure is an
 * upper bound by one status round trip, and the pollers stay off the CPU
 * while the item travels.
 *
 * catchup: writes ORIGINS x ITEMS_PER_ORIGIN signed envelopes (a profile,
 * then weekly digests and stories in turn, realistic sizes) into a stopped
 * node's store through hls_store_item_put, in transactions of 256 taken
 * round robin over the origins (the order a catch-up sends them in). That
 * store is fresh and has hlsd's default settings, so the time of those
 * transactions is the SQLite insert rate; signing is not timed. Then it
 * starts that node and a fresh one, adds the first as the second's peer
 * (peer.add), and polls the fresh node's peer.list every 20 ms: the
 * catch-up ends at the last change of the fresh node's bytes out (its ACK
 * of the last batch), once it has been still for a second and status
 * shows every item held. Bytes on the wire are that peer.list's counters;
 * peak memory is each hlsd's VmHWM; /proc/PID/schedstat splits each
 * hlsd's time into running, waiting for a CPU, and idle (blocked on the
 * network or the disk). Next to it, in the same run, before and after:
 * one by one on a sample of those envelopes, the raw Ed25519 verify rate
 * (libsodium, on what each envelope signs), hls_env_decode of the stub and
 * of the whole envelope, and decode + hls_env_verify; each by the clock
 * and by CPU time, since the machines are shared. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "envelope.h"
#include "home.h"
#include "nodeid.h"
#include "store.h"
#include "bench.h"

/* --- processes ---------------------------------------------------------------
 * Every hlsd started is remembered here so that any exit, error paths
 * included, stops it: a benchmark must never leave daemons behind. */

enum { MAX_NODES = 256 };
static struct {
  pid_t pid[MAX_NODES + 2];
  int n;
  char dir[64];
} started;

static void stop_all(void) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) {
      kill(started.pid[i], SIGTERM);
      waitpid(started.pid[i], NULL, 0);
      started.pid[i] = 0;
    }
  if (started.dir[0] && getenv("BENCH_KEEP")) {
    fprintf(stderr, "BENCH_KEEP: kept %s\n", started.dir);
  } else if (started.dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", started.dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", started.dir);
    started.dir[0] = '\0';
  }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_gossip: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (started.dir[0]) fprintf(stderr, "(logs in %s%s)\n", started.dir, getenv("BENCH_KEEP") ? "" : ", now removed");
  exit(1); /* stop_all runs at exit */
}

/* Run hlsd --home HOME [--set S]..., stdout and stderr to log. */
static pid_t spawn_hlsd(const char *hlsd, const char *home, const char *log, const char *const *sets) {
  if (started.n == MAX_NODES + 2) die("too many daemons");
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    char *argv[64];
    int n = 0;
    argv[n++] = strdup(hlsd);
    argv[n++] = strdup("--home");
    argv[n++] = strdup(home);
    /* Every daemon here is on 127.0.0.1: one address, many members. */
    argv[n++] = strdup("--set");
    argv[n++] = strdup("network.max_per_address=0");
    for (; sets != NULL && *sets != NULL && n < 60; sets++) {
      argv[n++] = strdup("--set");
      argv[n++] = strdup(*sets);
    }
    /* BENCH_SET="S.NAME=VALUE ...": more options for every hlsd, to try
     * settings (the main tables of docs/benchmarks.md use none). */
    char *extra = getenv("BENCH_SET") ? strdup(getenv("BENCH_SET")) : NULL, *save = NULL;
    for (char *tok = extra ? strtok_r(extra, " ", &save) : NULL; tok != NULL && n < 60; tok = strtok_r(NULL, " ", &save)) {
      argv[n++] = strdup("--set");
      argv[n++] = tok;
    }
    argv[n] = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  started.pid[started.n++] = pid;
  return pid;
}

static void stop_hlsd(pid_t pid) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] == pid) {
      int status = 0;
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
      started.pid[i] = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fprintf(stderr, "note: hlsd %d exited with %d\n", (int)pid, status);
    }
}

static long vm_hwm_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

/* User + system CPU seconds used by pid so far. */
static double cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Seconds pid's main thread has run on a CPU, and has waited for one while
 * runnable (/proc/PID/schedstat). hlsd is one thread. */
static void sched_s(pid_t pid, double *run, double *wait) {
  char path[64];
  unsigned long long r = 0, w = 0;
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL || fscanf(f, "%llu %llu", &r, &w) != 2) r = w = 0;
  if (f) fclose(f);
  *run = (double)r / 1e9;
  *wait = (double)w / 1e9;
}

/* The machine's 1-minute load average (the machine is shared: the figures
 * say how busy it was). */
static double load_1m(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f == NULL || fscanf(f, "%lf", &l) != 1) l = -1;
  if (f) fclose(f);
  return l;
}

static void pause_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint32_t next_rand(uint32_t *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  return *seed >> 8;
}

/* --- control socket (docs/control.md) -------------------------------------- */

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

/* Connect to hlsd's socket, retrying until it answers (hlsd starting). */
static void ctl_open(struct ctl *c, const char *path, pid_t pid, double timeout_s) {
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
    if (waitpid(pid, NULL, WNOHANG) == pid) die("hlsd %d exited before answering on %s", (int)pid, path);
    if (now_s() > deadline) die("hlsd did not answer on %s", path);
    pause_ms(10);
  }
}

static void ctl_close(struct ctl *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  msgpack_sbuffer_destroy(&c->sb);
}

/* Start a request: pack exactly one value (its args) on the packer
 * returned, then ctl_send. */
static msgpack_packer *ctl_begin(struct ctl *c, const char *cmd) {
  c->sb.size = 0;
  msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
  if (hls_ctl_begin_request(&c->pk, ++c->next_id, cmd) != 0) die("packing %s", cmd);
  return &c->pk;
}

static void ctl_send(struct ctl *c) {
  if (hls_ctl_frame_finish(&c->sb, 0, HLS_CTL_FRAME_HARD_MAX) != 0 || write_all(c->fd, c->sb.data, c->sb.size) != 0)
    die("sending a request: %s", strerror(errno));
}

/* The reply to the request sent last (progress events skipped). An error
 * reply ends the benchmark: it cannot go on without the call. */
static void ctl_reply(struct ctl *c, struct hls_ctl_response *resp) {
  for (;;) {
    uint8_t h[HLS_CTL_HEADER];
    size_t len;
    if (read_n(c->fd, h, sizeof h) != 0 || hls_ctl_frame_length(h, HLS_CTL_FRAME_HARD_MAX, &len) != 0)
      die("reading a reply");
    uint8_t *payload = malloc(len);
    if (payload == NULL || read_n(c->fd, payload, len) != 0) die("reading a reply of %zu bytes", len);
    if (hls_ctl_response_decode(resp, payload, len, SIZE_MAX, NULL) != 0) die("decoding a reply");
    resp->payload = payload; /* freed with the response */
    if (resp->kind == HLS_CTL_EVENT) {
      hls_ctl_response_free(resp);
      continue;
    }
    if (resp->kind == HLS_CTL_ERROR) die("hlsd refused a request: %s: %s", resp->error_name, resp->error_message);
    return;
  }
}

static void ctl_call(struct ctl *c, struct hls_ctl_response *resp) {
  ctl_send(c);
  ctl_reply(c, resp);
}

static void ctl_simple(struct ctl *c, const char *cmd, struct hls_ctl_response *resp) {
  msgpack_pack_map(ctl_begin(c, cmd), 0);
  ctl_call(c, resp);
}

static int64_t mp_i64(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL) return -1;
  if (v->type == HLS_MP_UINT) return (int64_t)v->v.u;
  if (v->type == HLS_MP_INT) return v->v.i;
  return -1;
}

static void mp_str(const struct hls_mp_value *m, const char *key, char *out, size_t size) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  out[0] = '\0';
  if (v != NULL && v->type == HLS_MP_STR && v->len < size) {
    memcpy(out, v->v.str, v->len);
    out[v->len] = '\0';
  }
}

static const struct hls_mp_value *gossip_of(const struct hls_ctl_response *status) {
  const struct hls_mp_value *g = hls_mp_get(status->result, "gossip");
  if (g == NULL || g->type != HLS_MP_MAP) die("status has no gossip object");
  return g;
}

/* The head a status reply shows for origin (node id text), 0 if none. */
static int64_t head_of(const struct hls_ctl_response *status, const char *origin) {
  const struct hls_mp_value *heads = hls_mp_get(gossip_of(status), "heads");
  if (heads == NULL || heads->type != HLS_MP_ARRAY) return 0;
  for (uint32_t i = 0; i < heads->len; i++) {
    const struct hls_mp_value *o = hls_mp_get(&heads->v.items[i], "origin");
    if (o != NULL && o->type == HLS_MP_STR && o->len == strlen(origin) && memcmp(o->v.str, origin, o->len) == 0)
      return mp_i64(&heads->v.items[i], "head");
  }
  return 0;
}

/* peer.list: bytes in and out with one peer (node id text). */
static void peer_bytes(struct ctl *c, const char *peer, int64_t *in, int64_t *out) {
  struct hls_ctl_response r;
  ctl_simple(c, "peer.list", &r);
  *in = *out = 0;
  for (uint32_t i = 0; r.result->type == HLS_MP_ARRAY && i < r.result->len; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    mp_str(&r.result->v.items[i], "node_id", id, sizeof id);
    if (strcmp(id, peer) == 0) {
      *in = mp_i64(&r.result->v.items[i], "bytes_in");
      *out = mp_i64(&r.result->v.items[i], "bytes_out");
    }
  }
  hls_ctl_response_free(&r);
}

/* --- nodes -------------------------------------------------------------------- */

struct node {
  char home[96], sock[128], wal[128], log[128];
  pid_t pid;
  struct ctl c;
  char id[HLS_NODEID_TEXT_SIZE];
  char addr[80];
};

/* hls init: a node in dir/name. network_key NULL creates a network;
 * *key_out (if given) gets its key as text. */
static void init_node(struct node *n, const char *dir, const char *name, const char *network_key,
                      char key_out[HLS_KEY32_TEXT_SIZE]) {
  snprintf(n->home, sizeof n->home, "%s/%s", dir, name);
  snprintf(n->sock, sizeof n->sock, "%s/hlsd.sock", n->home);
  snprintf(n->wal, sizeof n->wal, "%s/hlsd.db-wal", n->home);
  snprintf(n->log, sizeof n->log, "%s/%s.log", dir, name);
  char place[64];
  snprintf(place, sizeof place, "Bench %s", name);
  struct hls_init_params p = {.place = place, .region = "Bench", .listen = "127.0.0.1:0", .network_key = network_key};
  struct hls_why why = {{0}};
  if (hls_home_init(n->home, &p, &why) != 0) die("init %s: %s", n->home, why.text);
  if (key_out != NULL) {
    uint8_t key[32];
    if (hls_home_load_network_key(n->home, key, &why) != 0) die("network key: %s", why.text);
    hls_key32_format(key, key_out);
  }
}

static void start_node(struct node *n, const char *hlsd, const char *const *sets) {
  n->pid = spawn_hlsd(hlsd, n->home, n->log, sets);
}

/* Connect, and learn the node's id and listening address. */
static void open_node(struct node *n) {
  ctl_open(&n->c, n->sock, n->pid, 60);
  struct hls_ctl_response r;
  ctl_simple(&n->c, "status", &r);
  mp_str(r.result, "node_id", n->id, sizeof n->id);
  mp_str(r.result, "listening_on", n->addr, sizeof n->addr);
  hls_ctl_response_free(&r);
  if (n->id[0] == '\0' || n->addr[0] == '\0') die("%s: no node id or listening address in status", n->home);
}

static void peer_add(struct node *n, const struct node *peer) {
  msgpack_packer *pk = ctl_begin(&n->c, "peer.add");
  msgpack_pack_map(pk, 2);
  hls_mp_pack_kv_str(pk, "address", peer->addr);
  hls_mp_pack_kv_str(pk, "node_id", peer->id);
  struct hls_ctl_response r;
  ctl_call(&n->c, &r);
  hls_ctl_response_free(&r);
}

static void make_dir(void) {
  snprintf(started.dir, sizeof started.dir, "/tmp/hls-bench-gossip.XXXXXX");
  if (mkdtemp(started.dir) == NULL) die("mkdtemp: %s", strerror(errno));
}

/* ============================================================================
 * spread: one new item to every one of N daemons */

static void add_record(struct node *n, const char *date, const char *theme, int i) {
  msgpack_packer *pk = ctl_begin(&n->c, "record.add");
  char title[64];
  snprintf(title, sizeof title, "Spread bench record %d", i);
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "record");
  msgpack_pack_map(pk, 7);
  hls_mp_pack_kv_str(pk, "title", title);
  hls_mp_pack_kv_str(pk, "scale", "organisation");
  hls_mp_pack_kv_str(pk, "stage", "reflect");
  hls_mp_pack_kv_str(pk, "date", date);
  hls_mp_pack_kv_str(pk, "themes", theme);
  hls_mp_pack_kv_str(pk, "consent", "aggregate");
  hls_mp_pack_kv_str(pk, "consent_by", "lead");
  struct hls_ctl_response r;
  ctl_call(&n->c, &r);
  hls_ctl_response_free(&r);
}

/* The Monday of week k after 2020-01-06, as YYYY-MM-DD. */
static void week_date(int k, char out[11]) {
  struct tm tm = {.tm_year = 120, .tm_mon = 0, .tm_mday = 6, .tm_hour = 12};
  time_t t = timegm(&tm) + (time_t)k * 7 * 86400;
  gmtime_r(&t, &tm);
  strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Wait until every node has its sessions up and holds every profile. */
static void wait_mesh(struct node *nodes, int n, const int *degree, double timeout_s) {
  double deadline = now_s() + timeout_s;
  for (;;) {
    int ready = 0;
    for (int i = 0; i < n; i++) {
      struct hls_ctl_response r;
      ctl_simple(&nodes[i].c, "status", &r);
      const struct hls_mp_value *g = gossip_of(&r);
      const struct hls_mp_value *heads = hls_mp_get(g, "heads");
      if (mp_i64(g, "sessions") == degree[i] && heads != NULL && heads->len == (uint32_t)n && mp_i64(g, "behind") == 0)
        ready++;
      hls_ctl_response_free(&r);
    }
    if (ready == n) return;
    if (now_s() > deadline) die("the mesh did not form: %d of %d nodes ready", ready, n);
    pause_ms(200);
  }
}

static int run_spread(const char *hlsd, int n, int pubs, uint32_t seed) {
  enum { WARMUP = 3 };
  if (n < 3 || n > MAX_NODES || pubs < 1) die("spread: 3 to %d nodes, at least one publication", MAX_NODES);
  double load_start = load_1m();
  make_dir();
  struct node *nodes = calloc((size_t)n, sizeof *nodes);
  uint8_t *listed = calloc((size_t)n * (size_t)n, 1); /* listed[i*n+j]: i lists j */
  int *degree = calloc((size_t)n, sizeof *degree);
  if (nodes == NULL || listed == NULL || degree == NULL) die("out of memory");
  char key[HLS_KEY32_TEXT_SIZE] = "", name[16];
  static const char *const sets[] = {"publish.delay=1h", "gossip.connections=0", NULL};
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "n%02d", i);
    init_node(&nodes[i], started.dir, name, i == 0 ? NULL : key, i == 0 ? key : NULL);
  }
  for (int i = 0; i < n; i++) start_node(&nodes[i], hlsd, sets);
  for (int i = 0; i < n; i++) open_node(&nodes[i]);

  /* The graph: a ring (i lists i+1) and two chords per node, at random. */
  uint32_t rng = seed;
  for (int i = 0; i < n; i++) listed[i * n + (i + 1) % n] = 1;
  for (int i = 0; i < n; i++)
    for (int added = 0, tries = 0; added < 2 && tries < 100; tries++) {
      int j = (int)(next_rand(&rng) % (uint32_t)n);
      if (j == i || listed[i * n + j] || listed[j * n + i]) continue;
      listed[i * n + j] = 1;
      added++;
    }
  int edges = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (listed[i * n + j]) {
        degree[i]++, degree[j]++, edges++;
        peer_add(&nodes[i], &nodes[j]);
      }
  double mesh_t0 = now_s();
  wait_mesh(nodes, n, degree, 120);
  int min_deg = n, max_deg = 0;
  for (int i = 0; i < n; i++) {
    if (degree[i] < min_deg) min_deg = degree[i];
    if (degree[i] > max_deg) max_deg = degree[i];
  }
  /* Graph diameter (BFS from every node): the fewest hops the slowest
   * publication needs. */
  int diameter = 0;
  int *dist = malloc((size_t)n * sizeof *dist), *queue = malloc((size_t)n * sizeof *queue);
  for (int s = 0; s < n; s++) {
    for (int i = 0; i < n; i++) dist[i] = -1;
    int qh = 0, qt = 0;
    dist[s] = 0;
    queue[qt++] = s;
    while (qh < qt) {
      int u = queue[qh++];
      for (int v = 0; v < n; v++)
        if ((listed[u * n + v] || listed[v * n + u]) && dist[v] < 0) {
          dist[v] = dist[u] + 1;
          if (dist[v] > diameter) diameter = dist[v];
          queue[qt++] = v;
        }
    }
  }
  fprintf(stderr, "mesh: %d nodes, %d links, degree %d-%d, diameter %d, formed in %.1f s\n", n, edges, min_deg,
          max_deg, diameter, now_s() - mesh_t0);

  /* Watch every node's WAL: a write there is the moment to ask it. */
  int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0) die("inotify: %s", strerror(errno));
  int *wd = malloc((size_t)n * sizeof *wd);
  for (int i = 0; i < n; i++)
    if ((wd[i] = inotify_add_watch(ino, nodes[i].wal, IN_MODIFY)) < 0) die("watch %s: %s", nodes[i].wal, strerror(errno));

  int total = WARMUP + pubs;
  double *spread = calloc((size_t)pubs, sizeof *spread), *publish = calloc((size_t)pubs, sizeof *publish);
  double *after = calloc((size_t)pubs, sizeof *after), *half = calloc((size_t)pubs, sizeof *half);
  double *reached = calloc((size_t)n, sizeof *reached), *sorted = calloc((size_t)n, sizeof *sorted);
  bool *in_flight = calloc((size_t)n, sizeof *in_flight), *dirty = calloc((size_t)n, sizeof *dirty);
  struct pollfd *pfd = calloc((size_t)n + 1, sizeof *pfd);
  int *pfd_node = calloc((size_t)n + 1, sizeof *pfd_node);
  long status_calls = 0, fallback_calls = 0, multi_item = 0;
  for (int k = 0; k < total; k++) {
    int p = (int)(next_rand(&rng) % (uint32_t)n);
    char date[11], theme[32];
    week_date(k, date);
    snprintf(theme, sizeof theme, "spread-%d", k);
    add_record(&nodes[p], date, theme, 2 * k);
    add_record(&nodes[p], date, theme, 2 * k + 1);
    pause_ms(150 + (long)(next_rand(&rng) % 201));
    char drain[4096];
    while (read(ino, drain, sizeof drain) > 0) {
    }

    double t0 = now_s();
    struct hls_ctl_response r;
    ctl_simple(&nodes[p].c, "share.publish", &r);
    double t_resp = now_s();
    int64_t seq = mp_i64(r.result, "chain_seq"), published = mp_i64(r.result, "published");
    hls_ctl_response_free(&r);
    if (published != 1) multi_item++;
    if (published < 1) die("publication %d at n%02d published nothing", k, p);

    int pending = n - 1;
    for (int i = 0; i < n; i++) reached[i] = 0, in_flight[i] = dirty[i] = false;
    reached[p] = t_resp;
    double next_fallback = t_resp + 0.25, deadline = t0 + 30;
    while (pending > 0) {
      int np = 0;
      pfd[np].fd = ino, pfd[np].events = POLLIN, pfd_node[np++] = -1;
      for (int i = 0; i < n; i++)
        if (in_flight[i]) pfd[np].fd = nodes[i].c.fd, pfd[np].events = POLLIN, pfd_node[np++] = i;
      double now = now_s();
      int wait_ms = (int)((next_fallback - now) * 1000) + 1;
      if (poll(pfd, (nfds_t)np, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
      if (pfd[0].revents & POLLIN) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len;
        while ((len = read(ino, buf, sizeof buf)) > 0) {
          for (char *e = buf; e < buf + len; e += sizeof(struct inotify_event) + ((struct inotify_event *)e)->len) {
            int w = ((struct inotify_event *)e)->wd, i = 0;
            while (i < n && wd[i] != w) i++;
            if (i == n || reached[i] > 0) continue;
            if (in_flight[i]) {
              dirty[i] = true;
              continue;
            }
            msgpack_pack_map(ctl_begin(&nodes[i].c, "status"), 0);
            ctl_send(&nodes[i].c);
            in_flight[i] = true;
            status_calls++;
          }
        }
      }
      for (int q = 1; q < np; q++) {
        if (!(pfd[q].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int i = pfd_node[q];
        ctl_reply(&nodes[i].c, &r);
        in_flight[i] = false;
        if (head_of(&r, nodes[p].id) >= seq) {
          reached[i] = now_s();
          pending--;
        } else if (dirty[i]) {
          dirty[i] = false;
          msgpack_pack_map(ctl_begin(&nodes[i].c, "status"), 0);
          ctl_send(&nodes[i].c);
          in_flight[i] = true;
          status_calls++;
        }
        hls_ctl_response_free(&r);
      }
      now = now_s();
      if (now >= next_fallback) {
        for (int i = 0; i < n; i++)
          if (reached[i] == 0 && !in_flight[i]) {
            msgpack_pack_map(ctl_begin(&nodes[i].c, "status"), 0);
            ctl_send(&nodes[i].c);
            in_flight[i] = true;
            status_calls++, fallback_calls++;
          }
        next_fallback = now + 0.25;
      }
      if (now > deadline) die("publication %d at n%02d: %d nodes never got seq %lld", k, p, pending, (long long)seq);
    }
    /* Replies to fallback polls still in flight: read them. */
    for (int i = 0; i < n; i++)
      if (in_flight[i]) {
        ctl_reply(&nodes[i].c, &r);
        hls_ctl_response_free(&r);
      }
    double last = 0;
    int last_node = p;
    for (int i = 0; i < n; i++) {
      if (reached[i] > last) last = reached[i], last_node = i;
      sorted[i] = reached[i] - t0;
    }
    if (k < WARMUP) continue;
    int j = k - WARMUP;
    spread[j] = (last - t0) * 1e3;
    publish[j] = (t_resp - t0) * 1e3;
    after[j] = (last - t_resp) * 1e3;
    half[j] = percentile(sorted, (size_t)n, 0.5) * 1e3;
    if (getenv("BENCH_VERBOSE"))
      fprintf(stderr, "pub %d at n%02d seq %lld: publish %.2f ms, all %.2f ms (last: n%02d)\n", j, p, (long long)seq,
              publish[j], spread[j], last_node);
  }

  /* Every node must hold the same heads; count duplicates received. */
  struct hls_ctl_response r0;
  ctl_simple(&nodes[0].c, "status", &r0);
  int64_t items0 = mp_i64(gossip_of(&r0), "items");
  hls_ctl_response_free(&r0);
  int64_t dup = 0, recv = 0;
  long max_hwm = 0;
  double cpu = 0;
  for (int i = 0; i < n; i++) {
    struct hls_ctl_response r;
    ctl_simple(&nodes[i].c, "status", &r);
    const struct hls_mp_value *g = gossip_of(&r);
    if (mp_i64(g, "items") != items0) die("n%02d holds %lld items, n00 %lld", i, (long long)mp_i64(g, "items"), (long long)items0);
    dup += mp_i64(g, "items_duplicate");
    recv += mp_i64(g, "items_received");
    hls_ctl_response_free(&r);
    long hwm = vm_hwm_kb(nodes[i].pid);
    if (hwm > max_hwm) max_hwm = hwm;
    cpu += cpu_s(nodes[i].pid);
  }

  printf("load average (1 min) at start %.2f, at end %.2f, on %ld CPUs\n", load_start, load_1m(),
         sysconf(_SC_NPROCESSORS_ONLN));
  if (getenv("BENCH_SET")) printf("BENCH_SET: %s\n", getenv("BENCH_SET"));
  printf("nodes %d, links %d (ring + 2 random chords per node, listed peers only), degree %d-%d, diameter %d\n", n,
         edges, min_deg, max_deg, diameter);
  printf("publications: %d (after %d warm-up), one digest each%s\n", pubs, WARMUP,
         multi_item ? " (some published more than one item!)" : "");
  double max_spread = 0;
  for (int j = 0; j < pubs; j++)
    if (spread[j] > max_spread) max_spread = spread[j];
  printf("publish request (share.publish round trip): median %.2f ms, p99 %.2f ms\n",
         percentile(publish, (size_t)pubs, 0.5), percentile(publish, (size_t)pubs, 0.99));
  printf("half of the nodes hold it, from the request:  median %.2f ms, p99 %.2f ms\n", percentile(half, (size_t)pubs, 0.5),
         percentile(half, (size_t)pubs, 0.99));
  printf("ALL %d nodes hold it, from the request:        median %.2f ms, p99 %.2f ms, max %.2f ms\n", n,
         percentile(spread, (size_t)pubs, 0.5), percentile(spread, (size_t)pubs, 0.99), max_spread);
  printf("all nodes hold it, from the publish reply:    median %.2f ms, p99 %.2f ms\n",
         percentile(after, (size_t)pubs, 0.5), percentile(after, (size_t)pubs, 0.99));
  printf("status polls: %ld (%ld of them fallback polls); items received %lld, duplicates %lld (%.1f per item)\n",
         status_calls, fallback_calls, (long long)recv, (long long)dup, recv ? (double)dup / (double)recv : 0.0);
  printf("hlsd peak RSS (largest of %d): %.1f MiB; CPU of all hlsd over the run: %.1f s\n", n, (double)max_hwm / 1024.0,
         cpu);
  for (int i = 0; i < n; i++) ctl_close(&nodes[i].c);
  for (int i = 0; i < n; i++) stop_hlsd(nodes[i].pid);
  close(ino);
  free(nodes), free(listed), free(degree), free(dist), free(queue), free(wd), free(spread), free(publish);
  free(after), free(half), free(reached), free(sorted), free(in_flight), free(dirty), free(pfd), free(pfd_node);
  return 0;
}

/* ============================================================================
 * catchup: a fresh node from one peer holding many items */

enum { PUT_BATCH = 256, SAMPLE = 30000, ROUNDS = 3 };

struct origin {
  uint8_t pk[32], sk[64], prev[32];
  uint64_t seq;
};

/* Body of item seq of origin o: a profile first, then a week's digest and
 * a story in turn, with sizes that vary like real ones. */
static int make_body(msgpack_sbuffer *out, long o, uint64_t seq, int *type) {
  if (seq == 1) {
    struct hls_profile p = {.role = HLS_PROFILE_PLACE};
    snprintf(p.place, sizeof p.place, "Place %ld", o);
    snprintf(p.region, sizeof p.region, "Region %ld", o % 20);
    *type = HLS_ENV_PROFILE;
    return hls_profile_pack(out, &p);
  }
  int week = (int)(seq / 2);
  if (seq % 2 == 0) {
    static struct hls_digest_cell cells[60];
    struct hls_digest d = {.iso_year = 2000 + week / 52 % 25, .iso_week = week % 52 + 1, .method = {10, 5},
                           .n_cells = 20 + (size_t)((seq * 7 + (uint64_t)o) % 41), .cells = cells};
    for (size_t i = 0; i < d.n_cells; i++) {
      memset(&cells[i], 0, sizeof cells[i]);
      snprintf(cells[i].theme, sizeof cells[i].theme, "theme-%02zu", (i + (size_t)o) / 4 % 100);
      cells[i].kind = (int)(i % 2);
      cells[i].scale = (int)(i % 4);
      cells[i].stage = (int)((i / 2) % 6);
      cells[i].count = 3 + (uint32_t)((i * 13 + seq) % 40);
      cells[i].withheld = cells[i].scale == 0 && cells[i].count < 10;
      if (cells[i].withheld) cells[i].count = 0;
    }
    *type = HLS_ENV_DIGEST;
    return hls_digest_pack(out, &d);
  }
  static const char tried[] =
      "We opened the library meeting room on Tuesday mornings, with a practitioner and two volunteers who live "
      "nearby, and no booking or referral needed. Tea, a map of local services on the wall, and time.";
  static const char learnt[] =
      "People came back when they were welcomed by name. Housing questions came up first, then loneliness; the "
      "volunteers heard more than the practitioner did, and the second visit mattered more than the first.";
  char t[sizeof tried], l[sizeof learnt];
  size_t tl = 80 + (size_t)((seq * 31 + (uint64_t)o) % (sizeof tried - 81));
  size_t ll = 60 + (size_t)((seq * 17 + (uint64_t)o) % (sizeof learnt - 61));
  memcpy(t, tried, tl), t[tl] = '\0';
  memcpy(l, learnt, ll), l[ll] = '\0';
  struct hls_story s = {.iso_year = 2000 + week / 52 % 25, .iso_week = week % 52 + 1, .n_themes = 2,
                        .scale = (int)(seq % 4), .stage = (int)(seq % 6), .tried = t, .learnt = l};
  snprintf(s.title, sizeof s.title, "What we tried in week %d at place %ld", week, o);
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "theme-%02d", (int)(seq % 50));
  snprintf(s.themes[1].slug, sizeof s.themes[1].slug, "peer-support");
  s.themes[1].kind = HLS_KIND_STRENGTH;
  *type = HLS_ENV_STORY;
  return hls_story_pack(out, &s);
}

struct sample {
  uint8_t *bytes; /* envelopes back to back */
  size_t *off, *len;
  size_t n, used, cap;
  uint8_t *msgs; /* per envelope, 256 bytes apart: tag + header, sig at +160, key at +224 */
  size_t *msg_len;
  msgpack_sbuffer stubs; /* the same envelopes without their bodies */
  size_t *stub_off, *stub_len;
};

static void sample_add(struct sample *sm, const uint8_t *env, size_t len) {
  if (sm->used + len > sm->cap) {
    sm->cap = (sm->used + len) * 2;
    if ((sm->bytes = realloc(sm->bytes, sm->cap)) == NULL) die("out of memory");
  }
  memcpy(sm->bytes + sm->used, env, len);
  sm->off[sm->n] = sm->used;
  sm->len[sm->n++] = len;
  sm->used += len;
}

static void sample_prepare(struct sample *sm) {
  sm->msgs = malloc(256 * sm->n);
  sm->msg_len = malloc(sm->n * sizeof *sm->msg_len);
  sm->stub_off = malloc(sm->n * sizeof *sm->stub_off);
  sm->stub_len = malloc(sm->n * sizeof *sm->stub_len);
  if (sm->msgs == NULL || sm->msg_len == NULL || sm->stub_off == NULL || sm->stub_len == NULL) die("out of memory");
  msgpack_sbuffer_init(&sm->stubs);
  for (size_t i = 0; i < sm->n; i++) {
    struct hls_envelope e;
    if (hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL) != 0) die("sample %zu", i);
    if (16 + e.header_len > 160) die("header of %zu bytes", e.header_len);
    uint8_t *m = sm->msgs + 256 * i;
    memcpy(m, HLS_ENV_SIG_TAG, 16);
    memcpy(m + 16, e.header_bytes, e.header_len);
    sm->msg_len[i] = 16 + e.header_len;
    memcpy(m + 160, e.sig, 64);
    memcpy(m + 224, e.h.origin, 32);
    sm->stub_off[i] = sm->stubs.size;
    if (hls_env_encode_stub(&sm->stubs, &e) != 0) die("stub");
    sm->stub_len[i] = sm->stubs.size - sm->stub_off[i];
  }
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One by one over the whole sample: raw Ed25519 verify of what each
 * envelope signs; hls_env_decode of its stub (header, signature, item id:
 * no body); hls_env_decode of the whole envelope (body hash and schema
 * too); and decode + hls_env_verify. Rates per second of the clock (wall)
 * and of this process's CPU time (cpu). */
enum { M_RAW, M_STUB, M_DECODE, M_BOTH, M__COUNT };
static const char *const measure_names[M__COUNT] = {
    "raw Ed25519 verify (libsodium)", "hls_env_decode, stub (no body)", "hls_env_decode, whole envelope",
    "hls_env_decode + hls_env_verify"};

static void sample_rates(const struct sample *sm, double wall[M__COUNT], double cpu[M__COUNT]) {
  struct hls_envelope e;
  for (int m = 0; m < M__COUNT; m++) {
    double t = now_s(), c = cpu_now();
    for (size_t i = 0; i < sm->n; i++) {
      const uint8_t *msg = sm->msgs + 256 * i;
      int rc = 0;
      switch (m) {
      case M_RAW: rc = crypto_sign_verify_detached(msg + 160, msg, sm->msg_len[i], msg + 224); break;
      case M_STUB:
        rc = hls_env_decode(&e, (const uint8_t *)sm->stubs.data + sm->stub_off[i], sm->stub_len[i], NULL);
        break;
      case M_DECODE: rc = hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL); break;
      default:
        rc = hls_env_decode(&e, sm->bytes + sm->off[i], sm->len[i], NULL);
        if (rc == 0) rc = hls_env_verify(&e);
      }
      if (rc != 0) die("%s failed on sample %zu", measure_names[m], i);
    }
    wall[m] = (double)sm->n / (now_s() - t);
    cpu[m] = (double)sm->n / (cpu_now() - c);
  }
}

static double median_of(double *v, size_t n) { return percentile(v, n, 0.5); }

static int run_catchup(const char *hlsd, long n_origins, long per_origin) {
  if (n_origins < 1 || per_origin < 2 || n_origins > 100000) die("catchup: 1 to 100000 origins, 2+ items each");
  long total = n_origins * per_origin;
  double load_start = load_1m();
  make_dir();
  struct node serve = {0}, fresh = {0};
  char key[HLS_KEY32_TEXT_SIZE] = "";
  init_node(&serve, started.dir, "serve", NULL, key);
  init_node(&fresh, started.dir, "fresh", key, NULL);

  /* --- generate into serve's store; time only the store transactions ---- */
  char db[160];
  snprintf(db, sizeof db, "%s/hlsd.db", serve.home);
  struct hls_why why = {{0}};
  struct hls_store *st;
  /* hlsd's defaults: store.synchronous=full, 32 MiB cache (or what
   * BENCH_SET gives hlsd, so that both measure the same). */
  bool sync_full = getenv("BENCH_SET") == NULL || strstr(getenv("BENCH_SET"), "store.synchronous=normal") == NULL;
  struct hls_store_options opt = {.synchronous_full = sync_full};
  if (hls_store_open(&st, db, &opt, &why) != 0) die("store: %s", why.text);
  struct origin *orig = calloc((size_t)n_origins, sizeof *orig);
  if (orig == NULL) die("out of memory");
  for (long o = 0; o < n_origins; o++) {
    uint8_t seed[32] = {0};
    memcpy(seed, &o, sizeof o);
    seed[31] = 0x5a;
    crypto_sign_seed_keypair(orig[o].pk, orig[o].sk, seed);
  }
  struct sample sm = {0};
  size_t stride = (size_t)total / SAMPLE > 0 ? (size_t)total / SAMPLE : 1;
  sm.off = malloc((SAMPLE + 1) * sizeof *sm.off);
  sm.len = malloc((SAMPLE + 1) * sizeof *sm.len);
  msgpack_sbuffer body, envs;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&envs);
  size_t off[PUT_BATCH];
  struct hls_envelope dec[PUT_BATCH];
  double insert_s = 0, insert_cpu_s = 0, gen_t0 = now_s();
  uint64_t env_bytes = 0, body_bytes = 0, made = 0, commits = 0;
  for (long round = 0; round * PUT_BATCH < per_origin; round++) {
    for (long o = 0; o < n_origins; o++) {
      struct origin *g = &orig[o];
      long n = per_origin - round * PUT_BATCH < PUT_BATCH ? per_origin - round * PUT_BATCH : PUT_BATCH;
      envs.size = 0;
      for (long i = 0; i < n; i++) {
        int type;
        body.size = 0;
        if (make_body(&body, o, g->seq + 1, &type) != 0) die("packing a body");
        off[i] = envs.size;
        if (hls_env_build(&envs, type, g->sk, g->seq + 1, g->seq ? g->prev : NULL,
                          1600000000000ull + (g->seq + 1) * 60000ull, HLS_AUD_NETWORK,
                          (const uint8_t *)body.data, body.size) != 0)
          die("building an envelope");
        struct hls_envelope e;
        if (hls_env_decode(&e, (const uint8_t *)envs.data + off[i], envs.size - off[i], NULL) != 0) die("decode");
        memcpy(g->prev, e.id, 32);
        g->seq++;
        body_bytes += body.size;
      }
      for (long i = 0; i < n; i++) {
        size_t len = (i + 1 < n ? off[i + 1] : envs.size) - off[i];
        if (hls_env_decode(&dec[i], (const uint8_t *)envs.data + off[i], len, NULL) != 0) die("decode");
        env_bytes += len;
        if (made++ % stride == 0 && sm.n < SAMPLE) sample_add(&sm, (const uint8_t *)envs.data + off[i], len);
      }
      double t = now_s(), c = cpu_now();
      if (hls_store_begin(st, &why) != 0) die("begin: %s", why.text);
      for (long i = 0; i < n; i++)
        if (hls_store_item_put(st, &dec[i], HLS_BODY_HELD, 1700000000000ll, &why) != 0) die("put: %s", why.text);
      if (hls_store_commit(st, &why) != 0) die("commit: %s", why.text);
      insert_s += now_s() - t;
      insert_cpu_s += cpu_now() - c;
      commits++;
    }
    if (round % 40 == 39) fprintf(stderr, "generated %llu of %ld items\n", (unsigned long long)made, total);
  }
  double gen_s = now_s() - gen_t0;
  hls_store_free(st);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&envs);
  struct stat sb;
  long long db_bytes = stat(db, &sb) == 0 ? (long long)sb.st_size : -1;
  fprintf(stderr, "generated %ld items in %.1f s; database %.0f MiB\n", total, gen_s, (double)db_bytes / 1048576.0);
  sample_prepare(&sm);

  /* --- one by one, before ---------------------------------------------------- */
  double wall[2][M__COUNT][ROUNDS], cpu[2][M__COUNT][ROUNDS], w1[M__COUNT], c1[M__COUNT];
  for (int r = 0; r < ROUNDS; r++) {
    sample_rates(&sm, w1, c1);
    for (int m = 0; m < M__COUNT; m++) wall[0][m][r] = w1[m], cpu[0][m][r] = c1[m];
  }

  /* --- the catch-up ------------------------------------------------------------ */
  double t = now_s();
  start_node(&serve, hlsd, NULL);
  open_node(&serve);
  double serve_start_s = now_s() - t;
  start_node(&fresh, hlsd, NULL);
  open_node(&fresh);
  struct hls_ctl_response r;
  double status_ms[5];
  for (int i = 0; i < 5; i++) {
    t = now_s();
    ctl_simple(&serve.c, "status", &r);
    status_ms[i] = (now_s() - t) * 1e3;
    if (i < 4) hls_ctl_response_free(&r);
  }
  int64_t serve_items = mp_i64(gossip_of(&r), "items");
  hls_ctl_response_free(&r);
  ctl_simple(&fresh.c, "status", &r);
  int64_t fresh_items0 = mp_i64(gossip_of(&r), "items");
  hls_ctl_response_free(&r);
  int64_t want = serve_items + fresh_items0; /* each has its own profile too */
  double run_serve0, wait_serve0, run_fresh0, wait_fresh0;
  sched_s(serve.pid, &run_serve0, &wait_serve0);
  sched_s(fresh.pid, &run_fresh0, &wait_fresh0);

  double load_catchup = load_1m();
  double t0 = now_s();
  peer_add(&fresh, &serve);
  int64_t in = 0, out = 0, last_out = -1;
  double last_change = t0, next_check = 0, next_note = t0 + 10, deadline = t0 + 3600;
  double t_end = 0;
  int checks_made = 0;
  for (;;) {
    pause_ms(20);
    peer_bytes(&fresh.c, serve.id, &in, &out);
    double now = now_s();
    if (out != last_out) last_out = out, last_change = now;
    if (now >= next_note) {
      fprintf(stderr, "  %.0f s: %.0f MiB received\n", now - t0, (double)in / 1048576.0);
      next_note = now + 10;
    }
    /* Quiet for a second: has it got everything? (status counts every
     * item, so it is asked only then.) */
    if (in > 0 && now - last_change >= 1.0 && now >= next_check) {
      ctl_simple(&fresh.c, "status", &r);
      checks_made++;
      int64_t items = mp_i64(gossip_of(&r), "items");
      hls_ctl_response_free(&r);
      if (items >= want) {
        t_end = last_change;
        break;
      }
      next_check = now_s() + 1.0;
    }
    if (now > deadline) die("the fresh node did not catch up within an hour");
  }
  double catchup_s = t_end - t0;
  double run_serve, wait_serve, run_fresh, wait_fresh;
  sched_s(serve.pid, &run_serve, &wait_serve);
  sched_s(fresh.pid, &run_fresh, &wait_fresh);
  run_serve -= run_serve0, wait_serve -= wait_serve0, run_fresh -= run_fresh0, wait_fresh -= wait_fresh0;
  long hwm_serve = vm_hwm_kb(serve.pid), hwm_fresh = vm_hwm_kb(fresh.pid);
  t = now_s();
  ctl_simple(&fresh.c, "status", &r);
  double fresh_status_ms = (now_s() - t) * 1e3;
  const struct hls_mp_value *g = gossip_of(&r);
  int64_t received = mp_i64(g, "items_received"), checks = mp_i64(g, "signature_checks"),
          fresh_items = mp_i64(g, "items");
  hls_ctl_response_free(&r);
  peer_bytes(&fresh.c, serve.id, &in, &out);

  /* --- one by one, after -------------------------------------------------------- */
  for (int r2 = 0; r2 < ROUNDS; r2++) {
    sample_rates(&sm, w1, c1);
    for (int m = 0; m < M__COUNT; m++) wall[1][m][r2] = w1[m], cpu[1][m][r2] = c1[m];
  }
  ctl_close(&serve.c);
  ctl_close(&fresh.c);
  stop_hlsd(fresh.pid);
  stop_hlsd(serve.pid);

  double wall_med[2][M__COUNT], cpu_med[2][M__COUNT];
  for (int w = 0; w < 2; w++)
    for (int m = 0; m < M__COUNT; m++) {
      wall_med[w][m] = median_of(wall[w][m], ROUNDS);
      cpu_med[w][m] = median_of(cpu[w][m], ROUNDS);
    }
  double rate = (double)received / catchup_s, insert_rate = (double)total / insert_s;
  double raw_wall = (wall_med[0][M_RAW] + wall_med[1][M_RAW]) / 2, raw_cpu = (cpu_med[0][M_RAW] + cpu_med[1][M_RAW]) / 2;
  printf("load average (1 min) at start %.2f, at the catch-up's start %.2f, at end %.2f, on %ld CPUs\n", load_start,
         load_catchup, load_1m(), sysconf(_SC_NPROCESSORS_ONLN));
  printf("items: %ld (%ld origins x %ld), envelopes %.0f bytes on average (body %.0f); store %.0f MiB\n", total,
         n_origins, per_origin, (double)env_bytes / (double)total, (double)body_bytes / (double)total,
         (double)db_bytes / 1048576.0);
  if (getenv("BENCH_SET")) printf("BENCH_SET: %s\n", getenv("BENCH_SET"));
  printf("SQLite insert, hls_store_item_put in transactions of %d (%llu commits, synchronous=%s): %.0f items/s "
         "(by CPU time: %.0f /s)\n",
         PUT_BATCH, (unsigned long long)commits, sync_full ? "full" : "normal", insert_rate,
         (double)total / insert_cpu_s);
  printf("one by one on %zu sampled envelopes, median of %d passes before / after the catch-up:\n", sm.n, ROUNDS);
  printf("  %-34s %9s %9s   %9s %9s\n", "", "clock", "", "CPU time", "");
  for (int m = 0; m < M__COUNT; m++)
    printf("  %-34s %7.0f/s %7.0f/s   %7.0f/s %7.0f/s\n", measure_names[m], wall_med[0][m], wall_med[1][m],
           cpu_med[0][m], cpu_med[1][m]);
  printf("serving hlsd: started (answers status) in %.2f s; status takes %.0f ms (median of 5)\n", serve_start_s,
         percentile(status_ms, 5, 0.5));
  printf("CATCH-UP: %lld items in %.2f s = %.0f items/s = %.2f x raw verify one by one (clock), %.2f x SQLite insert\n",
         (long long)received, catchup_s, rate, rate / raw_wall, rate / insert_rate);
  printf("  fresh node holds %lld items (expected %lld); %lld signature checks (%.0f items per check); "
         "status asked %d time(s) to see the end\n",
         (long long)fresh_items, (long long)want, (long long)checks, checks ? (double)received / (double)checks : 0.0,
         checks_made);
  printf("  on the wire (fresh node's peer list): %lld bytes in, %lld out = %.1f bytes per item (%.3f x the envelope)\n",
         (long long)in, (long long)out, (double)(in + out) / (double)received,
         (double)(in + out) / (double)received / ((double)env_bytes / (double)total));
  printf("  of the %.2f s: serving hlsd ran %.2f s, waited for a CPU %.2f s, idle %.2f s; "
         "fresh hlsd ran %.2f s, waited %.2f s, idle %.2f s\n",
         catchup_s, run_serve, wait_serve, catchup_s - run_serve - wait_serve, run_fresh, wait_fresh,
         catchup_s - run_fresh - wait_fresh);
  printf("  CPU per item: fresh hlsd %.1f us, serving hlsd %.1f us; a raw verify %.1f us: fresh hlsd's CPU alone "
         "would give %.0f items/s = %.2f x raw verify (CPU)\n",
         1e6 * run_fresh / (double)received, 1e6 * run_serve / (double)received, 1e6 / raw_cpu,
         (double)received / run_fresh, (double)received / run_fresh / raw_cpu);
  printf("  peak RSS: serving hlsd %.1f MiB, fresh hlsd %.1f MiB; fresh node's status after: %.0f ms\n",
         (double)hwm_serve / 1024.0, (double)hwm_fresh / 1024.0, fresh_status_ms);
  free(orig), free(sm.bytes), free(sm.off), free(sm.len), free(sm.msgs), free(sm.msg_len);
  free(sm.stub_off), free(sm.stub_len);
  msgpack_sbuffer_destroy(&sm.stubs);
  return 0;
}

/* Interrupted: stop the daemons (async-signal-safe calls only); the
 * temporary directory stays. */
static void on_signal(int sig) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) kill(started.pid[i], SIGTERM);
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) waitpid(started.pid[i], NULL, 0);
  static const char msg[] = "bench_gossip: interrupted; daemons stopped, temporary directory left\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(128 + sig);
  _exit(128 + sig);
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[2], "spread") != 0 && strcmp(argv[2], "catchup") != 0)) {
    fprintf(stderr, "usage: bench_gossip HLSD spread [NODES [PUBLICATIONS [SEED]]]\n"
                    "       bench_gossip HLSD catchup [ORIGINS [ITEMS_PER_ORIGIN]]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  atexit(stop_all);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(argv[2], "spread") == 0)
    return run_spread(argv[1], argc > 3 ? atoi(argv[3]) : 50, argc > 4 ? atoi(argv[4]) : 100,
                      argc > 5 ? (uint32_t)atol(argv[5]) : 1);
  return run_catchup(argv[1], argc > 3 ? atol(argv[3]) : 1000, argc > 4 ? atol(argv[4]) : 1000);
}
