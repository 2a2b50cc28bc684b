/* hls(1): the man page of hls, written from its command table and global
 * options (the ones --help prints) when the build runs 'hls --man'. */
#ifndef HLS_CLI_MANPAGE_H
#define HLS_CLI_MANPAGE_H

#include <stdio.h>

#include "cli.h"

/* Write hls(1) as roff to f. Returns 0, or HLS_EIO if f failed. */
int cli_manpage_write(FILE *f, const struct cli_tables *t);

#endif
