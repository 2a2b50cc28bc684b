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

#endif
