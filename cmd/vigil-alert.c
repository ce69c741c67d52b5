/*  vigil-alert: group flagged windows into incidents per patient and tell a
    person about them.  See docs/eval.md.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "alert.h"
#include "latency.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-alert [--json] [--syslog] [--quiet DUR] [--rate-limit DUR] [-o @tcp://...]\n"
    "\n"
    "Reads frames from vigil-thresh apply (id, t, anomaly, score, thr, top,\n"
    "model) and groups the flagged windows of each patient into incidents: an\n"
    "incident opens at the first flag, is updated while flags go on and closes\n"
    "after --quiet of stream time without one.  Every message names the time,\n"
    "the patient, the class (clinical when vital signs carry most of the error,\n"
    "technical when network or device fields do), the duration, the peak score\n"
    "and the threshold, the top fields as observed vs expected values\n"
    "(\"spo2 84 (expected 97)\"), and the model hash.  Text lines on stdout by\n"
    "default.\n"
    "  --json            JSON lines on stdout instead of text\n"
    "  --syslog          also send each message to syslog (LOG_USER)\n"
    "  --quiet DUR       close an incident after DUR without a flag (default 120s,\n"
    "                    as vigil-thresh's alarm budget counts)\n"
    "  --rate-limit DUR  at most one update per incident per DUR, and only when\n"
    "                    the peak rose (default 60s); opens and closes always go\n"
    "  -o EP             also publish each message (JSON) on a ZeroMQ PUB socket,\n"
    "                    e.g. -o @tcp://*:5570 (dashboards subscribe)\n"
    "  --latency         at the end, p50/p99/max of (wall clock when a frame is\n"
    "                    handled - its t), on stderr (vigil-sim --start now)\n"
    "\n"
    "Common options:\n"
    "  -i EP             input endpoint (default -: stdin)\n"
    "  -v                summary on stderr (incidents, messages, rate-limited)\n"
    "  --strict          stop at the first bad record\n"
    "  --max-frame SIZE, --producers N, --curve-*   as for every vigil stage\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or I/O failure, 2 usage error.\n";

enum { O_JSON = 1, O_SYSLOG, O_QUIET, O_RATE, O_LATENCY };
static const struct option s_longopts[] = {
    {"json", no_argument, NULL, O_JSON}, {"syslog", no_argument, NULL, O_SYSLOG},
    {"quiet", required_argument, NULL, O_QUIET}, {"rate-limit", required_argument, NULL, O_RATE},
    {"latency", no_argument, NULL, O_LATENCY},
    {NULL, 0, NULL, 0},
};

typedef struct {
    bool json, syslog, latency;
    alert_opts_t a;
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *o = ud;
    switch (c) {
    case O_JSON: o->json = true; return 0;
    case O_LATENCY: o->latency = true; return 0;
    case O_SYSLOG: o->syslog = true; return 0;
    case O_QUIET: o->a.quiet = cli_duration (cli, "--quiet", arg); return 0;
    case O_RATE: o->a.rate_limit = cli_duration (cli, "--rate-limit", arg); return 0;
    }
    return -1;
}

//  Print, log and publish every queued message; -1 + err if publishing failed.
static int
s_drain (alert_mgr_t *m, const opts_t *o, alert_pub_t *pub, char *err)
{
    alert_t a;
    char line[2048];
    while (alert_mgr_next (m, &a) == 1) {
        char *js = alert_format_json (&a);
        alert_format_text (&a, line, sizeof line);
        fprintf (stdout, "%s\n", o->json ? js : line);
        if (o->syslog)
            alert_syslog (&a);
        int rc = pub ? alert_pub_send (pub, js, err) : 0;
        free (js);
        if (rc)
            return -1;
    }
    return fflush (stdout) ? errf (err, "stdout: write failed") : 0;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-alert", .usage = USAGE};
    opts_t o = {.a = {.quiet = ALERT_QUIET_DEFAULT, .rate_limit = ALERT_RATE_DEFAULT}};
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &o);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    //  -o names the PUB endpoint; the alerts themselves go to stdout
    const char *pub_ep = cli.nout ? cli.out[0] : NULL;
    if (pub_ep && pub_ep[0] != '@' && pub_ep[0] != '>')
        cli_usage_error (&cli, "-o '%s': expected a ZeroMQ endpoint such as @tcp://*:5570", pub_ep);
    char err[ERRLEN];
    alert_pub_t *pub = NULL;
    if (pub_ep && !(pub = alert_pub_new (pub_ep, err)))
        cli_fatal (&cli, "%s", err);
    cli.nout = 0;
    if (o.syslog)
        openlog ("vigil-alert", LOG_PID, LOG_USER);
    stage_t *st = stage_new (&cli, false);
    alert_mgr_t *m = alert_mgr_new (&o.a);
    latency_t *lat = o.latency ? latency_new () : NULL;
    record_t rec;
    record_init (&rec);
    bool failed = false;
    while (!failed && stage_read (st, &rec) == 1) {
        if (alert_mgr_feed (m, &rec, err))
            stage_reject (st, "%s", err);
        else
            failed = s_drain (m, &o, pub, err) != 0;
        if (lat)
            latency_add (lat, clock_wall () - rec.t);
    }
    if (lat)
        fprintf (stderr, "vigil-alert: latency over %llu frames: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                 (unsigned long long) latency_count (lat), 1e3 * latency_quantile (lat, 0.5),
                 1e3 * latency_quantile (lat, 0.99), 1e3 * latency_quantile (lat, 1));
    latency_destroy (&lat);
    if (!failed) {
        alert_mgr_flush (m);
        failed = s_drain (m, &o, pub, err) != 0;
    }
    if (failed)
        stage_fail (st, "%s", err);
    if (cli.verbose) {
        uint64_t inc, msg, sup;
        alert_mgr_counts (m, &inc, &msg, &sup);
        fprintf (stderr, "vigil-alert: %llu incidents, %llu messages, %llu updates rate-limited\n",
                 (unsigned long long) inc, (unsigned long long) msg, (unsigned long long) sup);
    }
    record_destroy (&rec);
    alert_mgr_destroy (&m);
    alert_pub_destroy (&pub);
    return stage_finish (&st);
}
