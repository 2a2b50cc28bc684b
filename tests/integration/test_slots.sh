#!/usr/bin/env bash
# One member cannot hold every connection slot or flood a node with chains
# (docs/operations.md, "Limits on members"):
#   - from one address at most network.max_per_address connections; the
#     rest are closed at once, and a member elsewhere is served meanwhile;
#   - a frame begun and trickled is cut off by network.frame_timeout;
#   - unlisted members cannot take the slots reserved for listed peers;
#   - an unlisted member's session that carries no gossip is closed after
#     network.idle_timeout, a listed peer's is not;
#   - one unlisted member brings at most gossip.new_origins_per_hour new
#     chains (the rest ignored, a violation counted); a listed peer is not
#     limited.
. "$(dirname "$0")/lib.sh"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse binary}"

FRAME_TIMEOUT_MS=2000 IDLE_MS=3000 PER_ADDRESS=4 QUOTA=5
init_node a
key=$(hls_at a network key)
init_node r --network-key "$key"
init_node good --network-key "$key"
init_node mallory --network-key "$key"
start_node a --set network.frame_timeout=2s --set network.idle_timeout=3s --set network.max_per_address=$PER_ADDRESS \
  --set gossip.new_origins_per_hour=$QUOTA --set network.keepalive=1s
start_node r --set network.max_connections=6 --set network.reserved_for_listed=2 --set network.max_per_address=0
declare -A ADDR=() ID=()
for n in a r; do
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
done
GOOD=$("$PEER_ABUSE" id "$WORK/good")
MALLORY=$("$PEER_ABUSE" id "$WORK/mallory")
# good is listed on both (at an address nobody listens on: their dials fail,
# which does not matter here).
for n in a r; do hls_at "$n" peer add 127.0.0.1:9 "$GOOD" >/dev/null; done

reasons() { grep -oE "event=peer_(refused|closed) .*reason=$1( |$)" "$WORK/$2.log" | wc -l; }

# 1. Slots and trickles, from 127.0.0.2 (another host, as far as hlsd knows).
PEER_ABUSE_FROM=127.0.0.2 "$PEER_ABUSE" slots "${ADDR[a]}" "${ID[a]}" "$WORK/mallory" \
  12 $PER_ADDRESS $FRAME_TIMEOUT_MS >"$WORK/slots.conns" 2>"$WORK/slots.err" || { cat "$WORK/slots.err" >&2; fail "slots"; }
n=$(reasons too_many_from_address a)
[ "$n" = 8 ] || fail "want 8 refusals too_many_from_address, log has $n"
wait_for 10 test "$(reasons frame_timeout a)" = $PER_ADDRESS || fail "want $PER_ADDRESS closes frame_timeout"
pass "12 members from one address: $PER_ADDRESS sessions, 8 refused (too_many_from_address);" \
  "another host served; the trickled frames cut off (frame_timeout)"

# 2. The reserve: r has 6 slots, 2 for listed peers.
"$PEER_ABUSE" reserve "${ADDR[r]}" "${ID[r]}" "$WORK/good" 6 2 >/dev/null 2>"$WORK/reserve.err" ||
  { cat "$WORK/reserve.err" >&2; fail "reserve"; }
[ "$(reasons reserved_for_listed r)" = 1 ] || fail "the refusal was not logged as reserved_for_listed"
pass "4 unlisted sessions fill r's unreserved slots; the next is refused (reserved_for_listed); a listed peer gets in"

# 3. Idle sessions.
"$PEER_ABUSE" idle "${ADDR[a]}" "${ID[a]}" "$WORK/good" $IDLE_MS >/dev/null 2>"$WORK/idle.err" ||
  { cat "$WORK/idle.err" >&2; fail "idle"; }
[ "$(reasons idle_session a)" = 1 ] || fail "want one close idle_session"
pass "an unlisted session with nothing but pings closed after idle_timeout (idle_session); the listed one stayed"

# 4. New chains per member per hour.
chains() { hls_at a --json status | jq .gossip.chains; }
before=$(chains)
"$PEER_ABUSE" origins "${ADDR[a]}" "${ID[a]}" "$WORK/mallory" 12 >/dev/null 2>"$WORK/origins.err" ||
  { cat "$WORK/origins.err" >&2; fail "origins (unlisted)"; }
[ "$(chains)" = $((before + QUOTA)) ] || fail "an unlisted member brought $(($(chains) - before)) chains, quota $QUOTA"
[ "$(grep -c 'event=peer_origin_quota' "$WORK/a.log")" = 1 ] || fail "the quota was not logged once"
[ "$(hls_at a --json peer list | jq --arg id "$MALLORY" '.[] | select(.node_id == $id) | .violations')" = 1 ] ||
  fail "the quota was not counted as a violation"
[ "$(hls_at a --json status | jq .gossip.origins_refused)" = $((12 - QUOTA)) ] || fail "origins_refused"
before=$(chains)
"$PEER_ABUSE" origins "${ADDR[a]}" "${ID[a]}" "$WORK/good" 12 >/dev/null 2>"$WORK/origins2.err" ||
  { cat "$WORK/origins2.err" >&2; fail "origins (listed)"; }
[ "$(chains)" = $((before + 12)) ] || fail "a listed peer brought $(($(chains) - before)) of 12 chains"
pass "an unlisted member brings $QUOTA new chains an hour (the rest ignored, one violation); a listed peer all 12"

stop_node a
stop_node r
