#!/usr/bin/env bash
# Key succession (issue 18, docs/protocol.md 4.9) on real daemons. A
# partner (l, network.accept=listed: it takes only the places it listed)
# and three places (a, b, c) gossip; the three take up a theme, a spread
# pattern. a shares a story, then runs hls identity rotate: its old key
# signs a successor naming the new one. l follows a's new key (the listed
# entry carries over), hls places shows one place "Succ a" with its
# earlier key, a's story goes on under the new key and its old items stay
# attributed to the old key, the pattern keeps its id with 3 places (a
# counted once), the digest of the same week rounds as before (the
# disclosure key carried over), and a new digest and story under the new
# key join the place's. Consent withdrawn after the move erases both
# copies of the story (the kept old key signs a tombstone after its
# successor; nobody sees a fork). A member's forged successor (signed by the wrong
# key) and one naming itself are refused and counted against the member;
# a good one is taken.
. "$(dirname "$0")/lib.sh"
: "${PEER_ABUSE:?PEER_ABUSE must name the peer_abuse binary}"

FAST=(--set publish.delay=0 --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)

PLACE="Succ Partner" REGION=National init_node l --role partner
start_node l "${FAST[@]}" --set network.accept=listed
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
  PLACE="Succ $n" REGION="Succ Region" init_node "$n" --network-key "$key"
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  hls_at "$n" import "$csv" >/dev/null || fail "import of the history at $n"
  hls_at "$n" record add --title "Live record" --scale organisation --stage reflect --theme live-theme \
    --date 2024-10-28 --consent aggregate --consent-by lead >/dev/null
  hls_at l peer add 127.0.0.1:1 "${ID[$n]}" >/dev/null # listed (l never reaches that address: they dial l)
  hls_at "$n" peer add "${ADDR[l]}" "${ID[l]}" >/dev/null
done
# a's person-scale cells: the keyed rounding shows in them (docs/consent.md).
for i in $(seq 1 13); do
  hls_at a record add --title "Person $i" --scale person --stage reflect --theme live-theme --date 2024-10-29 \
    --consent aggregate --consent-by lead >/dev/null
done
story() {
  local r
  r=$(hls_at a --json record add --title "$1" --scale place --stage reflect --theme live-theme --consent network \
    --consent-by lead --date "${2:-2024-10-30}" --tried "We tried it" --learnt "$1" | jq -r .id)
  hls_at a share approve "$r" --by lead >/dev/null
  echo "$r"
}
before_id=$(story "Before the rotation")

place_of() { hls_at l --json places | jq -c --arg id "$1" '.[] | select(.node_id == $id)'; }
spread() { hls_at l --json patterns --signal spread --theme live-theme; }
live_spread() { spread | jq -e 'length == 1 and .[0].n_places == 3'; }
wait_for 60 live_spread || fail "the spread pattern did not appear: $(hls_at l --json patterns --all)"
pattern_id=$(spread | jq -r '.[0].id')
stories_of() { hls_at l --json stories | jq -r --arg p "$1" '[.[] | select(.place == $p) | .title] | sort | join("|")'; }
has_story() { [ "$(stories_of "Succ a")" = "$1" ]; }
wait_for 30 has_story "Before the rotation" || fail "a's story did not reach l: $(hls_at l --json stories)"
# The week's digest of a, as l holds it: its person-scale cell.
person_cell() {
  hls_at l --json patterns show "$pattern_id" | jq -c --arg p "Succ a" \
    '[.cells[] | select(.place == $p and .week == "2024-W44")] | map({count, withheld, scales}) | sort'
}
before_cells=$(person_cell)
[ -n "$before_cells" ] && [ "$before_cells" != "[]" ] || fail "no cell of a in the pattern: $(hls_at l --json patterns show "$pattern_id")"
pass "three places make a spread pattern ($pattern_id); a's story reached l"

# l vouches for a (its old key): the new key inherits it.
hls_at l vouch "${ID[a]}" >/dev/null || fail "l vouches for a"

# --- the rotation -------------------------------------------------------------------
expect_fail 2 "Say --yes" hls_at a identity rotate
out=$(hls_at a --json identity rotate --yes) || fail "hls identity rotate: $out"
old=${ID[a]}
new=$(jq -r .node_id <<<"$out")
[ "$(jq -r .old_node_id <<<"$out")" = "$old" ] && [ "$new" != "$old" ] || fail "rotate said: $out"
[ "$(hls_at a --json status | jq -r .node_id)" = "$new" ] || fail "a's status does not show the new key"
retired=$(jq -r .retired_key_file <<<"$out")
[ -f "$WORK/a/$retired" ] && [ "$(stat -c %a "$WORK/a/$retired")" = 600 ] || fail "the old key file $retired (0600)"
[ "$(stat -c %a "$WORK/a/disclosure.key")" = 600 ] || fail "disclosure.key (0600)"
grep -q "event=identity_rotated old=$old new=$new" "$WORK/a.log" || fail "a did not log the rotation"
# The kept disclosure key is the old key's (protocol.md 4.2: BLAKE2b-256 keyed
# with the old seed over "hls-sdc-2 key"), computed here independently.
python3 - "$WORK/a/$retired" "$WORK/a/disclosure.key" <<'PY' || fail "disclosure.key is not derived from the old key's seed"
import base64, hashlib, sys
line = lambda p: [l for l in open(p).read().splitlines() if l and not l.startswith("#")][0]
seed = base64.b64decode(line(sys.argv[1]))[:32]
want = hashlib.blake2b(b"hls-sdc-2 key", key=seed, digest_size=32).digest()
sys.exit(0 if base64.b64decode(line(sys.argv[2])) == want else 1)
PY
# the successor item, listed by its type
hls_at a --json items --origin "$old" --type successor | jq -e 'length == 1 and .[0].type == "successor"' >/dev/null ||
  fail "items --type successor: $(hls_at a --json items --origin "$old" --type successor)"
pass "hls identity rotate: a new key, the old one kept as $retired, the disclosure key kept"

# l follows the new key: the successor carried a's listing over.
follows() { place_of "$new" | jq -e '.place == "Succ a" and (.formerly == ['"$(jq -n --arg o "$old" '$o')"'])'; }
wait_for 60 follows || fail "l does not follow a's new key: $(hls_at l --json places)"
grep -q "event=peer_succeeded old=$old new=$new" "$WORK/l.log" || fail "l did not carry a's listing over"
hls_at l --json peer list | jq -e --arg n "$new" '.[] | select(.node_id == $n) | .state == "connected"' >/dev/null \
  || wait_for 30 sh -c "'$HLS' --home '$WORK/l' --json peer list | jq -e --arg n '$new' '.[] | select(.node_id == \$n) | .state == \"connected\"'" \
  || fail "a's new key is not connected to l (accept=listed): $(hls_at l --json peer list)"
place_of "$old" | jq -e --arg n "$new" '.succeeded_by == $n and .place == "Succ a"' >/dev/null \
  || fail "the old key's row: $(place_of "$old")"
[ "$(hls_at l --json places | jq '[.[] | select(.place == "Succ a" and .succeeded_by == null)] | length')" = 1 ] \
  || fail "more than one current place Succ a: $(hls_at l --json places)"
place_of "$new" | jq -e '.name_also_claimed_by == []' >/dev/null || fail "a's keys claim its name twice: $(place_of "$new")"
place_of "$new" | jq -e '.vouched and .place_root == "'"$old"'"' >/dev/null \
  || fail "a's new key did not inherit the vouch of the old one: $(place_of "$new")"
hls_at l places | grep -q 'Succ a (earlier key)' && hls_at l places | grep -q 'Succ a (new key)' \
  || fail "hls places: $(hls_at l places)"
hls_at l --json peer list | jq -e --arg o "$old" 'all(.[]; .node_id != $o or (.listed | not))' >/dev/null \
  || fail "l still lists a's old key beside its new one: $(hls_at l --json peer list)"
pass "l follows a's new key (listed entry carried over); hls places shows one place with its earlier key"

# Stories: the old one stays the old key's; the place's story goes on under the new key.
origins_of() { hls_at l --json stories | jq -r --arg t "$1" '[.[] | select(.title == $t) | .origin] | sort | join(" ")'; }
republished() { [ "$(origins_of "Before the rotation")" = "$(printf '%s\n' "$old" "$new" | sort | tr '\n' ' ' | sed 's/ $//')" ]; }
wait_for 30 republished || fail "the story is not held under both keys: $(hls_at l --json stories)"
story "After the rotation" 2024-11-06 >/dev/null
wait_for 30 has_story "After the rotation|Before the rotation|Before the rotation" \
  || fail "a's new story: $(stories_of "Succ a")"
[ "$(origins_of "After the rotation")" = "$new" ] || fail "the new story's origin: $(origins_of "After the rotation")"
pass "stories go on under the new key; the old items stay attributed to the old key"


# Patterns: the same pattern, a counted once; the same rounding of the same cells.
new_digest() { hls_at l --json items --origin "$new" --type digest | jq -e 'length > 0'; }
wait_for 30 new_digest || fail "no digest of a's new key at l: $(hls_at l --json items --origin "$new")"
same_pattern() { spread | jq -e --arg id "$pattern_id" 'length == 1 and .[0].id == $id and .[0].n_places == 3'; }
wait_for 30 same_pattern || fail "the pattern after the rotation: $(spread)"
wait_for 30 sh -c "[ \"\$('$HLS' --home '$WORK/l' --json patterns show '$pattern_id' | jq -r '[.cells[] | select(.place == \"Succ a\" and .week == \"2024-W44\") | .item] | unique | .[0]' | cut -d: -f1)\" = '$new' ]" \
  || fail "the pattern's cell of a is not the new key's digest: $(hls_at l --json patterns show "$pattern_id")"
[ "$(person_cell)" = "$before_cells" ] || fail "the same cells round differently under the new key: $before_cells -> $(person_cell)"
spread | jq -e '[.[0].places[] | select(. == "Succ a")] | length == 1' >/dev/null || fail "a counted twice: $(spread)"
for k in "$old" "$new"; do
  hls_at l --json patterns --signal spread --theme live-theme --place "$k" | jq -e --arg id "$pattern_id" '.[0].id == $id' \
    >/dev/null || fail "patterns --place with a's key $k: $(hls_at l --json patterns --place "$k")"
done
# A new digest under the new key (a record more, the same week).
seq_before=$(hls_at l --json items --origin "$new" --type digest | jq 'map(.seq) | max')
hls_at a record add --title "Live record 2" --scale organisation --stage reflect --theme live-theme \
  --date 2024-10-28 --consent aggregate --consent-by lead >/dev/null
newer_digest() { [ "$(hls_at l --json items --origin "$new" --type digest | jq 'map(.seq) | max')" -gt "$seq_before" ]; }
wait_for 30 newer_digest || fail "a's new digest did not reach l"
wait_for 30 same_pattern || fail "the pattern after a new digest under the new key: $(spread)"
pass "the pattern keeps its id with a counted once; the week's cells round as before; a new digest joins it"

# Consent withdrawn after the move: the old key (kept) erases its copy in
# its closed chain, the new key its own: l holds neither body.
hls_at a consent withdraw "$before_id" >/dev/null || fail "consent withdraw"
gone() { [ "$(stories_of "Succ a")" = "After the rotation" ]; }
wait_for 30 gone || fail "the withdrawn story is still held at l: $(hls_at l --json stories)"
hls_at l --json items --origin "$old" --type tombstone | jq -e 'length == 1' >/dev/null \
  || fail "no tombstone of the old key at l: $(hls_at l --json items --origin "$old")"
grep -q "event=story_erased key=retired" "$WORK/a.log" || fail "a did not log the old key's erasure"
place_of "$old" | jq -e '.succeeded_by != null' >/dev/null || fail "the old key's tombstone forked it at l: $(place_of "$old")"
hls_at l --json status | jq -e '.gossip.forks | length == 0' >/dev/null || fail "a fork at l: $(hls_at l --json status | jq .gossip.forks)"
pass "consent withdrawn after the move erases the old key's copy too (a tombstone after its successor)"

[ "$(hls_at a --json chain | jq .seq)" -ge 1 ] || fail "a's new chain"

# --- a rotation that stops half way finishes at the next start ---------------------
# (hlsd --test-clock with HLS_TEST_ROTATE_STOP=STEP dies after that step)
PLACE="Succ e" REGION="Succ Region" init_node e --network-key "$key"
start_e() { HLS_TEST_ROTATE_STOP=${1:-} start_node e "${FAST[@]}" --test-clock "$(date +%s)"; }
start_e successor
e0=$(hls_at e --json status | jq -r .node_id)
hls_at l peer add 127.0.0.1:1 "$e0" >/dev/null
hls_at e peer add "${ADDR[l]}" "${ID[l]}" >/dev/null
wait_for 30 sh -c "[ -n \"\$('$HLS' --home '$WORK/l' --json places | jq -r --arg e '$e0' '.[] | select(.node_id == \$e and .place != null) | .node_id')\" ]" \
  || fail "e's profile did not reach l"
hls_at e identity rotate --yes >/dev/null 2>&1 && fail "hls identity rotate came back from a node that died"
wait "${DAEMON_PID[e]}" || true; unset "DAEMON_PID[e]"
[ -f "$WORK/e/secret.key.new" ] || fail "no staged key after a stop after the successor"
start_e files
e1=$(hls_at e --json status | jq -r .node_id)
[ "$e1" != "$e0" ] || fail "the move did not finish at the next start"
grep -q "event=identity_rotation_finished step=files old=$e0 new=$e1" "$WORK/e.log" || fail "e did not finish the files"
[ ! -e "$WORK/e/secret.key.new" ] || fail "the staged key is left behind"
wait_for 30 sh -c "'$HLS' --home '$WORK/l' --json places | jq -e --arg o '$e0' --arg n '$e1' '.[] | select(.node_id == \$n) | .formerly == [\$o]'" \
  || fail "l does not follow e's finished move: $(hls_at l --json places)"
# Again, stopped after the key files and before the store.
hls_at e identity rotate --yes >/dev/null 2>&1 && fail "hls identity rotate came back from a node that died"
wait "${DAEMON_PID[e]}" || true; unset "DAEMON_PID[e]"
start_e
e2=$(hls_at e --json status | jq -r .node_id)
[ "$e2" != "$e1" ] || fail "the second move"
grep -q "event=identity_rotation_finished step=store" "$WORK/e.log" || fail "e did not finish the store"
wait_for 30 sh -c "'$HLS' --home '$WORK/l' --json places | jq -e --arg n '$e2' '.[] | select(.node_id == \$n) | (.formerly | length) == 2 and .place == \"Succ e\"'" \
  || fail "l does not follow e's second move: $(hls_at l --json places)"
stop_node e
pass "a rotation stopped after the successor, or after the key files, finishes at the next start; peers follow two moves"

# --- forged successors from a member: refused and counted ------------------------------
for m in forged self good; do init_node "m_$m" --network-key "$key"; done
for m in forged self good; do
  mid=$("$PEER_ABUSE" id "$WORK/m_$m")
  hls_at l peer add 127.0.0.1:1 "$mid" >/dev/null # accept=listed
done
for m in forged self; do
  mid=$("$PEER_ABUSE" id "$WORK/m_$m")
  "$PEER_ABUSE" successor "${ADDR[l]}" "${ID[l]}" "$WORK/m_$m" "$m" >/dev/null || fail "peer_abuse successor $m"
  violations() { [ "$(hls_at l --json peer list | jq --arg id "$1" '.[] | select(.node_id == $id) | .violations')" = 1 ]; }
  wait_for 10 violations "$mid" || fail "the $m successor was not counted against its sender: $(hls_at l --json peer list)"
  grep -q "event=peer_bad_frame peer=$mid " "$WORK/l.log" || fail "the $m successor is not logged as a bad frame"
  [ -z "$(place_of "$mid")" ] || fail "an item of the $m successor's frame was kept"
done
gid=$("$PEER_ABUSE" id "$WORK/m_good")
"$PEER_ABUSE" successor "${ADDR[l]}" "${ID[l]}" "$WORK/m_good" good >/dev/null || fail "peer_abuse successor good"
place_of "$gid" | jq -e '.succeeded_by != null' >/dev/null || fail "the good successor was not taken: $(place_of "$gid")"
pass "a successor signed by the wrong key, or naming its own key, is refused and counted; a good one is taken"

for n in a b c l; do stop_node "$n"; done
