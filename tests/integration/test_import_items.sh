#!/usr/bin/env bash
# hls import-items on real hlsd processes: a directory of signed envelopes
# (make_items: three made-up places) goes in as if a peer had sent it.
#   - the items show in hls items, places and stories: a tombstone erased
#     its story, a peers-only body is kept as a stub, duplicates and other
#     files are skipped; --json counts;
#   - importing again changes nothing (all already held);
#   - bad input exits 1 with one line naming file and byte offset (a bad
#     signature, a cut file, bytes that are no envelope), a gap above what
#     hlsd holds is refused, usage errors exit 2, and nothing is imported;
#   - a second hlsd peered with the first gets the imported items by
#     gossip, and items imported while it is connected are pushed to it.
. "$(dirname "$0")/lib.sh"
: "${MAKE_ITEMS:?MAKE_ITEMS must name the make_items tool}"

FAST=(--set publish.delay=1h --set network.reconnect_min=200ms --set network.reconnect_max=1s
      --set network.keepalive=1s --set gossip.interval=50ms)
init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
start_node a "${FAST[@]}"

mapfile -t ID < <("$MAKE_ITEMS" good "$WORK/good")
[ "${#ID[@]}" = 3 ] || fail "make_items printed ${#ID[@]} ids"
A=${ID[0]} B=${ID[1]} C=${ID[2]}
[ "$(find "$WORK/good" -maxdepth 1 -type f -name '*.items' | wc -l)" = 3 ] || fail "make_items wrote $(ls "$WORK/good")"

# --- import --------------------------------------------------------------------
out=$(hls_at a import-items "$WORK/good")
[ "$out" = "imported 12 items from 3 origins (0 already held, 1 duplicate in the files, 1 peers-only body kept as a stub)" ] \
  || fail "summary: $out"
# body_of NODE ORIGIN SEQ: held, stub or erased ("" if not held)
body_of() {
  { hls_at "$1" --json items --origin "$2" 2>/dev/null || echo '[]'; } | jq -r --argjson s "$3" '.[] | select(.seq == $s) | .body'
}
states() { hls_at "$1" --json items --origin "$2" | jq -r '[.[] | "\(.seq):\(.type):\(.body)"] | join(" ")'; }
[ "$(states a "$A")" = "1:profile:held 2:story:erased 3:story:held 4:digest:held 5:story:stub 6:tombstone:held" ] \
  || fail "A's items: $(states a "$A")"
[ "$(states a "$B")" = "1:profile:held 2:story:held 3:story:held" ] || fail "B's items: $(states a "$B")"
[ "$(states a "$C")" = "1:profile:held 2:story:held 3:story:held" ] || fail "C's items: $(states a "$C")"
j=$(hls_at a --json places)
[ "$(jq length <<<"$j")" = 4 ] || fail "places: this node and three imported: $j"
jq -e --arg a "$A" '.[] | select(.node_id == $a) | .place == "Import Place A" and .region == "Import Region"
  and .items == 6 and .stubs == 1 and .erased == 1 and .chain_seq == 6 and (.self | not)' <<<"$j" >/dev/null \
  || fail "places row of A: $j"
hls_at a places | grep -Eq '^Import Place B +Import Region +place +- +3 +0 +0 +3 ' || fail "places table: $(hls_at a places)"
titles=$(hls_at a --json stories | jq -r '[.[].title] | sort | join("|")')
[ "$titles" = "Import Place A story 3|Import Place B story 2|Import Place B story 3|Import Place C story 2|Import Place C story 3" ] \
  || fail "stories: $titles"
[ "$(hls_at a --json stories show "$C:3" | jq -r .learnt)" = "Imported, not gossiped" ] || fail "stories show C:3"
pass "import: items, places and stories show them; tombstone erased, peers body a stub"

# --- again, and --json ---------------------------------------------------------------
j=$(hls_at a --json import-items "$WORK/good/")
jq -e '.imported == 0 and .held == 12 and .origins == 3 and .files == 3 and .envelopes == 13 and .duplicates == 1
  and .stubbed == 0 and .forks == 0 and .ignored == 0' <<<"$j" >/dev/null || fail "second import --json: $j"
out=$(hls_at a import-items "$WORK/good")
[ "$out" = "imported 0 items from 3 origins (12 already held, 1 duplicate in the files)" ] || fail "again: $out"
[ "$(hls_at a --json items | jq length)" = 13 ] || fail "items after importing twice: $(hls_at a --json items | jq length)"
pass "importing again: everything already held, nothing changes"

# --- bad input -------------------------------------------------------------------------
before=$(hls_at a --json items | jq -c '[.[] | [.origin, .seq, .body]]')
"$MAKE_ITEMS" badsig "$WORK/badsig" >/dev/null
"$MAKE_ITEMS" truncated "$WORK/truncated" >/dev/null
"$MAKE_ITEMS" garbage "$WORK/garbage" >/dev/null
"$MAKE_ITEMS" gap "$WORK/gap" >/dev/null
mkdir "$WORK/empty"
file_re="$WORK/[a-z]+/[0-9a-f]{64}\.items"
expect_fail 1 "^hls: $file_re: byte [1-9][0-9]*: bad signature \(origin @.{44}\.ed25519 seq 2\)$" \
  hls_at a import-items "$WORK/badsig"
expect_fail 1 "^hls: $file_re: byte [1-9][0-9]*: the file ends inside an envelope \([0-9]+ bytes of it\)$" \
  hls_at a import-items "$WORK/truncated"
expect_fail 1 "^hls: $file_re: byte [1-9][0-9]*: not a valid envelope: " hls_at a import-items "$WORK/garbage"
expect_fail 1 "^hls: $file_re: byte 0: hlsd refused it: origin @.{44}\.ed25519: seq 5 leaves a gap \(this node holds up to seq 3\) \(0 items imported before it\)$" \
  hls_at a import-items "$WORK/gap"
expect_fail 1 "^hls: $WORK/empty holds no \.items files$" hls_at a import-items "$WORK/empty"
expect_fail 1 "^hls: $WORK/good/notes.txt: not a directory$" hls_at a import-items "$WORK/good/notes.txt"
expect_fail 1 "^hls: $WORK/nowhere: No such file or directory$" hls_at a import-items "$WORK/nowhere"
expect_fail 2 "give one DIR" hls_at a import-items
expect_fail 2 "give one DIR" hls_at a import-items "$WORK/good" "$WORK/gap"
head -c 100000 /dev/urandom >"$WORK/empty/random.items"
expect_fail 1 "^hls: $WORK/empty/random.items: byte 0: " hls_at a import-items "$WORK/empty"
hls_at a import-items --help | grep -q "Other files and directories in DIR are ignored" || fail "import-items --help"
[ "$(hls_at a --json items | jq -c '[.[] | [.origin, .seq, .body]]')" = "$before" ] || fail "bad input changed the store"
pass "bad input: one line naming file and offset, exit 1; usage exit 2; nothing imported"

# The daemon checks the request itself (clients other than hls): raw
# requests on the control socket, "hex:..." strings sent as bytes.
ctl() {
  python3 - "$WORK/a/hlsd.sock" "$@" <<'PY'
import json, socket, struct, sys

def enc(v):
    if v is None: return b"\xc0"
    if isinstance(v, bool): return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str) and v.startswith("hex:"):
        b = bytes.fromhex(v[4:])
        return b"\xc6" + struct.pack(">I", len(b)) + b if len(b) > 255 else b"\xc4" + bytes([len(b)]) + b
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
args = json.loads(sys.argv[3])
if len(sys.argv) > 4:  # a list of that many copies of one envelope
    args = {"envelopes": ["hex:" + sys.argv[4]] * int(sys.argv[5])}
req = enc({"v": 1, "id": 7, "cmd": sys.argv[2], "args": args})
s.sendall(struct.pack(">I", len(req)) + req)
def read(n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c: raise EOFError
        d += c
    return d
reply = read(struct.unpack(">I", read(4))[0])
# Enough of a decoder for the answers here: the error's code and message.
if b"\xa2ok\xc3" in reply: print("ok"); sys.exit(0)
i = reply.index(b"\xa4code") + 5
n = reply[i] & 0x1f; code = reply[i + 1:i + 1 + n].decode()
i = reply.index(b"\xa7message") + 8
if reply[i] == 0xd9: n, i = reply[i + 1], i + 2
else: n, i = reply[i] & 0x1f, i + 1
print(code + ": " + reply[i:i + n].decode())
PY
}
expect_ctl() {
  local want=$1; shift
  local got
  got=$(ctl "$@")
  [[ "$got" =~ $want ]] || fail "control $1: got '$got', want /$want/"
}
expect_ctl "^invalid_argument: envelopes: required" items.import '{}'
expect_ctl "^invalid_argument: envelopes: expected a list" items.import '{"envelopes": 3}'
expect_ctl "^invalid_argument: envelopes: item 0 is not bytes" items.import '{"envelopes": [3]}'
expect_ctl "^invalid_argument: envelops: not an argument of items.import" items.import '{"envelops": []}'
expect_ctl "^invalid_argument: envelopes: empty$" items.import '{"envelopes": []}'
expect_ctl "^invalid_argument: envelopes: item 0 is not bytes$" items.import '{"envelopes": ["x"]}'
expect_ctl "^malformed: envelopes: item 0: " items.import '{"envelopes": ["hex:93c0c0c0"]}'
expect_ctl "^too_large: envelopes: 4097 in one request \(at most 4096\)$" items.import '{}' 00 4097
pass "the daemon checks items.import requests: invalid_argument, malformed, too_large"

# --- gossip to a second node -----------------------------------------------------------
start_node b "${FAST[@]}"
hls_at b peer add "$(hls_at a --json status | jq -r .listening_on)" "$(hls_at a --json status | jq -r .node_id)" >/dev/null
holds_all() {
  [ "$(states b "$A")" = "1:profile:held 2:story:erased 3:story:held 4:digest:held 5:story:stub 6:tombstone:held" ] &&
    [ "$(states b "$B")" = "1:profile:held 2:story:held 3:story:held" ] &&
    [ "$(states b "$C")" = "1:profile:held 2:story:held 3:story:held" ]
}
wait_for 30 holds_all || fail "b did not get the imported items: A $(states b "$A"); B $(states b "$B"); C $(states b "$C")"
"$MAKE_ITEMS" more "$WORK/more" >/dev/null
out=$(hls_at a import-items "$WORK/more")
[ "$out" = "imported 2 items from 1 origin (0 already held)" ] || fail "more: $out"
wait_for 30 bash -c "[ \"\$('$HLS' --home '$WORK/b' --json items --origin '$A' | jq length)\" = 8 ]" \
  || fail "b did not get the items imported while connected: $(states b "$A")"
[ "$(body_of b "$A" 8)" = held ] || fail "A's 8 at b: $(body_of b "$A" 8)"
! grep -E "level=error|bad_frame|violation" "$WORK/a.log" "$WORK/b.log" || fail "an error in the logs"
grep -q "event=items_imported" "$WORK/a.log" || fail "a does not log its imports"
pass "gossip: a peer gets imported items, and those imported while connected at once"

stop_node b
stop_node a
expect_fail 3 "hlsd is not running" hls_at a import-items "$WORK/good"
pass "hlsd stopped: exit 3"
