/*  anomaly: the injected events of vigil-sim — security attacks, device and
    data faults, clinical events — their schedule (random or from a scenario
    file) and what each does to a patient's records.

    An event is a kind, a patient, an interval [start, end) in seconds from
    the start of the run and a severity (1 = clear to an expert, smaller is
    subtler, larger is grosser).  A record is inside an event when its tick
    time (start of run + k * tick) is in the interval; exactly those records
    carry label 1 and the kind.  Per patient, events never overlap.

    Clinical events act on the physiology (physio_mod_t), before the
    couplings, so a fever also raises heart and breathing rate.  Attacks and
    faults act on the reported sample, its time and its sequence number.
    All randomness of an event comes from the rng passed in (the patient's
    anomaly stream), never from the patient's own, so a patient's clean
    stream is the same with or without anomalies.  */
#ifndef VIGIL_ANOMALY_H
#define VIGIL_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "physio.h"
#include "rng.h"
#include "util.h"

typedef enum {
    AK_SPOOFING, AK_FALSE_DATA, AK_REPLAY, AK_FLOODING, AK_DELAY,
    AK_STUCK, AK_SPIKE, AK_DRIFT, AK_DROPOUT, AK_BATTERY, AK_CLOCK_SKEW,
    AK_TACHYCARDIA, AK_BRADYCARDIA, AK_HYPOXAEMIA, AK_FEVER, AK_HYPERTENSIVE_CRISIS,
    AK_N
} anomaly_kind_t;

typedef struct {
    int kind;                   //  AK_*, or -1 for no event
    size_t patient;             //  0-based patient index
    double start, end;          //  seconds from the start of the run, [start, end)
    double severity;            //  1 = clear to an expert
    double lag;                 //  replay: age of the replayed segment, seconds
    long line;                  //  scenario line (0 = drawn at random)
} anomaly_event_t;

//  Kind name ("clock_skew") and its index (-1 if unknown).
const char *
    anomaly_name (int kind);
int
    anomaly_find (const char *name);
//  "security", "fault" or "clinical".
const char *
    anomaly_class (int kind);
//  Default events per patient-hour, and the range of durations (seconds).
double
    anomaly_default_rate (int kind);
void
    anomaly_duration (int kind, double *lo, double *hi);

//  Draw the next event of a patient that is free from `after` (seconds) on:
//  gap ~ exponential with mean 1/sum(rate) hours (at least 60 s), kind in
//  proportion to rate[] (events per patient-hour), duration uniform in the
//  kind's range, severity from severity[].  A replay gets a gap long enough
//  to hold the clean segment it replays.  ev->kind = -1 if every rate is 0.
void
    anomaly_schedule (rng_t *r, const double *rate, const double *severity, size_t patient,
                      double after, anomaly_event_t *ev);

//  Parse a scenario (text, see docs/sim.md): one event per line,
//      START DURATION PATIENT KIND [SEVERITY]
//  START and DURATION in duration syntax ("90s", "10m", "1.5h"), PATIENT a
//  1-based number, an id ("p007") or "*" for every patient.  Events are
//  returned sorted by patient, then start (caller frees *events).  Returns 0,
//  or -1 with err "line N: reason" (overlapping events of one patient, an
//  event starting after the run, a replay without a clean segment before it
//  of its own length, a bad field).
int
    anomaly_scenario_parse (const char *text, size_t npatients, double duration,
                            anomaly_event_t **events, size_t *nevents, char *err);
//  The same from a file; err names the file.
int
    anomaly_scenario_load (const char *path, size_t npatients, double duration,
                           anomaly_event_t **events, size_t *nevents, char *err);

//  The running state of one patient's current event.
typedef struct {
    anomaly_event_t ev;         //  the event (kind -1: none)
    bool begun;                 //  anomaly_begin was called
    bool captured;              //  stuck/battery: the value at onset was taken
    int mode;                   //  kind-specific variant
    uint32_t fields;            //  bit f set: field f is affected
    double p[F_N];              //  per-field parameter (offset, factor, value)
    double a, b, c, d;          //  kind-specific scalars
    uint64_t lag_k;             //  replay: lag in ticks
    physio_t alt;               //  spoofing: the impostor; replay: the patient at the segment start
} anomaly_state_t;

//  Start ev for patient p: draw its parameters from r.  For a replay, the
//  caller has already copied the patient into st->alt at tick start - lag
//  (before that tick's step) and sets lag_k.
void
    anomaly_begin (anomaly_state_t *st, const physio_t *p, rng_t *r);
//  Clinical modifiers at `elapsed` seconds into the event; false (mod left
//  neutral) for other kinds.
bool
    anomaly_mod (const anomaly_state_t *st, double elapsed, physio_mod_t *mod);
//  Apply a security or fault event to the reported sample out[F_N], its time
//  *t and sequence number *seq, at `elapsed` seconds into the event; angle is
//  the time of day of *t as an angle (2*pi*hour/24).  Re-rounds the sample.
void
    anomaly_apply (anomaly_state_t *st, double elapsed, double angle, double *out,
                   double *t, uint64_t *seq, rng_t *r);

void
    anomaly_test (bool verbose);

#endif
