/*  stats: see stats.h.

    Body map of a "vigil-stats" file (and of the copy stats_pack embeds):
        scale    str     "std" | "robust"
        records  uint    records the fit read
        fields   [str]   field order (the order of `x`)
        count    [uint]  readings per field
        missing  [uint]  missing readings per field
        mean, std, median, iqr, min, max   [float64]
        log1p    [bool]
        ignored  [str]   readings seen but left out (optional)
    Every array but `ignored` has one entry per field.  */
#define _POSIX_C_SOURCE 200809L
#include "stats.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp.h"

//  Normal-consistency constant: IQR of N(0,1) is 1.3490.
#define S_IQR_NORMAL 1.3489795003921634

struct _stats_t {
    size_t n;                   //  fields
    stats_info_t *info;         //  (n)
    double *center;             //  (n) subtracted from y
    double *divisor;            //  (n) y - center is divided by it; > 0
    stats_scale_t scale;
    uint64_t records;
    size_t nignored;            //  readings left out of the fit
    char (*ignored)[STATS_NAME_MAX];    //  (nignored) their names
};

static void
s_derive (stats_t *self)
{
    for (size_t i = 0; i < self->n; i++) {
        const stats_info_t *f = &self->info[i];
        double c, d;
        if (self->scale == STATS_SCALE_ROBUST) {
            c = f->median;
            d = f->iqr / S_IQR_NORMAL;
        }
        else {
            c = f->mean;
            d = f->std;
        }
        if (!(d > 0) || !isfinite (d) || d < 1e-12 * (fabs (c) + 1e-300))
            d = 1;
        self->center[i] = c;
        self->divisor[i] = d;
    }
}

stats_t *
stats_new (const stats_info_t *info, size_t n, stats_scale_t scale, uint64_t records,
           char *err)
{
    if (n == 0) {
        errf (err, "no fields");
        return NULL;
    }
    if (scale != STATS_SCALE_STD && scale != STATS_SCALE_ROBUST) {
        errf (err, "unknown scale");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const stats_info_t *f = &info[i];
        size_t len = strnlen (f->name, STATS_NAME_MAX);
        if (len == 0 || len >= STATS_NAME_MAX) {
            errf (err, "field %zu: empty or too long name", i + 1);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp (info[j].name, f->name)) {
                errf (err, "field '%s' listed twice", f->name);
                return NULL;
            }
        if (f->count == 0) {
            errf (err, "field '%s': no readings", f->name);
            return NULL;
        }
        if (!isfinite (f->mean) || !isfinite (f->std) || !isfinite (f->median)
            || !isfinite (f->iqr) || !isfinite (f->min) || !isfinite (f->max)
            || f->std < 0 || f->iqr < 0 || f->min > f->max) {
            errf (err, "field '%s': statistics not finite or inconsistent", f->name);
            return NULL;
        }
    }
    stats_t *self = xcalloc (1, sizeof *self);
    self->n = n;
    self->info = xmalloc (n * sizeof *self->info);
    memcpy (self->info, info, n * sizeof *info);
    self->center = xmalloc (n * sizeof (double));
    self->divisor = xmalloc (n * sizeof (double));
    self->scale = scale;
    self->records = records;
    s_derive (self);
    return self;
}

void
stats_destroy (stats_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    stats_t *self = *s_p;
    free (self->info);
    free (self->center);
    free (self->divisor);
    free (self->ignored);
    free (self);
    *s_p = NULL;
}

//  The array under key, checked to have n entries; NULL + err otherwise.
static const msgpack_object *
s_array (const msgpack_object *map, const char *key, size_t n, char *err)
{
    const msgpack_object *a = mp_get (map, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY) {
        errf (err, "key '%s' missing or not an array", key);
        return NULL;
    }
    if (n != (size_t) -1 && a->via.array.size != n) {
        errf (err, "key '%s' has %u entries, expected %zu", key, a->via.array.size, n);
        return NULL;
    }
    return a;
}

static int
s_doubles (const msgpack_object *map, const char *key, size_t n, stats_info_t *info,
           size_t offset, char *err)
{
    const msgpack_object *a = s_array (map, key, n, err);
    if (!a)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (mp_as_double (&a->via.array.ptr[i], &v) || !isfinite (v))
            return errf (err, "key '%s': entry %zu is not a finite number", key, i + 1);
        memcpy ((char *) &info[i] + offset, &v, sizeof v);
    }
    return 0;
}

static int
s_u64s (const msgpack_object *map, const char *key, size_t n, stats_info_t *info,
        size_t offset, char *err)
{
    const msgpack_object *a = s_array (map, key, n, err);
    if (!a)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (mp_as_u64 (&a->via.array.ptr[i], &v))
            return errf (err, "key '%s': entry %zu is not a count", key, i + 1);
        memcpy ((char *) &info[i] + offset, &v, sizeof v);
    }
    return 0;
}

stats_t *
stats_from_obj (const msgpack_object *map, char *err)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
        errf (err, "stats: not a map");
        return NULL;
    }
    char scale_name[16];
    stats_scale_t scale;
    const msgpack_object *so = mp_get (map, "scale");
    if (!so || mp_strcpy (so, scale_name, sizeof scale_name)
        || stats_scale_parse (scale_name, &scale)) {
        errf (err, "stats: key 'scale' missing or not 'std'/'robust'");
        return NULL;
    }
    uint64_t records;
    if (mp_get_u64 (map, "records", &records)) {
        errf (err, "stats: key 'records' missing");
        return NULL;
    }
    char why[ERRLEN];
    const msgpack_object *fa = s_array (map, "fields", (size_t) -1, why);
    if (!fa) {
        errf (err, "stats: %s", why);
        return NULL;
    }
    size_t n = fa->via.array.size;
    if (n == 0 || n > 100000) {
        errf (err, "stats: key 'fields' has %zu entries", n);
        return NULL;
    }
    stats_info_t *info = xcalloc (n, sizeof *info);
    stats_t *self = NULL;
    for (size_t i = 0; i < n; i++)
        if (mp_strcpy (&fa->via.array.ptr[i], info[i].name, STATS_NAME_MAX)) {
            errf (why, "key 'fields': entry %zu is not a name", i + 1);
            goto done;
        }
    const msgpack_object *la = s_array (map, "log1p", n, why);
    if (!la)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (la->via.array.ptr[i].type != MSGPACK_OBJECT_BOOLEAN) {
            errf (why, "key 'log1p': entry %zu is not a bool", i + 1);
            goto done;
        }
        info[i].log1p = la->via.array.ptr[i].via.boolean;
    }
    if (s_u64s (map, "count", n, info, offsetof (stats_info_t, count), why)
        || s_u64s (map, "missing", n, info, offsetof (stats_info_t, missing), why)
        || s_doubles (map, "mean", n, info, offsetof (stats_info_t, mean), why)
        || s_doubles (map, "std", n, info, offsetof (stats_info_t, std), why)
        || s_doubles (map, "median", n, info, offsetof (stats_info_t, median), why)
        || s_doubles (map, "iqr", n, info, offsetof (stats_info_t, iqr), why)
        || s_doubles (map, "min", n, info, offsetof (stats_info_t, min), why)
        || s_doubles (map, "max", n, info, offsetof (stats_info_t, max), why))
        goto done;
    self = stats_new (info, n, scale, records, why);
    const msgpack_object *ia = mp_get (map, "ignored");
    if (self && ia) {
        if (ia->type != MSGPACK_OBJECT_ARRAY || ia->via.array.size > 100000) {
            errf (why, "key 'ignored' is not an array");
            stats_destroy (&self);
            goto done;
        }
        self->nignored = ia->via.array.size;
        self->ignored = xcalloc (self->nignored + 1, STATS_NAME_MAX);
        for (size_t i = 0; i < self->nignored; i++)
            if (mp_strcpy (&ia->via.array.ptr[i], self->ignored[i], STATS_NAME_MAX)) {
                errf (why, "key 'ignored': entry %zu is not a name", i + 1);
                stats_destroy (&self);
                goto done;
            }
    }
done:
    if (!self)
        errf (err, "stats: %s", why);
    free (info);
    return self;
}

stats_t *
stats_load (const char *path, char *err)
{
    char why[ERRLEN];
    mpfile_t *f = mpfile_read (path, STATS_FORMAT, STATS_VERSION, err);
    if (!f)
        return NULL;
    stats_t *self = stats_from_obj (mpfile_body (f), why);
    if (!self)
        errf (err, "'%s': %s", path, why);
    mpfile_destroy (&f);
    return self;
}

static void
s_pack_doubles (msgpack_packer *pk, const stats_t *s, const char *key, size_t offset)
{
    mp_pack_str (pk, key);
    msgpack_pack_array (pk, s->n);
    for (size_t i = 0; i < s->n; i++) {
        double v;
        memcpy (&v, (const char *) &s->info[i] + offset, sizeof v);
        msgpack_pack_double (pk, v);
    }
}

void
stats_pack (const stats_t *s, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 13);
    mp_pack_kv_str (pk, "scale", stats_scale_name (s->scale));
    mp_pack_kv_u64 (pk, "records", s->records);
    mp_pack_str (pk, "fields");
    msgpack_pack_array (pk, s->n);
    for (size_t i = 0; i < s->n; i++)
        mp_pack_str (pk, s->info[i].name);
    mp_pack_str (pk, "count");
    msgpack_pack_array (pk, s->n);
    for (size_t i = 0; i < s->n; i++)
        msgpack_pack_uint64 (pk, s->info[i].count);
    mp_pack_str (pk, "missing");
    msgpack_pack_array (pk, s->n);
    for (size_t i = 0; i < s->n; i++)
        msgpack_pack_uint64 (pk, s->info[i].missing);
    s_pack_doubles (pk, s, "mean", offsetof (stats_info_t, mean));
    s_pack_doubles (pk, s, "std", offsetof (stats_info_t, std));
    s_pack_doubles (pk, s, "median", offsetof (stats_info_t, median));
    s_pack_doubles (pk, s, "iqr", offsetof (stats_info_t, iqr));
    s_pack_doubles (pk, s, "min", offsetof (stats_info_t, min));
    s_pack_doubles (pk, s, "max", offsetof (stats_info_t, max));
    mp_pack_str (pk, "log1p");
    msgpack_pack_array (pk, s->n);
    for (size_t i = 0; i < s->n; i++)
        if (s->info[i].log1p)
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
    mp_pack_str (pk, "ignored");
    msgpack_pack_array (pk, s->nignored);
    for (size_t i = 0; i < s->nignored; i++)
        mp_pack_str (pk, s->ignored[i]);
}

void
stats_set_ignored (stats_t *s, const char *const *names, size_t n)
{
    free (s->ignored);
    s->nignored = n;
    s->ignored = xcalloc (n + 1, STATS_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        snprintf (s->ignored[i], STATS_NAME_MAX, "%s", names[i]);
}

size_t
stats_nignored (const stats_t *s)
{
    return s->nignored;
}

bool
stats_is_ignored (const stats_t *s, const char *name)
{
    for (size_t i = 0; i < s->nignored; i++)
        if (!strcmp (s->ignored[i], name))
            return true;
    return false;
}

int
stats_save (const stats_t *s, const char *path, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    stats_pack (s, &pk);
    int rc = mpfile_write (path, STATS_FORMAT, STATS_VERSION, sb.data, sb.size, err);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

size_t
stats_nfields (const stats_t *s)
{
    return s->n;
}

const char *
stats_field (const stats_t *s, size_t i)
{
    assert (i < s->n);
    return s->info[i].name;
}

long
stats_find (const stats_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp (s->info[i].name, name))
            return (long) i;
    return -1;
}

const stats_info_t *
stats_info (const stats_t *s, size_t i)
{
    assert (i < s->n);
    return &s->info[i];
}

stats_scale_t
stats_scale (const stats_t *s)
{
    return s->scale;
}

uint64_t
stats_records (const stats_t *s)
{
    return s->records;
}

double
stats_center (const stats_t *s, size_t i)
{
    assert (i < s->n);
    return s->center[i];
}

double
stats_divisor (const stats_t *s, size_t i)
{
    assert (i < s->n);
    return s->divisor[i];
}

double
stats_transform (const stats_t *s, size_t i, double v)
{
    if (!s->info[i].log1p)
        return v;
    return v < 0 ? -log1p (-v) : log1p (v);
}

double
stats_untransform (const stats_t *s, size_t i, double y)
{
    if (!s->info[i].log1p)
        return y;
    return y < 0 ? -expm1 (-y) : expm1 (y);
}

double
stats_to_units (const stats_t *s, size_t i, double x)
{
    assert (i < s->n);
    return stats_untransform (s, i, x * s->divisor[i] + s->center[i]);
}

double
stats_from_units (const stats_t *s, size_t i, double v)
{
    assert (i < s->n);
    return (stats_transform (s, i, v) - s->center[i]) / s->divisor[i];
}

void
stats_describe (const stats_t *s, size_t i, char *buf, size_t size)
{
    const stats_info_t *f = stats_info (s, i);
    snprintf (buf, size, "%s: %llu readings, %llu missing, mean %g, std %g, median %g, iqr %g%s",
              f->name, (unsigned long long) f->count, (unsigned long long) f->missing, f->mean,
              f->std, f->median, f->iqr, f->log1p ? " (of log1p)" : "");
}

const char *
stats_scale_name (stats_scale_t scale)
{
    return scale == STATS_SCALE_ROBUST ? "robust" : "std";
}

int
stats_scale_parse (const char *name, stats_scale_t *scale)
{
    if (!strcmp (name, "std"))
        *scale = STATS_SCALE_STD;
    else if (!strcmp (name, "robust"))
        *scale = STATS_SCALE_ROBUST;
    else
        return -1;
    return 0;
}

void
stats_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    stats_info_t info[3] = {
        {.name = "hr", .count = 10, .mean = 80, .std = 10, .median = 78, .iqr = 13.489795003921634,
         .min = 50, .max = 120},
        {.name = "byte_rate", .count = 10, .missing = 2, .mean = 7, .std = 0.5, .median = 7.1,
         .iqr = 0.6, .min = 5, .max = 9, .log1p = true},
        {.name = "flat", .count = 3, .mean = 5, .std = 0, .median = 5, .iqr = 0, .min = 5, .max = 5},
    };
    stats_t *s = stats_new (info, 3, STATS_SCALE_STD, 12, err);
    assert (s);
    assert (stats_nfields (s) == 3);
    assert (!strcmp (stats_field (s, 1), "byte_rate"));
    assert (stats_find (s, "flat") == 2 && stats_find (s, "nope") == -1);
    assert (stats_info (s, 1)->log1p && stats_records (s) == 12);
    //  std: (80 - 80) / 10 = 0, (100 - 80) / 10 = 2
    assert (fabs (stats_from_units (s, 0, 100) - 2) < 1e-12);
    assert (fabs (stats_to_units (s, 0, -1.5) - 65) < 1e-12);
    //  log1p: (log1p(1000) - 7) / 0.5
    assert (fabs (stats_from_units (s, 1, 1000) - (log1p (1000) - 7) / 0.5) < 1e-12);
    assert (fabs (stats_to_units (s, 1, stats_from_units (s, 1, 1000)) - 1000) < 1e-9);
    assert (fabs (stats_to_units (s, 1, stats_from_units (s, 1, -3)) + 3) < 1e-12);
    //  constant field: divisor 1
    assert (stats_divisor (s, 2) == 1 && stats_from_units (s, 2, 7) == 2);

    //  save, load, compare; the robust scale uses median and iqr / 1.349
    char path[] = "/tmp/vigil-stats-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    const char *ign[] = {"rssi"};
    stats_set_ignored (s, ign, 1);
    assert (stats_is_ignored (s, "rssi") && !stats_is_ignored (s, "hr"));
    assert (stats_save (s, path, err) == 0);
    stats_t *t = stats_load (path, err);
    assert (t && stats_nfields (t) == 3);
    assert (stats_nignored (t) == 1 && stats_is_ignored (t, "rssi"));
    for (size_t i = 0; i < 3; i++)
        assert (memcmp (stats_info (t, i), &info[i], sizeof info[i]) == 0);
    stats_destroy (&t);
    stats_t *r = stats_new (info, 3, STATS_SCALE_ROBUST, 12, err);
    assert (fabs (stats_from_units (r, 0, 88) - 1) < 1e-9);
    assert (stats_scale (r) == STATS_SCALE_ROBUST);

    //  embedded copy round trip
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    stats_pack (r, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    t = stats_from_obj (&u.data, err);
    assert (t && stats_scale (t) == STATS_SCALE_ROBUST);
    assert (stats_from_units (t, 0, 88) == stats_from_units (r, 0, 88));
    stats_destroy (&t);
    //  a body with a bad entry is refused with a reason
    assert (!stats_from_obj (&u.data.via.map.ptr[2].val, err) && strstr (err, "not a map"));
    u.data.via.map.ptr[3].key.via.str.ptr = "cnt__";     //  rename 'count'
    assert (!stats_from_obj (&u.data, err) && strstr (err, "'count'"));
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);

    //  invariants
    stats_info_t bad = info[0];
    bad.std = NAN;
    assert (!stats_new (&bad, 1, STATS_SCALE_STD, 1, err) && strstr (err, "'hr'"));
    stats_info_t dup[2] = {info[0], info[0]};
    assert (!stats_new (dup, 2, STATS_SCALE_STD, 1, err) && strstr (err, "twice"));
    assert (!stats_new (info, 0, STATS_SCALE_STD, 1, err));
    bad = info[0];
    bad.count = 0;
    assert (!stats_new (&bad, 1, STATS_SCALE_STD, 1, err) && strstr (err, "no readings"));

    //  wrong format and truncated files
    assert (mpfile_write (path, "vigil-model", 1, "\x80", 1, err) == 0);
    assert (!stats_load (path, err) && strstr (err, "vigil-stats"));
    assert (mpfile_write (path, STATS_FORMAT, 1, "\x81\xa1x\x01", 4, err) == 0);
    assert (!stats_load (path, err) && strstr (err, "scale"));
    assert (stats_save (s, path, err) == 0);
    assert (truncate (path, 30) == 0);
    assert (!stats_load (path, err));
    remove (path);

    char line[256];
    stats_describe (s, 1, line, sizeof line);
    assert (!strcmp (line, "byte_rate: 10 readings, 2 missing, mean 7, std 0.5, median 7.1, iqr 0.6 (of log1p)"));
    stats_scale_t sc;
    assert (stats_scale_parse ("robust", &sc) == 0 && sc == STATS_SCALE_ROBUST);
    assert (stats_scale_parse ("minmax", &sc) == -1);
    stats_destroy (&r);
    stats_destroy (&s);
    stats_destroy (&s);
}
