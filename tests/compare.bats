#!/usr/bin/env bats
# pipelines/compare.sh on a small simulation: one table, rows = models, and
# the Fig. 4 chart.
load helper

@test "compare.sh: a table of the four models and the Fig. 4 chart" {
    run env PATIENTS=3 TRAIN_PATIENTS=6 TRAIN_DUR=5m TRAIN_STRIDE=1 LABELLED_DUR=20m VAL_DUR=10m TEST_DUR=30m \
        RATE=4 EPOCHS=3 RF_TREES=5 \
        OPENBLAS_NUM_THREADS=1 sh "$VIGIL_ROOT/pipelines/compare.sh" "$T/out"
    assert_success
    assert_line --regexp '^model +accuracy +precision +recall +specificity +F1 +ROC AUC +PR AUC$'
    for m in VAE 'Random Forest' HMM IForest "paper's VAE"; do
        assert_line --regexp "^$m +[0-9.]+ "
    done
    # every figure of the four models is a number in [0,1] (or '-' for an
    # undefined precision)
    echo "$output" | grep -E '^(VAE|Random Forest|HMM|IForest) ' | sed 's/^Random Forest/RF/' \
        | awk '{ for (i = 2; i <= 8; i++) if ($i != "-" && !($i >= 0 && $i <= 1)) { print; bad = 1 } } END { exit bad }'
    [ "$(head -c 4 "$T/out/compare.png" | od -An -c | tr -d ' ')" = '211PNG' ]
    for m in vae rf hmm iforest; do
        run jq -r '.pointwise.roc_auc | type' "$T/out/$m.json"
        assert_output number
    done
    [ ! -e "$T/out/data" ]
}

@test "compare.sh: a missing program is named" {
    mkdir "$T/bin"
    for p in vigil-sim vigil-norm; do ln -s "$BIN/$p" "$T/bin/$p"; done
    run env BIN="$T/bin" PATH="$T/bin:/usr/bin:/bin" sh "$VIGIL_ROOT/pipelines/compare.sh" "$T/out"
    assert_failure 1
    assert_output --partial "compare: vigil-window not found"
}
