#!/usr/bin/env bash
# Patterns and feeds on real daemons: a partner node holding generated
# digests of 40 places (hls import-items) finds every planted pattern, explains
# it, and its feeds deliver events in order, once per acknowledgement, across
# a restart; then three live place nodes gossip digests to it, making a
# pattern that a record deletion (a superseding digest) retracts, while a
# follower streams the events as they happen.
. "$(dirname "$0")/lib.sh"
: "${GEN_ITEMS:?GEN_ITEMS must name the hls_gen_items tool}"

FAST=(--set publish.delay=0 --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)

PLACE="National Learning Partner" REGION=National init_node p --role partner
start_node p "${FAST[@]}"

# --- a partner keeps no records of its own ------------------------------------------
expect_fail 1 "partner.*keeps no records" hls_at p record add --title x --scale place --stage reflect
pass "a partner refuses records of its own"

# --- feeds made before anything is held --------------------------------------------
hls_at p feed subscribe all >/dev/null
manifest="$WORK/gen/manifest.json"
"$GEN_ITEMS" --out "$WORK/gen" --seed 11 --places 40 --weeks 52 >/dev/null || fail "hls_gen_items"
spread_theme=$(jq -r '.plants[] | select(.signal=="spread") | .themes[0]' "$manifest")
hls_at p feed subscribe spread --signal spread --theme "$spread_theme" >/dev/null
hls_at p feed subscribe away --signal together >/dev/null   # not followed until after a restart
expect_fail 1 "exists" hls_at p feed subscribe all
expect_fail 1 "not one of" hls_at p feed subscribe bad --signal sideways
expect_fail 2 "feed NAME" hls_at p feed follow
expect_fail 1 'no feed "nope"' hls_at p feed follow nope --no-wait
pass "feed subscribe: errors are one line with an exit code"

# --- import, and every planted pattern is found --------------------------------------
hls_at p import-items "$WORK/gen" >/dev/null || fail "import-items"
# Each plant: its signal and theme(s), with every planted place among the pattern's places.
plant_found() {
  local i=$1 sig theme want
  sig=$(jq -r ".plants[$i].signal" "$manifest")
  theme=$(jq -r ".plants[$i].themes[0]" "$manifest")
  want=$(jq -c "[.plants[$i].places[].name]" "$manifest")
  hls_at p --json patterns --signal "$sig" --theme "$theme" --limit 0 |
    jq -e --argjson want "$want" 'any(.[]; (.places as $p | $want - $p | length == 0))' >/dev/null
}
n_plants=$(jq '.plants | length' "$manifest")
[ "$n_plants" = 5 ] || fail "the generator planted $n_plants patterns, not 5"
for i in $(seq 0 $((n_plants - 1))); do
  wait_for 60 plant_found "$i" || fail "plant $i ($(jq -c ".plants[$i] | {signal, themes}" "$manifest")) not found"
done
pass "all 5 planted patterns are found with their places"

# The contract: id, signal, theme, places (names).
j=$(hls_at p --json patterns --limit 0)
jq -e 'length > 0 and all(.[]; (.id | test("^[0-9a-f]{16}$")) and (.signal | type == "string")
  and (.theme | type == "string") and (.places | type == "array") and (.places | length) == .n_places
  and .count_min <= .count_max and (.method.name | type == "string"))' <<<"$j" >/dev/null \
  || fail "patterns --json fields"
total=$(jq length <<<"$j")
# --limit 0 comes in pages of 200 (871 here): all of them, each once, in the listing's order.
[ "$total" -gt 200 ] || fail "too few patterns ($total) to page"
[ "$total" = "$(hls_at p --json status | jq .patterns.live)" ] || fail "--limit 0 lists $total of the live patterns"
[ "$(jq '[.[].id] | unique | length' <<<"$j")" = "$total" ] || fail "a paged listing repeats patterns"
[ "$(hls_at p --json patterns --limit 250 | jq -c '[.[].id]')" = "$(jq -c '[.[0:250][].id]' <<<"$j")" ] \
  || fail "--limit 250 (two pages) is not the head of the whole listing"
[ "$(hls_at p --json patterns | jq length)" -le 50 ] || fail "the default listing is limited to 50"
out=$(hls_at p patterns --signal together)
head -1 <<<"$out" | grep -Eq '^ID +SIGNAL +THEME +WEEKS +PLACES +COUNT +SCORE$' || fail "patterns header: $out"
# Filters: region and min-places select subsets that satisfy them.
region=$(jq -r '.[0].regions[0]' <<<"$j")
hls_at p --json patterns --region "$region" --limit 0 | jq -e --arg r "$region" 'length > 0 and all(.[]; .regions | index($r))' \
  >/dev/null || fail "--region"
hls_at p --json patterns --min-places 10 --limit 0 | jq -e 'all(.[]; .n_places >= 10)' >/dev/null || fail "--min-places"
expect_fail 1 "since" hls_at p patterns --since yesterday
pass "patterns --json has the contract's fields; filters select what they say ($total patterns)"

# --- patterns show: method, lineage, withheld counts as ranges ---------------------------
sid=$(hls_at p --json patterns --signal spread --theme "$spread_theme" | jq -r '.[0].id')
show=$(hls_at p --json patterns show "${sid:0:6}")
jq -e --arg id "$sid" '.live and .pattern.id == $id and (.cells | length) > 0
  and all(.cells[]; (.item | test(":[0-9]+$")) and .count_min <= .count_max
                    and (if .withheld then .count_min >= 1 and .count_max > .count_min and (.count | test("-")) else true end))
  and ([.cells[].place] | unique) == (.pattern.places | sort)' <<<"$show" >/dev/null || fail "patterns show --json: $show"
text=$(hls_at p patterns show "$sid")
grep -q "^  method    distinct places in a fixed window (window_weeks 8, min_places 3)$" <<<"$text" || fail "show text: $text"
grep -q "^Where it comes from" <<<"$text" || fail "show lineage table"
expect_fail 2 "not a pattern ID" hls_at p patterns show xyz
expect_fail 1 "no pattern" hls_at p patterns show 0000000000000000
pass "patterns show explains a pattern: method, parameters, places, counts and digests"

# --- feeds: in order, once per acknowledgement, across a restart ---------------------------
events=$(hls_at p --json feed follow all --no-wait)
n_events=$(grep -c . <<<"$events")
[ "$n_events" -ge "$total" ] || fail "feed all: $n_events events for $total live patterns"
jq -s -e '[.[].seq] as $s | $s == ($s | sort) and ($s | unique | length) == length' <<<"$events" >/dev/null \
  || fail "feed events are not in order, or repeated"
jq -s -e 'all(.[]; (.change == "new" or .change == "updated" or .change == "retracted") and (.pattern.id | length) == 16)' \
  <<<"$events" >/dev/null || fail "feed event fields"
# Replaying new/updated/retracted leaves exactly the live patterns.
jq -s -e --argjson live "$(jq '[.[].id] | sort' <<<"$j")" \
  'reduce .[] as $e ({}; if $e.change == "retracted" then del(.[$e.pattern.id]) else .[$e.pattern.id] = 1 end)
   | keys == $live' <<<"$events" >/dev/null || fail "replaying the feed does not give the live patterns"
[ -z "$(hls_at p --json feed follow all --no-wait)" ] || fail "a second follow repeats acknowledged events"
s=$(hls_at p --json feed follow spread --no-wait)
[ "$(grep -c . <<<"$s")" -ge 1 ] && jq -s -e --arg t "${spread_theme#*:}" 'all(.[]; .pattern.signal == "spread" and .pattern.theme == $t)' \
  <<<"$s" >/dev/null || fail "the spread feed's filter: $s"
cursor=$(hls_at p --json feed list | jq '.[] | select(.name=="all") | .cursor')
[ "$cursor" -ge "$(jq -s 'map(.seq) | max' <<<"$events")" ] || fail "the cursor did not move to the last event"
stop_node p
start_node p "${FAST[@]}"
grep "event=patterns_ready" "$WORK/p.log" | tail -1 | grep -q " events=0 " || fail "a restart with nothing new wrote events: $(grep patterns_ready "$WORK/p.log")"
[ -z "$(hls_at p --json feed follow all --no-wait)" ] || fail "after a restart, the feed repeats events"
# A feed nobody followed before the restart gets everything it missed, once.
away=$(hls_at p --json feed follow away --no-wait)
[ "$(jq -s 'map(.seq)' <<<"$away")" = "$(jq -s 'map(select(.pattern.signal == "together") | .seq)' <<<"$events")" ] \
  || fail "the feed followed only after a restart: $away"
[ -z "$(hls_at p --json feed follow away --no-wait)" ] || fail "the away feed repeats events"
[ "$(hls_at p --json patterns --limit 0 | jq length)" = "$total" ] || fail "patterns changed across a restart"
pass "feeds: $n_events events in order, none repeated, cursor kept across a restart"

# --- live places: gossip in, a pattern made and retracted, streamed to a follower ---------
key=$(hls_at p network key)
declare -A ID=() ADDR=()
ID[p]=$(hls_at p --json status | jq -r .node_id)
ADDR[p]=$(hls_at p --json status | jq -r .listening_on)
for n in a b c; do
  PLACE="Live $n" REGION="Live Region" init_node "$n" --network-key "$key"
  start_node "$n" "${FAST[@]}"
  hls_at "$n" peer add "${ADDR[p]}" "${ID[p]}" >/dev/null
done
hls_at p feed subscribe live --theme live-theme >/dev/null
hls_at p --json feed follow live >"$WORK/live.ndjson" 2>"$WORK/live.err" &
follower=$!
declare -A REC=()
for n in a b c; do
  REC[$n]=$(hls_at "$n" --json record add --title "Live record" --scale organisation --stage reflect \
    --theme live-theme --date 2026-03-04 --consent aggregate --consent-by lead | jq -r .id)
done
live_spread() { hls_at p --json patterns --signal spread --theme live-theme | jq -e 'length == 1 and .[0].n_places == 3'; }
wait_for 60 live_spread || fail "the live places' spread pattern did not appear: $(hls_at p --json patterns --theme live-theme)"
hls_at p --json patterns --theme live-theme --signal spread | jq -e '.[0].places | sort == ["Live a","Live b","Live c"]' \
  >/dev/null || fail "live pattern places"
hls_at c record delete "${REC[c]}" >/dev/null
gone() { hls_at p --json patterns --signal spread --theme live-theme | jq -e 'length == 0'; }
wait_for 60 gone || fail "the spread pattern was not retracted after a place's digest dropped the theme"
hls_at p --json patterns show "$(jq -r 'select(.change=="new" and .pattern.signal=="spread") | .pattern.id' "$WORK/live.ndjson" | head -1)" |
  jq -e '.live == false' >/dev/null || fail "the retracted pattern is shown as retracted"
streamed() { jq -s -e 'map(select(.pattern.signal == "spread") | .change) | index("new") != null and index("retracted") != null' "$WORK/live.ndjson"; }
wait_for 30 streamed || fail "the follower did not stream new then retracted: $(cat "$WORK/live.ndjson")"
kill "$follower"; wait "$follower" 2>/dev/null || true
pass "a live pattern: new when 3 places report it, retracted when one drops it, streamed as it happened"

for n in a b c p; do stop_node "$n"; done
