#!/usr/bin/env bash
# Consent and signed summaries through hls on a real hlsd: the consent
# matrix, disclosure control, approval, withdrawal, deletion, correction,
# expiry (while running and across a restart), week ends, and inspect.
#
# hlsd runs on a frozen test clock (hlsd --test-clock; times are local, as
# the node's dates are): nothing here depends on the machine's date, and
# days pass only when the test moves the clock (clock_at, test.clock.*),
# which returns once what the move made due is published.
. "$(dirname "$0")/lib.sh"

# Wednesday of ISO week 2026-W12.
T0="2026-03-18 10:00:00"
init_node a
start_node a --test-clock "$(date -d "$T0" +%s)" --set publish.delay=0
H=(--home "$WORK/a")

# A past week: ISO week of 2026-03-02 (Monday) is 2026-W10.
add() { hls_at a --json record add "$@" | jq -r .id; }
for i in $(seq 1 9); do add --title "P9 $i" --scale person --stage experiment --theme nine --consent aggregate --consent-by worker --date 2026-03-02 >/dev/null; done
for i in $(seq 1 12); do add --title "P12 $i" --scale person --stage experiment --theme twelve --consent aggregate --consent-by worker --date 2026-03-03 >/dev/null; done
for i in $(seq 1 13); do add --title "P13 $i" --scale person --stage experiment --theme thirteen --consent aggregate --consent-by worker --date 2026-03-04 >/dev/null; done
for i in $(seq 1 12); do add --title "O12 $i" --scale organisation --stage reflect --theme twelve --consent aggregate --consent-by lead --date 2026-03-05 >/dev/null; done
# The consent matrix, one record per level, all about "matrix".
priv=$(add --title "Private one" --scale place --stage reflect --theme matrix --date 2026-03-06 --learnt "PRIVATE-TEXT")
aggr=$(add --title "Aggregate one" --scale place --stage reflect --theme matrix --consent aggregate --consent-by lead --date 2026-03-06 --learnt "AGGREGATE-TEXT")
peer=$(add --title "Peers one" --scale place --stage reflect --theme matrix --consent peers --consent-by lead --date 2026-03-06 --learnt "PEERS-TEXT")
netw=$(add --title "Network one" --scale place --stage reflect --theme matrix --consent network --consent-by lead --date 2026-03-06 --tried "We tried" --learnt "NETWORK-TEXT")

wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share preview | jq -e '.digests[] | select(.week==\"2026-W10\" and .state==\"published\")'" \
  || fail "the week's digest was not published"
pv=$(hls_at a --json share preview)
cell() { jq -r --arg t "$1" --arg s "$2" '.digests[] | select(.week=="2026-W10") | .cells[] | select(.theme==$t and .scale==$s) | (.count // "withheld")' <<<"$pv"; }
[ "$(cell nine person)" = withheld ] || fail "9 person-scale records must be withheld: $(cell nine person)"
# hls-sdc-2: 12 and 13 give withheld, 10 or 15 by the node's keyed offset
# for the cell; sdc.py (Python, none of hlsd's code) says which.
SDC="$(dirname "$0")/sdc.py"
want12=$(python3 "$SDC" publish "$WORK/a" 2026-W10 twelve problem person experiment 10 5 12)
want13=$(python3 "$SDC" publish "$WORK/a" 2026-W10 thirteen problem person experiment 10 5 13)
[ "$(cell twelve person)" = "$want12" ] || fail "12 person-scale records: $(cell twelve person), want $want12"
[ "$(cell thirteen person)" = "$want13" ] || fail "13 person-scale records: $(cell thirteen person), want $want13"
[ "$(cell twelve organisation)" = 12 ] || fail "12 organisation-scale records must be exact"
[ "$(cell matrix place)" = 3 ] || fail "matrix: aggregate, peers and network count; private does not: $(cell matrix place)"
jq -e '.digests[] | select(.week=="2026-W10") | .method == {"name":"hls-sdc-2","threshold":10,"rounding":5}' <<<"$pv" >/dev/null \
  || fail "the method and parameters travel with the digest"
pass "digest suppression: 9 withheld, 12 -> $want12, 13 -> $want13 (keyed), organisation exact; private not counted"

# Stories: none before approval; only peers/network can be approved.
[ "$(jq '.stories | length' <<<"$pv")" = 0 ] || fail "a story before approval"
[ "$(jq .awaiting_review <<<"$pv")" = 2 ] || fail "awaiting review: $(jq .awaiting_review <<<"$pv")"
rv=$(hls_at a --json share review)
[ "$(jq -r '[.[].record] | sort | map(tostring) | join(",")' <<<"$rv")" = "$(printf '%s\n' "$peer" "$netw" | sort -n | paste -sd,)" ] \
  || fail "review lists the peers and network records: $rv"
expect_fail 1 "consent aggregate; stories need peers or network" hls_at a share approve "$aggr"
expect_fail 1 "consent private; stories need peers or network" hls_at a share approve "$priv"
# Nor rejected: a rejection kept would hide the story from review once
# consent allows one (it did: the record never came back to review).
expect_fail 1 "consent private; stories need peers or network \(nothing to reject" hls_at a share reject "$priv"
[ "$(hls_at a --json share review | jq 'length')" = 2 ] || fail "review after refused decisions"
hls_at a share approve "$netw" --by "learning lead" >/dev/null
hls_at a share approve "$peer" >/dev/null
# The same approval again changes nothing, and says so (it did say "it goes
# to the whole network now"); the first decision, and its person, stand.
again=$(hls_at a share approve "$netw")
[ "$again" = "The story of record $netw was already approved as it stands; nothing changed." ] || fail "approve again: $again"
[ "$(hls_at a --json share approve "$netw" --by someone | jq -c '[.state, .unchanged]')" = '["approved",true]' ] \
  || fail "approve again, --json"
# An approval publishes at once (hlsd's next loop turn): a publish after it
# finds nothing and says so in words that do not read as a failure.
published() { hls_at a --json share log | jq -e --argjson r "$peer" 'any(.[]; .type == "story" and .record == $r)'; }
wait_for 10 published || fail "the approval of record $peer was not published"
grep -q "^Nothing was waiting to be published: everything is out (chain at [0-9]*)\.$" \
  <<<"$(hls_at a share publish)" || fail "share publish with nothing due: $(hls_at a share publish)"
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '[.[] | select(.type==\"story\")] | length == 2'" \
  || fail "approved stories were not published"
log=$(hls_at a --json share log)
[ "$(jq -r --argjson r "$netw" '.[] | select(.type=="story" and .record==$r) | .audience' <<<"$log")" = network ] || fail "network audience"
[ "$(jq -r --argjson r "$peer" '.[] | select(.type=="story" and .record==$r) | .audience' <<<"$log")" = peers ] || fail "peers audience"
pass "stories only after approval, with the consent's audience"

# Nothing private or aggregate is in any published item.
seqs=$(jq -r '.[].seq' <<<"$log")
for s in $seqs; do
  hls_at a share export "$s" "$WORK/item-$s.env" >/dev/null
  hls_at a inspect "$WORK/item-$s.env" >/dev/null || fail "item $s does not verify"
done
! grep -l -a -e PRIVATE-TEXT -e AGGREGATE-TEXT "$WORK"/item-*.env || fail "private or aggregate text left the node"
grep -q -a NETWORK-TEXT "$WORK"/item-*.env || fail "the network story's text is not in any item"
pass "private and aggregate records never leave; every item verifies"

# Every item links into one chain.
chain=$(hls_at a --json share log | jq -r 'sort_by(.seq) | .[].seq' | paste -sd' ')
[ "$(echo "$chain" | wc -w)" = "$(hls_at a --json status | jq .chain.seq)" ] || fail "share log misses items"
prev_id=""
for s in $chain; do
  j=$(hls_at a --json inspect "$WORK/item-$s.env")
  [ "$(jq -r .header.seq <<<"$j")" = "$s" ] || fail "seq"
  [ "$(jq -r .header.prev <<<"$j")" = "${prev_id:-null}" ] || fail "item $s does not link to item $((s - 1))"
  prev_id=$(jq -r .item_id <<<"$j")
done
[ "$(hls_at a --json inspect "$WORK/item-1.env" | jq -r .header.type)" = profile ] || fail "seq 1 is the profile"
pass "one hash-linked chain, profile first"

# Withdrawal: a tombstone, the body erased, a superseding digest.
story_seq=$(jq -r --argjson r "$netw" '.[] | select(.type=="story" and .record==$r) | .seq' <<<"$log")
out=$(hls_at a consent withdraw "$netw")
grep -q "being erased everywhere" <<<"$out" || fail "withdraw output: $out"
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '.[] | select(.type==\"tombstone\" and .target==$story_seq and .reason==\"consent_withdrawn\")'" \
  || fail "no tombstone after withdrawal"
log=$(hls_at a --json share log)
[ "$(jq -r --argjson s "$story_seq" '.[] | select(.seq==$s) | .state' <<<"$log")" = erased ] || fail "story not marked erased"
hls_at a share export "$story_seq" "$WORK/erased.env" >/dev/null
[ "$(hls_at a --json inspect "$WORK/erased.env" | jq -r '.body, .valid')" = $'null\ntrue' ] || fail "erased story is not a valid stub"
! grep -q -a NETWORK-TEXT "$WORK/erased.env" || fail "the erased body is still held"
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share preview | jq -e '[.digests[] | select(.week==\"2026-W10\") | .cells[] | select(.theme==\"matrix\")][0].count == 2'" \
  || fail "the week's digest was not re-issued without the withdrawn record"
pass "withdrawal: tombstone, body erased locally, digest re-issued"

# Consent given again needs a new approval.
hls_at a consent set "$netw" network --by lead >/dev/null
[ "$(hls_at a --json share review | jq --argjson r "$netw" '[.[] | select(.record==$r)] | length')" = 1 ] \
  || fail "re-consented record does not wait for review"
# Narrowed from network to peers: the network story goes, and the reply says which.
hls_at a share approve "$netw" >/dev/null
netw_story() { hls_at a --json share log | jq -e --argjson r "$netw" '.[] | select(.type=="story" and .record==$r and .state=="current") | .seq'; }
wait_for 20 netw_story >/dev/null || fail "the re-approved story was not published"
nseq=$(netw_story)
j=$(hls_at a --json consent set "$netw" peers --by lead)
[ "$(jq -r .erasing_story_seq <<<"$j")" = "$nseq" ] || fail "network to peers: the reply does not name story $nseq: $j"
pass "after withdrawal, a new approval is needed; network to peers names the story it erases"

# Correction: editing an approved story keeps the old until re-approved.
peer_seq=$(hls_at a --json share log | jq -r --argjson r "$peer" '.[] | select(.type=="story" and .record==$r and .state=="current") | .seq')
hls_at a record edit "$peer" --learnt "PEERS-TEXT corrected" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share review | jq -e '.[] | select(.record==$peer and .changed)'" \
  || fail "an edited story does not wait for review"
[ "$(hls_at a --json share log | jq -r --argjson s "$peer_seq" '.[] | select(.seq==$s) | .state')" = current ] \
  || fail "the approved version was withdrawn before a decision"
hls_at a share approve "$peer" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '.[] | select(.type==\"tombstone\" and .target==$peer_seq and .reason==\"corrected\")'" \
  || fail "no corrected tombstone"
[ "$(hls_at a --json share log | jq -r --argjson r "$peer" '[.[] | select(.type=="story" and .record==$r and .state=="current")] | length')" = 1 ] \
  || fail "not exactly one current story after the correction"
pass "correction: old story kept until the new one is approved, then erased (corrected)"

# Deleting a record with a published story erases it.
peer_seq=$(hls_at a --json share log | jq -r --argjson r "$peer" '.[] | select(.type=="story" and .record==$r and .state=="current") | .seq')
hls_at a record delete "$peer" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '.[] | select(.type==\"tombstone\" and .target==$peer_seq and .reason==\"record_deleted\")'" \
  || fail "no record_deleted tombstone"
pass "deleting a record erases its story"

# inspect explains what is wrong with a tampered envelope.
cp "$WORK/item-$story_seq.env" "$WORK/tampered.env"
printf '\x41' | dd of="$WORK/tampered.env" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_fail 1 "is not a valid envelope \((bad_signature|malformed|non_canonical)\)" hls_at a inspect "$WORK/tampered.env"
[ "$(hls_at a --json inspect "$WORK/tampered.env" | jq -r .valid)" = false ] || fail "tampered envelope valid"
head -c 50 "$WORK/item-2.env" >"$WORK/truncated.env"
expect_fail 1 "is not a valid envelope \(truncated\)" hls_at a inspect "$WORK/truncated.env"
: >"$WORK/empty.env"
grep -q "INVALID (truncated): the file is empty$" <<<"$(hls_at a inspect "$WORK/empty.env" 2>/dev/null)" \
  || fail "inspect of an empty file: $(hls_at a inspect "$WORK/empty.env" 2>&1)"
pass "inspect refuses and explains tampered and truncated envelopes"
stop_node a

# Expiry across a restart: consent that ended while hlsd was stopped is
# acted on when it starts, before it answers.
start_node a --test-clock "$(date -d "$T0" +%s)" --set publish.delay=0
exp=$(add --title "Expiring" --scale place --stage embed --theme expiry --consent network --consent-by lead \
  --consent-expires 2026-03-19 --date 2026-03-09 --learnt "EXPIRING-TEXT")
hls_at a share approve "$exp" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '.[] | select(.type==\"story\" and .record==$exp)'" \
  || fail "expiring story not published"
exp_seq=$(hls_at a --json share log | jq -r --argjson r "$exp" '.[] | select(.type=="story" and .record==$r) | .seq')
stop_node a
# Two days on: the expiry date has passed.
start_node a --test-clock "$(date -d "2026-03-20 10:00:00" +%s)" --set publish.delay=0
hls_at a --json share log | jq -e --argjson s "$exp_seq" '.[] | select(.type=="tombstone" and .target==$s and .reason=="consent_expired")' >/dev/null \
  || fail "consent that expired while stopped was not acted on at start"
[ "$(hls_at a --json record show "$exp" | jq -r '.consent + " " + .consent_ended')" = "private expired" ] || fail "record consent after expiry"
pass "expiry while stopped is acted on at start"

# Expiry while running: nothing at the last second before the expiry
# date, the tombstone once it starts.
exp2=$(add --title "Expiring soon" --scale place --stage embed --theme expiry --consent peers --consent-by lead \
  --consent-expires 2026-03-21 --date 2026-03-10)
hls_at a share approve "$exp2" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '.[] | select(.type==\"story\" and .record==$exp2)'" \
  || fail "second expiring story not published"
exp2_seq=$(hls_at a --json share log | jq -r --argjson r "$exp2" '.[] | select(.type=="story" and .record==$r) | .seq')
expired2() {
  hls_at a --json share log | jq -e --argjson s "$exp2_seq" 'any(.[]; .type=="tombstone" and .target==$s and .reason=="consent_expired")' >/dev/null
}
clock_at a "2026-03-20 23:59:59"
[ "$(hls_at a --json record show "$exp2" | jq -r .consent)" = peers ] || fail "consent ended before its date"
! expired2 || fail "a tombstone before the expiry date"
ctl_at a test.clock.advance '{"ms": 1000}' | jq -e '.today == "2026-03-21"' >/dev/null || fail "test.clock.advance"
expired2 || fail "consent did not end when its expiry date came"
[ "$(hls_at a --json record show "$exp2" | jq -r '.consent + " " + .consent_ended')" = "private expired" ] \
  || fail "record consent after expiry while running"
pass "expiry while running: not before the date, at once when it comes"

# Week end: the current week waits, and is published once it ends.
clock_at a "2026-03-22 23:59:59" # Sunday, the last second of 2026-W12
add --title "This week" --scale organisation --stage purpose --theme weekend --consent aggregate --consent-by lead \
  --date 2026-03-22 >/dev/null
week_published() {
  hls_at a --json share log | jq -e 'any(.[]; .type=="digest" and .week=="2026-W12")' >/dev/null
}
[ "$(hls_at a --json share preview | jq -r '.digests[] | select(.cells[] | .theme=="weekend") | .week')" = 2026-W12 ] \
  || fail "the record's week is not 2026-W12"
[ "$(hls_at a --json share preview | jq -r '.digests[] | select(.week=="2026-W12") | .state')" = waits_for_week_end ] \
  || fail "the current week was not waiting for its end"
! week_published || fail "the current week was published before it ended"
ctl_at a test.clock.advance '{"ms": 1000}' >/dev/null || fail "test.clock.advance"
week_published || fail "the week was not published when it ended"
pass "the current week is published when it ends"
stop_node a

# On the system clock, the test clock's commands do not exist.
start_node a
expect_fail 1 "^unknown_command: " ctl_at a test.clock.advance '{"ms": 1000}'
ctl_at a commands | jq -e 'all(.[]; .name | startswith("test.") | not)' >/dev/null || fail "test.clock.* listed"
pass "test.clock.* is unknown to a node on the system clock"

# Consent given again to a record whose own expiry has come: the message
# names that date and what to do (it said "expires: that date has come"
# with no --expires given).
printf 'title,scale,stage,consent,consent_by,consent_expires\nOld consent,person,reflect,network,lead,2020-01-01\n' \
  >"$WORK/old.csv"
hls_at a import "$WORK/old.csv" >/dev/null || fail "import a record whose consent expired"
old=$(hls_at a --json record list | jq '[.[] | select(.title == "Old consent")][0].id')
expect_fail 2 "the record's consent expiry \(2020-01-01\) has come; consent would end at once: give a later --expires" \
  hls_at a consent set "$old" network
hls_at a record edit "$old" --consent-expires "" >/dev/null || fail "the record's consent expiry taken away"
hls_at a consent set "$old" network >/dev/null || fail "consent set after the expiry was taken away"
# consent set keeps an end date unless told (and says it); --expires none
# takes it away (there was no way to on the command line).
out=$(hls_at a consent set "$old" aggregate --expires 2099-01-01) || fail "consent set --expires: $out"
out=$(hls_at a consent set "$old" peers) || fail "consent set: $out"
[ "$out" = "Record $old: consent peers, given by lead, until 2099-01-01." ] || fail "the kept end date unsaid: $out"
out=$(hls_at a consent set "$old" peers --expires none) || fail "consent set --expires none: $out"
[ "$out" = "Record $old: consent peers, given by lead." ] || fail "--expires none: $out"
hls_at a --json record show "$old" | jq -e '.consent_expires == null' >/dev/null || fail "the end date is still held"
pass "consent given again past the record's own expiry says which date, and what to do; --expires none"
stop_node a

# A published story whose record this store no longer names (record_id
# null, as after a restore): share log says so, not "record 0".
python3 - "$WORK/a/hlsd.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE published SET record_id = NULL WHERE type = 3")
db.commit()
PY
start_node a
log=$(hls_at a share log)
grep -q "story .* a record not held, 20" <<<"$log" || fail "share log of a story without its record: $log"
grep -q "record 0" <<<"$log" && fail "share log says record 0: $log"
hls_at a --json share log | jq -e 'any(.[]; .type == "story" and .record == null)' >/dev/null \
  || fail "share log --json: a story's record is null"
pass "share log names a story whose record is not held as such, not record 0"
stop_node a
