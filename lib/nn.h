/*  nn: a small, exact neural-network core — dense layers, ReLU/tanh,
    forward and backward on mini-batches through cblas_sgemm, and Adam with
    decoupled weight decay and global gradient-norm clipping.

    Why: the VAE (lib/vae) is a handful of dense layers; doing all matrix work
    as one sgemm per layer per mini-batch is what makes training and scoring
    fast, and keeping it in one place makes it testable against finite
    differences and an independent reference.

    Invariants:
    - Matrices are row-major.  A batch is (n, width): one row per example.
      A layer's weight is (nout, nin), so y = act (x W^T + b)
      (the layout of torch.nn.Linear, so reference weights copy over as is).
    - Parameters, gradients and Adam's two moments each live in one float
      slab (nn_params_t); layers only point into them.  Buffers for
      activations are bound once for a maximum batch; nothing here allocates
      per batch.
    - Gradients accumulate (+=); call nn_params_zero_grad before a batch.
    - Nothing here prints or exits; programmer errors are asserted.  */
#ifndef VIGIL_NN_H
#define VIGIL_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define NN_MAX_LAYERS 16

typedef enum {
    NN_LINEAR = 0,              //  identity
    NN_RELU = 1,                //  max (0, x)
    NN_TANH = 2,                //  tanh (x)
} nn_act_t;

//  Name of an activation ("linear", "relu", "tanh"), and back (-1 if unknown).
const char *
    nn_act_name (nn_act_t act);
int
    nn_act_parse (const char *name, nn_act_t *act);

//  One dense layer: a view into the parameter and gradient slabs.
typedef struct {
    size_t nin;                 //  input width
    size_t nout;                //  output width
    nn_act_t act;               //  activation applied to the output
    float *w;                   //  (nout, nin) weights, in the parameter slab
    float *b;                   //  (nout) bias, right after w
    float *dw;                  //  (nout, nin) gradient of w, in the gradient slab
    float *db;                  //  (nout) gradient of b
} nn_dense_t;

//  Parameters of one dense layer: nout * nin + nout.
size_t
    nn_dense_size (size_t nin, size_t nout);
//  Point the layer at params/grads (each nn_dense_size floats from there).
void
    nn_dense_bind (nn_dense_t *l, size_t nin, size_t nout, nn_act_t act,
                   float *params, float *grads);
//  PyTorch's default for nn.Linear: w and b uniform in +-1/sqrt(nin).
void
    nn_dense_init (const nn_dense_t *l, rng_t *rng);
//  y (n, nout) = act (x (n, nin) W^T + b).  y must not alias x.
void
    nn_dense_forward (const nn_dense_t *l, const float *x, float *y, size_t n);
//  Backward through one layer.  y is the layer's forward output; dy (n, nout)
//  is dLoss/dy on entry and is overwritten with dLoss/d(pre-activation).
//  Adds dLoss/dW and dLoss/db to the layer's gradients.  If dx is not NULL
//  it receives dLoss/dx (n, nin), added to its contents when accumulate.
void
    nn_dense_backward (const nn_dense_t *l, const float *x, const float *y,
                       float *dy, float *dx, bool accumulate, size_t n);

//  A chain of dense layers (a multilayer perceptron) with its own
//  activation and gradient buffers for up to max_batch rows.
typedef struct {
    size_t nlayers;
    nn_dense_t layer[NN_MAX_LAYERS];
    float *out[NN_MAX_LAYERS];  //  (max_batch, layer[i].nout) forward outputs
    float *grad[2];             //  (max_batch, widest) ping-pong gradients
    size_t max_batch;
} nn_mlp_t;

//  Parameters of an MLP with widths sizes[0] -> sizes[1] -> ... -> sizes[nsizes-1].
size_t
    nn_mlp_size (const size_t *sizes, size_t nsizes);
//  Work floats the MLP needs for max_batch rows.
size_t
    nn_mlp_work (const size_t *sizes, size_t nsizes, size_t max_batch);
//  Bind layers (act on every layer but the last, which gets out_act) to
//  params/grads (nn_mlp_size floats) and buffers to work (nn_mlp_work floats).
void
    nn_mlp_bind (nn_mlp_t *m, const size_t *sizes, size_t nsizes, nn_act_t act,
                 nn_act_t out_act, float *params, float *grads, float *work,
                 size_t max_batch);
void
    nn_mlp_init (const nn_mlp_t *m, rng_t *rng);
//  Forward n <= max_batch rows of x; returns the output (n, last width),
//  valid until the next forward.
const float *
    nn_mlp_forward (nn_mlp_t *m, const float *x, size_t n);
//  Backward after a forward on the same x.  dout (n, last width) is
//  dLoss/doutput and is overwritten.  dx (n, sizes[0]) may be NULL.
void
    nn_mlp_backward (nn_mlp_t *m, const float *x, float *dout, float *dx, size_t n);

//  The slabs: parameters, gradients and Adam's first and second moments.
typedef struct {
    size_t n;                   //  floats in each slab
    float *p;                   //  (n) parameters
    float *g;                   //  (n) gradients
    float *m;                   //  (n) Adam first moment
    float *v;                   //  (n) Adam second moment
    uint64_t t;                 //  Adam steps taken
} nn_params_t;

//  Zeroed slabs of n floats.  Caller owns; destroy with nn_params_destroy.
nn_params_t *
    nn_params_new (size_t n);
void
    nn_params_destroy (nn_params_t **self_p);
void
    nn_params_zero_grad (nn_params_t *self);
//  Forget Adam's state (moments and step count).
void
    nn_params_reset_adam (nn_params_t *self);

typedef struct {
    double lr;                  //  learning rate (1e-3)
    double beta1;               //  first-moment decay (0.9)
    double beta2;               //  second-moment decay (0.999)
    double eps;                 //  denominator guard (1e-8)
    double weight_decay;        //  decoupled, as AdamW (0 = plain Adam)
    double clip;                //  max global gradient L2 norm (0 = no clipping)
} nn_adam_t;

//  The defaults above.
nn_adam_t
    nn_adam_defaults (void);
//  One AdamW step (Loshchilov & Hutter 2019, as torch.optim.AdamW) after
//  clipping the gradient to norm `clip` (as torch.nn.utils.clip_grad_norm_).
//  Returns the gradient norm before clipping.
double
    nn_adam_step (nn_params_t *self, const nn_adam_t *opt);

//  Threads OpenBLAS may use (openblas_set_num_threads); n >= 1.
void
    nn_set_threads (int n);

void
    nn_test (bool verbose);

#endif
