#!/usr/bin/env bats
# pipelines/distributed.sh: the pipeline over K window and M scorer
# processes, on loopback and across network namespaces; CURVE; SIGTERM to
# the source drains everything; a scorer killed mid-stream is detected at the
# sink.  Also the two measuring aids: vigil-sim --start now, vigil-alert
# --latency.
load helper

DIST="$BATS_TEST_DIRNAME/../pipelines/distributed.sh"

setup_file() {
    # one small model for every test (distributed.sh builds it when missing)
    export MODEL="$BATS_FILE_TMPDIR/model"
    mkdir -p "$MODEL"
    export PATH="${BIN:-$BATS_TEST_DIRNAME/../bin}:$PATH" OPENBLAS_NUM_THREADS=1
    cd "$MODEL"
    vigil-sim --patients 4 --duration 30m --seed 11 --no-anomalies > train.mp
    vigil-norm fit --stats stats.vs -i train.mp
    vigil-norm apply --stats stats.vs -i train.mp | vigil-window --size 10 > train.win
    vigil-train --stats stats.vs -m model.vm --epochs 3 -q -i train.win
    vigil-sim --patients 4 --duration 30m --seed 12 --no-anomalies | vigil-norm apply --stats stats.vs \
        | vigil-window --size 10 | vigil-score --model model.vm | vigil-thresh fit -t thresh.vt --method quantile
}

# a base port with room for the ten or so ports of a run
base_port() { echo $(( 20000 + (RANDOM % 400) * 100 )); }

# the sum of a stage group's "N read" from the logs
reads() { cat "$T/out/logs/$1".*.err | sed -n 's/.*: \([0-9]*\) read,.*/\1/p' | awk '{ s += $1 } END { print s }'; }

@test "loopback, K=2 M=3: completes, records in = records out at every hop" {
    run timeout 60 "$DIST" -K 2 -M 3 --patients 6 --duration 10m --model "$MODEL" --out "$T/out" \
        --port "$(base_port)" --timeout 50
    assert_success
    refute_output --partial FAIL
    assert_output --partial "records in = records out: 3600 records, 3546 windows, 3546 at the sink"
    assert_line --regexp '^vigil-score\.3 +[1-9][0-9]* +[1-9][0-9]* +0 +0$'
    # every window went through exactly one window process and one scorer
    assert_equal "$(reads vigil-window)" 3600
    assert_equal "$(reads vigil-score)" 3546
    grep -q '3546 read, 0 written, 0 skipped' "$T/out/logs/vigil-alert.err"
}

@test "CURVE on every hop: keys made with vigil-keygen, the run completes" {
    run timeout 60 "$DIST" -K 2 -M 2 --patients 4 --duration 5m --model "$MODEL" --out "$T/out" \
        --port "$(base_port)" --curve --timeout 50
    assert_success
    assert_output --partial "records in = records out: 1200 records, 1164 windows, 1164 at the sink"
    for r in front window score sink; do
        [ -s "$T/out/keys/$r" ] && [ "$(stat -c %a "$T/out/keys/${r}_secret")" = 600 ]
        [ -s "$T/out/keys/allow/$r" ] && [ ! -e "$T/out/keys/allow/${r}_secret" ]
    done
}

@test "CURVE: a middle stage is a server on its input and a client on its output" {
    mkdir -p "$T/allow"
    vigil-keygen -n server "$T/server"
    vigil-keygen -n client "$T/client"
    cp "$T/client" "$T/allow/"
    seq 1 100 | sed 's/.*/{"id":"a","seq":&}/' > "$T/in.jsonl"
    p1=$(free_port); p2=$(free_port)
    sv=(--curve-server "$T/server" --curve-allow "$T/allow")
    cl=(--curve-client "$T/client" --curve-peer "$T/server")
    timeout 20 vigil-cat --to json -i "@tcp://127.0.0.1:$p2" "${sv[@]}" > "$T/out" &
    sink=$!
    timeout 20 vigil-cat -v -i "@tcp://127.0.0.1:$p1" -o ">tcp://127.0.0.1:$p2" "${sv[@]}" "${cl[@]}" --linger 5s 2> "$T/mid.err" &
    mid=$!
    vigil-cat --from json -i "$T/in.jsonl" -o ">tcp://127.0.0.1:$p1" "${cl[@]}" --linger 5s
    wait $mid
    wait $sink
    assert_equal "$(wc -l < "$T/out")" 100
    grep -q '100 read, 100 written' "$T/mid.err"
}

@test "SIGTERM to the source mid-stream: every stage drains, the counts add up" {
    port=$(base_port)
    timeout 60 "$DIST" -K 2 -M 2 --patients 8 --duration 1h --sim-args "--realtime --tick 50ms" \
        --model "$MODEL" --out "$T/out" --port "$port" --timeout 50 > "$T/log" 2>&1 &
    d=$!
    for _ in $(seq 50); do grep -q '^vigil-sim ' "$T/out/pids" 2>/dev/null && break; sleep 0.1; done
    sleep 2
    kill -TERM "$(awk '$1 == "vigil-sim" { print $2 }' "$T/out/pids")"
    status=0
    wait $d || status=$?
    run cat "$T/log"
    assert_equal "$status" 0
    refute_output --partial FAIL
    grep -q 'stopped by signal' "$T/out/logs/vigil-sim.err"
    n=$(sed -n 's/^vigil-sim: 0 read, \([0-9]*\) written.*/\1/p' "$T/out/logs/vigil-sim.err")
    # two seconds of 160 records/s: stopped mid-stream, nothing lost
    [ "$n" -gt 100 ] && [ "$n" -lt 57600 ]
    assert_output --regexp "records in = records out: $n records, [0-9]+ windows"
}

@test "a scorer killed with SIGKILL mid-stream: the sink reports per-id gaps, the run fails" {
    port=$(base_port)
    timeout 60 "$DIST" -K 2 -M 2 --patients 8 --duration 6s --sim-args "--realtime --tick 10ms" \
        --model "$MODEL" --out "$T/out" --port "$port" --linger 1s --grace 2 --timeout 50 > "$T/log" 2>&1 &
    d=$!
    for _ in $(seq 50); do grep -q '^vigil-sim ' "$T/out/pids" 2>/dev/null && break; sleep 0.1; done
    sleep 2
    kill -KILL "$(awk '$1 == "vigil-score.2" { print $2 }' "$T/out/pids")"
    status=0
    wait $d || status=$?
    assert_equal "$status" 1
    run cat "$T/log"
    assert_output --regexp "vigil-alert: input: id 'p00[1-8]': [0-9]+ of [0-9]+ records missing"
    assert_output --partial "vigil-thresh: producers gone without end of stream"
    assert_output --partial "no summary (it crashed or was killed)"
    assert_output --partial "FAILED"
}

# --- across network namespaces ----------------------------------------------
NS_A="vgl$$a" NS_B="vgl$$b" NS_C="vgl$$c"

teardown() {
    if [ -n "${NETNS_MADE:-}" ]; then
        for ns in "$NS_A" "$NS_B" "$NS_C"; do
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        done
    fi
}

@test "across three network namespaces joined by veth pairs, with CURVE" {
    [ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
    ip netns list > /dev/null 2>&1 || skip "ip netns is unavailable"
    NETNS_MADE=1
    # front (A) -- 10.201.1.0/24 -- windows and scorers (B) -- 10.201.2.0/24 -- sink (C)
    for ns in "$NS_A" "$NS_B" "$NS_C"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip link add "${NS_A}0" netns "$NS_A" type veth peer name "${NS_B}0" netns "$NS_B"
    ip link add "${NS_B}1" netns "$NS_B" type veth peer name "${NS_C}1" netns "$NS_C"
    ip -n "$NS_A" addr add 10.201.1.1/24 dev "${NS_A}0"
    ip -n "$NS_B" addr add 10.201.1.2/24 dev "${NS_B}0"
    ip -n "$NS_B" addr add 10.201.2.1/24 dev "${NS_B}1"
    ip -n "$NS_C" addr add 10.201.2.2/24 dev "${NS_C}1"
    ip -n "$NS_A" link set "${NS_A}0" up
    ip -n "$NS_B" link set "${NS_B}0" up
    ip -n "$NS_B" link set "${NS_B}1" up
    ip -n "$NS_C" link set "${NS_C}1" up
    # the sink's namespace has no route to the front: traffic really hops
    ip -n "$NS_C" route get 10.201.2.1 > /dev/null
    run ip -n "$NS_C" route get 10.201.1.1
    assert_failure

    run timeout 90 "$DIST" -K 2 -M 2 --patients 6 --duration 10m --model "$MODEL" --out "$T/out" \
        --port 5600 --curve --timeout 80 \
        --host front=10.201.1.1 --host window=10.201.1.2 --host score=10.201.2.1 --host sink=10.201.2.2 \
        --run front="ip netns exec $NS_A sh -c" --run window="ip netns exec $NS_B sh -c" \
        --run score="ip netns exec $NS_B sh -c" --run sink="ip netns exec $NS_C sh -c"
    assert_success
    refute_output --partial FAIL
    assert_output --partial "records in = records out: 3600 records, 3546 windows, 3546 at the sink"
    # each stage bound an address that exists only in its namespace; none is left
    assert_equal "$(ip netns pids "$NS_C" | wc -l)" 0
}

# --- the measuring aids of bench/latency.sh ----------------------------------
@test "vigil-sim --start now stamps t with the wall clock; --latency at the alert sink" {
    now=$(date +%s)
    vigil-sim --start now --patients 1 --duration 1s | vigil-cat --to json > "$T/one"
    t=$(sed 's/.*"t":\([0-9.]*\).*/\1/' "$T/one" | cut -d. -f1)
    [ $((t - now)) -ge 0 ] && [ $((t - now)) -le 2 ]
    run vigil-sim --start yesterday
    assert_failure 2
    assert_output --partial "--start: 'yesterday' is not a time"

    # real time through the whole pipeline: small latencies, one per window
    pipeline() {
        vigil-norm apply --stats "$MODEL/stats.vs" | vigil-window --size 10 \
            | vigil-score --model "$MODEL/model.vm" --idle 0 | vigil-thresh apply -t "$MODEL/thresh.vt" \
            | vigil-alert --latency > /dev/null
    }
    vigil-sim --realtime --start now --patients 2 --tick 100ms --duration 2s | pipeline 2> "$T/fast"
    run cat "$T/fast"
    assert_output --regexp 'latency over 22 frames: p50 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms'
    p50=$(sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p' "$T/fast")
    awk -v p="$p50" 'BEGIN { exit !(p > 0 && p < 300) }'
    # a stream held back until 2.5 s on its way: the first window (due at
    # 0.9 s) waited about 1.6 s
    vigil-sim --realtime --start now --patients 2 --tick 100ms --duration 2s \
        | { sleep 2.5; cat; } | pipeline 2> "$T/slow"
    max=$(sed -n 's/.*max \([0-9.]*\) ms.*/\1/p' "$T/slow")
    awk -v m="$max" 'BEGIN { exit !(m >= 1400) }'
}
