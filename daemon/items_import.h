/* The items.import control command (hls import-items): envelopes loaded
 * into the gossip engine as if a peer had sent them (docs/control.md). */
#ifndef HLS_ITEMS_IMPORT_H
#define HLS_ITEMS_IMPORT_H

#include "control.h"
#include "gossipd.h"

/* The items.import method (api_read.c hands it on): args {envelopes:
 * [bin, ...]}, imported into gossip (NULL: HLS_ESTATE, gossip is not
 * running). */
int hls_items_import_api(struct hls_gossipd *gossip, struct hls_control_call *call) HLS_WARN_UNUSED;

#endif
