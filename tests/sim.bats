#!/usr/bin/env bats
# vigil-sim end to end: determinism, counts, labels, plausibility, what each
# anomaly kind does to the data, and errors.  Records are read back through
# vigil-cat --to csv and checked with awk.
load helper

SC="$VIGIL_ROOT/sim/scenarios/all-kinds.txt"

# CSV of a run: sim OPTIONS... > $T/out.csv
csv() {
    vigil-sim "$@" | vigil-cat --to csv
}

@test "the same seed gives the same bytes, another seed other bytes" {
    vigil-sim --patients 4 --duration 30m --seed 7 > "$T/a"
    vigil-sim --patients 4 --duration 30m --seed 7 > "$T/b"
    vigil-sim --patients 4 --duration 30m --seed 8 > "$T/c"
    cmp "$T/a" "$T/b"
    ! cmp -s "$T/a" "$T/c"
    vigil-sim --patients 1 --duration 3.5h --scenario "$SC" > "$T/d"
    vigil-sim --patients 1 --duration 3.5h --scenario "$SC" > "$T/e"
    cmp "$T/d" "$T/e"
}

@test "record count is patients x duration / tick, interleaved in time order" {
    csv --patients 7 --duration 10m --tick 2s --no-anomalies > "$T/o.csv"
    run awk -F, 'NR > 1 { n++ } END { print n }' "$T/o.csv"
    assert_output 2100
    # tick-major: t never decreases, ids cycle p001..p007
    run awk -F, 'NR > 1 { i = (NR - 2) % 7; want = sprintf ("p%03d", i + 1)
                         if ($2 != want || $1 + 0 < last) bad++; last = $1 + 0 }
                 END { print bad + 0 }' "$T/o.csv"
    assert_output 0
    run awk -F, 'NR == 2 { print $1 }' "$T/o.csv"
    assert_output 1767225600
    csv --patients 2 --duration 1s --tick 250ms --start 2026-03-01T12:00:00Z > "$T/s.csv"
    run awk -F, 'NR > 1 { n++; t = $1 } END { print n, t }' "$T/s.csv"
    assert_output "8 1772366400.75"
}

@test "--no-anomalies gives only label 0 and no kind" {
    csv --patients 10 --duration 2h --no-anomalies > "$T/o.csv"
    run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                 { n++; if ($c["label"] != 0 || $c["kind"] != "") bad++ }
                 END { print n, bad + 0 }' "$T/o.csv"
    assert_output "72000 0"
}

@test "the default stream is 5-15 % anomalous, -v says so per kind" {
    run vigil-sim --patients 20 --duration 6h -v -o "$T/o.mp"
    assert_success
    assert_line --partial "vigil-sim: 432000 records"
    pct=$(echo "$output" | sed -n 's/.*anomalous (\([0-9.]*\) %).*/\1/p')
    awk -v p="$pct" 'BEGIN { exit !(p >= 5 && p <= 15) }'
    assert_line --regexp '^vigil-sim:   flooding +security +[0-9]+ events +[0-9]+ records$'
}

@test "outside events values stay plausible" {
    csv --patients 10 --duration 3h --seed 3 > "$T/o.csv"
    run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["label"] == 0 { n++
            if (!($c["spo2"] <= 100 && $c["spo2"] >= 80 && $c["hr"] > 0 && $c["hr"] < 200 \
                  && $c["dia"] < $c["sys"] && $c["rr"] > 0 && $c["temp"] > 34 && $c["temp"] < 40 \
                  && $c["loss"] >= 0 && $c["loss"] <= 1 && $c["battery"] >= 0 && $c["battery"] <= 100 \
                  && $c["latency"] > 0 && $c["pkt_rate"] >= 0)) { bad++; if (bad < 5) print "bad: " $0 } }
        END { print (n > 0), bad + 0 }' "$T/o.csv"
    assert_output "1 0"
}

@test "every kind appears when asked for, and only it" {
    for k in spoofing false_data replay flooding delay stuck spike drift dropout battery \
             clock_skew tachycardia bradycardia hypoxaemia fever hypertensive_crisis; do
        vigil-sim --patients 3 --duration 4h --tick 2s --kinds "$k" --anomaly-rate 1 -v \
            2> "$T/err" | vigil-cat --to csv > "$T/o.csv"
        grep -Eq "^vigil-sim:   $k +[a-z]+ +[1-9][0-9]* events" "$T/err" || { cat "$T/err"; false; }
        run awk -F, -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            $c["label"] == 1 { n++; if ($c["kind"] != k) bad++ }
            $c["label"] == 0 && $c["kind"] != "" { bad++ }
            END { print (n > 0), bad + 0 }' "$T/o.csv"
        [ "$output" = "1 0" ] || { echo "$k: $output"; false; }
    done
    csv --patients 2 --duration 2h --rate fever=3 --kinds stuck > "$T/o.csv"
    run awk -F, 'NR > 1 && $NF != "" { k[$NF] = 1 } END { for (x in k) print x }' "$T/o.csv"
    assert_output fever
}

# The checker: reads the scenario, the clean run and the run with the
# scenario (one patient, tick 1 s), and prints "ok KIND" for each event whose
# records carry label 1 and kind exactly inside its interval and change the
# data the way the kind claims, or "FAIL ..." lines.
check_kinds() {
    awk -F, '
    FNR == 1 { file++ }
    file == 1 { sub (/#.*/, ""); if (NF == 0) next
                split ($0, f, /[ \t]+/); ne++; es[ne] = f[1] + 0; ed[ne] = f[1] + f[2]; ek[ne] = f[4]; next }
    FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    file == 2 { for (i = 1; i <= NF; i++) C[FNR, i] = $i; next }
    {
        n = FNR - 2; tt = 1767225600 + n; e = 0
        for (j = 1; j <= ne; j++) if (n >= es[j] && n < ed[j]) e = j
        want = e ? ek[e] : ""
        if ($c["label"] != (e ? 1 : 0) || $c["kind"] != want) { print "FAIL label at record " n; fails++ }
        vit = $c["hr"] "," $c["sys"] "," $c["dia"] "," $c["spo2"] "," $c["temp"] "," $c["rr"]
        if (!e) {
            for (i = 1; i <= NF; i++) if (i != c["battery"] && $i != C[FNR, i]) { print "FAIL clean differs at " n; fails++; break }
            seen[$c["seq"]] = vit
            next
        }
        k = ek[e]; m = n - es[e]; L = ed[e] - es[e]; cnt[e]++; late = (m >= L / 2)
        if (late) lcnt[e]++
        diff = 0
        split ("hr sys dia spo2 temp rr", V, " ")
        for (v = 1; v <= 6; v++) {
            a = $c[V[v]]; b = C[FNR, c[V[v]]]
            if (a != b) diff = 1
            if (a == "") nil[e]++
            d = a - b; if (d < 0) d = -d
            ad[e, v] += d
            if (m < L / 4) q1[e, v] += d
            if (m >= 3 * L / 4) q4[e, v] += d
            if (late) { la[e, v] += a; lc[e, v] += b }
            if (m == 0) first[e, v] = a
            else if (a != first[e, v]) moved[e, v] = 1
        }
        if (diff) ndiff[e]++
        if (k == "spike") { th = 0; split ("20 20 12 8 0.8 6", T, " ")
            for (v = 1; v <= 6; v++) { d = $c[V[v]] - C[FNR, c[V[v]]]; if (d < 0) d = -d; if (d >= T[v]) th = 1 }
            if (!th) spk[e]++ }
        if (k == "replay") { if (seen[$c["seq"]] != vit || $c["t"] >= tt - 1) rbad[e]++ }
        else seen[$c["seq"]] = vit
        if (k == "clock_skew") { d = $c["t"] - tt; if (d < 0) d = -d; if (d < 20 || $c["seq"] != C[FNR, c["seq"]]) sbad[e]++ }
        pk[e] += $c["pkt_rate"]; pc[e] += C[FNR, c["pkt_rate"]]
        lta[e] += $c["latency"]; ltc[e] += C[FNR, c["latency"]]
        lsa[e] += $c["loss"]; lsc[e] += C[FNR, c["loss"]]
        rs[e] += $c["rssi"] - C[FNR, c["rssi"]]
        bl[e] = $c["battery"]
        nil_rec[e] += ($c["hr"] == "" || $c["sys"] == "" || $c["spo2"] == "" || $c["temp"] == "" || $c["rr"] == "")
    }
    function mean_late (e, v) { return la[e, v] / lcnt[e] }
    function clean_late (e, v) { return lc[e, v] / lcnt[e] }
    function fail (e, why) { print "FAIL " ek[e] ": " why; fails++ }
    END {
        for (e = 1; e <= ne; e++) {
            k = ek[e]; N = cnt[e]; f0 = fails
            if (N != ed[e] - es[e]) fail(e, "records " N)
            if (k == "spoofing") { big = 0; split ("8 8 4 1.5 0.2 2", T, " ")
                for (v = 1; v <= 6; v++) if (ad[e, v] / N >= T[v]) big++
                r = rs[e] / N; if (r < 0) r = -r
                if (big < 2 || r < 5) fail(e, "vitals like the patient (" big ") or same radio (" r " dB)") }
            if (k == "false_data" && ndiff[e] < 0.8 * N) fail(e, "only " ndiff[e] " records altered")
            if (k == "replay" && rbad[e]) fail(e, rbad[e] " records not an earlier segment")
            if (k == "flooding" && !(pk[e] >= 10 * pc[e] && lta[e] > 2 * ltc[e] && lsa[e] > lsc[e]))
                fail(e, "packet rate " pk[e] / N " vs " pc[e] / N)
            if (k == "delay" && lta[e] / N < ltc[e] / N + 500) fail(e, "latency " lta[e] / N)
            if (k == "stuck") for (v = 1; v <= 6; v++) if (moved[e, v]) fail(e, V[v] " moved")
            if (k == "spike" && spk[e]) fail(e, spk[e] " records without a spike")
            if (k == "drift") { best = 0; split ("10 12 8 3 0.5 3", T, " ")
                for (v = 1; v <= 6; v++) if (q4[e, v] / (N / 4) >= T[v] && q1[e, v] < q4[e, v] / 2) best = v
                if (!best) fail(e, "no field drifts") }
            if (k == "dropout" && nil_rec[e] < N) fail(e, nil_rec[e] " of " N " records with missing readings")
            if (k == "battery" && bl[e] > 10) fail(e, "battery ends at " bl[e])
            if (k == "clock_skew" && sbad[e]) fail(e, sbad[e] " records with t in line")
            if (k == "tachycardia" && !(mean_late(e, 1) >= 100 && mean_late(e, 1) >= clean_late(e, 1) + 30))
                fail(e, "hr " mean_late(e, 1))
            if (k == "bradycardia" && !(mean_late(e, 1) <= 60 && mean_late(e, 1) <= clean_late(e, 1) - 15))
                fail(e, "hr " mean_late(e, 1))
            if (k == "hypoxaemia" && !(mean_late(e, 4) <= 92 && mean_late(e, 4) <= clean_late(e, 4) - 5))
                fail(e, "spo2 " mean_late(e, 4))
            if (k == "fever" && !(mean_late(e, 5) >= 38 && mean_late(e, 5) >= clean_late(e, 5) + 1.2 \
                                  && mean_late(e, 1) >= clean_late(e, 1) + 10))
                fail(e, "temp " mean_late(e, 5) " hr " mean_late(e, 1))
            if (k == "hypertensive_crisis" && !(mean_late(e, 2) >= 160 && mean_late(e, 2) >= clean_late(e, 2) + 40 \
                                                && mean_late(e, 3) >= clean_late(e, 3) + 20))
                fail(e, "bp " mean_late(e, 2) "/" mean_late(e, 3))
            if (fails == f0) print "ok " k
        }
    }' "$1" "$2" "$3"
}

@test "each kind is labelled exactly on its interval and changes the data as it claims" {
    grep -v '^#' "$SC" | awk 'NF' > "$T/sc.txt"
    : > "$T/empty.txt"
    for seed in 1 2 3; do
        csv --patients 1 --duration 3.5h --seed $seed --scenario "$T/empty.txt" > "$T/clean.csv"
        csv --patients 1 --duration 3.5h --seed $seed --scenario "$SC" > "$T/anom.csv"
        run check_kinds "$T/sc.txt" "$T/clean.csv" "$T/anom.csv"
        refute_line --partial FAIL
        [ "$(echo "$output" | grep -c '^ok ')" -eq 16 ] || { echo "$output"; false; }
    done
}

@test "subtler severity changes the data less" {
    printf '600 600 1 hypertensive_crisis 0.3\n' > "$T/weak.txt"
    printf '600 600 1 hypertensive_crisis 1\n' > "$T/strong.txt"
    csv --patients 1 --duration 30m --scenario "$T/weak.txt" > "$T/w.csv"
    csv --patients 1 --duration 30m --scenario "$T/strong.txt" > "$T/s.csv"
    ws=$(awk -F, '$NF != "" && NR > 1 { s += $5; n++ } END { print s / n }' "$T/w.csv")
    ss=$(awk -F, '$NF != "" && NR > 1 { s += $5; n++ } END { print s / n }' "$T/s.csv")
    awk -v w="$ws" -v s="$ss" 'BEGIN { exit !(s > w + 25) }'
}

@test "--realtime paces output to the wall clock" {
    start=$(date +%s.%N)
    vigil-sim --patients 2 --duration 1s --tick 250ms --realtime > "$T/o"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 0.7) }'
    [ "$(vigil-cat --to csv -i "$T/o" | wc -l)" -eq 9 ]
}

@test "bad options exit 2 with the usage line" {
    for args in "--patients 0" "--duration 5x" "--tick 0" "--rate flod=1" "--severity 0" \
                "--kinds nope" "--start yesterday" "--bogus" "extra" "--seed -1"; do
        # shellcheck disable=SC2086
        run vigil-sim $args
        [ "$status" -eq 2 ] || { echo "$args: status $status"; false; }
        assert_line --partial "usage: vigil-sim"
    done
    run vigil-sim --rate flod=1
    assert_line "vigil-sim: --rate: unknown kind 'flod'"
    run vigil-sim --scenario "$SC" --no-anomalies
    assert_failure 2
}

@test "a malformed scenario file exits 1 naming the line" {
    printf '# a comment\n10m 5m p001 flooding\n20m 5m p001 flod\n' > "$T/bad.txt"
    run vigil-sim --patients 2 --scenario "$T/bad.txt"
    assert_failure 1
    assert_output "vigil-sim: $T/bad.txt: line 3: unknown kind 'flod'"
    printf '10m 5m 1 stuck\n12m 5m 1 spike\n' > "$T/ovl.txt"
    run vigil-sim --patients 2 --scenario "$T/ovl.txt"
    assert_failure 1
    assert_output --partial "line 2: overlaps the event of line 1"
    printf '10m 5m 9 stuck\n' > "$T/pat.txt"
    run vigil-sim --patients 2 --scenario "$T/pat.txt"
    assert_failure 1
    assert_output --partial "line 1: bad patient '9'"
    run vigil-sim --scenario "$T/missing.txt"
    assert_failure 1
    assert_output --partial "missing.txt: No such file"
}

@test "--help lists every option" {
    run vigil-sim --help
    assert_success
    for o in --patients --duration --tick --seed --start --realtime --no-anomalies --scenario \
             --anomaly-rate --rate --kinds --severity -o -v --version; do
        assert_output --partial -- "$o"
    done
}
