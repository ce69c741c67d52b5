/*  record: see record.h.

    Extras are stored as an index of spans into one byte buffer: the key's
    bytes (not packed) and the value's packed bytes.  Replacing a key appends
    new bytes and repoints the span; record_clear resets the buffer, so its
    size is bounded by the largest frame.  */
#include "record.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "mp.h"

struct record_extra {
    size_t koff, klen;          //  key bytes in xbuf
    size_t voff, vlen;          //  packed value bytes in xbuf
};

void
record_init (record_t *rec)
{
    memset (rec, 0, sizeof *rec);
}

void
record_destroy (record_t *rec)
{
    free (rec->v_name);
    free (rec->v_val);
    free (rec->x);
    free (rec->extra);
    free (rec->xbuf);
    memset (rec, 0, sizeof *rec);
}

void
record_clear (record_t *rec)
{
    rec->has = 0;
    rec->nv = rec->nx = rec->ntop = rec->nextra = rec->xbuf_len = 0;
    rec->id[0] = rec->kind[0] = 0;
    rec->label = 0;
    rec->anomaly = false;
}

static size_t
s_xbuf_append (record_t *rec, const void *data, size_t n)
{
    if (n == 0)
        return rec->xbuf_len;
    xgrow ((void **) &rec->xbuf, &rec->xbuf_cap, rec->xbuf_len + n, 1);
    size_t off = rec->xbuf_len;
    memcpy (rec->xbuf + off, data, n);
    rec->xbuf_len += n;
    return off;
}

static int
s_xbuf_write (void *data, const char *buf, size_t len)
{
    s_xbuf_append (data, buf, len);
    return 0;
}

void
record_copy (record_t *dst, const record_t *src)
{
    record_clear (dst);
    dst->has = src->has;
    dst->t = src->t;
    memcpy (dst->id, src->id, sizeof dst->id);
    dst->seq = src->seq;
    xgrow ((void **) &dst->v_name, &dst->v_cap, src->nv, sizeof *dst->v_name);
    dst->v_val = xrealloc (dst->v_val, dst->v_cap * sizeof *dst->v_val);
    if (src->nv) {
        memcpy (dst->v_name, src->v_name, src->nv * sizeof *src->v_name);
        memcpy (dst->v_val, src->v_val, src->nv * sizeof *src->v_val);
    }
    dst->nv = src->nv;
    float *x = record_x_resize (dst, src->nx);
    if (src->nx)
        memcpy (x, src->x, src->nx * sizeof (float));
    dst->has = src->has;        //  resizing x marked it present
    dst->label = src->label;
    memcpy (dst->kind, src->kind, sizeof dst->kind);
    dst->score = src->score;
    dst->ntop = src->ntop;
    memcpy (dst->top, src->top, sizeof dst->top);
    dst->anomaly = src->anomaly;
    xgrow ((void **) &dst->extra, &dst->extra_cap, src->nextra, sizeof *dst->extra);
    if (src->nextra)
        memcpy (dst->extra, src->extra, src->nextra * sizeof *src->extra);
    dst->nextra = src->nextra;
    dst->xbuf_len = 0;
    s_xbuf_append (dst, src->xbuf, src->xbuf_len);
}

long
record_v_find (const record_t *rec, const char *name)
{
    for (size_t i = 0; i < rec->nv; i++)
        if (!strcmp (rec->v_name[i], name))
            return (long) i;
    return -1;
}

static void
s_v_append (record_t *rec, const char *name, size_t len, double value)
{
    if (rec->nv == rec->v_cap) {
        xgrow ((void **) &rec->v_name, &rec->v_cap, rec->nv + 1, sizeof *rec->v_name);
        rec->v_val = xrealloc (rec->v_val, rec->v_cap * sizeof *rec->v_val);
    }
    memcpy (rec->v_name[rec->nv], name, len);
    rec->v_name[rec->nv][len] = 0;
    rec->v_val[rec->nv++] = value;
}

void
record_v_set (record_t *rec, const char *name, double value)
{
    long i = record_v_find (rec, name);
    if (i >= 0)
        rec->v_val[i] = value;
    else {
        size_t len = strlen (name);
        assert (len < REC_NAME_MAX);
        s_v_append (rec, name, len, value);
    }
    rec->has |= REC_V;
}

float *
record_x_resize (record_t *rec, size_t n)
{
    xgrow ((void **) &rec->x, &rec->x_cap, n, sizeof *rec->x);
    rec->nx = n;
    rec->has |= REC_X;
    return rec->x;
}

void
record_set_id (record_t *rec, const char *id)
{
    snprintf (rec->id, sizeof rec->id, "%s", id);
    rec->has |= REC_ID;
}

void
record_set_kind (record_t *rec, const char *kind)
{
    snprintf (rec->kind, sizeof rec->kind, "%s", kind);
    rec->has |= REC_KIND;
}

//  --- decoding --------------------------------------------------------------

static bool
s_key (const msgpack_object *k, const char *name, size_t n)
{
    return k->via.str.size == n && memcmp (k->via.str.ptr, name, n) == 0;
}

static int
s_str_field (const msgpack_object *v, char *buf, size_t size, const char *key, char *err)
{
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf (buf, size, "%llu", (unsigned long long) v->via.u64);
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_STR)
        return errf (err, "key '%s': not a string", key);
    if (mp_strcpy (v, buf, size))
        return errf (err, "key '%s': string longer than %zu bytes or holds a NUL", key, size - 1);
    return 0;
}

static int
s_decode_v (record_t *rec, const msgpack_object *v, char *err)
{
    if (v->type != MSGPACK_OBJECT_MAP)
        return errf (err, "key 'v': not a map of readings");
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object *k = &v->via.map.ptr[i].key, *val = &v->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0
            || k->via.str.size >= REC_NAME_MAX || memchr (k->via.str.ptr, 0, k->via.str.size))
            return errf (err, "key 'v': reading %u has a bad name", i + 1);
        double d;
        if (val->type == MSGPACK_OBJECT_NIL)
            d = NAN;
        else if (mp_as_double (val, &d))
            return errf (err, "key 'v': reading '%.*s' is not a number",
                         (int) k->via.str.size, k->via.str.ptr);
        s_v_append (rec, k->via.str.ptr, k->via.str.size, d);
    }
    rec->has |= REC_V;
    return 0;
}

static int
s_decode_x (record_t *rec, const msgpack_object *v, char *err)
{
    if (v->type == MSGPACK_OBJECT_BIN) {
        if (v->via.bin.size % 4)
            return errf (err, "key 'x': binary of %u bytes is not float32 data", v->via.bin.size);
        float *x = record_x_resize (rec, v->via.bin.size / 4);
        const unsigned char *p = (const unsigned char *) v->via.bin.ptr;
        for (size_t i = 0; i < rec->nx; i++, p += 4) {
            uint32_t u = (uint32_t) p[0] | (uint32_t) p[1] << 8
                       | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
            memcpy (&x[i], &u, 4);
        }
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return errf (err, "key 'x': not an array of numbers");
    float *x = record_x_resize (rec, v->via.array.size);
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *e = &v->via.array.ptr[i];
        if (e->type == MSGPACK_OBJECT_FLOAT32 || e->type == MSGPACK_OBJECT_FLOAT64)
            x[i] = (float) e->via.f64;
        else {
            double d;
            if (mp_as_double (e, &d))
                return errf (err, "key 'x': element %u is not a number", i + 1);
            x[i] = (float) d;
        }
    }
    return 0;
}

static int
s_decode_top (record_t *rec, const msgpack_object *v, char *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return errf (err, "key 'top': not an array");
    if (v->via.array.size > REC_TOP_MAX)
        return errf (err, "key 'top': more than %d entries", REC_TOP_MAX);
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *e = &v->via.array.ptr[i];
        record_top_t *t = &rec->top[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 2 || e->via.array.size > 4
            || mp_strcpy (&e->via.array.ptr[0], t->field, sizeof t->field)
            || mp_as_double (&e->via.array.ptr[1], &t->contrib))
            return errf (err, "key 'top': entry %u is not [field, contribution, observed, expected]", i + 1);
        t->observed = t->expected = NAN;
        if (e->via.array.size > 2 && e->via.array.ptr[2].type != MSGPACK_OBJECT_NIL
            && mp_as_double (&e->via.array.ptr[2], &t->observed))
            return errf (err, "key 'top': entry %u: observed is not a number", i + 1);
        if (e->via.array.size > 3 && e->via.array.ptr[3].type != MSGPACK_OBJECT_NIL
            && mp_as_double (&e->via.array.ptr[3], &t->expected))
            return errf (err, "key 'top': entry %u: expected is not a number", i + 1);
    }
    rec->ntop = v->via.array.size;
    rec->has |= REC_TOP;
    return 0;
}

static void
s_extra_add (record_t *rec, const char *key, size_t klen, const msgpack_object *val)
{
    xgrow ((void **) &rec->extra, &rec->extra_cap, rec->nextra + 1, sizeof *rec->extra);
    struct record_extra *e = &rec->extra[rec->nextra++];
    e->koff = s_xbuf_append (rec, key, klen);
    e->klen = klen;
    e->voff = rec->xbuf_len;
    msgpack_packer pk;
    msgpack_packer_init (&pk, rec, s_xbuf_write);
    msgpack_pack_object (&pk, *val);
    e->vlen = rec->xbuf_len - e->voff;
}

int
record_decode (record_t *rec, const msgpack_object *obj, char *err)
{
    record_clear (rec);
    if (obj->type != MSGPACK_OBJECT_MAP)
        return errf (err, "frame is not a map");
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key, *v = &obj->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return errf (err, "key %u is not a string", i + 1);
        double d;
        switch (k->via.str.size) {
        case 1:
            if (s_key (k, "t", 1)) {
                if (mp_as_double (v, &d) || !isfinite (d))
                    return errf (err, "key 't': not a finite number");
                rec->t = d;
                rec->has |= REC_T;
                continue;
            }
            if (s_key (k, "v", 1)) {
                if (s_decode_v (rec, v, err))
                    return -1;
                continue;
            }
            if (s_key (k, "x", 1)) {
                if (s_decode_x (rec, v, err))
                    return -1;
                continue;
            }
            break;
        case 2:
            if (s_key (k, "id", 2)) {
                if (s_str_field (v, rec->id, sizeof rec->id, "id", err))
                    return -1;
                rec->has |= REC_ID;
                continue;
            }
            break;
        case 3:
            if (s_key (k, "seq", 3)) {
                if (mp_as_u64 (v, &rec->seq))
                    return errf (err, "key 'seq': not a non-negative integer");
                rec->has |= REC_SEQ;
                continue;
            }
            if (s_key (k, "top", 3)) {
                if (s_decode_top (rec, v, err))
                    return -1;
                continue;
            }
            break;
        case 4:
            if (s_key (k, "kind", 4)) {
                if (v->type == MSGPACK_OBJECT_NIL)
                    continue;
                if (s_str_field (v, rec->kind, sizeof rec->kind, "kind", err))
                    return -1;
                rec->has |= REC_KIND;
                continue;
            }
            break;
        case 5:
            if (s_key (k, "label", 5)) {
                uint64_t u;
                if (v->type == MSGPACK_OBJECT_BOOLEAN)
                    u = v->via.boolean;
                else if (mp_as_u64 (v, &u) || u > 1)
                    return errf (err, "key 'label': not 0 or 1");
                rec->label = (int) u;
                rec->has |= REC_LABEL;
                continue;
            }
            if (s_key (k, "score", 5)) {
                if (mp_as_double (v, &rec->score) || isnan (rec->score))
                    return errf (err, "key 'score': not a number");
                rec->has |= REC_SCORE;
                continue;
            }
            break;
        case 7:
            if (s_key (k, "anomaly", 7)) {
                uint64_t u;
                if (v->type == MSGPACK_OBJECT_BOOLEAN)
                    rec->anomaly = v->via.boolean;
                else if (!mp_as_u64 (v, &u) && u <= 1)
                    rec->anomaly = u;
                else
                    return errf (err, "key 'anomaly': not a boolean");
                rec->has |= REC_ANOMALY;
                continue;
            }
            break;
        }
        s_extra_add (rec, k->via.str.ptr, k->via.str.size, v);
    }
    return 0;
}

//  --- decoding straight from bytes -----------------------------------------
//
//  The hot path of every stage: no msgpack_object tree, known keys parsed in
//  place, unknown keys copied as the exact bytes they came in.  The frame's
//  extent was checked by frame_scan; every read here is still bounds-checked.

typedef struct {
    const unsigned char *p, *end;
} s_rd_t;

static inline uint64_t
s_be (const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

//  Read a str header; -1 if not a str or out of bounds.
static int
s_rd_str (s_rd_t *r, const char **s, size_t *n)
{
    if (r->p >= r->end)
        return -1;
    unsigned c = *r->p;
    size_t hdr, len;
    if (c >= 0xa0 && c <= 0xbf)
        hdr = 1, len = c & 0x1f;
    else if (c == 0xd9 && r->end - r->p >= 2)
        hdr = 2, len = r->p[1];
    else if (c == 0xda && r->end - r->p >= 3)
        hdr = 3, len = s_be (r->p + 1, 2);
    else if (c == 0xdb && r->end - r->p >= 5)
        hdr = 5, len = s_be (r->p + 1, 4);
    else
        return -1;
    if ((size_t) (r->end - r->p) < hdr + len)
        return -1;
    *s = (const char *) r->p + hdr;
    *n = len;
    r->p += hdr + len;
    return 0;
}

//  Read any number (or nil when nil_ok, as NaN).  1 = number, 0 = nil,
//  -1 = another type (not consumed).
static int
s_rd_num (s_rd_t *r, double *d)
{
    if (r->p >= r->end)
        return -1;
    unsigned c = *r->p;
    long avail = r->end - r->p;
    if (c <= 0x7f) {
        *d = c;
        r->p++;
        return 1;
    }
    if (c >= 0xe0) {
        *d = (int8_t) c;
        r->p++;
        return 1;
    }
    int n;
    switch (c) {
    case 0xc0: *d = NAN; r->p++; return 0;
    case 0xca: case 0xce: case 0xd2: n = 4; break;
    case 0xcb: case 0xcf: case 0xd3: n = 8; break;
    case 0xcc: case 0xd0: n = 1; break;
    case 0xcd: case 0xd1: n = 2; break;
    default: return -1;
    }
    if (avail < n + 1)
        return -1;
    uint64_t u = s_be (r->p + 1, n);
    switch (c) {
    case 0xca: { uint32_t w = (uint32_t) u; float f; memcpy (&f, &w, 4); *d = f; break; }
    case 0xcb: memcpy (d, &u, 8); break;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: *d = (double) u; break;
    case 0xd0: *d = (int8_t) u; break;
    case 0xd1: *d = (int16_t) u; break;
    case 0xd2: *d = (int32_t) u; break;
    case 0xd3: *d = (double) (int64_t) u; break;
    }
    r->p += n + 1;
    return 1;
}

//  Container header of the given family (0x80 map, 0x90 array).
static int
s_rd_container (s_rd_t *r, bool map, uint64_t *n)
{
    if (r->p >= r->end)
        return -1;
    unsigned c = *r->p;
    long avail = r->end - r->p;
    unsigned fix = map ? 0x80 : 0x90, c16 = map ? 0xde : 0xdc, c32 = map ? 0xdf : 0xdd;
    if (c >= fix && c <= fix + 15) {
        *n = c & 0x0f;
        r->p++;
    }
    else if (c == c16 && avail >= 3) {
        *n = s_be (r->p + 1, 2);
        r->p += 3;
    }
    else if (c == c32 && avail >= 5) {
        *n = s_be (r->p + 1, 4);
        r->p += 5;
    }
    else
        return -1;
    return 0;
}

static const char *
s_type_name (unsigned c)
{
    if (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3))
        return "an integer";
    if (c >= 0x80 && c <= 0x8f) return "a map";
    if (c >= 0x90 && c <= 0x9f) return "an array";
    if (c >= 0xa0 && c <= 0xbf) return "a string";
    switch (c) {
    case 0xc0: return "nil";
    case 0xc2: case 0xc3: return "a boolean";
    case 0xca: case 0xcb: return "a float";
    case 0xd9: case 0xda: case 0xdb: return "a string";
    case 0xc4: case 0xc5: case 0xc6: return "binary";
    case 0xdc: case 0xdd: return "an array";
    case 0xde: case 0xdf: return "a map";
    default: return "an extension";
    }
}

//  Skip one value; its span is [*start, r->p).
static int
s_rd_skip (s_rd_t *r)
{
    long n = frame_scan ((const char *) r->p, r->end - r->p);
    if (n <= 0)
        return -1;
    r->p += n;
    return 0;
}

static int
s_raw_v (record_t *rec, s_rd_t *r, char *err)
{
    uint64_t n;
    if (s_rd_container (r, true, &n))
        return errf (err, "key 'v': not a map of readings");
    for (uint64_t i = 0; i < n; i++) {
        const char *name;
        size_t len;
        if (s_rd_str (r, &name, &len) || len == 0 || len >= REC_NAME_MAX || memchr (name, 0, len))
            return errf (err, "key 'v': reading %llu has a bad name", (unsigned long long) i + 1);
        double d;
        if (s_rd_num (r, &d) < 0)
            return errf (err, "key 'v': reading '%.*s' is not a number (%s)", (int) len, name,
                         r->p < r->end ? s_type_name (*r->p) : "missing");
        s_v_append (rec, name, len, d);
    }
    rec->has |= REC_V;
    return 0;
}

static int
s_raw_x (record_t *rec, s_rd_t *r, char *err)
{
    uint64_t n;
    if (r->p < r->end && (*r->p == 0xc4 || *r->p == 0xc5 || *r->p == 0xc6)) {
        const unsigned char *start = r->p;
        if (s_rd_skip (r))
            return errf (err, "key 'x': bad binary");
        size_t hdr = *start == 0xc4 ? 2 : *start == 0xc5 ? 3 : 5;
        size_t bytes = (size_t) (r->p - start) - hdr;
        if (bytes % 4)
            return errf (err, "key 'x': binary of %zu bytes is not float32 data", bytes);
        float *x = record_x_resize (rec, bytes / 4);
        const unsigned char *p = start + hdr;
        for (size_t i = 0; i < rec->nx; i++, p += 4) {
            uint32_t u = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
            memcpy (&x[i], &u, 4);
        }
        return 0;
    }
    if (s_rd_container (r, false, &n))
        return errf (err, "key 'x': not an array of numbers");
    if (n > (uint64_t) (r->end - r->p))
        return errf (err, "key 'x': array of %llu elements is longer than the frame",
                     (unsigned long long) n);
    float *x = record_x_resize (rec, n);
    for (uint64_t i = 0; i < n; i++) {
        //  the common case, float32, without the general path
        if (*r->p == 0xca && r->end - r->p >= 5) {
            uint32_t w = (uint32_t) s_be (r->p + 1, 4);
            memcpy (&x[i], &w, 4);
            r->p += 5;
            continue;
        }
        double d;
        if (s_rd_num (r, &d) != 1)
            return errf (err, "key 'x': element %llu is not a number", (unsigned long long) i + 1);
        x[i] = (float) d;
    }
    return 0;
}

static int
s_raw_top (record_t *rec, s_rd_t *r, char *err)
{
    uint64_t n;
    if (s_rd_container (r, false, &n))
        return errf (err, "key 'top': not an array");
    if (n > REC_TOP_MAX)
        return errf (err, "key 'top': more than %d entries", REC_TOP_MAX);
    for (uint64_t i = 0; i < n; i++) {
        record_top_t *t = &rec->top[i];
        uint64_t m;
        const char *s;
        size_t len;
        if (s_rd_container (r, false, &m) || m < 2 || m > 4 || s_rd_str (r, &s, &len)
            || len >= sizeof t->field || memchr (s, 0, len) || s_rd_num (r, &t->contrib) != 1)
            return errf (err, "key 'top': entry %llu is not [field, contribution, observed, expected]",
                         (unsigned long long) i + 1);
        memcpy (t->field, s, len);
        t->field[len] = 0;
        t->observed = t->expected = NAN;
        if (m > 2 && s_rd_num (r, &t->observed) < 0)
            return errf (err, "key 'top': entry %llu: observed is not a number", (unsigned long long) i + 1);
        if (m > 3 && s_rd_num (r, &t->expected) < 0)
            return errf (err, "key 'top': entry %llu: expected is not a number", (unsigned long long) i + 1);
    }
    rec->ntop = n;
    rec->has |= REC_TOP;
    return 0;
}

static int
s_raw_strfield (s_rd_t *r, char *buf, size_t size, const char *key, char *err)
{
    const char *s;
    size_t len;
    if (r->p < r->end && *r->p <= 0x7f) {       //  a small integer id
        snprintf (buf, size, "%u", *r->p++);
        return 0;
    }
    double d;
    if (r->p < r->end && (*r->p == 0xcc || *r->p == 0xcd || *r->p == 0xce || *r->p == 0xcf)
        && s_rd_num (r, &d) == 1) {
        snprintf (buf, size, "%.0f", d);
        return 0;
    }
    if (s_rd_str (r, &s, &len))
        return errf (err, "key '%s': not a string (%s)", key, r->p < r->end ? s_type_name (*r->p) : "missing");
    if (len >= size || memchr (s, 0, len))
        return errf (err, "key '%s': string longer than %zu bytes or holds a NUL", key, size - 1);
    memcpy (buf, s, len);
    buf[len] = 0;
    return 0;
}

int
record_decode_raw (record_t *rec, const char *data, size_t size, char *err)
{
    record_clear (rec);
    s_rd_t r = {(const unsigned char *) data, (const unsigned char *) data + size};
    uint64_t n;
    if (s_rd_container (&r, true, &n))
        return errf (err, "frame is not a map");
    for (uint64_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        if (s_rd_str (&r, &key, &klen)) {
            if (r.p < r.end && s_rd_skip (&r) == 0 && s_rd_skip (&r) == 0)
                return errf (err, "key %llu is not a string", (unsigned long long) i + 1);
            return errf (err, "key %llu is not a string", (unsigned long long) i + 1);
        }
        double d;
        int got;
        switch (klen) {
        case 1:
            if (key[0] == 't') {
                if (s_rd_num (&r, &d) != 1 || !isfinite (d))
                    return errf (err, "key 't': not a finite number");
                rec->t = d;
                rec->has |= REC_T;
                continue;
            }
            if (key[0] == 'v') {
                if (s_raw_v (rec, &r, err))
                    return -1;
                continue;
            }
            if (key[0] == 'x') {
                if (s_raw_x (rec, &r, err))
                    return -1;
                continue;
            }
            break;
        case 2:
            if (!memcmp (key, "id", 2)) {
                if (s_raw_strfield (&r, rec->id, sizeof rec->id, "id", err))
                    return -1;
                rec->has |= REC_ID;
                continue;
            }
            break;
        case 3:
            if (!memcmp (key, "seq", 3)) {
                if (s_rd_num (&r, &d) != 1 || !(d >= 0) || d != floor (d) || d >= 1.8446744073709552e19)
                    return errf (err, "key 'seq': not a non-negative integer");
                //  exact for every uint64: re-read the integer bits when large
                rec->seq = (uint64_t) d;
                if (d >= 9007199254740992.0 && r.p[-9] == (unsigned char) 0xcf)
                    rec->seq = s_be (r.p - 8, 8);
                rec->has |= REC_SEQ;
                continue;
            }
            if (!memcmp (key, "top", 3)) {
                if (s_raw_top (rec, &r, err))
                    return -1;
                continue;
            }
            break;
        case 4:
            if (!memcmp (key, "kind", 4)) {
                if (r.p < r.end && *r.p == 0xc0) {
                    r.p++;
                    continue;
                }
                if (s_raw_strfield (&r, rec->kind, sizeof rec->kind, "kind", err))
                    return -1;
                rec->has |= REC_KIND;
                continue;
            }
            break;
        case 5:
            if (!memcmp (key, "label", 5)) {
                if (r.p < r.end && (*r.p == 0xc2 || *r.p == 0xc3))
                    d = *r.p++ == 0xc3;
                else if ((got = s_rd_num (&r, &d)) != 1 || (d != 0 && d != 1))
                    return errf (err, "key 'label': not 0 or 1");
                rec->label = (int) d;
                rec->has |= REC_LABEL;
                continue;
            }
            if (!memcmp (key, "score", 5)) {
                if (s_rd_num (&r, &d) != 1 || isnan (d))
                    return errf (err, "key 'score': not a number");
                rec->score = d;
                rec->has |= REC_SCORE;
                continue;
            }
            break;
        case 7:
            if (!memcmp (key, "anomaly", 7)) {
                if (r.p < r.end && (*r.p == 0xc2 || *r.p == 0xc3))
                    rec->anomaly = *r.p++ == 0xc3;
                else if (s_rd_num (&r, &d) == 1 && (d == 0 || d == 1))
                    rec->anomaly = d == 1;
                else
                    return errf (err, "key 'anomaly': not a boolean");
                rec->has |= REC_ANOMALY;
                continue;
            }
            break;
        }
        //  an unknown key: keep its value's exact bytes
        const unsigned char *vstart = r.p;
        if (s_rd_skip (&r))
            return errf (err, "key '%.*s': truncated value", (int) klen, key);
        xgrow ((void **) &rec->extra, &rec->extra_cap, rec->nextra + 1, sizeof *rec->extra);
        struct record_extra *e = &rec->extra[rec->nextra++];
        e->koff = s_xbuf_append (rec, key, klen);
        e->klen = klen;
        e->voff = s_xbuf_append (rec, vstart, (size_t) (r.p - vstart));
        e->vlen = (size_t) (r.p - vstart);
    }
    if (r.p != r.end)
        return errf (err, "frame has %ld bytes after its map", (long) (r.end - r.p));
    return 0;
}

//  --- encoding --------------------------------------------------------------

static void
s_pack_key (msgpack_packer *pk, const char *key, size_t n)
{
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, key, n);
}

static void
s_pack_num (msgpack_packer *pk, double d)
{
    if (isnan (d))
        msgpack_pack_nil (pk);
    else
        msgpack_pack_double (pk, d);
}

void
record_encode (const record_t *rec, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    unsigned has = rec->has;
    size_t n = rec->nextra;
    for (unsigned b = has; b; b &= b - 1)
        n++;
    msgpack_pack_map (&pk, n);
    if (has & REC_T) {
        s_pack_key (&pk, "t", 1);
        msgpack_pack_double (&pk, rec->t);
    }
    if (has & REC_ID) {
        s_pack_key (&pk, "id", 2);
        mp_pack_str (&pk, rec->id);
    }
    if (has & REC_SEQ) {
        s_pack_key (&pk, "seq", 3);
        msgpack_pack_uint64 (&pk, rec->seq);
    }
    if (has & REC_V) {
        s_pack_key (&pk, "v", 1);
        msgpack_pack_map (&pk, rec->nv);
        for (size_t i = 0; i < rec->nv; i++) {
            mp_pack_str (&pk, rec->v_name[i]);
            s_pack_num (&pk, rec->v_val[i]);
        }
    }
    if (has & REC_X) {
        s_pack_key (&pk, "x", 1);
        msgpack_pack_array (&pk, rec->nx);
        //  float32 elements written in blocks: one buffer append per 64
        char tmp[5 * 64];
        for (size_t i = 0; i < rec->nx; i += 64) {
            size_t m = rec->nx - i < 64 ? rec->nx - i : 64;
            for (size_t j = 0; j < m; j++) {
                uint32_t u;
                memcpy (&u, &rec->x[i + j], 4);
                char *p = tmp + 5 * j;
                p[0] = (char) 0xca;
                p[1] = (char) (u >> 24);
                p[2] = (char) (u >> 16);
                p[3] = (char) (u >> 8);
                p[4] = (char) u;
            }
            msgpack_sbuffer_write (sb, tmp, 5 * m);
        }
    }
    if (has & REC_LABEL) {
        s_pack_key (&pk, "label", 5);
        msgpack_pack_uint8 (&pk, (uint8_t) rec->label);
    }
    if (has & REC_KIND) {
        s_pack_key (&pk, "kind", 4);
        mp_pack_str (&pk, rec->kind);
    }
    if (has & REC_SCORE) {
        s_pack_key (&pk, "score", 5);
        msgpack_pack_double (&pk, rec->score);
    }
    if (has & REC_TOP) {
        s_pack_key (&pk, "top", 3);
        msgpack_pack_array (&pk, rec->ntop);
        for (size_t i = 0; i < rec->ntop; i++) {
            const record_top_t *t = &rec->top[i];
            msgpack_pack_array (&pk, 4);
            mp_pack_str (&pk, t->field);
            msgpack_pack_double (&pk, t->contrib);
            s_pack_num (&pk, t->observed);
            s_pack_num (&pk, t->expected);
        }
    }
    if (has & REC_ANOMALY) {
        s_pack_key (&pk, "anomaly", 7);
        if (rec->anomaly)
            msgpack_pack_true (&pk);
        else
            msgpack_pack_false (&pk);
    }
    for (size_t i = 0; i < rec->nextra; i++) {
        const struct record_extra *e = &rec->extra[i];
        s_pack_key (&pk, rec->xbuf + e->koff, e->klen);
        msgpack_sbuffer_write (sb, rec->xbuf + e->voff, e->vlen);
    }
}

//  --- extras ----------------------------------------------------------------

static long
s_extra_find (const record_t *rec, const char *key)
{
    size_t n = strlen (key);
    for (size_t i = 0; i < rec->nextra; i++)
        if (rec->extra[i].klen == n && !memcmp (rec->xbuf + rec->extra[i].koff, key, n))
            return (long) i;
    return -1;
}

const char *
record_extra_get (const record_t *rec, const char *key, size_t *size)
{
    long i = s_extra_find (rec, key);
    if (i < 0)
        return NULL;
    *size = rec->extra[i].vlen;
    return rec->xbuf + rec->extra[i].voff;
}

int
record_extra_unpack (const record_t *rec, const char *key, msgpack_unpacked *out)
{
    size_t size, off = 0;
    const char *raw = record_extra_get (rec, key, &size);
    if (!raw)
        return -1;
    return msgpack_unpack_next (out, raw, size, &off) == MSGPACK_UNPACK_SUCCESS ? 0 : -1;
}

int
record_extra_double (const record_t *rec, const char *key, double *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = record_extra_unpack (rec, key, &u) ? -1 : mp_as_double (&u.data, out);
    msgpack_unpacked_destroy (&u);
    return rc;
}

void
record_extra_set (record_t *rec, const char *key, const char *val, size_t size)
{
    long i = s_extra_find (rec, key);
    if (i < 0) {
        xgrow ((void **) &rec->extra, &rec->extra_cap, rec->nextra + 1, sizeof *rec->extra);
        i = (long) rec->nextra++;
        rec->extra[i].klen = strlen (key);
        rec->extra[i].koff = s_xbuf_append (rec, key, rec->extra[i].klen);
    }
    //  val may point into xbuf itself: copy through the append, which may move it
    if (rec->xbuf && val >= rec->xbuf && val < rec->xbuf + rec->xbuf_len) {
        size_t voff = (size_t) (val - rec->xbuf);
        xgrow ((void **) &rec->xbuf, &rec->xbuf_cap, rec->xbuf_len + size, 1);
        memcpy (rec->xbuf + rec->xbuf_len, rec->xbuf + voff, size);
        rec->extra[i].voff = rec->xbuf_len;
        rec->xbuf_len += size;
    }
    else
        rec->extra[i].voff = s_xbuf_append (rec, val, size);
    rec->extra[i].vlen = size;
}

//  Pack one value with fn into a scratch buffer, then set it.
#define EXTRA_PACK(rec, key, stmt)                                   \
    do {                                                             \
        char tmp_[256];                                              \
        msgpack_sbuffer sb_ = {0};                                   \
        msgpack_packer pk_;                                          \
        msgpack_packer_init (&pk_, &sb_, msgpack_sbuffer_write);     \
        msgpack_packer *pk = &pk_;                                   \
        stmt;                                                        \
        (void) tmp_;                                                 \
        record_extra_set (rec, key, sb_.data, sb_.size);             \
        msgpack_sbuffer_destroy (&sb_);                              \
    } while (0)

void
record_extra_set_double (record_t *rec, const char *key, double val)
{
    EXTRA_PACK (rec, key, msgpack_pack_double (pk, val));
}

void
record_extra_set_str (record_t *rec, const char *key, const char *val)
{
    EXTRA_PACK (rec, key, mp_pack_str (pk, val));
}

void
record_extra_set_floats (record_t *rec, const char *key, const float *v, size_t n)
{
    EXTRA_PACK (rec, key, {
        msgpack_pack_array (pk, n);
        for (size_t i = 0; i < n; i++)
            msgpack_pack_float (pk, v[i]);
    });
}

void
record_extra_del (record_t *rec, const char *key)
{
    long i = s_extra_find (rec, key);
    if (i < 0)
        return;
    memmove (&rec->extra[i], &rec->extra[i + 1], (rec->nextra - i - 1) * sizeof *rec->extra);
    rec->nextra--;
}

void
record_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    record_t a, b;
    record_init (&a);
    record_init (&b);
    a.t = 1767225600.25;
    a.has |= REC_T;
    record_set_id (&a, "p007");
    a.seq = 1ULL << 40;
    a.has |= REC_SEQ;
    record_v_set (&a, "hr", 72);
    record_v_set (&a, "spo2", NAN);
    record_v_set (&a, "temp", 36.6);
    float *x = record_x_resize (&a, 3);
    x[0] = 0.5f, x[1] = -1e-7f, x[2] = 3e38f;
    a.label = 1;
    a.has |= REC_LABEL;
    record_set_kind (&a, "replay");
    a.score = 12.5;
    a.has |= REC_SCORE;
    a.ntop = 1;
    snprintf (a.top[0].field, sizeof a.top[0].field, "spo2");
    a.top[0].contrib = 3.25, a.top[0].observed = 84, a.top[0].expected = 97;
    a.has |= REC_TOP;
    a.anomaly = true;
    a.has |= REC_ANOMALY;
    record_extra_set_str (&a, "note", "keep me");
    record_extra_set_double (&a, "thr", 1.5);
    record_extra_set_double (&a, "thr", 2.5);       //  replace
    float m[2] = {0, 1};
    record_extra_set_floats (&a, "mask", m, 2);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    record_encode (&a, &sb);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    assert (record_decode (&b, &u.data, err) == 0);
    assert (b.has == a.has && b.t == a.t && !strcmp (b.id, "p007") && b.seq == a.seq);
    assert (b.nv == 3 && b.v_val[0] == 72 && isnan (b.v_val[1]) && b.v_val[2] == 36.6);
    assert (b.nx == 3 && !memcmp (b.x, a.x, 3 * sizeof (float)));
    assert (b.label == 1 && !strcmp (b.kind, "replay") && b.score == 12.5 && b.anomaly);
    assert (b.ntop == 1 && !strcmp (b.top[0].field, "spo2") && b.top[0].expected == 97);
    double thr;
    assert (record_extra_double (&b, "thr", &thr) == 0 && thr == 2.5);
    assert (b.nextra == 3);
    //  re-encoding the decoded record gives the same bytes
    msgpack_sbuffer sb2;
    msgpack_sbuffer_init (&sb2);
    record_encode (&b, &sb2);
    assert (sb2.size == sb.size && !memcmp (sb.data, sb2.data, sb.size));
    //  the raw decoder gives the same record and the same bytes again
    record_t r2;
    record_init (&r2);
    assert (record_decode_raw (&r2, sb.data, sb.size, err) == 0);
    assert (r2.has == a.has && r2.seq == a.seq && r2.nv == 3 && isnan (r2.v_val[1]));
    assert (r2.nx == 3 && !memcmp (r2.x, a.x, 3 * sizeof (float)) && r2.ntop == 1);
    sb2.size = 0;
    record_encode (&r2, &sb2);
    assert (sb2.size == sb.size && !memcmp (sb.data, sb2.data, sb.size));
    //  a large seq survives exactly
    r2.seq = (1ULL << 63) + 12345;
    sb2.size = 0;
    record_encode (&r2, &sb2);
    assert (record_decode_raw (&r2, sb2.data, sb2.size, err) == 0 && r2.seq == (1ULL << 63) + 12345);
    record_destroy (&r2);
    //  copy, delete an extra
    record_t c;
    record_init (&c);
    record_copy (&c, &b);
    record_extra_del (&c, "note");
    size_t sz;
    assert (!record_extra_get (&c, "note", &sz) && record_extra_get (&c, "mask", &sz));
    assert (c.nv == 3 && c.nx == 3);
    //  an empty record copies as empty (no x appears, no NULL copies)
    record_t e;
    record_init (&e);
    record_copy (&c, &e);
    assert (c.has == 0 && c.nv == 0 && c.nx == 0 && c.nextra == 0);
    record_destroy (&e);

    //  wrong types name the key
    const char *bad[][2] = {
        {"\x81\xa1t\xa3" "abc", "key 't'"},
        {"\x81\xa1v\x81\xa2hr\xa1x", "reading 'hr'"},
        {"\x81\xa1x\x92\x01\xa1z", "key 'x': element 2"},
        {"\x81\xa5label\x07", "key 'label'"},
        {"\x81\xa3seq\xff", "key 'seq'"},
        {"\x81\x01\x02", "key 1 is not a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        off = 0;
        assert (msgpack_unpack_next (&u, bad[i][0], strlen (bad[i][0]), &off) == MSGPACK_UNPACK_SUCCESS);
        assert (record_decode (&b, &u.data, err) == -1);
        if (!strstr (err, bad[i][1]))
            fprintf (stderr, "record_test: '%s' lacks '%s'\n", err, bad[i][1]);
        assert (strstr (err, bad[i][1]));
        assert (record_decode_raw (&b, bad[i][0], strlen (bad[i][0]), err) == -1);
        if (!strstr (err, bad[i][1]))
            fprintf (stderr, "record_test (raw): '%s' lacks '%s'\n", err, bad[i][1]);
        assert (strstr (err, bad[i][1]));
    }
    //  truncation anywhere is an error, never a read past the end
    for (size_t cut = 0; cut < sb.size; cut++)
        assert (record_decode_raw (&b, sb.data, cut, err) == -1);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    msgpack_sbuffer_destroy (&sb2);
    record_destroy (&a);
    record_destroy (&b);
    record_destroy (&c);
}
