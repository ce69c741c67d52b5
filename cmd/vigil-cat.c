/*  vigil-cat: frames <-> JSON lines <-> CSV.  How a person reads a stream and
    how a real dataset comes in.  */
#include <stdio.h>
#include <string.h>

#include "cat.h"

static const char *USAGE =
    "usage: vigil-cat [--from FMT] [--to FMT] [options]\n"
    "\n"
    "Convert a stream between MessagePack frames (mp), JSON lines (json) and\n"
    "CSV (csv).  Frames are read from and written to endpoints (-i/-o: '-' is\n"
    "stdin/stdout, a file path, or a ZeroMQ endpoint such as @tcp://0.0.0.0:5555\n"
    "or >tcp://127.0.0.1:5555); JSON and CSV text is read from a file or '-'.\n"
    "\n"
    "  --from FMT        input format: mp (default), json, csv\n"
    "  --to FMT          output format: mp (default), json, csv\n"
    "\n"
    "CSV input (the header row names the columns; cells are trimmed):\n"
    "  --t COL           column holding the time t, seconds (default: 't' if present)\n"
    "  --id COL          column holding the patient/device id (default: 'id')\n"
    "  --seq COL         column holding the sequence number (default: 'seq')\n"
    "  --label COL       column holding the 0/1 label (default: 'label')\n"
    "  --kind COL        column holding the anomaly kind, kept on label 1 rows\n"
    "                    (default: 'kind')\n"
    "  --drop COLS       comma-separated columns to leave out\n"
    "  --strings MODE    non-numeric cells: drop (default) or keep as string keys\n"
    "  --delim C         field separator for CSV in and out (default ',')\n"
    "  Every other numeric cell becomes a reading in v; an empty cell is a\n"
    "  missing reading.  A row with the wrong number of cells is reported\n"
    "  with its line number and skipped.\n"
    "\n"
    "CSV output: a header from the first record (its keys, with each reading\n"
    "of v as its own column), then one row per record.\n"
    "\n"
    "Common options:\n"
    "  -i EP             input (default -)\n"
    "  -o EP             output (default -)\n"
    "  -v                summary on stderr: records read, written, skipped\n"
    "  --strict          stop at the first bad record\n"
    "  --max-frame SIZE  largest frame accepted (default 4M)\n"
    "  --producers N     end a ZeroMQ input after N end-of-stream frames\n"
    "  --curve-server F | --curve-client F --curve-peer F, --curve-allow DIR\n"
    "                    CURVE encryption and client authentication (see README)\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

enum { OPT_FROM = 1, OPT_TO, OPT_T, OPT_ID, OPT_SEQ, OPT_LABEL, OPT_KIND, OPT_DROP, OPT_STRINGS, OPT_DELIM };

static const struct option s_longopts[] = {
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"t", required_argument, NULL, OPT_T},
    {"id", required_argument, NULL, OPT_ID},
    {"seq", required_argument, NULL, OPT_SEQ},
    {"label", required_argument, NULL, OPT_LABEL},
    {"kind", required_argument, NULL, OPT_KIND},
    {"drop", required_argument, NULL, OPT_DROP},
    {"strings", required_argument, NULL, OPT_STRINGS},
    {"delim", required_argument, NULL, OPT_DELIM},
    {NULL, 0, NULL, 0},
};

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    cat_opts_t *o = ud;
    int f;
    switch (c) {
    case OPT_FROM:
    case OPT_TO:
        if ((f = cat_format (arg)) < 0)
            cli_usage_error (cli, "unknown format '%s' (mp, json or csv)", arg);
        *(c == OPT_FROM ? &o->from : &o->to) = f;
        return 0;
    case OPT_T: o->csv.t_col = arg; return 0;
    case OPT_ID: o->csv.id_col = arg; return 0;
    case OPT_SEQ: o->csv.seq_col = arg; return 0;
    case OPT_LABEL: o->csv.label_col = arg; return 0;
    case OPT_KIND: o->csv.kind_col = arg; return 0;
    case OPT_DROP: o->csv.drop = arg; return 0;
    case OPT_STRINGS:
        if (strcmp (arg, "keep") && strcmp (arg, "drop"))
            cli_usage_error (cli, "--strings: '%s' is not keep or drop", arg);
        o->csv.keep_strings = !strcmp (arg, "keep");
        return 0;
    case OPT_DELIM:
        if (strlen (arg) != 1 || arg[0] == '"' || arg[0] == '\n')
            cli_usage_error (cli, "--delim: '%s' is not a single separator character", arg);
        o->csv.delim = arg[0];
        return 0;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-cat", .usage = USAGE};
    cat_opts_t opts = {.from = CAT_MP, .to = CAT_MP};
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &opts);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    if (opts.from != CAT_MP && strstr (cli.in, "://"))
        cli_usage_error (&cli, "text input (--from json/csv) comes from a file or '-', not '%s'", cli.in);
    stage_t *st = stage_new (&cli, opts.from != CAT_MP);
    cat_run (st, cli.in, &opts);
    return stage_finish (&st);
}
