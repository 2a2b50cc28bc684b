/* hlsd's command line: its options are one table (in main.c) that feeds
 * getopt_long, hlsd --help, the man page hlsd(8) and the bash completion
 * of hlsd, so that none of them can leave an option out. */
#ifndef HLS_USAGE_H
#define HLS_USAGE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What completes an option's value. */
enum hls_usage_value {
  HLS_USAGE_TEXT,    /* nothing to offer (or the option takes no value) */
  HLS_USAGE_FILE,    /* a file name */
  HLS_USAGE_DIR,     /* a directory */
  HLS_USAGE_CHOICE,  /* the choices of the configuration option config_key */
  HLS_USAGE_SETTING, /* SECTION.NAME=VALUE: the configuration's options */
};

struct hls_usage_option {
  const char *name;           /* without "--" */
  int code;                   /* what getopt_long returns for it */
  const char *arg;            /* its value's name ("DIR"), NULL if it takes none */
  enum hls_usage_value value; /* what completes the value */
  const char *config_key;     /* HLS_USAGE_CHOICE: "log.level" */
  bool hidden;                /* not in --help, hlsd(8) nor the completion: for the build, or tests */
  const char *help;           /* lines after the first are indented under it */
};

struct hls_usage {
  const char *const *synopsis; /* the forms after "hlsd ", NULL-terminated */
  const char *description;     /* one line */
  const struct hls_usage_option *options;
  size_t n_options;
  const char *epilogue; /* --help's last lines */
};

/* getopt_long's table: out has room for u->n_options + 1 entries. */
void hls_usage_getopt(const struct hls_usage *u, struct option *out);
/* hlsd --help. */
void hls_usage_print_help(FILE *f, const struct hls_usage *u);
/* hlsd(8) as roff; hlsd's bash completion. Each returns 0, or HLS_EIO if
 * f failed. */
int hls_usage_man_page(FILE *f, const struct hls_usage *u);
int hls_usage_bash_completion(FILE *f, const struct hls_usage *u);

#endif
