/* hls user add|list|remove|reset, hls web open: the web app's people
 * (docs/web.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "out.h"
#include "params.h"
#include "patview.h"

/* The one-time link of a reply, and what to do with it. */
static void print_link(const struct hls_mp_value *res, const char *who, bool own) {
  char link[800], expires[32];
  printf("%s\n  %s\n", who, hls_out_str(res, "link", link, sizeof link));
  printf("It works once, until %s. %s\n", hls_out_str(res, "link_expires_at", expires, sizeof expires),
         own ? "It signs you in: keep it to yourself." : "Send it only to them, over a channel you trust.");
  if (!hls_patview_flag(res, "web_running")) {
    char problem[512];
    printf("The web app is not serving here (%s): the link is a path, to open on its address once it serves.\n",
           hls_out_str(res, "web_problem", problem, sizeof problem));
  }
}

int cmd_user_add(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_USER_ADD, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char who[200];
    snprintf(who, sizeof who, "Added %s (%s). Their sign-in link, to choose a password with:", cli_params_str(&p, "name"),
             cli_params_str(&p, "role"));
    print_link(resp.result, who, false);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_user_reset(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_USER_RESET, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char who[200];
    snprintf(who, sizeof who, "Reset %s: their password is forgotten and their sessions ended. Their new sign-in link:",
             cli_params_str(&p, "name"));
    print_link(resp.result, who, false);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_user_remove(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_USER_REMOVE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Removed %s; their sessions have ended.\n", cli_params_str(&p, "name"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_user_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_USER_LIST, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("No users of the web app yet. Add one with: hls user add NAME --role ROLE (or hls web open)\n");
  } else {
    static const char *const headers[] = {"NAME", "ROLE", "PASSWORD", "LAST SIGN-IN", "LINK", "ADDED BY"};
    struct hls_table *t = hls_table_new(6, headers);
    for (uint32_t i = 0; t && i < list->len; i++) {
      const struct hls_mp_value *u = &list->v.items[i];
      char name[80], role[16], last[32], link[48], by[80];
      hls_out_str(u, "name", name, sizeof name);
      hls_out_str(u, "role", role, sizeof role);
      if (!hls_out_str(u, "last_signin_at", last, sizeof last)[0]) snprintf(last, sizeof last, "never");
      if (hls_patview_flag(u, "link_pending")) {
        char until[32];
        snprintf(link, sizeof link, "until %s", hls_out_str(u, "link_expires_at", until, sizeof until));
      } else {
        snprintf(link, sizeof link, "-");
      }
      if (!hls_out_str(u, "created_by", by, sizeof by)[0]) snprintf(by, sizeof by, "-");
      const char *cells[] = {name, role, hls_patview_flag(u, "has_password") ? "set" : "not yet", last, link, by};
      if (hls_table_add(t, cells) != 0) rc = HLS_ENOMEM;
    }
    if (t) hls_table_print(t, stdout);
    hls_table_free(t);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_web_open(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_WEB_OPEN, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char who[200], name[80], role[16];
    hls_out_str(resp.result, "name", name, sizeof name);
    /* a name given by mistake makes an admin: said, not done in silence */
    if (hls_out_bool(resp.result, "created"))
      printf("Made the web user %s, an admin: there was none of that name (hls user remove %s undoes it).\n", name,
             name);
    snprintf(who, sizeof who, "Open this link in your browser to sign in as %s (%s):", name,
             hls_out_str(resp.result, "role", role, sizeof role));
    print_link(resp.result, who, true);
    if (hls_out_bool(resp.result, "replaced_link"))
      printf("The link %s had before no longer works: a user has one link at a time.\n", name);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
