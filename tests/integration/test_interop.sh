#!/usr/bin/env bash
# hlsd and the reference JavaScript implementations of Secret Handshake and
# box-stream (npm secret-handshake, pull-box-stream) complete a handshake in
# both directions and exchange frames both ways over real TCP.
. "$(dirname "$0")/lib.sh"
: "${INTEROP_DIR:?INTEROP_DIR must name a directory for the npm packages}"
command -v node >/dev/null || fail "node is needed (apt-get install nodejs npm)"
command -v npm >/dev/null || fail "npm is needed"

src="$(cd "$(dirname "$0")/../interop" && pwd)"
mkdir -p "$INTEROP_DIR"
cp "$src/package.json" "$src/package-lock.json" "$src/interop.js" "$INTEROP_DIR/"
if ! [ -d "$INTEROP_DIR/node_modules/secret-handshake" ]; then
  (cd "$INTEROP_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1) \
    || { cat "$WORK/npm.log" >&2; fail "npm ci failed"; }
fi
node -e "require('$INTEROP_DIR/node_modules/secret-handshake')" || fail "secret-handshake does not load"
pass "reference implementation installed ($(node -p "require('$INTEROP_DIR/node_modules/secret-handshake/package.json').version"))"

init_node a
start_node a
addr=$(hls_at a --json status | jq -r .listening_on)
id=$(hls_at a --json status | jq -r .node_id)
key=$(hls_at a network key)

# 1. The reference implementation dials hlsd.
out=$(cd "$INTEROP_DIR" && node interop.js client 127.0.0.1 "${addr##*:}" "$id" "$key" 2>&1) || fail "client: $out"
grep -q "ok - client: ping of 10000 bytes echoed by hlsd" <<<"$out" || fail "client: $out"
grep -q "ok - client: stream ended cleanly" <<<"$out" || fail "client: $out"
wait_for 10 grep -q "event=peer_closed.*direction=in reason=goodbye" "$WORK/a.log" || fail "hlsd did not see the goodbye"
pass "reference client -> hlsd: handshake, hello, 10 KB ping echoed, goodbye"

# 2. hlsd dials the reference implementation.
(cd "$INTEROP_DIR" && exec node interop.js server "$key") >"$WORK/server.out" 2>&1 &
server_pid=$!
wait_for 10 grep -q "^listening" "$WORK/server.out" || fail "reference server did not start: $(cat "$WORK/server.out")"
read -r port nid <<<"$(awk '/^listening/{print $2, $3}' "$WORK/server.out")"
hls_at a peer add "127.0.0.1:$port" "$nid" >/dev/null
status=0
wait "$server_pid" || status=$?
[ "$status" = 0 ] || fail "server: $(cat "$WORK/server.out")"
grep -q "ok - server: handshake with hlsd $id" "$WORK/server.out" || fail "server: $(cat "$WORK/server.out")"
grep -q "ok - server: ping of 10000 bytes echoed by hlsd" "$WORK/server.out" || fail "server: $(cat "$WORK/server.out")"
grep -q "ok - server: stream ended cleanly" "$WORK/server.out" || fail "server: $(cat "$WORK/server.out")"
pass "hlsd -> reference server: handshake, hello, 10 KB ping echoed, goodbye"

# 3. A reference client with another network key gets nothing.
other=$(head -c 32 /dev/urandom | base64)
out=$(cd "$INTEROP_DIR" && node interop.js client 127.0.0.1 "${addr##*:}" "$id" "$other" 2>&1) && fail "wrong key accepted: $out"
wait_for 10 grep -q "reason=handshake_failed detail=\"hello not authenticated" "$WORK/a.log" || fail "no log line for the wrong key"
pass "a reference client with another network key is refused"
stop_node a
