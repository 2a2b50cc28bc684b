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
for n in big new; do stop_node "$n"; done
