/*  window: see window.h.

    Per-key state is one keytab value block:
        s_head_t | float x[W*F] | uint8 mask[W*F] | uint8 label[W] | kind[W][REC_NAME_MAX]
    Slot `head` is the next to write, hence the oldest once the ring is full.
    The mask of a record is read straight from its packed bytes when they
    are the compact form norm writes, else unpacked.  */
#include "window.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"
#include "mp.h"

#define S_NO_LABEL 2            //  step label: the record had none

typedef struct {
    double last_t;              //  time of the key's last record
    bool has_t;                 //  last_t is set
    uint64_t filled;            //  steps pushed since the (re)start
    size_t head;                //  next slot to write
} s_head_t;

struct _window_t {
    window_opts_t o;
    size_t F;                   //  floats per step, fixed by the first record
    size_t W;
    keytab_t *kt;               //  key -> state block
    size_t off_mask, off_label, off_kind;   //  offsets in the state block
    double now;                 //  latest record time
    unsigned char *mask;        //  (F) this record's mask
    char *mask_raw;             //  packed W*F mask
    window_counts_t cnt;
};

void
window_opts_default (window_opts_t *opts)
{
    *opts = (window_opts_t) {.size = 10, .stride = 1, .key = "id", .max_gap = 0, .idle = 3600};
}

window_t *
window_new (const window_opts_t *opts)
{
    assert (opts->size >= 1 && opts->size <= WINDOW_MAX_SIZE && opts->stride >= 1);
    window_t *self = xcalloc (1, sizeof *self);
    self->o = *opts;
    self->W = opts->size;
    self->now = -INFINITY;
    return self;
}

void
window_destroy (window_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    window_t *self = *self_p;
    keytab_destroy (&self->kt);
    free (self->mask);
    free (self->mask_raw);
    free (self);
    *self_p = NULL;
}

static void
s_setup (window_t *self, size_t F)
{
    size_t W = self->W;
    self->F = self->cnt.fields = F;
    self->off_mask = sizeof (s_head_t) + W * F * sizeof (float);
    self->off_label = self->off_mask + W * F;
    self->off_kind = self->off_label + W;
    self->kt = keytab_new (self->off_kind + W * REC_NAME_MAX);
    self->mask = xmalloc (F);
    self->mask_raw = xmalloc (5 + W * F);
}

//  This record's mask into self->mask; false if it has none or it does not
//  have F entries of 0/1.
static bool
s_read_mask (window_t *self, const record_t *rec)
{
    size_t size, F = self->F;
    const unsigned char *p = (const unsigned char *) record_extra_get (rec, "mask", &size);
    if (!p)
        return false;
    size_t hdr = (p[0] & 0xf0) == 0x90 ? 1 : p[0] == 0xdc ? 3 : 0;
    size_t n = hdr == 1 ? (p[0] & 0x0f) : hdr == 3 && size >= 3 ? (size_t) p[1] << 8 | p[2] : 0;
    if (hdr && n == F && size == hdr + F) {
        for (size_t i = 0; i < F; i++)
            self->mask[i] = p[hdr + i] != 0;
        return true;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    bool ok = record_extra_unpack (rec, "mask", &u) == 0 && u.data.type == MSGPACK_OBJECT_ARRAY
              && u.data.via.array.size == F;
    for (size_t i = 0; ok && i < F; i++) {
        uint64_t b;
        ok = mp_as_u64 (&u.data.via.array.ptr[i], &b) == 0;
        self->mask[i] = ok && b != 0;
    }
    msgpack_unpacked_destroy (&u);
    return ok;
}

int
window_push (window_t *self, record_t *rec, char *err)
{
    if (!(rec->has & REC_X) || rec->nx == 0)
        return errf (err, "key 'x' missing (windows are made of vigil-norm apply output)");
    if (!self->kt)
        s_setup (self, rec->nx);
    size_t F = self->F, W = self->W;
    if (rec->nx != F)
        return errf (err, "key 'x': %zu values, the stream's first record had %zu", rec->nx, F);
    char key[REC_ID_MAX];
    if (keytab_record_key (rec, self->o.key, key, sizeof key))
        return errf (err, "key '%s' missing or not a string", self->o.key);
    bool has_t = (rec->has & REC_T) && isfinite (rec->t);
    if (has_t && rec->t > self->now)
        self->now = rec->t;
    if (self->o.idle > 0 && isfinite (self->now))
        self->cnt.expired += keytab_expire (self->kt, self->now - self->o.idle);
    char *block = keytab_get (self->kt, key, has_t ? rec->t : self->now, NULL);
    s_head_t *h = (s_head_t *) block;
    self->cnt.records++;
    self->cnt.keys = keytab_size (self->kt);
    self->cnt.peak_keys = keytab_peak (self->kt);

    if (has_t && h->has_t && self->o.max_gap > 0 && rec->t - h->last_t > self->o.max_gap
        && h->filled > 0) {
        h->filled = 0;
        h->head = 0;
        self->cnt.restarts++;
    }
    if (has_t) {
        h->last_t = rec->t;
        h->has_t = true;
    }
    float *xs = (float *) (block + sizeof (s_head_t));
    unsigned char *ms = (unsigned char *) block + self->off_mask;
    unsigned char *ls = (unsigned char *) block + self->off_label;
    char (*ks)[REC_NAME_MAX] = (char (*)[REC_NAME_MAX]) (block + self->off_kind);
    size_t slot = h->head;
    memcpy (xs + slot * F, rec->x, F * sizeof (float));
    bool has_mask = s_read_mask (self, rec);
    if (has_mask)
        memcpy (ms + slot * F, self->mask, F);
    else
        memset (ms + slot * F, 0, F);
    ls[slot] = (rec->has & REC_LABEL) ? rec->label != 0 : S_NO_LABEL;
    if (rec->has & REC_KIND)
        memcpy (ks[slot], rec->kind, REC_NAME_MAX);
    else
        ks[slot][0] = 0;
    h->head = (slot + 1) % W;
    h->filled++;
    if (h->filled < W || (h->filled - W) % self->o.stride)
        return 0;

    //  a completed window: oldest step at head
    float *x = record_x_resize (rec, W * F);
    int label = -1;
    const char *kind = NULL;
    size_t first = W - h->head;     //  steps from head to the end of the ring
    memcpy (x, xs + h->head * F, first * F * sizeof (float));
    memcpy (x + first * F, xs, h->head * F * sizeof (float));
    for (size_t k = 0; k < W; k++) {
        size_t s = (h->head + k) % W;
        if (ls[s] != S_NO_LABEL && (int) ls[s] > label)
            label = ls[s];
        if (ls[s] == 1 && ks[s][0])
            kind = ks[s];
    }
    if (label >= 0) {
        rec->label = label;
        rec->has |= REC_LABEL;
    }
    else
        rec->has &= ~(unsigned) REC_LABEL;
    if (kind)
        record_set_kind (rec, kind);
    else
        rec->has &= ~(unsigned) REC_KIND;
    if (has_mask) {
        size_t n = W * F, hdr;
        char *p = self->mask_raw;
        if (n < 16)
            p[0] = (char) (0x90 | n), hdr = 1;
        else if (n < 65536)
            p[0] = (char) 0xdc, p[1] = (char) (n >> 8), p[2] = (char) n, hdr = 3;
        else
            p[0] = (char) 0xdd, p[1] = (char) (n >> 24), p[2] = (char) (n >> 16),
            p[3] = (char) (n >> 8), p[4] = (char) n, hdr = 5;
        memcpy (p + hdr, ms + h->head * F, first * F);
        memcpy (p + hdr + first * F, ms, h->head * F);
        record_extra_set (rec, "mask", p, hdr + n);
    }
    char w[5];
    size_t wl;
    if (W < 128)
        w[0] = (char) W, wl = 1;
    else
        w[0] = (char) 0xce, w[1] = (char) (W >> 24), w[2] = (char) (W >> 16),
        w[3] = (char) (W >> 8), w[4] = (char) W, wl = 5;
    record_extra_set (rec, "w", w, wl);
    self->cnt.windows++;
    return 1;
}

const window_counts_t *
window_counts (const window_t *self)
{
    return &self->cnt;
}

void
window_summary (const window_t *self, char *buf, size_t size)
{
    const window_counts_t *k = &self->cnt;
    snprintf (buf, size, "%llu records, %llu windows of %zu x %zu, %llu gap restarts, "
              "%llu keys evicted as idle, %zu keys (peak %zu)",
              (unsigned long long) k->records, (unsigned long long) k->windows, self->W,
              k->fields, (unsigned long long) k->restarts, (unsigned long long) k->expired,
              k->keys, k->peak_keys);
}

//  --- test ------------------------------------------------------------------

static void
s_rec (record_t *rec, const char *id, double t, float a, float b, int label, const char *kind)
{
    record_clear (rec);
    record_set_id (rec, id);
    rec->t = t;
    rec->has |= REC_T;
    float *x = record_x_resize (rec, 2);
    x[0] = a;
    x[1] = b;
    rec->has |= REC_X;
    if (label >= 0) {
        rec->label = label;
        rec->has |= REC_LABEL;
    }
    if (kind)
        record_set_kind (rec, kind);
}

void
window_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    record_t rec;
    record_init (&rec);
    window_opts_t o;
    window_opts_default (&o);
    o.size = 3;
    o.max_gap = 10;
    o.idle = 100;
    window_t *w = window_new (&o);

    //  p1: steps 1..5 at t = 1..5, interleaved with p2; window of 3, stride 1
    s_rec (&rec, "p1", 1, 1, 10, 0, NULL);
    assert (window_push (w, &rec, err) == 0);
    s_rec (&rec, "p2", 1, 100, 100, 0, NULL);
    assert (window_push (w, &rec, err) == 0);
    s_rec (&rec, "p1", 2, 2, 20, 1, "spike");
    assert (window_push (w, &rec, err) == 0);
    s_rec (&rec, "p1", 3, 3, 30, 0, NULL);
    assert (window_push (w, &rec, err) == 1);
    float want[6] = {1, 10, 2, 20, 3, 30};
    assert (rec.nx == 6 && memcmp (rec.x, want, sizeof want) == 0);
    assert ((rec.has & REC_LABEL) && rec.label == 1 && !strcmp (rec.kind, "spike"));
    assert (rec.t == 3 && !strcmp (rec.id, "p1"));
    double wv;
    assert (record_extra_double (&rec, "w", &wv) == 0 && wv == 3);
    s_rec (&rec, "p1", 4, 4, 40, 0, NULL);
    assert (window_push (w, &rec, err) == 1);
    assert ((rec.has & REC_LABEL) && rec.label == 1 && (rec.has & REC_KIND));
    s_rec (&rec, "p1", 5, 5, 50, 0, NULL);
    assert (window_push (w, &rec, err) == 1);
    float want2[6] = {3, 30, 4, 40, 5, 50};
    assert (memcmp (rec.x, want2, sizeof want2) == 0);
    assert (rec.label == 0 && !(rec.has & REC_KIND));

    //  a gap of more than 10 s restarts p1
    s_rec (&rec, "p1", 20, 6, 60, -1, NULL);
    assert (window_push (w, &rec, err) == 0);
    s_rec (&rec, "p1", 21, 7, 70, -1, NULL);
    assert (window_push (w, &rec, err) == 0);
    s_rec (&rec, "p1", 22, 8, 80, -1, NULL);
    assert (window_push (w, &rec, err) == 1 && !(rec.has & REC_LABEL));
    float want3[6] = {6, 60, 7, 70, 8, 80};
    assert (memcmp (rec.x, want3, sizeof want3) == 0);
    assert (window_counts (w)->restarts == 1 && window_counts (w)->windows == 4);

    //  p2 idle for more than 100 s is evicted; bad records
    s_rec (&rec, "p1", 105, 9, 90, -1, NULL);
    assert (window_push (w, &rec, err) == 0);
    assert (window_counts (w)->expired == 1 && window_counts (w)->keys == 1);
    assert (window_counts (w)->restarts == 2);
    s_rec (&rec, "p1", 201, 9, 90, -1, NULL);
    record_x_resize (&rec, 3);
    assert (window_push (w, &rec, err) == -1 && strstr (err, "'x'"));
    record_clear (&rec);
    assert (window_push (w, &rec, err) == -1 && strstr (err, "'x'"));
    s_rec (&rec, "p1", 202, 9, 90, -1, NULL);
    rec.has &= ~(unsigned) REC_ID;
    assert (window_push (w, &rec, err) == -1 && strstr (err, "'id'"));
    char line[256];
    window_summary (w, line, sizeof line);
    assert (strstr (line, "4 windows of 3 x 2"));
    window_destroy (&w);

    //  stride 2, masks windowed with x
    o.size = 2;
    o.stride = 2;
    w = window_new (&o);
    for (int i = 0; i < 6; i++) {
        s_rec (&rec, "p", i, (float) i, 0, -1, NULL);
        char m[3] = {(char) 0x92, (char) (i == 2), 0};
        record_extra_set (&rec, "mask", m, 3);
        int rc = window_push (w, &rec, err);
        assert (rc == (i == 1 || i == 3 || i == 5));
        if (i == 3) {
            double mk[4];
            msgpack_unpacked u;
            msgpack_unpacked_init (&u);
            assert (record_extra_unpack (&rec, "mask", &u) == 0);
            assert (u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 4);
            for (int j = 0; j < 4; j++)
                mp_as_double (&u.data.via.array.ptr[j], &mk[j]);
            assert (mk[0] == 1 && mk[1] == 0 && mk[2] == 0 && mk[3] == 0);
            msgpack_unpacked_destroy (&u);
            assert (rec.x[0] == 2 && rec.x[2] == 3);
        }
    }
    window_destroy (&w);
    window_destroy (&w);
    record_destroy (&rec);
}
