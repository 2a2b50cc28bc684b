/* The web app's people (docs/web.md): a name, a role, a password hash
 * (argon2id, libsodium crypto_pwhash_str) and at most one pending one-time
 * sign-in link, kept in the store's users table (so hls backup keeps
 * them). A link is 32 random bytes shown once as text; only its hash is
 * stored. Every function runs on the loop thread on the store's
 * connection. */
#ifndef HLS_USERS_H
#define HLS_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "methods.h"

struct sqlite3;

/* Longest user name (the NAME type of methods.def: letters, digits, '-',
 * '_' and '.'). */
#define HLS_USER_NAME_MAX 64
/* A link or session token as text: 32 bytes, base64url without padding. */
#define HLS_USER_TOKEN_TEXT 44
/* Passwords: at least this many bytes, and at most (argon2 takes any
 * length; the cap keeps a request's work bounded). */
#define HLS_USER_PASSWORD_MIN 10
#define HLS_USER_PASSWORD_MAX 256

struct hls_user {
  char name[HLS_USER_NAME_MAX + 1];
  enum hls_user_role role;
  bool has_password;
  bool link_pending;           /* a one-time link not yet used (it may have expired) */
  int64_t link_expires_ms;
  int64_t created_ms;
  char created_by[HLS_USER_NAME_MAX + 8];
  int64_t last_signin_ms;      /* 0: never */
  int64_t generation;          /* bumped by reset and role changes: ends sessions */
};

/* A fresh random token as text (out gets HLS_USER_TOKEN_TEXT bytes with
 * the NUL) and its hash, for links, sessions and feed tokens. */
void hls_user_token_new(char out[HLS_USER_TOKEN_TEXT], uint8_t hash[32] /* out */);
/* The hash of a token as given (any text). */
void hls_user_token_hash(const char *token, size_t len, uint8_t hash[32] /* out */);

/* Add name with role and a one-time link valid until link_expires_ms;
 * the link's token goes to token. HLS_EEXISTS if the name is taken. */
int hls_users_add(struct sqlite3 *db, const char *name, enum hls_user_role role, const char *by, int64_t now_ms,
                  int64_t link_expires_ms, char token[HLS_USER_TOKEN_TEXT] /* out */, struct hls_why *why)
    HLS_WARN_UNUSED;
/* A new one-time link for name; its password is forgotten and its
 * sessions end (generation + 1). HLS_ENOTFOUND for an unknown name. */
int hls_users_reset(struct sqlite3 *db, const char *name, int64_t link_expires_ms,
                    char token[HLS_USER_TOKEN_TEXT] /* out */, struct hls_why *why) HLS_WARN_UNUSED;
int hls_users_remove(struct sqlite3 *db, const char *name, struct hls_why *why) HLS_WARN_UNUSED;
int hls_users_get(struct sqlite3 *db, const char *name, struct hls_user *out /* out */, struct hls_why *why)
    HLS_WARN_UNUSED;
/* Every user, by name. */
typedef int (*hls_user_cb)(void *ctx, const struct hls_user *u);
int hls_users_list(struct sqlite3 *db, hls_user_cb cb, void *ctx, struct hls_why *why) HLS_WARN_UNUSED;
/* Count of users (0 on error). */
int64_t hls_users_count(struct sqlite3 *db);

/* Use a one-time link: the user whose pending link hashes to the token's
 * hash, if it has not expired; the link is spent (cleared) and the
 * sign-in noted. HLS_ENOTFOUND for an unknown, spent or expired link
 * (one answer for all three: the caller must not learn which). */
int hls_users_redeem(struct sqlite3 *db, const char *token, size_t len, int64_t now_ms,
                     struct hls_user *out /* out */, struct hls_why *why) HLS_WARN_UNUSED;
/* Check name's password: 0 when it matches (and the sign-in is noted),
 * HLS_EACCESS for an unknown name, no password set, or a wrong one. The
 * work of a check is the same for an unknown name (a dummy hash is
 * verified), so timing does not tell which names exist. */
int hls_users_check_password(struct sqlite3 *db, const char *name, const char *password, size_t len, int64_t now_ms,
                             struct hls_user *out /* out */, struct hls_why *why) HLS_WARN_UNUSED;
/* Set name's password (HLS_EINVAL if shorter than HLS_USER_PASSWORD_MIN
 * or longer than HLS_USER_PASSWORD_MAX). */
int hls_users_set_password(struct sqlite3 *db, const char *name, const char *password, size_t len,
                           struct hls_why *why) HLS_WARN_UNUSED;
/* A new one-time link for name without touching its password or
 * sessions (hls web open). HLS_ENOTFOUND for an unknown name. */
int hls_users_new_link(struct sqlite3 *db, const char *name, int64_t link_expires_ms,
                       char token[HLS_USER_TOKEN_TEXT] /* out */, struct hls_why *why) HLS_WARN_UNUSED;

/* Feed tokens (the feeds table's token_hash): set a new one for feed
 * (HLS_ENOTFOUND if there is no such feed), and check one: 0 when token
 * is feed's, HLS_EACCESS otherwise (an unknown feed included). */
int hls_users_feed_token_set(struct sqlite3 *db, const char *feed, char token[HLS_USER_TOKEN_TEXT] /* out */,
                             struct hls_why *why) HLS_WARN_UNUSED;
int hls_users_feed_token_check(struct sqlite3 *db, const char *feed, const char *token, size_t len,
                               struct hls_why *why) HLS_WARN_UNUSED;

#endif
