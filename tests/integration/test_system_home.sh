#!/usr/bin/env bash
# hls finds the system node (the packaged service's, /var/lib/hlsd) when
# the user names no directory and has no node of their own; --home,
# HLS_HOME and a node of one's own always win, and hls init never goes
# there. HLS_TEST_SYSTEM_HOME stands in for /var/lib/hlsd.
. "$(dirname "$0")/lib.sh"

PLACE="System Place" init_node sys
start_node sys
mkdir -p "$WORK/ana"
# as_user ARGS...: hls as a user whose home is $WORK/ana, naming no node.
as_user() {
  env -u HLS_HOME -u XDG_DATA_HOME HOME="$WORK/ana" HLS_TEST_SYSTEM_HOME="$WORK/sys" "$HLS" "$@"
}

[ "$(as_user --json status | jq -r .place)" = "System Place" ] || fail "plain hls status did not reach the system node"
[ "$(as_user --json status | jq -r .home)" = "$WORK/sys" ] || fail "system node's home"
as_user version | grep -q "^hlsd .*(running, $WORK/sys)" || fail "hls version did not reach the system node"
pass "no node of one's own: hls uses the system node"

expect_fail 3 "there is no node in $WORK/nowhere" env HLS_HOME="$WORK/nowhere" HOME="$WORK/ana" \
  HLS_TEST_SYSTEM_HOME="$WORK/sys" "$HLS" status
expect_fail 3 "there is no node in $WORK/nowhere" env -u HLS_HOME HOME="$WORK/ana" HLS_TEST_SYSTEM_HOME="$WORK/sys" \
  "$HLS" --home "$WORK/nowhere" status
pass "--home and HLS_HOME never fall back"

# An empty or missing system directory is not a node.
expect_fail 3 "there is no node in $WORK/ana/.local/share/hlsd" env -u HLS_HOME -u XDG_DATA_HOME HOME="$WORK/ana" \
  HLS_TEST_SYSTEM_HOME="$WORK/empty" "$HLS" status
mkdir "$WORK/empty"
expect_fail 3 "there is no node in $WORK/ana/.local/share/hlsd" env -u HLS_HOME -u XDG_DATA_HOME HOME="$WORK/ana" \
  HLS_TEST_SYSTEM_HOME="$WORK/empty" "$HLS" status
pass "no node in the system directory: the per-user default, as before"

# hls init makes the user's own node, which wins from then on.
as_user init --place "Own Place" --region R --listen 127.0.0.1:0 >/dev/null
[ -f "$WORK/ana/.local/share/hlsd/hlsd.conf" ] || fail "hls init did not create the per-user node"
expect_fail 3 "hlsd is not running for $WORK/ana/.local/share/hlsd" as_user status
rm -rf "$WORK/ana/.local"
pass "hls init makes a node of one's own, which wins"

# The system node stopped: say how to start the service.
stop_node sys
expect_fail 3 "the system node's hlsd \($WORK/sys\) is not running; start it with: systemctl start hlsd" as_user status
pass "a stopped system node: systemctl start hlsd"

"$HLS" --help | grep -q "system node" || fail "hls --help does not mention the system node"
pass "hls --help"
