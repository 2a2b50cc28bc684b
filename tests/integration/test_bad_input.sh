#!/usr/bin/env bash
# Bad input through hls gets a one-line reason and a non-zero exit, never
# a crash, and leaves the store as it was.
. "$(dirname "$0")/lib.sh"

init_node a
start_node a
hls_at a record add --title Keep --scale person --stage reflect >/dev/null

# Bad JSON
printf '{"title": "x", ' >"$WORK/trunc.json"
expect_fail 1 "bad JSON at line 1" hls_at a record add --file "$WORK/trunc.json"
printf '{"title":"x","title":"y","scale":"person","stage":"reflect"}' >"$WORK/dup.json"
expect_fail 1 "bad JSON.*duplicate" hls_at a record add --file "$WORK/dup.json"
printf '"just a string"' >"$WORK/str.json"
expect_fail 1 "expected a JSON object" hls_at a record add --file "$WORK/str.json"
echo '[]' >"$WORK/none.json"
expect_fail 1 "the file holds no record" hls_at a record add --file "$WORK/none.json"
printf '{"title":"x","scale":"person","stage":"reflect","colour":"red"}' >"$WORK/unk.json"
expect_fail 1 'unknown field "colour"' hls_at a record add --file "$WORK/unk.json"
printf '{"title":7,"scale":"person","stage":"reflect"}' >"$WORK/type.json"
expect_fail 1 "title: expected a string" hls_at a record add --file "$WORK/type.json"
printf '{"title":"x","scale":"person","stage":"reflect","themes":{"a":1}}' >"$WORK/themes.json"
expect_fail 1 "themes: expected a list" hls_at a record add --file "$WORK/themes.json"
pass "bad JSON and wrong field types"

# Oversize fields: the title limit (300 bytes) and limits.max_text_bytes (16 KiB)
long_title=$(head -c 301 /dev/zero | tr '\0' 'a')
expect_fail 2 "title: 301 bytes, at most 300" hls_at a record add --title "$long_title" --scale person --stage reflect
long_text=$(head -c 16385 /dev/zero | tr '\0' 'b')
expect_fail 2 "context: 16385 bytes, at most 16384" hls_at a record add --title T --scale person --stage reflect \
  --context "$long_text"
ok_text=$(head -c 16384 /dev/zero | tr '\0' 'b')
hls_at a record add --title T --scale person --stage reflect --context "$ok_text" >/dev/null || fail "16 KiB text refused"
themes=()
for i in $(seq 1 33); do themes+=(--theme "t$i"); done
expect_fail 2 "at most 32 per record" hls_at a record add --title T --scale person --stage reflect "${themes[@]}"
long_theme=$(head -c 65 /dev/zero | tr '\0' 'c')
expect_fail 2 "slug longer than 64" hls_at a record add --title T --scale person --stage reflect --theme "$long_theme"
pass "oversize fields and too many themes"

# Invalid UTF-8 and control characters, from flags and from JSON
expect_fail 2 "title: invalid UTF-8" hls_at a record add --title $'bad \xc3\x28' --scale person --stage reflect
expect_fail 2 "title: control character" hls_at a record add --title $'bell\a' --scale person --stage reflect
expect_fail 2 "theme: invalid UTF-8" hls_at a record add --title T --scale person --stage reflect --theme $'\xff'
printf '{"title":"x\xe2\x82","scale":"person","stage":"reflect"}' >"$WORK/utf8.json"
expect_fail 1 "bad JSON" hls_at a record add --file "$WORK/utf8.json"
pass "invalid UTF-8 and control characters"

# Enumerations, dates, ids
expect_fail 2 "scale: expected person\|organisation\|place\|country" hls_at a record add --title T --scale galaxy --stage reflect
expect_fail 2 "date: 2026-02-30 is not a day of the calendar" hls_at a record add --title T --scale person --stage reflect --date 2026-02-30
expect_fail 2 "consent_by: required" hls_at a record add --title T --scale person --stage reflect --consent network
expect_fail 2 "stage: required" hls_at a record add --title T --scale person
expect_fail 2 "since: expected a date" hls_at a record list --since yesterday
expect_fail 2 "--limit: must be 0 or more" hls_at a record list --limit -3
expect_fail 2 "--limit takes a whole number" hls_at a record list --limit 3x
expect_fail 2 "record ID" hls_at a record delete 0
expect_fail 1 "no such record" hls_at a record edit 999999 --title X
pass "enumerations, dates, ids"

# Mistyped commands and options: one line, the command named, the
# closest spelling offered, exit 2.
expect_fail 2 "^hls: unknown command 'record lst'\. Did you mean 'hls record list'\?" hls_at a record lst
expect_fail 2 "^hls: unknown command 'stauts'\. Did you mean 'hls status'\?" hls_at a stauts
expect_fail 2 "^hls: unknown command 'xyzzy'\. Try 'hls --help'\.$" hls_at a xyzzy
expect_fail 2 "^hls: record list: unknown option '--lmit'\. Did you mean '--limit'\?" hls_at a record list --lmit 3
expect_fail 2 "^hls: record list: option '--limit' needs a value" hls_at a record list --limit
expect_fail 2 "^hls: sync: unknown option '--timout'\. Did you mean '--timeout'\?" hls_at a sync --timout 3
v=$(hls_at a --json version)
jq -e '.hls == .hlsd and (.hls | length) > 0' <<<"$v" >/dev/null || fail "hls version: $v"
grep -q "^hls [0-9]" <<<"$("$HLS" --home "$WORK/nowhere" version)" || fail "hls version without a node"
# A reader that stops early: no "Broken pipe" into the pipe line, exit 0.
for i in $(seq 1 40); do hls_at a record add --title "Row $i" --scale person --stage reflect >/dev/null; done
set +o pipefail
hls_at a status 2>"$WORK/pipe.err" | head -1 >/dev/null
st=${PIPESTATUS[0]}
hls_at a --json record list --full 2>>"$WORK/pipe.err" | head -c 10 >/dev/null
st2=${PIPESTATUS[0]}
set -o pipefail
[ "$st" = 0 ] && [ "$st2" = 0 ] && [ ! -s "$WORK/pipe.err" ] || fail "| head: exit $st/$st2, stderr: $(cat "$WORK/pipe.err")"
for id in $(hls_at a --json record list | jq '.[] | select(.title | startswith("Row ")) | .id'); do
  hls_at a record delete "$id" >/dev/null
done
expect_fail 3 "^hls: there is no node in $WORK/nowhere; make one with: hls --home $WORK/nowhere init" \
  "$HLS" --home "$WORK/nowhere" status
pass "mistyped commands and options: one line with the closest spelling; hls version; no node here"

[ "$(count_records a)" = 2 ] || fail "bad input changed the store"
stop_node a
