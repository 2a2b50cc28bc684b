/* Error codes shared by every hlsd module.
 *
 * Functions return 0 on success or one of the negative HLS_E* codes below.
 * Each code has a stable name (used on the control socket and in --json
 * output, so scripts can match on it) and a human message. Detail that a
 * code cannot carry ("title: longer than 300 bytes") travels in a
 * struct hls_why filled by the failing function. */
#ifndef HLS_ERR_H
#define HLS_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define HLS_WARN_UNUSED __attribute__((warn_unused_result))
#define HLS_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* X(symbol, stable name, message). Never renumber or rename: scripts and
 * peers depend on the names. Append new codes at the end. */
#define HLS_ERRNO_MAP(X)                                                     \
  X(INVAL, "invalid_argument", "invalid argument")                           \
  X(NOMEM, "out_of_memory", "out of memory")                                 \
  X(NOTFOUND, "not_found", "not found")                                      \
  X(EXISTS, "already_exists", "already exists")                              \
  X(TOOBIG, "too_large", "too large")                                        \
  X(UTF8, "invalid_utf8", "invalid UTF-8")                                   \
  X(MALFORMED, "malformed", "malformed message")                             \
  X(NONCANON, "non_canonical", "non-canonical encoding")                     \
  X(TRAILING, "trailing_bytes", "trailing bytes after message")              \
  X(TRUNCATED, "truncated", "message truncated")                             \
  X(IO, "io_error", "input/output error")                                    \
  X(STORE, "store_error", "store error")                                     \
  X(PERM, "insecure_permissions", "insecure file permissions")               \
  X(BADSIG, "bad_signature", "bad signature")                                \
  X(CHAIN, "broken_chain", "broken chain")                                   \
  X(UNSUPPORTED, "unsupported", "unsupported")                               \
  X(BUSY, "busy", "resource busy")                                           \
  X(NOTRUNNING, "not_running", "daemon not running")                         \
  X(CONFIG, "bad_config", "invalid configuration")                           \
  X(UNKNOWN_CMD, "unknown_command", "unknown command")                       \
  X(LIMIT, "limit_reached", "limit reached")                                 \
  X(STATE, "bad_state", "operation not valid in this state")                 \
  X(CONSENT, "consent_denied", "not allowed by consent")                     \
  X(FORK, "fork", "conflicting items for one origin and seq")                \
  X(HANDSHAKE, "handshake_failed", "handshake failed")                       \
  X(CLOSED, "closed", "connection closed")                                   \
  X(TIMEOUT, "timeout", "timed out")                                         \
  X(ERASED, "erased", "body erased by a tombstone")                          \
  X(INTERNAL, "internal_error", "internal error")                           \
  X(CORRUPT, "store_damaged", "the store file is damaged")                   \
  X(FOREIGN, "foreign_store", "the store belongs to another node")          \
  X(DISKFULL, "disk_full", "no space left on the disk")                      \
  X(AUDIENCE, "audience_violation", "body sent beyond its audience")         \
  X(ACCESS, "access_denied", "access denied")

enum hls_err {
  HLS_OK = 0,
#define HLS_ERR_ENUM_(sym, name, msg) HLS_E##sym,
  HLS__EFIRST = -1000,
  HLS_ERRNO_MAP(HLS_ERR_ENUM_)
#undef HLS_ERR_ENUM_
  HLS__ELAST
};

/* Human message for code (never NULL; "unknown error" for codes we do not
 * know). */
const char *hls_strerror(int code);
/* Stable snake_case name for code, e.g. "not_found". */
const char *hls_err_name(int code);
/* Inverse of hls_err_name; HLS_EINTERNAL for unknown names. */
int hls_err_from_name(const char *name);
/* The code for a failed system call's errno: HLS_EDISKFULL for ENOSPC and
 * EDQUOT, HLS_ENOMEM for ENOMEM, HLS_EIO for anything else. */
int hls_err_from_errno(int errnum);
/* True for a failure of this node itself (store, disk, memory, I/O, a
 * busy resource, a bug), as opposed to bad input from whoever sent the
 * request or frame: a peer is never blamed for these. */
bool hls_err_is_local(int code);

/* Detail for an error, for the person who has to fix it. */
struct hls_why {
  char text[512]; /* as much as a control error message carries */
};

/* Fill why (may be NULL) and return code, so callers can write
 * `return hls_why_set(why, HLS_EINVAL, "scale: ...")`. */
int hls_why_set(struct hls_why *why, int code, const char *fmt, ...) HLS_PRINTF(3, 4);
/* Prefix existing detail: "line 3: " + why->text. */
void hls_why_prefix(struct hls_why *why, const char *fmt, ...) HLS_PRINTF(2, 3);

#endif
