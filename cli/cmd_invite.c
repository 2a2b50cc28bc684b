/* hls invite create|list|revoke (docs/operations.md "Joining a network"). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "params.h"

int cmd_invite_create(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_INVITE_CREATE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char code[1024], expires[32], address[300];
    int64_t uses = hls_out_int(resp.result, "uses");
    hls_out_str(resp.result, "code", code, sizeof code);
    printf("Invite %lld: %s, until %s, to this node at %s.\n\n", (long long)hls_out_int(resp.result, "id"),
           uses == 1 ? "one place may join with it" : "several places may join with it",
           hls_out_str(resp.result, "expires_at", expires, sizeof expires),
           hls_out_str(resp.result, "address", address, sizeof address));
    printf("%s\n\n", code);
    printf("This code is a SECRET: it holds the network key. Give it only to the new place's admin,\n"
           "over a channel you trust (in person, an encrypted message), never by plain email.\n"
           "They join with:\n  hls init --join CODE --place NAME --region REGION\n"
           "and this node lists their node as a peer when it connects. hls invite list shows it.\n");
    sodium_memzero(code, sizeof code);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_invite_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_INVITE_LIST, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No invites yet. Create one with: hls invite create\n");
  } else {
    static const char *const headers[] = {"ID", "STATE", "USES", "EXPIRES", "NOTE", "REDEEMED BY"};
    struct hls_table *t = hls_table_new(6, headers);
    if (t) hls_table_set_right(t, 0);
    if (t) hls_table_set_shrink(t, 4, 12);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *r = &list->v.items[i];
      char id[24], state[16], uses[48], expires[32], note[256], by[128] = "-";
      snprintf(id, sizeof id, "%lld", (long long)hls_out_int(r, "id"));
      snprintf(uses, sizeof uses, "%lld/%lld", (long long)hls_out_int(r, "uses"), (long long)hls_out_int(r, "max_uses"));
      const struct hls_mp_value *red = hls_mp_get(r, "redeemed_by");
      if (red != NULL && red->type == HLS_MP_ARRAY && red->len > 0) {
        char first[80];
        hls_out_str(&red->v.items[0], "node_id", first, sizeof first);
        if (red->len == 1) snprintf(by, sizeof by, "%s", first);
        else snprintf(by, sizeof by, "%s and %u more", first, (unsigned)red->len - 1);
      }
      const char *row[] = {id, hls_out_str(r, "state", state, sizeof state), uses,
                           hls_out_str(r, "expires_at", expires, sizeof expires),
                           hls_out_str(r, "note", note, sizeof note)[0] ? note : "-", by};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_invite_revoke(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_INVITE_REVOKE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Revoked invite %lld: a place that presents it now is refused.\n", (long long)hls_out_int(resp.result, "id"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
