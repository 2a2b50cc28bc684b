#!/usr/bin/env bash
# What a person asked to erase stays erased on one node:
# - a store restored from a backup older than a deletion does not bring the
#   record back (a private record, never shared: no tombstone can), with an
#   audit entry for each record deleted again, and a record added after
#   the backup that got the erased record's id is kept;
# - a stop, a crash (SIGKILL) or a backup within the second after an
#   erasure leaves none of its words in the store's files;
# - a subject access search finds a name typed as a theme; each record a
#   list deletion removed has its own audit entry; a theme no record holds
#   leaves the store.
. "$(dirname "$0")/lib.sh"

init_node a
start_node a
MARK="Qzx$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
words_in_files() { # the store files of a holding TEXT
  local f found=""
  for f in "$WORK/a/hlsd.db" "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"; do
    [ -f "$f" ] && grep -q -a -i -F "$1" "$f" && found="$found ${f##*/}"
  done
  echo "$found"
}

# --- a restore from before a deletion -------------------------------------------
priv=$(hls_at a --json record add --title "Private $MARK" --scale person --stage reflect --context "About $MARK" \
  | jq -r .id)
kept=$(hls_at a --json record add --title "Kept" --scale person --stage reflect | jq -r .id)
hls_at a backup "$WORK/before.db" >/dev/null
hls_at a record delete "$priv" >/dev/null
# A record added after the backup, then deleted: the restored store will
# give its id to the next record.
later=$(hls_at a --json record add --title "Later $MARK" --scale person --stage reflect | jq -r .id)
hls_at a record delete "$later" >/dev/null
[ -s "$WORK/a/erased" ] || fail "no erasure list beside the store"
! grep -q -a -F "$MARK" "$WORK/a/erased" || fail "the erasure list holds the record's text"
stop_node a
cp "$WORK/before.db" "$WORK/a/hlsd.db"
rm -f "$WORK/a/hlsd.db-wal" "$WORK/a/hlsd.db-shm"
start_node a
hls_at a --json record list | jq -e --argjson p "$priv" --argjson k "$kept" '[.[].id] == [$k]' >/dev/null \
  || fail "after the restore: $(hls_at a --json record list | jq -c '[.[].id]'), want only $kept"
hls_at a --json audit --record "$priv" | jq -e 'any(.[]; .action == "record.erasure_reapplied" and .who == "hlsd")' \
  >/dev/null || fail "no audit entry for the deletion done again: $(hls_at a --json audit --record "$priv" | jq -c .)"
grep -q "event=erasures_reapplied records=1" "$WORK/a.log" || fail "the log does not say what was done again"
# The restored store's ids go on from the backup's: the next record takes
# the id of the one added and deleted after it, and is not that record
# (its creation time differs).
again=$(hls_at a --json record add --title "New after restore" --scale person --stage reflect | jq -r .id)
[ "$again" = "$later" ] || fail "expected the restored store to give id $later again, got $again"
stop_node a
start_node a
hls_at a --json record show "$again" | jq -e '.title == "New after restore"' >/dev/null \
  || fail "a new record with an erased record's id was deleted at start"
[ -z "$(words_in_files "$MARK")" ] || fail "the erased record's words are in:$(words_in_files "$MARK")"
pass "a restore from before a deletion: the record is deleted again at start, audited; a new record with its id stays"

# --- the second after an erasure ------------------------------------------------
erase_then() { # erase_then ACTION: add a record, delete it, then ACTION at once
  local m="Wq$1$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" id
  id=$(hls_at a --json record add --title "Gone $m" --scale place --stage reflect --learnt "$m learnt" | jq -r .id)
  hls_at a record delete "$id" >/dev/null
  case $1 in
    stop) stop_node a; start_node a ;;
    kill) kill_node a; start_node a ;;
    backup) hls_at a backup "$WORK/after-$m.db" >/dev/null
            ! grep -q -a -i -F "$m" "$WORK/after-$m.db" || fail "a backup taken just after an erasure holds its words"
            # The live files: at the scrub, a second after the erasure.
            wait_for 20 no_words "$m" || fail "the words stayed in:$(words_in_files "$m")" ;;
  esac
  [ -z "$(words_in_files "$m")" ] || fail "$1 just after an erasure: its words are in:$(words_in_files "$m")"
}
no_words() { [ -z "$(words_in_files "$1")" ]; }
erase_then stop
erase_then kill
erase_then backup
pass "a stop, a crash or a backup just after an erasure leaves none of its words in the store's files"

# --- subject access: themes, the audit of a list, themes no record holds -------------
t1=$(hls_at a --json record add --title "Generic session" --scale person --stage reflect \
  --theme "Yolanda $MARK" | jq -r .id)
t2=$(hls_at a --json record add --title "Another" --scale person --stage reflect | jq -r .id)
found=$(hls_at a --json record search "yolanda $MARK" | jq -c '[.[].id]')
[ "$found" = "[$t1]" ] || fail "a name typed as a theme is not found by record search: $found"
hls_at a record search "yolanda $MARK" --delete --yes >/dev/null
for id in "$t1"; do
  hls_at a --json audit --record "$id" | jq -e 'any(.[]; .action == "record.delete")' >/dev/null \
    || fail "record $id of a search --delete has no audit entry of its own"
done
hls_at a record delete "$t2" "$kept" >/dev/null
for id in "$t2" "$kept"; do
  hls_at a --json audit --record "$id" | jq -e 'any(.[]; .action == "record.delete" and .about == "one of ids=2")' \
    >/dev/null || fail "record $id of a list deletion has no audit entry of its own"
done
stop_node a # within the second: the scrub runs at the stop
unused=$(python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM themes WHERE instr(slug, ?) > 0", (sys.argv[2],)).fetchone()[0])' \
  "$WORK/a/hlsd.db" "$(tr 'A-Z' 'a-z' <<<"$MARK")")
[ "$unused" = 0 ] || fail "a theme no record holds stayed in the store ($unused)"
pass "record search finds a name typed as a theme; each record of a list deletion is audited; unused themes go"
