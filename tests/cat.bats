#!/usr/bin/env bats
# vigil-cat: conversions, pipes, ZeroMQ transport and bad input.
load helper

records() {
    printf '{"t":1767225600.0,"id":"p1","seq":1,"v":{"hr":72,"spo2":98,"temp":36.6},"label":0}\n'
    printf '{"t":1767225601.0,"id":"p2","seq":1,"v":{"hr":95,"spo2":null,"temp":38.1},"label":1,"kind":"fever","note":"kept"}\n'
    printf '{"t":1767225602.5,"id":"p1","seq":2,"v":{"hr":71,"spo2":97,"temp":36.7},"label":0}\n'
}

@test "json -> frames -> json round trip keeps every key and value" {
    records > "$T/in.jsonl"
    run sh -c "vigil-cat --from json -i '$T/in.jsonl' | vigil-cat --to json"
    assert_success
    assert_output "$(cat "$T/in.jsonl" | sed 's/"t":\([0-9]*\)\.0,/"t":\1.0,/')"
}

@test "frames -> csv has a header and a row per record" {
    records | grep -v note | vigil-cat --from json > "$T/in.mp"
    run vigil-cat --to csv -i "$T/in.mp"
    assert_success
    assert_line --index 0 't,id,seq,hr,spo2,temp,label,kind'
    assert_line --index 1 '1767225600,p1,1,72,98,36.6,0,'
    assert_line --index 2 '1767225602.5,p1,2,71,97,36.7,0,'
    assert_equal "${#lines[@]}" 3
}

@test "frames -> csv: a key outside the header is named, the row skipped" {
    records | vigil-cat --from json > "$T/in.mp"
    run vigil-cat --to csv -i "$T/in.mp"
    assert_failure 1
    assert_line "vigil-cat: record 2: key 'note' is not in the CSV header (set by the first record)"
    assert_line '1767225602.5,p1,2,71,97,36.7,0,'
}

@test "csv in: chosen columns, numeric readings, trimmed strings kept or dropped" {
    printf ' time , patient ,HR, Flgs ,SpO2,Label,Attack Category\n' > "$T/d.csv"
    printf '10, p1 ,72,  e   ,,0,normal\n' >> "$T/d.csv"
    printf '11, p2 ,80,  e * ,97,1, Spoofing \n' >> "$T/d.csv"
    run vigil-cat --from csv --to json --t time --id patient --label Label --kind 'Attack Category' --strings keep -i "$T/d.csv"
    assert_success
    assert_line --index 0 '{"t":10.0,"id":"p1","v":{"HR":72.0,"SpO2":null},"label":0,"Flgs":"e"}'
    assert_line --index 1 '{"t":11.0,"id":"p2","v":{"HR":80.0,"SpO2":97.0},"label":1,"kind":"Spoofing","Flgs":"e *"}'
    run vigil-cat --from csv --to json --t time --id patient -i "$T/d.csv"
    assert_success
    refute_output --partial Flgs
}

@test "csv in: a row with the wrong number of columns is named, skipped, exit 1" {
    printf 'a,b,c\n1,2,3\n4,5\n6,7,8\n' > "$T/bad.csv"
    run vigil-cat --from csv --to json -i "$T/bad.csv"
    assert_failure 1
    assert_line 'vigil-cat: line 3: 2 cells, the header has 3 columns'
    assert_line '{"v":{"a":1.0,"b":2.0,"c":3.0}}'
    assert_line '{"v":{"a":6.0,"b":7.0,"c":8.0}}'
}

@test "json in: a syntax error names line 3, the rest goes through" {
    printf '{"t":1}\n{"t":2}\n{"t": 3,}\n{"t":4}\n' > "$T/bad.jsonl"
    run vigil-cat --from json --to json -v -i "$T/bad.jsonl"
    assert_failure 1
    assert_line --partial 'vigil-cat: line 3: column'
    assert_line '{"t":4}'
    assert_line 'vigil-cat: 4 read, 3 written, 1 skipped'
}

@test "--strict stops at the first bad record" {
    printf '{"t":1}\nnot json\n{"t":4}\n' > "$T/bad.jsonl"
    run vigil-cat --from json --to json --strict -i "$T/bad.jsonl"
    assert_failure 1
    assert_line --partial 'line 2'
    refute_line '{"t":4}'
}

@test "bytes that are not MessagePack: clear error with the byte offset, exit 1" {
    run sh -c 'printf "hello world\n" | vigil-cat --to json'
    assert_failure 1
    assert_output --partial 'byte offset 0'
    run bash -c 'printf "\x80\xc1\x80" | vigil-cat --to json'
    assert_failure 1
    assert_output --partial 'byte offset 1: not a MessagePack stream'
}

@test "a truncated stream reports the offset of the partial frame" {
    records | vigil-cat --from json > "$T/in.mp"
    head -c $(( $(stat -c %s "$T/in.mp") - 3 )) "$T/in.mp" > "$T/cut.mp"
    run vigil-cat --to json -i "$T/cut.mp"
    assert_failure 1
    assert_output --partial 'truncated frame at end of input'
    assert_equal "$(echo "$output" | grep -c '^{')" 2
}

@test "an oversize frame is refused by --max-frame, not allocated" {
    records | vigil-cat --from json > "$T/in.mp"
    run vigil-cat --to json --max-frame 32 -i "$T/in.mp"
    assert_failure 1
    assert_output --partial 'frame 1:'
    assert_output --partial 'maximum frame size'
    # a frame that claims a 4 GiB array but stops short
    run bash -c 'printf "\x81\xa1x\xdd\xff\xff\xff\xff\x01\x02" | vigil-cat --to json'
    assert_failure 1
    assert_output --partial 'truncated'
}

@test "usage errors exit 2; --help and --version exit 0" {
    run vigil-cat --from xml
    assert_failure 2
    assert_line --index 0 "vigil-cat: unknown format 'xml' (mp, json or csv)"
    run vigil-cat --help
    assert_success
    assert_line --index 0 --partial 'usage: vigil-cat'
    run vigil-cat --version
    assert_success
    assert_output --partial 'vigil'
}

@test "zmq: producer connects, consumer binds; end of stream ends the consumer" {
    port=$(free_port)
    records > "$T/in.jsonl"
    timeout 20 vigil-cat --to json -i "@tcp://127.0.0.1:$port" > "$T/out.jsonl" &
    consumer=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$port"
    wait $consumer
    assert_equal "$(cat "$T/out.jsonl")" "$(vigil-cat --from json -i "$T/in.jsonl" | vigil-cat --to json)"
}

@test "zmq: producer binds, consumer connects later, nothing is lost" {
    port=$(free_port)
    seq 1 500 | sed 's/.*/{"seq":&}/' > "$T/in.jsonl"
    vigil-cat --from json -i "$T/in.jsonl" -o "@tcp://127.0.0.1:$port" &
    producer=$!
    sleep 0.5
    run timeout 20 vigil-cat --to json -v -i ">tcp://127.0.0.1:$port"
    wait $producer
    assert_success
    assert_equal "${#lines[@]}" 501
    assert_line 'vigil-cat: 500 read, 500 written, 0 skipped'
}

@test "zmq: a consumer started after its connecting producer gets every record" {
    port=$(free_port)
    seq 1 300 | sed 's/.*/{"seq":&}/' > "$T/in.jsonl"
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$port" &
    producer=$!
    sleep 0.7
    run timeout 20 vigil-cat --to json -i "@tcp://127.0.0.1:$port"
    wait $producer
    assert_success
    assert_equal "${#lines[@]}" 300
}

@test "zmq: two producers into one consumer with --producers 2" {
    port=$(free_port)
    seq 1 200 | sed 's/.*/{"id":"a","seq":&}/' > "$T/a.jsonl"
    seq 1 100 | sed 's/.*/{"id":"b","seq":&}/' > "$T/b.jsonl"
    timeout 20 vigil-cat --to json --producers 2 -i "@tcp://127.0.0.1:$port" > "$T/out.jsonl" &
    consumer=$!
    vigil-cat --from json -i "$T/a.jsonl" -o ">tcp://127.0.0.1:$port" &
    vigil-cat --from json -i "$T/b.jsonl" -o ">tcp://127.0.0.1:$port"
    wait $consumer
    assert_equal "$(grep -c '"id":"a"' "$T/out.jsonl")" 200
    assert_equal "$(grep -c '"id":"b"' "$T/out.jsonl")" 100
}

@test "ipc endpoints work the same way" {
    records > "$T/in.jsonl"
    timeout 20 vigil-cat --to json -i "@ipc://$T/sock" > "$T/out.jsonl" &
    consumer=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">ipc://$T/sock"
    wait $consumer
    assert_equal "$(wc -l < "$T/out.jsonl")" 3
}

@test "a large stream passes through two stages intact (throughput: make bench)" {
    seq 1 100000 | sed 's/.*/{"seq":&,"v":{"hr":72}}/' | vigil-cat --from json > "$T/big.mp"
    run sh -c "vigil-cat -v -i '$T/big.mp' | vigil-cat -v > /dev/null"
    assert_success
    assert_line 'vigil-cat: 100000 read, 100000 written, 0 skipped'
}
