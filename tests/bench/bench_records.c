/* Benchmark: import 100,000 records with `hls import`, then list 100 of
 * them filtered by theme. Reports import rate, list latency (control-socket
 * round trip and whole `hls` command), and peak memory of hlsd and hls.
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage: bench_records HLSD HLS [RECORDS] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "home.h"
#include "bench.h"

static uint32_t next_rand(uint32_t *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  return *seed >> 8;
}

/* Run argv (NULL-terminated), wait, return exit status; *maxrss_kb gets
 * its peak RSS. */
static int run(const char *const *argv, const char *out_path, long *maxrss_kb) {
  pid_t pid = fork();
  if (pid == 0) {
    char *copy[32];
    int n = 0;
    for (; argv[n] != NULL && n < 31; n++) copy[n] = strdup(argv[n]);
    copy[n] = NULL;
    if (out_path) {
      int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) dup2(fd, 1);
    }
    execv(copy[0], copy);
    _exit(127);
  }
  int status;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

static int connect_sock(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static int read_n(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One record.list round trip; returns the number of records or -1. */
static long list_once(int fd, const char *theme, int limit) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (hls_ctl_begin_request(&pk, 1, "record.list") != 0) return -1;
  msgpack_pack_map(&pk, 2);
  hls_mp_pack_kv_str(&pk, "theme", theme);
  hls_mp_pack_kv_i64(&pk, "limit", limit);
  long count = -1;
  if (hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX) == 0 && write(fd, sb.data, sb.size) == (ssize_t)sb.size) {
    uint8_t h[4];
    size_t len;
    if (read_n(fd, h, 4) == 0 && hls_ctl_frame_length(h, HLS_CTL_FRAME_HARD_MAX, &len) == 0) {
      uint8_t *payload = malloc(len);
      struct hls_ctl_response resp;
      if (payload && read_n(fd, payload, len) == 0 &&
          hls_ctl_response_decode(&resp, payload, len, SIZE_MAX, NULL) == 0) {
        if (resp.kind == HLS_CTL_RESULT && resp.result && resp.result->type == HLS_MP_ARRAY)
          count = (long)resp.result->len;
        hls_ctl_response_free(&resp);
      }
      free(payload);
    }
  }
  msgpack_sbuffer_destroy(&sb);
  return count;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_records HLSD HLS [RECORDS]\n");
    return 2;
  }
  const char *hlsd = argv[1], *hls = argv[2];
  long n_records = argc > 3 ? atol(argv[3]) : 100000;
  if (sodium_init() < 0) return 1;
  char dir[] = "/tmp/hls-bench.XXXXXX";
  if (mkdtemp(dir) == NULL) return 1;
  char home[64], csv[64], sock[96], out[64], cmd[128];
  snprintf(csv, sizeof csv, "%s/records.csv", dir);
  snprintf(out, sizeof out, "%s/out.json", dir);
  struct hls_init_params p = {.place = "Bench", .region = "Bench", .listen = "127.0.0.1:0"};

  /* 200 themes with Zipf-like skew (theme k drawn with weight 1/(k+1)),
   * 1-3 themes per record, realistic text lengths. */
  FILE *f = fopen(csv, "w");
  if (f == NULL) return 1;
  fprintf(f, "title,scale,stage,date,themes,tried,learnt,consent,consent_by\n");
  static const char *const scales[] = {"person", "organisation", "place", "country"};
  static const char *const stages[] = {"purpose", "understand", "co-design", "experiment", "reflect", "embed"};
  double weights[200], total = 0;
  for (int k = 0; k < 200; k++) total += weights[k] = 1.0 / (k + 1);
  uint32_t seed = 42;
#define RAND() next_rand(&seed)
  for (long i = 0; i < n_records; i++) {
    uint32_t scale = RAND() % 4, stage = RAND() % 6, month = RAND() % 12 + 1, day = RAND() % 28 + 1;
    fprintf(f, "Record %ld about something we tried,%s,%s,2025-%02u-%02u,", i, scales[scale], stages[stage], month, day);
    int nt = 1 + (int)(RAND() % 3);
    for (int t = 0; t < nt; t++) {
      double x = (double)(RAND() % 1000000) / 1e6 * total;
      int k = 0;
      while (k < 199 && x > weights[k]) x -= weights[k++];
      fprintf(f, "%sproblem:theme %d", t ? ";" : "", k);
    }
    fprintf(f, ",\"We tried a weekly session, with a practitioner and a volunteer.\","
               "\"People came back when they were welcomed by name.\",aggregate,practitioner\n");
  }
  fclose(f);

  /* Three imports, each into a fresh node; the figures are their median.
   * The last node stays up for the list measurements. */
  enum { IMPORTS = 3 };
  double import_s[IMPORTS];
  long hls_rss = 0;
  pid_t daemon = -1;
  int fd = -1;
  for (int k = 0; k < IMPORTS; k++) {
    if (daemon > 0) {
      close(fd);
      kill(daemon, SIGTERM);
      waitpid(daemon, NULL, 0);
    }
    snprintf(home, sizeof home, "%s/node%d", dir, k);
    snprintf(sock, sizeof sock, "%s/hlsd.sock", home);
    if (hls_home_init(home, &p, NULL) != 0) return 1;
    daemon = fork();
    if (daemon == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      execl(hlsd, hlsd, "--home", home, (char *)NULL);
      _exit(127);
    }
    fd = -1;
    for (int i = 0; i < 2000 && fd < 0; i++) {
      fd = connect_sock(sock);
      if (fd < 0) poll(NULL, 0, 10);
    }
    if (fd < 0) {
      fprintf(stderr, "hlsd did not start\n");
      return 1;
    }
    const char *import_argv[] = {hls, "--home", home, "--json", "import", csv, NULL};
    double t0 = now_s();
    int rc = run(import_argv, out, &hls_rss);
    import_s[k] = now_s() - t0;
    if (rc != 0) {
      fprintf(stderr, "import failed (%d)\n", rc);
      return 1;
    }
  }

  /* Themes for the lists: the most common, a middling one, a rare one. */
  static const char *const themes[] = {"theme-0", "theme-20", "theme-150"};
  enum { REPS = 300, CMD_REPS = 30 };
  double lat[3][REPS], cmd_lat[CMD_REPS];
  long found[3];
  for (int t = 0; t < 3; t++) {
    found[t] = list_once(fd, themes[t], 100); /* warm */
    for (int r = 0; r < REPS; r++) {
      double s = now_s();
      long got = list_once(fd, themes[t], 100);
      lat[t][r] = (now_s() - s) * 1e3;
      if (got != found[t]) return 1;
    }
  }
  const char *list_argv[] = {hls, "--home", home, "--json", "record", "list", "--theme", "theme-20", "--limit", "100", NULL};
  for (int r = 0; r < CMD_REPS; r++) {
    double s = now_s();
    if (run(list_argv, "/dev/null", NULL) != 0) return 1;
    cmd_lat[r] = (now_s() - s) * 1e3;
  }
  long daemon_hwm = vm_hwm_kb(daemon);
  close(fd);
  kill(daemon, SIGTERM);
  waitpid(daemon, NULL, 0);

  printf("records per import:          %ld\n", n_records);
  printf("hls import wall time:        %.2f s, %.2f s, %.2f s\n", import_s[0], import_s[1], import_s[2]);
  double median_s = percentile(import_s, IMPORTS, 0.5);
  printf("import rate (median of %d):   %.0f records/s\n", IMPORTS, (double)n_records / median_s);
  for (int t = 0; t < 3; t++)
    printf("record.list theme=%-9s limit=100 (%ld returned): median %.2f ms, p99 %.2f ms (socket round trip, %d runs)\n",
           themes[t], found[t], percentile(lat[t], REPS, 0.5), percentile(lat[t], REPS, 0.99), REPS);
  printf("hls record list --theme theme-20 --limit 100 (whole command): median %.2f ms (%d runs)\n",
         percentile(cmd_lat, CMD_REPS, 0.5), CMD_REPS);
  printf("peak RSS: hlsd %.1f MiB, hls import %.1f MiB\n", (double)daemon_hwm / 1024.0, (double)hls_rss / 1024.0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
