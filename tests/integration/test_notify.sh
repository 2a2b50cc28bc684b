#!/usr/bin/env bash
# Readiness for systemd (Type=notify): hlsd says READY=1 only when hls can
# talk to it, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1
# on SIGTERM; and runs as usual when the notify socket is unusable.
# notify_listen.py (python3) plays systemd's side of sd_notify.
. "$(dirname "$0")/lib.sh"

PLACE="Notify Place" init_node a
notify_sock=$WORK/notify.sock
notify_log=$WORK/notify.jsonl
: >"$notify_log"
python3 "$(dirname "$0")/notify_listen.py" "$notify_sock" "$notify_log" "$HLS" "$WORK/a" &
BACKGROUND_PIDS+=($!)
wait_for 10 test -S "$notify_sock" || fail "notify_listen.py did not bind $notify_sock"

# nth_message N: the Nth datagram (1-based) as JSON, once it has arrived.
nth_message() { sed -n "${1}p" "$notify_log" | grep .; }
# wait_message N FIELD VALUE: the Nth datagram arrives and has FIELD=VALUE.
wait_message() {
  wait_for 30 nth_message "$1" || fail "datagram $1 ($2=$3) never came (got: $(cat "$notify_log"))"
  [ "$(nth_message "$1" | jq -r ".fields.$2")" = "$3" ] || fail "datagram $1 is not $2=$3: $(nth_message "$1")"
}

NOTIFY_SOCKET=$notify_sock "$HLSD" --home "$WORK/a" >>"$WORK/a.log" 2>&1 &
DAEMON_PID[a]=$!

# While it starts, hlsd says what it is doing; READY=1 comes when the
# control socket listens and the peer port is bound: connecting at once,
# and hls status right after, work.
ready_at=0
for n in 1 2 3 4 5; do
  wait_for 30 nth_message "$n" || fail "no READY=1 from hlsd (got: $(cat "$notify_log"))"
  msg=$(nth_message "$n")
  if [ "$(jq -r .fields.READY <<<"$msg")" = 1 ]; then ready_at=$n; break; fi
  [[ "$(jq -r .fields.STATUS <<<"$msg")" == Starting:* ]] || fail "a message before READY=1 is not a start status: $msg"
done
[ "$ready_at" -gt 0 ] || fail "no READY=1 among the first messages: $(cat "$notify_log")"
[ "$(jq -r .control <<<"$msg")" = ok ] || fail "the control socket did not accept a connection at READY=1: $msg"
[ "$(jq -r .status_rc <<<"$msg")" = 0 ] || fail "hls status failed right after READY=1: $msg"
[[ "$(jq -r .listening_on <<<"$msg")" =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]] || fail "peer port not bound at READY=1: $msg"
[[ "$(jq -r .fields.STATUS <<<"$msg")" == "Notify Place: peers on 127.0.0.1:"*", hls on $WORK/a/hlsd.sock" ]] ||
  fail "READY=1 status: $msg"
pass "READY=1 once hls can talk to hlsd, with a status line"

# SIGHUP: RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload wants),
# then READY=1 when the new configuration applies.
kill -HUP "${DAEMON_PID[a]}"
wait_message $((ready_at + 1)) RELOADING 1
[[ "$(nth_message $((ready_at + 1)) | jq -r .fields.MONOTONIC_USEC)" =~ ^[1-9][0-9]*$ ]] ||
  fail "RELOADING=1 without MONOTONIC_USEC: $(nth_message $((ready_at + 1)))"
wait_message $((ready_at + 2)) READY 1
[ "$(nth_message $((ready_at + 2)) | jq -r .status_rc)" = 0 ] || fail "hls status failed after the reload"
pass "SIGHUP: RELOADING=1, then READY=1"

# A reload that fails (a bad value in the file) ends in READY=1 too, on
# the previous configuration, and says so.
cp "$WORK/a/hlsd.conf" "$WORK/hlsd.conf.good"
printf '[limits]\nmax_text_bytes = 1MiB\n' >>"$WORK/a/hlsd.conf"
kill -HUP "${DAEMON_PID[a]}"
wait_message $((ready_at + 3)) RELOADING 1
wait_message $((ready_at + 4)) READY 1
[[ "$(nth_message $((ready_at + 4)) | jq -r .fields.STATUS)" == *"the last reload failed"* ]] ||
  fail "failed reload not in the status: $(nth_message $((ready_at + 4)))"
cp "$WORK/hlsd.conf.good" "$WORK/a/hlsd.conf"
pass "a failed reload: READY=1 on the previous configuration"

# SIGTERM: STOPPING=1, then a clean exit.
stop_node a
wait_message $((ready_at + 5)) STOPPING 1
[ "$(nth_message $((ready_at + 5)) | jq -r .fields.STATUS)" = "Stopping (SIGTERM)" ] ||
  fail "STOPPING=1 status: $(nth_message $((ready_at + 5)))"
pass "SIGTERM: STOPPING=1"

# No systemd listening at NOTIFY_SOCKET: hlsd logs it and serves anyway.
NOTIFY_SOCKET=$WORK/nobody.sock start_node a
grep -q "event=notify_failed message=READY" "$WORK/a.log" || fail "unsent READY=1 not logged"
stop_node a
pass "an unusable NOTIFY_SOCKET is logged, not fatal"
