#include "usage.h"

#include <string.h>

#include "config.h"
#include "err.h"
#include "man.h"

void hls_usage_getopt(const struct hls_usage *u, struct option *out) {
  size_t i = 0;
  for (; i < u->n_options; i++) {
    const struct hls_usage_option *o = &u->options[i];
    out[i] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->code};
  }
  out[i] = (struct option){NULL, 0, NULL, 0};
}

/* "--name ARG" */
static void option_tag(const struct hls_usage_option *o, char *out, size_t size) {
  snprintf(out, size, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void hls_usage_print_help(FILE *f, const struct hls_usage *u) {
  for (size_t i = 0; u->synopsis[i] != NULL; i++) fprintf(f, "%s hlsd %s\n", i == 0 ? "Usage:" : "      ", u->synopsis[i]);
  fprintf(f, "\n%s\n\n", u->description);
  for (size_t i = 0; i < u->n_options; i++) {
    const struct hls_usage_option *o = &u->options[i];
    char tag[64];
    if (o->hidden) continue;
    option_tag(o, tag, sizeof tag);
    fprintf(f, "  %-18s", tag);
    for (const char *p = o->help; *p;) {
      size_t n = strcspn(p, "\n");
      fprintf(f, "%s%.*s\n", p == o->help ? "  " : "                      ", (int)n, p);
      p += n + (p[n] == '\n');
    }
  }
  fprintf(f, "\n%s", u->epilogue);
}

int hls_usage_man_page(FILE *f, const struct hls_usage *u) {
  hls_man_begin(f, "hlsd", "8", "the learning node of a Human Learning Systems place");
  hls_man_section(f, "SYNOPSIS");
  for (size_t i = 0; u->synopsis[i] != NULL; i++) hls_man_synopsis(f, "hlsd", u->synopsis[i], 0);
  hls_man_section(f, "DESCRIPTION");
  hls_man_paragraph(f, u->description);
  hls_man_paragraph(f,
                    "hlsd is the node of a place (or of a national learning partner) in a learning network. It\n"
                    "keeps the place's learning records in a SQLite store in its data directory, publishes\n"
                    "signed, consented summaries of them in the place's own chain (weekly digests of counts,\n"
                    "and the stories a person approved), and gossips the chains of the network's places with\n"
                    "its peers over authenticated, encrypted TCP sessions, keyed by the network's key. From\n"
                    "the digests it holds it finds patterns across places. Admins drive it with hls(1),\n"
                    "through the control socket DIR/hlsd.sock.");
  hls_man_paragraph(f,
                    "Create a node first with hls init --place NAME --region REGION. hlsd refuses to start when\n"
                    "the data directory or a key file is open to other users, and on a store that would make\n"
                    "it sign its chain again (see --accept-new-store). operations.md, in the documentation of\n"
                    "hlsd, explains running it under systemd (hlsd.service), backups and restores.");
  hls_man_section(f, "OPTIONS");
  for (size_t i = 0; i < u->n_options; i++) {
    const struct hls_usage_option *o = &u->options[i];
    char tag[64];
    if (o->hidden) continue;
    option_tag(o, tag, sizeof tag);
    hls_man_item(f, tag, o->help);
  }
  hls_man_section(f, "SIGNALS");
  hls_man_bold_item(f, "SIGHUP",
                    "Read the configuration file again, with the command line's --set, --log-level and --listen\n"
                    "over it. Options marked reloadable in hlsd.conf(5) take effect at once; a file with an error\n"
                    "is refused and the running configuration kept.");
  hls_man_bold_item(f, "SIGINT, SIGTERM", "Stop cleanly.");
  hls_man_section(f, "EXIT STATUS");
  hls_man_item(f, "0", "Stopped cleanly; or --check found the store sound.");
  hls_man_item(f, "1", "Could not start, or stopped on an error (the reason is on stderr); or --check found damage.");
  hls_man_item(f, "2", "An unknown option or an unexpected argument.");
  hls_man_section(f, "ENVIRONMENT");
  hls_man_home_environment(f);
  hls_man_home_files(f);
  hls_man_section(f, "SEE ALSO");
  fputs(".BR hls (1),\n.BR hlsd.conf (5)\n", f);
  hls_man_paragraph(f, "operations.md, protocol.md and consent.md in the documentation of hlsd.");
  if (fflush(f) != 0 || ferror(f)) return HLS_EIO;
  return 0;
}

/* The choices of a configuration option, space-separated ("" if none). */
static void config_choices(const char *key, char *out, size_t size) {
  size_t n = 0;
  const struct hls_config_option *options = hls_config_options(&n);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    char full[96];
    snprintf(full, sizeof full, "%s.%s", options[i].section, options[i].name);
    if (strcmp(full, key) != 0 || options[i].choices == NULL) continue;
    for (size_t k = 0; options[i].choices[k] != NULL; k++) {
      size_t used = strlen(out);
      snprintf(out + used, size - used, "%s%s", k ? " " : "", options[i].choices[k]);
    }
  }
}

/* --set SECTION.NAME=VALUE: the options' names, then the choices of the
 * one named. Bash breaks the word at '=' (COMP_WORDBREAKS) unless told
 * not to: the reply replaces what follows it. */
static const char setting_function[] =
    "_hlsd_setting() {\n"
    "  if [[ $cur == *=* ]]; then\n"
    "    local prefix=\n"
    "    [[ $COMP_WORDBREAKS == *=* ]] || prefix=${cur%%=*}=\n"
    "    _hlsd_choices \"${cur%%=*}\"\n"
    "    COMPREPLY=($(compgen -P \"$prefix\" -W \"$_hlsd_words\" -- \"${cur#*=}\"))\n"
    "  else\n"
    "    COMPREPLY=($(compgen -S = -W \"$_hlsd_keys\" -- \"$cur\"))\n"
    "    compopt -o nospace\n"
    "  fi\n"
    "}\n\n";

int hls_usage_bash_completion(FILE *f, const struct hls_usage *u) {
  size_t n = 0;
  const struct hls_config_option *options = hls_config_options(&n);
  fputs("# bash completion for hlsd: written at build time by 'hlsd --bash-completion'\n"
        "# from hlsd's option table (daemon/main.c) and configuration table\n"
        "# (daemon/config.c); do not edit.\n\n_hlsd_flags='",
        f);
  for (size_t i = 0, first = 1; i < u->n_options; i++)
    if (!u->options[i].hidden) {
      fprintf(f, "%s--%s", first ? "" : " ", u->options[i].name);
      first = 0;
    }
  fputs("'\n_hlsd_keys='", f);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%s.%s", i ? " " : "", options[i].section, options[i].name);
  fputs("'\n\n# The configuration's options that take one of a set of values.\n_hlsd_choices() {\n  case $1 in\n", f);
  for (size_t i = 0; i < n; i++) {
    if (options[i].choices == NULL) continue;
    char key[96], choices[256];
    snprintf(key, sizeof key, "%s.%s", options[i].section, options[i].name);
    config_choices(key, choices, sizeof choices);
    fprintf(f, "  %s) _hlsd_words='%s' ;;\n", key, choices);
  }
  fputs("  *) _hlsd_words='' ;;\n  esac\n}\n\n", f);
  fputs(setting_function, f);
  fputs("_hlsd() {\n"
        "  local cur prev words cword split _hlsd_words\n"
        "  _init_completion -s -n : || return\n"
        "  case $prev in\n",
        f);
  for (size_t i = 0; i < u->n_options; i++) {
    const struct hls_usage_option *o = &u->options[i];
    if (o->arg == NULL) continue;
    fprintf(f, "  --%s)", o->name);
    switch (o->value) {
      case HLS_USAGE_TEXT: break;
      case HLS_USAGE_FILE: fputs(" _filedir", f); break;
      case HLS_USAGE_DIR: fputs(" _filedir -d", f); break;
      case HLS_USAGE_SETTING: fputs(" _hlsd_setting", f); break;
      case HLS_USAGE_CHOICE: {
        char choices[256];
        config_choices(o->config_key, choices, sizeof choices);
        fprintf(f, " COMPREPLY=($(compgen -W '%s' -- \"$cur\"))", choices);
        break;
      }
    }
    fputs(" ;;\n", f);
  }
  fputs("  *)\n"
        "    $split && return\n"
        "    [[ $cur == -* ]] && COMPREPLY=($(compgen -W \"$_hlsd_flags\" -- \"$cur\"))\n"
        "    ;;\n"
        "  esac\n"
        "} &&\n"
        "  complete -F _hlsd hlsd\n\n# ex: filetype=sh\n",
        f);
  if (fflush(f) != 0 || ferror(f)) return HLS_EIO;
  return 0;
}
