#!/bin/sh
# Run libFuzzer harnesses one after another, each for FUZZ_SECONDS, on the
# seeds in tests/fuzz-corpus/<target>/ plus the inputs found by earlier runs
# ($FUZZ_BUILD/corpus/<target>/).  Prints one line per target:
#   fuzz <target>: <runs> runs in <seconds> s, <coverage> edges, OK|CRASH
# and exits 1 if any target crashed (the reproducer is in $FUZZ_BUILD/crashes/).
#   usage: FUZZ_BUILD=build-fuzz FUZZ_SECONDS=60 sh fuzz/run.sh frame csv ...
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$(pwd)/fuzz/ubsan.supp}
status=0
mkdir -p "$FUZZ_BUILD/crashes"
for t in "$@"; do
    corpus="$FUZZ_BUILD/corpus/$t"
    mkdir -p "$corpus"
    seeds="tests/fuzz-corpus/$t"
    [ -d "$seeds" ] || seeds=""
    log="$FUZZ_BUILD/fuzz_$t.log"
    # shellcheck disable=SC2086
    "$FUZZ_BUILD/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/crashes/$t-" \
        "$corpus" $seeds >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^stat::.*total_time\|^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ${runs:-?} runs in ${secs:-?} s, ${cov:-?} edges, OK"
    else
        echo "fuzz $t: CRASH after ${runs:-?} runs (log: $log)"
        grep -m3 -E 'ERROR|runtime error|Assertion|SUMMARY' "$log" | sed 's/^/    /'
        status=1
    fi
done
exit $status
