/*  iforest: Isolation Forest (Liu, Ting and Zhou, "Isolation forest", ICDM
    2008), the standard unsupervised baseline.

    Each tree is grown on a random subsample of psi windows (without
    replacement) by splitting on a random feature at a uniform random value
    between that feature's minimum and maximum in the node, until a node holds
    one window or the height limit ceil(log2 psi) is reached.  A window's path
    length h(x) is its depth in a tree plus c(size) for the unresolved leaf;
    its score is s = 2^(-E[h(x)] / c(psi)), in [0, 1]: near 1 isolated
    quickly (anomalous), about 0.5 or lower ordinary.

    c(n) = 2 H(n-1) - 2 (n-1) / n is the mean path length of an unsuccessful
    search in a binary search tree (Liu et al., eq. 1); with the exact
    harmonic number this equals 2 H(n) - 2, the mean number of comparisons
    of an unsuccessful search among n-1 random keys (Knuth, TAOCP 6.2.2).  H is summed exactly for
    small n and from its asymptotic series (error < 1e-12) above.

    Invariants: a split leaves at least one training window on each side;
    children follow their parent in the node arrays; saved as an mpfile of
    format "vigil-iforest".  */
#ifndef VIGIL_IFOREST_H
#define VIGIL_IFOREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define IFOREST_FORMAT  "vigil-iforest"
#define IFOREST_VERSION 1

typedef struct {
    int trees;              //  number of trees (default 100)
    int sample;             //  subsample size psi per tree (default 256)
    uint64_t seed;          //  RNG seed
} iforest_opts_t;

typedef struct _iforest_t iforest_t;

void
    iforest_opts_default (iforest_opts_t *o);

//  c(n): the expected path length that a leaf of n windows stands for
//  (0 for n <= 1, 1 for n = 2).
double
    iforest_c (double n);

//  Grow the forest on n windows X (n rows of w*f floats).  psi is
//  min(sample, n).  NULL + err if n = 0, a dimension is 0, an option is out
//  of range or a value is not finite.  Caller owns.
iforest_t *
    iforest_train (const float *X, size_t n, size_t w, size_t f,
                   const iforest_opts_t *opts, char *err);

//  Mean path length E[h(x)] over the trees, and the anomaly score in [0, 1].
double
    iforest_path (const iforest_t *self, const float *x);
double
    iforest_score (const iforest_t *self, const float *x);

size_t
    iforest_window (const iforest_t *self);
size_t
    iforest_nfeat (const iforest_t *self);
size_t
    iforest_ntrees (const iforest_t *self);
//  The subsample size psi actually used.
size_t
    iforest_psi (const iforest_t *self);
//  Checksum of the saved body (set by save and load, else 0).
uint64_t
    iforest_hash (const iforest_t *self);

//  Save as a "vigil-iforest" mpfile.  0, or -1 + err.
int
    iforest_save (iforest_t *self, const char *path, char *err);
//  Load and verify (shapes, node indices, features).  NULL + err.  Caller owns.
iforest_t *
    iforest_load (const char *path, char *err);

void
    iforest_destroy (iforest_t **self_p);

void
    iforest_test (bool verbose);

#endif
