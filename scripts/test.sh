#!/bin/sh
# Run the unit self-test and every bats file; print TAP as it goes and, as the
# last line, "N passed, N failed".  Exit 1 if anything failed.
#   BIN      directory with the built programs (default: ./bin)
#   TESTS    bats files to run (default: tests/*.bats)
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
export BIN PATH="$BIN:$PATH"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$BIN/selftest" 2>&1 | tee -a "$out"
# shellcheck disable=SC2086
files=${TESTS:-$(ls tests/*.bats 2>/dev/null)}
if [ -n "$files" ]; then
    # shellcheck disable=SC2086
    bats --tap $files 2>&1 | tee -a "$out"
fi
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
