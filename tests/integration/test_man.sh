#!/usr/bin/env bash
# The man pages the build wrote (hls --man, hlsd --man, hlsd --man-config):
# each renders without a warning, uses no request but the man macros we
# write (table text is escaped), and names what --help names: every
# command of hls, every option of hls and hlsd, every configuration key,
# every exit code of docs/cli.md. The pages are written from the tables
# that make --help, so they cannot drift; this checks it anyway.
set -euo pipefail
: "${HLS:?}" "${HLSD:?}" "${MAN_DIR:?}" "${GROFF:?}" "${CLI_DOC:?}"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

pages=(hls.1 hlsd.8 hlsd.conf.5)

for page in "${pages[@]}"; do
  [ -s "$MAN_DIR/$page" ] || fail "$page was not built in $MAN_DIR"
  err=$("$GROFF" -man -ww -z "$MAN_DIR/$page" 2>&1) || fail "groff -man -ww -z $page failed: $err"
  [ -z "$err" ] || fail "groff -man -ww warns on $page: $err"
done
pass "every page renders without a warning (groff -man -ww -z)"

for page in "${pages[@]}"; do
  bad=$(grep -nE "^[.']" "$MAN_DIR/$page" |
    grep -vE '^[0-9]+:\.(\\"|TH|nh|SH|SS|PP|TP|B|BR|br|EX|EE|sp|SY|YS)( |$)' || true)
  [ -z "$bad" ] || fail "$page: lines that are no man macro (unescaped text?): $bad"
done
pass "every request line is a man macro: table text is escaped"

# The roff as text: fonts dropped, \- and unpaddable blanks as typed.
plain() { sed -e 's/\\f[BIR]//g' -e 's/\\-/-/g' -e 's/\\ / /g' -e 's/\\&//g' -e 's/\\e/\\/g' "$@"; }
# The tags (.TP, then one line) of section $2 of page $1, as text.
tags() {
  awk -v want="$2" '/^\.SH / { sh = $0; sub(/^\.SH "?/, "", sh); sub(/"$/, "", sh); next }
    sh == want && tp { print; tp = 0; next } { tp = ($0 == ".TP") }' "$MAN_DIR/$1" |
    plain | sed -e 's/^\.B "\(.*\)"$/\1/'
}

# hls(1): a subsection "hls NAME" per command of 'hls --help'. Names of
# one or two words, and the summary after them: the longest name that
# starts the line is the command.
mapfile -t headings < <(sed -n 's/^\.SS "hls \(.*\)"$/\1/p' "$MAN_DIR/hls.1" | plain)
[ "${#headings[@]}" -gt 30 ] || fail "hls.1 has ${#headings[@]} command subsections"
mapfile -t lines < <("$HLS" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on')
[ "${#lines[@]}" -eq "${#headings[@]}" ] ||
  fail "hls --help lists ${#lines[@]} commands, hls.1 has ${#headings[@]}"
for line in "${lines[@]}"; do
  best=
  for h in "${headings[@]}"; do
    [[ $line == "  $h "* && ${#h} -gt ${#best} ]] && best=$h
  done
  [ -n "$best" ] || fail "hls.1 has no command subsection for:$line"
done
pass "hls.1 has a subsection for each of the ${#lines[@]} commands of hls --help"

mapfile -t flags < <("$HLS" --help | sed -n '/^Options:/,/^$/s/^  \(--[a-z-]*\).*/\1/p')
[ "${#flags[@]}" -gt 0 ] || fail "no options in hls --help"
man_flags=$(tags hls.1 OPTIONS | awk '{ print $1 }')
for flag in "${flags[@]}"; do
  grep -qx -- "$flag" <<<"$man_flags" || fail "hls.1 OPTIONS lacks $flag"
done
pass "hls.1 describes hls's options: ${flags[*]}"

codes=$(sed -n 's/^| \([0-9]\) | .*/\1/p' "$CLI_DOC" | sort)
[ -n "$codes" ] || fail "no exit codes in $CLI_DOC"
man_codes=$(tags hls.1 "EXIT STATUS" | sort)
[ "$codes" = "$man_codes" ] || fail "exit codes: docs/cli.md has $(echo $codes), hls.1 has $(echo $man_codes)"
pass "hls.1 EXIT STATUS has the exit codes of docs/cli.md: $(echo $codes)"

# hlsd(8): every option of 'hlsd --help', and no other.
help_flags=$("$HLSD" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p' | sort)
man_flags=$(tags hlsd.8 OPTIONS | awk '{ print $1 }' | sort)
[ "$(wc -l <<<"$help_flags")" -gt 5 ] || fail "hlsd --help lists too few options"
[ "$help_flags" = "$man_flags" ] ||
  fail "options: hlsd --help has $(echo $help_flags), hlsd.8 has $(echo $man_flags)"
pass "hlsd.8 OPTIONS are those of hlsd --help ($(wc -l <<<"$help_flags"))"

# hlsd.conf(5): every key of 'hlsd --help-config', and no other.
keys=$("$HLSD" --help-config | sed -n 's/^\([a-z_]*\.[a-z_]*\)  (.*/\1/p' | sort)
man_keys=$(tags hlsd.conf.5 OPTIONS | sort)
[ "$(wc -l <<<"$keys")" -gt 40 ] || fail "hlsd --help-config lists too few keys"
[ "$keys" = "$man_keys" ] || fail "keys differ: $(diff <(echo "$keys") <(echo "$man_keys") | tr '\n' ' ')"
pass "hlsd.conf.5 OPTIONS are the $(wc -l <<<"$keys") keys of hlsd --help-config"

# The sections man(7) asks for, and the data directory's files.
for page in hls.1 hlsd.8; do
  for sh in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
    grep -qx ".SH \"$sh\"" "$MAN_DIR/$page" || fail "$page has no section $sh"
  done
  for file in hlsd.conf hlsd.sock secret.key network.key hlsd.db; do
    tags "$page" FILES | grep -qx "DIR/$file" || fail "$page FILES lacks DIR/$file"
  done
  tags "$page" ENVIRONMENT | grep -qx HLS_HOME || fail "$page ENVIRONMENT lacks HLS_HOME"
done
pass "hls.1 and hlsd.8 have every section, HLS_HOME and the data directory's files"
