#!/bin/sh
# vigil-sim throughput: records per second written to /dev/null on one core
# (bar: 500,000 records/s), for the default anomalous stream and for clean
# data, and the ratio to `cat` moving the same bytes (how much of the time
# is simulation rather than I/O).  Best of three runs each.
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
P=${SIM_BENCH_PATIENTS:-100}
D=${SIM_BENCH_DURATION:-6h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
best() {    # best wall time of three runs of "$@" > /dev/null
    b=999
    for _ in 1 2 3; do
        a=$(now); "$@" > /dev/null || exit 1; e=$(now)
        b=$(awk -v a="$a" -v e="$e" -v m="$b" 'BEGIN { t = e - a; print (t < m ? t : m) }')
    done
    echo "$b"
}
"$BIN/vigil-sim" --patients "$P" --duration "$D" > "$tmp/out.mp"
n=$("$BIN/vigil-sim" --patients "$P" --duration "$D" -v 2>&1 > /dev/null |
    sed -n 's/^vigil-sim: \([0-9]*\) records.*/\1/p')
bytes=$(wc -c < "$tmp/out.mp")
t_sim=$(best "$BIN/vigil-sim" --patients "$P" --duration "$D")
t_clean=$(best "$BIN/vigil-sim" --patients "$P" --duration "$D" --no-anomalies)
t_cat=$(best cat "$tmp/out.mp")
awk -v n="$n" -v b="$bytes" -v s="$t_sim" -v c="$t_clean" -v k="$t_cat" 'BEGIN {
    printf "vigil-sim: %d records (%.0f MB) in %.3fs = %d records/s (bar 500000)\n", n, b / 1e6, s, n / s
    printf "vigil-sim --no-anomalies: %.3fs = %d records/s\n", c, n / c
    printf "cat of the same bytes: %.3fs; vigil-sim / cat time ratio %.1f\n", k, s / k
    exit !(n / s >= 500000 && n / c >= 500000) }'
