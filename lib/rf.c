/*  rf: see rf.h.  Trees live in flat node arrays shared by the forest
    (root[t] is the first node of tree t); children are always stored after
    their parent, which makes a loaded file's trees provably finite.  */
#include "rf.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forest.h"
#include "mp.h"
#include "rng.h"

struct _rf_t {
    size_t w, f, d;         //  window length, features per step, d = w*f
    forest_t tree;          //  the trees; leaf = fraction anomalous of a node's samples
    rf_opts_t opts;         //  how it was grown (recorded in the file)
    uint64_t ntrain, npos;  //  training windows, anomalous ones
    uint64_t hash;          //  checksum of the saved body, 0 if unsaved
};

typedef struct {
    float v;
    uint8_t y;
} s_pair_t;

typedef struct {
    rf_t *rf;
    const float *X;
    const uint8_t *y;
    rng_t rng;
    s_pair_t *pairs;        //  (n) scratch for sorting one feature
    uint32_t *feats;        //  (d) feature indices, partially shuffled per node
} s_grow_t;

void
rf_opts_default (rf_opts_t *o)
{
    *o = (rf_opts_t) {.trees = 100, .max_depth = 16, .min_leaf = 1, .mtry = 0,
                      .sample = 1.0, .bootstrap = true, .seed = 1};
}

static rf_t *
s_new (size_t w, size_t f, size_t ntrees)
{
    rf_t *self = xcalloc (1, sizeof *self);
    self->w = w;
    self->f = f;
    self->d = w * f;
    forest_init (&self->tree, ntrees);
    return self;
}

static int
s_pair_cmp (const void *a, const void *b)
{
    float x = ((const s_pair_t *) a)->v, y = ((const s_pair_t *) b)->v;
    return (x > y) - (x < y);
}

//  Gini impurity of a node times its size: n * (1 - p^2 - q^2) = 2 pos neg / n.
static double
s_gini_n (double n, double pos)
{
    return n > 0 ? 2.0 * pos * (n - pos) / n : 0;
}

//  Grow the subtree over idx[0..n) at depth; returns its root node.
static int32_t
s_grow (s_grow_t *g, uint32_t *idx, size_t n, int depth)
{
    rf_t *rf = g->rf;
    const rf_opts_t *o = &rf->opts;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += g->y[idx[i]];
    int32_t node = forest_add (&rf->tree, (float) (n ? (double) pos / n : 0));
    if (pos == 0 || pos == n || depth >= o->max_depth || n < 2 * (size_t) o->min_leaf)
        return node;

    double best = s_gini_n (n, pos) - 1e-12;
    long best_feat = -1;
    float best_thr = 0;
    size_t mtry = (size_t) o->mtry;
    for (size_t k = 0; k < mtry; k++) {
        //  partial Fisher-Yates: feats[k] is a fresh draw without replacement
        size_t j = k + rng_below (&g->rng, rf->d - k);
        uint32_t t = g->feats[k];
        g->feats[k] = g->feats[j];
        g->feats[j] = t;
        uint32_t fe = g->feats[k];
        for (size_t i = 0; i < n; i++)
            g->pairs[i] = (s_pair_t) {g->X[(size_t) idx[i] * rf->d + fe], g->y[idx[i]]};
        qsort (g->pairs, n, sizeof *g->pairs, s_pair_cmp);
        size_t lpos = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            lpos += g->pairs[i].y;
            size_t nl = i + 1, nr = n - nl;
            if (g->pairs[i].v == g->pairs[i + 1].v || nl < (size_t) o->min_leaf
                || nr < (size_t) o->min_leaf)
                continue;
            double imp = s_gini_n (nl, lpos) + s_gini_n (nr, pos - lpos);
            if (imp < best) {
                best = imp;
                best_feat = fe;
                float a = g->pairs[i].v, b = g->pairs[i + 1].v;
                best_thr = (float) (a + ((double) b - a) / 2);
                if (!(a < best_thr) || !(best_thr <= b))
                    best_thr = b;
            }
        }
    }
    if (best_feat < 0)
        return node;
    //  partition idx: x < thr first
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        if (g->X[(size_t) idx[i] * rf->d + best_feat] < best_thr) {
            uint32_t t = idx[nl];
            idx[nl++] = idx[i];
            idx[i] = t;
        }
    assert (nl > 0 && nl < n);
    rf->tree.feat[node] = (int32_t) best_feat;
    rf->tree.thr[node] = best_thr;
    int32_t l = s_grow (g, idx, nl, depth + 1);
    int32_t r = s_grow (g, idx + nl, n - nl, depth + 1);
    rf->tree.left[node] = l;
    rf->tree.right[node] = r;
    return node;
}

rf_t *
rf_train (const float *X, const uint8_t *y, size_t n, size_t w, size_t f,
          const rf_opts_t *opts, char *err)
{
    if (n == 0 || w == 0 || f == 0) {
        errf (err, "no training windows");
        return NULL;
    }
    if (n > UINT32_MAX / 2) {
        errf (err, "too many training windows (%zu)", n);
        return NULL;
    }
    size_t d = w * f;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite (X[i])) {
            errf (err, "window %zu: value %zu is not finite", i / d + 1, i % d + 1);
            return NULL;
        }
    if (opts->trees < 1 || opts->max_depth < 0 || opts->min_leaf < 1 || opts->mtry < 0
        || !(opts->sample > 0)) {
        errf (err, "bad forest options");
        return NULL;
    }
    rf_t *self = s_new (w, f, (size_t) opts->trees);
    self->opts = *opts;
    if (self->opts.mtry == 0)
        self->opts.mtry = (int) fmax (1, floor (sqrt ((double) d) + 0.5));
    if ((size_t) self->opts.mtry > d)
        self->opts.mtry = (int) d;
    self->ntrain = n;
    for (size_t i = 0; i < n; i++)
        self->npos += y[i] != 0;

    size_t m = opts->bootstrap ? (size_t) fmax (1, floor (opts->sample * n + 0.5)) : n;
    uint8_t *yy = xmalloc (n);
    for (size_t i = 0; i < n; i++)
        yy[i] = y[i] != 0;
    s_grow_t g = {.rf = self, .X = X, .y = yy};
    g.pairs = xmalloc (m * sizeof *g.pairs);
    g.feats = xmalloc (d * sizeof *g.feats);
    uint32_t *idx = xmalloc (m * sizeof *idx);
    for (size_t t = 0; t < self->tree.ntrees; t++) {
        rng_init (&g.rng, opts->seed, t);
        for (size_t i = 0; i < d; i++)
            g.feats[i] = (uint32_t) i;
        for (size_t i = 0; i < m; i++)
            idx[i] = opts->bootstrap ? (uint32_t) rng_below (&g.rng, n) : (uint32_t) i;
        self->tree.root[t] = (uint32_t) s_grow (&g, idx, m, 0);
    }
    free (idx);
    free (g.feats);
    free (g.pairs);
    free (yy);
    return self;
}

double
rf_score (const rf_t *self, const float *x)
{
    size_t votes = 0;
    for (size_t t = 0; t < self->tree.ntrees; t++)
        votes += self->tree.leaf[forest_leaf (&self->tree, t, x, NULL)] > 0.5f;
    return (double) votes / (double) self->tree.ntrees;
}

size_t
rf_window (const rf_t *self)
{
    return self->w;
}

size_t
rf_nfeat (const rf_t *self)
{
    return self->f;
}

size_t
rf_ntrees (const rf_t *self)
{
    return self->tree.ntrees;
}

size_t
rf_nnodes (const rf_t *self)
{
    return self->tree.nnodes;
}

uint64_t
rf_hash (const rf_t *self)
{
    return self->hash;
}

int
rf_save (rf_t *self, const char *path, char *err)
{
    if (self->tree.nnodes >= (1u << 24))
        return errf (err, "forest too large to save (%zu nodes)", self->tree.nnodes);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 17);
    mp_pack_kv_u64 (&pk, "w", self->w);
    mp_pack_kv_u64 (&pk, "f", self->f);
    mp_pack_kv_u64 (&pk, "trees", self->tree.ntrees);
    mp_pack_kv_u64 (&pk, "max_depth", (uint64_t) self->opts.max_depth);
    mp_pack_kv_u64 (&pk, "min_leaf", (uint64_t) self->opts.min_leaf);
    mp_pack_kv_u64 (&pk, "mtry", (uint64_t) self->opts.mtry);
    mp_pack_kv_double (&pk, "sample", self->opts.bootstrap ? self->opts.sample : 0);
    mp_pack_kv_u64 (&pk, "seed", self->opts.seed);
    mp_pack_kv_u64 (&pk, "ntrain", self->ntrain);
    mp_pack_kv_u64 (&pk, "npos", self->npos);
    forest_pack_roots (&self->tree, &pk);
    mp_pack_kv_u64 (&pk, "nodes", self->tree.nnodes);
    forest_pack_nodes (&self->tree, &pk, "value");
    int rc = mpfile_write (path, RF_FORMAT, RF_VERSION, sb.data, sb.size, err);
    if (rc == 0)
        self->hash = hash64 (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

rf_t *
rf_load (const char *path, char *err)
{
    mpfile_t *file = mpfile_read (path, RF_FORMAT, RF_VERSION, err);
    if (!file)
        return NULL;
    const msgpack_object *body = mpfile_body (file);
    rf_t *self = NULL;
    uint64_t w, f, ntrees, nnodes, u;
    if (mp_get_u64 (body, "w", &w) || mp_get_u64 (body, "f", &f)
        || mp_get_u64 (body, "trees", &ntrees) || mp_get_u64 (body, "nodes", &nnodes)
        || w == 0 || f == 0 || w * f > (1u << 24) || ntrees == 0 || ntrees > nnodes
        || nnodes >= (1u << 24)) {
        errf (err, "'%s': missing or bad shape (w, f, trees, nodes)", path);
        goto fail;
    }
    self = s_new (w, f, ntrees);
    rf_opts_default (&self->opts);
    if (!mp_get_u64 (body, "max_depth", &u))
        self->opts.max_depth = (int) u;
    if (!mp_get_u64 (body, "min_leaf", &u))
        self->opts.min_leaf = (int) u;
    if (!mp_get_u64 (body, "mtry", &u))
        self->opts.mtry = (int) u;
    if (!mp_get_u64 (body, "seed", &u))
        self->opts.seed = u;
    mp_get_u64 (body, "ntrain", &self->ntrain);
    mp_get_u64 (body, "npos", &self->npos);
    int rc = forest_unpack (&self->tree, body, nnodes, "value");
    if (rc) {
        if (rc == -1)
            errf (err, "key 'root': missing or malformed");
        else
            errf (err, "'%s': node arrays missing or of the wrong length", path);
        goto fail;
    }
    if (forest_check (&self->tree, self->d, -FLT_MAX, FLT_MAX, path, err))
        goto fail;
    self->hash = mpfile_checksum (file);
    mpfile_destroy (&file);
    return self;
fail:
    rf_destroy (&self);
    mpfile_destroy (&file);
    return NULL;
}

void
rf_destroy (rf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rf_t *self = *self_p;
    forest_destroy (&self->tree);
    free (self);
    *self_p = NULL;
}

void
rf_test (bool verbose)
{
    char err[ERRLEN];
    rf_opts_t o;
    //  A hand-made set (feature 0, feature 1; label), worked by hand.
    //  Root, over f0 (left = first k rows by f0): k=1 12/7, k=2 10/6, k=3 2.93,
    //  k=4 1.5 (best), k=5 2.4;  over f1 (labels sorted by f1: 0 1 0 1 0 1 1 1)
    //  the best is k=5 with 2.4.  So the root splits f0 < 4.5.  Its left part
    //  (f0 = 1..4, labels 0 0 1 0, f1 = 5 3 8 1) splits purely on f1 < 6.5
    //  (f0's best there leaves impurity 1).  The right part is pure.
    const float X[] = {1, 5, 2, 3, 3, 8, 4, 1, 5, 2, 6, 7, 7, 4, 8, 6};
    const uint8_t y[] = {0, 0, 1, 0, 1, 1, 1, 1};
    rf_opts_default (&o);
    o.trees = 1, o.bootstrap = false, o.mtry = 2;
    rf_t *rf = rf_train (X, y, 8, 1, 2, &o, err);
    assert (rf && rf_nnodes (rf) == 5 && rf_ntrees (rf) == 1);
    assert (rf->tree.feat[0] == 0 && rf->tree.thr[0] == 4.5f);
    assert (rf->tree.feat[1] == 1 && rf->tree.thr[1] == 6.5f && rf->tree.left[0] == 1);
    assert (rf->tree.feat[2] == -1 && rf->tree.leaf[2] == 0 && rf->tree.feat[3] == -1 && rf->tree.leaf[3] == 1);
    assert (rf->tree.feat[4] == -1 && rf->tree.leaf[4] == 1 && rf->tree.right[0] == 4);
    const float q1[] = {2, 9}, q2[] = {2, 1}, q3[] = {7, 0};
    assert (rf_score (rf, q1) == 1 && rf_score (rf, q2) == 0 && rf_score (rf, q3) == 1);
    rf_destroy (&rf);
    //  a stump: left leaf has 1 of 4 anomalous and votes normal
    o.max_depth = 1;
    rf = rf_train (X, y, 8, 2, 1, &o, err);
    assert (rf && rf_nnodes (rf) == 3 && rf->tree.leaf[1] == 0.25f);
    assert (rf_score (rf, q2) == 0 && rf_score (rf, q3) == 1);
    rf_destroy (&rf);
    //  min_leaf forbids the pure split of 3 | 1 in the left part
    rf_opts_default (&o);
    o.trees = 1, o.bootstrap = false, o.mtry = 2, o.min_leaf = 3;
    rf = rf_train (X, y, 8, 1, 2, &o, err);
    assert (rf && rf_nnodes (rf) == 3);
    rf_destroy (&rf);

    //  A forest on a noisy problem: anomalous when far from the origin.
    rng_t r;
    rng_init (&r, 7, 0);
    size_t n = 2000, d = 6;
    float *A = xmalloc (n * d * sizeof *A);
    uint8_t *lab = xmalloc (n);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            A[i * d + j] = (float) rng_normal (&r);
            s += j < 2 ? A[i * d + j] * A[i * d + j] : 0;
        }
        lab[i] = s > 3.0;
    }
    rf_opts_default (&o);
    o.trees = 30, o.seed = 3;
    rf = rf_train (A, lab, n / 2, 2, 3, &o, err);
    assert (rf);
    size_t right = 0;
    for (size_t i = n / 2; i < n; i++) {
        double s = rf_score (rf, A + i * d);
        assert (s >= 0 && s <= 1);
        right += (s > 0.5) == lab[i];
    }
    if (verbose)
        printf ("rf: held-out accuracy %.3f, %zu nodes\n", (double) right / (n / 2),
                rf_nnodes (rf));
    assert (right > 0.9 * (n / 2));
    //  same seed, same forest; save/load gives the same scores
    rf_t *rf2 = rf_train (A, lab, n / 2, 2, 3, &o, err);
    assert (rf2 && rf_nnodes (rf2) == rf_nnodes (rf));
    rf_destroy (&rf2);
    char path[] = "/tmp/vigil-rf-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    assert (rf_save (rf, path, err) == 0 && rf_hash (rf) != 0);
    rf2 = rf_load (path, err);
    assert (rf2 && rf_hash (rf2) == rf_hash (rf) && rf_window (rf2) == 2 && rf_nfeat (rf2) == 3);
    for (size_t i = n / 2; i < n; i++)
        assert (rf_score (rf2, A + i * d) == rf_score (rf, A + i * d));
    rf_destroy (&rf2);
    //  another format, corruption and truncation are refused
    assert (!mpfile_read (path, "vigil-hmm", 1, err));
    FILE *fp = fopen (path, "r+b");
    fseek (fp, -5, SEEK_END);
    fputc ('Z', fp);
    fclose (fp);
    assert (!rf_load (path, err) && strstr (err, "checksum"));
    assert (truncate (path, 30) == 0);
    assert (!rf_load (path, err));
    unlink (path);
    //  bad input
    A[5] = NAN;
    assert (!rf_train (A, lab, 10, 2, 3, &o, err) && strstr (err, "not finite"));
    assert (!rf_train (A, lab, 0, 2, 3, &o, err));
    rf_destroy (&rf);
    rf_destroy (&rf);
    free (A);
    free (lab);
}
