#!/bin/sh
# Install the Debian packages vigil builds and tests with, if any are missing.
# Run by the Makefile before building; safe to run again (does nothing when
# everything is present).  Needs root (or sudo) only when something is missing.
#   scripts/deps.sh            the build and test packages
#   scripts/deps.sh PKG...     those packages instead (e.g. for make fuzz)
set -eu

pkgs="build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev \
libopenblas-dev libjansson-dev bats bats-support bats-assert gnuplot-nox iproute2 \
jq python3"
[ $# -gt 0 ] && pkgs="$*"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: run as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
