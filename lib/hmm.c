/*  hmm: see hmm.h.  Parameters are kept in double but rounded to float32
    after training (and read as float32 from files), and the log-domain
    tables (log pi, log A, 1/var, the Gaussian normaliser) are derived from
    them by s_prepare, so scoring only adds and multiplies.  */
#include "hmm.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp.h"
#include "rng.h"

#define LOG_2PI 1.8378770664093454836

struct _hmm_t {
    size_t w, f, k;         //  steps per window, features per step, states
    double *pi;             //  (k) initial state probabilities
    double *A;              //  (k, k) A[i*k+j] = P(next j | now i)
    double *mu;             //  (k, f) state means
    double *var;            //  (k, f) state variances (diagonal)
    double *logpi, *logA;   //  (k), (k, k) logs, floored at 1e-300
    double *ivar;           //  (k, f) 1 / var
    double *lnorm;          //  (k) -0.5 sum_f log (2 pi var)
    double *logb;           //  (w, k) scratch: log emission densities
    double *alpha, *beta;   //  (w, k) scratch: forward / backward log messages
    double *trace;          //  (niter) mean log-likelihood per step per iteration
    size_t niter;
    hmm_opts_t opts;        //  how it was trained
    uint64_t ntrain;        //  training windows
    uint64_t hash;          //  checksum of the saved body, 0 if unsaved
};

void
hmm_opts_default (hmm_opts_t *o)
{
    *o = (hmm_opts_t) {.states = 4, .iters = 50, .tol = 1e-4, .var_floor = 1e-2,
                       .trans_floor = 1e-6, .seed = 1};
}

static hmm_t *
s_new (size_t w, size_t f, size_t k)
{
    hmm_t *self = xcalloc (1, sizeof *self);
    self->w = w, self->f = f, self->k = k;
    self->pi = xcalloc (k, sizeof (double));
    self->A = xcalloc (k * k, sizeof (double));
    self->mu = xcalloc (k * f, sizeof (double));
    self->var = xcalloc (k * f, sizeof (double));
    self->logpi = xcalloc (k, sizeof (double));
    self->logA = xcalloc (k * k, sizeof (double));
    self->ivar = xcalloc (k * f, sizeof (double));
    self->lnorm = xcalloc (k, sizeof (double));
    self->logb = xcalloc (w * k, sizeof (double));
    self->alpha = xcalloc (w * k, sizeof (double));
    self->beta = xcalloc (w * k, sizeof (double));
    hmm_opts_default (&self->opts);
    return self;
}

static void
s_prepare (hmm_t *self)
{
    size_t k = self->k, f = self->f;
    for (size_t i = 0; i < k; i++) {
        self->logpi[i] = log (fmax (self->pi[i], 1e-300));
        for (size_t j = 0; j < k; j++)
            self->logA[i * k + j] = log (fmax (self->A[i * k + j], 1e-300));
        double s = 0;
        for (size_t d = 0; d < f; d++) {
            self->ivar[i * f + d] = 1.0 / self->var[i * f + d];
            s += LOG_2PI + log (self->var[i * f + d]);
        }
        self->lnorm[i] = -0.5 * s;
    }
}

static double
s_lse (const double *v, size_t n)
{
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = fmax (m, v[i]);
    if (m == -INFINITY)
        return m;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += exp (v[i] - m);
    return m + log (s);
}

static void
s_emissions (hmm_t *self, const float *x, size_t T)
{
    size_t k = self->k, f = self->f;
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < k; i++) {
            const double *mu = self->mu + i * f, *iv = self->ivar + i * f;
            double q = 0;
            for (size_t d = 0; d < f; d++) {
                double e = x[t * f + d] - mu[d];
                q += e * e * iv[d];
            }
            self->logb[t * k + i] = self->lnorm[i] - 0.5 * q;
        }
}

//  alpha[t][j] = log p(x_1..x_t, s_t = j); returns log p(x_1..x_T).
static double
s_forward (hmm_t *self, size_t T)
{
    size_t k = self->k;
    double tmp[k];
    for (size_t j = 0; j < k; j++)
        self->alpha[j] = self->logpi[j] + self->logb[j];
    for (size_t t = 1; t < T; t++)
        for (size_t j = 0; j < k; j++) {
            for (size_t i = 0; i < k; i++)
                tmp[i] = self->alpha[(t - 1) * k + i] + self->logA[i * k + j];
            self->alpha[t * k + j] = s_lse (tmp, k) + self->logb[t * k + j];
        }
    return s_lse (self->alpha + (T - 1) * k, k);
}

//  beta[t][i] = log p(x_t+1..x_T | s_t = i).
static void
s_backward (hmm_t *self, size_t T)
{
    size_t k = self->k;
    double tmp[k];
    for (size_t i = 0; i < k; i++)
        self->beta[(T - 1) * k + i] = 0;
    for (size_t t = T - 1; t-- > 0;)
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < k; j++)
                tmp[j] = self->logA[i * k + j] + self->logb[(t + 1) * k + j]
                       + self->beta[(t + 1) * k + j];
            self->beta[t * k + i] = s_lse (tmp, k);
        }
}

double
hmm_loglik (hmm_t *self, const float *x, size_t T)
{
    assert (T >= 1 && T <= self->w);
    s_emissions (self, x, T);
    return s_forward (self, T);
}

double
hmm_score (hmm_t *self, const float *x)
{
    return -hmm_loglik (self, x, self->w) / (double) self->w;
}

//  Floor a probability vector and renormalise it.
static void
s_floor_norm (double *p, size_t n, double floor_)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i] = fmax (p[i], floor_);
    for (size_t i = 0; i < n; i++)
        p[i] = s > 0 ? p[i] / s : 1.0 / n;
}

//  Squared distance in units of each feature's spread (sc = 1 / variance).
static double
s_dist (const float *x, const double *c, const double *sc, size_t f)
{
    double s = 0;
    for (size_t d = 0; d < f; d++) {
        double e = x[d] - c[d];
        s += e * e * sc[d];
    }
    return s;
}

//  k-means++ seeding and a few Lloyd steps over (a sample of) the training
//  steps, in units of each feature's spread; sets mu, var, pi, A.
static void
s_init (hmm_t *self, const float *X, size_t nsteps, const double *gvar,
        const double *vfloor, rng_t *rng)
{
    size_t k = self->k, f = self->f, m = nsteps < 20000 ? nsteps : 20000;
    uint32_t *pick = xmalloc (m * sizeof *pick);
    for (size_t i = 0; i < m; i++)
        pick[i] = m == nsteps ? (uint32_t) i : (uint32_t) rng_below (rng, nsteps);
    double *d2 = xmalloc (m * sizeof *d2);
    uint32_t *who = xmalloc (m * sizeof *who);
    double *sc = xmalloc (f * sizeof *sc);
    for (size_t d = 0; d < f; d++)
        sc[d] = 1.0 / fmax (gvar[d], 1e-12);
    for (size_t c = 0; c < k; c++) {
        size_t p = rng_below (rng, m);
        if (c > 0) {
            double tot = 0;
            for (size_t i = 0; i < m; i++) {
                double best = INFINITY;
                for (size_t j = 0; j < c; j++)
                    best = fmin (best, s_dist (X + (size_t) pick[i] * f, self->mu + j * f, sc, f));
                tot += d2[i] = best;
            }
            if (tot > 0) {
                double u = rng_uniform (rng) * tot;
                for (p = 0; p + 1 < m && (u -= d2[p]) > 0; p++)
                    ;
            }
        }
        for (size_t d = 0; d < f; d++)
            self->mu[c * f + d] = X[(size_t) pick[p] * f + d];
    }
    double *cnt = xcalloc (k, sizeof *cnt);
    for (int it = 0; it < 10; it++) {
        for (size_t i = 0; i < m; i++) {
            double best = INFINITY;
            for (size_t c = 0; c < k; c++) {
                double e = s_dist (X + (size_t) pick[i] * f, self->mu + c * f, sc, f);
                if (e < best)
                    best = e, who[i] = (uint32_t) c;
            }
        }
        memset (cnt, 0, k * sizeof *cnt);
        double *sum = xcalloc (k * f, sizeof *sum);
        for (size_t i = 0; i < m; i++) {
            cnt[who[i]]++;
            for (size_t d = 0; d < f; d++)
                sum[who[i] * f + d] += X[(size_t) pick[i] * f + d];
        }
        for (size_t c = 0; c < k; c++)
            for (size_t d = 0; d < f && cnt[c] > 0; d++)
                self->mu[c * f + d] = sum[c * f + d] / cnt[c];
        free (sum);
    }
    double *ss = xcalloc (k * f, sizeof *ss);
    for (size_t i = 0; i < m; i++)
        for (size_t d = 0; d < f; d++) {
            double e = X[(size_t) pick[i] * f + d] - self->mu[who[i] * f + d];
            ss[who[i] * f + d] += e * e;
        }
    for (size_t c = 0; c < k; c++) {
        for (size_t d = 0; d < f; d++) {
            double v = cnt[c] >= 2 ? ss[c * f + d] / cnt[c] : gvar[d];
            self->var[c * f + d] = fmax (v, vfloor[d]);
        }
        self->pi[c] = 1.0 / k;
        for (size_t j = 0; j < k; j++)
            self->A[c * k + j] = k == 1 ? 1 : c == j ? 0.8 : 0.2 / (k - 1);
    }
    free (ss);
    free (cnt);
    free (sc);
    free (who);
    free (d2);
    free (pick);
}

hmm_t *
hmm_train (const float *X, size_t n, size_t w, size_t f, const hmm_opts_t *o,
           char *err)
{
    if (n == 0 || w == 0 || f == 0) {
        errf (err, "no training windows");
        return NULL;
    }
    if (o->states < 1 || o->states > 64 || o->iters < 0 || !(o->tol >= 0)
        || !(o->var_floor > 0) || !(o->trans_floor >= 0 && o->trans_floor < 0.5)) {
        errf (err, "bad model options");
        return NULL;
    }
    size_t k = (size_t) o->states, nsteps = n * w;
    for (size_t i = 0; i < nsteps * f; i++)
        if (!isfinite (X[i])) {
            errf (err, "window %zu: value %zu is not finite", i / (w * f) + 1,
                  i % (w * f) + 1);
            return NULL;
        }
    hmm_t *self = s_new (w, f, k);
    self->opts = *o;
    self->ntrain = n;
    //  per-feature variance over all steps (two passes, in double) -> floors
    double *gmean = xcalloc (f, sizeof (double)), *gvar = xcalloc (f, sizeof (double));
    double *vfloor = xcalloc (f, sizeof (double));
    for (size_t s = 0; s < nsteps; s++)
        for (size_t d = 0; d < f; d++)
            gmean[d] += X[s * f + d];
    for (size_t d = 0; d < f; d++)
        gmean[d] /= (double) nsteps;
    for (size_t s = 0; s < nsteps; s++)
        for (size_t d = 0; d < f; d++) {
            double e = X[s * f + d] - gmean[d];
            gvar[d] += e * e;
        }
    for (size_t d = 0; d < f; d++) {
        gvar[d] /= (double) nsteps;
        vfloor[d] = fmax (1e-6, o->var_floor * (gvar[d] > 0 ? gvar[d] : 1.0));
    }
    rng_t rng;
    rng_init (&rng, o->seed, 0);
    s_init (self, X, nsteps, gvar, vfloor, &rng);
    s_floor_norm (self->pi, k, o->trans_floor);
    for (size_t i = 0; i < k; i++)
        s_floor_norm (self->A + i * k, k, o->trans_floor);

    double *acc_pi = xmalloc (k * sizeof (double)), *acc_A = xmalloc (k * k * sizeof (double));
    double *acc_g = xmalloc (k * sizeof (double));
    double *acc_1 = xmalloc (k * f * sizeof (double)), *acc_2 = xmalloc (k * f * sizeof (double));
    self->trace = xcalloc ((size_t) o->iters + 1, sizeof (double));
    for (int it = 0; it < o->iters; it++) {
        s_prepare (self);
        memset (acc_pi, 0, k * sizeof (double));
        memset (acc_A, 0, k * k * sizeof (double));
        memset (acc_g, 0, k * sizeof (double));
        memset (acc_1, 0, k * f * sizeof (double));
        memset (acc_2, 0, k * f * sizeof (double));
        double ll = 0;
        for (size_t s = 0; s < n; s++) {
            const float *x = X + s * w * f;
            s_emissions (self, x, w);
            double l = s_forward (self, w);
            s_backward (self, w);
            ll += l;
            for (size_t t = 0; t < w; t++)
                for (size_t i = 0; i < k; i++) {
                    double g = exp (self->alpha[t * k + i] + self->beta[t * k + i] - l);
                    if (t == 0)
                        acc_pi[i] += g;
                    acc_g[i] += g;
                    for (size_t d = 0; d < f; d++) {
                        //  centred on the current mean against cancellation
                        double e = x[t * f + d] - self->mu[i * f + d];
                        acc_1[i * f + d] += g * e;
                        acc_2[i * f + d] += g * e * e;
                    }
                    if (t + 1 < w)
                        for (size_t j = 0; j < k; j++)
                            acc_A[i * k + j] += exp (self->alpha[t * k + i]
                                                     + self->logA[i * k + j]
                                                     + self->logb[(t + 1) * k + j]
                                                     + self->beta[(t + 1) * k + j] - l);
                }
        }
        self->trace[self->niter++] = ll / (double) nsteps;
        if (it > 0 && self->trace[it] - self->trace[it - 1] < o->tol)
            break;
        //  M-step (Rabiner eq. 40, 52, 53); a state with no weight keeps its
        //  parameters, a row with no transitions keeps its row
        for (size_t i = 0; i < k; i++) {
            self->pi[i] = acc_pi[i] / (double) n;
            double row = 0;
            for (size_t j = 0; j < k; j++)
                row += acc_A[i * k + j];
            if (row > 1e-300)
                for (size_t j = 0; j < k; j++)
                    self->A[i * k + j] = acc_A[i * k + j] / row;
            if (acc_g[i] > 1e-10)
                for (size_t d = 0; d < f; d++) {
                    double m1 = acc_1[i * f + d] / acc_g[i];
                    self->mu[i * f + d] += m1;
                    self->var[i * f + d] = fmax (acc_2[i * f + d] / acc_g[i] - m1 * m1,
                                                 vfloor[d]);
                }
        }
        s_floor_norm (self->pi, k, o->trans_floor);
        for (size_t i = 0; i < k; i++)
            s_floor_norm (self->A + i * k, k, o->trans_floor);
    }
    //  hold parameters at float32, as the file stores them
    for (size_t i = 0; i < k; i++) {
        self->pi[i] = (float) self->pi[i];
        for (size_t j = 0; j < k; j++)
            self->A[i * k + j] = (float) self->A[i * k + j];
        for (size_t d = 0; d < f; d++) {
            self->mu[i * f + d] = (float) self->mu[i * f + d];
            self->var[i * f + d] = (float) self->var[i * f + d];
        }
    }
    s_prepare (self);
    free (acc_pi), free (acc_A), free (acc_g), free (acc_1), free (acc_2);
    free (gmean), free (gvar), free (vfloor);
    return self;
}

size_t
hmm_window (const hmm_t *self)
{
    return self->w;
}

size_t
hmm_nfeat (const hmm_t *self)
{
    return self->f;
}

size_t
hmm_nstates (const hmm_t *self)
{
    return self->k;
}

const double *
hmm_trace (const hmm_t *self, size_t *n)
{
    *n = self->niter;
    return self->trace;
}

uint64_t
hmm_hash (const hmm_t *self)
{
    return self->hash;
}

static void
s_pack_dbl (msgpack_packer *pk, const char *key, const double *v, size_t n)
{
    float *tmp = xmalloc ((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float) v[i];
    mp_pack_kv_floats (pk, key, tmp, n);
    free (tmp);
}

static int
s_get_dbl (const msgpack_object *body, const char *key, double *out, size_t n)
{
    float *tmp = xmalloc ((n ? n : 1) * sizeof *tmp);
    int rc = mp_get_floats (body, key, tmp, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        out[i] = tmp[i];
        if (!isfinite (out[i]))
            rc = -1;
    }
    free (tmp);
    return rc;
}

int
hmm_save (hmm_t *self, const char *path, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 14);
    mp_pack_kv_u64 (&pk, "w", self->w);
    mp_pack_kv_u64 (&pk, "f", self->f);
    mp_pack_kv_u64 (&pk, "states", self->k);
    mp_pack_kv_u64 (&pk, "iters", self->niter);
    mp_pack_kv_double (&pk, "loglik", self->niter ? self->trace[self->niter - 1] : 0);
    mp_pack_kv_double (&pk, "var_floor", self->opts.var_floor);
    mp_pack_kv_double (&pk, "trans_floor", self->opts.trans_floor);
    mp_pack_kv_u64 (&pk, "seed", self->opts.seed);
    mp_pack_kv_u64 (&pk, "ntrain", self->ntrain);
    s_pack_dbl (&pk, "pi", self->pi, self->k);
    s_pack_dbl (&pk, "A", self->A, self->k * self->k);
    s_pack_dbl (&pk, "mu", self->mu, self->k * self->f);
    s_pack_dbl (&pk, "var", self->var, self->k * self->f);
    s_pack_dbl (&pk, "trace", self->trace, self->niter);
    int rc = mpfile_write (path, HMM_FORMAT, HMM_VERSION, sb.data, sb.size, err);
    if (rc == 0)
        self->hash = hash64 (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

hmm_t *
hmm_load (const char *path, char *err)
{
    mpfile_t *file = mpfile_read (path, HMM_FORMAT, HMM_VERSION, err);
    if (!file)
        return NULL;
    const msgpack_object *body = mpfile_body (file);
    hmm_t *self = NULL;
    uint64_t w, f, k;
    if (mp_get_u64 (body, "w", &w) || mp_get_u64 (body, "f", &f)
        || mp_get_u64 (body, "states", &k) || w == 0 || f == 0 || k == 0
        || w > 100000 || f > 100000 || k > 64) {
        errf (err, "'%s': missing or bad shape (w, f, states)", path);
        goto fail;
    }
    self = s_new (w, f, k);
    uint64_t u;
    double v;
    self->opts.states = (int) k;
    if (!mp_get_double (body, "var_floor", &v))
        self->opts.var_floor = v;
    if (!mp_get_double (body, "trans_floor", &v))
        self->opts.trans_floor = v;
    if (!mp_get_u64 (body, "seed", &u))
        self->opts.seed = u;
    mp_get_u64 (body, "ntrain", &self->ntrain);
    long nt = mp_count_floats (body, "trace");
    if (nt > 0 && nt < 100000) {
        self->trace = xcalloc ((size_t) nt, sizeof (double));
        if (s_get_dbl (body, "trace", self->trace, (size_t) nt) == 0)
            self->niter = (size_t) nt;
    }
    if (s_get_dbl (body, "pi", self->pi, k) || s_get_dbl (body, "A", self->A, k * k)
        || s_get_dbl (body, "mu", self->mu, k * f) || s_get_dbl (body, "var", self->var, k * f)) {
        errf (err, "'%s': parameters (pi, A, mu, var) missing, of the wrong size or not finite",
              path);
        goto fail;
    }
    for (size_t i = 0; i <= k; i++) {
        const double *p = i < k ? self->A + i * k : self->pi;
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += p[j] < 0 ? NAN : p[j];
        if (!(fabs (s - 1) < 1e-4)) {
            errf (err, "'%s': probabilities do not sum to 1", path);
            goto fail;
        }
    }
    for (size_t i = 0; i < k * f; i++)
        if (!(self->var[i] > 0)) {
            errf (err, "'%s': a variance is not positive", path);
            goto fail;
        }
    s_prepare (self);
    self->hash = mpfile_checksum (file);
    mpfile_destroy (&file);
    return self;
fail:
    hmm_destroy (&self);
    mpfile_destroy (&file);
    return NULL;
}

void
hmm_destroy (hmm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hmm_t *self = *self_p;
    free (self->pi), free (self->A), free (self->mu), free (self->var);
    free (self->logpi), free (self->logA), free (self->ivar), free (self->lnorm);
    free (self->logb), free (self->alpha), free (self->beta), free (self->trace);
    free (self);
    *self_p = NULL;
}

//  Reference for the test: p(x) summed over every state path, in linear
//  space, straight from the definition (no recursion shared with the code).
static double
s_brute_loglik (const hmm_t *m, const float *x, size_t T)
{
    size_t k = m->k, f = m->f, npaths = 1;
    for (size_t t = 0; t < T; t++)
        npaths *= k;
    double total = 0;
    for (size_t p = 0; p < npaths; p++) {
        size_t code = p, prev = 0;
        double prob = 1;
        for (size_t t = 0; t < T; t++, code /= k) {
            size_t s = code % k;
            prob *= t == 0 ? m->pi[s] : m->A[prev * k + s];
            for (size_t d = 0; d < f; d++) {
                double v = m->var[s * f + d], e = x[t * f + d] - m->mu[s * f + d];
                prob *= exp (-e * e / (2 * v)) / sqrt (2 * M_PI * v);
            }
            prev = s;
        }
        total += prob;
    }
    return log (total);
}

void
hmm_test (bool verbose)
{
    char err[ERRLEN];
    //  1. forward against the brute-force sum over all 3^5 state paths
    hmm_t *m = s_new (5, 2, 3);
    const double pi[] = {0.5, 0.3, 0.2}, A[] = {0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4};
    const double mu[] = {0, 0, 2, -1, -1, 3}, var[] = {1, 0.5, 0.25, 2, 1.5, 0.3};
    memcpy (m->pi, pi, sizeof pi), memcpy (m->A, A, sizeof A);
    memcpy (m->mu, mu, sizeof mu), memcpy (m->var, var, sizeof var);
    s_prepare (m);
    const float xs[] = {0.1f, 0.2f, 2.1f, -0.7f, 1.9f, -1.2f, -0.8f, 2.5f, 0.3f, 0.1f};
    double maxdiff = 0;
    for (size_t T = 1; T <= 5; T++) {
        double a = hmm_loglik (m, xs, T), b = s_brute_loglik (m, xs, T);
        maxdiff = fmax (maxdiff, fabs (a - b));
    }
    //  far-out values: the paths still sum to about 1e-152, no underflow yet
    const float far[] = {9, 9, -8, 7, 9, -9, 6, 6, -7, 8};
    double a = hmm_loglik (m, far, 5), b = s_brute_loglik (m, far, 5);
    assert (isfinite (b) && b < -300);
    maxdiff = fmax (maxdiff, fabs (a - b) / fabs (b) * 10);
    if (verbose)
        printf ("hmm: forward vs brute force, max |diff| %.3g\n", maxdiff);
    assert (maxdiff < 1e-9);
    hmm_score (m, far);
    assert (fabs (hmm_score (m, far) + a / 5) < 1e-12);
    hmm_destroy (&m);
    //  ... and where linear space underflows, log space does not
    m = s_new (200, 2, 3);
    memcpy (m->pi, pi, sizeof pi), memcpy (m->A, A, sizeof A);
    memcpy (m->mu, mu, sizeof mu), memcpy (m->var, var, sizeof var);
    s_prepare (m);
    float *lng = xmalloc (400 * sizeof (float));
    for (size_t i = 0; i < 400; i++)
        lng[i] = far[i % 10];
    assert (isfinite (hmm_score (m, lng)) && hmm_loglik (m, lng, 200) < -10000);
    free (lng);
    hmm_destroy (&m);

    //  2. Baum-Welch on sequences sampled from a known 2-state model: the
    //  likelihood never decreases and the means are recovered
    rng_t r;
    rng_init (&r, 11, 0);
    size_t n = 300, w = 12, f = 2;
    float *X = xmalloc (n * w * f * sizeof *X);
    const double tmu[2][2] = {{-2, 0}, {2, 1}};
    for (size_t s = 0; s < n; s++) {
        size_t st = rng_below (&r, 2);
        for (size_t t = 0; t < w; t++) {
            if (t > 0 && rng_uniform (&r) < 0.1)
                st = 1 - st;
            for (size_t d = 0; d < f; d++)
                X[(s * w + t) * f + d] = (float) (tmu[st][d] + 0.5 * rng_normal (&r));
        }
    }
    hmm_opts_t o;
    hmm_opts_default (&o);
    o.states = 2, o.tol = 0, o.iters = 30, o.trans_floor = 0, o.seed = 5;
    m = hmm_train (X, n, w, f, &o, err);
    assert (m);
    size_t nit;
    const double *tr = hmm_trace (m, &nit);
    assert (nit >= 2);
    for (size_t i = 1; i < nit; i++)
        assert (tr[i] >= tr[i - 1] - 1e-9 * fabs (tr[i - 1]));
    if (verbose)
        printf ("hmm: Baum-Welch %zu iterations, loglik/step %.4f -> %.4f\n", nit, tr[0],
                tr[nit - 1]);
    size_t lo = m->mu[0] < m->mu[f] ? 0 : 1;
    assert (fabs (m->mu[lo * f] + 2) < 0.1 && fabs (m->mu[(1 - lo) * f] - 2) < 0.1);
    assert (fabs (m->A[lo * 2 + lo] - 0.9) < 0.03);
    //  an out-of-model window (alternating every step) scores higher
    float odd[24];
    for (size_t t = 0; t < w; t++)
        odd[t * 2] = t % 2 ? 2 : -2, odd[t * 2 + 1] = t % 2 ? 1 : 0;
    assert (hmm_score (m, odd) > hmm_score (m, X) + 0.5);
    hmm_destroy (&m);
    //  more states than the data has: a longer climb, still monotone
    o.states = 4;
    m = hmm_train (X, n, w, f, &o, err);
    assert (m);
    tr = hmm_trace (m, &nit);
    assert (nit >= 10);
    for (size_t i = 1; i < nit; i++)
        assert (tr[i] >= tr[i - 1] - 1e-9 * fabs (tr[i - 1]));
    if (verbose)
        printf ("hmm: K=4 Baum-Welch %zu iterations, loglik/step %.4f -> %.4f\n", nit,
                tr[0], tr[nit - 1]);
    hmm_destroy (&m);
    //  with the default floors as well
    hmm_opts_default (&o);
    o.states = 3;
    m = hmm_train (X, n, w, f, &o, err);
    assert (m);
    tr = hmm_trace (m, &nit);
    for (size_t i = 1; i < nit; i++)
        assert (tr[i] >= tr[i - 1] - 1e-6);
    //  save / load: bit-identical scores
    char path[] = "/tmp/vigil-hmm-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    assert (hmm_save (m, path, err) == 0 && hmm_hash (m));
    hmm_t *m2 = hmm_load (path, err);
    assert (m2 && hmm_hash (m2) == hmm_hash (m) && hmm_window (m2) == w
            && hmm_nfeat (m2) == f && hmm_nstates (m2) == 3);
    for (size_t s = 0; s < 20; s++)
        assert (hmm_score (m2, X + s * w * f) == hmm_score (m, X + s * w * f));
    hmm_destroy (&m2);
    FILE *fp = fopen (path, "r+b");
    fseek (fp, -4, SEEK_END);
    fputc (0x7f, fp);
    fclose (fp);
    assert (!hmm_load (path, err) && strstr (err, "checksum"));
    assert (truncate (path, 25) == 0 && !hmm_load (path, err));
    unlink (path);
    hmm_destroy (&m);

    //  3. degenerate data: a constant feature, fewer steps than states
    for (size_t i = 0; i < n * w; i++)
        X[i * f + 1] = 3;
    o.states = 4;
    m = hmm_train (X, n, w, f, &o, err);
    assert (m && isfinite (hmm_score (m, X)));
    X[1] = 4;     //  off the constant: much less likely, still finite
    assert (isfinite (hmm_score (m, X)) && hmm_score (m, X) > hmm_score (m, X + w * f) + 1);
    hmm_destroy (&m);
    o.states = 8;
    m = hmm_train (X, 1, 2, f, &o, err);
    assert (m && isfinite (hmm_score (m, X)));
    hmm_destroy (&m);
    //  bad input
    X[3] = INFINITY;
    assert (!hmm_train (X, n, w, f, &o, err) && strstr (err, "not finite"));
    assert (!hmm_train (X, 0, w, f, &o, err));
    o.states = 0;
    assert (!hmm_train (X + 10, 5, w, f, &o, err));
    hmm_destroy (&m);
    free (X);
}
