/*  physio: see physio.h.  Constants are explained in docs/sim.md; the
    physiology behind them: resting ranges from the NEWS2 chart and common
    textbook norms, circadian amplitudes from ambulatory monitoring studies
    (nocturnal BP dip ~10 %, temperature +-0.3 °C with its peak in the late
    afternoon), the Liebermeister rule (~10 bpm per °C of fever).  */
#include "physio.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

//  OU processes: index, stationary sd, time constant (s).
enum {
    OU_HR_SLOW, OU_HR_FAST, OU_TONE, OU_SYS_SLOW, OU_SYS_FAST, OU_DIA, OU_SPO2,
    OU_TEMP, OU_RR_SLOW, OU_RR_FAST, OU_RSSI, OU_LAT, OU_JIT
};
static const double s_ou_sd[PHYSIO_NOU] = {
    4.0, 2.0, 1.0, 5.0, 2.0, 2.5, 0.7, 0.15, 1.5, 0.8, 3.0, 0.20, 0.30
};
static const double s_ou_tau[PHYSIO_NOU] = {
    1800, 20, 600, 2700, 30, 2700, 1200, 7200, 1200, 15, 300, 60, 30
};

static const char *const s_fields[F_N] = {
    "hr", "sys", "dia", "spo2", "temp", "rr",
    "pkt_rate", "byte_rate", "ipt", "jitter", "latency", "loss", "battery", "rssi"
};

typedef struct {
    const char *name;
    double weight;              //  share of the ward population
    double lo[F_NVITAL], hi[F_NVITAL];  //  baseline ranges; [F_DIA] is the pulse pressure
    double act_gain;            //  how hard this patient exercises
    double spo2_var;            //  SpO2 variability factor
} profile_t;

static const profile_t s_profiles[PROFILE_N] = {
    {"adult",   0.40, {58, 105, 35, 96, 36.4, 12}, {82, 130, 50, 99, 37.0, 18}, 1.0, 1.0},
    {"elderly", 0.25, {60, 125, 45, 94, 36.2, 14}, {85, 150, 65, 98, 36.9, 20}, 0.7, 1.0},
    {"cardiac", 0.15, {65, 110, 35, 94, 36.4, 14}, {95, 145, 55, 98, 37.0, 20}, 0.6, 1.0},
    {"copd",    0.10, {75, 115, 40, 89, 36.4, 18}, {98, 140, 55, 94, 37.0, 24}, 0.5, 1.5},
    {"postop",  0.10, {70, 105, 35, 94, 36.8, 14}, {95, 135, 50, 98, 37.5, 20}, 0.4, 1.0},
};

const char *
physio_field (int f)
{
    assert (f >= 0 && f < F_N);
    return s_fields[f];
}

const char *
physio_profile_name (int profile)
{
    assert (profile >= 0 && profile < PROFILE_N);
    return s_profiles[profile].name;
}

double
physio_gauss (rng_t *r)
{
    uint64_t x = rng_u64 (r);
    double s = (double) (x & 0xffff) + (double) ((x >> 16) & 0xffff)
             + (double) ((x >> 32) & 0xffff) + (double) (x >> 48) + 2.0;
    return (s * (1.0 / 65536) - 2.0) * 1.7320508075688772;
}

static double
s_unif (rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform (r);
}

void
physio_init (physio_t *p, uint64_t seed, uint64_t stream, int profile, double dt)
{
    assert (dt > 0);
    memset (p, 0, sizeof *p);
    rng_init (&p->rng, seed, stream);
    rng_t *r = &p->rng;
    if (profile < 0 || profile >= PROFILE_N) {
        double u = rng_uniform (r), acc = 0;
        profile = PROFILE_N - 1;
        for (int i = 0; i < PROFILE_N; i++) {
            acc += s_profiles[i].weight;
            if (u < acc) {
                profile = i;
                break;
            }
        }
    }
    p->profile = profile;
    p->dt = dt;
    const profile_t *pr = &s_profiles[profile];
    for (int f = 0; f < F_NVITAL; f++)
        p->base[f] = s_unif (r, pr->lo[f], pr->hi[f]);
    p->base[F_DIA] = p->base[F_SYS] - p->base[F_DIA];      //  pulse pressure -> diastolic
    p->circ_amp = s_unif (r, 0.6, 1.2);
    //  acrophase 16-19 h: the angle of the peak on the 24 h circle
    double peak = s_unif (r, 16, 19) * (2 * M_PI / 24);
    p->circ_c = cos (peak);
    p->circ_s = sin (peak);
    for (int i = 0; i < PHYSIO_NOU; i++) {
        double sd = s_ou_sd[i] * (i == OU_SPO2 ? pr->spo2_var : 1.0);
        double a = exp (-dt / s_ou_tau[i]);
        p->oua[i] = a;
        p->oub[i] = sd * sqrt (1 - a * a);
        p->ou[i] = sd * physio_gauss (r);                   //  start stationary
    }
    p->act_a = exp (-dt / 90.0);
    p->pkt_lambda = s_unif (r, 4, 12);
    p->pkt_size = s_unif (r, 90, 220);
    p->lat_base = s_unif (r, 8, 40);
    p->jit_base = s_unif (r, 0.5, 4);
    p->rssi_base = s_unif (r, -78, -48);
    if (rng_uniform (r) < 0.3) {
        p->batt = 100;                  //  mains-powered bedside monitor
        p->batt_drain = 0;
    }
    else {
        p->batt = s_unif (r, 40, 100);  //  wearable or transport monitor
        p->batt_drain = s_unif (r, 0.8, 2.5);
    }
    p->seq0 = rng_below (r, 60000);
}

void
physio_step (physio_t *p, double cos_h, double sin_h, const physio_mod_t *mod, double *out)
{
    rng_t *r = &p->rng;
    double dt = p->dt;
    for (int i = 0; i < PHYSIO_NOU; i++)
        p->ou[i] = p->oua[i] * p->ou[i] + p->oub[i] * physio_gauss (r);
    //  circadian phase: 1 at the personal acrophase, -1 twelve hours later
    double c = cos_h * p->circ_c + sin_h * p->circ_s;
    double ca = c * p->circ_amp;
    //  activity bouts: more likely by day, none running into each other
    if (p->act_left > 0) {
        p->act_left -= dt;
        if (p->act_left <= 0)
            p->act_target = 0;
    }
    double rate = 0.05 + 0.6 * fmin (1, fmax (0, (c + 0.3) / 1.3));    //  bouts per hour
    double u = rng_uniform (r);
    if (p->act_left <= 0 && u < rate * dt / 3600) {
        p->act_left = 60 + rng_exp (r, 420);
        p->act_target = (0.3 + 0.7 * rng_uniform (r)) * s_profiles[p->profile].act_gain;
    }
    p->act = p->act_target + (p->act - p->act_target) * p->act_a;
    double act = p->act, tone = p->ou[OU_TONE];
    static const physio_mod_t none = {{0}, 1.0};
    if (!mod)
        mod = &none;
    //  fever: deviation of core temperature from the personal set point
    double fever = p->ou[OU_TEMP] + mod->add[F_TEMP];
    double *b = p->base;
    double hr = b[F_HR] + 5 * ca + p->ou[OU_HR_SLOW] + p->ou[OU_HR_FAST] + 3 * tone
              + 30 * act + 10 * fever + mod->add[F_HR];
    out[F_HR] = hr * mod->hr_scale + 1.0 * physio_gauss (r);
    out[F_SYS] = b[F_SYS] + 7 * ca + p->ou[OU_SYS_SLOW] + p->ou[OU_SYS_FAST] + 4 * tone
               + 15 * act + mod->add[F_SYS] + 2.0 * physio_gauss (r);
    out[F_DIA] = b[F_DIA] + 5 * ca + 0.5 * p->ou[OU_SYS_SLOW] + p->ou[OU_DIA] + 2.5 * tone
               + 4 * act + mod->add[F_DIA] + 1.5 * physio_gauss (r);
    out[F_SPO2] = b[F_SPO2] + 0.4 * ca + p->ou[OU_SPO2] - 1.0 * act + mod->add[F_SPO2]
                + 0.5 * physio_gauss (r);
    out[F_TEMP] = b[F_TEMP] + 0.3 * ca + fever + 0.1 * act + 0.03 * physio_gauss (r);
    out[F_RR] = b[F_RR] + 1.0 * ca + p->ou[OU_RR_SLOW] + p->ou[OU_RR_FAST] + 8 * act
              + 2.5 * fever + mod->add[F_RR] + 0.5 * physio_gauss (r);
    //  link: loss rises steeply below about -82 dBm
    double rssi = p->rssi_base + p->ou[OU_RSSI];
    double lossp = 0.002 + 0.06 / (1 + exp ((rssi + 82) / 3));
    double loss = fmax (0, lossp * (1 + 0.5 * physio_gauss (r)));
    double sent = p->pkt_lambda * dt;
    double count = round (sent * (1 - loss) + 0.5 * sqrt (sent) * physio_gauss (r));
    out[F_PKT] = fmax (0, count) / dt;
    out[F_BYTE] = out[F_PKT] * p->pkt_size * (1 + 0.03 * physio_gauss (r));
    out[F_IPT] = 1000 / (p->pkt_lambda * (1 - loss)) * (1 + 0.03 * physio_gauss (r));
    double jit = p->jit_base * exp (p->ou[OU_JIT]);
    out[F_JITTER] = jit;
    out[F_LAT] = fmax (1, p->lat_base * exp (p->ou[OU_LAT]) + jit * physio_gauss (r));
    out[F_LOSS] = loss;
    if (p->charging) {
        p->batt += 30 * dt / 3600;
        if (p->batt >= 100)
            p->batt = 100, p->charging = false;
    }
    else if (p->batt_drain > 0) {
        p->batt -= p->batt_drain * (1 + 0.5 * act) * dt / 3600;
        if (p->batt < 15)
            p->charging = true;
    }
    out[F_BATT] = p->batt;
    out[F_RSSI] = rssi + 1.5 * physio_gauss (r);
    physio_report (out);
}

static inline double
s_clamp (double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

void
physio_report (double *o)
{
    //  NaN compares false and so passes through every clamp and round
    if (o[F_HR] == o[F_HR])
        o[F_HR] = round (s_clamp (o[F_HR], 25, 250));
    if (o[F_SYS] == o[F_SYS])
        o[F_SYS] = round (s_clamp (o[F_SYS], 50, 260));
    if (o[F_DIA] == o[F_DIA]) {
        double top = o[F_SYS] == o[F_SYS] ? o[F_SYS] - 10 : 250;
        o[F_DIA] = round (s_clamp (o[F_DIA], 25, top));
    }
    if (o[F_SPO2] == o[F_SPO2])
        o[F_SPO2] = round (s_clamp (o[F_SPO2], 50, 100));
    if (o[F_TEMP] == o[F_TEMP])
        o[F_TEMP] = round (s_clamp (o[F_TEMP], 33, 43) * 10) / 10;
    if (o[F_RR] == o[F_RR])
        o[F_RR] = round (s_clamp (o[F_RR], 4, 60));
    o[F_PKT] = round (o[F_PKT] * 100) / 100;
    o[F_BYTE] = round (o[F_BYTE]);
    o[F_IPT] = round (o[F_IPT] * 100) / 100;
    o[F_JITTER] = round (o[F_JITTER] * 100) / 100;
    o[F_LAT] = round (o[F_LAT] * 10) / 10;
    o[F_LOSS] = round (s_clamp (o[F_LOSS], 0, 1) * 10000) / 10000;
    if (o[F_BATT] == o[F_BATT])
        o[F_BATT] = round (s_clamp (o[F_BATT], 0, 100));
    o[F_RSSI] = round (o[F_RSSI]);
}

//  Mean of field f over n ticks of patient p at a fixed time of day.
static double
s_mean (physio_t *p, int n, double hour, const physio_mod_t *mod, int f)
{
    double s = 0, out[F_N];
    double a = hour * 2 * M_PI / 24;
    for (int i = 0; i < n; i++) {
        physio_step (p, cos (a), sin (a), mod, out);
        s += out[f];
    }
    return s / n;
}

void
physio_test (bool verbose)
{
    //  determinism: same seed and stream -> same samples; other stream differs
    physio_t a, b;
    physio_init (&a, 7, 3, -1, 1.0);
    physio_init (&b, 7, 3, -1, 1.0);
    double oa[F_N], ob[F_N];
    for (int i = 0; i < 1000; i++) {
        physio_step (&a, 1, 0, NULL, oa);
        physio_step (&b, 1, 0, NULL, ob);
        assert (!memcmp (oa, ob, sizeof oa));
    }
    physio_init (&b, 7, 4, -1, 1.0);
    physio_step (&b, 1, 0, NULL, ob);
    assert (memcmp (oa, ob, sizeof oa));

    //  gauss: unit moments
    rng_t r;
    rng_init (&r, 1, 1);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) {
        double z = physio_gauss (&r);
        s1 += z, s2 += z * z;
    }
    assert (fabs (s1 / 1e5) < 0.02 && fabs (s2 / 1e5 - 1) < 0.02);

    //  plausibility and resolution over two simulated days of every profile
    for (int prof = 0; prof < PROFILE_N; prof++) {
        for (int pt = 0; pt < 4; pt++) {
            physio_t p;
            physio_init (&p, 11, (uint64_t) (prof * 10 + pt), prof, 1.0);
            double mn[F_N], mx[F_N];
            for (int f = 0; f < F_N; f++)
                mn[f] = INFINITY, mx[f] = -INFINITY;
            for (int k = 0; k < 2 * 86400; k += 1) {
                double ang = 2 * M_PI * fmod (k / 3600.0, 24) / 24, o[F_N];
                physio_step (&p, cos (ang), sin (ang), NULL, o);
                assert (o[F_HR] > 0 && o[F_HR] == round (o[F_HR]));
                assert (o[F_SPO2] <= 100 && o[F_SPO2] == round (o[F_SPO2]));
                assert (o[F_DIA] < o[F_SYS]);
                assert (o[F_RR] >= 4 && o[F_RR] == round (o[F_RR]));
                assert (fabs (o[F_TEMP] * 10 - round (o[F_TEMP] * 10)) < 1e-9);
                assert (o[F_LOSS] >= 0 && o[F_LOSS] <= 1);
                assert (o[F_BATT] >= 0 && o[F_BATT] <= 100);
                assert (o[F_PKT] >= 0 && o[F_IPT] > 0 && o[F_LAT] >= 1);
                for (int f = 0; f < F_N; f++)
                    mn[f] = fmin (mn[f], o[f]), mx[f] = fmax (mx[f], o[f]);
            }
            //  a normal patient stays in broad clinical ranges
            assert (mn[F_HR] > 35 && mx[F_HR] < 150);
            assert (mn[F_SPO2] >= 84 && mn[F_TEMP] > 35.3 && mx[F_TEMP] < 38.3);
            assert (mn[F_SYS] > 65 && mx[F_SYS] < 200);
            if (verbose && pt == 0)
                printf ("physio: %-8s hr %3.0f..%3.0f sys %3.0f..%3.0f spo2 %3.0f..%3.0f "
                        "temp %.1f..%.1f rr %2.0f..%2.0f\n", physio_profile_name (prof),
                        mn[F_HR], mx[F_HR], mn[F_SYS], mx[F_SYS], mn[F_SPO2], mx[F_SPO2],
                        mn[F_TEMP], mx[F_TEMP], mn[F_RR], mx[F_RR]);
        }
    }

    //  fever coupling: +1 °C core -> about +10 bpm and +2.5 breaths/min
    physio_init (&a, 5, 1, PROFILE_ADULT, 1.0);
    b = a;
    physio_mod_t fever = {{0, 0, 0, 0, 1.0, 0}, 1.0};
    double hr0 = s_mean (&a, 2000, 12, NULL, F_HR);
    double hr1 = s_mean (&b, 2000, 12, &fever, F_HR);
    b = a;
    double rr0 = s_mean (&a, 2000, 12, NULL, F_RR);
    double rr1 = s_mean (&b, 2000, 12, &fever, F_RR);
    if (verbose)
        printf ("physio: +1 C -> hr %+.2f bpm, rr %+.2f /min\n", hr1 - hr0, rr1 - rr0);
    assert (fabs (hr1 - hr0 - 10) < 0.3 && fabs (rr1 - rr0 - 2.5) < 0.3);

    //  activity raises heart rate, breathing and pressure
    physio_init (&a, 5, 2, PROFILE_ADULT, 1.0);
    b = a;
    b.act = b.act_target = 1.0;
    b.act_left = 1e9;
    double d_hr = s_mean (&b, 600, 12, NULL, F_HR) - s_mean (&a, 600, 12, NULL, F_HR);
    assert (d_hr > 20);
    b = a;
    b.act = b.act_target = 1.0;
    b.act_left = 1e9;
    double d_rr = s_mean (&b, 600, 12, NULL, F_RR) - s_mean (&a, 600, 12, NULL, F_RR);
    assert (d_rr > 5);

    //  circadian: afternoon above early morning for hr, sys and temp
    physio_init (&a, 9, 9, PROFILE_ADULT, 1.0);
    a.circ_amp = 1.0;
    b = a;
    assert (s_mean (&a, 3000, 17.5, NULL, F_SYS) > s_mean (&b, 3000, 5.5, NULL, F_SYS) + 8);
    physio_init (&a, 9, 9, PROFILE_ADULT, 1.0);
    a.circ_amp = 1.0;
    b = a;
    assert (s_mean (&a, 3000, 17.5, NULL, F_TEMP) > s_mean (&b, 3000, 5.5, NULL, F_TEMP) + 0.4);

    //  co-variation of hr and sys through the shared tone (over many patients)
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    int n = 0;
    physio_init (&a, 3, 3, PROFILE_ADULT, 1.0);
    for (int k = 0; k < 50000; k++) {
        double o[F_N];
        physio_step (&a, 1, 0, NULL, o);
        sx += o[F_HR], sy += o[F_SYS], sxy += o[F_HR] * o[F_SYS];
        sxx += o[F_HR] * o[F_HR], syy += o[F_SYS] * o[F_SYS], n++;
    }
    double cov = sxy / n - sx / n * sy / n;
    double corr = cov / sqrt ((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
    if (verbose)
        printf ("physio: corr(hr, sys) %.2f\n", corr);
    assert (corr > 0.15);

    //  report: clamps and NaN pass-through
    double o[F_N] = {300, 120, 130, 104, 36.84, 2, 10, 1000, 100, 1, 20, 0.5, NAN, -60};
    physio_report (o);
    assert (o[F_HR] == 250 && o[F_DIA] == 110 && o[F_SPO2] == 100 && o[F_RR] == 4);
    assert (fabs (o[F_TEMP] - 36.8) < 1e-9 && isnan (o[F_BATT]));
    assert (!strcmp (physio_field (F_RSSI), "rssi") && !strcmp (physio_profile_name (3), "copd"));
}
