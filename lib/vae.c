/*  vae: see vae.h.  The encoder and decoder are nn_mlp_t chains and the two
    heads plain dense layers, all bound into one parameter slab and one work
    slab at vae_new.  */
#include "vae.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _vae_t {
    vae_arch_t arch;
    size_t max_batch;
    size_t dout;                //  decoder output width: D, or 2D (Gaussian decoder)
    nn_params_t *params;        //  the slabs
    nn_mlp_t enc;               //  D -> h1 .. hk, act on every layer
    nn_dense_t mu_head;         //  hk -> L, linear
    nn_dense_t lv_head;         //  hk -> L, linear
    nn_mlp_t dec;               //  L -> hk .. h1 -> D, last layer linear
    float *work;                //  one slab for every buffer below and the MLPs'
    float *mu, *lv;             //  (max_batch, L) head outputs
    float *z, *eps;             //  (max_batch, L) latent sample and its noise
    float *dmu, *dlv, *dz;      //  (max_batch, L) gradients
    float *dh;                  //  (max_batch, hk) gradient at the encoder output
    float *dxhat;               //  (max_batch, dout) gradient at the decoder output
    float *err;                 //  (max_batch, D) squared error (scoring)
    float *recon;               //  (max_batch, D) reconstruction (scoring)
    const float *xhat;          //  decoder output of the last forward
    bool sampled;               //  last forward used eps (backward allowed)
    bool recon_is_xhat;         //  scoring by mu: the reconstruction is xhat
    const float *wt;            //  (D) weights of the squared errors in scoring, or NULL
};

int
vae_arch_check (const vae_arch_t *a, char *err)
{
    if (a->nin < 1 || a->nin > 1000000)
        return errf (err, "input width %zu out of range 1..1000000", a->nin);
    if (a->nhidden < 1 || a->nhidden > VAE_MAX_HIDDEN)
        return errf (err, "%zu hidden layers, expected 1..%d", a->nhidden, VAE_MAX_HIDDEN);
    for (size_t i = 0; i < a->nhidden; i++)
        if (a->hidden[i] < 1 || a->hidden[i] > 100000)
            return errf (err, "hidden width %zu out of range 1..100000", a->hidden[i]);
    if (a->nlatent < 1 || a->nlatent > 100000)
        return errf (err, "latent width %zu out of range 1..100000", a->nlatent);
    if ((unsigned) a->act > NN_TANH)
        return errf (err, "unknown activation");
    return 0;
}

//  Widths of the encoder (D, h1..hk) and decoder (L, hk..h1, D).
static size_t
s_enc_sizes (const vae_arch_t *a, size_t *s)
{
    s[0] = a->nin;
    for (size_t i = 0; i < a->nhidden; i++)
        s[i + 1] = a->hidden[i];
    return a->nhidden + 1;
}

static size_t
s_dec_sizes (const vae_arch_t *a, size_t *s)
{
    s[0] = a->nlatent;
    for (size_t i = 0; i < a->nhidden; i++)
        s[i + 1] = a->hidden[a->nhidden - 1 - i];
    s[a->nhidden + 1] = a->gauss ? 2 * a->nin : a->nin;
    return a->nhidden + 2;
}

size_t
vae_nparams (const vae_arch_t *a)
{
    size_t es[VAE_MAX_HIDDEN + 2], ds[VAE_MAX_HIDDEN + 2];
    size_t ne = s_enc_sizes (a, es), nd = s_dec_sizes (a, ds);
    size_t hk = a->hidden[a->nhidden - 1];
    return nn_mlp_size (es, ne) + 2 * nn_dense_size (hk, a->nlatent) + nn_mlp_size (ds, nd);
}

double
vae_forward_flops (const vae_arch_t *a)
{
    size_t es[VAE_MAX_HIDDEN + 2], ds[VAE_MAX_HIDDEN + 2];
    size_t ne = s_enc_sizes (a, es), nd = s_dec_sizes (a, ds);
    double macs = (double) a->hidden[a->nhidden - 1] * a->nlatent;
    for (size_t i = 0; i + 1 < ne; i++)
        macs += (double) es[i] * es[i + 1];
    for (size_t i = 0; i + 1 < nd; i++)
        macs += (double) ds[i] * ds[i + 1];
    return 2 * macs;
}

vae_t *
vae_new (const vae_arch_t *arch, size_t max_batch, char *err)
{
    if (vae_arch_check (arch, err))
        return NULL;
    if (max_batch < 1)
        max_batch = 1;
    vae_t *self = xcalloc (1, sizeof *self);
    self->arch = *arch;
    self->max_batch = max_batch;
    size_t es[VAE_MAX_HIDDEN + 2], ds[VAE_MAX_HIDDEN + 2];
    size_t ne = s_enc_sizes (arch, es), nd = s_dec_sizes (arch, ds);
    size_t D = arch->nin, L = arch->nlatent, hk = arch->hidden[arch->nhidden - 1];
    size_t B = max_batch;
    self->params = nn_params_new (vae_nparams (arch));

    size_t enc_w = nn_mlp_work (es, ne, B), dec_w = nn_mlp_work (ds, nd, B);
    self->dout = ds[nd - 1];
    size_t nwork = enc_w + dec_w + 7 * B * L + B * hk + B * self->dout + 2 * B * D;
    self->work = xcalloc (nwork, sizeof (float));

    float *p = self->params->p, *g = self->params->g, *w = self->work;
    nn_mlp_bind (&self->enc, es, ne, arch->act, arch->act, p, g, w, B);
    p += nn_mlp_size (es, ne), g += nn_mlp_size (es, ne), w += enc_w;
    nn_dense_bind (&self->mu_head, hk, L, NN_LINEAR, p, g);
    p += nn_dense_size (hk, L), g += nn_dense_size (hk, L);
    nn_dense_bind (&self->lv_head, hk, L, NN_LINEAR, p, g);
    p += nn_dense_size (hk, L), g += nn_dense_size (hk, L);
    nn_mlp_bind (&self->dec, ds, nd, arch->act, NN_LINEAR, p, g, w, B);
    p += nn_mlp_size (ds, nd);
    assert (p == self->params->p + self->params->n);
    w += dec_w;
    float **bl[] = {&self->mu, &self->lv, &self->z, &self->eps,
                    &self->dmu, &self->dlv, &self->dz};
    for (size_t i = 0; i < 7; i++)
        *bl[i] = w, w += B * L;
    self->dh = w, w += B * hk;
    self->dxhat = w, w += B * self->dout;
    self->err = w, w += B * D;
    self->recon = w, w += B * D;
    assert (w == self->work + nwork);
    self->xhat = self->dec.out[self->dec.nlayers - 1];
    return self;
}

void
vae_destroy (vae_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vae_t *self = *self_p;
    nn_params_destroy (&self->params);
    free (self->work);
    free (self);
    *self_p = NULL;
}

void
vae_init (vae_t *self, rng_t *rng)
{
    nn_mlp_init (&self->enc, rng);
    nn_dense_init (&self->mu_head, rng);
    nn_dense_init (&self->lv_head, rng);
    nn_mlp_init (&self->dec, rng);
    nn_params_reset_adam (self->params);
}

const vae_arch_t *
vae_arch (const vae_t *self)
{
    return &self->arch;
}

size_t
vae_max_batch (const vae_t *self)
{
    return self->max_batch;
}

nn_params_t *
vae_params (vae_t *self)
{
    return self->params;
}

static inline float
s_clamp_lv (float v)
{
    return v > VAE_LOGVAR_MAX ? VAE_LOGVAR_MAX : v < -VAE_LOGVAR_MAX ? -VAE_LOGVAR_MAX : v;
}

//  The decoder's log-variance, clamped.
static inline float
s_clamp_dlv (float v)
{
    return v > VAE_DEC_LV_MAX ? VAE_DEC_LV_MAX : v < VAE_DEC_LV_MIN ? VAE_DEC_LV_MIN : v;
}

//  Encoder and heads: fills mu and (unless scoring by mu) lv.
static void
s_encode (vae_t *self, const float *x, size_t n, bool logvar)
{
    const float *h = nn_mlp_forward (&self->enc, x, n);
    nn_dense_forward (&self->mu_head, h, self->mu, n);
    if (logvar)
        nn_dense_forward (&self->lv_head, h, self->lv, n);
}

//  z from mu, lv and eps (NULL: z = mu), then the decoder.
static void
s_decode (vae_t *self, size_t n, const float *eps)
{
    size_t L = self->arch.nlatent;
    const float *zin = self->mu;
    if (eps) {
        for (size_t i = 0; i < n * L; i++)
            self->z[i] = self->mu[i] + expf (0.5f * s_clamp_lv (self->lv[i])) * eps[i];
        zin = self->z;
    }
    else
        memcpy (self->z, self->mu, n * L * sizeof (float));
    self->xhat = nn_mlp_forward (&self->dec, zin, n);
}

void
vae_forward (vae_t *self, const float *x, size_t n, const float *eps)
{
    assert (n <= self->max_batch);
    s_encode (self, x, n, true);
    if (eps && eps != self->eps)
        memcpy (self->eps, eps, n * self->arch.nlatent * sizeof (float));
    s_decode (self, n, eps ? self->eps : NULL);
    self->sampled = eps != NULL;
}

//  KL(N(mu, exp lv) || N(0, I)) of row i.
static double
s_kl_row (const vae_t *self, size_t i)
{
    size_t L = self->arch.nlatent;
    const float *mu = self->mu + i * L, *lv = self->lv + i * L;
    double kl = 0;
    for (size_t j = 0; j < L; j++) {
        double v = s_clamp_lv (lv[j]);
        kl += -0.5 * (1 + v - (double) mu[j] * mu[j] - exp (v));
    }
    return kl;
}

void
vae_loss (vae_t *self, const float *x, size_t n, double beta, vae_loss_t *out)
{
    size_t D = self->arch.nin;
    double recon = 0, kl = 0;
    if (self->arch.gauss)
        for (size_t i = 0; i < n; i++) {
            const float *o = self->xhat + i * 2 * D, *xr = x + i * D;
            for (size_t d = 0; d < D; d++) {
                double e = (double) o[d] - xr[d], lv = s_clamp_dlv (o[D + d]);
                recon += 0.5 * (e * e * exp (-lv) + lv);
            }
        }
    else
        for (size_t i = 0; i < n * D; i++) {
            double d = (double) self->xhat[i] - x[i];
            recon += d * d;
        }
    for (size_t i = 0; i < n; i++)
        kl += s_kl_row (self, i);
    out->recon = n ? recon / n : 0;
    out->kl = n ? kl / n : 0;
    out->loss = out->recon + beta * out->kl;
}

void
vae_backward (vae_t *self, const float *x, size_t n, double beta)
{
    assert (self->sampled);
    if (n == 0)
        return;
    size_t D = self->arch.nin, L = self->arch.nlatent;
    if (self->arch.gauss) {
        //  d/dmean = (mean - x) / s^2, d/dlog s^2 = (1 - (x - mean)^2 / s^2) / 2
        float inv = 1.0f / (float) n;
        for (size_t i = 0; i < n; i++) {
            const float *o = self->xhat + i * 2 * D, *xr = x + i * D;
            float *g = self->dxhat + i * 2 * D;
            for (size_t d = 0; d < D; d++) {
                float e = o[d] - xr[d], raw = o[D + d];
                float iv = expf (-s_clamp_dlv (raw));
                g[d] = inv * e * iv;
                g[D + d] = raw >= VAE_DEC_LV_MIN && raw <= VAE_DEC_LV_MAX
                         ? inv * 0.5f * (1 - e * e * iv) : 0;
            }
        }
    }
    else {
        float s = 2.0f / (float) n;
        for (size_t i = 0; i < n * D; i++)
            self->dxhat[i] = s * (self->xhat[i] - x[i]);
    }
    nn_mlp_backward (&self->dec, self->z, self->dxhat, self->dz, n);
    float bn = (float) (beta / (double) n);
    for (size_t i = 0; i < n * L; i++) {
        float lv = self->lv[i];
        bool inside = lv >= -VAE_LOGVAR_MAX && lv <= VAE_LOGVAR_MAX;
        float sigma = expf (0.5f * s_clamp_lv (lv));
        self->dmu[i] = self->dz[i] + bn * self->mu[i];
        self->dlv[i] = inside ? self->dz[i] * 0.5f * sigma * self->eps[i]
                                    + bn * 0.5f * (sigma * sigma - 1)
                              : 0;
    }
    const float *h = self->enc.out[self->enc.nlayers - 1];
    nn_dense_backward (&self->mu_head, h, self->mu, self->dmu, self->dh, false, n);
    nn_dense_backward (&self->lv_head, h, self->lv, self->dlv, self->dh, true, n);
    nn_mlp_backward (&self->enc, x, self->dh, NULL, n);
}

const float *
vae_mu (const vae_t *self)
{
    return self->mu;
}

const float *
vae_logvar (const vae_t *self)
{
    return self->lv;
}

const float *
vae_z (const vae_t *self)
{
    return self->z;
}

const float *
vae_xhat (const vae_t *self)
{
    return self->xhat;
}

static void
s_draw (vae_t *self, size_t n, rng_t *rng)
{
    for (size_t i = 0; i < n * self->arch.nlatent; i++)
        self->eps[i] = (float) rng_normal (rng);
}

void
vae_train_step (vae_t *self, const float *x, size_t n, double beta, rng_t *rng,
                const nn_adam_t *opt, vae_loss_t *out)
{
    s_draw (self, n, rng);
    vae_forward (self, x, n, self->eps);
    vae_loss (self, x, n, beta, out);
    nn_params_zero_grad (self->params);
    vae_backward (self, x, n, beta);
    nn_adam_step (self->params, opt);
}

void
vae_eval (vae_t *self, const float *x, size_t n, double beta, rng_t *rng, vae_loss_t *out)
{
    if (rng)
        s_draw (self, n, rng);
    vae_forward (self, x, n, rng ? self->eps : NULL);
    vae_loss (self, x, n, beta, out);
}

//  Error of element d of a window against its decoder output row o: the
//  squared error of the mean, or (nll) the offset negative log-likelihood.
static inline float
s_elem_err (const vae_t *self, bool nll, float x, const float *o, size_t d)
{
    float e = x - o[d];
    if (!nll)
        return e * e;
    float lv = s_clamp_dlv (o[self->arch.nin + d]);
    return 0.5f * (e * e * expf (-lv) + lv - VAE_DEC_LV_MIN);
}

//  Squared errors of row i against a unit-variance decoding: eight float
//  lanes (vectorisable), each a short partial sum, added in double.
static double
s_sse_row (vae_t *self, const float *xr, const float *hr, float *er)
{
    size_t D = self->arch.nin, d = 0;
    const float *wt = self->wt;
    float lane[8] = {0};
    if (wt)
        for (; d + 8 <= D; d += 8)
            for (size_t k = 0; k < 8; k++) {
                float e = xr[d + k] - hr[d + k];
                er[d + k] = e * e * wt[d + k];
                lane[k] += er[d + k];
            }
    else
        for (; d + 8 <= D; d += 8)
            for (size_t k = 0; k < 8; k++) {
                float e = xr[d + k] - hr[d + k];
                er[d + k] = e * e;
                lane[k] += e * e;
            }
    double s = 0;
    for (; d < D; d++) {
        float e = xr[d] - hr[d];
        er[d] = e * e * (wt ? wt[d] : 1.0f);
        s += er[d];
    }
    for (size_t k = 0; k < 8; k++)
        s += lane[k];
    return s;
}

void
vae_score (vae_t *self, const float *x, size_t n, vae_score_t mode, size_t nsamples,
           rng_t *rng, double *score)
{
    assert (n <= self->max_batch);
    size_t D = self->arch.nin, O = self->dout;
    bool by_mu = mode == VAE_SCORE_MU || mode == VAE_SCORE_SSE;
    bool nll = self->arch.gauss && mode != VAE_SCORE_SSE;
    const float *wt = self->wt;
    s_encode (self, x, n, !by_mu);
    if (by_mu) {
        s_decode (self, n, NULL);
        for (size_t i = 0; i < n; i++) {
            const float *xr = x + i * D, *o = self->xhat + i * O;
            float *er = self->err + i * D;
            if (!nll) {
                score[i] = s_sse_row (self, xr, o, er);
                continue;
            }
            double s = 0;
            for (size_t d = 0; d < D; d++) {
                er[d] = s_elem_err (self, true, xr[d], o, d) * (wt ? wt[d] : 1.0f);
                s += er[d];
            }
            score[i] = s;
        }
        //  The reconstruction is the decoder output itself unless it also
        //  holds log-variances.
        self->recon_is_xhat = O == D;
        for (size_t i = 0; O != D && i < n; i++)
            memcpy (self->recon + i * D, self->xhat + i * O, D * sizeof (float));
    }
    else {
        assert (rng && nsamples >= 1);
        self->recon_is_xhat = false;
        memset (self->err, 0, n * D * sizeof (float));
        memset (self->recon, 0, n * D * sizeof (float));
        float inv = 1.0f / (float) nsamples;
        for (size_t l = 0; l < nsamples; l++) {
            s_draw (self, n, rng);
            s_decode (self, n, self->eps);
            for (size_t i = 0; i < n; i++) {
                const float *o = self->xhat + i * O;
                for (size_t d = 0; d < D; d++) {
                    float e = s_elem_err (self, nll, x[i * D + d], o, d);
                    self->err[i * D + d] += inv * e * (wt ? wt[d] : 1.0f);
                    self->recon[i * D + d] += inv * o[d];
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t d = 0; d < D; d++)
                s += self->err[i * D + d];
            score[i] = mode == VAE_SCORE_ELBO ? s + s_kl_row (self, i) : s;
        }
    }
    self->sampled = false;
}

void
vae_set_weights (vae_t *self, const float *weights)
{
    self->wt = weights;
}

const float *
vae_recon (const vae_t *self)
{
    return self->recon_is_xhat ? self->xhat : self->recon;
}

const float *
vae_err (const vae_t *self)
{
    return self->err;
}

int
vae_parse_hidden (const char *s, vae_arch_t *arch, char *err)
{
    size_t n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol (p, &end, 10);
        if (end == p || v < 1 || v > 100000 || (*end && *end != ','))
            return errf (err, "'%s' is not a list of widths such as 64,32", s);
        if (n == VAE_MAX_HIDDEN)
            return errf (err, "at most %d hidden layers", VAE_MAX_HIDDEN);
        arch->hidden[n++] = (size_t) v;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return errf (err, "'%s' is not a list of widths such as 64,32", s);
    }
    if (n == 0)
        return errf (err, "no hidden widths given");
    arch->nhidden = n;
    return 0;
}

static const char *s_score_names[] = {"mu", "samples", "elbo", "sse"};

const char *
vae_score_name (vae_score_t mode)
{
    assert ((unsigned) mode < 4);
    return s_score_names[mode];
}

int
vae_score_parse (const char *name, vae_score_t *mode)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp (name, s_score_names[i])) {
            *mode = (vae_score_t) i;
            return 0;
        }
    return -1;
}

//  --------------------------------------------------------------------------
//  Self-test.
//  Reference vectors from PyTorch (tests/ref/gen_vae_ref.py), a naive
//  double-precision VAE for finite differences, and a small training run.
#include "../tests/ref/vae_ref.h"
#include "metrics.h"

//  Worst element of |a - b| against atol + rtol |b|, as numpy.allclose;
//  returns the largest absolute difference, *ok cleared on a miss.
static double
s_close (const char *what, const float *a, const double *b, size_t n, double atol,
         double rtol, bool verbose, bool *ok)
{
    double maxd = 0;
    bool good = true;
    for (size_t i = 0; i < n; i++) {
        double d = fabs (a[i] - b[i]);
        maxd = fmax (maxd, d);
        if (!(d <= atol + rtol * fabs (b[i])))
            good = false;
    }
    if (verbose || !good)
        printf ("vae: %-22s max abs diff %.3g (atol %.0e, rtol %.0e)%s\n", what, maxd, atol,
                rtol, good ? "" : "  FAILED");
    *ok &= good;
    return maxd;
}

static float *
s_f32 (const double *v, size_t n)
{
    float *f = xmalloc (n * sizeof (float));
    for (size_t i = 0; i < n; i++)
        f[i] = (float) v[i];
    return f;
}

static bool
s_test_ref (const vae_ref_t *c, bool verbose)
{
    vae_arch_t a = {.nin = c->D, .nhidden = c->nhidden, .nlatent = c->L, .gauss = c->gauss};
    for (size_t i = 0; i < c->nhidden; i++)
        a.hidden[i] = c->hidden[i];
    assert (nn_act_parse (c->act, &a.act) == 0);
    vae_t *v = vae_new (&a, c->n, NULL);
    assert (v && vae_nparams (&a) == c->nparams);
    nn_params_t *P = vae_params (v);
    for (size_t i = 0; i < P->n; i++)
        P->p[i] = (float) c->p0[i];
    float *x = s_f32 (c->x, c->n * c->D), *eps = s_f32 (c->eps, c->n * c->L);
    bool ok = true;
    if (verbose)
        printf ("vae: reference case '%s' (%s)\n", c->tag, c->act);
    vae_forward (v, x, c->n, eps);
    size_t nl = c->n * c->L, nd = c->n * c->D * (c->gauss ? 2 : 1);
    s_close ("mu", vae_mu (v), c->mu, nl, 1e-5, 1e-4, verbose, &ok);
    s_close ("logvar", vae_logvar (v), c->logvar, nl, 1e-5, 1e-4, verbose, &ok);
    s_close ("z", vae_z (v), c->z, nl, 1e-5, 1e-4, verbose, &ok);
    s_close ("xhat", vae_xhat (v), c->xhat, nd, 1e-5, 1e-4, verbose, &ok);
    vae_loss_t l;
    vae_loss (v, x, c->n, c->beta, &l);
    float lf[3] = {(float) l.loss, (float) l.recon, (float) l.kl};
    double lr[3] = {c->loss, c->recon, c->kl};
    s_close ("loss, recon, kl", lf, lr, 3, 1e-5, 1e-5, verbose, &ok);
    nn_params_zero_grad (P);
    vae_backward (v, x, c->n, c->beta);
    s_close ("gradients", P->g, c->grads, P->n, 1e-5, 1e-4, verbose, &ok);
    nn_adam_t opt = {.lr = c->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                     .weight_decay = c->weight_decay, .clip = c->clip};
    for (size_t s = 0; s < c->steps; s++) {
        vae_forward (v, x, c->n, eps);
        nn_params_zero_grad (P);
        vae_backward (v, x, c->n, c->beta);
        nn_adam_step (P, &opt);
    }
    s_close ("params after adam", P->p, c->p1, P->n, 1e-5, 1e-4, verbose, &ok);
    free (x);
    free (eps);
    vae_destroy (&v);
    return ok;
}

//  Naive double forward of the same network: mean (SSE + beta KL).
static double
s_naive_dense (const nn_dense_t *l, const float *base, const double *pw, const double *in,
               double *out, size_t n)
{
    const double *w = pw + (l->w - base), *b = pw + (l->b - base);
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < l->nout; j++) {
            double s = b[j];
            for (size_t i = 0; i < l->nin; i++)
                s += in[r * l->nin + i] * w[j * l->nin + i];
            out[r * l->nout + j] = l->act == NN_RELU ? (s > 0 ? s : 0)
                                 : l->act == NN_TANH ? tanh (s) : s;
        }
    return 0;
}

static double
s_naive_loss (const vae_t *v, const double *pw, const double *x, const float *eps,
              size_t n, double beta)
{
    enum { MAXW = 64 * 16 };
    double a[MAXW], b[MAXW], mu[MAXW], lv[MAXW], z[MAXW];
    const float *base = v->params->p;
    const double *in = x;
    double *out = a;
    for (size_t k = 0; k < v->enc.nlayers; k++) {
        s_naive_dense (&v->enc.layer[k], base, pw, in, out, n);
        in = out, out = out == a ? b : a;
    }
    s_naive_dense (&v->mu_head, base, pw, in, mu, n);
    s_naive_dense (&v->lv_head, base, pw, in, lv, n);
    double kl = 0;
    for (size_t i = 0; i < n * v->arch.nlatent; i++) {
        z[i] = mu[i] + exp (0.5 * lv[i]) * eps[i];
        kl += -0.5 * (1 + lv[i] - mu[i] * mu[i] - exp (lv[i]));
    }
    in = z;
    for (size_t k = 0; k < v->dec.nlayers; k++) {
        s_naive_dense (&v->dec.layer[k], base, pw, in, out, n);
        in = out, out = out == a ? b : a;
    }
    double sse = 0;
    size_t D = v->arch.nin;
    for (size_t i = 0; i < n * D; i++) {
        if (!v->arch.gauss) {
            sse += (in[i] - x[i]) * (in[i] - x[i]);
            continue;
        }
        const double *o = in + (i / D) * 2 * D;
        double e = o[i % D] - x[i], lv = fmin (fmax (o[D + i % D], VAE_DEC_LV_MIN), VAE_DEC_LV_MAX);
        sse += 0.5 * (e * e * exp (-lv) + lv);
    }
    return (sse + beta * kl) / n;
}

static void
s_test_fd (nn_act_t act, bool gauss, bool verbose)
{
    vae_arch_t a = {.nin = 9, .nhidden = 2, .hidden = {7, 5}, .nlatent = 3, .act = act,
                    .gauss = gauss};
    size_t n = 4;
    vae_t *v = vae_new (&a, n, NULL);
    rng_t rng;
    rng_init (&rng, 7, act);
    vae_init (v, &rng);
    nn_params_t *P = vae_params (v);
    float x[4 * 9], eps[4 * 3];
    double xd[4 * 9];
    for (size_t i = 0; i < n * a.nin; i++)
        xd[i] = x[i] = (float) rng_normal (&rng);
    for (size_t i = 0; i < n * a.nlatent; i++)
        eps[i] = (float) rng_normal (&rng);
    double beta = 0.7;
    vae_forward (v, x, n, eps);
    vae_loss_t l;
    vae_loss (v, x, n, beta, &l);
    nn_params_zero_grad (P);
    vae_backward (v, x, n, beta);
    double *pw = xmalloc (P->n * sizeof (double));
    for (size_t i = 0; i < P->n; i++)
        pw[i] = P->p[i];
    double l0 = s_naive_loss (v, pw, xd, eps, n, beta);
    double h = 1e-6, maxrel = 0;
    for (size_t i = 0; i < P->n; i++) {
        double keep = pw[i];
        pw[i] = keep + h;
        double lp = s_naive_loss (v, pw, xd, eps, n, beta);
        pw[i] = keep - h;
        double lm = s_naive_loss (v, pw, xd, eps, n, beta);
        pw[i] = keep;
        double fd = (lp - lm) / (2 * h);
        maxrel = fmax (maxrel, fabs (fd - P->g[i]) / fmax (1e-2, fabs (fd)));
    }
    if (verbose)
        printf ("vae: %s%s: loss %.6f vs naive double %.6f; backward vs central "
                "differences: max rel diff %.3g (tolerance 1e-3)\n",
                nn_act_name (act), gauss ? ", Gaussian decoder" : "", l.loss, l0, maxrel);
    assert (fabs (l.loss - l0) < 1e-4 * fabs (l0));
    assert (maxrel < 1e-3);
    free (pw);
    vae_destroy (&v);
}

//  Windows of a smooth low-rank signal: W steps x F fields driven by 2
//  factors, plus noise; `spike` adds one large deviation.
static void
s_synth (rng_t *r, float *x, size_t W, size_t F, bool spike)
{
    double a = rng_normal (r), b = rng_normal (r);
    for (size_t w = 0; w < W; w++)
        for (size_t f = 0; f < F; f++)
            x[w * F + f] = (float) (a * sin (0.3 * w + f) + b * cos (0.5 * f) * 0.8
                                    + 0.1 * rng_normal (r));
    if (spike)
        x[rng_below (r, W * F)] += (float) (rng_uniform (r) < 0.5 ? 4 : -4);
}

static void
s_test_train (bool gauss, bool verbose)
{
    size_t W = 6, F = 4, D = W * F, ntr = 2000, nva = 400, B = 64;
    vae_arch_t a = {.nin = D, .nhidden = 1, .hidden = {16}, .nlatent = 3, .act = NN_TANH,
                    .gauss = gauss};
    const char *dec = gauss ? ", Gaussian decoder" : "";
    vae_t *v = vae_new (&a, B, NULL);
    rng_t r;
    rng_init (&r, 11, 0);
    vae_init (v, &r);
    float *tr = xmalloc (ntr * D * sizeof (float)), *va = xmalloc (nva * D * sizeof (float));
    for (size_t i = 0; i < ntr; i++)
        s_synth (&r, tr + i * D, W, F, false);
    for (size_t i = 0; i < nva; i++)
        s_synth (&r, va + i * D, W, F, false);
    nn_adam_t opt = nn_adam_defaults ();
    opt.lr = 3e-3;
    double val[2];
    for (int epoch = 0; epoch <= 15; epoch++) {
        if (epoch > 0)
            for (size_t i = 0; i + B <= ntr; i += B) {
                vae_loss_t l;
                vae_train_step (v, tr + i * D, B, 1.0, &r, &opt, &l);
            }
        if (epoch == 0 || epoch == 15) {
            double s = 0;
            for (size_t i = 0; i < nva; i += B) {
                size_t n = nva - i < B ? nva - i : B;
                vae_loss_t l;
                vae_eval (v, va + i * D, n, 1.0, NULL, &l);
                s += l.loss * n;
            }
            val[epoch ? 1 : 0] = s / nva;
        }
    }
    if (verbose)
        printf ("vae: training on synthetic windows%s: validation loss %.3f -> %.3f\n", dec,
                val[0], val[1]);
    assert (val[1] < val[0] - 0.5 * fabs (val[0]));

    //  Anomalies score higher: 32 normal and 32 spiked windows, all modes.
    float x[64 * 24];
    uint8_t lab[64];
    for (size_t i = 0; i < 64; i++) {
        lab[i] = i % 2;
        s_synth (&r, x + i * D, W, F, lab[i]);
    }
    double score[64], s2[64];
    for (int m = 0; m < 4; m++) {
        vae_score (v, x, 64, (vae_score_t) m, 8, &r, score);
        double auc = metrics_roc_auc (score, lab, 64);
        if (verbose)
            printf ("vae: score '%s'%s: ROC AUC spiked vs normal %.3f\n",
                    vae_score_name ((vae_score_t) m), dec, auc);
        assert (auc > 0.95);
        for (size_t i = 0; i < 64; i++) {
            double s = 0;
            for (size_t d = 0; d < D; d++)
                s += vae_err (v)[i * D + d];
            assert (s >= 0);
            assert (m == VAE_SCORE_ELBO ? score[i] > s : fabs (score[i] - s) < 1e-3 * s);
        }
    }
    //  By mu: Eq. 5 on the decoding of mu (sse; mu too for a unit decoder) or
    //  the Gaussian negative log-likelihood offset by -1/2 VAE_DEC_LV_MIN per
    //  value, computed here in double; deterministic.
    for (int m = 0; m < 2; m++) {
        vae_score_t mode = m ? VAE_SCORE_SSE : VAE_SCORE_MU;
        vae_score (v, x, 64, mode, 1, NULL, score);
        vae_forward (v, x, 64, NULL);
        size_t O = gauss ? 2 * D : D;
        for (size_t i = 0; i < 64; i++) {
            double s = 0;
            for (size_t d = 0; d < D; d++) {
                const float *o = vae_xhat (v) + i * O;
                double e = x[i * D + d] - o[d];
                if (gauss && mode == VAE_SCORE_MU) {
                    double lv = fmin (fmax (o[D + d], VAE_DEC_LV_MIN), VAE_DEC_LV_MAX);
                    s += 0.5 * (e * e / exp (lv) + lv - VAE_DEC_LV_MIN);
                }
                else
                    s += e * e;
                assert (vae_recon (v)[i * D + d] == o[d]);
            }
            assert (fabs (score[i] - s) <= 1e-5 * s);
        }
        vae_score (v, x, 64, mode, 1, NULL, s2);
        assert (memcmp (score, s2, sizeof score) == 0);
    }
    free (tr);
    free (va);
    vae_destroy (&v);
}

void
vae_test (bool verbose)
{
    char err[ERRLEN];
    vae_arch_t bad = {.nin = 4, .nhidden = 0, .nlatent = 2};
    assert (!vae_new (&bad, 8, err) && strstr (err, "hidden"));
    bad.nhidden = 1, bad.hidden[0] = 3, bad.nlatent = 0;
    assert (vae_arch_check (&bad, err) == -1 && strstr (err, "latent"));
    vae_arch_t h = {0};
    assert (vae_parse_hidden ("64,32", &h, err) == 0 && h.nhidden == 2 && h.hidden[1] == 32);
    assert (vae_parse_hidden ("64,", &h, err) == -1 && vae_parse_hidden ("", &h, err) == -1);
    assert (vae_parse_hidden ("8,x", &h, err) == -1 && vae_parse_hidden ("0", &h, err) == -1);
    vae_score_t m;
    assert (vae_score_parse ("elbo", &m) == 0 && m == VAE_SCORE_ELBO);
    assert (vae_score_parse ("x", &m) == -1);
    assert (vae_score_parse ("sse", &m) == 0 && m == VAE_SCORE_SSE);
    vae_arch_t g = {.nin = 10, .nhidden = 1, .hidden = {4}, .nlatent = 2, .gauss = true};
    assert (vae_nparams (&g) == 10 * 4 + 4 + 2 * (4 * 2 + 2) + 2 * 4 + 4 + 4 * 20 + 20);
    vae_arch_t a = {.nin = 140, .nhidden = 2, .hidden = {64, 32}, .nlatent = 8};
    assert (vae_forward_flops (&a) == 2.0 * (140 * 64 + 64 * 32 + 32 * 8 + 8 * 32 + 32 * 64 + 64 * 140));
    assert (vae_nparams (&a) == 140 * 64 + 64 + 64 * 32 + 32 + 2 * (32 * 8 + 8)
                                    + 8 * 32 + 32 + 32 * 64 + 64 + 64 * 140 + 140);

    if (verbose)
        printf ("vae: reference vectors %s version %d, %zu cases\n", VAE_REF_MAGIC,
                VAE_REF_VERSION, sizeof vae_ref_cases / sizeof vae_ref_cases[0]);
    assert (VAE_REF_VERSION == 2);
    bool ok = true;
    for (size_t i = 0; i < sizeof vae_ref_cases / sizeof vae_ref_cases[0]; i++)
        ok &= s_test_ref (&vae_ref_cases[i], verbose);
    assert (ok);
    s_test_fd (NN_TANH, false, verbose);
    s_test_fd (NN_RELU, false, verbose);
    s_test_fd (NN_TANH, true, verbose);
    s_test_fd (NN_RELU, true, verbose);
    s_test_train (false, verbose);
    s_test_train (true, verbose);
    if (verbose)
        printf ("vae: ok\n");
}
