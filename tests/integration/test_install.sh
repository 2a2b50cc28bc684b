#!/usr/bin/env bash
# cmake --install puts hlsd, hls, the docs, the systemd unit (made for the
# install prefix), the sysusers.d file, the man pages and the bash
# completions in place, and the installed binaries run.
set -euo pipefail
: "${BUILD_DIR:?}"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hls-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null
unit=$prefix/lib/systemd/system/hlsd.service
sysusers=$prefix/lib/sysusers.d/hlsd.conf
for f in bin/hlsd bin/hls share/doc/hlsd/README.md share/doc/hlsd/cli.md share/doc/hlsd/operations.md \
  share/doc/hlsd/data-model.md share/doc/hlsd/control.md "${unit#"$prefix/"}" "${sysusers#"$prefix/"}"; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
# The man pages, gzipped as Debian packages them (or plain, when the build
# found no gzip), and the bash completions where bash-completion looks.
for page in man1/hls.1 man5/hlsd.conf.5 man8/hlsd.8; do
  f=$prefix/share/man/$page
  if [ -e "$f.gz" ]; then
    gzip -t "$f.gz" || { echo "FAIL: $f.gz is not gzip" >&2; exit 1; }
    # whole first: grep -m1 stops at its match, and gzip, still writing,
    # would die of SIGPIPE, which pipefail makes a silent failure
    text=$(gzip -dc "$f.gz")
    head=$(grep -m1 '^\.TH ' <<<"$text")
  elif [ -e "$f" ]; then
    head=$(grep -m1 '^\.TH ' "$f")
  else
    echo "FAIL: $page not installed in $prefix/share/man" >&2; exit 1
  fi
  case $head in .TH\ \"*) ;; *) echo "FAIL: $page is no man page: $head" >&2; exit 1 ;; esac
done
for name in hls hlsd; do
  f=$prefix/share/bash-completion/completions/$name
  [ -s "$f" ] || { echo "FAIL: the completion of $name is not in $prefix/share/bash-completion/completions" >&2; exit 1; }
  grep -q "^ *complete -F _$name $name\$" "$f" || { echo "FAIL: $f completes no $name" >&2; exit 1; }
done
"$prefix/bin/hlsd" --version | grep -q "^hlsd [0-9]" || fail "installed hlsd"
"$prefix/bin/hls" --version | grep -q "^hls [0-9]" || fail "installed hls"
echo "ok - cmake --install"

# The unit runs the hlsd of this prefix (not a fixed /usr/local/bin).
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "$prefix/bin/hlsd --home /var/lib/hlsd --set control.group=hlsd" ] ||
  fail "unit ExecStart is '$exec_start'"
grep -qx "Documentation=file:$prefix/share/doc/hlsd/operations.md" "$unit" || fail "unit Documentation= not in the prefix"
for line in Type=notify NotifyAccess=main StateDirectory=hlsd StateDirectoryMode=0710 User=hlsd Group=hlsd \
  ConditionPathExists=/var/lib/hlsd/hlsd.conf LimitNOFILE=8192 TimeoutStartSec=5min; do
  grep -qx "$line" "$unit" || fail "unit lacks $line"
done
! grep -v '^#' "$unit" | grep -q '@' || fail "unit has an unreplaced @VARIABLE@"
# systemd's own check, where systemd is installed (it need not be running).
if command -v systemd-analyze >/dev/null 2>&1; then
  complaints=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" 2>&1 | grep -F "$unit" || true)
  [ -z "$complaints" ] || fail "systemd-analyze verify: $complaints"
fi
echo "ok - the unit is made for the prefix"

grep -qx 'u hlsd - "hlsd learning node" /var/lib/hlsd' "$sysusers" || fail "sysusers.d file: $(cat "$sysusers")"
grep -qx 'g hlsd -' "$sysusers" || fail "sysusers.d file lacks the group"
echo "ok - sysusers.d file"
