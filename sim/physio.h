/*  physio: one monitored patient and the device/gateway link that carries
    their readings — the clean, anomaly-free generator of vigil-sim.

    Each patient gets a personal baseline drawn from the ranges of a clinical
    profile (adult, elderly, cardiac, COPD, post-operative).  Around it, every
    vital sign moves by mean-reverting Ornstein-Uhlenbeck drift (slow and
    fast components), a 24-hour circadian rhythm, bouts of activity, a shared
    "sympathetic tone" that makes heart rate and blood pressure co-vary, the
    fever coupling (about +10 bpm and +2.5 breaths/min per °C) and
    measurement noise, and is reported at device resolution (whole bpm, mmHg,
    % and breaths/min, 0.1 °C).  The device link has its own packet rate,
    packet size, latency, jitter, loss (worse at weak signal), battery
    (draining, recharged when low) and signal strength.  docs/sim.md gives
    every constant, its range and the reason for it.

    Invariants: a physio_t is a plain value (copy it to fork a patient: the
    replay anomaly re-runs a copy to reproduce an old segment exactly); all
    its randomness comes from its own rng_t, so the clean stream of a patient
    depends only on (seed, patient index, tick), never on injected anomalies.
    Outside clinical modifiers the output is plausible: 25 <= hr <= 250,
    spo2 <= 100, dia <= sys - 10, rr >= 4.  */
#ifndef VIGIL_PHYSIO_H
#define VIGIL_PHYSIO_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"

//  Field indices of a sample, in the order they appear in `v`.
enum {
    F_HR, F_SYS, F_DIA, F_SPO2, F_TEMP, F_RR,               //  vital signs
    F_PKT, F_BYTE, F_IPT, F_JITTER, F_LAT, F_LOSS, F_BATT, F_RSSI,  //  telemetry
    F_N
};
#define F_NVITAL 6

//  Clinical profiles a patient's baseline is drawn from.
enum { PROFILE_ADULT, PROFILE_ELDERLY, PROFILE_CARDIAC, PROFILE_COPD, PROFILE_POSTOP, PROFILE_N };

//  Modifiers applied by clinical events before the couplings, so that a
//  fever also raises heart and breathing rate the way physiology does.
typedef struct {
    double add[F_NVITAL];       //  added to hr sys dia spo2 temp(core) rr
    double hr_scale;            //  heart rate multiplier (1 = none)
} physio_mod_t;

#define PHYSIO_NOU 13           //  OU processes per patient (vitals and link)

typedef struct {
    int profile;                //  PROFILE_*
    double dt;                  //  tick, seconds
    double base[F_NVITAL];      //  personal baseline of each vital
    double circ_amp;            //  personal circadian amplitude factor (0.6..1.2)
    double circ_c, circ_s;      //  cos/sin of the personal acrophase angle
    double ou[PHYSIO_NOU];      //  OU states (see physio.c for the list)
    double oua[PHYSIO_NOU];     //  per-tick decay exp(-dt/tau)
    double oub[PHYSIO_NOU];     //  per-tick innovation sd*sqrt(1-a^2)
    double act;                 //  activity level 0..1 (first-order lag)
    double act_target;          //  intensity of the current bout, 0 at rest
    double act_left;            //  seconds left in the current bout
    double act_a;               //  per-tick lag factor of act
    //  device and link
    double pkt_lambda;          //  packets/s sent by the device
    double pkt_size;            //  mean packet size, bytes
    double lat_base;            //  base one-way latency, ms
    double jit_base;            //  base jitter, ms
    double rssi_base;           //  mean signal strength, dBm
    double batt;                //  battery charge, % (exact, reported rounded)
    double batt_drain;          //  %/hour while discharging (0 = mains powered)
    bool charging;              //  on charge (after falling below 15 %)
    uint64_t seq0;              //  first sequence number
    rng_t rng;                  //  this patient's randomness
} physio_t;

//  Field name of index f (F_*), e.g. "hr".
const char *
    physio_field (int f);
//  Profile name, e.g. "copd".
const char *
    physio_profile_name (int profile);

//  Draw a patient: profile (or -1 to draw one by population weight),
//  baseline, dynamics and device, from rng stream (seed, stream).  dt is the
//  tick in seconds (> 0).
void
    physio_init (physio_t *p, uint64_t seed, uint64_t stream, int profile, double dt);

//  Advance one tick and write the reported sample into out[F_N] (NaN never
//  appears here; anomalies add missing readings later).  cos_h/sin_h are the
//  cosine and sine of the time of day as an angle (2*pi*hour/24).  mod may be
//  NULL.
void
    physio_step (physio_t *p, double cos_h, double sin_h, const physio_mod_t *mod,
                 double *out);

//  Clamp a sample's vitals into what a device can report (hr 25..250,
//  sys 50..260, dia 25..sys-10, spo2 50..100, temp 33..43, rr 4..60) and
//  round every field to its device resolution.  NaN fields stay NaN.
void
    physio_report (double *out);

//  A standard-normal-shaped deviate, cheaply (Irwin-Hall of four 16-bit
//  uniforms, scaled; bounded at +-3.46).
double
    physio_gauss (rng_t *r);

void
    physio_test (bool verbose);

#endif
