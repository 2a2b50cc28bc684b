#include "config.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

static const char *const role_choices[] = {"place", "partner", NULL};
static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};
static const char *const records_choices[] = {"auto", "on", "off", NULL};
static const char *const sync_choices[] = {"normal", "full", NULL};
static const char *const accept_choices[] = {"any", "listed", NULL};
static const char *const off_on_choices[] = {"off", "on", NULL};

#define OFF(field) offsetof(struct hls_config, field)
#define SZ(field) sizeof(((struct hls_config *)0)->field)
#define KiB ((int64_t)1024)
#define MiB ((int64_t)1024 * 1024)
#define SEC ((int64_t)1000)

/* A [patterns] option from a row of HLS_PAT_PARAMS (protocol/patterns.h):
 * its name, field, default (as the row writes it), bounds and help. A
 * bound that depends on another parameter is hls_pat_params_check's,
 * which hls_config_check runs. */
#define PAT_IBOUND_INT(v) (v)
#define PAT_IBOUND_REAL(v) 0
#define PAT_RBOUND_INT(v) 0
#define PAT_RBOUND_REAL(v) (v)
#define PAT_OPTION(type, name, def, lo, hi, lo_by, hi_by, signals, help)                                       \
  {"patterns", #name, HLS_CFG_##type, OFF(patterns.name), SZ(patterns.name), PAT_IBOUND_##type(lo),              \
   PAT_IBOUND_##type(hi), #def, NULL, false, help, PAT_RBOUND_##type(lo), PAT_RBOUND_##type(hi)},

/* A [retention] option: one period per scale. The default is keep: an
 * upgrade, or a node set up before retention, never deletes a record
 * until its admin sets a period (docs/governance.md#retention). */
#define RETENTION_OPTION(scale_name, scale, what)                                                                \
  {"retention", #scale_name, HLS_CFG_PERIOD, OFF(retention[scale]), SZ(retention[scale]), 0, 0, "keep", NULL, true, \
   "How long a record at the scale of " what " is kept after its date; then hlsd deletes it, as hls record "    \
   "delete does (its stories erased at every place), unless the record has its own retain_until date. keep: "   \
   "no automatic deletion.", 0, 0},

static const struct hls_config_option options[] = {
    {"node", "place", HLS_CFG_STRING, OFF(place), SZ(place), 1, HLS_PLACE_MAX, NULL, NULL, true,
     "Name of this place (or partner) as other nodes see it, e.g. \"Gateshead Council\".", 0, 0},
    {"node", "region", HLS_CFG_STRING, OFF(region), SZ(region), 1, HLS_REGION_MAX, NULL, NULL, true,
     "Region of this place, e.g. \"North East\". Patterns can be filtered by region.", 0, 0},
    {"node", "role", HLS_CFG_ENUM, OFF(role), SZ(role), 0, 0, "place", role_choices, true,
     "place: records its own learning. partner: a national learning partner that mostly "
     "reads patterns across places.", 0, 0},
    {"node", "records", HLS_CFG_ENUM, OFF(node_records), SZ(node_records), 0, 0, "auto", records_choices, true,
     "Whether this node keeps learning records of its own. auto: a place does, a partner does not (hls record "
     "add and hls import are refused). on, off: always, never.", 0, 0},
    {"network", "listen", HLS_CFG_ADDR, OFF(listen), SZ(listen), 0, 0, "0.0.0.0:7420", NULL, false,
     "TCP address for peer connections, HOST:PORT (IP literal; port 0 picks a free port).", 0, 0},
    {"network", "advertise", HLS_CFG_ADDR_LIST, OFF(advertise), SZ(advertise), 0, HLS_PROFILE_MAX_ADDRESSES, "", NULL,
     true,
     "Addresses other nodes can reach this node at, HOST:PORT separated by commas (a DNS name or IP), "
     "published in the node's profile. Empty: none (peers must be added by address).", 0, 0},
    {"network", "accept", HLS_CFG_ENUM, OFF(accept), SZ(accept), 0, 0, "any", accept_choices, true,
     "Who may connect. any: every member of the network (whoever knows the network key). listed: only "
     "peers added with hls peer add. Blocked peers never.", 0, 0},
    {"network", "handshake_timeout", HLS_CFG_DURATION, OFF(handshake_timeout_ms), SZ(handshake_timeout_ms), 1 * SEC,
     60 * SEC, "10s", NULL, true, "A connection that has not finished the handshake by then is closed.", 0, 0},
    {"network", "max_connections", HLS_CFG_INT, OFF(max_connections), SZ(max_connections), 1, 4096, "64", NULL, true,
     "Most peer connections at once, established or in progress.", 0, 0},
    {"network", "max_handshakes", HLS_CFG_INT, OFF(max_handshakes), SZ(max_handshakes), 1, 1024, "16", NULL, true,
     "Most incoming handshakes in progress at once; more are closed at once.", 0, 0},
    {"network", "max_frame", HLS_CFG_SIZE, OFF(max_frame), SZ(max_frame), 64 * KiB, 16 * MiB, "4MiB", NULL, true,
     "Largest frame a peer may send; a peer that sends a larger one is disconnected.", 0, 0},
    {"network", "write_queue", HLS_CFG_SIZE, OFF(write_queue), SZ(write_queue), 64 * KiB, 256 * MiB, "8MiB", NULL, true,
     "Bytes that may wait to be sent to one peer. Beyond it hlsd stops producing for that peer and stops reading "
     "from it until it catches up.", 0, 0},
    {"network", "keepalive", HLS_CFG_DURATION, OFF(keepalive_ms), SZ(keepalive_ms), 1 * SEC, 600 * SEC, "30s", NULL,
     true, "A quiet session is pinged after this long, and closed after three times it without a word.", 0, 0},
    {"network", "reconnect_min", HLS_CFG_DURATION, OFF(reconnect_min_ms), SZ(reconnect_min_ms), 100, 60 * SEC, "1s",
     NULL, true, "First wait before dialling a peer again after a failure; it doubles with each failure.", 0, 0},
    {"network", "reconnect_max", HLS_CFG_DURATION, OFF(reconnect_max_ms), SZ(reconnect_max_ms), 1 * SEC,
     3600 * SEC, "5m", NULL, true, "Longest wait between attempts to dial a failing peer.", 0, 0},
    {"network", "frame_timeout", HLS_CFG_DURATION, OFF(frame_timeout_ms), SZ(frame_timeout_ms), 1 * SEC, 3600 * SEC,
     "60s", NULL, true,
     "A frame a peer has begun to send must arrive whole within this; a peer that trickles it is disconnected "
     "(reason frame_timeout), so that it cannot hold a connection slot for ever.", 0, 0},
    {"network", "idle_timeout", HLS_CFG_DURATION, OFF(idle_timeout_ms), SZ(idle_timeout_ms), 1 * SEC, 86400 * SEC,
     "15m", NULL, true,
     "A session with a peer the admin did not list (hls peer add) that carried no gossip either way for this "
     "long is closed (reason idle_session), freeing its slot. Listed peers stay connected.", 0, 0},
    {"network", "max_per_address", HLS_CFG_INT, OFF(max_per_address), SZ(max_per_address), 0, 4096, "8", NULL, true,
     "Most incoming connections from one address (an IPv4 address, or an IPv6 /64) that are handshaking or are "
     "sessions of unlisted peers; more are closed at once (reason too_many_from_address). 0: no limit.", 0, 0},
    {"network", "reserved_for_listed", HLS_CFG_INT, OFF(reserved_for_listed), SZ(reserved_for_listed), 0, 4095, "8",
     NULL, true,
     "Of network.max_connections, sessions only peers the admin listed may use: unlisted members are refused "
     "(reason reserved_for_listed) once the rest are taken. Must be less than network.max_connections.", 0, 0},
    {"gossip", "connections", HLS_CFG_INT, OFF(gossip_connections), SZ(gossip_connections), 0, 256, "6", NULL, false,
     "While fewer sessions than this are open, hlsd dials members at random from the addresses in their profiles "
     "(peer exchange). Listed peers are always dialled. 0: listed peers only.", 0, 0},
    {"gossip", "interval", HLS_CFG_DURATION, OFF(gossip_interval_ms), SZ(gossip_interval_ms), 10, 60 * SEC, "250ms",
     NULL, false, "How often each peer is told of chain heads that moved (new items are pushed at once anyway).", 0, 0},
    {"gossip", "window", HLS_CFG_INT, OFF(gossip_window), SZ(gossip_window), 1, 64, "4", NULL, false,
     "Batches of items sent to one peer and not yet acknowledged: a slow peer slows only its own stream.", 0, 0},
    {"gossip", "batch_items", HLS_CFG_INT, OFF(gossip_batch_items), SZ(gossip_batch_items), 1, 1024, "256", NULL,
     false, "Most items in one batch; each batch costs the receiver one signature check.", 0, 0},
    {"gossip", "max_origins", HLS_CFG_INT, OFF(gossip_max_origins), SZ(gossip_max_origins), 1, 10000000, "100000",
     NULL, false, "Most chains (places) followed; items of further origins are ignored.", 0, 0},
    {"gossip", "new_origins_per_hour", HLS_CFG_INT, OFF(gossip_new_origins_per_hour),
     SZ(gossip_new_origins_per_hour), 1, 10000000, "200", NULL, true,
     "New chains (places this node did not follow yet) one unlisted peer may bring in an hour; the items of "
     "further new chains from it are ignored and it is counted a violation. Listed peers are not limited: a new "
     "node catches up from the peers its admin added.", 0, 0},
    /* [patterns]: the engine's parameters, one option per row of
     * HLS_PAT_PARAMS (tests/unit/test_config.c holds them together). */
    HLS_PAT_PARAMS(PAT_OPTION)
    {"log", "level", HLS_CFG_ENUM, OFF(log_level), SZ(log_level), 0, 0, "info", level_choices, true,
     "Least severe log level written to stderr.", 0, 0},
    {"limits", "max_text_bytes", HLS_CFG_SIZE, OFF(max_text_bytes), SZ(max_text_bytes), 256,
     HLS_TEXT_HARD_MAX, "16KiB", NULL, true,
     "Largest free-text field of a record (context, tried, happened, learnt).", 0, 0},
    {"limits", "control_max_frame", HLS_CFG_SIZE, OFF(control_max_frame), SZ(control_max_frame),
     64 * KiB, HLS_CTL_FRAME_HARD_MAX, "8MiB", NULL, true,
     "Largest control-socket request or response. Larger requests are refused and the client "
     "disconnected.", 0, 0},
    {"limits", "control_max_clients", HLS_CFG_INT, OFF(control_max_clients), SZ(control_max_clients),
     1, 1024, "64", NULL, true, "Most control-socket clients connected at once.", 0, 0},
    {"limits", "control_request_timeout", HLS_CFG_DURATION, OFF(control_request_timeout_ms),
     SZ(control_request_timeout_ms), 1 * SEC, 3600 * SEC, "30s", NULL, true,
     "A client that stops sending for this long in the middle of a request is disconnected.", 0, 0},
    {"limits", "patterns_late_weeks", HLS_CFG_INT, OFF(patterns_late_weeks), SZ(patterns_late_weeks), 0, 1040, "26",
     NULL, false,
     "Weeks back from the latest digest within which a late digest, its correction or its erasure is taken into "
     "the patterns at once. The pattern engine keeps in memory only the cells its tests read from there on (and "
     "those of the places of its patterns), so a partner node's memory follows the weeks, not the years, it "
     "holds. A fact of an older week makes hlsd build the engine again from the store, on a worker thread, at "
     "most once every 10 minutes; the patterns meanwhile leave it out. 0: keep every week in memory.", 0, 0},
    {"limits", "patterns_threads", HLS_CFG_INT, OFF(patterns_threads), SZ(patterns_threads), 0, HLS_PAT_MAX_THREADS,
     "0", NULL, false,
     "Threads the pattern engine computes its tests on: the themes of an update are shared out among them (the "
     "computation at a start or a rebuild, and a new week's update, are 1.7 to 2 times as fast on 2 threads as on "
     "1; the patterns are the same on any number). 0: one a CPU (at most 16).", 0, 0},
    {"control", "group", HLS_CFG_STRING, OFF(control_group), SZ(control_group), 0, HLS_GROUP_NAME_MAX, "", NULL,
     false,
     "Unix group whose members may run hls against this node as themselves: the control socket is then mode "
     "0660 owned by this group, and the data directory may be group-searchable (mode 0710 or 0750, owned by "
     "this group). hlsd's user must be a member. Empty: only hlsd's own user (socket mode 0600). Every change "
     "is logged with the caller's user name either way.",
     0, 0},
    {"web", "listen", HLS_CFG_STRING, OFF(web_listen), SZ(web_listen), 1, HLS_HOSTPORT_MAX + 2, "127.0.0.1:7480",
     NULL, false,
     "Address of the web app and its HTTP API, HOST:PORT (IP literal; port 0 picks a free port), or off. "
     "An address other than loopback (127.0.0.1, ::1) is refused unless web.tls_cert and web.tls_key are set. "
     "If the address cannot be bound, hlsd runs without the web app and says why (hls status, the log).", 0, 0},
    {"web", "url", HLS_CFG_STRING, OFF(web_url), SZ(web_url), 0, 255, "", NULL, true,
     "The address people open the web app at, for the links hlsd prints (e.g. https://learning.example.org "
     "behind a reverse proxy). Empty: http(s)://web.listen.", 0, 0},
    {"web", "tls_cert", HLS_CFG_STRING, OFF(web_tls_cert), SZ(web_tls_cert), 0, 1023, "", NULL, false,
     "PEM certificate chain file: with web.tls_key, the web app speaks HTTPS only.", 0, 0},
    {"web", "tls_key", HLS_CFG_STRING, OFF(web_tls_key), SZ(web_tls_key), 0, 1023, "", NULL, false,
     "PEM private key file of web.tls_cert (readable by hlsd's user only).", 0, 0},
    {"web", "max_body", HLS_CFG_SIZE, OFF(web_max_body), SZ(web_max_body), 4 * KiB, 64 * MiB, "1MiB", NULL, true,
     "Largest HTTP request body; larger ones are refused (413) without being read.", 0, 0},
    {"web", "max_connections", HLS_CFG_INT, OFF(web_max_connections), SZ(web_max_connections), 1, 4096, "64", NULL,
     false, "Most HTTP connections open at once.", 0, 0},
    {"web", "session_idle", HLS_CFG_DURATION, OFF(web_session_idle_ms), SZ(web_session_idle_ms), 60 * SEC,
     30LL * 86400 * SEC, "8h", NULL, true, "A web session unused for this long ends; its user signs in again.", 0, 0},
    {"web", "link_ttl", HLS_CFG_DURATION, OFF(web_link_ttl_ms), SZ(web_link_ttl_ms), 60 * SEC, 30LL * 86400 * SEC,
     "3d", NULL, true, "How long a one-time sign-in link (hls user add, reset, web open) stays valid.", 0, 0},
    {"consent", "suppression_threshold", HLS_CFG_INT, OFF(suppression_threshold), SZ(suppression_threshold), 5,
     1000, "10", NULL, true,
     "Digests withhold person-scale counts below this many records (docs/consent.md). Below 5 is refused: it "
     "would no longer protect people.", 0, 0},
    {"consent", "rounding", HLS_CFG_INT, OFF(rounding), SZ(rounding), 1, 100, "5", NULL, true,
     "Digests publish person-scale counts as a multiple of this, rounded up or down by the node's secret key "
     "(keyed rounding, docs/consent.md).", 0, 0},
    {"consent", "expiry_check", HLS_CFG_DURATION, OFF(expiry_check_ms), SZ(expiry_check_ms), 1 * SEC, 60 * SEC, "30s",
     NULL, true, "How often hlsd looks for consent that has reached its expiry date.", 0, 0},
    RETENTION_OPTION(person, HLS_SCALE_PERSON, "a person (a life as a system)")
    RETENTION_OPTION(organisation, HLS_SCALE_ORGANISATION, "an organisation")
    RETENTION_OPTION(place, HLS_SCALE_PLACE, "a place")
    RETENTION_OPTION(country, HLS_SCALE_COUNTRY, "a country")
    {"publish", "delay", HLS_CFG_DURATION, OFF(publish_delay_ms), SZ(publish_delay_ms), 0, 3600 * SEC, "10s", NULL,
     true,
     "Changes are published this long after the last one, in one batch (never later than five times this "
     "after the first). Withdrawals and decisions on stories are published at once.", 0, 0},
    {"publish", "receipts", HLS_CFG_ENUM, OFF(publish_receipts), SZ(publish_receipts), 0, 0, "on", off_on_choices,
     true,
     "Publish erasure receipts (docs/governance.md). off: keep what is owed, and publish it when turned on again; "
     "for a network whose nodes are not all upgraded yet (an older hlsd refuses receipts).", 0, 0},
    {"publish", "forks", HLS_CFG_ENUM, OFF(publish_forks), SZ(publish_forks), 0, 0, "on", off_on_choices, true,
     "Report the forks this node finds, so every node stops following the forked place (docs/protocol.md 4.7). "
     "off: keep them unreported, and report them when turned on again; for a network whose nodes are not all "
     "upgraded yet (an older hlsd refuses fork reports).", 0, 0},
    {"trust", "partner_vouches", HLS_CFG_INT, OFF(trust_partner_vouches), SZ(trust_partner_vouches), 0, 64, "2",
     NULL, true,
     "A node's partner role counts (hls places: role_counts) only when this many vouched places vouched for it as "
     "a partner (hls vouch --role partner). 0: self-declared partner roles count, as before vouches.", 0, 0},
    {"store", "synchronous", HLS_CFG_ENUM, OFF(store_synchronous), SZ(store_synchronous), 0, 0, "full",
     sync_choices, false,
     "SQLite fsync policy. full: a committed change survives power loss. normal: faster, may lose "
     "the last commits on power loss (never corrupts).", 0, 0},
    {"store", "cache_size", HLS_CFG_SIZE, OFF(store_cache_bytes), SZ(store_cache_bytes), 1 * MiB, 1024 * MiB,
     "32MiB", NULL, false,
     "Memory SQLite may use to cache the store's pages. More makes large imports and queries faster.", 0, 0},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

/* A double as text that reads back to the same double: "0.01", not
 * "0.010000000000000000208". */
static void format_real(double v, char *out, size_t size) {
  for (int digits = 6; digits <= 17; digits++) {
    snprintf(out, size, "%.*g", digits, v);
    if (strtod(out, NULL) == v) return;
  }
}

static void int_get(const struct hls_config_option *o, const void *field, int64_t *v) {
  if (o->size == sizeof(int)) {
    int x;
    memcpy(&x, field, sizeof x);
    *v = x;
  } else {
    memcpy(v, field, sizeof *v);
  }
}

static void int_put(const struct hls_config_option *o, void *field, int64_t v) {
  if (o->size == sizeof(int)) {
    int x = (int)v;
    memcpy(field, &x, sizeof x);
  } else {
    memcpy(field, &v, sizeof v);
  }
}

const struct hls_config_option *hls_config_options(size_t *count) {
  *count = N_OPTIONS;
  return options;
}

/* Options of the pattern methods before issue 12 (EARS C2, CUSUM, fixed
 * windows), and what replaced them. renamed: the same parameter under a
 * new name (applied, with a warning); else the value is ignored. */
static const struct retired_option {
  const char *name, *renamed, *replacement;
} retired_options[] = {
    {"window_weeks", NULL,
     "patterns.spread_weeks, patterns.together_weeks and patterns.cross_weeks (each signal has its own weeks)"},
    {"emerging_baseline_weeks", NULL, "patterns.baseline_weeks (one baseline for every signal)"},
    {"emerging_guard_weeks", NULL,
     "patterns.emerging_weeks (the last week and the last emerging_weeks are tested against the baseline just "
     "before)"},
    {"emerging_min_count", NULL, "patterns.fdr (a jump is judged by its p-value, not by a minimum count)"},
    {"rising_reference_weeks", NULL,
     "patterns.baseline_weeks and patterns.reference_weeks (rising now tests a region's share of a theme)"},
    {"cross_scale_min_places", "cross_min_places", "patterns.cross_min_places"},
};

static const struct retired_option *find_retired(const char *section, size_t section_len, const char *name) {
  if (section_len != strlen("patterns") || strncmp(section, "patterns", section_len) != 0) return NULL;
  for (size_t i = 0; i < sizeof retired_options / sizeof retired_options[0]; i++)
    if (strcmp(retired_options[i].name, name) == 0) return &retired_options[i];
  return NULL;
}

static const struct hls_config_option *find_option(const char *section, size_t section_len, const char *name) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    if (strlen(options[i].section) == section_len && strncmp(options[i].section, section, section_len) == 0 &&
        strcmp(options[i].name, name) == 0)
      return &options[i];
  return NULL;
}

/* Parse a whole decimal number with an optional unit from units[]. */
struct unit {
  const char *suffix;
  int64_t factor;
};

static int parse_scaled(const char *value, const struct unit *units, int64_t bare_factor, int64_t *out) {
  errno = 0;
  char *end = NULL;
  if (*value < '0' || *value > '9') return HLS_EINVAL;
  long long n = strtoll(value, &end, 10);
  if (errno != 0 || n < 0) return HLS_EINVAL;
  while (*end == ' ') end++;
  int64_t factor = bare_factor;
  if (*end != '\0') {
    factor = 0;
    for (const struct unit *u = units; u->suffix != NULL; u++)
      if (strcmp(end, u->suffix) == 0) factor = u->factor;
    if (factor == 0) return HLS_EINVAL;
  }
  if (n > INT64_MAX / factor) return HLS_EINVAL;
  *out = n * factor;
  return 0;
}

static const struct unit size_units[] = {{"B", 1},     {"KiB", KiB}, {"K", KiB}, {"MiB", MiB},
                                         {"M", MiB},   {"GiB", 1024 * MiB}, {"G", 1024 * MiB}, {NULL, 0}};
static const struct unit no_units[] = {{NULL, 0}};
static const struct unit duration_units[] = {{"ms", 1},          {"s", SEC},       {"m", 60 * SEC},
                                             {"h", 3600 * SEC},  {"d", 86400 * SEC}, {NULL, 0}};

static void format_bound(enum hls_config_type type, int64_t v, char *out, size_t size) {
  if (type == HLS_CFG_SIZE && v % MiB == 0 && v >= MiB)
    snprintf(out, size, "%" PRId64 "MiB", v / MiB);
  else if (type == HLS_CFG_SIZE && v % KiB == 0 && v >= KiB)
    snprintf(out, size, "%" PRId64 "KiB", v / KiB);
  else if (type == HLS_CFG_DURATION && v % (3600 * SEC) == 0 && v >= 3600 * SEC)
    snprintf(out, size, "%" PRId64 "h", v / (3600 * SEC));
  else if (type == HLS_CFG_DURATION && v % (60 * SEC) == 0 && v >= 60 * SEC)
    snprintf(out, size, "%" PRId64 "m", v / (60 * SEC));
  else if (type == HLS_CFG_DURATION && v % SEC == 0)
    snprintf(out, size, "%" PRId64 "s", v / SEC);
  else if (type == HLS_CFG_DURATION)
    snprintf(out, size, "%" PRId64 "ms", v);
  else
    snprintf(out, size, "%" PRId64, v);
}

static void choices_text(const char *const *choices, char *out, size_t size) {
  out[0] = '\0';
  for (size_t i = 0; choices[i] != NULL; i++) {
    if (i > 0) strncat(out, "|", size - strlen(out) - 1);
    strncat(out, choices[i], size - strlen(out) - 1);
  }
}

static int set_option(struct hls_config *c, const struct hls_config_option *o, const char *value,
                      struct hls_why *why) {
  char *field = (char *)c + o->offset;
  char lo[32], hi[32], allowed[128];
  int64_t n = 0;
  int rc = 0;
  switch (o->type) {
    case HLS_CFG_STRING: {
      size_t len = strlen(value);
      if ((int64_t)len < o->min || (int64_t)len > o->max)
        return hls_why_set(why, HLS_ECONFIG, "%s.%s: must be %" PRId64 "-%" PRId64 " bytes long", o->section,
                           o->name, o->min, o->max);
      if (hls_text_check(value, len, (size_t)o->max, false, o->name, NULL) != 0)
        return hls_why_set(why, HLS_ECONFIG, "%s.%s: must be valid UTF-8 text on one line", o->section, o->name);
      /* The config file could not hold it: inih trims values and cuts an inline comment at " ;"
       * (and hls_config_write puts a space before the value, so a leading ';' is cut too). */
      if (len > 0 && (value[0] == ' ' || value[0] == ';' || value[len - 1] == ' ' || strstr(value, " ;") != NULL))
        return hls_why_set(why, HLS_ECONFIG,
                           "%s.%s: must not start with ';', start or end with a space, or contain \" ;\"",
                           o->section, o->name);
      memset(field, 0, o->size); /* the same bytes for the same value */
      memcpy(field, value, len + 1);
      return 0;
    }
    case HLS_CFG_ENUM:
      for (int i = 0; o->choices[i] != NULL; i++) {
        if (strcmp(o->choices[i], value) == 0) {
          *(int *)(void *)field = i;
          return 0;
        }
      }
      choices_text(o->choices, allowed, sizeof allowed);
      return hls_why_set(why, HLS_ECONFIG, "%s.%s: must be one of %s", o->section, o->name, allowed);
    case HLS_CFG_ADDR: {
      struct hls_hostport hp;
      struct hls_why detail;
      if (hls_hostport_parse(value, &hp, false, true, &detail) != 0)
        return hls_why_set(why, HLS_ECONFIG, "%s.%s: %s", o->section, o->name, detail.text);
      hls_hostport_format(&hp, field);
      return 0;
    }
    case HLS_CFG_ADDR_LIST: {
      /* Comma-separated HOST:PORT list, stored normalised. */
      char out[sizeof(((struct hls_config *)0)->advertise)];
      size_t used = 0, count = 0;
      out[0] = '\0';
      const char *p = value;
      while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[HLS_PROFILE_ADDRESS_MAX + 8];
        while (len > 0 && *p == ' ') p++, len--;
        while (len > 0 && p[len - 1] == ' ') len--;
        if (len == 0 || len >= sizeof item)
          return hls_why_set(why, HLS_ECONFIG, "%s.%s: expected HOST:PORT[,HOST:PORT...]", o->section, o->name);
        memcpy(item, p, len);
        item[len] = '\0';
        struct hls_hostport hp;
        struct hls_why detail;
        if (hls_hostport_parse(item, &hp, true, false, &detail) != 0)
          return hls_why_set(why, HLS_ECONFIG, "%s.%s: %s", o->section, o->name, detail.text);
        if (++count > (size_t)o->max)
          return hls_why_set(why, HLS_ECONFIG, "%s.%s: at most %" PRId64 " addresses", o->section, o->name, o->max);
        char norm[HLS_HOSTPORT_MAX + 3];
        hls_hostport_format(&hp, norm);
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", norm);
        p = comma ? comma + 1 : p + len;
      }
      memcpy(field, out, used + 1);
      return 0;
    }
    case HLS_CFG_REAL: {
      errno = 0;
      char *end = NULL;
      double v = strtod(value, &end);
      bool number = end != value && (*value == '.' || (*value >= '0' && *value <= '9'));
      while (number && *end == ' ') end++;
      if (!number || *end != '\0' || errno != 0 || !isfinite(v) || v < o->rmin || v > o->rmax) {
        char lo_text[32], hi_text[32];
        format_real(o->rmin, lo_text, sizeof lo_text);
        format_real(o->rmax, hi_text, sizeof hi_text);
        return hls_why_set(why, HLS_ECONFIG, "%s.%s: must be a number between %s and %s", o->section, o->name,
                           lo_text, hi_text);
      }
      memcpy(field, &v, sizeof v);
      return 0;
    }
    case HLS_CFG_PERIOD: {
      struct hls_period p;
      if (hls_period_parse(value, strlen(value), &p) != 0)
        return hls_why_set(why, HLS_ECONFIG,
                           "%s.%s: must be a period such as 6y, 18m or 90d (years, months or days, at most %dy), "
                           "or keep", o->section, o->name, HLS_PERIOD_MAX_YEARS);
      memcpy(field, &p, sizeof p);
      return 0;
    }
    case HLS_CFG_INT: rc = parse_scaled(value, no_units, 1, &n); break;
    case HLS_CFG_SIZE: rc = parse_scaled(value, size_units, 1, &n); break;
    case HLS_CFG_DURATION: rc = parse_scaled(value, duration_units, SEC, &n); break;
  }
  format_bound(o->type, o->min, lo, sizeof lo);
  format_bound(o->type, o->max, hi, sizeof hi);
  const char *unit_help = o->type == HLS_CFG_SIZE       ? " (a size such as 64KiB or 8MiB)"
                          : o->type == HLS_CFG_DURATION ? " (a duration such as 500ms, 30s, 5m)"
                                                        : "";
  if (rc != 0 || n < o->min || n > o->max)
    return hls_why_set(why, HLS_ECONFIG, "%s.%s: must be between %s and %s%s", o->section, o->name, lo, hi,
                       unit_help);
  int_put(o, field, n);
  return 0;
}

int hls_config_set(struct hls_config *c, const char *key, const char *value, struct hls_why *why) {
  const char *dot = strchr(key, '.');
  if (dot == NULL) return hls_why_set(why, HLS_ECONFIG, "%s: options are named SECTION.NAME, e.g. log.level", key);
  const struct hls_config_option *o = find_option(key, (size_t)(dot - key), dot + 1);
  const struct retired_option *r = find_retired(key, (size_t)(dot - key), dot + 1);
  if (o == NULL && r != NULL)
    return hls_why_set(why, HLS_ECONFIG, "%s: no longer an option (the pattern methods changed): use %s", key,
                       r->replacement);
  if (o == NULL) return hls_why_set(why, HLS_ECONFIG, "%s: unknown option (hlsd --help-config lists them)", key);
  return set_option(c, o, value, why);
}

void hls_config_defaults(struct hls_config *c) {
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    if (options[i].default_text != NULL && set_option(c, &options[i], options[i].default_text, NULL) != 0)
      abort(); /* a bad default is a programming error caught by every test run */
}

struct load_ctx {
  struct hls_config *c;
  struct hls_why *why;
  const char *path;
  bool failed;
  FILE *f;
  int lines_read;  /* inih's line number while it calls the handler */
  int failed_line; /* line of the option that failed */
  int *set_on;     /* [option]: the line that set it, 0 if none (owned) */
};

/* inih reports the first error line, syntax or option, but not which:
 * count lines so an option error is only blamed on its own line. inih
 * would read the rest of a line longer than its buffer as a new line: drop
 * it instead (harmless in a comment; no option value is that long, so an
 * option line becomes a syntax error on its own line). */
static char *config_read_line(char *str, int num, void *stream) {
  struct load_ctx *ctx = stream;
  char *line = fgets(str, num, ctx->f);
  if (line == NULL) return NULL;
  ctx->lines_read++;
  size_t len = strlen(line);
  int ch;
  if (len > 0 && line[len - 1] != '\n' && (ch = getc(ctx->f)) != '\n' && ch != EOF) {
    while ((ch = getc(ctx->f)) != '\n' && ch != EOF) {}
    const char *p = line + strspn(line, " \t");
    if (ctx->lines_read == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;
    if (*p != '#' && *p != ';') snprintf(str, (size_t)num, "[\n");
  }
  return line;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value) {
  struct load_ctx *ctx = user;
  if (ctx->failed) return 0;
  const struct hls_config_option *o = find_option(section, strlen(section), name);
  const struct retired_option *r = o == NULL ? find_retired(section, strlen(section), name) : NULL;
  if (r != NULL) {
    /* Not an error: hlsd keeps running after an upgrade, on the new
     * method's defaults, and says what to set instead. */
    char detail[320];
    char text[400];
    if (r->renamed != NULL) {
      o = find_option(section, strlen(section), r->renamed);
      snprintf(text, sizeof text, "renamed %s; applied (rename it in the file)", r->replacement);
    } else {
      snprintf(text, sizeof text, "no longer an option (the pattern methods changed), ignored: see %s",
               r->replacement);
    }
    hls_log_warn("config_option_retired", "file=%s line=%d option=%s.%s detail=%s", ctx->path, ctx->lines_read,
                 section, name, hls_log_quote(text, detail, sizeof detail));
    if (o == NULL) return 1;
  }
  if (o == NULL) {
    hls_why_set(ctx->why, HLS_ECONFIG, "[%s] %s: unknown option (hlsd --help-config lists them)", section, name);
    ctx->failed = true;
    ctx->failed_line = ctx->lines_read;
    return 0;
  }
  /* Twice in one file: the second would win unseen, and the first is
   * what its reader believes. */
  size_t ix = (size_t)(o - options);
  if (ctx->set_on != NULL && ctx->set_on[ix] != 0) {
    hls_why_set(ctx->why, HLS_ECONFIG, "[%s] %s: set twice (first on line %d): keep one", o->section, o->name,
                ctx->set_on[ix]);
    ctx->failed = true;
    ctx->failed_line = ctx->lines_read;
    return 0;
  }
  if (ctx->set_on != NULL) ctx->set_on[ix] = ctx->lines_read;
  if (set_option(ctx->c, o, value, ctx->why) != 0) {
    ctx->failed = true;
    ctx->failed_line = ctx->lines_read;
    return 0;
  }
  return 1;
}

int hls_config_load_file(struct hls_config *c, const char *path, struct hls_why *why) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return hls_why_set(why, HLS_ECONFIG, "%s: %s", path, strerror(errno));
  struct hls_why detail = {{0}};
  struct load_ctx ctx = {c, &detail, path, false, f, 0, 0, calloc(sizeof options / sizeof options[0], sizeof(int))};
  if (ctx.set_on == NULL) {
    fclose(f);
    return hls_why_set(why, HLS_ENOMEM, "out of memory");
  }
  int line = ini_parse_stream(config_read_line, &ctx, config_ini_handler, &ctx);
  free(ctx.set_on);
  fclose(f);
  if (line == 0) return 0;
  if (line < 0) return hls_why_set(why, HLS_ECONFIG, "%s: cannot read", path);
  if (ctx.failed && ctx.failed_line == line)
    return hls_why_set(why, HLS_ECONFIG, "%s:%d: %s", path, line, detail.text);
  return hls_why_set(why, HLS_ECONFIG, "%s:%d: syntax error (expected [section] or name = value)", path, line);
}

int hls_config_check_web(const struct hls_config *c, struct hls_why *why) {
  struct hls_hostport hp;
  struct hls_why detail = {{0}};
  if (strcmp(c->web_listen, "off") != 0 && hls_hostport_parse(c->web_listen, &hp, false, true, &detail) != 0)
    return hls_why_set(why, HLS_ECONFIG, "web.listen: %s (HOST:PORT with an IP address, or off)", detail.text);
  return 0;
}

int hls_config_check(const struct hls_config *c, struct hls_why *why) {
  int wrc = hls_config_check_web(c, why);
  if (wrc != 0) return wrc;
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct hls_config_option *o = &options[i];
    if (o->default_text == NULL && o->type == HLS_CFG_STRING && ((const char *)c + o->offset)[0] == '\0')
      return hls_why_set(why, HLS_ECONFIG, "%s.%s: required (set it in the config file or with hls init)",
                         o->section, o->name);
  }
  struct hls_why detail = {{0}};
  if (hls_pat_params_check(&c->patterns, &detail) != 0)
    return hls_why_set(why, HLS_ECONFIG, "%s (the [patterns] options of the configuration)", detail.text);
  if (c->reserved_for_listed >= c->max_connections)
    return hls_why_set(why, HLS_ECONFIG, "network.reserved_for_listed (%lld) must be less than "
                       "network.max_connections (%lld)", (long long)c->reserved_for_listed,
                       (long long)c->max_connections);
  return 0;
}

void hls_config_format_value(const struct hls_config *c, const struct hls_config_option *o, char *out, size_t size) {
  const char *field = (const char *)c + o->offset;
  switch (o->type) {
    case HLS_CFG_STRING:
    case HLS_CFG_ADDR:
    case HLS_CFG_ADDR_LIST: snprintf(out, size, "%s", field); break;
    case HLS_CFG_ENUM: snprintf(out, size, "%s", o->choices[*(const int *)(const void *)field]); break;
    case HLS_CFG_REAL: {
      double v;
      memcpy(&v, field, sizeof v);
      format_real(v, out, size);
      break;
    }
    case HLS_CFG_PERIOD: {
      struct hls_period p;
      char text[HLS_PERIOD_TEXT_MAX];
      memcpy(&p, field, sizeof p);
      hls_period_format(&p, text);
      snprintf(out, size, "%s", text);
      break;
    }
    default: {
      int64_t v;
      int_get(o, field, &v);
      format_bound(o->type, v, out, size);
      break;
    }
  }
}

static bool option_equal(const struct hls_config *a, const struct hls_config *b, const struct hls_config_option *o) {
  const char *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;
  if (o->type == HLS_CFG_STRING || o->type == HLS_CFG_ADDR || o->type == HLS_CFG_ADDR_LIST) return strcmp(fa, fb) == 0;
  return memcmp(fa, fb, o->size) == 0;
}

void hls_config_apply_reload(struct hls_config *live, const struct hls_config *fresh,
                             void (*on_restart_needed)(const struct hls_config_option *o, void *ctx), void *ctx) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct hls_config_option *o = &options[i];
    if (option_equal(live, fresh, o)) continue;
    if (o->reloadable)
      memcpy((char *)live + o->offset, (const char *)fresh + o->offset, o->size);
    else if (on_restart_needed != NULL)
      on_restart_needed(o, ctx);
  }
}

/* Wrap help text at ~76 columns as "# " comment lines. */
static void write_comment(FILE *f, const char *text) {
  const char *p = text;
  while (*p) {
    size_t take = strlen(p);
    if (take > 74) {
      take = 74;
      while (take > 0 && p[take] != ' ') take--;
      if (take == 0) take = 74;
    }
    fprintf(f, "# %.*s\n", (int)take, p);
    p += take;
    while (*p == ' ') p++;
  }
}

static void describe_bounds(const struct hls_config_option *o, char *out, size_t size) {
  char lo[32], hi[32];
  switch (o->type) {
    case HLS_CFG_ENUM: choices_text(o->choices, out, size); break;
    case HLS_CFG_STRING: snprintf(out, size, "text, %" PRId64 "-%" PRId64 " bytes", o->min, o->max); break;
    case HLS_CFG_ADDR: snprintf(out, size, "HOST:PORT"); break;
    case HLS_CFG_ADDR_LIST: snprintf(out, size, "HOST:PORT list, comma-separated, at most %" PRId64, o->max); break;
    case HLS_CFG_PERIOD:
      snprintf(out, size, "a period in days, months or years (90d, 18m, 6y; at most %dy), or keep",
               HLS_PERIOD_MAX_YEARS);
      break;
    case HLS_CFG_REAL:
      format_real(o->rmin, lo, sizeof lo);
      format_real(o->rmax, hi, sizeof hi);
      snprintf(out, size, "%s to %s", lo, hi);
      break;
    default:
      format_bound(o->type, o->min, lo, sizeof lo);
      format_bound(o->type, o->max, hi, sizeof hi);
      snprintf(out, size, "%s to %s", lo, hi);
  }
}

int hls_config_write(FILE *f, const struct hls_config *c) {
  struct hls_config defaults;
  hls_config_defaults(&defaults);
  fprintf(f,
          "# hlsd configuration.\n"
          "# Options that differ from their default are set; every other option is\n"
          "# listed commented out at its default. Values need no quotes.\n"
          "# Options marked [reload] take effect on SIGHUP (systemctl reload hlsd);\n"
          "# the others need a restart. Command-line flags override this file:\n"
          "#   hlsd --set SECTION.NAME=VALUE\n");
  const char *section = "";
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct hls_config_option *o = &options[i];
    char value[256], bounds[160], dflt[64];
    if (strcmp(section, o->section) != 0) {
      fprintf(f, "\n[%s]\n", o->section);
      section = o->section;
    }
    fputc('\n', f);
    write_comment(f, o->help);
    describe_bounds(o, bounds, sizeof bounds);
    snprintf(dflt, sizeof dflt, "%s", o->default_text ? o->default_text : "none, required");
    fprintf(f, "# Allowed: %s. Default: %s.%s\n", bounds, dflt, o->reloadable ? " [reload]" : "");
    hls_config_format_value(c, o, value, sizeof value);
    bool is_default = o->default_text != NULL && option_equal(c, &defaults, o);
    fprintf(f, "%s%s = %s\n", is_default ? "#" : "", o->name, value);
  }
  return ferror(f) ? HLS_EIO : 0;
}

void hls_config_print_help(FILE *f) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct hls_config_option *o = &options[i];
    char bounds[160];
    describe_bounds(o, bounds, sizeof bounds);
    fprintf(f, "%s.%s  (%s; default %s%s)\n", o->section, o->name, bounds,
            o->default_text ? o->default_text : "none, required", o->reloadable ? "; reloadable" : "");
    fprintf(f, "    %s\n", o->help);
  }
}

void hls_config_describe_bounds(const struct hls_config_option *o, char *out, size_t size) {
  describe_bounds(o, out, size);
}

void hls_config_units_text(enum hls_config_type type, char *out, size_t size) {
  const struct unit *units = type == HLS_CFG_SIZE ? size_units : type == HLS_CFG_DURATION ? duration_units : no_units;
  out[0] = '\0';
  for (size_t i = 0; units[i].suffix != NULL; i++) {
    const char *sep = i == 0 ? "" : units[i + 1].suffix == NULL ? " or " : ", ";
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%s", sep, units[i].suffix);
  }
}
