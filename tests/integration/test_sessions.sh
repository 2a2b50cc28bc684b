#!/usr/bin/env bash
# One session per peer, whatever order sessions open and close in.
#
# 1. Hostile: a member whose key sorts below hlsd's opens a session, sends
#    its vector, opens a second one (which replaces the first) and sends an
#    item on it. Storing the item pushes it to every gossip session, so a
#    session left over from the first connection would be used after that
#    connection is freed (ASan: heap-use-after-free in hls_conn_send). Many
#    rounds, each with a fresh member.
# 2. Honest: two nodes that list each other restart at the same moment, many
#    rounds; both dial at once (duplicate sessions) while each has a new
#    profile item for the other, so items flow during the race.
# Afterwards both nodes are alive, serve, and stop cleanly (under ASan: no
# error, no leak).
. "$(dirname "$0")/lib.sh"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse binary}"
ROUNDS_HOSTILE=${ROUNDS_HOSTILE:-150}
ROUNDS_HONEST=${ROUNDS_HONEST:-20}

init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
init_node mallory --network-key "$key" # identity file only; peer_abuse makes fresh ones
# Level debug: every duplicate session is logged (at the default levels
# repeated lines are counted, not written: daemon/log.h).
start_node a --log-level debug
addr_a=$(hls_at a --json status | jq -r .listening_on)
id_a=$(hls_at a --json status | jq -r .node_id)

if [ "$ROUNDS_HOSTILE" -gt 0 ]; then
  "$PEER_ABUSE" dup-session "$addr_a" "$id_a" "$WORK/mallory" "$ROUNDS_HOSTILE" >"$WORK/dup.conns" ||
    fail "dup-session: hlsd did not acknowledge an item after a session was replaced"
  kill -0 "${DAEMON_PID[a]}" 2>/dev/null || fail "hlsd a died"
  dups=$(grep -c 'reason=duplicate_session' "$WORK/a.log" || true)
  [ "$dups" -ge "$ROUNDS_HOSTILE" ] || fail "only $dups duplicate sessions logged for $ROUNDS_HOSTILE rounds"
  chains=$(hls_at a --json status | jq .gossip.chains)
  [ "$chains" -ge "$ROUNDS_HOSTILE" ] || fail "a holds $chains chains, want each member's ($ROUNDS_HOSTILE)"
  pass "hostile: $ROUNDS_HOSTILE rounds of a member replacing its own session, then sending an item: all served"
fi

# The honest version. Fixed ports, so that each node can list the other.
start_node b
addr_b=$(hls_at b --json status | jq -r .listening_on)
id_b=$(hls_at b --json status | jq -r .node_id)
hls_at a peer add "$addr_b" "$id_b" >/dev/null
hls_at b peer add "$addr_a" "$id_a" >/dev/null
connected() { hls_at "$1" --json peer list | jq -e --arg id "$2" '.[] | select(.node_id == $id and .state == "connected")'; }
wait_for 20 connected a "$id_b" || fail "a did not connect to b"

# holds NODE ID PLACE: NODE has ID's profile naming PLACE.
holds() { hls_at "$1" --json places | jq -e --arg id "$2" --arg p "$3" '.[] | select(.node_id == $id and .place == $p)'; }
from_a=$(wc -l <"$WORK/a.log") from_b=$(wc -l <"$WORK/b.log")
for r in $(seq 1 "$ROUNDS_HONEST"); do
  stop_node a
  stop_node b
  # Both at the same moment, each with a new place name: a new profile item
  # each has and the other lacks.
  "$HLSD" --home "$WORK/a" --listen "$addr_a" --set "node.place=Place a $r" >>"$WORK/a.log" 2>&1 &
  DAEMON_PID[a]=$!
  "$HLSD" --home "$WORK/b" --listen "$addr_b" --set "node.place=Place b $r" >>"$WORK/b.log" 2>&1 &
  DAEMON_PID[b]=$!
  wait_for 20 holds a "$id_b" "Place b $r" || fail "round $r: a did not get b's new profile"
  wait_for 20 holds b "$id_a" "Place a $r" || fail "round $r: b did not get a's new profile"
done
kill -0 "${DAEMON_PID[a]}" 2>/dev/null && kill -0 "${DAEMON_PID[b]}" 2>/dev/null || fail "a node died"
races=$( (tail -n +"$((from_a + 1))" "$WORK/a.log"; tail -n +"$((from_b + 1))" "$WORK/b.log") |
  grep -c 'peer_closed .*reason=duplicate_session' || true)
stop_node a
stop_node b
! grep -E 'ERROR: AddressSanitizer|runtime error' "$WORK/a.log" "$WORK/b.log" || fail "sanitizer report"
pass "honest: $ROUNDS_HONEST simultaneous restarts of two nodes that list each other ($races duplicate sessions" \
  "closed): items exchanged every round, both stop cleanly"
