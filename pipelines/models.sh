# The comparison step shared by compare.sh and wustl-ehms.sh (sourced):
# score the validation and test windows with each model, decide, evaluate,
# and print one table.  Expects $D (vae.model, rf.model, hmm.model,
# iforest.model, val.w, test.w), $OUT, $THRESH (vigil-thresh fit options)
# and a say() function; sets $reports.

# model_score MODEL: windows on stdin, scored windows on stdout
model_score() {
    case "$1" in
    vae) vigil-score --model "$D/vae.model" ;;
    *) "vigil-$1" score --model "$D/$1.model" ;;
    esac
}

# The unsupervised models get a threshold fitted on the validation scores
# without labels; the supervised Random Forest decides by its own rule, the
# majority vote (score > 0.5): a label-free threshold on normal validation
# scores (nearly all 0) would be meaningless for it.
evaluate_models() {
    reports=""
    for m in vae rf hmm iforest; do
        case $m in
        vae) name=VAE ;; rf) name="Random Forest" ;; hmm) name=HMM ;; iforest) name=IForest ;;
        esac
        say "$name: scoring validation and test streams"
        if [ $m = rf ]; then
            model_score $m < "$D/test.w" \
                | vigil-eval --thr 0.5 --name "$name" --json "$OUT/$m.json" > "$OUT/$m.txt"
        else
            # shellcheck disable=SC2086
            model_score $m < "$D/val.w" | vigil-thresh fit -t "$D/$m.thresh" $THRESH
            model_score $m < "$D/test.w" | vigil-thresh apply -t "$D/$m.thresh" \
                | vigil-eval --name "$name" --json "$OUT/$m.json" > "$OUT/$m.txt"
        fi
        reports="$reports $OUT/$m.json"
    done
}

# One table, rows = models: the paper's metrics and PR AUC, pointwise, on
# the test stream.
MODELS_FMT='%-14s %9s %9s %9s %11s %9s %9s %9s\n'
print_table() {
    # shellcheck disable=SC2059
    printf "$MODELS_FMT" model accuracy precision recall specificity F1 "ROC AUC" "PR AUC"
    for r in $reports; do
        jq -r '[.name, (.pointwise | .accuracy, .precision, .recall, .specificity, .f1,
                .roc_auc, .pr_auc)] | map(if type == "number" then (. * 10000 | round / 10000 | tostring)
                else (. // "-") end) | @tsv' "$r"
    done | while IFS="$(printf '\t')" read -r name a p r s f roc pr; do
        # shellcheck disable=SC2059
        printf "$MODELS_FMT" "$name" "$a" "$p" "$r" "$s" "$f" "$roc" "$pr"
    done
}
