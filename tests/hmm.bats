#!/usr/bin/env bats
# vigil-hmm: the Gaussian HMM baseline, as a user runs it.
load helper

# N windows of W steps x 2 features as JSON lines: a slow two-regime signal
# (feature 0 about -1 or +1, switching rarely) plus noise.
windows() {
    awk -v n="$1" -v w="$2" -v seed="$3" 'BEGIN {
        srand(seed); s = 1
        for (i = 0; i < n; i++) {
            x = ""
            for (t = 0; t < w; t++) {
                if (rand() < 0.05) s = -s
                g1 = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
                g2 = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
                x = x (t ? "," : "") (s + 0.3 * g1) "," (0.5 * g2)
            }
            printf "{\"t\":%d,\"id\":\"p1\",\"x\":[%s],\"w\":%d,\"label\":0}\n", i, x, w
        }
    }'
}

@test "vigil-hmm: one state is a diagonal Gaussian: the score matches an independent computation" {
    windows 300 4 1 > "$T/train.json"
    vigil-cat --from json < "$T/train.json" > "$T/train.mp"
    vigil-hmm train --model "$T/m" --states 1 < "$T/train.mp"
    windows 20 4 2 > "$T/test.json"
    vigil-cat --from json < "$T/test.json" | vigil-hmm score --model "$T/m" \
        | vigil-cat --to json | jq -r .score > "$T/got"
    # maximum-likelihood mean and variance over all training steps, then the
    # mean negative log density per step of each test window
    jq -r '.x | map(tostring) | join(" ")' "$T/train.json" > "$T/tr.txt"
    jq -r '.x | map(tostring) | join(" ")' "$T/test.json" > "$T/te.txt"
    awk 'NR == FNR { for (i = 1; i <= NF; i += 2) { n++; s0 += $i; q0 += $i * $i; s1 += $(i+1); q1 += $(i+1) * $(i+1) } next }
         FNR == 1 { m0 = s0 / n; v0 = q0 / n - m0 * m0; m1 = s1 / n; v1 = q1 / n - m1 * m1 }
         { nll = 0
           for (i = 1; i <= NF; i += 2)
               nll += 0.5 * (log(2 * 3.14159265358979 * v0) + ($i - m0) ^ 2 / v0) \
                    + 0.5 * (log(2 * 3.14159265358979 * v1) + ($(i+1) - m1) ^ 2 / v1)
           printf "%.10f\n", nll / (NF / 2) }' "$T/tr.txt" "$T/te.txt" > "$T/want"
    [ "$(wc -l < "$T/got")" -eq 20 ]
    paste "$T/got" "$T/want" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4 * (1 + ($2 < 0 ? -$2 : $2))) { print "line " NR ": " $0; bad = 1 } } END { exit bad }'
}

@test "vigil-hmm: windows unlike the training data score higher; -v shows Baum-Welch climbing" {
    windows 400 8 3 | vigil-cat --from json > "$T/train.mp"
    run vigil-hmm train --model "$T/m" --states 3 --seed 2 -v -i "$T/train.mp"
    assert_success
    assert_output --regexp "400 windows of 8 x 2, 3 states, [0-9]+ iterations, log-likelihood per step -[0-9.]+ -> -[0-9.]+"
    first=$(echo "$output" | sed -n 's/.*per step \(-[0-9.]*\) -> .*/\1/p')
    last=$(echo "$output" | sed -n 's/.* -> \(-[0-9.]*\), model.*/\1/p')
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b >= a) }'
    # normal windows vs: regime flipping every step; a stuck feature; a spike
    windows 50 8 4 > "$T/test.json"
    {
        cat "$T/test.json"
        echo '{"id":"a","x":[1,0,-1,0,1,0,-1,0,1,0,-1,0,1,0,-1,0],"w":8,"label":1}'
        echo '{"id":"b","x":[1,3,1,3,1,3,1,3,1,3,1,3,1,3,1,3],"w":8,"label":1}'
        echo '{"id":"c","x":[1,0,1,0,1,0,9,0,1,0,1,0,1,0,1,0],"w":8,"label":1}'
    } | vigil-cat --from json | vigil-hmm score --model "$T/m" | vigil-cat --to json > "$T/o.json"
    maxnormal=$(jq -s '[.[] | select(.label == 0) | .score] | max' "$T/o.json")
    minanom=$(jq -s '[.[] | select(.label == 1) | .score] | min' "$T/o.json")
    awk -v n="$maxnormal" -v a="$minanom" 'BEGIN { exit !(a > n) }'
    [ "$(jq -r .model "$T/o.json" | sort -u | wc -l)" -eq 1 ]
}

@test "vigil-hmm: constant and tiny training sets still give finite scores" {
    for i in 1 2 3 4 5 6; do echo '{"x":[2,5,2,5],"w":2}'; done | vigil-cat --from json > "$T/c.mp"
    vigil-hmm train --model "$T/m" --states 4 < "$T/c.mp"
    printf '%s\n' '{"x":[2,5,2,5],"w":2}' '{"x":[2,5,2.5,5],"w":2}' | vigil-cat --from json \
        | vigil-hmm score --model "$T/m" | vigil-cat --to json > "$T/o.json"
    run jq -r '.score | isinfinite or isnan' "$T/o.json"
    assert_output "$(printf 'false\nfalse')"
    run jq -s '.[1].score > .[0].score' "$T/o.json"
    assert_output true
}

@test "vigil-hmm: bad records, mismatched windows and bad model files" {
    windows 30 4 1 | vigil-cat --from json > "$T/train.mp"
    vigil-hmm train --model "$T/m" --states 2 < "$T/train.mp"
    { windows 2 4 1; windows 1 5 1; echo '{"w":4,"id":"nox"}'; } \
        | vigil-cat --from json > "$T/bad.mp"
    run bash -c "set -o pipefail; vigil-hmm score --model '$T/m' < '$T/bad.mp' | vigil-cat --to json"
    assert_failure 1
    assert_output --partial "vigil-hmm: record 3: key 'x': window of 5 steps x 2 features, the model expects 4 x 2"
    assert_output --partial "vigil-hmm: record 4: key 'x': missing"
    [ "$(echo "$output" | grep -c '"score"')" -eq 2 ]
    run vigil-hmm train --model "$T/m2" --states 2 --strict < "$T/bad.mp"
    assert_failure 1
    assert_output --partial "record 3: key 'x': window of 5 steps x 2 features, the first was 4 x 2"
    [ ! -e "$T/m2" ]
    head -c 60 "$T/m" > "$T/short"
    run vigil-hmm score --model "$T/short" < "$T/train.mp"
    assert_failure 1
    cp "$T/m" "$T/flip"
    printf '\001' | dd of="$T/flip" bs=1 seek=$(( $(wc -c < "$T/m") - 3 )) conv=notrunc 2>/dev/null
    run vigil-hmm score --model "$T/flip" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "checksum"
    vigil-rf train --model "$T/rf" --trees 1 < "$T/train.mp"
    run vigil-hmm score --model "$T/rf" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "format is 'vigil-rf', expected 'vigil-hmm'"
}

@test "vigil-hmm: usage" {
    run vigil-hmm --help
    assert_success
    for o in --model --states --iters --tol --var-floor --trans-floor --seed -i -o -v --strict; do
        assert_output --partial -- "$o"
    done
    run vigil-hmm train --model x --states 0
    assert_failure 2
    run vigil-hmm train --model x --states 65
    assert_failure 2
    run vigil-hmm fit
    assert_failure 2
}
