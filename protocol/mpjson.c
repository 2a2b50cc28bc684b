/* msgpack values as JSON and back (mpjson.h). */
#include "mpjson.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hls_limits.h"

json_t *hls_mpjson_from_mp(const struct hls_mp_value *v) {
  if (v == NULL) return json_null();
  switch (v->type) {
    case HLS_MP_NIL: return json_null();
    case HLS_MP_BOOL: return json_boolean(v->v.b);
    case HLS_MP_UINT: return v->v.u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v->v.u) : json_real((double)v->v.u);
    case HLS_MP_INT: return json_integer((json_int_t)v->v.i);
    case HLS_MP_FLOAT: return json_real(v->v.f);
    case HLS_MP_STR: return json_stringn(v->v.str, v->len);
    case HLS_MP_BIN: {
      size_t size = sodium_base64_ENCODED_LEN(v->len, sodium_base64_VARIANT_ORIGINAL);
      char *b64 = malloc(size);
      if (b64 == NULL) return NULL;
      sodium_bin2base64(b64, size, v->v.bin, v->len, sodium_base64_VARIANT_ORIGINAL);
      json_t *s = json_string(b64);
      free(b64);
      return s;
    }
    case HLS_MP_ARRAY: {
      json_t *a = json_array();
      for (uint32_t i = 0; a && i < v->len; i++) {
        json_t *item = hls_mpjson_from_mp(&v->v.items[i]);
        if (item == NULL || json_array_append_new(a, item) != 0) {
          json_decref(a);
          return NULL;
        }
      }
      return a;
    }
    case HLS_MP_MAP: {
      json_t *o = json_object();
      for (uint32_t i = 0; o && i < v->len; i++) {
        json_t *item = hls_mpjson_from_mp(&v->v.kv[i].val);
        const struct hls_mp_value *k = &v->v.kv[i].key;
        /* A key with a NUL byte has no JSON object key a reader keeps: no JSON. */
        if (item != NULL && (k->type != HLS_MP_STR || memchr(k->v.str, 0, k->len) != NULL)) {
          json_decref(item);
          item = NULL;
        }
        /* json_object_setn_new takes item even when it fails. */
        if (item == NULL || json_object_setn_new(o, k->v.str, k->len, item) != 0) {
          json_decref(o);
          return NULL;
        }
      }
      return o;
    }
    default: return json_null();
  }
}

int hls_mpjson_pack(msgpack_packer *pk, const json_t *j) {
  int rc = 0;
  switch (json_typeof(j)) {
    case JSON_NULL: return msgpack_pack_nil(pk) == 0 ? 0 : HLS_ENOMEM;
    case JSON_TRUE: return msgpack_pack_true(pk) == 0 ? 0 : HLS_ENOMEM;
    case JSON_FALSE: return msgpack_pack_false(pk) == 0 ? 0 : HLS_ENOMEM;
    case JSON_INTEGER: return msgpack_pack_int64(pk, json_integer_value(j)) == 0 ? 0 : HLS_ENOMEM;
    case JSON_REAL: return msgpack_pack_double(pk, json_real_value(j)) == 0 ? 0 : HLS_ENOMEM;
    case JSON_STRING: return hls_mp_pack_strn(pk, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
      size_t i;
      const json_t *item;
      if (msgpack_pack_array(pk, json_array_size(j)) != 0) return HLS_ENOMEM;
      json_array_foreach(j, i, item) if ((rc = hls_mpjson_pack(pk, item)) != 0) return rc;
      return 0;
    }
    case JSON_OBJECT: {
      const char *key;
      const json_t *val;
      if (msgpack_pack_map(pk, json_object_size(j)) != 0) return HLS_ENOMEM;
      json_object_foreach((json_t *)(uintptr_t)j, key, val) {
        if ((rc = hls_mp_pack_cstr(pk, key)) != 0 || (rc = hls_mpjson_pack(pk, val)) != 0) return rc;
      }
      return 0;
    }
  }
  return HLS_EINVAL;
}


int hls_mpjson_request(const char *cmd, const char *body, size_t len, size_t max_frame, msgpack_sbuffer *payload,
                       struct hls_ctl_request *req, struct hls_why *why) {
  memset(req, 0, sizeof *req);
  json_t *args;
  if (len == 0) {
    args = json_object();
    if (args == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  } else {
    json_error_t err;
    args = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (args == NULL) return hls_why_set(why, HLS_EMALFORMED, "the body is not JSON: %s (line %d)", err.text, err.line);
    if (!json_is_object(args)) {
      json_decref(args);
      return hls_why_set(why, HLS_EMALFORMED, "the body must be a JSON object (the method's arguments)");
    }
  }
  msgpack_packer pk;
  msgpack_packer_init(&pk, payload, msgpack_sbuffer_write);
  size_t start = payload->size;
  int rc = hls_ctl_begin_request(&pk, 1, cmd);
  if (rc == 0) rc = hls_mpjson_pack(&pk, args);
  json_decref(args);
  if (rc == 0) rc = hls_ctl_frame_finish(payload, start, max_frame);
  if (rc != 0) return hls_why_set(why, rc, rc == HLS_ETOOBIG ? "the request is too large" : "out of memory");
  return hls_ctl_request_decode(req, payload->data + start + HLS_CTL_HEADER, payload->size - start - HLS_CTL_HEADER,
                                HLS_CTL_MAX_VALUES, why);
}
