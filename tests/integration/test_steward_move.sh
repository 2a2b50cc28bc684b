#!/usr/bin/env bash
# A steward moves to a new key (hls identity rotate, docs/protocol.md 4.9):
# the members that hold its successor, and the steward itself, name the
# new key as the steward, so that its next network rotation is taken by
# every member (it was refused as "not a steward", and counted against it,
# until each member's admin ran hls stewards add).
. "$(dirname "$0")/lib.sh"

FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set network.keepalive=1s
      --set gossip.interval=50ms --set publish.delay=1h)
init_node s
start_node s "${FAST[@]}"
declare -A ID=()
ID[s]=$(hls_at s --json status | jq -r .node_id)
for n in a b; do
  code=$(hls_at s --json invite create --note "for $n" | jq -r .code)
  init_node "$n" --join "$code"
  start_node "$n" "${FAST[@]}"
done
stewards_of() { hls_at "$1" --json stewards | jq -c .stewards; }
names() { [ "$(stewards_of "$1")" = "[\"$2\"]" ]; }
for n in a b; do wait_for 30 names "$n" "${ID[s]}" || fail "$n did not learn the steward: $(stewards_of "$n")"; done

hls_at s identity rotate --yes >/dev/null || fail "hls identity rotate on s"
new=$(hls_at s --json status | jq -r .node_id)
[ "$new" != "${ID[s]}" ] || fail "s's key did not change"
names s "$new" || fail "s does not name its own new key steward: $(stewards_of s)"
for n in a b; do
  wait_for 30 names "$n" "$new" || fail "$n does not name s's new key steward: $(stewards_of "$n")"
  grep -q "event=steward_succeeded old=${ID[s]} new=$new" "$WORK/$n.log" || fail "$n did not log the steward's move"
done
pass "a steward's new key is the steward, at the steward and at the members that hold its successor"

out=$(hls_at s --json network rotate --yes) || fail "network rotate by the steward's new key: $out"
key=$(hls_at s network key)
has_key() { [ "$(hls_at "$1" network key)" = "$key" ]; }
for n in a b; do wait_for 30 has_key "$n" || fail "$n did not take the rotation of the steward's new key"; done
for n in a b; do ! grep -q "not a steward here" "$WORK/$n.log" || fail "$n refused the steward's rotation"; done
pass "the steward's rotation under its new key is taken by every member"
for n in s a b; do stop_node "$n"; done
