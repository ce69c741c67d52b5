/*  sim: see sim.h.  The loop is tick-major: for tick k, patients 0..N-1,
    each stepping its physiology, then its running event (if any).  An event
    is looked ahead one at a time per patient (random schedule or scenario),
    so a replay knows in time at which tick to copy the patient.  */
#include "sim.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    physio_t ph;                //  the patient and their device
    rng_t arng;                 //  anomaly schedule and parameters
    anomaly_state_t st;         //  the running or next event (kind -1: none)
    int64_t snap_k;             //  replay: tick at which to copy ph into st.alt (-1 none)
    size_t scen, scen_end;      //  next / end index of this patient's scenario events
    char id[24];
} patient_t;

struct _sim_t {
    sim_opts_t o;
    double rate[AK_N];          //  effective events per patient-hour
    patient_t *pt;              //  (patients)
    uint64_t nticks;            //  ticks per patient
    uint64_t k;                 //  current tick
    size_t i;                   //  next patient within the tick
    double angle, ca, sa;       //  time of day of tick k, its cos and sin
    uint64_t records, anomalous;
    uint64_t kind_events[AK_N], kind_records[AK_N];
};

void
sim_opts_default (sim_opts_t *o)
{
    memset (o, 0, sizeof *o);
    o->patients = 10;
    o->tick = 1;
    o->duration = 3600;
    o->seed = 1;
    o->start = SIM_START_DEFAULT;
    o->anomalies = true;
    o->total_rate = -1;
    for (int k = 0; k < AK_N; k++)
        o->rate[k] = NAN, o->severity[k] = 1;
    o->kinds = (1u << AK_N) - 1;
}

//  "KIND=X" -> kind, x; "X" -> kind -1, x.
static int
s_kind_value (const char *arg, int *kind, double *x, char *err)
{
    const char *eq = strchr (arg, '=');
    *kind = -1;
    if (eq) {
        char name[REC_NAME_MAX];
        size_t n = (size_t) (eq - arg);
        if (n >= sizeof name)
            return errf (err, "unknown kind '%.*s'", (int) n, arg);
        memcpy (name, arg, n);
        name[n] = 0;
        if ((*kind = anomaly_find (name)) < 0)
            return errf (err, "unknown kind '%s'", name);
        arg = eq + 1;
    }
    if (parse_double (arg, x) || !(*x >= 0) || *x > 1e6)
        return errf (err, "bad value '%s'", arg);
    return 0;
}

int
sim_opts_rate (sim_opts_t *o, const char *arg, char *err)
{
    int kind;
    double x;
    if (s_kind_value (arg, &kind, &x, err))
        return -1;
    if (kind < 0)
        o->total_rate = x;
    else
        o->rate[kind] = x;
    return 0;
}

int
sim_opts_severity (sim_opts_t *o, const char *arg, char *err)
{
    int kind;
    double x;
    if (s_kind_value (arg, &kind, &x, err))
        return -1;
    if (!(x > 0) || x > 10)
        return errf (err, "severity '%s' is not in (0, 10]", arg);
    for (int k = 0; k < AK_N; k++)
        if (kind < 0 || k == kind)
            o->severity[k] = x;
    return 0;
}

int
sim_opts_kinds (sim_opts_t *o, const char *arg, char *err)
{
    uint32_t mask = 0;
    const char *s = arg;
    while (*s) {
        size_t n = strcspn (s, ",");
        char name[REC_NAME_MAX];
        if (n == 0 || n >= sizeof name)
            return errf (err, "bad kind list '%s'", arg);
        memcpy (name, s, n);
        name[n] = 0;
        int k = anomaly_find (name);
        if (k >= 0)
            mask |= 1u << k;
        else {
            uint32_t m = 0;
            for (k = 0; k < AK_N; k++)
                if (!strcmp (anomaly_class (k), name))
                    m |= 1u << k;
            if (!m)
                return errf (err, "unknown kind '%s'", name);
            mask |= m;
        }
        s += n + (s[n] == ',');
    }
    if (!mask)
        return errf (err, "bad kind list '%s'", arg);
    o->kinds = mask;
    return 0;
}

int
sim_parse_time (const char *s, double *epoch)
{
    if (!parse_double (s, epoch))
        return *epoch >= 0 ? 0 : -1;
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf (s, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                &tm.tm_hour, &tm.tm_min, &n) != 5)
        return -1;
    s += n;
    if (*s == ':') {
        n = 0;
        if (sscanf (s, ":%2d%n", &tm.tm_sec, &n) != 1)
            return -1;
        s += n;
    }
    if (strcmp (s, "Z") && *s)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31
        || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *epoch = (double) timegm (&tm);
    return 0;
}

//  Look ahead: the patient's next event, free from `after` seconds and
//  from tick `next_k` on.
static void
s_next_event (sim_t *self, patient_t *pt, size_t idx, double after, uint64_t next_k)
{
    anomaly_state_t *st = &pt->st;
    st->begun = false;
    st->ev.kind = -1;
    pt->snap_k = -1;
    if (self->o.scenario) {
        if (pt->scen < pt->scen_end)
            st->ev = self->o.events[pt->scen++];
    }
    else if (self->o.anomalies)
        anomaly_schedule (&pt->arng, self->rate, self->o.severity, idx, after, &st->ev);
    if (st->ev.kind == AK_REPLAY) {
        double tick = self->o.tick;
        int64_t k_e = (int64_t) ceil (st->ev.start / tick - 1e-9);
        int64_t lag_k = (int64_t) llround (st->ev.lag / tick);
        if (lag_k < 1)
            lag_k = 1;
        if (k_e - lag_k < (int64_t) next_k)     //  only with ticks coarser than the gap
            lag_k = k_e - (int64_t) next_k;
        st->lag_k = (uint64_t) (lag_k > 0 ? lag_k : 0);
        pt->snap_k = k_e - (int64_t) st->lag_k;
    }
}

sim_t *
sim_new (const sim_opts_t *o, char *err)
{
    if (o->patients < 1 || o->patients > 1000000)
        return errf (err, "patients must be 1..1000000"), NULL;
    if (!(o->tick >= 0.001) || o->tick > 86400)
        return errf (err, "tick must be 1ms..1d"), NULL;
    if (!(o->duration >= o->tick) || o->duration > 3650 * 86400.0)
        return errf (err, "duration must be at least one tick and at most 10 years"), NULL;
    sim_t *self = xcalloc (1, sizeof *self);
    self->o = *o;
    for (int k = 0; k < AK_N; k++) {
        double r = anomaly_default_rate (k);
        if (o->total_rate >= 0) {     //  shared among the kinds that may be drawn
            double sum = 0;
            for (int j = 0; j < AK_N; j++)
                sum += (o->kinds >> j & 1) ? anomaly_default_rate (j) : 0;
            r *= o->total_rate / sum;
        }
        if (!(o->kinds >> k & 1))
            r = 0;
        if (!isnan (o->rate[k]))
            r = o->rate[k];
        self->rate[k] = r;
    }
    self->nticks = (uint64_t) floor (o->duration / o->tick + 1e-9);
    self->pt = xcalloc (o->patients, sizeof *self->pt);
    int width = 3;
    for (size_t n = o->patients; n >= 1000; n /= 10)
        width++;
    size_t e = 0;
    for (size_t i = 0; i < o->patients; i++) {
        patient_t *pt = &self->pt[i];
        physio_init (&pt->ph, o->seed, i, -1, o->tick);
        rng_init (&pt->arng, o->seed, (1ULL << 32) + i);
        snprintf (pt->id, sizeof pt->id, "p%0*u", width & 7, (unsigned) (i + 1));
        //  scenario events are sorted by patient
        while (e < o->nevents && o->events[e].patient < i)
            e++;
        pt->scen = e;
        while (e < o->nevents && o->events[e].patient == i)
            e++;
        pt->scen_end = e;
        s_next_event (self, pt, i, 0, 0);
    }
    self->k = 0;
    self->i = 0;
    return self;
}

void
sim_destroy (sim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->pt);
    free (*self_p);
    *self_p = NULL;
}

static void
s_setup (record_t *rec)
{
    record_clear (rec);
    for (int f = 0; f < F_N; f++)
        record_v_set (rec, physio_field (f), 0);
}

int
sim_next (sim_t *self, record_t *rec)
{
    if (self->i == self->o.patients) {
        self->i = 0;
        self->k++;
    }
    if (self->k >= self->nticks)
        return 0;
    double tick = self->o.tick;
    double rel = (double) self->k * tick;
    if (self->i == 0) {
        double tod = fmod (self->o.start + rel, 86400);
        self->angle = tod * (2 * M_PI / 86400);
        self->ca = cos (self->angle);
        self->sa = sin (self->angle);
    }
    size_t idx = self->i++;
    patient_t *pt = &self->pt[idx];
    anomaly_state_t *st = &pt->st;
    if (pt->snap_k == (int64_t) self->k)
        st->alt = pt->ph;
    bool active = st->ev.kind >= 0 && rel >= st->ev.start - 1e-9 && rel < st->ev.end - 1e-9;
    if (active && !st->begun) {
        anomaly_begin (st, &pt->ph, &pt->arng);
        self->kind_events[st->ev.kind]++;
    }
    double elapsed = rel - st->ev.start;
    physio_mod_t mod;
    bool clinical = active && anomaly_mod (st, elapsed, &mod);
    if (rec->nv != F_N || strcmp (rec->v_name[0], "hr") || strcmp (rec->v_name[F_N - 1], "rssi"))
        s_setup (rec);
    double *out = rec->v_val;
    physio_step (&pt->ph, self->ca, self->sa, clinical ? &mod : NULL, out);
    double t = self->o.start + rel;
    uint64_t seq = pt->ph.seq0 + self->k;
    if (active && !clinical)
        anomaly_apply (st, elapsed, self->angle, out, &t, &seq, &pt->arng);
    rec->has = REC_T | REC_ID | REC_SEQ | REC_V | REC_LABEL;
    rec->t = round (t * 1000) / 1000;
    memcpy (rec->id, pt->id, sizeof pt->id);
    rec->seq = seq;
    rec->label = active;
    self->records++;
    if (active) {
        rec->has |= REC_KIND;
        record_set_kind (rec, anomaly_name (st->ev.kind));
        self->anomalous++;
        self->kind_records[st->ev.kind]++;
    }
    //  the event is over once the next tick is past its end
    if (st->ev.kind >= 0 && rel + tick >= st->ev.end - 1e-9) {
        if (st->ev.kind == AK_BATTERY && st->begun)
            pt->ph.batt = 100, pt->ph.charging = false;     //  battery swapped
        s_next_event (self, pt, idx, st->ev.end, self->k + 1);
    }
    return 1;
}

double
sim_elapsed (const sim_t *self)
{
    return (double) self->k * self->o.tick;
}

uint64_t
sim_tick (const sim_t *self)
{
    return self->k;
}

uint64_t
sim_total (const sim_t *self)
{
    return self->nticks * self->o.patients;
}

uint64_t
sim_records (const sim_t *self)
{
    return self->records;
}

uint64_t
sim_anomalous (const sim_t *self)
{
    return self->anomalous;
}

uint64_t
sim_kind_events (const sim_t *self, int kind)
{
    assert (kind >= 0 && kind < AK_N);
    return self->kind_events[kind];
}

uint64_t
sim_kind_records (const sim_t *self, int kind)
{
    assert (kind >= 0 && kind < AK_N);
    return self->kind_records[kind];
}

void
sim_summary (const sim_t *self, const char *prog, char *buf, size_t size)
{
    size_t len = 0;
    uint64_t n = self->records, a = self->anomalous;
    len += (size_t) snprintf (buf, size, "%s: %llu records, %llu anomalous (%.1f %%)\n", prog,
                              (unsigned long long) n, (unsigned long long) a,
                              n ? 100.0 * (double) a / (double) n : 0.0);
    for (int k = 0; k < AK_N && len < size; k++)
        if (self->kind_events[k])
            len += (size_t) snprintf (buf + len, size - len,
                                      "%s:   %-20s %-8s %4llu events %9llu records\n", prog,
                                      anomaly_name (k), anomaly_class (k),
                                      (unsigned long long) self->kind_events[k],
                                      (unsigned long long) self->kind_records[k]);
}

void
sim_pace (const sim_t *self, double wall0)
{
    double wait = wall0 + sim_elapsed (self) - clock_mono ();
    if (wait > 0) {
        struct timespec ts = {(time_t) wait, (long) ((wait - floor (wait)) * 1e9)};
        nanosleep (&ts, NULL);
    }
}

//  Run o to the end, hashing every record's bytes; counts label-1 records.
static uint64_t
s_run_hash (const sim_opts_t *o, uint64_t *n, uint64_t *anomalous)
{
    char err[ERRLEN];
    sim_t *sim = sim_new (o, err);
    assert (sim);
    record_t rec;
    record_init (&rec);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    uint64_t h = HASH64_INIT;
    *n = *anomalous = 0;
    while (sim_next (sim, &rec) == 1) {
        sb.size = 0;
        record_encode (&rec, &sb);
        h = hash64_update (h, sb.data, sb.size);
        (*n)++;
        *anomalous += (uint64_t) rec.label;
    }
    msgpack_sbuffer_destroy (&sb);
    record_destroy (&rec);
    sim_destroy (&sim);
    return h;
}

void
sim_test (bool verbose)
{
    char err[ERRLEN];
    sim_opts_t o;
    sim_opts_default (&o);
    o.patients = 3;
    o.duration = 2 * 3600;

    //  determinism and record count
    uint64_t n1, n2, a1, a2;
    uint64_t h1 = s_run_hash (&o, &n1, &a1);
    uint64_t h2 = s_run_hash (&o, &n2, &a2);
    assert (h1 == h2 && n1 == 3 * 7200 && n2 == n1 && a1 == a2);
    o.seed = 2;
    assert (s_run_hash (&o, &n2, &a2) != h1);
    o.seed = 1;
    o.anomalies = false;
    s_run_hash (&o, &n2, &a2);
    assert (n2 == n1 && a2 == 0);
    o.anomalies = true;
    o.tick = 0.25;
    o.duration = 100;
    s_run_hash (&o, &n2, &a2);
    assert (n2 == 3 * 400);

    //  option helpers
    sim_opts_default (&o);
    assert (sim_opts_rate (&o, "flooding=2.5", err) == 0 && o.rate[AK_FLOODING] == 2.5);
    assert (sim_opts_rate (&o, "3", err) == 0 && o.total_rate == 3);
    assert (sim_opts_rate (&o, "flod=1", err) == -1 && strstr (err, "unknown kind 'flod'"));
    assert (sim_opts_rate (&o, "spike=-1", err) == -1);
    assert (sim_opts_severity (&o, "0.5", err) == 0 && o.severity[AK_FEVER] == 0.5);
    assert (sim_opts_severity (&o, "fever=2", err) == 0 && o.severity[AK_FEVER] == 2);
    assert (sim_opts_severity (&o, "fever=0", err) == -1);
    assert (sim_opts_kinds (&o, "replay,clinical", err) == 0);
    assert (o.kinds == ((1u << AK_REPLAY) | (0x1fu << AK_TACHYCARDIA)));
    assert (sim_opts_kinds (&o, "replay,,x", err) == -1);
    double ep;
    assert (sim_parse_time ("2026-01-01T00:00:00Z", &ep) == 0 && ep == SIM_START_DEFAULT);
    assert (sim_parse_time ("2026-01-01T06:30", &ep) == 0 && ep == SIM_START_DEFAULT + 23400);
    assert (sim_parse_time ("1767225600", &ep) == 0 && ep == SIM_START_DEFAULT);
    assert (sim_parse_time ("2026-13-01T00:00Z", &ep) == -1 && sim_parse_time ("yesterday", &ep) == -1);
    sim_opts_default (&o);
    o.patients = 0;
    assert (!sim_new (&o, err) && strstr (err, "patients"));

    //  the default mix: anomalous share of records in the 5-15 % band and
    //  every kind present over a long run
    sim_opts_default (&o);
    o.patients = 20;
    o.duration = 24 * 3600;
    o.tick = 5;
    sim_t *sim = sim_new (&o, err);
    record_t rec;
    record_init (&rec);
    while (sim_next (sim, &rec) == 1)
        ;
    double share = (double) sim_anomalous (sim) / (double) sim_records (sim);
    if (verbose)
        printf ("sim: default anomalous share %.1f %% of %llu records\n", 100 * share,
                (unsigned long long) sim_records (sim));
    assert (share > 0.05 && share < 0.15);
    for (int k = 0; k < AK_N; k++)
        assert (sim_kind_events (sim, k) > 0 && sim_kind_records (sim, k) > 0);
    assert (sim_records (sim) == sim_total (sim));
    sim_destroy (&sim);

    //  a scenario: each event labels exactly its ticks, and the clean stream
    //  outside events is the same as without anomalies
    anomaly_event_t *evs;
    size_t nev;
    const char *text = "10m 5m * replay\n"
                       "20m 3m 1 flooding\n"
                       "30m 10m 2 fever 1.5\n"
                       "45m 2m 1 clock_skew\n";
    assert (anomaly_scenario_parse (text, 2, 3600, &evs, &nev, err) == 0);
    sim_opts_default (&o);
    o.patients = 2;
    o.scenario = true;
    o.events = evs;
    o.nevents = nev;
    sim = sim_new (&o, err);
    sim_opts_default (&o);
    o.patients = 2;
    o.anomalies = false;
    sim_t *clean = sim_new (&o, err);
    record_t crec;
    record_init (&crec);
    uint64_t i = 0;
    double hr_fever = 0, hr_before = 0;
    while (sim_next (sim, &rec) == 1) {
        assert (sim_next (clean, &crec) == 1);
        size_t p = i % 2;
        double rel = (double) (i / 2);
        int want = -1;
        for (size_t e = 0; e < nev; e++)
            if (evs[e].patient == p && rel >= evs[e].start && rel < evs[e].end)
                want = evs[e].kind;
        assert (rec.label == (want >= 0));
        if (want >= 0)
            assert ((rec.has & REC_KIND) && !strcmp (rec.kind, anomaly_name (want)));
        else {
            assert (!(rec.has & REC_KIND));
            assert (rec.t == crec.t && rec.seq == crec.seq);
            assert (!memcmp (rec.v_val, crec.v_val, F_N * sizeof (double)));
        }
        if (p == 1 && rel >= 36 * 60 && rel < 40 * 60)
            hr_fever += rec.v_val[F_HR] - crec.v_val[F_HR];
        if (p == 1 && rel >= 26 * 60 && rel < 30 * 60)
            hr_before += rec.v_val[F_HR] - crec.v_val[F_HR];
        if (want == AK_CLOCK_SKEW)
            assert (fabs (rec.t - crec.t) >= 20);
        if (want == AK_FLOODING)
            assert (rec.v_val[F_PKT] >= 8 * crec.v_val[F_PKT]);
        i++;
    }
    //  fever of 1.5 * 2 °C: heart rate up about 30 bpm by coupling
    if (verbose)
        printf ("sim: fever hr shift %.1f bpm\n", hr_fever / 240);
    assert (hr_before == 0 && hr_fever / 240 > 20);
    assert (sim_kind_events (sim, AK_REPLAY) == 2 && sim_kind_records (sim, AK_REPLAY) == 600);
    char sum[2048];
    sim_summary (sim, "x", sum, sizeof sum);
    assert (!strncmp (sum, "x: 7200 records, 1500 anomalous (20.8 %)\nx:   replay ", 50));
    assert (strstr (sum, "flooding             security    1 events       180 records\n"));
    double w0 = clock_mono ();
    sim_pace (sim, w0 - 3600 + 0.05);       //  the run is at 3599 s: about 0.05 s to wait
    assert (clock_mono () - w0 > 0.03 && clock_mono () - w0 < 1);
    assert (sim_next (clean, &crec) == 0);
    record_destroy (&crec);
    record_destroy (&rec);
    sim_destroy (&clean);
    sim_destroy (&sim);
    free (evs);
}
