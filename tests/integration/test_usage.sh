#!/usr/bin/env bash
# Exit codes (docs/cli.md): every command answers an unknown option, a
# missing or extra argument and a bad option value with exit 2 and exactly
# one line "hls: ..." on stderr; a command that runs and fails exits 1;
# without hlsd, 3.
. "$(dirname "$0")/lib.sh"

init_node a
start_node a
node=$(hls_at a --json status | jq -r .node_id)
record=$(hls_at a --json record add --title Keep --scale person --stage reflect --theme housing \
  --consent network --consent-by lead | jq -r .id)
hls_at a share approve "$record" >/dev/null
hls_at a feed subscribe watch >/dev/null
profile=$(hls_at a --json items --type profile | jq -r '.[0].item_id[0:8]')

# exits CODE PATTERN ARGS...: hls ARGS exits with CODE and prints exactly
# one line on stderr, "hls: " and then PATTERN (a regex); exit 2 also
# points to the command's --help.
exits() {
  local code=$1 pattern=$2 out status=0
  shift 2
  out=$(hls_at a "$@" 2>&1 >/dev/null </dev/null) || status=$?
  [ "$status" -eq "$code" ] || fail "hls $*: exit $status, not $code ($out)"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "hls $*: not one line on stderr: $out"
  [[ "$out" =~ ^hls:\ $pattern ]] || fail "hls $*: stderr does not match /hls: $pattern/: $out"
  if [ "$code" -eq 2 ]; then
    [[ "$out" =~ Try\ \'hls\ .*--help\'\.$ ]] || fail "hls $*: no pointer to --help: $out"
  fi
}

# Every command of 'hls --help', each listed here once.
commands=("init" "version" "status" "sync" "network key" "record add" "record list" "record show" "record edit"
  "record export" "record delete" "import" "import list" "import undo" "themes" "consent set" "consent withdraw" "share preview"
  "share review" "share approve" "share reject" "share log" "share publish" "share export" "share receipts" "peer add" "peer list"
  "peer remove" "peer block" "peer unblock" "invite create" "invite list" "invite revoke" "network rotate" "network retire-old" "stewards" "stewards add"
  "stewards remove" "vouch" "vouch list" "unvouch" "places" "stories" "stories show" "items" "import-items" "patterns"
  "patterns show" "patterns summary" "feed subscribe" "feed list" "feed follow" "feed ack" "feed unsubscribe"
  "feed events" "feed token" "user add" "user list" "user remove" "user reset" "web open" "audit" "audit verify" "record search" "governance report"
  "inspect" "backup" "check" "chain" "chain accept-loss" "identity rotate")
listed=$("$HLS" --help | sed -n '/^Commands:/,/^$/p' | grep -c '^  [a-z]')
[ "$listed" -eq "${#commands[@]}" ] || fail "hls --help lists $listed commands, this test ${#commands[@]}"
for cmd in "${commands[@]}"; do
  "$HLS" --help | grep -Eq "^  $cmd +[a-z]" || fail "hls --help does not list '$cmd'"
  # shellcheck disable=SC2086
  twice=$("$HLS" $cmd --help | { grep -oE '^  --[a-z-]+( [^ ]+)?' || true; } | sort | uniq -d)
  [ -z "$twice" ] || fail "hls $cmd --help describes an option twice: $twice"
  # shellcheck disable=SC2086
  exits 2 "$cmd: unknown option '--no-such-option'\. Try" $cmd --no-such-option
done
exits 2 "record list: unknown option '--lmit'\. Did you mean '--limit'\?" record list --lmit 3
# a group's own command and a mistyped command of the group
exits 2 "unknown command 'patterns shw'\. Did you mean 'hls patterns show'\?" patterns shw 1234
exits 2 "unknown command 'audit verfy'\. Did you mean 'hls audit verify'\?" audit verfy
exits 2 "unknown command 'chain accept-los'\. Did you mean 'hls chain accept-loss'\?" chain accept-los --yes
"$HLS" help record | grep -q "^  record add " || fail "hls help record: $("$HLS" help record)"
exits 2 "record list: option '--limit' needs a value" record list --limit
exits 2 "patterns: option '--signal' needs a value" patterns --signal
exits 2 "option '--title' needs a value \(not the option '--scale'\)" record add --title --scale person --stage reflect
pass "every command: an unknown option is exit 2 and one line (with 'did you mean')"

for cmd in "record show" "record edit" "record delete" "import" "import undo" "consent set" "consent withdraw" "share approve" \
  "share reject" "share export" "share receipts" "peer add" "peer remove" "peer block" "peer unblock" "invite revoke" "stewards add" "stewards remove" "vouch" "unvouch" "stories show" \
  "import-items" "patterns show" "feed subscribe" "feed follow" "feed ack" "feed unsubscribe" "inspect" "backup"; do
  # shellcheck disable=SC2086
  exits 2 "give " $cmd
done
for cmd in "version" "status" "sync" "network key" "record list" "record export" "themes" "share preview" \
  "share review" "share log" "share publish" "import list" "peer list" "invite create" "invite list" "places" "stories" "items" "patterns" \
  "patterns summary" "feed list" "vouch list" "network retire-old" "stewards" "check" "chain"; do
  # shellcheck disable=SC2086
  exits 2 ".*('extra'|argument)" $cmd extra
done
for args in "record show 1 2" "consent withdraw 1 2" "share approve 1 2" "stories show a b" "patterns show a b" \
  "feed unsubscribe a b" "inspect a b" "backup a b" "import a b" "import-items a b" "feed ack watch 1 2" \
  "share export 1 f g" "share receipts 1 2" "peer remove $node x" "record edit 1 2 --title x" "import undo 0123abcd 0123abcd --yes"; do
  # shellcheck disable=SC2086
  exits 2 "" $args
done
pass "a missing or an extra argument is exit 2 and one line"

bad_values=(
  "record add --title T --scale galaxy --stage reflect"
  "record add --title T --scale place --stage nope"
  "record add --title T --scale place --stage reflect --date 2024-13-45"
  "record add --title T --scale place --stage reflect --date 1901-01-01"
  "record add --title T --scale place --stage reflect --consent maybe"
  "record add --title T --scale place --stage reflect --consent-expires tomorrow"
  "record add --title T --scale place --stage reflect --consent aggregate --consent-by lead --consent-expires 2020-01-01"
  "record add --title T --scale place --stage reflect --theme colour:red"
  "record add --title T --scale place"
  "record list --limit -1"
  "record list --limit x"
  "record list --scale galaxy"
  "record list --stage nope"
  "record list --consent maybe"
  "record list --since yesterday"
  "record list --until 2024-02-30"
  "record export --format xml"
  "record export --scale galaxy"
  "record show abc"
  "record show 0"
  "record edit abc --title x"
  "record edit $record --scale galaxy"
  "record edit $record --date 1901-01-01"
  "record delete abc"
  "consent set abc peers"
  "consent set $record maybe"
  "consent set $record network --by lead --expires nope"
  "consent set $record network --by lead --expires 2020-01-01"
  "consent withdraw abc"
  "share approve abc"
  "share reject -1"
  "share log --limit -1"
  "share export abc $WORK/x.env"
  "sync --timeout -1"
  "peer add nohostport $node"
  "peer add 127.0.0.1:1 notanid"
  "peer remove notanid"
  "peer block notanid"
  "peer unblock notanid"
  "stories --since yesterday"
  "stories --limit -1"
  "stories show zz"
  "items --origin notanid"
  "items --type nope"
  "items --limit -1"
  "patterns --signal nope"
  "patterns --kind nope"
  "patterns --scale galaxy"
  "patterns --since yesterday"
  "patterns --until yesterday"
  "patterns --min-places -1"
  "patterns --min-strength lots"
  "patterns --limit -1"
  "patterns show xyz"
  "patterns summary --week nope"
  "patterns summary --top 99"
  "feed subscribe bad/name"
  "feed subscribe other --signal nope"
  "feed follow bad/name"
  "feed follow watch --limit -1"
  "feed follow watch --from x"
  "feed ack watch x"
  "feed ack bad/name 1"
  "feed unsubscribe bad/name"
  "import --status nope"
  "chain accept-loss"
)
for args in "${bad_values[@]}"; do
  # shellcheck disable=SC2086
  exits 2 "[^. ]" $args
done
# A value that is not UTF-8, named by its option (it was an empty reason).
exits 2 "--theme: invalid UTF-8 at byte 1\." patterns --theme $'x\xff'
exits 2 "--place: invalid UTF-8 at byte 0\." stories --place $'\xc3'
exits 2 "--region: invalid UTF-8 at byte 2\." feed subscribe other --region $'ab\xff'
exits 2 "--theme: invalid UTF-8 at byte 1\." record list --theme $'x\xff'
exits 2 "home: empty path" --home "" status
rm -rf "$WORK/new"
for args in "--place P --region R --role king" "--place P --region R --listen nope" \
  "--place P --region R --network-key nope" "--place '' --region R" "--place P"; do
  out=$(eval "\"\$HLS\" --home \"\$WORK/new\" init $args" 2>&1 >/dev/null) && fail "init $args succeeded"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ "$out" =~ ^hls:\ .*Try\ \'hls\ init\ --help\'\.$ ]] \
    || fail "init $args: $out"
  eval "\"\$HLS\" --home \"\$WORK/new\" init $args" 2>/dev/null || [ $? -eq 2 ] || fail "init $args: not exit 2"
done
long_home="$WORK/$(printf 'd%.0s' $(seq 110))"
out=$("$HLS" --home "$long_home" init --place P --region R 2>&1 >/dev/null) && fail "init in a path too long for the socket"
[[ "$out" =~ too\ long\ a\ path\ for\ hlsd\'s\ control\ socket ]] && [ ! -e "$long_home" ] || fail "init, long path: $out"
[ ! -e "$WORK/new" ] || fail "a refused init left $WORK/new behind"
pass "a bad option value or id is exit 2 and one line, for every command that takes one"

# Top level: one line, exit 2; 'hls' alone prints the usage.
for args in "--no-such-option" "--home" "peer" "feed" "recrod list" "record lst"; do
  out=$("$HLS" $args 2>&1 >/dev/null) && fail "hls $args succeeded"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ "$out" =~ ^hls:\ .*--help\'\.$ ]] || fail "hls $args: $out"
  "$HLS" $args 2>/dev/null || [ $? -eq 2 ] || fail "hls $args: not exit 2"
done
grep -q "Did you mean 'hls record list'" <<<"$("$HLS" record lst 2>&1 || true)" || fail "record lst: no did you mean"
"$HLS" >/dev/null 2>&1 || [ $? -eq 2 ] || fail "hls alone: not exit 2"
{ "$HLS" 2>&1 || true; } | grep -q '^Exit codes:' || fail "hls alone: no usage with the exit codes"
pass "top level: an unknown option or command, a missing value or subcommand: exit 2, one line"

# Commands that run and fail: exit 1, one line.
printf '{"title":"T","scale":"galaxy","stage":"reflect"}' >"$WORK/bad.json"
exits 1 "record 999999: no such record" record show 999999
exits 1 "record 999999: no such record" record delete 999999
exits 1 "scale: expected" record add --file "$WORK/bad.json"
exits 1 "scale: expected" record edit "$record" --file "$WORK/bad.json"
exits 1 "no feed \"nosuch\"" feed unsubscribe nosuch
exits 1 "seq: 999 is not an event" feed ack watch 999
exits 1 "no story $profile is held" stories show "$profile"
exits 1 "no pattern" patterns show 0000000000000000
exits 1 "that is this node's own id" peer add 127.0.0.1:1 "$node"
exits 1 "that is this node's own id" peer block "$node"
exits 1 ".*Nowhere" stories --place Nowhere
exits 1 ".*/nonexistent" inspect /nonexistent
exits 1 ".*/nonexistent" import /nonexistent.csv
pass "a command that runs and fails: exit 1, one line"

# hlsd frozen (SIGSTOP): a change whose answer does not come is exit 4
# (it may have been made: here it is, once hlsd goes on); a read is exit 1.
kill -STOP "${DAEMON_PID[a]}"
before=$(date +%s)
HLS_TIMEOUT_MS=300 exits 4 "no reply from hlsd within 300 ms\. The change was sent" record add --title Frozen \
  --scale person --stage reflect
HLS_TIMEOUT_MS=300 exits 1 "no reply from hlsd within 300 ms$" status
kill -CONT "${DAEMON_PID[a]}"
[ $(($(date +%s) - before)) -lt 20 ] || fail "the timeouts did not bound the calls"
wait_for 10 sh -c "\"\$1\" --home \"\$2\" --json record list | grep -q '\"Frozen\"'" _ "$HLS" "$WORK/a" ||
  fail "the change of the lost answer was not made"
HLS_TIMEOUT_MS=abc exits 2 "HLS_TIMEOUT_MS: expected a whole number of milliseconds" status
pass "a change whose answer is lost: exit 4 (it may have been made); a read: exit 1; a bad HLS_TIMEOUT_MS: exit 2"

# Without hlsd: 3, but a bad command line is still 2.
stop_node a
exits 3 "hlsd is not running" status
exits 3 "hlsd is not running" record list
exits 2 "record list: unknown option" record list --no-such-option
exits 2 "'abc' is not a record ID \\(a whole number from 1\\)" record show abc
pass "hlsd not running: exit 3; a bad command line is still exit 2"

# hlsd's own command line: a bad one is exit 2 and one line, before it
# starts anything.
for args in "--no-such-option" "-x" "--home" "--log-level loud" "--set nodot" "--set log.level=loud" \
  "--set no.such_key=1" "unexpected"; do
  status=0
  # shellcheck disable=SC2086
  out=$("$HLSD" --home "$WORK/a" $args 2>&1 >/dev/null </dev/null) || status=$?
  [ "$status" -eq 2 ] || fail "hlsd $args: exit $status, not 2 ($out)"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ "$out" =~ ^hlsd:\ .*Try\ \'hlsd\ --help\'\.$ ]] ||
    fail "hlsd $args: not one line ending with the pointer to --help: $out"
done
pass "hlsd: a bad option or value is exit 2, one line"
