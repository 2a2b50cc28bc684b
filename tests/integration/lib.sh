# Shared helpers for the shell integration tests. Each test sources this,
# gets a private temporary directory, and has every daemon it started
# stopped (and checked for a clean exit) when it ends.
set -euo pipefail

: "${HLSD:?HLSD must name the hlsd binary}"
: "${HLS:?HLS must name the hls binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hls-${TEST_NAME}.XXXXXX")
chmod 700 "$WORK"
declare -A DAEMON_PID=()
BACKGROUND_PIDS=() # other helpers a test started (killed at exit)
FAILED=0

cleanup() {
  local status=$?
  for home in "${!DAEMON_PID[@]}"; do
    kill -KILL "${DAEMON_PID[$home]}" 2>/dev/null || true
  done
  for pid in "${BACKGROUND_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  # this test's port reservations (free_port)
  grep -lx "$$" "$PORT_DIR"/* 2>/dev/null | xargs -r rm -f || true
  if [ "$status" -eq 0 ] && [ "$FAILED" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "# kept $WORK for inspection" >&2
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "# --- $log (last 30 lines)" >&2; tail -n 30 "$log" >&2; }
    done
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILED=1; exit 1; }
pass() { echo "ok - $*"; }

# wait_for SECONDS COMMAND...: poll COMMAND until it succeeds or the
# deadline passes (no fixed sleeps: each retry is 20 ms apart).
wait_for() {
  local seconds=$1; shift
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s%N)" -gt "$deadline" ]; then return 1; fi
    sleep 0.02
  done
}

# free_port: a TCP port free on 127.0.0.1 now, below the kernel's range
# of ephemeral ports (32768 up): tests restart nodes on the port they
# listened on, which a port the kernel handed out could meanwhile be the
# local end of another test's outgoing connection (address already in use).
# The port is also reserved for this test (a file in $PORT_DIR naming its
# shell's pid, removed at exit), so that tests running at once cannot both
# pick it between one's check and its hlsd's bind; a reservation whose
# test is gone is taken over.
PORT_DIR="${TMPDIR:-/tmp}/hls-test-ports"
free_port() {
  python3 - "$PORT_DIR" "$$" <<'PY'
import os, random, socket, sys
d, owner = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
for _ in range(1000):
    port = random.randrange(20000, 32000)
    path = os.path.join(d, str(port))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            os.kill(int(open(path).read().strip() or "0"), 0)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            try:
                os.unlink(path)  # its test is gone: free for the next draw
            except FileNotFoundError:
                pass
        except PermissionError:
            pass
        continue
    os.write(fd, owner.encode())
    os.close(fd)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            os.unlink(path)
            continue
    print(port)
    sys.exit(0)
sys.exit("no free port in 20000-31999")
PY
}

# init_node NAME [hls init flags...]: creates $WORK/NAME.
init_node() {
  local name=$1 port; shift
  port=$(free_port) || fail "no free port"
  "$HLS" --home "$WORK/$name" init --place "${PLACE:-Place $name}" --region "${REGION:-Test Region}" \
    --listen "127.0.0.1:$port" --web 127.0.0.1:0 "$@" >/dev/null
}

# start_node NAME [hlsd flags...]: runs hlsd in the background, logging to
# $WORK/NAME.log, and waits until it answers.
start_node() {
  local name=$1; shift
  "$HLSD" --home "$WORK/$name" "$@" >>"$WORK/$name.log" 2>&1 &
  DAEMON_PID[$name]=$!
  wait_for 20 "$HLS" --home "$WORK/$name" status || fail "hlsd $name did not start (see $WORK/$name.log)"
}

# wait_patterns NAME: until NAME's pattern engine holds every item (hlsd
# reads the items held on a worker thread after it starts, and logs
# event=patterns_ready when done).
patterns_ready_at() { [ "$("$HLS" --home "$WORK/$1" --json status | jq -r .patterns.state)" = ready ]; }
wait_patterns() {
  wait_for 60 patterns_ready_at "$1" || fail "the patterns of $1 were not ready in 60 s (see $WORK/$1.log)"
}

# stop_node NAME: SIGTERM, then require exit status 0 (under ASan this also
# means no leak was reported).
stop_node() {
  local name=$1 pid=${DAEMON_PID[$1]}
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  unset "DAEMON_PID[$name]"
  [ "$status" -eq 0 ] || fail "hlsd $name exited with status $status (see $WORK/$name.log)"
  [ ! -e "$WORK/$name/hlsd.sock" ] || fail "hlsd $name left its socket behind"
}

# kill_node NAME: SIGKILL, as a crash.
kill_node() {
  local name=$1 pid=${DAEMON_PID[$1]}
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  unset "DAEMON_PID[$name]"
}

# hls_at NAME ARGS...: run hls against node NAME.
hls_at() { local name=$1; shift; "$HLS" --home "$WORK/$name" "$@"; }

# expect_fail CODE MESSAGE_REGEX COMMAND...: the command must exit with
# CODE and print a single line on stderr matching the regex.
expect_fail() {
  local code=$1 pattern=$2; shift 2
  local out status=0
  out=$("$@" 2>&1 >/dev/null) || status=$?
  [ "$status" -eq "$code" ] || fail "expected exit $code, got $status from: $* ($out)"
  [[ "$out" =~ $pattern ]] || fail "stderr of '$*' does not match /$pattern/: $out"
}

# ctl_at NAME COMMAND [ARGS_JSON]: one raw request on node NAME's control
# socket (ctl_request.py), for commands hls has no verb for; prints the
# result as JSON, or fails (exit 1) with "CODE: MESSAGE" on stderr.
ctl_at() { local name=$1; shift; python3 "$(dirname "${BASH_SOURCE[0]}")/ctl_request.py" "$WORK/$name/hlsd.sock" "$@"; }

# clock_at NAME "LOCAL TIME": move node NAME's test clock (hlsd --test-clock)
# to that time, as date -d reads it; returns once what the move made due
# (week ends, consent expiry) is published.
clock_at() {
  local at
  at=$(date -u -d "@$(date -d "$2" +%s)" +%Y-%m-%dT%H:%M:%SZ) || fail "clock_at: cannot read the time '$2'"
  ctl_at "$1" test.clock.set "{\"at\": \"$at\"}" >/dev/null || fail "test.clock.set $at on $1"
}

# count_records NAME [record list flags]: number of matching records.
count_records() { local name=$1; shift; hls_at "$name" --json record list "$@" | jq length; }

# on_tty COLS COMMAND...: run COMMAND with stdout (and stderr) on a
# pseudo-terminal COLS columns wide (script(1), from util-linux), stdin
# empty; prints its output without the terminal's carriage returns, and
# returns its exit status.
on_tty() {
  local cols=$1 cmd
  shift
  printf -v cmd '%q ' "$@"
  script -qec "stty cols $cols && exec $cmd" /dev/null </dev/null | tr -d '\r'
}
