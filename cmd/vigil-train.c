/*  vigil-train: train the VAE on windows and save a self-contained model.  */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-train --stats FILE -m MODEL [options] [-i WINDOWS]\n"
    "\n"
    "Train the variational autoencoder (paper Eq. 1-4, Algorithm 1) on windows\n"
    "from vigil-window (normal data; labels are ignored) and save the model with\n"
    "the best validation loss.  All windows are held in memory (W x F floats\n"
    "each).  They are shuffled with the seed, a validation fraction is held out\n"
    "(whole patients: every window of an id on one side, since a window overlaps\n"
    "its neighbours), and training runs in mini-batches with Adam until the\n"
    "validation loss has not improved for --patience epochs or --epochs is reached.\n"
    "\n"
    "  --stats FILE      the vigil-stats file the windows were normalised with;\n"
    "                    embedded in the model (x must be W x its fields)\n"
    "  -m, --model FILE  where to write the model (vigil-model file)\n"
    "  --hidden LIST     hidden widths of the encoder, mirrored in the decoder\n"
    "                    (default 64,32)\n"
    "  --latent N        latent width (default 8)\n"
    "  --act NAME        hidden activation: relu (default) or tanh\n"
    "  --decoder KIND    unit: the decoder gives the mean, unit variance (Eq. 4-5,\n"
    "                    default); gauss: a mean and a variance per value, trained\n"
    "                    and scored by the Gaussian negative log-likelihood\n"
    "  --beta B          weight of the KL term (default 1)\n"
    "  --lr RATE         Adam learning rate (default 0.001)\n"
    "  --weight-decay D  decoupled weight decay, as AdamW (default 0)\n"
    "  --clip NORM       clip the gradient to this L2 norm, 0 = off (default 5)\n"
    "  --batch N         mini-batch size (default 128)\n"
    "  --epochs N        most epochs (default 100)\n"
    "  --patience N      stop after N epochs without improvement (default 10)\n"
    "  --val FRAC        validation fraction (default 0.1): of the ids, or of the\n"
    "                    windows when they have no id or the draw picks no id\n"
    "  --val-windows     hold out windows at random, not whole ids\n"
    "  --seed N          seed for shuffling, initialisation and noise (default 1)\n"
    "  --threads N       OpenBLAS threads (default 1)\n"
    "  --log FILE        per-epoch CSV: loss, recon, kl, validation loss, speed\n"
    "  --eval FILE       labelled windows (frames file): the log also gets accuracy,\n"
    "                    precision, recall, specificity, F1 and ROC AUC per epoch,\n"
    "                    flagging scores (by mu) above the 99th percentile of\n"
    "                    that epoch's validation scores; no labels are used to train\n"
    "  --calibrate FILE  normal windows of other patients (frames file): the\n"
    "                    residual variances for --score scaled come from them\n"
    "  -q, --quiet       no progress line\n"
    "\n"
    "Progress (stderr, one line per epoch): epoch, loss, recon, KL, validation\n"
    "loss, windows/s and an upper bound of the time left.  The model also stores\n"
    "each field's residual variance (for vigil-score --score scaled) on the\n"
    "training windows, or with --calibrate FILE on those (normal) windows of\n"
    "other patients; -v prints them.\n"
    "\n"
    "Common options: -i EP (default -), -v, --strict, --max-frame SIZE,\n"
    "  --producers N, --curve-server/--curve-client/--curve-peer/--curve-allow,\n"
    "  -h/--help, --version.  Nothing is written to stdout.\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

typedef struct {
    model_train_opts_t t;
    const char *stats, *model, *log, *eval, *calib;
    long threads;
    bool quiet;
} opts_t;

enum { O_STATS = 1, O_HIDDEN, O_LATENT, O_ACT, O_BETA, O_LR, O_WD, O_CLIP, O_BATCH,
       O_EPOCHS, O_PATIENCE, O_VAL, O_SEED, O_THREADS, O_LOG, O_EVAL,
       O_CALIB, O_DECODER, O_VALW };
static const struct option s_longopts[] = {
    {"stats", 1, 0, O_STATS}, {"model", 1, 0, 'm'}, {"hidden", 1, 0, O_HIDDEN},
    {"latent", 1, 0, O_LATENT}, {"act", 1, 0, O_ACT}, {"beta", 1, 0, O_BETA},
    {"lr", 1, 0, O_LR}, {"weight-decay", 1, 0, O_WD}, {"clip", 1, 0, O_CLIP},
    {"batch", 1, 0, O_BATCH}, {"epochs", 1, 0, O_EPOCHS}, {"patience", 1, 0, O_PATIENCE},
    {"val", 1, 0, O_VAL}, {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS},
    {"log", 1, 0, O_LOG}, {"eval", 1, 0, O_EVAL}, {"calibrate", 1, 0, O_CALIB}, {"quiet", 0, 0, 'q'},
    {"decoder", 1, 0, O_DECODER}, {"val-windows", 0, 0, O_VALW},
    {0, 0, 0, 0}};

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    char err[ERRLEN];
    switch (c) {
    case O_STATS: o->stats = arg; break;
    case 'm': o->model = arg; break;
    case O_HIDDEN:
        if (vae_parse_hidden (arg, &o->t.arch, err))
            cli_usage_error (cli, "--hidden: %s", err);
        break;
    case O_LATENT: o->t.arch.nlatent = cli_long (cli, "--latent", arg, 1, 100000); break;
    case O_ACT:
        if (nn_act_parse (arg, &o->t.arch.act) || o->t.arch.act == NN_LINEAR)
            cli_usage_error (cli, "--act: '%s' is not relu or tanh", arg);
        break;
    case O_DECODER:
        if (strcmp (arg, "unit") && strcmp (arg, "gauss"))
            cli_usage_error (cli, "--decoder: '%s' is not unit or gauss", arg);
        o->t.arch.gauss = !strcmp (arg, "gauss");
        break;
    case O_BETA: o->t.beta = cli_double (cli, "--beta", arg, 0, 1e6); break;
    case O_LR: o->t.adam.lr = cli_double (cli, "--lr", arg, 1e-12, 10); break;
    case O_WD: o->t.adam.weight_decay = cli_double (cli, "--weight-decay", arg, 0, 1); break;
    case O_CLIP: o->t.adam.clip = cli_double (cli, "--clip", arg, 0, 1e12); break;
    case O_BATCH: o->t.batch = cli_long (cli, "--batch", arg, 1, 1 << 20); break;
    case O_EPOCHS: o->t.max_epochs = cli_long (cli, "--epochs", arg, 1, 1000000); break;
    case O_PATIENCE: o->t.patience = cli_long (cli, "--patience", arg, 1, 1000000); break;
    case O_VAL: o->t.val_frac = cli_double (cli, "--val", arg, 1e-9, 0.9); break;
    case O_VALW: o->t.val_windows = true; break;
    case O_SEED: o->t.seed = cli_long (cli, "--seed", arg, 0, 0x7fffffffffffffffL); break;
    case O_THREADS: o->threads = cli_long (cli, "--threads", arg, 1, 256); break;
    case O_LOG: o->log = arg; break;
    case O_EVAL: o->eval = arg; break;
    case O_CALIB: o->calib = arg; break;
    case 'q': o->quiet = true; break;
    default: return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-train", .usage = USAGE};
    opts_t o = {.t = model_train_defaults (), .threads = 1};
    int argi = cli_parse (&cli, argc, argv, "m:q", s_longopts, s_opt, &o);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    if (!o.stats || !o.model)
        cli_usage_error (&cli, "--stats and --model are required");
    nn_set_threads ((int) o.threads);
    char err[ERRLEN];
    stats_t *stats = stats_load (o.stats, err);
    if (!stats)
        cli_fatal (&cli, "%s", err);
    FILE *log = o.log ? fopen (o.log, "w") : NULL;
    if (o.log && !log)
        cli_fatal (&cli, "cannot write '%s'", o.log);

    cli.out[0] = "/dev/null", cli.nout = 1;      //  no frames out
    stage_t *st = stage_new (&cli, false);
    size_t F = stats_nfields (stats), W = 0, w;
    model_data_t *data = NULL, *eval = NULL;
    record_t rec;
    record_init (&rec);
    while (stage_read (st, &rec) == 1) {
        if (W == 0 && model_window_of (&rec, F, &w, err) == 0)
            W = w, data = model_data_new (W * F);
        if (W == 0 || model_check_window (&rec, W, F, err))
            stage_reject (st, "%s", err);
        else
            model_data_add_group (data, rec.x, -1,
                                  rec.has & REC_ID ? hash64 (rec.id, strlen (rec.id)) | 1 : 0);
    }
    record_destroy (&rec);
    if (W && o.eval && !(eval = model_data_read (o.eval, W, F, err)))
        cli_fatal (&cli, "--eval: %s", err);
    model_trainer_t *tr = stage_stopping (st) ? NULL
                        : model_trainer_new (&data, eval, &o.t, err);
    if (!tr)
        cli_fatal (&cli, "%s", stage_stopping (st) ? "stopped" : err);
    char line[512];
    model_epoch_csv_header (line, sizeof line, eval != NULL);
    if (log)
        fputs (line, log);
    model_epoch_t e;
    size_t max = model_trainer_max_epochs (tr);
    double t0 = clock_mono ();
    for (int go = 1; go;) {
        go = model_trainer_epoch (tr, &e);
        model_epoch_csv (&e, line, sizeof line);
        if (log)
            fputs (line, log), fflush (log);
        double per = (clock_mono () - t0) / e.epoch, eta = go ? per * (max - e.epoch) : 0;
        if (!o.quiet)
            fprintf (stderr, "vigil-train: epoch %zu/%zu loss %.4f recon %.4f kl %.4f "
                     "val %.4f%s %.0f windows/s eta <=%.0fs\n", e.epoch, max, e.loss,
                     e.recon, e.kl, e.val_loss, e.improved ? " *" : "", e.windows_per_s, eta);
    }
    model_info_t info;
    bool by_id = model_trainer_val_by_group (tr);
    vae_t *vae = model_trainer_finish (tr, &info);
    double *var = xmalloc (F * sizeof (double));
    const double *elem = model_trainer_resid (tr);
    model_data_t *calib = o.calib ? model_data_read (o.calib, W, F, err) : NULL;
    if (o.calib && !calib)
        cli_fatal (&cli, "--calibrate: %s", err);
    double *cres = calib ? xmalloc (W * F * sizeof (double)) : NULL;
    if (calib)
        model_residuals (vae, calib, (size_t) o.t.batch, cres), elem = cres;
    model_resid_per_field (elem, W, F, MODEL_RESID_FLOOR, var);
    free (cres);
    model_data_destroy (&calib);
    model_trainer_destroy (&tr);
    model_data_destroy (&eval);
    model_t *m = model_new (&vae, &stats, W, &info, err);
    if (!m || model_set_resid (m, var, err) || model_save (m, o.model, err))
        cli_fatal (&cli, "%s", err);
    for (size_t f = 0; cli.verbose && f < F; f++)
        fprintf (stderr, "vigil-train: %s: residual variance %.4g\n",
                 stats_field (model_stats (m), f), var[f]);
    free (var);
    if (!o.quiet)
        fprintf (stderr, "vigil-train: saved '%s' (model %s): epoch %llu of %llu, "
                 "val loss %.4f, %llu windows x %zu steps x %zu fields, %llu held out (%s)\n",
                 o.model, model_hash_hex (m), (unsigned long long) info.best_epoch,
                 (unsigned long long) info.epochs, info.val_loss,
                 (unsigned long long) (info.windows + info.val_windows), W, F,
                 (unsigned long long) info.val_windows, by_id ? "whole ids" : "windows");
    model_destroy (&m);
    if (log && fclose (log))
        cli_fatal (&cli, "cannot write '%s'", o.log);
    return stage_finish (&st);
}
