#!/usr/bin/env bash
# Peers through hls on real hlsd processes: nodes with the same network key
# connect and exchange frames; other keys cannot; allow-list mode, blocks,
# removal, re-dialling after a restart, and the counters of hls peer list.
. "$(dirname "$0")/lib.sh"

init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
init_node c --network-key "$key"
init_node x   # another network
for n in a b c x; do start_node "$n" --set network.keepalive=1s --set network.reconnect_min=200ms --set network.reconnect_max=1s; done
addr() { hls_at "$1" --json status | jq -r .listening_on; }
nid() { hls_at "$1" --json status | jq -r .node_id; }
state() { hls_at "$1" --json peer list | jq -r --arg id "$2" '.[] | select(.node_id==$id) | .state'; }
connected() { [ "$(state "$1" "$2")" = connected ]; }

# Same network key: connected both ways, frames flow (keepalive pings).
hls_at a peer add "$(addr b)" "$(nid b)" >/dev/null
wait_for 10 connected a "$(nid b)" || fail "a did not connect to b"
wait_for 10 connected b "$(nid a)" || fail "b does not see a"
wait_for 10 bash -c "[ \$('$HLS' --home '$WORK/a' --json peer list | jq '.[0].bytes_in') -gt 300 ]" \
  || fail "no frames from b after the handshake"
pl=$(hls_at a --json peer list)
jq -e '.[0] | has("node_id") and has("address") and has("state") and has("last_seen") and has("bytes_in") and has("bytes_out") and has("failures")' \
  <<<"$pl" >/dev/null || fail "peer list fields: $pl"
[ "$(hls_at a --json status | jq .peers_connected)" = 1 ] || fail "status peers_connected"
pass "same network key: connected, frames exchanged (keepalive), peer list counters"

# Another network key: never connects; both sides log the reason.
hls_at a peer add "$(addr x)" "$(nid x)" >/dev/null
wait_for 10 grep -q "reason=handshake_failed" "$WORK/x.log" || fail "x did not log the failed handshake"
wait_for 10 bash -c "[ \$('$HLS' --home '$WORK/a' --json peer list | jq --arg id '$(nid x)' '.[] | select(.node_id==\$id) | .failures') -ge 2 ]" \
  || fail "a does not retry x with back-off"
! connected a "$(nid x)" || fail "connected across networks"
[ "$(hls_at x --json peer list | jq length)" = 0 ] || fail "x learnt something about a"
pass "another network key: refused, logged, retried with back-off"

# Allow-list mode: c (same key, not listed) is refused by b. (b keeps its
# port across restarts so a can find it again.)
b_addr=$(addr b)
stop_node b
start_node b --listen "$b_addr" --set network.accept=listed --set network.keepalive=1s --set network.reconnect_min=200ms
hls_at c peer add "$(addr b)" "$(nid b)" >/dev/null
wait_for 10 grep -q "peer=$(nid c) .*reason=not_listed" "$WORK/b.log" || fail "b did not refuse unlisted c"
! connected c "$(nid b)" || fail "c connected to b in listed mode"
# a was never added on b either: b refuses a's dial too.
wait_for 10 grep -q "peer=$(nid a) .*reason=not_listed" "$WORK/b.log" || fail "b did not refuse unlisted a"
hls_at b peer add "$(addr a)" "$(nid a)" >/dev/null
wait_for 10 connected b "$(nid a)" || fail "listed a cannot connect to b"
pass "allow-list mode: unlisted members refused, listed ones connect"

# Block: a blocks b; the session ends and stays down in both directions.
hls_at a peer block "$(nid b)" >/dev/null
wait_for 10 bash -c "! '$HLS' --home '$WORK/b' --json peer list | jq -e '.[] | select(.state==\"connected\")' >/dev/null" \
  || fail "block did not end the session"
[ "$(state a "$(nid b)")" = blocked ] || fail "state after block"
wait_for 10 grep -q "peer=$(nid b) .*reason=blocked" "$WORK/a.log" || fail "a did not refuse blocked b"
hls_at a peer unblock "$(nid b)" >/dev/null
wait_for 10 connected a "$(nid b)" || fail "unblock did not reconnect"
pass "block ends a session and refuses the peer; unblock lets it back"

# Remove: a forgets c entirely.
hls_at a peer add "$(addr c)" "$(nid c)" >/dev/null
wait_for 10 connected a "$(nid c)" || fail "a did not connect to c"
hls_at a peer remove "$(nid c)" >/dev/null
[ -z "$(state a "$(nid c)")" ] || fail "removed peer still listed"
grep -q "peer=$(nid c) .*reason=removed" "$WORK/a.log" || fail "removal not logged"
expect_fail 1 "no such peer" hls_at a peer remove "$(nid c)"
pass "remove forgets a peer"

# A block stands until an unblock: peer add refuses a blocked node (and
# changes nothing), and peer remove forgets its address, not its block.
hls_at a peer block "$(nid c)" >/dev/null
expect_fail 1 "blocked" hls_at a peer add "$(addr c)" "$(nid c)"
[ "$(state a "$(nid c)")" = blocked ] || fail "state after a refused peer add: $(state a "$(nid c)")"
out=$(hls_at a peer remove "$(nid c)") || fail "peer remove of a blocked peer: $out"
grep -q "stays blocked" <<<"$out" || fail "peer remove did not say the block stays: $out"
[ "$(state a "$(nid c)")" = blocked ] || fail "peer remove lifted the block: state '$(state a "$(nid c)")'"
hls_at a --json peer remove "$(nid c)" | jq -e '.change == "removed" and .blocked == true' >/dev/null \
  || fail "peer remove --json of a blocked peer"
hls_at a --json peer list | jq -e --arg id "$(nid c)" '.[] | select(.node_id==$id) | (.address // "") == ""' \
  >/dev/null || fail "a blocked peer removed kept its address: $(hls_at a --json peer list)"
hls_at a peer unblock "$(nid c)" >/dev/null || fail "unblock after remove"
out=$(hls_at a peer remove "$(nid c)") || fail "peer remove after the unblock: $out"
! grep -q "blocked" <<<"$out" || fail "peer remove after the unblock: $out"
[ -z "$(state a "$(nid c)")" ] || fail "unblocked and removed, still listed: $(state a "$(nid c)")"
pass "a blocked peer: peer add refused, peer remove keeps the block until unblocked"

# Restart: a re-dials b by itself, back-off grows while b is down.
b_id=$(nid b)
stop_node b
wait_for 10 bash -c "[ \$('$HLS' --home '$WORK/a' --json peer list | jq --arg id '$b_id' '.[] | select(.node_id==\$id) | .failures') -ge 2 ]" \
  || fail "no failed attempts while b is down"
start_node b --listen "$b_addr" --set network.accept=listed --set network.keepalive=1s
wait_for 20 connected a "$(nid b)" || fail "a did not reconnect to b after its restart"
before=$(hls_at a --json peer list | jq --arg id "$(nid b)" '.[] | select(.node_id==$id) | .bytes_in')
a_addr=$(addr a)
stop_node a
start_node a --listen "$a_addr" --set network.keepalive=1s --set network.reconnect_min=200ms
after=$(hls_at a --json peer list | jq --arg id "$(nid b)" '.[] | select(.node_id==$id) | .bytes_in')
[ "$after" -ge "$before" ] || fail "counters lost across a restart ($before -> $after)"
wait_for 20 connected a "$(nid b)" || fail "a did not reconnect after its own restart"
pass "re-dialling after restarts; counters kept"

# CLI errors
expect_fail 2 "not a node id" hls_at a peer add 127.0.0.1:1 not-an-id
expect_fail 2 "address" hls_at a peer add nowhere "$(nid b)"
expect_fail 1 "own id" hls_at a peer add 127.0.0.1:1 "$(nid a)"
expect_fail 1 "own id" hls_at a peer remove "$(nid a)"
pass "peer command errors"

# Too few file descriptors for the configured limits: said at start-up
# (libuv would otherwise drop connections beyond them unannounced).
printf '#!/bin/sh\nulimit -n 48\nexec "%s" "$@"\n' "$HLSD" >"$WORK/lowfd-hlsd"
chmod +x "$WORK/lowfd-hlsd"
init_node y --network-key "$key"
real_hlsd=$HLSD
HLSD=$WORK/lowfd-hlsd start_node y
HLSD=$real_hlsd
grep -q "event=descriptors_low limit=48 needed=" "$WORK/y.log" || fail "no descriptors_low warning: $(cat "$WORK/y.log")"
hls_at y status >/dev/null || fail "y does not serve"
stop_node y
pass "a low open-files limit is reported at start-up"

for n in a b c x; do stop_node "$n"; done
