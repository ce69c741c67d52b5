/*  vigil-score: score windows with a trained VAE model.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-score --model FILE [options]\n"
    "\n"
    "Score each window (from vigil-window) with the model and pass it on with\n"
    "  score   the reconstruction error ||x - x^||^2 (paper Eq. 5), or for a model\n"
    "          with a Gaussian decoder (vigil-train --decoder gauss) the negative\n"
    "          log-likelihood of x under it; higher = more anomalous\n"
    "  top     the K fields with the largest squared error summed over the window:\n"
    "          [field, contribution, observed, expected], observed = the newest\n"
    "          step's value and expected = its reconstruction, in the field's units\n"
    "  model   the model file's checksum (16 hex digits), for thresholds and alerts\n"
    "Every other key passes through.  Windows are scored in batches (matrix work),\n"
    "flushed when --batch are waiting or, on stdin and ZeroMQ, when the oldest has\n"
    "waited --idle, so no window is held back longer.  A window of the wrong\n"
    "size or with non-finite values is reported and skipped.\n"
    "\n"
    "  --model FILE      the vigil-model file (required); repeated: an ensemble, score\n"
    "                    = the mean of the models', top from the first, model = a mix\n"
    "  --score MODE      mu: the model's reconstruction term on the decoding of\n"
    "                    the latent mean (default): Eq. 5, or the Gaussian negative\n"
    "                    log-likelihood; sse: Eq. 5 on the decoded mean, whatever\n"
    "                    the decoder; scaled: Eq. 5 with each squared error divided\n"
    "                    by its field's residual variance (stored in the model;\n"
    "                    unit-variance decoders only); samples: mu's term averaged\n"
    "                    over --samples draws of z; elbo: negative ELBO, the mean\n"
    "                    term over the draws + KL\n"
    "  --samples L       draws for samples/elbo (default 10)\n"
    "  --top K           fields in top, 0..16 (default 3)\n"
    "  --batch N         windows per batch (default 256)\n"
    "  --idle DURATION   longest a window waits in a partial batch (default 20ms)\n"
    "  --seed N          seed of the draws (default 1)\n"
    "  --threads N       OpenBLAS threads (default 1)\n"
    "\n"
    "Common options: -i EP, -o EP (default -), -v, --strict, --max-frame SIZE,\n"
    "  --producers N, --curve-server/--curve-client/--curve-peer/--curve-allow,\n"
    "  -h/--help, --version.\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

typedef struct {
    const char *model[8];
    int nmodel;
    model_score_opts_t s;
    long batch, threads, seed;
    double idle;
} opts_t;

enum { O_MODEL = 1, O_SCORE, O_SAMPLES, O_TOP, O_BATCH, O_IDLE, O_SEED, O_THREADS };
static const struct option s_longopts[] = {
    {"model", 1, 0, O_MODEL}, {"score", 1, 0, O_SCORE}, {"samples", 1, 0, O_SAMPLES},
    {"top", 1, 0, O_TOP}, {"batch", 1, 0, O_BATCH}, {"idle", 1, 0, O_IDLE},
    {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS}, {0, 0, 0, 0}};

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    switch (c) {
    case O_MODEL:
        if (o->nmodel == 8)
            cli_usage_error (cli, "--model: at most 8 models");
        o->model[o->nmodel++] = arg; break;
    case O_SCORE:
        o->s.scaled = !strcmp (arg, "scaled");
        if (o->s.scaled)
            o->s.mode = VAE_SCORE_MU;
        else if (vae_score_parse (arg, &o->s.mode))
            cli_usage_error (cli, "--score: '%s' is not mu, sse, scaled, samples or elbo", arg);
        break;
    case O_SAMPLES: o->s.nsamples = cli_long (cli, "--samples", arg, 1, 100000); break;
    case O_TOP: o->s.topk = cli_long (cli, "--top", arg, 0, REC_TOP_MAX); break;
    case O_BATCH: o->batch = cli_long (cli, "--batch", arg, 1, 1 << 16); break;
    case O_IDLE: o->idle = cli_duration (cli, "--idle", arg); break;
    case O_SEED: o->seed = cli_long (cli, "--seed", arg, 0, 0x7fffffffffffffffL); break;
    case O_THREADS: o->threads = cli_long (cli, "--threads", arg, 1, 256); break;
    default: return -1;
    }
    return 0;
}

//  Score and write the waiting frames.
static void
s_flush (stage_t *st, model_batch_t *b, const opts_t *o, rng_t *rng)
{
    size_t n = model_batch_count (b), size;
    if (n == 0)
        return;
    model_batch_score (b, &o->s, rng);
    for (size_t i = 0; i < n; i++) {
        const char *data = model_batch_frame (b, i, &size);
        stage_write_raw (st, 0, data, size);
    }
    stage_flush (st);
    model_batch_clear (b);
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-score", .usage = USAGE};
    opts_t o = {.s = {.mode = VAE_SCORE_MU, .nsamples = 10, .topk = 3},
                .batch = 256, .threads = 1, .seed = 1, .idle = 0.02};
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &o);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    if (!o.nmodel)
        cli_usage_error (&cli, "--model is required");
    nn_set_threads ((int) o.threads);
    char err[ERRLEN];
    model_t *m = NULL;
    for (int k = 0; k < o.nmodel; k++) {
        model_t *mk = model_load (o.model[k], (size_t) o.batch, err);
        if (!mk)
            cli_fatal (&cli, "%s", err);
        if (o.s.scaled && vae_arch (model_vae (mk))->gauss)
            cli_fatal (&cli, "--score scaled: '%s' has a Gaussian decoder, which gives each "
                       "field its own variance (use mu or sse)", o.model[k]);
        if (o.s.scaled && !model_resid (mk))
            cli_fatal (&cli, "--score scaled: '%s' has no residual variances (retrain it)",
                       o.model[k]);
        if (!m && (m = mk))
            continue;
        if (model_join (m, &mk, err))
            cli_fatal (&cli, "'%s': %s", o.model[k], err);
    }
    rng_t rng;
    rng_init (&rng, (uint64_t) o.seed, 0);
    //  A file is never idle; stdin and ZeroMQ may be.
    bool may_idle = !strcmp (cli.in, "-") || strstr (cli.in, "://");

    stage_t *st = stage_new (&cli, false);
    model_batch_t *b = model_batch_new (m);
    const msgpack_object *obj;
    size_t size;
    double first = 0;           //  when the oldest waiting window arrived
    for (;;) {
        size_t n = model_batch_count (b);
        double left = o.idle - (clock_mono () - first);
        if (n > 0 && may_idle && (left <= 0 || stage_wait_input (st, left) == 0)) {
            s_flush (st, b, &o, &rng);
            continue;
        }
        if (stage_read_obj (st, &obj) != 1)
            break;
        const char *data = stage_frame_data (st, &size);
        if (model_batch_add (b, obj, data, size, err))
            stage_reject (st, "%s", err);
        else if (n + 1 == (size_t) o.batch)
            s_flush (st, b, &o, &rng);
        else if (n == 0)
            first = clock_mono ();
    }
    s_flush (st, b, &o, &rng);
    model_batch_destroy (&b);
    model_destroy (&m);
    return stage_finish (&st);
}
