#!/usr/bin/env bash
# Fork evidence travels (docs/protocol.md 4.7): five hlsd in a line
# a-b-c-d-e follow a place F (make_items: signed items imported at a and
# gossiped on). F's key then signs another item at seq 3, shown to a only:
#   - a finds the fork, stops following F, and reports it in one fork item
#     of its own chain (hls items --type fork);
#   - the report reaches every node; each stops following F as a did and
#     hls status names a (place and node id) as the reporter; none reports
#     it again (one fork item in the network);
#   - F's items stay refused everywhere, also the branch a held;
#   - a forged fork report (one stub twice) from a member is refused: the
#     session closes (reason=bad_frame), the violation counts against it,
#     and the node follows what it followed before.
. "$(dirname "$0")/lib.sh"
: "${MAKE_ITEMS:?MAKE_ITEMS must name the make_items tool}"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse client}"

FAST=(--set publish.delay=1s --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
NODES=(a b c d e)
init_node a
key=$(hls_at a network key)
for n in b c d e mallory; do init_node "$n" --network-key "$key"; done
declare -A ID=() ADDR=()
for n in "${NODES[@]}"; do
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
for i in 0 1 2 3; do
  x=${NODES[$i]} y=${NODES[$((i + 1))]}
  hls_at "$x" peer add "${ADDR[$y]}" "${ID[$y]}" >/dev/null
  hls_at "$y" peer add "${ADDR[$x]}" "${ID[$x]}" >/dev/null
done

head_of() { hls_at "$1" --json status | jq --arg o "$2" '[.gossip.heads[] | select(.origin == $o) | .head] | .[0] // 0'; }
head_is() { [ "$(head_of "$1" "$2")" = "$3" ]; }
# fork_of NODE ORIGIN: NODE's hls status entry for ORIGIN's fork (JSON), or nothing.
fork_of() { hls_at "$1" --json status | jq -c --arg o "$2" '.gossip.forks[] | select(.origin == $o)'; }
reported_by() { [ "$(fork_of "$1" "$2" | jq -r .reported_by)" = "$3" ]; }
fork_items() { hls_at "$1" --json items --type fork | jq length; }
fork_items_are() { [ "$(fork_items "$1")" = "$2" ]; }

# --- F's chain reaches every node ---------------------------------------------------
F=$("$MAKE_ITEMS" fork "$WORK/fork")
hls_at a import-items "$WORK/fork" >/dev/null || fail "import of F's chain failed"
for n in "${NODES[@]}"; do
  wait_for 30 head_is "$n" "$F" 3 || fail "$n did not get F's chain: head $(head_of "$n" "$F")"
done
pass "F's chain (seq 1-3) reached a-e"

# --- the other branch, shown to a only ------------------------------------------------
"$MAKE_ITEMS" fork-other "$WORK/fork-other" >/dev/null
out=$(hls_at a import-items "$WORK/fork-other") || fail "import of the other branch failed: $out"
[[ "$out" == *"fork evidence for 1 origin"* ]] || fail "a's import did not find the fork: $out"
grep -q "event=fork_detected origin=$F " "$WORK/a.log" || fail "a did not log fork_detected"
reported_by a "$F" "this node" || fail "a's status: $(fork_of a "$F")"
wait_for 20 fork_items_are a 1 || fail "a did not publish a fork item: $(hls_at a --json items --type fork)"
# hls inspect decodes it: the forked origin and its two items at seq 3.
seq=$(hls_at a --json items --type fork | jq '.[0].seq')
hls_at a share export "$seq" "$WORK/fork.env" >/dev/null || fail "share export of a's fork item failed"
body=$("$HLS" --json inspect "$WORK/fork.env" | jq -c .body)
[ "$(jq -r .forked_origin <<<"$body")" = "$F" ] || fail "inspect: forked origin: $body"
[ "$(jq -c '[.items[].seq]' <<<"$body")" = "[3,3]" ] || fail "inspect: the two items: $body"
pass "a found the fork and reported it in one fork item (hls inspect shows F's two items at seq 3)"

for n in b c d e; do
  wait_for 30 reported_by "$n" "$F" "${ID[a]}" || fail "$n: no fork of F reported by a: $(fork_of "$n" "$F")"
  f=$(fork_of "$n" "$F")
  [ "$(jq -r .reporter_place <<<"$f")" = "Place a" ] || fail "$n: reporter place: $f"
  [ "$(jq -r .found_here <<<"$f")" = false ] || fail "$n: found_here: $f"
  [ "$(jq -r .seq <<<"$f")" = 3 ] || fail "$n: fork seq: $f"
  grep -q "event=fork_reported origin=$F seq=3 reporter=${ID[a]} " "$WORK/$n.log" || fail "$n did not log fork_reported"
  hls_at "$n" status | grep -q "reported by Place a ${ID[a]}" || fail "$n: hls status does not name a: $(hls_at "$n" status)"
done
hls_at a status | grep -q "reported by this node" || fail "a: hls status does not say it reported the fork"
# Nobody reports it again: one fork item in the whole network (a's), also
# after another publishing run everywhere.
for n in "${NODES[@]}"; do hls_at "$n" share publish >/dev/null 2>&1 || true; done
for n in "${NODES[@]}"; do
  wait_for 20 head_is "$n" "${ID[a]}" "$(head_of a "${ID[a]}")" || fail "$n is behind a's chain"
  [ "$(fork_items "$n")" = 1 ] || fail "$n holds $(fork_items "$n") fork items: $(hls_at "$n" --json items --type fork)"
  [ "$(hls_at "$n" --json items --type fork | jq -r '.[0].origin')" = "${ID[a]}" ] || fail "$n: the fork item is not a's"
done
pass "every node (b-e) stopped following F, hls status names a (Place a) as the reporter; one fork item in all"

# --- F stays refused ----------------------------------------------------------------
# The branch the others never saw, imported at e: ignored (e follows F no more).
out=$(hls_at e import-items "$WORK/fork-other") || fail "e's import failed: $out"
[[ "$out" == *"of forked origins ignored"* ]] || fail "e took F's other branch: $out"
head_is e "$F" 3 || fail "e's head of F moved: $(head_of e "$F")"
pass "F's items are ignored where the report arrived"

# --- a forged report ------------------------------------------------------------------
MALLORY=$("$PEER_ABUSE" id "$WORK/mallory")
from=$(wc -l <"$WORK/c.log")
"$PEER_ABUSE" fork-forged "${ADDR[c]}" "${ID[c]}" "$WORK/mallory" >"$WORK/forged.conns" 2>"$WORK/forged.err" ||
  fail "peer_abuse fork-forged: $(cat "$WORK/forged.err")"
c_log() { tail -n +"$((from + 1))" "$WORK/c.log"; }
forged_logged() { c_log | grep -F "event=peer_closed peer=$MALLORY " | grep -q " reason=bad_frame "; }
wait_for 10 forged_logged || fail "c did not close the forged report's session with reason=bad_frame"
c_log | grep -F "event=peer_bad_frame peer=$MALLORY type=17 error=malformed" | grep -qF 'fork: the same item twice' ||
  fail "c did not log why the report was refused: $(c_log | grep -F peer_bad_frame)"
violations() { hls_at c --json peer list | jq --arg id "$MALLORY" '.[] | select(.node_id==$id) | .violations'; }
violations_are() { [ "$(violations)" = "$1" ]; }
wait_for 10 violations_are 1 || fail "violation not counted: $(hls_at c --json peer list)"
head_is c "$MALLORY" 0 || fail "c kept an item of the forged frame"
[ "$(hls_at c --json status | jq '.gossip.forks | length')" = 1 ] || fail "c's forks changed: $(hls_at c --json status | jq -c .gossip.forks)"
pass "a forged fork report (one stub twice): session closed (bad_frame), counted against the sender, nothing kept"
