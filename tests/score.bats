#!/usr/bin/env bats
# vigil-score: scores, top fields in units, the model key, anomalies above
# normal windows, slow streams, bad models and bad windows.
load helper

setup_file() {
    export OPENBLAS_NUM_THREADS=1
    D="$BATS_FILE_TMPDIR"
    vigil-sim --no-anomalies --patients 6 --duration 1h --tick 5s --seed 5 > "$D/raw.mp"
    vigil-norm fit --stats "$D/s.stats" < "$D/raw.mp"
    vigil-norm apply --stats "$D/s.stats" < "$D/raw.mp" | vigil-window --size 5 > "$D/w.mp"
    vigil-train -q -v --stats "$D/s.stats" -m "$D/m.model" --epochs 25 --batch 64 \
        --lr 0.002 -i "$D/w.mp" 2> "$D/train.err"
    vigil-sim --patients 6 --duration 1h --tick 5s --seed 5 --start 1767229200 \
        | vigil-norm apply --stats "$D/s.stats" | vigil-window --size 5 > "$D/test.mp"
}

# "label score" per scored window
label_score() {
    vigil-cat --to json | sed -n 's/.*"label":\([01]\).*"score":\([-0-9.e+]*\).*/\1 \2/p'
}

# ROC AUC of "label score" lines (rank sum; ties are rare in float scores)
auc() {
    sort -g -k2 | awk '{ if ($1 == 1) { s += NR; p++ } else n++ }
        END { printf "%.3f\n", (s - p * (p + 1) / 2) / (p * n) }'
}

@test "--help lists every option; --model is required" {
    run vigil-score --help
    assert_success
    for o in --model --score --samples --top --batch --idle --seed --threads; do
        assert_output --partial -- "$o"
    done
    run vigil-score < /dev/null
    assert_failure 2
    assert_output --partial 'vigil-score: --model is required'
    run vigil-score --model x --score median
    assert_failure 2
    assert_output --partial "--score: 'median' is not mu, sse, scaled, samples or elbo"
}

@test "every window gets score, top in units and the model hash; other keys pass" {
    D="$BATS_FILE_TMPDIR"
    run sh -c "vigil-score --model '$D/m.model' -i '$D/test.mp' | vigil-cat --to json"
    assert_success
    n=$(vigil-cat --to json -i "$D/test.mp" | wc -l)
    [ "${#lines[@]}" -eq "$n" ]
    line="${lines[0]}"
    [[ "$line" =~ \"score\":[0-9] ]]
    [[ "$line" =~ \"top\":\[\[\"[a-z_0-9]+\",[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+\],\[.*\],\[.*\]\] ]]
    [[ "$line" =~ \"model\":\"[0-9a-f]{16}\" ]]
    [[ "$line" =~ \"v\":\{\"hr\": ]]
    [[ "$line" =~ \"w\":5 ]]
    # the model key is the same on every window
    [ "$(printf '%s\n' "${lines[@]}" | grep -o '"model":"[0-9a-f]*"' | sort -u | wc -l)" -eq 1 ]
}

@test "top: observed is the newest reading in units" {
    D="$BATS_FILE_TMPDIR"
    vigil-score --model "$D/m.model" --top 14 -i "$D/test.mp" | vigil-cat --to json | head -20 > "$T/s.json"
    # hr observed in top equals v.hr of the same (newest) record
    while read -r l; do
        hr=$(printf '%s' "$l" | sed 's/.*"v":{"hr":\([0-9.]*\).*/\1/')
        obs=$(printf '%s' "$l" | sed 's/.*\["hr",[^,]*,\([^,]*\),.*/\1/')
        awk -v a="$hr" -v b="$obs" 'BEGIN { exit !(a - b < 1e-3 && b - a < 1e-3) }'
    done < "$T/s.json"
}

@test "anomalies score higher than normal windows" {
    D="$BATS_FILE_TMPDIR"
    vigil-score --model "$D/m.model" -i "$D/test.mp" | label_score > "$T/ls"
    a=$(auc < "$T/ls")
    echo "ROC AUC $a"
    awk -v a="$a" 'BEGIN { exit !(a > 0.8) }'
    for mode in samples elbo; do
        vigil-score --model "$D/m.model" --score $mode --samples 4 -i "$D/test.mp" | label_score > "$T/ls"
        a=$(auc < "$T/ls")
        echo "$mode: ROC AUC $a"
        awk -v a="$a" 'BEGIN { exit !(a > 0.8) }'
    done
}

@test "--score scaled divides each field's squared error by its residual variance; sse is mu" {
    D="$BATS_FILE_TMPDIR"
    # vigil-train -v printed one residual variance per field
    [ "$(grep -c 'residual variance' "$D/train.err")" -eq 14 ]
    vigil-score --model "$D/m.model" --top 14 -i "$D/test.mp" | vigil-cat --to json | head -30 > "$T/plain.json"
    vigil-score --model "$D/m.model" --top 14 --score scaled -i "$D/test.mp" | vigil-cat --to json | head -30 > "$T/scaled.json"
    run /usr/bin/python3 - "$D/train.err" "$T/plain.json" "$T/scaled.json" <<'PY'
import json, re, sys
var = dict(re.findall(r"vigil-train: (\w+): residual variance ([0-9.e+-]+)", open(sys.argv[1]).read()))
worst = 0
for lp, ls in zip(open(sys.argv[2]), open(sys.argv[3])):
    p, s = json.loads(lp), json.loads(ls)
    cp = {t[0]: t[1] for t in p["top"]}
    cs = {t[0]: t[1] for t in s["top"]}
    assert len(cs) == 14 and abs(sum(cs.values()) - s["score"]) <= 1e-4 * s["score"]
    for f, c in cs.items():
        want = cp[f] / float(var[f])
        worst = max(worst, abs(c - want) / (abs(want) + 1e-3))
assert worst < 2e-3, worst      # the printed variances have 4 digits
print("ok", worst)
PY
    assert_success
    assert_output --partial "ok"
    # sse is another name for the default (plain Eq. 5 by mu)
    cmp <(vigil-score --model "$D/m.model" -i "$D/test.mp") \
        <(vigil-score --model "$D/m.model" --score sse -i "$D/test.mp")
}

@test "--model twice: an ensemble, score = the mean of the models' scores, its own hash" {
    D="$BATS_FILE_TMPDIR"
    vigil-train -q --stats "$D/s.stats" -m "$T/m2.model" --epochs 5 --batch 64 --seed 7 -i "$D/w.mp"
    vigil-score --model "$D/m.model" -i "$D/test.mp" | vigil-cat --to json > "$T/a.json"
    vigil-score --model "$T/m2.model" -i "$D/test.mp" | vigil-cat --to json > "$T/b.json"
    vigil-score --model "$D/m.model" --model "$T/m2.model" -i "$D/test.mp" \
        | vigil-cat --to json > "$T/e.json"
    run /usr/bin/python3 - "$T/a.json" "$T/b.json" "$T/e.json" <<'PY'
import json, sys
a, b, e = ([json.loads(l) for l in open(p)] for p in sys.argv[1:4])
assert len(a) == len(b) == len(e) > 100
for x, y, z in zip(a, b, e):
    assert abs(z["score"] - (x["score"] + y["score"]) / 2) <= 1e-9 * (1 + z["score"]), (x, y, z)
    assert z["top"] == x["top"]
assert len({x["model"], y["model"], z["model"]}) == 3
print("ok")
PY
    assert_success
    assert_output "ok"
    # a model of another shape is refused by name
    vigil-norm apply --stats "$D/s.stats" < "$D/raw.mp" | vigil-window --size 4 > "$T/w4.mp"
    vigil-train -q --stats "$D/s.stats" -m "$T/m4.model" --epochs 1 -i "$T/w4.mp"
    run vigil-score --model "$D/m.model" --model "$T/m4.model" -i "$D/test.mp"
    assert_failure 1
    assert_output --partial "m4.model': ensemble: windows of 4 x"
}

@test "a Gaussian decoder: score = its negative log-likelihood, sse = Eq. 5 on its mean" {
    D="$BATS_FILE_TMPDIR"
    vigil-train -q --stats "$D/s.stats" -m "$T/g.model" --decoder gauss --epochs 25 --batch 64 \
        --lr 0.002 -i "$D/w.mp"
    vigil-score --model "$T/g.model" -i "$D/test.mp" | label_score > "$T/ls"
    a=$(auc < "$T/ls")
    echo "ROC AUC $a"
    awk -v a="$a" 'BEGIN { exit !(a > 0.8) }'
    # never negative; with every field in top, the contributions add up to it
    vigil-score --model "$T/g.model" --top 14 -i "$D/test.mp" | vigil-cat --to json | head -200 > "$T/g.json"
    vigil-score --model "$T/g.model" --top 14 --score sse -i "$D/test.mp" | vigil-cat --to json \
        | head -200 > "$T/gs.json"
    run /usr/bin/python3 - "$T/g.json" "$T/gs.json" <<'PY'
import json, sys
g, s = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(g) == len(s) == 200
for a, b in zip(g, s):
    assert a["score"] >= 0 and abs(sum(t[1] for t in a["top"]) - a["score"]) <= 1e-4 * a["score"]
    assert abs(sum(t[1] for t in b["top"]) - b["score"]) <= 1e-4 * b["score"]
    # the same decoded mean, so the same expected values in top
    ea = {t[0]: t[3] for t in a["top"]}
    assert all(abs(ea[t[0]] - t[3]) <= 1e-6 * (1 + abs(t[3])) for t in b["top"])
assert sum(a["score"] != b["score"] for a, b in zip(g, s)) == 200
print("ok")
PY
    assert_success
    assert_output "ok"
    run vigil-score --model "$T/g.model" --score scaled -i "$D/test.mp"
    assert_failure 1
    assert_output --partial "g.model' has a Gaussian decoder"
    run vigil-score --model "$T/g.model" --model "$D/m.model" -i "$D/test.mp"
    assert_failure 1
    assert_output --partial "ensemble: a unit-variance decoder with a Gaussian one"
}

@test "scoring is deterministic and independent of the batch size" {
    D="$BATS_FILE_TMPDIR"
    vigil-score --model "$D/m.model" --batch 256 -i "$D/test.mp" > "$T/a.mp"
    vigil-score --model "$D/m.model" --batch 256 -i "$D/test.mp" > "$T/b.mp"
    vigil-score --model "$D/m.model" --batch 7 -i "$D/test.mp" | label_score > "$T/c"
    cmp "$T/a.mp" "$T/b.mp"
    label_score < "$T/a.mp" > "$T/a"
    # sgemm blocking may change the last bits between batch sizes
    paste "$T/a" "$T/c" | awk '{ d = $2 - $4; if (d < 0) d = -d; if (d > 1e-4 * $2 + 1e-6) bad++ }
        END { exit bad > 0 }'
}

@test "a slow stream is scored before its end (idle flush)" {
    D="$BATS_FILE_TMPDIR"
    vigil-cat --to json -i "$D/test.mp" | head -3 | vigil-cat --from json > "$T/three.mp"
    ( cat "$T/three.mp"; sleep 3 ) | vigil-score --model "$D/m.model" --idle 50ms > "$T/out.mp" &
    sleep 1.5
    n=$(vigil-cat --to json -i "$T/out.mp" | wc -l)
    wait
    [ "$n" -eq 3 ]
}

@test "bad windows are reported with their record number and skipped" {
    D="$BATS_FILE_TMPDIR"
    { vigil-cat --to json -i "$D/test.mp" | head -2
      echo '{"id":"a","x":[1,2,3]}'
      echo '{"id":"b","x":[1,2,3,4,5,6,7,8,9,10,11,12,13,14],"w":1}'
      echo '{"id":"c"}'
      vigil-cat --to json -i "$D/test.mp" | sed -n 3p; } | vigil-cat --from json > "$T/in.mp"
    run sh -c "vigil-score --model '$D/m.model' -i '$T/in.mp' 2>'$T/err' | vigil-cat --to json | wc -l"
    assert_output 3
    run cat "$T/err"
    assert_line "vigil-score: record 3: key 'x': 3 values, expected 70 (window 5 x 14 fields)"
    assert_line "vigil-score: record 4: key 'w': window of 1 steps, the model expects 5"
    assert_line "vigil-score: record 5: key 'x': missing (expected a window of 5 x 14 floats)"
    run vigil-score --model "$D/m.model" -i "$T/in.mp" -o /dev/null
    assert_failure 1
}

@test "a non-finite value in x is rejected" {
    D="$BATS_FILE_TMPDIR"
    # {"x": [NaN, 0.0 x 69]} as float32, written byte by byte
    {
        printf '\x81\xa1x\xdc\x00\x46\xca\x7f\xc0\x00\x00'
        for i in $(seq 69); do printf '\xca\x00\x00\x00\x00'; done
    } > "$T/nan.mp"
    run vigil-score --model "$D/m.model" -i "$T/nan.mp" -o /dev/null
    assert_failure 1
    assert_output "vigil-score: record 1: key 'x': value 1 is not finite"
}

@test "a corrupted, truncated or foreign model is refused" {
    D="$BATS_FILE_TMPDIR"
    cp "$D/m.model" "$T/c.model"
    size=$(stat -c %s "$T/c.model")
    printf '\x55' | dd of="$T/c.model" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
    run vigil-score --model "$T/c.model" < /dev/null
    assert_failure 1
    assert_output --partial 'checksum mismatch (file corrupted)'
    head -c $((size - 7)) "$D/m.model" > "$T/t.model"
    run vigil-score --model "$T/t.model" < /dev/null
    assert_failure 1
    assert_output --partial "vigil-score: '$T/t.model'"
    run vigil-score --model "$D/s.stats" < /dev/null
    assert_failure 1
    assert_output --partial "format is 'vigil-stats', expected 'vigil-model'"
    run vigil-score --model "$T/none.model" < /dev/null
    assert_failure 1
    assert_output --partial 'cannot open'
}
