#!/usr/bin/env bash
# The node's home: init, key permissions, the single-instance lock,
# configuration errors and overrides, SIGHUP reload, clean shutdown.
. "$(dirname "$0")/lib.sh"

# init creates a private home with the documented files.
init_node a
for f in hlsd.conf secret.key network.key; do [ -f "$WORK/a/$f" ] || fail "init did not create $f"; done
[ "$(stat -c %a "$WORK/a")" = 700 ] || fail "home mode $(stat -c %a "$WORK/a")"
[ "$(stat -c %a "$WORK/a/secret.key")" = 600 ] || fail "secret.key mode"
[ "$(stat -c %a "$WORK/a/network.key")" = 600 ] || fail "network.key mode"
expect_fail 1 "already holds a node" hls_at a init --place X --region Y
expect_fail 2 "--region REGION is required" "$HLS" --home "$WORK/b" init --place X
expect_fail 2 "network key: expected 44 characters" "$HLS" --home "$WORK/b" init --place X --region Y --network-key nope
expect_fail 2 "node.place: must be 1-120 bytes" "$HLS" --home "$WORK/b" init --place "" --region Y
[ ! -e "$WORK/b" ] || fail "a failed init left $WORK/b behind"
pass "hls init"

# Joining: the same network key gives the same network id.
key=$(hls_at a network key)
"$HLS" --home "$WORK/b" init --place B --region Y --network-key "$key" --listen 127.0.0.1:0 >/dev/null
[ "$(hls_at b --json network key | jq -r .network_id)" = "$(hls_at a --json network key | jq -r .network_id)" ] \
  || fail "joined node has another network id"
pass "hls network key and joining"

# hlsd refuses keys and homes others can read.
chmod 644 "$WORK/a/secret.key"
expect_fail 1 "secret.key is accessible to other users \(mode 0644\); fix with: chmod 600" "$HLSD" --home "$WORK/a"
chmod 600 "$WORK/a/secret.key"
chmod 640 "$WORK/a/network.key"
expect_fail 1 "network.key is accessible to other users" "$HLSD" --home "$WORK/a"
chmod 600 "$WORK/a/network.key"
chmod 750 "$WORK/a"
expect_fail 1 "is accessible to other users \(mode 0750\); fix with: chmod 700" "$HLSD" --home "$WORK/a"
chmod 700 "$WORK/a"
expect_fail 1 "no node in" "$HLSD" --home "$WORK/nothing-here"
pass "hlsd refuses readable keys and homes"

# Configuration errors name the option and the allowed range (on the
# command line: bad usage, exit 2).
expect_fail 2 "limits.max_text_bytes: must be between 256 and 64KiB" "$HLSD" --home "$WORK/a" --set limits.max_text_bytes=1MiB
expect_fail 2 "log.level: must be one of error\|warn\|info\|debug" "$HLSD" --home "$WORK/a" --log-level loud
expect_fail 2 "nope.option: unknown option" "$HLSD" --home "$WORK/a" --set nope.option=1
expect_fail 2 "network.listen: address" "$HLSD" --home "$WORK/a" --listen nowhere
cp "$WORK/a/hlsd.conf" "$WORK/a.conf.bak"
printf '\n[limits]\ncontrol_max_clients = 0\n' >>"$WORK/a/hlsd.conf"
expect_fail 1 "hlsd.conf:[0-9]+: limits.control_max_clients: must be between 1 and 1024" "$HLSD" --home "$WORK/a"
cp "$WORK/a.conf.bak" "$WORK/a/hlsd.conf"
printf '\nthis is not ini\n' >>"$WORK/a/hlsd.conf"
expect_fail 1 "hlsd.conf:[0-9]+: syntax error" "$HLSD" --home "$WORK/a"
cp "$WORK/a.conf.bak" "$WORK/a/hlsd.conf"
grep -q "^limits.control_request_timeout" <<<"$("$HLSD" --help-config)" || fail "--help-config"
pass "configuration errors"

# One daemon per home.
start_node a
expect_fail 1 "another hlsd is already running" "$HLSD" --home "$WORK/a"
hls_at a status >/dev/null || fail "second hlsd disturbed the first"
pass "single instance"

# SIGHUP reloads what it can: log level takes effect, a bad file keeps the
# running configuration.
hls_at a record add --title T --scale person --stage reflect >/dev/null
grep -q "event=record_added" "$WORK/a.log" || fail "info line missing"
sed -i 's/^#level = info/level = error/' "$WORK/a/hlsd.conf"
sed -i 's/^region = .*/region = Renamed Region/' "$WORK/a/hlsd.conf"
kill -HUP "${DAEMON_PID[a]}"
wait_for 10 grep -q "event=config_reloaded" "$WORK/a.log" || fail "no reload logged"
[ "$(hls_at a --json status | jq -r .region)" = "Renamed Region" ] || fail "region not reloaded"
lines=$(wc -l <"$WORK/a.log")
hls_at a record add --title T2 --scale person --stage reflect >/dev/null
[ "$(wc -l <"$WORK/a.log")" = "$lines" ] || fail "info logged after reload to level=error"
printf '\n[limits]\ncontrol_max_clients = many\n' >>"$WORK/a/hlsd.conf"
kill -HUP "${DAEMON_PID[a]}"
wait_for 10 grep -q "event=config_reload_failed error=bad_config keeping=current_config detail=\".*hlsd.conf:[0-9]*: limits.control_max_clients" "$WORK/a.log" || fail "bad reload not logged, with its file, line and option"
hls_at a status >/dev/null || fail "bad reload broke the daemon"
cp "$WORK/a.conf.bak" "$WORK/a/hlsd.conf"
kill -HUP "${DAEMON_PID[a]}"
wait_for 10 grep -q "event=config_reloaded log_level=info" "$WORK/a.log" || fail "reload back to info"
pass "SIGHUP reload"

# The log never holds record contents.
hls_at a record add --title "SECRET-TITLE-TEXT" --scale person --stage reflect --learnt "SECRET-LEARNT" >/dev/null
! grep -q "SECRET" "$WORK/a.log" || fail "record contents in the log"
pass "no record contents in the log"

# SIGINT also stops cleanly.
kill -INT "${DAEMON_PID[a]}"
status=0; wait "${DAEMON_PID[a]}" || status=$?
unset "DAEMON_PID[a]"
[ "$status" = 0 ] || fail "SIGINT exit status $status"
[ ! -e "$WORK/a/hlsd.sock" ] || fail "socket left after SIGINT"
grep -q "reason=SIGINT" "$WORK/a.log" || fail "SIGINT not logged"
pass "SIGINT and SIGTERM stop cleanly"

# docs/operations.md documents every configuration option.
docs="$(dirname "$0")/../../docs/operations.md"
for opt in $("$HLSD" --help-config | grep -o '^[a-z_]*\.[a-z_]*'); do
  grep -q "\`$opt\`" "$docs" || fail "docs/operations.md does not document $opt"
done
pass "every option is documented"

# The [patterns] rows of docs/operations.md (several options to a row, their
# defaults separated by "; ") and of docs/patterns.md give the defaults
# hlsd has (protocol/patterns.h, HLS_PAT_PARAMS).
pdocs="$(dirname "$0")/../../docs/patterns.md"
while IFS= read -r line; do
  opt=${line%%  *}
  want=$(sed 's/.*; default \([^;)]*\).*/\1/' <<<"$line")
  row=$(grep "^| \`$opt\`\|, \`$opt\`" "$docs") || fail "docs/operations.md: no row for $opt"
  names=$(cut -d'|' -f2 <<<"$row" | grep -o 'patterns\.[a-z_]*' | tr '\n' ' ')
  defaults=$(cut -d'|' -f4 <<<"$row" | sed 's/; /;/g; s/^ *//; s/ *$//')
  i=0 got=
  for n in $names; do
    i=$((i + 1))
    [ "$n" = "$opt" ] && got=$(cut -d';' -f"$i" <<<"$defaults")
  done
  [ "$got" = "$want" ] || fail "docs/operations.md: $opt defaults to $want, not '$got'"
  got=$(grep "^| \`${opt#patterns.}\` |" "$pdocs" | cut -d'|' -f3 | tr -d ' ')
  [ "$got" = "$want" ] || fail "docs/patterns.md: ${opt#patterns.} defaults to $want, not '$got'"
done < <("$HLSD" --help-config | grep '^patterns\.')
pass "docs give the [patterns] defaults hlsd has"
