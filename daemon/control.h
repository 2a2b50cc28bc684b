/* The control socket server: a Unix socket in the data directory, mode
 * 0600 (hlsd's user only), or 0660 owned by control.group so that its
 * members run hls as themselves. Every call carries the caller's user as
 * the kernel reports it (SO_PEERCRED), for attributing changes. It
 * speaks the framed msgpack protocol of protocol/ctl.h.
 *
 * Robustness rules: a client that sends a malformed request gets an error
 * reply and stays connected; one that breaks framing (empty or oversize
 * frame) gets an error reply and is disconnected; one that stops sending
 * half way through a request (nothing received for request_timeout) is
 * disconnected; one that does
 * not read its replies stops being read (back-pressure) rather than
 * growing our memory. None of this affects other clients. */
#ifndef HLS_CONTROL_H
#define HLS_CONTROL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "ctl.h"
#include "err.h"
#include "methods.h"

struct hls_control;
struct hls_control_client;

struct hls_control_call {
  const struct hls_ctl_request *req; /* borrowed */
  msgpack_packer *pk;                /* pack exactly one value: the result */
  struct hls_why why;                /* detail when the handler fails */
  struct hls_control_client *client; /* borrowed; valid during the call */
  const char *user;                  /* borrowed: the caller's user name, or "#N" (a uid with no name) */
  uint32_t uid;                      /* the caller's uid */
  enum hls_user_role role;           /* the caller's role (zero: viewer); a control-socket caller is an admin */
  bool deferred; /* set by a handler that replies later (hls_control_reply) */
  int64_t record_id; /* out: the record a change added (record.add), for the audit log */
};

/* Handle one request. Return 0 after packing the result, or an HLS_E*
 * code with call->why filled (anything packed is then discarded). */
typedef int (*hls_control_dispatch_fn)(void *ctx, struct hls_control_call *call);
/* A client went away; release what the handlers keep for it. */
typedef void (*hls_control_disconnect_fn)(void *ctx, struct hls_control_client *client);

struct hls_control_options {
  size_t max_frame;
  int max_clients;
  int64_t request_timeout_ms;
  bool group_set;               /* give the socket to group (mode 0660); else mode 0600 */
  gid_t group;
  const char *group_name;       /* borrowed, for messages */
};

/* Longest user name kept for a caller (longer ones are shown as "#N"). */
#define HLS_CONTROL_USER_MAX 64

int hls_control_start(struct hls_control **out, uv_loop_t *loop, const char *path,
                      const struct hls_control_options *opt, hls_control_dispatch_fn dispatch,
                      hls_control_disconnect_fn on_disconnect, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* New limits (SIGHUP); existing clients keep their connection. */
void hls_control_set_options(struct hls_control *ctl, const struct hls_control_options *opt);
/* Stop listening, disconnect every client, remove the socket file, and
 * free everything once libuv has closed the handles. NULL is a no-op. */
void hls_control_close(struct hls_control *ctl);

/* Per-client slot for handler state (e.g. an import in progress). */
void *hls_control_client_data(const struct hls_control_client *client);
void hls_control_client_set_data(struct hls_control_client *client, void *data);
uint64_t hls_control_client_id(const struct hls_control_client *client);
/* The connected process's user name (or "#N") and uid, from the kernel. */
const char *hls_control_client_user(const struct hls_control_client *client);
uint32_t hls_control_client_uid(const struct hls_control_client *client);

/* For deferred calls (streams): send an event frame, or the final reply,
 * for request id to a client still connected. pack packs exactly one value
 * (the event data or the result). A frame over max_frame, or no memory,
 * disconnects the client (it cannot be told otherwise). Returns 0 if the
 * frame was queued. */
typedef int (*hls_control_pack_fn)(void *ctx, msgpack_packer *pk);
int hls_control_event(struct hls_control_client *client, uint64_t id, const char *event, hls_control_pack_fn pack,
                      void *ctx);
int hls_control_reply(struct hls_control_client *client, uint64_t id, int code, const char *message,
                      hls_control_pack_fn pack, void *ctx);
/* Reply bytes queued to the client and not yet written. */
size_t hls_control_queued(const struct hls_control_client *client);

#endif
