#!/usr/bin/env bats
# vigil-train: training on simulated normal windows, the log, the model file,
# reproducibility and bad input.
load helper

setup_file() {
    export OPENBLAS_NUM_THREADS=1
    D="$BATS_FILE_TMPDIR"
    vigil-sim --no-anomalies --patients 4 --duration 30m --tick 5s --seed 3 > "$D/raw.mp"
    vigil-norm fit --stats "$D/s.stats" < "$D/raw.mp"
    vigil-norm apply --stats "$D/s.stats" < "$D/raw.mp" | vigil-window --size 4 > "$D/w.mp"
    vigil-sim --patients 4 --duration 30m --tick 5s --seed 3 --start 1767229200 \
        | vigil-norm apply --stats "$D/s.stats" | vigil-window --size 4 > "$D/eval.mp"
}

@test "--help lists every option and says windows are held in memory" {
    run vigil-train --help
    assert_success
    assert_line --index 0 --partial 'usage: vigil-train'
    assert_output --partial 'held in memory'
    for o in --stats --model --hidden --latent --act --decoder --beta --lr --weight-decay --clip \
             --batch --epochs --patience --val --val-windows --seed --threads --log --eval --calibrate --quiet; do
        assert_output --partial -- "$o"
    done
    run vigil-train --version
    assert_success
    assert_output --partial 'vigil-train'
}

@test "usage errors exit 2" {
    run vigil-train -m "$T/m.model" < /dev/null
    assert_failure 2
    assert_output --partial 'vigil-train: --stats and --model are required'
    run vigil-train --stats "$BATS_FILE_TMPDIR/s.stats" -m "$T/m" --hidden 64,x
    assert_failure 2
    assert_output --partial "--hidden: '64,x' is not a list of widths"
    run vigil-train --stats "$BATS_FILE_TMPDIR/s.stats" -m "$T/m" --act sigmoid
    assert_failure 2
    assert_output --partial "--act: 'sigmoid' is not relu or tanh"
    run vigil-train --stats "$BATS_FILE_TMPDIR/s.stats" -m "$T/m" --decoder laplace
    assert_failure 2
    assert_output --partial "--decoder: 'laplace' is not unit or gauss"
}

@test "training lowers the validation loss, logs every epoch and saves the model" {
    D="$BATS_FILE_TMPDIR"
    run vigil-train --stats "$D/s.stats" -m "$T/m.model" --hidden 32,16 --latent 4 \
        --epochs 8 --patience 8 --batch 64 --lr 0.003 --log "$T/log.csv" -i "$D/w.mp"
    assert_success
    assert_output --partial 'vigil-train: epoch 1/8 loss'
    assert_output --partial 'windows/s eta'
    assert_output --regexp "saved '.*m.model' \(model [0-9a-f]{16}\)"
    [ -s "$T/m.model" ]
    run head -1 "$T/log.csv"
    assert_output 'epoch,loss,recon,kl,val_loss,val_recon,val_kl,seconds,windows_per_s,improved'
    [ "$(wc -l < "$T/log.csv")" -eq 9 ]
    # validation loss of the last epoch well below the first
    run awk -F, 'NR==2{a=$5} END{print ($5 < 0.8*a) ? "lower" : "not lower " a " " $5}' "$T/log.csv"
    assert_output 'lower'
}

@test "--eval adds accuracy, precision, recall, specificity, F1 and ROC AUC per epoch" {
    D="$BATS_FILE_TMPDIR"
    run vigil-train -q --stats "$D/s.stats" -m "$T/m.model" --epochs 3 --log "$T/log.csv" \
        --eval "$D/eval.mp" -i "$D/w.mp"
    assert_success
    assert_output ''
    run head -1 "$T/log.csv"
    assert_output --partial ',thr,accuracy,precision,recall,specificity,f1,roc_auc'
    run awk -F, 'NR>1{for(i=12;i<=17;i++) if(!($i>=0 && $i<=1)) bad=1} END{print bad ? "bad" : "ok"}' "$T/log.csv"
    assert_output 'ok'
}

@test "the same seed gives the same model, bit for bit" {
    D="$BATS_FILE_TMPDIR"
    vigil-train -q --stats "$D/s.stats" -m "$T/a.model" --epochs 2 --seed 9 -i "$D/w.mp"
    vigil-train -q --stats "$D/s.stats" -m "$T/b.model" --epochs 2 --seed 9 -i "$D/w.mp"
    vigil-train -q --stats "$D/s.stats" -m "$T/c.model" --epochs 2 --seed 10 -i "$D/w.mp"
    cmp "$T/a.model" "$T/b.model"
    ! cmp -s "$T/a.model" "$T/c.model"
}

@test "a window that does not fit the stats is reported and skipped" {
    D="$BATS_FILE_TMPDIR"
    { vigil-cat --to json -i "$D/w.mp" | head -50
      echo '{"id":"z","x":[1,2,3]}'
      vigil-cat --to json -i "$D/w.mp" | sed -n '51,100p'; } \
        | vigil-cat --from json > "$T/mixed.mp"
    run vigil-train -q --stats "$D/s.stats" -m "$T/m.model" --epochs 1 -i "$T/mixed.mp"
    assert_failure 1
    assert_output --partial "vigil-train: record 51: key 'x': 3 values, expected 56 (window 4 x 14 fields)"
    [ -s "$T/m.model" ]
}

@test "too few windows, a bad stats file and a bad eval file are errors" {
    D="$BATS_FILE_TMPDIR"
    run vigil-train --stats "$D/s.stats" -m "$T/m.model" < /dev/null
    assert_failure 1
    assert_output --partial 'need at least 2 windows to train, got 0'
    head -c 100 "$D/s.stats" > "$T/bad.stats"
    run vigil-train --stats "$T/bad.stats" -m "$T/m.model" -i "$D/w.mp"
    assert_failure 1
    assert_output --partial 'vigil-train:'
    assert_output --partial 'bad.stats'
    echo '{"x":[1,2]}' | vigil-cat --from json > "$T/ev.mp"
    run vigil-train --stats "$D/s.stats" -m "$T/m.model" --eval "$T/ev.mp" -i "$D/w.mp"
    assert_failure 1
    assert_output --partial "--eval: '$T/ev.mp': record 1: key 'x': 2 values, expected 56"
}

@test "--calibrate measures the residual variances on other patients' windows" {
    D="$BATS_FILE_TMPDIR"
    vigil-sim --no-anomalies --patients 3 --duration 20m --tick 5s --seed 9 \
        | vigil-norm apply --stats "$D/s.stats" | vigil-window --size 4 > "$D/cal.mp"
    vigil-train --stats "$D/s.stats" -m "$T/a.model" --epochs 3 -q -v -i "$D/w.mp" 2> "$T/a.err"
    vigil-train --stats "$D/s.stats" -m "$T/b.model" --epochs 3 -q -v --calibrate "$D/cal.mp" \
        -i "$D/w.mp" 2> "$T/b.err"
    # the same network (same seed), other variances: a different model file
    run sh -c "grep 'residual variance' '$T/a.err' | head -3; grep 'residual variance' '$T/b.err' | head -3"
    assert_equal "${#lines[@]}" 6
    ! cmp -s "$T/a.model" "$T/b.model"
    run sh -c "vigil-score --model '$T/b.model' --score scaled -v -i '$D/eval.mp' > /dev/null"
    assert_success
    run vigil-train --stats "$D/s.stats" -m "$T/c.model" --epochs 1 -q --calibrate "$T/none.mp" -i "$D/w.mp"
    assert_failure 1
    assert_output --partial -- "--calibrate:"
}

@test "validation holds out whole patients; --val-windows draws windows" {
    vigil-sim --no-anomalies --patients 30 --duration 3m --tick 2s --seed 8 > "$T/raw.mp"
    vigil-norm fit --stats "$T/s.stats" < "$T/raw.mp"
    vigil-norm apply --stats "$T/s.stats" < "$T/raw.mp" | vigil-window --size 4 > "$T/w.mp"
    run vigil-train --stats "$T/s.stats" -m "$T/m" --epochs 1 -i "$T/w.mp"
    assert_success
    assert_output --regexp 'held out \(whole ids\)'
    # a multiple of one patient's windows (90 records - 3 = 87 each)
    n=$(echo "$output" | sed -n 's/.*, \([0-9]*\) held out.*/\1/p')
    [ $((n % 87)) -eq 0 ] && [ "$n" -gt 0 ]
    run vigil-train --stats "$T/s.stats" -m "$T/m" --epochs 1 --val-windows -i "$T/w.mp"
    assert_success
    assert_output --regexp ', 261 held out \(windows\)'
}
