#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
  int code;
  const char *name;
  const char *message;
};

static const struct err_row err_table[] = {
#define HLS_ERR_ROW_(sym, name, msg) {HLS_E##sym, name, msg},
    HLS_ERRNO_MAP(HLS_ERR_ROW_)
#undef HLS_ERR_ROW_
};

static const struct err_row *err_find(int code) {
  for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
    if (err_table[i].code == code) return &err_table[i];
  return NULL;
}

const char *hls_strerror(int code) {
  if (code == 0) return "success";
  const struct err_row *row = err_find(code);
  return row ? row->message : "unknown error";
}

const char *hls_err_name(int code) {
  if (code == 0) return "ok";
  const struct err_row *row = err_find(code);
  return row ? row->name : "internal_error";
}

int hls_err_from_name(const char *name) {
  if (name == NULL) return HLS_EINTERNAL;
  for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
    if (strcmp(err_table[i].name, name) == 0) return err_table[i].code;
  return HLS_EINTERNAL;
}

int hls_err_from_errno(int errnum) {
  switch (errnum) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
      return HLS_EDISKFULL;
    case ENOMEM: return HLS_ENOMEM;
    default: return HLS_EIO;
  }
}

bool hls_err_is_local(int code) {
  switch (code) {
    case HLS_ESTORE:
    case HLS_EDISKFULL:
    case HLS_ECORRUPT:
    case HLS_EIO:
    case HLS_ENOMEM:
    case HLS_EBUSY:
    case HLS_EINTERNAL: return true;
    default: return false;
  }
}

int hls_why_set(struct hls_why *why, int code, const char *fmt, ...) {
  if (why != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->text, sizeof why->text, fmt, ap);
    va_end(ap);
  }
  return code;
}

void hls_why_prefix(struct hls_why *why, const char *fmt, ...) {
  if (why == NULL) return;
  char prefix[128];
  char old[sizeof why->text];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, why->text, sizeof old);
  size_t p = strlen(prefix), o = strnlen(old, sizeof old - 1);
  if (p > sizeof why->text - 1) p = sizeof why->text - 1;
  if (p + o > sizeof why->text - 1) o = sizeof why->text - 1 - p;
  memcpy(why->text, prefix, p);
  memcpy(why->text + p, old, o);
  why->text[p + o] = '\0';
}
