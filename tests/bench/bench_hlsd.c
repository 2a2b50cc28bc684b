/* Real hlsd processes for the benchmarks (bench_hlsd.h). */
#include "bench_hlsd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "home.h"

/* --- the run --------------------------------------------------------------------- */

enum { MAX_DAEMONS = 300 };

/* The benchmark's one piece of state: what to stop and remove at exit. */
static struct {
  const char *prog;
  pid_t pid[MAX_DAEMONS];
  int n;
  char dir[64];
  bool keep; /* BENCH_KEEP, read once: a signal handler cannot call getenv */
} started = {.prog = "bench"};

static void stop_all(void) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) {
      kill(started.pid[i], SIGTERM);
      waitpid(started.pid[i], NULL, 0);
      started.pid[i] = 0;
    }
  if (started.dir[0] && started.keep) {
    fprintf(stderr, "BENCH_KEEP: kept %s\n", started.dir);
  } else if (started.dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", started.dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", started.dir);
    started.dir[0] = '\0';
  }
}

/* Interrupted: stop the daemons and remove the directory (unless
 * BENCH_KEEP), with async-signal-safe calls only: rm -rf by fork and
 * execve. */
static void on_signal(int sig) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) kill(started.pid[i], SIGTERM);
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] > 0) waitpid(started.pid[i], NULL, 0);
  bool removed = false;
  if (started.dir[0] && !started.keep) {
    pid_t pid = fork();
    if (pid == 0) {
      static char rm[] = "rm", rf[] = "-rf";
      char *const argv[] = {rm, rf, started.dir, NULL}, *const envp[] = {NULL};
      execve("/bin/rm", argv, envp);
      _exit(127);
    }
    int status = 0;
    removed = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  static const char msg_removed[] = ": interrupted; daemons stopped, temporary directory removed\n";
  static const char msg_left[] = ": interrupted; daemons stopped, temporary directory left: ";
  ssize_t ignored = write(2, started.prog, strlen(started.prog));
  if (removed || !started.dir[0]) {
    ignored = write(2, msg_removed, sizeof msg_removed - 1);
  } else {
    ignored = write(2, msg_left, sizeof msg_left - 1);
    ignored = write(2, started.dir, strlen(started.dir));
    ignored = write(2, "\n", 1);
  }
  (void)ignored;
  _exit(128 + sig);
}

void bench_setup(const char *prog) {
  started.prog = prog;
  started.keep = getenv("BENCH_KEEP") != NULL;
  atexit(stop_all);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
}

const char *bench_dir_make(const char *name) {
  snprintf(started.dir, sizeof started.dir, "/tmp/hls-bench-%s.XXXXXX", name);
  if (mkdtemp(started.dir) == NULL) bench_die("mkdtemp: %s", strerror(errno));
  return started.dir;
}

void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", started.prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (started.dir[0]) fprintf(stderr, "(logs in %s%s)\n", started.dir, started.keep ? "" : ", now removed");
  exit(1); /* stop_all runs at exit */
}

void bench_pause_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

double bench_load_1m(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f == NULL || fscanf(f, "%lf", &l) != 1) l = -1;
  if (f) fclose(f);
  return l;
}

/* --- processes ------------------------------------------------------------------- */

pid_t bench_hlsd_spawn(const char *hlsd, const char *home, const char *log, const char *const *sets) {
  if (started.n == MAX_DAEMONS) bench_die("too many daemons");
  pid_t pid = fork();
  if (pid < 0) bench_die("fork: %s", strerror(errno));
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
    char *extra = getenv("BENCH_SET") ? strdup(getenv("BENCH_SET")) : NULL, *save = NULL;
    for (char *tok = extra ? strtok_r(extra, " ", &save) : NULL; tok != NULL && n < 60;
         tok = strtok_r(NULL, " ", &save)) {
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

void bench_hlsd_stop(pid_t pid) {
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] == pid && pid > 0) {
      int status = 0;
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
      started.pid[i] = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "note: hlsd %d exited with %d\n", (int)pid, status);
    }
}

bool bench_hlsd_exited(pid_t pid) {
  if (waitpid(pid, NULL, WNOHANG) != pid) return false;
  for (int i = 0; i < started.n; i++)
    if (started.pid[i] == pid) started.pid[i] = 0;
  return true;
}

long bench_proc_kb(pid_t pid, const char *field) {
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

double bench_proc_cpu_s(pid_t pid) {
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

void bench_proc_sched_s(pid_t pid, double *run, double *wait) {
  char path[64];
  unsigned long long r = 0, w = 0;
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL || fscanf(f, "%llu %llu", &r, &w) != 2) r = w = 0;
  if (f) fclose(f);
  *run = (double)r / 1e9;
  *wait = (double)w / 1e9;
}

bool bench_log_wait(const char *log, long *pos, const char *event, pid_t pid, double timeout_s, char *line,
                    size_t size) {
  char needle[96];
  snprintf(needle, sizeof needle, " event=%s ", event);
  double deadline = now_s() + timeout_s;
  for (;;) {
    FILE *f = fopen(log, "r");
    if (f == NULL || fseek(f, *pos, SEEK_SET) != 0) bench_die("%s: %s", log, strerror(errno));
    bool found = false;
    while (!found && fgets(line, (int)size, f) != NULL) {
      size_t len = strlen(line);
      if (len == 0 || line[len - 1] != '\n') {
        if (len == size - 1) *pos += (long)len; /* a line longer than size: skipped */
        break;                                  /* else not written whole yet */
      }
      *pos += (long)len;
      found = strstr(line, needle) != NULL;
    }
    fclose(f);
    if (found) return true;
    if (bench_hlsd_exited(pid)) bench_die("hlsd %d exited (log %s)", (int)pid, log);
    if (now_s() > deadline) return false;
    bench_pause_ms(20);
  }
}

double bench_log_field(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtod(p + strlen(key), NULL) : -1;
}

/* --- control socket (docs/control.md) ------------------------------------------- */

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

int bench_ctl_try(struct bench_ctl *c, const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) bench_die("socket path too long: %s", path);
  memcpy(addr.sun_path, path, strlen(path) + 1);
  memset(c, 0, sizeof *c);
  msgpack_sbuffer_init(&c->sb);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) bench_die("socket: %s", strerror(errno));
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) return 0;
  int e = errno;
  close(c->fd);
  c->fd = -1;
  errno = e;
  return -1;
}

void bench_ctl_open(struct bench_ctl *c, const char *path, pid_t pid, double timeout_s) {
  double deadline = now_s() + timeout_s;
  for (;;) {
    if (bench_ctl_try(c, path) == 0) return;
    bench_ctl_close(c);
    if (bench_hlsd_exited(pid)) bench_die("hlsd %d exited before answering on %s", (int)pid, path);
    if (now_s() > deadline) bench_die("hlsd did not answer on %s", path);
    bench_pause_ms(10);
  }
}

void bench_ctl_close(struct bench_ctl *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  msgpack_sbuffer_destroy(&c->sb);
  msgpack_sbuffer_init(&c->sb);
}

msgpack_packer *bench_ctl_begin(struct bench_ctl *c, const char *cmd) {
  c->sb.size = 0;
  msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
  if (hls_ctl_begin_request(&c->pk, ++c->next_id, cmd) != 0) bench_die("packing %s", cmd);
  return &c->pk;
}

int bench_ctl_try_send(struct bench_ctl *c) {
  if (hls_ctl_frame_finish(&c->sb, 0, HLS_CTL_FRAME_HARD_MAX) != 0) bench_die("a request too big");
  return write_all(c->fd, c->sb.data, c->sb.size);
}

void bench_ctl_send(struct bench_ctl *c) {
  if (bench_ctl_try_send(c) != 0) bench_die("sending a request: %s", strerror(errno));
}

int bench_ctl_read_frame(int fd, uint8_t **out, size_t *len) {
  uint8_t h[HLS_CTL_HEADER];
  *out = NULL;
  if (read_n(fd, h, sizeof h) != 0 || hls_ctl_frame_length(h, HLS_CTL_FRAME_HARD_MAX, len) != 0) return -1;
  uint8_t *payload = malloc(*len ? *len : 1);
  if (payload == NULL) bench_die("out of memory for a reply of %zu bytes", *len);
  if (read_n(fd, payload, *len) != 0) {
    free(payload);
    return -1;
  }
  *out = payload;
  return 0;
}

void bench_ctl_reply(struct bench_ctl *c, struct hls_ctl_response *resp) {
  for (;;) {
    uint8_t *payload;
    size_t len;
    if (bench_ctl_read_frame(c->fd, &payload, &len) != 0) bench_die("reading a reply");
    if (hls_ctl_response_decode(resp, payload, len, SIZE_MAX, NULL) != 0) bench_die("decoding a reply");
    resp->payload = payload; /* freed with the response */
    if (resp->kind == HLS_CTL_EVENT) {
      hls_ctl_response_free(resp);
      continue;
    }
    if (resp->kind == HLS_CTL_ERROR) bench_die("hlsd refused a request: %s: %s", resp->error_name, resp->error_message);
    return;
  }
}

void bench_ctl_call(struct bench_ctl *c, struct hls_ctl_response *resp) {
  bench_ctl_send(c);
  bench_ctl_reply(c, resp);
}

void bench_ctl_simple(struct bench_ctl *c, const char *cmd, struct hls_ctl_response *resp) {
  msgpack_pack_map(bench_ctl_begin(c, cmd), 0);
  bench_ctl_call(c, resp);
}

int64_t bench_mp_i64(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (v == NULL) return -1;
  if (v->type == HLS_MP_UINT) return (int64_t)v->v.u;
  if (v->type == HLS_MP_INT) return v->v.i;
  return -1;
}

void bench_mp_str(const struct hls_mp_value *m, const char *key, char *out, size_t size) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  out[0] = '\0';
  if (v != NULL && v->type == HLS_MP_STR && v->len < size) {
    memcpy(out, v->v.str, v->len);
    out[v->len] = '\0';
  }
}

const struct hls_mp_value *bench_gossip_of(const struct hls_ctl_response *status) {
  const struct hls_mp_value *g = hls_mp_get(status->result, "gossip");
  if (g == NULL || g->type != HLS_MP_MAP) bench_die("status has no gossip object");
  return g;
}

/* --- nodes ------------------------------------------------------------------------ */

void bench_node_init(struct bench_node *n, const char *name, int role, const char *network_key, char *key_out) {
  const char *dir = started.dir;
  snprintf(n->home, sizeof n->home, "%s/%s", dir, name);
  snprintf(n->sock, sizeof n->sock, "%s/hlsd.sock", n->home);
  snprintf(n->wal, sizeof n->wal, "%s/hlsd.db-wal", n->home);
  snprintf(n->db, sizeof n->db, "%s/hlsd.db", n->home);
  snprintf(n->log, sizeof n->log, "%s/%s.log", dir, name);
  n->c.fd = -1;
  char place[64];
  snprintf(place, sizeof place, "Bench %s", name);
  struct hls_init_params p = {
      .place = place, .region = "Bench", .role = role, .listen = "127.0.0.1:0", .network_key = network_key};
  struct hls_why why = {{0}};
  if (hls_home_init(n->home, &p, &why) != 0) bench_die("init %s: %s", n->home, why.text);
  if (key_out != NULL) {
    uint8_t key[32];
    if (hls_home_load_network_key(n->home, key, &why) != 0) bench_die("network key: %s", why.text);
    hls_key32_format(key, key_out);
  }
}

void bench_node_start(struct bench_node *n, const char *hlsd, const char *const *sets) {
  n->pid = bench_hlsd_spawn(hlsd, n->home, n->log, sets);
}

void bench_node_open(struct bench_node *n, double timeout_s) {
  bench_ctl_open(&n->c, n->sock, n->pid, timeout_s);
  struct hls_ctl_response r;
  bench_ctl_simple(&n->c, "status", &r);
  bench_mp_str(r.result, "node_id", n->id, sizeof n->id);
  bench_mp_str(r.result, "listening_on", n->addr, sizeof n->addr);
  hls_ctl_response_free(&r);
  if (n->id[0] == '\0' || n->addr[0] == '\0') bench_die("%s: no node id or listening address in status", n->home);
}

void bench_node_peer_add(struct bench_node *n, const struct bench_node *peer) {
  msgpack_packer *pk = bench_ctl_begin(&n->c, "peer.add");
  msgpack_pack_map(pk, 2);
  hls_mp_pack_kv_str(pk, "address", peer->addr);
  hls_mp_pack_kv_str(pk, "node_id", peer->id);
  struct hls_ctl_response r;
  bench_ctl_call(&n->c, &r);
  hls_ctl_response_free(&r);
}

void bench_node_peer_bytes(struct bench_node *n, const char *peer, int64_t *in, int64_t *out) {
  struct hls_ctl_response r;
  bench_ctl_simple(&n->c, "peer.list", &r);
  *in = *out = 0;
  for (uint32_t i = 0; r.result->type == HLS_MP_ARRAY && i < r.result->len; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    bench_mp_str(&r.result->v.items[i], "node_id", id, sizeof id);
    if (strcmp(id, peer) == 0) {
      *in = bench_mp_i64(&r.result->v.items[i], "bytes_in");
      *out = bench_mp_i64(&r.result->v.items[i], "bytes_out");
    }
  }
  hls_ctl_response_free(&r);
}

int64_t bench_node_items(struct bench_node *n) {
  struct hls_ctl_response r;
  bench_ctl_simple(&n->c, "status", &r);
  int64_t items = bench_mp_i64(bench_gossip_of(&r), "items");
  hls_ctl_response_free(&r);
  return items;
}

void bench_node_record_add(struct bench_node *n, const char *date, const char *theme, int i) {
  msgpack_packer *pk = bench_ctl_begin(&n->c, "record.add");
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
  bench_ctl_call(&n->c, &r);
  hls_ctl_response_free(&r);
}

void bench_week_date(int k, char out[11]) {
  struct tm tm = {.tm_year = 120, .tm_mon = 0, .tm_mday = 6, .tm_hour = 12};
  time_t t = timegm(&tm) + (time_t)k * 7 * 86400;
  gmtime_r(&t, &tm);
  strftime(out, 11, "%Y-%m-%d", &tm);
}

double bench_wait_catchup(struct bench_node *fresh, const struct bench_node *serve, int64_t want, double t0,
                          double timeout_s, int *status_asked) {
  int64_t in = 0, out = 0, last_out = -1;
  double last_change = t0, next_check = 0, next_note = t0 + 10, deadline = t0 + timeout_s;
  *status_asked = 0;
  for (;;) {
    bench_pause_ms(20);
    bench_node_peer_bytes(fresh, serve->id, &in, &out);
    double now = now_s();
    if (out != last_out) last_out = out, last_change = now;
    if (now >= next_note) {
      fprintf(stderr, "  %.0f s: %.0f MiB received\n", now - t0, (double)in / 1048576.0);
      next_note = now + 10;
    }
    if (in > 0 && now - last_change >= 1.0 && now >= next_check) {
      (*status_asked)++;
      if (bench_node_items(fresh) >= want) return last_change;
      next_check = now_s() + 1.0;
    }
    if (now > deadline) bench_die("the fresh node did not catch up within %.0f s", timeout_s);
  }
}
