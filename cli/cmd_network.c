/* hls network rotate | retire-old | stewards [add|remove NODE_ID]
 * (docs/cli.md, docs/protocol.md 4.8). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "params.h"

void cli_print_network_key(const struct hls_mp_value *nk, const char *indent) {
  if (nk == NULL || nk->type != HLS_MP_MAP) return;
  char until[32], problem[256], id[80];
  long long epoch = (long long)hls_out_int(nk, "epoch");
  printf("%skey epoch %lld (id %s)", indent[0] ? indent : "", epoch, hls_out_str(nk, "network_id", id, sizeof id));
  if (hls_out_bool(nk, "old_key_accepted"))
    printf(", the previous key accepted until %s", hls_out_str(nk, "overlap_until", until, sizeof until));
  printf("\n");
  const struct hls_mp_value *st = hls_mp_get(nk, "stewards");
  printf("%sstewards: ", indent);
  if (st == NULL || st->type != HLS_MP_ARRAY || st->len == 0) printf("none");
  for (uint32_t i = 0; st != NULL && st->type == HLS_MP_ARRAY && i < st->len; i++)
    if (st->v.items[i].type == HLS_MP_STR)
      printf("%s%.*s", i ? ", " : "", (int)st->v.items[i].len, st->v.items[i].v.str);
  printf("\n");
  if (hls_out_str(nk, "problem", problem, sizeof problem)[0]) printf("%s! %s\n", indent, problem);
}

int cmd_network_rotate(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  /* A bad --expel or --overlap, or no --yes, is bad usage (exit 2); this
   * node's own id, not a steward, a rotation not allowed now: exit 1
   * (bad_state, access_denied). */
  int rc = cli_params_call(c, argc, argv, HLS_M_NETWORK_ROTATE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char until[32];
    const struct hls_mp_value *ex = hls_mp_get(resp.result, "expelled");
    printf("Rotated the network key: epoch %lld, announced in chain seq %lld.\n",
           (long long)hls_out_int(resp.result, "epoch"), (long long)hls_out_int(resp.result, "chain_seq"));
    printf("Members get it from their peers; the old key is accepted until %s.\n",
           hls_out_str(resp.result, "overlap_until", until, sizeof until));
    for (uint32_t i = 0; ex != NULL && ex->type == HLS_MP_ARRAY && i < ex->len; i++)
      if (ex->v.items[i].type == HLS_MP_STR)
        printf("Expelled %.*s: refused from now on, without the new key.\n", (int)ex->v.items[i].len,
               ex->v.items[i].v.str);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* The commands that answer with the network key's status. */
static int status_command(struct cli *c, int argc, char **argv, enum hls_method_id method, const char *said) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  c->refused_is_failure = true;
  int rc = cli_params_call(c, argc, argv, method, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    if (said != NULL) printf("%s\n", said);
    cli_print_network_key(resp.result, "");
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_network_retire_old(struct cli *c, int argc, char **argv) {
  return status_command(c, argc, argv, HLS_M_NETWORK_RETIRE_OLD, "The previous network key is no longer accepted here.");
}

int cmd_network_stewards(struct cli *c, int argc, char **argv) {
  return status_command(c, argc, argv, HLS_M_NETWORK_STEWARDS, NULL);
}

int cmd_network_stewards_add(struct cli *c, int argc, char **argv) {
  return status_command(c, argc, argv, HLS_M_NETWORK_STEWARDS_ADD, "Steward added.");
}

int cmd_network_stewards_remove(struct cli *c, int argc, char **argv) {
  return status_command(c, argc, argv, HLS_M_NETWORK_STEWARDS_REMOVE, "Steward removed.");
}
