/*  vigil-norm: learn per-field statistics (fit) and scale records with them
    (apply).  See docs/norm.md.  */
#include <stdio.h>
#include <string.h>

#include "norm.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-norm fit --stats FILE [--fields F,..] [--scale std|robust] [--log1p F,..]\n"
    "                      [--personal F,..] [--runs F,..] [--missing F,..] [--delta F,..]\n"
    "                      [--fall F,..] [--key KEY]\n"
    "       vigil-norm apply --stats FILE [--clamp B] [--by KEY [--emit WHAT] [--alpha A]\n"
    "                        [--floor F] [--gate K] [--start WHERE]]\n"
    "\n"
    "fit reads records and writes the statistics of their readings (v) to a\n"
    "vigil-stats file, in one pass and constant memory.\n"
    "  --stats FILE      the stats file to write (required)\n"
    "  --fields F,..     the fields, in order (default: all readings, as first seen)\n"
    "  --scale S         std: (y-mean)/std (default); robust: (y-median)/(IQR/1.349)\n"
    "  --log1p F,..      fields to scale as sign(v) log1p(|v|) (heavy-tailed)\n"
    "  --personal F,..   also add fields F@KEY: the reading F scaled against the\n"
    "                    personal baseline of the record's KEY (see apply)\n"
    "  --runs F,..       also add fields F:run: how many records in a row the\n"
    "                    reading F of the record's KEY was unchanged (log1p-scaled;\n"
    "                    a frozen sensor)\n"
    "  --missing F,..    also add fields F:miss: how many records in a row the\n"
    "                    reading F of the record's KEY was missing (linear, so\n"
    "                    --clamp bounds it; the imputation flag as an input)\n"
    "  --delta F,..      also add fields F:d30: how far the reading F of the\n"
    "                    record's KEY moved over its last 30 records, beyond one\n"
    "                    unit (rounding): a battery draining in minutes\n"
    "  --fall F,..       also add fields F:f30: the same counting only falls (a\n"
    "                    battery fails by falling; a charger or a swap is no fault)\n"
    "  --key KEY         the key of the added fields (default id)\n"
    "\n"
    "apply adds x (float32, in the stats' field order), clamped to +-B, and mask\n"
    "(1 = the reading was missing, nil, NaN or Inf and was imputed with the\n"
    "last value of that key, else the population centre).  Fields F@KEY of the\n"
    "stats get F scaled by the personal baseline of KEY (options below), fields\n"
    "F:run the run of unchanged readings of F, F:miss the run of missing ones,\n"
    "F:dN the move of F over the key's last N records, F:fN its fall.\n"
    "  --stats FILE      the stats file to read (required)\n"
    "  --clamp B         bound on |x| (default 10; 0 = none)\n"
    "  --by KEY          personal baselines per KEY (e.g. id): running mean and\n"
    "                    variance with forgetting, warm-started from the stats\n"
    "  --emit WHAT       with --by: both (default: x population, xp personal),\n"
    "                    personal (x personal) or population (x only)\n"
    "  --alpha A         weight of the newest reading in a baseline (default 0.02)\n"
    "  --floor F         personal divisor >= F x population divisor (default 0.1)\n"
    "  --gate K          a reading moves its baseline by at most K personal sd\n"
    "                    (winsorised update, so an anomaly is not learnt; 0 = off,\n"
    "                    the default)\n"
    "  --start WHERE     population (default): a baseline starts at the population\n"
    "                    centre; own: its mean is the running mean of the key's\n"
    "                    readings until 1/A of them are seen, its variance starts\n"
    "                    at the population's, worth 100 readings\n"
    "  --idle DUR        forget a key after DUR of stream time (default 24h; 0 never)\n"
    "\n"
    "Common options: -i EP, -o EP (default -: stdin, stdout); -v summary on\n"
    "stderr (fit: the fields; apply: imputed readings and keys); --strict (stop\n"
    "at the first bad record); --max-frame SIZE, --producers N, --curve-* as for\n"
    "every vigil stage; -h, --help; --version.\n"
    "\n"
    "Exit status: 0 ok, 1 bad input, bad stats file or I/O failure, 2 usage error.\n";

enum { O_STATS = 1, O_FIELDS, O_SCALE, O_LOG1P, O_CLAMP, O_BY, O_EMIT, O_ALPHA, O_FLOOR, O_IDLE,
       O_GATE, O_START, O_PERSONAL, O_KEY, O_RUNS, O_MISSING, O_DELTA, O_FALL };
static const struct option s_longopts[] = {
    {"stats", required_argument, NULL, O_STATS}, {"fields", required_argument, NULL, O_FIELDS},
    {"scale", required_argument, NULL, O_SCALE}, {"log1p", required_argument, NULL, O_LOG1P},
    {"clamp", required_argument, NULL, O_CLAMP}, {"by", required_argument, NULL, O_BY},
    {"emit", required_argument, NULL, O_EMIT},   {"alpha", required_argument, NULL, O_ALPHA},
    {"floor", required_argument, NULL, O_FLOOR}, {"idle", required_argument, NULL, O_IDLE},
    {"gate", required_argument, NULL, O_GATE},   {"start", required_argument, NULL, O_START},
    {"personal", required_argument, NULL, O_PERSONAL}, {"key", required_argument, NULL, O_KEY},
    {"runs", required_argument, NULL, O_RUNS}, {"missing", required_argument, NULL, O_MISSING},
    {"delta", required_argument, NULL, O_DELTA}, {"fall", required_argument, NULL, O_FALL},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *v[NORM_MAX_FIELDS];
    size_t n;
} list_t;

typedef struct {
    bool fit, emit_set;
    const char *stats;
    list_t list[O_FALL + 1];    //  the field lists, by option: --fields, --log1p, ...
    const char *key;
    stats_scale_t scale;
    norm_opts_t apply;
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    bool fit_opt = c == O_FIELDS || c == O_SCALE || c == O_LOG1P || c == O_PERSONAL || c == O_KEY
                || c == O_RUNS || c == O_MISSING || c == O_DELTA || c == O_FALL;
    if (fit_opt != o->fit && c != O_STATS)
        cli_usage_error (cli, "--%s is not an option of '%s'", s_longopts[c - 1].name,
                         o->fit ? "fit" : "apply");
    switch (c) {
    case O_STATS: o->stats = arg; return 0;
    case O_FIELDS:
    case O_LOG1P:
    case O_PERSONAL:
    case O_RUNS:
    case O_MISSING:
    case O_DELTA:
    case O_FALL: {
        long n = norm_split ((char *) arg, o->list[c].v, NORM_MAX_FIELDS);
        if (n < 0)
            cli_usage_error (cli, "'%s': not a list of distinct field names", arg);
        o->list[c].n = (size_t) n;
        return 0;
    }
    case O_KEY: o->key = arg; return 0;
    case O_SCALE:
        if (stats_scale_parse (arg, &o->scale))
            cli_usage_error (cli, "--scale: '%s' is not std or robust", arg);
        return 0;
    case O_CLAMP: o->apply.clamp = cli_double (cli, "--clamp", arg, 0, 1e30); return 0;
    case O_BY: o->apply.by = arg; return 0;
    case O_ALPHA: o->apply.alpha = cli_double (cli, "--alpha", arg, 1e-9, 1); return 0;
    case O_FLOOR: o->apply.floor = cli_double (cli, "--floor", arg, 0, 1e6); return 0;
    case O_IDLE: o->apply.idle = cli_duration (cli, "--idle", arg); return 0;
    case O_GATE: o->apply.gate = cli_double (cli, "--gate", arg, 0, 1e6); return 0;
    case O_START:
        if (strcmp (arg, "own") && strcmp (arg, "population"))
            cli_usage_error (cli, "--start: '%s' is not population or own", arg);
        o->apply.own_start = !strcmp (arg, "own");
        return 0;
    case O_EMIT:
        if (norm_emit_parse (arg, &o->apply.emit))
            cli_usage_error (cli, "--emit: '%s' is not both, personal or population", arg);
        return o->emit_set = true, 0;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-norm", .usage = USAGE};
    opts_t o = {.scale = STATS_SCALE_STD, .key = "id"};
    norm_opts_default (&o.apply);
    if (argc < 2 || (strcmp (argv[1], "fit") && strcmp (argv[1], "apply"))) {
        cli_parse (&cli, argc, argv, "", NULL, NULL, NULL);   //  --help, --version
        cli_usage_error (&cli, "expected 'fit' or 'apply'");
    }
    o.fit = !strcmp (argv[1], "fit");
    int argi = cli_parse (&cli, argc - 1, argv + 1, "", s_longopts, s_opt, &o);
    if (argi < argc - 1)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi + 1]);
    if (!o.stats)
        cli_usage_error (&cli, "--stats FILE is required");
    if (!o.apply.by && o.apply.emit != NORM_EMIT_POPULATION)
        cli_usage_error (&cli, "--emit %s needs --by KEY", o.apply.emit == NORM_EMIT_BOTH ? "both" : "personal");
    o.apply.emit = o.apply.by && !o.emit_set ? NORM_EMIT_BOTH : o.apply.emit;

    char err[ERRLEN], line[512];
    stats_t *stats = o.fit ? NULL : stats_load (o.stats, err);
    if (!o.fit && !stats)
        cli_fatal (&cli, "%s", err);
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    if (o.fit) {
        const list_t *l = o.list;
        norm_fit_t *fit = norm_fit_new (l[O_FIELDS].v, l[O_FIELDS].n, l[O_LOG1P].v,
                                        l[O_LOG1P].n, o.scale);
        if (norm_fit_personal (fit, l[O_PERSONAL].v, l[O_PERSONAL].n, o.key, err)
            || norm_fit_runs (fit, l[O_RUNS].v, l[O_RUNS].n, err)
            || norm_fit_misses (fit, l[O_MISSING].v, l[O_MISSING].n, err)
            || norm_fit_deltas (fit, l[O_DELTA].v, l[O_DELTA].n, false, err)
            || norm_fit_deltas (fit, l[O_FALL].v, l[O_FALL].n, true, err))
            cli_usage_error (&cli, "%s", err);
        while (stage_read (st, &rec) == 1)
            if (norm_fit_add (fit, &rec, err))
                stage_reject (st, "%s", err);
        stats = norm_fit_stats (fit, err);
        if (!stats || stats_save (stats, o.stats, err))
            stage_fail (st, "%s", err);
        for (size_t i = 0; stats && cli.verbose && i < stats_nfields (stats); i++) {
            stats_describe (stats, i, line, sizeof line);
            fprintf (stderr, "vigil-norm: %s\n", line);
        }
        norm_fit_destroy (&fit);
    }
    else {
        norm_t *norm = norm_new (stats, &o.apply);
        while (stage_read (st, &rec) == 1)
            if (norm_apply (norm, &rec, err))
                stage_reject (st, "%s", err);
            else
                stage_write (st, &rec);
        norm_summary (norm, line, sizeof line);
        if (cli.verbose)
            fprintf (stderr, "vigil-norm: %s\n", line);
        norm_destroy (&norm);
    }
    record_destroy (&rec);
    stats_destroy (&stats);
    return stage_finish (&st);
}
