#!/usr/bin/env bats
# Bad input across the programs: malformed frames, wrong types, NaN and Inf,
# huge claims, empty and truncated streams, foreign, truncated and random
# files, directories, absurd options.  Each must give the documented exit
# code (1 bad data, 2 usage) and a message naming the record, key or file;
# none may crash or hang (every run is under `timeout`).
load helper

setup_file() {
    export OPENBLAS_NUM_THREADS=1
    D="$BATS_FILE_TMPDIR"
    export D
    vigil-sim --no-anomalies --patients 2 --duration 10m --tick 10s --seed 2 > "$D/raw.mp"
    vigil-norm fit --stats "$D/s.stats" < "$D/raw.mp"
    vigil-norm apply --stats "$D/s.stats" < "$D/raw.mp" | vigil-window --size 2 > "$D/w2.mp"
    vigil-norm apply --stats "$D/s.stats" < "$D/raw.mp" | vigil-window --size 3 > "$D/w3.mp"
    vigil-train -q --stats "$D/s.stats" -m "$D/m.model" --hidden 4 --latent 2 --epochs 1 -i "$D/w2.mp"
    vigil-score --model "$D/m.model" < "$D/w2.mp" > "$D/scored.mp"
    vigil-thresh fit -t "$D/q.vt" --method quantile --q 0.9 < "$D/scored.mp"
    vigil-rf train --model "$D/b.rf" --trees 2 < "$D/w2.mp" 2>/dev/null
    head -c 1000 /dev/urandom > "$D/random"
    : > "$D/empty"
}

# A frame {t: 1, id: "p1", v: {hr: <float64 bytes>}} with the given 8 bytes.
hr_frame() {
    printf '\x83\xa1t\x01\xa2id\xa2p1\xa1v\x81\xa2hr\xcb'"$1"
}

# The first N scored records as JSON with sed expression E applied.
scored_json() {
    vigil-cat --to json < "$D/scored.mp" | head -"$1" | sed "$2"
}

# --- streams --------------------------------------------------------------

@test "bad: random bytes into vigil-cat exit 1 naming the byte offset" {
    run timeout 20 vigil-cat --to json -i "$D/random"
    assert_failure 1
    assert_output --regexp "^vigil-cat: byte offset 0: "
}

@test "bad: an empty stream is a valid empty stream for vigil-cat" {
    run timeout 20 vigil-cat --to json < "$D/empty"
    assert_success
    assert_output ""
}

@test "bad: a frame claiming 4G array elements is truncated, not allocated" {
    run timeout 20 bash -c "printf '\x81\xa1x\xdd\xff\xff\xff\xff' | vigil-cat --to json"
    assert_failure 1
    assert_output "vigil-cat: byte offset 0: truncated frame at end of input (8 bytes)"
}

@test "bad: a frame claiming a 4G-entry map with a tiny --max-frame" {
    run timeout 20 bash -c "{ printf '\x81\xa1x\xdf\xff\xff\xff\xff'; head -c 5000 /dev/zero; } | vigil-cat --max-frame 4k"
    assert_failure 1
    assert_output --partial "vigil-cat: frame 1: more than 4096 bytes, exceeds the maximum frame size"
}

@test "bad: a stream cut in the middle of a frame names the offset" {
    head -c 1000 "$D/w2.mp" > "$T/cut.mp"
    run timeout 20 vigil-cat --to json -i "$T/cut.mp"
    assert_failure 1
    assert_line --regexp "^vigil-cat: byte offset [0-9]+: truncated frame at end of input \([0-9]+ bytes\)$"
}

@test "bad: a frame larger than --max-frame is named" {
    run timeout 20 vigil-cat --max-frame 100 -i "$D/w2.mp"
    assert_failure 1
    assert_output --regexp "vigil-cat: frame 1: [0-9]+ bytes exceeds the maximum frame size 100"
}

@test "bad: a JSON line with a 1.2M-element x makes a frame the next stage refuses" {
    python3 -c 'print("{\"x\":[" + ",".join(["0"] * 1200000) + "]}")' > "$T/big.json"
    run timeout 30 bash -c "vigil-cat --from json -i '$T/big.json' | vigil-cat --to json"
    assert_failure 1
    assert_output "vigil-cat: frame 1: more than 4194304 bytes, exceeds the maximum frame size (--max-frame)"
}

@test "bad: a directory as the input file" {
    run timeout 20 vigil-cat -i /tmp
    assert_failure 1
    assert_output "vigil-cat: input: cannot read '/tmp': is a directory"
}

@test "bad: JSON nested 100000 deep is refused naming line and column" {
    run timeout 20 bash -c "python3 -c 'print(\"[\" * 100000)' | vigil-cat --from json"
    assert_failure 1
    assert_output --partial "vigil-cat: line 1: column 2049: maximum parsing depth reached"
}

@test "bad: an overflowing number in JSON names line and column" {
    run timeout 20 bash -c "printf '{\"t\":1}\n{\"score\":1e999}\n' | vigil-cat --from json > /dev/null"
    assert_failure 1
    assert_output --partial "vigil-cat: line 2: column 14: real number overflow"
}

@test "bad: CSV without a header row" {
    run timeout 20 vigil-cat --from csv < "$D/empty"
    assert_failure 1
    assert_output "vigil-cat: '-': no header row"
}

@test "bad: CSV sequence number beyond 2^64 is a bad row, the rest goes on" {
    run timeout 20 bash -c "printf 'seq,hr\n1e31,1\n3,3\n' | vigil-cat --from csv --to json"
    assert_failure 1
    assert_line "vigil-cat: line 2: column 'seq': '1e31' is not a sequence number"
    assert_line '{"seq":3,"v":{"hr":3.0}}'
}

# --- wrong types, NaN and Inf -------------------------------------------------

@test "bad: a string time is named by key (vigil-norm)" {
    run timeout 20 bash -c "printf '{\"t\":\"yesterday\",\"id\":\"p1\"}\n' | vigil-cat --from json | vigil-norm apply --stats '$D/s.stats'"
    assert_failure 1
    assert_output "vigil-norm: record 1: key 't': not a finite number"
}

@test "bad: a string reading is named by key and reading (vigil-norm)" {
    run timeout 20 bash -c "printf '{\"t\":1,\"id\":\"p1\",\"v\":{\"hr\":\"high\"}}\n' | vigil-cat --from json | vigil-norm apply --stats '$D/s.stats'"
    assert_failure 1
    assert_output "vigil-norm: record 1: key 'v': reading 'hr' is not a number (a string)"
}

@test "bad: a NaN time is refused (vigil-norm)" {
    run timeout 20 bash -c "printf '\x83\xa1t\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\xa2id\xa2p1\xa1v\x80' | vigil-norm apply --stats '$D/s.stats'"
    assert_failure 1
    assert_output "vigil-norm: record 1: key 't': not a finite number"
}

@test "bad: Inf and NaN readings are missing: imputed and masked, as documented" {
    hr_frame '\x7f\xf0\x00\x00\x00\x00\x00\x00' > "$T/inf.mp"
    hr_frame '\x7f\xf8\x00\x00\x00\x00\x00\x00' >> "$T/inf.mp"
    run timeout 20 bash -c "vigil-norm apply --stats '$D/s.stats' -i '$T/inf.mp' | vigil-cat --to json | jq -c '.mask[0]'"
    assert_success
    assert_output $'1\n1'
}

@test "bad: x of the wrong type (vigil-window)" {
    run timeout 20 bash -c "vigil-cat --to json < '$D/w2.mp' | head -2 | sed 's/\"x\":\[[^]]*\]/\"x\":\"abc\"/' | vigil-cat --from json | vigil-window --size 2"
    assert_failure 1
    assert_line "vigil-window: record 1: key 'x': not an array of numbers"
    assert_line "vigil-window: record 2: key 'x': not an array of numbers"
}

@test "bad: an Inf in x is rejected by vigil-score" {
    # float32 +Inf as the first element of a 28-float window
    n=$(vigil-cat --to json < "$D/w2.mp" | head -1 | jq '.x | length')
    { printf '\x83\xa1t\x01\xa1w\x02\xa1x\xdc\x00'; printf "\\x$(printf %02x "$n")"
      printf '\xca\x7f\x80\x00\x00'
      for _ in $(seq 2 "$n"); do printf '\x00'; done; } > "$T/infx.mp"
    run timeout 20 vigil-score --model "$D/m.model" -i "$T/infx.mp"
    assert_failure 1
    assert_output --partial "vigil-score: record 1: key 'x'"
    assert_output --partial "finite"
}

@test "bad: a finite x too large to score (1.5e27) is refused by vigil-score" {
    n=$(vigil-cat --to json < "$D/w2.mp" | head -1 | jq '.x | length')
    { printf '\x83\xa1t\x01\xa1w\x02\xa1x\xdc\x00'; printf "\\x$(printf %02x "$n")"
      printf '\xca\x6c\x9f\x61\xc0'
      for _ in $(seq 2 "$n"); do printf '\x00'; done; } > "$T/bigx.mp"
    run timeout 20 vigil-score --model "$D/m.model" -i "$T/bigx.mp"
    assert_failure 1
    assert_output "vigil-score: record 1: key 'x': value 1 (1.54145e+27) is beyond +-1e+06"
}

@test "bad: a string score (vigil-thresh apply)" {
    run timeout 20 bash -c "$(declare -f scored_json); D='$D'; scored_json 2 's/\"score\":[^,]*,/\"score\":\"big\",/' | vigil-cat --from json | vigil-thresh apply -t '$D/q.vt'"
    assert_failure 1
    assert_line "vigil-thresh: record 1: key 'score': not a number"
}

@test "bad: an Inf score (vigil-thresh apply) and a NaN score (vigil-eval)" {
    printf '\x84\xa1t\x01\xa2id\xa2p1\xa5label\x00\xa5score\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00' > "$T/inf.mp"
    run timeout 20 vigil-thresh apply -t "$D/q.vt" -i "$T/inf.mp"
    assert_failure 1
    assert_output "vigil-thresh: record 1: key 'score': not a finite number"
    printf '\x84\xa1t\x01\xa2id\xa2p1\xa5label\x00\xa5score\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00' > "$T/nan.mp"
    run timeout 20 vigil-eval -i "$T/nan.mp"
    assert_failure 1
    assert_line "vigil-eval: record 1: key 'score': not a number"
}

@test "bad: a string label (vigil-eval)" {
    run timeout 20 bash -c "$(declare -f scored_json); D='$D'; scored_json 2 's/\"label\":[^,]*,/\"label\":\"yes\",/' | vigil-cat --from json | vigil-eval"
    assert_failure 1
    assert_line "vigil-eval: record 1: key 'label': not 0 or 1"
    assert_line "vigil-eval: no labelled frames: nothing to evaluate"
}

@test "bad: frames without a decision (vigil-alert)" {
    run timeout 20 bash -c "head -c 5000 '$D/scored.mp' | vigil-cat 2>/dev/null | vigil-alert"
    assert_failure 1
    assert_line "vigil-alert: record 1: key 'anomaly': missing (run vigil-thresh apply first)"
}

@test "bad: windows without x (vigil-train, vigil-rf)" {
    run timeout 20 vigil-train -q --stats "$D/s.stats" -m "$T/x.model" --epochs 1 -i "$D/raw.mp"
    assert_failure 1
    assert_line "vigil-train: record 1: key 'x': missing (expected a window of floats)"
    run timeout 20 vigil-rf score --model "$D/b.rf" -i "$D/raw.mp"
    assert_failure 1
    assert_line --partial "vigil-rf: record 1: key 'x'"
}

# --- empty streams --------------------------------------------------------------

@test "bad: empty streams where data is needed" {
    run timeout 20 vigil-norm fit --stats "$T/x.stats" < "$D/empty"
    assert_failure 1
    assert_output "vigil-norm: no records"
    run timeout 20 vigil-train -q --stats "$D/s.stats" -m "$T/x.model" < "$D/empty"
    assert_failure 1
    assert_output "vigil-train: need at least 2 windows to train, got 0"
    run timeout 20 vigil-thresh fit -t "$T/x.vt" < "$D/empty"
    assert_failure 1
    assert_output "vigil-thresh: no scored records to fit on"
    run timeout 20 vigil-eval < "$D/empty"
    assert_failure 1
    assert_output "vigil-eval: no labelled frames: nothing to evaluate"
}

# --- model and other files ---------------------------------------------------------

@test "bad: a model for another window size" {
    run timeout 20 vigil-score --model "$D/m.model" -i "$D/w3.mp"
    assert_failure 1
    assert_line "vigil-score: record 1: key 'w': window of 3 steps, the model expects 2"
    run timeout 20 vigil-rf score --model "$D/b.rf" -i "$D/w3.mp"
    assert_failure 1
    assert_line "vigil-rf: record 1: key 'x': window of 3 steps x 14 features, the model expects 2 x 14"
}

@test "bad: a stats file given as a model, a model as stats, a threshold as stats" {
    run timeout 20 vigil-score --model "$D/s.stats" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-score: '$D/s.stats': format is 'vigil-stats', expected 'vigil-model'"
    run timeout 20 vigil-train -q --stats "$D/m.model" -m "$T/x" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-train: '$D/m.model': format is 'vigil-model', expected 'vigil-stats'"
    run timeout 20 vigil-norm apply --stats "$D/q.vt" -i "$D/raw.mp"
    assert_failure 1
    assert_output "vigil-norm: '$D/q.vt': format is 'vigil-thresh', expected 'vigil-stats'"
}

@test "bad: one baseline's model given to another" {
    run timeout 20 vigil-hmm score --model "$D/b.rf" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-hmm: '$D/b.rf': format is 'vigil-rf', expected 'vigil-hmm'"
    run timeout 20 vigil-iforest score --model "$D/m.model" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-iforest: '$D/m.model': format is 'vigil-model', expected 'vigil-iforest'"
}

@test "bad: a directory as the model file" {
    run timeout 20 vigil-score --model /tmp -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-score: '/tmp': not a regular file of at most 1 GiB"
    run timeout 20 vigil-iforest score --model /tmp -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-iforest: '/tmp': not a regular file of at most 1 GiB"
}

@test "bad: a zero-length and a truncated model file" {
    run timeout 20 vigil-score --model "$D/empty" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-score: '$D/empty': not a vigil-model file (truncated or not MessagePack)"
    head -c 1000 "$D/m.model" > "$T/cut.model"
    run timeout 20 vigil-score --model "$T/cut.model" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-score: '$T/cut.model': not a vigil-model file (truncated or not MessagePack)"
}

@test "bad: random bytes as a threshold file and as a stats file" {
    run timeout 20 vigil-thresh apply -t "$D/random" -i "$D/scored.mp"
    assert_failure 1
    assert_output --regexp "^vigil-thresh: '$D/random': (not a vigil-thresh file|format is)"
    run timeout 20 vigil-norm apply --stats "$D/random" -i "$D/raw.mp"
    assert_failure 1
    assert_output --regexp "^vigil-norm: '$D/random': (not a vigil-stats file|format is)"
}

@test "bad: a container body claiming 4G entries is refused, not allocated" {
    # A "vigil-stats" container with a valid checksum over an 8-byte body
    # {"a": map of 4294967295 entries}: FNV-1a of the body computed here.
    body=$'\x81\xa1a\xdf\xff\xff\xff\xff'
    sum=$(printf '%s' "$body" | od -An -v -tu1 | python3 -c '
import sys
h = 0xcbf29ce484222325
for b in sys.stdin.read().split():
    h = ((h ^ int(b)) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)')
    { printf '\x84\xa6format\xabvigil-stats\xa7version\x01\xa8checksum\xcf'
      printf "$(echo "$sum" | sed 's/../\\x&/g')"
      printf '\xa4body\xc4\x08'; printf '%s' "$body"; } > "$T/huge.stats"
    run timeout 20 vigil-norm apply --stats "$T/huge.stats" -i "$D/raw.mp"
    assert_failure 1
    assert_output "vigil-norm: '$T/huge.stats': body is not a MessagePack map"
}

@test "bad: a corrupted model byte fails the checksum" {
    cp "$D/m.model" "$T/c.model"
    printf 'Z' | dd of="$T/c.model" bs=1 seek=500 conv=notrunc 2>/dev/null
    run timeout 20 vigil-score --model "$T/c.model" -i "$D/w2.mp"
    assert_failure 1
    assert_output "vigil-score: '$T/c.model': checksum mismatch (file corrupted)"
}

@test "bad: an unwritable output file" {
    run timeout 20 vigil-norm fit --stats /nonexistent/dir/x -i "$D/raw.mp"
    assert_failure 1
    assert_output "vigil-norm: cannot write '/nonexistent/dir/x': No such file or directory"
}

@test "bad: a scenario file of random bytes, and a missing one (vigil-sim)" {
    run timeout 20 vigil-sim --scenario "$D/random"
    assert_failure 1
    assert_output "vigil-sim: $D/random: cannot read a text file"
    run timeout 20 vigil-sim --scenario /nonexistent
    assert_failure 1
    assert_output "vigil-sim: /nonexistent: No such file or directory"
}

@test "bad: eval --compare on a file that is not a report" {
    run timeout 20 vigil-eval --compare "$D/random" "$D/random"
    assert_failure 1
    assert_output --partial "vigil-eval: $D/random: not a vigil-eval JSON report"
}

# --- options ------------------------------------------------------------------------

@test "bad: negative and absurd option values exit 2 naming the option" {
    check() {   # expected message, then the command
        local want=$1; shift
        run timeout 20 "$@" < /dev/null
        [ "$status" -eq 2 ] || { echo "$*: status $status: $output"; return 1; }
        [[ "${lines[0]}" == "$want" ]] || { echo "$*: got '${lines[0]}', want '$want'"; return 1; }
    }
    check "vigil-window: --size: '-3' is not an integer in [1, 100000]" vigil-window --size -3
    check "vigil-window: --size: '99999999999999999999' is not an integer in [1, 100000]" vigil-window --size 99999999999999999999
    check "vigil-sim: --patients: '-1' is not an integer in [1, 1000000]" vigil-sim --patients -1
    check "vigil-sim: --tick: '-5s' is not a duration (e.g. 500ms, 30s, 5m, 24h, 7d)" vigil-sim --tick -5s
    check "vigil-sim: tick must be 1ms..1d" vigil-sim --tick 0
    check "vigil-sim: --severity: severity '11' is not in (0, 10]" vigil-sim --severity 11
    check "vigil-thresh: --q: '1.5' is not a number in [1e-12, 1]" vigil-thresh fit -t "$T/x" --method quantile --q 1.5
    check "vigil-thresh: --method: 'nope' is not pot, quantile, meanstd, budget or bestf1" vigil-thresh fit -t "$T/x" --method nope
    check "vigil-score: --top: '99' is not an integer in [0, 16]" vigil-score --model "$D/m.model" --top 99
    check "vigil-score: --batch: '100000000000' is not an integer in [1, 65536]" vigil-score --model "$D/m.model" --batch 100000000000
    check "vigil-train: --epochs: '-1' is not an integer in [1, 1000000]" vigil-train --stats "$D/s.stats" -m "$T/x" --epochs -1
    check "vigil-train: --hidden: '100000000' is not a list of widths such as 64,32" vigil-train --stats "$D/s.stats" -m "$T/x" --hidden 100000000
    check "vigil-hmm: --states: '1000' is not an integer in [1, 64]" vigil-hmm train --model "$T/x" --states 1000
    check "vigil-rf: --trees: '0' is not an integer in [1, 100000]" vigil-rf train --model "$T/x" --trees 0
    check "vigil-iforest: --sample: '-4' is not an integer in [2, 1048576]" vigil-iforest train --model "$T/x" --sample -4
    check "vigil-norm: --clamp: '-1' is not a number in [0, 1e+30]" vigil-norm apply --stats "$D/s.stats" --clamp -1
    check "vigil-norm: --scale: 'weird' is not std or robust" vigil-norm fit --stats "$T/x" --scale weird
    check "vigil-alert: --quiet: '-1s' is not a duration (e.g. 500ms, 30s, 5m, 24h, 7d)" vigil-alert --quiet -1s
    check "vigil-cat: --max-frame: '0' is not a size (e.g. 4096, 64k, 16M)" vigil-cat --max-frame 0
    check "vigil-cat: --producers: '-2' is not an integer in [1, 100000]" vigil-cat --producers -2
    check "vigil-route: unknown option '--bogus'" vigil-route --bogus
}

@test "bad: a required file option missing exits 2" {
    run timeout 20 vigil-norm apply < "$D/raw.mp"
    assert_failure 2
    assert_line --index 0 "vigil-norm: --stats FILE is required"
}

# --- memory checks --------------------------------------------------------------------

@test "valgrind: random bytes and a normal run through vigil-cat: no invalid access, no leak" {
    command -v valgrind > /dev/null || skip "valgrind is not installed"
    ! ldd "$(command -v vigil-cat)" | grep -q libasan || skip "an ASan build (make SAN=1) cannot run under valgrind"
    vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible"
    run timeout 120 $vg vigil-cat --to json -i "$D/random"
    assert_failure 1
    assert_output --regexp "^vigil-cat: byte offset 0: "
    printf '{"t":1.5,"id":"p1","seq":1,"v":{"hr":72,"spo2":97.5},"label":0}\n' > "$T/one.json"
    run timeout 120 bash -c "$vg vigil-cat --from json -i '$T/one.json' | $vg vigil-cat --to json"
    assert_success
    assert_output '{"t":1.5,"id":"p1","seq":1,"v":{"hr":72,"spo2":97.5},"label":0}'
    run timeout 120 bash -c "$vg vigil-cat --to csv -i '$D/raw.mp' | tail -1"
    assert_success
}
