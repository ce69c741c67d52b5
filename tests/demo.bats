#!/usr/bin/env bats
# make demo, shortened (DEMO_SHORT=1: fewer patients, hours and epochs):
# every stage runs, the table has the paper's column, the plots are PNGs.
load helper

@test "demo: the shortened pipeline prints the table, alerts and writes the plots" {
    run env DEMO_SHORT=1 VIGIL_OUT="$T/demo" sh "$VIGIL_ROOT/pipelines/demo.sh"
    assert_success
    assert_output --partial "threshold: method pot"
    assert_output --regexp "F1 +[0-9.]+ +0.8382"
    assert_output --regexp "ROC AUC +[0-9.]+ +0.9200"
    assert_output --partial "Event-level"
    assert_output --regexp "(OPEN|CLOSE) +p0"
    assert_output --regexp "targets .*: (met|NOT met)"
    assert_output --partial "plots and files in $T/demo"
    for f in confusion roc pr histogram epochs compare; do
        head -c 4 "$T/demo/$f.png" | od -c | grep -q 'P   N   G'
    done
    [ -s "$T/demo/report.json" ] && [ -s "$T/demo/alerts.jsonl" ]
}
