/*  jsonl: frames <-> JSON lines, the human view of a stream.

    JSON -> frame: any JSON object becomes a map with the same keys; integers
    stay integers, reals become float64, except the elements of a top-level
    "x" array, which become float32 as the frame format says.  null is nil.
    Parsing is jansson's.
    Frame -> JSON: one line per frame, keys in frame order; floats printed in
    the shortest form that reads back to the same value (float32 and float64
    alike); NaN and infinities as null (JSON has no such numbers); binary
    values as a hex string.  */
#ifndef VIGIL_JSONL_H
#define VIGIL_JSONL_H

#include <msgpack.h>
#include <stdbool.h>

#include "util.h"

//  Parse one line of JSON text (len bytes) and append the packed frame to
//  sb.  0, or -1 + err ("column C: <jansson's reason>" or "not a JSON object").
int
    jsonl_to_frame (const char *line, size_t len, msgpack_sbuffer *sb, char *err);
//  Append obj as one line of JSON (with a trailing newline) to out.
void
    jsonl_from_obj (const msgpack_object *obj, msgpack_sbuffer *out);

//  The shortest decimal text (%.Ng) that reads back to d (as a float when
//  single); "nan"/"inf" for non-finite values.  buf holds at least 40 bytes.
void
    jsonl_real (double d, bool single, char *buf);

void
    jsonl_test (bool verbose);

#endif
