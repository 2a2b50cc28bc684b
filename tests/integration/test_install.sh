#!/usr/bin/env bash
# cmake --install puts hlsd, hls, the docs, the systemd unit, the man pages
# and the bash completions in place, and the installed binaries run.
set -euo pipefail
: "${BUILD_DIR:?}"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hls-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null
for f in bin/hlsd bin/hls share/doc/hlsd/README.md share/doc/hlsd/cli.md share/doc/hlsd/operations.md \
  share/doc/hlsd/data-model.md share/doc/hlsd/control.md share/hlsd/hlsd.service; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
# The man pages, gzipped as Debian packages them (or plain, when the build
# found no gzip), and the bash completions where bash-completion looks.
for page in man1/hls.1 man5/hlsd.conf.5 man8/hlsd.8; do
  f=$prefix/share/man/$page
  if [ -e "$f.gz" ]; then
    gzip -t "$f.gz" || { echo "FAIL: $f.gz is not gzip" >&2; exit 1; }
    head=$(gzip -dc "$f.gz" | grep -m1 '^\.TH ')
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
"$prefix/bin/hlsd" --version | grep -q "^hlsd [0-9]" || { echo "FAIL: installed hlsd" >&2; exit 1; }
"$prefix/bin/hls" --version | grep -q "^hls [0-9]" || { echo "FAIL: installed hls" >&2; exit 1; }
echo "ok - cmake --install"
