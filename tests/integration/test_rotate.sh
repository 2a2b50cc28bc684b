#!/usr/bin/env bash
# Network key rotation (issue 18; docs/protocol.md 4.8 and 7.2,
# docs/operations.md "Rotating the network key") on real daemons, all on
# frozen test clocks. A steward s founds the network; a, b, c, o, x and z
# join with invites from s, and so learn that s is the steward. o and z
# stop; s rotates the key expelling x. a, b and c get the new key through
# their sessions, x is refused at once and never gets it; o comes back
# within the overlap and catches up; q (joined the manual way, listed by s
# only now) is dialled under the old key and gets the new one. When the
# overlap ends (s and a retire the old key by hand, the others' clocks pass
# the deadline) x cannot connect to anyone, nor can z, back too late, and
# both are told so, while the others connect on the new key; a place
# invited now joins with the new key. A stranger holding the old key (as
# from a leak) connects during the overlap and is not handed the new key.
# A member that hands over a key that
# is not the rekey's (peer_abuse netkey), and one that names itself steward
# and rotates, are refused, and the violations count against them.
. "$(dirname "$0")/lib.sh"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse binary}"

T0=$(date -d "2026-03-16 10:00:00" +%s)
T1=$(date -d "2026-03-17 11:00:00" +%s) # after the overlap (1 day)
FAST=(--test-clock "$T0" --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms --set publish.delay=1h)
MEMBERS=(a b c o x z)

init_node s
start_node s "${FAST[@]}"
declare -A ID=()
ID[s]=$(hls_at s --json status | jq -r .node_id)
hls_at s --json stewards | jq -e --arg s "${ID[s]}" '.stewards == [$s]' >/dev/null ||
  fail "the founder is not the steward of its new network: $(hls_at s --json stewards)"
for n in "${MEMBERS[@]}"; do
  code=$(hls_at s --json invite create --note "for $n" | jq -r .code)
  init_node "$n" --join "$code"
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
done
outcome_ok() { [ "$(hls_at "$1" --json status | jq -r '.join.outcome // "none"')" = ok ]; }
stewards_of() { hls_at "$1" --json stewards | jq -c .stewards; }
learnt() { [ "$(stewards_of "$1")" = "[\"${ID[s]}\"]" ]; }
for n in "${MEMBERS[@]}"; do
  wait_for 30 outcome_ok "$n" || fail "$n's invite was not redeemed: $(hls_at "$n" --json status | jq -c .join)"
  wait_for 10 learnt "$n" || fail "$n did not learn the steward from its inviter: $(stewards_of "$n")"
done
# q joins the manual way (the key, no invite, no peers, no peer exchange):
# it names s its steward by hand, and s lists it only after the rotation.
key0=$(hls_at s network key)
init_node q --network-key "$key0"
start_node q "${FAST[@]}" --set gossip.connections=0
ID[q]=$(hls_at q --json status | jq -r .node_id)
hls_at q stewards | grep -q 'stewards: none' || fail "a node made with --network-key names stewards"
hls_at q status | grep -q '! no stewards are named here' || fail "hls status does not say q names no stewards"
hls_at q stewards add "${ID[s]}" >/dev/null || fail "stewards add on q"
places_at() { [ "$(hls_at "$1" --json places | jq length)" -eq 7 ]; }
for n in s "${MEMBERS[@]}"; do wait_for 40 places_at "$n" || fail "$n does not hold every profile"; done
pass "seven nodes joined by invites; each learnt from its inviter that s is the steward"

# --- a rotation that expels x, while o and z are offline ----------------------------
stop_node o
stop_node z
expect_fail 1 'not a steward' hls_at a network rotate --yes
expect_fail 2 'give --yes' hls_at s network rotate --expel "${ID[x]}"
expect_fail 2 'overlap: 0, or a duration' hls_at s network rotate --overlap 7x --yes
expect_fail 1 'a steward cannot expel itself' hls_at s network rotate --expel "${ID[s]}" --yes
hls_at s network rotate --expel "${ID[x]}" --overlap 1d --yes | grep -q 'Rotated the network key: epoch 1' ||
  fail "hls network rotate"
nk() { hls_at "$1" --json status | jq -c .network_key; }
epoch_is() { [ "$(nk "$1" | jq .epoch)" = "$2" ]; }
for n in s a b c; do
  wait_for 30 epoch_is "$n" 1 || fail "$n did not get the new key: $(nk "$n")"
  nk "$n" | jq -e '.old_key_accepted and .announced_epoch == 1 and .problem == null' >/dev/null ||
    fail "$n during the overlap: $(nk "$n")"
done
key_s=$(hls_at s network key)
for n in a b c; do [ "$(hls_at "$n" network key)" = "$key_s" ] || fail "$n holds another key than s"; done
[ "$(stat -c %a "$WORK/a/network.key")" = 600 ] && [ "$(stat -c %a "$WORK/a/network.key.old")" = 600 ] ||
  fail "the key files are not private"
[ "$(hls_at x network key)" != "$key_s" ] || fail "the expelled node got the new key"
epoch_is x 0 || fail "x: $(nk x)"
for n in s a b c; do
  grep -q 'network_key_rotated epoch=1' "$WORK/$n.log" || fail "$n did not log the rotation"
done
connected_to() { hls_at "$1" --json peer list | jq -e --arg id "$2" '.[] | select(.node_id == $id and .state == "connected")' >/dev/null; }
x_alone() { [ "$(hls_at x --json status | jq .peers_connected)" = 0 ]; }
wait_for 30 x_alone || fail "x still has sessions: $(hls_at x --json peer list)"
grep -q 'reason=expelled' "$WORK/s.log" || fail "s did not refuse x as expelled"
pass "the steward's rotation reached a, b and c; x was refused at once and got no key"

# --- o comes back within the overlap and catches up ---------------------------------
start_node o "${FAST[@]}"
wait_for 30 epoch_is o 1 || fail "o did not catch up within the overlap: $(nk o)"
[ "$(hls_at o network key)" = "$key_s" ] || fail "o holds another key than s"
# o came back with the old key only: the first session ran under it (s
# accepted it, or dialled o under it after the newest got no answer).
grep -q "event=peer_connected peer=${ID[o]} .*network_key=previous" "$WORK/s.log" ||
  fail "s did not log a session with o under the previous key"
pass "a member offline during the rotation got the key when it returned within the overlap"

# s dials q, which holds only the old key, first under the newest: no
# answer; then under the previous one (re-dials wait on s's frozen clock:
# each poll moves it 2 s).
hls_at s peer add "$(hls_at q --json status | jq -r .listening_on)" "${ID[q]}" >/dev/null || fail "peer add q"
q_caught_up() {
  ctl_at s test.clock.advance '{"ms": 2000}' >/dev/null
  epoch_is q 1
}
wait_for 30 q_caught_up || fail "q did not get the key from s: $(nk q)"
grep -q "event=peer_connected peer=${ID[q]} .*direction=out network_key=previous" "$WORK/s.log" ||
  fail "s did not dial q under the previous key"
pass "a member that lacks the new key is dialled under the old one during the overlap, and gets the new key"

# A stranger holding the old key (a leaked one) connects to a during the
# overlap: a accepts the handshake, and gossip brings it the rekey, but no
# member lists it, so nobody hands it the new key. The key would come
# first: a sends it when a session opens, before any item.
init_node out --network-key "$key0"
start_node out "${FAST[@]}"
hls_at out stewards add "${ID[s]}" >/dev/null || fail "stewards add on out"
hls_at out peer add "$(hls_at a --json status | jq -r .listening_on)" "${ID[a]}" >/dev/null || fail "peer add on out"
announced_to_out() { nk out | jq -e '.announced_epoch == 1' >/dev/null; }
wait_for 30 announced_to_out || fail "the stranger did not get the rekey by gossip: $(nk out)"
connected_to out "${ID[a]}" || fail "the stranger has no session with a"
epoch_is out 0 || fail "a stranger with the old key was handed the new one: $(nk out)"
[ "$(hls_at out network key)" = "$key0" ] || fail "the stranger holds another key"
stop_node out
pass "a stranger with the old key connects during the overlap but is not handed the new key (no member lists it)"

# --- the overlap ends: retire-old on s and a, the deadline on the others ------------
expect_fail 1 'does not hold the key|no old network key' hls_at x network retire-old
hls_at s network retire-old | grep -q 'no longer accepted' || fail "retire-old on s"
hls_at a network retire-old >/dev/null || fail "retire-old on a"
expect_fail 1 'no old network key' hls_at a network retire-old
for n in b c o x q; do clock_at "$n" "2026-03-17 11:00:00"; done
old_gone() { nk "$1" | jq -e '.old_key_accepted == false' >/dev/null; }
for n in s a b c o q; do
  wait_for 10 old_gone "$n" || fail "$n still accepts the old key: $(nk "$n")"
  [ ! -e "$WORK/$n/network.key.old" ] || fail "$n kept the old key on disk"
done
grep -q 'network_key_old_retired epoch=1 how=overlap_ended' "$WORK/b.log" || fail "b did not log the overlap's end"
pass "the old key is gone everywhere (retire-old on s and a, the deadline on b, c and o)"

# x, restarted, dials its peers with the only key it has: nobody answers.
# (Re-dials wait on the wall clock, frozen here: each poll moves it 2 s.)
stop_node x
start_node x "${FAST[@]}" --test-clock "$T1"
told() {
  ctl_at x test.clock.advance '{"ms": 2000}' >/dev/null
  nk x | jq -e '.handshakes_unanswered >= 3 and (.problem | test("rotated|expelled"))' >/dev/null
}
wait_for 30 told || fail "x was not told: $(nk x)"
x_alone || fail "x connected to someone after the overlap"
hls_at x status | grep -q '! .*\(rotated\|expelled\)' || fail "hls status on x does not say why: $(hls_at x status)"
for n in s a b c o; do
  if hls_at "$n" --json peer list | jq -e --arg id "${ID[x]}" '.[] | select(.node_id == $id and .state == "connected")' \
    >/dev/null; then fail "$n has a session with x"; fi
done
# z, offline through the whole overlap, comes back with the old key: not
# expelled, but cut off all the same, and told to ask for an invite.
start_node z "${FAST[@]}" --test-clock "$T1"
z_told() {
  ctl_at z test.clock.advance '{"ms": 2000}' >/dev/null
  nk z | jq -e '.handshakes_unanswered >= 3 and .expelled == false and (.problem | test("rotated without this node"))' >/dev/null
}
wait_for 30 z_told || fail "z was not told: $(nk z)"
[ "$(hls_at z --json status | jq .peers_connected)" = 0 ] || fail "z connected after the overlap"
wait_for 10 grep -q 'event=network_key_refused' "$WORK/z.log" || fail "z did not log it"
# Everyone else connects on the new key alone: b and o restarted find their peers.
for n in b o; do
  stop_node "$n"
  start_node "$n" "${FAST[@]}" --test-clock "$T1"
  wait_for 30 connected_to "$n" "${ID[s]}" || fail "$n did not reconnect to s on the new key: $(hls_at "$n" --json peer list)"
done
wait_for 30 connected_to a "${ID[s]}" || fail "a is not connected to s"
pass "after the overlap the expelled node, and one back too late, cannot connect to anyone (and say why); the others can"

# A place that joins now, with an invite from s, gets the new key in its
# code, learns the steward, and takes the rotation's epoch from its peers.
code=$(hls_at s --json invite create --note late | jq -r .code)
init_node late --join "$code"
start_node late "${FAST[@]}" --test-clock "$T1"
wait_for 30 outcome_ok late || fail "late's invite was not redeemed: $(hls_at late --json status | jq -c .join)"
[ "$(hls_at late network key)" = "$key_s" ] || fail "an invite made after the rotation holds the old key"
wait_for 10 learnt late || fail "late did not learn the steward: $(stewards_of late)"
wait_for 30 epoch_is late 1 || fail "late did not take the rotation's epoch: $(nk late)"
nk late | jq -e '.old_key_accepted == false and .problem == null' >/dev/null || fail "late: $(nk late)"
pass "a place invited after the rotation joins with the new key"

# --- a key that is not the rekey's, from a member -----------------------------------
# (a node made with the new key, whose peer_abuse client hands s another key of epoch 1)
init_node m --network-key "$key_s"
mid=$("$PEER_ABUSE" id "$WORK/m")
addr_s=$(hls_at s --json status | jq -r .listening_on)
"$PEER_ABUSE" netkey "$addr_s" "${ID[s]}" "$WORK/m" 1 >/dev/null || fail "peer_abuse netkey"
m_violations() { [ "$(hls_at s --json peer list | jq --arg id "$mid" '.[] | select(.node_id == $id) | .violations')" = 1 ]; }
wait_for 10 m_violations || fail "the wrong key was not counted against its sender: $(hls_at s --json peer list)"
grep -q "not the one its rekey item names" "$WORK/s.log" || fail "s did not log why it refused the key"
[ "$(hls_at s network key)" = "$key_s" ] || fail "s took a key that is not its rekey's"
pass "a network key that does not match the rekey is refused and counted against the member that sent it"

# --- a rekey from a node that is not a steward --------------------------------------
hls_at a stewards add "${ID[a]}" >/dev/null || fail "stewards add"
expect_fail 1 'a steward already' hls_at a stewards add "${ID[a]}"
hls_at a network rotate --yes >/dev/null || fail "a's own rotation"
violations() { hls_at s --json peer list | jq --arg id "${ID[a]}" '.[] | select(.node_id == $id) | .violations'; }
counted() { [ "$(violations)" -ge 1 ]; }
wait_for 30 counted || fail "a's rekey was not counted against it: $(hls_at s --json peer list)"
wait_for 10 grep -q 'not a steward here' "$WORK/s.log" || fail "s did not log why it refused a's rekey"
epoch_is s 1 || fail "s took a non-steward's rekey: $(nk s)"
epoch_is b 1 || fail "b took a non-steward's rekey: $(nk b)"
hls_at a stewards remove "${ID[a]}" >/dev/null || fail "stewards remove"
pass "a rekey from a node that is not a steward is refused and counted against it"

for n in s a b c o x z q late; do stop_node "$n"; done
pass "all nodes stopped cleanly"
