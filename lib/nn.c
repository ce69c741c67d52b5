/*  nn: see nn.h.  Every product of matrices is one cblas_sgemm; bias,
    activation and their derivatives are fused into one pass over the output
    so a layer reads its output once after the sgemm.  */
#include "nn.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *s_act_names[] = {"linear", "relu", "tanh"};

const char *
nn_act_name (nn_act_t act)
{
    assert ((unsigned) act < 3);
    return s_act_names[act];
}

int
nn_act_parse (const char *name, nn_act_t *act)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp (name, s_act_names[i])) {
            *act = (nn_act_t) i;
            return 0;
        }
    return -1;
}

size_t
nn_dense_size (size_t nin, size_t nout)
{
    return nout * nin + nout;
}

void
nn_dense_bind (nn_dense_t *l, size_t nin, size_t nout, nn_act_t act, float *params,
               float *grads)
{
    assert (nin > 0 && nout > 0);
    l->nin = nin;
    l->nout = nout;
    l->act = act;
    l->w = params;
    l->b = params + nout * nin;
    l->dw = grads;
    l->db = grads ? grads + nout * nin : NULL;
}

void
nn_dense_init (const nn_dense_t *l, rng_t *rng)
{
    double k = 1.0 / sqrt ((double) l->nin);
    for (size_t i = 0; i < l->nout * l->nin; i++)
        l->w[i] = (float) ((2 * rng_uniform (rng) - 1) * k);
    for (size_t i = 0; i < l->nout; i++)
        l->b[i] = (float) ((2 * rng_uniform (rng) - 1) * k);
}

void
nn_dense_forward (const nn_dense_t *l, const float *x, float *y, size_t n)
{
    assert (x != y);
    if (n == 0)
        return;
    size_t nout = l->nout;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) nout,
                 (int) l->nin, 1.0f, x, (int) l->nin, l->w, (int) l->nin, 0.0f, y,
                 (int) nout);
    const float *b = l->b;
    for (size_t r = 0; r < n; r++) {
        float *row = y + r * nout;
        switch (l->act) {
        case NN_LINEAR:
            for (size_t j = 0; j < nout; j++)
                row[j] += b[j];
            break;
        case NN_RELU:
            for (size_t j = 0; j < nout; j++) {
                float v = row[j] + b[j];
                row[j] = v > 0 ? v : 0;
            }
            break;
        case NN_TANH:
            for (size_t j = 0; j < nout; j++)
                row[j] = tanhf (row[j] + b[j]);
            break;
        }
    }
}

void
nn_dense_backward (const nn_dense_t *l, const float *x, const float *y, float *dy,
                   float *dx, bool accumulate, size_t n)
{
    if (n == 0)
        return;
    size_t nout = l->nout, nin = l->nin;
    //  dy <- dy * act'(pre), written in terms of the output y.
    if (l->act == NN_RELU) {
        for (size_t i = 0; i < n * nout; i++)
            if (!(y[i] > 0))
                dy[i] = 0;
    }
    else if (l->act == NN_TANH) {
        for (size_t i = 0; i < n * nout; i++)
            dy[i] *= 1 - y[i] * y[i];
    }
    //  dW (nout, nin) += dy^T (nout, n) x (n, nin)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) nout, (int) nin, (int) n,
                 1.0f, dy, (int) nout, x, (int) nin, 1.0f, l->dw, (int) nin);
    //  db += column sums of dy
    for (size_t r = 0; r < n; r++) {
        const float *row = dy + r * nout;
        for (size_t j = 0; j < nout; j++)
            l->db[j] += row[j];
    }
    //  dx (n, nin) = dy (n, nout) W (nout, nin)
    if (dx)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n, (int) nin,
                     (int) nout, 1.0f, dy, (int) nout, l->w, (int) nin,
                     accumulate ? 1.0f : 0.0f, dx, (int) nin);
}

size_t
nn_mlp_size (const size_t *sizes, size_t nsizes)
{
    size_t total = 0;
    for (size_t i = 0; i + 1 < nsizes; i++)
        total += nn_dense_size (sizes[i], sizes[i + 1]);
    return total;
}

size_t
nn_mlp_work (const size_t *sizes, size_t nsizes, size_t max_batch)
{
    size_t total = 0, widest = 0;
    for (size_t i = 0; i < nsizes; i++) {
        if (i > 0)
            total += max_batch * sizes[i];
        if (sizes[i] > widest)
            widest = sizes[i];
    }
    return total + 2 * max_batch * widest;
}

void
nn_mlp_bind (nn_mlp_t *m, const size_t *sizes, size_t nsizes, nn_act_t act,
             nn_act_t out_act, float *params, float *grads, float *work, size_t max_batch)
{
    assert (nsizes >= 2 && nsizes - 1 <= NN_MAX_LAYERS);
    memset (m, 0, sizeof *m);
    m->nlayers = nsizes - 1;
    m->max_batch = max_batch;
    size_t widest = 0;
    for (size_t i = 0; i < nsizes; i++)
        if (sizes[i] > widest)
            widest = sizes[i];
    for (size_t i = 0; i < m->nlayers; i++) {
        nn_act_t a = i + 1 == m->nlayers ? out_act : act;
        nn_dense_bind (&m->layer[i], sizes[i], sizes[i + 1], a, params,
                       grads);
        size_t k = nn_dense_size (sizes[i], sizes[i + 1]);
        params += k;
        if (grads)
            grads += k;
        m->out[i] = work;
        work += max_batch * sizes[i + 1];
    }
    m->grad[0] = work;
    m->grad[1] = work + max_batch * widest;
}

void
nn_mlp_init (const nn_mlp_t *m, rng_t *rng)
{
    for (size_t i = 0; i < m->nlayers; i++)
        nn_dense_init (&m->layer[i], rng);
}

const float *
nn_mlp_forward (nn_mlp_t *m, const float *x, size_t n)
{
    assert (n <= m->max_batch);
    const float *in = x;
    for (size_t i = 0; i < m->nlayers; i++) {
        nn_dense_forward (&m->layer[i], in, m->out[i], n);
        in = m->out[i];
    }
    return in;
}

void
nn_mlp_backward (nn_mlp_t *m, const float *x, float *dout, float *dx, size_t n)
{
    assert (n <= m->max_batch);
    float *dy = dout;
    for (size_t k = m->nlayers; k-- > 0;) {
        const float *in = k ? m->out[k - 1] : x;
        float *din = k ? m->grad[k & 1] : dx;
        nn_dense_backward (&m->layer[k], in, m->out[k], dy, din, false, n);
        dy = din;
    }
}

nn_params_t *
nn_params_new (size_t n)
{
    nn_params_t *self = xcalloc (1, sizeof *self);
    self->n = n;
    self->p = xcalloc (n ? n : 1, sizeof (float));
    self->g = xcalloc (n ? n : 1, sizeof (float));
    self->m = xcalloc (n ? n : 1, sizeof (float));
    self->v = xcalloc (n ? n : 1, sizeof (float));
    return self;
}

void
nn_params_destroy (nn_params_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    nn_params_t *self = *self_p;
    free (self->p);
    free (self->g);
    free (self->m);
    free (self->v);
    free (self);
    *self_p = NULL;
}

void
nn_params_zero_grad (nn_params_t *self)
{
    memset (self->g, 0, self->n * sizeof (float));
}

void
nn_params_reset_adam (nn_params_t *self)
{
    memset (self->m, 0, self->n * sizeof (float));
    memset (self->v, 0, self->n * sizeof (float));
    self->t = 0;
}

void
nn_set_threads (int n)
{
    openblas_set_num_threads (n < 1 ? 1 : n);
}

nn_adam_t
nn_adam_defaults (void)
{
    return (nn_adam_t) {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

double
nn_adam_step (nn_params_t *self, const nn_adam_t *opt)
{
    size_t n = self->n;
    float *p = self->p, *g = self->g, *m = self->m, *v = self->v;
    double norm2 = 0;
    for (size_t i = 0; i < n; i++)
        norm2 += (double) g[i] * g[i];
    double norm = sqrt (norm2);
    if (opt->clip > 0) {
        //  As clip_grad_norm_: scale by clip / (norm + 1e-6) when below 1.
        double coef = opt->clip / (norm + 1e-6);
        if (coef < 1) {
            float c = (float) coef;
            for (size_t i = 0; i < n; i++)
                g[i] *= c;
        }
    }
    self->t++;
    double bc1 = 1 - pow (opt->beta1, (double) self->t);
    double bc2 = 1 - pow (opt->beta2, (double) self->t);
    float b1 = (float) opt->beta1, b2 = (float) opt->beta2;
    float step = (float) (opt->lr / bc1);
    float sbc2 = (float) sqrt (bc2);
    float eps = (float) opt->eps;
    float decay = (float) (1 - opt->lr * opt->weight_decay);
    for (size_t i = 0; i < n; i++) {
        if (opt->weight_decay > 0)
            p[i] *= decay;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf (v[i]) / sbc2 + eps);
    }
    return norm;
}

//  --------------------------------------------------------------------------
//  Self-test: sgemm layers against naive double loops, every backward against
//  central finite differences of a double-precision forward, Adam against
//  the update computed by hand.

//  Naive double forward of an MLP with the same parameters; loss = sum of
//  out * r (a random projection, so every output matters).
static double
s_ref_loss (const nn_mlp_t *m, const double *x, const float *r, size_t n,
            const double *pw, double *out_keep)
{
    //  pw: double copy of the parameter slab; the layers' w pointers are
    //  translated to offsets from layer 0's w.
    double bufa[64 * 64], bufb[64 * 64];
    const double *in = x;
    double *out = bufa;
    size_t nin = m->layer[0].nin;
    for (size_t k = 0; k < m->nlayers; k++) {
        const nn_dense_t *l = &m->layer[k];
        const double *w = pw + (l->w - m->layer[0].w);
        const double *b = pw + (l->b - m->layer[0].w);
        for (size_t r0 = 0; r0 < n; r0++)
            for (size_t j = 0; j < l->nout; j++) {
                double s = b[j];
                for (size_t i = 0; i < l->nin; i++)
                    s += in[r0 * l->nin + i] * w[j * l->nin + i];
                if (l->act == NN_RELU)
                    s = s > 0 ? s : 0;
                else if (l->act == NN_TANH)
                    s = tanh (s);
                out[r0 * l->nout + j] = s;
            }
        in = out;
        out = out == bufa ? bufb : bufa;
        nin = l->nout;
    }
    double loss = 0;
    for (size_t i = 0; i < n * nin; i++) {
        loss += in[i] * r[i];
        if (out_keep)
            out_keep[i] = in[i];
    }
    return loss;
}

static double
s_maxrel (double a, double b)
{
    return fabs (a - b) / fmax (1e-3, fmax (fabs (a), fabs (b)));
}

static void
s_test_mlp (bool verbose, nn_act_t act, nn_act_t out_act)
{
    size_t sizes[] = {7, 6, 5, 4};
    size_t ns = 4, n = 3, maxb = 4;
    size_t np = nn_mlp_size (sizes, ns);
    nn_params_t *P = nn_params_new (np);
    float *work = xcalloc (nn_mlp_work (sizes, ns, maxb), sizeof (float));
    nn_mlp_t m;
    nn_mlp_bind (&m, sizes, ns, act, out_act, P->p, P->g, work, maxb);
    rng_t rng;
    rng_init (&rng, 42, act * 3 + out_act);
    nn_mlp_init (&m, &rng);
    float x[3 * 7], r[3 * 4], dout[3 * 4], dx[3 * 7];
    double xd[3 * 7], ref[3 * 4];
    for (size_t i = 0; i < n * 7; i++)
        xd[i] = x[i] = (float) rng_normal (&rng);
    for (size_t i = 0; i < n * 4; i++)
        r[i] = (float) rng_normal (&rng);
    double *pw = xmalloc (np * sizeof (double));
    for (size_t i = 0; i < np; i++)
        pw[i] = P->p[i];

    //  Forward against the naive double loop.
    const float *y = nn_mlp_forward (&m, x, n);
    s_ref_loss (&m, xd, r, n, pw, ref);
    double maxd = 0;
    for (size_t i = 0; i < n * 4; i++)
        maxd = fmax (maxd, fabs (y[i] - ref[i]));
    if (verbose)
        printf ("nn: mlp %s/%s forward vs naive: max diff %.3g\n", nn_act_name (act),
                nn_act_name (out_act), maxd);
    assert (maxd < 1e-5);

    //  Backward against central differences in double.
    memcpy (dout, r, sizeof r);
    nn_params_zero_grad (P);
    nn_mlp_backward (&m, x, dout, dx, n);
    double h = 1e-6, maxg = 0;
    for (size_t i = 0; i < np; i++) {
        double keep = pw[i];
        pw[i] = keep + h;
        double lp = s_ref_loss (&m, xd, r, n, pw, NULL);
        pw[i] = keep - h;
        double lm = s_ref_loss (&m, xd, r, n, pw, NULL);
        pw[i] = keep;
        maxg = fmax (maxg, s_maxrel ((lp - lm) / (2 * h), P->g[i]));
    }
    for (size_t i = 0; i < n * 7; i++) {
        double keep = xd[i];
        xd[i] = keep + h;
        double lp = s_ref_loss (&m, xd, r, n, pw, NULL);
        xd[i] = keep - h;
        double lm = s_ref_loss (&m, xd, r, n, pw, NULL);
        xd[i] = keep;
        maxg = fmax (maxg, s_maxrel ((lp - lm) / (2 * h), dx[i]));
    }
    if (verbose)
        printf ("nn: mlp %s/%s backward vs finite differences: max rel diff %.3g "
                "(tolerance 1e-4)\n",
                nn_act_name (act), nn_act_name (out_act), maxg);
    assert (maxg < 1e-4);
    free (pw);
    free (work);
    nn_params_destroy (&P);
}

void
nn_test (bool verbose)
{
    nn_act_t a;
    assert (nn_act_parse ("tanh", &a) == 0 && a == NN_TANH);
    assert (nn_act_parse ("sigmoid", &a) == -1);
    assert (!strcmp (nn_act_name (NN_RELU), "relu"));
    assert (nn_dense_size (3, 2) == 8);

    s_test_mlp (verbose, NN_RELU, NN_LINEAR);
    s_test_mlp (verbose, NN_TANH, NN_LINEAR);
    s_test_mlp (verbose, NN_TANH, NN_RELU);
    s_test_mlp (verbose, NN_LINEAR, NN_TANH);

    //  Dense backward with accumulate adds to dx.
    {
        nn_params_t *P = nn_params_new (nn_dense_size (2, 2));
        nn_dense_t l;
        nn_dense_bind (&l, 2, 2, NN_LINEAR, P->p, P->g);
        float w[] = {1, 2, 3, 4, 0.5f, -0.5f};
        memcpy (P->p, w, sizeof w);
        float x[] = {1, 1}, y[2], dy[] = {1, 0}, dx[] = {10, 20};
        nn_dense_forward (&l, x, y, 1);
        assert (y[0] == 3.5f && y[1] == 6.5f);
        nn_dense_backward (&l, x, y, dy, dx, true, 1);
        assert (dx[0] == 11 && dx[1] == 22);
        assert (P->g[0] == 1 && P->g[1] == 1 && P->g[2] == 0 && P->g[4] == 1);
        nn_params_destroy (&P);
        nn_params_destroy (&P);
    }

    //  Adam: two steps by hand on one parameter, with clipping and decay.
    {
        nn_params_t *P = nn_params_new (2);
        nn_adam_t opt = nn_adam_defaults ();
        opt.lr = 0.1;
        opt.weight_decay = 0.01;
        opt.clip = 1.0;
        P->p[0] = 1.0f, P->p[1] = -2.0f;
        double p0 = 1.0, p1 = -2.0, m0 = 0, m1 = 0, v0 = 0, v1 = 0;
        for (int t = 1; t <= 2; t++) {
            P->g[0] = 3.0f, P->g[1] = 4.0f;     //  norm 5: clipped to 1
            double norm = nn_adam_step (P, &opt);
            assert (fabs (norm - 5) < 1e-6);
            double c = 1.0 / (5 + 1e-6), g0 = 3 * c, g1 = 4 * c;
            p0 *= 1 - 0.1 * 0.01, p1 *= 1 - 0.1 * 0.01;
            m0 = 0.9 * m0 + 0.1 * g0, m1 = 0.9 * m1 + 0.1 * g1;
            v0 = 0.999 * v0 + 0.001 * g0 * g0, v1 = 0.999 * v1 + 0.001 * g1 * g1;
            double b1 = 1 - pow (0.9, t), b2 = 1 - pow (0.999, t);
            p0 -= 0.1 * (m0 / b1) / (sqrt (v0 / b2) + 1e-8);
            p1 -= 0.1 * (m1 / b1) / (sqrt (v1 / b2) + 1e-8);
        }
        if (verbose)
            printf ("nn: adam vs hand: %.3g %.3g\n", fabs (P->p[0] - p0),
                    fabs (P->p[1] - p1));
        assert (fabs (P->p[0] - p0) < 1e-5 && fabs (P->p[1] - p1) < 1e-5);
        assert (P->t == 2);
        nn_params_reset_adam (P);
        assert (P->t == 0 && P->m[0] == 0 && P->v[1] == 0);
        nn_params_destroy (&P);
    }
    if (verbose)
        printf ("nn: ok\n");
}
