/*  cat: see cat.h.  */
#include "cat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

int
cat_format (const char *name)
{
    if (!strcmp (name, "mp") || !strcmp (name, "msgpack"))
        return CAT_MP;
    if (!strcmp (name, "json") || !strcmp (name, "jsonl"))
        return CAT_JSON;
    if (!strcmp (name, "csv"))
        return CAT_CSV;
    return -1;
}

typedef struct {
    stage_t *st;
    const cat_opts_t *opts;
    csv_writer_t *csv;
    msgpack_sbuffer text;
    msgpack_unpacked unp;
} s_out_t;

//  Emit one frame (obj unpacked, raw its bytes) in the output format.
static void
s_emit (s_out_t *o, const msgpack_object *obj, const char *raw, size_t size)
{
    char err[ERRLEN];
    if (o->opts->to == CAT_MP) {
        stage_write_raw (o->st, 0, raw, size);
        return;
    }
    o->text.size = 0;
    if (o->opts->to == CAT_JSON)
        jsonl_from_obj (obj, &o->text);
    else if (csv_writer_row (o->csv, obj, &o->text, err)) {
        stage_reject (o->st, "%s", err);
        return;
    }
    stage_write_raw (o->st, 0, o->text.data, o->text.size);
}

//  Emit a frame we packed ourselves.
static void
s_emit_packed (s_out_t *o, const msgpack_sbuffer *sb)
{
    size_t off = 0;
    if (o->opts->to == CAT_MP) {
        stage_write_raw (o->st, 0, sb->data, sb->size);
        return;
    }
    if (msgpack_unpack_next (&o->unp, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS)
        s_emit (o, &o->unp.data, sb->data, sb->size);
}

int
cat_run (stage_t *st, const char *text_in, const cat_opts_t *opts)
{
    s_out_t o = {.st = st, .opts = opts};
    o.csv = csv_writer_new (opts->csv.delim);
    msgpack_sbuffer_init (&o.text);
    msgpack_unpacked_init (&o.unp);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    char err[ERRLEN];
    int rc = 0;
    FILE *f = NULL;

    if (opts->from == CAT_MP) {
        const msgpack_object *obj;
        while (stage_read_obj (st, &obj) == 1) {
            size_t size;
            const char *raw = stage_frame_data (st, &size);
            s_emit (&o, obj, raw, size);
        }
        goto done;
    }
    f = strcmp (text_in, "-") ? fopen (text_in, "r") : stdin;
    if (!f) {
        stage_fail (st, "cannot open '%s': %s", text_in, strerror (errno));
        rc = -1;
        goto done;
    }
    if (opts->from == CAT_JSON) {
        char *line = NULL;
        size_t cap = 0;
        uint64_t lineno = 0;
        ssize_t n;
        while (!stage_stopping (st) && (n = getline (&line, &cap, f)) >= 0) {
            lineno++;
            stage_note_read (st);
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (strspn (line, " \t") == (size_t) n)
                continue;           //  blank line
            sb.size = 0;
            if (jsonl_to_frame (line, n, &sb, err))
                stage_reject_line (st, lineno, "%s", err);
            else
                s_emit_packed (&o, &sb);
        }
        free (line);
    }
    else {
        csv_reader_t *r = csv_reader_new (f, &opts->csv, err);
        if (!r) {
            stage_fail (st, "'%s': %s", text_in, err);
            rc = -1;
            goto done;
        }
        record_t rec;
        record_init (&rec);
        int got;
        while (!stage_stopping (st) && (got = csv_reader_next (r, &rec, err)) != 0) {
            if (got == -2) {
                stage_fail (st, "'%s': %s", text_in, err);
                rc = -1;
                break;
            }
            stage_note_read (st);
            if (got == -1) {
                stage_reject_line (st, csv_reader_line (r), "%s", err);
                continue;
            }
            sb.size = 0;
            record_encode (&rec, &sb);
            s_emit_packed (&o, &sb);
        }
        record_destroy (&rec);
        csv_reader_destroy (&r);
    }
    if (ferror (f)) {
        stage_fail (st, "read error on '%s'", text_in);
        rc = -1;
    }
done:
    if (f && f != stdin)
        fclose (f);
    csv_writer_destroy (&o.csv);
    msgpack_sbuffer_destroy (&o.text);
    msgpack_unpacked_destroy (&o.unp);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}
