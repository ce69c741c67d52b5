/*  wset: see wset.h.  The set grows its matrix with xgrow, so adding n
    windows costs amortised O(n d).  */
#include "wset.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _wset_t {
    const char *label_why;  //  NULL: labels not kept; else why they are needed
    float *X;               //  (n, d) windows
    uint8_t *y;             //  (n) labels, NULL when not kept
    size_t n, xcap, ycap;   //  windows, capacities of X and y
    size_t w, d;            //  steps per window, floats per window (0 while empty)
    size_t npos;            //  labels that are 1
};

int
wset_shape (const record_t *rec, size_t *w, char *err)
{
    double wd = 1;
    size_t sz;
    if (!(rec->has & REC_X) || rec->nx == 0)
        return errf (err, "key 'x': missing (expected a window)");
    if (record_extra_get (rec, "w", &sz) && (record_extra_double (rec, "w", &wd) || !(wd >= 1)
                                              || wd != floor (wd) || fmod (rec->nx, wd) != 0))
        return errf (err, "key 'w': not a step count that divides the %zu floats of x", rec->nx);
    for (size_t i = 0; i < rec->nx; i++)
        if (!isfinite (rec->x[i]))
            return errf (err, "key 'x': value %zu is not finite", i + 1);
    *w = (size_t) wd;
    return 0;
}

int
wset_expect (const record_t *rec, size_t w, size_t f, char *err)
{
    size_t rw;
    if (wset_shape (rec, &rw, err))
        return -1;
    if (rw != w || rec->nx != rw * f)
        return errf (err, "key 'x': window of %zu steps x %zu features, the model "
                     "expects %zu x %zu", rw, rec->nx / rw, w, f);
    return 0;
}

void
wset_set_score (record_t *rec, double score, uint64_t hash)
{
    char hex[24];
    snprintf (hex, sizeof hex, "%016llx", (unsigned long long) hash);
    rec->score = score;
    rec->has |= REC_SCORE;
    record_extra_set_str (rec, "model", hex);
}

wset_t *
wset_new (const char *label_why)
{
    wset_t *self = xcalloc (1, sizeof *self);
    self->label_why = label_why;
    return self;
}

int
wset_add (wset_t *self, const record_t *rec, char *err)
{
    size_t rw;
    if (wset_shape (rec, &rw, err))
        return -1;
    if (self->label_why && !(rec->has & REC_LABEL))
        return errf (err, "key 'label': missing (%s)", self->label_why);
    if (self->n > 0 && (rw != self->w || rec->nx != self->d))
        return errf (err, "key 'x': window of %zu steps x %zu features, the first was "
                     "%zu x %zu", rw, rec->nx / rw, self->w, self->d / self->w);
    self->w = rw, self->d = rec->nx;
    xgrow ((void **) &self->X, &self->xcap, (self->n + 1) * self->d, sizeof *self->X);
    memcpy (self->X + self->n * self->d, rec->x, self->d * sizeof *self->X);
    if (self->label_why) {
        xgrow ((void **) &self->y, &self->ycap, self->n + 1, sizeof *self->y);
        self->npos += self->y[self->n] = rec->label != 0;
    }
    self->n++;
    return 0;
}

size_t
wset_size (const wset_t *self)
{
    return self->n;
}

size_t
wset_window (const wset_t *self)
{
    return self->w;
}

size_t
wset_nfeat (const wset_t *self)
{
    return self->w ? self->d / self->w : 0;
}

const float *
wset_x (const wset_t *self)
{
    return self->X;
}

const uint8_t *
wset_y (const wset_t *self)
{
    return self->y;
}

size_t
wset_npos (const wset_t *self)
{
    return self->npos;
}

void
wset_destroy (wset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wset_t *self = *self_p;
    free (self->X), free (self->y);
    free (self);
    *self_p = NULL;
}

wset_t *
wset_read (stage_t *st, const char *label_why)
{
    wset_t *self = wset_new (label_why);
    record_t rec;
    record_init (&rec);
    char err[ERRLEN];
    while (stage_read (st, &rec) == 1)
        if (wset_add (self, &rec, err))
            stage_reject (st, "%s", err);
    record_destroy (&rec);
    return self;
}

void
wset_score (stage_t *st, size_t w, size_t f, uint64_t hash, wset_score_fn *fn, void *model)
{
    record_t rec;
    record_init (&rec);
    char err[ERRLEN];
    while (stage_read (st, &rec) == 1) {
        if (wset_expect (&rec, w, f, err))
            stage_reject (st, "%s", err);
        else {
            wset_set_score (&rec, fn (model, rec.x), hash);
            stage_write (st, &rec);
        }
    }
    record_destroy (&rec);
}

typedef struct {
    const struct option *longopts;
    cli_opt_fn *fn;
    void *ud;
    bool train;
    const char **model;
} s_cmd_t;

//  --model for both commands; the rest are train's, passed on to its fn.
static int
s_cmd_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    s_cmd_t *cmd = ud;
    if (c == cmd->longopts[0].val) {
        *cmd->model = arg;
        return 0;
    }
    if (!cmd->train) {
        const struct option *o = cmd->longopts;
        while (o->name && o->val != c)
            o++;
        cli_usage_error (cli, "--%s is an option of 'train'", o->name ? o->name : "?");
    }
    return cmd->fn (cli, c, arg, cmd->ud);
}

bool
wset_cli_parse (cli_t *cli, int argc, char **argv, const struct option *longopts,
                cli_opt_fn *fn, void *ud, const char **model)
{
    if (argc < 2 || (strcmp (argv[1], "train") && strcmp (argv[1], "score"))) {
        cli_parse (cli, argc, argv, "", NULL, NULL, NULL);
        cli_usage_error (cli, "expected 'train' or 'score'");
    }
    *model = NULL;
    s_cmd_t cmd = {longopts, fn, ud, !strcmp (argv[1], "train"), model};
    int argi = cli_parse (cli, argc - 1, argv + 1, "", longopts, s_cmd_opt, &cmd);
    if (argi < argc - 1 || !*model)
        cli_usage_error (cli, argi < argc - 1 ? "unexpected argument" : "--model FILE is required");
    return cmd.train;
}

//  Test helpers: a window record of n floats x[i] = base + i, with w (0: no
//  key w) and label (< 0: none).
static void
s_window (record_t *rec, size_t n, double w, int label, float base)
{
    record_clear (rec);
    float *x = record_x_resize (rec, n);
    for (size_t i = 0; i < n; i++)
        x[i] = base + (float) i;
    rec->has |= REC_X;
    if (w > 0)
        record_extra_set_double (rec, "w", w);
    if (label >= 0)
        rec->label = label, rec->has |= REC_LABEL;
}

static double
s_sum (void *model, const float *x)
{
    double s = *(double *) model;
    for (size_t i = 0; i < 6; i++)
        s += x[i];
    return s;
}

void
wset_test (bool verbose)
{
    char err[ERRLEN];
    size_t w = 0;
    record_t rec;
    record_init (&rec);

    //  shape: w defaults to 1, must divide x, x must be there and finite
    s_window (&rec, 6, 0, -1, 0);
    assert (wset_shape (&rec, &w, err) == 0 && w == 1);
    s_window (&rec, 6, 3, -1, 0);
    assert (wset_shape (&rec, &w, err) == 0 && w == 3);
    s_window (&rec, 6, 4, -1, 0);
    assert (wset_shape (&rec, &w, err) == -1 && w == 3);
    assert (!strcmp (err, "key 'w': not a step count that divides the 6 floats of x"));
    s_window (&rec, 6, 1.5, -1, 0);
    assert (wset_shape (&rec, &w, err) == -1 && strstr (err, "key 'w'"));
    record_extra_set_str (&rec, "w", "three");
    assert (wset_shape (&rec, &w, err) == -1 && strstr (err, "key 'w'"));
    s_window (&rec, 6, 2, -1, 0);
    rec.x[4] = NAN;
    assert (wset_shape (&rec, &w, err) == -1 && !strcmp (err, "key 'x': value 5 is not finite"));
    record_clear (&rec);
    assert (wset_shape (&rec, &w, err) == -1
            && !strcmp (err, "key 'x': missing (expected a window)"));

    //  expect: the model's shape
    s_window (&rec, 6, 2, -1, 0);
    assert (wset_expect (&rec, 2, 3, err) == 0);
    assert (wset_expect (&rec, 3, 2, err) == -1);
    assert (!strcmp (err, "key 'x': window of 2 steps x 3 features, the model expects 3 x 2"));
    assert (wset_expect (&rec, 2, 4, err) == -1 && strstr (err, "expects 2 x 4"));

    //  score and model hash
    wset_set_score (&rec, 0.25, 0xabcULL);
    assert ((rec.has & REC_SCORE) && rec.score == 0.25);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (record_extra_unpack (&rec, "model", &u) == 0 && u.data.type == MSGPACK_OBJECT_STR
            && u.data.via.str.size == 16 && !memcmp (u.data.via.str.ptr, "0000000000000abc", 16));
    msgpack_unpacked_destroy (&u);

    //  an unlabelled set: the first window fixes the shape
    wset_t *ws = wset_new (NULL);
    assert (wset_size (ws) == 0 && wset_window (ws) == 0 && wset_nfeat (ws) == 0);
    s_window (&rec, 6, 2, 1, 10);
    assert (wset_add (ws, &rec, err) == 0);
    s_window (&rec, 6, 3, -1, 0);
    assert (wset_add (ws, &rec, err) == -1);
    assert (!strcmp (err, "key 'x': window of 3 steps x 2 features, the first was 2 x 3"));
    s_window (&rec, 8, 2, -1, 0);
    assert (wset_add (ws, &rec, err) == -1 && strstr (err, "2 steps x 4 features"));
    s_window (&rec, 6, 0, -1, 0);
    assert (wset_add (ws, &rec, err) == -1 && strstr (err, "1 steps x 6 features"));
    for (int i = 0; i < 100; i++) {
        s_window (&rec, 6, 2, -1, (float) (20 + i));
        assert (wset_add (ws, &rec, err) == 0);
    }
    assert (wset_size (ws) == 101 && wset_window (ws) == 2 && wset_nfeat (ws) == 3);
    assert (!wset_y (ws) && wset_npos (ws) == 0);
    const float *X = wset_x (ws);
    assert (X[0] == 10 && X[5] == 15 && X[6] == 20 && X[100 * 6 + 5] == 124);
    wset_destroy (&ws);
    wset_destroy (&ws);
    assert (!ws);

    //  a labelled set: a window without a label is refused, after its shape
    ws = wset_new ("learns from labelled windows");
    s_window (&rec, 4, 0, -1, 0);
    assert (wset_add (ws, &rec, err) == -1);
    assert (!strcmp (err, "key 'label': missing (learns from labelled windows)"));
    record_clear (&rec);
    assert (wset_add (ws, &rec, err) == -1 && strstr (err, "key 'x': missing"));
    for (int i = 0; i < 5; i++) {
        s_window (&rec, 4, 0, i == 1 || i == 3 ? 1 : 0, (float) i);
        rec.label = i == 3 ? 7 : rec.label;
        assert (wset_add (ws, &rec, err) == 0);
    }
    const uint8_t *y = wset_y (ws);
    assert (wset_size (ws) == 5 && wset_npos (ws) == 2 && y && y[0] == 0 && y[1] == 1
            && y[3] == 1 && y[4] == 0 && wset_window (ws) == 1 && wset_nfeat (ws) == 4);
    wset_destroy (&ws);

    //  through stages: write windows to a file, read them into a set, score them
    char in[] = "/tmp/vigil-wset-test-XXXXXX", out[] = "/tmp/vigil-wset-out-XXXXXX";
    int fd = mkstemp (in);
    assert (fd >= 0);
    close (fd);
    fd = mkstemp (out);
    assert (fd >= 0);
    close (fd);
    cli_t cli = {.prog = "wset_test", .in = "-", .nout = 1, .out = {in}};
    stage_t *st = stage_new (&cli, true);
    for (int i = 0; i < 4; i++) {
        s_window (&rec, 6, i == 2 ? 3 : 2, -1, (float) i);
        assert (stage_write (st, &rec) == 0);
    }
    assert (stage_finish (&st) == 0);
    cli = (cli_t) {.prog = "wset_test", .in = in, .nout = 1, .out = {"/dev/null"}};
    st = stage_new (&cli, false);
    if (verbose)
        printf ("wset: record 3 of the file is meant to be refused:\n");
    fflush (stdout);
    ws = wset_read (st, NULL);
    assert (stage_finish (&st) == 1);
    assert (wset_size (ws) == 3 && wset_x (ws)[6] == 1 && wset_x (ws)[12] == 3);
    wset_destroy (&ws);
    cli = (cli_t) {.prog = "wset_test", .in = in, .nout = 1, .out = {out}};
    st = stage_new (&cli, false);
    double base = 100;
    wset_score (st, 2, 3, 0x1234ULL, s_sum, &base);
    assert (stage_finish (&st) == 1);
    cli = (cli_t) {.prog = "wset_test", .in = out, .nout = 1, .out = {"/dev/null"}};
    st = stage_new (&cli, false);
    double want[] = {115, 121, 133};
    size_t got = 0;
    while (stage_read (st, &rec) == 1) {
        assert (got < 3 && (rec.has & REC_SCORE) && rec.score == want[got++]);
        msgpack_unpacked_init (&u);
        assert (record_extra_unpack (&rec, "model", &u) == 0
                && !memcmp (u.data.via.str.ptr, "0000000000001234", 16));
        msgpack_unpacked_destroy (&u);
    }
    assert (got == 3 && stage_finish (&st) == 0);
    unlink (in), unlink (out);
    record_destroy (&rec);
    if (verbose)
        printf ("wset: shapes, labels, sets and the score loop ok\n");
}
