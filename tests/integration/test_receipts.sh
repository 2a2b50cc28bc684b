#!/usr/bin/env bash
# Erasure receipts (docs/governance.md, docs/protocol.md 4.5) on six real
# hlsd nodes on loopback. a lists b, c and d as its direct peers; b lists
# e, c lists f (so e and f hear of a only through b and c).
#   - a network story reaches all five others; f is stopped; a withdraws
#     consent: the receipts of b, c, d and e arrive at a, and
#     hls share receipts shows them erased and f "not yet" (human table
#     and JSON agree);
#   - f starts again, catches up, erases, and its receipt arrives;
#   - a peers story reaches the bodies of b, c and d only; erased, b, c
#     and d confirm "erased", e and f "never held" (not expected);
#   - receipts are listed by hls items --type receipt and decoded by
#     hls inspect; no node logs an error or a protocol violation.
. "$(dirname "$0")/lib.sh"

# publish.delay is short: a receipt goes out with the next batch.
FAST=(--set publish.delay=200ms --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
NODES=(a b c d e f)
declare -A PLACE_OF=([a]=Ashby [b]=Barford [c]=Carlton [d]=Denholme [e]=Elswick [f]=Fenwick)

PLACE=${PLACE_OF[a]} init_node a
key=$(hls_at a network key)
for n in "${NODES[@]:1}"; do PLACE=${PLACE_OF[$n]} init_node "$n" --network-key "$key"; done
declare -A ID=() ADDR=()
for n in "${NODES[@]}"; do
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
for n in b c d; do hls_at a peer add "${ADDR[$n]}" "${ID[$n]}" >/dev/null; done
hls_at b peer add "${ADDR[e]}" "${ID[e]}" >/dev/null
hls_at c peer add "${ADDR[f]}" "${ID[f]}" >/dev/null

# --- helpers -----------------------------------------------------------------------
# body_at NODE SEQ: held, stub, erased of a's item SEQ at NODE (nothing if not held).
body_at() {
  { hls_at "$1" --json items --origin "${ID[a]}" 2>/dev/null || echo '[]'; } |
    jq -r --argjson s "$2" '.[] | select(.seq == $s) | .body'
}
body_is() { [ "$(body_at "$1" "$2")" = "$3" ]; }
profiles_everywhere() {
  local n
  for n in "${NODES[@]}"; do
    [ "$(hls_at "$n" --json status | jq '.gossip.heads | length')" = 6 ] || return 1
  done
}
# story TITLE CONSENT: a record of a with that consent, approved (published
# at once); prints the record id once its story is in a's log.
story() {
  local r
  r=$(hls_at a --json record add --title "$1" --scale place --stage reflect --theme receipts --consent "$2" \
    --consent-by lead --date 2026-03-04 --tried "We tried it" --learnt "We learnt it" | jq -r .id)
  hls_at a share approve "$r" >/dev/null
  wait_for 10 story_published "$r" || fail "a did not publish the story of record $r"
  echo "$r"
}
story_published() { hls_at a --json share log | jq -e --argjson r "$1" 'any(.[]; .type == "story" and .record == $r)'; }
story_seq() { hls_at a --json share log | jq -r --argjson r "$1" '[.[] | select(.type == "story" and .record == $r)][0].seq'; }
receipts() { hls_at a --json share receipts "$@"; }
# state_of JSON NODE: that node's state in a share.receipts reply.
state_of() { jq -r --arg id "${ID[$2]}" '.places[] | select(.node_id == $id) | .state' <<<"$1"; }
confirmed_is() { [ "$(receipts "$1" | jq .confirmed)" = "$2" ]; }
no_trouble() {
  local n
  for n in "${NODES[@]}"; do
    if grep -E 'level=error|event=(gossip_violation|peer_violation|bad_frame)' "$WORK/$n.log" >&2; then
      fail "$n logged an error or a violation"
    fi
  done
}

wait_for 30 profiles_everywhere || fail "the six nodes did not all get the six profiles"
pass "six nodes: a - b, c, d; b - e; c - f; all hold the six profiles"

# --- a network story, one node down -------------------------------------------------
rec=$(story "Shared with the whole network" network)
seq=$(story_seq "$rec")
for n in b c d e f; do wait_for 20 body_is "$n" "$seq" held || fail "$n did not get the network story"; done
stop_node f
hls_at a consent withdraw "$rec" >/dev/null
for n in b c d e; do wait_for 20 body_is "$n" "$seq" erased || fail "$n did not erase the network story"; done
wait_for 30 confirmed_is "$seq" 4 || { receipts "$seq" >&2; fail "the receipts of b, c, d and e did not all reach a"; }
json=$(receipts "$seq")
[ "$(jq .expected <<<"$json")" = 5 ] || fail "a expects $(jq .expected <<<"$json") places, not 5: $json"
for n in b c d e; do [ "$(state_of "$json" "$n")" = erased ] || fail "$n is not 'erased' in: $json"; done
[ "$(state_of "$json" f)" = not_yet ] || fail "f is not 'not_yet' in: $json"
[ "$(jq '[.places[] | select(.state == "not_yet") | .at] == [null]' <<<"$json")" = true ] || fail "a time for f: $json"
[ "$(jq -r .item.type <<<"$json")" = story ] && [ "$(jq .item.record <<<"$json")" = "$rec" ] ||
  fail "the item is not the story of record $rec: $json"
human=$(hls_at a share receipts "$seq")
echo "$human" | sed 's/^/# /'
grep -q "^Fenwick .*${ID[f]} *not yet *- *-$" <<<"$human" || fail "f is not 'not yet' in the table"
for n in b c d e; do
  grep -q "^${PLACE_OF[$n]} .*${ID[$n]} *erased *20[0-9-]*T[0-9:]*Z *item [0-9]*$" <<<"$human" ||
    fail "$n is not erased in the table"
done
grep -q "^4 of 5 expected places confirmed (erased); 1 not yet.$" <<<"$human" ||
  fail "the summary line is not '4 of 5 ...'"
# The same item by its tombstone and by its record.
tomb=$(jq .item.erased_by <<<"$json")
[ "$(receipts "$tomb" | jq -c '[.item.seq, .confirmed]')" = "[$seq,4]" ] || fail "by the tombstone's seq"
[ "$(receipts "$rec" --record | jq -c '[.item.seq, .confirmed]')" = "[$seq,4]" ] || fail "by the record's id"
pass "withdrawn with f down: b, c, d and e confirmed 'erased' at a, f shows 'not yet' (table and JSON agree)"

start_node f "${FAST[@]}" --listen "${ADDR[f]}"
wait_for 30 body_is f "$seq" erased || fail "f did not catch up and erase the story"
wait_for 30 confirmed_is "$seq" 5 || { receipts "$seq" >&2; fail "f's receipt did not reach a"; }
json=$(receipts "$seq")
[ "$(state_of "$json" f)" = erased ] || fail "f is not 'erased' after its restart: $json"
FINAL_NETWORK=$(hls_at a share receipts "$seq")
echo "$FINAL_NETWORK" | sed 's/^/# /'
grep -q "^5 of 5 expected places confirmed (erased).$" <<<"$FINAL_NETWORK" || fail "not 5 of 5"
pass "f started again, caught up, erased the story and its receipt reached a: 5 of 5"

# --- a peers story: only the direct peers are expected ---------------------------------
prec=$(story "Shared with our direct peers" peers)
pseq=$(story_seq "$prec")
for n in b c d; do wait_for 20 body_is "$n" "$pseq" held || fail "$n (a direct peer) did not get the peers story"; done
for n in e f; do wait_for 20 body_is "$n" "$pseq" stub || fail "$n did not get the peers story's stub"; done
hls_at a consent withdraw "$prec" >/dev/null
all_five() { [ "$(receipts "$pseq" | jq '.places | map(select(.state != "not_yet")) | length')" = 5 ]; }
wait_for 30 all_five || { receipts "$pseq" >&2; fail "the five receipts of the peers story did not reach a"; }
json=$(receipts "$pseq")
[ "$(jq -c '[.expected, .confirmed, .erased, .never_held, .not_expected]' <<<"$json")" = "[3,3,3,0,2]" ] ||
  fail "peers story: not 3 direct peers erased and 2 others never held: $json"
for n in b c d; do
  [ "$(jq -r --arg id "${ID[$n]}" '.places[] | select(.node_id == $id) | [.expected, .state] | join(" ")' <<<"$json")" = \
    "true erased" ] || fail "$n is not an expected 'erased': $json"
done
for n in e f; do
  [ "$(jq -r --arg id "${ID[$n]}" '.places[] | select(.node_id == $id) | [.expected, .state] | join(" ")' <<<"$json")" = \
    "false never_held" ] || fail "$n is not a 'never_held' not expected: $json"
done
human=$(hls_at a share receipts "$pseq")
echo "$human" | sed 's/^/# /'
grep -q "^Elswick (not expected) .*never held" <<<"$human" || fail "e is not listed as never held, not expected"
grep -q "^3 of 3 expected places confirmed (erased); 2 more places, not expected, sent receipts too.$" <<<"$human" ||
  fail "the peers story's summary line"
pass "a peers story: its direct peers b, c, d confirmed 'erased'; e and f, given only its stub, 'never held'"

# --- receipts are items like any other ----------------------------------------------------
n_receipts=$(hls_at a --json items --type receipt | jq '[.[] | select(.origin != "'"${ID[a]}"'")] | length')
[ "$n_receipts" -ge 5 ] || fail "a holds $n_receipts receipts of others"
[ "$(hls_at a --json items --type receipt | jq '[.[] | select(.body != "held")] | length')" = 0 ] ||
  fail "a receipt held without its body"
rseq=$(hls_at b --json share log | jq '[.[] | select(.type == "receipt")][0].seq')
hls_at b share export "$rseq" "$WORK/receipt.env" >/dev/null
hls_at b --json inspect "$WORK/receipt.env" |
  jq -e --arg a "${ID[a]}" '.valid and .header.type == "receipt" and any(.body.entries[]; .origin == $a and .state == "erased")' \
  >/dev/null || fail "hls inspect does not decode b's receipt"
expect_fail 2 "is a profile: only stories and digests are erased" hls_at a share receipts 1
expect_fail 1 "has published no item 999" hls_at a share receipts 999
expect_fail 1 "not erased" hls_at a share receipts "$(hls_at a --json status | jq .chain.seq)"
no_trouble
pass "receipts are listed by items --type receipt and decoded by inspect; no errors, no violations"
for n in "${NODES[@]}"; do stop_node "$n"; done
