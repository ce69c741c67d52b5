#!/usr/bin/env bats
# vigil-iforest: the Isolation Forest baseline, as a user runs it.
load helper

# N windows of 1 step x 3 features from a unit Gaussian blob, as JSON lines.
blob() {
    awk -v n="$1" -v seed="$2" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) {
            x = ""
            for (k = 0; k < 3; k++)
                x = x (k ? "," : "") sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
            printf "{\"t\":%d,\"id\":\"d1\",\"x\":[%s],\"w\":1,\"label\":0}\n", i, x
        }
    }'
}

@test "vigil-iforest: far points score higher than the blob, all in (0,1)" {
    blob 1000 1 | vigil-cat --from json > "$T/train.mp"
    run vigil-iforest train --model "$T/m" -v -i "$T/train.mp"
    assert_success
    assert_output --partial "1000 windows of 1 x 3, 100 trees of 256 windows each"
    { blob 100 2; echo '{"x":[9,9,9],"w":1,"label":1}'; echo '{"x":[-8,8,-8],"w":1,"label":1}'; } \
        | vigil-cat --from json | vigil-iforest score --model "$T/m" | vigil-cat --to json > "$T/o.json"
    run jq -s '[.[] | .score | select(. <= 0 or . >= 1)] | length' "$T/o.json"
    assert_output 0
    run jq -s '([.[] | select(.label == 1) | .score] | min) > ([.[] | select(.label == 0) | .score] | max)' "$T/o.json"
    assert_output true
    run jq -s '([.[] | select(.label == 0) | .score] | add / length) < 0.5' "$T/o.json"
    assert_output true
    run jq -s '[.[] | select(.label == 1) | .score] | min > 0.65' "$T/o.json"
    assert_output true
}

@test "vigil-iforest: identical training windows give every window exactly 0.5" {
    for i in 1 2 3 4 5 6 7 8 9 10; do echo '{"x":[1,2],"w":2}'; done | vigil-cat --from json > "$T/c.mp"
    vigil-iforest train --model "$T/m" --trees 7 < "$T/c.mp"
    printf '%s\n' '{"x":[1,2],"w":2}' '{"x":[50,-3],"w":2}' | vigil-cat --from json \
        | vigil-iforest score --model "$T/m" | vigil-cat --to json > "$T/o.json"
    run jq -r .score "$T/o.json"
    assert_output "$(printf '0.5\n0.5')"
}

@test "vigil-iforest: --sample caps the subsample; same seed, same file" {
    blob 100 3 | vigil-cat --from json > "$T/train.mp"
    run vigil-iforest train --model "$T/a" --sample 64 --trees 10 -v < "$T/train.mp"
    assert_output --partial "10 trees of 64 windows each"
    vigil-iforest train --model "$T/b" --sample 64 --trees 10 < "$T/train.mp"
    cmp "$T/a" "$T/b"
    run vigil-iforest train --model "$T/c" --sample 1000 -v < "$T/train.mp"
    assert_output --partial "100 trees of 100 windows each"
}

@test "vigil-iforest: bad records and bad model files" {
    blob 50 1 | vigil-cat --from json > "$T/train.mp"
    vigil-iforest train --model "$T/m" --trees 5 < "$T/train.mp"
    { blob 1 1; echo '{"x":[1,2,3,4,5,6],"w":2}'; echo '{"x":[1,2,3],"w":0}'; } \
        | vigil-cat --from json > "$T/bad.mp"
    run bash -c "set -o pipefail; vigil-iforest score --model '$T/m' < '$T/bad.mp' | vigil-cat --to json"
    assert_failure 1
    assert_output --partial "vigil-iforest: record 2: key 'x': window of 2 steps x 3 features, the model expects 1 x 3"
    assert_output --partial "vigil-iforest: record 3: key 'w': not a step count"
    run vigil-iforest score --model "$T/m" --strict < "$T/bad.mp"
    assert_failure 1
    [ "$(echo "$output" | grep -c 'record')" -eq 1 ]
    head -c 100 "$T/m" > "$T/short"
    run vigil-iforest score --model "$T/short" < "$T/train.mp"
    assert_failure 1
    vigil-hmm train --model "$T/h" --states 1 < "$T/train.mp"
    run vigil-iforest score --model "$T/h" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "expected 'vigil-iforest'"
}

@test "vigil-iforest: usage" {
    run vigil-iforest --help
    assert_success
    for o in --model --trees --sample --seed -i -o -v --strict; do
        assert_output --partial -- "$o"
    done
    run vigil-iforest train --model x --sample 1
    assert_failure 2
    run vigil-iforest train
    assert_failure 2
}
