/* The import commands (docs/control.md): import.begin, import.rows,
 * import.commit, import.abort, import.list, import.undo, import.status;
 * and hls_api_client_gone, which drops a departed client's import. */
#include "api_handlers.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

/* --- import ----------------------------------------------------------------- */

/* An import in progress on one control connection. Its id is random, so
 * that the client can ask about it from another connection (import.status)
 * if it loses this one after sending import.commit. */
struct import_session {
  int64_t session;
  uint8_t id[HLS_IMPORT_ID_BYTES];
  int64_t batches;
  int64_t rows;       /* rows received in kept batches (staged + duplicates) */
  int64_t staged;     /* rows staged: the seq of the last */
  int64_t duplicates; /* rows skipped as duplicates */
  int64_t bad_rows;
  bool allow_duplicates;
  char source[HLS_IMPORT_SOURCE_MAX + 1];
  struct import_session *prev, *next; /* api->imports */
};

#define IMPORT_ID_HEX_SIZE (2 * HLS_IMPORT_ID_BYTES + 1)

static struct import_session *import_of(struct hls_control_call *call) {
  return hls_control_client_data(call->client);
}

static void import_end(struct hls_api *api, struct hls_control_client *client) {
  struct import_session *s = hls_control_client_data(client);
  if (s == NULL) return;
  hls_store_import_drop(api->env.store, s->session);
  if (s->prev) s->prev->next = s->next;
  else api->imports = s->next;
  if (s->next) s->next->prev = s->prev;
  free(s);
  hls_control_client_set_data(client, NULL);
}

static int pack_kv_import_id(msgpack_packer *pk, const uint8_t id[HLS_IMPORT_ID_BYTES]) {
  char hex[IMPORT_ID_HEX_SIZE];
  sodium_bin2hex(hex, sizeof hex, id, HLS_IMPORT_ID_BYTES);
  return hls_mp_pack_kv_str(pk, "import_id", hex);
}

void api_imports_free(struct hls_api *api) {
  while (api->imports != NULL) {
    struct import_session *s = api->imports;
    api->imports = s->next;
    free(s);
  }
}

void hls_api_client_gone(void *ctx, struct hls_control_client *client) {
  struct hls_api *api = ctx;
  struct import_session *s = hls_control_client_data(client);
  if (s != NULL) hls_log_info("import_abandoned", "session=%lld rows=%lld", (long long)s->session, (long long)s->rows);
  import_end(api, client);
  hls_patternsd_client_gone(api->env.patterns, client);
}

/* {source?, allow_duplicates?}: where the rows come from (a file name,
 * kept with the import), and whether rows that duplicate a record held
 * (or an earlier row) are imported anyway rather than skipped. */
int api_import_begin(struct hls_api *api, struct hls_control_call *call) {
  int krc = api_check_keeps_records(api, &call->why);
  if (krc != 0) return krc;
  const char *source = NULL;
  uint32_t source_len = 0;
  bool has_source = false, allow = false, has_allow = false;
  int rc = hls_mp_get_str(call->req->args, "source", &source, &source_len, &has_source, &call->why);
  if (rc == 0) rc = hls_mp_get_bool(call->req->args, "allow_duplicates", &allow, &has_allow, &call->why);
  if (rc != 0) return rc;
  if (has_source && (source_len > HLS_IMPORT_SOURCE_MAX ||
                     hls_text_check(source, source_len, HLS_IMPORT_SOURCE_MAX, false, "source", &call->why) != 0))
    return hls_why_set(&call->why, HLS_EINVAL, "source: one line of UTF-8 text, at most %d bytes",
                       HLS_IMPORT_SOURCE_MAX);
  import_end(api, call->client); /* one import per client: a new begin drops the old */
  struct import_session *s = calloc(1, sizeof *s);
  if (s == NULL) return HLS_ENOMEM;
  s->session = ++api->next_import_session;
  s->allow_duplicates = allow;
  if (has_source) {
    memcpy(s->source, source, source_len);
    s->source[source_len] = '\0';
  }
  randombytes_buf(s->id, sizeof s->id);
  s->next = api->imports;
  if (api->imports) api->imports->prev = s;
  api->imports = s;
  hls_control_client_set_data(call->client, s);
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_kv_i64(call->pk, "session", s->session));
  PACK(pack_kv_import_id(call->pk, s->id));
  return 0;
}

/* One row of a batch: {"line": N, "record": {...}}. */
static int import_row(struct hls_api *api, const struct hls_mp_value *row, int64_t *line, struct hls_record *r,
                      struct hls_why *why) {
  *line = 0;
  hls_record_init(r);
  bool has_line = false;
  int rc = hls_mp_get_i64(row, "line", line, &has_line, why);
  if (rc != 0) return rc;
  const struct hls_mp_value *fields = hls_mp_get(row, "record");
  if (fields == NULL) return hls_why_set(why, HLS_EINVAL, "row without a record");
  return api_record_from_map(api, fields, r, why);
}

int api_import_rows(struct hls_api *api, struct hls_control_call *call) {
  struct import_session *s = import_of(call);
  if (s == NULL) return hls_why_set(&call->why, HLS_ESTATE, "no import in progress (send import.begin first)");
  const struct hls_mp_value *rows = hls_mp_get(call->req->args, "rows");
  if (rows == NULL || rows->type != HLS_MP_ARRAY)
    return hls_why_set(&call->why, HLS_EINVAL, "rows: expected a list");
  if (s->rows + s->bad_rows + rows->len > HLS_IMPORT_MAX_ROWS)
    return hls_why_set(&call->why, HLS_ETOOBIG, "an import holds at most %d rows", HLS_IMPORT_MAX_ROWS);
  /* Check every row now, so errors come back while the client still knows
   * the line numbers (up to 100 reported per batch). Good rows are staged
   * while no row of the import has failed; a batch with a bad row is
   * dropped whole, and the import can then only be aborted. A row whose
   * content a record held (or an earlier row) has is a duplicate: it is
   * reported, every one, and not staged unless allow_duplicates. */
  msgpack_sbuffer errs, dups;
  msgpack_packer epk, dpk;
  msgpack_sbuffer_init(&errs);
  msgpack_packer_init(&epk, &errs, msgpack_sbuffer_write);
  msgpack_sbuffer_init(&dups);
  msgpack_packer_init(&dpk, &dups, msgpack_sbuffer_write);
  uint32_t bad = 0, reported = 0, duplicates = 0;
  int64_t staged = 0;
  int rc = hls_store_import_batch_begin(api->env.store, &call->why);
  for (uint32_t i = 0; i < rows->len && rc == 0; i++) {
    struct hls_record r;
    struct hls_why why = {{0}};
    int64_t line = 0, held_id = 0, of_line = 0;
    int row_rc = import_row(api, &rows->v.items[i], &line, &r, &why);
    if (row_rc == 0 && bad == 0 && s->bad_rows == 0) {
      int dup = s->allow_duplicates
                    ? 0
                    : hls_store_import_duplicate(api->env.store, s->session, &r, &held_id, &of_line, &call->why);
      if (dup < 0) {
        rc = dup;
      } else if (dup > 0) {
        duplicates++;
        if (msgpack_pack_map(&dpk, 2) != 0 || hls_mp_pack_kv_i64(&dpk, "line", line) != 0 ||
            (held_id > 0 ? hls_mp_pack_kv_i64(&dpk, "record_id", held_id) : hls_mp_pack_kv_i64(&dpk, "of_line", of_line)) != 0)
          rc = HLS_ENOMEM;
      } else {
        staged++;
        rc = hls_store_import_stage(api->env.store, s->session, s->staged + staged, line, &r, &call->why);
      }
    }
    hls_record_clear(&r);
    if (row_rc == HLS_ENOMEM) rc = row_rc;
    if (row_rc != 0 && reported < 100) {
      reported++;
      if (msgpack_pack_map(&epk, 2) != 0 || hls_mp_pack_kv_i64(&epk, "line", line) != 0 ||
          hls_mp_pack_kv_str(&epk, "message", why.text[0] ? why.text : hls_strerror(row_rc)) != 0)
        rc = HLS_ENOMEM;
    }
    if (row_rc != 0) bad++;
  }
  bool keep = rc == 0 && bad == 0 && s->bad_rows == 0;
  int end_rc = hls_store_import_batch_end(api->env.store, keep, rc == 0 ? &call->why : NULL);
  if (rc == 0) rc = end_rc;
  if (rc == 0) {
    if (keep) {
      s->rows += rows->len;
      s->staged += staged;
      s->duplicates += duplicates;
    }
    s->batches++;
    s->bad_rows += bad;
    msgpack_packer *pk = call->pk;
    if (msgpack_pack_map(pk, 4) != 0 || hls_mp_pack_kv_i64(pk, "accepted", rows->len - bad) != 0 ||
        hls_mp_pack_kv_i64(pk, "bad", bad) != 0 || hls_mp_pack_cstr(pk, "errors") != 0 ||
        msgpack_pack_array(pk, reported) != 0 ||
        (errs.size > 0 && msgpack_sbuffer_write(pk->data, errs.data, errs.size) != 0) ||
        hls_mp_pack_cstr(pk, "duplicates") != 0 || msgpack_pack_array(pk, keep ? duplicates : 0) != 0 ||
        (keep && dups.size > 0 && msgpack_sbuffer_write(pk->data, dups.data, dups.size) != 0))
      rc = HLS_ENOMEM;
  } else {
    /* A store failure mid-batch leaves the import unusable. */
    s->bad_rows += rows->len;
  }
  msgpack_sbuffer_destroy(&errs);
  msgpack_sbuffer_destroy(&dups);
  return rc;
}

/* A committed import as a map (import.commit, import.status, import.list). */
static int pack_import(msgpack_packer *pk, const struct hls_import_result *r, const char *state) {
  int fields = 9 + (state != NULL) + 2 * (r->undone_ms != 0);
  PACK(msgpack_pack_map(pk, (uint32_t)fields));
  PACK(pack_kv_import_id(pk, r->id));
  if (state != NULL) PACK(hls_mp_pack_kv_str(pk, "state", state));
  PACK(hls_mp_pack_kv_i64(pk, "imported", r->imported));
  PACK(hls_mp_pack_kv_i64(pk, "duplicates", r->duplicates));
  PACK(hls_mp_pack_kv_i64(pk, "first_id", r->first_id));
  PACK(hls_mp_pack_kv_i64(pk, "last_id", r->last_id));
  PACK(hls_mp_pack_kv_i64(pk, "held", r->held));
  PACK(api_pack_kv_time(pk, "committed_at", r->committed_ms));
  PACK(hls_mp_pack_cstr(pk, "source"));
  PACK(r->source[0] ? hls_mp_pack_cstr(pk, r->source) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_cstr(pk, "by"));
  PACK(r->by[0] ? hls_mp_pack_cstr(pk, r->by) : msgpack_pack_nil(pk));
  if (r->undone_ms != 0) {
    PACK(api_pack_kv_time(pk, "undone_at", r->undone_ms));
    PACK(hls_mp_pack_kv_str(pk, "undone_by", r->undone_by[0] ? r->undone_by : "?"));
  }
  return 0;
}

int api_import_commit(struct hls_api *api, struct hls_control_call *call) {
  struct import_session *s = import_of(call);
  if (s == NULL) return hls_why_set(&call->why, HLS_ESTATE, "no import in progress (send import.begin first)");
  int rc;
  if (s->bad_rows > 0) {
    rc = hls_why_set(&call->why, HLS_EINVAL, "%lld bad rows; nothing imported", (long long)s->bad_rows);
    import_end(api, call->client);
    return rc;
  }
  int64_t start = api_now_ms(api);
  struct hls_import_result result;
  uint8_t id[HLS_IMPORT_ID_BYTES];
  char hex[IMPORT_ID_HEX_SIZE];
  memcpy(id, s->id, sizeof id);
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  struct hls_import_meta meta = {.source = s->source[0] ? s->source : NULL,
                                 .by = call->user,
                                 .duplicates = s->duplicates,
                                 .allow_duplicates = s->allow_duplicates};
  rc = hls_store_import_commit(api->env.store, s->session, id, &meta, start, &result, &call->why);
  hls_log_info("import_committed", "session=%lld import_id=%s rows=%lld duplicates=%lld result=%s ms=%lld",
               (long long)s->session, hex, (long long)result.imported, (long long)s->duplicates, hls_err_name(rc),
               (long long)(api_now_ms(api) - start));
  import_end(api, call->client);
  if (rc != 0) return rc;
  api_changed_all(api, false);
  return pack_import(call->pk, &result, NULL);
}

static int import_list_one(void *ctx, const struct hls_import_result *imp) {
  struct list_ctx *l = ctx;
  l->count++;
  return pack_import(&l->pk, imp, NULL);
}

int api_import_list(struct hls_api *api, struct hls_control_call *call) {
  int64_t limit;
  int rc = hls_api_arg_limit(call->req->args, HLS_API_LIMIT_ALL, &limit, &call->why);
  if (rc != 0) return rc;
  struct list_ctx l;
  api_list_init(&l);
  rc = hls_store_imports(api->env.store, limit, import_list_one, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "imports");
}

/* The import_id argument: its 32 hex digits, or the first 8 or more (hls
 * import and import list show 12), in prefix, lower case. */
static int import_id_prefix(struct hls_control_call *call, char prefix[IMPORT_ID_HEX_SIZE]) {
  const char *text;
  uint32_t len;
  bool present = false;
  int rc = hls_mp_get_str(call->req->args, "import_id", &text, &len, &present, &call->why);
  if (rc != 0) return rc;
  bool hex = present && len >= 8 && len <= 2 * HLS_IMPORT_ID_BYTES;
  for (uint32_t i = 0; hex && i < len; i++) hex = isxdigit((unsigned char)text[i]) != 0;
  if (!hex)
    return hls_why_set(&call->why, HLS_EINVAL,
                       "import_id: its %d hex digits, or the first 8 or more (hls import list shows them)",
                       2 * HLS_IMPORT_ID_BYTES);
  for (uint32_t i = 0; i < len; i++) prefix[i] = (char)tolower((unsigned char)text[i]);
  prefix[len] = '\0';
  return 0;
}

/* {import_id} (32 hex digits, or a prefix of 8 or more): delete every
 * record of that import still held, as record.delete does (their
 * published stories erased, their weeks re-counted), in one transaction
 * that also marks the import undone. */
int api_import_undo(struct hls_api *api, struct hls_control_call *call) {
  char prefix[IMPORT_ID_HEX_SIZE];
  int rc = import_id_prefix(call, prefix);
  if (rc != 0) return rc;
  struct hls_import_result imp;
  if ((rc = hls_store_import_find_prefix(api->env.store, prefix, &imp, &call->why)) != 0) return rc;
  char hex[IMPORT_ID_HEX_SIZE];
  sodium_bin2hex(hex, sizeof hex, imp.id, sizeof imp.id);
  if (imp.undone_ms != 0)
    return hls_why_set(&call->why, HLS_ESTATE, "import %s was undone already (by %s)", hex,
                       imp.undone_by[0] ? imp.undone_by : "?");
  struct shared_date *shared = NULL;
  size_t n_shared = 0;
  int64_t deleted = 0, edited = 0;
  if (imp.imported > 0 && (shared = malloc((size_t)imp.imported * sizeof *shared)) == NULL)
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  int64_t start = api_now_ms(api);
  rc = hls_store_begin(api->env.store, &call->why);
  for (int64_t id = imp.first_id; rc == 0 && imp.imported > 0 && id <= imp.last_id; id++) {
    struct hls_record r;
    hls_record_init(&r);
    struct hls_why miss = {{0}};
    int get = hls_store_record_get(api->env.store, id, &r, &miss);
    if (get == HLS_ENOTFOUND) continue; /* deleted on its own since */
    if (get != 0) {
      rc = get;
      call->why = miss;
    }
    if (rc == 0) rc = hls_store_record_delete(api->env.store, id, &call->why);
    if (rc == 0) {
      deleted++;
      if (r.updated_ms > r.created_ms) edited++;
      if (r.consent > HLS_CONSENT_PRIVATE) shared[n_shared++] = (struct shared_date){r.date, r.consent >= HLS_CONSENT_PEERS};
    }
    hls_record_clear(&r);
  }
  if (rc == 0) rc = hls_store_import_mark_undone(api->env.store, imp.id, start, call->user, deleted, &call->why);
  if (rc == 0) rc = hls_store_commit(api->env.store, &call->why);
  if (rc != 0) {
    hls_store_rollback(api->env.store);
    free(shared);
    hls_why_prefix(&call->why, "nothing undone: ");
    return rc;
  }
  hls_log_info("import_undone", "import_id=%s deleted=%lld edited=%lld ms=%lld", hex, (long long)deleted,
               (long long)edited, (long long)(api_now_ms(api) - start));
  api_erased(api);
  for (size_t k = 0; k < n_shared; k++) api_changed(api, shared[k].date, shared[k].date, shared[k].story);
  free(shared);
  PACK(msgpack_pack_map(call->pk, 5));
  PACK(hls_mp_pack_kv_str(call->pk, "import_id", hex));
  PACK(hls_mp_pack_kv_i64(call->pk, "deleted", deleted));
  PACK(hls_mp_pack_kv_i64(call->pk, "edited", edited));
  PACK(hls_mp_pack_kv_i64(call->pk, "already_gone", imp.imported - deleted));
  PACK(hls_mp_pack_kv_i64(call->pk, "shared", (int64_t)n_shared));
  return 0;
}

/* Whether the import with an id went in: "committed" (with its result),
 * "open" (a connection still holds it staged: it may yet be committed or
 * dropped), or "not_committed" (nothing with that id was committed, and
 * nothing holds it open, so nothing ever will be). */
int api_import_status(struct hls_api *api, struct hls_control_call *call) {
  char prefix[IMPORT_ID_HEX_SIZE];
  int rc = import_id_prefix(call, prefix);
  if (rc != 0) return rc;
  size_t len = strlen(prefix);
  /* all 32 digits are a prefix of one id */
  struct hls_import_result result;
  rc = hls_store_import_find_prefix(api->env.store, prefix, &result, &call->why);
  if (rc != 0 && rc != HLS_ENOTFOUND) return rc;
  const struct import_session *open = NULL;
  for (const struct import_session *s = api->imports; rc == HLS_ENOTFOUND && s != NULL && open == NULL; s = s->next) {
    char h[IMPORT_ID_HEX_SIZE];
    sodium_bin2hex(h, sizeof h, s->id, sizeof s->id);
    if (strncmp(h, prefix, len) == 0) open = s;
  }
  msgpack_packer *pk = call->pk;
  if (rc == 0) {
    return pack_import(pk, &result, "committed");
  } else if (open != NULL) {
    PACK(msgpack_pack_map(pk, 3));
    PACK(pack_kv_import_id(pk, open->id));
    PACK(hls_mp_pack_kv_str(pk, "state", "open"));
    PACK(hls_mp_pack_kv_i64(pk, "staged", open->staged));
  } else {
    /* nothing committed or open starts so: nothing ever will be */
    PACK(msgpack_pack_map(pk, 2));
    PACK(hls_mp_pack_kv_str(pk, "import_id", prefix));
    PACK(hls_mp_pack_kv_str(pk, "state", "not_committed"));
  }
  return 0;
}

int api_import_abort(struct hls_api *api, struct hls_control_call *call) {
  bool had = import_of(call) != NULL;
  import_end(api, call->client);
  PACK(msgpack_pack_map(call->pk, 1));
  PACK(hls_mp_pack_kv_bool(call->pk, "aborted", had));
  return 0;
}
