/*  rng: xoshiro256** (Blackman & Vigna, 2018) seeded with splitmix64.  */
#include "rng.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>

static uint64_t
s_splitmix (uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
rng_init (rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix (&x);
    r->has_spare = false;
    r->spare = 0;
}

uint64_t
rng_u64 (rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

double
rng_uniform (rng_t *r)
{
    return (rng_u64 (r) >> 11) * 0x1.0p-53;
}

uint64_t
rng_below (rng_t *r, uint64_t n)
{
    assert (n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = rng_u64 (r);
    while (x >= limit);
    return x % n;
}

double
rng_normal (rng_t *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2 * rng_uniform (r) - 1;
        v = 2 * rng_uniform (r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double m = sqrt (-2 * log (s) / s);
    r->spare = v * m;
    r->has_spare = true;
    return u * m;
}

double
rng_exp (rng_t *r, double mean)
{
    return -mean * log1p (-rng_uniform (r));
}

void
rng_shuffle (rng_t *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t) rng_below (r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

void
rng_test (bool verbose)
{
    rng_t a, b;
    rng_init (&a, 42, 0);
    rng_init (&b, 42, 0);
    for (int i = 0; i < 100; i++)
        assert (rng_u64 (&a) == rng_u64 (&b));
    rng_init (&b, 42, 1);
    assert (rng_u64 (&a) != rng_u64 (&b));
    //  moments of the normal and uniform deviates
    double s1 = 0, s2 = 0, su = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = rng_normal (&a);
        s1 += z;
        s2 += z * z;
        su += rng_uniform (&a);
    }
    double mean = s1 / n, var = s2 / n - mean * mean;
    if (verbose)
        printf ("rng: normal mean %.4f var %.4f uniform mean %.4f\n", mean, var, su / n);
    assert (fabs (mean) < 0.01 && fabs (var - 1) < 0.02 && fabs (su / n - 0.5) < 0.01);
    uint32_t idx[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seen = 0;
    rng_shuffle (&a, idx, 10);
    for (int i = 0; i < 10; i++)
        seen |= 1u << idx[i];
    assert (seen == 0x3ff);
    for (int i = 0; i < 1000; i++)
        assert (rng_below (&a, 7) < 7);
}
