/*  vigil-rf: the Random Forest baseline (supervised).  train learns from
    labelled windows, score adds `score` = fraction of trees voting
    anomalous.  See docs/baselines.md.  */
#include <stdio.h>

#include "rf.h"
#include "stage.h"
#include "wset.h"

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

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    rf_opts_t *o = ud;
    switch (c) {
    case O_TREES: o->trees = (int) cli_long (cli, "--trees", arg, 1, 100000); return 0;
    case O_DEPTH: o->max_depth = (int) cli_long (cli, "--depth", arg, 0, 1000); return 0;
    case O_MIN_LEAF: o->min_leaf = (int) cli_long (cli, "--min-leaf", arg, 1, 1000000); return 0;
    case O_MTRY: o->mtry = (int) cli_long (cli, "--mtry", arg, 1, 1000000); return 0;
    case O_SAMPLE: o->sample = cli_double (cli, "--sample", arg, 1e-6, 10); return 0;
    case O_SEED: o->seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
    }
    return -1;
}

static double
s_score (void *model, const float *x)
{
    return rf_score (model, x);
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-rf", .usage = USAGE};
    rf_opts_t ro;
    rf_opts_default (&ro);
    const char *model;
    bool train = wset_cli_parse (&cli, argc, argv, s_longopts, s_opt, &ro, &model);
    char err[ERRLEN];
    rf_t *rf = train ? NULL : rf_load (model, err);
    if (!train && !rf)
        cli_fatal (&cli, "%s", err);
    stage_t *st = stage_new (&cli, false);
    if (!train)
        wset_score (st, rf_window (rf), rf_nfeat (rf), rf_hash (rf), s_score, rf);
    wset_t *ws = train ? wset_read (st, "vigil-rf learns from labelled windows") : NULL;
    if (train && !stage_stopping (st)) {
        size_t n = wset_size (ws), w = wset_window (ws), f = wset_nfeat (ws);
        rf = rf_train (wset_x (ws), wset_y (ws), n, w, f, &ro, err);
        if (!rf || rf_save (rf, model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose)
            fprintf (stderr, "vigil-rf: %zu windows (%zu anomalous) of %zu x %zu, %zu trees, "
                     "%zu nodes, model %016llx\n", n, wset_npos (ws), w, f, rf_ntrees (rf),
                     rf_nnodes (rf), (unsigned long long) rf_hash (rf));
    }
    wset_destroy (&ws);
    rf_destroy (&rf);
    return stage_finish (&st);
}
