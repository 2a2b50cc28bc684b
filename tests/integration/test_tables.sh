#!/usr/bin/env bash
# Human tables fit the terminal and never cut what goes into a pipe
# (docs/cli.md, Tables): under a pseudo-terminal of a given width (script(1))
# no line of any table is wider than the terminal, cut values end in "…"
# and stay whole UTF-8, ids and dates are never cut; piped, every value is
# printed whole.
. "$(dirname "$0")/lib.sh"
unset COLUMNS # the terminal's width is the test's, unless a check sets it

command -v script >/dev/null || fail "script(1) (bsdutils / util-linux) is needed"

# check_width WIDTH: stdin is valid UTF-8 and no line is wider than WIDTH
# columns on screen (wide characters two, combining marks none).
check_width() {
  python3 -c '
import sys, unicodedata
width = int(sys.argv[1])
text = sys.stdin.buffer.read().decode("utf-8")  # strict: a cut inside a character fails
def cols(line):
    return sum(0 if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)
bad = [l for l in text.splitlines() if cols(l) > width]
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)' "$1"
}
# widest: the widest line of stdin, in columns on screen.
widest() {
  python3 -c '
import sys, unicodedata
text = sys.stdin.buffer.read().decode("utf-8")
print(max([sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in l) for l in text.splitlines()] or [0]))'
}

PLACE="Canolfan Ddysgu Cymunedol Rhondda Cynon Taf — Tŷ'r Cwm" REGION="De Cymru / South Wales" init_node a
start_node a --set publish.delay=0
node=$(hls_at a --json status | jq -r .node_id)

welsh="Ymgynghoriad â'r gymuned ar gau llyfrgelloedd: beth ddysgon ni am wrando ar bobl ifanc a'u teuluoedd yng \
Nghwm Rhondda, a sut y newidiodd ein cynlluniau ar gyfer y gaeaf"
japanese="地域の学びの記録：図書館の閉館について住民と話し合った結果と、そこから学んだことの長い説明"
add() { hls_at a --json record add "$@" | jq -r .id; }
long_id=$(add --title "$welsh" --scale organisation --stage understand --consent network --consent-by "learning lead" \
  --theme llyfrgelloedd-cymunedol --theme "aspiration:pobl ifanc yn arwain" --theme "strength:gwirfoddolwyr lleol" \
  --theme "practice:caffi trwsio" --theme "problem:trafnidiaeth wledig" --theme "ynysigrwydd cymdeithasol")
wide_id=$(add --title "$japanese" --scale place --stage reflect --theme "住まい" --theme "strength:図書館" \
  --consent network --consent-by "learning lead")
add --title "Short" --scale person --stage embed --theme housing >/dev/null
for id in "$long_id" "$wide_id"; do hls_at a share approve "$id" >/dev/null; done
hls_at a share publish >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '[.[] | select(.type==\"story\")] | length == 2'" \
  || fail "the approved stories were not published"
hls_at a feed subscribe "cymru" --theme llyfrgelloedd-cymunedol --theme "pobl-ifanc-yn-arwain" \
  --region "De Cymru / South Wales" --kind aspiration --min-places 2 >/dev/null
# A peer that never answers: its row holds a node id and an address.
hls_at a peer add 127.0.0.1:9 "@AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=.ed25519" >/dev/null

themes=$(hls_at a --json record show "$long_id" | jq -r '[.themes[] | "\(.kind):\(.name)"] | join(", ")')
[ "${#themes}" -gt 100 ] || fail "the themes of record $long_id are too short to test: $themes"

# An import from a file whose path is longer than a terminal is wide.
long_dir="$WORK/an import of the learning records of Ymgynghoriad â'r gymuned ynglŷn â thai/2026"
mkdir -p "$long_dir"
printf 'title,scale,stage\nImported row,place,reflect\n' >"$long_dir/records.csv"
hls_at a import "$long_dir/records.csv" >/dev/null || fail "import for import list"

# --- on an 80-column terminal ---------------------------------------------------------
tables=("record list" "record list --limit 2" "themes" "places" "stories" "items" "share log" "peer list" "feed list"
  "import list")
for cmd in "${tables[@]}"; do
  # shellcheck disable=SC2086
  out=$(on_tty 80 "$HLS" --home "$WORK/a" $cmd) || fail "hls $cmd on a terminal failed: $out"
  check_width 80 <<<"$out" || fail "hls $cmd is wider than an 80-column terminal"
done
# share preview: its digest tables (its stories are text, which a terminal wraps).
out=$(on_tty 80 "$HLS" --home "$WORK/a" share preview)
digests=$(sed -n '/^Digests/,/^Stories/{/^    /p}' <<<"$out")
grep -q '^    THEME  ' <<<"$digests" || fail "share preview: no digest table: $out"
check_width 80 <<<"$digests" || fail "share preview's digest tables are wider than 80 columns"
pass "every table fits an 80-column terminal, and cuts no UTF-8 character in half"

out=$(on_tty 80 "$HLS" --home "$WORK/a" record list)
# cell ROW N: the Nth cell of a table row (cells are 2 or more spaces apart).
cell() { sed -E 's/^ +//' <<<"$1" | awk -F '  +' -v n="$2" '{print $n}'; }
row=$(grep "^ *$long_id " <<<"$out") || fail "no row of record $long_id: $out"
[ "$(cell "$row" 1)|$(cell "$row" 3)|$(cell "$row" 4)|$(cell "$row" 5)" = "$long_id|organisation|understand|network" ] \
  || fail "the id, scale, stage and consent are not whole: $row"
[[ "$(cell "$row" 2)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || fail "the date is not whole: $row"
title=$(cell "$row" 7) row_themes=$(cell "$row" 6)
[[ "$title" == *… && "$row_themes" == *… ]] || fail "the cut title and themes do not end in …: $row"
[[ "$welsh" == "${title%…}"* && ${#title} -lt ${#welsh} ]] || fail "the cut title is not the title's start: '$title'"
[[ "$themes" == "${row_themes%…}"* ]] || fail "the cut themes are not the themes' start: '$row_themes'"
row=$(grep "^ *$wide_id " <<<"$out") || fail "no row of record $wide_id: $out"
title=$(cell "$row" 7)
[[ "$title" == *… && "$japanese" == "${title%…}"* ]] || fail "the cut wide title: '$title'"
pass "record list on 80 columns: title and themes cut with …, id, date, scale, stage and consent whole"

# A table whose ids alone are wider than the terminal: a block per row,
# the node id whole.
out=$(on_tty 80 "$HLS" --home "$WORK/a" places)
grep -Fxq "NODE        $node" <<<"$out" || fail "places on 80 columns: no whole node id: $out"
grep -q '^PLACE  *Canolfan' <<<"$out" || fail "places on 80 columns: $out"
out=$(on_tty 80 "$HLS" --home "$WORK/a" items)
[ "$(grep -Fxc "ORIGIN     $node" <<<"$out")" = "$(hls_at a --json items | jq length)" ] \
  || fail "items on 80 columns: a node id per item, whole: $out"
out=$(on_tty 200 "$HLS" --home "$WORK/a" places)
head -1 <<<"$out" | grep -Eq '^PLACE +REGION +ROLE +VOUCHED BY +ITEMS' || fail "places on 200 columns is not a table: $out"
check_width 200 <<<"$out" || fail "places is wider than 200 columns"
pass "places and items: a block per row when node ids do not fit, a table when they do"

# COLUMNS overrides the terminal's width; wider terminals show more.
out=$(COLUMNS=60 on_tty 120 "$HLS" --home "$WORK/a" record list)
check_width 60 <<<"$out" || fail "COLUMNS=60 is not obeyed on a terminal"
out=$(on_tty 120 "$HLS" --home "$WORK/a" record list)
check_width 120 <<<"$out" || fail "record list is wider than 120 columns"
[ "$(widest <<<"$out")" -gt 80 ] || fail "a 120-column terminal gets no wider table than 80 columns: $out"
pass "COLUMNS overrides the terminal's width; a wider terminal shows more"

# --- into a pipe: whole values ------------------------------------------------------------
for env in "" "COLUMNS=60"; do
  out=$(env $env "$HLS" --home "$WORK/a" record list)
  grep -Fq "$welsh" <<<"$out" || fail "record list into a pipe ($env) cut the title: $out"
  grep -Fq "$japanese" <<<"$out" || fail "record list into a pipe ($env) cut the wide title: $out"
  grep -Fq "$themes" <<<"$out" \
    || fail "record list into a pipe ($env) cut the themes: $out"
  ! grep -q '…' <<<"$out" || fail "record list into a pipe ($env) holds an ellipsis: $out"
done
out=$("$HLS" --home "$WORK/a" stories)
grep -Fq "$welsh" <<<"$out" || fail "stories into a pipe cut the title: $out"
grep -Fq "Canolfan Ddysgu Cymunedol Rhondda Cynon Taf — Tŷ'r Cwm" <<<"$out" || fail "stories cut the place: $out"
out=$("$HLS" --home "$WORK/a" places)
head -1 <<<"$out" | grep -Eq '^PLACE +REGION +ROLE +VOUCHED BY +ITEMS' || fail "places into a pipe is not a table: $out"
grep -Fq "$node" <<<"$out" || fail "places into a pipe: no node id: $out"
for cmd in "${tables[@]}"; do
  # shellcheck disable=SC2086
  ! "$HLS" --home "$WORK/a" $cmd | grep -q '…' || fail "hls $cmd into a pipe cut a value"
done
pass "into a pipe every value is whole (COLUMNS set or not), and no value is cut"
