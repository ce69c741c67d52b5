/*  mp: see mp.h.  */
#define _POSIX_C_SOURCE 200809L
#include "mp.h"
#include "frame.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
mp_str_eq (const msgpack_object *o, const char *key)
{
    size_t n = strlen (key);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp (o->via.str.ptr, key, n) == 0;
}

const msgpack_object *
mp_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mp_str_eq (&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

int
mp_as_double (const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double) o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double) o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return 0;
    default:
        return -1;
    }
}

int
mp_as_u64 (const msgpack_object *o, uint64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = o->via.u64;
        return 0;
    }
    if ((o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        && o->via.f64 >= 0 && o->via.f64 < 1.8e19 && o->via.f64 == floor (o->via.f64)) {
        *out = (uint64_t) o->via.f64;
        return 0;
    }
    return -1;
}

char *
mp_strdup (const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_STR
        || memchr (o->via.str.ptr, 0, o->via.str.size))
        return NULL;
    char *s = xmalloc (o->via.str.size + 1);
    memcpy (s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    return s;
}

int
mp_strcpy (const msgpack_object *o, char *buf, size_t size)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= size
        || memchr (o->via.str.ptr, 0, o->via.str.size))
        return -1;
    memcpy (buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = 0;
    return 0;
}

int
mp_get_double (const msgpack_object *map, const char *key, double *out)
{
    const msgpack_object *o = mp_get (map, key);
    return o ? mp_as_double (o, out) : -1;
}

int
mp_get_u64 (const msgpack_object *map, const char *key, uint64_t *out)
{
    const msgpack_object *o = mp_get (map, key);
    return o ? mp_as_u64 (o, out) : -1;
}

char *
mp_get_strdup (const msgpack_object *map, const char *key)
{
    return mp_strdup (mp_get (map, key));
}

long
mp_count_floats (const msgpack_object *map, const char *key)
{
    const msgpack_object *o = mp_get (map, key);
    if (!o)
        return -1;
    if (o->type == MSGPACK_OBJECT_BIN)
        return o->via.bin.size % 4 ? -1 : (long) (o->via.bin.size / 4);
    if (o->type == MSGPACK_OBJECT_ARRAY)
        return o->via.array.size;
    return -1;
}

int
mp_get_floats (const msgpack_object *map, const char *key, float *out, size_t n)
{
    const msgpack_object *o = mp_get (map, key);
    if (!o)
        return -1;
    if (o->type == MSGPACK_OBJECT_BIN) {
        if (o->via.bin.size != n * 4)
            return -1;
        const unsigned char *p = (const unsigned char *) o->via.bin.ptr;
        for (size_t i = 0; i < n; i++, p += 4) {
            uint32_t u = (uint32_t) p[0] | (uint32_t) p[1] << 8
                       | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
            memcpy (&out[i], &u, 4);
        }
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == n) {
        for (size_t i = 0; i < n; i++) {
            double d;
            if (mp_as_double (&o->via.array.ptr[i], &d))
                return -1;
            out[i] = (float) d;
        }
        return 0;
    }
    return -1;
}

void
mp_pack_str (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

void
mp_pack_floats (msgpack_packer *pk, const float *v, size_t n)
{
    msgpack_pack_bin (pk, n * 4);
    unsigned char buf[256];
    size_t i = 0;
    while (i < n) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < n; k++, i++) {
            uint32_t u;
            memcpy (&u, &v[i], 4);
            buf[4 * k] = u & 0xff;
            buf[4 * k + 1] = (u >> 8) & 0xff;
            buf[4 * k + 2] = (u >> 16) & 0xff;
            buf[4 * k + 3] = u >> 24;
        }
        msgpack_pack_bin_body (pk, buf, 4 * k);
    }
}

void
mp_pack_kv_str (msgpack_packer *pk, const char *key, const char *val)
{
    mp_pack_str (pk, key);
    mp_pack_str (pk, val);
}

void
mp_pack_kv_double (msgpack_packer *pk, const char *key, double val)
{
    mp_pack_str (pk, key);
    msgpack_pack_double (pk, val);
}

void
mp_pack_kv_u64 (msgpack_packer *pk, const char *key, uint64_t val)
{
    mp_pack_str (pk, key);
    msgpack_pack_uint64 (pk, val);
}

void
mp_pack_kv_floats (msgpack_packer *pk, const char *key, const float *v, size_t n)
{
    mp_pack_str (pk, key);
    mp_pack_floats (pk, v, n);
}

int
mpfile_write (const char *path, const char *format, uint32_t version,
              const char *body, size_t body_size, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    mp_pack_kv_str (&pk, "format", format);
    mp_pack_kv_u64 (&pk, "version", version);
    mp_pack_kv_u64 (&pk, "checksum", hash64 (body, body_size));
    mp_pack_str (&pk, "body");
    msgpack_pack_bin (&pk, body_size);
    msgpack_pack_bin_body (&pk, body, body_size);

    size_t n = strlen (path) + 16;
    char *tmp = xmalloc (n);
    snprintf (tmp, n, "%s.tmp%ld", path, (long) getpid ());
    int rc = -1;
    FILE *f = fopen (tmp, "wb");
    if (!f)
        errf (err, "cannot write '%s': %s", path, strerror (errno));
    else if (fwrite (sb.data, 1, sb.size, f) != sb.size || fflush (f)) {
        errf (err, "cannot write '%s': %s", path, strerror (errno));
        fclose (f);
        remove (tmp);
    }
    else if (fclose (f) || rename (tmp, path)) {
        errf (err, "cannot write '%s': %s", path, strerror (errno));
        remove (tmp);
    }
    else
        rc = 0;
    free (tmp);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

struct _mpfile_t {
    char *data;                 //  whole file
    msgpack_unpacked outer;
    msgpack_unpacked inner;
    uint32_t version;
    uint64_t checksum;
};

void
mpfile_destroy (mpfile_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mpfile_t *self = *self_p;
    msgpack_unpacked_destroy (&self->outer);
    msgpack_unpacked_destroy (&self->inner);
    free (self->data);
    free (self);
    *self_p = NULL;
}

mpfile_t *
mpfile_read (const char *path, const char *format, uint32_t max_version, char *err)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        errf (err, "cannot open '%s': %s", path, strerror (errno));
        return NULL;
    }
    struct stat st;
    if (fstat (fileno (f), &st) || !S_ISREG (st.st_mode) || st.st_size > (1L << 30)) {
        errf (err, "'%s': not a regular file of at most 1 GiB", path);
        fclose (f);
        return NULL;
    }
    mpfile_t *self = xcalloc (1, sizeof *self);
    msgpack_unpacked_init (&self->outer);
    msgpack_unpacked_init (&self->inner);
    size_t size = (size_t) st.st_size;
    self->data = xmalloc (size);
    size_t got = fread (self->data, 1, size, f);
    fclose (f);
    if (got != size) {
        errf (err, "'%s': read error", path);
        goto fail;
    }
    //  frame_scan first: it checks the whole extent is present without
    //  allocating, so msgpack-c never reserves room for an array or map
    //  count the bytes cannot hold (a 10-byte file claiming 4G elements).
    size_t off = 0;
    if (frame_scan (self->data, size) <= 0
        || msgpack_unpack_next (&self->outer, self->data, size, &off) != MSGPACK_UNPACK_SUCCESS
        || self->outer.data.type != MSGPACK_OBJECT_MAP) {
        errf (err, "'%s': not a %s file (truncated or not MessagePack)", path, format);
        goto fail;
    }
    const msgpack_object *root = &self->outer.data;
    const msgpack_object *fmt = mp_get (root, "format");
    if (!fmt || !mp_str_eq (fmt, format)) {
        char got_fmt[64] = "?";
        if (fmt)
            mp_strcpy (fmt, got_fmt, sizeof got_fmt);
        errf (err, "'%s': format is '%s', expected '%s'", path, got_fmt, format);
        goto fail;
    }
    uint64_t version, checksum;
    if (mp_get_u64 (root, "version", &version) || version < 1 || version > max_version) {
        errf (err, "'%s': unsupported %s version", path, format);
        goto fail;
    }
    const msgpack_object *body = mp_get (root, "body");
    if (mp_get_u64 (root, "checksum", &checksum) || !body || body->type != MSGPACK_OBJECT_BIN) {
        errf (err, "'%s': missing checksum or body", path);
        goto fail;
    }
    if (hash64 (body->via.bin.ptr, body->via.bin.size) != checksum) {
        errf (err, "'%s': checksum mismatch (file corrupted)", path);
        goto fail;
    }
    off = 0;
    if (frame_scan (body->via.bin.ptr, body->via.bin.size) != (long) body->via.bin.size
        || msgpack_unpack_next (&self->inner, body->via.bin.ptr, body->via.bin.size, &off)
            != MSGPACK_UNPACK_SUCCESS
        || self->inner.data.type != MSGPACK_OBJECT_MAP || off != body->via.bin.size) {
        errf (err, "'%s': body is not a MessagePack map", path);
        goto fail;
    }
    self->version = (uint32_t) version;
    self->checksum = checksum;
    return self;
fail:
    mpfile_destroy (&self);
    return NULL;
}

const msgpack_object *
mpfile_body (mpfile_t *self)
{
    return &self->inner.data;
}

uint32_t
mpfile_version (mpfile_t *self)
{
    return self->version;
}

uint64_t
mpfile_checksum (mpfile_t *self)
{
    return self->checksum;
}

void
mp_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    float w[5] = {1.5f, -2.25f, 3e-8f, 1e30f, 0};
    msgpack_pack_map (&pk, 3);
    mp_pack_kv_str (&pk, "name", "test");
    mp_pack_kv_double (&pk, "x", 2.5);
    mp_pack_kv_floats (&pk, "w", w, 5);
    char path[] = "/tmp/vigil-mp-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    assert (mpfile_write (path, "vigil-test", 1, sb.data, sb.size, err) == 0);
    mpfile_t *f = mpfile_read (path, "vigil-test", 1, err);
    assert (f);
    const msgpack_object *b = mpfile_body (f);
    double x;
    float w2[5];
    assert (mp_get_double (b, "x", &x) == 0 && x == 2.5);
    assert (mp_count_floats (b, "w") == 5);
    assert (mp_get_floats (b, "w", w2, 5) == 0 && memcmp (w, w2, sizeof w) == 0);
    assert (mp_get_floats (b, "w", w2, 4) == -1);
    char *name = mp_get_strdup (b, "name");
    assert (name && !strcmp (name, "test"));
    free (name);
    assert (mpfile_checksum (f) == hash64 (sb.data, sb.size));
    mpfile_destroy (&f);
    mpfile_destroy (&f);
    //  wrong format, corrupted byte, truncated file
    assert (!mpfile_read (path, "vigil-model", 1, err) && strstr (err, "format"));
    FILE *fp = fopen (path, "r+b");
    fseek (fp, -3, SEEK_END);
    fputc ('Z', fp);
    fclose (fp);
    assert (!mpfile_read (path, "vigil-test", 1, err) && strstr (err, "checksum"));
    assert (truncate (path, 20) == 0);
    assert (!mpfile_read (path, "vigil-test", 1, err) && strstr (err, "truncated"));
    assert (!mpfile_read ("/nonexistent/x", "vigil-test", 1, err));
    //  A few bytes claiming 4G elements (found by fuzzing): refused without
    //  reserving 4G objects, whether in the file or in a checksummed body.
    fp = fopen (path, "wb");
    fwrite ("\xdd\xff\xff\xff\xff", 1, 5, fp);
    fclose (fp);
    assert (!mpfile_read (path, "vigil-test", 1, err) && strstr (err, "truncated"));
    assert (mpfile_write (path, "vigil-test", 1, "\x81\xa1" "a\xdf\xff\xff\xff\xff", 8, err) == 0);
    assert (!mpfile_read (path, "vigil-test", 1, err) && strstr (err, "not a MessagePack map"));
    remove (path);
    msgpack_sbuffer_destroy (&sb);
}
