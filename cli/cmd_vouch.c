/* hls vouch NODE_ID [--role R] | vouch list, hls unvouch NODE_ID
 * (docs/cli.md, docs/protocol.md 4.6). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "params.h"

static int vouch_command(struct cli *c, int argc, char **argv, enum hls_method_id method) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  c->refused_is_failure = true; /* this node's own id; no profile held */
  int rc = cli_params_call(c, argc, argv, method, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else if (hls_out_bool(resp.result, "withdrawn")) {
    printf("Withdrew this node's vouch for %s (chain seq %lld).\n", cli_params_str(&p, "node_id"),
           (long long)hls_out_int(resp.result, "chain_seq"));
  } else {
    char place[HLS_PLACE_MAX + 1], region[HLS_REGION_MAX + 1], role[16];
    printf("Vouched for %s: %s (%s), role %s (chain seq %lld).\n", cli_params_str(&p, "node_id"),
           hls_out_str(resp.result, "place", place, sizeof place), hls_out_str(resp.result, "region", region, sizeof region),
           hls_out_str(resp.result, "role", role, sizeof role), (long long)hls_out_int(resp.result, "chain_seq"));
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_vouch(struct cli *c, int argc, char **argv) { return vouch_command(c, argc, argv, HLS_M_VOUCH); }
int cmd_unvouch(struct cli *c, int argc, char **argv) { return vouch_command(c, argc, argv, HLS_M_UNVOUCH); }

int cmd_vouch_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_VOUCH_LIST, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = hls_mp_get(resp.result, "vouches");
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No vouches yet. Vouch for a place with: hls vouch NODE_ID (hls places shows the node ids)\n");
  } else {
    static const char *const headers[] = {"VOUCHER", "FOR", "AS", "ROLE", "COUNTS", "AT", "SUBJECT NODE"};
    struct hls_table *t = hls_table_new(7, headers);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *v = &list->v.items[i];
      char voucher[HLS_PLACE_MAX + 1], subject[HLS_PLACE_MAX + 1], as[2 * HLS_PLACE_MAX + 8], place[HLS_PLACE_MAX + 1];
      char region[HLS_REGION_MAX + 1], role[16], at[32], node[64];
      if (!hls_out_str(v, "voucher_place", voucher, sizeof voucher)[0]) hls_out_str(v, "voucher", voucher, sizeof voucher);
      if (!hls_out_str(v, "subject_place", subject, sizeof subject)[0]) snprintf(subject, sizeof subject, "(no profile held)");
      if (hls_out_bool(v, "withdrawn")) snprintf(as, sizeof as, "(withdrawn)");
      else snprintf(as, sizeof as, "%s (%s)", hls_out_str(v, "place", place, sizeof place),
                    hls_out_str(v, "region", region, sizeof region));
      const char *row[] = {voucher, subject, as,
                           hls_out_str(v, "role", role, sizeof role)[0] ? role : "-",
                           hls_out_bool(v, "counts") ? "yes" : "no",
                           hls_out_str(v, "at", at, sizeof at),
                           hls_out_str(v, "subject", node, sizeof node)};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
    printf("A vouch counts when its voucher is vouched (this node is) and it states what the subject's profile says.\n");
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
