#!/usr/bin/env bats
# vigil-alert: incidents, classes, observed vs expected, JSON, PUB, bad input.
load helper

# p1: flags at t=100..110 on spo2 (clinical); p2: one flag on loss
# (technical) at 105; p3 unflagged at 400 closes both.
frames() {
    /usr/bin/python3 - <<'PY'
import json
M = "0123456789abcdef"
def rec(pid, t, flag, score, f1, c1, o1, e1, f2, c2, o2, e2):
    return {"t": t, "id": pid, "score": score, "anomaly": flag, "thr": 5.0, "model": M,
            "top": [[f1, c1, o1, e1], [f2, c2, o2, e2]]}
for i in range(11):
    print(json.dumps(rec("p1", 100 + i, True, 6 + i, "spo2", 9.0, 84.0, 97.0, "hr", 2.0, 121.0, 80.0)))
    if i == 5:
        print(json.dumps(rec("p2", 105, True, 7.5, "loss", 9.0, 0.25, 0.01, "hr", 1.0, 80.0, 79.0)))
print(json.dumps(rec("p3", 400, False, 1.0, "hr", 1.0, 80.0, 80.0, "rr", 1.0, 16.0, 16.0)))
PY
}

@test "alert: incidents open and close with observed vs expected values" {
    frames | vigil-cat --from json > "$T/f.mp"
    run vigil-alert -i "$T/f.mp" -v
    assert_success
    assert_line --index 0 --regexp "^1970-01-01T00:01:40Z OPEN +p1 clinical score 6 > thr 5: spo2 84 \(expected 97\), hr 121 \(expected 80\) model 0123456789abcdef$"
    assert_output --regexp "OPEN +p2 technical score 7.5 > thr 5: loss 0.25 \(expected 0.01\)"
    assert_output --regexp "CLOSE +p1 clinical for 10s, 11 windows flagged, peak 16 \(thr 5\)"
    assert_output --partial "2 incidents, 4 messages"
}

@test "alert: rate limit and quiet period are options" {
    frames | vigil-cat --from json > "$T/f.mp"
    run vigil-alert --rate-limit 2s -i "$T/f.mp"
    assert_success
    [ "$(echo "$output" | grep -c UPDATE)" -ge 3 ]
    # a quiet period of 1 s splits nothing here (flags are 1 s apart) ...
    run vigil-alert --quiet 1s -i "$T/f.mp"
    [ "$(echo "$output" | grep -c 'OPEN.*p1')" -eq 1 ]
}

@test "alert: --json lines carry class, peak, threshold, top and model" {
    frames | vigil-cat --from json > "$T/f.mp"
    vigil-alert --json -i "$T/f.mp" > "$T/a.jsonl"
    /usr/bin/python3 -c '
import json,sys
a=[json.loads(l) for l in open(sys.argv[1])]
c=[x for x in a if x["event"]=="CLOSE" and x["id"]=="p1"][0]
assert c["class"]=="clinical" and c["peak"]==16 and c["thr"]==5 and c["flagged"]==11
assert c["top"][0]["field"]=="spo2" and c["top"][0]["observed"]==84 and c["top"][0]["expected"]==97
assert c["model"]=="0123456789abcdef" and c["duration"]==10
t=[x for x in a if x["id"]=="p2"][0]
assert t["class"]=="technical"' "$T/a.jsonl"
}

@test "alert: -o publishes JSON on a PUB socket" {
    port=$(free_port)
    frames | vigil-cat --from json > "$T/f.mp"
    # a slow stream: the subscriber joins before the first alert
    ( sleep 1; cat "$T/f.mp" ) | vigil-alert -o "@tcp://127.0.0.1:$port" > "$T/text" &
    /usr/bin/python3 - "$port" > "$T/sub" <<'PY' || skip "python3-zmq not installed"
import sys
try:
    import zmq
except ImportError:
    sys.exit(1)
s = zmq.Context().socket(zmq.SUB); s.setsockopt(zmq.SUBSCRIBE, b""); s.setsockopt(zmq.RCVTIMEO, 5000)
s.connect("tcp://127.0.0.1:%s" % sys.argv[1])
print(s.recv().decode())
PY
    wait
    grep -q '"event":"OPEN"' "$T/sub"
    grep -q "OPEN" "$T/text"
}

@test "alert: bad input is named and counted; bad options are usage errors" {
    printf '%s\n' '{"t":1,"id":"p1"}' '{"id":"p1","anomaly":true,"score":3}' \
        '{"t":2,"id":"p1","anomaly":true,"score":3,"thr":1}' | vigil-cat --from json > "$T/bad.mp"
    run vigil-alert -i "$T/bad.mp"
    assert_failure 1
    assert_output --partial "vigil-alert: record 1: key 'anomaly': missing"
    assert_output --partial "vigil-alert: record 2: key 't': missing"
    assert_output --partial "OPEN"
    run vigil-alert -o "$T/file"
    assert_failure 2
    assert_output --partial "expected a ZeroMQ endpoint"
    run vigil-alert --quiet soon
    assert_failure 2
}
