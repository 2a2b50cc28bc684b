/* A command's options read from argv by its method's argument rows
 * (protocol/methods.def): every argument with a metavar that is no
 * positional word is an option (min_places: --min-places; a boolean one
 * takes no value), ENUMS and STRS ones may be given several times. hls
 * checks the values with the method table's own check before it connects,
 * so a bad value is a usage error (exit 2) with hlsd's words, and packs
 * them into the request as hlsd takes them. */
#ifndef HLS_CLI_PARAMS_H
#define HLS_CLI_PARAMS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "client.h"
#include "methods.h"

#define CLI_PARAMS_MAX HLS_METHOD_MAX_ARGS /* arguments of one method */
#define CLI_OPT_PARAM 0x200   /* getopt value of the method's argument k: CLI_OPT_PARAM + k */

struct cli_params {
  const struct hls_method *m; /* borrowed: a row of hls_methods */
  uint32_t n[CLI_PARAMS_MAX];  /* values given, by argument index */
  const char *values[CLI_PARAMS_MAX][HLS_METHOD_LIST_MAX]; /* borrowed from argv */
};

/* The option of argument key, without its dashes: "min-places" for
 * min_places, in buf. */
const char *cli_params_option_name(const char *key, char *buf, size_t size);
/* cli_opts_init with the options of method's arguments after own. */
void cli_opts_init_params(struct cli_opts *o, struct cli_params *p, enum hls_method_id method,
                          const struct option *own);
/* getopt's opt, when it is one of p's options: keep its value (optarg;
 * of an option given twice that takes one value, the last). 1 when opt is
 * not one of them (the command's own), 0 when taken, else the exit code of
 * a usage error (more than HLS_METHOD_LIST_MAX values). */
int cli_params_take(struct cli *c, struct cli_params *p, int opt, const char *value);
/* After the options: the values as hlsd takes them, checked against the
 * method's schema (required arguments are the command's to add). 0, or
 * the exit code of the usage error printed. */
int cli_params_check(struct cli *c, const struct cli_params *p);
/* After the options (optind): the method's positional words, in the
 * table's order, exactly as many as it has. 0, or the exit code of the
 * usage error ("give one NODE_ID"). */
int cli_params_positional(struct cli *c, struct cli_params *p, int argc, char **argv);
/* For a command whose every argument is its method's: options,
 * positional words, the check, connect. *done false: go on (0); true:
 * return the returned code (0 after --help, else the error's). */
int cli_params_parse(struct cli *c, int argc, char **argv, enum hls_method_id method, struct cli_params *p,
                     bool *done);
/* All of it for a command whose every argument is its method's: options,
 * positional words, the check, connect, call. *done false: *resp holds
 * the reply (the caller frees it); true: return the returned code. */
int cli_params_call(struct cli *c, int argc, char **argv, enum hls_method_id method, struct cli_params *p,
                    struct hls_ctl_response *resp, bool *done);
/* Keys given (for msgpack_pack_map), and their key-value pairs packed,
 * but for the keys in skip (NULL-terminated; NULL: none). */
size_t cli_params_count(const struct cli_params *p, const char *const *skip);
int cli_params_pack(const struct cli_params *p, msgpack_packer *pk, const char *const *skip);

/* The argument key's (first) value when given, else NULL. */
const char *cli_params_str(const struct cli_params *p, const char *key);
bool cli_params_has(const struct cli_params *p, const char *key);
/* The integer value of key (checked by cli_params_check), or absent_value. */
int64_t cli_params_int(const struct cli_params *p, const char *key, int64_t absent_value);

#endif
