/* What the files of the store share (not for other modules; store.h is
 * the store's outside): the connection with its prepared statements, and
 * the few helpers every file runs them with. store.c prepares every
 * statement of enum stmt_id at open, from its one table of SQL; the
 * other files use them by number. */
#ifndef HLS_STORE_INTERNAL_H
#define HLS_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "cursor.h"
#include "record.h"
#include "store.h"

enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_REC_INSERT,
  ST_REC_UPDATE,
  ST_REC_DELETE,
  ST_REC_GET,
  ST_REC_THEMES,
  ST_THEME_FIND,
  ST_THEME_NEW,
  ST_RT_INSERT,
  ST_RT_DELETE,
  ST_COUNT_CONSENT,
  ST_COUNT_THEMES,
  ST_THEMES,
  ST_IMPORT_STAGE,
  ST_IMPORT_STAGE_THEME,
  ST_IMPORT_DROP,
  ST_IMPORT_DROP_THEMES,
  ST_IMPORT_OTHERS,
  ST_IMPORT_SPAN,
  ST_IMPORT_BASE,
  ST_IMPORT_DONE,
  ST_IMPORT_FIND,
  ST_IMPORT_NEW_THEMES,
  ST_IMPORT_RECORDS,
  ST_IMPORT_RECORD_THEMES,
  ST_IMPORT_HELD_PRINT,
  ST_IMPORT_STAGED_PRINT,
  ST_IMPORT_HELD_SINCE,
  ST_IMPORT_LIST,
  ST_IMPORT_FIND_PREFIX,
  ST_IMPORT_UNDONE,
  ST_SAVEPOINT,
  ST_RELEASE,
  ST_ROLLBACK_TO,
  ST_DEFER_SAVEPOINT,
  ST_DEFER_RELEASE,
  ST_DEFER_ROLLBACK_TO,
  ST_EXPIRE,
  ST_EXPIRE_SHARES,
  ST_NEXT_EXPIRY,
  ST_RETENTION_DUE,
  ST_RETENTION_COUNT,
  ST_RETAIN_OWN,
  ST_ITEM_PUT,
  ST_ITEM_GET,
  ST_ITEM_ERASE,
  ST_CHAIN_HEAD,
  ST_PUB_ADD,
  ST_PUB_SUPERSEDED,
  ST_PUB_ERASED,
  ST_PUB_LIST_ASC,
  ST_PUB_LIST_DESC,
  ST_PUB_CURRENT,
  ST_PUB_GET,
  ST_ITEM_FILL,
  ST_ITEM_STATE,
  ST_ITEM_SAVEPOINT,
  ST_ITEM_RELEASE,
  ST_ITEM_ROLLBACK_TO,
  ST_ORIGIN_ADD,
  ST_ORIGIN_FILLED,
  ST_ORIGIN_ERASED,
  ST_ORIGIN_PROFILE,
  ST_ORIGIN_SET_PROFILE,
  ST_PROFILE_LATEST,
  ST_STORY_THEME_ADD,
  ST_STORY_THEME_DEL,
  ST_PUB_LIVE_STORIES,
  ST_PUB_DIGEST_WEEKS,
  ST_COUNTABLE_DAYS,
  ST_WEEK_COUNTS,
  ST_STORY_CANDIDATES,
  ST_SHARE_GET,
  ST_SHARE_SET,
  ST_SHARE_FORGET,
  ST_PEER_PUT,
  ST_PEER_DELETE,
  ST_PEER_LIST,
  ST__COUNT
};

#define REC_COLS_SHORT                                                                                \
  "r.id, r.title, r.scale, r.stage, r.day, r.author_role, r.consent, r.consent_by, r.consent_purpose, " \
  "r.consent_expires, r.created_ms, r.updated_ms, r.consent_ended, r.created_by, r.retain_until"
#define REC_COLS REC_COLS_SHORT ", r.context, r.tried, r.happened, r.learnt"

/* record list: one prepared statement per combination of filters. */
enum {
  F_THEME = 1,
  F_SCALE = 2,
  F_STAGE = 4,
  F_CONSENT = 8,
  F_SINCE = 16,
  F_UNTIL = 32,
  F_FULL = 64,
  F_AFTER = 128, /* a page after (day, id) */
  F_TEXT = 256,  /* records whose text matches (records_fts, subject access) */
  F__COMBOS = 512
};

struct hls_store {
  sqlite3 *db;
  char path[4096];
  sqlite3_stmt *stmt[ST__COUNT];
  sqlite3_stmt *list_stmt[F__COMBOS];
  bool foreign_keys_off; /* an import could not turn them back on: retry at the next begin */
  bool deferred_open;    /* a transaction of deferred commits is open (hls_store_defer_begin) */
  bool deferred_lost;    /* one was rolled back (hls_store_deferred_lost) */
  bool check_deferred;   /* opened on a clean-close mark: the quick_check is the caller's (store_check.c) */
  bool checked;          /* a quick_check of this open passed (at open, or hls_store_check_passed) */
  bool mark_clean;       /* hls_store_mark_clean_on_close */
  bool opened_clean;     /* the clean-close mark was there at open (hls_store_opened_clean) */
  /* The owner's key, read once when a receipt first needs it
   * (store_receipts.c): 0 not read yet, 1 read, -1 none recorded. */
  int owner_known;
  uint8_t owner[32];
  /* Records deleted in the open transaction (hls_store_on_erased): told
   * at its commit, forgotten at its rollback. */
  hls_store_erased_fn erased_fn;
  void *erased_ctx;
  struct hls_erasure *erased;
  size_t n_erased, cap_erased;
};

/* Tell the records deleted to the erased hook (after a commit), or forget
 * them (after a rollback). */
void hls_store__erased_flush(struct hls_store *s);
void hls_store__erased_forget(struct hls_store *s);

/* --- helpers (store.c, but bind_record: store_records.c) ------------------ */

/* Run SQL text that returns no rows (or whose rows we ignore). */
int hls_store__exec(struct hls_store *s, const char *sql, struct hls_why *why);
/* Prepare a statement used once (the store's own are prepared at open). */
int hls_store__prepare(struct hls_store *s, const char *sql, sqlite3_stmt **st, struct hls_why *why);
/* Run a statement that returns no rows (or whose rows we ignore). */
int hls_store__step_done(struct hls_store *s, sqlite3_stmt *st, struct hls_why *why);
/* BEGIN IMMEDIATE (first turning foreign keys back on if an import could
 * not), COMMIT, and ROLLBACK when a transaction is open. */
int hls_store__begin(struct hls_store *s, struct hls_why *why);
int hls_store__commit(struct hls_store *s, struct hls_why *why);
void hls_store__rollback(struct hls_store *s);
/* text, or NULL, as parameter i (text borrowed until the statement runs). */
void hls_store__bind_text_or_null(sqlite3_stmt *st, int i, const char *text);
/* A copy of a text column (owned by the caller), NULL if it is NULL. */
char *hls_store__column_strdup(sqlite3_stmt *st, int col);
/* r's columns as the parameters of ST_REC_INSERT, ST_REC_UPDATE and
 * ST_IMPORT_STAGE (?1-?13, ?16, its fingerprint ?17), now_ms as ?14. */
void hls_store__bind_record(sqlite3_stmt *st, const struct hls_record *r, int64_t now_ms);

/* --- the clean-close mark (store_check.c) --------------------------------- */

/* Whether path's clean-close mark matches the file as it is now (and no
 * WAL is beside it); the mark is removed either way, before SQLite opens
 * the file, so that it vouches for one start at most. */
bool hls_store__clean_mark_take(const char *path);
/* Writes path's mark (after the last connection closed). Failure to
 * write it only costs the next start a quick_check. */
void hls_store__clean_mark_write(const char *path);

/* --- the read side's summaries (store_items.c) ----------------------------- */

/* The sort key of a place name (hls places' order): the name case-folded
 * and NFC-normalised, which is what libunistring's u8_casecmp compares,
 * so memcmp on keys orders names as people read them; cut at
 * HLS_CURSOR_KEY_MAX bytes. Returns its length (the name's own bytes if
 * it cannot be folded). */
#define HLS_STORE_NO_PLACE_KEY 0xff /* the key of an origin with no profile: after every name (no UTF-8 byte is 0xff) */
size_t hls_store__place_key(const char *name, uint8_t out[HLS_CURSOR_KEY_MAX]);
/* Migration 11: each origin's profile and place key, and the themes of
 * every story held, from the items table. */
int hls_store__fill_read_side(struct hls_store *s, struct hls_why *why);

/* --- erasure receipts (store_receipts.c) ------------------------------------ */

/* A receipt body of holder (its seq and timestamp) is now held: index the
 * entries that name the store owner's own items (table receipts). */
int hls_store__receipt_held(struct hls_store *s, const uint8_t holder[32], uint64_t seq, int64_t timestamp_ms,
                            const uint8_t *body, size_t len, struct hls_why *why);

/* --- successions (store_succession.c) --------------------------------------------- */

/* A successor body of origin (its seq and timestamp) is now held: origin
 * -> its new key (table successions; a second successor naming one new
 * key is ignored). */
int hls_store__successor_held(struct hls_store *s, const uint8_t origin[32], uint64_t seq, int64_t timestamp_ms,
                              const uint8_t *body, size_t len, struct hls_why *why) HLS_WARN_UNUSED;
/* The meta row "owner" := pk (store.c). */
int hls_store__meta_set_owner(struct hls_store *s, const uint8_t pk[32], struct hls_why *why) HLS_WARN_UNUSED;

/* --- vouches (store_vouches.c) ---------------------------------------------------- */

/* A vouch body of voucher (its seq and timestamp) is now held: it
 * supersedes the voucher's earlier vouch for the same subject (table
 * vouches). */
int hls_store__vouch_held(struct hls_store *s, const uint8_t voucher[32], uint64_t seq, int64_t timestamp_ms,
                          const uint8_t *body, size_t len, struct hls_why *why);

#endif
