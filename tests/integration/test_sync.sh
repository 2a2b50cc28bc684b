#!/usr/bin/env bash
# hls sync on a join: a node holding the chains of 1,500 places (more
# origins than one vector frame carries) and a fresh node that adds it as
# a peer and runs `hls sync` at once. sync returns only when every
# connected peer has sent its whole vector and everything it advertised
# has arrived (a peer still being dialled is waited for), so the item
# counts are then equal. Before: {"up_to_date":true,"items":1281} with
# 10,463 items to come (the origins a fresh node did not follow yet were
# not counted as behind).
. "$(dirname "$0")/lib.sh"
: "${HLS_GEN_ITEMS:?HLS_GEN_ITEMS must name the hls_gen_items tool}"

FAST=(--set network.reconnect_min=200ms --set network.reconnect_max=1s --set network.keepalive=1s
      --set gossip.interval=50ms)

"$HLS_GEN_ITEMS" --out "$WORK/chains" --places 1500 --weeks 2 --themes 20 >/dev/null || fail "hls_gen_items"
PLACE="Big partner" init_node big --role partner
start_node big "${FAST[@]}"
hls_at big import-items "$WORK/chains" >/dev/null || fail "import-items"
big_items=$(hls_at big --json status | jq .gossip.items)
[ "$big_items" -ge 4500 ] || fail "the big node holds only $big_items items"
big_id=$(hls_at big --json status | jq -r .node_id)
big_addr=$(hls_at big --json status | jq -r .listening_on)

PLACE="Newcomer" init_node new --network-key "$(hls_at big network key)"
start_node new "${FAST[@]}"
hls_at new peer add "$big_addr" "$big_id" >/dev/null || fail "peer add"
out=$(hls_at new --json sync --timeout 120) || fail "sync: $out"
new_items=$(hls_at new --json status | jq .gossip.items)
jq -e '.gossip.vectors_pending == 0 and .gossip.behind == 0' <<<"$(hls_at new --json status)" >/dev/null \
  || fail "status after sync: $(hls_at new --json status | jq -c .gossip)"

# The newcomer holds every item of the big node, plus its own profile.
[ "$new_items" -ge "$big_items" ] || fail "sync said $out, but the node holds $new_items of $big_items items"
# (received counts from sync's first look: items may flow from peer add on)
jq -e '.up_to_date == true and .items >= '"$big_items" <<<"$out" >/dev/null || fail "sync's report: $out"
pass "sync after peer add waits for the whole vector and every item ($new_items items)"

# A session that drops while sync waits: a third node starts catching up
# from big, big is frozen (SIGSTOP) while it is behind, its session times
# out (keepalive 1 s); sync must not call that up to date, and finishes
# once big is back (SIGCONT) and every item has arrived. big sends one
# item a frame, one frame in flight, so the catch-up lasts seconds, not
# the moment between seeing it start and freezing big.
stop_node new
stop_node big
start_node big "${FAST[@]}" --listen "$big_addr" --set gossip.batch_items=1 --set gossip.window=1
PLACE="Late" init_node late --network-key "$(hls_at big network key)"
start_node late "${FAST[@]}" --set network.idle_timeout=3s
hls_at late peer add "$big_addr" "$big_id" >/dev/null || fail "peer add"
catching_up() { jq -e '.gossip.sessions == 1 and .gossip.items_received > 0' <<<"$(hls_at late --json status)"; }
wait_for 30 catching_up || fail "late did not start catching up"
kill -STOP "${DAEMON_PID[big]}"
held=$(hls_at late --json status | jq .gossip.items)
if [ "$held" -ge "$big_items" ]; then
  kill -CONT "${DAEMON_PID[big]}"
  fail "late caught up before big was frozen ($held items): the test would prove nothing"
fi
hls_at late --json sync --timeout 120 >"$WORK/late-sync.json" 2>&1 &
sync_pid=$!
no_session() { [ "$(hls_at late --json status | jq .gossip.sessions)" = 0 ]; }
wait_for 30 no_session || { kill -CONT "${DAEMON_PID[big]}"; fail "late's session with the frozen big did not close"; }
kill -0 "$sync_pid" 2>/dev/null || { kill -CONT "${DAEMON_PID[big]}"; fail "sync returned once the session dropped: $(cat "$WORK/late-sync.json")"; }
kill -CONT "${DAEMON_PID[big]}"
wait "$sync_pid" || fail "sync after the drop: $(cat "$WORK/late-sync.json")"
late_items=$(hls_at late --json status | jq .gossip.items)
[ "$late_items" -ge "$big_items" ] || fail "sync said $(cat "$WORK/late-sync.json"), but late holds $late_items of $big_items"
pass "a session dropped during sync (big frozen at $held of $big_items items held) is waited for: sync ended with all $late_items items"
for n in big late; do stop_node "$n"; done
