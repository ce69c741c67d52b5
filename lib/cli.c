/*  cli: see cli.h.  The one place that turns argv into a cli_t and prints
    usage errors, so every program speaks the same way.  */
#include "cli.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_VERSION = 0x7000,
    OPT_STRICT,
    OPT_MAX_FRAME,
    OPT_PRODUCERS,
    OPT_HWM,
    OPT_CURVE_SERVER,
    OPT_CURVE_CLIENT,
    OPT_CURVE_PEER,
    OPT_CURVE_ALLOW,
    OPT_LINGER,
    OPT_DRAIN,
    OPT_SEQ_CHECK,
};

static const struct option s_common[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"producers", required_argument, NULL, OPT_PRODUCERS},
    {"hwm", required_argument, NULL, OPT_HWM},
    {"curve-server", required_argument, NULL, OPT_CURVE_SERVER},
    {"curve-client", required_argument, NULL, OPT_CURVE_CLIENT},
    {"curve-peer", required_argument, NULL, OPT_CURVE_PEER},
    {"curve-allow", required_argument, NULL, OPT_CURVE_ALLOW},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"seq-check", no_argument, NULL, OPT_SEQ_CHECK},
};
#define NCOMMON (sizeof s_common / sizeof s_common[0])

static void
s_usage_line (const cli_t *cli, FILE *f)
{
    const char *u = cli->usage ? cli->usage : "";
    const char *nl = strchr (u, '\n');
    fprintf (f, "%.*s\n", (int) (nl ? nl - u : (long) strlen (u)), u);
    fprintf (f, "Try '%s --help' for more information.\n", cli->prog);
}

//  The option tables of the parse in progress, freed by whichever way the
//  parse ends (a usage error, --help and --version exit from inside it).
static struct option *s_all;
static char *s_shorts;

static void
s_parse_free (void)
{
    free (s_all);
    free (s_shorts);
    s_all = NULL;
    s_shorts = NULL;
}

static void
s_vmsg (const cli_t *cli, const char *fmt, va_list ap)
{
    fprintf (stderr, "%s: ", cli->prog);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

void
cli_usage_error (const cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vmsg (cli, fmt, ap);
    va_end (ap);
    s_usage_line (cli, stderr);
    s_parse_free ();
    exit (2);
}

void
cli_fatal (const cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vmsg (cli, fmt, ap);
    va_end (ap);
    exit (1);
}

void
cli_warn (const cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vmsg (cli, fmt, ap);
    va_end (ap);
}

double
cli_double (const cli_t *cli, const char *opt, const char *arg, double min, double max)
{
    double d;
    if (parse_double (arg, &d) || !(d >= min && d <= max))
        cli_usage_error (cli, "%s: '%s' is not a number in [%g, %g]", opt, arg ? arg : "", min, max);
    return d;
}

long
cli_long (const cli_t *cli, const char *opt, const char *arg, long min, long max)
{
    long l;
    if (parse_long (arg, &l) || l < min || l > max)
        cli_usage_error (cli, "%s: '%s' is not an integer in [%ld, %ld]", opt, arg ? arg : "", min, max);
    return l;
}

double
cli_duration (const cli_t *cli, const char *opt, const char *arg)
{
    double d;
    if (parse_duration (arg, &d))
        cli_usage_error (cli, "%s: '%s' is not a duration (e.g. 500ms, 30s, 5m, 24h, 7d)", opt, arg ? arg : "");
    return d;
}

size_t
cli_size (const cli_t *cli, const char *opt, const char *arg)
{
    size_t z;
    if (parse_size (arg, &z) || z == 0)
        cli_usage_error (cli, "%s: '%s' is not a size (e.g. 4096, 64k, 16M)", opt, arg ? arg : "");
    return z;
}

const char *
cli_out (const cli_t *cli, size_t i)
{
    return i < cli->nout ? cli->out[i] : "-";
}

int
cli_parse (cli_t *cli, int argc, char **argv, const char *shortopts,
           const struct option *longopts, cli_opt_fn *fn, void *ud)
{
    if (!cli->in)
        cli->in = "-";
    size_t nprog = 0;
    while (longopts && longopts[nprog].name)
        nprog++;
    struct option *all = s_all = xcalloc (NCOMMON + nprog + 1, sizeof *all);
    memcpy (all, s_common, sizeof s_common);
    if (nprog)
        memcpy (all + NCOMMON, longopts, nprog * sizeof *all);
    size_t n = strlen (shortopts ? shortopts : "");
    char *shorts = s_shorts = xmalloc (n + 16);
    snprintf (shorts, n + 16, "+hi:o:v%s", shortopts ? shortopts : "");

    size_t max_out = cli->max_out ? cli->max_out : 1;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, shorts, all, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs (cli->usage, stdout);
            s_parse_free ();
            exit (0);
        case OPT_VERSION:
            printf ("%s (vigil) %s\n", cli->prog, VIGIL_VERSION);
            s_parse_free ();
            exit (0);
        case 'i':
            cli->in = optarg;
            break;
        case 'o':
            if (cli->nout >= max_out)
                cli_usage_error (cli, max_out == 1 ? "-o given more than once"
                                                   : "too many -o endpoints");
            cli->out[cli->nout++] = optarg;
            break;
        case 'v':
            cli->verbose = true;
            break;
        case OPT_STRICT:
            cli->strict = true;
            break;
        case OPT_MAX_FRAME:
            cli->fopts.max_frame = cli_size (cli, "--max-frame", optarg);
            break;
        case OPT_PRODUCERS:
            cli->fopts.producers = (int) cli_long (cli, "--producers", optarg, 1, 100000);
            break;
        case OPT_HWM:
            cli->fopts.hwm = (int) cli_long (cli, "--hwm", optarg, 1, 10000000);
            break;
        case OPT_CURVE_SERVER:
            cli->fopts.curve_server = optarg;
            break;
        case OPT_CURVE_CLIENT:
            cli->fopts.curve_client = optarg;
            break;
        case OPT_CURVE_PEER:
            cli->fopts.curve_peer = optarg;
            break;
        case OPT_CURVE_ALLOW:
            cli->fopts.curve_allow = optarg;
            break;
        case OPT_LINGER:
            cli->fopts.linger_ms = (int) (cli_duration (cli, "--linger", optarg) * 1000);
            if (cli->fopts.linger_ms == 0)
                cli->fopts.linger_ms = -1 - 1;      //  "0" means drop at once
            break;
        case OPT_DRAIN:
            cli->fopts.drain = cli_duration (cli, "--drain", optarg);
            break;
        case OPT_SEQ_CHECK:
            cli->seq_check = true;
            break;
        case '?':
            if (optopt && optopt < 0x100)
                cli_usage_error (cli, "unknown option '-%c'", optopt);
            cli_usage_error (cli, "unknown option '%s'", argv[optind - 1]);
        case ':':
            cli_usage_error (cli, "option '%s' needs a value", argv[optind - 1]);
        default:
            if (!fn || fn (cli, c, optarg, ud))
                cli_usage_error (cli, "bad option '%s'", argv[optind - 1]);
        }
    }
    (void) all;
    (void) shorts;
    s_parse_free ();
    return optind;
}

void
cli_test (bool verbose)
{
    (void) verbose;
    cli_t cli = {.prog = "test", .usage = "usage: test\n", .max_out = 4};
    char *argv[] = {"test", "-i", "@tcp://127.0.0.1:1", "-o", "a", "-o", "b", "-v",
                    "--strict", "--max-frame", "64k", "--producers", "3", "rest", NULL};
    int argi = cli_parse (&cli, 14, argv, NULL, NULL, NULL, NULL);
    assert (argi == 13 && !strcmp (argv[argi], "rest"));
    assert (!strcmp (cli.in, "@tcp://127.0.0.1:1") && cli.nout == 2);
    assert (!strcmp (cli_out (&cli, 1), "b") && !strcmp (cli_out (&cli, 2), "-"));
    assert (cli.verbose && cli.strict && cli.fopts.max_frame == 65536 && cli.fopts.producers == 3);
}
