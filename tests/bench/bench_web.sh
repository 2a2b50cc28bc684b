#!/usr/bin/env bash
# The web app's server time per page at a national scale (docs/benchmarks.md,
# "The web app"): a node holding PLACES generated places x WEEKS weeks
# (hls_gen_items) and 500 records of its own; for each page of the app, the
# API calls it makes, timed with curl over loopback RUNS times; prints the
# median and the 90th percentile of each call and of each page (its calls
# one after another), and the machine's load. With python3-selenium and
# Debian chromium, also the time until a pattern's page shows its chart in
# a headless browser (navigation start to the chart's SVG in the page).
#
#   tests/bench/bench_web.sh HLSD HLS HLS_GEN_ITEMS [PLACES [WEEKS [RUNS]]]
#   (defaults 1000 52 21; build with: cmake --build build/release --target hls_gen_items)
set -euo pipefail
HLSD=$1 HLS=$2 GEN=$3
PLACES=${4:-1000} WEEKS=${5:-52} RUNS=${6:-21}
WORK=$(mktemp -d /tmp/bench-web.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
hls() { "$HLS" --home "$WORK/node" "$@"; }

echo "# generating $PLACES places x $WEEKS weeks"
"$GEN" --out "$WORK/items" --places "$PLACES" --weeks "$WEEKS" >/dev/null
"$HLS" --home "$WORK/node" init --place "Bench Place" --region "Bench" --listen 127.0.0.1:0 --web 127.0.0.1:0 >/dev/null
"$HLSD" --home "$WORK/node" --log-level warn >"$WORK/hlsd.log" 2>&1 &
pid=$!
for _ in $(seq 500); do hls status >/dev/null 2>&1 && break; sleep 0.02; done
echo "# importing the items"
hls import-items "$WORK/items" >/dev/null
for _ in $(seq 3000); do
  [ "$(hls --json status | jq -r .patterns.state)" = ready ] && break
  sleep 0.2
done
{
  echo "title,scale,stage,date,themes,learnt,consent,consent_by"
  for i in $(seq 500); do
    echo "Record $i,person,experiment,2026-0$((i % 9 + 1))-1$((i % 9)),theme-$((i % 40)),What we learnt $i,network,person"
  done
} >"$WORK/records.csv"
hls import "$WORK/records.csv" >/dev/null
url=$(hls --json status | jq -r .web.url)
token=$(hls --json user add bench --role admin | jq -r .link)
token=${token##*/#/welcome/}
csrf=$(curl -s -c "$WORK/jar" -b "$WORK/jar" -X POST "$url/api/session/redeem" -d "{\"token\":\"$token\"}" |
  jq -r .result.csrf)
# A password, or the app asks for one before any page.
curl -s -b "$WORK/jar" -X POST "$url/api/session/password" -H "X-CSRF-Token: $csrf" \
  -d '{"password":"benchmark password"}' >/dev/null
pattern=$(curl -s -b "$WORK/jar" -X POST "$url/api/call/patterns" -H "X-CSRF-Token: $csrf" -d '{"limit":1}' |
  jq -r '.result.patterns[0].id')
story=$(curl -s -b "$WORK/jar" -X POST "$url/api/call/stories" -H "X-CSRF-Token: $csrf" -d '{"limit":1}' |
  jq -r '.result.stories[0].id')
echo "# $(hls --json status | jq -c '{items: .gossip.items, places: .gossip.chains, records: .records.total,
  patterns: .patterns.live}')"

# time_call METHOD JSON: seconds of one call (curl's time_total).
time_call() {
  curl -s -o /dev/null -w '%{time_total}\n' -b "$WORK/jar" -X POST "$url/api/call/$1" -H "X-CSRF-Token: $csrf" \
    -H 'Content-Type: application/json' -d "$2"
}
# stats: median and p90 in ms of the numbers on stdin.
stats() { sort -g | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; p=v[int(NR*0.9+0.5)]; printf "%8.1f %8.1f", m*1000, p*1000}'; }

declare -A pages=(
  ["record"]='themes {}|themes.network {}'
  ["records"]='record.list {"limit":200,"full":true}'
  ["review"]='share.review {}|share.preview {}'
  ["stories"]='stories {"limit":50}'
  ["story"]="stories.show {\"id\":\"$story\"}"
  ["patterns"]='patterns {"limit":50}|patterns.summary {}'
  ["pattern"]="patterns.show {\"id\":\"$pattern\"}"
  ["network"]='status {}|places {"limit":100}|peer.list {}|feed.list {}'
)
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $RUNS runs each; ms"
printf "%-10s %-40s %8s %8s\n" page call median p90
for page in record records review stories story patterns pattern network; do
  IFS='|' read -ra calls <<<"${pages[$page]}"
  : >"$WORK/page"
  for ((r = 0; r < RUNS; r++)); do
    total=0
    for c in "${calls[@]}"; do
      t=$(time_call "${c%% *}" "${c#* }")
      echo "$t" >>"$WORK/call-${c%% *}"
      total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
    done
    echo "$total" >>"$WORK/page"
  done
  for c in "${calls[@]}"; do
    printf "%-10s %-40s %s\n" "$page" "${c%% *}" "$(stats <"$WORK/call-${c%% *}")"
    rm -f "$WORK/call-${c%% *}"
  done
  printf "%-10s %-40s %s\n" "$page" "(the page)" "$(stats <"$WORK/page")"
done

# Debian's python3-selenium is for Debian's python3 (not a pyenv's or a venv's).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if "$py" -c 'import selenium' 2>/dev/null && command -v chromium >/dev/null; then
  cookie_name="hls_session_${url##*:}"
  session_cookie=$(awk -v n="$cookie_name" '$6 == n {print $7}' "$WORK/jar")
  "$py" - "$url" "$cookie_name" "$session_cookie" "$pattern" "$RUNS" <<'PY'
import statistics, sys
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait
url, cookie_name, cookie, pattern, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
o = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
    o.add_argument(a)
o.binary_location = "/usr/bin/chromium"
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
try:
    d.get(url + "/")
    d.add_cookie({"name": cookie_name, "value": cookie, "path": "/"})
    times = []
    for _ in range(runs):
        d.get("about:blank")
        d.get(url + "/#/pattern/" + pattern)
        WebDriverWait(d, 10).until(lambda x: x.execute_script(
            "return document.querySelector('main svg') !== null"))
        times.append(d.execute_script("return performance.now()"))
    times.sort()
    print("%-10s %-40s %8.1f %8.1f" % ("pattern", "(browser: load to chart shown)", statistics.median(times),
                                       times[int(len(times) * 0.9 + 0.5) - 1]))
finally:
    d.quit()
PY
fi
