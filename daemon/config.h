/* hlsd configuration: one declarative table of options (section, name,
 * type, bounds, default, reloadable, help) feeds the config-file parser,
 * the command-line overrides, the documented default file that `hls init`
 * writes, `hlsd --help-config`, and docs/operations.md. */
#ifndef HLS_CONFIG_H
#define HLS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "date.h"
#include "envelope.h"
#include "err.h"
#include "hls_limits.h"
#include "patterns.h"
#include "record.h"

/* Longest control.group name (Linux tools allow 32; NSS sources more). */
#define HLS_GROUP_NAME_MAX 64

enum hls_role { HLS_ROLE_PLACE, HLS_ROLE_PARTNER };
/* Who may connect: any member of the network, or only listed peers. */
enum hls_accept { HLS_ACCEPT_ANY, HLS_ACCEPT_LISTED };

struct hls_config {
  /* [node] */
  char place[HLS_PLACE_MAX + 1];
  char region[HLS_REGION_MAX + 1];
  int role; /* enum hls_role */
  /* [network] */
  char listen[HLS_HOSTPORT_MAX + 3];
  char advertise[HLS_PROFILE_MAX_ADDRESSES * (HLS_PROFILE_ADDRESS_MAX + 1) + 1];
  int accept; /* enum hls_accept */
  int64_t handshake_timeout_ms;
  int64_t max_connections;
  int64_t max_handshakes;
  int64_t max_frame;
  int64_t write_queue;
  int64_t keepalive_ms;
  int64_t reconnect_min_ms, reconnect_max_ms;
  int64_t frame_timeout_ms;    /* a frame begun must arrive whole within this */
  int64_t idle_timeout_ms;     /* an unlisted peer's session with no gossip for this long is closed */
  int64_t max_per_address;     /* inbound handshakes + unlisted sessions from one address */
  int64_t reserved_for_listed; /* sessions only listed peers may use */
  /* [gossip] */
  int64_t gossip_connections;
  int64_t gossip_interval_ms;
  int64_t gossip_window;
  int64_t gossip_batch_items;
  int64_t gossip_max_origins;
  int64_t gossip_new_origins_per_hour; /* new chains one unlisted peer may bring per hour */
  /* [node] records: 0 auto (a place yes, a partner no), 1 on, 2 off */
  int node_records;
  /* [patterns] (docs/patterns.md): every parameter of the engine, its
   * defaults those of hls_pat_params_default */
  struct hls_pat_params patterns;
  /* [log] */
  int log_level; /* enum hls_log_level */
  /* [limits] */
  int64_t max_text_bytes;
  int64_t control_max_frame;
  int64_t control_max_clients;
  int64_t control_request_timeout_ms;
  int64_t patterns_late_weeks; /* limits.patterns_late_weeks: weeks of cells the pattern engine keeps (0: all) */
  int64_t patterns_threads;    /* limits.patterns_threads: threads of the pattern engine's updates (0: one a CPU) */
  /* [control] */
  char control_group[HLS_GROUP_NAME_MAX + 1]; /* "" = hlsd's own user only */
  /* [web] (docs/web.md) */
  char web_listen[HLS_HOSTPORT_MAX + 3]; /* HOST:PORT, or "off" */
  char web_url[256];                     /* the address people open ("" : from web_listen) */
  char web_tls_cert[1024], web_tls_key[1024];
  int64_t web_max_body;
  int64_t web_max_connections;
  int64_t web_session_idle_ms;
  int64_t web_link_ttl_ms;
  /* [consent] */
  int64_t suppression_threshold;
  int64_t rounding;
  int64_t expiry_check_ms;
  /* [retention] (docs/governance.md#retention): how long a record is kept
   * after its date, per scale (enum hls_scale); keep: no rule */
  struct hls_period retention[HLS_SCALE_COUNT];
  /* [publish] */
  int64_t publish_delay_ms;
  int publish_receipts; /* 0 off, 1 on */
  int publish_forks;    /* 0 off, 1 on */
  /* [trust] (docs/operations.md#trust): a partner role counts when vouched
   * as partner by this many vouched places; 0: a self-declared one counts */
  int64_t trust_partner_vouches;
  /* [store] */
  int store_synchronous; /* 0 normal, 1 full */
  int64_t store_cache_bytes;
};

/* INT fields are int64_t, or int when the option's size says so (the
 * engine's parameters); REAL fields are double, bounded by rmin..rmax. */
enum hls_config_type {
  HLS_CFG_STRING,
  HLS_CFG_INT,
  HLS_CFG_SIZE,
  HLS_CFG_DURATION,
  HLS_CFG_ENUM,
  HLS_CFG_ADDR,
  HLS_CFG_ADDR_LIST,
  HLS_CFG_REAL,
  HLS_CFG_PERIOD /* struct hls_period: 6y, 18m, 90d or keep (date.h) */
};

struct hls_config_option {
  const char *section;
  const char *name;
  enum hls_config_type type;
  size_t offset;              /* of the field in struct hls_config */
  size_t size;                /* STRING: buffer size */
  int64_t min, max;           /* INT/SIZE/DURATION (ms): inclusive; STRING: length */
  const char *default_text;   /* NULL: required, no default */
  const char *const *choices; /* ENUM: NULL-terminated */
  bool reloadable;            /* SIGHUP applies it without a restart */
  const char *help;
  double rmin, rmax;          /* REAL: inclusive */
};

/* The table, for docs and help. */
const struct hls_config_option *hls_config_options(size_t *count);

/* Every option at its default (required ones empty). */
void hls_config_defaults(struct hls_config *c);
/* Set "section.name" from text, checking type and bounds. The error names
 * the option and the allowed range. */
int hls_config_set(struct hls_config *c, const char *key, const char *value, struct hls_why *why) HLS_WARN_UNUSED;
/* Read an INI file over c. Errors carry the line number. An option of
 * the pattern methods before issue 12 (patterns.window_weeks, ...) is not
 * an error: it is logged as a warning naming what replaced it, and a
 * renamed one is applied under its new name. hls_config_set (hlsd --set)
 * refuses them, naming the replacement. */
int hls_config_load_file(struct hls_config *c, const char *path, struct hls_why *why) HLS_WARN_UNUSED;
/* Checks that span options (required ones present; the [patterns]
 * parameters together, hls_pat_params_check). */
int hls_config_check(const struct hls_config *c, struct hls_why *why) HLS_WARN_UNUSED;
/* web.listen is "off" or HOST:PORT with an IP literal (part of
 * hls_config_check; hls init checks it alone, before the rest is set). */
int hls_config_check_web(const struct hls_config *c, struct hls_why *why) HLS_WARN_UNUSED;
/* Current value of an option as text (for status and the default file). */
void hls_config_format_value(const struct hls_config *c, const struct hls_config_option *o, char *out, size_t size);
/* Copy the reloadable options of fresh into live. For every option that
 * differs but needs a restart, call on_restart_needed. */
void hls_config_apply_reload(struct hls_config *live, const struct hls_config *fresh,
                             void (*on_restart_needed)(const struct hls_config_option *o, void *ctx), void *ctx);
/* The documented config file `hls init` writes: options that differ from
 * the default are set, all others listed commented out with their help. */
int hls_config_write(FILE *f, const struct hls_config *c);
/* Plain-text table of every option (hlsd --help-config). */
void hls_config_print_help(FILE *f);
/* What values o allows, as --help-config says it ("1s to 60s",
 * "error|warn|info|debug"), for the man page. */
void hls_config_describe_bounds(const struct hls_config_option *o, char *out, size_t size);
/* The units a value of type may carry ("B, KiB, ... or G"), "" if none. */
void hls_config_units_text(enum hls_config_type type, char *out, size_t size);

#endif
