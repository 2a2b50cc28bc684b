#include "manpage.h"

#include <ctype.h>
#include <string.h>

#include "err.h"
#include "man.h"

/* The exit codes of cli.h, as docs/cli.md explains them. */
static const struct {
  int code;
  const char *meaning;
} exit_codes[] = {
    {HLS_EXIT_OK, "Done."},
    {HLS_EXIT_FAIL, "Failed; the reason is on stderr."},
    {HLS_EXIT_USAGE, "Bad usage: an unknown command or option, or a missing argument."},
    {HLS_EXIT_NOT_RUNNING, "hlsd is not running for this data directory."},
    {HLS_EXIT_UNKNOWN,
     "The outcome is unknown: the connection to hlsd was lost after the change was sent, and hlsd\n"
     "could not be asked whether it was made (hls import: check with hls import --status; never just\n"
     "run it again)."},
};

static size_t count_words(const char *s) {
  size_t n = 1;
  for (; *s; s++) n += *s == ' ';
  return n;
}

static void write_synopsis(FILE *f, const struct cli_tables *t) {
  char usage[256] = "";
  for (size_t i = 0; i < t->n_options; i++) {
    const struct cli_global_option *o = &t->options[i];
    if (!o->after_command) continue;
    size_t used = strlen(usage);
    snprintf(usage + used, sizeof usage - used, "[--%s%s%s] ", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  }
  size_t used = strlen(usage);
  snprintf(usage + used, sizeof usage - used, "COMMAND [ARGS]");
  hls_man_section(f, "SYNOPSIS");
  hls_man_synopsis(f, "hls", usage, 0);
  hls_man_synopsis(f, "hls", "COMMAND --help", 0);
  hls_man_synopsis(f, "hls", "help [COMMAND]", 1);
  hls_man_synopsis(f, "hls", "--version", 0);
}

static void write_options(FILE *f, const struct cli_tables *t) {
  hls_man_section(f, "OPTIONS");
  hls_man_paragraph(f,
                    "These come before the command; those marked so may also follow it\n"
                    "(hls record list --json).");
  for (size_t i = 0; i < t->n_options; i++) {
    const struct cli_global_option *o = &t->options[i];
    char tag[64], text[256];
    snprintf(tag, sizeof tag, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    snprintf(text, sizeof text, "%c%s%s.", toupper((unsigned char)o->help[0]), o->help + 1,
             o->after_command ? "; also after the command" : "");
    hls_man_item(f, tag, text);
  }
  hls_man_item(f, "--help", "Print the commands (before a command), or explain the command it follows.");
}

static void write_commands(FILE *f, const struct cli_tables *t) {
  hls_man_section(f, "COMMANDS");
  hls_man_paragraph(f,
                    "Each command also takes --home, --json and --help (which explains it, as hls help COMMAND\n"
                    "does); hls GROUP --help lists the commands of a group (hls peer --help).");
  for (size_t i = 0; i < t->n_commands; i++) {
    const struct cli_command *cmd = &t->commands[i];
    char title[80], summary[512];
    snprintf(title, sizeof title, "hls %s", cmd->name);
    hls_man_subsection(f, title);
    hls_man_synopsis(f, "hls", cmd->usage, (int)count_words(cmd->name));
    const char *one_line = cli_command_summary(cmd);
    snprintf(summary, sizeof summary, "%c%s.", toupper((unsigned char)one_line[0]), one_line + 1);
    hls_man_paragraph(f, summary);
    char help[8192];
    cli_command_help(cmd, help, sizeof help);
    if (help[0]) hls_man_help(f, help);
  }
}

int cli_manpage_write(FILE *f, const struct cli_tables *t) {
  hls_man_begin(f, "hls", "1", "the admin CLI of hlsd, the learning node of a Human Learning Systems place");
  write_synopsis(f, t);
  hls_man_section(f, "DESCRIPTION");
  hls_man_paragraph(f,
                    "hls drives an hlsd(8) node through its control socket, DIR/hlsd.sock in the node's data\n"
                    "directory: it records what a place tried and learnt, gives and withdraws consent,\n"
                    "approves what the node shares, manages peers, and reads the stories and the patterns\n"
                    "across places that the node holds. hls init creates a node; most other commands need\n"
                    "hlsd running for that directory.");
  hls_man_paragraph(f,
                    "With --json, a command prints one JSON value on stdout (an object or an array, UTF-8).\n"
                    "Errors print one line, hls: REASON, on stderr; a mistyped command or option gets the\n"
                    "closest spelling. The full guide, with examples of every command's output, is cli.md in\n"
                    "the documentation of hlsd.");
  write_options(f, t);
  write_commands(f, t);
  hls_man_section(f, "EXIT STATUS");
  for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++) {
    char code[8];
    snprintf(code, sizeof code, "%d", exit_codes[i].code);
    hls_man_item(f, code, exit_codes[i].meaning);
  }
  hls_man_section(f, "ENVIRONMENT");
  hls_man_home_environment(f);
  hls_man_bold_item(f, "HLS_TIMEOUT_MS",
                    "How long hls waits for hlsd's reply, in milliseconds (default 600000; 0: without end).\n"
                    "Streams (feed follow) and the commit of an import wait as long as they take.");
  hls_man_bold_item(f, "VISUAL", "The editor of hls record edit on a terminal; else EDITOR, else editor.");
  hls_man_bold_item(f, "COLUMNS", "When set, the width the tables of hls patterns fit, instead of the terminal's.");
  hls_man_home_files(f);
  hls_man_section(f, "SEE ALSO");
  fputs(".BR hlsd (8),\n.BR hlsd.conf (5)\n", f);
  hls_man_paragraph(f, "cli.md, operations.md and control.md in the documentation of hlsd.");
  if (fflush(f) != 0 || ferror(f)) return HLS_EIO;
  return 0;
}
