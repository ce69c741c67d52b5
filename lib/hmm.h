/*  hmm: a Gaussian hidden Markov model with diagonal covariances, the
    sequence baseline of the paper's comparison (its Fig. 4).

    Each window is one sequence of w steps of f features (oldest first, as
    vigil-window writes it).  Training is Baum-Welch (Rabiner 1989, "A
    tutorial on hidden Markov models", Sec. III-C) over all training windows,
    computed in log space (forward and backward recursions with log-sum-exp)
    so that long or far-out sequences never underflow.  Initial means come
    from k-means++ and a few Lloyd steps over the windows' steps.

    The score of a window is its negative log-likelihood per step under the
    forward algorithm, -log p(x_1..x_w) / w: higher = less like the training
    data.

    Invariants: every variance is at least its floor (var_floor times the
    feature's variance over the training steps, or var_floor for a constant
    feature, and never below 1e-6), so a constant feature or a state that
    captures a single point cannot make a density infinite; initial and
    transition probabilities are floored at trans_floor and renormalised;
    parameters are held at float32 precision so a saved and loaded model
    scores bit for bit as the trained one.  Saved as an mpfile of format
    "vigil-hmm".  The model keeps scratch space for one window, so one
    hmm_t must not score from two threads at once.  */
#ifndef VIGIL_HMM_H
#define VIGIL_HMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define HMM_FORMAT  "vigil-hmm"
#define HMM_VERSION 1

typedef struct {
    int states;             //  hidden states K (default 4)
    int iters;              //  most Baum-Welch iterations (default 50)
    double tol;             //  stop when the log-likelihood per step gains less (1e-4)
    double var_floor;       //  variance floor, relative (default 1e-2)
    double trans_floor;     //  floor of initial/transition probabilities (1e-6)
    uint64_t seed;          //  RNG seed (k-means++ initialisation)
} hmm_opts_t;

typedef struct _hmm_t hmm_t;

void
    hmm_opts_default (hmm_opts_t *o);

//  Train on n windows X (n rows of w*f floats, step-major).  NULL + err if
//  n = 0, a dimension is 0, an option is out of range or a value is not
//  finite.  Caller owns the result.
hmm_t *
    hmm_train (const float *X, size_t n, size_t w, size_t f, const hmm_opts_t *opts,
               char *err);

//  log p(x_1..x_T) by the forward algorithm, T <= the model's w steps of f
//  features each.
double
    hmm_loglik (hmm_t *self, const float *x, size_t T);
//  Negative log-likelihood per step of one window of w*f floats.
double
    hmm_score (hmm_t *self, const float *x);

size_t
    hmm_window (const hmm_t *self);
size_t
    hmm_nfeat (const hmm_t *self);
size_t
    hmm_nstates (const hmm_t *self);
//  Mean log-likelihood per step over the training windows before each
//  Baum-Welch update (non-decreasing); *n = iterations run.  Borrowed.
const double *
    hmm_trace (const hmm_t *self, size_t *n);
//  Checksum of the saved body (set by hmm_save and hmm_load, else 0).
uint64_t
    hmm_hash (const hmm_t *self);

//  Save as a "vigil-hmm" mpfile.  0, or -1 + err.
int
    hmm_save (hmm_t *self, const char *path, char *err);
//  Load and verify (shapes, finite parameters, probabilities that sum to 1,
//  positive variances).  NULL + err.  Caller owns.
hmm_t *
    hmm_load (const char *path, char *err);

void
    hmm_destroy (hmm_t **self_p);

void
    hmm_test (bool verbose);

#endif
