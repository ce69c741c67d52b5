/*  forest: see forest.h.  The arrays grow together (one capacity), so a
    grown node never moves another array's entries out of step.  */
#include "forest.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

void
forest_init (forest_t *self, size_t ntrees)
{
    *self = (forest_t) {.ntrees = ntrees};
    self->root = xcalloc (ntrees ? ntrees : 1, sizeof *self->root);
}

void
forest_destroy (forest_t *self)
{
    free (self->root), free (self->feat), free (self->thr);
    free (self->left), free (self->right), free (self->leaf);
    *self = (forest_t) {0};
}

void
forest_reserve (forest_t *self, size_t need)
{
    if (need <= self->cap)
        return;
    size_t cap = self->cap;
    xgrow ((void **) &self->feat, &cap, need, sizeof *self->feat);
    cap = self->cap;
    xgrow ((void **) &self->thr, &cap, need, sizeof *self->thr);
    cap = self->cap;
    xgrow ((void **) &self->left, &cap, need, sizeof *self->left);
    cap = self->cap;
    xgrow ((void **) &self->right, &cap, need, sizeof *self->right);
    cap = self->cap;
    xgrow ((void **) &self->leaf, &cap, need, sizeof *self->leaf);
    self->cap = cap;
}

int32_t
forest_add (forest_t *self, float leaf)
{
    forest_reserve (self, self->nnodes + 1);
    int32_t i = (int32_t) self->nnodes++;
    self->feat[i] = -1;
    self->thr[i] = 0;
    self->left[i] = self->right[i] = -1;
    self->leaf[i] = leaf;
    return i;
}

//  Integers are stored as float32 arrays (exact below 2^24).
static void
s_pack_ints (msgpack_packer *pk, const char *key, const int32_t *v, size_t n)
{
    float *tmp = xmalloc ((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float) v[i];
    mp_pack_kv_floats (pk, key, tmp, n);
    free (tmp);
}

static int
s_get_ints (const msgpack_object *body, const char *key, int32_t *out, size_t n)
{
    float *tmp = xmalloc ((n ? n : 1) * sizeof *tmp);
    int rc = mp_get_floats (body, key, tmp, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(tmp[i] >= -1 && tmp[i] < (float) (1 << 24)) || tmp[i] != floorf (tmp[i]))
            rc = -1;
        else
            out[i] = (int32_t) tmp[i];
    }
    free (tmp);
    return rc;
}

void
forest_pack_roots (const forest_t *self, msgpack_packer *pk)
{
    int32_t *roots = xmalloc ((self->ntrees ? self->ntrees : 1) * sizeof *roots);
    for (size_t t = 0; t < self->ntrees; t++)
        roots[t] = (int32_t) self->root[t];
    s_pack_ints (pk, "root", roots, self->ntrees);
    free (roots);
}

void
forest_pack_nodes (const forest_t *self, msgpack_packer *pk, const char *leafkey)
{
    s_pack_ints (pk, "feat", self->feat, self->nnodes);
    mp_pack_kv_floats (pk, "thr", self->thr, self->nnodes);
    s_pack_ints (pk, "left", self->left, self->nnodes);
    s_pack_ints (pk, "right", self->right, self->nnodes);
    mp_pack_kv_floats (pk, leafkey, self->leaf, self->nnodes);
}

int
forest_unpack (forest_t *self, const msgpack_object *body, size_t nnodes, const char *leafkey)
{
    forest_reserve (self, nnodes);
    self->nnodes = nnodes;
    int32_t *roots = xmalloc ((self->ntrees ? self->ntrees : 1) * sizeof *roots);
    int rc = s_get_ints (body, "root", roots, self->ntrees);
    for (size_t t = 0; rc == 0 && t < self->ntrees; t++)
        self->root[t] = (uint32_t) roots[t];
    free (roots);
    if (rc)
        return -1;
    if (s_get_ints (body, "feat", self->feat, nnodes)
        || s_get_ints (body, "left", self->left, nnodes)
        || s_get_ints (body, "right", self->right, nnodes)
        || mp_get_floats (body, "thr", self->thr, nnodes)
        || mp_get_floats (body, leafkey, self->leaf, nnodes))
        return -2;
    return 0;
}

int
forest_check (const forest_t *self, size_t d, float leaf_min, float leaf_max,
              const char *path, char *err)
{
    size_t ntrees = self->ntrees, nnodes = self->nnodes;
    for (size_t t = 0; t < ntrees; t++) {
        size_t lo = self->root[t], hi = t + 1 < ntrees ? self->root[t + 1] : nnodes;
        if (lo >= hi || (t == 0 && lo != 0))
            return errf (err, "'%s': tree %zu has a bad root", path, t + 1);
        for (size_t i = lo; i < hi; i++) {
            int32_t fe = self->feat[i], l = self->left[i], r = self->right[i];
            bool ok = fe < 0 ? (fe == -1 && self->leaf[i] >= leaf_min && self->leaf[i] <= leaf_max)
                             : ((size_t) fe < d && isfinite (self->thr[i]) && (size_t) l > i
                                && (size_t) r > i && (size_t) l < hi && (size_t) r < hi);
            if (!ok)
                return errf (err, "'%s': node %zu of tree %zu is malformed", path, i - lo, t + 1);
        }
    }
    return 0;
}

//  Test helper: pack a forest into a map body as a model file holds it,
//  unpack it into *out and check it; returns forest_check's result (or the
//  unpack code).
static int
s_round_trip (const forest_t *f, forest_t *out, size_t d, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    forest_pack_roots (f, &pk);
    forest_pack_nodes (f, &pk, "value");
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (msgpack_unpack_next (&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    forest_init (out, f->ntrees);
    int rc = forest_unpack (out, &u.data, f->nnodes, "value");
    if (rc == 0)
        rc = forest_check (out, d, 0, 1, "f", err);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

void
forest_test (bool verbose)
{
    char err[ERRLEN];
    //  two trees over windows of 3 floats:
    //  tree 1: x[2] < 0.5 ? leaf 0.25 : (x[0] < -1 ? leaf 1 : leaf 0);  tree 2: one leaf 0.75
    forest_t f;
    forest_init (&f, 2);
    assert (f.nnodes == 0 && f.root[0] == 0 && f.root[1] == 0);
    int32_t a = forest_add (&f, 0);
    f.feat[a] = 2, f.thr[a] = 0.5f;
    f.left[a] = forest_add (&f, 0.25f);
    int32_t b = forest_add (&f, 0);
    f.right[a] = b;
    f.feat[b] = 0, f.thr[b] = -1;
    f.left[b] = forest_add (&f, 1);
    f.right[b] = forest_add (&f, 0);
    f.root[1] = (uint32_t) forest_add (&f, 0.75f);
    assert (f.nnodes == 6 && f.cap >= 6 && f.root[1] == 5);
    forest_reserve (&f, 100);
    assert (f.cap >= 100 && f.nnodes == 6 && f.leaf[1] == 0.25f && f.right[b] == 4);
    int depth = -1;
    const float x1[] = {0, 0, 0}, x2[] = {-2, 0, 1}, x3[] = {5, 0, 1};
    assert (forest_leaf (&f, 0, x1, &depth) == 1 && depth == 1);
    assert (forest_leaf (&f, 0, x2, &depth) == 3 && depth == 2);
    assert (forest_leaf (&f, 0, x3, NULL) == 4);
    assert (forest_leaf (&f, 1, x3, &depth) == 5 && depth == 0);
    assert (forest_check (&f, 3, 0, 1, "f", err) == 0);

    //  a packed and unpacked forest is the same
    forest_t g;
    assert (s_round_trip (&f, &g, 3, err) == 0);
    assert (g.nnodes == 6 && g.root[1] == 5 && g.feat[0] == 2 && g.thr[0] == 0.5f
            && g.left[2] == 3 && g.right[2] == 4 && g.leaf[5] == 0.75f);
    assert (forest_leaf (&g, 0, x2, NULL) == 3);
    forest_destroy (&g);

    //  every broken invariant is refused, naming tree and node
    f.left[b] = 1;                  //  a child before its parent: a loop
    assert (s_round_trip (&f, &g, 3, err) == -1
            && !strcmp (err, "'f': node 2 of tree 1 is malformed"));
    forest_destroy (&g);
    f.left[b] = 5;                  //  a child in the next tree
    assert (s_round_trip (&f, &g, 3, err) == -1 && strstr (err, "node 2 of tree 1"));
    forest_destroy (&g);
    f.left[b] = 3;
    assert (s_round_trip (&f, &g, 2, err) == -1 && strstr (err, "node 0 of tree 1"));
    forest_destroy (&g);
    f.leaf[5] = 2;                  //  a leaf value out of range
    assert (s_round_trip (&f, &g, 3, err) == -1 && strstr (err, "node 0 of tree 2"));
    forest_destroy (&g);
    f.leaf[5] = 0.75f;
    f.root[1] = 6;                  //  an empty last tree
    assert (s_round_trip (&f, &g, 3, err) == -1
            && !strcmp (err, "'f': tree 2 has a bad root"));
    forest_destroy (&g);
    f.root[1] = 5;
    f.feat[3] = -3;                 //  a negative index other than -1 cannot be read
    assert (s_round_trip (&f, &g, 3, err) == -2);
    forest_destroy (&g);
    f.feat[3] = -1;
    f.thr[0] = NAN;
    assert (s_round_trip (&f, &g, 3, err) == -1 && strstr (err, "node 0 of tree 1"));
    forest_destroy (&g);
    f.thr[0] = 0.5f;
    //  arrays: roots that are not integers, a node array too short
    f.root[1] = (uint32_t) -2;
    assert (s_round_trip (&f, &g, 3, err) == -1);
    forest_destroy (&g);
    f.root[1] = 5;
    f.left[0] = 1 << 24;
    assert (s_round_trip (&f, &g, 3, err) == -2);
    forest_destroy (&g);
    f.left[0] = 1;
    assert (s_round_trip (&f, &g, 3, err) == 0);
    forest_destroy (&g);
    f.nnodes = 5;                   //  packed with 5 nodes, read as 6
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    forest_pack_roots (&f, &pk);
    forest_pack_nodes (&f, &pk, "value");
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (msgpack_unpack_next (&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    forest_init (&g, 2);
    assert (forest_unpack (&g, &u.data, 6, "value") == -2);
    forest_destroy (&g);
    forest_init (&g, 2);
    assert (forest_unpack (&g, &u.data, 5, "size") == -2);   //  no such key
    forest_destroy (&g);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    forest_destroy (&f);
    assert (f.root == NULL && f.nnodes == 0);
    forest_destroy (&f);
    if (verbose)
        printf ("forest: walk, pack/unpack and every structural check ok\n");
}
