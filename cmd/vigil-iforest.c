/*  vigil-iforest: the Isolation Forest baseline (unsupervised).  train
    grows the forest on windows, score adds `score` = 2^(-E[h(x)] / c(psi)).
    See docs/baselines.md.  */
#include <stdio.h>

#include "iforest.h"
#include "stage.h"
#include "wset.h"

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

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    iforest_opts_t *o = ud;
    switch (c) {
    case O_TREES: o->trees = (int) cli_long (cli, "--trees", arg, 1, 100000); return 0;
    case O_SAMPLE: o->sample = (int) cli_long (cli, "--sample", arg, 2, 1 << 20); return 0;
    case O_SEED: o->seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
    }
    return -1;
}

static double
s_score (void *model, const float *x)
{
    return iforest_score (model, x);
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-iforest", .usage = USAGE};
    iforest_opts_t fopts;
    iforest_opts_default (&fopts);
    const char *model;
    bool train = wset_cli_parse (&cli, argc, argv, s_longopts, s_opt, &fopts, &model);
    char err[ERRLEN];
    iforest_t *fo = train ? NULL : iforest_load (model, err);
    if (!train && !fo)
        cli_fatal (&cli, "%s", err);
    stage_t *st = stage_new (&cli, false);
    if (!train)
        wset_score (st, iforest_window (fo), iforest_nfeat (fo), iforest_hash (fo), s_score, fo);
    wset_t *ws = train ? wset_read (st, NULL) : NULL;
    if (train && !stage_stopping (st)) {
        size_t n = wset_size (ws), w = wset_window (ws), f = wset_nfeat (ws);
        fo = iforest_train (wset_x (ws), n, w, f, &fopts, err);
        if (!fo || iforest_save (fo, model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose)
            fprintf (stderr, "vigil-iforest: %zu windows of %zu x %zu, %zu trees of %zu "
                     "windows each, model %016llx\n", n, w, f, iforest_ntrees (fo),
                     iforest_psi (fo), (unsigned long long) iforest_hash (fo));
    }
    wset_destroy (&ws);
    iforest_destroy (&fo);
    return stage_finish (&st);
}
