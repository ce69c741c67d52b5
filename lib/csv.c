/*  csv: see csv.h.  */
#include "csv.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "mp.h"

enum { COL_V, COL_T, COL_ID, COL_SEQ, COL_LABEL, COL_KIND, COL_DROP };

struct _csv_reader_t {
    FILE *f;
    csv_opts_t opts;
    char *line;                 //  getline buffer
    size_t line_cap;
    uint64_t lineno;
    size_t ncol;
    char **names;               //  (ncol) trimmed header names
    int *role;                  //  (ncol) COL_*
    char **cells;               //  (ncol) pointers into line after a split
    size_t cells_cap;
};

static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen (s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

//  Split the line in place into cells; returns the count.
static size_t
s_split (csv_reader_t *self, char *p)
{
    size_t n = 0;
    char d = self->opts.delim ? self->opts.delim : ',';
    while (true) {
        xgrow ((void **) &self->cells, &self->cells_cap, n + 1, sizeof *self->cells);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '"') {
            //  quoted: unescape "" in place
            char *w = ++p, *start = p;
            while (*p) {
                if (*p == '"' && p[1] == '"')
                    *w++ = '"', p += 2;
                else if (*p == '"') {
                    p++;
                    break;
                }
                else
                    *w++ = *p++;
            }
            char *end = w;
            while (*p && *p != d)
                p++;
            char more = *p;
            *end = 0;
            self->cells[n++] = s_trim (start);
            if (!more)
                return n;
            p++;
            continue;
        }
        char *start = p;
        while (*p && *p != d)
            p++;
        char more = *p;
        *p = 0;
        self->cells[n++] = s_trim (start);
        if (!more)
            return n;
        p++;
    }
}

static bool
s_in_list (const char *list, const char *name)
{
    if (!list)
        return false;
    size_t n = strlen (name);
    for (const char *p = list; *p;) {
        const char *e = strchr (p, ',');
        size_t len = e ? (size_t) (e - p) : strlen (p);
        if (len == n && !memcmp (p, name, n))
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static int
s_read_line (csv_reader_t *self)
{
    ssize_t r = getline (&self->line, &self->line_cap, self->f);
    if (r < 0)
        return ferror (self->f) ? -2 : 0;
    self->lineno++;
    return 1;
}

csv_reader_t *
csv_reader_new (FILE *f, const csv_opts_t *opts, char *err)
{
    csv_reader_t *self = xcalloc (1, sizeof *self);
    self->f = f;
    self->opts = *opts;
    if (s_read_line (self) != 1) {
        errf (err, "no header row");
        goto fail;
    }
    self->ncol = s_split (self, self->line);
    self->names = xcalloc (self->ncol, sizeof *self->names);
    self->role = xcalloc (self->ncol, sizeof *self->role);
    const char *want[] = {NULL, opts->t_col, opts->id_col, opts->seq_col, opts->label_col, opts->kind_col};
    const char *dflt[] = {NULL, "t", "id", "seq", "label", "kind"};
    for (size_t c = 0; c < self->ncol; c++) {
        self->names[c] = xstrdup (self->cells[c]);
        if (strlen (self->names[c]) >= REC_NAME_MAX) {
            errf (err, "column %zu: name '%s' longer than %d bytes", c + 1, self->names[c], REC_NAME_MAX - 1);
            goto fail;
        }
        self->role[c] = s_in_list (opts->drop, self->names[c]) ? COL_DROP : COL_V;
        for (int r = COL_T; r <= COL_KIND; r++)
            if (want[r] ? !strcmp (want[r], self->names[c]) : !strcmp (dflt[r], self->names[c]))
                self->role[c] = r;
    }
    for (int r = COL_T; r <= COL_KIND; r++) {
        if (!want[r])
            continue;
        bool found = false;
        for (size_t c = 0; c < self->ncol; c++)
            found |= self->role[c] == r;
        if (!found) {
            errf (err, "column '%s' is not in the header", want[r]);
            goto fail;
        }
    }
    return self;
fail:
    csv_reader_destroy (&self);
    return NULL;
}

uint64_t
csv_reader_line (const csv_reader_t *self)
{
    return self->lineno;
}

int
csv_reader_next (csv_reader_t *self, record_t *rec, char *err)
{
    int rc;
    do {
        rc = s_read_line (self);
        if (rc == -2)
            return errf (err, "read error: %s", strerror (errno)), -2;
        if (rc == 0)
            return 0;
    } while (s_trim (self->line)[0] == 0);      //  blank lines are not rows
    size_t n = s_split (self, self->line);
    if (n != self->ncol)
        return errf (err, "%zu cells, the header has %zu columns", n, self->ncol);
    record_clear (rec);
    const char *kind = NULL;
    for (size_t c = 0; c < n; c++) {
        const char *cell = self->cells[c];
        double d;
        bool num = parse_double (cell, &d) == 0;
        switch (self->role[c]) {
        case COL_DROP:
            break;
        case COL_T:
            if (!num || !isfinite (d))
                return errf (err, "column '%s': time '%s' is not a number", self->names[c], cell);
            rec->t = d;
            rec->has |= REC_T;
            break;
        case COL_ID:
            if (strlen (cell) >= REC_ID_MAX)
                return errf (err, "column '%s': id longer than %d bytes", self->names[c], REC_ID_MAX - 1);
            record_set_id (rec, cell);
            break;
        case COL_SEQ:
            if (!num || d < 0 || d != floor (d) || d >= 18446744073709551616.0)     //  2^64
                return errf (err, "column '%s': '%s' is not a sequence number", self->names[c], cell);
            rec->seq = (uint64_t) d;
            rec->has |= REC_SEQ;
            break;
        case COL_LABEL:
            if (!num || (d != 0 && d != 1))
                return errf (err, "column '%s': label '%s' is not 0 or 1", self->names[c], cell);
            rec->label = (int) d;
            rec->has |= REC_LABEL;
            break;
        case COL_KIND:
            if (strlen (cell) >= REC_NAME_MAX)
                return errf (err, "column '%s': kind longer than %d bytes", self->names[c], REC_NAME_MAX - 1);
            kind = cell;
            break;
        default:
            if (num)
                record_v_set (rec, self->names[c], d);
            else if (!*cell)
                record_v_set (rec, self->names[c], NAN);
            else if (self->opts.keep_strings)
                record_extra_set_str (rec, self->names[c], cell);
        }
    }
    if (kind && *kind && rec->label == 1)
        record_set_kind (rec, kind);
    return 1;
}

void
csv_reader_destroy (csv_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_reader_t *self = *self_p;
    for (size_t c = 0; self->names && c < self->ncol; c++)
        free (self->names[c]);
    free (self->names);
    free (self->role);
    free (self->cells);
    free (self->line);
    free (self);
    *self_p = NULL;
}

//  --- writer ----------------------------------------------------------------

struct _csv_writer_t {
    char delim;
    size_t ncol;
    char **names;               //  (ncol) column names
    bool *in_v;                 //  (ncol) column is a reading of v
    const msgpack_object **cell;    //  (ncol) value of each column in the current row
    bool started;
};

csv_writer_t *
csv_writer_new (char delim)
{
    csv_writer_t *self = xcalloc (1, sizeof *self);
    self->delim = delim ? delim : ',';
    return self;
}

void
csv_writer_destroy (csv_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_writer_t *self = *self_p;
    for (size_t c = 0; c < self->ncol; c++)
        free (self->names[c]);
    free (self->names);
    free (self->in_v);
    free (self->cell);
    free (self);
    *self_p = NULL;
}

static void
s_add_col (csv_writer_t *self, const msgpack_object *k, bool in_v)
{
    self->names = xrealloc (self->names, (self->ncol + 1) * sizeof *self->names);
    self->in_v = xrealloc (self->in_v, (self->ncol + 1) * sizeof *self->in_v);
    char *name = xmalloc (k->via.str.size + 1);
    if (k->via.str.size)            //  an empty str may have a NULL ptr
        memcpy (name, k->via.str.ptr, k->via.str.size);
    name[k->via.str.size] = 0;
    self->names[self->ncol] = name;
    self->in_v[self->ncol++] = in_v;
}

static long
s_find_col (csv_writer_t *self, const msgpack_object *k, bool in_v)
{
    for (size_t c = 0; c < self->ncol; c++)
        if (self->in_v[c] == in_v && strlen (self->names[c]) == k->via.str.size
            && (!k->via.str.size || !memcmp (self->names[c], k->via.str.ptr, k->via.str.size)))
            return (long) c;
    return -1;
}

//  Quote a cell when it holds the separator, a quote or a line break.
static void
s_put_cell (csv_writer_t *self, const char *s, size_t n, msgpack_sbuffer *out)
{
    bool quote = false;
    for (size_t i = 0; i < n; i++)
        quote |= s[i] == self->delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        if (n)              //  an empty str may have a NULL ptr
            msgpack_sbuffer_write (out, s, n);
        return;
    }
    msgpack_sbuffer_write (out, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            msgpack_sbuffer_write (out, "\"", 1);
        msgpack_sbuffer_write (out, s + i, 1);
    }
    msgpack_sbuffer_write (out, "\"", 1);
}

int
csv_writer_row (csv_writer_t *self, const msgpack_object *obj, msgpack_sbuffer *out, char *err)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return errf (err, "frame is not a map");
    if (!self->started) {
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const msgpack_object *k = &obj->via.map.ptr[i].key, *v = &obj->via.map.ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR)
                return errf (err, "key %u is not a string", i + 1);
            if (mp_str_eq (k, "v") && v->type == MSGPACK_OBJECT_MAP) {
                for (uint32_t j = 0; j < v->via.map.size; j++)
                    if (v->via.map.ptr[j].key.type == MSGPACK_OBJECT_STR)
                        s_add_col (self, &v->via.map.ptr[j].key, true);
            }
            else
                s_add_col (self, k, false);
        }
        //  kind comes and goes with label: give it a column whenever label has one
        msgpack_object kind_key = {.type = MSGPACK_OBJECT_STR, .via.str = {4, "kind"}};
        msgpack_object label_key = {.type = MSGPACK_OBJECT_STR, .via.str = {5, "label"}};
        if (s_find_col (self, &label_key, false) >= 0 && s_find_col (self, &kind_key, false) < 0)
            s_add_col (self, &kind_key, false);
        self->cell = xcalloc (self->ncol ? self->ncol : 1, sizeof *self->cell);
        for (size_t c = 0; c < self->ncol; c++) {
            if (c)
                msgpack_sbuffer_write (out, &self->delim, 1);
            s_put_cell (self, self->names[c], strlen (self->names[c]), out);
        }
        msgpack_sbuffer_write (out, "\n", 1);
        self->started = true;
    }
    memset (self->cell, 0, self->ncol * sizeof *self->cell);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key, *v = &obj->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return errf (err, "key %u is not a string", i + 1);
        if (mp_str_eq (k, "v") && v->type == MSGPACK_OBJECT_MAP) {
            for (uint32_t j = 0; j < v->via.map.size; j++) {
                const msgpack_object *vk = &v->via.map.ptr[j].key;
                long c = vk->type == MSGPACK_OBJECT_STR ? s_find_col (self, vk, true) : -1;
                if (c < 0)
                    return errf (err, "reading '%.*s' is not in the CSV header (set by the first record)",
                                 vk->type == MSGPACK_OBJECT_STR ? (int) vk->via.str.size : 1,
                                 vk->type == MSGPACK_OBJECT_STR ? vk->via.str.ptr : "?");
                self->cell[c] = &v->via.map.ptr[j].val;
            }
            continue;
        }
        long c = s_find_col (self, k, false);
        if (c < 0)
            return errf (err, "key '%.*s' is not in the CSV header (set by the first record)",
                         (int) k->via.str.size, k->via.str.ptr);
        self->cell[c] = v;
    }
    msgpack_sbuffer tmp;
    msgpack_sbuffer_init (&tmp);
    for (size_t c = 0; c < self->ncol; c++) {
        if (c)
            msgpack_sbuffer_write (out, &self->delim, 1);
        const msgpack_object *v = self->cell[c];
        if (!v || v->type == MSGPACK_OBJECT_NIL)
            continue;
        if (v->type == MSGPACK_OBJECT_STR) {
            s_put_cell (self, v->via.str.ptr, v->via.str.size, out);
            continue;
        }
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64) {
            char buf[40];
            if (isfinite (v->via.f64)) {
                jsonl_real (v->via.f64, v->type == MSGPACK_OBJECT_FLOAT32, buf);
                s_put_cell (self, buf, strlen (buf), out);
            }
            continue;
        }
        tmp.size = 0;
        jsonl_from_obj (v, &tmp);           //  numbers, bools, arrays, maps as JSON
        size_t n = tmp.size - 1;            //  without the newline
        if (n == 4 && !memcmp (tmp.data, "null", 4))
            continue;
        s_put_cell (self, tmp.data, n, out);
    }
    msgpack_sbuffer_destroy (&tmp);
    msgpack_sbuffer_write (out, "\n", 1);
    return 0;
}

void
csv_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    const char *text = " t , id ,hr, Flgs ,spo2,Label,Attack Category\n"
                       "1.5, p1 ,72,  e   ,,0,normal\n"
                       "\n"
                       "2.5,\"p,2\",80,\"say \"\"hi\"\"\",97,1, Spoofing \n"
                       "3.5,p3,81\n";
    FILE *f = fmemopen ((void *) text, strlen (text), "r");
    csv_opts_t opts = {.label_col = "Label", .kind_col = "Attack Category", .keep_strings = true};
    csv_reader_t *r = csv_reader_new (f, &opts, err);
    assert (r);
    record_t rec;
    record_init (&rec);
    assert (csv_reader_next (r, &rec, err) == 1);
    assert (rec.t == 1.5 && !strcmp (rec.id, "p1") && rec.nv == 2 && rec.v_val[0] == 72);
    assert (isnan (rec.v_val[1]) && rec.label == 0 && !(rec.has & REC_KIND));
    size_t sz;
    const char *flgs = record_extra_get (&rec, "Flgs", &sz);
    assert (flgs && sz == 2 && flgs[1] == 'e');
    assert (csv_reader_next (r, &rec, err) == 1 && csv_reader_line (r) == 4);
    assert (!strcmp (rec.id, "p,2") && rec.label == 1 && !strcmp (rec.kind, "Spoofing"));
    flgs = record_extra_get (&rec, "Flgs", &sz);
    assert (flgs && sz == 9 && !memcmp (flgs + 1, "say \"hi\"", 8));
    assert (csv_reader_next (r, &rec, err) == -1 && strstr (err, "3 cells") && csv_reader_line (r) == 5);
    assert (csv_reader_next (r, &rec, err) == 0);
    csv_reader_destroy (&r);
    fclose (f);
    //  A sequence number beyond uint64 (found by fuzzing) is a bad row.
    const char *big = "seq,hr\n1e31,1\ninf,2\n3,3\n";
    f = fmemopen ((void *) big, strlen (big), "r");
    csv_opts_t plain = {0};
    r = csv_reader_new (f, &plain, err);
    assert (r);
    assert (csv_reader_next (r, &rec, err) == -1 && strstr (err, "'1e31' is not a sequence number"));
    assert (csv_reader_next (r, &rec, err) == -1);
    assert (csv_reader_next (r, &rec, err) == 1 && rec.seq == 3);
    csv_reader_destroy (&r);
    fclose (f);
    f = fmemopen ((void *) text, strlen (text), "r");
    opts.id_col = "patient";
    assert (!csv_reader_new (f, &opts, err) && strstr (err, "'patient'"));
    fclose (f);

    //  writer: header from the first frame, v expanded, strings quoted
    record_init (&rec);
    rec.t = 1, rec.has |= REC_T;
    record_set_id (&rec, "a,b");
    record_v_set (&rec, "hr", 72);
    record_v_set (&rec, "spo2", NAN);
    msgpack_sbuffer sb, out;
    msgpack_sbuffer_init (&sb);
    msgpack_sbuffer_init (&out);
    record_encode (&rec, &sb);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    csv_writer_t *w = csv_writer_new (',');
    assert (csv_writer_row (w, &u.data, &out, err) == 0);
    const char *want = "t,id,hr,spo2\n1,\"a,b\",72,\n";
    assert (out.size == strlen (want) && !memcmp (out.data, want, out.size));
    record_v_set (&rec, "rr", 12);
    sb.size = 0;
    record_encode (&rec, &sb);
    off = 0;
    assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    assert (csv_writer_row (w, &u.data, &out, err) == -1 && strstr (err, "'rr'"));
    csv_writer_destroy (&w);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    msgpack_sbuffer_destroy (&out);
    record_destroy (&rec);
}
