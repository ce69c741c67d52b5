#!/usr/bin/env bats
# vigil-eval: figures against an independent computation in Python (plain
# sorting, no libraries), event-level figures by hand, plots, bad input.
load helper

# Labelled, scored, flagged frames as JSON lines; scores rounded to 1
# decimal so that ties occur.  Writes $T/in.jsonl.
make_frames() {
    /usr/bin/python3 - "$T/in.jsonl" <<'PY'
import json, random, sys
random.seed(7)
kinds = ["fever", "replay", "flooding"]
with open(sys.argv[1], "w") as f:
    for i in range(4000):
        pid = "p%d" % (i % 5)
        lab = 1 if (i // 5) % 40 >= 34 else 0
        s = round(random.gauss(2.0 if lab else 0.0, 1.0), 1)
        d = {"t": 1000.0 + i // 5, "id": pid, "label": lab, "score": s,
             "anomaly": s > 1.2, "thr": 1.2}
        if lab:
            d["kind"] = kinds[(i // 200) % 3]
        f.write(json.dumps(d) + "\n")
PY
}

# Independent reference: AUC from average ranks, F1, precision, recall,
# specificity, accuracy, AP from a sort; prints key=value lines.
reference() {
    /usr/bin/python3 - "$T/in.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
s = [r["score"] for r in rows]; y = [r["label"] for r in rows]; fl = [r["anomaly"] for r in rows]
n = len(s); order = sorted(range(n), key=lambda i: s[i])
rank = [0.0] * n; i = 0
while i < n:
    j = i
    while j + 1 < n and s[order[j + 1]] == s[order[i]]:
        j += 1
    for k in range(i, j + 1):
        rank[order[k]] = (i + j) / 2.0 + 1
    i = j + 1
P = sum(y); N = n - P
auc = (sum(rank[i] for i in range(n) if y[i]) - P * (P + 1) / 2.0) / (P * N)
tp = sum(1 for i in range(n) if fl[i] and y[i]); fp = sum(1 for i in range(n) if fl[i] and not y[i])
fn = P - tp; tn = N - fp
# average precision: one step per distinct score, highest first
desc = sorted(set(s), reverse=True); ap = 0.0; ctp = cfp = 0; prev_r = 0.0
for v in desc:
    ctp += sum(1 for i in range(n) if s[i] == v and y[i])
    cfp += sum(1 for i in range(n) if s[i] == v and not y[i])
    r = ctp / P; ap += (r - prev_r) * ctp / (ctp + cfp); prev_r = r
print("roc_auc=%.12f" % auc); print("pr_auc=%.12f" % ap)
print("f1=%.12f" % (2 * tp / (2 * tp + fp + fn))); print("precision=%.12f" % (tp / (tp + fp)))
print("recall=%.12f" % (tp / P)); print("specificity=%.12f" % (tn / N))
print("accuracy=%.12f" % ((tp + tn) / n))
PY
}

json_get() {   # FILE KEY -> pointwise value
    /usr/bin/python3 -c 'import json,sys; print("%.12f" % json.load(open(sys.argv[1]))["pointwise"][sys.argv[2]])' "$1" "$2"
}

@test "eval: every figure agrees with an independent computation to 1e-6" {
    make_frames
    vigil-cat --from json -i "$T/in.jsonl" -o "$T/in.mp"
    run vigil-eval --json "$T/r.json" -i "$T/in.mp"
    assert_success
    assert_output --partial "not point-adjusted"
    assert_output --partial "Event-level"
    reference > "$T/ref"
    for k in roc_auc pr_auc f1 precision recall specificity accuracy; do
        want=$(sed -n "s/^$k=//p" "$T/ref")
        got=$(json_get "$T/r.json" $k)
        /usr/bin/python3 -c "import sys; d=abs($want-$got); print('$k', $want, $got, d); sys.exit(d > 1e-6)"
    done
}

@test "eval: --thr decides frames without anomaly, ties and AUC unchanged" {
    make_frames
    /usr/bin/python3 -c '
import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l); del d["anomaly"]; print(json.dumps(d))' "$T/in.jsonl" > "$T/noflag.jsonl"
    vigil-cat --from json -i "$T/noflag.jsonl" | vigil-eval --thr 1.2 --json "$T/a.json"
    vigil-cat --from json -i "$T/in.jsonl" | vigil-eval --json "$T/b.json"
    [ "$(json_get "$T/a.json" f1)" = "$(json_get "$T/b.json" f1)" ]
    [ "$(json_get "$T/a.json" roc_auc)" = "$(json_get "$T/b.json" roc_auc)" ]
}

@test "eval: event-level figures and per-kind recall by hand" {
    # p1: 0 0 [1 1 1] 0 with flags 0 1 [0 1 1] 0: one event detected after
    # 10 s, one true and one false alarm run; p2: [1 1] never flagged.
    printf '%s\n' \
      '{"t":0,"id":"p1","label":0,"score":0.1,"anomaly":false}' \
      '{"t":10,"id":"p1","label":0,"score":0.6,"anomaly":true}' \
      '{"t":20,"id":"p1","label":1,"kind":"fever","score":0.4,"anomaly":false}' \
      '{"t":30,"id":"p1","label":1,"kind":"fever","score":0.7,"anomaly":true}' \
      '{"t":40,"id":"p1","label":1,"kind":"fever","score":0.9,"anomaly":true}' \
      '{"t":50,"id":"p1","label":0,"score":0.2,"anomaly":false}' \
      '{"t":0,"id":"p2","label":1,"kind":"replay","score":0.3,"anomaly":false}' \
      '{"t":1,"id":"p2","label":1,"kind":"replay","score":0.3,"anomaly":false}' \
      | vigil-cat --from json > "$T/h.mp"
    run vigil-eval -i "$T/h.mp" --json "$T/h.json"
    assert_success
    assert_output --regexp "events detected +1 of 2"
    assert_output --regexp "alarm runs +2, of which false 1"
    assert_output --regexp "mean detection delay +10.0 s"
    assert_output --regexp "fever +3 +0.6667 +1/1"
    assert_output --regexp "replay +2 +0.0000 +0/1"
    [ "$(json_get "$T/h.json" recall)" = "0.400000000000" ]
}

@test "eval: --paper prints the paper's figures beside ours; plots are PNGs" {
    make_frames
    printf 'epoch,loss,val_loss,accuracy,precision,recall,specificity,f1,roc_auc\n1,9,10,0.8,0.7,0.6,0.9,0.65,0.8\n2,7,8,0.9,0.8,0.7,0.95,0.75,0.9\n' > "$T/log.csv"
    run sh -c "vigil-cat --from json -i '$T/in.jsonl' | vigil-eval --paper --plots '$T/p' --log '$T/log.csv' --json '$T/r.json'"
    assert_success
    assert_output --regexp "F1 +[0-9.]+ +0.8382"
    assert_output --regexp "specificity +[0-9.]+ +0.9800"
    for f in confusion roc pr histogram epochs; do
        head -c 4 "$T/p/$f.png" | od -c | grep -q 'P   N   G'
    done
    run vigil-eval --compare --paper --plots "$T/p" "$T/r.json"
    assert_success
    assert_output --partial "paper's VAE"
    head -c 4 "$T/p/compare.png" | od -c | grep -q 'P   N   G'
}

@test "eval: bad input is named, counted and fails the run" {
    printf '%s\n' '{"label":1,"score":"high"}' '{"label":0,"score":0.5,"anomaly":false}' \
        '{"label":1,"score":2,"anomaly":true}' | vigil-cat --from json > "$T/bad.mp"
    run vigil-eval -i "$T/bad.mp"
    assert_failure 1
    assert_output --partial "vigil-eval: record 1: key 'score'"
    assert_output --partial "accuracy"
    run sh -c "printf '' | vigil-eval"
    assert_failure 1
    assert_output --partial "no labelled frames"
    run vigil-eval --compare "$T/bad.mp"
    assert_failure 1
    assert_output --partial "not a vigil-eval JSON report"
    run vigil-eval --bogus
    assert_failure 2
    run vigil-eval --thr abc
    assert_failure 2
    run vigil-eval --log "$T/nonexistent.csv" --plots "$T/p2" -i "$T/bad.mp"
    assert_failure 1
    assert_output --partial "nonexistent.csv"
}
