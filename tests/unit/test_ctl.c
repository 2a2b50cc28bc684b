/* Unit tests for protocol/ctl.c: control-socket frames, requests and
 * replies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "ctl.h"
#include "hls_limits.h"
#include "mp_build.h"

/* --- helpers ------------------------------------------------------------- */

/* Decode a request map built from fmt (no frame header); *id gets the
 * id the decoder reported. */
static int request_fmt(uint64_t *id, struct hls_why *why, const char *fmt, ...) {
  struct mpb b;
  mpb_init(&b);
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&b.pk, fmt, ap);
  va_end(ap);
  struct hls_ctl_request req;
  int rc = hls_ctl_request_decode(&req, b.sb.data, b.sb.size, HLS_CTL_MAX_VALUES, why);
  if (rc != 0) assert_null(req.tree.storage); /* nothing left to free */
  *id = req.id;
  hls_ctl_request_free(&req);
  mpb_free(&b);
  return rc;
}

/* Check the frame header at sb[start..] against the bytes after it and
 * return the payload. */
static const uint8_t *frame_payload(const msgpack_sbuffer *sb, size_t start, size_t *len) {
  assert_true(sb->size >= start + HLS_CTL_HEADER);
  assert_int_equal(hls_ctl_frame_length((const uint8_t *)sb->data + start, HLS_CTL_FRAME_HARD_MAX, len), 0);
  return (const uint8_t *)sb->data + start + HLS_CTL_HEADER;
}

static void sb_init(msgpack_sbuffer *sb, msgpack_packer *pk) {
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
}

/* --- frame headers ------------------------------------------------------- */

static void test_frame_length(void **state) {
  (void)state;
  size_t len = 777;
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0, 0, 0, 0}, 100, &len), HLS_EMALFORMED);
  assert_int_equal(len, 777);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0, 0, 0, 5}, 4, &len), HLS_ETOOBIG);
  assert_int_equal(len, 777);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0, 0, 0, 5}, 5, &len), 0);
  assert_int_equal(len, 5);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0x01, 0x02, 0x03, 0x04}, SIZE_MAX, &len), 0);
  assert_int_equal(len, 0x01020304);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0x01, 0, 0, 0}, HLS_CTL_FRAME_HARD_MAX, &len), 0);
  assert_int_equal(len, HLS_CTL_FRAME_HARD_MAX);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0x01, 0, 0, 1}, HLS_CTL_FRAME_HARD_MAX, &len), HLS_ETOOBIG);
  assert_int_equal(hls_ctl_frame_length((const uint8_t[]){0xff, 0xff, 0xff, 0xff}, HLS_CTL_FRAME_HARD_MAX, &len),
                   HLS_ETOOBIG);
}

/* --- request decoding ---------------------------------------------------- */

static void test_request_happy_path(void **state) {
  (void)state;
  struct mpb b;
  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s u s s s M s s", 4, "v", 1ULL, "id", 7ULL, "cmd", "record.add", "args", 1, "title", "Cafe");
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  int rc = hls_ctl_request_decode(&req, b.sb.data, b.sb.size, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) fail_msg("%s (%s)", hls_err_name(rc), why.text);
  assert_true(req.id == 7);
  assert_string_equal(req.cmd, "record.add");
  assert_non_null(req.args);
  assert_int_equal(req.args->type, HLS_MP_MAP);
  assert_int_equal(req.args->len, 1);
  assert_true(hls_mp_str_eq(hls_mp_get(req.args, "title"), "Cafe"));
  hls_ctl_request_free(&req);
  hls_ctl_request_free(&req); /* twice is harmless */
  mpb_free(&b);
}

static void test_request_args_optional(void **state) {
  (void)state;
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  /* Absent, nil: an empty map. Key order does not matter. */
  for (int variant = 0; variant < 2; variant++) {
    struct mpb b;
    mpb_init(&b);
    if (variant == 0)
      mpb_pack(&b.pk, "M s s s u s u", 3, "cmd", "status", "id", (unsigned long long)UINT64_MAX, "v", 1ULL);
    else
      mpb_pack(&b.pk, "M s n s s s u s u", 4, "args", "cmd", "status", "id", 0ULL, "v", 1ULL);
    assert_int_equal(hls_ctl_request_decode(&req, b.sb.data, b.sb.size, 100, &why), 0);
    assert_true(req.id == (variant == 0 ? UINT64_MAX : 0));
    assert_string_equal(req.cmd, "status");
    assert_non_null(req.args);
    assert_int_equal(req.args->type, HLS_MP_MAP);
    assert_int_equal(req.args->len, 0);
    assert_null(hls_mp_get(req.args, "anything"));
    hls_ctl_request_free(&req);
    mpb_free(&b);
  }
}

static void test_request_refusals(void **state) {
  (void)state;
  uint64_t id = 0;
  struct hls_why why = {{0}};
  char cmd63[64], cmd64[65];
  memset(cmd63, 'c', 63);
  cmd63[63] = '\0';
  memset(cmd64, 'c', 64);
  cmd64[64] = '\0';

  /* Not a map. */
  assert_int_equal(request_fmt(&id, &why, "A u u", 2, 1ULL, 7ULL), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "not a map"));
  assert_true(id == 0);
  assert_int_equal(request_fmt(&id, &why, "s", "record.add"), HLS_EMALFORMED);

  /* No v, or v not an unsigned integer. The id is still reported. */
  assert_int_equal(request_fmt(&id, &why, "M s u s s", 2, "id", 7ULL, "cmd", "status"), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "\"v\""));
  assert_true(id == 7);
  assert_int_equal(request_fmt(&id, &why, "M s s s u s s", 3, "v", "1", "id", 7ULL, "cmd", "status"), HLS_EMALFORMED);
  assert_true(id == 7);
  assert_int_equal(request_fmt(&id, &why, "M s i s u s s", 3, "v", -1LL, "id", 7ULL, "cmd", "status"), HLS_EMALFORMED);

  /* Wrong version. */
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s", 3, "v", 2ULL, "id", 8ULL, "cmd", "status"),
                   HLS_EUNSUPPORTED);
  assert_non_null(strstr(why.text, "2"));
  assert_true(id == 8);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s", 3, "v", 0ULL, "id", 8ULL, "cmd", "status"),
                   HLS_EUNSUPPORTED);

  /* No id, or not a non-negative integer. */
  assert_int_equal(request_fmt(&id, &why, "M s u s s", 2, "v", 1ULL, "cmd", "status"), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "\"id\""));
  assert_true(id == 0);
  assert_int_equal(request_fmt(&id, &why, "M s u s i s s", 3, "v", 1ULL, "id", -3LL, "cmd", "status"), HLS_EMALFORMED);
  assert_int_equal(request_fmt(&id, &why, "M s u s s s s", 3, "v", 1ULL, "id", "3", "cmd", "status"), HLS_EMALFORMED);

  /* No cmd, cmd not a string, too long, with NUL. */
  assert_int_equal(request_fmt(&id, &why, "M s u s u", 2, "v", 1ULL, "id", 9ULL), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "\"cmd\""));
  assert_true(id == 9);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s u", 3, "v", 1ULL, "id", 9ULL, "cmd", 5ULL), HLS_EMALFORMED);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s", 3, "v", 1ULL, "id", 9ULL, "cmd", cmd63), 0);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s", 3, "v", 1ULL, "id", 9ULL, "cmd", cmd64), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "\"cmd\""));
  assert_true(id == 9);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s S", 3, "v", 1ULL, "id", 9ULL, "cmd", "st\0atus", (size_t)7),
                   HLS_EMALFORMED);

  /* args not a map. */
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s s A", 4, "v", 1ULL, "id", 10ULL, "cmd", "x", "args", 0),
                   HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "args"));
  assert_true(id == 10);
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s s s", 4, "v", 1ULL, "id", 10ULL, "cmd", "x", "args", "a=b"),
                   HLS_EMALFORMED);

  /* Unknown top-level key. */
  assert_int_equal(request_fmt(&id, &why, "M s u s u s s s t", 4, "v", 1ULL, "id", 11ULL, "cmd", "x", "force"),
                   HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "unknown key"));
  assert_true(id == 11);
}

static void test_request_garbage(void **state) {
  (void)state;
  struct hls_ctl_request req;
  static const struct {
    uint8_t bytes[8];
    size_t len;
  } garbage[] = {
      {{0xc1}, 1},                                  /* never-used byte */
      {{0x81, 0xa1, 'v'}, 3},                       /* truncated */
      {{0x80, 0x00}, 2},                            /* trailing */
      {{0x81, 0xa1, 0xff, 0x01}, 4},                /* bad UTF-8 key */
      {{0x82, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01}, 7}, /* duplicate key */
      {{0x81, 0x01, 0x01}, 3},                      /* non-string key */
      {{0xd4, 0x01, 0x00}, 3},                      /* ext */
      {{0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}, 6},    /* huge count */
  };
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
    struct hls_why why = {{0}};
    int rc = hls_ctl_request_decode(&req, garbage[i].bytes, garbage[i].len, HLS_CTL_MAX_VALUES, &why);
    if (rc != HLS_EMALFORMED) fail_msg("garbage %zu: %s", i, hls_err_name(rc));
    assert_non_null(strstr(why.text, "not valid msgpack"));
    assert_true(req.id == 0);
    assert_null(req.tree.storage);
    hls_ctl_request_free(&req);
  }
}

static void test_request_decode_detail_is_fresh(void **state) {
  (void)state;
  /* The detail must describe this input, not whatever the caller's why
   * held before (a reused struct, or one never initialised). */
  struct hls_ctl_request req;
  struct hls_why why;
  (void)hls_why_set(&why, HLS_EINVAL, "stale detail from an earlier call");
  assert_int_equal(hls_ctl_request_decode(&req, (const uint8_t[]){0xc1}, 1, 100, &why), HLS_EMALFORMED);
  assert_null(strstr(why.text, "stale"));
  assert_non_null(strstr(why.text, "not valid msgpack"));
  (void)hls_why_set(&why, HLS_EINVAL, "stale detail from an earlier call");
  assert_int_equal(hls_ctl_request_decode(&req, (const uint8_t[]){0x81, 0xa1, 'v'}, 3, 100, &why), HLS_EMALFORMED);
  assert_null(strstr(why.text, "stale"));
  hls_ctl_request_free(&req);
}

static void test_request_too_many_values(void **state) {
  (void)state;
  struct mpb b;
  mpb_init(&b);
  mpb_pack(&b.pk, "M s u s u s s s M s A u u u", 4, "v", 1ULL, "id", 12ULL, "cmd", "x", "args", 1, "list", 3, 1ULL,
           2ULL, 3ULL);
  /* 1 map + 4 keys + 3 scalars + args map + key + array + 3 items = 14. */
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  assert_int_equal(hls_ctl_request_decode(&req, b.sb.data, b.sb.size, 14, &why), 0);
  hls_ctl_request_free(&req);
  assert_int_equal(hls_ctl_request_decode(&req, b.sb.data, b.sb.size, 13, &why), HLS_ETOOBIG);
  assert_null(req.tree.storage);
  hls_ctl_request_free(&req);
  mpb_free(&b);
}

/* --- building frames ----------------------------------------------------- */

static void test_begin_request_round_trip(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sb_init(&sb, &pk);
  assert_int_equal(hls_ctl_begin_request(&pk, 123456789012ull, "record.list"), 0);
  mpb_pack(&pk, "M s u s s", 2, "limit", 50ULL, "theme", "housing");
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  size_t len = 0;
  const uint8_t *payload = frame_payload(&sb, 0, &len);
  assert_int_equal(len, sb.size - HLS_CTL_HEADER);
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  int rc = hls_ctl_request_decode(&req, payload, len, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) fail_msg("%s (%s)", hls_err_name(rc), why.text);
  assert_true(req.id == 123456789012ull);
  assert_string_equal(req.cmd, "record.list");
  int64_t limit = 0;
  assert_int_equal(hls_mp_get_i64(req.args, "limit", &limit, NULL, NULL), 0);
  assert_true(limit == 50);
  assert_true(hls_mp_str_eq(hls_mp_get(req.args, "theme"), "housing"));
  hls_ctl_request_free(&req);
  msgpack_sbuffer_destroy(&sb);
}

static void test_result_frame(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sb_init(&sb, &pk);
  assert_int_equal(hls_ctl_begin_result(&pk, 9), 0);
  mpb_pack(&pk, "A i s", 2, -4LL, "ok");
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  size_t len;
  const uint8_t *payload = frame_payload(&sb, 0, &len);
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  assert_int_equal(hls_ctl_response_decode(&resp, payload, len, 1000, &why), 0);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_true(resp.id == 9);
  assert_non_null(resp.result);
  assert_int_equal(resp.result->type, HLS_MP_ARRAY);
  assert_int_equal(resp.result->len, 2);
  assert_true(resp.result->v.items[0].v.i == -4);
  assert_true(hls_mp_str_eq(&resp.result->v.items[1], "ok"));
  hls_ctl_response_free(&resp);
  assert_null(resp.result);
  hls_ctl_response_free(&resp);
  msgpack_sbuffer_destroy(&sb);

  /* A nil result. */
  sb_init(&sb, &pk);
  assert_int_equal(hls_ctl_begin_result(&pk, 10), 0);
  mpb_pack(&pk, "n");
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  payload = frame_payload(&sb, 0, &len);
  assert_int_equal(hls_ctl_response_decode(&resp, payload, len, 1000, &why), 0);
  assert_int_equal(resp.kind, HLS_CTL_RESULT);
  assert_true(resp.id == 10);
  assert_non_null(resp.result);
  assert_int_equal(resp.result->type, HLS_MP_NIL);
  hls_ctl_response_free(&resp);
  msgpack_sbuffer_destroy(&sb);
}

static void test_event_frame(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sb_init(&sb, &pk);
  assert_int_equal(hls_ctl_begin_event(&pk, 3, "progress"), 0);
  mpb_pack(&pk, "M s u s u", 2, "done", 5ULL, "total", 10ULL);
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  size_t len;
  const uint8_t *payload = frame_payload(&sb, 0, &len);
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  assert_int_equal(hls_ctl_response_decode(&resp, payload, len, 1000, &why), 0);
  assert_int_equal(resp.kind, HLS_CTL_EVENT);
  assert_true(resp.id == 3);
  assert_string_equal(resp.event, "progress");
  assert_non_null(resp.result);
  int64_t done = 0;
  assert_int_equal(hls_mp_get_i64(resp.result, "done", &done, NULL, NULL), 0);
  assert_true(done == 5);
  hls_ctl_response_free(&resp);
  msgpack_sbuffer_destroy(&sb);
}

static void decode_error_frame(uint64_t id, int code, const char *message, struct hls_ctl_response *resp) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sb_init(&sb, &pk);
  assert_int_equal(hls_ctl_pack_error(&pk, id, code, message), 0);
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  size_t len;
  const uint8_t *payload = frame_payload(&sb, 0, &len);
  assert_int_equal(len, sb.size - HLS_CTL_HEADER);
  struct hls_why why = {{0}};
  int rc = hls_ctl_response_decode(resp, payload, len, 1000, &why);
  if (rc != 0) fail_msg("error reply did not decode: %s (%s)", hls_err_name(rc), why.text);
  assert_int_equal(resp->kind, HLS_CTL_ERROR);
  assert_true(resp->id == id);
  /* The strings were copied: the reply outlives the frame buffer. */
  msgpack_sbuffer_destroy(&sb);
}

static void test_error_frame(void **state) {
  (void)state;
  struct hls_ctl_response resp;
  decode_error_frame(11, HLS_ENOTFOUND, "record 5 not found", &resp);
  assert_int_equal(resp.error_code, HLS_ENOTFOUND);
  assert_string_equal(resp.error_name, "not_found");
  assert_string_equal(resp.error_message, "record 5 not found");
  hls_ctl_response_free(&resp);

  /* No message: the code's own. */
  decode_error_frame(12, HLS_EBUSY, NULL, &resp);
  assert_int_equal(resp.error_code, HLS_EBUSY);
  assert_string_equal(resp.error_message, hls_strerror(HLS_EBUSY));
  hls_ctl_response_free(&resp);
  decode_error_frame(13, HLS_EUNKNOWN_CMD, "", &resp);
  assert_string_equal(resp.error_name, "unknown_command");
  assert_string_equal(resp.error_message, hls_strerror(HLS_EUNKNOWN_CMD));
  hls_ctl_response_free(&resp);

  /* Every code survives the trip. */
  for (int code = HLS__EFIRST + 1; code < HLS__ELAST; code++) {
    decode_error_frame(1, code, "m", &resp);
    assert_int_equal(resp.error_code, code);
    assert_string_equal(resp.error_name, hls_err_name(code));
    hls_ctl_response_free(&resp);
  }
  /* A code we do not know goes out as internal_error. */
  decode_error_frame(14, 12345, "odd", &resp);
  assert_int_equal(resp.error_code, HLS_EINTERNAL);
  assert_string_equal(resp.error_name, "internal_error");
  hls_ctl_response_free(&resp);
}

static void test_error_message_sanitised(void **state) {
  (void)state;
  struct hls_ctl_response resp;
  /* Messages may quote bad input: invalid UTF-8 and controls. */
  decode_error_frame(20, HLS_EUTF8, "title: \"bad \xff\xfe byte\x01\x1b[31m\"", &resp);
  assert_int_equal(resp.error_code, HLS_EUTF8);
  assert_null(u8_check((const uint8_t *)resp.error_message, strlen(resp.error_message)));
  assert_memory_equal(resp.error_message, "title: \"bad ", 12);
  for (const char *p = resp.error_message; *p; p++) assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
  assert_non_null(strstr(resp.error_message, "byte"));
  hls_ctl_response_free(&resp);

  /* A long message of two-byte characters is cut, possibly mid-character,
   * and still decodes as valid UTF-8. */
  char long_msg[2001];
  for (int i = 0; i < 1000; i++) memcpy(long_msg + 2 * i, "\xc3\xa9", 2);
  long_msg[2000] = '\0';
  decode_error_frame(21, HLS_EINVAL, long_msg, &resp);
  size_t n = strlen(resp.error_message);
  assert_true(n > 400 && n < sizeof resp.error_message);
  assert_null(u8_check((const uint8_t *)resp.error_message, n));
  assert_memory_equal(resp.error_message, "\xc3\xa9\xc3\xa9", 4);
  hls_ctl_response_free(&resp);
}

static void test_frame_finish(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sb_init(&sb, &pk);
  /* Two frames in one buffer: the second starts where the first ends. */
  assert_int_equal(hls_ctl_begin_result(&pk, 1), 0);
  mpb_pack(&pk, "s", "first");
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_DEFAULT_MAX), 0);
  size_t second = sb.size;
  assert_int_equal(hls_ctl_begin_event(&pk, 2, "tick"), 0);
  mpb_pack(&pk, "s", "second");
  assert_int_equal(hls_ctl_frame_finish(&sb, second, HLS_CTL_FRAME_DEFAULT_MAX), 0);

  size_t len1, len2;
  const uint8_t *p1 = frame_payload(&sb, 0, &len1);
  assert_int_equal(HLS_CTL_HEADER + len1, second);
  const uint8_t *p2 = frame_payload(&sb, second, &len2);
  assert_int_equal(second + HLS_CTL_HEADER + len2, sb.size);
  struct hls_ctl_response resp;
  assert_int_equal(hls_ctl_response_decode(&resp, p1, len1, 100, NULL), 0);
  assert_true(hls_mp_str_eq(resp.result, "first"));
  hls_ctl_response_free(&resp);
  assert_int_equal(hls_ctl_response_decode(&resp, p2, len2, 100, NULL), 0);
  assert_int_equal(resp.kind, HLS_CTL_EVENT);
  assert_true(hls_mp_str_eq(resp.result, "second"));
  hls_ctl_response_free(&resp);

  /* Payload above max. */
  size_t third = sb.size;
  assert_int_equal(hls_ctl_begin_result(&pk, 3), 0);
  char big[300];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  mpb_pack(&pk, "s", big);
  size_t payload = sb.size - third - HLS_CTL_HEADER;
  assert_int_equal(hls_ctl_frame_finish(&sb, third, payload - 1), HLS_ETOOBIG);
  assert_int_equal(hls_ctl_frame_finish(&sb, third, payload), 0);
  size_t len3;
  (void)frame_payload(&sb, third, &len3);
  assert_int_equal(len3, payload);
  msgpack_sbuffer_destroy(&sb);
}

static void test_response_refusals(void **state) {
  (void)state;
  struct hls_ctl_response resp;
  struct hls_why why = {{0}};
  static const char *const fmts[] = {
      "A",                 /* not a map */
      "M s u",             /* no ok, no event */
      "M s u s s",         /* ok not a bool */
      "M s u s f",         /* error reply without error */
      "M s u s f s M s u", /* error code not a string */
      "M s u s i",         /* event name not a string */
  };
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
    struct mpb b;
    mpb_init(&b);
    switch (i) {
      case 0: mpb_pack(&b.pk, fmts[i], 0); break;
      case 1: mpb_pack(&b.pk, fmts[i], 1, "id", 1ULL); break;
      case 2: mpb_pack(&b.pk, fmts[i], 2, "id", 1ULL, "ok", "yes"); break;
      case 3: mpb_pack(&b.pk, fmts[i], 2, "id", 1ULL, "ok"); break;
      case 4: mpb_pack(&b.pk, fmts[i], 3, "id", 1ULL, "ok", "error", 1, "code", 5ULL); break;
      default: mpb_pack(&b.pk, fmts[i], 2, "id", 1ULL, "event", 5LL); break;
    }
    int rc = hls_ctl_response_decode(&resp, b.sb.data, b.sb.size, 100, &why);
    if (rc != HLS_EMALFORMED) fail_msg("case %zu: %s", i, hls_err_name(rc));
    assert_null(resp.tree.storage);
    assert_null(resp.result);
    hls_ctl_response_free(&resp);
    mpb_free(&b);
  }
  /* Bytes that are not msgpack at all. */
  assert_true(hls_ctl_response_decode(&resp, (const uint8_t[]){0xc1}, 1, 100, &why) < 0);
  assert_null(resp.tree.storage);
  hls_ctl_response_free(&resp);
  assert_int_equal(hls_ctl_response_decode(&resp, (const uint8_t[]){0x80, 0x80}, 2, 100, &why), HLS_ETRAILING);
  hls_ctl_response_free(&resp);
}

/* The byte-for-byte example in docs/control.md: hls status as the first
 * request of a connection. */
static void test_docs_status_vector(void **state) {
  (void)state;
  static const uint8_t expected[] = {0x00, 0x00, 0x00, 0x19, 0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64,
                                     0x01, 0xa3, 0x63, 0x6d, 0x64, 0xa6, 's',  't',  'a',  't',  'u',
                                     's',  0xa4, 'a',  'r',  'g',  's',  0xc0};
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  assert_int_equal(hls_ctl_begin_request(&pk, 1, "status"), 0);
  assert_int_equal(msgpack_pack_nil(&pk), 0);
  assert_int_equal(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX), 0);
  assert_int_equal(sb.size, sizeof expected);
  assert_memory_equal(sb.data, expected, sizeof expected);
  msgpack_sbuffer_destroy(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_length),
      cmocka_unit_test(test_request_happy_path),
      cmocka_unit_test(test_request_args_optional),
      cmocka_unit_test(test_request_refusals),
      cmocka_unit_test(test_request_garbage),
      cmocka_unit_test(test_request_decode_detail_is_fresh),
      cmocka_unit_test(test_request_too_many_values),
      cmocka_unit_test(test_begin_request_round_trip),
      cmocka_unit_test(test_result_frame),
      cmocka_unit_test(test_event_frame),
      cmocka_unit_test(test_error_frame),
      cmocka_unit_test(test_error_message_sanitised),
      cmocka_unit_test(test_frame_finish),
      cmocka_unit_test(test_response_refusals),
      cmocka_unit_test(test_docs_status_vector),
  };
  return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
