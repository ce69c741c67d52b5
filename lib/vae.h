/*  vae: the variational autoencoder of the paper (Eq. 1-5, Algorithm 1) on
    the nn core.

        encoder   x (D) -> h1 -> ... -> hk            dense + act on each
        heads     hk -> mu (L),  hk -> log sigma^2 (L)   linear     (Eq. 1)
        sample    z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)     (Eq. 2)
        decoder   z (L) -> hk -> ... -> h1 -> x^ (D)  act, last linear (Eq. 3)
        loss      mean over the batch of
                  ||x - x^||^2 + beta * KL(N(mu, sigma^2) || N(0, I))  (Eq. 4)
                  KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))
        score     ||x - x^||^2 (Eq. 5) on the decoding of mu (default), or
                  the mean over L samples of z, or the negative ELBO
                  (mean SSE over L samples + KL, beta = 1)

    The squared error is the Gaussian log-likelihood of Eq. 4 up to constants
    (unit variance, times 2), the form Eq. 5 scores with.

    A Gaussian decoder (arch.gauss) outputs a mean and a log-variance per
    element, 2D values: row i of the decoder output is [x^ (D), log s^2 (D)].
    Its reconstruction term is the negative log-likelihood
        sum_d 1/2 ((x_d - x^_d)^2 / s_d^2 + log s_d^2)
    with log s^2 clamped to [VAE_DEC_LV_MIN, VAE_DEC_LV_MAX] (gradient zero
    outside, as torch.clamp), and its scores use that term, offset by
    -1/2 VAE_DEC_LV_MIN per element so they are never negative: the
    "reconstruction probability" of An and Cho (2015).  Each field then gets
    the noise level the model expects of it in that context, instead of one
    unit variance for all.  VAE_SCORE_SSE keeps Eq. 5 on the mean.

    Parameter slab layout (what a model file stores, in this order): encoder
    layers, mu head, logvar head, decoder layers; each layer its weight
    (nout, nin) row-major then its bias (nout), as torch.nn.Linear.

    Log-variances are clamped to [-VAE_LOGVAR_MAX, VAE_LOGVAR_MAX] where
    they are exponentiated (gradient zero outside, as torch.clamp), so an
    absurd input never turns a score into Inf.

    Buffers for max_batch rows are allocated in vae_new; forward, backward,
    training steps and scoring never allocate.  Randomness comes only from the
    rng_t passed in.  Nothing here prints or exits.  */
#ifndef VIGIL_VAE_H
#define VIGIL_VAE_H

#include <stdbool.h>
#include <stddef.h>

#include "nn.h"
#include "rng.h"
#include "util.h"

#define VAE_MAX_HIDDEN 7
#define VAE_LOGVAR_MAX 20.0f
#define VAE_DEC_LV_MIN (-6.0f)
#define VAE_DEC_LV_MAX 6.0f

typedef struct {
    size_t nin;                 //  D: input width (window length x fields)
    size_t nhidden;             //  hidden layers in the encoder (mirrored in the decoder), >= 1
    size_t hidden[VAE_MAX_HIDDEN];  //  their widths, encoder order (e.g. 64, 32)
    size_t nlatent;             //  L: latent width
    nn_act_t act;               //  hidden activation
    bool gauss;                 //  decoder outputs mean and log-variance (else unit variance)
} vae_arch_t;

typedef struct {
    double loss;                //  recon + beta * kl
    double recon;               //  mean over windows of the sum of squared errors
                                //  (Gaussian decoder: of the negative log-likelihood)
    double kl;                  //  mean over windows of KL(q(z|x) || N(0, I))
} vae_loss_t;

typedef enum {
    VAE_SCORE_MU = 0,           //  Eq. 5 on the decoding of mu (deterministic)
    VAE_SCORE_SAMPLES = 1,      //  Eq. 5 averaged over L samples of z
    VAE_SCORE_ELBO = 2,         //  negative ELBO: mean SSE over L samples + KL
    VAE_SCORE_SSE = 3,          //  Eq. 5 on the mean of the decoding of mu, whatever
                                //  the decoder (= MU for a unit-variance decoder)
} vae_score_t;

typedef struct _vae_t vae_t;

//  Check an architecture: 0, or -1 + err saying what is wrong.
int
    vae_arch_check (const vae_arch_t *arch, char *err);
//  New VAE with zeroed parameters and buffers for max_batch rows.  NULL +
//  err on a bad architecture.  Caller owns.
vae_t *
    vae_new (const vae_arch_t *arch, size_t max_batch, char *err);
void
    vae_destroy (vae_t **self_p);
//  Initialise parameters as torch.nn.Linear does; forget Adam's state.
void
    vae_init (vae_t *self, rng_t *rng);
//  Borrowed.
const vae_arch_t *
    vae_arch (const vae_t *self);
size_t
    vae_max_batch (const vae_t *self);
//  The slabs (parameters, gradients, Adam state).  Borrowed.
nn_params_t *
    vae_params (vae_t *self);
//  Floats in the parameter slab for an architecture.
size_t
    vae_nparams (const vae_arch_t *arch);
//  Multiply-adds (x2 = flops) of one forward pass of one window through
//  encoder, mu head and decoder (what scoring by mu costs).
double
    vae_forward_flops (const vae_arch_t *arch);

//  Forward n <= max_batch rows of x (n, D).  eps (n, L) gives the noise of
//  Eq. 2; NULL means z = mu.
void
    vae_forward (vae_t *self, const float *x, size_t n, const float *eps);
//  Loss of the last forward (on the same x).
void
    vae_loss (vae_t *self, const float *x, size_t n, double beta, vae_loss_t *out);
//  Add the gradient of the mean loss of the last forward (on the same x) to
//  the gradient slab.
void
    vae_backward (vae_t *self, const float *x, size_t n, double beta);
//  Outputs of the last forward, (n, L) / (n, D), borrowed; the decoder
//  output vae_xhat is (n, 2D) for a Gaussian decoder (mean, log-variance).
const float *
    vae_mu (const vae_t *self);
const float *
    vae_logvar (const vae_t *self);
const float *
    vae_z (const vae_t *self);
const float *
    vae_xhat (const vae_t *self);

//  One step of Algorithm 1 on a mini-batch: draw eps from rng, forward,
//  loss, backward, Adam.  Returns the loss parts in *out (before the step).
void
    vae_train_step (vae_t *self, const float *x, size_t n, double beta, rng_t *rng,
                    const nn_adam_t *opt, vae_loss_t *out);
//  Loss without a step (validation).  rng draws eps; NULL uses z = mu.
void
    vae_eval (vae_t *self, const float *x, size_t n, double beta, rng_t *rng,
              vae_loss_t *out);

//  Anomaly scores of n <= max_batch windows into score[n] (higher = more
//  anomalous).  nsamples (>= 1) and rng are used by the sampling modes only.
//  Afterwards vae_recon gives the reconstruction (mean over samples) and
//  vae_err the error per element (mean over samples), each (n, D): the
//  squared error, or for a Gaussian decoder the offset negative
//  log-likelihood (VAE_SCORE_SSE: the squared error of the mean);
//  score[i] = sum of row i of vae_err, plus KL for VAE_SCORE_ELBO.
void
    vae_score (vae_t *self, const float *x, size_t n, vae_score_t mode, size_t nsamples,
               rng_t *rng, double *score);
//  Weights w[D] of the squared errors in vae_score (borrowed; must outlive
//  their use; NULL = 1 each): err = w (x - x^)^2 and the score its sum, the
//  Gaussian log-likelihood with variance 1/w up to constants.  Training is
//  unaffected.
void
    vae_set_weights (vae_t *self, const float *weights);
const float *
    vae_recon (const vae_t *self);
const float *
    vae_err (const vae_t *self);
//  Hidden widths from "64,32" into arch->hidden / nhidden.  0, or -1 + err.
int
    vae_parse_hidden (const char *s, vae_arch_t *arch, char *err);
//  "mu", "samples", "elbo" and back (-1 if unknown).
const char *
    vae_score_name (vae_score_t mode);
int
    vae_score_parse (const char *name, vae_score_t *mode);

void
    vae_test (bool verbose);

#endif
