#!/bin/sh
# make bench: run every bench/*.sh in turn.  Each prints its own figures and
# ratios (measured in this one run) and exits non-zero if a bar is missed.
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
export BIN PATH="$BIN:$PATH" OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
fail=0
for b in bench/*.sh; do
    [ "$b" = bench/run.sh ] && continue
    echo "== $b"
    sh "$b" || { echo "FAILED: $b"; fail=1; }
done
exit $fail
