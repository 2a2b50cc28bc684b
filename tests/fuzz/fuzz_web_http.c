/* The web app's HTTP server (daemon/web.c): libmicrohttpd on a libuv loop,
 * its routes, sessions, CSRF, Host and cross-site checks, sign-in limits,
 * JSON replies and feeds, fed raw bytes over a real TCP connection.
 *
 * One server for the process, started on the first input: a store in a
 * temporary directory (users and a feed token), web.listen 127.0.0.1:0,
 * and a stub in place of the method table's handlers (the real API is not
 * linked). Per input, the bytes are an HTTP request stream (one request or
 * several pipelined): they are written to a new connection, which is
 * half-closed once the server is idle, and the loop runs until the server
 * closes the connection or a deadline of 1 s passes (see exchange()).
 * Inputs over 64 KiB are skipped.
 *
 * Placeholders, replaced before sending, reach what needs a secret the
 * fuzzer cannot guess (the seeds' Content-Length is that of the expanded
 * body; @@S, @@X, @@L and @@F expand to 43 bytes):
 *   @@P  the server's port (for Host: 127.0.0.1:@@P and Origin)
 *   @@C  a session's cookie as the server set it, NAME=TOKEN (for
 *        Cookie: @@C): the harness signs in fz_admin (role admin) first,
 *        with a one-time link of its own
 *   @@S  that cookie's token alone (43 characters)
 *   @@X  that session's CSRF token (43 characters)
 *   @@O  the cookie (NAME=TOKEN) of a session of fz_admin that has been
 *        idle longer than web.session_idle (60 s): the harness signs it in,
 *        then moves the clock 2 minutes, before @@C's sign-in
 *   @@L  a fresh one-time sign-in link of fz_view (role viewer, 43)
 *   @@F  the token of feed "fz" (43)
 * fz_lead (role lead) has the password "fuzz-password-1".
 *
 * The clock the server reads is fake: it moves 16 minutes for every input,
 * past the sign-in limiter's 15-minute window, so failed sign-ins of one
 * input do not refuse the next (runs stay reproducible), and sessions of
 * earlier inputs have ended (web.session_idle is 60 s; their cookies are
 * random anyway). web.url is set (https://learning.example.org/), so Host
 * and Origin are also checked against it. When the clock reaches 2100
 * (2.6 million inputs) the server is closed and a new one started, with
 * the clock back at 2026.
 *
 * argon2id: users.c checks passwords with libsodium's crypto_pwhash_str
 * and _str_verify at 64 MiB, about 100 ms each, and verifies a dummy hash
 * for an unknown name (so a wrong name costs what a wrong password does).
 * This file defines both functions, so the linker binds users.c to them:
 * hashes are made with argon2id at libsodium's smallest cost, verified for
 * real, and the dummy hash (any hash not of the smallest cost) is refused
 * at once, as a real check of it refuses (its password is no one's). Only
 * the time differs; users.c and web.c run as they are.
 *
 * The dispatch stub checks what web.c hands it (a method of the table, not
 * local, stream or test; the caller "web:NAME"), applies the role and the
 * table's argument check as hlsd does, answers "commands" with the real
 * table, and otherwise replies in a way the input's last byte picks: a
 * map echoing the call, an error with or without a reason, a deferred
 * (stream) reply, odd values (binaries, floats, NaN, deep nesting), the
 * input's bytes as a string (maybe not UTF-8), or a large array.
 * "feed.events" gives events built from the input's last bytes (XML and
 * JSON escaping, truncation of long titles and place lists).
 *
 * Checks, besides the sanitizers: every response starts "HTTP/1."; every
 * JSON reply (framed by Content-Length, up to a reply saying "Connection:
 * close"; a stream with HEAD in it is checked up to its first reply) is a
 * JSON object with a boolean "ok", true exactly for status 200, an error
 * having a string code and message, and carries the
 * Content-Security-Policy header; a Set-Cookie comes only with a 200; the
 * harness's own sign-in by link always succeeds. A server that
 * has not closed the connection by the deadline is counted, not failed
 * (HLS_FUZZ_WEB_STATS=1 prints the counts at exit, HLS_FUZZ_WEB_LATE_DIR=DIR
 * keeps those inputs in DIR, HLS_FUZZ_WEB_DUMP=1 prints every exchange). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "control.h"
#include "fuzz.h"
#include "log.h"
#include "methods.h"
#include "mp.h"
#include "store.h"
#include "text.h"
#include "users.h"
#include "web.h"

#define WEB_MAX_INPUT (64 * 1024)
#define DEADLINE_MS 1000
#define SETUP_DEADLINE_MS 10000
#define KEEP_REPLY (4 * 1024 * 1024) /* reply bytes kept for the checks; the rest is read and dropped */
#define STEP_MS (16LL * 60 * 1000)
#define PASSWORD "fuzz-password-1"
#define TOKEN_LEN (HLS_USER_TOKEN_TEXT - 1)

/* --- argon2id at the smallest cost (see the header) ------------------------- */

#define CHEAP_PARAMS "$m=8,t=1,p=1$"

int crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd, unsigned long long passwdlen,
                      unsigned long long opslimit, size_t memlimit) {
  (void)opslimit;
  (void)memlimit;
  return crypto_pwhash_argon2id_str(out, passwd, passwdlen, crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                    crypto_pwhash_argon2id_MEMLIMIT_MIN);
}

int crypto_pwhash_str_verify(const char str[crypto_pwhash_STRBYTES], const char *const passwd,
                             unsigned long long passwdlen) {
  if (strncmp(str, "$argon2id$", 10) != 0 || strstr(str, CHEAP_PARAMS) == NULL) {
    errno = EINVAL;
    return -1;
  }
  return crypto_pwhash_argon2id_str_verify(str, passwd, passwdlen);
}

/* --- the process's server ---------------------------------------------------- */

static bool ready;
static uv_loop_t loop;
static struct hls_config cfg;
static struct hls_store *store;
static struct hls_web *web;
static int port;
static char port_text[12];
#define CLOCK_START 1767225600000LL /* 2026-01-01 */
#define CLOCK_END 4102444800000LL   /* 2100-01-01: a new server, from CLOCK_START again */
static int64_t fake_now = CLOCK_START;
static char dir[256], feed_token[HLS_USER_TOKEN_TEXT];
static const uint8_t *cur_data = (const uint8_t *)""; /* the expanded input, for the stub */
static size_t cur_size;
static size_t n_inputs, n_skipped, n_late, n_replies, n_json;

static int64_t clock_ms(void *ctx) {
  (void)ctx;
  return fake_now;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the dispatch stub --------------------------------------------------------- */

/* The input's last bytes, printable UTF-8 (hls_text_sanitize), in out. */
static void tail_text(char *out, size_t size, size_t want) {
  size_t n = cur_size < want ? cur_size : want;
  if (n >= size) n = size - 1;
  memcpy(out, cur_data + cur_size - n, n);
  out[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (out[i] == '\0') out[i] = ' ';
  hls_text_sanitize(out);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len) {
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

static void pack_cstr(msgpack_packer *pk, const char *s) { pack_str(pk, s, strlen(s)); }

/* n bytes of s, cut back to valid UTF-8. */
static void pack_cut(msgpack_packer *pk, const char *s, size_t n) {
  char cut[256];
  if (n >= sizeof cut) n = sizeof cut - 1;
  memcpy(cut, s, n);
  cut[n] = '\0';
  hls_text_sanitize(cut);
  pack_cstr(pk, cut);
}

static int pack_events(struct hls_control_call *call, unsigned mode) {
  msgpack_packer *pk = call->pk;
  char text[256];
  tail_text(text, sizeof text, 200);
  size_t tl = strlen(text);
  switch (mode) { /* 2 (a last byte '\n'): plain events */
    case 5: return hls_why_set(&call->why, HLS_ENOTFOUND, "no feed named fz (stub)");
    case 6: call->deferred = true; return 0;
    case 4: /* not an array */
      msgpack_pack_map(pk, 1);
      pack_cstr(pk, "events");
      pack_cstr(pk, text);
      return 0;
    default: break;
  }
  unsigned n = mode == 7 ? 60 : 2;
  msgpack_pack_array(pk, n);
  for (unsigned i = 0; i < n; i++) {
    bool odd = mode == 3 && i == 1;
    msgpack_pack_map(pk, 4);
    pack_cstr(pk, "seq");
    if (odd) pack_cstr(pk, "seven");
    else msgpack_pack_int64(pk, (int64_t)i + 1);
    pack_cstr(pk, "at");
    if (odd) msgpack_pack_int64(pk, 5);
    else pack_cstr(pk, "2026-03-02T10:00:00Z");
    pack_cstr(pk, "change");
    if (mode == 0) pack_str(pk, (const char *)cur_data + cur_size - (cur_size < 40 ? cur_size : 40),
                            cur_size < 40 ? cur_size : 40); /* maybe not UTF-8 */
    else pack_cut(pk, text, tl < 30 ? tl : 30);
    pack_cstr(pk, "pattern");
    if (odd) {
      pack_cstr(pk, "not a map");
      continue;
    }
    msgpack_pack_map(pk, 10);
    pack_cstr(pk, "id");
    pack_str(pk, text, tl);
    pack_cstr(pk, "signal");
    pack_cstr(pk, i % 2 ? "<rising & \"new\">" : "rising");
    pack_cstr(pk, "theme");
    pack_cut(pk, text + tl / 2, tl - tl / 2);
    pack_cstr(pk, "theme2");
    if (mode == 1) msgpack_pack_nil(pk);
    else pack_cstr(pk, "food 'n' <water>");
    pack_cstr(pk, "from");
    pack_cstr(pk, "2026-W01");
    pack_cstr(pk, "to");
    pack_cstr(pk, "2026-W05");
    pack_cstr(pk, "n_places");
    msgpack_pack_int64(pk, mode == 1 ? INT64_MAX : 14);
    pack_cstr(pk, "strength");
    msgpack_pack_double(pk, mode == 1 ? 1e300 : 3.25);
    pack_cstr(pk, "places");
    unsigned places = mode == 1 ? 14 : mode == 7 ? 13 : 3; /* 13: ", ..." */
    msgpack_pack_array(pk, places);
    for (unsigned p = 0; p < places; p++) {
      /* Long ones (mode 1) overflow the title's place list. */
      char name[128];
      snprintf(name, sizeof name, "%.50s-%u-%.50s", mode == 1 ? text : "place", p, mode == 1 ? text : "&<>");
      hls_text_sanitize(name);
      pack_cstr(pk, name);
    }
    pack_cstr(pk, "x");
    msgpack_pack_true(pk);
  }
  return 0;
}

static void pack_deep(msgpack_packer *pk, int depth) {
  if (depth == 0) {
    msgpack_pack_nil(pk);
    return;
  }
  msgpack_pack_array(pk, 1);
  pack_deep(pk, depth - 1);
}

static int stub_dispatch(void *ctx, struct hls_control_call *call) {
  (void)ctx;
  const struct hls_ctl_request *req = call->req;
  const struct hls_method *m = hls_method_find(req->cmd, strlen(req->cmd));
  /* web.c serves only the table's methods, none local, streaming or for
   * tests, and says who calls. */
  FUZZ_CHECK(m != NULL);
  FUZZ_CHECK((m->flags & (HLS_MF_LOCAL | HLS_MF_STREAM | HLS_MF_TEST)) == 0);
  FUZZ_CHECK(call->user != NULL && strncmp(call->user, "web:", 4) == 0);
  if (call->role < m->role)
    return hls_why_set(&call->why, HLS_EACCESS, "%s needs the role %s", m->name, hls_user_role_name(m->role));
  int rc = hls_method_check_args(m, req->args, &call->why);
  if (rc != 0) return rc;
  if (m->id == HLS_M_COMMANDS) return hls_methods_pack(call->pk, false);
  unsigned last = cur_size > 0 ? cur_data[cur_size - 1] : 0;
  if (m->id == HLS_M_FEED_EVENTS) return pack_events(call, last % 8);
  unsigned mode = (last + 3) % 8; /* 0 (a plain echo) for a body ending in '}' */
  msgpack_packer *pk = call->pk;
  switch (mode) {
    case 2: {
      /* A reason quoting raw input bytes (web.c sanitizes messages). */
      size_t n = cur_size < 100 ? cur_size : 100;
      char raw[101];
      memcpy(raw, cur_data, n);
      raw[n] = '\0';
      return hls_why_set(&call->why, HLS_EINVAL, "the stub refuses %s: %s", m->name, raw);
    }
    case 3: {
      /* Any code, without a reason. */
      int span = HLS__ELAST - HLS__EFIRST - 1;
      return HLS__EFIRST + 1 + (int)((cur_size > 1 ? cur_data[cur_size - 2] : 0) % (unsigned)span);
    }
    case 4: call->deferred = true; return 0;
    case 5: {
      unsigned sub = cur_size > 1 ? cur_data[0] % 4 : 0;
      msgpack_pack_map(pk, 8);
      pack_cstr(pk, "bin");
      msgpack_pack_bin(pk, cur_size < 64 ? cur_size : 64);
      msgpack_pack_bin_body(pk, cur_data, cur_size < 64 ? cur_size : 64);
      pack_cstr(pk, "u64");
      msgpack_pack_uint64(pk, UINT64_MAX);
      pack_cstr(pk, "i64");
      msgpack_pack_int64(pk, INT64_MIN);
      pack_cstr(pk, "f");
      msgpack_pack_double(pk, sub == 0 ? NAN : sub == 1 ? INFINITY : -0.0);
      pack_cstr(pk, "f32");
      msgpack_pack_float(pk, 1.5f);
      pack_cstr(pk, "deep");
      pack_deep(pk, 60);
      pack_cstr(pk, "");
      msgpack_pack_nil(pk);
      pack_cstr(pk, "ext");
      msgpack_pack_ext(pk, 3, 1);
      msgpack_pack_ext_body(pk, "\x01\x02\x03", 3);
      return 0;
    }
    case 6: /* the input as a string: not UTF-8 at times */
      pack_str(pk, (const char *)cur_data, cur_size < 200 ? cur_size : 200);
      return 0;
    case 7:
      msgpack_pack_array(pk, 1000);
      for (int i = 0; i < 1000; i++) msgpack_pack_int(pk, i * 7919);
      return 0;
    default: {
      msgpack_pack_map(pk, 5);
      pack_cstr(pk, "method");
      pack_cstr(pk, m->name);
      pack_cstr(pk, "user");
      pack_cstr(pk, call->user);
      pack_cstr(pk, "role");
      pack_cstr(pk, hls_user_role_name(call->role));
      pack_cstr(pk, "args_count");
      msgpack_pack_uint32(pk, req->args ? req->args->len : 0);
      pack_cstr(pk, "args");
      if (req->args) return hls_mp_pack_value(pk, req->args) != 0 ? HLS_ENOMEM : 0;
      msgpack_pack_nil(pk);
      return 0;
    }
  }
}

/* --- one connection ------------------------------------------------------------ */

struct exchange {
  char *out;
  size_t len;
  bool eof, late;
};

/* Wait for fd (events) or the loop's descriptor, at most until deadline,
 * then run what the loop has ready. */
static void pump(int fd, short events, int64_t deadline) {
  struct pollfd pfd[2] = {{.fd = fd, .events = events}, {.fd = uv_backend_fd(&loop), .events = POLLIN}};
  int64_t left = deadline - mono_ms();
  int timeout = uv_backend_timeout(&loop);
  if (left < 0) left = 0;
  if (timeout < 0 || timeout > left) timeout = (int)left;
  (void)poll(pfd, 2, timeout);
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* Nothing for the loop to do now: no timer due (web.c arms one at 0 when
 * libmicrohttpd has work its descriptor will not signal) and nothing on
 * the loop's descriptor. */
static bool loop_idle(void) {
  if (uv_backend_timeout(&loop) == 0) return false;
  struct pollfd p = {.fd = uv_backend_fd(&loop), .events = POLLIN};
  return poll(&p, 1, 0) == 0;
}

/* Write data on a new connection and read what comes back until the
 * server closes it, or the deadline.
 *
 * The half-close is sent only once the server is idle (everything written,
 * the loop with nothing to do): libmicrohttpd watches its sockets
 * edge-triggered and takes a short read as "drained", so a FIN that
 * arrives together with the last request bytes is not seen until the
 * connection's 30 s timeout. Sent after the server went idle, the FIN is
 * an edge of its own: the server reads the end of the stream and closes,
 * and that close is the sign that it has answered everything. */
static void exchange(const uint8_t *data, size_t size, int64_t budget_ms, struct exchange *x) {
  memset(x, 0, sizeof *x);
  size_t cap = 0;
  int64_t deadline = mono_ms() + budget_ms;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  FUZZ_CHECK(rc == 0 || errno == EINPROGRESS);
  size_t sent = 0;
  bool writing = true, shut = false;
  for (;;) {
    while (writing && sent < size) {
      ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += (size_t)n;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN || errno == EINTR)) {
        break;
      } else {
        writing = false; /* the server closed: it stopped reading */
      }
    }
    if (sent == size) writing = false;
    for (;;) {
      char chunk[16384];
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        size_t keep = (size_t)n;
        if (x->len + keep > KEEP_REPLY) keep = KEEP_REPLY - x->len;
        if (x->len + keep + 1 > cap) {
          cap = (x->len + keep + 1) * 2;
          if (cap > KEEP_REPLY + 1) cap = KEEP_REPLY + 1;
          x->out = realloc(x->out, cap);
          FUZZ_CHECK(x->out != NULL);
        }
        memcpy(x->out + x->len, chunk, keep);
        x->len += keep;
        x->out[x->len] = '\0';
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) x->eof = true;
      break;
    }
    if (x->eof) break;
    if (mono_ms() >= deadline) {
      x->late = true;
      break;
    }
    if (!writing && !shut && loop_idle()) {
      (void)shutdown(fd, SHUT_WR);
      shut = true;
    }
    pump(fd, (short)(POLLIN | (writing ? POLLOUT : 0)), deadline);
  }
  /* Reset rather than close: no TIME_WAIT pile-up over millions of runs. */
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* --- reading the replies ------------------------------------------------------------ */

struct reply {
  int status;
  const char *head; /* the status line and headers, up to the blank line */
  size_t head_len;
  const char *body;
  size_t body_len;
};

/* The value of header name in r (NUL-terminated into out), or false. */
static bool reply_header(const struct reply *r, const char *name, char *out, size_t size) {
  size_t nl = strlen(name);
  const char *p = r->head, *end = r->head + r->head_len;
  while ((p = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL) {
    p += 2;
    if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      const char *e = memmem(v, (size_t)(end - v), "\r\n", 2);
      size_t n = (size_t)((e ? e : end) - v);
      if (n >= size) n = size - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return true;
    }
  }
  return false;
}

/* Cut the reply at *pos: 1 with r filled, 0 when it cannot be framed or
 * is incomplete. Starting "HTTP/1." is checked by the caller. */
static int next_reply(const char *buf, size_t len, size_t *pos, bool framed, struct reply *r) {
  const char *p = buf + *pos;
  size_t left = len - *pos;
  const char *blank = memmem(p, left, "\r\n\r\n", 4);
  if (left < 12 || blank == NULL) return 0;
  memset(r, 0, sizeof *r);
  r->head = p;
  r->head_len = (size_t)(blank - p) + 2; /* keep the last header's CRLF */
  if (p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9') return 0;
  r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  size_t at = (size_t)(blank - buf) + 4;
  if (r->status < 200) { /* 100 Continue: no body */
    *pos = at;
    return 1;
  }
  char v[64];
  if (!framed || reply_header(r, "Transfer-Encoding", v, sizeof v) || !reply_header(r, "Content-Length", v, sizeof v))
    return 0;
  char *end;
  unsigned long long cl = strtoull(v, &end, 10);
  if (*end != '\0' || cl > len - at) return 0;
  r->body = buf + at;
  r->body_len = (size_t)cl;
  *pos = at + (size_t)cl;
  return 1;
}

static void check_json_reply(const struct reply *r) {
  n_json++;
  char v[64];
  FUZZ_CHECK(reply_header(r, "Content-Security-Policy", v, sizeof v));
  json_error_t err;
  json_t *j = json_loadb(r->body, r->body_len, JSON_ALLOW_NUL, &err); /* "\u0000" is JSON */
  if (j == NULL) fprintf(stderr, "fuzz_web_http: reply %d is not JSON: %s\n%.*s\n", r->status, err.text,
                         (int)(r->body_len < 400 ? r->body_len : 400), r->body);
  FUZZ_CHECK(j != NULL && json_is_object(j));
  json_t *ok = json_object_get(j, "ok");
  FUZZ_CHECK(json_is_boolean(ok));
  FUZZ_CHECK(json_is_true(ok) == (r->status == 200));
  if (!json_is_true(ok)) {
    json_t *e = json_object_get(j, "error");
    FUZZ_CHECK(json_is_string(json_object_get(e, "code")) && json_is_string(json_object_get(e, "message")));
  } else {
    FUZZ_CHECK(json_object_get(j, "result") != NULL);
  }
  json_decref(j);
}

static void check_replies(const struct exchange *x, const uint8_t *sent, size_t sent_len) {
  if (x->len == 0) return;
  FUZZ_CHECK(x->len < 7 ? memcmp(x->out, "HTTP/1.", x->len) == 0 : memcmp(x->out, "HTTP/1.", 7) == 0);
  /* A reply to HEAD has a Content-Length and no body: no framing after
   * one (the method may be anywhere in a pipelined stream). */
  bool framed = memmem(sent, sent_len, "HEAD", 4) == NULL;
  size_t pos = 0;
  struct reply r;
  bool first = true;
  while (pos < x->len && (first || framed)) {
    if (x->len - pos >= 7) FUZZ_CHECK(memcmp(x->out + pos, "HTTP/1.", 7) == 0);
    if (next_reply(x->out, x->len, &pos, framed, &r) != 1) break;
    first = false;
    n_replies++;
    char v[256];
    if (reply_header(&r, "Set-Cookie", v, sizeof v)) FUZZ_CHECK(r.status == 200);
    if (r.body != NULL && reply_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0)
      check_json_reply(&r);
    /* Nothing may follow: libmicrohttpd's own error replies say so, and
     * 0.9.75 sends the head of one of them twice (a malformed
     * Content-Length: the head, then head and body), which cannot be
     * framed. */
    if (reply_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0) break;
  }
}

/* --- set-up --------------------------------------------------------------------------- */

static void cleanup(void) {
  if (getenv("HLS_FUZZ_WEB_STATS") != NULL || !ready)
    fprintf(stderr, "fuzz_web_http: %zu inputs (%zu over 64 KiB skipped), %zu past the deadline, %zu replies framed, "
                    "%zu JSON replies checked\n",
            n_inputs, n_skipped, n_late, n_replies, n_json);
  if (!ready) return;
  ready = false;
  hls_web_close(web);
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop);
  hls_store_free(store);
  static const char *const files[] = {"hlsd.db", "hlsd.db-wal", "hlsd.db-shm"};
  char path[320];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

static void setup_exec(const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(hls_store_db(store), sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "fuzz_web_http: %s: %s\n", sql, msg ? msg : "?");
    abort();
  }
}

#define SETUP_OK(expr)                                                                   \
  do {                                                                                   \
    if ((expr) != 0) {                                                                   \
      fprintf(stderr, "fuzz_web_http: %s failed: %s\n", #expr, why.text);                \
      abort();                                                                           \
    }                                                                                    \
  } while (0)

static void start_web(void);

static void setup(void) {
  struct hls_why why = {{0}};
  signal(SIGPIPE, SIG_IGN);
  FUZZ_CHECK(sodium_init() >= 0);
  if (getenv("HLS_FUZZ_WEB_LOG") == NULL) {
    FILE *null = fopen("/dev/null", "w");
    FUZZ_CHECK(null != NULL);
    hls_log_set_stream(null);
  }
  hls_log_set_level(HLS_LOG_DEBUG); /* every line formatted, nothing held back */
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/hls-fuzz-web-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  FUZZ_CHECK(mkdtemp(dir) != NULL);
  char path[320];
  snprintf(path, sizeof path, "%s/hlsd.db", dir);
  struct hls_store_options opt = {.synchronous_full = false};
  SETUP_OK(hls_store_open(&store, path, &opt, &why));
  sqlite3 *db = hls_store_db(store);
  char token[HLS_USER_TOKEN_TEXT];
  int64_t far = fake_now + 1000LL * 86400 * 365 * 1000; /* links made here never expire */
  SETUP_OK(hls_users_add(db, "fz_admin", HLS_USER_ADMIN, "fuzz", fake_now, far, token, &why));
  SETUP_OK(hls_users_add(db, "fz_lead", HLS_USER_LEAD, "fuzz", fake_now, far, token, &why));
  SETUP_OK(hls_users_set_password(db, "fz_lead", PASSWORD, strlen(PASSWORD), &why));
  SETUP_OK(hls_users_add(db, "fz_view", HLS_USER_VIEWER, "fuzz", fake_now, far, token, &why));
  setup_exec("INSERT INTO feeds(name, filter, cursor, created_ms) VALUES('fz', x'80', 0, 0)");
  SETUP_OK(hls_users_feed_token_set(db, "fz", feed_token, &why));

  hls_config_defaults(&cfg);
  SETUP_OK(hls_config_set(&cfg, "web.listen", "127.0.0.1:0", &why));
  /* The least allowed, so that bodies read in pieces can pass it. */
  SETUP_OK(hls_config_set(&cfg, "web.max_body", "4KiB", &why));
  SETUP_OK(hls_config_set(&cfg, "web.session_idle", "60s", &why));
  SETUP_OK(hls_config_set(&cfg, "web.url", "https://learning.example.org/", &why));
  SETUP_OK(hls_config_set(&cfg, "node.place", "Fuzz & <Place> \"q\"", &why));
  SETUP_OK(hls_config_set(&cfg, "node.region", "Region 'R'", &why));
  FUZZ_CHECK(uv_loop_init(&loop) == 0);
  start_web();
  ready = true;
  atexit(cleanup);
}

static void start_web(void) {
  struct hls_why why = {{0}};
  struct hls_web_env env = {.loop = &loop,
                            .dispatch = stub_dispatch,
                            .store = store,
                            .config = &cfg,
                            .node_id = "c2b4f4a0e1d64e3f9a7b5c8d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
                            .now_ms = clock_ms};
  SETUP_OK(hls_web_start(&web, &env, &why));
  FUZZ_CHECK(web != NULL);
  port = hls_web_port(web);
  FUZZ_CHECK(port > 0);
  snprintf(port_text, sizeof port_text, "%d", port);
  uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (!ready) setup();
  return 0;
}

#define COOKIE_MAX 128

/* Sign fz_admin in with a link of its own: its cookie (NAME=TOKEN), the
 * token alone, and the CSRF token. */
static void sign_in(char pair[COOKIE_MAX], char cookie[HLS_USER_TOKEN_TEXT], char csrf[HLS_USER_TOKEN_TEXT]) {
  struct hls_why why = {{0}};
  char link[HLS_USER_TOKEN_TEXT];
  SETUP_OK(hls_users_new_link(hls_store_db(store), "fz_admin", fake_now + 3600 * 1000, link, &why));
  char body[128], req[512];
  int bl = snprintf(body, sizeof body, "{\"token\":\"%s\"}", link);
  int rl = snprintf(req, sizeof req,
                    "POST /api/session/redeem HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                    port, bl, body);
  FUZZ_CHECK(rl > 0 && (size_t)rl < sizeof req);
  struct exchange x;
  exchange((const uint8_t *)req, (size_t)rl, SETUP_DEADLINE_MS, &x);
  size_t pos = 0;
  struct reply r;
  FUZZ_CHECK(!x.late && next_reply(x.out ? x.out : "", x.len, &pos, true, &r) == 1);
  if (r.status != 200) fprintf(stderr, "fuzz_web_http: sign-in by link: %.*s\n", (int)x.len, x.out ? x.out : "");
  FUZZ_CHECK(r.status == 200);
  char v[256];
  if (getenv("HLS_FUZZ_WEB_DUMP") != NULL)
    fprintf(stderr, "--- the harness's sign-in:\n%.*s\n---\n", (int)x.len, x.out ? x.out : "");
  FUZZ_CHECK(reply_header(&r, "Set-Cookie", v, sizeof v));
  /* NAME=TOKEN; attributes */
  size_t name_len = strcspn(v, "=;"), pair_len = strcspn(v, ";");
  FUZZ_CHECK(v[name_len] == '=' && pair_len == name_len + 1 + TOKEN_LEN && pair_len < COOKIE_MAX);
  FUZZ_CHECK(strncmp(v, "hls_session", 11) == 0);
  memcpy(pair, v, pair_len);
  pair[pair_len] = '\0';
  memcpy(cookie, v + name_len + 1, TOKEN_LEN);
  cookie[TOKEN_LEN] = '\0';
  json_error_t err;
  json_t *j = json_loadb(r.body, r.body_len, 0, &err);
  const char *c = json_string_value(json_object_get(json_object_get(j, "result"), "csrf"));
  FUZZ_CHECK(c != NULL && strlen(c) == TOKEN_LEN);
  memcpy(csrf, c, TOKEN_LEN + 1);
  json_decref(j);
  free(x.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready) setup();
  n_inputs++;
  if (size > WEB_MAX_INPUT) {
    n_skipped++;
    return 0;
  }
  fake_now += STEP_MS;
  if (fake_now >= CLOCK_END) {
    /* Every 2.6 million inputs: the clock cannot go back under a running
     * server (its sessions and sign-in limits would be in the future). */
    hls_web_close(web);
    uv_run(&loop, UV_RUN_DEFAULT);
    fake_now = CLOCK_START;
    start_web();
  }
  char pair[COOKIE_MAX] = "", cookie[HLS_USER_TOKEN_TEXT] = "", csrf[HLS_USER_TOKEN_TEXT] = "",
       link[HLS_USER_TOKEN_TEXT] = "", idle[COOKIE_MAX] = "";
  if (memmem(data, size, "@@O", 3) != NULL) {
    char unused[HLS_USER_TOKEN_TEXT], unused2[HLS_USER_TOKEN_TEXT];
    sign_in(idle, unused, unused2);
    fake_now += 2 * 60 * 1000;
  }
  if (memmem(data, size, "@@C", 3) != NULL || memmem(data, size, "@@S", 3) != NULL ||
      memmem(data, size, "@@X", 3) != NULL)
    sign_in(pair, cookie, csrf);
  if (memmem(data, size, "@@L", 3) != NULL) {
    struct hls_why why = {{0}};
    SETUP_OK(hls_users_new_link(hls_store_db(store), "fz_view", fake_now + 3600 * 1000, link, &why));
  }
  /* Expand: every placeholder is under COOKIE_MAX bytes for 3. */
  uint8_t *buf = malloc(size / 3 * COOKIE_MAX + 8);
  FUZZ_CHECK(buf != NULL);
  size_t n = 0;
  for (size_t i = 0; i < size;) {
    const char *with = NULL;
    if (i + 3 <= size && data[i] == '@' && data[i + 1] == '@') {
      switch (data[i + 2]) {
        case 'P': with = port_text; break;
        case 'C': with = pair; break;
        case 'O': with = idle; break;
        case 'S': with = cookie; break;
        case 'X': with = csrf; break;
        case 'L': with = link; break;
        case 'F': with = feed_token; break;
        default: break;
      }
    }
    if (with != NULL) {
      memcpy(buf + n, with, strlen(with));
      n += strlen(with);
      i += 3;
    } else {
      buf[n++] = data[i++];
    }
  }
  cur_data = buf;
  cur_size = n;
  struct exchange x;
  exchange(buf, n, DEADLINE_MS, &x);
  if (x.late) {
    n_late++;
    const char *keep = getenv("HLS_FUZZ_WEB_LATE_DIR");
    char path[512];
    FILE *f = keep ? (snprintf(path, sizeof path, "%s/late-%zu", keep, n_inputs), fopen(path, "wb")) : NULL;
    if (f != NULL) {
      fwrite(data, 1, size, f);
      fclose(f);
    }
  }
  if (getenv("HLS_FUZZ_WEB_DUMP") != NULL)
    fprintf(stderr, "--- sent %zu bytes, %s, got %zu bytes:\n%.*s\n---\n", n,
            x.late ? "past the deadline" : x.eof ? "closed by the server" : "?", x.len, (int)x.len, x.out ? x.out : "");
  check_replies(&x, buf, n);
  cur_data = (const uint8_t *)"";
  cur_size = 0;
  free(x.out);
  free(buf);
  return 0;
}
