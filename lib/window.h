/*  window: sliding windows of the last W feature vectors of each key (a
    patient), for models that look at a stretch of time rather than one
    reading.

    Each key has a ring buffer of W steps of F floats (F is fixed by the
    first record) with each step's label, kind and mask.  A record is pushed
    into its key's ring; once the ring holds W steps, every S-th record
    (stride) completes a window and becomes the output: the newest record,
    with
        x      W*F floats, oldest step first
        label  1 if any step had label 1 (0 if steps had labels, none 1;
               absent if no step had one)
        kind   the kind of the latest step with label 1 and a kind (absent
               if none)
        mask   W*F 0/1, oldest first (when the newest record has a mask;
               steps without one count as 0)
        w      W (extra key, so later stages can check the shape)
    and every other key (t, id, seq, v, extras) of the newest record.

    A gap in stream time longer than max_gap between two records of a key
    restarts its window (the older steps are dropped, counted).  A key with
    no record for `idle` seconds of stream time is evicted (counted), so
    memory is bounded by the keys active within that time, not by the
    stream.  */
#ifndef VIGIL_WINDOW_H
#define VIGIL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define WINDOW_MAX_SIZE 100000  //  largest W

typedef struct {
    size_t size;                //  W, steps per window (>= 1)
    size_t stride;              //  S, records between windows of a key (>= 1)
    const char *key;            //  record key that separates the streams ("id")
    double max_gap;             //  seconds; a longer gap restarts (0 = never)
    double idle;                //  seconds without records before eviction (0 = never)
} window_opts_t;

//  Defaults: W 10, S 1, key id, no max gap, idle 1h.
void
    window_opts_default (window_opts_t *opts);

typedef struct {
    uint64_t records;           //  records pushed
    uint64_t windows;           //  windows completed
    uint64_t restarts;          //  windows restarted after a gap
    uint64_t expired;           //  keys evicted as idle
    size_t keys, peak_keys;     //  keys held now, most at once
    size_t fields;              //  F (0 until the first record)
} window_counts_t;

typedef struct _window_t window_t;

window_t *
    window_new (const window_opts_t *opts);
void
    window_destroy (window_t **self_p);
//  Push a record.  1: rec now holds a completed window (write it); 0: held
//  (the window is not complete or not on the stride); -1 + err: bad record
//  (no `x`, an `x` of another length than the first record's, no key).
int
    window_push (window_t *self, record_t *rec, char *err);
const window_counts_t *
    window_counts (const window_t *self);
//  The counts as one line of text (for -v), into buf.
void
    window_summary (const window_t *self, char *buf, size_t size);

void
    window_test (bool verbose);

#endif
