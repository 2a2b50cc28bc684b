/* Unit tests for daemon/home.c: the data directory, node creation, key
 * files and their permissions. Each test works in its own temporary
 * directory, removed in teardown. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chainmark.h"
#include "config.h"
#include "disclosure.h"
#include "home.h"
#include "nodeid.h"

#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    int rc_ = (expr);                                                                    \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text);        \
  } while (0)

struct fixture {
  char parent[64]; /* the temporary directory */
  char node[128];  /* parent/node: where tests create a node */
};

static void remove_tree(const char *path) { test_remove_tree(path); }

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->parent, sizeof fx->parent, "/tmp/hls-test-home-XXXXXX");
  if (mkdtemp(fx->parent) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->node, sizeof fx->node, "%s/node", fx->parent);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  remove_tree(fx->parent);
  free(fx);
  return 0;
}

static const struct hls_init_params default_params = {
    .place = "Gateshead", .region = "North East", .role = HLS_ROLE_PLACE, .network_key = NULL, .listen = NULL};

/* Names in dir, sorted, joined by ',' ("" when empty). */
static void list_dir(const char *dir, char *out, size_t size) {
  char names[16][256];
  int n = 0;
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    assert_true(n < 16);
    snprintf(names[n++], sizeof names[0], "%s", e->d_name);
  }
  closedir(d);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char tmp[256];
      memcpy(tmp, names[j], sizeof tmp);
      memcpy(names[j], names[j - 1], sizeof tmp);
      memcpy(names[j - 1], tmp, sizeof tmp);
    }
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (i > 0) strncat(out, ",", size - strlen(out) - 1);
    strncat(out, names[i], size - strlen(out) - 1);
  }
}

static void assert_dir_lists(const char *dir, const char *expected) {
  char names[1024];
  list_dir(dir, names, sizeof names);
  if (strcmp(names, expected) != 0) fail_msg("%s holds \"%s\", want \"%s\"", dir, names, expected);
}

static void file_path(const char *dir, const char *name, char out[HLS_PATH_MAX]) {
  assert_int_equal(hls_home_path(dir, name, out), 0);
}

static int mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (int)(st.st_mode & 07777);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char *buf = calloc(1, 8192);
  assert_non_null(buf);
  size_t n = fread(buf, 1, 8191, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Replace a file's content, keeping its mode. */
static void rewrite(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
}

/* Pointer to the key line (the first non-comment line) of text. */
static char *key_line(char *text) {
  for (char *line = text; *line; ) {
    if (*line != '#' && *line != '\n') return line;
    char *nl = strchr(line, '\n');
    if (nl == NULL) break;
    line = nl + 1;
  }
  fail_msg("no key line");
  return NULL;
}

/* --- resolve ------------------------------------------------------------- */

struct saved_env {
  char *vals[3];
};
static const char *const env_names[3] = {"HLS_HOME", "XDG_DATA_HOME", "HOME"};

static void env_save(struct saved_env *s) {
  for (int i = 0; i < 3; i++) {
    const char *v = getenv(env_names[i]);
    s->vals[i] = v ? strdup(v) : NULL;
  }
}

static void env_restore(struct saved_env *s) {
  for (int i = 0; i < 3; i++) {
    if (s->vals[i])
      setenv(env_names[i], s->vals[i], 1);
    else
      unsetenv(env_names[i]);
    free(s->vals[i]);
  }
}

static void expect_resolve(const char *flag, const char *expected) {
  char out[HLS_PATH_MAX];
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_resolve(flag, out, &why));
  assert_string_equal(out, expected);
}

static void test_resolve_precedence(void **state) {
  (void)state;
  struct saved_env saved;
  env_save(&saved);
  char cwd[HLS_PATH_MAX], expected[HLS_PATH_MAX + 16];
  assert_non_null(getcwd(cwd, sizeof cwd));

  setenv("HLS_HOME", "/env/hls", 1);
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("HOME", "/home/someone", 1);
  /* The flag wins over everything. */
  expect_resolve("/flag/dir", "/flag/dir");
  expect_resolve("/flag/dir///", "/flag/dir");
  snprintf(expected, sizeof expected, "%s/rel/dir", cwd);
  expect_resolve("rel/dir/", expected);
  expect_resolve("/", "/");
  /* Then HLS_HOME, also made absolute and trimmed. */
  expect_resolve(NULL, "/env/hls");
  setenv("HLS_HOME", "/env/hls//", 1);
  expect_resolve(NULL, "/env/hls");
  setenv("HLS_HOME", "relative-home", 1);
  snprintf(expected, sizeof expected, "%s/relative-home", cwd);
  expect_resolve(NULL, expected);
  /* An empty HLS_HOME counts as unset. */
  setenv("HLS_HOME", "", 1);
  expect_resolve(NULL, "/xdg/hlsd");
  unsetenv("HLS_HOME");
  expect_resolve(NULL, "/xdg/hlsd");
  setenv("XDG_DATA_HOME", "/xdg/data", 1);
  expect_resolve(NULL, "/xdg/data/hlsd");
  /* XDG_DATA_HOME must be absolute to count (XDG base directory spec). */
  setenv("XDG_DATA_HOME", "relative-xdg", 1);
  expect_resolve(NULL, "/home/someone/.local/share/hlsd");
  unsetenv("XDG_DATA_HOME");
  expect_resolve(NULL, "/home/someone/.local/share/hlsd");
  /* Nothing to go on. */
  unsetenv("HOME");
  char out[HLS_PATH_MAX];
  struct hls_why why = {{0}};
  assert_int_equal(hls_home_resolve(NULL, out, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "HOME"));
  /* An empty flag is refused. */
  assert_int_equal(hls_home_resolve("", out, &why), HLS_EINVAL);
  env_restore(&saved);
}

/* An empty file at dir/name (stat is all hls_home_resolve_client looks at). */
static void touch(const char *dir, const char *name) {
  char path[HLS_PATH_MAX];
  file_path(dir, name, path);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

static void expect_client(const char *flag, const char *system_dir, const char *expected, bool expect_system) {
  char out[HLS_PATH_MAX];
  bool is_system = !expect_system;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_resolve_client(flag, system_dir, out, &is_system, &why));
  assert_string_equal(out, expected);
  assert_int_equal(is_system, expect_system);
}

/* hls falls back to the system node only when nothing else names a
 * directory and the user has no node of their own. */
static void test_resolve_client_system_node(void **state) {
  struct fixture *fx = *state;
  struct saved_env saved;
  env_save(&saved);
  char xdg[HLS_PATH_MAX], own[HLS_PATH_MAX], sys[HLS_PATH_MAX];
  snprintf(xdg, sizeof xdg, "%s/xdg", fx->parent);
  snprintf(own, sizeof own, "%s/xdg/hlsd", fx->parent);
  snprintf(sys, sizeof sys, "%s/system", fx->parent);
  unsetenv("HLS_HOME");
  setenv("XDG_DATA_HOME", xdg, 1);
  setenv("HOME", "/home/someone", 1);

  /* No system directory, or an empty one: the per-user default. */
  expect_client(NULL, sys, own, false);
  assert_int_equal(mkdir(sys, 0710), 0);
  expect_client(NULL, sys, own, false);
  expect_client(NULL, NULL, own, false);
  expect_client(NULL, "", own, false);
  /* A node there (hlsd.conf), or a running one (hlsd.sock): the system node. */
  touch(sys, "hlsd.sock");
  expect_client(NULL, sys, sys, true);
  touch(sys, "hlsd.conf");
  char sock[HLS_PATH_MAX];
  file_path(sys, "hlsd.sock", sock);
  assert_int_equal(unlink(sock), 0);
  expect_client(NULL, sys, sys, true);
  /* Trailing slashes go, as for every home. */
  char sys_slash[HLS_PATH_MAX + 2];
  snprintf(sys_slash, sizeof sys_slash, "%s//", sys);
  expect_client(NULL, sys_slash, sys, true);
  /* --home and HLS_HOME always win, even naming no node. */
  expect_client("/flag/dir", sys, "/flag/dir", false);
  setenv("HLS_HOME", "/env/hls", 1);
  expect_client(NULL, sys, "/env/hls", false);
  unsetenv("HLS_HOME");
  /* A node of one's own wins over the system node. */
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(own, &default_params, &why));
  expect_client(NULL, sys, own, false);
  /* No $HOME to find a node of one's own in: the system node, if any. */
  unsetenv("XDG_DATA_HOME");
  unsetenv("HOME");
  expect_client(NULL, sys, sys, true);
  char out[HLS_PATH_MAX];
  bool is_system = true;
  snprintf(sock, sizeof sock, "%s/none", fx->parent);
  assert_int_equal(hls_home_resolve_client(NULL, sock, out, &is_system, &why), HLS_EINVAL);
  assert_false(is_system);
  /* A system directory this user may not search: the system node, so that
   * connecting says "permission denied" (root searches anything). */
  setenv("XDG_DATA_HOME", xdg, 1);
  remove_tree(own);
  if (geteuid() != 0) {
    char locked[HLS_PATH_MAX];
    snprintf(locked, sizeof locked, "%s/locked", fx->parent);
    assert_int_equal(mkdir(locked, 0700), 0);
    char inner[HLS_PATH_MAX + 8];
    snprintf(inner, sizeof inner, "%s/node", locked);
    assert_int_equal(mkdir(inner, 0700), 0);
    assert_int_equal(chmod(locked, 0), 0);
    expect_client(NULL, inner, inner, true);
    assert_int_equal(chmod(locked, 0700), 0);
  }
  env_restore(&saved);
}

static void test_home_path(void **state) {
  (void)state;
  char out[HLS_PATH_MAX];
  assert_int_equal(hls_home_path("/a/b", "secret.key", out), 0);
  assert_string_equal(out, "/a/b/secret.key");
  char *long_dir = malloc(HLS_PATH_MAX);
  assert_non_null(long_dir);
  memset(long_dir, 'd', HLS_PATH_MAX - 5);
  long_dir[HLS_PATH_MAX - 5] = '\0';
  assert_int_equal(hls_home_path(long_dir, "secret.key", out), HLS_ETOOBIG);
  free(long_dir);
}

/* --- identity rotate ------------------------------------------------------- */

/* hls identity rotate's files (home.h): staged, then rotated; the old key
 * retired (0600, never over an earlier one), the disclosure key of the
 * first key kept through two moves, the chain mark new, the retired keys
 * loaded; a staged key dropped. */
static void test_rotate_identity(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  struct hls_identity first, second, third, loaded, staged, retired[4];
  ASSERT_OK(hls_home_load_identity(fx->node, &first, &why));
  crypto_sign_keypair(second.public_key, second.secret_key);
  crypto_sign_keypair(third.public_key, third.secret_key);
  uint8_t want[32], got[32];
  bool present = true;
  ASSERT_OK(hls_home_load_disclosure_key(fx->node, got, &present, &why));
  assert_false(present);
  hls_disclosure_key(first.secret_key, want);

  ASSERT_OK(hls_home_stage_identity(fx->node, &first, &second, &why));
  ASSERT_OK(hls_home_load_staged(fx->node, &staged, &present, &why));
  assert_true(present);
  assert_memory_equal(staged.public_key, second.public_key, 32);
  char path[HLS_PATH_MAX], name1[64], name2[64];
  file_path(fx->node, "secret.key.new", path);
  assert_int_equal(mode_of(path), 0600);
  const int64_t at = 1796440000000; /* both moves in one second */
  ASSERT_OK(hls_home_rotate_identity(fx->node, &first, &second, at, name1, &why));
  ASSERT_OK(hls_home_load_identity(fx->node, &loaded, &why));
  assert_memory_equal(loaded.public_key, second.public_key, 32);
  ASSERT_OK(hls_home_load_staged(fx->node, &staged, &present, &why));
  assert_false(present);
  file_path(fx->node, name1, path);
  assert_int_equal(mode_of(path), 0600);
  ASSERT_OK(hls_home_rotate_identity(fx->node, &second, &third, at, name2, &why)); /* stages it itself */
  assert_string_not_equal(name1, name2);
  ASSERT_OK(hls_home_load_identity(fx->node, &loaded, &why));
  assert_memory_equal(loaded.public_key, third.public_key, 32);
  /* The disclosure key is the first key's, through both moves. */
  ASSERT_OK(hls_home_load_disclosure_key(fx->node, got, &present, &why));
  assert_true(present);
  assert_memory_equal(got, want, 32);
  file_path(fx->node, "disclosure.key", path);
  assert_int_equal(mode_of(path), 0600);
  /* Both retired keys load; the chain mark is the new key's, at 0. */
  size_t n = 0;
  ASSERT_OK(hls_home_load_retired(fx->node, retired, 4, &n, &why));
  assert_int_equal(n, 2);
  bool have_first = false, have_second = false;
  for (size_t i = 0; i < n; i++) {
    have_first |= memcmp(retired[i].public_key, first.public_key, 32) == 0;
    have_second |= memcmp(retired[i].public_key, second.public_key, 32) == 0;
  }
  assert_true(have_first && have_second);
  struct hls_chainmark mark;
  ASSERT_OK(hls_chainmark_load(fx->node, third.public_key, &mark, &present, &why));
  assert_true(present);
  assert_int_equal(mark.seq, 0);
  ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));
  /* A staged key no successor names is dropped by the caller. */
  ASSERT_OK(hls_home_stage_identity(fx->node, &third, &first, &why));
  hls_home_unstage(fx->node);
  ASSERT_OK(hls_home_load_staged(fx->node, &staged, &present, &why));
  assert_false(present);
  /* A retired key others can read is refused. */
  file_path(fx->node, name1, path);
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(hls_home_load_retired(fx->node, retired, 4, &n, &why), HLS_EPERM);
  sodium_memzero(retired, sizeof retired);
  sodium_memzero(&first, sizeof first);
  sodium_memzero(&second, sizeof second);
  sodium_memzero(&third, sizeof third);
}

/* --- init ---------------------------------------------------------------- */

static void test_init_creates_private_files(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  mode_t old = umask(0); /* modes must not depend on the caller's umask */
  int rc = hls_home_init(fx->node, &default_params, &why);
  umask(old);
  ASSERT_OK(rc);
  assert_true(hls_home_exists(fx->node));
  assert_int_equal(mode_of(fx->node), 0700);
  char path[HLS_PATH_MAX];
  const char *files[] = {"hlsd.conf", "network.key", "secret.key"};
  for (int i = 0; i < 3; i++) {
    file_path(fx->node, files[i], path);
    assert_int_equal(mode_of(path), 0600);
  }
  assert_dir_lists(fx->node, "chain.head,hlsd.conf,network.key,network.stewards,secret.key");
  assert_dir_lists(fx->parent, "node"); /* no staging directory left */
  ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));

  /* The config file holds what was asked, and passes the checks. */
  struct hls_config c;
  hls_config_defaults(&c);
  file_path(fx->node, "hlsd.conf", path);
  ASSERT_OK(hls_config_load_file(&c, path, &why));
  ASSERT_OK(hls_config_check(&c, &why));
  assert_string_equal(c.place, "Gateshead");
  assert_string_equal(c.region, "North East");
  assert_int_equal(c.role, HLS_ROLE_PLACE);
  assert_string_equal(c.listen, "0.0.0.0:7420");

  /* The keys load. */
  struct hls_identity id;
  uint8_t key[32];
  ASSERT_OK(hls_home_load_identity(fx->node, &id, &why));
  ASSERT_OK(hls_home_load_network_key(fx->node, key, &why));

  /* The secret key file names the node it belongs to. */
  char node_id[HLS_NODEID_TEXT_SIZE], want[96];
  hls_nodeid_format(id.public_key, node_id);
  snprintf(want, sizeof want, "# Node id: %s\n", node_id);
  file_path(fx->node, "secret.key", path);
  char *text = read_text(path);
  assert_non_null(strstr(text, want));
  free(text);
}

static void test_init_options(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_init_params p = default_params;
  p.role = HLS_ROLE_PARTNER;
  p.listen = "[::1]:0";
  p.place = "Learning Partner";
  snprintf(fx->node, sizeof fx->node, "%s/deep/er/node", fx->parent); /* parents are created */
  ASSERT_OK(hls_home_init(fx->node, &p, &why));
  struct hls_config c;
  char path[HLS_PATH_MAX];
  hls_config_defaults(&c);
  file_path(fx->node, "hlsd.conf", path);
  ASSERT_OK(hls_config_load_file(&c, path, &why));
  assert_string_equal(c.place, "Learning Partner");
  assert_int_equal(c.role, HLS_ROLE_PARTNER);
  assert_string_equal(c.listen, "[::1]:0");
  char deep[HLS_PATH_MAX];
  snprintf(deep, sizeof deep, "%s/deep/er", fx->parent);
  assert_dir_lists(deep, "node");
}

static void test_init_refuses_existing_node(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  char path[HLS_PATH_MAX];
  file_path(fx->node, "secret.key", path);
  char *before = read_text(path);

  assert_int_equal(hls_home_init(fx->node, &default_params, &why), HLS_EEXISTS);
  assert_non_null(strstr(why.text, fx->node));
  char *after = read_text(path);
  assert_string_equal(before, after); /* the identity was not replaced */
  free(before);
  free(after);
  assert_dir_lists(fx->parent, "node");
  assert_dir_lists(fx->node, "chain.head,hlsd.conf,network.key,network.stewards,secret.key");
}

static void test_init_existing_dirs(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  /* A non-empty directory is not replaced. */
  assert_int_equal(mkdir(fx->node, 0700), 0);
  char path[HLS_PATH_MAX];
  file_path(fx->node, "notes.txt", path);
  rewrite(path, "mine\n");
  assert_int_equal(hls_home_init(fx->node, &default_params, &why), HLS_EEXISTS);
  assert_non_null(strstr(why.text, "not empty"));
  assert_dir_lists(fx->node, "notes.txt");
  assert_dir_lists(fx->parent, "node"); /* the staging directory is gone */
  assert_int_equal(unlink(path), 0);

  /* An empty one is. */
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  assert_dir_lists(fx->node, "chain.head,hlsd.conf,network.key,network.stewards,secret.key");
  assert_int_equal(mode_of(fx->node), 0700);
  assert_dir_lists(fx->parent, "node");
}

/* hls_home_init(dir) as a user who may write dir but not its parent
 * (the system node: user hlsd, /var/lib/hlsd made by the package, /var/lib
 * root's). As root, a child process drops to nobody for it. */
static int init_unprivileged(const char *parent, const char *dir, char *why_text, size_t size) {
  struct hls_why why = {{0}};
  if (geteuid() != 0) {
    assert_int_equal(chmod(parent, 0500), 0);
    int rc = hls_home_init(dir, &default_params, &why);
    assert_int_equal(chmod(parent, 0700), 0);
    snprintf(why_text, size, "%s", why.text);
    return rc;
  }
  int pipe_fd[2];
  assert_int_equal(pipe(pipe_fd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(pipe_fd[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(100);
    int rc = hls_home_init(dir, &default_params, &why);
    ssize_t w = write(pipe_fd[1], why.text, strlen(why.text));
    _exit(w < 0 ? 101 : rc == 0 ? 0 : rc == HLS_EEXISTS ? 2 : 1);
  }
  close(pipe_fd[1]);
  ssize_t n = read(pipe_fd[0], why_text, size - 1);
  why_text[n > 0 ? n : 0] = '\0';
  close(pipe_fd[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  int code = WEXITSTATUS(status);
  if (code >= 100) fail_msg("child could not run as nobody (%d)", code);
  return code == 0 ? 0 : code == 2 ? HLS_EEXISTS : HLS_EIO;
}

/* An empty directory made for the node, in a parent the user may not
 * write: init stages inside it and keeps its mode (the package's 0710). */
static void test_init_in_place(void **state) {
  struct fixture *fx = *state;
  char parent[HLS_PATH_MAX], dir[HLS_PATH_MAX + 8], text[512], path[HLS_PATH_MAX];
  snprintf(parent, sizeof parent, "%s/var-lib", fx->parent);
  snprintf(dir, sizeof dir, "%s/hlsd", parent);
  assert_int_equal(chmod(fx->parent, 0711), 0); /* nobody passes through */
  assert_int_equal(mkdir(parent, 0755), 0);
  assert_int_equal(mkdir(dir, 0710), 0);
  assert_int_equal(chmod(dir, 0710), 0); /* whatever the umask */
  if (geteuid() == 0) assert_int_equal(chown(dir, 65534, 65534), 0);

  /* Not empty: refused, nothing left behind. */
  file_path(dir, "notes.txt", path);
  rewrite(path, "mine\n");
  if (geteuid() == 0) assert_int_equal(chown(path, 65534, 65534), 0);
  assert_int_equal(init_unprivileged(parent, dir, text, sizeof text), HLS_EEXISTS);
  if (strstr(text, "not empty") == NULL) fail_msg("%s", text);
  assert_dir_lists(dir, "notes.txt");
  assert_int_equal(unlink(path), 0);

  int rc = init_unprivileged(parent, dir, text, sizeof text);
  if (rc != 0) fail_msg("init in place: %s", text);
  assert_dir_lists(dir, "chain.head,hlsd.conf,network.key,network.stewards,secret.key"); /* no staging left */
  assert_dir_lists(parent, "hlsd");
  assert_int_equal(mode_of(dir), 0710);
  const char *files[] = {"hlsd.conf", "network.key", "secret.key", "chain.head"};
  for (int i = 0; i < 4; i++) {
    file_path(dir, files[i], path);
    assert_int_equal(mode_of(path), 0600);
  }
  assert_true(hls_home_exists(dir));
  struct hls_identity id;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_load_identity(dir, &id, &why));
}

static void expect_init_invalid(const struct fixture *fx, const struct hls_init_params *p, const char *frag) {
  struct hls_why why = {{0}};
  assert_int_equal(hls_home_init(fx->node, p, &why), HLS_EINVAL);
  if (strstr(why.text, frag) == NULL) fail_msg("\"%s\" lacks \"%s\"", why.text, frag);
  assert_dir_lists(fx->parent, ""); /* nothing created, nothing staged */
}

static void test_init_validates(void **state) {
  struct fixture *fx = *state;
  struct hls_init_params p = default_params;
  p.place = NULL;
  expect_init_invalid(fx, &p, "node.place");
  p.place = "";
  expect_init_invalid(fx, &p, "node.place");
  p = default_params;
  p.region = NULL;
  expect_init_invalid(fx, &p, "node.region");
  p.region = "bad\nregion";
  expect_init_invalid(fx, &p, "node.region");
  p = default_params;
  p.listen = "example.org:7420";
  expect_init_invalid(fx, &p, "network.listen");
  p.listen = "1.2.3.4:99999";
  expect_init_invalid(fx, &p, "network.listen");

  /* Network keys: 44 characters of canonical base64 for 32 bytes. */
  uint8_t key[32];
  char good[HLS_KEY32_TEXT_SIZE], bad[HLS_KEY32_TEXT_SIZE + 1];
  randombytes_buf(key, sizeof key);
  hls_key32_format(key, good);
  p = default_params;
  const char *bad_keys[] = {"", "abc", "not base64 at all, not base64 at all, abcdef", NULL};
  for (int i = 0; bad_keys[i] != NULL; i++) {
    p.network_key = bad_keys[i];
    expect_init_invalid(fx, &p, "network key");
  }
  memcpy(bad, good, sizeof good);
  bad[42] = 'B'; /* stray low bits in the last character: not canonical */
  p.network_key = bad;
  expect_init_invalid(fx, &p, "network key");
  memcpy(bad, good, sizeof good);
  bad[43] = 'A'; /* padding replaced */
  p.network_key = bad;
  expect_init_invalid(fx, &p, "network key");
  snprintf(bad, sizeof bad, "%sA", good); /* one character too many */
  p.network_key = bad;
  expect_init_invalid(fx, &p, "network key");
  memcpy(bad, good, 43); /* one too few */
  bad[43] = '\0';
  p.network_key = bad;
  expect_init_invalid(fx, &p, "network key");
}

static void test_join_stores_network_key(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  uint8_t key[32], loaded[32];
  char text[HLS_KEY32_TEXT_SIZE];
  randombytes_buf(key, sizeof key);
  hls_key32_format(key, text);
  struct hls_init_params p = default_params;
  p.network_key = text;
  ASSERT_OK(hls_home_init(fx->node, &p, &why));
  ASSERT_OK(hls_home_load_network_key(fx->node, loaded, &why));
  assert_memory_equal(loaded, key, 32);
  char path[HLS_PATH_MAX];
  file_path(fx->node, "network.key", path);
  char *content = read_text(path);
  char *line = key_line(content);
  assert_memory_equal(line, text, strlen(text));
  assert_int_equal(line[strlen(text)], '\n');
  free(content);

  /* Creating (not joining) makes a fresh key each time. */
  char other[HLS_PATH_MAX];
  snprintf(other, sizeof other, "%s/other", fx->parent);
  uint8_t k1[32], k2[32];
  ASSERT_OK(hls_home_init(other, &default_params, &why));
  ASSERT_OK(hls_home_load_network_key(other, k1, &why));
  snprintf(other, sizeof other, "%s/third", fx->parent);
  ASSERT_OK(hls_home_init(other, &default_params, &why));
  ASSERT_OK(hls_home_load_network_key(other, k2, &why));
  assert_memory_not_equal(k1, k2, 32);
  assert_memory_not_equal(k1, key, 32);
}

/* --- identity ------------------------------------------------------------ */

static void test_identity_signs(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  struct hls_identity id, again;
  ASSERT_OK(hls_home_load_identity(fx->node, &id, &why));
  ASSERT_OK(hls_home_load_identity(fx->node, &again, &why));
  assert_memory_equal(&id, &again, sizeof id);
  /* libsodium form: the public key is the second half of the secret. */
  assert_memory_equal(id.secret_key + 32, id.public_key, 32);

  static const unsigned char msg[] = "a learning record, signed";
  unsigned char sig[crypto_sign_BYTES];
  assert_int_equal(crypto_sign_detached(sig, NULL, msg, sizeof msg, id.secret_key), 0);
  assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, id.public_key), 0);
  sig[5] ^= 1;
  assert_int_not_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, id.public_key), 0);

  /* Another node has another identity. */
  char other[HLS_PATH_MAX];
  snprintf(other, sizeof other, "%s/other", fx->parent);
  ASSERT_OK(hls_home_init(other, &default_params, &why));
  struct hls_identity id2;
  ASSERT_OK(hls_home_load_identity(other, &id2, &why));
  assert_memory_not_equal(id.public_key, id2.public_key, 32);

  /* CRLF line endings (a file edited on Windows) still load. */
  char path[HLS_PATH_MAX];
  file_path(fx->node, "secret.key", path);
  char *text = read_text(path);
  char crlf[8192 * 2];
  size_t o = 0;
  for (const char *c = text; *c; c++) {
    if (*c == '\n') crlf[o++] = '\r';
    crlf[o++] = *c;
  }
  crlf[o] = '\0';
  rewrite(path, crlf);
  free(text);
  ASSERT_OK(hls_home_load_identity(fx->node, &again, &why));
  assert_memory_equal(&id, &again, sizeof id);
}

static void expect_identity_refused(const char *dir, const char *path, const char *content, int code,
                                    const char *frag) {
  struct hls_identity id;
  struct hls_why why = {{0}};
  rewrite(path, content);
  memset(&id, 0x77, sizeof id);
  int rc = hls_home_load_identity(dir, &id, &why);
  if (rc != code) fail_msg("got %s (%s), want %s", hls_err_name(rc), why.text, hls_err_name(code));
  if (strstr(why.text, frag) == NULL) fail_msg("\"%s\" lacks \"%s\"", why.text, frag);
  /* Nothing of a key that was decoded and refused is left in the output. */
  if (strstr(why.text, "no key found") == NULL) {
    uint8_t zero[sizeof id] = {0};
    assert_memory_equal(&id, zero, sizeof id);
  }
}

static void test_identity_corrupt(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  char path[HLS_PATH_MAX];
  file_path(fx->node, "secret.key", path);
  char *orig = read_text(path);
  char *text = calloc(1, strlen(orig) + 16); /* room for trailing garbage */
  assert_non_null(text);
  strcpy(text, orig);
  char *line = key_line(text);
  assert_int_equal(strcspn(line, "\n"), 88); /* 64 bytes of base64 */

  /* One character of the public half changed: still base64, wrong key. */
  line[60] = line[60] == 'A' ? 'B' : 'A';
  expect_identity_refused(fx->node, path, text, HLS_EINVAL, "public half does not match");
  /* One character of the seed changed. */
  strcpy(text, orig);
  line = key_line(text);
  line[3] = line[3] == 'z' ? 'y' : 'z';
  expect_identity_refused(fx->node, path, text, HLS_EINVAL, "public half does not match");
  /* Truncated. */
  strcpy(text, orig);
  line = key_line(text);
  strcpy(line + 40, "\n");
  expect_identity_refused(fx->node, path, text, HLS_EINVAL, "malformed secret key");
  /* Trailing garbage. */
  strcpy(text, orig);
  line = key_line(text);
  strcpy(line + 88, "AAAA\n");
  expect_identity_refused(fx->node, path, text, HLS_EINVAL, "malformed");
  /* Not base64. */
  expect_identity_refused(fx->node, path, "# comment\n!!!!\n", HLS_EINVAL, "malformed secret key");
  /* Only comments, or empty. */
  expect_identity_refused(fx->node, path, "# nothing here\n", HLS_EINVAL, "no key found");
  expect_identity_refused(fx->node, path, "", HLS_EINVAL, "no key found");
  /* A network key is no identity. */
  uint8_t key[32] = {1};
  char b64[HLS_KEY32_TEXT_SIZE + 1];
  hls_key32_format(key, b64);
  strcat(b64, "\n");
  expect_identity_refused(fx->node, path, b64, HLS_EINVAL, "malformed secret key");

  /* The original still loads; a missing file is not found. */
  rewrite(path, orig);
  struct hls_identity id;
  ASSERT_OK(hls_home_load_identity(fx->node, &id, &why));
  assert_int_equal(unlink(path), 0);
  assert_int_equal(hls_home_load_identity(fx->node, &id, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "secret.key"));
  free(text);
  free(orig);
}

static void test_network_key_corrupt(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  char path[HLS_PATH_MAX];
  uint8_t key[32];
  file_path(fx->node, "network.key", path);
  rewrite(path, "# comment\nAAAA\n");
  assert_int_equal(hls_home_load_network_key(fx->node, key, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "malformed network key"));
  rewrite(path, "# comment only\n");
  assert_int_equal(hls_home_load_network_key(fx->node, key, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "no key found"));
  assert_int_equal(unlink(path), 0);
  assert_int_equal(hls_home_load_network_key(fx->node, key, &why), HLS_ENOTFOUND);
}

/* --- permissions --------------------------------------------------------- */

static void expect_perm_refused(const char *dir, const char *path, const char *fix) {
  struct hls_why why = {{0}};
  char want[HLS_PATH_MAX + 32];
  assert_int_equal(hls_home_check_permissions(dir, NULL, &why), HLS_EPERM);
  if (strstr(why.text, path) == NULL) fail_msg("\"%s\" does not name %s", why.text, path);
  snprintf(want, sizeof want, "chmod %s %s", fix, path);
  if (strstr(why.text, want) == NULL) fail_msg("\"%s\" lacks \"%s\"", why.text, want);
}

static void test_check_permissions(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));
  char secret[HLS_PATH_MAX], network[HLS_PATH_MAX];
  file_path(fx->node, "secret.key", secret);
  file_path(fx->node, "network.key", network);

  const int dir_modes[] = {0750, 0710, 0701, 0770, 0777, 0705};
  for (size_t i = 0; i < sizeof dir_modes / sizeof dir_modes[0]; i++) {
    assert_int_equal(chmod(fx->node, (mode_t)dir_modes[i]), 0);
    expect_perm_refused(fx->node, fx->node, "700");
  }
  assert_int_equal(chmod(fx->node, 0700), 0);

  const int file_modes[] = {0640, 0604, 0620, 0602, 0644, 0666, 0610};
  const char *files[] = {secret, network};
  for (int f = 0; f < 2; f++) {
    for (size_t i = 0; i < sizeof file_modes / sizeof file_modes[0]; i++) {
      assert_int_equal(chmod(files[f], (mode_t)file_modes[i]), 0);
      expect_perm_refused(fx->node, files[f], "600");
    }
    assert_int_equal(chmod(files[f], 0600), 0);
    ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));
  }
  /* Stricter modes are fine. */
  assert_int_equal(chmod(secret, 0400), 0);
  ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));
  assert_int_equal(chmod(secret, 0600), 0);
  /* Files of another user are refused (only root can make one here). */
  if (geteuid() == 0) {
    assert_int_equal(chown(secret, 4242, (gid_t)-1), 0);
    assert_int_equal(hls_home_check_permissions(fx->node, NULL, &why), HLS_EPERM);
    assert_non_null(strstr(why.text, secret));
    assert_non_null(strstr(why.text, "another user"));
    assert_int_equal(chown(secret, 0, (gid_t)-1), 0);
    ASSERT_OK(hls_home_check_permissions(fx->node, NULL, &why));
  }
  /* A missing key file is reported, not passed. */
  assert_int_equal(unlink(network), 0);
  assert_int_not_equal(hls_home_check_permissions(fx->node, NULL, &why), 0);
  assert_non_null(strstr(why.text, "network.key"));
}

/* control.group: the data directory may be readable and searchable by
 * that group (when the group owns it), never writable, and never open to
 * anyone else; the key files stay the owner's alone. */
static void test_check_permissions_control_group(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_home_init(fx->node, &default_params, &why));
  struct stat st;
  assert_int_equal(stat(fx->node, &st), 0);
  gid_t own = st.st_gid, other = st.st_gid + 1;
  const int allowed[] = {0710, 0750, 0740, 0700};
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    assert_int_equal(chmod(fx->node, (mode_t)allowed[i]), 0);
    if (hls_home_check_permissions(fx->node, &own, &why) != 0) fail_msg("mode %o refused: %s", allowed[i], why.text);
  }
  const int refused[] = {0730, 0770, 0711, 0701, 0715};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    assert_int_equal(chmod(fx->node, (mode_t)refused[i]), 0);
    assert_int_equal(hls_home_check_permissions(fx->node, &own, &why), HLS_EPERM);
    assert_non_null(strstr(why.text, "chmod 710"));
  }
  /* A group that does not own the directory gets nothing, and the fix
   * named is the directory's group. */
  assert_int_equal(chmod(fx->node, 0710), 0);
  assert_int_equal(hls_home_check_permissions(fx->node, &other, &why), HLS_EPERM);
  assert_non_null(strstr(why.text, "fix with: chgrp "));
  assert_non_null(strstr(why.text, "&& chmod 710"));
  /* Nor without control.group. */
  assert_int_equal(hls_home_check_permissions(fx->node, NULL, &why), HLS_EPERM);
  /* The key files are not loosened by it. */
  assert_int_equal(chmod(fx->node, 0710), 0);
  char secret[HLS_PATH_MAX];
  file_path(fx->node, "secret.key", secret);
  assert_int_equal(chmod(secret, 0640), 0);
  assert_int_equal(hls_home_check_permissions(fx->node, &own, &why), HLS_EPERM);
  assert_non_null(strstr(why.text, secret));
}

/* --- fingerprint --------------------------------------------------------- */

static void test_fingerprint(void **state) {
  (void)state;
  uint8_t a[32], b[32];
  char fa[17], fa2[17], fb[17];
  randombytes_buf(a, sizeof a);
  memcpy(b, a, sizeof b);
  b[31] ^= 0x80;
  memset(fa, 'x', sizeof fa);
  hls_network_fingerprint(a, fa);
  hls_network_fingerprint(a, fa2);
  hls_network_fingerprint(b, fb);
  assert_int_equal(strlen(fa), 16);
  for (int i = 0; i < 16; i++) assert_non_null(strchr("0123456789abcdef", fa[i]));
  assert_string_equal(fa, fa2);
  assert_string_not_equal(fa, fb);
  /* Not the key itself in hex: the fingerprint is safe to show. */
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, a, sizeof a);
  assert_null(strstr(hex, fa));
  /* Stable across calls for a fixed key. */
  uint8_t zero[32] = {0};
  char f1[17], f2[17];
  hls_network_fingerprint(zero, f1);
  hls_network_fingerprint(zero, f2);
  assert_string_equal(f1, f2);
  assert_string_not_equal(f1, fa);
  /* docs/protocol.md section 2's vector: network key 10 11 .. 2f */
  uint8_t k[32];
  for (int i = 0; i < 32; i++) k[i] = (uint8_t)(0x10 + i);
  hls_network_fingerprint(k, f1);
  assert_string_equal(f1, "9fe7d92c0cb96db5");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resolve_precedence),
      cmocka_unit_test(test_home_path),
      cmocka_unit_test_setup_teardown(test_resolve_client_system_node, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_in_place, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_creates_private_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotate_identity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_refuses_existing_node, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_existing_dirs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_validates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_join_stores_network_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_identity_signs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_identity_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_network_key_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_permissions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_permissions_control_group, setup, teardown),
      cmocka_unit_test(test_fingerprint),
  };
  return cmocka_run_group_tests_name("home", tests, NULL, NULL);
}
