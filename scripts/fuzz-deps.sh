#!/bin/sh
# Install what `make fuzz` needs beyond scripts/deps.sh: clang and the
# compiler-rt runtime with libFuzzer and the sanitizers (Debian 12 names).
# Does nothing when both are present; needs root (or sudo) otherwise.
set -eu

pkgs="clang libclang-rt-14-dev"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "fuzz-deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "fuzz-deps: missing packages:$missing" >&2
    echo "fuzz-deps: run as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
