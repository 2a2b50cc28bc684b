#!/usr/bin/env bash
# A node never signs one seq of its chain twice, whatever happens to its
# store (docs/operations.md, "Restore"):
#   - a store restored from an older backup, started while the only peer is
#     down: nothing is signed (approvals wait, share publish says why) until
#     the peer sends back the items the store lost; then publishing resumes
#     after them, a withdrawn story stays withdrawn, and the peer sees no fork;
#   - a deleted or zero-length store, a store of another node, a lost chain
#     mark: refused at start with the reason; --accept-new-store starts an
#     empty store that recovers the whole chain from the peer first;
#   - hls chain accept-loss resumes without the lost items (and a peer that
#     holds them sees the fork the docs warn of);
#   - a damaged store is refused at start, and hlsd --check / hls check
#     report it; damage behind a clean-close mark (the start skips the
#     check) is found by the check on a worker thread, and hlsd stops.
. "$(dirname "$0")/lib.sh"

FAST=(--set publish.delay=1h --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
init_node other --network-key "$key"
start_node a "${FAST[@]}"
start_node b "${FAST[@]}"
declare -A ID=() ADDR=()
for n in a b; do
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
hls_at a peer add "${ADDR[b]}" "${ID[b]}" >/dev/null
hls_at b peer add "${ADDR[a]}" "${ID[a]}" >/dev/null
# Restarts keep the ports, so that each finds the other again.
run_a() { start_node a "${FAST[@]}" --listen "${ADDR[a]}" "$@"; }
run_b() { start_node b "${FAST[@]}" --listen "${ADDR[b]}" "$@"; }

chain_seq() { hls_at "$1" --json status | jq .chain.seq; }
head_of() { hls_at "$1" --json status | jq --arg o "${ID[$2]}" '[.gossip.heads[] | select(.origin == $o) | .head] | .[0] // 0'; }
head_is() { [ "$(head_of "$1" "$2")" = "$3" ]; }
forks() { hls_at "$1" --json status | jq '.gossip.forks | length'; }
recovering() { hls_at "$1" --json chain | jq -e '.recovering == true'; }
not_recovering() { hls_at "$1" --json chain | jq -e '.recovering == false'; }
# story NODE TITLE: publish a network story of a new record now.
story() {
  local id
  id=$(hls_at "$1" --json record add --title "$2" --scale organisation --stage reflect --theme housing \
    --consent network --consent-by lead | jq -r .id)
  hls_at "$1" share approve "$id" --by lead >/dev/null
  echo "$id"
}
stories_at() { hls_at "$1" --json stories | jq -r '.[].title' | sort | tr '\n' '|'; }

# --- 1. restore from an older backup -----------------------------------------------
story a "Kept before the backup" >/dev/null
withdrawn=$(story a "Withdrawn after the backup")
wait_for 10 head_is b a "$(chain_seq a)" || fail "b did not get a's chain"
hls_at a backup "$WORK/a-old.db" >/dev/null
at_backup=$(chain_seq a)
hls_at a consent withdraw "$withdrawn" >/dev/null
story a "Published after the backup" >/dev/null
signed=$(chain_seq a)
[ "$signed" -gt "$at_backup" ] || fail "nothing published after the backup"
wait_for 10 head_is b a "$signed" || fail "b did not get a's chain up to $signed"
stop_node b
stop_node a
cp "$WORK/a-old.db" "$WORK/a/hlsd.db"
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
run_a
recovering a || fail "a restored store did not wait for its lost items: $(hls_at a --json chain)"
[ "$(hls_at a --json chain | jq .signed)" = "$signed" ] || fail "chain: signed should be $signed"
grep -q "event=chain_recovering have=$at_backup signed=$signed" "$WORK/a.log" || fail "chain_recovering not logged"
# A person approves a story meanwhile: it waits, and nothing is signed.
late=$(story a "Approved while recovering")
expect_fail 1 'publishing is paused' hls_at a share publish
[ "$(chain_seq a)" = "$at_backup" ] || fail "a signed items while recovering (seq $(chain_seq a))"
hls_at a status | grep -q 'recovering' || fail "hls status does not say the chain is recovering"
pass "restored store: recovering (seq $at_backup of $signed), an approval waits, share publish says why"

run_b
wait_for 20 not_recovering a || fail "a did not recover its chain from b: $(hls_at a --json chain)"
grep -q "event=chain_recovered seq=$signed" "$WORK/a.log" || fail "chain_recovered not logged"
wait_for 20 test "$(chain_seq a)" -gt "$signed" || fail "a signed nothing after the recovery"
wait_for 20 head_is b a "$(chain_seq a)" || fail "b did not get a's items after the recovery"
# The story published after the backup belongs to a record the restored
# store lost: it is withdrawn (docs/operations.md, Restore).
grep -q "event=story_orphaned seq=$signed" "$WORK/a.log" || fail "the lost record's story was not reported"

[ "$(forks b)" = 0 ] || fail "b found a fork: $(hls_at b --json status | jq -c .gossip.forks)"
! grep -q 'event=fork_detected' "$WORK/b.log" || fail "b logged a fork"
titles=$(stories_at b)
[[ "$titles" == *"Approved while recovering"* ]] || fail "the story approved while recovering did not go out: $titles"
[[ "$titles" != *"Withdrawn after the backup"* ]] || fail "the withdrawn story came back: $titles"
[[ "$titles" != *"Published after the backup"* ]] || fail "the lost record's story is still out: $titles"
# The restored store had consent at network: the tombstone that came back
# proves it was withdrawn since, so the record is private again.
[ "$(hls_at a --json record show "$withdrawn" | jq -r .consent)" = private ] ||
  fail "the withdrawn story's record has consent $(hls_at a --json record show "$withdrawn" | jq -r .consent)"
pass "the peer sent back seq $((at_backup + 1))-$signed; publishing resumed at $((signed + 1)); no fork;" \
  "the withdrawn story stays withdrawn (its record is private again)"

# --- 2. a deleted, empty or foreign store; a lost mark ---------------------------
stop_node a
signed=$(hls_at b --json status | jq --arg o "${ID[a]}" '.gossip.heads[] | select(.origin == $o) | .head')
start_refused() { # NAME PATTERN [flags]: hlsd must exit 1 at once, saying PATTERN
  local name=$1 pattern=$2 out status=0; shift 2
  out=$("$HLSD" --home "$WORK/$name" "$@" 2>&1) || status=$?
  [ "$status" = 1 ] || fail "hlsd $name started (status $status): $out"
  [[ "$out" =~ $pattern ]] || fail "hlsd $name: message does not match /$pattern/: $out"
}
mv "$WORK/a/hlsd.db" "$WORK/a-kept.db"
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
start_refused a "hlsd.db is missing, but this node has signed items up to seq $signed"
: >"$WORK/a/hlsd.db"
start_refused a "hlsd.db is empty, but this node has signed items up to seq $signed"
start_node other
stop_node other
cp "$WORK/other/hlsd.db" "$WORK/a/hlsd.db"
start_refused a "belongs to another node"
cp "$WORK/a-kept.db" "$WORK/a/hlsd.db"
mv "$WORK/a/chain.head" "$WORK/a-chain.head"
start_refused a "chain.head is missing, but this store was kept with one"
mv "$WORK/a-chain.head" "$WORK/a/chain.head"
pass "refused at start: a deleted store, an empty one, another node's, a lost chain mark"

rm -f "$WORK/a/hlsd.db"
run_a --accept-new-store
wait_for 20 not_recovering a || fail "a new store did not recover a's chain: $(hls_at a --json chain)"
[ "$(chain_seq a)" -ge "$signed" ] || fail "a new store holds seq $(chain_seq a) of $signed"
hls_at a --json places | jq -e --arg id "${ID[a]}" '.[] | select(.node_id == $id and .place == "Place a")' >/dev/null ||
  fail "a's own profile did not come back"
story a "After a new store" >/dev/null
wait_for 20 head_is b a "$(chain_seq a)" || fail "b did not get a's item after the new store"
[ "$(forks b)" = 0 ] || fail "b found a fork after --accept-new-store"
pass "--accept-new-store: the chain (seq 1-$signed) came back from b before anything was signed; no fork"

# --- 3. accept-loss, when no peer can send the items back ------------------------
hls_at a backup "$WORK/a-old2.db" >/dev/null
old2=$(chain_seq a)
story a "Lost with the store" >/dev/null
wait_for 20 head_is b a "$(chain_seq a)" || fail "b did not get the item to be lost"
stop_node b
stop_node a
cp "$WORK/a-old2.db" "$WORK/a/hlsd.db"
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
run_a
recovering a || fail "not recovering after the second restore"
expect_fail 2 'Say --yes' hls_at a chain accept-loss
hls_at a chain accept-loss --yes >/dev/null || fail "accept-loss failed"
not_recovering a || fail "still recovering after accept-loss"
grep -q "event=chain_loss_accepted seq=$old2" "$WORK/a.log" || fail "chain_loss_accepted not logged"
story a "Signed after accept-loss" >/dev/null
wait_for 10 test "$(chain_seq a)" -gt "$old2" || fail "nothing signed after accept-loss"
run_b
# Vectors carry seqs only: b learns of the fork from a's next item.
story a "Signed after b is back" >/dev/null
wait_for 20 grep -q "event=fork_detected origin=${ID[a]}" "$WORK/b.log" ||
  fail "b holds the lost item and should report the fork accept-loss warns of"
pass "accept-loss: publishing resumed at $((old2 + 1)) without the lost item; b, which holds it, reports a fork"

# --- 4. a damaged store ------------------------------------------------------------
stop_node a
# Overwrite the middle of the file (b-tree pages) with garbage.
size=$(stat -c %s "$WORK/a/hlsd.db")
pages=$((size / 4096))
[ "$pages" -ge 8 ] || fail "store too small to damage ($size bytes)"
for p in $(seq 2 2 $((pages - 1))); do
  head -c 64 /dev/urandom | dd of="$WORK/a/hlsd.db" bs=1 seek=$((p * 4096 + 8)) conv=notrunc status=none
done
start_refused a "refusing to run on a damaged store"
status=0
"$HLSD" --home "$WORK/a" --check >"$WORK/check.out" 2>&1 || status=$?
[ "$status" = 1 ] || fail "hlsd --check exited $status on a damaged store"
grep -q "damaged" "$WORK/check.out" || fail "hlsd --check did not say damaged: $(cat "$WORK/check.out")"
expect_fail 3 'hlsd is not running' hls_at a check
pass "a damaged store: refused at start; hlsd --check reports it (exit 1)"
cp "$WORK/a-old2.db" "$WORK/a/hlsd.db"
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
"$HLSD" --home "$WORK/a" --check >/dev/null || fail "hlsd --check on a sound store"
run_a
hls_at a check >/dev/null || fail "hls check on a sound store"
stop_node a
stop_node b
pass "a sound store: hlsd --check and hls check say ok"

# --- 5. damage the start does not see --------------------------------------------
# A clean stop leaves a clean-close mark; a start that finds the file as
# it was left skips the quick_check and runs it on a worker thread. Damage
# that keeps the file's size and modification time (a failing disk's way)
# is found there: hlsd stops, exit 1, and the next start checks and refuses.
[ -s "$WORK/a/hlsd.db.clean" ] || fail "a clean stop left no clean-close mark"
touch -r "$WORK/a/hlsd.db" "$WORK/a.mtime"
# Pages of rows (the items table's), not of the schema, which a start
# reads at once: SQLite's dbstat says which pages hold what (the schema's
# grow at the end of the file too, with each migration).
pages=$(python3 - "$WORK/a/hlsd.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
pages = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'items' ORDER BY pageno")]
print(" ".join(str(p) for p in pages[len(pages) // 3::2]))
PY
) || fail "reading the pages of the items table (dbstat)"
[ -n "$pages" ] || fail "no pages of the items table to damage"
for p in $pages; do # dbstat's page numbers start at 1
  head -c 64 /dev/urandom | dd of="$WORK/a/hlsd.db" bs=1 seek=$(((p - 1) * 4096 + 8)) conv=notrunc status=none
done
touch -r "$WORK/a.mtime" "$WORK/a/hlsd.db"
"$HLSD" --home "$WORK/a" "${FAST[@]}" >"$WORK/a-damaged.log" 2>&1 &
pid=$!
running() { kill -0 "$1" 2>/dev/null; }
wait_for 30 eval '! running $pid' || fail "hlsd kept running on a damaged store (see $WORK/a-damaged.log)"
status=0
wait "$pid" || status=$?
[ "$status" = 1 ] || fail "hlsd exited $status on damage found after its start: $(tail -3 "$WORK/a-damaged.log")"
grep -q "event=store_damaged .*action=stopping" "$WORK/a-damaged.log" ||
  fail "no store_damaged line: $(tail -3 "$WORK/a-damaged.log")"
grep -q "^hlsd: refusing to run on a damaged store" "$WORK/a-damaged.log" || fail "no refusal: $(tail -1 "$WORK/a-damaged.log")"
[ ! -e "$WORK/a/hlsd.db.clean" ] || fail "a damaged store was marked clean"
start_refused a "refusing to run on a damaged store"
pass "damage behind a clean-close mark: found by the check after the start, hlsd stops (1); the next start refuses"

# --- 6. a copy running beside its node -------------------------------------------
# A home copied and started as well as the node (to try a backup out, say)
# signs with the same key: what it publishes comes to the node through a
# peer, and the node, not recovering, says that items of its chain it did
# not sign came (it took them in silently, and erased its own story when
# the copy published a tombstone).
init_node x --network-key "$key"
init_node y --network-key "$key"
for n in x y; do
  start_node "$n" "${FAST[@]}"
  ID[$n]=$(hls_at "$n" --json status | jq -r .node_id)
  ADDR[$n]=$(hls_at "$n" --json status | jq -r .listening_on)
done
hls_at x peer add "${ADDR[y]}" "${ID[y]}" >/dev/null
story x "Before the copy" >/dev/null
wait_for 20 head_is y x "$(chain_seq x)" || fail "y did not get x's chain"
stop_node x
cp -a "$WORK/x" "$WORK/x2"
own=$(head_of y x)
# The copy publishes while x is down (y takes one session per node id).
start_node x2 "${FAST[@]}" --listen "127.0.0.1:$(free_port)"
story x2 "Signed by the copy" >/dev/null
wait_for 20 head_is y x "$((own + 1))" || fail "y did not get the copy's item"
stop_node x2
start_node x "${FAST[@]}" --listen "${ADDR[x]}"
wait_for 30 grep -q "event=chain_signed_elsewhere seq=$((own + 1)) signed_here=$own" "$WORK/x.log" \
  || fail "x did not say that items of its chain it did not sign came: $(hls_at x --json chain)"
hls_at x --json status | jq -e --argjson s "$((own + 1))" '.chain.signed_elsewhere == $s' >/dev/null \
  || fail "status: $(hls_at x --json status | jq -c .chain)"
hls_at x status | grep -q "WARNING: items of this chain up to seq $((own + 1)) were signed by another node" \
  || fail "hls status does not warn: $(hls_at x status)"
stop_node x
stop_node y
pass "a copy of a node publishing: the node says items of its chain it did not sign came"
