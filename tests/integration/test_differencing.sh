#!/usr/bin/env bash
# No differencing (docs/consent.md, "Differencing"): a receiver that keeps
# every version of a week's digest, holds every story, and is even told the
# exact true count behind each version cannot pin the count of a
# person-scale cell.
#   a (on a test clock) has 9 aggregate-only person-scale records of a
#   theme in a past week, then adds 11 network records of it one by one,
#   each approved as a story (9 -> 20), and withdraws them one by one
#   (20 -> 9); every change that alters the published digest re-issues it.
#   b, a's peer, receives every version. sdc.py (Python, none of hlsd's
#   code) reads b's store and tries every count and offset against all of
#   them.
. "$(dirname "$0")/lib.sh"
SDC="$(dirname "$0")/sdc.py"

FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set gossip.interval=50ms)
T0="2026-03-18 10:00:00" # Wednesday of 2026-W12; the records are in 2026-W10
init_node a
init_node b --network-key "$(hls_at a network key)"
start_node a --test-clock "$(date -d "$T0" +%s)" --set publish.delay=0 "${FAST[@]}"
start_node b "${FAST[@]}"
A_ID=$(hls_at a --json status | jq -r .node_id)
B_ID=$(hls_at b --json status | jq -r .node_id)
hls_at a peer add "$(hls_at b --json status | jq -r .listening_on)" "$B_ID" >/dev/null

add() {
  hls_at a --json record add --title "$1" --scale person --stage experiment --theme quiet --date 2026-03-03 \
    --consent "$2" --consent-by worker | jq -r .id
}
for i in $(seq 1 9); do add "Hidden $i" aggregate >/dev/null; done

# After each change: wait until a has published what its records give now,
# then note the week's digest seq with the true count and the stories b can
# hold (only the first count a version was published with counts).
declare -A TRUTH=()
stories=0
settled() {
  hls_at a --json share preview | jq -e '.digests[] | select(.week=="2026-W10" and .state=="published")'
}
note() {
  local t=$1 seq
  wait_for 20 settled || fail "a did not publish 2026-W10 (count $t)"
  seq=$(hls_at a --json share preview | jq -r '.digests[] | select(.week=="2026-W10") | .seq')
  [ -n "${TRUTH[$seq]:-}" ] || TRUTH[$seq]="[$t, $stories]"
}
note 9
ids=()
for i in $(seq 1 11); do
  id=$(add "Shared $i" network)
  hls_at a share approve "$id" --by lead >/dev/null
  ids+=("$id")
  stories=$((stories + 1))
  note $((9 + i))
done
for i in $(seq 11 -1 1); do
  hls_at a consent withdraw "${ids[$((i - 1))]}" >/dev/null
  stories=$((stories - 1))
  note $((9 + i - 1))
done
versions=${#TRUTH[@]}
[ "$versions" -ge 4 ] || fail "only $versions versions of the week's digest: the test would prove little"
pass "a published $versions versions of 2026-W10 while the count went 9 -> 20 -> 9"

# b holds all of a's chain.
head_a=$(hls_at a --json status | jq .chain.seq)
b_has_all() {
  [ "$(hls_at b --json items --origin "$A_ID" | jq --argjson h "$head_a" '[.[] | select(.seq <= $h)] | length')" = "$head_a" ]
}
wait_for 30 b_has_all || fail "b did not receive a's chain up to $head_a"

truths="{$(for s in "${!TRUTH[@]}"; do printf '"%s": %s,' "$s" "${TRUTH[$s]}"; done | sed 's/,$//')}"
out=$(python3 "$SDC" attack "$WORK/b/hlsd.db" "$A_ID" 2026-W10 quiet problem experiment "$truths") \
  || fail "the attacker failed: $out"
echo "$out" | jq -c '.versions[] | {seq, cell, true, possible}'
n=$(jq '.versions | length' <<<"$out")
[ "$n" = "$versions" ] || fail "b holds $n versions of the digest, a published $versions"
jq -e '[.versions[].cell] | any(. == "withheld") and any(type == "number")' <<<"$out" >/dev/null \
  || fail "the versions were not both withheld and published: the test would prove little"
jq -e 'all(.versions[]; .true as $t | .possible | index($t) != null)' <<<"$out" >/dev/null \
  || fail "the attacker lost the truth (a bug in sdc.py or in hlsd's rule)"
jq -e 'all(.versions[]; (.possible | length) >= 2)' <<<"$out" >/dev/null \
  || fail "a count was pinned: $(jq -c '[.versions[] | select((.possible | length) < 2)]' <<<"$out")"
pass "b's $n versions, every story and the true changes leave every count open ($(jq -r '[.versions[].possible | length] | min' <<<"$out") or more values each)"
