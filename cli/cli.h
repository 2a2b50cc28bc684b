/* Shared state and helpers of the hls commands. */
#ifndef HLS_CLI_H
#define HLS_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "client.h"
#include "home.h"
#include "out.h"

/* Exit codes (docs/cli.md): scripts can tell "hlsd down" from "refused",
 * and "may have been done" (never retry blindly) from both. */
enum { HLS_EXIT_OK = 0, HLS_EXIT_FAIL = 1, HLS_EXIT_USAGE = 2, HLS_EXIT_NOT_RUNNING = 3, HLS_EXIT_UNKNOWN = 4 };

struct cli_command;

struct cli {
  const char *home_flag; /* --home as given, NULL if not */
  char home[HLS_PATH_MAX];
  bool home_is_system; /* home is the system node's (no --home, HLS_HOME or node of one's own) */
  bool json;
  bool connected;
  /* hlsd's invalid_argument is a failure (1), not bad usage (2): the
   * request carries data read from a file, stdin, prompts or an editor,
   * or well-formed ids that hlsd resolves against what it holds (an item
   * that is not a story, an ambiguous prefix, this node's own id, a seq
   * past a feed's end). hls checks the form of such values itself. */
  bool refused_is_failure;
  struct hls_client client;
  const struct cli_command *cmd;
};

typedef int (*cli_fn)(struct cli *c, int argc, char **argv);

/* A command that calls no method of hlsd, or several (import). */
#define HLS_CLI_NO_METHOD (-1)

struct cli_command {
  const char *name;    /* "record add" */
  cli_fn fn;
  int method;          /* enum hls_method_id it calls, or HLS_CLI_NO_METHOD */
  const char *usage;   /* after "hls " */
  const char *summary; /* one line; NULL: the method's (protocol/methods.def) */
  const char *help;    /* what the method table does not say (notes, hls's own options); may be NULL */
};

/* cmd's summary: its own, else its method's. */
const char *cli_command_summary(const struct cli_command *cmd);
/* cmd's help after its usage and summary: a line for each option of its
 * method (the method's arguments that hls takes as --flags, from the
 * method table), then cmd->help. Cut to fit size. */
void cli_command_help(const struct cli_command *cmd, char *out, size_t size);

/* An option of hls itself, before the command ("hls --home DIR status"). */
struct cli_global_option {
  const char *name;    /* "home" */
  const char *arg;     /* its value's name ("DIR"), NULL if it takes none */
  bool after_command;  /* also taken after the command (cli_opts_init) */
  const char *help;    /* one line */
};

/* hls's tables, for the man page and the completion written from them. */
struct cli_tables {
  const struct cli_command *commands;
  size_t n_commands;
  const struct cli_global_option *options;
  size_t n_options;
};

/* Print "hls: <message>" on stderr and return the exit code for code. */
int cli_fail(struct cli *c, int code, const char *fmt, ...) HLS_PRINTF(3, 4);
/* A usage error: the reason, then "Try 'hls CMD --help'." Returns 2. */
int cli_usage(struct cli *c, const char *fmt, ...) HLS_PRINTF(2, 3);
/* A command whose one option is --yes (a change that cannot be undone):
 * *go true when --yes was given (0 returned); else what to exit with:
 * 0 after --help, or bad usage (why_no when --yes is missing). */
int cli_require_yes(struct cli *c, int argc, char **argv, const char *why_no, bool *go);
/* A request refused with code (hlsd's error, or hls's own check of a value)
 * and message: invalid_argument, invalid_utf8 or too_large is a bad value
 * on the command line, so bad usage (cli_usage, 2), unless
 * c->refused_is_failure; any other code fails (cli_fail). */
int cli_refused(struct cli *c, int code, const char *message);

/* getopt_long over the command's options plus --json, --home and --help.
 * Returns the option, -1 at the end, or 'h'/'?' already handled: callers
 * return *exit_code when it is >= 0. */
struct cli_opts {
  struct option all[48];
  char shortopts[8];
};
void cli_opts_init(struct cli_opts *o, const struct option *own);
int cli_next_opt(struct cli *c, struct cli_opts *o, int argc, char **argv, int *exit_code);

/* fd is a pipe or socket whose reader has closed its end (checked
 * without writing). */
bool cli_reader_gone(int fd);

/* Set c->home for a command on an existing node: --home, else HLS_HOME,
 * else the per-user default, else the system node's directory
 * (hls_home_resolve_client). */
int cli_resolve_home(struct cli *c, struct hls_why *why) HLS_WARN_UNUSED;
/* Connect to hlsd (once); on failure prints the reason and returns the
 * exit code (3 when hlsd is not running). */
int cli_connect(struct cli *c);
/* Send a request built with hls_client_begin and wait for the reply.
 * Prints the daemon's error and returns its exit code on failure
 * (cli_refused: 2 for a bad value, else 1; 3 when hlsd is not running). */
int cli_call(struct cli *c, struct hls_client_req *r, struct hls_ctl_response *resp);
int cli_call_events(struct cli *c, struct hls_client_req *r, struct hls_ctl_response *resp, hls_client_event_fn fn,
                    void *ctx);

/* A command whose arguments are all its method's options (the method
 * table's, params.h), with no positional word: parses them, checks them,
 * connects, calls. When *done is false, *resp holds the reply (the caller
 * frees it); when true, return the returned code (0 after --help, or the
 * failure already printed). */
int cli_call_simple(struct cli *c, int argc, char **argv, enum hls_method_id method, struct hls_ctl_response *resp,
                    bool *done) HLS_WARN_UNUSED;

/* Parse a positive record id argument. */
int cli_parse_id(const char *s, int64_t *id);
/* Parse a --limit value: a whole number, 0 or more. */
int cli_parse_limit(const char *s, int64_t *limit);
/* Read a whole file ("-" for stdin), at most max bytes. */
int cli_read_file(const char *path, size_t max, char **data, size_t *len, struct hls_why *why) HLS_WARN_UNUSED;

/* The commands, by module. */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_sync(struct cli *c, int argc, char **argv);
int cmd_network_key(struct cli *c, int argc, char **argv);
int cmd_record_add(struct cli *c, int argc, char **argv);
int cmd_record_list(struct cli *c, int argc, char **argv);
int cmd_record_export(struct cli *c, int argc, char **argv);
int cmd_record_show(struct cli *c, int argc, char **argv);
int cmd_record_edit(struct cli *c, int argc, char **argv);
int cmd_record_delete(struct cli *c, int argc, char **argv);
int cmd_themes(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_chain(struct cli *c, int argc, char **argv);
int cmd_chain_accept_loss(struct cli *c, int argc, char **argv);
int cmd_identity_rotate(struct cli *c, int argc, char **argv);
int cmd_consent_set(struct cli *c, int argc, char **argv);
int cmd_consent_withdraw(struct cli *c, int argc, char **argv);
int cmd_share_preview(struct cli *c, int argc, char **argv);
int cmd_share_review(struct cli *c, int argc, char **argv);
int cmd_share_approve(struct cli *c, int argc, char **argv);
int cmd_share_reject(struct cli *c, int argc, char **argv);
int cmd_share_publish(struct cli *c, int argc, char **argv);
int cmd_share_log(struct cli *c, int argc, char **argv);
int cmd_share_export(struct cli *c, int argc, char **argv);
int cmd_share_receipts(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_peer_add(struct cli *c, int argc, char **argv);
int cmd_peer_list(struct cli *c, int argc, char **argv);
int cmd_peer_remove(struct cli *c, int argc, char **argv);
int cmd_peer_block(struct cli *c, int argc, char **argv);
int cmd_network_rotate(struct cli *c, int argc, char **argv);
int cmd_network_retire_old(struct cli *c, int argc, char **argv);
int cmd_network_stewards(struct cli *c, int argc, char **argv);
int cmd_network_stewards_add(struct cli *c, int argc, char **argv);
int cmd_network_stewards_remove(struct cli *c, int argc, char **argv);
/* The network key's lines of hls status (the status map's network_key),
 * each line after the first indented by indent. */
void cli_print_network_key(const struct hls_mp_value *nk, const char *indent);
int cmd_vouch(struct cli *c, int argc, char **argv);
int cmd_unvouch(struct cli *c, int argc, char **argv);
int cmd_vouch_list(struct cli *c, int argc, char **argv);
int cmd_peer_unblock(struct cli *c, int argc, char **argv);
int cmd_invite_create(struct cli *c, int argc, char **argv);
int cmd_invite_list(struct cli *c, int argc, char **argv);
int cmd_invite_revoke(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_places(struct cli *c, int argc, char **argv);
int cmd_stories(struct cli *c, int argc, char **argv);
int cmd_stories_show(struct cli *c, int argc, char **argv);
int cmd_items(struct cli *c, int argc, char **argv);
int cmd_patterns(struct cli *c, int argc, char **argv);
int cmd_patterns_show(struct cli *c, int argc, char **argv);
int cmd_patterns_summary(struct cli *c, int argc, char **argv);
int cmd_feed_subscribe(struct cli *c, int argc, char **argv);
int cmd_feed_list(struct cli *c, int argc, char **argv);
int cmd_feed_follow(struct cli *c, int argc, char **argv);
int cmd_feed_ack(struct cli *c, int argc, char **argv);
int cmd_feed_unsubscribe(struct cli *c, int argc, char **argv);
int cmd_feed_events(struct cli *c, int argc, char **argv);
int cmd_feed_token(struct cli *c, int argc, char **argv);
int cmd_user_add(struct cli *c, int argc, char **argv);
int cmd_user_list(struct cli *c, int argc, char **argv);
int cmd_user_remove(struct cli *c, int argc, char **argv);
int cmd_user_reset(struct cli *c, int argc, char **argv);
int cmd_web_open(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_record_search(struct cli *c, int argc, char **argv);
int cmd_governance_report(struct cli *c, int argc, char **argv);
int cmd_audit_verify(struct cli *c, int argc, char **argv);
int cmd_import_items(struct cli *c, int argc, char **argv);

struct hls_import;
/* Send a checked import (or report its bad rows) and print the outcome.
 * unit names what a line number counts ("line" for CSV). */
/* Import the parsed rows of imp all or nothing (source: the file, kept
 * with the import). Rows that duplicate records held are skipped and
 * reported. */
int cmd_import_list(struct cli *c, int argc, char **argv);
int cmd_import_undo(struct cli *c, int argc, char **argv);
int hls_import_run(struct cli *c, struct hls_import *imp, const char *unit, const char *source);

#endif
