/* struct ucred and SO_PEERCRED are Linux extensions. */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hls_limits.h"
#include "log.h"

#define READ_CHUNK 65536

struct client {
  uv_pipe_t pipe; /* first: handle->data is unused, we recover the client from it */
  uv_timer_t timer;
  struct hls_control *ctl;
  struct client *prev, *next;
  uint64_t id;
  uint8_t *buf; /* owned: bytes received and not yet processed */
  size_t len, cap;
  size_t queued; /* reply bytes handed to libuv and not yet written */
  int open_handles;
  bool reading, closing, close_after_write;
  bool received; /* bytes arrived since the request timer was last armed */
  void *data; /* handler state */
  uint32_t uid;                         /* the connecting process's user (SO_PEERCRED) */
  char user[HLS_CONTROL_USER_MAX + 1]; /* its name, or "#N" when it has none */
};

struct hls_control {
  uv_loop_t *loop;
  uv_pipe_t server;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  struct hls_control_options opt;
  hls_control_dispatch_fn dispatch;
  hls_control_disconnect_fn on_disconnect;
  void *ctx;
  struct client *clients;
  int n_clients;
  uint64_t next_client_id;
  bool closing;
  bool server_open;
};

struct write_req {
  uv_write_t req;
  struct client *client;
  size_t len;
  char *data; /* owned */
};

static void client_close(struct client *c);
static void client_process(struct client *c);

void *hls_control_client_data(const struct hls_control_client *client) {
  return ((const struct client *)(const void *)client)->data;
}
void hls_control_client_set_data(struct hls_control_client *client, void *data) {
  ((struct client *)(void *)client)->data = data;
}
uint64_t hls_control_client_id(const struct hls_control_client *client) {
  return ((const struct client *)(const void *)client)->id;
}
const char *hls_control_client_user(const struct hls_control_client *client) {
  return ((const struct client *)(const void *)client)->user;
}
uint32_t hls_control_client_uid(const struct hls_control_client *client) {
  return ((const struct client *)(const void *)client)->uid;
}

/* Who is on the other end: the kernel's word (SO_PEERCRED, taken at
 * connect), not anything the client says. A name lookup that fails
 * (a uid with no passwd entry, e.g. in a container) leaves "#N". */
static int read_peer_user(struct client *c) {
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return -1;
  c->uid = (uint32_t)cred.uid;
  snprintf(c->user, sizeof c->user, "#%u", (unsigned)cred.uid);
  struct passwd pw, *found = NULL;
  char buf[4096];
  if (getpwuid_r(cred.uid, &pw, buf, sizeof buf, &found) == 0 && found != NULL &&
      strlen(found->pw_name) <= HLS_CONTROL_USER_MAX)
    memcpy(c->user, found->pw_name, strlen(found->pw_name) + 1);
  return 0;
}

static void maybe_free_control(struct hls_control *ctl) {
  if (ctl->closing && !ctl->server_open && ctl->clients == NULL) free(ctl);
}

static void client_handle_closed(uv_handle_t *h) {
  struct client *c = h->data;
  if (--c->open_handles > 0) return;
  struct hls_control *ctl = c->ctl;
  if (c->prev) c->prev->next = c->next;
  else ctl->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  ctl->n_clients--;
  free(c->buf);
  free(c);
  maybe_free_control(ctl);
}

static void client_close(struct client *c) {
  if (c->closing) return;
  c->closing = true;
  if (c->ctl->on_disconnect) c->ctl->on_disconnect(c->ctl->ctx, (struct hls_control_client *)(void *)c);
  c->data = NULL;
  uv_close((uv_handle_t *)&c->pipe, client_handle_closed);
  uv_close((uv_handle_t *)&c->timer, client_handle_closed);
}

static void on_write(uv_write_t *req, int status) {
  struct write_req *w = (struct write_req *)req;
  struct client *c = w->client;
  c->queued -= w->len;
  free(w->data);
  free(w);
  if (c->closing) return;
  if (status < 0) {
    hls_log_debug("control_write_failed", "client=%llu error=%s", (unsigned long long)c->id, uv_err_name(status));
    client_close(c);
    return;
  }
  if (c->close_after_write && c->queued == 0) {
    client_close(c);
    return;
  }
  /* Back-pressure released: read (and process buffered requests) again. */
  if (!c->reading && c->queued <= c->ctl->opt.max_frame) client_process(c);
}

/* Hand a finished frame (sb's bytes, ownership taken) to libuv. */
static void client_send(struct client *c, msgpack_sbuffer *sb) {
  struct write_req *w = malloc(sizeof *w);
  if (w == NULL) {
    msgpack_sbuffer_destroy(sb);
    client_close(c);
    return;
  }
  w->client = c;
  w->len = sb->size;
  w->data = msgpack_sbuffer_release(sb);
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
  c->queued += w->len;
  int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
  if (rc < 0) {
    c->queued -= w->len;
    free(w->data);
    free(w);
    client_close(c);
  }
}

static void send_error(struct client *c, uint64_t id, int code, const char *message) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (hls_ctl_pack_error(&pk, id, code, message) != 0 ||
      hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX) != 0) {
    msgpack_sbuffer_destroy(&sb);
    client_close(c);
    return;
  }
  client_send(c, &sb);
}

static void handle_request(struct client *c, const uint8_t *payload, size_t len) {
  struct hls_control *ctl = c->ctl;
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  int rc = hls_ctl_request_decode(&req, payload, len, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) {
    hls_log_counted_warn("control_bad_request", "client=%llu error=%s", (unsigned long long)c->id, hls_err_name(rc));
    send_error(c, req.id, rc, why.text);
    return;
  }
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  struct hls_control_call call = {
      .req = &req,
      .pk = &pk,
      .client = (struct hls_control_client *)(void *)c,
      .user = c->user,
      .uid = c->uid,
      /* Who may connect is decided by the socket's mode and control.group:
       * every caller holds every role. */
      .role = HLS_USER_ADMIN};
  rc = hls_ctl_begin_result(&pk, req.id);
  if (rc == 0) rc = ctl->dispatch(ctl->ctx, &call);
  if (rc == 0 && call.deferred) {
    msgpack_sbuffer_destroy(&sb);
    hls_ctl_request_free(&req);
    return;
  }
  if (rc == 0) {
    rc = hls_ctl_frame_finish(&sb, 0, ctl->opt.max_frame);
    if (rc != 0) hls_why_set(&call.why, rc, "reply larger than limits.control_max_frame; narrow the request (--limit)");
  }
  if (rc == 0) {
    client_send(c, &sb);
  } else {
    msgpack_sbuffer_destroy(&sb);
    hls_log_debug("control_request_failed", "client=%llu cmd=%s error=%s", (unsigned long long)c->id, req.cmd,
                  hls_err_name(rc));
    send_error(c, req.id, rc, call.why.text);
  }
  hls_ctl_request_free(&req);
}

static int send_frame(struct client *c, uint64_t id, const char *event, int code, const char *message,
                      hls_control_pack_fn pack, void *ctx) {
  if (c->closing) return HLS_ENOTFOUND;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc;
  if (code != 0) {
    rc = hls_ctl_pack_error(&pk, id, code, message);
  } else {
    rc = event ? hls_ctl_begin_event(&pk, id, event) : hls_ctl_begin_result(&pk, id);
    if (rc == 0) rc = pack ? pack(ctx, &pk) : (msgpack_pack_nil(&pk) == 0 ? 0 : HLS_ENOMEM);
  }
  if (rc == 0) rc = hls_ctl_frame_finish(&sb, 0, c->ctl->opt.max_frame);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&sb);
    hls_log_warn("control_stream_failed", "client=%llu error=%s", (unsigned long long)c->id, hls_err_name(rc));
    client_close(c);
    return rc;
  }
  client_send(c, &sb);
  return 0;
}

int hls_control_event(struct hls_control_client *client, uint64_t id, const char *event, hls_control_pack_fn pack,
                      void *ctx) {
  return send_frame((struct client *)(void *)client, id, event, 0, NULL, pack, ctx);
}

int hls_control_reply(struct hls_control_client *client, uint64_t id, int code, const char *message,
                      hls_control_pack_fn pack, void *ctx) {
  return send_frame((struct client *)(void *)client, id, NULL, code, message, pack, ctx);
}

size_t hls_control_queued(const struct hls_control_client *client) {
  return ((const struct client *)(const void *)client)->queued;
}

static void on_timeout(uv_timer_t *t) {
  struct client *c = t->data;
  /* Bytes waiting in the socket mean the client kept sending and this
   * daemon fell behind (a long request, a loaded machine): the timers run
   * before the loop reads, so read them first rather than cut off a
   * client that did nothing wrong. */
  int fd = -1, waiting = 0;
  if (uv_fileno((const uv_handle_t *)&c->pipe, &fd) == 0 && ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0) {
    uv_timer_start(&c->timer, on_timeout, (uint64_t)c->ctl->opt.request_timeout_ms, 0);
    return;
  }
  hls_log_counted_warn("control_request_timeout", "client=%llu buffered_bytes=%zu", (unsigned long long)c->id, c->len);
  client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct client *c = h->data;
  (void)suggested;
  if (c->cap - c->len < READ_CHUNK) {
    size_t cap = c->len + READ_CHUNK;
    uint8_t *p = realloc(c->buf, cap);
    if (p == NULL) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->buf = p;
    c->cap = cap;
  }
  *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct client *c = stream->data;
  (void)buf;
  if (nread == UV_ENOBUFS) {
    hls_log_error("control_out_of_memory", "client=%llu", (unsigned long long)c->id);
    client_close(c);
    return;
  }
  if (nread < 0) {
    if (c->len > 0)
      hls_log_counted_info("control_client_left_mid_request", "client=%llu buffered_bytes=%zu", (unsigned long long)c->id,
                   c->len);
    client_close(c);
    return;
  }
  c->len += (size_t)nread;
  if (nread > 0) c->received = true;
  client_process(c);
}

/* Process every complete frame in the buffer, then decide whether to
 * keep reading. */
static void client_process(struct client *c) {
  struct hls_control *ctl = c->ctl;
  size_t off = 0;
  while (!c->closing && !c->close_after_write && c->len - off >= HLS_CTL_HEADER) {
    if (c->queued > 2 * ctl->opt.max_frame) break; /* slow reader: stop here */
    size_t payload = 0;
    int rc = hls_ctl_frame_length(c->buf + off, ctl->opt.max_frame, &payload);
    if (rc != 0) {
      hls_log_counted_warn("control_bad_frame", "client=%llu error=%s", (unsigned long long)c->id, hls_err_name(rc));
      send_error(c, 0, rc,
                 rc == HLS_ETOOBIG ? "request larger than limits.control_max_frame" : "empty frame");
      c->close_after_write = true; /* framing is lost: cannot resynchronise */
      break;
    }
    if (c->len - off - HLS_CTL_HEADER < payload) break;
    handle_request(c, c->buf + off + HLS_CTL_HEADER, payload);
    off += HLS_CTL_HEADER + payload;
  }
  if (c->closing) return;
  if (off > 0) {
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
  }
  /* Shrink a buffer a large request left behind. */
  if (c->len == 0 && c->cap > 4 * READ_CHUNK) {
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
  }
  bool want_read = !c->close_after_write && c->queued <= 2 * ctl->opt.max_frame;
  if (want_read && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0) c->reading = true;
  } else if (!want_read && c->reading) {
    uv_read_stop((uv_stream_t *)&c->pipe);
    c->reading = false;
  }
  /* The request timeout bounds silence in the middle of a request: it
   * counts from the last bytes received, not from the first of a long
   * stream of requests (hls import keeps the next batch half-sent while
   * hlsd checks the last one), and from now rather than the loop's
   * cached time, which is stale by however long the requests above
   * took to handle. */
  if (c->len > 0 && c->reading) {
    if (c->received || !uv_is_active((uv_handle_t *)&c->timer)) {
      uv_update_time(ctl->loop);
      uv_timer_start(&c->timer, on_timeout, (uint64_t)ctl->opt.request_timeout_ms, 0);
    }
  } else {
    uv_timer_stop(&c->timer);
  }
  c->received = false;
  if (c->close_after_write && c->queued == 0) client_close(c);
}

static void on_connection(uv_stream_t *server, int status) {
  struct hls_control *ctl = server->data;
  if (status < 0) {
    hls_log_counted_warn("control_accept_failed", "error=%s", uv_err_name(status));
    return;
  }
  struct client *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->ctl = ctl;
  c->id = ++ctl->next_client_id;
  uv_pipe_init(ctl->loop, &c->pipe, 0);
  uv_timer_init(ctl->loop, &c->timer);
  c->pipe.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  c->next = ctl->clients;
  if (ctl->clients) ctl->clients->prev = c;
  ctl->clients = c;
  ctl->n_clients++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || read_peer_user(c) != 0) {
    client_close(c);
    return;
  }
  if (ctl->n_clients > ctl->opt.max_clients) {
    hls_log_counted_warn("control_too_many_clients", "limit=%d", ctl->opt.max_clients);
    send_error(c, 0, HLS_ELIMIT, "too many control clients (limits.control_max_clients)");
    c->close_after_write = true;
    return;
  }
  client_process(c);
}

int hls_control_start(struct hls_control **out, uv_loop_t *loop, const char *path,
                      const struct hls_control_options *opt, hls_control_dispatch_fn dispatch,
                      hls_control_disconnect_fn on_disconnect, void *ctx, struct hls_why *why) {
  *out = NULL;
  struct hls_control *ctl = calloc(1, sizeof *ctl);
  if (ctl == NULL) return HLS_ENOMEM;
  if (strlen(path) >= sizeof ctl->path) {
    free(ctl);
    return hls_why_set(why, HLS_ETOOBIG,
                       "control socket path %s is longer than %zu bytes, the Unix socket limit; use a shorter --home",
                       path, sizeof ctl->path - 1);
  }
  memcpy(ctl->path, path, strlen(path) + 1);
  ctl->loop = loop;
  ctl->opt = *opt;
  ctl->dispatch = dispatch;
  ctl->on_disconnect = on_disconnect;
  ctl->ctx = ctx;
  uv_pipe_init(loop, &ctl->server, 0);
  ctl->server.data = ctl;
  ctl->server_open = true;
  /* The caller holds the node lock, so a socket file here is stale. */
  unlink(path);
  int rc = uv_pipe_bind(&ctl->server, path);
  /* chown before chmod: the socket is never open to a group it is not in. */
  if (rc == 0 && opt->group_set && chown(path, (uid_t)-1, opt->group) != 0) {
    int e = errno;
    hls_why_set(why, HLS_EPERM, "control socket %s: cannot give it to group %s: %s%s", path, opt->group_name,
                strerror(e), e == EPERM ? " (hlsd's user must be a member of control.group)" : "");
    ctl->closing = true;
    hls_control_close(ctl);
    return HLS_EPERM;
  }
  if (rc == 0) rc = chmod(path, opt->group_set ? 0660 : 0600) == 0 ? 0 : uv_translate_sys_error(errno);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&ctl->server, 64, on_connection);
  if (rc != 0) {
    hls_why_set(why, HLS_EIO, "control socket %s: %s", path, uv_strerror(rc));
    ctl->closing = true;
    hls_control_close(ctl);
    return HLS_EIO;
  }
  *out = ctl;
  return 0;
}

void hls_control_set_options(struct hls_control *ctl, const struct hls_control_options *opt) { ctl->opt = *opt; }

static void server_closed(uv_handle_t *h) {
  struct hls_control *ctl = h->data;
  ctl->server_open = false;
  maybe_free_control(ctl);
}

void hls_control_close(struct hls_control *ctl) {
  if (ctl == NULL) return;
  ctl->closing = true;
  unlink(ctl->path);
  for (struct client *c = ctl->clients; c != NULL; c = c->next) client_close(c);
  if (!uv_is_closing((uv_handle_t *)&ctl->server)) uv_close((uv_handle_t *)&ctl->server, server_closed);
}
