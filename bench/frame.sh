#!/bin/sh
# Frame transport: records per second through one pipe (vigil-cat | vigil-cat)
# for small records, against the bar of 1,000,000 records/s, and the ratio to
# `cat` moving the same bytes.
set -eu
BIN=${BIN:-bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=2000000
/usr/bin/python3 - "$n" > "$tmp/in.jsonl" <<'PY'
import sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w('{"t":%d.5,"id":"p%d","seq":%d,"v":{"hr":72,"spo2":98}}\n' % (1767225600 + i, i % 100, i))
PY
"$BIN/vigil-cat" --from json -i "$tmp/in.jsonl" -o "$tmp/in.mp"
now() { date +%s.%N; }
best_cat=999 best_pipe=999
for _ in 1 2 3; do
    a=$(now); cat "$tmp/in.mp" | cat > /dev/null; b=$(now)
    best_cat=$(awk -v a="$a" -v b="$b" -v m="$best_cat" 'BEGIN { t = b - a; print (t < m ? t : m) }')
    a=$(now); "$BIN/vigil-cat" -i "$tmp/in.mp" | "$BIN/vigil-cat" > /dev/null; b=$(now)
    best_pipe=$(awk -v a="$a" -v b="$b" -v m="$best_pipe" 'BEGIN { t = b - a; print (t < m ? t : m) }')
done
rate=$(awk -v n="$n" -v t="$best_pipe" 'BEGIN { printf "%d", n / t }')
echo "frame pipe: $n records in ${best_pipe}s = $rate records/s (bar 1000000); cat alone ${best_cat}s"
[ "$rate" -ge 1000000 ]
