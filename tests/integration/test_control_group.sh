#!/usr/bin/env bash
# control.group: members of a Unix group use hls as themselves; everyone
# else is refused with a clear message; every change is logged with the
# caller's user name (SO_PEERCRED). The part with other users needs root
# (CI runs as root); the rest runs as anyone.
. "$(dirname "$0")/lib.sh"

me=$(id -un)
mygroup=$(id -gn)

# Without control.group the socket is the owner's alone.
init_node a
start_node a
[ "$(stat -c %a "$WORK/a/hlsd.sock")" = 600 ] || fail "socket mode $(stat -c %a "$WORK/a/hlsd.sock") without a group"
stop_node a
pass "no control.group: socket mode 600"

# A group that does not exist stops hlsd at start, naming it.
expect_fail 1 "control.group no-such-group-hls: there is no such group" \
  "$HLSD" --home "$WORK/a" --set control.group=no-such-group-hls
pass "an unknown control.group is refused"

# A data directory the group cannot search: hlsd starts, and says how to
# fix it once.
start_node a --set "control.group=$mygroup"
grep -q "members of control.group $mygroup cannot reach the control socket: .* chmod 710" "$WORK/a.log" \
  || fail "no warning about a directory the group cannot search"
stop_node a
pass "a directory the group cannot search is reported"

# The group's socket: mode 660, owned by the group; the directory may be
# 0710 with that group; changes are logged with the caller's name.
chmod 710 "$WORK/a"
: >"$WORK/a.log"
start_node a --set "control.group=$mygroup"
[ "$(stat -c '%a %G' "$WORK/a/hlsd.sock")" = "660 $mygroup" ] \
  || fail "socket is $(stat -c '%a %G' "$WORK/a/hlsd.sock"), expected 660 $mygroup"
! grep -q "cannot reach the control socket" "$WORK/a.log" || fail "warned although the group can search the directory"
id1=$(hls_at a --json record add --title "Change by me" --scale place --stage reflect | jq -r .id)
grep -q "event=change method=record.add user=$me uid=$(id -u) id=\|event=change method=record.add user=$me uid=$(id -u) result=ok" \
  "$WORK/a.log" || fail "record.add not logged with user=$me: $(grep change "$WORK/a.log" || true)"
hls_at a record delete "$id1" >/dev/null
grep -q "method=record.delete user=$me uid=$(id -u) id=$id1 result=ok" "$WORK/a.log" \
  || fail "record.delete not logged with the id and user: $(grep change "$WORK/a.log" || true)"
hls_at a status >/dev/null
! grep -q "method=status" "$WORK/a.log" || fail "a read was logged as a change"
pass "control.group socket 660, changes logged with the caller"
stop_node a

if [ "$(id -u)" != 0 ]; then
  echo "ok - other users # SKIP needs root to make users"
  exit 0
fi

# Root: a member and a non-member of a fresh group.
suffix=$$
group="hlst$suffix" member="hlsm$suffix" outsider="hlso$suffix"
remove_users() {
  local status=$?
  userdel "$member" 2>/dev/null || true
  userdel "$outsider" 2>/dev/null || true
  groupdel "$group" 2>/dev/null || true
  return $status
}
trap 'remove_users; cleanup' EXIT
groupadd "$group"
useradd -M -N -g "$group" -s /bin/sh "$member"
useradd -M -N -s /bin/sh "$outsider"
# The test's own directory must be searchable to reach the node in it.
chmod 711 "$WORK"
# 0710 in another group than control.group's: the fix named is its group
chmod 710 "$WORK/a"
expect_fail 1 "fix with: chgrp $group $WORK/a && chmod 710 $WORK/a" "$HLSD" --home "$WORK/a" --set "control.group=$group"
chgrp "$group" "$WORK/a"
chmod 710 "$WORK/a"
start_node a --set "control.group=$group"
as() { local user=$1; shift; runuser -u "$user" -- "$@"; }

as "$member" "$HLS" --home "$WORK/a" status >/dev/null || fail "a member of $group cannot run hls status"
id2=$(as "$member" "$HLS" --home "$WORK/a" --json record add --title "Added by a member" --scale place \
  --stage reflect | jq -r .id)
grep -q "method=record.add user=$member uid=$(id -u "$member") .*result=ok" "$WORK/a.log" \
  || fail "the member's record.add not logged as $member"
pass "a member of control.group runs hls as themselves"

expect_fail 1 "^hls: permission denied on .*hlsd.sock: only hlsd's user and members of its control.group" \
  as "$outsider" "$HLS" --home "$WORK/a" status
[ "$(hls_at a --json record show "$id2" | jq -r .title)" = "Added by a member" ] || fail "record lost"
pass "a non-member is refused with a clear message"
stop_node a
