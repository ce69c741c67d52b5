/*  route: see route.h.  */
#include "route.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"

long
route_pick (const msgpack_object *frame, const char *key, size_t n, char *err)
{
    assert (n >= 1);
    const msgpack_object *v = mp_get (frame, key);
    if (!v)
        return errf (err, "key '%s' missing (needed to route)", key);
    uint64_t h;
    char buf[32];
    int len;
    switch (v->type) {
    case MSGPACK_OBJECT_STR:
        h = hash64 (v->via.str.ptr, v->via.str.size);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        len = snprintf (buf, sizeof buf, "%llu", (unsigned long long) v->via.u64);
        h = hash64 (buf, (size_t) len);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        len = snprintf (buf, sizeof buf, "%lld", (long long) v->via.i64);
        h = hash64 (buf, (size_t) len);
        break;
    default:
        return errf (err, "key '%s': not a string or integer (cannot route)", key);
    }
    return (long) (h % n);
}

void
route_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    //  {"id": "p1"}, {"id": 17}, {"id": "17"}, {"x": 1}, {"id": 1.5}
    msgpack_pack_map (&pk, 1);
    mp_pack_kv_str (&pk, "id", "p1");
    msgpack_pack_map (&pk, 1);
    mp_pack_kv_u64 (&pk, "id", 17);
    msgpack_pack_map (&pk, 1);
    mp_pack_kv_str (&pk, "id", "17");
    msgpack_pack_map (&pk, 1);
    mp_pack_kv_u64 (&pk, "x", 1);
    msgpack_pack_map (&pk, 1);
    mp_pack_kv_double (&pk, "id", 1.5);
    msgpack_unpacked u[5];
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        msgpack_unpacked_init (&u[i]);
        assert (msgpack_unpack_next (&u[i], sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    }
    //  FNV-1a 64 of "p1", computed by hand from the published constants
    uint64_t h = 0xcbf29ce484222325ULL;
    h = (h ^ 'p') * 0x100000001b3ULL;
    h = (h ^ '1') * 0x100000001b3ULL;
    assert (route_pick (&u[0].data, "id", 7, err) == (long) (h % 7));
    assert (route_pick (&u[0].data, "id", 1, err) == 0);
    for (size_t n = 1; n < 20; n++)
        assert (route_pick (&u[1].data, "id", n, err) == route_pick (&u[2].data, "id", n, err));
    assert (route_pick (&u[3].data, "id", 3, err) == -1 && strstr (err, "'id' missing"));
    assert (route_pick (&u[4].data, "id", 3, err) == -1 && strstr (err, "not a string"));
    for (int i = 0; i < 5; i++)
        msgpack_unpacked_destroy (&u[i]);
    msgpack_sbuffer_destroy (&sb);
}
