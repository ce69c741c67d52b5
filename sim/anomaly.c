/*  anomaly: see anomaly.h.  Magnitudes are for severity 1 and scale linearly
    with it; docs/sim.md lists them with the reasoning.  */
#include "anomaly.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *cls;
    double rate;                //  events per patient-hour
    double lo, hi;              //  duration range, seconds
} kind_t;

static const kind_t s_kinds[AK_N] = {
    {"spoofing",            "security", 0.04,  300,  900},
    {"false_data",          "security", 0.04,  300, 1200},
    {"replay",              "security", 0.04,  120,  600},
    {"flooding",            "security", 0.04,  120,  600},
    {"delay",               "security", 0.04,  180,  600},
    {"stuck",               "fault",    0.04,  300,  900},
    {"spike",               "fault",    0.12,   10,   60},
    {"drift",               "fault",    0.04,  600, 1800},
    {"dropout",             "fault",    0.04,   60,  600},
    {"battery",             "fault",    0.04,  900, 1800},
    {"clock_skew",          "fault",    0.04,  300, 1200},
    {"tachycardia",         "clinical", 0.04,  300, 1200},
    {"bradycardia",         "clinical", 0.04,  300, 1200},
    {"hypoxaemia",          "clinical", 0.04,  180,  900},
    {"fever",               "clinical", 0.02, 1800, 3600},
    {"hypertensive_crisis", "clinical", 0.04,  300, 1200},
};

//  Typical size of an abnormal excursion per vital (hr sys dia spo2 temp rr),
//  used by false data, spoofing, drift and spikes.
static const double s_false[F_NVITAL] = {30, 35, 20, -8, 1.5, 8};
static const double s_spoof[F_NVITAL] = {25, 25, 12, -4, 0.6, 5};
static const double s_drift[F_NVITAL] = {25, 30, 20, -7, 1.2, 7};
static const double s_spike[F_NVITAL] = {70, 60, 35, -25, 2.5, 20};

const char *
anomaly_name (int kind)
{
    assert (kind >= 0 && kind < AK_N);
    return s_kinds[kind].name;
}

int
anomaly_find (const char *name)
{
    for (int k = 0; k < AK_N; k++)
        if (!strcmp (name, s_kinds[k].name))
            return k;
    return -1;
}

const char *
anomaly_class (int kind)
{
    assert (kind >= 0 && kind < AK_N);
    return s_kinds[kind].cls;
}

double
anomaly_default_rate (int kind)
{
    assert (kind >= 0 && kind < AK_N);
    return s_kinds[kind].rate;
}

void
anomaly_duration (int kind, double *lo, double *hi)
{
    assert (kind >= 0 && kind < AK_N);
    *lo = s_kinds[kind].lo;
    *hi = s_kinds[kind].hi;
}

static double
s_unif (rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform (r);
}

static double
s_sign (rng_t *r)
{
    return rng_uniform (r) < 0.5 ? -1.0 : 1.0;
}

void
anomaly_schedule (rng_t *r, const double *rate, const double *severity, size_t patient,
                  double after, anomaly_event_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->kind = -1;
    ev->patient = patient;
    double total = 0;
    for (int k = 0; k < AK_N; k++)
        total += rate[k];
    if (total <= 0)
        return;
    double gap = fmax (60, rng_exp (r, 3600 / total));
    double u = rng_uniform (r) * total, acc = 0;
    int kind = -1;
    for (int k = 0; k < AK_N; k++) {
        if (rate[k] <= 0)
            continue;
        kind = k;
        acc += rate[k];
        if (u < acc)
            break;
    }
    double dur = s_unif (r, s_kinds[kind].lo, s_kinds[kind].hi);
    if (kind == AK_REPLAY) {
        //  the replayed segment [start - lag, start - lag + dur) lies in the
        //  clean time after the previous event
        gap = fmax (gap, dur + 60);
        ev->lag = dur + s_unif (r, 0, gap - dur - 30);
    }
    ev->kind = kind;
    ev->start = after + gap;
    ev->end = ev->start + dur;
    ev->severity = severity[kind];
}

//  Scenario parsing.

static int
s_event_cmp (const void *a, const void *b)
{
    const anomaly_event_t *x = a, *y = b;
    if (x->patient != y->patient)
        return x->patient < y->patient ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

int
anomaly_scenario_parse (const char *text, size_t npatients, double duration,
                        anomaly_event_t **events, size_t *nevents, char *err)
{
    anomaly_event_t *evs = NULL;
    size_t n = 0, cap = 0;
    long lineno = 0;
    const char *s = text;
    char line[1024];
    while (*s) {
        lineno++;
        size_t len = strcspn (s, "\n");
        if (len >= sizeof line) {
            errf (err, "line %ld: line too long", lineno);
            goto fail;
        }
        memcpy (line, s, len);
        line[len] = 0;
        s += len + (s[len] == '\n');
        char *hash = strchr (line, '#');
        if (hash)
            *hash = 0;
        char *tok[6];
        int nt = 0;
        for (char *p = strtok (line, " \t\r,"); p; p = strtok (NULL, " \t\r,")) {
            if (nt == 6) {
                errf (err, "line %ld: too many fields (want START DURATION PATIENT KIND [SEVERITY])", lineno);
                goto fail;
            }
            tok[nt++] = p;
        }
        if (nt == 0)
            continue;
        if (nt < 4 || nt > 5) {
            errf (err, "line %ld: want START DURATION PATIENT KIND [SEVERITY], got %d fields", lineno, nt);
            goto fail;
        }
        anomaly_event_t ev = {.line = lineno, .severity = 1};
        double dur;
        if (parse_duration (tok[0], &ev.start)) {
            errf (err, "line %ld: bad start '%s'", lineno, tok[0]);
            goto fail;
        }
        if (parse_duration (tok[1], &dur) || dur <= 0) {
            errf (err, "line %ld: bad duration '%s'", lineno, tok[1]);
            goto fail;
        }
        if (ev.start >= duration) {
            errf (err, "line %ld: starts at %gs, after the end of the run (%gs)", lineno, ev.start, duration);
            goto fail;
        }
        ev.end = ev.start + dur;
        ev.kind = anomaly_find (tok[3]);
        if (ev.kind < 0) {
            errf (err, "line %ld: unknown kind '%s'", lineno, tok[3]);
            goto fail;
        }
        if (nt == 5 && (parse_double (tok[4], &ev.severity) || !(ev.severity > 0) || ev.severity > 10)) {
            errf (err, "line %ld: bad severity '%s' (want a number in (0, 10])", lineno, tok[4]);
            goto fail;
        }
        ev.lag = dur;
        size_t lo = 0, hi = npatients;
        if (strcmp (tok[2], "*")) {
            const char *num = tok[2] + (tok[2][0] == 'p');
            long idx;
            if (!isdigit ((unsigned char) *num) || parse_long (num, &idx) || idx < 1
                || (size_t) idx > npatients) {
                errf (err, "line %ld: bad patient '%s' (want 1..%zu, an id like p001, or *)",
                      lineno, tok[2], npatients);
                goto fail;
            }
            lo = (size_t) idx - 1, hi = lo + 1;
        }
        for (size_t p = lo; p < hi; p++) {
            xgrow ((void **) &evs, &cap, n + 1, sizeof *evs);
            ev.patient = p;
            evs[n++] = ev;
        }
    }
    if (n)
        qsort (evs, n, sizeof *evs, s_event_cmp);
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || evs[i - 1].patient != evs[i].patient;
        double prev_end = first ? 0 : evs[i - 1].end;
        if (!first && evs[i].start < prev_end) {
            long a = evs[i - 1].line, b = evs[i].line;
            errf (err, "line %ld: overlaps the event of line %ld for patient %zu",
                  a > b ? a : b, a > b ? b : a, evs[i].patient + 1);
            goto fail;
        }
        if (evs[i].kind == AK_REPLAY && evs[i].start - evs[i].lag < prev_end) {
            errf (err, "line %ld: a replay needs %gs of clean data before it to replay",
                  evs[i].line, evs[i].lag);
            goto fail;
        }
    }
    *events = evs;
    *nevents = n;
    return 0;
fail:
    free (evs);
    return -1;
}

int
anomaly_scenario_load (const char *path, size_t npatients, double duration,
                       anomaly_event_t **events, size_t *nevents, char *err)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return errf (err, "%s: %s", path, strerror (errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    do {
        xgrow ((void **) &text, &cap, len + 4097, 1);
        got = fread (text + len, 1, 4096, f);
        len += got;
    } while (got == 4096);
    bool bad = ferror (f);
    fclose (f);
    text[len] = 0;
    if (bad || strlen (text) != len) {
        free (text);
        return errf (err, "%s: cannot read a text file", path);
    }
    char why[ERRLEN];
    int rc = anomaly_scenario_parse (text, npatients, duration, events, nevents, why);
    free (text);
    if (rc)
        return errf (err, "%s: %s", path, why);
    return 0;
}

//  Running events.

static void
s_pick_vitals (rng_t *r, int n, uint32_t *fields)
{
    uint32_t idx[F_NVITAL] = {0, 1, 2, 3, 4, 5};
    rng_shuffle (r, idx, F_NVITAL);
    for (int i = 0; i < n && i < F_NVITAL; i++)
        *fields |= 1u << idx[i];
}

void
anomaly_begin (anomaly_state_t *st, const physio_t *p, rng_t *r)
{
    double sev = st->ev.severity;
    st->begun = true;
    st->captured = false;
    st->fields = 0;
    st->mode = 0;
    st->a = st->b = st->c = st->d = 0;
    for (int f = 0; f < F_N; f++)
        st->p[f] = 0;
    switch (st->ev.kind) {
    case AK_SPOOFING: {
        //  an impostor device: another person's physiology, another radio
        int prof = (p->profile + 1 + (int) rng_below (r, PROFILE_N - 1)) % PROFILE_N;
        physio_init (&st->alt, rng_u64 (r), 0, prof, p->dt);
        for (int f = 0; f < F_NVITAL; f++) {
            double sign = s_sign (r);
            if (f == F_SPO2)
                sign = p->base[F_SPO2] > 95 ? 1 : sign;     //  s_spoof is negative
            st->alt.base[f] = p->base[f] + sev * sign * s_spoof[f] * s_unif (r, 0.7, 1.0);
        }
        st->alt.base[F_SPO2] = fmin (st->alt.base[F_SPO2], 99);
        st->alt.base[F_DIA] = fmin (st->alt.base[F_DIA], st->alt.base[F_SYS] - 25);
        st->a = s_sign (r) * sev * s_unif (r, 8, 15);          //  rssi shift, dB
        st->b = 1 + s_sign (r) * sev * s_unif (r, 0.25, 0.4);  //  packet size factor
        st->c = 1 + s_sign (r) * sev * s_unif (r, 0.15, 0.3);  //  inter-packet time factor
        break;
    }
    case AK_FALSE_DATA: {
        st->mode = (int) rng_below (r, 3);      //  0 shift, 1 scale, 2 ramp
        static const uint32_t groups[5] = {1u << F_HR, (1u << F_SYS) | (1u << F_DIA),
                                           1u << F_SPO2, 1u << F_TEMP, 1u << F_RR};
        int g1 = (int) rng_below (r, 5), g2 = (int) rng_below (r, 5);
        st->fields = groups[g1] | (rng_uniform (r) < 0.5 ? groups[g2] : 0);
        double sign = s_sign (r);
        for (int f = 0; f < F_NVITAL; f++) {
            double sg = f == F_SPO2 ? 1 : sign;
            double m = s_unif (r, 0.8, 1.2);
            if (st->mode == 1)      //  scale: the same relative change as the shift
                st->p[f] = 1 + sg * sev * m * s_false[f] / p->base[f];
            else
                st->p[f] = sg * sev * m * s_false[f] * (st->mode == 2 ? 1.5 : 1.0);
        }
        break;
    }
    case AK_FLOODING:
        st->a = 1 + sev * (s_unif (r, 15, 40) - 1);    //  packet rate factor
        st->b = s_unif (r, 60, 110);                    //  flood packet size
        st->c = 1 + 4 * sev * s_unif (r, 0.8, 1.2);     //  latency factor
        st->d = sev * s_unif (r, 0.05, 0.3);            //  added loss
        break;
    case AK_DELAY:
        st->a = sev * s_unif (r, 800, 3000);            //  added latency, ms
        break;
    case AK_STUCK:
        s_pick_vitals (r, (int) fmax (1, round (6 * fmin (1, sev))), &st->fields);
        break;
    case AK_SPIKE: {
        s_pick_vitals (r, 1 + (rng_uniform (r) < 0.4), &st->fields);
        break;
    }
    case AK_DRIFT: {
        int f = (int) rng_below (r, F_NVITAL);
        st->fields = 1u << f;
        st->p[f] = sev * (f == F_SPO2 ? 1 : s_sign (r)) * s_drift[f] * s_unif (r, 0.8, 1.2);
        break;
    }
    case AK_DROPOUT: {
        //  the whole link, or one sensor: oximeter probe, cuff, thermometer,
        //  respiration lead
        static const uint32_t groups[4] = {(1u << F_HR) | (1u << F_SPO2),
                                           (1u << F_SYS) | (1u << F_DIA), 1u << F_TEMP,
                                           1u << F_RR};
        st->mode = rng_uniform (r) < 0.5;               //  1 = link down
        st->fields = st->mode ? (1u << F_N) - 1 : groups[rng_below (r, 4)];
        st->a = fmin (1, sev);                          //  share of records affected
        break;
    }
    case AK_BATTERY:
        st->a = fmin (1, sev);                          //  share of the charge lost
        break;
    case AK_CLOCK_SKEW:
        st->a = s_sign (r);
        st->b = sev * s_unif (r, 20, 120);              //  initial offset, s
        st->c = sev * s_unif (r, 0.05, 0.2);            //  drift, s per s
        break;
    //  clinical events head for a clinically defined target (NEWS2 red
    //  zones, the hypertensive-crisis definition), at least a minimum shift
    case AK_TACHYCARDIA:
        st->a = fmax (40, s_unif (r, 130, 160) - p->base[F_HR]);
        break;
    case AK_BRADYCARDIA:
        st->a = fmin (0.6, 1 - s_unif (r, 38, 48) / p->base[F_HR]);    //  share of hr lost
        st->a = fmax (st->a, 0.2);
        break;
    case AK_HYPOXAEMIA:
        st->a = fmax (6, p->base[F_SPO2] - s_unif (r, 82, 88));
        break;
    case AK_FEVER:
        st->a = fmax (1.5, s_unif (r, 38.6, 39.5) - p->base[F_TEMP]);
        break;
    case AK_HYPERTENSIVE_CRISIS:
        st->a = fmax (60, s_unif (r, 185, 215) - p->base[F_SYS]);
        st->b = fmax (30, s_unif (r, 115, 130) - p->base[F_DIA]);
        break;
    default:
        break;
    }
}

bool
anomaly_mod (const anomaly_state_t *st, double elapsed, physio_mod_t *mod)
{
    memset (mod, 0, sizeof *mod);
    mod->hr_scale = 1;
    int k = st->ev.kind;
    if (k < AK_TACHYCARDIA)
        return false;
    double dur = st->ev.end - st->ev.start;
    double ramp = k == AK_FEVER ? 0.3 * dur : fmin (120, 0.2 * dur);
    double s = st->ev.severity * fmin (1, elapsed / ramp);
    switch (k) {
    case AK_TACHYCARDIA:
        mod->add[F_HR] = s * st->a;
        mod->add[F_RR] = 4 * s;
        break;
    case AK_BRADYCARDIA:
        mod->hr_scale = fmax (0.3, 1 - s * st->a);
        mod->add[F_SYS] = -10 * s;
        break;
    case AK_HYPOXAEMIA:
        mod->add[F_SPO2] = -s * st->a;
        mod->add[F_RR] = 8 * s;
        mod->add[F_HR] = 15 * s;
        break;
    case AK_FEVER:
        mod->add[F_TEMP] = s * st->a;   //  the couplings add ~10 bpm and ~2.5 /min per °C
        break;
    case AK_HYPERTENSIVE_CRISIS:
        mod->add[F_SYS] = s * st->a;
        mod->add[F_DIA] = s * st->b;
        mod->add[F_HR] = 8 * s;
        break;
    }
    return true;
}

void
anomaly_apply (anomaly_state_t *st, double elapsed, double angle, double *o, double *t,
               uint64_t *seq, rng_t *r)
{
    double sev = st->ev.severity, dur = st->ev.end - st->ev.start;
    double frac = fmin (1, elapsed / dur);
    switch (st->ev.kind) {
    case AK_SPOOFING: {
        double a[F_N];
        physio_step (&st->alt, cos (angle), sin (angle), NULL, a);
        for (int f = 0; f < F_NVITAL; f++)
            o[f] = a[f];
        o[F_BATT] = a[F_BATT];
        o[F_RSSI] += st->a;
        o[F_BYTE] *= st->b;
        o[F_IPT] *= st->c;
        break;
    }
    case AK_FALSE_DATA:
        for (int f = 0; f < F_NVITAL; f++) {
            if (!(st->fields >> f & 1))
                continue;
            if (st->mode == 1)
                o[f] *= st->p[f];
            else if (st->mode == 0)
                o[f] += st->p[f];
            else
                o[f] += st->p[f] * frac;
        }
        break;
    case AK_REPLAY: {
        double lag = (double) st->lag_k * st->alt.dt, a[F_N];
        double ang = angle - lag * (2 * M_PI / 86400);
        physio_step (&st->alt, cos (ang), sin (ang), NULL, a);
        for (int f = 0; f < F_NVITAL; f++)
            o[f] = a[f];
        o[F_BATT] = a[F_BATT];
        o[F_LAT] += lag * 1000;         //  the gateway sees old timestamps
        *t -= lag;
        *seq -= st->lag_k;
        break;
    }
    case AK_FLOODING: {
        double pkt = o[F_PKT] * st->a * (1 + 0.1 * physio_gauss (r));
        o[F_PKT] = pkt;
        o[F_BYTE] = pkt * st->b * (1 + 0.05 * physio_gauss (r));
        o[F_IPT] = 1000 / fmax (pkt, 1e-3);
        o[F_LAT] = o[F_LAT] * st->c + 20 * sev * fabs (physio_gauss (r));
        o[F_JITTER] *= 1 + 6 * sev * (1 + 0.2 * physio_gauss (r));
        double loss = fmin (1, o[F_LOSS] + st->d * (1 + 0.2 * physio_gauss (r)));
        o[F_LOSS] = loss;
        for (int f = 0; f < F_NVITAL; f++)      //  readings lost in the congestion
            if (rng_uniform (r) < loss)
                o[f] = NAN;
        break;
    }
    case AK_DELAY: {
        double d = st->a * fmin (1, elapsed / 10);
        o[F_LAT] += d * (1 + 0.1 * physio_gauss (r));
        o[F_JITTER] += 0.15 * d * (0.5 + 0.5 * fabs (physio_gauss (r)));
        double burst = 1 + 0.6 * fmin (1, sev) * (2 * rng_uniform (r) - 1);
        o[F_PKT] *= burst;              //  held packets released in bursts
        o[F_BYTE] *= burst;
        o[F_IPT] *= 1 + 0.6 * fmin (1, sev) * physio_gauss (r);
        o[F_IPT] = fmax (o[F_IPT], 1);
        break;
    }
    case AK_STUCK:
        for (int f = 0; f < F_NVITAL; f++) {
            if (!(st->fields >> f & 1))
                continue;
            if (!st->captured)
                st->p[f] = o[f];
            o[f] = st->p[f];
        }
        st->captured = true;
        break;
    case AK_SPIKE:
        for (int f = 0; f < F_NVITAL; f++)
            if (st->fields >> f & 1) {
                double sg = (f == F_SPO2 || f == F_RR) ? 1 : s_sign (r);
                o[f] += sg * sev * s_spike[f] * s_unif (r, 0.6, 1.0);
            }
        break;
    case AK_DRIFT:
        for (int f = 0; f < F_NVITAL; f++)
            if (st->fields >> f & 1)
                o[f] += st->p[f] * fmin (1, 2 * frac);
        break;
    case AK_DROPOUT:
        if (st->a >= 1 || rng_uniform (r) < st->a) {
            for (int f = 0; f < F_N; f++)
                if (st->fields >> f & 1)
                    o[f] = NAN;
            if (st->mode)
                o[F_PKT] = 0, o[F_BYTE] = 0, o[F_LOSS] = 1;
        }
        break;
    case AK_BATTERY:
        if (!st->captured)
            st->p[F_BATT] = o[F_BATT], st->captured = true;
        o[F_BATT] = st->p[F_BATT] - (st->p[F_BATT] - 1) * st->a * frac;
        if (frac > 0.6) {               //  radio power save as the cell fails
            o[F_RSSI] -= 8 * sev;
            o[F_PKT] *= 0.6;
            o[F_BYTE] *= 0.6;
            o[F_IPT] /= 0.6;
            o[F_LOSS] += 0.05 * sev;
        }
        break;
    case AK_CLOCK_SKEW: {
        double off = st->a * (st->b + st->c * elapsed);
        *t += off;
        o[F_LAT] -= off * 1000;         //  latency from the device's timestamp
        break;
    }
    default:
        break;
    }
    physio_report (o);
}

void
anomaly_test (bool verbose)
{
    char err[ERRLEN];
    assert (anomaly_find ("clock_skew") == AK_CLOCK_SKEW && anomaly_find ("nope") == -1);
    for (int k = 0; k < AK_N; k++)
        assert (anomaly_find (anomaly_name (k)) == k);
    assert (!strcmp (anomaly_class (AK_FEVER), "clinical"));

    //  default schedule: anomalous share of time in the 5-15 % band
    double rate[AK_N], sev[AK_N];
    for (int k = 0; k < AK_N; k++)
        rate[k] = anomaly_default_rate (k), sev[k] = 1;
    rng_t r;
    rng_init (&r, 1, 2);
    double t = 0, busy = 0;
    int count[AK_N] = {0};
    anomaly_event_t ev;
    while (t < 1000 * 3600.0) {
        anomaly_schedule (&r, rate, sev, 0, t, &ev);
        assert (ev.kind >= 0 && ev.start >= t + 60 && ev.end > ev.start);
        if (ev.kind == AK_REPLAY)
            assert (ev.start - ev.lag >= t && ev.lag >= ev.end - ev.start);
        busy += ev.end - ev.start;
        count[ev.kind]++;
        t = ev.end;
    }
    if (verbose)
        printf ("anomaly: default share of time anomalous %.1f %%\n", 100 * busy / t);
    assert (busy / t > 0.05 && busy / t < 0.15);
    for (int k = 0; k < AK_N; k++)
        assert (count[k] > 5);
    //  zero rates: no events; one kind only
    for (int k = 0; k < AK_N; k++)
        rate[k] = 0;
    anomaly_schedule (&r, rate, sev, 0, 0, &ev);
    assert (ev.kind == -1);
    rate[AK_FEVER] = 1;
    anomaly_schedule (&r, rate, sev, 3, 0, &ev);
    assert (ev.kind == AK_FEVER && ev.patient == 3);

    //  scenarios
    anomaly_event_t *evs;
    size_t n;
    const char *ok = "# start dur patient kind sev\n"
                     "10m 5m p002 flooding 0.5\n"
                     "\n"
                     "1m 2m 1 stuck   # comment\n"
                     "30m 10m * fever\n";
    assert (anomaly_scenario_parse (ok, 3, 3600, &evs, &n, err) == 0);
    assert (n == 5);
    assert (evs[0].patient == 0 && evs[0].kind == AK_STUCK && evs[0].start == 60);
    assert (evs[0].end == 180 && evs[0].severity == 1 && evs[0].line == 4);
    assert (evs[2].patient == 1 && evs[2].kind == AK_FLOODING && evs[2].severity == 0.5);
    assert (evs[4].patient == 2 && evs[4].kind == AK_FEVER);
    free (evs);
    struct { const char *text, *msg; } bad[] = {
        {"1m 2m 1 stuck\n5m 1m 1 flod\n", "line 2: unknown kind 'flod'"},
        {"1m 2m 9 stuck\n", "line 1: bad patient '9'"},
        {"1m\n", "line 1: want START"},
        {"x 2m 1 stuck\n", "line 1: bad start 'x'"},
        {"1m 0 1 stuck\n", "line 1: bad duration '0'"},
        {"1m 2m 1 stuck -1\n", "line 1: bad severity '-1'"},
        {"2h 2m 1 stuck\n", "line 1: starts at 7200s, after the end"},
        {"1m 5m 1 stuck\n\n3m 1m 1 spike\n", "line 3: overlaps the event of line 1"},
        {"1m 2m 1 replay\n", "line 1: a replay needs 120s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert (anomaly_scenario_parse (bad[i].text, 3, 3600, &evs, &n, err) == -1);
        if (verbose)
            printf ("anomaly: '%s'\n", err);
        assert (!strncmp (err, bad[i].msg, strlen (bad[i].msg)));
    }
    assert (anomaly_scenario_load ("/nonexistent/x", 3, 3600, &evs, &n, err) == -1);
    assert (strstr (err, "/nonexistent/x"));

    //  each kind changes a clean sample the way it claims
    physio_t p;
    physio_init (&p, 4, 4, PROFILE_ADULT, 1.0);
    anomaly_state_t st;
    memset (&st, 0, sizeof st);
    double o[F_N], c[F_N];
    uint64_t seq = 1000;
    double tt = 5000;

    //  stuck: the affected fields keep their onset value
    st.ev = (anomaly_event_t) {.kind = AK_STUCK, .start = 0, .end = 100, .severity = 1};
    anomaly_begin (&st, &p, &r);
    assert (st.fields == 0x3f);
    double first[F_N];
    for (int i = 0; i < 50; i++) {
        physio_step (&p, 1, 0, NULL, o);
        anomaly_apply (&st, i, 0, o, &tt, &seq, &r);
        if (i == 0)
            memcpy (first, o, sizeof o);
        for (int f = 0; f < F_NVITAL; f++)
            assert (o[f] == first[f]);
    }
    //  flooding: packet rate >= 10x, latency and loss up
    st.ev.kind = AK_FLOODING;
    anomaly_begin (&st, &p, &r);
    physio_t q = p;
    physio_step (&q, 1, 0, NULL, c);
    physio_step (&p, 1, 0, NULL, o);
    anomaly_apply (&st, 5, 0, o, &tt, &seq, &r);
    assert (o[F_PKT] >= 10 * c[F_PKT] * 0.8 && o[F_LAT] > 3 * c[F_LAT] && o[F_LOSS] > c[F_LOSS]);
    //  clock skew: t moves, latency reflects it; seq stays
    st.ev.kind = AK_CLOCK_SKEW;
    anomaly_begin (&st, &p, &r);
    double t0 = 5000;
    tt = t0;
    physio_step (&p, 1, 0, NULL, o);
    anomaly_apply (&st, 10, 0, o, &tt, &seq, &r);
    assert (fabs (tt - t0) >= 20 && seq == 1000);
    //  replay: a copy of the patient reproduces the old segment exactly
    physio_t snap = p;
    double old[20][F_N];
    for (int i = 0; i < 20; i++)
        physio_step (&p, cos (i * 2 * M_PI / 86400), sin (i * 2 * M_PI / 86400), NULL, old[i]);
    st.ev = (anomaly_event_t) {.kind = AK_REPLAY, .start = 20, .end = 40, .severity = 1, .lag = 20};
    st.alt = snap;
    st.lag_k = 20;
    anomaly_begin (&st, &p, &r);
    for (int i = 0; i < 20; i++) {
        tt = 1000 + 20 + i;
        seq = 500 + 20 + i;
        double ang = (20 + i) * 2 * M_PI / 86400;
        physio_step (&p, cos (ang), sin (ang), NULL, o);
        anomaly_apply (&st, i, ang, o, &tt, &seq, &r);
        for (int f = 0; f < F_NVITAL; f++)
            assert (o[f] == old[i][f]);
        assert (tt == 1000 + i && seq == 500 + (uint64_t) i && o[F_LAT] > 19000);
    }
    //  clinical: modifiers ramp up and are neutral for other kinds
    physio_mod_t mod;
    st.ev = (anomaly_event_t) {.kind = AK_TACHYCARDIA, .start = 0, .end = 600, .severity = 1};
    anomaly_begin (&st, &p, &r);
    assert (anomaly_mod (&st, 0, &mod) && mod.add[F_HR] == 0);
    assert (anomaly_mod (&st, 300, &mod) && mod.add[F_HR] >= 40);
    st.ev.kind = AK_SPIKE;
    assert (!anomaly_mod (&st, 300, &mod) && mod.hr_scale == 1);
    //  dropout of the link: every reading missing
    st.ev = (anomaly_event_t) {.kind = AK_DROPOUT, .start = 0, .end = 60, .severity = 1};
    for (int tries = 0; tries < 50; tries++) {
        anomaly_begin (&st, &p, &r);
        if (st.mode)
            break;
    }
    assert (st.mode == 1);
    physio_step (&p, 1, 0, NULL, o);
    anomaly_apply (&st, 1, 0, o, &tt, &seq, &r);
    assert (isnan (o[F_HR]) && isnan (o[F_RSSI]) && o[F_PKT] == 0 && o[F_LOSS] == 1);
}
