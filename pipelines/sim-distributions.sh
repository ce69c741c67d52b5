#!/bin/sh
# The distribution of each vital sign for normal and for anomalous records
# of a simulated ward (the paper's Fig. 1), as a PNG made with gnuplot.
#   sh pipelines/sim-distributions.sh [OUT.png] [vigil-sim options...]
# Default: 20 patients for 6 hours, the default anomaly mix, into
# out/sim-distributions.png.  Densities are normalised per class, so the rarer
# anomalous records are visible next to the normal ones.
set -eu
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
out=${1:-out/sim-distributions.png}
mkdir -p "$(dirname "$out")"
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --patients 20 --duration 6h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN/vigil-sim" "$@" | "$BIN/vigil-cat" --to csv > "$tmp/ward.csv"
# histogram per vital and class: bin width per field, density = share / width
awk -F, -v dir="$tmp" '
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
{
    split ("hr sys dia spo2 temp rr", V, " "); split ("4 5 4 1 0.1 2", W, " ")
    cls = ($c["label"] == 1) ? "anom" : "norm"; n[cls]++
    for (v = 1; v <= 6; v++) {
        x = $c[V[v]]; if (x == "") continue
        b = x / W[v] + 1e-6; b = (b < 0 && b != int (b)) ? int (b) - 1 : int (b); h[V[v], cls, b]++
        if (!(V[v] SUBSEP b in seen)) { seen[V[v], b] = 1; bins[V[v]] = bins[V[v]] " " b }
    }
}
END {
    for (v = 1; v <= 6; v++) {
        f = dir "/" V[v] ".dat"; m = split (bins[V[v]], B, " ")
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (B[j] + 0 < B[i] + 0) { t = B[i]; B[i] = B[j]; B[j] = t }
        for (i = 1; i <= m; i++)
            printf "%g %g %g\n", (B[i] + 0.5) * W[v], h[V[v], "norm", B[i]] / (n["norm"] * W[v] + 1e-12),
                   h[V[v], "anom", B[i]] / (n["anom"] * W[v] + 1e-12) > f
        close (f)
    }
    printf "%d normal and %d anomalous records\n", n["norm"], n["anom"] > "/dev/stderr"
}' "$tmp/ward.csv"
gnuplot <<GP
set terminal pngcairo size 1500,900 font ",10"
set output "$out"
set multiplot layout 2,3 title "Vital signs of the simulated ward: normal vs anomalous records (density)"
set style fill transparent solid 0.45 noborder
set key top right
set ylabel "density"
set xlabel "heart rate (bpm)"; plot "$tmp/hr.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
set xlabel "systolic (mmHg)"; plot "$tmp/sys.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
set xlabel "diastolic (mmHg)"; plot "$tmp/dia.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
set xlabel "SpO2 (%)"; plot "$tmp/spo2.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
set xlabel "temperature (°C)"; plot "$tmp/temp.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
set xlabel "respiration rate (/min)"; plot "$tmp/rr.dat" u 1:2 w boxes lc rgb "#2c7fb8" t "normal", "" u 1:3 w boxes lc rgb "#d95f0e" t "anomalous"
unset multiplot
GP
echo "$out"
