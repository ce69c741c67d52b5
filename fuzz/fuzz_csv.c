/*  fuzz_csv: the CSV reader (over fmemopen) and writer.  The first byte
    picks options (delimiter, keep_strings, named columns); the rest is the
    file.  Every row read is encoded as a frame and written back as CSV.  */
#include <assert.h>

#include "csv.h"
#include "frame.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    csv_opts_t opts = {0};
    opts.delim = sel & 1 ? ';' : ',';
    opts.keep_strings = sel & 2;
    if (sel & 4) {
        opts.t_col = "time";
        opts.label_col = "Label";
        opts.id_col = "Dev";
    }
    if (sel & 8)
        opts.drop = "a,b";
    if (size == 1)
        return 0;
    FILE *f = fmemopen ((void *) (data + 1), size - 1, "r");
    if (!f)
        return 0;
    char err[ERRLEN];
    csv_reader_t *r = csv_reader_new (f, &opts, err);
    if (r) {
        record_t rec;
        record_init (&rec);
        csv_writer_t *w = csv_writer_new (opts.delim);
        msgpack_sbuffer sb, out;
        msgpack_sbuffer_init (&sb);
        msgpack_sbuffer_init (&out);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        int rc;
        int rows = 0;
        while ((rc = csv_reader_next (r, &rec, err)) != 0 && rc != -2 && rows < 10000) {
            rows++;
            if (rc != 1)
                continue;
            msgpack_sbuffer_clear (&sb);
            record_encode (&rec, &sb);
            assert (frame_scan (sb.data, sb.size) == (long) sb.size);
            size_t off = 0;
            assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
            csv_writer_row (w, &u.data, &out, err);
        }
        msgpack_unpacked_destroy (&u);
        msgpack_sbuffer_destroy (&sb);
        msgpack_sbuffer_destroy (&out);
        csv_writer_destroy (&w);
        record_destroy (&rec);
        csv_reader_destroy (&r);
    }
    fclose (f);
    return 0;
}
