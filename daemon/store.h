/* The SQLite store: one database file per node (DIR/hlsd.db), WAL mode,
 * foreign keys on, every statement prepared once, schema versioned with
 * PRAGMA user_version and upgraded by forward migrations at open.
 * Used from the event loop thread only. Every multi-row change runs in
 * one transaction. SQLite errors are translated to HLS_ESTORE (or
 * HLS_EBUSY / HLS_ENOMEM / HLS_ETOOBIG) with SQLite's message in why. */
#ifndef HLS_STORE_H
#define HLS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "record.h"

struct hls_store;

struct hls_store_options {
  bool synchronous_full; /* PRAGMA synchronous=FULL (else NORMAL) */
  int64_t cache_bytes;   /* PRAGMA cache_size; 0: 32 MiB */
};

int hls_store_open(struct hls_store **out, const char *path, const struct hls_store_options *opt,
                   struct hls_why *why) HLS_WARN_UNUSED;
/* Closes the database (checkpointing the WAL). NULL is a no-op. */
void hls_store_free(struct hls_store *s);
/* The schema version this build writes. */
int hls_store_schema_version(void);

/* --- records -------------------------------------------------------------
 * r->id, created_ms and updated_ms are set by insert. The record must
 * already be validated (hls_record_validate). */
int hls_store_record_insert(struct hls_store *s, struct hls_record *r, int64_t now_ms,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* HLS_ENOTFOUND if there is no such record. */
int hls_store_record_get(struct hls_store *s, int64_t id, struct hls_record *out,
                         struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_record_update(struct hls_store *s, struct hls_record *r, int64_t now_ms,
                            struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_record_delete(struct hls_store *s, int64_t id, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_record_filter {
  const char *theme; /* slug, NULL for any */
  int scale;         /* enum hls_scale, -1 for any */
  int stage;         /* enum hls_stage, -1 for any */
  int consent;       /* enum hls_consent, -1 for any */
  bool has_since, has_until;
  hls_day since, until; /* inclusive, on the record's date */
  int64_t limit;        /* 0: no limit */
  bool full;            /* also load the free-text fields */
};
void hls_record_filter_init(struct hls_record_filter *f);

/* Call cb for each matching record, newest date first (then newest id).
 * The record passed to cb is only valid during the call. A non-zero
 * return from cb stops the walk and is returned. */
typedef int (*hls_record_cb)(void *ctx, const struct hls_record *r);
int hls_store_record_list(struct hls_store *s, const struct hls_record_filter *f, hls_record_cb cb, void *ctx,
                          struct hls_why *why) HLS_WARN_UNUSED;

struct hls_store_counts {
  int64_t records;
  int64_t by_consent[HLS_CONSENT_COUNT];
  int64_t themes; /* distinct themes in use */
  int64_t bytes;  /* database + WAL size on disk */
};
int hls_store_counts(struct hls_store *s, struct hls_store_counts *out, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_theme_count {
  const char *slug;
  enum hls_kind kind;
  int64_t total;
  int64_t by_scale[HLS_SCALE_COUNT];
};
typedef int (*hls_theme_cb)(void *ctx, const struct hls_theme_count *t);
/* Themes in use with counts per kind and scale, most used first. */
int hls_store_themes(struct hls_store *s, hls_theme_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

/* Write a consistent, compacted copy of the database to path (which must
 * not exist) with VACUUM INTO. */
int hls_store_backup(struct hls_store *s, const char *path, struct hls_why *why) HLS_WARN_UNUSED;

/* --- bulk import ----------------------------------------------------------
 * An import stages validated records in temporary tables of this
 * connection (never in the database file) and commits them with a few
 * set-wise statements in one transaction, so a failed, abandoned or
 * crashed import leaves nothing behind, and a large one is fast.
 *
 * Rows of one session are numbered seq = 1, 2, 3, ... in the order they
 * are to get ids. Stage a batch between import_batch_begin and
 * import_batch_end (keep=false discards that batch). */
int hls_store_import_batch_begin(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_import_stage(struct hls_store *s, int64_t session, int64_t seq, const struct hls_record *r,
                           struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_import_batch_end(struct hls_store *s, bool keep, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_import_result {
  int64_t imported, first_id, last_id;
};
/* Insert every staged row of session as records with ids first_id + seq - 1
 * (consecutive, after every id ever used), created now_ms. One transaction:
 * on any error nothing is inserted. The staged rows are dropped either
 * way. HLS_EINTERNAL if the staged seqs are not exactly 1..N. */
int hls_store_import_commit(struct hls_store *s, int64_t session, int64_t now_ms, struct hls_import_result *out,
                            struct hls_why *why) HLS_WARN_UNUSED;
void hls_store_import_drop(struct hls_store *s, int64_t session);

#endif
