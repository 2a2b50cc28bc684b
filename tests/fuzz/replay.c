/* Corpus replay for builds without libFuzzer: runs LLVMFuzzerTestOneInput
 * once over every file named on the command line and every regular file
 * in the directories named (recursively, in name order).
 *
 * Exit status: 0 when every input ran; 1 when a path could not be read or
 * no input was found (an empty corpus would pass without testing
 * anything). A crash or failed invariant aborts, as under libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

struct totals {
  size_t inputs;
  size_t failures;
};

static void run_file(const char *path, struct totals *t) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    t->failures++;
    return;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  while (buf != NULL) {
    len += fread(buf + len, 1, cap - len, f);
    if (len < cap) break;
    uint8_t *bigger = realloc(buf, cap * 2);
    if (bigger == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  int failed = buf == NULL || ferror(f);
  fclose(f);
  if (failed) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    t->failures++;
    return;
  }
  /* An exact-size copy, so the sanitizers see reads past the input. */
  uint8_t *input = malloc(len > 0 ? len : 1);
  if (input == NULL) {
    fprintf(stderr, "%s: out of memory\n", path);
    free(buf);
    t->failures++;
    return;
  }
  memcpy(input, buf, len);
  free(buf);
  printf("%s (%zu bytes)\n", path, len);
  fflush(stdout);
  (void)LLVMFuzzerTestOneInput(input, len);
  free(input);
  t->inputs++;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, struct totals *t);

static void run_dir(const char *path, struct totals *t) {
  DIR *d = opendir(path);
  if (d == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    t->failures++;
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ., .. and hidden files */
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **more = realloc(names, cap * sizeof *names);
      if (more == NULL) break;
      names = more;
    }
    size_t size = strlen(path) + 1 + strlen(e->d_name) + 1;
    if ((names[n] = malloc(size)) == NULL) break;
    snprintf(names[n], size, "%s/%s", path, e->d_name);
    n++;
  }
  if (e != NULL) {
    fprintf(stderr, "%s: out of memory\n", path);
    t->failures++;
  }
  closedir(d);
  if (n > 0) qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    run_path(names[i], t);
    free(names[i]);
  }
  free(names);
}

static void run_path(const char *path, struct totals *t) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    t->failures++;
  } else if (S_ISDIR(st.st_mode)) {
    run_dir(path, t);
  } else {
    run_file(path, t);
  }
}

int main(int argc, char **argv) {
  struct totals t = {0, 0};
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) run_path(argv[i], &t);
  printf("%zu inputs replayed, %zu paths unreadable\n", t.inputs, t.failures);
  if (t.inputs == 0) fprintf(stderr, "no inputs found\n");
  return t.failures == 0 && t.inputs > 0 ? 0 : 1;
}
