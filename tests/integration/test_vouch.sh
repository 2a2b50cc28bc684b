#!/usr/bin/env bash
# Vouches (issue 18, docs/protocol.md 4.6) on real daemons. A partner (l)
# and three places gossip; two of the places call themselves "Live a":
# hls places flags the name on both. The partner's own role does not count
# until two vouched places vouch for it as a partner. The three places take
# up a theme (a spread of 3 places, the signal's minimum): hls patterns
# shows it, --vouched not while fewer than 3 of them are vouched, and again
# once they are; so does a feed subscribed --vouched (held back, then sent
# late to a streaming follower), while one without gets it all along.
# Members that send a vouch for themselves or a malformed
# one are refused and the violation is counted against them; a good vouch
# from a member is taken.
. "$(dirname "$0")/lib.sh"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse binary}"

FAST=(--set publish.delay=0 --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)

PLACE="Live Partner" REGION=National init_node l --role partner
start_node l "${FAST[@]}" --log-level debug --set network.reconnect_min=30s
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
  name="Live $n"
  [ "$n" = c ] && name="Live a" # c claims a's name
  PLACE="$name" REGION="Live Region" init_node "$n" --network-key "$key"
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  hls_at "$n" import "$csv" >/dev/null || fail "import of the history at $n"
  hls_at "$n" record add --title "Live record" --scale organisation --stage reflect --theme live-theme \
    --theme second-theme --date 2024-10-28 --consent aggregate --consent-by lead >/dev/null
  hls_at "$n" peer add "${ADDR[l]}" "${ID[l]}" >/dev/null
done

# --- a name claimed by two nodes -----------------------------------------------------
place_of() { hls_at l --json places | jq -c --arg id "$1" '.[] | select(.node_id == $id)'; }
all_profiles() { [ "$(hls_at l --json places | jq '[.[] | select(.place != null)] | length')" = 4 ]; }
wait_for 60 all_profiles || fail "l did not get every profile: $(hls_at l --json places)"
for n in a c; do
  other=$([ "$n" = a ] && echo c || echo a)
  place_of "${ID[$n]}" | jq -e --arg o "${ID[$other]}" '.name_also_claimed_by | map(.node_id) == [$o]' >/dev/null \
    || fail "the name of $n is not flagged as also claimed by $other: $(place_of "${ID[$n]}")"
done
place_of "${ID[b]}" | jq -e '.name_also_claimed_by == [] and (.vouched | not) and .vouched_by == []' >/dev/null \
  || fail "b: $(place_of "${ID[b]}")"
[ "$(hls_at l places | grep -c 'Live a (name also claimed)')" = 2 ] || fail "hls places: $(hls_at l places)"
pass "a place name claimed by two nodes is flagged on both (hls places, --json)"

# --- a self-declared partner role does not count until K vouches ---------------------
place_of "${ID[l]}" | jq -e '.role == "partner" and .role_counts == false and .vouched and .partner_vouches == 0' \
  >/dev/null || fail "l's own partner role counts unvouched: $(place_of "${ID[l]}")"
hls_at l places | grep -q 'partner (not counted)' || fail "hls places does not mark the role: $(hls_at l places)"
expect_fail 1 "cannot vouch for itself" hls_at l vouch "${ID[l]}"
expect_fail 1 "no profile of .* is held" hls_at a vouch "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519"
expect_fail 1 "no vouch" hls_at l unvouch "${ID[a]}"
hls_at l vouch "${ID[a]}" | grep -q "Vouched for ${ID[a]}: Live a (Live Region), role place" || fail "hls vouch"
hls_at l vouch "${ID[b]}" >/dev/null || fail "hls vouch b"
# a and b hold l's profile (their peer); each vouches for it as a partner.
partner_vouches() { [ "$(place_of "${ID[l]}" | jq .partner_vouches)" = "$1" ]; }
hls_at a vouch "${ID[l]}" --role partner >/dev/null || fail "a vouches for l"
wait_for 30 partner_vouches 1 || fail "a's vouch did not reach l: $(place_of "${ID[l]}")"
place_of "${ID[l]}" | jq -e '.role_counts == false' >/dev/null || fail "one vouch of two made the role count"
hls_at b vouch "${ID[l]}" --role partner >/dev/null || fail "b vouches for l"
wait_for 30 partner_vouches 2 || fail "b's vouch did not reach l: $(place_of "${ID[l]}")"
place_of "${ID[l]}" | jq -e '.role_counts and (.vouched_by | map(.place) | sort == ["Live a", "Live b"])' >/dev/null \
  || fail "after two vouches: $(place_of "${ID[l]}")"
hls_at l places | grep -q 'partner (not counted)' && fail "still not counted: $(hls_at l places)"
expect_fail 1 "says it is a place" hls_at l vouch "${ID[c]}" --role partner
pass "a partner role counts after trust.partner_vouches (2) vouched places vouched for it; bad vouches refused"

# --- patterns --vouched --------------------------------------------------------------
spread() { hls_at l --json patterns --signal spread --theme live-theme "$@"; }
live_spread() { spread | jq -e 'length == 1 and .[0].n_places == 3'; }
wait_for 60 live_spread || fail "the live places' spread pattern did not appear: $(hls_at l --json patterns --all)"
spread --vouched | jq -e 'length == 0' >/dev/null || fail "--vouched lists a spread of 2 vouched places: $(spread --vouched)"
pattern_id=$(spread | jq -r '.[0].id')
# a node that vouches for no place is told --vouched selects nothing
grep -q "^hls: this node vouches for no place, so --vouched selects nothing" \
  <<<"$(hls_at c patterns --vouched 2>&1 >/dev/null)" || fail "no note for --vouched without vouches"
[ "$(hls_at c --json patterns --vouched --limit 0 2>&1)" = "[]" ] || fail "--json --vouched without vouches"
[ -z "$(hls_at l patterns --vouched 2>&1 >/dev/null)" ] || fail "a note for --vouched with vouches"

# feed subscribe --vouched: the same rule, judged when the feed hands an
# event out. "trusted" holds the spread back while c is unvouched (its
# cursor passes it: follow --no-wait acknowledges up to where it stopped);
# "everyone" gets it regardless.
hls_at l feed subscribe trusted --signal spread --theme live-theme --vouched | grep -q "Only vouched places count" \
  || fail "feed subscribe --vouched does not say so"
hls_at l feed subscribe everyone --signal spread --theme live-theme >/dev/null || fail "feed subscribe everyone"
# "idle" is the same as "trusted", read only with --no-wait; "two" holds
# back both themes' spreads
hls_at l feed subscribe idle --signal spread --theme live-theme --vouched >/dev/null || fail "feed subscribe idle"
hls_at l feed subscribe two --signal spread --vouched >/dev/null || fail "feed subscribe two"
feed_of() { hls_at l --json feed list | jq -c --arg n "$1" '.[] | select(.name == $n)'; }
feed_of trusted | jq -e '.filter.vouched == true and .events_after_cursor == 0' >/dev/null \
  || fail "feed list, trusted: $(feed_of trusted)"
feed_of everyone | jq -e '(.filter | has("vouched") | not) and .events_after_cursor >= 1' >/dev/null \
  || fail "feed list, everyone: $(feed_of everyone)"
hls_at l feed list | grep -E '^trusted +.*vouched=yes' >/dev/null || fail "hls feed list: $(hls_at l feed list)"
everyone=$(hls_at l --json feed follow everyone --no-wait)
jq -e -s --arg id "$pattern_id" 'map(select(.pattern.id == $id)) | length >= 1' <<<"$everyone" >/dev/null \
  || fail "the feed without --vouched did not get the spread: $everyone"
last_event=$(jq -c -s --arg id "$pattern_id" 'map(select(.pattern.id == $id)) | last | {seq, change}' <<<"$everyone")
[ -z "$(hls_at l --json feed follow trusted --no-wait)" ] || fail "the --vouched feed got the spread of 2 vouched places"
[ -z "$(hls_at l --json feed follow idle --no-wait)" ] || fail "the idle --vouched feed got the spread of 2 vouched places"
second_spread() { hls_at l --json patterns --signal spread --theme second-theme | jq -e 'length == 1'; }
wait_for 30 second_spread || fail "the second theme's spread: $(hls_at l --json patterns --all)"
[ -z "$(hls_at l --json feed follow two --no-wait)" ] || fail "the feed two got a spread of 2 vouched places"
hls_at l --json feed events trusted | jq -e 'length == 0' >/dev/null || fail "feed events, trusted, before the vouch"
# A follower streaming when c is vouched gets what the feed held back:
# the pattern's latest event, late (its seq is behind the cursor).
"$HLS" --home "$WORK/l" --json feed follow trusted >"$WORK/trusted.out" 2>"$WORK/trusted.err" &
follower=$!
BACKGROUND_PIDS+=("$follower")
following() { feed_of trusted | jq -e '.followers == 1'; }
wait_for 10 following || fail "the trusted follower did not start: $(feed_of trusted)"
[ ! -s "$WORK/trusted.out" ] || fail "the follower got the spread before c was vouched: $(cat "$WORK/trusted.out")"
hls_at l vouch "${ID[c]}" >/dev/null || fail "hls vouch c"
spread --vouched | jq -e 'length == 1' >/dev/null || fail "--vouched, all 3 vouched: $(spread --vouched)"
got_late() { [ "$(jq -c -s 'map({seq, change})' "$WORK/trusted.out")" = "[$last_event]" ]; }
wait_for 30 got_late || fail "the streaming follower did not get the spread once c was vouched: $(cat "$WORK/trusted.out")"
kill -TERM "$follower" 2>/dev/null || true
wait "$follower" 2>/dev/null || true
hls_at l --json feed events trusted | jq -e --arg id "$pattern_id" 'length >= 1 and all(.pattern.id == $id)' >/dev/null \
  || fail "feed events, trusted, after the vouch: $(hls_at l --json feed events trusted)"
[ -z "$(hls_at l --json feed follow trusted --no-wait)" ] || fail "the held back event came twice"
# Held back behind the cursor and vouched now: feed list counts it as waiting.
feed_of idle | jq -e '.events_after_cursor == 1' >/dev/null || fail "feed list, idle, after the vouch: $(feed_of idle)"
[ "$(hls_at l --json feed follow idle --no-wait | jq -c -s 'map({seq, change})')" = "[$last_event]" ] \
  || fail "the idle feed's follow after the vouch"
feed_of idle | jq -e '.events_after_cursor == 0' >/dev/null || fail "feed list, idle, once followed: $(feed_of idle)"
# Two held back, sent late: --limit 1 takes one, the next follow the other.
feed_of two | jq -e '.events_after_cursor == 2' >/dev/null || fail "feed list, two, after the vouch: $(feed_of two)"
first=$(hls_at l --json feed follow two --no-wait --limit 1)
jq -e -s 'length == 1 and .[0].late == true' <<<"$first" >/dev/null || fail "feed two, --limit 1: $first"
rest=$(hls_at l --json feed follow two --no-wait)
jq -e -s --argjson f "$first" 'length == 1 and .[0].late and .[0].seq != $f.seq
  and ([.[0].pattern.theme, $f.pattern.theme] | sort) == ["live-theme", "second-theme"]' <<<"$rest" >/dev/null \
  || fail "feed two after --limit 1: $rest (first $first)"
[ -z "$(hls_at l --json feed follow two --no-wait)" ] || fail "feed two repeats a late event"
pass "feed subscribe --vouched: the spread is held back while a place is unvouched, sent late once it is vouched"

hls_at l --json unvouch "${ID[c]}" | jq -e '.withdrawn' >/dev/null || fail "hls unvouch c"
spread --vouched | jq -e 'length == 0' >/dev/null || fail "--vouched after unvouch: $(spread --vouched)"
spread | jq -e 'length == 1' >/dev/null || fail "without --vouched the pattern stays"
# After the unvouch: judged again at each hand-out, nothing is called back.
hls_at l --json feed events trusted | jq -e 'length == 0' >/dev/null || fail "feed events, trusted, after the unvouch"
[ -z "$(hls_at l --json feed follow trusted --no-wait --from 0)" ] || fail "a replay of trusted after the unvouch"
hls_at l --json feed follow everyone --no-wait --from 0 | jq -e -s --arg id "$pattern_id" \
  'map(select(.pattern.id == $id)) | length >= 1' >/dev/null || fail "everyone after the unvouch"
pass "after an unvouch the --vouched feed holds the spread back again; the feed without it is unchanged"
hls_at l --json vouch list | jq -e --arg c "${ID[c]}" \
  '[.vouches[] | select(.subject == $c)] | length == 1 and .[0].withdrawn' >/dev/null \
  || fail "vouch list: $(hls_at l --json vouch list)"
pass "hls patterns --vouched leaves out a spread whose vouched places fall below its minimum"

# --- bad vouches from a member: refused and counted ---------------------------------
for m in self malformed good; do init_node "m_$m" --network-key "$key"; done
for m in self malformed; do
  mid=$("$PEER_ABUSE" id "$WORK/m_$m")
  "$PEER_ABUSE" vouch "${ADDR[l]}" "${ID[l]}" "$WORK/m_$m" "$m" >/dev/null || fail "peer_abuse vouch $m"
  violations() { [ "$(hls_at l --json peer list | jq --arg id "$1" '.[] | select(.node_id == $id) | .violations')" = 1 ]; }
  wait_for 10 violations "$mid" || fail "the $m vouch was not counted against its sender: $(hls_at l --json peer list)"
  grep -q "event=peer_bad_frame peer=$mid " "$WORK/l.log" || fail "the $m vouch is not logged as a bad frame"
  [ -z "$(place_of "$mid")" ] || fail "an item of the $m vouch's frame was kept"
done
gid=$("$PEER_ABUSE" id "$WORK/m_good")
"$PEER_ABUSE" vouch "${ADDR[l]}" "${ID[l]}" "$WORK/m_good" good >/dev/null || fail "peer_abuse vouch good"
hls_at l --json vouch list | jq -e --arg g "$gid" '[.vouches[] | select(.voucher == $g)] | length == 1 and (.[0].counts | not)' \
  >/dev/null || fail "the good vouch was not taken, or counts from an unvouched voucher: $(hls_at l --json vouch list)"
pass "a vouch for oneself or a malformed one is refused and counted against the member; a good one is taken"

for n in a b c l; do stop_node "$n"; done
