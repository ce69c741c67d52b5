/*  vigil-thresh: fit a threshold on validation scores (fit) and turn scores
    into decisions (apply).  See docs/eval.md.  */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage.h"
#include "thresh.h"

static const char *USAGE =
    "usage: vigil-thresh fit -t FILE [--method M] [--q Q] [--k K] [--risk R] [--level L]\n"
    "                        [--alarms-per-hour N] [--quiet DUR] [--cap N]\n"
    "       vigil-thresh apply -t FILE [--strict-model]\n"
    "\n"
    "fit reads scored frames (a validation stream: normal operation, no labels\n"
    "needed) and writes a vigil-thresh file with the method, the value and the\n"
    "model hash the scores came from.  Nothing is written on stdout.\n"
    "  -t, --thresh FILE     the threshold file (required)\n"
    "  --method M            pot (default), quantile, meanstd, budget, bestf1\n"
    "  --q Q                 quantile: the level, 0 < Q < 1 (default 0.99)\n"
    "  --k K                 meanstd: mean + K standard deviations (default 3)\n"
    "  --risk R              pot: probability that a normal score exceeds the\n"
    "                        threshold (default 1e-4)\n"
    "  --level L             pot: quantile of the initial threshold (default 0.98)\n"
    "  --alarms-per-hour N   budget: at most N incidents per patient-hour on the\n"
    "                        validation stream, grouped as vigil-alert groups them\n"
    "                        (implies --method budget)\n"
    "  --quiet DUR           budget: an incident ends after DUR without a flag\n"
    "                        (default 120s, as vigil-alert)\n"
    "  --cap N               most validation records held (default 4000000);\n"
    "                        pot and quantile sample beyond it, budget refuses\n"
    "  bestf1 needs `label` on every frame: use it on labelled validation data,\n"
    "  never on the stream you report results on.\n"
    "\n"
    "apply adds `anomaly` (score > threshold) and the extra key `thr` to every\n"
    "frame.  A frame whose `model` differs from the threshold's is decided but\n"
    "warned about once (the count is in the -v summary).\n"
    "  -t, --thresh FILE     the threshold file (required)\n"
    "  --strict-model        refuse (skip, report, exit 1) frames of another model\n"
    "\n"
    "Common options:\n"
    "  -i EP, -o EP          input and output endpoints (default -: stdin, stdout)\n"
    "  -v                    summary on stderr (the fitted threshold; counts)\n"
    "  --strict              stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help            this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input, bad threshold file or I/O failure, 2 usage error.\n";

enum { O_METHOD = 1, O_Q, O_K, O_RISK, O_LEVEL, O_APH, O_QUIET, O_CAP, O_SMODEL, O_THRESH };
static const struct option s_longopts[] = {
    {"method", required_argument, NULL, O_METHOD}, {"q", required_argument, NULL, O_Q},
    {"k", required_argument, NULL, O_K}, {"risk", required_argument, NULL, O_RISK},
    {"level", required_argument, NULL, O_LEVEL}, {"alarms-per-hour", required_argument, NULL, O_APH},
    {"quiet", required_argument, NULL, O_QUIET}, {"cap", required_argument, NULL, O_CAP},
    {"strict-model", no_argument, NULL, O_SMODEL}, {"thresh", required_argument, NULL, O_THRESH},
    {NULL, 0, NULL, 0},
};

typedef struct {
    bool fit, method_set, strict_model;
    const char *path;
    thresh_opts_t t;
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    if (c != 't' && c != O_THRESH && (c == O_SMODEL) == o->fit)
        cli_usage_error (cli, "--%s is not an option of '%s'", s_longopts[c - 1].name,
                         o->fit ? "fit" : "apply");
    switch (c) {
    case 't':
    case O_THRESH: o->path = arg; return 0;
    case O_METHOD:
        if (thresh_method_parse (arg, &o->t.method))
            cli_usage_error (cli, "--method: '%s' is not pot, quantile, meanstd, budget or bestf1", arg);
        o->method_set = true;
        return 0;
    case O_Q: o->t.q = cli_double (cli, "--q", arg, 1e-12, 1 - 1e-12); return 0;
    case O_K: o->t.k = cli_double (cli, "--k", arg, -1e6, 1e6); return 0;
    case O_RISK: o->t.risk = cli_double (cli, "--risk", arg, 1e-15, 0.5); return 0;
    case O_LEVEL: o->t.level = cli_double (cli, "--level", arg, 0.5, 1 - 1e-9); return 0;
    case O_APH:
        o->t.budget = cli_double (cli, "--alarms-per-hour", arg, 0, 1e9);
        if (o->method_set && o->t.method != THRESH_BUDGET)
            cli_usage_error (cli, "--alarms-per-hour goes with --method budget");
        o->t.method = THRESH_BUDGET;
        o->method_set = true;
        return 0;
    case O_QUIET: o->t.quiet = cli_duration (cli, "--quiet", arg); return 0;
    case O_CAP: o->t.cap = (size_t) cli_long (cli, "--cap", arg, 100, 1L << 34); return 0;
    case O_SMODEL: o->strict_model = true; return 0;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-thresh", .usage = USAGE};
    opts_t o = {0};
    thresh_opts_default (&o.t);
    if (argc < 2 || (strcmp (argv[1], "fit") && strcmp (argv[1], "apply"))) {
        cli_parse (&cli, argc, argv, "", NULL, NULL, NULL);   //  --help, --version
        cli_usage_error (&cli, "expected 'fit' or 'apply'");
    }
    o.fit = !strcmp (argv[1], "fit");
    int argi = cli_parse (&cli, argc - 1, argv + 1, "t:", s_longopts, s_opt, &o);
    if (argi < argc - 1)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi + 1]);
    if (!o.path)
        cli_usage_error (&cli, "-t FILE (the threshold file) is required");

    char err[ERRLEN];
    thresh_t *th = NULL;
    if (!o.fit && !(th = thresh_load (o.path, err)))
        cli_fatal (&cli, "%s", err);
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    if (o.fit) {
        thresh_fit_t *fit = thresh_fit_new (&o.t);
        while (stage_read (st, &rec) == 1)
            if (thresh_fit_record (fit, &rec, err))
                stage_reject (st, "%s", err);
        if (!stage_stopping (st)) {
            th = thresh_fit_finish (fit, err);
            if (!th || thresh_save (th, o.path, err))
                stage_fail (st, "%s", err);
        }
        thresh_fit_destroy (&fit);
    }
    else {
        uint64_t other = 0, flagged = 0;
        while (stage_read (st, &rec) == 1) {
            int rc = thresh_apply_record (th, &rec, err);
            if (rc == 1 && o.strict_model) {
                stage_reject (st, "%s", err);
                continue;
            }
            if (rc == 1 && other++ == 0)
                cli_warn (&cli, "record %llu: %s (warning once; --strict-model refuses)",
                          (unsigned long long) stage_recno (st), err);
            if (rc < 0)
                stage_reject (st, "%s", err);
            else {
                flagged += rec.anomaly;
                stage_write (st, &rec);
            }
        }
        if (cli.verbose)
            fprintf (stderr, "vigil-thresh: %llu flagged, %llu of another model\n",
                     (unsigned long long) flagged, (unsigned long long) other);
    }
    if (th && cli.verbose) {
        char *d = thresh_describe (th);
        fprintf (stderr, "vigil-thresh: %s\n", d);
        free (d);
    }
    record_destroy (&rec);
    thresh_destroy (&th);
    return stage_finish (&st);
}
