#!/usr/bin/env bash
# The audit log on a real daemon (docs/governance.md): every change made
# with hls and with the web app, refused ones too, and what hlsd did itself
# (consent that expired, a configuration reload), with who, when, and a
# record's fields before and after but never its free text; the filters,
# CSV and JSON; audit verify whole, then finding an entry rewritten in the
# file.
. "$(dirname "$0")/lib.sh"

T0="2026-03-16 10:00:00" # a Monday
init_node a
start_node a --test-clock "$(date -d "$T0" +%s)" --set publish.delay=0
me=$(id -un)

id=$(hls_at a --json record add --title "SECRET-TITLE of a life" --scale person --stage experiment \
  --theme housing --learnt "SECRET-LEARNT" --context "SECRET-CONTEXT" --date 2026-03-09 | jq -r .id)
hls_at a consent set "$id" network --by practitioner >/dev/null
hls_at a share approve "$id" >/dev/null
hls_at a record edit "$id" --stage reflect >/dev/null
hls_at a record edit 9999 --stage reflect >/dev/null 2>&1 && fail "editing a record that does not exist"
exp=$(hls_at a --json record add --title "Expiring" --scale organisation --stage purpose --consent aggregate \
  --consent-by lead --consent-expires 2026-03-18 --date 2026-03-10 | jq -r .id)

# A web user's change and a refused one.
url=$(hls_at a --json status | jq -r .web.url)
link=$(hls_at a --json user add vic --role viewer | jq -r .link)
curl -s -c "$WORK/jar" -X POST "$url/api/session/redeem" -d "{\"token\":\"${link##*/#/welcome/}\"}" >"$WORK/s.json"
csrf=$(jq -r .result.csrf "$WORK/s.json")
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar" -X POST "$url/api/call/record.delete" \
  -H "X-CSRF-Token: $csrf" -d "{\"id\":$id}")
[ "$code" = 403 ] || fail "a viewer deleting a record: HTTP $code"

# What hlsd does itself: consent that reaches its expiry, a reload.
clock_at a "2026-03-18 00:00:05"
expired() { hls_at a --json audit --who hlsd | jq -e 'any(.[]; .action == "consent.expired" and .about == "records=1")'; }
wait_for 20 expired || fail "no audit entry for the consent that expired: $(hls_at a --json audit --who hlsd)"
kill -HUP "${DAEMON_PID[a]}"
reloaded() { hls_at a --json audit --who hlsd | jq -e 'any(.[]; .action == "config.reload" and .result == "ok")'; }
wait_for 20 reloaded || fail "no audit entry for the reload"

log=$(hls_at a --json audit)
jq -e --arg me "$me" --argjson id "$id" '
  map(select(.record == $id)) | map(.action) == ["record.add", "consent.set", "share.approve", "record.edit",
    "record.delete"]' <<<"$log" >/dev/null || fail "the record's entries: $(jq -c 'map([.action, .record])' <<<"$log")"
jq -e --arg me "$me" --argjson id "$id" '
  (map(select(.record == $id and .action != "record.delete")) | all(.who == $me and .result == "ok"))
  and (map(select(.action == "record.delete")) | .[0].who == "web:vic" and .[0].result == "access_denied")
  and (map(select(.action == "record.edit" and .result == "not_found")) | length == 1)
  and (map(select(.action == "consent.set")) | .[0].before | fromjson | .consent == "private")
  and (map(select(.action == "consent.set")) | .[0].after | fromjson | .consent == "network")
  and (map(select(.action == "share.approve")) | .[0].after | fromjson | .story == "approved")
  and (map(select(.action == "record.edit" and .result == "ok")) | .[0] | (.before | fromjson | .stage) == "experiment"
       and (.after | fromjson | .stage) == "reflect")
  and (map(select(.action == "user.add")) | .[0].about == "name=vic role=viewer")
  and (map(.seq) == [range(1; length + 1)])' <<<"$log" >/dev/null \
  || fail "audit entries: $(jq -c . <<<"$log" | head -c 3000)"
pass "changes by hls and the web app, refused ones, consent expiry and a reload are in the audit log"

# Never the record's free text, in the log or anywhere in the audit table.
! grep -q SECRET <<<"$log" || fail "free text in the audit log"
python3 - "$WORK/a/hlsd.db" <<'PY' || fail "free text in the audit table"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT * FROM audit").fetchall()
assert rows and not any("SECRET" in str(r) for r in rows), rows
PY
pass "entries hold a record's fields, never its free text"

[ "$(hls_at a --json audit --record "$exp" | jq length)" = 1 ] || fail "audit --record"
[ "$(hls_at a --json audit --who web:vic | jq 'map(.who) | unique')" = '[
  "web:vic"
]' ] || fail "audit --who"
[ "$(hls_at a --json audit --limit 2 | jq 'length')" = 2 ] || fail "audit --limit"
[ "$(hls_at a --json audit --since 2030-01-01 | jq length)" = 0 ] || fail "audit --since"
hls_at a audit --csv >"$WORK/audit.csv"
head -1 "$WORK/audit.csv" | grep -qx '"seq","at","who","action","record","about","before","after","result","hash"' \
  || fail "CSV header: $(head -1 "$WORK/audit.csv")"
python3 - "$WORK/audit.csv" "$(jq length <<<"$log")" <<'PY' || fail "CSV rows"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == int(sys.argv[2]), len(rows)
assert all(len(r["hash"]) == 64 for r in rows)
PY
hls_at a audit | grep -q 'consent.set .*consent "private" -> "network"' || fail "the table says what changed: $(hls_at a audit)"
expect_fail 2 "csv and --json" hls_at a --json audit --csv
pass "filters (--record, --who, --limit, --since), CSV and the table of changes"

# Exports: a record export, a subject access search and a share export are
# kept, with who and the filters (of the search only how many words); a
# plain listing and later pages of an export are not.
n_before=$(hls_at a --json audit --limit 0 | jq length)
hls_at a record list >/dev/null
[ "$(hls_at a --json audit --limit 0 | jq length)" = "$n_before" ] || fail "a plain record list was audited"
hls_at a record export --scale person >/dev/null
hls_at a --json record search "SECRET-TITLE life" >/dev/null
hls_at a --json record search "life" --theme "SECRET-THEME name" >/dev/null
hls_at a share export 2 "$WORK/item2.env" >/dev/null
exports=$(hls_at a --json audit --limit 4 | jq '[.[0], .[1], .[3]]')
jq -e '.action == "record.search" and .about == "words=1 theme=(17 bytes)"' \
  <<<"$(hls_at a --json audit --limit 4 | jq '.[2]')" >/dev/null \
  || fail "a search's theme filter in the audit log: $(hls_at a --json audit --limit 4 | jq -c '.[2]')"
jq -e --arg me "$me" '[.[] | .who == $me and .result == "ok"] | all' <<<"$exports" >/dev/null || fail "exports' who: $exports"
jq -e '.[0].action == "record.list" and (.[0].about | test("^scale=person( limit=[0-9]+)?$"))' <<<"$exports" >/dev/null \
  || fail "the export's entry: $(jq -c '.[0]' <<<"$exports")"
jq -e '.[1].action == "record.search" and .[1].about == "words=2"' <<<"$exports" >/dev/null \
  || fail "the search's entry: $(jq -c '.[1]' <<<"$exports")"
jq -e '.[2].action == "share.export" and .[2].about == "seq=2"' <<<"$exports" >/dev/null \
  || fail "the share export's entry: $(jq -c '.[2]' <<<"$exports")"
! hls_at a audit --csv | grep -q "SECRET" || fail "the search words or its theme are in the audit log"
log=$(hls_at a --json audit --limit 0)
pass "exports are kept (record export, a search without its words, share export); a plain listing is not"

# A refused edit changed nothing: the table says so, not "gone".
r=$(hls_at a --json record add --title "Refused edit" --scale person --stage purpose --date 2026-03-09 | jq .id)
hls_at a record edit "$r" --date 1980-01-01 >/dev/null 2>&1 && fail "an implausible date taken in an edit"
row=$(hls_at a audit --record "$r" | grep " record.edit ")
grep -Eq " invalid_argument +nothing changed$" <<<"$row" || fail "a refused edit's row: $row"
grep -Eq " ok +added$" <<<"$(hls_at a audit --record "$r" | grep " record.add ")" || fail "the add's row"
pass "a refused edit's row says nothing changed"

verify=$(hls_at a --json audit verify)
jq -e --argjson n "$(jq length <<<"$log")" '.ok and .entries >= $n and (.head | test("^[0-9a-f]{64}$"))' \
  <<<"$verify" >/dev/null || fail "audit verify: $verify"
stop_node a
python3 - "$WORK/a/hlsd.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET who = 'someone-else' WHERE seq = 2;")
db.commit()
PY
start_node a --test-clock "$(date -d "$T0" +%s)"
expect_fail 1 "" hls_at a audit verify
out=$(hls_at a audit verify) && fail "audit verify exited 0 on a rewritten entry"
grep -q "NOT whole: entry 2 (of" <<<"$out" || fail "verify does not name entry 2: $out"
# The dropped trigger is made again at the start, and said.
grep -q "event=audit_triggers_restored triggers=1" "$WORK/a.log" || fail "a dropped trigger is not reported at start"
hls_at a --json audit --limit 1 | jq -e '.[0].action == "audit.triggers_restored" and .[0].who == "hlsd"' >/dev/null \
  || fail "no audit entry for the restored trigger: $(hls_at a --json audit --limit 1)"
stop_node a
python3 - "$WORK/a/hlsd.db" <<'PY' || fail "an entry could be changed after the restart"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
try:
    db.execute("UPDATE audit SET who = 'again' WHERE seq = 3")
except sqlite3.DatabaseError as e:
    sys.exit(0 if "append-only" in str(e) else 1)
sys.exit(1)
PY
pass "audit verify: whole, then an entry rewritten in the file is found; a dropped trigger is made again at start"
