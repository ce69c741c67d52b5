#!/bin/sh
# Make the seed corpora in tests/fuzz-corpus/<target>/ with the programs
# themselves (small inputs: a few valid files each).  Run once; the seeds
# are committed.   usage: BIN=build/bin sh fuzz/make-corpus.sh
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-$(pwd)/bin}
PATH="$BIN:$PATH"
export OPENBLAS_NUM_THREADS=1
C=tests/fuzz-corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/unwrap" fuzz/unwrap.c -lmsgpackc
rm -rf "$C"
mkdir -p "$C/frame" "$C/jsonl" "$C/csv" "$C/stats" "$C/model" "$C/thresh" "$C/baseline" "$C/score"

# Streams: raw simulator records, normalised, windowed, scored.
vigil-sim --patients 2 --duration 2m --tick 30s --seed 1 > "$tmp/raw.mp"
vigil-sim --no-anomalies --patients 3 --duration 20m --tick 10s --seed 2 > "$tmp/train-raw.mp"
vigil-norm fit --stats "$tmp/s.stats" < "$tmp/train-raw.mp"
vigil-norm apply --stats "$tmp/s.stats" < "$tmp/train-raw.mp" | vigil-window --size 2 > "$tmp/w.mp"
vigil-train -q --stats "$tmp/s.stats" -m "$tmp/m.model" --hidden 4 --latent 2 --epochs 1 \
    --seed 1 -i "$tmp/w.mp"
vigil-norm apply --stats "$tmp/s.stats" < "$tmp/raw.mp" | vigil-window --size 2 \
    | vigil-score --model "$tmp/m.model" > "$tmp/scored.mp"
vigil-thresh fit -t "$tmp/q.vt" --method quantile --q 0.9 < "$tmp/scored.mp"
vigil-thresh fit -t "$tmp/p.vt" --method pot < "$tmp/scored.mp" 2>/dev/null \
    || vigil-thresh fit -t "$tmp/p.vt" --method meanstd < "$tmp/scored.mp"
vigil-thresh apply -t "$tmp/q.vt" < "$tmp/scored.mp" > "$tmp/decided.mp"

head -c 600 "$tmp/raw.mp" > "$C/frame/raw"
head -c 900 "$tmp/w.mp" > "$C/frame/window"
vigil-cat --from json --to mp > "$C/frame/scored" <<'J'
{"t":1.5,"id":"p1","seq":3,"v":{"hr":72,"spo2":null},"x":[0.5,-1.25],"label":1,"kind":"spike","score":2.5,"top":[["hr",1.5,72,70.5]],"anomaly":true,"w":2,"model":"00ff00ff00ff00ff","thr":1.0}
J
head -c 800 "$tmp/decided.mp" > "$C/frame/decided"
# vigil-score's input path, against the model seed below
cp "$C/frame/window" "$C/frame/decided" "$C/score/"

vigil-cat --to json < "$tmp/raw.mp" | head -1 > "$C/jsonl/raw"
vigil-cat --to json < "$tmp/decided.mp" | head -1 > "$C/jsonl/decided"
printf '{"a":[1,2.5,"x",null,true,{"b":-3}],"x":[1e-3,2],"big":18446744073709551615,"neg":-9223372036854775808}' \
    > "$C/jsonl/types"
cp "$C/frame/scored" "$C/jsonl/scored.mp"

vigil-cat --to csv < "$tmp/raw.mp" | head -4 > "$C/csv/raw"
printf '\000t,id,label,kind,hr,note\n1,p1,0,,72,"a,b"\n2, p2 ,1,spike,,"say ""hi"""\n' > "$C/csv/quoted"
printf '\006time;Dev;Label;x;a\n1;d;1;2.5;q\n' > "$C/csv/named"

"$tmp/unwrap" "$tmp/s.stats" > "$C/stats/body"
{ printf '\001'; cat "$tmp/s.stats"; } > "$C/stats/file"
"$tmp/unwrap" "$tmp/m.model" > "$C/model/body"
{ printf '\001'; cat "$tmp/m.model"; } > "$C/model/file"
# derived fields (F@id, F:run, F:miss, F:d30, F:f30) and a Gaussian decoder
vigil-norm fit --stats "$tmp/d.stats" --fields hr,battery --personal hr --runs hr --missing hr \
    --delta battery --fall battery < "$tmp/train-raw.mp"
{ printf '\001'; cat "$tmp/d.stats"; } > "$C/stats/derived"
vigil-train -q --stats "$tmp/s.stats" -m "$tmp/g.model" --hidden 4 --latent 2 --epochs 1 \
    --decoder gauss --seed 1 -i "$tmp/w.mp"
{ printf '\001'; cat "$tmp/g.model"; } > "$C/model/gauss"
"$tmp/unwrap" "$tmp/q.vt" > "$C/thresh/quantile"
"$tmp/unwrap" "$tmp/p.vt" > "$C/thresh/pot"
{ printf '\001'; cat "$tmp/q.vt"; } > "$C/thresh/file"

# Baselines on a few labelled windows of 2 steps x 2 features.
awk 'BEGIN { srand(4); for (i = 0; i < 60; i++) { a = (i % 4 == 3)
        printf "{\"t\":%d,\"id\":\"p\",\"x\":[%f,%f,%f,%f],\"w\":2,\"label\":%d}\n",
            i, rand() + 3 * a, rand(), rand() + 3 * a, rand(), a } }' \
    | vigil-cat --from json > "$tmp/b.mp"
vigil-rf train --model "$tmp/b.rf" --trees 3 --seed 1 < "$tmp/b.mp"
vigil-hmm train --model "$tmp/b.hmm" --states 2 --seed 1 < "$tmp/b.mp"
vigil-iforest train --model "$tmp/b.if" --trees 3 --seed 1 < "$tmp/b.mp"
# First byte: loader (mod 3: rf, hmm, iforest); second: body (0) or file (1).
{ printf '\000'; "$tmp/unwrap" "$tmp/b.rf"; } > "$C/baseline/rf"
{ printf '\001'; "$tmp/unwrap" "$tmp/b.hmm"; } > "$C/baseline/hmm"
{ printf '\002'; "$tmp/unwrap" "$tmp/b.if"; } > "$C/baseline/iforest"
du -sh "$C"/*
