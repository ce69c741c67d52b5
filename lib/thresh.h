/*  thresh: turn scores into decisions.  A threshold is fitted once, on the
    scores of a validation stream, and saved in a "vigil-thresh" file (the
    mp.h container) with its method, its value and the hash of the model
    whose scores it was fitted on; applying it adds the decision.

    Methods (all but best-f1 need no labels):
      quantile   the q-quantile of the validation scores (type 1: the
                 smallest score with at least a fraction q at or below it)
      meanstd    mean + k standard deviations
      pot        peaks over threshold from extreme value theory, as SPOT
                 does (Siffer et al., KDD 2017): an initial threshold t at a
                 high quantile (`level`), a generalised Pareto distribution
                 fitted to the excesses over t by Grimshaw's maximum
                 likelihood procedure, and the score exceeded with
                 probability `risk`: z = t + s/g ((risk n / Nt)^-g - 1)
      budget     the lowest threshold whose alerts, grouped per patient the
                 way vigil-alert groups them (a new incident after `quiet`
                 seconds without a flag), stay within `budget` incidents per
                 patient-hour on the validation stream
      bestf1     the threshold that maximises pointwise F1 (needs labels;
                 for experiments, never on the test stream)
    The rule is always: anomaly iff score > threshold.

    Memory while fitting: scores (and, for budget, `t` and a patient index)
    of up to `cap` records.  Quantile and pot go on beyond cap with a uniform
    reservoir sample (then approximate, which the file records); budget
    refuses a longer stream with an error; meanstd needs no storage.  */
#ifndef VIGIL_THRESH_H
#define VIGIL_THRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

#define THRESH_FORMAT        "vigil-thresh"
#define THRESH_VERSION       1
#define THRESH_QUIET_DEFAULT 120.0      //  seconds; vigil-alert --quiet uses the same
#define THRESH_CAP_DEFAULT   4000000

typedef enum {
    THRESH_QUANTILE,
    THRESH_MEANSTD,
    THRESH_POT,
    THRESH_BUDGET,
    THRESH_BESTF1,
} thresh_method_t;

typedef struct {
    thresh_method_t method;
    double q;                   //  quantile level, 0 < q < 1 (default 0.99)
    double k;                   //  meanstd: number of standard deviations (3)
    double risk;                //  pot: exceedance probability (1e-4)
    double level;               //  pot: quantile of the initial threshold (0.98)
    double budget;              //  budget: incidents per patient-hour (0.1)
    double quiet;               //  budget: grouping quiet period, seconds
    size_t cap;                 //  most validation records held
    uint64_t seed;              //  reservoir sampling seed
} thresh_opts_t;

void
    thresh_opts_default (thresh_opts_t *opts);
//  "quantile", "meanstd", "pot", "budget", "bestf1".
const char *
    thresh_method_name (thresh_method_t method);
//  0, or -1 for an unknown name.
int
    thresh_method_parse (const char *name, thresh_method_t *method);

typedef struct _thresh_t thresh_t;
typedef struct _thresh_fit_t thresh_fit_t;

//  Start a fit.  Caller owns.
thresh_fit_t *
    thresh_fit_new (const thresh_opts_t *opts);
void
    thresh_fit_destroy (thresh_fit_t **self_p);
//  One validation record: id may be NULL, t NaN when absent, label -1 when
//  absent, model the frame's model hash or NULL.  Returns 0, or -1 + err: a
//  score that is not finite, frames from two different models, a missing
//  label (bestf1), a missing t or too many records (budget).  A rejected
//  record is not counted; the fit may go on.
int
    thresh_fit_add (thresh_fit_t *self, const char *id, double t, double score, int label,
                    const char *model, char *err);
//  Fit.  A new threshold (caller owns), or NULL + err (no records, too few
//  peaks over the initial threshold, no positive label, ...).
thresh_t *
    thresh_fit_finish (thresh_fit_t *self, char *err);

//  The same from a record: `score` is required; `id`, `t`, `label` and the
//  extra key `model` are used when present.
int
    thresh_fit_record (thresh_fit_t *self, const record_t *rec, char *err);

//  Save / load a "vigil-thresh" file.  0 / object, or -1 / NULL + err.
int
    thresh_save (const thresh_t *self, const char *path, char *err);
thresh_t *
    thresh_load (const char *path, char *err);
void
    thresh_destroy (thresh_t **self_p);

thresh_method_t
    thresh_method (const thresh_t *self);
//  The threshold.
double
    thresh_value (const thresh_t *self);
//  Model hash it was fitted for ("" if the scores carried none).  Borrowed.
const char *
    thresh_model (const thresh_t *self);
//  The file's checksum after save/load (0 before), to name it in alerts.
uint64_t
    thresh_checksum (const thresh_t *self);
//  One-line description: method, parameters, value, validation figures.
//  Caller owns.
char *
    thresh_describe (const thresh_t *self);

//  Decide for one score: *anomaly = score > threshold, *thr_used = the
//  threshold that decided.
void
    thresh_apply (thresh_t *self, double score, bool *anomaly, double *thr_used);

//  Decide for a record: sets `anomaly` and the extra key `thr`.  Returns 0;
//  1 when the record's `model` differs from the one the threshold was fitted
//  for (the record is still decided, err says which; the caller warns once or
//  refuses); -1 + err when the record has no score or it is not finite.
int
    thresh_apply_record (thresh_t *self, record_t *rec, char *err);

//  Generalised Pareto fit to positive excesses y (n >= 3).  Grimshaw's
//  maximum likelihood: 0 and *sigma, *gamma set, or -1 when the data are
//  degenerate.  gpd_fit_moments is the method-of-moments estimate.
int
    gpd_fit_grimshaw (const double *y, size_t n, double *sigma, double *gamma);
void
    gpd_fit_moments (const double *y, size_t n, double *sigma, double *gamma);
//  SPOT's extreme quantile: the score exceeded with probability risk, from
//  the initial threshold t, the GPD, n observations and nt peaks.
double
    pot_quantile (double t, double sigma, double gamma, double risk, double n, double nt);
//  Incidents per patient-hour at threshold thr over records (id index,
//  t, score) in arrival order, grouped with the quiet period.
double
    thresh_alarm_rate (const uint32_t *idx, const double *t, const double *score, size_t n,
                       size_t nids, double thr, double quiet, double *patient_hours);

void
    thresh_test (bool verbose);

#endif
