#include "man.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "hls_version.h"

/* One character of table text in running text. '-' is written \- so that
 * options print as the ASCII hyphen-minus one can copy and paste (a bare
 * '-' may print as a typographic hyphen). */
static void put_char(FILE *f, char ch) {
  if (ch == '\\') fputs("\\e", f);
  else if (ch == '-') fputs("\\-", f);
  else fputc(ch, f);
}

/* A word that names something (an option, a file, a key: "--home",
 * "operations.md", "consent_purpose") is not hyphenated at a line's end. */
static bool is_name(const char *w, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (strchr("-_./", w[i]) != NULL && (isalnum((unsigned char)w[i + 1]) || w[i + 1] == '-')) return true;
  return false;
}

/* n bytes of s as one input line: leading blanks dropped (a line that
 * starts with a blank breaks the fill), a '.' or '\'' that would start a
 * request made plain with \&, names kept whole with \%. Nothing for a
 * blank line. */
static void put_line(FILE *f, const char *s, size_t n) {
  while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0) return;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || s[i - 1] == ' ') {
      size_t len = strcspn(s + i, " ");
      if (len > n - i) len = n - i;
      if (is_name(s + i, len)) fputs("\\%", f);
      else if (i == 0 && (*s == '.' || *s == '\'')) fputs("\\&", f);
    }
    put_char(f, s[i]);
  }
  fputc('\n', f);
}

/* A macro's argument, quoted. */
static void put_argument(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputs("\\(dq", f);
    else put_char(f, *s);
  }
  fputc('"', f);
}

void hls_man_begin(FILE *f, const char *name, const char *section, const char *summary) {
  char upper[64];
  size_t i = 0;
  for (; name[i] != '\0' && i + 1 < sizeof upper; i++) upper[i] = (char)toupper((unsigned char)name[i]);
  upper[i] = '\0';
  /* No date: the page is the same whenever it is built (reproducible). */
  fputs(".\\\" Generated at build time from the tables of hls and hlsd; do not edit.\n", f);
  fprintf(f, ".TH ");
  put_argument(f, upper);
  fprintf(f, " %s \"\" \"hlsd %s\" \"hlsd manual\"\n", section, HLS_VERSION);
  hls_man_section(f, "NAME");
  for (const char *p = name; *p; p++) put_char(f, *p);
  fputs(" \\- ", f);
  for (const char *p = summary; *p; p++) put_char(f, *p);
  fputc('\n', f);
}

void hls_man_section(FILE *f, const char *title) {
  fputs(".SH ", f);
  put_argument(f, title);
  fputc('\n', f);
}

void hls_man_subsection(FILE *f, const char *title) {
  fputs(".SS ", f);
  put_argument(f, title);
  fputc('\n', f);
}

void hls_man_text(FILE *f, const char *text) {
  while (*text) {
    size_t n = strcspn(text, "\n");
    put_line(f, text, n);
    text += n;
    if (*text == '\n') text++;
  }
}

void hls_man_paragraph(FILE *f, const char *text) {
  fputs(".PP\n", f);
  hls_man_text(f, text);
}

static bool is_word_char(char ch) {
  return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

/* The font of one word of a usage: 'B', 'I' or 'R'. */
static char word_font(const char *w, size_t n, bool literal, bool beside_bar) {
  if (w[0] == '-') return 'B';
  for (size_t i = 0; i < n; i++) {
    if (isupper((unsigned char)w[i])) return 'I';
    if (islower((unsigned char)w[i])) return literal || beside_bar ? 'B' : 'R';
  }
  return 'R';
}

void hls_man_usage(FILE *f, const char *usage, int literal_words) {
  char font = 'R';
  int words = 0, depth = 0;
  bool line_start = true, space = false, after_flag = false;
  const char *p = usage;
  while (*p == ' ' || *p == '\n') p++;
  while (*p) {
    if (*p == ' ' || *p == '\n' || *p == '\t') {
      space = true;
      p++;
      continue;
    }
    size_t n = 1;
    char want = 'R';
    if (is_word_char(*p)) {
      while (is_word_char(p[n])) n++;
      bool beside_bar = (p > usage && p[-1] == '|') || p[n] == '|';
      want = word_font(p, n, literal_words < 0 || words < literal_words, beside_bar);
      words++;
    }
    /* Lines break only between options: "[--limit N]" and "--title T"
     * stay whole (unpaddable spaces). */
    if (space && !line_start) {
      if (font != 'R') fputs("\\fR", f), font = 'R'; /* no underlined blanks */
      fputs(depth > 0 || (after_flag && strchr("-[|", *p) == NULL) ? "\\ " : " ", f);
    }
    space = false;
    after_flag = *p == '-' && n > 1;
    if (*p == '[') depth++;
    if (*p == ']' && depth > 0) depth--;
    if (want != font) {
      fprintf(f, "\\f%c", want);
      font = want;
    } else if (line_start && (*p == '.' || *p == '\'')) {
      fputs("\\&", f);
    }
    line_start = false;
    for (size_t i = 0; i < n; i++) put_char(f, p[i]);
    p += n;
  }
  if (font != 'R') fputs("\\fR", f);
  fputc('\n', f);
}

void hls_man_synopsis(FILE *f, const char *name, const char *usage, int literal_words) {
  fputs(".SY ", f);
  put_argument(f, name);
  fputc('\n', f);
  hls_man_usage(f, usage, literal_words);
  fputs(".YS\n", f);
}

void hls_man_item(FILE *f, const char *tag, const char *text) {
  fputs(".TP\n", f);
  hls_man_usage(f, tag, -1);
  hls_man_text(f, text);
}

/* A tag ("--scale S", "ID", "HOST:PORT") starting line s (after its
 * indent), followed by two blanks and its text: the tag's length, or 0 if
 * the line is prose. A tag is an option, or words in capitals. */
static size_t tag_length(const char *s, size_t n) {
  const char *gap = NULL;
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i] == ' ' && s[i + 1] == ' ') {
      gap = s + i;
      break;
    }
  if (gap == NULL || gap == s) return 0;
  size_t len = (size_t)(gap - s);
  if (s[0] == '-') return len;
  if (!isupper((unsigned char)s[0])) return 0;
  for (size_t i = 0; i < len; i++)
    if (islower((unsigned char)s[i])) return 0;
  return len;
}

void hls_man_help(FILE *f, const char *help) {
  size_t base = SIZE_MAX;
  for (const char *p = help; *p;) {
    size_t n = strcspn(p, "\n"), indent = strspn(p, " ");
    if (indent < n && indent < base) base = indent;
    p += n + (p[n] == '\n');
  }
  enum { NONE, ITEM, PROSE } in = NONE;
  for (const char *p = help; *p;) {
    size_t n = strcspn(p, "\n"), indent = strspn(p, " ");
    const char *line = p;
    p += n + (p[n] == '\n');
    if (indent >= n) {
      in = NONE; /* a blank line ends the paragraph */
      continue;
    }
    const char *rest = line + indent;
    size_t rest_n = n - indent;
    if (indent > base && in != NONE) {
      put_line(f, rest, rest_n);
      continue;
    }
    size_t tag = tag_length(rest, rest_n);
    if (tag > 0) {
      char buf[128];
      snprintf(buf, sizeof buf, "%.*s", (int)(tag < sizeof buf ? tag : sizeof buf - 1), rest);
      fputs(".TP\n", f);
      hls_man_usage(f, buf, -1);
      put_line(f, rest + tag, rest_n - tag);
      in = ITEM;
    } else {
      if (in != PROSE) fputs(".PP\n", f);
      put_line(f, rest, rest_n);
      in = PROSE;
    }
  }
}

void hls_man_bold_item(FILE *f, const char *tag, const char *text) {
  fputs(".TP\n.B ", f);
  put_argument(f, tag);
  fputc('\n', f);
  hls_man_text(f, text);
}

void hls_man_home_environment(FILE *f) {
  hls_man_bold_item(f, "HLS_HOME", "The data directory, when --home is not given.");
  hls_man_bold_item(f, "XDG_DATA_HOME",
            "Without --home or HLS_HOME, the data directory is $XDG_DATA_HOME/hlsd (when it is an absolute\n"
            "path), else ~/.local/share/hlsd in the home directory (HOME).");
}

/* The files of the data directory DIR, as daemon/home.h lists them. */
static const struct {
  const char *path, *what;
} home_files[] = {
    {"DIR/hlsd.conf", "The configuration (hlsd.conf(5)). hls init writes a documented one."},
    {"DIR/secret.key", "The node's Ed25519 secret key, mode 0600: whoever holds it can act as this node."},
    {"DIR/network.key", "The learning network's key, mode 0600: whoever holds it is a member."},
    {"DIR/hlsd.db", "The SQLite store, with DIR/hlsd.db-wal and DIR/hlsd.db-shm next to it."},
    {"DIR/chain.head",
     "The chain mark: the highest seq this node has ever signed, kept outside the store so that a\n"
     "store restored from a backup never signs a seq twice."},
    {"DIR/hlsd.sock", "The control socket hls talks to, mode 0600."},
    {"DIR/hlsd.lock", "Held while hlsd runs: one daemon per directory."},
};

void hls_man_home_files(FILE *f) {
  hls_man_section(f, "FILES");
  hls_man_paragraph(f,
                    "Everything a node has lives in its data directory, DIR (--home, else HLS_HOME, else\n"
                    "~/.local/share/hlsd), mode 0700. hlsd refuses to start if the directory or a key file gives\n"
                    "any access to group or others.");
  for (size_t i = 0; i < sizeof home_files / sizeof home_files[0]; i++)
    hls_man_item(f, home_files[i].path, home_files[i].what);
}

int hls_man_config_page(FILE *f) {
  size_t n = 0;
  const struct hls_config_option *options = hls_config_options(&n);
  hls_man_begin(f, "hlsd.conf", "5", "configuration file of hlsd, the learning node");
  hls_man_section(f, "SYNOPSIS");
  hls_man_usage(f, "DIR/hlsd.conf", -1);
  hls_man_section(f, "DESCRIPTION");
  hls_man_paragraph(f,
                    "hlsd(8) reads its configuration from DIR/hlsd.conf in its data directory, or from the file\n"
                    "given with --config. hls init writes a documented one: options that differ from their\n"
                    "default are set, every other is listed commented out with its help.");
  hls_man_paragraph(f,
                    "The file is INI: a line [section] starts a section, and name = value lines set its options.\n"
                    "Lines starting with # or ; are comments. Values need no quotes. An unknown option or a\n"
                    "value out of bounds is an error naming the line: hlsd does not start (on SIGHUP, it keeps\n"
                    "the configuration it runs with).");
  char size_units[64], duration_units[64], units[256];
  hls_config_units_text(HLS_CFG_SIZE, size_units, sizeof size_units);
  hls_config_units_text(HLS_CFG_DURATION, duration_units, sizeof duration_units);
  snprintf(units, sizeof units,
           "Sizes are a whole number of bytes, or with a unit: %s.\n"
           "Durations are a whole number of seconds, or with a unit: %s.",
           size_units, duration_units);
  hls_man_paragraph(f, units);
  hls_man_paragraph(f,
                    "hlsd reads the file again on SIGHUP (systemctl reload hlsd): options marked reloadable\n"
                    "take effect at once; a change to any other is logged (config_needs_restart) and waits\n"
                    "for a restart. On the command line, hlsd --set SECTION.NAME=VALUE overrides an option of\n"
                    "the file, and hlsd --help-config lists them all.");
  hls_man_section(f, "OPTIONS");
  const char *section = "";
  for (size_t i = 0; i < n; i++) {
    const struct hls_config_option *o = &options[i];
    char key[96], bounds[160], title[64];
    if (strcmp(section, o->section) != 0) {
      snprintf(title, sizeof title, "[%s]", o->section);
      hls_man_subsection(f, title);
      section = o->section;
    }
    snprintf(key, sizeof key, "%s.%s", o->section, o->name);
    fputs(".TP\n.B ", f);
    put_argument(f, key);
    fputc('\n', f);
    hls_man_text(f, o->help);
    hls_config_describe_bounds(o, bounds, sizeof bounds);
    fputs(".br\nAllowed: ", f);
    for (const char *p = bounds; *p; p++) put_char(f, *p);
    fputs(". Default: ", f);
    const char *dflt = o->default_text == NULL ? "none, required" : o->default_text[0] ? o->default_text : "empty";
    for (const char *p = dflt; *p; p++) put_char(f, *p);
    fputs(o->reloadable ? ". Reloadable.\n" : ". Needs a restart.\n", f);
  }
  hls_man_section(f, "EXAMPLES");
  fputs(".PP\n.EX\n", f);
  hls_man_text(f, "[node]\nplace = Gateshead Council\nregion = North East\n");
  fputs(".sp\n", f);
  hls_man_text(f, "[network]\nlisten = 0.0.0.0:7420\n");
  fputs(".EE\n", f);
  hls_man_section(f, "FILES");
  hls_man_item(f, "DIR/hlsd.conf", "This file, DIR being the node's data directory (hlsd(8) says which).");
  hls_man_section(f, "SEE ALSO");
  fputs(".BR hlsd (8),\n.BR hls (1)\n", f);
  if (fflush(f) != 0 || ferror(f)) return HLS_EIO;
  return 0;
}
