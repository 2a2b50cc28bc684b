#!/usr/bin/env bash
# Gossip replication between real hlsd processes on loopback: six nodes in
# a line (n1 - n2 - ... - n6, each listing only its right-hand neighbour),
# and a seventh with another network key.
#   - a network story published at one end reaches the other end, body too;
#   - a peers story reaches only the bodies of its origin's direct peers;
#   - a withdrawal erases a story's body on every node;
#   - a node stopped while items are published catches up after its restart;
#   - a partition (the middle node stopped, both sides publishing) heals;
#   - a node its origin lists later gets a peers story's body (WANT), and
#     one it does not list gets nothing when it asks;
#   - a node with the wrong network key gets nothing;
#   - the counters of hls status agree with the items held, a catch-up
#     costs one signature check per batch, not per item, and no node logs
#     an error or a protocol violation.
. "$(dirname "$0")/lib.sh"

# Fast timers. network.advertise stays empty (the default), so peer
# exchange has no address to dial and the line keeps its shape.
# publish.delay is long: items are published only by approvals,
# withdrawals and hls share publish, when the test says so.
FAST=(--set publish.delay=1h --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
LINE=(n1 n2 n3 n4 n5 n6)

init_node n1
key=$(hls_at n1 network key)
for n in "${LINE[@]:1}"; do init_node "$n" --network-key "$key"; done
init_node n7   # a network of its own
declare -A ID=() ADDR=()
for n in "${LINE[@]}" n7; do
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
for i in 1 2 3 4 5; do hls_at "n$i" peer add "${ADDR[n$((i + 1))]}" "${ID[n$((i + 1))]}" >/dev/null; done
hls_at n7 peer add "${ADDR[n6]}" "${ID[n6]}" >/dev/null

# --- helpers ---------------------------------------------------------------------
gossip() { hls_at "$1" --json status | jq -c .gossip; }
# heads NODE: the chains it follows as a sorted list of [origin, head].
heads() { hls_at "$1" --json status | jq -c '[.gossip.heads[] | [.origin, .head]] | sort'; }
# head_of NODE ORIGIN_NODE: the head NODE holds of ORIGIN_NODE's chain (0 if none).
head_of() { hls_at "$1" --json status | jq --arg o "${ID[$2]}" '[.gossip.heads[] | select(.origin == $o) | .head] | .[0] // 0'; }
head_is() { [ "$(head_of "$1" "$2")" = "$3" ]; }
chain_seq() { hls_at "$1" --json status | jq .chain.seq; }
# body_at NODE ORIGIN_NODE SEQ: held, stub, erased, or nothing if the item is not held.
body_at() {
  { hls_at "$1" --json items --origin "${ID[$2]}" 2>/dev/null || echo '[]'; } |
    jq -r --argjson s "$3" '.[] | select(.seq == $s) | .body'
}
holds() { [ -n "$(body_at "$1" "$2" "$3")" ]; }
body_is() { [ "$(body_at "$1" "$2" "$3")" = "$4" ]; }
# converged: all six hold the same heads of six chains, and none knows of
# items it lacks. (One status call a node: this is polled.)
converged() {
  local ref="" cur n
  for n in "${LINE[@]}"; do
    cur=$(hls_at "$n" --json status | jq -c '.gossip | select(.behind == 0 and .syncing == false
      and (.heads | length) == 6) | [.heads[] | [.origin, .head]] | sort') || return 1
    [ -n "$cur" ] && [ "$cur" = "${ref:=$cur}" ] || return 1
  done
}
show_heads() { for n in "${LINE[@]}"; do echo "# $n: $(heads "$n")" >&2; done; }
# story NODE TITLE CONSENT TEXT: a record with that consent, approved
# (which publishes it at once); prints the record id.
story() {
  local r
  r=$(hls_at "$1" --json record add --title "$2" --scale place --stage reflect --theme gossip --consent "$3" \
    --consent-by lead --date 2026-03-04 --tried "We tried it" --learnt "$4" | jq -r .id)
  hls_at "$1" share approve "$r" >/dev/null
  # "At once" is hlsd's next loop turn, after its reply: wait for it.
  wait_for 10 story_published "$1" "$r" || fail "$1 did not publish the story of record $r"
  echo "$r"
}
story_published() {
  hls_at "$1" --json share log | jq -e --argjson r "$2" 'any(.[]; .type == "story" and .record == $r)'
}
story_seq() {
  hls_at "$1" --json share log | jq -r --argjson r "$2" '[.[] | select(.type == "story" and .record == $r)][0].seq'
}
# db_has NODE TEXT: TEXT is somewhere in NODE's data directory (database,
# WAL, anything), as raw bytes.
db_has() { grep -r -q -a -F -e "$2" "$WORK/$1"; }
# items_with NODE TEXT: rows of NODE's items table whose body holds TEXT
# (read-only, beside the running hlsd; python3 rather than the sqlite3
# shell, which .ci/install-deps does not install).
items_with() {
  python3 - "$WORK/$1/hlsd.db" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=5)
print(db.execute("SELECT count(*) FROM items WHERE instr(body, ?) > 0", (sys.argv[2].encode(),)).fetchone()[0])
PY
}

# line_shape: every node has gossip sessions with its neighbours only.
line_shape() {
  local n want
  for n in "${LINE[@]}"; do
    case $n in n1 | n6) want=1 ;; *) want=2 ;; esac
    [ "$(gossip "$n" | jq .sessions)" = "$want" ] || return 1
  done
}
show_sessions() { for n in "${LINE[@]}"; do echo "# $n: $(gossip "$n" | jq .sessions) sessions" >&2; done; }

# --- the line ----------------------------------------------------------------------
wait_for 20 converged || { show_heads; fail "the line did not converge on the six profiles"; }
line_shape || { show_sessions; fail "not a line: a shortcut, or a neighbour missing"; }
for n in "${LINE[@]}"; do
  [ "$(hls_at "$n" --json peer list | jq length)" -le 2 ] || fail "$n knows more than its neighbours"
done
pass "six nodes in a line: each talks to its neighbours only, and all hold the six profiles"

# --- a network story crosses the line --------------------------------------------
NET_TEXT="net-story-$RANDOM$RANDOM crossed the whole line"
net_rec=$(story n1 "Across the line" network "$NET_TEXT")
hls_at n1 share publish >/dev/null
net_seq=$(story_seq n1 "$net_rec")
[ "$net_seq" != null ] || fail "the approved network story was not published"
wait_for 20 body_is n6 n1 "$net_seq" held || fail "the network story's body did not reach n6 ($(body_at n6 n1 "$net_seq"))"
[ "$(hls_at n6 --json stories show "${ID[n1]}:$net_seq" | jq -r .learnt)" = "$NET_TEXT" ] \
  || fail "n6 does not show the story's text"
for n in "${LINE[@]}"; do
  body_is "$n" n1 "$net_seq" held || fail "$n lacks the body of the network story"
  # (Also the positive control of the items-table search used below.)
  [ "$(items_with "$n" "$NET_TEXT")" = 1 ] || fail "the story's text is not in $n's items table"
done
pass "a network story published at n1 reaches n6 with its body, through four relays"

# --- a peers story: bodies only at its origin's direct peers -----------------------
# The rule (consent.md): the body of a peers story goes only to the nodes
# its ORIGIN's admin listed with hls peer add. n3 listed n4; n2 listed n3,
# but that makes n3 a direct peer of n2, not n2 one of n3. So the body is
# at n3 and n4 only; everyone else, n2 included, holds the signed header.
PEERS_TEXT="peers-story-$RANDOM$RANDOM for neighbours only"
peers_rec=$(story n3 "Next door only" peers "$PEERS_TEXT")
peers_seq=$(story_seq n3 "$peers_rec")
for n in "${LINE[@]}"; do wait_for 20 holds "$n" n3 "$peers_seq" || fail "$n never got the peers story's item"; done
wait_for 10 converged || { show_heads; fail "no convergence after the peers story"; }
for n in "${LINE[@]}"; do
  case $n in n3 | n4) want=held ;; *) want=stub ;; esac
  got=$(body_at "$n" n3 "$peers_seq")
  [ "$got" = "$want" ] || fail "peers story at $n: body $got, expected $want"
done
[ "$(hls_at n4 --json stories show "${ID[n3]}:$peers_seq" | jq -r .learnt)" = "$PEERS_TEXT" ] \
  || fail "n4 (a direct peer of n3) cannot read the peers story"
hls_at n2 --json stories | jq -e --arg t "Next door only" 'all(.title != $t)' >/dev/null \
  || fail "n2 lists the peers story without holding its body"
# Not a byte of it anywhere else (the positive control: the same search
# finds it at n4).
db_has n4 "$PEERS_TEXT" || fail "the text search does not find the body where it is held"
for n in n1 n2 n5 n6; do ! db_has "$n" "$PEERS_TEXT" || fail "the peers story's text is in $n's data directory"; done
pass "a peers story: body at n3 and its direct peer n4, stubs at n1 n2 n5 n6, its text nowhere else"

# --- withdrawal erases the network story everywhere --------------------------------
hls_at n1 consent withdraw "$net_rec" >/dev/null
for n in "${LINE[@]}"; do
  wait_for 20 body_is "$n" n1 "$net_seq" erased || fail "the withdrawn story's body is still $(body_at "$n" n1 "$net_seq") at $n"
done
for n in "${LINE[@]}"; do
  [ "$(gossip "$n" | jq .erased)" -ge 1 ] || fail "$n counts no erased body"
  # The items table holds no copy. (The raw file may: SQLite leaves old
  # page images in the WAL and in free pages until they are reused, and
  # hlsd does not set secure_delete, so only the table is asserted.)
  [ "$(items_with "$n" "$NET_TEXT")" = 0 ] || fail "the withdrawn story's text is still in $n's items table"
done
! hls_at n6 --json stories show "${ID[n1]}:$net_seq" >/dev/null 2>&1 || fail "n6 still shows the withdrawn story"
pass "withdrawal at n1: a tombstone erases the story's body on all six nodes"

# --- a stopped node catches up after its restart -----------------------------------
stop_node n4
n6_before=$(gossip n6)
old=$(head_of n6 n1)
# Every chain's head at n6: a restarted node publishes what it owes (the
# erasure receipt of the withdrawal above, docs/protocol.md 4.5), so n6
# may get items of n4's chain too in the catch-up.
heads_sum() { hls_at "$1" --json status | jq '[.gossip.heads[].head] | add'; }
n6_sum_before=$(heads_sum n6)
for i in 1 2 3 4 5 6 7 8; do story n1 "While n4 was down $i" network "Learnt while n4 was down ($i)" >/dev/null; done
# One of them is withdrawn before n4 is back: it must reach n4, n5 and n6
# already erased, its body never.
GONE_TEXT="gone-story-$RANDOM$RANDOM withdrawn while n4 was down"
gone_rec=$(story n1 "Withdrawn while n4 was down" network "$GONE_TEXT")
gone_seq=$(story_seq n1 "$gone_rec")
hls_at n1 consent withdraw "$gone_rec" >/dev/null
hls_at n1 share publish >/dev/null
h1=$(chain_seq n1)
[ "$h1" -ge $((old + 10)) ] || fail "n1 published $((h1 - old)) items, expected at least 10"
wait_for 20 head_is n3 n1 "$h1" || fail "n3 did not get n1's new items"
wait_for 20 body_is n3 n1 "$gone_seq" erased || fail "n3 did not erase the story withdrawn while n4 was down"
# The line is cut at n4: n5 and n6 have no way to get them.
head_is n5 n1 "$old" && head_is n6 n1 "$old" || fail "n1's items crossed the stopped n4"
start_node n4 --listen "${ADDR[n4]}" "${FAST[@]}"
wait_for 30 converged || { show_heads; fail "no convergence after n4 restarted"; }
head_is n6 n1 "$h1" || fail "n6 did not catch up with n1"
for n in n4 n5 n6; do
  body_is "$n" n1 "$gone_seq" erased || fail "the story withdrawn while n4 was down is $(body_at "$n" n1 "$gone_seq") at $n"
  ! db_has "$n" "$GONE_TEXT" || fail "the body of the story withdrawn while n4 was down reached $n"
done
n6_after=$(gossip n6)
received=$(( $(jq .items_received <<<"$n6_after") - $(jq .items_received <<<"$n6_before") ))
checks=$(( $(jq .signature_checks <<<"$n6_after") - $(jq .signature_checks <<<"$n6_before") ))
new_items=$(( $(heads_sum n6) - n6_sum_before ))
[ "$new_items" -ge $((h1 - old)) ] || fail "n6 holds $new_items new items, fewer than n1's $((h1 - old))"
[ "$received" = "$new_items" ] || fail "n6 received $received items in the catch-up, expected $new_items (n1's $((h1 - old)))"
# One batch per hop carries them all, with one signature check (plus the
# hash links): far fewer checks than items.
[ $((checks * 4)) -le "$received" ] || fail "catch-up: $checks signature checks for $received items at n6"
pass "n4 stopped while n1 published $((h1 - old)) items: n5 n6 cut off, then caught up ($received items, $checks signature checks at n6)"

# --- a partition heals ----------------------------------------------------------------
# The middle node fails (SIGKILL: no goodbye, its store recovers from the
# WAL at the restart): {n1, n2} | {n4, n5, n6}.
kill_node n3
h6_old=$(chain_seq n6) h1_old=$(chain_seq n1)
story n1 "Left side 1" network "Learnt on the left (1)" >/dev/null
story n1 "Left side 2" network "Learnt on the left (2)" >/dev/null
story n6 "Right side 1" network "Learnt on the right (1)" >/dev/null
story n6 "Right side 2" network "Learnt on the right (2)" >/dev/null
story n5 "Right side 3" network "Learnt on the right (3)" >/dev/null
h1=$(chain_seq n1) h5=$(chain_seq n5) h6=$(chain_seq n6)
wait_for 20 head_is n2 n1 "$h1" || fail "n2 did not get n1's items during the partition"
wait_for 20 head_is n4 n6 "$h6" || fail "n4 did not get n6's items during the partition"
for n in n4 n5 n6; do head_is "$n" n1 "$h1_old" || fail "n1's items crossed the partition to $n"; done
for n in n1 n2; do head_is "$n" n6 "$h6_old" || fail "n6's items crossed the partition to $n"; done
start_node n3 --listen "${ADDR[n3]}" "${FAST[@]}"
wait_for 30 converged || { show_heads; fail "the partition did not heal"; }
for n in "${LINE[@]}"; do
  [ "$(head_of "$n" n1) $(head_of "$n" n5) $(head_of "$n" n6)" = "$h1 $h5 $h6" ] || fail "$n missed items of the partition"
done
[ "$(hls_at n1 --json stories --place "${ID[n6]}" | jq '[.[] | select(.title | startswith("Right side"))] | length')" = 2 ] \
  || fail "n1 cannot read n6's stories from the partition"
pass "partition: n3 killed while both sides published; after its restart all six converge"

# --- a direct peer added later gets the peers story's body -----------------------------
# n2 holds n3's peers story as a stub, and asked n3 for its body (WANT) when
# their new session started above: n3 gave nothing, n2 is not its direct peer.
body_is n2 n3 "$peers_seq" stub && ! db_has n2 "$PEERS_TEXT" || fail "n3 gave the peers story's body to n2, which it does not list"
# Now n3's admin lists n2 too, while they are connected: n3 restarts the
# session (reason=listed), and in the new one n2 asks again and gets it.
hls_at n3 peer add "${ADDR[n2]}" "${ID[n2]}" >/dev/null
wait_for 20 body_is n2 n3 "$peers_seq" held || fail "n2, now listed by n3, did not get the peers story's body ($(body_at n2 n3 "$peers_seq"))"
grep -q "peer=${ID[n2]} .*reason=listed" "$WORK/n3.log" || fail "n3 did not restart the session with n2 when it listed it"
[ "$(hls_at n2 --json stories show "${ID[n3]}:$peers_seq" | jq -r .learnt)" = "$PEERS_TEXT" ] \
  || fail "n2 cannot read the peers story"
for n in n1 n5 n6; do body_is "$n" n3 "$peers_seq" stub || fail "peers story at $n: $(body_at "$n" n3 "$peers_seq")"; done
pass "a WANT from n2 got nothing from n3; once n3 lists n2 (session restarted, reason=listed), n2 gets the body; n1 n5 n6 keep the stub"

# --- another network key gets nothing -------------------------------------------------
wait_for 10 grep -q "reason=handshake_failed" "$WORK/n6.log" || fail "n6 did not log n7's failed handshake"
g7=$(gossip n7)
jq -e --arg me "${ID[n7]}" --argjson seq "$(chain_seq n7)" '.chains == 1 and .items == $seq and .sessions == 0
  and .items_received == 0 and (.heads | length == 1 and .[0].origin == $me)' <<<"$g7" >/dev/null \
  || fail "n7 (another network key) got something: $g7"
hls_at n7 --json peer list | jq -e 'all(.state != "connected")' >/dev/null || fail "n7 connected to n6"
for n in "${LINE[@]}"; do
  heads "$n" | jq -e --arg x "${ID[n7]}" 'all(.[0] != $x)' >/dev/null || fail "$n follows n7's chain"
done
pass "n7, with another network key, has only its own chain; n6 refused it (handshake_failed)"

# --- what held and what counters say --------------------------------------------------
# (n2 and n3 now list each other: of two sessions dialled at once, one is
# closed as duplicate_session; the line keeps its shape.)
wait_for 20 converged || { show_heads; fail "no convergence after n3 listed n2"; }
wait_for 10 line_shape || { show_sessions; fail "after the restarts, not a line any more"; }
for n in "${LINE[@]}"; do
  g=$(gossip "$n")
  # Stubs: the peers story, everywhere but at n2, n3 and n4. Erased: the
  # two withdrawn stories.
  case $n in n2 | n3 | n4) stubs=0 ;; *) stubs=1 ;; esac
  jq -e --argjson stubs "$stubs" '.chains == 6 and .items == .bodies_held + .stubs + .erased
    and .items == ([.heads[].head] | add) and .stubs == $stubs and .erased == 2
    and .forks == [] and (.heads | all(.forked == false and .behind == 0))' \
    <<<"$g" >/dev/null || fail "$n's gossip counters do not add up: $g"
  # The two withdrawn stories stay erased after all the restarts; the peers
  # story's body is where it was.
  case $n in n2 | n3 | n4) want=held ;; *) want=stub ;; esac
  got=$(hls_at "$n" --json items | jq -r --arg n1 "${ID[n1]}" --arg n3 "${ID[n3]}" --argjson net "$net_seq" \
    --argjson gone "$gone_seq" --argjson peers "$peers_seq" '[.[] | select((.origin == $n1 and (.seq == $net or .seq == $gone))
    or (.origin == $n3 and .seq == $peers))] | sort_by(.origin != $n1, .seq) | map(.body) | join(" ")')
  [ "$got" = "erased erased $want" ] || fail "at $n, the withdrawn stories and the peers story are: $got"
done
for n in n1 n5 n6; do ! db_has "$n" "$PEERS_TEXT" || fail "the peers story's text reached $n after the restarts"; done
# Items that arrive one at a time (live pushes) cost a check each; the
# catch-ups above came in batches of one check. (signature_checks also
# counts the check of the last item of each batch n6 sends.)
g6=$(gossip n6)
jq -e '.items_received > 0 and .signature_checks < .items_received' <<<"$g6" >/dev/null \
  || fail "n6 checked a signature for every item received (no batch verification): $g6"
pass "counters: items = held + stubs + erased = sum of heads on every node; n6 $(jq -r '"received \(.items_received) items with \(.signature_checks) signature checks"' <<<"$g6")"

# --- withdrawing the peers story erases it at stubs and bodies alike ---------------------
hls_at n3 consent withdraw "$peers_rec" >/dev/null
for n in "${LINE[@]}"; do
  wait_for 20 body_is "$n" n3 "$peers_seq" erased || fail "the withdrawn peers story is still $(body_at "$n" n3 "$peers_seq") at $n"
done
for n in n2 n3 n4; do [ "$(items_with "$n" "$PEERS_TEXT")" = 0 ] || fail "the withdrawn peers story's text is still in $n's items table"; done
wait_for 10 converged || { show_heads; fail "no convergence after the peers story's withdrawal"; }
for n in "${LINE[@]}"; do
  jq -e '.stubs == 0 and .erased == 3' <<<"$(gossip "$n")" >/dev/null || fail "$n after the last withdrawal: $(gossip "$n")"
done
pass "withdrawing the peers story erases its body at n2 n3 n4 and its stub everywhere else"

# Nothing went wrong on the way: no errors, no protocol violations, no forks,
# no session dropped for a slow reader or a local failure.
for n in "${LINE[@]}"; do
  ! grep -E "level=error|event=peer_bad_frame|event=fork_detected|reason=(bad_frame|backed_off|slow_reader|local_error)" \
    "$WORK/$n.log" || fail "$n logged a failure (above)"
done
pass "no errors, violations, forks or dropped sessions in the logs"

for n in "${LINE[@]}" n7; do stop_node "$n"; done
