/*  metrics: evaluation of scored, labelled, flagged records — the paper's
    pointwise figures (confusion matrix, accuracy, precision, recall,
    specificity, F1, ROC AUC) plus PR AUC (average precision), recall per
    anomaly kind, and event-level figures that are reported separately and
    named as such.

    Pointwise means one decision per record (window) against its own label;
    nothing is point-adjusted.  An *event* is a maximal run of label-1
    records of one id; it is detected when at least one of its records is
    flagged, and its detection delay runs from its first record to its first
    flagged record (seconds of `t` and records).  An *alarm run* is a maximal
    run of flagged records of one id; it is false when none of its records
    is labelled.  Event-level precision = true alarm runs / alarm runs.

    Memory: counters, one small state per id and per kind, and a sample of
    (score, label) pairs for the AUCs and curves.  While the stream has at
    most `cap` scored records the sample holds all of them and the AUCs are
    exact; beyond that it is a uniform reservoir sample of `cap` records
    (seeded), the AUCs are estimates and `auc_exact` is false.  Ties in the
    score are handled exactly: ROC AUC counts a tied positive/negative pair as
    one half (Mann-Whitney), and average precision steps once per distinct
    score (as scikit-learn's average_precision_score does).  */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define METRICS_CAP_DEFAULT 4000000     //  exact AUC up to 4M scored records
#define METRICS_MAX_KINDS   64

typedef struct _metrics_t metrics_t;

typedef struct {
    //  pointwise, over records with a label and a decision
    uint64_t tp, fp, tn, fn;
    double accuracy, precision, recall, specificity, f1;   //  NaN when undefined
    double fpr;                 //  false positive rate = 1 - specificity
    //  ranking, over records with a label and a score
    uint64_t nscored;           //  labelled records with a score
    uint64_t npos, nneg;        //  of those, label 1 / label 0
    double roc_auc, pr_auc;     //  NaN when a class is empty
    bool auc_exact;             //  false when the sample overflowed `cap`
    size_t sample_n;            //  pairs the AUCs were computed on
    //  what was seen
    uint64_t nrecords;          //  records fed
    uint64_t nlabelled;         //  with a label
    uint64_t ndecided;          //  with a label and a decision
    //  event-level (labelled as such wherever printed)
    uint64_t events, events_detected;
    double event_recall;
    uint64_t alarm_runs, false_alarm_runs;
    double event_precision;
    double delay_mean_s;        //  mean detection delay over detected events, seconds
    double delay_mean_records;  //  same, in records (windows) after the first
    double delay_max_s;
} metrics_summary_t;

typedef struct {
    const char *kind;           //  borrowed; "(none)" for label 1 without a kind
    uint64_t n, tp;             //  pointwise: labelled records of that kind, flagged ones
    double recall;
    uint64_t events, detected;  //  event-level
    double delay_mean_s;        //  NaN when none detected
} metrics_kind_t;

//  One point of the ROC / PR curves: records with score >= thr are positive.
typedef struct {
    double thr, fpr, tpr, precision;
} metrics_point_t;

//  New accumulator.  cap = most (score, label) pairs kept (0 = default),
//  seed = reservoir sampling seed.  Caller owns; destroy with metrics_destroy.
metrics_t *
    metrics_new (size_t cap, uint64_t seed);
void
    metrics_destroy (metrics_t **self_p);

//  Feed one record.  id may be NULL (one anonymous stream); t is seconds
//  (NaN when absent: delays are then given in records only); label is 0, 1 or
//  -1 (no label: counted, otherwise ignored); kind may be NULL or "";
//  has_score / has_flag say whether score / flag are present.  Events of an id
//  close when a label-0 record of that id arrives, or at metrics_finish.
//  Returns 0, or -1 + err when the score is not finite.
int
    metrics_add (metrics_t *self, const char *id, double t, int label, const char *kind,
                 bool has_score, double score, bool has_flag, bool flag, char *err);

//  Close open events and compute the summary.  May be called once; further
//  adds are refused.  The sample is sorted by score, highest first.
void
    metrics_finish (metrics_t *self, metrics_summary_t *out);

//  After finish: kinds seen with label 1, in order of first appearance.
size_t
    metrics_nkinds (const metrics_t *self);
void
    metrics_kind (const metrics_t *self, size_t i, metrics_kind_t *out);

//  After finish: the ROC/PR curve at each distinct score, highest threshold
//  first, thinned to at most max_points (0 = all; the first and last are
//  kept).  Caller owns the array (free); *n set.  NULL when no pairs.
metrics_point_t *
    metrics_curve (const metrics_t *self, size_t max_points, size_t *n);

//  After finish: the sorted sample (scores, labels), borrowed.
size_t
    metrics_sample (const metrics_t *self, const double **score, const uint8_t **label);

//  After finish: the threshold that maximises pointwise F1 on the sample,
//  expressed for the rule "anomaly iff score > thr" (midway between the
//  lowest score flagged and the next lower one).  Returns the F1 (NaN when
//  there is no positive), *thr set.
double
    metrics_best_f1 (const metrics_t *self, double *thr);

//  After finish: the report as text (the paper's figures in a column beside
//  ours when paper is true) or as a JSON document (name may be NULL; thr is
//  the threshold that decided, NaN if unknown).  Caller owns (free).
char *
    metrics_report_text (const metrics_t *self, bool paper, double thr);
char *
    metrics_report_json (const metrics_t *self, const char *name, double thr);
//  The comparison table of several JSON reports (rows = metrics, columns =
//  reports, plus the paper's VAE when paper is true).  NULL + err when a
//  report cannot be read.  Caller owns.
char *
    metrics_compare_text (const char *const *reports, size_t n, bool paper, char *err);

//  The paper's VAE figures: accuracy, precision, recall, specificity, F1,
//  ROC AUC.
extern const double metrics_paper[6];

//  Ranking figures of a plain array (for callers and tests): AUC with ties
//  as halves and average precision.  labels 0/1.  NaN when a class is empty.
double
    metrics_roc_auc (const double *score, const uint8_t *label, size_t n);
double
    metrics_avg_precision (const double *score, const uint8_t *label, size_t n);

void
    metrics_test (bool verbose);

#endif
