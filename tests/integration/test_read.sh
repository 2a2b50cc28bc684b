#!/usr/bin/env bash
# The read side on a real hlsd, over its own published items: hls places,
# hls stories (filters), hls stories show, hls items, in human and --json
# forms, an erased story, and the errors.
. "$(dirname "$0")/lib.sh"

PLACE="Gateshead Council" REGION="North East" init_node a
start_node a --set publish.delay=0
node=$(hls_at a --json status | jq -r .node_id)
# The node id as a regular expression (base64 holds + and /).
node_re=$(sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$node")

add() { hls_at a --json record add "$@" | jq -r .id; }
# 2026-03-04 is in 2026-W10 (2026-03-02..08); 2026-03-17 in 2026-W12.
drop_in=$(add --title "Weekly drop-in at the library" --scale place --stage reflect --theme housing \
  --theme "strength:peer support" --date 2026-03-04 --tried $'We opened on Tuesdays\nand on Thursdays' \
  --learnt "People came back the next week")
hls_at a consent set "$drop_in" network --by "learning lead" >/dev/null
budget=$(add --title "Budget workshop" --scale organisation --stage co-design --theme "aspiration:community cafe" \
  --consent peers --consent-by lead --date 2026-03-17 --learnt "Small sums, big turnout")
add --title "Counted only" --scale person --stage experiment --theme housing --consent aggregate --consent-by lead \
  --date 2026-03-05 >/dev/null
hls_at a share approve "$drop_in" >/dev/null
hls_at a share approve "$budget" >/dev/null
hls_at a share publish >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json share log | jq -e '[.[] | select(.type==\"story\")] | length == 2'" \
  || fail "the approved stories were not published"
chain=$(hls_at a --json status | jq .chain.seq)

# --- places ---------------------------------------------------------------------
out=$(hls_at a places)
head -1 <<<"$out" | grep -Eq '^PLACE +REGION +ROLE +VOUCHED BY +ITEMS +STUBS +ERASED +CHAIN +LAST HEARD +NODE$' \
  || fail "places header: $out"
grep -Eq "^Gateshead Council \(this node\) +North East +place +- +$chain +0 +0 +$chain +[0-9T:-]+Z +$node_re$" <<<"$out" \
  || fail "places row: $out"
j=$(hls_at a --json places)
[ "$(jq length <<<"$j")" = 1 ] || fail "places --json: $j"
jq -e --arg n "$node" --argjson c "$chain" '.[0] | .node_id == $n and .self and .place == "Gateshead Council"
  and .region == "North East" and .role == "place" and .items == $c and .held == $c and .stubs == 0
  and .erased == 0 and .chain_seq == $c and .profile_seq == 1 and (.head | test("^[0-9a-f]{64}$"))
  and (.last_heard | test("Z$"))' <<<"$j" >/dev/null || fail "places --json fields: $j"
pass "places: this node, its profile and counts, human and --json"

# --- stories ----------------------------------------------------------------------
j=$(hls_at a --json stories)
[ "$(jq -r '[.[].title] | join("|")' <<<"$j")" = "Budget workshop|Weekly drop-in at the library" ] \
  || fail "stories, newest first: $j"
jq -e --arg n "$node" '.[1] | (.id | test("^[0-9a-f]{64}$")) and .origin == $n and .place == "Gateshead Council"
  and .week == "2026-W10" and .audience == "network" and .scale == "place" and .stage == "reflect"
  and .themes == [{"name":"housing","kind":"problem"},{"name":"peer-support","kind":"strength"}]' <<<"$j" >/dev/null \
  || fail "stories --json fields: $j"
[ "$(jq -r '.[0].audience' <<<"$j")" = peers ] || fail "the peers story is listed with its audience"
drop_id=$(jq -r '.[1].id' <<<"$j")
drop_seq=$(jq -r '.[1].seq' <<<"$j")
out=$(hls_at a stories)
head -1 <<<"$out" | grep -Eq '^ID +WEEK +PLACE +THEMES +TITLE$' || fail "stories header: $out"
grep -Eq "^${drop_id:0:12} +2026-W10 +Gateshead Council +problem:housing, strength:peer-support +Weekly drop-in at the library$" \
  <<<"$out" || fail "stories row: $out"
count() { hls_at a --json stories "$@" | jq length; }
[ "$(count --place "gateshead COUNCIL")" = 2 ] || fail "--place is case-insensitive"
[ "$(count --place "$node")" = 2 ] || fail "--place takes a node id"
[ "$(count --theme "Peer Support")" = 1 ] || fail "--theme is normalised"
[ "$(count --theme "Community Cafe")" = 1 ] || fail "--theme finds the peers story"
# --theme KIND:NAME, as the THEMES column shows it (it found nothing before)
[ "$(count --theme "strength:peer-support")" = 1 ] || fail "--theme KIND:NAME"
[ "$(count --theme "problem:peer-support")" = 0 ] || fail "--theme KIND:NAME: the kind counts"
expect_fail 2 "unknown kind" hls_at a stories --theme "colour:red"
[ "$(count --since 2026-03-08)" = 2 ] || fail "--since: a week ending on the day counts"
[ "$(count --since 2026-03-09)" = 1 ] || fail "--since: an earlier week does not"
[ "$(count --since 2026-03-23)" = 0 ] || fail "--since: later than every story"
[ "$(count --limit 1)" = 1 ] || fail "--limit"
[ "$(hls_at a stories --theme nothing-here)" = "No stories match." ] || fail "no match message"
pass "stories: newest first, ids, filters by place, theme, since and limit"

# --- stories show ------------------------------------------------------------------
out=$(hls_at a stories show "${drop_id:0:12}")
for want in "^Weekly drop-in at the library$" "^  place     Gateshead Council \(North East\), role place$" \
  "^  node      $node_re \(this node\)$" "^  week      2026-W10 \(2026-03-02 to 2026-03-08\)$" \
  "^  themes    housing \(problem\), peer-support \(strength\)$" "^  scale     place$" "^  stage     reflect$" \
  "^  audience  network$" "^  item      $drop_id \(seq $drop_seq\)$" "^What was tried$" "^  We opened on Tuesdays$" \
  "^  and on Thursdays$" "^What was learnt$" "^  People came back the next week$"; do
  grep -Eq "$want" <<<"$out" || fail "stories show lacks /$want/: $out"
done
j=$(hls_at a --json stories show "$drop_id")
jq -e --arg id "$drop_id" '.id == $id and .tried == "We opened on Tuesdays\nand on Thursdays"
  and .learnt == "People came back the next week" and .week_start == "2026-03-02" and .week_end == "2026-03-08"
  and .role == "place" and .self' <<<"$j" >/dev/null || fail "stories show --json: $j"
[ "$(hls_at a --json stories show "$node:$drop_seq" | jq -r .id)" = "$drop_id" ] || fail "ORIGIN:SEQ names the story"
[ "$(hls_at a --json stories show "${drop_id:0:8}" | jq -r .id)" = "$drop_id" ] || fail "8 digits name the story"
[ "$(hls_at a --json stories show "$(tr a-f A-F <<<"$drop_id")" | jq -r .id)" = "$drop_id" ] || fail "upper-case id"
pass "stories show: the whole story by id, short id and ORIGIN:SEQ"

# --- items --------------------------------------------------------------------------
j=$(hls_at a --json items)
[ "$(jq length <<<"$j")" = "$chain" ] || fail "items: every item of the chain: $j"
[ "$(jq -r '[.[].seq] | map(tostring) | join(",")' <<<"$j")" = "$(seq -s, 1 "$chain")" ] || fail "items in seq order"
jq -e --arg n "$node" '.[0] | .origin == $n and .seq == 1 and .type == "profile" and .body == "held"
  and .audience == "network" and .place == "Gateshead Council" and .self and (.item_id | test("^[0-9a-f]{64}$"))
  and (.published_at | test("Z$")) and .body_bytes > 0' <<<"$j" >/dev/null || fail "items --json fields: $j"
[ "$(hls_at a --json items --type story | jq length)" = 2 ] || fail "items --type story"
[ "$(hls_at a --json items --origin "$node" --type profile | jq length)" = 1 ] || fail "items --origin --type"
[ "$(hls_at a --json items --limit 2 | jq length)" = 2 ] || fail "items --limit"
out=$(hls_at a items --type story)
head -1 <<<"$out" | grep -Eq '^ORIGIN +SEQ +TYPE +AUDIENCE +BODY +PUBLISHED +ITEM ID$' || fail "items header: $out"
grep -Eq "^$node_re +$drop_seq +story +network +held +[0-9T:-]+Z +${drop_id:0:12}$" <<<"$out" || fail "items row: $out"
pass "items: the node's chain with body states, by origin, type and limit"

# --- an erased story ---------------------------------------------------------------
hls_at a consent withdraw "$drop_in" >/dev/null
wait_for 20 bash -c "'$HLS' --home '$WORK/a' --json items --type tombstone | jq -e 'length == 1'" \
  || fail "no tombstone after withdrawal"
[ "$(hls_at a --json stories | jq -r '[.[].title] | join("|")')" = "Budget workshop" ] \
  || fail "an erased story is still listed"
expect_fail 1 "story ${drop_id:0:12} was erased by its place \(consent_withdrawn, tombstone item [0-9]+\)" \
  hls_at a stories show "${drop_id:0:12}"
[ "$(hls_at a --json items --type story | jq -r --argjson s "$drop_seq" '.[] | select(.seq == $s) | .body')" = erased ] \
  || fail "items shows the story erased"
[ "$(hls_at a --json places | jq '.[0].erased')" = 1 ] || fail "places counts the erased body"
pass "withdrawn: the story leaves stories, shows erased in items and places"

# --- errors --------------------------------------------------------------------------
stranger="@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519"
expect_fail 1 "no known place is named \"Nowhere\"" hls_at a stories --place Nowhere
expect_fail 1 "no items held from @A{43}=" hls_at a stories --place "$stranger"
expect_fail 2 "--since: 2026-02-30 is not a day of the calendar" hls_at a stories --since 2026-02-30
expect_fail 2 "--limit: must be 0 or more" hls_at a stories --limit -1
expect_fail 2 "theme: has no letters or digits" hls_at a stories --theme "!!"
expect_fail 2 "unexpected argument 'extra'" hls_at a stories extra
expect_fail 2 "give one story ID" hls_at a stories show
expect_fail 2 "'xyz' is not a story ID" hls_at a stories show xyz
expect_fail 1 "no story 00000000 is held" hls_at a stories show 00000000
profile_id=$(hls_at a --json items --type profile | jq -r '.[0].item_id')
expect_fail 1 "no story $profile_id is held" hls_at a stories show "$profile_id"
expect_fail 2 "--type: expected profile\|digest\|story\|tombstone" hls_at a items --type bogus
expect_fail 2 "--origin: expected @<44 characters of base64>.ed25519" hls_at a items --origin nope
expect_fail 1 "no items held from @A{43}=" hls_at a items --origin "$stranger"
expect_fail 2 "unknown option|unrecognized option" hls_at a places --bogus
hls_at a stories --help | grep -q "stories show ID" || fail "stories --help"
hls_at a stories show --help | grep -q "NODE_ID:SEQ" || fail "stories show --help"
hls_at a items --help | grep -q -- "--origin NODE_ID" || fail "items --help"
pass "errors: usage errors exit 2, unknown places, nodes and items exit 1"

# The daemon checks arguments itself, for clients other than hls: raw
# requests on the control socket (a minimal MessagePack coder, standard
# library only), each answered with its error code and message.
ctl() {
  python3 - "$WORK/a/hlsd.sock" "$@" <<'PY'
import json, socket, struct, sys

def enc(v):
    if v is None: return b"\xc0"
    if isinstance(v, bool): return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if 0 <= v: return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)

def dec(b, i):
    t = b[i]
    if t <= 0x7f: return t, i + 1
    if 0x80 <= t <= 0x8f or t in (0xde, 0xdf):
        n, i = (t & 0x0f, i + 1) if t <= 0x8f else (int.from_bytes(b[i+1:i+3 if t == 0xde else i+5], "big"), i + (3 if t == 0xde else 5))
        m = {}
        for _ in range(n):
            k, i = dec(b, i); m[k], i = dec(b, i)
        return m, i
    if 0x90 <= t <= 0x9f or t in (0xdc, 0xdd):
        n, i = (t & 0x0f, i + 1) if t <= 0x9f else (int.from_bytes(b[i+1:i+3 if t == 0xdc else i+5], "big"), i + (3 if t == 0xdc else 5))
        a = []
        for _ in range(n):
            x, i = dec(b, i); a.append(x)
        return a, i
    if 0xa0 <= t <= 0xbf: n, i = t & 0x1f, i + 1
    elif t in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        w = {0xd9: 1, 0xda: 2, 0xdb: 4, 0xc4: 1, 0xc5: 2, 0xc6: 4}[t]
        n, i = int.from_bytes(b[i+1:i+1+w], "big"), i + 1 + w
        if t in (0xc4, 0xc5, 0xc6): return b[i:i+n].hex(), i + n
    elif t == 0xc0: return None, i + 1
    elif t in (0xc2, 0xc3): return t == 0xc3, i + 1
    elif t in (0xcc, 0xcd, 0xce, 0xcf):
        w = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[t]
        return int.from_bytes(b[i+1:i+1+w], "big"), i + 1 + w
    else: raise ValueError(hex(t))
    return b[i:i+n].decode(), i + n

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = enc({"v": 1, "id": 7, "cmd": sys.argv[2], "args": json.loads(sys.argv[3])})
s.sendall(struct.pack(">I", len(req)) + req)
def read(n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c: raise EOFError
        d += c
    return d
reply, _ = dec(read(struct.unpack(">I", read(4))[0]), 0)
print(reply["error"]["code"] + ": " + reply["error"]["message"] if not reply["ok"] else "ok")
PY
}
expect_ctl() {
  local want=$1; shift
  local got
  got=$(ctl "$@")
  [[ "$got" =~ $want ]] || fail "control $*: got '$got', want /$want/"
}
expect_ctl "^invalid_argument: since: 2026-13-01 is not a day of the calendar$" stories '{"since": "2026-13-01"}'
expect_ctl "^invalid_argument: limit: must be 0" stories '{"limit": -2}'
expect_ctl "^invalid_argument: theme: has no letters or digits$" stories '{"theme": "--"}'
expect_ctl "^invalid_argument: place: empty$" stories '{"place": ""}'
expect_ctl "^invalid_argument: place: expected a string" stories '{"place": 5}'
expect_ctl "^not_found: no known place is named" stories '{"place": "Atlantis"}'
expect_ctl "^ok$" stories '{"place": "GATESHEAD COUNCIL", "theme": "Community Cafe", "since": "2026-01-01", "limit": 1}'
expect_ctl "^invalid_argument: id: expected a story id" stories.show '{"id": "12"}'
expect_ctl "^invalid_argument: id: required" stories.show '{}'
expect_ctl "^erased: story " stories.show "{\"id\": \"$drop_id\"}"
budget_seq=$(hls_at a --json stories | jq '.[0].seq')
expect_ctl "^ok$" stories.show "{\"id\": \"$node:$budget_seq\"}"
tomb_seq=$(hls_at a --json items --type tombstone | jq '.[0].seq')
expect_ctl "^invalid_argument: item .* is a tombstone, not a story" stories.show "{\"id\": \"$node:$tomb_seq\"}"
expect_ctl "^invalid_argument: type: expected profile\|digest\|story\|tombstone\|receipt\|vouch\|fork\|rekey\|successor$" items '{"type": "stories"}'
expect_ctl "^invalid_argument: type: expected" items '{"type": "a-type-name-far-too-long-to-be-one"}'
expect_ctl "^invalid_argument: origin: expected @<44 characters of base64>.ed25519$" items '{"origin": "@abc"}'
expect_ctl "^not_found: no items held from " items "{\"origin\": \"$stranger\"}"
expect_ctl "^ok$" places '{}'
pass "the daemon checks every argument: invalid_argument, not_found, erased"

stop_node a
expect_fail 3 "hlsd is not running" hls_at a places
pass "hlsd stopped: exit 3"
