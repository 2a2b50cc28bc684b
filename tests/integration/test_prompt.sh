#!/usr/bin/env bash
# On a terminal, "hls record add" with no flags asks for each field (and
# re-asks after a bad answer); "hls record edit ID" with no flags opens the
# record in $EDITOR. A pseudo-terminal comes from script(1).
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || fail "script(1) (bsdutils) is needed"

init_node a
start_node a

# Answers: a bad scale first (re-asked), then the rest; consent above
# private asks who gave it (an empty answer is re-asked).
answers='Prompted title\ngalaxy\nperson\nexperiment\n2026-06-01\nhousing; strength:peer support\n'
answers+='Some context\nsecond line\n\n\n\nWe learnt\n\nlead practitioner\naggregate\n\nlearning lead\nservice design\n2027-01-01\n'
transcript=$(printf "$answers" | script -qec "'$HLS' --home '$WORK/a' record add" /dev/null)
grep -q "scale: expected person|organisation|place|country" <<<"$transcript" || fail "bad scale not re-asked"
grep -q "consent_by is required" <<<"$transcript" || fail "empty consent_by not re-asked"
r=$(hls_at a --json record show 1)
[ "$(jq -r '[.title, .scale, .stage, .date, .context, .learnt, .author_role, .consent, .consent_by, .consent_purpose, .consent_expires] | join("|")' <<<"$r")" \
  = "Prompted title|person|experiment|2026-06-01|Some context
second line|We learnt|lead practitioner|aggregate|learning lead|service design|2027-01-01" ] || fail "prompted record: $r"
[ "$(jq -r '[.themes[] | .kind + ":" + .name] | join(",")' <<<"$r")" = "problem:housing,strength:peer-support" ] \
  || fail "prompted themes"
pass "record add prompts on a terminal"

# Ctrl-D cancels and records nothing.
printf 'Half a record\n' | script -qec "'$HLS' --home '$WORK/a' record add" /dev/null >/dev/null || true
[ "$(count_records a)" = 1 ] || fail "a cancelled prompt recorded something"
pass "Ctrl-D cancels"

# record edit opens $EDITOR on the record as JSON.
cat >"$WORK/editor.sh" <<'SH'
#!/bin/sh
sed -i 's/"stage": "experiment"/"stage": "reflect"/' "$1"
SH
chmod +x "$WORK/editor.sh"
EDITOR="$WORK/editor.sh" script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null >/dev/null
[ "$(hls_at a --json record show 1 | jq -r .stage)" = reflect ] || fail "edit in editor"
out=$(EDITOR=true script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null)
grep -q "No changes" <<<"$out" || fail "unchanged edit: $out"
cat >"$WORK/breaker.sh" <<'SH'
#!/bin/sh
echo '{"stage": ' >"$1"
SH
chmod +x "$WORK/breaker.sh"
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
out=$(EDITOR="$WORK/breaker.sh" script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null) || true
grep -q "bad JSON" <<<"$out" || fail "broken edit: $out"
[ "$(hls_at a --json record show 1 | jq -r .stage)" = reflect ] || fail "a broken edit changed the record"
# what was typed is kept, and said where (it was deleted)
kept=$(sed -n 's/^hls: your edit is kept in \([^;]*\); mend it, then: hls record edit 1 --file .*/\1/p' <<<"$out" | tr -d '\r')
[ -n "$kept" ] && [ "$(cat "$kept")" = '{"stage": ' ] || fail "a broken edit was not kept: $out"
rm -f "$kept"
# a value hlsd refuses: kept too, then mended and applied with --file
cat >"$WORK/galaxy.sh" <<'SH'
#!/bin/sh
sed -i 's/"stage": "reflect"/"stage": "galaxy"/' "$1"
SH
chmod +x "$WORK/galaxy.sh"
out=$(EDITOR="$WORK/galaxy.sh" script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null) && fail "stage galaxy taken"
kept=$(sed -n 's/^hls: your edit is kept in \([^;]*\); mend it.*/\1/p' <<<"$out" | tr -d '\r')
grep -q '"stage": "galaxy"' "$kept" || fail "a refused edit was not kept: $out"
sed -i 's/"galaxy"/"embed"/' "$kept"
hls_at a record edit 1 --file "$kept" >/dev/null || fail "the kept edit, mended, with --file"
[ "$(hls_at a --json record show 1 | jq -r .stage)" = embed ] || fail "the mended edit"
rm -f "$kept"
cat >"$WORK/apply.sh" <<'SH'
#!/bin/sh
sed -i 's/"stage": "embed"/"stage": "reflect"/' "$1"
SH
chmod +x "$WORK/apply.sh"
EDITOR="$WORK/apply.sh" script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null >/dev/null
[ "$(hls_at a --json record show 1 | jq -r .stage)" = reflect ] || fail "edit in editor, again"
EDITOR=true script -qec "'$HLS' --home '$WORK/a' record edit 1" /dev/null >/dev/null
[ -z "$(ls -A "$TMPDIR")" ] || fail "an applied or unchanged edit left its file: $(ls "$TMPDIR")"
unset TMPDIR
pass "record edit in \$EDITOR; an edit that cannot be applied is kept, and said where"

stop_node a
