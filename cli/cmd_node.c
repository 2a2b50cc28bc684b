/* hls init, status, network key. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nodeid.h"
#include "text.h"

int cmd_init(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {{"place", required_argument, NULL, 'p'},
                                       {"region", required_argument, NULL, 'r'},
                                       {"role", required_argument, NULL, 'R'},
                                       {"network-key", required_argument, NULL, 'k'},
                                       {"listen", required_argument, NULL, 'l'},
                                       {NULL, 0, NULL, 0}};
  struct cli_opts o;
  struct hls_init_params p = {.role = HLS_ROLE_PLACE};
  int opt, ec;
  cli_opts_init(&o, opts);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    switch (opt) {
      case 'p': p.place = optarg; break;
      case 'r': p.region = optarg; break;
      case 'R':
        if (strcmp(optarg, "place") == 0) p.role = HLS_ROLE_PLACE;
        else if (strcmp(optarg, "partner") == 0) p.role = HLS_ROLE_PARTNER;
        else return cli_usage(c, "--role must be place or partner");
        break;
      case 'k': p.network_key = optarg; break;
      case 'l': p.listen = optarg; break;
      default: break;
    }
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if (p.place == NULL) return cli_usage(c, "--place NAME is required");
  if (p.region == NULL) return cli_usage(c, "--region REGION is required");
  struct hls_why why = {{0}};
  int rc = hls_home_resolve(c->home_flag, c->home, &why);
  if (rc == 0) rc = hls_home_init(c->home, &p, &why);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  struct hls_identity id;
  uint8_t netkey[32];
  char node_id[HLS_NODEID_TEXT_SIZE], fingerprint[17];
  if ((rc = hls_home_load_identity(c->home, &id, &why)) != 0 ||
      (rc = hls_home_load_network_key(c->home, netkey, &why)) != 0)
    return cli_fail(c, rc, "%s", why.text);
  hls_nodeid_format(id.public_key, node_id);
  hls_network_fingerprint(netkey, fingerprint);
  sodium_memzero(&id, sizeof id);
  sodium_memzero(netkey, sizeof netkey);
  if (c->json) {
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "node_id", node_id, "home", c->home, "network_id", fingerprint,
                          "place", p.place, "joined", p.network_key != NULL);
    rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  printf("Created node %s\n", node_id);
  printf("  home:     %s\n", c->home);
  printf("  network:  %s (%s)\n", fingerprint, p.network_key ? "joined" : "new network");
  printf("\nStart it with:  hlsd%s%s\n", c->home_flag ? " --home " : "", c->home_flag ? c->home : "");
  if (p.network_key == NULL)
    printf("Invite a place: give it the output of 'hls network key' over a trusted channel.\n");
  return 0;
}

int cmd_status(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_noargs(c, argc, argv, "status", &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *s = resp.result;
  if (c->json) {
    rc = hls_out_print_json(s);
  } else {
    char b1[256], b2[256], b3[128], b4[64], b5[64];
    const struct hls_mp_value *rec = hls_mp_get(s, "records");
    printf("Node      %s\n", hls_out_str(s, "node_id", b1, sizeof b1));
    printf("Place     %s (%s), role %s\n", hls_out_str(s, "place", b1, sizeof b1),
           hls_out_str(s, "region", b2, sizeof b2), hls_out_str(s, "role", b3, sizeof b3));
    printf("Network   id %s\n", hls_out_str(s, "network_id", b1, sizeof b1));
    printf("Listen    %s (peers connected: %lld)\n", hls_out_str(s, "listening_on", b1, sizeof b1),
           (long long)hls_out_int(s, "peers_connected"));
    hls_out_duration(hls_out_int(s, "uptime_s"), b4, sizeof b4);
    printf("Uptime    %s (since %s)\n", b4, hls_out_str(s, "started_at", b1, sizeof b1));
    printf("Records   %lld (private %lld, aggregate %lld, peers %lld, network %lld)\n",
           (long long)hls_out_int(rec, "total"), (long long)hls_out_int(rec, "private"),
           (long long)hls_out_int(rec, "aggregate"), (long long)hls_out_int(rec, "peers"),
           (long long)hls_out_int(rec, "network"));
    printf("Themes    %lld\n", (long long)hls_out_int(s, "themes"));
    const struct hls_mp_value *chain = hls_mp_get(s, "chain");
    const struct hls_mp_value *pending = hls_mp_get(chain, "changes_pending");
    long long items = (long long)hls_out_int(chain, "seq");
    printf("Shared    %lld item%s in this node's chain%s%s%s\n", items, items == 1 ? "" : "s",
           hls_out_str(chain, "last_publish", b3, sizeof b3)[0] ? " (last " : "", b3, b3[0] ? ")" : "");
    if (pending && pending->type == HLS_MP_BOOL && pending->v.b) printf("          changes wait for the next batch\n");
    hls_out_bytes(hls_out_int(s, "store_bytes"), b5, sizeof b5);
    printf("Store     %s in %s\n", b5, hls_out_str(s, "home", b1, sizeof b1));
    printf("Version   %s, pid %lld\n", hls_out_str(s, "version", b1, sizeof b1), (long long)hls_out_int(s, "pid"));
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* Read from the data directory, not the daemon: a new member can be
 * invited while hlsd is stopped. */
int cmd_network_key(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  struct hls_why why = {{0}};
  uint8_t key[32];
  char text[HLS_KEY32_TEXT_SIZE], fingerprint[17];
  int rc = hls_home_resolve(c->home_flag, c->home, &why);
  if (rc == 0 && !hls_home_exists(c->home))
    rc = hls_why_set(&why, HLS_ENOTFOUND, "no node in %s; create one with hls init", c->home);
  if (rc == 0) rc = hls_home_load_network_key(c->home, key, &why);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  hls_key32_format(key, text);
  hls_network_fingerprint(key, fingerprint);
  sodium_memzero(key, sizeof key);
  if (c->json) {
    json_t *j = json_pack("{s:s, s:s}", "network_key", text, "network_id", fingerprint);
    rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
  } else {
    printf("%s\n", text);
    if (isatty(STDOUT_FILENO))
      fprintf(stderr,
              "This key is a secret: whoever has it can join the network (id %s).\n"
              "Give it only to member places, over a trusted channel. They join with:\n"
              "  hls init --place NAME --region REGION --network-key KEY\n",
              fingerprint);
  }
  sodium_memzero(text, sizeof text);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_backup(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec, rc;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind + 1 != argc) return cli_usage(c, "give one backup FILE");
  /* hlsd writes the file, so it needs an absolute path. */
  char path[HLS_PATH_MAX];
  const char *arg = argv[optind];
  if (arg[0] == '/') {
    snprintf(path, sizeof path, "%s", arg);
  } else {
    char cwd[HLS_PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return cli_fail(c, HLS_EIO, "cannot read the working directory");
    if (snprintf(path, sizeof path, "%s/%s", cwd, arg) >= (int)sizeof path) return cli_fail(c, HLS_ETOOBIG, "path too long");
  }
  struct hls_why why;
  if (hls_text_check(path, strlen(path), sizeof path, false, "path", &why) != 0) return cli_fail(c, HLS_EINVAL, "%s", why.text);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, "backup");
  msgpack_pack_map(&r.pk, 1);
  hls_mp_pack_kv_str(&r.pk, "path", path);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char size[32];
    hls_out_bytes(hls_out_int(resp.result, "bytes"), size, sizeof size);
    printf("Backed up the store to %s (%s).\n", path, size);
    printf("The keys are not in it: keep a copy of secret.key and network.key from %s too.\n", c->home);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
