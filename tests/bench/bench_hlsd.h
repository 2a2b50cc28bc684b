/* Real hlsd processes for the benchmarks that start them (bench_gossip,
 * bench_partner): a temporary directory, the daemons started in it, their
 * control sockets (docs/control.md, spoken as hls speaks it) and what
 * /proc says about them.
 *
 * Every hlsd started is remembered, so that any exit, error paths
 * included, stops it, and the directory is removed (BENCH_KEEP=1 keeps
 * it). A benchmark cannot go on without a failed call, so the calls that
 * can fail end the program (bench_die) unless their contract says they
 * return an error. Environment, for every hlsd started: BENCH_SET="S.NAME=VALUE
 * ..." gives it more options (to try settings; the tables of
 * docs/benchmarks.md say when they used any). */
#ifndef HLS_BENCH_HLSD_H
#define HLS_BENCH_HLSD_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"
#include "mp.h"
#include "nodeid.h"

/* --- the run --------------------------------------------------------------------- */

/* Name messages with prog; stop every daemon and remove the directory at
 * exit and on SIGINT or SIGTERM (BENCH_KEEP=1 keeps it). Call once, first. */
void bench_setup(const char *prog);
/* Make the run's directory, /tmp/hls-bench-NAME.XXXXXX; its path (static). */
const char *bench_dir_make(const char *name);
/* Print "PROG: message" and the directory's fate; exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bench_pause_ms(long ms);
/* The machine's 1-minute load average (the machine is shared: the figures
 * say how busy it was); -1 if unknown. */
double bench_load_1m(void);

/* --- processes ------------------------------------------------------------------- */

/* Run hlsd --home HOME --set network.max_per_address=0 [--set S]... (and
 * BENCH_SET's), stdout and stderr appended to log. sets: NULL-terminated,
 * may be NULL. */
pid_t bench_hlsd_spawn(const char *hlsd, const char *home, const char *log, const char *const *sets);
/* SIGTERM, wait; a note on stderr if it did not exit 0. */
void bench_hlsd_stop(pid_t pid);
/* True if pid (a daemon started here) has exited; it is then forgotten. */
bool bench_hlsd_exited(pid_t pid);
/* A "Vm...:" line of /proc/PID/status in KiB (field "VmHWM:"); -1. */
long bench_proc_kb(pid_t pid, const char *field);
/* User + system CPU seconds used by pid so far; -1. */
double bench_proc_cpu_s(pid_t pid);
/* Seconds pid's main thread has run on a CPU, and has waited for one while
 * runnable (/proc/PID/schedstat). hlsd is one thread. */
void bench_proc_sched_s(pid_t pid, double *run, double *wait);
/* Wait for the next line of log holding " event=EVENT " after byte *pos
 * (advanced past it), copied to line; false at the deadline. Dies if pid
 * exits meanwhile. Looks every 20 ms. */
bool bench_log_wait(const char *log, long *pos, const char *event, pid_t pid, double timeout_s, char *line,
                    size_t size);
/* The number after key (e.g. "load_ms=") in a log line; -1 if absent. */
double bench_log_field(const char *line, const char *key);

/* --- control socket (docs/control.md) ------------------------------------------- */

struct bench_ctl {
  int fd;
  uint64_t next_id;
  msgpack_sbuffer sb;
  msgpack_packer pk;
};

/* One attempt to connect c to path: 0, or -1 with errno (hlsd starting:
 * ENOENT or ECONNREFUSED). On failure c holds no socket; either way
 * bench_ctl_close it. */
int bench_ctl_try(struct bench_ctl *c, const char *path);
/* Connect, retrying every 10 ms until hlsd answers; dies if pid exits or
 * at the deadline. */
void bench_ctl_open(struct bench_ctl *c, const char *path, pid_t pid, double timeout_s);
void bench_ctl_close(struct bench_ctl *c);
/* Start a request: pack exactly one value (its args) on the packer
 * returned, then bench_ctl_send. */
msgpack_packer *bench_ctl_begin(struct bench_ctl *c, const char *cmd);
void bench_ctl_send(struct bench_ctl *c);
/* Send the request begun, or -1 (errno) if the socket refuses it. */
int bench_ctl_try_send(struct bench_ctl *c);
/* Read one whole frame: its payload (malloc'd, *out owned by the caller)
 * and its length. 0, or -1 (closed, or a bad header). */
int bench_ctl_read_frame(int fd, uint8_t **out, size_t *len);
/* The reply to the request sent last (progress events skipped). An error
 * reply ends the benchmark: it cannot go on without the call. */
void bench_ctl_reply(struct bench_ctl *c, struct hls_ctl_response *resp);
void bench_ctl_call(struct bench_ctl *c, struct hls_ctl_response *resp);
/* A request without arguments ({}), and its reply. */
void bench_ctl_simple(struct bench_ctl *c, const char *cmd, struct hls_ctl_response *resp);

/* A reply's integer member, -1 if absent; a string member copied into out
 * ("" if absent or too long). */
int64_t bench_mp_i64(const struct hls_mp_value *m, const char *key);
void bench_mp_str(const struct hls_mp_value *m, const char *key, char *out, size_t size);
/* The gossip object of a status reply. */
const struct hls_mp_value *bench_gossip_of(const struct hls_ctl_response *status);

/* --- nodes ------------------------------------------------------------------------ */

struct bench_node {
  char home[96], sock[128], wal[128], db[128], log[128];
  pid_t pid;
  struct bench_ctl c;
  char id[HLS_NODEID_TEXT_SIZE];
  char addr[80];
};

/* hls init: a node in DIR/name (role: enum hls_role) listening on
 * 127.0.0.1:0; its log DIR/name.log. network_key NULL creates a network;
 * key_out (if not NULL) gets its key as text (HLS_KEY32_TEXT_SIZE). */
void bench_node_init(struct bench_node *n, const char *name, int role, const char *network_key, char *key_out);
void bench_node_start(struct bench_node *n, const char *hlsd, const char *const *sets);
/* Connect (waiting up to timeout_s for hlsd to answer), and learn the
 * node's id and listening address. */
void bench_node_open(struct bench_node *n, double timeout_s);
/* n lists peer (peer.add). */
void bench_node_peer_add(struct bench_node *n, const struct bench_node *peer);
/* peer.list: bytes in and out with one peer (node id text). */
void bench_node_peer_bytes(struct bench_node *n, const char *peer, int64_t *in, int64_t *out);
/* status: gossip.items. */
int64_t bench_node_items(struct bench_node *n);
/* record.add: "Spread bench record I", organisation scale, stage reflect,
 * consent aggregate, one theme, dated date (YYYY-MM-DD). */
void bench_node_record_add(struct bench_node *n, const char *date, const char *theme, int i);
/* The Monday of week k after 2020-01-06, as YYYY-MM-DD. */
void bench_week_date(int k, char out[11]);

/* After fresh peer.add-ed serve at t0 (now_s()): poll fresh's peer.list
 * every 20 ms until it holds want items. The catch-up ends at the last
 * change of fresh's bytes out to serve (its ACK of the last batch), once
 * they have been still for a second and status shows want items held
 * (status counts every item, so it is asked only then). Progress on
 * stderr every 10 s. Returns that end (now_s() time); *status_asked: how
 * many status calls it took. Dies after timeout_s. */
double bench_wait_catchup(struct bench_node *fresh, const struct bench_node *serve, int64_t want, double t0,
                          double timeout_s, int *status_asked);

#endif
