/* Peer connections on libuv TCP: Secret Handshake, then box streams
 * carrying frames (protocol/shs.h, boxstream.h, wire.h).
 *
 * The net layer owns the listener, the dialer, the handshake (with its
 * timeout and the limits on connections and handshakes in progress), the
 * box streams and the session basics (the hello frame, keepalive pings,
 * answering pings). Everything else a peer sends goes to on_frame. It never
 * replies to a peer that fails the handshake: the connection just closes,
 * so an outsider learns nothing. Every refusal and close is logged with its
 * reason. */
#ifndef HLS_NET_H
#define HLS_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "home.h"

struct hls_net;
struct hls_conn;

struct hls_net_options {
  char listen[300];          /* HOST:PORT, an IP literal; port 0 picks one */
  int64_t handshake_timeout_ms;
  int max_connections;       /* established + in progress */
  int max_handshakes;        /* inbound handshakes in progress */
  size_t max_frame;          /* largest frame a peer may send */
  size_t write_queue;        /* bytes queued to one peer before sends are refused */
  int64_t keepalive_ms;      /* ping after this much silence; close after three times it */
  int64_t frame_timeout_ms;  /* a frame begun must be complete within this (a trickle holds no slot) */
  int max_per_address;       /* inbound connections from one address (IPv4, or IPv6 /64) that are
                                handshaking or unlisted sessions; 0: no limit */
};

struct hls_net_callbacks {
  /* May this identity talk to us? NULL to allow, else the reason to refuse
   * (logged; nothing is sent to the peer). */
  const char *(*allow)(void *ctx, const uint8_t pk[32], bool inbound);
  /* A session is up: handshake done, identity allowed. */
  void (*on_open)(void *ctx, struct hls_conn *c);
  /* A frame that is not a session frame (payload borrowed). A non-zero
   * return closes the connection with why as the reason. */
  int (*on_frame)(void *ctx, struct hls_conn *c, const uint8_t *payload, size_t len, struct hls_why *why);
  /* The write queue drained after a send was refused with HLS_EBUSY. */
  void (*on_writable)(void *ctx, struct hls_conn *c);
  /* Every connection ends here once, opened or not; remote is NULL if the
   * peer never proved an identity. Called synchronously from inside
   * hls_conn_close (and from net callbacks), so it must not free anything
   * its caller may still hold. The connection stays valid until it returns. */
  void (*on_close)(void *ctx, struct hls_conn *c, const uint8_t *remote, bool was_open, const char *reason);
  /* An outbound connection to pk closed before the server's hello: the
   * server did not take our network key (docs/protocol.md 6: it answers
   * nothing). May be NULL. Called just before on_close. */
  void (*hello_unanswered)(void *ctx, const uint8_t pk[32]);
};

int hls_net_start(struct hls_net **out, uv_loop_t *loop, const struct hls_identity *id, const uint8_t network_key[32],
                  const struct hls_net_options *opt, const struct hls_net_callbacks *cb, void *ctx,
                  struct hls_why *why) HLS_WARN_UNUSED;
/* The network keys (a rotation, docs/protocol.md 7.2): key is dialled
 * with and accepted; old (NULL: none) is accepted too, and dialled with
 * after a dial under key got no answer. Sessions up are not touched. */
void hls_net_set_keys(struct hls_net *n, const uint8_t key[32], const uint8_t *old);
/* New limits (SIGHUP); the listen address needs a restart. */
/* The node's keys for the handshakes from now on (hls identity rotate);
 * sessions already open keep theirs until closed. */
void hls_net_set_identity(struct hls_net *n, const struct hls_identity *id);
void hls_net_set_options(struct hls_net *n, const struct hls_net_options *opt);
/* Close the listener and every connection (goodbyes sent where open); the
 * memory goes once libuv has closed every handle. NULL is a no-op. */
void hls_net_close(struct hls_net *n);
/* "HOST:PORT" actually listened on. */
const char *hls_net_address(const struct hls_net *n);

/* Connect to pk at host:port (a DNS name or IP literal). The outcome comes
 * through on_open or on_close. Returns the connection (borrowed) or NULL
 * with why (a limit). */
struct hls_conn *hls_net_dial(struct hls_net *n, const char *host, int port, const uint8_t pk[32],
                              struct hls_why *why);

/* Send one frame (length header included, as protocol/wire.h builds
 * them). HLS_EBUSY when the peer is slow (more than write_queue bytes wait):
 * nothing is queued; on_writable follows. HLS_ECLOSED if closing. */
int hls_conn_send(struct hls_conn *c, const uint8_t *frame, size_t len) HLS_WARN_UNUSED;
/* End the session: a goodbye, then close. on_close runs before this
 * returns (once; later calls do nothing). */
void hls_conn_close(struct hls_conn *c, const char *reason);

const uint8_t *hls_conn_remote(const struct hls_conn *c); /* NULL before the handshake */
bool hls_conn_inbound(const struct hls_conn *c);
/* The session's protocol version (the lower hello), 0 before the hello. */
uint32_t hls_conn_version(const struct hls_conn *c);
bool hls_conn_is_open(const struct hls_conn *c);
const char *hls_conn_address(const struct hls_conn *c);
void hls_conn_stats(const struct hls_conn *c, int64_t *bytes_in, int64_t *bytes_out);
/* Upper-layer state. */
void *hls_conn_data(const struct hls_conn *c);
void hls_conn_set_data(struct hls_conn *c, void *data);
/* A session of a peer the admin listed: not counted against its address
 * (network.max_per_address). */
void hls_conn_set_exempt(struct hls_conn *c, bool exempt);
/* Milliseconds since the peer last sent a frame other than hello, ping and
 * pong (since the session opened, if none). */
int64_t hls_conn_idle_ms(const struct hls_conn *c);

#endif
