/*  mp: helpers over msgpack-c for reading typed values out of maps, packing
    common shapes, and the checksummed container that stats, model and
    threshold files share.

    Container layout (a MessagePack map):
        format    str    e.g. "vigil-model"
        version   uint   format version
        checksum  uint   hash64 (FNV-1a) of the bytes of `body`
        body      bin    a packed MessagePack map, the payload
    Readers verify all four before they look at the payload, so a truncated,
    corrupted or foreign file is refused with a reason, never half-loaded.
    Float tensors are packed as bin of little-endian float32 (exact, compact);
    mp_get_floats also accepts an array of numbers.  */
#ifndef VIGIL_MP_H
#define VIGIL_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

//  True if the object is a str equal to key.
bool
    mp_str_eq (const msgpack_object *o, const char *key);
//  Value for key in a map; NULL if absent or o is not a map.  Borrowed.
const msgpack_object *
    mp_get (const msgpack_object *map, const char *key);
//  Any int/uint/float to double.  Returns 0, or -1 on another type.
int
    mp_as_double (const msgpack_object *o, double *out);
//  Non-negative integer (or integral float) to uint64.  0 or -1.
int
    mp_as_u64 (const msgpack_object *o, uint64_t *out);
//  Copy of a str as a NUL-terminated string; NULL if not a str or if it
//  contains a NUL.  Caller owns.
char *
    mp_strdup (const msgpack_object *o);
//  Copy a str into buf (size bytes, NUL-terminated); -1 if not a str or too long.
int
    mp_strcpy (const msgpack_object *o, char *buf, size_t size);

//  Map lookups with type checks; -1 when missing or of the wrong type.
int
    mp_get_double (const msgpack_object *map, const char *key, double *out);
int
    mp_get_u64 (const msgpack_object *map, const char *key, uint64_t *out);
//  Caller owns; NULL when missing or not a str.
char *
    mp_get_strdup (const msgpack_object *map, const char *key);
//  Exactly n floats from a bin (n*4 bytes LE float32) or an array of numbers.
int
    mp_get_floats (const msgpack_object *map, const char *key, float *out, size_t n);
//  Number of floats stored under key (bin size/4 or array length); -1 if none.
long
    mp_count_floats (const msgpack_object *map, const char *key);

//  Packing helpers.
void
    mp_pack_str (msgpack_packer *pk, const char *s);
void
    mp_pack_floats (msgpack_packer *pk, const float *v, size_t n);   //  bin
void
    mp_pack_kv_str (msgpack_packer *pk, const char *key, const char *val);
void
    mp_pack_kv_double (msgpack_packer *pk, const char *key, double val);
void
    mp_pack_kv_u64 (msgpack_packer *pk, const char *key, uint64_t val);
void
    mp_pack_kv_floats (msgpack_packer *pk, const char *key, const float *v, size_t n);

//  Write body (a packed map) inside the container to path, atomically
//  (temporary file + rename).  Returns 0, or -1 with err filled.
int
    mpfile_write (const char *path, const char *format, uint32_t version,
                  const char *body, size_t body_size, char *err);

typedef struct _mpfile_t mpfile_t;

//  Read and verify a container: format must equal `format`, version must be
//  1..max_version.  Files larger than 1 GiB are refused.  NULL + err on failure.
mpfile_t *
    mpfile_read (const char *path, const char *format, uint32_t max_version, char *err);
//  The unpacked body map; valid until destroy.
const msgpack_object *
    mpfile_body (mpfile_t *self);
uint32_t
    mpfile_version (mpfile_t *self);
//  The checksum of the body: a stable identity of the file's content (the
//  "model hash" alerts carry).
uint64_t
    mpfile_checksum (mpfile_t *self);
void
    mpfile_destroy (mpfile_t **self_p);

void
    mp_test (bool verbose);

#endif
