#include "completion.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "patterns.h"
#include "record.h"

#define MAX_FLAGS 40
#define MAX_ARGS 8
#define MAX_TOKENS 96

enum value_kind { VALUE_NONE, VALUE_WORDS, VALUE_FILES, VALUE_DIRS };

/* What completes a flag's value or an argument. */
struct value {
  enum value_kind kind;
  char words[160]; /* VALUE_WORDS: the words, space-separated; VALUE_FILES: an extension, or "" */
};

struct flag {
  char name[40]; /* "--scale" */
  bool valued;   /* takes a value */
  struct value value;
};

/* One command's completion, read from its usage. */
struct spec {
  struct flag flags[MAX_FLAGS];
  size_t n_flags;
  struct value args[MAX_ARGS]; /* the arguments, by position */
  size_t n_args;
};

static const char *scale_name(int i) { return hls_scale_name((enum hls_scale)i); }
static const char *stage_name(int i) { return hls_stage_name((enum hls_stage)i); }
static const char *consent_name(int i) { return hls_consent_name((enum hls_consent)i); }
static const char *kind_name(int i) { return hls_kind_name((enum hls_kind)i); }

/* Values the parsers of protocol/ name, by the flag (or the argument's
 * name) that takes them. */
static const struct {
  const char *key;
  const char *(*name)(int);
  int first, end;
} named_values[] = {
    {"--scale", scale_name, 0, HLS_SCALE_COUNT},
    {"--stage", stage_name, 0, HLS_STAGE_COUNT},
    {"--consent", consent_name, 0, HLS_CONSENT_COUNT},
    {"LEVEL", consent_name, 0, HLS_CONSENT_COUNT}, /* consent set ID LEVEL */
    {"--kind", kind_name, 0, HLS_KIND_COUNT},
    {"--signal", hls_pat_signal_name, 0, HLS_PAT_SIGNAL_COUNT},
    {"--type", hls_env_type_name, HLS_ENV_PROFILE, HLS_ENV_TYPE_MAX + 1},
};

/* "csv|json": literal choices, lowercase words joined by '|'. */
static bool is_choice_list(const char *s) {
  if (strchr(s, '|') == NULL) return false;
  bool word_start = true;
  for (; *s; s++) {
    if (*s == '|') {
      if (word_start) return false;
      word_start = true;
    } else if (islower((unsigned char)*s) || (!word_start && (*s == '-' || isdigit((unsigned char)*s)))) {
      word_start = false;
    } else {
      return false;
    }
  }
  return !word_start;
}

/* The value of a flag (key "--scale", metavar "S") or of an argument
 * (key NULL, metavar "FILE"). */
static void value_of(const char *key, const char *metavar, struct value *v) {
  memset(v, 0, sizeof *v);
  if (is_choice_list(metavar)) {
    v->kind = VALUE_WORDS;
    snprintf(v->words, sizeof v->words, "%s", metavar);
    for (char *p = v->words; *p; p++)
      if (*p == '|') *p = ' ';
    return;
  }
  for (size_t i = 0; i < sizeof named_values / sizeof named_values[0]; i++) {
    if (strcmp(key ? key : metavar, named_values[i].key) != 0) continue;
    v->kind = VALUE_WORDS;
    for (int k = named_values[i].first; k < named_values[i].end; k++) {
      if (strcmp(named_values[i].name(k), "unknown") == 0) continue; /* a gap (a type reserved, not known) */
      size_t used = strlen(v->words);
      snprintf(v->words + used, sizeof v->words - used, "%s%s", used ? " " : "", named_values[i].name(k));
    }
    return;
  }
  const char *file = strstr(metavar, "FILE");
  if (file != NULL) {
    v->kind = VALUE_FILES;
    if (file[4] == '.') snprintf(v->words, sizeof v->words, "%s", file + 5); /* FILE.csv */
  } else if (strstr(metavar, "DIR") != NULL) {
    v->kind = VALUE_DIRS;
  }
}

static bool value_equal(const struct value *a, const struct value *b) {
  return a->kind == b->kind && strcmp(a->words, b->words) == 0;
}

/* A usage's whitespace-separated tokens, in place. */
static size_t tokenize(char *s, char *tokens[], size_t max) {
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(s, " \n", &save); tok != NULL && n < max; tok = strtok_r(NULL, " \n", &save))
    tokens[n++] = tok;
  return n;
}

/* A token without its brackets and ellipsis: "[--theme" -> "--theme",
 * "[KIND:]NAME]..." -> "KIND:]NAME", "ID..." -> "ID". */
static void token_core(const char *tok, char *out, size_t size) {
  while (*tok == '[') tok++;
  snprintf(out, size, "%s", tok);
  size_t n = strlen(out);
  for (;;) {
    if (n >= 3 && strcmp(out + n - 3, "...") == 0) n -= 3;
    else if (n >= 1 && out[n - 1] == ']') n--;
    else break;
    out[n] = '\0';
  }
}

/* Append sep and s to out: HLS_EINVAL if they do not fit. */
static int append(char *out, size_t size, const char *sep, const char *s) {
  size_t used = strlen(out), a = strlen(sep), b = strlen(s);
  if (used + a + b >= size) return HLS_EINVAL;
  memcpy(out + used, sep, a);
  memcpy(out + used + a, s, b + 1);
  return 0;
}

static int count_char(const char *s, char ch) {
  int n = 0;
  for (; *s; s++) n += *s == ch;
  return n;
}

static const struct cli_command *find_command(const struct cli_tables *t, const char *name) {
  for (size_t i = 0; i < t->n_commands; i++)
    if (strcmp(t->commands[i].name, name) == 0) return &t->commands[i];
  return NULL;
}

static int add_flag(struct spec *s, const struct flag *fl) {
  for (size_t i = 0; i < s->n_flags; i++)
    if (strcmp(s->flags[i].name, fl->name) == 0) return 0;
  if (s->n_flags == MAX_FLAGS) return HLS_EINVAL;
  s->flags[s->n_flags++] = *fl;
  return 0;
}

/* Read cmd's usage into s: its flags, and (unless flags_only) its
 * arguments, those of the first form before any '|'. A form that starts
 * with the command's first word is another command's ("chain | chain
 * accept-loss --yes"): reading stops there. */
static int read_usage(const struct cli_tables *t, const struct cli_command *cmd, struct spec *s, bool flags_only,
                      int nesting) {
  char buf[1024], *tok[MAX_TOKENS], core[128], first_word[32];
  snprintf(buf, sizeof buf, "%s", cmd->usage);
  snprintf(first_word, sizeof first_word, "%.*s", (int)strcspn(cmd->name, " "), cmd->name);
  size_t n = tokenize(buf, tok, MAX_TOKENS), name_words = (size_t)count_char(cmd->name, ' ') + 1;
  int depth = 0, rc;
  bool first_form = true;
  for (size_t i = name_words; i < n; i++) {
    int depth_before = depth;
    depth += count_char(tok[i], '[') - count_char(tok[i], ']');
    if (strcmp(tok[i], "|") == 0) {
      if (i + 1 < n && strcmp(tok[i + 1], first_word) == 0) break;
      if (depth_before == 0) first_form = false;
      continue;
    }
    token_core(tok[i], core, sizeof core);
    if (strcmp(core, "the") == 0 && i + 3 < n && strcmp(tok[i + 1], "flags") == 0 && strcmp(tok[i + 2], "of") == 0) {
      /* [the flags of record add] */
      char name[64] = "";
      size_t k = i + 3;
      for (; k < n; k++) {
        token_core(tok[k], core, sizeof core);
        if (append(name, sizeof name, name[0] ? " " : "", core) != 0) return HLS_EINVAL;
        if (strchr(tok[k], ']') != NULL) break;
      }
      const struct cli_command *other = find_command(t, name);
      if (other == NULL || nesting > 2) return HLS_EINVAL;
      if ((rc = read_usage(t, other, s, true, nesting + 1)) != 0) return rc;
      for (size_t j = i + 1; j <= k && j < n; j++) depth += count_char(tok[j], '[') - count_char(tok[j], ']');
      i = k;
      continue;
    }
    /* Words in brackets that name no flag ("[the filters of x]") would
     * leave flags out: refuse them, so the build says so. */
    if (tok[i][0] == '[' && islower((unsigned char)core[0])) return HLS_EINVAL;
    if (strncmp(core, "--", 2) == 0) {
      struct flag fl;
      memset(&fl, 0, sizeof fl);
      if (append(fl.name, sizeof fl.name, "", core) != 0) return HLS_EINVAL;
      /* "[--full]" closes its bracket; "[--limit N]" goes on to its value. */
      if (strchr(tok[i], ']') == NULL && i + 1 < n && strcmp(tok[i + 1], "|") != 0) {
        char metavar[128];
        token_core(tok[i + 1], metavar, sizeof metavar);
        if (metavar[0] != '-') {
          fl.valued = true;
          value_of(fl.name, metavar, &fl.value);
          i++;
          depth += count_char(tok[i], '[') - count_char(tok[i], ']');
        }
      }
      if ((rc = add_flag(s, &fl)) != 0) return rc;
      continue;
    }
    if (!flags_only && first_form && depth_before == 0 && tok[i][0] != '[') {
      if (s->n_args == MAX_ARGS) return HLS_EINVAL;
      value_of(NULL, core, &s->args[s->n_args++]);
    }
  }
  return 0;
}

/* The static part: find the command as hls does (global options, then
 * one word, or two when they make a command), then complete the flag,
 * the flag's value, the sub-command or the argument at the cursor. */
static const char completion_function[] =
    "_hls_valued_flag() {\n"
    "  [[ $_hls_valued == *\"|$2|\"* || $_hls_valued == *\"|$1 $2|\"* ]]\n"
    "}\n"
    "\n"
    "_hls() {\n"
    "  local cur prev words cword split\n"
    "  _init_completion -s -n : || return\n"
    "\n"
    "  local i w cmd= at=0 nargs=0 _hls_words\n"
    "  for ((i = 1; i < cword; i++)); do\n"
    "    w=${words[i]}\n"
    "    if [[ $w == -?* ]]; then\n"
    "      [[ $w != *=* ]] && _hls_valued_flag \"$cmd\" \"$w\" && ((i++))\n"
    "      continue\n"
    "    fi\n"
    "    if [[ -z $cmd ]]; then\n"
    "      cmd=$w at=$i\n"
    "    elif ((i == at + 1)) && [[ $_hls_names == *\"|$cmd $w|\"* ]]; then\n"
    "      cmd+=\" $w\"\n"
    "    else\n"
    "      ((nargs += 1))\n"
    "    fi\n"
    "  done\n"
    "\n"
    "  if [[ $prev == -?* ]] && _hls_valued_flag \"$cmd\" \"$prev\"; then\n"
    "    if [[ $_hls_valued == *\"|$prev|\"* ]]; then _hls_value \"$prev\"; else _hls_value \"$cmd $prev\"; fi\n"
    "    return\n"
    "  fi\n"
    "  $split && return\n"
    "\n"
    "  if [[ -z $cmd ]]; then\n"
    "    if [[ $cur == -* ]]; then\n"
    "      COMPREPLY=($(compgen -W \"$_hls_global_flags\" -- \"$cur\"))\n"
    "    else\n"
    "      COMPREPLY=($(compgen -W \"$_hls_commands help\" -- \"$cur\"))\n"
    "    fi\n"
    "    return\n"
    "  fi\n"
    "  if [[ $cmd == help ]]; then # hls help COMMAND [SUB-COMMAND]\n"
    "    if ((nargs == 0)); then\n"
    "      COMPREPLY=($(compgen -W \"$_hls_commands\" -- \"$cur\"))\n"
    "    elif ((nargs == 1)); then\n"
    "      _hls_subcommands \"${words[at + 1]}\"\n"
    "      COMPREPLY=($(compgen -W \"$_hls_words\" -- \"$cur\"))\n"
    "    fi\n"
    "    return\n"
    "  fi\n"
    "  if [[ $cur == -* ]]; then\n"
    "    _hls_flags \"$cmd\" && COMPREPLY=($(compgen -W \"$_hls_words $_hls_command_flags\" -- \"$cur\"))\n"
    "    return\n"
    "  fi\n"
    "  local subs=\n"
    "  if ((cword == at + 1)); then\n"
    "    _hls_subcommands \"$cmd\"\n"
    "    subs=$_hls_words\n"
    "    # A group alone (hls peer ...) takes only its sub-commands; a command\n"
    "    # that heads a group (hls import FILE | import list) takes both.\n"
    "    if [[ -n $subs && $_hls_names != *\"|$cmd|\"* ]]; then\n"
    "      COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
    "      return\n"
    "    fi\n"
    "  fi\n"
    "  _hls_value \"$cmd #$((nargs + 1))\"\n"
    "  [[ -n $subs ]] && COMPREPLY+=($(compgen -W \"$subs\" -- \"$cur\"))\n"
    "  return 0\n"
    "} &&\n"
    "  complete -F _hls hls\n";

/* Every (key, value) pair that completes something, for _hls_value. */
struct value_key {
  char key[80]; /* "record add --scale", "import #1", "--home" */
  struct value value;
};

#define MAX_VALUE_KEYS 512

static void write_value_function(FILE *f, const struct value_key *keys, size_t n) {
  fputs("# What completes a flag's value (\"COMMAND --flag\") or an argument\n"
        "# (\"COMMAND #N\").\n"
        "_hls_value() {\n"
        "  case $1 in\n",
        f);
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) seen = value_equal(&keys[j].value, &keys[i].value);
    if (seen) continue;
    fputs("  ", f);
    for (size_t j = i, first = 1; j < n; j++) {
      if (!value_equal(&keys[j].value, &keys[i].value)) continue;
      fprintf(f, "%s'%s'", first ? "" : "|", keys[j].key);
      first = 0;
    }
    const struct value *v = &keys[i].value;
    if (v->kind == VALUE_WORDS) fprintf(f, ") COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", v->words);
    else if (v->kind == VALUE_DIRS) fputs(") _filedir -d ;;\n", f);
    else fprintf(f, ") _filedir%s%s ;;\n", v->words[0] ? " " : "", v->words);
  }
  fputs("  esac\n}\n\n", f);
}

int cli_completion_write(FILE *f, const struct cli_tables *t) {
  static struct value_key keys[MAX_VALUE_KEYS]; /* too large for the stack of a small function */
  static struct spec spec;
  size_t n_keys = 0;
  int rc;

  fputs("# bash completion for hls: written at build time by 'hls --bash-completion'\n"
        "# from hls's command table (cli/main.c); do not edit.\n\n",
        f);
  /* Names, and the first word of each, in the table's order. */
  fputs("_hls_names='|", f);
  for (size_t i = 0; i < t->n_commands; i++) fprintf(f, "%s|", t->commands[i].name);
  fputs("'\n_hls_commands='", f);
  for (size_t i = 0; i < t->n_commands; i++) {
    size_t len = strcspn(t->commands[i].name, " ");
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strncmp(t->commands[j].name, t->commands[i].name, len) == 0 &&
             (t->commands[j].name[len] == ' ' || t->commands[j].name[len] == '\0');
    if (!seen) fprintf(f, "%s%.*s", i ? " " : "", (int)len, t->commands[i].name);
  }
  /* hls's own options; --help is taken everywhere but is no table row. */
  fputs("'\n_hls_global_flags='", f);
  for (size_t i = 0; i < t->n_options; i++) fprintf(f, "--%s ", t->options[i].name);
  fputs("--help'\n_hls_command_flags='", f);
  for (size_t i = 0; i < t->n_options; i++)
    if (t->options[i].after_command) fprintf(f, "--%s ", t->options[i].name);
  fputs("--help'\n\n", f);

  for (size_t i = 0; i < t->n_options; i++) {
    if (t->options[i].arg == NULL) continue;
    struct value_key *k = &keys[n_keys++];
    snprintf(k->key, sizeof k->key, "--%s", t->options[i].name);
    value_of(k->key, t->options[i].arg, &k->value);
  }

  fputs("# The sub-commands of each group.\n_hls_subcommands() {\n  case $1 in\n", f);
  for (size_t i = 0; i < t->n_commands; i++) {
    const char *name = t->commands[i].name, *space = strchr(name, ' ');
    if (space == NULL) continue;
    size_t len = (size_t)(space - name);
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) seen = strncmp(t->commands[j].name, name, len + 1) == 0;
    if (seen) continue;
    fprintf(f, "  %.*s) _hls_words='", (int)len, name);
    for (size_t j = i, first = 1; j < t->n_commands; j++)
      if (strncmp(t->commands[j].name, name, len + 1) == 0) {
        fprintf(f, "%s%s", first ? "" : " ", t->commands[j].name + len + 1);
        first = 0;
      }
    fputs("' ;;\n", f);
  }
  fputs("  *) _hls_words='' ;;\n  esac\n}\n\n", f);

  fputs("# The flags of each command (a command that is not one returns 1).\n_hls_flags() {\n  case $1 in\n", f);
  char valued[8192] = "|";
  for (size_t i = 0; i < t->n_options; i++)
    if (t->options[i].arg != NULL) {
      size_t used = strlen(valued);
      snprintf(valued + used, sizeof valued - used, "--%s|", t->options[i].name);
    }
  for (size_t i = 0; i < t->n_commands; i++) {
    const struct cli_command *cmd = &t->commands[i];
    memset(&spec, 0, sizeof spec);
    if ((rc = read_usage(t, cmd, &spec, false, 0)) != 0) {
      fprintf(stderr, "hls: the usage of '%s' names no flag it takes in brackets (\"[the flags of COMMAND]\" does)\n"
              "  or has more than %d flags: %s\n", cmd->name, MAX_FLAGS, cmd->usage);
      return rc;
    }
    fprintf(f, "  '%s') _hls_words='", cmd->name);
    for (size_t j = 0; j < spec.n_flags; j++) {
      const struct flag *fl = &spec.flags[j];
      fprintf(f, "%s%s", j ? " " : "", fl->name);
      if (!fl->valued) continue;
      size_t used = strlen(valued);
      if (snprintf(valued + used, sizeof valued - used, "%s %s|", cmd->name, fl->name) >= (int)(sizeof valued - used))
        return HLS_EINVAL;
      if (fl->value.kind == VALUE_NONE) continue;
      if (n_keys == MAX_VALUE_KEYS) return HLS_EINVAL;
      snprintf(keys[n_keys].key, sizeof keys[n_keys].key, "%s %s", cmd->name, fl->name);
      keys[n_keys++].value = fl->value;
    }
    fputs("' ;;\n", f);
    for (size_t j = 0; j < spec.n_args; j++) {
      if (spec.args[j].kind == VALUE_NONE) continue;
      if (n_keys == MAX_VALUE_KEYS) return HLS_EINVAL;
      snprintf(keys[n_keys].key, sizeof keys[n_keys].key, "%s #%zu", cmd->name, j + 1);
      keys[n_keys++].value = spec.args[j];
    }
  }
  fputs("  *) return 1 ;;\n  esac\n}\n\n", f);
  fprintf(f, "# The flags that take a value, as |COMMAND FLAG| (hls's own: |FLAG|).\n_hls_valued='%s'\n\n", valued);
  write_value_function(f, keys, n_keys);
  fputs(completion_function, f);
  fputs("\n# ex: filetype=sh\n", f);
  if (fflush(f) != 0 || ferror(f)) return HLS_EIO;
  return 0;
}
