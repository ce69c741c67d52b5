/*  sketch: see sketch.h.  */
#include "sketch.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

#define S_MAX_LEVELS 60         //  2^60 readings: far beyond any stream

typedef struct {
    double v;                   //  value
    uint64_t w;                 //  weight (2^level)
} s_item_t;

struct _sketch_t {
    size_t k;                   //  capacity of the top level
    int nlev;                   //  levels in use
    double *lev[S_MAX_LEVELS];  //  items per level, grown on demand
    size_t len[S_MAX_LEVELS];   //  items held per level
    size_t alloc[S_MAX_LEVELS]; //  allocated items per level
    uint64_t n;                 //  values added
    size_t size;                //  items held (sum of len)
    size_t total_cap;           //  sum of the level capacities
    rng_t rng;                  //  coin for the compaction offset
    s_item_t *scratch;          //  quantile work area, grown on demand
    size_t scratch_cap;
};

sketch_t *
sketch_new (size_t k, uint64_t seed)
{
    if (k == 0)
        k = SKETCH_K_DEFAULT;
    assert (k >= 8 && k <= 65536);
    sketch_t *self = xcalloc (1, sizeof *self);
    self->k = k;
    self->nlev = 1;
    self->total_cap = k;
    rng_init (&self->rng, seed, 0x736b65746368ULL);
    return self;
}

void
sketch_destroy (sketch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sketch_t *self = *self_p;
    for (int h = 0; h < S_MAX_LEVELS; h++)
        free (self->lev[h]);
    free (self->scratch);
    free (self);
    *self_p = NULL;
}

//  Capacity of level h: k (2/3)^(depth below the top), at least 2.
static size_t
s_cap (const sketch_t *self, int h)
{
    double c = (double) self->k * pow (2.0 / 3.0, self->nlev - 1 - h);
    return c < 2 ? 2 : (size_t) c;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Sort level h and promote every other item to level h + 1; an odd item
//  out stays behind.
static void
s_compact (sketch_t *self, int h)
{
    assert (h + 1 < S_MAX_LEVELS);
    if (h + 1 >= self->nlev) {
        self->nlev = h + 2;
        self->total_cap = 0;
        for (int i = 0; i < self->nlev; i++)
            self->total_cap += s_cap (self, i);
    }
    double *a = self->lev[h];
    size_t len = self->len[h];
    qsort (a, len, sizeof *a, s_cmp_double);
    double keep = 0;
    bool odd = len & 1;
    if (odd)
        keep = a[--len];
    size_t off = rng_u64 (&self->rng) >> 63;
    xgrow ((void **) &self->lev[h + 1], &self->alloc[h + 1], self->len[h + 1] + len / 2,
           sizeof (double));
    double *up = self->lev[h + 1];
    for (size_t i = off; i < len; i += 2)
        up[self->len[h + 1]++] = a[i];
    self->len[h] = 0;
    if (odd)
        a[self->len[h]++] = keep;
}

void
sketch_add (sketch_t *self, double v)
{
    if (isnan (v))
        return;
    xgrow ((void **) &self->lev[0], &self->alloc[0], self->len[0] + 1, sizeof (double));
    self->lev[0][self->len[0]++] = v;
    self->n++;
    //  Lazy compaction: only when the whole sketch is full, and then only
    //  the lowest full level (as Apache DataSketches' KLL does).
    if (++self->size < self->total_cap)
        return;
    for (int h = 0; h < self->nlev; h++)
        if (self->len[h] >= s_cap (self, h)) {
            s_compact (self, h);
            break;
        }
    self->size = sketch_size (self);
}

uint64_t
sketch_count (const sketch_t *self)
{
    return self->n;
}

size_t
sketch_size (const sketch_t *self)
{
    size_t n = 0;
    for (int h = 0; h < self->nlev; h++)
        n += self->len[h];
    return n;
}

static int
s_cmp_item (const void *a, const void *b)
{
    double x = ((const s_item_t *) a)->v, y = ((const s_item_t *) b)->v;
    return (x > y) - (x < y);
}

//  Value at 0-based rank r in the sorted, weighted items.
static double
s_at_rank (const s_item_t *it, size_t n, uint64_t r)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += it[i].w;
        if (r < c)
            return it[i].v;
    }
    return it[n - 1].v;
}

double
sketch_quantile (sketch_t *self, double q)
{
    if (self->n == 0)
        return NAN;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    size_t m = sketch_size (self);
    xgrow ((void **) &self->scratch, &self->scratch_cap, m, sizeof (s_item_t));
    size_t j = 0;
    for (int h = 0; h < self->nlev; h++)
        for (size_t i = 0; i < self->len[h]; i++)
            self->scratch[j++] = (s_item_t) {self->lev[h][i], (uint64_t) 1 << h};
    qsort (self->scratch, m, sizeof (s_item_t), s_cmp_item);
    double p = q * (double) (self->n - 1);
    uint64_t lo = (uint64_t) floor (p);
    uint64_t hi = lo + 1 < self->n ? lo + 1 : lo;
    double a = s_at_rank (self->scratch, m, lo);
    double b = s_at_rank (self->scratch, m, hi);
    return a + (b - a) * (p - (double) lo);
}

//  Exact numpy-linear quantile of a sorted array.
static double
s_exact (const double *sorted, size_t n, double q)
{
    double p = q * (double) (n - 1);
    size_t lo = (size_t) floor (p);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - (double) lo);
}

void
sketch_test (bool verbose)
{
    //  exact below k: numpy.quantile([3, 1, 4, 1, 5], [.25, .5, .75]) = 1, 3, 4
    sketch_t *s = sketch_new (16, 1);
    assert (isnan (sketch_quantile (s, 0.5)));
    double five[] = {3, 1, 4, 1, 5};
    for (int i = 0; i < 5; i++)
        sketch_add (s, five[i]);
    sketch_add (s, NAN);
    assert (sketch_count (s) == 5);
    assert (sketch_quantile (s, 0.25) == 1 && sketch_quantile (s, 0.5) == 3);
    assert (sketch_quantile (s, 0.75) == 4 && sketch_quantile (s, 1) == 5);
    //  numpy.quantile([1, 2, 3, 4], .5) = 2.5; .25 -> 1.75
    sketch_destroy (&s);
    s = sketch_new (16, 1);
    for (int i = 1; i <= 4; i++)
        sketch_add (s, i);
    assert (sketch_quantile (s, 0.5) == 2.5 && sketch_quantile (s, 0.25) == 1.75);
    sketch_destroy (&s);

    //  a long stream: bounded size, rank error within 1 %
    size_t n = 200000;
    double *all = xmalloc (n * sizeof *all);
    rng_t r;
    rng_init (&r, 42, 0);
    s = sketch_new (0, 7);
    size_t max_size = 0;
    for (size_t i = 0; i < n; i++) {
        all[i] = i % 3 ? rng_normal (&r) * 10 + 80 : rng_exp (&r, 5);
        sketch_add (s, all[i]);
        if (sketch_size (s) > max_size)
            max_size = sketch_size (s);
    }
    qsort (all, n, sizeof *all, s_cmp_double);
    assert (max_size < 4 * SKETCH_K_DEFAULT);
    double qs[] = {0.01, 0.25, 0.5, 0.75, 0.99};
    for (int i = 0; i < 5; i++) {
        double est = sketch_quantile (s, qs[i]);
        //  rank of the estimate in the exact data
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (all[mid] < est)
                lo = mid + 1;
            else
                hi = mid;
        }
        double rank_err = fabs ((double) lo / n - qs[i]);
        if (verbose)
            printf ("sketch: q %.2f exact %.4f est %.4f rank error %.4f (size %zu)\n", qs[i],
                    s_exact (all, n, qs[i]), est, rank_err, sketch_size (s));
        assert (rank_err < 0.01);
    }
    //  deterministic for a seed
    sketch_t *t = sketch_new (0, 7);
    rng_init (&r, 42, 0);
    for (size_t i = 0; i < n; i++)
        sketch_add (t, i % 3 ? rng_normal (&r) * 10 + 80 : rng_exp (&r, 5));
    assert (sketch_quantile (t, 0.5) == sketch_quantile (s, 0.5));
    sketch_destroy (&t);
    sketch_destroy (&s);
    sketch_destroy (&s);
    free (all);
}
