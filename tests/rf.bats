#!/usr/bin/env bats
# vigil-rf: the supervised Random Forest baseline, as a user runs it.
load helper

# N labelled windows of W steps x 2 features as JSON lines; anomalous ones
# (every 4th) are shifted by SHIFT in feature 0.
windows() {
    awk -v n="$1" -v w="$2" -v shift="$3" -v seed="$4" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) {
            a = (i % 4 == 3); x = ""
            for (k = 0; k < 2 * w; k++) {
                g = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
                x = x (k ? "," : "") (g + (a && k % 2 == 0 ? shift : 0))
            }
            printf "{\"t\":%d,\"id\":\"p%d\",\"x\":[%s],\"w\":%d,\"label\":%d%s}\n",
                i, i % 3, x, w, a, a ? ",\"kind\":\"spike\"" : ""
        }
    }'
}

@test "vigil-rf: train on labelled windows, score separates the classes" {
    windows 400 3 4 1 | vigil-cat --from json > "$T/train.mp"
    windows 200 3 4 2 | vigil-cat --from json > "$T/test.mp"
    run vigil-rf train --model "$T/rf" --trees 25 --seed 3 -v -i "$T/train.mp"
    assert_success
    assert_output --partial "400 windows (100 anomalous) of 3 x 2, 25 trees"
    vigil-rf score --model "$T/rf" < "$T/test.mp" | vigil-cat --to json > "$T/out.json"
    [ "$(wc -l < "$T/out.json")" -eq 200 ]
    # every frame keeps its keys and gains score in [0,1] and the model hash
    run jq -r 'select(.score < 0 or .score > 1 or (.model | test("^[0-9a-f]{16}$") | not)
               or .id == null or .w != 3) | .t' "$T/out.json"
    assert_output ""
    # mean score of anomalous windows well above the normal ones, and the
    # 0.5 vote gets nearly all right
    run jq -s '[.[] | select(.label == 1) | .score] | add / length' "$T/out.json"
    awk -v s="$output" 'BEGIN { exit !(s > 0.8) }'
    run jq -s '[.[] | select(.label == 0) | .score] | add / length' "$T/out.json"
    awk -v s="$output" 'BEGIN { exit !(s < 0.2) }'
    run jq -s '[.[] | select((.score > 0.5) != (.label == 1))] | length' "$T/out.json"
    [ "$output" -le 10 ]
}

@test "vigil-rf: the model key is the file's checksum; same seed, same file" {
    windows 200 2 3 5 | vigil-cat --from json > "$T/train.mp"
    vigil-rf train --model "$T/a" --trees 10 --seed 7 < "$T/train.mp"
    vigil-rf train --model "$T/b" --trees 10 --seed 7 < "$T/train.mp"
    vigil-rf train --model "$T/c" --trees 10 --seed 8 < "$T/train.mp"
    cmp "$T/a" "$T/b"
    ! cmp -s "$T/a" "$T/c"
    ha=$(vigil-rf score --model "$T/a" < "$T/train.mp" | vigil-cat --to json | jq -r .model | sort -u)
    hc=$(vigil-rf score --model "$T/c" < "$T/train.mp" | vigil-cat --to json | jq -r .model | sort -u)
    [ "${#ha}" -eq 16 ] && [ "$ha" != "$hc" ]
}

@test "vigil-rf: a stump on a separable set votes exactly" {
    printf '{"x":[%s],"label":%s}\n' 1 0 2 0 3 0 7 1 8 1 9 1 | vigil-cat --from json > "$T/s.mp"
    vigil-rf train --model "$T/rf" --trees 5 --depth 1 < "$T/s.mp"
    printf '{"x":[%s]}\n' 2.5 -40 7 100 | vigil-cat --from json \
        | vigil-rf score --model "$T/rf" | vigil-cat --to json > "$T/o.json"
    # every bootstrap split lies between a normal and an anomalous value
    run jq -c '[.x[0], .score]' "$T/o.json"
    assert_output "$(printf '[2.5,0]\n[-40,0]\n[7,1]\n[100,1]')"
}

@test "vigil-rf: bad records are reported by number and skipped" {
    windows 40 2 3 1 | vigil-cat --from json > "$T/train.mp"
    { windows 3 2 3 1; echo '{"x":[1,2,3,4],"w":2}'; echo '{"x":[1,2,3],"w":3,"label":0}'; } \
        | vigil-cat --from json > "$T/bad.mp"
    run vigil-rf train --model "$T/rf" -i "$T/bad.mp"
    assert_failure 1
    assert_output --partial "vigil-rf: record 4: key 'label': missing"
    assert_output --partial "vigil-rf: record 5: key 'x': window of 3 steps x 1 features, the first was 2 x 2"
    vigil-rf train --model "$T/rf" --trees 3 < "$T/train.mp"
    { windows 2 2 3 1; windows 1 3 3 1; echo '{"id":"p"}'; echo '{"x":[1,2,3],"w":2}'; } \
        | vigil-cat --from json > "$T/mixed.mp"
    run bash -c "set -o pipefail; vigil-rf score --model '$T/rf' < '$T/mixed.mp' | vigil-cat --to json"
    assert_failure 1
    assert_output --partial "vigil-rf: record 3: key 'x': window of 3 steps x 2 features, the model expects 2 x 2"
    assert_output --partial "vigil-rf: record 4: key 'x': missing"
    assert_output --partial "vigil-rf: record 5: key 'w': not a step count"
    [ "$(echo "$output" | grep -c '"score"')" -eq 2 ]
    # an empty training stream makes no model
    run vigil-rf train --model "$T/none" < /dev/null
    assert_failure 1
    assert_output --partial "no training windows"
    [ ! -e "$T/none" ]
}

@test "vigil-rf: corrupted, truncated and foreign model files are refused" {
    windows 40 2 3 1 | vigil-cat --from json > "$T/train.mp"
    vigil-rf train --model "$T/rf" --trees 3 < "$T/train.mp"
    cp "$T/rf" "$T/bad"
    printf 'Z' | dd of="$T/bad" bs=1 seek=$(( $(wc -c < "$T/rf") - 9 )) conv=notrunc 2>/dev/null
    run vigil-rf score --model "$T/bad" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "checksum"
    head -c 50 "$T/rf" > "$T/short"
    run vigil-rf score --model "$T/short" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "vigil-rf: "
    vigil-iforest train --model "$T/if" --trees 2 < "$T/train.mp"
    run vigil-rf score --model "$T/if" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "format is 'vigil-iforest', expected 'vigil-rf'"
    run vigil-rf score --model "$T/nope" < "$T/train.mp"
    assert_failure 1
    assert_output --partial "cannot open"
}

@test "vigil-rf: usage" {
    run vigil-rf --help
    assert_success
    for o in --model --trees --depth --min-leaf --mtry --sample --seed -i -o -v --strict; do
        assert_output --partial -- "$o"
    done
    run vigil-rf --version
    assert_success
    assert_output --partial "vigil-rf"
    run vigil-rf
    assert_failure 2
    assert_output --partial "expected 'train' or 'score'"
    run vigil-rf score
    assert_failure 2
    assert_output --partial -- "--model FILE is required"
    run vigil-rf score --model x --trees 3
    assert_failure 2
    run vigil-rf train --model x --trees 0
    assert_failure 2
}
