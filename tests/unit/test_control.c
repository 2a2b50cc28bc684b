/* Unit tests for daemon/control.c: the control socket server. Each test
 * starts the server on its own libuv loop and a socket in a temporary
 * directory, with a dispatcher of the test's own, and talks to it through
 * plain non-blocking sockets. The loop runs only inside run_until, which
 * waits in poll() on the loop's backend fd (and the test's socket) until a
 * condition holds or a deadline passes: no sleeps. Every test ends with
 * the server closed and uv_loop_close() == 0, so a handle or a client
 * left behind fails the test and anything not freed shows under ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "control.h"
#include "ctl.h"
#include "mp_build.h"

#define WAIT_MS 3000 /* deadline for what must happen: generous, only reached on failure */

/* --- the server under test ---------------------------------------------------- */

/* What a handler keeps per client: freed by the disconnect callback. */
struct client_state {
  uint64_t id;
  int calls;
};

struct fixture {
  char dir[64];
  char path[128];
  uv_loop_t loop;
  struct hls_control *ctl;
  struct hls_control_options opt;
  /* what the dispatcher saw */
  int dispatched;
  struct hls_control_client *last_client; /* borrowed: valid while connected */
  uint32_t call_uid, client_uid;
  char call_user[HLS_CONTROL_USER_MAX + 1], client_user[HLS_CONTROL_USER_MAX + 1];
  uint64_t last_client_id;
  struct hls_control_client *deferred_client; /* borrowed; NULL once it went */
  uint64_t deferred_id;
  /* what the disconnect callback saw */
  int disconnects;
  uint64_t disconnected_id;
  int disconnected_calls;
  int reply_after_disconnect; /* hls_control_reply to a client going away */
};

static int dispatch(void *ctx, struct hls_control_call *call) {
  struct fixture *fx = ctx;
  fx->dispatched++;
  fx->last_client = call->client;
  struct client_state *cs = hls_control_client_data(call->client);
  if (cs == NULL) {
    cs = calloc(1, sizeof *cs);
    if (cs == NULL) return HLS_ENOMEM;
    cs->id = hls_control_client_id(call->client);
    hls_control_client_set_data(call->client, cs);
  }
  cs->calls++;
  const char *cmd = call->req->cmd;
  if (strcmp(cmd, "echo") == 0) return hls_mp_pack_value(call->pk, call->req->args);
  if (strcmp(cmd, "whoami") == 0) {
    fx->call_uid = call->uid;
    fx->client_uid = hls_control_client_uid(call->client);
    snprintf(fx->call_user, sizeof fx->call_user, "%s", call->user);
    snprintf(fx->client_user, sizeof fx->client_user, "%s", hls_control_client_user(call->client));
    fx->last_client_id = hls_control_client_id(call->client);
    return hls_mp_pack_cstr(call->pk, call->user);
  }
  if (strcmp(cmd, "fail") == 0) {
    (void)hls_mp_pack_cstr(call->pk, "half a result, to be discarded");
    return hls_why_set(&call->why, HLS_ENOTFOUND, "nothing here");
  }
  if (strcmp(cmd, "defer") == 0) {
    call->deferred = true;
    fx->deferred_client = call->client;
    fx->deferred_id = call->req->id;
    return 0;
  }
  if (strcmp(cmd, "big") == 0) { /* a result larger than max_frame */
    size_t n = fx->opt.max_frame;
    void *zeros = calloc(1, n);
    if (zeros == NULL) return HLS_ENOMEM;
    int rc = msgpack_pack_bin(call->pk, n) == 0 && msgpack_pack_bin_body(call->pk, zeros, n) == 0 ? 0 : HLS_ENOMEM;
    free(zeros);
    return rc;
  }
  return hls_why_set(&call->why, HLS_EUNKNOWN_CMD, "no command %s", cmd);
}

static void on_disconnect(void *ctx, struct hls_control_client *client) {
  struct fixture *fx = ctx;
  fx->disconnects++;
  fx->disconnected_id = hls_control_client_id(client);
  struct client_state *cs = hls_control_client_data(client);
  fx->disconnected_calls = cs != NULL ? cs->calls : 0;
  if (cs != NULL && cs->id != fx->disconnected_id) fx->disconnected_calls = -1; /* another client's data */
  free(cs);
  if (client == fx->last_client) fx->last_client = NULL;
  if (client == fx->deferred_client) {
    fx->reply_after_disconnect = hls_control_reply(client, fx->deferred_id, 0, NULL, NULL, NULL);
    fx->deferred_client = NULL;
  }
}

static const struct hls_control_options default_options = {
    .max_frame = 65536, .max_clients = 8, .request_timeout_ms = 5000};

static int start(struct fixture *fx, const struct hls_control_options *opt) {
  struct hls_why why = {{0}};
  fx->opt = *opt;
  int rc = hls_control_start(&fx->ctl, &fx->loop, fx->path, opt, dispatch, on_disconnect, fx, &why);
  if (rc != 0) fprintf(stderr, "hls_control_start: %s (%s)\n", hls_err_name(rc), why.text);
  return rc;
}

/* Start again with other options (the clients of the old server go). */
static void restart(struct fixture *fx, const struct hls_control_options *opt) {
  hls_control_close(fx->ctl);
  fx->ctl = NULL;
  assert_int_equal(start(fx, opt), 0);
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-ctl-XXXXXX");
  if (mkdtemp(fx->dir) == NULL || uv_loop_init(&fx->loop) != 0) {
    free(fx);
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/hlsd.sock", fx->dir);
  *state = fx;
  return start(fx, &default_options);
}

/* --- running the loop ----------------------------------------------------------- */

/* A client: a plain socket, non-blocking, and what it has received. */
struct conn {
  int fd;
  uint8_t *buf; /* owned */
  size_t len, cap;
  bool eof;
};

typedef bool (*cond_fn)(struct fixture *fx, void *arg);

static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

/* Run the loop until cond(fx, arg) holds (true) or timeout_ms pass
 * (false). Between rounds it waits in poll() for the loop's next event or
 * timer, or for bytes on watch (a client socket whose cond reads it). */
static bool run_until(struct fixture *fx, cond_fn cond, void *arg, struct conn *watch, uint64_t timeout_ms) {
  uint64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    if (cond(fx, arg)) return true;
    uint64_t now = now_ms();
    if (now >= deadline) return false;
    int wait = (int)(deadline - now);
    int next = uv_backend_timeout(&fx->loop);
    if (next >= 0 && next < wait) wait = next;
    struct pollfd p[2] = {{.fd = uv_backend_fd(&fx->loop), .events = POLLIN}, {.fd = -1}};
    if (watch != NULL && !watch->eof) p[1] = (struct pollfd){.fd = watch->fd, .events = POLLIN};
    (void)poll(p, 2, wait);
  }
}

static bool never(struct fixture *fx, void *arg) {
  (void)fx;
  (void)arg;
  return false;
}

/* Let the loop serve for ms milliseconds: for checking that something
 * does NOT happen within a time it would have happened in. */
static void serve_for(struct fixture *fx, uint64_t ms) { (void)run_until(fx, never, NULL, NULL, ms); }

static bool loop_done(struct fixture *fx, void *arg) {
  (void)arg;
  return !uv_loop_alive(&fx->loop);
}

static bool disconnects_reach(struct fixture *fx, void *arg) { return fx->disconnects >= *(const int *)arg; }
static bool dispatched_reach(struct fixture *fx, void *arg) { return fx->dispatched >= *(const int *)arg; }

static void wait_disconnects(struct fixture *fx, int n) {
  if (!run_until(fx, disconnects_reach, &n, NULL, WAIT_MS)) fail_msg("disconnects: %d, want %d", fx->disconnects, n);
}
static void wait_dispatched(struct fixture *fx, int n) {
  if (!run_until(fx, dispatched_reach, &n, NULL, WAIT_MS)) fail_msg("dispatched: %d, want %d", fx->dispatched, n);
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_control_close(fx->ctl);
  fx->ctl = NULL;
  bool done = run_until(fx, loop_done, NULL, NULL, WAIT_MS);
  int rc = uv_loop_close(&fx->loop);
  test_remove_tree(fx->dir);
  free(fx);
  if (!done || rc != 0) {
    fprintf(stderr, "the loop did not close cleanly: %s\n", rc != 0 ? uv_err_name(rc) : "handles still active");
    return -1;
  }
  return 0;
}

/* --- a client ----------------------------------------------------------------- */

static struct conn *conn_open_path(const char *path) {
  struct conn *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(c->fd >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) fail_msg("connect %s: %s", path, strerror(errno));
  assert_int_equal(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
  return c;
}

static struct conn *conn_open(struct fixture *fx) { return conn_open_path(fx->path); }

static void conn_close(struct conn *c) {
  if (c == NULL) return;
  if (c->fd >= 0) close(c->fd);
  free(c->buf);
  free(c);
}

/* Read what has arrived, without waiting. */
static void conn_pump(struct conn *c) {
  while (!c->eof) {
    if (c->cap - c->len < 65536) {
      c->cap = c->len + 65536;
      c->buf = realloc(c->buf, c->cap);
      assert_non_null(c->buf);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
    if (n > 0) c->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) c->eof = true;
    else if (errno != EINTR) break;
  }
}

static bool conn_has_frame(const struct conn *c) {
  if (c->len < HLS_CTL_HEADER) return false;
  size_t n = ((size_t)c->buf[0] << 24) | ((size_t)c->buf[1] << 16) | ((size_t)c->buf[2] << 8) | c->buf[3];
  return c->len - HLS_CTL_HEADER >= n;
}

static bool frame_arrived(struct fixture *fx, void *arg) {
  (void)fx;
  struct conn *c = arg;
  conn_pump(c);
  return conn_has_frame(c) || c->eof;
}

static bool closed_by_server(struct fixture *fx, void *arg) {
  (void)fx;
  struct conn *c = arg;
  conn_pump(c);
  return c->eof;
}

/* Take the next frame received (there must be one) into resp. */
static void conn_take(struct conn *c, struct hls_ctl_response *resp) {
  assert_true(conn_has_frame(c));
  size_t n = ((size_t)c->buf[0] << 24) | ((size_t)c->buf[1] << 16) | ((size_t)c->buf[2] << 8) | c->buf[3];
  void *payload = malloc(n);
  assert_non_null(payload);
  memcpy(payload, c->buf + HLS_CTL_HEADER, n);
  memmove(c->buf, c->buf + HLS_CTL_HEADER + n, c->len - HLS_CTL_HEADER - n);
  c->len -= HLS_CTL_HEADER + n;
  struct hls_why why = {{0}};
  int rc = hls_ctl_response_decode(resp, payload, n, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) {
    free(payload);
    fail_msg("reply does not decode: %s (%s)", hls_err_name(rc), why.text);
  }
  resp->payload = payload; /* freed by hls_ctl_response_free */
}

/* Wait for the next frame from the server and take it. */
static void expect_frame(struct fixture *fx, struct conn *c, struct hls_ctl_response *resp) {
  if (!run_until(fx, frame_arrived, c, c, WAIT_MS)) fail_msg("no reply within %d ms", WAIT_MS);
  if (!conn_has_frame(c)) fail_msg("connection closed with no reply");
  conn_take(c, resp);
}

/* The next frame is the error reply id / code (and message, if given). */
static void expect_error(struct fixture *fx, struct conn *c, uint64_t id, int code, const char *message) {
  struct hls_ctl_response resp;
  expect_frame(fx, c, &resp);
  assert_int_equal(resp.kind, HLS_CTL_ERROR);
  assert_int_equal(resp.id, id);
  if (resp.error_code != code) fail_msg("error %s, want %s", resp.error_name, hls_err_name(code));
  if (message != NULL && strstr(resp.error_message, message) == NULL)
    fail_msg("error message \"%s\" lacks \"%s\"", resp.error_message, message);
  hls_ctl_response_free(&resp);
}

/* The server closes c: nothing more arrives, then end of file. */
static void expect_closed(struct fixture *fx, struct conn *c) {
  if (!run_until(fx, closed_by_server, c, c, WAIT_MS)) fail_msg("connection still open after %d ms", WAIT_MS);
  assert_int_equal(c->len, 0);
}

static bool writable(struct fixture *fx, void *arg) {
  (void)fx;
  struct pollfd p = {.fd = *(const int *)arg, .events = POLLOUT};
  return poll(&p, 1, 0) == 1;
}

/* Send all of data, serving the loop while the socket is full. */
static void conn_send(struct fixture *fx, struct conn *c, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!run_until(fx, writable, &c->fd, NULL, WAIT_MS)) fail_msg("socket stayed full");
    } else if (!(n < 0 && errno == EINTR)) {
      fail_msg("send: %s", strerror(errno));
    }
  }
}

/* A request frame (args from fmt, see mp_build.h) appended to sb. */
static void vpack_request(msgpack_sbuffer *sb, uint64_t id, const char *cmd, const char *fmt, va_list ap) {
  size_t start = sb->size;
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(hls_ctl_begin_request(&pk, id, cmd), 0);
  mpb_vpack(&pk, fmt, ap);
  assert_int_equal(hls_ctl_frame_finish(sb, start, HLS_CTL_FRAME_HARD_MAX), 0);
}

static void pack_request(msgpack_sbuffer *sb, uint64_t id, const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vpack_request(sb, id, cmd, fmt, ap);
  va_end(ap);
}

static void send_request(struct fixture *fx, struct conn *c, uint64_t id, const char *cmd, const char *fmt, ...) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  va_list ap;
  va_start(ap, fmt);
  vpack_request(&sb, id, cmd, fmt, ap);
  va_end(ap);
  conn_send(fx, c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* A frame of payload bytes given as they are (however malformed). */
static void send_frame(struct fixture *fx, struct conn *c, const void *payload, size_t len) {
  uint8_t header[HLS_CTL_HEADER] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  conn_send(fx, c, header, sizeof header);
  if (len > 0) conn_send(fx, c, payload, len);
}

/* echo's reply: id, and the result {"n": n}. */
static void expect_echo(struct fixture *fx, struct conn *c, uint64_t id, int64_t n) {
  struct hls_ctl_response resp;
  expect_frame(fx, c, &resp);
  if (resp.kind == HLS_CTL_ERROR) fail_msg("echo %llu: error %s (%s)", (unsigned long long)id, resp.error_name,
                                           resp.error_message);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_int_equal(resp.id, id);
  assert_non_null(resp.result);
  int64_t got = -1;
  struct hls_why why = {{0}};
  assert_int_equal(hls_mp_get_i64(resp.result, "n", &got, NULL, &why), 0);
  assert_int_equal(got, n);
  hls_ctl_response_free(&resp);
}

/* One echo round trip: the connection is open and served. */
static void assert_served(struct fixture *fx, struct conn *c, uint64_t id) {
  send_request(fx, c, id, "echo", "M s i", 1, "n", (long long)id);
  expect_echo(fx, c, id, (int64_t)id);
}

/* --- requests and replies ----------------------------------------------------- */

/* A request gets its reply with its id: alone, several in one write, one
 * split over several writes; a handler's error is an error reply (what it
 * packed is dropped) and the connection stays. */
static void test_request_gets_reply_with_its_id(void **state) {
  struct fixture *fx = *state;
  struct conn *c = conn_open(fx);
  send_request(fx, c, 42, "echo", "M s i s s", 2, "n", 42LL, "text", "caf\xc3\xa9");
  struct hls_ctl_response resp;
  expect_frame(fx, c, &resp);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_int_equal(resp.id, 42);
  const char *text = NULL;
  uint32_t len = 0;
  struct hls_why why = {{0}};
  assert_int_equal(hls_mp_get_str(resp.result, "text", &text, &len, NULL, &why), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(text, "caf\xc3\xa9", 5);
  hls_ctl_response_free(&resp);

  /* Three in one write: three replies, in order. */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  for (uint64_t id = 1; id <= 3; id++) pack_request(&sb, id, "echo", "M s i", 1, "n", (long long)id * 10);
  conn_send(fx, c, sb.data, sb.size);
  for (uint64_t id = 1; id <= 3; id++) expect_echo(fx, c, id, (int64_t)id * 10);

  /* One request in three writes, the loop serving between them. */
  sb.size = 0;
  pack_request(&sb, 7, "echo", "M s i", 1, "n", 7LL);
  const size_t cuts[] = {0, 2, 9, sb.size};
  int before = fx->dispatched;
  for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++) {
    if (i > 0) {
      serve_for(fx, 20);
      assert_int_equal(fx->dispatched, before);
    }
    conn_send(fx, c, sb.data + cuts[i], cuts[i + 1] - cuts[i]);
  }
  expect_echo(fx, c, 7, 7);
  msgpack_sbuffer_destroy(&sb);

  send_request(fx, c, 8, "fail", "M", 0);
  expect_error(fx, c, 8, HLS_ENOTFOUND, "nothing here");
  send_request(fx, c, 9, "nope", "M", 0);
  expect_error(fx, c, 9, HLS_EUNKNOWN_CMD, "no command nope");
  assert_served(fx, c, 10);
  assert_int_equal(fx->dispatched, 8);
  assert_int_equal(fx->disconnects, 0);
  conn_close(c);
}

/* A result over max_frame is a too_large error reply, and the
 * connection stays. */
static void test_reply_over_max_frame_is_an_error(void **state) {
  struct fixture *fx = *state;
  struct conn *c = conn_open(fx);
  send_request(fx, c, 5, "big", "M", 0);
  expect_error(fx, c, 5, HLS_ETOOBIG, "control_max_frame");
  assert_served(fx, c, 6);
  conn_close(c);
}

/* The caller is who the kernel says: uid getuid(), its user name (or
 * "#uid" for a uid with no name), the same in the call and from the
 * client; and each connection has its own id. */
static void test_caller_is_the_kernels_user(void **state) {
  struct fixture *fx = *state;
  char want[HLS_CONTROL_USER_MAX + 1];
  const struct passwd *pw = getpwuid(getuid());
  if (pw != NULL && strlen(pw->pw_name) <= HLS_CONTROL_USER_MAX) snprintf(want, sizeof want, "%s", pw->pw_name);
  else snprintf(want, sizeof want, "#%u", (unsigned)getuid());

  struct conn *a = conn_open(fx);
  send_request(fx, a, 1, "whoami", "M", 0);
  struct hls_ctl_response resp;
  expect_frame(fx, a, &resp);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_true(resp.result->type == HLS_MP_STR && resp.result->len == strlen(want));
  assert_memory_equal(resp.result->v.str, want, strlen(want));
  hls_ctl_response_free(&resp);
  assert_int_equal(fx->call_uid, getuid());
  assert_int_equal(fx->client_uid, getuid());
  assert_string_equal(fx->call_user, want);
  assert_string_equal(fx->client_user, want);
  uint64_t a_id = fx->last_client_id;

  struct conn *b = conn_open(fx);
  send_request(fx, b, 1, "whoami", "M", 0);
  expect_frame(fx, b, &resp);
  hls_ctl_response_free(&resp);
  assert_true(fx->last_client_id != a_id);
  conn_close(a);
  conn_close(b);
}

/* --- the socket file ------------------------------------------------------------ */

/* The socket is mode 0600 (0660 and the group's with a control group); a
 * stale file in its place is replaced; close removes it. */
static void test_socket_file(void **state) {
  struct fixture *fx = *state;
  struct stat st;
  assert_int_equal(stat(fx->path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);

  hls_control_close(fx->ctl);
  fx->ctl = NULL;
  assert_int_equal(stat(fx->path, &st), -1);
  assert_int_equal(errno, ENOENT);

  FILE *stale = fopen(fx->path, "w");
  assert_non_null(stale);
  fclose(stale);
  struct hls_control_options group = default_options;
  group.group_set = true;
  group.group = getgid();
  group.group_name = "the test's group";
  assert_int_equal(start(fx, &group), 0);
  assert_int_equal(stat(fx->path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0660);
  assert_int_equal(st.st_gid, getgid());
  struct conn *c = conn_open(fx);
  assert_served(fx, c, 1);
  conn_close(c);
}

/* A path too long for a Unix socket, and one that cannot be bound, fail
 * with the reason and leave nothing behind (the loop still closes). */
static void test_start_errors(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  char long_path[200];
  memset(long_path, 'x', sizeof long_path - 1);
  long_path[0] = '/';
  long_path[sizeof long_path - 1] = '\0';
  struct hls_control *ctl = (struct hls_control *)&why; /* start must clear it */
  assert_int_equal(hls_control_start(&ctl, &fx->loop, long_path, &default_options, dispatch, on_disconnect, fx, &why),
                   HLS_ETOOBIG);
  assert_null(ctl);
  assert_non_null(strstr(why.text, "longer than"));

  char missing[160];
  snprintf(missing, sizeof missing, "%s/no-such-dir/hlsd.sock", fx->dir);
  memset(&why, 0, sizeof why);
  assert_int_equal(hls_control_start(&ctl, &fx->loop, missing, &default_options, dispatch, on_disconnect, fx, &why),
                   HLS_EIO);
  assert_null(ctl);
  assert_non_null(strstr(why.text, missing));
  /* The fixture's server is untouched. */
  struct conn *c = conn_open(fx);
  assert_served(fx, c, 1);
  conn_close(c);
}

/* --- broken framing ------------------------------------------------------------ */

/* An empty frame gets a malformed error reply and the connection is
 * closed: what followed it is not read as a request. Other clients are
 * not affected. */
static void test_empty_frame_closes(void **state) {
  struct fixture *fx = *state;
  struct conn *other = conn_open(fx);
  assert_served(fx, other, 1);
  struct conn *c = conn_open(fx);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  static const uint8_t empty[HLS_CTL_HEADER] = {0};
  msgpack_sbuffer_write(&sb, (const char *)empty, sizeof empty);
  pack_request(&sb, 2, "echo", "M s i", 1, "n", 2LL);
  conn_send(fx, c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  expect_error(fx, c, 0, HLS_EMALFORMED, "empty frame");
  expect_closed(fx, c);
  wait_disconnects(fx, 1);
  assert_int_equal(fx->dispatched, 1);
  assert_served(fx, other, 3);
  conn_close(c);
  conn_close(other);
}

/* A frame over max_frame gets too_large and the connection is closed,
 * without waiting for its payload; a frame of exactly max_frame is
 * served. */
static void test_oversize_frame_closes(void **state) {
  struct fixture *fx = *state;
  struct hls_control_options opt = default_options;
  opt.max_frame = 1024;
  restart(fx, &opt);

  /* A request padded to exactly max_frame bytes. */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  char pad[1024];
  memset(pad, 'p', sizeof pad);
  size_t pad_len = 0;
  for (; pad_len < sizeof pad; pad_len++) {
    sb.size = 0;
    pack_request(&sb, 1, "whoami", "M s S", 1, "pad", pad, pad_len);
    if (sb.size - HLS_CTL_HEADER >= opt.max_frame) break;
  }
  assert_int_equal(sb.size - HLS_CTL_HEADER, opt.max_frame);
  struct conn *c = conn_open(fx);
  conn_send(fx, c, sb.data, sb.size);
  struct hls_ctl_response resp;
  expect_frame(fx, c, &resp);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  hls_ctl_response_free(&resp);

  /* One byte more: only the header is sent. */
  const uint8_t header[HLS_CTL_HEADER] = {0, 0, 0x04, 0x01};
  conn_send(fx, c, header, sizeof header);
  expect_error(fx, c, 0, HLS_ETOOBIG, "control_max_frame");
  expect_closed(fx, c);
  wait_disconnects(fx, 1);
  assert_int_equal(fx->disconnected_calls, 1);
  msgpack_sbuffer_destroy(&sb);
  conn_close(c);
}

/* A well-framed request that is not a valid one (not msgpack, invalid
 * UTF-8, not a request, another protocol version, trailing bytes) gets an
 * error reply, with the request's id when it had one, and the client
 * stays connected. */
static void test_malformed_request_stays_connected(void **state) {
  struct fixture *fx = *state;
  struct conn *c = conn_open(fx);

  static const uint8_t never_used = 0xc1;
  send_frame(fx, c, &never_used, 1);
  expect_error(fx, c, 0, HLS_EMALFORMED, "not valid msgpack");

  struct mpb b;
  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s u s S s M", 4, "v", 1ULL, "id", 9ULL, "cmd", "ec\xff\xfeho", (size_t)6, "args", 0);
  send_frame(fx, c, b.sb.data, b.sb.size);
  expect_error(fx, c, 0, HLS_EMALFORMED, NULL);
  mpb_free(&b);

  mpb_init(&b);
  mpb_pack(&b.pk, "A i", 1, 1LL);
  send_frame(fx, c, b.sb.data, b.sb.size);
  expect_error(fx, c, 0, HLS_EMALFORMED, "not a map");
  mpb_free(&b);

  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s s", 2, "id", 11ULL, "cmd", "echo");
  send_frame(fx, c, b.sb.data, b.sb.size);
  expect_error(fx, c, 11, HLS_EMALFORMED, "\"v\"");
  mpb_free(&b);

  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s u s s", 3, "v", 2ULL, "id", 12ULL, "cmd", "echo");
  send_frame(fx, c, b.sb.data, b.sb.size);
  expect_error(fx, c, 12, HLS_EUNSUPPORTED, NULL);
  mpb_free(&b);

  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s u s s i", 3, "v", 1ULL, "id", 13ULL, "cmd", "echo", 5LL);
  send_frame(fx, c, b.sb.data, b.sb.size);
  expect_error(fx, c, 0, HLS_EMALFORMED, NULL);
  mpb_free(&b);

  assert_int_equal(fx->dispatched, 0);
  assert_served(fx, c, 14);
  assert_int_equal(fx->disconnects, 0);
  conn_close(c);
}

/* --- limits ------------------------------------------------------------------- */

/* The client beyond max_clients gets limit_reached and is closed; the
 * others are served, and a slot freed is taken again. */
static void test_max_clients(void **state) {
  struct fixture *fx = *state;
  struct hls_control_options opt = default_options;
  opt.max_clients = 2;
  restart(fx, &opt);
  struct conn *a = conn_open(fx), *b = conn_open(fx);
  assert_served(fx, a, 1);
  assert_served(fx, b, 1);
  struct conn *c = conn_open(fx);
  expect_error(fx, c, 0, HLS_ELIMIT, "control_max_clients");
  expect_closed(fx, c);
  wait_disconnects(fx, 1);
  assert_served(fx, a, 2);
  assert_served(fx, b, 2);

  conn_close(a);
  wait_disconnects(fx, 2);
  struct conn *d = conn_open(fx);
  assert_served(fx, d, 1);
  conn_close(b);
  conn_close(c);
  conn_close(d);
}

/* New limits apply to the clients already connected, which keep their
 * connection. */
static void test_set_options(void **state) {
  struct fixture *fx = *state;
  struct conn *a = conn_open(fx), *b = conn_open(fx);
  assert_served(fx, a, 1);
  assert_served(fx, b, 1);
  struct hls_control_options opt = default_options;
  opt.max_frame = 64;
  opt.max_clients = 1;
  hls_control_set_options(fx->ctl, &opt);
  fx->opt = opt;

  assert_served(fx, b, 2);
  char pad[100];
  memset(pad, 'p', sizeof pad);
  send_request(fx, a, 2, "echo", "M s S", 1, "pad", pad, sizeof pad);
  expect_error(fx, a, 0, HLS_ETOOBIG, NULL);
  expect_closed(fx, a);
  struct conn *c = conn_open(fx);
  expect_error(fx, c, 0, HLS_ELIMIT, NULL);
  expect_closed(fx, c);
  assert_served(fx, b, 3);
  conn_close(a);
  conn_close(b);
  conn_close(c);
}

/* --- the request timeout -------------------------------------------------------- */

/* A client silent half way through a request is closed after
 * request_timeout, with no reply; an idle one (nothing half sent) is not. */
static void test_partial_request_times_out(void **state) {
  struct fixture *fx = *state;
  struct hls_control_options opt = default_options;
  opt.request_timeout_ms = 200;
  restart(fx, &opt);
  struct conn *idle = conn_open(fx);
  assert_served(fx, idle, 1);
  struct conn *c = conn_open(fx);
  uint8_t partial[HLS_CTL_HEADER + 10] = {0, 0, 0, 100};
  memset(partial + HLS_CTL_HEADER, 0x80, 10);
  uint64_t t0 = now_ms();
  conn_send(fx, c, partial, sizeof partial);
  expect_closed(fx, c);
  uint64_t elapsed = now_ms() - t0;
  if (elapsed < 190) fail_msg("closed after %llu ms, before the 200 ms timeout", (unsigned long long)elapsed);
  wait_disconnects(fx, 1);
  assert_int_equal(fx->disconnected_calls, 0);

  /* The idle client, still open twice the timeout after it was last served. */
  uint64_t until = t0 + 2 * 200, now = now_ms();
  assert_false(run_until(fx, closed_by_server, idle, idle, until > now ? until - now : 0));
  assert_served(fx, idle, 2);
  assert_int_equal(fx->disconnects, 1);
  conn_close(c);
  conn_close(idle);
}

/* The timeout counts from the last bytes received, not from the start of
 * the request: a request trickling in for longer than the timeout, never
 * silent for long, is served. */
static void test_request_timeout_counts_from_last_bytes(void **state) {
  struct fixture *fx = *state;
  struct hls_control_options opt = default_options;
  opt.request_timeout_ms = 500;
  restart(fx, &opt);
  struct conn *c = conn_open(fx);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  pack_request(&sb, 3, "echo", "M s i", 1, "n", 3LL);
  const size_t pieces = 7; /* 600 ms in all, never more than 100 ms silent */
  uint64_t t0 = now_ms();
  for (size_t i = 0; i < pieces; i++) {
    if (i > 0) serve_for(fx, 100);
    size_t from = sb.size * i / pieces, to = sb.size * (i + 1) / pieces;
    conn_send(fx, c, sb.data + from, to - from);
  }
  expect_echo(fx, c, 3, 3);
  assert_true(now_ms() - t0 >= 600);
  assert_int_equal(fx->disconnects, 0);
  msgpack_sbuffer_destroy(&sb);
  conn_close(c);
}

/* --- deferred replies ----------------------------------------------------------- */

static int pack_progress(void *ctx, msgpack_packer *pk) { return hls_mp_pack_kv_i64(pk, "n", *(const int64_t *)ctx); }
static int pack_n_map(void *ctx, msgpack_packer *pk) {
  return msgpack_pack_map(pk, 1) == 0 ? pack_progress(ctx, pk) : HLS_ENOMEM;
}
static int pack_oversize(void *ctx, msgpack_packer *pk) {
  size_t n = *(const size_t *)ctx;
  void *zeros = calloc(1, n);
  if (zeros == NULL) return HLS_ENOMEM;
  int rc = msgpack_pack_bin(pk, n) == 0 && msgpack_pack_bin_body(pk, zeros, n) == 0 ? 0 : HLS_ENOMEM;
  free(zeros);
  return rc;
}

/* A handler that defers replies later with hls_control_reply, after any
 * events; the client is served meanwhile. An error reply can be
 * deferred too. A deferred frame over max_frame closes the client. */
static void test_deferred_reply(void **state) {
  struct fixture *fx = *state;
  struct conn *c = conn_open(fx);
  send_request(fx, c, 20, "defer", "M", 0);
  wait_dispatched(fx, 1);
  assert_non_null(fx->deferred_client);
  assert_int_equal(fx->deferred_id, 20);
  conn_pump(c);
  assert_int_equal(c->len, 0); /* no reply yet */
  assert_served(fx, c, 21);

  int64_t n = 5;
  assert_int_equal(hls_control_event(fx->deferred_client, 20, "progress", pack_n_map, &n), 0);
  struct hls_ctl_response resp;
  expect_frame(fx, c, &resp);
  assert_int_equal(resp.kind, HLS_CTL_EVENT);
  assert_int_equal(resp.id, 20);
  assert_string_equal(resp.event, "progress");
  int64_t got = 0;
  struct hls_why why = {{0}};
  assert_int_equal(hls_mp_get_i64(resp.result, "n", &got, NULL, &why), 0);
  assert_int_equal(got, 5);
  hls_ctl_response_free(&resp);
  n = 6;
  assert_int_equal(hls_control_reply(fx->deferred_client, 20, 0, NULL, pack_n_map, &n), 0);
  expect_echo(fx, c, 20, 6);

  send_request(fx, c, 22, "defer", "M", 0);
  wait_dispatched(fx, 3);
  assert_int_equal(hls_control_reply(fx->deferred_client, 22, HLS_EBUSY, "try later", NULL, NULL), 0);
  expect_error(fx, c, 22, HLS_EBUSY, "try later");

  send_request(fx, c, 23, "defer", "M", 0);
  wait_dispatched(fx, 4);
  assert_int_equal(hls_control_reply(fx->deferred_client, 23, 0, NULL, NULL, NULL), 0); /* nil result */
  expect_frame(fx, c, &resp);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_int_equal(resp.id, 23);
  assert_true(resp.result == NULL || resp.result->type == HLS_MP_NIL);
  hls_ctl_response_free(&resp);

  send_request(fx, c, 24, "defer", "M", 0);
  wait_dispatched(fx, 5);
  size_t too_big = fx->opt.max_frame;
  struct hls_control_client *client = fx->deferred_client;
  assert_int_equal(hls_control_reply(client, 24, 0, NULL, pack_oversize, &too_big), HLS_ETOOBIG);
  assert_int_equal(fx->disconnects, 1); /* at once: the client cannot be told */
  assert_int_equal(fx->disconnected_calls, 5);
  expect_closed(fx, c);
  conn_close(c);
}

/* A client that goes with a reply deferred: the disconnect callback runs
 * (and a reply then is refused, not sent to a closing client). */
static void test_deferred_client_goes(void **state) {
  struct fixture *fx = *state;
  struct conn *c = conn_open(fx);
  send_request(fx, c, 30, "defer", "M", 0);
  wait_dispatched(fx, 1);
  fx->reply_after_disconnect = 12345;
  conn_close(c);
  wait_disconnects(fx, 1);
  assert_int_equal(fx->reply_after_disconnect, HLS_ENOTFOUND);
  assert_null(fx->deferred_client);
}

/* --- disconnects and close -------------------------------------------------------- */

/* The disconnect callback runs once per client that goes, with that
 * client's id and data (what its handlers kept). */
static void test_disconnect_callback(void **state) {
  struct fixture *fx = *state;
  struct conn *a = conn_open(fx), *b = conn_open(fx);
  for (uint64_t id = 1; id <= 3; id++) assert_served(fx, a, id);
  send_request(fx, a, 4, "whoami", "M", 0);
  struct hls_ctl_response resp;
  expect_frame(fx, a, &resp);
  hls_ctl_response_free(&resp);
  uint64_t a_id = fx->last_client_id;
  conn_close(a);
  wait_disconnects(fx, 1);
  assert_int_equal(fx->disconnected_id, a_id);
  assert_int_equal(fx->disconnected_calls, 4);

  /* A client that never sent anything goes: no data, one callback. */
  conn_close(b);
  wait_disconnects(fx, 2);
  assert_int_equal(fx->disconnected_calls, 0);
  assert_true(fx->disconnected_id != a_id);

  /* A client that leaves in the middle of a request. */
  struct conn *c = conn_open(fx);
  assert_served(fx, c, 1);
  const uint8_t half[] = {0, 0, 0, 50, 0x84};
  conn_send(fx, c, half, sizeof half);
  serve_for(fx, 10);
  conn_close(c);
  wait_disconnects(fx, 3);
  assert_int_equal(fx->disconnected_calls, 1);
  serve_for(fx, 10);
  assert_int_equal(fx->disconnects, 3);
}

/* hls_control_close disconnects every client at once (served, half way
 * through a request, waiting for a deferred reply), removes the socket,
 * and frees everything once the loop has closed the handles. */
static void test_close_frees_everything(void **state) {
  struct fixture *fx = *state;
  struct conn *a = conn_open(fx), *b = conn_open(fx), *c = conn_open(fx);
  assert_served(fx, a, 1);
  assert_served(fx, b, 1);
  const uint8_t half[] = {0, 0, 0, 50, 0x84};
  conn_send(fx, b, half, sizeof half);
  send_request(fx, c, 2, "defer", "M", 0);
  wait_dispatched(fx, 3);
  serve_for(fx, 10);

  hls_control_close(fx->ctl);
  fx->ctl = NULL;
  assert_int_equal(fx->disconnects, 3);
  assert_int_equal(fx->reply_after_disconnect, HLS_ENOTFOUND);
  struct stat st;
  assert_int_equal(stat(fx->path, &st), -1);
  assert_true(run_until(fx, loop_done, NULL, NULL, WAIT_MS));
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  assert_int_equal(uv_loop_init(&fx->loop), 0); /* for teardown */
  expect_closed(fx, a);
  expect_closed(fx, b);
  expect_closed(fx, c);
  conn_close(a);
  conn_close(b);
  conn_close(c);
}

/* --- back-pressure ---------------------------------------------------------------- */

struct flood {
  struct conn *c;
  msgpack_sbuffer requests; /* every request, one after another */
  size_t sent;              /* bytes of requests sent */
  uint64_t n_requests, next_reply;
  size_t payload;
  bool reading;     /* the client reads its replies */
  size_t max_queued; /* the most the server had queued for it */
};

static void flood_send(struct flood *f) {
  while (f->sent < f->requests.size) {
    ssize_t n = send(f->c->fd, f->requests.data + f->sent, f->requests.size - f->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    f->sent += (size_t)n;
  }
}

static void flood_note_queued(struct fixture *fx, struct flood *f) {
  if (fx->last_client != NULL && hls_control_queued(fx->last_client) > f->max_queued)
    f->max_queued = hls_control_queued(fx->last_client);
}

/* The server has stopped: more than 2 * max_frame queued, the client
 * cannot send (the server stopped reading). */
static bool flood_stalled(struct fixture *fx, void *arg) {
  struct flood *f = arg;
  flood_send(f);
  flood_note_queued(fx, f);
  return fx->last_client != NULL && hls_control_queued(fx->last_client) > 2 * fx->opt.max_frame &&
         f->sent < f->requests.size && !writable(fx, &f->c->fd);
}

static bool flood_all_replied(struct fixture *fx, void *arg) {
  struct flood *f = arg;
  flood_send(f);
  flood_note_queued(fx, f);
  conn_pump(f->c);
  while (conn_has_frame(f->c)) {
    struct hls_ctl_response resp;
    conn_take(f->c, &resp);
    assert_int_equal(resp.kind, HLS_CTL_RESULT);
    assert_int_equal(resp.id, f->next_reply);
    assert_true(resp.result != NULL && resp.result->type == HLS_MP_MAP);
    hls_ctl_response_free(&resp);
    f->next_reply++;
  }
  return f->next_reply == f->n_requests || f->c->eof;
}

/* A client that does not read its replies stops being read: the replies
 * queued for it stay bounded (about 2 * max_frame), no request is handled
 * meanwhile, and once it reads, every request is answered in order. */
static void test_slow_reader_back_pressure(void **state) {
  struct fixture *fx = *state;
  struct hls_control_options opt = default_options;
  opt.max_frame = 16384;
  restart(fx, &opt);
  struct flood f = {.c = conn_open(fx), .n_requests = 400, .payload = 8000};
  msgpack_sbuffer_init(&f.requests);
  void *blob = calloc(1, f.payload);
  assert_non_null(blob);
  for (uint64_t id = 0; id < f.n_requests; id++)
    pack_request(&f.requests, id, "echo", "M s b", 1, "blob", blob, f.payload);
  free(blob);

  if (!run_until(fx, flood_stalled, &f, NULL, WAIT_MS))
    fail_msg("no back-pressure: %zu of %zu bytes sent, %d handled", f.sent, f.requests.size, fx->dispatched);
  int handled = fx->dispatched;
  assert_true(handled < (int)f.n_requests);
  serve_for(fx, 50);
  assert_int_equal(fx->dispatched, handled);

  if (!run_until(fx, flood_all_replied, &f, f.c, 5 * WAIT_MS))
    fail_msg("%llu of %llu replies", (unsigned long long)f.next_reply, (unsigned long long)f.n_requests);
  assert_false(f.c->eof);
  assert_int_equal(fx->dispatched, (int)f.n_requests);
  /* Processing stops above 2 * max_frame queued: one more reply at most. */
  if (f.max_queued > 3 * opt.max_frame) fail_msg("%zu bytes queued for a slow reader", f.max_queued);
  msgpack_sbuffer_destroy(&f.requests);
  conn_close(f.c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as hlsd: a client gone is an error, not a signal */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_request_gets_reply_with_its_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reply_over_max_frame_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_caller_is_the_kernels_user, setup, teardown),
      cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_frame_closes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_oversize_frame_closes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_request_stays_connected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_partial_request_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_request_timeout_counts_from_last_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_reply, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_client_goes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_disconnect_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_frees_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_reader_back_pressure, setup, teardown),
  };
  return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
