/* Control-socket commands: one table of (name, handler, help) that the
 * control server dispatches through. Handlers run on the loop thread. */
#ifndef HLS_API_H
#define HLS_API_H

#include "control.h"
#include "node.h"

/* hls_control_dispatch_fn with ctx = struct hls_node *. */
int hls_api_dispatch(void *node, struct hls_control_call *call);
/* hls_control_disconnect_fn: drops a client's unfinished import. */
void hls_api_client_gone(void *node, struct hls_control_client *client);

/* A listing's "limit" argument, the one rule for every command
 * (docs/control.md): absent (or nil) is the command's default, absent_limit
 * (HLS_API_LIMIT_ALL for every listing but patterns, whose pages are 50);
 * 0 is all; negative, or not an integer, is HLS_EINVAL with why. */
#define HLS_API_LIMIT_ALL 0
int hls_api_arg_limit(const struct hls_mp_value *args, int64_t absent_limit, int64_t *limit /* out */,
                      struct hls_why *why) HLS_WARN_UNUSED;

#endif
