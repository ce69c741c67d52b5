/*  fuzz_frame: the frame decoder.  The input is a byte stream as a pipe
    carries it.  Every complete object frame_scan finds is unpacked, decoded
    as a record, encoded, and decoded again: the second encoding must equal
    the first (decode/encode is a fixed point after one round).  The same
    bytes also go through frame_reader over a file with a small maximum frame
    size, so the buffering, oversize and truncation paths run too.  */
#include <assert.h>

#include "frame.h"
#include "record.h"
#include "fuzz.h"

static void
s_roundtrip (const msgpack_object *obj, record_t *rec, record_t *rec2)
{
    char err[ERRLEN];
    if (record_decode (rec, obj, err))
        return;
    msgpack_sbuffer sb1, sb2;
    msgpack_sbuffer_init (&sb1);
    msgpack_sbuffer_init (&sb2);
    record_encode (rec, &sb1);
    assert (frame_scan (sb1.data, sb1.size) == (long) sb1.size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb1.data, sb1.size, &off) == MSGPACK_UNPACK_SUCCESS);
    assert (off == sb1.size);
    if (record_decode (rec2, &u.data, err)) {
        fprintf (stderr, "re-decode failed: %s\n", err);
        abort ();
    }
    record_encode (rec2, &sb2);
    if (sb1.size != sb2.size || memcmp (sb1.data, sb2.data, sb1.size)) {
        fprintf (stderr, "encode(decode(encode(x))) != encode(x)\n");
        abort ();
    }
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb1);
    msgpack_sbuffer_destroy (&sb2);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    record_t rec, rec2;
    record_init (&rec);
    record_init (&rec2);

    //  1. Scan and decode in memory.
    msgpack_unpacked unp;
    msgpack_unpacked_init (&unp);
    size_t pos = 0;
    while (pos < size) {
        long n = frame_scan ((const char *) data + pos, size - pos);
        if (n <= 0)
            break;
        assert ((size_t) n <= size - pos);
        size_t off = 0;
        int rc = msgpack_unpack_next (&unp, (const char *) data + pos, n, &off);
        //  frame_scan's extent and msgpack-c's must agree (msgpack-c alone
        //  refuses nesting deeper than its stack; the reader reports that).
        if (rc != MSGPACK_UNPACK_SUCCESS)
            break;
        assert (off == (size_t) n);
        if (unp.data.type == MSGPACK_OBJECT_MAP)
            s_roundtrip (&unp.data, &rec, &rec2);
        pos += n;
    }
    msgpack_unpacked_destroy (&unp);

    //  2. The same bytes through a pipe reader on a file.
    static char path[64];
    if (!path[0])
        snprintf (path, sizeof path, "/tmp/vigil-fuzz-frame-%ld", (long) getpid ());
    FILE *f = fopen (path, "wb");
    if (f) {
        fwrite (data, 1, size, f);
        fclose (f);
        char err[ERRLEN];
        frame_opts_t opts = {.max_frame = 512};
        frame_reader_t *r = frame_reader_new (path, &opts, err);
        assert (r);
        const msgpack_object *obj;
        int rc;
        while ((rc = frame_reader_next (r, &obj, err)) != 0) {
            if (rc == -1)
                break;
            if (rc == 1) {
                size_t fsize;
                const char *fdata = frame_reader_data (r, &fsize);
                assert (fsize <= 512 && frame_scan (fdata, fsize) == (long) fsize);
                s_roundtrip (obj, &rec, &rec2);
            }
        }
        frame_reader_destroy (&r);
    }
    record_destroy (&rec);
    record_destroy (&rec2);
    return 0;
}
