/*  vigil-rf: the Random Forest baseline (supervised).  train learns from
    labelled windows, score adds `score` = fraction of trees voting
    anomalous.  See docs/baselines.md.  */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rf.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-rf train --model FILE [--trees N] [--depth D] [--min-leaf N]\n"
    "                      [--mtry N] [--sample F] [--seed S]\n"
    "       vigil-rf score --model FILE\n"
    "\n"
    "A Random Forest of CART trees (Gini splits, bootstrap, a random subset of\n"
    "features per split).  train reads labelled windows (x and label, as\n"
    "vigil-window writes them; all held in memory) and writes a vigil-rf file.\n"
    "  --model FILE      the model file to write (required)\n"
    "  --trees N         trees (default 100)\n"
    "  --depth D         depth limit (default 16)\n"
    "  --min-leaf N      fewest windows in a leaf (default 1)\n"
    "  --mtry N          features tried per split (default: sqrt of W*F)\n"
    "  --sample F        bootstrap size as a fraction of the windows (default 1)\n"
    "  --seed S          random seed (default 1)\n"
    "\n"
    "score reads the model (--model FILE) and adds to each window score (the\n"
    "fraction of trees voting anomalous, 0..1) and model (its checksum, 16 hex).\n"
    "\n"
    "A window is x (W*F floats, oldest step first) with w = W (absent: 1); one\n"
    "of another shape than the first (train) or the model's (score), or with a\n"
    "value that is not finite, is reported and skipped.\n"
    "\n"
    "Common options:\n"
    "  -i EP, -o EP      input and output endpoints (default -: stdin, stdout)\n"
    "  -v                summary on stderr;  --strict  stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input, bad model file or I/O failure, 2 usage error.\n";

enum { O_MODEL = 1, O_TREES, O_DEPTH, O_MIN_LEAF, O_MTRY, O_SAMPLE, O_SEED };
static const struct option s_longopts[] = {
    {"model", required_argument, NULL, O_MODEL},   {"trees", required_argument, NULL, O_TREES},
    {"depth", required_argument, NULL, O_DEPTH},   {"min-leaf", required_argument, NULL, O_MIN_LEAF},
    {"mtry", required_argument, NULL, O_MTRY},     {"sample", required_argument, NULL, O_SAMPLE},
    {"seed", required_argument, NULL, O_SEED},     {NULL, 0, NULL, 0},
};

typedef struct { bool train; const char *model; rf_opts_t rf; } opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    if (c != O_MODEL && !o->train)
        cli_usage_error (cli, "--%s is an option of 'train'", s_longopts[c - 1].name);
    switch (c) {
    case O_MODEL: o->model = arg; return 0;
    case O_TREES: o->rf.trees = (int) cli_long (cli, "--trees", arg, 1, 100000); return 0;
    case O_DEPTH: o->rf.max_depth = (int) cli_long (cli, "--depth", arg, 0, 1000); return 0;
    case O_MIN_LEAF: o->rf.min_leaf = (int) cli_long (cli, "--min-leaf", arg, 1, 1000000); return 0;
    case O_MTRY: o->rf.mtry = (int) cli_long (cli, "--mtry", arg, 1, 1000000); return 0;
    case O_SAMPLE: o->rf.sample = cli_double (cli, "--sample", arg, 1e-6, 10); return 0;
    case O_SEED: o->rf.seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
    }
    return -1;
}

//  The window's steps (key w, default 1) after checking x against it.
static int
s_shape (const record_t *rec, size_t *w, char *err)
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
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-rf", .usage = USAGE};
    opts_t o = {0};
    rf_opts_default (&o.rf);
    if (argc < 2 || (strcmp (argv[1], "train") && strcmp (argv[1], "score"))) {
        cli_parse (&cli, argc, argv, "", NULL, NULL, NULL);
        cli_usage_error (&cli, "expected 'train' or 'score'");
    }
    o.train = !strcmp (argv[1], "train");
    int argi = cli_parse (&cli, argc - 1, argv + 1, "", s_longopts, s_opt, &o);
    if (argi < argc - 1 || !o.model)
        cli_usage_error (&cli, argi < argc - 1 ? "unexpected argument" : "--model FILE is required");
    char err[ERRLEN], hash[24];
    rf_t *rf = o.train ? NULL : rf_load (o.model, err);
    if (!o.train && !rf)
        cli_fatal (&cli, "%s", err);
    snprintf (hash, sizeof hash, "%016llx", rf ? (unsigned long long) rf_hash (rf) : 0ULL);
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    float *X = NULL;    //  (n, d) training windows
    uint8_t *y = NULL;  //  (n) labels
    size_t n = 0, xcap = 0, ycap = 0, w = 0, d = 0, rw = 1, pos = 0;
    while (stage_read (st, &rec) == 1) {
        if (s_shape (&rec, &rw, err))
            stage_reject (st, "%s", err);
        else if (!o.train && (rw != rf_window (rf) || rec.nx != rw * rf_nfeat (rf)))
            stage_reject (st, "key 'x': window of %zu steps x %zu features, the model "
                          "expects %zu x %zu", rw, rec.nx / rw, rf_window (rf), rf_nfeat (rf));
        else if (!o.train) {
            rec.score = rf_score (rf, rec.x);
            rec.has |= REC_SCORE;
            record_extra_set_str (&rec, "model", hash);
            stage_write (st, &rec);
        }
        else if (!(rec.has & REC_LABEL))
            stage_reject (st, "key 'label': missing (vigil-rf learns from labelled windows)");
        else if (n > 0 && (rw != w || rec.nx != d))
            stage_reject (st, "key 'x': window of %zu steps x %zu features, the first was "
                          "%zu x %zu", rw, rec.nx / rw, w, d / w);
        else {
            w = rw, d = rec.nx;
            xgrow ((void **) &X, &xcap, (n + 1) * d, sizeof *X);
            xgrow ((void **) &y, &ycap, n + 1, sizeof *y);
            memcpy (X + n * d, rec.x, d * sizeof *X);
            pos += y[n++] = rec.label != 0;
        }
    }
    if (o.train && !stage_stopping (st)) {
        rf = rf_train (X, y, n, w, d / (w ? w : 1), &o.rf, err);
        if (!rf || rf_save (rf, o.model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose)
            fprintf (stderr, "vigil-rf: %zu windows (%zu anomalous) of %zu x %zu, %zu trees, "
                     "%zu nodes, model %016llx\n", n, pos, w, d / w, rf_ntrees (rf),
                     rf_nnodes (rf), (unsigned long long) rf_hash (rf));
    }
    free (X), free (y);
    rf_destroy (&rf);
    record_destroy (&rec);
    return stage_finish (&st);
}
