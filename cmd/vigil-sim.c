/*  vigil-sim: simulated patients, devices and gateways with labelled
    attacks, faults and clinical events (the model: docs/sim.md).  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "stage.h"

static const char *USAGE =
    "usage: vigil-sim [--patients N] [--duration DUR] [--tick DUR] [--seed N] [options]\n"
    "\n"
    "Write one record per patient per tick (vital signs and device telemetry in v,\n"
    "ground-truth label and kind), patients interleaved in time order: patients *\n"
    "duration / tick records.  The same options and seed give the same bytes.\n"
    "\n"
    "  --patients N      patients, ids p001.. (default 10)\n"
    "  --duration DUR    simulated time, e.g. 90s, 30m, 6h, 7d (default 1h)\n"
    "  --tick DUR        time between a patient's records (default 1s)\n"
    "  --seed N          random seed (default 1)\n"
    "  --start TIME      first tick, UTC or epoch s (default 2026-01-01T00:00:00Z);\n"
    "                    now = the wall clock (with --realtime: t = wall time due)\n"
    "  --realtime        pace output to the wall clock (one tick per tick)\n"
    "  --no-anomalies    clean data only (every label 0)\n"
    "  --scenario FILE   inject exactly the events of FILE (START DURATION PATIENT\n"
    "                    KIND [SEVERITY] per line; docs/sim.md), no random ones\n"
    "  --anomaly-rate X  random events per patient-hour, all kinds (default 0.74)\n"
    "  --rate KIND=X     random events of KIND per patient-hour (0 disables)\n"
    "  --kinds LIST      draw only these kinds (kinds or security,fault,clinical)\n"
    "  --severity [KIND=]X  size of anomalies in (0, 10]: 1 clear to an expert\n"
    "                    (default), 0.3 subtle, 2 gross\n"
    "\n"
    "Kinds: spoofing false_data replay flooding delay (security); stuck spike\n"
    "drift dropout battery clock_skew (fault); tachycardia bradycardia\n"
    "hypoxaemia fever hypertensive_crisis (clinical).\n"
    "Fields of v: hr sys dia spo2 temp rr pkt_rate byte_rate ipt jitter latency loss\n"
    "battery rssi (a missing reading is nil).\n"
    "\n"
    "Common options:\n"
    "  -o EP             output (default -: stdout; a file path or ZeroMQ endpoint)\n"
    "  -v                summary on stderr: records, anomalous records per kind\n"
    "  --curve-server F | --curve-client F --curve-peer F, --curve-allow DIR\n"
    "                    CURVE encryption and authentication on tcp endpoints\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad scenario file or I/O failure, 2 usage error.\n";

enum { OPT_PATIENTS = 1, OPT_DURATION, OPT_TICK, OPT_SEED, OPT_START, OPT_REALTIME,
       OPT_NO_ANOM, OPT_SCENARIO, OPT_ANOM_RATE, OPT_RATE, OPT_KINDS, OPT_SEVERITY };

static const struct option s_longopts[] = {
    {"patients", required_argument, NULL, OPT_PATIENTS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"tick", required_argument, NULL, OPT_TICK},
    {"seed", required_argument, NULL, OPT_SEED},
    {"start", required_argument, NULL, OPT_START},
    {"realtime", no_argument, NULL, OPT_REALTIME},
    {"no-anomalies", no_argument, NULL, OPT_NO_ANOM},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"anomaly-rate", required_argument, NULL, OPT_ANOM_RATE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"kinds", required_argument, NULL, OPT_KINDS},
    {"severity", required_argument, NULL, OPT_SEVERITY},
    {NULL, 0, NULL, 0}};

typedef struct {
    sim_opts_t o;
    const char *scenario;       //  --scenario FILE
    bool realtime;
    bool start_now;             //  --start now
} opts_t;

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    opts_t *op = ud;
    sim_opts_t *o = &op->o;
    char err[ERRLEN];
    switch (c) {
    case OPT_PATIENTS: o->patients = (size_t) cli_long (cli, "--patients", arg, 1, 1000000); return 0;
    case OPT_DURATION: o->duration = cli_duration (cli, "--duration", arg); return 0;
    case OPT_TICK: o->tick = cli_duration (cli, "--tick", arg); return 0;
    case OPT_SEED: o->seed = (uint64_t) cli_long (cli, "--seed", arg, 0, INT64_MAX); return 0;
    case OPT_REALTIME: op->realtime = true; return 0;
    case OPT_NO_ANOM: o->anomalies = false; return 0;
    case OPT_SCENARIO: op->scenario = arg; return 0;
    case OPT_START:
        if (!strcmp (arg, "now")) {
            op->start_now = true;
            return 0;
        }
        if (sim_parse_time (arg, &o->start))
            cli_usage_error (cli, "--start: '%s' is not a time like 2026-01-01T00:00:00Z", arg);
        return 0;
    case OPT_ANOM_RATE: o->total_rate = cli_double (cli, "--anomaly-rate", arg, 0, 1e6); return 0;
    case OPT_RATE:
        if (sim_opts_rate (o, arg, err))
            cli_usage_error (cli, "--rate: %s", err);
        return 0;
    case OPT_KINDS:
        if (sim_opts_kinds (o, arg, err))
            cli_usage_error (cli, "--kinds: %s", err);
        return 0;
    case OPT_SEVERITY:
        if (sim_opts_severity (o, arg, err))
            cli_usage_error (cli, "--severity: %s", err);
        return 0;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-sim", .usage = USAGE};
    opts_t op = {.realtime = false};
    sim_opts_default (&op.o);
    int argi = cli_parse (&cli, argc, argv, "", s_longopts, s_opt, &op);
    if (argi < argc)
        cli_usage_error (&cli, "unexpected argument '%s'", argv[argi]);
    if (op.scenario && !op.o.anomalies)
        cli_usage_error (&cli, "--scenario contradicts --no-anomalies");
    char err[ERRLEN];
    anomaly_event_t *events = NULL;
    if (op.scenario) {
        if (anomaly_scenario_load (op.scenario, op.o.patients, op.o.duration, &events,
                                   &op.o.nevents, err))
            cli_fatal (&cli, "%s", err);
        op.o.events = events;
        op.o.scenario = true;
    }
    if (op.start_now)
        op.o.start = clock_wall ();     //  then no record is due before its t
    double wall0 = clock_mono ();       //  tick 0 is due now
    sim_t *sim = sim_new (&op.o, err);
    if (!sim)
        cli_usage_error (&cli, "%s", err);
    stage_t *st = stage_new (&cli, true);
    record_t rec;
    record_init (&rec);
    uint64_t paced = UINT64_MAX;
    while (!stage_stopping (st) && sim_next (sim, &rec) == 1) {
        if (op.realtime && sim_tick (sim) != paced) {
            paced = sim_tick (sim);     //  a new tick: hand over, then wait for its time
            stage_flush (st);
            sim_pace (sim, wall0);
        }
        stage_write (st, &rec);
    }
    char sum[4096];
    sim_summary (sim, cli.prog, sum, sizeof sum);
    if (cli.verbose)
        fputs (sum, stderr);
    record_destroy (&rec);
    sim_destroy (&sim);
    free (events);
    return stage_finish (&st);
}
