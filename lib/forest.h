/*  forest: the node arrays of a forest of binary trees over a window's
    floats, shared by rf (Random Forest) and iforest (Isolation Forest):
    growing them, walking a window to its leaf, packing them into a model
    file and reading them back with every index checked.

    All trees live in one set of flat arrays; root[t] is the first node of
    tree t.  A window goes left at a node when x[feat] < thr.  Each node also
    holds one float `leaf` whose meaning is the model's (rf: the fraction of
    its training windows that were anomalous; iforest: how many reached it).

    Invariants (checked by forest_check on every loaded file): tree t
    occupies nodes [root[t], root[t+1]), the first starting at 0; children
    follow their parent inside their tree, so every walk ends; a leaf has
    feat = -1, a split a feature below d and a finite threshold.  Indices are
    saved as float32 arrays (exact below 2^24), so a forest holds fewer than
    2^24 nodes.  forest_t is a plain struct embedded in its model (fields
    read directly in the scoring loops); nothing here prints.  */
#ifndef VIGIL_FOREST_H
#define VIGIL_FOREST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct {
    size_t ntrees;          //  trees
    size_t nnodes, cap;     //  nodes in use, allocated
    uint32_t *root;         //  (ntrees) first node of each tree
    int32_t *feat;          //  (nnodes) split feature, -1 for a leaf
    float *thr;             //  (nnodes) go left when x[feat] < thr
    int32_t *left, *right;  //  (nnodes) children (leaf: -1)
    float *leaf;            //  (nnodes) the model's value of each node
} forest_t;

//  An empty forest of ntrees trees (roots 0, no nodes).
void
    forest_init (forest_t *self, size_t ntrees);
//  Free the arrays; self may be initialised again.
void
    forest_destroy (forest_t *self);

//  Make room for need nodes in all arrays.
void
    forest_reserve (forest_t *self, size_t need);
//  Append a leaf node with value leaf; returns its index.
int32_t
    forest_add (forest_t *self, float leaf);

//  The leaf tree t sends window x to; *depth (if not NULL) = splits passed.
static inline int32_t
forest_leaf (const forest_t *self, size_t t, const float *x, int *depth)
{
    int32_t i = (int32_t) self->root[t];
    int n = 0;
    while (self->feat[i] >= 0) {
        i = x[self->feat[i]] < self->thr[i] ? self->left[i] : self->right[i];
        n++;
    }
    if (depth)
        *depth = n;
    return i;
}

//  Pack key "root" (ntrees roots), and the node arrays as keys "feat",
//  "thr", "left", "right" and leafkey, each one map entry, into an open map.
void
    forest_pack_roots (const forest_t *self, msgpack_packer *pk);
void
    forest_pack_nodes (const forest_t *self, msgpack_packer *pk, const char *leafkey);

//  Read "root" (self->ntrees entries) and nnodes nodes (keys as packed) from
//  a model file's body.  0; -1 if "root" is missing, of the wrong length or
//  not integers in [-1, 2^24); -2 if another array is.  The structure is
//  not checked yet: call forest_check.
int
    forest_unpack (forest_t *self, const msgpack_object *body, size_t nnodes,
                   const char *leafkey);
//  Check the invariants above for windows of d floats, with every leaf's
//  value in [leaf_min, leaf_max].  0, or -1 + err naming path, the tree and
//  the node.
int
    forest_check (const forest_t *self, size_t d, float leaf_min, float leaf_max,
                  const char *path, char *err);

void
    forest_test (bool verbose);

#endif
