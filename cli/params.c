/* Options from the method table (params.h). */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* An argument hls takes from its command line: an option, or a positional word. */
static bool on_command_line(const struct hls_method_arg *a) { return a->metavar != NULL; }
static bool is_option(const struct hls_method_arg *a) { return on_command_line(a) && !(a->flags & HLS_AF_POS); }

static bool repeatable(const struct hls_method_arg *a) {
  return a->type == HLS_ARG_ENUMS || a->type == HLS_ARG_STRS;
}

const char *cli_params_option_name(const char *key, char *buf, size_t size) {
  snprintf(buf, size, "%s", key);
  for (char *q = buf; *q; q++)
    if (*q == '_') *q = '-';
  return buf;
}

void cli_opts_init_params(struct cli_opts *o, struct cli_params *p, enum hls_method_id method,
                          const struct option *own) {
  static char names[HLS_M__COUNT][CLI_PARAMS_MAX][32]; /* getopt keeps pointers to the names */
  memset(p, 0, sizeof *p);
  p->m = &hls_methods[method];
  struct option all[40];
  size_t n = 0;
  for (; own != NULL && own[n].name != NULL && n < 20; n++) all[n] = own[n];
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX && n + 1 < sizeof all / sizeof all[0]; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    if (!is_option(a)) continue;
    all[n++] = (struct option){cli_params_option_name(a->key, names[method][k], sizeof names[method][k]),
                               a->type == HLS_ARG_BOOL ? no_argument : required_argument, NULL,
                               CLI_OPT_PARAM + (int)k};
  }
  all[n] = (struct option){NULL, 0, NULL, 0};
  cli_opts_init(o, all);
}

int cli_params_take(struct cli *c, struct cli_params *p, int opt, const char *value) {
  if (opt < CLI_OPT_PARAM || opt >= CLI_OPT_PARAM + CLI_PARAMS_MAX) return 1;
  size_t k = (size_t)(opt - CLI_OPT_PARAM);
  const struct hls_method_arg *a = &p->m->args[k];
  char name[32];
  if (!repeatable(a)) p->n[k] = 0; /* the last one given counts, as getopt users expect */
  if (p->n[k] == HLS_METHOD_LIST_MAX)
    return cli_usage(c, "--%s: at most %d values", cli_params_option_name(a->key, name, sizeof name), HLS_METHOD_LIST_MAX);
  p->values[k][p->n[k]++] = a->type == HLS_ARG_BOOL ? "true" : value;
  return 0;
}

/* s is a whole number (INT) or a finite number (NUM): *i or *d, in
 * decimal (strtod would take 0x10 for 16, and inf or nan). */
static bool number_of(const struct hls_method_arg *a, const char *s, long long *i, double *d) {
  char *end = NULL;
  if (a->type != HLS_ARG_INT && s[strspn(s, "0123456789+-.eE")] != '\0') return false;
  errno = 0;
  if (a->type == HLS_ARG_INT) *i = strtoll(s, &end, 10);
  else *d = strtod(s, &end);
  return errno == 0 && end != s && *end == '\0' && (a->type == HLS_ARG_INT || isfinite(*d));
}

/* One value as hlsd takes it; HLS_EINVAL when it is not of its type. */
static int pack_value(msgpack_packer *pk, const struct hls_method_arg *a, const char *s) {
  long long i = 0;
  double d = 0;
  switch (a->type) {
    case HLS_ARG_BOOL: return msgpack_pack_true(pk);
    case HLS_ARG_INT: return number_of(a, s, &i, &d) ? msgpack_pack_int64(pk, i) : HLS_EINVAL;
    case HLS_ARG_NUM: return number_of(a, s, &i, &d) ? msgpack_pack_double(pk, d) : HLS_EINVAL;
    /* no date: "" or none (consent set --expires none takes one away) */
    case HLS_ARG_DATE: return s[0] == '\0' || strcmp(s, "none") == 0 ? msgpack_pack_nil(pk) : hls_mp_pack_cstr(pk, s);
    default: return hls_mp_pack_cstr(pk, s);
  }
}

static bool skipped(const char *key, const char *const *skip) {
  for (; skip != NULL && *skip != NULL; skip++)
    if (strcmp(*skip, key) == 0) return true;
  return false;
}

size_t cli_params_count(const struct cli_params *p, const char *const *skip) {
  size_t n = 0;
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) n += p->n[k] > 0 && !skipped(p->m->args[k].key, skip);
  return n;
}

int cli_params_pack(const struct cli_params *p, msgpack_packer *pk, const char *const *skip) {
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    if (p->n[k] == 0 || skipped(a->key, skip)) continue;
    if (hls_mp_pack_cstr(pk, a->key) != 0) return HLS_ENOMEM;
    if (repeatable(a) && p->n[k] > 1 && msgpack_pack_array(pk, p->n[k]) != 0) return HLS_ENOMEM;
    for (uint32_t i = 0; i < p->n[k]; i++) {
      int rc = pack_value(pk, a, p->values[k][i]);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int cli_params_check(struct cli *c, const struct cli_params *p) {
  char name[32];
  /* A value not of its type, named by its option. */
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    long long i;
    double d;
    if (p->n[k] == 0 || (a->type != HLS_ARG_INT && a->type != HLS_ARG_NUM) || number_of(a, p->values[k][0], &i, &d))
      continue;
    /* a whole number past what a number holds is one all the same */
    const char *v = p->values[k][0];
    const char *digits = v + (v[0] == '-' || v[0] == '+');
    if (a->type == HLS_ARG_INT && digits[0] != '\0' && digits[strspn(digits, "0123456789")] == '\0') {
      if (a->flags & HLS_AF_POS) return cli_usage(c, "%s: %.40s is too large", a->metavar, v);
      return cli_usage(c, "--%s: %.40s is too large", cli_params_option_name(a->key, name, sizeof name), v);
    }
    if (a->flags & HLS_AF_POS)
      return cli_usage(c, "%s takes %s, not '%.40s'", a->metavar, a->type == HLS_ARG_INT ? "a whole number" : "a number",
                       p->values[k][0]);
    return cli_usage(c, "--%s takes %s, not '%.40s'", cli_params_option_name(a->key, name, sizeof name),
                       a->type == HLS_ARG_INT ? "a whole number" : "a number", p->values[k][0]);
  }
  /* A text that is not UTF-8 cannot go on (the control socket's strings
   * are UTF-8): named by its option here, where the check below could
   * not name it. */
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    for (uint32_t j = 0; j < p->n[k]; j++) {
      const uint8_t *v = (const uint8_t *)p->values[k][j], *bad = u8_check(v, strlen(p->values[k][j]));
      if (bad == NULL) continue;
      if (a->flags & HLS_AF_POS) return cli_usage(c, "%s: invalid UTF-8 at byte %zu", a->metavar, (size_t)(bad - v));
      return cli_usage(c, "--%s: invalid UTF-8 at byte %zu", cli_params_option_name(a->key, name, sizeof name),
                       (size_t)(bad - v));
    }
  }
  /* Then the method table's check, as hlsd will make it. */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  int rc = msgpack_pack_map(&pk, cli_params_count(p, NULL)) == 0 ? cli_params_pack(p, &pk, NULL) : HLS_ENOMEM;
  if (rc == 0) rc = hls_mp_tree_decode(&tree, sb.data, sb.size, false, HLS_CTL_MAX_VALUES, &why);
  if (rc == 0) {
    /* Only what hls takes from its command line (the rest is the command's). */
    struct hls_method only = *p->m;
    struct hls_method_arg args[CLI_PARAMS_MAX];
    only.n_args = 0;
    for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++)
      if (on_command_line(&p->m->args[k])) args[only.n_args++] = p->m->args[k];
    only.args = args;
    rc = hls_method_check_args(&only, &tree.root, &why);
    hls_mp_tree_free(&tree);
  }
  msgpack_sbuffer_destroy(&sb);
  if (rc == HLS_ENOMEM) return cli_fail(c, rc, "out of memory");
  if (rc != 0) {
    /* "limit: must be 0 or more" -> "--limit: must be 0 or more" */
    const char *colon = strchr(why.text, ':');
    if (colon != NULL && (size_t)(colon - why.text) < sizeof name) {
      char key[32];
      snprintf(key, sizeof key, "%.*s", (int)(colon - why.text), why.text);
      const struct hls_method_arg *a = hls_method_arg(p->m, key);
      if (a != NULL && (a->flags & HLS_AF_POS)) return cli_usage(c, "%s%s", a->metavar, colon);
      return cli_usage(c, "--%s%s", cli_params_option_name(key, name, sizeof name), colon);
    }
    return cli_usage(c, "%s", why.text[0] ? why.text : hls_strerror(rc));
  }
  return 0;
}

static int index_of(const struct cli_params *p, const char *key) {
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++)
    if (strcmp(p->m->args[k].key, key) == 0) return (int)k;
  return -1;
}

const char *cli_params_str(const struct cli_params *p, const char *key) {
  int k = index_of(p, key);
  return k >= 0 && p->n[k] > 0 ? p->values[k][0] : NULL;
}

bool cli_params_has(const struct cli_params *p, const char *key) { return cli_params_str(p, key) != NULL; }

int64_t cli_params_int(const struct cli_params *p, const char *key, int64_t absent_value) {
  const char *s = cli_params_str(p, key);
  return s != NULL ? strtoll(s, NULL, 10) : absent_value;
}

int cli_params_positional(struct cli *c, struct cli_params *p, int argc, char **argv) {
  char want[128] = "";
  size_t n_pos = 0;
  for (size_t k = 0; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    if (!on_command_line(a) || !(a->flags & HLS_AF_POS)) continue;
    size_t used = strlen(want);
    snprintf(want + used, sizeof want - used, "%s%s", n_pos ? " and " : "", a->metavar);
    n_pos++;
  }
  if ((size_t)(argc - optind) != n_pos) {
    if (n_pos == 0) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    return cli_usage(c, "give %s%s", n_pos == 1 ? "one " : "", want);
  }
  for (size_t k = 0, i = (size_t)optind; k < p->m->n_args && k < CLI_PARAMS_MAX; k++) {
    const struct hls_method_arg *a = &p->m->args[k];
    if (!on_command_line(a) || !(a->flags & HLS_AF_POS)) continue;
    p->values[k][0] = argv[i++];
    p->n[k] = 1;
  }
  return 0;
}

int cli_params_parse(struct cli *c, int argc, char **argv, enum hls_method_id method, struct cli_params *p,
                     bool *done) {
  struct cli_opts o;
  int opt, ec, rc;
  *done = true;
  cli_opts_init_params(&o, p, method, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec; /* --help printed (0), or a usage error */
    if ((rc = cli_params_take(c, p, opt, optarg)) != 0) return rc == 1 ? cli_usage(c, "unknown option") : rc;
  }
  if ((rc = cli_params_positional(c, p, argc, argv)) != 0) return rc;
  if ((rc = cli_params_check(c, p)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  *done = false;
  return 0;
}

int cli_params_call(struct cli *c, int argc, char **argv, enum hls_method_id method, struct cli_params *p,
                    struct hls_ctl_response *resp, bool *done) {
  int rc = cli_params_parse(c, argc, argv, method, p, done);
  if (*done) return rc;
  *done = true;
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, method);
  msgpack_pack_map(&r.pk, cli_params_count(p, NULL));
  if (cli_params_pack(p, &r.pk, NULL) != 0) {
    hls_client_req_free(&r);
    return cli_fail(c, HLS_ENOMEM, "out of memory");
  }
  if ((rc = cli_call(c, &r, resp)) != 0) return rc;
  *done = false;
  return 0;
}
