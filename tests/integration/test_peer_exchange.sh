#!/usr/bin/env bash
# Peer exchange on real hlsd processes: five nodes whose admins each listed
# only the next one (a line), all advertising their address in their
# profiles. Once the profiles have spread, every node dials members it was
# never told about, until it has gossip.connections sessions; a node's
# learnt peers stay unlisted (no peers-story bodies for them), and
# gossip.connections = 0 keeps a node to its listed peers.
. "$(dirname "$0")/lib.sh"

NODES=(p1 p2 p3 p4 p5)
init_node p1
key=$(hls_at p1 network key)
for n in "${NODES[@]:1}"; do init_node "$n" --network-key "$key"; done
declare -A ID=() ADDR=()
# Ports are picked first so that each node can advertise its own.
for n in "${NODES[@]}"; do
  start_node "$n"
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  stop_node "$n"
done
FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set network.keepalive=1s
      --set gossip.interval=50ms --set publish.delay=1h)
for n in p1 p2 p3 p4; do
  start_node "$n" --listen "${ADDR[$n]}" --set "network.advertise=${ADDR[$n]}" --set gossip.connections=3 "${FAST[@]}"
done
# p5 advertises too, but keeps to its listed peer.
start_node p5 --listen "${ADDR[p5]}" --set "network.advertise=${ADDR[p5]}" --set gossip.connections=0 "${FAST[@]}"
for i in 1 2 3 4; do hls_at "p$i" peer add "${ADDR[p$((i + 1))]}" "${ID[p$((i + 1))]}" >/dev/null; done

sessions() { hls_at "$1" --json status | jq .gossip.sessions; }
listed_count() { hls_at "$1" --json peer list | jq '[.[] | select(.listed)] | length'; }
# Every node (but p5) has at least 3 sessions: p1 listed only p2, so
# p1's others came from the addresses in profiles.
enough() { for n in p1 p2 p3 p4; do [ "$(sessions "$n")" -ge 3 ] || return 1; done; }
wait_for 30 enough || fail "peer exchange did not reach 3 sessions each: $(for n in "${NODES[@]}"; do echo "$n=$(sessions "$n")"; done)"
pl=$(hls_at p1 --json peer list)
[ "$(jq '[.[] | select(.state == "connected")] | length' <<<"$pl")" -ge 3 ] || fail "p1 peer list: $pl"
jq -e --arg p2 "${ID[p2]}" '[.[] | select(.state == "connected" and .node_id != $p2)] | all(.listed == false)' <<<"$pl" >/dev/null \
  || fail "peers learnt by exchange became listed: $pl"
[ "$(listed_count p1)" = 1 ] || fail "p1 lists more than its one peer"
pass "peer exchange: p1..p4 (each listing one peer) reach 3 sessions from profile addresses; learnt peers stay unlisted"

# p5 dials nobody by itself (gossip.connections = 0); others may dial it.
grep -q "event=peer_connected .*direction=out" "$WORK/p5.log" && fail "p5 dialled out with gossip.connections = 0"
pass "gossip.connections = 0: p5 dials no one"
