/*  unwrap: turn a vigil container file into a seed for the loader harnesses
    (see fuzz.h): one selector byte (0 = body) then the body's bytes.
    usage: unwrap FILE > SEED.  Built with the ordinary compiler.  */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char *argv[])
{
    if (argc != 2) {
        fprintf (stderr, "usage: unwrap FILE\n");
        return 2;
    }
    FILE *f = fopen (argv[1], "rb");
    if (!f) {
        perror (argv[1]);
        return 1;
    }
    static char buf[1 << 24];
    size_t n = fread (buf, 1, sizeof buf, f);
    fclose (f);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    if (msgpack_unpack_next (&u, buf, n, &off) != MSGPACK_UNPACK_SUCCESS
        || u.data.type != MSGPACK_OBJECT_MAP) {
        fprintf (stderr, "unwrap: %s: not a container\n", argv[1]);
        return 1;
    }
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 4
            && !memcmp (kv->key.via.str.ptr, "body", 4) && kv->val.type == MSGPACK_OBJECT_BIN) {
            putchar (0);
            fwrite (kv->val.via.bin.ptr, 1, kv->val.via.bin.size, stdout);
            return 0;
        }
    }
    fprintf (stderr, "unwrap: %s: no body\n", argv[1]);
    return 1;
}
