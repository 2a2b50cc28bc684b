/* The control-socket payload decoders, fed one frame payload (the bytes
 * after the 4-byte length header).
 *
 * A request is decoded as hlsd does; when it carries args.record, that map
 * goes through hls_record_apply + hls_record_validate as record.add does,
 * and an accepted record is packed into the reply hlsd would send, which
 * the client's decoder must accept and which must apply back to the same
 * record. A refused request or record gets the error reply hlsd would send
 * (daemon/control.c), which the client must decode with the same code.
 * The args then go through the method table's check (protocol/methods.c).
 * The same bytes are also decoded as a response, as hls does. */
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "ctl.h"
#include "fuzz.h"
#include "hls_limits.h"
#include "methods.h"
#include "record.h"

static bool same_text(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same_record(const struct hls_record *a, const struct hls_record *b) {
  FUZZ_CHECK(same_text(a->title, b->title));
  FUZZ_CHECK(a->scale == b->scale && a->stage == b->stage);
  FUZZ_CHECK(a->has_date == b->has_date && (!a->has_date || a->date == b->date));
  FUZZ_CHECK(same_text(a->context, b->context) && same_text(a->tried, b->tried));
  FUZZ_CHECK(same_text(a->happened, b->happened) && same_text(a->learnt, b->learnt));
  FUZZ_CHECK(same_text(a->author_role, b->author_role));
  FUZZ_CHECK(a->n_themes == b->n_themes);
  for (size_t i = 0; i < a->n_themes; i++) {
    FUZZ_CHECK(strcmp(a->themes[i].slug, b->themes[i].slug) == 0);
    FUZZ_CHECK(a->themes[i].kind == b->themes[i].kind);
  }
  FUZZ_CHECK(a->consent == b->consent);
  FUZZ_CHECK(same_text(a->consent_by, b->consent_by) && same_text(a->consent_purpose, b->consent_purpose));
  FUZZ_CHECK(a->has_consent_expires == b->has_consent_expires &&
             (!a->has_consent_expires || a->consent_expires == b->consent_expires));
}

/* The error reply hlsd sends for code; messages quote input, so this
 * checks that they always make a reply the client can read. */
static void check_error_reply(uint64_t id, int code, const char *message) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  FUZZ_CHECK(hls_ctl_pack_error(&pk, id, code, message) == 0);
  FUZZ_CHECK(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX) == 0);
  struct hls_why why = {{0}};
  struct hls_ctl_response resp;
  int rc = hls_ctl_response_decode(&resp, sb.data + HLS_CTL_HEADER, sb.size - HLS_CTL_HEADER, HLS_CTL_MAX_VALUES, &why);
  if (rc != 0) fprintf(stderr, "hlsd's error reply does not decode: %s\n", why.text);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(resp.kind == HLS_CTL_ERROR && resp.id == id && resp.error_code == code);
  FUZZ_CHECK(resp.error_message[0] != '\0');
  hls_ctl_response_free(&resp);
  msgpack_sbuffer_destroy(&sb);
}

/* What record.add does with args.record, then the reply round trip. */
static void record_add(uint64_t id, const struct hls_mp_value *fields) {
  struct hls_why why = {{0}};
  const struct hls_record_limits lim = {.max_text_bytes = HLS_TEXT_DEFAULT_MAX};
  struct hls_record r;
  hls_record_init(&r);
  int rc = hls_record_apply(&r, fields, &lim, &why);
  if (rc == 0) rc = hls_record_validate(&r, &why);
  FUZZ_CHECK(rc <= 0 && memchr(why.text, '\0', sizeof why.text) != NULL);
  if (rc != 0) check_error_reply(id, rc, why.text);
  if (rc == 0) {
    FUZZ_CHECK(r.n_themes <= HLS_THEMES_PER_RECORD);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    FUZZ_CHECK(hls_ctl_begin_result(&pk, id) == 0);
    FUZZ_CHECK(hls_record_pack(&pk, &r, true) == 0);
    FUZZ_CHECK(hls_ctl_frame_finish(&sb, 0, HLS_CTL_FRAME_HARD_MAX) == 0);

    size_t len = 0;
    FUZZ_CHECK(hls_ctl_frame_length((const uint8_t *)sb.data, HLS_CTL_FRAME_HARD_MAX, &len) == 0);
    FUZZ_CHECK(len == sb.size - HLS_CTL_HEADER);
    struct hls_ctl_response resp;
    rc = hls_ctl_response_decode(&resp, sb.data + HLS_CTL_HEADER, len, HLS_CTL_MAX_VALUES, &why);
    if (rc != 0) fprintf(stderr, "hlsd's own reply does not decode: %s\n", why.text);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(resp.kind == HLS_CTL_RESULT && resp.id == id);
    FUZZ_CHECK(resp.result != NULL && resp.result->type == HLS_MP_MAP);

    /* The reply's record is a valid field map for the same record. */
    struct hls_record again;
    hls_record_init(&again);
    rc = hls_record_apply(&again, resp.result, &lim, &why);
    if (rc == 0) rc = hls_record_validate(&again, &why);
    if (rc != 0) fprintf(stderr, "hlsd's reply does not apply back: %s\n", why.text);
    FUZZ_CHECK(rc == 0);
    check_same_record(&r, &again);
    hls_record_clear(&again);
    hls_ctl_response_free(&resp);
    msgpack_sbuffer_destroy(&sb);
  }
  hls_record_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hls_why why = {{0}};
  if (size >= HLS_CTL_HEADER) {
    size_t frame_len = 0;
    int rc = hls_ctl_frame_length(data, HLS_CTL_FRAME_DEFAULT_MAX, &frame_len);
    FUZZ_CHECK(rc == 0 ? frame_len > 0 && frame_len <= HLS_CTL_FRAME_DEFAULT_MAX
                       : rc == HLS_EMALFORMED || rc == HLS_ETOOBIG);
  }

  struct hls_ctl_request req;
  int rc = hls_ctl_request_decode(&req, data, size, HLS_CTL_MAX_VALUES, &why);
  FUZZ_CHECK(rc <= 0 && memchr(why.text, '\0', sizeof why.text) != NULL);
  if (rc == 0) {
    FUZZ_CHECK(memchr(req.cmd, '\0', sizeof req.cmd) != NULL);
    FUZZ_CHECK(req.args != NULL && req.args->type == HLS_MP_MAP);
    const struct hls_mp_value *fields = hls_mp_get(req.args, "record");
    if (fields != NULL) record_add(req.id, fields);
    /* The args pass hlsd's schema check of the method named, or of every
     * method when cmd names none: a code and a one-line reason naming a
     * key, never a crash or a read past the tree. */
    const struct hls_method *named = hls_method_find(req.cmd, strlen(req.cmd));
    for (size_t i = 0; i < HLS_M__COUNT; i++) {
      if (named != NULL && named != &hls_methods[i]) continue;
      struct hls_why arg_why = {{0}};
      int arc = hls_method_check_args(&hls_methods[i], req.args, &arg_why);
      FUZZ_CHECK(arc == 0 || arc == HLS_EINVAL || arc == HLS_ETOOBIG);
      FUZZ_CHECK(arc == 0 || (arg_why.text[0] != '\0' && strchr(arg_why.text, '\n') == NULL));
    }
    hls_ctl_request_free(&req);
  } else {
    FUZZ_CHECK(req.tree.storage == NULL); /* a failed decode owns nothing */
    check_error_reply(req.id, rc, why.text);
  }

  struct hls_ctl_response resp;
  rc = hls_ctl_response_decode(&resp, data, size, HLS_CTL_MAX_VALUES, &why);
  FUZZ_CHECK(rc <= 0);
  if (rc == 0) {
    FUZZ_CHECK(memchr(resp.event, '\0', sizeof resp.event) != NULL);
    FUZZ_CHECK(memchr(resp.error_name, '\0', sizeof resp.error_name) != NULL);
    FUZZ_CHECK(memchr(resp.error_message, '\0', sizeof resp.error_message) != NULL);
    if (resp.kind == HLS_CTL_ERROR) FUZZ_CHECK(resp.error_code < 0);
    hls_ctl_response_free(&resp);
  } else {
    FUZZ_CHECK(resp.tree.storage == NULL);
  }
  return 0;
}
