/* The items.import control command (hls import-items): envelopes loaded
 * into the gossip engine as if a peer had sent them (docs/control.md). */
#ifndef HLS_ITEMS_IMPORT_H
#define HLS_ITEMS_IMPORT_H

#include "control.h"
#include "node.h"

/* Handler of the api table: args {envelopes: [bin, ...]}. */
int hls_items_import_api(struct hls_node *n, struct hls_control_call *call) HLS_WARN_UNUSED;

#endif
