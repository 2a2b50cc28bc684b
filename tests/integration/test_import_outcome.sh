#!/usr/bin/env bash
# hls import never reports failure for an import that was committed, nor
# success for one that was not. Once the commit is sent only hlsd knows:
# when the reply does not come, hls asks it (import.status) on a new
# connection, and when it cannot, it says the import may have been
# committed and how to check (exit code 4). A proxy between hls and hlsd
# (ctl_proxy.py) loses the connection around the commit.
. "$(dirname "$0")/lib.sh"
PROXY_PY="$(dirname "$0")/ctl_proxy.py"

init_node a
start_node a

# start_proxy MODE [HOLD_MS]: $WORK/p/hlsd.sock relays to node a, so that
# hls --home $WORK/p talks to a through it.
start_proxy() {
  rm -rf "$WORK/p"
  mkdir -m 700 "$WORK/p"
  python3 "$PROXY_PY" "$WORK/p/hlsd.sock" "$WORK/a/hlsd.sock" "$@" 2>>"$WORK/proxy.log" &
  PROXY_PID=$!
  BACKGROUND_PIDS+=("$PROXY_PID")
  wait_for 20 test -S "$WORK/p/hlsd.sock" || fail "the proxy did not start (see $WORK/proxy.log)"
}
stop_proxy() {
  kill "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
}

# make_csv N FILE TITLE: N rows titled "TITLE 1".. (files with other
# titles hold no duplicates of each other).
make_csv() {
  awk -v n="$1" -v title="$3" 'BEGIN {
    print "title,scale,stage,themes,date,learnt,consent,consent_by";
    split("person organisation place country", scales, " ");
    split("purpose understand co-design experiment reflect embed", stages, " ");
    for (i = 1; i <= n; i++)
      printf "%s %d,%s,%s,problem:theme %d,2026-%02d-%02d,\"learnt, %d\",%s,%s\n", title, i, scales[i % 4 + 1],
        stages[i % 6 + 1], i % 50, i % 12 + 1, i % 28 + 1, i, (i % 2 ? "aggregate" : "private"),
        (i % 2 ? "practitioner" : "");
  }' >"$2"
}
total() { hls_at a --json status | jq .records.total; }

# run_import HOME FILE [env...]: exit code in $status, stdout in $out,
# stderr in $err.
run_import() {
  local home=$1 file=$2
  shift 2
  status=0
  out=$(env "$@" "$HLS" --home "$WORK/$home" import "$file" 2>"$WORK/err") || status=$?
  err=$(cat "$WORK/err")
}

make_csv 50000 "$WORK/big.csv" Row
make_csv 3000 "$WORK/small.csv" Small
make_csv 3000 "$WORK/later.csv" Later

# 1. hlsd commits 50,000 rows, and the reply is lost (hlsd stopping after
# the transaction looks the same to hls). hls used to say "hlsd closed the
# connection" and exit 1: a user who retried doubled every record.
start_proxy drop-reply
before=$(total)
run_import p "$WORK/big.csv"
[ "$status" = 0 ] || fail "a committed import reported as failed (exit $status): $err"
grep -q "^Imported 50000 records (ids $((before + 1)) to $((before + 50000)))" <<<"$out" || fail "output: $out"
grep -q "^hls: no reply to the commit (.*), but hlsd says import [0-9a-f]\{32\} was committed$" <<<"$err" \
  || fail "stderr: $err"
[ "$(total)" = $((before + 50000)) ] || fail "records after the import"
stop_proxy
pass "reply to the commit lost: hls asks hlsd and reports the import of 50,000 rows done"

# 2. The connection is lost before hlsd gets the commit: nothing imported,
# and hls says so (a retry is safe).
start_proxy drop-commit
before=$(total)
run_import p "$WORK/small.csv"
[ "$status" = 1 ] || fail "an import that was not committed: exit $status: $err"
grep -q "; nothing imported (hlsd says import [0-9a-f]\{32\} was not committed)$" <<<"$err" || fail "stderr: $err"
[ -z "$out" ] || fail "stdout: $out"
[ "$(total)" = "$before" ] || fail "an uncommitted import added records"
stop_proxy
pass "commit lost on the way: hls asks hlsd and reports nothing imported"

# 3. The reply is lost and hlsd cannot be asked (here: the proxy is gone,
# as hlsd would be if it had stopped): hls cannot know, says the import
# may have been committed and how to check, and exits 4. The check says
# it was.
start_proxy drop-reply-exit
before=$(total)
run_import p "$WORK/small.csv"
[ "$status" = 4 ] || fail "outcome unknown: exit $status: $err"
grep -q "^hls: hlsd closed the connection (did it stop?)\. The import was sent for commit, so it may have been committed: before running it again, check with: hls --home $WORK/p import --status [0-9a-f]\{32\} (hls --home $WORK/p status also counts the records)$" <<<"$err" \
  || fail "stderr: $err"
[ "$(wc -l <<<"$err")" = 1 ] || fail "more than one line on stderr: $err"
id=$(grep -o 'import --status [0-9a-f]\{32\}' <<<"$err" | cut -d' ' -f3)
checked=$(hls_at a import --status "$id")
grep -q "^Import $id: committed at .*, 3000 records (ids $((before + 1)) to $((before + 3000)))\.$" <<<"$checked" \
  || fail "import --status: $checked"
[ "$(hls_at a --json import --status "$id" | jq -r .state)" = committed ] || fail "import --status --json"
[ "$(total)" = $((before + 3000)) ] || fail "records after the import"
stop_proxy
pass "hlsd unreachable after the commit: exit 4, 'may have been committed', import --status says it was"

# 4. hlsd is slow to answer the commit (the proxy holds the reply 6 s)
# and hls's reply timeout is short: hls waits for the commit rather than
# give up on an import hlsd goes on to commit.
start_proxy hold-reply 6000
before=$(total)
# HLS_TIMEOUT_MS also bounds each batch's reply (rows checked for
# duplicates): 3 s leaves headroom on a loaded machine under ASan, and is
# still half the hold.
run_import p "$WORK/later.csv" HLS_TIMEOUT_MS=3000
[ "$status" = 0 ] || fail "a slow commit reported as failed (exit $status): $err"
grep -q "^Imported 3000 records" <<<"$out" || fail "output: $out"
[ -z "$err" ] || fail "stderr: $err"
[ "$(total)" = $((before + 3000)) ] || fail "records after the import"
stop_proxy
pass "a commit slower than HLS_TIMEOUT_MS is waited for"

# import --status of an import never committed, and a malformed id.
grep -q "^Import 0123456789abcdef0123456789abcdef: not committed; nothing of it was imported (no committed import has this id, and no connection holds one open; 'hls import list' shows the committed ones)\.$" \
  <<<"$(hls_at a import --status 0123456789abcdef0123456789abcdef)" || fail "unknown import id"
expect_fail 2 "import_id: its 32 hex digits, or the first 8 or more" hls_at a import --status nothex
expect_fail 2 "import_id: its 32 hex digits" hls_at a import --status 0123456
# the 12 digits hls import and import list show are enough (a prefix of 8 or more)
[ "$(hls_at a --json import --status "${id:0:12}" | jq -r '.state + " " + .import_id')" = "committed $id" ] ||
  fail "import --status with a prefix: $(hls_at a --json import --status "${id:0:12}")"
expect_fail 2 "no file" hls_at a import --status 0123456789abcdef0123456789abcdef "$WORK/small.csv"
# A successful import prints its id with --json.
[ "$(hls_at a --json import "$WORK/small.csv" | jq -r '.import_id | length')" = 32 ] || fail "--json import_id"
pass "import --status"

stop_node a
