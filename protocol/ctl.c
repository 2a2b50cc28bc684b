#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int hls_ctl_frame_length(const uint8_t header[HLS_CTL_HEADER], size_t max, size_t *len) {
  uint32_t n = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3];
  if (n == 0) return HLS_EMALFORMED;
  if (n > max) return HLS_ETOOBIG;
  *len = n;
  return 0;
}

static int copy_str(const struct hls_mp_value *v, char *out, size_t size) {
  if (v == NULL || v->type != HLS_MP_STR || v->len >= size || memchr(v->v.str, '\0', v->len) != NULL)
    return HLS_EINVAL;
  memcpy(out, v->v.str, v->len);
  out[v->len] = '\0';
  return 0;
}

static void read_id(const struct hls_mp_value *root, uint64_t *id) {
  const struct hls_mp_value *v = hls_mp_get(root, "id");
  if (v != NULL && v->type == HLS_MP_UINT) *id = v->v.u;
}

static const struct hls_mp_value empty_map = {.type = HLS_MP_MAP, .len = 0};

int hls_ctl_request_decode(struct hls_ctl_request *req, const void *payload, size_t len, size_t max_values,
                           struct hls_why *why) {
  memset(req, 0, sizeof *req);
  if (why != NULL) why->text[0] = '\0'; /* detail below must come from this decode */
  int rc = hls_mp_tree_decode(&req->tree, payload, len, false, max_values, why);
  if (rc != 0) {
    if (rc != HLS_ETOOBIG) {
      /* Keep the decoder's detail but report one code for garbage. */
      struct hls_why detail = {{0}};
      if (why) detail = *why;
      rc = hls_why_set(why, HLS_EMALFORMED, "request is not valid msgpack: %s",
                       detail.text[0] ? detail.text : hls_strerror(rc));
    }
    return rc;
  }
  const struct hls_mp_value *root = &req->tree.root;
  if (root->type != HLS_MP_MAP) {
    rc = hls_why_set(why, HLS_EMALFORMED, "request is not a map");
    goto fail;
  }
  read_id(root, &req->id);
  const struct hls_mp_value *v = hls_mp_get(root, "v");
  if (v == NULL || v->type != HLS_MP_UINT) {
    rc = hls_why_set(why, HLS_EMALFORMED, "request has no protocol version \"v\"");
    goto fail;
  }
  if (v->v.u != HLS_CTL_VERSION) {
    rc = hls_why_set(why, HLS_EUNSUPPORTED, "protocol version %llu not supported (this hlsd speaks %d)",
                     (unsigned long long)v->v.u, HLS_CTL_VERSION);
    goto fail;
  }
  const struct hls_mp_value *id = hls_mp_get(root, "id");
  if (id == NULL || id->type != HLS_MP_UINT) {
    rc = hls_why_set(why, HLS_EMALFORMED, "request has no numeric \"id\"");
    goto fail;
  }
  if (copy_str(hls_mp_get(root, "cmd"), req->cmd, sizeof req->cmd) != 0) {
    rc = hls_why_set(why, HLS_EMALFORMED, "request has no command name \"cmd\"");
    goto fail;
  }
  const struct hls_mp_value *args = hls_mp_get(root, "args");
  if (args == NULL || args->type == HLS_MP_NIL) {
    req->args = &empty_map;
  } else if (args->type == HLS_MP_MAP) {
    req->args = args;
  } else {
    rc = hls_why_set(why, HLS_EMALFORMED, "request \"args\" is not a map");
    goto fail;
  }
  for (uint32_t i = 0; i < root->len; i++) {
    const struct hls_mp_value *k = &root->v.kv[i].key;
    if (!hls_mp_str_eq(k, "v") && !hls_mp_str_eq(k, "id") && !hls_mp_str_eq(k, "cmd") && !hls_mp_str_eq(k, "args")) {
      rc = hls_why_set(why, HLS_EMALFORMED, "request has an unknown key");
      goto fail;
    }
  }
  return 0;
fail: {
  uint64_t keep_id = req->id;
  hls_ctl_request_free(req);
  req->id = keep_id;
  return rc;
}
}

void hls_ctl_request_free(struct hls_ctl_request *req) {
  if (req == NULL) return;
  hls_mp_tree_free(&req->tree);
  memset(req, 0, sizeof *req);
}

int hls_ctl_response_decode(struct hls_ctl_response *resp, const void *payload, size_t len, size_t max_values,
                            struct hls_why *why) {
  memset(resp, 0, sizeof *resp);
  int rc = hls_mp_tree_decode(&resp->tree, payload, len, false, max_values, why);
  if (rc != 0) return rc;
  const struct hls_mp_value *root = &resp->tree.root;
  rc = hls_why_set(why, HLS_EMALFORMED, "malformed reply from hlsd");
  if (root->type != HLS_MP_MAP) goto fail;
  read_id(root, &resp->id);
  const struct hls_mp_value *ok = hls_mp_get(root, "ok");
  const struct hls_mp_value *event = hls_mp_get(root, "event");
  if (event != NULL) {
    if (copy_str(event, resp->event, sizeof resp->event) != 0) goto fail;
    resp->kind = HLS_CTL_EVENT;
    resp->result = hls_mp_get(root, "data");
  } else if (ok != NULL && ok->type == HLS_MP_BOOL && ok->v.b) {
    resp->kind = HLS_CTL_RESULT;
    resp->result = hls_mp_get(root, "result");
  } else if (ok != NULL && ok->type == HLS_MP_BOOL) {
    const struct hls_mp_value *err = hls_mp_get(root, "error");
    resp->kind = HLS_CTL_ERROR;
    if (copy_str(hls_mp_get(err, "code"), resp->error_name, sizeof resp->error_name) != 0) goto fail;
    resp->error_code = hls_err_from_name(resp->error_name);
    const struct hls_mp_value *msg = hls_mp_get(err, "message");
    if (msg != NULL && msg->type == HLS_MP_STR) {
      size_t n = msg->len < sizeof resp->error_message - 1 ? msg->len : sizeof resp->error_message - 1;
      memcpy(resp->error_message, msg->v.str, n);
      resp->error_message[n] = '\0';
    }
  } else {
    goto fail;
  }
  return 0;
fail:
  hls_ctl_response_free(resp);
  return rc;
}

void hls_ctl_response_free(struct hls_ctl_response *resp) {
  if (resp == NULL) return;
  hls_mp_tree_free(&resp->tree);
  resp->tree.storage = NULL;
  resp->result = NULL;
  free(resp->payload);
  resp->payload = NULL;
}

static int reserve_header(msgpack_packer *pk) {
  static const char zero[HLS_CTL_HEADER] = {0};
  msgpack_sbuffer *sb = pk->data;
  return msgpack_sbuffer_write(sb, zero, sizeof zero) == 0 ? 0 : HLS_ENOMEM;
}

int hls_ctl_begin_request(msgpack_packer *pk, uint64_t id, const char *cmd) {
  int rc;
  if ((rc = reserve_header(pk)) != 0) return rc;
  if (msgpack_pack_map(pk, 4) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_i64(pk, "v", HLS_CTL_VERSION)) != 0) return rc;
  if ((rc = hls_mp_pack_cstr(pk, "id")) != 0 || msgpack_pack_uint64(pk, id) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_str(pk, "cmd", cmd)) != 0) return rc;
  return hls_mp_pack_cstr(pk, "args");
}

int hls_ctl_begin_result(msgpack_packer *pk, uint64_t id) {
  int rc;
  if ((rc = reserve_header(pk)) != 0) return rc;
  if (msgpack_pack_map(pk, 3) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_cstr(pk, "id")) != 0 || msgpack_pack_uint64(pk, id) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_bool(pk, "ok", true)) != 0) return rc;
  return hls_mp_pack_cstr(pk, "result");
}

int hls_ctl_begin_event(msgpack_packer *pk, uint64_t id, const char *event) {
  int rc;
  if ((rc = reserve_header(pk)) != 0) return rc;
  if (msgpack_pack_map(pk, 3) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_cstr(pk, "id")) != 0 || msgpack_pack_uint64(pk, id) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_str(pk, "event", event)) != 0) return rc;
  return hls_mp_pack_cstr(pk, "data");
}

int hls_ctl_pack_error(msgpack_packer *pk, uint64_t id, int code, const char *message) {
  int rc;
  if ((rc = reserve_header(pk)) != 0) return rc;
  if (msgpack_pack_map(pk, 3) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_cstr(pk, "id")) != 0 || msgpack_pack_uint64(pk, id) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_bool(pk, "ok", false)) != 0) return rc;
  if ((rc = hls_mp_pack_cstr(pk, "error")) != 0) return rc;
  if (msgpack_pack_map(pk, 2) != 0) return HLS_ENOMEM;
  if ((rc = hls_mp_pack_kv_str(pk, "code", hls_err_name(code))) != 0) return rc;
  /* Messages may quote input; never let that make the reply invalid. */
  char clean[512];
  snprintf(clean, sizeof clean, "%s", message && message[0] ? message : hls_strerror(code));
  hls_text_sanitize(clean);
  return hls_mp_pack_kv_str(pk, "message", clean);
}

int hls_ctl_frame_finish(msgpack_sbuffer *sb, size_t frame_start, size_t max) {
  size_t payload = sb->size - frame_start - HLS_CTL_HEADER;
  if (payload > max || payload > UINT32_MAX) return HLS_ETOOBIG;
  uint8_t *h = (uint8_t *)sb->data + frame_start;
  h[0] = (uint8_t)(payload >> 24);
  h[1] = (uint8_t)(payload >> 16);
  h[2] = (uint8_t)(payload >> 8);
  h[3] = (uint8_t)payload;
  return 0;
}
