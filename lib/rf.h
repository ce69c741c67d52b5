/*  rf: a Random Forest of CART classification trees, the supervised baseline
    of the paper's comparison (its Fig. 4).

    Each tree is grown on a bootstrap sample of the labelled windows; at each
    node `mtry` features are drawn without replacement and the split that
    most lowers the weighted Gini impurity is taken (Breiman 2001; CART,
    Breiman et al. 1984).  A window goes left when x[feat] < thr.  A leaf
    votes anomalous when more than half of its training samples were.  The
    score of a window is the fraction of trees voting anomalous, in [0, 1].

    Invariants: every internal node has two children with index > its own;
    thresholds lie strictly above the largest left value seen in training;
    the model is self-contained (window length w, features per step f, the
    trees) and saved as an mpfile of format "vigil-rf".  Training and loading
    never print; they return NULL with a reason.  */
#ifndef VIGIL_RF_H
#define VIGIL_RF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RF_FORMAT  "vigil-rf"
#define RF_VERSION 1

typedef struct {
    int trees;              //  number of trees (default 100)
    int max_depth;          //  depth limit, root = 0 (default 16)
    int min_leaf;           //  fewest samples in a leaf (default 1)
    int mtry;               //  features tried per split (0 = sqrt of all)
    double sample;          //  bootstrap size as a fraction of n (default 1)
    bool bootstrap;         //  false: every tree sees all samples once
    uint64_t seed;          //  RNG seed
} rf_opts_t;

typedef struct _rf_t rf_t;

//  Defaults as documented above.
void
    rf_opts_default (rf_opts_t *o);

//  Grow a forest on n windows X (n rows of w*f floats) with labels y (0/1).
//  Both classes need not be present (a one-class forest scores constantly).
//  NULL + err if n = 0, a dimension is 0 or a value is not finite.  Caller
//  owns the result.
rf_t *
    rf_train (const float *X, const uint8_t *y, size_t n, size_t w, size_t f,
              const rf_opts_t *opts, char *err);

//  Fraction of trees voting anomalous for one window of w*f floats.
double
    rf_score (const rf_t *self, const float *x);

//  Shape the forest was trained for.
size_t
    rf_window (const rf_t *self);
size_t
    rf_nfeat (const rf_t *self);
size_t
    rf_ntrees (const rf_t *self);
//  Total nodes over all trees.
size_t
    rf_nnodes (const rf_t *self);
//  Checksum of the saved body (set by rf_save and rf_load, else 0).
uint64_t
    rf_hash (const rf_t *self);

//  Save to path as a "vigil-rf" mpfile.  0, or -1 + err.
int
    rf_save (rf_t *self, const char *path, char *err);
//  Load and verify a "vigil-rf" file: every node index and feature is
//  checked, so a crafted file cannot make scoring read out of bounds.
//  NULL + err on failure.  Caller owns.
rf_t *
    rf_load (const char *path, char *err);

void
    rf_destroy (rf_t **self_p);

void
    rf_test (bool verbose);

#endif
