/* hlsd: the hlsd node daemon. Runs in the foreground; logs to stderr. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "date.h"
#include "hls_version.h"
#include "home.h"
#include "log.h"
#include "man.h"
#include "node.h"
#include "store.h"
#include "usage.h"

#define MAX_OVERRIDES 64

/* What the command line asked for, kept for SIGHUP re-reads. */
struct cmdline {
  const char *home_flag;
  char home[HLS_PATH_MAX];
  char config_path[HLS_PATH_MAX];
  const char *keys[MAX_OVERRIDES];
  const char *values[MAX_OVERRIDES];
  char *owned[MAX_OVERRIDES]; /* key=value copies split in place */
  int n_overrides;
};

/* The daemon's parsed configuration: the one global, owned by main. */
static struct hls_config config;

/* hlsd's options: getopt_long, --help, hlsd(8) and the completion are
 * made from this table (daemon/usage.h). */
static const struct hls_usage_option options[] = {
    {"home", 'H', "DIR", HLS_USAGE_DIR, NULL, false, "data directory (default $HLS_HOME, else $XDG_DATA_HOME/hlsd, else ~/.local/share/hlsd)"},
    {"config", 'c', "FILE", HLS_USAGE_FILE, NULL, false, "configuration file (default DIR/hlsd.conf)"},
    {"log-level", 'l', "LEVEL", HLS_USAGE_CHOICE, "log.level", false, "error|warn|info|debug (overrides log.level)"},
    {"listen", 'L', "HOST:PORT", HLS_USAGE_TEXT, NULL, false, "peer address (overrides network.listen)"},
    {"set", 's', "S.NAME=VALUE", HLS_USAGE_SETTING, NULL, false, "override any option of the configuration file"},
    {"help", 'h', NULL, HLS_USAGE_TEXT, NULL, false, "print this help"},
    {"help-config", 'C', NULL, HLS_USAGE_TEXT, NULL, false, "list every configuration option"},
    {"version", 'V', NULL, HLS_USAGE_TEXT, NULL, false, "print the version"},
    {"accept-new-store", 'A', NULL, HLS_USAGE_TEXT, NULL, false,
     "start although the store is missing, empty or another node's file was\n"
     "moved away: an empty store that signs nothing until this node's own\n"
     "chain is back from peers (docs/operations.md, Restore)"},
    {"check", 'K', NULL, HLS_USAGE_TEXT, NULL, false,
     "check the whole store (PRAGMA integrity_check), report, and exit"},
    /* The build writes hlsd(8), hlsd.conf(5) and the completion with these. */
    {"man", 'M', NULL, HLS_USAGE_TEXT, NULL, true, "write hlsd(8)"},
    {"man-config", 'N', NULL, HLS_USAGE_TEXT, NULL, true, "write hlsd.conf(5)"},
    {"bash-completion", 'B', NULL, HLS_USAGE_TEXT, NULL, true, "write the bash completion of hlsd"},
    /* For tests only (docs/cli.md, "Testing"): a frozen wall clock that
     * the control commands test.clock.set and test.clock.advance move. */
    {"test-clock", 'T', "TIME", HLS_USAGE_TEXT, NULL, true,
     "start the wall clock frozen at TIME (2026-03-02T10:00:00Z, or Unix seconds)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *const synopsis[] = {
    "[--home DIR] [--config FILE] [--log-level LEVEL] [--listen HOST:PORT]\n"
    "            [--set SECTION.NAME=VALUE]... [--accept-new-store]",
    "--check [--home DIR] [--config FILE]",
    "--help | --help-config | --version",
    NULL,
};

static const struct hls_usage usage = {
    synopsis,
    "Runs an hlsd node in the foreground, logging to stderr.",
    options,
    N_OPTIONS,
    "Create a node first with: hls init --place NAME --region REGION\n"
    "Signals: SIGHUP reloads the configuration; SIGINT and SIGTERM stop cleanly.\n",
};

/* A value of the command line, checked now (a bad one is bad usage,
 * exit 2, before anything starts), applied after the file's. */
static int add_override(struct cmdline *cl, const char *key, const char *value) {
  if (cl->n_overrides >= MAX_OVERRIDES) {
    fprintf(stderr, "hlsd: too many --set options (at most %d). Try 'hlsd --help'.\n", MAX_OVERRIDES);
    return -1;
  }
  struct hls_config scratch;
  struct hls_why why = {{0}};
  hls_config_defaults(&scratch);
  if (hls_config_set(&scratch, key, value, &why) != 0) {
    fprintf(stderr, "hlsd: command line: %s. Try 'hlsd --help'.\n", why.text);
    return -1;
  }
  cl->keys[cl->n_overrides] = key;
  cl->values[cl->n_overrides] = value;
  cl->n_overrides++;
  return 0;
}

static int load_config(struct hls_config *out, void *ctx, struct hls_why *why) {
  struct cmdline *cl = ctx;
  int rc;
  hls_config_defaults(out);
  if ((rc = hls_config_load_file(out, cl->config_path, why)) != 0) return rc;
  for (int i = 0; i < cl->n_overrides; i++)
    if ((rc = hls_config_set(out, cl->keys[i], cl->values[i], why)) != 0) {
      hls_why_prefix(why, "command line: ");
      return rc;
    }
  return hls_config_check(out, why);
}

/* hlsd --test-clock TIME: "2026-03-02T10:00:00Z", or whole seconds since
 * the Unix epoch (as date +%s prints them), within the years dates take. */
static int parse_test_clock(const char *text, int64_t *unix_ms) {
  if (hls_time_parse(text, strlen(text), unix_ms) == 0) return 0;
  char *end = NULL;
  errno = 0;
  long long secs = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || secs < -2208988800LL || secs > 253402300799LL) return HLS_EINVAL;
  *unix_ms = (int64_t)secs * 1000;
  return 0;
}

static int print_problem(void *ctx, const char *problem) {
  (void)ctx;
  printf("  %s\n", problem);
  return 0;
}

/* hlsd --check: the whole store, read only as far as SQLite allows; for a
 * store hlsd refused at start, or before a backup is trusted. Exit 0 if
 * sound, 1 if not. */
static int check_store(const char *home, const struct hls_config *cfg) {
  char path[HLS_PATH_MAX];
  struct hls_why why = {{0}};
  struct stat st;
  if (hls_home_path(home, "hlsd.db", path) != 0 || stat(path, &st) != 0) {
    fprintf(stderr, "hlsd: no store at %s/hlsd.db\n", home);
    return 1;
  }
  struct hls_store_options opt = {.synchronous_full = cfg->store_synchronous == 1, .cache_bytes = cfg->store_cache_bytes};
  struct hls_store *s = NULL;
  int rc = hls_store_open(&s, path, &opt, &why);
  if (rc == 0) {
    printf("Checking %s (PRAGMA integrity_check)...\n", path);
    rc = hls_store_check(s, true, print_problem, NULL, &why);
  }
  hls_store_free(s);
  if (rc != 0) {
    fprintf(stderr, "hlsd: %s\n", why.text);
    return 1;
  }
  printf("ok: no problem found\n");
  return 0;
}

int main(int argc, char **argv) {
  struct option long_options[N_OPTIONS + 1];
  struct cmdline cl;
  struct hls_why why = {{0}};
  const char *config_flag = NULL;
  struct hls_run_options run = {0};
  bool check_only = false;
  int opt, rc = 1;
  memset(&cl, 0, sizeof cl);
  hls_usage_getopt(&usage, long_options);
  opterr = 0; /* one line of our own, below */
  while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
    switch (opt) {
      case 'H': cl.home_flag = optarg; break;
      case 'c': config_flag = optarg; break;
      case 'l':
        if (add_override(&cl, "log.level", optarg) != 0) goto usage;
        break;
      case 'L':
        if (add_override(&cl, "network.listen", optarg) != 0) goto usage;
        break;
      case 's': {
        char *copy = strdup(optarg);
        char *eq = copy ? strchr(copy, '=') : NULL;
        if (eq == NULL) {
          free(copy);
          fprintf(stderr, "hlsd: --set takes SECTION.NAME=VALUE, e.g. --set log.level=debug. Try 'hlsd --help'.\n");
          goto usage;
        }
        *eq = '\0';
        if (cl.n_overrides < MAX_OVERRIDES) cl.owned[cl.n_overrides] = copy;
        else free(copy);
        if (add_override(&cl, copy, eq + 1) != 0) goto usage;
        break;
      }
      case 'h': hls_usage_print_help(stdout, &usage); rc = 0; goto out;
      case 'M': rc = hls_usage_man_page(stdout, &usage) == 0 ? 0 : 1; goto out;
      case 'N': rc = hls_man_config_page(stdout) == 0 ? 0 : 1; goto out;
      case 'B': rc = hls_usage_bash_completion(stdout, &usage) == 0 ? 0 : 1; goto out;
      case 'C': hls_config_print_help(stdout); rc = 0; goto out;
      case 'V': printf("hlsd %s\n", HLS_VERSION); rc = 0; goto out;
      case 'T':
        if (parse_test_clock(optarg, &run.test_clock_ms) != 0) {
          fprintf(stderr, "hlsd: --test-clock takes a UTC time, 2026-03-02T10:00:00Z, or Unix seconds\n");
          rc = 2;
          goto out;
        }
        run.test_clock = true;
        break;
      case 'A': run.accept_new_store = true; break;
      case 'K': check_only = true; break;
      case ':':
        fprintf(stderr, "hlsd: option '%s' needs a value. Try 'hlsd --help'.\n", argv[optind - 1]);
        goto usage;
      default:
        if (optopt != 0) fprintf(stderr, "hlsd: unknown option '-%c'. Try 'hlsd --help'.\n", optopt);
        else fprintf(stderr, "hlsd: unknown option '%s'. Try 'hlsd --help'.\n", argv[optind - 1]);
        goto usage;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "hlsd: unexpected argument '%s'. Try 'hlsd --help'.\n", argv[optind]);
    rc = 2;
    goto out;
  }
  /* Everything we create (store, socket, lock) is for this user only. */
  umask(077);
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0) {
    fprintf(stderr, "hlsd: libsodium failed to initialise\n");
    goto out;
  }
  if (hls_home_resolve(cl.home_flag, cl.home, &why) != 0) {
    fprintf(stderr, "hlsd: %s\n", why.text);
    goto out;
  }
  if (!hls_home_exists(cl.home)) {
    fprintf(stderr, "hlsd: no node in %s; create one with: hls init --place NAME --region REGION%s%s\n", cl.home,
            cl.home_flag ? " --home " : "", cl.home_flag ? cl.home : "");
    goto out;
  }
  if (config_flag != NULL)
    snprintf(cl.config_path, sizeof cl.config_path, "%s", config_flag);
  else if (hls_home_path(cl.home, "hlsd.conf", cl.config_path) != 0) {
    fprintf(stderr, "hlsd: home path too long\n");
    goto out;
  }
  if (load_config(&config, &cl, &why) != 0) {
    fprintf(stderr, "hlsd: %s\n", why.text);
    goto out;
  }
  hls_log_set_level((enum hls_log_level)config.log_level);
  if (check_only) {
    rc = check_store(cl.home, &config);
    goto out;
  }
  struct hls_node node;
  if (hls_node_run(&node, cl.home, &config, load_config, &cl, &run, &why) != 0) {
    fprintf(stderr, "hlsd: %s\n", why.text);
    goto out;
  }
  rc = 0;
  goto out;
usage: /* bad usage: one line said why */
  rc = 2;
out:
  hls_log_flush(true);
  for (int i = 0; i < MAX_OVERRIDES; i++) free(cl.owned[i]);
  return rc;
}
