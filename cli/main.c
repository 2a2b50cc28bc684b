/* hls: the admin CLI of hlsd. Talks to the daemon's control socket. */
#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "completion.h"
#include "hls_version.h"
#include "manpage.h"
#include "params.h"

static int cmd_version(struct cli *c, int argc, char **argv);

static const struct cli_command commands[] = {
    {"init", cmd_init, HLS_CLI_NO_METHOD,
     "init --place NAME --region REGION [--role place|partner] [--join CODE | --network-key KEY]\n"
     "     [--listen HOST:PORT] [--web HOST:PORT|off]",
     "create a node: data directory, identity, network key and configuration",
     "  --place NAME         this place's name as other nodes see it (required)\n"
     "  --region REGION      its region (required)\n"
     "  --role ROLE          place (default) or partner (a national learning partner)\n"
     "  --join CODE          join a network with an invite (from 'hls invite create' on a member):\n"
     "                       hlsd connects to the inviter and redeems it; hls status shows the answer\n"
     "  --network-key KEY    join an existing network by its key (from 'hls network key' on a\n"
     "                       member; then 'hls peer add' on both sides); without it or --join a\n"
     "                       new network is created\n"
     "  --listen HOST:PORT   peer address (default 0.0.0.0:7420)\n"
     "  --web HOST:PORT|off  the web app's address (default 127.0.0.1:7480; port 0 picks a free port)\n"},
    {"version", cmd_version, HLS_CLI_NO_METHOD, "version", "this hls's version, and the running hlsd's when it answers", NULL},
    {"status", cmd_status, HLS_M_STATUS, "status",
     "node id, place, network, uptime, record counts, store size, gossip (chains, items, sync, forks)", NULL},
    {"sync", cmd_sync, HLS_CLI_NO_METHOD, "sync [--timeout SECONDS]",
     "wait until this node holds everything its connected peers have (a progress bar on a terminal)", NULL},
    {"network key", cmd_network_key, HLS_CLI_NO_METHOD, "network key",
     "print the network key to give a new member place (a secret: share it only with members)", NULL},
    {"record add", cmd_record_add, HLS_M_RECORD_ADD,
     "record add --title T --scale S --stage S [--theme [KIND:]NAME]... [--context T] [--tried T]\n"
     "           [--happened T] [--learnt T] [--consent LEVEL] [--consent-by ROLE]\n"
     "           [--consent-purpose T] [--consent-expires YYYY-MM-DD] [--date YYYY-MM-DD]\n"
     "           [--author-role ROLE] [--retain-until YYYY-MM-DD] | --file FILE|-",
     "record what was tried and learnt (prompts for the fields when run on a terminal with no flags)",
     "  --scale S            person|organisation|place|country\n"
     "  --stage S            purpose|understand|co-design|experiment|reflect|embed\n"
     "  --theme [KIND:]NAME  repeatable; KIND is problem (default), aspiration, strength, practice\n"
     "  --consent LEVEL      private (default), aggregate, peers, network\n"
     "  --consent-by ROLE    who gave consent (required above private)\n"
     "  --date DATE          the date the learning is about (default today)\n"
     "  --retain-until DATE  keep the record up to this date, then hlsd deletes it, whatever the\n"
     "                       [retention] period of its scale ('none' or '': the period applies)\n"
     "  --file FILE|-        a JSON object of these fields (as 'record show --json' prints),\n"
     "                       or an array of them, added all-or-nothing\n"},
    {"record list", cmd_record_list, HLS_M_RECORD_LIST,
     "record list [--theme NAME] [--scale S] [--stage S] [--consent LEVEL] [--since DATE] [--until DATE]\n"
     "            [--limit N] [--full]",
     NULL, NULL},
    {"record show", cmd_record_show, HLS_M_RECORD_SHOW, "record show ID", "show one record with every field", NULL},
    {"record edit", cmd_record_edit, HLS_M_RECORD_EDIT,
     "record edit ID [the flags of record add] | --file FILE|-",
     "change fields of a record (opens $EDITOR when run on a terminal with no flags)",
     "  Flags replace the field they name; --theme replaces the whole theme list.\n"
     "  An empty value (--context '') clears an optional field; --retain-until none too.\n"},
    {"record search", cmd_record_search, HLS_M_RECORD_SEARCH,
     "record search TEXT [--theme NAME] [--scale S] [--stage S] [--consent LEVEL] [--since DATE] [--until DATE]\n"
     "              [--limit N] [--format csv|json] [--delete --yes]",
     "records whose text holds every word of TEXT (a subject access request), with every field",
     "  Searches every text field (title, context, tried, happened, learnt, author role, consent by\n"
     "  and purpose), any case, accents ignored: 'zoe smith' finds Zoë Smith. --format csv or json\n"
     "  exports the matches for the request. --delete --yes then deletes them all in one step\n"
     "  (their stories are erased at every place, as record delete does).\n"},
    {"record export", cmd_record_export, HLS_CLI_NO_METHOD,
     "record export [--format csv|json] [--theme NAME] [--scale S] [--stage S] [--consent LEVEL]\n"
     "              [--since DATE] [--until DATE] [--limit N]",
     "write records, every field, as CSV that 'hls import' takes back (or a JSON array)",
     "  --format csv   (default) one header row, then a row a record: title, scale, stage, date,\n"
     "                 themes (KIND:NAME; ...), context, tried, happened, learnt, author_role,\n"
     "                 consent, consent_by, consent_purpose, consent_expires, retain_until;\n"
     "                 every field quoted\n"
     "  --format json  the array of 'hls --json record list --full'\n"
     "  Ids, times and approvals are not written: an import makes new records, whose stories\n"
     "  wait for approval again.\n"},
    {"record delete", cmd_record_delete, HLS_M_RECORD_DELETE, "record delete ID... | -",
     "delete records: one, or several all or none (- reads the IDs from stdin)",
     "  Several IDs go in one transaction: an unknown one deletes nothing and is named. Their\n"
     "  published stories are erased and their weeks re-counted, as for one.\n"},
    {"import", cmd_import, HLS_CLI_NO_METHOD, "import FILE.csv [--dry-run] [--allow-duplicates] | --status IMPORT_ID",
     "import records from a CSV file, all or nothing (docs/cli.md lists the columns)",
     "  The first row names the columns: title, scale, stage (required), date, themes,\n"
     "  context, tried, happened, learnt, author_role, consent, consent_by,\n"
     "  consent_purpose, consent_expires, retain_until. themes holds [KIND:]NAME entries\n"
     "  separated by ';'.\n"
     "  Every bad row is reported by line and column, and then nothing is imported.\n"
     "  A row with the content of a record held (title, scale, stage, date, the four texts,\n"
     "  author_role, themes; not consent), or of an earlier row, is a duplicate: skipped\n"
     "  and reported, so importing a file twice adds nothing the second time.\n"
     "  --dry-run           check every row with hlsd and count duplicates; import nothing\n"
     "  --allow-duplicates  import duplicates too\n"
     "  --status IMPORT_ID  whether that import was committed (after exit code 4: the\n"
     "                      connection was lost after the commit was sent)\n"},
    {"import list", cmd_import_list, HLS_M_IMPORT_LIST, "import list [--limit N]",
     "imports made on this node, newest first: when, by whom, records, duplicates skipped, file",
     NULL},
    {"import undo", cmd_import_undo, HLS_M_IMPORT_UNDO, "import undo IMPORT_ID [--yes]",
     "delete the records of one import (a wrong or doubled file), all or none",
     "  IMPORT_ID  as 'hls import list' shows it (its first 8 or more hex digits will do)\n"
     "  The records still held from that import are deleted in one transaction, edited ones\n"
     "  too; their published stories are erased and their weeks re-counted, as 'record\n"
     "  delete' does. Asks first on a terminal; elsewhere --yes is required.\n"},
    {"themes", cmd_themes, HLS_CLI_NO_METHOD, "themes [--network]", "themes in use, with counts by kind and scale",
     "  --network  the themes of every place's digests this node holds (its own and its peers'),\n"
     "             with how many places use each and the latest week one did, most places first:\n"
     "             the names to reuse so that the same theme counts as one across places\n"},
    {"consent set", cmd_consent_set, HLS_M_CONSENT_SET,
     "consent set ID LEVEL [--by ROLE] [--expires YYYY-MM-DD] [--purpose T]",
     NULL,
     "  LEVEL  private < aggregate (counted in digests) < peers (story to direct peers)\n"
     "         < network (story to the whole network); stories also need 'hls share approve'\n"
     "  Narrowing consent erases a published story at once.\n"},
    {"consent withdraw", cmd_consent_withdraw, HLS_M_CONSENT_WITHDRAW, "consent withdraw ID",
     "withdraw a record's consent: it becomes private, a published story is erased everywhere", NULL},
    {"share preview", cmd_share_preview, HLS_M_SHARE_PREVIEW, "share preview",
     "everything this node shares, as other nodes see it, published or pending", NULL},
    {"share review", cmd_share_review, HLS_M_SHARE_REVIEW, "share review", "stories that wait for a person's approval", NULL},
    {"share approve", cmd_share_approve, HLS_M_SHARE_APPROVE, "share approve ID [--by ROLE]",
     "approve a record's story exactly as it is now; it is published at once", NULL},
    {"share reject", cmd_share_reject, HLS_M_SHARE_REJECT, "share reject ID [--by ROLE]",
     "reject a record's story; a published one is erased", NULL},
    {"share log", cmd_share_log, HLS_M_SHARE_LOG, "share log [--limit N]", "every item this node has published, newest first", NULL},
    {"share publish", cmd_share_publish, HLS_M_SHARE_PUBLISH, "share publish", "publish what is due now instead of after publish.delay", NULL},
    {"share export", cmd_share_export, HLS_M_SHARE_EXPORT, "share export SEQ FILE", "write one of this node's items to FILE (for hls inspect)",
     NULL},
    {"share receipts", cmd_share_receipts, HLS_M_SHARE_RECEIPTS, "share receipts ID [--record]",
     "for an erased item: every place expected to have held its body, and whether and when each confirmed",
     "  ID is the erased item's seq in this node's chain, or its tombstone's (hls share log);\n"
     "  with --record, a record's id (the story of it erased last).\n"},
    {"peer add", cmd_peer_add, HLS_M_PEER_ADD, "peer add HOST:PORT NODE_ID",
     "trust a peer (a member node) and keep connected to it",
     "  HOST:PORT  where it listens (its network.listen, or an address it advertises)\n"
     "  NODE_ID    its id as its 'hls status' shows: @<base64>.ed25519\n"
     "  hlsd dials it now and re-dials with back-off when the connection fails.\n"},
    {"peer list", cmd_peer_list, HLS_M_PEER_LIST, "peer list",
     "known peers: state, last seen, bytes in and out, failures, last error", NULL},
    {"peer remove", cmd_peer_remove, HLS_M_PEER_REMOVE, "peer remove NODE_ID", "forget a peer and close its connection", NULL},
    {"peer block", cmd_peer_block, HLS_M_PEER_BLOCK, "peer block NODE_ID",
     "refuse a peer in both directions, even if it knows the network key", NULL},
    {"peer unblock", cmd_peer_unblock, HLS_M_PEER_UNBLOCK, "peer unblock NODE_ID", "stop refusing a blocked peer", NULL},
    {"invite create", cmd_invite_create, HLS_M_INVITE_CREATE, "invite create [--uses N] [--expires WHEN] [--note TEXT] [--address HOST:PORT]",
     "a code a new place joins with (hls init --join): a secret, it holds the network key",
     "  This node lists each place that redeems it as a peer. The code holds the network key:\n"
     "  give it only over a channel you trust.\n"},
    {"invite list", cmd_invite_list, HLS_M_INVITE_LIST, "invite list",
     "the invites this node gave: state, uses, expiry, note, who redeemed them (never their codes)", NULL},
    {"invite revoke", cmd_invite_revoke, HLS_M_INVITE_REVOKE, "invite revoke ID", "refuse an invite from now on", NULL},
    {"network rotate", cmd_network_rotate, HLS_M_NETWORK_ROTATE,
     "network rotate [--expel NODE]... [--overlap DURATION] --yes",
     "a steward's rotation of the network key: every member but the expelled gets a new key",
     "  The new key goes, inside the sessions, to every member the rotation does not\n"
     "  expel; members accept the old key too until the overlap ends (14d by default),\n"
     "  so a member offline now catches up if it returns before then. Expelled nodes are\n"
     "  refused at once and hold no valid key once the overlap ends (or every member ran\n"
     "  hls network retire-old). Only a steward may rotate (hls stewards).\n"},
    {"network retire-old", cmd_network_retire_old, HLS_M_NETWORK_RETIRE_OLD, "network retire-old",
     "stop accepting the previous network key here now, before the rotation's overlap ends", NULL},
    {"stewards", cmd_network_stewards, HLS_M_NETWORK_STEWARDS, "stewards",
     "the stewards: the nodes whose rotations of the network key this node takes", NULL},
    {"stewards add", cmd_network_stewards_add, HLS_M_NETWORK_STEWARDS_ADD, "stewards add NODE_ID",
     "name a node a steward here (its rotations of the network key are taken)", NULL},
    {"stewards remove", cmd_network_stewards_remove, HLS_M_NETWORK_STEWARDS_REMOVE,
     "stewards remove NODE_ID", "stop taking a node's rotations of the network key", NULL},
    {"vouch", cmd_vouch, HLS_M_VOUCH, "vouch NODE_ID [--role place|partner]",
     "sign a vouch: node NODE_ID is the place its profile says (docs/protocol.md 4.6)",
     "  The vouch copies the place, region and role of the node's latest profile held\n"
     "  (--role place vouches for a partner's name but not its partner role). It is an\n"
     "  item of this node's chain, signed and sent at once; a later vouch or unvouch for\n"
     "  the same node supersedes it. hls places shows who vouched for whom.\n"},
    {"vouch list", cmd_vouch_list, HLS_M_VOUCH_LIST, "vouch list",
     "the vouches this node holds: who vouched for whom, as what, and whether each counts", NULL},
    {"unvouch", cmd_unvouch, HLS_M_UNVOUCH, "unvouch NODE_ID", "withdraw this node's vouch for a node", NULL},
    {"places", cmd_places, HLS_M_PLACES, "places [--limit N]",
     "places whose items this node holds: name, region, role, items, last heard",
     "  ROLE is marked (not counted) for a partner not vouched as partner by\n"
     "  trust.partner_vouches vouched places. VOUCHED BY lists the places vouching for it\n"
     "  (* : the vouch does not count). A name claimed by several nodes is marked\n"
     "  (name also claimed); a place is vouched if this node or a vouched place vouched for it.\n"
     "  ITEMS counts every envelope held of that place, STUBS those held without their body\n"
     "  (not meant for this node, or not received yet), ERASED those whose body a tombstone\n"
     "  erased. CHAIN is the highest seq held; LAST HEARD when its newest item was stored.\n"
     "  This node is listed too, marked (this node).\n"},
    {"stories", cmd_stories, HLS_M_STORIES, "stories [--place NAME|NODE_ID] [--theme T] [--since DATE] [--limit N] | stories show ID",
     "read the learning places shared with this node (its own included), newest first",
     "  ID is a story's item id in hex (the ID column; 8 or more of its digits do)\n"
     "  or NODE_ID:SEQ. Erased stories and stories whose body this node does not hold\n"
     "  are not listed ('hls items' lists them).\n"},
    {"stories show", cmd_stories_show, HLS_M_STORIES_SHOW, "stories show ID",
     "print one whole story: place, week, themes, what was tried and learnt",
     "  ID  the story's item id in hex, or 8 or more of its first digits (the ID column\n"
     "      of 'hls stories'), or NODE_ID:SEQ (its place's node id and the item's seq)\n"},
    {"items", cmd_items, HLS_M_ITEMS, "items [--origin NODE_ID] [--type TYPE] [--limit N]",
     NULL,
     "  BODY: held (the body is here), stub (only the signed header: the body was not for\n"
     "  this node, or has not arrived), erased (a tombstone of its place erased it).\n"},
    {"import-items", cmd_import_items, HLS_M_ITEMS_IMPORT, "import-items DIR",
     "load signed envelopes from DIR's .items files as if a peer had sent them (for tests)",
     "  DIR holds files named ORIGIN.items (ORIGIN: the origin's key in 64 hex digits), each\n"
     "  a concatenation of envelopes (docs/protocol.md section 3), full or stubs, of any\n"
     "  origins in any order. Other files and directories in DIR are ignored.\n"
     "  Every envelope is decoded and its signature checked before anything is sent; a bad\n"
     "  one is named by file and byte offset, and then nothing is imported. hlsd treats the\n"
     "  items as received by gossip: tombstones erase, forks are detected, peers-only bodies\n"
     "  are kept as stubs (only their origin may give them), and connected peers get them.\n"
     "  Items already held are counted and skipped: importing again changes nothing.\n"},
    {"patterns", cmd_patterns, HLS_M_PATTERNS,
     "patterns [--signal S] [--theme T] [--kind K] [--scale S] [--region R] [--place P] [--since WHEN]\n"
     "             [--until WHEN] [--min-places N] [--min-strength X] [--vouched] [--all] [--limit N]\n"
     "         | patterns show ID | patterns summary",
     NULL,
     "  Each of --signal, --theme, --kind, --scale, --region and --place may be given several\n"
     "  times (any of the values); different options must all hold. Tables fit the terminal\n"
     "  (or COLUMNS). Methods and parameters: docs/patterns.md.\n"},
    {"patterns show", cmd_patterns_show, HLS_M_PATTERNS_SHOW, "patterns show ID [--places] [--cells]",
     "explain one pattern: state, strength, counts, places by region, week by week, method, stories",
     "  ID        the pattern's id (the ID column of 'hls patterns'), or 4 or more of its first\n"
     "            digits. Ended and retracted patterns are shown too.\n"
     "  --places  every place, not only as many as fit a line per region\n"
     "  --cells   the digest cells behind it, one row per place, week and theme, with the item\n"
     "            (NODE_ID:SEQ) each count comes from\n"},
    {"patterns summary", cmd_patterns_summary, HLS_M_PATTERNS_SUMMARY, "patterns summary [--week W] [--top N]",
     NULL,
     "  A change counts in the week that was the latest held when hlsd recorded it.\n"},
    {"feed subscribe", cmd_feed_subscribe, HLS_M_FEED_SUBSCRIBE,
     "feed subscribe NAME [--signal S] [--theme T] [--kind K] [--scale S] [--region R] [--place P]\n"
     "               [--since WHEN] [--until WHEN] [--min-places N] [--min-strength X] [--vouched]",
     "make a durable feed of pattern events (new, joined, grew, left, shrank, ended, retracted)",
     "  NAME  letters, digits, '-', '_' and '.', up to 64. The filters are those of 'hls patterns'\n"
     "        (without --all and --limit: a feed carries every change, ended patterns' too).\n"
     "        A new feed starts at the first event this node recorded.\n"
     "  With --vouched (the rule of 'hls patterns --vouched'), an event held back for too few\n"
     "  vouched places is handed out late, out of order, once they are vouched (the pattern's\n"
     "  latest one held back); after an unvouch later events wait again, and nothing sent is\n"
     "  called back.\n"},
    {"feed list", cmd_feed_list, HLS_M_FEED_LIST, "feed list", "feeds: filters, cursor (the last event acknowledged), events after it",
     NULL},
    {"feed follow", cmd_feed_follow, HLS_M_FEED_FOLLOW, "feed follow NAME [--no-wait] [--limit N] [--from SEQ]",
     "print a feed's events after its cursor, in order, then new ones as they happen",
     "  --no-wait          stop once every event so far has been printed and read (for cron\n"
     "                     jobs and scripts)\n"
     "  --limit N          stop after N events (the next follow starts at the one after them)\n"
     "  With --json, one JSON object a line (NDJSON): {seq, change, at, pattern}. hls acknowledges\n"
     "  an event once whoever reads its output has taken it (into a pipe: when its last byte has\n"
     "  left the pipe), so the feed's cursor moves on: a follower that was away gets what it\n"
     "  missed, once, and a reader that stops early (| head) gets the rest next time. An event\n"
     "  taken but not acknowledged (hls killed at that moment) is printed again next time.\n"},
    {"feed ack", cmd_feed_ack, HLS_M_FEED_ACK, "feed ack NAME SEQ",
     "move a feed's cursor forward to SEQ (for programs that say themselves what they handled)",
     "  A program that reads 'feed follow --from SEQ' acknowledges with this what it has handled;\n"
     "  the cursor never moves back.\n"},
    {"feed unsubscribe", cmd_feed_unsubscribe, HLS_M_FEED_UNSUBSCRIBE, "feed unsubscribe NAME", "drop a feed and its cursor", NULL},
    {"feed events", cmd_feed_events, HLS_M_FEED_EVENTS, "feed events NAME [--limit N]",
     "a feed's newest events, newest first (what its web addresses serve); the cursor does not move", NULL},
    {"feed token", cmd_feed_token, HLS_M_FEED_TOKEN, "feed token NAME",
     "a new token for a feed's web addresses (JSON Feed 1.1 and Atom); the old token stops working",
     "  Prints the feed's two addresses with the token in them, for feed readers, spreadsheets\n"
     "  and chat bots: anyone with an address reads the feed (its patterns, not the records).\n"},
    {"user add", cmd_user_add, HLS_M_USER_ADD, "user add NAME --role viewer|practitioner|lead|admin",
     "add a person to the web app; prints their one-time sign-in link",
     "  viewer        reads records, stories, patterns and the network\n"
     "  practitioner  also records learning, and edits and deletes the records they added\n"
     "  lead          also sets consent, approves and rejects stories, undoes imports\n"
     "  admin         also manages peers, users and feeds\n"
     "  The link (valid for web.link_ttl, 3 days by default) lets them choose a password.\n"},
    {"user list", cmd_user_list, HLS_M_USER_LIST, "user list",
     "the web app's people: role, whether a password is set, last sign-in, a link waiting", NULL},
    {"user remove", cmd_user_remove, HLS_M_USER_REMOVE, "user remove NAME",
     "remove a person from the web app; their sessions end at once", NULL},
    {"user reset", cmd_user_reset, HLS_M_USER_RESET, "user reset NAME",
     "forget a person's password, end their sessions and print a new one-time sign-in link", NULL},
    {"web open", cmd_web_open, HLS_M_WEB_OPEN, "web open [--name NAME]",
     "print a one-time link that signs you in to the web app",
     "  Signs in as the web user named after your Unix user (made an admin the first time:\n"
     "  whoever may run hls on this node may do everything), or as NAME. The link works once.\n"},
    {"audit", cmd_audit, HLS_M_AUDIT, "audit [--since DATE] [--record ID] [--who USER] [--limit N] [--csv]",
     "the audit log: every change to this node, who made it and when (newest 1000 unless --limit)",
     "  One entry per change made through hls or the web app (refused ones too, with their\n"
     "  error), and per change hlsd made itself (consent that expired, a configuration\n"
     "  reload). A record's entries hold its fields before and after, never its free text.\n"
     "  --csv  every field, for a spreadsheet (with --json: a list of objects)\n"},
    {"audit verify", cmd_audit_verify, HLS_M_AUDIT_VERIFY, "audit verify",
     "check the audit log's hash chain: exit 1 if an entry was changed or removed",
     "  Prints the head hash: note it somewhere else; a later verify that still finds it\n"
     "  shows that no entry up to it was rewritten.\n"},
    {"governance report", cmd_governance_report, HLS_M_GOVERNANCE_REPORT, "governance report [--format md|html|json]",
     "the record of processing (UK GDPR Art. 30), generated from this node's real state",
     "  Purposes (from consent), categories and counts of records, what leaves and with what\n"
     "  disclosure control, the recipients (direct peers, the places of the network), retention,\n"
     "  and security measures (transport, at rest, the web app, the audit log). Counts and\n"
     "  settings only: no record's text. Markdown by default; --format html for a page.\n"},
    {"inspect", cmd_inspect, HLS_CLI_NO_METHOD, "inspect FILE", "decode and verify one envelope from a file, and explain any failure", NULL},
    {"backup", cmd_backup, HLS_M_BACKUP, "backup FILE",
     "write a consistent copy of the node's store to FILE (which must not exist)",
     "  hlsd writes FILE (mode 0600) while it keeps running. The copy holds the records and\n"
     "  everything else in the store, not the keys: back up secret.key and network.key once.\n"
     "  Restore: stop hlsd, copy FILE to DIR/hlsd.db (removing hlsd.db-wal and -shm), start it;\n"
     "  docs/operations.md (Restore) says what hlsd then does before it signs anything new.\n"},
    {"check", cmd_check, HLS_M_CHECK, "check",
     "check the whole store for damage (SQLite integrity_check); exit 1 if damaged",
     "  hlsd runs a quicker check at every start and refuses a damaged store. With hlsd\n"
     "  stopped, 'hlsd --check' does the same as this command.\n"},
    {"chain", cmd_chain, HLS_M_CHAIN, "chain | chain accept-loss --yes",
     "this node's own chain: the seq held, the highest signed, whether publishing waits for lost items",
     "  After a restore from an older backup (or --accept-new-store), hlsd signs nothing until\n"
     "  peers have sent back the items the store lost, so that no seq is ever signed twice.\n"},
    {"chain accept-loss", cmd_chain_accept_loss, HLS_M_CHAIN_ACCEPT_LOSS, "chain accept-loss --yes",
     "stop waiting for lost items of this node's chain and publish again from the store's head",
     "  Only when no peer holds them (e.g. they never left this node): a peer that does will\n"
     "  see two items with one seq (a fork) and stop following this place.\n"},
    {"identity rotate", cmd_identity_rotate, HLS_M_IDENTITY_ROTATE, "identity rotate --yes",
     "move this place to a new node key; the old key signs a successor naming it",
     "  Peers that hold the successor follow the place under the new key: its stories and\n"
     "  patterns go on; its old items stay attributed to the old key. The old secret key is\n"
     "  kept as DIR/secret.retired-STAMP (0600); docs/operations.md, Moving a place to a new key.\n"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct cli_global_option global_options[] = {
    {"home", "DIR", true,
     "data directory (default $HLS_HOME, else $XDG_DATA_HOME/hlsd, else ~/.local/share/hlsd; when that holds no node, the system node's "
     HLS_SYSTEM_HOME ", whose hls users are the members of group hlsd)"},
    {"json", NULL, true, "machine-readable output"},
    {"version", NULL, false, "print the version"},
};
#define N_GLOBAL_OPTIONS (sizeof global_options / sizeof global_options[0])

/* The width of the commands' column: the longest name and two spaces
 * (so that a name always ends at two spaces, for readers and scripts). */
static int command_width(void) {
  size_t w = 16;
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strlen(commands[i].name) + 1 > w) w = strlen(commands[i].name) + 1;
  return (int)w;
}

static void print_usage(FILE *f) {
  fprintf(f,
          "Usage: hls [--home DIR] [--json] COMMAND [ARGS]\n"
          "\n"
          "The admin CLI of hlsd, the learning node of a Human Learning Systems place.\n"
          "\n"
          "Commands:\n");
  int width = command_width();
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-*s %s\n", width, commands[i].name, cli_command_summary(&commands[i]));
  fprintf(f, "\nOptions:\n");
  for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++) {
    char flag[32];
    const struct cli_global_option *o = &global_options[i];
    snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(f, "  %-12s %s\n", flag, o->help);
  }
  fprintf(f,
          "\n"
          "'hls COMMAND --help' explains one command.\n"
          "\n"
          "Exit codes:\n"
          "  0  done\n"
          "  1  failed (the reason is on stderr)\n"
          "  2  bad usage: an unknown command or option, a missing or extra argument, a bad value\n"
          "  3  hlsd is not running for this data directory\n"
          "  4  the outcome is unknown: the connection was lost after a change was sent\n");
}

/* "hls peer" alone: one line naming the group's commands; 0 if word
 * names no group. */
static int print_group_line(const char *word) {
  size_t len = strlen(word);
  char names[256] = "";
  int n = 0;
  for (size_t i = 0; i < N_COMMANDS; i++) {
    const char *name = commands[i].name;
    if (strncmp(name, word, len) != 0 || name[len] != ' ') continue;
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s'%s'", n++ ? ", " : "", name);
  }
  if (n > 0) fprintf(stderr, "hls: '%s' needs a subcommand: %s. Try 'hls %s --help'.\n", word, names, word);
  return n;
}

/* "hls peer --help" and the like: the commands of one group, or 0 if word
 * names no group. */
static int print_group(FILE *f, const char *word) {
  size_t len = strlen(word);
  int n = 0;
  for (size_t i = 0; i < N_COMMANDS; i++) {
    const char *name = commands[i].name;
    if (strncmp(name, word, len) != 0 || name[len] != ' ') continue;
    if (n++ == 0) fprintf(f, "Usage: hls %s SUBCOMMAND [ARGS]\n\nCommands:\n", word);
    fprintf(f, "  %-*s %s\n", command_width(), name, cli_command_summary(&commands[i]));
  }
  if (n > 0) fprintf(f, "\n'hls %s SUBCOMMAND --help' explains one command.\n", word);
  return n;
}

const char *cli_command_summary(const struct cli_command *cmd) {
  if (cmd->summary != NULL || cmd->method == HLS_CLI_NO_METHOD) return cmd->summary;
  return hls_methods[cmd->method].summary;
}

/* "  --flag X   help" with help wrapped at HELP_WIDTH columns under itself
 * (below the flag when the flag is too long for its column). */
#define HELP_WIDTH 94
#define HELP_COLUMN 21
static size_t append_option(char *out, size_t size, size_t used, const char *shown, const char *help) {
  char text[1024];
  size_t len = 0, line_start = 0;
#define PUT(c) (len + 1 < sizeof text ? (void)(text[len++] = (c)) : (void)0)
  PUT(' '), PUT(' ');
  for (const char *p = shown; *p; p++) PUT(*p);
  if (len + 1 >= HELP_COLUMN) PUT('\n'), line_start = len;
  for (const char *p = help; *p != '\0';) {
    size_t word = strcspn(p, " ");
    if (len - line_start > HELP_COLUMN && len - line_start + 1 + word > HELP_WIDTH) PUT('\n'), line_start = len;
    if (len - line_start < HELP_COLUMN) {
      while (len - line_start < HELP_COLUMN) PUT(' ');
    } else {
      PUT(' ');
    }
    for (size_t i = 0; i < word; i++) PUT(p[i]);
    p += word;
    while (*p == ' ') p++;
  }
  PUT('\n');
#undef PUT
  text[len] = '\0';
  int n = snprintf(out + used, size - used, "%s", text);
  return n < 0 || (size_t)n >= size - used ? size : used + (size_t)n;
}

void cli_command_help(const struct cli_command *cmd, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  if (cmd->method != HLS_CLI_NO_METHOD) {
    const struct hls_method *m = &hls_methods[cmd->method];
    for (size_t i = 0; i < m->n_args && used < size; i++) {
      const struct hls_method_arg *a = &m->args[i];
      char name[32], shown[96];
      if (a->metavar == NULL || (a->flags & HLS_AF_POS)) continue; /* an option of hls (check_docs.py: in its usage) */
      snprintf(shown, sizeof shown, "--%s%s%s", cli_params_option_name(a->key, name, sizeof name),
               a->metavar[0] ? " " : "", a->metavar);
      used = append_option(out, size, used, shown, a->help);
    }
  }
  if (cmd->help != NULL && used < size) snprintf(out + used, size - used, "%s", cmd->help);
}

static void print_command_help(const struct cli_command *cmd) {
  char help[8192];
  printf("Usage: hls %s\n\n%s.\n", cmd->usage, cli_command_summary(cmd));
  cli_command_help(cmd, help, sizeof help);
  if (help[0]) printf("\n%s", help);
  printf("\nCommon options: --home DIR, --json, --help\n");
}

int cli_fail(struct cli *c, int code, const char *fmt, ...) {
  (void)c;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "hls: %s\n", msg);
  return code == HLS_ENOTRUNNING ? HLS_EXIT_NOT_RUNNING : HLS_EXIT_FAIL;
}

int cli_usage(struct cli *c, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "hls: %s. Try 'hls %s%s--help'.\n", msg, c->cmd ? c->cmd->name : "", c->cmd ? " " : "");
  return HLS_EXIT_USAGE;
}

int cli_require_yes(struct cli *c, int argc, char **argv, const char *why_no, bool *go) {
  static const struct option own[] = {{"yes", no_argument, NULL, 'y'}, {NULL, 0, NULL, 0}};
  struct cli_opts o;
  int opt, ec;
  bool yes = false;
  *go = false;
  cli_opts_init(&o, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec; /* --help (0) or bad usage */
    if (opt == 'y') yes = true;
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if (!yes) return cli_usage(c, "%s", why_no);
  *go = true;
  return 0;
}

int cli_refused(struct cli *c, int code, const char *message) {
  bool bad_value = code == HLS_EINVAL || code == HLS_EUTF8 || code == HLS_ETOOBIG;
  if (bad_value && !c->refused_is_failure) return cli_usage(c, "%s", message);
  return cli_fail(c, code, "%s", message);
}

void cli_opts_init(struct cli_opts *o, const struct option *own) {
  size_t n = 0;
  memset(o, 0, sizeof *o);
  for (; own != NULL && own[n].name != NULL && n < 40; n++) o->all[n] = own[n];
  o->all[n++] = (struct option){"json", no_argument, NULL, 0x100};
  o->all[n++] = (struct option){"home", required_argument, NULL, 0x101};
  o->all[n++] = (struct option){"help", no_argument, NULL, 'h'};
  o->all[n] = (struct option){NULL, 0, NULL, 0};
  snprintf(o->shortopts, sizeof o->shortopts, "h");
}

/* Edit distance (Levenshtein) of two short words, for "did you mean". */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 31 || lb > 31) return 99;
  size_t d[32][32];
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]), del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
      d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
  return d[la][lb];
}

/* One line for an option getopt refused (opterr is off): a value
 * missing, or an option the command does not take (and the closest one
 * it does, when one is close). */
static void bad_option(struct cli *c, const struct cli_opts *o, const char *arg) {
  char name[64];
  snprintf(name, sizeof name, "%s", arg != NULL ? arg : "?");
  char *eq = strchr(name, '=');
  if (eq != NULL) *eq = '\0';
  const char *bare = strncmp(name, "--", 2) == 0 ? name + 2 : name[0] == '-' ? name + 1 : name;
  const char *near = NULL;
  size_t best = 3;
  for (const struct option *x = o->all; x->name != NULL; x++) {
    if (strcmp(x->name, bare) == 0 && x->has_arg == required_argument) {
      fprintf(stderr, "hls: %s: option '--%s' needs a value. Try 'hls %s --help'.\n", c->cmd->name, x->name,
              c->cmd->name);
      return;
    }
    size_t d = edit_distance(bare, x->name);
    if (d < best) best = d, near = x->name;
  }
  if (near != NULL)
    fprintf(stderr, "hls: %s: unknown option '%s'. Did you mean '--%s'? Try 'hls %s --help'.\n", c->cmd->name, name,
            near, c->cmd->name);
  else
    fprintf(stderr, "hls: %s: unknown option '%s'. Try 'hls %s --help'.\n", c->cmd->name, name, c->cmd->name);
}

int cli_next_opt(struct cli *c, struct cli_opts *o, int argc, char **argv, int *exit_code) {
  *exit_code = -1;
  opterr = 0;
  for (;;) {
    int index = -1;
    int opt = getopt_long(argc, argv, o->shortopts, o->all, &index);
    /* '--title --scale person': --title took '--scale' for its value. A
     * value that is one of this command's options is a value left out
     * ('--title=--scale' still gives it). */
    if (opt != -1 && opt != '?' && opt != ':' && optarg != NULL && index >= 0 && optind > 0 && optind <= argc &&
        optarg == argv[optind - 1] && strncmp(optarg, "--", 2) == 0 && optarg[2] != '\0') {
      size_t n = strcspn(optarg + 2, "=");
      for (const struct option *x = o->all; x->name != NULL; x++)
        if (strlen(x->name) == n && strncmp(x->name, optarg + 2, n) == 0) {
          cli_usage(c, "option '--%s' needs a value (not the option '%s')", o->all[index].name, optarg);
          *exit_code = HLS_EXIT_USAGE;
          return '?';
        }
    }
    switch (opt) {
      case 0x100: c->json = true; continue;
      case 0x101: c->home_flag = optarg; continue;
      case 'h':
        print_command_help(c->cmd);
        *exit_code = HLS_EXIT_OK;
        return opt;
      case '?':
      case ':':
        bad_option(c, o, optind > 0 && optind <= argc ? argv[optind - 1] : NULL);
        *exit_code = HLS_EXIT_USAGE;
        return opt;
      default: return opt;
    }
  }
}

int cli_resolve_home(struct cli *c, struct hls_why *why) {
  /* HLS_TEST_SYSTEM_HOME: for tests only, which cannot use the real one. */
  const char *system_home = getenv("HLS_TEST_SYSTEM_HOME");
  if (system_home == NULL) system_home = HLS_SYSTEM_HOME;
  return hls_home_resolve_client(c->home_flag, system_home, c->home, &c->home_is_system, why);
}

int cli_connect(struct cli *c) {
  if (c->connected) return 0;
  struct hls_why why = {{0}};
  int rc = cli_resolve_home(c, &why);
  if (rc != 0) return cli_refused(c, rc, why.text); /* --home '' */
  rc = hls_client_connect(&c->client, c->home, c->home_flag != NULL, &why);
  if (rc == HLS_EINVAL) return cli_usage(c, "%s", why.text); /* HLS_TIMEOUT_MS */
  if (rc == HLS_ENOTRUNNING && c->home_is_system)
    hls_why_set(&why, rc, "the system node's hlsd (%s) is not running; start it with: systemctl start hlsd", c->home);
  if (rc != 0) return cli_fail(c, rc, "%s", why.text);
  c->connected = true;
  return 0;
}

int cli_call_events(struct cli *c, struct hls_client_req *r, struct hls_ctl_response *resp, hls_client_event_fn fn,
                    void *ctx) {
  struct hls_why why = {{0}};
  int rc = cli_connect(c);
  if (rc != 0) {
    hls_client_req_free(r);
    return rc;
  }
  rc = hls_client_call(&c->client, r, resp, fn, ctx, &why);
  hls_client_req_free(r);
  if (rc != 0 && c->client.outcome_unknown) {
    fprintf(stderr,
            "hls: %s. The change was sent but hlsd's answer was lost, so it may have been made: check (hls status, "
            "or the list of what it changes) before running it again\n",
            why.text[0] ? why.text : hls_strerror(rc));
    return HLS_EXIT_UNKNOWN;
  }
  if (rc != 0) return cli_refused(c, rc, why.text[0] ? why.text : hls_strerror(rc));
  return 0;
}

int cli_call(struct cli *c, struct hls_client_req *r, struct hls_ctl_response *resp) {
  return cli_call_events(c, r, resp, NULL, NULL);
}

int cli_call_simple(struct cli *c, int argc, char **argv, enum hls_method_id method, struct hls_ctl_response *resp,
                    bool *done) {
  struct cli_params p;
  return cli_params_call(c, argc, argv, method, &p, resp, done);
}

int cli_parse_id(const char *s, int64_t *id) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0) return HLS_EINVAL;
  *id = v;
  return 0;
}

int cli_parse_limit(const char *s, int64_t *limit) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0) return HLS_EINVAL;
  *limit = v;
  return 0;
}

int cli_read_file(const char *path, size_t max, char **data, size_t *len, struct hls_why *why) {
  int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  int rc = 0;
  while (buf != NULL) {
    if (n == cap) {
      if (cap >= max) {
        rc = hls_why_set(why, HLS_ETOOBIG, "%s: larger than %zu bytes", path, max);
        break;
      }
      cap = cap * 2 > max ? max : cap * 2;
      char *p = realloc(buf, cap + 1);
      if (p == NULL) break;
      buf = p;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
      break;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  if (fd != STDIN_FILENO) close(fd);
  if (buf == NULL) return HLS_ENOMEM;
  if (rc != 0) {
    free(buf);
    return rc;
  }
  if (n > max) {
    free(buf);
    return hls_why_set(why, HLS_ETOOBIG, "%s: larger than %zu bytes", path, max);
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

bool cli_reader_gone(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return false;
  struct pollfd p = {.fd = fd, .events = 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

/* hls version: this program's, then hlsd's if it answers (not an error
 * when it does not: hls works without a running node for some commands). */
static int cmd_version(struct cli *c, int argc, char **argv) {
  struct cli_opts o;
  int opt, ec;
  cli_opts_init(&o, NULL);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1)
    if (ec >= 0) return ec;
  if (optind < argc) return cli_usage(c, "this command takes no arguments ('%s'?)", argv[optind]);
  char daemon[64] = "";
  struct hls_why why = {{0}};
  if (cli_resolve_home(c, &why) == 0 &&
      hls_client_connect(&c->client, c->home, c->home_flag != NULL, &why) == 0) {
    c->connected = true;
    struct hls_client_req r;
    struct hls_ctl_response resp;
    hls_client_begin(&c->client, &r, HLS_M_STATUS);
    msgpack_pack_nil(&r.pk);
    if (hls_client_call(&c->client, &r, &resp, NULL, NULL, &why) == 0) {
      hls_out_str(resp.result, "version", daemon, sizeof daemon);
      hls_ctl_response_free(&resp);
    }
    hls_client_req_free(&r);
  }
  if (c->json) {
    json_t *j = json_pack("{s:s, s:s?}", "hls", HLS_VERSION, "hlsd", daemon[0] ? daemon : NULL);
    int rc = j ? hls_out_print_json_value(j) : HLS_ENOMEM;
    json_decref(j);
    return rc == 0 ? 0 : HLS_EXIT_FAIL;
  }
  printf("hls %s\n", HLS_VERSION);
  if (daemon[0]) printf("hlsd %s (running, %s)\n", daemon, c->home);
  return 0;
}

/* hls --methods: {"methods": the table as hlsd's "commands" gives it
 * (with the test methods), "commands": [{name, method, usage, summary}]}. */
static int print_methods(void) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc = msgpack_pack_map(&pk, 2) == 0 && hls_mp_pack_cstr(&pk, "methods") == 0 ? hls_methods_pack(&pk, true)
                                                                                  : HLS_ENOMEM;
  if (rc == 0 && (hls_mp_pack_cstr(&pk, "commands") != 0 || msgpack_pack_array(&pk, N_COMMANDS) != 0)) rc = HLS_ENOMEM;
  for (size_t i = 0; rc == 0 && i < N_COMMANDS; i++) {
    const struct cli_command *cmd = &commands[i];
    if (msgpack_pack_map(&pk, 4) != 0 || hls_mp_pack_kv_str(&pk, "name", cmd->name) != 0 ||
        hls_mp_pack_cstr(&pk, "method") != 0 ||
        (cmd->method == HLS_CLI_NO_METHOD ? msgpack_pack_nil(&pk) : hls_mp_pack_cstr(&pk, hls_methods[cmd->method].name)) != 0 ||
        hls_mp_pack_kv_str(&pk, "usage", cmd->usage) != 0 ||
        hls_mp_pack_kv_str(&pk, "summary", cli_command_summary(cmd)) != 0)
      rc = HLS_ENOMEM;
  }
  if (rc == 0) rc = hls_mp_tree_decode(&tree, sb.data, sb.size, false, HLS_CTL_MAX_VALUES, &why);
  if (rc == 0) {
    rc = hls_out_print_json(&tree.root);
    hls_mp_tree_free(&tree);
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* The command "group SUB" whose SUB is nearest to next, within two edits;
 * NULL if none. */
static const char *closest_subcommand(const char *group, const char *next, char *buf, size_t size) {
  const char *best = NULL;
  size_t best_d = 3, glen = strlen(group);
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
    const char *name = commands[k].name;
    if (strncmp(name, group, glen) != 0 || name[glen] != ' ') continue;
    size_t d = edit_distance(next, name + glen + 1);
    if (d < best_d) {
      snprintf(buf, size, "%s", name);
      best = buf, best_d = d;
    }
  }
  return best;
}

/* Whether a method takes a positional argument (a word of its own). */
static bool takes_positional(int method) {
  const struct hls_method *m = &hls_methods[method];
  for (size_t k = 0; k < m->n_args; k++)
    if (m->args[k].flags & HLS_AF_POS) return true;
  return false;
}

/* The command (or group) name closest to what was typed, within two
 * edits in all: "record lst" -> "record list", "recrod" -> "record". */
static const char *closest_command(const char *word, const char *next, char *buf, size_t size) {
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
    const char *name = commands[k].name, *space = strchr(name, ' ');
    char group[64];
    snprintf(group, sizeof group, "%.*s", space ? (int)(space - name) : (int)strlen(name), name);
    size_t d = edit_distance(word, group);
    const char *say = group;
    if (space != NULL && next != NULL && next[0] != '-') {
      d += edit_distance(next, space + 1);
      say = name;
    }
    if (d < best_d) {
      snprintf(buf, size, "%s", say);
      best = buf, best_d = d;
    }
  }
  return best;
}

/* Match argv against command names of one or two words; two words win
 * ("stories show ID" is not "stories" with arguments). */
static const struct cli_command *find_command(int argc, char **argv, int *words) {
  const struct cli_command *one_word = NULL;
  for (size_t i = 0; i < N_COMMANDS; i++) {
    const char *name = commands[i].name;
    const char *space = strchr(name, ' ');
    if (space == NULL) {
      if (strcmp(argv[0], name) == 0 && one_word == NULL) one_word = &commands[i];
    } else if (argc >= 2 && strncmp(argv[0], name, (size_t)(space - name)) == 0 &&
               argv[0][space - name] == '\0' && strcmp(argv[1], space + 1) == 0) {
      *words = 2;
      return &commands[i];
    }
  }
  if (one_word != NULL) *words = 1;
  return one_word;
}

int main(int argc, char **argv) {
  struct cli c;
  memset(&c, 0, sizeof c);
  c.client.fd = -1;
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0) {
    fprintf(stderr, "hls: libsodium failed to initialise\n");
    return HLS_EXIT_FAIL;
  }
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      c.json = true;
    } else if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
      c.home_flag = argv[++i];
    } else if (strcmp(argv[i], "--home") == 0) {
      fprintf(stderr, "hls: option '--home' needs a value. Try 'hls --help'.\n");
      return HLS_EXIT_USAGE;
    } else if (strncmp(argv[i], "--home=", 7) == 0) {
      c.home_flag = argv[i] + 7;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_usage(stdout);
      return HLS_EXIT_OK;
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("hls %s\n", HLS_VERSION);
      return HLS_EXIT_OK;
    } else if (strcmp(argv[i], "--methods") == 0) {
      /* Not in --help: the method table and hls's commands on it, as
       * JSON, for tests/unit/check_docs.py. */
      return print_methods() == 0 ? HLS_EXIT_OK : HLS_EXIT_FAIL;
    } else if (strcmp(argv[i], "--man") == 0 || strcmp(argv[i], "--bash-completion") == 0) {
      /* Not in --help: the build writes hls(1) and the completion with
       * them, from the tables above. */
      const struct cli_tables t = {commands, N_COMMANDS, global_options, N_GLOBAL_OPTIONS};
      int rc = argv[i][2] == 'm' ? cli_manpage_write(stdout, &t) : cli_completion_write(stdout, &t);
      return rc == 0 ? HLS_EXIT_OK : HLS_EXIT_FAIL;
    } else {
      fprintf(stderr, "hls: unknown option '%s'. Try 'hls --help'.\n", argv[i]);
      return HLS_EXIT_USAGE;
    }
  }
  if (i >= argc) {
    print_usage(stderr);
    return HLS_EXIT_USAGE;
  }
  if (strcmp(argv[i], "help") == 0) {
    int words = 0;
    const struct cli_command *cmd = i + 1 < argc ? find_command(argc - i - 1, argv + i + 1, &words) : NULL;
    if (cmd) print_command_help(cmd);
    else if (i + 1 >= argc || print_group(stdout, argv[i + 1]) == 0) print_usage(stdout); /* hls help record */
    return HLS_EXIT_OK;
  }
  int words = 0;
  const struct cli_command *cmd = find_command(argc - i, argv + i, &words);
  /* A group's own command with a word that is not its argument but a
   * mistyped command of the group ('patterns shw'): say so, as for any
   * mistyped command. Only where the command takes no word of its own. */
  if (cmd != NULL && words == 1 && i + 1 < argc && argv[i + 1][0] != '-' && cmd->method != HLS_CLI_NO_METHOD &&
      !takes_positional(cmd->method)) {
    char guess[64];
    const char *near = closest_subcommand(argv[i], argv[i + 1], guess, sizeof guess);
    if (near != NULL) {
      fprintf(stderr, "hls: unknown command '%s %s'. Did you mean 'hls %s'? Try 'hls --help'.\n", argv[i], argv[i + 1],
              near);
      return HLS_EXIT_USAGE;
    }
  }
  if (cmd == NULL) {
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    bool help = next && (strcmp(next, "--help") == 0 || strcmp(next, "-h") == 0 || strcmp(next, "help") == 0);
    if (help && print_group(stdout, argv[i]) > 0) return HLS_EXIT_OK;
    if (next == NULL && print_group_line(argv[i]) > 0) return HLS_EXIT_USAGE;
    char guess[64];
    const char *near = closest_command(argv[i], next, guess, sizeof guess);
    if (near != NULL)
      fprintf(stderr, "hls: unknown command '%s%s%s'. Did you mean 'hls %s'? Try 'hls --help'.\n", argv[i],
              next ? " " : "", next ? next : "", near);
    else
      fprintf(stderr, "hls: unknown command '%s%s%s'. Try 'hls --help'.\n", argv[i], next ? " " : "", next ? next : "");
    return HLS_EXIT_USAGE;
  }
  c.cmd = cmd;
  /* The command sees argv from its last word, like a program of its own. */
  int sub_argc = argc - i - words + 1;
  char **sub_argv = argv + i + words - 1;
  optind = 1;
  int rc = cmd->fn(&c, sub_argc, sub_argv);
  hls_client_close(&c.client);
  /* A reader that stopped early (| head) took what it wanted: not an
   * error to report into the pipe line, nor an exit code. */
  int flushed = fflush(stdout), flush_errno = errno;
  if ((flushed != 0 || ferror(stdout)) && cli_reader_gone(STDOUT_FILENO)) return HLS_EXIT_OK;
  if (flushed != 0 && rc == 0) {
    fprintf(stderr, "hls: cannot write output: %s\n", strerror(flush_errno));
    rc = HLS_EXIT_FAIL;
  }
  return rc;
}
