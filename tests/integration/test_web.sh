#!/usr/bin/env bash
# The web app's HTTP API on real daemons, with curl (docs/web.md): one-time
# links, passwords, roles (a viewer cannot approve, a practitioner changes
# only its own records), CSRF (a cross-site POST is refused even with the
# token), the Host check, a 10 MiB body refused, bad requests answered with
# JSON errors, attribution of changes, feeds as JSON Feed and Atom behind
# their token, a removed user's session ended, the sign-in rate limit,
# HTTPS with web.tls_cert, and a non-loopback address refused without it.
# Every daemon stops cleanly (under ASan: no error, no leak).
. "$(dirname "$0")/lib.sh"
: "${MAKE_PATTERNS:?MAKE_PATTERNS must name the make_patterns tool}"
command -v curl >/dev/null || fail "curl is needed (.ci/install-deps installs it)"

init_node a
start_node a
url=$(hls_at a --json status | jq -r .web.url)
[[ "$url" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "status web.url: $url"
hls_at a status | grep -q "^Web  *$url " || fail "hls status has no Web line: $(hls_at a status)"

# http METHOD PATH [curl args...]: prints "STATUS BODY" (one line). The
# node hashes at most 8 passwords at once, then 2 a second (docs/web.md):
# a request it refused for that (429, "password checks") is made again
# once the budget allows, within 20 s, unless HASH_RETRY=0.
HASH_RETRY=1
budget_refused() { [ "$(cat "$WORK/code")" = 429 ] && grep -q "password checks" "$WORK/body"; }
http() {
  local method=$1 path=$2; shift 2
  local deadline=$(( $(date +%s) + 20 ))
  while :; do
    curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" "$url$path" "$@" >"$WORK/code" || true
    if [ "$HASH_RETRY" = 1 ] && budget_refused && [ "$(date +%s)" -lt "$deadline" ]; then sleep 0.1; continue; fi
    break
  done
  echo "$(cat "$WORK/code") $(cat "$WORK/body")"
}
# expect_http CODE ERROR_CODE|- METHOD PATH [curl args...]
expect_http() {
  local want=$1 code=$2; shift 2
  local out
  out=$(http "$@")
  [ "${out%% *}" = "$want" ] || fail "$*: expected HTTP $want, got: $out"
  if [ "$code" != - ]; then
    jq -e --arg c "$code" '.ok == false and .error.code == $c and (.error.message | length > 0)' <<<"${out#* }" \
      >/dev/null || fail "$*: expected error $code, got: $out"
  fi
}

# --- the app's files, with the security headers --------------------------------------------
headers=$(curl -s -D - -o /dev/null "$url/")
grep -qi '^content-type: text/html' <<<"$headers" || fail "/ is not HTML: $headers"
grep -qi "^content-security-policy: default-src 'self'; script-src 'self';" <<<"$headers" || fail "no CSP: $headers"
grep -qi '^x-content-type-options: nosniff' <<<"$headers" || fail "no nosniff: $headers"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/app.js")" = 200 ] || fail "/app.js"
expect_http 404 not_found GET /no-such-file
pass "the app's files are served with a CSP that forbids inline script"

# --- not signed in ----------------------------------------------------------------------------
expect_http 401 unauthenticated GET /api/session
expect_http 401 unauthenticated POST /api/call/status
expect_http 401 unauthenticated GET /api/methods
expect_http 403 access_denied GET /api/session -H "Host: evil.example:80"
expect_http 401 unauthenticated GET /api/session -H "Host: LOCALHOST:${url##*:}" # host names in any case
pass "nothing without a session; a foreign Host header is refused (DNS rebinding)"

# --- users and one-time links -------------------------------------------------------------
# signin_link NAME ROLE: adds NAME, prints the link's token.
token_of() { local link; link=$(jq -r .link); echo "${link##*/#/welcome/}"; }
lee_token=$(hls_at a --json user add lee --role lead | token_of)
sam_token=$(hls_at a --json user add sam --role practitioner | token_of)
vic_token=$(hls_at a --json user add vic --role viewer | token_of)
expect_fail 1 "exists already" hls_at a user add lee --role viewer
expect_fail 2 "role" hls_at a user add zed --role boss
# jar NAME: curl's cookie options for NAME's session.
jar() { echo "-b $WORK/$1.jar -c $WORK/$1.jar"; }
redeem() { # NAME TOKEN -> the session's CSRF token
  local out
  # shellcheck disable=SC2046
  out=$(http POST /api/session/redeem $(jar "$1") -d "{\"token\":\"$2\"}")
  [ "${out%% *}" = 200 ] || fail "redeeming $1's link: $out"
  jq -e --arg u "$1" '.result.user == $u and .result.must_set_password == true' <<<"${out#* }" >/dev/null \
    || fail "redeem $1: $out"
  jq -r .result.csrf <<<"${out#* }"
}
lee_csrf=$(redeem lee "$lee_token")
sam_csrf=$(redeem sam "$sam_token")
vic_csrf=$(redeem vic "$vic_token")
grep -qi 'set-cookie: hls_session_.*HttpOnly; SameSite=Strict' < <(curl -s -D - -o /dev/null -X POST \
  "$url/api/session/redeem" -d "{\"token\":\"$lee_token\"}") && fail "a spent link signed in again"
# shellcheck disable=SC2046
expect_http 200 - POST /api/session/password $(jar lee) -H "X-CSRF-Token: $lee_csrf" -d '{"password":"lee has a long password"}'
# shellcheck disable=SC2046
expect_http 400 invalid_argument POST /api/session/password $(jar sam) -H "X-CSRF-Token: $sam_csrf" -d '{"password":"short"}'
# A password sign-in gives a fresh session with its own token.
http POST /api/session -D "$WORK/headers" -d '{"name":"lee","password":"lee has a long password"}' >/dev/null
cookie=$(tr -d '\r' <"$WORK/headers" | grep -i '^set-cookie:')
port=${url##*:}
[[ "$cookie" =~ hls_session_$port=[A-Za-z0-9_-]{43}\;\ Path=/\;\ HttpOnly\;\ SameSite=Strict ]] || fail "cookie: $cookie"
jq -e '.result.user == "lee" and .result.role == "lead" and .result.must_set_password == false' "$WORK/body" >/dev/null \
  || fail "sign-in: $(cat "$WORK/body")"
hls_at a --json user list | jq -e 'map({(.name): [.role, .has_password, .link_pending]}) | add ==
  {"lee": ["lead", true, false], "sam": ["practitioner", false, false], "vic": ["viewer", false, false]}' >/dev/null \
  || fail "user list: $(hls_at a --json user list)"
# web open says when it makes a user (a name given by mistake makes an
# admin) and when a link sent before stops working.
out=$(hls_at a web open --name zed)
grep -q "^Made the web user zed, an admin: there was none of that name" <<<"$out" || fail "web open of a new name: $out"
hls_at a --json web open --name zed | jq -e '.created == false and .replaced_link == true' >/dev/null \
  || fail "web open again: $(hls_at a --json web open --name zed)"
grep -q "^The link zed had before no longer works" <<<"$(hls_at a web open --name zed)" || fail "the link replaced, unsaid"
hls_at a user remove zed >/dev/null
pass "user add prints a one-time link; it signs in once; passwords; user list; web open says what it made and replaced"

# --- roles, through the methods' own table ------------------------------------------------------
call() { # NAME METHOD JSON -> "STATUS BODY"
  local name=$1 method=$2 body=$3 csrf_var="${1}_csrf"
  # shellcheck disable=SC2046
  http POST "/api/call/$method" $(jar "$name") -H "X-CSRF-Token: ${!csrf_var}" -H 'Content-Type: application/json' \
    -d "$body"
}
expect_call() { # WANT_STATUS NAME METHOD JSON [ERROR_CODE]
  local out
  out=$(call "$2" "$3" "$4")
  [ "${out%% *}" = "$1" ] || fail "$2 $3 $4: expected HTTP $1, got $out"
  [ -z "${5:-}" ] || jq -e --arg c "$5" '.error.code == $c' <<<"${out#* }" >/dev/null || fail "$2 $3: $out"
  echo "${out#* }"
}
rec='{"record":{"title":"Drop-in at the library","scale":"person","stage":"experiment","themes":["loneliness"],
  "consent":"network","consent_by":"person","learnt":"People came back"}}'
expect_call 403 vic record.add "$rec" access_denied >/dev/null
sam_id=$(expect_call 200 sam record.add "$rec" | jq -r .result.id)
lee_id=$(expect_call 200 lee record.add "${rec/library/market}" | jq -r .result.id)
expect_call 200 vic record.show "{\"id\":$sam_id}" | jq -e '.result.created_by == "web:sam"' >/dev/null \
  || fail "created_by of sam's record"
expect_call 403 sam record.edit "{\"id\":$lee_id,\"set\":{\"title\":\"Mine now\"}}" access_denied >/dev/null
expect_call 403 sam record.delete "{\"id\":$lee_id}" access_denied >/dev/null
expect_call 403 sam record.edit "{\"id\":$sam_id,\"set\":{\"consent\":\"private\"}}" access_denied >/dev/null
expect_call 403 sam record.edit "{\"id\":$sam_id,\"set\":{\"title\":\"x\",\"consent_by\":\"lead\"}}" access_denied >/dev/null
# The consent as it is, sent back with an edit (a form that sends every
# field), is no change of consent: the edit goes through.
expect_call 200 sam record.edit \
  "{\"id\":$sam_id,\"set\":{\"title\":\"Drop-in\",\"consent\":\"network\",\"consent_by\":\"person\"}}" >/dev/null
expect_call 200 sam record.edit "{\"id\":$sam_id,\"set\":{\"title\":\"Drop-in, weekly\"}}" >/dev/null
expect_call 403 sam share.approve "{\"id\":$sam_id}" access_denied >/dev/null
expect_call 403 vic share.approve "{\"id\":$sam_id}" access_denied >/dev/null
expect_call 403 lee peer.add '{"address":"127.0.0.1:9","node_id":"@pR+HU0Plt6uLEkyl2+CEP1ccoNbNc+0rLFNLONoCD0o=.ed25519"}' \
  access_denied >/dev/null
expect_call 200 lee share.approve "{\"id\":$sam_id}" | jq -e '.result.state == "approved"' >/dev/null \
  || fail "lee's approval"
hls_at a --json record show "$sam_id" | jq -e '.title == "Drop-in, weekly"' >/dev/null || fail "sam's edit is not held"
# What hls does is the same table: the CLI's caller holds every role.
hls_at a share reject "$lee_id" >/dev/null || fail "hls share reject"
grep -q "event=change method=share.approve user=web:lee .*id=$sam_id result=ok" "$WORK/a.log" \
  || fail "the approval is not attributed to web:lee in the log"
grep -q "event=change method=record.add user=web:vic .*result=access_denied" "$WORK/a.log" \
  || fail "the viewer's refused add is not logged"
# The methods the API serves: not the control socket's own.
# shellcheck disable=SC2046
methods=$(http GET /api/methods $(jar vic))
jq -e '.result | map(.name) | (index("share.approve") != null) and (index("backup") == null)
  and (index("import.begin") == null) and (index("feed.follow") == null) and (index("web.open") == null)' \
  <<<"${methods#* }" >/dev/null || fail "GET /api/methods: ${methods:0:300}"
expect_call 404 lee backup '{"path":"/tmp/x"}' unknown_command >/dev/null
pass "roles: a viewer cannot add or approve, a practitioner changes only its own records, a lead approves; attributed"

# --- CSRF and other sites -------------------------------------------------------------------------
# shellcheck disable=SC2046
expect_http 403 csrf POST /api/call/share.review $(jar lee)
# shellcheck disable=SC2046
expect_http 403 csrf POST /api/call/share.review $(jar lee) -H "X-CSRF-Token: $sam_csrf"
# shellcheck disable=SC2046
expect_http 403 csrf POST /api/call/share.approve $(jar lee) -H "X-CSRF-Token: $lee_csrf" -H "Origin: http://evil.example" \
  -d "{\"id\":$lee_id}"
# shellcheck disable=SC2046
expect_http 403 csrf POST /api/call/share.approve $(jar lee) -H "X-CSRF-Token: $lee_csrf" -H "Sec-Fetch-Site: cross-site" \
  -d "{\"id\":$lee_id}"
# A cross-site form post (no custom header possible) to the sign-in.
expect_http 403 csrf POST /api/session -H "Origin: http://evil.example" -d '{"name":"lee","password":"x"}'
hls_at a --json share log | jq -e "all(.[]; .record_id != $lee_id or .state != \"approved\")" >/dev/null 2>&1 || true
# shellcheck disable=SC2046
expect_http 200 - POST /api/call/share.review $(jar lee) -H "X-CSRF-Token: $lee_csrf" -H "Origin: $url"
pass "CSRF: no token, another session's token, another site's Origin or Sec-Fetch-Site: refused"

# --- bad requests: JSON errors, never a crash --------------------------------------------------------
head -c $((10 * 1024 * 1024)) /dev/zero >"$WORK/10mib"
# shellcheck disable=SC2046
expect_http 413 too_large POST /api/call/status $(jar lee) -H "X-CSRF-Token: $lee_csrf" --data-binary "@$WORK/10mib"
# Chunked, without a length: cut off at web.max_body too.
# shellcheck disable=SC2046
expect_http 413 too_large POST /api/call/status $(jar lee) -H "X-CSRF-Token: $lee_csrf" -H "Transfer-Encoding: chunked" \
  --data-binary "@$WORK/10mib"
expect_call 400 lee status '{"x":' malformed >/dev/null
expect_call 400 lee status '[1,2]' malformed >/dev/null
expect_call 400 lee status '{"a":1,"a":2}' malformed >/dev/null
expect_call 400 lee record.list '{"limt":3}' invalid_argument >/dev/null
expect_call 400 lee record.add '{"record":{"title":"\u0000"}}' malformed >/dev/null
expect_call 404 lee no.such.method '{}' unknown_command >/dev/null
expect_call 404 lee "record.show" '{"id":999999}' not_found >/dev/null
expect_http 405 invalid_argument GET /api/call/status
# a known path with another method is 405 with its Allow header, not 404
expect_http 405 invalid_argument PUT /api/session
expect_http 405 invalid_argument GET /api/session/end
expect_http 405 invalid_argument DELETE /api/methods
expect_http 405 invalid_argument PUT /index.html
allow=$(curl -s -D - -o /dev/null -X PUT "$url/api/session" | tr -d '\r' | grep -i '^allow:')
[ "$allow" = "Allow: GET, HEAD, POST" ] || fail "PUT /api/session: Allow header: $allow"
allow=$(curl -s -D - -o /dev/null -X GET "$url/api/call/status" | tr -d '\r' | grep -i '^allow:')
[ "$allow" = "Allow: POST" ] || fail "GET /api/call/status: Allow header: $allow"
grep -q '"message":"PUT is not allowed here: use GET, HEAD, POST"' <<<"$(http PUT /api/session)" \
  || fail "PUT /api/session: $(http PUT /api/session)"
deep=$(printf '[%.0s' $(seq 3000))
expect_call 400 lee record.add "{\"record\":$deep" malformed >/dev/null
big_header=$(head -c 40000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/session" -H "X-Big: $big_header")
[ "$code" = 431 ] || [ "$code" = 413 ] || fail "a 40 KB header: HTTP $code"
hls_at a status >/dev/null || fail "hlsd after the bad requests"
pass "bad requests: 10 MiB bodies (413), broken JSON, unknown methods and keys, deep nesting, huge headers"

# --- feeds over HTTP ------------------------------------------------------------------------------
hls_at a feed subscribe all >/dev/null || fail "feed subscribe"
"$MAKE_PATTERNS" "$WORK/w32" 32 >/dev/null || fail "make_patterns"
hls_at a import-items "$WORK/w32" >/dev/null || fail "import-items"
has_events() { [ "$(hls_at a --json feed events all | jq length)" -gt 0 ]; }
wait_for 60 has_events || fail "no pattern events after the import"
feed=$(hls_at a --json feed token all)
json_url=$(jq -r .json_url <<<"$feed")
atom_url=$(jq -r .atom_url <<<"$feed")
[[ "$json_url" == "$url/feeds/all.json?token="* ]] || fail "feed token: $feed"
expect_http 403 access_denied GET /feeds/all.json
expect_http 403 access_denied GET "/feeds/all.json?token=wrong"
expect_http 403 access_denied GET "/feeds/none.json?token=$(jq -r .token <<<"$feed")"
curl -s -D "$WORK/fh" "$json_url" >"$WORK/feed.json"
grep -qi '^content-type: application/feed+json' "$WORK/fh" || fail "JSON Feed content type: $(cat "$WORK/fh")"
n_events=$(hls_at a --json feed events all | jq length)
jq -e --argjson n "$n_events" '.version == "https://jsonfeed.org/version/1.1" and (.items | length) == $n
  and all(.items[]; (.id | length > 0) and (.url | test("/#/pattern/[0-9a-f]{16}$")) and (.title | length > 0)
  and (._hls.event.pattern.signal | length > 0))' "$WORK/feed.json" >/dev/null \
  || fail "JSON Feed: $(head -c 600 "$WORK/feed.json")"
curl -s "$atom_url" >"$WORK/feed.atom"
python3 - "$WORK/feed.atom" "$n_events" <<'PY' || fail "Atom: $(head -c 600 "$WORK/feed.atom")"
import sys, xml.etree.ElementTree as ET
ns = {"a": "http://www.w3.org/2005/Atom"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2005/Atom}feed", root.tag
entries = root.findall("a:entry", ns)
assert len(entries) == int(sys.argv[2]), len(entries)
for e in entries:
    assert e.find("a:title", ns).text and e.find("a:id", ns).text and e.find("a:updated", ns).text
PY
# A pattern found already over says so in the feed's words, as hls feed
# follow does (it read as a new live one): the digests to 2024-W44 bring an
# emerging pattern that had ended by then.
"$MAKE_PATTERNS" "$WORK/w44" 44 >/dev/null || fail "make_patterns 44"
hls_at a import-items "$WORK/w44" >/dev/null || fail "import-items w44"
found_ended() { hls_at a --json feed events all | jq -e 'any(.[]; .change == "new" and (.pattern.live | not))'; }
wait_for 60 found_ended || fail "no pattern found already ended: $(hls_at a --json feed events all | jq -c '[.[] | [.change, .pattern.live]]')"
curl -s "$json_url" >"$WORK/feed.json"
jq -e '[.items[] | select(._hls.event.change == "new" and (._hls.event.pattern.live | not))] | length > 0 and
  all(.[]; (.title | endswith(" (ended)")) and (.content_text | test("\\(ended\\)")))' "$WORK/feed.json" >/dev/null \
  || fail "a pattern found ended, in the feed: $(jq -c '[.items[] | .title]' "$WORK/feed.json")"
jq -e 'all(.items[] | select(._hls.event.pattern.live); .title | endswith("(ended)") | not)' "$WORK/feed.json" >/dev/null \
  || fail "a live pattern's title says ended"
old=$json_url
hls_at a feed token all >/dev/null
[ "$(curl -s -o /dev/null -w '%{http_code}' "$old")" = 403 ] || fail "the replaced token still reads the feed"
hls_at a feed list >/dev/null
pass "feeds: JSON Feed 1.1 and Atom with the feed's events, only with its current token"

# --- a removed user's session ends ----------------------------------------------------------------
expect_call 200 vic status '{}' >/dev/null
hls_at a user remove vic >/dev/null || fail "user remove"
# Added again under the same name (how a role is changed) before the
# cookie is used again, the removed user's cookie is no session of the new
# one (it was, with the new role).
hls_at a user add vic --role admin >/dev/null || fail "user add vic again"
# shellcheck disable=SC2046
expect_http 401 unauthenticated POST /api/call/user.list $(jar vic) -H "X-CSRF-Token: $vic_csrf" -d '{}'
expect_call 401 vic status '{}' unauthenticated >/dev/null
# A reset ends sessions too, and forgets the password.
expect_call 200 lee status '{}' >/dev/null
hls_at a user reset lee >/dev/null
expect_call 401 lee status '{}' unauthenticated >/dev/null
pass "user remove and user reset end the user's sessions at once; a name added again has none of them"

# --- changing a password: the current one is needed; the other sessions end ------------------------
kim_token=$(hls_at a --json user add kim --role viewer | token_of)
kim_csrf=$(redeem kim "$kim_token")
kim_pw='kim chose a long one'
# The first password, after a one-time link, needs none.
# shellcheck disable=SC2046
expect_http 200 - POST /api/session/password $(jar kim) -H "X-CSRF-Token: $kim_csrf" -d "{\"password\":\"$kim_pw\"}"
# A second session of kim's, by password.
out=$(http POST /api/session -c "$WORK/kim2.jar" -d "{\"name\":\"kim\",\"password\":\"$kim_pw\"}")
kim2_csrf=$(jq -r .result.csrf <<<"${out#* }")
[ -n "$kim2_csrf" ] && [ "$kim2_csrf" != null ] || fail "kim's second sign-in: $out"
# A change without the current password, or with a wrong one, is refused.
# shellcheck disable=SC2046
expect_http 400 invalid_argument POST /api/session/password $(jar kim) -H "X-CSRF-Token: $kim_csrf" \
  -d '{"password":"a stolen cookie sets this"}'
# shellcheck disable=SC2046
expect_http 403 access_denied POST /api/session/password $(jar kim) -H "X-CSRF-Token: $kim_csrf" \
  -d '{"password":"a stolen cookie sets this","current":"a guess at it"}'
# With it: this session goes on, the other ends.
# shellcheck disable=SC2046
expect_http 200 - POST /api/session/password $(jar kim) -H "X-CSRF-Token: $kim_csrf" \
  -d "{\"password\":\"kim's new long one\",\"current\":\"$kim_pw\"}"
expect_http 200 - GET /api/session $(jar kim)
expect_http 401 unauthenticated GET /api/session -b "$WORK/kim2.jar"
# A password is counted in characters: five two-byte letters are five.
# shellcheck disable=SC2046
expect_http 400 invalid_argument POST /api/session/password $(jar kim) -H "X-CSRF-Token: $kim_csrf" \
  -d "{\"password\":\"ééééé\",\"current\":\"kim's new long one\"}"
# A viewer's status does not say where hlsd runs on the machine.
expect_call 200 kim status '{}' | jq -e '.result.pid == null and .result.home == null and .result.place != null' \
  >/dev/null || fail "a viewer's status shows pid or home"
[ "$(hls_at a --json status | jq -r '.home')" = "$WORK/a" ] || fail "the admin's status lost home"
# Kept in the audit log: the link spent, the first password, the change.
hls_at a --json audit --who web:kim | jq -e '[.[].action] == ["user.link_redeemed", "user.password_set", "user.password_set"]' \
  >/dev/null || fail "kim's account in the audit log: $(hls_at a --json audit --who web:kim | jq -c '[.[] | [.action, .about]]')"
pass "a password change needs the current one, ends the user's other sessions, keeps this one; characters counted; audited"

# --- the sign-in rate limit (last: it also limits this client's address) ---------------------------
sam_pw='sam chose a long one'
# shellcheck disable=SC2046
expect_http 200 - POST /api/session/password $(jar sam) -H "X-CSRF-Token: $sam_csrf" -d "{\"password\":\"$sam_pw\"}"
# Failures count per name (5) and per client address (50; a spent link is
# none: a link cannot be guessed): wrong guesses get 401 until the 5th.
for i in 1 2 3 4 5; do
  out=$(http POST /api/session -d '{"name":"sam","password":"wrong guess"}')
  [ "${out%% *}" = 401 ] || fail "wrong guess $i: $out"
done
expect_http 429 rate_limited POST /api/session -d "{\"name\":\"sam\",\"password\":\"$sam_pw\"}"
grep -q "event=web_signin_failed" "$WORK/a.log" || fail "failed sign-ins are not logged"
# The address is not locked for others, nor for links: a spent link five
# times, then lee's new link and her password sign in (they were 429:
# anyone could lock every user out, the admin's recovery link included).
for i in 1 2 3 4 5; do expect_http 401 unauthenticated POST /api/session/redeem -d "{\"token\":\"$lee_token\"}"; done
lee_token=$(hls_at a --json user reset lee | token_of)
expect_http 200 - POST /api/session/redeem -c "$WORK/lee3.jar" -d "{\"token\":\"$lee_token\"}"
pass "after 5 failed sign-ins of a name, even its right password waits (429); links and other names do not"

# --- HTTPS, and an address beyond loopback -------------------------------------------------------------
init_node b --web 0.0.0.0:0
status=0
"$HLSD" --home "$WORK/b" >"$WORK/b.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "hlsd served the web app on 0.0.0.0 without TLS"
grep -q "not a loopback address.*web.tls_cert" "$WORK/b.log" || fail "the refusal does not say why: $(cat "$WORK/b.log")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
  -subj "/CN=localhost" >/dev/null 2>&1 || fail "openssl"
init_node c
# A private key anyone may read is refused, naming the option.
chmod 644 "$WORK/key.pem"
status=0
timeout 20 "$HLSD" --home "$WORK/c" --set "web.tls_cert=$WORK/cert.pem" --set "web.tls_key=$WORK/key.pem" \
  >"$WORK/c0.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "hlsd took a TLS key anyone may read"
grep -q "web.tls_key: .*key.pem may be read by anyone (mode 0644)" "$WORK/c0.log" || fail "refusal: $(cat "$WORK/c0.log")"
chmod 600 "$WORK/key.pem"
start_node c --set "web.tls_cert=$WORK/cert.pem" --set "web.tls_key=$WORK/key.pem"
curl_url=$(hls_at c --json status | jq -r .web.url)
[[ "$curl_url" =~ ^https:// ]] || fail "status web.url over TLS: $curl_url"
c_token=$(hls_at c --json user add ana --role admin | token_of)
curl -sk -D "$WORK/ch" -o "$WORK/cb" -X POST "$curl_url/api/session/redeem" -d "{\"token\":\"$c_token\"}"
grep -qi 'set-cookie: hls_session_[0-9]*=.*SameSite=Strict; Secure' "$WORK/ch" || fail "no Secure cookie over HTTPS: $(cat "$WORK/ch")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${curl_url/https/http}/api/session")" = 000 ] \
  || fail "plain HTTP answered on the TLS port"
pass "HTTPS with web.tls_cert/web.tls_key (Secure cookies); 0.0.0.0 without TLS refused at start"

# --- the web app off: the links are paths, and say why ---------------------------------------
init_node d
start_node d --set web.listen=off
j=$(hls_at d --json web open)
jq -e '.web_running == false and (.link | test("^/#/welcome/[A-Za-z0-9_-]+$")) and .web_problem == "web.listen is off"' \
  <<<"$j" >/dev/null || fail "web open, web.listen off: $j"
out=$(hls_at d user add kim --role viewer)
grep -q "^  /#/welcome/" <<<"$out" && grep -q "not serving here (web.listen is off)" <<<"$out" ||
  fail "user add, web.listen off: $out"
hls_at d feed subscribe kimfeed >/dev/null
j=$(hls_at d --json feed token kimfeed)
jq -e '.web_running == false and (.json_url | startswith("/feeds/kimfeed.json?token="))
  and (.atom_url | startswith("/feeds/kimfeed.atom?token="))' <<<"$j" >/dev/null || fail "feed token, web.listen off: $j"
stop_node d
pass "with web.listen off, web open, user add and feed token give paths and say why (not the reason as an address)"

stop_node c

# --- behind an HTTPS reverse proxy: Secure cookies; the password hashing budget -----------------------
stop_node a
# Its own port again: web.url now names the proxy's address, not hlsd's.
start_node a --set web.url=https://learning.example.org --set "web.listen=127.0.0.1:$port" --test-clock "$(date +%s)"
[ "$(hls_at a --json status | jq -r .web.url)" = https://learning.example.org ] || fail "status web.url behind a proxy"
zoe_token=$(hls_at a --json user add zoe --role viewer | token_of)
curl -s -D "$WORK/ph" -o "$WORK/pb" -X POST "$url/api/session/redeem" -H "Host: learning.example.org" \
  -H "Origin: https://learning.example.org" -d "{\"token\":\"$zoe_token\"}"
grep -qi 'set-cookie: hls_session_[0-9]*=.*SameSite=Strict; Secure' "$WORK/ph" \
  || fail "no Secure cookie with web.url https://: $(cat "$WORK/ph" "$WORK/pb")"
# The node's clock stands still (--test-clock): 8 password checks at once,
# then 429 until it moves, without hashing (a loop of them stalled every
# peer and hls for seconds).
# (A name each: a name's own limit is 5 failures.)
HASH_RETRY=0
for i in 1 2 3 4 5 6 7 8; do
  out=$(http POST /api/session -d "{\"name\":\"nobody$i\",\"password\":\"not a password at all\"}")
  [ "${out%% *}" = 401 ] || fail "limited after $((i - 1)) checks, before 8: $out"
done
out=$(http POST /api/session -d '{"name":"nobody9","password":"not a password at all"}')
[ "${out%% *}" = 429 ] && jq -e '.error.code == "rate_limited" and (.error.message | test("password checks"))' \
  <<<"${out#* }" >/dev/null || fail "the 9th check at once: $out"
grep -q "event=web_password_busy" "$WORK/a.log" || fail "the budget's refusal is not logged"
stop_node a
pass "the nodes stop cleanly; Secure cookies behind an https:// web.url; at most 8 password checks at once"
