/* The SQLite store: one database file per node (DIR/hlsd.db), WAL mode,
 * foreign keys on, every statement prepared once, schema versioned with
 * PRAGMA user_version and upgraded by forward migrations at open.
 * Used from the event loop thread only. Every multi-row change runs in
 * one transaction. SQLite errors are translated by
 * hls_store_sqlite_error, with SQLite's message in why. */
#ifndef HLS_STORE_H
#define HLS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cursor.h"
#include "err.h"
#include "envelope.h"
#include "record.h"

struct hls_store;

struct hls_store_options {
  bool synchronous_full; /* PRAGMA synchronous=FULL (else NORMAL) */
  int64_t cache_bytes;   /* PRAGMA cache_size; 0: 32 MiB */
  bool quick_check;      /* refuse a damaged file at open (PRAGMA quick_check): HLS_ECORRUPT */
  /* With quick_check: when the file is exactly as the last close that
   * hls_store_mark_clean_on_close asked for left it (its clean-close mark,
   * DIR/hlsd.db.clean, names its device, inode, size and modification
   * time to the nanosecond, and no WAL is beside it), open without the
   * check and leave it to the caller (hls_store_check_deferred). */
  bool trust_clean_close;
};

int hls_store_open(struct hls_store **out, const char *path, const struct hls_store_options *opt,
                   struct hls_why *why) HLS_WARN_UNUSED;
/* Closes the database (checkpointing the WAL). NULL is a no-op. */
void hls_store_free(struct hls_store *s);
/* The schema version this build writes. */
int hls_store_schema_version(void);

/* --- the store itself ------------------------------------------------------
 * Check the file's structure: PRAGMA quick_check, or with full the slower
 * integrity_check (which also compares every index with its table). cb
 * (may be NULL) gets each problem SQLite reports, at most 100. 0 if none;
 * HLS_ECORRUPT with the first (and how many) in why; or cb's non-zero
 * return. */
typedef int (*hls_store_problem_cb)(void *ctx, const char *problem);
int hls_store_check(struct hls_store *s, bool full, hls_store_problem_cb cb, void *ctx,
                    struct hls_why *why) HLS_WARN_UNUSED;

/* The check at open was skipped on a clean-close mark (trust_clean_close):
 * the caller runs it (hls_store_bgcheck) and reports a pass with
 * hls_store_check_passed. */
bool hls_store_check_deferred(const struct hls_store *s);
/* Whether the store was closed cleanly last time (its clean-close mark was
 * there at open, with trust_clean_close): false after a crash, when work
 * that was pending at the crash (the scrub after an erasure) is redone. */
bool hls_store_opened_clean(const struct hls_store *s);
void hls_store_check_passed(struct hls_store *s);
/* Write the clean-close mark when hls_store_free closes the file, if a
 * quick_check of this open passed (at open or deferred): a node that
 * stops cleanly asks for it, one that found damage does not. */
void hls_store_mark_clean_on_close(struct hls_store *s);

/* A quick_check of the file on a connection of its own, read-only, for a
 * worker thread: _new on the caller's thread, _run on any one thread,
 * _interrupt from any thread while it runs (it then returns HLS_ECLOSED:
 * the store is closing), _free after _run returned. */
struct hls_store_bgcheck;
int hls_store_bgcheck_new(struct hls_store_bgcheck **out, const struct hls_store *s,
                          struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_bgcheck_run(struct hls_store_bgcheck *c, struct hls_why *why) HLS_WARN_UNUSED;
void hls_store_bgcheck_interrupt(struct hls_store_bgcheck *c);
void hls_store_bgcheck_free(struct hls_store_bgcheck *c);

/* Merge the records' full-text index into one segment, which drops the
 * terms of deleted and edited records (FTS5 keeps them in older segments
 * until a merge), and drop the themes no record holds any more (a name
 * typed as a theme); the scrub after an erasure runs it before the
 * checkpoint, so that no erased word stays in the file. */
int hls_store_scrub_text(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;

/* Copy the WAL into the database and truncate it to nothing, so that no
 * page of an erased body stays in DIR/hlsd.db-wal. HLS_EBUSY if a reader
 * kept it from finishing (try again later). */
int hls_store_checkpoint(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;
/* The node this store belongs to (its public key), if recorded. */
int hls_store_owner(struct hls_store *s, uint8_t pk[32], bool *present, struct hls_why *why) HLS_WARN_UNUSED;
/* Record pk as the store's owner if none is, or check it is: HLS_EFOREIGN
 * when the store is another node's (recorded, or a store from before
 * owners were recorded that published items, none in pk's chain). */
int hls_store_claim(struct hls_store *s, const uint8_t pk[32], struct hls_why *why) HLS_WARN_UNUSED;

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

/* Every record deleted, told once its deletion is committed, whichever
 * path deleted it (record.delete, retention, import undo, a tombstone):
 * its id and creation time, which together name it even if a restored
 * store gives its id to another record. The node keeps them outside the
 * store (erasures.h), so that a restore does not bring them back. */
struct hls_erasure {
  int64_t record_id;
  int64_t created_ms;
};
typedef void (*hls_store_erased_fn)(void *ctx, const struct hls_erasure *e, size_t n);
void hls_store_on_erased(struct hls_store *s, hls_store_erased_fn fn, void *ctx);
/* The ids of the entries of e whose record is held: that id with that
 * creation time (malloc'd into *ids, *n_ids of them; the caller frees). */
int hls_store_erasures_held(struct hls_store *s, const struct hls_erasure *e, size_t n, int64_t **ids, size_t *n_ids,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* How far into the erasure list this store has seen (erasures.h): 0 if
 * never recorded. */
int hls_store_erasures_seen(struct hls_store *s, int64_t *offset, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_set_erasures_seen(struct hls_store *s, int64_t offset, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_record_filter {
  const char *theme; /* slug, NULL for any */
  int theme_kind;    /* with theme: enum hls_kind it has in the record, -1 for any */
  int scale;         /* enum hls_scale, -1 for any */
  int stage;         /* enum hls_stage, -1 for any */
  int consent;       /* enum hls_consent, -1 for any */
  bool has_since, has_until;
  hls_day since, until; /* inclusive, on the record's date */
  int64_t limit;        /* 0: no limit */
  bool full;            /* also load the free-text fields */
  bool has_after;       /* a page: only records after (after_day, after_id) in the list's order */
  const char *text;     /* an FTS5 query over every text field (hls_record_search_query); NULL: none */
  const char *text_themes; /* with text: a LIKE pattern over "-SLUG-" of a record's themes, which also
                            * matches ("%-yolanda-pemberton-%"); NULL: themes are not searched */
  hls_day after_day;
  int64_t after_id;
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
/* Stage r as row seq (1, 2, ... in order) of session; line is where the
 * client read it, for reporting duplicates of it. */
int hls_store_import_stage(struct hls_store *s, int64_t session, int64_t seq, int64_t line,
                           const struct hls_record *r, struct hls_why *why) HLS_WARN_UNUSED;
/* Whether r duplicates a record held (1, its id in held_id) or a row
 * staged earlier in session (1, that row's line in staged_line), by
 * content fingerprint (hls_record_fingerprint); 0 if not; or an error. */
int hls_store_import_duplicate(struct hls_store *s, int64_t session, const struct hls_record *r,
                               int64_t *held_id, int64_t *staged_line, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_import_batch_end(struct hls_store *s, bool keep, struct hls_why *why) HLS_WARN_UNUSED;

/* An import's id: random, given by import.begin, recorded at commit. */
#define HLS_IMPORT_ID_BYTES 16
#define HLS_IMPORT_SOURCE_MAX 255 /* bytes of the file name an import keeps */
#define HLS_IMPORT_USER_MAX 64

/* What an import is recorded with at commit. */
struct hls_import_meta {
  const char *source;    /* borrowed, may be NULL: the file it came from */
  const char *by;        /* borrowed, may be NULL: the user who made it */
  int64_t duplicates;    /* rows skipped as duplicates */
  bool allow_duplicates; /* rows duplicating records were staged on purpose */
};

/* A committed import. Its records are exactly the ids first_id..last_id:
 * ids are never reused, and nothing else is inserted while it commits. */
struct hls_import_result {
  uint8_t id[HLS_IMPORT_ID_BYTES];
  int64_t imported, first_id, last_id; /* ids 0 when nothing was imported */
  int64_t committed_ms;
  int64_t duplicates;     /* rows skipped as already held */
  int64_t held;           /* of its records, those still held */
  int64_t undone_ms;      /* 0 unless undone */
  int64_t undone_records; /* records the undo deleted */
  char source[HLS_IMPORT_SOURCE_MAX + 1];
  char by[HLS_IMPORT_USER_MAX + 1];
  char undone_by[HLS_IMPORT_USER_MAX + 1];
};
/* Insert every staged row of session as records with ids first_id + seq - 1
 * (consecutive, after every id ever used), created now_ms, and record the
 * import under import_id with meta. One transaction: on any error nothing
 * is inserted and the id is not recorded. The staged rows are dropped
 * either way. Unless meta->allow_duplicates, HLS_ESTATE if a record added
 * since the rows were staged duplicates one of them. HLS_EINTERNAL if the
 * staged seqs are not exactly 1..N; HLS_ESTORE if import_id was used
 * before. */
int hls_store_import_commit(struct hls_store *s, int64_t session, const uint8_t import_id[HLS_IMPORT_ID_BYTES],
                            const struct hls_import_meta *meta, int64_t now_ms, struct hls_import_result *out,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* The committed import import_id. HLS_ENOTFOUND if no import with that id
 * was committed. */
int hls_store_import_find(struct hls_store *s, const uint8_t import_id[HLS_IMPORT_ID_BYTES],
                          struct hls_import_result *out, struct hls_why *why) HLS_WARN_UNUSED;
/* The one import whose id (hex) starts with hex_prefix: HLS_ENOTFOUND if
 * none, HLS_EINVAL if several. */
int hls_store_import_find_prefix(struct hls_store *s, const char *hex_prefix, struct hls_import_result *out,
                                 struct hls_why *why) HLS_WARN_UNUSED;
/* Imports, newest first, at most limit (0: all); fn returning non-zero
 * stops the walk and is returned. */
typedef int (*hls_store_import_fn)(void *ctx, const struct hls_import_result *imp);
int hls_store_imports(struct hls_store *s, int64_t limit, hls_store_import_fn fn, void *ctx,
                      struct hls_why *why) HLS_WARN_UNUSED;
/* Record that an import was undone (records: how many the undo deleted),
 * in the caller's transaction. HLS_ESTATE if it was undone already. */
int hls_store_import_mark_undone(struct hls_store *s, const uint8_t import_id[HLS_IMPORT_ID_BYTES], int64_t now_ms,
                                 const char *by, int64_t records, struct hls_why *why) HLS_WARN_UNUSED;
void hls_store_import_drop(struct hls_store *s, int64_t session);

/* --- transactions ------------------------------------------------------------
 * For callers that group several writes (publishing a batch of items). */
int hls_store_begin(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;

/* Deferred commits, for what can be fetched again (items a peer sent):
 * a catch-up need not pay a synced commit for each run of items. Between
 * hls_store_defer_begin and _end (keep: true, or false to undo what was
 * written between them) writes go into one open transaction, which
 * hls_store_defer_commit ends (gossipd decides when: within a moment).
 * Every hls_store_begin, backup, checkpoint and hls_store_free commits it
 * first, so nobody else's change waits in it or is undone with it; a
 * crash loses at most the items of the last moment, which anti-entropy
 * fetches again (the node's vector says what it holds). A failed
 * hls_store_defer_commit rolls the transaction back
 * (hls_store_deferred_lost). */
int hls_store_defer_begin(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_defer_end(struct hls_store *s, bool keep, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_defer_commit(struct hls_store *s, struct hls_why *why);
bool hls_store_deferred(struct hls_store *s);
/* True (once) if a deferred transaction was rolled back since the last
 * call (its commit failed, or SQLite undid it after an error): the items
 * written in it are not held, whatever their writer was told. */
bool hls_store_deferred_lost(struct hls_store *s);
int hls_store_commit(struct hls_store *s, struct hls_why *why) HLS_WARN_UNUSED;
void hls_store_rollback(struct hls_store *s);

/* --- consent -------------------------------------------------------------------- */

/* Consent whose expiry date has come (consent_expires <= today) ends:
 * consent becomes private with consent_ended = expired, and the records'
 * share decisions are forgotten. *count gets the number of records changed. */
int hls_store_expire_consents(struct hls_store *s, hls_day today, int64_t now_ms, int64_t *count,
                              struct hls_why *why) HLS_WARN_UNUSED;
/* Earliest consent_expires among records with consent above private, or
 * HLS_ENOTFOUND. */
int hls_store_next_expiry(struct hls_store *s, hls_day *day, struct hls_why *why) HLS_WARN_UNUSED;

/* Retention (docs/governance.md#retention): the records whose retention
 * date comes before `before`: their own retain_until, or else their date
 * plus rules[their scale] (keep: never). */
struct hls_retention_query {
  const struct hls_period *rules; /* borrowed: HLS_SCALE_COUNT periods, by enum hls_scale */
  hls_day before;
};
typedef int (*hls_id_cb)(void *ctx, int64_t id);
/* Their ids in order, at most limit (0: all); a non-zero return of cb
 * stops the walk and is returned. */
int hls_store_retention_due(struct hls_store *s, const struct hls_retention_query *q, int64_t limit, hls_id_cb cb,
                            void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* How many (*due), and how many records have a retain_until of their own. */
int hls_store_retention_count(struct hls_store *s, const struct hls_retention_query *q, int64_t *due /* out */,
                              int64_t *own_date /* out */, struct hls_why *why) HLS_WARN_UNUSED;

/* --- items (envelopes held) ------------------------------------------------------- */

struct hls_item {
  uint8_t origin[32];
  uint64_t seq;
  int type, audience;
  int64_t timestamp_ms, stored_ms;
  uint8_t item_id[32];
  uint8_t *stub; /* owned: the envelope with a nil body */
  size_t stub_len;
  uint8_t *body; /* owned; NULL unless held */
  size_t body_len;
  int body_state; /* enum hls_body_state (protocol/envelope.h) */
};
void hls_item_clear(struct hls_item *it);

/* Store a decoded envelope (its body too when env has one, else as a stub
 * with the given state). HLS_EEXISTS if (origin, seq) is held already. */
int hls_store_item_put(struct hls_store *s, const struct hls_envelope *env, int body_state, int64_t now_ms,
                       struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_item_get(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_item *out,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* Store a run of envelopes (states[i] as for hls_store_item_put),
 * keeping the store's summaries of items (docs/data-model.md, "The read
 * side"); consecutive envelopes of one origin update its summary once.
 * Outside a transaction it is one (all or none); inside the caller's, an
 * error leaves that transaction to be rolled back (HLS_EEXISTS for a run
 * of one envelope, as hls_store_item_put, writes nothing). */
int hls_store_item_put_run(struct hls_store *s, const struct hls_envelope *envs, const int *states, size_t n,
                           int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;
/* Delete an item's body, keeping its stub (state erased). */
int hls_store_item_erase(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_why *why) HLS_WARN_UNUSED;
/* Put back the body of an item held as a stub (the caller checked it
 * against the header's body_hash). Erased or held items are left as they
 * are. */
int hls_store_item_restore_body(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body,
                                size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* Put back the body of an item held as a stub, as hls_store_item_restore_body;
 * *changed: whether it was a stub (else nothing changed). */
int hls_store_item_fill_body(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body,
                             size_t len, bool *changed, struct hls_why *why) HLS_WARN_UNUSED;
/* Highest seq held for origin (0 if none) and that item's id. */
int hls_store_chain_head(struct hls_store *s, const uint8_t origin[32], uint64_t *seq, uint8_t id[32],
                         struct hls_why *why) HLS_WARN_UNUSED;

/* --- forks this node reports (docs/protocol.md 4.7; store_forks.c) ------------
 * The forks this node found itself (not told of by another node's fork
 * item) and has not reported yet, oldest first, at most
 * HLS_FORKS_REPORTED_PER_RUN: fn gets the evidence (the stubs are
 * borrowed for the call). A non-zero return from fn stops the walk and is
 * returned. */
#define HLS_FORKS_REPORTED_PER_RUN 16
typedef int (*hls_store_fork_fn)(void *ctx, const uint8_t origin[32], uint64_t seq, const void *ours, size_t ours_len,
                                 const void *theirs, size_t theirs_len);
int hls_store_forks_unreported(struct hls_store *s, hls_store_fork_fn fn, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* The fork (origin, seq) is reported: in this node's fork item
 * published_seq, or 0 when its evidence cannot make one (never again). */
int hls_store_fork_reported(struct hls_store *s, const uint8_t origin[32], uint64_t seq, uint64_t published_seq,
                            struct hls_why *why) HLS_WARN_UNUSED;

/* --- erasure receipts (docs/protocol.md 4.5; store_receipts.c) ------------------
 * A node that erases another origin's body because of its tombstone owes
 * that origin a receipt entry; it publishes what it owes in receipts of
 * its own chain. The origin indexes the receipts naming its own items as
 * they are stored (any path that stores items: hls_store_item_put_run and
 * hls_store_item_fill_body). */

/* A tombstone of origin, signed at tombstone_ms, erased here the body of
 * origin's item target_seq, whose body state before was was_state (enum
 * hls_body_state): note the entry this node owes origin, unless origin is
 * the store's owner or the entry is noted already. Erased if the body was
 * held; never_held if only the stub was, and only if the tombstone is not
 * older than the owner's first profile (seq 1): a node that joined after
 * the erasure has nothing to confirm. *noted (may be NULL): whether an
 * entry was added. */
int hls_store_receipt_owe(struct hls_store *s, const uint8_t origin[32], uint64_t target_seq, int was_state,
                          int64_t tombstone_ms, int64_t now_ms, bool *noted, struct hls_why *why) HLS_WARN_UNUSED;
/* Up to max entries owed and in no receipt yet, in receipt order (origin
 * bytes, target_seq); *n gets how many, *more whether others wait. */
int hls_store_receipts_pending(struct hls_store *s, struct hls_receipt_entry *out, size_t max, size_t *n, bool *more,
                               struct hls_why *why) HLS_WARN_UNUSED;
/* The entries of r went out in this node's receipt receipt_seq, signed
 * at receipt_ms: entries owed are owed no more, and entries not noted
 * yet (a restored store adopting its receipts back from peers before the
 * tombstones come again) are noted as sent, so never owed again. */
int hls_store_receipts_sent(struct hls_store *s, const struct hls_receipt *r, uint64_t receipt_seq, int64_t receipt_ms,
                            struct hls_why *why) HLS_WARN_UNUSED;

/* One place in the answer to "who erased my item?". */
struct hls_receipt_place {
  uint8_t node_id[32];
  bool has_place;
  char place[HLS_PLACE_MAX + 1]; /* its latest profile's place name, when has_place */
  bool expected;                 /* expected to have held the body (below) */
  int state;                     /* enum hls_receipt_state, or -1: no receipt yet */
  uint64_t receipt_seq;          /* when state >= 0: the receipt in its chain */
  int64_t receipt_ms;            /* and that receipt's timestamp */
};
typedef int (*hls_receipt_place_cb)(void *ctx, const struct hls_receipt_place *p);
/* Every place expected to have held the body of the owner's own item
 * target_seq (of the given audience) erased by a tombstone signed at
 * tombstone_ms, and every place that sent a receipt for it, once each,
 * by place name (any case; places with no profile held last), then node
 * id. Expected: for audience network, every origin but self whose profile
 * is held and whose first profile (seq 1) is older than the tombstone
 * (members at the time of the erasure); for peers, this node's direct
 * peers (added, not blocked). cb's non-zero return stops the walk. */
int hls_store_receipt_places(struct hls_store *s, const uint8_t self[32], uint64_t target_seq, int audience,
                             int64_t tombstone_ms, hls_receipt_place_cb cb, void *ctx,
                             struct hls_why *why) HLS_WARN_UNUSED;

/* --- this node's publications --------------------------------------------------- */

struct hls_published {
  uint64_t seq;
  int type, audience;
  int64_t record_id;            /* story: 0 if none */
  int iso_year, iso_week;       /* digest and story: 0 if none */
  uint64_t target_seq;          /* tombstone */
  int reason;                   /* tombstone */
  uint8_t content_hash[32];     /* story: hash of audience and body */
  bool has_content_hash;
  uint64_t superseded_by, erased_by; /* 0 if not */
  int64_t published_ms;
};

int hls_store_published_add(struct hls_store *s, const struct hls_published *p, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_published_superseded(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_published_erased(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) HLS_WARN_UNUSED;
typedef int (*hls_published_cb)(void *ctx, const struct hls_published *p);
/* Every publication, in seq order (newest first when newest_first). */
int hls_store_published_list(struct hls_store *s, bool newest_first, int64_t limit, hls_published_cb cb, void *ctx,
                             struct hls_why *why) HLS_WARN_UNUSED;
/* The current (not superseded) item of a type: the digest of a week, or
 * the profile (iso_year = iso_week = 0). HLS_ENOTFOUND if none. */
int hls_store_published_current(struct hls_store *s, int type, int iso_year, int iso_week, struct hls_published *out,
                                struct hls_why *why) HLS_WARN_UNUSED;
/* The publication at seq; HLS_ENOTFOUND if none. */
int hls_store_published_get(struct hls_store *s, uint64_t seq, struct hls_published *out,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* Stories neither superseded nor erased. */
int hls_store_published_live_stories(struct hls_store *s, hls_published_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* ISO weeks that have a current digest, as year*100+week, ascending. */
typedef int (*hls_week_cb)(void *ctx, int iso_year, int iso_week);
int hls_store_published_digest_weeks(struct hls_store *s, hls_week_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

/* --- what there is to publish ------------------------------------------------------ */

/* Days that have records counted in digests (consent >= aggregate and not
 * expired on today), ascending. */
typedef int (*hls_day_cb)(void *ctx, hls_day day);
int hls_store_countable_days(struct hls_store *s, hls_day today, hls_day_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* Raw digest counts for records dated first..last counted on today. */
struct hls_cell_raw {
  const char *theme;
  int kind, scale, stage;
  uint32_t count;
};
typedef int (*hls_cell_cb)(void *ctx, const struct hls_cell_raw *c);
int hls_store_week_counts(struct hls_store *s, hls_day first, hls_day last, hls_day today, hls_cell_cb cb, void *ctx,
                          struct hls_why *why) HLS_WARN_UNUSED;
/* Records whose consent allows a story (peers or network, not expired on
 * today), with every field. */
int hls_store_story_candidates(struct hls_store *s, hls_day today, hls_record_cb cb, void *ctx,
                               struct hls_why *why) HLS_WARN_UNUSED;

/* --- share decisions ------------------------------------------------------------------ */

enum hls_share_state { HLS_SHARE_PENDING = 0, HLS_SHARE_APPROVED = 1, HLS_SHARE_REJECTED = 2 };
const char *hls_share_state_name(int state);

struct hls_share {
  int64_t record_id;
  int state;
  uint8_t approved_hash[32]; /* what was approved: hash of audience and story body */
  bool has_hash;
  char decided_by[HLS_ROLE_MAX + 1];
  int64_t decided_ms;
};

/* HLS_ENOTFOUND when no decision was ever made (the story awaits review). */
int hls_store_share_get(struct hls_store *s, int64_t record_id, struct hls_share *out, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_share_set(struct hls_store *s, const struct hls_share *sh, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_share_forget(struct hls_store *s, int64_t record_id, struct hls_why *why) HLS_WARN_UNUSED;

/* --- peers --------------------------------------------------------------------------- */

struct hls_peer_row {
  uint8_t node_id[32];
  char address[300]; /* HOST:PORT to dial, "" if none */
  int admin;         /* added with hls peer add (else met inbound or learnt) */
  int blocked;
  int64_t added_ms, last_seen_ms;
  int64_t bytes_in, bytes_out, failures;
  char last_error[96];
  int64_t violations; /* protocol violations by this peer (gossip) */
};
typedef int (*hls_peer_cb)(void *ctx, const struct hls_peer_row *p);
int hls_store_peer_put(struct hls_store *s, const struct hls_peer_row *p, struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_peer_delete(struct hls_store *s, const uint8_t node_id[32], struct hls_why *why) HLS_WARN_UNUSED;
int hls_store_peer_list(struct hls_store *s, hls_peer_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

/* === read side: places, stories and items held (daemon/store_query.c) =============
 * What an admin reads of the items table: one row per place (origin) held,
 * the stories whose bodies are held, every envelope. Queries only: nothing
 * here writes. Each query is prepared when called (they run on an admin's
 * request, not per item; see store_query.c). */

struct sqlite3;
/* The store's connection (borrowed: valid until hls_store_free). */
struct sqlite3 *hls_store_db(struct hls_store *s);
/* The one translation of a failed SQLite call (sqlite_rc: its primary or
 * extended result code) into an HLS_E* code, for every module that uses
 * the store's connection, so one failure gives one code everywhere:
 *   SQLITE_FULL, and an I/O error with ENOSPC/EDQUOT   HLS_EDISKFULL
 *   SQLITE_IOERR (other)                              HLS_EIO
 *   SQLITE_NOMEM                                      HLS_ENOMEM
 *   SQLITE_BUSY, SQLITE_LOCKED                        HLS_EBUSY
 *   SQLITE_TOOBIG (a value over SQLite's limits)      HLS_ETOOBIG
 *   SQLITE_CORRUPT                                    HLS_ECORRUPT
 *   anything else (NOTADB, CONSTRAINT, READONLY, ...) HLS_ESTORE
 * SQLITE_NOTADB is not store_damaged: it is what a file that never was a
 * store gives (hls_store_open says "not an hlsd store"). A constraint a
 * caller expects (a duplicate) it names itself, as already_exists.
 * why (may be NULL) gets "store: " and SQLite's message for db if
 * sqlite_rc is db's last error, else (db NULL, or a code of the caller's
 * own, such as SQLITE_NOMEM for a failed malloc) the message of the code.
 * Returns the code. */
int hls_store_sqlite_error(struct sqlite3 *db, int sqlite_rc, struct hls_why *why);

/* Pages (docs/control.md, "Pages"): every listing below walks its rows
 * in one order, from the first row or after the row page->after names
 * (keyset: rows added or removed meanwhile neither shift nor repeat the
 * others), and stops when it has handed page->limit rows to its callback
 * or read page->budget rows (those its filters skip too), or when the
 * callback returns HLS_PAGE_FULL: that row is not taken. page->more then
 * says the walk stopped before the end, and page->next is the key of the
 * last row read, where the next page starts. page NULL: every row.
 * Each walk reads only the rows it hands out or skips: no listing sorts
 * or counts the whole items table. */
struct hls_page {
  const struct hls_cursor *after; /* borrowed, may be NULL; of the listing's kind (else HLS_EINVAL) */
  int64_t limit;                  /* rows handed to cb, at most; 0: no bound */
  int64_t budget;                 /* rows read, at most; 0: no bound */
  bool more;                      /* out */
  struct hls_cursor next;         /* out, when more */
};
/* A callback's return: the row does not fit in this page (not taken). */
#define HLS_PAGE_FULL 1

/* One origin held (the origins table). The profile is the latest one
 * whose body is held. */
struct hls_place_row {
  uint8_t node_id[32];
  bool has_profile;
  struct hls_profile profile; /* when has_profile */
  uint64_t profile_seq;       /* when has_profile */
  int64_t items;              /* envelopes held, whatever their body state */
  int64_t stubs, erased;      /* of those, held as stub / with the body erased */
  int64_t last_heard_ms;      /* newest stored_ms */
  uint64_t chain_seq;         /* highest seq held */
  uint8_t head_id[32];        /* that item's id */
};
typedef int (*hls_place_cb)(void *ctx, const struct hls_place_row *p);
/* Every origin held, by place name (case-insensitive, Unicode-normalised;
 * origins with no profile held last), then node id. Cursor kind
 * HLS_CURSOR_PLACES. A non-zero return from cb but HLS_PAGE_FULL stops
 * the walk and is returned. */
int hls_store_places(struct hls_store *s, struct hls_page *page, hls_place_cb cb, void *ctx,
                     struct hls_why *why) HLS_WARN_UNUSED;

/* --- successions (store_succession.c; docs/protocol.md 4.9) ----------------------- */

/* The longest succession followed back to a root: keys rotated more often
 * are cut there (a loop of successions cannot hang a walk). */
#define HLS_SUCCESSION_MAX_DEPTH 64

struct hls_succession_row {
  uint8_t old_id[32], new_id[32];
  uint64_t seq;  /* the successor item's seq in old_id's chain */
  int64_t at_ms; /* its timestamp */
};
typedef int (*hls_succession_cb)(void *ctx, const struct hls_succession_row *r);
/* Every succession held, by old key. A non-zero return from cb stops the
 * walk and is returned. */
int hls_store_successions(struct hls_store *s, hls_succession_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* The seq of origin's successor item held, 0 if none. */
int hls_store_successor_seq(struct hls_store *s, const uint8_t origin[32], uint64_t *seq, struct hls_why *why) HLS_WARN_UNUSED;
/* The successor of origin (new key), if any: *found. */
int hls_store_successor_of(struct hls_store *s, const uint8_t origin[32], uint8_t new_id[32], bool *found,
                           struct hls_why *why) HLS_WARN_UNUSED;
/* The key origin succeeded, if any (the old key whose successor names
 * it): *found. */
int hls_store_predecessor_of(struct hls_store *s, const uint8_t origin[32], uint8_t old_id[32], bool *found,
                             struct hls_why *why) HLS_WARN_UNUSED;
/* fn(ctx, old, new) for old_id -> new_id, then for each successor held
 * after new_id, up to HLS_SUCCESSION_MAX_DEPTH steps: what is said of a
 * key passes to its newest one, whatever order the successors came in. */
void hls_store_succession_walk(struct hls_store *s, const uint8_t old_id[32], const uint8_t new_id[32],
                               void (*fn)(void *ctx, const uint8_t old_id[32], const uint8_t new_id[32]), void *ctx);
/* The root of pk's succession: the first key of the place, pk itself if
 * it succeeded none. */
int hls_store_succession_root(struct hls_store *s, const uint8_t pk[32], uint8_t root[32], struct hls_why *why) HLS_WARN_UNUSED;
/* hls identity rotate, in the store (one transaction): this node's
 * published rows are moved to published_retired under old_id (its chain
 * is closed; the new one starts empty), and new_id becomes the store's
 * owner. The successor item must be held already. */
int hls_store_rotate_owner(struct hls_store *s, const uint8_t old_id[32], const uint8_t new_id[32], struct hls_why *why) HLS_WARN_UNUSED;

/* The live stories (neither superseded nor erased) of origin, a key this
 * node held before, from published_retired: seq, audience, record_id. */
int hls_store_retired_live_stories(struct hls_store *s, const uint8_t origin[32], hls_published_cb cb, void *ctx,
                                   struct hls_why *why) HLS_WARN_UNUSED;
/* origin (a key this node held before) signed tombstone tomb_seq erasing
 * its story story_seq: logged in published_retired. */
int hls_store_retired_tombstone(struct hls_store *s, const uint8_t origin[32], uint64_t story_seq, uint64_t tomb_seq,
                                int64_t record_id, int reason, int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;

/* --- vouches (store_vouches.c; docs/protocol.md 4.6) ------------------------------ */

/* The latest vouch held of a voucher for a subject (vouch.withdrawn: it
 * took it back). */
struct hls_vouch_row {
  uint8_t voucher[32];
  struct hls_vouch vouch;
  uint64_t seq;  /* the vouch item's seq in the voucher's chain */
  int64_t at_ms; /* its timestamp */
};
typedef int (*hls_vouch_cb)(void *ctx, const struct hls_vouch_row *r);
/* Every vouch held (this node's own too), by voucher then subject. A
 * non-zero return from cb stops the walk and is returned. */
int hls_store_vouches(struct hls_store *s, hls_vouch_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* Ask the next publishing run to sign v (hls vouch, hls unvouch); it
 * replaces an earlier ask for the same subject not signed yet. */
int hls_store_vouch_ask(struct hls_store *s, const struct hls_vouch *v, int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;
/* The oldest asks, at most max, into out (*n of them). */
int hls_store_vouches_asked(struct hls_store *s, struct hls_vouch *out, size_t max, size_t *n,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* The ask for subject was signed: forget it. */
int hls_store_vouch_asked_done(struct hls_store *s, const uint8_t subject[32], struct hls_why *why) HLS_WARN_UNUSED;
typedef int (*hls_profile_cb)(void *ctx, const uint8_t origin[32], const struct hls_profile *p);
/* Every origin's latest profile held, by origin. */
int hls_store_profiles(struct hls_store *s, hls_profile_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_story_filter {
  const char *place; /* a place name (case-insensitive, exact) or a node id; NULL for any */
  const char *theme; /* slug, NULL for any */
  unsigned theme_kinds; /* with theme: the kinds it may have in the story, 1 << enum hls_kind each; 0 for any */
  bool has_since;
  hls_day since;     /* the story's week ends on or after this day */
};
/* --since reads stories published at most this many days before its day
 * and after: hlsd dates no record more than a year ahead (api_records.c),
 * so a story's week starts at most a year after it is published; the
 * rest is slack for the clocks of places. */
#define HLS_STORY_SINCE_REACH_DAYS 380

/* A story whose body is held; every pointer is borrowed for the call. */
struct hls_story_row {
  uint8_t origin[32];
  uint64_t seq;
  uint8_t item_id[32];
  int audience;
  int64_t timestamp_ms, stored_ms;
  const struct hls_story *story;
  const struct hls_place_row *place; /* its origin (has_profile may be false) */
};
typedef int (*hls_story_cb)(void *ctx, const struct hls_story_row *r);
/* Stories (type story, body held) matching f, newest published first
 * (then origin, then seq down). Cursor kind HLS_CURSOR_STORIES. A place
 * that names no place held, or a node id with no items held, is
 * HLS_ENOTFOUND. Walks: every story (an index of stories held, by
 * time), a theme's (story_themes), a place's (its items); since bounds
 * each walk at HLS_STORY_SINCE_REACH_DAYS before it. */
int hls_store_stories(struct hls_store *s, const struct hls_story_filter *f, struct hls_page *page, hls_story_cb cb,
                      void *ctx, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_item_ref;
/* The one story ref names (protocol/nodeid.h): cb is called once. Errors:
 * HLS_ENOTFOUND (nothing held by that id; or only its stub, or its body
 * was erased: why says which), HLS_EINVAL (a hex prefix that matches
 * several items, or an item that is not a story). */
int hls_store_story_find(struct hls_store *s, const struct hls_item_ref *ref, hls_story_cb cb, void *ctx,
                         struct hls_why *why) HLS_WARN_UNUSED;

struct hls_item_filter {
  bool has_origin;
  uint8_t origin[32];
  int type;      /* enum hls_env_type, 0 for any */
};
struct hls_item_row {
  uint8_t origin[32];
  uint64_t seq;
  int type, audience, body_state;
  int64_t timestamp_ms, stored_ms;
  int64_t body_bytes; /* 0 unless held */
  uint8_t item_id[32];
  const struct hls_place_row *place; /* borrowed for the call */
};
typedef int (*hls_item_row_cb)(void *ctx, const struct hls_item_row *r);
/* Every envelope held matching f, by origin then seq. Cursor kind
 * HLS_CURSOR_ITEMS. An origin with no items held is HLS_ENOTFOUND. */
int hls_store_items(struct hls_store *s, const struct hls_item_filter *f, struct hls_page *page, hls_item_row_cb cb,
                    void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* === end of the read side ==================================================== */

/* --- invites (docs/operations.md "Joining a network"; store_invites.c) ---------------
 * The inviter's side: an invite is kept as the hash of its secret
 * (hls_invite_secret_hash), never the secret. The new node's side: the
 * one invite it joined with (join_invite). */
#define HLS_INVITE_NOTE_MAX 200
#define HLS_INVITE_BY_MAX 64
#define HLS_INVITE_LIST_REDEEMED 8

struct hls_invite_row {
  int64_t id;
  int64_t max_uses, uses;
  int64_t expires_ms, created_ms;
  int64_t revoked_ms; /* 0: not revoked */
  char note[HLS_INVITE_NOTE_MAX + 1];
  char created_by[HLS_INVITE_BY_MAX + 1];
  /* The nodes that redeemed it, oldest first (at most max_uses, and at
   * most HLS_INVITE_LIST_REDEEMED of them here). */
  size_t n_redeemed;
  struct {
    uint8_t node_id[32];
    int64_t redeemed_ms;
  } redeemed[HLS_INVITE_LIST_REDEEMED];
};
typedef int (*hls_invite_row_cb)(void *ctx, const struct hls_invite_row *r);

/* A new invite; *id its number (hls invite list, revoke). */
int hls_store_invite_add(struct hls_store *s, const uint8_t secret_hash[32], int64_t max_uses, int64_t expires_ms,
                         const char *note, const char *created_by, int64_t now_ms, int64_t *id,
                         struct hls_why *why) HLS_WARN_UNUSED;
/* Every invite, newest first. */
int hls_store_invite_list(struct hls_store *s, hls_invite_row_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* Revoke invite id: HLS_ENOTFOUND if there is none, HLS_ESTATE if it
 * was revoked already. */
int hls_store_invite_revoke(struct hls_store *s, int64_t id, int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;
/* A peer (node_id, reachable at address, may be "") presents a secret
 * whose hash is secret_hash: *outcome (enum hls_invite_outcome) says
 * whether it may join; on HLS_INVITE_OK one use is taken and the
 * redemption recorded, unless node_id redeemed this invite already (a
 * redemption repeated after a lost answer takes no second use, and is OK
 * even once the invite is spent, expired or revoked). *id: the invite's
 * number (0 if unknown). */
int hls_store_invite_redeem(struct hls_store *s, const uint8_t secret_hash[32], const uint8_t node_id[32],
                            const char *address, int64_t now_ms, int *outcome, int64_t *id,
                            struct hls_why *why) HLS_WARN_UNUSED;

struct hls_join_row {
  uint8_t inviter[32];
  char address[256];
  bool has_secret;       /* false once the inviter answered */
  uint8_t secret[32];
  int64_t created_ms;
  int outcome;           /* enum hls_invite_outcome; -1 while waiting for the answer */
  int64_t outcome_ms;
};
/* The invite this node joins with (replacing any). */
int hls_store_join_set(struct hls_store *s, const uint8_t inviter[32], const char *address,
                       const uint8_t secret[32], int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;
/* *present false if this node joined without an invite. */
int hls_store_join_get(struct hls_store *s, struct hls_join_row *out, bool *present, struct hls_why *why) HLS_WARN_UNUSED;
/* The inviter's answer: kept, and the secret forgotten. */
int hls_store_join_answered(struct hls_store *s, int outcome, int64_t now_ms, struct hls_why *why) HLS_WARN_UNUSED;

#endif
