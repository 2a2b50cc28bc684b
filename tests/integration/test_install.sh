#!/usr/bin/env bash
# cmake --install puts hlsd, hls, the docs and the systemd unit in place,
# and the installed binaries run.
set -euo pipefail
: "${BUILD_DIR:?}"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hls-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null
for f in bin/hlsd bin/hls share/doc/hlsd/README.md share/doc/hlsd/cli.md share/doc/hlsd/operations.md \
  share/doc/hlsd/data-model.md share/doc/hlsd/control.md share/hlsd/hlsd.service; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
"$prefix/bin/hlsd" --version | grep -q "^hlsd [0-9]" || { echo "FAIL: installed hlsd" >&2; exit 1; }
"$prefix/bin/hls" --version | grep -q "^hls [0-9]" || { echo "FAIL: installed hls" >&2; exit 1; }
echo "ok - cmake --install"
