/*  latency: see latency.h.  Invariant: kept = min (count, LATENCY_KEEP)
    samples in v; sorted says whether v is in order (quantiles sort once).  */
#include "latency.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "util.h"

struct _latency_t {
    double *v;
    size_t kept, cap;
    uint64_t count;
    uint64_t rng;               //  reservoir draws (xorshift64)
    bool sorted;
};

latency_t *
latency_new (void)
{
    latency_t *self = xcalloc (1, sizeof *self);
    self->rng = 0x9e3779b97f4a7c15ull;
    return self;
}

void
latency_destroy (latency_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->v);
    free (*self_p);
    *self_p = NULL;
}

void
latency_add (latency_t *self, double seconds)
{
    self->count++;
    self->sorted = false;
    if (self->kept < LATENCY_KEEP) {
        if (self->kept == self->cap) {
            self->cap = self->cap ? 2 * self->cap : 4096;
            self->v = xrealloc (self->v, self->cap * sizeof *self->v);
        }
        self->v[self->kept++] = seconds;
        return;
    }
    self->rng ^= self->rng << 13;
    self->rng ^= self->rng >> 7;
    self->rng ^= self->rng << 17;
    uint64_t j = self->rng % self->count;
    if (j < LATENCY_KEEP)
        self->v[j] = seconds;
}

uint64_t
latency_count (const latency_t *self)
{
    return self->count;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

double
latency_quantile (latency_t *self, double q)
{
    if (!self->kept)
        return NAN;
    if (!self->sorted) {
        qsort (self->v, self->kept, sizeof *self->v, s_cmp);
        self->sorted = true;
    }
    size_t rank = (size_t) ceil (q * (double) self->kept);
    return self->v[rank ? rank - 1 : 0];
}

void
latency_test (bool verbose)
{
    (void) verbose;
    latency_t *l = latency_new ();
    assert (isnan (latency_quantile (l, 0.5)));
    //  1..100 ms in a scrambled order: nearest rank gives exact values
    for (int i = 0; i < 100; i++)
        latency_add (l, ((i * 37) % 100 + 1) / 1000.0);
    assert (latency_count (l) == 100);
    assert (fabs (latency_quantile (l, 0.5) - 0.050) < 1e-12);
    assert (fabs (latency_quantile (l, 0.99) - 0.099) < 1e-12);
    assert (fabs (latency_quantile (l, 1) - 0.100) < 1e-12);
    assert (fabs (latency_quantile (l, 0) - 0.001) < 1e-12);
    latency_add (l, 5.0);           //  adding after a quantile re-sorts
    assert (latency_quantile (l, 1) == 5.0);
    latency_destroy (&l);
    assert (!l);
    //  beyond LATENCY_KEEP: bounded memory, the median of a uniform stream holds
    l = latency_new ();
    for (uint64_t i = 0; i < 2ull * LATENCY_KEEP; i++)
        latency_add (l, (double) (i % 1000));
    assert (latency_count (l) == 2ull * LATENCY_KEEP);
    double med = latency_quantile (l, 0.5);
    assert (med >= 490 && med <= 510);
    latency_destroy (&l);
}
