/*  vigil-iforest: the Isolation Forest baseline (unsupervised).  train
    grows the forest on windows, score adds `score` = 2^(-E[h(x)] / c(psi)).
    See docs/baselines.md.  */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iforest.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-iforest train --model FILE [--trees N] [--sample PSI] [--seed S]\n"
    "       vigil-iforest score --model FILE\n"
    "\n"
    "An Isolation Forest (Liu, Ting and Zhou 2008).  train grows it on windows\n"
    "(all held in memory; labels, if any, are not used) and writes a\n"
    "vigil-iforest file.\n"
    "  --model FILE      the model file to write (required)\n"
    "  --trees N         trees (default 100)\n"
    "  --sample PSI      windows subsampled per tree (default 256)\n"
    "  --seed S          random seed (default 1)\n"
    "\n"
    "score reads the model (--model FILE) and adds to each window score\n"
    "(2^(-mean path length / c(psi)), 0..1, above 0.5 = easy to isolate) and\n"
    "model (the model file's checksum, 16 hex digits).\n"
    "\n"    "A window is x (W*F floats, oldest step first) with w = W (absent: 1); one\n"
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

enum { O_MODEL = 1, O_TREES, O_SAMPLE, O_SEED };
static const struct option s_longopts[] = {
    {"model", required_argument, NULL, O_MODEL},   {"trees", required_argument, NULL, O_TREES},
    {"sample", required_argument, NULL, O_SAMPLE}, {"seed", required_argument, NULL, O_SEED},
    {NULL, 0, NULL, 0},
};

typedef struct { bool train; const char *model; iforest_opts_t fo; } opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    if (c != O_MODEL && !o->train)
        cli_usage_error (cli, "--%s is an option of 'train'", s_longopts[c - 1].name);
    switch (c) {
    case O_MODEL: o->model = arg; return 0;
    case O_TREES: o->fo.trees = (int) cli_long (cli, "--trees", arg, 1, 100000); return 0;
    case O_SAMPLE: o->fo.sample = (int) cli_long (cli, "--sample", arg, 2, 1 << 20); return 0;
    case O_SEED: o->fo.seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
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
    cli_t cli = {.prog = "vigil-iforest", .usage = USAGE};
    opts_t o = {0};
    iforest_opts_default (&o.fo);
    if (argc < 2 || (strcmp (argv[1], "train") && strcmp (argv[1], "score"))) {
        cli_parse (&cli, argc, argv, "", NULL, NULL, NULL);
        cli_usage_error (&cli, "expected 'train' or 'score'");
    }
    o.train = !strcmp (argv[1], "train");
    int argi = cli_parse (&cli, argc - 1, argv + 1, "", s_longopts, s_opt, &o);
    if (argi < argc - 1 || !o.model)
        cli_usage_error (&cli, argi < argc - 1 ? "unexpected argument" : "--model FILE is required");
    char err[ERRLEN], hash[24];
    iforest_t *fo = o.train ? NULL : iforest_load (o.model, err);
    if (!o.train && !fo)
        cli_fatal (&cli, "%s", err);
    snprintf (hash, sizeof hash, "%016llx", fo ? (unsigned long long) iforest_hash (fo) : 0ULL);
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    float *X = NULL;    //  (n, d) training windows
    size_t n = 0, xcap = 0, w = 0, d = 0, rw = 1;
    while (stage_read (st, &rec) == 1) {
        if (s_shape (&rec, &rw, err))
            stage_reject (st, "%s", err);
        else if (!o.train && (rw != iforest_window (fo) || rec.nx != rw * iforest_nfeat (fo)))
            stage_reject (st, "key 'x': window of %zu steps x %zu features, the model "
                          "expects %zu x %zu", rw, rec.nx / rw, iforest_window (fo), iforest_nfeat (fo));
        else if (!o.train) {
            rec.score = iforest_score (fo, rec.x);
            rec.has |= REC_SCORE;
            record_extra_set_str (&rec, "model", hash);
            stage_write (st, &rec);
        }
        else if (n > 0 && (rw != w || rec.nx != d))
            stage_reject (st, "key 'x': window of %zu steps x %zu features, the first was "
                          "%zu x %zu", rw, rec.nx / rw, w, d / w);
        else {
            w = rw, d = rec.nx;
            xgrow ((void **) &X, &xcap, (n + 1) * d, sizeof *X);
            memcpy (X + n++ * d, rec.x, d * sizeof *X);
        }
    }
    if (o.train && !stage_stopping (st)) {
        fo = iforest_train (X, n, w, d / (w ? w : 1), &o.fo, err);
        if (!fo || iforest_save (fo, o.model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose)
            fprintf (stderr, "vigil-iforest: %zu windows of %zu x %zu, %zu trees of %zu "
                     "windows each, model %016llx\n", n, w, d / w, iforest_ntrees (fo),
                     iforest_psi (fo), (unsigned long long) iforest_hash (fo));
    }
    free (X);
    iforest_destroy (&fo);
    record_destroy (&rec);
    return stage_finish (&st);
}
