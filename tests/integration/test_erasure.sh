#!/usr/bin/env bash
# Erasure is physical: once a story is withdrawn (or its record deleted), its
# text is in no file of the store (hlsd.db, hlsd.db-wal, hlsd.db-shm) of any
# node within seconds, also on a node killed (SIGKILL) right after it erased
# the body and started again.
#   a - b - c in a line; a publishes a network story with unique text, all
#   hold it; a withdraws consent; b and c erase the body; c is killed as
#   soon as it has; then the text is searched for in every file.
. "$(dirname "$0")/lib.sh"

FAST=(--set publish.delay=1h --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
init_node c --network-key "$key"
declare -A ID=() ADDR=()
for n in a b c; do
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
hls_at a peer add "${ADDR[b]}" "${ID[b]}" >/dev/null
hls_at b peer add "${ADDR[c]}" "${ID[c]}" >/dev/null

# Text no other part of the store can hold by chance.
MARK="Zyxwvut-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
id=$(hls_at a --json record add --title "Story $MARK" --scale organisation --stage reflect --theme housing \
  --tried "We tried $MARK at the library" --learnt "We learnt $MARK" --consent network --consent-by lead | jq -r .id)
hls_at a share approve "$id" --by lead >/dev/null
seq=$(hls_at a --json status | jq .chain.seq)
body_at() { hls_at "$1" --json items --origin "${ID[a]}" | jq -r --argjson s "$seq" '.[] | select(.seq == $s) | .body'; }
body_is() { [ "$(body_at "$1")" = "$2" ]; }
for n in b c; do wait_for 20 body_is "$n" held || fail "$n did not get the story"; done

# files_with NODE: the store files of NODE that hold the text.
files_with() {
  local f found=""
  for f in "$WORK/$1/hlsd.db" "$WORK/$1/hlsd.db-wal" "$WORK/$1/hlsd.db-shm"; do
    [ -f "$f" ] && grep -q -a -F "$MARK" "$f" && found="$found ${f##*/}"
  done
  echo "$found"
}
none_with() { [ -z "$(files_with "$1")" ]; }
[ -n "$(files_with b)" ] || fail "the text is not in b's store at all: the test would prove nothing"
pass "a network story with unique text reached b and c (in b's store files:$(files_with b))"

hls_at a consent withdraw "$id" >/dev/null
wait_for 20 body_is c erased || fail "c did not erase the story"
kill_node c # at once, before its checkpoint may have run
start_node c "${FAST[@]}" --listen "${ADDR[c]}"
wait_for 20 body_is b erased || fail "b did not erase the story"
for n in b c; do
  wait_for 5 none_with "$n" || fail "$n still holds the erased text in:$(files_with "$n")"
done
pass "withdrawn: the text left every store file of b, and of c killed right after erasing it, within 5 s"

# The origin keeps its record (consent withdrawn is not deletion) until the
# record is deleted.
[ -n "$(files_with a)" ] || fail "a lost its record's text on withdrawal"
hls_at a record delete "$id" >/dev/null
wait_for 5 none_with a || fail "a still holds the deleted record's text in:$(files_with a)"
pass "deleted: the record's text left every store file of a within 5 s"
for n in a b c; do stop_node "$n"; done
