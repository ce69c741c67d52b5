/*  seqcheck: see seqcheck.h.  */
#include "seqcheck.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    uint64_t first, lo, hi, count, stride;
} s_entry_t;

struct _seqcheck_t {
    zhashx_t *ids;              //  id -> s_entry_t
};

static uint64_t
s_gcd (uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

seqcheck_t *
seqcheck_new (void)
{
    seqcheck_t *self = xcalloc (1, sizeof *self);
    self->ids = zhashx_new ();
    zhashx_set_destructor (self->ids, s_free);
    return self;
}

void
seqcheck_destroy (seqcheck_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->ids);
    free (*self_p);
    *self_p = NULL;
}

void
seqcheck_add (seqcheck_t *self, const char *id, uint64_t seq)
{
    s_entry_t *e = zhashx_lookup (self->ids, id);
    if (!e) {
        e = xcalloc (1, sizeof *e);
        e->first = e->lo = e->hi = seq;
        zhashx_insert (self->ids, id, e);
    }
    e->lo = seq < e->lo ? seq : e->lo;
    e->hi = seq > e->hi ? seq : e->hi;
    e->count++;
    e->stride = s_gcd (e->stride, seq > e->first ? seq - e->first : e->first - seq);
}

uint64_t
seqcheck_report (seqcheck_t *self, FILE *f, const char *prefix)
{
    uint64_t missing = 0;
    for (s_entry_t *e = zhashx_first (self->ids); e; e = zhashx_next (self->ids)) {
        uint64_t stride = e->stride ? e->stride : 1;
        uint64_t expected = (e->hi - e->lo) / stride + 1;
        if (e->count < expected) {
            missing += expected - e->count;
            if (f)
                fprintf (f, "%s: id '%s': %llu of %llu records missing (seq %llu..%llu)\n", prefix,
                         (const char *) zhashx_cursor (self->ids),
                         (unsigned long long) (expected - e->count), (unsigned long long) expected,
                         (unsigned long long) e->lo, (unsigned long long) e->hi);
        }
    }
    return missing;
}

void
seqcheck_test (bool verbose)
{
    (void) verbose;
    seqcheck_t *sc = seqcheck_new ();
    //  a: complete but reordered; b: stride 3 with one lost; c: one record
    uint64_t a[] = {5, 3, 4, 1, 2};
    for (int i = 0; i < 5; i++)
        seqcheck_add (sc, "a", a[i]);
    uint64_t b[] = {10, 13, 19, 22};
    for (int i = 0; i < 4; i++)
        seqcheck_add (sc, "b", b[i]);
    seqcheck_add (sc, "c", 7);
    assert (seqcheck_report (sc, NULL, "t") == 1);
    seqcheck_add (sc, "b", 16);
    assert (seqcheck_report (sc, NULL, "t") == 0);
    seqcheck_destroy (&sc);
    seqcheck_destroy (&sc);
}
