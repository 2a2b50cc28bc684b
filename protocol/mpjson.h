/* msgpack values as JSON and back: hls --json prints replies with it, and
 * the web app's HTTP API (daemon/web.c) takes JSON arguments and gives
 * JSON results with it. Pure: no I/O. Binaries become base64 (standard
 * alphabet, padded); integers beyond int64 become reals. */
#ifndef HLS_MPJSON_H
#define HLS_MPJSON_H

#include <jansson.h>
#include <msgpack.h>

#include "mp.h"

/* A new JSON value for v (NULL v: null); NULL when out of memory or when
 * v holds what JSON cannot (a map key with a NUL byte, a string that is
 * not UTF-8). */
json_t *hls_mpjson_from_mp(const struct hls_mp_value *v);
/* Pack j as msgpack: 0, or HLS_ENOMEM. */
int hls_mpjson_pack(msgpack_packer *pk, const json_t *j);

/* A web request's JSON body as a control request for cmd (docs/web.md):
 * body (len bytes, not NUL-terminated; empty is {}) must be one JSON
 * object (duplicate keys refused), which becomes the request's args. The
 * request frame is packed into payload (owned by the caller: init it
 * before, destroy it after) and decoded into req, which borrows it
 * (hls_ctl_request_free). HLS_EMALFORMED (not a JSON object, with why),
 * HLS_ETOOBIG (over max_frame bytes or HLS_CTL_MAX_VALUES values),
 * HLS_ENOMEM. */
struct hls_ctl_request;
int hls_mpjson_request(const char *cmd, const char *body, size_t len, size_t max_frame, msgpack_sbuffer *payload,
                       struct hls_ctl_request *req /* out */, struct hls_why *why) HLS_WARN_UNUSED;

#endif
