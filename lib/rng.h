/*  rng: a small, fast, seeded random number generator (xoshiro256**, seeded
    through splitmix64).  All randomness in vigil comes from an rng_t passed in
    explicitly, so a seed reproduces a run bit for bit; rand() is never used.
    The state is a plain struct: copy it to fork a stream, or derive
    independent streams with rng_init(&r, seed, stream).  */
#ifndef VIGIL_RNG_H
#define VIGIL_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];          //  xoshiro256** state
    double spare;           //  second Box-Muller deviate
    bool has_spare;
} rng_t;

//  Seed; distinct (seed, stream) pairs give independent sequences.
void
    rng_init (rng_t *r, uint64_t seed, uint64_t stream);
uint64_t
    rng_u64 (rng_t *r);
//  Uniform in [0, 1) with 53 random bits.
double
    rng_uniform (rng_t *r);
//  Uniform integer in [0, n), unbiased; n > 0.
uint64_t
    rng_below (rng_t *r, uint64_t n);
//  Standard normal deviate (Box-Muller, polar form).
double
    rng_normal (rng_t *r);
//  Exponential with the given mean.
double
    rng_exp (rng_t *r, double mean);
//  Fisher-Yates shuffle of n indices.
void
    rng_shuffle (rng_t *r, uint32_t *idx, uint32_t n);

void
    rng_test (bool verbose);

#endif
