/*  record: typed access to the frame keys of the design (t, id, seq, v, x,
    label, kind, score, top, anomaly) with every other key carried through
    unchanged as raw MessagePack.

    A record_t is reused frame after frame: its buffers grow to the largest
    frame seen and are never freed until record_destroy, so a streaming stage
    does not allocate per record.  `has` says which known keys are present;
    a stage sets a key with the record_set_* calls (which set the bit) or by
    writing the field and setting the bit itself.

    Readings in `v` keep their frame order; a nil reading is stored as NaN
    (missing).  Unknown keys ("extras") keep their order and exact bytes.  */
#ifndef VIGIL_RECORD_H
#define VIGIL_RECORD_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define REC_NAME_MAX 48         //  longest field / kind name + 1
#define REC_ID_MAX   64         //  longest id + 1
#define REC_TOP_MAX  16         //  most entries in `top`

enum {
    REC_T       = 1 << 0,
    REC_ID      = 1 << 1,
    REC_SEQ     = 1 << 2,
    REC_V       = 1 << 3,
    REC_X       = 1 << 4,
    REC_LABEL   = 1 << 5,
    REC_KIND    = 1 << 6,
    REC_SCORE   = 1 << 7,
    REC_TOP     = 1 << 8,
    REC_ANOMALY = 1 << 9,
};

typedef struct {
    char field[REC_NAME_MAX];   //  field name
    double contrib;             //  its share of the score (squared error summed over the window)
    double observed;            //  newest observed value, in the field's own units
    double expected;            //  reconstructed value, in the field's own units
} record_top_t;

typedef struct {
    unsigned has;               //  REC_* bits of the keys present
    double t;                   //  seconds since the epoch
    char id[REC_ID_MAX];        //  patient / device
    uint64_t seq;               //  per-id sequence number
    size_t nv;                  //  readings in v
    char (*v_name)[REC_NAME_MAX];   //  (nv) names
    double *v_val;              //  (nv) values, NaN = missing
    size_t nx;                  //  floats in x
    float *x;                   //  (nx) feature vector / flattened window
    int label;                  //  ground truth 0/1
    char kind[REC_NAME_MAX];    //  ground-truth anomaly kind
    double score;               //  higher = more anomalous
    size_t ntop;                //  entries in top
    record_top_t top[REC_TOP_MAX];
    bool anomaly;               //  the decision
    //  private: capacities and the extras store
    size_t v_cap, x_cap;
    size_t nextra, extra_cap;   //  extras: count, capacity of the index
    struct record_extra *extra; //  (nextra) key/value spans into xbuf
    char *xbuf;                 //  packed extras bytes
    size_t xbuf_len, xbuf_cap;
} record_t;

void
    record_init (record_t *rec);
void
    record_destroy (record_t *rec);     //  frees buffers; rec may be reused after init
//  Forget all keys, keep the buffers.
void
    record_clear (record_t *rec);
//  Copy src into dst (dst must be initialised).
void
    record_copy (record_t *dst, const record_t *src);

//  Fill rec from a frame (a map).  0, or -1 with err naming the key and what
//  is wrong ("key 'v': reading 'hr' is not a number").  On error rec holds
//  whatever was parsed before.
int
    record_decode (record_t *rec, const msgpack_object *obj, char *err);
//  The same straight from a frame's bytes (the fast path stages use);
//  unknown keys keep their exact bytes.
int
    record_decode_raw (record_t *rec, const char *data, size_t size, char *err);
//  Append rec as one frame to sb (known keys first, then extras in order).
void
    record_encode (const record_t *rec, msgpack_sbuffer *sb);

//  Readings: index of name in v, or -1.
long
    record_v_find (const record_t *rec, const char *name);
//  Set (add or replace) reading name = value.
void
    record_v_set (record_t *rec, const char *name, double value);
//  Make room for n floats in x and set nx = n (contents undefined).
float *
    record_x_resize (record_t *rec, size_t n);
void
    record_set_id (record_t *rec, const char *id);
void
    record_set_kind (record_t *rec, const char *kind);

//  Extras (keys outside the design's list), by name.
//  Raw value bytes of key, or NULL.  Borrowed until the record changes.
const char *
    record_extra_get (const record_t *rec, const char *key, size_t *size);
//  Unpacked value of key into a caller-owned msgpack_unpacked; 0 or -1.
int
    record_extra_unpack (const record_t *rec, const char *key, msgpack_unpacked *out);
int
    record_extra_double (const record_t *rec, const char *key, double *out);
//  Set key to raw packed bytes (replacing any old value).
void
    record_extra_set (record_t *rec, const char *key, const char *val, size_t size);
void
    record_extra_set_double (record_t *rec, const char *key, double val);
void
    record_extra_set_str (record_t *rec, const char *key, const char *val);
void
    record_extra_set_floats (record_t *rec, const char *key, const float *v, size_t n);   //  array of float32
void
    record_extra_del (record_t *rec, const char *key);

void
    record_test (bool verbose);

#endif
