/*  sketch: a streaming quantile sketch (KLL: Karnin, Lang, Liberty, "Optimal
    Quantile Approximation in Streams", FOCS 2016) for the median and the
    inter-quartile range of a field in bounded memory.

    Items live in levels of compactors; an item at level h stands for 2^h
    readings.  Level capacities shrink geometrically (factor 2/3) from the top
    level, which holds k; a full level is sorted and every other item (odd or
    even positions, by a seeded coin) moves up one level.  The total weight
    always equals the number of readings added.  Memory is O(k + log n)
    doubles: about 3k items plus two per level, whatever the stream length.
    Rank error is about 1.7/k (k = 256: well under 1 % of the ranks).

    While fewer than k values have been added nothing is compacted and
    sketch_quantile is exact, with numpy's default ("linear") interpolation.
    Randomness comes only from the seed: the same input and seed give the
    same answers.  */
#ifndef VIGIL_SKETCH_H
#define VIGIL_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SKETCH_K_DEFAULT 256

typedef struct _sketch_t sketch_t;

//  New empty sketch with accuracy parameter k (8..65536; 0 = default).
//  Caller owns.
sketch_t *
    sketch_new (size_t k, uint64_t seed);
void
    sketch_destroy (sketch_t **self_p);
//  Add one value (NaN is ignored: the caller counts missing readings).
void
    sketch_add (sketch_t *self, double v);
//  Values added.
uint64_t
    sketch_count (const sketch_t *self);
//  Items retained (the memory in use, in doubles).
size_t
    sketch_size (const sketch_t *self);
//  Estimate of the q-quantile, q in [0, 1]; NaN when empty.  Linear
//  interpolation between neighbouring ranks, as numpy.quantile.
double
    sketch_quantile (sketch_t *self, double q);

void
    sketch_test (bool verbose);

#endif
