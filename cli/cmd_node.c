/* hls init, status, network key. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chainmark.h"
#include "invite.h"
#include "cli.h"
#include "nodeid.h"
#include "patview.h"
#include "progress.h"
#include "text.h"

int cmd_init(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {{"place", required_argument, NULL, 'p'},
                                       {"region", required_argument, NULL, 'r'},
                                       {"role", required_argument, NULL, 'R'},
                                       {"network-key", required_argument, NULL, 'k'},
                                       {"join", required_argument, NULL, 'j'},
                                       {"listen", required_argument, NULL, 'l'},
                                       {"web", required_argument, NULL, 'w'},
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
      case 'j': p.join_code = optarg; break;
      case 'l': p.listen = optarg; break;
      case 'w': p.web = optarg; break;
      default: break;
    }
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if (p.place == NULL) return cli_usage(c, "--place NAME is required");
  if (p.region == NULL) return cli_usage(c, "--region REGION is required");
  if (p.join_code != NULL && p.network_key != NULL) return cli_usage(c, "give --join CODE or --network-key KEY, not both");
  struct hls_invite code;
  memset(&code, 0, sizeof code);
  if (p.join_code != NULL) {
    struct hls_why cwhy = {{0}};
    if (hls_invite_decode(p.join_code, &code, &cwhy) != 0) return cli_usage(c, "--join: %s", cwhy.text);
    sodium_memzero(code.network_key, sizeof code.network_key);
    sodium_memzero(code.secret, sizeof code.secret);
  }
  struct hls_why why = {{0}};
  int rc = hls_home_resolve(c->home_flag, c->home, &why);
  if (rc == 0) rc = hls_home_init(c->home, &p, &why);
  if (rc != 0) return cli_refused(c, rc, why.text); /* a bad --place, --listen, --network-key: 2 */
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
    char inviter[HLS_NODEID_TEXT_SIZE] = "";
    if (p.join_code != NULL) hls_nodeid_format(code.inviter, inviter);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:s?}", "node_id", node_id, "home", c->home, "network_id",
                          fingerprint, "place", p.place, "joined", p.network_key != NULL || p.join_code != NULL,
                          "inviter", p.join_code ? inviter : NULL, "inviter_address", p.join_code ? code.address : NULL);
    rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  printf("Created node %s\n", node_id);
  printf("  home:     %s\n", c->home);
  printf("  network:  %s (%s)\n", fingerprint, p.network_key || p.join_code ? "joined" : "new network");
  printf("\nStart it with:  hlsd%s%s\n", c->home_flag ? " --home " : "", c->home_flag ? c->home : "");
  if (p.join_code != NULL)
    printf("It connects to the inviter at %s and redeems the invite; 'hls status' shows the answer.\n",
           code.address);
  else if (p.network_key == NULL)
    printf("Invite a place: 'hls invite create' (once hlsd runs) prints a code it joins with.\n");
  return 0;
}

/* The gossip part of status: what this node holds of every chain, how
 * far behind its peers it is, forks. */
static void print_gossip(const struct hls_mp_value *g) {
  if (g == NULL || g->type != HLS_MP_MAP) return;
  char b1[128], b2[32];
  printf("Gossip    %lld chain%s, %lld item%s held (%lld with body, %lld stub%s, %lld erased), %lld session%s\n",
         (long long)hls_out_int(g, "chains"), hls_out_int(g, "chains") == 1 ? "" : "s",
         (long long)hls_out_int(g, "items"), hls_out_int(g, "items") == 1 ? "" : "s",
         (long long)hls_out_int(g, "bodies_held"), (long long)hls_out_int(g, "stubs"),
         hls_out_int(g, "stubs") == 1 ? "" : "s", (long long)hls_out_int(g, "erased"),
         (long long)hls_out_int(g, "sessions"), hls_out_int(g, "sessions") == 1 ? "" : "s");
  int64_t behind = hls_out_int(g, "behind");
  if (behind > 0)
    printf("Sync      catching up: %lld item%s to fetch (hls sync waits for it)\n", (long long)behind,
           behind == 1 ? "" : "s");
  else
    printf("Sync      up to date with connected peers\n");
  const struct hls_mp_value *forks = hls_mp_get(g, "forks");
  size_t nf = forks && forks->type == HLS_MP_ARRAY ? forks->len : 0;
  if (nf == 0) printf("Forks     none\n");
  for (size_t i = 0; i < nf; i++) {
    const struct hls_mp_value *f = &forks->v.items[i];
    printf("Fork      %s at seq %lld, found %s: not followed any more\n", hls_out_str(f, "origin", b1, sizeof b1),
           (long long)hls_out_int(f, "seq"), hls_out_str(f, "found_at", b2, sizeof b2));
    /* Who reported it (docs/protocol.md 4.7): this node, or another node's fork item. */
    char by[128], place[128];
    hls_out_str(f, "reported_by", by, sizeof by);
    hls_out_str(f, "reporter_place", place, sizeof place);
    if (strcmp(by, "this node") == 0 || by[0] == '\0')
      printf("          reported by this node (it found the fork)\n");
    else
      printf("          reported by %s%s%s (its item %lld)\n", place[0] ? place : "", place[0] ? " " : "", by,
             (long long)hls_out_int(f, "report_seq"));
  }
  const struct hls_mp_value *heads = hls_mp_get(g, "heads");
  size_t nh = heads && heads->type == HLS_MP_ARRAY ? heads->len : 0;
  enum { SHOW = 20 };
  for (size_t i = 0; i < nh && i < SHOW; i++) {
    const struct hls_mp_value *h = &heads->v.items[i];
    int64_t hb = hls_out_int(h, "behind");
    printf("%-9s %s head %lld%s%s\n", i == 0 ? "Chains" : "", hls_out_str(h, "origin", b1, sizeof b1),
           (long long)hls_out_int(h, "head"), hb > 0 ? ", behind " : "", hb > 0 ? (snprintf(b2, sizeof b2, "%lld", (long long)hb), b2) : "");
  }
  if (nh > SHOW) printf("          ... and %zu more (hls --json status lists all)\n", nh - SHOW);
}

int cmd_status(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_STATUS, &resp, &done);
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
    cli_print_network_key(hls_mp_get(s, "network_key"), "          ");
    const struct hls_mp_value *join = hls_mp_get(s, "join");
    if (join != NULL && join->type == HLS_MP_MAP) {
      char outcome[32], detail[256];
      hls_out_str(join, "outcome", outcome, sizeof outcome);
      printf("Invite    %s from %s at %s: %s\n", strcmp(outcome, "waiting") == 0 ? "waiting for an answer" : outcome,
             hls_out_str(join, "inviter", b1, sizeof b1), hls_out_str(join, "address", b2, sizeof b2),
             hls_out_str(join, "detail", detail, sizeof detail));
    }
    printf("Listen    %s (peers connected: %lld)\n", hls_out_str(s, "listening_on", b1, sizeof b1),
           (long long)hls_out_int(s, "peers_connected"));
    const struct hls_mp_value *web = hls_mp_get(s, "web");
    char wb[600];
    if (hls_patview_flag(web, "running"))
      printf("Web       %s (hls web open signs you in)\n", hls_out_str(web, "url", wb, sizeof wb));
    else if (web != NULL)
      printf("Web       not serving: %s\n", hls_out_str(web, "problem", wb, sizeof wb));
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
    /* filled first: the order a call's arguments are evaluated in is not fixed */
    bool last = hls_out_str(chain, "last_publish", b3, sizeof b3)[0] != '\0';
    printf("Shared    %lld item%s in this node's chain%s%s%s\n", items, items == 1 ? "" : "s", last ? " (last " : "",
           last ? b3 : "", last ? ")" : "");
    if (pending && pending->type == HLS_MP_BOOL && pending->v.b) printf("          changes wait for the next batch\n");
    const struct hls_mp_value *rec_chain = hls_mp_get(chain, "recovering");
    if (rec_chain && rec_chain->type == HLS_MP_BOOL && rec_chain->v.b)
      printf("          publishing paused: recovering this node's chain after a restore (hls chain)\n");
    if (hls_out_int(chain, "signed_elsewhere") > 0)
      printf("          WARNING: items of this chain up to seq %lld were signed by another node with this node's key\n"
             "          (a copy of it running elsewhere?): stop that copy (docs/operations.md, Restore)\n",
             (long long)hls_out_int(chain, "signed_elsewhere"));
    print_gossip(hls_mp_get(s, "gossip"));
    const struct hls_mp_value *pat = hls_mp_get(s, "patterns");
    if (pat && pat->type == HLS_MP_MAP) {
      const struct hls_mp_value *by = hls_mp_get(pat, "by_signal");
      printf("Patterns  %lld live (spread %lld, emerging %lld, rising %lld, together %lld, cross-scale %lld), "
             "%lld ended, %lld events, %lld following\n",
             (long long)hls_out_int(pat, "live"), (long long)hls_out_int(by, "spread"),
             (long long)hls_out_int(by, "emerging"), (long long)hls_out_int(by, "rising"),
             (long long)hls_out_int(by, "together"), (long long)hls_out_int(by, "cross-scale"),
             (long long)hls_out_int(pat, "ended"), (long long)hls_out_int(pat, "last_event"),
             (long long)hls_out_int(pat, "followers"));
      char state[16];
      if (strcmp(hls_out_str(pat, "state", state, sizeof state), "loading") == 0)
        printf("          computing the patterns of the items held (%lld read so far): 'patterns show',\n"
               "          'patterns summary' and feeds wait for it\n",
               (long long)hls_out_int(pat, "loaded_items"));
      else if (strcmp(state, "rebuilding") == 0)
        printf("          rebuilding: computing the patterns again after a burst of new items; what\n"
               "          'patterns' and 'patterns summary' say until then is from before them\n");
      const struct hls_mp_value *late = hls_mp_get(pat, "late_pending");
      if (late && late->type == HLS_MP_BOOL && late->v.b)
        printf("          late facts of weeks before %s wait for the engine to be built again\n"
               "          (within 10 minutes): the patterns leave them out until then\n",
               hls_out_str(pat, "frozen_before", b1, sizeof b1));
    }
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
  int rc = cli_resolve_home(c, &why);
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
  size_t arg_len = strlen(arg);
  if (arg_len == 0) return cli_usage(c, "FILE: give the name of a new file");
  if (arg[arg_len - 1] == '/') return cli_usage(c, "FILE: give the name of a new file, not a directory");
  if (arg[0] == '/') {
    snprintf(path, sizeof path, "%s", arg);
  } else {
    char cwd[HLS_PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return cli_fail(c, HLS_EIO, "cannot read the working directory");
    if (snprintf(path, sizeof path, "%s/%s", cwd, arg) >= (int)sizeof path) return cli_fail(c, HLS_ETOOBIG, "path too long");
  }
  struct hls_why why;
  if (hls_text_check(path, strlen(path), sizeof path, false, "path", &why) != 0) return cli_usage(c, "%s", why.text);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_BACKUP);
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

/* hls sync: wait until this node holds everything its connected peers
 * advertise, with a progress bar on a terminal: every peer being dialled
 * has connected (or failed), every connected peer has sent its whole
 * vector, and nothing it named is missing. A session that drops while
 * sync waits is waited for again (redialled within network.reconnect_max):
 * no sessions left after having had some is not "up to date". */
int cmd_sync(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
  struct cli_opts o;
  int opt, ec, rc;
  int64_t timeout_s = 0;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 't' && (cli_parse_limit(optarg, &timeout_s) != 0 || timeout_s <= 0))
      return cli_usage(c, "--timeout: expected a whole number of seconds, 1 or more, got '%s'", optarg);
  }
  if (optind < argc) return cli_usage(c, "this command takes no arguments ('%s'?)", argv[optind]);
  if ((rc = cli_connect(c)) != 0) return rc;
  struct hls_progress bar;
  hls_progress_start(&bar, "sync");
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int64_t first_received = -1, received = 0, behind = 0, sessions = 0, items = 0, pending = 0, connecting = 0;
  bool had_sessions = false;
  for (;;) {
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, HLS_M_STATUS);
    msgpack_pack_nil(&r.pk);
    if ((rc = cli_call(c, &r, &resp)) != 0) {
      hls_progress_end(&bar);
      return rc;
    }
    const struct hls_mp_value *g = hls_mp_get(resp.result, "gossip");
    received = hls_out_int(g, "items_received");
    behind = hls_out_int(g, "behind");
    pending = hls_out_int(g, "vectors_pending");
    connecting = hls_out_int(g, "peers_connecting");
    sessions = hls_out_int(g, "sessions");
    items = hls_out_int(g, "items");
    hls_ctl_response_free(&resp);
    if (first_received < 0) first_received = received;
    hls_progress_update(&bar, (uint64_t)(received - first_received), (uint64_t)(received - first_received + behind));
    had_sessions |= sessions > 0;
    bool dropped = had_sessions && sessions == 0;
    if (behind == 0 && pending == 0 && connecting == 0 && !dropped) break;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (timeout_s > 0 && t.tv_sec - t0.tv_sec >= timeout_s) {
      hls_progress_end(&bar);
      if (behind == 0 && pending == 0 && connecting == 0)
        return cli_fail(c, HLS_ETIMEOUT, "the peers' sessions closed and none came back within %lld s (see hls peer list)",
                        (long long)timeout_s);
      if (behind == 0 && pending == 0)
        return cli_fail(c, HLS_ETIMEOUT, "%lld peer%s still connecting after %lld s", (long long)connecting,
                        connecting == 1 ? "" : "s", (long long)timeout_s);
      return cli_fail(c, HLS_ETIMEOUT, "still %lld items behind%s after %lld s", (long long)behind,
                      pending > 0 ? " (and waiting for peers' vectors)" : "", (long long)timeout_s);
    }
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  hls_progress_end(&bar);
  clock_gettime(CLOCK_MONOTONIC, &t);
  double took = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
  if (c->json) {
    json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:f}", "up_to_date", 1, "items", (json_int_t)items, "received",
                          (json_int_t)(received - first_received), "sessions", (json_int_t)sessions, "seconds", (double)(int64_t)(took * 1000) / 1000);
    rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  if (sessions == 0) printf("Up to date with connected peers (none are connected now: see hls peer list)\n");
  else printf("Up to date: %lld items held, %lld received in %.1f s from %lld session%s\n", (long long)items,
              (long long)(received - first_received), took, (long long)sessions, sessions == 1 ? "" : "s");
  return 0;
}

static void print_chain(const struct hls_mp_value *ch) {
  long long seq = (long long)hls_out_int(ch, "seq");
  const struct hls_mp_value *sig = hls_mp_get(ch, "signed");
  bool known = sig != NULL && sig->type != HLS_MP_NIL;
  printf("Chain      seq %lld held in the store\n", seq);
  if (known) printf("Signed     up to seq %lld (the chain mark, %s)\n", (long long)hls_out_int(ch, "signed"),
                    HLS_CHAINMARK_FILE);
  else printf("Signed     not known: the chain mark (%s) was lost\n", HLS_CHAINMARK_FILE);
  if (!hls_out_bool(ch, "recovering")) {
    printf("State      publishing\n");
    return;
  }
  if (known)
    printf("State      recovering: publishing is paused until seq %lld-%lld come back from peers.\n"
           "           If no peer holds them, 'hls chain accept-loss --yes' resumes from seq %lld.\n",
           seq + 1, (long long)hls_out_int(ch, "signed"), seq + 1);
  else
    printf("State      recovering: publishing is paused, as how far this node's chain went is not known.\n"
           "           Items that peers hold come back by themselves; when 'hls items --origin' shows them\n"
           "           all, 'hls chain accept-loss --yes' resumes from the store's head.\n");
}

/* hls chain: this node's own chain, and whether it is being recovered
 * after a restore (docs/operations.md, Restore). */
int cmd_chain(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_CHAIN, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else print_chain(resp.result);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_chain_accept_loss(struct cli *c, int argc, char **argv) {
  bool go;
  int rc = cli_require_yes(c, argc, argv,
                           "this signs new items after the store's head: a peer that holds the items the store lost "
                           "will see a fork and stop following this place. Say --yes if no peer holds them",
                           &go);
  if (!go || (rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_CHAIN_ACCEPT_LOSS);
  msgpack_pack_nil(&r.pk);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Publishing resumes from seq %lld.\n", (long long)hls_out_int(resp.result, "seq") + 1);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* hls identity rotate --yes (docs/operations.md, Moving a place to a new key). */
int cmd_identity_rotate(struct cli *c, int argc, char **argv) {
  bool go;
  int rc = cli_require_yes(c, argc, argv,
                           "this node's key signs a successor and nothing more: the place goes on under a new key, "
                           "and every peer must run an hlsd that knows successors (docs/protocol.md 4.9). Say --yes",
                           &go);
  if (!go || (rc = cli_connect(c)) != 0) return rc;
  struct hls_client_req r;
  struct hls_ctl_response resp;
  hls_client_begin(&c->client, &r, HLS_M_IDENTITY_ROTATE);
  msgpack_pack_nil(&r.pk);
  if ((rc = cli_call(c, &r, &resp)) != 0) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char old_id[64], new_id[64], retired[96];
    printf("This place's node id is now %s\n", hls_out_str(resp.result, "node_id", new_id, sizeof new_id));
    printf("The old key %s signed its successor (seq %lld) and signs nothing more.\n",
           hls_out_str(resp.result, "old_node_id", old_id, sizeof old_id),
           (long long)hls_out_int(resp.result, "successor_seq"));
    printf("Its secret key is kept in %s/%s (back it up, then it may be removed).\n", c->home,
           hls_out_str(resp.result, "retired_key_file", retired, sizeof retired));
    printf("Peers follow the new key once they hold the successor; tell admins who listed this node by id.\n");
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* hls check: the whole store, by the running hlsd. */
int cmd_check(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_CHECK, &resp, &done);
  if (done) {
    if (rc == HLS_EXIT_NOT_RUNNING)
      fprintf(stderr, "hls: with hlsd stopped, 'hlsd --home %s --check' checks the store\n", c->home);
    return rc;
  }
  bool ok = hls_out_bool(resp.result, "ok");
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    const struct hls_mp_value *list = hls_mp_get(resp.result, "problems");
    uint32_t n = list != NULL && list->type == HLS_MP_ARRAY ? list->len : 0;
    if (ok) {
      printf("ok: the store has no problem (PRAGMA integrity_check)\n");
    } else {
      printf("The store is damaged: %u problem%s (PRAGMA integrity_check):\n", n, n == 1 ? "" : "s");
      for (uint32_t i = 0; i < n; i++)
        if (list->v.items[i].type == HLS_MP_STR) printf("  %.*s\n", (int)list->v.items[i].len, list->v.items[i].v.str);
      printf("Restore the store from a backup (docs/operations.md, Restore).\n");
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 && ok ? 0 : HLS_EXIT_FAIL;
}
