/*  fuzz_jsonl: the JSON lines reader and writer.  The input is tried as a
    line of JSON (jsonl_to_frame); a frame it makes must be one MessagePack
    map, and its JSON text (jsonl_from_obj) must parse again.  The input is
    also tried as MessagePack: any object frame_scan accepts is written as
    JSON, which must be one line that jsonl_to_frame accepts when the
    object is a map with string keys.  */
#include <assert.h>

#include "frame.h"
#include "jsonl.h"
#include "fuzz.h"

static void
s_to_json_and_back (const msgpack_object *obj, bool must_parse)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    jsonl_from_obj (obj, &out);
    assert (out.size > 0 && out.data[out.size - 1] == '\n');
    assert (memchr (out.data, '\n', out.size) == out.data + out.size - 1);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    char err[ERRLEN];
    int rc = jsonl_to_frame (out.data, out.size - 1, &sb, err);
    if (must_parse && rc) {
        fprintf (stderr, "own JSON does not parse: %s\n%.*s", err, (int) out.size, out.data);
        abort ();
    }
    msgpack_sbuffer_destroy (&sb);
    msgpack_sbuffer_destroy (&out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[ERRLEN];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (jsonl_to_frame ((const char *) data, size, &sb, err) == 0) {
        assert (frame_scan (sb.data, sb.size) == (long) sb.size);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        size_t off = 0;
        assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
        assert (u.data.type == MSGPACK_OBJECT_MAP);
        s_to_json_and_back (&u.data, true);
        msgpack_unpacked_destroy (&u);
    }
    msgpack_sbuffer_destroy (&sb);

    long n = frame_scan ((const char *) data, size);
    if (n > 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        size_t off = 0;
        if (msgpack_unpack_next (&u, (const char *) data, n, &off) == MSGPACK_UNPACK_SUCCESS)
            s_to_json_and_back (&u.data, false);
        msgpack_unpacked_destroy (&u);
    }
    return 0;
}
