/*  plot: see plot.h.

    Invariants: every figure is one script written in full before gnuplot
    runs, so a failed run leaves the script and its log for inspection;
    gnuplot runs as a child with DIR as its working directory and never
    through a shell, so no path is ever interpreted.  */
#include "plot.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TERM "set terminal pngcairo size 900,650 enhanced font 'DejaVu Sans,12'\n"

//  The paper's VAE figures (accuracy, precision, recall, specificity, F1, AUC).
static const double s_paper[6] = {0.95, 0.95, 0.75, 0.98, 0.8382, 0.92};
static const char *s_metric_keys[6] = {"accuracy", "precision", "recall", "specificity", "f1", "roc_auc"};
static const char *s_metric_names[6] = {"Accuracy", "Precision", "Recall", "Specificity", "F1", "ROC AUC"};

//  Open DIR/NAME.gp for writing (making DIR if needed).
static FILE *
s_open (const char *dir, const char *name, char *err)
{
    if (mkdir (dir, 0777) && errno != EEXIST) {
        errf (err, "%s: %s", dir, strerror (errno));
        return NULL;
    }
    char path[4096];
    snprintf (path, sizeof path, "%s/%s.gp", dir, name);
    FILE *f = fopen (path, "w");
    if (!f)
        errf (err, "%s: %s", path, strerror (errno));
    else
        fprintf (f, "# %s.gp: written by vigil; run `gnuplot %s.gp` in this folder\n" TERM
                 "set output '%s.png'\n", name, name, name);
    return f;
}

//  Close the script and run gnuplot on it in DIR.
static int
s_run (FILE *f, const char *dir, const char *name, char *err)
{
    if (fclose (f))
        return errf (err, "%s/%s.gp: write failed", dir, name);
    char gp[4096], log[4096];
    snprintf (gp, sizeof gp, "%s.gp", name);
    snprintf (log, sizeof log, "%s/%s.log", dir, name);
    pid_t pid = fork ();
    if (pid < 0)
        return errf (err, "fork: %s", strerror (errno));
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0) {
            dup2 (fd, 2);
            dup2 (fd, 1);
            close (fd);
        }
        if (chdir (dir) == 0)
            execlp ("gnuplot", "gnuplot", gp, (char *) NULL);
        _exit (127);
    }
    int status;
    if (waitpid (pid, &status, 0) < 0)
        return errf (err, "waitpid: %s", strerror (errno));
    if (!WIFEXITED (status) || WEXITSTATUS (status) == 127)
        return errf (err, "cannot run gnuplot (is it installed?)");
    if (WEXITSTATUS (status))
        return errf (err, "gnuplot failed on %s/%s.gp (see %s)", dir, name, log);
    unlink (log);
    return 0;
}

int
plot_confusion (const char *dir, uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn,
                const char *title, char *err)
{
    FILE *f = s_open (dir, "confusion", err);
    if (!f)
        return -1;
    double neg = (double) (tn + fp), pos = (double) (tp + fn);
    //  rows: true class (normal on top), columns: predicted class
    double pct[2][2] = {
        {neg ? tn / neg : 0, neg ? fp / neg : 0},
        {pos ? fn / pos : 0, pos ? tp / pos : 0},
    };
    uint64_t cnt[2][2] = {{tn, fp}, {fn, tp}};
    fprintf (f, "set title '%s' noenhanced\n", title ? title : "Confusion matrix");
    fprintf (f, "set size ratio 1\nunset key\n"
             "set xrange [-0.5:1.5]\nset yrange [1.5:-0.5]\n"
             "set xtics ('Normal' 0, 'Anomalous' 1)\nset ytics ('Normal' 0, 'Anomalous' 1)\n"
             "set xlabel 'Predicted class'\nset ylabel 'True class'\n"
             "set cbrange [0:1]\nset cblabel 'fraction of the true class'\n"
             "set palette defined (0 '#f7fbff', 0.5 '#6baed6', 1 '#08306b')\n"
             "unset border\nset tics scale 0\n");
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++)
            fprintf (f, "set label \"%s\\n%llu\\n(%.1f %%)\" at %d,%d center front "
                     "font ',16' textcolor rgb '%s'\n",
                     r == c ? (r ? "TP" : "TN") : (r ? "FN" : "FP"),
                     (unsigned long long) cnt[r][c], 100 * pct[r][c], c, r,
                     pct[r][c] > 0.5 ? "white" : "black");
    fprintf (f, "$m << EOD\n%.6f %.6f\n%.6f %.6f\nEOD\n", pct[0][0], pct[0][1], pct[1][0], pct[1][1]);
    fprintf (f, "plot $m matrix with image\n");
    return s_run (f, dir, "confusion", err);
}

int
plot_curves (const char *dir, const metrics_point_t *pts, size_t n, double roc_auc,
             double pr_auc, double prevalence, double op_fpr, double op_tpr,
             double op_precision, char *err)
{
    if (!n)
        return errf (err, "no scored, labelled records to draw curves from");
    FILE *f = s_open (dir, "roc", err);
    if (!f)
        return -1;
    fprintf (f, "$c << EOD\n");
    for (size_t i = 0; i < n; i++)
        fprintf (f, "%.8g %.8g %.8g\n", pts[i].fpr, pts[i].tpr, pts[i].precision);
    fprintf (f, "EOD\n");
    fprintf (f, "set title 'ROC curve'\nset xlabel 'False positive rate (1 - specificity)'\n"
             "set ylabel 'True positive rate (recall)'\nset xrange [0:1]\nset yrange [0:1.02]\n"
             "set grid\nset key bottom right\nset size ratio 1\n");
    fprintf (f, "plot $c using 1:2 with lines lw 2 lc rgb '#08519c' title 'ROC (AUC %.4f)', "
             "x with lines dt 2 lc rgb 'gray' title 'chance'", roc_auc);
    if (isfinite (op_fpr) && isfinite (op_tpr))
        fprintf (f, ", '+' using (%.8g):(%.8g) every ::0::0 with points pt 7 ps 1.5 "
                 "lc rgb '#cb181d' title 'threshold'", op_fpr, op_tpr);
    fprintf (f, "\n");
    if (s_run (f, dir, "roc", err))
        return -1;
    if (!(f = s_open (dir, "pr", err)))
        return -1;
    fprintf (f, "$c << EOD\n");
    for (size_t i = 1; i < n; i++)      //  point 0 (nothing flagged) has no recall
        fprintf (f, "%.8g %.8g\n", pts[i].tpr, pts[i].precision);
    fprintf (f, "EOD\n");
    fprintf (f, "set title 'Precision-recall curve'\nset xlabel 'Recall'\nset ylabel 'Precision'\n"
             "set xrange [0:1]\nset yrange [0:1.02]\nset grid\nset key bottom left\nset size ratio 1\n");
    fprintf (f, "plot $c using 1:2 with steps lw 2 lc rgb '#08519c' title 'PR (average precision %.4f)', "
             "%.8g with lines dt 2 lc rgb 'gray' title 'chance (prevalence %.3f)'",
             pr_auc, prevalence, prevalence);
    if (isfinite (op_tpr) && isfinite (op_precision))
        fprintf (f, ", '+' using (%.8g):(%.8g) every ::0::0 with points pt 7 ps 1.5 "
                 "lc rgb '#cb181d' title 'threshold'", op_tpr, op_precision);
    fprintf (f, "\n");
    return s_run (f, dir, "pr", err);
}

int
plot_histogram (const char *dir, const double *score, const uint8_t *label, size_t n,
                double thr, char *err)
{
    if (!n)
        return errf (err, "no scores to draw a histogram of");
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        lo = fmin (lo, score[i]), hi = fmax (hi, score[i]);
    bool logx = lo > 0 && hi / lo > 100;
    enum { NB = 60 };
    double a = logx ? log10 (lo) : lo, b = logx ? log10 (hi) : hi;
    if (!(b > a))
        b = a + 1;
    double cnt[2][NB] = {{0}};
    uint64_t tot[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        double v = logx ? log10 (score[i]) : score[i];
        int k = (int) ((v - a) / (b - a) * NB);
        k = k < 0 ? 0 : k >= NB ? NB - 1 : k;
        cnt[label[i] ? 1 : 0][k]++;
        tot[label[i] ? 1 : 0]++;
    }
    FILE *f = s_open (dir, "histogram", err);
    if (!f)
        return -1;
    fprintf (f, "$h << EOD\n");
    for (int k = 0; k < NB; k++) {
        double c = a + (k + 0.5) * (b - a) / NB;
        fprintf (f, "%.8g %.8g %.8g\n", logx ? pow (10, c) : c,
                 tot[0] ? cnt[0][k] / (double) tot[0] : 0, tot[1] ? cnt[1][k] / (double) tot[1] : 0);
    }
    fprintf (f, "EOD\n");
    fprintf (f, "set title 'Anomaly scores: normal vs anomalous records'\n"
             "set xlabel 'Anomaly score (higher = more anomalous)%s'\nset ylabel 'Fraction of the class'\n"
             "set grid\nset key outside bottom center horizontal\n"
             "set style fill transparent solid 0.45 noborder\n",
             logx ? ", log scale" : "");
    if (logx)
        fprintf (f, "set logscale x\nset format x '10^{%%L}'\n");
    fprintf (f, "set yrange [0:*]\nset offsets 0, 0, graph 0.12, 0\n");
    if (isfinite (thr))
        fprintf (f, "set arrow from %.8g, graph 0 to %.8g, graph 1 nohead lw 2 dt 2 lc rgb '#cb181d'\n"
                 "set label 'threshold %.4g' at %.8g, graph 0.97 left offset 0.5,0 textcolor rgb '#cb181d'\n",
                 thr, thr, thr, thr);
    fprintf (f, "plot $h using 1:2 with boxes lc rgb '#2171b5' title 'normal (n = %llu)', "
             "$h using 1:3 with boxes lc rgb '#ef3b2c' title 'anomalous (n = %llu)'\n",
             (unsigned long long) tot[0], (unsigned long long) tot[1]);
    return s_run (f, dir, "histogram", err);
}

//  Column index of name in a CSV header line, or -1.
static int
s_col (const char *header, const char *name)
{
    char buf[4096];
    snprintf (buf, sizeof buf, "%s", header);
    int i = 0;
    for (char *save = NULL, *tok = strtok_r (buf, ",\r\n", &save); tok;
         tok = strtok_r (NULL, ",\r\n", &save), i++)
        if (!strcmp (tok, name))
            return i;
    return -1;
}

int
plot_epochs (const char *dir, const char *csv_path, char *err)
{
    FILE *in = fopen (csv_path, "r");
    if (!in)
        return errf (err, "%s: %s", csv_path, strerror (errno));
    char header[4096];
    if (!fgets (header, sizeof header, in)) {
        fclose (in);
        return errf (err, "%s: empty training log", csv_path);
    }
    int ep = s_col (header, "epoch");
    int mcol[6], nm = 0;
    for (int k = 0; k < 6; k++)
        nm += (mcol[k] = s_col (header, s_metric_keys[k])) >= 0;
    int lcol = s_col (header, "loss"), vcol = s_col (header, "val_loss");
    if (ep < 0 || (nm == 0 && lcol < 0)) {
        fclose (in);
        return errf (err, "%s: not a training log (needs an 'epoch' column and metrics or 'loss')",
                     csv_path);
    }
    FILE *f = s_open (dir, "epochs", err);
    if (!f) {
        fclose (in);
        return -1;
    }
    //  the CSV body, copied verbatim into a datablock
    fprintf (f, "$d << EOD\n");
    char line[4096];
    size_t rows = 0;
    while (fgets (line, sizeof line, in))
        if (strchr (line, ',')) {
            fputs (line, f);
            rows++;
        }
    fclose (in);
    fprintf (f, "EOD\nset datafile separator ','\nset datafile missing 'nan'\n");
    if (!rows) {
        fclose (f);
        return errf (err, "%s: the training log has no rows", csv_path);
    }
    bool two = nm > 0 && lcol >= 0;
    if (two)
        fprintf (f, "set terminal pngcairo size 900,900 enhanced font 'DejaVu Sans,12'\n"
                 "set output 'epochs.png'\nset multiplot layout 2,1\n");
    if (nm) {
        fprintf (f, "set title 'Performance over training epochs (evaluation set)'\n"
                 "set xlabel 'Epoch'\nset ylabel 'Metric value'\nset yrange [0:1.02]\n"
                 "set grid\nset key outside right\n");
        fprintf (f, "plot ");
        int first = 1;
        for (int k = 0; k < 6; k++)
            if (mcol[k] >= 0) {
                fprintf (f, "%s$d using %d:%d with linespoints lw 2 pt 7 ps 0.6 title '%s'",
                         first ? "" : ", ", ep + 1, mcol[k] + 1, s_metric_names[k]);
                first = 0;
            }
        fprintf (f, "\n");
    }
    if (lcol >= 0) {
        fprintf (f, "set title 'Loss over training epochs'\nset xlabel 'Epoch'\n"
                 "set ylabel 'Loss per window (reconstruction + {/Symbol b} KL)'\n"
                 "set autoscale y\nset grid\nset key outside right\n");
        fprintf (f, "plot $d using %d:%d with linespoints lw 2 pt 7 ps 0.6 title 'training'", ep + 1,
                 lcol + 1);
        if (vcol >= 0)
            fprintf (f, ", $d using %d:%d with linespoints lw 2 pt 5 ps 0.6 title 'validation'",
                     ep + 1, vcol + 1);
        fprintf (f, "\n");
    }
    if (two)
        fprintf (f, "unset multiplot\n");
    return s_run (f, dir, "epochs", err);
}

int
plot_compare (const char *dir, const char *const *reports, size_t n, bool paper, char *err)
{
    if (!n && !paper)
        return errf (err, "no reports to compare");
    FILE *f = s_open (dir, "compare", err);
    if (!f)
        return -1;
    //  one row per metric, one column per model
    double (*val)[6] = xcalloc (n + 1, sizeof *val);
    char (*name)[64] = xcalloc (n + 1, sizeof *name);
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *j = json_load_file (reports[i], 0, &je);
        json_t *pw = j ? json_object_get (j, "pointwise") : NULL;
        if (!pw) {
            errf (err, "%s: not a vigil-eval JSON report%s%s", reports[i], j ? "" : ": ",
                  j ? "" : je.text);
            json_decref (j);
            fclose (f);
            free (val);
            free (name);
            return -1;
        }
        const char *nm = json_string_value (json_object_get (j, "name"));
        const char *base = strrchr (reports[i], '/');
        snprintf (name[i], 64, "%s", nm && *nm ? nm : base ? base + 1 : reports[i]);
        for (int k = 0; k < 6; k++) {
            json_t *v = json_object_get (pw, s_metric_keys[k]);
            val[i][k] = json_is_number (v) ? json_number_value (v) : NAN;
        }
        json_decref (j);
    }
    size_t m = n;
    if (paper) {
        snprintf (name[m], 64, "paper's VAE");
        memcpy (val[m], s_paper, sizeof s_paper);
        m++;
    }
    fprintf (f, "$d << EOD\nmetric");
    for (size_t i = 0; i < m; i++)
        fprintf (f, " \"%s\"", name[i]);
    fprintf (f, "\n");
    for (int k = 0; k < 6; k++) {
        fprintf (f, "\"%s\"", s_metric_names[k]);
        for (size_t i = 0; i < m; i++)
            isfinite (val[i][k]) ? fprintf (f, " %.6f", val[i][k]) : fprintf (f, " NaN");
        fprintf (f, "\n");
    }
    fprintf (f, "EOD\n");
    fprintf (f, "set title 'Comparison of models on key metrics'\nset ylabel 'Metric value'\n"
             "set xlabel 'Metric'\nset yrange [0:1.1]\nset grid ytics\n"
             "set style data histograms\nset style histogram clustered gap 1\n"
             "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset key top center horizontal noenhanced\n"
             "set key autotitle columnheader\n");
    fprintf (f, "plot for [i=2:%zu] $d using i:xtic(1)\n", m + 1);
    free (val);
    free (name);
    return s_run (f, dir, "compare", err);
}

//  --------------------------------------------------------------------------

static bool
s_png (const char *dir, const char *name)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s.png", dir, name);
    FILE *f = fopen (path, "rb");
    if (!f)
        return false;
    unsigned char sig[8] = {0};
    size_t got = fread (sig, 1, 8, f);
    fclose (f);
    return got == 8 && !memcmp (sig, "\x89PNG\r\n\x1a\n", 8);
}

void
plot_test (bool verbose)
{
    char err[ERRLEN];
    char dir[] = "/tmp/vigil-plot-test-XXXXXX";
    assert (mkdtemp (dir));
    assert (plot_confusion (dir, 75, 4, 196, 25, NULL, err) == 0);
    assert (s_png (dir, "confusion"));
    metrics_point_t pts[] = {{3, 0, 0, 1}, {2, 0, 0.5, 1}, {1, 0.5, 1, 0.667}, {0, 1, 1, 0.5}};
    assert (plot_curves (dir, pts, 4, 0.875, 0.9, 0.5, 0.5, 1, 0.667, err) == 0);
    assert (s_png (dir, "roc") && s_png (dir, "pr"));
    double sc[] = {0.1, 0.2, 0.3, 50, 100, 0.15};
    uint8_t lb[] = {0, 0, 0, 1, 1, 0};
    assert (plot_histogram (dir, sc, lb, 6, 10, err) == 0 && s_png (dir, "histogram"));
    char csv[4200], js[4200];
    snprintf (csv, sizeof csv, "%s/log.csv", dir);
    FILE *f = fopen (csv, "w");
    fprintf (f, "epoch,loss,val_loss,accuracy,f1\n1,10,11,0.8,0.5\n2,8,9,0.9,0.7\n3,7,8,0.92,0.8\n");
    fclose (f);
    assert (plot_epochs (dir, csv, err) == 0 && s_png (dir, "epochs"));
    f = fopen (csv, "w");
    fprintf (f, "a,b\n1,2\n");
    fclose (f);
    assert (plot_epochs (dir, csv, err) == -1 && strstr (err, "training log"));
    snprintf (js, sizeof js, "%s/r.json", dir);
    f = fopen (js, "w");
    fprintf (f, "{\"name\": \"vae\", \"pointwise\": {\"accuracy\": 0.99, \"precision\": 0.97, "
             "\"recall\": 0.9, \"specificity\": 0.995, \"f1\": 0.93, \"roc_auc\": 0.98}}\n");
    fclose (f);
    const char *reps[] = {js};
    assert (plot_compare (dir, reps, 1, true, err) == 0 && s_png (dir, "compare"));
    const char *bad[] = {csv};
    assert (plot_compare (dir, bad, 1, true, err) == -1 && strstr (err, "report"));
    if (verbose)
        printf ("plots in %s\n", dir);
    else {
        const char *names[] = {"confusion", "roc", "pr", "histogram", "epochs", "compare"};
        char p[4300];
        for (int i = 0; i < 6; i++) {
            snprintf (p, sizeof p, "%s/%s.png", dir, names[i]);
            unlink (p);
            snprintf (p, sizeof p, "%s/%s.gp", dir, names[i]);
            unlink (p);
        }
        unlink (csv);
        unlink (js);
        snprintf (p, sizeof p, "%s/epochs.log", dir);
        unlink (p);
        snprintf (p, sizeof p, "%s/compare.log", dir);
        unlink (p);
        rmdir (dir);
    }
}
