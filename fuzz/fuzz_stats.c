/*  fuzz_stats: the stats loader, from a file (stats_load) and from an
    embedded body map (stats_from_obj).  A loaded stats_t must pack to a map
    that loads again, scale readings to finite values, and give a
    normaliser (whatever its derived fields: F@key, F:run, F:miss, F:dN)
    that scales records of a key without a reading.  */
#include <assert.h>
#include <math.h>

#include "frame.h"
#include "norm.h"
#include "stats.h"
#include "fuzz.h"

static void
s_check (stats_t *s)
{
    size_t n = stats_nfields (s);
    assert (n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert (stats_find (s, stats_field (s, i)) == (long) i);
        double z = stats_from_units (s, i, 1.0);
        assert (isfinite (z));
        assert (isfinite (stats_to_units (s, i, z)));
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    stats_pack (s, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    char err[ERRLEN];
    stats_t *s2 = stats_from_obj (&u.data, err);
    if (!s2) {
        fprintf (stderr, "packed stats do not load again: %s\n", err);
        abort ();
    }
    assert (stats_nfields (s2) == n);
    stats_destroy (&s2);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    norm_opts_t o;
    norm_opts_default (&o);
    norm_t *nm = norm_new (s, &o);
    record_t rec;
    record_init (&rec);
    for (int i = 0; i < 3; i++) {
        record_clear (&rec);
        record_set_id (&rec, "a");
        rec.t = i, rec.has |= REC_T;
        if (norm_apply (nm, &rec, err) == 0)
            for (size_t f = 0; f < n; f++)
                assert (isfinite (rec.x[f]));
    }
    record_destroy (&rec);
    norm_destroy (&nm);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[ERRLEN];
    const char *path = fuzz_file (data, size, STATS_FORMAT, STATS_VERSION);
    if (path) {
        stats_t *s = stats_load (path, err);
        if (s) {
            s_check (s);
            stats_destroy (&s);
        }
    }
    if (size > 1) {
        long n = frame_scan ((const char *) data + 1, size - 1);
        if (n > 0) {
            msgpack_unpacked u;
            msgpack_unpacked_init (&u);
            size_t off = 0;
            if (msgpack_unpack_next (&u, (const char *) data + 1, n, &off) == MSGPACK_UNPACK_SUCCESS) {
                stats_t *s = stats_from_obj (&u.data, err);
                if (s) {
                    s_check (s);
                    stats_destroy (&s);
                }
            }
            msgpack_unpacked_destroy (&u);
        }
    }
    return 0;
}
