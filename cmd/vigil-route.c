/*  vigil-route: partition a stream over N outputs by a stable hash of a key,
    so that all records of one patient reach the same downstream process.
    Frames are passed on byte for byte.  */
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-route [--key KEY] -o EP1 -o EP2 ...\n"
    "\n"
    "Sends each frame, unchanged, to output number hash(KEY value) mod N, where\n"
    "N is the number of -o and hash is 64-bit FNV-1a of the value's text (a\n"
    "string, or an unsigned integer in decimal).  The choice depends only on\n"
    "the value and N: the same key reaches the same output in every run.\n"
    "A frame without the key is reported and skipped.\n"
    "\n"
    "  --key KEY         the key to partition by (default id)\n"
    "  --counts          with -v: also print the frames sent to each output\n"
    "\n"
    "Common options:\n"
    "  -i EP             input endpoint (default -)\n"
    "  -o EP             an output endpoint; repeat for each (up to 64)\n"
    "  -v                summary on stderr\n"
    "  --strict          stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

enum { O_KEY = 1, O_COUNTS };
static const struct option s_longopts[] = {
    {"key", required_argument, NULL, O_KEY},
    {"counts", no_argument, NULL, O_COUNTS},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *key;
    bool counts;
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    (void) cli;
    opts_t *o = ud;
    if (c == O_KEY)
        o->key = arg;
    else if (c == O_COUNTS)
        o->counts = true;
    else
        return -1;
    return 0;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-route", .usage = USAGE, .max_out = CLI_MAX_OUT};
    opts_t o = {.key = "id"};
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &o);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    size_t nout = cli.nout ? cli.nout : 1;
    uint64_t sent[CLI_MAX_OUT] = {0};
    stage_t *st = stage_new (&cli, false);
    const msgpack_object *obj;
    char err[ERRLEN];
    while (stage_read_obj (st, &obj) == 1) {
        long i = route_pick (obj, o.key, nout, err);
        if (i < 0) {
            stage_reject (st, "%s", err);
            continue;
        }
        size_t size;
        const char *data = stage_frame_data (st, &size);
        if (stage_write_raw (st, (size_t) i, data, size) == 0)
            sent[i]++;
    }
    for (size_t i = 0; o.counts && cli.verbose && i < nout; i++)
        fprintf (stderr, "vigil-route: output %zu (%s): %llu frames\n", i + 1, cli_out (&cli, i),
                 (unsigned long long) sent[i]);
    return stage_finish (&st);
}
