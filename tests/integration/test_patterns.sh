#!/usr/bin/env bash
# Patterns and feeds on real daemons. A partner node imports the chains of
# 30 places with strong planted patterns (make_patterns) in three steps, up
# to 2024-W32, W42 and W44, and finds each pattern with its places; a
# pattern keeps its id across the new weeks, places join it, another ends;
# listings are
# sorted by strength, say "N of M shown", filter by place and strength and
# fit 80 columns; the weekly summary reads each step; feeds deliver the
# new change names in order, once per acknowledgement, across a restart.
# A second partner pages through a long listing. Three live place nodes
# then gossip a spread pattern to a third partner, which a record deletion
# (a superseding digest) retracts while a follower streams the events.
. "$(dirname "$0")/lib.sh"
: "${MAKE_PATTERNS:?MAKE_PATTERNS must name the make_patterns tool}"

FAST=(--set publish.delay=0 --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
CHANGES='["new","retracted","ended","joined","left","grew","shrank"]'

# No line of stdin wider than $1 characters (UTF-8 aware).
fits() {
  python3 -c '
import sys
w = int(sys.argv[1])
bad = [l for l in sys.stdin.read().splitlines() if len(l) > w]
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)' "$1"
}

PLACE="National Learning Partner" REGION=National init_node p --role partner
start_node p "${FAST[@]}"

# --- a partner keeps no records of its own ------------------------------------------
expect_fail 1 "partner.*keeps no records" hls_at p record add --title x --scale place --stage reflect
pass "a partner refuses records of its own"

# --- feeds made before anything is held --------------------------------------------
hls_at p feed subscribe all >/dev/null
hls_at p feed subscribe spread --signal spread --theme warm-space-closures >/dev/null
hls_at p feed subscribe away --signal together >/dev/null   # not followed until after a restart
hls_at p feed subscribe strong --min-strength 10 >/dev/null
hls_at p feed subscribe place03 --place "place 03" >/dev/null  # any case
hls_at p feed subscribe partial >/dev/null   # read by readers that stop early
hls_at p feed subscribe stalled >/dev/null
hls_at p feed subscribe limited >/dev/null  # read 2 events at a time (--limit)
expect_fail 1 "exists" hls_at p feed subscribe all
expect_fail 2 "not one of" hls_at p feed subscribe bad --signal sideways
expect_fail 2 "min-strength" hls_at p feed subscribe bad --min-strength -1
expect_fail 2 "unknown option '--all'" hls_at p feed subscribe bad --all
expect_fail 2 "give one NAME" hls_at p feed follow
expect_fail 1 'no feed "nope"' hls_at p feed follow nope --no-wait
pass "feed subscribe: errors are one line with an exit code"

# --- a store error while reading a feed's events ends the stream with it -------------
# (not a "caught up" that hides it). The events table, renamed away by
# another connection, is such an error; the cursor stays, so following
# again once it is back works.
rename_events() {
  python3 - "$WORK/p/hlsd.db" "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("ALTER TABLE %s RENAME TO %s" % (sys.argv[2], sys.argv[3]))
db.commit()
PY
}
rename_events pattern_events pattern_events_away
expect_fail 1 "no such table: pattern_events" hls_at p feed follow all --no-wait
rename_events pattern_events_away pattern_events
grep -q "event=feed_follow_failed.* name=all .*error=store_error" "$WORK/p.log" \
  || fail "the failed follow is not logged: $(grep feed_follow "$WORK/p.log")"
hls_at p feed follow all --no-wait >/dev/null || fail "following again, the store whole again"
pass "feed follow: a store error ends the stream with it, logged; following again works"

# --- up to 2024-W32: spread and together found, live ---------------------------------
"$MAKE_PATTERNS" "$WORK/w32" 32 || fail "make_patterns"
"$MAKE_PATTERNS" "$WORK/w42" 42 || fail "make_patterns"
"$MAKE_PATTERNS" "$WORK/w44" || fail "make_patterns"
manifest="$WORK/w44/manifest.json"
hls_at p import-items "$WORK/w32" >/dev/null || fail "import-items (to 2024-W32)"
# The themes other places use: from every place's digests, most places
# first (a partner keeps no records: plain `hls themes` has none).
nt=$(hls_at p --json themes --network)
jq -e 'length > 3 and ([.[].places] == ([.[].places] | sort | reverse))
       and any(.[]; .name == "warm-space-closures" and .kind == "problem" and .places >= 12)
       and all(.[]; (.last_week | test("^[0-9]{4}-W[0-9]{2}$")))' <<<"$nt" >/dev/null \
  || fail "themes --network: $nt"
grep -q "^THEME  *KIND  *PLACES  *LAST WEEK" <<<"$(hls_at p themes --network)" || fail "themes --network as a table"
pass "themes --network: the themes of every place's digests, most places first"
# plant_found SIGNAL THEME: a live pattern of that signal and theme whose
# places include every planted place.
plant_found() {
  local sig=$1 theme=$2 want
  want=$(jq -c ".plants[\"$sig\"].places" "$manifest")
  hls_at p --json patterns --signal "$sig" --theme "$theme" --limit 0 |
    jq -e --argjson want "$want" 'any(.[]; .live and (.places as $p | $want - $p | length == 0))' >/dev/null
}
wait_for 60 plant_found spread warm-space-closures || fail "the spread plant was not found up to 2024-W32"
wait_for 60 plant_found together mould-in-private-rentals || fail "the together plant was not found up to 2024-W32"
spread_id=$(hls_at p --json patterns --signal spread --theme warm-space-closures | jq -r '.[0].id')
# its weeks start at the first take-up (2024-W30), not at its test's window
from=$(hls_at p --json patterns --signal spread --theme warm-space-closures | jq -r '.[0].from')
[ "$from" = 2024-W30 ] || fail "the spread pattern starts at $from, not at its first take-up (2024-W30)"
[ "$(hls_at p --json patterns --signal emerging --theme doorstep-scams | jq length)" = 0 ] \
  || fail "the emerging plant (2024-W42) was found from data to 2024-W32"
pass "up to 2024-W32: the spread and together plants are found, live, with their places"

# --- to 2024-W42: emerging found at four places; to W44: two more join it ----------------
hls_at p import-items "$WORK/w42" >/dev/null || fail "import-items (to 2024-W42)"
emerging_at() {
  hls_at p --json patterns --signal emerging --theme doorstep-scams |
    jq -e --argjson n "$1" 'length == 1 and (.[0].places | sort) == (["Place 02", "Place 05", "Place 12", "Place 15",
      "Place 22", "Place 25"][0:$n])'
}
wait_for 60 emerging_at 4 || fail "the emerging plant was not found at its 4 places to 2024-W42"
emerging_id=$(hls_at p --json patterns --signal emerging --theme doorstep-scams | jq -r '.[0].id')
hls_at p import-items "$WORK/w44" >/dev/null || fail "import-items (to 2024-W44)"
wait_for 60 emerging_at 6 || fail "two places did not join the emerging pattern"
[ "$(hls_at p --json patterns --signal emerging --theme doorstep-scams | jq -r '.[0].id')" = "$emerging_id" ] \
  || fail "the emerging pattern did not keep its id ($emerging_id) as places joined it"
spread_ended() {
  hls_at p --json patterns --all --signal spread --theme warm-space-closures |
    jq -e --arg id "$spread_id" 'map(select(.id == $id and (.live | not) and .to == "2024-W34")) | length == 1'
}
wait_for 60 spread_ended || fail "the spread pattern $spread_id did not keep its id and end: $(hls_at p --json patterns --all --signal spread)"
[ "$(hls_at p --json patterns --signal spread --theme warm-space-closures | jq length)" = 0 ] \
  || fail "an ended pattern is listed without --all"
# Without all, the reply still counts the ended ones the filters select (it
# said 0, so hls said "No patterns yet" when every pattern had ended), and
# says the engine is ready.
[ "$(ctl_at p patterns '{"signal": "spread", "theme": "warm-space-closures"}' | jq -c '[.total, .ended, .state]')" \
  = '[0,1,"ready"]' ] || fail "patterns without all: $(ctl_at p patterns '{"signal": "spread", "theme": "warm-space-closures"}')"
[ "$(ctl_at p patterns.summary '{}' | jq -r .state)" = ready ] || fail "patterns.summary has no state"
hls_at p --json patterns show "$spread_id" | jq -e '.state == "ended" and (.live | not)' >/dev/null \
  || fail "patterns show: the ended pattern's state"
pass "patterns keep their ids across new weeks of digests: places join one ($emerging_id), another ends ($spread_id)"
# limits.patterns_late_weeks (26): the engine keeps in memory only what
# its tests read of the weeks before 2024-W44 less 26.
frozen_at() { hls_at p --json status | jq -e '.patterns.frozen_before == "2024-W18" and .patterns.late_pending == false
  and .patterns.late_facts == 0' >/dev/null; }
wait_for 30 frozen_at || fail "status: weeks not frozen before 2024-W18: $(hls_at p --json status | jq -c .patterns)"
pass "the weeks before the latest less limits.patterns_late_weeks are frozen (status: frozen_before 2024-W18)"

# --- listings: strongest first, N of M shown, the contract's fields ---------------------
j=$(hls_at p --json patterns --all --limit 0)
total=$(jq length <<<"$j")
[ "$total" -ge 3 ] || fail "too few patterns ($total)"
jq -e 'all(.[]; (.id | test("^[0-9a-f]{16}$")) and (.signal | type == "string") and (.theme | type == "string")
  and (.places | type == "array") and (.places | length) == .n_places and .count_min <= .count_max
  and (.strength | type == "number") and (.p | type == "number") and .p > 0 and .p <= 1
  and (.live | type == "boolean") and (.region | type == "string") and (.expected | type == "number")
  and (.withheld | type == "number") and .withheld <= .expected + 0.001 and (.method.name | type == "string")
  and (.method.fdr | type == "number"))' <<<"$j" >/dev/null || fail "patterns --json fields: $j"
jq -e '[.[].strength] as $s | $s == ($s | sort | reverse)' <<<"$j" >/dev/null || fail "not strongest first: $j"
live=$(jq '[.[] | select(.live)] | length' <<<"$j")
[ "$(hls_at p --json patterns --limit 0 | jq 'length')" = "$live" ] || fail "the default listing is not the live patterns"
[ "$live" = "$(hls_at p --json status | jq .patterns.live)" ] || fail "status counts $live live patterns otherwise"
out=$(hls_at p patterns --all --limit 1)
grep -Eq "^$total patterns, $live live and $((total - live)) ended: " <<<"$out" || fail "the summary line: $out"
grep -q "^1 of $total shown" <<<"$out" || fail "'1 of $total shown': $out"
sed -n 2p <<<"$out" | grep -Eq '^ID +STRENGTH +SIGNAL +THEME\(S\) +PLACES +WEEKS +LIVE$' || fail "patterns header: $out"
hls_at p patterns --all --limit 0 | grep -q "shown" && fail "'shown' when every pattern is listed"
out=$(hls_at p patterns)
grep -Eq "^$live patterns? live: " <<<"$out" || fail "the summary line of live patterns: $out"
pass "patterns: strongest first, live by default, '1 of $total shown', counts by signal"

# --- filters: place (any case, or node id), strength, and the rest ---------------------
by_place=$(hls_at p --json patterns --all --place "PLACE 03" --limit 0)
jq -e --arg id "$spread_id" 'length > 0 and all(.[]; .places | index("Place 03")) and any(.[]; .id == $id)' \
  <<<"$by_place" >/dev/null || fail "--place: $by_place"
node03=$(jq -r '.places[3].node_id' "$manifest")
[ "$(hls_at p --json patterns --all --place "$node03" --limit 0 | jq -c '[.[].id]')" = "$(jq -c '[.[].id]' <<<"$by_place")" ] \
  || fail "--place by node id differs from by name"
[ "$(jq '[.[] | select(.places | index("Place 03"))] | length' <<<"$j")" = "$(jq length <<<"$by_place")" ] \
  || fail "--place misses patterns of Place 03"
expect_fail 1 'no place "Nowhere"' hls_at p patterns --place Nowhere
# a theme or region nobody has is named, not "No patterns match" (a typo)
expect_fail 1 'theme: no place reports "doorstep-scam" here \(hls themes --network' \
  hls_at p patterns --theme doorstep-scam
expect_fail 1 'no place reports "strength:doorstep-scams"' hls_at p patterns --theme strength:doorstep-scams
expect_fail 1 'region: no place is in region "Sooth"' hls_at p patterns --region Sooth
grep -q "^No patterns match" <<<"$(hls_at p patterns --all --theme problem:doorstep-scams --since 2024-W01 --until 2024-W02)" \
  || fail "a theme some place reports, with no pattern in those weeks"
second=$(jq '.[1].strength' <<<"$j")
hls_at p --json patterns --all --min-strength "$second" --limit 0 |
  jq -e --argjson s "$second" 'length >= 2 and all(.[]; .strength >= $s - 0.05)' >/dev/null || fail "--min-strength $second"
# compared as shown, to one decimal: the strength a listing shows passes
shown=$(hls_at p patterns --all --limit 2 | awk 'length($1) == 8 && $2 ~ /^[0-9.]+$/ { s = $2 } END { print s }')
hls_at p --json patterns --all --min-strength "$shown" --limit 0 | jq -e 'length >= 2' >/dev/null \
  || fail "--min-strength $shown (the second strength shown) leaves out the second pattern: $(hls_at p patterns --all --limit 2)"
expect_fail 2 "min-strength" hls_at p patterns --min-strength 0x10
[ "$(hls_at p --json patterns --all --min-strength 1000 | jq length)" = 0 ] || fail "--min-strength 1000"
grep -q "No patterns match" <<<"$(hls_at p patterns --all --min-strength 1000)" || fail "no match, in words"
expect_fail 2 "min-strength" hls_at p patterns --min-strength lots
hls_at p --json patterns --all --region South --limit 0 | jq -e 'length > 0 and all(.[]; .regions | index("South"))' \
  >/dev/null || fail "--region"
[ "$(hls_at p --json patterns --all --region sOUTH --limit 0)" = "$(hls_at p --json patterns --all --region South --limit 0)" ] ||
  fail "--region in another case"
hls_at p --json patterns --all --min-places 10 --limit 0 | jq -e 'length > 0 and all(.[]; .n_places >= 10)' >/dev/null \
  || fail "--min-places"
expect_fail 2 "since" hls_at p patterns --since yesterday
expect_fail 2 "2024 has no week 53 \\(its weeks are 1 to 52\\)" hls_at p patterns --since 2024-W53
expect_fail 2 "2024-02-30 is not a day of the calendar" hls_at p patterns --until 2024-02-30
expect_fail 2 "2026 has no week 60" hls_at p patterns summary --week 2026-W60
# A week after the data says so (it said "No pattern changed while this was
# the latest week held", as for a quiet week).
hls_at p patterns summary --week 2030-W10 | grep -q "^Week 2030-W10 is after the latest week of digests held (2024-W" \
  || fail "a week after the data: $(hls_at p patterns summary --week 2030-W10)"
# and one before it (it read as a quiet week)
hls_at p patterns summary --week 2020-W10 | grep -q "^Week 2020-W10 is before the first week of digests held (20" \
  || fail "a week before the data: $(hls_at p patterns summary --week 2020-W10)"
# (said once: not also as a quiet week)
! hls_at p patterns summary --week 2020-W10 | grep -q "No pattern changed" \
  || fail "a week before the data, read as a quiet week too"
hls_at p patterns --since 2020-W53 >/dev/null || fail "--since 2020-W53 (2020 has 53 weeks)"
expect_fail 2 "years 1900 to 9999 only" hls_at p patterns --since 1850-01-01
pass "filters: --place (name in any case, node id), --min-strength, --region (in any case), --min-places"

# --- 80 columns ------------------------------------------------------------------------------
for cmd in "patterns --all" "patterns summary" "patterns summary --week 2024-W32" "patterns show $spread_id" \
           "patterns show $spread_id --places" \
           "patterns show $(jq -r '.[] | select(.signal == "together") | .id' <<<"$j" | head -1)"; do
  # shellcheck disable=SC2086
  on_tty 80 "$HLS" --home "$WORK/p" $cmd | fits 80 || fail "hls $cmd is wider than an 80-column terminal"
done
# --places on a narrow terminal: wrapped between names, never inside one
narrow=$(on_tty 40 "$HLS" --home "$WORK/p" patterns show "$spread_id" --places | sed -n '/^  places /,/^$/p')
fits 40 <<<"$narrow" || fail "patterns show --places: its places are wider than 40 columns: $narrow"
listed=$(jq -r '.places[].name' <<<"$(hls_at p --json patterns show "$spread_id")" | sort)
shown=$(grep -v '^  places ' <<<"$narrow" | sed -E 's/^ +[A-Za-z() ]+\([0-9]+\): //' | tr ',' '\n' |
  sed -E 's/^ +//; s/ +$//' | { grep -v '^$' || true; } | sort)
[ "$listed" = "$shown" ] || fail "patterns show --places split or lost a name: $narrow"
pass "listings, the summary and patterns show fit 80 columns; --places wraps between names"

# --- patterns show: places by region, week by week, method, stories ----------------------
show=$(hls_at p --json patterns show "${spread_id:0:6}")
jq -e --arg id "$spread_id" '.pattern.id == $id and (.places | length) == 12
  and ([.places[].region] | unique) == ["East", "North", "South"]
  and (.weeks | length) == (.pattern.weeks + 8) and ([.weeks[] | select(.in_pattern)] | length) == .pattern.weeks
  and ([.weeks[] | select(.week == "2024-W31")][0].places == 12)
  and (.stories | length) == 12 and (.method_text | test("false discovery rate"))
  and all(.cells[]; (.item | test(":[0-9]+$")) and .count_min <= .count_max)' <<<"$show" >/dev/null \
  || fail "patterns show --json: $show"
text=$(hls_at p patterns show "$spread_id")
for want in "^spread: problem:warm-space-closures$" "^  state     ended" "^  strength  [0-9.]+ \(p = " \
            "^  withheld  " "^  places    12 in 3 regions$" "^    East \(4\): " "^Week by week at its 12 places" \
            "^2024-W31 \* +12 +12 +#+$" "^How it was found$" "^Stories behind it \(12; " "^  and 2 more"; do
  grep -Eq "$want" <<<"$text" || fail "patterns show lacks /$want/: $text"
done
grep -q "^Digest cells behind it" <<<"$(hls_at p patterns show "$spread_id" --cells)" || fail "show --cells"
# counts of places are whole numbers, as docs/cli.md shows them
grep -Eq "^  test      places beyond [0-9]+ \(places tested [0-9]+\), at its strongest$" <<<"$(hls_at p patterns show "$emerging_id")" ||
  fail "patterns show: emerging's test line: $(hls_at p patterns show "$emerging_id" | grep "^  test")"
expect_fail 2 "not a pattern ID" hls_at p patterns show xyz
expect_fail 1 "no pattern" hls_at p patterns show 0000000000000000
pass "patterns show: state, strength, places by region, week by week, method, stories"

# --- the weekly summary ---------------------------------------------------------------------
sum=$(hls_at p --json patterns summary)
jq -e --arg e "$emerging_id" '.week == "2024-W44" and .latest_week == "2024-W44"
  and .growing.count >= 1 and .growing.joined >= 1 and any(.growing.top[]; .id == $e and .n_places == 6)
  and .growing.by_signal.emerging >= 1 and (.growing.by_region | length) == 3 and .new.count == 0' <<<"$sum" \
  >/dev/null || fail "summary of 2024-W44: $sum"
# The spread pattern ended when the digests to 2024-W42 came.
sum=$(hls_at p --json patterns summary --week 2024-W42)
jq -e --arg e "$emerging_id" --arg s "$spread_id" '.week == "2024-W42"
  and any(.new.top[]; .id == $e and .live and .n_places == 4) and .new.by_signal.emerging >= 1
  and all(.new.top[]; .live) and any(.ended.top[]; .id == $s and (.live | not)) and .ended.by_signal.spread >= 1' \
  <<<"$sum" >/dev/null || fail "summary of 2024-W42: $sum"
sum=$(hls_at p --json patterns summary --week 2024-W32)
jq -e --arg s "$spread_id" '.week == "2024-W32" and any(.new.top[]; .id == $s and .live) and .ended.count == 0' \
  <<<"$sum" >/dev/null || fail "summary of 2024-W32: $sum"
[ "$(hls_at p --json patterns summary --week 2024-W10 | jq .events)" = 0 ] || fail "a week without changes"
text=$(hls_at p patterns summary)
for want in "^Week 2024-W44, the latest week of digests held" "^Growing: [0-9]+ \(.*emerging [0-9]+\): [1-9][0-9]* with places joining" \
            "^  by region: " "^New: none$" "^Ended: none$"; do
  grep -Eq "$want" <<<"$text" || fail "patterns summary lacks /$want/: $text"
done
text=$(hls_at p patterns summary --week 2024-W42)
for want in "^Week 2024-W42 \(the latest week of digests held is 2024-W44\)" "^New: [0-9]+ \(.*emerging [0-9]+" \
            "^Ended: [0-9]+ \(.*spread [0-9]+"; do
  grep -Eq "$want" <<<"$text" || fail "patterns summary --week 2024-W42 lacks /$want/: $text"
done
grep -q "No pattern changed" <<<"$(hls_at p patterns summary --week 2024-W10)" || fail "summary of a quiet week"
expect_fail 2 "week" hls_at p patterns summary --week soon
pass "patterns summary: new, growing and ended by signal and region, week by week"

# --- feeds: a reader that stops early or stalls loses nothing ------------------------------
# Every event reaches the reader once it has taken it: `| head` takes a
# few; the next follow starts at the first event head did not read whole.
expected=$(hls_at p --json feed list | jq '.[] | select(.name == "partial") | .events_after_cursor')
[ "$expected" -ge 5 ] || fail "the partial feed has only $expected events"
hls_at p --json feed follow partial --no-wait | head -c 300 >"$WORK/head.out"
whole=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.count(b"\n"))' "$WORK/head.out")
rest=$(hls_at p --json feed follow partial --no-wait)
all=$(hls_at p --json feed follow partial --no-wait --from 0)
[ "$(grep -c . <<<"$all")" = "$expected" ] || fail "--from 0 replays $(grep -c . <<<"$all") of $expected events"
[ "$(head -n "$whole" "$WORK/head.out"; printf '%s\n' "$rest")" = "$all" ] \
  || fail "| head: $whole whole events read, then the next follow gave $(grep -c . <<<"$rest") of $expected"
[ -z "$(hls_at p --json feed follow partial --no-wait)" ] || fail "the partial feed repeats events"
# A reader that takes a little and stalls, then hls is killed: what the
# reader did not take comes again.
python3 - "$HLS" "$WORK/p" "$WORK/stalled.out" <<'PY' || fail "the stalled reader"
import os, signal, subprocess, sys
hls, home, out = sys.argv[1:4]
p = subprocess.Popen([hls, "--home", home, "--json", "feed", "follow", "stalled", "--no-wait"],
                     stdout=subprocess.PIPE, bufsize=0)
got = b""
while len(got) < 200:             # exactly 200 bytes out of the pipe, unbuffered
    chunk = os.read(p.stdout.fileno(), 200 - len(got))
    if not chunk:
        sys.exit("hls ended before 200 bytes")
    got += chunk
# then stalls: hls waits for the rest to be read, until it is killed
p.send_signal(signal.SIGTERM)
p.wait(timeout=30)
open(out, "wb").write(got)
PY
whole=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.count(b"\n"))' "$WORK/stalled.out")
rest=$(hls_at p --json feed follow stalled --no-wait)
[ "$(head -n "$whole" "$WORK/stalled.out"; printf '%s\n' "$rest")" = "$all" ] \
  || fail "a stalled reader: $whole whole events read, then the next follow gave $(grep -c . <<<"$rest")"
# --limit N: N events, and the next follow starts at the one after them
# (the events hls read past the limit were not printed: not acknowledged).
first=$(hls_at p --json feed follow limited --no-wait --limit 2)
[ "$(grep -c . <<<"$first")" = 2 ] || fail "--limit 2 printed $(grep -c . <<<"$first") events"
second=$(hls_at p --json feed follow limited --no-wait --limit 2)
rest=$(hls_at p --json feed follow limited --no-wait)
[ "$(printf '%s\n%s\n%s\n' "$first" "$second" "$rest")" = "$all" ] \
  || fail "--limit 2 twice, then the rest: $(grep -c . <<<"$first$second$rest") events of $expected"
# A program says itself what it handled: feed ack.
s=$(hls_at p --json feed ack stalled 1) || fail "feed ack"
[ "$(jq .cursor <<<"$s")" -ge 1 ] || fail "feed ack: $s"
expect_fail 1 "not an event" hls_at p feed ack stalled 999999999
# An ack behind the cursor changes nothing and says so (it printed the
# cursor as if it had moved it).
c1=$(jq .cursor <<<"$s")
[ "$(hls_at p feed ack stalled 0)" = "Feed stalled: cursor stays at $c1 (event 0 is behind it: an ack never moves it back)." ] \
  || fail "an ack behind the cursor: $(hls_at p feed ack stalled 0)"
expect_fail 2 "SEQ" hls_at p feed ack stalled
pass "feeds: a reader that stops early (| head), stalls or stops at --limit loses no event; feed ack, --from replay"

# --- feeds: the new change names, in order, once per acknowledgement ----------------------
events=$(hls_at p --json feed follow all --no-wait)
n_events=$(grep -c . <<<"$events")
jq -s -e '[.[].seq] as $s | $s == ($s | sort) and ($s | unique | length) == length' <<<"$events" >/dev/null \
  || fail "feed events are not in order, or repeated"
jq -s -e --argjson ok "$CHANGES" 'all(.[]; (.change as $c | $ok | index($c)) and (.pattern.id | length) == 16)' \
  <<<"$events" >/dev/null || fail "feed event names: $events"
jq -s -e --arg id "$spread_id" '[.[] | select(.pattern.id == $id) | .change] == ["new", "ended"]' <<<"$events" \
  >/dev/null || fail "the spread pattern's events are not new, then ended: $events"
jq -s -e --arg id "$emerging_id" '[.[] | select(.pattern.id == $id) | .change] == ["new", "joined"]' <<<"$events" \
  >/dev/null || fail "the emerging pattern's events are not new, then joined: $events"
# Replaying the events leaves exactly the patterns held (live or ended).
jq -s -e --argjson held "$(jq '[.[].id] | sort' <<<"$j")" \
  'reduce .[] as $e ({}; if $e.change == "retracted" then del(.[$e.pattern.id]) else .[$e.pattern.id] = 1 end)
   | keys == $held' <<<"$events" >/dev/null || fail "replaying the feed does not give the patterns held"
[ -z "$(hls_at p --json feed follow all --no-wait)" ] || fail "a second follow repeats acknowledged events"
s=$(hls_at p --json feed follow spread --no-wait)
jq -s -e 'length >= 2 and all(.[]; .pattern.signal == "spread" and .pattern.theme == "warm-space-closures")' \
  <<<"$s" >/dev/null || fail "the spread feed's filter: $s"
s=$(hls_at p --json feed follow strong --no-wait)
jq -s -e 'length >= 1 and all(.[]; .pattern.strength >= 10)' <<<"$s" >/dev/null || fail "the strong feed: $s"
[ "$(grep -c . <<<"$s")" = "$(jq -s '[.[] | select(.pattern.strength >= 10)] | length' <<<"$events")" ] \
  || fail "the strong feed missed events"
s=$(hls_at p --json feed follow place03 --no-wait)
jq -s -e 'length >= 1 and all(.[]; .pattern.places | index("Place 03"))' <<<"$s" >/dev/null || fail "the place feed: $s"
text=$(hls_at p feed follow all --no-wait)
[ -z "$text" ] || fail "text follow after json follow"
# A feed of a theme no place reports is made, with a note (a typo would
# otherwise read as a quiet feed); one of a theme some place reports, without.
note=$(hls_at p feed subscribe typo --theme doorstep-scam 2>&1 >/dev/null) || fail "a feed of an unknown theme"
grep -q '^hls: theme: no place reports "doorstep-scam" here (hls themes --network lists them); the feed selects' \
  <<<"$note" || fail "no note for a feed of a theme no place reports: $note"
[ "$(hls_at p --json feed subscribe typo2 --region Sooth | jq -r .note)" = \
  'region: no place is in region "Sooth" here (hls places lists regions)' ] || fail "no note for an unknown region"
[ -z "$(hls_at p feed subscribe scams --theme doorstep-scams 2>&1 >/dev/null)" ] || fail "a note for a theme held"
[ "$(hls_at p --json feed subscribe scams2 --theme doorstep-scams | jq -c .note)" = null ] || fail "note not null"
[ "$(hls_at p --json feed subscribe typo3 --place Nowhere | jq -r .note)" = \
  'place: no place "Nowhere" is known here (hls places lists them)' ] || fail "no note for an unknown place"
[ "$(hls_at p --json feed subscribe p3 --place "PLACE 03" | jq -c .note)" = null ] || fail "a note for a place held"
# Every unknown name is noted, not the first alone (each is a typo).
want='theme: no place reports "nosuch" here (hls themes --network lists them); '
want+='theme: no place reports "alsonot" here (hls themes --network lists them); '
want+='region: no place is in region "Sooth" here (hls places lists regions); '
want+='place: no place "Nowhere" is known here (hls places lists them)'
note=$(hls_at p --json feed subscribe typo4 --theme nosuch --theme alsonot --region Sooth --place Nowhere | jq -r .note)
[ "$note" = "$want" ] || fail "not every unknown name noted: $note"
for f in typo typo2 typo3 typo4 scams scams2 p3; do hls_at p feed unsubscribe "$f" >/dev/null; done
# A new feed counts only the events its filter selects.
hls_at p feed subscribe later --place "Place 03" >/dev/null
after=$(hls_at p --json feed list | jq '.[] | select(.name == "later") | .events_after_cursor')
[ "$after" = "$(jq -s '[.[] | select(.pattern.places | index("Place 03"))] | length' <<<"$events")" ] \
  || fail "feed list counts $after events after the cursor of a place feed"
grep -E "^[0-9]+ [0-9TZ:-]+ (new|ended) +spread +problem:warm-space-closures 2024-W30\.\.W3[24] places 12 " \
  <<<"$(hls_at p feed follow later --no-wait)" >/dev/null || fail "feed follow, in text"
# On a terminal a line names as many places as fit its width, at least one
# (into a pipe, up to 8: the emerging pattern's lines ran to 200 characters)
tty_lines=$(on_tty 160 "$HLS" --home "$WORK/p" feed follow all --no-wait --from 0)
[ "$(grep emerging <<<"$tty_lines" | awk 'length > 160' | wc -l)" = 0 ] \
  || fail "feed follow lines wider than the terminal: $tty_lines"
grep -qE "^[0-9]+ .* joined +emerging +problem:doorstep-scams .* places 6 \(Place 02(, Place [0-9]+)* and [1-5] more\)" \
  <<<"$tty_lines" || fail "feed follow on a terminal: $tty_lines"
grep -qE " id [0-9a-f]{8}$" <<<"$tty_lines" || fail "feed follow on a terminal: not the id's 8 digits: $tty_lines"
cursor=$(hls_at p --json feed list | jq '.[] | select(.name=="all") | .cursor')
[ "$cursor" -ge "$(jq -s 'map(.seq) | max' <<<"$events")" ] || fail "the cursor did not move to the last event"
pass "feeds: $n_events events named $(jq -s -c '[.[].change] | unique' <<<"$events"), in order, filtered, once"

# --- a restart ---------------------------------------------------------------------------------
stop_node p
start_node p "${FAST[@]}"
wait_patterns p
grep "event=patterns_ready" "$WORK/p.log" | tail -1 | grep -q " events=0 " \
  || fail "a restart with nothing new wrote events: $(grep patterns_ready "$WORK/p.log")"
[ -z "$(hls_at p --json feed follow all --no-wait)" ] || fail "after a restart, the feed repeats events"
# A feed nobody followed before the restart gets everything it missed, once.
away=$(hls_at p --json feed follow away --no-wait)
[ "$(jq -s 'map(.seq)' <<<"$away")" = "$(jq -s 'map(select(.pattern.signal == "together") | .seq)' <<<"$events")" ] \
  || fail "the feed followed only after a restart: $away"
[ -z "$(hls_at p --json feed follow away --no-wait)" ] || fail "the away feed repeats events"
[ "$(hls_at p --json patterns --all --limit 0)" = "$j" ] || fail "patterns changed across a restart"
[ "$(hls_at p --json patterns summary --week 2024-W32 | jq .new.count)" -ge 2 ] || fail "the summary after a restart"
pass "a restart writes no event; feeds keep their cursors"

# --- rows written before schema 9 (the old methods), at the next start ------------------------
# One row without origins (as the migration leaves them) and one live row
# the new methods do not find: the first is announced anew, the second
# retracted, once (docs/data-model.md). A follower started before the stop
# (a feed whose cursor is at the end) outlives it: it follows again once
# hlsd is back, and prints just those two events.
hls_at p feed subscribe survivor >/dev/null
hls_at p feed ack survivor "$(hls_at p --json feed list | jq '.[] | select(.name == "all") | .cursor')" >/dev/null
"$HLS" --home "$WORK/p" --json feed follow survivor >"$WORK/survivor.out" 2>"$WORK/survivor.err" &
survivor=$!
BACKGROUND_PIDS+=("$survivor")
following() { hls_at p --json feed list | jq -e '.[] | select(.name == "survivor") | .followers == 1'; }
wait_for 20 following || fail "the survivor follower did not start"
stop_node p
python3 - "$WORK/p/hlsd.db" "$spread_id" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE patterns SET origins = NULL WHERE id = ?", (bytes.fromhex(sys.argv[2]),))
summary = b"\x81\xa2id\xb0" + b"00000000000000ff"  # msgpack {"id": "00000000000000ff"}
db.execute("INSERT INTO patterns(id, live, signal, theme, kind, week_from, week_to, n_places, scales, regions, score,"
           " summary, first_ms, updated_ms) VALUES (?, 1, 0, 'housing', 0, 2840, 2847, 3, 2, 'North' || char(10), 3.0,"
           " ?, 1, 1)", (bytes.fromhex("00000000000000ff"), summary))
db.commit()
PY
start_node p "${FAST[@]}"
wait_patterns p
grep "event=patterns_ready" "$WORK/p.log" | tail -1 | grep -q " events=2 " \
  || fail "old rows at start: $(grep patterns_ready "$WORK/p.log" | tail -1)"
ev=$(hls_at p --json feed follow all --no-wait)
jq -s -e --arg s "$spread_id" '[.[] | [.change, .pattern.id]] == [["new", $s], ["retracted", "00000000000000ff"]]' \
  <<<"$ev" >/dev/null || fail "old rows at start: $ev"
survived() { [ "$(grep -c . "$WORK/survivor.out")" -ge 2 ]; }
wait_for 30 survived || fail "the follower did not follow again after the restart: $(cat "$WORK/survivor.out" "$WORK/survivor.err")"
kill "$survivor"; wait "$survivor" 2>/dev/null || true
jq -s -e --arg s "$spread_id" '[.[] | [.change, .pattern.id]] == [["new", $s], ["retracted", "00000000000000ff"]]' \
  "$WORK/survivor.out" >/dev/null || fail "the follower across the restart printed: $(cat "$WORK/survivor.out")"
grep -q "^hls: hlsd went away (hlsd closed the connection" "$WORK/survivor.err" \
  && grep -q "^hls: hlsd is back; following feed survivor again" "$WORK/survivor.err" \
  || fail "the follower's notes: $(cat "$WORK/survivor.err")"
hls_at p --json patterns show 00000000000000ff | jq -e '.state == "retracted"' >/dev/null || fail "the old row, retracted"
# The week's read lists it as retracted (its row was live before).
sum=$(hls_at p --json patterns summary)
jq -e '[.retracted.top[] | select(.id == "00000000000000ff") | .state] == ["retracted"]
  and all(.new.top[]; .id != "00000000000000ff")' <<<"$sum" >/dev/null || fail "the old row in the summary: $sum"
grep -Eq "^  00000000 .* retracted$" <<<"$(hls_at p patterns summary)" || fail "the old row's LIVE column in words"
[ "$(hls_at p --json patterns --all --limit 0)" = "$j" ] || fail "patterns changed with the old rows"
pass "rows of the old methods: re-announced if the new methods find them, else retracted"

# --- a long listing comes in pages -----------------------------------------------------------
PLACE="Paging Partner" REGION=National init_node q --role partner
start_node q "${FAST[@]}"
"$MAKE_PATTERNS" "$WORK/many" 44 250 || fail "make_patterns (many)"
hls_at q import-items "$WORK/many" >/dev/null || fail "import-items (many)"
# One request of import-items (under 1 MiB): its facts are computed in one go.
many() { [ "$(hls_at q --json status | jq .patterns.live)" -gt 200 ]; }
wait_for 60 many || fail "too few patterns to page: $(hls_at q --json status | jq .patterns)"
big=$(hls_at q --json patterns --limit 0)
n=$(jq length <<<"$big")
[ "$n" = "$(hls_at q --json status | jq .patterns.live)" ] || fail "--limit 0 lists $n of the live patterns"
[ "$(jq '[.[].id] | unique | length' <<<"$big")" = "$n" ] || fail "a paged listing repeats patterns"
jq -e '[.[].strength] as $s | $s == ($s | sort | reverse)' <<<"$big" >/dev/null || fail "pages are not strongest first"
[ "$(hls_at q --json patterns --limit 250 | jq -c '[.[].id]')" = "$(jq -c '[.[0:250][].id]' <<<"$big")" ] \
  || fail "--limit 250 (two pages) is not the head of the whole listing"
[ "$(hls_at q --json patterns | jq length)" = 50 ] || fail "the default listing is limited to 50"
grep -q "^50 of $n shown" <<<"$(hls_at q patterns)" || fail "'50 of $n shown'"
stop_node q
pass "a listing of $n patterns comes whole in pages of 200, strongest first"

# --- live places: gossip in, a pattern made and retracted, streamed to a follower ---------
# Three places with 44 weeks of history take up a theme in 2024-W44: a
# spread (3 new places where the history predicts 0.08), on a partner of
# their own (few tests a week, so the weekly FDR lets it through).
PLACE="Live Partner" REGION=National init_node l --role partner
start_node l "${FAST[@]}"
grep -q "^Week 2024-W10 (no digests are held yet)$" <<<"$(hls_at l patterns summary --week 2024-W10)" \
  || fail "a week's read on a node without digests: $(hls_at l patterns summary --week 2024-W10)"
key=$(hls_at l network key)
declare -A ID=() ADDR=()
ID[l]=$(hls_at l --json status | jq -r .node_id)
ADDR[l]=$(hls_at l --json status | jq -r .listening_on)
csv="$WORK/history.csv"
{
  echo "title,scale,stage,date,themes,consent,consent_by"
  for w in $(seq 1 44); do
    echo "Week $w drop-in,organisation,reflect,$(date -u -d "2024-01-01 + $(( (w - 1) * 7 )) days" +%F),housing,aggregate,lead"
  done
} >"$csv"
for n in a b c; do
  PLACE="Live $n" REGION="Live Region" init_node "$n" --network-key "$key"
  start_node "$n" "${FAST[@]}"
  hls_at "$n" import "$csv" >/dev/null || fail "import of the history at $n"
done
hls_at l feed subscribe live --theme live-theme >/dev/null
# hls itself in the background (not the hls_at function's subshell), so
# that the kill below reaches it
"$HLS" --home "$WORK/l" --json feed follow live >"$WORK/live.ndjson" 2>"$WORK/live.err" &
follower=$!
BACKGROUND_PIDS+=("$follower")
declare -A REC=()
for n in a b c; do
  REC[$n]=$(hls_at "$n" --json record add --title "Live record" --scale organisation --stage reflect \
    --theme live-theme --date 2024-10-28 --consent aggregate --consent-by lead | jq -r .id)
  hls_at "$n" peer add "${ADDR[l]}" "${ID[l]}" >/dev/null
done
live_spread() { hls_at l --json patterns --signal spread --theme live-theme | jq -e 'length == 1 and .[0].n_places == 3'; }
wait_for 60 live_spread || fail "the live places' spread pattern did not appear: $(hls_at l --json patterns --all)"
hls_at l --json patterns --theme live-theme --signal spread | jq -e '.[0].places | sort == ["Live a","Live b","Live c"]' \
  >/dev/null || fail "live pattern places"
live_id=$(hls_at l --json patterns --theme live-theme --signal spread | jq -r '.[0].id')
hls_at c record delete "${REC[c]}" >/dev/null
gone() { hls_at l --json patterns --all --signal spread --theme live-theme | jq -e 'length == 0'; }
wait_for 60 gone || fail "the spread pattern was not retracted after a place's digest dropped the theme"
hls_at l --json patterns show "$live_id" | jq -e '.state == "retracted" and (.live | not)' >/dev/null \
  || fail "the retracted pattern is shown as retracted"
grep -q "RETRACTED" <<<"$(hls_at l patterns show "$live_id")" || fail "retracted, in words"
grep -q "^No digest cells: the data no longer show a retracted pattern" \
  <<<"$(hls_at l patterns show "$live_id" --cells)" || fail "--cells of a retracted pattern says why there are none"
streamed() {
  jq -s -e --arg id "$live_id" '[.[] | select(.pattern.id == $id) | .change] == ["new", "retracted"]' "$WORK/live.ndjson"
}
wait_for 30 streamed || fail "the follower did not stream new then retracted: $(cat "$WORK/live.ndjson")"
kill "$follower"; wait "$follower" 2>/dev/null || true
# Found and retracted in the same week: in no list of the week's read, only counted.
sum=$(hls_at l --json patterns summary)
jq -e --arg id "$live_id" '.found_retracted >= 1 and all(.new.top[], .retracted.top[]; .id != $id)' <<<"$sum" \
  >/dev/null || fail "the pattern found and retracted in one week, in the summary: $sum"
grep -q "^Found and retracted again this week" <<<"$(hls_at l patterns summary)" || fail "found and retracted, in words"
pass "a live pattern: new when 3 places take a theme up, retracted when one drops it, streamed as it happened"

# --- the week's read nets a pattern's changes of the week -----------------------------------
# Events as a week of partial data can write them (copies of a real row but
# for their pattern's id, change and state): A is found live, retracted
# and found again already ended; B, known before the week, is retracted,
# found again and retracted.
before=$(hls_at p --json patterns summary)
stop_node p
python3 - "$WORK/p/hlsd.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = ("signal, theme, kind, theme2, kind2, week_from, week_to, n_places, scales, regions, summary, strength,"
        " region, places, at_ms, origins, week")
tmpl = db.execute("SELECT seq FROM pattern_events WHERE week = (SELECT max(week) FROM pattern_events)"
                  " ORDER BY seq LIMIT 1").fetchone()[0]
def event(pattern, change, live):
    db.execute(f"INSERT INTO pattern_events(id, change, live, {cols}) SELECT ?, ?, ?, {cols} FROM pattern_events"
               " WHERE seq = ?", (bytes.fromhex(pattern), change, live, tmpl))
for change, live in ((0, 1), (2, 1), (0, 0)):  # new, retracted, new (ended)
    event("00000000000000aa", change, live)
for change, live in ((2, 1), (0, 1), (2, 1)):  # retracted, new, retracted
    event("00000000000000bb", change, live)
db.commit()
PY
start_node p "${FAST[@]}"
wait_patterns p
after=$(hls_at p --json patterns summary)
jq -e -n --argjson b "$before" --argjson a "$after" '$a.week == $b.week and $a.new.count == $b.new.count
  and $a.found_ended == $b.found_ended + 1 and $a.found_retracted == $b.found_retracted
  and $a.retracted.count == $b.retracted.count + 1' >/dev/null \
  || fail "the week's read of changes that came back: before $before, after $after"
pass "patterns summary: a pattern found, retracted and found again ended counts as found ended; one known before, retracted at the end, as retracted"

for n in a b c l; do stop_node "$n"; done
# A follower whose node is gone for good (its directory removed) ends,
# saying so, instead of waiting for an hlsd that cannot come back.
"$HLS" --home "$WORK/p" feed follow all >/dev/null 2>"$WORK/gone.err" &
gone_follower=$!
BACKGROUND_PIDS+=("$gone_follower")
following_all() { hls_at p --json feed list | jq -e '.[] | select(.name == "all") | .followers == 1'; }
wait_for 20 following_all || fail "the last follower did not start"
stop_node p
mv "$WORK/p" "$WORK/p.moved"
ended() { ! kill -0 "$gone_follower" 2>/dev/null; }
wait_for 20 ended || fail "a follower of a node whose directory is gone did not end: $(cat "$WORK/gone.err")"
status=0
wait "$gone_follower" || status=$?
[ "$status" = 1 ] && grep -q "the node's directory $WORK/p is gone" "$WORK/gone.err" \
  || fail "a follower of a gone node: exit $status, $(cat "$WORK/gone.err")"
pass "a follower ends when its node's directory is gone"
