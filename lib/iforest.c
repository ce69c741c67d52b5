/*  iforest: see iforest.h.  Node arrays are shared by all trees (root[t]
    is tree t's first node); a leaf stores the number of training windows
    that reached it, whose c(size) completes the path length.  */
#include "iforest.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forest.h"
#include "mp.h"
#include "rng.h"

#define EULER_GAMMA 0.57721566490153286061

struct _iforest_t {
    size_t w, f, d;         //  window length, features per step, d = w*f
    size_t psi;             //  subsample size used
    forest_t tree;          //  the trees; leaf = training windows that reached a node
    double cpsi;            //  c(psi), the normaliser
    iforest_opts_t opts;
    uint64_t ntrain;
    uint64_t hash;
};

void
iforest_opts_default (iforest_opts_t *o)
{
    *o = (iforest_opts_t) {.trees = 100, .sample = 256, .seed = 1};
}

//  Harmonic number H(m) = 1 + 1/2 + ... + 1/m.
static double
s_harmonic (double m)
{
    if (m < 1)
        return 0;
    if (m <= 64 && m == floor (m)) {
        double s = 0;
        for (int i = (int) m; i >= 1; i--)
            s += 1.0 / i;
        return s;
    }
    double m2 = m * m;
    return log (m) + EULER_GAMMA + 1 / (2 * m) - 1 / (12 * m2) + 1 / (120 * m2 * m2);
}

double
iforest_c (double n)
{
    if (n <= 1)
        return 0;
    return 2 * s_harmonic (n - 1) - 2 * (n - 1) / n;
}

static iforest_t *
s_new (size_t w, size_t f, size_t ntrees)
{
    iforest_t *self = xcalloc (1, sizeof *self);
    self->w = w, self->f = f, self->d = w * f;
    forest_init (&self->tree, ntrees);
    return self;
}

static int32_t
s_grow (iforest_t *self, const float *X, uint32_t *idx, size_t n, int depth, int limit,
        rng_t *rng)
{
    int32_t node = forest_add (&self->tree, (float) n);
    if (n <= 1 || depth >= limit)
        return node;
    //  a random feature that is not constant in this node: the first one
    //  from a random start (uniform when every feature varies, as the paper
    //  draws; a constant feature can never isolate anything)
    size_t d = self->d, start = rng_below (rng, d);
    long fe = -1;
    float lo = 0, hi = 0;
    for (size_t k = 0; k < d && fe < 0; k++) {
        size_t c = (start + k) % d;
        lo = hi = X[(size_t) idx[0] * d + c];
        for (size_t i = 1; i < n; i++) {
            float v = X[(size_t) idx[i] * d + c];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (lo < hi)
            fe = (long) c;
    }
    if (fe < 0)
        return node;    //  all windows here are identical
    float thr = (float) (lo + rng_uniform (rng) * ((double) hi - lo));
    if (!(thr > lo))
        thr = nextafterf (lo, INFINITY);
    if (thr > hi)
        thr = hi;
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        if (X[(size_t) idx[i] * d + fe] < thr) {
            uint32_t t = idx[nl];
            idx[nl++] = idx[i];
            idx[i] = t;
        }
    assert (nl > 0 && nl < n);
    self->tree.feat[node] = (int32_t) fe;
    self->tree.thr[node] = thr;
    int32_t l = s_grow (self, X, idx, nl, depth + 1, limit, rng);
    int32_t r = s_grow (self, X, idx + nl, n - nl, depth + 1, limit, rng);
    self->tree.left[node] = l;
    self->tree.right[node] = r;
    return node;
}

iforest_t *
iforest_train (const float *X, size_t n, size_t w, size_t f, const iforest_opts_t *o,
               char *err)
{
    if (n == 0 || w == 0 || f == 0) {
        errf (err, "no training windows");
        return NULL;
    }
    if (o->trees < 1 || o->sample < 2 || n > UINT32_MAX) {
        errf (err, "bad forest options");
        return NULL;
    }
    size_t d = w * f;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite (X[i])) {
            errf (err, "window %zu: value %zu is not finite", i / d + 1, i % d + 1);
            return NULL;
        }
    iforest_t *self = s_new (w, f, (size_t) o->trees);
    self->opts = *o;
    self->ntrain = n;
    self->psi = n < (size_t) o->sample ? n : (size_t) o->sample;
    self->cpsi = iforest_c ((double) self->psi);
    int limit = (int) ceil (log2 ((double) (self->psi > 1 ? self->psi : 2)));
    uint32_t *all = xmalloc (n * sizeof *all);
    rng_t rng;
    for (size_t t = 0; t < self->tree.ntrees; t++) {
        rng_init (&rng, o->seed, t);
        //  subsample without replacement: a partial Fisher-Yates shuffle
        for (size_t i = 0; i < n; i++)
            all[i] = (uint32_t) i;
        for (size_t i = 0; i < self->psi; i++) {
            size_t j = i + rng_below (&rng, n - i);
            uint32_t tmp = all[i];
            all[i] = all[j];
            all[j] = tmp;
        }
        self->tree.root[t] = (uint32_t) s_grow (self, X, all, self->psi, 0, limit, &rng);
    }
    free (all);
    return self;
}

double
iforest_path (const iforest_t *self, const float *x)
{
    double total = 0;
    for (size_t t = 0; t < self->tree.ntrees; t++) {
        int depth;
        int32_t i = forest_leaf (&self->tree, t, x, &depth);
        total += depth + iforest_c (self->tree.leaf[i]);
    }
    return total / (double) self->tree.ntrees;
}

double
iforest_score (const iforest_t *self, const float *x)
{
    if (self->cpsi <= 0)
        return 0.5;     //  one training window: nothing to isolate against
    return exp2 (-iforest_path (self, x) / self->cpsi);
}

size_t
iforest_window (const iforest_t *self)
{
    return self->w;
}

size_t
iforest_nfeat (const iforest_t *self)
{
    return self->f;
}

size_t
iforest_ntrees (const iforest_t *self)
{
    return self->tree.ntrees;
}

size_t
iforest_psi (const iforest_t *self)
{
    return self->psi;
}

uint64_t
iforest_hash (const iforest_t *self)
{
    return self->hash;
}

int
iforest_save (iforest_t *self, const char *path, char *err)
{
    if (self->tree.nnodes >= (1u << 24))
        return errf (err, "forest too large to save (%zu nodes)", self->tree.nnodes);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 13);
    mp_pack_kv_u64 (&pk, "w", self->w);
    mp_pack_kv_u64 (&pk, "f", self->f);
    mp_pack_kv_u64 (&pk, "trees", self->tree.ntrees);
    mp_pack_kv_u64 (&pk, "psi", self->psi);
    mp_pack_kv_u64 (&pk, "seed", self->opts.seed);
    mp_pack_kv_u64 (&pk, "ntrain", self->ntrain);
    mp_pack_kv_u64 (&pk, "nodes", self->tree.nnodes);
    forest_pack_roots (&self->tree, &pk);
    forest_pack_nodes (&self->tree, &pk, "size");
    int rc = mpfile_write (path, IFOREST_FORMAT, IFOREST_VERSION, sb.data, sb.size, err);
    if (rc == 0)
        self->hash = hash64 (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

iforest_t *
iforest_load (const char *path, char *err)
{
    mpfile_t *file = mpfile_read (path, IFOREST_FORMAT, IFOREST_VERSION, err);
    if (!file)
        return NULL;
    const msgpack_object *body = mpfile_body (file);
    iforest_t *self = NULL;
    uint64_t w, f, ntrees, nnodes, psi;
    if (mp_get_u64 (body, "w", &w) || mp_get_u64 (body, "f", &f)
        || mp_get_u64 (body, "trees", &ntrees) || mp_get_u64 (body, "nodes", &nnodes)
        || mp_get_u64 (body, "psi", &psi) || w == 0 || f == 0 || w * f > (1u << 24)
        || ntrees == 0 || ntrees > nnodes || nnodes >= (1u << 24) || psi == 0) {
        errf (err, "'%s': missing or bad shape (w, f, trees, psi, nodes)", path);
        goto fail;
    }
    self = s_new (w, f, ntrees);
    self->psi = psi;
    self->cpsi = iforest_c ((double) psi);
    self->opts.trees = (int) ntrees;
    self->opts.sample = (int) psi;
    mp_get_u64 (body, "seed", &self->opts.seed);
    mp_get_u64 (body, "ntrain", &self->ntrain);
    if (forest_unpack (&self->tree, body, nnodes, "size")) {
        errf (err, "'%s': node arrays missing, malformed or of the wrong length", path);
        goto fail;
    }
    if (forest_check (&self->tree, self->d, 0, (float) psi, path, err))
        goto fail;
    self->hash = mpfile_checksum (file);
    mpfile_destroy (&file);
    return self;
fail:
    iforest_destroy (&self);
    mpfile_destroy (&file);
    return NULL;
}

void
iforest_destroy (iforest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    iforest_t *self = *self_p;
    forest_destroy (&self->tree);
    free (self);
    *self_p = NULL;
}

//  Reference for the test: insert n random keys into a plain BST and
//  count the comparisons an unsuccessful search makes, averaged over random
//  search keys and many trees (Knuth, TAOCP 6.2.2: 2 H(n+1) - 2).
static double
s_bst_unsuccessful (size_t n, size_t reps, rng_t *r)
{
    double *key = xmalloc (n * sizeof *key);
    size_t *lc = xmalloc (n * sizeof *lc), *rc = xmalloc (n * sizeof *rc);
    double total = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < n; i++) {
            key[i] = rng_uniform (r);
            lc[i] = rc[i] = SIZE_MAX;
            size_t p = 0;
            while (i > 0) {
                size_t *next = key[i] < key[p] ? &lc[p] : &rc[p];
                if (*next == SIZE_MAX) {
                    *next = i;
                    break;
                }
                p = *next;
            }
        }
        //  a random search key falls in one of the n+1 gaps with equal
        //  probability; sample uniformly distributed keys
        for (size_t q = 0; q < 20; q++) {
            double k = rng_uniform (r);
            size_t p = 0, depth = 0;
            while (p != SIZE_MAX) {
                depth++;
                p = k < key[p] ? lc[p] : rc[p];
            }
            total += depth;
        }
    }
    free (key), free (lc), free (rc);
    return total / (double) (reps * 20);
}

void
iforest_test (bool verbose)
{
    char err[ERRLEN];
    //  c(n): the closed form against 2 H(n) - 2 summed directly, and the
    //  values Liu et al.'s asymptotic H(i) = ln i + gamma gives for large n
    assert (iforest_c (1) == 0 && iforest_c (0) == 0 && fabs (iforest_c (2) - 1) < 1e-15);
    double maxd = 0;
    for (int n = 2; n <= 5000; n += (n < 100 ? 1 : 97)) {
        double h = 0;
        for (int i = 1; i <= n; i++)
            h += 1.0 / i;
        maxd = fmax (maxd, fabs (iforest_c (n) - (2 * h - 2)));
    }
    assert (maxd < 1e-11);
    double liu = 2 * (log (255.0) + EULER_GAMMA) - 2 * 255.0 / 256;
    assert (fabs (iforest_c (256) - liu) < 0.005 && fabs (iforest_c (256) - 10.24868993) < 1e-8);
    //  ... and against what it means: an unsuccessful search in a random BST
    //  of n-1 keys makes 2 H(n) - 2 = c(n) comparisons on average
    rng_t r;
    rng_init (&r, 3, 0);
    double mc = s_bst_unsuccessful (63, 4000, &r);
    if (verbose)
        printf ("iforest: c(n) vs 2H(n)-2 max |diff| %.2g; c(64) %.4f, BST search %.4f\n",
                maxd, iforest_c (64), mc);
    assert (fabs (mc - iforest_c (64)) < 0.03);

    //  a toy set: a Gaussian blob and a few far points among the training data
    size_t n = 1000, d = 4;
    float *X = xmalloc (n * d * sizeof *X);
    for (size_t i = 0; i < n * d; i++)
        X[i] = (float) rng_normal (&r);
    for (size_t i = 0; i < 10; i++)
        for (size_t j = 0; j < d; j++)
            X[i * d + j] = (float) (6 + rng_normal (&r));
    iforest_opts_t o;
    iforest_opts_default (&o);
    iforest_t *fo = iforest_train (X, n, 2, 2, &o, err);
    assert (fo && iforest_psi (fo) == 256 && iforest_ntrees (fo) == 100);
    double s_out = 0, s_in = 0;
    for (size_t i = 0; i < n; i++) {
        double s = iforest_score (fo, X + i * d);
        assert (s > 0 && s < 1);
        if (i < 10)
            s_out += s / 10;
        else
            s_in += s / (n - 10);
    }
    if (verbose)
        printf ("iforest: mean score outliers %.3f, inliers %.3f\n", s_out, s_in);
    assert (s_out > 0.65 && s_in < 0.5);
    const float centre[] = {0, 0, 0, 0}, far[] = {20, -20, 20, 0};
    assert (iforest_score (fo, far) > iforest_score (fo, centre) + 0.2);
    //  the path length of a far point is short: about 1 - 2 splits per tree
    //  beyond the root would isolate it, never more than the height limit + c
    assert (iforest_path (fo, far) < iforest_path (fo, centre));
    //  save / load round trip
    char path[] = "/tmp/vigil-iforest-test-XXXXXX";
    int fdp = mkstemp (path);
    assert (fdp >= 0);
    close (fdp);
    assert (iforest_save (fo, path, err) == 0 && iforest_hash (fo));
    iforest_t *fo2 = iforest_load (path, err);
    assert (fo2 && iforest_hash (fo2) == iforest_hash (fo) && iforest_window (fo2) == 2
            && iforest_nfeat (fo2) == 2);
    for (size_t i = 0; i < 50; i++)
        assert (iforest_score (fo2, X + i * d) == iforest_score (fo, X + i * d));
    iforest_destroy (&fo2);
    FILE *fp = fopen (path, "r+b");
    fseek (fp, -6, SEEK_END);
    fputc ('Q', fp);
    fclose (fp);
    assert (!iforest_load (path, err) && strstr (err, "checksum"));
    assert (truncate (path, 20) == 0 && !iforest_load (path, err));
    unlink (path);
    iforest_destroy (&fo);
    //  degenerate: identical windows give one leaf per tree and score 0.5
    for (size_t i = 0; i < n * d; i++)
        X[i] = 1;
    fo = iforest_train (X, n, 1, 4, &o, err);
    assert (fo && fabs (iforest_score (fo, X) - 0.5) < 1e-12);
    iforest_destroy (&fo);
    fo = iforest_train (X, 1, 1, 4, &o, err);
    assert (fo && iforest_score (fo, X) == 0.5);
    iforest_destroy (&fo);
    X[2] = NAN;
    assert (!iforest_train (X, n, 1, 4, &o, err) && strstr (err, "not finite"));
    assert (!iforest_train (X, 0, 1, 4, &o, err));
    iforest_destroy (&fo);
    free (X);
}
