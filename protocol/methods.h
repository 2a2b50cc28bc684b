/* The daemon's methods, described once (protocol/methods.def): names, the
 * hls command that calls each, the least role that may, flags, a summary
 * and a schema of their arguments; and the check of a request's arguments
 * against that schema. Pure data and pure functions: the daemon adds the
 * handlers (daemon/api.c), hls and the web app read the rest. */
#ifndef HLS_METHODS_H
#define HLS_METHODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mp.h"

/* The methods by ID: HLS_M_STATUS, HLS_M_RECORD_ADD, ... */
enum hls_method_id {
#define HLS_METHOD(id, name, cli, role, flags, handler, summary, args) HLS_M_##id,
#include "methods.def"
#undef HLS_METHOD
  HLS_M__COUNT
};

/* Roles, least first: a role may call every method of its own and lower
 * roles (docs/control.md#roles). */
enum hls_user_role { HLS_USER_VIEWER, HLS_USER_PRACTITIONER, HLS_USER_LEAD, HLS_USER_ADMIN };

enum {
  HLS_MF_CHANGES = 1 << 0, /* changes the node: logged with the caller */
  HLS_MF_LOCAL = 1 << 1,   /* control socket only */
  HLS_MF_STREAM = 1 << 2,  /* answers with events before (or instead of) a reply */
  HLS_MF_TEST = 1 << 3,    /* only on hlsd --test-clock */
  HLS_MF_RECORD = 1 << 4,  /* changes the one record its id argument names: audited with its fields before and after */
  /* Hands out records' text or this node's signed items (an export, a
   * subject access search): each call is kept in the audit log with who
   * made it and its filters, never its search words. A method with a
   * "full" argument is an export only when full is true, and a paged one
   * only on its first page (no after_id). */
  HLS_MF_EXPORT = 1 << 5,
};

enum hls_arg_type {
  HLS_ARG_STR,
  HLS_ARG_NAME,
  HLS_ARG_INT,
  HLS_ARG_NUM,
  HLS_ARG_BOOL,
  HLS_ARG_DATE,
  HLS_ARG_NODE_ID,
  HLS_ARG_ENUM,
  HLS_ARG_ENUMS,
  HLS_ARG_STRS,
  HLS_ARG_MAP,
  HLS_ARG_MAPS,
  HLS_ARG_IDS,
  HLS_ARG_BINS,
};

enum {
  HLS_AF_REQ = 1 << 0, /* required */
  HLS_AF_POS = 1 << 1, /* a positional word on the command line */
};

/* Arguments of one method at most (hls keeps its options in arrays of
 * this size; test_methods checks the table). */
#define HLS_METHOD_MAX_ARGS 24

/* Values an ENUMS or STRS argument may list at most. */
#define HLS_METHOD_LIST_MAX 16

struct hls_method_arg {
  const char *key;
  enum hls_arg_type type;
  unsigned flags;      /* HLS_AF_* */
  int64_t min, max;    /* bytes (STR, STRS), value (INT, NUM), entries (MAPS, IDS, BINS) */
  const char *values;  /* ENUM, ENUMS: "a|b|c"; else NULL */
  const char *metavar; /* its value's name on the command line ("" for a flag without one); NULL: not an hls option */
  const char *help;
};

struct hls_method {
  enum hls_method_id id;
  const char *name;    /* "record.add" */
  const char *cli;     /* the hls command that calls it ("record add"), "" for none */
  enum hls_user_role role;  /* least role that may call it */
  unsigned flags;      /* HLS_MF_* */
  const char *summary; /* one line */
  const struct hls_method_arg *args;
  size_t n_args;
};

/* Every method, in the order of methods.def (hls_methods[id].id == id). */
extern const struct hls_method hls_methods[HLS_M__COUNT];

/* The method named name (not NUL-terminated, len bytes), or NULL. */
const struct hls_method *hls_method_find(const char *name, size_t len);
/* The argument key of m, or NULL. */
const struct hls_method_arg *hls_method_arg(const struct hls_method *m, const char *key);
const char *hls_user_role_name(enum hls_user_role role);
/* A role by name; HLS_EINVAL with why for another. */
int hls_user_role_parse(const char *s, size_t len, enum hls_user_role *out, struct hls_why *why) HLS_WARN_UNUSED;
const char *hls_arg_type_name(enum hls_arg_type type);

/* Check a request's arguments (a map, or nil/NULL for none) against m's
 * schema: every key known, each value of its type and within its bounds
 * (nil counts as absent), every required key present. 0, or HLS_EINVAL
 * (HLS_ETOOBIG for a list over its bound, HLS_EUTF8 for a string that is
 * not UTF-8) with why naming the key. */
int hls_method_check_args(const struct hls_method *m, const struct hls_mp_value *args, struct hls_why *why)
    HLS_WARN_UNUSED;

/* The table as data (the "commands" method, hls --methods): a list of
 * {name, help, cli, role, changes, local, stream, test, args: [{name,
 * type, required, positional, help, metavar?, min?, max?, values?}]}
 * (metavar: its value's name as an hls option; no max: no
 * bound), without the
 * HLS_MF_TEST methods unless with_test. 0 or HLS_ENOMEM. */
int hls_methods_pack(msgpack_packer *pk, bool with_test) HLS_WARN_UNUSED;

#endif
