#!/usr/bin/env bats
# vigil-route: frames partitioned by a stable hash of the key, byte for byte.
load helper

make_input () {
    /usr/bin/python3 - > "$T/in.json" <<'PY'
import json
for i in range(200):
    print(json.dumps({"t": i, "id": "patient-%d" % (i % 17), "seq": i // 17, "v": {"hr": 60 + i % 40}}))
PY
    vigil-cat --from json -i "$T/in.json" > "$T/in.mp"
}

@test "each key goes to output FNV-1a(key) mod N; frames unchanged; every frame once" {
    make_input
    run vigil-route -v -o "$T/o1" -o "$T/o2" -o "$T/o3" < "$T/in.mp"
    assert_success
    assert_output --partial "200 read, 200 written"
    for i in 1 2 3; do vigil-cat --to json -i "$T/o$i" > "$T/o$i.json"; done
    run /usr/bin/python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
def fnv1a(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
ins = [json.loads(l) for l in open(d + "/in.json")]
got = []
for k in range(3):
    for l in open("%s/o%d.json" % (d, k + 1)):
        r = json.loads(l)
        assert fnv1a(r["id"].encode()) % 3 == k, (r["id"], k)
        got.append(r)
key = lambda r: r["t"]
assert sorted(got, key=key) == sorted(ins, key=key)
print("ok")
PY
    assert_output "ok"
    # byte for byte: the outputs together hold exactly the input's bytes
    run sh -c "cat '$T/o1' '$T/o2' '$T/o3' | wc -c"
    assert_output "$(wc -c < "$T/in.mp")"
}

@test "stable: the same partition in another run, and per-key order is kept" {
    make_input
    vigil-route -o "$T/a1" -o "$T/a2" < "$T/in.mp"
    vigil-route -o "$T/b1" -o "$T/b2" < "$T/in.mp"
    cmp "$T/a1" "$T/b1"
    cmp "$T/a2" "$T/b2"
    run sh -c "vigil-cat --to json -i '$T/a1' | grep -o '\"seq\":[0-9]*' | head -3"
    assert_line --index 0 '"seq":0'
}

@test "--key on another key; integer keys hash as their decimal text" {
    printf '%s\n' '{"bed":17,"n":1}' '{"bed":"17","n":2}' '{"bed":4,"n":3}' \
        | vigil-cat --from json > "$T/in.mp"
    vigil-route --key bed -o "$T/o1" -o "$T/o2" -o "$T/o3" -o "$T/o4" < "$T/in.mp"
    n=0
    for i in 1 2 3 4; do
        c=$(vigil-cat --to json -i "$T/o$i" | grep -c '"n":[12]' || true)
        [ "$c" -eq 0 ] || [ "$c" -eq 2 ]
        n=$((n + c))
    done
    [ "$n" -eq 2 ]
}

@test "a frame without the key is reported and skipped, exit 1" {
    printf '%s\n' '{"id":"a"}' '{"x":[1]}' '{"id":2.5}' '{"id":"b"}' | vigil-cat --from json > "$T/in.mp"
    run sh -c "vigil-route -o '$T/o1' -o '$T/o2' < '$T/in.mp'"
    assert_failure 1
    assert_line "vigil-route: record 2: key 'id' missing (needed to route)"
    assert_line "vigil-route: record 3: key 'id': not a string or integer (cannot route)"
    run sh -c "cat '$T/o1' '$T/o2' | vigil-cat --to json | wc -l"
    assert_output "2"
}

@test "over ZeroMQ: two outputs bound, two readers" {
    make_input
    p1=$(free_port); p2=$(free_port)
    vigil-cat -i ">tcp://127.0.0.1:$p1" > "$T/z1" &
    r1=$!
    vigil-cat -i ">tcp://127.0.0.1:$p2" > "$T/z2" &
    r2=$!
    run vigil-route -o "@tcp://127.0.0.1:$p1" -o "@tcp://127.0.0.1:$p2" < "$T/in.mp"
    assert_success
    wait $r1
    wait $r2
    vigil-route -o "$T/f1" -o "$T/f2" < "$T/in.mp"
    cmp "$T/z1" "$T/f1"
    cmp "$T/z2" "$T/f2"
}

@test "usage: --help; several -o allowed" {
    run vigil-route --help
    assert_success
    assert_output --partial "--key"
    assert_output --partial "-o EP"
    run vigil-route --bogus
    assert_failure 2
}
