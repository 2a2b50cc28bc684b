#!/usr/bin/env bash
# Joining by invite (docs/operations.md "Joining a network"): a founder and
# 19 more nodes, each joined only through an invite (hls invite create on
# the founder or on a node that joined earlier: a tree), with no
# 'peer add' and no '--network-key'; every node then holds all 20
# profiles. A spent, a revoked and an expired invite, and a mangled code,
# are refused with a clear error on both sides.
. "$(dirname "$0")/lib.sh"

FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set network.keepalive=1s
      --set gossip.interval=50ms --set publish.delay=1h)
N=20

init_node n0
start_node n0 "${FAST[@]}"
declare -A CODE=() INVITER=()
for i in $(seq 1 $((N - 1))); do
  parent=n$(( (i - 1) / 2 ))
  CODE[n$i]=$(hls_at "$parent" --json invite create --note "for n$i" | jq -r .code)
  INVITER[n$i]=$parent
  [[ ${CODE[n$i]} == hls1-* ]] || fail "invite create on $parent printed no code"
  init_node "n$i" --join "${CODE[n$i]}"
  [ ! -e "$WORK/n$i/join.invite" ] || [ "$(stat -c %a "$WORK/n$i/join.invite")" = 600 ] ||
    fail "join.invite is not private"
  start_node "n$i" "${FAST[@]}"
done
pass "20 nodes created, 19 of them with an invite"

join_outcome() { hls_at "$1" --json status | jq -r '.join.outcome // "none"'; }
outcome_is() { [ "$(join_outcome "$1")" = "$2" ]; }
all_joined() { for i in $(seq 1 $((N - 1))); do [ "$(join_outcome "n$i")" = ok ] || return 1; done; }
wait_for 30 all_joined ||
  fail "not every invite was redeemed: $(for i in $(seq 1 $((N - 1))); do printf 'n%s=%s ' "$i" "$(join_outcome "n$i")"; done)"
[ ! -e "$WORK/n1/join.invite" ] || fail "hlsd left join.invite behind"
# The inviter lists each node it invited, with the address it gave.
for i in 1 2 7 19; do
  id=$(hls_at "n$i" --json status | jq -r .node_id)
  hls_at "${INVITER[n$i]}" --json peer list | jq -e --arg id "$id" '.[] | select(.node_id == $id and .listed and .address != "")' \
    >/dev/null || fail "${INVITER[n$i]} does not list n$i as a peer"
  hls_at "${INVITER[n$i]}" --json invite list | jq -e --arg id "$id" \
    '.[] | select(.note == "for n'"$i"'" and .state == "spent" and .uses == 1 and .redeemed_by[0].node_id == $id)' \
    >/dev/null || fail "${INVITER[n$i]}'s invite list does not show n$i's invite spent by it"
done
hls_at n0 invite list | grep -q 'spent' || fail "hls invite list: no spent invite shown"
if hls_at n0 --json invite list | grep -q 'hls1-'; then fail "invite list shows a code"; fi
pass "every invite redeemed; inviters list the new nodes"

places_at() { [ "$(hls_at "$1" --json places | jq length)" -eq $N ]; }
all_places() { for i in $(seq 0 $((N - 1))); do places_at "n$i" || return 1; done; }
wait_for 40 all_places ||
  fail "not every node holds 20 profiles: $(for i in $(seq 0 $((N - 1))); do printf 'n%s=%s ' "$i" "$(hls_at "n$i" --json places | jq length)"; done)"
pass "all 20 nodes hold each other's profiles"

# A spent invite: n1's code again, for another node.
init_node dup --join "${CODE[n1]}"
start_node dup "${FAST[@]}"
wait_for 20 outcome_is dup spent || fail "a spent invite was not refused: $(join_outcome dup)"
hls_at dup status | grep -q 'Invite    spent from .*already used' || fail "hls status does not say the invite was spent"
wait_for 10 grep -q 'event=invite_refused .*outcome=spent' "$WORK/n0.log" ||
  fail "the inviter did not log the spent invite"
dup_id=$(hls_at dup --json status | jq -r .node_id)
if hls_at n0 --json peer list | jq -e --arg id "$dup_id" '.[] | select(.node_id == $id and .listed)' >/dev/null; then
  fail "a spent invite listed its node"
fi
[ "$(hls_at dup --json peer list | jq length)" -eq 0 ] || fail "the refused node still dials its inviter"
stop_node dup
pass "a spent invite is refused on both sides"

# A note is one line of text: no line break or escape reaches invite list.
expect_fail 2 "note: control character 0x0a" hls_at n3 invite create --note $'two\nlines'
expect_fail 2 "note: control character 0x1b" hls_at n3 invite create --note $'x\e[31mRED'
hls_at n3 --json invite list | jq -e 'all(.[]; (.note // "") | test("[\u0000-\u001f]") | not)' >/dev/null \
  || fail "a note with a control character was kept"

# A revoked invite.
id=$(hls_at n3 --json invite create --note revoked | jq -r .id)
code=$(hls_at n3 --json invite create --uses 2 | jq -r .code)
hls_at n3 --json invite list | jq -e '.[0].max_uses == 2' >/dev/null || fail "--uses 2 not kept"
revoked_code=$(hls_at n3 --json invite create --note "to revoke" | jq -r '.code, .id' | paste -sd ' ')
hls_at n3 invite revoke "${revoked_code#* }" >/dev/null || fail "invite revoke"
expect_fail 1 'revoked already' hls_at n3 invite revoke "${revoked_code#* }"
expect_fail 1 'no invite 9999' hls_at n3 invite revoke 9999
hls_at n3 --json invite list | jq -e --argjson id "${revoked_code#* }" '.[] | select(.id == $id and .state == "revoked")' \
  >/dev/null || fail "invite list does not show the revoked invite"
init_node rev --join "${revoked_code% *}"
start_node rev "${FAST[@]}"
wait_for 20 outcome_is rev revoked || fail "a revoked invite was not refused: $(join_outcome rev)"
wait_for 10 grep -q 'event=invite_refused .*outcome=revoked' "$WORK/n3.log" || fail "the inviter did not log the revoked invite"
stop_node rev
[ -n "$id" ] && [ -n "$code" ] || fail "invite create --json"
pass "a revoked invite is refused on both sides"

# An expired invite, on an inviter with a test clock.
init_node gate
start_node gate --test-clock "$(date +%s)" "${FAST[@]}"
code=$(hls_at gate --json invite create --expires 1h | jq -r .code)
ctl_at gate test.clock.advance '{"ms": 7200000}' >/dev/null || fail "test.clock.advance"
init_node late --join "$code"
start_node late "${FAST[@]}"
wait_for 20 outcome_is late expired || fail "an expired invite was not refused: $(join_outcome late)"
wait_for 10 grep -q 'event=invite_refused .*outcome=expired' "$WORK/gate.log" || fail "the inviter did not log the expired invite"
stop_node late
stop_node gate
pass "an expired invite is refused on both sides"

# A well-formed code whose secret n0 never gave (the network key is real):
# refused as unknown, and counted against the node that tried it.
forged=$(python3 - "${CODE[n1]}" <<'PY'
import base64, hashlib, sys
body = sys.argv[1][5:]
b = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
b[65:97] = bytes(32)                      # the secret
b[-4:] = hashlib.blake2b(bytes(b[:-4]), digest_size=32).digest()[:4]
print("hls1-" + base64.urlsafe_b64encode(bytes(b)).decode().rstrip("="))
PY
)
init_node guess --join "$forged"
start_node guess "${FAST[@]}"
wait_for 20 outcome_is guess unknown || fail "an unknown secret was not refused: $(join_outcome guess)"
guess_id=$(hls_at guess --json status | jq -r .node_id)
hls_at n0 --json peer list | jq -e --arg id "$guess_id" '.[] | select(.node_id == $id and .score < 100)' >/dev/null ||
  fail "an unknown secret did not count against its node"
stop_node guess
pass "an unknown secret is refused and counted against the node"

# Mangled codes: one clear line, no node created.
good=${CODE[n1]}
expect_fail 2 'does not start with .hls1-' "$HLS" --home "$WORK/bad" init --place B --region R --join "q3rm0Yw6"
# (one character changed: x, or y where it was x already)
other=x
[ "${good:40:1}" = x ] && other=y
expect_fail 2 'check does not match' "$HLS" --home "$WORK/bad" init --place B --region R --join "${good:0:40}$other${good:41}"
expect_fail 2 'cut short' "$HLS" --home "$WORK/bad" init --place B --region R --join "${good:0:60}"
expect_fail 2 'not both' "$HLS" --home "$WORK/bad" init --place B --region R --join "$good" --network-key x
[ ! -e "$WORK/bad" ] || fail "a mangled code created a node"
expect_fail 2 'expires' hls_at n0 invite create --expires yesterday
pass "mangled codes and bad options are refused with one line"

for i in $(seq 0 $((N - 1))); do stop_node "n$i"; done
pass "all nodes stopped cleanly"
