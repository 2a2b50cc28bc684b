#!/usr/bin/env bash
# The read side in pages (docs/control.md, "Pages", issue 15): a partner
# holding a few thousand items of generated places, with control frames of
# 64 KiB, lists every item, story and place once and in order whatever its
# --limit, in pages that fit a frame; raw requests get one page and a
# cursor, and a cursor that hlsd did not write is refused.
. "$(dirname "$0")/lib.sh"
: "${HLS_GEN_ITEMS:?HLS_GEN_ITEMS must name the hls_gen_items tool}"

"$HLS_GEN_ITEMS" --out "$WORK/gen" --places 60 --weeks 52 --themes 12 >/dev/null || fail "hls_gen_items"
init_node a --role partner
start_node a
hls_at a import-items "$WORK/gen" >/dev/null || fail "import-items"
# Frames of 64 KiB (the least allowed) from now on: pages must fit them.
stop_node a
start_node a --set limits.control_max_frame=64KiB
total=$(hls_at a --json status | jq .gossip.items)
[ "$total" -gt 2500 ] || fail "only $total items"

# --- hls: every row once, in order -----------------------------------------------
items=$(hls_at a --json items) || fail "hls items"
[ "$(jq length <<<"$items")" = "$total" ] || fail "items: $(jq length <<<"$items") of $total"
# In order of the origin's bytes (not of its base64 text), then seq.
python3 -c '
import base64, json, sys
keys = [(base64.b64decode(i["origin"][1:-8]), i["seq"]) for i in json.load(sys.stdin)]
sys.exit(0 if all(a < b for a, b in zip(keys, keys[1:])) else 1)' <<<"$items" ||
  fail "items: not in (origin, seq) order, or repeated"
[ "$(hls_at a --json items --limit 1234 | jq length)" = 1234 ] || fail "items --limit 1234"
[ "$(hls_at a --json items --limit 1234 | jq -c '[.[] | [.origin, .seq]]')" = "$(jq -c '[.[:1234][] | [.origin, .seq]]' <<<"$items")" ] ||
  fail "items --limit 1234 is not the first 1234"
[ "$(hls_at a items | wc -l)" = $((total + 1)) ] || fail "the items table: a header and a line per item"
stories_held=$(jq '[.[] | select(.type == "story" and .body == "held")] | length' <<<"$items")
[ "$(hls_at a --json items --type profile | jq length)" = "$(jq '[.[] | select(.type == "profile")] | length' <<<"$items")" ] ||
  fail "items --type profile"
pass "items: all $total in pages, in order, once; --limit and --type"

stories=$(hls_at a --json stories) || fail "hls stories"
[ "$(jq length <<<"$stories")" = "$stories_held" ] || fail "stories: $(jq length <<<"$stories") of $stories_held"
jq -e 'all(.[]; .id and .place and .title and (.themes | type == "array"))' <<<"$stories" >/dev/null ||
  fail "stories --json: objects with id, place, title, themes"
jq -e '[.[] | .published_at] as $t | $t == ($t | sort | reverse)' <<<"$stories" >/dev/null || fail "stories: newest first"
jq -e '[.[] | .id] | length == (unique | length)' <<<"$stories" >/dev/null || fail "stories: one row each"
theme=$(jq -r '.[0].themes[0].name' <<<"$stories")
want=$(jq --arg t "$theme" '[.[] | select(any(.themes[]; .name == $t)) | .id]' <<<"$stories")
[ "$(hls_at a --json stories --theme "$theme" | jq -c '[.[] | .id]')" = "$(jq -c . <<<"$want")" ] ||
  fail "stories --theme $theme: not the stories with that theme, in order"
place=$(jq -r '.[0].place' <<<"$stories")
want=$(jq --arg p "$place" '[.[] | select(.place == $p) | .id]' <<<"$stories")
[ "$(hls_at a --json stories --place "$place" | jq -c '[.[] | .id]')" = "$(jq -c . <<<"$want")" ] ||
  fail "stories --place $place"
want=$(jq --arg p "$place" --arg t "$theme" '[.[] | select(.place == $p and any(.themes[]; .name == $t)) | .id]' <<<"$stories")
[ "$(hls_at a --json stories --place "$place" --theme "$theme" | jq -c '[.[] | .id]')" = "$(jq -c . <<<"$want")" ] ||
  fail "stories --place --theme"
[ "$(hls_at a --json stories --limit 7 | jq -c '[.[] | .id]')" = "$(jq -c '[.[:7][] | .id]' <<<"$stories")" ] ||
  fail "stories --limit 7"
pass "stories: all $stories_held newest first, by theme, by place, both"

places=$(hls_at a --json places) || fail "hls places"
[ "$(jq length <<<"$places")" = 61 ] || fail "places: $(jq length <<<"$places") of 61"
[ "$(jq '[.[] | .items] | add' <<<"$places")" = "$total" ] || fail "places: the items do not add up to $total"
[ "$(hls_at a --json places --limit 3 | jq -c '[.[] | .node_id]')" = "$(jq -c '[.[:3][] | .node_id]' <<<"$places")" ] ||
  fail "places --limit 3"
pass "places: 61, their items adding up to $total"

# --- the control method: one page and a cursor ---------------------------------------
p1=$(ctl_at a items '{"limit": 5}') || fail "items limit 5"
[ "$(jq '.items | length' <<<"$p1")" = 5 ] && [ "$(jq -r '.next | type' <<<"$p1")" = string ] || fail "a page of 5: $p1"
next=$(jq -r .next <<<"$p1")
p2=$(ctl_at a items "{\"limit\": 5, \"after\": \"$next\"}") || fail "the next page"
[ "$(jq -c '[.items[] | [.origin, .seq]]' <<<"$p2")" = "$(jq -c '[.[5:10][] | [.origin, .seq]]' <<<"$items")" ] ||
  fail "the second page is not rows 6 to 10"
big=$(ctl_at a items '{"limit": 100000}') || fail "items limit 100000"
[ "$(jq '.items | length' <<<"$big")" -le 1000 ] && [ "$(jq -r '.next | type' <<<"$big")" = string ] ||
  fail "a page asked for 100000 items is more than 1000, or the last"
s1=$(ctl_at a stories '{}') || fail "stories"
n1=$(jq '.stories | length' <<<"$s1")
[ "$n1" -ge 1 ] && [ "$n1" -lt 250 ] && [ "$(jq -r '.next | type' <<<"$s1")" = string ] ||
  fail "a page of stories in a 64 KiB frame: $n1 stories, next $(jq .next <<<"$s1")"
last=$(ctl_at a places '{"limit": 1000}') || fail "places"
[ "$(jq '.places | length' <<<"$last")" = 61 ] && [ "$(jq .next <<<"$last")" = null ] || fail "the only page of places"
story_cursor=$(jq -r .next <<<"$s1")
expect_ctl_fail() {
  local want=$1 out
  shift
  out=$(ctl_at a "$@" 2>&1) && fail "control $*: accepted"
  [[ "$out" =~ $want ]] || fail "control $*: got '$out', want /$want/"
}
expect_ctl_fail "^invalid_argument: after: not a cursor of this listing" items '{"after": "not a cursor"}'
expect_ctl_fail "^invalid_argument: after: not a cursor of this listing" items "{\"after\": \"$story_cursor\"}"
expect_ctl_fail "^invalid_argument: after: not a cursor of this listing" places "{\"after\": \"$next\"}"
expect_ctl_fail "^invalid_argument: after: not a cursor of this listing" stories "{\"after\": \"${story_cursor}A\"}"
expect_ctl_fail "^invalid_argument: after: " stories '{"after": ""}'
expect_ctl_fail "^invalid_argument: after: " stories '{"after": 5}'
expect_ctl_fail "^too_large: after: 700 bytes" items "{\"after\": \"$(printf 'A%.0s' $(seq 700))\"}"
[ "$(hls_at a --json status | jq .gossip.items)" = "$total" ] || fail "hlsd after bad cursors"
pass "control: a page and a cursor; the cursor goes on; bad cursors are invalid_argument"

# --help prints the usage and stops: no node needed, nothing listed.
for cmd in items stories places; do
  out=$("$HLS" --home "$WORK/nowhere" "$cmd" --limit 3 --help) || fail "hls $cmd --help exits $?"
  [[ $out == "Usage: hls $cmd"* ]] && [ "$(wc -l <<<"$out")" -lt 30 ] || fail "hls $cmd --help: $out"
done
pass "--help of the listings prints their usage only"

stop_node a
