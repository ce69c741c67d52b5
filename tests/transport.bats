#!/usr/bin/env bats
# ZeroMQ transport: fan-out, end-of-stream accounting, SIGTERM drain, loss
# detection by sequence number, CURVE encryption and authentication.
load helper

jsonl() {   # jsonl N ID -> N records of one id, seq 1..N
    seq 1 "$1" | sed "s/.*/{\"id\":\"$2\",\"seq\":&}/"
}

@test "fan-out 'EP1;EP2': frames balanced over both peers, each gets its own end of stream" {
    p1=$(free_port); p2=$(free_port)
    jsonl 1000 a > "$T/in.jsonl"
    timeout 20 vigil-cat --to json -v -i "@tcp://127.0.0.1:$p1" > "$T/o1" 2> "$T/e1" &
    c1=$!
    timeout 20 vigil-cat --to json -v -i "@tcp://127.0.0.1:$p2" > "$T/o2" 2> "$T/e2" &
    c2=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$p1;>tcp://127.0.0.1:$p2"
    wait $c1
    wait $c2
    n1=$(wc -l < "$T/o1"); n2=$(wc -l < "$T/o2")
    assert_equal $((n1 + n2)) 1000
    [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]
    sort -u "$T/o1" "$T/o2" | wc -l | grep -qx 1000
}

@test "fan-in: a consumer that lost frames says the counts do not add up" {
    # two producers, but the consumer is told to expect only one of them: it
    # must still end cleanly with what it has, and count what it received
    p=$(free_port)
    jsonl 50 a > "$T/a.jsonl"
    timeout 20 vigil-cat --to json -v --producers 1 -i "@tcp://127.0.0.1:$p" > "$T/out" 2> "$T/err" &
    c=$!
    vigil-cat --from json -i "$T/a.jsonl" -o ">tcp://127.0.0.1:$p"
    wait $c
    assert_equal "$(wc -l < "$T/out")" 50
    grep -q '50 read, 50 written' "$T/err"
}

@test "SIGTERM to a stage drains what it holds and forwards end of stream" {
    p1=$(free_port); p2=$(free_port)
    jsonl 3000 a > "$T/in.jsonl"
    # sink binds p2; middle stage reads p1, writes p2; source pushes into p1
    timeout 30 vigil-cat --to json -v --seq-check -i "@tcp://127.0.0.1:$p2" > "$T/out" 2> "$T/sink.err" &
    sink=$!
    timeout 30 vigil-cat -v -i "@tcp://127.0.0.1:$p1" -o ">tcp://127.0.0.1:$p2" 2> "$T/mid.err" &
    mid=$!
    # the source stays open (sleep) so the middle stage is still running
    { cat "$T/in.jsonl"; sleep 3; } | vigil-cat --from json --linger 1s -o ">tcp://127.0.0.1:$p1" &
    src=$!
    sleep 1.5
    kill -TERM $mid
    wait $mid
    wait $src
    wait $sink
    run cat "$T/mid.err"
    assert_output --partial '3000 read, 3000 written'
    assert_equal "$(wc -l < "$T/out")" 3000
    run cat "$T/sink.err"
    refute_output --partial missing
}

@test "--seq-check reports per-id gaps at the sink and fails the run" {
    { jsonl 100 a; jsonl 100 b | sed '/"seq":4[0-9]}/d'; } > "$T/in.jsonl"
    run sh -c "vigil-cat --from json -i '$T/in.jsonl' | vigil-cat --seq-check -v > /dev/null"
    assert_failure 1
    assert_line "vigil-cat: input: id 'b': 10 of 100 records missing (seq 1..100)"
    assert_line "vigil-cat: input: 10 records missing by sequence number"
    refute_line --partial "id 'a'"
}

@test "a worker killed with SIGKILL mid-stream: the loss is detected at the sink" {
    p1=$(free_port); p2=$(free_port); p3=$(free_port)
    jsonl 20000 a > "$T/in.jsonl"
    timeout 40 vigil-cat --seq-check --producers 2 -v -i "@tcp://127.0.0.1:$p3" > /dev/null 2> "$T/sink.err" &
    sink=$!
    # two workers behind one fan-out; the second is killed
    timeout 40 vigil-cat --hwm 50 -i "@tcp://127.0.0.1:$p1" -o ">tcp://127.0.0.1:$p3" 2>/dev/null &
    w1=$!
    vigil-cat --hwm 50 -i "@tcp://127.0.0.1:$p2" -o ">tcp://127.0.0.1:$p3" 2>/dev/null &
    w2=$!
    ( sleep 0.8; kill -KILL $w2 ) &
    { head -n 10000 "$T/in.jsonl"; sleep 1.5; tail -n +10001 "$T/in.jsonl"; } \
        | timeout 20 vigil-cat --from json --hwm 50 --linger 1s \
            -o ">tcp://127.0.0.1:$p1;>tcp://127.0.0.1:$p2" || true
    # the killed worker never sends its end of stream: stop the sink's wait
    wait $w1
    sleep 0.5
    kill -TERM $sink
    wait $sink || true
    kill -KILL $w2 2>/dev/null || true
    run cat "$T/sink.err"
    assert_output --regexp "id 'a': [0-9]+ of 20000 records missing"
}

@test "CURVE: an allowed client delivers, encrypted; an unknown key delivers nothing" {
    mkdir -p "$T/allow"
    vigil-keygen -n server "$T/server"
    vigil-keygen "$T/client"
    vigil-keygen "$T/intruder"
    cp "$T/client" "$T/allow/"
    [ -f "$T/server_secret" ] && [ "$(stat -c %a "$T/server_secret")" = 600 ]
    jsonl 20 a > "$T/in.jsonl"
    p=$(free_port)
    timeout 20 vigil-cat --to json -i "@tcp://127.0.0.1:$p" --curve-server "$T/server" --curve-allow "$T/allow" > "$T/ok" &
    c=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$p" --curve-client "$T/client" --curve-peer "$T/server" --linger 5s
    wait $c
    assert_equal "$(wc -l < "$T/ok")" 20

    p=$(free_port)
    timeout 4 vigil-cat --to json -v -i "@tcp://127.0.0.1:$p" --curve-server "$T/server" --curve-allow "$T/allow" > "$T/bad" 2> "$T/bad.err" &
    c=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$p" --curve-client "$T/intruder" --curve-peer "$T/server" --linger 1s
    # a plain (unencrypted) client is refused as well
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$p" --linger 1s
    wait $c || true
    assert_equal "$(wc -c < "$T/bad")" 0
    grep -q '0 read' "$T/bad.err"
}

@test "CURVE: a missing certificate is a clear error" {
    run vigil-cat -i "@tcp://127.0.0.1:1" --curve-server "$T/nope"
    assert_failure 1
    assert_output --partial "cannot load certificate"
    run vigil-keygen
    assert_failure 2
}
