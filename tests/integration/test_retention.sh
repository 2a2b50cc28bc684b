#!/usr/bin/env bash
# Retention (docs/governance.md#retention): a period per scale in
# [retention], a record's own retain_until over it; when the test clock
# passes a record's retention date hlsd deletes exactly the records past
# theirs, as hls record delete does (the story of one erased at a peer),
# with one audit entry each and no free text in them; the governance
# report shows the rules and counts, and says plainly when no rule is set;
# a SIGHUP picks up a new period; a bad period stops hlsd at start with a
# one-line reason.
. "$(dirname "$0")/lib.sh"

T0="2026-03-02 10:00:00" # a Monday
FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set network.keepalive=1s
      --set gossip.interval=50ms)

# --- a bad period stops hlsd at start, naming the option in one line ----------
init_node bad
printf '\n[retention]\nperson = 6 years\n' >>"$WORK/bad/hlsd.conf"
expect_fail 1 "^hlsd: .*hlsd.conf:[0-9]+: retention.person: must be a period such as 6y, 18m or 90d.*or keep$" \
  "$HLSD" --home "$WORK/bad"
sed -i 's/^person = 6 years$/person = 6y/' "$WORK/bad/hlsd.conf"
expect_fail 2 "^hlsd: command line: retention.place: must be a period such as 6y" "$HLSD" --home "$WORK/bad" --set retention.place=forever
pass "a bad retention period stops hlsd at start with one line naming the option"

# --- two nodes: a on a test clock with rules, b a peer with none --------------
init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
printf '\n[retention]\nperson = 6y\norganisation = 18m\ncountry = 90d\n' >>"$WORK/a/hlsd.conf"
start_node a --test-clock "$(date -d "$T0" +%s)" --set publish.delay=0 "${FAST[@]}"
start_node b "${FAST[@]}"
ID_A=$(hls_at a --json status | jq -r .node_id)
hls_at b peer add "$(hls_at a --json status | jq -r .listening_on)" "$ID_A" >/dev/null

# No rule set (b): the report says so plainly.
hls_at b --json governance report | jq -e '.retention.rule_set == false and
  (.retention.rules | to_entries | all(.value == "keep"))' >/dev/null || fail "b's report: rules are not all keep"
hls_at b governance report | grep -q "NO RETENTION RULE IS SET" || fail "b's report does not say no rule is set"
pass "with no [retention] rule the governance report says so plainly"

# Text no other part of the store can hold by chance.
MARK="Qrtn$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
add() { hls_at a --json record add --stage reflect --learnt "What we learnt" "$@" | jq -r .id; }
# Retention dates (kept up to and including them), today 2026-03-02:
r1=$(add --title "Story $MARK" --scale person --date 2020-03-10 --theme housing --consent network \
  --consent-by lead --tried "We tried $MARK") #                                           2026-03-10 (6y): goes at 03-11
r2=$(add --title "Later person" --scale person --date 2020-03-20) # 2026-03-20: stays
r3=$(add --title "Organisation" --scale organisation --date 2024-09-05) # 2026-03-05 (18m): goes
r4=$(add --title "Place" --scale place --date 1995-01-01)         # keep: stays
r5=$(add --title "Country" --scale country --date 2025-12-10)     # 2026-03-10 (90d): goes
r6=$(add --title "Own date" --scale place --date 2025-06-01 --retain-until 2026-03-08) # its own: goes
r7=$(add --title "Own later" --scale person --date 2020-01-01 --retain-until 2027-01-01) # rule passed, own not: stays

# What record show says, and the JSON.
hls_at a record show "$r1" | grep -q "retained  until 2026-03-10 (the retention period of its scale)" ||
  fail "record show of $r1: $(hls_at a record show "$r1")"
hls_at a record show "$r6" | grep -q "retained  until 2026-03-08 (its own date)" || fail "record show of $r6"
hls_at a record show "$r4" | grep -q "retained  until deleted" || fail "record show of $r4"
hls_at a --json record show "$r7" | jq -e '.retain_until == "2027-01-01" and .retention == "2027-01-01" and
  .retention_from == "record"' >/dev/null || fail "record show --json of $r7"
hls_at a --json record list | jq -e --argjson id "$r3" 'any(.[]; .id == $id and .retention == "2026-03-05" and
  .retention_from == "rule")' >/dev/null || fail "record list --json: retention of $r3"
# Edit: a date of its own, then none again; a date already passed is refused.
hls_at a --json record edit "$r2" --retain-until 2026-04-30 | jq -e '.retention_from == "record"' >/dev/null ||
  fail "edit --retain-until"
hls_at a --json record edit "$r2" --retain-until none | jq -e '.retain_until == null and .retention == "2026-03-20"' \
  >/dev/null || fail "edit --retain-until none"
expect_fail 2 "^hls: retain_until: 2026-03-01 has passed" hls_at a record edit "$r2" --retain-until 2026-03-01
expect_fail 2 "^hls: retain_until: expected a date" hls_at a record add --title X --scale place --stage reflect \
  --retain-until soon
pass "record show, list and edit give each record's retention and where it comes from"

# The story of r1 goes out and reaches b.
hls_at a share approve "$r1" --by lead >/dev/null
seq=$(hls_at a --json share log | jq --argjson id "$r1" '[.[] | select(.type == "story" and .record == $id)][0].seq')
[ "$seq" != null ] || fail "no story of $r1 in the share log: $(hls_at a --json share log)"
body_at() { hls_at b --json items --origin "$ID_A" | jq -r --argjson s "$seq" '.[] | select(.seq == $s) | .body'; }
body_is() { [ "$(body_at)" = "$1" ]; }
wait_for 30 body_is held || fail "b did not get the story of $r1 (body: $(body_at))"
pass "the story of a record that will expire reached the peer"

report() { hls_at a --json governance report | jq -c .retention; }
hls_at a --json governance report | jq -e '.retention | .rule_set and .rules.person == "6y" and
  .rules.organisation == "18m" and .rules.place == "keep" and .rules.country == "90d" and
  .records_with_own_date == 2 and .due_within_30_days == 5 and .deleted == 0 and .last_deleted == null' \
  >/dev/null || fail "the report before: $(report)"
hls_at a governance report | grep -q "| place | keep (no automatic deletion) |" || fail "the report's rules table"
pass "the governance report shows the rules, own dates and what is due within 30 days"

# --- the clock passes their dates: exactly those records go -------------------
clock_at a "2026-03-11 00:00:05"
ids() { hls_at a --json record list | jq -c '[.[].id] | sort'; }
[ "$(ids)" = "[$r2,$r4,$r7]" ] || fail "records left: $(ids), want [$r2,$r4,$r7]"
pass "deleted exactly the records past their retention date ($r1 $r3 $r5 $r6), kept $r2 $r4 $r7"

# As record delete: the story is erased at the peer, and the words leave the index.
wait_for 30 body_is erased || fail "b did not erase the story of $r1 (body: $(body_at))"
hls_at a --json share log | jq -e --argjson s "$seq" 'any(.[]; .type == "tombstone" and .target == $s and
  .reason == "record_deleted")' >/dev/null || fail "no tombstone record_deleted for seq $seq: $(hls_at a --json share log)"
[ "$(hls_at a --json record search "$MARK" | jq length)" = 0 ] || fail "the deleted words are still found"
pass "the expired record's story was erased at the peer (tombstone record_deleted)"

# One audit entry per deleted record, by hlsd, with no free text.
audit=$(hls_at a --json audit --who hlsd)
got=$(jq -c '[.[] | select(.action == "record.retention_expired") | .record] | sort' <<<"$audit")
[ "$got" = "[$r1,$r3,$r5,$r6]" ] || fail "audit entries for $got, want [$r1,$r3,$r5,$r6]: $audit"
jq -e --argjson id "$r6" 'any(.[]; .action == "record.retention_expired" and .record == $id and
  .about == "retention=2026-03-08 from=record" and .result == "ok")' <<<"$audit" >/dev/null ||
  fail "the audit entry of $r6: $audit"
jq -e --argjson id "$r1" 'any(.[]; .record == $id and .about == "retention=2026-03-10 from=rule" and
  (.before | fromjson | .scale == "person" and .text_bytes.tried > 0 and .story == "approved"))' <<<"$audit" >/dev/null ||
  fail "the audit entry of $r1: $audit"
! grep -q "$MARK" <<<"$(hls_at a --json audit)" || fail "an audit entry holds a record's text"
! grep -q "$MARK" <<<"$(hls_at a audit --csv)" || fail "the audit CSV holds a record's text"
pass "one audit entry per deleted record (record.retention_expired), none holding free text"

hls_at a --json governance report | jq -e '.retention | .deleted == 4 and .last_deleted == "'"$(date -u -d "2026-03-11 00:00:05" +%Y-%m-%dT%H:%M:%SZ)"'" and
  .records_with_own_date == 1 and .due_within_30_days == 1 and .last_sweep != null' >/dev/null ||
  fail "the report after: $(report)"
pass "the governance report counts the deletions and the date of the last one"

# --- SIGHUP: a new period applies at once --------------------------------------
printf 'place = 30y\n' >>"$WORK/a/hlsd.conf" # 1995-01-01 + 30y = 2025-01-01: passed
kill -HUP "${DAEMON_PID[a]}"
gone() { [ "$(ids)" = "[$r2,$r7]" ]; }
wait_for 20 gone || fail "after the reload the records are $(ids), want [$r2,$r7]"
hls_at a --json audit --who hlsd | jq -e --argjson id "$r4" 'any(.[]; .action == "record.retention_expired" and
  .record == $id and .about == "retention=2025-01-01 from=rule")' >/dev/null || fail "no audit entry for $r4"
pass "a period set by SIGHUP applies at once ($r4 went)"

# --- an own date from a file and from CSV, taken back by export ----------------
echo '{"title":"From a file","scale":"country","stage":"embed","retain_until":"2030-01-31"}' |
  hls_at a --json record add --file - | jq -e '.retain_until == "2030-01-31"' >/dev/null || fail "--file retain_until"
printf 'title,scale,stage,date,retain_until\n"From CSV",organisation,embed,2026-03-01,2031-05-01\n' >"$WORK/in.csv"
hls_at a import "$WORK/in.csv" >/dev/null || fail "import with retain_until"
hls_at a --json record list | jq -e 'any(.[]; .title == "From CSV" and .retain_until == "2031-05-01")' >/dev/null ||
  fail "CSV retain_until"
hls_at a record export | head -1 | grep -q '"retain_until"$' || fail "record export has no retain_until column"
pass "retain_until from --file JSON and CSV import, and in record export"

stop_node a
stop_node b
