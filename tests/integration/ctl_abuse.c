/* The control socket under abuse, against a real hlsd: garbage, half
 * requests, oversize frames, clients that vanish, clients that never read,
 * too many clients, abandoned and crashed imports. After each, other
 * clients are still served; at the end hlsd exits cleanly on SIGTERM.
 *
 * Usage: ctl_abuse HLSD_BINARY */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "abuse.h"
#include "home.h"

static const char *hlsd_path;
static char home[HLS_PATH_MAX];
static char sock_path[108];
static pid_t daemon_pid = -1;
static int connect_once(void) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, sock_path, sizeof addr.sun_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Connect, retrying until a deadline (the daemon may still be starting). */
static int connect_wait(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int fd = connect_once();
    if (fd >= 0 || now_ms() > deadline) return fd;
    poll(NULL, 0, 10);
  }
}

static int send_all(int fd, const void *p, size_t len) {
  const char *c = p;
  while (len > 0) {
    ssize_t w = send(fd, c, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Read exactly len bytes within timeout; 0 ok, 1 EOF, -1 error/timeout. */
static int recv_all(int fd, void *p, size_t len, int timeout_ms) {
  char *c = p;
  int64_t deadline = now_ms() + timeout_ms;
  while (len > 0) {
    int left = (int)(deadline - now_ms());
    if (left <= 0) return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0) continue;
    ssize_t r = recv(fd, c, len, 0);
    if (r == 0) return 1;
    if (r < 0) return errno == EINTR ? 0 : (errno == ECONNRESET ? 1 : -1);
    c += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Send a framed request cmd with args packed by the callback (nil when
 * NULL). */
typedef void (*pack_args_fn)(msgpack_packer *pk, void *ctx);
static int send_request(int fd, uint64_t id, const char *cmd, pack_args_fn pack, void *ctx) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc = hls_ctl_begin_request(&pk, id, cmd);
  if (pack) pack(&pk, ctx);
  else msgpack_pack_nil(&pk);
  if (rc == 0) rc = hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX);
  if (rc == 0) rc = send_all(fd, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* Read one reply; returns 0 and fills resp, 1 on EOF, -1 otherwise. */
static int read_reply(int fd, struct hls_ctl_response *resp, int timeout_ms) {
  uint8_t header[4];
  size_t len;
  int rc = recv_all(fd, header, 4, timeout_ms);
  if (rc != 0) return rc;
  if (hls_ctl_frame_length(header, HLS_CTL_FRAME_HARD_MAX, &len) != 0) return -1;
  uint8_t *payload = malloc(len);
  if (payload == NULL || recv_all(fd, payload, len, timeout_ms) != 0) {
    free(payload);
    return -1;
  }
  if (hls_ctl_response_decode(resp, payload, len, SIZE_MAX, NULL) != 0) {
    free(payload);
    return -1;
  }
  resp->payload = payload;
  return 0;
}

/* True if the peer closes the connection within timeout. */
static int wait_closed(int fd, int timeout_ms) {
  char buf[4096];
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int left = (int)(deadline - now_ms());
    if (left <= 0) return 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0) continue;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return 1;
  }
}

/* A fresh client gets status. Clients that just disconnected may still
 * count against limits.control_max_clients for a moment (hlsd notices
 * the hang-up on its next loop turn), so limit_reached is retried until a
 * deadline; any other failure is final. Returns the admitted connection
 * in *keep when keep is not NULL. */
static int status_ok_keep(int *keep) {
  int64_t deadline = now_ms() + 10000;
  for (;;) {
    int fd = connect_wait(5000);
    if (fd < 0) return 0;
    struct hls_ctl_response resp;
    int got = send_request(fd, 7, "status", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0;
    int ok = got && resp.kind == HLS_CTL_RESULT && resp.id == 7;
    int limited = got && resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_ELIMIT;
    if (got) hls_ctl_response_free(&resp);
    if (ok && keep != NULL) {
      *keep = fd;
      return 1;
    }
    close(fd);
    if (ok) return 1;
    if (!limited || now_ms() > deadline) return 0;
    poll(NULL, 0, 10);
  }
}

static int status_ok(void) { return status_ok_keep(NULL); }

static int64_t record_total(void) {
  int fd = connect_wait(5000);
  struct hls_ctl_response resp;
  int64_t total = -1;
  if (fd >= 0 && send_request(fd, 1, "status", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0) {
    const struct hls_mp_value *v = hls_mp_get(hls_mp_get(resp.result, "records"), "total");
    if (v && v->type == HLS_MP_UINT) total = (int64_t)v->v.u;
    hls_ctl_response_free(&resp);
  }
  if (fd >= 0) close(fd);
  return total;
}

static void start_daemon(const char *const *extra) {
  char log_path[HLS_PATH_MAX + 16];
  snprintf(log_path, sizeof log_path, "%s.log", home);
  daemon_pid = fork();
  if (daemon_pid == 0) {
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    const char *argv[16] = {hlsd_path, "--home", home};
    int n = 3;
    for (int i = 0; extra && extra[i] && n < 15; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    execv(hlsd_path, (char *const *)(void *)argv);
    _exit(127);
  }
  int fd = connect_wait(20000);
  if (fd < 0) {
    fprintf(stderr, "hlsd did not start; log in %s\n", log_path);
    exit(1);
  }
  close(fd);
}

static int stop_daemon(int sig) {
  int status = 0;
  kill(daemon_pid, sig);
  waitpid(daemon_pid, &status, 0);
  daemon_pid = -1;
  return status;
}

/* --- scenarios ------------------------------------------------------------- */

static void t_garbage_payload_keeps_connection(void) {
  int fd = connect_wait(5000);
  CHECK(fd >= 0, "connect");
  static const uint8_t frame[] = {0, 0, 0, 5, 0xc1, 0xff, 0x00, 0x13, 0x37};
  CHECK(send_all(fd, frame, sizeof frame) == 0, "send");
  struct hls_ctl_response resp;
  CHECK(read_reply(fd, &resp, 10000) == 0, "no error reply to garbage");
  CHECK(resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_EMALFORMED, "want malformed, got kind %d code %s",
        resp.kind, resp.error_name);
  hls_ctl_response_free(&resp);
  CHECK(send_request(fd, 2, "status", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0 &&
            resp.kind == HLS_CTL_RESULT && resp.id == 2,
        "the same connection no longer serves requests after garbage");
  hls_ctl_response_free(&resp);
  close(fd);
  printf("ok - garbage payload gets an error reply and the connection stays usable\n");
}

static void t_unknown_command_and_bad_args(void) {
  int fd = connect_wait(5000);
  CHECK(fd >= 0, "connect");
  struct hls_ctl_response resp;
  CHECK(send_request(fd, 3, "no.such.command", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0, "reply");
  CHECK(resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_EUNKNOWN_CMD && resp.id == 3, "unknown command: %s",
        resp.error_name);
  hls_ctl_response_free(&resp);
  CHECK(send_request(fd, 4, "record.show", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0, "reply");
  CHECK(resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_EINVAL, "record.show without id: %s", resp.error_name);
  hls_ctl_response_free(&resp);
  close(fd);
  printf("ok - unknown command and missing arguments get stable error codes\n");
}

static void t_oversize_frame_closes(void) {
  int fd = connect_wait(5000);
  CHECK(fd >= 0, "connect");
  static const uint8_t header[] = {0xff, 0xff, 0xff, 0xff};
  CHECK(send_all(fd, header, sizeof header) == 0, "send");
  struct hls_ctl_response resp;
  CHECK(read_reply(fd, &resp, 10000) == 0, "no reply to oversize frame");
  CHECK(resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_ETOOBIG, "want too_large, got %s", resp.error_name);
  hls_ctl_response_free(&resp);
  CHECK(wait_closed(fd, 10000), "connection not closed after an oversize frame");
  close(fd);
  fd = connect_wait(5000);
  static const uint8_t empty[] = {0, 0, 0, 0};
  CHECK(fd >= 0 && send_all(fd, empty, sizeof empty) == 0, "send empty frame");
  CHECK(read_reply(fd, &resp, 10000) == 0 && resp.error_code == HLS_EMALFORMED, "empty frame");
  hls_ctl_response_free(&resp);
  CHECK(wait_closed(fd, 10000), "connection not closed after an empty frame");
  close(fd);
  CHECK(status_ok(), "daemon no longer serves");
  printf("ok - oversize and empty frames get an error and a disconnect\n");
}

static void t_half_request_does_not_block_others(void) {
  int stuck = connect_wait(5000);
  CHECK(stuck >= 0, "connect");
  static const uint8_t half[] = {0, 0, 0x10, 0, 0x84, 0xa1};
  CHECK(send_all(stuck, half, sizeof half) == 0, "send");
  CHECK(status_ok(), "a half-sent request blocked other clients");
  close(stuck); /* disconnects mid-request */
  CHECK(status_ok(), "a client leaving mid-request broke the daemon");
  printf("ok - a half-sent request and a client leaving mid-request do not affect others\n");
}

static void t_client_leaves_before_reply(void) {
  for (int i = 0; i < 50; i++) {
    int fd = connect_wait(5000);
    CHECK(fd >= 0, "connect");
    CHECK(send_request(fd, 1, "record.list", NULL, NULL) == 0, "send");
    close(fd);
  }
  CHECK(status_ok(), "clients leaving before their reply broke the daemon");
  printf("ok - 50 clients leaving before their reply\n");
}

static void t_random_garbage(void) {
  uint32_t seed = 12345;
  for (int i = 0; i < 200; i++) {
    int fd = connect_wait(5000);
    CHECK(fd >= 0, "connect %d", i);
    uint8_t buf[512];
    size_t len = 1 + (seed % sizeof buf);
    for (size_t k = 0; k < len; k++) {
      seed = seed * 1103515245u + 12345u;
      buf[k] = (uint8_t)(seed >> 16);
    }
    /* Half the time a plausible small frame header, so payload decoding
     * is exercised too. */
    if (i % 2 == 0 && len > 4) {
      uint32_t n = (uint32_t)(len - 4);
      buf[0] = 0;
      buf[1] = (uint8_t)(n >> 16);
      buf[2] = (uint8_t)(n >> 8);
      buf[3] = (uint8_t)n;
    }
    send_all(fd, buf, len);
    close(fd);
  }
  CHECK(status_ok(), "random garbage broke the daemon");
  printf("ok - 200 connections of random garbage\n");
}

/* Run with limits.control_max_frame=64KiB: hlsd stops reading from a
 * client once 2 x 64 KiB of its replies wait to be written. */
static void t_slow_reader(void) {
  int slow = -1;
  CHECK(status_ok_keep(&slow), "no admitted connection");
  /* Ask for many replies without reading any. If hlsd kept reading, every
   * send would go through; once it stops (back-pressure), the socket
   * buffer fills and a send times out. */
  struct timeval tv = {.tv_sec = 1};
  setsockopt(slow, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int sent = 0;
  for (; sent < 200000; sent++)
    if (send_request(slow, (uint64_t)sent + 1, "status", NULL, NULL) != 0) break;
  CHECK(sent < 200000, "hlsd read 200000 requests without the client reading any reply");
  CHECK(status_ok(), "a client that does not read blocked others");
  tv.tv_sec = 0;
  setsockopt(slow, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  /* Now read everything back: nothing was lost. */
  struct hls_ctl_response resp;
  int got = 0;
  while (got < sent && read_reply(slow, &resp, 20000) == 0) {
    if (resp.kind == HLS_CTL_RESULT && resp.id == (uint64_t)got + 1) got++;
    hls_ctl_response_free(&resp);
  }
  /* The request cut off by the send timeout may be partial: it is
   * never answered. Every whole one is. */
  CHECK(got == sent, "slow reader got %d of %d replies", got, sent);
  close(slow);
  printf("ok - a client that stops reading is throttled, others are served, no reply lost (%d)\n", sent);
}

static void pack_rows(msgpack_packer *pk, void *ctx) {
  int n = *(int *)ctx;
  msgpack_pack_map(pk, 1);
  hls_mp_pack_cstr(pk, "rows");
  msgpack_pack_array(pk, (size_t)n);
  for (int i = 0; i < n; i++) {
    msgpack_pack_map(pk, 2);
    hls_mp_pack_kv_i64(pk, "line", i + 2);
    hls_mp_pack_cstr(pk, "record");
    msgpack_pack_map(pk, 3);
    static long staged_rows; /* every row of the run has its own title: none duplicates another */
    char title[32];
    snprintf(title, sizeof title, "staged %ld", ++staged_rows);
    hls_mp_pack_kv_str(pk, "title", title);
    hls_mp_pack_kv_str(pk, "scale", "person");
    hls_mp_pack_kv_str(pk, "stage", "reflect");
  }
}

/* Begin an import and stage rows on a new connection (left open). */
static int staged_import(int rows) {
  int fd = connect_wait(5000);
  struct hls_ctl_response resp;
  if (fd < 0) return -1;
  if (send_request(fd, 1, "import.begin", NULL, NULL) != 0 || read_reply(fd, &resp, 10000) != 0) return -1;
  hls_ctl_response_free(&resp);
  if (send_request(fd, 2, "import.rows", pack_rows, &rows) != 0 || read_reply(fd, &resp, 10000) != 0) return -1;
  int ok = resp.kind == HLS_CTL_RESULT;
  hls_ctl_response_free(&resp);
  return ok ? fd : -1;
}

static void t_abandoned_import(void) {
  int64_t before = record_total();
  int fd = staged_import(100);
  CHECK(fd >= 0, "staging failed");
  close(fd);
  CHECK(record_total() == before, "an abandoned import added records");
  /* A committed one does add them. */
  fd = staged_import(10);
  struct hls_ctl_response resp;
  CHECK(fd >= 0 && send_request(fd, 3, "import.commit", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0 &&
            resp.kind == HLS_CTL_RESULT,
        "commit");
  hls_ctl_response_free(&resp);
  close(fd);
  CHECK(record_total() == before + 10, "commit did not add 10 records");
  printf("ok - an abandoned import leaves nothing, a committed one everything\n");
}

static void pack_import_id(msgpack_packer *pk, void *ctx) {
  msgpack_pack_map(pk, 1);
  hls_mp_pack_kv_str(pk, "import_id", ctx);
}

/* import.status of id on a fresh connection: the state, in state[]. */
static int import_state(const char *id, char *state, size_t size) {
  char arg[64];
  snprintf(arg, sizeof arg, "%s", id);
  int fd = connect_wait(5000);
  struct hls_ctl_response resp;
  int rc = -1;
  if (fd >= 0 && send_request(fd, 1, "import.status", pack_import_id, arg) == 0 &&
      read_reply(fd, &resp, 10000) == 0) {
    const struct hls_mp_value *v = hls_mp_get(resp.result, "state");
    if (resp.kind == HLS_CTL_RESULT && v != NULL && v->type == HLS_MP_STR && v->len < size) {
      memcpy(state, v->v.str, v->len);
      state[v->len] = '\0';
      rc = 0;
    } else if (resp.kind == HLS_CTL_ERROR) {
      snprintf(state, size, "error:%s", resp.error_name);
      rc = 0;
    }
    hls_ctl_response_free(&resp);
  }
  if (fd >= 0) close(fd);
  return rc;
}

/* Poll import.status until it says want, within a deadline. */
static int import_state_becomes(const char *id, const char *want, char *state, size_t size) {
  int64_t deadline = now_ms() + 10000;
  for (;;) {
    if (import_state(id, state, size) == 0 && strcmp(state, want) == 0) return 1;
    if (now_ms() > deadline) return 0;
    poll(NULL, 0, 10);
  }
}

/* Begin an import on a new connection; its id in id[33]. */
static int begin_import(char id[33]) {
  int fd = connect_wait(5000);
  struct hls_ctl_response resp;
  if (fd < 0) return -1;
  if (send_request(fd, 1, "import.begin", NULL, NULL) != 0 || read_reply(fd, &resp, 10000) != 0) {
    close(fd);
    return -1;
  }
  const struct hls_mp_value *v = hls_mp_get(resp.result, "import_id");
  int ok = resp.kind == HLS_CTL_RESULT && v != NULL && v->type == HLS_MP_STR && v->len == 32;
  if (ok) {
    memcpy(id, v->v.str, 32);
    id[32] = '\0';
  }
  hls_ctl_response_free(&resp);
  if (!ok) close(fd);
  return ok ? fd : -1;
}

/* Any connection can ask whether an import went in, by the id
 * import.begin gave: open while its connection holds it, then committed
 * (with its result) or not_committed. */
static void t_import_status(void) {
  char id[33], state[64];
  struct hls_ctl_response resp;
  int fd = begin_import(id);
  CHECK(fd >= 0, "import.begin gave no import_id");
  CHECK(import_state(id, state, sizeof state) == 0 && strcmp(state, "open") == 0, "staged import: %s", state);
  close(fd); /* abandoned: never committed */
  CHECK(import_state_becomes(id, "not_committed", state, sizeof state), "abandoned import: %s", state);

  int64_t before = record_total();
  fd = begin_import(id);
  int rows = 7;
  CHECK(fd >= 0 && send_request(fd, 2, "import.rows", pack_rows, &rows) == 0 && read_reply(fd, &resp, 10000) == 0,
        "import.rows");
  hls_ctl_response_free(&resp);
  /* The commit goes out and the client hangs up without reading the
   * reply: hlsd reads the request before the hang-up, so it commits. */
  CHECK(send_request(fd, 3, "import.commit", NULL, NULL) == 0, "send commit");
  close(fd);
  CHECK(import_state_becomes(id, "committed", state, sizeof state), "committed import: %s", state);
  CHECK(record_total() == before + rows, "the commit did not add %d records", rows);

  CHECK(import_state("0123456789abcdef0123456789abcdef", state, sizeof state) == 0 &&
            strcmp(state, "not_committed") == 0,
        "unknown id: %s", state);
  CHECK(import_state("not-an-id", state, sizeof state) == 0 && strcmp(state, "error:invalid_argument") == 0,
        "malformed id: %s", state);
  printf("ok - import.status says open, committed or not_committed, from any connection\n");
}

static void t_crash_during_import(void) {
  int64_t before = record_total();
  int fd = staged_import(500);
  CHECK(fd >= 0, "staging failed");
  stop_daemon(SIGKILL);
  close(fd);
  start_daemon(NULL);
  CHECK(record_total() == before, "a crash during an import left %lld records", (long long)(record_total() - before));
  printf("ok - hlsd killed during an import: nothing imported after restart\n");
}

static void t_too_many_clients(void) {
  int fds[4];
  for (int i = 0; i < 4; i++) CHECK(status_ok_keep(&fds[i]), "client %d not admitted", i);
  /* Limit is 4 clients: a fifth is told so and disconnected. */
  int extra = connect_wait(5000);
  struct hls_ctl_response resp;
  CHECK(extra >= 0 && read_reply(extra, &resp, 10000) == 0, "no reply for the client over the limit");
  CHECK(resp.kind == HLS_CTL_ERROR && resp.error_code == HLS_ELIMIT, "want limit_reached, got %s", resp.error_name);
  hls_ctl_response_free(&resp);
  CHECK(wait_closed(extra, 10000), "over-limit client not closed");
  close(extra);
  for (int i = 0; i < 4; i++) close(fds[i]);
  CHECK(status_ok(), "daemon stopped serving after the client limit");
  printf("ok - the client limit refuses the extra client with limit_reached\n");
}

static void t_request_timeout(void) {
  int fd = -1;
  CHECK(status_ok_keep(&fd), "no admitted connection");
  static const uint8_t half[] = {0, 0, 0, 40, 0x84};
  CHECK(send_all(fd, half, sizeof half) == 0, "send");
  int64_t start = now_ms();
  CHECK(wait_closed(fd, 15000), "half request not timed out");
  int64_t took = now_ms() - start;
  CHECK(took >= 500, "closed too early (%lld ms) for a 1 s timeout", (long long)took);
  close(fd);
  CHECK(status_ok(), "daemon stopped serving");
  printf("ok - a request left half-sent is cut off after limits.control_request_timeout\n");
}

/* One request frame, whole, in sb (initialised here; the caller destroys it). */
static int frame_of(msgpack_sbuffer *sb, uint64_t id, const char *cmd, pack_args_fn pack, void *ctx) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  int rc = hls_ctl_begin_request(&pk, id, cmd);
  if (pack) pack(&pk, ctx);
  else msgpack_pack_nil(&pk);
  if (rc == 0) rc = hls_ctl_frame_finish(sb, 0, HLS_CTL_FRAME_HARD_MAX);
  return rc;
}

/* Run with limits.control_request_timeout=1s. A client that keeps
 * sending is never cut off, however long its session: here an import
 * whose batches go out as hls import sends them, the next one already
 * half-sent while hlsd checks the last, for three times the timeout.
 * (hlsd used to time the connection from the first half-received
 * request and never restart the clock while more arrived, so it dropped
 * such an import after 1 s.) Then the commit imports every row. */
static void t_busy_client_not_cut_off(void) {
  int64_t before = record_total();
  int fd = connect_wait(5000);
  struct hls_ctl_response resp;
  CHECK(fd >= 0 && send_request(fd, 1, "import.begin", NULL, NULL) == 0 && read_reply(fd, &resp, 10000) == 0 &&
            resp.kind == HLS_CTL_RESULT,
        "import.begin");
  hls_ctl_response_free(&resp);
  int rows = 2;
  msgpack_sbuffer next;
  CHECK(frame_of(&next, 2, "import.rows", pack_rows, &rows) == 0, "frame");
  size_t half = next.size / 2;
  CHECK(send_all(fd, next.data, half) == 0, "send");
  uint64_t id = 2;
  int64_t start = now_ms();
  int batches = 0;
  while (now_ms() - start < 3000) {
    /* The rest of this batch and the first half of the next, at once. */
    msgpack_sbuffer cur = next;
    CHECK(frame_of(&next, id + 1, "import.rows", pack_rows, &rows) == 0, "frame");
    size_t len = cur.size - half + next.size / 2;
    char *out = malloc(len);
    CHECK(out != NULL, "malloc");
    memcpy(out, cur.data + half, cur.size - half);
    memcpy(out + (cur.size - half), next.data, next.size / 2);
    msgpack_sbuffer_destroy(&cur);
    int sent = send_all(fd, out, len);
    free(out);
    half = next.size / 2;
    int rc = sent == 0 ? read_reply(fd, &resp, 10000) : -1;
    if (rc != 0) msgpack_sbuffer_destroy(&next);
    CHECK(rc == 0, "connection lost after %d batches, %lld ms into the import (%s)", batches,
          (long long)(now_ms() - start), rc == 1 ? "closed by hlsd" : "no reply");
    int ok = resp.kind == HLS_CTL_RESULT && resp.id == id;
    hls_ctl_response_free(&resp);
    if (!ok) msgpack_sbuffer_destroy(&next);
    CHECK(ok, "batch %llu refused", (unsigned long long)id);
    batches++;
    id++;
  }
  /* Finish the half-sent batch, then commit. */
  int sent = send_all(fd, next.data + half, next.size - half);
  msgpack_sbuffer_destroy(&next);
  CHECK(sent == 0 && read_reply(fd, &resp, 10000) == 0 && resp.kind == HLS_CTL_RESULT, "last batch");
  hls_ctl_response_free(&resp);
  batches++;
  CHECK(send_request(fd, id + 1, "import.commit", NULL, NULL) == 0 && read_reply(fd, &resp, 60000) == 0 &&
            resp.kind == HLS_CTL_RESULT,
        "commit");
  hls_ctl_response_free(&resp);
  close(fd);
  CHECK(record_total() == before + (int64_t)batches * rows, "commit did not add %d records", batches * rows);
  printf("ok - a client that keeps sending for 3 x limits.control_request_timeout is not cut off (%d batches)\n",
         batches);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ctl_abuse HLSD\n");
    return 2;
  }
  hlsd_path = argv[1];
  signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/hls-ctl-abuse.XXXXXX";
  if (mkdtemp(tmpl) == NULL) return 1;
  snprintf(home, sizeof home, "%s/node", tmpl);
  if (strlen(home) + sizeof "/hlsd.sock" > sizeof sock_path) return 1;
  memcpy(sock_path, home, strlen(home));
  memcpy(sock_path + strlen(home), "/hlsd.sock", sizeof "/hlsd.sock");
  struct hls_init_params p = {
      .place = "Abuse Test", .region = "Nowhere", .listen = "127.0.0.1:0", .web = "127.0.0.1:0"};
  struct hls_why why = {{0}};
  if (sodium_init() < 0 || hls_home_init(home, &p, &why) != 0) {
    fprintf(stderr, "init: %s\n", why.text);
    return 1;
  }
  start_daemon(NULL);
  t_garbage_payload_keeps_connection();
  t_unknown_command_and_bad_args();
  t_oversize_frame_closes();
  t_half_request_does_not_block_others();
  t_client_leaves_before_reply();
  t_random_garbage();
  t_abandoned_import();
  t_import_status();
  t_crash_during_import();
  int status = stop_daemon(SIGTERM);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: hlsd did not exit cleanly (status %d)\n", status);
    failures++;
  }
  static const char *const limited[] = {"--set", "limits.control_max_clients=4", "--set",
                                        "limits.control_request_timeout=1s", "--set",
                                        "limits.control_max_frame=64KiB", NULL};
  start_daemon(limited);
  t_slow_reader();
  t_too_many_clients();
  t_request_timeout();
  t_busy_client_not_cut_off();
  status = stop_daemon(SIGTERM);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: hlsd did not exit cleanly (status %d)\n", status);
    failures++;
  }
  if (failures == 0) {
    char cmd[HLS_PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpl);
  } else {
    fprintf(stderr, "kept %s (log: %s.log)\n", tmpl, home);
  }
  return failures == 0 ? 0 : 1;
}
