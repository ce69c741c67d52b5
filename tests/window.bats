#!/usr/bin/env bats
# vigil-window over pipes: contents and order, labels, stride, gap restart,
# idle eviction, bad input.  Expected windows are built here in python.
load helper

# 30 records of 3 interleaved patients, x = [i, 100 + i] (i = record number),
# one per second each; record 13 is anomalous (kind spike), 16 too (no kind).
make_input () {
    /usr/bin/python3 - > "$T/in.json" <<'PY'
import json
for i in range(30):
    r = {"t": 1000 + i // 3, "id": "p%d" % (i % 3), "seq": i // 3, "v": {"hr": 70 + i},
         "x": [i, 100 + i], "label": int(i in (13, 16))}
    if i == 13:
        r["kind"] = "spike"
    print(json.dumps(r))
PY
    vigil-cat --from json -i "$T/in.json" > "$T/in.mp"
}

@test "windows: newest record, x oldest first, label any, kind of the latest anomalous, w" {
    make_input
    vigil-window --size 4 < "$T/in.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/in.json" "$T/out.json" 4 1 <<'PY'
import json, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
W, S = int(sys.argv[3]), int(sys.argv[4])
hist, want = {}, []
for r in ins:
    h = hist.setdefault(r["id"], [])
    h.append(r)
    if len(h) >= W and (len(h) - W) % S == 0:
        win = h[-W:]
        e = {k: v for k, v in r.items()}
        e["x"] = [float(x) for s in win for x in s["x"]]
        e["label"] = int(any(s["label"] for s in win))
        kinds = [s["kind"] for s in win if s["label"] and "kind" in s]
        e.pop("kind", None)
        if kinds:
            e["kind"] = kinds[-1]
        e["w"] = W
        want.append(e)
assert len(outs) == len(want), (len(outs), len(want))
for o, e in zip(outs, want):
    assert o == e, (o, e)
print(len(outs))
PY
    assert_success
    assert_output "21"
    grep -q '"kind":"spike"' "$T/out.json"
}

@test "stride: every S-th window of each key" {
    make_input
    vigil-window --size 3 --stride 2 < "$T/in.mp" | vigil-cat --to json > "$T/out.json"
    run sh -c "grep -c . '$T/out.json'"
    # 10 records per key: windows at the 3rd, 5th, 7th, 9th record -> 4 per key
    assert_output "12"
    run sh -c "head -1 '$T/out.json'"
    assert_output --partial '"x":[0.0,100.0,3.0,103.0,6.0,106.0]'
}

@test "a gap longer than --max-gap restarts the key's window (counted)" {
    printf '%s\n' '{"t":1,"id":"a","x":[1]}' '{"t":2,"id":"a","x":[2]}' '{"t":3,"id":"a","x":[3]}' \
        '{"t":60,"id":"a","x":[4]}' '{"t":61,"id":"a","x":[5]}' '{"t":62,"id":"a","x":[6]}' \
        | vigil-cat --from json > "$T/gap.mp"
    run sh -c "vigil-window -v --size 2 --max-gap 30s < '$T/gap.mp' 2>'$T/err' | vigil-cat --to json"
    assert_success
    assert_equal "${#lines[@]}" 4
    assert_line --index 0 --partial '"x":[1.0,2.0]'
    assert_line --index 1 --partial '"x":[2.0,3.0]'
    assert_line --index 2 --partial '"x":[4.0,5.0]'
    assert_line --index 3 --partial '"x":[5.0,6.0]'
    run cat "$T/err"
    assert_output --partial "4 windows of 2 x 1, 1 gap restarts"
    # without --max-gap the window spans the gap
    run sh -c "vigil-window --size 2 < '$T/gap.mp' | vigil-cat --to json"
    assert_equal "${#lines[@]}" 5
}

@test "keys idle longer than --idle are evicted (counted) and start again" {
    printf '%s\n' '{"t":1,"id":"a","x":[1]}' '{"t":1,"id":"b","x":[10]}' '{"t":2,"id":"a","x":[2]}' \
        '{"t":200,"id":"a","x":[3]}' '{"t":201,"id":"b","x":[11]}' '{"t":202,"id":"b","x":[12]}' \
        | vigil-cat --from json > "$T/idle.mp"
    run sh -c "vigil-window -v --size 2 --idle 100 < '$T/idle.mp' 2>'$T/err' | vigil-cat --to json"
    assert_success
    # a: window [1,2]; at t=200 both a and b are idle > 100 s: evicted
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 --partial '"x":[1.0,2.0]'
    assert_line --index 1 --partial '"x":[11.0,12.0]'
    run cat "$T/err"
    assert_output --partial "2 keys evicted as idle, 2 keys (peak 2)"
}

@test "mask travels with x; label absent when no step had one" {
    printf '%s\n' '{"t":1,"id":"a","x":[1,2],"mask":[0,1]}' '{"t":2,"id":"a","x":[3,4],"mask":[1,0]}' \
        | vigil-cat --from json | vigil-window --size 2 | vigil-cat --to json > "$T/out.json"
    run cat "$T/out.json"
    assert_output --partial '"x":[1.0,2.0,3.0,4.0]'
    assert_output --partial '"mask":[0,1,1,0]'
    refute_output --partial '"label"'
}

@test "bad records: no x, x of another length, no key -> named, skipped, exit 1" {
    printf '%s\n' '{"t":1,"id":"a","x":[1,2]}' '{"t":2,"id":"a","v":{"hr":1}}' '{"t":3,"id":"a","x":[1]}' \
        '{"t":4,"x":[1,2]}' '{"t":5,"id":"a","x":[3,4]}' | vigil-cat --from json > "$T/bad.mp"
    run sh -c "vigil-window --size 2 < '$T/bad.mp' 2>'$T/err' | vigil-cat --to json"
    assert_equal "${#lines[@]}" 1
    assert_line --index 0 --partial '"x":[1.0,2.0,3.0,4.0]'
    run cat "$T/err"
    assert_line --index 0 --partial "vigil-window: record 2: key 'x' missing"
    assert_line --index 1 "vigil-window: record 3: key 'x': 1 values, the stream's first record had 2"
    assert_line --index 2 "vigil-window: record 4: key 'id' missing or not a string"
    run sh -c "vigil-window --size 2 < '$T/bad.mp' > /dev/null"
    assert_failure 1
    run vigil-window --size 0
    assert_failure 2
    run vigil-window --max-gap 1h --idle 1m
    assert_failure 2
}

@test "memory: peak RSS flat from 20k to 200k records of 100 patients" {
    /usr/bin/python3 - "$T" <<'PY'
import struct, sys
def s(x): b = x.encode(); return bytes([0xa0 | len(b)]) + b
def rec(i):
    x = b"\xdc\x00\x0c" + b"".join(b"\xca" + struct.pack(">f", (i * 7 + k) % 13 - 6) for k in range(12))
    return bytes([0x83]) + s("t") + b"\xcb" + struct.pack(">d", 1.7e9 + i // 100) \
        + s("id") + s("p%03d" % (i % 100)) + s("x") + x
one = b"".join(rec(i) for i in range(20000))
open(sys.argv[1] + "/small.mp", "wb").write(one)
PY
    for i in 1 2 3 4 5 6 7 8 9 10; do cat "$T/small.mp"; done > "$T/big.mp"
    /usr/bin/time -f %M -o "$T/a" vigil-window --size 10 --idle 0 < "$T/small.mp" > /dev/null
    /usr/bin/time -f %M -o "$T/b" vigil-window --size 10 --idle 0 < "$T/big.mp" > /dev/null
    run awk -v a="$(cat "$T/a")" -v b="$(cat "$T/b")" 'BEGIN { d = (b - a) / a; if (d < 0) d = -d; print (d < 0.10) ? "flat" : "grew " a " -> " b }'
    assert_output "flat"
}
