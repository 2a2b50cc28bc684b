/* The bash completion of hls, written from its command table when the
 * build runs 'hls --bash-completion'. Each command's flags are the --flag
 * tokens of its usage (which lists them all, or names the command whose
 * flags it takes: "[the flags of record add]"); a flag's values are the
 * choices its usage spells ("csv|json"), the names protocol/ parses
 * (--scale, --stage, --consent, --kind, --signal, --type), or file names
 * where its value or an argument is a FILE (directories for a DIR). */
#ifndef HLS_CLI_COMPLETION_H
#define HLS_CLI_COMPLETION_H

#include <stdio.h>

#include "cli.h"

/* Write the completion script (for bash-completion: it uses
 * _init_completion and _filedir) to f. Returns 0; HLS_EINVAL if a usage
 * cannot be read: words in brackets other than "the flags of COMMAND",
 * an unknown COMMAND, more flags than fit (the build then fails, rather
 * than leave flags out); or HLS_EIO if f failed. */
int cli_completion_write(FILE *f, const struct cli_tables *t);

#endif
