/* One running hlsd: the event loop and everything hanging off it. */
#ifndef HLS_NODE_H
#define HLS_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "control.h"
#include "home.h"
#include "nodeid.h"
#include "store.h"

/* Re-read the configuration (file, then command-line overrides) for
 * SIGHUP. Supplied by main, which owns the overrides. */
typedef int (*hls_config_loader)(struct hls_config *out, void *ctx, struct hls_why *why);

struct hls_node {
  uv_loop_t loop;
  struct hls_config *config; /* borrowed: main's parsed configuration */
  hls_config_loader reload;
  void *reload_ctx;
  char home[HLS_PATH_MAX];
  struct hls_identity identity;
  uint8_t network_key[32];
  char node_id[HLS_NODEID_TEXT_SIZE];
  char network_fingerprint[17];
  struct hls_store *store;
  struct hls_control *control;
  uv_signal_t sig_int, sig_term, sig_hup;
  int lock_fd;
  int64_t started_ms;
  int64_t next_import_session;
  bool stopping;
};

/* Open the home (permissions, lock, keys, store), start the control
 * socket, and run until SIGINT/SIGTERM. Returns 0 after a clean shutdown,
 * or an error (with why) if start-up failed. */
int hls_node_run(struct hls_node *node, const char *home, struct hls_config *config, hls_config_loader reload,
                 void *reload_ctx, struct hls_why *why) HLS_WARN_UNUSED;

/* Wall-clock milliseconds since the Unix epoch. */
int64_t hls_node_now_ms(void);
/* Today's date in local time. */
hls_day hls_node_today(void);

#endif
