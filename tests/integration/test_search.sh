#!/usr/bin/env bash
# Subject access (docs/governance.md): hls record search finds the records
# whose text names a person (every word, any case, accents ignored, in any
# text field), with filters; exports them as CSV and JSON; an edit moves
# the index with the text; --delete --yes deletes them in one step, and
# once hlsd has scrubbed the store after the erasure, the name is nowhere
# in the store's files (the full-text index keeps deleted words in old
# segments until they are merged: the scrub merges them).
. "$(dirname "$0")/lib.sh"

init_node a
start_node a
add() { hls_at a --json record add --scale person "$@" | jq -r .id; }
r1=$(add --title "Drop-in" --stage experiment --learnt "Zoë Quarrington came twice" --date 2026-03-02)
r2=$(add --title "Follow-up" --stage reflect --context "QUARRINGTON, zoe: moved house" --theme housing --date 2026-03-09)
r3=$(add --title "Other person" --stage reflect --learnt "Zoe Smith; Ann Quarry" --date 2026-03-10)
r4=$(add --title "Unrelated" --stage embed --tried "the library" --consent-by "Zoë Quarrington" --consent aggregate \
  --date 2026-03-11)

ids() { hls_at a --json record search "$@" | jq -c 'map(.id) | sort'; }
[ "$(ids "zoe quarrington")" = "[$r1,$r2,$r4]" ] || fail "search: $(ids "zoe quarrington")"
[ "$(ids "Quarrington Zoë")" = "[$r1,$r2,$r4]" ] || fail "word order and accents: $(ids "Quarrington Zoë")"
[ "$(ids "zoe quarrington" --theme housing)" = "[$r2]" ] || fail "--theme"
[ "$(ids "zoe quarrington" --stage experiment)" = "[$r1]" ] || fail "--stage"
[ "$(ids "zoe quarrington" --since 2026-03-05 --until 2026-03-10)" = "[$r2]" ] || fail "--since/--until"
[ "$(ids "zoe quarrington" --consent aggregate)" = "[$r4]" ] || fail "--consent (the name is in consent_by)"
[ "$(ids 'zoe" OR "smith')" = "[]" ] || fail "FTS syntax in the text is taken as words: $(ids 'zoe" OR "smith')"
[ "$(ids 'quarr*')" = "[]" ] || fail "a * is a character, not a prefix query"
[ "$(hls_at a --json record search "zoe quarrington" | jq 'all(.[]; has("tried") and has("learnt") and has("context"))
  and (map(.learnt // "") | index("Zoë Quarrington came twice") != null)')" = true ] \
  || fail "search gives every field"
expect_fail 2 "" hls_at a record search "   "
hls_at a record search nobody-at-all | grep -q 'No record holds every word of "nobody-at-all"' || fail "no match"
pass "search: every word, any field, any case, accents ignored, with filters; FTS syntax is only text"

hls_at a record search "zoe quarrington" --format csv >"$WORK/sar.csv"
python3 - "$WORK/sar.csv" <<'PY' || fail "the CSV export: $(cat "$WORK/sar.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
assert len(rows) == 3, rows
assert any("Zoë Quarrington came twice" == r["learnt"] for r in rows), rows
PY
hls_at a --json record search "zoe quarrington" >"$WORK/sar.json"
[ "$(jq length "$WORK/sar.json")" = 3 ] || fail "the JSON export"
pass "the matches export as CSV and JSON (every field), for the request"

# An edit moves the index with the text.
hls_at a record edit "$r1" --learnt "came twice" >/dev/null
[ "$(ids "zoe quarrington")" = "[$r2,$r4]" ] || fail "after the edit: $(ids "zoe quarrington")"
[ "$(ids "came twice")" = "[$r1]" ] || fail "the edit's new words"
pass "an edit's old words no longer match, its new ones do"

# Delete in one step; then the name is gone from the files.
expect_fail 2 "add --yes" hls_at a record search "zoe quarrington" --delete
hls_at a record search "zoe quarrington" --delete --yes >/dev/null 2>"$WORK/del.err" || fail "--delete --yes"
grep -q "Deleted 2 records" "$WORK/del.err" || fail "what --delete said: $(cat "$WORK/del.err")"
[ "$(hls_at a --json record list | jq -c 'map(.id) | sort')" = "[$r1,$r3]" ] || fail "what is left"
name_gone() {
  python3 - "$WORK/a" <<'PY'
import glob, sys
for f in glob.glob(sys.argv[1] + "/hlsd.db*"):
    data = open(f, "rb").read()
    for word in (b"QUARRINGTON, zoe", b"moved house", "Zoë Quarrington".encode()):
        if word in data:
            sys.exit(1)
PY
}
wait_for 20 name_gone || { python3 -c "
import glob
for f in glob.glob(\"$WORK/a/hlsd.db*\"):
    d=open(f,\"rb\").read()
    for w in (b\"QUARRINGTON, zoe\", b\"moved house\", \"Zoë Quarrington\".encode(), b\"quarrington\"):
        print(f, w, d.count(w), d.find(w))
" >&2; fail "the deleted records' words are still in the store's files"; }
[ "$(ids "quarrington")" = "[]" ] || fail "after the delete: $(ids quarrington)"
hls_at a --json audit --who "$(id -un)" | jq -e 'any(.[]; .action == "record.delete" and .about == "ids=2")' >/dev/null \
  || fail "the deletion is not in the audit log"
pass "--delete --yes deletes the matches in one step; after the scrub no deleted word is left in the files"
stop_node a
