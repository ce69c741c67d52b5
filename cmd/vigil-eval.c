/*  vigil-eval: the paper's metrics, and more, from labelled scored frames;
    the figures with gnuplot.  See docs/eval.md.  */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "plot.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-eval [--json FILE] [--plots DIR] [--log FILE.csv] [--paper] [--thr X]\n"
    "       vigil-eval --compare [--plots DIR] [--paper] A.json B.json ...\n"
    "\n"
    "Reads frames with `label`, `score` and (if present) `anomaly`, and prints on\n"
    "stdout the confusion matrix, accuracy, precision, recall, specificity, F1,\n"
    "ROC AUC, PR AUC (average precision), recall per `kind`, and, labelled as\n"
    "event-level, events detected, false alarm runs and the mean detection delay\n"
    "(from an event's first window to its first flag).  Pointwise by default and\n"
    "never point-adjusted.  Frames without a label are counted and ignored.\n"
    "  --json FILE       also write the report as JSON (for --compare, scripts)\n"
    "  --name NAME       the model's name in the JSON report (default: none)\n"
    "  --plots DIR       write PNGs (and their gnuplot scripts) into DIR:\n"
    "                    confusion.png (Fig. 2), roc.png, pr.png, histogram.png;\n"
    "                    epochs.png (Fig. 3) with --log; compare.png (Fig. 4)\n"
    "  --log FILE.csv    a training log (vigil-train) to plot over epochs\n"
    "  --paper           print the paper's figures beside ours (and in Fig. 4)\n"
    "  --thr X           decide anomaly = score > X for frames without `anomaly`\n"
    "  --cap N           scores kept for the AUCs (default 4000000; beyond it a\n"
    "                    uniform sample, and the report says the AUCs are estimates)\n"
    "  --compare         the operands are JSON reports: print them side by side\n"
    "                    and draw Fig. 4; no frames are read\n"
    "\n"
    "Common options:\n"
    "  -i EP             input endpoint (default -: stdin); the report goes to stdout\n"
    "  -v                summary on stderr\n"
    "  --strict          stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input, unreadable report or plotting failure, 2 usage error.\n";

enum { O_JSON = 1, O_PLOTS, O_LOG, O_PAPER, O_THR, O_CAP, O_COMPARE, O_NAME };
static const struct option s_longopts[] = {
    {"json", required_argument, NULL, O_JSON}, {"plots", required_argument, NULL, O_PLOTS},
    {"log", required_argument, NULL, O_LOG}, {"paper", no_argument, NULL, O_PAPER},
    {"thr", required_argument, NULL, O_THR}, {"cap", required_argument, NULL, O_CAP},
    {"compare", no_argument, NULL, O_COMPARE}, {"name", required_argument, NULL, O_NAME},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *json, *plots, *log, *name;
    bool paper, compare;
    double thr;
    size_t cap;
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    switch (c) {
    case O_JSON: o->json = arg; return 0;
    case O_PLOTS: o->plots = arg; return 0;
    case O_LOG: o->log = arg; return 0;
    case O_NAME: o->name = arg; return 0;
    case O_PAPER: o->paper = true; return 0;
    case O_COMPARE: o->compare = true; return 0;
    case O_THR: o->thr = cli_double (cli, "--thr", arg, -1e300, 1e300); return 0;
    case O_CAP: o->cap = (size_t) cli_long (cli, "--cap", arg, 100, 1L << 34); return 0;
    }
    return -1;
}

static int
s_write (const char *path, const char *text, char *err)
{
    FILE *f = fopen (path, "w");
    if (!f || fputs (text, f) < 0 || fclose (f))
        return errf (err, "%s: cannot write", path);
    return 0;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-eval", .usage = USAGE};
    opts_t o = {.thr = NAN};
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &o);
    char err[ERRLEN];
    if (o.compare) {
        if (argi >= argc && !o.paper)
            cli_usage_error (&cli, "--compare needs JSON reports as operands");
        const char *const *reps = (const char *const *) argv + argi;
        char *t = metrics_compare_text (reps, (size_t) (argc - argi), o.paper, err);
        if (!t)
            cli_fatal (&cli, "%s", err);
        fputs (t, stdout);
        free (t);
        if (o.plots && plot_compare (o.plots, reps, (size_t) (argc - argi), o.paper, err))
            cli_fatal (&cli, "%s", err);
        return fflush (stdout) ? 1 : 0;
    }
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s' (reports go with --compare)", argv[argi]);

    stage_t *st = stage_new (&cli, false);
    metrics_t *m = metrics_new (o.cap, 1);
    record_t rec;
    record_init (&rec);
    double thr = o.thr;
    while (stage_read (st, &rec) == 1) {
        bool has_score = rec.has & REC_SCORE;
        bool has_flag = rec.has & REC_ANOMALY;
        bool flag = rec.anomaly;
        double t;
        if (!has_flag && isfinite (o.thr) && has_score)
            has_flag = true, flag = rec.score > o.thr;
        if (!isfinite (o.thr) && !isfinite (thr) && record_extra_double (&rec, "thr", &t) == 0)
            thr = t;
        if (metrics_add (m, rec.has & REC_ID ? rec.id : NULL, rec.has & REC_T ? rec.t : NAN,
                         rec.has & REC_LABEL ? rec.label : -1, rec.has & REC_KIND ? rec.kind : NULL,
                         has_score, rec.score, has_flag, flag, err))
            stage_reject (st, "%s", err);
    }
    record_destroy (&rec);
    metrics_summary_t s;
    metrics_finish (m, &s);
    if (!s.nlabelled)
        stage_fail (st, "no labelled frames: nothing to evaluate");
    else {
        char *text = metrics_report_text (m, o.paper, thr);
        fputs (text, stdout);
        free (text);
    }
    char *json = metrics_report_json (m, o.name, thr);
    if (o.json && s.nlabelled && s_write (o.json, json, err))
        stage_fail (st, "%s", err);
    if (o.plots && s.nlabelled) {
        size_t np;
        metrics_point_t *pts = metrics_curve (m, 2000, &np);
        const double *sc;
        const uint8_t *lb;
        size_t n = metrics_sample (m, &sc, &lb);
        double prev = s.nscored ? (double) s.npos / (double) s.nscored : NAN;
        if ((s.ndecided && plot_confusion (o.plots, s.tp, s.fp, s.tn, s.fn, NULL, err))
            || (np && plot_curves (o.plots, pts, np, s.roc_auc, s.pr_auc, prev, s.fpr, s.recall,
                                   s.precision, err))
            || (n && plot_histogram (o.plots, sc, lb, n, thr, err)))
            stage_fail (st, "%s", err);
        free (pts);
    }
    if (o.plots && o.log && plot_epochs (o.plots, o.log, err))
        stage_fail (st, "%s", err);
    if (cli.verbose && o.plots)
        fprintf (stderr, "vigil-eval: plots in %s\n", o.plots);
    free (json);
    metrics_destroy (&m);
    return stage_finish (&st);
}
