/*  vigil-window: one frame per completed window of the last W feature
    vectors of each key.  See docs/norm.md.  */
#include <stdio.h>
#include <string.h>

#include "stage.h"
#include "window.h"

static const char *USAGE =
    "usage: vigil-window --size W [--stride S] [--key KEY] [--max-gap DUR] [--idle DUR]\n"
    "\n"
    "Reads normalised records (x of F floats, from vigil-norm apply) and keeps a\n"
    "ring buffer of the last W of them per key.  Each completed window is\n"
    "written as the newest record with x = W*F floats (oldest step first),\n"
    "label = 1 if any step had label 1, kind = the kind of the latest anomalous\n"
    "step, mask = the steps' masks (W*F), and the extra key w = W.  Records\n"
    "before a key's first complete window (and between strides) are not written.\n"
    "\n"
    "  --size W          steps per window (default 10)\n"
    "  --stride S        write every S-th window of a key (default 1)\n"
    "  --key KEY         record key that separates streams (default id)\n"
    "  --max-gap DUR     a gap longer than DUR between two records of a key\n"
    "                    restarts its window (e.g. 30s, 5m; default: never)\n"
    "  --idle DUR        forget a key after DUR of stream time without records\n"
    "                    (default 1h; 0 = never)\n"
    "Durations: 90, 90s, 250ms, 1.5m, 24h, 7d.  Time is the records' t.\n"
    "\n"
    "Common options:\n"
    "  -i EP, -o EP      input and output endpoints (default -: stdin, stdout)\n"
    "  -v                summary on stderr (windows, gap restarts, evictions, keys)\n"
    "  --strict          stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

enum { O_SIZE = 1, O_STRIDE, O_KEY, O_MAX_GAP, O_IDLE };
static const struct option s_longopts[] = {
    {"size", required_argument, NULL, O_SIZE},       {"stride", required_argument, NULL, O_STRIDE},
    {"key", required_argument, NULL, O_KEY},         {"max-gap", required_argument, NULL, O_MAX_GAP},
    {"idle", required_argument, NULL, O_IDLE},       {NULL, 0, NULL, 0},
};

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    window_opts_t *o = ud;
    switch (c) {
    case O_SIZE: o->size = (size_t) cli_long (cli, "--size", arg, 1, WINDOW_MAX_SIZE); return 0;
    case O_STRIDE: o->stride = (size_t) cli_long (cli, "--stride", arg, 1, 1000000000L); return 0;
    case O_KEY: o->key = arg; return 0;
    case O_MAX_GAP: o->max_gap = cli_duration (cli, "--max-gap", arg); return 0;
    case O_IDLE: o->idle = cli_duration (cli, "--idle", arg); return 0;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-window", .usage = USAGE};
    window_opts_t o;
    window_opts_default (&o);
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &o);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    if (o.max_gap > 0 && o.idle > 0 && o.idle < o.max_gap)
        cli_usage_error (&cli, "--idle must not be shorter than --max-gap");
    stage_t *st = stage_new (&cli, false);
    window_t *win = window_new (&o);
    record_t rec;
    record_init (&rec);
    char err[ERRLEN];
    while (stage_read (st, &rec) == 1) {
        int rc = window_push (win, &rec, err);
        if (rc < 0)
            stage_reject (st, "%s", err);
        else if (rc == 1)
            stage_write (st, &rec);
    }
    if (cli.verbose) {
        char line[512];
        window_summary (win, line, sizeof line);
        fprintf (stderr, "vigil-window: %s\n", line);
    }
    record_destroy (&rec);
    window_destroy (&win);
    return stage_finish (&st);
}
