#!/usr/bin/env bash
# hls import: 10,000 rows in one go; a file with bad rows is refused whole,
# with every bad row named by line and column; quoted multi-line fields
# keep line numbers right; an abandoned or crashed import leaves nothing.
. "$(dirname "$0")/lib.sh"

init_node a
start_node a

# 10,000 rows, with quoting, commas, a quote inside a field, and a field
# that spans two lines every 1000 rows.
awk 'BEGIN {
  print "title,scale,stage,themes,date,tried,learnt,consent,consent_by";
  split("person organisation place country", scales, " ");
  split("purpose understand co-design experiment reflect embed", stages, " ");
  for (i = 1; i <= 10000; i++) {
    learnt = (i % 1000 == 0) ? "\"first line\nsecond line\"" : "\"we learnt, with a comma and a \"\"quote\"\"\"";
    printf "Row %d,%s,%s,problem:theme %d; strength:peer support,2026-%02d-%02d,tried %d,%s,%s,%s\n",
      i, scales[i % 4 + 1], stages[i % 6 + 1], i % 50, i % 12 + 1, i % 28 + 1, i, learnt,
      (i % 2 ? "aggregate" : "private"), (i % 2 ? "practitioner" : "");
  }
}' >"$WORK/big.csv"
out=$(hls_at a --json import "$WORK/big.csv")
[ "$(jq -r .imported <<<"$out")" = 10000 ] || fail "import count: $out"
[ "$(count_records a)" = 10000 ] || fail "records after import"
[ "$(count_records a --theme theme-7)" = 200 ] || fail "theme filter after import"
[ "$(count_records a --consent aggregate)" = 5000 ] || fail "consent after import"
first=$(jq -r .first_id <<<"$out")
r=$(hls_at a --json record show $((first + 999)))
[ "$(jq -r .title <<<"$r")" = "Row 1000" ] || fail "row 1000 title"
[ "$(jq -r .created_by <<<"$r")" = "$(id -un)" ] || fail "an imported record's created_by: $(jq -c .created_by <<<"$r")"
[ "$(jq -r .learnt <<<"$r")" = $'first line\nsecond line' ] || fail "multi-line field"
[ "$(hls_at a --json record show $((first + 4)) | jq -r .learnt)" = 'we learnt, with a comma and a "quote"' ] \
  || fail "quoted field"
pass "import 10,000 rows"

# record list pages through any number of records: with replies capped at
# 256 KiB, 10,000 records do not fit in one (before: "do not fit in one
# reply"); --full halves its pages until they fit; --limit cuts across
# pages; the order is newest first, then newest id, with no repeat.
stop_node a
start_node a --set limits.control_max_frame=256KiB
list=$(hls_at a --json record list) || fail "record list of 10,000 with 256 KiB replies"
jq -e 'length == 10000 and ([.[].id] | unique | length) == 10000' <<<"$list" >/dev/null || fail "record list: $(jq length <<<"$list") records"
jq -e '. == (sort_by([.date, .id]) | reverse)' <<<"$list" >/dev/null || fail "record list order across pages"
[ "$(hls_at a --json record list --limit 2500 | jq -c '[.[].id]')" = "$(jq -c '[.[:2500][].id]' <<<"$list")" ] \
  || fail "record list --limit 2500 across pages"
[ "$(hls_at a --json record list --full | jq 'length')" = 10000 ] || fail "record list --full"
[ "$(hls_at a record list | grep -c '^ *[0-9]')" = 10000 ] || fail "record list as a table"
[ "$(count_records a --theme theme-7)" = 200 ] || fail "theme filter across pages"
stop_node a
start_node a
pass "record list pages through 10,000 records (replies of 256 KiB)"

# record export writes CSV that hls import takes back unchanged: the
# 10,000 rows (quotes, commas, a field on two lines every 1,000 rows)
# exported from a, imported into b, exported again: the same rows (in
# another order: newest date first, then newest id, and an import gives
# ids in file order), and the same records.
hls_at a record export >"$WORK/export-a.csv" || fail "record export"
[ "$(head -1 "$WORK/export-a.csv")" = '"title","scale","stage","date","themes","context","tried","happened","learnt","author_role","consent","consent_by","consent_purpose","consent_expires","retain_until"' ] \
  || fail "export header: $(head -1 "$WORK/export-a.csv")"
init_node b
start_node b
out=$(hls_at b --json import "$WORK/export-a.csv") || fail "importing an export: $out"
[ "$(jq -r .imported <<<"$out")" = 10000 ] || fail "import of the export: $out"
hls_at b record export >"$WORK/export-b.csv" || fail "record export on b"
[ "$(sort "$WORK/export-a.csv" | md5sum)" = "$(sort "$WORK/export-b.csv" | md5sum)" ] \
  || fail "export, import, export: the rows differ"
strip='[.[] | del(.id, .created_at, .updated_at)] | sort_by(.title)'
[ "$(hls_at a record export --format json | jq -c "$strip")" = "$(hls_at b --json record list --full | jq -c "$strip")" ] \
  || fail "the records imported from the export differ"
[ "$(hls_at a record export --theme theme-7 | wc -l)" = 201 ] || fail "record export --theme"
# --json is JSON here too (it printed CSV): the same as --format json
[ "$(hls_at a --json record export --theme theme-7 | jq length)" = 200 ] || fail "record export with --json"
expect_fail 2 "choose one" hls_at a --json record export --format csv
stop_node b
pass "record export: CSV that import takes back unchanged (10,000 records), JSON, filters"

# The same file twice: the second import adds nothing (before: 20,000
# records, and digests with doubled counts); duplicates are counted and
# named; --dry-run checks and imports nothing; --allow-duplicates doubles
# on purpose; import list shows each import with its file and user;
# import undo takes one import's records back out, and the digests of
# their weeks are published again with the old counts.
digest_total() { hls_at a --json share preview | jq '[.digests[] | select(.state != "superseded") | .cells[].count] | add // 0'; }
hls_at a share publish >/dev/null
total_before=$(digest_total)
out=$(hls_at a --json import "$WORK/big.csv") || fail "second import of big.csv: $out"
[ "$(jq -r '"\(.imported) \(.duplicates) \(.duplicate_rows | length)"' <<<"$out")" = "0 10000 10000" ] \
  || fail "second import: $(jq -c '{imported, duplicates}' <<<"$out")"
[ "$(jq -r '.duplicate_rows[0] | "\(.line) \(.record_id)"' <<<"$out")" = "2 $first" ] \
  || fail "first duplicate: $(jq -c '.duplicate_rows[0]' <<<"$out")"
[ "$(count_records a)" = 10000 ] || fail "the second import added records"
human=$(hls_at a import "$WORK/big.csv")
grep -q "^Imported nothing new" <<<"$human" || fail "second import, human: $human"
# Its status says it added nothing (it did say "0 records (ids 0 to 0)").
nothing=$(grep -o 'import [0-9a-f]\{12\}' <<<"$human" | head -1 | cut -d' ' -f2)
status_line=$(hls_at a import --status "$nothing")
grep -q "^Import $nothing: committed at .*; it added no record (10000 rows skipped as already held or repeated)\.$" <<<"$status_line" \
  || fail "status of an import that added nothing: $status_line"
grep -q "^Skipped 10000 rows already held or repeated (line 2 is record $first, " <<<"$human" \
  || fail "second import, duplicates: $human"
# A row repeated within a file is a duplicate of its first line.
printf 'title,scale,stage,date\nTwin,place,reflect,2026-05-01\nOther,place,reflect,2026-05-01\nTwin,place,reflect,2026-05-01\n' \
  >"$WORK/twins.csv"
out=$(hls_at a --json import --dry-run "$WORK/twins.csv") || fail "dry run: $out"
[ "$(jq -c '[.dry_run, .would_import, .duplicate_rows]' <<<"$out")" = '[true,2,[{"line":4,"of_line":2}]]' ] \
  || fail "dry run of twins.csv: $out"
[ "$(count_records a)" = 10000 ] || fail "--dry-run imported"
grep -q "^Dry run: every row is valid; would import 2 records" <<<"$(hls_at a import --dry-run "$WORK/twins.csv")" \
  || fail "dry run, human"
[ "$(hls_at a --json import "$WORK/twins.csv" | jq -c '[.imported, .duplicates]')" = "[2,1]" ] || fail "twins import"
pass "importing a file again adds nothing; duplicates named; --dry-run"

out=$(hls_at a --json import --allow-duplicates "$WORK/big.csv") || fail "--allow-duplicates: $out"
[ "$(jq -r .imported <<<"$out")" = 10000 ] || fail "--allow-duplicates imported $(jq .imported <<<"$out")"
doubled=$(jq -r .import_id <<<"$out")
[ "$(count_records a)" = 20002 ] || fail "records after --allow-duplicates"
hls_at a share publish >/dev/null
[ "$(digest_total)" -gt "$total_before" ] || fail "digests did not count the doubled records"
list=$(hls_at a --json import list)
jq -e --arg id "$doubled" --arg me "$(id -un)" --arg f "$WORK/big.csv" \
  '.[0] | .import_id == $id and .imported == 10000 and .held == 10000 and .by == $me and .source == $f' \
  <<<"$list" >/dev/null || fail "import list: $(jq -c '.[0]' <<<"$list")"
[ "$(jq length <<<"$list")" -ge 4 ] || fail "import list has $(jq length <<<"$list") imports"
hls_at a import list | grep -q "^${doubled:0:12} .* 10000 .* held .*big.csv$" || fail "import list table: $(hls_at a import list)"
expect_fail 2 "say --yes" hls_at a import undo "${doubled:0:8}" </dev/null
out=$(hls_at a --json import undo "${doubled:0:8}" --yes) || fail "import undo: $out"
[ "$(jq -c '[.deleted, .already_gone]' <<<"$out")" = "[10000,0]" ] || fail "import undo: $out"
[ "$(count_records a)" = 10002 ] || fail "records after undo: $(count_records a)"
hls_at a share publish >/dev/null
[ "$(digest_total)" = "$total_before" ] || fail "digests after undo: $(digest_total), before $total_before"
expect_fail 1 "was undone already" hls_at a import undo "$doubled" --yes
expect_fail 1 "no import ffffffff" hls_at a import undo ffffffff --yes
expect_fail 2 "import id 'xyz'" hls_at a import undo xyz --yes
hls_at a import list | grep -q "^${doubled:0:12} .*undone .* by $(id -un) " || fail "import list after undo"
# --status says it was undone (it read as a live import).
out=$(hls_at a import --status "$doubled")
grep -q "^Undone at [0-9TZ:-]* by $(id -un): none of its records is held now\.$" <<<"$out" || fail "status after undo: $out"
pass "--allow-duplicates; import list; import undo re-counts the weeks"

# Bad rows: every one reported (line, column), nothing imported.
cat >"$WORK/bad.csv" <<'CSV'
title,scale,stage,themes,learnt
Good row,person,reflect,housing,fine
Bad scale,planet,reflect,housing,x
"Multi
line title",person,reflect,housing,x
Bad stage,person,napping,housing,x
,person,reflect,housing,missing title
Bad theme,person,reflect,wizard:spells,x
Too few,person
CSV
printf 'Bad utf8 \xff,person,reflect,housing,x\n' >>"$WORK/bad.csv"
errs=$(hls_at a import "$WORK/bad.csv" 2>&1 >/dev/null) && fail "bad CSV was accepted"
grep -q "^line 3, column 2 (scale): scale: expected person|organisation|place|country" <<<"$errs" || fail "line 3: $errs"
grep -q "^line 4, column 1 (title): title: control character" <<<"$errs" || fail "line 4 (multi-line title): $errs"
grep -q "^line 6, column 3 (stage):" <<<"$errs" || fail "line 6 (after a 2-line row): $errs"
grep -q "^line 7, column 1 (title): title: required" <<<"$errs" || fail "line 7: $errs"
grep -q "^line 8, column 4 (themes): theme: unknown kind" <<<"$errs" || fail "line 8: $errs"
grep -q "^line 9: 2 cells, but the header has 5 columns" <<<"$errs" || fail "line 9: $errs"
grep -q "^line 10, column 1 (title): title: invalid UTF-8" <<<"$errs" || fail "line 10: $errs"
grep -q "7 bad rows; nothing imported" <<<"$errs" || fail "summary: $errs"
[ "$(count_records a)" = 10002 ] || fail "a bad file imported something"
js=$(hls_at a --json import "$WORK/bad.csv" 2>/dev/null) && fail "bad CSV accepted (json)"
[ "$(jq -r '.errors | length' <<<"$js")" = 7 ] || fail "json errors: $js"
[ "$(jq -r '.errors[0] | "\(.line) \(.column) \(.column_name)"' <<<"$js")" = "3 2 scale" ] || fail "json error shape"
pass "bad rows reported by line and column; nothing imported"

# Header problems
printf 'title,scale,colour\nA,person,red\n' >"$WORK/h1.csv"
expect_fail 1 "cannot be imported" hls_at a import "$WORK/h1.csv"
out=$(hls_at a import "$WORK/h1.csv" 2>&1) || true
grep -q '^line 1, column 3: unknown column "colour"' <<<"$out" || fail "unknown column: $out"
grep -q 'no "stage" column' <<<"$out" || fail "missing required column: $out"
printf 'title,scale,stage\n"unterminated,person,reflect\n' >"$WORK/h2.csv"
expect_fail 1 "cannot be imported" hls_at a import "$WORK/h2.csv"
out=$(hls_at a import "$WORK/h2.csv" 2>&1) || true
grep -q "^line 2: malformed CSV: a quoted field is never closed" <<<"$out" || fail "unterminated quote: $out"
printf 'title,scale,stage\nab"c,person,reflect\n' >"$WORK/h3.csv"
out=$(hls_at a import "$WORK/h3.csv" 2>&1) || true
grep -q "^line 2: malformed CSV: a quote inside" <<<"$out" || fail "stray quote: $out"
: >"$WORK/empty.csv"
out=$(hls_at a import "$WORK/empty.csv" 2>&1) || true
grep -q "empty" <<<"$out" || fail "empty file: $out"
expect_fail 1 "No such file" hls_at a import "$WORK/nonexistent.csv"
# A BOM and CRLF line ends (a spreadsheet export) are fine.
printf '\xef\xbb\xbfTitle,Scale,Stage\r\nExcel row,place,embed\r\n\r\n' >"$WORK/excel.csv"
out=$(hls_at a import "$WORK/excel.csv")
grep -Eq "^Imported 1 record \(id [0-9]+\) as import" <<<"$out" || fail "excel csv: $out"
[ "$(count_records a)" = 10003 ] || fail "excel row"
pass "header errors, BOM, CRLF"

# Line breaks are kept as LF (a CR LF or a lone CR given is one), so that a
# record exported and imported again is the same record (a duplicate), and
# no CR reaches a terminal to hide the line before it.
printf '%s' '{"title":"Line ends","scale":"organisation","stage":"reflect","date":"2026-02-03","themes":"cr-test","learnt":"hidden\rshown\r\nnext"}' \
  >"$WORK/cr.json"
cr=$(hls_at a --json record add --file "$WORK/cr.json" | jq .id)
[ "$(hls_at a --json record show "$cr" | jq -r .learnt)" = $'hidden\nshown\nnext' ] || fail "line breaks kept as LF"
! hls_at a record show "$cr" | grep -q $'\r' || fail "a CR printed by record show"
hls_at a record export --theme cr-test >"$WORK/cr.csv"
[ "$(hls_at a --json import --dry-run "$WORK/cr.csv" | jq '[.would_import, .duplicates]')" = "$(printf '[\n  0,\n  1\n]')" ] \
  || fail "an exported record with line breaks is not a duplicate of itself: $(hls_at a --json import --dry-run "$WORK/cr.csv")"
pass "line breaks kept as LF: a record with CR LF and a lone CR exports and imports back as itself"

# The formula guard: a cell a spreadsheet would run (=, +, -, @ first) is
# exported with a ' before it, and import takes it off, so the record comes
# back as itself (a duplicate).
q="'"
jq -n --arg q "$q" '{title: "=HYPERLINK(\"http://example.org\",\"x\")", scale: "person", stage: "reflect",
  date: "2026-02-03", themes: "formula-test", learnt: "- tried a list", context: ($q + "=quoted"),
  tried: ($q + "Twas kept")}' >"$WORK/formula.json"
hls_at a record add --file "$WORK/formula.json" >/dev/null || fail "add the formula record"
hls_at a record export --theme formula-test >"$WORK/formula.csv"
grep -qF "\"$q=HYPERLINK(" "$WORK/formula.csv" || fail "= not guarded: $(cat "$WORK/formula.csv")"
grep -qF "\"$q- tried a list\"" "$WORK/formula.csv" || fail "- not guarded"
grep -qF "\"$q$q=quoted\"" "$WORK/formula.csv" || fail "a leading ' before = not guarded"
grep -qF "\"${q}Twas kept\"" "$WORK/formula.csv" || fail "a plain leading ' changed"
[ "$(hls_at a --json import --dry-run "$WORK/formula.csv" | jq '[.would_import, .duplicates]')" = "$(printf '[\n  0,\n  1\n]')" ] \
  || fail "a guarded export is not a duplicate of itself: $(hls_at a --json import --dry-run "$WORK/formula.csv")"
pass "record export guards spreadsheet formulas; import takes the guard off"

# What spreadsheets write: capitalised values, a trailing empty column,
# spaces after the header's commas; and what they must not: UTF-16.
printf 'Title, Scale, Stage,\nSpreadsheet row,Person,Co-Design,\n' >"$WORK/sheet.csv"
grep -q "Imported 1 record" <<<"$(hls_at a import "$WORK/sheet.csv")" || fail "capitalised values, trailing empty column"
[ "$(hls_at a --json record list --full | jq -r '.[] | select(.title == "Spreadsheet row") | .scale + " " + .stage')" = "person co-design" ] \
  || fail "values not stored lower-case"
printf '\xff\xfet\x00i\x00t\x00l\x00e\x00\n\x00' >"$WORK/utf16.csv"
expect_fail 1 "not UTF-8 text" hls_at a import "$WORK/utf16.csv"
pass "spreadsheet CSV: any case, unnamed empty columns; UTF-16 refused with what to do"

stop_node a
