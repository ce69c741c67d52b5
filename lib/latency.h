/*  latency: end-to-end latency of the records reaching a sink.

    A sample is (wall clock when the sink has handled a record) - (the
    record's t), which is latency when the source stamps t with the wall
    clock (vigil-sim --realtime --start now).  Samples are kept exactly, 8
    bytes each, up to LATENCY_KEEP; beyond that a uniform reservoir of that
    size stands for them, so memory is bounded on any stream.  Quantiles are
    nearest-rank over the kept samples.  */
#ifndef VIGIL_LATENCY_H
#define VIGIL_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LATENCY_KEEP (1u << 22)

typedef struct _latency_t latency_t;

latency_t *
    latency_new (void);
void
    latency_destroy (latency_t **self_p);
//  Add one sample, in seconds.
void
    latency_add (latency_t *self, double seconds);
//  Samples added so far (all of them, kept or not).
uint64_t
    latency_count (const latency_t *self);
//  The q-quantile (0 <= q <= 1) by nearest rank, seconds; NAN when empty.
double
    latency_quantile (latency_t *self, double q);

void
    latency_test (bool verbose);

#endif
