/* The web app's JSON decoders (protocol/mpjson.c, docs/web.md), fed what
 * a browser or script may send.
 *
 * The first byte picks a method of the table (its low 7 bits, modulo the
 * methods); the rest is a request body. It goes through
 * hls_mpjson_request as daemon/web.c sends it, then the method table's
 * argument check, as hlsd does before a handler runs. A body that decodes
 * must give a map of args that converts back to JSON (the reply path)
 * and, packed again, to the same msgpack bytes' meaning: the JSON of the
 * args and of the re-decoded args are equal.
 *
 * With the first byte's high bit set, the rest is a msgpack value taken as
 * a method's reply and converted to JSON as the web API does (binaries to
 * base64, any map keys, floats, deep nesting). */
#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "ctl.h"
#include "fuzz.h"
#include "hls_limits.h"
#include "methods.h"
#include "mp.h"
#include "mpjson.h"

static void reply_to_json(const uint8_t *data, size_t size) {
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  if (hls_mp_tree_decode(&tree, data, size, false, 100000, &why) != 0) return;
  json_t *j = hls_mpjson_from_mp(&tree.root);
  if (j != NULL) {
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    /* What the API sends must be JSON again (jansson refuses what it
     * cannot write, such as a NaN: then nothing is sent, an error is). */
    if (text != NULL) {
      json_error_t err;
      json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
      FUZZ_CHECK(back != NULL);
      json_decref(back);
    }
    free(text);
    json_decref(j);
  }
  hls_mp_tree_free(&tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 256 * 1024) return 0;
  if (data[0] & 0x80) {
    reply_to_json(data + 1, size - 1);
    return 0;
  }
  const struct hls_method *m = &hls_methods[(data[0] & 0x7f) % HLS_M__COUNT];
  msgpack_sbuffer payload;
  msgpack_sbuffer_init(&payload);
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  int rc = hls_mpjson_request(m->name, (const char *)data + 1, size - 1, 1024 * 1024, &payload, &req, &why);
  if (rc == 0) {
    FUZZ_CHECK(strcmp(req.cmd, m->name) == 0);
    FUZZ_CHECK(req.args != NULL && req.args->type == HLS_MP_MAP);
    struct hls_why check = {{0}};
    int crc = hls_method_check_args(m, req.args, &check);
    FUZZ_CHECK(crc == 0 || check.text[0] != '\0'); /* a refusal says why */
    /* Back to JSON, and through the decoder again: the same args. */
    json_t *j = hls_mpjson_from_mp(req.args);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
    if (text != NULL) {
      msgpack_sbuffer again;
      msgpack_sbuffer_init(&again);
      struct hls_ctl_request req2;
      struct hls_why why2 = {{0}};
      FUZZ_CHECK(hls_mpjson_request(m->name, text, strlen(text), 1024 * 1024, &again, &req2, &why2) == 0);
      json_t *j2 = hls_mpjson_from_mp(req2.args);
      FUZZ_CHECK(j2 != NULL && json_equal(j, j2));
      json_decref(j2);
      hls_ctl_request_free(&req2);
      msgpack_sbuffer_destroy(&again);
    }
    free(text);
    json_decref(j);
    hls_ctl_request_free(&req);
  } else {
    FUZZ_CHECK(rc == HLS_EMALFORMED || rc == HLS_ETOOBIG || rc == HLS_ENOMEM || rc == HLS_EUTF8 ||
               rc == HLS_EINVAL);
    FUZZ_CHECK(why.text[0] != '\0');
  }
  msgpack_sbuffer_destroy(&payload);
  return 0;
}
