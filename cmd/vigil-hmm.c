/*  vigil-hmm: the Gaussian HMM baseline (unsupervised).  train fits it by
    Baum-Welch on (normal) windows, score adds `score` = negative
    log-likelihood per step.  See docs/baselines.md.  */
#include <stdio.h>

#include "hmm.h"
#include "stage.h"
#include "wset.h"

static const char *USAGE =
    "usage: vigil-hmm train --model FILE [--states K] [--iters N] [--tol T]\n"
    "                       [--var-floor F] [--trans-floor P] [--seed S]\n"
    "       vigil-hmm score --model FILE\n"
    "\n"
    "A hidden Markov model with Gaussian emissions (diagonal covariances); each\n"
    "window is a sequence of W steps of F features.  train fits it by Baum-Welch\n"
    "(in log space) on windows of normal operation (all held in memory) and\n"
    "writes a vigil-hmm file; labels, if any, are not used.\n"
    "  --model FILE      the model file to write (required)\n"
    "  --states K        hidden states (default 4, at most 64)\n"
    "  --iters N         most Baum-Welch iterations (default 50)\n"
    "  --tol T           stop when log-likelihood per step gains less (1e-4)\n"
    "  --var-floor F     variance floor, times each feature's variance (1e-2)\n"
    "  --trans-floor P   floor of initial/transition probabilities (1e-6)\n"
    "  --seed S          random seed of the k-means++ start (default 1)\n"
    "\n"
    "score reads the model (--model FILE) and adds to each window score (the\n"
    "negative log-likelihood per step, forward algorithm) and model (16 hex).\n"
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

enum { O_MODEL = 1, O_STATES, O_ITERS, O_TOL, O_VAR_FLOOR, O_TRANS_FLOOR, O_SEED };
static const struct option s_longopts[] = {
    {"model", required_argument, NULL, O_MODEL},   {"states", required_argument, NULL, O_STATES},
    {"iters", required_argument, NULL, O_ITERS},   {"tol", required_argument, NULL, O_TOL},
    {"var-floor", required_argument, NULL, O_VAR_FLOOR},
    {"trans-floor", required_argument, NULL, O_TRANS_FLOOR},
    {"seed", required_argument, NULL, O_SEED},     {NULL, 0, NULL, 0},
};

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    hmm_opts_t *o = ud;
    switch (c) {
    case O_STATES: o->states = (int) cli_long (cli, "--states", arg, 1, 64); return 0;
    case O_ITERS: o->iters = (int) cli_long (cli, "--iters", arg, 0, 100000); return 0;
    case O_TOL: o->tol = cli_double (cli, "--tol", arg, 0, 1e9); return 0;
    case O_VAR_FLOOR: o->var_floor = cli_double (cli, "--var-floor", arg, 1e-12, 1e6); return 0;
    case O_TRANS_FLOOR: o->trans_floor = cli_double (cli, "--trans-floor", arg, 0, 0.49); return 0;
    case O_SEED: o->seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
    }
    return -1;
}

static double
s_score (void *model, const float *x)
{
    return hmm_score (model, x);
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-hmm", .usage = USAGE};
    hmm_opts_t ho;
    hmm_opts_default (&ho);
    const char *model;
    bool train = wset_cli_parse (&cli, argc, argv, s_longopts, s_opt, &ho, &model);
    char err[ERRLEN];
    hmm_t *hmm = train ? NULL : hmm_load (model, err);
    if (!train && !hmm)
        cli_fatal (&cli, "%s", err);
    stage_t *st = stage_new (&cli, false);
    if (!train)
        wset_score (st, hmm_window (hmm), hmm_nfeat (hmm), hmm_hash (hmm), s_score, hmm);
    wset_t *ws = train ? wset_read (st, NULL) : NULL;
    if (train && !stage_stopping (st)) {
        size_t n = wset_size (ws), w = wset_window (ws), f = wset_nfeat (ws);
        hmm = hmm_train (wset_x (ws), n, w, f, &ho, err);
        if (!hmm || hmm_save (hmm, model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose) {
            size_t nit;
            const double *tr = hmm_trace (hmm, &nit);
            fprintf (stderr, "vigil-hmm: %zu windows of %zu x %zu, %zu states, %zu iterations, "
                     "log-likelihood per step %.4f -> %.4f, model %016llx\n", n, w, f,
                     hmm_nstates (hmm), nit, nit ? tr[0] : 0, nit ? tr[nit - 1] : 0,
                     (unsigned long long) hmm_hash (hmm));
        }
    }
    wset_destroy (&ws);
    hmm_destroy (&hmm);
    return stage_finish (&st);
}
