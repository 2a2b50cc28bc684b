/* The control-socket protocol between hls and hlsd (docs/control.md).
 *
 * Each message is a frame: a 4-byte big-endian payload length, then that
 * many bytes of one msgpack map.
 *   request:  {"v": 1, "id": N, "cmd": "record.add", "args": {...}}
 *   reply:    {"id": N, "ok": true, "result": <value>}
 *             {"id": N, "ok": false, "error": {"code": "not_found", "message": "..."}}
 *   event:    {"id": N, "event": "progress", "data": <value>}   (zero or more before the reply)
 * Pure encoding and decoding; the daemon and the CLI own the sockets. */
#ifndef HLS_CTL_H
#define HLS_CTL_H

#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mp.h"

#define HLS_CTL_VERSION 1
#define HLS_CTL_HEADER 4

/* Payload length from a frame header; HLS_ETOOBIG above max, HLS_EMALFORMED
 * for an empty frame. */
int hls_ctl_frame_length(const uint8_t header[HLS_CTL_HEADER], size_t max, size_t *len) HLS_WARN_UNUSED;

struct hls_ctl_request {
  uint64_t id;
  char cmd[64];                    /* NUL-terminated command name */
  const struct hls_mp_value *args; /* a map (empty map if absent); points into tree */
  struct hls_mp_tree tree;         /* owned */
};

/* Decode a request payload (borrowed; must outlive req). Errors:
 * HLS_EMALFORMED (with detail), HLS_EUNSUPPORTED (protocol version),
 * HLS_ETOOBIG. req->id is set whenever the payload had a readable id, so
 * the error reply can carry it. */
int hls_ctl_request_decode(struct hls_ctl_request *req, const void *payload, size_t len, size_t max_values,
                           struct hls_why *why) HLS_WARN_UNUSED;
void hls_ctl_request_free(struct hls_ctl_request *req);

enum hls_ctl_msg_kind { HLS_CTL_RESULT, HLS_CTL_ERROR, HLS_CTL_EVENT };

struct hls_ctl_response {
  uint64_t id;
  enum hls_ctl_msg_kind kind;
  const struct hls_mp_value *result; /* RESULT: the value; EVENT: data */
  char event[32];                    /* EVENT: its name */
  int error_code;                    /* ERROR: HLS_E* from the code name */
  char error_name[48];               /* ERROR: the stable code as sent */
  char error_message[512];           /* ERROR */
  struct hls_mp_tree tree;           /* owned */
  void *payload;                     /* owned if set: the bytes tree borrows from */
};

int hls_ctl_response_decode(struct hls_ctl_response *resp, const void *payload, size_t len, size_t max_values,
                            struct hls_why *why) HLS_WARN_UNUSED;
void hls_ctl_response_free(struct hls_ctl_response *resp);

/* Building frames into an sbuffer. begin_* reserve the length header and
 * pack the map prefix; the caller then packs exactly one value (the args,
 * the result or the event data) and calls hls_ctl_frame_finish, which
 * fills in the length (HLS_ETOOBIG if the payload exceeds max). */
int hls_ctl_begin_request(msgpack_packer *pk, uint64_t id, const char *cmd) HLS_WARN_UNUSED;
int hls_ctl_begin_result(msgpack_packer *pk, uint64_t id) HLS_WARN_UNUSED;
int hls_ctl_begin_event(msgpack_packer *pk, uint64_t id, const char *event) HLS_WARN_UNUSED;
/* A whole error reply. */
int hls_ctl_pack_error(msgpack_packer *pk, uint64_t id, int code, const char *message) HLS_WARN_UNUSED;
int hls_ctl_frame_finish(msgpack_sbuffer *sb, size_t frame_start, size_t max) HLS_WARN_UNUSED;

#endif
