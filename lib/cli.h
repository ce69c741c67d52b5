/*  cli: the command-line conventions every vigil program shares, written once.

    Common options, handled here:
        -h, --help          usage text on stdout, exit 0
        --version           "prog vigil X.Y.Z", exit 0
        -i EP               input endpoint (default "-")
        -o EP               output endpoint (default "-"; repeatable where the
                            program allows several, e.g. vigil-route)
        -v                  a summary on stderr at the end
        --strict            stop at the first bad record
        --max-frame SIZE    largest frame accepted (default 4M)
        --producers N       end a ZeroMQ input after N end-of-stream frames
        --hwm N             ZeroMQ high-water mark, frames (default 1000)
        --linger DUR        ZeroMQ output: how long to wait at exit for
                            undelivered frames (default 30s)
        --drain DUR         ZeroMQ input: after SIGTERM, keep reading while
                            frames arrive within DUR (default 200ms)
        --seq-check         account for per-id sequence numbers of the input
                            and report gaps at the end (loss detection)
        --curve-server F, --curve-client F, --curve-peer F, --curve-allow DIR
                            CURVE security on tcp endpoints
    Exit codes: 0 success, 1 runtime or data error, 2 usage error.
    Messages on stderr: "prog: reason" or "prog: record N: reason".  */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

#define CLI_MAX_OUT 64

typedef struct {
    const char *prog;           //  program name in messages, e.g. "vigil-cat"
    const char *usage;          //  full help; its first line is "usage: ..."
    const char *in;             //  -i endpoint
    const char *out[CLI_MAX_OUT];   //  -o endpoints
    size_t nout;                //  how many -o were given (0 = default "-")
    size_t max_out;             //  how many -o the program allows (0 = 1)
    bool verbose;               //  -v
    bool strict;                //  --strict
    bool seq_check;             //  --seq-check
    frame_opts_t fopts;         //  --max-frame, --producers, --curve-*
} cli_t;

//  Called for each program-specific option: c is the getopt value, arg its
//  argument (or NULL).  Return 0, or -1 for a usage error (print the reason
//  with cli_usage_error, or return -1 to get a generic one).
typedef int (cli_opt_fn) (cli_t *cli, int c, const char *arg, void *ud);

//  Parse argv.  shortopts/longopts list the program's own options (may be
//  NULL); the common ones are added.  Returns optind (the first operand).
//  Exits 0 after --help/--version and 2 on a usage error.
int
    cli_parse (cli_t *cli, int argc, char **argv, const char *shortopts,
               const struct option *longopts, cli_opt_fn *fn, void *ud);

//  "prog: <msg>" and the usage line on stderr, exit 2.
void
    cli_usage_error (const cli_t *cli, const char *fmt, ...)
    __attribute__ ((noreturn, format (printf, 2, 3)));
//  "prog: <msg>" on stderr, exit 1.
void
    cli_fatal (const cli_t *cli, const char *fmt, ...)
    __attribute__ ((noreturn, format (printf, 2, 3)));
//  "prog: <msg>" on stderr.
void
    cli_warn (const cli_t *cli, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  Option values; on a bad value: usage error naming the option, exit 2.
double
    cli_double (const cli_t *cli, const char *opt, const char *arg, double min, double max);
long
    cli_long (const cli_t *cli, const char *opt, const char *arg, long min, long max);
double
    cli_duration (const cli_t *cli, const char *opt, const char *arg);
size_t
    cli_size (const cli_t *cli, const char *opt, const char *arg);

//  The i-th output endpoint ("-" when none was given).
const char *
    cli_out (const cli_t *cli, size_t i);

void
    cli_test (bool verbose);

#endif
