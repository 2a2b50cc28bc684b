/* Unit tests for daemon/man.c: roff escaping of table text, the fonts of
 * usage lines, help text as tagged paragraphs, and hlsd.conf(5). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "man.h"

/* What fn writes, as a string the caller frees. */
struct capture {
  FILE *f;
  char *text;
  size_t len;
};

static void capture_begin(struct capture *c) {
  c->text = NULL;
  c->len = 0;
  c->f = open_memstream(&c->text, &c->len);
  assert_non_null(c->f);
}

static char *capture_end(struct capture *c) {
  assert_int_equal(fclose(c->f), 0);
  return c->text;
}

static void assert_text(const char *got, const char *want) {
  if (strcmp(got, want) != 0) fail_msg("got:\n%s\nwant:\n%s", got, want);
}

static void test_text_escapes_roff_specials(void **state) {
  (void)state;
  struct capture c;
  capture_begin(&c);
  hls_man_text(c.f,
               ". is no request\n'nor is this\nback\\slash - and ...\n    indented\n\n  \n"
               "names stay whole: --home, operations.md, consent_purpose, a/b, .hidden.");
  char *got = capture_end(&c);
  assert_text(got,
              "\\&. is no request\n"
              "\\&'nor is this\n"
              "back\\eslash \\- and ...\n"
              "indented\n"
              "names stay whole: \\%\\-\\-home, \\%operations.md, \\%consent_purpose, \\%a/b, \\%.hidden.\n");
  free(got);
}

static void test_usage_fonts(void **state) {
  (void)state;
  struct capture c;
  capture_begin(&c);
  /* The command's two words bold, flags bold, METAVARS italic, choices
   * bold, other lowercase words roman; blanks inside brackets and between
   * a flag and its value unpaddable, so lines break between options. */
  hls_man_usage(c.f, "record add --title T [--role place|partner]\n    [the flags of x] FILE|-", 2);
  char *got = capture_end(&c);
  assert_text(got,
              "\\fBrecord\\fR \\fBadd\\fR \\fB\\-\\-title\\fR\\ \\fIT\\fR "
              "[\\fB\\-\\-role\\fR\\ \\fBplace\\fR|\\fBpartner\\fR] "
              "[the\\ flags\\ of\\ x] \\fIFILE\\fR|\\fB\\-\\fR\n");
  free(got);
}

static void test_help_becomes_tagged_paragraphs(void **state) {
  (void)state;
  struct capture c;
  capture_begin(&c);
  hls_man_help(c.f,
               "  --scale S   person|organisation\n"
               "              or place\n"
               "  Prose, with two  blanks, is not a tag;\n"
               "  it goes on.\n"
               "  ID  the id\n"
               "  .hidden request\n");
  char *got = capture_end(&c);
  assert_text(got,
              ".TP\n\\fB\\-\\-scale\\fR\\ \\fIS\\fR\nperson|organisation\nor place\n"
              ".PP\nProse, with two  blanks, is not a tag;\nit goes on.\n"
              ".TP\n\\fIID\\fR\nthe id\n"
              ".PP\n\\%.hidden request\n");
  free(got);
}

static void test_config_page_lists_every_option(void **state) {
  (void)state;
  struct capture c;
  capture_begin(&c);
  assert_int_equal(hls_man_config_page(c.f), 0);
  char *page = capture_end(&c);
  size_t n = 0;
  const struct hls_config_option *options = hls_config_options(&n);
  assert_true(n > 0);
  for (size_t i = 0; i < n; i++) {
    char tag[128];
    snprintf(tag, sizeof tag, "\n.B \"%s.%s\"\n", options[i].section, options[i].name);
    if (strstr(page, tag) == NULL) fail_msg("no tagged paragraph for %s.%s", options[i].section, options[i].name);
  }
  /* An empty default says so, rather than "Default: ." */
  assert_non_null(strstr(page, "Default: empty."));
  assert_null(strstr(page, "Default: ."));
  /* Every line that starts a request is one of the macros we write. */
  static const char *const requests[] = {".\\\"", ".TH ", ".nh", ".SH ", ".SS ", ".PP", ".TP", ".B ", ".BR ",
                                         ".br", ".EX", ".EE", ".sp", NULL};
  for (const char *line = page; *line; line = strchr(line, '\n') + 1) {
    if (line[0] == '\'') fail_msg("a line starts with ': %.40s", line);
    if (line[0] != '.') continue;
    bool known = false;
    for (size_t k = 0; requests[k] && !known; k++) known = strncmp(line, requests[k], strlen(requests[k])) == 0;
    if (!known) fail_msg("unknown request: %.40s", line);
  }
  free(page);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_escapes_roff_specials),
      cmocka_unit_test(test_usage_fonts),
      cmocka_unit_test(test_help_becomes_tagged_paragraphs),
      cmocka_unit_test(test_config_page_lists_every_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
