/* The node's audit log (docs/governance.md): an append-only, hash-chained
 * table of every change made to the node, by whom, when, and (for a
 * record) its fields before and after, never its free text. Each entry's
 * hash is BLAKE2b-256 over the previous entry's hash and this entry's
 * fields (audit_hash_input in audit.c, a msgpack array in a fixed order),
 * so an entry changed or removed in the middle breaks the chain from there
 * on (hls audit verify). Loop thread, on the store's connection. */
#ifndef HLS_AUDIT_H
#define HLS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct sqlite3;

#define HLS_AUDIT_HASH_BYTES 32

/* One entry. Strings are borrowed; NULL (or record_id 0) when not
 * meaningful. */
struct hls_audit_entry {
  int64_t seq;         /* set by the store (1, 2, ...) */
  int64_t at_ms;       /* Unix ms, the node's clock */
  const char *who;     /* a Unix user, "web:NAME", or "hlsd" for the node's own doing */
  const char *action;  /* a method name (record.edit), or the node's (consent.expired, config.reload) */
  int64_t record_id;   /* the record it is about, 0 for none */
  const char *about;   /* what else it names: "node_id=...", "name=...", "ids=3" */
  const char *before;  /* JSON: the record's fields before (no free text) */
  const char *after;   /* JSON: after */
  const char *result;  /* "ok", or the error code of a refused change */
  uint8_t hash[HLS_AUDIT_HASH_BYTES]; /* read back: this entry's hash */
};

/* Append e (its seq and hash are set here). */
int hls_audit_append(struct sqlite3 *db, struct hls_audit_entry *e, struct hls_why *why) HLS_WARN_UNUSED;
/* The triggers that refuse to update or delete an entry: those missing
 * (someone with the store file dropped them) are made again; *restored
 * says how many. hlsd runs it at every start and says so in the log and
 * the audit log itself. */
int hls_audit_guard(struct sqlite3 *db, int *restored, struct hls_why *why) HLS_WARN_UNUSED;

/* Entries in order (seq ascending), those matching: at or after since_ms
 * (0: all), of record_id (0: any), of who (NULL: anyone); at most limit
 * (0: all), the newest ones when limited. */
struct hls_audit_filter {
  int64_t since_ms;
  int64_t record_id;
  const char *who;
  int64_t limit;
};
typedef int (*hls_audit_cb)(void *ctx, const struct hls_audit_entry *e);
int hls_audit_list(struct sqlite3 *db, const struct hls_audit_filter *f, hls_audit_cb cb, void *ctx,
                   struct hls_why *why) HLS_WARN_UNUSED;

/* Recompute every entry's hash in order. *entries: how many; *bad_seq:
 * the first entry whose stored hash or link is wrong (0 if none); head:
 * the last entry's hash (zeros if there is none). */
int hls_audit_verify(struct sqlite3 *db, int64_t *entries /* out */, int64_t *bad_seq /* out */,
                     uint8_t head[HLS_AUDIT_HASH_BYTES] /* out */, struct hls_why *why) HLS_WARN_UNUSED;

#endif
