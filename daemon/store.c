/* The store's core (store.h): open (pragmas, forward migrations, every
 * statement of the one table below prepared), the one translation of
 * SQLite's errors, the helpers the other files share (store_internal.h),
 * transactions, and the store itself: backup, check, checkpoint, owner.
 * Its subjects are in store_records.c, store_import.c, store_items.c and
 * store_query.c. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Forward migrations: entry i takes the schema from version i to i+1.
 * Never edit a released entry; append a new one. */
static const char *const migrations[] = {
    /* 1: learning records and their themes. Enumerations are stored as
     * small integers (docs/data-model.md has the mapping) so consent can
     * be compared by level. Days count from 1970-01-01. */
    "CREATE TABLE records("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  title TEXT NOT NULL,"
    "  scale INTEGER NOT NULL CHECK(scale BETWEEN 0 AND 3),"
    "  stage INTEGER NOT NULL CHECK(stage BETWEEN 0 AND 5),"
    "  day INTEGER NOT NULL,"
    "  context TEXT, tried TEXT, happened TEXT, learnt TEXT,"
    "  author_role TEXT,"
    "  consent INTEGER NOT NULL DEFAULT 0 CHECK(consent BETWEEN 0 AND 3),"
    "  consent_by TEXT,"
    "  consent_purpose TEXT,"
    "  consent_expires INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX records_day ON records(day DESC, id DESC);"
    "CREATE TABLE themes("
    "  id INTEGER PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE"
    ") STRICT;"
    /* day repeats the record's date so that "newest records with theme
     * T" walks one index in order and stops at the limit, with no sort. */
    "CREATE TABLE record_themes("
    "  record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
    "  theme_id INTEGER NOT NULL REFERENCES themes(id),"
    "  kind INTEGER NOT NULL CHECK(kind BETWEEN 0 AND 3),"
    "  day INTEGER NOT NULL,"
    "  PRIMARY KEY(record_id, theme_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX record_themes_theme ON record_themes(theme_id, day DESC, record_id DESC);",

    /* 2: consent that ends, and what this node publishes. */
    "ALTER TABLE records ADD COLUMN consent_ended INTEGER NOT NULL DEFAULT 0"
    "  CHECK(consent_ended BETWEEN 0 AND 2);"
    "CREATE INDEX records_expiring ON records(consent_expires) WHERE consent > 0 AND consent_expires IS NOT NULL;"
    /* Every envelope held: the stub (header and signature, body nil) always,
     * the body while it is held. */
    "CREATE TABLE items("
    "  id INTEGER PRIMARY KEY,"
    "  origin BLOB NOT NULL CHECK(length(origin) = 32),"
    "  seq INTEGER NOT NULL CHECK(seq >= 1),"
    "  type INTEGER NOT NULL,"
    "  audience INTEGER NOT NULL,"
    "  timestamp_ms INTEGER NOT NULL,"
    "  item_id BLOB NOT NULL CHECK(length(item_id) = 32),"
    "  stub BLOB NOT NULL,"
    "  body BLOB,"
    "  body_state INTEGER NOT NULL CHECK(body_state BETWEEN 0 AND 2),"
    "  stored_ms INTEGER NOT NULL,"
    "  UNIQUE(origin, seq)"
    ") STRICT;"
    /* This node's own items, with what they are about. */
    "CREATE TABLE published("
    "  seq INTEGER PRIMARY KEY,"
    "  type INTEGER NOT NULL,"
    "  audience INTEGER NOT NULL,"
    "  record_id INTEGER,"
    "  iso_year INTEGER,"
    "  iso_week INTEGER,"
    "  target_seq INTEGER,"
    "  reason INTEGER,"
    "  content_hash BLOB,"
    "  superseded_by INTEGER,"
    "  erased_by INTEGER,"
    "  published_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX published_week ON published(iso_year, iso_week) WHERE type = 2;"
    "CREATE INDEX published_record ON published(record_id) WHERE type = 3;"
    /* A person's decision on sharing a record's story. */
    "CREATE TABLE shares("
    "  record_id INTEGER PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,"
    "  state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 2),"
    "  approved_hash BLOB,"
    "  decided_by TEXT,"
    "  decided_ms INTEGER"
    ") STRICT;",

    /* 3: peers: the nodes this node knows, with the admin's trust. */
    "CREATE TABLE peers("
    "  node_id BLOB PRIMARY KEY CHECK(length(node_id) = 32),"
    "  address TEXT,"
    "  admin INTEGER NOT NULL DEFAULT 0,"
    "  blocked INTEGER NOT NULL DEFAULT 0,"
    "  added_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER,"
    "  bytes_in INTEGER NOT NULL DEFAULT 0,"
    "  bytes_out INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ") STRICT, WITHOUT ROWID;",

    /* 4: gossip: fork evidence (two signed items of one origin and seq),
     * peers' protocol violations, and the stubs a direct peer asks bodies
     * for. */
    "CREATE TABLE forks("
    "  origin BLOB NOT NULL CHECK(length(origin) = 32),"
    "  seq INTEGER NOT NULL,"
    "  ours BLOB NOT NULL,"
    "  theirs BLOB NOT NULL,"
    "  found_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(origin, seq)"
    ") STRICT, WITHOUT ROWID;"
    "ALTER TABLE peers ADD COLUMN violations INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX items_stubs ON items(origin, seq) WHERE body_state = 1 AND audience = 1;",

    /* 5: patterns (docs/patterns.md): the patterns computed from the
     * items held, the log of their changes, and the feeds that follow it.
     * Derived from items: recomputed at start and diffed against these
     * rows, so only real changes become events. */
    "CREATE TABLE patterns("
    "  id BLOB PRIMARY KEY CHECK(length(id) = 8),"
    "  live INTEGER NOT NULL,"          /* 1 holds now, 0 retracted */
    "  signal INTEGER NOT NULL,"
    "  theme TEXT NOT NULL, kind INTEGER NOT NULL,"
    "  theme2 TEXT, kind2 INTEGER,"
    "  week_from INTEGER NOT NULL, week_to INTEGER NOT NULL,"
    "  n_places INTEGER NOT NULL,"
    "  scales INTEGER NOT NULL,"
    "  regions TEXT NOT NULL,"          /* distinct regions, each followed by a newline */
    "  score REAL NOT NULL,"
    "  summary BLOB NOT NULL,"          /* the msgpack map hls patterns prints */
    "  first_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE pattern_events("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id BLOB NOT NULL,"
    "  change INTEGER NOT NULL,"        /* 0 new, 1 updated, 2 retracted */
    "  signal INTEGER NOT NULL, theme TEXT NOT NULL, kind INTEGER NOT NULL, theme2 TEXT, kind2 INTEGER,"
    "  week_from INTEGER NOT NULL, week_to INTEGER NOT NULL, n_places INTEGER NOT NULL,"
    "  scales INTEGER NOT NULL, regions TEXT NOT NULL,"
    "  summary BLOB NOT NULL,"
    "  at_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE feeds("
    "  name TEXT PRIMARY KEY,"
    "  filter BLOB NOT NULL,"           /* msgpack map of the subscription's filters */
    "  cursor INTEGER NOT NULL,"        /* the last pattern_events.seq acknowledged */
    "  created_ms INTEGER NOT NULL, acked_ms INTEGER"
    ") STRICT;",

    /* 6: hls patterns lists live patterns newest first: read in that order
     * and stop at the limit, rather than sort the whole table. */
    "CREATE INDEX patterns_listing ON patterns(week_to DESC, score DESC, id) WHERE live = 1;",

    /* 7: facts about the store itself; "owner" is the node whose store it
     * is (its public key), so that hlsd never runs on another node's. */
    "CREATE TABLE meta("
    "  key TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL"
    ") STRICT, WITHOUT ROWID;",

    /* 8: every import committed, by the id import.begin gave it, written
     * in the import's own transaction: a client that lost its connection
     * after sending import.commit asks (import.status) instead of
     * guessing, and never imports the same file twice. */
    "CREATE TABLE imports("
    "  id BLOB PRIMARY KEY CHECK(length(id) = 16),"
    "  records INTEGER NOT NULL,"
    "  first_id INTEGER NOT NULL,"      /* 0 when records = 0 */
    "  last_id INTEGER NOT NULL,"
    "  committed_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;",

    /* 9: patterns of the methods of issue 12 (docs/patterns.md): a pattern
     * lasts while its evidence holds, then ends (live = 0) and stays
     * listed; retracted is its own column. Each pattern keeps its strength
     * and p-values, a rising pattern its region, its count with withheld
     * cells at the middle of their range, and its places (names, for
     * --place; origins, to tell places joining from leaving across a
     * restart). Events keep what a feed filters on, and the latest week
     * of digests held when they were written (hls patterns summary).
     * Existing rows are kept: at the next start the new engine's patterns
     * are diffed against them, so patterns of the old methods are
     * retracted and the new ones announced, once. */
    "ALTER TABLE patterns ADD COLUMN retracted INTEGER NOT NULL DEFAULT 0;"
    "UPDATE patterns SET retracted = 1 WHERE live = 0;"
    "ALTER TABLE patterns ADD COLUMN strength REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE patterns ADD COLUMN p REAL NOT NULL DEFAULT 1;"
    "ALTER TABLE patterns ADD COLUMN p_now REAL NOT NULL DEFAULT 1;"
    "ALTER TABLE patterns ADD COLUMN region TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE patterns ADD COLUMN expected REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE patterns ADD COLUMN withheld REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE patterns ADD COLUMN places TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE patterns ADD COLUMN origins BLOB;"
    "DROP INDEX patterns_listing;"
    "CREATE INDEX patterns_by_strength ON patterns(strength DESC, week_to DESC, id) WHERE retracted = 0;"
    "ALTER TABLE pattern_events ADD COLUMN strength REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE pattern_events ADD COLUMN live INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE pattern_events ADD COLUMN region TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE pattern_events ADD COLUMN places TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE pattern_events ADD COLUMN week INTEGER;"
    "CREATE INDEX pattern_events_week ON pattern_events(week, seq) WHERE week IS NOT NULL;",

    /* 10: imports that skip what is held, and can be undone. Each record
     * keeps its content fingerprint (hls_record_fingerprint; filled for
     * the records already held by fill_fingerprints, in this migration's
     * transaction); each import keeps where it came from, who made it,
     * the rows it skipped as duplicates, and whether it was undone. An
     * import's records are exactly the ids first_id..last_id (ids are
     * never reused), so undoing it needs no column on records. */
    "ALTER TABLE records ADD COLUMN fingerprint BLOB;"
    "CREATE INDEX records_fingerprint ON records(fingerprint);"
    "ALTER TABLE imports ADD COLUMN source TEXT;"
    "ALTER TABLE imports ADD COLUMN by_user TEXT;"
    "ALTER TABLE imports ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE imports ADD COLUMN undone_ms INTEGER;"
    "ALTER TABLE imports ADD COLUMN undone_by TEXT;"
    "ALTER TABLE imports ADD COLUMN undone_records INTEGER;"
    "CREATE INDEX imports_by_time ON imports(committed_ms DESC);",

    /* 11: reads that never scan the items table (docs/data-model.md,
     * "The read side"). origins sums each origin's items as they are
     * stored, filled body or erased, and keeps a copy of the latest
     * profile held with its place's sort key (hls places, and the place
     * of each row of hls items and hls stories, read from this small
     * table rather than from profiles spread over items); items_profiles
     * finds the profile before an erased one; items_stories walks the stories whose
     * body is held newest first, and story_themes those of one theme.
     * Only profiles and stories enter the partial indexes. Filled from
     * the items held by fill_read_side, in this migration's
     * transaction. */
    "CREATE TABLE origins("
    "  origin BLOB PRIMARY KEY CHECK(length(origin) = 32),"
    "  items INTEGER NOT NULL,"
    "  stubs INTEGER NOT NULL,"
    "  erased INTEGER NOT NULL,"
    "  last_stored_ms INTEGER NOT NULL,"
    "  head_seq INTEGER NOT NULL,"
    "  head_id BLOB NOT NULL,"
    "  profile_seq INTEGER,"           /* the latest profile whose body is held and decodes; NULL: none */
    "  profile BLOB,"                  /* its body */
    "  place_key BLOB NOT NULL"        /* its place name's sort key; X'FF' (after every name) when none */
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX origins_by_place ON origins(place_key, origin);"
    "CREATE INDEX items_profiles ON items(origin, seq) WHERE type = 1 AND body_state = 0;"
    "CREATE INDEX items_stories ON items(timestamp_ms DESC, origin, seq DESC) WHERE type = 3 AND body_state = 0;"
    "CREATE TABLE story_themes("
    "  theme TEXT NOT NULL,"
    "  timestamp_ms INTEGER NOT NULL,"
    "  origin BLOB NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY(theme, timestamp_ms DESC, origin, seq DESC)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO origins(origin, items, stubs, erased, last_stored_ms, head_seq, head_id, profile_seq, place_key)"
    " SELECT a.origin, a.n, a.stubs, a.erased, a.heard, a.head, h.item_id, NULL, X'FF' FROM"
    " (SELECT origin, count(*) AS n, sum(body_state = 1) AS stubs, sum(body_state = 2) AS erased,"
    "  max(stored_ms) AS heard, max(seq) AS head FROM items GROUP BY origin) a"
    " JOIN items h ON h.origin = a.origin AND h.seq = a.head;",
    /* 12: a story found by a prefix of its item id (hls stories show)
     * without reading every item: stories only, a few in a hundred. */
    "CREATE INDEX items_story_ids ON items(item_id) WHERE type = 3;",
    /* 13: the web app (docs/web.md). Who added each record (practitioners
     * edit their own); the web app's users, with a password hash
     * (argon2id, crypto_pwhash_str) and the hash of a one-time sign-in
     * link, never the link itself; a feed's token for its URLs, hashed. */
    "ALTER TABLE records ADD COLUMN created_by TEXT;"
    "CREATE TABLE users("
    "  name TEXT PRIMARY KEY,"
    "  role INTEGER NOT NULL CHECK(role BETWEEN 0 AND 3),"
    "  pwhash TEXT,"
    "  link_hash BLOB,"
    "  link_expires_ms INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  created_by TEXT,"
    "  last_signin_ms INTEGER,"
    "  generation INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "ALTER TABLE feeds ADD COLUMN token_hash BLOB;",
    /* 14: the audit log (daemon/audit.h, docs/governance.md): every change,
     * hash-chained; never updated or deleted (the triggers refuse it). */
    "CREATE TABLE audit("
    "  seq INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  record_id INTEGER,"
    "  about TEXT, before TEXT, after TEXT,"
    "  result TEXT NOT NULL,"
    "  hash BLOB NOT NULL CHECK(length(hash) = 32)"
    ") STRICT;"
    "CREATE INDEX audit_record ON audit(record_id) WHERE record_id IS NOT NULL;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* 15: subject access (docs/governance.md): a full-text index over every
     * text field of the records, kept by triggers, filled from the records
     * held. Its deleted terms go at the next scrub after an erasure
     * (hls_store_scrub_text), with secure_delete zeroing the pages. */
    "CREATE VIRTUAL TABLE records_fts USING fts5(title, context, tried, happened, learnt, author_role, consent_by,"
    "  consent_purpose, content='records', content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN"
    "  INSERT INTO records_fts(rowid, title, context, tried, happened, learnt, author_role, consent_by,"
    "   consent_purpose) VALUES(new.id, new.title, new.context, new.tried, new.happened, new.learnt,"
    "   new.author_role, new.consent_by, new.consent_purpose); END;"
    "CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN"
    "  INSERT INTO records_fts(records_fts, rowid, title, context, tried, happened, learnt, author_role, consent_by,"
    "   consent_purpose) VALUES('delete', old.id, old.title, old.context, old.tried, old.happened, old.learnt,"
    "   old.author_role, old.consent_by, old.consent_purpose); END;"
    "CREATE TRIGGER records_fts_update AFTER UPDATE ON records BEGIN"
    "  INSERT INTO records_fts(records_fts, rowid, title, context, tried, happened, learnt, author_role, consent_by,"
    "   consent_purpose) VALUES('delete', old.id, old.title, old.context, old.tried, old.happened, old.learnt,"
    "   old.author_role, old.consent_by, old.consent_purpose);"
    "  INSERT INTO records_fts(rowid, title, context, tried, happened, learnt, author_role, consent_by,"
    "   consent_purpose) VALUES(new.id, new.title, new.context, new.tried, new.happened, new.learnt,"
    "   new.author_role, new.consent_by, new.consent_purpose); END;"
    "INSERT INTO records_fts(records_fts) VALUES('rebuild');",
    /* 16: retention (docs/governance.md#retention): a record's own
     * retention date, overriding the [retention] period of its scale. The
     * sweep (hls_store_retention_due) reads the records past either from
     * these two indexes, not the whole table. */
    "ALTER TABLE records ADD COLUMN retain_until INTEGER;"
    "CREATE INDEX records_retain_until ON records(retain_until) WHERE retain_until IS NOT NULL;"
    "CREATE INDEX records_scale_day ON records(scale, day) WHERE retain_until IS NULL;",
    /* 17: erasure receipts (docs/protocol.md 4.5, store_receipts.c). What
     * this node owes other origins for the bodies their tombstones erased
     * here (pending until a receipt of this node's chain carries it), and
     * the receipts of other nodes that name this node's own items, as
     * they arrived. Receipts did not exist before (type 5 was refused):
     * nothing to fill. */
    "CREATE TABLE receipts_owed("
    "  origin BLOB NOT NULL CHECK(length(origin) = 32),"
    "  target_seq INTEGER NOT NULL,"
    "  state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 1),"
    "  noted_ms INTEGER NOT NULL,"
    "  receipt_seq INTEGER,"
    "  PRIMARY KEY(origin, target_seq)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX receipts_owed_pending ON receipts_owed(origin, target_seq) WHERE receipt_seq IS NULL;"
    "CREATE TABLE receipts("
    "  target_seq INTEGER NOT NULL,"
    "  holder BLOB NOT NULL CHECK(length(holder) = 32),"
    "  state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 1),"
    "  receipt_seq INTEGER NOT NULL,"
    "  receipt_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(target_seq, holder)"
    ") STRICT, WITHOUT ROWID;",
    /* 18: invites (docs/operations.md "Joining a network", store_invites.c).
     * The inviter keeps only a hash of each invite's secret, its uses,
     * expiry, revocation and who redeemed it; the new node keeps the one
     * invite it joined with (join: a single row) until the inviter
     * answered, then only the answer. */
    "CREATE TABLE invites("
    "  id INTEGER PRIMARY KEY,"
    "  secret_hash BLOB NOT NULL UNIQUE CHECK(length(secret_hash) = 32),"
    "  max_uses INTEGER NOT NULL CHECK(max_uses >= 1),"
    "  uses INTEGER NOT NULL DEFAULT 0,"
    "  expires_ms INTEGER NOT NULL,"
    "  note TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER"
    ") STRICT;"
    "CREATE TABLE invite_redemptions("
    "  invite_id INTEGER NOT NULL REFERENCES invites(id),"
    "  node_id BLOB NOT NULL CHECK(length(node_id) = 32),"
    "  address TEXT NOT NULL,"
    "  redeemed_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(invite_id, node_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE join_invite("
    "  id INTEGER PRIMARY KEY CHECK(id = 1),"
    "  inviter BLOB NOT NULL CHECK(length(inviter) = 32),"
    "  address TEXT NOT NULL,"
    "  secret BLOB CHECK(secret IS NULL OR length(secret) = 32),"
    "  created_ms INTEGER NOT NULL,"
    "  outcome INTEGER,"
    "  outcome_ms INTEGER"
    ") STRICT;",
    /* 19: fork reports (docs/protocol.md 4.7). Who told this node of a
     * fork: NULL when it found the fork itself, else the reporting node
     * and the seq of its fork item; and, for a fork found here, the seq
     * of this node's own fork item (NULL until published, 0 when its
     * evidence makes none). Forks found before this version were found
     * here: reported at the next publishing run. */
    "ALTER TABLE forks ADD COLUMN reporter BLOB CHECK(reporter IS NULL OR length(reporter) = 32);"
    "ALTER TABLE forks ADD COLUMN report_seq INTEGER;"
    "ALTER TABLE forks ADD COLUMN published_seq INTEGER;",
    /* 20: vouches (docs/protocol.md 4.6, store_vouches.c). The latest
     * vouch of each voucher for each subject as held (place, region and
     * role NULL: withdrawn), and the vouches this node's admin asked for
     * that its next publishing run signs. Vouches did not exist before
     * (type 6 was refused): nothing to fill. */
    "CREATE TABLE vouches("
    "  voucher BLOB NOT NULL CHECK(length(voucher) = 32),"
    "  subject BLOB NOT NULL CHECK(length(subject) = 32 AND subject != voucher),"
    "  place TEXT,"
    "  region TEXT,"
    "  role INTEGER CHECK(role BETWEEN 0 AND 1),"
    "  seq INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(voucher, subject)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX vouches_by_subject ON vouches(subject, voucher);"
    "CREATE TABLE vouches_asked("
    "  subject BLOB PRIMARY KEY CHECK(length(subject) = 32),"
    "  place TEXT,"
    "  region TEXT,"
    "  role INTEGER CHECK(role BETWEEN 0 AND 1),"
    "  asked_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;",
    /* 21: key succession (docs/protocol.md 4.9, store_succession.c).
     * successions: each successor item held, old key -> new key (the
     * root of a place is found by walking it back). published_retired:
     * this node's published rows of the keys it held before (hls
     * identity rotate moves them here: published is keyed by seq of the
     * node's current chain). Successors did not exist before (type 9 was
     * refused): nothing to fill. */
    "CREATE TABLE successions("
    "  old_id BLOB PRIMARY KEY CHECK(length(old_id) = 32),"
    "  new_id BLOB NOT NULL UNIQUE CHECK(length(new_id) = 32 AND new_id != old_id),"
    "  seq INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE published_retired("
    "  origin BLOB NOT NULL CHECK(length(origin) = 32),"
    "  seq INTEGER NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  audience INTEGER NOT NULL,"
    "  record_id INTEGER,"
    "  iso_year INTEGER,"
    "  iso_week INTEGER,"
    "  target_seq INTEGER,"
    "  reason INTEGER,"
    "  content_hash BLOB,"
    "  superseded_by INTEGER,"
    "  erased_by INTEGER,"
    "  published_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(origin, seq)"
    ") STRICT;",
    /* 22: feeds --vouched (docs/patterns.md "Feeds of vouched places").
     * An event keeps its places' node ids (as patterns.origins), so that
     * a feed judges them when it hands the event out; events written
     * before take their pattern's places as stored now (NULL: none kept,
     * never shown by a --vouched feed). feed_withheld: per feed, the
     * latest event of each pattern it held back only because too few of
     * its places were vouched; handed out late once they are. */
    "ALTER TABLE pattern_events ADD COLUMN origins BLOB;"
    "UPDATE pattern_events SET origins = (SELECT origins FROM patterns WHERE patterns.id = pattern_events.id);"
    "CREATE TABLE feed_withheld("
    "  feed TEXT NOT NULL,"
    "  pattern BLOB NOT NULL,"
    "  seq INTEGER NOT NULL," /* the pattern_events.seq held back */
    "  PRIMARY KEY(feed, pattern)"
    ") STRICT, WITHOUT ROWID;",
    /* 23: the pattern engine's tests of frozen weeks, kept across restarts
     * (docs/patterns.md "Frozen weeks kept across restarts"): one row, the
     * bytes hls_patterns_save writes. Derived from the items held; a
     * start checks it against them and computes what differs. */
    "CREATE TABLE pattern_tests("
    "  id INTEGER PRIMARY KEY CHECK(id = 1),"
    "  saved_ms INTEGER NOT NULL,"
    "  body BLOB NOT NULL"
    ") STRICT;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* An import's row, with how many of its records are still held. */
#define IMPORT_COLS                                                                                          \
  "i.id, i.records, i.first_id, i.last_id, i.committed_ms, i.source, i.by_user, i.duplicates, i.undone_ms," \
  " i.undone_by, i.undone_records,"                                                                      \
  " (SELECT count(*) FROM records r WHERE r.id BETWEEN i.first_id AND i.last_id AND i.records > 0)"

/* The SQL of every statement of enum stmt_id (store_internal.h), prepared
 * at open. */
static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_REC_INSERT] =
        "INSERT INTO records(title, scale, stage, day, context, tried, happened, learnt, author_role, consent,"
        " consent_by, consent_purpose, consent_expires, created_ms, updated_ms, consent_ended,"
        " fingerprint, created_by, retain_until) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        " ?14, ?16, ?17, ?18, ?19)",
    [ST_REC_UPDATE] =
        "UPDATE records SET title=?1, scale=?2, stage=?3, day=?4, context=?5, tried=?6, happened=?7, learnt=?8,"
        " author_role=?9, consent=?10, consent_by=?11, consent_purpose=?12, consent_expires=?13, updated_ms=?14,"
        " consent_ended=?16, fingerprint=?17, retain_until=?19 WHERE id=?15",
    [ST_REC_DELETE] = "DELETE FROM records WHERE id=?1 RETURNING created_ms",
    [ST_REC_GET] = "SELECT " REC_COLS " FROM records r WHERE r.id=?1",
    [ST_REC_THEMES] = "SELECT t.slug, rt.kind FROM record_themes rt JOIN themes t ON t.id=rt.theme_id"
                      " WHERE rt.record_id=?1 ORDER BY t.slug",
    [ST_THEME_FIND] = "SELECT id FROM themes WHERE slug=?1",
    [ST_THEME_NEW] = "INSERT INTO themes(slug) VALUES(?1)",
    [ST_RT_INSERT] = "INSERT INTO record_themes(record_id, theme_id, kind, day) VALUES(?1, ?2, ?3, ?4)",
    [ST_RT_DELETE] = "DELETE FROM record_themes WHERE record_id=?1",
    [ST_COUNT_CONSENT] = "SELECT consent, count(*) FROM records GROUP BY consent",
    [ST_COUNT_THEMES] = "SELECT count(DISTINCT theme_id) FROM record_themes",
    [ST_THEMES] = "SELECT t.slug, rt.kind, count(*) AS total,"
                  " sum(r.scale=0), sum(r.scale=1), sum(r.scale=2), sum(r.scale=3)"
                  " FROM record_themes rt JOIN themes t ON t.id=rt.theme_id JOIN records r ON r.id=rt.record_id"
                  " GROUP BY rt.theme_id, rt.kind ORDER BY total DESC, t.slug, rt.kind",
    [ST_IMPORT_STAGE] =
        "INSERT INTO temp.import_records(session, seq, title, scale, stage, day, context, tried, happened, learnt,"
        " author_role, consent, consent_by, consent_purpose, consent_expires, fingerprint, line, retain_until)"
        " VALUES(?15, ?16, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?17, ?18, ?19)",
    [ST_IMPORT_STAGE_THEME] = "INSERT INTO temp.import_themes(session, seq, slug, kind, day) VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_IMPORT_DROP] = "DELETE FROM temp.import_records WHERE session=?1",
    [ST_IMPORT_DROP_THEMES] = "DELETE FROM temp.import_themes WHERE session=?1",
    [ST_IMPORT_OTHERS] = "SELECT 1 FROM temp.import_records WHERE session<>?1 LIMIT 1",
    [ST_IMPORT_SPAN] = "SELECT count(*), ifnull(min(seq), 0), ifnull(max(seq), 0) FROM temp.import_records"
                       " WHERE session=?1",
    /* Ids continue after every id ever used (AUTOINCREMENT's rule). */
    [ST_IMPORT_BASE] = "SELECT max(ifnull((SELECT seq FROM sqlite_sequence WHERE name='records'), 0),"
                       " ifnull((SELECT max(id) FROM records), 0))",
    [ST_IMPORT_DONE] = "INSERT INTO imports(id, records, first_id, last_id, committed_ms, source, by_user, duplicates)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_IMPORT_FIND] = "SELECT " IMPORT_COLS " FROM imports i WHERE id=?1",
    [ST_IMPORT_NEW_THEMES] = "INSERT INTO themes(slug) SELECT DISTINCT slug FROM temp.import_themes"
                             " WHERE session=?1 AND slug NOT IN (SELECT slug FROM themes)",
    [ST_IMPORT_RECORDS] =
        "INSERT INTO records(id, title, scale, stage, day, context, tried, happened, learnt, author_role, consent,"
        " consent_by, consent_purpose, consent_expires, created_ms, updated_ms, fingerprint, retain_until, created_by)"
        " SELECT ?2 + seq, title, scale, stage, day, context, tried, happened, learnt, author_role, consent,"
        " consent_by, consent_purpose, consent_expires, ?3, ?3, fingerprint, retain_until, ?4"
        " FROM temp.import_records WHERE session=?1 ORDER BY seq",
    [ST_IMPORT_RECORD_THEMES] =
        "INSERT INTO record_themes(record_id, theme_id, kind, day)"
        " SELECT ?2 + it.seq, t.id, it.kind, it.day FROM temp.import_themes it JOIN themes t ON t.slug=it.slug"
        " WHERE it.session=?1 ORDER BY it.seq",
    [ST_IMPORT_HELD_PRINT] = "SELECT id FROM records WHERE fingerprint=?1 ORDER BY id LIMIT 1",
    [ST_IMPORT_STAGED_PRINT] =
        "SELECT line FROM temp.import_records WHERE session=?1 AND fingerprint=?2 ORDER BY seq LIMIT 1",
    /* Staged rows that a record added since they were checked now holds. */
    [ST_IMPORT_HELD_SINCE] = "SELECT count(*) FROM temp.import_records t WHERE t.session=?1"
                             " AND EXISTS(SELECT 1 FROM records r WHERE r.fingerprint=t.fingerprint)",
    [ST_IMPORT_LIST] = "SELECT " IMPORT_COLS " FROM imports i ORDER BY committed_ms DESC, id LIMIT ?1",
    [ST_IMPORT_FIND_PREFIX] = "SELECT " IMPORT_COLS " FROM imports i WHERE substr(hex(id), 1, length(?1)) = upper(?1)"
                              " ORDER BY committed_ms DESC LIMIT 2",
    [ST_IMPORT_UNDONE] = "UPDATE imports SET undone_ms=?2, undone_by=?3, undone_records=?4"
                         " WHERE id=?1 AND undone_ms IS NULL",
    [ST_SAVEPOINT] = "SAVEPOINT import_batch",
    [ST_RELEASE] = "RELEASE import_batch",
    [ST_ROLLBACK_TO] = "ROLLBACK TO import_batch",
    [ST_DEFER_SAVEPOINT] = "SAVEPOINT deferred_run",
    [ST_DEFER_RELEASE] = "RELEASE deferred_run",
    [ST_DEFER_ROLLBACK_TO] = "ROLLBACK TO deferred_run",
    [ST_EXPIRE] = "UPDATE records SET consent=0, consent_ended=2, updated_ms=?2"
                  " WHERE consent>0 AND consent_expires IS NOT NULL AND consent_expires<=?1",
    /* Consent given again after it ended needs a new review: the decision
     * made under the ended consent goes with it. */
    [ST_EXPIRE_SHARES] = "DELETE FROM shares WHERE record_id IN (SELECT id FROM records"
                         " WHERE consent>0 AND consent_expires IS NOT NULL AND consent_expires<=?1)",
    /* Records whose retention date comes before ?5: their own date, or
     * (none of their own) a date on or before the cutoff of their scale
     * (?1-?4; NULL, nothing, for keep). Written out term by term so that
     * each reads one of migration 16's indexes. */
#define RETENTION_DUE                                                                                   \
  " FROM records WHERE retain_until < ?5 OR (retain_until IS NULL AND scale=0 AND day<=?1)"             \
  " OR (retain_until IS NULL AND scale=1 AND day<=?2) OR (retain_until IS NULL AND scale=2 AND day<=?3)" \
  " OR (retain_until IS NULL AND scale=3 AND day<=?4)"
    [ST_RETENTION_DUE] = "SELECT id" RETENTION_DUE " ORDER BY id LIMIT ?6",
    [ST_RETENTION_COUNT] = "SELECT count(*)" RETENTION_DUE,
    [ST_RETAIN_OWN] = "SELECT count(*) FROM records WHERE retain_until IS NOT NULL",
    [ST_NEXT_EXPIRY] = "SELECT min(consent_expires) FROM records WHERE consent>0 AND consent_expires IS NOT NULL",
    [ST_ITEM_PUT] = "INSERT INTO items(origin, seq, type, audience, timestamp_ms, item_id, stub, body, body_state,"
                    " stored_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_ITEM_GET] = "SELECT origin, seq, type, audience, timestamp_ms, item_id, stub, body, body_state, stored_ms"
                    " FROM items WHERE origin=?1 AND seq=?2",
    [ST_ITEM_ERASE] = "UPDATE items SET body=NULL, body_state=2 WHERE origin=?1 AND seq=?2",
    [ST_CHAIN_HEAD] = "SELECT head_seq, head_id FROM origins WHERE origin=?1",
    [ST_PUB_ADD] = "INSERT INTO published(seq, type, audience, record_id, iso_year, iso_week, target_seq, reason,"
                   " content_hash, superseded_by, erased_by, published_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL, ?10)",
    [ST_PUB_SUPERSEDED] = "UPDATE published SET superseded_by=?2 WHERE seq=?1",
    [ST_PUB_ERASED] = "UPDATE published SET erased_by=?2 WHERE seq=?1",
#define PUB_COLS                                                                                          \
  "seq, type, audience, record_id, iso_year, iso_week, target_seq, reason, content_hash, superseded_by, " \
  "erased_by, published_ms"
    [ST_PUB_LIST_ASC] = "SELECT " PUB_COLS " FROM published ORDER BY seq LIMIT ?1",
    [ST_PUB_LIST_DESC] = "SELECT " PUB_COLS " FROM published ORDER BY seq DESC LIMIT ?1",
    [ST_PUB_CURRENT] = "SELECT " PUB_COLS " FROM published WHERE type=?1 AND ifnull(iso_year, 0)=?2"
                       " AND ifnull(iso_week, 0)=?3 AND superseded_by IS NULL ORDER BY seq DESC LIMIT 1",
    [ST_PUB_GET] = "SELECT " PUB_COLS " FROM published WHERE seq=?1",
    [ST_ITEM_FILL] = "UPDATE items SET body=?3, body_state=0 WHERE origin=?1 AND seq=?2 AND body_state=1"
                     " RETURNING type, timestamp_ms",
    [ST_ITEM_STATE] = "SELECT body_state, type, timestamp_ms, body FROM items WHERE origin=?1 AND seq=?2",
    [ST_ITEM_SAVEPOINT] = "SAVEPOINT item_write",
    [ST_ITEM_RELEASE] = "RELEASE item_write",
    [ST_ITEM_ROLLBACK_TO] = "ROLLBACK TO item_write",
    /* The origins summary (migration 11). SET reads the row as it was,
     * so head_id compares with the old head_seq. */
    [ST_ORIGIN_ADD] = "INSERT INTO origins(origin, items, stubs, erased, last_stored_ms, head_seq, head_id, profile_seq,"
                      " place_key) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, X'FF') ON CONFLICT(origin) DO UPDATE SET"
                      " items=items+excluded.items, stubs=stubs+excluded.stubs, erased=erased+excluded.erased,"
                      " last_stored_ms=max(last_stored_ms, excluded.last_stored_ms),"
                      " head_id=CASE WHEN excluded.head_seq>head_seq THEN excluded.head_id ELSE head_id END,"
                      " head_seq=max(head_seq, excluded.head_seq)",
    [ST_ORIGIN_FILLED] = "UPDATE origins SET stubs=stubs-1 WHERE origin=?1",
    [ST_ORIGIN_ERASED] = "UPDATE origins SET erased=erased+1, stubs=stubs-?2 WHERE origin=?1",
    [ST_ORIGIN_PROFILE] = "SELECT profile_seq FROM origins WHERE origin=?1",
    [ST_ORIGIN_SET_PROFILE] = "UPDATE origins SET profile_seq=?2, profile=?4, place_key=?3 WHERE origin=?1",
    [ST_PROFILE_LATEST] = "SELECT seq, body FROM items WHERE origin=?1 AND type=1 AND body_state=0"
                          " ORDER BY seq DESC",
    [ST_STORY_THEME_ADD] = "INSERT OR IGNORE INTO story_themes(theme, timestamp_ms, origin, seq) VALUES(?1, ?2, ?3, ?4)",
    [ST_STORY_THEME_DEL] = "DELETE FROM story_themes WHERE theme=?1 AND timestamp_ms=?2 AND origin=?3 AND seq=?4",
    [ST_PUB_LIVE_STORIES] = "SELECT " PUB_COLS " FROM published WHERE type=3 AND superseded_by IS NULL"
                            " AND erased_by IS NULL ORDER BY seq",
    [ST_PUB_DIGEST_WEEKS] = "SELECT DISTINCT iso_year, iso_week FROM published WHERE type=2 AND superseded_by IS NULL"
                            " ORDER BY iso_year, iso_week",
    [ST_COUNTABLE_DAYS] = "SELECT DISTINCT day FROM records WHERE consent>=1"
                          " AND (consent_expires IS NULL OR consent_expires>?1) ORDER BY day",
    [ST_WEEK_COUNTS] = "SELECT t.slug, rt.kind, r.scale, r.stage, count(*) FROM records r"
                       " JOIN record_themes rt ON rt.record_id=r.id JOIN themes t ON t.id=rt.theme_id"
                       " WHERE r.day BETWEEN ?1 AND ?2 AND r.consent>=1"
                       " AND (r.consent_expires IS NULL OR r.consent_expires>?3)"
                       " GROUP BY t.slug, rt.kind, r.scale, r.stage",
    [ST_STORY_CANDIDATES] = "SELECT " REC_COLS " FROM records r WHERE r.consent>=2"
                            " AND (r.consent_expires IS NULL OR r.consent_expires>?1) ORDER BY r.id",
    [ST_SHARE_GET] = "SELECT record_id, state, approved_hash, decided_by, decided_ms FROM shares WHERE record_id=?1",
    [ST_SHARE_SET] = "INSERT OR REPLACE INTO shares(record_id, state, approved_hash, decided_by, decided_ms)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_SHARE_FORGET] = "DELETE FROM shares WHERE record_id=?1",
    [ST_PEER_PUT] = "INSERT OR REPLACE INTO peers(node_id, address, admin, blocked, added_ms, last_seen_ms, bytes_in,"
                    " bytes_out, failures, last_error, violations) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_PEER_DELETE] = "DELETE FROM peers WHERE node_id=?1",
    [ST_PEER_LIST] = "SELECT node_id, address, admin, blocked, added_ms, last_seen_ms, bytes_in, bytes_out, failures,"
                     " last_error, violations FROM peers ORDER BY added_ms, node_id",
};

int hls_store_sqlite_error(struct sqlite3 *db, int sqlite_rc, struct hls_why *why) {
  int code;
  switch (sqlite_rc & 0xff) {
    case SQLITE_NOMEM: code = HLS_ENOMEM; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = HLS_EBUSY; break;
    case SQLITE_TOOBIG: code = HLS_ETOOBIG; break;
    case SQLITE_FULL: code = HLS_EDISKFULL; break;
    case SQLITE_IOERR:
      /* SQLite says SQLITE_FULL when a write finds no space; a sync or a
       * WAL-index write that does shows as an I/O error with ENOSPC. */
      if (sqlite_rc == SQLITE_IOERR_NOMEM) code = HLS_ENOMEM;
      else if (db != NULL) code = hls_err_from_errno(sqlite3_system_errno(db));
      else code = HLS_EIO;
      break;
    case SQLITE_CORRUPT: code = HLS_ECORRUPT; break;
    default: code = HLS_ESTORE; break;
  }
  /* db's message is of its last failed call: a caller that passes another
   * code (SQLITE_NOMEM for its own allocation) gets that code's text. */
  bool own = db != NULL && (sqlite3_extended_errcode(db) & 0xff) == (sqlite_rc & 0xff);
  hls_why_set(why, code, "store: %s", own ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc));
  return code;
}

int hls_store__exec(struct hls_store *s, const char *sql, struct hls_why *why) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store__prepare(struct hls_store *s, const char *sql, sqlite3_stmt **st, struct hls_why *why) {
  int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

/* Run a statement that returns no rows (or whose rows we ignore). */
int hls_store__step_done(struct hls_store *s, sqlite3_stmt *st, struct hls_why *why) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store__begin(struct hls_store *s, struct hls_why *why) {
  /* Anyone else's change is never held back with the deferred ones. */
  int rc = hls_store_defer_commit(s, why);
  if (rc != 0) return rc;
  if (s->foreign_keys_off && hls_store__exec(s, "PRAGMA foreign_keys=ON", NULL) == 0) s->foreign_keys_off = false;
  return hls_store__step_done(s, s->stmt[ST_BEGIN], why);
}

/* SQLite rolls a transaction back by itself after some errors (a full
 * disk, an I/O error): the deferred one is then gone. */
static void defer_check(struct hls_store *s) {
  if (s->deferred_open && sqlite3_get_autocommit(s->db)) {
    s->deferred_open = false;
    s->deferred_lost = true;
    hls_store__erased_forget(s);
  }
}

int hls_store_defer_begin(struct hls_store *s, struct hls_why *why) {
  defer_check(s);
  if (!s->deferred_open) {
    int rc = hls_store__step_done(s, s->stmt[ST_BEGIN], why);
    if (rc != 0) return rc;
    s->deferred_open = true;
  }
  return hls_store__step_done(s, s->stmt[ST_DEFER_SAVEPOINT], why);
}

int hls_store_defer_end(struct hls_store *s, bool keep, struct hls_why *why) {
  int rc = 0;
  if (!keep) rc = hls_store__step_done(s, s->stmt[ST_DEFER_ROLLBACK_TO], why);
  int release = hls_store__step_done(s, s->stmt[ST_DEFER_RELEASE], rc == 0 ? why : NULL);
  return rc != 0 ? rc : release;
}

int hls_store_defer_commit(struct hls_store *s, struct hls_why *why) {
  defer_check(s);
  if (!s->deferred_open) return 0;
  s->deferred_open = false;
  int rc = hls_store__step_done(s, s->stmt[ST_COMMIT], why);
  /* A commit that failed (a full disk) may leave the transaction open:
   * give it up (its items come again from the peers). */
  if (rc != 0) {
    hls_store__rollback(s);
    s->deferred_lost = true;
  } else {
    hls_store__erased_flush(s);
  }
  return rc;
}

bool hls_store_deferred(struct hls_store *s) {
  defer_check(s);
  return s->deferred_open;
}

bool hls_store_deferred_lost(struct hls_store *s) {
  defer_check(s);
  bool lost = s->deferred_lost;
  s->deferred_lost = false;
  return lost;
}
int hls_store__commit(struct hls_store *s, struct hls_why *why) {
  int rc = hls_store__step_done(s, s->stmt[ST_COMMIT], why);
  if (rc == 0) hls_store__erased_flush(s);
  return rc;
}
void hls_store__rollback(struct hls_store *s) {
  if (!sqlite3_get_autocommit(s->db)) hls_store__step_done(s, s->stmt[ST_ROLLBACK], NULL);
  hls_store__erased_forget(s);
}

void hls_store_on_erased(struct hls_store *s, hls_store_erased_fn fn, void *ctx) {
  s->erased_fn = fn;
  s->erased_ctx = ctx;
}

void hls_store__erased_flush(struct hls_store *s) {
  if (s->n_erased > 0 && s->erased_fn != NULL) s->erased_fn(s->erased_ctx, s->erased, s->n_erased);
  s->n_erased = 0;
}

void hls_store__erased_forget(struct hls_store *s) { s->n_erased = 0; }

void hls_store__bind_text_or_null(sqlite3_stmt *st, int i, const char *text) {
  if (text != NULL)
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

char *hls_store__column_strdup(sqlite3_stmt *st, int col) {
  const unsigned char *text = sqlite3_column_text(st, col);
  if (text == NULL) return NULL;
  return strdup((const char *)text);
}

int hls_store_schema_version(void) { return SCHEMA_VERSION; }

/* Migration 10: the fingerprint of every record already held, as
 * hls_record_fingerprint computes it for new ones. Walks records in id
 * order with their themes (one join, ordered), in the migration's
 * transaction. */
static int fill_fingerprints(struct hls_store *s, struct hls_why *why) {
  sqlite3_stmt *rd = NULL, *up = NULL;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT r.id, r.title, r.scale, r.stage, r.day, r.context, r.tried, r.happened, r.learnt,"
                              " r.author_role, t.slug, rt.kind FROM records r"
                              " LEFT JOIN record_themes rt ON rt.record_id = r.id"
                              " LEFT JOIN themes t ON t.id = rt.theme_id ORDER BY r.id, t.slug",
                              -1, &rd, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(s->db, "UPDATE records SET fingerprint=?2 WHERE id=?1", -1, &up, NULL);
  if (rc != SQLITE_OK) {
    rc = hls_store_sqlite_error(s->db, rc, why);
    goto out;
  }
  struct hls_record r;
  hls_record_init(&r);
  int step;
  bool have = false;
  for (;;) {
    step = sqlite3_step(rd);
    int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(rd, 0) : -1;
    if (have && id != r.id) { /* r is complete: store its fingerprint */
      uint8_t print[HLS_RECORD_FINGERPRINT_BYTES];
      hls_record_fingerprint(&r, print);
      sqlite3_bind_int64(up, 1, r.id);
      sqlite3_bind_blob(up, 2, print, sizeof print, SQLITE_STATIC);
      if ((rc = hls_store__step_done(s, up, why)) != 0) break;
      hls_record_clear(&r);
      have = false;
    }
    if (step != SQLITE_ROW) break;
    if (!have) {
      r.id = id;
      r.title = hls_store__column_strdup(rd, 1);
      r.scale = (enum hls_scale)sqlite3_column_int(rd, 2);
      r.stage = (enum hls_stage)sqlite3_column_int(rd, 3);
      r.date = (hls_day)sqlite3_column_int64(rd, 4);
      r.context = hls_store__column_strdup(rd, 5);
      r.tried = hls_store__column_strdup(rd, 6);
      r.happened = hls_store__column_strdup(rd, 7);
      r.learnt = hls_store__column_strdup(rd, 8);
      r.author_role = hls_store__column_strdup(rd, 9);
      have = true;
    }
    const unsigned char *slug = sqlite3_column_text(rd, 10);
    if (slug != NULL && r.n_themes < HLS_THEMES_PER_RECORD) {
      snprintf(r.themes[r.n_themes].slug, sizeof r.themes[r.n_themes].slug, "%s", (const char *)slug);
      r.themes[r.n_themes].kind = (enum hls_kind)sqlite3_column_int(rd, 11);
      r.n_themes++;
    }
  }
  hls_record_clear(&r);
  if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
out:
  sqlite3_finalize(rd);
  sqlite3_finalize(up);
  return rc;
}

static int migrate(struct hls_store *s, struct hls_why *why) {
  sqlite3_stmt *st;
  int version = 0, rc;
  if ((rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)) != SQLITE_OK)
    return hls_store_sqlite_error(s->db, rc, why);
  if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version > SCHEMA_VERSION)
    return hls_why_set(why, HLS_EUNSUPPORTED,
                       "store: %s has schema version %d, newer than this hlsd understands (%d); upgrade hlsd",
                       s->path, version, SCHEMA_VERSION);
  for (int v = version; v < SCHEMA_VERSION; v++) {
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
    if ((rc = hls_store__exec(s, "BEGIN IMMEDIATE", why)) != 0) return rc;
    if ((rc = hls_store__exec(s, migrations[v], why)) != 0 ||
        (v + 1 == 10 && (rc = fill_fingerprints(s, why)) != 0) ||
        (v + 1 == 11 && (rc = hls_store__fill_read_side(s, why)) != 0) || (rc = hls_store__exec(s, bump, why)) != 0 ||
        (rc = hls_store__exec(s, "COMMIT", why)) != 0) {
      hls_store__exec(s, "ROLLBACK", NULL);
      hls_why_prefix(why, "migrating to schema %d: ", v + 1);
      return rc;
    }
  }
  return 0;
}

int hls_store_open(struct hls_store **out, const char *path, const struct hls_store_options *opt,
                   struct hls_why *why) {
  struct hls_store *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (s == NULL) return HLS_ENOMEM;
  snprintf(s->path, sizeof s->path, "%s", path);
  /* Before SQLite opens the file (which makes a WAL beside it). */
  bool clean = opt != NULL && opt->quick_check && opt->trust_clean_close && hls_store__clean_mark_take(path);
  rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    rc = hls_store_sqlite_error(s->db, rc, why);
    goto fail;
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, 5000);
  /* Check the file is a database before anything else (setting
   * journal_mode on a non-database fails with a message naming no file). */
  if ((rc = hls_store__exec(s, "SELECT count(*) FROM sqlite_schema", why)) != 0) {
    hls_why_prefix(why, rc == HLS_ECORRUPT ? "%s is damaged: " : "%s is not an hlsd store: ", path);
    goto fail;
  }
  if ((rc = hls_store__exec(s, "PRAGMA journal_mode=WAL", why)) != 0 ||
      (rc = hls_store__exec(s, "PRAGMA foreign_keys=ON", why)) != 0 ||
      (rc = hls_store__exec(s, opt && !opt->synchronous_full ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                            why)) != 0 ||
      (rc = hls_store__exec(s, "PRAGMA temp_store=FILE", why)) != 0 ||
      /* Erased bodies and deleted records are overwritten, not left in
       * free pages (docs/consent.md, "Erasure"). */
      (rc = hls_store__exec(s, "PRAGMA secure_delete=ON", why)) != 0)
    goto fail;
  s->opened_clean = clean;
  if (opt != NULL && opt->quick_check) {
    if (clean) s->check_deferred = true;
    else if ((rc = hls_store_check(s, false, NULL, NULL, why)) != 0) goto fail;
    else s->checked = true;
  }
  char cache[64];
  snprintf(cache, sizeof cache, "PRAGMA cache_size=-%lld",
           (long long)((opt && opt->cache_bytes > 0 ? opt->cache_bytes : 32ll * 1024 * 1024) / 1024));
  if ((rc = hls_store__exec(s, cache, why)) != 0) goto fail;
  if ((rc = migrate(s, why)) != 0) goto fail;
  if ((rc = hls_store__exec(s,
                 "CREATE TEMP TABLE import_records(session INTEGER NOT NULL, seq INTEGER NOT NULL,"
                 " title TEXT NOT NULL, scale INTEGER NOT NULL, stage INTEGER NOT NULL, day INTEGER NOT NULL,"
                 " context TEXT, tried TEXT, happened TEXT, learnt TEXT, author_role TEXT, consent INTEGER NOT NULL,"
                 " consent_by TEXT, consent_purpose TEXT, consent_expires INTEGER, fingerprint BLOB NOT NULL,"
                 " line INTEGER NOT NULL, retain_until INTEGER, PRIMARY KEY(session, seq));"
                 "CREATE INDEX temp.import_records_print ON import_records(session, fingerprint, seq);"
                 "CREATE TEMP TABLE import_themes(session INTEGER NOT NULL, seq INTEGER NOT NULL,"
                 " slug TEXT NOT NULL, kind INTEGER NOT NULL, day INTEGER NOT NULL);"
                 "CREATE INDEX temp.import_themes_session ON import_themes(session, seq);",
                 why)) != 0)
    goto fail;
  for (int i = 0; i < ST__COUNT; i++) {
    rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
    if (rc != SQLITE_OK) {
      rc = hls_store_sqlite_error(s->db, rc, why);
      goto fail;
    }
  }
  *out = s;
  return 0;
fail:
  hls_store_free(s);
  return rc;
}

void hls_store_free(struct hls_store *s) {
  if (s == NULL) return;
  (void)hls_store_defer_commit(s, NULL);
  for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->stmt[i]);
  for (int i = 0; i < F__COMBOS; i++) sqlite3_finalize(s->list_stmt[i]);
  free(s->erased);
  /* The last connection's close checkpoints the WAL and removes it. */
  if (sqlite3_close(s->db) == SQLITE_OK && s->mark_clean && s->checked) hls_store__clean_mark_write(s->path);
  free(s);
}

/* --- the store itself ------------------------------------------------------ */

int hls_store_backup(struct hls_store *s, const char *path, struct hls_why *why) {
  {
    int deferred = hls_store_defer_commit(s, why); /* what it copies or checkpoints is committed */
    if (deferred != 0) return deferred;
  }
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, "VACUUM INTO ?1", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    /* Whatever went wrong with the copy is an I/O error of the backup,
     * except a full disk, which the admin fixes differently. */
    int code = hls_store_sqlite_error(s->db, rc, why);
    hls_why_prefix(why, "backup to %s: ", path);
    return code == HLS_EDISKFULL ? code : HLS_EIO;
  }
  return 0;
}

int hls_store_scrub_text(struct hls_store *s, struct hls_why *why) {
  int rc = hls_store_defer_commit(s, why);
  if (rc != 0) return rc;
  rc = hls_store__exec(s, "INSERT INTO records_fts(records_fts) VALUES('optimize')", why);
  if (rc == 0)
    rc = hls_store__exec(s, "DELETE FROM themes WHERE NOT EXISTS (SELECT 1 FROM record_themes WHERE theme_id=themes.id)",
                         why);
  return rc;
}

int hls_store_checkpoint(struct hls_store *s, struct hls_why *why) {
  {
    int deferred = hls_store_defer_commit(s, why); /* what it copies or checkpoints is committed */
    if (deferred != 0) return deferred;
  }
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  int busy = 0;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) busy = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  return busy ? hls_why_set(why, HLS_EBUSY, "store: a reader kept the checkpoint from finishing") : 0;
}

static int meta_get(struct hls_store *s, const char *key, uint8_t *out, size_t cap, size_t *len, bool *present,
                    struct hls_why *why) {
  sqlite3_stmt *st;
  *present = false;
  int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key=?1", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *v = sqlite3_column_blob(st, 0);
    *len = n < cap ? n : cap;
    if (v != NULL) memcpy(out, v, *len);
    *present = true;
    rc = SQLITE_DONE;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store__meta_set_owner(struct hls_store *s, const uint8_t pk[32], struct hls_why *why);
static int meta_set(struct hls_store *s, const char *key, const uint8_t *value, size_t len, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_erasures_seen(struct hls_store *s, int64_t *offset, struct hls_why *why) {
  uint8_t v[8];
  size_t len = 0;
  bool present = false;
  *offset = 0;
  int rc = meta_get(s, "erasures_seen", v, sizeof v, &len, &present, why);
  if (rc != 0 || !present) return rc;
  if (len != sizeof v) return hls_why_set(why, HLS_ECORRUPT, "store: erasures_seen is damaged");
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u |= (uint64_t)v[i] << (8 * i);
  *offset = (int64_t)u;
  return 0;
}

int hls_store_set_erasures_seen(struct hls_store *s, int64_t offset, struct hls_why *why) {
  int rc = hls_store_defer_commit(s, why);
  if (rc != 0) return rc;
  uint8_t v[8];
  for (int i = 0; i < 8; i++) v[i] = (uint8_t)((uint64_t)offset >> (8 * i));
  return meta_set(s, "erasures_seen", v, sizeof v, why);
}

int hls_store_owner(struct hls_store *s, uint8_t pk[32], bool *present, struct hls_why *why) {
  size_t len = 0;
  int rc = meta_get(s, "owner", pk, 32, &len, present, why);
  if (rc == 0 && *present && len != 32) return hls_why_set(why, HLS_ECORRUPT, "store: the owner key is damaged");
  return rc;
}

int hls_store_claim(struct hls_store *s, const uint8_t pk[32], struct hls_why *why) {
  uint8_t owner[32];
  bool present;
  int rc = hls_store_owner(s, owner, &present, why);
  if (rc != 0) return rc;
  if (present) return memcmp(owner, pk, 32) == 0 ? 0 : HLS_EFOREIGN;
  /* A store from before owners were recorded: it is this node's unless
   * it has published items none of which are in this key's chain. */
  sqlite3_stmt *st;
  rc = sqlite3_prepare_v2(s->db,
                          "SELECT EXISTS(SELECT 1 FROM published) AND NOT EXISTS(SELECT 1 FROM items WHERE origin=?1)",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) return hls_store_sqlite_error(s->db, rc, why);
  sqlite3_bind_blob(st, 1, pk, 32, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int foreign = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return hls_store_sqlite_error(s->db, rc, why);
  if (foreign) return HLS_EFOREIGN;
  return meta_set(s, "owner", pk, 32, why);
}

int hls_store__meta_set_owner(struct hls_store *s, const uint8_t pk[32], struct hls_why *why) {
  return meta_set(s, "owner", pk, 32, why);
}

/* --- transactions ------------------------------------------------------------ */

int hls_store_begin(struct hls_store *s, struct hls_why *why) { return hls_store__begin(s, why); }
int hls_store_commit(struct hls_store *s, struct hls_why *why) { return hls_store__commit(s, why); }
void hls_store_rollback(struct hls_store *s) { hls_store__rollback(s); }

/* --- the connection, for store_query.c ---------------------------------------------- */

sqlite3 *hls_store_db(struct hls_store *s) { return s->db; }
