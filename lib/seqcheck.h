/*  seqcheck: loss detection from per-id sequence numbers.

    For each id it keeps the first, lowest and highest `seq` seen, how many
    records arrived and the gcd of their distances from the first — the
    stride (1 for records, S for windows of stride S).  Memory is one small
    entry per id, whatever the order frames arrive in (fan-in from several
    workers reorders them).  At the end, every id whose arrivals fall short
    of (highest - lowest) / stride + 1 has lost records.  */
#ifndef VIGIL_SEQCHECK_H
#define VIGIL_SEQCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _seqcheck_t seqcheck_t;

seqcheck_t *
    seqcheck_new (void);
void
    seqcheck_destroy (seqcheck_t **self_p);
//  Account one record.
void
    seqcheck_add (seqcheck_t *self, const char *id, uint64_t seq);
//  Print one line per id with missing records ("prefix: id 'p3': 12 of 500
//  records missing (seq 1..500)") to f; returns the total missing.
uint64_t
    seqcheck_report (seqcheck_t *self, FILE *f, const char *prefix);

void
    seqcheck_test (bool verbose);

#endif
