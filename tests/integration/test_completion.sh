#!/usr/bin/env bash
# The bash completions the build wrote (hls --bash-completion, hlsd
# --bash-completion), loaded as bash-completion loads them: commands,
# sub-commands, flags, flag values and file names at the cursor. Then
# every flag offered must be one its command takes, and hlsd's flags
# those of hlsd --help.
# Not set -eu: bash-completion's functions are not written for it.
set -o pipefail
: "${HLS:?}" "${HLSD:?}" "${COMPLETIONS_DIR:?}" "${BASH_COMPLETION:?}"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# shellcheck source=/dev/null
source "$BASH_COMPLETION" || fail "cannot load $BASH_COMPLETION"
# shellcheck source=/dev/null
source "$COMPLETIONS_DIR/hls" || fail "cannot load the completion of hls"
# shellcheck source=/dev/null
source "$COMPLETIONS_DIR/hlsd" || fail "cannot load the completion of hlsd"
[ "$(complete -p hls)" = "complete -F _hls hls" ] || fail "hls: $(complete -p hls)"
[ "$(complete -p hlsd)" = "complete -F _hlsd hlsd" ] || fail "hlsd: $(complete -p hlsd)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hls-completion.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/sub" "$WORK/sub2"
touch "$WORK/a.csv" "$WORK/b.txt"

# complete LINE: what bash completes with the cursor at the end of LINE,
# in $got (sorted, one line). COMP_WORDS are split as bash splits them:
# at blanks, and at '=' and ':' (COMP_WORDBREAKS), which stay words.
complete_line() {
  local line=$1 word= ch i
  COMP_LINE=$line COMP_POINT=${#line} COMP_WORDS=()
  for ((i = 0; i < ${#line}; i++)); do
    ch=${line:i:1}
    if [[ $ch == ' ' ]]; then
      [ -n "$word" ] && COMP_WORDS+=("$word")
      word=
    elif [[ $ch == [=:] ]]; then
      [ -n "$word" ] && COMP_WORDS+=("$word")
      COMP_WORDS+=("$ch")
      word=
    else
      word+=$ch
    fi
  done
  COMP_WORDS+=("$word")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  "_${COMP_WORDS[0]}" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
  got=${got% }
}

# expect LINE [WORD...]: completing LINE offers exactly the WORDs.
expect() {
  local line=$1 want
  shift
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
  want=${want% }
  complete_line "$line"
  [ "$got" = "$want" ] || fail "'$line<TAB>': got [$got], want [$want]"
}

expect "hls rec" record
expect "hls imp" import import-items
expect "hls pe" peer
expect "hls --home $WORK rec" record
expect "hls --json record li" list
expect "hls he" help
pass "hls: commands by prefix, after hls's options"

expect "hls record " add list show edit export delete search
expect "hls chain " accept-loss
expect "hls share ex" export
expect "hls help record " add list show edit export delete search
expect "hls help fe" feed
pass "hls: sub-commands of a group (and of hls help)"

expect "hls record list --s" --scale --stage --since
expect "hls record add --consent-" --consent-by --consent-purpose --consent-expires
expect "hls record edit 3 --ret" --retain-until
expect "hls patterns show --" --places --cells --home --json --help
expect "hls -" --home --json --version --help
expect "hls --j" --json
expect "hls record show 3 --j" --json
pass "hls: each command's flags, and hls's own"

expect "hls record add --scale " person organisation place country
expect "hls record list --stage " purpose understand co-design experiment reflect embed
expect "hls record edit 4 --consent p" private peers
expect "hls consent set 4 " private aggregate peers network
expect "hls record export --format " csv json
expect "hls init --place X --role " place partner
expect "hls patterns --signal " spread emerging rising together cross-scale
expect "hls feed subscribe news --kind " problem aspiration strength practice
expect "hls items --type " profile digest story tombstone receipt vouch fork rekey successor
expect "hls record add --scale=or" organisation
expect "hls --home $WORK record add --consent a" aggregate
expect "hls record list --theme "
expect "hls record add --title x --stage e" experiment embed
pass "hls: the values of --scale, --stage, --consent, --format, --role, --signal, --kind, --type"

expect "hls import $WORK/" "$WORK/a.csv" "$WORK/sub" "$WORK/sub2"
expect "hls backup $WORK/" "$WORK/a.csv" "$WORK/b.txt" "$WORK/sub" "$WORK/sub2"
expect "hls inspect $WORK/b" "$WORK/b.txt"
expect "hls record add --file $WORK/a" "$WORK/a.csv"
expect "hls share export 7 $WORK/b" "$WORK/b.txt"
expect "hls share export $WORK/b"
expect "hls import-items $WORK/" "$WORK/sub" "$WORK/sub2"
expect "hls --home $WORK/" "$WORK/sub" "$WORK/sub2"
expect "hls status --home=$WORK/s" "$WORK/sub" "$WORK/sub2"
pass "hls: file names for FILE (CSV files for import), directories for DIR and --home"

expect "hls nosuch "
expect "hls nosuch --"
expect "hls nosuch --scale "
expect "hls status "
expect "hls record show "
pass "hls: nothing for an unknown command, nor where nothing is known"

# Every command's first word is offered.
for w in $("$HLS" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' | sort -u); do
  expect "hls $w" $(compgen -W "$_hls_commands" -- "$w")
  [[ " $got " == *" $w "* ]] || fail "hls $w<TAB> does not offer $w"
done
pass "hls: every command of hls --help is offered"

# Every flag offered is one its command takes: with a value when the
# completion says it takes one (--flag=VALUE), without otherwise (then
# --help would be taken as its value and not print the help).
IFS='|' read -ra names <<<"${_hls_names#|}"
[ "${#names[@]}" -gt 30 ] || fail "only ${#names[@]} commands in the completion"
checked=0
for name in "${names[@]}"; do
  _hls_flags "$name" || fail "no flags for $name"
  read -ra cmd_words <<<"$name"
  for flag in $_hls_words; do
    tries=("$flag")
    if _hls_valued_flag "$name" "$flag"; then
      cur= COMPREPLY=()
      _hls_value "$name $flag" 2>/dev/null
      tries=()
      for value in "${COMPREPLY[0]:-1}" 2024-01-01; do tries+=("$flag=$value"); done
    fi
    ok=
    for arg in "${tries[@]}"; do
      out=$(HLS_HOME="$WORK/none" "$HLS" "${cmd_words[@]}" "$arg" --help 2>"$WORK/err") &&
        [[ $out == "Usage: hls $name"* ]] && ok=1 && break
    done
    [ -n "$ok" ] || fail "hls $name does not take ${tries[*]}: $(cat "$WORK/err")"
    checked=$((checked + 1))
  done
done
pass "hls: each of the $checked flags offered is taken by its command"

expect "hlsd --lo" --log-level
expect "hlsd --log-level " error warn info debug
expect "hlsd --home $WORK/" "$WORK/sub" "$WORK/sub2"
expect "hlsd --config $WORK/a" "$WORK/a.csv"
expect "hlsd --set log.le" log.level=
expect "hlsd --set log.level=d" debug
expect "hlsd --set node.role=p" place partner
expect "hlsd --set=store.sync" store.synchronous=
expect "hlsd --listen "
expect "hlsd --ma"
expect "hlsd --bash"
pass "hlsd: flags, --log-level and --set's keys and values, files and directories"

complete_line "hlsd --"
help_flags=$("$HLSD" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p' | sort | tr '\n' ' ')
[ "$got" = "${help_flags% }" ] || fail "hlsd --<TAB>: got [$got], hlsd --help has [$help_flags]"
keys=$("$HLSD" --help-config | sed -n 's/^\([a-z_]*\.[a-z_]*\)  (.*/\1=/p' | sort | tr '\n' ' ')
complete_line "hlsd --set "
[ "$got" = "${keys% }" ] || fail "hlsd --set <TAB> differs from hlsd --help-config"
pass "hlsd: the flags of hlsd --help, the keys of hlsd --help-config"
