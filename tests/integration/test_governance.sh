#!/usr/bin/env bash
# hls governance report (docs/governance.md): the record of processing from
# a real node's state: purposes from consent, records by consent and scale,
# items published, story decisions, the direct peers and the places known,
# disclosure control, the audit log; as Markdown, HTML (a place's name
# with markup shown as text) and JSON; a lead's method (a viewer of the web
# app is refused).
. "$(dirname "$0")/lib.sh"

PLACE="Gates<b>head</b> | Council" init_node a
key=$(hls_at a network key)
init_node b --network-key "$key"
start_node a --set publish.delay=0
start_node b --set publish.delay=0
id_a=$(hls_at a --json status | jq -r .node_id)
id_b=$(hls_at b --json status | jq -r .node_id)
addr_b=$(hls_at b --json status | jq -r .listening_on)
hls_at a peer add "$addr_b" "$id_b" >/dev/null
hls_at a record add --title "SECRET-TITLE" --scale person --stage experiment --theme housing --learnt "SECRET-TEXT" \
  --consent network --consent-by person --consent-purpose "learning across places" >/dev/null
hls_at a record add --title "Two" --scale organisation --stage reflect --consent peers --consent-by lead \
  --consent-purpose "learning across places" --consent-expires 2099-01-01 >/dev/null
hls_at a record add --title "Three" --scale place --stage embed >/dev/null
hls_at a share approve 1 >/dev/null
hls_at a share reject 2 >/dev/null
known() { [ "$(hls_at a --json governance report | jq .recipients.places_known)" = 1 ]; }
wait_for 30 known || fail "a never heard of b: $(hls_at a --json governance report | jq -c .recipients)"
story_out() { [ "$(hls_at a --json governance report | jq .sharing.published.stories)" = 1 ]; }
wait_for 30 story_out || fail "the approved story was not published"

r=$(hls_at a --json governance report)
jq -e --arg b "$id_b" --arg a "$id_a" '
  .node.node_id == $a and .node.place == "Gates<b>head</b> | Council"
  and .purposes == [{"purpose": "learning across places", "records": 2}]
  and .records == {"total": 3, "by_consent": {"private": 1, "aggregate": 0, "peers": 1, "network": 1},
    "by_scale": {"person": 1, "organisation": 1, "place": 1, "country": 0}, "with_free_text": 1,
    "with_consent_expiry": 1}
  and .sharing.stories.approved == 1 and .sharing.stories.rejected == 1
  and .sharing.published.profiles >= 1 and (.sharing.published | has("digests") and has("tombstones") and has("receipts"))
  and .sharing.suppression_threshold == 10 and .sharing.rounding == 5 and .sharing.disclosure_method == "hls-sdc-2"
  and (.recipients.peers | map(.node_id)) == [$b] and .recipients.places_known == 1
  and .retention.records_with_consent_expiry == 1
  and .security.audit.whole and .security.audit.entries >= 6 and (.security.web.url | startswith("http://127.0.0.1:"))
' <<<"$r" >/dev/null || fail "the report: $r"
! grep -q SECRET <<<"$r" || fail "a record's text in the report"
pass "the report's facts are the node's: purposes, records, published items, decisions, peers, places, audit"

md=$(hls_at a governance report)
grep -q '^# Record of processing: Gates&lt;b&gt;head&lt;/b&gt; \\| Council$' <<<"$md" || fail "Markdown title: $(head -3 <<<"$md")"
grep -q '^| learning across places | 2 |$' <<<"$md" || fail "Markdown purposes"
grep -q "^| $id_b | $addr_b |$" <<<"$md" || fail "Markdown peers"
hls_at a governance report --format html >"$WORK/report.html"
python3 - "$WORK/report.html" <<'PY' || fail "HTML: $(head -c 600 "$WORK/report.html")"
import sys
from html.parser import HTMLParser
tags = []
class P(HTMLParser):
    def handle_starttag(self, tag, attrs): tags.append(tag)
    def handle_data(self, data): pass
text = open(sys.argv[1], encoding="utf-8").read()
P().feed(text)
assert "b" not in tags, tags          # the place's <b> is text, not an element
assert "Gates&lt;b&gt;head&lt;/b&gt; | Council" in text
assert tags.count("table") >= 6, tags
PY
expect_fail 2 "md, html or json" hls_at a governance report --format pdf
pass "Markdown and HTML, with a place's markup escaped"

url=$(hls_at a --json status | jq -r .web.url)
link=$(hls_at a --json user add vic --role viewer | jq -r .link)
csrf=$(curl -s -c "$WORK/jar" -X POST "$url/api/session/redeem" -d "{\"token\":\"${link##*/#/welcome/}\"}" | jq -r .result.csrf)
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar" -X POST "$url/api/call/governance.report" -H "X-CSRF-Token: $csrf")
[ "$code" = 403 ] || fail "a viewer got the report: HTTP $code"
pass "the report is a lead's (a viewer is refused)"
stop_node b
stop_node a
