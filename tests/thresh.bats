#!/usr/bin/env bats
# vigil-thresh: fit without labels, apply, model hash checks, bad input.
load helper

# N frames of exponential(1) scores from model $2 (default aaaa...).
scores() {
    /usr/bin/python3 - "$1" "${2:-00000000000000aa}" <<'PY'
import json, random, sys
random.seed(3)
for i in range(int(sys.argv[1])):
    print(json.dumps({"t": 1000.0 + i // 4, "id": "p%d" % (i % 4), "label": 0,
                      "score": random.expovariate(1.0), "model": sys.argv[2]}))
PY
}

@test "thresh: quantile fit equals the type-1 quantile computed independently" {
    scores 1000 > "$T/v.jsonl"
    vigil-cat --from json -i "$T/v.jsonl" | vigil-thresh fit -t "$T/q.vt" --method quantile --q 0.95
    want=$(/usr/bin/python3 -c '
import json,sys,math
s=sorted(json.loads(l)["score"] for l in open(sys.argv[1]))
print(repr(s[math.ceil(0.95*len(s))-1]))' "$T/v.jsonl")
    vigil-cat --from json -i "$T/v.jsonl" | vigil-thresh apply -t "$T/q.vt" | vigil-cat --to json > "$T/out.jsonl"
    /usr/bin/python3 -c '
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
want=float(sys.argv[2])
assert all(abs(r["thr"]-want) < 1e-12 for r in rows), rows[0]["thr"]
assert all(r["anomaly"] == (r["score"] > want) for r in rows)
assert sum(r["anomaly"] for r in rows) == 50' "$T/out.jsonl" "$want"
}

@test "thresh: pot on exponential scores lands near the true quantile" {
    scores 50000 > "$T/v.jsonl"
    run sh -c "vigil-cat --from json -i '$T/v.jsonl' | vigil-thresh fit -t '$T/p.vt' --risk 1e-3 -v"
    assert_success
    assert_output --partial "method pot"
    assert_output --partial "model 00000000000000aa"
    v=$(echo "$output" | sed -n 's/.* value \([0-9.e+-]*\) .*/\1/p' | head -1)
    # true 1e-3 quantile of exp(1) is ln 1000 = 6.908
    /usr/bin/python3 -c "import sys; sys.exit(abs($v - 6.908) > 0.5)"
}

@test "thresh: meanstd, budget and bestf1" {
    scores 4000 > "$T/v.jsonl"
    vigil-cat --from json -i "$T/v.jsonl" -o "$T/v.mp"
    vigil-thresh fit -t "$T/m.vt" --method meanstd --k 2 -i "$T/v.mp"
    run vigil-thresh fit -t "$T/b.vt" --alarms-per-hour 2 --quiet 60s -v -i "$T/v.mp"
    assert_success
    assert_output --regexp "budget|incidents per patient-hour"
    rate=$(echo "$output" | sed -n 's/.*, \([0-9.e+-]*\) incidents per patient-hour.*/\1/p' | head -1)
    /usr/bin/python3 -c "import sys; sys.exit(not ($rate <= 2))"
    run vigil-thresh fit -t "$T/f.vt" --method bestf1 -i "$T/v.mp"
    assert_failure 1
    assert_output --partial "no record with label 1"
}

@test "thresh: apply warns once about another model, --strict-model refuses" {
    scores 200 > "$T/v.jsonl"
    vigil-cat --from json -i "$T/v.jsonl" | vigil-thresh fit -t "$T/q.vt" --method quantile
    scores 5 00000000000000bb | vigil-cat --from json > "$T/other.mp"
    run sh -c "vigil-thresh apply -t '$T/q.vt' -i '$T/other.mp' | vigil-cat --to json | wc -l"
    assert_success
    assert_output --partial "was fitted for model '00000000000000aa'"
    assert_output --partial "5"
    [ "$(echo "$output" | grep -c 'fitted for model')" -eq 1 ]
    run vigil-thresh apply --strict-model -t "$T/q.vt" -i "$T/other.mp" -o "$T/o.mp"
    assert_failure 1
    assert_output --partial "vigil-thresh: record 1: key 'model'"
}

@test "thresh: bad input and bad files" {
    run vigil-thresh fit
    assert_failure 2
    assert_output --partial "-t FILE"
    run vigil-thresh fit -t "$T/x.vt" --method nope
    assert_failure 2
    run vigil-thresh fit -t "$T/x.vt" --q 1.5
    assert_failure 2
    run vigil-thresh apply -t "$T/x.vt" --method pot
    assert_failure 2
    printf 'not a threshold file' > "$T/junk.vt"
    run vigil-thresh apply -t "$T/junk.vt" -i /dev/null
    assert_failure 1
    assert_output --partial "junk.vt"
    printf '%s\n' '{"score":1,"model":"aa"}' '{"t":1}' '{"score":2,"model":"bb"}' | vigil-cat --from json > "$T/bad.mp"
    run vigil-thresh fit -t "$T/x.vt" --method quantile -i "$T/bad.mp"
    assert_failure 1
    assert_output --partial "record 2: key 'score': missing"
    assert_output --partial "record 3: key 'model'"
    run vigil-thresh fit -t "$T/y.vt" -i /dev/null
    assert_failure 1
    assert_output --partial "no scored records"
    scores 100 > "$T/v.jsonl"
    vigil-cat --from json -i "$T/v.jsonl" | vigil-thresh fit -t "$T/ok.vt" --method quantile
    head -c 40 "$T/ok.vt" > "$T/trunc.vt"
    run vigil-thresh apply -t "$T/trunc.vt" -i /dev/null
    assert_failure 1
    assert_output --partial "trunc.vt"
}
