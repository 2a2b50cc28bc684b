/* The peer port under abuse, against a real hlsd: a client that speaks the
 * Secret Handshake and box streams (protocol/shs.h, boxstream.h, wire.h)
 * and gets them wrong on purpose. test_peer_abuse.sh starts the nodes, runs
 * one scenario per call, and checks hlsd's log for the reason of every
 * refusal and close. This program checks what the client sees: that hlsd
 * ends each bad connection within a deadline, having sent nothing it should
 * not (no byte at all to an outsider, no accept to a refused peer, no answer
 * to a tampered message).
 *
 * Every connection is reported on stdout as "conn LABEL PORT": PORT is the
 * client's local port, which hlsd logs as address=127.0.0.1:PORT.
 *
 * Usage: peer_abuse id HOME
 *        peer_abuse SCENARIO HOST:PORT SERVER_ID HOME [ARG...]
 * HOME is a node directory (hls init) whose secret.key and network.key the
 * client uses as its own; that node need not be running. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "boxstream.h"
#include "envelope.h"
#include "abuse.h"
#include "home.h"
#include "nodeid.h"
#include "shs.h"
#include "wire.h"

#define CLOSE_DEADLINE_MS 5000 /* a bad connection must be ended by then */
#define REPLY_DEADLINE_MS 5000
#define FLOOD_DEADLINE_MS 20000
#define MAX_PLAIN (17u << 20) /* more than any max_frame hlsd allows */

/* The run's setup, from the command line. */
static struct sockaddr_in server_addr;
static uint8_t server_pk[32];
static struct hls_identity me;
static uint8_t netkey[32];
/* PEER_ABUSE_FROM=IP: connect from this local address (another loopback
 * address stands for another host). */
static struct sockaddr_in source_addr;
static bool have_source;
/* --- one connection ----------------------------------------------------------------- */

struct client {
  int fd;
  int port;
  const struct hls_identity *id; /* borrowed: whom the client claims to be */
  int64_t connected_ms;
  struct hls_shs shs;
  uint8_t hello[HLS_SHS_HELLO_BYTES];        /* message 1 as sent */
  uint8_t auth[HLS_SHS_AUTH_BYTES];          /* message 3 as sent */
  uint8_t server_hello[HLS_SHS_HELLO_BYTES]; /* message 2 as received */
  struct hls_box enc;
  struct hls_box_reader dec;
  bool goodbye;   /* hlsd's goodbye arrived */
  uint8_t *plain; /* owned: decrypted bytes not yet taken as frames */
  size_t plain_len, plain_cap;
};

static void client_free(struct client *c) {
  if (c == NULL) return;
  if (c->fd >= 0) close(c->fd);
  hls_shs_wipe(&c->shs);
  hls_box_wipe(&c->enc);
  hls_box_reader_wipe(&c->dec);
  free(c->plain);
  free(c);
}

static void report(const char *label, int port) {
  printf("conn %s %d\n", label, port);
  fflush(stdout);
}

static int local_port(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) return -1;
  return ntohs(sa.sin_port);
}

/* Connect (blocking, bounded by SO_SNDTIMEO) and report the connection. */
static struct client *client_open(const char *label) {
  struct client *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->id = &me;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {.tv_sec = 5};
  int one = 1;
  if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      (have_source && bind(c->fd, (const struct sockaddr *)&source_addr, sizeof source_addr) != 0) ||
      connect(c->fd, (const struct sockaddr *)&server_addr, sizeof server_addr) != 0) {
    fprintf(stderr, "%s: connect: %s\n", label, strerror(errno));
    client_free(c);
    return NULL;
  }
  c->connected_ms = now_ms();
  c->port = local_port(c->fd);
  report(label, c->port);
  return c;
}

static int send_all(int fd, const void *p, size_t len) {
  const uint8_t *b = p;
  while (len > 0) {
    ssize_t w = send(fd, b, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Bytes from fd before deadline: > 0 read, 0 the connection ended (EOF or
 * reset), -1 deadline passed or another error. */
static ssize_t recv_until(int fd, uint8_t *buf, size_t cap, int64_t deadline) {
  for (;;) {
    int left = (int)(deadline - now_ms());
    if (left <= 0) return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, left);
    if (n < 0 && errno != EINTR) return -1;
    if (n <= 0) continue;
    ssize_t r = recv(fd, buf, cap, 0);
    if (r > 0) return r;
    if (r == 0 || errno == ECONNRESET) return 0;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

/* Exactly len bytes: 0, or 1 if the connection ended first, -1 on timeout. */
static int recv_exact(struct client *c, uint8_t *buf, size_t len, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (len > 0) {
    ssize_t r = recv_until(c->fd, buf, len, deadline);
    if (r <= 0) return r == 0 ? 1 : -1;
    buf += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Wait for hlsd to end the connection, counting (and dropping) what it
 * sends meanwhile. True if it ended before the deadline. */
static bool wait_closed(struct client *c, int timeout_ms, size_t *bytes) {
  uint8_t buf[65536];
  int64_t deadline = now_ms() + timeout_ms;
  *bytes = 0;
  for (;;) {
    ssize_t r = recv_until(c->fd, buf, sizeof buf, deadline);
    if (r == 0) return true;
    if (r < 0) return false;
    *bytes += (size_t)r;
  }
}

/* --- the handshake, as a client ------------------------------------------------------- */

/* Fresh ephemeral keys for a handshake with server (the key the client
 * believes it dials); message 1 into c->hello (not sent). */
static int shs_start_with(struct client *c, const uint8_t server[32]) {
  uint8_t random[32];
  randombytes_buf(random, sizeof random);
  int rc = hls_shs_init(&c->shs, HLS_SHS_CLIENT, netkey, c->id->public_key, c->id->secret_key, server, random);
  sodium_memzero(random, sizeof random);
  if (rc != 0) return rc;
  hls_shs_client_hello(&c->shs, c->hello);
  return 0;
}

static int shs_start(struct client *c) { return shs_start_with(c, server_pk); }

/* Receive message 2 and compute message 3 into c->auth (not sent). */
static int shs_server_hello(struct client *c) {
  size_t out_len = 0;
  struct hls_why why = {{0}};
  if (recv_exact(c, c->server_hello, sizeof c->server_hello, REPLY_DEADLINE_MS) != 0) return -1;
  if (hls_shs_read(&c->shs, c->server_hello, sizeof c->server_hello, c->auth, &out_len, &why) != 0 ||
      out_len != sizeof c->auth) {
    fprintf(stderr, "server hello: %s\n", why.text);
    return -1;
  }
  return 0;
}

/* Receive message 4 and set up the box streams. */
static int shs_accept(struct client *c) {
  uint8_t accept[HLS_SHS_ACCEPT_BYTES], none[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 0;
  struct hls_why why = {{0}};
  struct hls_shs_result res;
  if (recv_exact(c, accept, sizeof accept, REPLY_DEADLINE_MS) != 0) return -1;
  if (hls_shs_read(&c->shs, accept, sizeof accept, none, &out_len, &why) != 0 || out_len != 0 ||
      !hls_shs_done(&c->shs) || hls_shs_result(&c->shs, &res) != 0) {
    fprintf(stderr, "server accept: %s\n", why.text);
    return -1;
  }
  hls_box_init(&c->enc, res.enc_key, res.enc_nonce);
  hls_box_reader_init(&c->dec, res.dec_key, res.dec_nonce);
  sodium_memzero(&res, sizeof res);
  return 0;
}

static int handshake(struct client *c) {
  if (shs_start(c) != 0 || send_all(c->fd, c->hello, sizeof c->hello) != 0 || shs_server_hello(c) != 0 ||
      send_all(c->fd, c->auth, sizeof c->auth) != 0 || shs_accept(c) != 0)
    return -1;
  return 0;
}

/* --- box streams and frames ------------------------------------------------------------- */

/* Seal plain as box-stream messages of at most 4096 bytes into a new
 * buffer (caller frees) of *sealed_len bytes. */
static uint8_t *seal(struct client *c, const uint8_t *plain, size_t len, size_t *sealed_len) {
  *sealed_len = hls_box_sealed_size(len);
  uint8_t *out = malloc(*sealed_len);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (size_t off = 0; off < len; off += HLS_BOX_MAX_BODY) {
    size_t chunk = len - off < HLS_BOX_MAX_BODY ? len - off : HLS_BOX_MAX_BODY;
    if (hls_box_seal(&c->enc, plain + off, chunk, out + o) != 0) {
      free(out);
      return NULL;
    }
    o += HLS_BOX_HEADER + chunk;
  }
  return out;
}

static int send_sealed(struct client *c, const uint8_t *plain, size_t len) {
  size_t sealed_len;
  uint8_t *sealed = seal(c, plain, len, &sealed_len);
  int rc = sealed != NULL ? send_all(c->fd, sealed, sealed_len) : -1;
  free(sealed);
  return rc;
}

/* A frame: its 4-byte length, then payload. */
static int send_frame(struct client *c, const uint8_t *payload, size_t len) {
  uint8_t *frame = malloc(HLS_WIRE_HEADER + len);
  if (frame == NULL) return -1;
  frame[0] = (uint8_t)(len >> 24);
  frame[1] = (uint8_t)(len >> 16);
  frame[2] = (uint8_t)(len >> 8);
  frame[3] = (uint8_t)len;
  memcpy(frame + HLS_WIRE_HEADER, payload, len);
  int rc = send_sealed(c, frame, HLS_WIRE_HEADER + len);
  free(frame);
  return rc;
}

static int send_hello_frame(struct client *c) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  int rc = hls_frame_hello(&sb);
  if (rc == 0) rc = send_sealed(c, (const uint8_t *)sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* A ping frame for data, whole (length header included), into sb. */
static int ping_frame(msgpack_sbuffer *sb, const uint8_t *data, size_t len) {
  msgpack_sbuffer_init(sb);
  return hls_frame_ping(sb, HLS_FRAME_PING, data, len);
}

static int send_ping(struct client *c, const uint8_t *data, size_t len) {
  msgpack_sbuffer sb;
  int rc = ping_frame(&sb, data, len);
  if (rc == 0) rc = send_sealed(c, (const uint8_t *)sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int send_goodbye(struct client *c) {
  uint8_t bye[HLS_BOX_HEADER];
  hls_box_goodbye(&c->enc, bye);
  return send_all(c->fd, bye, sizeof bye);
}

static int on_plain(void *ctx, const uint8_t *plain, size_t len) {
  struct client *c = ctx;
  if (c->plain_len + len > MAX_PLAIN) return HLS_ETOOBIG;
  if (c->plain_len + len > c->plain_cap) {
    size_t cap = c->plain_cap ? c->plain_cap : 8192;
    while (cap < c->plain_len + len) cap *= 2;
    uint8_t *p = realloc(c->plain, cap);
    if (p == NULL) return HLS_ENOMEM;
    c->plain = p;
    c->plain_cap = cap;
  }
  memcpy(c->plain + c->plain_len, plain, len);
  c->plain_len += len;
  return 0;
}

/* The next frame from hlsd: 0 with a copy of its payload (caller frees), 1
 * if the session ended first (goodbye or close), -1 on timeout or on a
 * stream hlsd should never send. */
static int next_frame(struct client *c, uint8_t **payload, size_t *len, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  uint8_t buf[65536];
  for (;;) {
    if (c->plain_len >= HLS_WIRE_HEADER) {
      size_t n = ((size_t)c->plain[0] << 24) | ((size_t)c->plain[1] << 16) | ((size_t)c->plain[2] << 8) | c->plain[3];
      if (n == 0) return -1;
      if (c->plain_len >= HLS_WIRE_HEADER + n) {
        *payload = malloc(n);
        if (*payload == NULL) return -1;
        memcpy(*payload, c->plain + HLS_WIRE_HEADER, n);
        c->plain_len -= HLS_WIRE_HEADER + n;
        memmove(c->plain, c->plain + HLS_WIRE_HEADER + n, c->plain_len);
        *len = n;
        return 0;
      }
    }
    if (c->goodbye) return 1;
    ssize_t r = recv_until(c->fd, buf, sizeof buf, deadline);
    if (r == 0) return 1;
    if (r < 0) return -1;
    size_t used = 0;
    if (hls_box_reader_feed(&c->dec, buf, (size_t)r, &used, on_plain, c) != 0) {
      fprintf(stderr, "hlsd sent a box stream that does not open\n");
      return -1;
    }
    if (c->dec.ended) c->goodbye = true;
  }
}

/* hlsd's first frame is its hello, [0, 1]. */
static int expect_hello_frame(struct client *c) {
  uint8_t *payload = NULL;
  size_t len = 0;
  uint32_t version = 0;
  int type = -1;
  if (next_frame(c, &payload, &len, REPLY_DEADLINE_MS) != 0) return -1;
  int ok = hls_frame_type(payload, len, &type) == 0 && type == HLS_FRAME_HELLO &&
           hls_frame_hello_decode(payload, len, &version, NULL) == 0 && version == HLS_WIRE_VERSION;
  free(payload);
  return ok ? 0 : -1;
}

/* Read frames until a pong; it must carry data. hlsd's pings and gossip
 * frames are let be. */
static int expect_pong(struct client *c, const uint8_t *data, size_t data_len) {
  for (;;) {
    uint8_t *payload = NULL;
    size_t len = 0;
    int type = -1;
    if (next_frame(c, &payload, &len, REPLY_DEADLINE_MS) != 0) return -1;
    if (hls_frame_type(payload, len, &type) == 0 && type >= HLS_FRAME_GOSSIP_FIRST) { /* hlsd's gossip: let be */
      free(payload);
      continue;
    }
    if (hls_frame_type(payload, len, &type) != 0 || (type != HLS_FRAME_PING && type != HLS_FRAME_PONG)) {
      free(payload);
      return -1;
    }
    const uint8_t *got;
    size_t got_len;
    int rc = hls_frame_ping_decode(payload, len, &got, &got_len, NULL);
    bool match = rc == 0 && type == HLS_FRAME_PONG && got_len == data_len &&
                 (data_len == 0 || memcmp(got, data, data_len) == 0);
    free(payload);
    if (rc != 0) return -1;
    if (type == HLS_FRAME_PONG) return match ? 0 : -1;
  }
}

/* After something hlsd must reject: no frame answers it (a keepalive ping
 * of hlsd's own is no answer), the connection ends. */
static int expect_no_answer(struct client *c) {
  for (;;) {
    uint8_t *payload = NULL;
    size_t len = 0;
    int type = -1;
    int rc = next_frame(c, &payload, &len, CLOSE_DEADLINE_MS);
    /* hlsd's keepalive pings and gossip (its vector, sent at session
     * start) answer nothing the client sent. */
    bool keepalive = rc == 0 && hls_frame_type(payload, len, &type) == 0 &&
                     (type == HLS_FRAME_PING || type >= HLS_FRAME_GOSSIP_FIRST);
    free(payload);
    if (!keepalive) return rc == 1 ? 0 : -1;
  }
}

/* Both goodbyes, then hlsd closes. */
static int end_session(struct client *c) {
  uint8_t *payload = NULL;
  size_t len = 0, bytes = 0;
  if (send_goodbye(c) != 0) return -1;
  for (;;) { /* frames already on their way may come before hlsd's goodbye */
    int rc = next_frame(c, &payload, &len, REPLY_DEADLINE_MS);
    free(payload);
    payload = NULL;
    if (rc < 0) return -1;
    if (rc == 1) break;
  }
  if (!c->goodbye) return -1;
  return wait_closed(c, CLOSE_DEADLINE_MS, &bytes) && bytes == 0 ? 0 : -1;
}

/* A session with the handshake done and both hellos exchanged, as id
 * (borrowed; NULL: the identity from HOME). */
static struct client *open_session_as(const char *label, const struct hls_identity *id) {
  struct client *c = client_open(label);
  if (c == NULL) return NULL;
  if (id != NULL) c->id = id;
  if (handshake(c) != 0 || expect_hello_frame(c) != 0 || send_hello_frame(c) != 0) {
    fprintf(stderr, "%s: no session\n", label);
    client_free(c);
    return NULL;
  }
  return c;
}

static struct client *open_session(const char *label) { return open_session_as(label, NULL); }

static int ping_pong(struct client *c, size_t len) {
  uint8_t data[64];
  randombytes_buf(data, sizeof data);
  if (len > sizeof data) len = sizeof data;
  return send_ping(c, data, len) == 0 && expect_pong(c, data, len) == 0 ? 0 : -1;
}

/* --- scenarios ------------------------------------------------------------------------ */

/* The good client: handshake, hellos, a ping answered, goodbyes. */
static void s_good(int argc, char **argv) {
  (void)argc, (void)argv;
  struct client *c = open_session("good");
  CHECK(c != NULL, "a good client gets no session");
  CHECK(ping_pong(c, 32) == 0, "no pong to a ping");
  CHECK(end_session(c) == 0, "goodbye not answered by a goodbye and a close");
  client_free(c);
  fprintf(stderr, "ok - good client: handshake, hello, ping answered, goodbye\n");
}

/* An outsider (another network key): hlsd must not send a single byte. */
static void s_outsider(int argc, char **argv) {
  (void)argc, (void)argv;
  size_t bytes = 0;
  struct client *c = client_open("outsider");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "send hello");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "an outsider's connection was not closed");
  CHECK(bytes == 0, "hlsd sent %zu bytes to an outsider", bytes);
  client_free(c);
  fprintf(stderr, "ok - outsider: closed, not one byte sent back\n");
}

/* A member hlsd will not talk to (not listed, blocked, itself): it gets the
 * server hello (it knows the network key) and then no accept. */
static void s_refused(int argc, char **argv) {
  (void)argc, (void)argv;
  size_t bytes = 0;
  struct client *c = client_open("refused");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "send hello");
  CHECK(shs_server_hello(c) == 0, "no valid server hello for a member");
  CHECK(send_all(c->fd, c->auth, sizeof c->auth) == 0, "send auth");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "a refused peer was not closed");
  CHECK(bytes == 0, "hlsd sent %zu bytes after refusing the client's identity", bytes);
  client_free(c);
  fprintf(stderr, "ok - refused identity: no accept, closed\n");
}

/* Clients that hang up mid-handshake. */
static void s_truncated(int argc, char **argv) {
  (void)argc, (void)argv;
  struct client *c = client_open("half-hello");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello / 2) == 0, "half hello");
  client_free(c);
  c = client_open("hello-only");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "hello");
  CHECK(shs_server_hello(c) == 0, "no server hello");
  client_free(c);
  c = client_open("half-auth");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "hello");
  CHECK(shs_server_hello(c) == 0 && send_all(c->fd, c->auth, sizeof c->auth / 2) == 0, "half auth");
  client_free(c);
  /* Aborted (TCP reset) rather than closed: mid-handshake, and in a session. */
  struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
  c = client_open("reset-handshake");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "hello");
  CHECK(shs_server_hello(c) == 0, "no server hello");
  CHECK(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0, "SO_LINGER");
  client_free(c);
  c = open_session("reset-session");
  CHECK(c != NULL, "no session");
  CHECK(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0, "SO_LINGER");
  client_free(c);
  fprintf(stderr, "ok - hung up after half a hello, the hello, half the auth; reset mid-handshake and in a session\n");
}

/* Messages 1 and 3 of a good session, replayed on new connections: hlsd's
 * fresh ephemeral key makes message 3 fail, so no accept. */
static void s_replay(int argc, char **argv) {
  (void)argc, (void)argv;
  size_t bytes = 0;
  struct client *orig = open_session("original");
  CHECK(orig != NULL, "the original session failed");
  CHECK(ping_pong(orig, 8) == 0 && end_session(orig) == 0, "the original session did not end well");
  struct client *c = client_open("replay");
  CHECK(c != NULL && send_all(c->fd, orig->hello, sizeof orig->hello) == 0, "replay hello");
  CHECK(recv_exact(c, c->server_hello, sizeof c->server_hello, REPLY_DEADLINE_MS) == 0, "no server hello");
  CHECK(memcmp(c->server_hello, orig->server_hello, sizeof c->server_hello) != 0,
        "hlsd reused its ephemeral key");
  CHECK(send_all(c->fd, orig->auth, sizeof orig->auth) == 0, "replay auth");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "a replayed handshake was not closed");
  CHECK(bytes == 0, "hlsd answered a replayed auth with %zu bytes", bytes);
  client_free(c);
  /* Both messages at once, before any answer. */
  c = client_open("replay-pipelined");
  uint8_t both[HLS_SHS_HELLO_BYTES + HLS_SHS_AUTH_BYTES];
  memcpy(both, orig->hello, HLS_SHS_HELLO_BYTES);
  memcpy(both + HLS_SHS_HELLO_BYTES, orig->auth, HLS_SHS_AUTH_BYTES);
  CHECK(c != NULL && send_all(c->fd, both, sizeof both) == 0, "replay both");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "a replayed handshake was not closed");
  CHECK(bytes == HLS_SHS_HELLO_BYTES, "want only the server hello (64 bytes), got %zu", bytes);
  client_free(c);
  client_free(orig);
  fprintf(stderr, "ok - replayed handshake messages: no accept, closed\n");
}

/* A sealed ping with one bit flipped at byte pos: hlsd must close without
 * answering. good_before: pings answered first. */
static bool flipped_ping_closes(const char *label, size_t pos, int good_before) {
  struct client *c = open_session(label);
  if (c == NULL) return false;
  bool ok = true;
  for (int i = 0; i < good_before && ok; i++) ok = ping_pong(c, 16) == 0;
  if (!ok) fprintf(stderr, "%s: good ping not answered\n", label);
  msgpack_sbuffer sb;
  uint8_t data[4] = {1, 2, 3, 4};
  size_t sealed_len = 0;
  uint8_t *sealed = NULL;
  if (ping_frame(&sb, data, sizeof data) == 0 && ok) sealed = seal(c, (const uint8_t *)sb.data, sb.size, &sealed_len);
  msgpack_sbuffer_destroy(&sb);
  if (ok && (sealed == NULL || pos >= sealed_len)) ok = false;
  if (ok) {
    sealed[pos] ^= (uint8_t)(1u << (pos % 8));
    ok = send_all(c->fd, sealed, sealed_len) == 0 && expect_no_answer(c) == 0;
    if (!ok) fprintf(stderr, "%s: a ping with a flipped bit at byte %zu was not refused\n", label, pos);
  }
  free(sealed);
  client_free(c);
  return ok;
}

/* Size of a sealed 4-byte ping: the positions "flip all" walks. */
static size_t sealed_ping_size(void) {
  msgpack_sbuffer sb;
  uint8_t data[4] = {0};
  size_t n = ping_frame(&sb, data, sizeof data) == 0 ? hls_box_sealed_size(sb.size) : 0;
  msgpack_sbuffer_destroy(&sb);
  return n;
}

static void s_flip(int argc, char **argv) {
  (void)argc, (void)argv;
  CHECK(flipped_ping_closes("flip-header", 5, 0), "flipped header");
  CHECK(flipped_ping_closes("flip-body", HLS_BOX_HEADER + 2, 0), "flipped body");
  CHECK(flipped_ping_closes("flip-later", HLS_BOX_HEADER + 1, 2), "flipped bit after good messages");
  size_t n = sealed_ping_size();
  CHECK(n > HLS_BOX_HEADER, "sealed ping size");
  for (size_t pos = 0; pos < n; pos++) {
    char label[32];
    snprintf(label, sizeof label, "flip-byte-%zu", pos);
    CHECK(flipped_ping_closes(label, pos, 0), "flipped byte %zu", pos);
  }
  fprintf(stderr, "ok - a flipped bit in the header, the body, a later message, and each of %zu bytes: closed\n", n);
}

/* A box-stream header that opens (the client has the keys) but claims a
 * body length of 0 (not the goodbye) or more than 4096. */
static void s_box(int argc, char **argv) {
  (void)argc, (void)argv;
  static const struct {
    const char *label;
    unsigned len;
  } cases[] = {{"box-len-0", 0}, {"box-len-4097", HLS_BOX_MAX_BODY + 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct client *c = open_session(cases[i].label);
    CHECK(c != NULL, "%s: no session", cases[i].label);
    uint8_t header[2 + HLS_BOX_MAC], boxed[HLS_BOX_HEADER];
    randombytes_buf(header, sizeof header); /* a MAC that is not all zero */
    header[0] = (uint8_t)(cases[i].len >> 8);
    header[1] = (uint8_t)cases[i].len;
    crypto_secretbox_easy(boxed, header, sizeof header, c->enc.nonce, c->enc.key);
    CHECK(send_all(c->fd, boxed, sizeof boxed) == 0 && expect_no_answer(c) == 0, "%s: not closed", cases[i].label);
    client_free(c);
  }
  fprintf(stderr, "ok - box-stream headers claiming 0 or 4097 bytes: closed\n");
}

/* ARG: network.max_frame in bytes. A frame of exactly that is served; one
 * byte more, a huge length, and an empty frame close the session. */
static void s_frame_size(int argc, char **argv) {
  CHECK(argc >= 1, "usage: frame-size MAX_FRAME");
  size_t max = strtoul(argv[0], NULL, 10);
  /* [1, bin16]: fixarray, fixint, 0xc5 + 2 length bytes, then the data. */
  CHECK(max > 5 && max - 5 <= 65535 && max - 5 <= HLS_WIRE_MAX_PING, "max_frame %zu not testable here", max);
  size_t data_len = max - 5;
  uint8_t *data = malloc(data_len);
  CHECK(data != NULL, "malloc");
  randombytes_buf(data, data_len);
  struct client *c = open_session("max-frame");
  msgpack_sbuffer sb;
  int rc = c != NULL ? ping_frame(&sb, data, data_len) : -1;
  bool sized = rc == 0 && sb.size == HLS_WIRE_HEADER + max;
  if (rc == 0) rc = send_sealed(c, (const uint8_t *)sb.data, sb.size);
  if (c != NULL) msgpack_sbuffer_destroy(&sb);
  bool ok = rc == 0 && sized && expect_pong(c, data, data_len) == 0 && end_session(c) == 0;
  free(data);
  client_free(c);
  CHECK(ok, "a frame of exactly max_frame (%zu bytes) was not answered", max);

  const struct {
    const char *label;
    uint32_t len; /* claimed by the frame header, sent alone */
  } cases[] = {{"over-max-frame", (uint32_t)max + 1}, {"huge-frame", UINT32_MAX}, {"empty-frame", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    c = open_session(cases[i].label);
    CHECK(c != NULL, "%s: no session", cases[i].label);
    uint32_t n = cases[i].len;
    uint8_t header[HLS_WIRE_HEADER] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    CHECK(send_sealed(c, header, sizeof header) == 0 && expect_no_answer(c) == 0, "%s: not closed",
          cases[i].label);
    client_free(c);
  }
  fprintf(stderr, "ok - a frame of max_frame answered; max_frame + 1, 4 GiB and empty frames closed\n");
}

/* Frame payloads that are not what a session frame must be. */
static void s_payload(int argc, char **argv) {
  (void)argc, (void)argv;
  static const struct {
    const char *label;
    uint8_t bytes[8];
    size_t len;
  } cases[] = {
      {"not-msgpack", {0xc1}, 1},                                 /* a byte msgpack never uses */
      {"not-array", {0x01}, 1},                                   /* 1 */
      {"empty-array", {0x90}, 1},                                 /* [] */
      {"type-not-uint", {0x91, 0xa1, 'x'}, 3},                    /* ["x"] */
      {"type-too-big", {0x91, 0xcd, 0x01, 0x00}, 4},              /* [256] */
      {"non-canonical", {0xdc, 0x00, 0x02, 0x01, 0xc4, 0x00}, 6}, /* [1, bin] as array16 */
      {"bad-hello", {0x92, 0x00, 0xa1, 'x'}, 4},                  /* [0, "x"] */
      {"short-hello", {0x91, 0x00}, 2},                           /* [0] */
      {"hello-v0", {0x92, 0x00, 0x00}, 3},                        /* [0, 0]: no version 0 */
      {"second-hello", {0x92, 0x00, 0x01}, 3},                    /* [0, 1] again */
      {"bad-ping", {0x92, 0x01, 0x05}, 3},                        /* [1, 5] */
      {"ping-trailing", {0x92, 0x01, 0xc4, 0x01, 0xaa, 0x00}, 6}, /* [1, bin 1] + a byte */
      {"truncated-ping", {0x92, 0x01, 0xc4, 0x05, 0xaa}, 5},      /* bin claims 5 bytes, has 1 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct client *c = open_session(cases[i].label);
    CHECK(c != NULL, "%s: no session", cases[i].label);
    CHECK(send_frame(c, cases[i].bytes, cases[i].len) == 0 && expect_no_answer(c) == 0, "%s: not closed",
          cases[i].label);
    client_free(c);
  }
  /* A ping before our hello: the hello comes first. */
  struct client *c = client_open("ping-before-hello");
  CHECK(c != NULL && handshake(c) == 0 && expect_hello_frame(c) == 0, "ping-before-hello: no session");
  uint8_t data[4] = {1, 2, 3, 4};
  CHECK(send_ping(c, data, sizeof data) == 0 && expect_no_answer(c) == 0, "ping-before-hello: not closed");
  client_free(c);
  fprintf(stderr, "ok - %zu malformed frame payloads and a ping before the hello: each closed\n",
          sizeof cases / sizeof cases[0]);
}

/* A protocol violation (an unknown frame type, [99]): the session is
 * closed, and the peer is backed off (scenario "refused" next shows it). */
static void s_violation(int argc, char **argv) {
  (void)argc, (void)argv;
  static const uint8_t unknown[] = {0x91, 0x63};
  struct client *c = open_session("unknown-type");
  CHECK(c != NULL, "unknown-type: no session");
  CHECK(send_frame(c, unknown, sizeof unknown) == 0 && expect_no_answer(c) == 0, "unknown-type: not closed");
  client_free(c);
  fprintf(stderr, "ok - an unknown frame type closed the session\n");
}

/* Wait until hlsd ends every connection in cs; closed_ms[i] gets how long
 * after its connect connection i ended. True if all ended by the deadline. */
static bool wait_all_closed(struct client **cs, size_t n, int timeout_ms, int64_t *closed_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  size_t open = n;
  for (size_t i = 0; i < n; i++) closed_ms[i] = -1;
  while (open > 0 && now_ms() < deadline) {
    struct pollfd pfd[16];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 16; i++)
      if (closed_ms[i] < 0) pfd[k++] = (struct pollfd){.fd = cs[i]->fd, .events = POLLIN};
    if (poll(pfd, k, (int)(deadline - now_ms())) <= 0) continue;
    for (size_t i = 0; i < n; i++) {
      if (closed_ms[i] >= 0) continue;
      uint8_t buf[4096];
      ssize_t r = recv(cs[i]->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno == ECONNRESET)) {
        closed_ms[i] = now_ms() - cs[i]->connected_ms;
        open--;
      }
    }
  }
  return open == 0;
}

/* ARGS: network.handshake_timeout and network.keepalive in ms. Peers that
 * stall: silent after connecting, after the hello, after half the auth
 * (closed by the handshake timeout), and after the handshake (pinged, then
 * closed after three keepalives of silence). All at once. */
static void s_stall(int argc, char **argv) {
  CHECK(argc >= 2, "usage: stall HANDSHAKE_TIMEOUT_MS KEEPALIVE_MS");
  int64_t timeout = strtol(argv[0], NULL, 10), keepalive = strtol(argv[1], NULL, 10);
  struct client *cs[4] = {0};
  cs[0] = client_open("stall-silent");
  cs[1] = client_open("stall-after-hello");
  cs[2] = client_open("stall-half-auth");
  cs[3] = client_open("stall-session");
  for (int i = 0; i < 4; i++) CHECK(cs[i] != NULL, "connect");
  CHECK(shs_start(cs[1]) == 0 && send_all(cs[1]->fd, cs[1]->hello, sizeof cs[1]->hello) == 0 &&
            shs_server_hello(cs[1]) == 0,
        "hello");
  CHECK(shs_start(cs[2]) == 0 && send_all(cs[2]->fd, cs[2]->hello, sizeof cs[2]->hello) == 0 &&
            shs_server_hello(cs[2]) == 0 && send_all(cs[2]->fd, cs[2]->auth, sizeof cs[2]->auth / 2) == 0,
        "half auth");
  CHECK(handshake(cs[3]) == 0, "handshake");
  cs[3]->connected_ms = now_ms(); /* idle from here */
  int64_t closed[4];
  CHECK(wait_all_closed(cs, 4, (int)(3 * keepalive + CLOSE_DEADLINE_MS), closed),
        "stalled connections not closed: %lld %lld %lld %lld ms", (long long)closed[0], (long long)closed[1],
        (long long)closed[2], (long long)closed[3]);
  /* hlsd starts the clock when it accepts, after our connect returned, but
   * its loop time may lag a little: 100 ms of slack below. */
  for (int i = 0; i < 3; i++)
    CHECK(closed[i] >= timeout - 100 && closed[i] <= timeout + CLOSE_DEADLINE_MS,
          "stalled handshake %d closed after %lld ms, handshake timeout %lld ms", i, (long long)closed[i],
          (long long)timeout);
  CHECK(closed[3] >= 3 * keepalive - 100, "idle session closed after %lld ms, keepalive %lld ms",
        (long long)closed[3], (long long)keepalive);
  for (int i = 0; i < 4; i++) client_free(cs[i]);
  fprintf(stderr, "ok - stalled handshakes closed after %lld, %lld, %lld ms; idle session after %lld ms\n",
          (long long)closed[0], (long long)closed[1], (long long)closed[2], (long long)closed[3]);
}

/* ARGS: network.max_handshakes and network.max_connections. One over the
 * handshakes is closed at once without a byte; one session over the
 * connections gets no accept; the rest are served. */
static void s_limits(int argc, char **argv) {
  CHECK(argc >= 2, "usage: limits MAX_HANDSHAKES MAX_CONNECTIONS");
  int max_hs = atoi(argv[0]), max_conn = atoi(argv[1]);
  CHECK(max_hs >= 1 && max_hs <= 16 && max_conn >= 1 && max_conn <= 16, "limits too large for this test");
  struct client *held[16] = {0};
  char label[32];
  size_t bytes = 0;
  /* Handshakes in progress: max_hs silent ones hold every slot. */
  for (int i = 0; i < max_hs; i++) {
    snprintf(label, sizeof label, "hs-held-%d", i);
    CHECK((held[i] = client_open(label)) != NULL, "connect");
  }
  struct client *over = client_open("over-handshakes");
  CHECK(over != NULL, "connect");
  CHECK(wait_closed(over, CLOSE_DEADLINE_MS, &bytes) && bytes == 0, "over max_handshakes: not closed at once");
  int64_t over_ms = now_ms() - over->connected_ms;
  client_free(over);
  int64_t closed[16];
  CHECK(wait_all_closed(held, (size_t)max_hs, 3 * CLOSE_DEADLINE_MS, closed), "held handshakes not timed out");
  for (int i = 0; i < max_hs; i++) {
    CHECK(closed[i] > over_ms, "a held handshake (%lld ms) closed before the one over the limit (%lld ms)",
          (long long)closed[i], (long long)over_ms);
    client_free(held[i]);
    held[i] = NULL;
  }
  /* Connections: max_conn open sessions fill the table. hlsd keeps one
   * session per peer, so each is another member (fresh identities). */
  struct hls_identity ids[16];
  for (int i = 0; i < max_conn; i++) {
    crypto_sign_keypair(ids[i].public_key, ids[i].secret_key);
    snprintf(label, sizeof label, "held-%d", i);
    CHECK((held[i] = open_session_as(label, &ids[i])) != NULL, "session %d of %d refused", i + 1, max_conn);
  }
  /* One more member: its handshake gets as far as the identity, and then
   * no accept (sessions are counted once the identity is known, so that a
   * listed peer is told apart from others). */
  struct hls_identity extra;
  crypto_sign_keypair(extra.public_key, extra.secret_key);
  over = client_open("over-connections");
  CHECK(over != NULL, "connect");
  over->id = &extra;
  CHECK(shs_start(over) == 0 && send_all(over->fd, over->hello, sizeof over->hello) == 0 &&
            shs_server_hello(over) == 0 && send_all(over->fd, over->auth, sizeof over->auth) == 0,
        "over max_connections: handshake");
  CHECK(wait_closed(over, CLOSE_DEADLINE_MS, &bytes) && bytes == 0, "over max_connections: accepted, or not closed");
  client_free(over);
  sodium_memzero(&extra, sizeof extra);
  for (int i = 0; i < max_conn; i++) {
    CHECK(ping_pong(held[i], 8) == 0 && end_session(held[i]) == 0, "held session %d broken", i);
    client_free(held[i]);
  }
  sodium_memzero(ids, sizeof ids);
  fprintf(stderr, "ok - one over max_handshakes (%d) and one over max_connections (%d) closed at once\n", max_hs,
          max_conn);
}

/* Handshakes from members (the network key is right) that fail a later
 * check: a low-order ephemeral key (no reply at all), an auth meant for
 * another server, an auth whose signature does not verify (no accept). */
static void s_shs(int argc, char **argv) {
  (void)argc, (void)argv;
  size_t bytes = 0;
  static const uint8_t low_order[2][32] = {{0}, {1}}; /* the points 0 and 1 */
  static const char *const low_labels[2] = {"eph-zero", "eph-one"};
  for (int i = 0; i < 2; i++) {
    struct client *c = client_open(low_labels[i]);
    CHECK(c != NULL, "connect");
    uint8_t hello[HLS_SHS_HELLO_BYTES];
    crypto_auth(hello, low_order[i], 32, netkey); /* a valid MAC: only members can */
    memcpy(hello + 32, low_order[i], 32);
    CHECK(send_all(c->fd, hello, sizeof hello) == 0, "send");
    CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "%s: not closed", low_labels[i]);
    CHECK(bytes == 0, "%s: hlsd answered a low-order ephemeral key with %zu bytes", low_labels[i], bytes);
    client_free(c);
  }

  uint8_t other_pk[32], other_sk[64];
  crypto_sign_keypair(other_pk, other_sk);
  struct client *c = client_open("wrong-server");
  CHECK(c != NULL && shs_start_with(c, other_pk) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "hello");
  CHECK(shs_server_hello(c) == 0 && send_all(c->fd, c->auth, sizeof c->auth) == 0, "auth");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes) && bytes == 0, "wrong-server: not closed without an accept");
  client_free(c);

  /* Message 3 re-boxed (so it opens) around sig_A with one bit flipped. */
  c = client_open("bad-signature");
  CHECK(c != NULL && shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0, "hello");
  CHECK(shs_server_hello(c) == 0, "server hello");
  uint8_t inner[96], key[32], auth[HLS_SHS_AUTH_BYTES];
  static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];
  memcpy(inner, c->shs.hello, sizeof inner); /* sig_A | A_p */
  inner[10] ^= 0x04;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, netkey, 32);
  crypto_hash_sha256_update(&st, c->shs.ab, 32);
  crypto_hash_sha256_update(&st, c->shs.aB, 32);
  crypto_hash_sha256_final(&st, key);
  crypto_secretbox_easy(auth, inner, sizeof inner, zero_nonce, key);
  sodium_memzero(key, sizeof key);
  CHECK(send_all(c->fd, auth, sizeof auth) == 0, "auth");
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes) && bytes == 0, "bad-signature: not closed without an accept");
  client_free(c);
  fprintf(stderr, "ok - low-order ephemeral keys, auth for another server, bad signature: closed, no accept\n");
}

/* Frames cut anyhow across box messages are still frames: one byte per
 * message, and many frames in one message. */
static void s_reassembly(int argc, char **argv) {
  (void)argc, (void)argv;
  struct client *c = open_session("split-bytes");
  CHECK(c != NULL, "no session");
  uint8_t data[40];
  randombytes_buf(data, sizeof data);
  msgpack_sbuffer sb;
  int rc = ping_frame(&sb, data, sizeof data);
  for (size_t i = 0; rc == 0 && i < sb.size; i++) rc = send_sealed(c, (const uint8_t *)sb.data + i, 1);
  msgpack_sbuffer_destroy(&sb);
  CHECK(rc == 0 && expect_pong(c, data, sizeof data) == 0, "a ping sent a byte per message was not answered");
  CHECK(end_session(c) == 0, "goodbye");
  client_free(c);

  c = open_session("many-frames");
  CHECK(c != NULL, "no session");
  enum { PINGS = 50 };
  msgpack_sbuffer all;
  msgpack_sbuffer_init(&all);
  for (int i = 0; i < PINGS; i++) {
    uint8_t n = (uint8_t)i;
    rc = ping_frame(&sb, &n, 1);
    if (rc == 0) msgpack_sbuffer_write(&all, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
  }
  rc = all.size <= HLS_BOX_MAX_BODY ? send_sealed(c, (const uint8_t *)all.data, all.size) : -1;
  msgpack_sbuffer_destroy(&all);
  CHECK(rc == 0, "send");
  for (int i = 0; i < PINGS; i++) {
    uint8_t n = (uint8_t)i;
    CHECK(expect_pong(c, &n, 1) == 0, "pong %d of %d in one message missing or out of order", i, PINGS);
  }
  CHECK(end_session(c) == 0, "goodbye");
  client_free(c);
  fprintf(stderr, "ok - a frame a byte per message, and %d frames in one message: all answered in order\n", PINGS);
}

/* ARG: network.keepalive in ms. A peer that keeps sending pings and never
 * reads the pongs: hlsd must stop reading from it (our sends stall for
 * good) rather than queue without bound, and then close it. */
static void s_no_read(int argc, char **argv) {
  CHECK(argc >= 1, "usage: no-read KEEPALIVE_MS");
  int64_t keepalive = strtol(argv[0], NULL, 10);
  struct client *c = open_session("no-read");
  CHECK(c != NULL, "no session");
  enum { PING = 60000 };
  uint8_t *data = malloc(PING);
  CHECK(data != NULL, "malloc");
  randombytes_buf(data, PING);
  uint8_t *pending = NULL;
  size_t pending_len = 0, pending_off = 0, sent = 0;
  bool closed = false;
  int64_t start = now_ms(), deadline = start + 3 * keepalive + 2 * CLOSE_DEADLINE_MS, last_send = start;
  while (!closed && now_ms() < deadline && sent < ((size_t)256 << 20)) {
    if (pending_off == pending_len) {
      free(pending);
      msgpack_sbuffer sb;
      pending = ping_frame(&sb, data, PING) == 0 ? seal(c, (const uint8_t *)sb.data, sb.size, &pending_len) : NULL;
      msgpack_sbuffer_destroy(&sb);
      pending_off = 0;
      if (pending == NULL) break;
    }
    struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
    if (poll(&pfd, 1, 100) <= 0) continue;
    ssize_t w = send(c->fd, pending + pending_off, pending_len - pending_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      pending_off += (size_t)w;
      sent += (size_t)w;
      last_send = now_ms();
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      closed = true; /* EPIPE or ECONNRESET: hlsd closed it */
    }
  }
  int64_t stall = now_ms() - last_send;
  free(pending);
  free(data);
  CHECK(sent < ((size_t)256 << 20), "hlsd kept reading from a peer that reads nothing (%zu bytes)", sent);
  CHECK(closed, "a peer that never reads was not closed (%zu bytes sent)", sent);
  /* Until the close, hlsd read nothing for most of three keepalives. */
  CHECK(stall >= keepalive, "sends stalled only %lld ms before the close", (long long)stall);
  client_free(c);
  fprintf(stderr, "ok - a peer that never reads: hlsd stopped reading after %zu bytes; closed %lld ms later\n", sent,
          (long long)stall);
}

/* ARG: how many. That many connections at once, each one of: silent,
 * 64 bytes of garbage, half a hello, a whole hello then silence. All must
 * be ended by hlsd before the deadline, and a session opened before (kept
 * alive with pings meanwhile) must still be served after. */
static void s_flood(int argc, char **argv) {
  CHECK(argc >= 1, "usage: flood N");
  size_t n = strtoul(argv[0], NULL, 10);
  CHECK(n > 0 && n <= 1000, "flood size");
  struct client *probe = calloc(1, sizeof *probe); /* only makes the hello */
  CHECK(probe != NULL, "calloc");
  probe->fd = -1;
  probe->id = &me;
  CHECK(shs_start(probe) == 0, "hello");
  struct hls_identity survivor_id;
  crypto_sign_keypair(survivor_id.public_key, survivor_id.secret_key);
  struct client *survivor = open_session_as("flood-survivor", &survivor_id);
  CHECK(survivor != NULL, "no session before the flood");
  int keepalives = 0;
  int64_t last_keepalive = now_ms();
  struct flooder {
    int fd;
    int kind;
    bool sent, closed;
  } *f = calloc(n, sizeof *f);
  struct pollfd *pfd = calloc(n, sizeof *pfd);
  CHECK(f != NULL && pfd != NULL, "calloc");
  for (size_t i = 0; i < n; i++) {
    f[i].kind = (int)(i % 4);
    f[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(f[i].fd >= 0, "socket: %s", strerror(errno));
    int rc = connect(f[i].fd, (const struct sockaddr *)&server_addr, sizeof server_addr);
    CHECK(rc == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
    char label[32];
    snprintf(label, sizeof label, "flood-%zu", i);
    report(label, local_port(f[i].fd));
  }
  int64_t start = now_ms(), deadline = start + FLOOD_DEADLINE_MS;
  size_t open = n;
  while (open > 0 && now_ms() < deadline) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (f[i].closed) continue;
      pfd[k++] = (struct pollfd){.fd = f[i].fd, .events = (short)(POLLIN | (f[i].sent ? 0 : POLLOUT))};
    }
    if (poll(pfd, k, 100) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (now_ms() - last_keepalive >= 300) { /* pongs are read after the flood */
      CHECK(send_ping(survivor, NULL, 0) == 0, "the session open before the flood broke");
      keepalives++;
      last_keepalive = now_ms();
    }
    for (size_t i = 0, j = 0; i < n; i++) {
      if (f[i].closed) continue;
      short ev = pfd[j++].revents;
      if (!f[i].sent && (ev & POLLOUT)) {
        uint8_t garbage[64];
        randombytes_buf(garbage, sizeof garbage);
        const uint8_t *what[] = {NULL, garbage, probe->hello, probe->hello};
        const size_t len[] = {0, sizeof garbage, HLS_SHS_HELLO_BYTES / 2, HLS_SHS_HELLO_BYTES};
        if (len[f[i].kind] > 0) (void)send(f[i].fd, what[f[i].kind], len[f[i].kind], MSG_NOSIGNAL);
        f[i].sent = true;
      }
      if (ev & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t buf[256];
        ssize_t r = recv(f[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          f[i].closed = true;
          open--;
        }
      }
    }
  }
  int64_t took = now_ms() - start;
  for (size_t i = 0; i < n; i++) close(f[i].fd);
  free(f);
  free(pfd);
  client_free(probe);
  CHECK(open == 0, "%zu of %zu flood connections not closed by hlsd after %d ms", open, n, FLOOD_DEADLINE_MS);
  /* The session from before: every keepalive ping answered, then ours. */
  for (int i = 0; i < keepalives; i++) CHECK(expect_pong(survivor, NULL, 0) == 0, "keepalive pong %d missing", i);
  CHECK(ping_pong(survivor, 16) == 0 && end_session(survivor) == 0, "the session from before the flood broke");
  client_free(survivor);
  sodium_memzero(&survivor_id, sizeof survivor_id);
  fprintf(stderr, "ok - %zu connections at once (silent, garbage, half hello, hello): all closed in %lld ms\n", n,
          (long long)took);
}

/* --- gossip as a member --------------------------------------------------------------- */

/* A gossip VECTOR frame, complete and empty: [16, true, []]. */
static int send_empty_vector(struct client *c) {
  static const uint8_t vector[] = {0x93, 0x10, 0xc3, 0x90};
  return send_frame(c, vector, sizeof vector);
}

/* An ITEMS frame with one envelope: id's profile at seq 1. */
static int send_profile_item(struct client *c, const struct hls_identity *id, const char *place) {
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "%s", place);
  snprintf(prof.region, sizeof prof.region, "Abuse");
  prof.role = HLS_PROFILE_PLACE;
  msgpack_sbuffer body, env, items;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&env);
  msgpack_sbuffer_init(&items);
  int rc = hls_profile_pack(&body, &prof);
  if (rc == 0)
    rc = hls_env_build(&env, HLS_ENV_PROFILE, id->secret_key, 1, NULL, (uint64_t)time(NULL) * 1000, HLS_AUD_NETWORK,
                       (const uint8_t *)body.data, body.size);
  if (rc == 0) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, &items, msgpack_sbuffer_write);
    rc = msgpack_pack_array(&pk, 2) != 0 || msgpack_pack_uint32(&pk, 17) != 0 || msgpack_pack_array(&pk, 1) != 0 ||
                 msgpack_pack_bin(&pk, env.size) != 0 || msgpack_pack_bin_body(&pk, env.data, env.size) != 0
             ? -1
             : 0;
  }
  if (rc == 0) rc = send_frame(c, (const uint8_t *)items.data, items.size);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&env);
  msgpack_sbuffer_destroy(&items);
  return rc;
}

/* Read frames until one of gossip type `want` arrives: 0, or -1 if the
 * session ended or the deadline passed first. */
static int expect_gossip(struct client *c, int want, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    uint8_t *payload = NULL;
    size_t len = 0;
    int type = -1;
    int left = (int)(deadline - now_ms());
    if (left <= 0 || next_frame(c, &payload, &len, left) != 0) return -1;
    bool match = hls_frame_type(payload, len, &type) == 0 && type == want;
    free(payload);
    if (match) return 0;
  }
}

/* A member whose key sorts below hlsd's, so that a second session it opens
 * replaces the first (docs/protocol.md: one session per peer, the one
 * dialled by the smaller key kept). */
static void low_identity(struct hls_identity *id) {
  do crypto_sign_keypair(id->public_key, id->secret_key);
  while (memcmp(id->public_key, server_pk, 32) >= 0);
}

/* ARG: rounds. Each round, a fresh member opens a session, sends its
 * vector, opens a second session (which replaces the first), and sends one
 * item on it: storing the item pushes it to every gossip session, so a
 * session left behind by the replaced connection would be used after its
 * connection is gone. hlsd must acknowledge the item every round. */
static void s_dup_session(int argc, char **argv) {
  CHECK(argc >= 1, "usage: dup-session ROUNDS");
  int rounds = atoi(argv[0]);
  CHECK(rounds > 0 && rounds <= 10000, "rounds");
  for (int r = 0; r < rounds; r++) {
    struct hls_identity id;
    low_identity(&id);
    char label[32], place[32];
    snprintf(label, sizeof label, "dup-first-%d", r);
    struct client *first = open_session_as(label, &id);
    CHECK(first != NULL && send_empty_vector(first) == 0, "round %d: first session", r);
    CHECK(expect_gossip(first, 16, REPLY_DEADLINE_MS) == 0, "round %d: no vector on the first session", r);
    snprintf(label, sizeof label, "dup-second-%d", r);
    struct client *second = open_session_as(label, &id);
    CHECK(second != NULL && send_empty_vector(second) == 0, "round %d: second session", r);
    snprintf(place, sizeof place, "Duplicate %d", r);
    CHECK(send_profile_item(second, &id, place) == 0, "round %d: send item", r);
    CHECK(expect_gossip(second, 18, REPLY_DEADLINE_MS) == 0, "round %d: the item was not acknowledged", r);
    client_free(first);
    client_free(second);
    sodium_memzero(&id, sizeof id);
  }
  fprintf(stderr, "ok - %d rounds of a second session replacing the first, then an item: all acknowledged\n", rounds);
}

/* --- slots: what one member may hold ------------------------------------------------ */

/* A session that has begun a frame of len bytes and sent `sent` of them. */
static int begin_frame(struct client *c, size_t len, size_t sent) {
  uint8_t head[HLS_WIRE_HEADER + 64];
  head[0] = (uint8_t)(len >> 24), head[1] = (uint8_t)(len >> 16), head[2] = (uint8_t)(len >> 8), head[3] = (uint8_t)len;
  memset(head + HLS_WIRE_HEADER, 0x90, sizeof head - HLS_WIRE_HEADER);
  return send_sealed(c, head, HLS_WIRE_HEADER + (sent < 64 ? sent : 64));
}

/* ARGS: N, network.max_per_address, network.frame_timeout in ms. From this
 * run's address (PEER_ABUSE_FROM), N members (fresh identities) each open a
 * session and begin a 1 MiB frame, then trickle a byte every 200 ms: at most
 * max_per_address get a session (the rest are closed at once, without a
 * byte), a good client from another address is served meanwhile, and every
 * trickler is closed by the frame deadline. */
static void s_slots(int argc, char **argv) {
  CHECK(argc >= 3, "usage: slots N MAX_PER_ADDRESS FRAME_TIMEOUT_MS");
  int n = atoi(argv[0]), cap = atoi(argv[1]);
  int64_t frame_timeout = strtol(argv[2], NULL, 10);
  CHECK(n > 0 && n <= 200 && cap > 0 && cap < n, "arguments");
  CHECK(have_source, "slots needs PEER_ABUSE_FROM (another loopback address)");
  struct client **held = calloc((size_t)n, sizeof *held);
  struct hls_identity *ids = calloc((size_t)n, sizeof *ids);
  CHECK(held != NULL && ids != NULL, "calloc");
  int sessions = 0, refused = 0;
  for (int i = 0; i < n; i++) {
    char label[32];
    snprintf(label, sizeof label, "trickle-%d", i);
    crypto_sign_keypair(ids[i].public_key, ids[i].secret_key);
    struct client *c = client_open(label);
    CHECK(c != NULL, "connect %d", i);
    c->id = &ids[i];
    size_t bytes = 0;
    if (shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0 && shs_server_hello(c) == 0 &&
        send_all(c->fd, c->auth, sizeof c->auth) == 0 && shs_accept(c) == 0 && expect_hello_frame(c) == 0 &&
        send_hello_frame(c) == 0 && begin_frame(c, 1u << 20, 1) == 0) {
      held[sessions++] = c;
    } else {
      CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "connection %d over the limit not closed", i);
      refused++;
      client_free(c);
    }
  }
  CHECK(sessions == cap, "%d sessions from one address, want max_per_address = %d", sessions, cap);
  /* Another host is served while they hold their slots. */
  have_source = false;
  struct client *good = open_session("other-host");
  CHECK(good != NULL && ping_pong(good, 8) == 0, "a member from another address was not served");
  have_source = true;
  /* Trickle: one byte each every 200 ms, until hlsd closes them all. */
  int64_t start = now_ms(), deadline = start + frame_timeout + 3 * CLOSE_DEADLINE_MS;
  int open = sessions;
  bool *closed = calloc((size_t)sessions, sizeof *closed);
  CHECK(closed != NULL, "calloc");
  while (open > 0 && now_ms() < deadline) {
    for (int i = 0; i < sessions; i++) {
      if (closed[i]) continue;
      static const uint8_t one = 0x90;
      uint8_t sealed[HLS_BOX_HEADER + 1];
      uint8_t buf[4096];
      if (hls_box_seal(&held[i]->enc, &one, 1, sealed) != 0 ||
          send(held[i]->fd, sealed, sizeof sealed, MSG_NOSIGNAL) < 0 ||
          (recv(held[i]->fd, buf, sizeof buf, MSG_DONTWAIT) == 0)) {
        closed[i] = true;
        open--;
      }
    }
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
    nanosleep(&ts, NULL); /* the trickle's own pace, not a wait for hlsd */
  }
  int64_t took = now_ms() - start;
  CHECK(open == 0, "%d of %d trickling sessions still open after %lld ms (frame_timeout %lld ms)", open, sessions,
        (long long)took, (long long)frame_timeout);
  CHECK(took >= frame_timeout - 200, "trickling sessions closed after %lld ms, before frame_timeout %lld ms",
        (long long)took, (long long)frame_timeout);
  CHECK(ping_pong(good, 8) == 0 && end_session(good) == 0, "the other host's session broke");
  for (int i = 0; i < sessions; i++) client_free(held[i]);
  client_free(good);
  free(closed);
  sodium_memzero(ids, (size_t)n * sizeof *ids);
  free(ids);
  free(held);
  fprintf(stderr, "ok - %d members from one address: %d sessions, %d refused at once; another host served; "
          "tricklers closed after %lld ms\n", n, sessions, refused, (long long)took);
}

/* ARGS: network.max_connections, network.reserved_for_listed. Unlisted
 * members (fresh identities) get max - reserved sessions, the next gets no
 * accept; then HOME's identity, which hlsd lists, gets a session. */
static void s_reserve(int argc, char **argv) {
  CHECK(argc >= 2, "usage: reserve MAX_CONNECTIONS RESERVED");
  int max = atoi(argv[0]), reserved = atoi(argv[1]), unlisted = max - reserved;
  CHECK(max > 0 && max <= 32 && reserved > 0 && reserved < max, "arguments");
  struct client *held[32] = {0};
  struct hls_identity ids[33];
  char label[32];
  for (int i = 0; i <= unlisted; i++) {
    crypto_sign_keypair(ids[i].public_key, ids[i].secret_key);
    snprintf(label, sizeof label, "unlisted-%d", i);
    if (i < unlisted) {
      CHECK((held[i] = open_session_as(label, &ids[i])) != NULL, "unlisted session %d of %d refused", i + 1, unlisted);
      continue;
    }
    struct client *c = client_open(label);
    size_t bytes = 0;
    CHECK(c != NULL, "connect");
    c->id = &ids[i];
    CHECK(shs_start(c) == 0 && send_all(c->fd, c->hello, sizeof c->hello) == 0 && shs_server_hello(c) == 0 &&
              send_all(c->fd, c->auth, sizeof c->auth) == 0,
          "handshake");
    CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes) && bytes == 0, "an unlisted member beyond the unreserved "
                                                                    "slots was accepted");
    client_free(c);
  }
  struct client *mine = open_session("listed");
  CHECK(mine != NULL && ping_pong(mine, 8) == 0, "a listed peer found no reserved slot");
  CHECK(end_session(mine) == 0, "goodbye");
  client_free(mine);
  for (int i = 0; i < unlisted; i++) {
    CHECK(ping_pong(held[i], 8) == 0 && end_session(held[i]) == 0, "unlisted session %d broken", i);
    client_free(held[i]);
  }
  sodium_memzero(ids, sizeof ids);
  fprintf(stderr, "ok - %d unlisted sessions, the next refused; a listed peer served from the %d reserved\n",
          unlisted, reserved);
}

/* ARG: network.idle_timeout in ms. An unlisted member's session that only
 * pings is closed after the idle timeout; the listed peer's (HOME's
 * identity) pinging alike stays open. */
static void s_idle(int argc, char **argv) {
  CHECK(argc >= 1, "usage: idle IDLE_TIMEOUT_MS");
  int64_t idle = strtol(argv[0], NULL, 10);
  struct hls_identity stranger;
  crypto_sign_keypair(stranger.public_key, stranger.secret_key);
  struct client *un = open_session_as("idle-unlisted", &stranger);
  /* hlsd's idle clock for un started with its session: measure from
   * here, not after the second handshake (which can take a while on a
   * loaded machine). */
  int64_t start = now_ms(), closed_after = -1;
  struct client *mine = open_session("idle-listed");
  CHECK(un != NULL && mine != NULL, "sessions");
  while (now_ms() - start < idle + 2 * CLOSE_DEADLINE_MS) {
    if (closed_after < 0 && ping_pong(un, 4) != 0) closed_after = now_ms() - start;
    CHECK(ping_pong(mine, 4) == 0, "the listed peer's session was closed after %lld ms",
          (long long)(now_ms() - start));
    if (closed_after >= 0 && now_ms() - start > idle + CLOSE_DEADLINE_MS) break;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
    nanosleep(&ts, NULL); /* the pace of the pings */
  }
  CHECK(closed_after >= idle - 200, "the unlisted session was closed after %lld ms, idle_timeout %lld ms",
        (long long)closed_after, (long long)idle);
  CHECK(end_session(mine) == 0, "goodbye");
  client_free(un);
  client_free(mine);
  sodium_memzero(&stranger, sizeof stranger);
  fprintf(stderr, "ok - an unlisted session with pings only closed after %lld ms; the listed one stayed\n",
          (long long)closed_after);
}

/* ARG: N. As one member, push N new chains (each a fresh key's profile at
 * seq 1), one ITEMS frame each, each acknowledged. The script checks how
 * many hlsd kept. */
static void s_origins(int argc, char **argv) {
  CHECK(argc >= 1, "usage: origins N");
  int n = atoi(argv[0]);
  CHECK(n > 0 && n <= 100000, "N");
  struct client *c = open_session("origins");
  CHECK(c != NULL && send_empty_vector(c) == 0, "session");
  for (int i = 0; i < n; i++) {
    struct hls_identity junk;
    crypto_sign_keypair(junk.public_key, junk.secret_key);
    char place[32];
    snprintf(place, sizeof place, "Junk %d", i);
    CHECK(send_profile_item(c, &junk, place) == 0, "send %d", i);
    CHECK(expect_gossip(c, 18, REPLY_DEADLINE_MS) == 0, "item %d not acknowledged", i);
    sodium_memzero(&junk, sizeof junk);
  }
  CHECK(end_session(c) == 0, "goodbye");
  client_free(c);
  fprintf(stderr, "ok - %d new chains pushed, each acknowledged\n", n);
}

/* An envelope of id at seq (linked to prev, NULL at seq 1) around body,
 * signed by hand: hls_env_build signs only what hls_env_decode accepts,
 * and these are the envelopes it refuses. */
static int raw_envelope(msgpack_sbuffer *out, const struct hls_identity *id, int type, uint64_t seq,
                        const uint8_t *prev, const uint8_t *body, size_t body_len) {
  uint8_t hash[HLS_HASH_BYTES], sig[HLS_SIG_BYTES];
  hls_env_hash(body, body_len, hash);
  msgpack_sbuffer header;
  msgpack_sbuffer_init(&header);
  msgpack_packer hp, pk;
  msgpack_packer_init(&hp, &header, msgpack_sbuffer_write);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  int rc = msgpack_pack_array(&hp, 8) || msgpack_pack_uint32(&hp, HLS_ENV_VERSION) || msgpack_pack_uint32(&hp, (uint32_t)type) ||
           msgpack_pack_bin(&hp, 32) || msgpack_pack_bin_body(&hp, id->public_key, 32) || msgpack_pack_uint64(&hp, seq) ||
           (prev ? msgpack_pack_bin(&hp, 32) || msgpack_pack_bin_body(&hp, prev, 32) : msgpack_pack_nil(&hp)) ||
           msgpack_pack_uint64(&hp, (uint64_t)time(NULL) * 1000) || msgpack_pack_uint32(&hp, HLS_AUD_NETWORK) ||
           msgpack_pack_bin(&hp, 32) || msgpack_pack_bin_body(&hp, hash, 32);
  size_t tag_len = strlen(HLS_ENV_SIG_TAG);
  uint8_t *msg = rc == 0 ? malloc(tag_len + header.size) : NULL;
  if (msg == NULL) rc = -1;
  if (rc == 0) {
    memcpy(msg, HLS_ENV_SIG_TAG, tag_len);
    memcpy(msg + tag_len, header.data, header.size);
    crypto_sign_detached(sig, NULL, msg, tag_len + header.size, id->secret_key);
    rc = msgpack_pack_array(&pk, 3) || msgpack_sbuffer_write(out, header.data, header.size) ||
         msgpack_pack_bin(&pk, HLS_SIG_BYTES) || msgpack_pack_bin_body(&pk, sig, HLS_SIG_BYTES) ||
         msgpack_sbuffer_write(out, (const char *)body, body_len);
  }
  free(msg);
  msgpack_sbuffer_destroy(&header);
  return rc == 0 ? 0 : -1;
}

/* As me: an ITEMS frame of me's profile (seq 1) and a forged fork item
 * (seq 2, docs/protocol.md 4.7) whose two stubs are one stub of another
 * key's profile twice: not a fork. hlsd must close the session (a
 * violation), keep nothing of the frame, follow that key as before. */
static void s_fork_forged(int argc, char **argv) {
  (void)argc, (void)argv;
  struct hls_identity other;
  crypto_sign_keypair(other.public_key, other.secret_key);
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "Forger");
  snprintf(prof.region, sizeof prof.region, "Abuse");
  prof.role = HLS_PROFILE_PLACE;
  msgpack_sbuffer pbody, mine, theirs, stub, fork, items;
  msgpack_sbuffer *all[] = {&pbody, &mine, &theirs, &stub, &fork, &items};
  for (size_t i = 0; i < 6; i++) msgpack_sbuffer_init(all[i]);
  struct hls_envelope e1, eo;
  uint64_t now = (uint64_t)time(NULL) * 1000;
  int rc = hls_profile_pack(&pbody, &prof);
  if (rc == 0)
    rc = hls_env_build(&mine, HLS_ENV_PROFILE, me.secret_key, 1, NULL, now, HLS_AUD_NETWORK,
                       (const uint8_t *)pbody.data, pbody.size);
  if (rc == 0)
    rc = hls_env_build(&theirs, HLS_ENV_PROFILE, other.secret_key, 1, NULL, now, HLS_AUD_NETWORK,
                       (const uint8_t *)pbody.data, pbody.size);
  if (rc == 0) rc = hls_env_decode(&e1, (const uint8_t *)mine.data, mine.size, NULL);
  if (rc == 0) rc = hls_env_decode(&eo, (const uint8_t *)theirs.data, theirs.size, NULL);
  if (rc == 0) rc = hls_env_encode_stub(&stub, &eo);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &fork, msgpack_sbuffer_write);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  msgpack_packer bpk;
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  if (rc == 0)
    rc = msgpack_pack_array(&bpk, 2) || msgpack_pack_bin(&bpk, stub.size) ||
                 msgpack_pack_bin_body(&bpk, stub.data, stub.size) || msgpack_pack_bin(&bpk, stub.size) ||
                 msgpack_pack_bin_body(&bpk, stub.data, stub.size)
             ? -1
             : 0;
  if (rc == 0) rc = raw_envelope(&fork, &me, HLS_ENV_FORK, 2, e1.id, (const uint8_t *)body.data, body.size);
  msgpack_packer_init(&pk, &items, msgpack_sbuffer_write);
  if (rc == 0)
    rc = msgpack_pack_array(&pk, 2) || msgpack_pack_uint32(&pk, 17) || msgpack_pack_array(&pk, 2) ||
                 msgpack_pack_bin(&pk, mine.size) || msgpack_pack_bin_body(&pk, mine.data, mine.size) ||
                 msgpack_pack_bin(&pk, fork.size) || msgpack_pack_bin_body(&pk, fork.data, fork.size)
             ? -1
             : 0;
  CHECK(rc == 0, "fork-forged: building the frame");
  struct client *c = open_session("fork-forged");
  CHECK(c != NULL && send_empty_vector(c) == 0, "fork-forged: session");
  CHECK(send_frame(c, (const uint8_t *)items.data, items.size) == 0 && expect_no_answer(c) == 0,
        "fork-forged: not closed");
  client_free(c);
  msgpack_sbuffer_destroy(&body);
  for (size_t i = 0; i < 6; i++) msgpack_sbuffer_destroy(all[i]);
  sodium_memzero(&other, sizeof other);
  fprintf(stderr, "ok - a forged fork report (one stub twice) closed the session\n");
}

/* ARG: self|malformed|good. As a member, send the member's profile (seq 1)
 * and a vouch (seq 2) in one ITEMS frame: a vouch for the member itself, a
 * vouch whose claim has an empty place name, or a good vouch for hlsd's
 * own node. The bad ones must close the session (a violation: the script
 * checks it is counted); the good one is acknowledged. */
static void s_vouch(int argc, char **argv) {
  CHECK(argc >= 1, "usage: vouch self|malformed|good");
  const char *kind = argv[0];
  bool good = strcmp(kind, "good") == 0;
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "Vouch %s", kind);
  snprintf(prof.region, sizeof prof.region, "Abuse");
  msgpack_sbuffer body, profile, vouch, items;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&profile);
  msgpack_sbuffer_init(&vouch);
  msgpack_sbuffer_init(&items);
  CHECK(hls_profile_pack(&body, &prof) == 0 &&
            hls_env_build(&profile, HLS_ENV_PROFILE, me.secret_key, 1, NULL, (uint64_t)time(NULL) * 1000,
                          HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size) == 0,
        "profile");
  struct hls_envelope first;
  CHECK(hls_env_decode(&first, (const uint8_t *)profile.data, profile.size, NULL) == 0, "profile decodes");
  msgpack_sbuffer_clear(&body);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  const uint8_t *subject = strcmp(kind, "self") == 0 ? me.public_key : server_pk;
  const char *place = strcmp(kind, "malformed") == 0 ? "" : "Somewhere";
  CHECK(msgpack_pack_array(&pk, 2) == 0 && msgpack_pack_bin(&pk, 32) == 0 && msgpack_pack_bin_body(&pk, subject, 32) == 0 &&
            msgpack_pack_array(&pk, 3) == 0 && msgpack_pack_str(&pk, strlen(place)) == 0 &&
            msgpack_pack_str_body(&pk, place, strlen(place)) == 0 && msgpack_pack_str(&pk, 5) == 0 &&
            msgpack_pack_str_body(&pk, "Abuse", 5) == 0 && msgpack_pack_uint32(&pk, 0) == 0,
        "vouch body");
  CHECK(raw_envelope(&vouch, &me, HLS_ENV_VOUCH, 2, first.id, (const uint8_t *)body.data, body.size) == 0, "vouch");
  msgpack_packer_init(&pk, &items, msgpack_sbuffer_write);
  CHECK(msgpack_pack_array(&pk, 2) == 0 && msgpack_pack_uint32(&pk, 17) == 0 && msgpack_pack_array(&pk, 2) == 0 &&
            msgpack_pack_bin(&pk, profile.size) == 0 && msgpack_pack_bin_body(&pk, profile.data, profile.size) == 0 &&
            msgpack_pack_bin(&pk, vouch.size) == 0 && msgpack_pack_bin_body(&pk, vouch.data, vouch.size) == 0,
        "items frame");
  struct client *c = open_session(kind);
  CHECK(c != NULL && send_empty_vector(c) == 0, "%s: session", kind);
  CHECK(send_frame(c, (const uint8_t *)items.data, items.size) == 0, "%s: send", kind);
  if (good) {
    CHECK(expect_gossip(c, 18, REPLY_DEADLINE_MS) == 0, "good: the vouch was not acknowledged");
    CHECK(end_session(c) == 0, "good: goodbye");
  } else {
    size_t bytes = 0;
    CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "%s: the session was not closed", kind);
  }
  client_free(c);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&profile);
  msgpack_sbuffer_destroy(&vouch);
  msgpack_sbuffer_destroy(&items);
  fprintf(stderr, "ok - vouch %s: %s\n", kind, good ? "acknowledged" : "the session closed");
}

/* A member hands over a network key of epoch EPOCH that is not the one
 * the node's rekey names (docs/protocol.md 7.2): the session closes, and
 * the violation counts against the member. */
static void s_netkey(int argc, char **argv) {
  CHECK(argc >= 1, "usage: netkey EPOCH");
  uint64_t epoch = strtoull(argv[0], NULL, 10);
  uint8_t key[32];
  randombytes_buf(key, sizeof key);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  CHECK(hls_frame_netkey(&sb, epoch, key) == 0 && sb.size > HLS_WIRE_HEADER, "netkey frame");
  struct client *c = open_session("netkey");
  CHECK(c != NULL && send_empty_vector(c) == 0, "netkey: session");
  CHECK(send_frame(c, (const uint8_t *)sb.data + HLS_WIRE_HEADER, sb.size - HLS_WIRE_HEADER) == 0, "netkey: send");
  size_t bytes = 0;
  CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "netkey: the session was not closed");
  client_free(c);
  msgpack_sbuffer_destroy(&sb);
  fprintf(stderr, "ok - a network key that is not the rekey's closed the session\n");
}

/* ARG: forged|self|good. As a member, send the member's profile (seq 1)
 * and a successor (seq 2, docs/protocol.md 4.9) in one ITEMS frame: one
 * naming a new key that did not sign it (its new_sig made by another
 * key), one naming the member itself, or a good one. The bad ones must
 * close the session (a violation); the good one is acknowledged. */
static void s_successor(int argc, char **argv) {
  CHECK(argc >= 1, "usage: successor forged|self|good");
  const char *kind = argv[0];
  bool good = strcmp(kind, "good") == 0;
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "Successor %s", kind);
  snprintf(prof.region, sizeof prof.region, "Abuse");
  msgpack_sbuffer body, profile, succ, items;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&profile);
  msgpack_sbuffer_init(&succ);
  msgpack_sbuffer_init(&items);
  CHECK(hls_profile_pack(&body, &prof) == 0 &&
            hls_env_build(&profile, HLS_ENV_PROFILE, me.secret_key, 1, NULL, (uint64_t)time(NULL) * 1000,
                          HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size) == 0,
        "profile");
  struct hls_envelope first;
  CHECK(hls_env_decode(&first, (const uint8_t *)profile.data, profile.size, NULL) == 0, "profile decodes");
  uint8_t new_pk[32], new_sk[64], wrong_pk[32], wrong_sk[64];
  crypto_sign_keypair(new_pk, new_sk);
  crypto_sign_keypair(wrong_pk, wrong_sk);
  struct hls_successor su;
  if (strcmp(kind, "self") == 0) {
    hls_successor_sign(&su, me.public_key, me.secret_key);
  } else if (strcmp(kind, "forged") == 0) {
    hls_successor_sign(&su, me.public_key, wrong_sk);
    memcpy(su.new_id, new_pk, 32); /* names new_pk; wrong_pk signed */
  } else {
    hls_successor_sign(&su, me.public_key, new_sk);
  }
  msgpack_sbuffer_clear(&body);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  CHECK(msgpack_pack_array(&pk, 2) == 0 && msgpack_pack_bin(&pk, 32) == 0 &&
            msgpack_pack_bin_body(&pk, su.new_id, 32) == 0 && msgpack_pack_bin(&pk, 64) == 0 &&
            msgpack_pack_bin_body(&pk, su.new_sig, 64) == 0,
        "successor body");
  CHECK(raw_envelope(&succ, &me, HLS_ENV_SUCCESSOR, 2, first.id, (const uint8_t *)body.data, body.size) == 0,
        "successor");
  msgpack_packer_init(&pk, &items, msgpack_sbuffer_write);
  CHECK(msgpack_pack_array(&pk, 2) == 0 && msgpack_pack_uint32(&pk, 17) == 0 && msgpack_pack_array(&pk, 2) == 0 &&
            msgpack_pack_bin(&pk, profile.size) == 0 && msgpack_pack_bin_body(&pk, profile.data, profile.size) == 0 &&
            msgpack_pack_bin(&pk, succ.size) == 0 && msgpack_pack_bin_body(&pk, succ.data, succ.size) == 0,
        "items frame");
  struct client *c = open_session(kind);
  CHECK(c != NULL && send_empty_vector(c) == 0, "%s: session", kind);
  CHECK(send_frame(c, (const uint8_t *)items.data, items.size) == 0, "%s: send", kind);
  if (good) {
    CHECK(expect_gossip(c, 18, REPLY_DEADLINE_MS) == 0, "good: the successor was not acknowledged");
    CHECK(end_session(c) == 0, "good: goodbye");
  } else {
    size_t bytes = 0;
    CHECK(wait_closed(c, CLOSE_DEADLINE_MS, &bytes), "%s: the session was not closed", kind);
  }
  client_free(c);
  sodium_memzero(new_sk, sizeof new_sk);
  sodium_memzero(wrong_sk, sizeof wrong_sk);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&profile);
  msgpack_sbuffer_destroy(&succ);
  msgpack_sbuffer_destroy(&items);
  fprintf(stderr, "ok - successor %s: %s\n", kind, good ? "acknowledged" : "the session closed");
}

/* --- main --------------------------------------------------------------------------- */

static const struct {
  const char *name;
  void (*run)(int argc, char **argv);
  const char *help;
} scenarios[] = {
    {"good", s_good, "a good session: handshake, hellos, ping/pong, goodbyes"},
    {"outsider", s_outsider, "hello with another network key: closed, nothing sent"},
    {"refused", s_refused, "a whole handshake from an identity hlsd refuses: no accept"},
    {"truncated", s_truncated, "hang up mid-handshake (three ways)"},
    {"replay", s_replay, "messages 1 and 3 of a session replayed"},
    {"flip", s_flip, "one bit flipped in sealed messages"},
    {"shs", s_shs, "member handshakes that fail: low-order keys, wrong server, bad signature"},
    {"reassembly", s_reassembly, "frames split across box messages, many frames in one"},
    {"no-read", s_no_read, "KEEPALIVE_MS: a peer that sends pings and never reads"},
    {"box", s_box, "box-stream headers with impossible lengths"},
    {"frame-size", s_frame_size, "MAX_FRAME: frames at, over and far over the limit, and empty"},
    {"payload", s_payload, "malformed frame payloads"},
    {"violation", s_violation, "an unknown frame type (a protocol violation)"},
    {"stall", s_stall, "HANDSHAKE_TIMEOUT_MS KEEPALIVE_MS: peers that stop talking"},
    {"limits", s_limits, "MAX_HANDSHAKES MAX_CONNECTIONS: one over each limit"},
    {"flood", s_flood, "N: N connections at once"},
    {"dup-session", s_dup_session, "ROUNDS: a second session of one member replaces the first, then an item"},
    {"slots", s_slots, "N MAX_PER_ADDRESS FRAME_TIMEOUT_MS: N members from one address trickle frames"},
    {"reserve", s_reserve, "MAX_CONNECTIONS RESERVED: unlisted members fill the unreserved slots"},
    {"idle", s_idle, "IDLE_TIMEOUT_MS: unlisted and listed sessions that only ping"},
    {"origins", s_origins, "N: one member pushes N new chains"},
    {"fork-forged", s_fork_forged, "a fork item whose evidence is one stub twice (a violation)"},
    {"vouch", s_vouch, "self|malformed|good: a member sends its profile and a vouch"},
    {"netkey", s_netkey, "EPOCH: a member hands over a network key that is not its rekey's"},
    {"successor", s_successor, "forged|self|good: a member sends its profile and a successor"},
};

static int ipv4_address(const char *host, int port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static void usage(void) {
  fprintf(stderr, "usage: peer_abuse id HOME\n       peer_abuse SCENARIO HOST:PORT SERVER_ID HOME [ARG...]\n");
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
    fprintf(stderr, "  %-11s %s\n", scenarios[i].name, scenarios[i].help);
}

int main(int argc, char **argv) {
  struct hls_why why = {{0}};
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0) return 1;
  if (argc == 3 && strcmp(argv[1], "id") == 0) {
    char id[HLS_NODEID_TEXT_SIZE];
    if (hls_home_load_identity(argv[2], &me, &why) != 0) {
      fprintf(stderr, "peer_abuse: %s\n", why.text);
      return 1;
    }
    hls_nodeid_format(me.public_key, id);
    printf("%s\n", id);
    return 0;
  }
  if (argc < 5) {
    usage();
    return 2;
  }
  size_t which = 0, count = sizeof scenarios / sizeof scenarios[0];
  while (which < count && strcmp(scenarios[which].name, argv[1]) != 0) which++;
  struct hls_hostport hp;
  if (which == count || hls_hostport_parse(argv[2], &hp, false, false, &why) != 0 || hp.is_ipv6 ||
      ipv4_address(hp.host, hp.port, &server_addr) != 0 || hls_nodeid_parse(argv[3], server_pk) != 0) {
    usage();
    return 2;
  }
  const char *from = getenv("PEER_ABUSE_FROM");
  if (from != NULL && from[0] != '\0') {
    if (ipv4_address(from, 0, &source_addr) != 0) {
      fprintf(stderr, "peer_abuse: PEER_ABUSE_FROM must be an IPv4 address\n");
      return 2;
    }
    have_source = true;
  }
  if (hls_home_load_identity(argv[4], &me, &why) != 0 || hls_home_load_network_key(argv[4], netkey, &why) != 0) {
    fprintf(stderr, "peer_abuse: %s\n", why.text);
    return 1;
  }
  scenarios[which].run(argc - 5, argv + 5);
  sodium_memzero(&me, sizeof me);
  sodium_memzero(netkey, sizeof netkey);
  return failures == 0 ? 0 : 1;
}
