/*  plot: the evaluation figures as PNG files, drawn by gnuplot.

    Each figure is written as a self-contained gnuplot script DIR/NAME.gp
    (data inline as datablocks, so it can be edited and re-run by hand) and
    run with `gnuplot NAME.gp` in DIR, giving DIR/NAME.png; gnuplot's messages
    go to DIR/NAME.log.  Figures follow the paper's numbering where it has
    one: the confusion matrix (Fig. 2), metrics over training epochs
    (Fig. 3), the comparison bar chart (Fig. 4); and ROC, PR and score
    histograms besides.  Functions return 0, or -1 with err (gnuplot missing
    or failing, a file that cannot be written or read).  */
#ifndef VIGIL_PLOT_H
#define VIGIL_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "util.h"

//  confusion.png: the 2x2 matrix with counts and row percentages.
int
    plot_confusion (const char *dir, uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn,
                    const char *title, char *err);
//  roc.png and pr.png from curve points (metrics_curve), with the AUCs and
//  the operating point (fpr, tpr, precision; NaN to leave it out).
int
    plot_curves (const char *dir, const metrics_point_t *pts, size_t n, double roc_auc,
                 double pr_auc, double prevalence, double op_fpr, double op_tpr,
                 double op_precision, char *err);
//  histogram.png: score distributions of normal and anomalous records
//  (log-spaced bins when the scores are positive and span > 2 decades),
//  with the threshold as a vertical line (NaN = none).
int
    plot_histogram (const char *dir, const double *score, const uint8_t *label, size_t n,
                    double thr, char *err);
//  epochs.png: from a training log CSV (vigil-train --log): the paper's
//  metrics over epochs when the log has them (accuracy, precision, recall,
//  specificity, f1, roc_auc), and the losses (loss, val_loss) in a second
//  panel.
int
    plot_epochs (const char *dir, const char *csv_path, char *err);
//  compare.png: bars of accuracy, precision, recall, specificity, F1 and
//  ROC AUC for several vigil-eval --json reports (names from their "name"
//  field, else the file name), with the paper's VAE figures as a last group
//  when paper is true.
int
    plot_compare (const char *dir, const char *const *reports, size_t n, bool paper, char *err);

void
    plot_test (bool verbose);

#endif
