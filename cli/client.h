/* hls side of the control socket: blocking, one request at a time. */
#ifndef HLS_CLIENT_H
#define HLS_CLIENT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "err.h"
#include "methods.h"

struct hls_client {
  int fd;
  uint64_t next_id;
  int timeout_ms; /* per reply frame; <= 0 waits forever */
  char socket_path[4096];
  /* The last hls_client_call sent a change and then lost its reply (no
   * answer in time, or the connection broke): it may have been made. */
  bool outcome_unknown;
};

/* Connect to DIR/hlsd.sock. HLS_ENOTRUNNING (with a message saying how to
 * start hlsd) when nothing listens there. */
int hls_client_connect(struct hls_client *c, const char *home, bool home_from_flag, struct hls_why *why) HLS_WARN_UNUSED;
void hls_client_close(struct hls_client *c);

/* A request being built: pack exactly one value (the args map, or nil)
 * into pk after hls_client_begin. The method is one of the table's
 * (protocol/methods.def): hls cannot call a method hlsd does not have. */
struct hls_client_req {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id;
  bool changes; /* its method changes the node (HLS_MF_CHANGES) */
};
void hls_client_begin(struct hls_client *c, struct hls_client_req *r, enum hls_method_id method);
void hls_client_req_free(struct hls_client_req *r);

/* Called for every event frame before the reply. */
typedef void (*hls_client_event_fn)(void *ctx, const struct hls_ctl_response *event);

/* Send r, then read frames until the reply. On a result, resp holds it
 * (free with hls_ctl_response_free) and 0 is returned; on an error reply,
 * the daemon's code is returned with its message in why. A busy reply
 * (nothing done: hlsd still computing patterns after its start, or its
 * store locked) is asked again every 250 ms for up to
 * HLS_CLIENT_BUSY_WAIT_MS, saying why on stderr. */
#define HLS_CLIENT_BUSY_WAIT_MS 300000
int hls_client_call(struct hls_client *c, struct hls_client_req *r, struct hls_ctl_response *resp,
                    hls_client_event_fn on_event, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* The two halves of hls_client_call, for pipelining: send requests, then
 * read their replies in order. */
int hls_client_send(struct hls_client *c, struct hls_client_req *r, struct hls_why *why) HLS_WARN_UNUSED;
int hls_client_reply(struct hls_client *c, uint64_t id, struct hls_ctl_response *resp, hls_client_event_fn on_event,
                     void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

/* Read the next frame, whatever request it belongs to (streams): resp owns
 * its bytes. An error reply is returned as a response of kind ERROR. */
int hls_client_read(struct hls_client *c, struct hls_ctl_response *resp, struct hls_why *why) HLS_WARN_UNUSED;
/* True if a frame (or the end of the connection) can be read now. */
bool hls_client_readable(struct hls_client *c);

#endif
