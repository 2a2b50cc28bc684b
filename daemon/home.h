/* The node's data directory ("home") and the secrets in it.
 *
 *   DIR/hlsd.conf      configuration (hls init writes a documented one)
 *   DIR/secret.key     Ed25519 secret key, mode 0600
 *   DIR/network.key    the learning network's key, mode 0600
 *   DIR/hlsd.db        the SQLite store (+ -wal, -shm)
 *   DIR/hlsd.sock      the control socket, mode 0600
 *   DIR/hlsd.lock      held by the running daemon
 *   DIR/disclosure.key the keyed rounding's key, once the node key was rotated
 *   DIR/secret.retired-STAMP  a node key hls identity rotate replaced, mode 0600
 *   DIR/join.invite    hls init --join's invite code, until hlsd's first start (invites.h)
 *
 * DIR is --home, else $HLS_HOME, else $XDG_DATA_HOME/hlsd, else
 * ~/.local/share/hlsd. */
#ifndef HLS_HOME_H
#define HLS_HOME_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

#define HLS_PATH_MAX 4096

struct hls_identity {
  uint8_t public_key[32];
  uint8_t secret_key[64]; /* libsodium form: seed || public key */
};

/* Pick the data directory. flag may be NULL. */
int hls_home_resolve(const char *flag, char out[HLS_PATH_MAX], struct hls_why *why) HLS_WARN_UNUSED;
/* hls's data directory: as hls_home_resolve, except that when neither
 * flag nor $HLS_HOME names one and the per-user default holds no node (or
 * there is no $HOME), it is system_dir (the system node's, HLS_SYSTEM_HOME,
 * which the packaged service runs) if a node is there: system_dir holds
 * hlsd.conf or hlsd.sock, or exists but this user may not look inside
 * (then connecting says why, not "no node in ~/.local/share/hlsd").
 * *is_system says whether it was. system_dir NULL or "": no fallback.
 * hlsd never falls back: it runs the directory it is given. */
int hls_home_resolve_client(const char *flag, const char *system_dir, char out[HLS_PATH_MAX], bool *is_system,
                            struct hls_why *why) HLS_WARN_UNUSED;
/* out = dir + "/" + name; HLS_ETOOBIG if it does not fit. */
int hls_home_path(const char *dir, const char *name, char out[HLS_PATH_MAX]) HLS_WARN_UNUSED;
bool hls_home_exists(const char *dir);

struct hls_init_params {
  const char *place, *region; /* required */
  int role;                   /* enum hls_role */
  const char *network_key;    /* base64 to join a network, NULL to create one */
  const char *join_code;      /* an invite code (hls invite create): its network key, and DIR/join.invite
                               * for hlsd to redeem it (invites.h); never with network_key */
  const char *listen;         /* NULL: default */
  const char *web;            /* web.listen: HOST:PORT or "off"; NULL: default */
};

/* Create a node in dir: the directory (0700), a fresh identity, the
 * network key, the config file, and the invite to redeem (join_code). A
 * malformed code is HLS_EMALFORMED, saying what is wrong with it. Refuses (HLS_EEXISTS) if dir already
 * holds a node. Writes each file atomically (temporary file, fsync,
 * rename), so a crash never leaves a half-written key. */
int hls_home_init(const char *dir, const struct hls_init_params *p, struct hls_why *why) HLS_WARN_UNUSED;

/* Refuse a directory or secret files that others can read or write, or
 * that another user owns (HLS_EPERM, naming the file and the fix). With
 * control_group (non-NULL), the directory may also be readable and
 * searchable (never writable) by that group when it owns it. */
int hls_home_check_permissions(const char *dir, const gid_t *control_group, struct hls_why *why) HLS_WARN_UNUSED;

int hls_home_load_identity(const char *dir, struct hls_identity *id, struct hls_why *why) HLS_WARN_UNUSED;
int hls_home_load_network_key(const char *dir, uint8_t key[32], struct hls_why *why) HLS_WARN_UNUSED;
/* DIR/network.stewards: the node ids that may rotate the network key. */
#define HLS_STEWARDS_FILE "network.stewards"
/* A network key file of the home (network.key, network.key.old): read
 * (HLS_ENOTFOUND when absent); written atomically, mode 0600. */
int hls_home_load_key(const char *dir, const char *name, uint8_t key[32], struct hls_why *why) HLS_WARN_UNUSED;
int hls_home_write_key(const char *dir, const char *name, const uint8_t key[32], struct hls_why *why) HLS_WARN_UNUSED;
/* Replace DIR/name with content (0600; temporary file, fsync, rename). */
int hls_home_replace_file(const char *dir, const char *name, const char *content, struct hls_why *why) HLS_WARN_UNUSED;
/* fsync the directory dir, so that a file created or renamed in it
 * survives a power cut: 0 or HLS_EIO (errno says why). */
int hls_home_fsync_dir(const char *dir);
/* Remove DIR/name; absent already is fine. */
int hls_home_remove_file(const char *dir, const char *name, struct hls_why *why) HLS_WARN_UNUSED;
/* The keys hls identity rotate retired (DIR/secret.retired-*, each
 * 0600: HLS_EPERM otherwise), at most max, into out[0..*n). */
int hls_home_load_retired(const char *dir, struct hls_identity *out, size_t max, size_t *n, struct hls_why *why) HLS_WARN_UNUSED;
/* DIR/disclosure.key (the key of keyed rounding, hls-sdc-2, kept at the
 * first hls identity rotate): *present false (0 returned) if none. */
int hls_home_load_disclosure_key(const char *dir, uint8_t key[32], bool *present, struct hls_why *why) HLS_WARN_UNUSED;
/* hls identity rotate's files, in two steps. Before the successor item
 * naming fresh is signed (stage): DIR/disclosure.key from old's seed
 * (unless kept already) and fresh in DIR/secret.key.new (0600). After
 * it is stored (rotate): secret.key becomes fresh, the old one kept as
 * secret.retired-STAMP (its name into retired, STAMP the UTC time of
 * now_ms); chain.head moved to chain.head.retired-STAMP and a new one
 * (nothing signed) written. A node stopped between the two finds the
 * staged key at its next start (load_staged) and finishes, or drops it
 * (unstage) if no successor names it. */
int hls_home_stage_identity(const char *dir, const struct hls_identity *old, const struct hls_identity *fresh,
                            struct hls_why *why) HLS_WARN_UNUSED;
int hls_home_load_staged(const char *dir, struct hls_identity *fresh, bool *present, struct hls_why *why) HLS_WARN_UNUSED;
void hls_home_unstage(const char *dir);
int hls_home_rotate_identity(const char *dir, const struct hls_identity *old, const struct hls_identity *fresh,
                             int64_t now_ms, char retired[64], struct hls_why *why) HLS_WARN_UNUSED;
/* Short public fingerprint of a network key (first 8 bytes of its
 * BLAKE2b hash, hex), safe to show and log. */
void hls_network_fingerprint(const uint8_t key[32], char out[17]);

#endif
