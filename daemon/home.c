#include "home.h"
#include "invite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chainmark.h"
#include "disclosure.h"
#include "nodeid.h"

#define SECRET_FILE "secret.key"
#define NETWORK_FILE "network.key"
#define CONFIG_FILE "hlsd.conf"
#define KEY_FILE_MAX 4096

int hls_home_path(const char *dir, const char *name, char out[HLS_PATH_MAX]) {
  int n = snprintf(out, HLS_PATH_MAX, "%s/%s", dir, name);
  return n < 0 || n >= HLS_PATH_MAX ? HLS_ETOOBIG : 0;
}

static int absolutise(const char *path, char out[HLS_PATH_MAX], struct hls_why *why) {
  if (path[0] == '\0') return hls_why_set(why, HLS_EINVAL, "home: empty path");
  int n;
  if (path[0] == '/') {
    n = snprintf(out, HLS_PATH_MAX, "%s", path);
  } else {
    char cwd[HLS_PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return hls_why_set(why, HLS_EIO, "home: cannot read the working directory");
    n = snprintf(out, HLS_PATH_MAX, "%s/%s", cwd, path);
  }
  if (n < 0 || n >= HLS_PATH_MAX) return hls_why_set(why, HLS_ETOOBIG, "home: path too long");
  /* Drop trailing slashes so paths join cleanly. */
  size_t len = strlen(out);
  while (len > 1 && out[len - 1] == '/') out[--len] = '\0';
  return 0;
}

int hls_home_resolve(const char *flag, char out[HLS_PATH_MAX], struct hls_why *why) {
  const char *env;
  char buf[HLS_PATH_MAX];
  if (flag != NULL) return absolutise(flag, out, why);
  if ((env = getenv("HLS_HOME")) != NULL && env[0] != '\0') return absolutise(env, out, why);
  if ((env = getenv("XDG_DATA_HOME")) != NULL && env[0] == '/') {
    if (snprintf(buf, sizeof buf, "%s/hlsd", env) >= (int)sizeof buf) return HLS_ETOOBIG;
    return absolutise(buf, out, why);
  }
  if ((env = getenv("HOME")) == NULL || env[0] != '/')
    return hls_why_set(why, HLS_EINVAL, "home: $HOME is not set; pass --home DIR or set HLS_HOME");
  if (snprintf(buf, sizeof buf, "%s/.local/share/hlsd", env) >= (int)sizeof buf) return HLS_ETOOBIG;
  return absolutise(buf, out, why);
}

/* dir/name exists, or dir exists but may not be searched by this user. */
static bool present_or_hidden(const char *dir, const char *name) {
  char path[HLS_PATH_MAX];
  struct stat st;
  if (hls_home_path(dir, name, path) != 0) return false;
  return stat(path, &st) == 0 || errno == EACCES;
}

int hls_home_resolve_client(const char *flag, const char *system_dir, char out[HLS_PATH_MAX], bool *is_system,
                            struct hls_why *why) {
  *is_system = false;
  int rc = hls_home_resolve(flag, out, why);
  const char *env = getenv("HLS_HOME");
  if (flag != NULL || (env != NULL && env[0] != '\0') || system_dir == NULL || system_dir[0] == '\0') return rc;
  if (rc == 0 && hls_home_exists(out)) return 0;
  if (!present_or_hidden(system_dir, CONFIG_FILE) && !present_or_hidden(system_dir, "hlsd.sock")) return rc;
  char system_out[HLS_PATH_MAX];
  struct hls_why ignored;
  if (absolutise(system_dir, system_out, &ignored) != 0) return rc;
  memcpy(out, system_out, HLS_PATH_MAX);
  *is_system = true;
  return 0;
}

bool hls_home_exists(const char *dir) {
  char path[HLS_PATH_MAX];
  struct stat st;
  return hls_home_path(dir, CONFIG_FILE, path) == 0 && stat(path, &st) == 0;
}

int hls_home_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return HLS_EIO;
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? 0 : HLS_EIO;
}

static int write_new_file(const char *dir, const char *name, const char *content, mode_t mode,
                          struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(dir, name, path) != 0) return hls_why_set(why, HLS_ETOOBIG, "path too long");
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  size_t len = strlen(content), off = 0;
  int rc = 0;
  while (off < len) {
    ssize_t w = write(fd, content + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = hls_why_set(why, hls_err_from_errno(errno), "%s: %s", path, strerror(errno));
      break;
    }
    off += (size_t)w;
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = hls_why_set(why, hls_err_from_errno(errno), "%s: fsync: %s", path, strerror(errno));
  close(fd);
  return rc;
}

static int mkdir_parents(const char *dir, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
      return hls_why_set(why, HLS_EIO, "cannot create %s: %s", path, strerror(errno));
    *p = '/';
  }
  return 0;
}

static int remove_tree_flat(const char *dir) {
  /* The staging directory holds only the files we wrote. */
  static const char *const names[] = {SECRET_FILE, NETWORK_FILE, CONFIG_FILE, HLS_CHAINMARK_FILE, HLS_STEWARDS_FILE,
                                      "join.invite"};
  char path[HLS_PATH_MAX];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (hls_home_path(dir, names[i], path) == 0) unlink(path);
  return rmdir(dir);
}

/* dir is a directory with nothing in it. */
static bool dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return false;
  bool empty = true;
  for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

/* The files of a node, in the order they are published in place:
 * hlsd.conf last, as it makes dir a node (hls_home_exists). */
static const char *const node_files[] = {SECRET_FILE, NETWORK_FILE, HLS_CHAINMARK_FILE, HLS_STEWARDS_FILE,
                                         CONFIG_FILE};
#define N_NODE_FILES (sizeof node_files / sizeof node_files[0])

/* Move the files staged in staging (a directory inside dir) into dir,
 * never replacing one, then remove staging. Interrupted, dir holds no
 * hlsd.conf and so no node; on an error, the files moved so far go. */
static int publish_in_place(const char *staging, const char *dir, struct hls_why *why) {
  char from[HLS_PATH_MAX], to[HLS_PATH_MAX];
  size_t moved = 0;
  int rc = 0;
  for (; moved < N_NODE_FILES; moved++) {
    if (hls_home_path(staging, node_files[moved], from) != 0 || hls_home_path(dir, node_files[moved], to) != 0) {
      rc = hls_why_set(why, HLS_ETOOBIG, "home: path too long");
      break;
    }
    if (strcmp(node_files[moved], HLS_STEWARDS_FILE) == 0 && access(from, F_OK) != 0) continue; /* joined: none yet */
    if (link(from, to) != 0) {
      rc = errno == EEXIST ? hls_why_set(why, HLS_EEXISTS, "%s exists and is not empty; choose another --home", dir)
                           : hls_why_set(why, HLS_EIO, "cannot create %s: %s", to, strerror(errno));
      break;
    }
  }
  if (rc != 0) {
    while (moved-- > 0)
      if (hls_home_path(dir, node_files[moved], to) == 0) unlink(to);
    return rc;
  }
  remove_tree_flat(staging);
  if (hls_home_fsync_dir(dir) != 0) return hls_why_set(why, HLS_EIO, "%s: fsync: %s", dir, strerror(errno));
  return 0;
}

int hls_home_init(const char *dir, const struct hls_init_params *p, struct hls_why *why) {
  struct hls_config cfg;
  struct hls_why detail;
  uint8_t network_key[32];
  struct hls_identity id;
  char staging[HLS_PATH_MAX], text[1024], b64[128], node_id[HLS_NODEID_TEXT_SIZE];
  bool in_place = false;
  int rc;

  if (hls_home_exists(dir))
    return hls_why_set(why, HLS_EEXISTS, "%s already holds a node (remove it first to start again)", dir);
  /* hlsd's control socket, DIR/hlsd.sock, must fit a Unix socket's path:
   * a node made here could never start */
  if (strlen(dir) + sizeof "/hlsd.sock" > sizeof(((struct sockaddr_un *)0)->sun_path))
    return hls_why_set(why, HLS_EINVAL, "%s: too long a path for hlsd's control socket (%s/hlsd.sock must be at most "
                       "%zu bytes): choose a shorter one", dir, dir, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
  hls_config_defaults(&cfg);
  if ((rc = hls_config_set(&cfg, "node.place", p->place ? p->place : "", &detail)) != 0 ||
      (rc = hls_config_set(&cfg, "node.region", p->region ? p->region : "", &detail)) != 0 ||
      (p->listen && (rc = hls_config_set(&cfg, "network.listen", p->listen, &detail)) != 0) ||
      (p->web && (rc = hls_config_set(&cfg, "web.listen", p->web, &detail)) != 0) ||
      (rc = hls_config_check_web(&cfg, &detail)) != 0)
    return hls_why_set(why, HLS_EINVAL, "%s", detail.text);
  cfg.role = p->role;
  char join[HLS_INVITE_TEXT_MAX] = "";
  if (p->join_code != NULL) {
    struct hls_invite code;
    if (p->network_key != NULL) return hls_why_set(why, HLS_EINVAL, "give --join or --network-key, not both");
    if ((rc = hls_invite_decode(p->join_code, &code, why)) != 0) return rc;
    memcpy(network_key, code.network_key, sizeof network_key);
    rc = hls_invite_encode(&code, join, why); /* the code without what was pasted around it */
    sodium_memzero(&code, sizeof code);
    if (rc != 0) return rc;
  } else if (p->network_key != NULL) {
    if (hls_key32_parse(p->network_key, strlen(p->network_key), network_key) != 0)
      return hls_why_set(why, HLS_EINVAL, "network key: expected 44 characters of base64 (from hls network key)");
  } else {
    randombytes_buf(network_key, sizeof network_key);
  }
  crypto_sign_keypair(id.public_key, id.secret_key);

  if ((rc = mkdir_parents(dir, why)) != 0) goto fail_keys;
  if (snprintf(staging, sizeof staging, "%s.init-XXXXXX", dir) >= (int)sizeof staging) {
    rc = hls_why_set(why, HLS_ETOOBIG, "home: path too long");
    goto fail_keys;
  }
  if (mkdtemp(staging) == NULL) {
    int e = errno;
    /* The parent is not this user's to write (/var/lib, for the system
     * node's user hlsd): an empty dir made for the node is staged inside
     * instead, and keeps its owner and mode (the package's 0710). */
    in_place = (e == EACCES || e == EPERM || e == EROFS) && dir_is_empty(dir);
    if (in_place && snprintf(staging, sizeof staging, "%s/.init-XXXXXX", dir) >= (int)sizeof staging) {
      rc = hls_why_set(why, HLS_ETOOBIG, "home: path too long");
      goto fail_keys;
    }
    if (!in_place || mkdtemp(staging) == NULL) {
      rc = access(dir, F_OK) == 0 && !dir_is_empty(dir)
               ? hls_why_set(why, HLS_EEXISTS, "%s exists and is not empty; choose another --home", dir)
               : hls_why_set(why, HLS_EIO, "cannot create a directory %s %s: %s", in_place ? "in" : "next to", dir,
                             strerror(in_place ? errno : e));
      goto fail_keys;
    }
  }
  /* mkdtemp makes it 0700 already. */
  hls_nodeid_format(id.public_key, node_id);
  sodium_bin2base64(b64, sizeof b64, id.secret_key, sizeof id.secret_key, sodium_base64_VARIANT_ORIGINAL);
  snprintf(text, sizeof text,
           "# hlsd node secret key. Whoever holds this file can act as this node:\n"
           "# never share it, keep a backup somewhere safe.\n"
           "# Node id: %s\n%s\n",
           node_id, b64);
  rc = write_new_file(staging, SECRET_FILE, text, 0600, why);
  sodium_memzero(text, sizeof text);
  sodium_memzero(b64, sizeof b64);
  if (rc != 0) goto fail_staging;
  hls_key32_format(network_key, b64);
  snprintf(text, sizeof text,
           "# hlsd network key: membership of one learning network. Give it only to\n"
           "# member places, over a trusted channel (hls network key prints it).\n%s\n",
           b64);
  rc = write_new_file(staging, NETWORK_FILE, text, 0600, why);
  sodium_memzero(text, sizeof text);
  sodium_memzero(b64, sizeof b64);
  if (rc != 0) goto fail_staging;
  if (p->join_code != NULL) {
    /* The invite, for hlsd to redeem at its first start (invites.h): it
     * holds the network key, so it is a secret file too. */
    snprintf(text, sizeof text,
             "# An invite to redeem: hlsd takes it into its store and removes this file.\n"
             "# It holds the network key: never share it.\n%s\n", join);
    rc = write_new_file(staging, "join.invite", text, 0600, why);
    sodium_memzero(text, sizeof text);
    sodium_memzero(join, sizeof join);
    if (rc != 0) goto fail_staging;
  }

  if (p->join_code == NULL && p->network_key == NULL) {
    /* A new network: its creator is its steward, the one node that may
     * rotate its key (docs/protocol.md 4.8) until hls stewards
     * names others. A node joining learns them from its inviter. */
    snprintf(text, sizeof text, "# Stewards of this network: the nodes whose rekey items this node takes\n"
             "# (hls stewards). One node id a line.\n%s\n", node_id);
    if ((rc = write_new_file(staging, HLS_STEWARDS_FILE, text, 0600, why)) != 0) goto fail_staging;
  }

  /* Nothing signed yet. A home without this file later is one whose state
   * was lost (chainmark.h). */
  struct hls_chainmark mark = {0};
  hls_chainmark_format(id.public_key, &mark, text, sizeof text);
  if ((rc = write_new_file(staging, HLS_CHAINMARK_FILE, text, 0600, why)) != 0) goto fail_staging;

  char conf_path[HLS_PATH_MAX];
  if (hls_home_path(staging, CONFIG_FILE, conf_path) != 0) {
    rc = hls_why_set(why, HLS_ETOOBIG, "home: path too long");
    goto fail_staging;
  }
  int fd = open(conf_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    if (fd >= 0) close(fd);
    rc = hls_why_set(why, HLS_EIO, "%s: %s", conf_path, strerror(errno));
    goto fail_staging;
  }
  rc = hls_config_write(f, &cfg);
  int write_errno = rc != 0 ? errno : 0;
  if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && write_errno == 0) write_errno = errno;
  if (fclose(f) != 0 && write_errno == 0) write_errno = errno;
  if (rc != 0 || write_errno != 0) {
    rc = hls_why_set(why, hls_err_from_errno(write_errno), "%s: write failed: %s", conf_path,
                     strerror(write_errno ? write_errno : EIO));
    goto fail_staging;
  }
  if (in_place) {
    if ((rc = publish_in_place(staging, dir, why)) != 0) goto fail_staging;
    sodium_memzero(&id, sizeof id);
    sodium_memzero(network_key, sizeof network_key);
    return 0;
  }
  /* Publish the node in one step: an empty existing dir is replaced. */
  if (rename(staging, dir) != 0) {
    rc = errno == ENOTEMPTY || errno == EEXIST
             ? hls_why_set(why, HLS_EEXISTS, "%s exists and is not empty; choose another --home", dir)
             : hls_why_set(why, HLS_EIO, "cannot create %s: %s", dir, strerror(errno));
    goto fail_staging;
  }
  char parent[HLS_PATH_MAX];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (slash != NULL && slash != parent) *slash = '\0';
  hls_home_fsync_dir(parent);
  sodium_memzero(&id, sizeof id);
  sodium_memzero(network_key, sizeof network_key);
  return 0;

fail_staging:
  remove_tree_flat(staging);
fail_keys:
  sodium_memzero(&id, sizeof id);
  sodium_memzero(network_key, sizeof network_key);
  sodium_memzero(join, sizeof join);
  return rc;
}

static int check_private(const char *path, bool is_dir, const gid_t *group, struct hls_why *why) {
  struct stat st;
  if (stat(path, &st) != 0) return hls_why_set(why, HLS_ENOTFOUND, "%s: %s", path, strerror(errno));
  if (st.st_uid != geteuid())
    return hls_why_set(why, HLS_EPERM, "%s belongs to another user (uid %u); run hlsd as its owner", path,
                       (unsigned)st.st_uid);
  /* The control group may search (and list) the directory, to reach the
   * socket; never write it, and no one else may do anything. */
  mode_t allowed = is_dir && group != NULL && st.st_gid == *group ? 050 : 0;
  if ((st.st_mode & 077 & ~allowed) == 0) return 0;
  /* A directory meant for the control group (control.group) but in
   * another group: the fix is its group, not a mode that shuts staff out. */
  if (is_dir && group != NULL && st.st_gid != *group) {
    const struct group *g = getgrgid(*group);
    char gname[64];
    if (g != NULL) snprintf(gname, sizeof gname, "%s", g->gr_name);
    else snprintf(gname, sizeof gname, "%u", (unsigned)*group);
    return hls_why_set(why, HLS_EPERM,
                       "%s is accessible to other users (mode %04o, group not control.group's); fix with: chgrp %s %s "
                       "&& chmod 710 %s",
                       path, (unsigned)(st.st_mode & 07777), gname, path, path);
  }
  return hls_why_set(why, HLS_EPERM, "%s is accessible to other users (mode %04o); fix with: chmod %s %s", path,
                     (unsigned)(st.st_mode & 07777), is_dir ? (allowed ? "710" : "700") : "600", path);
}

int hls_home_check_permissions(const char *dir, const gid_t *control_group, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  int rc;
  if ((rc = check_private(dir, true, control_group, why)) != 0) return rc;
  if (hls_home_path(dir, SECRET_FILE, path) != 0) return HLS_ETOOBIG;
  if ((rc = check_private(path, false, NULL, why)) != 0) return rc;
  if (hls_home_path(dir, NETWORK_FILE, path) != 0) return HLS_ETOOBIG;
  return check_private(path, false, NULL, why);
}

/* Read the one non-comment line of a key file into out (NUL-terminated). */
static int read_key_line(const char *dir, const char *name, char *out, size_t size, struct hls_why *why) {
  char path[HLS_PATH_MAX], buf[KEY_FILE_MAX + 1];
  if (hls_home_path(dir, name, path) != 0) return HLS_ETOOBIG;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hls_why_set(why, errno == ENOENT ? HLS_ENOTFOUND : HLS_EIO, "%s: %s", path, strerror(errno));
  ssize_t n = read(fd, buf, KEY_FILE_MAX);
  close(fd);
  if (n < 0) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  buf[n] = '\0';
  int rc = hls_why_set(why, HLS_EINVAL, "%s: no key found", path);
  for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
    if (len == 0 || line[0] == '#') continue;
    if (len >= size) {
      rc = hls_why_set(why, HLS_EINVAL, "%s: malformed key", path);
      break;
    }
    memcpy(out, line, len + 1);
    rc = 0;
    break;
  }
  sodium_memzero(buf, sizeof buf);
  return rc;
}

static int load_identity_file(const char *dir, const char *name, struct hls_identity *id, struct hls_why *why);

int hls_home_load_identity(const char *dir, struct hls_identity *id, struct hls_why *why) {
  return load_identity_file(dir, SECRET_FILE, id, why);
}

int hls_home_load_retired(const char *dir, struct hls_identity *out, size_t max, size_t *n, struct hls_why *why) {
  *n = 0;
  DIR *d = opendir(dir);
  if (d == NULL) return hls_why_set(why, HLS_EIO, "%s: %s", dir, strerror(errno));
  int rc = 0;
  const struct dirent *e;
  while (rc == 0 && *n < max && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "secret.retired-", 15) != 0) continue;
    char path[HLS_PATH_MAX];
    if (hls_home_path(dir, e->d_name, path) != 0) continue;
    if ((rc = check_private(path, false, NULL, why)) != 0) break;
    if ((rc = load_identity_file(dir, e->d_name, &out[*n], why)) == 0) (*n)++;
  }
  closedir(d);
  return rc;
}

static int load_identity_file(const char *dir, const char *name, struct hls_identity *id, struct hls_why *why) {
  char line[128];
  size_t bin_len = 0;
  const char *end = NULL;
  int rc = read_key_line(dir, name, line, sizeof line, why);
  if (rc != 0) return rc;
  uint8_t check_pk[32], check_sk[64];
  rc = 0;
  if (sodium_base642bin(id->secret_key, sizeof id->secret_key, line, strlen(line), NULL, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin_len != 64 || *end != '\0') {
    rc = hls_why_set(why, HLS_EINVAL, "%s/%s: malformed secret key", dir, name);
  } else {
    /* The file holds seed || public key: re-derive to catch corruption. */
    crypto_sign_seed_keypair(check_pk, check_sk, id->secret_key);
    if (sodium_memcmp(check_pk, id->secret_key + 32, 32) != 0)
      rc = hls_why_set(why, HLS_EINVAL, "%s/%s: corrupt (public half does not match)", dir, name);
    else
      memcpy(id->public_key, check_pk, 32);
  }
  sodium_memzero(line, sizeof line);
  sodium_memzero(check_sk, sizeof check_sk);
  if (rc != 0) sodium_memzero(id, sizeof *id);
  return rc;
}

int hls_home_load_network_key(const char *dir, uint8_t key[32], struct hls_why *why) {
  return hls_home_load_key(dir, NETWORK_FILE, key, why);
}

int hls_home_load_key(const char *dir, const char *name, uint8_t key[32], struct hls_why *why) {
  char line[128];
  int rc = read_key_line(dir, name, line, sizeof line, why);
  if (rc != 0) return rc;
  if (hls_key32_parse(line, strlen(line), key) != 0)
    rc = hls_why_set(why, HLS_EINVAL, "%s/%s: malformed network key", dir, name);
  sodium_memzero(line, sizeof line);
  return rc;
}

int hls_home_replace_file(const char *dir, const char *name, const char *content, struct hls_why *why) {
  char tmp_name[128], tmp[HLS_PATH_MAX], path[HLS_PATH_MAX];
  snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
  if (hls_home_path(dir, tmp_name, tmp) != 0 || hls_home_path(dir, name, path) != 0)
    return hls_why_set(why, HLS_ETOOBIG, "path too long");
  unlink(tmp);
  int rc = write_new_file(dir, tmp_name, content, 0600, why);
  if (rc == 0 && rename(tmp, path) != 0) rc = hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  if (rc == 0 && hls_home_fsync_dir(dir) != 0) rc = hls_why_set(why, HLS_EIO, "%s: fsync of the directory failed", dir);
  if (rc != 0) unlink(tmp);
  return rc;
}

int hls_home_write_key(const char *dir, const char *name, const uint8_t key[32], struct hls_why *why) {
  char b64[64], text[512];
  hls_key32_format(key, b64);
  snprintf(text, sizeof text,
           "# hlsd network key: membership of one learning network. Give it only to\n"
           "# member places, over a trusted channel (hls network key prints it).\n%s\n",
           b64);
  int rc = hls_home_replace_file(dir, name, text, why);
  sodium_memzero(text, sizeof text);
  sodium_memzero(b64, sizeof b64);
  return rc;
}

int hls_home_remove_file(const char *dir, const char *name, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(dir, name, path) != 0) return hls_why_set(why, HLS_ETOOBIG, "path too long");
  if (unlink(path) != 0 && errno != ENOENT) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

void hls_network_fingerprint(const uint8_t key[32], char out[17]) {
  uint8_t hash[32];
  static const char domain[] = "hlsd network id v1";
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, sizeof hash);
  crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain - 1);
  crypto_generichash_update(&st, key, 32);
  crypto_generichash_final(&st, hash, sizeof hash);
  sodium_bin2hex(out, 17, hash, 8);
}

/* --- key succession (hls identity rotate) --------------------------------------- */

#define DISCLOSURE_FILE "disclosure.key"

int hls_home_load_disclosure_key(const char *dir, uint8_t key[32], bool *present, struct hls_why *why) {
  char line[128];
  *present = false;
  int rc = read_key_line(dir, DISCLOSURE_FILE, line, sizeof line, why);
  if (rc == HLS_ENOTFOUND) {
    if (why != NULL) why->text[0] = '\0';
    return 0;
  }
  if (rc != 0) return rc;
  if (hls_key32_parse(line, strlen(line), key) != 0)
    rc = hls_why_set(why, HLS_EINVAL, "%s/" DISCLOSURE_FILE ": malformed key", dir);
  else
    *present = true;
  sodium_memzero(line, sizeof line);
  return rc;
}

#define STAGED_FILE SECRET_FILE ".new"

int hls_home_load_staged(const char *dir, struct hls_identity *fresh, bool *present, struct hls_why *why) {
  *present = false;
  int rc = load_identity_file(dir, STAGED_FILE, fresh, why);
  if (rc == HLS_ENOTFOUND) {
    if (why != NULL) why->text[0] = '\0';
    return 0;
  }
  if (rc == 0) *present = true;
  return rc;
}

void hls_home_unstage(const char *dir) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(dir, STAGED_FILE, path) == 0) unlink(path);
}

int hls_home_stage_identity(const char *dir, const struct hls_identity *old, const struct hls_identity *fresh,
                            struct hls_why *why) {
  char text[512], b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)], node_id[HLS_NODEID_TEXT_SIZE];
  int rc;
  /* 1. The disclosure key carries over (docs/consent.md): kept the first
   * time the node's key is rotated, from the seed of the key it had. */
  uint8_t dkey[32];
  bool have = false;
  if ((rc = hls_home_load_disclosure_key(dir, dkey, &have, why)) != 0) return rc;
  if (!have) {
    hls_disclosure_key(old->secret_key, dkey);
    char hex[HLS_KEY32_TEXT_SIZE];
    hls_key32_format(dkey, hex);
    snprintf(text, sizeof text,
             "# hlsd disclosure key: the key of this place's keyed rounding (hls-sdc-2),\n"
             "# kept when its node key was first rotated so that its digests round as\n"
             "# before. A secret: back it up with secret.key.\n%s\n",
             hex);
    sodium_memzero(hex, sizeof hex);
    rc = hls_home_replace_file(dir, DISCLOSURE_FILE, text, why);
    sodium_memzero(text, sizeof text);
    if (rc != 0) goto out;
  }
  /* 2. The new key beside the old (written before the successor goes
   * out: a node stopped between the two finishes the move at its next
   * start, hls_home_load_staged). */
  hls_nodeid_format(fresh->public_key, node_id);
  sodium_bin2base64(b64, sizeof b64, fresh->secret_key, sizeof fresh->secret_key, sodium_base64_VARIANT_ORIGINAL);
  snprintf(text, sizeof text,
           "# hlsd node secret key. Whoever holds this file can act as this node:\n"
           "# never share it, keep a backup somewhere safe.\n"
           "# Node id: %s\n%s\n",
           node_id, b64);
  rc = hls_home_replace_file(dir, STAGED_FILE, text, why);
  sodium_memzero(text, sizeof text);
  sodium_memzero(b64, sizeof b64);
out:
  sodium_memzero(dkey, sizeof dkey);
  return rc;
}

int hls_home_rotate_identity(const char *dir, const struct hls_identity *old, const struct hls_identity *fresh,
                             int64_t now_ms, char retired[64], struct hls_why *why) {
  char from[HLS_PATH_MAX], to[HLS_PATH_MAX], name[96];
  struct hls_identity staged;
  bool have = false;
  int rc = hls_home_load_staged(dir, &staged, &have, why);
  if (rc == 0 && (!have || sodium_memcmp(staged.public_key, fresh->public_key, 32) != 0))
    rc = hls_home_stage_identity(dir, old, fresh, why);
  sodium_memzero(&staged, sizeof staged);
  if (rc != 0) return rc;
  /* The old key retired, the staged one in its place. */
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char stamp[32], base[24];
  strftime(base, sizeof base, "%Y%m%dT%H%M%SZ", &tm);
  if (hls_home_path(dir, SECRET_FILE, from) != 0) {
    rc = hls_why_set(why, HLS_ETOOBIG, "path too long");
    goto out;
  }
  /* Never over an earlier retired key: two moves in one second (or a
   * frozen test clock) take -2, -3, ... */
  for (int i = 1;; i++) {
    if (i == 1) snprintf(stamp, sizeof stamp, "%s", base);
    else snprintf(stamp, sizeof stamp, "%s-%d", base, i);
    snprintf(retired, 64, "secret.retired-%s", stamp);
    if (hls_home_path(dir, retired, to) != 0) {
      rc = hls_why_set(why, HLS_ETOOBIG, "path too long");
      goto out;
    }
    if (link(from, to) == 0) break;
    if (errno != EEXIST || i == 100) {
      rc = hls_why_set(why, HLS_EIO, "%s: %s", to, strerror(errno));
      goto out;
    }
  }
  if (hls_home_path(dir, STAGED_FILE, from) != 0 || hls_home_path(dir, SECRET_FILE, to) != 0 ||
      rename(from, to) != 0) {
    rc = hls_why_set(why, HLS_EIO, "%s: %s", to, strerror(errno));
    goto out;
  }
  /* 3. The old chain's mark kept beside it; the new chain has signed
   * nothing. */
  snprintf(name, sizeof name, HLS_CHAINMARK_FILE ".retired-%s", stamp);
  if (hls_home_path(dir, HLS_CHAINMARK_FILE, from) == 0 && hls_home_path(dir, name, to) == 0 &&
      rename(from, to) != 0 && errno != ENOENT) {
    rc = hls_why_set(why, HLS_EIO, "%s: %s", to, strerror(errno));
    goto out;
  }
  struct hls_chainmark none = {0};
  if ((rc = hls_chainmark_save(dir, fresh->public_key, &none, why)) != 0) goto out;
  rc = hls_home_fsync_dir(dir) == 0 ? 0 : hls_why_set(why, HLS_EIO, "%s: fsync", dir);
out:
  return rc;
}
