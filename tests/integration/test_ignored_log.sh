#!/usr/bin/env bash
# Digests hlsd leaves out of patterns (dated more than 520 weeks back: a
# wrong clock at their place, or history older than patterns look at) are
# logged as one line with their count and the first of them, not one line
# each: a partner catching up years of a country's chains must not write a
# warning per old digest, and again at every start (issue 15).
. "$(dirname "$0")/lib.sh"
: "${HLS_GEN_ITEMS:?HLS_GEN_ITEMS must name the hls_gen_items tool}"

"$HLS_GEN_ITEMS" --out "$WORK/old" --places 20 --weeks 10 --themes 8 --first-week 2010-W01 >/dev/null ||
  fail "hls_gen_items"
init_node a --role partner
start_node a
hls_at a import-items "$WORK/old" >/dev/null || fail "import-items"
digests=$(hls_at a --json items --type digest | jq length)
[ "$digests" -ge 100 ] || fail "only $digests digests imported"

# ignored LOG: the lines of LOG saying so, and the digests they count.
lines() { grep -c "event=patterns_input_ignored" "$1" || true; }
counted() { grep -o "event=patterns_input_ignored count=[0-9]*" "$1" | awk -F= '{ s += $3 } END { print s + 0 }'; }
all_counted() { [ "$(counted "$1")" -eq "$digests" ]; }
wait_for 20 all_counted "$WORK/a.log" ||
  fail "the log counts $(counted "$WORK/a.log") of $digests ignored digests in $(lines "$WORK/a.log") lines"
n=$(lines "$WORK/a.log")
[ "$n" -le 5 ] || fail "$n log lines for $digests ignored digests"
grep "event=patterns_input_ignored" "$WORK/a.log" | head -1 | grep -q 'first_origin=@.* first_seq=[0-9]* detail="digest of 2010-W' ||
  fail "the line does not name the first digest left out: $(grep -m1 event=patterns_input_ignored "$WORK/a.log")"
pass "importing $digests digests from 2010: $n log line(s) count them all, naming the first"

stop_node a
mv "$WORK/a.log" "$WORK/a.first.log"
start_node a
wait_for 20 all_counted "$WORK/a.log" || fail "after a restart the log counts $(counted "$WORK/a.log") of $digests"
[ "$(lines "$WORK/a.log")" -eq 1 ] || fail "after a restart: $(lines "$WORK/a.log") lines, not 1"
grep -q "event=patterns_ready" "$WORK/a.log" || fail "no patterns_ready after the restart"
pass "at a restart: one line for all $digests"
stop_node a
