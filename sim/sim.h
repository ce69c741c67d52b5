/*  sim: the vigil-sim simulator — N patients, one record per patient per
    tick, interleaved in time order, with labelled anomalies.

    Records carry t (tick time, seconds since the epoch; clock skew and
    replay move it), id ("p001".."pNNN"), seq (per id, from a per-device
    start), v (vitals and telemetry, see physio.h; a missing reading is NaN,
    i.e. nil), label (0/1) and kind (only on label 1).  Record k*N + i is
    patient i at tick k, so a run has exactly patients * floor(duration /
    tick) records.

    Determinism: the output is a function of the options alone (seed, start,
    tick, ...): patient i draws from rng stream i, its anomaly schedule and
    parameters from stream 2^32 + i.  Memory is constant in the duration
    (one patient struct, one running event and one replay/impostor copy per
    patient); sim_next does not allocate.  */
#ifndef VIGIL_SIM_H
#define VIGIL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "physio.h"
#include "record.h"

#define SIM_START_DEFAULT 1767225600.0      //  2026-01-01T00:00:00Z

typedef struct {
    size_t patients;            //  >= 1 (default 10)
    double tick;                //  seconds between a patient's records (default 1)
    double duration;            //  seconds of simulated time (default 3600)
    uint64_t seed;              //  default 1
    double start;               //  epoch seconds of the first tick
    bool anomalies;             //  false: --no-anomalies
    double total_rate;          //  events per patient-hour over all kinds; < 0: defaults
    double rate[AK_N];          //  per-kind override, events per patient-hour; NaN: unset
    double severity[AK_N];      //  per-kind severity (default 1)
    uint32_t kinds;             //  bit k: kind k may be drawn (default all)
    anomaly_event_t *events;    //  scenario events (replace the random schedule); borrowed
    size_t nevents;
    bool scenario;              //  a scenario was given (even an empty one)
} sim_opts_t;

typedef struct _sim_t sim_t;

//  Defaults as above.
void
    sim_opts_default (sim_opts_t *o);
//  Option helpers for the command line; each returns 0 or -1 with err.
//  "KIND=X" or "X" (all kinds) for --rate, --severity.
int
    sim_opts_rate (sim_opts_t *o, const char *arg, char *err);
int
    sim_opts_severity (sim_opts_t *o, const char *arg, char *err);
//  "flooding,replay,fever" or a class "security", "fault", "clinical".
int
    sim_opts_kinds (sim_opts_t *o, const char *arg, char *err);
//  "2026-01-01T00:00:00Z" (UTC, seconds optional) or epoch seconds.
int
    sim_parse_time (const char *s, double *epoch);

//  New simulator, or NULL with err (bad option values).  Takes a copy of
//  the options; the scenario events must outlive the simulator.
sim_t *
    sim_new (const sim_opts_t *o, char *err);
void
    sim_destroy (sim_t **self_p);

//  Fill rec with the next record: 1, or 0 at the end of the run.  rec's v
//  names are set on the first call; the caller keeps rec between calls.
int
    sim_next (sim_t *self, record_t *rec);
//  Simulated seconds from the start to the tick of the last record (for
//  pacing --realtime), and the tick index.
double
    sim_elapsed (const sim_t *self);
uint64_t
    sim_tick (const sim_t *self);
//  Records the run will produce in total.
uint64_t
    sim_total (const sim_t *self);

//  Counters so far: records, records with label 1, and per kind the events
//  begun and the records labelled with it.
uint64_t
    sim_records (const sim_t *self);
uint64_t
    sim_anomalous (const sim_t *self);
uint64_t
    sim_kind_events (const sim_t *self, int kind);
uint64_t
    sim_kind_records (const sim_t *self, int kind);
//  The -v summary as text, one "prog: ..." line for the totals and one per
//  kind that occurred, into buf (size bytes, NUL-terminated, truncated if
//  short).  The caller prints it.
void
    sim_summary (const sim_t *self, const char *prog, char *buf, size_t size);
//  --realtime: sleep until the wall clock (clock_mono) reaches wall0 plus
//  the simulated time of the last record's tick.
void
    sim_pace (const sim_t *self, double wall0);

void
    sim_test (bool verbose);

#endif
