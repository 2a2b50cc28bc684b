/* Peer connections: resolving and dialling, the Secret Handshake,
 * box-stream framing, reading and writing with back-pressure, the
 * listener.
 *
 * Over 800 lines on purpose: it is one state machine per connection
 * (enum conn_state) whose sections (lifetime, writing, frames, handshake,
 * reading) all act on struct hls_conn and on its close path; split, each
 * file would need the struct and the close rules, which are the part most
 * easily got wrong (libuv handles freed only in their close callbacks). */
#include "net.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "boxstream.h"
#include "gossip.h"
#include "log.h"
#include "nodeid.h"
#include "shs.h"
#include "text.h"
#include "wire.h"

#define NET_OLD_FIRST_MAX 64

enum conn_state { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING };

struct hls_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  uv_getaddrinfo_t gai;
  struct hls_net *net;
  struct hls_conn *prev, *next;
  int state;
  bool inbound, remote_known, gai_pending, closed_notified, reading, want_writable;
  int handles_open;
  uint8_t remote_pk[32];
  char address[HLS_HOSTPORT_MAX + 3];
  int port;
  struct hls_shs shs;
  uint8_t hs_buf[HLS_SHS_MAX_MESSAGE];
  size_t hs_have;
  struct hls_box enc;
  struct hls_box_reader *dec; /* owned */
  struct hls_frame_reader frames; /* frames from box-stream bodies */
  size_t queued;
  int64_t bytes_in, bytes_out;
  uint64_t last_recv;     /* uv_now */
  uint64_t last_frame;    /* uv_now of the last frame handed to on_frame (or of the session's start) */
  uint64_t partial_since; /* uv_now since when part of a frame waits for the rest; 0: none */
  uint8_t addr_key[8];    /* the remote address, for max_per_address: IPv4, or an IPv6 /64 */
  uint8_t addr_family;    /* 4, 6, or 0 when unknown */
  bool exempt;
  bool ping_outstanding;
  uint32_t version; /* the session's protocol version; 0 until the peer's hello */
  bool dialled_old_key; /* outbound: the handshake runs under the previous network key */
  void *data;
  char close_reason[96];
  char close_soon[96]; /* a close asked for inside an upper-layer call: done from the timer */
};

struct hls_net {
  uv_loop_t *loop;
  uv_tcp_t server;
  bool server_open, closing;
  struct hls_net_options opt;
  struct hls_net_callbacks cb;
  void *ctx;
  uint8_t pk[32], sk[64];
  uint8_t netkey[32];
  /* During a key rotation's overlap (docs/protocol.md 7.2): the previous
   * key, accepted from clients; and the peers whose last dial under the
   * newest key got no answer to message 1, dialled next under the old
   * one (alternating, so a peer that gets the new key is not missed). */
  bool has_old;
  uint8_t oldkey[32];
  uint8_t old_first[NET_OLD_FIRST_MAX][32];
  size_t n_old_first;
  char address[HLS_HOSTPORT_MAX + 3];
  struct hls_conn *conns;
  int n_conns, n_handshakes;
  int n_closed; /* in conns, socket already closed, memory not yet freed */
};

struct write_req {
  uv_write_t req;
  struct hls_conn *c;
  size_t len;
  uint8_t data[]; /* the bytes written */
};

static void conn_close(struct hls_conn *c, const char *reason);
static void conn_read_start(struct hls_conn *c);
static void on_timer(uv_timer_t *t);
static void close_handles(struct hls_conn *c);
static void hello_unanswered(struct hls_conn *c);

const uint8_t *hls_conn_remote(const struct hls_conn *c) { return c->remote_known ? c->remote_pk : NULL; }
bool hls_conn_inbound(const struct hls_conn *c) { return c->inbound; }
uint32_t hls_conn_version(const struct hls_conn *c) { return c->version; }
bool hls_conn_is_open(const struct hls_conn *c) { return c->state == C_OPEN; }
const char *hls_conn_address(const struct hls_conn *c) { return c->address; }
void *hls_conn_data(const struct hls_conn *c) { return c->data; }
void hls_conn_set_data(struct hls_conn *c, void *data) { c->data = data; }
void hls_conn_set_exempt(struct hls_conn *c, bool exempt) { c->exempt = exempt; }
int64_t hls_conn_idle_ms(const struct hls_conn *c) { return (int64_t)(uv_now(c->net->loop) - c->last_frame); }
void hls_conn_stats(const struct hls_conn *c, int64_t *bytes_in, int64_t *bytes_out) {
  *bytes_in = c->bytes_in;
  *bytes_out = c->bytes_out;
}
const char *hls_net_address(const struct hls_net *n) { return n->address; }

static const char *peer_label(const struct hls_conn *c, char out[HLS_NODEID_TEXT_SIZE]) {
  if (!c->remote_known) return "unknown";
  hls_nodeid_format(c->remote_pk, out);
  return out;
}

/* --- lifetime --------------------------------------------------------------------- */

static void maybe_free_net(struct hls_net *n) {
  if (n->closing && !n->server_open && n->conns == NULL) {
    sodium_memzero(n->sk, sizeof n->sk);
    sodium_memzero(n->netkey, sizeof n->netkey);
    sodium_memzero(n->oldkey, sizeof n->oldkey);
    free(n);
  }
}

static void conn_free_if_done(struct hls_conn *c) {
  if (c->handles_open > 0 || c->gai_pending) return;
  struct hls_net *n = c->net;
  if (c->prev) c->prev->next = c->next;
  else n->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  n->n_conns--;
  n->n_closed--;
  hls_shs_wipe(&c->shs);
  hls_box_wipe(&c->enc);
  if (c->dec) {
    hls_box_reader_wipe(c->dec);
    free(c->dec);
  }
  hls_frame_reader_free(&c->frames);
  free(c);
  maybe_free_net(n);
}

static void handle_closed(uv_handle_t *h) {
  struct hls_conn *c = h->data;
  c->handles_open--;
  conn_free_if_done(c);
}

/* Close the handles now (no goodbye). */
static void conn_drop(struct hls_conn *c, const char *reason) {
  if (c->state == C_HANDSHAKE && c->inbound) c->net->n_handshakes--;
  bool was_open = c->state == C_OPEN;
  if (c->close_reason[0] == '\0') snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
  c->state = C_CLOSING;
  if (!c->closed_notified) {
    c->closed_notified = true;
    if (c->net->cb.on_close)
      c->net->cb.on_close(c->net->ctx, c, c->remote_known ? c->remote_pk : NULL, was_open, c->close_reason);
  }
  if (c->gai_pending) uv_cancel((uv_req_t *)&c->gai);
  close_handles(c);
}

static void log_close(const struct hls_conn *c, const char *reason) {
  char id[HLS_NODEID_TEXT_SIZE];
  hls_log_counted_info("peer_closed", "peer=%s address=%s direction=%s reason=%s bytes_in=%lld bytes_out=%lld",
               peer_label(c, id), c->address, c->inbound ? "in" : "out", reason, (long long)c->bytes_in,
               (long long)c->bytes_out);
}

static void conn_close(struct hls_conn *c, const char *reason) {
  if (c->state == C_CLOSING) return;
  log_close(c, reason);
  conn_drop(c, reason);
}

/* --- writing ------------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status) {
  struct write_req *w = (struct write_req *)req;
  struct hls_conn *c = w->c;
  c->queued -= w->len;
  free(w);
  if (status < 0) {
    if (c->state != C_CLOSING) conn_close(c, status == UV_EPIPE || status == UV_ECONNRESET ? "peer_hung_up" : "write_failed");
    return;
  }
  if (c->state != C_OPEN) return;
  size_t low = c->net->opt.write_queue / 2;
  if (c->queued <= low) {
    if (!c->reading) conn_read_start(c); /* back-pressure released */
    if (c->want_writable) {
      c->want_writable = false;
      if (c->net->cb.on_writable) c->net->cb.on_writable(c->net->ctx, c);
    }
  }
}

/* Hand a filled request (w->len bytes in w->data) to libuv; it is freed
 * by on_write, or here if libuv refuses it. */
static int submit(struct hls_conn *c, struct write_req *w) {
  w->c = c;
  uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
  c->queued += w->len;
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) < 0) {
    c->queued -= w->len;
    free(w);
    return HLS_EIO;
  }
  c->bytes_out += (int64_t)w->len;
  return 0;
}

/* Queue bytes already in final form (data is copied). */
static int write_raw(struct hls_conn *c, const uint8_t *data, size_t len) {
  struct write_req *w = malloc(sizeof *w + len);
  if (w == NULL) return HLS_ENOMEM;
  w->len = len;
  memcpy(w->data, data, len);
  return submit(c, w);
}

/* Seal application bytes into box-stream messages, in one write. */
static int write_sealed(struct hls_conn *c, const uint8_t *plain, size_t len) {
  size_t sealed = hls_box_sealed_size(len);
  struct write_req *w = malloc(sizeof *w + sealed);
  if (w == NULL) return HLS_ENOMEM;
  size_t o = 0;
  for (size_t off = 0; off < len; off += HLS_BOX_MAX_BODY) {
    size_t chunk = len - off < HLS_BOX_MAX_BODY ? len - off : HLS_BOX_MAX_BODY;
    if (hls_box_seal(&c->enc, plain + off, chunk, w->data + o) != 0) {
      free(w);
      return HLS_EINTERNAL;
    }
    o += HLS_BOX_HEADER + chunk;
  }
  w->len = sealed;
  return submit(c, w);
}

/* Close c at the next turn of the loop, not now: the caller is inside an
 * upper layer's call (the gossip engine, in the middle of walking its
 * sessions), and a close now would run on_close under its feet. */
static void conn_close_soon(struct hls_conn *c, const char *reason) {
  if (c->state != C_OPEN || c->close_soon[0] != '\0') return;
  snprintf(c->close_soon, sizeof c->close_soon, "%s", reason);
  uv_timer_start(&c->timer, on_timer, 0, 0);
}

int hls_conn_send(struct hls_conn *c, const uint8_t *frame, size_t len) {
  if (c->state != C_OPEN || c->close_soon[0] != '\0') return HLS_ECLOSED;
  if (len < HLS_WIRE_HEADER || len - HLS_WIRE_HEADER > c->net->opt.max_frame) return HLS_ETOOBIG;
  /* A frame always fits when nothing waits; otherwise the bound holds. */
  if (c->queued > 0 && c->queued + len > c->net->opt.write_queue) {
    c->want_writable = true;
    return HLS_EBUSY;
  }
  int rc = write_sealed(c, frame, len);
  if (rc != 0) conn_close_soon(c, "write_failed");
  return rc;
}

static void send_session_frame(struct hls_conn *c, msgpack_sbuffer *sb) {
  /* Session frames are small and must not be refused by back-pressure
   * (a pong may be what unblocks the peer): write them directly. */
  if (c->state == C_OPEN && write_sealed(c, (const uint8_t *)sb->data, sb->size) != 0) conn_close(c, "write_failed");
}

static void close_handles(struct hls_conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, handle_closed); /* closes the socket now */
    c->net->n_closed++;
  }
  if (!uv_is_closing((uv_handle_t *)&c->timer)) uv_close((uv_handle_t *)&c->timer, handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  close_handles(req->data);
}

static void on_close_grace(uv_timer_t *t) { close_handles(t->data); }

void hls_conn_close(struct hls_conn *c, const char *reason) {
  if (c->state == C_CLOSING) return;
  if (c->state != C_OPEN) {
    conn_close(c, reason);
    return;
  }
  /* An authenticated goodbye tells the peer this is a real end, not a
   * reset. Shut down the write side once everything queued (the goodbye
   * last) is written, then close; a peer that does not read gets 5 s. */
  uint8_t bye[HLS_BOX_HEADER];
  hls_box_goodbye(&c->enc, bye);
  log_close(c, reason);
  snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
  c->state = C_CLOSING;
  if (!c->closed_notified) {
    c->closed_notified = true;
    if (c->net->cb.on_close) c->net->cb.on_close(c->net->ctx, c, c->remote_pk, true, reason);
  }
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = false;
  c->shutdown_req.data = c;
  if (write_raw(c, bye, sizeof bye) != 0 ||
      uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    close_handles(c);
    return;
  }
  uv_timer_start(&c->timer, on_close_grace, 5000, 0);
}

/* --- frames ------------------------------------------------------------------------- */

static int handle_frame(struct hls_conn *c, const uint8_t *payload, size_t len) {
  int type;
  struct hls_why why = {{0}};
  if (hls_frame_type(payload, len, &type) != 0) {
    conn_close(c, "malformed_frame");
    return HLS_EMALFORMED;
  }
  if (type == HLS_FRAME_HELLO) {
    uint32_t version;
    if (c->version != 0 || hls_frame_hello_decode(payload, len, &version, &why) != 0) {
      conn_close(c, "malformed_hello"); /* a second hello is one too */
      return HLS_EMALFORMED;
    }
    c->version = version < HLS_WIRE_VERSION ? version : HLS_WIRE_VERSION;
    return 0;
  }
  if (c->version == 0) { /* the hello comes first */
    conn_close(c, "no_hello");
    return HLS_EMALFORMED;
  }
  if (type == HLS_FRAME_PING || type == HLS_FRAME_PONG) {
    const uint8_t *data;
    size_t data_len;
    if (hls_frame_ping_decode(payload, len, &data, &data_len, &why) != 0) {
      conn_close(c, "malformed_ping");
      return HLS_EMALFORMED;
    }
    if (type == HLS_FRAME_PONG) {
      c->ping_outstanding = false;
      return 0;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (hls_frame_ping(&sb, HLS_FRAME_PONG, data, data_len) == 0) send_session_frame(c, &sb);
    msgpack_sbuffer_destroy(&sb);
    return 0;
  }
  c->last_frame = uv_now(c->net->loop);
  int frc = c->net->cb.on_frame ? c->net->cb.on_frame(c->net->ctx, c, payload, len, &why) : 0;
  if (frc != 0) {
    char id[HLS_NODEID_TEXT_SIZE], quoted[300];
    hls_text_sanitize(why.text);
    /* The peer's fault, or this node's (a store error): only the first
     * counts against the peer. */
    bool peer_fault = hls_gossip_peer_fault(frc);
    if (peer_fault)
      hls_log_counted_warn("peer_bad_frame", "peer=%s type=%d error=%s detail=%s", peer_label(c, id), type, hls_err_name(frc),
                   hls_log_quote(why.text, quoted, sizeof quoted));
    else
      hls_log_error("session_local_error", "peer=%s type=%d error=%s detail=%s", peer_label(c, id), type,
                    hls_err_name(frc), hls_log_quote(why.text, quoted, sizeof quoted));
    conn_close(c, peer_fault ? "bad_frame" : "local_error");
    return HLS_EMALFORMED;
  }
  return 0;
}

static int on_frame_ready(void *ctx, const uint8_t *payload, size_t len) {
  struct hls_conn *c = ctx;
  c->partial_since = 0; /* frames come one after another: nothing of a later one is pending */
  int rc = handle_frame(c, payload, len);
  return rc != 0 ? rc : c->state == C_OPEN ? 0 : HLS_ECLOSED;
}

/* Box-stream bodies -> frames (length header, then payload). */
static int on_body(void *ctx, const uint8_t *plain, size_t len) {
  struct hls_conn *c = ctx;
  if (c->state != C_OPEN) return HLS_ECLOSED;
  struct hls_why why = {{0}};
  int rc = hls_frame_reader_feed(&c->frames, plain, len, on_frame_ready, c, &why);
  if (rc != 0 && c->state == C_OPEN) { /* the reader's own error: the frame layer broken */
    char id[HLS_NODEID_TEXT_SIZE], quoted[300];
    hls_log_counted_warn("peer_bad_frame", "peer=%s detail=%s", peer_label(c, id), hls_log_quote(why.text, quoted, sizeof quoted));
    conn_close(c, rc == HLS_EMALFORMED ? "empty_frame" : rc == HLS_ETOOBIG ? "frame_too_large" : "out_of_memory");
  }
  return rc;
}

/* --- handshake ------------------------------------------------------------------------ */


/* How often an open session's timer looks at its clocks: often enough to
 * hold the keepalive and the frame deadline to within half of each. */
static uint64_t session_tick_ms(const struct hls_net_options *o) {
  int64_t t = o->keepalive_ms < o->frame_timeout_ms ? o->keepalive_ms : o->frame_timeout_ms;
  t /= 2;
  return t < 100 ? 100 : (uint64_t)t;
}

static void session_open(struct hls_conn *c) {
  struct hls_shs_result res;
  if (hls_shs_result(&c->shs, &res) != 0) {
    conn_close(c, "internal_error");
    return;
  }
  bool previous = c->inbound ? c->shs.used_alt : c->dialled_old_key;
  hls_shs_wipe(&c->shs);
  c->dec = malloc(sizeof *c->dec);
  if (c->dec == NULL) {
    sodium_memzero(&res, sizeof res);
    conn_close(c, "out_of_memory");
    return;
  }
  hls_frame_reader_init(&c->frames, c->net->opt.max_frame);
  hls_box_init(&c->enc, res.enc_key, res.enc_nonce);
  hls_box_reader_init(c->dec, res.dec_key, res.dec_nonce);
  sodium_memzero(&res, sizeof res);
  if (c->inbound) c->net->n_handshakes--;
  c->state = C_OPEN;
  c->last_recv = c->last_frame = uv_now(c->net->loop);
  c->partial_since = 0;
  uint64_t tick = session_tick_ms(&c->net->opt);
  uv_timer_start(&c->timer, on_timer, tick, tick);
  char id[HLS_NODEID_TEXT_SIZE];
  /* During a key rotation's overlap: say when the session runs under the
   * previous network key (the peer lacks the newest yet, or we do). */
  hls_log_counted_info("peer_connected", "peer=%s address=%s direction=%s%s", peer_label(c, id), c->address,
               c->inbound ? "in" : "out", previous ? " network_key=previous" : "");
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  if (hls_frame_hello(&sb) == 0) send_session_frame(c, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (c->state == C_OPEN && c->net->cb.on_open) c->net->cb.on_open(c->net->ctx, c);
}

/* Feed handshake bytes; returns bytes used, or -1 if the connection
 * closed. */
static ssize_t handshake_feed(struct hls_conn *c, const uint8_t *in, size_t len) {
  size_t want = hls_shs_want(&c->shs);
  size_t take = want - c->hs_have < len ? want - c->hs_have : len;
  memcpy(c->hs_buf + c->hs_have, in, take);
  c->hs_have += take;
  if (c->hs_have < want) return (ssize_t)take;
  c->hs_have = 0;
  uint8_t out[HLS_SHS_MAX_MESSAGE];
  size_t out_len = 0;
  struct hls_why why = {{0}};
  if (hls_shs_read(&c->shs, c->hs_buf, want, out, &out_len, &why) != 0) {
    /* No reply of any kind: an outsider learns nothing. */
    hls_log_counted_warn("peer_refused", "address=%s direction=%s reason=handshake_failed detail=\"%s\"", c->address,
                 c->inbound ? "in" : "out", why.text);
    snprintf(c->close_reason, sizeof c->close_reason, "handshake_failed");
    conn_drop(c, "handshake_failed");
    return -1;
  }
  if (out_len > 0 && write_raw(c, out, out_len) != 0) {
    conn_close(c, "write_failed");
    return -1;
  }
  if (c->shs.state == HLS_SHS_WAIT_DECISION) {
    memcpy(c->remote_pk, c->shs.remote_pk, 32);
    c->remote_known = true;
    const char *refusal = NULL;
    if (sodium_memcmp(c->remote_pk, c->net->pk, 32) == 0) refusal = "self";
    else if (c->net->cb.allow) refusal = c->net->cb.allow(c->net->ctx, c->remote_pk, true);
    if (refusal != NULL) {
      char id[HLS_NODEID_TEXT_SIZE];
      hls_log_counted_warn("peer_refused", "peer=%s address=%s direction=in reason=%s", peer_label(c, id), c->address, refusal);
      snprintf(c->close_reason, sizeof c->close_reason, "%s", refusal);
      conn_drop(c, refusal);
      return -1;
    }
    uint8_t accept[HLS_SHS_ACCEPT_BYTES];
    if (hls_shs_server_accept(&c->shs, accept) != 0 || write_raw(c, accept, sizeof accept) != 0) {
      conn_close(c, "write_failed");
      return -1;
    }
  }
  if (hls_shs_done(&c->shs)) {
    if (!c->inbound) {
      c->remote_known = true;
      memcpy(c->remote_pk, c->shs.remote_pk, 32);
      const char *refusal = c->net->cb.allow ? c->net->cb.allow(c->net->ctx, c->remote_pk, false) : NULL;
      if (refusal != NULL) {
        conn_close(c, refusal);
        return -1;
      }
    }
    session_open(c);
    if (c->state != C_OPEN) return -1;
  }
  return (ssize_t)take;
}

/* --- reading ------------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  /* A fresh 64 KiB each read keeps nothing of a peer buffered here. */
  (void)suggested;
  char *p = malloc(65536);
  *buf = uv_buf_init(p, p ? 65536 : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct hls_conn *c = s->data;
  if (nread < 0) {
    free(buf->base);
    if (c->state == C_CLOSING) return;
    if (nread == UV_EOF || nread == UV_ECONNRESET) { /* closed or aborted by the peer: not our error */
      if (!c->inbound && c->state == C_HANDSHAKE && c->shs.state == HLS_SHS_WAIT_HELLO) hello_unanswered(c);
      conn_close(c, c->state == C_OPEN ? "peer_closed_without_goodbye" : "peer_hung_up_during_handshake");
    } else if (nread == UV_ENOBUFS)
      conn_close(c, "out_of_memory");
    else
      conn_close(c, "read_failed");
    return;
  }
  size_t off = 0, len = (size_t)nread;
  const uint8_t *in = (const uint8_t *)buf->base;
  c->bytes_in += nread;
  c->last_recv = uv_now(c->net->loop);
  while (off < len && (c->state == C_HANDSHAKE)) {
    ssize_t used = handshake_feed(c, in + off, len - off);
    if (used < 0) break;
    off += (size_t)used;
  }
  if (off < len && c->state == C_OPEN) {
    size_t used = 0;
    int rc = hls_box_reader_feed(c->dec, in + off, len - off, &used, on_body, c);
    if (rc != 0 && c->state == C_OPEN)
      conn_close(c, rc == HLS_EBADSIG ? "box_stream_invalid" : rc == HLS_EMALFORMED ? "box_stream_malformed"
                                                                                      : "box_stream_error");
    else if (c->state == C_OPEN && c->dec->ended)
      hls_conn_close(c, "goodbye"); /* answer with our own goodbye */
    /* Part of a box message or of a frame waits for the rest: the frame
     * deadline runs from now (or from the last frame completed). */
    bool partial = c->state == C_OPEN && (c->dec->in_body || c->dec->have > 0 || c->frames.hdr_have > 0);
    if (!partial) c->partial_since = 0;
    else if (c->partial_since == 0) c->partial_since = uv_now(c->net->loop);
  }
  free(buf->base);
  /* Back-pressure: a peer that does not read what we send stops being
   * read from. */
  if (c->state == C_OPEN && c->queued > c->net->opt.write_queue && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static void conn_read_start(struct hls_conn *c) {
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
  else conn_close(c, "read_failed");
}

static void on_timer(uv_timer_t *t) {
  struct hls_conn *c = t->data;
  if (c->state == C_OPEN && c->close_soon[0] != '\0') {
    conn_close(c, c->close_soon);
    return;
  }
  if (c->state == C_HANDSHAKE || c->state == C_CONNECTING || c->state == C_RESOLVING) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_log_counted_warn("peer_refused", "peer=%s address=%s direction=%s reason=handshake_timeout", peer_label(c, id),
                 c->address, c->inbound ? "in" : "out");
    snprintf(c->close_reason, sizeof c->close_reason, "handshake_timeout");
    conn_drop(c, "handshake_timeout");
    return;
  }
  if (c->state != C_OPEN) return;
  uint64_t now = uv_now(c->net->loop);
  if (c->partial_since != 0 && now - c->partial_since >= (uint64_t)c->net->opt.frame_timeout_ms) {
    /* A peer that trickles a frame would hold its slot for ever. */
    conn_close(c, "frame_timeout");
    return;
  }
  uint64_t silent = now - c->last_recv;
  if (silent >= 3 * (uint64_t)c->net->opt.keepalive_ms) {
    /* With reading paused by back-pressure the silence is ours: the peer
     * may be sending all along, but has not read what we sent. */
    conn_close(c, c->reading ? "idle_timeout" : "peer_not_reading");
    return;
  }
  if (silent >= (uint64_t)c->net->opt.keepalive_ms && !c->ping_outstanding) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (hls_frame_ping(&sb, HLS_FRAME_PING, NULL, 0) == 0) send_session_frame(c, &sb);
    msgpack_sbuffer_destroy(&sb);
    c->ping_outstanding = true;
  }
}

/* --- connections ----------------------------------------------------------------------------- */

static struct hls_conn *conn_new(struct hls_net *n, bool inbound) {
  struct hls_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->net = n;
  c->inbound = inbound;
  uv_tcp_init(n->loop, &c->tcp);
  uv_timer_init(n->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  c->next = n->conns;
  if (n->conns) n->conns->prev = c;
  n->conns = c;
  n->n_conns++;
  return c;
}

/* The part of a peer's address that max_per_address counts by: an IPv4
 * address, or the /64 of an IPv6 one (one site's hosts share it). */
static void address_key(struct hls_conn *c, const struct sockaddr *sa) {
  memset(c->addr_key, 0, sizeof c->addr_key);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    memcpy(c->addr_key, &in->sin_addr, 4);
    c->addr_family = 4;
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    bool mapped = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
    if (mapped) memcpy(c->addr_key, in6->sin6_addr.s6_addr + 12, 4);
    else memcpy(c->addr_key, in6->sin6_addr.s6_addr, 8); /* the /64 */
    c->addr_family = mapped ? 4 : 6;
  }
}

/* Inbound connections from c's address that count against it: handshakes
 * in progress and sessions of peers the admin did not list. */
static int from_same_address(const struct hls_net *n, const struct hls_conn *c) {
  int k = 0;
  for (const struct hls_conn *o = n->conns; o != NULL; o = o->next)
    if (o != c && o->inbound && o->addr_family == c->addr_family && !o->exempt && o->state != C_CLOSING &&
        memcmp(o->addr_key, c->addr_key, sizeof c->addr_key) == 0)
      k++;
  return k;
}

static void format_sockaddr(const struct sockaddr *sa, char *out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    uv_ip4_name(in, host, sizeof host);
    port = ntohs(in->sin_port);
    snprintf(out, size, "%s:%d", host, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    uv_ip6_name(in6, host, sizeof host);
    port = ntohs(in6->sin6_port);
    snprintf(out, size, "[%s]:%d", host, port);
  } else {
    snprintf(out, size, "?");
  }
}

static ptrdiff_t old_first_find(const struct hls_net *n, const uint8_t pk[32]) {
  for (size_t i = 0; i < n->n_old_first; i++)
    if (memcmp(n->old_first[i], pk, 32) == 0) return (ptrdiff_t)i;
  return -1;
}

/* An outbound handshake ended before the server's hello: the server did
 * not take our key. Next time, the other key (while there are two). */
static void hello_unanswered(struct hls_conn *c) {
  struct hls_net *n = c->net;
  ptrdiff_t i = old_first_find(n, c->remote_pk);
  if (c->dialled_old_key && i >= 0) {
    memmove(n->old_first[i], n->old_first[n->n_old_first - 1], 32);
    n->n_old_first--;
  } else if (!c->dialled_old_key && n->has_old && i < 0) {
    if (n->n_old_first == NET_OLD_FIRST_MAX) memmove(n->old_first[0], n->old_first[1], 32 * --n->n_old_first);
    memcpy(n->old_first[n->n_old_first++], c->remote_pk, 32);
  }
  if (n->cb.hello_unanswered) n->cb.hello_unanswered(n->ctx, c->remote_pk);
}

static void start_handshake(struct hls_conn *c, const uint8_t *server_pk) {
  uint8_t random[32];
  randombytes_buf(random, sizeof random);
  struct hls_net *n = c->net;
  c->dialled_old_key = server_pk != NULL && n->has_old && old_first_find(n, server_pk) >= 0;
  int rc = hls_shs_init(&c->shs, server_pk ? HLS_SHS_CLIENT : HLS_SHS_SERVER, c->dialled_old_key ? n->oldkey : n->netkey,
                        n->pk, n->sk, server_pk, random);
  if (rc == 0 && server_pk == NULL && n->has_old) hls_shs_server_also(&c->shs, n->oldkey);
  sodium_memzero(random, sizeof random);
  if (rc != 0) {
    conn_close(c, "internal_error");
    return;
  }
  c->state = C_HANDSHAKE;
  if (server_pk) {
    uint8_t hello[HLS_SHS_HELLO_BYTES];
    hls_shs_client_hello(&c->shs, hello);
    if (write_raw(c, hello, sizeof hello) != 0) {
      conn_close(c, "write_failed");
      return;
    }
  }
  conn_read_start(c);
}

static void on_connection(uv_stream_t *server, int status) {
  struct hls_net *n = server->data;
  if (status < 0) {
    hls_log_counted_warn("peer_accept_failed", "error=%s", uv_err_name(status));
    return;
  }
  struct hls_conn *c = conn_new(n, true);
  if (c == NULL) {
    hls_log_counted_warn("peer_accept_failed", "error=out_of_memory");
    return;
  }
  int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
  if (rc != 0) {
    hls_log_counted_warn("peer_accept_failed", "error=%s", uv_err_name(rc));
    conn_drop(c, "accept_failed");
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    format_sockaddr((struct sockaddr *)&ss, c->address, sizeof c->address);
    address_key(c, (struct sockaddr *)&ss);
  }
  uv_tcp_nodelay(&c->tcp, 1);
  const char *limit = NULL;
  /* Connections already closed wait for the end of this loop turn to be
   * freed: a burst of refusals must not count itself as connections. The
   * hard bound is sessions plus handshakes; how many sessions, and how many
   * of them unlisted, is decided once the peer's identity is known (the
   * allow callback), so that a listed peer still finds a slot. */
  if (n->n_conns - n->n_closed > n->opt.max_connections + n->opt.max_handshakes) limit = "too_many_connections";
  else if (n->n_handshakes >= n->opt.max_handshakes) limit = "too_many_handshakes";
  else if (n->opt.max_per_address > 0 && c->addr_family != 0 && from_same_address(n, c) >= n->opt.max_per_address)
    limit = "too_many_from_address";
  if (limit != NULL) {
    hls_log_counted_warn("peer_refused", "address=%s direction=in reason=%s", c->address, limit);
    c->state = C_CONNECTING; /* not counted as a handshake */
    conn_drop(c, limit);
    return;
  }
  n->n_handshakes++;
  c->state = C_HANDSHAKE;
  uv_timer_start(&c->timer, on_timer, (uint64_t)n->opt.handshake_timeout_ms, 0);
  start_handshake(c, NULL);
}

static void on_connect(uv_connect_t *req, int status) {
  struct hls_conn *c = req->data;
  if (c->state == C_CLOSING) return;
  if (status < 0) {
    char reason[64];
    snprintf(reason, sizeof reason, "connect_failed(%s)", uv_err_name(status));
    conn_close(c, reason);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  start_handshake(c, c->remote_pk);
}

/* Start connecting; a libuv error (nothing closed) if it cannot start. */
static int connect_to(struct hls_conn *c, const struct sockaddr *sa) {
  c->state = C_CONNECTING;
  c->connect_req.data = c;
  return uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connect);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct hls_conn *c = req->data;
  c->gai_pending = false;
  if (c->state == C_CLOSING) {
    uv_freeaddrinfo(res);
    conn_free_if_done(c);
    return;
  }
  if (status < 0 || res == NULL) {
    uv_freeaddrinfo(res);
    conn_close(c, "name_not_resolved");
    return;
  }
  int rc = connect_to(c, res->ai_addr);
  uv_freeaddrinfo(res);
  if (rc < 0) {
    char reason[64];
    snprintf(reason, sizeof reason, "connect_failed(%s)", uv_err_name(rc));
    conn_close(c, reason);
  }
}

struct hls_conn *hls_net_dial(struct hls_net *n, const char *host, int port, const uint8_t pk[32],
                              struct hls_why *why) {
  if (n->closing) {
    hls_why_set(why, HLS_ECLOSED, "shutting down");
    return NULL;
  }
  if (n->n_conns - n->n_closed >= n->opt.max_connections) {
    hls_why_set(why, HLS_ELIMIT, "network.max_connections reached");
    return NULL;
  }
  struct hls_conn *c = conn_new(n, false);
  if (c == NULL) {
    hls_why_set(why, HLS_ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(c->remote_pk, pk, 32);
  c->port = port;
  struct hls_hostport hp = {0};
  snprintf(hp.host, sizeof hp.host, "%s", host);
  hp.port = port;
  hp.is_ipv6 = strchr(host, ':') != NULL;
  hls_hostport_format(&hp, c->address);
  uv_timer_start(&c->timer, on_timer, (uint64_t)n->opt.handshake_timeout_ms, 0);
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  int rc;
  const char *failed = "connect_failed";
  if (uv_ip4_addr(host, port, &in4) == 0) {
    rc = connect_to(c, (const struct sockaddr *)&in4);
  } else if (uv_ip6_addr(host, port, &in6) == 0) {
    rc = connect_to(c, (const struct sockaddr *)&in6);
  } else {
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->state = C_RESOLVING;
    c->gai.data = c;
    rc = uv_getaddrinfo(n->loop, &c->gai, on_resolved, host, service, &hints);
    if (rc == 0) c->gai_pending = true;
    failed = "name_not_resolved";
  }
  if (rc != 0) {
    /* The caller learns of it from the NULL return, not from on_close:
     * it does not hold the connection yet. */
    hls_why_set(why, HLS_EIO, "%s: %s", failed, uv_err_name(rc));
    c->closed_notified = true;
    conn_close(c, failed);
    return NULL;
  }
  return c;
}

/* --- the listener ------------------------------------------------------------------------------- */

int hls_net_start(struct hls_net **out, uv_loop_t *loop, const struct hls_identity *id, const uint8_t network_key[32],
                  const struct hls_net_options *opt, const struct hls_net_callbacks *cb, void *ctx,
                  struct hls_why *why) {
  *out = NULL;
  struct hls_net *n = calloc(1, sizeof *n);
  if (n == NULL) return HLS_ENOMEM;
  n->loop = loop;
  n->opt = *opt;
  n->cb = *cb;
  n->ctx = ctx;
  memcpy(n->pk, id->public_key, 32);
  memcpy(n->sk, id->secret_key, 64);
  memcpy(n->netkey, network_key, 32);
  struct hls_hostport hp;
  struct hls_why detail;
  if (hls_hostport_parse(opt->listen, &hp, false, true, &detail) != 0) {
    free(n);
    return hls_why_set(why, HLS_ECONFIG, "network.listen: %s", detail.text);
  }
  struct sockaddr_storage ss;
  int rc = hp.is_ipv6 ? uv_ip6_addr(hp.host, hp.port, (struct sockaddr_in6 *)&ss)
                      : uv_ip4_addr(hp.host, hp.port, (struct sockaddr_in *)&ss);
  uv_tcp_init(loop, &n->server);
  n->server.data = n;
  n->server_open = true;
  if (rc == 0) rc = uv_tcp_bind(&n->server, (const struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&n->server, 128, on_connection);
  if (rc != 0) {
    hls_why_set(why, HLS_EIO, "cannot listen on %s: %s", opt->listen, uv_strerror(rc));
    n->closing = true;
    hls_net_close(n);
    return HLS_EIO;
  }
  int len = sizeof ss;
  if (uv_tcp_getsockname(&n->server, (struct sockaddr *)&ss, &len) == 0)
    format_sockaddr((struct sockaddr *)&ss, n->address, sizeof n->address);
  *out = n;
  return 0;
}

void hls_net_set_keys(struct hls_net *n, const uint8_t key[32], const uint8_t *old) {
  memcpy(n->netkey, key, 32);
  n->has_old = old != NULL;
  if (old != NULL) memcpy(n->oldkey, old, 32);
  else sodium_memzero(n->oldkey, sizeof n->oldkey);
  if (old == NULL) n->n_old_first = 0;
}

void hls_net_set_identity(struct hls_net *n, const struct hls_identity *id) {
  memcpy(n->pk, id->public_key, 32);
  memcpy(n->sk, id->secret_key, 64);
}

void hls_net_set_options(struct hls_net *n, const struct hls_net_options *opt) {
  char listen[sizeof n->opt.listen];
  memcpy(listen, n->opt.listen, sizeof listen);
  n->opt = *opt;
  memcpy(n->opt.listen, listen, sizeof listen);
  for (struct hls_conn *c = n->conns; c != NULL; c = c->next) c->frames.max = opt->max_frame;
}

static void server_closed(uv_handle_t *h) {
  struct hls_net *n = h->data;
  n->server_open = false;
  maybe_free_net(n);
}

void hls_net_close(struct hls_net *n) {
  if (n == NULL) return;
  n->closing = true;
  for (struct hls_conn *c = n->conns; c != NULL;) {
    struct hls_conn *next = c->next;
    hls_conn_close(c, "shutting_down");
    c = next;
  }
  if (!uv_is_closing((uv_handle_t *)&n->server)) uv_close((uv_handle_t *)&n->server, server_closed);
  else maybe_free_net(n);
}
