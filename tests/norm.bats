#!/usr/bin/env bats
# vigil-norm fit/apply over pipes; every expected value is computed here
# with /usr/bin/python3 from the JSON input, not by the code under test.
load helper

# 40 records of 3 patients: hr, spo2, bytes (heavy-tailed); a few nulls.
make_input () {
    /usr/bin/python3 - > "$T/in.json" <<'PY'
import json, random
random.seed(5)
for i in range(40):
    v = {"hr": random.randint(50, 120), "spo2": round(random.uniform(88, 100), 1),
         "bytes": round(random.expovariate(1 / 3000), 1)}
    if i in (7, 19):
        v["spo2"] = None
    print(json.dumps({"t": 1000 + i, "id": "p%d" % (i % 3), "seq": i // 3, "v": v, "label": int(i == 30)}))
PY
    vigil-cat --from json -i "$T/in.json" > "$T/in.mp"
}

@test "std scaling: x equals (v - mean) / population std, in the stats' field order" {
    make_input
    run vigil-norm fit --stats "$T/s" --fields spo2,hr < "$T/in.mp"
    assert_success
    vigil-norm apply --stats "$T/s" < "$T/in.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/in.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
assert len(ins) == len(outs) == 40
def stats(f):
    xs = [r["v"][f] for r in ins if r["v"][f] is not None]
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))
st = {f: stats(f) for f in ("spo2", "hr")}
last = {}
for r, o in zip(ins, outs):
    assert len(o["x"]) == 2 and len(o["mask"]) == 2, o
    assert o["v"] == r["v"] and o["id"] == r["id"]
    for k, f in enumerate(("spo2", "hr")):
        v = r["v"][f]
        if v is None:
            assert o["mask"][k] == 1
            v = last.get((r["id"], f), st[f][0])
        else:
            assert o["mask"][k] == 0
            last[(r["id"], f)] = v
        want = (v - st[f][0]) / st[f][1]
        assert abs(o["x"][k] - want) < 1e-5 * max(1, abs(want)), (f, o["x"][k], want)
print("ok")
PY
    assert_success
    assert_output "ok"
}

@test "robust scaling with log1p: (T(v) - median) / (IQR / 1.349), exact below the sketch size" {
    make_input
    vigil-norm fit --stats "$T/s" --scale robust --log1p bytes < "$T/in.mp"
    vigil-norm apply --stats "$T/s" --clamp 0 < "$T/in.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/in.json" "$T/out.json" <<'PY'
import json, math, sys
import numpy as np
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
T = {"hr": lambda v: v, "spo2": lambda v: v, "bytes": lambda v: math.copysign(math.log1p(abs(v)), v)}
for k, f in enumerate(("hr", "spo2", "bytes")):
    ys = np.array([T[f](r["v"][f]) for r in ins if r["v"][f] is not None])
    med = np.quantile(ys, 0.5)
    iqr = np.quantile(ys, 0.75) - np.quantile(ys, 0.25)
    for r, o in zip(ins, outs):
        if r["v"][f] is None:
            continue
        want = (T[f](r["v"][f]) - med) / (iqr / 1.3489795003921634)
        assert abs(o["x"][k] - want) < 1e-5 * max(1, abs(want)), (f, o["x"][k], want)
print("ok")
PY
    assert_success
    assert_output "ok"
}

@test "clamp bounds x; default 10" {
    printf '%s\n' '{"id":"a","v":{"hr":70}}' '{"id":"a","v":{"hr":80}}' \
        | vigil-cat --from json | vigil-norm fit --stats "$T/s"
    printf '%s\n' '{"id":"a","v":{"hr":1000}}' '{"id":"a","v":{"hr":-1000}}' '{"id":"a","v":{"hr":76}}' \
        | vigil-cat --from json > "$T/big.mp"
    run sh -c "vigil-norm apply --stats '$T/s' < '$T/big.mp' | vigil-cat --to json"
    assert_success
    assert_line --index 0 --partial '"x":[10.0]'
    assert_line --index 1 --partial '"x":[-10.0]'
    assert_line --index 2 --partial '"x":[0.2]'
    run sh -c "vigil-norm apply --stats '$T/s' --clamp 2.5 < '$T/big.mp' | vigil-cat --to json"
    assert_line --index 0 --partial '"x":[2.5]'
}

# Raw MessagePack with NaN and Inf readings (JSON cannot carry them).
write_nan_inf () {
    /usr/bin/python3 - > "$T/nan.mp" <<'PY'
import struct, sys
def s(x): b = x.encode(); return bytes([0xa0 | len(b)]) + b
def f(x): return b"\xc0" if x is None else b"\xcb" + struct.pack(">d", x)
def rec(id, hr, spo2):
    v = bytes([0x82]) + s("hr") + f(hr) + s("spo2") + f(spo2)
    return bytes([0x82]) + s("id") + s(id) + s("v") + v
out = rec("a", 60, 97) + rec("a", float("nan"), float("inf")) + rec("b", float("-inf"), None)
sys.stdout.buffer.write(out)
PY
}

@test "missing, nil, NaN and Inf readings are imputed, masked and counted" {
    printf '%s\n' '{"id":"x","v":{"hr":70,"spo2":95}}' '{"id":"x","v":{"hr":90,"spo2":99}}' \
        | vigil-cat --from json | vigil-norm fit --stats "$T/s"
    write_nan_inf
    printf '%s\n' '{"id":"c","v":{"spo2":99}}' | vigil-cat --from json >> "$T/nan.mp"
    run sh -c "vigil-norm apply -v --stats '$T/s' < '$T/nan.mp' 2>'$T/err' | vigil-cat --to json"
    assert_success
    # a: hr 60 -> (60-80)/10 = -2, spo2 97 -> (97-97)/2 = 0.  Then NaN/Inf: a's last values.
    assert_line --index 0 --partial '"x":[-2.0,0.0],"mask":[0,0]'
    assert_line --index 1 --partial '"x":[-2.0,0.0],"mask":[1,1]'
    # b has no history: the population mean (x = 0); c: hr absent
    assert_line --index 2 --partial '"x":[0.0,0.0],"mask":[1,1]'
    assert_line --index 3 --partial '"x":[0.0,1.0],"mask":[1,0]'
    run cat "$T/err"
    assert_output --partial "5 readings imputed (1 absent, 2 nil/NaN, 2 Inf; 2 from the key's last value)"
    refute_output --partial "nan"
}

@test "--by id: personal baselines side by side (x population, xp personal)" {
    make_input
    vigil-norm fit --stats "$T/s" --fields hr < "$T/in.mp"
    vigil-norm apply --stats "$T/s" --by id --alpha 0.1 --clamp 0 < "$T/in.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/in.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
hr = [r["v"]["hr"] for r in ins]
m0 = sum(hr) / len(hr); s0 = math.sqrt(sum((x - m0) ** 2 for x in hr) / len(hr))
state = {}
a = 0.1
for r, o in zip(ins, outs):
    m, var = state.get(r["id"], (m0, s0 * s0))
    y = r["v"]["hr"]
    sd = max(math.sqrt(var), 0.1 * s0)
    assert abs(o["xp"][0] - (y - m) / sd) < 1e-4, (o, m, sd)
    assert abs(o["x"][0] - (y - m0) / s0) < 1e-5
    d = y - m
    state[r["id"]] = (m + a * d, (1 - a) * (var + d * a * d))
print("ok")
PY
    assert_success
    assert_output "ok"
    # personal only: x is the personal scaling, no xp
    run sh -c "vigil-norm apply --stats '$T/s' --by id --emit personal < '$T/in.mp' | vigil-cat --to json | head -1"
    refute_output --partial '"xp"'
    run vigil-norm apply --stats "$T/s" --emit personal < /dev/null
    assert_failure 2
    assert_output --partial "needs --by"
}

@test "--personal: F@id fields against a winsorised baseline started from the patient's own readings" {
    make_input
    vigil-norm fit --stats "$T/s" --fields hr --personal hr,spo2 < "$T/in.mp"
    run sh -c "vigil-norm fit --stats '$T/s2' --fields hr --personal hr,spo2 -v < '$T/in.mp' 2>&1 | cut -d: -f2"
    assert_output --partial " hr"$'\n'" hr@id"$'\n'" spo2@id"
    vigil-norm apply --stats "$T/s" --alpha 0.1 --gate 1 --start own --clamp 0 < "$T/in.mp" \
        | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/in.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
def pop(k):
    v = [r["v"][k] for r in ins if r["v"][k] is not None]
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
(mh, sh), (ms, ss) = pop("hr"), pop("spo2")
a, gate, state = 0.1, 1.0, {}
for r, o in zip(ins, outs):
    assert len(o["x"]) == 3 and "xp" not in o
    assert abs(o["x"][0] - (r["v"]["hr"] - mh) / sh) < 1e-5
    for j, (k, m0, s0) in enumerate((("hr", mh, sh), ("spo2", ms, ss))):
        m, var, n = state.get((r["id"], k), (m0, s0 * s0, 0))
        y = r["v"][k]
        sd = max(math.sqrt(var), 0.1 * s0)
        if y is None:           # imputed (last value or centre): no update
            assert o["mask"][1 + j] == 1
            continue
        assert abs(o["x"][1 + j] - (y - m) / sd) < 1e-4, (o, k, m, sd)
        n += 1
        d = y - m
        if n > 1:
            d = max(-gate * sd, min(gate * sd, d))
        am, av = max(a, 1 / n), max(a, 1 / (n + 100))
        state[(r["id"], k)] = (m + am * d, (1 - av) * (var + av * d * d), n)
print("ok")
PY
    assert_success
    assert_output "ok"
    # a personal field without readings; a bad --start
    run vigil-norm fit --stats "$T/s3" --fields hr --personal pulse < "$T/in.mp"
    assert_failure 1
    assert_output --partial "personal field 'pulse' has no readings"
    run vigil-norm apply --stats "$T/s" --start yesterday < /dev/null
    assert_failure 2
    assert_output --partial "--start: 'yesterday' is not population or own"
    # records without the key are refused
    printf '{"t":1,"v":{"hr":70,"spo2":97,"bytes":1}}\n' | vigil-cat --from json > "$T/noid.mp"
    run vigil-norm apply --stats "$T/s" -i "$T/noid.mp"
    assert_failure 1
    assert_output --partial "record 1: key 'id' missing or not a string (needed by the personal fields)"
}

@test "--runs: F:run counts the records in a row with an unchanged reading, per id, log1p-scaled" {
    /usr/bin/python3 - > "$T/r.json" <<'PY'
import json
hr = {"a": [70, 70, 70, 71, 71, None, 71, 72, 72, 72, 72, 60],
      "b": [80, 81, 81, 81, 81, 81, 81, 81, 90, 90, 91, 91]}
for i in range(12):
    for k in "ab":
        print(json.dumps({"t": 1000 + i, "id": k, "v": {"hr": hr[k][i], "spo2": 97}}))
PY
    vigil-cat --from json -i "$T/r.json" > "$T/r.mp"
    vigil-norm fit --stats "$T/s" --fields hr,spo2 --runs hr < "$T/r.mp"
    vigil-norm apply --stats "$T/s" < "$T/r.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/r.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
last, run, runs = {}, {}, []
for r in ins:
    y = r["v"]["hr"]
    if y is None:
        runs.append(None)
        continue
    run[r["id"]] = run.get(r["id"], -1) + 1 if last.get(r["id"]) == y else 0
    last[r["id"]] = y
    runs.append(math.log1p(run[r["id"]]))
v = [x for x in runs if x is not None]
m = sum(v) / len(v); sd = math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
prev = {}
for r, o, y in zip(ins, outs, runs):
    assert len(o["x"]) == 3
    if y is None:       # missing: imputed with the id's last value, masked
        assert o["mask"][2] == 1 and abs(o["x"][2] - prev[r["id"]]) < 1e-6
        continue
    assert abs(o["x"][2] - (y - m) / sd) < 1e-5, (o, y)
    prev[r["id"]] = o["x"][2]
print("ok")
PY
    assert_success
    assert_output "ok"
    run vigil-norm fit --stats "$T/s2" --fields hr --runs pulse < "$T/r.mp"
    assert_failure 1
    assert_output --partial "run field 'pulse' has no readings"
}

@test "--delta, --fall: F:d30 is the move over the id's last 30 readings beyond one unit, F:f30 its fall" {
    /usr/bin/python3 - > "$T/d.json" <<'PY'
import json
# a: steady, a one-unit rounding step, a missing reading, then a fast drain;
# b: charging, one unit every 5 records
for i in range(70):
    a = 80 if i < 10 else 79 if i < 40 else 79 - (i - 40)
    b = 50 + i // 5
    print(json.dumps({"t": 1000 + i, "id": "a", "v": {"battery": None if i == 20 else a}}))
    print(json.dumps({"t": 1000 + i, "id": "b", "v": {"battery": b}}))
PY
    vigil-cat --from json -i "$T/d.json" > "$T/d.mp"
    vigil-norm fit --stats "$T/s" --fields battery --delta battery --fall battery < "$T/d.mp"
    vigil-norm apply --stats "$T/s" < "$T/d.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/d.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]

def scaled(v):
    m = sum(v) / len(v); sd = math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
    return lambda x: (x - m) / sd

seen, ds = {}, []
for r in ins:
    y = r["v"]["battery"]
    if y is None:
        ds.append(None)
        continue
    h = seen.setdefault(r["id"], [])
    d = 0 if not h else y - (h[0] if len(h) < 30 else h[-30])
    h.append(y)
    ds.append(d - 1 if d > 1 else d + 1 if d < -1 else 0)
v = [x for x in ds if x is not None]
assert min(v) <= -20 and max(v) == 5, (min(v), max(v))   # the drain; 6 steps of charging
fs = [None if d is None else min(d, 0) for d in ds]    # falls only: charging counts 0
zd, zf = scaled(v), scaled([f for f in fs if f is not None])
prev = {}
for r, o, d, f in zip(ins, outs, ds, fs):
    assert len(o["x"]) == 3
    if d is None:       # missing: imputed with the id's last value, masked
        assert o["mask"][1] == o["mask"][2] == 1, o
        assert abs(o["x"][1] - prev[r["id"]][0]) < 1e-6 and abs(o["x"][2] - prev[r["id"]][1]) < 1e-6
        continue
    assert abs(o["x"][1] - zd(d)) < 1e-5 and abs(o["x"][2] - zf(f)) < 1e-5, (r, o, d, f)
    prev[r["id"]] = o["x"][1:]
print("ok")
PY
    assert_success
    assert_output "ok"
    run vigil-norm fit --stats "$T/s2" --fields battery --delta pulse < "$T/d.mp"
    assert_failure 1
    assert_output --partial "change field 'pulse:d30' has no readings"
    run vigil-norm fit --stats "$T/s2" --fields battery --fall pulse < "$T/d.mp"
    assert_failure 1
    assert_output --partial "change field 'pulse:f30' has no readings"
    run vigil-norm apply --stats "$T/s" --fall battery < "$T/d.mp"
    assert_failure 2
}

@test "--missing: F:miss counts the records in a row with F missing, per id, linear, never masked" {
    /usr/bin/python3 - > "$T/r.json" <<'PY'
import json
hr = {"a": [70, None, None, 71, 71, None, 71, 72, None, None, None, 60],
      "b": [80, 81, 81, 81, 81, 81, 81, 81, 90, 90, 91, 91]}
for i in range(12):
    for k in "ab":
        print(json.dumps({"t": 1000 + i, "id": k, "v": {"hr": hr[k][i], "spo2": 97}}))
PY
    vigil-cat --from json -i "$T/r.json" > "$T/r.mp"
    vigil-norm fit --stats "$T/s" --fields hr,spo2 --runs hr --missing hr < "$T/r.mp"
    vigil-norm apply --stats "$T/s" < "$T/r.mp" | vigil-cat --to json > "$T/out.json"
    run /usr/bin/python3 - "$T/r.json" "$T/out.json" <<'PY'
import json, math, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
outs = [json.loads(l) for l in open(sys.argv[2])]
miss, ys = {}, []
for r in ins:
    miss[r["id"]] = miss.get(r["id"], 0) + 1 if r["v"]["hr"] is None else 0
    ys.append(miss[r["id"]])
m = sum(ys) / len(ys); sd = math.sqrt(sum((y - m) ** 2 for y in ys) / len(ys))
for r, o, y in zip(ins, outs, ys):
    assert len(o["x"]) == 4 and o["mask"][3] == 0
    assert o["mask"][0] == (r["v"]["hr"] is None)
    assert abs(o["x"][3] - (y - m) / sd) < 1e-5, (o, y)
print("ok", max(ys) == 3)
PY
    assert_success
    assert_output "ok True"
    run vigil-norm fit -v --stats "$T/s2" --fields hr --missing hr < "$T/r.mp"
    assert_success
    assert_output --partial "hr:miss: 24 readings, 0 missing"
    run vigil-norm apply --stats "$T/s" --missing hr < "$T/r.mp"
    assert_failure 2
    assert_output --partial "--missing is not an option of 'apply'"
}

@test "fit: --fields leaves others out (apply passes them through); a field never seen is an error" {
    make_input
    run vigil-norm fit -v --stats "$T/s" --fields hr < "$T/in.mp"
    assert_success
    assert_output --partial "hr: 40 readings, 0 missing"
    run sh -c "vigil-norm apply --stats '$T/s' < '$T/in.mp' | vigil-cat --to json | head -1"
    assert_output --partial '"bytes"'
    run vigil-norm fit --stats "$T/s2" --fields hr,pulse < "$T/in.mp"
    assert_failure 1
    assert_output --partial "field 'pulse': no readings"
    [ ! -e "$T/s2" ]
}

@test "bad stats file: missing, foreign, truncated, corrupted -> exit 1 with the reason" {
    make_input
    vigil-norm fit --stats "$T/s" < "$T/in.mp"
    run vigil-norm apply --stats "$T/nope" < "$T/in.mp"
    assert_failure 1
    assert_output --partial "cannot open"
    run vigil-norm apply --stats "$T/in.json" < "$T/in.mp"
    assert_failure 1
    assert_output --partial "vigil-stats"
    head -c 40 "$T/s" > "$T/trunc"
    run vigil-norm apply --stats "$T/trunc" < "$T/in.mp"
    assert_failure 1
    assert_output --partial "truncated"
    size=$(wc -c < "$T/s")
    cp "$T/s" "$T/bad"
    printf 'Z' | dd of="$T/bad" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
    run vigil-norm apply --stats "$T/bad" < "$T/in.mp"
    assert_failure 1
    assert_output --partial "checksum"
}

@test "a reading not in the stats, a non-numeric reading -> record and field named, exit 1, others go on" {
    printf '%s\n' '{"id":"a","v":{"hr":70}}' '{"id":"a","v":{"hr":90}}' \
        | vigil-cat --from json | vigil-norm fit --stats "$T/s"
    printf '%s\n' '{"id":"a","v":{"hr":70}}' '{"id":"a","v":{"hr":71,"pulse":3}}' \
        '{"id":"a","v":{"hr":"fast"}}' '{"id":"a","v":{"hr":80}}' | vigil-cat --from json > "$T/bad.mp"
    run sh -c "vigil-norm apply --stats '$T/s' < '$T/bad.mp' 2>'$T/err' | vigil-cat --to json"
    assert_success
    assert_equal "${#lines[@]}" 2
    run cat "$T/err"
    assert_line "vigil-norm: record 2: key 'v': reading 'pulse' is not a field of the stats file"
    assert_line "vigil-norm: record 3: key 'v': reading 'hr' is not a number (a string)"
    run sh -c "vigil-norm apply --stats '$T/s' < '$T/bad.mp' > /dev/null"
    assert_failure 1
    run vigil-norm apply --strict --stats "$T/s" < "$T/bad.mp"
    assert_failure 1
}

@test "usage: --help lists every option; bad options exit 2" {
    run vigil-norm --help
    assert_success
    for o in --stats --fields --scale --log1p --personal --runs --missing --delta --fall --key --clamp --by --emit --alpha --floor \
             --gate --start --idle -v --strict; do
        assert_output --partial -- "$o"
    done
    run vigil-norm apply
    assert_failure 2
    assert_output --partial "--stats FILE is required"
    run vigil-norm apply --stats x --scale robust
    assert_failure 2
    run vigil-norm frobnicate
    assert_failure 2
    run vigil-norm --version
    assert_success
}
