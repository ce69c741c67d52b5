/*  jsonl: see jsonl.h.  */
#include "jsonl.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

static void
s_pack_json (msgpack_packer *pk, json_t *j, bool as_float32)
{
    switch (json_typeof (j)) {
    case JSON_OBJECT: {
        msgpack_pack_map (pk, json_object_size (j));
        const char *key;
        json_t *val;
        json_object_foreach (j, key, val) {
            mp_pack_str (pk, key);
            s_pack_json (pk, val, false);
        }
        break;
    }
    case JSON_ARRAY: {
        msgpack_pack_array (pk, json_array_size (j));
        size_t i;
        json_t *val;
        json_array_foreach (j, i, val)
            s_pack_json (pk, val, as_float32);
        break;
    }
    case JSON_STRING:
        msgpack_pack_str (pk, json_string_length (j));
        msgpack_pack_str_body (pk, json_string_value (j), json_string_length (j));
        break;
    case JSON_INTEGER:
        if (as_float32)
            msgpack_pack_float (pk, (float) json_integer_value (j));
        else
            msgpack_pack_int64 (pk, json_integer_value (j));
        break;
    case JSON_REAL:
        if (as_float32)
            msgpack_pack_float (pk, (float) json_real_value (j));
        else
            msgpack_pack_double (pk, json_real_value (j));
        break;
    case JSON_TRUE:
        msgpack_pack_true (pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false (pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil (pk);
        break;
    }
}

int
jsonl_to_frame (const char *line, size_t len, msgpack_sbuffer *sb, char *err)
{
    json_error_t jerr;
    json_t *j = json_loadb (line, len, JSON_DECODE_INT_AS_REAL * 0 | JSON_ALLOW_NUL, &jerr);
    if (!j)
        return errf (err, "column %d: %s", jerr.column, jerr.text);
    if (!json_is_object (j)) {
        json_decref (j);
        return errf (err, "not a JSON object");
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, json_object_size (j));
    const char *key;
    json_t *val;
    json_object_foreach (j, key, val) {
        mp_pack_str (&pk, key);
        s_pack_json (&pk, val, !strcmp (key, "x") && json_is_array (val));
    }
    json_decref (j);
    return 0;
}

static void
s_put (msgpack_sbuffer *out, const char *s, size_t n)
{
    if (n)                  //  msgpack-c would add 0 to a NULL buffer
        msgpack_sbuffer_write (out, s, n);
}

static void
s_puts (msgpack_sbuffer *out, const char *s)
{
    s_put (out, s, strlen (s));
}

void
jsonl_real (double d, bool single, char *buf)
{
    for (int prec = single ? 6 : 15; prec <= 17; prec++) {
        snprintf (buf, 40, "%.*g", prec, d);
        double back = strtod (buf, NULL);
        if (!isfinite (d) || (single ? (float) back == (float) d : back == d))
            break;
    }
}

static void
s_put_real (msgpack_sbuffer *out, double d, bool single)
{
    if (!isfinite (d)) {
        s_puts (out, "null");
        return;
    }
    char buf[40];
    jsonl_real (d, single, buf);
    //  keep it a JSON real so that it reads back as a float
    if (!strpbrk (buf, ".eEn"))
        strcat (buf, ".0");
    s_puts (out, buf);
}

static void
s_put_string (msgpack_sbuffer *out, const char *s, size_t n)
{
    s_put (out, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_put (out, s + start, i - start);
        char esc[8];
        switch (c) {
        case '"': s_puts (out, "\\\""); break;
        case '\\': s_puts (out, "\\\\"); break;
        case '\n': s_puts (out, "\\n"); break;
        case '\t': s_puts (out, "\\t"); break;
        case '\r': s_puts (out, "\\r"); break;
        default:
            snprintf (esc, sizeof esc, "\\u%04x", c);
            s_puts (out, esc);
        }
        start = i + 1;
    }
    if (n > start)          //  an empty str may have a NULL ptr
        s_put (out, s + start, n - start);
    s_put (out, "\"", 1);
}

//  in_key: o is (inside) a non-string map key being rendered as text.
static void
s_put_obj (msgpack_sbuffer *out, const msgpack_object *o, bool in_key)
{
    char buf[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        s_puts (out, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        s_puts (out, o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf (buf, sizeof buf, "%llu", (unsigned long long) o->via.u64);
        s_puts (out, buf);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf (buf, sizeof buf, "%lld", (long long) o->via.i64);
        s_puts (out, buf);
        break;
    case MSGPACK_OBJECT_FLOAT32:
        s_put_real (out, o->via.f64, true);
        break;
    case MSGPACK_OBJECT_FLOAT64:
        s_put_real (out, o->via.f64, false);
        break;
    case MSGPACK_OBJECT_STR:
        s_put_string (out, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        s_put (out, "\"", 1);
        for (uint32_t i = 0; i < o->via.bin.size; i++) {
            snprintf (buf, sizeof buf, "%02x", (unsigned char) o->via.bin.ptr[i]);
            s_put (out, buf, 2);
        }
        s_put (out, "\"", 1);
        break;
    case MSGPACK_OBJECT_ARRAY:
        s_put (out, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                s_put (out, ",", 1);
            s_put_obj (out, &o->via.array.ptr[i], in_key);
        }
        s_put (out, "]", 1);
        break;
    case MSGPACK_OBJECT_MAP:
        s_put (out, "{", 1);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                s_put (out, ",", 1);
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR)
                s_put_string (out, k->via.str.ptr, k->via.str.size);
            else if (in_key)
                //  a non-string key inside one: quoting it again at every
                //  level would double the text per level (exponential)
                s_puts (out, "\"?\"");
            else {
                //  JSON keys are strings: render the key, then quote it
                msgpack_sbuffer tmp;
                msgpack_sbuffer_init (&tmp);
                s_put_obj (&tmp, k, true);
                s_put_string (out, tmp.data ? tmp.data : "", tmp.size);
                msgpack_sbuffer_destroy (&tmp);
            }
            s_put (out, ":", 1);
            s_put_obj (out, &o->via.map.ptr[i].val, in_key);
        }
        s_put (out, "}", 1);
        break;
    default:
        s_puts (out, "null");
        break;
    }
}

void
jsonl_from_obj (const msgpack_object *obj, msgpack_sbuffer *out)
{
    s_put_obj (out, obj, false);
    s_put (out, "\n", 1);
}

void
jsonl_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    const char *in = "{\"t\":1767225600.25,\"id\":\"p1\",\"seq\":7,\"v\":{\"hr\":72,\"spo2\":null,\"temp\":36.6},"
                     "\"x\":[0.1,-2,3.5e-07],\"label\":0,\"anomaly\":true,\"note\":\"a\\\"b\\n\"}";
    msgpack_sbuffer sb, out;
    msgpack_sbuffer_init (&sb);
    msgpack_sbuffer_init (&out);
    assert (jsonl_to_frame (in, strlen (in), &sb, err) == 0);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *x = mp_get (&u.data, "x");
    assert (x && x->via.array.ptr[0].type == MSGPACK_OBJECT_FLOAT32);
    assert (mp_get (&u.data, "seq")->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    jsonl_from_obj (&u.data, &out);
    const char *want = "{\"t\":1767225600.25,\"id\":\"p1\",\"seq\":7,\"v\":{\"hr\":72,\"spo2\":null,\"temp\":36.6},"
                       "\"x\":[0.1,-2.0,3.5e-07],\"label\":0,\"anomaly\":true,\"note\":\"a\\\"b\\n\"}\n";
    if (out.size != strlen (want) || memcmp (out.data, want, out.size))
        fprintf (stderr, "jsonl_test: got %.*s", (int) out.size, out.data);
    assert (out.size == strlen (want) && !memcmp (out.data, want, out.size));
    assert (jsonl_to_frame ("{\"t\": 1,}", 9, &sb, err) == -1 && strstr (err, "column"));
    assert (jsonl_to_frame ("[1]", 3, &sb, err) == -1 && strstr (err, "object"));
    //  Non-string keys nested 30 deep (found by fuzzing): the text stays
    //  small instead of doubling its escapes per level.
    char deep[61];
    memset (deep, 0x81, 30);
    memset (deep + 30, 0xc0, 31);
    off = 0;
    assert (msgpack_unpack_next (&u, deep, sizeof deep, &off) == MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer_clear (&out);
    jsonl_from_obj (&u.data, &out);
    assert (out.size < 200 && jsonl_to_frame (out.data, out.size - 1, &sb, err) == 0);
    //  An empty str may come with a NULL pointer.
    msgpack_object_kv kv = {.key = {.type = MSGPACK_OBJECT_STR},
                            .val = {.type = MSGPACK_OBJECT_STR}};
    msgpack_object empty = {.type = MSGPACK_OBJECT_MAP, .via.map = {.size = 1, .ptr = &kv}};
    msgpack_sbuffer_clear (&out);
    jsonl_from_obj (&empty, &out);
    assert (out.size == 8 && !memcmp (out.data, "{\"\":\"\"}\n", 8));
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    msgpack_sbuffer_destroy (&out);
}
