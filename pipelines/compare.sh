#!/bin/sh
# compare.sh: the VAE against the baselines (Random Forest, HMM, Isolation
# Forest) on the same simulated streams, as in the paper's Fig. 4.
#
#   pipelines/compare.sh [OUTDIR]
#
# Streams (vigil-sim, one seed each): a normal training stream (many
# patients, two hours each, every 20th window, as the demo's: a model
# trained on a dozen patients learns those patients), a normal validation
# stream, a labelled training stream with anomalies (for the supervised
# Random Forest only) and a labelled test stream with every kind
# of anomaly.  All go through the same vigil-norm (fitted on the normal
# training stream) and vigil-window.  The unsupervised models (VAE, HMM,
# IForest) train on the normal stream and their thresholds are fitted by
# vigil-thresh on the validation scores without labels (peaks over
# threshold by default); the Random Forest decides by majority vote (score
# > 0.5).  The test stream is scored, thresholded and judged
# by vigil-eval; one table (rows = models) and the Fig. 4 bar chart come
# from vigil-eval --compare.
#
# Environment (defaults in brackets): BIN [./bin], PATIENTS [12, of the
# validation, labelled and test streams], TRAIN_PATIENTS [400], TRAIN_DUR
# [2h] and TRAIN_STRIDE [20] (the normal training stream, as
# pipelines/features.sh sets it), LABELLED_DUR [2h], VAL_DUR [1h],
# TEST_DUR [3h], RATE [1.5 anomalous events per patient-hour in the
# labelled streams], W [10], SEED [1], THRESH ["--method pot --risk 1e-3",
# as the demo], RF_TREES [50], EPOCHS [30], KEEP=1 keeps the intermediate
# streams.  Prints the table on stdout and the folder of the
# plots and reports on its last line.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
PATH="$BIN:$PATH"
export PATH OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
PATIENTS=${PATIENTS:-12}
LABELLED_DUR=${LABELLED_DUR:-2h}
VAL_DUR=${VAL_DUR:-1h}
TEST_DUR=${TEST_DUR:-3h}
RATE=${RATE:-1.5}
W=${W:-10}
SEED=${SEED:-1}
THRESH=${THRESH:---method pot --risk 1e-3}
RF_TREES=${RF_TREES:-50}
EPOCHS=${EPOCHS:-30}
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-compare.XXXXXX")}
mkdir -p "$OUT"
D="$OUT/data"
mkdir -p "$D"
say() { echo "compare: $*" >&2; }

for p in vigil-sim vigil-norm vigil-window vigil-train vigil-score vigil-thresh \
         vigil-eval vigil-rf vigil-hmm vigil-iforest jq; do
    command -v "$p" >/dev/null || { echo "compare: $p not found (build with make)" >&2; exit 1; }
done

# the same features and training stream as the demo (pipelines/features.sh)
. "$ROOT/pipelines/features.sh"
say "simulating: train $TRAIN_PATIENTS patients x $TRAIN_DUR; $PATIENTS patients each:" \
    "validation $VAL_DUR, labelled $LABELLED_DUR, test $TEST_DUR"
sim() { vigil-sim --patients "$PATIENTS" "$@"; }
# the training stream is generated twice (fit, then windows), not stored:
# the simulator is deterministic and faster than the disk
train_sim() { vigil-sim --patients "$TRAIN_PATIENTS" --duration "$TRAIN_DUR" --seed "$SEED" --no-anomalies; }
sim --duration "$VAL_DUR" --seed $((SEED + 1)) --no-anomalies > "$D/val.mp"
sim --duration "$LABELLED_DUR" --seed $((SEED + 2)) --anomaly-rate "$RATE" > "$D/labelled.mp"
sim --duration "$TEST_DUR" --seed $((SEED + 3)) --anomaly-rate "$RATE" > "$D/test.mp"

# shellcheck disable=SC2086
train_sim | vigil-norm fit --stats "$D/stats" $FIT
# shellcheck disable=SC2086
windows() { vigil-norm apply --stats "$D/stats" $PERSONAL | vigil-window --size "$W" "$@"; }
train_sim | windows --stride "$TRAIN_STRIDE" > "$D/train.w"
# the supervised training stream is strided too: overlapping windows add
# little for a forest and cost time
windows --stride 5 < "$D/labelled.mp" > "$D/labelled.w"
for s in val test; do
    windows < "$D/$s.mp" > "$D/$s.w"
done

say "training VAE, HMM, IForest on normal windows; RF on labelled windows"
# shellcheck disable=SC2086
vigil-train --stats "$D/stats" -m "$D/vae.model" -q --epochs "$EPOCHS" $TRAINOPTS < "$D/train.w"
vigil-hmm train --model "$D/hmm.model" < "$D/train.w"
vigil-iforest train --model "$D/iforest.model" < "$D/train.w"
vigil-rf train --model "$D/rf.model" --trees "$RF_TREES" < "$D/labelled.w"

. "$ROOT/pipelines/models.sh"
evaluate_models
print_table
jq -r '.paper | [.accuracy, .precision, .recall, .specificity, .f1, .roc_auc] | map(tostring) | @tsv' \
    "$OUT/vae.json" | while IFS="$(printf '\t')" read -r a p r s f roc; do
    # shellcheck disable=SC2059
    printf "$MODELS_FMT" "paper's VAE" "$a" "$p" "$r" "$s" "$f" "$roc" "-"
done
# Fig. 4: the bar chart of the same reports (and its side-by-side text)
# shellcheck disable=SC2086
vigil-eval --compare --paper --plots "$OUT" $reports > "$OUT/compare.txt"
[ "${KEEP:-0}" = 1 ] || rm -rf "$D"
echo "compare: reports and plots in $OUT (Fig. 4: $OUT/compare.png)"
