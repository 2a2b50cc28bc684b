/* hls peer add|list|remove|block|unblock */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "params.h"
#include "nodeid.h"

static int check_node_id(struct cli *c, const char *text) {
  uint8_t pk[32];
  if (hls_nodeid_parse(text, pk) != 0)
    return cli_usage(c, "'%.60s' is not a node id (@<44 characters of base64>.ed25519, as hls status shows)", text);
  return 0;
}

int cmd_peer_add(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (argc - optind != 2) return cli_usage(c, "give HOST:PORT and NODE_ID");
  const char *address = argv[optind], *node_id = argv[optind + 1];
  struct hls_hostport hp;
  struct hls_why why = {{0}};
  if (hls_hostport_parse(address, &hp, true, false, &why) != 0) return cli_usage(c, "%s", why.text);
  if ((rc = check_node_id(c, node_id)) != 0) return rc;
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  c->refused_is_failure = true; /* this node's own id */
  hls_client_begin(&c->client, &r, HLS_M_PEER_ADD);
  msgpack_pack_map(&r.pk, 2);
  hls_mp_pack_kv_str(&r.pk, "address", address);
  hls_mp_pack_kv_str(&r.pk, "node_id", node_id);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Added peer %s at %s; hlsd keeps connected to it (hls peer list shows how).\n", node_id, address);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static int node_id_command(struct cli *c, int argc, char **argv, enum hls_method_id method, const char *done_verb) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  c->refused_is_failure = true; /* this node's own id */
  int rc = cli_params_call(c, argc, argv, method, &p, &resp, &done);
  if (done) return rc;
  const char *id = cli_params_str(&p, "node_id");
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (hls_out_bool(resp.result, "blocked"))
    printf("%s peer %s; it stays blocked (hls peer unblock %s lifts the block).\n", done_verb, id, id);
  else printf("%s peer %s.\n", done_verb, id);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_peer_remove(struct cli *c, int argc, char **argv) { return node_id_command(c, argc, argv, HLS_M_PEER_REMOVE, "Removed"); }
int cmd_peer_block(struct cli *c, int argc, char **argv) { return node_id_command(c, argc, argv, HLS_M_PEER_BLOCK, "Blocked"); }
int cmd_peer_unblock(struct cli *c, int argc, char **argv) {
  return node_id_command(c, argc, argv, HLS_M_PEER_UNBLOCK, "Unblocked");
}

int cmd_peer_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_PEER_LIST, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No peers yet. Add one with: hls peer add HOST:PORT NODE_ID\n");
  } else {
    static const char *const headers[] = {"NODE", "ADDRESS", "STATE", "LAST SEEN", "IN", "OUT", "FAILURES", "SCORE",
                                          "LAST ERROR"};
    struct hls_table *t = hls_table_new(9, headers);
    for (int col = 4; t && col <= 7; col++) hls_table_set_right(t, (size_t)col);
    if (t) hls_table_set_shrink(t, 8, 12);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *p = &list->v.items[i];
      char id[64], addr[300], state[48], seen[32], in[32], out[32], fails[24], score[24], err[512], dir[8];
      hls_out_str(p, "state", state, sizeof state);
      if (strcmp(state, "connected") == 0 && hls_out_str(p, "direction", dir, sizeof dir)[0])
        snprintf(state + strlen(state), sizeof state - strlen(state), " (%s)", dir);
      if (strcmp(state, "backoff") == 0 && hls_out_int(p, "next_attempt_in_s") > 0)
        snprintf(state + strlen(state), sizeof state - strlen(state), " %llds", (long long)hls_out_int(p, "next_attempt_in_s"));
      hls_out_bytes(hls_out_int(p, "bytes_in"), in, sizeof in);
      hls_out_bytes(hls_out_int(p, "bytes_out"), out, sizeof out);
      snprintf(fails, sizeof fails, "%lld", (long long)hls_out_int(p, "failures"));
      snprintf(score, sizeof score, "%lld", (long long)hls_out_int(p, "score"));
      const char *row[] = {hls_out_str(p, "node_id", id, sizeof id),
                           hls_out_str(p, "address", addr, sizeof addr)[0] ? addr : "-",
                           state,
                           hls_out_str(p, "last_seen", seen, sizeof seen)[0] ? seen : "never",
                           in,
                           out,
                           fails,
                           score,
                           hls_out_str(p, "last_error", err, sizeof err)[0] ? err : "-"};
      hls_table_add(t, row);
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
