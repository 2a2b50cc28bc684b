#include "client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hls_limits.h"

int hls_client_connect(struct hls_client *c, const char *home, bool home_from_flag, struct hls_why *why) {
  struct sockaddr_un addr;
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->timeout_ms = 600000;
  const char *env = getenv("HLS_TIMEOUT_MS");
  if (env != NULL) {
    char *end = NULL;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (errno != 0 || end == env || *end != '\0' || v < 0 || v > INT_MAX)
      return hls_why_set(why, HLS_EINVAL, "HLS_TIMEOUT_MS: expected a whole number of milliseconds (0: no limit), "
                         "not '%.40s'", env);
    c->timeout_ms = (int)v;
  }
  int n = snprintf(c->socket_path, sizeof c->socket_path, "%s/hlsd.sock", home);
  if (n < 0 || (size_t)n >= sizeof addr.sun_path)
    return hls_why_set(why, HLS_ETOOBIG, "socket path %s/hlsd.sock is too long for a Unix socket", home);
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, c->socket_path, (size_t)n + 1);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return hls_why_set(why, HLS_EIO, "socket: %s", strerror(errno));
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(c->fd);
    c->fd = -1;
    char key[sizeof c->socket_path + 16];
    snprintf(key, sizeof key, "%s/secret.key", home);
    if ((e == ENOENT || e == ECONNREFUSED) && access(key, F_OK) != 0 && errno == ENOENT)
      return hls_why_set(why, HLS_ENOTRUNNING,
                         "there is no node in %s; make one with: hls%s%s init --place NAME --region REGION", home,
                         home_from_flag ? " --home " : "", home_from_flag ? home : "");
    if (e == ENOENT || e == ECONNREFUSED)
      return hls_why_set(why, HLS_ENOTRUNNING, "hlsd is not running for %s; start it with: hlsd%s%s", home,
                         home_from_flag ? " --home " : "", home_from_flag ? home : "");
    if (e == EACCES)
      return hls_why_set(why, HLS_EACCESS,
                         "permission denied on %s: only hlsd's user and members of its control.group may use "
                         "this node (ask its admin to add you to that group)",
                         c->socket_path);
    return hls_why_set(why, HLS_EIO, "cannot connect to %s: %s", c->socket_path, strerror(e));
  }
  return 0;
}

void hls_client_close(struct hls_client *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

void hls_client_begin(struct hls_client *c, struct hls_client_req *r, enum hls_method_id method) {
  msgpack_sbuffer_init(&r->sb);
  msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
  r->id = ++c->next_id;
  r->changes = (hls_methods[method].flags & HLS_MF_CHANGES) != 0;
  /* Only fails on out of memory, which the send then reports. */
  if (hls_ctl_begin_request(&r->pk, r->id, hls_methods[method].name) != 0) r->sb.size = 0;
}

void hls_client_req_free(struct hls_client_req *r) { msgpack_sbuffer_destroy(&r->sb); }

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int read_all(struct hls_client *c, uint8_t *p, size_t len, struct hls_why *why) {
  while (len > 0) {
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, c->timeout_ms > 0 ? c->timeout_ms : -1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) return hls_why_set(why, HLS_ETIMEOUT, "no reply from hlsd within %d ms", c->timeout_ms);
    ssize_t r = read(c->fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return hls_why_set(why, HLS_EIO, "reading from hlsd: %s", strerror(errno));
    if (r == 0) return hls_why_set(why, HLS_ECLOSED, "hlsd closed the connection (did it stop?)");
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

int hls_client_send(struct hls_client *c, struct hls_client_req *r, struct hls_why *why) {
  if (r->sb.size == 0) return HLS_ENOMEM;
  if (hls_ctl_frame_finish(&r->sb, 0, HLS_CTL_FRAME_HARD_MAX) != 0)
    return hls_why_set(why, HLS_ETOOBIG, "request too large");
  if (write_all(c->fd, r->sb.data, r->sb.size) != 0)
    return hls_why_set(why, HLS_ECLOSED, "hlsd closed the connection: %s", strerror(errno));
  return 0;
}

/* Read and decode one frame; *payload holds the bytes resp borrows. */
static int read_frame(struct hls_client *c, struct hls_ctl_response *resp, uint8_t **payload_out, struct hls_why *why) {
  uint8_t header[HLS_CTL_HEADER];
  size_t len = 0;
  int rc = read_all(c, header, sizeof header, why);
  if (rc != 0) return rc;
  if (hls_ctl_frame_length(header, HLS_CTL_FRAME_HARD_MAX, &len) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "bad frame from hlsd");
  uint8_t *payload = malloc(len);
  if (payload == NULL) return HLS_ENOMEM;
  if ((rc = read_all(c, payload, len, why)) != 0) {
    free(payload);
    return rc;
  }
  rc = hls_ctl_response_decode(resp, payload, len, SIZE_MAX, why);
  if (rc != 0) {
    free(payload);
    return hls_why_set(why, HLS_EMALFORMED, "malformed reply from hlsd");
  }
  *payload_out = payload;
  return 0;
}

int hls_client_read(struct hls_client *c, struct hls_ctl_response *resp, struct hls_why *why) {
  memset(resp, 0, sizeof *resp);
  uint8_t *payload = NULL;
  int rc = read_frame(c, resp, &payload, why);
  if (rc == 0) resp->payload = payload;
  return rc;
}

bool hls_client_readable(struct hls_client *c) {
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  return poll(&pfd, 1, 0) > 0;
}

/* hls_client_reply; *lost: no answer was read (the connection, not hlsd,
 * failed). */
static int reply(struct hls_client *c, uint64_t id, struct hls_ctl_response *resp, hls_client_event_fn on_event,
                 void *ctx, bool *lost, struct hls_why *why) {
  memset(resp, 0, sizeof *resp);
  for (;;) {
    uint8_t *payload = NULL;
    int rc = read_frame(c, resp, &payload, why);
    if (rc != 0) {
      *lost = true;
      return rc;
    }
    if (resp->kind == HLS_CTL_EVENT && resp->id == id) {
      if (on_event) on_event(ctx, resp);
      hls_ctl_response_free(resp);
      free(payload);
      continue;
    }
    if (resp->id != id && resp->id != 0) {
      /* Replies come in request order: another id means a bug. */
      hls_ctl_response_free(resp);
      free(payload);
      return hls_why_set(why, HLS_EMALFORMED, "reply for request %llu while waiting for %llu",
                         (unsigned long long)resp->id, (unsigned long long)id);
    }
    if (resp->kind == HLS_CTL_ERROR) {
      rc = resp->error_code;
      hls_why_set(why, rc, "%s", resp->error_message[0] ? resp->error_message : hls_strerror(rc));
      hls_ctl_response_free(resp);
      free(payload);
      return rc;
    }
    resp->payload = payload; /* the tree borrows from it; freed with resp */
    return 0;
  }
}

int hls_client_reply(struct hls_client *c, uint64_t id, struct hls_ctl_response *resp, hls_client_event_fn on_event,
                     void *ctx, struct hls_why *why) {
  bool lost = false;
  return reply(c, id, resp, on_event, ctx, &lost, why);
}

static uint64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hls_client_call(struct hls_client *c, struct hls_client_req *r, struct hls_ctl_response *resp,
                    hls_client_event_fn on_event, void *ctx, struct hls_why *why) {
  uint64_t start = 0, told = 0;
  c->outcome_unknown = false;
  for (;;) {
    memset(resp, 0, sizeof *resp);
    int rc = hls_client_send(c, r, why);
    if (rc == 0) {
      bool lost = false;
      rc = reply(c, r->id, resp, on_event, ctx, &lost, why);
      /* sent whole, and no answer read: hlsd may have made the change */
      if (rc != 0 && lost && r->changes) c->outcome_unknown = true;
    }
    if (rc != HLS_EBUSY) return rc;
    /* busy: nothing was done (hlsd is still computing patterns after its
     * start, or the store was locked): ask again, saying why now and then. */
    uint64_t now = monotonic_ms();
    if (start == 0) start = now;
    if (now - start >= HLS_CLIENT_BUSY_WAIT_MS) return rc;
    if (told == 0 || now - told >= 30000) {
      fprintf(stderr, "hls: waiting: %s\n", why->text);
      told = now;
    }
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
    nanosleep(&pause, NULL);
  }
}
