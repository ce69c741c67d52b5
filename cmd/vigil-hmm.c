/*  vigil-hmm: the Gaussian HMM baseline (unsupervised).  train fits it by
    Baum-Welch on (normal) windows, score adds `score` = negative
    log-likelihood per step.  See docs/baselines.md.  */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hmm.h"
#include "stage.h"

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

typedef struct { bool train; const char *model; hmm_opts_t hmm; } opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    if (c != O_MODEL && !o->train)
        cli_usage_error (cli, "--%s is an option of 'train'", s_longopts[c - 1].name);
    switch (c) {
    case O_MODEL: o->model = arg; return 0;
    case O_STATES: o->hmm.states = (int) cli_long (cli, "--states", arg, 1, 64); return 0;
    case O_ITERS: o->hmm.iters = (int) cli_long (cli, "--iters", arg, 0, 100000); return 0;
    case O_TOL: o->hmm.tol = cli_double (cli, "--tol", arg, 0, 1e9); return 0;
    case O_VAR_FLOOR: o->hmm.var_floor = cli_double (cli, "--var-floor", arg, 1e-12, 1e6); return 0;
    case O_TRANS_FLOOR: o->hmm.trans_floor = cli_double (cli, "--trans-floor", arg, 0, 0.49); return 0;
    case O_SEED: o->hmm.seed = (uint64_t) cli_long (cli, "--seed", arg, 0, 1L << 62); return 0;
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
    cli_t cli = {.prog = "vigil-hmm", .usage = USAGE};
    opts_t o = {0};
    hmm_opts_default (&o.hmm);
    if (argc < 2 || (strcmp (argv[1], "train") && strcmp (argv[1], "score"))) {
        cli_parse (&cli, argc, argv, "", NULL, NULL, NULL);
        cli_usage_error (&cli, "expected 'train' or 'score'");
    }
    o.train = !strcmp (argv[1], "train");
    int argi = cli_parse (&cli, argc - 1, argv + 1, "", s_longopts, s_opt, &o);
    if (argi < argc - 1 || !o.model)
        cli_usage_error (&cli, argi < argc - 1 ? "unexpected argument" : "--model FILE is required");
    char err[ERRLEN], hash[24];
    hmm_t *hmm = o.train ? NULL : hmm_load (o.model, err);
    if (!o.train && !hmm)
        cli_fatal (&cli, "%s", err);
    snprintf (hash, sizeof hash, "%016llx", hmm ? (unsigned long long) hmm_hash (hmm) : 0ULL);
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    float *X = NULL;    //  (n, d) training windows
    size_t n = 0, xcap = 0, w = 0, d = 0, rw = 1;
    while (stage_read (st, &rec) == 1) {
        if (s_shape (&rec, &rw, err))
            stage_reject (st, "%s", err);
        else if (!o.train && (rw != hmm_window (hmm) || rec.nx != rw * hmm_nfeat (hmm)))
            stage_reject (st, "key 'x': window of %zu steps x %zu features, the model "
                          "expects %zu x %zu", rw, rec.nx / rw, hmm_window (hmm), hmm_nfeat (hmm));
        else if (!o.train) {
            rec.score = hmm_score (hmm, rec.x);
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
        hmm = hmm_train (X, n, w, d / (w ? w : 1), &o.hmm, err);
        if (!hmm || hmm_save (hmm, o.model, err))
            stage_fail (st, "%s", err);
        else if (cli.verbose) {
            size_t nit;
            const double *tr = hmm_trace (hmm, &nit);
            fprintf (stderr, "vigil-hmm: %zu windows of %zu x %zu, %zu states, %zu iterations, "
                     "log-likelihood per step %.4f -> %.4f, model %016llx\n", n, w, d / w,
                     hmm_nstates (hmm), nit, nit ? tr[0] : 0, nit ? tr[nit - 1] : 0,
                     (unsigned long long) hmm_hash (hmm));
        }
    }
    free (X);
    hmm_destroy (&hmm);
    record_destroy (&rec);
    return stage_finish (&st);
}
