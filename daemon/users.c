/* The web app's people: the users table (users.h). */
#include "users.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

/* Verified in place of an unknown name's hash, so that a wrong name costs
 * the same argon2id work as a wrong password (same parameters as the
 * hashes hls_users_set_password makes; its password is no one's). */
static const char dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$sBZ+IjfdmXFvYN3i4hGEqA$noKomsIxPHHTus7LU5WrVLHm6kFW++MyuenEDleeT34";

void hls_user_token_hash(const char *token, size_t len, uint8_t hash[32]) {
  static const uint8_t key[] = "hlsd web token v1";
  crypto_generichash(hash, 32, (const unsigned char *)token, len, key, sizeof key - 1);
}

void hls_user_token_new(char out[HLS_USER_TOKEN_TEXT], uint8_t hash[32]) {
  uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(out, HLS_USER_TOKEN_TEXT, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  hls_user_token_hash(out, strlen(out), hash);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct hls_why *why) {
  int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : hls_store_sqlite_error(db, rc, why);
}

/* Step a statement that returns no row, then finalize it. */
static int run(sqlite3 *db, sqlite3_stmt *st, struct hls_why *why) {
  int rc = sqlite3_step(st);
  int out = rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(db, rc, why);
  sqlite3_finalize(st);
  return out;
}

#define USER_COLS                                                                                          \
  "name, role, pwhash IS NOT NULL, link_hash IS NOT NULL, ifnull(link_expires_ms, 0), created_ms,"         \
  " ifnull(created_by, ''), ifnull(last_signin_ms, 0), generation"

static void read_user(sqlite3_stmt *st, struct hls_user *u) {
  memset(u, 0, sizeof *u);
  snprintf(u->name, sizeof u->name, "%s", (const char *)sqlite3_column_text(st, 0));
  int role = sqlite3_column_int(st, 1);
  u->role = role >= HLS_USER_VIEWER && role <= HLS_USER_ADMIN ? (enum hls_user_role)role : HLS_USER_VIEWER;
  u->has_password = sqlite3_column_int(st, 2) != 0;
  u->link_pending = sqlite3_column_int(st, 3) != 0;
  u->link_expires_ms = sqlite3_column_int64(st, 4);
  u->created_ms = sqlite3_column_int64(st, 5);
  snprintf(u->created_by, sizeof u->created_by, "%s", (const char *)sqlite3_column_text(st, 6));
  u->last_signin_ms = sqlite3_column_int64(st, 7);
  u->generation = sqlite3_column_int64(st, 8);
}

int hls_users_add(sqlite3 *db, const char *name, enum hls_user_role role, const char *by, int64_t now_ms,
                  int64_t link_expires_ms, char token[HLS_USER_TOKEN_TEXT], struct hls_why *why) {
  uint8_t hash[32];
  sqlite3_stmt *st;
  /* A session names its user by name and generation: a user added again
   * under a removed one's name must not match the removed one's sessions,
   * so a new user's generation is random, never the 0 of the last one. */
  int rc = prepare(db,
                   "INSERT INTO users(name, role, link_hash, link_expires_ms, created_ms, created_by, generation)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO NOTHING",
                   &st, why);
  if (rc != 0) return rc;
  uint64_t generation;
  randombytes_buf(&generation, sizeof generation);
  sqlite3_bind_int64(st, 7, (int64_t)(generation >> 2)); /* from 0 to 2^62: room to count up */
  hls_user_token_new(token, hash);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)role);
  sqlite3_bind_blob(st, 3, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, link_expires_ms);
  sqlite3_bind_int64(st, 5, now_ms);
  sqlite3_bind_text(st, 6, by ? by : "", -1, SQLITE_STATIC);
  if ((rc = run(db, st, why)) != 0) return rc;
  if (sqlite3_changes(db) == 0) {
    sodium_memzero(token, HLS_USER_TOKEN_TEXT);
    return hls_why_set(why, HLS_EEXISTS, "a user named %s exists already (hls user reset gives them a new link)",
                       name);
  }
  return 0;
}

/* A new one-time link for name with sql (?1 name, ?2 the token's hash,
 * ?3 its expiry), which may also forget the password (reset). */
static int set_link(sqlite3 *db, const char *sql, const char *name, int64_t link_expires_ms,
                    char token[HLS_USER_TOKEN_TEXT], struct hls_why *why) {
  uint8_t hash[32];
  sqlite3_stmt *st;
  int rc = prepare(db, sql, &st, why);
  if (rc != 0) return rc;
  hls_user_token_new(token, hash);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, link_expires_ms);
  if ((rc = run(db, st, why)) != 0) return rc;
  if (sqlite3_changes(db) == 0) {
    sodium_memzero(token, HLS_USER_TOKEN_TEXT);
    return hls_why_set(why, HLS_ENOTFOUND, "no user named %s (hls user list shows them)", name);
  }
  return 0;
}

int hls_users_reset(sqlite3 *db, const char *name, int64_t link_expires_ms, char token[HLS_USER_TOKEN_TEXT],
                    struct hls_why *why) {
  return set_link(db,
                  "UPDATE users SET pwhash = NULL, link_hash = ?2, link_expires_ms = ?3, generation = generation + 1"
                  " WHERE name = ?1",
                  name, link_expires_ms, token, why);
}

int hls_users_remove(sqlite3 *db, const char *name, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = prepare(db, "DELETE FROM users WHERE name = ?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if ((rc = run(db, st, why)) != 0) return rc;
  if (sqlite3_changes(db) == 0) return hls_why_set(why, HLS_ENOTFOUND, "no user named %s (hls user list shows them)", name);
  return 0;
}

int hls_users_get(sqlite3 *db, const char *name, struct hls_user *out, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = prepare(db, "SELECT " USER_COLS " FROM users WHERE name = ?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int out_rc = 0;
  if (rc == SQLITE_ROW) read_user(st, out);
  else if (rc == SQLITE_DONE) out_rc = hls_why_set(why, HLS_ENOTFOUND, "no user named %s", name);
  else out_rc = hls_store_sqlite_error(db, rc, why);
  sqlite3_finalize(st);
  return out_rc;
}

int hls_users_list(sqlite3 *db, hls_user_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = prepare(db, "SELECT " USER_COLS " FROM users ORDER BY name", &st, why);
  if (rc != 0) return rc;
  int out = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_user u;
    read_user(st, &u);
    if ((out = cb(ctx, &u)) != 0) break;
  }
  if (out == 0 && rc != SQLITE_DONE) out = hls_store_sqlite_error(db, rc, why);
  sqlite3_finalize(st);
  return out;
}

int64_t hls_users_count(sqlite3 *db) {
  sqlite3_stmt *st;
  int64_t n = 0;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM users", -1, &st, NULL) != SQLITE_OK) return 0;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int note_signin(sqlite3 *db, const char *name, int64_t now_ms, bool spend_link, struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = prepare(db,
                   spend_link ? "UPDATE users SET last_signin_ms = ?2, link_hash = NULL, link_expires_ms = NULL"
                                " WHERE name = ?1"
                              : "UPDATE users SET last_signin_ms = ?2 WHERE name = ?1",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now_ms);
  return run(db, st, why);
}

int hls_users_redeem(sqlite3 *db, const char *token, size_t len, int64_t now_ms, struct hls_user *out,
                     struct hls_why *why) {
  uint8_t hash[32];
  sqlite3_stmt *st;
  hls_user_token_hash(token, len, hash);
  int rc = prepare(db, "SELECT " USER_COLS " FROM users WHERE link_hash = ?1 AND link_expires_ms > ?2", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, now_ms);
  rc = sqlite3_step(st);
  int out_rc = 0;
  if (rc == SQLITE_ROW) read_user(st, out);
  else if (rc == SQLITE_DONE)
    out_rc = hls_why_set(why, HLS_ENOTFOUND,
                         "this sign-in link is not valid: it was used already, has expired, or was replaced "
                         "(your own: hls web open again; another person's: an admin gives a new one with hls user "
                         "reset NAME)");
  else out_rc = hls_store_sqlite_error(db, rc, why);
  sqlite3_finalize(st);
  if (out_rc == 0) out_rc = note_signin(db, out->name, now_ms, true, why);
  if (out_rc == 0) out->link_pending = false;
  return out_rc;
}

int hls_users_check_password(sqlite3 *db, const char *name, const char *password, size_t len, int64_t now_ms,
                             struct hls_user *out, struct hls_why *why) {
  sqlite3_stmt *st;
  char stored[crypto_pwhash_STRBYTES];
  int rc = prepare(db, "SELECT " USER_COLS ", pwhash FROM users WHERE name = ?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  bool known = false;
  snprintf(stored, sizeof stored, "%s", dummy_hash);
  if (rc == SQLITE_ROW) {
    read_user(st, out);
    const unsigned char *h = sqlite3_column_text(st, 9);
    if (h != NULL && strlen((const char *)h) < sizeof stored) {
      snprintf(stored, sizeof stored, "%s", (const char *)h);
      known = true;
    }
  } else if (rc != SQLITE_DONE) {
    int e = hls_store_sqlite_error(db, rc, why);
    sqlite3_finalize(st);
    return e;
  }
  sqlite3_finalize(st);
  bool ok = len <= HLS_USER_PASSWORD_MAX && crypto_pwhash_str_verify(stored, password, len) == 0 && known;
  sodium_memzero(stored, sizeof stored);
  if (!ok) return hls_why_set(why, HLS_EACCESS, "wrong name or password");
  return note_signin(db, name, now_ms, false, why);
}

int hls_users_set_password(sqlite3 *db, const char *name, const char *password, size_t len, struct hls_why *why) {
  /* At least HLS_USER_PASSWORD_MIN characters (not bytes: "ééééé" is 5),
   * at most HLS_USER_PASSWORD_MAX bytes. */
  size_t chars = 0;
  for (size_t i = 0; i < len; i++) chars += ((unsigned char)password[i] & 0xc0) != 0x80;
  if (chars < HLS_USER_PASSWORD_MIN || len > HLS_USER_PASSWORD_MAX)
    return hls_why_set(why, HLS_EINVAL, "a password has at least %d characters (and at most %d bytes)",
                       HLS_USER_PASSWORD_MIN, HLS_USER_PASSWORD_MAX);
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) !=
      0)
    return hls_why_set(why, HLS_ENOMEM, "out of memory hashing the password");
  sqlite3_stmt *st;
  /* A new password ends every session of the user (the caller keeps its
   * own: it moves it to the new generation). */
  int rc = prepare(db, "UPDATE users SET pwhash = ?2, generation = generation + 1 WHERE name = ?1", &st, why);
  if (rc == 0) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
    rc = run(db, st, why);
    if (rc == 0 && sqlite3_changes(db) == 0) rc = hls_why_set(why, HLS_ENOTFOUND, "no user named %s", name);
  }
  sodium_memzero(hash, sizeof hash);
  return rc;
}

int hls_users_new_link(sqlite3 *db, const char *name, int64_t link_expires_ms, char token[HLS_USER_TOKEN_TEXT],
                       struct hls_why *why) {
  return set_link(db, "UPDATE users SET link_hash = ?2, link_expires_ms = ?3 WHERE name = ?1", name, link_expires_ms,
                  token, why);
}

int hls_users_feed_token_set(sqlite3 *db, const char *feed, char token[HLS_USER_TOKEN_TEXT], struct hls_why *why) {
  uint8_t hash[32];
  sqlite3_stmt *st;
  int rc = prepare(db, "UPDATE feeds SET token_hash = ?2 WHERE name = ?1", &st, why);
  if (rc != 0) return rc;
  hls_user_token_new(token, hash);
  sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
  if ((rc = run(db, st, why)) != 0) return rc;
  if (sqlite3_changes(db) == 0) {
    sodium_memzero(token, HLS_USER_TOKEN_TEXT);
    return hls_why_set(why, HLS_ENOTFOUND, "no feed \"%s\" (hls feed list shows them)", feed);
  }
  return 0;
}

int hls_users_feed_token_check(sqlite3 *db, const char *feed, const char *token, size_t len, struct hls_why *why) {
  uint8_t hash[32], stored[32];
  sqlite3_stmt *st;
  hls_user_token_hash(token, len, hash);
  int rc = prepare(db, "SELECT token_hash FROM feeds WHERE name = ?1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
  bool ok = false;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == (int)sizeof stored) {
    memcpy(stored, sqlite3_column_blob(st, 0), sizeof stored);
    ok = sodium_memcmp(stored, hash, sizeof hash) == 0;
  }
  sqlite3_finalize(st);
  return ok ? 0 : hls_why_set(why, HLS_EACCESS, "no such feed, or a wrong token");
}
