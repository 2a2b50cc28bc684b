#!/usr/bin/env bash
# Records through hls on a real hlsd: add (flags, JSON file, stdin, JSON
# array), list with every filter, show, edit, delete, themes, status, and
# everything still there after a restart.
. "$(dirname "$0")/lib.sh"

PLACE="Gateshead Council" REGION="North East" init_node a
start_node a

# status: the documented fields
st=$(hls_at a --json status)
for key in node_id place role listen network_id uptime_s records store_bytes; do
  jq -e "has(\"$key\")" <<<"$st" >/dev/null || fail "status --json lacks $key"
done
[ "$(jq -r .place <<<"$st")" = "Gateshead Council" ] || fail "status place"
[[ "$(jq -r .node_id <<<"$st")" =~ ^@[A-Za-z0-9+/]{43}=\.ed25519$ ]] || fail "node id format"
pass "status"

add() { hls_at a --json record add "$@" | jq -r .id; }
id1=$(add --title "Library drop-in" --scale person --stage experiment --theme Housing \
  --theme "strength:Peer Support" --consent aggregate --consent-by practitioner --date 2026-03-02 \
  --tried "Opened on Tuesdays" --learnt "People came back")
id2=$(add --title "Council budget workshop" --scale organisation --stage co-design --theme "aspiration:Community Cafe" \
  --date 2026-04-10)
id3=$(add --title "Town-wide loneliness survey" --scale place --stage understand --theme "problem:loneliness" \
  --theme housing --consent network --consent-by "learning lead" --date 2026-05-20)
[ "$id1" -lt "$id2" ] && [ "$id2" -lt "$id3" ] || fail "ids not increasing: $id1 $id2 $id3"
pass "record add from flags"

# JSON file and stdin; the output of record show --json is valid input.
hls_at a --json record show "$id1" >"$WORK/r1.json"
id4=$(hls_at a --json record add --file "$WORK/r1.json" | jq -r .id)
[ "$(hls_at a --json record show "$id4" | jq -r '.title, .learnt, (.themes|length)' | tr '\n' '|')" = "Library drop-in|People came back|2|" ] \
  || fail "record add --file did not copy the record"
id5=$(echo '{"title":"From stdin","scale":"country","stage":"embed","themes":["practice:Open Data"],"date":"2025-12-31"}' \
  | hls_at a --json record add --file - | jq -r .id)
[ "$(hls_at a --json record show "$id5" | jq -r '.themes[0].name + ":" + .themes[0].kind')" = "open-data:practice" ] \
  || fail "stdin record themes"
pass "record add --file FILE and --file -"

# A JSON array is all-or-nothing.
before=$(count_records a)
echo '[{"title":"ok","scale":"person","stage":"reflect"},{"title":"bad","scale":"planet","stage":"reflect"}]' \
  >"$WORK/arr.json"
expect_fail 1 "bad element" hls_at a record add --file "$WORK/arr.json"
[ "$(count_records a)" = "$before" ] || fail "a bad array added records"
echo '[{"title":"one","scale":"person","stage":"reflect"},{"title":"two","scale":"place","stage":"reflect"}]' \
  >"$WORK/arr.json"
hls_at a record add --file "$WORK/arr.json" >/dev/null
[ "$(count_records a)" = "$((before + 2))" ] || fail "array add"
pass "record add --file with an array is all-or-nothing"

# Implausible dates are refused (a typo of 1901 made a 1901-W01 digest):
# 1990-01-01 to a year from today.
before=$(count_records a)
expect_fail 2 "date: 1901-01-01 is not a plausible date of learning \(1990-01-01 to " \
  hls_at a record add --title Typo --scale person --stage purpose --date 1901-01-01
expect_fail 2 "not a plausible date" hls_at a record add --title Far --scale person --stage purpose --date 2099-01-01
hls_at a record add --title Early --scale person --stage purpose --date 1990-01-01 >/dev/null || fail "1990-01-01 refused"
[ "$(count_records a)" = $((before + 1)) ] || fail "implausible dates added records"
early=$(hls_at a --json record list --until 1990-01-01 | jq '.[0].id')
expect_fail 2 "not a plausible date" hls_at a record edit "$early" --date 1989-12-31
hls_at a record delete "$early" >/dev/null
printf 'title,scale,stage,date\nFine,person,purpose,2026-01-05\nTypo,person,purpose,1901-01-01\n' >"$WORK/dates.csv"
expect_fail 1 "line 3.*plausible" hls_at a import "$WORK/dates.csv"
[ "$(count_records a)" = "$before" ] || fail "an import with an implausible date added records"
# hlsd's own checks, reported as hls's are: every row, by line and column,
# and in --json (they were one line each without the column, and no JSON)
printf 'date,title,scale,stage,retain_until
1989-01-01,Old,person,purpose,
2026-01-05,Fine,person,purpose,
2026-01-06,Kept,person,purpose,2001-01-01
' >"$WORK/dates2.csv"
out=$(hls_at a import "$WORK/dates2.csv" 2>&1) && fail "an import hlsd refuses exited 0"
grep -q "^line 2, column 1 (date): date: 1989-01-01 is not a plausible date" <<<"$out" || fail "hlsd's date check: $out"
grep -q "^line 4, column 5 (retain_until): retain_until: 2001-01-01 has passed" <<<"$out" || fail "retain_until: $out"
grep -q "^hls: 2 bad rows; nothing imported$" <<<"$out" || fail "the count: $out"
js=$(hls_at a --json import "$WORK/dates2.csv" 2>/dev/null) && fail "an import hlsd refuses exited 0 (json)"
jq -e '.imported == 0 and .bad_rows == 2 and (.errors | map("\(.line) \(.column) \(.column_name)")) == ["2 1 date", "4 5 retain_until"]' \
  <<<"$js" >/dev/null || fail "json of rows hlsd refused: $js"
[ "$(count_records a)" = "$before" ] || fail "an import hlsd refused added records"
pass "dates outside 1990-01-01 .. a year from today are refused, in add, edit and import"

# record delete of several ids: all or none.
before=$(count_records a)
ids=()
for t in D1 D2 D3; do ids+=("$(hls_at a --json record add --title "$t" --scale person --stage purpose | jq .id)"); done
expect_fail 1 "nothing deleted: record 999999: no such record" hls_at a record delete "${ids[0]}" 999999 "${ids[1]}"
[ "$(count_records a)" = $((before + 3)) ] || fail "a delete with an unknown id deleted something"
grep -q "^Deleted 2 records\.$" <<<"$(hls_at a record delete "${ids[0]}" "${ids[1]}" "${ids[0]}")" \
  || fail "record delete ID ID ID (an id twice is one record)"
[ "$(printf '%s\n' "${ids[2]}" | hls_at a --json record delete - | jq .deleted)" = 1 ] || fail "record delete -"
[ "$(count_records a)" = "$before" ] || fail "records left after deleting three"
expect_fail 2 "not a record ID" hls_at a record delete 5 x
# the method takes id or ids, never both (it deleted ids and ignored id)
keep=$(hls_at a --json record add --title Keep1 --scale person --stage purpose | jq .id)
keep2=$(hls_at a --json record add --title Keep2 --scale person --stage purpose | jq .id)
out=$(ctl_at a record.delete "{\"id\": $keep, \"ids\": [$keep2]}" 2>&1) && fail "record.delete with id and ids: $out"
[[ "$out" =~ invalid_argument.*not\ both ]] || fail "record.delete with id and ids: $out"
[ "$(count_records a)" = $((before + 2)) ] || fail "record.delete with id and ids deleted something"
hls_at a record delete "$keep" "$keep2" >/dev/null
pass "record delete of several ids, all or none; ids from stdin; id and ids together refused"

# Filters
[ "$(count_records a --theme housing)" = 3 ] || fail "theme filter"
[ "$(count_records a --theme '  HOUSING ')" = 3 ] || fail "theme filter normalises"
[ "$(count_records a --theme 'strength:peer support')" = 2 ] || fail "theme filter KIND:NAME"
[ "$(count_records a --theme 'aspiration:peer-support')" = 0 ] || fail "theme filter KIND:NAME: the kind counts"
[ "$(count_records a --theme 'problem:housing')" = 3 ] || fail "theme filter problem:NAME"
[ "$(count_records a --scale organisation)" = 1 ] || fail "scale filter"
[ "$(count_records a --stage understand)" = 1 ] || fail "stage filter"
[ "$(count_records a --consent network)" = 1 ] || fail "consent filter"
[ "$(count_records a --since 2026-04-01 --until 2026-04-30)" = 1 ] || fail "date range"
[ "$(count_records a --theme housing --scale person)" = 2 ] || fail "combined filters"
[ "$(count_records a --limit 2)" = 2 ] || fail "limit"
hls_at a --json record list | jq -e '[.[].date] == ([.[].date] | sort | reverse)' >/dev/null || fail "newest first"
hls_at a --json record list | jq -e '(map(select(.date == "2026-05-20")) | .[0].id) == '"$id3" >/dev/null || fail "list content"
hls_at a --json record list | jq -e 'all(.[]; has("id") and has("title") and has("scale") and has("stage") and has("themes") and has("consent"))' \
  >/dev/null || fail "record list fields"
grep -q "Library drop-in" <<<"$(hls_at a record list --theme housing)" || fail "human list"
pass "record list filters"

# Edit: fields replace, --theme replaces the set, '' clears.
hls_at a record edit "$id2" --title "Budget workshop (2nd round)" --theme practice:participatory-budgeting --context "" >/dev/null
ed=$(hls_at a --json record show "$id2")
[ "$(jq -r .title <<<"$ed")" = "Budget workshop (2nd round)" ] || fail "edit title"
[ "$(jq -r '[.themes[].name]|join(",")' <<<"$ed")" = "participatory-budgeting" ] || fail "edit themes"
[ "$(jq -r .created_at <<<"$ed")" != null ] || fail "created_at"
echo '{"stage":"reflect"}' | hls_at a record edit "$id2" --file - >/dev/null
[ "$(hls_at a --json record show "$id2" | jq -r .stage)" = reflect ] || fail "edit --file"
expect_fail 2 "consent_by" hls_at a record edit "$id2" --consent peers
pass "record edit"

# Delete
grep -q "Deleted record $id5" <<<"$(hls_at a record delete "$id5")" || fail "delete output"
expect_fail 1 "no such record" hls_at a record show "$id5"
expect_fail 1 "no such record" hls_at a record delete "$id5"
pass "record delete"

# Themes with counts by kind and scale
th=$(hls_at a --json themes)
[ "$(jq -r '.[] | select(.name=="housing" and .kind=="problem") | "\(.total) \(.person) \(.place)"' <<<"$th")" = "3 2 1" ] \
  || fail "themes counts: $th"
grep -q "peer-support" <<<"$(hls_at a themes)" || fail "human themes"
pass "themes"

# Restart: everything is still there.
before_json=$(hls_at a --json record list --full)
stop_node a
expect_fail 3 "not running" hls_at a status
start_node a
[ "$(hls_at a --json record list --full)" = "$before_json" ] || fail "records changed across restart"
pass "records survive a restart"

# Help on every command hls --help lists (and on each group of them);
# usage errors exit 2.
cmds=$("$HLS" --help | sed -n '/^Commands:/,/^$/p' | grep '^  [a-z]' | sed -E 's/^  //; s/  .*//')
[ "$(wc -l <<<"$cmds")" -ge 20 ] || fail "hls --help lists too few commands: $cmds"
while read -r cmd; do
  # shellcheck disable=SC2086
  grep -q "^Usage: hls $cmd" <<<"$("$HLS" $cmd --help)" || fail "$cmd --help"
done <<<"$cmds"
for group in record consent share peer network; do
  out=$("$HLS" "$group" --help) || fail "hls $group --help failed"
  grep -q "^  $group [a-z]" <<<"$out" || fail "hls $group --help: $out"
done
expect_fail 2 "peer add" "$HLS" peer
expect_fail 2 "unknown command" "$HLS" frobnicate
expect_fail 2 "--title|fields as flags" hls_at a record add </dev/null
expect_fail 2 "record ID" hls_at a record show abc
pass "--help and usage errors"

# Backup and restore
full=$(hls_at a --json record list --full)
grep -q "Backed up the store" <<<"$(hls_at a backup "$WORK/backup.db")" || fail "backup output"
[ "$(stat -c %a "$WORK/backup.db")" = 600 ] || fail "backup file mode"
expect_fail 1 "exists; choose a new file" hls_at a backup "$WORK/backup.db"
expect_fail 2 "give the name of a new file\. Try" hls_at a backup ""
expect_fail 2 "give the name of a new file, not a directory" hls_at a backup "$WORK/"
expect_fail 1 "an SQLite database \(a backup from hls backup" hls_at a inspect "$WORK/backup.db"
(cd "$WORK" && hls_at a --json backup relative.db | jq -e '.bytes > 0' >/dev/null) || fail "relative backup path"
hls_at a record add --title "after the backup" --scale person --stage reflect >/dev/null
stop_node a
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
cp "$WORK/backup.db" "$WORK/a/hlsd.db"
start_node a
[ "$(hls_at a --json record list --full)" = "$full" ] || fail "restored store differs from the backup"
pass "backup and restore"

stop_node a
