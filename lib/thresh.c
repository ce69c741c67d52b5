/*  thresh: see thresh.h.

    Invariants: a thresh_fit_t holds min(records, cap) scores; `ts`/`idx`
    are valid only while nothing was dropped (`overflow` false).  A thresh_t
    is fully described by its file body, so save → load → apply gives the
    same decisions; for pot, `peaks` holds the excesses over `init` that the
    GPD was fitted to (saved, so the fit can be checked or redone).  */
#include "thresh.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "mp.h"
#include "rng.h"

#define MODEL_MAX 40

struct _thresh_t {
    thresh_method_t method;
    thresh_opts_t opts;         //  the parameters it was fitted with
    double value;               //  current threshold
    char model[MODEL_MAX];      //  model hash, "" if none
    uint64_t nfit;              //  validation records
    bool approx;                //  fitted on a reservoir sample
    double flag_rate;           //  fraction of validation scores above value
    double alarm_rate;          //  incidents per patient-hour on validation (NaN unknown)
    double patient_hours;       //  validation patient-hours (NaN unknown)
    double f1;                  //  bestf1: validation F1 (NaN otherwise)
    //  pot
    double init, sigma, gamma;  //  initial threshold and GPD
    double n, nt;               //  observations and peaks (exact counts)
    double *peaks;              //  (npeaks) excesses over init, ascending
    size_t npeaks, peaks_cap;
    uint64_t checksum;          //  of the saved/loaded file
};

struct _thresh_fit_t {
    thresh_opts_t o;
    rng_t rng;
    double *score, *ts;         //  (alloc) scores, times
    uint32_t *idx;              //  (alloc) patient index
    uint8_t *label;             //  (alloc) labels (bestf1)
    size_t n, alloc;
    uint64_t seen;
    bool overflow;
    double mean, m2;            //  Welford over every score
    char model[MODEL_MAX];
    char (*ids)[64];            //  (nids) patient names, linear table
    size_t nids, ids_cap;
    size_t last_id;             //  cache of the last index found
};

void
thresh_opts_default (thresh_opts_t *o)
{
    *o = (thresh_opts_t) {
        .method = THRESH_POT, .q = 0.99, .k = 3, .risk = 1e-4, .level = 0.98,
        .budget = 0.1, .quiet = THRESH_QUIET_DEFAULT, .cap = THRESH_CAP_DEFAULT, .seed = 1,
    };
}

static const char *s_names[] = {"quantile", "meanstd", "pot", "budget", "bestf1"};

const char *
thresh_method_name (thresh_method_t m)
{
    return (unsigned) m < 5 ? s_names[m] : "?";
}

int
thresh_method_parse (const char *name, thresh_method_t *m)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp (name, s_names[i])) {
            *m = (thresh_method_t) i;
            return 0;
        }
    return -1;
}

//  --------------------------------------------------------------------------
//  Fitting

thresh_fit_t *
thresh_fit_new (const thresh_opts_t *opts)
{
    thresh_fit_t *self = xcalloc (1, sizeof *self);
    self->o = *opts;
    if (!self->o.cap)
        self->o.cap = THRESH_CAP_DEFAULT;
    rng_init (&self->rng, self->o.seed, 0x7468);
    return self;
}

void
thresh_fit_destroy (thresh_fit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    thresh_fit_t *self = *self_p;
    free (self->score);
    free (self->ts);
    free (self->idx);
    free (self->label);
    free (self->ids);
    free (self);
    *self_p = NULL;
}

static uint32_t
s_id_index (thresh_fit_t *self, const char *id)
{
    const char *k = id ? id : "";
    if (self->last_id < self->nids && !strcmp (self->ids[self->last_id], k))
        return (uint32_t) self->last_id;
    //  linear search: validation streams have tens or hundreds of patients
    for (size_t i = 0; i < self->nids; i++)
        if (!strcmp (self->ids[i], k))
            return (uint32_t) (self->last_id = i);
    xgrow ((void **) &self->ids, &self->ids_cap, self->nids + 1, sizeof *self->ids);
    snprintf (self->ids[self->nids], 64, "%s", k);
    return (uint32_t) (self->last_id = self->nids++);
}

int
thresh_fit_add (thresh_fit_t *self, const char *id, double t, double score, int label,
                const char *model, char *err)
{
    if (!isfinite (score))
        return errf (err, "key 'score': not a finite number");
    if (self->o.method == THRESH_BESTF1 && label != 0 && label != 1)
        return errf (err, "key 'label': missing (bestf1 needs labelled frames)");
    if (self->o.method == THRESH_BUDGET && !isfinite (t))
        return errf (err, "key 't': missing (the alarm budget needs times)");
    const char *m = model ? model : "";
    if (self->seen == 0)
        snprintf (self->model, sizeof self->model, "%s", m);
    else
    if (strcmp (self->model, m))
        return errf (err, "key 'model': '%s' differs from '%s' of the first frame "
                     "(scores of two models)", m, self->model);
    if (self->o.method == THRESH_BUDGET && self->n == self->o.cap)
        return errf (err, "more than %zu records: raise --cap or shorten the validation stream",
                     self->o.cap);
    //  Welford
    self->seen++;
    double d = score - self->mean;
    self->mean += d / (double) self->seen;
    self->m2 += d * (score - self->mean);
    if (self->o.method == THRESH_MEANSTD)
        return 0;
    size_t slot;
    if (self->n < self->o.cap) {
        if (self->n == self->alloc) {
            size_t want = self->alloc ? self->alloc * 2 : 4096;
            if (want > self->o.cap)
                want = self->o.cap;
            self->score = xrealloc (self->score, want * sizeof (double));
            self->ts = xrealloc (self->ts, want * sizeof (double));
            self->idx = xrealloc (self->idx, want * sizeof (uint32_t));
            self->label = xrealloc (self->label, want);
            self->alloc = want;
        }
        slot = self->n++;
    }
    else {
        self->overflow = true;
        uint64_t j = rng_below (&self->rng, self->seen);
        if (j >= self->o.cap)
            return 0;
        slot = (size_t) j;
    }
    self->score[slot] = score;
    self->ts[slot] = t;
    self->idx[slot] = s_id_index (self, id);
    self->label[slot] = (uint8_t) (label == 1);
    return 0;
}

//  The record's `model` extra as a string into buf; 0, or -1 if absent.
static int
s_rec_model (const record_t *rec, char *buf, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = -1;
    if (record_extra_unpack (rec, "model", &u) == 0)
        rc = mp_strcpy (&u.data, buf, size);
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
thresh_fit_record (thresh_fit_t *self, const record_t *rec, char *err)
{
    if (!(rec->has & REC_SCORE))
        return errf (err, "key 'score': missing");
    char model[MODEL_MAX];
    bool has_model = s_rec_model (rec, model, sizeof model) == 0;
    return thresh_fit_add (self, rec->has & REC_ID ? rec->id : NULL,
                           rec->has & REC_T ? rec->t : NAN, rec->score,
                           rec->has & REC_LABEL ? rec->label : -1,
                           has_model ? model : NULL, err);
}

static int
s_dbl_asc (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  --------------------------------------------------------------------------
//  Generalised Pareto (Grimshaw 1993, as used by SPOT)

static void
s_uv (const double *y, size_t n, double x, double *u, double *v)
{
    double su = 0, sv = 0;
    for (size_t i = 0; i < n; i++) {
        double a = 1 + x * y[i];
        su += 1 / a;
        sv += log (a);
    }
    *u = su / (double) n;
    *v = 1 + sv / (double) n;
}

static double
s_w (const double *y, size_t n, double x)
{
    double u, v;
    s_uv (y, n, x, &u, &v);
    return u * v - 1;
}

static double
s_gpd_loglik (const double *y, size_t n, double sigma, double gamma)
{
    if (!(sigma > 0))
        return -INFINITY;
    double l = -(double) n * log (sigma);
    if (fabs (gamma) < 1e-12) {
        for (size_t i = 0; i < n; i++)
            l -= y[i] / sigma;
        return l;
    }
    for (size_t i = 0; i < n; i++) {
        double a = 1 + gamma * y[i] / sigma;
        if (a <= 0)
            return -INFINITY;
        l -= (1 + 1 / gamma) * log (a);
    }
    return l;
}

static int
s_dbl_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Roots of w inside (lo, hi), lo < hi of one sign: scan a grid that is
//  dense near both ends (log-spaced in the distance to each end) for sign
//  changes, bisect each.  Roots near -1/ymax matter for gamma < 0.
static size_t
s_roots (const double *y, size_t n, double lo, double hi, double *roots, size_t max)
{
    enum { G = 200 };
    double pts[2 * G];
    double w = hi - lo;
    if (!(w > 0))
        return 0;
    for (int g = 0; g < G; g++) {
        double f = exp (log (1e-9) * (1 - (double) g / G));    //  1e-9 .. ~1
        pts[g] = lo + w * f * 0.5;
        pts[G + g] = hi - w * f * 0.5;
    }
    qsort (pts, 2 * G, sizeof (double), s_dbl_cmp);
    size_t nr = 0;
    double xp = pts[0], wp = s_w (y, n, xp);
    for (int g = 1; g < 2 * G && nr < max; g++) {
        double x = pts[g];
        double wx = s_w (y, n, x);
        if (isfinite (wx) && isfinite (wp) && ((wp < 0) != (wx < 0))) {
            double a = xp, b = x, wa = wp;
            for (int it = 0; it < 100; it++) {
                double m = 0.5 * (a + b), wm = s_w (y, n, m);
                if ((wa < 0) == (wm < 0))
                    a = m, wa = wm;
                else
                    b = m;
            }
            roots[nr++] = 0.5 * (a + b);
        }
        xp = x, wp = wx;
    }
    return nr;
}

int
gpd_fit_grimshaw (const double *y, size_t n, double *sigma, double *gamma)
{
    if (n < 3)
        return -1;
    double ymin = y[0], ymax = y[0], ymean = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(y[i] > 0))
            return -1;
        ymin = fmin (ymin, y[i]);
        ymax = fmax (ymax, y[i]);
        ymean += y[i];
    }
    ymean /= (double) n;
    if (ymax - ymin < 1e-12 * ymax)
        return -1;
    //  Grimshaw (1993): the roots of u(x) v(x) = 1 other than 0 lie in
    //  (-1/ymax, 0) and (0, 2 (ymean - ymin) / ymin^2).
    const double eps = 1e-7;
    double roots[32];
    size_t nr = 0;
    nr += s_roots (y, n, -1 / ymax, -eps / ymax, roots, 16);
    nr += s_roots (y, n, eps / ymax, 2 * (ymean - ymin) / (ymin * ymin), roots + nr, 16);
    //  candidate gamma = 0 (exponential), then each root
    double best_s = ymean, best_g = 0;
    double best_l = s_gpd_loglik (y, n, ymean, 0);
    for (size_t i = 0; i < nr; i++) {
        double u, v;
        s_uv (y, n, roots[i], &u, &v);
        double g = v - 1, s = g / roots[i];
        double l = s_gpd_loglik (y, n, s, g);
        if (l > best_l)
            best_l = l, best_s = s, best_g = g;
    }
    *sigma = best_s;
    *gamma = best_g;
    return 0;
}

void
gpd_fit_moments (const double *y, size_t n, double *sigma, double *gamma)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++)
        m += y[i];
    m /= (double) n;
    for (size_t i = 0; i < n; i++)
        v += (y[i] - m) * (y[i] - m);
    v /= (double) (n > 1 ? n - 1 : 1);
    *gamma = 0.5 * (1 - m * m / v);
    *sigma = 0.5 * m * (m * m / v + 1);
}

double
pot_quantile (double t, double sigma, double gamma, double risk, double n, double nt)
{
    double r = risk * n / nt;
    if (fabs (gamma) < 1e-12)
        return t - sigma * log (r);
    return t + sigma / gamma * (pow (r, -gamma) - 1);
}

//  --------------------------------------------------------------------------
//  Alarm budget

double
thresh_alarm_rate (const uint32_t *idx, const double *t, const double *score, size_t n,
                   size_t nids, double thr, double quiet, double *patient_hours)
{
    double *last = xmalloc ((nids ? nids : 1) * sizeof *last);
    double *first = xmalloc ((nids ? nids : 1) * sizeof *first);
    double *end = xmalloc ((nids ? nids : 1) * sizeof *end);
    uint64_t *cnt = xcalloc (nids ? nids : 1, sizeof *cnt);
    for (size_t i = 0; i < nids; i++)
        last[i] = -INFINITY, first[i] = NAN, end[i] = NAN;
    double incidents = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = idx[i];
        if (!cnt[k]++)
            first[k] = t[i];
        end[k] = t[i];
        if (score[i] > thr) {
            if (t[i] - last[k] > quiet)
                incidents++;
            last[k] = t[i];
        }
    }
    double secs = 0;
    for (size_t k = 0; k < nids; k++)
        if (cnt[k] > 1)
            secs += (end[k] - first[k]) * (double) cnt[k] / (double) (cnt[k] - 1);
    free (last);
    free (first);
    free (end);
    free (cnt);
    double hours = secs / 3600;
    if (patient_hours)
        *patient_hours = hours;
    return hours > 0 ? incidents / hours : NAN;
}

//  --------------------------------------------------------------------------

static thresh_t *
s_new (const thresh_opts_t *o)
{
    thresh_t *self = xcalloc (1, sizeof *self);
    self->method = o->method;
    self->opts = *o;
    self->alarm_rate = self->patient_hours = self->f1 = NAN;
    self->init = self->sigma = self->gamma = NAN;
    return self;
}

static void
s_peak_push (thresh_t *self, double y)
{
    xgrow ((void **) &self->peaks, &self->peaks_cap, self->npeaks + 1, sizeof (double));
    self->peaks[self->npeaks++] = y;
}

thresh_t *
thresh_fit_finish (thresh_fit_t *fit, char *err)
{
    const thresh_opts_t *o = &fit->o;
    if (fit->seen == 0) {
        errf (err, "no scored records to fit on");
        return NULL;
    }
    thresh_t *self = s_new (o);
    snprintf (self->model, sizeof self->model, "%s", fit->model);
    self->nfit = fit->seen;
    self->approx = fit->overflow;
    size_t n = fit->n;
    double *sorted = NULL;
    if (o->method != THRESH_MEANSTD) {
        sorted = xmalloc ((n ? n : 1) * sizeof *sorted);
        memcpy (sorted, fit->score, n * sizeof *sorted);
        qsort (sorted, n, sizeof *sorted, s_dbl_asc);
    }
    switch (o->method) {
    case THRESH_MEANSTD: {
        double sd = fit->seen > 1 ? sqrt (fit->m2 / (double) (fit->seen - 1)) : 0;
        self->value = fit->mean + o->k * sd;
        break;
    }
    case THRESH_QUANTILE: {
        size_t r = (size_t) ceil (o->q * (double) n);
        self->value = sorted[r ? r - 1 : 0];
        break;
    }
    case THRESH_POT: {
        size_t r = (size_t) ceil (o->level * (double) n);
        double t = sorted[r ? r - 1 : 0];
        size_t first = r;
        while (first < n && sorted[first] <= t)
            first++;
        size_t nt = n - first;
        if (nt < 10) {
            errf (err, "pot: only %zu scores above the initial threshold %g "
                  "(need 10; lower --level or give more records)", nt, t);
            goto fail;
        }
        for (size_t i = first; i < n; i++)
            s_peak_push (self, sorted[i] - t);
        if (gpd_fit_grimshaw (self->peaks, self->npeaks, &self->sigma, &self->gamma)) {
            errf (err, "pot: cannot fit a generalised Pareto distribution to the peaks");
            goto fail;
        }
        self->init = t;
        self->n = (double) n;
        self->nt = (double) nt;
        self->value = pot_quantile (t, self->sigma, self->gamma, o->risk, self->n, self->nt);
        if (!isfinite (self->value) || self->value < t)
            self->value = t;
        break;
    }
    case THRESH_BUDGET: {
        //  sorted ascending: a higher index is a higher threshold, fewer
        //  incidents.  Find the lowest index whose rate is within budget.
        size_t lo = 0, hi = n - 1;      //  rate(sorted[n-1]) = 0: nothing is above the max
        double ph = 0;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            double rate = thresh_alarm_rate (fit->idx, fit->ts, fit->score, n, fit->nids,
                                             sorted[mid], o->quiet, &ph);
            if (rate <= o->budget)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (!(ph > 0) && n > 1) {
            thresh_alarm_rate (fit->idx, fit->ts, fit->score, n, fit->nids, sorted[lo],
                               o->quiet, &ph);
        }
        if (!(ph > 0)) {
            errf (err, "budget: the validation stream spans no time (need several records per patient)");
            goto fail;
        }
        self->value = sorted[lo];
        break;
    }
    case THRESH_BESTF1: {
        metrics_t *m = metrics_new (n, o->seed);
        for (size_t i = 0; i < n; i++)
            metrics_add (m, NULL, NAN, fit->label[i], NULL, true, fit->score[i], false, false, NULL);
        metrics_finish (m, NULL);
        self->f1 = metrics_best_f1 (m, &self->value);
        metrics_destroy (&m);
        if (isnan (self->f1)) {
            errf (err, "bestf1: no record with label 1");
            goto fail;
        }
        break;
    }
    }
    //  validation figures at the chosen value
    {
        size_t above = 0;
        for (size_t i = 0; i < n; i++)
            above += fit->score[i] > self->value;
        self->flag_rate = n ? (double) above / (double) n : NAN;
        if (!fit->overflow && n > 1) {
            bool have_t = true;
            for (size_t i = 0; i < n && have_t; i++)
                have_t = isfinite (fit->ts[i]);
            if (have_t)
                self->alarm_rate = thresh_alarm_rate (fit->idx, fit->ts, fit->score, n, fit->nids,
                                                      self->value, o->quiet, &self->patient_hours);
        }
    }
    free (sorted);
    return self;
fail:
    free (sorted);
    thresh_destroy (&self);
    return NULL;
}

//  --------------------------------------------------------------------------
//  File

static void
s_kv_num (msgpack_packer *pk, const char *key, double v)
{
    mp_pack_str (pk, key);
    if (isfinite (v))
        msgpack_pack_double (pk, v);
    else
        msgpack_pack_nil (pk);
}

int
thresh_save (const thresh_t *self, const char *path, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 20);
    mp_pack_kv_str (&pk, "method", thresh_method_name (self->method));
    mp_pack_kv_double (&pk, "value", self->value);
    mp_pack_kv_str (&pk, "model", self->model);
    mp_pack_kv_u64 (&pk, "n", self->nfit);
    mp_pack_str (&pk, "approx");
    self->approx ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    s_kv_num (&pk, "q", self->opts.q);
    s_kv_num (&pk, "k", self->opts.k);
    s_kv_num (&pk, "risk", self->opts.risk);
    s_kv_num (&pk, "level", self->opts.level);
    s_kv_num (&pk, "budget", self->opts.budget);
    s_kv_num (&pk, "quiet", self->opts.quiet);
    s_kv_num (&pk, "flag_rate", self->flag_rate);
    s_kv_num (&pk, "alarm_rate", self->alarm_rate);
    s_kv_num (&pk, "patient_hours", self->patient_hours);
    s_kv_num (&pk, "f1", self->f1);
    s_kv_num (&pk, "init", self->init);
    s_kv_num (&pk, "sigma", self->sigma);
    s_kv_num (&pk, "gamma", self->gamma);
    mp_pack_str (&pk, "counts");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_double (&pk, self->n);
    msgpack_pack_double (&pk, self->nt);
    //  peaks oldest first
    mp_pack_str (&pk, "peaks");
    msgpack_pack_array (&pk, self->npeaks);
    for (size_t i = 0; i < self->npeaks; i++)
        msgpack_pack_double (&pk, self->peaks[i]);
    int rc = mpfile_write (path, THRESH_FORMAT, THRESH_VERSION, sb.data, sb.size, err);
    if (rc == 0)
        ((thresh_t *) self)->checksum = hash64 (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static double
s_num (const msgpack_object *b, const char *key)
{
    double v;
    return mp_get_double (b, key, &v) == 0 ? v : NAN;
}

thresh_t *
thresh_load (const char *path, char *err)
{
    mpfile_t *f = mpfile_read (path, THRESH_FORMAT, THRESH_VERSION, err);
    if (!f)
        return NULL;
    const msgpack_object *b = mpfile_body (f);
    thresh_opts_t o;
    thresh_opts_default (&o);
    char method[32];
    const msgpack_object *mo = mp_get (b, "method");
    if (!mo || mp_strcpy (mo, method, sizeof method) || thresh_method_parse (method, &o.method)) {
        errf (err, "%s: threshold file has no valid 'method'", path);
        mpfile_destroy (&f);
        return NULL;
    }
    o.q = s_num (b, "q");
    o.k = s_num (b, "k");
    o.risk = s_num (b, "risk");
    o.level = s_num (b, "level");
    o.budget = s_num (b, "budget");
    o.quiet = s_num (b, "quiet");
    thresh_t *self = s_new (&o);
    self->checksum = mpfile_checksum (f);
    const msgpack_object *mm = mp_get (b, "model");
    uint64_t nfit = 0;
    if (mp_get_double (b, "value", &self->value) || !isfinite (self->value)
        || !mm || mp_strcpy (mm, self->model, sizeof self->model)
        || mp_get_u64 (b, "n", &nfit)) {
        errf (err, "%s: threshold file lacks 'value', 'model' or 'n'", path);
        goto fail;
    }
    self->nfit = nfit;
    const msgpack_object *ap = mp_get (b, "approx");
    self->approx = ap && ap->type == MSGPACK_OBJECT_BOOLEAN && ap->via.boolean;
    self->flag_rate = s_num (b, "flag_rate");
    self->alarm_rate = s_num (b, "alarm_rate");
    self->patient_hours = s_num (b, "patient_hours");
    self->f1 = s_num (b, "f1");
    self->init = s_num (b, "init");
    self->sigma = s_num (b, "sigma");
    self->gamma = s_num (b, "gamma");
    const msgpack_object *c = mp_get (b, "counts");
    if (c && c->type == MSGPACK_OBJECT_ARRAY && c->via.array.size == 2) {
        mp_as_double (&c->via.array.ptr[0], &self->n);
        mp_as_double (&c->via.array.ptr[1], &self->nt);
    }
    const msgpack_object *p = mp_get (b, "peaks");
    if (p && p->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < p->via.array.size; i++) {
            double y;
            if (mp_as_double (&p->via.array.ptr[i], &y) || !(y > 0)) {
                errf (err, "%s: threshold file has a bad peak", path);
                goto fail;
            }
            s_peak_push (self, y);
        }
    }
    if (self->method == THRESH_POT
        && (!isfinite (self->init) || !(self->sigma > 0) || !isfinite (self->gamma)
            || !(self->nt > 0) || !(self->n >= self->nt) || !(o.risk > 0))) {
        errf (err, "%s: pot threshold file lacks its GPD parameters", path);
        goto fail;
    }
    mpfile_destroy (&f);
    return self;
fail:
    mpfile_destroy (&f);
    thresh_destroy (&self);
    return NULL;
}

void
thresh_destroy (thresh_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->peaks);
    free (*self_p);
    *self_p = NULL;
}

thresh_method_t
thresh_method (const thresh_t *self)
{
    return self->method;
}

double
thresh_value (const thresh_t *self)
{
    return self->value;
}

const char *
thresh_model (const thresh_t *self)
{
    return self->model;
}

uint64_t
thresh_checksum (const thresh_t *self)
{
    return self->checksum;
}

char *
thresh_describe (const thresh_t *self)
{
    char params[128] = "";
    const thresh_opts_t *o = &self->opts;
    switch (self->method) {
    case THRESH_QUANTILE: snprintf (params, sizeof params, "q=%g", o->q); break;
    case THRESH_MEANSTD: snprintf (params, sizeof params, "k=%g", o->k); break;
    case THRESH_POT:
        snprintf (params, sizeof params, "risk=%g level=%g init=%.6g gpd sigma=%.4g gamma=%.4g",
                  o->risk, o->level, self->init, self->sigma, self->gamma);
        break;
    case THRESH_BUDGET:
        snprintf (params, sizeof params, "%g incidents/patient-hour quiet=%gs", o->budget, o->quiet);
        break;
    case THRESH_BESTF1: snprintf (params, sizeof params, "validation F1=%.4f", self->f1); break;
    }
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&s, &len);
    fprintf (f, "method %s %s value %.6g model %s; on %llu validation records%s: "
             "%.4f%% above",
             thresh_method_name (self->method), params, self->value,
             *self->model ? self->model : "(none)", (unsigned long long) self->nfit,
             self->approx ? " (sampled)" : "", 100 * self->flag_rate);
    if (isfinite (self->alarm_rate))
        fprintf (f, ", %.3g incidents per patient-hour over %.1f patient-hours",
                 self->alarm_rate, self->patient_hours);
    fclose (f);
    return s;
}

//  --------------------------------------------------------------------------
//  Applying

void
thresh_apply (thresh_t *self, double score, bool *anomaly, double *thr_used)
{
    *thr_used = self->value;
    *anomaly = score > self->value;
}

int
thresh_apply_record (thresh_t *self, record_t *rec, char *err)
{
    if (!(rec->has & REC_SCORE))
        return errf (err, "key 'score': missing");
    if (!isfinite (rec->score))
        return errf (err, "key 'score': not a finite number");
    double used;
    thresh_apply (self, rec->score, &rec->anomaly, &used);
    rec->has |= REC_ANOMALY;
    record_extra_set_double (rec, "thr", used);
    char model[MODEL_MAX];
    if (s_rec_model (rec, model, sizeof model))
        model[0] = 0;
    if (strcmp (model, self->model)) {
        errf (err, "key 'model': '%s', but the threshold was fitted for model '%s'",
              model, self->model);
        return 1;
    }
    return 0;
}

//  --------------------------------------------------------------------------

void
thresh_test (bool verbose)
{
    char err[ERRLEN];
    rng_t r;
    rng_init (&r, 42, 0);
    //  GPD recovery from samples with known parameters
    size_t n = 20000;
    double *y = xmalloc (n * sizeof *y);
    double gammas[] = {0.25, 0.0, -0.2};
    for (int g = 0; g < 3; g++) {
        double sig = 2.0, gam = gammas[g];
        for (size_t i = 0; i < n; i++) {
            double u = 1 - rng_uniform (&r);
            y[i] = fabs (gam) < 1e-12 ? -sig * log (u) : sig / gam * (pow (u, -gam) - 1);
        }
        double s, gg, sm, gm;
        assert (gpd_fit_grimshaw (y, n, &s, &gg) == 0);
        gpd_fit_moments (y, n, &sm, &gm);
        if (verbose || fabs (gg - gam) >= 0.04)
            fprintf (stderr, "gpd true s=%g g=%g: grimshaw s=%.4f g=%.4f moments s=%.4f g=%.4f\n",
                    sig, gam, s, gg, sm, gm);
        assert (fabs (gg - gam) < 0.04 && fabs (s - sig) < 0.1);
        //  the ML fit has a log-likelihood at least that of the truth
        assert (s_gpd_loglik (y, n, s, gg) >= s_gpd_loglik (y, n, sig, gam) - 1e-6);
    }
    free (y);
    double dy[] = {1, 1, 1};
    double s, g;
    assert (gpd_fit_grimshaw (dy, 3, &s, &g) == -1);
    assert (fabs (pot_quantile (1, 2, 0, 0.01, 100, 10) - (1 - 2 * log (0.1))) < 1e-12);

    //  POT on exponential(1) scores: the 1e-3 exceedance quantile is ln 1000
    thresh_opts_t o;
    thresh_opts_default (&o);
    o.risk = 1e-3;
    thresh_fit_t *fit = thresh_fit_new (&o);
    for (int i = 0; i < 200000; i++)
        assert (thresh_fit_add (fit, "p", i, -log (1 - rng_uniform (&r)), -1, "abc", err) == 0);
    assert (thresh_fit_add (fit, "p", 1, NAN, -1, "abc", err) == -1 && strstr (err, "finite"));
    assert (thresh_fit_add (fit, "p", 1, 1, -1, "def", err) == -1 && strstr (err, "model"));
    thresh_t *th = thresh_fit_finish (fit, err);
    assert (th);
    if (verbose)
        fprintf (stderr, "pot exp(1) risk 1e-3: %.4f (true %.4f)\n", thresh_value (th), log (1000.0));
    assert (fabs (thresh_value (th) - log (1000.0)) < 0.35);
    assert (fabs (th->flag_rate - 1e-3) < 4e-4);
    assert (!strcmp (thresh_model (th), "abc"));
    //  save / load round trip, decisions identical
    char path[] = "/tmp/vigil-thresh-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    assert (thresh_save (th, path, err) == 0);
    thresh_t *th2 = thresh_load (path, err);
    assert (th2 && thresh_value (th2) == thresh_value (th) && th2->gamma == th->gamma);
    assert (th2->npeaks == th->npeaks && thresh_checksum (th2) == thresh_checksum (th));
    char *d = thresh_describe (th2);
    assert (strstr (d, "pot") && strstr (d, "abc"));
    free (d);
    double v0 = thresh_value (th);
    bool an;
    double used;
    thresh_apply (th, v0 + 1, &an, &used);
    assert (an && used == v0);
    thresh_destroy (&th2);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);
    //  a corrupt file is refused
    FILE *f = fopen (path, "r+b");
    fseek (f, 30, SEEK_SET);
    fputc ('X', f);
    fclose (f);
    assert (thresh_load (path, err) == NULL);
    unlink (path);

    //  quantile (type 1) and meanstd on 1..100
    o.method = THRESH_QUANTILE;
    o.q = 0.95;
    fit = thresh_fit_new (&o);
    for (int i = 100; i >= 1; i--)
        thresh_fit_add (fit, NULL, NAN, i, -1, NULL, err);
    th = thresh_fit_finish (fit, err);
    assert (th && thresh_value (th) == 95 && fabs (th->flag_rate - 0.05) < 1e-12);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);
    o.method = THRESH_MEANSTD;
    o.k = 2;
    fit = thresh_fit_new (&o);
    for (int i = 1; i <= 100; i++)
        thresh_fit_add (fit, NULL, NAN, i, -1, NULL, err);
    th = thresh_fit_finish (fit, err);
    assert (fabs (thresh_value (th) - (50.5 + 2 * sqrt (841.6666666666666))) < 1e-9);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);

    //  budget: 2 patients, 1 record/s for 1 h each; patient a has bursts
    //  scoring 10 at 5 moments 10 minutes apart, b one burst scoring 5
    o.method = THRESH_BUDGET;
    o.quiet = 120;
    o.budget = 1.0;
    fit = thresh_fit_new (&o);
    for (int i = 0; i < 3600; i++) {
        double sa = (i % 600 >= 100 && i % 600 < 110 && i < 3000) ? 10 : 1;
        double sb = (i >= 2000 && i < 2005) ? 5 : 1;
        thresh_fit_add (fit, "a", i, sa, -1, NULL, err);
        thresh_fit_add (fit, "b", i, sb, -1, NULL, err);
    }
    assert (thresh_fit_add (fit, "b", NAN, 1, -1, NULL, err) == -1 && strstr (err, "'t'"));
    th = thresh_fit_finish (fit, err);
    //  2 patient-hours: threshold 1 -> 6 incidents (3/h, too many);
    //  threshold 5 -> 5 incidents (2.5/h); threshold 10 -> none.
    assert (th && thresh_value (th) == 10);
    assert (th->alarm_rate == 0 && fabs (th->patient_hours - 2) < 1e-9);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);
    o.budget = 3.0;
    fit = thresh_fit_new (&o);
    for (int i = 0; i < 3600; i++) {
        double sa = (i % 600 >= 100 && i % 600 < 110 && i < 3000) ? 10 : 1;
        double sb = (i >= 2000 && i < 2005) ? 5 : 1;
        thresh_fit_add (fit, "a", i, sa, -1, NULL, err);
        thresh_fit_add (fit, "b", i, sb, -1, NULL, err);
    }
    th = thresh_fit_finish (fit, err);
    assert (th && thresh_value (th) == 1 && fabs (th->alarm_rate - 3) < 1e-9);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);

    //  bestf1 needs labels
    o.method = THRESH_BESTF1;
    fit = thresh_fit_new (&o);
    assert (thresh_fit_add (fit, NULL, NAN, 1, -1, NULL, err) == -1 && strstr (err, "label"));
    double sc[] = {0.1, 0.2, 0.3, 0.8, 0.35, 0.9};
    int lb[] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        thresh_fit_add (fit, NULL, NAN, sc[i], lb[i], NULL, err);
    th = thresh_fit_finish (fit, err);
    assert (th && fabs (thresh_value (th) - 0.325) < 1e-12 && th->f1 == 1.0);
    thresh_destroy (&th);
    thresh_fit_destroy (&fit);
    fit = thresh_fit_new (&o);
    assert (thresh_fit_finish (fit, err) == NULL && strstr (err, "no scored"));
    thresh_fit_destroy (&fit);
    thresh_method_t m;
    assert (thresh_method_parse ("pot", &m) == 0 && m == THRESH_POT);
    assert (thresh_method_parse ("nope", &m) == -1);
    //  records: fit and apply through record_t, model mismatch reported
    {
        thresh_opts_t oq;
        thresh_opts_default (&oq);
        oq.method = THRESH_QUANTILE;
        oq.q = 0.5;
        thresh_fit_t *fr = thresh_fit_new (&oq);
        record_t rec;
        record_init (&rec);
        assert (thresh_fit_record (fr, &rec, err) == -1 && strstr (err, "score"));
        record_extra_set_str (&rec, "model", "00ff");
        rec.has |= REC_SCORE;
        for (int i = 1; i <= 4; i++) {
            rec.score = i;
            assert (thresh_fit_record (fr, &rec, err) == 0);
        }
        thresh_t *tr = thresh_fit_finish (fr, err);
        assert (tr && thresh_value (tr) == 2 && !strcmp (thresh_model (tr), "00ff"));
        rec.score = 3;
        assert (thresh_apply_record (tr, &rec, err) == 0 && rec.anomaly);
        double thr;
        assert (record_extra_double (&rec, "thr", &thr) == 0 && thr == 2);
        record_extra_set_str (&rec, "model", "1234");
        rec.score = 1;
        assert (thresh_apply_record (tr, &rec, err) == 1 && !rec.anomaly && strstr (err, "1234"));
        rec.score = NAN;
        assert (thresh_apply_record (tr, &rec, err) == -1);
        record_destroy (&rec);
        thresh_destroy (&tr);
        thresh_fit_destroy (&fr);
    }
}
