/* Man pages, written as roff (man(7) macros) from the tables that also
 * make --help, so that the two cannot drift: hls(1) from hls's command
 * table (cli/manpage.c), hlsd(8) from hlsd's option table
 * (daemon/usage.c), hlsd.conf(5) from the configuration table (here).
 * The build runs the binaries' hidden --man flags and installs the
 * output; this module holds what the three pages share: escaping table
 * text for roff, usage lines in their fonts, help text as tagged
 * paragraphs, and the data directory's environment and files.
 *
 * We write roff ourselves: no library Debian ships takes a C table, and
 * roff read by groff/man-db (or mandoc) is what every system has. */
#ifndef HLS_MAN_H
#define HLS_MAN_H

#include <stdio.h>

/* .TH and the NAME section: "name \- summary". section is "1", "5", "8". */
void hls_man_begin(FILE *f, const char *name, const char *section, const char *summary);
/* .SH TITLE / .SS TITLE, the title escaped. */
void hls_man_section(FILE *f, const char *title);
void hls_man_subsection(FILE *f, const char *title);

/* Running text: roff's specials escaped (a backslash, '-' as \-, a '.' or
 * '\'' starting a line), each line of text one input line without its
 * leading blanks, so that roff fills them into one paragraph. */
void hls_man_text(FILE *f, const char *text);
/* .PP, then text. */
void hls_man_paragraph(FILE *f, const char *text);

/* A usage as the help prints it ("record add --title T [--theme NAME]...")
 * on one input line, whitespace collapsed: options (words starting with
 * '-') and literal values ("csv|json") bold, METAVARIABLES (a word whose
 * first letter is a capital) italic, brackets and the rest roman. The
 * first literal_words lowercase words are bold too (the command's name);
 * -1 makes every lowercase word bold (a tag such as "--format csv"). */
void hls_man_usage(FILE *f, const char *usage, int literal_words);
/* A synopsis line: .SY name, the usage, .YS. */
void hls_man_synopsis(FILE *f, const char *name, const char *usage, int literal_words);
/* A tagged paragraph (.TP): tag as a usage, then text. */
void hls_man_item(FILE *f, const char *tag, const char *text);
/* A tagged paragraph whose tag is a name in bold (a variable). */
void hls_man_bold_item(FILE *f, const char *tag, const char *text);

/* Help text laid out for a terminal, as the help printers of hls and hlsd
 * take it: lines "  TAG  text" (TAG an option, or a word in capitals)
 * whose text continues on lines indented deeper, and lines of prose.
 * Each TAG becomes a tagged paragraph, each run of prose a paragraph. */
void hls_man_help(FILE *f, const char *help);

/* The ENVIRONMENT entries of the data directory (HLS_HOME and what
 * stands in for it), as tagged paragraphs: callers add their own. */
void hls_man_home_environment(FILE *f);
/* The FILES section: the files of the data directory (daemon/home.h). */
void hls_man_home_files(FILE *f);

/* hlsd.conf(5), every option of the configuration table. Returns 0, or
 * HLS_EIO if f failed. */
int hls_man_config_page(FILE *f);

#endif
